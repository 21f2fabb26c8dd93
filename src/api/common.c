/* SPDX-License-Identifier: Apache-2.0 */
/* Helpers shared by the handlers of src/api/. */
#include <stdlib.h>

#include "api/common.h"
#include "core/conn.h"
#include "core/secrets.h"
#include "core/variables.h"
#include "http/request.h"
#include "store/store.h"
#include "sync/sync.h"

const char *api_conn_name_or_reply(struct request *req)
{
    const char *name = req_param(req, 0);
    struct sb_err err;

    if (conn_validate_name(name, &err))
        return name;
    reply_error(req, &err);
    return NULL;
}

bool api_catalog_ready_or_reply(struct request *req)
{
    if (sync_catalog_ready(req->app->sync))
        return true;
    reply_errorf(req, SB_ERR_UNAVAILABLE,
                 "This node is resynchronising with the store; try "
                 "again in a moment.");
    return false;
}

enum sb_err_kind api_resolve_params(struct app *app, const json_t *def, const json_t *project_vars,
                                    json_t **out, struct sb_err *err)
{
    struct variables v = {.dip_home = app->data_dir_abs};
    char *text = NULL;
    json_t *vars;

    if (store_meta_get(app->store, STORE_META_VARIABLES, &text, err) != SB_OK)
        return err->kind;
    if (secrets_open_params(&app->secrets, json_string_value(json_object_get(def, "name")),
                            json_object_get(def, "params"), out, err) != SB_OK) {
        free(text);
        return err->kind;
    }
    vars = text ? json_loads(text, 0, NULL) : NULL;
    free(text);
    if (project_vars) {
        v.layers[v.n_layers++] = json_object_get(project_vars, "local");
        v.layers[v.n_layers++] = json_object_get(project_vars, "standard");
    }
    v.layers[v.n_layers++] = vars;
    variables_expand_all(&v, *out);
    json_decref(vars);
    return SB_OK;
}
