/* SPDX-License-Identifier: Apache-2.0 */
/* The reads that open secrets, each recorded in the audit trail (docs/API.md §8), refusals and
 * failures included: a connection's details for use (GET /connections/{name}/info, docs/API.md
 * §4.4: who may read them, the caller's own credential of a PER_USER connection, the params
 * resolved with a project's variables), and a user's own secrets (GET /auth/info with
 * withSecrets). */
#include <string.h>

#include "app.h"
#include "core/catalog.h"
#include "core/conn.h"
#include "core/principal.h"
#include "core/projects.h"
#include "core/secrets.h"
#include "service/audit.h"
#include "service/params.h"
#include "service/service.h"
#include "store/store.h"
#include "util/mem.h"

/* The caller's own credential for connection NAME (PER_USER mode), opened, into *OUT (new
 * reference): SB_ERR_FORBIDDEN when A is no user or has stored none. */
static enum sb_err_kind own_credential(struct actor *a, const char *name, json_t **out,
                                       struct sb_err *err)
{
    const char *login = actor_login(a);
    json_t *user, *cred, *holder, *opened;

    if (!a->principal || a->principal->type != PRINCIPAL_USER)
        return sb_err_set(err, SB_ERR_FORBIDDEN,
                          "Connection '%s' uses per-user credentials: call with a personal API "
                          "key of a user who has stored a credential for it.",
                          name);
    if (store_obj_get(a->app->store, STORE_USERS, login, &user, err) != SB_OK)
        return err->kind;
    cred = json_object_get(json_object_get(user, "credentials"), name);
    if (!json_is_object(cred)) {
        json_decref(user);
        return sb_err_set(err, SB_ERR_FORBIDDEN,
                          "User '%s' has no credential for connection '%s', which uses per-user "
                          "credentials; store one in the user's settings (credentials).",
                          login, name);
    }
    holder = xcheck(json_pack("{s:{s:O}}", "credentials", name, cred));
    json_decref(user);
    if (secrets_open_user(&a->app->secrets, login, holder, &opened, err) == SB_OK) {
        *out = json_incref(json_object_get(json_object_get(opened, "credentials"), name));
        json_decref(opened);
    }
    json_decref(holder);
    return *out ? SB_OK : err->kind;
}

/* The variables of project KEY (NULL or "": none) into *OUT (new reference, or NULL); A must be
 * able to read the project. */
static enum sb_err_kind project_variables(struct actor *a, const char *key, json_t **out,
                                          struct sb_err *err)
{
    json_t *project;

    if (!key || !*key)
        return SB_OK;
    if (svc_project_get(a, key, false, &project, err) != SB_OK)
        return err->kind;
    json_decref(project);
    if (store_obj_get(a->app->store, STORE_PROJECT_VARIABLES, key, out, err) != SB_OK &&
        err->kind != SB_ERR_NOT_FOUND)
        return err->kind;
    return SB_OK;
}

/* The definition the details are read from, into *DEF (new reference): the catalog's copy on a
 * store of its own (the catalog is patched before every write's answer, so it is never older
 * than the store); the store's on a shared store, where another node's change reaches the
 * catalog only later, and an access right just revoked there must not still open a credential
 * here. */
static enum sb_err_kind definition(struct actor *a, const char *name, json_t **def,
                                   struct sb_err *err)
{
    struct catalog_entry *e;

    if (a->app->sync)
        return store_conn_get(a->app->store, name, def, err);
    if (!(e = catalog_get(a->app->catalog, name)))
        return sb_err_set(err, SB_ERR_NOT_FOUND, "Connection '%s' does not exist.", name);
    *def = catalog_entry_def(a->app->catalog, e); /* shared: read only */
    catalog_entry_release(e);
    if (!*def)
        return sb_err_set(err, SB_ERR_INTERNAL, "The definition of connection '%s' cannot be read.",
                          name);
    return SB_OK;
}

/* Whether A may read the details of DEF (connection NAME); the error says why not. */
static bool readable(struct actor *a, const json_t *def, const char *name, struct sb_err *err)
{
    if (!a->principal || !conn_usable_by(def, a->principal)) {
        sb_err_set(err, SB_ERR_FORBIDDEN, "Connection '%s' is not usable by '%s'.", name,
                   actor_login(a));
        return false;
    }
    if (!conn_details_readable(def, a->principal)) {
        sb_err_set(err, SB_ERR_FORBIDDEN,
                   "The details of connection '%s' are not readable by '%s' "
                   "(see its detailsReadability).",
                   name, actor_login(a));
        return false;
    }
    return true;
}

/* The answer of /info for DEF (connection NAME) with its RESOLVED params. New reference. */
static json_t *details_of(const json_t *def, const char *name, const char *mode,
                          const json_t *resolved)
{
    json_t *out = xcheck(json_pack(
        "{s:s, s:O, s:s, s:o, s:O}", "name", name, "type", json_object_get(def, "type"),
        "credentialsMode", mode ? mode : "GLOBAL", "params",
        secrets_strip_params(json_object_get(def, "params")), "resolvedParams", resolved));

    switch (conn_credential_shape(def)) {
    case CONN_CREDENTIAL_BASIC:
        json_object_set_new(
            out, "resolvedBasicCredential",
            xcheck(json_pack("{s:O?, s:O?}", "user", json_object_get(resolved, "user"), "password",
                             json_object_get(resolved, "password"))));
        break;
    case CONN_CREDENTIAL_AWS:
        json_object_set_new(
            out, "resolvedAWSCredential",
            xcheck(json_pack("{s:O?, s:O?}", "accessKey", json_object_get(resolved, "accessKey"),
                             "secretKey", json_object_get(resolved, "secretKey"))));
        break;
    case CONN_CREDENTIAL_NONE: break;
    }
    return out;
}

enum sb_err_kind svc_conn_details(struct actor *a, const char *name, const char *project_key,
                                  json_t **out, struct sb_err *err)
{
    json_t *def = NULL, *resolved = NULL, *cred = NULL, *project_vars = NULL;
    const char *mode;
    enum sb_err_kind rc;

    *out = NULL;
    if (definition(a, name, &def, err) != SB_OK)
        return err->kind;
    mode = json_string_value(json_object_get(def, "credentialsMode"));
    if (!readable(a, def, name, err) ||
        (mode && strcmp(mode, "PER_USER") == 0 && own_credential(a, name, &cred, err) != SB_OK)) {
        audit_record_read(a, "connection.read-details", name, "denied");
        rc = err->kind;
        goto out;
    }
    rc = project_variables(a, project_key, &project_vars, err);
    if (rc == SB_OK)
        rc = svc_resolve_params(a->app, def, project_vars, &resolved, err);
    if (rc != SB_OK)
        goto out;
    if (cred) {
        json_object_set(resolved, "user", json_object_get(cred, "user"));
        json_object_set(resolved, "password", json_object_get(cred, "password"));
    }
    *out = details_of(def, name, mode, resolved);
    audit_record_read(a, "connection.read-details", name, "success");
out:
    json_decref(def);
    json_decref(resolved);
    json_decref(cred);
    json_decref(project_vars);
    return rc;
}

/* A's own user secrets, opened, as [{"key","value"}] into *OUT (new reference); an empty array
 * for a global key. */
static enum sb_err_kind own_secrets(struct actor *a, json_t **out, struct sb_err *err)
{
    const char *login = actor_login(a);
    json_t *rec, *open, *entry;
    size_t i;

    *out = xcheck(json_array());
    if (!a->principal || a->principal->type != PRINCIPAL_USER)
        return SB_OK;
    if (store_obj_get(a->app->store, STORE_USERS, login, &rec, err) != SB_OK)
        return err->kind;
    if (secrets_open_user(&a->app->secrets, login, rec, &open, err) != SB_OK) {
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

enum sb_err_kind svc_own_secrets(struct actor *a, json_t **out, struct sb_err *err)
{
    enum sb_err_kind rc = own_secrets(a, out, err);

    audit_record_read(a, "user.secrets.read", actor_login(a), rc == SB_OK ? "success" : "failed");
    if (rc != SB_OK) {
        json_decref(*out);
        *out = NULL;
    }
    return rc;
}
