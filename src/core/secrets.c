/* SPDX-License-Identifier: Apache-2.0 */
/* Secrets at rest.
 *
 * Envelope: "e:xc1:" followed by standard base64 (with padding) of nonce || ciphertext, where
 * nonce is 24 random bytes and ciphertext is XChaCha20-Poly1305 (IETF) of the UTF-8 value, tag
 * included, under the 32-byte secrets key. The secrets key is derived from the master key
 * (core/masterkey.c), so rotating the master key means re-sealing every value (used by
 * `switchboard admin rotate-key`).
 *
 * Binding: the additional data names the value's place, so that a ciphertext copied from one
 * place to another (another connection's password pasted into one's own credential, say) does
 * not open there. It is "switchboard-secret/2" followed by the kind, the object and the field
 * path (struct secrets_place), each as a 4-byte big-endian length and its bytes. Values sealed
 * before binding used the additional data "switchboard-secret" alone; they are only ever
 * opened to be re-sealed for their place (secrets_reseal_*, run once at start-up by
 * datadir.c), never to serve or to accept a value.
 *
 * Where secrets live: a connection's params members whose names are secret (the list below,
 * later the type registry), the "value" of params.properties entries marked "secret": true, a
 * user's credentials (every secret-named member of each credential) and the "value" of each
 * entry of a user's secrets list. One visitor walks those slots; sealing, opening, stripping and
 * re-sealing are callbacks on it, so that the places are listed exactly once.
 *
 * Round trip: clients read sealed values and send them back. A sealed value that opens for its
 * place under the current key is kept byte for byte (so get -> set never double-encrypts); one
 * that does not is refused, because storing it would lose the secret for good. A user editing
 * their own settings may send back only the very value stored in that slot. */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/masterkey.h"
#include "core/secrets.h"
#include "util/mem.h"

#define SCHEME_PREFIX "e:xc1:"
#define LEGACY_AD "switchboard-secret"
#define BOUND_AD "switchboard-secret/2"
#define NONCE_BYTES crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
#define TAG_BYTES crypto_aead_xchacha20poly1305_ietf_ABYTES

static const char *const secret_names[] = {
    "password",     "secretKey",    "privateKey", "clientSecret", "token",
    "accessToken",  "refreshToken", "apiKey",     "passphrase",   "sasToken",
    "sessionToken", "keyPassword",  "accountKey", NULL,
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

/* The additional data for AT (caller frees, *LEN its length). */
static uint8_t *bound_ad(const struct secrets_place *at, size_t *len)
{
    const char *parts[3] = {at->kind, at->object, at->field};
    size_t n = strlen(BOUND_AD), off;
    uint8_t *ad;

    for (int i = 0; i < 3; i++)
        n += 4 + strlen(parts[i] ? parts[i] : "");
    ad = xmalloc(n);
    memcpy(ad, BOUND_AD, strlen(BOUND_AD));
    off = strlen(BOUND_AD);
    for (int i = 0; i < 3; i++) {
        const char *p = parts[i] ? parts[i] : "";
        uint32_t plen = (uint32_t)strlen(p);
        ad[off++] = (uint8_t)(plen >> 24);
        ad[off++] = (uint8_t)(plen >> 16);
        ad[off++] = (uint8_t)(plen >> 8);
        ad[off++] = (uint8_t)plen;
        memcpy(ad + off, p, plen);
        off += plen;
    }
    *len = n;
    return ad;
}

char *secrets_seal(const struct secrets *s, const struct secrets_place *at, const char *plain)
{
    size_t plain_len = strlen(plain), ad_len;
    size_t raw_len = NONCE_BYTES + plain_len + TAG_BYTES;
    uint8_t *raw = xmalloc(raw_len), *ad = bound_ad(at, &ad_len);
    size_t b64_len = sodium_base64_ENCODED_LEN(raw_len, sodium_base64_VARIANT_ORIGINAL);
    char *out = xmalloc(strlen(SCHEME_PREFIX) + b64_len);

    randombytes_buf(raw, NONCE_BYTES);
    crypto_aead_xchacha20poly1305_ietf_encrypt(raw + NONCE_BYTES, NULL, (const uint8_t *)plain,
                                               plain_len, ad, ad_len, NULL, raw, s->key);
    memcpy(out, SCHEME_PREFIX, strlen(SCHEME_PREFIX));
    sodium_bin2base64(out + strlen(SCHEME_PREFIX), b64_len, raw, raw_len,
                      sodium_base64_VARIANT_ORIGINAL);
    free(raw);
    free(ad);
    return out;
}

/* Opens SEALED under S with additional data AD (AD_LEN bytes). */
static enum sb_err_kind open_with_ad(const struct secrets *s, const uint8_t *ad, size_t ad_len,
                                     const char *sealed, const char *what, char **plain,
                                     struct sb_err *err)
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
                          "plaintext value or the encrypted value this server returned.",
                          what);
    b64 = sealed + strlen(SCHEME_PREFIX);
    b64_len = strlen(b64);
    raw = xmalloc(b64_len + 1);
    if (sodium_base642bin(raw, b64_len + 1, b64, b64_len, NULL, &raw_len, NULL,
                          sodium_base64_VARIANT_ORIGINAL) != 0 ||
        raw_len < NONCE_BYTES + TAG_BYTES) {
        free(raw);
        return sb_err_set(err, SB_ERR_BAD_REQUEST, "Field '%s' holds a malformed encrypted value.",
                          what);
    }
    out = xmalloc(raw_len - NONCE_BYTES - TAG_BYTES + 1);
    if (crypto_aead_xchacha20poly1305_ietf_decrypt((uint8_t *)out, &plain_len, NULL,
                                                   raw + NONCE_BYTES, raw_len - NONCE_BYTES, ad,
                                                   ad_len, raw, s->key) != 0) {
        free(raw);
        free(out);
        return sb_err_set(err, SB_ERR_BAD_REQUEST,
                          "Field '%s' holds an encrypted value that does not belong there: it "
                          "was encrypted for another field, object or server key; send the "
                          "plaintext value instead.",
                          what);
    }
    free(raw);
    out[plain_len] = '\0';
    if (strlen(out) != plain_len) {
        sodium_memzero(out, plain_len);
        free(out);
        return sb_err_set(err, SB_ERR_BAD_REQUEST,
                          "Field '%s' decrypts to a value with a NUL "
                          "byte.",
                          what);
    }
    *plain = out;
    return SB_OK;
}

enum sb_err_kind secrets_open(const struct secrets *s, const struct secrets_place *at,
                              const char *sealed, const char *what, char **plain,
                              struct sb_err *err)
{
    size_t ad_len;
    uint8_t *ad = bound_ad(at, &ad_len);
    enum sb_err_kind kind = open_with_ad(s, ad, ad_len, sealed, what, plain, err);

    free(ad);
    return kind;
}

/* Opens SEALED for AT, or as a value sealed before binding; *LEGACY tells which. */
static enum sb_err_kind open_bound_or_legacy(const struct secrets *s,
                                             const struct secrets_place *at, const char *sealed,
                                             const char *what, char **plain, bool *legacy,
                                             struct sb_err *err)
{
    *legacy = false;
    if (secrets_open(s, at, sealed, what, plain, err) == SB_OK)
        return SB_OK;
    if (open_with_ad(s, (const uint8_t *)LEGACY_AD, strlen(LEGACY_AD), sealed, what, plain, err) !=
        SB_OK)
        return err->kind;
    *legacy = true;
    return SB_OK;
}

/* ---- the visitor ---- */

/* One secret slot: HOLDER's string member KEY, at place AT; WHAT names it for messages. */
struct slot {
    json_t *holder;
    const char *key, *what;
    struct secrets_place at;
    /* for user settings: the credential's connection and member, or the secret's name */
    const char *cred_conn, *cred_key, *secret_name;
};

typedef enum sb_err_kind (*slot_fn)(void *ctx, const struct slot *slot, struct sb_err *err);

static enum sb_err_kind visit_params(const char *conn, json_t *params, slot_fn fn, void *ctx,
                                     struct sb_err *err)
{
    const char *key, *prop;
    json_t *v, *props, *entry;
    void *tmp;
    size_t i;
    char what[192], field[512];
    struct slot slot = {.at = {SECRETS_CONNECTION, conn, field}, .what = what};

    if (!json_is_object(params))
        return SB_OK;
    json_object_foreach_safe (params, tmp, key, v) {
        if (!json_is_string(v) || !secrets_is_secret_param(key))
            continue;
        snprintf(what, sizeof(what), "params.%s", key);
        snprintf(field, sizeof(field), "params.%s", key);
        slot.holder = params;
        slot.key = key;
        if (fn(ctx, &slot, err) != SB_OK)
            return err->kind;
    }
    props = json_object_get(params, "properties");
    if (!json_is_array(props))
        return SB_OK;
    json_array_foreach (props, i, entry) {
        if (!json_is_object(entry) || !json_is_true(json_object_get(entry, "secret")) ||
            !json_is_string(json_object_get(entry, "value")))
            continue;
        prop = json_string_value(json_object_get(entry, "name"));
        snprintf(what, sizeof(what), "params.properties[%zu].value", i);
        /* bound to the property's name, not its index: reordering keeps values valid */
        snprintf(field, sizeof(field), "params.properties.%s.value", prop ? prop : "");
        slot.holder = entry;
        slot.key = "value";
        if (fn(ctx, &slot, err) != SB_OK)
            return err->kind;
    }
    return SB_OK;
}

static enum sb_err_kind visit_user(const char *login, json_t *settings, slot_fn fn, void *ctx,
                                   struct sb_err *err)
{
    json_t *creds = json_object_get(settings, "credentials");
    json_t *list = json_object_get(settings, "secrets");
    const char *conn, *key, *name;
    json_t *cred, *v, *entry;
    void *tmp;
    size_t i;
    char what[192], field[512];
    struct slot slot = {.at = {SECRETS_USER, login, field}, .what = what};

    if (json_is_object(creds))
        json_object_foreach (creds, conn, cred) {
            if (!json_is_object(cred))
                continue;
            json_object_foreach_safe (cred, tmp, key, v) {
                if (!json_is_string(v) || !secrets_is_secret_param(key))
                    continue;
                snprintf(what, sizeof(what), "credentials.%.64s.%s", conn, key);
                snprintf(field, sizeof(field), "credentials.%s.%s", conn, key);
                slot.holder = cred;
                slot.key = key;
                slot.cred_conn = conn;
                slot.cred_key = key;
                slot.secret_name = NULL;
                if (fn(ctx, &slot, err) != SB_OK)
                    return err->kind;
            }
        }
    if (json_is_array(list))
        json_array_foreach (list, i, entry) {
            if (!json_is_object(entry) || !json_is_string(json_object_get(entry, "value")))
                continue;
            name = json_string_value(json_object_get(entry, "name"));
            snprintf(what, sizeof(what), "secrets[%zu].value", i);
            snprintf(field, sizeof(field), "secrets.%s.value", name ? name : "");
            slot.holder = entry;
            slot.key = "value";
            slot.cred_conn = slot.cred_key = NULL;
            slot.secret_name = name ? name : "";
            if (fn(ctx, &slot, err) != SB_OK)
                return err->kind;
        }
    return SB_OK;
}

static const char *slot_value(const struct slot *slot)
{
    return json_string_value(json_object_get(slot->holder, slot->key));
}

/* The value stored in STORED (a user's settings) in the same slot as SLOT, or NULL. */
static const char *stored_user_value(const json_t *stored, const struct slot *slot)
{
    json_t *entry;
    size_t i;

    if (slot->cred_conn)
        return json_string_value(json_object_get(
            json_object_get(json_object_get(stored, "credentials"), slot->cred_conn),
            slot->cred_key));
    json_array_foreach (json_object_get(stored, "secrets"), i, entry) {
        const char *name = json_string_value(json_object_get(entry, "name"));
        if (name && strcmp(name, slot->secret_name) == 0)
            return json_string_value(json_object_get(entry, "value"));
    }
    return NULL;
}

struct seal_ctx {
    const struct secrets *s;
    const json_t *stored; /* a user's stored settings, when they edit their own */
};

/* seal: plaintext -> sealed; sealed -> kept when it opens for its place (or, for a user
 * editing their own settings, when it is the value stored in that slot) */
static enum sb_err_kind slot_seal(void *ctx, const struct slot *slot, struct sb_err *err)
{
    const struct seal_ctx *c = ctx;
    const char *value = slot_value(slot), *was;
    char *plain, *sealed;

    if (secrets_is_sealed(value)) {
        if (c->stored) {
            was = stored_user_value(c->stored, slot);
            if (!was || strcmp(was, value) != 0)
                return sb_err_set(err, SB_ERR_BAD_REQUEST,
                                  "Field '%s' holds an encrypted value that is not the one "
                                  "stored there; send the plaintext value instead.",
                                  slot->what);
            return SB_OK;
        }
        if (secrets_open(c->s, &slot->at, value, slot->what, &plain, err) != SB_OK)
            return err->kind;
        sodium_memzero(plain, strlen(plain));
        free(plain);
        return SB_OK;
    }
    sealed = secrets_seal(c->s, &slot->at, value);
    json_object_set_new(slot->holder, slot->key, json_string(sealed));
    free(sealed);
    return SB_OK;
}

static enum sb_err_kind slot_open(void *ctx, const struct slot *slot, struct sb_err *err)
{
    const struct secrets *s = ctx;
    const char *value = slot_value(slot);
    char *plain;

    if (!secrets_is_sealed(value))
        return SB_OK; /* stored before sealing applied to this name: it is the plaintext */
    if (secrets_open(s, &slot->at, value, slot->what, &plain, err) != SB_OK)
        return sb_err_set(err, SB_ERR_INTERNAL,
                          "The stored value of '%s' cannot be decrypted with this server's key.",
                          slot->what);
    json_object_set_new(slot->holder, slot->key, xcheck(json_string(plain)));
    sodium_memzero(plain, strlen(plain));
    free(plain);
    return SB_OK;
}

static enum sb_err_kind slot_strip(void *ctx, const struct slot *slot, struct sb_err *err)
{
    (void)ctx;
    (void)err;
    json_object_del(slot->holder, slot->key);
    return SB_OK;
}

struct reseal_ctx {
    const struct secrets *from, *to;
    int *count;
};

static bool same_key(const struct secrets *a, const struct secrets *b)
{
    return a == b || sodium_memcmp(a->key, b->key, sizeof(a->key)) == 0;
}

/* *OUT: VALUE (sealed for AT under FROM, or before binding, or a plaintext) re-sealed under TO
 * for AT, or NULL when it already is. */
static enum sb_err_kind reseal_one(const struct secrets *from, const struct secrets *to,
                                   const struct secrets_place *at, const char *value,
                                   const char *what, char **out, struct sb_err *err)
{
    char *plain;
    bool legacy;

    *out = NULL;
    if (!secrets_is_sealed(value)) {
        *out = secrets_seal(to, at, value);
        return SB_OK;
    }
    if (open_bound_or_legacy(from, at, value, what, &plain, &legacy, err) != SB_OK)
        return sb_err_set(err, SB_ERR_INTERNAL,
                          "The stored value of '%s' cannot be decrypted with the current key.",
                          what);
    if (legacy || !same_key(from, to))
        *out = secrets_seal(to, at, plain);
    sodium_memzero(plain, strlen(plain));
    free(plain);
    return SB_OK;
}

static enum sb_err_kind slot_reseal(void *ctx, const struct slot *slot, struct sb_err *err)
{
    struct reseal_ctx *r = ctx;
    char *sealed;

    if (reseal_one(r->from, r->to, &slot->at, slot_value(slot), slot->what, &sealed, err) != SB_OK)
        return err->kind;
    if (sealed) {
        json_object_set_new(slot->holder, slot->key, json_string(sealed));
        free(sealed);
        (*r->count)++;
    }
    return SB_OK;
}

enum sb_err_kind secrets_reseal_value(const struct secrets *from, const struct secrets *to,
                                      const struct secrets_place *at, const char *sealed,
                                      char **out, struct sb_err *err)
{
    return reseal_one(from, to, at, sealed, at->field, out, err);
}

/* Secrets must be strings: a number or an object where a secret belongs would be stored and
 * shown in clear. */
static bool params_secret_types_ok(const json_t *params, struct sb_err *err)
{
    const char *key;
    json_t *v, *entry;
    size_t i;

    json_object_foreach ((json_t *)params, key, v)
        if (secrets_is_secret_param(key) && !json_is_string(v) && !json_is_null(v))
            return sb_err_set(err, SB_ERR_BAD_REQUEST,
                              "Field 'params.%s' is a secret and must "
                              "be a string.",
                              key),
                   false;
    json_array_foreach (json_object_get(params, "properties"), i, entry) {
        v = json_object_get(entry, "value");
        if (json_is_true(json_object_get(entry, "secret")) && v && !json_is_string(v) &&
            !json_is_null(v))
            return sb_err_set(err, SB_ERR_BAD_REQUEST,
                              "Field 'params.properties[%zu].value' is "
                              "a secret and must be a string.",
                              i),
                   false;
    }
    return true;
}

static bool user_secret_types_ok(const json_t *settings, struct sb_err *err)
{
    const char *conn, *key;
    json_t *cred, *v, *entry;
    size_t i;

    json_object_foreach (json_object_get(settings, "credentials"), conn, cred)
        json_object_foreach (cred, key, v)
            if (secrets_is_secret_param(key) && !json_is_string(v) && !json_is_null(v))
                return sb_err_set(err, SB_ERR_BAD_REQUEST,
                                  "Field '%s' of the credentials of "
                                  "connection '%.64s' is a secret and must be a string.",
                                  key, conn),
                       false;
    json_array_foreach (json_object_get(settings, "secrets"), i, entry) {
        v = json_object_get(entry, "value");
        if (v && !json_is_string(v) && !json_is_null(v))
            return sb_err_set(err, SB_ERR_BAD_REQUEST,
                              "Field 'secrets[%zu].value' must be a "
                              "string.",
                              i),
                   false;
    }
    return true;
}

enum sb_err_kind secrets_seal_params(const struct secrets *s, const char *conn, json_t *params,
                                     struct sb_err *err)
{
    struct seal_ctx ctx = {s, NULL};

    if (json_is_object(params) && !params_secret_types_ok(params, err))
        return err->kind;
    return visit_params(conn, params, slot_seal, &ctx, err);
}

json_t *secrets_strip_params(const json_t *params)
{
    json_t *copy = xcheck(json_deep_copy(params));
    struct sb_err err;

    visit_params("", copy, slot_strip, NULL, &err);
    return copy;
}

enum sb_err_kind secrets_open_params(const struct secrets *s, const char *conn,
                                     const json_t *params, json_t **out, struct sb_err *err)
{
    json_t *copy = xcheck(json_deep_copy(params));

    if (visit_params(conn, copy, slot_open, (void *)s, err) != SB_OK) {
        json_decref(copy);
        return err->kind;
    }
    *out = copy;
    return SB_OK;
}

enum sb_err_kind secrets_seal_user(const struct secrets *s, const char *login, json_t *settings,
                                   const json_t *stored, struct sb_err *err)
{
    struct seal_ctx ctx = {s, stored};

    if (!user_secret_types_ok(settings, err))
        return err->kind;
    return visit_user(login, settings, slot_seal, &ctx, err);
}

enum sb_err_kind secrets_open_user(const struct secrets *s, const char *login,
                                   const json_t *settings, json_t **out, struct sb_err *err)
{
    json_t *copy = xcheck(json_deep_copy(settings));

    if (visit_user(login, copy, slot_open, (void *)s, err) != SB_OK) {
        json_decref(copy);
        return err->kind;
    }
    *out = copy;
    return SB_OK;
}

enum sb_err_kind secrets_reseal_params(const struct secrets *from, const struct secrets *to,
                                       const char *conn, json_t *params, int *count,
                                       struct sb_err *err)
{
    struct reseal_ctx ctx = {from, to, count};
    return visit_params(conn, params, slot_reseal, &ctx, err);
}

enum sb_err_kind secrets_reseal_user(const struct secrets *from, const struct secrets *to,
                                     const char *login, json_t *settings, int *count,
                                     struct sb_err *err)
{
    struct reseal_ctx ctx = {from, to, count};
    return visit_user(login, settings, slot_reseal, &ctx, err);
}
