/* SPDX-License-Identifier: Apache-2.0 */
/* Secrets at rest.
 *
 * Envelope: "e:xc1:" followed by standard base64 (with padding) of nonce || ciphertext, where
 * nonce is 24 random bytes and ciphertext is XChaCha20-Poly1305 (IETF) of the UTF-8 value, tag
 * included, under the 32-byte secrets key and the additional data "switchboard-secret". The
 * secrets key is derived from the master key (core/masterkey.c), so rotating the master key
 * means re-sealing every value (secrets_reseal_all, used by `switchboard admin rotate-key`).
 *
 * Where secrets live: a connection's params members whose names are secret (the list below,
 * later the type registry), the "value" of params.properties entries marked "secret": true, a
 * user's credentials (every secret-named member of each credential) and the "value" of each
 * entry of a user's secrets list. One visitor walks those slots; sealing, opening, stripping and
 * re-sealing are callbacks on it, so that the places are listed exactly once.
 *
 * Round trip: clients read sealed values and send them back. A sealed value that opens under
 * the current key is kept byte for byte (so get -> set never double-encrypts); one that does
 * not is refused, because storing it would lose the secret for good. */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/masterkey.h"
#include "core/secrets.h"
#include "util/mem.h"

#define SCHEME_PREFIX "e:xc1:"
#define AD "switchboard-secret"
#define NONCE_BYTES crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
#define TAG_BYTES crypto_aead_xchacha20poly1305_ietf_ABYTES

static const char *const secret_names[] = {
    "password",     "secretKey",  "privateKey", "clientSecret", "token",
    "accessToken",  "refreshToken", "apiKey",   "passphrase",   "sasToken",
    "sessionToken", "keyPassword", "accountKey", NULL,
};

void secrets_init(struct secrets *s, const uint8_t master[32])
{
    masterkey_derive(master, MASTERKEY_SECRETS, s->key);
}

void secrets_clear(struct secrets *s)
{
    sodium_memzero(s->key, sizeof(s->key));
}

bool secrets_is_sealed(const char *value)
{
    return value && strncmp(value, "e:", 2) == 0;
}

bool secrets_is_secret_param(const char *name)
{
    for (const char *const *p = secret_names; *p; p++)
        if (strcmp(name, *p) == 0)
            return true;
    return false;
}

char *secrets_seal(const struct secrets *s, const char *plain)
{
    size_t plain_len = strlen(plain);
    size_t raw_len = NONCE_BYTES + plain_len + TAG_BYTES;
    uint8_t *raw = xmalloc(raw_len);
    size_t b64_len = sodium_base64_ENCODED_LEN(raw_len, sodium_base64_VARIANT_ORIGINAL);
    char *out = xmalloc(strlen(SCHEME_PREFIX) + b64_len);

    randombytes_buf(raw, NONCE_BYTES);
    crypto_aead_xchacha20poly1305_ietf_encrypt(raw + NONCE_BYTES, NULL, (const uint8_t *)plain,
                                               plain_len, (const uint8_t *)AD, strlen(AD), NULL,
                                               raw, s->key);
    memcpy(out, SCHEME_PREFIX, strlen(SCHEME_PREFIX));
    sodium_bin2base64(out + strlen(SCHEME_PREFIX), b64_len, raw, raw_len,
                      sodium_base64_VARIANT_ORIGINAL);
    free(raw);
    return out;
}

enum sb_err_kind secrets_open(const struct secrets *s, const char *sealed, const char *what,
                              char **plain, struct sb_err *err)
{
    const char *b64;
    size_t b64_len, raw_len;
    unsigned long long plain_len;
    uint8_t *raw;
    char *out;

    *plain = NULL;
    if (strncmp(sealed, SCHEME_PREFIX, strlen(SCHEME_PREFIX)) != 0)
        return sb_err_set(err, SB_ERR_BAD_REQUEST,
                          "Field '%s' holds an encrypted value of an unknown scheme; send the "
                          "plaintext value or the encrypted value this server returned.", what);
    b64 = sealed + strlen(SCHEME_PREFIX);
    b64_len = strlen(b64);
    raw = xmalloc(b64_len + 1);
    if (sodium_base642bin(raw, b64_len + 1, b64, b64_len, NULL, &raw_len, NULL,
                          sodium_base64_VARIANT_ORIGINAL) != 0 ||
        raw_len < NONCE_BYTES + TAG_BYTES) {
        free(raw);
        return sb_err_set(err, SB_ERR_BAD_REQUEST,
                          "Field '%s' holds a malformed encrypted value.", what);
    }
    out = xmalloc(raw_len - NONCE_BYTES - TAG_BYTES + 1);
    if (crypto_aead_xchacha20poly1305_ietf_decrypt((uint8_t *)out, &plain_len, NULL,
                                                   raw + NONCE_BYTES, raw_len - NONCE_BYTES,
                                                   (const uint8_t *)AD, strlen(AD), raw,
                                                   s->key) != 0) {
        free(raw);
        free(out);
        return sb_err_set(err, SB_ERR_BAD_REQUEST,
                          "Field '%s' holds an encrypted value that this server cannot decrypt "
                          "(it was encrypted under another key); send the plaintext value instead.",
                          what);
    }
    free(raw);
    out[plain_len] = '\0';
    if (strlen(out) != plain_len) {
        sodium_memzero(out, plain_len);
        free(out);
        return sb_err_set(err, SB_ERR_BAD_REQUEST, "Field '%s' decrypts to a value with a NUL "
                          "byte.", what);
    }
    *plain = out;
    return SB_OK;
}

/* ---- the visitor ---- */

/* Called for each secret slot: HOLDER's string member KEY. WHAT names it for messages. */
typedef enum sb_err_kind (*slot_fn)(void *ctx, json_t *holder, const char *key, const char *what,
                                    struct sb_err *err);

static enum sb_err_kind visit_params(json_t *params, slot_fn fn, void *ctx, struct sb_err *err)
{
    const char *key;
    json_t *v, *props, *entry;
    void *tmp;
    size_t i;
    char what[192];

    if (!json_is_object(params))
        return SB_OK;
    json_object_foreach_safe(params, tmp, key, v) {
        if (!json_is_string(v) || !secrets_is_secret_param(key))
            continue;
        snprintf(what, sizeof(what), "params.%s", key);
        if (fn(ctx, params, key, what, err) != SB_OK)
            return err->kind;
    }
    props = json_object_get(params, "properties");
    if (!json_is_array(props))
        return SB_OK;
    json_array_foreach(props, i, entry) {
        if (!json_is_object(entry) || !json_is_true(json_object_get(entry, "secret")) ||
            !json_is_string(json_object_get(entry, "value")))
            continue;
        snprintf(what, sizeof(what), "params.properties[%zu].value", i);
        if (fn(ctx, entry, "value", what, err) != SB_OK)
            return err->kind;
    }
    return SB_OK;
}

static enum sb_err_kind visit_user(json_t *settings, slot_fn fn, void *ctx, struct sb_err *err)
{
    json_t *creds = json_object_get(settings, "credentials");
    json_t *list = json_object_get(settings, "secrets");
    const char *conn, *key;
    json_t *cred, *v, *entry;
    void *tmp;
    size_t i;
    char what[192];

    if (json_is_object(creds))
        json_object_foreach(creds, conn, cred) {
            if (!json_is_object(cred))
                continue;
            json_object_foreach_safe(cred, tmp, key, v) {
                if (!json_is_string(v) || !secrets_is_secret_param(key))
                    continue;
                snprintf(what, sizeof(what), "credentials of connection %.64s, %s", conn, key);
                if (fn(ctx, cred, key, what, err) != SB_OK)
                    return err->kind;
            }
        }
    if (json_is_array(list))
        json_array_foreach(list, i, entry) {
            if (!json_is_object(entry) || !json_is_string(json_object_get(entry, "value")))
                continue;
            snprintf(what, sizeof(what), "secrets[%zu].value", i);
            if (fn(ctx, entry, "value", what, err) != SB_OK)
                return err->kind;
        }
    return SB_OK;
}

/* Secrets must be strings: a number or object where a secret belongs would be stored and
 * shown in clear. Checked before sealing. */
/* seal: plaintext -> sealed; sealed -> kept when it opens */
static enum sb_err_kind slot_seal(void *ctx, json_t *holder, const char *key, const char *what,
                                  struct sb_err *err)
{
    const struct secrets *s = ctx;
    const char *value = json_string_value(json_object_get(holder, key));
    char *plain;

    if (secrets_is_sealed(value)) {
        if (secrets_open(s, value, what, &plain, err) != SB_OK)
            return err->kind;
        sodium_memzero(plain, strlen(plain));
        free(plain);
        return SB_OK;
    }
    char *sealed = secrets_seal(s, value);
    json_object_set_new(holder, key, json_string(sealed));
    free(sealed);
    return SB_OK;
}

static enum sb_err_kind slot_open(void *ctx, json_t *holder, const char *key, const char *what,
                                  struct sb_err *err)
{
    const struct secrets *s = ctx;
    const char *value = json_string_value(json_object_get(holder, key));
    char *plain;

    if (!secrets_is_sealed(value))
        return SB_OK; /* stored before sealing applied to this name: it is the plaintext */
    if (secrets_open(s, value, what, &plain, err) != SB_OK)
        return sb_err_set(err, SB_ERR_INTERNAL,
                          "The stored value of '%s' cannot be decrypted with this server's key.",
                          what);
    json_object_set_new(holder, key, xcheck(json_string(plain)));
    sodium_memzero(plain, strlen(plain));
    free(plain);
    return SB_OK;
}

static enum sb_err_kind slot_strip(void *ctx, json_t *holder, const char *key, const char *what,
                                   struct sb_err *err)
{
    (void)ctx;
    (void)what;
    (void)err;
    json_object_del(holder, key);
    return SB_OK;
}

struct reseal_ctx {
    const struct secrets *from, *to;
    int *count;
};

static enum sb_err_kind slot_reseal(void *ctx, json_t *holder, const char *key, const char *what,
                                    struct sb_err *err)
{
    struct reseal_ctx *r = ctx;
    const char *value = json_string_value(json_object_get(holder, key));
    char *plain, *sealed;

    if (!secrets_is_sealed(value)) {
        sealed = secrets_seal(r->to, value);
        json_object_set_new(holder, key, json_string(sealed));
        free(sealed);
        (*r->count)++;
        return SB_OK;
    }
    if (secrets_open(r->from, value, what, &plain, err) != SB_OK)
        return sb_err_set(err, SB_ERR_INTERNAL,
                          "The stored value of '%s' cannot be decrypted with the current key.",
                          what);
    sealed = secrets_seal(r->to, plain);
    sodium_memzero(plain, strlen(plain));
    free(plain);
    json_object_set_new(holder, key, json_string(sealed));
    free(sealed);
    (*r->count)++;
    return SB_OK;
}

/* Secrets must be strings: a number or an object where a secret belongs would be stored and
 * shown in clear. */
static bool params_secret_types_ok(const json_t *params, struct sb_err *err)
{
    const char *key;
    json_t *v, *entry;
    size_t i;

    json_object_foreach((json_t *)params, key, v)
        if (secrets_is_secret_param(key) && !json_is_string(v) && !json_is_null(v))
            return sb_err_set(err, SB_ERR_BAD_REQUEST, "Field 'params.%s' is a secret and must "
                              "be a string.", key), false;
    json_array_foreach(json_object_get(params, "properties"), i, entry) {
        v = json_object_get(entry, "value");
        if (json_is_true(json_object_get(entry, "secret")) && v && !json_is_string(v) &&
            !json_is_null(v))
            return sb_err_set(err, SB_ERR_BAD_REQUEST, "Field 'params.properties[%zu].value' is "
                              "a secret and must be a string.", i), false;
    }
    return true;
}

static bool user_secret_types_ok(const json_t *settings, struct sb_err *err)
{
    const char *conn, *key;
    json_t *cred, *v, *entry;
    size_t i;

    json_object_foreach(json_object_get(settings, "credentials"), conn, cred)
        json_object_foreach(cred, key, v)
            if (secrets_is_secret_param(key) && !json_is_string(v) && !json_is_null(v))
                return sb_err_set(err, SB_ERR_BAD_REQUEST, "Field '%s' of the credentials of "
                                  "connection '%.64s' is a secret and must be a string.", key,
                                  conn), false;
    json_array_foreach(json_object_get(settings, "secrets"), i, entry) {
        v = json_object_get(entry, "value");
        if (v && !json_is_string(v) && !json_is_null(v))
            return sb_err_set(err, SB_ERR_BAD_REQUEST, "Field 'secrets[%zu].value' must be a "
                              "string.", i), false;
    }
    return true;
}

enum sb_err_kind secrets_seal_params(const struct secrets *s, json_t *params, struct sb_err *err)
{
    if (json_is_object(params) && !params_secret_types_ok(params, err))
        return err->kind;
    return visit_params(params, slot_seal, (void *)s, err);
}

json_t *secrets_strip_params(const json_t *params)
{
    json_t *copy = xcheck(json_deep_copy(params));
    struct sb_err err;

    visit_params(copy, slot_strip, NULL, &err);
    return copy;
}

enum sb_err_kind secrets_open_params(const struct secrets *s, const json_t *params, json_t **out,
                                     struct sb_err *err)
{
    json_t *copy = xcheck(json_deep_copy(params));

    if (visit_params(copy, slot_open, (void *)s, err) != SB_OK) {
        json_decref(copy);
        return err->kind;
    }
    *out = copy;
    return SB_OK;
}

enum sb_err_kind secrets_seal_user(const struct secrets *s, json_t *settings, struct sb_err *err)
{
    if (!user_secret_types_ok(settings, err))
        return err->kind;
    return visit_user(settings, slot_seal, (void *)s, err);
}

enum sb_err_kind secrets_open_user(const struct secrets *s, const json_t *settings, json_t **out,
                                   struct sb_err *err)
{
    json_t *copy = xcheck(json_deep_copy(settings));

    if (visit_user(copy, slot_open, (void *)s, err) != SB_OK) {
        json_decref(copy);
        return err->kind;
    }
    *out = copy;
    return SB_OK;
}

enum sb_err_kind secrets_reseal_params(const struct secrets *from, const struct secrets *to,
                                       json_t *params, int *count, struct sb_err *err)
{
    struct reseal_ctx ctx = {from, to, count};
    return visit_params(params, slot_reseal, &ctx, err);
}

enum sb_err_kind secrets_reseal_user(const struct secrets *from, const struct secrets *to,
                                     json_t *settings, int *count, struct sb_err *err)
{
    struct reseal_ctx ctx = {from, to, count};
    return visit_user(settings, slot_reseal, &ctx, err);
}
