/* SPDX-License-Identifier: Apache-2.0 */
/* /admin/users, /admin/groups and /current-user (docs/API.md §5.3). Changes are the service's
 * (src/service/users.c); reads are served from the store here. */
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "api/common.h"
#include "core/activity.h"
#include "core/users.h"
#include "http/request.h"
#include "service/activity.h"
#include "service/service.h"
#include "store/store.h"
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
    bool settings = req_query_bool(req, "includeSettings"); /* list_users(include_settings=) */
    struct sb_err err;
    json_t *all, *rec, *out;
    size_t i;

    if (store_obj_list(req->app->store, STORE_USERS, &all, &err) != SB_OK) {
        reply_error(req, &err);
        return;
    }
    out = xcheck(json_array());
    json_array_foreach (all, i, rec)
        json_array_append_new(out, settings ? users_settings_view(rec) : users_list_view(rec));
    json_decref(all);
    reply_json(req, 200, out);
}

/* ---- activity, short profiles, authorization matrix ---- */

static json_t *activity_of(const json_t *merged, const json_t *rec)
{
    return users_activity_view(merged, json_string_value(json_object_get(rec, "login")),
                               !json_is_false(json_object_get(rec, "enabled")),
                               (int64_t)json_integer_value(json_object_get(rec, "creationDate")));
}

void api_users_activity_get(struct request *req)
{
    const char *login = id_param_or_reply(req, "login");
    struct sb_err err;
    json_t *rec, *merged;

    if (!login)
        return;
    if (store_obj_get(req->app->store, STORE_USERS, login, &rec, &err) != SB_OK ||
        activity_load(req->app, &merged, &err) != SB_OK) {
        reply_error(req, &err);
        return;
    }
    reply_json(req, 200, activity_of(merged, rec));
    json_decref(merged);
    json_decref(rec);
}

void api_users_activity_list(struct request *req)
{
    bool enabled_only = req_query_bool(req, "enabledUsersOnly");
    struct sb_err err;
    json_t *all, *merged, *rec, *out;
    size_t i;

    if (store_obj_list(req->app->store, STORE_USERS, &all, &err) != SB_OK) {
        reply_error(req, &err);
        return;
    }
    if (activity_load(req->app, &merged, &err) != SB_OK) {
        json_decref(all);
        reply_error(req, &err);
        return;
    }
    out = xcheck(json_array());
    json_array_foreach (all, i, rec)
        if (!enabled_only || !json_is_false(json_object_get(rec, "enabled")))
            json_array_append_new(out, activity_of(merged, rec));
    json_decref(merged);
    json_decref(all);
    reply_json(req, 200, out);
}

/* Answers the record of COLL the path parameter WHAT names, through VIEW (NULL: as stored). */
static void reply_one_view(struct request *req, enum store_collection coll, const char *what,
                           json_t *(*view)(const json_t *rec))
{
    const char *id = id_param_or_reply(req, what);
    struct sb_err err;
    json_t *rec;

    if (!id)
        return;
    if (store_obj_get(req->app->store, coll, id, &rec, &err) != SB_OK) {
        reply_error(req, &err);
        return;
    }
    if (view) {
        reply_json(req, 200, view(rec));
        json_decref(rec);
    } else {
        reply_json(req, 200, rec);
    }
}

void api_users_info_get(struct request *req)
{
    reply_one_view(req, STORE_USERS, "login", users_info_view);
}

static void reply_list_view(struct request *req, enum store_collection coll,
                            json_t *(*view)(const json_t *rec))
{
    struct sb_err err;
    json_t *all, *rec, *out;
    size_t i;

    if (store_obj_list(req->app->store, coll, &all, &err) != SB_OK) {
        reply_error(req, &err);
        return;
    }
    out = xcheck(json_array());
    json_array_foreach (all, i, rec)
        json_array_append_new(out, view(rec));
    json_decref(all);
    reply_json(req, 200, out);
}

void api_users_info_list(struct request *req)
{
    reply_list_view(req, STORE_USERS, users_info_view);
}

void api_groups_info_list(struct request *req)
{
    reply_list_view(req, STORE_GROUPS, groups_info_view);
}

void api_users_authorization_matrix(struct request *req)
{
    struct sb_err err;
    json_t *users = NULL, *groups = NULL, *conns = NULL;

    if (store_obj_list(req->app->store, STORE_USERS, &users, &err) != SB_OK ||
        store_obj_list(req->app->store, STORE_GROUPS, &groups, &err) != SB_OK ||
        store_conn_list(req->app->store, &conns, &err) != SB_OK)
        reply_error(req, &err);
    else
        reply_json(req, 200, users_authorization_matrix(users, groups, conns));
    json_decref(users);
    json_decref(groups);
    json_decref(conns);
}

/* ---- bulk: /admin/users/actions/bulk (src/service/users.c) ---- */

static void bulk(struct request *req, enum svc_users_bulk op)
{
    struct sb_err err;
    json_t *body, *out;
    enum sb_err_kind rc;

    if (!req_json_body_or_reply(req, &body))
        return;
    rc = svc_users_bulk(req_actor(req), op, body, req_query_bool(req, "allowSelfDeletion"), &out,
                        &err);
    api_reply_change(req, rc, &err, out);
    json_decref(body);
}

void api_users_bulk_create(struct request *req)
{
    bulk(req, SVC_USERS_BULK_CREATE);
}

void api_users_bulk_edit(struct request *req)
{
    bulk(req, SVC_USERS_BULK_EDIT);
}

void api_users_bulk_delete(struct request *req)
{
    bulk(req, SVC_USERS_BULK_DELETE);
}

/* GET /admin/list-trial-expired-users: Switchboard has no trial licences, so no user's trial
 * ever expires (DSSClient.list_expired_trial_users). */
void api_users_trial_expired(struct request *req)
{
    reply_json(req, 200, xcheck(json_array()));
}

/* ---- DSS features that need an external directory or a Hadoop cluster ---- */

void api_users_directory_unsupported(struct request *req)
{
    reply_errorf(req, SB_ERR_NOT_FOUND,
                 "Synchronising and provisioning users from an external directory (LDAP, Azure "
                 "AD, custom authenticator) is a DSS feature Switchboard does not provide: "
                 "manage users with /admin/users.");
}

void api_hdfs_acl_unsupported(struct request *req)
{
    reply_errorf(req, SB_ERR_NOT_FOUND,
                 "Synchronising HDFS ACLs is a DSS feature Switchboard does not provide: it "
                 "needs a Hadoop cluster.");
}

void api_users_create(struct request *req)
{
    api_change(req, svc_user_create);
}

/* Answers the settings of user LOGIN (nothing when LOGIN is NULL: its check answered). */
static void reply_user(struct request *req, const char *login)
{
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

void api_users_get(struct request *req)
{
    reply_user(req, id_param_or_reply(req, "login"));
}

void api_users_update(struct request *req)
{
    api_change_id(req, id_param_or_reply(req, "login"), svc_user_update);
}

void api_users_delete(struct request *req)
{
    const char *login = id_param_or_reply(req, "login");
    struct sb_err err;

    if (!login)
        return;
    api_reply_change(
        req, svc_user_delete(req_actor(req), login, req_query_bool(req, "allowSelfDeletion"), &err),
        &err, NULL);
}

/* ---- current user ---- */

/* The login of REQ's principal when it is a user; otherwise answers 403. */
static const char *self_login_or_reply(struct request *req)
{
    struct sb_err err;
    const char *login = svc_self_login(req_actor(req), &err);

    if (!login)
        reply_error(req, &err);
    return login;
}

void api_current_user_get(struct request *req)
{
    reply_user(req, self_login_or_reply(req));
}

void api_current_user_update(struct request *req)
{
    /* a global key is refused before its body is read */
    if (self_login_or_reply(req))
        api_change(req, svc_user_update_self);
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

static enum sb_err_kind group_create(struct actor *a, const json_t *body, json_t **out,
                                     struct sb_err *err)
{
    return svc_group_put(a, NULL, body, out, err);
}

void api_groups_create(struct request *req)
{
    api_change(req, group_create);
}

void api_groups_get(struct request *req)
{
    reply_one_view(req, STORE_GROUPS, "name", NULL);
}

void api_groups_update(struct request *req)
{
    api_change_id(req, id_param_or_reply(req, "name"), svc_group_put);
}

void api_groups_delete(struct request *req)
{
    api_remove_id(req, id_param_or_reply(req, "name"), svc_group_delete);
}
