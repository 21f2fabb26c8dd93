/* SPDX-License-Identifier: Apache-2.0 */
/* API keys. Keys are 40 base62 characters drawn with libsodium's uniform generator (about 238
 * bits). The store keys them by BLAKE2b-256 keyed with a secret derived from the master key, so
 * that a copy of the database alone cannot be used to check guesses; lookups compare hashes by
 * equality in the store, which leaks nothing useful about the key. */
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "core/apikeys.h"
#include "core/fields.h"
#include "util/mem.h"

static const char base62[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

#define DAY_MS (24LL * 3600 * 1000)

void apikey_hint(const char *key, char out[APIKEY_HINT_MAX])
{
    size_t len = strlen(key);

    if (len < 12) /* unknown (a record older than hints), or too short to show any of */
        snprintf(out, APIKEY_HINT_MAX, "\xe2\x80\xa6");
    else
        snprintf(out, APIKEY_HINT_MAX, "%.4s\xe2\x80\xa6%s", key, key + len - 4);
}

void apikey_set_hint(json_t *rec, const char *key)
{
    char hint[APIKEY_HINT_MAX];

    apikey_hint(key, hint);
    json_object_set_new(rec, "key", xcheck(json_string(hint)));
}

void apikey_generate(char out[SB_API_KEY_RANDOM_CHARS + 1])
{
    for (int i = 0; i < SB_API_KEY_RANDOM_CHARS; i++)
        out[i] = base62[randombytes_uniform(62)];
    out[SB_API_KEY_RANDOM_CHARS] = '\0';
}

void apikey_new_id(char out[APIKEY_ID_CHARS + 1])
{
    uint8_t raw[SB_KEY_ID_BYTES];

    randombytes_buf(raw, sizeof(raw));
    sodium_bin2hex(out, APIKEY_ID_CHARS + 1, raw, sizeof(raw));
}

void apikey_hash(const uint8_t hash_key[APIKEY_HASH_KEY_BYTES], const char *key,
                 uint8_t out[APIKEY_HASH_BYTES])
{
    crypto_generichash(out, APIKEY_HASH_BYTES, (const unsigned char *)key, strlen(key), hash_key,
                       APIKEY_HASH_KEY_BYTES);
}

enum sb_err_kind apikey_check_supplied(const char *key, struct sb_err *err)
{
    size_t len = strlen(key);

    if (len < SB_API_KEY_MIN_CHARS || len > SB_API_KEY_MAX_CHARS)
        return sb_err_set(err, SB_ERR_BAD_REQUEST,
                          "An API key must be %d to %d characters long; the one given has %zu.",
                          SB_API_KEY_MIN_CHARS, SB_API_KEY_MAX_CHARS, len);
    for (const char *p = key; *p; p++)
        if (*p <= ' ' || *p >= 0x7f || *p == ':')
            return sb_err_set(err, SB_ERR_BAD_REQUEST,
                              "An API key may only contain printable ASCII characters other than "
                              "space and ':'.");
    return SB_OK;
}

/* lifetime (docs/API.md) and expiry (what DSSGlobalApiKeyDefinition.lifetime sets) are days;
 * expiresOn is epoch ms, 0 for never */
static bool check_expiry_fields(const json_t *body, struct sb_err *err)
{
    return fields_nonneg_int(body, "", "lifetime", err) &&
           fields_nonneg_int(body, "", "expiry", err) &&
           fields_nonneg_int(body, "", "expiresOn", err);
}

/* The lifetime in days BODY gives (lifetime, else expiry), or -1. */
static json_int_t lifetime_of(const json_t *body)
{
    json_t *v = json_object_get(body, "lifetime");

    if (!json_is_integer(v))
        v = json_object_get(body, "expiry");
    return json_is_integer(v) ? json_integer_value(v) : -1;
}

/* Sets expiry and expiresOn of a new REC from BODY. */
static void expiry_on_create(json_t *rec, const json_t *body, int64_t now_ms)
{
    json_int_t days = lifetime_of(body);
    json_t *at = json_object_get(body, "expiresOn");

    if (days > 0) {
        json_object_set_new(rec, "expiry", json_integer(days));
        json_object_set_new(rec, "expiresOn", json_integer(now_ms + days * DAY_MS));
    } else {
        json_object_set_new(rec, "expiresOn",
                            json_integer(json_is_integer(at) ? json_integer_value(at) : 0));
    }
}

/* Applies the expiry BODY carries to REC (a copy of the stored record). */
static void expiry_on_update(json_t *rec, const json_t *body)
{
    json_t *at = json_object_get(body, "expiresOn");
    json_int_t days = lifetime_of(body);
    json_int_t stored_at = json_integer_value(json_object_get(rec, "expiresOn"));
    json_int_t stored_days = json_integer_value(json_object_get(rec, "expiry"));

    if (json_is_integer(at) && json_integer_value(at) != stored_at) {
        json_object_set(rec, "expiresOn", at);
    } else if (days >= 0 && days != stored_days) {
        json_int_t created = json_integer_value(json_object_get(rec, "createdOn"));
        json_object_set_new(rec, "expiry", json_integer(days));
        json_object_set_new(rec, "expiresOn", json_integer(days ? created + days * DAY_MS : 0));
    }
}

static bool check_global_body(const json_t *body, struct sb_err *err)
{
    json_t *perms;

    if (!fields_require_object(body, "global API key definition", err) ||
        !fields_text(body, "", "label", err) || !fields_text(body, "", "description", err) ||
        !fields_object(body, "", "globalPermissions", err) ||
        !fields_string_array(body, "", "groups", err) || !check_expiry_fields(body, err) ||
        !fields_string(body, "", "dssUserForImpersonation", err))
        return false;
    perms = json_object_get(body, "globalPermissions");
    return !json_is_object(perms) || fields_bool(perms, "globalPermissions.", "admin", err);
}

/* globalPermissions as given, with "admin" defaulting to false. New reference. */
static json_t *permissions_of(const json_t *body)
{
    json_t *given = json_object_get(body, "globalPermissions");
    json_t *perms = json_is_object(given) ? fields_drop_nulls(given) : xcheck(json_object());

    if (!json_object_get(perms, "admin"))
        json_object_set_new(perms, "admin", json_false());
    return perms;
}

static json_t *string_or(const json_t *body, const char *key, const char *fallback)
{
    json_t *v = json_object_get(body, key);
    return json_is_string(v) ? json_incref(v) : xcheck(json_string(fallback));
}

/* dssUserForImpersonation as BODY gives it: a login sets it, "" or null clears it. */
static void impersonation_of(json_t *rec, const json_t *body)
{
    json_t *v;

    if (!json_object_get(body, "dssUserForImpersonation"))
        return;
    v = json_object_get(body, "dssUserForImpersonation");
    if (json_is_string(v) && *json_string_value(v))
        json_object_set(rec, "dssUserForImpersonation", v);
    else
        json_object_del(rec, "dssUserForImpersonation");
}

enum sb_err_kind apikey_prepare_global(const json_t *body, const char *id, const char *who,
                                       int64_t now_ms, json_t **out, struct sb_err *err)
{
    json_t *groups;

    if (!check_global_body(body, err))
        return err->kind;
    groups = json_object_get(body, "groups");
    *out = xcheck(json_pack(
        "{s:s, s:o, s:o, s:o, s:o, s:I, s:s}", "id", id, "label", string_or(body, "label", ""),
        "description", string_or(body, "description", ""), "globalPermissions",
        permissions_of(body), "groups", json_is_array(groups) ? json_incref(groups) : json_array(),
        "createdOn", (json_int_t)now_ms, "createdBy", who));
    expiry_on_create(*out, body, now_ms);
    impersonation_of(*out, body);
    return SB_OK;
}

enum sb_err_kind apikey_prepare_global_update(const json_t *stored, const json_t *body,
                                              json_t **out, struct sb_err *err)
{
    json_t *rec, *v;

    if (!check_global_body(body, err))
        return err->kind;
    rec = xcheck(json_copy((json_t *)stored));
    if (json_is_string(v = json_object_get(body, "label")))
        json_object_set(rec, "label", v);
    if (json_is_string(v = json_object_get(body, "description")))
        json_object_set(rec, "description", v);
    if (json_is_object(json_object_get(body, "globalPermissions")))
        json_object_set_new(rec, "globalPermissions", permissions_of(body));
    if (json_is_array(v = json_object_get(body, "groups")))
        json_object_set(rec, "groups", v);
    expiry_on_update(rec, body);
    impersonation_of(rec, body);
    *out = rec;
    return SB_OK;
}

enum sb_err_kind apikey_prepare_personal(const json_t *body, const char *id, const char *user,
                                         const char *who, int64_t now_ms, json_t **out,
                                         struct sb_err *err)
{
    if (!fields_require_object(body, "personal API key definition", err) ||
        !fields_text(body, "", "label", err) || !fields_text(body, "", "description", err) ||
        !check_expiry_fields(body, err))
        return err->kind;
    *out = xcheck(json_pack("{s:s, s:s, s:o, s:o, s:I, s:s}", "id", id, "user", user, "label",
                            string_or(body, "label", ""), "description",
                            string_or(body, "description", ""), "createdOn", (json_int_t)now_ms,
                            "createdBy", who));
    expiry_on_create(*out, body, now_ms);
    return SB_OK;
}

enum sb_err_kind apikey_prepare_personal_update(const json_t *stored, const json_t *body,
                                                json_t **out, struct sb_err *err)
{
    json_t *rec, *v;

    if (!fields_require_object(body, "personal API key definition", err) ||
        !fields_text(body, "", "label", err) || !fields_text(body, "", "description", err) ||
        !check_expiry_fields(body, err))
        return err->kind;
    rec = xcheck(json_copy((json_t *)stored));
    if (json_is_string(v = json_object_get(body, "label")))
        json_object_set(rec, "label", v);
    if (json_is_string(v = json_object_get(body, "description")))
        json_object_set(rec, "description", v);
    expiry_on_update(rec, body);
    *out = rec;
    return SB_OK;
}
