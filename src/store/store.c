/* SPDX-License-Identifier: Apache-2.0 */
/* The store's logic, once for every backend: versions and history of connections, usages,
 * cascades, bootstrap, key rotation, change announcements and every message a client may read.
 * It runs the statements of statements.sql through the primitives of backend.h.
 *
 * Transactions nest: the outermost is the backend's transaction, inner ones are savepoints.
 * Every function that takes several statements wraps them in tx_begin / tx_end, so that it is
 * atomic alone and also composes inside store_tx_begin / store_tx_commit. A write other nodes
 * must hear of announces itself inside its transaction, so that the announcement goes out only
 * if it commits.
 *
 * Group commit (a backend with ops->sync: SQLite). A commit costs about the same whatever it
 * holds (the log's pages, a sync of the disk), so concurrent writers share transactions: every
 * write — a transaction begun at depth 0, or a write statement alone — runs on the store's one
 * shared write connection (struct store_batch), one thread at a time, as a member of the
 * transaction open there: the first member begins it, each later one works inside a savepoint
 * of its own. Until the member ends, every store call of its thread goes to that connection
 * (store_thread_conn), so that it reads what earlier members wrote, as if they had committed
 * before it. A member that fails rolls back its own savepoint only (the first one, the whole
 * transaction, which holds nothing else yet). When a member ends and other writers wait for the
 * connection, the transaction stays open for them (up to BATCH_MAX writes) and the member waits
 * for its outcome; so it does, once, while an fdatasync is under way (which its commit would
 * have to wait for before its own), taking the connection back when it ends; otherwise it commits,
 * hands the connection on, waits for the commit to be durable (ops->sync, the disk's sync shared by
 * every commit made before it) and tells every member the outcome. A member's call returns only
 * then: nothing is acknowledged before its transaction is committed and durable, and a commit that
 * fails fails every member. With one writer at a time nobody waits, and a write is one transaction
 * as without group commit. Members that only appended a relaxed statement (an audit record alone)
 * do not wait. */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store/backend.h"
#include "util/jsontext.h"
#include "util/limits.h"
#include "util/mem.h"

/* One thread's part in the transaction open on the shared write connection (group commit). */
struct batch_member {
    struct store *st; /* the store while the thread is a member; NULL otherwise */
    int level;        /* its own level there: 0, it began the transaction; 1, a savepoint */
    struct batch_member *next; /* in the list of members waiting for the outcome */
    bool done;                 /* the outcome is known: */
    enum sb_err_kind kind;
    struct sb_err err;
};

static _Thread_local struct batch_member tls_member;

#define BATCH_MAX 64 /* writes in one transaction at most */

struct store *store_open(const char *location, struct sb_err *err)
{
    if (strncmp(location, "postgresql://", 13) == 0 || strncmp(location, "postgres://", 11) == 0)
        return store_pg_open(location, err);
    return store_sqlite_open(location, err);
}

/* Closes C (the backend frees it). */
static void conn_close(struct store *st, struct store_conn *c)
{
    free(c->locked);
    st->ops->conn.close(c);
}

/* A thread with a connection exits: close it. */
static void conn_thread_exit(void *arg)
{
    struct store_conn *c = arg;
    struct store *st = c->st;

    pthread_mutex_lock(&st->lock);
    if (c->prev)
        c->prev->next = c->next;
    else
        st->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    pthread_mutex_unlock(&st->lock);
    conn_close(st, c);
}

/* The source of meta generations: process-wide, so that a value is never taken twice, even
 * by two stores (store_meta_generation). */
static atomic_ullong meta_serial;

static void meta_bump(struct store *st)
{
    atomic_store(&st->meta_generation, atomic_fetch_add(&meta_serial, 1) + 1);
}

void store_base_init(struct store *base, const struct backend_ops *ops)
{
    base->ops = ops;
    atomic_init(&base->auth_generation, 0);
    atomic_init(&base->meta_generation, 0);
    meta_bump(base);
    pthread_mutex_init(&base->lock, NULL);
    if (pthread_key_create(&base->tls, conn_thread_exit) != 0)
        abort();
    pthread_mutex_init(&base->batch.lock, NULL);
    pthread_cond_init(&base->batch.turn, NULL);
    pthread_cond_init(&base->batch.done, NULL);
}

void store_base_close(struct store *base)
{
    struct store_conn *c, *next;

    pthread_setspecific(base->tls, NULL);
    pthread_key_delete(base->tls);
    for (c = base->conns; c; c = next) {
        next = c->next;
        conn_close(base, c);
    }
    if (base->batch.conn)
        conn_close(base, base->batch.conn);
    pthread_mutex_destroy(&base->lock);
    pthread_mutex_destroy(&base->batch.lock);
    pthread_cond_destroy(&base->batch.turn);
    pthread_cond_destroy(&base->batch.done);
}

struct store_conn *store_thread_conn(struct store *st, struct sb_err *err)
{
    struct store_conn *c;

    if (tls_member.st == st) /* a member of the open group commit: all on its connection */
        return st->batch.conn;
    c = pthread_getspecific(st->tls);
    if (c)
        return c;
    c = st->ops->conn.open(st, err);
    if (!c)
        return NULL;
    c->st = st;
    pthread_mutex_lock(&st->lock);
    c->next = st->conns;
    if (st->conns)
        st->conns->prev = c;
    st->conns = c;
    pthread_mutex_unlock(&st->lock);
    pthread_setspecific(st->tls, c);
    return c;
}

void store_close(struct store *st)
{
    if (st)
        st->ops->close(st);
}

bool store_is_shared(struct store *st)
{
    return st->ops->shared;
}

uint64_t store_meta_generation(struct store *st)
{
    return atomic_load(&st->meta_generation);
}

uint64_t store_auth_generation(struct store *st)
{
    return atomic_load(&st->auth_generation);
}

long long store_size_bytes(struct store *st)
{
    return st->ops->size_bytes(st);
}

enum sb_err_kind store_poll_changes(struct store *st, store_on_conn_fn on_conn,
                                    void (*on_auth)(void *ctx), void (*on_reset)(void *ctx),
                                    void *ctx, int timeout_ms, struct sb_err *err)
{
    if (!st->ops->poll_changes)
        return SB_OK;
    return st->ops->poll_changes(st, on_conn, on_auth, on_reset, ctx, timeout_ms, err);
}

enum sb_err_kind store_other_nodes(struct store *st, int *count, struct sb_err *err)
{
    *count = 0;
    return st->ops->other_nodes ? st->ops->other_nodes(st, count, err) : SB_OK;
}

static const char *coll_noun(enum store_collection coll)
{
    switch (coll) {
    case STORE_USERS: return "User";
    case STORE_GROUPS: return "Group";
    case STORE_PROJECTS: return "Project";
    case STORE_PROJECT_VARIABLES: return "Variables of project";
    case STORE_SESSIONS: return "Session";
    }
    return "Record";
}

static const char *key_noun(enum store_key_kind kind)
{
    return kind == STORE_KEY_GLOBAL ? "Global API key" : "Personal API key";
}

/* What is missing, with its noun and its name or id. */
#define MSG_MISSING "%s '%s' does not exist."
#define MSG_CONN_MISSING "Connection '%s' does not exist."
#define MSG_DS_MISSING "Dataset '%s' does not exist in project '%s'."

/* ---- arguments ---- */

static struct arg *arg_next(struct args *a)
{
    /* internal: no statement has more parameters than the array holds */
    if (a->n >= STORE_MAX_ARGS)
        abort();
    return &a->v[a->n++];
}

/* TEXT, or SQL NULL when TEXT is NULL; not copied. */
static void a_text(struct args *a, const char *text)
{
    struct arg *v = arg_next(a);
    v->type = text ? ARG_TEXT : ARG_NULL;
    v->text = text;
}

static void a_int(struct args *a, int64_t i)
{
    struct arg *v = arg_next(a);
    v->type = ARG_INT;
    v->i = i;
}

static void a_blob(struct args *a, const uint8_t *bytes, int len)
{
    struct arg *v = arg_next(a);
    v->type = ARG_BLOB;
    v->text = (const char *)bytes;
    v->len = len;
}

/* TEXT, freed after the statement ran. */
static void a_owned(struct args *a, char *text)
{
    a->owned[a->n] = text;
    a_text(a, text);
}

/* The compact JSON text of V. */
static void a_json(struct args *a, const json_t *v)
{
    a_owned(a, xcheck(json_dumps(v, JSON_COMPACT)));
}

static void args_free(struct args *a)
{
    if (a)
        for (int i = 0; i < a->n; i++)
            free(a->owned[i]);
}

/* ---- running statements ---- */

#define WITH_CONN(c, st, err)                                                                      \
    struct store_conn *c = store_thread_conn((st), (err));                                         \
    if (!c)                                                                                        \
        return (err)->kind;

static bool joins_batch(const struct store_conn *c);
static enum sb_err_kind batch_enter(struct store *st, struct store_conn **cp, struct sb_err *err);
static enum sb_err_kind batch_leave(struct store_conn *c, enum sb_err_kind kind, bool relaxed,
                                    struct sb_err *err);

/* Runs ID with A (whose owned texts it frees) on C. */
static enum sb_err_kind run(struct store_conn *c, enum stmt_id id, struct args *a, row_fn fn,
                            void *ctx, long *changes, struct sb_err *err)
{
    static struct args none;
    enum sb_err_kind kind = SB_OK;

    if (changes)
        *changes = 0;
    if (!*store_stmt_sql(id, c->st->ops->dialect)) {
        args_free(a);
        return SB_OK;
    }
    if (!(store_stmts[id].flags & STMT_READ) && joins_batch(c)) {
        /* a write alone: a member of the group commit for one statement */
        if (batch_enter(c->st, &c, err) != SB_OK) {
            args_free(a);
            return err->kind;
        }
        kind = c->st->ops->conn.exec(c, id, a ? a : &none, fn, ctx, changes, err);
        args_free(a);
        return batch_leave(c, kind, store_stmts[id].flags & STMT_RELAXED, err);
    }
    kind = c->st->ops->conn.exec(c, id, a ? a : &none, fn, ctx, changes, err);
    args_free(a);
    return kind;
}

/* Parses TEXT as JSON into a new reference. */
static enum sb_err_kind parse_json(const char *text, json_t **out, struct sb_err *err)
{
    json_error_t jerr;

    *out = text ? json_loads(text, 0, &jerr) : NULL;
    if (!*out)
        return sb_err_set(err, SB_ERR_INTERNAL, "A stored record is not valid JSON.");
    return SB_OK;
}

/* Row callback: appends column 0 as JSON to the array CTX. */
static enum sb_err_kind row_json_append(void *ctx, const struct row *r, struct sb_err *err)
{
    json_t *rec;

    if (parse_json(r->text(r, 0), &rec, err) != SB_OK)
        return err->kind;
    json_array_append_new(ctx, rec);
    return SB_OK;
}

/* *OUT: new array FN filled from the rows of ID. */
static enum sb_err_kind collect(struct store_conn *c, enum stmt_id id, struct args *a, row_fn fn,
                                json_t **out, struct sb_err *err)
{
    json_t *all = xcheck(json_array());

    if (run(c, id, a, fn, all, NULL, err) != SB_OK) {
        json_decref(all);
        return err->kind;
    }
    *out = all;
    return SB_OK;
}

/* *OUT: new array of column 0 of every row of ID, as JSON. */
static enum sb_err_kind read_rows(struct store_conn *c, enum stmt_id id, struct args *a,
                                  json_t **out, struct sb_err *err)
{
    return collect(c, id, a, row_json_append, out, err);
}

/* *OUT: new reference to column 0 of the first row of ID as JSON, read on the calling thread's
 * connection to ST; when there is none, SB_ERR_NOT_FOUND with the message MISSING
 * (printf-style) and *OUT left alone. */
static enum sb_err_kind read_one(struct store *st, enum stmt_id id, struct args *a, json_t **out,
                                 struct sb_err *err, const char *missing, ...)
    __attribute__((format(printf, 6, 7)));

static enum sb_err_kind read_one(struct store *st, enum stmt_id id, struct args *a, json_t **out,
                                 struct sb_err *err, const char *missing, ...)
{
    struct store_conn *c = store_thread_conn(st, err);
    enum sb_err_kind kind = SB_OK;
    json_t *all;
    va_list ap;

    if (!c) {
        args_free(a);
        return err->kind;
    }
    if (read_rows(c, id, a, &all, err) != SB_OK)
        return err->kind;
    if (json_array_size(all) > 0) {
        *out = json_incref(json_array_get(all, 0));
    } else {
        va_start(ap, missing);
        kind = sb_err_vset(err, SB_ERR_NOT_FOUND, missing, ap);
        va_end(ap);
    }
    json_decref(all);
    return kind;
}

/* Row callback: column 0 as an integer into the int64_t CTX. */
static enum sb_err_kind row_int(void *ctx, const struct row *r, struct sb_err *err)
{
    (void)err;
    *(int64_t *)ctx = r->integer(r, 0);
    return SB_OK;
}

/* ---- transactions ---- */

static bool batching(const struct store *st)
{
    return st->ops->sync != NULL;
}

/* Whether a write on C (the calling thread's connection) at depth 0 joins the group commit. */
static bool joins_batch(const struct store_conn *c)
{
    return c->tx_depth == 0 && !c->batch && batching(c->st) && !tls_member.st;
}

/* After the outermost commit on C, a change to principals bumps the auth generation: readers
 * sample it before reading, so a bump after the commit can only make them distrust what they
 * read. */
static void tx_committed(struct store_conn *c)
{
    if (c->auth_dirty) {
        c->auth_dirty = false;
        atomic_fetch_add(&c->st->auth_generation, 1);
    }
    if (c->meta_dirty) {
        c->meta_dirty = false;
        meta_bump(c->st);
    }
    free(c->locked); /* (the transaction's locks ended with it, committed or not) */
    c->locked = NULL;
}

static void batch_turn_release(struct store_batch *b)
{
    pthread_mutex_lock(&b->lock);
    b->busy = false;
    pthread_cond_signal(&b->turn);
    pthread_mutex_unlock(&b->lock);
}

/* Commits the transaction open on the shared connection C; rolls it back if that fails. */
static enum sb_err_kind batch_commit(struct store_conn *c, struct sb_err *err)
{
    struct sb_err ignored;
    enum sb_err_kind kind = c->st->ops->conn.tx(c, TX_COMMIT, 0, err);

    if (kind != SB_OK)
        c->st->ops->conn.tx(c, TX_ROLLBACK, 0, &ignored);
    c->tx_depth = 0;
    tx_committed(c);
    return kind;
}

/* Waits (B->lock held) until ME's transaction has an outcome; KIND and ERR take it. */
static void batch_wait_outcome(struct store_batch *b, struct batch_member *me,
                               enum sb_err_kind *kind, struct sb_err *err)
{
    while (!me->done)
        pthread_cond_wait(&b->done, &b->lock);
    *kind = me->kind;
    if (*kind != SB_OK)
        *err = me->err;
}

/* The end of a member's turn on ST's shared connection. ME: the member, when it wrote
 * something that must wait for the outcome; WHY: what ended the transaction when a failure
 * did (the connection's depth is 0 then). Keeps the transaction open for the writers waiting,
 * or while an fdatasync is under way (once), else commits it, and tells every member waiting
 * how it went. */
static enum sb_err_kind batch_end(struct store *st, struct batch_member *me, bool wrote,
                                  enum sb_err_kind kind, const struct sb_err *why,
                                  struct sb_err *err)
{
    struct store_batch *b = &st->batch;
    struct store_conn *c = b->conn;
    struct batch_member *list, *m;
    enum sb_err_kind outcome = SB_OK;
    struct sb_err oerr;
    int count;

    sb_err_clear(&oerr);
    pthread_mutex_lock(&b->lock);
    if (wrote)
        b->count++;
    if (me) {
        me->done = false;
        me->next = b->members;
        b->members = me;
    }
    for (bool deferred = false;;) {
        bool open = c && c->tx_depth > 0 && b->count < BATCH_MAX;
        uint64_t seq = b->seq;

        if (open && b->waiting > 0) {
            /* the next writer joins this transaction; whoever ends it says how it went */
            b->busy = false;
            pthread_cond_signal(&b->turn);
            if (me)
                batch_wait_outcome(b, me, &kind, err);
            pthread_mutex_unlock(&b->lock);
            return kind;
        }
        if (!open || !me || deferred || !st->ops->syncing(st, false))
            break;
        /* an fdatasync is under way, which this commit would wait for before its own: keep
         * the transaction open meanwhile for the writes that come, then take the connection
         * back and end it, unless one of them did */
        deferred = true;
        b->busy = false;
        pthread_cond_signal(&b->turn);
        pthread_mutex_unlock(&b->lock);
        st->ops->syncing(st, true);
        pthread_mutex_lock(&b->lock);
        b->waiting++;
        while (b->busy && b->seq == seq)
            pthread_cond_wait(&b->turn, &b->lock);
        b->waiting--;
        if (b->seq != seq) { /* committed by another: its outcome is ours */
            if (!b->busy) {
                /* the connection came to this thread, counted among the writers waiting, and a
                 * writer may have left a transaction open for it: end that one as a writer
                 * that wrote nothing would */
                struct sb_err none, ignored;
                b->busy = true;
                pthread_mutex_unlock(&b->lock);
                sb_err_clear(&none);
                batch_end(st, NULL, false, SB_OK, &none, &ignored);
                pthread_mutex_lock(&b->lock);
            }
            batch_wait_outcome(b, me, &kind, err);
            pthread_mutex_unlock(&b->lock);
            return kind;
        }
        b->busy = true;
    }
    list = b->members;
    count = b->count;
    b->members = NULL;
    b->count = 0;
    b->seq++;
    pthread_mutex_unlock(&b->lock);

    if (c && c->tx_depth > 0)
        outcome = batch_commit(c, &oerr);
    else if (list) /* a failure ended the transaction, and the earlier members' work with it */
        outcome =
            sb_err_set(&oerr, why->kind == SB_OK ? SB_ERR_UNAVAILABLE : why->kind, "%s", why->msg);
    batch_turn_release(b);
    if (outcome == SB_OK && list)
        outcome = st->ops->sync(st, &oerr);

    pthread_mutex_lock(&b->lock);
    if (outcome == SB_OK && count > 0) {
        b->commits++;
        b->writes += (uint64_t)count;
    }
    for (m = list; m; m = m->next) {
        m->kind = outcome;
        m->err = oerr;
        m->done = true;
    }
    pthread_cond_broadcast(&b->done);
    pthread_mutex_unlock(&b->lock);
    if (me) {
        kind = me->kind;
        if (kind != SB_OK)
            *err = me->err;
    }
    return kind;
}

/* Makes the calling thread a member of ST's group commit: waits for the shared connection
 * (SB_STORE_BUSY_TIMEOUT_MS at most, as for a lock of the database), then begins its
 * transaction or a savepoint in the one open there. *CP: that connection. */
static enum sb_err_kind batch_enter(struct store *st, struct store_conn **cp, struct sb_err *err)
{
    struct store_batch *b = &st->batch;
    struct store_conn *c;
    struct timespec deadline;
    struct sb_err why;
    int level;

    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += SB_STORE_BUSY_TIMEOUT_MS / 1000;
    deadline.tv_nsec += (SB_STORE_BUSY_TIMEOUT_MS % 1000) * 1000000L;
    if (deadline.tv_nsec >= 1000000000L) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&b->lock);
    b->waiting++;
    while (b->busy)
        if (pthread_cond_timedwait(&b->turn, &b->lock, &deadline) == ETIMEDOUT && b->busy) {
            b->waiting--;
            pthread_mutex_unlock(&b->lock);
            return sb_err_set(err, SB_ERR_UNAVAILABLE,
                              "The store cannot start a transaction right now (other writes hold "
                              "it); try again later.");
        }
    b->waiting--;
    b->busy = true;
    pthread_mutex_unlock(&b->lock);

    if (!b->conn) {
        b->conn = st->ops->conn.open(st, err);
        if (!b->conn) {
            batch_turn_release(b);
            return err->kind;
        }
        b->conn->st = st;
        b->conn->batch = true;
    }
    c = b->conn;
    level = c->tx_depth == 0 ? 0 : 1;
    if (st->ops->conn.tx(c, TX_BEGIN, level, err) != SB_OK) {
        if (level > 0 && !st->ops->conn.in_tx(c))
            c->tx_depth = 0;
        why = *err;
        return batch_end(st, NULL, false, err->kind, &why, err);
    }
    c->tx_depth = level + 1;
    tls_member = (struct batch_member){.st = st, .level = level};
    *cp = c;
    return SB_OK;
}

/* Ends the calling thread's membership, its work committed (KIND SB_OK) or rolled back, and
 * returns its outcome: for a write kept, once its transaction is committed and durable (at
 * once when RELAXED). */
static enum sb_err_kind batch_leave(struct store_conn *c, enum sb_err_kind kind, bool relaxed,
                                    struct sb_err *err)
{
    const struct conn_ops *ops = &c->st->ops->conn;
    struct batch_member *me = &tls_member;
    struct sb_err ignored, why;

    sb_err_clear(&why);
    if (me->level > 0) {
        if (kind == SB_OK)
            kind = ops->tx(c, TX_COMMIT, me->level, err);
        if (kind != SB_OK)
            ops->tx(c, TX_ROLLBACK, me->level, &ignored);
        c->tx_depth = me->level;
        if (kind != SB_OK && !ops->in_tx(c)) {
            c->tx_depth = 0; /* the failure ended the whole transaction */
            why = *err;
        }
    } else if (kind != SB_OK) {
        ops->tx(c, TX_ROLLBACK, 0, &ignored); /* the first member: nothing else in it */
        c->tx_depth = 0;
    }
    me->st = NULL; /* from here on the thread's store calls go to its own connection */
    return batch_end(c->st, kind == SB_OK && !relaxed ? me : NULL, kind == SB_OK, kind, &why, err);
}

void store_batch_stats(struct store *st, struct store_batch_stats *out)
{
    struct store_batch *b = &st->batch;

    pthread_mutex_lock(&b->lock);
    out->waiting = b->waiting;
    out->commits = b->commits;
    out->writes = b->writes;
    pthread_mutex_unlock(&b->lock);
}

/* Begins a transaction (or a savepoint inside the open one) on *CP; with group commit, a
 * transaction at depth 0 is a membership of the shared one, and *CP becomes its connection. */
static enum sb_err_kind tx_begin(struct store_conn **cp, struct sb_err *err)
{
    struct store_conn *c = *cp;

    if (joins_batch(c))
        return batch_enter(c->st, cp, err);
    if (c->st->ops->conn.tx(c, TX_BEGIN, c->tx_depth, err) != SB_OK)
        return err->kind;
    c->tx_depth++;
    return SB_OK;
}

/* Commits (or releases) when KIND is SB_OK, rolls back otherwise; returns the final kind. */
static enum sb_err_kind tx_end(struct store_conn *c, enum sb_err_kind kind, struct sb_err *err)
{
    struct sb_err ignored;
    int level = c->tx_depth - 1;

    if (c->batch && tls_member.st == c->st && level == tls_member.level)
        return batch_leave(c, kind, false, err);
    if (kind == SB_OK)
        kind = c->st->ops->conn.tx(c, TX_COMMIT, level, err);
    if (kind != SB_OK)
        c->st->ops->conn.tx(c, TX_ROLLBACK, level, &ignored);
    c->tx_depth = level; /* (the backend ends it as part of the transaction) */
    if (level == 0)
        tx_committed(c);
    return kind;
}

enum sb_err_kind store_tx_begin(struct store *st, struct sb_err *err)
{
    WITH_CONN(c, st, err);
    return tx_begin(&c, err);
}

enum sb_err_kind store_tx_commit(struct store *st, struct sb_err *err)
{
    WITH_CONN(c, st, err);
    if (c->tx_depth == 0)
        return sb_err_set(err, SB_ERR_INTERNAL, "The store has no transaction to commit.");
    return tx_end(c, SB_OK, err);
}

void store_tx_rollback(struct store *st)
{
    struct sb_err err;
    struct store_conn *c = store_thread_conn(st, &err);

    if (c && c->tx_depth > 0)
        tx_end(c, SB_ERR_INTERNAL, &err);
}

/* Records that C changed principals (see tx_end); in autocommit, the change has committed. */
static void mark_auth_dirty(struct store_conn *c)
{
    if (c->tx_depth == 0)
        atomic_fetch_add(&c->st->auth_generation, 1);
    else
        c->auth_dirty = true;
}

static enum sb_err_kind announce(struct store_conn *c, const char *payload, struct sb_err *err)
{
    return c->st->ops->conn.announce ? c->st->ops->conn.announce(c, payload, err) : SB_OK;
}

/* Announces connection NAME at VERSION (deleted when DELETED). */
static enum sb_err_kind announce_conn(struct store_conn *c, const char *name, int64_t version,
                                      bool deleted, struct sb_err *err)
{
    size_t n = strlen(name) + 32;
    char *payload = xmalloc(n);
    enum sb_err_kind kind;

    snprintf(payload, n, "%s%lld %s", deleted ? STORE_NOTE_DEL : STORE_NOTE_CONN,
             (long long)version, name);
    kind = announce(c, payload, err);
    free(payload);
    return kind;
}

/* Runs the write ID, announcing PAYLOAD in the same transaction when it changed a row and other
 * nodes listen; *CHANGES the rows it changed. */
static enum sb_err_kind write_announced(struct store_conn *c, enum stmt_id id, struct args *a,
                                        const char *payload, long *changes, struct sb_err *err)
{
    enum sb_err_kind kind;

    if (!payload || !c->st->ops->conn.announce)
        return run(c, id, a, NULL, NULL, changes, err);
    if (tx_begin(&c, err) != SB_OK) {
        args_free(a);
        return err->kind;
    }
    kind = run(c, id, a, NULL, NULL, changes, err);
    if (kind == SB_OK && *changes > 0)
        kind = announce(c, payload, err);
    return tx_end(c, kind, err);
}

/* ---- meta ---- */

/* Row callback: a copy of column 0 into the char * CTX. */
static enum sb_err_kind row_strdup(void *ctx, const struct row *r, struct sb_err *err)
{
    const char *text = r->text(r, 0);
    (void)err;
    if (text && !*(char **)ctx)
        *(char **)ctx = xstrdup(text);
    return SB_OK;
}

enum sb_err_kind store_meta_get(struct store *st, const char *name, char **out, struct sb_err *err)
{
    WITH_CONN(c, st, err);
    struct args a = {0};

    *out = NULL;
    a_text(&a, name);
    if (run(c, ST_META_GET, &a, row_strdup, out, NULL, err) != SB_OK) {
        free(*out);
        *out = NULL;
        return err->kind;
    }
    return SB_OK;
}

enum sb_err_kind store_meta_get_held(struct store *st, const char *name, char **out,
                                     struct sb_err *err)
{
    WITH_CONN(c, st, err);
    struct args a = {0};

    *out = NULL;
    if (c->tx_depth == 0)
        return sb_err_set(err, SB_ERR_INTERNAL, "A setting can be held only in a transaction.");
    a_text(&a, name);
    if (run(c, ST_META_HOLD, &a, row_strdup, out, NULL, err) != SB_OK) {
        free(*out);
        *out = NULL;
        return err->kind;
    }
    return SB_OK;
}

enum sb_err_kind store_meta_expect_held(struct store *st, const char *name, const char *value,
                                        const char *mismatch, struct sb_err *err)
{
    WITH_CONN(c, st, err);
    char *stored = NULL;
    bool same;

    if (c->tx_depth == 0)
        return sb_err_set(err, SB_ERR_INTERNAL, "A setting can be held only in a transaction.");
    if (c->st->ops->conn.expect)
        return c->st->ops->conn.expect(c, name, value, mismatch, err);
    if (store_meta_get_held(st, name, &stored, err) != SB_OK)
        return err->kind;
    same = stored && strcmp(stored, value) == 0;
    free(stored);
    return same ? SB_OK : sb_err_set(err, SB_ERR_UNAVAILABLE, "%s", mismatch);
}

static enum sb_err_kind meta_write(struct store_conn *c, enum stmt_id id, const char *name,
                                   const char *value, long *changes, struct sb_err *err)
{
    struct args a = {0};
    enum sb_err_kind kind;

    a_text(&a, name);
    a_text(&a, value);
    kind = run(c, id, &a, NULL, NULL, changes, err);
    /* a new generation once the write has committed (at once in autocommit, else in tx_end):
     * a reader that samples it before reading can never cache an older value under it */
    if (c->tx_depth == 0)
        meta_bump(c->st);
    else
        c->meta_dirty = true;
    return kind;
}

enum sb_err_kind store_meta_init(struct store *st, const char *name, const char *value,
                                 bool *was_set, struct sb_err *err)
{
    WITH_CONN(c, st, err);
    long changes;

    if (meta_write(c, ST_META_INIT, name, value, &changes, err) != SB_OK)
        return err->kind;
    *was_set = changes == 0;
    return SB_OK;
}

enum sb_err_kind store_meta_set(struct store *st, const char *name, const char *value,
                                struct sb_err *err)
{
    WITH_CONN(c, st, err);
    return meta_write(c, ST_META_SET, name, value, NULL, err);
}

/* ---- objects ---- */

static bool coll_is_auth(enum store_collection coll)
{
    return coll == STORE_USERS || coll == STORE_GROUPS;
}

enum sb_err_kind store_obj_list(struct store *st, enum store_collection coll, json_t **out,
                                struct sb_err *err)
{
    WITH_CONN(c, st, err);
    struct args a = {0};

    a_int(&a, coll);
    return read_rows(c, ST_OBJ_LIST, &a, out, err);
}

/* Reads with STMT the record ID of KIND (a collection, or a kind of API key), which NOUN names
 * in the message when there is none. */
static enum sb_err_kind read_kind_id(struct store *st, enum stmt_id stmt, int kind,
                                     const char *noun, const char *id, json_t **out,
                                     struct sb_err *err)
{
    struct args a = {0};

    a_int(&a, kind);
    a_text(&a, id);
    return read_one(st, stmt, &a, out, err, MSG_MISSING, noun, id);
}

enum sb_err_kind store_obj_get(struct store *st, enum store_collection coll, const char *id,
                               json_t **out, struct sb_err *err)
{
    return read_kind_id(st, ST_OBJ_GET, coll, coll_noun(coll), id, out, err);
}

/* Writes with STMT the record ID of KIND (a collection, or a kind of API key), which NOUN
 * names: REC its new JSON, NULL for a delete. AUTH: a principal's record (a user, a group, a
 * key), announced to the other nodes. When no row changed: SB_ERR_CONFLICT for an insert
 * (ST_OBJ_INSERT), SB_ERR_NOT_FOUND otherwise. */
static enum sb_err_kind write_kind_id(struct store_conn *c, enum stmt_id stmt, int kind,
                                      const char *noun, const char *id, const json_t *rec,
                                      bool auth, struct sb_err *err)
{
    struct args a = {0};
    long changes;

    a_int(&a, kind);
    a_text(&a, id);
    if (rec)
        a_json(&a, rec);
    if (write_announced(c, stmt, &a, auth ? STORE_NOTE_AUTH : NULL, &changes, err) != SB_OK)
        return err->kind;
    if (auth)
        mark_auth_dirty(c);
    if (changes > 0)
        return SB_OK;
    if (stmt == ST_OBJ_INSERT)
        return sb_err_set(err, SB_ERR_CONFLICT, "%s '%s' already exists.", noun, id);
    return sb_err_set(err, SB_ERR_NOT_FOUND, MSG_MISSING, noun, id);
}

/* Inserts (ST_OBJ_INSERT), replaces or deletes (REC NULL) the record ID of COLL. */
static enum sb_err_kind obj_write(struct store_conn *c, enum stmt_id stmt,
                                  enum store_collection coll, const char *id, const json_t *rec,
                                  struct sb_err *err)
{
    return write_kind_id(c, stmt, coll, coll_noun(coll), id, rec, coll_is_auth(coll), err);
}

enum sb_err_kind store_obj_insert(struct store *st, enum store_collection coll, const char *id,
                                  const json_t *rec, struct sb_err *err)
{
    WITH_CONN(c, st, err);
    return obj_write(c, ST_OBJ_INSERT, coll, id, rec, err);
}

enum sb_err_kind store_obj_update(struct store *st, enum store_collection coll, const char *id,
                                  const json_t *rec, struct sb_err *err)
{
    WITH_CONN(c, st, err);
    return obj_write(c, ST_OBJ_UPDATE, coll, id, rec, err);
}

enum sb_err_kind store_obj_delete(struct store *st, enum store_collection coll, const char *id,
                                  struct sb_err *err)
{
    WITH_CONN(c, st, err);
    return obj_write(c, ST_OBJ_DELETE, coll, id, NULL, err);
}

/* Runs STMT with the arguments (I, TEXT), reading no rows. */
static enum sb_err_kind run_int_text(struct store *st, enum stmt_id stmt, int64_t i,
                                     const char *text, struct sb_err *err)
{
    WITH_CONN(c, st, err);
    struct args a = {0};

    a_int(&a, i);
    a_text(&a, text);
    return run(c, stmt, &a, NULL, NULL, NULL, err);
}

enum sb_err_kind store_obj_lock(struct store *st, enum store_collection coll, const char *id,
                                struct sb_err *err)
{
    return run_int_text(st, ST_OBJ_LOCK, coll, id, err);
}

#define N_OF(array) ((int)(sizeof(array) / sizeof((array)[0])))

/* What goes when a record is deleted: STMT runs with (KIND, the record's id), or with the id
 * alone when KIND is -1; none need be there. */
struct dependent {
    enum stmt_id stmt;
    int kind;
};

/* Deletes the record ID of COLL and, in the same transaction, its N dependents DEPS. */
static enum sb_err_kind obj_delete_cascade(struct store *st, enum store_collection coll,
                                           const char *id, const struct dependent *deps, int n,
                                           struct sb_err *err)
{
    WITH_CONN(c, st, err);
    enum sb_err_kind kind;

    if (tx_begin(&c, err) != SB_OK)
        return err->kind;
    kind = obj_write(c, ST_OBJ_DELETE, coll, id, NULL, err);
    for (int i = 0; i < n && kind == SB_OK; i++) {
        struct args a = {0};
        if (deps[i].kind >= 0)
            a_int(&a, deps[i].kind);
        a_text(&a, id);
        kind = run(c, deps[i].stmt, &a, NULL, NULL, NULL, err);
    }
    return tx_end(c, kind, err);
}

enum sb_err_kind store_user_delete(struct store *st, const char *login, struct sb_err *err)
{
    static const struct dependent keys[] = {{ST_KEY_DELETE_OWNER, STORE_KEY_PERSONAL}};
    return obj_delete_cascade(st, STORE_USERS, login, keys, N_OF(keys), err);
}

/* ---- audit ---- */

/* Alone (outside a transaction), an audit record need not wait for the disk: it survives a
 * crash of the process at once, and a power loss from the next durable commit on. Inside a
 * transaction it commits with the change it records. */
enum sb_err_kind store_audit_append(struct store *st, const json_t *rec, struct sb_err *err)
{
    char *text = xcheck(json_dumps(rec, JSON_COMPACT));
    enum sb_err_kind kind =
        store_audit_append_text(st, json_integer_value(json_object_get(rec, "ts")), text, err);

    free(text);
    return kind;
}

enum sb_err_kind store_audit_append_text(struct store *st, int64_t ts, const char *text,
                                         struct sb_err *err)
{
    return run_int_text(st, ST_AUDIT_APPEND, ts, text, err);
}

enum sb_err_kind store_audit_list(struct store *st, int64_t before, int limit,
                                  const struct audit_filter *f, json_t **out, struct sb_err *err)
{
    WITH_CONN(c, st, err);
    struct args a = {0};

    a_int(&a, before >= 0 ? before : INT64_MAX);
    a_int(&a, limit);
    for (int i = 0; i < 3; i++) {
        const struct audit_match *m = f ? &f->field[i] : NULL;
        a_text(&a, m && !m->prefix ? m->value : NULL);
        a_text(&a, m && m->prefix ? m->value : NULL);
    }
    return read_rows(c, ST_AUDIT_LIST, &a, out, err);
}

enum sb_err_kind store_audit_purge(struct store *st, int64_t before, long *deleted,
                                   struct sb_err *err)
{
    WITH_CONN(c, st, err);
    struct args a = {0};
    long n;

    a_int(&a, before);
    if (run(c, ST_AUDIT_PURGE, &a, NULL, NULL, &n, err) != SB_OK)
        return err->kind;
    if (deleted)
        *deleted = n;
    return SB_OK;
}

/* ---- connections ---- */

static enum sb_err_kind row_conn_list(void *ctx, const struct row *r, struct sb_err *err)
{
    json_t *def;

    if (parse_json(r->text(r, 1), &def, err) != SB_OK)
        return err->kind;
    json_object_set_new(ctx, r->text(r, 0), def);
    return SB_OK;
}

enum sb_err_kind store_conn_list(struct store *st, json_t **out, struct sb_err *err)
{
    WITH_CONN(c, st, err);
    json_t *all = xcheck(json_object());

    if (run(c, ST_CONN_LIST, NULL, row_conn_list, all, NULL, err) != SB_OK) {
        json_decref(all);
        return err->kind;
    }
    *out = all;
    return SB_OK;
}

struct scan_ctx {
    store_conn_scan_fn fn;
    void *ctx;
};

/* The member value AT (LEN bytes of JSON text; NULL when absent) as json_extract gives it: NULL
 * for a JSON null, a string's value, anything else its JSON text. In BUF (SIZE bytes) when it
 * fits, else in a new string left in *HEAP for the caller to free. */
static const char *member_value(const char *at, size_t len, char *buf, size_t size, char **heap)
{
    if (!at || (len == 4 && memcmp(at, "null", 4) == 0))
        return NULL;
    if (*at == '"' && memchr(at, '\\', len)) { /* escapes: jansson decodes them */
        json_t *v = json_loadb(at, len, JSON_DECODE_ANY, NULL);
        *heap = xstrdup(json_is_string(v) ? json_string_value(v) : "");
        json_decref(v);
        return *heap;
    }
    if (*at == '"' && len >= 2) {
        at++;
        len -= 2;
    }
    if (len < size) {
        memcpy(buf, at, len);
        buf[len] = '\0';
        return buf;
    }
    return *heap = xstrndup(at, len);
}

/* The row's definition is read for usableBy and allowedGroups here rather than by the database
 * (json_extract, ::json->>): measured at 100,000 connections, SQLite's JSON functions took
 * about half of the start-up's CPU. */
static enum sb_err_kind row_conn_scan(void *ctx, const struct row *r, struct sb_err *err)
{
    static const char *const keys[] = {"usableBy", "allowedGroups"};
    struct scan_ctx *sc = ctx;
    const char *text = r->text(r, 3), *at[2];
    char usable[32], groups[256], *heap[2] = {NULL, NULL};
    size_t len[2];
    (void)err;

    jsontext_members(text ? text : "", keys, 2, at, len);
    sc->fn(sc->ctx, r->text(r, 0), r->text(r, 1), r->integer(r, 2),
           member_value(at[0], len[0], usable, sizeof(usable), &heap[0]),
           member_value(at[1], len[1], groups, sizeof(groups), &heap[1]), text);
    free(heap[0]);
    free(heap[1]);
    return SB_OK;
}

enum sb_err_kind store_conn_scan(struct store *st, store_conn_scan_fn fn, void *ctx,
                                 struct sb_err *err)
{
    WITH_CONN(c, st, err);
    struct scan_ctx sc = {fn, ctx};
    return run(c, ST_CONN_SCAN, NULL, row_conn_scan, &sc, NULL, err);
}

static enum sb_err_kind conn_missing(const char *name, struct sb_err *err)
{
    return sb_err_set(err, SB_ERR_NOT_FOUND, MSG_CONN_MISSING, name);
}

/* Reads connection NAME with STMT (ST_CONN_GET or ST_CONN_HOLD). */
static enum sb_err_kind conn_read(struct store *st, enum stmt_id stmt, const char *name,
                                  json_t **out, struct sb_err *err)
{
    struct args a = {0};

    a_text(&a, name);
    return read_one(st, stmt, &a, out, err, MSG_CONN_MISSING, name);
}

enum sb_err_kind store_conn_get(struct store *st, const char *name, json_t **out,
                                struct sb_err *err)
{
    return conn_read(st, ST_CONN_GET, name, out, err);
}

enum sb_err_kind store_conn_hold(struct store *st, const char *name, json_t **out,
                                 struct sb_err *err)
{
    return conn_read(st, ST_CONN_HOLD, name, out, err);
}

static enum sb_err_kind lock_name(struct store_conn *c, const char *name, struct sb_err *err);

enum sb_err_kind store_conn_get_locked(struct store *st, const char *name, json_t **out,
                                       struct sb_err *err)
{
    WITH_CONN(c, st, err);
    *out = NULL;
    if (c->tx_depth == 0)
        return sb_err_set(err, SB_ERR_INTERNAL,
                          "A connection can be locked only in a transaction.");
    /* (on PostgreSQL the lock travels with the read: one round trip) */
    if (lock_name(c, name, err) != SB_OK)
        return err->kind;
    if (c->st->ops->conn.exec_later) { /* (what conn_replace looks at) */
        free(c->locked);
        c->locked = xstrdup(name);
    }
    return conn_read(st, ST_CONN_GET, name, out, err);
}

static const char *tag_login(const json_t *def)
{
    const char *who = json_string_value(json_object_get(
        json_object_get(json_object_get(def, "creationTag"), "lastModifiedBy"), "login"));
    return who ? who : "?";
}

static int64_t tag_int(const json_t *def, const char *field)
{
    return json_integer_value(json_object_get(json_object_get(def, "creationTag"), field));
}

/* Appends version VERSION of NAME to the history, and announces it. */
/* TEXT: DEF's compact JSON when the caller has it already, or NULL. */
static enum sb_err_kind history_append(struct store_conn *c, const char *name, int64_t version,
                                       const char *action, const char *who, int64_t when,
                                       const json_t *def, const char *text, struct sb_err *err)
{
    struct args a = {0};
    bool deleted = strcmp(action, "delete") == 0;

    a_text(&a, name);
    a_int(&a, version);
    a_text(&a, action);
    a_text(&a, who);
    a_int(&a, when);
    if (text)
        a_text(&a, text);
    else
        a_json(&a, def);
    if (run(c, ST_HIST_APPEND, &a, NULL, NULL, NULL, err) != SB_OK)
        return err->kind;
    return announce_conn(c, name, version, deleted, err);
}

static enum sb_err_kind lock_name(struct store_conn *c, const char *name, struct sb_err *err)
{
    return c->st->ops->conn.lock_name ? c->st->ops->conn.lock_name(c, name, err) : SB_OK;
}

/* A version number no definition holds: stands in for the one the store gives out. */
#define VERSION_STANDIN "-7029384756102938475"
#define VERSION_KEY "\"versionNumber\":"

/* DEF's compact text with its creationTag.versionNumber cut out: *BEFORE (malloc'd, the caller
 * frees it) up to the number, *AFTER (inside it) after it. False when DEF has no creationTag,
 * or when the stand-in does not occur exactly once. */
static bool split_at_version(json_t *def, char **before, const char **after)
{
    json_t *tag = json_object_get(def, "creationTag");
    const char *key = VERSION_KEY VERSION_STANDIN;
    size_t klen = strlen(key);
    char *text, *at;

    if (!json_is_object(tag))
        return false;
    json_object_set_new(tag, "versionNumber", json_integer(strtoll(VERSION_STANDIN, NULL, 10)));
    text = xcheck(json_dumps(def, JSON_COMPACT));
    at = strstr(text, key);
    if (!at || strstr(at + klen, key)) {
        free(text);
        return false;
    }
    *after = at + klen;
    at[strlen(VERSION_KEY)] = '\0';
    *before = text;
    return true;
}

/* Appends NAME's history entry as stored now (by the statement before, whose answer it need
 * not wait for). */
static enum sb_err_kind history_copy_row(struct store_conn *c, const char *name, const char *action,
                                         const json_t *def, struct sb_err *err)
{
    struct args a = {0};

    a_text(&a, name);
    a_text(&a, action);
    a_text(&a, tag_login(def));
    a_int(&a, tag_int(def, "lastModifiedOn"));
    return run(c, ST_HIST_COPY, &a, NULL, NULL, NULL, err);
}

/* history_copy_row, and announces version VERSION. */
static enum sb_err_kind history_copy(struct store_conn *c, const char *name, int64_t version,
                                     const char *action, const json_t *def, struct sb_err *err)
{
    if (history_copy_row(c, name, action, def, err) != SB_OK)
        return err->kind;
    return announce_conn(c, name, version, false, err);
}

/* BEFORE, VERSION's digits and AFTER, joined (malloc'd): the text ST_CONN_CREATE stores. */
static char *join_at_version(const char *before, int64_t version, const char *after)
{
    size_t lb = strlen(before), la = strlen(after);
    char *text = xmalloc(lb + 21 + la + 1);
    int lv = snprintf(text + lb, 22, "%lld", (long long)version);

    memcpy(text, before, lb);
    memcpy(text + lb + lv, after, la + 1);
    return text;
}

static enum sb_err_kind conn_insert(struct store_conn *c, const char *name, json_t *def,
                                    const char *action, char **text, struct sb_err *err)
{
    json_t *tag = json_object_get(def, "creationTag");
    struct args a = {0};
    int64_t version = 0;
    const char *after;
    char *before, *dump;
    enum sb_err_kind kind;
    long changes;

    if (lock_name(c, name, err) != SB_OK)
        return err->kind;
    /* the next version is given out by the insert itself: one statement, no answer to wait for
     * in between (on PostgreSQL, the lock above and the insert go in one round trip) */
    if (split_at_version(def, &before, &after)) {
        a_text(&a, name);
        a_text(&a, json_string_value(json_object_get(def, "type")));
        a_text(&a, before);
        a_text(&a, after);
        if (run(c, ST_CONN_CREATE, &a, row_int, &version, NULL, err) == SB_OK && version == 0)
            sb_err_set(err, SB_ERR_CONFLICT, "Connection '%s' already exists.", name);
        /* (the stand-in never stays: the version given out, or 0 when none was) */
        json_object_set_new(tag, "versionNumber", json_integer(version));
        if (version != 0 && text) /* the stored text, which is DEF's dump now */
            *text = join_at_version(before, version, after);
        free(before);
        if (version == 0)
            return err->kind;
        return history_copy(c, name, version, action, def, err);
    }
    version = 1;
    a_text(&a, name);
    if (run(c, ST_HIST_NEXT, &a, row_int, &version, NULL, err) != SB_OK)
        return err->kind;
    if (json_is_object(tag))
        json_object_set_new(tag, "versionNumber", json_integer(version));
    a = (struct args){0};
    a_text(&a, name);
    a_text(&a, json_string_value(json_object_get(def, "type")));
    a_int(&a, version);
    a_text(&a, dump = xcheck(json_dumps(def, JSON_COMPACT)));
    kind = run(c, ST_CONN_INSERT, &a, NULL, NULL, &changes, err);
    if (kind == SB_OK && changes == 0)
        kind = sb_err_set(err, SB_ERR_CONFLICT, "Connection '%s' already exists.", name);
    if (kind != SB_OK) {
        free(dump);
        return kind;
    }
    kind = history_append(c, name, version, action, tag_login(def), tag_int(def, "lastModifiedOn"),
                          def, dump, err);
    if (text)
        *text = dump;
    else
        free(dump);
    return kind;
}

/* Row callback of ST_CONN_CREATE_LATER, once its pipeline succeeded: the version given out,
 * announced with the transaction. */
static enum sb_err_kind row_inserted(void *ctx, const struct row *r, struct sb_err *err)
{
    struct store_insert *in = ctx;

    in->version = r->integer(r, 0);
    return announce_conn(in->conn, in->name, in->version, false, err);
}

/* conn_insert inside C's transaction, sent with its next statement that is waited for (see
 * store_conn_insert_later); IN says which way it went. */
static enum sb_err_kind conn_insert_later(struct store_conn *c, const char *name, json_t *def,
                                          const char *action, struct store_insert *in,
                                          struct sb_err *err)
{
    struct args a = {0};
    char msg[SB_ERR_MSG_MAX];
    enum sb_err_kind kind;

    if (!c->st->ops->conn.exec_later || !split_at_version(def, &in->before, &in->after))
        return conn_insert(c, name, def, action, &in->text, err);
    in->later = true;
    in->conn = c;
    in->name = xstrdup(name);
    if (lock_name(c, name, err) != SB_OK)
        return err->kind;
    a_text(&a, name);
    a_text(&a, json_string_value(json_object_get(def, "type")));
    a_text(&a, in->before);
    a_text(&a, in->after);
    snprintf(msg, sizeof(msg), "Connection '%s' already exists.", name);
    kind = c->st->ops->conn.exec_later(c, ST_CONN_CREATE_LATER, &a, row_inserted, in,
                                       SB_ERR_CONFLICT, msg, err);
    args_free(&a);
    if (kind != SB_OK)
        return kind;
    /* copied from the row the insert makes, in the same pipeline; announced with the version */
    return history_copy_row(c, name, action, def, err);
}

enum sb_err_kind store_conn_insert_later(struct store *st, const char *name, json_t *def,
                                         const char *action, struct store_insert *in,
                                         struct sb_err *err)
{
    memset(in, 0, sizeof(*in));
    WITH_CONN(c, st, err);
    if (c->tx_depth == 0) /* a transaction of its own: its COMMIT is in there already */
        return store_conn_insert_text(st, name, def, action, &in->text, err);
    if (tx_begin(&c, err) != SB_OK)
        return err->kind;
    return tx_end(c, conn_insert_later(c, name, def, action, in, err), err);
}

enum sb_err_kind store_conn_insert_done(struct store_insert *in, enum sb_err_kind outcome,
                                        json_t *def, char **text, struct sb_err *err)
{
    json_t *tag = json_object_get(def, "creationTag");
    char *done = NULL;

    if (in->later) {
        if (outcome == SB_OK && in->version <= 0)
            outcome =
                sb_err_set(err, SB_ERR_INTERNAL,
                           "The store committed connection '%s' without a version.", in->name);
        /* (the stand-in never stays: the version given out, or 0 when none was) */
        if (json_is_object(tag))
            json_object_set_new(tag, "versionNumber",
                                json_integer(outcome == SB_OK ? in->version : 0));
        if (outcome == SB_OK)
            done = join_at_version(in->before, in->version, in->after);
    } else if (outcome == SB_OK) {
        done = in->text;
        in->text = NULL;
    }
    free(in->text);
    free(in->name);
    free(in->before);
    memset(in, 0, sizeof(*in));
    if (text)
        *text = done;
    else
        free(done);
    return outcome;
}

enum sb_err_kind store_conn_insert_text(struct store *st, const char *name, json_t *def,
                                        const char *action, char **text, struct sb_err *err)
{
    struct store_insert in = {0};
    enum sb_err_kind kind;
    bool outer;

    if (text)
        *text = NULL;
    WITH_CONN(c, st, err);
    /* a transaction of its own: the insert goes with its COMMIT (one round trip on PostgreSQL);
     * inside a caller's, at once (the caller may go on after a conflict) */
    outer = c->tx_depth == 0;
    if (tx_begin(&c, err) != SB_OK)
        return err->kind;
    if (outer)
        kind = conn_insert_later(c, name, def, action, &in, err);
    else
        kind = conn_insert(c, name, def, action, &in.text, err);
    kind = tx_end(c, kind, err);
    return store_conn_insert_done(&in, kind, def, text, err);
}

enum sb_err_kind store_conn_insert(struct store *st, const char *name, json_t *def,
                                   const char *action, struct sb_err *err)
{
    return store_conn_insert_text(st, name, def, action, NULL, err);
}

/* conn_replace by a writer that holds NAME's lock since it read EXPECTED_VERSION
 * (store_conn_get_locked): nobody else can have changed it, so nothing need wait for the
 * replace's answer; it travels with the transaction's next statement that is waited for. */
static enum sb_err_kind conn_replace_later(struct store_conn *c, const char *name,
                                           const json_t *def, int64_t expected_version,
                                           const char *action, char **text, struct sb_err *err)
{
    struct args a = {0};
    char msg[SB_ERR_MSG_MAX];
    char *dump = xcheck(json_dumps(def, JSON_COMPACT));
    int64_t version = tag_int(def, "versionNumber");
    enum sb_err_kind kind;

    a_text(&a, name);
    a_int(&a, expected_version);
    a_int(&a, version);
    a_text(&a, dump);
    snprintf(msg, sizeof(msg),
             "Connection '%s' was changed by someone else while this update was being made; "
             "read it again and reapply the change.",
             name);
    kind = c->st->ops->conn.exec_later(c, ST_CONN_REPLACE_LATER, &a, NULL, NULL, SB_ERR_CONFLICT,
                                       msg, err);
    args_free(&a);
    if (kind == SB_OK)
        kind = history_append(c, name, version, action, tag_login(def),
                              tag_int(def, "lastModifiedOn"), def, dump, err);
    if (kind == SB_OK && text)
        *text = dump;
    else
        free(dump);
    return kind;
}

static enum sb_err_kind conn_replace(struct store_conn *c, const char *name, const json_t *def,
                                     int64_t expected_version, const char *action, char **text,
                                     struct sb_err *err)
{
    int64_t version = tag_int(def, "versionNumber"), exists = 0;
    struct args a = {0};
    enum sb_err_kind kind;
    char *dump;
    long changes;

    if (c->st->ops->conn.exec_later && c->locked && strcmp(c->locked, name) == 0)
        return conn_replace_later(c, name, def, expected_version, action, text, err);
    if (lock_name(c, name, err) != SB_OK)
        return err->kind;
    a_text(&a, name);
    a_int(&a, expected_version);
    a_int(&a, version);
    a_text(&a, dump = xcheck(json_dumps(def, JSON_COMPACT))); /* for the history row too */
    if (run(c, ST_CONN_REPLACE, &a, NULL, NULL, &changes, err) != SB_OK) {
        free(dump);
        return err->kind;
    }
    if (changes == 1) {
        kind = history_append(c, name, version, action, tag_login(def),
                              tag_int(def, "lastModifiedOn"), def, dump, err);
        if (text)
            *text = dump;
        else
            free(dump);
        return kind;
    }
    free(dump);

    /* nothing matched: gone, or changed since the caller read it */
    a = (struct args){0};
    a_text(&a, name);
    if (run(c, ST_CONN_EXISTS, &a, row_int, &exists, NULL, err) != SB_OK)
        return err->kind;
    if (exists)
        return sb_err_set(err, SB_ERR_CONFLICT,
                          "Connection '%s' was changed by someone else while this update was "
                          "being made; read it again and reapply the change.",
                          name);
    return conn_missing(name, err);
}

enum sb_err_kind store_conn_replace_text(struct store *st, const char *name, const json_t *def,
                                         int64_t expected_version, const char *action, char **text,
                                         struct sb_err *err)
{
    enum sb_err_kind kind;

    if (text)
        *text = NULL;
    WITH_CONN(c, st, err);
    if (tx_begin(&c, err) != SB_OK)
        return err->kind;
    kind = tx_end(c, conn_replace(c, name, def, expected_version, action, text, err), err);
    if (kind != SB_OK && text) {
        free(*text);
        *text = NULL;
    }
    return kind;
}

enum sb_err_kind store_conn_replace(struct store *st, const char *name, const json_t *def,
                                    int64_t expected_version, const char *action,
                                    struct sb_err *err)
{
    return store_conn_replace_text(st, name, def, expected_version, action, NULL, err);
}

struct usages {
    char list[SB_ERR_MSG_MAX - 512];
    int64_t count;
    int shown;
    bool full;
};

static enum sb_err_kind row_usage_item(void *ctx, const struct row *r, struct sb_err *err)
{
    struct usages *u = ctx;
    char item[160];
    (void)err;

    u->count = r->integer(r, 2);
    snprintf(item, sizeof(item), "%s%s.%s", u->shown ? ", " : "", r->text(r, 0), r->text(r, 1));
    if (u->full || strlen(u->list) + strlen(item) + 1 >= sizeof(u->list)) {
        u->full = true;
        return SB_OK;
    }
    strcat(u->list, item);
    u->shown++;
    return SB_OK;
}

/* Fails with SB_ERR_CONFLICT listing (at most 20 of) the datasets that use NAME. */
static enum sb_err_kind conn_unused(struct store_conn *c, const char *name, struct sb_err *err)
{
    struct usages u = {.count = 0};
    struct args a = {0};

    a_text(&a, name);
    if (run(c, ST_USAGES_FIRST, &a, row_usage_item, &u, NULL, err) != SB_OK)
        return err->kind;
    if (u.count == 0)
        return SB_OK;
    if (u.count > u.shown)
        return sb_err_set(err, SB_ERR_CONFLICT,
                          "Connection '%s' is used by %lld datasets: %s and %lld more; move them "
                          "to another connection or delete with force=true.",
                          name, (long long)u.count, u.list, (long long)(u.count - u.shown));
    return sb_err_set(err, SB_ERR_CONFLICT,
                      "Connection '%s' is used by %lld dataset%s: %s; move %s to another "
                      "connection or delete with force=true.",
                      name, (long long)u.count, u.count == 1 ? "" : "s", u.list,
                      u.count == 1 ? "it" : "them");
}

struct versioned {
    int64_t version;
    json_t *def;
};

static enum sb_err_kind row_versioned(void *ctx, const struct row *r, struct sb_err *err)
{
    struct versioned *v = ctx;

    v->version = r->integer(r, 0);
    return parse_json(r->text(r, 1), &v->def, err);
}

static enum sb_err_kind conn_delete(struct store_conn *c, const char *name, int64_t expected,
                                    bool force, const char *who, int64_t now_ms,
                                    int64_t *deleted_version, struct sb_err *err)
{
    struct versioned cur = {0};
    struct args a = {0};
    enum sb_err_kind kind;

    if (lock_name(c, name, err) != SB_OK)
        return err->kind;
    a_text(&a, name);
    if (run(c, ST_CONN_GET_VERSION, &a, row_versioned, &cur, NULL, err) != SB_OK)
        goto fail;
    if (!cur.def)
        return conn_missing(name, err);
    if (expected >= 0 && cur.version != expected) {
        sb_err_set(err, SB_ERR_PRECONDITION_FAILED,
                   "Connection '%s' is at version %lld, not version %lld named by If-Match: it "
                   "was changed since it was read; read it again and reapply the change.",
                   name, (long long)cur.version, (long long)expected);
        goto fail;
    }
    if (!force && conn_unused(c, name, err) != SB_OK)
        goto fail;
    a = (struct args){0};
    a_text(&a, name);
    if (run(c, ST_CONN_DELETE, &a, NULL, NULL, NULL, err) != SB_OK)
        goto fail;
    kind = history_append(c, name, cur.version + 1, "delete", who, now_ms, cur.def, NULL, err);
    if (kind == SB_OK)
        *deleted_version = cur.version + 1;
    json_decref(cur.def);
    return kind;
fail:
    json_decref(cur.def);
    return err->kind;
}

enum sb_err_kind store_conn_delete(struct store *st, const char *name, bool force, const char *who,
                                   int64_t now_ms, int64_t *deleted_version, struct sb_err *err)
{
    return store_conn_delete_at(st, name, -1, force, who, now_ms, deleted_version, err);
}

enum sb_err_kind store_conn_delete_at(struct store *st, const char *name, int64_t expected_version,
                                      bool force, const char *who, int64_t now_ms,
                                      int64_t *deleted_version, struct sb_err *err)
{
    WITH_CONN(c, st, err);
    *deleted_version = 0;
    if (tx_begin(&c, err) != SB_OK)
        return err->kind;
    return tx_end(
        c, conn_delete(c, name, expected_version, force, who, now_ms, deleted_version, err), err);
}

static enum sb_err_kind row_history(void *ctx, const struct row *r, struct sb_err *err)
{
    json_t *def;

    if (parse_json(r->text(r, 4), &def, err) != SB_OK)
        return err->kind;
    json_array_append_new(
        ctx,
        xcheck(json_pack("{s:I, s:s, s:I, s:s, s:o}", "versionNumber", (json_int_t)r->integer(r, 0),
                         "modifiedBy", r->text(r, 1), "modifiedOn", (json_int_t)r->integer(r, 2),
                         "action", r->text(r, 3), "definition", def)));
    return SB_OK;
}

enum sb_err_kind store_conn_history(struct store *st, const char *name, json_t **out,
                                    struct sb_err *err)
{
    WITH_CONN(c, st, err);
    struct args a = {0};
    json_t *all;

    a_text(&a, name);
    if (collect(c, ST_HIST_LIST, &a, row_history, &all, err) != SB_OK)
        return err->kind;
    if (json_array_size(all) == 0) {
        json_decref(all);
        return sb_err_set(err, SB_ERR_NOT_FOUND,
                          "Connection '%s' has no history: it never existed.", name);
    }
    *out = all;
    return SB_OK;
}

enum sb_err_kind store_conn_version(struct store *st, const char *name, int64_t version,
                                    json_t **out, struct sb_err *err)
{
    struct args a = {0};

    a_text(&a, name);
    a_int(&a, version);
    return read_one(st, ST_HIST_GET, &a, out, err,
                    "Connection '%s' has no version %lld to revert to.", name, (long long)version);
}

static enum sb_err_kind row_usage(void *ctx, const struct row *r, struct sb_err *err)
{
    (void)err;
    json_array_append_new(
        ctx, xcheck(json_pack("{s:s, s:s, s:s}", "projectKey", r->text(r, 0), "datasetName",
                              r->text(r, 1), "datasetType", r->text(r, 2))));
    return SB_OK;
}

enum sb_err_kind store_conn_usages(struct store *st, const char *name, json_t **out,
                                   struct sb_err *err)
{
    WITH_CONN(c, st, err);
    struct args a = {0};

    a_text(&a, name);
    return collect(c, ST_USAGES, &a, row_usage, out, err);
}

/* ---- datasets ---- */

enum sb_err_kind store_ds_list(struct store *st, const char *project, json_t **out,
                               struct sb_err *err)
{
    WITH_CONN(c, st, err);
    struct args a = {0};

    a_text(&a, project);
    return read_rows(c, ST_DS_LIST, &a, out, err);
}

static enum sb_err_kind ds_missing(const char *project, const char *name, struct sb_err *err)
{
    return sb_err_set(err, SB_ERR_NOT_FOUND, MSG_DS_MISSING, name, project);
}

enum sb_err_kind store_ds_get(struct store *st, const char *project, const char *name, json_t **out,
                              struct sb_err *err)
{
    struct args a = {0};

    a_text(&a, project);
    a_text(&a, name);
    return read_one(st, ST_DS_GET, &a, out, err, MSG_DS_MISSING, name, project);
}

static enum sb_err_kind ds_write(struct store *st, enum stmt_id id, const char *project,
                                 const char *name, const json_t *def, struct sb_err *err)
{
    WITH_CONN(c, st, err);
    struct args a = {0};
    long changes;

    a_text(&a, project);
    a_text(&a, name);
    if (def) {
        a_text(&a, json_string_value(json_object_get(def, "type")));
        a_text(&a,
               json_string_value(json_object_get(json_object_get(def, "params"), "connection")));
        a_json(&a, def);
    }
    if (run(c, id, &a, NULL, NULL, &changes, err) != SB_OK)
        return err->kind;
    if (changes == 0)
        return id == ST_DS_INSERT
                   ? sb_err_set(err, SB_ERR_CONFLICT,
                                "Dataset '%s' already exists in project '%s'.", name, project)
                   : ds_missing(project, name, err);
    return SB_OK;
}

enum sb_err_kind store_ds_insert(struct store *st, const char *project, const char *name,
                                 const json_t *def, struct sb_err *err)
{
    return ds_write(st, ST_DS_INSERT, project, name, def, err);
}

enum sb_err_kind store_ds_update(struct store *st, const char *project, const char *name,
                                 const json_t *def, struct sb_err *err)
{
    return ds_write(st, ST_DS_UPDATE, project, name, def, err);
}

enum sb_err_kind store_ds_delete(struct store *st, const char *project, const char *name,
                                 struct sb_err *err)
{
    return ds_write(st, ST_DS_DELETE, project, name, NULL, err);
}

enum sb_err_kind store_project_delete(struct store *st, const char *key, struct sb_err *err)
{
    static const struct dependent deps[] = {
        {ST_OBJ_DELETE, STORE_PROJECT_VARIABLES},
        {ST_DS_DELETE_PROJECT, -1},
    };
    return obj_delete_cascade(st, STORE_PROJECTS, key, deps, N_OF(deps), err);
}

/* ---- API keys ---- */

static enum sb_err_kind key_insert(struct store_conn *c, enum store_key_kind kind,
                                   const uint8_t hash[32], const json_t *rec, struct sb_err *err)
{
    const json_t *user = json_object_get(rec, "user");
    struct args a = {0};
    long changes;

    a_int(&a, kind);
    a_text(&a, json_string_value(json_object_get(rec, "id")));
    a_blob(&a, hash, 32);
    a_json(&a, rec);
    a_text(&a, json_is_string(user) ? json_string_value(user) : NULL);
    if (write_announced(c, ST_KEY_INSERT, &a, STORE_NOTE_AUTH, &changes, err) != SB_OK)
        return err->kind;
    if (changes == 0)
        return sb_err_set(err, SB_ERR_CONFLICT, "An API key with the same id or secret exists.");
    mark_auth_dirty(c);
    return SB_OK;
}

enum sb_err_kind store_key_insert(struct store *st, enum store_key_kind kind,
                                  const uint8_t hash[32], const json_t *rec, struct sb_err *err)
{
    WITH_CONN(c, st, err);
    return key_insert(c, kind, hash, rec, err);
}

/* Nodes starting together race here: the meta row decides (ON CONFLICT waits for the other
 * transaction that inserts it, and then finds it there). */
enum sb_err_kind store_key_bootstrap(struct store *st, const uint8_t hash[32], const json_t *rec,
                                     bool *done, struct sb_err *err)
{
    WITH_CONN(c, st, err);
    enum sb_err_kind kind;
    long changes;

    *done = false;
    if (tx_begin(&c, err) != SB_OK)
        return err->kind;
    kind = meta_write(c, ST_META_INIT, STORE_META_BOOTSTRAP,
                      json_string_value(json_object_get(rec, "id")), &changes, err);
    if (kind == SB_OK && changes == 1)
        kind = key_insert(c, STORE_KEY_GLOBAL, hash, rec, err);
    kind = tx_end(c, kind, err);
    *done = kind == SB_OK && changes == 1;
    return kind;
}

struct key_row {
    enum store_key_kind kind;
    json_t *rec;
};

static enum sb_err_kind row_key(void *ctx, const struct row *r, struct sb_err *err)
{
    struct key_row *k = ctx;

    k->kind = (enum store_key_kind)r->integer(r, 0);
    return parse_json(r->text(r, 1), &k->rec, err);
}

enum sb_err_kind store_key_by_hash(struct store *st, const uint8_t hash[32], json_t **out,
                                   enum store_key_kind *kind, struct sb_err *err)
{
    WITH_CONN(c, st, err);
    struct key_row k = {0};
    struct args a = {0};

    a_blob(&a, hash, 32);
    if (run(c, ST_KEY_BY_HASH, &a, row_key, &k, NULL, err) != SB_OK) {
        json_decref(k.rec);
        return err->kind;
    }
    if (!k.rec)
        return sb_err_set(err, SB_ERR_NOT_FOUND, "No such API key.");
    *kind = k.kind;
    *out = k.rec;
    return SB_OK;
}

enum sb_err_kind store_key_get(struct store *st, enum store_key_kind kind, const char *id,
                               json_t **out, struct sb_err *err)
{
    return read_kind_id(st, ST_KEY_GET, kind, key_noun(kind), id, out, err);
}

enum sb_err_kind store_key_list(struct store *st, enum store_key_kind kind, const char *owner,
                                json_t **out, struct sb_err *err)
{
    WITH_CONN(c, st, err);
    struct args a = {0};

    a_int(&a, kind);
    if (owner)
        a_text(&a, owner);
    return read_rows(c, owner ? ST_KEY_LIST_OWNER : ST_KEY_LIST, &a, out, err);
}

/* Replaces (REC) or deletes the key of KIND with ID. */
static enum sb_err_kind key_write(struct store *st, enum store_key_kind kind, const char *id,
                                  const json_t *rec, struct sb_err *err)
{
    WITH_CONN(c, st, err);
    return write_kind_id(c, rec ? ST_KEY_UPDATE : ST_KEY_DELETE, kind, key_noun(kind), id, rec,
                         true, err);
}

enum sb_err_kind store_key_update(struct store *st, enum store_key_kind kind, const char *id,
                                  const json_t *rec, struct sb_err *err)
{
    return key_write(st, kind, id, rec, err);
}

enum sb_err_kind store_key_delete(struct store *st, enum store_key_kind kind, const char *id,
                                  struct sb_err *err)
{
    return key_write(st, kind, id, NULL, err);
}

/* ---- key rotation ---- */

struct reseal_read {
    json_t *rows;
    bool versioned; /* column 2 holds the version */
};

/* Row callback: [key, record, version] into CTX's array. */
static enum sb_err_kind row_reseal(void *ctx, const struct row *r, struct sb_err *err)
{
    struct reseal_read *rr = ctx;
    json_t *rec;

    if (parse_json(r->text(r, 1), &rec, err) != SB_OK)
        return err->kind;
    json_array_append_new(rr->rows,
                          xcheck(json_pack("[s, o, I]", r->text(r, 0), rec,
                                           (json_int_t)(rr->versioned ? r->integer(r, 2) : 0))));
    return SB_OK;
}

/* Runs FN on every row of READ (key in column 0, JSON in column 1, for connections the version
 * in column 2) and writes the records it changed back with WRITE (?1 key, ?2 JSON, ?3 the
 * collection when COLL > 0), announcing every connection it changes (*AUTH: it changed a
 * user). Every row is read before any is written: updating a table while a statement still
 * walks it could visit a row twice. */
static enum sb_err_kind reseal_rows(struct store_conn *c, enum stmt_id read, enum stmt_id write,
                                    int coll, store_reseal_fn fn, void *ctx, bool *auth,
                                    struct sb_err *err)
{
    json_t *rows = xcheck(json_array()), *row;
    struct reseal_read rr = {rows, coll == 0};
    enum sb_err_kind kind = SB_OK;
    struct args a = {0};
    size_t i;

    if (coll > 0)
        a_int(&a, coll);
    if (run(c, read, &a, row_reseal, &rr, NULL, err) != SB_OK) {
        json_decref(rows);
        return err->kind;
    }
    json_array_foreach (rows, i, row) {
        const char *key = json_string_value(json_array_get(row, 0));
        json_t *rec = json_array_get(row, 1);
        char *before = xcheck(json_dumps(rec, JSON_COMPACT)), *after;

        kind = fn(ctx, coll, rec, err);
        after = xcheck(json_dumps(rec, JSON_COMPACT));
        if (kind == SB_OK && strcmp(before, after) != 0) {
            a = (struct args){0};
            a_text(&a, key);
            a_owned(&a, after);
            after = NULL;
            if (coll > 0)
                a_int(&a, coll);
            kind = run(c, write, &a, NULL, NULL, NULL, err);
            if (kind == SB_OK && coll == 0)
                kind =
                    announce_conn(c, key, json_integer_value(json_array_get(row, 2)), false, err);
            *auth = *auth || coll == STORE_USERS;
        }
        free(before);
        free(after);
        if (kind != SB_OK)
            break;
    }
    json_decref(rows);
    return kind;
}

enum sb_err_kind store_reseal_all(struct store *st, store_reseal_fn fn, void *ctx,
                                  const json_t *meta, struct sb_err *err)
{
    WITH_CONN(c, st, err);
    enum sb_err_kind kind;
    const char *name;
    json_t *value;
    bool auth = false;
    struct args a = {0};

    if (tx_begin(&c, err) != SB_OK)
        return err->kind;
    /* first the key check value's row, which every sealing write holds (store_meta_get_held):
     * the rotation waits for the writes that checked the old value to commit, and those that
     * check later wait for it and see the new value; then the tables */
    a_text(&a, STORE_META_KEY_CHECK);
    kind = run(c, ST_META_CLAIM, &a, NULL, NULL, NULL, err);
    if (kind == SB_OK)
        kind = run(c, ST_RESEAL_LOCK, NULL, NULL, NULL, NULL, err);
    if (kind == SB_OK)
        kind = reseal_rows(c, ST_RESEAL_CONN_READ, ST_RESEAL_CONN_WRITE, 0, fn, ctx, &auth, err);
    if (kind == SB_OK)
        kind = reseal_rows(c, ST_RESEAL_HIST_READ, ST_RESEAL_HIST_WRITE, STORE_RESEAL_HISTORY, fn,
                           ctx, &auth, err);
    if (kind == SB_OK)
        kind = reseal_rows(c, ST_RESEAL_OBJ_READ, ST_RESEAL_OBJ_WRITE, STORE_USERS, fn, ctx, &auth,
                           err);
    json_object_foreach ((json_t *)meta, name, value) {
        if (kind == SB_OK)
            kind = meta_write(c, ST_META_SET, name, json_string_value(value), NULL, err);
    }
    if (kind == SB_OK && auth) {
        kind = announce(c, STORE_NOTE_AUTH, err);
        mark_auth_dirty(c);
    }
    return tx_end(c, kind, err);
}
