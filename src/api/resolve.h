/* SPDX-License-Identifier: Apache-2.0 */
/* Resolving a connection's params for use (by /info and by live tests): secrets opened and
 * variables expanded. Shared by the handlers of src/api/. */
#ifndef SB_API_RESOLVE_H
#define SB_API_RESOLVE_H

#include <jansson.h>

#include "app.h"
#include "core/err.h"

/* *OUT: a new object, DEF's params with secrets opened and ${variables} expanded from, in
 * order, the local and standard variables of PROJECT_VARS (a project's {"standard","local"}
 * record, or NULL), the instance variables and the built-ins. */
enum sb_err_kind api_resolve_params(struct app *app, const json_t *def, const json_t *project_vars,
                                    json_t **out, struct sb_err *err);

#endif
