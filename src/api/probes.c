/* SPDX-License-Identifier: Apache-2.0 */
/* Live tests: the /test handler, the status table and the background prober.
 *
 * A /test request is checked (exists, usable, testable), its params are resolved, and then the
 * request is suspended while the job waits for a pool worker; the worker's completion stores
 * the result and resumes the request, which answers on a request thread. The status table keeps
 * the last result per connection, from on-demand and background tests alike. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/api.h"
#include "api/audit.h"
#include "api/common.h"
#include "api/probes.h"
#include "core/conn.h"
#include "core/types.h"
#include "http/request.h"
#include "probe/probe.h"
#include "store/store.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/mem.h"

#define N_TYPES_MAX 64

struct probes {
    struct app *app;
    struct probe_settings settings;
    struct probe_pool *pool;
    pthread_mutex_t lock; /* guards status */
    json_t *status;       /* name -> {connectionOK, message, durationMs, testedOn} */
    atomic_ullong outcomes[N_TYPES_MAX][2]; /* by type index: [0] failed, [1] ok */
    pthread_t prober;
    bool prober_running;
    pthread_mutex_t prober_lock;
    pthread_cond_t prober_wake;
    bool stopping;
};

static void record(struct probes *p, const struct probe_job *job)
{
    json_t *entry =
        xcheck(json_pack("{s:b, s:s, s:I, s:I}", "connectionOK", job->result.ok, "message",
                         job->result.message, "durationMs", (json_int_t)job->result.duration_ms,
                         "testedOn", (json_int_t)clock_epoch_ms()));
    int t = (int)(job->target.type - types_at(0)); /* its index in the registry */

    pthread_mutex_lock(&p->lock);
    json_object_set_new(p->status, job->conn_name, entry);
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

static void job_free_any(void *job)
{
    job_free(job);
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
    if (api_resolve_params(p->app, def, NULL, &job->params, err) != SB_OK) {
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

/* ---- GET /connections/{name}/test ---- */

static void test_done(struct probe_job *job)
{
    struct request *req = job->ctx;
    record(req->app->probes, job);
    req_resume(req);
}

static void test_answer(struct request *req)
{
    struct probe_job *job = req->async;
    char brief[128];

    audit_record(req, "connection.test", job->conn_name, job->result.ok ? "success" : "failed");
    /* a caller who may use the connection but not read its details learns the outcome and
     * its category, never the host, port, database, path or server version */
    if (job->brief)
        probe_brief_message(&job->result, brief, sizeof(brief));
    reply_json(req, 200,
               xcheck(json_pack("{s:b, s:s, s:I}", "connectionOK", job->result.ok, "message",
                                job->brief ? brief : job->result.message, "durationMs",
                                (json_int_t)job->result.duration_ms)));
    req->async = NULL;
    job_free(job);
}

void api_connections_test(struct request *req)
{
    const char *name = req_param(req, 0);
    struct probes *p = req->app->probes;
    struct sb_err err;
    struct probe_job *job;
    json_t *def;
    char missing[512];

    if (!api_conn_name_or_reply(req))
        return;
    if (store_conn_get(req->app->store, name, &def, &err) != SB_OK) {
        reply_error(req, &err);
        return;
    }
    if (!conn_usable_by(def, &req->principal)) {
        json_decref(def);
        audit_record(req, "connection.test", name, "denied");
        reply_errorf(req, SB_ERR_FORBIDDEN, "Connection '%s' is not usable by '%s'.", name,
                     req->principal.login);
        return;
    }
    if (missing_params_message(def, missing, sizeof(missing))) {
        record_missing(p, def, missing);
        json_decref(def);
        audit_record(req, "connection.test", name, "failed");
        reply_json(req, 200,
                   xcheck(json_pack("{s:b, s:s, s:I}", "connectionOK", 0, "message", missing,
                                    "durationMs", (json_int_t)0)));
        return;
    }
    job = job_new(p, def, &err);
    if (job)
        job->brief = !conn_details_readable(def, &req->principal);
    json_decref(def);
    if (!job) {
        reply_error(req, &err);
        return;
    }
    job->ctx = req;
    job->done = test_done;
    req->async = job;
    req->async_free = job_free_any;
    req_suspend(req, test_answer);
    if (!probe_pool_submit(p->pool, job)) {
        probe_fail(&job->result, "The server is shutting down; the test did not run.");
        req_resume(req);
    }
}

void api_connections_status(struct request *req)
{
    struct probes *p = req->app->probes;
    json_t *copy;

    pthread_mutex_lock(&p->lock);
    copy = xcheck(json_deep_copy(p->status));
    pthread_mutex_unlock(&p->lock);
    reply_json(req, 200, copy);
}

json_t *probes_status_of(struct probes *p, const char *name)
{
    json_t *copy;

    pthread_mutex_lock(&p->lock);
    copy = json_deep_copy(json_object_get(p->status, name));
    pthread_mutex_unlock(&p->lock);
    return copy;
}

void probes_forget(struct probes *p, const char *name)
{
    pthread_mutex_lock(&p->lock);
    json_object_del(p->status, name);
    pthread_mutex_unlock(&p->lock);
}

char *probes_metrics(struct probes *p)
{
    char *text = xmalloc(64 * 1024);
    size_t len = 0, cap = 64 * 1024;

    len += (size_t)snprintf(text + len, cap - len,
                            "# HELP switchboard_probes_total Live connection tests, by type and "
                            "outcome.\n# TYPE switchboard_probes_total counter\n");
    for (int t = 0; t < types_count() && t < N_TYPES_MAX; t++)
        for (int ok = 0; ok < 2; ok++) {
            unsigned long long n = atomic_load(&p->outcomes[t][ok]);
            if (n && len < cap - 256)
                len += (size_t)snprintf(text + len, cap - len,
                                        "switchboard_probes_total{type=\"%s\",outcome=\"%s\"} "
                                        "%llu\n",
                                        types_at(t)->name, ok ? "ok" : "failed", n);
        }
    len += (size_t)snprintf(text + len, cap - len,
                            "# HELP switchboard_probe_queue_depth Live tests waiting or running.\n"
                            "# TYPE switchboard_probe_queue_depth gauge\n"
                            "switchboard_probe_queue_depth %d\n",
                            probe_pool_pending(p->pool));
    return text;
}

/* ---- the background prober ---- */

static void background_done(struct probe_job *job)
{
    record(job->ctx, job);
    job_free(job);
}

/* Queues a test of every testable connection, unless the previous round is still running. */
static void probe_round(struct probes *p)
{
    struct sb_err err;
    json_t *all, *def;
    const char *name;

    if (probe_pool_pending(p->pool) > 0)
        return;
    if (store_conn_list(p->app->store, &all, &err) != SB_OK) {
        log_warn("background prober: cannot list connections: %s", err.msg);
        return;
    }
    json_object_foreach (all, name, def) {
        const struct conn_type *t = types_find(json_string_value(json_object_get(def, "type")));
        struct probe_job *job;
        char missing[512];
        if (!t || t->tester == TESTER_NONE)
            continue;
        if (missing_params_message(def, missing, sizeof(missing))) {
            record_missing(p, def, missing);
            continue;
        }
        job = job_new(p, def, &err);
        if (!job)
            continue;
        job->done = background_done;
        if (!probe_pool_submit(p->pool, job))
            job_free(job);
    }
    json_decref(all);
}

static void *prober_main(void *arg)
{
    struct probes *p = arg;
    struct timespec until;

    pthread_mutex_lock(&p->prober_lock);
    while (!p->stopping) {
        pthread_mutex_unlock(&p->prober_lock);
        probe_round(p);
        pthread_mutex_lock(&p->prober_lock);
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += p->app->cfg->probe_interval;
        while (!p->stopping &&
               pthread_cond_timedwait(&p->prober_wake, &p->prober_lock, &until) == 0)
            ;
    }
    pthread_mutex_unlock(&p->prober_lock);
    return NULL;
}

struct probes *probes_start(struct app *app, struct sb_err *err)
{
    struct probes *p = xcalloc(1, sizeof(*p));

    p->app = app;
    p->settings.timeout_s = app->cfg->probe_timeout;
    if (strcmp(app->cfg->probe_tls, "prefer") != 0 && strcmp(app->cfg->probe_tls, "require") != 0) {
        sb_err_set(err, SB_ERR_BAD_REQUEST, "Setting probe-tls must be prefer or require, not '%.32s'.",
                   app->cfg->probe_tls);
        free(p);
        return NULL;
    }
    p->settings.tls_required = strcmp(app->cfg->probe_tls, "require") == 0;
    if (strlen(app->cfg->probe_known_hosts) >= sizeof(p->settings.known_hosts)) {
        sb_err_set(err, SB_ERR_BAD_REQUEST, "Setting probe-known-hosts is a path of more than %zu "
                   "characters.", sizeof(p->settings.known_hosts) - 1);
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
    p->status = xcheck(json_object());
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
    p->stopping = true;
    pthread_cond_broadcast(&p->prober_wake);
    pthread_mutex_unlock(&p->prober_lock);
    if (p->prober_running)
        pthread_join(p->prober, NULL);
    probe_pool_stop(p->pool, deadline_us);
    json_decref(p->status);
    pthread_mutex_destroy(&p->lock);
    pthread_mutex_destroy(&p->prober_lock);
    pthread_cond_destroy(&p->prober_wake);
    free(p);
}
