/* SPDX-License-Identifier: Apache-2.0 */
/* Resolving a connection's params for use: what /info answers and what a live test connects
 * with. */
#ifndef SB_SERVICE_PARAMS_H
#define SB_SERVICE_PARAMS_H

#include <jansson.h>

#include "core/err.h"

struct app;

/* *OUT: a new object, DEF's params with secrets opened and ${variables} expanded from, in
 * order, the local and standard variables of PROJECT_VARS (a project's {"standard","local"}
 * record, or NULL), the instance variables and the built-ins. */
enum sb_err_kind svc_resolve_params(struct app *app, const json_t *def, const json_t *project_vars,
                                    json_t **out, struct sb_err *err);

#endif
