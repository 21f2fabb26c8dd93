/* SPDX-License-Identifier: Apache-2.0 */
/* /admin/connections, /connections/get-names and /connections/{name}/info (docs/API.md §4.3,
 * §4.4). Changes are the service's (src/service/connections.c); secrets are opened only for
 * /info. Reads are served from the in-memory catalog (src/core/catalog.c), which every write
 * patches after its commit and before its answer, so that a client always reads its own writes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "api/common.h"
#include "core/catalog.h"
#include "core/conn.h"
#include "core/projects.h"
#include "core/secrets.h"
#include "core/types.h"
#include "http/request.h"
#include "service/audit.h"
#include "service/params.h"
#include "service/service.h"
#include "store/store.h"
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
    json_t *body, *def;

    if (!req_json_body_or_reply(req, &body))
        return;
    if (svc_conn_create(req_actor(req), body, &def, &err) != SB_OK)
        reply_error(req, &err);
    else
        reply_json(req, 200, def);
    json_decref(body);
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
    json_t *body = NULL, *def;
    int64_t if_match;

    if (!name || !if_match_or_reply(req, &if_match) || !req_json_body_or_reply(req, &body))
        return;
    if (svc_conn_update(req_actor(req), name, body, if_match, &def, &err) != SB_OK)
        reply_error(req, &err);
    else
        reply_json(req, 200, def);
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

/* The caller's own credential for connection NAME (PER_USER mode), opened. On failure answers
 * 403 (none stored, or not a user) and returns NULL. New reference. */
static json_t *own_credential_or_reply(struct request *req, const char *name)
{
    struct sb_err err;
    json_t *user, *cred, *opened = NULL;

    if (req->principal.type != PRINCIPAL_USER) {
        reply_errorf(req, SB_ERR_FORBIDDEN,
                     "Connection '%s' uses per-user credentials: call with a personal API key of "
                     "a user who has stored a credential for it.",
                     name);
        return NULL;
    }
    if (store_obj_get(req->app->store, STORE_USERS, req->principal.login, &user, &err) != SB_OK) {
        reply_error(req, &err);
        return NULL;
    }
    cred = json_object_get(json_object_get(user, "credentials"), name);
    if (!json_is_object(cred)) {
        reply_errorf(req, SB_ERR_FORBIDDEN,
                     "User '%s' has no credential for connection '%s', which uses per-user "
                     "credentials; store one in the user's settings (credentials).",
                     req->principal.login, name);
    } else {
        json_t *holder = xcheck(json_pack("{s:{s:O}}", "credentials", name, cred));
        json_t *open_holder;
        if (secrets_open_user(&req->app->secrets, req->principal.login, holder, &open_holder,
                              &err) != SB_OK) {
            reply_error(req, &err);
        } else {
            opened =
                json_incref(json_object_get(json_object_get(open_holder, "credentials"), name));
            json_decref(open_holder);
        }
        json_decref(holder);
    }
    json_decref(user);
    return opened;
}

/* The variables of the project named by ?contextualProjectKey=, if any, into *OUT (new
 * reference, or NULL). The caller must be able to read the project; otherwise answers (404,
 * 403) and returns false. */
static bool project_variables_or_reply(struct request *req, json_t **out)
{
    char *key = req_query(req, "contextualProjectKey");
    struct sb_err err;
    json_t *project = NULL;
    bool ok = false;

    *out = NULL;
    if (!key || !*key) {
        free(key);
        return true;
    }
    if (!projects_validate_key(key, &err) ||
        store_obj_get(req->app->store, STORE_PROJECTS, key, &project, &err) != SB_OK) {
        reply_error(req, &err);
    } else if (!projects_can_read(project, &req->principal)) {
        reply_errorf(req, SB_ERR_FORBIDDEN, "'%s' may not read project '%s'.", req->principal.login,
                     key);
    } else if (store_obj_get(req->app->store, STORE_PROJECT_VARIABLES, key, out, &err) != SB_OK &&
               err.kind != SB_ERR_NOT_FOUND) {
        reply_error(req, &err);
    } else {
        ok = true;
    }
    json_decref(project);
    free(key);
    return ok;
}

/* The definition /info answers from: the catalog's copy on a store of its own (the catalog is
 * patched before every write's answer, so it is never older than the store); the store's on a
 * shared store, where another node's change reaches the catalog only later, and an access
 * right just revoked there must not still open a credential here. New reference, or NULL once
 * answered. */
static json_t *info_definition_or_reply(struct request *req, const char *name)
{
    struct catalog_entry *e;
    struct sb_err err;
    json_t *def = NULL;

    if (req->app->sync) {
        if (store_conn_get(req->app->store, name, &def, &err) != SB_OK)
            reply_error(req, &err);
        return def;
    }
    if (!api_catalog_ready_or_reply(req))
        return NULL;
    if (!(e = catalog_get(req->app->catalog, name))) {
        reply_errorf(req, SB_ERR_NOT_FOUND, "Connection '%s' does not exist.", name);
        return NULL;
    }
    def = catalog_entry_def(req->app->catalog, e); /* shared: read only */
    catalog_entry_release(e);
    if (!def)
        reply_errorf(req, SB_ERR_INTERNAL, "The definition of connection '%s' cannot be read.",
                     name);
    return def;
}

void api_connections_info(struct request *req)
{
    const char *name = api_conn_name_or_reply(req);
    struct sb_err err;
    json_t *def = NULL, *resolved = NULL, *cred = NULL, *project_vars = NULL, *out;
    const char *mode;

    if (!name || !(def = info_definition_or_reply(req, name)))
        return;
    if (!conn_usable_by(def, &req->principal)) {
        audit_record_read(req_actor(req), "connection.read-details", name, "denied");
        reply_errorf(req, SB_ERR_FORBIDDEN, "Connection '%s' is not usable by '%s'.", name,
                     req->principal.login);
        goto out;
    }
    if (!conn_details_readable(def, &req->principal)) {
        audit_record_read(req_actor(req), "connection.read-details", name, "denied");
        reply_errorf(req, SB_ERR_FORBIDDEN,
                     "The details of connection '%s' are not readable by '%s' "
                     "(see its detailsReadability).",
                     name, req->principal.login);
        goto out;
    }
    mode = json_string_value(json_object_get(def, "credentialsMode"));
    if (mode && strcmp(mode, "PER_USER") == 0 && !(cred = own_credential_or_reply(req, name))) {
        audit_record_read(req_actor(req), "connection.read-details", name, "denied");
        goto out;
    }
    if (!project_variables_or_reply(req, &project_vars) ||
        svc_resolve_params(req->app, def, project_vars, &resolved, &err) != SB_OK) {
        if (!req->replied)
            reply_error(req, &err);
        goto out;
    }
    if (cred) {
        json_object_set(resolved, "user", json_object_get(cred, "user"));
        json_object_set(resolved, "password", json_object_get(cred, "password"));
    }

    out = xcheck(json_pack("{s:s, s:O, s:s, s:o, s:O}", "name", name, "type",
                           json_object_get(def, "type"), "credentialsMode", mode ? mode : "GLOBAL",
                           "params", secrets_strip_params(json_object_get(def, "params")),
                           "resolvedParams", resolved));
    switch (conn_credential_shape(def)) {
    case CONN_CREDENTIAL_BASIC:
        json_object_set_new(
            out, "resolvedBasicCredential",
            xcheck(json_pack("{s:O?, s:O?}", "user", json_object_get(resolved, "user"), "password",
                             json_object_get(resolved, "password"))));
        break;
    case CONN_CREDENTIAL_AWS:
        json_object_set_new(
            out, "resolvedAWSCredential",
            xcheck(json_pack("{s:O?, s:O?}", "accessKey", json_object_get(resolved, "accessKey"),
                             "secretKey", json_object_get(resolved, "secretKey"))));
        break;
    case CONN_CREDENTIAL_NONE: break;
    }
    audit_record_read(req_actor(req), "connection.read-details", name, "success");
    reply_json(req, 200, out);
out:
    json_decref(def);
    json_decref(resolved);
    json_decref(cred);
    json_decref(project_vars);
}

void api_connections_types(struct request *req)
{
    reply_json(req, 200, types_registry_json());
}
