/* SPDX-License-Identifier: Apache-2.0 */
/* The embedded store, on SQLite.
 *
 * Durability, with group commit: the database runs in WAL mode, and a commit returns only once
 * the write-ahead log holding it is on disk, so that it survives a crash or a power loss. That
 * fsync is not SQLite's (synchronous=NORMAL): the WAL hook, which SQLite calls after each
 * commit with the write lock already released, waits in durable_wait() until one fdatasync of
 * the WAL file has covered the commit. One thread at a time runs the fdatasync and it covers
 * every commit made before it started, so concurrent writers share fsyncs while each is
 * acknowledged only after its own data is durable. The hook also runs the checkpoints that
 * SQLite's auto-checkpoint would have run. Every store function is one transaction: a single
 * statement in autocommit mode, or an explicit BEGIN IMMEDIATE ... COMMIT when it takes
 * several. Audit appends alone skip the wait (see store_audit_append).
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
#include <stdatomic.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/store.h"
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
};

#define N_MIGRATIONS ((int)(sizeof(migrations) / sizeof(migrations[0])))

enum stmt_id {
    ST_META_GET,
    ST_META_INIT,
    ST_CONN_LIST,
    ST_CONN_GET,
    ST_CONN_INSERT,
    ST_CONN_REPLACE,
    ST_CONN_EXISTS,
    ST_CONN_DELETE,
    ST_KEY_INSERT,
    ST_KEY_BY_HASH,
    ST_KEY_GET,
    ST_KEY_LIST,
    ST_KEY_UPDATE,
    ST_KEY_DELETE,
    ST_META_SET,
    ST_OBJ_LIST,
    ST_OBJ_GET,
    ST_OBJ_INSERT,
    ST_OBJ_UPDATE,
    ST_OBJ_DELETE,
    ST_KEY_LIST_OWNER,
    ST_AUDIT_APPEND,
    ST_AUDIT_LIST,
    ST_HIST_NEXT,
    ST_HIST_APPEND,
    ST_HIST_LIST,
    ST_HIST_GET,
    ST_USAGES,
    ST_USAGES_COUNT,
    ST_DS_LIST,
    ST_DS_GET,
    ST_DS_INSERT,
    ST_DS_UPDATE,
    ST_DS_DELETE,
    ST_DS_DELETE_PROJECT,
    N_STMTS
};

static const char *const stmt_sql[N_STMTS] = {
    [ST_META_GET] = "SELECT value FROM meta WHERE name = ?1",
    [ST_META_INIT] = "INSERT INTO meta (name, value) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
    [ST_CONN_LIST] = "SELECT name, definition FROM connections ORDER BY name",
    [ST_CONN_GET] = "SELECT definition FROM connections WHERE name = ?1",
    [ST_CONN_INSERT] = "INSERT INTO connections (name, type, version, definition)"
                       " VALUES (?1, ?2, ?3, ?4) ON CONFLICT DO NOTHING",
    [ST_CONN_REPLACE] = "UPDATE connections SET version = ?3, definition = ?4"
                        " WHERE name = ?1 AND version = ?2",
    [ST_CONN_EXISTS] = "SELECT 1 FROM connections WHERE name = ?1",
    [ST_CONN_DELETE] = "DELETE FROM connections WHERE name = ?1",
    [ST_KEY_INSERT] = "INSERT INTO api_keys (kind, id, hash, record, owner)"
                      " VALUES (?1, ?2, ?3, ?4, ?5)",
    [ST_KEY_BY_HASH] = "SELECT kind, record FROM api_keys WHERE hash = ?1",
    [ST_KEY_GET] = "SELECT record FROM api_keys WHERE kind = ?1 AND id = ?2",
    [ST_KEY_LIST] = "SELECT record FROM api_keys WHERE kind = ?1 ORDER BY seq",
    [ST_KEY_UPDATE] = "UPDATE api_keys SET record = ?3 WHERE kind = ?1 AND id = ?2",
    [ST_KEY_DELETE] = "DELETE FROM api_keys WHERE kind = ?1 AND id = ?2",
    [ST_META_SET] = "INSERT INTO meta (name, value) VALUES (?1, ?2)"
                    " ON CONFLICT (name) DO UPDATE SET value = excluded.value",
    [ST_OBJ_LIST] = "SELECT record FROM objects WHERE coll = ?1 ORDER BY id",
    [ST_OBJ_GET] = "SELECT record FROM objects WHERE coll = ?1 AND id = ?2",
    [ST_OBJ_INSERT] = "INSERT INTO objects (coll, id, record) VALUES (?1, ?2, ?3)"
                      " ON CONFLICT DO NOTHING",
    [ST_OBJ_UPDATE] = "UPDATE objects SET record = ?3 WHERE coll = ?1 AND id = ?2",
    [ST_OBJ_DELETE] = "DELETE FROM objects WHERE coll = ?1 AND id = ?2",
    [ST_KEY_LIST_OWNER] = "SELECT record FROM api_keys WHERE kind = ?1 AND owner = ?2 ORDER BY seq",
    [ST_AUDIT_APPEND] = "INSERT INTO audit (ts, record) VALUES (?1, ?2)",
    [ST_AUDIT_LIST] = "SELECT record FROM audit WHERE ts < ?1 ORDER BY ts DESC, seq DESC LIMIT ?2",
    [ST_HIST_NEXT] = "SELECT COALESCE(MAX(version), 0) + 1 FROM conn_history WHERE name = ?1",
    [ST_HIST_APPEND] = "INSERT INTO conn_history (name, version, action, modified_by,"
                       " modified_on, definition) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    [ST_HIST_LIST] = "SELECT version, modified_by, modified_on, action, definition"
                     " FROM conn_history WHERE name = ?1 ORDER BY version, seq",
    [ST_HIST_GET] = "SELECT definition FROM conn_history WHERE name = ?1 AND version = ?2"
                    " AND action != 'delete' ORDER BY seq DESC LIMIT 1",
    [ST_USAGES] = "SELECT project, name, type FROM datasets WHERE connection = ?1"
                  " ORDER BY project, name",
    [ST_USAGES_COUNT] = "SELECT COUNT(*) FROM datasets WHERE connection = ?1",
    [ST_DS_LIST] = "SELECT definition FROM datasets WHERE project = ?1 ORDER BY name",
    [ST_DS_GET] = "SELECT definition FROM datasets WHERE project = ?1 AND name = ?2",
    [ST_DS_INSERT] = "INSERT INTO datasets (project, name, type, connection, definition)"
                     " VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT DO NOTHING",
    [ST_DS_UPDATE] = "UPDATE datasets SET type = ?3, connection = ?4, definition = ?5"
                     " WHERE project = ?1 AND name = ?2",
    [ST_DS_DELETE] = "DELETE FROM datasets WHERE project = ?1 AND name = ?2",
    [ST_DS_DELETE_PROJECT] = "DELETE FROM datasets WHERE project = ?1",
};

struct handle {
    struct sqlite_store *st;
    sqlite3 *db;
    sqlite3_stmt *stmts[N_STMTS];
    int tx_depth; /* 0: autocommit; 1: in BEGIN IMMEDIATE; more: nested SAVEPOINTs */
    bool auth_dirty; /* the open transaction wrote keys, users or groups */
    bool no_wait;    /* this commit need not wait for the disk (audit appends) */
    struct handle *prev, *next;
};

/* Group commit state (see the file comment). */
struct durability {
    pthread_mutex_t lock;
    pthread_cond_t done;
    uint64_t committed; /* commits made so far */
    uint64_t synced;    /* commits known to be on disk */
    bool syncing;       /* a thread is running the fdatasync */
    int wal_fd;         /* the WAL file, opened on first use */
};

struct sqlite_store {
    struct store base; /* first: a struct store * is a struct sqlite_store * */
    char *path;
    struct durability dur;
    atomic_ullong auth_generation; /* bumped after every committed change to principals */
    pthread_key_t tls;
    pthread_mutex_t lock; /* guards the handle list */
    struct handle *handles;
};

static void sq_close(struct store *st);
static uint64_t sq_auth_generation(struct store *st);
static long long sq_size_bytes(struct store *st);
static enum sb_err_kind sq_meta_get(struct store *st, const char *name, char **out,
                                    struct sb_err *err);
static enum sb_err_kind sq_meta_init(struct store *st, const char *name, const char *value,
                                     bool *was_set, struct sb_err *err);
static enum sb_err_kind sq_meta_set(struct store *st, const char *name, const char *value,
                                    struct sb_err *err);
static enum sb_err_kind sq_obj_list(struct store *st, enum store_collection coll, json_t **out,
                                    struct sb_err *err);
static enum sb_err_kind sq_obj_get(struct store *st, enum store_collection coll, const char *id,
                                   json_t **out, struct sb_err *err);
static enum sb_err_kind sq_obj_insert(struct store *st, enum store_collection coll, const char *id,
                                      const json_t *rec, struct sb_err *err);
static enum sb_err_kind sq_obj_update(struct store *st, enum store_collection coll, const char *id,
                                      const json_t *rec, struct sb_err *err);
static enum sb_err_kind sq_obj_delete(struct store *st, enum store_collection coll, const char *id,
                                      struct sb_err *err);
static enum sb_err_kind sq_user_delete(struct store *st, const char *login, struct sb_err *err);
static enum sb_err_kind sq_audit_append(struct store *st, const json_t *rec, struct sb_err *err);
static enum sb_err_kind sq_audit_list(struct store *st, int64_t before, int limit, json_t **out,
                                      struct sb_err *err);
static enum sb_err_kind sq_reseal_all(struct store *st, store_reseal_fn fn, void *ctx,
                                      const json_t *meta, struct sb_err *err);
static enum sb_err_kind sq_conn_list(struct store *st, json_t **out, struct sb_err *err);
static enum sb_err_kind sq_conn_scan(struct store *st, store_conn_scan_fn fn, void *ctx,
                                     struct sb_err *err);
static enum sb_err_kind sq_conn_get(struct store *st, const char *name, json_t **out,
                                    struct sb_err *err);
static enum sb_err_kind sq_conn_insert(struct store *st, const char *name, json_t *def,
                                       const char *action, struct sb_err *err);
static enum sb_err_kind sq_conn_replace(struct store *st, const char *name, const json_t *def,
                                        int64_t expected_version, const char *action,
                                        struct sb_err *err);
static enum sb_err_kind sq_conn_delete(struct store *st, const char *name, bool force,
                                       const char *who, int64_t now_ms, int64_t *deleted_version,
                                       struct sb_err *err);
static enum sb_err_kind sq_conn_history(struct store *st, const char *name, json_t **out,
                                        struct sb_err *err);
static enum sb_err_kind sq_conn_version(struct store *st, const char *name, int64_t version,
                                        json_t **out, struct sb_err *err);
static enum sb_err_kind sq_conn_usages(struct store *st, const char *name, json_t **out,
                                       struct sb_err *err);
static enum sb_err_kind sq_tx_begin(struct store *st, struct sb_err *err);
static enum sb_err_kind sq_tx_commit(struct store *st, struct sb_err *err);
static void sq_tx_rollback(struct store *st);
static enum sb_err_kind sq_ds_list(struct store *st, const char *project, json_t **out,
                                   struct sb_err *err);
static enum sb_err_kind sq_ds_get(struct store *st, const char *project, const char *name,
                                  json_t **out, struct sb_err *err);
static enum sb_err_kind sq_ds_insert(struct store *st, const char *project, const char *name,
                                     const json_t *def, struct sb_err *err);
static enum sb_err_kind sq_ds_update(struct store *st, const char *project, const char *name,
                                     const json_t *def, struct sb_err *err);
static enum sb_err_kind sq_ds_delete(struct store *st, const char *project, const char *name,
                                     struct sb_err *err);
static enum sb_err_kind sq_project_delete(struct store *st, const char *key, struct sb_err *err);
static enum sb_err_kind sq_key_insert(struct store *st, enum store_key_kind kind,
                                      const uint8_t hash[32], const json_t *rec,
                                      struct sb_err *err);
static enum sb_err_kind sq_key_bootstrap(struct store *st, const uint8_t hash[32],
                                         const json_t *rec, bool *done, struct sb_err *err);
static enum sb_err_kind sq_key_by_hash(struct store *st, const uint8_t hash[32], json_t **out,
                                       enum store_key_kind *kind, struct sb_err *err);
static enum sb_err_kind sq_key_get(struct store *st, enum store_key_kind kind, const char *id,
                                   json_t **out, struct sb_err *err);
static enum sb_err_kind sq_key_list(struct store *st, enum store_key_kind kind, const char *owner,
                                    json_t **out, struct sb_err *err);
static enum sb_err_kind sq_key_update(struct store *st, enum store_key_kind kind, const char *id,
                                      const json_t *rec, struct sb_err *err);
static enum sb_err_kind sq_key_delete(struct store *st, enum store_key_kind kind, const char *id,
                                      struct sb_err *err);

/* Maps an SQLite result to an error kind and a message that names the operation only. */
static enum sb_err_kind db_fail(struct handle *h, int rc, const char *what, struct sb_err *err)
{
    int primary = rc & 0xff;
    enum sb_err_kind kind = SB_ERR_INTERNAL;

    if (primary == SQLITE_BUSY || primary == SQLITE_LOCKED || primary == SQLITE_FULL ||
        primary == SQLITE_IOERR || primary == SQLITE_CANTOPEN || primary == SQLITE_READONLY ||
        primary == SQLITE_NOMEM || primary == SQLITE_PROTOCOL)
        kind = SB_ERR_UNAVAILABLE;
    log_error("store: %s failed: %s (%d)", what, h && h->db ? sqlite3_errmsg(h->db) :
              sqlite3_errstr(rc), rc);
    if (kind == SB_ERR_UNAVAILABLE)
        return sb_err_set(err, kind, "The store cannot %s right now (%s); try again later.", what,
                          sqlite3_errstr(rc));
    return sb_err_set(err, kind, "The store failed to %s (%s).", what, sqlite3_errstr(rc));
}

static void handle_free(struct handle *h)
{
    for (int i = 0; i < N_STMTS; i++)
        sqlite3_finalize(h->stmts[i]);
    sqlite3_close(h->db);
    free(h);
}

static void handle_unlink(struct handle *h)
{
    struct sqlite_store *st = h->st;

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

#define CHECKPOINT_PAGES 1000 /* SQLite's default auto-checkpoint threshold */

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
    if (!h->no_wait) {
        snprintf(wal_path, sizeof(wal_path), "%s-wal", st->path);
        if (!durable_wait(&st->dur, wal_path, my)) {
            log_error("store: the write-ahead log could not be synced to disk: %s",
                      strerror(errno));
            return SQLITE_IOERR_FSYNC;
        }
    }
    if (pages >= CHECKPOINT_PAGES)
        sqlite3_wal_checkpoint_v2(db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
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

static struct handle *handle_open(struct sqlite_store *st, struct sb_err *err)
{
    struct handle *h = xcalloc(1, sizeof(*h));
    int rc;

    h->st = st;
    rc = sqlite3_open_v2(st->path, &h->db,
                         SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_busy_handler(h->db, busy_wait, NULL);
    if (rc == SQLITE_OK)
        rc = exec_sql(h->db, "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;"
                             " PRAGMA foreign_keys = ON;");
    if (rc != SQLITE_OK) {
        db_fail(h, rc, "open the database", err);
        handle_free(h);
        return NULL;
    }
    sqlite3_wal_hook(h->db, wal_hook, h);
    pthread_mutex_lock(&st->lock);
    h->next = st->handles;
    if (st->handles)
        st->handles->prev = h;
    st->handles = h;
    pthread_mutex_unlock(&st->lock);
    return h;
}

/* This thread's handle, opened on first use. */
static struct handle *handle_get(struct sqlite_store *st, struct sb_err *err)
{
    struct handle *h = pthread_getspecific(st->tls);

    if (h)
        return h;
    h = handle_open(st, err);
    if (h)
        pthread_setspecific(st->tls, h);
    return h;
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
    rc =
        sqlite3_prepare_v3(h->db, stmt_sql[id], -1, SQLITE_PREPARE_PERSISTENT, &h->stmts[id], NULL);
    if (rc != SQLITE_OK) {
        db_fail(h, rc, "prepare a statement", err);
        return NULL;
    }
    return h->stmts[id];
}

static int bind_text(sqlite3_stmt *s, int i, const char *text)
{
    return sqlite3_bind_text(s, i, text, -1, SQLITE_TRANSIENT);
}

/* Binds the compact JSON text of V; the text is freed by SQLite. */
static int bind_json(sqlite3_stmt *s, int i, const json_t *v)
{
    char *text = xcheck(json_dumps(v, JSON_COMPACT));
    return sqlite3_bind_text(s, i, text, -1, free);
}

/* Parses column I of S as JSON into a new reference. */
static enum sb_err_kind column_json(sqlite3_stmt *s, int i, json_t **out, struct sb_err *err)
{
    const char *text = (const char *)sqlite3_column_text(s, i);
    json_error_t jerr;

    *out = text ? json_loads(text, 0, &jerr) : NULL;
    if (!*out)
        return sb_err_set(err, SB_ERR_INTERNAL, "A stored record is not valid JSON.");
    return SB_OK;
}

/* Runs S to completion (a write); returns the SQLite result. */
static int step_done(sqlite3_stmt *s)
{
    int rc = sqlite3_step(s);
    return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

/* Steps S (bound) and collects column 0 of every row as JSON into a new array *OUT. */
static enum sb_err_kind collect_json_rows(struct handle *h, sqlite3_stmt *s, const char *what,
                                          json_t **out, struct sb_err *err)
{
    json_t *all = xcheck(json_array()), *rec;
    int rc;

    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        if (column_json(s, 0, &rec, err) != SB_OK) {
            json_decref(all);
            sqlite3_reset(s);
            return err->kind;
        }
        json_array_append_new(all, rec);
    }
    sqlite3_reset(s);
    if (rc != SQLITE_DONE) {
        json_decref(all);
        return db_fail(h, rc, what, err);
    }
    *out = all;
    return SB_OK;
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

static uint64_t sq_auth_generation(struct store *base)
{
    struct sqlite_store *st = (struct sqlite_store *)base;
    return atomic_load(&st->auth_generation);
}

/* Transactions nest: the outermost is BEGIN IMMEDIATE (the write lock is taken up front, so a
 * transaction that reads then writes never fails on a stale snapshot), inner ones are
 * savepoints. Each store function that takes several statements wraps them in tx_begin /
 * tx_end, so that it is atomic alone and also composes inside store_tx_begin/commit. */
static enum sb_err_kind tx_begin(struct handle *h, struct sb_err *err)
{
    char sql[48];
    int rc;

    if (h->tx_depth == 0)
        snprintf(sql, sizeof(sql), "BEGIN IMMEDIATE");
    else
        snprintf(sql, sizeof(sql), "SAVEPOINT sp%d", h->tx_depth);
    rc = exec_sql(h->db, sql);
    if (rc != SQLITE_OK)
        return db_fail(h, rc, "start a transaction", err);
    h->tx_depth++;
    return SB_OK;
}

/* Commits (or releases) when KIND is SB_OK, rolls back otherwise; returns the final kind. */
static enum sb_err_kind tx_end(struct handle *h, enum sb_err_kind kind, struct sb_err *err)
{
    char sql[64];
    int rc;

    h->tx_depth--;
    if (kind == SB_OK) {
        if (h->tx_depth == 0)
            snprintf(sql, sizeof(sql), "COMMIT");
        else
            snprintf(sql, sizeof(sql), "RELEASE sp%d", h->tx_depth);
        rc = exec_sql(h->db, sql);
        if (rc == SQLITE_OK)
            goto out;
        kind = db_fail(h, rc, "commit", err);
    }
    if (h->tx_depth == 0)
        exec_sql(h->db, "ROLLBACK");
    else {
        snprintf(sql, sizeof(sql), "ROLLBACK TO sp%d; RELEASE sp%d", h->tx_depth, h->tx_depth);
        exec_sql(h->db, sql);
    }
out:
    if (h->tx_depth == 0 && h->auth_dirty) {
        h->auth_dirty = false;
        atomic_fetch_add(&h->st->auth_generation, 1);
    }
    return kind;
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

    st->base.ops = &store_sqlite_ops;
    st->path = xstrdup(location);
    pthread_mutex_init(&st->lock, NULL);
    pthread_mutex_init(&st->dur.lock, NULL);
    pthread_cond_init(&st->dur.done, NULL);
    st->dur.wal_fd = -1;
    if (pthread_key_create(&st->tls, handle_thread_exit) != 0)
        abort();
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
    struct handle *h, *next;

    if (!st)
        return;
    pthread_setspecific(st->tls, NULL);
    pthread_key_delete(st->tls);
    for (h = st->handles; h; h = next) {
        next = h->next;
        handle_free(h);
    }
    pthread_mutex_destroy(&st->lock);
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

/* Declares H for the calling thread or returns ERR's kind. */
#define WITH_HANDLE(h, st, err)                                                                    \
    struct handle *h = handle_get((st), (err));                                                    \
    if (!h)                                                                                        \
        return (err)->kind;

/* ---- meta ---- */

static enum sb_err_kind sq_meta_get(struct store *base, const char *name, char **out,
                                struct sb_err *err)
{
    struct sqlite_store *st = (struct sqlite_store *)base;
    WITH_HANDLE(h, st, err);
    sqlite3_stmt *s = stmt(h, ST_META_GET, err);
    int rc;

    if (!s)
        return err->kind;
    bind_text(s, 1, name);
    rc = sqlite3_step(s);
    *out = rc == SQLITE_ROW ? xstrdup((const char *)sqlite3_column_text(s, 0)) : NULL;
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return db_fail(h, rc, "read a setting", err);
    sqlite3_reset(s);
    return SB_OK;
}

static enum sb_err_kind sq_meta_init(struct store *base, const char *name, const char *value,
                                 bool *was_set, struct sb_err *err)
{
    struct sqlite_store *st = (struct sqlite_store *)base;
    WITH_HANDLE(h, st, err);
    sqlite3_stmt *s = stmt(h, ST_META_INIT, err);
    int rc;

    if (!s)
        return err->kind;
    bind_text(s, 1, name);
    bind_text(s, 2, value);
    rc = step_done(s);
    if (rc != SQLITE_OK)
        return db_fail(h, rc, "write a setting", err);
    *was_set = sqlite3_changes(h->db) == 0;
    return SB_OK;
}

/* ---- connections ---- */

static enum sb_err_kind sq_conn_list(struct store *base, json_t **out, struct sb_err *err)
{
    struct sqlite_store *st = (struct sqlite_store *)base;
    WITH_HANDLE(h, st, err);
    sqlite3_stmt *s = stmt(h, ST_CONN_LIST, err);
    json_t *all, *def;
    int rc;

    if (!s)
        return err->kind;
    all = xcheck(json_object());
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        if (column_json(s, 1, &def, err) != SB_OK) {
            json_decref(all);
            sqlite3_reset(s);
            return err->kind;
        }
        json_object_set_new(all, (const char *)sqlite3_column_text(s, 0), def);
    }
    sqlite3_reset(s);
    if (rc != SQLITE_DONE) {
        json_decref(all);
        return db_fail(h, rc, "list connections", err);
    }
    *out = all;
    return SB_OK;
}

static enum sb_err_kind sq_conn_scan(struct store *base, store_conn_scan_fn fn, void *ctx,
                                 struct sb_err *err)
{
    struct sqlite_store *st = (struct sqlite_store *)base;
    WITH_HANDLE(h, st, err);
    sqlite3_stmt *s;
    int rc;

    rc = sqlite3_prepare_v2(h->db,
                            "SELECT name, type, version, json_extract(definition, '$.usableBy'),"
                            " json_extract(definition, '$.allowedGroups'), definition"
                            " FROM connections",
                            -1, &s, NULL);
    if (rc != SQLITE_OK)
        return db_fail(h, rc, "read the connections", err);
    while ((rc = sqlite3_step(s)) == SQLITE_ROW)
        fn(ctx, (const char *)sqlite3_column_text(s, 0), (const char *)sqlite3_column_text(s, 1),
           sqlite3_column_int64(s, 2), (const char *)sqlite3_column_text(s, 3),
           (const char *)sqlite3_column_text(s, 4), (const char *)sqlite3_column_text(s, 5));
    sqlite3_finalize(s);
    return rc == SQLITE_DONE ? SB_OK : db_fail(h, rc, "read the connections", err);
}

static enum sb_err_kind sq_conn_get(struct store *base, const char *name, json_t **out,
                                struct sb_err *err)
{
    struct sqlite_store *st = (struct sqlite_store *)base;
    WITH_HANDLE(h, st, err);
    sqlite3_stmt *s = stmt(h, ST_CONN_GET, err);
    enum sb_err_kind kind = SB_OK;
    int rc;

    if (!s)
        return err->kind;
    bind_text(s, 1, name);
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        kind = column_json(s, 0, out, err);
    else if (rc == SQLITE_DONE)
        kind = sb_err_set(err, SB_ERR_NOT_FOUND, "Connection '%s' does not exist.", name);
    else
        kind = db_fail(h, rc, "read a connection", err);
    sqlite3_reset(s);
    return kind;
}

/* Appends version VERSION of NAME to the history. */
static enum sb_err_kind history_append(struct handle *h, const char *name, int64_t version,
                                       const char *action, const char *who, int64_t when,
                                       const json_t *def, struct sb_err *err)
{
    sqlite3_stmt *s = stmt(h, ST_HIST_APPEND, err);
    int rc;

    if (!s)
        return err->kind;
    bind_text(s, 1, name);
    sqlite3_bind_int64(s, 2, version);
    bind_text(s, 3, action);
    bind_text(s, 4, who);
    sqlite3_bind_int64(s, 5, when);
    bind_json(s, 6, def);
    rc = step_done(s);
    return rc == SQLITE_OK ? SB_OK : db_fail(h, rc, "record the connection's history", err);
}

static const char *tag_login(const json_t *def)
{
    const char *who = json_string_value(
        json_object_get(json_object_get(json_object_get(def, "creationTag"), "lastModifiedBy"),
                        "login"));
    return who ? who : "?";
}

static int64_t tag_time(const json_t *def)
{
    return json_integer_value(json_object_get(json_object_get(def, "creationTag"),
                                              "lastModifiedOn"));
}

static enum sb_err_kind conn_insert(struct handle *h, const char *name, json_t *def,
                                    const char *action, struct sb_err *err)
{
    sqlite3_stmt *s = stmt(h, ST_HIST_NEXT, err);
    json_t *tag = json_object_get(def, "creationTag");
    int64_t version;
    int rc;

    if (!s)
        return err->kind;
    bind_text(s, 1, name);
    rc = sqlite3_step(s);
    version = rc == SQLITE_ROW ? sqlite3_column_int64(s, 0) : 1;
    sqlite3_reset(s);
    if (rc != SQLITE_ROW)
        return db_fail(h, rc, "read the connection's history", err);
    if (json_is_object(tag))
        json_object_set_new(tag, "versionNumber", json_integer(version));

    if (!(s = stmt(h, ST_CONN_INSERT, err)))
        return err->kind;
    bind_text(s, 1, name);
    bind_text(s, 2, json_string_value(json_object_get(def, "type")));
    sqlite3_bind_int64(s, 3, version);
    bind_json(s, 4, def);
    rc = step_done(s);
    if (rc != SQLITE_OK)
        return db_fail(h, rc, "save the connection", err);
    if (sqlite3_changes(h->db) == 0)
        return sb_err_set(err, SB_ERR_CONFLICT, "Connection '%s' already exists.", name);
    return history_append(h, name, version, action, tag_login(def), tag_time(def), def, err);
}

static enum sb_err_kind sq_conn_insert(struct store *base, const char *name, json_t *def,
                                   const char *action, struct sb_err *err)
{
    struct sqlite_store *st = (struct sqlite_store *)base;
    WITH_HANDLE(h, st, err);

    if (tx_begin(h, err) != SB_OK)
        return err->kind;
    return tx_end(h, conn_insert(h, name, def, action, err), err);
}

static enum sb_err_kind conn_replace(struct handle *h, const char *name, const json_t *def,
                                     int64_t expected_version, const char *action,
                                     struct sb_err *err)
{
    sqlite3_stmt *s = stmt(h, ST_CONN_REPLACE, err);
    int64_t version = json_integer_value(json_object_get(json_object_get(def, "creationTag"),
                                                         "versionNumber"));
    int rc;

    if (!s)
        return err->kind;
    bind_text(s, 1, name);
    sqlite3_bind_int64(s, 2, expected_version);
    sqlite3_bind_int64(s, 3, version);
    bind_json(s, 4, def);
    rc = step_done(s);
    if (rc != SQLITE_OK)
        return db_fail(h, rc, "save the connection", err);
    if (sqlite3_changes(h->db) == 1)
        return history_append(h, name, version, action, tag_login(def), tag_time(def), def, err);

    /* nothing matched: gone, or changed since the caller read it */
    s = stmt(h, ST_CONN_EXISTS, err);
    if (!s)
        return err->kind;
    bind_text(s, 1, name);
    rc = sqlite3_step(s);
    sqlite3_reset(s);
    if (rc == SQLITE_ROW)
        return sb_err_set(err, SB_ERR_CONFLICT,
                          "Connection '%s' was changed by someone else while this update was "
                          "being made; read it again and reapply the change.", name);
    if (rc == SQLITE_DONE)
        return sb_err_set(err, SB_ERR_NOT_FOUND, "Connection '%s' does not exist.", name);
    return db_fail(h, rc, "read a connection", err);
}

static enum sb_err_kind sq_conn_replace(struct store *base, const char *name, const json_t *def,
                                    int64_t expected_version, const char *action,
                                    struct sb_err *err)
{
    struct sqlite_store *st = (struct sqlite_store *)base;
    WITH_HANDLE(h, st, err);

    if (tx_begin(h, err) != SB_OK)
        return err->kind;
    return tx_end(h, conn_replace(h, name, def, expected_version, action, err), err);
}

/* Fails with SB_ERR_CONFLICT listing (at most 20 of) the datasets that use NAME. */
static enum sb_err_kind conn_unused(struct handle *h, const char *name, struct sb_err *err)
{
    sqlite3_stmt *s = stmt(h, ST_USAGES_COUNT, err);
    char list[SB_ERR_MSG_MAX - 512] = "";
    int64_t count;
    int rc, shown = 0;

    if (!s)
        return err->kind;
    bind_text(s, 1, name);
    rc = sqlite3_step(s);
    count = rc == SQLITE_ROW ? sqlite3_column_int64(s, 0) : 0;
    sqlite3_reset(s);
    if (rc != SQLITE_ROW)
        return db_fail(h, rc, "count the connection's usages", err);
    if (count == 0)
        return SB_OK;
    if (!(s = stmt(h, ST_USAGES, err)))
        return err->kind;
    bind_text(s, 1, name);
    while (shown < 20 && sqlite3_step(s) == SQLITE_ROW) {
        char item[160];
        snprintf(item, sizeof(item), "%s%s.%s", shown ? ", " : "", sqlite3_column_text(s, 0),
                 sqlite3_column_text(s, 1));
        if (strlen(list) + strlen(item) + 1 >= sizeof(list))
            break;
        strcat(list, item);
        shown++;
    }
    sqlite3_reset(s);
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

static enum sb_err_kind conn_delete(struct handle *h, const char *name, bool force,
                                    const char *who, int64_t now_ms, int64_t *deleted_version,
                                    struct sb_err *err)
{
    sqlite3_stmt *s = stmt(h, ST_CONN_GET, err);
    json_t *def = NULL;
    int64_t version;
    enum sb_err_kind kind;
    int rc;

    if (!s)
        return err->kind;
    bind_text(s, 1, name);
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        kind = column_json(s, 0, &def, err);
    else if (rc == SQLITE_DONE)
        kind = sb_err_set(err, SB_ERR_NOT_FOUND, "Connection '%s' does not exist.", name);
    else
        kind = db_fail(h, rc, "read a connection", err);
    sqlite3_reset(s);
    if (kind != SB_OK)
        return kind;
    if (!force && conn_unused(h, name, err) != SB_OK)
        goto out;
    if (!(s = stmt(h, ST_CONN_DELETE, err)))
        goto out;
    bind_text(s, 1, name);
    if ((rc = step_done(s)) != SQLITE_OK) {
        db_fail(h, rc, "delete the connection", err);
        goto out;
    }
    version = json_integer_value(json_object_get(json_object_get(def, "creationTag"),
                                                 "versionNumber")) + 1;
    *deleted_version = version;
    history_append(h, name, version, "delete", who, now_ms, def, err);
out:
    json_decref(def);
    return err->kind;
}

static enum sb_err_kind sq_conn_delete(struct store *base, const char *name, bool force,
                                   const char *who, int64_t now_ms, int64_t *deleted_version,
                                   struct sb_err *err)
{
    struct sqlite_store *st = (struct sqlite_store *)base;
    WITH_HANDLE(h, st, err);

    sb_err_clear(err);
    *deleted_version = 0;
    if (tx_begin(h, err) != SB_OK)
        return err->kind;
    return tx_end(h, conn_delete(h, name, force, who, now_ms, deleted_version, err), err);
}

static enum sb_err_kind sq_conn_history(struct store *base, const char *name, json_t **out,
                                    struct sb_err *err)
{
    struct sqlite_store *st = (struct sqlite_store *)base;
    WITH_HANDLE(h, st, err);
    sqlite3_stmt *s = stmt(h, ST_HIST_LIST, err);
    json_t *all, *def;
    int rc;

    if (!s)
        return err->kind;
    bind_text(s, 1, name);
    all = xcheck(json_array());
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        if (column_json(s, 4, &def, err) != SB_OK) {
            sqlite3_reset(s);
            json_decref(all);
            return err->kind;
        }
        json_array_append_new(all, xcheck(json_pack(
            "{s:I, s:s, s:I, s:s, s:o}", "versionNumber", (json_int_t)sqlite3_column_int64(s, 0),
            "modifiedBy", (const char *)sqlite3_column_text(s, 1), "modifiedOn",
            (json_int_t)sqlite3_column_int64(s, 2), "action",
            (const char *)sqlite3_column_text(s, 3), "definition", def)));
    }
    sqlite3_reset(s);
    if (rc != SQLITE_DONE) {
        json_decref(all);
        return db_fail(h, rc, "read the connection's history", err);
    }
    if (json_array_size(all) == 0) {
        json_decref(all);
        return sb_err_set(err, SB_ERR_NOT_FOUND, "Connection '%s' has no history: it never "
                          "existed.", name);
    }
    *out = all;
    return SB_OK;
}

static enum sb_err_kind sq_conn_version(struct store *base, const char *name, int64_t version,
                                    json_t **out, struct sb_err *err)
{
    struct sqlite_store *st = (struct sqlite_store *)base;
    WITH_HANDLE(h, st, err);
    sqlite3_stmt *s = stmt(h, ST_HIST_GET, err);
    enum sb_err_kind kind;
    int rc;

    if (!s)
        return err->kind;
    bind_text(s, 1, name);
    sqlite3_bind_int64(s, 2, version);
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        kind = column_json(s, 0, out, err);
    else if (rc == SQLITE_DONE)
        kind = sb_err_set(err, SB_ERR_NOT_FOUND,
                          "Connection '%s' has no version %lld to revert to.", name,
                          (long long)version);
    else
        kind = db_fail(h, rc, "read the connection's history", err);
    sqlite3_reset(s);
    return kind;
}

static enum sb_err_kind sq_conn_usages(struct store *base, const char *name, json_t **out,
                                   struct sb_err *err)
{
    struct sqlite_store *st = (struct sqlite_store *)base;
    WITH_HANDLE(h, st, err);
    sqlite3_stmt *s = stmt(h, ST_USAGES, err);
    json_t *all;
    int rc;

    if (!s)
        return err->kind;
    bind_text(s, 1, name);
    all = xcheck(json_array());
    while ((rc = sqlite3_step(s)) == SQLITE_ROW)
        json_array_append_new(all, xcheck(json_pack(
            "{s:s, s:s, s:s}", "projectKey", (const char *)sqlite3_column_text(s, 0),
            "datasetName", (const char *)sqlite3_column_text(s, 1), "datasetType",
            (const char *)sqlite3_column_text(s, 2))));
    sqlite3_reset(s);
    if (rc != SQLITE_DONE) {
        json_decref(all);
        return db_fail(h, rc, "list the connection's usages", err);
    }
    *out = all;
    return SB_OK;
}

/* ---- transactions ---- */

static enum sb_err_kind sq_tx_begin(struct store *base, struct sb_err *err)
{
    struct sqlite_store *st = (struct sqlite_store *)base;
    WITH_HANDLE(h, st, err);
    return tx_begin(h, err);
}

static enum sb_err_kind sq_tx_commit(struct store *base, struct sb_err *err)
{
    struct sqlite_store *st = (struct sqlite_store *)base;
    WITH_HANDLE(h, st, err);
    return tx_end(h, SB_OK, err);
}

static void sq_tx_rollback(struct store *base)
{
    struct sqlite_store *st = (struct sqlite_store *)base;
    struct sb_err err;
    struct handle *h = handle_get(st, &err);

    if (h && h->tx_depth > 0)
        tx_end(h, SB_ERR_INTERNAL, &err);
}

/* ---- datasets ---- */

static const char *ds_connection(const json_t *def)
{
    return json_string_value(json_object_get(json_object_get(def, "params"), "connection"));
}

static enum sb_err_kind sq_ds_list(struct store *base, const char *project, json_t **out,
                               struct sb_err *err)
{
    struct sqlite_store *st = (struct sqlite_store *)base;
    WITH_HANDLE(h, st, err);
    sqlite3_stmt *s = stmt(h, ST_DS_LIST, err);

    if (!s)
        return err->kind;
    bind_text(s, 1, project);
    return collect_json_rows(h, s, "list datasets", out, err);
}

static enum sb_err_kind sq_ds_get(struct store *base, const char *project, const char *name,
                              json_t **out, struct sb_err *err)
{
    struct sqlite_store *st = (struct sqlite_store *)base;
    WITH_HANDLE(h, st, err);
    sqlite3_stmt *s = stmt(h, ST_DS_GET, err);
    enum sb_err_kind kind;
    int rc;

    if (!s)
        return err->kind;
    bind_text(s, 1, project);
    bind_text(s, 2, name);
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        kind = column_json(s, 0, out, err);
    else if (rc == SQLITE_DONE)
        kind = sb_err_set(err, SB_ERR_NOT_FOUND, "Dataset '%s' does not exist in project '%s'.",
                          name, project);
    else
        kind = db_fail(h, rc, "read a dataset", err);
    sqlite3_reset(s);
    return kind;
}

static enum sb_err_kind ds_write(struct sqlite_store *st, enum stmt_id id, const char *project,
                                 const char *name, const json_t *def, struct sb_err *err)
{
    WITH_HANDLE(h, st, err);
    sqlite3_stmt *s = stmt(h, id, err);
    int rc;

    if (!s)
        return err->kind;
    bind_text(s, 1, project);
    bind_text(s, 2, name);
    if (def) {
        bind_text(s, 3, json_string_value(json_object_get(def, "type")));
        if (ds_connection(def))
            bind_text(s, 4, ds_connection(def));
        bind_json(s, 5, def);
    }
    rc = step_done(s);
    if (rc != SQLITE_OK)
        return db_fail(h, rc, "save the dataset", err);
    if (sqlite3_changes(h->db) == 0)
        return id == ST_DS_INSERT
                   ? sb_err_set(err, SB_ERR_CONFLICT,
                                "Dataset '%s' already exists in project '%s'.", name, project)
                   : sb_err_set(err, SB_ERR_NOT_FOUND,
                                "Dataset '%s' does not exist in project '%s'.", name, project);
    return SB_OK;
}

static enum sb_err_kind sq_ds_insert(struct store *base, const char *project, const char *name,
                                 const json_t *def, struct sb_err *err)
{
    struct sqlite_store *st = (struct sqlite_store *)base;
    return ds_write(st, ST_DS_INSERT, project, name, def, err);
}

static enum sb_err_kind sq_ds_update(struct store *base, const char *project, const char *name,
                                 const json_t *def, struct sb_err *err)
{
    struct sqlite_store *st = (struct sqlite_store *)base;
    return ds_write(st, ST_DS_UPDATE, project, name, def, err);
}

static enum sb_err_kind sq_ds_delete(struct store *base, const char *project, const char *name,
                                 struct sb_err *err)
{
    struct sqlite_store *st = (struct sqlite_store *)base;
    return ds_write(st, ST_DS_DELETE, project, name, NULL, err);
}

static enum sb_err_kind sq_project_delete(struct store *base, const char *key, struct sb_err *err)
{
    struct sqlite_store *st = (struct sqlite_store *)base;
    WITH_HANDLE(h, st, err);
    sqlite3_stmt *s;
    enum sb_err_kind kind;
    int rc;

    if (tx_begin(h, err) != SB_OK)
        return err->kind;
    kind = sq_obj_delete(&st->base, STORE_PROJECTS, key, err);
    if (kind == SB_OK) {
        sq_obj_delete(&st->base, STORE_PROJECT_VARIABLES, key, err); /* may not exist */
        kind = SB_OK;
        if (!(s = stmt(h, ST_DS_DELETE_PROJECT, err))) {
            kind = err->kind;
        } else {
            bind_text(s, 1, key);
            if ((rc = step_done(s)) != SQLITE_OK)
                kind = db_fail(h, rc, "delete the project's datasets", err);
        }
    }
    return tx_end(h, kind, err);
}

/* ---- API keys ---- */

static enum sb_err_kind key_insert(struct handle *h, enum store_key_kind kind,
                                   const uint8_t hash[32], const json_t *rec, struct sb_err *err)
{
    sqlite3_stmt *s = stmt(h, ST_KEY_INSERT, err);
    int rc;

    if (!s)
        return err->kind;
    sqlite3_bind_int(s, 1, kind);
    bind_text(s, 2, json_string_value(json_object_get(rec, "id")));
    sqlite3_bind_blob(s, 3, hash, 32, SQLITE_TRANSIENT);
    bind_json(s, 4, rec);
    if (json_is_string(json_object_get(rec, "user")))
        bind_text(s, 5, json_string_value(json_object_get(rec, "user")));
    rc = step_done(s);
    if ((rc & 0xff) == SQLITE_CONSTRAINT)
        return sb_err_set(err, SB_ERR_CONFLICT, "An API key with the same id or secret exists.");
    if (rc != SQLITE_OK)
        return db_fail(h, rc, "save the API key", err);
    mark_auth_dirty(h);
    return SB_OK;
}

static enum sb_err_kind sq_key_insert(struct store *base, enum store_key_kind kind,
                                  const uint8_t hash[32], const json_t *rec, struct sb_err *err)
{
    struct sqlite_store *st = (struct sqlite_store *)base;
    WITH_HANDLE(h, st, err);
    return key_insert(h, kind, hash, rec, err);
}

static enum sb_err_kind sq_key_bootstrap(struct store *base, const uint8_t hash[32], const json_t *rec,
                                     bool *done, struct sb_err *err)
{
    struct sqlite_store *st = (struct sqlite_store *)base;
    WITH_HANDLE(h, st, err);
    sqlite3_stmt *s;
    int rc;

    *done = false;
    if (tx_begin(h, err) != SB_OK)
        return err->kind;

    if (!(s = stmt(h, ST_META_INIT, err)))
        goto fail;
    bind_text(s, 1, "bootstrap_admin_key");
    bind_text(s, 2, json_string_value(json_object_get(rec, "id")));
    if ((rc = step_done(s)) != SQLITE_OK) {
        db_fail(h, rc, "record the bootstrap key", err);
        goto fail;
    }
    if (sqlite3_changes(h->db) == 1) {
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

static enum sb_err_kind sq_key_by_hash(struct store *base, const uint8_t hash[32], json_t **out,
                                   enum store_key_kind *kind, struct sb_err *err)
{
    struct sqlite_store *st = (struct sqlite_store *)base;
    WITH_HANDLE(h, st, err);
    sqlite3_stmt *s = stmt(h, ST_KEY_BY_HASH, err);
    enum sb_err_kind rc_kind = SB_OK;
    int rc;

    if (!s)
        return err->kind;
    sqlite3_bind_blob(s, 1, hash, 32, SQLITE_TRANSIENT);
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        *kind = (enum store_key_kind)sqlite3_column_int(s, 0);
        rc_kind = column_json(s, 1, out, err);
    } else if (rc == SQLITE_DONE) {
        rc_kind = sb_err_set(err, SB_ERR_NOT_FOUND, "No such API key.");
    } else {
        rc_kind = db_fail(h, rc, "look up an API key", err);
    }
    sqlite3_reset(s);
    return rc_kind;
}

static enum sb_err_kind sq_key_get(struct store *base, enum store_key_kind kind, const char *id,
                               json_t **out, struct sb_err *err)
{
    struct sqlite_store *st = (struct sqlite_store *)base;
    WITH_HANDLE(h, st, err);
    sqlite3_stmt *s = stmt(h, ST_KEY_GET, err);
    enum sb_err_kind rc_kind = SB_OK;
    int rc;

    if (!s)
        return err->kind;
    sqlite3_bind_int(s, 1, kind);
    bind_text(s, 2, id);
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        rc_kind = column_json(s, 0, out, err);
    else if (rc == SQLITE_DONE)
        rc_kind = sb_err_set(err, SB_ERR_NOT_FOUND, "%s '%s' does not exist.", store_key_kind_noun(kind), id);
    else
        rc_kind = db_fail(h, rc, "read an API key", err);
    sqlite3_reset(s);
    return rc_kind;
}

static enum sb_err_kind sq_key_list(struct store *base, enum store_key_kind kind, const char *owner,
                                json_t **out, struct sb_err *err)
{
    struct sqlite_store *st = (struct sqlite_store *)base;
    WITH_HANDLE(h, st, err);
    sqlite3_stmt *s = stmt(h, owner ? ST_KEY_LIST_OWNER : ST_KEY_LIST, err);

    if (!s)
        return err->kind;
    sqlite3_bind_int(s, 1, kind);
    if (owner)
        bind_text(s, 2, owner);
    return collect_json_rows(h, s, "list API keys", out, err);
}

static enum sb_err_kind sq_key_update(struct store *base, enum store_key_kind kind, const char *id,
                                  const json_t *rec, struct sb_err *err)
{
    struct sqlite_store *st = (struct sqlite_store *)base;
    WITH_HANDLE(h, st, err);
    sqlite3_stmt *s = stmt(h, ST_KEY_UPDATE, err);
    int rc;

    if (!s)
        return err->kind;
    sqlite3_bind_int(s, 1, kind);
    bind_text(s, 2, id);
    bind_json(s, 3, rec);
    rc = step_done(s);
    if (rc != SQLITE_OK)
        return db_fail(h, rc, "save the API key", err);
    mark_auth_dirty(h);
    if (sqlite3_changes(h->db) == 0)
        return sb_err_set(err, SB_ERR_NOT_FOUND, "%s '%s' does not exist.", store_key_kind_noun(kind), id);
    return SB_OK;
}

static enum sb_err_kind sq_key_delete(struct store *base, enum store_key_kind kind, const char *id,
                                  struct sb_err *err)
{
    struct sqlite_store *st = (struct sqlite_store *)base;
    WITH_HANDLE(h, st, err);
    sqlite3_stmt *s = stmt(h, ST_KEY_DELETE, err);
    int rc;

    if (!s)
        return err->kind;
    sqlite3_bind_int(s, 1, kind);
    bind_text(s, 2, id);
    rc = step_done(s);
    if (rc != SQLITE_OK)
        return db_fail(h, rc, "delete the API key", err);
    mark_auth_dirty(h);
    if (sqlite3_changes(h->db) == 0)
        return sb_err_set(err, SB_ERR_NOT_FOUND, "%s '%s' does not exist.", store_key_kind_noun(kind), id);
    return SB_OK;
}

static enum sb_err_kind sq_meta_set(struct store *base, const char *name, const char *value,
                                struct sb_err *err)
{
    struct sqlite_store *st = (struct sqlite_store *)base;
    WITH_HANDLE(h, st, err);
    sqlite3_stmt *s = stmt(h, ST_META_SET, err);
    int rc;

    if (!s)
        return err->kind;
    bind_text(s, 1, name);
    bind_text(s, 2, value);
    rc = step_done(s);
    return rc == SQLITE_OK ? SB_OK : db_fail(h, rc, "write a setting", err);
}

/* ---- objects ---- */

static enum sb_err_kind sq_obj_list(struct store *base, enum store_collection coll, json_t **out,
                                struct sb_err *err)
{
    struct sqlite_store *st = (struct sqlite_store *)base;
    WITH_HANDLE(h, st, err);
    sqlite3_stmt *s = stmt(h, ST_OBJ_LIST, err);

    if (!s)
        return err->kind;
    sqlite3_bind_int(s, 1, coll);
    return collect_json_rows(h, s, "list records", out, err);
}

static enum sb_err_kind sq_obj_get(struct store *base, enum store_collection coll, const char *id,
                               json_t **out, struct sb_err *err)
{
    struct sqlite_store *st = (struct sqlite_store *)base;
    WITH_HANDLE(h, st, err);
    sqlite3_stmt *s = stmt(h, ST_OBJ_GET, err);
    enum sb_err_kind kind;
    int rc;

    if (!s)
        return err->kind;
    sqlite3_bind_int(s, 1, coll);
    bind_text(s, 2, id);
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        kind = column_json(s, 0, out, err);
    else if (rc == SQLITE_DONE)
        kind = sb_err_set(err, SB_ERR_NOT_FOUND, "%s '%s' does not exist.", store_collection_noun(coll), id);
    else
        kind = db_fail(h, rc, "read a record", err);
    sqlite3_reset(s);
    return kind;
}

static enum sb_err_kind obj_write(struct sqlite_store *st, enum stmt_id id_stmt,
                                  enum store_collection coll, const char *id, const json_t *rec,
                                  struct sb_err *err)
{
    WITH_HANDLE(h, st, err);
    sqlite3_stmt *s = stmt(h, id_stmt, err);
    int rc;

    if (!s)
        return err->kind;
    sqlite3_bind_int(s, 1, coll);
    bind_text(s, 2, id);
    if (rec)
        bind_json(s, 3, rec);
    rc = step_done(s);
    if (rc != SQLITE_OK)
        return db_fail(h, rc, "save a record", err);
    if (coll == STORE_USERS || coll == STORE_GROUPS)
        mark_auth_dirty(h);
    if (sqlite3_changes(h->db) == 0)
        return id_stmt == ST_OBJ_INSERT
                   ? sb_err_set(err, SB_ERR_CONFLICT, "%s '%s' already exists.", store_collection_noun(coll),
                                id)
                   : sb_err_set(err, SB_ERR_NOT_FOUND, "%s '%s' does not exist.", store_collection_noun(coll),
                                id);
    return SB_OK;
}

static enum sb_err_kind sq_obj_insert(struct store *base, enum store_collection coll, const char *id,
                                  const json_t *rec, struct sb_err *err)
{
    struct sqlite_store *st = (struct sqlite_store *)base;
    return obj_write(st, ST_OBJ_INSERT, coll, id, rec, err);
}

static enum sb_err_kind sq_obj_update(struct store *base, enum store_collection coll, const char *id,
                                  const json_t *rec, struct sb_err *err)
{
    struct sqlite_store *st = (struct sqlite_store *)base;
    return obj_write(st, ST_OBJ_UPDATE, coll, id, rec, err);
}

static enum sb_err_kind sq_obj_delete(struct store *base, enum store_collection coll, const char *id,
                                  struct sb_err *err)
{
    struct sqlite_store *st = (struct sqlite_store *)base;
    return obj_write(st, ST_OBJ_DELETE, coll, id, NULL, err);
}

static enum sb_err_kind sq_user_delete(struct store *base, const char *login, struct sb_err *err)
{
    struct sqlite_store *st = (struct sqlite_store *)base;
    WITH_HANDLE(h, st, err);
    sqlite3_stmt *s;
    enum sb_err_kind kind;
    int rc;

    if (tx_begin(h, err) != SB_OK)
        return err->kind;
    kind = sq_obj_delete(&st->base, STORE_USERS, login, err);
    if (kind == SB_OK) {
        rc = sqlite3_prepare_v2(h->db, "DELETE FROM api_keys WHERE kind = ?1 AND owner = ?2", -1,
                                &s, NULL);
        if (rc == SQLITE_OK) {
            sqlite3_bind_int(s, 1, STORE_KEY_PERSONAL);
            bind_text(s, 2, login);
            rc = step_done(s);
        }
        sqlite3_finalize(s);
        if (rc != SQLITE_OK)
            kind = db_fail(h, rc, "delete the user's API keys", err);
        else
            mark_auth_dirty(h);
    }
    return tx_end(h, kind, err);
}

/* ---- audit ---- */

/* Audit records are appended without waiting for the disk (outside a transaction): they
 * survive a crash of the process at once, and a power loss from the next durable commit on,
 * which every change makes. Waiting for an fsync per /info read would halve the rate of
 * credential reads for no protection of the data itself. */
static enum sb_err_kind sq_audit_append(struct store *base, const json_t *rec, struct sb_err *err)
{
    struct sqlite_store *st = (struct sqlite_store *)base;
    WITH_HANDLE(h, st, err);
    sqlite3_stmt *s = stmt(h, ST_AUDIT_APPEND, err);
    bool relaxed = h->tx_depth == 0;
    int rc;

    if (!s)
        return err->kind;
    h->no_wait = relaxed;
    sqlite3_bind_int64(s, 1, json_integer_value(json_object_get(rec, "ts")));
    bind_json(s, 2, rec);
    rc = step_done(s);
    h->no_wait = false;
    return rc == SQLITE_OK ? SB_OK : db_fail(h, rc, "append to the audit trail", err);
}

static enum sb_err_kind sq_audit_list(struct store *base, int64_t before, int limit, json_t **out,
                                  struct sb_err *err)
{
    struct sqlite_store *st = (struct sqlite_store *)base;
    WITH_HANDLE(h, st, err);
    sqlite3_stmt *s = stmt(h, ST_AUDIT_LIST, err);

    if (!s)
        return err->kind;
    sqlite3_bind_int64(s, 1, before >= 0 ? before : INT64_MAX);
    sqlite3_bind_int(s, 2, limit);
    return collect_json_rows(h, s, "read the audit trail", out, err);
}

/* ---- key rotation ---- */

/* Runs FN on every row of SELECT_SQL (key in column 0, JSON in column 1) and writes changed
 * records back with UPDATE_SQL (?1 key, ?2 JSON, ?3 collection when COLL > 0). Every row is
 * read before any is written: updating a table while a statement still walks it could visit a
 * row twice. */
static enum sb_err_kind reseal_rows(struct handle *h, const char *select_sql,
                                    const char *update_sql, int coll, store_reseal_fn fn,
                                    void *ctx, struct sb_err *err)
{
    sqlite3_stmt *sel = NULL, *upd = NULL;
    enum sb_err_kind kind = SB_OK;
    json_t *rows = xcheck(json_array()), *row;
    size_t i;
    int rc;

    rc = sqlite3_prepare_v2(h->db, select_sql, -1, &sel, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_prepare_v2(h->db, update_sql, -1, &upd, NULL);
    if (rc != SQLITE_OK) {
        kind = db_fail(h, rc, "prepare the key rotation", err);
        goto out;
    }
    if (coll > 0)
        sqlite3_bind_int(sel, 1, coll);
    while ((rc = sqlite3_step(sel)) == SQLITE_ROW) {
        json_t *rec;
        if (column_json(sel, 1, &rec, err) != SB_OK) {
            kind = err->kind;
            goto out;
        }
        json_array_append_new(rows, xcheck(json_pack("[s, o]",
                                                     (const char *)sqlite3_column_text(sel, 0),
                                                     rec)));
    }
    if (rc != SQLITE_DONE) {
        kind = db_fail(h, rc, "read records for the key rotation", err);
        goto out;
    }
    json_array_foreach(rows, i, row) {
        json_t *rec = json_array_get(row, 1);
        char *before = xcheck(json_dumps(rec, JSON_COMPACT));
        kind = fn(ctx, coll, rec, err);
        char *after = xcheck(json_dumps(rec, JSON_COMPACT));
        if (kind == SB_OK && strcmp(before, after) != 0) {
            sqlite3_reset(upd);
            bind_text(upd, 1, json_string_value(json_array_get(row, 0)));
            bind_text(upd, 2, after);
            if (coll > 0)
                sqlite3_bind_int(upd, 3, coll);
            rc = step_done(upd);
            if (rc != SQLITE_OK)
                kind = db_fail(h, rc, "save a re-encrypted record", err);
        }
        free(before);
        free(after);
        if (kind != SB_OK)
            goto out;
    }
out:
    json_decref(rows);
    sqlite3_finalize(sel);
    sqlite3_finalize(upd);
    return kind;
}

static enum sb_err_kind sq_reseal_all(struct store *base, store_reseal_fn fn, void *ctx,
                                  const json_t *meta, struct sb_err *err)
{
    struct sqlite_store *st = (struct sqlite_store *)base;
    WITH_HANDLE(h, st, err);
    sqlite3_stmt *s;
    const char *name;
    json_t *value;
    int rc;

    if (tx_begin(h, err) != SB_OK)
        return err->kind;
    if (reseal_rows(h, "SELECT name, definition FROM connections",
                    "UPDATE connections SET definition = ?2 WHERE name = ?1", 0, fn, ctx,
                    err) != SB_OK ||
        reseal_rows(h, "SELECT seq, definition FROM conn_history",
                    "UPDATE conn_history SET definition = ?2 WHERE seq = ?1", STORE_RESEAL_HISTORY,
                    fn, ctx, err) != SB_OK ||
        reseal_rows(h, "SELECT id, record FROM objects WHERE coll = ?1",
                    "UPDATE objects SET record = ?2 WHERE id = ?1 AND coll = ?3", STORE_USERS, fn,
                    ctx, err) != SB_OK)
        goto fail;
    json_object_foreach((json_t *)meta, name, value) {
        if (!(s = stmt(h, ST_META_SET, err)))
            goto fail;
        bind_text(s, 1, name);
        bind_text(s, 2, json_string_value(value));
        if ((rc = step_done(s)) != SQLITE_OK) {
            db_fail(h, rc, "record the new key check value", err);
            goto fail;
        }
    }
    return tx_end(h, SB_OK, err);
fail:
    return tx_end(h, err->kind, err);
}

const struct store_ops store_sqlite_ops = {
    .close = sq_close,
    .auth_generation = sq_auth_generation,
    .size_bytes = sq_size_bytes,
    .meta_get = sq_meta_get,
    .meta_init = sq_meta_init,
    .meta_set = sq_meta_set,
    .obj_list = sq_obj_list,
    .obj_get = sq_obj_get,
    .obj_insert = sq_obj_insert,
    .obj_update = sq_obj_update,
    .obj_delete = sq_obj_delete,
    .user_delete = sq_user_delete,
    .audit_append = sq_audit_append,
    .audit_list = sq_audit_list,
    .reseal_all = sq_reseal_all,
    .conn_list = sq_conn_list,
    .conn_scan = sq_conn_scan,
    .conn_get = sq_conn_get,
    .conn_insert = sq_conn_insert,
    .conn_replace = sq_conn_replace,
    .conn_delete = sq_conn_delete,
    .conn_history = sq_conn_history,
    .conn_version = sq_conn_version,
    .conn_usages = sq_conn_usages,
    .tx_begin = sq_tx_begin,
    .tx_commit = sq_tx_commit,
    .tx_rollback = sq_tx_rollback,
    .ds_list = sq_ds_list,
    .ds_get = sq_ds_get,
    .ds_insert = sq_ds_insert,
    .ds_update = sq_ds_update,
    .ds_delete = sq_ds_delete,
    .project_delete = sq_project_delete,
    .key_insert = sq_key_insert,
    .key_bootstrap = sq_key_bootstrap,
    .key_by_hash = sq_key_by_hash,
    .key_get = sq_key_get,
    .key_list = sq_key_list,
    .key_update = sq_key_update,
    .key_delete = sq_key_delete,
};
