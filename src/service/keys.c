/* SPDX-License-Identifier: Apache-2.0 */
/* API key changes (docs/API.md §5.1, §5.2): global keys, and personal keys by their user or an
 * admin. A key is made here, and only its keyed hash is stored: the key itself is in the answer
 * that creates it and nowhere else (not in the store, not in the audit record, whose object is
 * the key's id). Each change and its audit record join the actor's write. */
#include <string.h>

#include "app.h"
#include "core/apikeys.h"
#include "core/principal.h"
#include "service/audit.h"
#include "service/service.h"
#include "store/store.h"
#include "util/clock.h"
#include "util/mem.h"

/* The hint every answer after a key's creation carries as "key"; a record stored before hints
 * existed gets one that shows nothing of the key. Returns REC. */
json_t *svc_key_with_hint(json_t *rec)
{
    if (rec && !json_is_string(json_object_get(rec, "key")))
        apikey_set_hint(rec, "");
    return rec;
}

/* Whether the dssUserForImpersonation of REC, if any, names a user: a 400 otherwise. */
static enum sb_err_kind impersonated_user_exists(struct actor *a, const json_t *rec,
                                                 struct sb_err *err)
{
    const char *login = json_string_value(json_object_get(rec, "dssUserForImpersonation"));
    json_t *user;

    if (!login)
        return SB_OK;
    if (store_obj_get(a->app->store, STORE_USERS, login, &user, err) == SB_OK) {
        json_decref(user);
        return SB_OK;
    }
    if (err->kind == SB_ERR_NOT_FOUND)
        sb_err_set(err, SB_ERR_BAD_REQUEST,
                   "Field 'dssUserForImpersonation' must name an existing user; there is no user "
                   "'%s'.",
                   login);
    return err->kind;
}

/* Inserts personal key REC of USER unless they already have --max-personal-keys, counted in
 * a savepoint of the open write with the user's record locked, so that concurrent creates for
 * one user count one after the other. */
static enum sb_err_kind insert_personal(struct actor *a, const char *user, const uint8_t *hash,
                                        const json_t *rec, struct sb_err *err)
{
    struct store *st = a->app->store;
    long long max = a->app->cfg->max_personal_keys;
    json_t *mine = NULL;
    enum sb_err_kind rc = store_tx_begin(st, err);

    if (rc != SB_OK)
        return rc;
    if ((rc = store_obj_lock(st, STORE_USERS, user, err)) == SB_OK &&
        (rc = store_key_list(st, STORE_KEY_PERSONAL, user, &mine, err)) == SB_OK &&
        (long long)json_array_size(mine) >= max)
        rc = sb_err_set(err, SB_ERR_BAD_REQUEST,
                        "User '%s' already has %lld personal API keys, the most one user may have "
                        "(--max-personal-keys); delete one first.",
                        user, max);
    json_decref(mine);
    if (rc == SB_OK)
        rc = store_key_insert(st, STORE_KEY_PERSONAL, hash, rec, err);
    if (rc == SB_OK)
        rc = store_tx_commit(st, err);
    if (rc != SB_OK)
        store_tx_rollback(st);
    return rc;
}

/* Creates a key of KIND (a personal key of USER) from BODY; *OUT its record with "key", the key
 * itself, this once: only its keyed hash is stored. */
static enum sb_err_kind create_key(struct actor *a, enum store_key_kind kind, const char *user,
                                   const json_t *body, json_t **out, struct sb_err *err)
{
    char id[APIKEY_ID_CHARS + 1], key[SB_API_KEY_RANDOM_CHARS + 1];
    uint8_t hash[APIKEY_HASH_BYTES];
    struct svc_change c;
    enum sb_err_kind rc;

    *out = NULL;
    apikey_new_id(id);
    if (svc_begin(a, &c, err) != SB_OK)
        return err->kind;
    if (kind == STORE_KEY_GLOBAL) {
        rc = apikey_prepare_global(body, id, actor_login(a), clock_epoch_ms(), out, err);
        if (rc == SB_OK)
            rc = impersonated_user_exists(a, *out, err);
    } else {
        rc = apikey_prepare_personal(body, id, user, actor_login(a), clock_epoch_ms(), out, err);
    }
    if (rc == SB_OK) {
        apikey_generate(key);
        apikey_hash(a->app->apikey_hash_key, key, hash);
        apikey_set_hint(*out, key);
        rc = kind == STORE_KEY_GLOBAL ? store_key_insert(a->app->store, kind, hash, *out, err)
                                      : insert_personal(a, user, hash, *out, err);
    }
    rc = svc_end(a, &c, rc,
                 kind == STORE_KEY_GLOBAL ? "global-api-key.create" : "personal-api-key.create", id,
                 out, err);
    if (rc == SB_OK)
        json_object_set_new(*out, "key", xcheck(json_string(key)));
    return rc;
}

/* Key ID of KIND as A may change it (a personal key: A's user's, or A an admin), in *OUT. */
static enum sb_err_kind get_key(struct actor *a, enum store_key_kind kind, const char *id,
                                json_t **out, struct sb_err *err)
{
    if (kind == STORE_KEY_PERSONAL)
        return svc_key_personal_get(a, id, out, err);
    return store_key_get(a->app->store, kind, id, out, err);
}

/* Updates key ID of KIND from BODY; *OUT its record, with the key's hint. */
static enum sb_err_kind update_key(struct actor *a, enum store_key_kind kind, const char *id,
                                   const json_t *body, json_t **out, struct sb_err *err)
{
    struct svc_change c;
    json_t *stored = NULL;
    enum sb_err_kind rc;

    *out = NULL;
    if (svc_begin(a, &c, err) != SB_OK)
        return err->kind;
    rc = get_key(a, kind, id, &stored, err);
    if (rc == SB_OK && kind == STORE_KEY_GLOBAL) {
        rc = apikey_prepare_global_update(stored, body, out, err);
        if (rc == SB_OK)
            rc = impersonated_user_exists(a, *out, err);
    } else if (rc == SB_OK) {
        rc = apikey_prepare_personal_update(stored, body, out, err);
    }
    if (rc == SB_OK)
        rc = store_key_update(a->app->store, kind, id, *out, err);
    json_decref(stored);
    svc_key_with_hint(*out);
    return svc_end(a, &c, rc,
                   kind == STORE_KEY_GLOBAL ? "global-api-key.update" : "personal-api-key.update",
                   id, out, err);
}

/* Deletes key ID of KIND: a global key's delete answers 404 by itself; a personal key is first
 * read, to be A's to delete or not. */
static enum sb_err_kind remove_key(struct actor *a, enum store_key_kind kind, const char *id,
                                   struct sb_err *err)
{
    struct svc_change c;
    json_t *mine = NULL;
    enum sb_err_kind rc = SB_OK;

    if (svc_begin(a, &c, err) != SB_OK)
        return err->kind;
    if (kind == STORE_KEY_PERSONAL)
        rc = get_key(a, kind, id, &mine, err);
    json_decref(mine);
    if (rc == SB_OK)
        rc = store_key_delete(a->app->store, kind, id, err);
    return svc_end(a, &c, rc,
                   kind == STORE_KEY_GLOBAL ? "global-api-key.delete" : "personal-api-key.delete",
                   id, NULL, err);
}

/* ---- global keys ---- */

enum sb_err_kind svc_key_global_create(struct actor *a, const json_t *body, json_t **out,
                                       struct sb_err *err)
{
    return create_key(a, STORE_KEY_GLOBAL, NULL, body, out, err);
}

enum sb_err_kind svc_key_global_update(struct actor *a, const char *id, const json_t *body,
                                       json_t **out, struct sb_err *err)
{
    return update_key(a, STORE_KEY_GLOBAL, id, body, out, err);
}

enum sb_err_kind svc_key_global_delete(struct actor *a, const char *id, struct sb_err *err)
{
    return remove_key(a, STORE_KEY_GLOBAL, id, err);
}

/* ---- personal keys ---- */

const char *svc_key_owner(const struct actor *a, struct sb_err *err)
{
    if (a->principal && a->principal->type == PRINCIPAL_USER)
        return a->principal->login;
    sb_err_set(err, SB_ERR_FORBIDDEN,
               "Personal API keys belong to users: call this endpoint with a personal API key, "
               "not a global one.");
    return NULL;
}

enum sb_err_kind svc_key_personal_create(struct actor *a, const json_t *body, json_t **out,
                                         struct sb_err *err)
{
    const char *user = svc_key_owner(a, err);

    *out = NULL;
    return user ? create_key(a, STORE_KEY_PERSONAL, user, body, out, err) : err->kind;
}

enum sb_err_kind svc_key_personal_create_for(struct actor *a, const json_t *body, json_t **out,
                                             struct sb_err *err)
{
    const char *user = json_string_value(json_object_get(body, "user"));
    json_t *rec;

    *out = NULL;
    if (!user)
        return sb_err_set(err, SB_ERR_BAD_REQUEST,
                          "Field 'user' is required: the login of the user the key acts as.");
    if (store_obj_get(a->app->store, STORE_USERS, user, &rec, err) != SB_OK) {
        if (err->kind == SB_ERR_NOT_FOUND)
            err->kind = SB_ERR_BAD_REQUEST;
        return err->kind;
    }
    json_decref(rec);
    return create_key(a, STORE_KEY_PERSONAL, user, body, out, err);
}

enum sb_err_kind svc_key_personal_get(struct actor *a, const char *id, json_t **out,
                                      struct sb_err *err)
{
    const struct principal *p = a->principal;

    *out = NULL;
    if (store_key_get(a->app->store, STORE_KEY_PERSONAL, id, out, err) != SB_OK)
        return err->kind;
    if ((p && p->admin) ||
        (p && p->type == PRINCIPAL_USER &&
         strcmp(p->login, json_string_value(json_object_get(*out, "user"))) == 0))
        return SB_OK;
    json_decref(*out);
    *out = NULL;
    return sb_err_set(err, SB_ERR_FORBIDDEN, "Personal API key '%s' belongs to another user.", id);
}

enum sb_err_kind svc_key_personal_update(struct actor *a, const char *id, const json_t *body,
                                         json_t **out, struct sb_err *err)
{
    return update_key(a, STORE_KEY_PERSONAL, id, body, out, err);
}

enum sb_err_kind svc_key_personal_delete(struct actor *a, const char *id, struct sb_err *err)
{
    return remove_key(a, STORE_KEY_PERSONAL, id, err);
}
