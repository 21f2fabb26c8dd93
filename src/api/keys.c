/* SPDX-License-Identifier: Apache-2.0 */
/* Global and personal API keys (docs/API.md §5.1, §5.2). The key itself appears only in the answer
 * that creates it; every other answer carries the record without it. */
#include <string.h>

#include "api/api.h"
#include "core/apikeys.h"
#include "http/request.h"
#include "service/audit.h"
#include "store/store.h"
#include "util/clock.h"
#include "util/mem.h"

/* Every key answer after creation carries "key" as a hint (docs/API.md §5.1); records stored before
 * hints existed get one that shows nothing of the key. Returns REC. */
static json_t *with_hint(json_t *rec)
{
    if (!json_is_string(json_object_get(rec, "key")))
        apikey_set_hint(rec, "");
    return rec;
}

static json_t *all_with_hints(json_t *all)
{
    size_t i;
    json_t *rec;

    json_array_foreach (all, i, rec)
        with_hint(rec);
    return all;
}

/* Whether the dssUserForImpersonation of REC, if any, names a user; otherwise answers 400. */
static bool impersonated_user_exists_or_reply(struct request *req, const json_t *rec)
{
    const char *login = json_string_value(json_object_get(rec, "dssUserForImpersonation"));
    struct sb_err err;
    json_t *user;

    if (!login)
        return true;
    if (store_obj_get(req->app->store, STORE_USERS, login, &user, &err) == SB_OK) {
        json_decref(user);
        return true;
    }
    if (err.kind == SB_ERR_NOT_FOUND)
        reply_errorf(req, SB_ERR_BAD_REQUEST,
                     "Field 'dssUserForImpersonation' must name an existing user; there is no "
                     "user '%s'.",
                     login);
    else
        reply_error(req, &err);
    return false;
}

/* The {id} path parameter when it has the shape of a key id; otherwise answers 404. */
static const char *id_param_or_reply(struct request *req, const char *noun)
{
    const char *id = req_param(req, 0);
    size_t len = strlen(id);
    char echo[SB_ECHO_MAX + 4];

    if (len == APIKEY_ID_CHARS && strspn(id, "0123456789abcdef") == len)
        return id;
    sb_err_echo(echo, sizeof(echo), id);
    reply_errorf(req, SB_ERR_NOT_FOUND, "%s '%s' does not exist.", noun, echo);
    return NULL;
}

void api_keys_global_list(struct request *req)
{
    struct sb_err err;
    json_t *all;

    if (store_key_list(req->app->store, STORE_KEY_GLOBAL, NULL, &all, &err) != SB_OK) {
        reply_error(req, &err);
        return;
    }
    reply_json(req, 200, all_with_hints(all));
}

void api_keys_global_create(struct request *req)
{
    struct sb_err err;
    char id[APIKEY_ID_CHARS + 1], key[SB_API_KEY_RANDOM_CHARS + 1];
    uint8_t hash[APIKEY_HASH_BYTES];
    json_t *body, *rec;

    if (!req_json_body_or_reply(req, &body))
        return;
    apikey_new_id(id);
    if (apikey_prepare_global(body, id, req->principal.login, clock_epoch_ms(), &rec, &err) !=
        SB_OK) {
        json_decref(body);
        reply_error(req, &err);
        return;
    }
    json_decref(body);
    if (!impersonated_user_exists_or_reply(req, rec)) {
        json_decref(rec);
        return;
    }
    apikey_generate(key);
    apikey_hash(req->app->apikey_hash_key, key, hash);
    apikey_set_hint(rec, key);
    if (store_key_insert(req->app->store, STORE_KEY_GLOBAL, hash, rec, &err) != SB_OK) {
        json_decref(rec);
        reply_error(req, &err);
        return;
    }
    audit_record(req_actor(req), "global-api-key.create", id, "success");
    json_object_set_new(rec, "key", json_string(key));
    reply_json(req, 200, rec);
}

void api_keys_global_get(struct request *req)
{
    const char *id = id_param_or_reply(req, "Global API key");
    struct sb_err err;
    json_t *rec;

    if (!id)
        return;
    if (store_key_get(req->app->store, STORE_KEY_GLOBAL, id, &rec, &err) != SB_OK) {
        reply_error(req, &err);
        return;
    }
    reply_json(req, 200, with_hint(rec));
}

void api_keys_global_update(struct request *req)
{
    const char *id = id_param_or_reply(req, "Global API key");
    struct sb_err err;
    json_t *body = NULL, *stored = NULL, *rec = NULL;

    if (!id || !req_json_body_or_reply(req, &body))
        return;
    if (store_key_get(req->app->store, STORE_KEY_GLOBAL, id, &stored, &err) != SB_OK ||
        apikey_prepare_global_update(stored, body, &rec, &err) != SB_OK) {
        reply_error(req, &err);
        goto out;
    }
    if (!impersonated_user_exists_or_reply(req, rec))
        goto out;
    if (store_key_update(req->app->store, STORE_KEY_GLOBAL, id, rec, &err) != SB_OK) {
        reply_error(req, &err);
        goto out;
    }
    audit_record(req_actor(req), "global-api-key.update", id, "success");
    reply_json(req, 200, with_hint(json_incref(rec)));
out:
    json_decref(body);
    json_decref(stored);
    json_decref(rec);
}

void api_keys_global_delete(struct request *req)
{
    const char *id = id_param_or_reply(req, "Global API key");
    struct sb_err err;

    if (!id)
        return;
    if (store_key_delete(req->app->store, STORE_KEY_GLOBAL, id, &err) != SB_OK) {
        reply_error(req, &err);
        return;
    }
    audit_record(req_actor(req), "global-api-key.delete", id, "success");
    reply_json(req, 200, xcheck(json_object()));
}

void api_keys_global_by_secret(struct request *req)
{
    uint8_t hash[APIKEY_HASH_BYTES];
    enum store_key_kind kind;
    struct sb_err err;
    json_t *rec;

    apikey_hash(req->app->apikey_hash_key, req_param(req, 0), hash);
    if (store_key_by_hash(req->app->store, hash, &rec, &kind, &err) != SB_OK) {
        if (err.kind == SB_ERR_NOT_FOUND)
            reply_errorf(req, SB_ERR_NOT_FOUND, "No global API key has this secret.");
        else
            reply_error(req, &err);
        return;
    }
    if (kind != STORE_KEY_GLOBAL) {
        json_decref(rec);
        reply_errorf(req, SB_ERR_NOT_FOUND, "No global API key has this secret.");
        return;
    }
    reply_json(req, 200, with_hint(rec));
}

/* ---- personal keys ---- */

/* Inserts personal key REC of USER unless they already have --max-personal-keys, counted in
 * the same transaction with the user's record locked, so that concurrent creates for one user
 * count one after the other. */
static enum sb_err_kind insert_personal(struct request *req, const char *user, const uint8_t *hash,
                                        const json_t *rec, struct sb_err *err)
{
    struct store *st = req->app->store;
    long long max = req->app->cfg->max_personal_keys;
    json_t *mine = NULL;

    if (store_tx_begin(st, err) != SB_OK || store_obj_lock(st, STORE_USERS, user, err) != SB_OK ||
        store_key_list(st, STORE_KEY_PERSONAL, user, &mine, err) != SB_OK)
        goto fail;
    if ((long long)json_array_size(mine) >= max) {
        sb_err_set(err, SB_ERR_BAD_REQUEST,
                   "User '%s' already has %lld personal API keys, the most one user may have "
                   "(--max-personal-keys); delete one first.",
                   user, max);
        goto fail;
    }
    json_decref(mine);
    if (store_key_insert(st, STORE_KEY_PERSONAL, hash, rec, err) != SB_OK ||
        store_tx_commit(st, err) != SB_OK) {
        store_tx_rollback(st);
        return err->kind;
    }
    return SB_OK;
fail:
    json_decref(mine);
    store_tx_rollback(st);
    return err->kind;
}

static void create_personal(struct request *req, const char *user, const json_t *body)
{
    struct sb_err err;
    char id[APIKEY_ID_CHARS + 1], key[SB_API_KEY_RANDOM_CHARS + 1];
    uint8_t hash[APIKEY_HASH_BYTES];
    json_t *rec;

    apikey_new_id(id);
    if (apikey_prepare_personal(body, id, user, req->principal.login, clock_epoch_ms(), &rec,
                                &err) != SB_OK) {
        reply_error(req, &err);
        return;
    }
    apikey_generate(key);
    apikey_hash(req->app->apikey_hash_key, key, hash);
    apikey_set_hint(rec, key);
    if (insert_personal(req, user, hash, rec, &err) != SB_OK) {
        json_decref(rec);
        reply_error(req, &err);
        return;
    }
    audit_record(req_actor(req), "personal-api-key.create", id, "success");
    json_object_set_new(rec, "key", json_string(key));
    reply_json(req, 200, rec);
}

void api_keys_personal_admin_create(struct request *req)
{
    struct sb_err err;
    json_t *body, *user;
    const char *login;

    if (!req_json_body_or_reply(req, &body))
        return;
    login = json_string_value(json_object_get(body, "user"));
    if (!login) {
        reply_errorf(req, SB_ERR_BAD_REQUEST,
                     "Field 'user' is required: the login of the user "
                     "the key acts as.");
    } else if (store_obj_get(req->app->store, STORE_USERS, login, &user, &err) != SB_OK) {
        if (err.kind == SB_ERR_NOT_FOUND)
            err.kind = SB_ERR_BAD_REQUEST;
        reply_error(req, &err);
    } else {
        json_decref(user);
        create_personal(req, login, body);
    }
    json_decref(body);
}

void api_keys_personal_admin_list(struct request *req)
{
    struct sb_err err;
    json_t *all;

    if (store_key_list(req->app->store, STORE_KEY_PERSONAL, NULL, &all, &err) != SB_OK) {
        reply_error(req, &err);
        return;
    }
    reply_json(req, 200, all_with_hints(all));
}

/* REQ's principal when it is a user; otherwise answers 403. */
static bool is_user_or_reply(struct request *req)
{
    if (req->principal.type == PRINCIPAL_USER)
        return true;
    reply_errorf(req, SB_ERR_FORBIDDEN,
                 "Personal API keys belong to users: call this endpoint "
                 "with a personal API key, not a global one.");
    return false;
}

void api_keys_personal_list(struct request *req)
{
    struct sb_err err;
    json_t *all;

    if (!is_user_or_reply(req))
        return;
    if (store_key_list(req->app->store, STORE_KEY_PERSONAL, req->principal.login, &all, &err) !=
        SB_OK) {
        reply_error(req, &err);
        return;
    }
    reply_json(req, 200, all_with_hints(all));
}

void api_keys_personal_create(struct request *req)
{
    json_t *body;

    if (!is_user_or_reply(req) || !req_json_body_or_reply(req, &body))
        return;
    create_personal(req, req->principal.login, body);
    json_decref(body);
}

/* The personal key record named by the path, when REQ's principal owns it or is admin;
 * otherwise answers (404 or 403) and returns NULL. New reference. */
static json_t *own_personal_key_or_reply(struct request *req)
{
    const char *id = id_param_or_reply(req, "Personal API key");
    struct sb_err err;
    json_t *rec;

    if (!id)
        return NULL;
    if (store_key_get(req->app->store, STORE_KEY_PERSONAL, id, &rec, &err) != SB_OK) {
        reply_error(req, &err);
        return NULL;
    }
    if (req->principal.admin ||
        (req->principal.type == PRINCIPAL_USER &&
         strcmp(req->principal.login, json_string_value(json_object_get(rec, "user"))) == 0))
        return rec;
    json_decref(rec);
    reply_errorf(req, SB_ERR_FORBIDDEN, "Personal API key '%s' belongs to another user.", id);
    return NULL;
}

void api_keys_personal_get(struct request *req)
{
    json_t *rec = own_personal_key_or_reply(req);

    if (rec)
        reply_json(req, 200, with_hint(rec));
}

void api_keys_personal_update(struct request *req)
{
    json_t *stored = own_personal_key_or_reply(req), *body = NULL, *rec = NULL;
    struct sb_err err;
    const char *id = req_param(req, 0);

    if (!stored)
        return;
    if (!req_json_body_or_reply(req, &body))
        goto out;
    if (apikey_prepare_personal_update(stored, body, &rec, &err) != SB_OK ||
        store_key_update(req->app->store, STORE_KEY_PERSONAL, id, rec, &err) != SB_OK) {
        reply_error(req, &err);
        goto out;
    }
    audit_record(req_actor(req), "personal-api-key.update", id, "success");
    reply_json(req, 200, with_hint(json_incref(rec)));
out:
    json_decref(stored);
    json_decref(body);
    json_decref(rec);
}

void api_keys_personal_delete(struct request *req)
{
    json_t *stored = own_personal_key_or_reply(req);
    const char *id = req_param(req, 0);
    struct sb_err err;

    if (!stored)
        return;
    json_decref(stored);
    if (store_key_delete(req->app->store, STORE_KEY_PERSONAL, id, &err) != SB_OK) {
        reply_error(req, &err);
        return;
    }
    audit_record(req_actor(req), "personal-api-key.delete", id, "success");
    reply_json(req, 200, xcheck(json_object()));
}
