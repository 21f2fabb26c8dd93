/* SPDX-License-Identifier: Apache-2.0 */
/* One write, one transaction: see write.h. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "app.h"
#include "core/catalog.h"
#include "prober/probes.h"
#include "service/write.h"
#include "store/store.h"
#include "util/log.h"
#include "util/mem.h"

static void write_clear(struct write_tx *w)
{
    audit_texts_free(w->lines, w->n_lines);
    json_decref(w->deleted);
    w->lines = NULL;
    w->n_lines = w->cap_lines = 0;
    w->deleted = NULL;
    for (size_t i = 0; i < w->n_entries; i++)
        catalog_entry_release(w->entries[i]); /* (published ones are NULL) */
    free(w->entries);
    w->entries = NULL;
    w->n_entries = w->cap_entries = 0;
    w->open = false;
    w->records = 0;
    w->failed = false;
}

enum sb_err_kind write_begin(struct write_tx *w, struct app *app, struct sb_err *err)
{
    memset(w, 0, sizeof(*w));
    w->app = app;
    if (store_tx_begin(app->store, err) != SB_OK)
        return err->kind;
    /* a rotation on another node (or offline, on a shared store) changed the master key: what
     * this node would seal now could never be read again (docs/UPGRADING.md, key rotation).
     * The value is held until this write commits: a rotation waits for it, and one under way
     * makes the check wait and see the new value. On PostgreSQL the check travels with the
     * write's first statement (store_meta_expect_held): no round trip of its own. */
    if (app->key_check[0] &&
        store_meta_expect_held(app->store, STORE_META_KEY_CHECK, app->key_check,
                               "The master key changed: restart this node with the new key.",
                               err) != SB_OK) {
        store_tx_rollback(app->store);
        return err->kind;
    }
    w->open = true;
    w->deleted = xcheck(json_array());
    return SB_OK;
}

static void publish_delete(struct app *app, const char *name, int64_t version)
{
    catalog_delete(app->catalog, name, version);
    probes_forget(app->probes, name);
}

enum sb_err_kind write_commit(struct write_tx *w, struct sb_err *err)
{
    json_t *v;
    size_t i;
    int records;

    if (w->committed) /* by the service call that needed its outcome (write.h) */
        return SB_OK;
    if (!w->open)
        return sb_err_set(err, SB_ERR_INTERNAL, "The write was not open.");
    if (w->failed) {
        *err = w->why;
        write_rollback(w);
        return err->kind;
    }
    if (store_tx_commit(w->app->store, err) != SB_OK) {
        write_rollback(w);
        return err->kind;
    }
    for (i = 0; i < w->n_entries; i++) {
        catalog_publish(w->app->catalog, w->entries[i]);
        w->entries[i] = NULL;
    }
    json_array_foreach (w->deleted, i, v)
        publish_delete(w->app, json_string_value(json_array_get(v, 0)),
                       json_integer_value(json_array_get(v, 1)));
    write_audit_lines(w->app, w->lines, w->n_lines);
    records = w->records;
    write_clear(w);
    w->committed = true;
    w->records = records; /* (what it held: see run_write) */
    return SB_OK;
}

void write_rollback(struct write_tx *w)
{
    if (w->open)
        store_tx_rollback(w->app->store);
    write_clear(w);
}

void write_publish_def_text(struct write_tx *w, struct app *app, const json_t *def,
                            const char *text)
{
    /* made now, published at the commit: the entry is a copy, whatever becomes of DEF */
    struct catalog_entry *e = catalog_entry_of_def(app->catalog, def, text);

    if (!w || !w->open) {
        catalog_publish(app->catalog, e);
        return;
    }
    if (w->n_entries == w->cap_entries) {
        w->cap_entries = w->cap_entries ? w->cap_entries * 2 : 4;
        w->entries = xrealloc(w->entries, w->cap_entries * sizeof(*w->entries));
    }
    w->entries[w->n_entries++] = e;
}

void write_publish_def(struct write_tx *w, struct app *app, const json_t *def)
{
    write_publish_def_text(w, app, def, NULL);
}

void write_publish_delete(struct write_tx *w, struct app *app, const char *name, int64_t version)
{
    if (w && w->open)
        json_array_append_new(w->deleted, xcheck(json_pack("[s, I]", name, (json_int_t)version)));
    else
        publish_delete(app, name, version);
}

void write_fail(struct write_tx *w, const struct sb_err *err)
{
    if (!w->failed)
        w->why = *err;
    w->failed = true;
}

void write_note_record(struct write_tx *w, struct audit_text *rec)
{
    w->records++;
    if (w->n_lines == w->cap_lines) {
        w->cap_lines = w->cap_lines ? w->cap_lines * 2 : 4;
        w->lines = xrealloc(w->lines, w->cap_lines * sizeof(*w->lines));
    }
    w->lines[w->n_lines++] = *rec;
    rec->text = NULL;
}

struct audit_text *write_take_records(struct write_tx *w, size_t *n)
{
    struct audit_text *recs = w->lines;

    *n = w->n_lines;
    w->lines = NULL;
    w->n_lines = w->cap_lines = 0;
    w->records = 0;
    return recs;
}

void audit_texts_free(struct audit_text *recs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(recs[i].text);
    free(recs);
}

void write_audit_lines(struct app *app, const struct audit_text *recs, size_t n)
{
    size_t len = 0;
    char *buf;

    if (app->audit_fd < 0 || n == 0)
        return;
    for (size_t i = 0; i < n; i++)
        len += recs[i].len + 1;
    buf = xmalloc(len);
    len = 0;
    for (size_t i = 0; i < n; i++) {
        memcpy(buf + len, recs[i].text, recs[i].len);
        buf[len + recs[i].len] = '\n';
        len += recs[i].len + 1;
    }
    if (write(app->audit_fd, buf, len) != (ssize_t)len)
        log_error("audit: cannot append %zu record(s) to audit.log", n);
    free(buf);
}
