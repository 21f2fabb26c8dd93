/* SPDX-License-Identifier: Apache-2.0 */
/* The route table and the matcher. */
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "http/console.h"
#include "http/routes.h"
#include "util/mem.h"

#define API "/dip/publicapi"

static struct route routes[] = {
    {"GET", "/healthz", api_meta_healthz, ROUTE_PUBLIC},
    {"GET", "/readyz", api_meta_readyz, ROUTE_PUBLIC},
    {"GET", "/metrics", api_meta_metrics, ROUTE_PUBLIC},

    {"GET", "/", console_redirect, ROUTE_PUBLIC},
    {"GET", "/console", console_index, ROUTE_PUBLIC},
    {"GET", "/console/{file}", console_file, ROUTE_PUBLIC},
    {"GET", "/console/{dir}/{file}", console_file_in_dir, ROUTE_PUBLIC},

    {"GET", API "/auth/info", api_meta_auth_info, ROUTE_AUTH},
    {"GET", API "/openapi.json", api_meta_openapi, ROUTE_PUBLIC},
    {"POST", API "/auth/session", api_session_create, ROUTE_PUBLIC},
    {"GET", API "/auth/session", api_session_get, ROUTE_PUBLIC},
    {"DELETE", API "/auth/session", api_session_delete, ROUTE_AUTH},

    {"GET", API "/admin/connections", api_connections_list, ROUTE_ADMIN},
    {"POST", API "/admin/connections", api_connections_create, ROUTE_ADMIN},
    {"GET", API "/admin/connections/{name}", api_connections_get, ROUTE_ADMIN},
    {"PUT", API "/admin/connections/{name}", api_connections_update, ROUTE_ADMIN},
    {"DELETE", API "/admin/connections/{name}", api_connections_delete, ROUTE_ADMIN},
    {"GET", API "/admin/connections/{name}/usages", api_connections_usages, ROUTE_ADMIN},
    {"GET", API "/admin/connections/{name}/history", api_connections_history, ROUTE_ADMIN},
    {"POST", API "/admin/connections/{name}/actions/revert", api_connections_revert, ROUTE_ADMIN},
    {"POST", API "/admin/connections/actions/import", api_connections_import, ROUTE_ADMIN},
    /* out of scope (README): HDFS ACLs */
    {"POST", API "/admin/connections/{name}/sync", api_hdfs_acl_unsupported, ROUTE_ADMIN},
    {"GET", API "/connections/get-names", api_connections_names, ROUTE_AUTH},
    {"GET", API "/connection-types", api_connections_types, ROUTE_AUTH},
    {"GET", API "/connections/{name}/info", api_connections_info, ROUTE_AUTH},
    {"GET", API "/connections/{name}/test", api_connections_test, ROUTE_AUTH},
    {"GET", API "/admin/connection-status", api_connections_status, ROUTE_ADMIN},
    {"GET", API "/admin/connection-status/{name}/history", api_connections_status_history,
     ROUTE_ADMIN},
    {"GET", API "/admin/connections-page", api_connections_page, ROUTE_ADMIN},

    {"GET", API "/admin/global-api-keys", api_keys_global_list, ROUTE_ADMIN},
    {"POST", API "/admin/global-api-keys", api_keys_global_create, ROUTE_ADMIN},
    {"GET", API "/admin/global-api-keys/{id}", api_keys_global_get, ROUTE_ADMIN},
    {"PUT", API "/admin/global-api-keys/{id}", api_keys_global_update, ROUTE_ADMIN},
    {"DELETE", API "/admin/global-api-keys/{id}", api_keys_global_delete, ROUTE_ADMIN},
    {"GET", API "/admin/globalAPIKeys/{key}", api_keys_global_by_secret, ROUTE_ADMIN},

    {"GET", API "/admin/personal-api-keys", api_keys_personal_admin_list, ROUTE_ADMIN},
    {"POST", API "/admin/personal-api-keys", api_keys_personal_admin_create, ROUTE_ADMIN},
    {"GET", API "/personal-api-keys", api_keys_personal_list, ROUTE_AUTH},
    {"POST", API "/personal-api-keys", api_keys_personal_create, ROUTE_AUTH},
    {"GET", API "/personal-api-keys/{id}", api_keys_personal_get, ROUTE_AUTH},
    {"PUT", API "/personal-api-keys/{id}", api_keys_personal_update, ROUTE_AUTH},
    {"DELETE", API "/personal-api-keys/{id}", api_keys_personal_delete, ROUTE_AUTH},

    {"GET", API "/admin/users", api_users_list, ROUTE_ADMIN},
    {"POST", API "/admin/users", api_users_create, ROUTE_ADMIN},
    {"GET", API "/admin/users/{login}", api_users_get, ROUTE_ADMIN},
    {"PUT", API "/admin/users/{login}", api_users_update, ROUTE_ADMIN},
    {"DELETE", API "/admin/users/{login}", api_users_delete, ROUTE_ADMIN},
    {"GET", API "/admin/users/{login}/activity", api_users_activity_get, ROUTE_ADMIN},
    {"GET", API "/admin/users-activity", api_users_activity_list, ROUTE_ADMIN},
    {"GET", API "/admin/authorization-matrix", api_users_authorization_matrix, ROUTE_ADMIN},
    {"GET", API "/admin/list-trial-expired-users", api_users_trial_expired, ROUTE_ADMIN},
    {"POST", API "/admin/users/actions/bulk", api_users_bulk_create, ROUTE_ADMIN},
    {"PUT", API "/admin/users/actions/bulk", api_users_bulk_edit, ROUTE_ADMIN},
    {"DELETE", API "/admin/users/actions/bulk", api_users_bulk_delete, ROUTE_ADMIN},
    {"GET", API "/users", api_users_info_list, ROUTE_AUTH},
    {"GET", API "/users/{login}", api_users_info_get, ROUTE_AUTH},
    {"GET", API "/groups", api_groups_info_list, ROUTE_AUTH},
    /* out of scope (README): external directories */
    {"POST", API "/admin/users/{login}/actions/resync", api_users_directory_unsupported,
     ROUTE_ADMIN},
    {"POST", API "/admin/users/actions/resync-multi", api_users_directory_unsupported, ROUTE_ADMIN},
    {"POST", API "/admin/users/actions/provision", api_users_directory_unsupported, ROUTE_ADMIN},
    {"GET", API "/admin/external-users", api_users_directory_unsupported, ROUTE_ADMIN},
    {"GET", API "/admin/external-groups", api_users_directory_unsupported, ROUTE_ADMIN},
    {"GET", API "/current-user", api_current_user_get, ROUTE_AUTH},
    {"PUT", API "/current-user", api_current_user_update, ROUTE_AUTH},
    {"GET", API "/admin/groups", api_groups_list, ROUTE_ADMIN},
    {"POST", API "/admin/groups", api_groups_create, ROUTE_ADMIN},
    {"GET", API "/admin/groups/{name}", api_groups_get, ROUTE_ADMIN},
    {"PUT", API "/admin/groups/{name}", api_groups_update, ROUTE_ADMIN},
    {"DELETE", API "/admin/groups/{name}", api_groups_delete, ROUTE_ADMIN},

    {"GET", API "/admin/variables", api_variables_get, ROUTE_ADMIN},
    {"PUT", API "/admin/variables", api_variables_set, ROUTE_ADMIN},

    {"GET", API "/admin/audit", api_audit_list, ROUTE_ADMIN},

    {"GET", API "/projects", api_projects_list, ROUTE_AUTH},
    {"POST", API "/projects", api_projects_create, ROUTE_ADMIN},
    {"GET", API "/projects/{key}", api_projects_get, ROUTE_AUTH},
    {"DELETE", API "/projects/{key}", api_projects_delete, ROUTE_ADMIN},
    {"GET", API "/projects/{key}/datasets", api_datasets_list, ROUTE_AUTH},
    {"POST", API "/projects/{key}/datasets", api_datasets_create, ROUTE_AUTH},
    {"GET", API "/projects/{key}/datasets/{name}", api_datasets_get, ROUTE_AUTH},
    {"PUT", API "/projects/{key}/datasets/{name}", api_datasets_update, ROUTE_AUTH},
    {"DELETE", API "/projects/{key}/datasets/{name}", api_datasets_delete, ROUTE_AUTH},
    {"POST", API "/projects/{key}/datasets/managed", api_datasets_create_managed, ROUTE_AUTH},
    {"GET", API "/projects/{key}/datasets/{name}/metadata", api_datasets_metadata_get, ROUTE_AUTH},
    {"PUT", API "/projects/{key}/datasets/{name}/metadata", api_datasets_metadata_set, ROUTE_AUTH},
    {"GET", API "/projects/{key}/datasets/{name}/schema", api_datasets_schema_get, ROUTE_AUTH},
    {"PUT", API "/projects/{key}/datasets/{name}/schema", api_datasets_schema_set, ROUTE_AUTH},
    /* out of scope (README): HDFS ACLs */
    {"POST", API "/projects/{key}/actions/sync", api_hdfs_acl_unsupported, ROUTE_AUTH},
    {"GET", API "/projects/{key}/metadata", api_projects_metadata_get, ROUTE_AUTH},
    {"PUT", API "/projects/{key}/metadata", api_projects_metadata_set, ROUTE_AUTH},
    {"GET", API "/projects/{key}/permissions", api_projects_permissions_get, ROUTE_AUTH},
    {"PUT", API "/projects/{key}/permissions", api_projects_permissions_set, ROUTE_AUTH},
    {"GET", API "/projects/{key}/variables-resolved", api_project_variables_resolved, ROUTE_AUTH},
    {"GET", API "/projects/{key}/variables", api_project_variables_get, ROUTE_AUTH},
    {"PUT", API "/projects/{key}/variables", api_project_variables_set, ROUTE_AUTH},
    {"POST", API "/projects/{key}/actions/change-connection", api_projects_change_connection,
     ROUTE_AUTH},
};

#define N_ROUTES (sizeof(routes) / sizeof(routes[0]))

/* The changes, by what the audit trail calls them: the dispatcher runs each of these routes as
 * one write (src/service/write.h) and records its failures (403, 409...) the same way for
 * every resource. A route that changes anything belongs here. */
static const struct {
    const char *method, *pattern, *action;
} audited[] = {
    {"POST", API "/admin/connections", "connection.create"},
    {"PUT", API "/admin/connections/{name}", "connection.update"},
    {"DELETE", API "/admin/connections/{name}", "connection.delete"},
    {"POST", API "/admin/connections/{name}/actions/revert", "connection.revert"},
    {"POST", API "/admin/connections/actions/import", "connection.import"},
    {"POST", API "/admin/global-api-keys", "global-api-key.create"},
    {"PUT", API "/admin/global-api-keys/{id}", "global-api-key.update"},
    {"DELETE", API "/admin/global-api-keys/{id}", "global-api-key.delete"},
    {"POST", API "/admin/personal-api-keys", "personal-api-key.create"},
    {"POST", API "/personal-api-keys", "personal-api-key.create"},
    {"PUT", API "/personal-api-keys/{id}", "personal-api-key.update"},
    {"DELETE", API "/personal-api-keys/{id}", "personal-api-key.delete"},
    {"POST", API "/admin/users", "user.create"},
    {"PUT", API "/admin/users/{login}", "user.update"},
    {"DELETE", API "/admin/users/{login}", "user.delete"},
    {"POST", API "/admin/users/actions/bulk", "user.bulk-create"},
    {"PUT", API "/admin/users/actions/bulk", "user.bulk-update"},
    {"DELETE", API "/admin/users/actions/bulk", "user.bulk-delete"},
    {"PUT", API "/current-user", "user.update-self"},
    {"POST", API "/admin/groups", "group.create"},
    {"PUT", API "/admin/groups/{name}", "group.update"},
    {"DELETE", API "/admin/groups/{name}", "group.delete"},
    {"PUT", API "/admin/variables", "variables.update"},
    {"POST", API "/projects", "project.create"},
    {"DELETE", API "/projects/{key}", "project.delete"},
    {"PUT", API "/projects/{key}/metadata", "project.update"},
    {"PUT", API "/projects/{key}/permissions", "project.update"},
    {"PUT", API "/projects/{key}/variables", "project.variables.update"},
    {"POST", API "/projects/{key}/actions/change-connection", "project.change-connection"},
    {"POST", API "/projects/{key}/datasets", "dataset.create"},
    {"POST", API "/projects/{key}/datasets/managed", "dataset.create"},
    {"PUT", API "/projects/{key}/datasets/{name}", "dataset.update"},
    {"DELETE", API "/projects/{key}/datasets/{name}", "dataset.delete"},
    {"PUT", API "/projects/{key}/datasets/{name}/metadata", "dataset.update"},
    {"PUT", API "/projects/{key}/datasets/{name}/schema", "dataset.update"},
};

/* The audit action of each route, by routes_init; NULL for a route that changes nothing. */
static const char *audit_action[N_ROUTES];

const char *routes_audit_action(const struct route *route)
{
    return audit_action[routes_index(route)];
}

/* The patterns split into segments, by routes_init. A segment points into its pattern and ends
 * at the next '/' or NUL; literal_mask has one bit per literal segment, the first segment in
 * the highest bit, so that comparing masks prefers literals that come first. */
static struct route_shape {
    const char *segs[SB_ROUTE_MAX_SEGMENTS];
    size_t seg_lens[SB_ROUTE_MAX_SEGMENTS];
    int n_segs;
    unsigned literal_mask;
    int pattern_id; /* the index of the first route with the same pattern */
} shapes[N_ROUTES];

int routes_count(void)
{
    return (int)N_ROUTES;
}

const struct route *routes_at(int i)
{
    return &routes[i];
}

int routes_index(const struct route *route)
{
    return (int)(route - routes);
}

void routes_init(void)
{
    for (size_t a = 0; a < sizeof(audited) / sizeof(audited[0]); a++)
        for (size_t i = 0; i < N_ROUTES; i++)
            if (strcmp(routes[i].method, audited[a].method) == 0 &&
                strcmp(routes[i].pattern, audited[a].pattern) == 0)
                audit_action[i] = audited[a].action;
    for (size_t i = 0; i < N_ROUTES; i++) {
        const char *p = routes[i].pattern;
        struct route_shape *r = &shapes[i];
        r->n_segs = 0;
        r->literal_mask = 0;
        r->pattern_id = (int)i;
        for (size_t j = 0; j < i; j++)
            if (strcmp(routes[j].pattern, p) == 0) {
                r->pattern_id = (int)j;
                break;
            }
        while (*p == '/') {
            const char *start = ++p;
            while (*p && *p != '/')
                p++;
            if (p == start)
                break;
            r->segs[r->n_segs] = start;
            r->seg_lens[r->n_segs] = (size_t)(p - start);
            if (*start != '{')
                r->literal_mask |= 1u << (SB_ROUTE_MAX_SEGMENTS - 1 - r->n_segs);
            r->n_segs++;
        }
    }
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

char *routes_percent_decode(const char *in, size_t len, bool plus_is_space, size_t *out_len)
{
    char *out = xmalloc(len + 1);
    size_t n = 0;

    for (size_t i = 0; i < len; i++) {
        if (in[i] == '%') {
            if (i + 2 >= len || hexval(in[i + 1]) < 0 || hexval(in[i + 2]) < 0) {
                free(out);
                return NULL;
            }
            out[n++] = (char)(hexval(in[i + 1]) * 16 + hexval(in[i + 2]));
            i += 2;
        } else if (in[i] == '+' && plus_is_space) {
            out[n++] = ' ';
        } else {
            out[n++] = in[i];
        }
    }
    out[n] = '\0';
    *out_len = n;
    return out;
}

/* Percent-decodes IN (LEN bytes) into OUT, which has room for LEN bytes; returns the decoded
 * length, or -1 for a malformed escape. */
static long decode_into(const char *in, size_t len, char *out)
{
    size_t n = 0;

    for (size_t i = 0; i < len; i++) {
        if (in[i] == '%') {
            if (i + 2 >= len || hexval(in[i + 1]) < 0 || hexval(in[i + 2]) < 0)
                return -1;
            out[n++] = (char)(hexval(in[i + 1]) * 16 + hexval(in[i + 2]));
            i += 2;
        } else {
            out[n++] = in[i];
        }
    }
    return (long)n;
}

enum route_result routes_match(const char *method, const char *path, const struct route **out,
                               char **params, int *n_params, char *allow, size_t allow_size,
                               struct sb_err *err)
{
    /* the decoded segments, side by side in one buffer (on the stack for the usual paths): no
     * allocation but the parameters handed to the caller */
    char stack_buf[1024];
    size_t path_len = strlen(path);
    char *buf = path_len < sizeof(stack_buf) ? stack_buf : xmalloc(path_len + 1);
    char *segs[SB_ROUTE_MAX_SEGMENTS];
    size_t lens[SB_ROUTE_MAX_SEGMENTS], used = 0;
    int n = 0;
    const char *p = path;
    int best = -1, best_with_method = -1;
    const char *want = strcmp(method, "HEAD") == 0 ? "GET" : method;
    enum route_result result = ROUTE_NOT_FOUND;

    if (*p != '/')
        goto out; /* "" or a path that does not start with '/' */
    /* split and decode; a trailing slash is ignored, an empty inner segment matches nothing */
    while (*p == '/') {
        const char *start = ++p;
        while (*p && *p != '/')
            p++;
        if (p == start && *p == '\0')
            break;
        if (n == SB_ROUTE_MAX_SEGMENTS)
            goto out;
        long len = decode_into(start, (size_t)(p - start), buf + used);
        if (len < 0) {
            sb_err_set(err, SB_ERR_BAD_REQUEST, "The request path has a malformed %%-escape.");
            result = ROUTE_BAD_PATH;
            goto out;
        }
        if (memchr(buf + used, '\0', (size_t)len)) {
            sb_err_set(err, SB_ERR_BAD_REQUEST, "The request path must not contain a NUL byte.");
            result = ROUTE_BAD_PATH;
            goto out;
        }
        segs[n] = buf + used;
        lens[n++] = (size_t)len;
        used += (size_t)len;
        buf[used++] = '\0';
    }
    if (*p != '\0')
        goto out; /* a path that does not start with '/' */

    for (size_t i = 0; i < N_ROUTES; i++) {
        const struct route_shape *r = &shapes[i];
        bool ok = r->n_segs == n;
        for (int s = 0; ok && s < n; s++) {
            if (r->segs[s][0] == '{')
                ok = lens[s] > 0;
            else
                ok = lens[s] == r->seg_lens[s] && memcmp(segs[s], r->segs[s], lens[s]) == 0;
        }
        if (ok && (best < 0 || r->literal_mask > shapes[best].literal_mask))
            best = (int)i;
        if (ok && strcmp(routes[i].method, want) == 0 &&
            (best_with_method < 0 || r->literal_mask > shapes[best_with_method].literal_mask))
            best_with_method = (int)i;
    }
    if (best < 0)
        goto out;
    /* a more literal pattern without this method does not hide one with it: POST
     * .../datasets/managed is an action, GET .../datasets/managed the dataset named so */
    if (best_with_method >= 0)
        best = best_with_method;

    /* the best pattern is found; now its method */
    allow[0] = '\0';
    result = ROUTE_WRONG_METHOD;
    for (size_t i = (size_t)shapes[best].pattern_id; i < N_ROUTES; i++) {
        const struct route *r = &routes[i];
        if (shapes[i].pattern_id != shapes[best].pattern_id)
            continue;
        if (strcmp(r->method, want) == 0) {
            *out = r;
            result = ROUTE_FOUND;
            break;
        }
        if (allow[0])
            strncat(allow, ", ", allow_size - strlen(allow) - 1);
        strncat(allow, r->method, allow_size - strlen(allow) - 1);
    }
    if (result == ROUTE_FOUND) {
        *n_params = 0;
        for (int s = 0; s < n; s++)
            if (shapes[best].segs[s][0] == '{')
                params[(*n_params)++] = xstrndup(segs[s], lens[s]);
    }
out:
    if (buf != stack_buf)
        free(buf);
    return result;
}
