/* SPDX-License-Identifier: Apache-2.0 */
/* The store: everything Switchboard keeps, behind one interface that handlers use without
 * knowing the engine. Every function is one transaction: it either happens entirely and durably
 * before it returns SB_OK, or not at all. Functions may be called from any thread; the
 * implementation keeps one engine handle per thread. Definitions and records travel as jansson
 * objects; the store does not interpret them beyond the columns it indexes.
 *
 * Errors: SB_ERR_NOT_FOUND and SB_ERR_CONFLICT as documented per function; SB_ERR_UNAVAILABLE
 * when the store cannot be reached or written durably right now (busy, disk full, I/O error);
 * SB_ERR_INTERNAL otherwise. Messages never include stored values. */
#ifndef SB_STORE_H
#define SB_STORE_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/err.h"

/* The logic lives once in store.c, over a backend (store_sqlite.c, embedded and the default, or
 * store_pg.c, several nodes) that implements the primitives of store/backend.h. */
struct store;

/* Opens the store at LOCATION (for SQLite: a file path), creating it and applying forward
 * schema migrations when needed. Caller closes with store_close. */
struct store *store_open(const char *location, struct sb_err *err);

/* Closes every per-thread handle. No other thread may use ST during or after this call. */
void store_close(struct store *st);

/* A counter bumped after every committed change to API keys, users or groups, so that a cache
 * of principals knows when to distrust itself. Sample it before reading what it guards. */
uint64_t store_auth_generation(struct store *st);

/* A value that changes after every committed write of a meta value (store_meta_set,
 * store_meta_init, a restore) by this process, never taken twice in the process (even by
 * another store): what was read after sampling it may be cached under it. Other nodes' writes
 * to a shared store do not change it. */
uint64_t store_meta_generation(struct store *st);

/* Bytes the store takes on disk (for SQLite: the database and its write-ahead log). */
long long store_size_bytes(struct store *st);

/* --- changes made by other nodes (a store shared by several nodes) --- */

/* Whether other nodes may change this store (PostgreSQL), so that caches must follow it. */
bool store_is_shared(struct store *st);

/* *COUNT: how many other Switchboard processes are connected to this store now (0 for a
 * store that is not shared). On PostgreSQL, every process's sessions carry its name
 * (application_name "switchboard/HOST/PID"), so that a node that stops or dies leaves the
 * count by itself. */
enum sb_err_kind store_other_nodes(struct store *st, int *count, struct sb_err *err);

/* Waits up to TIMEOUT_MS for changes announced by other nodes and reports each: ON_CONN for a
 * connection written (DELETED: deleted) at VERSION (OWN: by one of this process's own sessions,
 * as far as the store can tell), ON_AUTH for keys, users or groups (the auth
 * generation has moved), ON_RESET when the feed was lost and is back (reload everything).
 * SB_ERR_UNAVAILABLE while the feed is down. For a store that is not shared, returns SB_OK at
 * once. */
enum sb_err_kind store_poll_changes(struct store *st,
                                    void (*on_conn)(void *ctx, const char *name, int64_t version,
                                                    bool deleted, bool own),
                                    void (*on_auth)(void *ctx), void (*on_reset)(void *ctx),
                                    void *ctx, int timeout_ms, struct sb_err *err);

/* --- meta: small named values (schema facts, key check value, bootstrap state) --- */

/* Their names, once. */
#define STORE_META_KEY_CHECK "key_check"             /* check value of the master key */
#define STORE_META_APIKEY_HASH_KEY "apikey_hash_key" /* sealed key of the API-key hashes */
#define STORE_META_SECRETS_BINDING "secrets_binding" /* version of the secrets' binding */
#define STORE_META_BOOTSTRAP "bootstrap_admin_key"   /* id of the bootstrap admin key */
#define STORE_META_VARIABLES "variables"             /* the instance variables (JSON) */
#define STORE_META_READINESS "readiness_checked_on"  /* last write of the readiness check */
#define STORE_META_USERS_ACTIVITY "users.activity"   /* users' last activity (JSON) */

/* *OUT is a malloc'd string (caller frees), or NULL when NAME is not set. */
enum sb_err_kind store_meta_get(struct store *st, const char *name, char **out, struct sb_err *err);

/* store_meta_get inside a transaction, the value held until the transaction ends against a key
 * rotation changing it (store_reseal_all claims the key check value's row first): a sealing
 * write that reads the key check value here either commits before the rotation re-seals, or
 * starts after the rotation committed and reads the new value. PostgreSQL: FOR SHARE; SQLite:
 * its write transactions are serial. Outside a transaction: SB_ERR_INTERNAL. */
enum sb_err_kind store_meta_get_held(struct store *st, const char *name, char **out,
                                     struct sb_err *err);

/* store_meta_get_held and a comparison: fails with SB_ERR_UNAVAILABLE and MISMATCH (a static
 * string) unless NAME is set to VALUE. On PostgreSQL the check travels with the transaction's
 * next statement (no round trip of its own), whose failure it then becomes; the value is held
 * from there until the transaction ends. Outside a transaction: SB_ERR_INTERNAL. */
enum sb_err_kind store_meta_expect_held(struct store *st, const char *name, const char *value,
                                        const char *mismatch, struct sb_err *err);

/* Sets NAME to VALUE only when NAME is not set yet; *WAS_SET tells whether it was set before
 * (and then nothing changed). */
enum sb_err_kind store_meta_init(struct store *st, const char *name, const char *value,
                                 bool *was_set, struct sb_err *err);

/* Sets NAME to VALUE, replacing any previous value. */
enum sb_err_kind store_meta_set(struct store *st, const char *name, const char *value,
                                struct sb_err *err);

/* --- objects: records of a collection keyed by id (users, groups...) --- */

enum store_collection {
    STORE_USERS = 1,
    STORE_GROUPS = 2,
    STORE_PROJECTS = 3,
    STORE_PROJECT_VARIABLES = 4,
    STORE_SESSIONS = 5 /* console sessions (src/core/session.h) */
};

/* *OUT: new array of the records of COLL in id order. */
enum sb_err_kind store_obj_list(struct store *st, enum store_collection coll, json_t **out,
                                struct sb_err *err);

/* *OUT: new reference to the record; SB_ERR_NOT_FOUND when ID does not exist. */
enum sb_err_kind store_obj_get(struct store *st, enum store_collection coll, const char *id,
                               json_t **out, struct sb_err *err);

/* Inserts REC under ID; SB_ERR_CONFLICT when ID exists. */
enum sb_err_kind store_obj_insert(struct store *st, enum store_collection coll, const char *id,
                                  const json_t *rec, struct sb_err *err);

/* Replaces the record of ID; SB_ERR_NOT_FOUND when ID does not exist. */
enum sb_err_kind store_obj_update(struct store *st, enum store_collection coll, const char *id,
                                  const json_t *rec, struct sb_err *err);

/* SB_ERR_NOT_FOUND when ID does not exist. */
enum sb_err_kind store_obj_delete(struct store *st, enum store_collection coll, const char *id,
                                  struct sb_err *err);

/* Inside a transaction: holds record ID of COLL against other writers until the transaction
 * ends (PostgreSQL: its row lock; SQLite's write transactions are serial anyway), so that a
 * check-then-write on what belongs to it (a user's personal keys) is not raced. A missing ID
 * locks nothing. */
enum sb_err_kind store_obj_lock(struct store *st, enum store_collection coll, const char *id,
                                struct sb_err *err);

/* Deletes user LOGIN and every personal API key of theirs, in one transaction. */
enum sb_err_kind store_user_delete(struct store *st, const char *login, struct sb_err *err);

/* --- audit: append-only records {ts, principal, action, object, outcome, remoteAddr} --- */

enum sb_err_kind store_audit_append(struct store *st, const json_t *rec, struct sb_err *err);

/* store_audit_append of a record already serialised: TEXT (compact JSON) with its "ts" TS. */
enum sb_err_kind store_audit_append_text(struct store *st, int64_t ts, const char *text,
                                         struct sb_err *err);

/* What an audit listing keeps: for each of principal, action and object (in that order) whose
 * VALUE is not NULL, the record's field equals VALUE, or starts with it when PREFIX. */
struct audit_filter {
    struct audit_match {
        const char *value;
        bool prefix;
    } field[3];
};

/* *OUT: new array of at most LIMIT records with ts < BEFORE (all when BEFORE < 0) that match F
 * (may be NULL: all), newest first. */
enum sb_err_kind store_audit_list(struct store *st, int64_t before, int limit,
                                  const struct audit_filter *f, json_t **out, struct sb_err *err);

/* Deletes the audit records with ts < BEFORE; *DELETED (may be NULL) is how many. */
enum sb_err_kind store_audit_purge(struct store *st, int64_t before, long *deleted,
                                   struct sb_err *err);

/* --- key rotation --- */

#define STORE_RESEAL_HISTORY (-1)

/* Calls FN on every connection definition (COLL 0), every version of one in the history (COLL
 * STORE_RESEAL_HISTORY) and every user record (COLL STORE_USERS),
 * writes back the records FN changed, and sets the meta values of META (an object of name ->
 * string), all in one transaction: any error from FN changes nothing. It first claims the row
 * of STORE_META_KEY_CHECK (see store_meta_get_held). */
typedef enum sb_err_kind (*store_reseal_fn)(void *ctx, int coll, json_t *rec, struct sb_err *err);
enum sb_err_kind store_reseal_all(struct store *st, store_reseal_fn fn, void *ctx,
                                  const json_t *meta, struct sb_err *err);

/* --- connections --- */

/* *OUT: new object, name -> definition, in name order. */
enum sb_err_kind store_conn_list(struct store *st, json_t **out, struct sb_err *err);

/* Calls FN for every connection with its stored parts: NAME, TYPE, VERSION, usableBy and
 * allowedGroups (JSON text; either may be NULL) and the definition's JSON TEXT. For loading
 * caches at start without parsing every definition. */
typedef void (*store_conn_scan_fn)(void *ctx, const char *name, const char *type, int64_t version,
                                   const char *usable_by, const char *allowed_groups,
                                   const char *text);
enum sb_err_kind store_conn_scan(struct store *st, store_conn_scan_fn fn, void *ctx,
                                 struct sb_err *err);

/* *OUT: new reference to the definition; SB_ERR_NOT_FOUND when NAME does not exist. */
enum sb_err_kind store_conn_get(struct store *st, const char *name, json_t **out,
                                struct sb_err *err);

/* store_conn_get, and NAME cannot be deleted (nor changed) by anyone else until the open
 * transaction ends: for a write that must not leave a reference to a connection that no
 * longer exists (a dataset naming it). Call inside store_tx_begin / store_tx_commit. */
enum sb_err_kind store_conn_hold(struct store *st, const char *name, json_t **out,
                                 struct sb_err *err);

/* store_conn_get inside the open transaction, NAME's writers on every node held off from
 * before the read until the transaction ends (the lock each connection write takes): a replace
 * of NAME at the version read cannot meet a newer one, and on PostgreSQL it travels with the
 * COMMIT (no round trip of its own). */
enum sb_err_kind store_conn_get_locked(struct store *st, const char *name, json_t **out,
                                       struct sb_err *err);

/* Inserts DEF under NAME, as version one past the last NAME ever had (1 for a name never
 * used; a re-created name continues its old line of versions); sets DEF's
 * creationTag.versionNumber to it and records it in the history with ACTION ("create", or
 * "revert" when restoring a deleted connection). SB_ERR_CONFLICT when NAME exists. */
enum sb_err_kind store_conn_insert(struct store *st, const char *name, json_t *def,
                                   const char *action, struct sb_err *err);

/* store_conn_insert, and *TEXT (malloc'd, the caller frees it; NULL on failure) the text
 * stored: byte for byte json_dumps(DEF, JSON_COMPACT) of DEF as the insert left it, for the
 * callers that need that dump too (the catalog, the answer). */
enum sb_err_kind store_conn_insert_text(struct store *st, const char *name, json_t *def,
                                        const char *action, char **text, struct sb_err *err);

/* A connection insert whose outcome is known once its transaction commits
 * (store_conn_insert_later). */
struct store_insert {
    bool later;      /* the insert travels with the COMMIT: store_conn_insert_done after it */
    int64_t version; /* the version given out, once committed (0 until then) */
    /* the store's own: */
    struct store_conn *conn;
    char *name;
    char *before;      /* the definition's text up to its version number (malloc'd) */
    const char *after; /* ... and after it (inside BEFORE's allocation) */
    char *text;        /* when not LATER: the text stored (malloc'd) */
};

/* store_conn_insert_text inside the calling thread's open transaction, sent with the
 * transaction's next statement that is waited for, at the latest its COMMIT, when the backend
 * can (PostgreSQL): no round trip of its own. Then IN->later; the version, DEF's versionNumber,
 * the history row's announcement and the text are known only once the transaction committed
 * (store_conn_insert_done), and a taken name fails the statement that carries it (the COMMIT:
 * nothing of the transaction commits) with SB_ERR_CONFLICT, "Connection 'NAME' already
 * exists.". Otherwise (SQLite, no transaction open, DEF without a creationTag) exactly
 * store_conn_insert_text, whose text store_conn_insert_done gives. Call store_conn_insert_done
 * whatever happens, before IN goes out of scope, once the transaction ended (or, on failure,
 * rolled back: the insert still waiting refers to IN). */
enum sb_err_kind store_conn_insert_later(struct store *st, const char *name, json_t *def,
                                         const char *action, struct store_insert *in,
                                         struct sb_err *err);

/* Ends IN, whose transaction ended with OUTCOME (SB_OK: committed): sets DEF's
 * creationTag.versionNumber to the version given out and *TEXT (malloc'd, the caller frees it;
 * NULL unless OUTCOME is SB_OK) to the text stored, as store_conn_insert_text. Returns OUTCOME
 * (SB_ERR_INTERNAL, with ERR set, when a commit gave out no version). */
enum sb_err_kind store_conn_insert_done(struct store_insert *in, enum sb_err_kind outcome,
                                        json_t *def, char **text, struct sb_err *err);

/* Replaces the definition of NAME with DEF (whose creationTag.versionNumber is the new
 * version) only if its stored version is still EXPECTED_VERSION, and records it in the history
 * with ACTION ("update" or "revert"): SB_ERR_NOT_FOUND when NAME is gone, SB_ERR_CONFLICT when
 * someone changed it in between. */
enum sb_err_kind store_conn_replace(struct store *st, const char *name, const json_t *def,
                                    int64_t expected_version, const char *action,
                                    struct sb_err *err);

/* store_conn_replace, and *TEXT (malloc'd, the caller frees it; NULL on failure) the text
 * stored, json_dumps(DEF, JSON_COMPACT), as store_conn_insert_text. */
enum sb_err_kind store_conn_replace_text(struct store *st, const char *name, const json_t *def,
                                         int64_t expected_version, const char *action, char **text,
                                         struct sb_err *err);

/* Deletes NAME and records a "delete" version by WHO at NOW_MS holding its last definition;
 * *DELETED_VERSION is that version's number.
 * Unless FORCE, a connection that datasets use is not deleted: SB_ERR_CONFLICT naming at most
 * 20 of them and the count of the rest. SB_ERR_NOT_FOUND when NAME does not exist. */
enum sb_err_kind store_conn_delete(struct store *st, const char *name, bool force, const char *who,
                                   int64_t now_ms, int64_t *deleted_version, struct sb_err *err);

/* store_conn_delete only while NAME is still at EXPECTED_VERSION (checked under the name's lock,
 * in the delete's transaction): SB_ERR_PRECONDITION_FAILED otherwise (If-Match, docs/API.md
 * §4.7). A negative EXPECTED_VERSION checks nothing. */
enum sb_err_kind store_conn_delete_at(struct store *st, const char *name, int64_t expected_version,
                                      bool force, const char *who, int64_t now_ms,
                                      int64_t *deleted_version, struct sb_err *err);

/* *OUT: new array of NAME's versions, oldest first: {versionNumber, modifiedBy, modifiedOn,
 * action, definition}. SB_ERR_NOT_FOUND when NAME never existed. */
enum sb_err_kind store_conn_history(struct store *st, const char *name, json_t **out,
                                    struct sb_err *err);

/* *OUT: new reference to the definition of NAME at VERSION (not a delete). */
enum sb_err_kind store_conn_version(struct store *st, const char *name, int64_t version,
                                    json_t **out, struct sb_err *err);

/* *OUT: new array of {projectKey, datasetName, datasetType} of the datasets using NAME. */
enum sb_err_kind store_conn_usages(struct store *st, const char *name, json_t **out,
                                   struct sb_err *err);

/* --- transactions: store calls between begin and commit on one thread are one transaction;
 * on any error, roll back --- */
enum sb_err_kind store_tx_begin(struct store *st, struct sb_err *err);
enum sb_err_kind store_tx_commit(struct store *st, struct sb_err *err);
void store_tx_rollback(struct store *st);

/* Group commit (SQLite): the writers waiting for the write connection now, the transactions
 * committed so far and the writes they held. All zero on a store that does not batch. */
struct store_batch_stats {
    int waiting;
    unsigned long long commits, writes;
};
void store_batch_stats(struct store *st, struct store_batch_stats *out);

/* --- datasets, by project; the store indexes their type and params.connection --- */

/* *OUT: new array of the definitions of PROJECT's datasets, in name order. */
enum sb_err_kind store_ds_list(struct store *st, const char *project, json_t **out,
                               struct sb_err *err);
enum sb_err_kind store_ds_get(struct store *st, const char *project, const char *name, json_t **out,
                              struct sb_err *err);
/* SB_ERR_CONFLICT when NAME exists in PROJECT. */
enum sb_err_kind store_ds_insert(struct store *st, const char *project, const char *name,
                                 const json_t *def, struct sb_err *err);
enum sb_err_kind store_ds_update(struct store *st, const char *project, const char *name,
                                 const json_t *def, struct sb_err *err);
enum sb_err_kind store_ds_delete(struct store *st, const char *project, const char *name,
                                 struct sb_err *err);

/* Deletes project KEY with its variables and datasets, in one transaction. */
enum sb_err_kind store_project_delete(struct store *st, const char *key, struct sb_err *err);

/* --- API keys: records are stored with the keyed hash of the key, never the key --- */

enum store_key_kind { STORE_KEY_GLOBAL = 1, STORE_KEY_PERSONAL = 2 };

/* Inserts record REC (which has "id", and "user" for a personal key) of KIND with HASH. */
enum sb_err_kind store_key_insert(struct store *st, enum store_key_kind kind,
                                  const uint8_t hash[32], const json_t *rec, struct sb_err *err);

/* Inserts REC as the bootstrap admin key only if no bootstrap happened before, and records
 * that it did, in one transaction. *DONE tells whether this call inserted it. */
enum sb_err_kind store_key_bootstrap(struct store *st, const uint8_t hash[32], const json_t *rec,
                                     bool *done, struct sb_err *err);

/* *OUT: new reference to the record with HASH, *KIND its kind; SB_ERR_NOT_FOUND if none. */
enum sb_err_kind store_key_by_hash(struct store *st, const uint8_t hash[32], json_t **out,
                                   enum store_key_kind *kind, struct sb_err *err);

/* *OUT: new reference to the record of KIND with ID; SB_ERR_NOT_FOUND if none. */
enum sb_err_kind store_key_get(struct store *st, enum store_key_kind kind, const char *id,
                               json_t **out, struct sb_err *err);

/* *OUT: new array of the records of KIND, oldest first; only those of user OWNER when OWNER is
 * not NULL. */
enum sb_err_kind store_key_list(struct store *st, enum store_key_kind kind, const char *owner,
                                json_t **out, struct sb_err *err);

/* Replaces the record of KIND with ID (its hash stays); SB_ERR_NOT_FOUND if none. */
enum sb_err_kind store_key_update(struct store *st, enum store_key_kind kind, const char *id,
                                  const json_t *rec, struct sb_err *err);

/* SB_ERR_NOT_FOUND if none. */
enum sb_err_kind store_key_delete(struct store *st, enum store_key_kind kind, const char *id,
                                  struct sb_err *err);

/* --- implementations --- */

/* Opens an implementation directly (store_open chooses by LOCATION). */
struct store *store_sqlite_open(const char *path, struct sb_err *err);
struct store *store_pg_open(const char *url, struct sb_err *err);

#endif
