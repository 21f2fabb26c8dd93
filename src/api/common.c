/* SPDX-License-Identifier: Apache-2.0 */
/* Helpers shared by the handlers of src/api/. */
#include <stdlib.h>

#include "api/common.h"
#include "core/catalog.h"
#include "core/conn.h"
#include "http/request.h"
#include "sync/sync.h"
#include "util/mem.h"

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
    bool loaded = catalog_loaded(req->app->catalog);

    if (loaded && sync_catalog_ready(req->app->sync))
        return true;
    req->retry_after = 1;
    if (!loaded)
        reply_errorf(req, SB_ERR_UNAVAILABLE,
                     "This node is still loading the connections after its start; try again "
                     "in a moment.");
    else
        reply_errorf(req, SB_ERR_UNAVAILABLE,
                     "This node is resynchronising with the store; try "
                     "again in a moment.");
    return false;
}

void api_reply_change(struct request *req, enum sb_err_kind rc, const struct sb_err *err,
                      json_t *out)
{
    if (rc == SB_OK) {
        reply_json(req, 200, out ? out : xcheck(json_object()));
    } else {
        json_decref(out);
        reply_error(req, err);
    }
}

void api_change(struct request *req, api_change_fn fn)
{
    struct sb_err err;
    json_t *body, *out = NULL;
    enum sb_err_kind rc;

    if (!req_json_body_or_reply(req, &body))
        return;
    rc = fn(req_actor(req), body, &out, &err);
    api_reply_change(req, rc, &err, out);
    json_decref(body);
}

void api_change_id(struct request *req, const char *id, api_change_id_fn fn)
{
    struct sb_err err;
    json_t *body, *out = NULL;
    enum sb_err_kind rc;

    if (!id || !req_json_body_or_reply(req, &body))
        return;
    rc = fn(req_actor(req), id, body, &out, &err);
    api_reply_change(req, rc, &err, out);
    json_decref(body);
}

void api_remove_id(struct request *req, const char *id, api_remove_id_fn fn)
{
    struct sb_err err;

    if (id)
        api_reply_change(req, fn(req_actor(req), id, &err), &err, NULL);
}
