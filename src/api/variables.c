/* SPDX-License-Identifier: Apache-2.0 */
/* /admin/variables (docs/API.md §7): the instance variables, one flat JSON object. */
#include <stdlib.h>

#include "api/api.h"
#include "http/request.h"
#include "service/audit.h"
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
    struct sb_err err;
    json_t *body;
    char *text;

    if (!req_json_body_or_reply(req, &body))
        return;
    if (!json_is_object(body)) {
        json_decref(body);
        reply_errorf(req, SB_ERR_BAD_REQUEST,
                     "The request body must be a JSON object of variable names to values.");
        return;
    }
    text = xcheck(json_dumps(body, JSON_COMPACT));
    if (store_meta_set(req->app->store, STORE_META_VARIABLES, text, &err) != SB_OK) {
        free(text);
        json_decref(body);
        reply_error(req, &err);
        return;
    }
    free(text);
    audit_record(req_actor(req), "variables.update", "instance", "success");
    reply_json(req, 200, body);
}
