/* SPDX-License-Identifier: Apache-2.0 */
/* /projects (docs/API.md §6): projects, their datasets and variables, and the change-connection
 * action. A dataset that names a connection is checked against it on every create, and on
 * every update that changes its connection or type. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "core/fields.h"
#include "core/projects.h"
#include "http/request.h"
#include "service/audit.h"
#include "store/store.h"
#include "util/clock.h"
#include "util/limits.h"
#include "util/mem.h"

/* The project of the {key} path parameter when P may read it (WRITE: write it); otherwise
 * answers 400, 404 or 403 and returns NULL. New reference. */
static json_t *project_or_reply(struct request *req, bool write)
{
    const char *key = req_param(req, 0);
    struct sb_err err;
    json_t *project;

    if (!projects_validate_key(key, &err) ||
        store_obj_get(req->app->store, STORE_PROJECTS, key, &project, &err) != SB_OK) {
        reply_error(req, &err);
        return NULL;
    }
    if (write ? projects_can_write(project, &req->principal)
              : projects_can_read(project, &req->principal))
        return project;
    json_decref(project);
    reply_errorf(req, SB_ERR_FORBIDDEN, "'%s' may not %s project '%s'.", req->principal.login,
                 write ? "change" : "read", key);
    return NULL;
}

void api_projects_list(struct request *req)
{
    struct sb_err err;
    json_t *all, *project, *out;
    size_t i;

    if (store_obj_list(req->app->store, STORE_PROJECTS, &all, &err) != SB_OK) {
        reply_error(req, &err);
        return;
    }
    out = xcheck(json_array());
    json_array_foreach (all, i, project)
        if (projects_can_read(project, &req->principal))
            json_array_append(out, project);
    json_decref(all);
    reply_json(req, 200, out);
}

void api_projects_create(struct request *req)
{
    struct sb_err err;
    json_t *body, *rec = NULL, *vars;
    const char *key;

    if (!req_json_body_or_reply(req, &body))
        return;
    if (projects_prepare_create(body, req->principal.login, clock_epoch_ms(), &rec, &err) !=
        SB_OK) {
        reply_error(req, &err);
        goto out;
    }
    key = json_string_value(json_object_get(rec, "projectKey"));
    vars = projects_default_variables();
    if (store_tx_begin(req->app->store, &err) != SB_OK ||
        store_obj_insert(req->app->store, STORE_PROJECTS, key, rec, &err) != SB_OK ||
        store_obj_insert(req->app->store, STORE_PROJECT_VARIABLES, key, vars, &err) != SB_OK ||
        store_tx_commit(req->app->store, &err) != SB_OK) {
        store_tx_rollback(req->app->store);
        json_decref(vars);
        reply_error(req, &err);
        goto out;
    }
    json_decref(vars);
    audit_record(req_actor(req), "project.create", key, "success");
    reply_json(req, 200, json_incref(rec));
out:
    json_decref(body);
    json_decref(rec);
}

void api_projects_get(struct request *req)
{
    json_t *project = project_or_reply(req, false);

    if (project)
        reply_json(req, 200, project);
}

void api_projects_delete(struct request *req)
{
    const char *key = req_param(req, 0);
    struct sb_err err;

    if (!projects_validate_key(key, &err) ||
        store_project_delete(req->app->store, key, &err) != SB_OK) {
        reply_error(req, &err);
        return;
    }
    audit_record(req_actor(req), "project.delete", key, "success");
    reply_json(req, 200, xcheck(json_object()));
}

/* ---- project metadata and permissions ---- */

void api_projects_metadata_get(struct request *req)
{
    json_t *project = project_or_reply(req, false);

    if (!project)
        return;
    reply_json(req, 200, projects_metadata_of(project));
    json_decref(project);
}

void api_projects_permissions_get(struct request *req)
{
    json_t *project = project_or_reply(req, false);

    if (!project)
        return;
    reply_json(req, 200, projects_permissions_view(project));
    json_decref(project);
}

/* PUT of a project's metadata or permissions: APPLY builds the new record from the stored one
 * and the body; the answer is what ANSWER makes of it. */
static void project_patch(struct request *req, bool admin_only,
                          enum sb_err_kind (*apply)(const json_t *project, const json_t *body,
                                                    json_t **out, struct sb_err *err),
                          json_t *(*answer)(const json_t *project))
{
    json_t *project = project_or_reply(req, true), *body = NULL, *rec = NULL;
    const char *key = req_param(req, 0);
    struct sb_err err;

    if (!project)
        return;
    if (admin_only && !projects_can_admin(project, &req->principal)) {
        reply_errorf(req, SB_ERR_FORBIDDEN,
                     "'%s' may not change the permissions of project "
                     "'%s': that takes a project admin.",
                     req->principal.login, key);
        goto out;
    }
    if (!req_json_body_or_reply(req, &body))
        goto out;
    if (apply(project, body, &rec, &err) != SB_OK ||
        store_obj_update(req->app->store, STORE_PROJECTS, key, rec, &err) != SB_OK) {
        reply_error(req, &err);
        goto out;
    }
    audit_record(req_actor(req), "project.update", key, "success");
    reply_json(req, 200, answer(rec));
out:
    json_decref(project);
    json_decref(body);
    json_decref(rec);
}

void api_projects_metadata_set(struct request *req)
{
    project_patch(req, false, projects_apply_metadata, projects_metadata_of);
}

void api_projects_permissions_set(struct request *req)
{
    project_patch(req, true, projects_apply_permissions, projects_permissions_view);
}

/* ---- datasets ---- */

static json_t *datasets_list_view(const json_t *all, char *tag);

/* Checks the connection DS names, if any. Answers on failure and returns the error's kind. */
static enum sb_err_kind dataset_connection_check_or_reply(struct request *req, const json_t *ds)
{
    const char *conn_name = datasets_connection(ds);
    struct sb_err err;
    json_t *conn = NULL;
    bool ok;

    if (!conn_name)
        return SB_OK;
    /* in the route's transaction: the connection cannot go away before the dataset is stored */
    if (store_conn_hold(req->app->store, conn_name, &conn, &err) != SB_OK &&
        err.kind != SB_ERR_NOT_FOUND) {
        reply_error(req, &err);
        return err.kind;
    }
    ok = datasets_check_connection(ds, conn_name, conn, &req->principal, SB_ERR_FORBIDDEN, &err) ==
         SB_OK;
    json_decref(conn);
    if (ok)
        return SB_OK;
    reply_error(req, &err);
    return err.kind == SB_ERR_NOT_FOUND ? SB_ERR_BAD_REQUEST : err.kind;
}

void api_datasets_list(struct request *req)
{
    json_t *project = project_or_reply(req, false), *all;
    struct sb_err err;

    if (!project)
        return;
    json_decref(project);
    if (store_ds_list(req->app->store, req_param(req, 0), &all, &err) != SB_OK) {
        reply_error(req, &err);
        return;
    }
    reply_json(req, 200, datasets_list_view(all, req_query(req, "tags")));
    json_decref(all);
}

/* Creates the dataset of BODY (a create body) in the project of the path; answers. */
static void create_dataset(struct request *req, const json_t *body)
{
    const char *key = req_param(req, 0), *name;
    json_t *ds = NULL;
    struct sb_err err;

    if (datasets_prepare(body, key, NULL, &ds, &err) != SB_OK) {
        reply_error(req, &err);
        goto out;
    }
    name = json_string_value(json_object_get(ds, "name"));
    /* the audit record names the dataset, as those of its updates and delete do */
    snprintf(req->actor.object, sizeof(req->actor.object), "%s/%s", key, name);
    if (dataset_connection_check_or_reply(req, ds) != SB_OK) {
        goto out;
    }
    /* as in DSS, the creator: DSSDatasetSettings.data_steward falls back on it */
    json_object_set_new(ds, "creationTag",
                        xcheck(json_pack("{s:I, s:{s:s}, s:I}", "versionNumber", (json_int_t)0,
                                         "lastModifiedBy", "login", req->principal.login,
                                         "lastModifiedOn", (json_int_t)clock_epoch_ms())));
    if (store_ds_insert(req->app->store, key, name, ds, &err) != SB_OK) {
        reply_error(req, &err);
        goto out;
    }
    reply_json(req, 200, datasets_view(ds));
out:
    json_decref(ds);
}

void api_datasets_create(struct request *req)
{
    json_t *project = project_or_reply(req, true), *body;

    if (!project)
        return;
    json_decref(project);
    if (!req_json_body_or_reply(req, &body))
        return;
    create_dataset(req, body);
    json_decref(body);
}

/* POST /projects/{key}/datasets/managed (DSSManagedDatasetCreationHelper.create): a managed
 * dataset stored into creationSettings.connectionId, typed after that connection. */
void api_datasets_create_managed(struct request *req)
{
    json_t *project = project_or_reply(req, true), *body = NULL, *conn = NULL, *create = NULL;
    const char *conn_name;
    struct sb_err err;

    if (!project)
        return;
    json_decref(project);
    if (!req_json_body_or_reply(req, &body))
        return;
    conn_name = datasets_managed_connection(body);
    if (conn_name && store_conn_hold(req->app->store, conn_name, &conn, &err) != SB_OK &&
        err.kind != SB_ERR_NOT_FOUND) {
        reply_error(req, &err);
        goto out;
    }
    if (datasets_managed_body(body, req_param(req, 0),
                              json_string_value(json_object_get(conn, "type")), &create,
                              &err) != SB_OK) {
        reply_error(req, &err);
        goto out;
    }
    create_dataset(req, create);
out:
    json_decref(body);
    json_decref(conn);
    json_decref(create);
}

void api_datasets_get(struct request *req)
{
    json_t *project = project_or_reply(req, false), *ds;
    struct sb_err err;

    if (!project)
        return;
    json_decref(project);
    if (store_ds_get(req->app->store, req_param(req, 0), req_param(req, 1), &ds, &err) != SB_OK) {
        reply_error(req, &err);
        return;
    }
    reply_json(req, 200, datasets_view(ds));
    json_decref(ds);
}

/* Every dataset of ALL (an array, borrowed) as served, only those tagged TAG when TAG is not
 * NULL (list_datasets(tags=[...]); steals TAG). New reference. */
static json_t *datasets_list_view(const json_t *all, char *tag)
{
    json_t *out = xcheck(json_array()), *ds, *t;
    size_t i, j;
    bool keep;

    json_array_foreach (all, i, ds) {
        keep = !tag || !*tag;
        json_array_foreach (json_object_get(ds, "tags"), j, t)
            if (!keep && json_is_string(t) && strcmp(json_string_value(t), tag) == 0)
                keep = true;
        if (keep)
            json_array_append_new(out, datasets_view(ds));
    }
    free(tag);
    return out;
}

/* The dataset of the path when the caller may read it (WRITE: change it); otherwise answers
 * and returns NULL. New reference. */
static json_t *dataset_or_reply(struct request *req, bool write)
{
    json_t *project = project_or_reply(req, write), *ds;
    struct sb_err err;

    if (!project)
        return NULL;
    json_decref(project);
    if (store_ds_get(req->app->store, req_param(req, 0), req_param(req, 1), &ds, &err) != SB_OK) {
        reply_error(req, &err);
        return NULL;
    }
    return ds;
}

void api_datasets_metadata_get(struct request *req)
{
    json_t *ds = dataset_or_reply(req, false);

    if (!ds)
        return;
    reply_json(req, 200, projects_metadata_of(ds));
    json_decref(ds);
}

void api_datasets_schema_get(struct request *req)
{
    json_t *ds = dataset_or_reply(req, false), *view;

    if (!ds)
        return;
    view = datasets_view(ds);
    reply_json(req, 200, json_incref(json_object_get(view, "schema")));
    json_decref(view);
    json_decref(ds);
}

/* PUT of metadata or schema: APPLY builds the new definition from the stored one and the body;
 * ANSWER gives what to send back from it. */
static void dataset_patch(struct request *req,
                          enum sb_err_kind (*apply)(const json_t *ds, const json_t *body,
                                                    json_t **out, struct sb_err *err),
                          json_t *(*answer)(const json_t *ds))
{
    json_t *ds = dataset_or_reply(req, true), *body = NULL, *rec = NULL;
    struct sb_err err;

    if (!ds)
        return;
    if (!req_json_body_or_reply(req, &body))
        goto out;
    if (apply(ds, body, &rec, &err) != SB_OK ||
        store_ds_update(req->app->store, req_param(req, 0), req_param(req, 1), rec, &err) !=
            SB_OK) {
        reply_error(req, &err);
    } else {
        reply_json(req, 200, answer(rec));
    }
out:
    json_decref(ds);
    json_decref(body);
    json_decref(rec);
}

static json_t *schema_of(const json_t *ds)
{
    return json_incref(json_object_get(ds, "schema"));
}

void api_datasets_metadata_set(struct request *req)
{
    dataset_patch(req, projects_apply_metadata, projects_metadata_of);
}

void api_datasets_schema_set(struct request *req)
{
    dataset_patch(req, datasets_apply_schema, schema_of);
}

void api_datasets_update(struct request *req)
{
    json_t *project = project_or_reply(req, true), *body = NULL, *ds = NULL, *stored = NULL;
    const char *key = req_param(req, 0), *name = req_param(req, 1);
    const char *old_conn, *new_conn;
    struct sb_err err;

    if (!project)
        return;
    json_decref(project);
    if (!req_json_body_or_reply(req, &body))
        return;
    if (store_ds_get(req->app->store, key, name, &stored, &err) != SB_OK ||
        datasets_prepare(body, key, name, &ds, &err) != SB_OK) {
        reply_error(req, &err);
        goto out;
    }
    /* who created the dataset and when stay as stored, whatever the body says */
    if (json_object_get(stored, "creationTag"))
        json_object_set(ds, "creationTag", json_object_get(stored, "creationTag"));
    else
        json_object_del(ds, "creationTag");
    old_conn = datasets_connection(stored);
    new_conn = datasets_connection(ds);
    if (new_conn &&
        (!old_conn || strcmp(old_conn, new_conn) != 0 ||
         !json_equal(json_object_get(stored, "type"), json_object_get(ds, "type")) ||
         !json_equal(json_object_get(stored, "managed"), json_object_get(ds, "managed"))) &&
        dataset_connection_check_or_reply(req, ds) != SB_OK) {
        goto out;
    }
    if (store_ds_update(req->app->store, key, name, ds, &err) != SB_OK) {
        reply_error(req, &err);
        goto out;
    }
    reply_json(req, 200, datasets_view(ds));
out:
    json_decref(body);
    json_decref(ds);
    json_decref(stored);
}

void api_datasets_delete(struct request *req)
{
    json_t *project = project_or_reply(req, true);
    struct sb_err err;

    if (!project)
        return;
    json_decref(project);
    if (store_ds_delete(req->app->store, req_param(req, 0), req_param(req, 1), &err) != SB_OK) {
        reply_error(req, &err);
        return;
    }
    reply_json(req, 200, xcheck(json_object()));
}

/* ---- variables ---- */

void api_project_variables_get(struct request *req)
{
    json_t *project = project_or_reply(req, false), *vars;
    struct sb_err err;

    if (!project)
        return;
    json_decref(project);
    if (store_obj_get(req->app->store, STORE_PROJECT_VARIABLES, req_param(req, 0), &vars, &err) !=
        SB_OK) {
        if (err.kind != SB_ERR_NOT_FOUND) {
            reply_error(req, &err);
            return;
        }
        vars = projects_default_variables();
    }
    reply_json(req, 200, vars);
}

void api_project_variables_resolved(struct request *req)
{
    json_t *project = project_or_reply(req, false), *vars = NULL, *instance = NULL;
    char *typed = req_query(req, "typed"), *text = NULL;
    struct sb_err err;

    if (!project)
        goto out;
    if ((store_obj_get(req->app->store, STORE_PROJECT_VARIABLES, req_param(req, 0), &vars, &err) !=
             SB_OK &&
         err.kind != SB_ERR_NOT_FOUND) ||
        store_meta_get(req->app->store, STORE_META_VARIABLES, &text, &err) != SB_OK) {
        reply_error(req, &err);
        goto out;
    }
    instance = text ? json_loads(text, 0, NULL) : NULL;
    reply_json(req, 200,
               projects_resolved_variables(instance, vars, typed && strcmp(typed, "true") == 0));
out:
    free(typed);
    free(text);
    json_decref(instance);
    json_decref(vars);
    json_decref(project);
}

void api_project_variables_set(struct request *req)
{
    json_t *project = project_or_reply(req, true), *body = NULL, *vars = NULL;
    const char *key = req_param(req, 0);
    struct sb_err err;

    if (!project)
        return;
    json_decref(project);
    if (!req_json_body_or_reply(req, &body))
        return;
    if (projects_prepare_variables(body, &vars, &err) != SB_OK ||
        (store_obj_update(req->app->store, STORE_PROJECT_VARIABLES, key, vars, &err) != SB_OK &&
         (err.kind != SB_ERR_NOT_FOUND ||
          store_obj_insert(req->app->store, STORE_PROJECT_VARIABLES, key, vars, &err) != SB_OK))) {
        reply_error(req, &err);
    } else {
        audit_record(req_actor(req), "project.variables.update", key, "success");
        reply_json(req, 200, json_incref(vars));
    }
    json_decref(body);
    json_decref(vars);
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

void api_projects_change_connection(struct request *req)
{
    json_t *project = project_or_reply(req, true), *body = NULL, *target = NULL, *all = NULL;
    json_t *names, *changed, *skipped, *ds, *v;
    const char *key = req_param(req, 0), *from, *to;
    struct sb_err err;
    bool dry_run, failed = false;
    size_t i;

    if (!project)
        return;
    json_decref(project);
    if (!req_json_body_or_reply(req, &body))
        return;
    from = json_string_value(json_object_get(body, "from"));
    to = json_string_value(json_object_get(body, "to"));
    names = json_object_get(body, "datasets");
    if (json_is_null(names))
        names = NULL;
    if (!from || !to || !fields_bool(body, "", "dryRun", &err) ||
        (names && !fields_string_array(body, "", "datasets", &err))) {
        if (!from || !to)
            sb_err_set(&err, SB_ERR_BAD_REQUEST,
                       "Fields 'from' and 'to' are required: the connection to move datasets "
                       "from, and the one to move them to.");
        reply_error(req, &err);
        goto out;
    }
    dry_run = json_is_true(json_object_get(body, "dryRun"));
    if (store_conn_get(req->app->store, to, &target, &err) != SB_OK &&
        err.kind != SB_ERR_NOT_FOUND) {
        reply_error(req, &err);
        goto out;
    }

    changed = xcheck(json_array());
    skipped = xcheck(json_array());
    if (store_tx_begin(req->app->store, &err) != SB_OK ||
        store_ds_list(req->app->store, key, &all, &err) != SB_OK) {
        failed = true;
        goto finish;
    }
    /* every listed name must exist */
    json_array_foreach (names, i, v) {
        bool found = false;
        size_t j;
        json_array_foreach (all, j, ds)
            if (strcmp(json_string_value(json_object_get(ds, "name")), json_string_value(v)) == 0)
                found = true;
        if (!found) {
            sb_err_set(&err, SB_ERR_BAD_REQUEST, "Dataset '%s' does not exist in project '%s'.",
                       json_string_value(v), key);
            failed = true;
            goto finish;
        }
    }
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
        if (datasets_check_connection(ds, to, target, &req->principal, SB_ERR_BAD_REQUEST, &err) !=
            SB_OK) {
            failed = true;
            goto finish;
        }
        json_object_set_new(json_object_get(ds, "params"), "connection", json_string(to));
        if (store_ds_update(req->app->store, key, name, ds, &err) != SB_OK) {
            failed = true;
            goto finish;
        }
        json_array_append_new(changed, json_string(name));
    }
finish:
    if (failed || dry_run)
        store_tx_rollback(req->app->store);
    else if (store_tx_commit(req->app->store, &err) != SB_OK)
        failed = true;
    if (failed) {
        reply_error(req, &err);
        json_decref(changed);
        json_decref(skipped);
    } else {
        if (!dry_run)
            audit_record(req_actor(req), "project.change-connection", key, "success");
        reply_json(req, 200,
                   xcheck(json_pack("{s:o, s:o, s:b}", "changed", changed, "skipped", skipped,
                                    "dryRun", dry_run)));
    }
out:
    json_decref(body);
    json_decref(target);
    json_decref(all);
}
