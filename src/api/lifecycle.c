/* SPDX-License-Identifier: Apache-2.0 */
/* The connection lifecycle beyond CRUD (docs/API.md §4.5): usages, history, revert and bulk import.
 * History versions are written by the store in the same transaction as each change. */
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "api/audit.h"
#include "api/common.h"
#include "core/catalog.h"
#include "core/conn.h"
#include "core/fields.h"
#include "core/secrets.h"
#include "http/request.h"
#include "service/write.h"
#include "store/store.h"
#include "util/clock.h"
#include "util/mem.h"

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
    json_t *body = NULL, *old = NULL, *current = NULL, *def = NULL, *v;
    int64_t current_version = 0;

    if (!name || !req_json_body_or_reply(req, &body))
        return;
    v = json_object_get(body, "versionNumber");
    if (!json_is_integer(v)) {
        reply_errorf(req, SB_ERR_BAD_REQUEST,
                     "Field 'versionNumber' is required: the version (a whole number) to revert "
                     "to.");
        goto out;
    }
    if (store_conn_version(req->app->store, name, json_integer_value(v), &old, &err) != SB_OK ||
        (store_conn_get(req->app->store, name, &current, &err) != SB_OK &&
         err.kind != SB_ERR_NOT_FOUND)) {
        reply_error(req, &err);
        goto out;
    }
    if (current)
        current_version = conn_version(current);
    def = xcheck(json_deep_copy(old));
    json_object_set_new(
        def, "creationTag",
        xcheck(json_pack("{s:I, s:{s:s}, s:I}", "versionNumber", (json_int_t)(current_version + 1),
                         "lastModifiedBy", "login", req->principal.login, "lastModifiedOn",
                         (json_int_t)clock_epoch_ms())));
    /* the version's secrets come back as they were; they must still open under this key */
    if (secrets_seal_params(&req->app->secrets, name, json_object_get(def, "params"), &err) !=
            SB_OK ||
        (current ? store_conn_replace(req->app->store, name, def, current_version, "revert", &err)
                 : store_conn_insert(req->app->store, name, def, "revert", &err)) != SB_OK) {
        reply_error(req, &err);
        goto out;
    }
    write_publish_def(req->write, req->app, def);
    audit_record(req, "connection.revert", name, "success");
    reply_json(req, 200, json_incref(def));
out:
    json_decref(body);
    json_decref(old);
    json_decref(current);
    json_decref(def);
}

/* ---- bulk import ---- */

enum on_conflict { ON_CONFLICT_FAIL, ON_CONFLICT_SKIP, ON_CONFLICT_OVERWRITE };

struct import_result {
    json_t *created, *updated, *skipped, *errors;
    json_t *written; /* definitions to publish in the catalog once committed */
};

static void import_error(struct import_result *r, const json_t *item, size_t i, const char *msg)
{
    const char *name = json_string_value(json_object_get(item, "name"));
    char fallback[48];

    snprintf(fallback, sizeof(fallback), "#%zu", i);
    json_array_append_new(
        r->errors, xcheck(json_pack("{s:s, s:s}", "name", name ? name : fallback, "message", msg)));
}

/* Imports ITEM (index I) inside the open transaction, recording the outcome in R. Returns a
 * store failure (which aborts the whole import); item errors are recorded, not returned. */
static enum sb_err_kind import_one(struct request *req, const json_t *item, size_t i,
                                   enum on_conflict mode, struct import_result *r,
                                   struct sb_err *err)
{
    struct sb_err item_err;
    json_t *def = NULL, *stored = NULL, *clean;
    char *name = NULL;
    int64_t now = clock_epoch_ms();

    sb_err_clear(err);
    if (conn_prepare_create(item, req->principal.login, now, req->app->cfg->write_guards, &def,
                            &item_err) != SB_OK ||
        secrets_seal_params(&req->app->secrets, json_string_value(json_object_get(def, "name")),
                            json_object_get(def, "params"), &item_err) != SB_OK) {
        import_error(r, item, i, item_err.msg);
        goto out;
    }
    name = xstrdup(json_string_value(json_object_get(def, "name")));
    if (store_conn_get(req->app->store, name, &stored, err) != SB_OK) {
        if (err->kind != SB_ERR_NOT_FOUND)
            goto out;
        sb_err_clear(err);
        if (store_conn_insert(req->app->store, name, def, "create", err) == SB_OK) {
            json_array_append_new(r->created, json_string(name));
            json_array_append(r->written, def);
        }
        goto out;
    }
    if (mode == ON_CONFLICT_SKIP) {
        json_array_append_new(r->skipped, json_string(name));
    } else if (mode == ON_CONFLICT_FAIL) {
        snprintf(item_err.msg, sizeof(item_err.msg), "Connection '%s' already exists.", name);
        import_error(r, item, i, item_err.msg);
    } else {
        json_decref(def);
        def = NULL;
        /* an overwrite replaces whatever is stored, whatever version it is at */
        clean = xcheck(json_copy((json_t *)item));
        json_object_del(clean, "creationTag");
        if (conn_prepare_update(stored, clean, name, req->principal.login, now,
                                req->app->cfg->write_guards, &def, &item_err) != SB_OK ||
            secrets_seal_params(&req->app->secrets, name, json_object_get(def, "params"),
                                &item_err) != SB_OK)
            import_error(r, item, i, item_err.msg);
        else if (store_conn_replace(req->app->store, name, def, conn_version(stored), "update",
                                    err) == SB_OK) {
            json_array_append_new(r->updated, json_string(name));
            json_array_append(r->written, def);
        }
        json_decref(clean);
    }
out:
    free(name);
    json_decref(def);
    json_decref(stored);
    return err->kind;
}

static void audit_names(struct request *req, const char *action, const json_t *names)
{
    json_t *v;
    size_t i;

    json_array_foreach (names, i, v)
        audit_record(req, action, json_string_value(v), "success");
}

void api_connections_import(struct request *req)
{
    static const char *const modes[] = {"fail", "skip", "overwrite", NULL};
    struct import_result r = {0};
    struct sb_err err;
    json_t *body, *items, *item;
    const char *mode_name;
    enum on_conflict mode = ON_CONFLICT_FAIL;
    bool dry_run, commit;
    size_t i;

    if (!req_json_body_or_reply(req, &body))
        return;
    items = json_object_get(body, "connections");
    if (!json_is_object(body) || !json_is_array(items)) {
        reply_errorf(req, SB_ERR_BAD_REQUEST,
                     "Field 'connections' is required: an array of connection definitions.");
        goto out;
    }
    if (!fields_enum(body, "", "onConflict", modes, &err) ||
        !fields_bool(body, "", "dryRun", &err)) {
        reply_error(req, &err);
        goto out;
    }
    mode_name = json_string_value(json_object_get(body, "onConflict"));
    if (mode_name && strcmp(mode_name, "skip") == 0)
        mode = ON_CONFLICT_SKIP;
    else if (mode_name && strcmp(mode_name, "overwrite") == 0)
        mode = ON_CONFLICT_OVERWRITE;
    dry_run = json_is_true(json_object_get(body, "dryRun"));

    r.created = xcheck(json_array());
    r.updated = xcheck(json_array());
    r.skipped = xcheck(json_array());
    r.errors = xcheck(json_array());
    r.written = xcheck(json_array());
    if (store_tx_begin(req->app->store, &err) != SB_OK) {
        reply_error(req, &err);
        goto out;
    }
    json_array_foreach (items, i, item)
        if (import_one(req, item, i, mode, &r, &err) != SB_OK) {
            store_tx_rollback(req->app->store);
            reply_error(req, &err);
            goto out;
        }
    commit = !dry_run && !(mode == ON_CONFLICT_FAIL && json_array_size(r.errors) > 0);
    if (!commit) {
        store_tx_rollback(req->app->store);
        if (!dry_run) {
            /* nothing was written: say so rather than list what would have been */
            json_array_clear(r.created);
            json_array_clear(r.updated);
            json_array_clear(r.skipped);
        }
    } else if (store_tx_commit(req->app->store, &err) != SB_OK) {
        reply_error(req, &err);
        goto out;
    } else {
        json_t *def;
        json_array_foreach (r.written, i, def)
            write_publish_def(req->write, req->app, def);
        audit_names(req, "connection.create", r.created);
        audit_names(req, "connection.update", r.updated);
    }
    reply_json(
        req, 200,
        xcheck(json_pack("{s:O, s:O, s:O, s:O, s:b}", "created", r.created, "updated", r.updated,
                         "skipped", r.skipped, "errors", r.errors, "dryRun", dry_run)));
out:
    json_decref(r.created);
    json_decref(r.updated);
    json_decref(r.skipped);
    json_decref(r.errors);
    json_decref(r.written);
    json_decref(body);
}
