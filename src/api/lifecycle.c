/* SPDX-License-Identifier: Apache-2.0 */
/* The connection lifecycle beyond CRUD (docs/API.md §4.5): usages, history, revert and bulk import.
 * History versions are written by the store in the same transaction as each change; revert and
 * import are the service's (src/service/connections.c). */
#include <stdlib.h>

#include "api/api.h"
#include "api/common.h"
#include "http/request.h"
#include "service/service.h"
#include "store/store.h"

void api_connections_usages(struct request *req)
{
    const char *name = api_conn_name_or_reply(req);
    struct sb_err err;
    json_t *def, *usages;

    if (!name)
        return;
    if (store_conn_get(req->app->store, name, &def, &err) != SB_OK ||
        store_conn_usages(req->app->store, name, &usages, &err) != SB_OK) {
        reply_error(req, &err);
        return;
    }
    json_decref(def);
    reply_json(req, 200, usages);
}

void api_connections_history(struct request *req)
{
    const char *name = api_conn_name_or_reply(req);
    struct sb_err err;
    json_t *history;

    if (!name)
        return;
    if (store_conn_history(req->app->store, name, &history, &err) != SB_OK) {
        reply_error(req, &err);
        return;
    }
    reply_json(req, 200, history);
}

void api_connections_revert(struct request *req)
{
    const char *name = api_conn_name_or_reply(req);
    struct sb_err err;
    json_t *body, *def;

    if (!name || !req_json_body_or_reply(req, &body))
        return;
    if (svc_conn_revert(req_actor(req), name, json_object_get(body, "versionNumber"), &def, &err) !=
        SB_OK)
        reply_error(req, &err);
    else
        reply_json(req, 200, def);
    json_decref(body);
}

void api_connections_import(struct request *req)
{
    api_change(req, svc_conn_import);
}
