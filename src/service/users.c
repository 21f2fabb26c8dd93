/* SPDX-License-Identifier: Apache-2.0 */
/* User and group changes (docs/API.md §5.3): create, update (by an admin or by the user), delete,
 * the bulk actions, and groups. A user's secrets are sealed before anything is stored; each
 * change and its audit record join the actor's write. The answers these calls give are settings
 * views: never a password hash. */
#include <string.h>

#include "app.h"
#include "core/principal.h"
#include "core/secrets.h"
#include "core/users.h"
#include "service/audit.h"
#include "service/service.h"
#include "store/store.h"
#include "util/clock.h"
#include "util/mem.h"

const char *svc_self_login(const struct actor *a, struct sb_err *err)
{
    if (a->principal && a->principal->type == PRINCIPAL_USER)
        return a->principal->login;
    sb_err_set(err, SB_ERR_FORBIDDEN,
               "This endpoint is for users: call it with a personal API key, not a global one.");
    return NULL;
}

/* Whether A may delete user LOGIN: not themselves, unless ALLOW_SELF (allowSelfDeletion). */
static enum sb_err_kind may_delete(const struct actor *a, const char *login, bool allow_self,
                                   struct sb_err *err)
{
    if (allow_self || !a->principal || a->principal->type != PRINCIPAL_USER ||
        strcmp(a->principal->login, login) != 0)
        return SB_OK;
    return sb_err_set(err, SB_ERR_BAD_REQUEST,
                      "User '%s' cannot delete themselves unless allowSelfDeletion=true is given.",
                      login);
}

/* ---- one user or group ---- */

/* Validates BODY, seals its secrets and inserts the user or group it defines into COLL, in the
 * open write; *REC the record. */
static enum sb_err_kind insert(struct actor *a, enum store_collection coll, const json_t *body,
                               json_t **rec, struct sb_err *err)
{
    const char *id =
        json_string_value(json_object_get(body, coll == STORE_GROUPS ? "name" : "login"));

    if (svc_name_taken(a->app->store, coll, id, err))
        return err->kind;
    if (coll == STORE_GROUPS) {
        if (groups_prepare_create(body, rec, err) != SB_OK)
            return err->kind;
        id = json_string_value(json_object_get(*rec, "name"));
    } else {
        if (users_prepare_create(body, clock_epoch_ms(), rec, err) != SB_OK)
            return err->kind;
        id = json_string_value(json_object_get(*rec, "login"));
        if (secrets_seal_user(&a->app->secrets, id, *rec, NULL, err) != SB_OK)
            return err->kind;
    }
    return store_obj_insert(a->app->store, coll, id, *rec, err);
}

/* Replaces the record ID of COLL (users or groups) by the one BODY makes of it (SELF: a user's
 * own edit), in the open write; *REC the record written. */
static enum sb_err_kind replace(struct actor *a, enum store_collection coll, const char *id,
                                const json_t *body, bool self, json_t **rec, struct sb_err *err)
{
    json_t *stored = NULL;
    enum sb_err_kind rc = store_obj_get(a->app->store, coll, id, &stored, err);

    if (rc == SB_OK && coll == STORE_GROUPS)
        rc = groups_prepare_update(stored, body, id, rec, err);
    else if (rc == SB_OK) {
        rc = users_prepare_update(stored, body, id, self, rec, err);
        if (rc == SB_OK)
            rc = secrets_seal_user(&a->app->secrets, id, *rec, self ? stored : NULL, err);
    }
    if (rc == SB_OK)
        rc = store_obj_update(a->app->store, coll, id, *rec, err);
    json_decref(stored);
    return rc;
}

/* A create (ID NULL) or an update of user or group ID in COLL from BODY, recorded as ACTION;
 * *OUT the settings view of a user, a group's record. */
static enum sb_err_kind change(struct actor *a, enum store_collection coll, const char *id,
                               const json_t *body, bool self, const char *action, json_t **out,
                               struct sb_err *err)
{
    struct svc_change c;
    json_t *rec = NULL;
    enum sb_err_kind rc;

    *out = NULL;
    if (svc_begin(a, &c, err) != SB_OK)
        return err->kind;
    rc = id ? replace(a, coll, id, body, self, &rec, err) : insert(a, coll, body, &rec, err);
    if (rc == SB_OK) {
        *out = coll == STORE_USERS ? users_settings_view(rec) : json_incref(rec);
        if (!id)
            id = json_string_value(json_object_get(*out, coll == STORE_USERS ? "login" : "name"));
    }
    json_decref(rec);
    return svc_end(a, &c, rc, action, id, out, err);
}

enum sb_err_kind svc_user_create(struct actor *a, const json_t *body, json_t **out,
                                 struct sb_err *err)
{
    return change(a, STORE_USERS, NULL, body, false, "user.create", out, err);
}

enum sb_err_kind svc_user_update(struct actor *a, const char *login, const json_t *body,
                                 json_t **out, struct sb_err *err)
{
    return change(a, STORE_USERS, login, body, false, "user.update", out, err);
}

enum sb_err_kind svc_user_update_self(struct actor *a, const json_t *body, json_t **out,
                                      struct sb_err *err)
{
    const char *login = svc_self_login(a, err);

    *out = NULL;
    return login ? change(a, STORE_USERS, login, body, true, "user.update-self", out, err)
                 : err->kind;
}

enum sb_err_kind svc_user_delete(struct actor *a, const char *login, bool allow_self,
                                 struct sb_err *err)
{
    struct svc_change c;

    if (may_delete(a, login, allow_self, err) != SB_OK || svc_begin(a, &c, err) != SB_OK)
        return err->kind;
    return svc_end(a, &c, store_user_delete(a->app->store, login, err), "user.delete", login, NULL,
                   err);
}

/* ---- bulk: /admin/users/actions/bulk ----
 * Each call is one transaction. A user whose entry is refused (invalid, exists, missing) is
 * reported {"status": "FAILURE", "error"} and the others still apply, as in DSS; a store
 * failure rolls the whole call back and is the call's error. */

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

static enum sb_err_kind bulk_create_one(struct actor *a, const json_t *entry, const char *login,
                                        bool allow_self, struct sb_err *err)
{
    json_t *rec = NULL, *existing;
    (void)allow_self;

    if (store_obj_get(a->app->store, STORE_USERS, login, &existing, err) == SB_OK) {
        json_decref(existing);
        return sb_err_set(err, SB_ERR_CONFLICT, "User '%s' already exists.", login);
    }
    if (err->kind != SB_ERR_NOT_FOUND)
        return err->kind;
    sb_err_clear(err);
    enum sb_err_kind rc = insert(a, STORE_USERS, entry, &rec, err);
    json_decref(rec);
    return rc;
}

static enum sb_err_kind bulk_edit_one(struct actor *a, const json_t *entry, const char *login,
                                      bool allow_self, struct sb_err *err)
{
    json_t *stored, *merged, *rec = NULL;
    (void)allow_self;

    if (store_obj_get(a->app->store, STORE_USERS, login, &stored, err) != SB_OK)
        return err->kind;
    /* a change names only what changes: the rest is kept from the stored settings */
    merged = users_settings_view(stored);
    json_decref(stored);
    if (json_is_object(entry))
        json_object_update(merged, (json_t *)entry);
    enum sb_err_kind rc = replace(a, STORE_USERS, login, merged, false, &rec, err);
    json_decref(rec);
    json_decref(merged);
    return rc;
}

static enum sb_err_kind bulk_delete_one(struct actor *a, const json_t *entry, const char *login,
                                        bool allow_self, struct sb_err *err)
{
    json_t *stored;
    (void)entry;

    if (may_delete(a, login, allow_self, err) != SB_OK ||
        store_obj_get(a->app->store, STORE_USERS, login, &stored, err) != SB_OK)
        return err->kind;
    json_decref(stored);
    return store_user_delete(a->app->store, login, err);
}

typedef enum sb_err_kind (*bulk_fn)(struct actor *a, const json_t *entry, const char *login,
                                    bool allow_self, struct sb_err *err);

static const struct {
    bulk_fn fn;
    const char *action;
    bool login_member; /* entries are {"login", ...}; otherwise login strings */
} bulk_ops[] = {
    [SVC_USERS_BULK_CREATE] = {bulk_create_one, "user.create", true},
    [SVC_USERS_BULK_EDIT] = {bulk_edit_one, "user.update", true},
    [SVC_USERS_BULK_DELETE] = {bulk_delete_one, "user.delete", false},
};

/* Runs OP on every entry of BODY in one savepoint of the open write, into OUT; DONE gets the
 * logins that succeeded. Returns a store failure, which rolls everything back. */
static enum sb_err_kind bulk_all(struct actor *a, enum svc_users_bulk op, const json_t *body,
                                 bool allow_self, json_t *out, json_t *done, struct sb_err *err)
{
    struct store *st = a->app->store;
    json_t *entry;
    size_t i;

    if (store_tx_begin(st, err) != SB_OK)
        return err->kind;
    json_array_foreach (body, i, entry) {
        const char *login = bulk_ops[op].login_member
                                ? json_string_value(json_object_get(entry, "login"))
                                : json_string_value(entry);
        sb_err_clear(err);
        if (!login)
            sb_err_set(err, SB_ERR_BAD_REQUEST, "Entry %zu has no 'login' (a string).", i);
        else if (json_object_get(done, login))
            sb_err_set(err, SB_ERR_BAD_REQUEST, "User '%s' appears more than once in the request.",
                       login);
        else if (users_validate_id(login, "login", err) &&
                 bulk_ops[op].fn(a, entry, login, allow_self, err) == SB_OK)
            sb_err_clear(err);
        if (err->kind != SB_OK && store_failed(err)) {
            store_tx_rollback(st);
            return err->kind;
        }
        if (login && err->kind == SB_OK)
            json_object_set_new(done, login, json_true());
        add_status(out, login, err->kind == SB_OK ? NULL : err);
    }
    sb_err_clear(err);
    if (store_tx_commit(st, err) != SB_OK) {
        store_tx_rollback(st);
        return err->kind;
    }
    return SB_OK;
}

enum sb_err_kind svc_users_bulk(struct actor *a, enum svc_users_bulk op, const json_t *body,
                                bool allow_self, json_t **out, struct sb_err *err)
{
    struct svc_change c;
    json_t *done, *v;
    const char *login;
    enum sb_err_kind rc;

    *out = NULL;
    if (!json_is_array(body))
        return sb_err_set(err, SB_ERR_BAD_REQUEST, "The body must be a JSON array of users.");
    if (svc_begin(a, &c, err) != SB_OK)
        return err->kind;
    done = xcheck(json_object());
    *out = xcheck(json_array());
    rc = bulk_all(a, op, body, allow_self, *out, done, err);
    if (rc == SB_OK)
        json_object_foreach (done, login, v)
            audit_record(a, bulk_ops[op].action, login, "success");
    json_decref(done);
    /* one record per user changed; none of the call itself */
    return svc_end(a, &c, rc, NULL, NULL, out, err);
}

/* ---- groups ---- */

enum sb_err_kind svc_group_put(struct actor *a, const char *name, const json_t *body, json_t **out,
                               struct sb_err *err)
{
    return change(a, STORE_GROUPS, name, body, false, name ? "group.update" : "group.create", out,
                  err);
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

/* Deletes group NAME and forgets it everywhere, in one savepoint of the open write. */
static enum sb_err_kind group_delete(struct store *st, const char *name, struct sb_err *err)
{
    sb_err_clear(err); /* forget_group reads it */
    if (store_tx_begin(st, err) != SB_OK)
        return err->kind;
    if (store_obj_delete(st, STORE_GROUPS, name, err) != SB_OK ||
        forget_group(st, name, err) != SB_OK || store_tx_commit(st, err) != SB_OK) {
        store_tx_rollback(st);
        return err->kind;
    }
    return SB_OK;
}

enum sb_err_kind svc_group_delete(struct actor *a, const char *name, struct sb_err *err)
{
    struct svc_change c;

    if (svc_begin(a, &c, err) != SB_OK)
        return err->kind;
    return svc_end(a, &c, group_delete(a->app->store, name, err), "group.delete", name, NULL, err);
}
