/* SPDX-License-Identifier: Apache-2.0 */
/* The service layer: one call per change, between the handlers (src/api/, which parse a request,
 * make one call and answer) and the store. A call validates its input, checks that its actor may
 * make the change, seals the secrets, writes the change (with its history rows) and its audit
 * record in its actor's write (service/write.h: one store transaction, opened by the dispatcher
 * for every audited route), and has what the server keeps in memory (the catalog, the probe
 * state) hear of the change once that write committed. Nothing here knows of HTTP: a caller is
 * an actor, which the HTTP layer makes of a request (req_actor) and a test makes by hand. */
#ifndef SB_SERVICE_H
#define SB_SERVICE_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/err.h"
#include "core/session.h"
#include "service/write.h"
#include "store/store.h"

struct app;
struct principal;

/* Who makes a change, in which write, and what its audit record says of where it came from. */
struct actor {
    struct app *app;
    const struct principal *principal; /* who acts; NULL when nobody authenticated */
    struct write_tx *write;            /* the write the change joins, or NULL: its own */
    const char *request_id;            /* for the audit record; NULL: "-" */
    const char *addr;                  /* the client's numeric address; NULL or "": "-" */
    char object[128]; /* what the change is about, when the caller's names do not say (set by
                         the service: "PROJECT/dataset" of a dataset created) */
};

/* The login of A's principal ("-" when nobody authenticated). */
const char *actor_login(const struct actor *a);

/* The frame of one change. Between svc_begin and svc_end, A->write is the write the change
 * joins: A's own (the route's, whose failure rolls everything back), or when A has none (a
 * caller outside HTTP) one opened for the change alone. What the change publishes
 * (write_publish_def...) goes to the catalog once that write committed. */
struct svc_change {
    struct write_tx own;
    bool owned;
};

enum sb_err_kind svc_begin(struct actor *a, struct svc_change *c, struct sb_err *err);

/* Ends the change of svc_begin with RC, the change's outcome: on SB_OK, appends the record of
 * ACTION on OBJECT (a success; none when ACTION is NULL) to the write, and commits a write of
 * the change's own; otherwise rolls that back. Returns RC, or the commit's failure (in ERR);
 * on failure *OUT (the change's result, when OUT is not NULL) is released and set to NULL. */
enum sb_err_kind svc_end(struct actor *a, struct svc_change *c, enum sb_err_kind rc,
                         const char *action, const char *object, json_t **out, struct sb_err *err);

/* Whether the create of ID (a name from a create's body, NULL when it has none) in COLL (users,
 * groups or projects) must stop here: ID exists (SB_ERR_CONFLICT in ERR, whatever else the body
 * holds: docs/API.md §3), or the store failed. The store's insert checks again. */
bool svc_name_taken(struct store *st, enum store_collection coll, const char *id,
                    struct sb_err *err);

/* ---- connections (src/service/connections.c) ---- */

/* Creates the connection BODY defines; *OUT (new reference) is its definition as stored, secrets
 * sealed. SB_ERR_CONFLICT when the name is taken, whatever else BODY holds. On PostgreSQL it
 * commits the actor's write (its version is known only then: store_conn_insert_later), so it
 * is the last change a handler makes in its write. */
enum sb_err_kind svc_conn_create(struct actor *a, const json_t *body, json_t **out,
                                 struct sb_err *err);

/* svc_conn_create answering the definition's compact JSON text: *TEXT (malloc'd, the caller
 * frees it; NULL on failure) is json_dumps of svc_conn_create's *OUT with JSON_COMPACT, the
 * very text the store holds (one dump per create, not three). */
enum sb_err_kind svc_conn_create_text(struct actor *a, const json_t *body, char **text,
                                      struct sb_err *err);

/* Replaces connection NAME by BODY; IF_MATCH is the version the caller read (-1: any, and without
 * write guards the last write wins). *OUT as for svc_conn_create. */
enum sb_err_kind svc_conn_update(struct actor *a, const char *name, const json_t *body,
                                 int64_t if_match, json_t **out, struct sb_err *err);

/* svc_conn_update answering the definition's compact JSON text, as svc_conn_create_text. */
enum sb_err_kind svc_conn_update_text(struct actor *a, const char *name, const json_t *body,
                                      int64_t if_match, char **text, struct sb_err *err);

/* Deletes connection NAME (at IF_MATCH, when not -1). FORCE deletes it even when datasets name
 * it, which write guards refuse otherwise (without them, DSS's way: always). */
enum sb_err_kind svc_conn_delete(struct actor *a, const char *name, int64_t if_match, bool force,
                                 struct sb_err *err);

/* Makes version VERSION of connection NAME's history its current definition again (*OUT). */
enum sb_err_kind svc_conn_revert(struct actor *a, const char *name, const json_t *version,
                                 json_t **out, struct sb_err *err);

/* Imports the connections of BODY ({connections, onConflict, dryRun}); *OUT: {created, updated,
 * skipped, errors, dryRun}. */
enum sb_err_kind svc_conn_import(struct actor *a, const json_t *body, json_t **out,
                                 struct sb_err *err);

/* The details of connection NAME for use by A (GET /connections/{name}/info), its params
 * resolved with the variables of project PROJECT_KEY (NULL or "": none), which A must be able to
 * read: *OUT (new reference). Every read is recorded, refusals included. */
enum sb_err_kind svc_conn_details(struct actor *a, const char *name, const char *project_key,
                                  json_t **out, struct sb_err *err);

/* A's own user secrets, opened, as [{"key","value"}] (GET /auth/info with withSecrets; an empty
 * array for a global key): *OUT (new reference). The read is recorded, a failure too. */
enum sb_err_kind svc_own_secrets(struct actor *a, json_t **out, struct sb_err *err);

/* ---- live tests of connections (src/service/livetest.c) ---- */

struct probe_job;

/* Starts a live test of connection NAME for A: SB_ERR_NOT_FOUND, or SB_ERR_FORBIDDEN (recorded)
 * when A may not use it. Otherwise *JOB (free with probes_job_free) is the job to submit to the
 * prober's pool, or, when the definition lacks what a test needs, NULL with *OUT (new
 * reference) the answer already (recorded as failed). */
enum sb_err_kind svc_conn_test_start(struct actor *a, const char *name, struct probe_job **job,
                                     json_t **out, struct sb_err *err);

/* The answer of the test JOB ran for A (new reference), recorded in the audit trail. */
json_t *svc_conn_test_result(struct actor *a, const struct probe_job *job);

/* ---- projects (src/service/projects.c) ---- */

/* *OUT (new reference): project KEY when A may read it (WRITE: change it); otherwise
 * SB_ERR_BAD_REQUEST (not a project key), SB_ERR_NOT_FOUND or SB_ERR_FORBIDDEN. */
enum sb_err_kind svc_project_get(struct actor *a, const char *key, bool write, json_t **out,
                                 struct sb_err *err);

/* svc_begin, then svc_project_get of KEY for a change (*PROJECT); end with svc_end whatever
 * it returns. */
enum sb_err_kind svc_project_begin(struct actor *a, struct svc_change *c, const char *key,
                                   json_t **project, struct sb_err *err);

/* Creates the project BODY defines, with default variables; *OUT: its record. */
enum sb_err_kind svc_project_create(struct actor *a, const json_t *body, json_t **out,
                                    struct sb_err *err);

/* Deletes project KEY and everything in it. */
enum sb_err_kind svc_project_delete(struct actor *a, const char *key, struct sb_err *err);

/* Sets project KEY's metadata (any writer) or permissions (a project admin) from BODY; *OUT:
 * them as stored. */
enum sb_err_kind svc_project_set_metadata(struct actor *a, const char *key, const json_t *body,
                                          json_t **out, struct sb_err *err);
enum sb_err_kind svc_project_set_permissions(struct actor *a, const char *key, const json_t *body,
                                             json_t **out, struct sb_err *err);

/* Replaces project KEY's variables by BODY ({standard, local}); *OUT: them as stored. */
enum sb_err_kind svc_project_set_variables(struct actor *a, const char *key, const json_t *body,
                                           json_t **out, struct sb_err *err);

/* Moves the datasets of project KEY from connection BODY.from to BODY.to (BODY.datasets: only
 * those; BODY.dryRun: only say what would move); *OUT: {changed, skipped, dryRun}. */
enum sb_err_kind svc_project_change_connection(struct actor *a, const char *key, const json_t *body,
                                               json_t **out, struct sb_err *err);

/* ---- datasets (src/service/datasets.c); *OUT is the dataset as served ---- */

/* Creates the dataset BODY defines in project KEY (A->object then names it, "KEY/name"). */
enum sb_err_kind svc_dataset_create(struct actor *a, const char *key, const json_t *body,
                                    json_t **out, struct sb_err *err);

/* The same for a managed dataset, stored into BODY's creationSettings.connectionId and typed
 * after that connection. */
enum sb_err_kind svc_dataset_create_managed(struct actor *a, const char *key, const json_t *body,
                                            json_t **out, struct sb_err *err);

/* Replaces dataset NAME of project KEY by BODY (its creationTag stays as stored). */
enum sb_err_kind svc_dataset_update(struct actor *a, const char *key, const char *name,
                                    const json_t *body, json_t **out, struct sb_err *err);

enum sb_err_kind svc_dataset_delete(struct actor *a, const char *key, const char *name,
                                    struct sb_err *err);

/* Sets dataset NAME's metadata, or its schema, from BODY; *OUT: them as stored. */
enum sb_err_kind svc_dataset_set_metadata(struct actor *a, const char *key, const char *name,
                                          const json_t *body, json_t **out, struct sb_err *err);
enum sb_err_kind svc_dataset_set_schema(struct actor *a, const char *key, const char *name,
                                        const json_t *body, json_t **out, struct sb_err *err);

/* ---- users and groups (src/service/users.c) ---- */

/* The login of A's principal when it is a user acting for themselves (PUT /current-user, personal
 * API keys); otherwise NULL and a 403 in ERR (a global API key is nobody's). */
const char *svc_self_login(const struct actor *a, struct sb_err *err);

/* Creates the user BODY defines (secrets sealed, password hashed); *OUT (new reference) is its
 * settings view. SB_ERR_CONFLICT when the login is taken. */
enum sb_err_kind svc_user_create(struct actor *a, const json_t *body, json_t **out,
                                 struct sb_err *err);

/* Replaces user LOGIN's settings by BODY (an admin's edit); *OUT as for svc_user_create. */
enum sb_err_kind svc_user_update(struct actor *a, const char *login, const json_t *body,
                                 json_t **out, struct sb_err *err);

/* The edit by A's user of their own settings (PUT /current-user): groups, enabled and
 * adminProperties may not change, and a sealed secret is taken only where it is stored. */
enum sb_err_kind svc_user_update_self(struct actor *a, const json_t *body, json_t **out,
                                      struct sb_err *err);

/* Deletes user LOGIN with their personal keys and credentials; a user deletes themselves only
 * with ALLOW_SELF (allowSelfDeletion=true). */
enum sb_err_kind svc_user_delete(struct actor *a, const char *login, bool allow_self,
                                 struct sb_err *err);

enum svc_users_bulk { SVC_USERS_BULK_CREATE, SVC_USERS_BULK_EDIT, SVC_USERS_BULK_DELETE };

/* Applies OP to every entry of the array BODY (user definitions; for an edit, what changes of
 * each; for a delete, logins) in one transaction; *OUT (new reference): one {login, status,
 * error} per entry. A refused entry fails alone; a store failure fails the call. */
enum sb_err_kind svc_users_bulk(struct actor *a, enum svc_users_bulk op, const json_t *body,
                                bool allow_self, json_t **out, struct sb_err *err);

/* Creates the group BODY defines (NAME NULL), or replaces group NAME by BODY; *OUT (new
 * reference) its record. */
enum sb_err_kind svc_group_put(struct actor *a, const char *name, const json_t *body, json_t **out,
                               struct sb_err *err);

/* Deletes group NAME and removes it from every user and global API key. */
enum sb_err_kind svc_group_delete(struct actor *a, const char *name, struct sb_err *err);

/* ---- API keys (src/service/keys.c) ---- */

/* REC with the hint every answer after a key's creation carries as "key" (one showing nothing
 * for a record stored before hints existed). Returns REC. */
json_t *svc_key_with_hint(json_t *rec);

/* Creates a global key from BODY, made by A; *OUT (new reference) its record with "key", the
 * key itself, which is stored nowhere (only its keyed hash is). */
enum sb_err_kind svc_key_global_create(struct actor *a, const json_t *body, json_t **out,
                                       struct sb_err *err);

/* Updates global key ID from BODY; *OUT (new reference) its record (with the key's hint). */
enum sb_err_kind svc_key_global_update(struct actor *a, const char *id, const json_t *body,
                                       json_t **out, struct sb_err *err);

enum sb_err_kind svc_key_global_delete(struct actor *a, const char *id, struct sb_err *err);

/* The login of A's principal when it is a user, whose personal keys A may manage; otherwise
 * NULL and a 403 in ERR. */
const char *svc_key_owner(const struct actor *a, struct sb_err *err);

/* Creates a personal key of A's user (svc_key_personal_create) or, by an admin, of the user
 * BODY.user names (svc_key_personal_create_for), up to --max-personal-keys each; *OUT as for
 * svc_key_global_create. */
enum sb_err_kind svc_key_personal_create(struct actor *a, const json_t *body, json_t **out,
                                         struct sb_err *err);
enum sb_err_kind svc_key_personal_create_for(struct actor *a, const json_t *body, json_t **out,
                                             struct sb_err *err);

/* *OUT (new reference): personal key ID when it is A's user's or A is an admin; otherwise
 * SB_ERR_NOT_FOUND or SB_ERR_FORBIDDEN. */
enum sb_err_kind svc_key_personal_get(struct actor *a, const char *id, json_t **out,
                                      struct sb_err *err);

/* Updates, or deletes, personal key ID, when svc_key_personal_get lets A read it. */
enum sb_err_kind svc_key_personal_update(struct actor *a, const char *id, const json_t *body,
                                         json_t **out, struct sb_err *err);
enum sb_err_kind svc_key_personal_delete(struct actor *a, const char *id, struct sb_err *err);

/* ---- console sessions (src/service/sessions.c) ---- */

/* Opens a session for A's principal, who signed in with a password (LOGIN, and STAMP the stamp of
 * their password hash) or with an API key (LOGIN NULL, KEY_HEX its keyed hash), at NOW: purges
 * the sessions past their time, then stores the session's record and the audit record of the
 * sign-in in one write. *TOKEN is the session's token (for the cookie; stored nowhere, wiped on
 * failure), *ID its id, *OUT (new reference) its record. */
enum sb_err_kind svc_session_open(struct actor *a, const char *login, const char *stamp,
                                  const char *key_hex, int64_t now,
                                  char token[SESSION_TOKEN_CHARS + 1],
                                  char id[SESSION_ID_CHARS + 1], json_t **out, struct sb_err *err);

/* Ends session ID (one gone already counts as ended) with the audit record of the sign-out, in
 * one write. */
enum sb_err_kind svc_session_close(struct actor *a, const char *id, struct sb_err *err);

/* ---- instance variables (src/service/variables.c) ---- */

/* Replaces the instance variables by BODY (a JSON object); *OUT (new reference) them as set. */
enum sb_err_kind svc_variables_set(struct actor *a, const json_t *body, json_t **out,
                                   struct sb_err *err);

#endif
