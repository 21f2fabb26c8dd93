/* SPDX-License-Identifier: Apache-2.0 */
/* The live-test routes: GET /connections/{name}/test, GET /admin/connection-status and a
 * connection's test history. A /test request is checked (exists, usable, testable), then
 * suspended while its job waits for a worker of the pool (prober/probes.c); the worker's
 * completion records the result and resumes the request, which answers on a request thread. */
#include <stdlib.h>

#include "api/api.h"
#include "api/common.h"
#include "core/catalog.h"
#include "core/conn.h"
#include "http/request.h"
#include "probe/probe.h"
#include "prober/probes.h"
#include "service/audit.h"
#include "store/store.h"
#include "util/mem.h"

static void job_free_any(void *job)
{
    probes_job_free(job);
}

/* ---- GET /connections/{name}/test ---- */

static void test_done(struct probe_job *job)
{
    struct request *req = job->ctx;
    probes_record(req->app->probes, job);
    req_resume(req);
}

static void test_answer(struct request *req)
{
    struct probe_job *job = req->async;
    char brief[128];

    audit_record(req_actor(req), "connection.test", job->conn_name,
                 job->result.ok ? "success" : "failed");
    /* a caller who may use the connection but not read its details learns the outcome and
     * its category, never the host, port, database, path or server version */
    if (job->brief)
        probe_brief_message(&job->result, brief, sizeof(brief));
    reply_json(req, 200,
               xcheck(json_pack("{s:b, s:s, s:I}", "connectionOK", job->result.ok, "message",
                                job->brief ? brief : job->result.message, "durationMs",
                                (json_int_t)job->result.duration_ms)));
    req->async = NULL;
    probes_job_free(job);
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
        audit_record(req_actor(req), "connection.test", name, "denied");
        reply_errorf(req, SB_ERR_FORBIDDEN, "Connection '%s' is not usable by '%s'.", name,
                     req->principal.login);
        return;
    }
    if (probes_missing_params(def, missing, sizeof(missing))) {
        probes_record_missing(p, def, missing);
        json_decref(def);
        audit_record(req_actor(req), "connection.test", name, "failed");
        reply_json(req, 200,
                   xcheck(json_pack("{s:b, s:s, s:I}", "connectionOK", 0, "message", missing,
                                    "durationMs", (json_int_t)0)));
        return;
    }
    job = probes_job_new(p, def, &err);
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
    if (!probes_submit(p, job)) {
        probe_fail(&job->result, "The server is shutting down; the test did not run.");
        req_resume(req);
    }
}

void api_connections_status(struct request *req)
{
    reply_json(req, 200, probes_status_all(req->app->probes));
}

void api_connections_status_history(struct request *req)
{
    const char *name = req_param(req, 0);
    struct catalog_entry *e;
    json_t *out;

    if (!api_conn_name_or_reply(req))
        return;
    e = catalog_get(req->app->catalog, name);
    out = probes_history_of(req->app->probes, name);
    if (e)
        catalog_entry_release(e);
    if (!e && !out) {
        reply_errorf(req, SB_ERR_NOT_FOUND, "Connection '%s' does not exist.", name);
        return;
    }
    reply_json(
        req, 200,
        xcheck(json_pack("{s:s, s:o}", "name", name, "results", out ? out : xcheck(json_array()))));
}
