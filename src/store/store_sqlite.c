/* SPDX-License-Identifier: Apache-2.0 */
/* The embedded store, on SQLite.
 *
 * Durability, with group commit: the database runs in WAL mode, and a commit returns only once
 * the write-ahead log holding it is on disk, so that it survives a crash or a power loss. That
 * fsync is not SQLite's (synchronous=NORMAL): the WAL hook, which SQLite calls after each
 * commit with the write lock already released, waits in durable_wait() until one fdatasync of
 * the WAL file has covered the commit. One thread at a time runs the fdatasync and it covers
 * every commit made before it started, so concurrent writers share fsyncs while each is
 * acknowledged only after its own data is durable. The hook also runs the checkpoints, where
 * SQLite's auto-checkpoint would have run them, but as RESTART checkpoints so that the WAL
 * starts over even under concurrent writers (checkpoint()). Every store function is one
 * transaction: a single statement in autocommit mode, or an explicit BEGIN IMMEDIATE ... COMMIT
 * when it takes several (BEGIN IMMEDIATE takes the write lock up front, so a transaction that reads
 * then writes never fails on a stale snapshot, and no per-name lock is needed). Statements flagged
 * STMT_RELAXED (audit appends alone) skip the wait.
 *
 * Concurrent writers also share transactions: store.c's group commit runs every write on one
 * shared connection (struct store_conn.batch), whose WAL hook does not wait; store.c calls
 * sq_sync once the transaction is committed and the connection handed on, so that the next
 * transaction is being written while this one's fdatasync runs.
 *
 * This file holds the SQLite primitives of backend.h only; the store's logic is in store.c.
 *
 * Threads: SQLite connections must not be shared between threads that run concurrently, so each
 * thread gets its own handle on first use (a pthread key); handles keep their prepared
 * statements. store_close closes whatever handles remain.
 *
 * Schema versions: PRAGMA user_version holds the number of migrations applied. At open, the
 * missing ones from `migrations` run in order inside one exclusive transaction; a database from
 * a newer Switchboard (user_version beyond this build's list) is refused rather than guessed at.
 * Migrations are append-only: never edit one that has shipped. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/backend.h"
#include "util/limits.h"
#include "util/log.h"
#include "util/mem.h"

static const char *const migrations[] = {
    /* 1: meta, connections, API keys */
    "CREATE TABLE meta (name TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;"
    "CREATE TABLE connections (name TEXT PRIMARY KEY, type TEXT NOT NULL,"
    "  version INTEGER NOT NULL, definition TEXT NOT NULL);"
    "CREATE TABLE api_keys (seq INTEGER PRIMARY KEY AUTOINCREMENT, kind INTEGER NOT NULL,"
    "  id TEXT NOT NULL, hash BLOB NOT NULL UNIQUE, record TEXT NOT NULL, UNIQUE (kind, id));",
    /* 2: users and groups, personal key owners, audit */
    "CREATE TABLE objects (coll INTEGER NOT NULL, id TEXT NOT NULL, record TEXT NOT NULL,"
    "  PRIMARY KEY (coll, id)) WITHOUT ROWID;"
    "ALTER TABLE api_keys ADD COLUMN owner TEXT;"
    "CREATE INDEX api_keys_owner ON api_keys (owner);"
    "CREATE TABLE audit (seq INTEGER PRIMARY KEY AUTOINCREMENT, ts INTEGER NOT NULL,"
    "  record TEXT NOT NULL);"
    "CREATE INDEX audit_ts ON audit (ts);",
    /* 3: connection history (backfilled with the current versions), datasets */
    "CREATE TABLE conn_history (seq INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL,"
    "  version INTEGER NOT NULL, action TEXT NOT NULL, modified_by TEXT NOT NULL,"
    "  modified_on INTEGER NOT NULL, definition TEXT NOT NULL);"
    "CREATE INDEX conn_history_name ON conn_history (name, version);"
    "INSERT INTO conn_history (name, version, action, modified_by, modified_on, definition)"
    "  SELECT name, version, 'create',"
    "    COALESCE(json_extract(definition, '$.creationTag.lastModifiedBy.login'), '?'),"
    "    COALESCE(json_extract(definition, '$.creationTag.lastModifiedOn'), 0), definition"
    "  FROM connections;"
    "CREATE TABLE datasets (project TEXT NOT NULL, name TEXT NOT NULL, type TEXT NOT NULL,"
    "  connection TEXT, definition TEXT NOT NULL, PRIMARY KEY (project, name)) WITHOUT ROWID;"
    "CREATE INDEX datasets_connection ON datasets (connection);",
    /* 4: one page less written by every change (docs/PERFORMANCE.md, change 39): the history
     * and the audit trail numbered without AUTOINCREMENT, so that no change rewrites
     * sqlite_sequence's page. Neither table ever loses its newest row (the audit trail only
     * when a purge takes every record, and then its timestamps still order the records that
     * follow after the old ones), so max(seq) + 1 gives the numbers AUTOINCREMENT gave. */
    "CREATE TABLE conn_history_4 (seq INTEGER PRIMARY KEY, name TEXT NOT NULL,"
    "  version INTEGER NOT NULL, action TEXT NOT NULL, modified_by TEXT NOT NULL,"
    "  modified_on INTEGER NOT NULL, definition TEXT NOT NULL);"
    "INSERT INTO conn_history_4 (seq, name, version, action, modified_by, modified_on,"
    "  definition) SELECT seq, name, version, action, modified_by, modified_on, definition"
    "  FROM conn_history;"
    "DROP TABLE conn_history;"
    "ALTER TABLE conn_history_4 RENAME TO conn_history;"
    "CREATE INDEX conn_history_name ON conn_history (name, version);"
    "CREATE TABLE audit_4 (seq INTEGER PRIMARY KEY, ts INTEGER NOT NULL, record TEXT NOT NULL);"
    "INSERT INTO audit_4 (seq, ts, record) SELECT seq, ts, record FROM audit;"
    "DROP TABLE audit;"
    "ALTER TABLE audit_4 RENAME TO audit;"
    "CREATE INDEX audit_ts ON audit (ts);",
};

#define N_MIGRATIONS ((int)(sizeof(migrations) / sizeof(migrations[0])))

/* The transaction statements of one nesting level (sq_tx): BEGIN IMMEDIATE or SAVEPOINT spN,
 * COMMIT or RELEASE spN, ROLLBACK or ROLLBACK TO spN. Prepared once per handle for the levels
 * below TX_LEVELS, like the other statements, instead of parsed again by sqlite3_exec on every
 * transaction (3 % of a create's CPU); deeper savepoints, which nothing takes today, still are. */
enum { TX_STMT_BEGIN, TX_STMT_COMMIT, TX_STMT_ROLLBACK, N_TX_STMTS };
#define TX_LEVELS 4

struct handle {
    struct store_conn c; /* first: a struct store_conn * is a struct handle * */
    struct sqlite_store *st;
    sqlite3 *db;
    sqlite3_stmt *stmts[N_STMTS];
    sqlite3_stmt *txs[TX_LEVELS][N_TX_STMTS]; /* sq_tx's statements, prepared on first use */
    bool no_wait; /* this commit need not wait for the disk (STMT_RELAXED) */
};

/* Group commit state (see the file comment). */
struct durability {
    pthread_mutex_t lock;
    pthread_cond_t done;
    uint64_t committed;        /* commits made so far */
    uint64_t synced;           /* commits known to be on disk */
    bool syncing;              /* a thread is running the fdatasync */
    int wal_fd;                /* the WAL file, opened on first use */
    atomic_bool checkpointing; /* a thread is running a checkpoint */
};

struct sqlite_store {
    struct store base; /* first: a struct store * is a struct sqlite_store * */
    char *path;
    struct durability dur;
};

static void sq_close(struct store *st);
static const struct backend_ops sqlite_ops;

/* Maps an SQLite result to an error kind and a message that names the operation only. */
static enum sb_err_kind db_fail(struct handle *h, int rc, const char *what, struct sb_err *err)
{
    int primary = rc & 0xff;
    enum sb_err_kind kind = SB_ERR_INTERNAL;

    if (primary == SQLITE_BUSY || primary == SQLITE_LOCKED || primary == SQLITE_FULL ||
        primary == SQLITE_IOERR || primary == SQLITE_CANTOPEN || primary == SQLITE_READONLY ||
        primary == SQLITE_NOMEM || primary == SQLITE_PROTOCOL)
        kind = SB_ERR_UNAVAILABLE;
    log_error("store: %s failed: %s (%d)", what,
              h && h->db ? sqlite3_errmsg(h->db) : sqlite3_errstr(rc), rc);
    if (kind == SB_ERR_UNAVAILABLE)
        return sb_err_set(err, kind, "The store cannot %s right now (%s); try again later.", what,
                          sqlite3_errstr(rc));
    return sb_err_set(err, kind, "The store failed to %s (%s).", what, sqlite3_errstr(rc));
}

static void sq_conn_close(struct store_conn *c)
{
    struct handle *h = (struct handle *)c;

    for (int i = 0; i < N_STMTS; i++)
        sqlite3_finalize(h->stmts[i]);
    for (int l = 0; l < TX_LEVELS; l++)
        for (int i = 0; i < N_TX_STMTS; i++)
            sqlite3_finalize(h->txs[l][i]);
    sqlite3_close(h->db);
    free(h);
}

static int exec_sql(sqlite3 *db, const char *sql)
{
    return sqlite3_exec(db, sql, NULL, NULL, NULL);
}

/* Returns once commit number MY is on disk; false if the fsync failed. */
static bool durable_wait(struct durability *d, const char *wal_path, uint64_t my)
{
    bool ok = true;

    pthread_mutex_lock(&d->lock);
    while (d->synced < my) {
        if (d->syncing) {
            pthread_cond_wait(&d->done, &d->lock);
            continue;
        }
        uint64_t target = d->committed;
        d->syncing = true;
        pthread_mutex_unlock(&d->lock);
        if (d->wal_fd < 0)
            d->wal_fd = open(wal_path, O_RDONLY | O_CLOEXEC); /* only the syncing thread */
        bool synced = d->wal_fd >= 0 && fdatasync(d->wal_fd) == 0;
        pthread_mutex_lock(&d->lock);
        d->syncing = false;
        if (synced && target > d->synced)
            d->synced = target;
        pthread_cond_broadcast(&d->done);
        if (!synced) {
            ok = false;
            break;
        }
    }
    pthread_mutex_unlock(&d->lock);
    return ok;
}

#define CHECKPOINT_PAGES 1000  /* SQLite's default auto-checkpoint threshold */
#define CHECKPOINT_BUSY_MS 100 /* a checkpoint waits this long at most for others to let it run */

/* The checkpoint's busy handler: gives up after CHECKPOINT_BUSY_MS (the next commit tries
 * again) rather than holding up its own commit's answer. */
static int busy_checkpoint(void *arg, int count)
{
    (void)arg;
    if (count * 50 >= CHECKPOINT_BUSY_MS * 1000)
        return 0;
    usleep(50);
    return 1;
}

static int busy_wait(void *arg, int count);

/* Copies the WAL of H's database back into it once it holds PAGES >= CHECKPOINT_PAGES, one
 * thread at a time. A RESTART checkpoint, not SQLite's passive one: it waits (briefly) for the
 * other writers and readers, so that the next writer starts the WAL over. A passive checkpoint
 * beside concurrent writers never finds the WAL quiet: the WAL then never restarted (after an
 * import of 10,000 it had reached 106 MB) and every commit paid a checkpoint and its fsyncs. */
static void checkpoint(struct handle *h, sqlite3 *db)
{
    struct durability *d = &h->st->dur;

    if (atomic_exchange(&d->checkpointing, true))
        return; /* another thread is at it */
    sqlite3_busy_handler(db, busy_checkpoint, NULL);
    /* (given up on, it has still copied what it could without waiting, as a passive one) */
    sqlite3_wal_checkpoint_v2(db, NULL, SQLITE_CHECKPOINT_RESTART, NULL, NULL);
    sqlite3_busy_handler(db, busy_wait, NULL);
    atomic_store(&d->checkpointing, false);
}

static int wal_hook(void *arg, sqlite3 *db, const char *name, int pages)
{
    struct handle *h = arg;
    struct sqlite_store *st = h->st;
    char wal_path[4200];
    uint64_t my;
    (void)name;

    pthread_mutex_lock(&st->dur.lock);
    my = ++st->dur.committed;
    pthread_mutex_unlock(&st->dur.lock);
    if (!h->no_wait && !h->c.batch) { /* (the group commit's: sq_sync) */
        snprintf(wal_path, sizeof(wal_path), "%s-wal", st->path);
        if (!durable_wait(&st->dur, wal_path, my)) {
            log_error("store: the write-ahead log could not be synced to disk: %s",
                      strerror(errno));
            return SQLITE_IOERR_FSYNC;
        }
    }
    if (pages >= CHECKPOINT_PAGES)
        checkpoint(h, db);
    return SQLITE_OK;
}

/* Waiting for another thread's write lock: poll every 50 microseconds instead of SQLite's
 * default sleeps of 1, 2, 5, 10... milliseconds, which made concurrent writers queue behind
 * naps longer than their transactions. Gives up after SB_STORE_BUSY_TIMEOUT_MS. */
static int busy_wait(void *arg, int count)
{
    (void)arg;
    if ((long long)count * 50 >= (long long)SB_STORE_BUSY_TIMEOUT_MS * 1000)
        return 0;
    usleep(50);
    return 1;
}

static struct store_conn *sq_conn_open(struct store *base, struct sb_err *err)
{
    struct sqlite_store *st = (struct sqlite_store *)base;
    struct handle *h = xcalloc(1, sizeof(*h));
    int rc;

    h->st = st;
    h->c.st = &st->base;
    rc = sqlite3_open_v2(st->path, &h->db,
                         SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_busy_handler(h->db, busy_wait, NULL);
    if (rc == SQLITE_OK)
        rc = exec_sql(h->db, "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;"
                             " PRAGMA foreign_keys = ON;");
    if (rc != SQLITE_OK) {
        db_fail(h, rc, "open the database", err);
        sq_conn_close(&h->c);
        return NULL;
    }
    sqlite3_wal_hook(h->db, wal_hook, h);
    return &h->c;
}

/* This thread's handle, opened on first use. */
static struct handle *handle_get(struct sqlite_store *st, struct sb_err *err)
{
    return (struct handle *)store_thread_conn(&st->base, err);
}

static enum sb_err_kind migrate(struct handle *h, struct sb_err *err)
{
    sqlite3_stmt *s;
    int version = 0, rc;

    rc = exec_sql(h->db, "BEGIN EXCLUSIVE");
    if (rc != SQLITE_OK)
        return db_fail(h, rc, "start the schema migration", err);
    rc = sqlite3_prepare_v2(h->db, "PRAGMA user_version", -1, &s, NULL);
    if (rc == SQLITE_OK && sqlite3_step(s) == SQLITE_ROW)
        version = sqlite3_column_int(s, 0);
    sqlite3_finalize(s);
    if (version > N_MIGRATIONS) {
        exec_sql(h->db, "ROLLBACK");
        return sb_err_set(err, SB_ERR_INTERNAL,
                          "The store '%s' has schema version %d, newer than this Switchboard "
                          "knows (%d); run a newer Switchboard.",
                          h->st->path, version, N_MIGRATIONS);
    }
    for (int v = version; v < N_MIGRATIONS; v++) {
        char pragma[64];
        rc = exec_sql(h->db, migrations[v]);
        snprintf(pragma, sizeof(pragma), "PRAGMA user_version = %d", v + 1);
        if (rc == SQLITE_OK)
            rc = exec_sql(h->db, pragma);
        if (rc != SQLITE_OK) {
            db_fail(h, rc, "apply a schema migration", err);
            exec_sql(h->db, "ROLLBACK");
            return err->kind;
        }
        log_info("store: schema migrated to version %d", v + 1);
    }
    rc = exec_sql(h->db, "COMMIT");
    if (rc != SQLITE_OK) {
        exec_sql(h->db, "ROLLBACK");
        return db_fail(h, rc, "commit the schema migration", err);
    }
    return SB_OK;
}

struct store *store_sqlite_open(const char *location, struct sb_err *err)
{
    struct sqlite_store *st = xcalloc(1, sizeof(*st));
    struct handle *h;

    store_base_init(&st->base, &sqlite_ops);
    st->path = xstrdup(location);
    pthread_mutex_init(&st->dur.lock, NULL);
    pthread_cond_init(&st->dur.done, NULL);
    st->dur.wal_fd = -1;
    atomic_init(&st->dur.checkpointing, false);
    h = handle_get(st, err);
    if (!h || migrate(h, err) != SB_OK) {
        sq_close(&st->base);
        return NULL;
    }
    return &st->base;
}

static void sq_close(struct store *base)
{
    struct sqlite_store *st = (struct sqlite_store *)base;
    if (!st)
        return;
    store_base_close(&st->base);
    if (st->dur.wal_fd >= 0)
        close(st->dur.wal_fd);
    pthread_mutex_destroy(&st->dur.lock);
    pthread_cond_destroy(&st->dur.done);
    free(st->path);
    free(st);
}

static long long sq_size_bytes(struct store *base)
{
    struct sqlite_store *st = (struct sqlite_store *)base;
    char wal[4200];
    struct stat sb;
    long long total = 0;

    if (stat(st->path, &sb) == 0)
        total += sb.st_size;
    snprintf(wal, sizeof(wal), "%s-wal", st->path);
    if (stat(wal, &sb) == 0)
        total += sb.st_size;
    return total;
}

/* ---- the primitives ---- */

static const char *sq_text(const struct row *r, int col)
{
    return (const char *)sqlite3_column_text((sqlite3_stmt *)r->impl, col);
}

static int64_t sq_integer(const struct row *r, int col)
{
    return sqlite3_column_int64((sqlite3_stmt *)r->impl, col);
}

/* The prepared statement ID of H, reset and with bindings cleared. */
static sqlite3_stmt *stmt(struct handle *h, enum stmt_id id, struct sb_err *err)
{
    sqlite3_stmt *s = h->stmts[id];
    int rc;

    if (s) {
        sqlite3_reset(s);
        sqlite3_clear_bindings(s);
        return s;
    }
    rc = sqlite3_prepare_v3(h->db, store_stmt_sql(id, DIALECT_SQLITE), -1,
                            SQLITE_PREPARE_PERSISTENT, &h->stmts[id], NULL);
    if (rc != SQLITE_OK) {
        db_fail(h, rc, "prepare a statement", err);
        return NULL;
    }
    return h->stmts[id];
}

static void bind_args(sqlite3_stmt *s, const struct args *a)
{
    for (int i = 0; i < a->n; i++) {
        const struct arg *v = &a->v[i];
        switch (v->type) {
        case ARG_NULL: sqlite3_bind_null(s, i + 1); break;
        case ARG_TEXT: sqlite3_bind_text(s, i + 1, v->text, -1, SQLITE_STATIC); break;
        case ARG_INT: sqlite3_bind_int64(s, i + 1, v->i); break;
        case ARG_BLOB: sqlite3_bind_blob(s, i + 1, v->text, v->len, SQLITE_STATIC); break;
        }
    }
}

static enum sb_err_kind sq_exec(struct store_conn *c, enum stmt_id id, const struct args *a,
                                row_fn fn, void *ctx, long *changes, struct sb_err *err)
{
    struct handle *h = (struct handle *)c;
    sqlite3_stmt *s = stmt(h, id, err);
    struct row r = {sq_text, sq_integer, NULL, 0};
    enum sb_err_kind kind = SB_OK;
    int rc;

    if (!s)
        return err->kind;
    bind_args(s, a);
    r.impl = s;
    h->no_wait = (store_stmts[id].flags & STMT_RELAXED) && c->tx_depth == 0;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        if (fn && kind == SB_OK)
            kind = fn(ctx, &r, err);
        r.index++;
        if (kind != SB_OK)
            break;
    }
    h->no_wait = false;
    if (kind == SB_OK && rc != SQLITE_DONE)
        kind = db_fail(h, rc, store_stmts[id].what, err);
    if (kind == SB_OK && changes)
        *changes = sqlite3_changes(h->db);
    sqlite3_reset(s);
    sqlite3_clear_bindings(s); /* the arguments are not the statement's to keep */
    return kind;
}

/* The SQL of transaction statement I (TX_STMT_*) at LEVEL, written into BUF. */
static const char *tx_sql(int i, int level, char *buf, size_t size)
{
    static const char *const top[N_TX_STMTS] = {"BEGIN IMMEDIATE", "COMMIT", "ROLLBACK"};
    static const char *const sp[N_TX_STMTS] = {"SAVEPOINT", "RELEASE", "ROLLBACK TO"};

    if (level == 0)
        return top[i];
    snprintf(buf, size, "%s sp%d", sp[i], level);
    return buf;
}

/* Runs transaction statement I at LEVEL on H: its cached statement (prepared on first use)
 * below TX_LEVELS, sqlite3_exec beyond. */
static int run_tx(struct handle *h, int i, int level)
{
    sqlite3_stmt **slot = level < TX_LEVELS ? &h->txs[level][i] : NULL;
    char buf[32];
    int rc;

    if (!slot)
        return exec_sql(h->db, tx_sql(i, level, buf, sizeof(buf)));
    if (!*slot) {
        rc = sqlite3_prepare_v3(h->db, tx_sql(i, level, buf, sizeof(buf)), -1,
                                SQLITE_PREPARE_PERSISTENT, slot, NULL);
        if (rc != SQLITE_OK)
            return rc;
    }
    rc = sqlite3_step(*slot);
    sqlite3_reset(*slot);
    return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

static enum sb_err_kind sq_tx(struct store_conn *c, enum tx_op op, int level, struct sb_err *err)
{
    struct handle *h = (struct handle *)c;
    int rc;

    if (op == TX_BEGIN)
        rc = run_tx(h, TX_STMT_BEGIN, level);
    else if (op == TX_COMMIT)
        rc = run_tx(h, TX_STMT_COMMIT, level);
    else {
        rc = run_tx(h, TX_STMT_ROLLBACK, level);
        if (level > 0) /* then out of the savepoint, as before */
            rc = run_tx(h, TX_STMT_COMMIT, level);
    }
    if (rc == SQLITE_OK || op == TX_ROLLBACK)
        return SB_OK;
    return db_fail(h, rc, op == TX_BEGIN ? "start a transaction" : "commit", err);
}

/* Returns once every commit made so far is on disk (group commit: store.c). */
static enum sb_err_kind sq_sync(struct store *base, struct sb_err *err)
{
    struct sqlite_store *st = (struct sqlite_store *)base;
    char wal_path[4200];
    uint64_t upto;

    pthread_mutex_lock(&st->dur.lock);
    upto = st->dur.committed;
    pthread_mutex_unlock(&st->dur.lock);
    snprintf(wal_path, sizeof(wal_path), "%s-wal", st->path);
    if (durable_wait(&st->dur, wal_path, upto))
        return SB_OK;
    log_error("store: the write-ahead log could not be synced to disk: %s", strerror(errno));
    return db_fail(NULL, SQLITE_IOERR_FSYNC, "commit", err);
}

static bool sq_syncing(struct store *base, bool wait)
{
    struct durability *d = &((struct sqlite_store *)base)->dur;
    bool busy;

    pthread_mutex_lock(&d->lock);
    busy = d->syncing;
    while (wait && d->syncing)
        pthread_cond_wait(&d->done, &d->lock);
    pthread_mutex_unlock(&d->lock);
    return busy;
}

static bool sq_in_tx(struct store_conn *c)
{
    return !sqlite3_get_autocommit(((struct handle *)c)->db);
}

static const struct backend_ops sqlite_ops = {
    .dialect = DIALECT_SQLITE,
    .close = sq_close,
    .size_bytes = sq_size_bytes,
    .sync = sq_sync,
    .syncing = sq_syncing,
    /* (a write transaction holds the only write lock: no per-name lock; no other node) */
    .conn = {.open = sq_conn_open,
             .close = sq_conn_close,
             .exec = sq_exec,
             .tx = sq_tx,
             .in_tx = sq_in_tx},
};
