/* SPDX-License-Identifier: Apache-2.0 */
/* /admin/users, /admin/groups and /current-user (docs/API.md §5.3). */
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "core/activity.h"
#include "core/secrets.h"
#include "core/users.h"
#include "http/request.h"
#include "service/activity.h"
#include "service/audit.h"
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

void api_users_info_get(struct request *req)
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
    reply_json(req, 200, users_info_view(rec));
    json_decref(rec);
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

/* ---- bulk: /admin/users/actions/bulk ----
 * Each call is one transaction. A user whose entry is refused (invalid, exists, missing) is
 * reported {"status": "FAILURE", "error"} and the others still apply, as in DSS; a store
 * failure rolls the whole call back and answers the error. */

static void add_status(json_t *out, const char *login, const struct sb_err *err)
{
    json_array_append_new(
        out, xcheck(json_pack("{s:s, s:s, s:s}", "login", login ? login : "", "status",
                              err ? "FAILURE" : "SUCCESS", "error", err ? err->msg : "")));
}

/* Store errors other than the per-user ones end the call. */
static bool store_failed(const struct sb_err *err)
{
    return err->kind == SB_ERR_UNAVAILABLE || err->kind == SB_ERR_INTERNAL;
}

typedef enum sb_err_kind (*bulk_fn)(struct request *req, const json_t *entry, const char *login,
                                    struct sb_err *err);

/* Runs FN on every entry of the array BODY in one transaction; LOGIN_OF gives an entry's login
 * (NULL when it has none). Audits ACTION per user that succeeded, after the commit. */
static void run_bulk(struct request *req, const json_t *body,
                     const char *(*login_of)(const json_t *), bulk_fn fn, const char *action)
{
    struct sb_err err;
    json_t *out, *entry, *done = xcheck(json_object());
    size_t i;

    if (!json_is_array(body)) {
        json_decref(done);
        reply_errorf(req, SB_ERR_BAD_REQUEST, "The body must be a JSON array of users.");
        return;
    }
    if (store_tx_begin(req->app->store, &err) != SB_OK) {
        json_decref(done);
        reply_error(req, &err);
        return;
    }
    out = xcheck(json_array());
    json_array_foreach (body, i, entry) {
        const char *login = login_of(entry);
        sb_err_clear(&err);
        if (!login)
            sb_err_set(&err, SB_ERR_BAD_REQUEST, "Entry %zu has no 'login' (a string).", i);
        else if (json_object_get(done, login))
            sb_err_set(&err, SB_ERR_BAD_REQUEST,
                       "User '%s' appears more than once in the "
                       "request.",
                       login);
        else if (users_validate_id(login, "login", &err))
            fn(req, entry, login, &err);
        if (err.kind != SB_OK && store_failed(&err)) {
            store_tx_rollback(req->app->store);
            json_decref(out);
            json_decref(done);
            reply_error(req, &err);
            return;
        }
        if (login && err.kind == SB_OK)
            json_object_set_new(done, login, json_true());
        add_status(out, login, err.kind == SB_OK ? NULL : &err);
    }
    if (store_tx_commit(req->app->store, &err) != SB_OK) {
        store_tx_rollback(req->app->store);
        json_decref(out);
        json_decref(done);
        reply_error(req, &err);
        return;
    }
    {
        const char *login;
        json_t *v;
        json_object_foreach (done, login, v)
            audit_record(req_actor(req), action, login, "success");
    }
    json_decref(done);
    reply_json(req, 200, out);
}

static const char *login_member(const json_t *entry)
{
    return json_string_value(json_object_get(entry, "login"));
}

static const char *login_string(const json_t *entry)
{
    return json_string_value(entry);
}

static enum sb_err_kind bulk_create_one(struct request *req, const json_t *entry, const char *login,
                                        struct sb_err *err)
{
    json_t *rec = NULL, *existing;

    if (store_obj_get(req->app->store, STORE_USERS, login, &existing, err) == SB_OK) {
        json_decref(existing);
        return sb_err_set(err, SB_ERR_CONFLICT, "User '%s' already exists.", login);
    }
    if (err->kind != SB_ERR_NOT_FOUND)
        return err->kind;
    sb_err_clear(err);
    if (users_prepare_create(entry, clock_epoch_ms(), &rec, err) == SB_OK &&
        secrets_seal_user(&req->app->secrets, login, rec, NULL, err) == SB_OK)
        store_obj_insert(req->app->store, STORE_USERS, login, rec, err);
    json_decref(rec);
    return err->kind;
}

static enum sb_err_kind bulk_edit_one(struct request *req, const json_t *entry, const char *login,
                                      struct sb_err *err)
{
    json_t *stored, *merged, *rec = NULL;

    if (store_obj_get(req->app->store, STORE_USERS, login, &stored, err) != SB_OK)
        return err->kind;
    /* a change names only what changes: the rest is kept from the stored settings */
    merged = users_settings_view(stored);
    if (json_is_object(entry))
        json_object_update(merged, (json_t *)entry);
    if (users_prepare_update(stored, merged, login, false, &rec, err) == SB_OK &&
        secrets_seal_user(&req->app->secrets, login, rec, NULL, err) == SB_OK)
        store_obj_update(req->app->store, STORE_USERS, login, rec, err);
    json_decref(rec);
    json_decref(merged);
    json_decref(stored);
    return err->kind;
}

static enum sb_err_kind bulk_delete_one(struct request *req, const json_t *entry, const char *login,
                                        struct sb_err *err)
{
    json_t *stored;
    (void)entry;

    if (req->principal.type == PRINCIPAL_USER && strcmp(req->principal.login, login) == 0 &&
        !req_query_bool(req, "allowSelfDeletion"))
        return sb_err_set(err, SB_ERR_BAD_REQUEST,
                          "User '%s' cannot delete themselves unless "
                          "allowSelfDeletion=true is given.",
                          login);
    if (store_obj_get(req->app->store, STORE_USERS, login, &stored, err) != SB_OK)
        return err->kind;
    json_decref(stored);
    return store_user_delete(req->app->store, login, err);
}

void api_users_bulk_create(struct request *req)
{
    json_t *body;

    if (!req_json_body_or_reply(req, &body))
        return;
    run_bulk(req, body, login_member, bulk_create_one, "user.create");
    json_decref(body);
}

void api_users_bulk_edit(struct request *req)
{
    json_t *body;

    if (!req_json_body_or_reply(req, &body))
        return;
    run_bulk(req, body, login_member, bulk_edit_one, "user.update");
    json_decref(body);
}

void api_users_bulk_delete(struct request *req)
{
    json_t *body;

    if (!req_json_body_or_reply(req, &body))
        return;
    run_bulk(req, body, login_string, bulk_delete_one, "user.delete");
    json_decref(body);
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
    struct sb_err err;
    json_t *body, *rec = NULL;
    const char *login = NULL;

    if (!req_json_body_or_reply(req, &body))
        return;
    if (users_prepare_create(body, clock_epoch_ms(), &rec, &err) != SB_OK ||
        secrets_seal_user(&req->app->secrets,
                          login = json_string_value(json_object_get(rec, "login")), rec, NULL,
                          &err) != SB_OK ||
        store_obj_insert(req->app->store, STORE_USERS, login, rec, &err) != SB_OK) {
        reply_error(req, &err);
    } else {
        audit_record(req_actor(req), "user.create", login, "success");
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
        secrets_seal_user(&req->app->secrets, login, rec, self ? stored : NULL, &err) != SB_OK ||
        store_obj_update(req->app->store, STORE_USERS, login, rec, &err) != SB_OK) {
        reply_error(req, &err);
    } else {
        audit_record(req_actor(req), self ? "user.update-self" : "user.update", login, "success");
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
        reply_errorf(req, SB_ERR_BAD_REQUEST,
                     "User '%s' cannot delete themselves unless "
                     "allowSelfDeletion=true is given.",
                     login);
        return;
    }
    if (store_user_delete(req->app->store, login, &err) != SB_OK) {
        reply_error(req, &err);
        return;
    }
    audit_record(req_actor(req), "user.delete", login, "success");
    reply_json(req, 200, xcheck(json_object()));
}

/* ---- current user ---- */

/* The login of REQ's principal when it is a user; otherwise answers 403. */
static const char *self_login_or_reply(struct request *req)
{
    if (req->principal.type == PRINCIPAL_USER)
        return req->principal.login;
    reply_errorf(req, SB_ERR_FORBIDDEN,
                 "This endpoint is for users: call it with a personal API "
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
    audit_record(req_actor(req), "group.create", name, "success");
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
        audit_record(req_actor(req), "group.update", name, "success");
        reply_json(req, 200, json_incref(rec));
    }
    json_decref(body);
    json_decref(stored);
    json_decref(rec);
}

/* Removes group NAME from every user and global API key, inside the open transaction, so that
 * a group later created with the same name grants nothing to those who were in this one. */
static enum sb_err_kind forget_group(struct store *st, const char *name, struct sb_err *err)
{
    json_t *all, *rec;
    size_t i;

    if (store_obj_list(st, STORE_USERS, &all, err) != SB_OK)
        return err->kind;
    json_array_foreach (all, i, rec) {
        if (users_remove_group(rec, name) &&
            store_obj_update(st, STORE_USERS, json_string_value(json_object_get(rec, "login")), rec,
                             err) != SB_OK)
            break;
    }
    json_decref(all);
    if (err->kind != SB_OK || store_key_list(st, STORE_KEY_GLOBAL, NULL, &all, err) != SB_OK)
        return err->kind;
    json_array_foreach (all, i, rec) {
        if (users_remove_group(rec, name) &&
            store_key_update(st, STORE_KEY_GLOBAL, json_string_value(json_object_get(rec, "id")),
                             rec, err) != SB_OK)
            break;
    }
    json_decref(all);
    return err->kind;
}

void api_groups_delete(struct request *req)
{
    const char *name = id_param_or_reply(req, "name");
    struct store *st;
    struct sb_err err;

    if (!name)
        return;
    st = req->app->store;
    sb_err_clear(&err);
    if (store_tx_begin(st, &err) != SB_OK ||
        store_obj_delete(st, STORE_GROUPS, name, &err) != SB_OK ||
        forget_group(st, name, &err) != SB_OK || store_tx_commit(st, &err) != SB_OK) {
        store_tx_rollback(st);
        reply_error(req, &err);
        return;
    }
    audit_record(req_actor(req), "group.delete", name, "success");
    reply_json(req, 200, xcheck(json_object()));
}
