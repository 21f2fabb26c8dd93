/* SPDX-License-Identifier: Apache-2.0 */
/* Dataset changes (docs/API.md §6): create (also a managed dataset), update, delete, metadata
 * and schema, each with its audit record in the actor's write. A dataset that names a
 * connection is checked against it on every create, and on every update that changes its
 * connection or type, inside the write: the connection cannot go away before the dataset is
 * stored. */
#include <stdio.h>
#include <string.h>

#include "app.h"
#include "core/principal.h"
#include "core/projects.h"
#include "service/service.h"
#include "store/store.h"
#include "util/clock.h"
#include "util/mem.h"

/* Whether the connection DS names, if any, may serve it (and A may use it). */
static enum sb_err_kind connection_check(struct actor *a, const json_t *ds, struct sb_err *err)
{
    const char *conn_name = datasets_connection(ds);
    json_t *conn = NULL;
    enum sb_err_kind rc;

    if (!conn_name)
        return SB_OK;
    /* in the write's transaction: the connection cannot go away before the dataset is stored */
    if (store_conn_hold(a->app->store, conn_name, &conn, err) != SB_OK &&
        err->kind != SB_ERR_NOT_FOUND)
        return err->kind;
    rc = datasets_check_connection(ds, conn_name, conn, a->principal, SB_ERR_FORBIDDEN, err);
    json_decref(conn);
    return rc;
}

/* Creates the dataset of BODY (a create body) in project KEY, in A's write; *OUT as served. */
static enum sb_err_kind create(struct actor *a, const char *key, const json_t *body, json_t **out,
                               struct sb_err *err)
{
    json_t *ds = NULL;
    const char *name = json_string_value(json_object_get(body, "name"));
    enum sb_err_kind rc;

    /* a create of a name that exists is a 409 whatever else the body holds (docs/API.md §3);
     * the audit record of the refusal names the dataset */
    if (name && store_ds_get(a->app->store, key, name, &ds, err) == SB_OK) {
        json_decref(ds);
        snprintf(a->object, sizeof(a->object), "%s/%s", key, name);
        return sb_err_set(err, SB_ERR_CONFLICT, "Dataset '%s' already exists in project '%s'.",
                          name, key);
    }
    if (name && err->kind != SB_ERR_NOT_FOUND)
        return err->kind;
    sb_err_clear(err);
    ds = NULL;
    rc = datasets_prepare(body, key, NULL, &ds, err);
    if (rc != SB_OK)
        return rc;
    name = json_string_value(json_object_get(ds, "name"));
    /* the audit record names the dataset, as those of its updates and delete do */
    snprintf(a->object, sizeof(a->object), "%s/%s", key, name);
    rc = connection_check(a, ds, err);
    /* as in DSS, the creator: DSSDatasetSettings.data_steward falls back on it */
    json_object_set_new(
        ds, "creationTag",
        xcheck(json_pack("{s:I, s:{s:s}, s:I}", "versionNumber", (json_int_t)0, "lastModifiedBy",
                         "login", actor_login(a), "lastModifiedOn", (json_int_t)clock_epoch_ms())));
    if (rc == SB_OK)
        rc = store_ds_insert(a->app->store, key, name, ds, err);
    if (rc == SB_OK)
        *out = datasets_view(ds);
    json_decref(ds);
    return rc;
}

/* The frame of a change of dataset NAME (NULL: one to create) of project KEY, which A must be
 * able to change. */
static enum sb_err_kind begin_change(struct actor *a, struct svc_change *c, const char *key,
                                     const char *name, struct sb_err *err)
{
    json_t *project;
    enum sb_err_kind rc;

    if (name)
        snprintf(a->object, sizeof(a->object), "%s/%s", key, name);
    else
        a->object[0] = '\0';
    rc = svc_project_begin(a, c, key, &project, err);
    json_decref(project);
    return rc;
}

enum sb_err_kind svc_dataset_create(struct actor *a, const char *key, const json_t *body,
                                    json_t **out, struct sb_err *err)
{
    struct svc_change c;
    enum sb_err_kind rc;

    *out = NULL;
    rc = begin_change(a, &c, key, NULL, err);
    if (rc == SB_OK)
        rc = create(a, key, body, out, err);
    return svc_end(a, &c, rc, "dataset.create", a->object, out, err);
}

enum sb_err_kind svc_dataset_create_managed(struct actor *a, const char *key, const json_t *body,
                                            json_t **out, struct sb_err *err)
{
    const char *conn_name = datasets_managed_connection(body);
    json_t *conn = NULL, *create_body = NULL;
    struct svc_change c;
    enum sb_err_kind rc;

    *out = NULL;
    rc = begin_change(a, &c, key, NULL, err);
    if (rc == SB_OK && conn_name &&
        store_conn_hold(a->app->store, conn_name, &conn, err) != SB_OK &&
        err->kind != SB_ERR_NOT_FOUND)
        rc = err->kind;
    if (rc == SB_OK)
        rc = datasets_managed_body(body, key, json_string_value(json_object_get(conn, "type")),
                                   &create_body, err);
    if (rc == SB_OK)
        rc = create(a, key, create_body, out, err);
    json_decref(conn);
    json_decref(create_body);
    return svc_end(a, &c, rc, "dataset.create", a->object, out, err);
}

/* Whether the update of STORED into DS must check DS's connection again: it names one, and
 * another connection, type or managedness than STORED. */
static bool connection_changed(const json_t *stored, const json_t *ds)
{
    const char *old_conn = datasets_connection(stored), *new_conn = datasets_connection(ds);

    return new_conn &&
           (!old_conn || strcmp(old_conn, new_conn) != 0 ||
            !json_equal(json_object_get(stored, "type"), json_object_get(ds, "type")) ||
            !json_equal(json_object_get(stored, "managed"), json_object_get(ds, "managed")));
}

/* The dataset BODY defines, to replace STORED (dataset NAME of project KEY), into *DS. */
static enum sb_err_kind replace(struct actor *a, const char *key, const char *name,
                                const json_t *stored, const json_t *body, json_t **ds,
                                struct sb_err *err)
{
    if (datasets_prepare(body, key, name, ds, err) != SB_OK)
        return err->kind;
    /* who created the dataset and when stay as stored, whatever the body says */
    if (json_object_get(stored, "creationTag"))
        json_object_set(*ds, "creationTag", json_object_get(stored, "creationTag"));
    else
        json_object_del(*ds, "creationTag");
    return connection_changed(stored, *ds) ? connection_check(a, *ds, err) : SB_OK;
}

enum sb_err_kind svc_dataset_delete(struct actor *a, const char *key, const char *name,
                                    struct sb_err *err)
{
    struct svc_change c;
    enum sb_err_kind rc = begin_change(a, &c, key, name, err);

    if (rc == SB_OK)
        rc = store_ds_delete(a->app->store, key, name, err);
    return svc_end(a, &c, rc, "dataset.delete", a->object, NULL, err);
}

/* A change of dataset NAME of project KEY: APPLY builds the new definition from the stored one
 * and BODY (NULL: BODY replaces it); *OUT is what ANSWER makes of it. */
static enum sb_err_kind
dataset_patch(struct actor *a, const char *key, const char *name, const json_t *body,
              enum sb_err_kind (*apply)(const json_t *ds, const json_t *body, json_t **out,
                                        struct sb_err *err),
              json_t *(*answer)(const json_t *ds), json_t **out, struct sb_err *err)
{
    struct store *st = a->app->store;
    json_t *ds = NULL, *rec = NULL;
    struct svc_change c;
    enum sb_err_kind rc;

    *out = NULL;
    rc = begin_change(a, &c, key, name, err);
    if (rc == SB_OK && store_ds_get(st, key, name, &ds, err) != SB_OK)
        rc = err->kind;
    if (rc == SB_OK)
        rc = apply ? apply(ds, body, &rec, err) : replace(a, key, name, ds, body, &rec, err);
    if (rc == SB_OK)
        rc = store_ds_update(st, key, name, rec, err);
    if (rc == SB_OK)
        *out = answer(rec);
    json_decref(ds);
    json_decref(rec);
    return svc_end(a, &c, rc, "dataset.update", a->object, out, err);
}

static json_t *schema_of(const json_t *ds)
{
    return json_incref(json_object_get(ds, "schema"));
}

enum sb_err_kind svc_dataset_update(struct actor *a, const char *key, const char *name,
                                    const json_t *body, json_t **out, struct sb_err *err)
{
    return dataset_patch(a, key, name, body, NULL, datasets_view, out, err);
}

enum sb_err_kind svc_dataset_set_metadata(struct actor *a, const char *key, const char *name,
                                          const json_t *body, json_t **out, struct sb_err *err)
{
    return dataset_patch(a, key, name, body, projects_apply_metadata, projects_metadata_of, out,
                         err);
}

enum sb_err_kind svc_dataset_set_schema(struct actor *a, const char *key, const char *name,
                                        const json_t *body, json_t **out, struct sb_err *err)
{
    return dataset_patch(a, key, name, body, datasets_apply_schema, schema_of, out, err);
}
