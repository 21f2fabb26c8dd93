/* SPDX-License-Identifier: Apache-2.0 */
/* What the four files of the PostgreSQL backend share (internal to src/store/): store_pg.c holds
 * the backend's primitives (transactions, locks, announcements, migrations) on per-thread
 * connections, store_pg_pipe.c sends their statements (deferred ones in one pipeline),
 * store_pg_announce.c sends the announcements of committed transactions in batches from a
 * thread of its own, store_pg_feed.c keeps the one connection that listens for the changes
 * other nodes announce. */
#ifndef SB_STORE_PG_H
#define SB_STORE_PG_H

#include <libpq-fe.h>
#include <pthread.h>

#include "store/backend.h"

#define PG_CHANNEL "switchboard"
#define PG_NODE_PREFIX "switchboard/"
#define PG_LISTEN_CONNECT_MS 10000    /* a listener connection attempt gives up after this */
#define PG_LISTEN_BACKOFF_MIN_MS 250  /* first wait before reconnecting the listener */
#define PG_LISTEN_BACKOFF_MAX_MS 4000 /* longest wait between listener reconnections */
#define PG_MAX_PARAMS STORE_MAX_ARGS
#define PG_MAX_PENDING 32 /* deferred statements sent in one pipeline at most */
#define PG_OWN_PIDS 256   /* this process's session PIDs remembered (store_pg_own_pid) */
/* statements prepared once per session (named "sbN"): the writes of the table (N their enum
 * stmt_id), and these of the backend's own */
#define PG_STMT_LOCK N_STMTS /* lock_name's advisory lock */
#define PG_N_PREPARED (N_STMTS + 1)

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

/* The thread that sends committed transactions' announcements (store_pg_announce.c). */
struct announcer {
    pthread_mutex_t lock;
    pthread_cond_t wake; /* payloads arrived, or stopping */
    pthread_t thread;
    bool running;
    bool stopping;
    char **queue; /* payloads handed over and not yet sent, oldest first (malloc'd) */
    size_t n, cap;
    PGconn *conn; /* the thread's own session (NULL while down) */
    bool down;    /* the last attempt to reach PostgreSQL failed (log the next success) */
};

struct pg_store {
    struct store base; /* first: a struct store * is a struct pg_store * */
    char *url;
    char *password; /* as parsed from the URL (for masking), or NULL */
    char node[128]; /* application_name of this process's sessions: PG_NODE_PREFIX HOST/PID */
    struct listener listen;
    struct announcer announcer;
    /* backend PIDs of this process's sessions, the latest PG_OWN_PIDS (0: free), so that the
     * listener can tell its own node's announcements (PGnotify.be_pid); a PID forgotten (or
     * reused by another node's session) only costs a read-back (see sync.c) */
    atomic_int own_pids[PG_OWN_PIDS];
    atomic_uint own_next;
};

/* Whether PID is one of this process's sessions (store_pg_session_setup registers them). */
bool store_pg_own_pid(struct pg_store *st, int pid);

/* A deferred statement: its SQL and parameters copied. */
struct pending {
    char *sql;
    const char *what;
    int stmt;   /* 1 + its number among the prepared statements, or 0 (see struct params) */
    bool begin; /* the BEGIN of the transaction: nothing is on the server yet */
    bool check; /* a check (store_meta_expect_held): changes nothing */
    /* what its division by zero (SQLSTATE 22012) means: FAIL_KIND, FAIL_MSG (malloc'd), or NULL */
    char *fail_msg;
    enum sb_err_kind fail_kind;
    /* rows for FN (with CTX) once the pipeline that carried it succeeded; RES until then */
    row_fn fn;
    void *ctx;
    PGresult *res;
    int level; /* for SAVEPOINT spLEVEL: LEVEL; else 0 */
    int n;
    char *values[PG_MAX_PARAMS];
    int lengths[PG_MAX_PARAMS];
    int formats[PG_MAX_PARAMS];
};

struct handle {
    struct store_conn c; /* first: a struct store_conn * is a struct handle * */
    struct pg_store *st;
    PGconn *conn;
    bool tx_broken;               /* the connection was lost inside the open transaction */
    bool needs_reset;             /* the connection was lost: reset it before the next statement */
    bool down;                    /* the last reconnection failed (log the next success) */
    bool prepared[PG_N_PREPARED]; /* the session has prepared that statement */
    /* statements of the open transaction whose results nobody waits for (BEGIN, savepoints,
     * locks, announcements, writes whose row count is not read), sent with the next one that
     * is waited for, in one pipeline (one round trip) */
    struct pending *pend[PG_MAX_PENDING];
    int npend;
    int sp_unmade; /* the lowest savepoint level whose SAVEPOINT failed or never ran (0: none) */
    /* the transaction's announcements (see pg_announce), each with the depth it was made at */
    char **notes;
    int *note_depth;
    int nnotes, notes_cap;
};

/* The parameters of one statement, as libpq takes them. */
struct params {
    /* 1 + N when the statement is PG_N_PREPARED's N: prepared once per session (in the
     * pipeline that first runs it) and run by name, so that PostgreSQL parses and plans it once
     * per session rather than on every run; 0: parsed every time */
    int stmt;
    int n;
    const char *values[PG_MAX_PARAMS];
    int lengths[PG_MAX_PARAMS];
    int formats[PG_MAX_PARAMS];
    char ints[PG_MAX_PARAMS][24];
};

/* Starts a connection to ST's URL: synchronously (PQconnectdbParams) unless ASYNC
 * (PQconnectStartParams). */
PGconn *store_pg_connect(struct pg_store *st, bool async);

/* Copies the first lines of libpq's MSG into OUT on one line, with the URL's password masked. */
void store_pg_masked(const struct pg_store *st, const char *msg, char *out, size_t size);

/* SB_ERR_UNAVAILABLE, "The store is unreachable right now; try again later." */
enum sb_err_kind store_pg_unreachable(struct sb_err *err);

/* Session settings, after every (re)connection: lock waits end like SQLite's busy timeout. */
bool store_pg_session_setup(struct pg_store *st, PGconn *conn);

/* ---- store_pg_pipe.c ---- */

/* Adds a text parameter (NULL is SQL NULL) or an integer one to P. */
void store_pg_param_text(struct params *p, const char *text);
void store_pg_param_int(struct params *p, int64_t v);

/* Empties P for the next statement. */
void store_pg_params_free(struct params *p);

/* The row interface (struct row) over a PGresult: R->impl the result, R->index the row. */
const char *store_pg_row_text(const struct row *r, int col);
int64_t store_pg_row_integer(const struct row *r, int col);

/* Whether RES (NULL when libpq could not even build one) means that the connection is gone. */
bool store_pg_is_lost(PGconn *conn, const PGresult *res);

/* Maps a failed statement (not a lost connection) to an error kind and a message that names
 * the operation and the SQLSTATE only. */
enum sb_err_kind store_pg_fail(struct handle *h, const PGresult *res, const char *what,
                               struct sb_err *err);

/* Forgets H's deferred statements from index FROM on. */
void store_pg_pending_drop(struct handle *h, int from);

/* Forgets H's announcements made deeper than DEEPER_THAN (0: all of them). */
void store_pg_notes_drop(struct handle *h, int deeper_than);

/* Whether the open transaction has not reached the server yet (its BEGIN is still deferred). */
bool store_pg_tx_unsent(const struct handle *h);

/* Runs SQL with P on H and returns its result (caller PQclears), or NULL with ERR set; frees
 * P's owned values either way. Deferred statements go first, in one pipeline (SQL NULL: only
 * them). RETRY: the statement changes nothing and may run again on a fresh connection. */
PGresult *store_pg_run(struct handle *h, const char *sql, struct params *p, bool retry,
                       const char *what, struct sb_err *err);

/* Defers SQL with P until the next statement whose result is waited for; frees P's owned
 * values. BEGIN: the transaction's BEGIN; LEVEL: for a SAVEPOINT, its level. */
enum sb_err_kind store_pg_defer(struct handle *h, const char *sql, struct params *p, bool begin,
                                int level, const char *what, struct sb_err *err);

/* store_pg_defer for a check that fails with division by zero (SQLSTATE 22012) when its
 * expectation does not hold: that failure is reported as SB_ERR_UNAVAILABLE, MISMATCH. */
enum sb_err_kind store_pg_defer_check(struct handle *h, const char *sql, struct params *p,
                                      const char *what, const char *mismatch, struct sb_err *err);

/* store_pg_defer for a statement whose rows FN gets (with CTX) once the pipeline that carries it
 * succeeded (at the latest the COMMIT's; FN cannot fail it any more: its failure is logged); a
 * division by zero in it (SQLSTATE 22012) fails it, and the transaction, with KIND, MSG. */
enum sb_err_kind store_pg_defer_rows(struct handle *h, const char *sql, struct params *p,
                                     const char *what, row_fn fn, void *ctx, enum sb_err_kind kind,
                                     const char *msg, struct sb_err *err);

/* Whether the open transaction has changed nothing yet: only its BEGIN and checks are deferred
 * and nothing else reached the server. */
bool store_pg_tx_untouched(const struct handle *h);

/* ---- store_pg_announce.c ---- */

/* Starts ST's announcer thread. */
void store_pg_announce_start(struct pg_store *st);

/* Hands the N payloads NOTES (each malloc'd; the announcer frees them, NOTES itself stays the
 * caller's) of a transaction that committed to ST's announcer, which sends them soon. */
void store_pg_announce_post(struct pg_store *st, char **notes, int n);

/* Sends what was handed over and not yet sent, then stops ST's announcer thread. */
void store_pg_announce_stop(struct pg_store *st);

/* ---- store_pg_feed.c ---- */

/* Connects and subscribes ST's listener (or leaves it to reconnect later). */
void store_pg_feed_start(struct pg_store *st);

/* The backend's poll_changes (see store_poll_changes). */
enum sb_err_kind store_pg_feed_poll(struct store *base, store_on_conn_fn on_conn,
                                    void (*on_auth)(void *ctx), void (*on_reset)(void *ctx),
                                    void *ctx, int timeout_ms, struct sb_err *err);

#endif
