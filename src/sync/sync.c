/* SPDX-License-Identifier: Apache-2.0 */
/* The change feed of a shared store, applied to the catalog. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "core/catalog.h"
#include "core/conn.h"
#include "store/store.h"
#include "sync/sync.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/mem.h"

/* How long this node's own announcement waits for its writer to publish the change to the
 * catalog (write_commit does, right after its COMMIT) before it is read back from the store
 * anyway (a write whose commit went through unnoticed, e.g. its connection lost on the way). */
#define SYNC_OWN_GRACE_US 200000
#define SYNC_OWN_MAX 4096 /* own announcements waiting at most; past it, read back at once */

struct own_wait {
    char *name;
    int64_t version;
    int64_t due_us; /* monotonic */
};

struct sync {
    struct app *app;
    pthread_t thread;
    atomic_bool stopping;
    atomic_bool ready;    /* the catalog reflects the store */
    struct own_wait *own; /* own announcements not yet in the catalog, oldest first */
    size_t nown, own_cap;
};

/* Whether the catalog already holds VERSION of NAME, or a later one. */
static bool catalog_has(struct sync *s, const char *name, int64_t version)
{
    struct catalog_entry *e = catalog_get(s->app->catalog, name);
    bool has = e && e->version >= version;

    if (e)
        catalog_entry_release(e);
    return has;
}

/* Reads NAME back from the store into the catalog. */
static void read_back(struct sync *s, const char *name)
{
    struct sb_err err;
    json_t *def;

    if (store_conn_get(s->app->store, name, &def, &err) == SB_OK) {
        catalog_put_def(s->app->catalog, def);
        json_decref(def);
    } else if (err.kind != SB_ERR_NOT_FOUND) {
        /* cannot read it now: distrust the catalog until the next reload */
        log_warn("sync: cannot reload connection %s: %s", name, err.msg);
        atomic_store(&s->ready, false);
    }
}

/* A connection written or deleted at VERSION. The catalog is versioned (it never goes back), so
 * a change it already holds is not read back; nor, for a while, is one that this node's own
 * sessions announced, since their writer publishes it itself (own_settle). */
static void on_conn(void *ctx, const char *name, int64_t version, bool deleted, bool own)
{
    struct sync *s = ctx;

    if (deleted) {
        catalog_delete(s->app->catalog, name, version);
        return;
    }
    if (catalog_has(s, name, version))
        return;
    if (own && s->nown < SYNC_OWN_MAX) {
        if (s->nown == s->own_cap) {
            s->own_cap = s->own_cap ? 2 * s->own_cap : 64;
            s->own = xrealloc(s->own, s->own_cap * sizeof(*s->own));
        }
        s->own[s->nown++] =
            (struct own_wait){xstrdup(name), version, clock_mono_us() + SYNC_OWN_GRACE_US};
        return;
    }
    read_back(s, name);
}

/* Settles the own announcements: those the catalog now holds are done; those still missing
 * after SYNC_OWN_GRACE_US (or all, when ALL) are read back. Returns the microseconds until the
 * next one is due (-1: none waits). */
static int64_t own_settle(struct sync *s, bool all)
{
    int64_t now = clock_mono_us();
    size_t keep = 0;

    for (size_t i = 0; i < s->nown; i++) {
        struct own_wait *w = &s->own[i];
        if (catalog_has(s, w->name, w->version)) {
            free(w->name);
        } else if (all || w->due_us <= now) {
            read_back(s, w->name);
            free(w->name);
        } else {
            s->own[keep++] = *w;
        }
    }
    s->nown = keep;
    return keep ? s->own[0].due_us - now : -1;
}

static void on_auth(void *ctx)
{
    (void)ctx; /* the store has moved its auth generation: cached principals are distrusted */
}

struct reload {
    struct sync *s;
    json_t *present; /* names the store has */
};

static void load_one(void *ctx, const char *name, const char *type, int64_t version,
                     const char *usable_by, const char *allowed_groups, const char *text)
{
    struct reload *r = ctx;
    char *upgraded = conn_text_with_new_defaults(text); /* as at start (main.c) */

    catalog_put_raw(r->s->app->catalog, name, type, version, usable_by, allowed_groups,
                    upgraded ? upgraded : text);
    free(upgraded);
    json_object_set_new(r->present, name, json_true());
}

/* Reloads every connection and retires the ones the store no longer has. */
static bool reload(struct sync *s)
{
    struct sb_err err;
    json_t *present = xcheck(json_object());
    struct reload r = {s, present};
    struct catalog_snapshot *snap;
    bool ok = false;

    if (store_conn_scan(s->app->store, load_one, &r, &err) != SB_OK) {
        log_warn("sync: cannot reload the connections: %s", err.msg);
        goto out;
    }
    snap = catalog_snapshot(s->app->catalog);
    for (size_t i = 0; i < snap->n; i++)
        if (!json_object_get(present, snap->items[i]->name))
            catalog_delete(s->app->catalog, snap->items[i]->name, snap->items[i]->version + 1);
    catalog_snapshot_release(snap);
    ok = true;
out:
    json_decref(present);
    return ok;
}

static void on_reset(void *ctx)
{
    struct sync *s = ctx;
    for (size_t i = 0; i < s->nown; i++) /* everything is read again */
        free(s->own[i].name);
    s->nown = 0;
    atomic_store(&s->ready, reload(s));
    if (atomic_load(&s->ready))
        log_info("sync: reloaded every connection after the change feed came back");
}

static void *sync_main(void *arg)
{
    struct sync *s = arg;
    struct sb_err err;

    while (!atomic_load(&s->stopping)) {
        int64_t next = own_settle(s, false);
        int timeout = next < 0 || next / 1000 >= 250 ? 250 : (int)(next / 1000) + 1;
        enum sb_err_kind rc =
            store_poll_changes(s->app->store, on_conn, on_auth, on_reset, s, timeout, &err);
        if (rc == SB_ERR_UNAVAILABLE && atomic_exchange(&s->ready, false))
            log_warn("sync: the store's change feed is down; reads wait for it (%s)", err.msg);
        else if (rc == SB_OK && !atomic_load(&s->ready))
            on_reset(s); /* a read failed earlier: reload now that the store answers */
    }
    return NULL;
}

struct sync *sync_start(struct app *app)
{
    struct sync *s;

    if (!store_is_shared(app->store))
        return NULL;
    s = xcalloc(1, sizeof(*s));
    s->app = app;
    atomic_init(&s->ready, true); /* the catalog was loaded at start */
    if (pthread_create(&s->thread, NULL, sync_main, s) != 0)
        abort();
    return s;
}

void sync_stop(struct sync *s)
{
    if (!s)
        return;
    atomic_store(&s->stopping, true);
    pthread_join(s->thread, NULL);
    for (size_t i = 0; i < s->nown; i++)
        free(s->own[i].name);
    free(s->own);
    free(s);
}

bool sync_catalog_ready(const struct sync *s)
{
    return !s || atomic_load(&s->ready);
}
