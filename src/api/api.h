/* SPDX-License-Identifier: Apache-2.0 */
/* Every handler, by resource. A handler decodes the request, makes its change through one call
 * of the service layer (service/service.h), reads through core/ and store/, and answers once;
 * it never touches SQL or crypto itself. */
#ifndef SB_API_H
#define SB_API_H

struct request;

/* src/api/meta.c */
void api_meta_healthz(struct request *req);
void api_meta_metrics(struct request *req);
void api_meta_auth_info(struct request *req);
void api_meta_readyz(struct request *req);
/* The Prometheus text of GET /metrics (also served by the --metrics-listen listener); caller
 * frees. */
struct app;
char *api_meta_metrics_text(struct app *app);

/* src/api/openapi.c */
void api_meta_openapi(struct request *req);

/* src/api/session.c */
void api_session_create(struct request *req);
void api_session_get(struct request *req);
void api_session_delete(struct request *req);

/* src/api/connections.c */
void api_connections_list(struct request *req);
void api_connections_create(struct request *req);
void api_connections_get(struct request *req);
void api_connections_update(struct request *req);
void api_connections_delete(struct request *req);
void api_connections_names(struct request *req);
void api_connections_info(struct request *req);
void api_connections_types(struct request *req);

/* src/api/listing.c */
void api_connections_page(struct request *req);

/* src/api/lifecycle.c */
void api_connections_usages(struct request *req);
void api_connections_history(struct request *req);
void api_connections_revert(struct request *req);
void api_connections_import(struct request *req);

/* src/api/projects.c */
void api_projects_list(struct request *req);
void api_projects_create(struct request *req);
void api_projects_get(struct request *req);
void api_projects_delete(struct request *req);
void api_datasets_list(struct request *req);
void api_datasets_create(struct request *req);
void api_datasets_create_managed(struct request *req);
void api_datasets_get(struct request *req);
void api_datasets_update(struct request *req);
void api_datasets_delete(struct request *req);
void api_datasets_metadata_get(struct request *req);
void api_datasets_metadata_set(struct request *req);
void api_datasets_schema_get(struct request *req);
void api_datasets_schema_set(struct request *req);
void api_project_variables_get(struct request *req);
void api_project_variables_set(struct request *req);
void api_project_variables_resolved(struct request *req);
void api_projects_metadata_get(struct request *req);
void api_projects_metadata_set(struct request *req);
void api_projects_permissions_get(struct request *req);
void api_projects_permissions_set(struct request *req);
void api_projects_change_connection(struct request *req);

/* src/api/probes.c */
void api_connections_test(struct request *req);
void api_connections_status(struct request *req);
void api_connections_status_history(struct request *req);

/* src/api/keys.c */
void api_keys_global_list(struct request *req);
void api_keys_global_create(struct request *req);
void api_keys_global_get(struct request *req);
void api_keys_global_update(struct request *req);
void api_keys_global_delete(struct request *req);
void api_keys_global_by_secret(struct request *req);
void api_keys_personal_admin_create(struct request *req);
void api_keys_personal_admin_list(struct request *req);
void api_keys_personal_list(struct request *req);
void api_keys_personal_create(struct request *req);
void api_keys_personal_get(struct request *req);
void api_keys_personal_update(struct request *req);
void api_keys_personal_delete(struct request *req);

/* src/api/users.c */
void api_users_list(struct request *req);
void api_users_create(struct request *req);
void api_users_get(struct request *req);
void api_users_update(struct request *req);
void api_users_delete(struct request *req);
void api_current_user_get(struct request *req);
void api_current_user_update(struct request *req);
void api_groups_list(struct request *req);
void api_groups_create(struct request *req);
void api_groups_get(struct request *req);
void api_groups_update(struct request *req);
void api_groups_delete(struct request *req);
void api_users_activity_get(struct request *req);
void api_users_activity_list(struct request *req);
void api_users_info_get(struct request *req);
void api_users_info_list(struct request *req);
void api_groups_info_list(struct request *req);
void api_users_authorization_matrix(struct request *req);
void api_users_bulk_create(struct request *req);
void api_users_bulk_edit(struct request *req);
void api_users_bulk_delete(struct request *req);
void api_users_directory_unsupported(struct request *req);
void api_users_trial_expired(struct request *req);
void api_hdfs_acl_unsupported(struct request *req);

/* src/api/variables.c */
void api_variables_get(struct request *req);
void api_variables_set(struct request *req);

/* src/api/audit.c */
void api_audit_list(struct request *req);

#endif
