/* SPDX-License-Identifier: Apache-2.0 */
/* /admin/users, /admin/groups and /current-user (API.md §5.3). */
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "api/audit.h"
#include "core/secrets.h"
#include "core/users.h"
#include "http/request.h"
#include "store/store.h"
#include "util/clock.h"
#include "util/mem.h"

/* The path parameter if it is a valid login or group name; otherwise answers 400. */
static const char *id_param_or_reply(struct request *req, const char *what)
{
    const char *id = req_param(req, 0);
    struct sb_err err;

    if (users_validate_id(id, what, &err))
        return id;
    reply_error(req, &err);
    return NULL;
}

static void reply_user_settings(struct request *req, const json_t *rec)
{
    reply_json(req, 200, users_settings_view(rec));
}

/* ---- users ---- */

void api_users_list(struct request *req)
{
    struct sb_err err;
    json_t *all, *rec, *out;
    size_t i;

    if (store_obj_list(req->app->store, STORE_USERS, &all, &err) != SB_OK) {
        reply_error(req, &err);
        return;
    }
    out = xcheck(json_array());
    json_array_foreach(all, i, rec)
        json_array_append_new(out, users_list_view(rec));
    json_decref(all);
    reply_json(req, 200, out);
}

void api_users_create(struct request *req)
{
    struct sb_err err;
    json_t *body, *rec = NULL;
    const char *login = NULL;

    if (!req_json_body_or_reply(req, &body))
        return;
    if (users_prepare_create(body, clock_epoch_ms(), &rec, &err) != SB_OK ||
        secrets_seal_user(&req->app->secrets, rec, &err) != SB_OK ||
        store_obj_insert(req->app->store, STORE_USERS,
                         login = json_string_value(json_object_get(rec, "login")), rec,
                         &err) != SB_OK) {
        if (login)
            audit_record(req, "user.create", login, "failed");
        reply_error(req, &err);
    } else {
        audit_record(req, "user.create", login, "success");
        reply_user_settings(req, rec);
    }
    json_decref(body);
    json_decref(rec);
}

void api_users_get(struct request *req)
{
    const char *login = id_param_or_reply(req, "login");
    struct sb_err err;
    json_t *rec;

    if (!login)
        return;
    if (store_obj_get(req->app->store, STORE_USERS, login, &rec, &err) != SB_OK) {
        reply_error(req, &err);
        return;
    }
    reply_user_settings(req, rec);
    json_decref(rec);
}

/* Shared by PUT /admin/users/{login} and PUT /current-user. */
static void update_user(struct request *req, const char *login, bool self)
{
    struct sb_err err;
    json_t *body = NULL, *stored = NULL, *rec = NULL;

    if (!req_json_body_or_reply(req, &body))
        return;
    if (store_obj_get(req->app->store, STORE_USERS, login, &stored, &err) != SB_OK ||
        users_prepare_update(stored, body, login, self, &rec, &err) != SB_OK ||
        secrets_seal_user(&req->app->secrets, rec, &err) != SB_OK ||
        store_obj_update(req->app->store, STORE_USERS, login, rec, &err) != SB_OK) {
        if (err.kind != SB_ERR_NOT_FOUND)
            audit_record(req, self ? "user.update-self" : "user.update", login,
                         err.kind == SB_ERR_FORBIDDEN ? "denied" : "failed");
        reply_error(req, &err);
    } else {
        audit_record(req, self ? "user.update-self" : "user.update", login, "success");
        reply_user_settings(req, rec);
    }
    json_decref(body);
    json_decref(stored);
    json_decref(rec);
}

void api_users_update(struct request *req)
{
    const char *login = id_param_or_reply(req, "login");

    if (login)
        update_user(req, login, false);
}

void api_users_delete(struct request *req)
{
    const char *login = id_param_or_reply(req, "login");
    bool self_ok = req_query_bool(req, "allowSelfDeletion");
    struct sb_err err;

    if (!login)
        return;
    if (req->principal.type == PRINCIPAL_USER && strcmp(req->principal.login, login) == 0 &&
        !self_ok) {
        reply_errorf(req, SB_ERR_BAD_REQUEST, "User '%s' cannot delete themselves unless "
                                              "allowSelfDeletion=true is given.", login);
        return;
    }
    if (store_user_delete(req->app->store, login, &err) != SB_OK) {
        reply_error(req, &err);
        return;
    }
    audit_record(req, "user.delete", login, "success");
    reply_json(req, 200, xcheck(json_object()));
}

/* ---- current user ---- */

/* The login of REQ's principal when it is a user; otherwise answers 403. */
static const char *self_login_or_reply(struct request *req)
{
    if (req->principal.type == PRINCIPAL_USER)
        return req->principal.login;
    reply_errorf(req, SB_ERR_FORBIDDEN, "This endpoint is for users: call it with a personal API "
                                        "key, not a global one.");
    return NULL;
}

void api_current_user_get(struct request *req)
{
    const char *login = self_login_or_reply(req);
    struct sb_err err;
    json_t *rec;

    if (!login)
        return;
    if (store_obj_get(req->app->store, STORE_USERS, login, &rec, &err) != SB_OK) {
        reply_error(req, &err);
        return;
    }
    reply_user_settings(req, rec);
    json_decref(rec);
}

void api_current_user_update(struct request *req)
{
    const char *login = self_login_or_reply(req);

    if (login)
        update_user(req, login, true);
}

/* ---- groups ---- */

void api_groups_list(struct request *req)
{
    struct sb_err err;
    json_t *all;

    if (store_obj_list(req->app->store, STORE_GROUPS, &all, &err) != SB_OK) {
        reply_error(req, &err);
        return;
    }
    reply_json(req, 200, all);
}

void api_groups_create(struct request *req)
{
    struct sb_err err;
    json_t *body, *rec = NULL;
    const char *name;

    if (!req_json_body_or_reply(req, &body))
        return;
    if (groups_prepare_create(body, &rec, &err) != SB_OK) {
        reply_error(req, &err);
        goto out;
    }
    name = json_string_value(json_object_get(rec, "name"));
    if (store_obj_insert(req->app->store, STORE_GROUPS, name, rec, &err) != SB_OK) {
        reply_error(req, &err);
        goto out;
    }
    audit_record(req, "group.create", name, "success");
    reply_json(req, 200, json_incref(rec));
out:
    json_decref(body);
    json_decref(rec);
}

void api_groups_get(struct request *req)
{
    const char *name = id_param_or_reply(req, "name");
    struct sb_err err;
    json_t *rec;

    if (!name)
        return;
    if (store_obj_get(req->app->store, STORE_GROUPS, name, &rec, &err) != SB_OK) {
        reply_error(req, &err);
        return;
    }
    reply_json(req, 200, rec);
}

void api_groups_update(struct request *req)
{
    const char *name = id_param_or_reply(req, "name");
    struct sb_err err;
    json_t *body = NULL, *stored = NULL, *rec = NULL;

    if (!name || !req_json_body_or_reply(req, &body))
        return;
    if (store_obj_get(req->app->store, STORE_GROUPS, name, &stored, &err) != SB_OK ||
        groups_prepare_update(stored, body, name, &rec, &err) != SB_OK ||
        store_obj_update(req->app->store, STORE_GROUPS, name, rec, &err) != SB_OK) {
        reply_error(req, &err);
    } else {
        audit_record(req, "group.update", name, "success");
        reply_json(req, 200, json_incref(rec));
    }
    json_decref(body);
    json_decref(stored);
    json_decref(rec);
}

void api_groups_delete(struct request *req)
{
    const char *name = id_param_or_reply(req, "name");
    struct sb_err err;

    if (!name)
        return;
    if (store_obj_delete(req->app->store, STORE_GROUPS, name, &err) != SB_OK) {
        reply_error(req, &err);
        return;
    }
    audit_record(req, "group.delete", name, "success");
    reply_json(req, 200, xcheck(json_object()));
}
