/* SPDX-License-Identifier: Apache-2.0 */
/* Projects and datasets. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/conn.h"
#include "core/fields.h"
#include "core/projects.h"
#include "util/limits.h"
#include "util/mem.h"

bool projects_validate_key(const char *key, struct sb_err *err)
{
    size_t len = strlen(key);
    char echo[SB_ECHO_MAX + 4];

    if (len > 0 && len <= SB_NAME_MAX &&
        strspn(key, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_") == len)
        return true;
    sb_err_echo(echo, sizeof(echo), key);
    sb_err_set(err, SB_ERR_BAD_REQUEST,
               "Field 'projectKey' must be 1 to %d letters, digits or '_': '%s' is not valid.",
               SB_NAME_MAX, echo);
    return false;
}

static bool check_permissions(const json_t *body, struct sb_err *err)
{
    json_t *perms = json_object_get(body, "permissions"), *p;
    size_t i;

    if (!perms || json_is_null(perms))
        return true;
    if (!json_is_array(perms))
        return sb_err_set(err, SB_ERR_BAD_REQUEST,
                          "Field 'permissions' must be an array of "
                          "{\"group\", \"readProjectContent\", \"writeProjectContent\", "
                          "\"admin\"} objects."),
               false;
    json_array_foreach (perms, i, p) {
        if (!json_is_object(p) || !json_is_string(json_object_get(p, "group")))
            return sb_err_set(err, SB_ERR_BAD_REQUEST,
                              "Field 'permissions[%zu].group' must be a "
                              "string.",
                              i),
                   false;
        if (!fields_bool(p, "permissions[].", "readProjectContent", err) ||
            !fields_bool(p, "permissions[].", "writeProjectContent", err) ||
            !fields_bool(p, "permissions[].", "admin", err))
            return false;
    }
    return true;
}

enum sb_err_kind projects_prepare_create(const json_t *body, const char *who, int64_t now_ms,
                                         json_t **out, struct sb_err *err)
{
    const char *key;
    json_t *rec;

    if (!fields_require_object(body, "project definition", err))
        return err->kind;
    key = json_string_value(json_object_get(body, "projectKey"));
    if (!key)
        return sb_err_set(err, SB_ERR_BAD_REQUEST, "Field 'projectKey' is required (a string).");
    if (!projects_validate_key(key, err) || !fields_string(body, "", "name", err) ||
        !fields_string(body, "", "owner", err) || !fields_string(body, "", "description", err) ||
        !fields_string_array(body, "", "tags", err) || !check_permissions(body, err))
        return err->kind;
    rec = fields_drop_nulls(body);
    if (!json_object_get(rec, "name"))
        json_object_set_new(rec, "name", json_string(key));
    if (!json_object_get(rec, "owner"))
        json_object_set_new(rec, "owner", json_string(who));
    if (!json_object_get(rec, "description"))
        json_object_set_new(rec, "description", json_string(""));
    if (!json_object_get(rec, "permissions"))
        json_object_set_new(rec, "permissions", json_array());
    if (!json_object_get(rec, "tags"))
        json_object_set_new(rec, "tags", json_array());
    json_object_set_new(
        rec, "creationTag",
        xcheck(json_pack("{s:I, s:{s:s}, s:I}", "versionNumber", (json_int_t)1, "lastModifiedBy",
                         "login", who, "lastModifiedOn", (json_int_t)now_ms)));
    *out = rec;
    return SB_OK;
}

/* Whether P has, through one of its groups, any of the permission flags FLAGS (NULL-ended). */
static bool group_grants(const json_t *project, const struct principal *p, const char *const *flags)
{
    json_t *perms = json_object_get(project, "permissions"), *perm;
    size_t i;

    json_array_foreach (perms, i, perm) {
        json_t *one = json_pack("[O]", json_object_get(perm, "group"));
        bool member = one && principal_in_any_group(p, one);
        json_decref(one);
        if (!member)
            continue;
        for (const char *const *f = flags; *f; f++)
            if (json_is_true(json_object_get(perm, *f)))
                return true;
    }
    return false;
}

static bool is_owner(const json_t *project, const struct principal *p)
{
    const char *owner = json_string_value(json_object_get(project, "owner"));
    return p->type == PRINCIPAL_USER && owner && strcmp(owner, p->login) == 0;
}

bool projects_can_read(const json_t *project, const struct principal *p)
{
    static const char *const flags[] = {"readProjectContent", "writeProjectContent", "admin", NULL};
    return p->admin || is_owner(project, p) || group_grants(project, p, flags);
}

bool projects_can_write(const json_t *project, const struct principal *p)
{
    static const char *const flags[] = {"writeProjectContent", "admin", NULL};
    return p->admin || is_owner(project, p) || group_grants(project, p, flags);
}

bool projects_can_admin(const json_t *project, const struct principal *p)
{
    static const char *const flags[] = {"admin", NULL};
    return p->admin || is_owner(project, p) || group_grants(project, p, flags);
}

json_t *projects_permissions_view(const json_t *project)
{
    json_t *perms = json_object_get(project, "permissions");

    return xcheck(json_pack("{s:O, s:O}", "owner",
                            json_object_get(project, "owner") ? json_object_get(project, "owner")
                                                              : json_null(),
                            "permissions", json_is_array(perms) ? perms : json_array()));
}

enum sb_err_kind projects_apply_permissions(const json_t *project, const json_t *body, json_t **out,
                                            struct sb_err *err)
{
    json_t *rec, *v;

    if (!fields_require_object(body, "project permissions", err) ||
        !fields_nonempty_string(body, "", "owner", err) || !check_permissions(body, err))
        return err->kind;
    rec = xcheck(json_copy((json_t *)project));
    if (json_is_string(v = json_object_get(body, "owner")))
        json_object_set(rec, "owner", v);
    if (json_is_array(v = json_object_get(body, "permissions")))
        json_object_set(rec, "permissions", v);
    *out = rec;
    return SB_OK;
}

static void overlay(json_t *out, const json_t *layer, bool typed)
{
    const char *k;
    json_t *v;

    if (!json_is_object(layer))
        return;
    json_object_foreach ((json_t *)layer, k, v) {
        if (typed || json_is_string(v)) {
            json_object_set(out, k, v);
        } else {
            char *text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
            json_object_set_new(out, k, json_string(xcheck(text)));
            free(text);
        }
    }
}

json_t *projects_resolved_variables(const json_t *instance, const json_t *project_vars, bool typed)
{
    json_t *out = xcheck(json_object());

    overlay(out, instance, typed);
    overlay(out, json_object_get(project_vars, "standard"), typed);
    overlay(out, json_object_get(project_vars, "local"), typed);
    return out;
}

json_t *projects_default_variables(void)
{
    return xcheck(json_pack("{s:{}, s:{}}", "standard", "local"));
}

enum sb_err_kind projects_prepare_variables(const json_t *body, json_t **out, struct sb_err *err)
{
    json_t *rec;

    if (!json_is_object(body))
        return sb_err_set(err, SB_ERR_BAD_REQUEST,
                          "The request body must be a JSON object "
                          "{\"standard\": {...}, \"local\": {...}}.");
    if (!fields_object(body, "", "standard", err) || !fields_object(body, "", "local", err))
        return err->kind;
    rec = fields_drop_nulls(body);
    if (!json_object_get(rec, "standard"))
        json_object_set_new(rec, "standard", json_object());
    if (!json_object_get(rec, "local"))
        json_object_set_new(rec, "local", json_object());
    *out = rec;
    return SB_OK;
}

/* Gives DS the fields DSS's datasets always carry and the client reads unguarded, when it lacks
 * them: "tags" (DSSDatasetListItem.tags), "schema" (.schema, .get_column), "partitioning"
 * (DSSDatasetSettings.add_*_partitioning_dimension, set_partitioning_file_pattern) and
 * "featureGroup" (DSSDatasetSettings.is_feature_group). */
static void dataset_defaults(json_t *ds)
{
    json_t *part;

    if (!json_is_array(json_object_get(ds, "tags")))
        json_object_set_new(ds, "tags", json_array());
    if (!json_is_object(json_object_get(ds, "schema")))
        json_object_set_new(ds, "schema",
                            xcheck(json_pack("{s:[], s:b}", "columns", "userModified", 0)));
    part = json_object_get(ds, "partitioning");
    if (!json_is_object(part)) {
        json_object_set_new(ds, "partitioning", xcheck(json_pack("{s:[]}", "dimensions")));
    } else if (!json_is_array(json_object_get(part, "dimensions"))) {
        /* a copy: DS may be a shallow copy sharing its members with a stored record */
        part = xcheck(json_copy(part));
        json_object_set_new(part, "dimensions", json_array());
        json_object_set_new(ds, "partitioning", part);
    }
    if (!json_is_boolean(json_object_get(ds, "featureGroup")))
        json_object_set_new(ds, "featureGroup", json_false());
}

enum sb_err_kind datasets_prepare(const json_t *body, const char *project, const char *path_name,
                                  json_t **out, struct sb_err *err)
{
    const char *name;
    json_t *rec, *v;
    char echo[SB_ECHO_MAX + 4];

    if (!fields_require_object(body, "dataset definition", err))
        return err->kind;
    v = json_object_get(body, "projectKey");
    if (v && !json_is_null(v) && !(json_is_string(v) && strcmp(json_string_value(v), project) == 0))
        return sb_err_set(err, SB_ERR_BAD_REQUEST,
                          "Field 'projectKey' must be '%s', the project "
                          "of the path.",
                          project);
    v = json_object_get(body, "name");
    if (path_name) {
        if (v && !json_is_null(v) &&
            !(json_is_string(v) && strcmp(json_string_value(v), path_name) == 0))
            return sb_err_set(err, SB_ERR_BAD_REQUEST,
                              "Field 'name' cannot change: the path "
                              "names dataset '%s'.",
                              path_name);
        name = path_name;
    } else {
        if (!json_is_string(v))
            return sb_err_set(err, SB_ERR_BAD_REQUEST, "Field 'name' is required (a string).");
        name = json_string_value(v);
        if (!conn_validate_name(name, err)) {
            sb_err_echo(echo, sizeof(echo), name);
            return sb_err_set(err, SB_ERR_BAD_REQUEST,
                              "Field 'name' is not a valid dataset name "
                              "('%s'): use letters, digits, '_', '.' and '-'.",
                              echo);
        }
    }
    if (!fields_nonempty_string(body, "", "type", err) || !fields_object(body, "", "params", err) ||
        !fields_bool(body, "", "managed", err) || !fields_string(body, "", "formatType", err) ||
        !fields_object(body, "", "formatParams", err))
        return err->kind;
    if (!json_is_string(json_object_get(body, "type")))
        return sb_err_set(err, SB_ERR_BAD_REQUEST, "Field 'type' is required (a string).");
    v = json_object_get(json_object_get(body, "params"), "connection");
    if (v && !json_is_null(v) && !json_is_string(v))
        return sb_err_set(err, SB_ERR_BAD_REQUEST, "Field 'params.connection' must be a string.");
    rec = fields_drop_nulls(body);
    json_object_set_new(rec, "projectKey", json_string(project));
    json_object_set_new(rec, "name", json_string(name));
    dataset_defaults(rec);
    if (!json_object_get(rec, "params"))
        json_object_set_new(rec, "params", json_object());
    else
        json_object_set_new(rec, "params", xcheck(json_deep_copy(json_object_get(rec, "params"))));
    *out = rec;
    return SB_OK;
}

json_t *datasets_view(const json_t *ds)
{
    json_t *view = xcheck(json_copy((json_t *)ds));

    dataset_defaults(view);
    return view;
}

json_t *projects_metadata_of(const json_t *ds)
{
    json_t *v, *out = xcheck(json_object());

    json_object_set(out, "label", json_object_get(ds, "name"));
    v = json_object_get(ds, "description");
    json_object_set_new(out, "description", json_is_string(v) ? json_incref(v) : json_string(""));
    v = json_object_get(ds, "shortDesc");
    json_object_set_new(out, "shortDesc", json_is_string(v) ? json_incref(v) : json_string(""));
    v = json_object_get(ds, "tags");
    json_object_set_new(out, "tags", json_is_array(v) ? json_incref(v) : json_array());
    v = json_object_get(ds, "customMeta");
    json_object_set_new(out, "custom",
                        json_is_object(v) ? json_incref(v) : xcheck(json_pack("{s:{}}", "kv")));
    v = json_object_get(ds, "checklists");
    json_object_set_new(out, "checklists",
                        json_is_object(v) ? json_incref(v)
                                          : xcheck(json_pack("{s:[]}", "checklists")));
    return out;
}

enum sb_err_kind projects_apply_metadata(const json_t *ds, const json_t *meta, json_t **out,
                                         struct sb_err *err)
{
    json_t *rec;

    if (!fields_require_object(meta, "dataset metadata", err) ||
        !fields_string(meta, "", "description", err) ||
        !fields_string(meta, "", "shortDesc", err) || !fields_string_array(meta, "", "tags", err) ||
        !fields_object(meta, "", "custom", err) || !fields_object(meta, "", "checklists", err))
        return err->kind;
    rec = xcheck(json_copy((json_t *)ds));
    if (json_is_string(json_object_get(meta, "description")))
        json_object_set(rec, "description", json_object_get(meta, "description"));
    if (json_is_string(json_object_get(meta, "shortDesc")))
        json_object_set(rec, "shortDesc", json_object_get(meta, "shortDesc"));
    if (json_is_array(json_object_get(meta, "tags")))
        json_object_set(rec, "tags", json_object_get(meta, "tags"));
    if (json_is_object(json_object_get(meta, "custom")))
        json_object_set(rec, "customMeta", json_object_get(meta, "custom"));
    if (json_is_object(json_object_get(meta, "checklists")))
        json_object_set(rec, "checklists", json_object_get(meta, "checklists"));
    *out = rec;
    return SB_OK;
}

enum sb_err_kind datasets_apply_schema(const json_t *ds, const json_t *schema, json_t **out,
                                       struct sb_err *err)
{
    json_t *rec, *col;
    size_t i;

    if (!fields_require_object(schema, "dataset schema", err))
        return err->kind;
    if (!json_is_array(json_object_get(schema, "columns")))
        return sb_err_set(err, SB_ERR_BAD_REQUEST,
                          "Field 'columns' of the schema is required (an array of "
                          "{\"name\", \"type\"} objects).");
    json_array_foreach (json_object_get(schema, "columns"), i, col)
        if (!json_is_object(col) || !json_is_string(json_object_get(col, "name")) ||
            !json_is_string(json_object_get(col, "type")))
            return sb_err_set(err, SB_ERR_BAD_REQUEST,
                              "Column %zu of the schema must be an "
                              "object with a 'name' and a 'type' (strings).",
                              i);
    rec = xcheck(json_copy((json_t *)ds));
    json_object_set_new(rec, "schema", fields_drop_nulls(schema));
    if (!json_object_get(json_object_get(rec, "schema"), "userModified"))
        json_object_set_new(json_object_get(rec, "schema"), "userModified", json_true());
    *out = rec;
    return SB_OK;
}

const char *datasets_managed_connection(const json_t *body)
{
    return json_string_value(
        json_object_get(json_object_get(body, "creationSettings"), "connectionId"));
}

/* Types whose managed datasets are files under a path rather than tables. */
static bool file_like(const char *type)
{
    static const char *const types[] = {"Filesystem", "HDFS", "EC2",  "S3",   "Azure",
                                        "GCS",        "FTP",  "SFTP", "HTTP", NULL};
    for (const char *const *t = types; *t; t++)
        if (strcmp(*t, type) == 0)
            return true;
    return false;
}

enum sb_err_kind datasets_managed_body(const json_t *body, const char *project,
                                       const char *conn_type, json_t **out, struct sb_err *err)
{
    const char *name, *conn = datasets_managed_connection(body);
    const char *type = conn_type ? conn_type : "Filesystem";
    char where[2 * SB_NAME_MAX + 8];

    if (!fields_require_object(body, "managed dataset", err) ||
        !fields_object(body, "", "creationSettings", err))
        return err->kind;
    if (!json_is_string(json_object_get(body, "name")))
        return sb_err_set(err, SB_ERR_BAD_REQUEST, "Field 'name' is required (a string).");
    if (!conn)
        return sb_err_set(err, SB_ERR_BAD_REQUEST,
                          "Field 'creationSettings.connectionId' is "
                          "required: the connection to store the managed dataset into.");
    name = json_string_value(json_object_get(body, "name"));
    if (strcmp(type, "EC2") == 0)
        type = "S3";
    *out = xcheck(json_pack("{s:s, s:s, s:s, s:b, s:{s:s}}", "name", name, "projectKey", project,
                            "type", type, "managed", 1, "params", "connection", conn));
    if (file_like(type)) {
        snprintf(where, sizeof(where), "/%s/%.*s", project, SB_NAME_MAX, name);
        json_object_set_new(json_object_get(*out, "params"), "path", json_string(where));
        /* DSS's format for a new managed file dataset (tab-separated, gzipped, no header
         * row); FSLikeDatasetSettings.get_raw_format_params reads formatParams unguarded */
        json_object_set_new(*out, "formatType", json_string("csv"));
        json_object_set_new(
            *out, "formatParams",
            xcheck(json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:b, s:i, s:i}", "style", "unix",
                             "charset", "utf8", "separator", "\t", "quoteChar", "\"", "escapeChar",
                             "\\", "compress", "gz", "parseHeaderRow", 0, "skipRowsBeforeHeader", 0,
                             "skipRowsAfterHeader", 0)));
    } else {
        snprintf(where, sizeof(where), "%s_%.*s", project, SB_NAME_MAX, name);
        json_object_set_new(json_object_get(*out, "params"), "mode", json_string("table"));
        json_object_set_new(json_object_get(*out, "params"), "table", json_string(where));
    }
    return SB_OK;
}

const char *datasets_connection(const json_t *ds)
{
    return json_string_value(json_object_get(json_object_get(ds, "params"), "connection"));
}

bool datasets_type_fits(const char *ds_type, const char *conn_type)
{
    if (!ds_type || !conn_type)
        return false;
    if (strcasecmp(ds_type, conn_type) == 0)
        return true;
    return strcmp(ds_type, "S3") == 0 && strcmp(conn_type, "EC2") == 0;
}

enum sb_err_kind datasets_check_connection(const json_t *ds, const char *conn_name,
                                           const json_t *conn, const struct principal *p,
                                           enum sb_err_kind not_usable_kind, struct sb_err *err)
{
    const char *ds_name = json_string_value(json_object_get(ds, "name"));
    const char *ds_type = json_string_value(json_object_get(ds, "type"));
    const char *conn_type = json_string_value(json_object_get(conn, "type"));
    char echo[SB_ECHO_MAX + 4];

    sb_err_echo(echo, sizeof(echo), conn_name);
    if (!conn)
        return sb_err_set(err, SB_ERR_BAD_REQUEST,
                          "Dataset '%s' names connection '%s' in params.connection, which does "
                          "not exist.",
                          ds_name, echo);
    if (!conn_usable_by(conn, p))
        return sb_err_set(err, not_usable_kind,
                          "Dataset '%s' cannot use connection '%s': it is not usable by '%s'.",
                          ds_name, echo, p->login);
    if (!datasets_type_fits(ds_type, conn_type))
        return sb_err_set(err, SB_ERR_BAD_REQUEST,
                          "Dataset '%s' of type %s cannot use connection '%s' of type %s.", ds_name,
                          ds_type, echo, conn_type);
    if (json_is_true(json_object_get(ds, "managed")) &&
        json_is_false(json_object_get(conn, "allowManagedDatasets")))
        return sb_err_set(err, SB_ERR_BAD_REQUEST,
                          "Dataset '%s' is managed, and connection '%s' does not allow managed "
                          "datasets.",
                          ds_name, echo);
    return SB_OK;
}
