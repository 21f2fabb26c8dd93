/* SPDX-License-Identifier: Apache-2.0 */
/* Console sessions: what a sign-in leaves in the store, and the rules that end a session. A
 * session is a record in the store (collection STORE_SESSIONS), so that its cookie works on every
 * node of a shared store. The record is keyed by the keyed hash of the cookie's token, never the
 * token, so a copy of the store opens no session. It names its principal the way the principal
 * is checked again on every request: a user's login with a stamp of their password hash (a new
 * password ends the session), or the hash of the API key signed in with (deleting the key ends
 * it); a disabled user or a deleted key ends it as well, because the principal is resolved anew.
 *
 * Record: {"id", "kind": "user"|"key", "login"?, "passwordStamp"?, "keyHash"?, "csrf",
 *          "createdOn", "lastSeen", "remoteAddr"}. */
#ifndef SB_SESSION_H
#define SB_SESSION_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/apikeys.h"
#include "core/err.h"
#include "util/limits.h"

/* base64url without padding of SB_SESSION_TOKEN_BYTES */
#define SESSION_TOKEN_CHARS 43
/* hex of a keyed hash */
#define SESSION_ID_CHARS (APIKEY_HASH_BYTES * 2)

#define SESSION_COOKIE "sb_session"
#define SESSION_CSRF_HEADER "X-Switchboard-CSRF"

/* Writes a new random token (SESSION_TOKEN_CHARS base64url characters and a NUL) to OUT. */
void session_new_token(char out[SESSION_TOKEN_CHARS + 1]);

/* The store id of the session of TOKEN: hex of its keyed hash under HASH_KEY. */
void session_id_of_token(const uint8_t hash_key[APIKEY_HASH_KEY_BYTES], const char *token,
                         char out[SESSION_ID_CHARS + 1]);

/* A stamp of a user's stored password hash (keyed, hex): sessions of a user carry it and end
 * when the password, hence the stamp, changes. */
void session_password_stamp(const uint8_t hash_key[APIKEY_HASH_KEY_BYTES],
                            const char *password_hash, char out[SESSION_ID_CHARS + 1]);

/* The record of a new session of user LOGIN (PASSWORD_STAMP set) or of the API key of hash
 * KEY_HASH_HEX (LOGIN NULL). New reference, caller decrefs. */
json_t *session_record_new(const char *id, const char *login, const char *password_stamp,
                           const char *key_hash_hex, const char *csrf, const char *remote_addr,
                           int64_t now_ms);

/* Whether REC is still alive at NOW_MS: not idle for more than IDLE_S seconds and not older than
 * LIFETIME_S. Otherwise SB_ERR_UNAUTHORIZED with a sentence saying which limit ended it. */
enum sb_err_kind session_check_times(const json_t *rec, int64_t now_ms, long long idle_s,
                                     long long lifetime_s, struct sb_err *err);

/* Whether REC's lastSeen is old enough to be written back: at most once a minute, and at least
 * four times per idle timeout of IDLE_S seconds. */
bool session_needs_touch(const json_t *rec, int64_t now_ms, long long idle_s);

/* When REC ends if it stays idle, or at its absolute lifetime, whichever comes first (ms). */
int64_t session_expires_on(const json_t *rec, long long idle_s, long long lifetime_s);

/* Whether CSRF (the header's value, may be NULL) is REC's token (constant-time). */
bool session_csrf_matches(const json_t *rec, const char *csrf);

/* Finds cookie NAME in a Cookie HEADER ("a=1; b=2") and copies its value to OUT (SIZE bytes).
 * False when absent, empty or too long. */
bool session_cookie_value(const char *header, const char *name, char *out, size_t size);

#endif
