/* SPDX-License-Identifier: Apache-2.0 */
/* Live tests of a connection (GET /connections/{name}/test): who may run one, the job that
 * runs it on the prober's pool, and its record in the audit trail (docs/API.md §8). */
#include "app.h"
#include "core/conn.h"
#include "probe/probe.h"
#include "prober/probes.h"
#include "service/audit.h"
#include "service/service.h"
#include "store/store.h"
#include "util/mem.h"

/* The answer of a test: OK, MESSAGE, DURATION_MS. New reference. */
static json_t *test_answer(bool ok, const char *message, int64_t duration_ms)
{
    return xcheck(json_pack("{s:b, s:s, s:I}", "connectionOK", ok, "message", message, "durationMs",
                            (json_int_t)duration_ms));
}

enum sb_err_kind svc_conn_test_start(struct actor *a, const char *name, struct probe_job **job,
                                     json_t **out, struct sb_err *err)
{
    struct probes *p = a->app->probes;
    json_t *def;
    char missing[512];

    *job = NULL;
    *out = NULL;
    if (store_conn_get(a->app->store, name, &def, err) != SB_OK)
        return err->kind;
    if (!a->principal || !conn_usable_by(def, a->principal)) {
        json_decref(def);
        audit_record(a, "connection.test", name, "denied");
        return sb_err_set(err, SB_ERR_FORBIDDEN, "Connection '%s' is not usable by '%s'.", name,
                          actor_login(a));
    }
    if (probes_missing_params(def, missing, sizeof(missing))) {
        probes_record_missing(p, def, missing);
        json_decref(def);
        audit_record(a, "connection.test", name, "failed");
        *out = test_answer(false, missing, 0);
        return SB_OK;
    }
    *job = probes_job_new(p, def, err);
    /* a caller who may use the connection but not read its details learns the outcome and
     * its category, never the host, port, database, path or server version */
    if (*job)
        (*job)->brief = !conn_details_readable(def, a->principal);
    json_decref(def);
    return *job ? SB_OK : err->kind;
}

json_t *svc_conn_test_result(struct actor *a, const struct probe_job *job)
{
    char brief[128];

    audit_record(a, "connection.test", job->conn_name, job->result.ok ? "success" : "failed");
    if (job->brief)
        probe_brief_message(&job->result, brief, sizeof(brief));
    return test_answer(job->result.ok, job->brief ? brief : job->result.message,
                       job->result.duration_ms);
}
