/* SPDX-License-Identifier: Apache-2.0 */
/* What several handler files of src/api/ share: the {name} parameter of connection routes, and
 * resolving a connection's params for use (by /info and by live tests). */
#ifndef SB_API_COMMON_H
#define SB_API_COMMON_H

#include <jansson.h>
#include <stdbool.h>

#include "app.h"
#include "core/err.h"

struct request;

/* The {name} path parameter (the first) if it is a valid connection name; otherwise answers
 * 400 and returns NULL. */
const char *api_conn_name_or_reply(struct request *req);

/* Whether the in-memory catalog may serve this read; otherwise answers 503 (a shared store's
 * change feed is down) and returns false. */
bool api_catalog_ready_or_reply(struct request *req);

/* *OUT: a new object, DEF's params with secrets opened and ${variables} expanded from, in
 * order, the local and standard variables of PROJECT_VARS (a project's {"standard","local"}
 * record, or NULL), the instance variables and the built-ins. */
enum sb_err_kind api_resolve_params(struct app *app, const json_t *def, const json_t *project_vars,
                                    json_t **out, struct sb_err *err);

#endif
