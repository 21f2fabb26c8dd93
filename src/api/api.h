/* SPDX-License-Identifier: Apache-2.0 */
/* Every handler, by resource. A handler decodes the request, calls core/ and store/, and
 * answers once; it never touches SQL or crypto itself. */
#ifndef SB_API_H
#define SB_API_H

struct request;

/* src/api/meta.c */
void api_meta_healthz(struct request *req);
void api_meta_auth_info(struct request *req);

/* src/api/connections.c */
void api_connections_list(struct request *req);
void api_connections_create(struct request *req);
void api_connections_get(struct request *req);
void api_connections_update(struct request *req);
void api_connections_delete(struct request *req);
void api_connections_names(struct request *req);

/* src/api/keys.c */
void api_keys_global_list(struct request *req);
void api_keys_global_create(struct request *req);
void api_keys_global_get(struct request *req);
void api_keys_global_update(struct request *req);
void api_keys_global_delete(struct request *req);
void api_keys_global_by_secret(struct request *req);

#endif
