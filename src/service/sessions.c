/* SPDX-License-Identifier: Apache-2.0 */
/* Console sessions (POST and DELETE /auth/session): a session's record and the audit record of
 * its sign-in, or its delete and the record of the sign-out, in one write, so that a crash
 * between them cannot keep the one without the other. Checking the credentials, the backoff and
 * the cookie stay with the HTTP handler (src/api/session.c). */
#include <sodium.h>
#include <stdio.h>

#include "app.h"
#include "core/principal.h"
#include "core/session.h"
#include "service/service.h"
#include "settings.h"
#include "store/store.h"

/* Deletes the sessions past their time, so that abandoned ones do not pile up. Each delete is
 * its own transaction, outside the sign-in's write: a purge that fails fails alone. */
static void purge_expired(struct app *app, int64_t now)
{
    const struct config *cfg = app->cfg;
    struct sb_err err;
    json_t *all, *rec;
    size_t i;

    if (store_obj_list(app->store, STORE_SESSIONS, &all, &err) != SB_OK)
        return;
    json_array_foreach (all, i, rec) {
        const char *id = json_string_value(json_object_get(rec, "id"));
        if (id && session_check_times(rec, now, cfg->session_idle_timeout, cfg->session_lifetime,
                                      &err) != SB_OK)
            store_obj_delete(app->store, STORE_SESSIONS, id, &err);
    }
    json_decref(all);
}

enum sb_err_kind svc_session_open(struct actor *a, const char *login, const char *stamp,
                                  const char *key_hex, int64_t now,
                                  char token[SESSION_TOKEN_CHARS + 1],
                                  char id[SESSION_ID_CHARS + 1], json_t **out, struct sb_err *err)
{
    const struct principal *p = a->principal;
    char csrf[SESSION_TOKEN_CHARS + 1];
    struct svc_change c;
    enum sb_err_kind rc;

    *out = NULL;
    token[0] = id[0] = '\0';
    if (!p)
        return sb_err_set(err, SB_ERR_UNAUTHORIZED, "Sign in first.");
    purge_expired(a->app, now);
    if (svc_begin(a, &c, err) != SB_OK)
        return err->kind;
    session_new_token(token);
    session_new_token(csrf);
    session_id_of_token(a->app->apikey_hash_key, token, id);
    *out = session_record_new(id, login, stamp, key_hex, csrf,
                              a->addr && a->addr[0] ? a->addr : "-", now);
    rc = store_obj_insert(a->app->store, STORE_SESSIONS, id, *out, err);
    rc = svc_end(a, &c, rc, "session.signin", p->login, out, err);
    if (rc != SB_OK) {
        sodium_memzero(token, SESSION_TOKEN_CHARS + 1);
        id[0] = '\0';
    }
    return rc;
}

enum sb_err_kind svc_session_close(struct actor *a, const char *id, struct sb_err *err)
{
    struct svc_change c;
    enum sb_err_kind rc;

    if (svc_begin(a, &c, err) != SB_OK)
        return err->kind;
    rc = store_obj_delete(a->app->store, STORE_SESSIONS, id, err);
    if (rc == SB_ERR_NOT_FOUND)
        rc = SB_OK; /* ended already (expired and purged, or signed out elsewhere) */
    return svc_end(a, &c, rc, "session.signout", actor_login(a), NULL, err);
}
