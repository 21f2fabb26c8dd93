/* SPDX-License-Identifier: Apache-2.0 */
/* Meta endpoints: health, metrics, and who the caller is. */
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "api/audit.h"
#include "core/secrets.h"
#include "api/probes.h"
#include "http/metrics.h"
#include "http/request.h"
#include "store/store.h"
#include "util/mem.h"

void api_meta_healthz(struct request *req)
{
    reply_json(req, 200, xcheck(json_pack("{s:s}", "status", "ok")));
}

/* *OUT: the caller's own user secrets, decrypted, as [{"key","value"}] (get_auth_info(
 * with_secrets=True)); an empty array for a global key. New reference. */
static enum sb_err_kind own_secrets(struct request *req, json_t **out, struct sb_err *err)
{
    json_t *rec, *open, *entry;
    size_t i;

    *out = xcheck(json_array());
    if (req->principal.type != PRINCIPAL_USER)
        return SB_OK;
    if (store_obj_get(req->app->store, STORE_USERS, req->principal.login, &rec, err) != SB_OK)
        return err->kind;
    if (secrets_open_user(&req->app->secrets, req->principal.login, rec, &open, err) != SB_OK) {
        json_decref(rec);
        return err->kind;
    }
    json_array_foreach (json_object_get(open, "secrets"), i, entry) {
        json_t *name = json_object_get(entry, "name"), *value = json_object_get(entry, "value");
        if (json_is_string(name))
            json_array_append_new(*out, xcheck(json_pack("{s:O, s:O}", "key", name, "value",
                                                         value ? value : json_null())));
    }
    json_decref(open);
    json_decref(rec);
    return SB_OK;
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
        if (own_secrets(req, &secrets, &err) != SB_OK) {
            json_decref(secrets);
            json_decref(out);
            audit_record_read(req, "user.secrets.read", p->login, "failed");
            reply_error(req, &err);
            return;
        }
        json_object_set_new(out, "secrets", secrets);
        audit_record_read(req, "user.secrets.read", p->login, "success");
    }
    reply_json(req, 200, out);
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
