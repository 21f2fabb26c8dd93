/* SPDX-License-Identifier: Apache-2.0 */
/* Meta endpoints: health, metrics, and who the caller is. */
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "api/probes.h"
#include "http/metrics.h"
#include "http/request.h"
#include "store/store.h"
#include "util/mem.h"

void api_meta_healthz(struct request *req)
{
    reply_json(req, 200, xcheck(json_pack("{s:s}", "status", "ok")));
}

void api_meta_auth_info(struct request *req)
{
    const struct principal *p = &req->principal;

    reply_json(req, 200,
               xcheck(json_pack("{s:s, s:s, s:O, s:b}", "authIdentifier", p->login,
                                "principalType",
                                p->type == PRINCIPAL_USER ? "USER" : "GLOBAL_API_KEY", "groups",
                                p->groups, "admin", p->admin)));
}

void api_meta_metrics(struct request *req)
{
    char *http = metrics_render(store_size_bytes(req->app->store));
    char *probes = probes_metrics(req->app->probes);
    size_t a = strlen(http), b = strlen(probes);
    char *text = xmalloc(a + b + 1);

    memcpy(text, http, a);
    memcpy(text + a, probes, b + 1);
    free(http);
    free(probes);
    reply_text(req, 200, "text/plain; version=0.0.4; charset=utf-8", text);
}
