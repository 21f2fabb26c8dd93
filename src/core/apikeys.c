/* SPDX-License-Identifier: Apache-2.0 */
/* API keys. Keys are 40 base62 characters drawn with libsodium's uniform generator (about 238
 * bits). The store keys them by BLAKE2b-256 keyed with a secret derived from the master key, so
 * that a copy of the database alone cannot be used to check guesses; lookups compare hashes by
 * equality in the store, which leaks nothing useful about the key. */
#include <sodium.h>
#include <string.h>

#include "core/apikeys.h"
#include "core/fields.h"
#include "util/mem.h"

static const char base62[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

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

static bool check_global_body(const json_t *body, struct sb_err *err)
{
    json_t *perms;

    if (!fields_require_object(body, "global API key definition", err) ||
        !fields_string(body, "", "label", err) || !fields_string(body, "", "description", err) ||
        !fields_object(body, "", "globalPermissions", err) ||
        !fields_string_array(body, "", "groups", err))
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

enum sb_err_kind apikey_prepare_global(const json_t *body, const char *id, const char *who,
                                       int64_t now_ms, json_t **out, struct sb_err *err)
{
    json_t *groups;

    if (!check_global_body(body, err))
        return err->kind;
    groups = json_object_get(body, "groups");
    *out = xcheck(json_pack("{s:s, s:o, s:o, s:o, s:o, s:I, s:s}", "id", id, "label",
                            string_or(body, "label", ""), "description",
                            string_or(body, "description", ""), "globalPermissions",
                            permissions_of(body), "groups",
                            json_is_array(groups) ? json_incref(groups) : json_array(),
                            "createdOn", (json_int_t)now_ms, "createdBy", who));
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
    *out = rec;
    return SB_OK;
}

enum sb_err_kind apikey_prepare_personal(const json_t *body, const char *id, const char *user,
                                         const char *who, int64_t now_ms, json_t **out,
                                         struct sb_err *err)
{
    if (!fields_require_object(body, "personal API key definition", err) ||
        !fields_string(body, "", "label", err) || !fields_string(body, "", "description", err))
        return err->kind;
    *out = xcheck(json_pack("{s:s, s:s, s:o, s:o, s:I, s:s}", "id", id, "user", user, "label",
                            string_or(body, "label", ""), "description",
                            string_or(body, "description", ""), "createdOn", (json_int_t)now_ms,
                            "createdBy", who));
    return SB_OK;
}

enum sb_err_kind apikey_prepare_personal_update(const json_t *stored, const json_t *body,
                                                json_t **out, struct sb_err *err)
{
    json_t *rec, *v;

    if (!fields_require_object(body, "personal API key definition", err) ||
        !fields_string(body, "", "label", err) || !fields_string(body, "", "description", err))
        return err->kind;
    rec = xcheck(json_copy((json_t *)stored));
    if (json_is_string(v = json_object_get(body, "label")))
        json_object_set(rec, "label", v);
    if (json_is_string(v = json_object_get(body, "description")))
        json_object_set(rec, "description", v);
    *out = rec;
    return SB_OK;
}
