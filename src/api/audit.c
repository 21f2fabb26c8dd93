/* SPDX-License-Identifier: Apache-2.0 */
/* GET /admin/audit (docs/API.md §8): the audit trail as the store holds it. Records are written
 * by the service layer (src/service/audit.c). */
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "http/request.h"
#include "service/audit.h"
#include "store/store.h"

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
            reply_errorf(req, SB_ERR_BAD_REQUEST,
                         "Query parameter 'before' must be a timestamp "
                         "in milliseconds since the epoch.");
            return;
        }
    }
    free(limit_s);
    free(before_s);

    /* filters (an extension of DSS's API): a record's field equals the value, or starts with it
     * when the value ends with '*' */
    static const char *const names[] = {"principal", "action", "object"};
    struct audit_filter f = {0};
    char *vals[3];
    for (int i = 0; i < 3; i++)
        vals[i] = req_query(req, names[i]);
    for (int i = 0; i < 3; i++) {
        size_t len = vals[i] ? strlen(vals[i]) : 0;
        if (!vals[i])
            continue;
        f.field[i].prefix = len > 0 && vals[i][len - 1] == '*';
        if (f.field[i].prefix)
            vals[i][--len] = '\0';
        if (len == 0 || len > 1024 || strchr(vals[i], '*')) {
            reply_errorf(req, SB_ERR_BAD_REQUEST,
                         "Query parameter '%s' must be 1 to 1024 characters long, with no '*' "
                         "but one at the end (a prefix).",
                         names[i]);
            goto out;
        }
        f.field[i].value = vals[i];
    }
    audit_flush(req->app->audit); /* every read answered before this request is listed */
    if (store_audit_list(req->app->store, before, (int)limit, &f, &list, &err) != SB_OK)
        reply_error(req, &err);
    else
        reply_json(req, 200, list);
out:
    for (int i = 0; i < 3; i++)
        free(vals[i]);
}
