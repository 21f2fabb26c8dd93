/* SPDX-License-Identifier: Apache-2.0 */
/* The store interface: store_open picks the implementation from the location (a postgresql://
 * or postgres:// URL selects PostgreSQL, anything else is a SQLite file path), and every other
 * function dispatches to it. */
#include <string.h>

#include "store/store.h"

struct store *store_open(const char *location, struct sb_err *err)
{
    if (strncmp(location, "postgresql://", 13) == 0 || strncmp(location, "postgres://", 11) == 0)
        return store_pg_open(location, err);
    return store_sqlite_open(location, err);
}

const char *store_collection_noun(enum store_collection coll)
{
    switch (coll) {
    case STORE_USERS: return "User";
    case STORE_GROUPS: return "Group";
    case STORE_PROJECTS: return "Project";
    case STORE_PROJECT_VARIABLES: return "Variables of project";
    }
    return "Record";
}

const char *store_key_kind_noun(enum store_key_kind kind)
{
    return kind == STORE_KEY_GLOBAL ? "Global API key" : "Personal API key";
}

bool store_is_shared(struct store *st)
{
    return st->ops->shared;
}

enum sb_err_kind store_poll_changes(struct store *st,
                                    void (*on_conn)(void *ctx, const char *name, int64_t version,
                                                    bool deleted),
                                    void (*on_auth)(void *ctx), void (*on_reset)(void *ctx),
                                    void *ctx, int timeout_ms, struct sb_err *err)
{
    if (!st->ops->poll_changes)
        return SB_OK;
    return st->ops->poll_changes(st, on_conn, on_auth, on_reset, ctx, timeout_ms, err);
}

void store_close(struct store *st)
{
    if (st)
        st->ops->close(st);
}

uint64_t store_auth_generation(struct store *st)
{
    return st->ops->auth_generation(st);
}

long long store_size_bytes(struct store *st)
{
    return st->ops->size_bytes(st);
}

enum sb_err_kind store_meta_get(struct store *st, const char *name, char **out, struct sb_err *err)
{
    return st->ops->meta_get(st, name, out, err);
}

enum sb_err_kind store_meta_init(struct store *st, const char *name, const char *value,
                                 bool *was_set, struct sb_err *err)
{
    return st->ops->meta_init(st, name, value, was_set, err);
}

enum sb_err_kind store_meta_set(struct store *st, const char *name, const char *value,
                                struct sb_err *err)
{
    return st->ops->meta_set(st, name, value, err);
}

enum sb_err_kind store_obj_list(struct store *st, enum store_collection coll, json_t **out,
                                struct sb_err *err)
{
    return st->ops->obj_list(st, coll, out, err);
}

enum sb_err_kind store_obj_get(struct store *st, enum store_collection coll, const char *id,
                               json_t **out, struct sb_err *err)
{
    return st->ops->obj_get(st, coll, id, out, err);
}

enum sb_err_kind store_obj_insert(struct store *st, enum store_collection coll, const char *id,
                                  const json_t *rec, struct sb_err *err)
{
    return st->ops->obj_insert(st, coll, id, rec, err);
}

enum sb_err_kind store_obj_update(struct store *st, enum store_collection coll, const char *id,
                                  const json_t *rec, struct sb_err *err)
{
    return st->ops->obj_update(st, coll, id, rec, err);
}

enum sb_err_kind store_obj_delete(struct store *st, enum store_collection coll, const char *id,
                                  struct sb_err *err)
{
    return st->ops->obj_delete(st, coll, id, err);
}

enum sb_err_kind store_user_delete(struct store *st, const char *login, struct sb_err *err)
{
    return st->ops->user_delete(st, login, err);
}

enum sb_err_kind store_audit_append(struct store *st, const json_t *rec, struct sb_err *err)
{
    return st->ops->audit_append(st, rec, err);
}

enum sb_err_kind store_audit_list(struct store *st, int64_t before, int limit, json_t **out,
                                  struct sb_err *err)
{
    return st->ops->audit_list(st, before, limit, out, err);
}

enum sb_err_kind store_reseal_all(struct store *st, store_reseal_fn fn, void *ctx,
                                  const json_t *meta, struct sb_err *err)
{
    return st->ops->reseal_all(st, fn, ctx, meta, err);
}

enum sb_err_kind store_conn_list(struct store *st, json_t **out, struct sb_err *err)
{
    return st->ops->conn_list(st, out, err);
}

enum sb_err_kind store_conn_scan(struct store *st, store_conn_scan_fn fn, void *ctx,
                                 struct sb_err *err)
{
    return st->ops->conn_scan(st, fn, ctx, err);
}

enum sb_err_kind store_conn_get(struct store *st, const char *name, json_t **out,
                                struct sb_err *err)
{
    return st->ops->conn_get(st, name, out, err);
}

enum sb_err_kind store_conn_insert(struct store *st, const char *name, json_t *def,
                                   const char *action, struct sb_err *err)
{
    return st->ops->conn_insert(st, name, def, action, err);
}

enum sb_err_kind store_conn_replace(struct store *st, const char *name, const json_t *def,
                                    int64_t expected_version, const char *action,
                                    struct sb_err *err)
{
    return st->ops->conn_replace(st, name, def, expected_version, action, err);
}

enum sb_err_kind store_conn_delete(struct store *st, const char *name, bool force, const char *who,
                                   int64_t now_ms, int64_t *deleted_version, struct sb_err *err)
{
    return st->ops->conn_delete(st, name, force, who, now_ms, deleted_version, err);
}

enum sb_err_kind store_conn_history(struct store *st, const char *name, json_t **out,
                                    struct sb_err *err)
{
    return st->ops->conn_history(st, name, out, err);
}

enum sb_err_kind store_conn_version(struct store *st, const char *name, int64_t version,
                                    json_t **out, struct sb_err *err)
{
    return st->ops->conn_version(st, name, version, out, err);
}

enum sb_err_kind store_conn_usages(struct store *st, const char *name, json_t **out,
                                   struct sb_err *err)
{
    return st->ops->conn_usages(st, name, out, err);
}

enum sb_err_kind store_tx_begin(struct store *st, struct sb_err *err)
{
    return st->ops->tx_begin(st, err);
}

enum sb_err_kind store_tx_commit(struct store *st, struct sb_err *err)
{
    return st->ops->tx_commit(st, err);
}

void store_tx_rollback(struct store *st)
{
    st->ops->tx_rollback(st);
}

enum sb_err_kind store_ds_list(struct store *st, const char *project, json_t **out,
                               struct sb_err *err)
{
    return st->ops->ds_list(st, project, out, err);
}

enum sb_err_kind store_ds_get(struct store *st, const char *project, const char *name, json_t **out,
                              struct sb_err *err)
{
    return st->ops->ds_get(st, project, name, out, err);
}

enum sb_err_kind store_ds_insert(struct store *st, const char *project, const char *name,
                                 const json_t *def, struct sb_err *err)
{
    return st->ops->ds_insert(st, project, name, def, err);
}

enum sb_err_kind store_ds_update(struct store *st, const char *project, const char *name,
                                 const json_t *def, struct sb_err *err)
{
    return st->ops->ds_update(st, project, name, def, err);
}

enum sb_err_kind store_ds_delete(struct store *st, const char *project, const char *name,
                                 struct sb_err *err)
{
    return st->ops->ds_delete(st, project, name, err);
}

enum sb_err_kind store_project_delete(struct store *st, const char *key, struct sb_err *err)
{
    return st->ops->project_delete(st, key, err);
}

enum sb_err_kind store_key_insert(struct store *st, enum store_key_kind kind,
                                  const uint8_t hash[32], const json_t *rec, struct sb_err *err)
{
    return st->ops->key_insert(st, kind, hash, rec, err);
}

enum sb_err_kind store_key_bootstrap(struct store *st, const uint8_t hash[32], const json_t *rec,
                                     bool *done, struct sb_err *err)
{
    return st->ops->key_bootstrap(st, hash, rec, done, err);
}

enum sb_err_kind store_key_by_hash(struct store *st, const uint8_t hash[32], json_t **out,
                                   enum store_key_kind *kind, struct sb_err *err)
{
    return st->ops->key_by_hash(st, hash, out, kind, err);
}

enum sb_err_kind store_key_get(struct store *st, enum store_key_kind kind, const char *id,
                               json_t **out, struct sb_err *err)
{
    return st->ops->key_get(st, kind, id, out, err);
}

enum sb_err_kind store_key_list(struct store *st, enum store_key_kind kind, const char *owner,
                                json_t **out, struct sb_err *err)
{
    return st->ops->key_list(st, kind, owner, out, err);
}

enum sb_err_kind store_key_update(struct store *st, enum store_key_kind kind, const char *id,
                                  const json_t *rec, struct sb_err *err)
{
    return st->ops->key_update(st, kind, id, rec, err);
}

enum sb_err_kind store_key_delete(struct store *st, enum store_key_kind kind, const char *id,
                                  struct sb_err *err)
{
    return st->ops->key_delete(st, kind, id, err);
}
