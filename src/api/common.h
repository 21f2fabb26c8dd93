/* SPDX-License-Identifier: Apache-2.0 */
/* What several handler files of src/api/ share: the {name} parameter of connection routes and
 * the catalog's readiness, and the answer to a service call. */
#ifndef SB_API_COMMON_H
#define SB_API_COMMON_H

#include <jansson.h>
#include <stdbool.h>

#include "core/err.h"

struct actor;
struct request;

/* The {name} path parameter (the first) if it is a valid connection name; otherwise answers
 * 400 and returns NULL. */
const char *api_conn_name_or_reply(struct request *req);

/* Whether the in-memory catalog may serve this read; otherwise answers 503 with Retry-After: 1
 * (the connections are still being loaded after the start, or a shared store's change feed is
 * down) and returns false. */
bool api_catalog_ready_or_reply(struct request *req);

/* Answers a service call's outcome RC: 200 with OUT (stolen; NULL: an empty object) when it is
 * SB_OK, otherwise ERR. */
void api_reply_change(struct request *req, enum sb_err_kind rc, const struct sb_err *err,
                      json_t *out);

/* The service calls a change handler makes (src/service/service.h): from the body, from a path
 * parameter and the body, from a path parameter alone. */
typedef enum sb_err_kind (*api_change_fn)(struct actor *a, const json_t *body, json_t **out,
                                          struct sb_err *err);
typedef enum sb_err_kind (*api_change_id_fn)(struct actor *a, const char *id, const json_t *body,
                                             json_t **out, struct sb_err *err);
typedef enum sb_err_kind (*api_remove_id_fn)(struct actor *a, const char *id, struct sb_err *err);

/* A change handler's whole work: parses the body (answering 400 if it is not JSON), calls FN
 * with the request's actor, answers its outcome (api_reply_change). The _id forms do nothing
 * when ID is NULL (the path parameter's check answered already). */
void api_change(struct request *req, api_change_fn fn);
void api_change_id(struct request *req, const char *id, api_change_id_fn fn);
void api_remove_id(struct request *req, const char *id, api_remove_id_fn fn);

#endif
