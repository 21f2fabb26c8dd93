/* SPDX-License-Identifier: Apache-2.0 */
/* Connection changes (docs/API.md §4.3, §4.5): create, update, delete, revert and bulk import.
 * Secrets are sealed before anything is stored; each change and its audit record join the
 * actor's write, and the catalog and the probe state hear of it once that write committed
 * (before the answer, so that a client always reads its own writes). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "core/catalog.h"
#include "core/conn.h"
#include "core/fields.h"
#include "core/principal.h"
#include "core/secrets.h"
#include "service/audit.h"
#include "service/service.h"
#include "service/write.h"
#include "store/store.h"
#include "sync/sync.h"
#include "util/clock.h"
#include "util/mem.h"

/* A create of a name that exists is a 409 whatever else the body holds (docs/API.md §3): checked
 * before the body is validated. The store checks again in the insert's transaction. */
static enum sb_err_kind name_free(struct actor *a, const json_t *body, struct sb_err *err)
{
    const char *name = json_string_value(json_object_get(body, "name"));
    struct catalog_entry *e;

    if (!name || !sync_catalog_ready(a->app->sync) || !catalog_loaded(a->app->catalog))
        return SB_OK; /* the store's insert decides */
    if (!(e = catalog_get(a->app->catalog, name)))
        return SB_OK;
    catalog_entry_release(e);
    return sb_err_set(err, SB_ERR_CONFLICT, "Connection '%s' already exists.", name);
}

/* svc_conn_create, and *TEXT (malloc'd, or NULL) the definition's compact JSON as stored. On
 * PostgreSQL the insert travels with the write's COMMIT (one round trip for all of it): the
 * version it gives out, and so the definition and its text, are known only once the write
 * committed, which this does then (the handler's last step: it answers with them). */
static enum sb_err_kind create(struct actor *a, const json_t *body, json_t **out, char **text,
                               struct sb_err *err)
{
    struct svc_change c;
    struct store_insert in = {0};
    const char *name = NULL;
    enum sb_err_kind rc;

    *out = NULL;
    *text = NULL;
    rc = svc_begin(a, &c, err);
    if (rc == SB_OK)
        rc = name_free(a, body, err);
    if (rc == SB_OK)
        rc = conn_prepare_create(body, actor_login(a), clock_epoch_ms(), a->app->cfg->write_guards,
                                 out, err);
    if (rc == SB_OK) {
        name = json_string_value(json_object_get(*out, "name"));
        rc = secrets_seal_params(&a->app->secrets, name, json_object_get(*out, "params"), err);
    }
    /* the text stored is the definition's dump: the catalog's entry and the answer reuse it */
    if (rc == SB_OK)
        rc = store_conn_insert_later(a->app->store, name, *out, "create", &in, err);
    if (rc == SB_OK && !in.later)
        rc = store_conn_insert_done(&in, rc, *out, text, err);
    if (rc == SB_OK && !in.later)
        write_publish_def_text(a->write, a->app, *out, *text);
    rc = svc_end(a, &c, rc, "connection.create", name, NULL, err);
    if (in.later) {
        /* the route's write (an own one committed in svc_end) commits now; a failure rolls it
         * back, so that the insert waiting in it never runs after this returned */
        if (rc == SB_OK && a->write)
            rc = write_commit(a->write, err);
        else if (rc != SB_OK && a->write)
            write_rollback(a->write);
        rc = store_conn_insert_done(&in, rc, *out, text, err);
        if (rc == SB_OK)
            write_publish_def_text(a->write, a->app, *out, *text); /* committed: at once */
    }
    if (rc != SB_OK) {
        json_decref(*out);
        *out = NULL;
        free(*text);
        *text = NULL;
    }
    return rc;
}

enum sb_err_kind svc_conn_create(struct actor *a, const json_t *body, json_t **out,
                                 struct sb_err *err)
{
    char *text;
    enum sb_err_kind rc = create(a, body, out, &text, err);

    free(text);
    return rc;
}

enum sb_err_kind svc_conn_create_text(struct actor *a, const json_t *body, char **text,
                                      struct sb_err *err)
{
    json_t *def;
    enum sb_err_kind rc = create(a, body, &def, text, err);

    if (rc == SB_OK && !*text)
        *text = xcheck(json_dumps(def, JSON_COMPACT));
    json_decref(def);
    return rc;
}

static enum sb_err_kind precondition_failed(const char *name, int64_t stored, int64_t wanted,
                                            struct sb_err *err)
{
    return sb_err_set(err, SB_ERR_PRECONDITION_FAILED,
                      "Connection '%s' is at version %lld, not version %lld named by If-Match: it "
                      "was changed since it was read; read it again and reapply the change.",
                      name, (long long)stored, (long long)wanted);
}

/* Without write guards or If-Match, the last write wins (DSS): an update that loses a race with
 * another writer is applied again over the newer version, this many times at most. */
#define UPDATE_ATTEMPTS 8

/* One attempt of svc_conn_update, in A's write; *TEXT as for create. */
static enum sb_err_kind update_once(struct actor *a, const char *name, const json_t *body,
                                    int64_t if_match, json_t **def, char **text, struct sb_err *err)
{
    json_t *stored = NULL;
    /* read under the name's lock: the replace below cannot meet a newer version, and on
     * PostgreSQL the lock travels with the read and the replace with the COMMIT (2 round trips) */
    enum sb_err_kind rc = store_conn_get_locked(a->app->store, name, &stored, err);

    if (rc == SB_OK && if_match >= 0 && conn_version(stored) != if_match)
        rc = precondition_failed(name, conn_version(stored), if_match, err);
    if (rc == SB_OK)
        rc = conn_prepare_update(stored, body, name, actor_login(a), clock_epoch_ms(),
                                 a->app->cfg->write_guards, def, err);
    if (rc == SB_OK)
        rc = secrets_seal_params(&a->app->secrets, name, json_object_get(*def, "params"), err);
    if (rc == SB_OK)
        rc = store_conn_replace_text(a->app->store, name, *def, conn_version(stored), "update",
                                     text, err);
    if (rc == SB_OK)
        write_publish_def_text(a->write, a->app, *def, *text);
    if (rc == SB_ERR_CONFLICT && if_match >= 0) /* changed between our read and write */
        rc = precondition_failed(name, conn_version(stored) + 1, if_match, err);
    json_decref(stored);
    return rc;
}

/* svc_conn_update, and *TEXT (malloc'd, or NULL) the definition's compact JSON as stored. */
static enum sb_err_kind update(struct actor *a, const char *name, const json_t *body,
                               int64_t if_match, json_t **out, char **text, struct sb_err *err)
{
    bool guards = a->app->cfg->write_guards;
    struct svc_change c;
    enum sb_err_kind rc;

    *out = NULL;
    *text = NULL;
    if ((rc = svc_begin(a, &c, err)) != SB_OK)
        return svc_end(a, &c, rc, NULL, NULL, out, err);
    for (int attempt = 1;; attempt++) {
        json_decref(*out);
        *out = NULL;
        free(*text);
        *text = NULL;
        rc = update_once(a, name, body, if_match, out, text, err);
        if (rc != SB_ERR_CONFLICT || if_match >= 0 || guards || attempt == UPDATE_ATTEMPTS)
            break;
    }
    rc = svc_end(a, &c, rc, "connection.update", name, out, err);
    if (rc != SB_OK) {
        free(*text);
        *text = NULL;
    }
    return rc;
}

enum sb_err_kind svc_conn_update(struct actor *a, const char *name, const json_t *body,
                                 int64_t if_match, json_t **out, struct sb_err *err)
{
    char *text;
    enum sb_err_kind rc = update(a, name, body, if_match, out, &text, err);

    free(text);
    return rc;
}

enum sb_err_kind svc_conn_update_text(struct actor *a, const char *name, const json_t *body,
                                      int64_t if_match, char **text, struct sb_err *err)
{
    json_t *def;
    enum sb_err_kind rc = update(a, name, body, if_match, &def, text, err);

    if (rc == SB_OK && !*text)
        *text = xcheck(json_dumps(def, JSON_COMPACT));
    json_decref(def);
    return rc;
}

enum sb_err_kind svc_conn_delete(struct actor *a, const char *name, int64_t if_match, bool force,
                                 struct sb_err *err)
{
    struct svc_change c;
    int64_t version;
    enum sb_err_kind rc;

    if (svc_begin(a, &c, err) != SB_OK)
        return err->kind;
    /* DSS deletes a connection that datasets use (they keep naming it); guards refuse it. With
     * If-Match, the version is checked under the name's lock, in the delete's transaction. */
    rc = store_conn_delete_at(a->app->store, name, if_match, force || !a->app->cfg->write_guards,
                              actor_login(a), clock_epoch_ms(), &version, err);
    if (rc == SB_OK)
        write_publish_delete(a->write, a->app, name, version);
    return svc_end(a, &c, rc, "connection.delete", name, NULL, err);
}

/* svc_conn_revert in A's write: *DEF the definition written. */
static enum sb_err_kind revert(struct actor *a, const char *name, const json_t *version,
                               json_t **def, struct sb_err *err)
{
    struct store *st = a->app->store;
    json_t *old = NULL, *current = NULL;
    int64_t current_version = 0;
    enum sb_err_kind rc;

    if (!json_is_integer(version))
        return sb_err_set(err, SB_ERR_BAD_REQUEST,
                          "Field 'versionNumber' is required: the version (a whole number) to "
                          "revert to.");
    rc = store_conn_version(st, name, json_integer_value(version), &old, err);
    if (rc == SB_OK && store_conn_get(st, name, &current, err) != SB_OK &&
        err->kind != SB_ERR_NOT_FOUND)
        rc = err->kind;
    if (rc == SB_OK) {
        if (current)
            current_version = conn_version(current);
        *def = xcheck(json_deep_copy(old));
        json_object_set_new(
            *def, "creationTag",
            xcheck(json_pack("{s:I, s:{s:s}, s:I}", "versionNumber",
                             (json_int_t)(current_version + 1), "lastModifiedBy", "login",
                             actor_login(a), "lastModifiedOn", (json_int_t)clock_epoch_ms())));
        /* the version's secrets come back as they were; they must still open under this key */
        rc = secrets_seal_params(&a->app->secrets, name, json_object_get(*def, "params"), err);
    }
    if (rc == SB_OK)
        rc = current ? store_conn_replace(st, name, *def, current_version, "revert", err)
                     : store_conn_insert(st, name, *def, "revert", err);
    if (rc == SB_OK)
        write_publish_def(a->write, a->app, *def);
    json_decref(old);
    json_decref(current);
    return rc;
}

enum sb_err_kind svc_conn_revert(struct actor *a, const char *name, const json_t *version,
                                 json_t **out, struct sb_err *err)
{
    struct svc_change c;

    *out = NULL;
    return svc_end(a, &c,
                   svc_begin(a, &c, err) == SB_OK ? revert(a, name, version, out, err) : err->kind,
                   "connection.revert", name, out, err);
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
static enum sb_err_kind import_one(struct actor *a, const json_t *item, size_t i,
                                   enum on_conflict mode, struct import_result *r,
                                   struct sb_err *err)
{
    struct app *app = a->app;
    struct sb_err item_err;
    json_t *def = NULL, *stored = NULL, *clean;
    char *name = NULL;
    int64_t now = clock_epoch_ms();

    sb_err_clear(err);
    if (conn_prepare_create(item, actor_login(a), now, app->cfg->write_guards, &def, &item_err) !=
            SB_OK ||
        secrets_seal_params(&app->secrets, json_string_value(json_object_get(def, "name")),
                            json_object_get(def, "params"), &item_err) != SB_OK) {
        import_error(r, item, i, item_err.msg);
        goto out;
    }
    name = xstrdup(json_string_value(json_object_get(def, "name")));
    if (store_conn_get(app->store, name, &stored, err) != SB_OK) {
        if (err->kind != SB_ERR_NOT_FOUND)
            goto out;
        sb_err_clear(err);
        if (store_conn_insert(app->store, name, def, "create", err) == SB_OK) {
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
        if (conn_prepare_update(stored, clean, name, actor_login(a), now, app->cfg->write_guards,
                                &def, &item_err) != SB_OK ||
            secrets_seal_params(&app->secrets, name, json_object_get(def, "params"), &item_err) !=
                SB_OK)
            import_error(r, item, i, item_err.msg);
        else if (store_conn_replace(app->store, name, def, conn_version(stored), "update", err) ==
                 SB_OK) {
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

static void audit_names(struct actor *a, const char *action, const json_t *names)
{
    json_t *v;
    size_t i;

    json_array_foreach (names, i, v)
        audit_record(a, action, json_string_value(v), "success");
}

/* Imports every item of ITEMS in one transaction, into R. */
static enum sb_err_kind import_all(struct actor *a, const json_t *items, enum on_conflict mode,
                                   bool dry_run, struct import_result *r, struct sb_err *err)
{
    struct store *st = a->app->store;
    json_t *item;
    size_t i;

    if (store_tx_begin(st, err) != SB_OK)
        return err->kind;
    json_array_foreach (items, i, item)
        if (import_one(a, item, i, mode, r, err) != SB_OK) {
            store_tx_rollback(st);
            return err->kind;
        }
    if (dry_run || (mode == ON_CONFLICT_FAIL && json_array_size(r->errors) > 0)) {
        store_tx_rollback(st);
        if (!dry_run) {
            /* nothing was written: say so rather than list what would have been */
            json_array_clear(r->created);
            json_array_clear(r->updated);
            json_array_clear(r->skipped);
        }
        return SB_OK;
    }
    if (store_tx_commit(st, err) != SB_OK)
        return err->kind;
    json_array_foreach (r->written, i, item)
        write_publish_def(a->write, a->app, item);
    audit_names(a, "connection.create", r->created);
    audit_names(a, "connection.update", r->updated);
    return SB_OK;
}

enum sb_err_kind svc_conn_import(struct actor *a, const json_t *body, json_t **out,
                                 struct sb_err *err)
{
    static const char *const modes[] = {"fail", "skip", "overwrite", NULL};
    struct import_result r;
    const json_t *items = json_object_get(body, "connections");
    const char *mode_name;
    enum on_conflict mode = ON_CONFLICT_FAIL;
    bool dry_run;

    *out = NULL;
    if (!json_is_object(body) || !json_is_array(items))
        return sb_err_set(err, SB_ERR_BAD_REQUEST,
                          "Field 'connections' is required: an array of connection definitions.");
    if (!fields_enum(body, "", "onConflict", modes, err) || !fields_bool(body, "", "dryRun", err))
        return err->kind;
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
    struct svc_change c;
    if (svc_end(a, &c,
                svc_begin(a, &c, err) == SB_OK ? import_all(a, items, mode, dry_run, &r, err)
                                               : err->kind,
                NULL, NULL, NULL, err) == SB_OK)
        *out = xcheck(json_pack("{s:O, s:O, s:O, s:O, s:b}", "created", r.created, "updated",
                                r.updated, "skipped", r.skipped, "errors", r.errors, "dryRun",
                                dry_run));
    json_decref(r.created);
    json_decref(r.updated);
    json_decref(r.skipped);
    json_decref(r.errors);
    json_decref(r.written);
    return *out ? SB_OK : err->kind;
}
