/* SPDX-License-Identifier: Apache-2.0 */
/* Projects and datasets, the subset that connections need (docs/API.md §6): validation, defaults,
 * the reader/writer rules, and whether a dataset type fits a connection type. */
#ifndef SB_PROJECTS_H
#define SB_PROJECTS_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/err.h"
#include "core/principal.h"

/* Checks a project key: 1-128 characters of [A-Za-z0-9_]. */
bool projects_validate_key(const char *key, struct sb_err *err);

/* Builds a project record from a create BODY; the owner defaults to WHO. New reference. */
enum sb_err_kind projects_prepare_create(const json_t *body, const char *who, int64_t now_ms,
                                         json_t **out, struct sb_err *err);

/* Reader: admin, owner, or a group with readProjectContent, writeProjectContent or admin.
 * Writer: admin, owner, or a group with writeProjectContent or admin. */
bool projects_can_read(const json_t *project, const struct principal *p);
bool projects_can_write(const json_t *project, const struct principal *p);

/* The variables of a new project: {"standard": {}, "local": {}}. New reference. */
json_t *projects_default_variables(void);

/* Checks a PUT of project variables: an object whose "standard" and "local", when present, are
 * objects. Returns the record to store (missing parts as {}). New reference. */
enum sb_err_kind projects_prepare_variables(const json_t *body, json_t **out, struct sb_err *err);

/* Builds a dataset definition of PROJECT from BODY (whole definition, unknown fields kept).
 * PATH_NAME is the name in the path for a PUT (the body's, if any, must match), NULL for a
 * create. New reference. */
enum sb_err_kind datasets_prepare(const json_t *body, const char *project, const char *path_name,
                                  json_t **out, struct sb_err *err);

/* DS as served: with "tags" ([]), "schema" ({"columns": [], "userModified": false}),
 * "partitioning" ({"dimensions": []}) and "featureGroup" (false) when it lacks them (the
 * client's DSSDatasetListItem and DSSDatasetSettings read them unguarded). New reference. */
json_t *datasets_view(const json_t *ds);

/* The metadata of dataset or project DS (GET .../metadata): {"label", "description",
 * "shortDesc", "tags", "custom": {"kv"}, "checklists": {"checklists"}}, from its fields
 * description, shortDesc, tags, customMeta and checklists. New reference. */
json_t *projects_metadata_of(const json_t *ds);

/* *OUT: DS with the metadata META written into those fields (a PUT of metadata; "label" is the
 * name and does not change). New reference. */
enum sb_err_kind projects_apply_metadata(const json_t *ds, const json_t *meta, json_t **out,
                                         struct sb_err *err);

/* *OUT: DS with SCHEMA ({"columns": [{"name", "type", ...}], ...}) as its schema. New
 * reference. */
enum sb_err_kind datasets_apply_schema(const json_t *ds, const json_t *schema, json_t **out,
                                       struct sb_err *err);

/* A project admin: admin, owner, or a group with the project's "admin" permission. */
bool projects_can_admin(const json_t *project, const struct principal *p);

/* The permissions of PROJECT (GET /projects/{key}/permissions): {"owner", "permissions"}. New
 * reference. */
json_t *projects_permissions_view(const json_t *project);

/* *OUT: PROJECT with the "owner" and "permissions" of BODY (a PUT of permissions; either may
 * be left out). New reference. */
enum sb_err_kind projects_apply_permissions(const json_t *project, const json_t *body, json_t **out,
                                            struct sb_err *err);

/* The resolved variables of a project (GET /projects/{key}/variables-resolved): INSTANCE (a
 * flat object, or NULL), then PROJECT_VARS' "standard", then its "local", a later layer
 * overriding an earlier one. Unless TYPED, values that are not strings are given as their JSON
 * text. New reference. */
json_t *projects_resolved_variables(const json_t *instance, const json_t *project_vars, bool typed);

/* The connection a managed-dataset creation BODY ({"name", "creationSettings":
 * {"connectionId", ...}}) names, or NULL. */
const char *datasets_managed_connection(const json_t *body);

/* *OUT: the create body of the managed dataset BODY asks for in PROJECT, on a connection of
 * type CONN_TYPE (NULL when it does not exist: the create then says so): "managed": true, the
 * connection's dataset type (S3 for EC2), params.connection, and a path (file-like types) or
 * table (others) named after the project and the dataset, as DSS does. New reference. */
enum sb_err_kind datasets_managed_body(const json_t *body, const char *project,
                                       const char *conn_type, json_t **out, struct sb_err *err);

/* The connection a dataset names (params.connection), or NULL. */
const char *datasets_connection(const json_t *ds);

/* Whether a dataset of type DS_TYPE can live on a connection of type CONN_TYPE. */
bool datasets_type_fits(const char *ds_type, const char *conn_type);

/* Checks that dataset DS may use connection CONN (NULL when it does not exist) for P:
 * exists (400), usable (403), type fits (400), allows managed datasets when DS is managed (400).
 * NOT_USABLE_KIND is the kind for a connection P may not use. */
enum sb_err_kind datasets_check_connection(const json_t *ds, const char *conn_name,
                                           const json_t *conn, const struct principal *p,
                                           enum sb_err_kind not_usable_kind, struct sb_err *err);

#endif
