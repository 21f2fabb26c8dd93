/* SPDX-License-Identifier: Apache-2.0 */
/* The PostgreSQL announcer: one thread per store sends the announcements (NOTIFY, see
 * store_pg.c) of the transactions that committed, off the writers' path and in batches.
 *
 * A writer whose COMMIT returned hands its transaction's payloads over (store_pg_announce_post)
 * and answers its request without waiting for them. The thread sends everything handed over
 * since its previous batch in one statement, one transaction of its own, on a connection of its
 * own whose commits do not wait for the disk (synchronous_commit off: a notification is no
 * durable state), at most one batch every PG_ANNOUNCE_INTERVAL_MS (the other nodes hear of a
 * change that much later at most, and every wake-up a batch costs — the announcer, its session,
 * each node's listener session and thread — is shared by all the changes it carries):
 *
 *     SELECT pg_notify('switchboard', n) FROM unnest($1::text[]) AS n
 *
 * Each payload stays a notification of its own, so listeners (store_pg_feed.c) see the same
 * messages as before. Why batches: a transaction that notifies holds PostgreSQL's notify lock
 * from before its commit until after it; one per create made the creates of 8 clients take
 * turns at it, and waiting for it cost each request a round trip. Now one transaction carries
 * the changes of all the writers that committed while the previous one was on its way.
 *
 * Semantics: a payload is handed over only after its change committed, so no node hears of a
 * change that did not happen. If PostgreSQL cannot be reached, the payloads wait (at most
 * PG_ANNOUNCE_QUEUE_MAX) and are sent once it answers again, with a backoff; the other nodes'
 * listeners lost their connection too, and reload everything when they are back (a payload
 * sent late changes nothing: the catalog is versioned). A payload PostgreSQL refuses is
 * dropped with a warning. At close, what remains is sent before the store closes. */
#include <libpq-fe.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store/store_pg.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/mem.h"

#define PG_ANNOUNCE_BATCH_MAX 1024    /* payloads in one transaction at most */
#define PG_ANNOUNCE_INTERVAL_MS 10    /* a batch at most this often: the rest wait to join one */
#define PG_ANNOUNCE_QUEUE_MAX 1000000 /* payloads waiting at most (PostgreSQL unreachable) */

enum send_result { SEND_DONE, SEND_RETRY };

/* Connects A's session (notifications need no durable commit); false when it cannot. */
static bool announcer_connect(struct pg_store *st, struct announcer *a)
{
    PGresult *res;
    bool ok;

    a->conn = store_pg_connect(st, false);
    ok = PQstatus(a->conn) == CONNECTION_OK && store_pg_session_setup(st, a->conn);
    if (ok) {
        res = PQexec(a->conn, "SET synchronous_commit TO off");
        ok = PQresultStatus(res) == PGRES_COMMAND_OK;
        PQclear(res);
    }
    if (!ok) {
        if (!a->down) {
            char line[512];
            store_pg_masked(st, PQerrorMessage(a->conn), line, sizeof(line));
            log_warn("store: cannot connect to PostgreSQL to announce changes: %s", line);
        }
        a->down = true;
        PQfinish(a->conn);
        a->conn = NULL;
    }
    return ok;
}

/* The PostgreSQL array literal of the N payloads NOTES (caller frees). */
static char *array_literal(char *const *notes, size_t n)
{
    size_t len = 3;
    char *out, *o;

    for (size_t i = 0; i < n; i++)
        len += 2 * strlen(notes[i]) + 3;
    o = out = xmalloc(len);
    *o++ = '{';
    for (size_t i = 0; i < n; i++) {
        if (i > 0)
            *o++ = ',';
        *o++ = '"';
        for (const char *s = notes[i]; *s; s++) {
            if (*s == '"' || *s == '\\')
                *o++ = '\\';
            *o++ = *s;
        }
        *o++ = '"';
    }
    *o++ = '}';
    *o = '\0';
    return out;
}

/* Sends the N payloads NOTES in one transaction: SEND_RETRY when PostgreSQL could not be
 * reached (the caller keeps them), else SEND_DONE (sent, or refused and dropped). */
static enum send_result announcer_send(struct pg_store *st, struct announcer *a, char *const *notes,
                                       size_t n)
{
    char *array = array_literal(notes, n);
    const char *values[1] = {array};
    enum send_result out = SEND_RETRY;

    /* a session lost while idle (killed, PostgreSQL restarted) is found on the first try */
    for (int attempt = 0; attempt < 2; attempt++) {
        PGresult *res;
        if (!a->conn && !announcer_connect(st, a))
            break;
        res = PQexecParams(a->conn,
                           "SELECT pg_notify('" PG_CHANNEL "', n) FROM unnest($1::text[]) AS n", 1,
                           NULL, values, NULL, NULL, 0);
        if (PQresultStatus(res) == PGRES_TUPLES_OK) {
            if (a->down)
                log_info("store: announcing changes to the other nodes again");
            a->down = false;
            out = SEND_DONE;
        } else if (!store_pg_is_lost(a->conn, res)) {
            const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
            log_warn("store: cannot announce %zu change(s) to the other nodes (SQLSTATE %s)", n,
                     state ? state : "?");
            out = SEND_DONE;
        } else {
            PQfinish(a->conn);
            a->conn = NULL;
        }
        PQclear(res);
        if (out == SEND_DONE)
            break;
    }
    free(array);
    return out;
}

static int64_t now_ms(void)
{
    return clock_mono_us() / 1000;
}

/* Waits on A's condition until woken or BACKOFF_MS passed (A->lock held). */
static void announcer_sleep(struct announcer *a, int backoff_ms)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += backoff_ms / 1000;
    ts.tv_nsec += (long)(backoff_ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    pthread_cond_timedwait(&a->wake, &a->lock, &ts);
}

static void *announcer_main(void *arg)
{
    struct pg_store *st = arg;
    struct announcer *a = &st->announcer;
    char **batch = xmalloc(PG_ANNOUNCE_BATCH_MAX * sizeof(*batch));
    int backoff_ms = 0;
    int64_t next_ms = 0, wait_ms; /* monotonic ms: no batch before NEXT_MS */

    pthread_mutex_lock(&a->lock);
    for (;;) {
        size_t n;
        bool stopping;
        enum send_result r;

        while (a->n == 0 && !a->stopping)
            pthread_cond_wait(&a->wake, &a->lock);
        if (a->n == 0)
            break; /* stopping, and everything sent */
        if (backoff_ms > 0 && !a->stopping)
            announcer_sleep(a, backoff_ms);
        /* the writers that commit meanwhile join this batch (one wake-up of the announcer, of
         * its session and of every node's listener for all of them) */
        while (!a->stopping && (wait_ms = next_ms - now_ms()) > 0)
            announcer_sleep(a, (int)wait_ms);
        next_ms = now_ms() + PG_ANNOUNCE_INTERVAL_MS;
        /* the oldest first; writers only append, so these stay at the front */
        n = a->n < PG_ANNOUNCE_BATCH_MAX ? a->n : PG_ANNOUNCE_BATCH_MAX;
        memcpy(batch, a->queue, n * sizeof(*batch));
        stopping = a->stopping;
        pthread_mutex_unlock(&a->lock);
        r = announcer_send(st, a, batch, n);
        pthread_mutex_lock(&a->lock);
        if (r == SEND_RETRY && stopping) {
            log_warn("store: %zu change(s) not announced to the other nodes at close (they "
                     "reload when their change feed reconnects)",
                     a->n);
            n = a->n;
        }
        if (r == SEND_DONE || stopping) {
            for (size_t i = 0; i < n; i++)
                free(a->queue[i]);
            memmove(a->queue, a->queue + n, (a->n - n) * sizeof(*a->queue));
            a->n -= n;
            backoff_ms = 0;
        } else {
            backoff_ms = backoff_ms == 0                             ? PG_LISTEN_BACKOFF_MIN_MS
                         : backoff_ms * 2 > PG_LISTEN_BACKOFF_MAX_MS ? PG_LISTEN_BACKOFF_MAX_MS
                                                                     : backoff_ms * 2;
        }
    }
    pthread_mutex_unlock(&a->lock);
    free(batch);
    return NULL;
}

void store_pg_announce_start(struct pg_store *st)
{
    struct announcer *a = &st->announcer;
    pthread_condattr_t attr;

    pthread_mutex_init(&a->lock, NULL);
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&a->wake, &attr);
    pthread_condattr_destroy(&attr);
    if (pthread_create(&a->thread, NULL, announcer_main, st) != 0)
        abort();
    a->running = true;
}

void store_pg_announce_post(struct pg_store *st, char **notes, int n)
{
    struct announcer *a = &st->announcer;
    int dropped = 0;
    bool was_empty;

    if (n <= 0)
        return;
    pthread_mutex_lock(&a->lock);
    was_empty = a->n == 0;
    if (a->n + (size_t)n > a->cap) {
        a->cap = a->cap ? a->cap : 64;
        while (a->n + (size_t)n > a->cap)
            a->cap *= 2;
        a->queue = xrealloc(a->queue, a->cap * sizeof(*a->queue));
    }
    for (int i = 0; i < n; i++) {
        if (a->n < PG_ANNOUNCE_QUEUE_MAX) {
            a->queue[a->n++] = notes[i];
        } else {
            free(notes[i]);
            dropped++;
        }
    }
    if (was_empty) /* (else the announcer is awake, or waits to send these with the others) */
        pthread_cond_signal(&a->wake);
    pthread_mutex_unlock(&a->lock);
    if (dropped)
        log_error("store: %d change(s) not announced to the other nodes: %d wait already", dropped,
                  PG_ANNOUNCE_QUEUE_MAX);
}

void store_pg_announce_stop(struct pg_store *st)
{
    struct announcer *a = &st->announcer;

    if (!a->running)
        return;
    pthread_mutex_lock(&a->lock);
    a->stopping = true;
    pthread_cond_signal(&a->wake);
    pthread_mutex_unlock(&a->lock);
    pthread_join(a->thread, NULL);
    a->running = false;
    if (a->conn)
        PQfinish(a->conn);
    a->conn = NULL;
    free(a->queue);
    a->queue = NULL;
    a->n = a->cap = 0;
    pthread_cond_destroy(&a->wake);
    pthread_mutex_destroy(&a->lock);
}
