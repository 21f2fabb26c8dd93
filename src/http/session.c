/* SPDX-License-Identifier: Apache-2.0 */
/* Console sessions on the wire (see session.h). The session record is read from the store on
 * every request it authenticates, so that a sign-out, a disabled user, a new password or a
 * deleted key on any node ends it at once on every node; lastSeen is written back at most once a
 * minute. */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/session.h"
#include "http/request.h"
#include "http/session.h"
#include "service/activity.h"
#include "store/store.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/mem.h"

bool http_session_present(const struct request *req)
{
    char token[SESSION_TOKEN_CHARS + 8];
    return session_cookie_value(req_header(req, "Cookie"), SESSION_COOKIE, token, sizeof(token));
}

/* Resolves the principal a session names, checking it is still the one signed in. */
static enum sb_err_kind session_principal(struct request *req, const json_t *rec,
                                          struct sb_err *err)
{
    const char *login = json_string_value(json_object_get(rec, "login"));
    enum sb_err_kind rc;

    if (!login) {
        const char *hex = json_string_value(json_object_get(rec, "keyHash"));
        uint8_t hash[APIKEY_HASH_BYTES];
        size_t n = 0;
        if (!hex || sodium_hex2bin(hash, sizeof(hash), hex, strlen(hex), NULL, &n, NULL) != 0 ||
            n != sizeof(hash))
            return sb_err_set(err, SB_ERR_UNAUTHORIZED, "The session is not valid.");
        rc = req_auth_key_hash(req, hash, err);
        if (rc == SB_ERR_UNAUTHORIZED)
            sb_err_set(err, SB_ERR_UNAUTHORIZED,
                       "The session has ended: the API key it was opened with was deleted.");
        return rc;
    }
    json_t *user;
    char stamp[SESSION_ID_CHARS + 1];
    if (store_obj_get(req->app->store, STORE_USERS, login, &user, err) != SB_OK)
        return err->kind == SB_ERR_NOT_FOUND
                   ? sb_err_set(err, SB_ERR_UNAUTHORIZED,
                                "The session has ended: its user no longer exists.")
                   : err->kind;
    session_password_stamp(req->app->apikey_hash_key,
                           json_string_value(json_object_get(user, "passwordHash")), stamp);
    const char *had = json_string_value(json_object_get(rec, "passwordStamp"));
    if (!had || strlen(had) != strlen(stamp) || sodium_memcmp(had, stamp, strlen(stamp)) != 0)
        rc = sb_err_set(err, SB_ERR_UNAUTHORIZED,
                        "The session has ended: the user's password was changed.");
    else
        rc = req_auth_user(req, user, "session", err);
    json_decref(user);
    return rc;
}

enum sb_err_kind http_session_authenticate(struct request *req, bool need_csrf, json_t **out,
                                           struct sb_err *err)
{
    const struct config *cfg = req->app->cfg;
    char token[SESSION_TOKEN_CHARS + 8], id[SESSION_ID_CHARS + 1];
    int64_t now = clock_epoch_ms();
    json_t *rec;
    enum sb_err_kind rc;

    if (!session_cookie_value(req_header(req, "Cookie"), SESSION_COOKIE, token, sizeof(token)))
        return sb_err_set(err, SB_ERR_UNAUTHORIZED, "Sign in first: there is no session.");
    session_id_of_token(req->app->apikey_hash_key, token, id);
    sodium_memzero(token, sizeof(token));
    if (store_obj_get(req->app->store, STORE_SESSIONS, id, &rec, err) != SB_OK)
        return err->kind == SB_ERR_NOT_FOUND
                   ? sb_err_set(err, SB_ERR_UNAUTHORIZED,
                                "The session has ended (signed out, or expired). Sign in again.")
                   : err->kind;
    if (need_csrf && !session_csrf_matches(rec, req_header(req, SESSION_CSRF_HEADER))) {
        json_decref(rec);
        return sb_err_set(err, SB_ERR_FORBIDDEN,
                          "A session cookie is accepted only with the session's token in the "
                          "%s header; this request %s.",
                          SESSION_CSRF_HEADER,
                          req_header(req, SESSION_CSRF_HEADER) ? "sent another token"
                                                               : "sent none");
    }
    rc = session_check_times(rec, now, cfg->session_idle_timeout, cfg->session_lifetime, err);
    if (rc == SB_OK)
        rc = session_principal(req, rec, err);
    if (rc == SB_ERR_UNAUTHORIZED) {
        struct sb_err ignored;
        store_obj_delete(req->app->store, STORE_SESSIONS, id, &ignored);
    }
    if (rc != SB_OK) {
        if (req->authenticated) {
            principal_clear(&req->principal);
            req->authenticated = false;
        }
        json_decref(rec);
        return rc;
    }
    if (session_needs_touch(rec, now, cfg->session_idle_timeout)) {
        struct sb_err ignored;
        json_object_set_new(rec, "lastSeen", json_integer((json_int_t)now));
        if (store_obj_update(req->app->store, STORE_SESSIONS, id, rec, &ignored) != SB_OK)
            log_warn("session: cannot record activity: %s", ignored.msg);
    }
    req->via_session = true;
    snprintf(req->session_id, sizeof(req->session_id), "%s", id);
    if (req->principal.type == PRINCIPAL_USER)
        activity_note_session(req->app, req->principal.login);
    if (out)
        *out = rec;
    else
        json_decref(rec);
    return SB_OK;
}

static void set_cookie(struct request *req, const char *value, const char *extra)
{
    char buf[256];

    snprintf(buf, sizeof(buf), "%s=%s; Path=/; HttpOnly; SameSite=Strict%s%s", SESSION_COOKIE,
             value, *req->app->cfg->tls_cert ? "; Secure" : "", extra);
    free(req->set_cookie);
    req->set_cookie = xstrdup(buf);
}

void http_session_set_cookie(struct request *req, const char *token)
{
    set_cookie(req, token, "");
}

void http_session_clear_cookie(struct request *req)
{
    set_cookie(req, "", "; Max-Age=0");
}
