/* SPDX-License-Identifier: Apache-2.0 */
/* /admin/global-api-keys (API.md §5.1). The key itself appears only in the answer that creates
 * it; every other answer carries the record without it. */
#include <string.h>

#include "api/api.h"
#include "core/apikeys.h"
#include "http/request.h"
#include "store/store.h"
#include "util/clock.h"
#include "util/mem.h"

/* The {id} path parameter when it has the shape of a key id; otherwise answers 404. */
static const char *id_param_or_reply(struct request *req)
{
    const char *id = req_param(req, 0);
    size_t len = strlen(id);
    char echo[SB_ECHO_MAX + 4];

    if (len == APIKEY_ID_CHARS && strspn(id, "0123456789abcdef") == len)
        return id;
    sb_err_echo(echo, sizeof(echo), id);
    reply_errorf(req, SB_ERR_NOT_FOUND, "Global API key '%s' does not exist.", echo);
    return NULL;
}

void api_keys_global_list(struct request *req)
{
    struct sb_err err;
    json_t *all;

    if (store_key_list(req->app->store, STORE_KEY_GLOBAL, &all, &err) != SB_OK) {
        reply_error(req, &err);
        return;
    }
    reply_json(req, 200, all);
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
    apikey_generate(key);
    apikey_hash(req->app->apikey_hash_key, key, hash);
    if (store_key_insert(req->app->store, STORE_KEY_GLOBAL, hash, rec, &err) != SB_OK) {
        json_decref(rec);
        reply_error(req, &err);
        return;
    }
    json_object_set_new(rec, "key", json_string(key));
    reply_json(req, 200, rec);
}

void api_keys_global_get(struct request *req)
{
    const char *id = id_param_or_reply(req);
    struct sb_err err;
    json_t *rec;

    if (!id)
        return;
    if (store_key_get(req->app->store, STORE_KEY_GLOBAL, id, &rec, &err) != SB_OK) {
        reply_error(req, &err);
        return;
    }
    reply_json(req, 200, rec);
}

void api_keys_global_update(struct request *req)
{
    const char *id = id_param_or_reply(req);
    struct sb_err err;
    json_t *body = NULL, *stored = NULL, *rec = NULL;

    if (!id || !req_json_body_or_reply(req, &body))
        return;
    if (store_key_get(req->app->store, STORE_KEY_GLOBAL, id, &stored, &err) != SB_OK ||
        apikey_prepare_global_update(stored, body, &rec, &err) != SB_OK ||
        store_key_update(req->app->store, STORE_KEY_GLOBAL, id, rec, &err) != SB_OK) {
        reply_error(req, &err);
        goto out;
    }
    reply_json(req, 200, json_incref(rec));
out:
    json_decref(body);
    json_decref(stored);
    json_decref(rec);
}

void api_keys_global_delete(struct request *req)
{
    const char *id = id_param_or_reply(req);
    struct sb_err err;

    if (!id)
        return;
    if (store_key_delete(req->app->store, STORE_KEY_GLOBAL, id, &err) != SB_OK) {
        reply_error(req, &err);
        return;
    }
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
    reply_json(req, 200, rec);
}
