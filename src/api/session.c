/* SPDX-License-Identifier: Apache-2.0 */
/* Console sign-in (extension): POST /auth/session opens a session from a login and password or
 * from an API key, GET /auth/session tells the console who is signed in and the session's CSRF
 * token, DELETE /auth/session signs out. Failed sign-ins are audited, recorded as the user's
 * lastFailedLogin, and slowed down per login and per address (src/core/backoff.c). Neither the
 * password nor the key is ever logged or audited; the session token exists only in the cookie. */
#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "api/api.h"
#include "core/backoff.h"
#include "core/session.h"
#include "http/request.h"
#include "http/session.h"
#include "service/activity.h"
#include "service/audit.h"
#include "service/service.h"
#include "store/store.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/mem.h"

#define LOGIN_MAX 160

/* The answer that tells the console who is signed in, with the CSRF token of session REC. */
static json_t *session_view(struct request *req, const json_t *rec)
{
    const struct principal *p = &req->principal;
    const struct config *cfg = req->app->cfg;

    return xcheck(json_pack(
        "{s:b, s:O, s:s, s:s, s:O, s:b, s:I, s:I, s:I}", "signedIn", 1, "csrfToken",
        json_object_get(rec, "csrf"), "authIdentifier", p->login, "principalType",
        p->type == PRINCIPAL_USER ? "USER" : "GLOBAL_API_KEY", "groups", p->groups, "admin",
        p->admin, "expiresOn",
        (json_int_t)session_expires_on(rec, cfg->session_idle_timeout, cfg->session_lifetime),
        "idleTimeout", (json_int_t)cfg->session_idle_timeout, "lifetime",
        (json_int_t)cfg->session_lifetime));
}

/* A hash no password matches, verified against when the login is unknown, so that an unknown
 * login takes as long to refuse as a wrong password (no login enumeration by timing). */
static char dummy_hash[crypto_pwhash_STRBYTES];
static pthread_once_t dummy_once = PTHREAD_ONCE_INIT;

static void dummy_hash_init(void)
{
    uint8_t pw[32];

    randombytes_buf(pw, sizeof(pw));
    if (crypto_pwhash_str(dummy_hash, (const char *)pw, sizeof(pw),
                          crypto_pwhash_OPSLIMIT_INTERACTIVE,
                          crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0)
        dummy_hash[0] = '\0';
    sodium_memzero(pw, sizeof(pw));
}

/* Password verifications running now, and how many may run at once. Each Argon2id verification
 * takes 64 MiB and a core for a good part of a second, and sign-ins need no key: without a bound,
 * as many anonymous sign-ins as there are request threads (8 per core) made the server take
 * 64 MiB each at once (3 GB for 64) and left no thread for anyone else. */
static atomic_int verifying;

static int verify_limit(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < SB_SIGNIN_VERIFY_MIN   ? SB_SIGNIN_VERIFY_MIN
           : n > SB_SIGNIN_VERIFY_MAX ? SB_SIGNIN_VERIFY_MAX
                                      : (int)n;
}

/* Checks a password sign-in. On success REQ's principal is the user and *STAMP is set. */
static enum sb_err_kind check_password(struct request *req, const char *login, const char *password,
                                       char stamp[SESSION_ID_CHARS + 1], struct sb_err *err)
{
    json_t *user;
    const char *hash;
    enum sb_err_kind rc;

    if (store_obj_get(req->app->store, STORE_USERS, login, &user, err) != SB_OK) {
        if (err->kind != SB_ERR_NOT_FOUND)
            return err->kind;
        pthread_once(&dummy_once, dummy_hash_init);
        if (dummy_hash[0] && crypto_pwhash_str_verify(dummy_hash, password, strlen(password)) == 0)
            log_error("session: a random password matched"); /* cannot happen */
        return SB_ERR_UNAUTHORIZED;
    }
    hash = json_string_value(json_object_get(user, "passwordHash"));
    if (!hash || crypto_pwhash_str_verify(hash, password, strlen(password)) != 0 ||
        json_is_false(json_object_get(user, "enabled"))) {
        json_decref(user);
        /* the user's lastFailedLogin (users' activity); unknown logins leave no trace there */
        activity_note(req->app, login, false);
        return SB_ERR_UNAUTHORIZED;
    }
    activity_note(req->app, login, true);
    session_password_stamp(req->app->apikey_hash_key, hash, stamp);
    rc = req_auth_user(req, user, "session", err);
    json_decref(user);
    return rc;
}

/* What a sign-in's audit record is about: "user:LOGIN" for a login that names a user, else
 * "user:(unknown)" — whatever else was typed into the login field (often the password, typed one
 * field too early) never reaches the audit; "api-key" for a key sign-in. */
static void signin_object(struct request *req, const char *login, char *object, size_t size)
{
    struct sb_err err;
    json_t *user;

    if (!login) {
        snprintf(object, size, "api-key");
        return;
    }
    if (store_obj_get(req->app->store, STORE_USERS, login, &user, &err) == SB_OK) {
        json_decref(user);
        snprintf(object, size, "user:%s", login);
    } else {
        snprintf(object, size, "user:(unknown)");
    }
}

static void sign_in_failed(struct request *req, const char *login_key, const char *addr_key,
                           const char *login, int64_t now)
{
    char object[LOGIN_MAX + 16];

    backoff_fail(req->app->backoff, addr_key, now);
    if (login_key)
        backoff_fail(req->app->backoff, login_key, now);
    signin_object(req, login, object, sizeof(object));
    audit_record(req_actor(req), "session.signin", object, "failed");
    reply_errorf(req, SB_ERR_UNAUTHORIZED,
                 login ? "Sign-in failed: the login or the password is wrong, or the user is "
                         "disabled."
                       : "Sign-in failed: the API key is unknown, expired or deleted.");
}

/* Refuses a sign-in another site could make the browser send (login CSRF: the victim would be
 * signed in as the attacker, and type their own credentials into the attacker's account). A
 * top-level cross-site form post is the one request that can set the SameSite=Strict cookie,
 * and a form cannot send application/json; a browser also says Sec-Fetch-Site: cross-site.
 * Clients that send no Content-Type at all (like the DSS client) are accepted. */
static bool sign_in_from_another_site(struct request *req)
{
    const char *type = req_header(req, "Content-Type");
    const char *site = req_header(req, "Sec-Fetch-Site");
    size_t n = strlen("application/json");

    if (site && strcasecmp(site, "same-origin") != 0 && strcasecmp(site, "none") != 0) {
        reply_errorf(req, SB_ERR_FORBIDDEN,
                     "Sign-in refused: header 'Sec-Fetch-Site' says this request comes from "
                     "another site.");
        return true;
    }
    if (type && !(strncasecmp(type, "application/json", n) == 0 &&
                  (type[n] == '\0' || type[n] == ';' || type[n] == ' '))) {
        reply_errorf(req, SB_ERR_BAD_REQUEST,
                     "Sign-in refused: header 'Content-Type' must be application/json (a form "
                     "of another site cannot sign in).");
        return true;
    }
    return false;
}

void api_session_create(struct request *req)
{
    json_t *body = NULL, *rec;
    const char *login, *password, *key;
    char addr[64], addr_key[80], login_key[LOGIN_MAX + 16], stamp[SESSION_ID_CHARS + 1] = "";
    char token[SESSION_TOKEN_CHARS + 1], id[SESSION_ID_CHARS + 1];
    char key_hex[APIKEY_HASH_BYTES * 2 + 1] = "";
    int64_t now = clock_epoch_ms(), wait;
    struct sb_err err;
    enum sb_err_kind rc;

    req->console_client = true;
    if (sign_in_from_another_site(req) || !req_json_body_or_reply(req, &body))
        goto out;
    login = json_string_value(json_object_get(body, "login"));
    password = json_string_value(json_object_get(body, "password"));
    key = json_string_value(json_object_get(body, "apiKey"));
    if (!json_is_object(body) || (key ? (login || password) : (!login || !password))) {
        reply_errorf(req, SB_ERR_BAD_REQUEST,
                     "Sign in with {\"login\", \"password\"} or with "
                     "{\"apiKey\"}, as strings.");
        goto out;
    }
    if (login && (!*login || strlen(login) > LOGIN_MAX)) {
        reply_errorf(req, SB_ERR_BAD_REQUEST, "Field 'login' must be 1 to %d characters.",
                     LOGIN_MAX);
        goto out;
    }
    req_remote_addr(req, addr, sizeof(addr));
    snprintf(addr_key, sizeof(addr_key), "addr:%s", addr);
    if (login)
        snprintf(login_key, sizeof(login_key), "login:%s", login);
    wait = backoff_wait_ms(req->app->backoff, addr_key, SB_BACKOFF_ADDR_FAILURES, now);
    if (login) {
        int64_t w = backoff_wait_ms(req->app->backoff, login_key, SB_BACKOFF_LOGIN_FAILURES, now);
        if (w > wait)
            wait = w;
    }
    if (wait > 0) {
        char object[LOGIN_MAX + 16];
        signin_object(req, login, object, sizeof(object));
        audit_record(req_actor(req), "session.signin", object, "denied");
        reply_too_many_requests(req, (long)((wait + 999) / 1000),
                                "Too many failed sign-ins %s: try again in %lld seconds.",
                                login ? "for this login or from this address" : "from this address",
                                (long long)((wait + 999) / 1000));
        goto out;
    }

    if (login) {
        if (atomic_fetch_add(&verifying, 1) >= verify_limit()) {
            atomic_fetch_sub(&verifying, 1);
            reply_too_many_requests(req, 1,
                                    "Too many sign-ins are being checked right now: try again "
                                    "in a second.");
            goto out;
        }
        rc = check_password(req, login, password, stamp, &err);
        atomic_fetch_sub(&verifying, 1);
    } else {
        uint8_t hash[APIKEY_HASH_BYTES];
        apikey_hash(req->app->apikey_hash_key, key, hash);
        rc = req_auth_key_hash(req, hash, &err);
        sodium_bin2hex(key_hex, sizeof(key_hex), hash, sizeof(hash));
    }
    if (rc == SB_ERR_UNAUTHORIZED) {
        sign_in_failed(req, login ? login_key : NULL, addr_key, login, now);
        goto out;
    }
    if (rc != SB_OK) {
        reply_error(req, &err);
        goto out;
    }

    rc = svc_session_open(req_actor(req), login, stamp, key_hex, now, token, id, &rec, &err);
    if (rc != SB_OK) {
        reply_error(req, &err);
        goto out;
    }
    if (login)
        backoff_clear(req->app->backoff, login_key);
    req->via_session = true;
    snprintf(req->session_id, sizeof(req->session_id), "%s", id);
    http_session_set_cookie(req, token);
    reply_json(req, 200, session_view(req, rec));
    json_decref(rec);
    sodium_memzero(token, sizeof(token));
out:
    if (body) {
        /* the password and the key leave no copy behind */
        json_t *v = json_object_get(body, "password");
        if (json_is_string(v))
            sodium_memzero((char *)json_string_value(v), strlen(json_string_value(v)));
        v = json_object_get(body, "apiKey");
        if (json_is_string(v))
            sodium_memzero((char *)json_string_value(v), strlen(json_string_value(v)));
        json_decref(body);
    }
    if (req->body)
        sodium_memzero(req->body, req->body_len);
}

void api_session_get(struct request *req)
{
    struct sb_err err;
    json_t *rec;

    req->console_client = true;
    /* the one request a cookie answers without the CSRF header: it tells the console its token
     * after a reload. Another origin can neither read this answer nor send the cookie
     * (SameSite=Strict), and it changes nothing. */
    if (http_session_authenticate(req, false, &rec, &err) != SB_OK) {
        if (err.kind != SB_ERR_UNAUTHORIZED) {
            reply_error(req, &err);
            return;
        }
        /* not an error for the console, which asks this first on every visit */
        if (http_session_present(req))
            http_session_clear_cookie(req);
        reply_json(req, 200, xcheck(json_pack("{s:b, s:s}", "signedIn", 0, "reason", err.msg)));
        return;
    }
    reply_json(req, 200, session_view(req, rec));
    json_decref(rec);
}

void api_session_delete(struct request *req)
{
    struct sb_err err;

    if (req->via_session && svc_session_close(req_actor(req), req->session_id, &err) != SB_OK) {
        reply_error(req, &err);
        return;
    }
    http_session_clear_cookie(req);
    reply_json(req, 200, json_object());
}
