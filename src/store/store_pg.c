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
 * feeds store_pg_poll_notifications.
 *
 * Transactions nest as in SQLite: the outermost is BEGIN (READ COMMITTED), inner ones are
 * savepoints, and every function of several statements is atomic alone and composes inside
 * store_tx_begin/commit. READ COMMITTED is enough because every check that matters is made by
 * the write itself: INSERT ... ON CONFLICT DO NOTHING and UPDATE ... WHERE version = $expected
 * report zero rows when another node got there first. Connection writes also take a
 * transaction-scoped advisory lock on the name, so that two nodes cannot both give out the next
 * version of one name (a re-created name continues after its deletion's version).
 *
 * Other nodes learn of changes through NOTIFY on channel "switchboard", sent inside the
 * transaction of the change and so delivered only if it commits: "auth" after a change to API
 * keys, users or groups, "conn VERSION NAME" after a connection insert or replace, "del VERSION
 * NAME" after a delete. Single-statement writes carry the NOTIFY in the same statement (WITH w
 * AS (write RETURNING 1) SELECT pg_notify(...) FROM w), so they stay one round trip.
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

#include "store/store.h"
#include "util/limits.h"
#include "util/log.h"
#include "util/mem.h"

/* Waits up to TIMEOUT_MS (negative: no limit) for changes announced by other nodes (and this
 * one) and reports each: ON_CONN for a connection written at VERSION (DELETED: deleted),
 * ON_AUTH after a change to keys, users or groups (the auth generation has moved), ON_RESET
 * when the feed was lost and is back (reload everything). SB_ERR_UNAVAILABLE while the feed is
 * down; it reconnects with a backoff of at most PG_LISTEN_BACKOFF_MAX_MS across calls. Call from
 * one thread. */
enum sb_err_kind store_pg_poll_notifications(
    struct store *st, void (*on_conn)(void *ctx, const char *name, int64_t version, bool deleted),
    void (*on_auth)(void *ctx), void (*on_reset)(void *ctx), void *ctx, int timeout_ms,
    struct sb_err *err);

#define PG_CHANNEL "switchboard"
#define PG_LOCK_MIGRATE 0x5377697463680001LL /* advisory lock key of the schema migration */
#define PG_LOCK_CONN 0x53776368              /* class of the per-name connection locks */
#define PG_MAX_PARAMS 8
#define PG_CONNECT_TIMEOUT_S "5"
#define PG_LISTEN_CONNECT_MS 10000    /* a listener connection attempt gives up after this */
#define PG_LISTEN_BACKOFF_MIN_MS 250  /* first wait before reconnecting the listener */
#define PG_LISTEN_BACKOFF_MAX_MS 4000 /* longest wait between listener reconnections */
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

struct handle {
    struct pg_store *st;
    PGconn *conn;
    int tx_depth;     /* 0: autocommit; 1: in BEGIN; more: nested SAVEPOINTs */
    bool tx_broken;   /* the connection was lost inside the open transaction */
    bool needs_reset; /* the connection was lost: reset it before the next statement */
    bool auth_dirty;  /* the open transaction wrote keys, users or groups */
    bool down;        /* the last reconnection failed (log the next success) */
    struct handle *prev, *next;
};

/* The connection that LISTENs, and its reconnection state. */
struct listener {
    pthread_mutex_t lock;
    PGconn *conn;        /* NULL while down */
    bool up;             /* conn is connected and listening; else a connection attempt */
    bool missed;         /* notifications may have been missed: call on_reset once up */
    int64_t attempt_end; /* monotonic ms: the current connection attempt gives up then */
    int64_t next_try;    /* monotonic ms: no attempt before */
    int backoff_ms;
};

struct pg_store {
    struct store base; /* first: a struct store * is a struct pg_store * */
    char *url;
    char *password;                /* as parsed from the URL (for masking), or NULL */
    atomic_ullong auth_generation; /* bumped after every committed change to principals */
    pthread_key_t tls;
    pthread_mutex_t lock; /* guards the handle list */
    struct handle *handles;
    struct listener listen;
};

/* The parameters of one statement. Text values are copied only when owned. */
struct params {
    int n;
    const char *values[PG_MAX_PARAMS];
    int lengths[PG_MAX_PARAMS];
    int formats[PG_MAX_PARAMS];
    char *owned[PG_MAX_PARAMS]; /* freed by params_free */
    char ints[PG_MAX_PARAMS][24];
};

/* ---- parameters ---- */

static void p_text(struct params *p, const char *text)
{
    /* internal: no statement here has more parameters than the array holds */
    if (p->n >= PG_MAX_PARAMS)
        abort();
    p->values[p->n] = text; /* NULL is SQL NULL */
    p->n++;
}

static void p_int(struct params *p, int64_t v)
{
    if (p->n >= PG_MAX_PARAMS)
        abort();
    snprintf(p->ints[p->n], sizeof(p->ints[p->n]), "%lld", (long long)v);
    p->values[p->n] = p->ints[p->n];
    p->n++;
}

/* The compact JSON text of V, as SQLite's store writes it. */
static void p_json(struct params *p, const json_t *v)
{
    char *text = xcheck(json_dumps(v, JSON_COMPACT));
    p->owned[p->n] = text;
    p_text(p, text);
}

static void p_owned(struct params *p, char *text)
{
    p->owned[p->n] = text;
    p_text(p, text);
}

static void p_bytes(struct params *p, const uint8_t *bytes, int len)
{
    p->formats[p->n] = 1;
    p->lengths[p->n] = len;
    p_text(p, (const char *)bytes);
}

/* Frees P's owned values and empties it for the next statement. */
static void params_free(struct params *p)
{
    for (int i = 0; i < PG_MAX_PARAMS; i++)
        free(p->owned[i]);
    memset(p, 0, sizeof(*p));
}

/* Whether S is valid UTF-8 (the only text a UTF8 database accepts). */
static bool utf8_valid(const unsigned char *s)
{
    while (*s) {
        int extra;
        unsigned min, cp;

        if (*s < 0x80) {
            s++;
            continue;
        }
        if ((*s & 0xe0) == 0xc0) {
            extra = 1;
            min = 0x80;
            cp = *s & 0x1f;
        } else if ((*s & 0xf0) == 0xe0) {
            extra = 2;
            min = 0x800;
            cp = *s & 0x0f;
        } else if ((*s & 0xf8) == 0xf0) {
            extra = 3;
            min = 0x10000;
            cp = *s & 0x07;
        } else {
            return false;
        }
        s++;
        for (int i = 0; i < extra; i++, s++) {
            if ((*s & 0xc0) != 0x80)
                return false;
            cp = (cp << 6) | (*s & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return false;
    }
    return true;
}

static bool params_utf8(const struct params *p)
{
    for (int i = 0; i < p->n; i++)
        if (p->formats[i] == 0 && p->values[i] && !utf8_valid((const unsigned char *)p->values[i]))
            return false;
    return true;
}

/* ---- time ---- */

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- messages ---- */

/* Copies the first lines of libpq's MSG into OUT on one line, with the URL's password masked. */
static void masked(const struct pg_store *st, const char *msg, char *out, size_t size)
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

static enum sb_err_kind unreachable(struct sb_err *err)
{
    return sb_err_set(err, SB_ERR_UNAVAILABLE,
                      "The store is unreachable right now; try again later.");
}

static void notice_log(void *arg, const char *message)
{
    const struct pg_store *st = arg;
    char line[512];

    masked(st, message, line, sizeof(line));
    log_debug("store: PostgreSQL says: %s", line);
}

/* Whether RES (NULL when libpq could not even build one) means that the connection is gone. */
static bool is_lost(PGconn *conn, const PGresult *res)
{
    const char *state;

    if (!res || PQstatus(conn) == CONNECTION_BAD)
        return true;
    if (PQresultStatus(res) != PGRES_FATAL_ERROR)
        return false;
    state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
    return !state || strncmp(state, "08", 2) == 0 || strcmp(state, "57P01") == 0 ||
           strcmp(state, "57P02") == 0 || strcmp(state, "57P03") == 0;
}

/* Maps a failed statement (not a lost connection) to an error kind and a message that names
 * the operation and the SQLSTATE only. */
static enum sb_err_kind db_fail(struct handle *h, const PGresult *res, const char *what,
                                struct sb_err *err)
{
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    const char *primary = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    char line[512];

    state = state ? state : "?????";
    masked(h->st, primary ? primary : PQerrorMessage(h->conn), line, sizeof(line));
    log_error("store: %s failed: %s (SQLSTATE %s)", what, line, state);
    if (strcmp(state, "23505") == 0)
        return sb_err_set(err, SB_ERR_CONFLICT, "The store cannot %s: it already exists.", what);
    if (strncmp(state, "40", 2) == 0 || strncmp(state, "53", 2) == 0 ||
        strncmp(state, "58", 2) == 0 || strcmp(state, "55P03") == 0 ||
        strcmp(state, "57014") == 0 || strcmp(state, "25006") == 0)
        return sb_err_set(err, SB_ERR_UNAVAILABLE,
                          "The store cannot %s right now (SQLSTATE %s); try again later.", what,
                          state);
    return sb_err_set(err, SB_ERR_INTERNAL, "The store failed to %s (SQLSTATE %s).", what, state);
}

/* ---- connections ---- */

/* Starts a connection to ST's URL: synchronously (PQconnectdbParams) unless ASYNC
 * (PQconnectStartParams). The URL may override the defaults before it; the client encoding is
 * always UTF-8 (what jansson writes). */
static PGconn *pg_connect(struct pg_store *st, bool async)
{
    /* the URL (expanded from dbname) overrides what comes before it, not what comes after */
    const char *const keys[] = {
        "connect_timeout",     "application_name",
        "keepalives",          "keepalives_idle",
        "keepalives_interval", "keepalives_count",
        "tcp_user_timeout",    "dbname",
        "client_encoding",     NULL,
    };
    const char *const values[] = {
        PG_CONNECT_TIMEOUT_S, "switchboard", "1", "30", "10", "3", "30000", st->url, "UTF8", NULL,
    };
    PGconn *conn =
        async ? PQconnectStartParams(keys, values, 1) : PQconnectdbParams(keys, values, 1);

    if (!conn)
        abort(); /* libpq could not allocate: out of memory */
    PQsetNoticeProcessor(conn, notice_log, st);
    return conn;
}

/* Session settings, after every (re)connection: lock waits end like SQLite's busy timeout. */
static bool session_setup(struct pg_store *st, PGconn *conn)
{
    char sql[64];
    PGresult *res;
    bool ok;

    snprintf(sql, sizeof(sql), "SET lock_timeout = %d", SB_STORE_BUSY_TIMEOUT_MS);
    res = PQexec(conn, sql);
    ok = PQresultStatus(res) == PGRES_COMMAND_OK;
    if (!ok) {
        char line[512];
        masked(st, PQerrorMessage(conn), line, sizeof(line));
        log_warn("store: cannot set up a PostgreSQL session: %s", line);
    }
    PQclear(res);
    return ok;
}

static void handle_free(struct handle *h)
{
    PQfinish(h->conn);
    free(h);
}

static void handle_unlink(struct handle *h)
{
    struct pg_store *st = h->st;

    pthread_mutex_lock(&st->lock);
    if (h->prev)
        h->prev->next = h->next;
    else
        st->handles = h->next;
    if (h->next)
        h->next->prev = h->prev;
    pthread_mutex_unlock(&st->lock);
}

static void handle_thread_exit(void *arg)
{
    struct handle *h = arg;
    handle_unlink(h);
    handle_free(h);
}

static struct handle *handle_open(struct pg_store *st, struct sb_err *err)
{
    struct handle *h = xcalloc(1, sizeof(*h));
    char line[512];

    h->st = st;
    h->conn = pg_connect(st, false);
    if (PQstatus(h->conn) != CONNECTION_OK || !session_setup(st, h->conn)) {
        masked(st, PQerrorMessage(h->conn), line, sizeof(line));
        log_error("store: cannot connect to PostgreSQL: %s", line);
        unreachable(err);
        handle_free(h);
        return NULL;
    }
    pthread_mutex_lock(&st->lock);
    h->next = st->handles;
    if (st->handles)
        st->handles->prev = h;
    st->handles = h;
    pthread_mutex_unlock(&st->lock);
    return h;
}

/* This thread's handle, connected on first use. */
static struct handle *handle_get(struct pg_store *st, struct sb_err *err)
{
    struct handle *h = pthread_getspecific(st->tls);

    if (h)
        return h;
    h = handle_open(st, err);
    if (h)
        pthread_setspecific(st->tls, h);
    return h;
}

/* Declares H for the calling thread or returns ERR's kind. */
#define WITH_HANDLE(h, st, err)                                                                    \
    struct handle *h = handle_get((st), (err));                                                    \
    if (!h)                                                                                        \
        return (err)->kind;

/* Reconnects H; false (logged once per outage) when the server cannot be reached. */
static bool handle_reset(struct handle *h)
{
    char line[512];

    h->needs_reset = false;
    PQreset(h->conn);
    if (PQstatus(h->conn) == CONNECTION_OK && session_setup(h->st, h->conn)) {
        if (h->down)
            log_info("store: reconnected to PostgreSQL");
        h->down = false;
        return true;
    }
    h->needs_reset = true;
    if (!h->down) {
        masked(h->st, PQerrorMessage(h->conn), line, sizeof(line));
        log_warn("store: cannot reconnect to PostgreSQL: %s", line);
    }
    h->down = true;
    return false;
}

/* Whether H's idle connection still stands: reads what the server may have sent meanwhile (a
 * shutdown notice, the end of the stream) without blocking. */
static bool handle_alive(struct handle *h)
{
    return !h->needs_reset && PQstatus(h->conn) == CONNECTION_OK && PQconsumeInput(h->conn) &&
           PQstatus(h->conn) == CONNECTION_OK && PQtransactionStatus(h->conn) == PQTRANS_IDLE;
}

/* Runs SQL with P on H and returns its result (caller PQclears), or NULL with ERR set; frees
 * P's owned values either way. Outside a transaction, a dead connection is reset first; RETRY
 * (for a statement that changes nothing: a read or a BEGIN) runs it again once on a fresh
 * connection when the connection is lost under it. Parameters that are not valid UTF-8 cannot
 * match anything stored: the statement is not sent and the result has no rows. */
static PGresult *run(struct handle *h, const char *sql, struct params *p, bool retry,
                     const char *what, struct sb_err *err)
{
    PGresult *res = NULL;
    bool reset_done = false;

    if (h->tx_broken)
        goto lost;
    if (!params_utf8(p)) {
        params_free(p);
        return xcheck(PQmakeEmptyPGresult(h->conn, PGRES_TUPLES_OK));
    }
    if (h->tx_depth == 0 && !handle_alive(h)) {
        reset_done = true;
        if (!handle_reset(h))
            goto lost;
    }
    for (;;) {
        res = PQexecParams(h->conn, sql, p->n, NULL, p->values, p->lengths, p->formats, 0);
        if (res &&
            (PQresultStatus(res) == PGRES_COMMAND_OK || PQresultStatus(res) == PGRES_TUPLES_OK)) {
            params_free(p);
            return res;
        }
        if (!is_lost(h->conn, res)) {
            db_fail(h, res, what, err);
            PQclear(res);
            params_free(p);
            return NULL;
        }
        PQclear(res);
        h->needs_reset = true;
        if (h->tx_depth > 0) {
            log_warn("store: lost the connection to PostgreSQL inside a transaction (%s)", what);
            h->tx_broken = true;
            break;
        }
        if (!retry || reset_done)
            break;
        reset_done = true;
        if (!handle_reset(h))
            break;
    }
lost:
    params_free(p);
    unreachable(err);
    return NULL;
}

/* run() for a statement that changes nothing. */
static PGresult *run_read(struct handle *h, const char *sql, struct params *p, const char *what,
                          struct sb_err *err)
{
    return run(h, sql, p, true, what, err);
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

/* Parses column COL of ROW as JSON into a new reference. */
static enum sb_err_kind value_json(const PGresult *res, int row, int col, json_t **out,
                                   struct sb_err *err)
{
    const char *text = value_text(res, row, col);
    json_error_t jerr;

    *out = text ? json_loads(text, 0, &jerr) : NULL;
    if (!*out)
        return sb_err_set(err, SB_ERR_INTERNAL, "A stored record is not valid JSON.");
    return SB_OK;
}

/* Collects column 0 of every row of RES (which it clears) as JSON into a new array *OUT. */
static enum sb_err_kind collect_json_rows(PGresult *res, json_t **out, struct sb_err *err)
{
    json_t *all = xcheck(json_array()), *rec;

    for (int i = 0; i < PQntuples(res); i++) {
        if (value_json(res, i, 0, &rec, err) != SB_OK) {
            json_decref(all);
            PQclear(res);
            return err->kind;
        }
        json_array_append_new(all, rec);
    }
    PQclear(res);
    *out = all;
    return SB_OK;
}

/* Runs the read SQL with P and collects column 0 of its rows as JSON. */
static enum sb_err_kind read_json_rows(struct handle *h, const char *sql, struct params *p,
                                       const char *what, json_t **out, struct sb_err *err)
{
    PGresult *res = run_read(h, sql, p, what, err);
    return res ? collect_json_rows(res, out, err) : err->kind;
}

/* Runs the read SQL with P and parses column 0 of its first row as JSON into *OUT; *FOUND
 * tells whether there was a row. */
static enum sb_err_kind read_json_row(struct handle *h, const char *sql, struct params *p,
                                      const char *what, json_t **out, bool *found,
                                      struct sb_err *err)
{
    PGresult *res = run_read(h, sql, p, what, err);
    enum sb_err_kind kind = SB_OK;

    *found = false;
    if (!res)
        return err->kind;
    if (PQntuples(res) > 0) {
        *found = true;
        kind = value_json(res, 0, 0, out, err);
    }
    PQclear(res);
    return kind;
}

/* Runs the write SQL with P and sets *ROWS to the rows it changed. With NOTIFY, the same
 * statement announces it on the channel when it changed any: SQL then may not have a RETURNING
 * clause of its own. */
static enum sb_err_kind write_rows(struct handle *h, const char *sql, struct params *p,
                                   const char *notify, const char *what, long *rows,
                                   struct sb_err *err)
{
    char wrapped[1024];
    PGresult *res;

    if (notify) {
        snprintf(wrapped, sizeof(wrapped),
                 "WITH w AS (%s RETURNING 1) SELECT pg_notify('" PG_CHANNEL "', $%d) FROM w", sql,
                 p->n + 1);
        p_text(p, notify);
        sql = wrapped;
    }
    res = run(h, sql, p, false, what, err);
    if (!res)
        return err->kind;
    *rows = notify ? PQntuples(res) : affected(res);
    PQclear(res);
    return SB_OK;
}

/* Sends PAYLOAD on the channel, delivered when the transaction commits. */
static enum sb_err_kind notify(struct handle *h, const char *payload, struct sb_err *err)
{
    struct params p = {0};
    PGresult *res;

    p_text(&p, payload);
    res = run(h, "SELECT pg_notify('" PG_CHANNEL "', $1)", &p, false, "announce a change", err);
    PQclear(res);
    return res ? SB_OK : err->kind;
}

/* "conn VERSION NAME" or "del VERSION NAME"; caller frees. */
static char *conn_payload(const char *verb, int64_t version, const char *name)
{
    size_t n = strlen(verb) + strlen(name) + 32;
    char *s = xmalloc(n);
    snprintf(s, n, "%s %lld %s", verb, (long long)version, name);
    return s;
}

/* Records that H changed principals: now when in autocommit (the statement has committed),
 * else when the outermost transaction ends. Readers sample the generation before reading, so a
 * bump after the commit can only make them distrust what they read. */
static void mark_auth_dirty(struct handle *h)
{
    if (h->tx_depth == 0)
        atomic_fetch_add(&h->st->auth_generation, 1);
    else
        h->auth_dirty = true;
}

static uint64_t pg_auth_generation(struct store *base)
{
    struct pg_store *st = (struct pg_store *)base;
    return atomic_load(&st->auth_generation);
}

/* ---- transactions ---- */

/* Transactions nest: the outermost is BEGIN, inner ones are savepoints. Each store function
 * that takes several statements wraps them in tx_begin / tx_end, so that it is atomic alone and
 * also composes inside store_tx_begin/commit. */
static enum sb_err_kind tx_begin(struct handle *h, struct sb_err *err)
{
    struct params p = {0};
    char sql[48];
    PGresult *res;

    if (h->tx_depth == 0)
        snprintf(sql, sizeof(sql), "BEGIN ISOLATION LEVEL READ COMMITTED");
    else
        snprintf(sql, sizeof(sql), "SAVEPOINT sp%d", h->tx_depth);
    /* a BEGIN that lost its connection changed nothing: it may run again */
    res = run(h, sql, &p, h->tx_depth == 0, "start a transaction", err);
    if (!res)
        return err->kind;
    PQclear(res);
    h->tx_depth++;
    return SB_OK;
}

static void tx_exec(struct handle *h, const char *sql)
{
    struct params p = {0};
    struct sb_err ignored;
    PQclear(run(h, sql, &p, false, "roll back", &ignored));
}

/* Commits (or releases) when KIND is SB_OK, rolls back otherwise; returns the final kind. */
static enum sb_err_kind tx_end(struct handle *h, enum sb_err_kind kind, struct sb_err *err)
{
    int level = h->tx_depth - 1; /* the savepoint's number; 0 for the outermost */
    struct params p = {0};
    char sql[64];
    PGresult *res;

    if (kind == SB_OK) {
        if (h->tx_broken) {
            kind = unreachable(err);
        } else if (PQtransactionStatus(h->conn) == PQTRANS_INERROR) {
            /* a statement failed and its error was not passed on: COMMIT would roll back */
            kind = sb_err_set(err, SB_ERR_INTERNAL,
                              "The store failed to commit: a statement of the transaction "
                              "failed.");
        } else {
            if (level == 0)
                snprintf(sql, sizeof(sql), "COMMIT");
            else
                snprintf(sql, sizeof(sql), "RELEASE SAVEPOINT sp%d", level);
            res = run(h, sql, &p, false, "commit", err);
            if (res && level == 0 && strcmp(PQcmdStatus(res), "COMMIT") != 0)
                kind = sb_err_set(err, SB_ERR_INTERNAL,
                                  "The store failed to commit: the transaction was aborted.");
            else if (!res)
                kind = err->kind;
            PQclear(res);
        }
    }
    if (kind != SB_OK && !h->tx_broken) {
        if (level == 0) {
            tx_exec(h, "ROLLBACK");
        } else {
            snprintf(sql, sizeof(sql), "ROLLBACK TO SAVEPOINT sp%d", level);
            tx_exec(h, sql);
            snprintf(sql, sizeof(sql), "RELEASE SAVEPOINT sp%d", level);
            tx_exec(h, sql);
        }
    }
    h->tx_depth = level;
    if (level == 0) {
        h->tx_broken = false; /* needs_reset stays: the next statement reconnects */
        if (h->auth_dirty) {
            h->auth_dirty = false;
            atomic_fetch_add(&h->st->auth_generation, 1);
        }
    }
    return kind;
}

static enum sb_err_kind pg_tx_begin(struct store *base, struct sb_err *err)
{
    struct pg_store *st = (struct pg_store *)base;
    WITH_HANDLE(h, st, err);
    return tx_begin(h, err);
}

static enum sb_err_kind pg_tx_commit(struct store *base, struct sb_err *err)
{
    struct pg_store *st = (struct pg_store *)base;
    WITH_HANDLE(h, st, err);
    if (h->tx_depth == 0)
        return sb_err_set(err, SB_ERR_INTERNAL, "The store has no transaction to commit.");
    return tx_end(h, SB_OK, err);
}

static void pg_tx_rollback(struct store *base)
{
    struct pg_store *st = (struct pg_store *)base;
    struct sb_err err;
    struct handle *h = pthread_getspecific(st->tls);

    if (h && h->tx_depth > 0)
        tx_end(h, SB_ERR_INTERNAL, &err);
}

/* ---- open, migrate, close ---- */

static enum sb_err_kind migrate(struct handle *h, struct sb_err *err)
{
    struct params p = {0};
    PGresult *res;
    int version = 0;
    bool fresh;
    char sql[96];

    if (tx_begin(h, err) != SB_OK)
        return err->kind;
    snprintf(sql, sizeof(sql), "SET LOCAL lock_timeout = '%s'", PG_MIGRATE_LOCK_TIMEOUT);
    res = run(h, sql, &p, false, "start the schema migration", err);
    if (!res)
        goto fail;
    PQclear(res);
    p_int(&p, PG_LOCK_MIGRATE);
    res = run(h, "SELECT pg_advisory_xact_lock($1)", &p, false, "lock the schema migration", err);
    if (!res)
        goto fail;
    PQclear(res);
    res = run(h, "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)", &p, false,
              "create the schema version table", err);
    if (!res)
        goto fail;
    PQclear(res);
    res = run(h, "SELECT version FROM schema_version", &p, false, "read the schema version", err);
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
            if (is_lost(h->conn, res)) {
                h->needs_reset = h->tx_broken = true;
                unreachable(err);
            } else {
                db_fail(h, res, "apply a schema migration", err);
            }
            PQclear(res);
            goto fail;
        }
        PQclear(res);
        log_info("store: schema migrated to version %d", v + 1);
    }
    if (version < N_MIGRATIONS) {
        p_int(&p, N_MIGRATIONS);
        res = run(h,
                  fresh ? "INSERT INTO schema_version (version) VALUES ($1)"
                        : "UPDATE schema_version SET version = $1",
                  &p, false, "record the schema version", err);
        if (!res)
            goto fail;
        PQclear(res);
    }
    return tx_end(h, SB_OK, err);
fail:
    return tx_end(h, err->kind, err);
}

static void pg_close(struct store *base)
{
    struct pg_store *st = (struct pg_store *)base;
    struct handle *h, *next;

    if (!st)
        return;
    pthread_setspecific(st->tls, NULL);
    pthread_key_delete(st->tls);
    for (h = st->handles; h; h = next) {
        next = h->next;
        handle_free(h);
    }
    if (st->listen.conn)
        PQfinish(st->listen.conn);
    pthread_mutex_destroy(&st->lock);
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

/* ---- meta ---- */

static enum sb_err_kind pg_meta_get(struct store *base, const char *name, char **out,
                                    struct sb_err *err)
{
    struct pg_store *st = (struct pg_store *)base;
    WITH_HANDLE(h, st, err);
    struct params p = {0};
    PGresult *res;

    *out = NULL;
    p_text(&p, name);
    res = run_read(h, "SELECT value FROM meta WHERE name = $1", &p, "read a setting", err);
    if (!res)
        return err->kind;
    if (PQntuples(res) > 0)
        *out = xstrdup(PQgetvalue(res, 0, 0));
    PQclear(res);
    return SB_OK;
}

static enum sb_err_kind meta_init(struct handle *h, const char *name, const char *value, long *rows,
                                  struct sb_err *err)
{
    struct params p = {0};

    p_text(&p, name);
    p_text(&p, value);
    return write_rows(h, "INSERT INTO meta (name, value) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                      &p, NULL, "write a setting", rows, err);
}

static enum sb_err_kind pg_meta_init(struct store *base, const char *name, const char *value,
                                     bool *was_set, struct sb_err *err)
{
    struct pg_store *st = (struct pg_store *)base;
    WITH_HANDLE(h, st, err);
    long rows;

    if (meta_init(h, name, value, &rows, err) != SB_OK)
        return err->kind;
    *was_set = rows == 0;
    return SB_OK;
}

static enum sb_err_kind meta_set(struct handle *h, const char *name, const char *value,
                                 struct sb_err *err)
{
    struct params p = {0};
    long rows;

    p_text(&p, name);
    p_text(&p, value);
    return write_rows(h,
                      "INSERT INTO meta (name, value) VALUES ($1, $2)"
                      " ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                      &p, NULL, "write a setting", &rows, err);
}

static enum sb_err_kind pg_meta_set(struct store *base, const char *name, const char *value,
                                    struct sb_err *err)
{
    struct pg_store *st = (struct pg_store *)base;
    WITH_HANDLE(h, st, err);
    return meta_set(h, name, value, err);
}

/* ---- objects ---- */

static bool coll_is_auth(enum store_collection coll)
{
    return coll == STORE_USERS || coll == STORE_GROUPS;
}

static enum sb_err_kind pg_obj_list(struct store *base, enum store_collection coll, json_t **out,
                                    struct sb_err *err)
{
    struct pg_store *st = (struct pg_store *)base;
    WITH_HANDLE(h, st, err);
    struct params p = {0};

    p_int(&p, coll);
    return read_json_rows(h, "SELECT record FROM objects WHERE coll = $1 ORDER BY id", &p,
                          "list records", out, err);
}

static enum sb_err_kind pg_obj_get(struct store *base, enum store_collection coll, const char *id,
                                   json_t **out, struct sb_err *err)
{
    struct pg_store *st = (struct pg_store *)base;
    WITH_HANDLE(h, st, err);
    struct params p = {0};
    bool found;

    p_int(&p, coll);
    p_text(&p, id);
    if (read_json_row(h, "SELECT record FROM objects WHERE coll = $1 AND id = $2", &p,
                      "read a record", out, &found, err) != SB_OK)
        return err->kind;
    if (!found)
        return sb_err_set(err, SB_ERR_NOT_FOUND, "%s '%s' does not exist.", store_collection_noun(coll), id);
    return SB_OK;
}

enum obj_op { OBJ_INSERT, OBJ_UPDATE, OBJ_DELETE };

static const char *obj_sql(enum obj_op op)
{
    switch (op) {
    case OBJ_INSERT:
        return "INSERT INTO objects (coll, id, record) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING";
    case OBJ_UPDATE: return "UPDATE objects SET record = $3 WHERE coll = $1 AND id = $2";
    case OBJ_DELETE: return "DELETE FROM objects WHERE coll = $1 AND id = $2";
    }
    return "";
}

static const char *ds_sql(enum obj_op op)
{
    switch (op) {
    case OBJ_INSERT:
        return "INSERT INTO datasets (project, name, type, connection, definition)"
               " VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING";
    case OBJ_UPDATE:
        return "UPDATE datasets SET type = $3, connection = $4, definition = $5"
               " WHERE project = $1 AND name = $2";
    case OBJ_DELETE: return "DELETE FROM datasets WHERE project = $1 AND name = $2";
    }
    return "";
}

static enum sb_err_kind obj_write(struct handle *h, enum obj_op op, enum store_collection coll,
                                  const char *id, const json_t *rec, struct sb_err *err)
{
    struct params p = {0};
    long rows;

    p_int(&p, coll);
    p_text(&p, id);
    if (rec)
        p_json(&p, rec);
    if (write_rows(h, obj_sql(op), &p, coll_is_auth(coll) ? "auth" : NULL, "save a record", &rows,
                   err) != SB_OK)
        return err->kind;
    if (coll_is_auth(coll))
        mark_auth_dirty(h);
    if (rows == 0)
        return op == OBJ_INSERT ? sb_err_set(err, SB_ERR_CONFLICT, "%s '%s' already exists.",
                                             store_collection_noun(coll), id)
                                : sb_err_set(err, SB_ERR_NOT_FOUND, "%s '%s' does not exist.",
                                             store_collection_noun(coll), id);
    return SB_OK;
}

static enum sb_err_kind pg_obj_insert(struct store *base, enum store_collection coll,
                                      const char *id, const json_t *rec, struct sb_err *err)
{
    struct pg_store *st = (struct pg_store *)base;
    WITH_HANDLE(h, st, err);
    return obj_write(h, OBJ_INSERT, coll, id, rec, err);
}

static enum sb_err_kind pg_obj_update(struct store *base, enum store_collection coll,
                                      const char *id, const json_t *rec, struct sb_err *err)
{
    struct pg_store *st = (struct pg_store *)base;
    WITH_HANDLE(h, st, err);
    return obj_write(h, OBJ_UPDATE, coll, id, rec, err);
}

static enum sb_err_kind pg_obj_delete(struct store *base, enum store_collection coll,
                                      const char *id, struct sb_err *err)
{
    struct pg_store *st = (struct pg_store *)base;
    WITH_HANDLE(h, st, err);
    return obj_write(h, OBJ_DELETE, coll, id, NULL, err);
}

static enum sb_err_kind pg_user_delete(struct store *base, const char *login, struct sb_err *err)
{
    struct pg_store *st = (struct pg_store *)base;
    WITH_HANDLE(h, st, err);
    struct params p = {0};
    enum sb_err_kind kind;
    long rows;

    if (tx_begin(h, err) != SB_OK)
        return err->kind;
    kind = obj_write(h, OBJ_DELETE, STORE_USERS, login, NULL, err);
    if (kind == SB_OK) {
        p_int(&p, STORE_KEY_PERSONAL);
        p_text(&p, login);
        kind = write_rows(h, "DELETE FROM api_keys WHERE kind = $1 AND owner = $2", &p, NULL,
                          "delete the user's API keys", &rows, err);
        mark_auth_dirty(h);
    }
    return tx_end(h, kind, err);
}

/* ---- audit ---- */

/* Appended in autocommit: PostgreSQL makes it as durable as synchronous_commit says. */
static enum sb_err_kind pg_audit_append(struct store *base, const json_t *rec, struct sb_err *err)
{
    struct pg_store *st = (struct pg_store *)base;
    WITH_HANDLE(h, st, err);
    struct params p = {0};
    long rows;

    p_int(&p, json_integer_value(json_object_get(rec, "ts")));
    p_json(&p, rec);
    return write_rows(h, "INSERT INTO audit (ts, record) VALUES ($1, $2)", &p, NULL,
                      "append to the audit trail", &rows, err);
}

static enum sb_err_kind pg_audit_list(struct store *base, int64_t before, int limit, json_t **out,
                                      struct sb_err *err)
{
    struct pg_store *st = (struct pg_store *)base;
    WITH_HANDLE(h, st, err);
    struct params p = {0};

    p_int(&p, before >= 0 ? before : INT64_MAX);
    p_int(&p, limit);
    return read_json_rows(h,
                          "SELECT record FROM audit WHERE ts < $1 ORDER BY ts DESC, seq DESC"
                          " LIMIT $2",
                          &p, "read the audit trail", out, err);
}

/* ---- connections ---- */

static enum sb_err_kind pg_conn_list(struct store *base, json_t **out, struct sb_err *err)
{
    struct pg_store *st = (struct pg_store *)base;
    WITH_HANDLE(h, st, err);
    struct params p = {0};
    PGresult *res;
    json_t *all, *def;

    res = run_read(h, "SELECT name, definition FROM connections ORDER BY name", &p,
                   "list connections", err);
    if (!res)
        return err->kind;
    all = xcheck(json_object());
    for (int i = 0; i < PQntuples(res); i++) {
        if (value_json(res, i, 1, &def, err) != SB_OK) {
            json_decref(all);
            PQclear(res);
            return err->kind;
        }
        json_object_set_new(all, PQgetvalue(res, i, 0), def);
    }
    PQclear(res);
    *out = all;
    return SB_OK;
}

/* usableBy and allowedGroups come out as SQLite's json_extract gives them: a string unquoted,
 * an array as its JSON text, a JSON null as NULL. (The json type, not jsonb: it takes any text
 * jansson wrote, \u0000 included, and hands back the array's text as it was.) */
static enum sb_err_kind pg_conn_scan(struct store *base, store_conn_scan_fn fn, void *ctx,
                                     struct sb_err *err)
{
    struct pg_store *st = (struct pg_store *)base;
    WITH_HANDLE(h, st, err);
    struct params p = {0};
    PGresult *res;

    res = run_read(h,
                   "SELECT name, type, version, definition::json->>'usableBy',"
                   " definition::json->>'allowedGroups', definition FROM connections",
                   &p, "read the connections", err);
    if (!res)
        return err->kind;
    for (int i = 0; i < PQntuples(res); i++)
        fn(ctx, value_text(res, i, 0), value_text(res, i, 1), value_int(res, i, 2),
           value_text(res, i, 3), value_text(res, i, 4), value_text(res, i, 5));
    PQclear(res);
    return SB_OK;
}

static enum sb_err_kind pg_conn_get(struct store *base, const char *name, json_t **out,
                                    struct sb_err *err)
{
    struct pg_store *st = (struct pg_store *)base;
    WITH_HANDLE(h, st, err);
    struct params p = {0};
    bool found;

    p_text(&p, name);
    if (read_json_row(h, "SELECT definition FROM connections WHERE name = $1", &p,
                      "read a connection", out, &found, err) != SB_OK)
        return err->kind;
    if (!found)
        return sb_err_set(err, SB_ERR_NOT_FOUND, "Connection '%s' does not exist.", name);
    return SB_OK;
}

/* Serialises the writes to connection NAME across nodes until the transaction ends. */
static enum sb_err_kind conn_lock(struct handle *h, const char *name, struct sb_err *err)
{
    struct params p = {0};
    PGresult *res;

    p_int(&p, PG_LOCK_CONN);
    p_text(&p, name);
    res = run(h, "SELECT pg_advisory_xact_lock($1::integer, hashtext($2))", &p, false,
              "lock the connection", err);
    PQclear(res);
    return res ? SB_OK : err->kind;
}

/* Appends version VERSION of NAME to the history. */
static enum sb_err_kind history_append(struct handle *h, const char *name, int64_t version,
                                       const char *action, const char *who, int64_t when,
                                       const json_t *def, struct sb_err *err)
{
    struct params p = {0};
    long rows;

    p_text(&p, name);
    p_int(&p, version);
    p_text(&p, action);
    p_text(&p, who);
    p_int(&p, when);
    p_json(&p, def);
    return write_rows(h,
                      "INSERT INTO conn_history (name, version, action, modified_by, modified_on,"
                      " definition) VALUES ($1, $2, $3, $4, $5, $6)",
                      &p, NULL, "record the connection's history", &rows, err);
}

static const char *tag_login(const json_t *def)
{
    const char *who = json_string_value(json_object_get(
        json_object_get(json_object_get(def, "creationTag"), "lastModifiedBy"), "login"));
    return who ? who : "?";
}

static int64_t tag_time(const json_t *def)
{
    return json_integer_value(
        json_object_get(json_object_get(def, "creationTag"), "lastModifiedOn"));
}

static enum sb_err_kind conn_insert(struct handle *h, const char *name, json_t *def,
                                    const char *action, struct sb_err *err)
{
    json_t *tag = json_object_get(def, "creationTag");
    struct params p = {0};
    PGresult *res;
    int64_t version;
    long rows;

    if (conn_lock(h, name, err) != SB_OK)
        return err->kind;
    p_text(&p, name);
    res = run(h, "SELECT COALESCE(MAX(version), 0) + 1 FROM conn_history WHERE name = $1", &p,
              false, "read the connection's history", err);
    if (!res)
        return err->kind;
    version = PQntuples(res) == 1 ? value_int(res, 0, 0) : 1;
    PQclear(res);
    if (json_is_object(tag))
        json_object_set_new(tag, "versionNumber", json_integer(version));

    p_text(&p, name);
    p_text(&p, json_string_value(json_object_get(def, "type")));
    p_int(&p, version);
    p_json(&p, def);
    if (write_rows(h,
                   "INSERT INTO connections (name, type, version, definition)"
                   " VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
                   &p, NULL, "save the connection", &rows, err) != SB_OK)
        return err->kind;
    if (rows == 0)
        return sb_err_set(err, SB_ERR_CONFLICT, "Connection '%s' already exists.", name);
    if (history_append(h, name, version, action, tag_login(def), tag_time(def), def, err) != SB_OK)
        return err->kind;
    char *payload = conn_payload("conn", version, name);
    enum sb_err_kind kind = notify(h, payload, err);
    free(payload);
    return kind;
}

static enum sb_err_kind pg_conn_insert(struct store *base, const char *name, json_t *def,
                                       const char *action, struct sb_err *err)
{
    struct pg_store *st = (struct pg_store *)base;
    WITH_HANDLE(h, st, err);

    if (tx_begin(h, err) != SB_OK)
        return err->kind;
    return tx_end(h, conn_insert(h, name, def, action, err), err);
}

static enum sb_err_kind conn_replace(struct handle *h, const char *name, const json_t *def,
                                     int64_t expected_version, const char *action,
                                     struct sb_err *err)
{
    int64_t version =
        json_integer_value(json_object_get(json_object_get(def, "creationTag"), "versionNumber"));
    struct params p = {0};
    PGresult *res;
    bool exists;
    long rows;

    if (conn_lock(h, name, err) != SB_OK)
        return err->kind;
    p_text(&p, name);
    p_int(&p, expected_version);
    p_int(&p, version);
    p_json(&p, def);
    if (write_rows(h,
                   "UPDATE connections SET version = $3, definition = $4"
                   " WHERE name = $1 AND version = $2",
                   &p, NULL, "save the connection", &rows, err) != SB_OK)
        return err->kind;
    if (rows == 1) {
        if (history_append(h, name, version, action, tag_login(def), tag_time(def), def, err) !=
            SB_OK)
            return err->kind;
        char *payload = conn_payload("conn", version, name);
        enum sb_err_kind kind = notify(h, payload, err);
        free(payload);
        return kind;
    }

    /* nothing matched: gone, or changed since the caller read it */
    p_text(&p, name);
    res = run(h, "SELECT 1 FROM connections WHERE name = $1", &p, false, "read a connection", err);
    if (!res)
        return err->kind;
    exists = PQntuples(res) > 0;
    PQclear(res);
    if (exists)
        return sb_err_set(err, SB_ERR_CONFLICT,
                          "Connection '%s' was changed by someone else while this update was "
                          "being made; read it again and reapply the change.",
                          name);
    return sb_err_set(err, SB_ERR_NOT_FOUND, "Connection '%s' does not exist.", name);
}

static enum sb_err_kind pg_conn_replace(struct store *base, const char *name, const json_t *def,
                                        int64_t expected_version, const char *action,
                                        struct sb_err *err)
{
    struct pg_store *st = (struct pg_store *)base;
    WITH_HANDLE(h, st, err);

    if (tx_begin(h, err) != SB_OK)
        return err->kind;
    return tx_end(h, conn_replace(h, name, def, expected_version, action, err), err);
}

/* Fails with SB_ERR_CONFLICT listing (at most 20 of) the datasets that use NAME. */
static enum sb_err_kind conn_unused(struct handle *h, const char *name, struct sb_err *err)
{
    char list[SB_ERR_MSG_MAX - 512] = "";
    struct params p = {0};
    PGresult *res;
    int64_t count;
    int shown = 0;

    p_text(&p, name);
    res = run(h,
              "SELECT project, name, COUNT(*) OVER () FROM datasets WHERE connection = $1"
              " ORDER BY project, name LIMIT 20",
              &p, false, "count the connection's usages", err);
    if (!res)
        return err->kind;
    count = PQntuples(res) > 0 ? value_int(res, 0, 2) : 0;
    for (int i = 0; i < PQntuples(res); i++) {
        char item[160];
        snprintf(item, sizeof(item), "%s%s.%s", shown ? ", " : "", PQgetvalue(res, i, 0),
                 PQgetvalue(res, i, 1));
        if (strlen(list) + strlen(item) + 1 >= sizeof(list))
            break;
        strcat(list, item);
        shown++;
    }
    PQclear(res);
    if (count == 0)
        return SB_OK;
    if (count > shown)
        return sb_err_set(err, SB_ERR_CONFLICT,
                          "Connection '%s' is used by %lld datasets: %s and %lld more; move them "
                          "to another connection or delete with force=true.",
                          name, (long long)count, list, (long long)(count - shown));
    return sb_err_set(err, SB_ERR_CONFLICT,
                      "Connection '%s' is used by %lld dataset%s: %s; move %s to another "
                      "connection or delete with force=true.",
                      name, (long long)count, count == 1 ? "" : "s", list,
                      count == 1 ? "it" : "them");
}

static enum sb_err_kind conn_delete(struct handle *h, const char *name, bool force, const char *who,
                                    int64_t when_ms, int64_t *deleted_version, struct sb_err *err)
{
    struct params p = {0};
    json_t *def = NULL;
    PGresult *res;
    int64_t version;
    long rows;
    char *payload;

    if (conn_lock(h, name, err) != SB_OK)
        return err->kind;
    p_text(&p, name);
    res = run(h, "SELECT version, definition FROM connections WHERE name = $1", &p, false,
              "read a connection", err);
    if (!res)
        return err->kind;
    if (PQntuples(res) == 0) {
        PQclear(res);
        return sb_err_set(err, SB_ERR_NOT_FOUND, "Connection '%s' does not exist.", name);
    }
    version = value_int(res, 0, 0) + 1;
    if (value_json(res, 0, 1, &def, err) != SB_OK) {
        PQclear(res);
        return err->kind;
    }
    PQclear(res);
    if (!force && conn_unused(h, name, err) != SB_OK)
        goto out;
    p_text(&p, name);
    if (write_rows(h, "DELETE FROM connections WHERE name = $1", &p, NULL, "delete the connection",
                   &rows, err) != SB_OK)
        goto out;
    *deleted_version = version;
    if (history_append(h, name, version, "delete", who, when_ms, def, err) != SB_OK)
        goto out;
    payload = conn_payload("del", version, name);
    notify(h, payload, err);
    free(payload);
out:
    json_decref(def);
    return err->kind;
}

static enum sb_err_kind pg_conn_delete(struct store *base, const char *name, bool force,
                                       const char *who, int64_t when_ms, int64_t *deleted_version,
                                       struct sb_err *err)
{
    struct pg_store *st = (struct pg_store *)base;
    WITH_HANDLE(h, st, err);

    sb_err_clear(err);
    *deleted_version = 0;
    if (tx_begin(h, err) != SB_OK)
        return err->kind;
    return tx_end(h, conn_delete(h, name, force, who, when_ms, deleted_version, err), err);
}

static enum sb_err_kind pg_conn_history(struct store *base, const char *name, json_t **out,
                                        struct sb_err *err)
{
    struct pg_store *st = (struct pg_store *)base;
    WITH_HANDLE(h, st, err);
    struct params p = {0};
    PGresult *res;
    json_t *all, *def;

    p_text(&p, name);
    res = run_read(h,
                   "SELECT version, modified_by, modified_on, action, definition"
                   " FROM conn_history WHERE name = $1 ORDER BY version, seq",
                   &p, "read the connection's history", err);
    if (!res)
        return err->kind;
    all = xcheck(json_array());
    for (int i = 0; i < PQntuples(res); i++) {
        if (value_json(res, i, 4, &def, err) != SB_OK) {
            PQclear(res);
            json_decref(all);
            return err->kind;
        }
        json_array_append_new(all, xcheck(json_pack("{s:I, s:s, s:I, s:s, s:o}", "versionNumber",
                                                    (json_int_t)value_int(res, i, 0), "modifiedBy",
                                                    PQgetvalue(res, i, 1), "modifiedOn",
                                                    (json_int_t)value_int(res, i, 2), "action",
                                                    PQgetvalue(res, i, 3), "definition", def)));
    }
    PQclear(res);
    if (json_array_size(all) == 0) {
        json_decref(all);
        return sb_err_set(err, SB_ERR_NOT_FOUND,
                          "Connection '%s' has no history: it never existed.", name);
    }
    *out = all;
    return SB_OK;
}

static enum sb_err_kind pg_conn_version(struct store *base, const char *name, int64_t version,
                                        json_t **out, struct sb_err *err)
{
    struct pg_store *st = (struct pg_store *)base;
    WITH_HANDLE(h, st, err);
    struct params p = {0};
    bool found;

    p_text(&p, name);
    p_int(&p, version);
    if (read_json_row(h,
                      "SELECT definition FROM conn_history WHERE name = $1 AND version = $2"
                      " AND action <> 'delete' ORDER BY seq DESC LIMIT 1",
                      &p, "read the connection's history", out, &found, err) != SB_OK)
        return err->kind;
    if (!found)
        return sb_err_set(err, SB_ERR_NOT_FOUND,
                          "Connection '%s' has no version %lld to revert to.", name,
                          (long long)version);
    return SB_OK;
}

static enum sb_err_kind pg_conn_usages(struct store *base, const char *name, json_t **out,
                                       struct sb_err *err)
{
    struct pg_store *st = (struct pg_store *)base;
    WITH_HANDLE(h, st, err);
    struct params p = {0};
    PGresult *res;
    json_t *all;

    p_text(&p, name);
    res = run_read(h,
                   "SELECT project, name, type FROM datasets WHERE connection = $1"
                   " ORDER BY project, name",
                   &p, "list the connection's usages", err);
    if (!res)
        return err->kind;
    all = xcheck(json_array());
    for (int i = 0; i < PQntuples(res); i++)
        json_array_append_new(
            all,
            xcheck(json_pack("{s:s, s:s, s:s}", "projectKey", PQgetvalue(res, i, 0), "datasetName",
                             PQgetvalue(res, i, 1), "datasetType", PQgetvalue(res, i, 2))));
    PQclear(res);
    *out = all;
    return SB_OK;
}

/* ---- datasets ---- */

static const char *ds_connection(const json_t *def)
{
    return json_string_value(json_object_get(json_object_get(def, "params"), "connection"));
}

static enum sb_err_kind pg_ds_list(struct store *base, const char *project, json_t **out,
                                   struct sb_err *err)
{
    struct pg_store *st = (struct pg_store *)base;
    WITH_HANDLE(h, st, err);
    struct params p = {0};

    p_text(&p, project);
    return read_json_rows(h, "SELECT definition FROM datasets WHERE project = $1 ORDER BY name", &p,
                          "list datasets", out, err);
}

static enum sb_err_kind pg_ds_get(struct store *base, const char *project, const char *name,
                                  json_t **out, struct sb_err *err)
{
    struct pg_store *st = (struct pg_store *)base;
    WITH_HANDLE(h, st, err);
    struct params p = {0};
    bool found;

    p_text(&p, project);
    p_text(&p, name);
    if (read_json_row(h, "SELECT definition FROM datasets WHERE project = $1 AND name = $2", &p,
                      "read a dataset", out, &found, err) != SB_OK)
        return err->kind;
    if (!found)
        return sb_err_set(err, SB_ERR_NOT_FOUND, "Dataset '%s' does not exist in project '%s'.",
                          name, project);
    return SB_OK;
}

static enum sb_err_kind ds_write(struct pg_store *st, enum obj_op op, const char *project,
                                 const char *name, const json_t *def, struct sb_err *err)
{
    WITH_HANDLE(h, st, err);
    struct params p = {0};
    long rows;

    p_text(&p, project);
    p_text(&p, name);
    if (def) {
        p_text(&p, json_string_value(json_object_get(def, "type")));
        p_text(&p, ds_connection(def));
        p_json(&p, def);
    }
    if (write_rows(h, ds_sql(op), &p, NULL, "save the dataset", &rows, err) != SB_OK)
        return err->kind;
    if (rows == 0)
        return op == OBJ_INSERT
                   ? sb_err_set(err, SB_ERR_CONFLICT,
                                "Dataset '%s' already exists in project '%s'.", name, project)
                   : sb_err_set(err, SB_ERR_NOT_FOUND,
                                "Dataset '%s' does not exist in project '%s'.", name, project);
    return SB_OK;
}

static enum sb_err_kind pg_ds_insert(struct store *base, const char *project, const char *name,
                                     const json_t *def, struct sb_err *err)
{
    return ds_write((struct pg_store *)base, OBJ_INSERT, project, name, def, err);
}

static enum sb_err_kind pg_ds_update(struct store *base, const char *project, const char *name,
                                     const json_t *def, struct sb_err *err)
{
    return ds_write((struct pg_store *)base, OBJ_UPDATE, project, name, def, err);
}

static enum sb_err_kind pg_ds_delete(struct store *base, const char *project, const char *name,
                                     struct sb_err *err)
{
    return ds_write((struct pg_store *)base, OBJ_DELETE, project, name, NULL, err);
}

static enum sb_err_kind pg_project_delete(struct store *base, const char *key, struct sb_err *err)
{
    struct pg_store *st = (struct pg_store *)base;
    WITH_HANDLE(h, st, err);
    struct params p = {0};
    enum sb_err_kind kind;
    long rows;

    if (tx_begin(h, err) != SB_OK)
        return err->kind;
    kind = obj_write(h, OBJ_DELETE, STORE_PROJECTS, key, NULL, err);
    if (kind == SB_OK) {
        kind = obj_write(h, OBJ_DELETE, STORE_PROJECT_VARIABLES, key, NULL, err);
        if (kind == SB_ERR_NOT_FOUND) /* may not exist */
            kind = SB_OK;
    }
    if (kind == SB_OK) {
        p_text(&p, key);
        kind = write_rows(h, "DELETE FROM datasets WHERE project = $1", &p, NULL,
                          "delete the project's datasets", &rows, err);
    }
    return tx_end(h, kind, err);
}

/* ---- API keys ---- */

static enum sb_err_kind key_insert(struct handle *h, enum store_key_kind kind,
                                   const uint8_t hash[32], const json_t *rec, struct sb_err *err)
{
    const json_t *user = json_object_get(rec, "user");
    struct params p = {0};
    long rows;

    p_int(&p, kind);
    p_text(&p, json_string_value(json_object_get(rec, "id")));
    p_bytes(&p, hash, 32);
    p_json(&p, rec);
    p_text(&p, json_is_string(user) ? json_string_value(user) : NULL);
    if (write_rows(h,
                   "INSERT INTO api_keys (kind, id, hash, record, owner)"
                   " VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
                   &p, "auth", "save the API key", &rows, err) != SB_OK)
        return err->kind;
    if (rows == 0)
        return sb_err_set(err, SB_ERR_CONFLICT, "An API key with the same id or secret exists.");
    mark_auth_dirty(h);
    return SB_OK;
}

static enum sb_err_kind pg_key_insert(struct store *base, enum store_key_kind kind,
                                      const uint8_t hash[32], const json_t *rec, struct sb_err *err)
{
    struct pg_store *st = (struct pg_store *)base;
    WITH_HANDLE(h, st, err);
    return key_insert(h, kind, hash, rec, err);
}

/* Nodes starting together race here: the meta row decides (ON CONFLICT waits for the other
 * transaction that inserts it, and then finds it there). */
static enum sb_err_kind pg_key_bootstrap(struct store *base, const uint8_t hash[32],
                                         const json_t *rec, bool *done, struct sb_err *err)
{
    struct pg_store *st = (struct pg_store *)base;
    WITH_HANDLE(h, st, err);
    long rows;

    *done = false;
    if (tx_begin(h, err) != SB_OK)
        return err->kind;
    if (meta_init(h, "bootstrap_admin_key", json_string_value(json_object_get(rec, "id")), &rows,
                  err) != SB_OK)
        goto fail;
    if (rows == 1) {
        if (key_insert(h, STORE_KEY_GLOBAL, hash, rec, err) != SB_OK)
            goto fail;
        *done = true;
    }
    if (tx_end(h, SB_OK, err) != SB_OK) {
        *done = false;
        return err->kind;
    }
    return SB_OK;
fail:
    *done = false;
    return tx_end(h, err->kind, err);
}

static enum sb_err_kind pg_key_by_hash(struct store *base, const uint8_t hash[32], json_t **out,
                                       enum store_key_kind *kind, struct sb_err *err)
{
    struct pg_store *st = (struct pg_store *)base;
    WITH_HANDLE(h, st, err);
    struct params p = {0};
    enum sb_err_kind rc = SB_OK;
    PGresult *res;

    p_bytes(&p, hash, 32);
    res = run_read(h, "SELECT kind, record FROM api_keys WHERE hash = $1", &p, "look up an API key",
                   err);
    if (!res)
        return err->kind;
    if (PQntuples(res) > 0) {
        *kind = (enum store_key_kind)value_int(res, 0, 0);
        rc = value_json(res, 0, 1, out, err);
    } else {
        rc = sb_err_set(err, SB_ERR_NOT_FOUND, "No such API key.");
    }
    PQclear(res);
    return rc;
}

static enum sb_err_kind pg_key_get(struct store *base, enum store_key_kind kind, const char *id,
                                   json_t **out, struct sb_err *err)
{
    struct pg_store *st = (struct pg_store *)base;
    WITH_HANDLE(h, st, err);
    struct params p = {0};
    bool found;

    p_int(&p, kind);
    p_text(&p, id);
    if (read_json_row(h, "SELECT record FROM api_keys WHERE kind = $1 AND id = $2", &p,
                      "read an API key", out, &found, err) != SB_OK)
        return err->kind;
    if (!found)
        return sb_err_set(err, SB_ERR_NOT_FOUND, "%s '%s' does not exist.", store_key_kind_noun(kind), id);
    return SB_OK;
}

static enum sb_err_kind pg_key_list(struct store *base, enum store_key_kind kind, const char *owner,
                                    json_t **out, struct sb_err *err)
{
    struct pg_store *st = (struct pg_store *)base;
    WITH_HANDLE(h, st, err);
    struct params p = {0};

    p_int(&p, kind);
    if (owner)
        p_text(&p, owner);
    return read_json_rows(h,
                          owner ? "SELECT record FROM api_keys WHERE kind = $1 AND owner = $2"
                                  " ORDER BY seq"
                                : "SELECT record FROM api_keys WHERE kind = $1 ORDER BY seq",
                          &p, "list API keys", out, err);
}

static enum sb_err_kind key_write(struct store *base, enum store_key_kind kind, const char *id,
                                  const json_t *rec, struct sb_err *err)
{
    struct pg_store *st = (struct pg_store *)base;
    WITH_HANDLE(h, st, err);
    struct params p = {0};
    long rows;

    p_int(&p, kind);
    p_text(&p, id);
    if (rec)
        p_json(&p, rec);
    if (write_rows(h,
                   rec ? "UPDATE api_keys SET record = $3 WHERE kind = $1 AND id = $2"
                       : "DELETE FROM api_keys WHERE kind = $1 AND id = $2",
                   &p, "auth", rec ? "save the API key" : "delete the API key", &rows,
                   err) != SB_OK)
        return err->kind;
    mark_auth_dirty(h);
    if (rows == 0)
        return sb_err_set(err, SB_ERR_NOT_FOUND, "%s '%s' does not exist.", store_key_kind_noun(kind), id);
    return SB_OK;
}

static enum sb_err_kind pg_key_update(struct store *base, enum store_key_kind kind, const char *id,
                                      const json_t *rec, struct sb_err *err)
{
    return key_write(base, kind, id, rec, err);
}

static enum sb_err_kind pg_key_delete(struct store *base, enum store_key_kind kind, const char *id,
                                      struct sb_err *err)
{
    return key_write(base, kind, id, NULL, err);
}

/* ---- key rotation ---- */

/* Runs FN on every row of SELECT_SQL (key in column 0, JSON in column 1, the version in column
 * 2 for connections) and writes changed records back with UPDATE_SQL ($1 key, $2 JSON, $3
 * collection when COLL > 0); announces every connection it changes (*AUTH: it changed a user).
 * Every row is read before any is written. */
static enum sb_err_kind reseal_rows(struct handle *h, const char *select_sql,
                                    const char *update_sql, int coll, store_reseal_fn fn, void *ctx,
                                    bool *auth, struct sb_err *err)
{
    struct params p = {0};
    enum sb_err_kind kind = SB_OK;
    PGresult *res;
    json_t *rows = xcheck(json_array()), *row;
    size_t i;
    long n;

    if (coll > 0)
        p_int(&p, coll);
    res = run(h, select_sql, &p, false, "read records for the key rotation", err);
    if (!res) {
        json_decref(rows);
        return err->kind;
    }
    for (int r = 0; r < PQntuples(res); r++) {
        json_t *rec;
        if (value_json(res, r, 1, &rec, err) != SB_OK) {
            kind = err->kind;
            PQclear(res);
            goto out;
        }
        json_array_append_new(
            rows, xcheck(json_pack("[s, o, I]", PQgetvalue(res, r, 0), rec,
                                   (json_int_t)(coll == 0 ? value_int(res, r, 2) : 0))));
    }
    PQclear(res);
    json_array_foreach (rows, i, row) {
        const char *key = json_string_value(json_array_get(row, 0));
        json_t *rec = json_array_get(row, 1);
        char *before = xcheck(json_dumps(rec, JSON_COMPACT));
        kind = fn(ctx, coll, rec, err);
        char *after = xcheck(json_dumps(rec, JSON_COMPACT));
        if (kind == SB_OK && strcmp(before, after) != 0) {
            p_text(&p, key);
            p_owned(&p, after);
            after = NULL;
            if (coll > 0)
                p_int(&p, coll);
            kind = write_rows(h, update_sql, &p, NULL, "save a re-encrypted record", &n, err);
            if (kind == SB_OK && coll == 0) {
                char *payload =
                    conn_payload("conn", json_integer_value(json_array_get(row, 2)), key);
                kind = notify(h, payload, err);
                free(payload);
            }
            if (coll == STORE_USERS)
                *auth = true;
        }
        free(before);
        free(after);
        if (kind != SB_OK)
            goto out;
    }
out:
    json_decref(rows);
    return kind;
}

static enum sb_err_kind pg_reseal_all(struct store *base, store_reseal_fn fn, void *ctx,
                                      const json_t *meta, struct sb_err *err)
{
    struct pg_store *st = (struct pg_store *)base;
    WITH_HANDLE(h, st, err);
    struct params p = {0};
    PGresult *res;
    const char *name;
    json_t *value;
    bool auth = false;

    if (tx_begin(h, err) != SB_OK)
        return err->kind;
    /* other nodes may read meanwhile, not write: what is read here is what gets rewritten */
    res = run(h, "LOCK TABLE connections, conn_history, objects IN EXCLUSIVE MODE", &p, false,
              "lock the store for the key rotation", err);
    if (!res)
        goto fail;
    PQclear(res);
    if (reseal_rows(h, "SELECT name, definition, version FROM connections",
                    "UPDATE connections SET definition = $2 WHERE name = $1", 0, fn, ctx, &auth,
                    err) != SB_OK ||
        reseal_rows(h, "SELECT seq::text, definition FROM conn_history",
                    "UPDATE conn_history SET definition = $2 WHERE seq = $1::bigint",
                    STORE_RESEAL_HISTORY, fn, ctx, &auth, err) != SB_OK ||
        reseal_rows(h, "SELECT id, record FROM objects WHERE coll = $1",
                    "UPDATE objects SET record = $2 WHERE id = $1 AND coll = $3", STORE_USERS, fn,
                    ctx, &auth, err) != SB_OK)
        goto fail;
    json_object_foreach ((json_t *)meta, name, value) {
        if (meta_set(h, name, json_string_value(value), err) != SB_OK)
            goto fail;
    }
    if (auth) {
        if (notify(h, "auth", err) != SB_OK)
            goto fail;
        mark_auth_dirty(h);
    }
    return tx_end(h, SB_OK, err);
fail:
    return tx_end(h, err->kind, err);
}

/* ---- notifications from other nodes ---- */

static void listener_down(struct listener *l, const char *why, const struct pg_store *st)
{
    char line[512];

    if (l->conn) {
        masked(st, PQerrorMessage(l->conn), line, sizeof(line));
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

static void listener_start(struct pg_store *st)
{
    struct listener *l = &st->listen;

    l->backoff_ms = PG_LISTEN_BACKOFF_MIN_MS;
    l->conn = pg_connect(st, false);
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
        l->conn = pg_connect(st, true);
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
                                             bool deleted),
                             void (*on_auth)(void *ctx), void *ctx)
{
    PGnotify *n;
    int count = 0;

    while ((n = PQnotifies(l->conn)) != NULL) {
        const char *payload = n->extra;
        bool deleted = strncmp(payload, "del ", 4) == 0;
        count++;
        if (strcmp(payload, "auth") == 0) {
            atomic_fetch_add(&st->auth_generation, 1);
            if (on_auth)
                on_auth(ctx);
        } else if (deleted || strncmp(payload, "conn ", 5) == 0) {
            char *end;
            long long version = strtoll(payload + (deleted ? 4 : 5), &end, 10);
            if (*end == ' ' && end[1] && on_conn)
                on_conn(ctx, end + 1, version, deleted);
            else if (*end != ' ' || !end[1])
                log_debug("store: ignored a malformed change notification");
        } else {
            log_debug("store: ignored an unknown change notification");
        }
        PQfreemem(n);
    }
    return count;
}

enum sb_err_kind store_pg_poll_notifications(
    struct store *base, void (*on_conn)(void *ctx, const char *name, int64_t version, bool deleted),
    void (*on_auth)(void *ctx), void (*on_reset)(void *ctx), void *ctx, int timeout_ms,
    struct sb_err *err)
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
        atomic_fetch_add(&st->auth_generation, 1);
        if (on_reset)
            on_reset(ctx);
        goto out;
    }
    /* while changes may go unseen, cached principals must not be trusted */
    atomic_fetch_add(&st->auth_generation, 1);
    kind = unreachable(err);
out:
    pthread_mutex_unlock(&l->lock);
    return kind;
}

static const struct store_ops pg_ops = {
    .shared = true,
    .poll_changes = store_pg_poll_notifications,
    .close = pg_close,
    .auth_generation = pg_auth_generation,
    .size_bytes = pg_size_bytes,
    .meta_get = pg_meta_get,
    .meta_init = pg_meta_init,
    .meta_set = pg_meta_set,
    .obj_list = pg_obj_list,
    .obj_get = pg_obj_get,
    .obj_insert = pg_obj_insert,
    .obj_update = pg_obj_update,
    .obj_delete = pg_obj_delete,
    .user_delete = pg_user_delete,
    .audit_append = pg_audit_append,
    .audit_list = pg_audit_list,
    .reseal_all = pg_reseal_all,
    .conn_list = pg_conn_list,
    .conn_scan = pg_conn_scan,
    .conn_get = pg_conn_get,
    .conn_insert = pg_conn_insert,
    .conn_replace = pg_conn_replace,
    .conn_delete = pg_conn_delete,
    .conn_history = pg_conn_history,
    .conn_version = pg_conn_version,
    .conn_usages = pg_conn_usages,
    .tx_begin = pg_tx_begin,
    .tx_commit = pg_tx_commit,
    .tx_rollback = pg_tx_rollback,
    .ds_list = pg_ds_list,
    .ds_get = pg_ds_get,
    .ds_insert = pg_ds_insert,
    .ds_update = pg_ds_update,
    .ds_delete = pg_ds_delete,
    .project_delete = pg_project_delete,
    .key_insert = pg_key_insert,
    .key_bootstrap = pg_key_bootstrap,
    .key_by_hash = pg_key_by_hash,
    .key_get = pg_key_get,
    .key_list = pg_key_list,
    .key_update = pg_key_update,
    .key_delete = pg_key_delete,
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
    st->base.ops = &pg_ops;
    st->url = xstrdup(url);
    atomic_init(&st->auth_generation, 0);
    pthread_mutex_init(&st->lock, NULL);
    pthread_mutex_init(&st->listen.lock, NULL);
    if (pthread_key_create(&st->tls, handle_thread_exit) != 0)
        abort();
    h = handle_get(st, err);
    if (!h || migrate(h, err) != SB_OK) {
        pg_close(&st->base);
        return NULL;
    }
    listener_start(st);
    return &st->base;
}
