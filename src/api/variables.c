/* SPDX-License-Identifier: Apache-2.0 */
/* /admin/variables (docs/API.md §7): the instance variables, one flat JSON object. Changes are
 * the service's (src/service/variables.c). */
#include <stdlib.h>

#include "api/api.h"
#include "api/common.h"
#include "http/request.h"
#include "service/service.h"
#include "store/store.h"
#include "util/mem.h"

void api_variables_get(struct request *req)
{
    struct sb_err err;
    char *text;
    json_t *vars;

    if (store_meta_get(req->app->store, STORE_META_VARIABLES, &text, &err) != SB_OK) {
        reply_error(req, &err);
        return;
    }
    vars = text ? json_loads(text, 0, NULL) : NULL;
    free(text);
    reply_json(req, 200, vars ? vars : xcheck(json_object()));
}

void api_variables_set(struct request *req)
{
    api_change(req, svc_variables_set);
}
