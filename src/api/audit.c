/* SPDX-License-Identifier: Apache-2.0 */
/* The audit trail: recording, and GET /admin/audit. The store copy is the one served; the file
 * copy is for log shippers. Each is written after the change it records commits, so a crash in
 * between can lose a record but never records a change that did not happen. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/api.h"
#include "api/audit.h"
#include "http/request.h"
#include "store/store.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/mem.h"

void audit_record(struct request *req, const char *action, const char *object,
                  const char *outcome)
{
    char addr[64];
    struct sb_err err;
    json_t *rec;
    char *line;

    req_remote_addr(req, addr, sizeof(addr));
    rec = xcheck(json_pack("{s:I, s:s, s:s, s:s?, s:s, s:s}", "ts", (json_int_t)clock_epoch_ms(),
                           "principal", req->authenticated ? req->principal.login : "-", "action",
                           action, "object", object, "outcome", outcome, "remoteAddr", addr));
    if (store_audit_append(req->app->store, rec, &err) != SB_OK)
        log_error("audit: cannot store a record of %s: %s", action, err.msg);
    if (req->app->audit_fd >= 0) {
        line = xcheck(json_dumps(rec, JSON_COMPACT));
        size_t len = strlen(line);
        line = xrealloc(line, len + 2);
        line[len] = '\n';
        if (write(req->app->audit_fd, line, len + 1) != (ssize_t)(len + 1))
            log_error("audit: cannot append a record of %s to audit.log", action);
        free(line);
    }
    json_decref(rec);
}

void api_audit_list(struct request *req)
{
    char *limit_s = req_query(req, "limit"), *before_s = req_query(req, "before");
    long long limit = 100, before = -1;
    char *end;
    struct sb_err err;
    json_t *list;

    if (limit_s) {
        limit = strtoll(limit_s, &end, 10);
        if (*end || end == limit_s || limit < 1 || limit > 10000) {
            free(limit_s);
            free(before_s);
            reply_errorf(req, SB_ERR_BAD_REQUEST,
                         "Query parameter 'limit' must be a whole number from 1 to 10000.");
            return;
        }
    }
    if (before_s) {
        before = strtoll(before_s, &end, 10);
        if (*end || end == before_s || before < 0) {
            free(limit_s);
            free(before_s);
            reply_errorf(req, SB_ERR_BAD_REQUEST, "Query parameter 'before' must be a timestamp "
                                                  "in milliseconds since the epoch.");
            return;
        }
    }
    free(limit_s);
    free(before_s);
    if (store_audit_list(req->app->store, before, (int)limit, &list, &err) != SB_OK) {
        reply_error(req, &err);
        return;
    }
    reply_json(req, 200, list);
}
