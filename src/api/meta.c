/* SPDX-License-Identifier: Apache-2.0 */
/* Meta endpoints: health, metrics, and who the caller is. */
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "core/catalog.h"
#include "http/metrics.h"
#include "http/request.h"
#include "prober/probes.h"
#include "service/audit.h"
#include "service/service.h"
#include "store/store.h"
#include "sync/sync.h"
#include "util/clock.h"
#include "util/mem.h"

void api_meta_healthz(struct request *req)
{
    reply_json(req, 200, xcheck(json_pack("{s:s}", "status", "ok")));
}

void api_meta_auth_info(struct request *req)
{
    const struct principal *p = &req->principal;
    struct sb_err err;
    json_t *out, *secrets;

    out = xcheck(json_pack("{s:s, s:s, s:O, s:b}", "authIdentifier", p->login, "principalType",
                           p->type == PRINCIPAL_USER ? "USER" : "GLOBAL_API_KEY", "groups",
                           p->groups, "admin", p->admin));
    if (req_query_bool(req, "withSecrets")) {
        if (svc_own_secrets(req_actor(req), &secrets, &err) != SB_OK) {
            json_decref(out);
            reply_error(req, &err);
            return;
        }
        json_object_set_new(out, "secrets", secrets);
    }
    reply_json(req, 200, out);
}

/* Reads (or, WRITE, writes) one meta value of the store, timed: whether the store answered. */
static bool store_answers(struct app *app, bool write, double *seconds, struct sb_err *err)
{
    long long start = clock_mono_us();
    char *value = NULL, stamp[32];
    enum sb_err_kind rc;

    if (write) {
        snprintf(stamp, sizeof(stamp), "%lld", (long long)clock_epoch_ms());
        rc = store_meta_set(app->store, STORE_META_READINESS, stamp, err);
    } else {
        rc = store_meta_get(app->store, STORE_META_BOOTSTRAP, &value, err);
    }
    free(value);
    *seconds = (double)(clock_mono_us() - start) / 1e6;
    return rc == SB_OK;
}

/* /readyz: 503 while the store cannot be written (unreachable, read-only, full), the change
 * feed of a shared store is down, or the connections are still being loaded after the start; a
 * load balancer sends traffic elsewhere meanwhile. */
void api_meta_readyz(struct request *req)
{
    bool feed = sync_catalog_ready(req->app->sync);
    bool loaded = catalog_loaded(req->app->catalog);
    struct sb_err err;
    double seconds;
    bool store = store_answers(req->app, true, &seconds, &err);
    json_t *checks =
        xcheck(json_pack("{s:s, s:s, s:s}", "store", store ? "ok" : "failed", "changeFeed",
                         !store_is_shared(req->app->store) ? "not shared"
                         : feed                            ? "ok"
                                                           : "down",
                         "catalog", loaded ? "ok" : "loading"));

    if (store && feed && loaded) {
        reply_json(req, 200, xcheck(json_pack("{s:s, s:o}", "status", "ready", "checks", checks)));
        return;
    }
    char reason[SB_ERR_MSG_MAX + 64];
    if (!store)
        snprintf(reason, sizeof(reason), "The store cannot be written: %s", err.msg);
    else if (!loaded)
        snprintf(reason, sizeof(reason), "The connections are still being loaded after the start.");
    else
        snprintf(reason, sizeof(reason),
                 "The change feed of the shared store is down: this "
                 "node cannot vouch for what it would serve.");
    reply_json(req, 503,
               xcheck(json_pack("{s:s, s:s, s:o}", "status", "unavailable", "reason", reason,
                                "checks", checks)));
}

char *api_meta_metrics_text(struct app *app)
{
    struct sb_err err;
    double seconds;
    bool store = store_answers(app, false, &seconds, &err);
    char *http = metrics_render(store_size_bytes(app->store));
    char *probes = probes_metrics(app->probes);
    struct store_batch_stats bs;
    char own[2048];
    int c;

    store_batch_stats(app->store, &bs);
    c = snprintf(own, sizeof(own),
                 "# HELP switchboard_store_up Whether the store answered a read just now.\n"
                 "# TYPE switchboard_store_up gauge\nswitchboard_store_up %d\n"
                 "# HELP switchboard_store_latency_seconds Time of that read.\n"
                 "# TYPE switchboard_store_latency_seconds gauge\n"
                 "switchboard_store_latency_seconds %.6f\n"
                 "# HELP switchboard_change_feed_up Whether this node follows the changes of "
                 "other nodes (1 for a store that is not shared).\n"
                 "# TYPE switchboard_change_feed_up gauge\nswitchboard_change_feed_up %d\n"
                 "# HELP switchboard_audit_backlog Audit records queued, not written yet.\n"
                 "# TYPE switchboard_audit_backlog gauge\nswitchboard_audit_backlog %llu\n"
                 "# HELP switchboard_store_group_commits_total Transactions the SQLite "
                 "store's group commit committed (0 on PostgreSQL).\n"
                 "# TYPE switchboard_store_group_commits_total counter\n"
                 "switchboard_store_group_commits_total %llu\n"
                 "# HELP switchboard_store_group_commit_writes_total Writes those "
                 "transactions held (more than one each when writers share a commit).\n"
                 "# TYPE switchboard_store_group_commit_writes_total counter\n"
                 "switchboard_store_group_commit_writes_total %llu\n"
                 "# HELP switchboard_store_writers_waiting Writes waiting now for their turn "
                 "on the SQLite store's write connection (0 on PostgreSQL).\n"
                 "# TYPE switchboard_store_writers_waiting gauge\n"
                 "switchboard_store_writers_waiting %d\n",
                 store, seconds, sync_catalog_ready(app->sync) ? 1 : 0,
                 (unsigned long long)audit_backlog(app->audit), bs.commits, bs.writes, bs.waiting);
    size_t a = strlen(http), b = strlen(probes), o = c > 0 ? (size_t)c : 0;
    char *text = xmalloc(a + b + o + 1);

    memcpy(text, http, a);
    memcpy(text + a, own, o);
    memcpy(text + a + o, probes, b + 1);
    free(http);
    free(probes);
    return text;
}

void api_meta_metrics(struct request *req)
{
    if (*req->app->cfg->metrics_listen) {
        reply_errorf(req, SB_ERR_NOT_FOUND,
                     "The metrics are served on the --metrics-listen "
                     "address, not here.");
        return;
    }
    reply_text(req, 200, "text/plain; version=0.0.4; charset=utf-8",
               api_meta_metrics_text(req->app));
}
