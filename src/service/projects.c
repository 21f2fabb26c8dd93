/* SPDX-License-Identifier: Apache-2.0 */
/* Project changes (docs/API.md §6): create, delete, metadata, permissions, variables and the
 * change-connection action, each with its audit record in the actor's write. */
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "core/fields.h"
#include "core/principal.h"
#include "core/projects.h"
#include "service/audit.h"
#include "service/service.h"
#include "store/store.h"
#include "util/clock.h"
#include "util/mem.h"

enum sb_err_kind svc_project_get(struct actor *a, const char *key, bool write, json_t **out,
                                 struct sb_err *err)
{
    json_t *project;

    *out = NULL;
    if (!projects_validate_key(key, err) ||
        store_obj_get(a->app->store, STORE_PROJECTS, key, &project, err) != SB_OK)
        return err->kind;
    if (a->principal && (write ? projects_can_write(project, a->principal)
                               : projects_can_read(project, a->principal))) {
        *out = project;
        return SB_OK;
    }
    json_decref(project);
    return sb_err_set(err, SB_ERR_FORBIDDEN, "'%s' may not %s project '%s'.", actor_login(a),
                      write ? "change" : "read", key);
}

enum sb_err_kind svc_project_begin(struct actor *a, struct svc_change *c, const char *key,
                                   json_t **project, struct sb_err *err)
{
    *project = NULL;
    if (svc_begin(a, c, err) != SB_OK)
        return err->kind;
    return svc_project_get(a, key, true, project, err);
}

/* The project and its default variables, in one transaction of their own within the write. */
static enum sb_err_kind insert_project(struct store *st, const char *key, const json_t *rec,
                                       struct sb_err *err)
{
    json_t *vars;
    enum sb_err_kind rc;

    if (store_tx_begin(st, err) != SB_OK)
        return err->kind;
    vars = projects_default_variables();
    rc = store_obj_insert(st, STORE_PROJECTS, key, rec, err);
    if (rc == SB_OK)
        rc = store_obj_insert(st, STORE_PROJECT_VARIABLES, key, vars, err);
    if (rc == SB_OK)
        rc = store_tx_commit(st, err);
    else
        store_tx_rollback(st);
    json_decref(vars);
    return rc;
}

enum sb_err_kind svc_project_create(struct actor *a, const json_t *body, json_t **out,
                                    struct sb_err *err)
{
    struct svc_change c;
    const char *key = NULL;
    enum sb_err_kind rc;

    *out = NULL;
    rc = svc_begin(a, &c, err);
    if (rc == SB_OK && svc_name_taken(a->app->store, STORE_PROJECTS,
                                      json_string_value(json_object_get(body, "projectKey")), err))
        rc = err->kind;
    if (rc == SB_OK)
        rc = projects_prepare_create(body, actor_login(a), clock_epoch_ms(), out, err);
    if (rc == SB_OK) {
        key = json_string_value(json_object_get(*out, "projectKey"));
        rc = insert_project(a->app->store, key, *out, err);
    }
    return svc_end(a, &c, rc, "project.create", key, out, err);
}

enum sb_err_kind svc_project_delete(struct actor *a, const char *key, struct sb_err *err)
{
    struct svc_change c;
    enum sb_err_kind rc;

    rc = svc_begin(a, &c, err);
    if (rc == SB_OK && !projects_validate_key(key, err))
        rc = err->kind;
    if (rc == SB_OK)
        rc = store_project_delete(a->app->store, key, err);
    return svc_end(a, &c, rc, "project.delete", key, NULL, err);
}

/* A change of project KEY's record: APPLY builds the new record from the stored one and BODY
 * (ADMIN_ONLY: a project admin's change); *OUT is what ANSWER makes of it. */
static enum sb_err_kind
project_patch(struct actor *a, const char *key, const json_t *body, bool admin_only,
              enum sb_err_kind (*apply)(const json_t *project, const json_t *body, json_t **out,
                                        struct sb_err *err),
              json_t *(*answer)(const json_t *project), json_t **out, struct sb_err *err)
{
    struct svc_change c;
    json_t *project = NULL, *rec = NULL;
    enum sb_err_kind rc;

    *out = NULL;
    rc = svc_project_begin(a, &c, key, &project, err);
    if (rc == SB_OK && admin_only && !projects_can_admin(project, a->principal))
        rc = sb_err_set(err, SB_ERR_FORBIDDEN,
                        "'%s' may not change the permissions of project '%s': that takes a "
                        "project admin.",
                        actor_login(a), key);
    if (rc == SB_OK)
        rc = apply(project, body, &rec, err);
    if (rc == SB_OK)
        rc = store_obj_update(a->app->store, STORE_PROJECTS, key, rec, err);
    if (rc == SB_OK)
        *out = answer(rec);
    json_decref(project);
    json_decref(rec);
    return svc_end(a, &c, rc, "project.update", key, out, err);
}

enum sb_err_kind svc_project_set_metadata(struct actor *a, const char *key, const json_t *body,
                                          json_t **out, struct sb_err *err)
{
    return project_patch(a, key, body, false, projects_apply_metadata, projects_metadata_of, out,
                         err);
}

enum sb_err_kind svc_project_set_permissions(struct actor *a, const char *key, const json_t *body,
                                             json_t **out, struct sb_err *err)
{
    return project_patch(a, key, body, true, projects_apply_permissions, projects_permissions_view,
                         out, err);
}

enum sb_err_kind svc_project_set_variables(struct actor *a, const char *key, const json_t *body,
                                           json_t **out, struct sb_err *err)
{
    struct store *st = a->app->store;
    struct svc_change c;
    json_t *project = NULL;
    enum sb_err_kind rc;

    *out = NULL;
    rc = svc_project_begin(a, &c, key, &project, err);
    if (rc == SB_OK)
        rc = projects_prepare_variables(body, out, err);
    if (rc == SB_OK && store_obj_update(st, STORE_PROJECT_VARIABLES, key, *out, err) != SB_OK)
        rc = err->kind == SB_ERR_NOT_FOUND
                 ? store_obj_insert(st, STORE_PROJECT_VARIABLES, key, *out, err)
                 : err->kind;
    json_decref(project);
    return svc_end(a, &c, rc, "project.variables.update", key, out, err);
}

/* ---- change connection ---- */

/* Whether NAME is in the array NAMES (NULL: every name is). */
static bool listed(const json_t *names, const char *name)
{
    json_t *v;
    size_t i;

    if (!names)
        return true;
    json_array_foreach (names, i, v)
        if (strcmp(json_string_value(v), name) == 0)
            return true;
    return false;
}

/* Whether every name of NAMES is that of a dataset of ALL; otherwise the error says which is
 * not. */
static bool all_exist(const json_t *names, const json_t *all, const char *key, struct sb_err *err)
{
    json_t *v, *ds;
    size_t i, j;

    json_array_foreach (names, i, v) {
        bool found = false;
        json_array_foreach (all, j, ds)
            if (strcmp(json_string_value(json_object_get(ds, "name")), json_string_value(v)) == 0)
                found = true;
        if (!found) {
            sb_err_set(err, SB_ERR_BAD_REQUEST, "Dataset '%s' does not exist in project '%s'.",
                       json_string_value(v), key);
            return false;
        }
    }
    return true;
}

/* Moves the datasets of ALL that NAMES lists (NULL: all) from connection FROM to TO (TARGET:
 * its definition, or NULL), noting them in CHANGED, and those listed that do not use FROM in
 * SKIPPED. */
static enum sb_err_kind move_datasets(struct actor *a, const char *key, json_t *all,
                                      const json_t *names, const char *from, const char *to,
                                      const json_t *target, json_t *changed, json_t *skipped,
                                      struct sb_err *err)
{
    json_t *ds;
    size_t i;

    json_array_foreach (all, i, ds) {
        const char *name = json_string_value(json_object_get(ds, "name"));
        const char *conn = datasets_connection(ds);
        if (!listed(names, name))
            continue;
        if (!conn || strcmp(conn, from) != 0) {
            if (names)
                json_array_append_new(skipped,
                                      xcheck(json_pack("{s:s, s:s}", "name", name, "reason",
                                                       conn ? "it uses another connection"
                                                            : "it uses no connection")));
            continue;
        }
        if (datasets_check_connection(ds, to, target, a->principal, SB_ERR_BAD_REQUEST, err) !=
            SB_OK)
            return err->kind;
        json_object_set_new(json_object_get(ds, "params"), "connection", json_string(to));
        if (store_ds_update(a->app->store, key, name, ds, err) != SB_OK)
            return err->kind;
        json_array_append_new(changed, json_string(name));
    }
    return SB_OK;
}

/* svc_project_change_connection in A's write, once the body is checked. */
static enum sb_err_kind change_connection(struct actor *a, const char *key, const json_t *names,
                                          const char *from, const char *to, bool dry_run,
                                          json_t **out, struct sb_err *err)
{
    struct store *st = a->app->store;
    json_t *target = NULL, *all = NULL, *changed, *skipped;
    enum sb_err_kind rc;

    if (store_conn_get(st, to, &target, err) != SB_OK && err->kind != SB_ERR_NOT_FOUND)
        return err->kind;
    changed = xcheck(json_array());
    skipped = xcheck(json_array());
    /* a transaction of its own within the write: a dry run rolls it back */
    if (store_tx_begin(st, err) != SB_OK) {
        rc = err->kind;
        goto out;
    }
    rc = store_ds_list(st, key, &all, err);
    if (rc == SB_OK && !all_exist(names, all, key, err))
        rc = err->kind;
    if (rc == SB_OK)
        rc = move_datasets(a, key, all, names, from, to, target, changed, skipped, err);
    if (rc != SB_OK || dry_run)
        store_tx_rollback(st);
    else
        rc = store_tx_commit(st, err);
    if (rc == SB_OK) {
        if (!dry_run)
            audit_record(a, "project.change-connection", key, "success");
        *out = xcheck(json_pack("{s:O, s:O, s:b}", "changed", changed, "skipped", skipped, "dryRun",
                                dry_run));
    }
out:
    json_decref(changed);
    json_decref(skipped);
    json_decref(target);
    json_decref(all);
    return rc;
}

enum sb_err_kind svc_project_change_connection(struct actor *a, const char *key, const json_t *body,
                                               json_t **out, struct sb_err *err)
{
    const char *from = json_string_value(json_object_get(body, "from"));
    const char *to = json_string_value(json_object_get(body, "to"));
    const json_t *names = json_object_get(body, "datasets");
    struct svc_change c;
    json_t *project = NULL;
    enum sb_err_kind rc;

    *out = NULL;
    if (json_is_null(names))
        names = NULL;
    rc = svc_project_begin(a, &c, key, &project, err);
    json_decref(project);
    if (rc == SB_OK && (!from || !to))
        rc = sb_err_set(err, SB_ERR_BAD_REQUEST,
                        "Fields 'from' and 'to' are required: the connection to move datasets "
                        "from, and the one to move them to.");
    if (rc == SB_OK && (!fields_bool(body, "", "dryRun", err) ||
                        (names && !fields_string_array(body, "", "datasets", err))))
        rc = err->kind;
    if (rc == SB_OK)
        rc = change_connection(a, key, names, from, to,
                               json_is_true(json_object_get(body, "dryRun")), out, err);
    /* the record of a move is change_connection's: a dry run moves nothing */
    return svc_end(a, &c, rc, NULL, NULL, out, err);
}
