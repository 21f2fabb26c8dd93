/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of src/core/secrets.c: the sealed form "e:xc1:<base64>" (round trip, freshness,
 * authentication under the key), the list of secret param names, and the rules that seal, keep,
 * refuse, strip, open and re-seal the secret slots of connection params and of user settings.
 * Two keys, A and B, are derived with secrets_init from two different master keys. Every json_t
 * is released so that the leak detector at exit also checks the code under test. */
/* cmocka.h needs these four first */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "json_assert.h"

#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/secrets.h"

#define PREFIX "e:xc1:"

static struct secrets key_a, key_b;

/* Places of sealed values: connection "c", user "alice", and the one the envelope tests use. */
#define CONN_AT(field) (&(const struct secrets_place){SECRETS_CONNECTION, "c", (field)})
#define USER_AT(field) (&(const struct secrets_place){SECRETS_USER, "alice", (field)})
#define T_AT CONN_AT("params.password")

/* Asserts that ERR is KIND and that its message quotes 'FIELD'. */
static void assert_err_names(const struct sb_err *err, enum sb_err_kind kind, const char *field)
{
    char quoted[160];

    snprintf(quoted, sizeof(quoted), "'%s'", field);
    if (err->kind != kind)
        fail_msg("expected error kind %d, got %d (%s)", kind, err->kind, err->msg);
    if (!strstr(err->msg, quoted))
        fail_msg("message does not name %s: %s", quoted, err->msg);
}

/* Seals PLAIN under S into a JSON string (new reference). */
static json_t *sealed_json(const struct secrets *s, const struct secrets_place *at,
                           const char *plain)
{
    char *sealed = secrets_seal(s, at, plain);
    json_t *v = json_string(sealed);

    assert_non_null(v);
    free(sealed);
    return v;
}

/* Asserts that SEALED opens under S to EXPECTED. */
static void assert_opens_to(const struct secrets *s, const struct secrets_place *at,
                            const char *sealed, const char *expected)
{
    struct sb_err err;
    char *plain = NULL;

    assert_non_null(sealed);
    sb_err_clear(&err);
    if (secrets_open(s, at, sealed, "x", &plain, &err) != SB_OK)
        fail_msg("cannot open %s: %s", sealed, err.msg);
    assert_non_null(plain);
    assert_string_equal(plain, expected);
    free(plain);
}

/* Asserts that SEALED has the sealed form and does not open under S. */
static void assert_does_not_open(const struct secrets *s, const struct secrets_place *at,
                                 const char *sealed)
{
    struct sb_err err;
    char *plain = (char *)"sentinel";

    assert_non_null(sealed);
    assert_true(strncmp(sealed, PREFIX, strlen(PREFIX)) == 0);
    sb_err_clear(&err);
    assert_int_equal(secrets_open(s, at, sealed, "x", &plain, &err), SB_ERR_BAD_REQUEST);
    assert_null(plain);
}

/* String member KEY of OBJ (fails when absent or not a string). */
static const char *str_member(const json_t *obj, const char *key)
{
    const char *v = json_string_value(json_object_get(obj, key));
    if (!v)
        fail_msg("member '%s' is missing or not a string", key);
    return v;
}

/* String member "value" of entry I of array member KEY of OBJ. */
static const char *entry_value(const json_t *obj, const char *key, size_t i)
{
    return str_member(json_array_get(json_object_get(obj, key), i), "value");
}

static void round_trip(const char *plain)
{
    char *sealed = secrets_seal(&key_a, T_AT, plain);

    assert_non_null(sealed);
    assert_true(strncmp(sealed, PREFIX, strlen(PREFIX)) == 0);
    assert_true(secrets_is_sealed(sealed));
    if (strlen(plain) >= 6)
        assert_null(strstr(sealed, plain)); /* the plaintext does not show through */
    assert_opens_to(&key_a, T_AT, sealed, plain);
    free(sealed);
}

/* --- secrets_seal / secrets_open --- */

static void test_seal_open_round_trip_of_empty_string(void **state)
{
    (void)state;
    round_trip("");
}

static void test_seal_open_round_trip_of_ascii(void **state)
{
    (void)state;
    round_trip("hunter2");
    round_trip("p@ss w0rd with spaces, \"quotes\" and \\backslashes\\");
}

static void test_seal_open_round_trip_of_unicode(void **state)
{
    (void)state;
    round_trip("h\xc3\xa9llo w\xc3\xb6rld \xe2\x9c\x93 \xe6\x97\xa5\xe6\x9c\xac "
               "\xf0\x9f\x94\x91"); /* héllo wörld ✓ 日本 🔑 */
}

static void test_seal_open_round_trip_of_long_value(void **state)
{
    size_t n = 100000, i;
    char *plain = malloc(n + 1);
    (void)state;

    assert_non_null(plain);
    for (i = 0; i < n; i++)
        plain[i] = (char)('a' + i % 26);
    plain[n] = '\0';
    round_trip(plain);
    free(plain);
}

static void test_sealed_form_starts_with_scheme_and_is_base64(void **state)
{
    char *sealed = secrets_seal(&key_a, T_AT, "pw");
    uint8_t raw[256];
    size_t raw_len = 0;
    const char *b64 = sealed + strlen(PREFIX);
    (void)state;

    assert_true(strncmp(sealed, "e:xc1:", 6) == 0);
    assert_int_equal(sodium_base642bin(raw, sizeof(raw), b64, strlen(b64), NULL, &raw_len, NULL,
                                       sodium_base64_VARIANT_ORIGINAL),
                     0);
    /* 24-byte nonce, 2 bytes of ciphertext, 16-byte tag */
    assert_int_equal(raw_len, 24 + 2 + 16);
    free(sealed);
}

static void test_is_sealed_recognises_the_e_prefix_only(void **state)
{
    (void)state;
    assert_true(secrets_is_sealed("e:xc1:AAAA"));
    assert_true(secrets_is_sealed("e:zz:AAAA"));
    assert_false(secrets_is_sealed("plain"));
    assert_false(secrets_is_sealed(""));
    assert_false(secrets_is_sealed("E:xc1:AAAA"));
    assert_false(secrets_is_sealed(NULL));
}

static void test_two_seals_of_same_value_differ(void **state)
{
    char *s1 = secrets_seal(&key_a, T_AT, "same value");
    char *s2 = secrets_seal(&key_a, T_AT, "same value");
    (void)state;

    assert_string_not_equal(s1, s2);
    assert_opens_to(&key_a, T_AT, s1, "same value");
    assert_opens_to(&key_a, T_AT, s2, "same value");
    free(s1);
    free(s2);
}

static void test_keys_from_different_master_keys_differ(void **state)
{
    (void)state;
    assert_memory_not_equal(key_a.key, key_b.key, SECRETS_KEY_BYTES);
}

static void test_open_with_other_key_is_bad_request_naming_field(void **state)
{
    char *sealed = secrets_seal(&key_a, T_AT, "pw");
    char *plain = (char *)"sentinel";
    struct sb_err err;
    (void)state;

    sb_err_clear(&err);
    assert_int_equal(secrets_open(&key_b, T_AT, sealed, "params.password", &plain, &err),
                     SB_ERR_BAD_REQUEST);
    assert_null(plain);
    assert_err_names(&err, SB_ERR_BAD_REQUEST, "params.password");
    assert_null(strstr(err.msg, "pw'"));
    free(sealed);
}

/* Decodes SEALED, flips one bit of byte AT (counted from the start of nonce || ciphertext), and
 * re-encodes it; caller frees. */
static char *tamper(const char *sealed, size_t at)
{
    const char *b64 = sealed + strlen(PREFIX);
    size_t b64_len = strlen(b64), raw_len = 0, out_len;
    uint8_t *raw = malloc(b64_len);
    char *out;

    assert_non_null(raw);
    assert_int_equal(sodium_base642bin(raw, b64_len, b64, b64_len, NULL, &raw_len, NULL,
                                       sodium_base64_VARIANT_ORIGINAL),
                     0);
    assert_true(at < raw_len);
    raw[at] ^= 0x01;
    out_len = strlen(PREFIX) + sodium_base64_ENCODED_LEN(raw_len, sodium_base64_VARIANT_ORIGINAL);
    out = malloc(out_len);
    assert_non_null(out);
    memcpy(out, PREFIX, strlen(PREFIX));
    sodium_bin2base64(out + strlen(PREFIX), out_len - strlen(PREFIX), raw, raw_len,
                      sodium_base64_VARIANT_ORIGINAL);
    free(raw);
    return out;
}

static void test_tampered_ciphertext_nonce_or_tag_fails(void **state)
{
    char *sealed = secrets_seal(&key_a, T_AT, "a secret value");
    size_t raw_len = 24 + strlen("a secret value") + 16;
    size_t spots[] = {0, 23, 24, 30, raw_len - 1};
    struct sb_err err;
    (void)state;

    for (size_t i = 0; i < sizeof(spots) / sizeof(spots[0]); i++) {
        char *bad = tamper(sealed, spots[i]);
        char *plain = (char *)"sentinel";

        sb_err_clear(&err);
        assert_int_equal(secrets_open(&key_a, T_AT, bad, "params.token", &plain, &err),
                         SB_ERR_BAD_REQUEST);
        assert_null(plain);
        assert_err_names(&err, SB_ERR_BAD_REQUEST, "params.token");
        free(bad);
    }
    assert_opens_to(&key_a, T_AT, sealed, "a secret value");
    free(sealed);
}

static void test_truncated_sealed_value_fails(void **state)
{
    char *sealed = secrets_seal(&key_a, T_AT, "a secret value");
    struct sb_err err;
    char *plain = (char *)"sentinel";
    (void)state;

    /* drop the last 4 base64 characters: still valid base64, 3 bytes of tag missing */
    sealed[strlen(sealed) - 4] = '\0';
    sb_err_clear(&err);
    assert_int_equal(secrets_open(&key_a, T_AT, sealed, "params.password", &plain, &err),
                     SB_ERR_BAD_REQUEST);
    assert_null(plain);
    assert_err_names(&err, SB_ERR_BAD_REQUEST, "params.password");
    free(sealed);
}

static void test_open_unknown_scheme_fails(void **state)
{
    char *sealed = secrets_seal(&key_a, T_AT, "pw");
    char other[512];
    struct sb_err err;
    char *plain = (char *)"sentinel";
    (void)state;

    /* the same payload under another scheme name */
    snprintf(other, sizeof(other), "e:zz:%s", sealed + strlen(PREFIX));
    sb_err_clear(&err);
    assert_int_equal(secrets_open(&key_a, T_AT, other, "params.password", &plain, &err),
                     SB_ERR_BAD_REQUEST);
    assert_null(plain);
    assert_err_names(&err, SB_ERR_BAD_REQUEST, "params.password");
    assert_non_null(strstr(err.msg, "scheme"));

    plain = (char *)"sentinel";
    sb_err_clear(&err);
    assert_int_equal(secrets_open(&key_a, T_AT, "e:xc2:AAAA", "params.secretKey", &plain, &err),
                     SB_ERR_BAD_REQUEST);
    assert_null(plain);
    assert_err_names(&err, SB_ERR_BAD_REQUEST, "params.secretKey");
    free(sealed);
}

static void test_open_plaintext_is_bad_request(void **state)
{
    struct sb_err err;
    char *plain = (char *)"sentinel";
    (void)state;

    sb_err_clear(&err);
    assert_int_equal(secrets_open(&key_a, T_AT, "not sealed", "params.password", &plain, &err),
                     SB_ERR_BAD_REQUEST);
    assert_null(plain);
    assert_err_names(&err, SB_ERR_BAD_REQUEST, "params.password");
}

static void test_open_malformed_base64_fails(void **state)
{
    static const char *const bad[] = {
        "e:xc1:!!!not base64!!!",
        "e:xc1:AAAA=AAA",
        "e:xc1:AAA",          /* missing padding */
        "e:xc1:",             /* nothing at all */
        "e:xc1:AAAAAAAAAAAA", /* valid base64, far too short for nonce and tag */
        "e:xc1:YWJj\n",
        NULL,
    };
    (void)state;

    for (const char *const *p = bad; *p; p++) {
        struct sb_err err;
        char *plain = (char *)"sentinel";

        sb_err_clear(&err);
        if (secrets_open(&key_a, T_AT, *p, "params.password", &plain, &err) != SB_ERR_BAD_REQUEST)
            fail_msg("opening %s did not fail with SB_ERR_BAD_REQUEST", *p);
        assert_null(plain);
        assert_err_names(&err, SB_ERR_BAD_REQUEST, "params.password");
    }
}

/* The additional data secrets.c documents for a place: "switchboard-secret/2", then kind,
 * object and field, each as a 4-byte big-endian length and its bytes. *LEN its length. */
static size_t ad_by_hand(const struct secrets_place *at, uint8_t *out)
{
    const char *parts[3] = {at->kind, at->object, at->field};
    size_t off = strlen("switchboard-secret/2");

    memcpy(out, "switchboard-secret/2", off);
    for (int i = 0; i < 3; i++) {
        size_t n = strlen(parts[i]);
        out[off++] = 0;
        out[off++] = 0;
        out[off++] = (uint8_t)(n >> 8);
        out[off++] = (uint8_t)n;
        memcpy(out + off, parts[i], n);
        off += n;
    }
    return off;
}

/* Seals PLAIN (LEN bytes) under S with additional data AD by hand, as secrets.c documents the
 * envelope; caller frees. */
static char *seal_by_hand(const struct secrets *s, const uint8_t *ad, size_t ad_len,
                          const uint8_t *plain, size_t len)
{
    size_t raw_len = 24 + len + 16;
    uint8_t *raw = malloc(raw_len);
    size_t text_len = 6 + sodium_base64_ENCODED_LEN(raw_len, sodium_base64_VARIANT_ORIGINAL);
    char *text = malloc(text_len);

    assert_non_null(raw);
    assert_non_null(text);
    randombytes_buf(raw, 24);
    crypto_aead_xchacha20poly1305_ietf_encrypt(raw + 24, NULL, plain, len, ad, ad_len, NULL, raw,
                                               s->key);
    memcpy(text, PREFIX, 6);
    sodium_bin2base64(text + 6, text_len - 6, raw, raw_len, sodium_base64_VARIANT_ORIGINAL);
    free(raw);
    return text;
}

/* A value sealed as versions before binding did: additional data "switchboard-secret". */
static char *seal_legacy(const struct secrets *s, const char *plain)
{
    return seal_by_hand(s, (const uint8_t *)"switchboard-secret", strlen("switchboard-secret"),
                        (const uint8_t *)plain, strlen(plain));
}

static void test_open_refuses_value_that_decrypts_to_nul_byte(void **state)
{
    const uint8_t plain[] = {'a', 0, 'b'};
    uint8_t ad[256];
    size_t ad_len = ad_by_hand(T_AT, ad);
    char *text, *out = (char *)"sentinel";
    struct sb_err err;
    (void)state;

    /* built by hand as secrets.c documents the envelope, with a NUL inside the value */
    text = seal_by_hand(&key_a, ad, ad_len, plain, sizeof(plain));
    sb_err_clear(&err);
    assert_int_equal(secrets_open(&key_a, T_AT, text, "params.password", &out, &err),
                     SB_ERR_BAD_REQUEST);
    assert_null(out);
    assert_err_names(&err, SB_ERR_BAD_REQUEST, "params.password");
    free(text);

    /* the same envelope around a value without NUL opens: the construction is right */
    text = seal_by_hand(&key_a, ad, ad_len, (const uint8_t *)"a-b", 3);
    assert_opens_to(&key_a, T_AT, text, "a-b");
    free(text);
}

/* --- binding to the place --- */

static void test_value_opens_only_at_its_own_place(void **state)
{
    static const struct secrets_place elsewhere[] = {
        {SECRETS_CONNECTION, "d", "params.password"},
        {SECRETS_CONNECTION, "c", "params.token"},
        {SECRETS_CONNECTION, "c", "params.properties.password.value"},
        {SECRETS_USER, "c", "params.password"},
        {SECRETS_USER, "alice", "credentials.c.password"},
        {SECRETS_META, "c", "params.password"},
        /* no ambiguity between where one part ends and the next begins */
        {SECRETS_CONNECTION, "cparams.password", ""},
        {SECRETS_CONNECTION, "", "cparams.password"},
    };
    char *sealed = secrets_seal(&key_a, CONN_AT("params.password"), "pw");
    (void)state;

    assert_opens_to(&key_a, CONN_AT("params.password"), sealed, "pw");
    for (size_t i = 0; i < sizeof(elsewhere) / sizeof(elsewhere[0]); i++)
        assert_does_not_open(&key_a, &elsewhere[i], sealed);
    free(sealed);
}

static void test_legacy_unbound_value_is_refused_and_never_served(void **state)
{
    char *legacy = seal_legacy(&key_a, "pw");
    json_t *params = json_pack("{s:s}", "password", legacy), *out = NULL;
    struct sb_err err;
    (void)state;

    assert_does_not_open(&key_a, T_AT, legacy);
    sb_err_clear(&err);
    assert_int_equal(secrets_seal_params(&key_a, "c", params, &err), SB_ERR_BAD_REQUEST);
    assert_err_names(&err, SB_ERR_BAD_REQUEST, "params.password");
    sb_err_clear(&err);
    assert_int_equal(secrets_open_params(&key_a, "c", params, &out, &err), SB_ERR_INTERNAL);
    assert_null(out);
    json_decref(params);
    free(legacy);
}

static void test_seal_params_refuses_value_sealed_for_another_connection(void **state)
{
    json_t *theirs = js("{'password':'their secret'}");
    json_t *mine = js("{'host':'h'}");
    struct sb_err err;
    (void)state;

    sb_err_clear(&err);
    assert_int_equal(secrets_seal_params(&key_a, "theirs", theirs, &err), SB_OK);
    json_object_set(mine, "password", json_object_get(theirs, "password"));
    assert_int_equal(secrets_seal_params(&key_a, "mine", mine, &err), SB_ERR_BAD_REQUEST);
    assert_err_names(&err, SB_ERR_BAD_REQUEST, "params.password");
    assert_null(strstr(err.msg, "their secret"));

    /* nor into another field of the same connection */
    json_object_del(mine, "password");
    json_object_set(mine, "token", json_object_get(theirs, "password"));
    sb_err_clear(&err);
    assert_int_equal(secrets_seal_params(&key_a, "theirs", mine, &err), SB_ERR_BAD_REQUEST);
    assert_err_names(&err, SB_ERR_BAD_REQUEST, "params.token");
    json_decref(theirs);
    json_decref(mine);
}

static void test_secret_properties_are_bound_by_name_not_position(void **state)
{
    json_t *params = js("{'properties':[{'name':'a','value':'va','secret':true},"
                        "{'name':'b','value':'vb','secret':true}]}");
    json_t *props = json_object_get(params, "properties"), *first, *out = NULL;
    struct sb_err err;
    (void)state;

    sb_err_clear(&err);
    assert_int_equal(secrets_seal_params(&key_a, "c", params, &err), SB_OK);
    /* reordered: each value is still where it belongs */
    first = json_incref(json_array_get(props, 0));
    json_array_remove(props, 0);
    json_array_append_new(props, first);
    assert_int_equal(secrets_seal_params(&key_a, "c", params, &err), SB_OK);
    assert_int_equal(secrets_open_params(&key_a, "c", params, &out, &err), SB_OK);
    assert_string_equal(entry_value(out, "properties", 0), "vb");
    assert_string_equal(entry_value(out, "properties", 1), "va");
    json_decref(out);
    /* renamed: it is another place */
    json_object_set_new(json_array_get(props, 0), "name", json_string("z"));
    sb_err_clear(&err);
    assert_int_equal(secrets_seal_params(&key_a, "c", params, &err), SB_ERR_BAD_REQUEST);
    assert_err_names(&err, SB_ERR_BAD_REQUEST, "params.properties[0].value");
    json_decref(params);
}

static void test_seal_user_refuses_a_connection_password_pasted_into_a_credential(void **state)
{
    json_t *conn = js("{'password':'the connection password'}");
    json_t *settings = js("{'credentials':{'pg':{'type':'BASIC','user':'bob'}}}");
    json_t *cred = json_object_get(json_object_get(settings, "credentials"), "pg"), *stored;
    struct sb_err err;
    (void)state;

    sb_err_clear(&err);
    assert_int_equal(secrets_seal_params(&key_a, "pg", conn, &err), SB_OK);
    json_object_set(cred, "password", json_object_get(conn, "password"));
    /* as an administrator would send it, and as the user themselves would */
    assert_int_equal(secrets_seal_user(&key_a, "bob", settings, NULL, &err), SB_ERR_BAD_REQUEST);
    assert_err_names(&err, SB_ERR_BAD_REQUEST, "credentials.pg.password");
    stored = js("{'credentials':{'pg':{'type':'BASIC','user':'bob'}}}");
    sb_err_clear(&err);
    assert_int_equal(secrets_seal_user(&key_a, "bob", settings, stored, &err), SB_ERR_BAD_REQUEST);
    assert_err_names(&err, SB_ERR_BAD_REQUEST, "credentials.pg.password");
    json_decref(stored);
    json_decref(conn);
    json_decref(settings);
}

static void test_seal_user_refuses_another_users_credential(void **state)
{
    json_t *alice = js("{'credentials':{'pg':{'user':'alice','password':'alice pw'}}}");
    json_t *bob = js("{'credentials':{'pg':{'user':'alice'}}}");
    struct sb_err err;
    (void)state;

    sb_err_clear(&err);
    assert_int_equal(secrets_seal_user(&key_a, "alice", alice, NULL, &err), SB_OK);
    json_object_set(
        json_object_get(json_object_get(bob, "credentials"), "pg"), "password",
        json_object_get(json_object_get(json_object_get(alice, "credentials"), "pg"), "password"));
    assert_int_equal(secrets_seal_user(&key_a, "bob", bob, NULL, &err), SB_ERR_BAD_REQUEST);
    assert_err_names(&err, SB_ERR_BAD_REQUEST, "credentials.pg.password");
    json_decref(alice);
    json_decref(bob);
}

static void test_seal_user_self_accepts_only_the_value_stored_in_that_slot(void **state)
{
    json_t *stored = js("{'credentials':{'pg':{'user':'u','password':'pw'}},"
                        "'secrets':[{'name':'s1','value':'v1'},{'name':'s2','value':'v2'}]}");
    json_t *sent, *cred;
    char *fresh;
    struct sb_err err;
    (void)state;

    sb_err_clear(&err);
    assert_int_equal(secrets_seal_user(&key_a, "alice", stored, NULL, &err), SB_OK);
    /* get -> set of one's own settings keeps every value */
    sent = json_deep_copy(stored);
    assert_int_equal(secrets_seal_user(&key_a, "alice", sent, stored, &err), SB_OK);
    assert_json_eq(sent, stored);
    json_decref(sent);

    /* a value sealed for this very slot, but not the stored one, is refused */
    sent = json_deep_copy(stored);
    cred = json_object_get(json_object_get(sent, "credentials"), "pg");
    fresh = secrets_seal(&key_a, USER_AT("credentials.pg.password"), "older");
    json_object_set_new(cred, "password", json_string(fresh));
    free(fresh);
    sb_err_clear(&err);
    assert_int_equal(secrets_seal_user(&key_a, "alice", sent, stored, &err), SB_ERR_BAD_REQUEST);
    assert_err_names(&err, SB_ERR_BAD_REQUEST, "credentials.pg.password");
    /* an administrator may send it: it opens where it is */
    sb_err_clear(&err);
    assert_int_equal(secrets_seal_user(&key_a, "alice", sent, NULL, &err), SB_OK);
    json_decref(sent);

    /* the stored value of another slot, swapped in, is refused */
    sent = json_deep_copy(stored);
    json_object_set(
        json_array_get(json_object_get(sent, "secrets"), 0), "value",
        json_object_get(json_array_get(json_object_get(stored, "secrets"), 1), "value"));
    sb_err_clear(&err);
    assert_int_equal(secrets_seal_user(&key_a, "alice", sent, stored, &err), SB_ERR_BAD_REQUEST);
    assert_err_names(&err, SB_ERR_BAD_REQUEST, "secrets[0].value");
    json_decref(sent);

    /* a sealed value in a slot that holds nothing yet is refused; plaintext is sealed */
    sent = js("{'credentials':{'new':{'user':'n','password':'plain'}}}");
    sb_err_clear(&err);
    assert_int_equal(secrets_seal_user(&key_a, "alice", sent, stored, &err), SB_OK);
    cred = json_object_get(json_object_get(sent, "credentials"), "new");
    assert_opens_to(&key_a, USER_AT("credentials.new.password"), str_member(cred, "password"),
                    "plain");
    json_object_set(
        cred, "password",
        json_object_get(json_object_get(json_object_get(stored, "credentials"), "pg"), "password"));
    sb_err_clear(&err);
    assert_int_equal(secrets_seal_user(&key_a, "alice", sent, stored, &err), SB_ERR_BAD_REQUEST);
    assert_err_names(&err, SB_ERR_BAD_REQUEST, "credentials.new.password");
    json_decref(sent);
    json_decref(stored);
}

static void test_reseal_binds_legacy_values_once(void **state)
{
    char *l1 = seal_legacy(&key_a, "pw"), *l2 = seal_legacy(&key_a, "pv");
    char *l3 = seal_legacy(&key_a, "cred"), *l4 = seal_legacy(&key_a, "sv");
    json_t *params = json_pack("{s:s, s:[{s:s, s:s, s:b}]}", "password", l1, "properties", "name",
                               "p", "value", l2, "secret", 1);
    json_t *user = json_pack("{s:{s:{s:s}}, s:[{s:s, s:s}]}", "credentials", "pg", "password", l3,
                             "secrets", "name", "s1", "value", l4);
    json_t *bound_params, *bound_user;
    int count = 0;
    struct sb_err err;
    (void)state;

    sb_err_clear(&err);
    assert_int_equal(secrets_reseal_params(&key_a, &key_a, "c", params, &count, &err), SB_OK);
    assert_int_equal(secrets_reseal_user(&key_a, &key_a, "alice", user, &count, &err), SB_OK);
    assert_int_equal(count, 4);
    assert_opens_to(&key_a, CONN_AT("params.password"), str_member(params, "password"), "pw");
    assert_opens_to(&key_a, CONN_AT("params.properties.p.value"),
                    entry_value(params, "properties", 0), "pv");
    assert_opens_to(
        &key_a, USER_AT("credentials.pg.password"),
        str_member(json_object_get(json_object_get(user, "credentials"), "pg"), "password"),
        "cred");
    assert_opens_to(&key_a, USER_AT("secrets.s1.value"), entry_value(user, "secrets", 0), "sv");

    /* a second run finds nothing to do and leaves every byte */
    bound_params = json_deep_copy(params);
    bound_user = json_deep_copy(user);
    count = 0;
    assert_int_equal(secrets_reseal_params(&key_a, &key_a, "c", params, &count, &err), SB_OK);
    assert_int_equal(secrets_reseal_user(&key_a, &key_a, "alice", user, &count, &err), SB_OK);
    assert_int_equal(count, 0);
    assert_json_eq(params, bound_params);
    assert_json_eq(user, bound_user);

    /* a rotation binds too: legacy values under the old key come out bound under the new */
    json_object_set_new(params, "token", json_string(l1));
    count = 0;
    assert_int_equal(secrets_reseal_params(&key_a, &key_b, "c", params, &count, &err), SB_OK);
    assert_int_equal(count, 3);
    assert_opens_to(&key_b, CONN_AT("params.token"), str_member(params, "token"), "pw");
    assert_opens_to(&key_b, CONN_AT("params.password"), str_member(params, "password"), "pw");
    json_decref(bound_params);
    json_decref(bound_user);
    json_decref(params);
    json_decref(user);
    free(l1);
    free(l2);
    free(l3);
    free(l4);
}

static void test_reseal_value_binds_a_meta_value(void **state)
{
    static const struct secrets_place at = {SECRETS_META, "apikey_hash_key", "value"};
    char *legacy = seal_legacy(&key_a, "hash key"), *bound = NULL, *again = NULL;
    struct sb_err err;
    (void)state;

    sb_err_clear(&err);
    assert_int_equal(secrets_reseal_value(&key_a, &key_a, &at, legacy, &bound, &err), SB_OK);
    assert_non_null(bound);
    assert_opens_to(&key_a, &at, bound, "hash key");
    assert_int_equal(secrets_reseal_value(&key_a, &key_a, &at, bound, &again, &err), SB_OK);
    assert_null(again);
    assert_int_equal(secrets_reseal_value(&key_a, &key_b, &at, bound, &again, &err), SB_OK);
    assert_opens_to(&key_b, &at, again, "hash key");
    free(bound);
    assert_int_not_equal(
        secrets_reseal_value(&key_b, &key_b, CONN_AT("value"), again, &bound, &err), SB_OK);
    assert_null(bound);
    free(legacy);
    free(again);
}

/* --- secrets_is_secret_param --- */

static void test_secret_param_names(void **state)
{
    static const char *const secret[] = {
        "password",     "secretKey",    "privateKey", "clientSecret", "token",
        "accessToken",  "refreshToken", "apiKey",     "passphrase",   "sasToken",
        "sessionToken", "keyPassword",  NULL,
    };
    (void)state;

    for (const char *const *p = secret; *p; p++)
        if (!secrets_is_secret_param(*p))
            fail_msg("'%s' should be a secret param", *p);
}

static void test_non_secret_param_names(void **state)
{
    static const char *const plain[] = {
        "host", "user",     "port",      "db",       "namingRule",  "properties", "accessKey",
        "",     "Password", "passwords", "PASSWORD", "my_password", "tokens",     NULL,
    };
    (void)state;

    for (const char *const *p = plain; *p; p++)
        if (secrets_is_secret_param(*p))
            fail_msg("'%s' should not be a secret param", *p);
}

/* --- secrets_seal_params --- */

static void test_seal_params_seals_plaintext_password_only(void **state)
{
    json_t *params = js("{'host':'db','user':'u','port':5432,'password':'pw'}");
    struct sb_err err;
    (void)state;

    sb_err_clear(&err);
    assert_int_equal(secrets_seal_params(&key_a, "c", params, &err), SB_OK);
    assert_string_equal(str_member(params, "host"), "db");
    assert_string_equal(str_member(params, "user"), "u");
    assert_int_equal(json_integer_value(json_object_get(params, "port")), 5432);
    assert_true(strncmp(str_member(params, "password"), PREFIX, strlen(PREFIX)) == 0);
    assert_opens_to(&key_a, CONN_AT("params.password"), str_member(params, "password"), "pw");
    assert_int_equal(json_object_size(params), 4);
    json_decref(params);
}

static void test_seal_params_seals_every_secret_name(void **state)
{
    json_t *params = js("{'secretKey':'s1','privateKey':'s2','token':'s3','apiKey':'s4',"
                        "'keyPassword':'','host':'h'}");
    struct sb_err err;
    (void)state;

    sb_err_clear(&err);
    assert_int_equal(secrets_seal_params(&key_a, "c", params, &err), SB_OK);
    assert_opens_to(&key_a, CONN_AT("params.secretKey"), str_member(params, "secretKey"), "s1");
    assert_opens_to(&key_a, CONN_AT("params.privateKey"), str_member(params, "privateKey"), "s2");
    assert_opens_to(&key_a, CONN_AT("params.token"), str_member(params, "token"), "s3");
    assert_opens_to(&key_a, CONN_AT("params.apiKey"), str_member(params, "apiKey"), "s4");
    assert_opens_to(&key_a, CONN_AT("params.keyPassword"), str_member(params, "keyPassword"), "");
    assert_string_equal(str_member(params, "host"), "h");
    json_decref(params);
}

static void test_seal_params_keeps_value_sealed_under_same_key_byte_for_byte(void **state)
{
    json_t *params = js("{'host':'db','password':'pw'}");
    json_t *again;
    char *first;
    struct sb_err err;
    (void)state;

    sb_err_clear(&err);
    assert_int_equal(secrets_seal_params(&key_a, "c", params, &err), SB_OK);
    first = strdup(str_member(params, "password"));

    /* get -> set: the client sends back exactly what it read */
    again = json_deep_copy(params);
    assert_int_equal(secrets_seal_params(&key_a, "c", again, &err), SB_OK);
    assert_string_equal(str_member(again, "password"), first);
    assert_json_eq(again, params);

    /* and once more, on the same object */
    assert_int_equal(secrets_seal_params(&key_a, "c", params, &err), SB_OK);
    assert_string_equal(str_member(params, "password"), first);
    assert_opens_to(&key_a, T_AT, first, "pw");
    assert_int_equal(err.kind, SB_OK);
    free(first);
    json_decref(again);
    json_decref(params);
}

static void test_seal_params_refuses_value_sealed_under_other_key(void **state)
{
    json_t *params = js("{'host':'db'}");
    json_t *foreign = sealed_json(&key_b, T_AT, "pw");
    char *before, *after;
    struct sb_err err;
    (void)state;

    json_object_set(params, "password", foreign);
    before = dump(params);
    sb_err_clear(&err);
    assert_int_equal(secrets_seal_params(&key_a, "c", params, &err), SB_ERR_BAD_REQUEST);
    assert_err_names(&err, SB_ERR_BAD_REQUEST, "params.password");
    /* the message never quotes the value */
    assert_null(strstr(err.msg, json_string_value(foreign)));
    after = dump(params);
    assert_string_equal(after, before); /* nothing changed */
    free(after);
    free(before);
    json_decref(foreign);
    json_decref(params);
}

static void test_seal_params_refuses_unknown_scheme_and_garbage(void **state)
{
    json_t *params = js("{'token':'e:zz:AAAA'}");
    struct sb_err err;
    (void)state;

    sb_err_clear(&err);
    assert_int_equal(secrets_seal_params(&key_a, "c", params, &err), SB_ERR_BAD_REQUEST);
    assert_err_names(&err, SB_ERR_BAD_REQUEST, "params.token");
    json_decref(params);

    params = js("{'apiKey':'e:xc1:###'}");
    sb_err_clear(&err);
    assert_int_equal(secrets_seal_params(&key_a, "c", params, &err), SB_ERR_BAD_REQUEST);
    assert_err_names(&err, SB_ERR_BAD_REQUEST, "params.apiKey");
    json_decref(params);
}

static void test_seal_params_seals_secret_properties_only(void **state)
{
    json_t *params = js("{'host':'db','properties':["
                        "{'name':'a','value':'va','secret':true},"
                        "{'name':'b','value':'vb'},"
                        "{'name':'c','value':'vc','secret':false},"
                        "{'name':'d','value':'vd','secret':'true'},"
                        "{'name':'e','value':'ve','secret':1},"
                        "{'name':'g','secret':true},"
                        "'not an object',"
                        "{'name':'password','value':'vh'},"
                        "{'name':'i','value':'vi','secret':true}]}");
    json_t *want = js("[{'name':'b','value':'vb'},"
                      "{'name':'c','value':'vc','secret':false},"
                      "{'name':'d','value':'vd','secret':'true'},"
                      "{'name':'e','value':'ve','secret':1},"
                      "{'name':'g','secret':true},"
                      "'not an object',"
                      "{'name':'password','value':'vh'}]");
    json_t *props;
    struct sb_err err;
    (void)state;

    sb_err_clear(&err);
    assert_int_equal(secrets_seal_params(&key_a, "c", params, &err), SB_OK);
    props = json_object_get(params, "properties");
    assert_int_equal(json_array_size(props), 9);
    assert_opens_to(&key_a, CONN_AT("params.properties.a.value"),
                    entry_value(params, "properties", 0), "va");
    assert_opens_to(&key_a, CONN_AT("params.properties.i.value"),
                    entry_value(params, "properties", 8), "vi");
    assert_string_equal(str_member(json_array_get(props, 0), "name"), "a");
    assert_true(json_is_true(json_object_get(json_array_get(props, 0), "secret")));
    for (size_t i = 1; i < 8; i++)
        assert_json_eq(json_array_get(props, i), json_array_get(want, i - 1));
    assert_string_equal(str_member(params, "host"), "db");
    json_decref(want);
    json_decref(params);
}

static void test_seal_params_keeps_sealed_secret_property_and_refuses_foreign(void **state)
{
    json_t *params = js("{'properties':[{'name':'a','value':'va','secret':true},"
                        "{'name':'b','value':'vb','secret':true}]}");
    json_t *foreign = sealed_json(&key_b, T_AT, "x");
    char *first;
    struct sb_err err;
    (void)state;

    sb_err_clear(&err);
    assert_int_equal(secrets_seal_params(&key_a, "c", params, &err), SB_OK);
    first = strdup(entry_value(params, "properties", 1));
    assert_int_equal(secrets_seal_params(&key_a, "c", params, &err), SB_OK);
    assert_string_equal(entry_value(params, "properties", 1), first);

    json_object_set(json_array_get(json_object_get(params, "properties"), 1), "value", foreign);
    sb_err_clear(&err);
    assert_int_equal(secrets_seal_params(&key_a, "c", params, &err), SB_ERR_BAD_REQUEST);
    assert_err_names(&err, SB_ERR_BAD_REQUEST, "params.properties[1].value");
    free(first);
    json_decref(foreign);
    json_decref(params);
}

static void test_seal_params_refuses_non_string_secrets(void **state)
{
    static const char *const bodies[] = {
        "{'password':123}",
        "{'secretKey':{'a':'b'}}",
        "{'apiKey':['x']}",
        "{'passphrase':true}",
        "{'privateKey':1.5}",
        "{'properties':[{'name':'f','value':42,'secret':true}]}",
        NULL,
    };
    (void)state;

    for (const char *const *b = bodies; *b; b++) {
        json_t *params = js(*b), *want = js(*b);
        struct sb_err err;

        sb_err_clear(&err);
        assert_int_equal(secrets_seal_params(&key_a, "c", params, &err), SB_ERR_BAD_REQUEST);
        assert_non_null(strstr(err.msg, "must be a string"));
        assert_json_eq(params, want);
        json_decref(want);
        json_decref(params);
    }
}

static void test_seal_params_accepts_null_secrets(void **state)
{
    json_t *params = js("{'token':null,'host':5}");
    json_t *want = json_deep_copy(params);
    struct sb_err err;
    (void)state;

    sb_err_clear(&err);
    assert_int_equal(secrets_seal_params(&key_a, "c", params, &err), SB_OK);
    assert_json_eq(params, want);
    json_decref(want);
    json_decref(params);
}

static void test_seal_params_tolerates_properties_given_as_object(void **state)
{
    json_t *params = js("{'password':'pw','properties':{'name':'a','value':'v','secret':true}}");
    json_t *want_props = js("{'name':'a','value':'v','secret':true}");
    struct sb_err err;
    (void)state;

    sb_err_clear(&err);
    assert_int_equal(secrets_seal_params(&key_a, "c", params, &err), SB_OK);
    assert_opens_to(&key_a, CONN_AT("params.password"), str_member(params, "password"), "pw");
    assert_json_eq(json_object_get(params, "properties"), want_props);
    json_decref(want_props);
    json_decref(params);

    params = js("{'properties':'a string','token':'t'}");
    sb_err_clear(&err);
    assert_int_equal(secrets_seal_params(&key_a, "c", params, &err), SB_OK);
    assert_string_equal(str_member(params, "properties"), "a string");
    assert_opens_to(&key_a, CONN_AT("params.token"), str_member(params, "token"), "t");
    json_decref(params);
}

static void test_seal_params_of_non_object_or_empty_is_ok(void **state)
{
    json_t *v = js("[1,'password']");
    json_t *empty = json_object();
    struct sb_err err;
    (void)state;

    sb_err_clear(&err);
    assert_int_equal(secrets_seal_params(&key_a, "c", v, &err), SB_OK);
    assert_int_equal(secrets_seal_params(&key_a, "c", empty, &err), SB_OK);
    assert_int_equal(secrets_seal_params(&key_a, "c", NULL, &err), SB_OK);
    assert_int_equal(json_object_size(empty), 0);
    json_decref(empty);
    json_decref(v);
}

/* --- secrets_strip_params --- */

static void test_strip_params_removes_secret_values_without_touching_input(void **state)
{
    json_t *params = js("{'host':'db','user':'u','password':'pw','token':'e:xc1:AAAA',"
                        "'apiKey':7,'properties':[{'name':'a','value':'va','secret':true},"
                        "{'name':'b','value':'vb'}]}");
    json_t *want = js("{'host':'db','user':'u','apiKey':7,'properties':["
                      "{'name':'a','secret':true},{'name':'b','value':'vb'}]}");
    char *before = dump(params), *after;
    json_t *stripped;
    (void)state;

    stripped = secrets_strip_params(params);
    assert_non_null(stripped);
    assert_ptr_not_equal(stripped, params);
    assert_int_equal(stripped->refcount, 1);
    assert_json_eq(stripped, want);
    after = dump(params);
    assert_string_equal(before, after);
    assert_int_equal(params->refcount, 1);
    free(after);
    free(before);
    json_decref(stripped);
    json_decref(want);
    json_decref(params);
}

static void test_strip_params_of_sealed_params(void **state)
{
    json_t *params = js("{'host':'db','password':'pw','secretKey':'sk'}");
    json_t *want = js("{'host':'db'}");
    json_t *stripped;
    struct sb_err err;
    (void)state;

    sb_err_clear(&err);
    assert_int_equal(secrets_seal_params(&key_a, "c", params, &err), SB_OK);
    stripped = secrets_strip_params(params);
    assert_json_eq(stripped, want);
    assert_non_null(json_object_get(params, "password"));
    json_decref(stripped);
    json_decref(want);
    json_decref(params);
}

/* --- secrets_open_params --- */

static void test_open_params_gives_back_plaintext(void **state)
{
    json_t *plain = js("{'host':'db','password':'pw','token':'t',"
                       "'properties':[{'name':'a','value':'va','secret':true},"
                       "{'name':'b','value':'vb'}]}");
    json_t *params = json_deep_copy(plain), *out = NULL;
    char *sealed_text;
    struct sb_err err;
    (void)state;

    sb_err_clear(&err);
    assert_int_equal(secrets_seal_params(&key_a, "c", params, &err), SB_OK);
    sealed_text = dump(params);
    assert_int_equal(secrets_open_params(&key_a, "c", params, &out, &err), SB_OK);
    assert_non_null(out);
    assert_ptr_not_equal(out, params);
    assert_int_equal(out->refcount, 1);
    assert_json_eq(out, plain);
    {
        char *now = dump(params);
        assert_string_equal(now, sealed_text); /* input untouched */
        free(now);
    }
    free(sealed_text);
    json_decref(out);
    json_decref(params);
    json_decref(plain);
}

static void test_open_params_leaves_plaintext_stored_values_as_is(void **state)
{
    json_t *params = js("{'host':'db','password':'stored before sealing',"
                        "'properties':[{'name':'a','value':'plain','secret':true}]}");
    json_t *out = NULL;
    struct sb_err err;
    (void)state;

    sb_err_clear(&err);
    assert_int_equal(secrets_open_params(&key_a, "c", params, &out, &err), SB_OK);
    assert_json_eq(out, params);
    json_decref(out);
    json_decref(params);
}

static void test_open_params_with_wrong_key_fails_naming_field(void **state)
{
    json_t *params = js("{'host':'db','password':'pw'}");
    json_t *out = NULL;
    struct sb_err err;
    (void)state;

    sb_err_clear(&err);
    assert_int_equal(secrets_seal_params(&key_a, "c", params, &err), SB_OK);
    assert_int_equal(secrets_open_params(&key_b, "c", params, &out, &err), SB_ERR_INTERNAL);
    assert_null(out);
    assert_err_names(&err, SB_ERR_INTERNAL, "params.password");
    json_decref(params);
}

/* --- secrets_seal_user / secrets_open_user --- */

static void test_seal_user_seals_credentials_and_secret_values(void **state)
{
    json_t *settings = js("{'login':'alice','email':'a@x','password':'not touched here',"
                          "'credentials':{'pg':{'type':'BASIC','user':'u','password':'pw'},"
                          "'s3':{'type':'AWS','accessKey':'ak','secretKey':'sk'},"
                          "'none':null,'odd':'str','nopw':{'type':'BASIC','user':'v'}},"
                          "'secrets':[{'name':'s1','value':'v1'},{'name':'s2','value':''},"
                          "{'name':'s3'}]}");
    json_t *creds, *want_rest;
    struct sb_err err;
    (void)state;

    sb_err_clear(&err);
    assert_int_equal(secrets_seal_user(&key_a, "alice", settings, NULL, &err), SB_OK);
    creds = json_object_get(settings, "credentials");
    assert_opens_to(&key_a, USER_AT("credentials.pg.password"),
                    str_member(json_object_get(creds, "pg"), "password"), "pw");
    assert_string_equal(str_member(json_object_get(creds, "pg"), "user"), "u");
    assert_string_equal(str_member(json_object_get(creds, "pg"), "type"), "BASIC");
    assert_opens_to(&key_a, USER_AT("credentials.s3.secretKey"),
                    str_member(json_object_get(creds, "s3"), "secretKey"), "sk");
    assert_string_equal(str_member(json_object_get(creds, "s3"), "accessKey"), "ak");
    assert_true(json_is_null(json_object_get(creds, "none")));
    assert_string_equal(json_string_value(json_object_get(creds, "odd")), "str");
    want_rest = js("{'type':'BASIC','user':'v'}");
    assert_json_eq(json_object_get(creds, "nopw"), want_rest);
    json_decref(want_rest);

    assert_opens_to(&key_a, USER_AT("secrets.s1.value"), entry_value(settings, "secrets", 0), "v1");
    assert_opens_to(&key_a, USER_AT("secrets.s2.value"), entry_value(settings, "secrets", 1), "");
    assert_string_equal(str_member(json_array_get(json_object_get(settings, "secrets"), 0), "name"),
                        "s1");
    assert_null(json_object_get(json_array_get(json_object_get(settings, "secrets"), 2), "value"));

    /* only credentials and secrets are secret slots in user settings */
    assert_string_equal(str_member(settings, "password"), "not touched here");
    assert_string_equal(str_member(settings, "login"), "alice");
    json_decref(settings);
}

static void test_seal_user_keeps_sealed_values_byte_for_byte(void **state)
{
    json_t *settings = js("{'credentials':{'pg':{'user':'u','password':'pw'}},"
                          "'secrets':[{'name':'s1','value':'v1'}]}");
    json_t *copy;
    struct sb_err err;
    (void)state;

    sb_err_clear(&err);
    assert_int_equal(secrets_seal_user(&key_a, "alice", settings, NULL, &err), SB_OK);
    copy = json_deep_copy(settings);
    assert_int_equal(secrets_seal_user(&key_a, "alice", copy, NULL, &err), SB_OK);
    assert_json_eq(copy, settings);
    json_decref(copy);
    json_decref(settings);
}

static void test_seal_user_refuses_values_sealed_under_other_key(void **state)
{
    json_t *settings = js("{'credentials':{'pg':{'user':'u'}}}");
    json_t *foreign = sealed_json(&key_b, T_AT, "pw");
    struct sb_err err;
    (void)state;

    json_object_set(json_object_get(json_object_get(settings, "credentials"), "pg"), "password",
                    foreign);
    sb_err_clear(&err);
    assert_int_equal(secrets_seal_user(&key_a, "alice", settings, NULL, &err), SB_ERR_BAD_REQUEST);
    assert_non_null(strstr(err.msg, "pg"));
    assert_non_null(strstr(err.msg, "password"));
    json_decref(settings);

    settings = js("{'secrets':[{'name':'s0','value':'ok'},{'name':'s1'}]}");
    json_object_set(json_array_get(json_object_get(settings, "secrets"), 1), "value", foreign);
    sb_err_clear(&err);
    assert_int_equal(secrets_seal_user(&key_a, "alice", settings, NULL, &err), SB_ERR_BAD_REQUEST);
    assert_err_names(&err, SB_ERR_BAD_REQUEST, "secrets[1].value");
    json_decref(settings);
    json_decref(foreign);
}

static void test_seal_user_refuses_non_string_secrets(void **state)
{
    static const char *const bodies[] = {
        "{'credentials':{'num':{'password':5}}}",
        "{'secrets':[{'name':'s4','value':9}]}",
        NULL,
    };
    (void)state;

    for (const char *const *b = bodies; *b; b++) {
        json_t *settings = js(*b);
        struct sb_err err;

        sb_err_clear(&err);
        assert_int_equal(secrets_seal_user(&key_a, "alice", settings, NULL, &err),
                         SB_ERR_BAD_REQUEST);
        assert_non_null(strstr(err.msg, "must be a string"));
        json_decref(settings);
    }
}

static void test_seal_user_tolerates_missing_or_odd_shapes(void **state)
{
    static const char *const bodies[] = {
        "{}",
        "{'credentials':null,'secrets':null}",
        "{'credentials':[],'secrets':{}}",
        "{'credentials':'x','secrets':'y'}",
        "{'secrets':[1,'two',null,[]]}",
        NULL,
    };
    (void)state;

    for (const char *const *b = bodies; *b; b++) {
        json_t *settings = js(*b), *want = js(*b);
        struct sb_err err;

        sb_err_clear(&err);
        assert_int_equal(secrets_seal_user(&key_a, "alice", settings, NULL, &err), SB_OK);
        assert_json_eq(settings, want);
        json_decref(want);
        json_decref(settings);
    }
}

static void test_open_user_gives_back_plaintext_without_touching_input(void **state)
{
    json_t *plain = js("{'login':'alice','credentials':{'pg':{'type':'BASIC','user':'u',"
                       "'password':'pw'},'legacy':{'password':'stored plain'}},"
                       "'secrets':[{'name':'s1','value':'v1'}]}");
    json_t *settings = json_deep_copy(plain), *out = NULL;
    char *sealed_text, *now;
    struct sb_err err;
    (void)state;

    sb_err_clear(&err);
    assert_int_equal(secrets_seal_user(&key_a, "alice", settings, NULL, &err), SB_OK);
    /* a value stored before sealing applied: left as is on open */
    json_object_set_new(json_object_get(json_object_get(settings, "credentials"), "legacy"),
                        "password", json_string("stored plain"));
    sealed_text = dump(settings);
    assert_int_equal(secrets_open_user(&key_a, "alice", settings, &out, &err), SB_OK);
    assert_non_null(out);
    assert_int_equal(out->refcount, 1);
    assert_json_eq(out, plain);
    now = dump(settings);
    assert_string_equal(now, sealed_text);
    free(now);
    free(sealed_text);
    json_decref(out);

    out = NULL;
    sb_err_clear(&err);
    assert_int_equal(secrets_open_user(&key_b, "alice", settings, &out, &err), SB_ERR_INTERNAL);
    assert_null(out);
    json_decref(settings);
    json_decref(plain);
}

/* --- key rotation --- */

static void test_reseal_params_moves_values_from_key_a_to_key_b(void **state)
{
    json_t *plain = js("{'host':'db','password':'pw','token':'t','port':1,"
                       "'properties':[{'name':'a','value':'va','secret':true},"
                       "{'name':'b','value':'vb'}]}");
    json_t *params = json_deep_copy(plain), *out = NULL;
    int count = 0;
    struct sb_err err;
    (void)state;

    sb_err_clear(&err);
    assert_int_equal(secrets_seal_params(&key_a, "c", params, &err), SB_OK);
    assert_int_equal(secrets_reseal_params(&key_a, &key_b, "c", params, &count, &err), SB_OK);
    assert_int_equal(count, 3);

    assert_does_not_open(&key_a, CONN_AT("params.password"), str_member(params, "password"));
    assert_does_not_open(&key_a, CONN_AT("params.token"), str_member(params, "token"));
    assert_does_not_open(&key_a, CONN_AT("params.properties.a.value"),
                         entry_value(params, "properties", 0));
    assert_opens_to(&key_b, CONN_AT("params.password"), str_member(params, "password"), "pw");
    assert_opens_to(&key_b, CONN_AT("params.token"), str_member(params, "token"), "t");
    assert_opens_to(&key_b, CONN_AT("params.properties.a.value"),
                    entry_value(params, "properties", 0), "va");
    assert_string_equal(entry_value(params, "properties", 1), "vb");
    assert_string_equal(str_member(params, "host"), "db");

    assert_int_equal(secrets_open_params(&key_b, "c", params, &out, &err), SB_OK);
    assert_json_eq(out, plain);
    json_decref(out);
    out = NULL;
    assert_int_equal(secrets_open_params(&key_a, "c", params, &out, &err), SB_ERR_INTERNAL);
    assert_null(out);

    /* the new key now accepts its own sealed values on a round trip */
    sb_err_clear(&err);
    assert_int_equal(secrets_seal_params(&key_b, "c", params, &err), SB_OK);
    sb_err_clear(&err);
    assert_int_equal(secrets_seal_params(&key_a, "c", params, &err), SB_ERR_BAD_REQUEST);
    json_decref(params);
    json_decref(plain);
}

static void test_reseal_params_adds_to_count_and_seals_leftover_plaintext(void **state)
{
    json_t *params = js("{'password':'left over','apiKey':'ak'}");
    json_t *sealed = sealed_json(&key_a, CONN_AT("params.secretKey"), "was sealed");
    int count = 10;
    struct sb_err err;
    (void)state;

    json_object_set(params, "secretKey", sealed);
    sb_err_clear(&err);
    assert_int_equal(secrets_reseal_params(&key_a, &key_b, "c", params, &count, &err), SB_OK);
    assert_int_equal(count, 13);
    assert_opens_to(&key_b, CONN_AT("params.password"), str_member(params, "password"),
                    "left over");
    assert_opens_to(&key_b, CONN_AT("params.apiKey"), str_member(params, "apiKey"), "ak");
    assert_opens_to(&key_b, CONN_AT("params.secretKey"), str_member(params, "secretKey"),
                    "was sealed");
    assert_does_not_open(&key_a, CONN_AT("params.password"), str_member(params, "password"));
    json_decref(sealed);
    json_decref(params);
}

static void test_reseal_params_without_secrets_counts_nothing(void **state)
{
    json_t *params = js("{'host':'db','password':null,'token':5}");
    json_t *want = json_deep_copy(params);
    int count = 0;
    struct sb_err err;
    (void)state;

    sb_err_clear(&err);
    assert_int_equal(secrets_reseal_params(&key_a, &key_b, "c", params, &count, &err), SB_OK);
    assert_int_equal(count, 0);
    assert_json_eq(params, want);
    json_decref(want);
    json_decref(params);
}

static void test_reseal_params_fails_when_value_is_not_under_from_key(void **state)
{
    json_t *params = js("{}");
    json_t *foreign = sealed_json(&key_b, T_AT, "pw");
    int count = 0;
    struct sb_err err;
    (void)state;

    json_object_set(params, "password", foreign);
    sb_err_clear(&err);
    assert_int_not_equal(secrets_reseal_params(&key_a, &key_b, "c", params, &count, &err), SB_OK);
    assert_int_not_equal(err.kind, SB_OK);
    assert_non_null(strstr(err.msg, "params.password"));
    assert_int_equal(count, 0);
    json_decref(foreign);
    json_decref(params);
}

static void test_reseal_user_moves_values_from_key_a_to_key_b(void **state)
{
    json_t *plain = js("{'login':'alice','credentials':{'pg':{'type':'BASIC','user':'u',"
                       "'password':'pw'},'other':{'token':'tk','user':'w'}},"
                       "'secrets':[{'name':'s1','value':'v1'},{'name':'s2','value':'v2'}]}");
    json_t *settings = json_deep_copy(plain), *out = NULL;
    json_t *creds;
    int count = 1;
    struct sb_err err;
    (void)state;

    sb_err_clear(&err);
    assert_int_equal(secrets_seal_user(&key_a, "alice", settings, NULL, &err), SB_OK);
    /* one value left in plaintext, as if stored before sealing */
    json_object_set_new(json_array_get(json_object_get(settings, "secrets"), 1), "value",
                        json_string("v2"));
    assert_int_equal(secrets_reseal_user(&key_a, &key_b, "alice", settings, &count, &err), SB_OK);
    assert_int_equal(count, 1 + 4);

    creds = json_object_get(settings, "credentials");
    assert_opens_to(&key_b, USER_AT("credentials.pg.password"),
                    str_member(json_object_get(creds, "pg"), "password"), "pw");
    assert_opens_to(&key_b, USER_AT("credentials.other.token"),
                    str_member(json_object_get(creds, "other"), "token"), "tk");
    assert_opens_to(&key_b, USER_AT("secrets.s1.value"), entry_value(settings, "secrets", 0), "v1");
    assert_opens_to(&key_b, USER_AT("secrets.s2.value"), entry_value(settings, "secrets", 1), "v2");
    assert_does_not_open(&key_a, USER_AT("credentials.pg.password"),
                         str_member(json_object_get(creds, "pg"), "password"));
    assert_does_not_open(&key_a, USER_AT("secrets.s1.value"), entry_value(settings, "secrets", 0));
    assert_does_not_open(&key_a, USER_AT("secrets.s2.value"), entry_value(settings, "secrets", 1));
    assert_string_equal(str_member(json_object_get(creds, "pg"), "user"), "u");

    assert_int_equal(secrets_open_user(&key_b, "alice", settings, &out, &err), SB_OK);
    assert_json_eq(out, plain);
    json_decref(out);
    out = NULL;
    assert_int_equal(secrets_open_user(&key_a, "alice", settings, &out, &err), SB_ERR_INTERNAL);
    assert_null(out);
    json_decref(settings);
    json_decref(plain);
}

static void test_reseal_back_from_b_to_a_restores_key_a(void **state)
{
    json_t *params = js("{'password':'pw'}");
    int count = 0;
    struct sb_err err;
    (void)state;

    sb_err_clear(&err);
    assert_int_equal(secrets_seal_params(&key_a, "c", params, &err), SB_OK);
    assert_int_equal(secrets_reseal_params(&key_a, &key_b, "c", params, &count, &err), SB_OK);
    assert_int_equal(secrets_reseal_params(&key_b, &key_a, "c", params, &count, &err), SB_OK);
    assert_int_equal(count, 2);
    assert_opens_to(&key_a, CONN_AT("params.password"), str_member(params, "password"), "pw");
    assert_does_not_open(&key_b, CONN_AT("params.password"), str_member(params, "password"));
    json_decref(params);
}

/* --- secrets_init / secrets_clear --- */

static void test_init_is_deterministic_and_clear_wipes(void **state)
{
    uint8_t master[32];
    struct secrets s1, s2;
    uint8_t zero[SECRETS_KEY_BYTES] = {0};
    char *sealed;
    (void)state;

    memset(master, 0x11, sizeof(master));
    secrets_init(&s1, master);
    secrets_init(&s2, master);
    assert_memory_equal(s1.key, s2.key, SECRETS_KEY_BYTES);
    assert_memory_equal(s1.key, key_a.key, SECRETS_KEY_BYTES);
    assert_memory_not_equal(s1.key, master, SECRETS_KEY_BYTES);
    sealed = secrets_seal(&s1, T_AT, "shared");
    assert_opens_to(&s2, T_AT, sealed, "shared");
    free(sealed);
    secrets_clear(&s1);
    assert_memory_equal(s1.key, zero, SECRETS_KEY_BYTES);
    secrets_clear(&s2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_seal_open_round_trip_of_empty_string),
        cmocka_unit_test(test_seal_open_round_trip_of_ascii),
        cmocka_unit_test(test_seal_open_round_trip_of_unicode),
        cmocka_unit_test(test_seal_open_round_trip_of_long_value),
        cmocka_unit_test(test_sealed_form_starts_with_scheme_and_is_base64),
        cmocka_unit_test(test_is_sealed_recognises_the_e_prefix_only),
        cmocka_unit_test(test_two_seals_of_same_value_differ),
        cmocka_unit_test(test_keys_from_different_master_keys_differ),
        cmocka_unit_test(test_open_with_other_key_is_bad_request_naming_field),
        cmocka_unit_test(test_tampered_ciphertext_nonce_or_tag_fails),
        cmocka_unit_test(test_truncated_sealed_value_fails),
        cmocka_unit_test(test_open_unknown_scheme_fails),
        cmocka_unit_test(test_open_plaintext_is_bad_request),
        cmocka_unit_test(test_open_malformed_base64_fails),
        cmocka_unit_test(test_open_refuses_value_that_decrypts_to_nul_byte),
        cmocka_unit_test(test_value_opens_only_at_its_own_place),
        cmocka_unit_test(test_legacy_unbound_value_is_refused_and_never_served),
        cmocka_unit_test(test_seal_params_refuses_value_sealed_for_another_connection),
        cmocka_unit_test(test_secret_properties_are_bound_by_name_not_position),
        cmocka_unit_test(test_seal_user_refuses_a_connection_password_pasted_into_a_credential),
        cmocka_unit_test(test_seal_user_refuses_another_users_credential),
        cmocka_unit_test(test_seal_user_self_accepts_only_the_value_stored_in_that_slot),
        cmocka_unit_test(test_reseal_binds_legacy_values_once),
        cmocka_unit_test(test_reseal_value_binds_a_meta_value),
        cmocka_unit_test(test_secret_param_names),
        cmocka_unit_test(test_non_secret_param_names),
        cmocka_unit_test(test_seal_params_seals_plaintext_password_only),
        cmocka_unit_test(test_seal_params_seals_every_secret_name),
        cmocka_unit_test(test_seal_params_keeps_value_sealed_under_same_key_byte_for_byte),
        cmocka_unit_test(test_seal_params_refuses_value_sealed_under_other_key),
        cmocka_unit_test(test_seal_params_refuses_unknown_scheme_and_garbage),
        cmocka_unit_test(test_seal_params_seals_secret_properties_only),
        cmocka_unit_test(test_seal_params_keeps_sealed_secret_property_and_refuses_foreign),
        cmocka_unit_test(test_seal_params_refuses_non_string_secrets),
        cmocka_unit_test(test_seal_params_accepts_null_secrets),
        cmocka_unit_test(test_seal_params_tolerates_properties_given_as_object),
        cmocka_unit_test(test_seal_params_of_non_object_or_empty_is_ok),
        cmocka_unit_test(test_strip_params_removes_secret_values_without_touching_input),
        cmocka_unit_test(test_strip_params_of_sealed_params),
        cmocka_unit_test(test_open_params_gives_back_plaintext),
        cmocka_unit_test(test_open_params_leaves_plaintext_stored_values_as_is),
        cmocka_unit_test(test_open_params_with_wrong_key_fails_naming_field),
        cmocka_unit_test(test_seal_user_seals_credentials_and_secret_values),
        cmocka_unit_test(test_seal_user_keeps_sealed_values_byte_for_byte),
        cmocka_unit_test(test_seal_user_refuses_values_sealed_under_other_key),
        cmocka_unit_test(test_seal_user_refuses_non_string_secrets),
        cmocka_unit_test(test_seal_user_tolerates_missing_or_odd_shapes),
        cmocka_unit_test(test_open_user_gives_back_plaintext_without_touching_input),
        cmocka_unit_test(test_reseal_params_moves_values_from_key_a_to_key_b),
        cmocka_unit_test(test_reseal_params_adds_to_count_and_seals_leftover_plaintext),
        cmocka_unit_test(test_reseal_params_without_secrets_counts_nothing),
        cmocka_unit_test(test_reseal_params_fails_when_value_is_not_under_from_key),
        cmocka_unit_test(test_reseal_user_moves_values_from_key_a_to_key_b),
        cmocka_unit_test(test_reseal_back_from_b_to_a_restores_key_a),
        cmocka_unit_test(test_init_is_deterministic_and_clear_wipes),
    };
    uint8_t master_a[32], master_b[32];
    int failed;

    if (sodium_init() < 0) {
        fputs("cannot initialise libsodium\n", stderr);
        return 1;
    }
    memset(master_a, 0x11, sizeof(master_a));
    memset(master_b, 0x22, sizeof(master_b));
    secrets_init(&key_a, master_a);
    secrets_init(&key_b, master_b);
    failed = cmocka_run_group_tests(tests, NULL, NULL);
    secrets_clear(&key_a);
    secrets_clear(&key_b);
    return failed;
}
