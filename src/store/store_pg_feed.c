/* SPDX-License-Identifier: Apache-2.0 */
/* The PostgreSQL change feed: one connection per store LISTENs on channel "switchboard" for the
 * announcements every node's transactions send on commit (see store_pg.c), and reconnects with
 * a backoff when it is lost; while it is down, cached principals are not trusted, and once it is
 * back the caller reloads everything (on_reset), since announcements may have been missed. */
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store/store_pg.h"
#include "util/clock.h"
#include "util/log.h"

static int64_t now_ms(void)
{
    return clock_mono_us() / 1000;
}

/* ---- notifications from other nodes ---- */

static void listener_down(struct listener *l, const char *why, const struct pg_store *st)
{
    char line[512];

    if (l->conn) {
        store_pg_masked(st, PQerrorMessage(l->conn), line, sizeof(line));
        if (l->up || !l->missed)
            log_warn("store: the PostgreSQL change feed is down (%s: %s)", why, line);
        PQfinish(l->conn);
        l->conn = NULL;
    }
    l->up = false;
    l->missed = true;
    l->next_try = now_ms() + l->backoff_ms;
    l->backoff_ms =
        l->backoff_ms * 2 > PG_LISTEN_BACKOFF_MAX_MS ? PG_LISTEN_BACKOFF_MAX_MS : l->backoff_ms * 2;
}

/* Subscribes the connected L->conn; false if that failed. */
static bool listener_subscribe(struct listener *l)
{
    PGresult *res = PQexec(l->conn, "LISTEN " PG_CHANNEL);
    bool ok = PQresultStatus(res) == PGRES_COMMAND_OK;

    PQclear(res);
    if (ok) {
        l->up = true;
        l->backoff_ms = PG_LISTEN_BACKOFF_MIN_MS;
    }
    return ok;
}

void store_pg_feed_start(struct pg_store *st)
{
    struct listener *l = &st->listen;

    l->backoff_ms = PG_LISTEN_BACKOFF_MIN_MS;
    l->conn = store_pg_connect(st, false);
    if (PQstatus(l->conn) != CONNECTION_OK || !listener_subscribe(l)) {
        l->missed = false; /* (so that the first failure is logged) */
        listener_down(l, "cannot listen", st);
    }
}

/* Waits until SOCK is ready for EVENTS or DEADLINE (monotonic ms; 0 timeout when passed). */
static int wait_socket(int sock, short events, int64_t deadline)
{
    struct pollfd pfd = {.fd = sock, .events = events};
    int64_t left = deadline - now_ms();

    if (left < 0)
        left = 0;
    if (left > 60000)
        left = 60000;
    return poll(&pfd, 1, (int)left);
}

/* Drives the connection attempt of L until it is up, fails, or DEADLINE passes. */
static void listener_connect(struct pg_store *st, struct listener *l, int64_t deadline)
{
    PostgresPollingStatusType ps = PGRES_POLLING_WRITING;

    if (!l->conn) {
        if (now_ms() < l->next_try)
            return;
        l->conn = store_pg_connect(st, true);
        l->attempt_end = now_ms() + PG_LISTEN_CONNECT_MS;
        if (PQstatus(l->conn) == CONNECTION_BAD) {
            listener_down(l, "cannot connect", st);
            return;
        }
    }
    for (;;) {
        int64_t until = deadline < l->attempt_end ? deadline : l->attempt_end;
        if (ps == PGRES_POLLING_READING || ps == PGRES_POLLING_WRITING) {
            int ready = wait_socket(PQsocket(l->conn),
                                    ps == PGRES_POLLING_READING ? POLLIN : POLLOUT, until);
            if (ready == 0) {
                if (now_ms() >= l->attempt_end)
                    listener_down(l, "connection attempt timed out", st);
                return; /* the caller's time is up: go on at the next call */
            }
        }
        ps = PQconnectPoll(l->conn);
        if (ps == PGRES_POLLING_FAILED) {
            listener_down(l, "cannot connect", st);
            return;
        }
        if (ps == PGRES_POLLING_OK) {
            if (!listener_subscribe(l))
                listener_down(l, "cannot listen", st);
            return;
        }
    }
}

/* Reports the notifications libpq holds; returns how many. */
static int listener_dispatch(struct pg_store *st, struct listener *l,
                             void (*on_conn)(void *ctx, const char *name, int64_t version,
                                             bool deleted, bool own),
                             void (*on_auth)(void *ctx), void *ctx)
{
    PGnotify *n;
    int count = 0;

    while ((n = PQnotifies(l->conn)) != NULL) {
        const char *payload = n->extra;
        bool deleted = strncmp(payload, "del ", 4) == 0;
        count++;
        if (strcmp(payload, "auth") == 0) {
            atomic_fetch_add(&st->base.auth_generation, 1);
            if (on_auth)
                on_auth(ctx);
        } else if (deleted || strncmp(payload, "conn ", 5) == 0) {
            char *end;
            long long version = strtoll(payload + (deleted ? 4 : 5), &end, 10);
            if (*end == ' ' && end[1] && on_conn)
                on_conn(ctx, end + 1, version, deleted, store_pg_own_pid(st, n->be_pid));
            else if (*end != ' ' || !end[1])
                log_debug("store: ignored a malformed change notification");
        } else {
            log_debug("store: ignored an unknown change notification");
        }
        PQfreemem(n);
    }
    return count;
}

/* Waits up to TIMEOUT_MS (negative: no limit) for changes announced by other nodes (and this
 * one) and reports each (see store_poll_changes). SB_ERR_UNAVAILABLE while the feed is down;
 * it reconnects with a backoff of at most PG_LISTEN_BACKOFF_MAX_MS across calls. Call from one
 * thread. */
enum sb_err_kind store_pg_feed_poll(struct store *base,
                                    void (*on_conn)(void *ctx, const char *name, int64_t version,
                                                    bool deleted, bool own),
                                    void (*on_auth)(void *ctx), void (*on_reset)(void *ctx),
                                    void *ctx, int timeout_ms, struct sb_err *err)
{
    struct pg_store *st = (struct pg_store *)base;
    struct listener *l = &st->listen;
    int64_t deadline = timeout_ms < 0 ? INT64_MAX / 2 : now_ms() + timeout_ms;
    enum sb_err_kind kind = SB_OK;

    pthread_mutex_lock(&l->lock);
    if (l->up) {
        if (listener_dispatch(st, l, on_conn, on_auth, ctx) > 0)
            goto out;
        int ready = wait_socket(PQsocket(l->conn), POLLIN, deadline);
        if (ready != 0 && (!PQconsumeInput(l->conn) || PQstatus(l->conn) != CONNECTION_OK)) {
            listener_down(l, "connection lost", st);
            l->next_try = now_ms(); /* it was up: try again at once */
        } else {
            listener_dispatch(st, l, on_conn, on_auth, ctx);
            goto out;
        }
    }
    /* down: reconnect within this call's time, or wait for the next try */
    while (!l->up) {
        listener_connect(st, l, deadline);
        if (l->up || now_ms() >= deadline)
            break;
        if (!l->conn) {
            int64_t until = l->next_try < deadline ? l->next_try : deadline;
            int64_t left = until - now_ms();
            if (left > 0) {
                struct timespec ts = {.tv_sec = left / 1000,
                                      .tv_nsec = (long)(left % 1000) * 1000000};
                nanosleep(&ts, NULL);
            }
        }
    }
    if (l->up) {
        log_info("store: the PostgreSQL change feed is back");
        l->missed = false;
        atomic_fetch_add(&st->base.auth_generation, 1);
        if (on_reset)
            on_reset(ctx);
        goto out;
    }
    /* while changes may go unseen, cached principals must not be trusted */
    atomic_fetch_add(&st->base.auth_generation, 1);
    kind = store_pg_unreachable(err);
out:
    pthread_mutex_unlock(&l->lock);
    return kind;
}
