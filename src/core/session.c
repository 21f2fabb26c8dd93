/* SPDX-License-Identifier: Apache-2.0 */
/* Console sessions: tokens, records and their time limits (see session.h). */
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "core/session.h"
#include "util/mem.h"

_Static_assert(sodium_base64_ENCODED_LEN(SB_SESSION_TOKEN_BYTES,
                                         sodium_base64_VARIANT_URLSAFE_NO_PADDING) ==
                   SESSION_TOKEN_CHARS + 1,
               "a token is SESSION_TOKEN_CHARS characters");

void session_new_token(char out[SESSION_TOKEN_CHARS + 1])
{
    uint8_t raw[SB_SESSION_TOKEN_BYTES];

    randombytes_buf(raw, sizeof(raw));
    sodium_bin2base64(out, SESSION_TOKEN_CHARS + 1, raw, sizeof(raw),
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    sodium_memzero(raw, sizeof(raw));
}

static void keyed_hex(const uint8_t hash_key[APIKEY_HASH_KEY_BYTES], const char *domain,
                      const char *text, char out[SESSION_ID_CHARS + 1])
{
    uint8_t hash[APIKEY_HASH_BYTES];
    crypto_generichash_state st;

    crypto_generichash_init(&st, hash_key, APIKEY_HASH_KEY_BYTES, sizeof(hash));
    /* a domain apart from API keys: a session id is never the hash of some key */
    crypto_generichash_update(&st, (const uint8_t *)domain, strlen(domain) + 1);
    crypto_generichash_update(&st, (const uint8_t *)text, strlen(text));
    crypto_generichash_final(&st, hash, sizeof(hash));
    sodium_bin2hex(out, SESSION_ID_CHARS + 1, hash, sizeof(hash));
}

void session_id_of_token(const uint8_t hash_key[APIKEY_HASH_KEY_BYTES], const char *token,
                         char out[SESSION_ID_CHARS + 1])
{
    keyed_hex(hash_key, "switchboard session", token, out);
}

void session_password_stamp(const uint8_t hash_key[APIKEY_HASH_KEY_BYTES],
                            const char *password_hash, char out[SESSION_ID_CHARS + 1])
{
    keyed_hex(hash_key, "switchboard password stamp", password_hash ? password_hash : "", out);
}

json_t *session_record_new(const char *id, const char *login, const char *password_stamp,
                           const char *key_hash_hex, const char *csrf, const char *remote_addr,
                           int64_t now_ms)
{
    json_t *rec =
        xcheck(json_pack("{s:s, s:s, s:s, s:I, s:I, s:s}", "id", id, "kind", login ? "user" : "key",
                         "csrf", csrf, "createdOn", (json_int_t)now_ms, "lastSeen",
                         (json_int_t)now_ms, "remoteAddr", remote_addr));
    if (login) {
        json_object_set_new(rec, "login", xcheck(json_string(login)));
        json_object_set_new(rec, "passwordStamp", xcheck(json_string(password_stamp)));
    } else {
        json_object_set_new(rec, "keyHash", xcheck(json_string(key_hash_hex)));
    }
    return rec;
}

static int64_t rec_ms(const json_t *rec, const char *field)
{
    return (int64_t)json_integer_value(json_object_get(rec, field));
}

enum sb_err_kind session_check_times(const json_t *rec, int64_t now_ms, long long idle_s,
                                     long long lifetime_s, struct sb_err *err)
{
    if (now_ms - rec_ms(rec, "createdOn") > lifetime_s * 1000)
        return sb_err_set(err, SB_ERR_UNAUTHORIZED,
                          "The session has ended: it is older than the session lifetime of "
                          "%lld seconds (setting session-lifetime). Sign in again.",
                          lifetime_s);
    if (now_ms - rec_ms(rec, "lastSeen") > idle_s * 1000)
        return sb_err_set(err, SB_ERR_UNAUTHORIZED,
                          "The session has ended: it was idle for more than %lld seconds "
                          "(setting session-idle-timeout). Sign in again.",
                          idle_s);
    return SB_OK;
}

bool session_needs_touch(const json_t *rec, int64_t now_ms, long long idle_s)
{
    int64_t every = idle_s * 1000 / 4;
    if (every > SB_SESSION_TOUCH_MS)
        every = SB_SESSION_TOUCH_MS;
    return now_ms - rec_ms(rec, "lastSeen") >= every;
}

int64_t session_expires_on(const json_t *rec, long long idle_s, long long lifetime_s)
{
    int64_t idle_end = rec_ms(rec, "lastSeen") + idle_s * 1000;
    int64_t life_end = rec_ms(rec, "createdOn") + lifetime_s * 1000;
    return idle_end < life_end ? idle_end : life_end;
}

bool session_csrf_matches(const json_t *rec, const char *csrf)
{
    const char *want = json_string_value(json_object_get(rec, "csrf"));
    size_t n;

    if (!csrf || !want)
        return false;
    n = strlen(want);
    return n > 0 && strlen(csrf) == n && sodium_memcmp(csrf, want, n) == 0;
}

bool session_cookie_value(const char *header, const char *name, char *out, size_t size)
{
    size_t name_len = strlen(name);
    const char *p = header;

    while (p && *p) {
        while (*p == ' ' || *p == ';' || *p == '\t')
            p++;
        const char *end = strchr(p, ';');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len > name_len && strncmp(p, name, name_len) == 0 && p[name_len] == '=') {
            size_t vlen = len - name_len - 1;
            while (vlen && (p[name_len + 1 + vlen - 1] == ' '))
                vlen--;
            if (vlen == 0 || vlen >= size)
                return false;
            memcpy(out, p + name_len + 1, vlen);
            out[vlen] = '\0';
            return true;
        }
        p = end;
    }
    return false;
}
