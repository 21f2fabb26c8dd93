/* SPDX-License-Identifier: Apache-2.0 */
/* The live-test routes: GET /connections/{name}/test, GET /admin/connection-status and a
 * connection's test history. A /test request is checked by the service (exists, usable,
 * testable: src/service/livetest.c), then suspended while its job waits for a worker of the
 * pool (prober/probes.c); the worker's completion records the result and resumes the request,
 * which answers on a request thread. */
#include <stdlib.h>

#include "api/api.h"
#include "api/common.h"
#include "core/catalog.h"
#include "http/request.h"
#include "probe/probe.h"
#include "prober/probes.h"
#include "service/service.h"
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

    reply_json(req, 200, svc_conn_test_result(req_actor(req), job));
    req->async = NULL;
    probes_job_free(job);
}

void api_connections_test(struct request *req)
{
    const char *name = req_param(req, 0);
    struct sb_err err;
    struct probe_job *job;
    json_t *out;

    if (!api_conn_name_or_reply(req))
        return;
    if (svc_conn_test_start(req_actor(req), name, &job, &out, &err) != SB_OK) {
        reply_error(req, &err);
        return;
    }
    if (!job) {
        reply_json(req, 200, out);
        return;
    }
    job->ctx = req;
    job->done = test_done;
    req->async = job;
    req->async_free = job_free_any;
    req_suspend(req, test_answer);
    if (!probes_submit(req->app->probes, job)) {
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

    if (!api_conn_name_or_reply(req) || !api_catalog_ready_or_reply(req))
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
