/* SPDX-License-Identifier: Apache-2.0 */
/* How the PostgreSQL backend sends its statements (see store_pg.c for the whole design):
 * parameters as libpq takes them, errors mapped to kinds, the reset of a lost connection and the
 * retry of a statement that changed nothing, and the deferred statements of a transaction
 * (BEGIN, savepoints, locks, writes whose row count is not read) sent with the next statement
 * that is waited for in one libpq pipeline. */
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store_pg.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/utf8.h"

/* ---- parameters ---- */

void store_pg_param_text(struct params *p, const char *text)
{
    /* internal: no statement here has more parameters than the array holds */
    if (p->n >= PG_MAX_PARAMS)
        abort();
    p->values[p->n] = text; /* NULL is SQL NULL */
    p->n++;
}

void store_pg_param_int(struct params *p, int64_t v)
{
    if (p->n >= PG_MAX_PARAMS)
        abort();
    snprintf(p->ints[p->n], sizeof(p->ints[p->n]), "%lld", (long long)v);
    p->values[p->n] = p->ints[p->n];
    p->n++;
}

/* Empties P for the next statement. */
void store_pg_params_free(struct params *p)
{
    memset(p, 0, sizeof(*p));
}

static bool params_utf8(const struct params *p)
{
    for (int i = 0; i < p->n; i++)
        if (p->formats[i] == 0 && p->values[i] && !utf8_valid(p->values[i]))
            return false;
    return true;
}

/* ---- errors ---- */

/* Whether RES (NULL when libpq could not even build one) means that the connection is gone. */
bool store_pg_is_lost(PGconn *conn, const PGresult *res)
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
enum sb_err_kind store_pg_fail(struct handle *h, const PGresult *res, const char *what,
                               struct sb_err *err)
{
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    const char *primary = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    char line[512];

    state = state ? state : "?????";
    store_pg_masked(h->st, primary ? primary : PQerrorMessage(h->conn), line, sizeof(line));
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

/* ---- statements ---- */

/* Reconnects H; false (logged once per outage) when the server cannot be reached. */
static bool handle_reset(struct handle *h)
{
    char line[512];

    h->needs_reset = false;
    memset(h->prepared, 0, sizeof(h->prepared));        /* a new session has none */
    if (PQpipelineStatus(h->conn) != PQ_PIPELINE_OFF) { /* left mid-pipeline: start afresh */
        PQfinish(h->conn);
        h->conn = store_pg_connect(h->st, false);
    } else {
        PQreset(h->conn);
    }
    if (PQstatus(h->conn) == CONNECTION_OK && store_pg_session_setup(h->st, h->conn)) {
        if (h->down)
            log_info("store: reconnected to PostgreSQL");
        h->down = false;
        return true;
    }
    h->needs_reset = true;
    if (!h->down) {
        store_pg_masked(h->st, PQerrorMessage(h->conn), line, sizeof(line));
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

static void pending_free(struct pending *pe)
{
    free(pe->sql);
    free(pe->fail_msg);
    PQclear(pe->res);
    for (int i = 0; i < pe->n; i++)
        free(pe->values[i]);
    free(pe);
}

/* Forgets H's deferred statements from index FROM on. */
void store_pg_pending_drop(struct handle *h, int from)
{
    while (h->npend > from)
        pending_free(h->pend[--h->npend]);
}

/* Forgets H's announcements made deeper than DEEPER_THAN (0: all of them). */
void store_pg_notes_drop(struct handle *h, int deeper_than)
{
    int kept = 0;

    for (int i = 0; i < h->nnotes; i++) {
        if (h->note_depth[i] > deeper_than) {
            free(h->notes[i]);
        } else {
            h->notes[kept] = h->notes[i];
            h->note_depth[kept++] = h->note_depth[i];
        }
    }
    h->nnotes = kept;
}

/* Whether the open transaction has not reached the server yet (its BEGIN is still deferred). */
bool store_pg_tx_unsent(const struct handle *h)
{
    return h->npend > 0 && h->pend[0]->begin;
}

/* Whether the open transaction has changed nothing yet: only its BEGIN and checks are deferred
 * and nothing else reached the server. */
bool store_pg_tx_untouched(const struct handle *h)
{
    if (!store_pg_tx_unsent(h))
        return false;
    for (int i = 1; i < h->npend; i++)
        if (!h->pend[i]->check)
            return false;
    return true;
}

/* Notes that the deferred statements of H from I on did not run (their pipeline failed at I):
 * the savepoints among them were never made. */
static void failed_from(struct handle *h, int i)
{
    for (int j = i; j < h->npend; j++)
        if (h->pend[j]->level > 0 && (h->sp_unmade == 0 || h->pend[j]->level < h->sp_unmade))
            h->sp_unmade = h->pend[j]->level;
}

#define PG_STMT_NAME_MAX 16

/* The server-side name of prepared statement STMT (1 + its number, see struct params). */
static void stmt_name(char name[PG_STMT_NAME_MAX], int stmt)
{
    snprintf(name, PG_STMT_NAME_MAX, "sb%d", stmt - 1);
}

/* Sends statement SQL with N parameters (VALUES, LENGTHS, FORMATS) on H's connection in
 * pipeline mode: by name when it is prepared statement STMT (1 + its number; 0: none), which
 * is prepared first when the session has not yet (*PREPARING then: its result comes first, and
 * the statement counts as prepared from now on, for the pipeline's next runs of it, unless
 * that result says otherwise). */
static bool send_stmt(struct handle *h, int stmt, const char *sql, int n, const char *const *values,
                      const int *lengths, const int *formats, bool *preparing)
{
    char name[PG_STMT_NAME_MAX];

    *preparing = false;
    if (!stmt)
        return PQsendQueryParams(h->conn, sql, n, NULL, values, lengths, formats, 0);
    stmt_name(name, stmt);
    if (!h->prepared[stmt - 1]) {
        if (!PQsendPrepare(h->conn, name, sql, n, NULL))
            return false;
        *preparing = true;
        h->prepared[stmt - 1] = true;
    }
    return PQsendQueryPrepared(h->conn, name, n, values, lengths, formats, 0);
}

/* Sends H's deferred statements, then SQL with P (NULL: none), in one pipeline, and reads every
 * result: the first failure (or SQL's result) is returned, *FAILED the deferred statement that
 * failed (when one did). The results of deferred statements whose rows are wanted are kept in
 * them. NULL when libpq could not even build a result. */
static PGresult *pipeline(struct handle *h, const char *sql, const struct params *p,
                          struct pending **failed)
{
    PGconn *conn = h->conn;
    PGresult *out = NULL, *r;
    int total = h->npend + (sql ? 1 : 0), sent = 0;
    bool preparing[PG_MAX_PENDING + 1];

    if (!PQenterPipelineMode(conn))
        return NULL;
    for (int i = 0; i < h->npend; i++, sent++) {
        struct pending *pe = h->pend[i];
        if (!send_stmt(h, pe->stmt, pe->sql, pe->n, (const char *const *)pe->values, pe->lengths,
                       pe->formats, &preparing[i]))
            break;
    }
    if (sent == h->npend && sql &&
        send_stmt(h, p->stmt, sql, p->n, p->values, p->lengths, p->formats, &preparing[sent]))
        sent++;
    if (sent < total || !PQpipelineSync(conn)) {
        h->needs_reset = true; /* the pipeline is half sent: the connection is unusable */
        return NULL;
    }
    for (int i = 0; i < total; i++) {
        int stmt = i < h->npend ? h->pend[i]->stmt : p->stmt;
        /* the statement's preparation first: its failure is the statement's */
        while (preparing[i] && (r = PQgetResult(conn))) {
            if (PQresultStatus(r) != PGRES_COMMAND_OK)
                h->prepared[stmt - 1] = false; /* (nor did any later run of it) */
            if (PQresultStatus(r) != PGRES_COMMAND_OK && !out &&
                PQresultStatus(r) != PGRES_PIPELINE_ABORTED) {
                out = r;
                if (i < h->npend)
                    *failed = h->pend[i];
                failed_from(h, i);
                continue;
            }
            PQclear(r);
        }
        while ((r = PQgetResult(conn))) {
            ExecStatusType status = PQresultStatus(r);
            bool keep = !out && (i == h->npend ||
                                 (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK));
            if (keep) {
                out = r;
                if (i < h->npend)
                    *failed = h->pend[i];
                failed_from(h, i);
            } else if (i < h->npend && h->pend[i]->fn && status == PGRES_TUPLES_OK) {
                PQclear(h->pend[i]->res); /* (a retry's) */
                h->pend[i]->res = r;
            } else {
                PQclear(r);
            }
        }
        if (PQstatus(conn) == CONNECTION_BAD)
            break;
    }
    if (PQstatus(conn) != CONNECTION_BAD) {
        while ((r = PQgetResult(conn)) && PQresultStatus(r) != PGRES_PIPELINE_SYNC)
            PQclear(r);
        PQclear(r);
    }
    if (!PQexitPipelineMode(conn))
        h->needs_reset = true;
    if (!out && !sql && PQstatus(conn) != CONNECTION_BAD)
        out = xcheck(PQmakeEmptyPGresult(conn, PGRES_COMMAND_OK));
    return out;
}

/* Gives the deferred statements of H that want their rows the rows they got: their pipeline
 * succeeded. */
static void rows_deliver(struct handle *h)
{
    for (int i = 0; i < h->npend; i++) {
        struct pending *pe = h->pend[i];
        struct row r = {store_pg_row_text, store_pg_row_integer, pe->res, 0};
        enum sb_err_kind kind = SB_OK;
        struct sb_err err;

        if (!pe->fn || !pe->res)
            continue;
        for (; r.index < PQntuples(pe->res) && kind == SB_OK; r.index++)
            kind = pe->fn(pe->ctx, &r, &err);
        if (kind != SB_OK)
            log_error("store: the rows of a statement (%s) were refused: %s", pe->what, err.msg);
        pe->fn = NULL;
    }
}

/* Runs SQL with P on H and returns its result (caller PQclears), or NULL with ERR set; frees
 * P's owned values either way. The transaction's deferred statements go first, in one pipeline
 * (SQL NULL: only them). Outside a transaction (or before its deferred BEGIN reached the
 * server), a dead connection is reset first; RETRY (for a statement that changes nothing: a
 * read or a BEGIN), or a transaction not yet on the server, runs again once on a fresh
 * connection when the connection is lost under it. Parameters that are not valid UTF-8 cannot
 * match anything stored: the statement is not sent and the result has no rows. */
PGresult *store_pg_run(struct handle *h, const char *sql, struct params *p, bool retry,
                       const char *what, struct sb_err *err)
{
    PGresult *res = NULL;
    bool reset_done = false, fresh = store_pg_tx_unsent(h);
    const char *failed = what;
    struct pending *pe = NULL;

    if (h->tx_broken)
        goto lost;
    if (sql && !params_utf8(p)) {
        store_pg_params_free(p);
        return xcheck(PQmakeEmptyPGresult(h->conn, PGRES_TUPLES_OK));
    }
    /* lost before the transaction's first statement reached the server: nothing happened
     * (unless the pipeline ends with its COMMIT: then whether it committed is unknown) */
    retry = retry || (fresh && !(sql && strcmp(sql, "COMMIT") == 0));
    if ((h->c.tx_depth == 0 || fresh) && !handle_alive(h)) {
        reset_done = true;
        if (!handle_reset(h))
            goto lost;
    }
    for (;;) {
        pe = NULL;
        if (h->npend > 0 || (p->stmt && !h->prepared[p->stmt - 1])) {
            res = pipeline(h, sql, p, &pe);
        } else if (p->stmt) {
            char name[PG_STMT_NAME_MAX];
            stmt_name(name, p->stmt);
            res = PQexecPrepared(h->conn, name, p->n, p->values, p->lengths, p->formats, 0);
        } else {
            res = PQexecParams(h->conn, sql, p->n, NULL, p->values, p->lengths, p->formats, 0);
        }
        failed = pe ? pe->what : what;
        if (res &&
            (PQresultStatus(res) == PGRES_COMMAND_OK || PQresultStatus(res) == PGRES_TUPLES_OK)) {
            rows_deliver(h);
            store_pg_pending_drop(h, 0);
            store_pg_params_free(p);
            return res;
        }
        if (!store_pg_is_lost(h->conn, res)) {
            const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
            if (pe && pe->fail_msg && state && strcmp(state, "22012") == 0)
                sb_err_set(err, pe->fail_kind, "%s", pe->fail_msg);
            else
                store_pg_fail(h, res, failed, err);
            PQclear(res);
            store_pg_pending_drop(h, 0);
            store_pg_params_free(p);
            return NULL;
        }
        PQclear(res);
        h->needs_reset = true;
        if (h->c.tx_depth > 0 && !fresh) {
            log_warn("store: lost the connection to PostgreSQL inside a transaction (%s)", failed);
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
    if (h->c.tx_depth > 0)
        h->tx_broken = true; /* the transaction's deferred statements are lost with it */
    store_pg_pending_drop(h, 0);
    store_pg_params_free(p);
    store_pg_unreachable(err);
    return NULL;
}

/* Defers SQL with P (see struct handle) until the next statement whose result is waited for;
 * frees P's owned values. LEVEL: for a SAVEPOINT, its level. */
enum sb_err_kind store_pg_defer(struct handle *h, const char *sql, struct params *p, bool begin,
                                int level, const char *what, struct sb_err *err)
{
    struct pending *pe;

    if (h->tx_broken) {
        store_pg_params_free(p);
        return store_pg_unreachable(err);
    }
    if (!params_utf8(p)) { /* matches nothing, as store_pg_run() would do */
        store_pg_params_free(p);
        return SB_OK;
    }
    if (h->npend == PG_MAX_PENDING) {
        struct params none = {0};
        PGresult *res = store_pg_run(h, NULL, &none, false, what, err);
        if (!res)
            return err->kind;
        PQclear(res);
    }
    pe = xcalloc(1, sizeof(*pe));
    pe->sql = xstrdup(sql);
    pe->what = what;
    pe->stmt = p->stmt;
    pe->begin = begin;
    pe->level = level;
    pe->n = p->n;
    for (int i = 0; i < p->n; i++) {
        pe->formats[i] = p->formats[i];
        pe->lengths[i] = p->lengths[i];
        if (!p->values[i])
            continue;
        if (p->formats[i] == 1) {
            pe->values[i] = xmalloc(p->lengths[i] ? (size_t)p->lengths[i] : 1);
            memcpy(pe->values[i], p->values[i], (size_t)p->lengths[i]);
        } else {
            pe->values[i] = xstrdup(p->values[i]);
        }
    }
    h->pend[h->npend++] = pe;
    store_pg_params_free(p);
    return SB_OK;
}

enum sb_err_kind store_pg_defer_check(struct handle *h, const char *sql, struct params *p,
                                      const char *what, const char *mismatch, struct sb_err *err)
{
    int before = h->npend;

    if (store_pg_defer(h, sql, p, false, 0, what, err) != SB_OK)
        return err->kind;
    if (h->npend == before) /* not valid UTF-8: nothing stored can match */
        return sb_err_set(err, SB_ERR_UNAVAILABLE, "%s", mismatch);
    h->pend[h->npend - 1]->check = true;
    h->pend[h->npend - 1]->fail_kind = SB_ERR_UNAVAILABLE;
    h->pend[h->npend - 1]->fail_msg = xstrdup(mismatch);
    return SB_OK;
}

enum sb_err_kind store_pg_defer_rows(struct handle *h, const char *sql, struct params *p,
                                     const char *what, row_fn fn, void *ctx, enum sb_err_kind kind,
                                     const char *msg, struct sb_err *err)
{
    int before = h->npend;
    struct pending *pe;

    if (store_pg_defer(h, sql, p, false, 0, what, err) != SB_OK)
        return err->kind;
    if (h->npend == before) /* not valid UTF-8 (nothing else here checks it) */
        return sb_err_set(err, SB_ERR_BAD_REQUEST, "The store cannot %s: a value is not UTF-8.",
                          what);
    pe = h->pend[h->npend - 1];
    pe->fn = fn;
    pe->ctx = ctx;
    pe->fail_kind = kind;
    pe->fail_msg = xstrdup(msg);
    return SB_OK;
}
