/* SPDX-License-Identifier: Apache-2.0 */
/* libswitchboard-client: a C client of a Switchboard server (the Dataiku DSS public REST API for
 * connections and the security objects around them), on libcurl and jansson. A handle is made
 * from a URL and an API key; there is one function per operation; every failure fills one
 * struct sbc_error with the HTTP status, the server's errorType and its detailedMessage.
 *
 * Conventions, for every function below:
 * - The return value is SBC_OK (0) or the kind of failure, always equal to err->status, so that
 *   `rc = sbc_...(...); if (rc) goto out;` reads. ERR may not be NULL; on SBC_OK it is cleared.
 * - A `json_t **out` receives a new reference that the caller releases with json_decref(); on
 *   failure *out is NULL. Passing out = NULL discards the answer.
 * - `const json_t *` arguments are borrowed: the library neither keeps nor releases them.
 * - Strings are NUL-terminated UTF-8 and borrowed. Names given to the library (connections,
 *   users, groups, keys, projects) are percent-encoded by it; never encode them yourself.
 * - A handle is not thread-safe: use one per thread. It keeps its HTTP/1.1 connection open
 *   between calls. Call sbc_global_init() once before the first handle and
 *   sbc_global_cleanup() once after the last (libcurl's global set-up).
 * - TLS certificates and host names are verified unless sbc_options.insecure is set.
 * - Out of memory is an error like the others (SBC_ERR_NO_MEMORY): the library never aborts
 *   the program that links it.
 */
#ifndef SWITCHBOARD_CLIENT_H
#define SWITCHBOARD_CLIENT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum sbc_status {
    SBC_OK = 0,
    SBC_ERR_SERVER,      /* the server answered with an error (http_status >= 300) */
    SBC_ERR_UNREACHABLE, /* no connection: name not resolved, refused, connect timeout */
    SBC_ERR_TRANSPORT,   /* connected, but the exchange failed (TLS, reset, timeout) */
    SBC_ERR_BAD_ANSWER,  /* a success status whose body is not the JSON expected */
    SBC_ERR_ARGUMENT,    /* an argument the library cannot use (bad URL, missing name) */
    SBC_ERR_NO_MEMORY,   /* memory ran out (error_type "OutOfMemory") */
};

#define SBC_ERROR_TYPE_MAX 64
#define SBC_ERROR_MESSAGE_MAX 1024

struct sbc_error {
    enum sbc_status status;
    long http_status;                    /* 0 when no HTTP answer arrived */
    char error_type[SBC_ERROR_TYPE_MAX]; /* the server's errorType ("NotFound"...), or the
                                            library's: "Unreachable", "TransportError",
                                            "BadAnswer", "BadArgument" */
    char message[SBC_ERROR_MESSAGE_MAX]; /* the server's detailedMessage (else message), or
                                            the library's; never holds the API key */
};

struct sbc_options {
    const char *ca_file;    /* PEM bundle to verify the server's certificate; NULL: system's */
    bool insecure;          /* skip TLS certificate and host-name verification */
    long connect_timeout_s; /* 0 means 10 */
    long timeout_s;         /* whole exchange; 0 means 120 */
};

struct sbc_client; /* opaque */

/* libcurl's global set-up and tear-down: once per program, before the first handle and after
 * the last one is freed. sbc_global_init returns SBC_OK or SBC_ERR_TRANSPORT. */
enum sbc_status sbc_global_init(void);
void sbc_global_cleanup(void);

/* Makes a handle for the server at URL ("http://host:port" or "https://...", any path prefix
 * before /dip/publicapi kept) authenticating with API_KEY (sent as a Bearer token). OPTIONS
 * may be NULL (defaults). OUT: *client, which the caller frees with sbc_client_free. Both
 * strings are copied. */
enum sbc_status sbc_client_new(const char *url, const char *api_key,
                               const struct sbc_options *options, struct sbc_client **client,
                               struct sbc_error *err);

/* Closes the connection, wipes the copy of the key and frees CLIENT (NULL is fine). */
void sbc_client_free(struct sbc_client *client);

/* Called while a request body is being sent: SENT of TOTAL bytes so far (several times a
 * second, and once at the end); CTX is the one given to sbc_client_set_progress. */
typedef void (*sbc_progress_fn)(void *ctx, uint64_t sent, uint64_t total);

/* Reports the upload progress of CLIENT's request bodies to PROGRESS (NULL: no more). */
void sbc_client_set_progress(struct sbc_client *client, sbc_progress_fn progress, void *ctx);

/* The base URL the handle talks to, without a trailing slash; owned by CLIENT. */
const char *sbc_client_url(const struct sbc_client *client);

/* One request to PATH under /dip/publicapi (PATH starts with '/'; its segments must already be
 * encoded, see sbc_escape_segment). METHOD is "GET", "POST", "PUT" or "DELETE"; BODY (borrowed,
 * may be NULL) is sent as JSON. OUT: the answer's JSON ({} for an empty body). */
enum sbc_status sbc_request(struct sbc_client *client, const char *method, const char *path,
                            const json_t *body, json_t **out, struct sbc_error *err);

/* SEGMENT percent-encoded for one path segment or query value: every byte but A-Z a-z 0-9
 * - . _ ~ becomes %XX. Caller frees with free(); NULL when memory ran out. */
char *sbc_escape_segment(const char *segment);

/* ---- connections ---- */

/* GET /admin/connections/: OUT an object, connection name -> definition (with id, label). */
enum sbc_status sbc_connections_list(struct sbc_client *client, json_t **out,
                                     struct sbc_error *err);

/* GET /connections/get-names?type=TYPE (NULL: all): OUT an array of names the key may use. */
enum sbc_status sbc_connection_names(struct sbc_client *client, const char *type, json_t **out,
                                     struct sbc_error *err);

/* GET /admin/connections/{name}: OUT the definition (secrets in encrypted form). */
enum sbc_status sbc_connection_get(struct sbc_client *client, const char *name, json_t **out,
                                   struct sbc_error *err);

/* POST /admin/connections/ with DEFINITION (which holds name and type): OUT the stored one. */
enum sbc_status sbc_connection_create(struct sbc_client *client, const json_t *definition,
                                      json_t **out, struct sbc_error *err);

/* PUT /admin/connections/{name} with the whole DEFINITION; the last write wins, unless the
 * server runs with --write-guards: then, when DEFINITION carries creationTag.versionNumber and
 * someone saved a newer version since, it refuses with http_status 409 (error_type
 * "Conflict"). OUT: the stored definition. */
enum sbc_status sbc_connection_save(struct sbc_client *client, const char *name,
                                    const json_t *definition, json_t **out, struct sbc_error *err);

/* sbc_connection_save that only applies while the stored definition is still at VERSION (its
 * creationTag.versionNumber when read): it sends If-Match, and the server refuses a newer one
 * with http_status 412 (error_type "PreconditionFailed"). A negative VERSION sends none. */
enum sbc_status sbc_connection_save_if_match(struct sbc_client *client, const char *name,
                                             const json_t *definition, long long version,
                                             json_t **out, struct sbc_error *err);

/* DELETE /admin/connections/{name}. A server with --write-guards refuses to delete a connection
 * that datasets use (409) unless FORCE. */
enum sbc_status sbc_connection_delete(struct sbc_client *client, const char *name, bool force,
                                      struct sbc_error *err);

/* GET /connections/{name}/test: OUT {"connectionOK", "message", "durationMs"}. A failed test is
 * SBC_OK with connectionOK false. */
enum sbc_status sbc_connection_test(struct sbc_client *client, const char *name, json_t **out,
                                    struct sbc_error *err);

/* GET /connections/{name}/info[?contextualProjectKey=PROJECT_KEY] (PROJECT_KEY may be NULL):
 * OUT {"name", "type", "params", "resolvedParams", ...}; resolvedParams holds plaintext
 * secrets: treat OUT with care. */
enum sbc_status sbc_connection_info(struct sbc_client *client, const char *name,
                                    const char *project_key, json_t **out, struct sbc_error *err);

/* GET /admin/connections/{name}/usages: OUT [{"projectKey","datasetName","datasetType"}]. */
enum sbc_status sbc_connection_usages(struct sbc_client *client, const char *name, json_t **out,
                                      struct sbc_error *err);

/* GET /admin/connections/{name}/history: OUT [{"versionNumber","modifiedBy","modifiedOn",
 * "action","definition"}], oldest first. */
enum sbc_status sbc_connection_history(struct sbc_client *client, const char *name, json_t **out,
                                       struct sbc_error *err);

/* POST /admin/connections/{name}/actions/revert: a new version equal to VERSION. OUT: the new
 * definition. */
enum sbc_status sbc_connection_revert(struct sbc_client *client, const char *name,
                                      long long version, json_t **out, struct sbc_error *err);

/* POST /admin/connections/actions/import with CONNECTIONS (an array of definitions),
 * ON_CONFLICT ("fail", "skip" or "overwrite"; NULL: the server's default, fail) and DRY_RUN.
 * OUT {"created","updated","skipped","errors":[{"name","message"}],"dryRun"}: item errors are
 * SBC_OK answers; look at "errors". */
enum sbc_status sbc_connections_import(struct sbc_client *client, const json_t *connections,
                                       const char *on_conflict, bool dry_run, json_t **out,
                                       struct sbc_error *err);

/* ---- global API keys, users, groups ---- */

/* GET /admin/global-api-keys/: OUT an array of key definitions (without the keys). */
enum sbc_status sbc_global_keys_list(struct sbc_client *client, json_t **out,
                                     struct sbc_error *err);

/* POST /admin/global-api-keys/ with LABEL, DESCRIPTION (either may be NULL), ADMIN and the
 * N_GROUPS names in GROUPS. OUT: the definition with "key", the secret, shown only here. */
enum sbc_status sbc_global_key_create(struct sbc_client *client, const char *label,
                                      const char *description, bool admin,
                                      const char *const *groups, size_t n_groups, json_t **out,
                                      struct sbc_error *err);

/* DELETE /admin/global-api-keys/{id}. */
enum sbc_status sbc_global_key_delete(struct sbc_client *client, const char *id,
                                      struct sbc_error *err);

/* GET /admin/users/: OUT an array of users. */
enum sbc_status sbc_users_list(struct sbc_client *client, json_t **out, struct sbc_error *err);

/* POST /admin/users/ with USER ({"login","password","displayName","email","groups",...}).
 * OUT: the stored user (never the password). */
enum sbc_status sbc_user_create(struct sbc_client *client, const json_t *user, json_t **out,
                                struct sbc_error *err);

/* DELETE /admin/users/{login}. */
enum sbc_status sbc_user_delete(struct sbc_client *client, const char *login,
                                struct sbc_error *err);

/* GET /admin/groups/: OUT an array of groups. */
enum sbc_status sbc_groups_list(struct sbc_client *client, json_t **out, struct sbc_error *err);

/* POST /admin/groups/ with NAME, DESCRIPTION (may be NULL) and ADMIN (its members become
 * admins). OUT: the stored group. */
enum sbc_status sbc_group_create(struct sbc_client *client, const char *name,
                                 const char *description, bool admin, json_t **out,
                                 struct sbc_error *err);

/* DELETE /admin/groups/{name}. */
enum sbc_status sbc_group_delete(struct sbc_client *client, const char *name,
                                 struct sbc_error *err);

/* ---- projects ---- */

/* POST /projects/{key}/actions/change-connection: moves the datasets of project KEY from
 * connection FROM to TO; only the N_DATASETS names in DATASETS when N_DATASETS > 0. OUT
 * {"changed":[names],"skipped":[{"name","reason"}],"dryRun"}. */
enum sbc_status sbc_project_change_connection(struct sbc_client *client, const char *key,
                                              const char *from, const char *to,
                                              const char *const *datasets, size_t n_datasets,
                                              bool dry_run, json_t **out, struct sbc_error *err);

#ifdef __cplusplus
}
#endif

#endif
