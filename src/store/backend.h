/* SPDX-License-Identifier: Apache-2.0 */
/* What a store backend implements (internal to src/store/). The store's logic — versions,
 * history, usages, cascades, bootstrap, key rotation, every message — is written once in
 * store.c over these primitives, in the manner of Redis's ae.c over its aeApi* backends:
 *
 *   - open and close (each backend's store_*_open and ops->close), size
 *   - a per-thread connection (ops->conn.open, .close) carrying the transaction depth
 *   - exec: run one statement of the table below with its arguments, a callback per row
 *   - tx: begin / commit / roll back at a nesting level (0 the transaction, more a savepoint)
 *   - lock_name: serialise writers of one name across nodes until the transaction ends
 *   - announce: tell other nodes, when the transaction commits (the after-commit hook)
 *   - sync, in_tx: what group commit needs (store.c, "group commit"): a backend that sets sync
 *     gets every write of every thread on one shared connection, several writes per transaction
 *
 * Statements: one table, store_stmts, written in SQL in statements.sql (made into C by the build)
 * with ?1, ?2... parameters, which PostgreSQL gets as $1, $2... (statements.c); a statement
 * overrides the SQL for one dialect only where the two differ. Each id below has its statement
 * there, named in lower case without ST_ (ST_META_GET: meta_get). Schema
 * migrations stay with each backend, as numbered lists. */
#ifndef SB_STORE_BACKEND_H
#define SB_STORE_BACKEND_H

#include <pthread.h>
#include <stdatomic.h>

#include "store/store.h"

enum stmt_id {
    ST_META_GET,
    ST_META_INIT,
    ST_META_SET,
    ST_META_HOLD,
    ST_META_CLAIM,
    ST_META_EXPECT,
    ST_OBJ_LIST,
    ST_OBJ_GET,
    ST_OBJ_INSERT,
    ST_OBJ_UPDATE,
    ST_OBJ_DELETE,
    ST_OBJ_LOCK,
    ST_AUDIT_APPEND,
    ST_AUDIT_LIST,
    ST_AUDIT_PURGE,
    ST_CONN_LIST,
    ST_CONN_SCAN,
    ST_CONN_GET,
    ST_CONN_GET_VERSION,
    ST_CONN_HOLD,
    ST_CONN_EXISTS,
    ST_CONN_INSERT,
    ST_CONN_CREATE,
    ST_CONN_CREATE_LATER,
    ST_CONN_REPLACE,
    ST_CONN_REPLACE_LATER,
    ST_CONN_DELETE,
    ST_HIST_NEXT,
    ST_HIST_APPEND,
    ST_HIST_COPY,
    ST_HIST_LIST,
    ST_HIST_GET,
    ST_USAGES,
    ST_USAGES_FIRST,
    ST_DS_LIST,
    ST_DS_GET,
    ST_DS_INSERT,
    ST_DS_UPDATE,
    ST_DS_DELETE,
    ST_DS_DELETE_PROJECT,
    ST_KEY_INSERT,
    ST_KEY_BY_HASH,
    ST_KEY_GET,
    ST_KEY_LIST,
    ST_KEY_LIST_OWNER,
    ST_KEY_UPDATE,
    ST_KEY_DELETE,
    ST_KEY_DELETE_OWNER,
    ST_RESEAL_LOCK,
    ST_RESEAL_CONN_READ,
    ST_RESEAL_CONN_WRITE,
    ST_RESEAL_HIST_READ,
    ST_RESEAL_HIST_WRITE,
    ST_RESEAL_OBJ_READ,
    ST_RESEAL_OBJ_WRITE,
    N_STMTS
};

enum stmt_flag {
    STMT_READ = 1,    /* changes nothing: may run again on a fresh connection */
    STMT_RELAXED = 2, /* alone (not in a transaction), it need not wait for the disk */
};

struct stmt_def {
    const char *sql;    /* for both dialects, parameters ?1, ?2... */
    const char *sqlite; /* SQLite's own, when it differs; "" when SQLite has nothing to run */
    const char *pg;     /* PostgreSQL's own, likewise */
    const char *what;   /* what it does, for messages: "read a setting" */
    int flags;          /* enum stmt_flag */
};

enum dialect { DIALECT_SQLITE, DIALECT_PG, N_DIALECTS };

extern const struct stmt_def store_stmts[N_STMTS];

/* The SQL of ID in DIALECT (for PostgreSQL with $N parameters); "" when there is nothing to
 * run. */
const char *store_stmt_sql(enum stmt_id id, enum dialect dialect);

/* --- arguments and rows --- */

#define STORE_MAX_ARGS 8

enum arg_type { ARG_NULL, ARG_TEXT, ARG_INT, ARG_BLOB };

struct arg {
    enum arg_type type;
    const char *text; /* ARG_TEXT: NUL-terminated; ARG_BLOB: LEN bytes */
    int len;
    int64_t i;
};

/* The arguments of one statement, in parameter order; OWNED texts are freed after it ran. */
struct args {
    int n;
    struct arg v[STORE_MAX_ARGS];
    char *owned[STORE_MAX_ARGS];
};

/* One row of a result, valid during the row callback only. */
struct row {
    const char *(*text)(const struct row *r, int col); /* NULL for an SQL NULL */
    int64_t (*integer)(const struct row *r, int col);
    const void *impl;
    int index;
};

/* Called for each row; anything but SB_OK (with ERR set) stops the statement. */
typedef enum sb_err_kind (*row_fn)(void *ctx, const struct row *r, struct sb_err *err);

/* --- the backend --- */

/* A thread's connection: each backend embeds it first in its own per-thread handle. */
struct store_conn {
    struct store *st;
    struct store_conn *prev, *next; /* in the store's list of open connections */
    int tx_depth;    /* 0: autocommit; 1: in a transaction; more: nested savepoints */
    bool auth_dirty; /* the open transaction wrote keys, users or groups */
    bool meta_dirty; /* the open transaction wrote a meta value */
    bool batch;      /* the store's shared write connection (group commit): its commits return
                      * before they are durable, and ops->sync waits for that */
    char *locked;    /* the connection name store_conn_get_locked locked in the open transaction
                      * (malloc'd), or NULL */
};

enum tx_op { TX_BEGIN, TX_COMMIT, TX_ROLLBACK };

/* OWN: announced by one of this process's own sessions (which publish their changes to the
 * catalog themselves after their commit). */
typedef void (*store_on_conn_fn)(void *ctx, const char *name, int64_t version, bool deleted,
                                 bool own);

/* What a backend does on one thread's connection. */
struct conn_ops {
    /* Opens a connection for the calling thread (store_thread_conn keeps it for the thread);
     * NULL with ERR set. close closes it, on any thread. */
    struct store_conn *(*open)(struct store *st, struct sb_err *err);
    void (*close)(struct store_conn *c);
    /* Runs statement ID with A, calling FN (when not NULL) for every row; *CHANGES (when not
     * NULL) the rows a write changed. ERR names the statement's `what`. */
    enum sb_err_kind (*exec)(struct store_conn *c, enum stmt_id id, const struct args *a, row_fn fn,
                             void *ctx, long *changes, struct sb_err *err);
    /* Runs statement ID with A later, inside the open transaction: with its next statement whose
     * result is waited for, at the latest its COMMIT (one round trip for all of them). FN gets
     * its rows (with CTX) once all of that succeeded (its failure is only logged then); a
     * division by zero in it (SQLSTATE 22012) fails it, and the transaction, with KIND, MSG.
     * NULL when the backend runs each statement at once. */
    enum sb_err_kind (*exec_later)(struct store_conn *c, enum stmt_id id, const struct args *a,
                                   row_fn fn, void *ctx, enum sb_err_kind kind, const char *msg,
                                   struct sb_err *err);
    /* OP at LEVEL (0: the transaction itself; N: savepoint N). A rollback never fails. */
    enum sb_err_kind (*tx)(struct store_conn *c, enum tx_op op, int level, struct sb_err *err);
    /* Serialises writers of NAME until the transaction ends; NULL when the transaction holds
     * the store's write lock already. */
    enum sb_err_kind (*lock_name)(struct store_conn *c, const char *name, struct sb_err *err);
    /* Delivers PAYLOAD to the other nodes when the transaction commits; NULL when there are
     * none. Payloads: STORE_NOTE_AUTH, "conn VERSION NAME", "del VERSION NAME". */
    enum sb_err_kind (*announce)(struct store_conn *c, const char *payload, struct sb_err *err);
    /* store_meta_expect_held without waiting: the check (ST_META_EXPECT with NAME, VALUE) travels
     * with the next statement, whose failure it becomes (SB_ERR_UNAVAILABLE, MISMATCH, a static
     * string) when the value differs; NULL: store.c reads the value and compares. */
    enum sb_err_kind (*expect)(struct store_conn *c, const char *name, const char *value,
                               const char *mismatch, struct sb_err *err);
    /* Whether C's transaction is still open (an error may have ended all of it); needed with
     * sync only. */
    bool (*in_tx)(struct store_conn *c);
};

/* A backend: what it does on the whole store, and on one thread's connection (CONN). */
struct backend_ops {
    enum dialect dialect;
    bool shared; /* other nodes may change the store */
    void (*close)(struct store *st);
    long long (*size_bytes)(struct store *st);
    /* store_other_nodes; NULL for a store that is not shared. */
    enum sb_err_kind (*other_nodes)(struct store *st, int *count, struct sb_err *err);
    /* store_poll_changes; NULL for a store that is not shared. */
    enum sb_err_kind (*poll_changes)(struct store *st, store_on_conn_fn on_conn,
                                     void (*on_auth)(void *ctx), void (*on_reset)(void *ctx),
                                     void *ctx, int timeout_ms, struct sb_err *err);
    /* Group commit: returns once every commit made so far on ST is durable (ERR: the commit's
     * failure when it cannot be made so). Set, it makes store.c run the writes of all threads
     * on one connection (struct store_conn.batch), whose commits do not wait; NULL: each
     * thread writes on its own connection and a commit returns durable. */
    enum sb_err_kind (*sync)(struct store *st, struct sb_err *err);
    /* With sync: whether one of its disk syncs is under way; with WAIT, returns once none is. */
    bool (*syncing)(struct store *st, bool wait);
    struct conn_ops conn;
};

#define STORE_NOTE_AUTH "auth"
#define STORE_NOTE_CONN "conn "
#define STORE_NOTE_DEL "del "

struct batch_member;

/* Group commit (store.c): the shared write connection and who uses or waits for it. */
struct store_batch {
    pthread_mutex_t lock;
    pthread_cond_t turn;          /* the connection is free */
    pthread_cond_t done;          /* a transaction's outcome is known */
    struct store_conn *conn;      /* opened on first use */
    bool busy;                    /* a thread is writing on CONN */
    int waiting;                  /* threads waiting for CONN */
    int count;                    /* writes in CONN's open transaction */
    struct batch_member *members; /* those of them waiting for its outcome */
    uint64_t seq;                 /* transactions ended so far */
    uint64_t commits, writes;     /* transactions committed, and the writes they held */
};

/* What every backend's state starts with. */
struct store {
    const struct backend_ops *ops;
    atomic_ullong auth_generation; /* bumped after every committed change to principals */
    atomic_ullong meta_generation; /* a new value after every committed meta write (store.c) */
    pthread_key_t tls;             /* the thread's struct store_conn */
    pthread_mutex_t lock;          /* guards CONNS */
    struct store_conn *conns;      /* every open connection */
    struct store_batch batch;      /* when ops->sync is set */
};

/* Sets up BASE for a backend of OPS (store.c). */
void store_base_init(struct store *base, const struct backend_ops *ops);

/* Closes every connection of BASE; no other thread may use it any more. */
void store_base_close(struct store *base);

/* The calling thread's connection, opened on first use and closed when the thread exits or
 * the store closes; NULL with ERR set. */
struct store_conn *store_thread_conn(struct store *st, struct sb_err *err);

#endif
