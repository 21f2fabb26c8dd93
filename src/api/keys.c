/* SPDX-License-Identifier: Apache-2.0 */
/* Global and personal API keys (docs/API.md §5.1, §5.2). The key itself appears only in the answer
 * that creates it; every other answer carries the record without it. Changes are the service's
 * (src/service/keys.c). */
#include <string.h>

#include "api/api.h"
#include "api/common.h"
#include "core/apikeys.h"
#include "http/request.h"
#include "service/service.h"
#include "store/store.h"
#include "util/mem.h"

static json_t *all_with_hints(json_t *all)
{
    size_t i;
    json_t *rec;

    json_array_foreach (all, i, rec)
        svc_key_with_hint(rec);
    return all;
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
    api_change(req, svc_key_global_create);
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
    reply_json(req, 200, svc_key_with_hint(rec));
}

void api_keys_global_update(struct request *req)
{
    api_change_id(req, id_param_or_reply(req, "Global API key"), svc_key_global_update);
}

void api_keys_global_delete(struct request *req)
{
    api_remove_id(req, id_param_or_reply(req, "Global API key"), svc_key_global_delete);
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
    reply_json(req, 200, svc_key_with_hint(rec));
}

/* ---- personal keys ---- */

void api_keys_personal_admin_create(struct request *req)
{
    api_change(req, svc_key_personal_create_for);
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
    struct sb_err err;

    if (svc_key_owner(req_actor(req), &err))
        return true;
    reply_error(req, &err);
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
    /* a global key is refused before its body is read */
    if (is_user_or_reply(req))
        api_change(req, svc_key_personal_create);
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
    if (svc_key_personal_get(req_actor(req), id, &rec, &err) == SB_OK)
        return rec;
    reply_error(req, &err);
    return NULL;
}

void api_keys_personal_get(struct request *req)
{
    json_t *rec = own_personal_key_or_reply(req);

    if (rec)
        reply_json(req, 200, svc_key_with_hint(rec));
}

void api_keys_personal_update(struct request *req)
{
    json_t *stored = own_personal_key_or_reply(req);

    /* someone else's key is refused before the body is read; the service checks again in its
     * write */
    if (!stored)
        return;
    json_decref(stored);
    api_change_id(req, req_param(req, 0), svc_key_personal_update);
}

void api_keys_personal_delete(struct request *req)
{
    api_remove_id(req, id_param_or_reply(req, "Personal API key"), svc_key_personal_delete);
}
