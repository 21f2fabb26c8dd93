/* SPDX-License-Identifier: Apache-2.0 */
/* /projects (docs/API.md §6): projects, their datasets and variables, and the change-connection
 * action. Every change is one call of the service (src/service/projects.c, datasets.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "api/common.h"
#include "core/projects.h"
#include "http/request.h"
#include "service/service.h"
#include "store/store.h"
#include "util/limits.h"
#include "util/mem.h"

/* The project of the {key} path parameter when the caller may read it; otherwise answers 400,
 * 404 or 403 and returns NULL. New reference. */
static json_t *project_or_reply(struct request *req)
{
    struct sb_err err;
    json_t *project;

    if (svc_project_get(req_actor(req), req_param(req, 0), false, &project, &err) != SB_OK)
        reply_error(req, &err);
    return project;
}

/* A change by the body of a dataset of the project of the path: parses the body, calls CHANGE,
 * answers. */
static void dataset_change(struct request *req,
                           enum sb_err_kind (*change)(struct actor *a, const char *key,
                                                      const char *name, const json_t *body,
                                                      json_t **out, struct sb_err *err))
{
    struct sb_err err;
    json_t *body, *out = NULL;

    if (!req_json_body_or_reply(req, &body))
        return;
    enum sb_err_kind rc =
        change(req_actor(req), req_param(req, 0), req_param(req, 1), body, &out, &err);
    api_reply_change(req, rc, &err, out);
    json_decref(body);
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
    api_change(req, svc_project_create);
}

void api_projects_get(struct request *req)
{
    json_t *project = project_or_reply(req);

    if (project)
        reply_json(req, 200, project);
}

void api_projects_delete(struct request *req)
{
    api_remove_id(req, req_param(req, 0), svc_project_delete);
}

/* ---- project metadata and permissions ---- */

void api_projects_metadata_get(struct request *req)
{
    json_t *project = project_or_reply(req);

    if (!project)
        return;
    reply_json(req, 200, projects_metadata_of(project));
    json_decref(project);
}

void api_projects_permissions_get(struct request *req)
{
    json_t *project = project_or_reply(req);

    if (!project)
        return;
    reply_json(req, 200, projects_permissions_view(project));
    json_decref(project);
}

void api_projects_metadata_set(struct request *req)
{
    api_change_id(req, req_param(req, 0), svc_project_set_metadata);
}

void api_projects_permissions_set(struct request *req)
{
    api_change_id(req, req_param(req, 0), svc_project_set_permissions);
}

/* ---- datasets ---- */

static json_t *datasets_list_view(const json_t *all, char *tag);

void api_datasets_list(struct request *req)
{
    json_t *project = project_or_reply(req), *all;
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

void api_datasets_create(struct request *req)
{
    api_change_id(req, req_param(req, 0), svc_dataset_create);
}

/* POST /projects/{key}/datasets/managed (DSSManagedDatasetCreationHelper.create) */
void api_datasets_create_managed(struct request *req)
{
    api_change_id(req, req_param(req, 0), svc_dataset_create_managed);
}

/* The dataset of the path when the caller may read it; otherwise answers and returns NULL. New
 * reference. */
static json_t *dataset_or_reply(struct request *req)
{
    json_t *project = project_or_reply(req), *ds;
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

void api_datasets_get(struct request *req)
{
    json_t *ds = dataset_or_reply(req);

    if (!ds)
        return;
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

void api_datasets_metadata_get(struct request *req)
{
    json_t *ds = dataset_or_reply(req);

    if (!ds)
        return;
    reply_json(req, 200, projects_metadata_of(ds));
    json_decref(ds);
}

void api_datasets_schema_get(struct request *req)
{
    json_t *ds = dataset_or_reply(req), *view;

    if (!ds)
        return;
    view = datasets_view(ds);
    reply_json(req, 200, json_incref(json_object_get(view, "schema")));
    json_decref(view);
    json_decref(ds);
}

void api_datasets_metadata_set(struct request *req)
{
    dataset_change(req, svc_dataset_set_metadata);
}

void api_datasets_schema_set(struct request *req)
{
    dataset_change(req, svc_dataset_set_schema);
}

void api_datasets_update(struct request *req)
{
    dataset_change(req, svc_dataset_update);
}

void api_datasets_delete(struct request *req)
{
    struct sb_err err;

    enum sb_err_kind rc =
        svc_dataset_delete(req_actor(req), req_param(req, 0), req_param(req, 1), &err);
    api_reply_change(req, rc, &err, NULL);
}

/* ---- variables ---- */

void api_project_variables_get(struct request *req)
{
    json_t *project = project_or_reply(req), *vars;
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
    json_t *project = project_or_reply(req), *vars = NULL, *instance = NULL;
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
    api_change_id(req, req_param(req, 0), svc_project_set_variables);
}

void api_projects_change_connection(struct request *req)
{
    api_change_id(req, req_param(req, 0), svc_project_change_connection);
}
