/* SPDX-License-Identifier: Apache-2.0 */
/* The shared store, on PostgreSQL: several Switchboard nodes on one database (issue 9).
 *
 * Same tables and the same semantics as store_sqlite.c; definitions and records are TEXT holding
 * the compact JSON exactly as jansson wrote it, so that they come back byte for byte. Key columns
 * are COLLATE "C" so that listings sort by bytes, as SQLite's BINARY collation does. Every value
 * travels as a parameter (PQexecParams, text format; the key hash as binary bytea).
 *
 * Threads: one PGconn per thread, opened on first use (a pthread key) and closed at thread exit;
 * store_close closes whatever remains. A dedicated listener connection (LISTEN switchboard)
 * feeds store_poll_changes.
 *
 * This file holds the PostgreSQL primitives of backend.h only; the store's logic is in store.c.
 * Transactions: the outermost is BEGIN (READ COMMITTED), inner ones are savepoints. READ
 * COMMITTED is enough because every check that matters is made by
 * the write itself: INSERT ... ON CONFLICT DO NOTHING and UPDATE ... WHERE version = $expected
 * report zero rows when another node got there first. Connection writes also take a
 * transaction-scoped advisory lock on the name (lock_name), so that two nodes cannot both give
 * out the next version of one name (a re-created name continues after its deletion's version).
 *
 * Other nodes learn of changes through NOTIFY on channel "switchboard", sent only once the
 * change has committed: the writer hands its transaction's payloads to the store's announcer
 * thread once its COMMIT returned, and the announcer sends those of every transaction that
 * committed since its previous batch in one transaction of its own (store_pg_announce.c; a
 * NOTIFY inside the change's transaction would hold PostgreSQL's notify lock through the WAL
 * flush and serialise every commit): "auth" after a
 * change to API keys, users or groups, "conn VERSION NAME" after a connection insert or
 * replace, "del VERSION NAME" after a delete. The node that wrote the change hears it too; it
 * tells its own by the sending session's PID (PGnotify.be_pid, store_pg_own_pid) and does not
 * read those back, since its writer publishes them itself (src/sync/sync.c).
 *
 * Round trips: inside a transaction, a statement whose result nobody waits for (BEGIN,
 * SAVEPOINT, RELEASE, the advisory lock, a write whose row count is not read: history,
 * audit) is deferred and sent with the next one that is waited for, in one libpq pipeline
 * (libpq >= 14). The master key check is deferred too (pg_expect: a statement that fails when the
 * value differs), and the insert gives out the next version itself. A statement whose rows are
 * wanted can be deferred as well (exec_later): its rows are handed over once the pipeline that
 * carried it succeeded, and a statement written to fail (division by zero) where it would have
 * returned no row fails with its own message. So a connection create in a route's write is one
 * round trip: [BEGIN, key check, SAVEPOINT, lock, insert, history, RELEASE, audit, COMMIT]
 * (store_conn_insert_later: a taken name fails the insert, and so the COMMIT behind it); its
 * announcement is the announcer's. A deferred statement's failure fails the statement it
 * travels with (and so the transaction), named as its own. The writes of the statement table
 * (and the name's lock) are prepared once per session, in the pipeline that first runs them,
 * and then run by name: PostgreSQL parses, analyses and plans them once per session instead of
 * on every run (reads keep the plan made for their values).
 *
 * Outages: before a statement outside a transaction, a connection found dead (or known lost) is
 * reset once (PQreset); a read, or the BEGIN of a transaction, that loses its connection is
 * retried once on a fresh one. A connection lost inside a transaction fails the transaction:
 * every later statement of it fails at once and the outermost end resets nothing but the state;
 * the next statement reconnects. Unreachable means SB_ERR_UNAVAILABLE, "The store is unreachable
 * right now; try again later." Lock waits are bounded by lock_timeout (SB_STORE_BUSY_TIMEOUT_MS,
 * like SQLite's busy timeout) and end as SB_ERR_UNAVAILABLE too.
 *
 * Messages never carry stored values, nor the URL or its password: libpq's own messages go to
 * the log only, with the password masked, and clients get the SQLSTATE at most.
 *
 * Schema versions: table schema_version holds the number of migrations applied; at open, under
 * a transaction-scoped advisory lock (so that nodes starting together take turns), the missing
 * ones run in one transaction. Migrations are append-only. */
#include <libpq-fe.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "store/store_pg.h"
#include "util/limits.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/utf8.h"

#define PG_LOCK_MIGRATE 0x5377697463680001LL /* advisory lock key of the schema migration */
#define PG_LOCK_CONN 0x53776368              /* class of the per-name connection locks */
#define PG_CONNECT_TIMEOUT_S "5"
#define PG_MIGRATE_LOCK_TIMEOUT "60s" /* how long a node waits for another's migration */

static const char *const migrations[] = {
    /* 1: the tables of SQLite's migrations 1 to 3 */
    "CREATE TABLE meta (name TEXT COLLATE \"C\" PRIMARY KEY, value TEXT NOT NULL);"
    "CREATE TABLE connections (name TEXT COLLATE \"C\" PRIMARY KEY, type TEXT NOT NULL,"
    "  version BIGINT NOT NULL, definition TEXT NOT NULL);"
    "CREATE TABLE api_keys (seq BIGSERIAL PRIMARY KEY, kind INTEGER NOT NULL,"
    "  id TEXT COLLATE \"C\" NOT NULL, hash BYTEA NOT NULL UNIQUE, record TEXT NOT NULL,"
    "  owner TEXT COLLATE \"C\", UNIQUE (kind, id));"
    "CREATE INDEX api_keys_owner ON api_keys (owner);"
    "CREATE TABLE objects (coll INTEGER NOT NULL, id TEXT COLLATE \"C\" NOT NULL,"
    "  record TEXT NOT NULL, PRIMARY KEY (coll, id));"
    "CREATE TABLE audit (seq BIGSERIAL PRIMARY KEY, ts BIGINT NOT NULL, record TEXT NOT NULL);"
    "CREATE INDEX audit_ts ON audit (ts);"
    "CREATE TABLE conn_history (seq BIGSERIAL PRIMARY KEY, name TEXT COLLATE \"C\" NOT NULL,"
    "  version BIGINT NOT NULL, action TEXT NOT NULL, modified_by TEXT NOT NULL,"
    "  modified_on BIGINT NOT NULL, definition TEXT NOT NULL);"
    "CREATE INDEX conn_history_name ON conn_history (name, version);"
    "CREATE TABLE datasets (project TEXT COLLATE \"C\" NOT NULL, name TEXT COLLATE \"C\" NOT NULL,"
    "  type TEXT NOT NULL, connection TEXT COLLATE \"C\", definition TEXT NOT NULL,"
    "  PRIMARY KEY (project, name));"
    "CREATE INDEX datasets_connection ON datasets (connection);",
};

#define N_MIGRATIONS ((int)(sizeof(migrations) / sizeof(migrations[0])))

/* ---- messages ---- */

/* Copies the first lines of libpq's MSG into OUT on one line, with the URL's password masked. */
void store_pg_masked(const struct pg_store *st, const char *msg, char *out, size_t size)
{
    size_t o = 0;
    size_t plen = st->password ? strlen(st->password) : 0;

    for (const char *m = msg ? msg : ""; *m && o + 4 < size;) {
        if (plen && strncmp(m, st->password, plen) == 0) {
            memcpy(out + o, "***", 3);
            o += 3;
            m += plen;
        } else if (*m == '\n' || *m == '\t') {
            if (m[1] && o > 0 && out[o - 1] != ' ')
                out[o++] = ' ';
            m++;
        } else {
            out[o++] = *m++;
        }
    }
    out[o] = '\0';
}

enum sb_err_kind store_pg_unreachable(struct sb_err *err)
{
    return sb_err_set(err, SB_ERR_UNAVAILABLE,
                      "The store is unreachable right now; try again later.");
}

static void notice_log(void *arg, const char *message)
{
    const struct pg_store *st = arg;
    char line[512];

    store_pg_masked(st, message, line, sizeof(line));
    log_debug("store: PostgreSQL says: %s", line);
}

/* ---- connections ---- */

/* Starts a connection to ST's URL: synchronously (PQconnectdbParams) unless ASYNC
 * (PQconnectStartParams). The URL may override the defaults before it; the client encoding is
 * always UTF-8 (what jansson writes). */
PGconn *store_pg_connect(struct pg_store *st, bool async)
{
    /* the URL (expanded from dbname) overrides what comes before it, not what comes after */
    const char *const keys[] = {
        "connect_timeout",  "keepalives",
        "keepalives_idle",  "keepalives_interval",
        "keepalives_count", "tcp_user_timeout",
        "dbname",           "client_encoding",
        "application_name", NULL,
    };
    /* application_name after the URL: it names this process to the other nodes */
    const char *const values[] = {
        PG_CONNECT_TIMEOUT_S, "1", "30", "10", "3", "30000", st->url, "UTF8", st->node, NULL,
    };
    PGconn *conn =
        async ? PQconnectStartParams(keys, values, 1) : PQconnectdbParams(keys, values, 1);

    if (!conn)
        abort(); /* libpq could not allocate: out of memory */
    PQsetNoticeProcessor(conn, notice_log, st);
    return conn;
}

/* Session settings, after every (re)connection: lock waits end like SQLite's busy timeout. */
bool store_pg_session_setup(struct pg_store *st, PGconn *conn)
{
    char sql[64];
    PGresult *res;
    bool ok;

    snprintf(sql, sizeof(sql), "SET lock_timeout = %d", SB_STORE_BUSY_TIMEOUT_MS);
    res = PQexec(conn, sql);
    ok = PQresultStatus(res) == PGRES_COMMAND_OK;
    if (!ok) {
        char line[512];
        store_pg_masked(st, PQerrorMessage(conn), line, sizeof(line));
        log_warn("store: cannot set up a PostgreSQL session: %s", line);
    }
    PQclear(res);
    if (ok) {
        int pid = PQbackendPID(conn);
        if (!store_pg_own_pid(st, pid))
            atomic_store(&st->own_pids[atomic_fetch_add(&st->own_next, 1) % PG_OWN_PIDS], pid);
    }
    return ok;
}

bool store_pg_own_pid(struct pg_store *st, int pid)
{
    for (int i = 0; i < PG_OWN_PIDS; i++) {
        int p = atomic_load_explicit(&st->own_pids[i], memory_order_relaxed);
        if (p == 0)
            return false;
        if (p == pid)
            return true;
    }
    return false;
}

static void pg_conn_close(struct store_conn *c)
{
    struct handle *h = (struct handle *)c;

    store_pg_pending_drop(h, 0);
    store_pg_notes_drop(h, 0);
    free(h->notes);
    free(h->note_depth);
    PQfinish(h->conn);
    free(h);
}

static struct store_conn *pg_conn_open(struct store *base, struct sb_err *err)
{
    struct pg_store *st = (struct pg_store *)base;
    struct handle *h = xcalloc(1, sizeof(*h));
    char line[512];

    h->st = st;
    h->c.st = &st->base;
    h->conn = store_pg_connect(st, false);
    if (PQstatus(h->conn) != CONNECTION_OK || !store_pg_session_setup(st, h->conn)) {
        store_pg_masked(st, PQerrorMessage(h->conn), line, sizeof(line));
        log_error("store: cannot connect to PostgreSQL: %s", line);
        store_pg_unreachable(err);
        pg_conn_close(&h->c);
        return NULL;
    }
    return &h->c;
}

/* This thread's handle, opened on first use. */
static struct handle *handle_get(struct pg_store *st, struct sb_err *err)
{
    return (struct handle *)store_thread_conn(&st->base, err);
}

/* Declares H for the calling thread or returns ERR's kind. */
#define WITH_HANDLE(h, st, err)                                                                    \
    struct handle *h = handle_get((st), (err));                                                    \
    if (!h)                                                                                        \
        return (err)->kind;

/* store_pg_run() for a statement that changes nothing. */
static PGresult *run_read(struct handle *h, const char *sql, struct params *p, const char *what,
                          struct sb_err *err)
{
    return store_pg_run(h, sql, p, true, what, err);
}

static long affected(const PGresult *res)
{
    const char *n = PQcmdTuples((PGresult *)res);
    return n && *n ? atol(n) : 0;
}

static int64_t value_int(const PGresult *res, int row, int col)
{
    return strtoll(PQgetvalue(res, row, col), NULL, 10);
}

static const char *value_text(const PGresult *res, int row, int col)
{
    return PQgetisnull(res, row, col) ? NULL : PQgetvalue(res, row, col);
}

/* ---- the primitives ---- */

const char *store_pg_row_text(const struct row *r, int col)
{
    return value_text(r->impl, r->index, col);
}

int64_t store_pg_row_integer(const struct row *r, int col)
{
    const char *text = value_text(r->impl, r->index, col);
    return text ? strtoll(text, NULL, 10) : 0;
}

/* A's arguments into P. */
static void params_of(const struct args *a, struct params *p)
{
    for (int i = 0; i < a->n; i++) {
        const struct arg *v = &a->v[i];
        switch (v->type) {
        case ARG_NULL: store_pg_param_text(p, NULL); break;
        case ARG_TEXT: store_pg_param_text(p, v->text); break;
        case ARG_INT: store_pg_param_int(p, v->i); break;
        case ARG_BLOB:
            p->formats[p->n] = 1;
            p->lengths[p->n] = v->len;
            store_pg_param_text(p, v->text);
            break;
        }
    }
}

static enum sb_err_kind pg_exec(struct store_conn *c, enum stmt_id id, const struct args *a,
                                row_fn fn, void *ctx, long *changes, struct sb_err *err)
{
    struct handle *h = (struct handle *)c;
    struct params p = {0};
    struct row r = {store_pg_row_text, store_pg_row_integer, NULL, 0};
    enum sb_err_kind kind = SB_OK;
    PGresult *res;

    params_of(a, &p);
    if (!(store_stmts[id].flags & STMT_READ)) /* (reads keep a plan made for their values) */
        p.stmt = id + 1;
    /* a write inside a transaction whose outcome is only success or failure: sent with the
     * next statement that is waited for (its failure fails that one, and the transaction) */
    if (!fn && !changes && c->tx_depth > 0 && !(store_stmts[id].flags & STMT_READ))
        return store_pg_defer(h, store_stmt_sql(id, DIALECT_PG), &p, false, 0, store_stmts[id].what,
                              err);
    res = store_pg_run(h, store_stmt_sql(id, DIALECT_PG), &p, store_stmts[id].flags & STMT_READ,
                       store_stmts[id].what, err);
    if (!res)
        return err->kind;
    r.impl = res;
    for (; fn && r.index < PQntuples(res) && kind == SB_OK; r.index++)
        kind = fn(ctx, &r, err);
    if (changes)
        *changes = affected(res);
    PQclear(res);
    return kind;
}

/* Defers statement ID (see backend.h, exec_later): its rows go to FN once its pipeline
 * succeeded, its division by zero fails it with KIND, MSG. */
static enum sb_err_kind pg_exec_later(struct store_conn *c, enum stmt_id id, const struct args *a,
                                      row_fn fn, void *ctx, enum sb_err_kind kind, const char *msg,
                                      struct sb_err *err)
{
    struct params p = {0};

    if (c->tx_depth == 0)
        return sb_err_set(err, SB_ERR_INTERNAL,
                          "The store defers statements only in a transaction.");
    params_of(a, &p);
    p.stmt = id + 1;
    return store_pg_defer_rows((struct handle *)c, store_stmt_sql(id, DIALECT_PG), &p,
                               store_stmts[id].what, fn, ctx, kind, msg, err);
}

static void tx_exec(struct handle *h, const char *sql)
{
    struct params p = {0};
    struct sb_err ignored;
    PQclear(store_pg_run(h, sql, &p, false, "roll back", &ignored));
}

static enum sb_err_kind pg_commit(struct handle *h, int level, struct sb_err *err)
{
    struct params p = {0};
    enum sb_err_kind kind = SB_OK;
    char sql[64];
    PGresult *res;

    if (h->tx_broken)
        return store_pg_unreachable(err);
    /* a statement failed and its error was not passed on: COMMIT would roll back */
    if (PQtransactionStatus(h->conn) == PQTRANS_INERROR)
        return sb_err_set(err, SB_ERR_INTERNAL,
                          "The store failed to commit: a statement of the transaction failed.");
    if (level > 0) {                        /* sent with the next statement */
        for (int i = 0; i < h->nnotes; i++) /* the savepoint's announcements join its parent */
            if (h->note_depth[i] > level)
                h->note_depth[i] = level;
        snprintf(sql, sizeof(sql), "RELEASE SAVEPOINT sp%d", level);
        return store_pg_defer(h, sql, &p, false, 0, "commit", err);
    }
    if (store_pg_tx_untouched(h)) { /* nothing ran (but checks): nothing to commit */
        store_pg_pending_drop(h, 0);
        return SB_OK;
    }
    snprintf(sql, sizeof(sql), "COMMIT");
    res = store_pg_run(h, sql, &p, false, "commit", err);
    if (!res)
        return err->kind;
    if (level == 0 && strcmp(PQcmdStatus(res), "COMMIT") != 0)
        kind = sb_err_set(err, SB_ERR_INTERNAL,
                          "The store failed to commit: the transaction was aborted.");
    PQclear(res);
    return kind;
}

static enum sb_err_kind pg_tx(struct store_conn *c, enum tx_op op, int level, struct sb_err *err)
{
    struct handle *h = (struct handle *)c;
    struct params p = {0};
    enum sb_err_kind kind = SB_OK;
    char sql[64];

    switch (op) {
    case TX_BEGIN:
        if (level == 0)
            snprintf(sql, sizeof(sql), "BEGIN ISOLATION LEVEL READ COMMITTED");
        else
            snprintf(sql, sizeof(sql), "SAVEPOINT sp%d", level);
        /* sent with the transaction's first statement that is waited for (store_pg_run() resets a
         * dead connection first, and runs it again if it is lost before anything happened) */
        return store_pg_defer(h, sql, &p, level == 0, level, "start a transaction", err);
    case TX_COMMIT: kind = pg_commit(h, level, err); break;
    case TX_ROLLBACK:
        if (h->tx_broken)
            break;
        if (level == 0) {
            bool unsent = store_pg_tx_unsent(h);
            store_pg_pending_drop(h, 0); /* what has not reached the server yet ends here */
            if (!unsent)
                tx_exec(h, "ROLLBACK");
        } else {
            store_pg_notes_drop(h, level);
            if (h->sp_unmade && level >= h->sp_unmade) { /* nothing to roll back to */
                store_pg_pending_drop(h, 0);
                if (level == h->sp_unmade)
                    h->sp_unmade = 0;
                goto done;
            }
            /* the savepoint itself not yet sent: forget it and what followed it */
            for (int i = 0; i < h->npend; i++)
                if (h->pend[i]->level == level) {
                    store_pg_pending_drop(h, i);
                    goto done;
                }
            store_pg_pending_drop(h, 0); /* all of it came after the savepoint */
            snprintf(sql, sizeof(sql), "ROLLBACK TO SAVEPOINT sp%d", level);
            tx_exec(h, sql);
            snprintf(sql, sizeof(sql), "RELEASE SAVEPOINT sp%d", level);
            tx_exec(h, sql);
        }
    done:
        break;
    }
    /* the transaction is over either way (needs_reset stays: the next statement reconnects) */
    if (level == 0 && (op == TX_ROLLBACK || kind == SB_OK))
        h->tx_broken = false;
    if (level == 0 && op == TX_COMMIT && kind == SB_OK) {
        store_pg_announce_post(h->st, h->notes, h->nnotes); /* committed: the announcer's now */
        h->nnotes = 0;
    }
    if (level == 0 && op != TX_BEGIN) {
        store_pg_notes_drop(h, 0);
        h->sp_unmade = 0;
    } /* handed to the announcer after the COMMIT, or forgotten with the transaction */
    return kind;
}

/* Serialises the writes to connection NAME across nodes until the transaction ends. */
static enum sb_err_kind pg_lock_name(struct store_conn *c, const char *name, struct sb_err *err)
{
    struct params p = {0};
    PGresult *res;

    store_pg_param_int(&p, PG_LOCK_CONN);
    store_pg_param_text(&p, name);
    p.stmt = PG_STMT_LOCK + 1;
    if (c->tx_depth > 0) /* held until the transaction ends: sent with the next statement */
        return store_pg_defer((struct handle *)c,
                              "SELECT pg_advisory_xact_lock($1::integer, hashtext($2))", &p, false,
                              0, "lock the connection", err);
    res =
        store_pg_run((struct handle *)c, "SELECT pg_advisory_xact_lock($1::integer, hashtext($2))",
                     &p, false, "lock the connection", err);
    PQclear(res);
    return res ? SB_OK : err->kind;
}

/* Announces PAYLOAD to the other nodes once the transaction commits (at once outside one: the
 * change has committed); the announcer sends it (store_pg_announce.c). */
static enum sb_err_kind pg_announce(struct store_conn *c, const char *payload, struct sb_err *err)
{
    struct handle *h = (struct handle *)c;
    char *copy;

    if (h->tx_broken)
        return store_pg_unreachable(err);
    if (!utf8_valid(payload)) /* as store_pg_run() does with such a parameter: not sent */
        return SB_OK;
    copy = xstrdup(payload);
    if (c->tx_depth == 0) {
        store_pg_announce_post(h->st, &copy, 1);
        return SB_OK;
    }
    if (h->nnotes == h->notes_cap) {
        h->notes_cap = h->notes_cap ? 2 * h->notes_cap : 4;
        h->notes = xrealloc(h->notes, (size_t)h->notes_cap * sizeof(*h->notes));
        h->note_depth = xrealloc(h->note_depth, (size_t)h->notes_cap * sizeof(*h->note_depth));
    }
    h->notes[h->nnotes] = copy;
    h->note_depth[h->nnotes++] = c->tx_depth;
    return SB_OK;
}

/* Defers the check that NAME is set to VALUE (ST_META_EXPECT), holding it (see backend.h). */
static enum sb_err_kind pg_expect(struct store_conn *c, const char *name, const char *value,
                                  const char *mismatch, struct sb_err *err)
{
    struct params p = {0};

    store_pg_param_text(&p, name);
    store_pg_param_text(&p, value);
    p.stmt = ST_META_EXPECT + 1;
    return store_pg_defer_check((struct handle *)c, store_stmt_sql(ST_META_EXPECT, DIALECT_PG), &p,
                                store_stmts[ST_META_EXPECT].what, mismatch, err);
}

/* ---- open, migrate, close ---- */

static enum sb_err_kind migrate(struct handle *h, struct sb_err *err)
{
    struct params p = {0};
    struct sb_err ignored;
    PGresult *res;
    int version = 0;
    bool fresh;
    char sql[96];

    if (pg_tx(&h->c, TX_BEGIN, 0, err) != SB_OK)
        return err->kind;
    h->c.tx_depth = 1;
    snprintf(sql, sizeof(sql), "SET LOCAL lock_timeout = '%s'", PG_MIGRATE_LOCK_TIMEOUT);
    res = store_pg_run(h, sql, &p, false, "start the schema migration", err);
    if (!res)
        goto fail;
    PQclear(res);
    store_pg_param_int(&p, PG_LOCK_MIGRATE);
    res = store_pg_run(h, "SELECT pg_advisory_xact_lock($1)", &p, false,
                       "lock the schema migration", err);
    if (!res)
        goto fail;
    PQclear(res);
    res = store_pg_run(h, "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)",
                       &p, false, "create the schema version table", err);
    if (!res)
        goto fail;
    PQclear(res);
    res = store_pg_run(h, "SELECT version FROM schema_version", &p, false,
                       "read the schema version", err);
    if (!res)
        goto fail;
    fresh = PQntuples(res) == 0;
    if (!fresh)
        version = (int)value_int(res, 0, 0);
    PQclear(res);
    if (version > N_MIGRATIONS) {
        sb_err_set(err, SB_ERR_INTERNAL,
                   "The PostgreSQL store has schema version %d, newer than this Switchboard "
                   "knows (%d); run a newer Switchboard.",
                   version, N_MIGRATIONS);
        goto fail;
    }
    for (int v = version; v < N_MIGRATIONS; v++) {
        /* constant SQL of several statements: the simple query protocol */
        res = PQexec(h->conn, migrations[v]);
        if (PQresultStatus(res) != PGRES_COMMAND_OK) {
            if (store_pg_is_lost(h->conn, res)) {
                h->needs_reset = h->tx_broken = true;
                store_pg_unreachable(err);
            } else {
                store_pg_fail(h, res, "apply a schema migration", err);
            }
            PQclear(res);
            goto fail;
        }
        PQclear(res);
        log_info("store: schema migrated to version %d", v + 1);
    }
    if (version < N_MIGRATIONS) {
        store_pg_param_int(&p, N_MIGRATIONS);
        res = store_pg_run(h,
                           fresh ? "INSERT INTO schema_version (version) VALUES ($1)"
                                 : "UPDATE schema_version SET version = $1",
                           &p, false, "record the schema version", err);
        if (!res)
            goto fail;
        PQclear(res);
    }
    if (pg_tx(&h->c, TX_COMMIT, 0, err) == SB_OK) {
        h->c.tx_depth = 0;
        return SB_OK;
    }
fail:
    pg_tx(&h->c, TX_ROLLBACK, 0, &ignored);
    h->c.tx_depth = 0;
    return err->kind;
}

static void pg_close(struct store *base)
{
    struct pg_store *st = (struct pg_store *)base;
    if (!st)
        return;
    store_pg_announce_stop(st); /* (first: it sends what the last writes announced) */
    store_base_close(&st->base);
    if (st->listen.conn)
        PQfinish(st->listen.conn);
    pthread_mutex_destroy(&st->listen.lock);
    free(st->url);
    free(st->password);
    free(st);
}

static long long pg_size_bytes(struct store *base)
{
    struct pg_store *st = (struct pg_store *)base;
    struct params p = {0};
    struct sb_err err;
    struct handle *h = handle_get(st, &err);
    PGresult *res;
    long long size;

    if (!h)
        return 0;
    res = run_read(h, "SELECT pg_database_size(current_database())", &p, "measure the database",
                   &err);
    if (!res)
        return 0;
    size = PQntuples(res) == 1 ? value_int(res, 0, 0) : 0;
    PQclear(res);
    return size;
}

/* "switchboard/HOST/PID": what this process's sessions call themselves (application_name),
 * so that each node can count the others by their sessions (store_other_nodes). */
static void node_name(char *out, size_t size)
{
    char host[64] = "?";

    gethostname(host, sizeof(host) - 1);
    snprintf(out, size, "%s%.40s/%d", PG_NODE_PREFIX, host, (int)getpid());
}

static enum sb_err_kind pg_other_nodes(struct store *base, int *count, struct sb_err *err)
{
    struct pg_store *st = (struct pg_store *)base;
    struct handle *h = handle_get(st, err);
    struct params p = {0};
    PGresult *res;

    if (!h)
        return err->kind;
    store_pg_param_text(&p, PG_NODE_PREFIX "%");
    store_pg_param_text(&p, st->node);
    res = store_pg_run(h,
                       "SELECT COUNT(DISTINCT application_name) FROM pg_stat_activity"
                       " WHERE datname = current_database() AND application_name LIKE $1"
                       " AND application_name <> $2",
                       &p, true, "list the nodes of the store", err);
    if (!res)
        return err->kind;
    *count = (int)value_int(res, 0, 0);
    PQclear(res);
    return SB_OK;
}

static const struct backend_ops pg_ops = {
    .dialect = DIALECT_PG,
    .shared = true,
    .close = pg_close,
    .size_bytes = pg_size_bytes,
    .other_nodes = pg_other_nodes,
    .poll_changes = store_pg_feed_poll,
    /* writers of a name take turns across nodes; announcements and the master key's check travel
     * with the transaction's statements */
    .conn = {.open = pg_conn_open,
             .close = pg_conn_close,
             .exec = pg_exec,
             .exec_later = pg_exec_later,
             .tx = pg_tx,
             .lock_name = pg_lock_name,
             .announce = pg_announce,
             .expect = pg_expect},
};

struct store *store_pg_open(const char *url, struct sb_err *err)
{
    struct pg_store *st;
    PQconninfoOption *opts;
    char *perr = NULL;
    struct handle *h;

    /* parsed here so that a malformed URL is refused before libpq can quote it in a message */
    opts = PQconninfoParse(url, &perr);
    if (!opts) {
        PQfreemem(perr);
        sb_err_set(err, SB_ERR_INTERNAL,
                   "The store URL is not a valid PostgreSQL connection URI "
                   "(postgresql://user:password@host:port/database).");
        return NULL;
    }
    st = xcalloc(1, sizeof(*st));
    for (PQconninfoOption *o = opts; o->keyword; o++)
        if (strcmp(o->keyword, "password") == 0 && o->val && *o->val)
            st->password = xstrdup(o->val);
    PQconninfoFree(opts);
    store_base_init(&st->base, &pg_ops);
    st->url = xstrdup(url);
    node_name(st->node, sizeof(st->node));
    pthread_mutex_init(&st->listen.lock, NULL);
    h = handle_get(st, err);
    if (!h || migrate(h, err) != SB_OK) {
        pg_close(&st->base);
        return NULL;
    }
    store_pg_announce_start(st);
    store_pg_feed_start(st);
    return &st->base;
}
