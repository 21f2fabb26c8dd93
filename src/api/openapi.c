/* SPDX-License-Identifier: Apache-2.0 */
/* GET /dip/publicapi/openapi.json: an OpenAPI 3.1 document generated from the route table
 * (src/http/routes.c) at each request, so that a route added there is in the document without
 * anything else to do. What the table does not say (a summary, the tag, the body and answer
 * schemas) comes from the notes below, found by method and pattern; a route without a note
 * still gets its path, parameters, security and error answers. The prose reference is
 * docs/API.md; tests/api/test_openapi.py checks that both cover every route and lints this
 * document with Redocly's CLI. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "http/request.h"
#include "http/routes.h"
#include "usage.h"
#include "util/mem.h"

#define API "/dip/publicapi"

struct note {
    const char *method, *pattern; /* the pattern without the API prefix, as in routes.c */
    const char *tag, *summary;
    const char *request;  /* schema name of the body, or NULL */
    const char *response; /* schema name of the 200 answer, or NULL for any JSON object */
    bool extension;       /* Switchboard's own, not in DSS */
};

/* clang-format off */
static const struct note notes[] = {
    {"GET", "/healthz", "meta", "Liveness: the process answers", NULL, "Status", true},
    {"GET", "/readyz", "meta", "Readiness: 503 with a reason while the store or the change feed is down, or the connections are still loading after the start", NULL, "Readiness", true},
    {"GET", "/metrics", "meta", "Prometheus metrics (text format)", NULL, NULL, true},
    {"GET", "/openapi.json", "meta", "This document", NULL, NULL, true},
    {"GET", "/auth/info", "meta", "Who the caller is (withSecrets=true: own secrets, audited)", NULL, "AuthInfo", false},
    {"POST", "/auth/session", "meta", "Console sign-in (login and password, or an API key): a session cookie and its CSRF token", NULL, "Object", true},
    {"GET", "/auth/session", "meta", "The console session of the cookie, with its CSRF token", NULL, "Object", true},
    {"DELETE", "/auth/session", "meta", "Console sign-out: ends the session", NULL, "Empty", true},
    {"GET", "/", "meta", "Redirects to the web console (/console/)", NULL, NULL, true},
    {"GET", "/console", "meta", "The web console's page", NULL, NULL, true},
    {"GET", "/console/{file}", "meta", "A file of the web console (script, style)", NULL, NULL, true},
    {"GET", "/console/{dir}/{file}", "meta", "A file of the web console in a folder", NULL, NULL, true},

    {"GET", "/admin/connections", "connections", "List every connection definition, by name", NULL, "ConnectionMap", false},
    {"POST", "/admin/connections", "connections", "Create a connection", "Connection", "Connection", false},
    {"GET", "/admin/connections/{name}", "connections", "Get a definition (secrets encrypted; ETag is its version)", NULL, "Connection", false},
    {"PUT", "/admin/connections/{name}", "connections", "Replace a definition (If-Match: 412 on another version)", "Connection", "Connection", false},
    {"DELETE", "/admin/connections/{name}", "connections", "Delete a connection (force=true past write guards)", NULL, "Empty", false},
    {"GET", "/admin/connections/{name}/usages", "connections", "Datasets that use a connection", NULL, "Usages", true},
    {"GET", "/admin/connections/{name}/history", "connections", "Versions of a connection, oldest first", NULL, "History", true},
    {"POST", "/admin/connections/{name}/actions/revert", "connections", "Save a new version equal to an older one", "Revert", "Connection", true},
    {"POST", "/admin/connections/actions/import", "connections", "Create or update many connections in one transaction", "ImportRequest", "ImportResult", true},
    {"POST", "/admin/connections/{name}/sync", "connections", "HDFS ACL synchronisation: not provided (404)", NULL, "Empty", false},
    {"GET", "/connections/get-names", "connections", "Names of the connections the caller may use", NULL, "Names", false},
    {"GET", "/connection-types", "connections", "The registry of connection types", NULL, "ConnectionTypes", true},
    {"GET", "/connections/{name}/info", "connections", "Resolved details, credentials in plaintext (audited)", NULL, "ConnectionInfo", false},
    {"GET", "/connections/{name}/test", "connections", "Test a connection live", NULL, "TestResult", false},
    {"GET", "/admin/connection-status", "connections", "Last live test of each connection", NULL, "ConnectionStatus", true},
    {"GET", "/admin/connection-status/{name}/history", "connections", "Recent live test results of a connection, oldest first", NULL, "TestHistory", true},
    {"GET", "/admin/connections-page", "connections", "One page of the connections: searched, filtered, sorted", NULL, "Object", true},

    {"GET", "/admin/global-api-keys", "keys", "List global API keys (hints, never secrets)", NULL, "ApiKeyList", false},
    {"POST", "/admin/global-api-keys", "keys", "Create a global API key (the secret is in this answer only)", "ApiKey", "ApiKey", false},
    {"GET", "/admin/global-api-keys/{id}", "keys", "Get a global API key", NULL, "ApiKey", false},
    {"PUT", "/admin/global-api-keys/{id}", "keys", "Change a global API key (not its secret)", "ApiKey", "ApiKey", false},
    {"DELETE", "/admin/global-api-keys/{id}", "keys", "Delete a global API key", NULL, "Empty", false},
    {"GET", "/admin/globalAPIKeys/{key}", "keys", "Look a global API key up by its secret (deprecated)", NULL, "ApiKey", false},
    {"GET", "/admin/personal-api-keys", "keys", "List every personal API key", NULL, "ApiKeyList", false},
    {"POST", "/admin/personal-api-keys", "keys", "Create a personal API key for a user", "ApiKey", "ApiKey", false},
    {"GET", "/personal-api-keys", "keys", "List one's own personal API keys", NULL, "ApiKeyList", false},
    {"POST", "/personal-api-keys", "keys", "Create a personal API key for oneself", "ApiKey", "ApiKey", false},
    {"GET", "/personal-api-keys/{id}", "keys", "Get a personal API key (owner or admin)", NULL, "ApiKey", false},
    {"PUT", "/personal-api-keys/{id}", "keys", "Change a personal API key (owner or admin)", "ApiKey", "ApiKey", false},
    {"DELETE", "/personal-api-keys/{id}", "keys", "Delete a personal API key (owner or admin)", NULL, "Empty", false},

    {"GET", "/admin/users", "users", "List users (includeSettings=true: with settings)", NULL, "UserList", false},
    {"POST", "/admin/users", "users", "Create a user", "User", "User", false},
    {"GET", "/admin/users/{login}", "users", "Get a user's settings", NULL, "User", false},
    {"PUT", "/admin/users/{login}", "users", "Replace a user's settings", "User", "User", false},
    {"DELETE", "/admin/users/{login}", "users", "Delete a user", NULL, "Empty", false},
    {"GET", "/admin/users/{login}/activity", "users", "A user's last sign-ins and activity", NULL, "UserActivity", false},
    {"GET", "/admin/users-activity", "users", "Every user's activity", NULL, "UserActivityList", false},
    {"GET", "/admin/authorization-matrix", "users", "Groups and users by permission", NULL, "Object", false},
    {"GET", "/admin/list-trial-expired-users", "users", "Users whose trial expired: none (no trials)", NULL, "UserList", false},
    {"POST", "/admin/users/actions/bulk", "users", "Create many users in one transaction", "UserList", "BulkResult", false},
    {"PUT", "/admin/users/actions/bulk", "users", "Change many users in one transaction", "UserList", "BulkResult", false},
    {"DELETE", "/admin/users/actions/bulk", "users", "Delete many users in one transaction", "LoginList", "BulkResult", false},
    {"GET", "/users", "users", "Short profiles of every user", NULL, "UserInfoList", false},
    {"GET", "/users/{login}", "users", "Short profile of a user", NULL, "UserInfo", false},
    {"GET", "/groups", "users", "Short profiles of every group", NULL, "GroupList", false},
    {"POST", "/admin/users/{login}/actions/resync", "users", "Directory synchronisation: not provided (404)", NULL, "Empty", false},
    {"POST", "/admin/users/actions/resync-multi", "users", "Directory synchronisation: not provided (404)", NULL, "Empty", false},
    {"POST", "/admin/users/actions/provision", "users", "Directory provisioning: not provided (404)", NULL, "Empty", false},
    {"GET", "/admin/external-users", "users", "Directory users: not provided (404)", NULL, "Empty", false},
    {"GET", "/admin/external-groups", "users", "Directory groups: not provided (404)", NULL, "Empty", false},
    {"GET", "/current-user", "users", "One's own settings", NULL, "User", false},
    {"PUT", "/current-user", "users", "Change one's own credentials, secrets, preferences, properties", "User", "User", false},
    {"GET", "/admin/groups", "users", "List groups", NULL, "GroupList", false},
    {"POST", "/admin/groups", "users", "Create a group", "Group", "Group", false},
    {"GET", "/admin/groups/{name}", "users", "Get a group", NULL, "Group", false},
    {"PUT", "/admin/groups/{name}", "users", "Replace a group", "Group", "Group", false},
    {"DELETE", "/admin/groups/{name}", "users", "Delete a group (and drop it from its users)", NULL, "Empty", false},

    {"GET", "/admin/variables", "variables", "Instance variables", NULL, "Object", false},
    {"PUT", "/admin/variables", "variables", "Replace the instance variables", "Object", "Object", false},
    {"GET", "/admin/audit", "audit", "Audit records, newest first (?limit, ?before; filters ?principal, ?action, ?object: exact, or a prefix ending in *)", NULL, "AuditList", true},

    {"GET", "/projects", "projects", "Projects the caller may read", NULL, "ProjectList", false},
    {"POST", "/projects", "projects", "Create a project", "Project", "Object", false},
    {"GET", "/projects/{key}", "projects", "Get a project", NULL, "Project", false},
    {"DELETE", "/projects/{key}", "projects", "Delete a project and its datasets", NULL, "Empty", false},
    {"GET", "/projects/{key}/datasets", "projects", "Datasets of a project", NULL, "DatasetList", false},
    {"POST", "/projects/{key}/datasets", "projects", "Create a dataset", "Dataset", "Dataset", false},
    {"GET", "/projects/{key}/datasets/{name}", "projects", "Get a dataset", NULL, "Dataset", false},
    {"PUT", "/projects/{key}/datasets/{name}", "projects", "Replace a dataset", "Dataset", "Dataset", false},
    {"DELETE", "/projects/{key}/datasets/{name}", "projects", "Delete a dataset", NULL, "Empty", false},
    {"POST", "/projects/{key}/datasets/managed", "projects", "Create a managed dataset on a connection", "Object", "Dataset", false},
    {"GET", "/projects/{key}/datasets/{name}/metadata", "projects", "A dataset's metadata", NULL, "Metadata", false},
    {"PUT", "/projects/{key}/datasets/{name}/metadata", "projects", "Replace a dataset's metadata", "Metadata", "Object", false},
    {"GET", "/projects/{key}/datasets/{name}/schema", "projects", "A dataset's schema", NULL, "Schema", false},
    {"PUT", "/projects/{key}/datasets/{name}/schema", "projects", "Replace a dataset's schema", "Schema", "Object", false},
    {"POST", "/projects/{key}/actions/sync", "projects", "HDFS ACL synchronisation: not provided (404)", NULL, "Empty", false},
    {"GET", "/projects/{key}/metadata", "projects", "A project's metadata", NULL, "Metadata", false},
    {"PUT", "/projects/{key}/metadata", "projects", "Replace a project's metadata", "Metadata", "Object", false},
    {"GET", "/projects/{key}/permissions", "projects", "A project's owner and group permissions", NULL, "Permissions", false},
    {"PUT", "/projects/{key}/permissions", "projects", "Replace a project's permissions", "Permissions", "Object", false},
    {"GET", "/projects/{key}/variables-resolved", "variables", "Project variables merged over the instance ones", NULL, "Object", false},
    {"GET", "/projects/{key}/variables", "variables", "Project variables", NULL, "ProjectVariables", false},
    {"PUT", "/projects/{key}/variables", "variables", "Replace a project's variables", "ProjectVariables", "Object", false},
    {"POST", "/projects/{key}/actions/change-connection", "projects", "Move a project's datasets to another connection, all or nothing", "ChangeConnection", "ChangeConnectionResult", true},
};

/* The schemas, in JSON with ' for " (no apostrophe may appear in a description). */
static const char schemas_text[] =
    "{"
    "'Error': {'type': 'object', 'required': ['errorType', 'message', 'detailedMessage'],"
    "  'properties': {'errorType': {'type': 'string', 'examples': ['NotFound']},"
    "    'message': {'type': 'string'}, 'detailedMessage': {'type': 'string',"
    "      'description': 'one sentence naming the offending field or object'}}},"
    "'Empty': {'type': 'object', 'description': 'an empty object'},"
    "'Object': {'type': 'object', 'additionalProperties': true},"
    "'Status': {'type': 'object', 'properties': {'status': {'type': 'string'}}},"
    "'Readiness': {'type': 'object', 'properties': {'status': {'enum': ['ready', 'unavailable']},"
    "  'reason': {'type': 'string'}, 'checks': {'type': 'object', 'properties': {"
    "    'store': {'enum': ['ok', 'failed']}, 'changeFeed': {'enum': ['ok', 'down', 'not shared']}}}}},"
    "'Names': {'type': 'array', 'items': {'type': 'string'}},"
    "'AuthInfo': {'type': 'object', 'properties': {'authIdentifier': {'type': 'string'},"
    "  'principalType': {'enum': ['USER', 'GLOBAL_API_KEY']}, 'groups': {'$ref': '#/components/schemas/Names'},"
    "  'admin': {'type': 'boolean'}, 'secrets': {'type': 'array', 'items': {'type': 'object'}}}},"
    "'CreationTag': {'type': 'object', 'properties': {'versionNumber': {'type': 'integer'},"
    "  'lastModifiedBy': {'type': 'object', 'properties': {'login': {'type': 'string'}}},"
    "  'lastModifiedOn': {'type': 'integer', 'description': 'epoch milliseconds'}}},"
    "'Connection': {'type': 'object', 'required': ['name', 'type'], 'additionalProperties': true,"
    "  'description': 'fields not listed are stored and returned unchanged; secret params are e:SCHEME:BASE64 in answers',"
    "  'properties': {'name': {'type': 'string', 'pattern': '^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,127}$'},"
    "    'type': {'type': 'string'}, 'description': {'type': 'string'},"
    "    'params': {'type': 'object', 'additionalProperties': true},"
    "    'usableBy': {'enum': ['ALL', 'ALLOWED']}, 'allowedGroups': {'$ref': '#/components/schemas/Names'},"
    "    'allowWrite': {'type': 'boolean'}, 'allowManagedDatasets': {'type': 'boolean'},"
    "    'allowManagedFolders': {'type': 'boolean'}, 'allowMirror': {'type': 'boolean'},"
    "    'allowKnowledgeBanks': {'type': 'boolean'}, 'maxActivities': {'type': 'integer'},"
    "    'useGlobalProxy': {'type': 'boolean'}, 'credentialsMode': {'enum': ['GLOBAL', 'PER_USER']},"
    "    'detailsReadability': {'type': 'object', 'properties': {'readableBy': {'enum': ['NONE', 'ALL', 'ALLOWED']},"
    "      'allowedGroups': {'$ref': '#/components/schemas/Names'}}},"
    "    'creationTag': {'$ref': '#/components/schemas/CreationTag'}}},"
    "'ConnectionMap': {'type': 'object', 'additionalProperties': {'$ref': '#/components/schemas/Connection'}},"
    "'ConnectionInfo': {'type': 'object', 'properties': {'name': {'type': 'string'}, 'type': {'type': 'string'},"
    "  'credentialsMode': {'type': 'string'}, 'params': {'type': 'object'}, 'resolvedParams': {'type': 'object'},"
    "  'resolvedBasicCredential': {'type': 'object', 'properties': {'user': {'type': 'string'}, 'password': {'type': 'string'}}},"
    "  'resolvedAWSCredential': {'type': 'object', 'properties': {'accessKey': {'type': 'string'}, 'secretKey': {'type': 'string'}}}}},"
    "'TestResult': {'type': 'object', 'properties': {'connectionOK': {'type': 'boolean'},"
    "  'message': {'type': 'string'}, 'durationMs': {'type': 'integer'}}},"
    "'ConnectionStatus': {'type': 'object', 'additionalProperties': {'type': 'object', 'properties': {"
    "  'connectionOK': {'type': 'boolean'}, 'message': {'type': 'string'}, 'durationMs': {'type': 'integer'},"
    "  'testedOn': {'type': 'integer'}, 'stateChangedOn': {'type': 'integer'},"
    "  'stateSinceMs': {'type': 'integer'}, 'successRatio': {'type': 'number'}}}},"
    "'TestHistory': {'type': 'object', 'properties': {'name': {'type': 'string'},"
    "  'results': {'type': 'array', 'items': {'type': 'object', 'properties': {"
    "  'testedOn': {'type': 'integer'}, 'connectionOK': {'type': 'boolean'},"
    "  'category': {'type': 'string'}, 'durationMs': {'type': 'integer'}}}}}},"
    "'ConnectionTypes': {'type': 'array', 'items': {'type': 'object', 'properties': {"
    "  'type': {'type': 'string'}, 'credential': {'enum': ['basic', 'aws', 'none']}, 'testable': {'type': 'boolean'},"
    "  'params': {'type': 'array', 'items': {'type': 'object', 'properties': {'name': {'type': 'string'},"
    "    'required': {'type': 'boolean'}, 'secret': {'type': 'boolean'}, 'default': {}}}}}}},"
    "'Usages': {'type': 'array', 'items': {'type': 'object', 'properties': {'projectKey': {'type': 'string'},"
    "  'datasetName': {'type': 'string'}, 'datasetType': {'type': 'string'}}}},"
    "'History': {'type': 'array', 'items': {'type': 'object', 'properties': {'versionNumber': {'type': 'integer'},"
    "  'modifiedBy': {'type': 'string'}, 'modifiedOn': {'type': 'integer'},"
    "  'action': {'enum': ['create', 'update', 'revert', 'delete']}, 'definition': {'$ref': '#/components/schemas/Connection'}}}},"
    "'Revert': {'type': 'object', 'required': ['versionNumber'], 'properties': {'versionNumber': {'type': 'integer'}}},"
    "'ImportRequest': {'type': 'object', 'required': ['connections'], 'properties': {"
    "  'connections': {'type': 'array', 'items': {'$ref': '#/components/schemas/Connection'}},"
    "  'onConflict': {'enum': ['fail', 'skip', 'overwrite']}, 'dryRun': {'type': 'boolean'}}},"
    "'ImportResult': {'type': 'object', 'properties': {'created': {'$ref': '#/components/schemas/Names'},"
    "  'updated': {'$ref': '#/components/schemas/Names'}, 'skipped': {'$ref': '#/components/schemas/Names'},"
    "  'errors': {'type': 'array', 'items': {'type': 'object', 'properties': {'name': {'type': 'string'}, 'message': {'type': 'string'}}}},"
    "  'dryRun': {'type': 'boolean'}}},"
    "'ApiKey': {'type': 'object', 'additionalProperties': true, 'properties': {'id': {'type': 'string'},"
    "  'key': {'type': 'string', 'description': 'the secret in the answer that creates the key, else a hint'},"
    "  'user': {'type': 'string'}, 'label': {'type': 'string'}, 'description': {'type': 'string'},"
    "  'globalPermissions': {'type': 'object', 'properties': {'admin': {'type': 'boolean'}}},"
    "  'groups': {'$ref': '#/components/schemas/Names'}, 'lifetime': {'type': 'integer'},"
    "  'dssUserForImpersonation': {'type': 'string'}, 'createdOn': {'type': 'integer'},"
    "  'createdBy': {'type': 'string'}, 'expiresOn': {'type': 'integer'}}},"
    "'ApiKeyList': {'type': 'array', 'items': {'$ref': '#/components/schemas/ApiKey'}},"
    "'User': {'type': 'object', 'additionalProperties': true, 'properties': {'login': {'type': 'string'},"
    "  'password': {'type': 'string', 'writeOnly': true}, 'displayName': {'type': 'string'},"
    "  'email': {'type': 'string'}, 'groups': {'$ref': '#/components/schemas/Names'},"
    "  'sourceType': {'type': 'string'}, 'userProfile': {'type': 'string'}, 'enabled': {'type': 'boolean'},"
    "  'creationDate': {'type': 'integer'}, 'credentials': {'type': 'object'}, 'secrets': {'type': 'array'},"
    "  'adminProperties': {'type': 'object'}, 'userProperties': {'type': 'object'}, 'preferences': {'type': 'object'}}},"
    "'UserList': {'type': 'array', 'items': {'$ref': '#/components/schemas/User'}},"
    "'LoginList': {'type': 'array', 'items': {'type': 'string'}},"
    "'UserInfo': {'type': 'object', 'additionalProperties': true, 'properties': {'login': {'type': 'string'},"
    "  'displayName': {'type': 'string'}, 'email': {'type': 'string'}, 'groups': {'$ref': '#/components/schemas/Names'}}},"
    "'UserInfoList': {'type': 'array', 'items': {'$ref': '#/components/schemas/UserInfo'}},"
    "'UserActivity': {'type': 'object', 'properties': {'login': {'type': 'string'}, 'enabled': {'type': 'boolean'},"
    "  'lastSuccessfulLogin': {'type': 'integer'}, 'lastFailedLogin': {'type': 'integer'},"
    "  'lastSessionActivity': {'type': 'integer'}}},"
    "'UserActivityList': {'type': 'array', 'items': {'$ref': '#/components/schemas/UserActivity'}},"
    "'BulkResult': {'type': 'array', 'items': {'type': 'object', 'properties': {'login': {'type': 'string'},"
    "  'status': {'enum': ['SUCCESS', 'FAILURE']}, 'error': {'type': 'string'}}}},"
    "'Group': {'type': 'object', 'additionalProperties': true, 'properties': {'name': {'type': 'string'},"
    "  'description': {'type': 'string'}, 'sourceType': {'type': 'string'}, 'admin': {'type': 'boolean'}}},"
    "'GroupList': {'type': 'array', 'items': {'$ref': '#/components/schemas/Group'}},"
    "'AuditList': {'type': 'array', 'items': {'type': 'object', 'properties': {'ts': {'type': 'integer'},"
    "  'principal': {'type': 'string'}, 'action': {'type': 'string'}, 'object': {'type': 'string'},"
    "  'outcome': {'enum': ['success', 'denied', 'failed']}, 'remoteAddr': {'type': 'string'},"
    "  'requestId': {'type': 'string'}}}},"
    "'Project': {'type': 'object', 'additionalProperties': true, 'properties': {'projectKey': {'type': 'string'},"
    "  'name': {'type': 'string'}, 'owner': {'type': 'string'}, 'description': {'type': 'string'},"
    "  'permissions': {'type': 'array', 'items': {'type': 'object'}}, 'tags': {'$ref': '#/components/schemas/Names'}}},"
    "'ProjectList': {'type': 'array', 'items': {'$ref': '#/components/schemas/Project'}},"
    "'Dataset': {'type': 'object', 'additionalProperties': true, 'properties': {'projectKey': {'type': 'string'},"
    "  'name': {'type': 'string'}, 'type': {'type': 'string'}, 'managed': {'type': 'boolean'},"
    "  'params': {'type': 'object', 'properties': {'connection': {'type': 'string'}}},"
    "  'formatType': {'type': 'string'}, 'formatParams': {'type': 'object'}, 'tags': {'$ref': '#/components/schemas/Names'},"
    "  'schema': {'$ref': '#/components/schemas/Schema'}}},"
    "'DatasetList': {'type': 'array', 'items': {'$ref': '#/components/schemas/Dataset'}},"
    "'Metadata': {'type': 'object', 'additionalProperties': true, 'properties': {'label': {'type': 'string'},"
    "  'description': {'type': 'string'}, 'tags': {'$ref': '#/components/schemas/Names'}, 'custom': {'type': 'object'},"
    "  'checklists': {'type': 'object'}}},"
    "'Schema': {'type': 'object', 'properties': {'columns': {'type': 'array', 'items': {'type': 'object'}},"
    "  'userModified': {'type': 'boolean'}}},"
    "'Permissions': {'type': 'object', 'additionalProperties': true, 'properties': {'owner': {'type': 'string'},"
    "  'permissions': {'type': 'array', 'items': {'type': 'object'}}}},"
    "'ProjectVariables': {'type': 'object', 'properties': {'standard': {'type': 'object'}, 'local': {'type': 'object'}}},"
    "'ChangeConnection': {'type': 'object', 'required': ['from', 'to'], 'properties': {'from': {'type': 'string'},"
    "  'to': {'type': 'string'}, 'datasets': {'$ref': '#/components/schemas/Names'}, 'dryRun': {'type': 'boolean'}}},"
    "'ChangeConnectionResult': {'type': 'object', 'properties': {'changed': {'$ref': '#/components/schemas/Names'},"
    "  'skipped': {'type': 'array', 'items': {'type': 'object'}}, 'dryRun': {'type': 'boolean'}}}"
    "}";
/* clang-format on */

#define N_NOTES (sizeof(notes) / sizeof(notes[0]))

static const struct note *note_for(const struct route *r)
{
    const char *pattern = r->pattern;

    if (strncmp(pattern, API, strlen(API)) == 0)
        pattern += strlen(API);
    for (size_t i = 0; i < N_NOTES; i++)
        if (strcmp(notes[i].method, r->method) == 0 && strcmp(notes[i].pattern, pattern) == 0)
            return &notes[i];
    return NULL;
}

static json_t *ref(const char *schema)
{
    char path[128];
    snprintf(path, sizeof(path), "#/components/schemas/%s", schema);
    return xcheck(json_pack("{s:s}", "$ref", path));
}

static json_t *json_content(json_t *schema)
{
    return xcheck(json_pack("{s:{s:o}}", "application/json", "schema", schema));
}

static void add_error(json_t *responses, const char *status, const char *description)
{
    json_object_set_new(responses, status,
                        xcheck(json_pack("{s:s, s:o}", "description", description, "content",
                                         json_content(ref("Error")))));
}

/* "get_admin_connections_name" for GET /dip/publicapi/admin/connections/{name} */
static char *operation_id(const struct route *r)
{
    const char *p = r->pattern;
    size_t n = 0;
    char *id = xmalloc(strlen(r->method) + strlen(p) + 2);

    if (strncmp(p, API, strlen(API)) == 0)
        p += strlen(API);
    for (const char *m = r->method; *m; m++)
        id[n++] = (char)(*m >= 'A' && *m <= 'Z' ? *m - 'A' + 'a' : *m);
    for (; *p; p++) {
        if (*p == '{' || *p == '}')
            continue;
        id[n++] = (*p == '/' || *p == '-' || *p == '.') ? '_' : *p;
    }
    id[n] = '\0';
    return id;
}

static json_t *path_parameters(const char *pattern)
{
    json_t *params = xcheck(json_array());

    for (const char *p = strchr(pattern, '{'); p; p = strchr(p + 1, '{')) {
        const char *end = strchr(p, '}');
        if (!end)
            break;
        json_array_append_new(params, xcheck(json_pack("{s:s%, s:s, s:b, s:{s:s}}", "name", p + 1,
                                                       (size_t)(end - p - 1), "in", "path",
                                                       "required", 1, "schema", "type", "string")));
    }
    return params;
}

static json_t *operation(const struct route *r)
{
    const struct note *note = note_for(r);
    bool api = strncmp(r->pattern, API, strlen(API)) == 0;
    const char *who = r->access == ROUTE_PUBLIC  ? "no authentication"
                      : r->access == ROUTE_ADMIN ? "admin principals only"
                                                 : "any authenticated principal";
    char *id = operation_id(r);
    char summary[256], description[512];
    json_t *op, *responses = xcheck(json_object()), *ok;

    snprintf(summary, sizeof(summary), "%s", note ? note->summary : r->pattern);
    snprintf(description, sizeof(description), "Who: %s.%s See docs/API.md.", who,
             note && note->extension ? " A Switchboard extension (not in DSS)." : "");
    op = xcheck(json_pack("{s:s, s:s, s:s, s:[s]}", "operationId", id, "summary", summary,
                          "description", description, "tags",
                          note ? note->tag : (api ? "other" : "meta")));
    free(id);
    if (note && note->extension)
        json_object_set_new(op, "x-switchboard-extension", json_true());

    if (strcmp(r->pattern, "/metrics") == 0)
        ok = xcheck(json_pack("{s:s, s:{s:{s:{s:s}}}}", "description", "OK", "content",
                              "text/plain", "schema", "type", "string"));
    else
        ok = xcheck(
            json_pack("{s:s, s:o}", "description", "OK", "content",
                      json_content(ref(note && note->response ? note->response : "Object"))));
    json_object_set_new(responses, "200", ok);
    add_error(responses, "400", "Bad request: the message names the field");
    if (r->access != ROUTE_PUBLIC)
        add_error(responses, "401", "No, unknown, expired or disabled API key");
    if (r->access == ROUTE_ADMIN || strchr(r->pattern, '{'))
        add_error(responses, "403", "Not allowed for this principal");
    if (strchr(r->pattern, '{') || (note && strstr(note->summary, "not provided")))
        add_error(responses, "404", "Unknown object");
    if (strcmp(r->method, "POST") == 0 || strcmp(r->method, "PUT") == 0 ||
        strcmp(r->method, "DELETE") == 0)
        add_error(responses, "409", "Conflict (an existing name, or a write guard)");
    if (note && note->request)
        add_error(responses, "413", "Body over --max-body-size");
    add_error(responses, "500", "Internal error; the message names no secret");
    add_error(responses, "503", "The store is unreachable, or the server is shutting down");
    json_object_set_new(op, "responses", responses);

    if (note && note->request)
        json_object_set_new(op, "requestBody",
                            xcheck(json_pack("{s:b, s:o}", "required", 1, "content",
                                             json_content(ref(note->request)))));
    if (r->access == ROUTE_PUBLIC)
        json_object_set_new(op, "security", xcheck(json_array()));
    if (strchr(r->pattern, '{'))
        json_object_set_new(op, "parameters", path_parameters(r->pattern));
    return op;
}

static json_t *openapi_document(void)
{
    char *text = xstrdup(schemas_text);
    json_error_t jerr;
    json_t *schemas, *paths = xcheck(json_object()), *doc;

    for (char *p = text; *p; p++)
        if (*p == '\'')
            *p = '"';
    schemas = json_loads(text, 0, &jerr);
    free(text);
    if (!schemas)
        schemas = xcheck(json_object()); /* a test catches this: every $ref must resolve */

    for (int i = 0; i < routes_count(); i++) {
        const struct route *r = routes_at(i);
        char method[16];
        size_t n = 0;
        json_t *item = json_object_get(paths, r->pattern);
        if (!item) {
            item = xcheck(json_object());
            json_object_set_new(paths, r->pattern, item);
        }
        for (const char *m = r->method; *m && n + 1 < sizeof(method); m++)
            method[n++] = (char)(*m >= 'A' && *m <= 'Z' ? *m - 'A' + 'a' : *m);
        method[n] = '\0';
        json_object_set_new(item, method, operation(r));
    }

    doc = xcheck(json_pack(
        "{s:s, s:{s:s, s:s, s:s, s:{s:s, s:s}}, s:[{s:s, s:s}], s:o,"
        " s:{s:o, s:{s:{s:s, s:s, s:s}, s:{s:s, s:s, s:s}}}, s:[{s:[]}, {s:[]}],"
        " s:[{s:s, s:s}, {s:s, s:s}, {s:s, s:s}, {s:s, s:s}, {s:s, s:s}, {s:s, s:s},"
        " {s:s, s:s}, {s:s, s:s}]}",
        "openapi", "3.1.0", "info", "title", "Switchboard", "version", SB_VERSION, "description",
        "The Dataiku DSS public API for connections and the security objects around them, as "
        "Switchboard serves it, with its extensions (x-switchboard-extension). Generated from "
        "the route table; the reference in prose is docs/API.md.",
        "license", "name", "Apache-2.0", "identifier", "Apache-2.0", "servers", "url",
        "http://127.0.0.1:11200", "description", "the default listen address", "paths", paths,
        "components", "schemas", schemas, "securitySchemes", "basicKey", "type", "http", "scheme",
        "basic", "description",
        "The API key as the user name of HTTP Basic authentication, with an empty password",
        "bearerKey", "type", "http", "scheme", "bearer", "description",
        "The API key as a "
        "Bearer token",
        "security", "basicKey", "bearerKey", "tags", "name", "meta", "description",
        "Health, metrics, this document, who the caller is", "name", "connections", "description",
        "Connection definitions, details, live tests", "name", "keys", "description",
        "Global and personal API keys", "name", "users", "description",
        "Users, groups, the current user", "name", "variables", "description",
        "Instance and project variables", "name", "audit", "description", "The audit trail", "name",
        "projects", "description", "Projects and datasets (the subset connections need)", "name",
        "other", "description", "Routes without a note in src/api/openapi.c yet"));
    return doc;
}

void api_meta_openapi(struct request *req)
{
    reply_json(req, 200, openapi_document());
}
