/* SPDX-License-Identifier: Apache-2.0 */
/* What several handler files of src/api/ share: the {name} parameter of connection routes and
 * the catalog's readiness. */
#ifndef SB_API_COMMON_H
#define SB_API_COMMON_H

#include <stdbool.h>

struct request;

/* The {name} path parameter (the first) if it is a valid connection name; otherwise answers
 * 400 and returns NULL. */
const char *api_conn_name_or_reply(struct request *req);

/* Whether the in-memory catalog may serve this read; otherwise answers 503 (a shared store's
 * change feed is down) and returns false. */
bool api_catalog_ready_or_reply(struct request *req);

#endif
