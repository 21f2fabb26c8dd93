/* SPDX-License-Identifier: Apache-2.0 */
/* GET /admin/connections-page (extension): one page of the connections, searched, filtered and
 * sorted, for the console's list: {"total", "failing", "items": [...]}. Served from the
 * in-memory catalog's snapshot (already in name order), so a page of 100,000 connections costs a
 * walk over names and types and the parse of the page's own definitions only; the DSS list
 * endpoint is unchanged.
 *
 * Query: q (case-insensitive substring of the name), type (exact), status (ok, failing,
 * unknown: the last live test), sort (name, -name, type, -type), offset (0), limit (50, at most
 * 1000). */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/api.h"
#include "api/common.h"
#include "core/catalog.h"
#include "http/request.h"
#include "prober/probes.h"
#include "util/mem.h"

#define PAGE_DEFAULT 50
#define PAGE_MAX 1000

enum status_filter { STATUS_ANY, STATUS_OK, STATUS_FAILING, STATUS_UNKNOWN };

/* -1 when the last test failed, 1 when it passed, 0 when never tested. */
static int status_of(struct probes *p, const char *name)
{
    json_t *st = probes_status_of(p, name);
    int v = 0;

    if (st)
        v = json_is_true(json_object_get(st, "connectionOK")) ? 1 : -1;
    json_decref(st);
    return v;
}

static int by_type(const void *a, const void *b)
{
    const struct catalog_entry *x = *(const struct catalog_entry *const *)a;
    const struct catalog_entry *y = *(const struct catalog_entry *const *)b;
    int c = strcmp(x->type, y->type);
    return c ? c : strcmp(x->name, y->name);
}

static bool parse_count(struct request *req, const char *name, long long def, long long max,
                        long long *out)
{
    char *v = req_query(req, name), *end;

    *out = def;
    if (!v || !*v) {
        free(v);
        return true;
    }
    *out = strtoll(v, &end, 10);
    bool ok = *end == '\0' && *out >= 0 && *out <= max;
    free(v);
    if (!ok)
        reply_errorf(req, SB_ERR_BAD_REQUEST,
                     "Query parameter '%s' must be a whole number from 0 to %lld.", name, max);
    return ok;
}

/* Sets ITEM[KEY] to VALUE (borrowed) when it is a string or a number, else to FALLBACK. */
static void set_or(json_t *item, const char *key, json_t *value, json_t *fallback)
{
    if (json_is_string(value) || json_is_number(value)) {
        json_object_set(item, key, value);
        json_decref(fallback);
    } else {
        json_object_set_new(item, key, fallback);
    }
}

/* The list item of E: the columns of the console's table. */
static json_t *page_item(struct request *req, const struct catalog_entry *e)
{
    char *text = catalog_entry_json_copy(e);
    json_t *def = json_loads(text, 0, NULL);
    json_t *tag = json_object_get(def, "creationTag");
    json_t *st = probes_status_of(req->app->probes, e->name);
    json_t *item = xcheck(json_pack("{s:s, s:s}", "name", e->name, "type", e->type));

    set_or(item, "description", json_object_get(def, "description"), json_string(""));
    json_object_set_new(item, "usableBy",
                        xcheck(json_string(e->usable_by_all ? "ALL" : "ALLOWED")));
    json_object_set_new(item, "allowedGroups",
                        e->allowed_groups ? json_incref(e->allowed_groups) : json_array());
    json_object_set_new(item, "versionNumber", json_integer((json_int_t)e->version));
    set_or(item, "lastModifiedBy", json_object_get(json_object_get(tag, "lastModifiedBy"), "login"),
           json_null());
    set_or(item, "lastModifiedOn", json_object_get(tag, "lastModifiedOn"), json_null());
    set_or(item, "credentialsMode", json_object_get(def, "credentialsMode"), json_string("GLOBAL"));
    json_object_set_new(item, "status", st ? st : json_null());
    json_decref(def);
    free(text);
    return item;
}

void api_connections_page(struct request *req)
{
    char *q = req_query(req, "q"), *type = req_query(req, "type");
    char *status = req_query(req, "status"), *sort = req_query(req, "sort");
    long long offset, limit;
    enum status_filter want = STATUS_ANY;
    bool desc = false, sort_type = false;
    struct catalog_snapshot *snap = NULL;
    struct catalog_entry **hits = NULL;
    size_t n = 0, failing = 0;
    json_t *items;

    if (!parse_count(req, "offset", 0, 1LL << 40, &offset) ||
        !parse_count(req, "limit", PAGE_DEFAULT, PAGE_MAX, &limit))
        goto out;
    if (status && *status) {
        if (strcmp(status, "ok") == 0)
            want = STATUS_OK;
        else if (strcmp(status, "failing") == 0)
            want = STATUS_FAILING;
        else if (strcmp(status, "unknown") == 0)
            want = STATUS_UNKNOWN;
        else {
            reply_errorf(req, SB_ERR_BAD_REQUEST,
                         "Query parameter 'status' must be ok, failing "
                         "or unknown.");
            goto out;
        }
    }
    if (sort && *sort) {
        const char *key = sort[0] == '-' ? sort + 1 : sort;
        desc = sort[0] == '-';
        if (strcmp(key, "type") == 0)
            sort_type = true;
        else if (strcmp(key, "name") != 0) {
            reply_errorf(req, SB_ERR_BAD_REQUEST,
                         "Query parameter 'sort' must be name, -name, "
                         "type or -type.");
            goto out;
        }
    }
    if (!api_catalog_ready_or_reply(req))
        goto out;

    snap = catalog_snapshot(req->app->catalog);
    hits = xmalloc((snap->n ? snap->n : 1) * sizeof(*hits));
    for (size_t i = 0; i < snap->n; i++) {
        struct catalog_entry *e = snap->items[i];
        if (q && *q && !strcasestr(e->name, q))
            continue;
        if (type && *type && strcmp(e->type, type) != 0)
            continue;
        int s = status_of(req->app->probes, e->name);
        if ((want == STATUS_OK && s != 1) || (want == STATUS_FAILING && s != -1) ||
            (want == STATUS_UNKNOWN && s != 0))
            continue;
        if (s == -1)
            failing++;
        hits[n++] = e;
    }
    if (sort_type)
        qsort(hits, n, sizeof(*hits), by_type);
    items = xcheck(json_array());
    for (long long i = offset; i < (long long)n && i < offset + limit; i++)
        json_array_append_new(items, page_item(req, hits[desc ? n - 1 - (size_t)i : (size_t)i]));
    reply_json(req, 200,
               xcheck(json_pack("{s:I, s:I, s:I, s:I, s:o}", "total", (json_int_t)n, "failing",
                                (json_int_t)failing, "offset", (json_int_t)offset, "limit",
                                (json_int_t)limit, "items", items)));
out:
    if (snap)
        catalog_snapshot_release(snap);
    free(hits);
    free(q);
    free(type);
    free(status);
    free(sort);
}
