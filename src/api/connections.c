/* SPDX-License-Identifier: Apache-2.0 */
/* /admin/connections and /connections/get-names (API.md §4.3, §4.4). */
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "core/conn.h"
#include "http/request.h"
#include "store/store.h"
#include "util/clock.h"
#include "util/mem.h"

/* The {name} path parameter if it is a valid connection name; otherwise answers 400. */
static const char *name_param_or_reply(struct request *req)
{
    const char *name = req_param(req, 0);
    struct sb_err err;

    if (conn_validate_name(name, &err))
        return name;
    reply_error(req, &err);
    return NULL;
}

void api_connections_list(struct request *req)
{
    struct sb_err err;
    json_t *all, *def, *out;
    const char *name;

    if (store_conn_list(req->app->store, &all, &err) != SB_OK) {
        reply_error(req, &err);
        return;
    }
    out = xcheck(json_object());
    json_object_foreach(all, name, def)
        json_object_set_new(out, name, conn_list_item(def));
    json_decref(all);
    reply_json(req, 200, out);
}

void api_connections_create(struct request *req)
{
    struct sb_err err;
    json_t *body, *def;

    if (!req_json_body_or_reply(req, &body))
        return;
    if (conn_prepare_create(body, req->principal.login, clock_epoch_ms(), &def, &err) != SB_OK) {
        json_decref(body);
        reply_error(req, &err);
        return;
    }
    json_decref(body);
    if (store_conn_insert(req->app->store, json_string_value(json_object_get(def, "name")), def,
                          &err) != SB_OK) {
        json_decref(def);
        reply_error(req, &err);
        return;
    }
    reply_json(req, 200, def);
}

void api_connections_get(struct request *req)
{
    const char *name = name_param_or_reply(req);
    struct sb_err err;
    json_t *def;

    if (!name)
        return;
    if (store_conn_get(req->app->store, name, &def, &err) != SB_OK) {
        reply_error(req, &err);
        return;
    }
    reply_json(req, 200, def);
}

void api_connections_update(struct request *req)
{
    const char *name = name_param_or_reply(req);
    struct sb_err err;
    json_t *body = NULL, *stored = NULL, *def = NULL;

    if (!name || !req_json_body_or_reply(req, &body))
        return;
    if (store_conn_get(req->app->store, name, &stored, &err) != SB_OK ||
        conn_prepare_update(stored, body, name, req->principal.login, clock_epoch_ms(), &def,
                            &err) != SB_OK ||
        store_conn_replace(req->app->store, name, def, conn_version(stored), &err) != SB_OK) {
        reply_error(req, &err);
        goto out;
    }
    reply_json(req, 200, json_incref(def));
out:
    json_decref(body);
    json_decref(stored);
    json_decref(def);
}

void api_connections_delete(struct request *req)
{
    const char *name = name_param_or_reply(req);
    struct sb_err err;

    if (!name)
        return;
    if (store_conn_delete(req->app->store, name, &err) != SB_OK) {
        reply_error(req, &err);
        return;
    }
    reply_json(req, 200, xcheck(json_object()));
}

void api_connections_names(struct request *req)
{
    char *type = req_query(req, "type");
    bool any_type = !type || !*type || strcmp(type, "all") == 0;
    struct sb_err err;
    json_t *all, *def, *names;
    const char *name;

    if (store_conn_list(req->app->store, &all, &err) != SB_OK) {
        free(type);
        reply_error(req, &err);
        return;
    }
    names = xcheck(json_array());
    json_object_foreach(all, name, def) {
        const char *t = json_string_value(json_object_get(def, "type"));
        if ((any_type || (t && strcmp(t, type) == 0)) && conn_usable_by(def, &req->principal))
            json_array_append_new(names, json_string(name));
    }
    json_decref(all);
    free(type);
    reply_json(req, 200, names);
}
