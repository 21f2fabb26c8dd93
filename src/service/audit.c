/* SPDX-License-Identifier: Apache-2.0 */
/* The audit trail: recording (GET /admin/audit is src/api/audit.c). The store copy is the one
 * served; the file copy is for log shippers. A change's record is appended inside the change's own
 * transaction (service/write.h), so that it commits with the change or not at all; its audit.log
 * line is written once that transaction committed.
 *
 * Records of reads (audit_record_read: credential reads) change nothing, so they need not cost
 * a transaction and an fsync each: they are queued, and one flusher thread writes whatever has
 * queued in one transaction (which joins the store's group commit) and the matching audit.log
 * lines in one write(2); while it commits, the next batch gathers. GET /admin/audit and the
 * server's shutdown drain the queue first, so that the API always lists every read answered
 * before it, and no queued record is dropped at a clean stop.
 *
 * Retention: records older than --audit-retention-days are deleted from the store at start and
 * then hourly by the flusher thread (audit.log is left to logrotate). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "app.h"
#include "core/principal.h"
#include "service/audit.h"
#include "service/service.h"
#include "service/write.h"
#include "store/store.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/utf8.h"

#define AUDIT_BATCH_MAX 1024              /* records per transaction of the flusher */
#define AUDIT_PURGE_EVERY_US 3600000000LL /* how often old records are deleted: hourly */

struct audit_queue {
    struct app *app;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake; /* records queued, or stop */
    pthread_cond_t done; /* a batch is written */
    struct audit_text *recs;
    size_t n, cap;
    uint64_t queued, written; /* records ever queued; ever written (or given up on) */
    bool stop;
};

static json_t *make_record(const struct actor *a, const char *action, const char *object,
                           const char *outcome)
{
    json_t *rec = xcheck(json_pack(
        "{s:I, s:s, s:s, s:s?, s:s, s:s, s:s}", "ts", (json_int_t)clock_epoch_ms(), "principal",
        actor_login(a), "action", action, "object", object, "outcome", outcome, "remoteAddr",
        a->addr && a->addr[0] ? a->addr : "-", "requestId", a->request_id ? a->request_id : "-"));

    /* impersonation (docs/API.md §2): the principal who authenticated, and the user acted as */
    if (a->principal && a->principal->real[0]) {
        json_object_set_new(rec, "principal", xcheck(json_string(a->principal->real)));
        json_object_set_new(rec, "actingAs", xcheck(json_string(a->principal->login)));
    }
    return rec;
}

/* Appends S to B as a JSON string, escaped as jansson escapes it (JSON_COMPACT, no flags): '"',
 * '\\' and the control characters; UTF-8 as it is. S must be valid UTF-8. */
static void text_string(char **b, size_t *len, size_t *cap, const char *s)
{
    size_t n = strlen(s);

    if (*len + 6 * n + 3 > *cap)
        *b = xrealloc(*b, *cap = (*len + 6 * n + 3) * 2);
    char *o = *b + *len;
    *o++ = '"';
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        switch (*p) {
        case '"': *o++ = '\\', *o++ = '"'; break;
        case '\\': *o++ = '\\', *o++ = '\\'; break;
        case '\b': *o++ = '\\', *o++ = 'b'; break;
        case '\f': *o++ = '\\', *o++ = 'f'; break;
        case '\n': *o++ = '\\', *o++ = 'n'; break;
        case '\r': *o++ = '\\', *o++ = 'r'; break;
        case '\t': *o++ = '\\', *o++ = 't'; break;
        default:
            if (*p < 0x20)
                o += sprintf(o, "\\u%04X", *p);
            else
                *o++ = (char)*p;
        }
    }
    *o++ = '"';
    *len = (size_t)(o - *b);
}

/* Appends the raw text LIT to B. */
static void text_raw(char **b, size_t *len, size_t *cap, const char *lit)
{
    size_t n = strlen(lit);

    if (*len + n + 1 > *cap)
        *b = xrealloc(*b, *cap = (*len + n + 1) * 2);
    memcpy(*b + *len, lit, n);
    *len += n;
}

/* The record make_record builds, serialised as json_dumps(JSON_COMPACT) would serialise it
 * (same members in the same order), without building it: a read's record costs no JSON tree. */
static void read_record_text(const struct actor *a, const char *action, const char *object,
                             const char *outcome, struct audit_text *r)
{
    bool acting = a->principal && a->principal->real[0];
    const char *principal = acting ? a->principal->real : actor_login(a);
    const char *addr = a->addr && a->addr[0] ? a->addr : "-";
    const char *rid = a->request_id ? a->request_id : "-";
    size_t len = 0, cap = 256;
    char *b = xmalloc(cap), ts[64];

    r->ts = clock_epoch_ms();
    snprintf(ts, sizeof(ts), "{\"ts\":%lld,\"principal\":", (long long)r->ts);
    text_raw(&b, &len, &cap, ts);
    text_string(&b, &len, &cap, principal);
    text_raw(&b, &len, &cap, ",\"action\":");
    text_string(&b, &len, &cap, action);
    text_raw(&b, &len, &cap, ",\"object\":");
    if (object)
        text_string(&b, &len, &cap, object);
    else
        text_raw(&b, &len, &cap, "null");
    text_raw(&b, &len, &cap, ",\"outcome\":");
    text_string(&b, &len, &cap, outcome);
    text_raw(&b, &len, &cap, ",\"remoteAddr\":");
    text_string(&b, &len, &cap, addr);
    text_raw(&b, &len, &cap, ",\"requestId\":");
    text_string(&b, &len, &cap, rid);
    if (acting) {
        text_raw(&b, &len, &cap, ",\"actingAs\":");
        text_string(&b, &len, &cap, a->principal->login);
    }
    text_raw(&b, &len, &cap, "}");
    b[len] = '\0';
    r->text = b;
    r->len = len;
    r->success = strcmp(outcome, "success") == 0;
}

/* Whether every string of the record is valid UTF-8 (what json_pack requires). */
static bool read_record_valid(const struct actor *a, const char *action, const char *object,
                              const char *outcome)
{
    const char *s[] = {actor_login(a),
                       a->principal ? a->principal->real : "",
                       action,
                       object ? object : "",
                       outcome,
                       a->addr ? a->addr : "",
                       a->request_id ? a->request_id : ""};

    for (size_t i = 0; i < sizeof(s) / sizeof(s[0]); i++)
        if (!utf8_valid(s[i]))
            return false;
    return true;
}

/* The record of A doing ACTION on OBJECT with OUTCOME, serialised into *R. */
static void record_text(const struct actor *a, const char *action, const char *object,
                        const char *outcome, struct audit_text *r)
{
    if (read_record_valid(a, action, object, outcome)) {
        read_record_text(a, action, object, outcome, r);
    } else { /* (as before: json_pack decides what a string that is not UTF-8 becomes) */
        json_t *rec = make_record(a, action, object, outcome);
        r->ts = json_integer_value(json_object_get(rec, "ts"));
        r->text = xcheck(json_dumps(rec, JSON_COMPACT));
        r->len = strlen(r->text);
        r->success = strcmp(outcome, "success") == 0;
        json_decref(rec);
    }
}

/* Serialised once, for the store's row and the audit.log line alike. */
void audit_record(const struct actor *a, const char *action, const char *object,
                  const char *outcome)
{
    struct sb_err err;
    struct audit_text r;

    record_text(a, action, object, outcome, &r);
    if (store_audit_append_text(a->app->store, r.ts, r.text, &err) != SB_OK) {
        log_error("audit: cannot store a record of %s: %s", action, err.msg);
        if (a->write)
            write_fail(a->write, &err); /* the change may not commit without its record */
    } else if (a->write) {
        write_note_record(a->write, &r); /* audit.log once the write commits */
        return;
    }
    write_audit_lines(a->app, &r, 1);
    free(r.text);
}

int audit_record_again(struct app *app, struct audit_text *recs, size_t n)
{
    struct sb_err err;
    int again = 0;

    for (size_t i = 0; i < n; i++) {
        if (recs[i].success)
            continue;
        if (store_audit_append_text(app->store, recs[i].ts, recs[i].text, &err) != SB_OK)
            log_error("audit: cannot store a record of a failure again: %s", err.msg);
        write_audit_lines(app, &recs[i], 1);
        again++;
    }
    audit_texts_free(recs, n);
    return again;
}

void audit_record_read(const struct actor *a, const char *action, const char *object,
                       const char *outcome)
{
    struct audit_queue *q = a->app->audit;
    struct audit_text r;

    if (!q || !read_record_valid(a, action, object, outcome)) {
        audit_record(a, action, object, outcome);
        return;
    }
    read_record_text(a, action, object, outcome, &r);
    pthread_mutex_lock(&q->lock);
    if (q->n == q->cap)
        q->recs = xrealloc(q->recs, (q->cap = q->cap ? q->cap * 2 : 64) * sizeof(*q->recs));
    q->recs[q->n++] = r;
    q->queued++;
    if (q->n == 1)
        pthread_cond_signal(&q->wake);
    pthread_mutex_unlock(&q->lock);
}

/* One transaction for the batch; its audit.log lines in one write(2) after the commit, as
 * audit_record does. */
static void write_batch(struct app *app, const struct audit_text *recs, size_t n)
{
    struct sb_err err;
    size_t i = 0;

    if (store_tx_begin(app->store, &err) == SB_OK) {
        for (i = 0; i < n; i++)
            if (store_audit_append_text(app->store, recs[i].ts, recs[i].text, &err) != SB_OK)
                break;
        if (i < n)
            store_tx_rollback(app->store);
        else if (store_tx_commit(app->store, &err) != SB_OK)
            i = 0;
    }
    if (i < n) {
        log_error("audit: cannot store %zu record(s) of reads: %s", n, err.msg);
        return;
    }
    write_audit_lines(app, recs, n);
}

/* Deletes the records older than --audit-retention-days (none when it is 0). */
static void purge_old(struct app *app)
{
    long long days = app->cfg->audit_retention_days;
    struct sb_err err;
    long deleted = 0;

    if (days <= 0)
        return;
    if (store_audit_purge(app->store, clock_epoch_ms() - days * 86400000LL, &deleted, &err) !=
        SB_OK)
        log_error("audit: cannot delete the records older than %lld days: %s", days, err.msg);
    else if (deleted > 0)
        log_info("audit: deleted %ld records older than %lld days (--audit-retention-days)",
                 deleted, days);
}

/* Waits on Q->wake (Q->lock held) until woken or until the monotonic time DEADLINE_US. */
static void wait_until(struct audit_queue *q, int64_t deadline_us)
{
    int64_t left = deadline_us - clock_mono_us();
    struct timespec ts;

    if (left <= 0)
        return;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += (time_t)(left / 1000000);
    ts.tv_nsec += (long)(left % 1000000) * 1000;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    pthread_cond_timedwait(&q->wake, &q->lock, &ts);
}

static void *flusher(void *arg)
{
    struct audit_queue *q = arg;
    int64_t next_purge = clock_mono_us() + AUDIT_PURGE_EVERY_US;

    pthread_mutex_lock(&q->lock);
    for (;;) {
        if (clock_mono_us() >= next_purge && !q->stop) {
            pthread_mutex_unlock(&q->lock);
            purge_old(q->app);
            pthread_mutex_lock(&q->lock);
            next_purge = clock_mono_us() + AUDIT_PURGE_EVERY_US;
        }
        if (q->n == 0 && !q->stop) {
            wait_until(q, next_purge);
            continue;
        }
        if (q->n == 0 && q->stop)
            break;
        size_t n = q->n < AUDIT_BATCH_MAX ? q->n : AUDIT_BATCH_MAX;
        struct audit_text *batch = xmalloc(n * sizeof(*batch));
        memcpy(batch, q->recs, n * sizeof(*batch));
        memmove(q->recs, q->recs + n, (q->n - n) * sizeof(*batch));
        q->n -= n;
        pthread_mutex_unlock(&q->lock);

        write_batch(q->app, batch, n);
        for (size_t i = 0; i < n; i++)
            free(batch[i].text);
        free(batch);

        pthread_mutex_lock(&q->lock);
        q->written += n;
        pthread_cond_broadcast(&q->done);
    }
    pthread_mutex_unlock(&q->lock);
    return NULL;
}

struct audit_queue *audit_start(struct app *app)
{
    struct audit_queue *q = xcalloc(1, sizeof(*q));

    purge_old(app);
    q->app = app;
    pthread_mutex_init(&q->lock, NULL);
    pthread_cond_init(&q->wake, NULL);
    pthread_cond_init(&q->done, NULL);
    if (pthread_create(&q->thread, NULL, flusher, q) != 0) {
        log_warn("audit: cannot start the flusher thread; records of reads are written one by "
                 "one");
        free(q);
        return NULL;
    }
    return q;
}

uint64_t audit_backlog(struct audit_queue *q)
{
    uint64_t n;

    if (!q)
        return 0;
    pthread_mutex_lock(&q->lock);
    n = q->queued - q->written;
    pthread_mutex_unlock(&q->lock);
    return n;
}

void audit_flush(struct audit_queue *q)
{
    if (!q)
        return;
    pthread_mutex_lock(&q->lock);
    uint64_t target = q->queued;
    while (q->written < target)
        pthread_cond_wait(&q->done, &q->lock);
    pthread_mutex_unlock(&q->lock);
}

void audit_stop(struct audit_queue *q)
{
    if (!q)
        return;
    pthread_mutex_lock(&q->lock);
    q->stop = true;
    pthread_cond_signal(&q->wake);
    pthread_mutex_unlock(&q->lock);
    pthread_join(q->thread, NULL); /* it writes what is queued before it ends */
    free(q->recs);
    pthread_cond_destroy(&q->done);
    pthread_cond_destroy(&q->wake);
    pthread_mutex_destroy(&q->lock);
    free(q);
}
