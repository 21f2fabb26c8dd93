/* SPDX-License-Identifier: Apache-2.0 */
/* Live tests as background work: the worker pool, the status table and its history, and the
 * background prober (the handlers that answer /test and the status routes are in
 * api/probes.c). The status table keeps the last result per connection, from on-demand and
 * background tests alike. */
#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/catalog.h"
#include "core/conn.h"
#include "core/types.h"
#include "probe/probe.h"
#include "prober/probes.h"
#include "prober/status.h"
#include "service/params.h"
#include "store/store.h"
#include "util/clock.h"
#include "util/limits.h"
#include "util/log.h"
#include "util/mem.h"

#define N_TYPES_MAX 64

struct probes {
    struct app *app;
    struct probe_settings settings;
    struct probe_pool *pool;
    pthread_mutex_t lock;   /* guards status */
    struct pstatus *status; /* last result, history ring and schedule of each tested one */
    bool dirty;             /* status changed since it was last saved */
    bool shared;            /* the store is shared: one node at a time runs the prober */
    bool holding;           /* this node holds the prober lease (shared store) */
    char node_id[33];       /* random, names this node in the lease */
    long long saved_at;     /* clock_mono_us of the last save */
    atomic_ullong outcomes[N_TYPES_MAX][2]; /* by type index: [0] failed, [1] ok */
    pthread_t prober;
    bool prober_running;
    pthread_mutex_t prober_lock;
    pthread_cond_t prober_wake;
    bool stopping;
};

static void record(struct probes *p, const struct probe_job *job)
{
    long long now = clock_epoch_ms();
    int t = (int)(job->target.type - types_at(0)); /* its index in the registry */

    pthread_mutex_lock(&p->lock);
    pstatus_record(p->status, job->conn_name, job->result.ok, job->result.message,
                   (long long)job->result.duration_ms, now, probe_category(&job->result));
    p->dirty = true;
    pthread_mutex_unlock(&p->lock);
    if (t >= 0 && t < N_TYPES_MAX)
        atomic_fetch_add(&p->outcomes[t][job->result.ok ? 1 : 0], 1);
}

/* Records a test that could not run because DEF lacks required params (MESSAGE says which). */
static void record_missing(struct probes *p, const json_t *def, const char *message)
{
    struct probe_job job = {0};

    job.target.type = types_find(json_string_value(json_object_get(def, "type")));
    snprintf(job.conn_name, sizeof(job.conn_name), "%s",
             json_string_value(json_object_get(def, "name")));
    probe_fail(&job.result, "%s", message);
    record(p, &job);
}

static void job_free(struct probe_job *job)
{
    json_decref(job->params);
    free(job);
}

/* The message of a test that cannot run because DEF lacks required params of its type (stored
 * that way without write guards, docs/API.md §4.7), into OUT; false when none is missing. */
static bool missing_params_message(const json_t *def, char *out, size_t size)
{
    const struct conn_type *type = types_find(json_string_value(json_object_get(def, "type")));
    json_t *missing, *v;
    size_t i, len;

    if (!type)
        return false;
    missing = types_missing(type, json_object_get(def, "params"));
    if (json_array_size(missing) == 0) {
        json_decref(missing);
        return false;
    }
    len = (size_t)snprintf(out, size, "Connection '%s' is missing required parameter%s:",
                           json_string_value(json_object_get(def, "name")),
                           json_array_size(missing) > 1 ? "s" : "");
    json_array_foreach (missing, i, v)
        if (len < size)
            len += (size_t)snprintf(out + len, size - len, "%s params.%s", i ? "," : "",
                                    json_string_value(v));
    if (len < size)
        snprintf(out + len, size - len, " (required for a %s connection); set %s and test again.",
                 type->name, json_array_size(missing) > 1 ? "them" : "it");
    json_decref(missing);
    return true;
}

/* Builds a job for DEF; NULL with ERR set when the type has no tester or params fail to
 * resolve. */
static struct probe_job *job_new(struct probes *p, const json_t *def, struct sb_err *err)
{
    const char *type_name = json_string_value(json_object_get(def, "type"));
    const struct conn_type *type = type_name ? types_find(type_name) : NULL;
    struct probe_job *job;

    if (!type || type->tester == TESTER_NONE) {
        sb_err_set(err, SB_ERR_BAD_REQUEST, "Connections of type %s have no live test.",
                   type ? type->name : "(unknown)");
        return NULL;
    }
    job = xcalloc(1, sizeof(*job));
    if (svc_resolve_params(p->app, def, NULL, &job->params, err) != SB_OK) {
        free(job);
        return NULL;
    }
    snprintf(job->conn_name, sizeof(job->conn_name), "%s",
             json_string_value(json_object_get(def, "name")));
    job->target.type = type;
    job->target.params = job->params;
    job->target.allow_write = !json_is_false(json_object_get(def, "allowWrite"));
    job->ctx = p;
    return job;
}

/* ---- what the handlers of api/probes.c use ---- */

bool probes_missing_params(const json_t *def, char *out, size_t size)
{
    return missing_params_message(def, out, size);
}

void probes_record_missing(struct probes *p, const json_t *def, const char *message)
{
    record_missing(p, def, message);
}

struct probe_job *probes_job_new(struct probes *p, const json_t *def, struct sb_err *err)
{
    return job_new(p, def, err);
}

void probes_job_free(struct probe_job *job)
{
    job_free(job);
}

void probes_record(struct probes *p, const struct probe_job *job)
{
    record(p, job);
}

bool probes_submit(struct probes *p, struct probe_job *job)
{
    return probe_pool_submit(p->pool, job);
}

json_t *probes_status_all(struct probes *p)
{
    json_t *all;

    pthread_mutex_lock(&p->lock);
    all = pstatus_all(p->status, clock_epoch_ms());
    pthread_mutex_unlock(&p->lock);
    return all;
}

json_t *probes_history_of(struct probes *p, const char *name)
{
    json_t *out;

    pthread_mutex_lock(&p->lock);
    out = pstatus_history(p->status, name);
    pthread_mutex_unlock(&p->lock);
    return out;
}

/* Saves the status table and the history rings to the store (meta probe_status) when they
 * changed and FORCE or a minute went by, so that a restart keeps them. */
static void save_status(struct probes *p, bool force)
{
    struct sb_err err;
    char *text = NULL;

    pthread_mutex_lock(&p->lock);
    if (p->dirty && (force || clock_mono_us() - p->saved_at > 60 * 1000000LL)) {
        text = pstatus_save(p->status);
        p->dirty = false;
        p->saved_at = clock_mono_us();
    }
    pthread_mutex_unlock(&p->lock);
    if (text && store_meta_set(p->app->store, "probe_status", text, &err) != SB_OK)
        log_warn("live tests: cannot save the status table: %s", err.msg);
    free(text);
}

/* Takes, from the status saved in the store, every connection's entry (and history) that is
 * newer than this node's: how a node that does not run the prober serves the same status. */
static void load_status(struct probes *p)
{
    struct sb_err err;
    char *text = NULL;
    bool old_form;

    if (store_meta_get(p->app->store, "probe_status", &text, &err) != SB_OK || !text)
        return;
    pthread_mutex_lock(&p->lock);
    if (!pstatus_load(p->status, text, &old_form))
        log_warn("live tests: the saved status table cannot be read; it starts empty");
    else if (old_form)
        p->dirty = true; /* saved again in the compact form */
    pthread_mutex_unlock(&p->lock);
    free(text);
}

/* With a shared store, whether this node runs the background prober now: it holds a lease in
 * the store (meta prober_lease, "<node> <until ms>"), taken when free or expired and renewed
 * every round; a node that stops gives it back, one that dies loses it when it expires. Two
 * nodes taking an expired lease at once both read it back: the last writer keeps it, the other
 * steps down at its next round. */
static bool prober_lease(struct probes *p)
{
    long long now = clock_epoch_ms(), lease_s = 3 * p->app->cfg->probe_interval, until = 0;
    char holder[40] = "", text[80], *v = NULL;
    struct sb_err err;
    bool ok;

    if (!p->shared)
        return true;
    if (lease_s < 5)
        lease_s = 5;
    if (store_meta_get(p->app->store, "prober_lease", &v, &err) != SB_OK)
        return false;
    if (v && sscanf(v, "%39s %lld", holder, &until) != 2)
        until = 0;
    free(v);
    v = NULL;
    if (strcmp(holder, p->node_id) != 0 && until > now) {
        ok = false;
    } else {
        snprintf(text, sizeof(text), "%s %lld", p->node_id, now + lease_s * 1000);
        ok = store_meta_set(p->app->store, "prober_lease", text, &err) == SB_OK &&
             store_meta_get(p->app->store, "prober_lease", &v, &err) == SB_OK && v &&
             strncmp(v, p->node_id, strlen(p->node_id)) == 0;
        free(v);
    }
    if (ok != p->holding)
        log_info("background prober: %s", ok ? "this node runs the background tests (lease taken)"
                                             : "another node runs the background tests");
    p->holding = ok;
    return ok;
}

json_t *probes_status_of(struct probes *p, const char *name)
{
    json_t *copy;

    pthread_mutex_lock(&p->lock);
    copy = pstatus_entry(p->status, name);
    pthread_mutex_unlock(&p->lock);
    return copy;
}

void probes_forget(struct probes *p, const char *name)
{
    pthread_mutex_lock(&p->lock);
    pstatus_forget(p->status, name);
    p->dirty = true;
    pthread_mutex_unlock(&p->lock);
}

struct up_count {
    struct probes *p;
    FILE *f;
    bool names;
    unsigned long long *up, *down;
};

/* Counts connection NAME as up or down (OK) by its type, writing its own line when asked. */
static void count_up(void *ctx, const char *name, bool ok)
{
    struct up_count *c = ctx;
    struct catalog_entry *e = catalog_get(c->p->app->catalog, name);
    const struct conn_type *t = e ? types_find(e->type) : NULL;
    int i = t ? (int)(t - types_at(0)) : -1;

    if (i >= 0 && i < N_TYPES_MAX) {
        ok ? c->up[i]++ : c->down[i]++;
        if (c->names)
            fprintf(c->f, "switchboard_connection_up{name=\"%s\",type=\"%s\"} %d\n", name, t->name,
                    ok ? 1 : 0);
    }
    if (e)
        catalog_entry_release(e);
}

char *probes_metrics(struct probes *p)
{
    unsigned long long up[N_TYPES_MAX] = {0}, down[N_TYPES_MAX] = {0};
    bool names = p->app->cfg->metrics_connection_names;
    char *text = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&text, &size);

    if (!f)
        abort();
    fputs("# HELP switchboard_probes_total Live connection tests, by type and outcome.\n"
          "# TYPE switchboard_probes_total counter\n",
          f);
    for (int t = 0; t < types_count() && t < N_TYPES_MAX; t++)
        for (int ok = 0; ok < 2; ok++) {
            unsigned long long n = atomic_load(&p->outcomes[t][ok]);
            if (n)
                fprintf(f, "switchboard_probes_total{type=\"%s\",outcome=\"%s\"} %llu\n",
                        types_at(t)->name, ok ? "ok" : "failed", n);
        }
    fprintf(f,
            "# HELP switchboard_probe_queue_depth Live tests waiting or running.\n"
            "# TYPE switchboard_probe_queue_depth gauge\n"
            "switchboard_probe_queue_depth %d\n",
            probe_pool_pending(p->pool));
    /* up and down by the last test of each connection; names only when the operator says so
     * (setting metrics-connection-names): they can be sensitive */
    if (names)
        fputs("# HELP switchboard_connection_up Whether the last live test of a connection "
              "succeeded.\n# TYPE switchboard_connection_up gauge\n",
              f);
    struct up_count count = {p, f, names, up, down};
    pthread_mutex_lock(&p->lock);
    pstatus_foreach(p->status, count_up, &count);
    pthread_mutex_unlock(&p->lock);
    fputs("# HELP switchboard_connections_up Connections whose last live test succeeded, by "
          "type.\n# TYPE switchboard_connections_up gauge\n",
          f);
    for (int t = 0; t < types_count() && t < N_TYPES_MAX; t++)
        if (types_at(t)->tester != TESTER_NONE)
            fprintf(f, "switchboard_connections_up{type=\"%s\"} %llu\n", types_at(t)->name, up[t]);
    fputs("# HELP switchboard_connections_down Connections whose last live test failed, by "
          "type.\n# TYPE switchboard_connections_down gauge\n",
          f);
    for (int t = 0; t < types_count() && t < N_TYPES_MAX; t++)
        if (types_at(t)->tester != TESTER_NONE)
            fprintf(f, "switchboard_connections_down{type=\"%s\"} %llu\n", types_at(t)->name,
                    down[t]);
    fclose(f);
    return text;
}

/* ---- the background prober ----
 *
 * A round walks the in-memory catalog (never a load of the store): the testable connections
 * that are due are grouped by what a test reaches (type, host, port, user, url, root), so that
 * a target many connections share is tested once per round and its result recorded for each
 * of them, saying so. The round's tests are then queued one by one, spread over the interval
 * and never faster than --probe-budget per second, on the pool's background queue, behind any
 * on-demand test. A connection whose test fails is next due after the interval doubled for
 * every failure in a row, up to --probe-backoff-max; a success brings it back to the
 * interval. */

/* When NAME is next due, after a test that OK'd or not; lock held by the caller. */
static void sched_update(struct probes *p, const char *name, bool ok)
{
    long long failures = 0, due, delay = p->app->cfg->probe_interval;
    long long ceiling = p->app->cfg->probe_backoff_max;

    if (!ok) /* one more in a row */
        failures = pstatus_sched_get(p->status, name, &failures, &due) ? failures + 1 : 1;
    for (long long i = 0; i < failures && delay < ceiling; i++)
        delay *= 2;
    if (!ok && delay > ceiling)
        delay = ceiling;
    /* due a little early: the next round starts about one interval after this one did */
    pstatus_sched_set(p->status, name, failures, clock_epoch_ms() + delay * 1000 - 500);
}

static bool sched_due(struct probes *p, const char *name, long long now_ms)
{
    long long failures, due_ms;
    bool due;

    pthread_mutex_lock(&p->lock);
    due = !pstatus_sched_get(p->status, name, &failures, &due_ms) || due_ms <= now_ms;
    pthread_mutex_unlock(&p->lock);
    return due;
}

static void background_done(struct probe_job *job)
{
    struct probes *p = job->ctx;
    size_t i;
    json_t *name;

    record(p, job);
    pthread_mutex_lock(&p->lock);
    sched_update(p, job->conn_name, job->result.ok);
    pthread_mutex_unlock(&p->lock);
    json_array_foreach (job->also, i, name) {
        struct probe_job shared = *job;
        snprintf(shared.conn_name, sizeof(shared.conn_name), "%s", json_string_value(name));
        snprintf(shared.result.message, sizeof(shared.result.message),
                 "%.300s (shared with '%.64s': same type, host, port and user, tested once "
                 "this round)",
                 job->result.message, job->conn_name);
        record(p, &shared);
        pthread_mutex_lock(&p->lock);
        sched_update(p, shared.conn_name, job->result.ok);
        pthread_mutex_unlock(&p->lock);
    }
    json_decref(job->also);
    job_free(job);
}

/* What a test of PARAMS (type T) reaches: connections with the same key share one test. */
static char *target_key(const struct conn_type *t, const json_t *params)
{
    static const char *const parts[] = {"host", "port", "user", "url", "root", "db"};
    char *key = xstrdup(t->name);

    for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
        const char *v = json_string_value(json_object_get(params, parts[i]));
        char *next;
        if (asprintf(&next, "%s\x1f%s", key, v ? v : "") < 0)
            abort();
        free(key);
        key = next;
    }
    return key;
}

/* The definition of NAME from the catalog (new reference), or NULL. */
static json_t *catalog_def(struct probes *p, const char *name)
{
    struct catalog_entry *e = catalog_get(p->app->catalog, name);
    json_t *def = NULL;

    if (e) {
        char *text = catalog_entry_json_copy(e);
        def = json_loads(text, 0, NULL);
        free(text);
        catalog_entry_release(e);
    }
    return def;
}

/* Waits up to MS milliseconds; false when the prober is stopping. */
static bool prober_sleep(struct probes *p, long long ms)
{
    struct timespec until;
    bool stopping;

    pthread_mutex_lock(&p->prober_lock);
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += ms / 1000;
    until.tv_nsec += (ms % 1000) * 1000000;
    if (until.tv_nsec >= 1000000000) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000;
    }
    while (!p->stopping && pthread_cond_timedwait(&p->prober_wake, &p->prober_lock, &until) == 0)
        ;
    stopping = p->stopping;
    pthread_mutex_unlock(&p->prober_lock);
    return !stopping;
}

/* Groups the due, testable connections of the catalog by target: key -> [representative,
 * others...]. New reference. */
static json_t *round_groups(struct probes *p)
{
    struct catalog_snapshot *snap = catalog_snapshot(p->app->catalog);
    json_t *groups = xcheck(json_object());
    long long now = clock_epoch_ms();
    struct sb_err err;

    for (size_t i = 0; i < snap->n; i++) {
        const struct catalog_entry *e = snap->items[i];
        const struct conn_type *t = types_find(e->type);
        json_t *def, *params = NULL, *group;
        char missing[512], *key;

        if (e->deleted || !t || t->tester == TESTER_NONE || !sched_due(p, e->name, now))
            continue;
        char *text = catalog_entry_json_copy(e);
        def = json_loads(text, 0, NULL);
        free(text);
        if (!def)
            continue;
        if (missing_params_message(def, missing, sizeof(missing))) {
            record_missing(p, def, missing);
            pthread_mutex_lock(&p->lock);
            sched_update(p, e->name, false);
            pthread_mutex_unlock(&p->lock);
        } else if (svc_resolve_params(p->app, def, NULL, &params, &err) == SB_OK) {
            key = target_key(t, params);
            group = json_object_get(groups, key);
            if (!group)
                json_object_set_new(groups, key, group = xcheck(json_array()));
            json_array_append_new(group, xcheck(json_string(e->name)));
            free(key);
            json_decref(params);
        }
        json_decref(def);
    }
    catalog_snapshot_release(snap);
    return groups;
}

/* One round: every due target tested once, spread over the interval. */
static void probe_round(struct probes *p)
{
    long long interval_ms = p->app->cfg->probe_interval * 1000;
    long long budget_ms = 1000 / (p->app->cfg->probe_budget > 0 ? p->app->cfg->probe_budget : 1);
    long long start = clock_mono_us() / 1000, spacing;
    json_t *groups, *names;
    const char *key;
    size_t n = 0;
    struct sb_err err;

    if (probe_pool_background_pending(p->pool) > 0)
        return; /* the previous round's tests are still queued or running */
    groups = round_groups(p);
    spacing =
        json_object_size(groups) ? interval_ms * 8 / 10 / (long long)json_object_size(groups) : 0;
    if (spacing < budget_ms)
        spacing = budget_ms;
    json_object_foreach (groups, key, names) {
        const char *rep = json_string_value(json_array_get(names, 0));
        json_t *def = catalog_def(p, rep);
        struct probe_job *job = def ? job_new(p, def, &err) : NULL;

        json_decref(def);
        if (job) {
            job->done = background_done;
            job->background = true;
            job->also = json_array_size(names) > 1 ? xcheck(json_array()) : NULL;
            for (size_t i = 1; i < json_array_size(names); i++)
                json_array_append(job->also, json_array_get(names, i));
            if (!probe_pool_submit(p->pool, job)) {
                json_decref(job->also);
                job_free(job);
            }
        }
        n++;
        /* the next one at its place in the round, never sooner than the budget allows */
        long long wait = start + (long long)n * spacing - clock_mono_us() / 1000;
        if (wait > 0 && !prober_sleep(p, wait))
            break;
    }
    json_decref(groups);
}

static void *prober_main(void *arg)
{
    struct probes *p = arg;

    for (;;) {
        long long start = clock_mono_us();
        if (prober_lease(p)) {
            probe_round(p);
            save_status(p, p->shared); /* the other nodes read it every round */
        } else {
            load_status(p);
        }
        long long left = p->app->cfg->probe_interval * 1000 - (clock_mono_us() - start) / 1000;
        if (!prober_sleep(p, left > 0 ? left : 0))
            break;
    }
    return NULL;
}

struct probes *probes_start(struct app *app, struct sb_err *err)
{
    struct probes *p = xcalloc(1, sizeof(*p));

    p->app = app;
    p->settings.timeout_s = app->cfg->probe_timeout;
    if (strcmp(app->cfg->probe_tls, "prefer") != 0 && strcmp(app->cfg->probe_tls, "require") != 0) {
        sb_err_set(err, SB_ERR_BAD_REQUEST,
                   "Setting probe-tls must be prefer or require, not '%.32s'.",
                   app->cfg->probe_tls);
        free(p);
        return NULL;
    }
    p->settings.tls_required = strcmp(app->cfg->probe_tls, "require") == 0;
    if (strlen(app->cfg->probe_known_hosts) >= sizeof(p->settings.known_hosts)) {
        sb_err_set(err, SB_ERR_BAD_REQUEST,
                   "Setting probe-known-hosts is a path of more than %zu "
                   "characters.",
                   sizeof(p->settings.known_hosts) - 1);
        free(p);
        return NULL;
    }
    strcpy(p->settings.known_hosts, app->cfg->probe_known_hosts);
    if (fence_parse_list(app->cfg->probe_deny, "probe-deny", p->settings.fence.deny,
                         &p->settings.fence.n_deny, err) != SB_OK ||
        fence_parse_list(app->cfg->probe_allow, "probe-allow", p->settings.fence.allow,
                         &p->settings.fence.n_allow, err) != SB_OK) {
        free(p);
        return NULL;
    }
    pthread_mutex_init(&p->lock, NULL);
    pthread_mutex_init(&p->prober_lock, NULL);
    pthread_cond_init(&p->prober_wake, NULL);
    p->status = pstatus_new();
    p->shared = store_is_shared(app->store);
    {
        unsigned char id[16];
        randombytes_buf(id, sizeof(id));
        sodium_bin2hex(p->node_id, sizeof(p->node_id), id, sizeof(id));
    }
    load_status(p);
    p->pool = probe_pool_start(&p->settings, (int)app->cfg->probe_concurrency);
    if (app->cfg->probe_interval > 0) {
        if (pthread_create(&p->prober, NULL, prober_main, p) != 0)
            abort();
        p->prober_running = true;
    }
    return p;
}

void probes_stop(struct probes *p, long long deadline_us)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->prober_lock);
    bool again = p->stopping;
    p->stopping = true;
    pthread_cond_broadcast(&p->prober_wake);
    pthread_mutex_unlock(&p->prober_lock);
    if (again)
        return;
    if (p->prober_running)
        pthread_join(p->prober, NULL);
    probe_pool_stop(p->pool, deadline_us);
    /* with a shared store, the node running the prober writes the table; without a prober
     * anywhere each node writes what it tested */
    if (!p->shared || p->holding || !p->prober_running)
        save_status(p, true);
    if (p->holding) { /* hand the prober over at once */
        struct sb_err err;
        store_meta_set(p->app->store, "prober_lease", "- 0", &err);
    }
}

void probes_free(struct probes *p)
{
    if (!p)
        return;
    probes_stop(p, 0);
    probe_pool_free(p->pool);
    pstatus_free(p->status);
    pthread_mutex_destroy(&p->lock);
    pthread_mutex_destroy(&p->prober_lock);
    pthread_cond_destroy(&p->prober_wake);
    free(p);
}
