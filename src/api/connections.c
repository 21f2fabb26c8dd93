/* SPDX-License-Identifier: Apache-2.0 */
/* /admin/connections, /connections/get-names and /connections/{name}/info (docs/API.md §4.3,
 * §4.4). Changes are the service's (src/service/connections.c), and so are /info's details,
 * the only read that opens secrets (src/service/details.c). Reads are served from the in-memory
 * catalog (src/core/catalog.c), which every write patches after its commit and before its answer,
 * so that a client always reads its own writes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "api/common.h"
#include "core/catalog.h"
#include "core/types.h"
#include "http/request.h"
#include "service/service.h"
#include "util/mem.h"

static size_t list_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    return catalog_reader_read(cls, pos, buf, max);
}

static void list_free(void *cls)
{
    struct catalog_reader *r = cls;
    catalog_snapshot_release((struct catalog_snapshot *)r->s);
    free(r);
}

void api_connections_list(struct request *req)
{
    struct catalog_reader *r;

    if (!api_catalog_ready_or_reply(req))
        return;
    r = xcalloc(1, sizeof(*r));
    r->s = catalog_snapshot(req->app->catalog);
    reply_stream(req, 200, r->s->list_len, list_read, r, list_free);
}

void api_connections_create(struct request *req)
{
    struct sb_err err;
    json_t *body;
    char *text;
    enum sb_err_kind rc;

    if (!req_json_body_or_reply(req, &body))
        return;
    /* the answer is the text the store holds, dumped once for both */
    rc = svc_conn_create_text(req_actor(req), body, &text, &err);
    json_decref(body);
    if (rc == SB_OK)
        reply_json_text(req, 200, text);
    else
        reply_error(req, &err);
}

static void release_entry(void *cls)
{
    catalog_entry_release(cls);
}

void api_connections_get(struct request *req)
{
    const char *name = api_conn_name_or_reply(req);
    struct catalog_entry *e;

    if (!name || !api_catalog_ready_or_reply(req))
        return;
    e = catalog_get(req->app->catalog, name);
    if (!e) {
        reply_errorf(req, SB_ERR_NOT_FOUND, "Connection '%s' does not exist.", name);
        return;
    }
    snprintf(req->etag, sizeof(req->etag), "%lld", (long long)e->version);
    /* the entry's bytes as they are: the answer holds the reference until it is sent */
    const char *part[3];
    size_t len[3];
    int n = catalog_entry_json_parts(e, part, len);
    reply_shared(req, 200, part, len, n, release_entry, e);
}

/* The version named by an If-Match header (docs/API.md §4.7) into *VERSION: -1 when there is none
 * (or it is "*", which any existing connection matches). A value that is not a version number
 * answers 400 and returns false. */
static bool if_match_or_reply(struct request *req, int64_t *version)
{
    const char *h = req_header(req, "If-Match");
    char *end;
    long long v;
    bool quoted;

    *version = -1;
    if (!h)
        return true;
    while (*h == ' ')
        h++;
    if (strcmp(h, "*") == 0)
        return true;
    if (strncmp(h, "W/", 2) == 0)
        h += 2;
    quoted = *h == '"';
    h += quoted;
    v = strtoll(h, &end, 10);
    if (end == h || v < 0 || *h == '-' || *h == '+' || (quoted && *end++ != '"') || *end) {
        reply_errorf(req, SB_ERR_BAD_REQUEST,
                     "Header 'If-Match' must name a version as an entity tag, such as \"3\" (the "
                     "ETag of GET /admin/connections/{name}).");
        return false;
    }
    *version = v;
    return true;
}

void api_connections_update(struct request *req)
{
    const char *name = api_conn_name_or_reply(req);
    struct sb_err err;
    json_t *body = NULL;
    int64_t if_match;
    char *text;

    if (!name || !if_match_or_reply(req, &if_match) || !req_json_body_or_reply(req, &body))
        return;
    /* the answer is the text the store holds, dumped once for both */
    if (svc_conn_update_text(req_actor(req), name, body, if_match, &text, &err) != SB_OK)
        reply_error(req, &err);
    else
        reply_json_text(req, 200, text);
    json_decref(body);
}

void api_connections_delete(struct request *req)
{
    const char *name = api_conn_name_or_reply(req);
    struct sb_err err;
    int64_t if_match;

    if (!name || !if_match_or_reply(req, &if_match))
        return;
    if (svc_conn_delete(req_actor(req), name, if_match, req_query_bool(req, "force"), &err) !=
        SB_OK)
        reply_error(req, &err);
    else
        reply_json(req, 200, xcheck(json_object()));
}

static void release_snapshot(void *cls)
{
    catalog_snapshot_release(cls);
}

void api_connections_names(struct request *req)
{
    char *type, *owned;
    const char *body;
    struct catalog_snapshot *snap;
    size_t len;

    if (!api_catalog_ready_or_reply(req))
        return;
    type = req_query(req, "type");
    if (type && (!*type || strcmp(type, "all") == 0)) {
        free(type);
        type = NULL;
    }
    /* built once per snapshot for each type and set of groups, and sent in place */
    snap = catalog_snapshot(req->app->catalog);
    body = catalog_snapshot_names(snap, &req->principal, type, &len, &owned);
    free(type);
    if (owned) {
        catalog_snapshot_release(snap);
        reply_text(req, 200, "application/json; charset=utf-8", owned);
        return;
    }
    reply_shared(req, 200, &body, &len, 1, release_snapshot, snap);
}

void api_connections_info(struct request *req)
{
    const char *name = api_conn_name_or_reply(req);
    char *project_key;
    struct sb_err err;
    json_t *out;

    /* on a store of its own the details are the catalog's copy (src/service/details.c) */
    if (!name || (!req->app->sync && !api_catalog_ready_or_reply(req)))
        return;
    project_key = req_query(req, "contextualProjectKey");
    if (svc_conn_details(req_actor(req), name, project_key, &out, &err) != SB_OK)
        reply_error(req, &err);
    else
        reply_json(req, 200, out);
    free(project_key);
}

void api_connections_types(struct request *req)
{
    reply_json(req, 200, types_registry_json());
}
