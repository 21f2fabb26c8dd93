/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of src/core/apikeys.c: key and id generation, keyed hashing, checks on supplied
 * keys and the records of global keys. */
/* cmocka.h needs these four first */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/apikeys.h"
#include "core/err.h"
#include "util/limits.h"

#define NOW_MS INT64_C(1700000000123)
#define DRAWS 2000

static const char base62[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/* Parses TEXT, with single quotes standing for double quotes. */
static json_t *js(const char *text)
{
    char buf[2048];
    json_t *v;
    size_t i;

    assert_true(strlen(text) < sizeof(buf));
    for (i = 0; text[i]; i++)
        buf[i] = text[i] == '\'' ? '"' : text[i];
    buf[i] = '\0';
    v = json_loads(buf, JSON_DECODE_ANY, NULL);
    if (!v)
        fail_msg("bad JSON in test: %s", buf);
    return v;
}

static char *dump(const json_t *v)
{
    char *s = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
    assert_non_null(s);
    return s;
}

static void assert_json_eq(const json_t *got, const char *want_text)
{
    json_t *want = js(want_text);

    if (!json_equal((json_t *)got, want)) {
        char *g = dump(got), *w = dump(want);
        print_error("got      %s\nexpected %s\n", g, w);
        free(g);
        free(w);
        fail();
    }
    json_decref(want);
}

static int compare_strings(const void *a, const void *b)
{
    return strcmp((const char *)a, (const char *)b);
}

/* --- apikey_generate --- */

static void test_generate_gives_40_base62_characters(void **state)
{
    char key[SB_API_KEY_RANDOM_CHARS + 1];
    (void)state;

    assert_int_equal(SB_API_KEY_RANDOM_CHARS, 40);
    for (int i = 0; i < DRAWS; i++) {
        memset(key, '#', sizeof(key));
        apikey_generate(key);
        assert_int_equal(strlen(key), 40);
        assert_int_equal(strspn(key, base62), 40);
    }
}

static void test_generate_never_repeats_over_many_draws(void **state)
{
    char(*keys)[SB_API_KEY_RANDOM_CHARS + 1] = calloc(DRAWS, sizeof(*keys));
    (void)state;

    assert_non_null(keys);
    for (int i = 0; i < DRAWS; i++)
        apikey_generate(keys[i]);
    qsort(keys, DRAWS, sizeof(*keys), compare_strings);
    for (int i = 1; i < DRAWS; i++)
        assert_string_not_equal(keys[i - 1], keys[i]);
    free(keys);
}

static void test_generate_uses_every_base62_character(void **state)
{
    char key[SB_API_KEY_RANDOM_CHARS + 1];
    int seen[62] = {0};
    (void)state;

    /* 80 000 characters: each of 62 is expected about 1 290 times; absent means broken */
    for (int i = 0; i < DRAWS; i++) {
        apikey_generate(key);
        for (int j = 0; j < SB_API_KEY_RANDOM_CHARS; j++)
            seen[strchr(base62, key[j]) - base62]++;
    }
    for (int c = 0; c < 62; c++)
        if (seen[c] < 900 || seen[c] > 1700)
            fail_msg("character '%c' drawn %d times of %d", base62[c], seen[c],
                     DRAWS * SB_API_KEY_RANDOM_CHARS);
}

/* --- apikey_new_id --- */

static void test_new_id_gives_16_lowercase_hex_characters(void **state)
{
    char id[APIKEY_ID_CHARS + 1];
    (void)state;

    assert_int_equal(APIKEY_ID_CHARS, 16);
    for (int i = 0; i < DRAWS; i++) {
        memset(id, '#', sizeof(id));
        apikey_new_id(id);
        assert_int_equal(strlen(id), 16);
        assert_int_equal(strspn(id, "0123456789abcdef"), 16);
    }
}

static void test_new_id_never_repeats_over_many_draws(void **state)
{
    char(*ids)[APIKEY_ID_CHARS + 1] = calloc(DRAWS, sizeof(*ids));
    (void)state;

    assert_non_null(ids);
    for (int i = 0; i < DRAWS; i++)
        apikey_new_id(ids[i]);
    qsort(ids, DRAWS, sizeof(*ids), compare_strings);
    for (int i = 1; i < DRAWS; i++)
        assert_string_not_equal(ids[i - 1], ids[i]);
    free(ids);
}

/* --- apikey_hash --- */

static void test_hash_is_deterministic(void **state)
{
    uint8_t hk[APIKEY_HASH_KEY_BYTES], a[APIKEY_HASH_BYTES], b[APIKEY_HASH_BYTES];
    uint8_t zero[APIKEY_HASH_BYTES] = {0};
    (void)state;

    memset(hk, 0x5a, sizeof(hk));
    apikey_hash(hk, "some-key-0123456789", a);
    apikey_hash(hk, "some-key-0123456789", b);
    assert_memory_equal(a, b, sizeof(a));
    assert_memory_not_equal(a, zero, sizeof(a));
}

static void test_hash_differs_by_key(void **state)
{
    uint8_t hk[APIKEY_HASH_KEY_BYTES], a[APIKEY_HASH_BYTES], b[APIKEY_HASH_BYTES];
    uint8_t c[APIKEY_HASH_BYTES];
    (void)state;

    memset(hk, 0x5a, sizeof(hk));
    apikey_hash(hk, "some-key-0123456789", a);
    apikey_hash(hk, "some-key-0123456788", b);
    apikey_hash(hk, "some-key-012345678", c);
    assert_memory_not_equal(a, b, sizeof(a));
    assert_memory_not_equal(a, c, sizeof(a));
}

static void test_hash_differs_by_hash_key(void **state)
{
    uint8_t hk1[APIKEY_HASH_KEY_BYTES], hk2[APIKEY_HASH_KEY_BYTES];
    uint8_t a[APIKEY_HASH_BYTES], b[APIKEY_HASH_BYTES];
    (void)state;

    memset(hk1, 0x5a, sizeof(hk1));
    memcpy(hk2, hk1, sizeof(hk2));
    hk2[APIKEY_HASH_KEY_BYTES - 1] ^= 1; /* the last byte must count too */
    apikey_hash(hk1, "some-key-0123456789", a);
    apikey_hash(hk2, "some-key-0123456789", b);
    assert_memory_not_equal(a, b, sizeof(a));
}

/* --- apikey_check_supplied --- */

static void assert_supplied_ok(const char *key)
{
    struct sb_err err;

    sb_err_clear(&err);
    if (apikey_check_supplied(key, &err) != SB_OK)
        fail_msg("key '%s' refused: %s", key, err.msg);
}

static void assert_supplied_refused(const char *key)
{
    struct sb_err err;

    sb_err_clear(&err);
    if (apikey_check_supplied(key, &err) != SB_ERR_BAD_REQUEST)
        fail_msg("key of %zu bytes accepted", strlen(key));
    assert_int_equal(err.kind, SB_ERR_BAD_REQUEST);
    assert_true(err.msg[0] != '\0');
}

static void test_check_supplied_accepts_16_to_256_characters(void **state)
{
    char key[SB_API_KEY_MAX_CHARS + 2];
    (void)state;

    assert_int_equal(SB_API_KEY_MIN_CHARS, 16);
    assert_int_equal(SB_API_KEY_MAX_CHARS, 256);
    memset(key, 'k', sizeof(key));
    key[16] = '\0';
    assert_supplied_ok(key);
    key[16] = 'k';
    key[256] = '\0';
    assert_supplied_ok(key);
}

static void test_check_supplied_refuses_15_and_257_characters(void **state)
{
    char key[SB_API_KEY_MAX_CHARS + 2];
    struct sb_err err;
    (void)state;

    memset(key, 'k', sizeof(key));
    key[15] = '\0';
    assert_supplied_refused(key);
    sb_err_clear(&err);
    apikey_check_supplied(key, &err);
    assert_non_null(strstr(err.msg, "15"));
    key[15] = 'k';
    key[257] = '\0';
    assert_supplied_refused(key);
    assert_supplied_refused("");
}

static void test_check_supplied_accepts_printable_ascii_punctuation(void **state)
{
    (void)state;
    assert_supplied_ok("!\"#$%&'()*+,-./0123456789;<=>?@AZ[\\]^_`az{|}~");
}

static void test_check_supplied_refuses_space_colon_control_and_non_ascii(void **state)
{
    (void)state;
    assert_supplied_refused("abcdefgh ijklmnopq");
    assert_supplied_refused("abcdefgh:ijklmnopq");
    assert_supplied_refused("abcdefgh\tijklmnopq");
    assert_supplied_refused("abcdefgh\nijklmnopq");
    assert_supplied_refused("abcdefgh\x7fijklmnopq");
    assert_supplied_refused("abcdefgh\xc3\xa9ijklmnopq");
    assert_supplied_refused("abcdefghijklmnopq\x80");
}

/* --- apikey_prepare_global --- */

static json_t *global_ok(const char *body_text)
{
    json_t *body = js(body_text), *out = NULL;
    struct sb_err err;

    sb_err_clear(&err);
    if (apikey_prepare_global(body, "0123456789abcdef", "admin:boot", NOW_MS, &out, &err) != SB_OK)
        fail_msg("prepare of %s failed: %s", body_text, err.msg);
    assert_non_null(out);
    json_decref(body);
    return out;
}

static void assert_global_refused(const char *body_text, const char *field)
{
    json_t *body = js(body_text), *out = NULL;
    struct sb_err err;
    char quoted[96];

    sb_err_clear(&err);
    snprintf(quoted, sizeof(quoted), "'%s'", field);
    if (apikey_prepare_global(body, "0123456789abcdef", "admin:boot", NOW_MS, &out, &err) !=
        SB_ERR_BAD_REQUEST)
        fail_msg("prepare of %s was not refused", body_text);
    if (!strstr(err.msg, quoted))
        fail_msg("message for %s does not name %s: %s", body_text, quoted, err.msg);
    assert_null(out);
    json_decref(body);
}

static void test_prepare_global_of_empty_body_gets_defaults(void **state)
{
    json_t *out = global_ok("{}");
    (void)state;

    assert_json_eq(out, "{'id':'0123456789abcdef','label':'','description':'',"
                        "'globalPermissions':{'admin':false},'groups':[],"
                        "'createdOn':1700000000123,'createdBy':'admin:boot','expiresOn':0}");
    json_decref(out);
}

static void test_prepare_global_null_fields_mean_absent(void **state)
{
    json_t *out = global_ok("{'label':null,'description':null,'globalPermissions':null,"
                            "'groups':null}");
    (void)state;

    assert_json_eq(out, "{'id':'0123456789abcdef','label':'','description':'',"
                        "'globalPermissions':{'admin':false},'groups':[],"
                        "'createdOn':1700000000123,'createdBy':'admin:boot','expiresOn':0}");
    json_decref(out);
}

static void test_prepare_global_keeps_given_values(void **state)
{
    json_t *out = global_ok("{'label':'ci','description':'for CI','globalPermissions':"
                            "{'admin':true,'other':1},'groups':['ops','dev']}");
    (void)state;

    assert_json_eq(out, "{'id':'0123456789abcdef','label':'ci','description':'for CI',"
                        "'globalPermissions':{'admin':true,'other':1},'groups':['ops','dev'],"
                        "'createdOn':1700000000123,'createdBy':'admin:boot','expiresOn':0}");
    json_decref(out);
}

static void test_prepare_global_permissions_without_admin_default_to_false(void **state)
{
    json_t *out = global_ok("{'globalPermissions':{}}");
    json_t *out2 = global_ok("{'globalPermissions':{'admin':null}}");
    (void)state;

    assert_json_eq(json_object_get(out, "globalPermissions"), "{'admin':false}");
    assert_json_eq(json_object_get(out2, "globalPermissions"), "{'admin':false}");
    json_decref(out);
    json_decref(out2);
}

static void test_prepare_global_ignores_unknown_and_server_owned_fields(void **state)
{
    json_t *out = global_ok("{'id':'evil','createdBy':'eve','createdOn':1,'key':'k','x':1}");
    (void)state;

    assert_json_eq(out, "{'id':'0123456789abcdef','label':'','description':'',"
                        "'globalPermissions':{'admin':false},'groups':[],"
                        "'createdOn':1700000000123,'createdBy':'admin:boot','expiresOn':0}");
    json_decref(out);
}

static void test_prepare_global_with_wrong_types_is_bad_request_naming_field(void **state)
{
    (void)state;
    assert_global_refused("{'label':1}", "label");
    assert_global_refused("{'description':true}", "description");
    assert_global_refused("{'globalPermissions':[]}", "globalPermissions");
    assert_global_refused("{'globalPermissions':'admin'}", "globalPermissions");
    assert_global_refused("{'globalPermissions':{'admin':'yes'}}", "globalPermissions.admin");
    assert_global_refused("{'groups':'ops'}", "groups");
    assert_global_refused("{'groups':['ops',2]}", "groups");
}

static void test_prepare_global_with_non_object_body_is_bad_request(void **state)
{
    json_t *body = js("[]"), *out = NULL;
    struct sb_err err;
    (void)state;

    sb_err_clear(&err);
    assert_int_equal(apikey_prepare_global(body, "0123456789abcdef", "w", NOW_MS, &out, &err),
                     SB_ERR_BAD_REQUEST);
    assert_non_null(strstr(err.msg, "JSON object"));
    assert_null(out);
    json_decref(body);
}

static void test_prepare_global_does_not_modify_body(void **state)
{
    json_t *body = js("{'label':'l','globalPermissions':{'admin':null,'o':2},'groups':['g']}");
    json_t *groups = json_object_get(body, "groups");
    char *before = dump(body), *after;
    json_t *out = NULL;
    struct sb_err err;
    (void)state;

    sb_err_clear(&err);
    assert_int_equal(apikey_prepare_global(body, "0123456789abcdef", "w", NOW_MS, &out, &err),
                     SB_OK);
    after = dump(body);
    assert_string_equal(before, after);
    json_decref(out);
    assert_int_equal(body->refcount, 1);
    assert_int_equal(groups->refcount, 1);
    free(after);
    free(before);
    json_decref(body);
}

/* --- hints, expiry, dssUserForImpersonation --- */

static void test_hint_is_first_four_ellipsis_last_four(void **state)
{
    char hint[APIKEY_HINT_MAX];
    (void)state;

    apikey_hint("ABCDefghijklmnopqrstuvwxyz0123456789WXYZ", hint);
    assert_string_equal(hint, "ABCD\xe2\x80\xa6WXYZ");
    apikey_hint("", hint); /* a record older than hints: nothing of the key */
    assert_string_equal(hint, "\xe2\x80\xa6");
    apikey_hint("short-key", hint);
    assert_string_equal(hint, "\xe2\x80\xa6");
}

static void test_prepare_global_lifetime_sets_expires_on(void **state)
{
    static const char *const bodies[] = {"{'lifetime':2}", "{'expiry':2}",
                                         "{'lifetime':2,'expiresOn':5}"};
    (void)state;

    for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
        json_t *body = js(bodies[i]), *out = NULL;
        struct sb_err err;
        assert_int_equal(apikey_prepare_global(body, "0123456789abcdef", "w", NOW_MS, &out, &err),
                         SB_OK);
        assert_int_equal(json_integer_value(json_object_get(out, "expiresOn")),
                         NOW_MS + 2LL * 86400000);
        assert_int_equal(json_integer_value(json_object_get(out, "expiry")), 2);
        json_decref(out);
        json_decref(body);
    }
}

static void test_prepare_global_keeps_expires_on_and_user_for_impersonation(void **state)
{
    json_t *body = js("{'expiresOn':1800000000000,'dssUserForImpersonation':'ana'}"), *out;
    struct sb_err err;
    (void)state;

    assert_int_equal(apikey_prepare_global(body, "0123456789abcdef", "w", NOW_MS, &out, &err),
                     SB_OK);
    assert_int_equal(json_integer_value(json_object_get(out, "expiresOn")), 1800000000000LL);
    assert_string_equal(json_string_value(json_object_get(out, "dssUserForImpersonation")), "ana");
    json_decref(out);
    json_decref(body);
}

static void test_prepare_global_with_bad_expiry_fields_is_bad_request(void **state)
{
    static const char *const bodies[] = {"{'lifetime':'30'}", "{'lifetime':-1}", "{'expiry':1.5}",
                                         "{'expiresOn':'x'}", "{'dssUserForImpersonation':3}"};
    static const char *const fields[] = {"lifetime", "lifetime", "expiry", "expiresOn",
                                         "dssUserForImpersonation"};
    (void)state;

    for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
        json_t *body = js(bodies[i]), *out = NULL;
        struct sb_err err;
        assert_int_equal(apikey_prepare_global(body, "0123456789abcdef", "w", NOW_MS, &out, &err),
                         SB_ERR_BAD_REQUEST);
        assert_non_null(strstr(err.msg, fields[i]));
        assert_null(out);
        json_decref(body);
    }
}

/* --- apikey_prepare_global_update --- */

static const char stored_text[] = "{'id':'0123456789abcdef','label':'old','description':'old d',"
                                  "'globalPermissions':{'admin':false},'groups':['ops'],"
                                  "'createdOn':1600000000000,'createdBy':'admin:boot'}";

static json_t *update_ok(const json_t *stored, const char *body_text)
{
    json_t *body = js(body_text), *out = NULL;
    struct sb_err err;

    sb_err_clear(&err);
    if (apikey_prepare_global_update(stored, body, &out, &err) != SB_OK)
        fail_msg("update with %s failed: %s", body_text, err.msg);
    assert_non_null(out);
    json_decref(body);
    return out;
}

static void test_global_update_changes_the_allowed_fields(void **state)
{
    json_t *stored = js(stored_text);
    json_t *out = update_ok(stored, "{'label':'new','description':'new d',"
                                    "'globalPermissions':{'admin':true},'groups':['dev','qa']}");
    (void)state;

    assert_json_eq(out, "{'id':'0123456789abcdef','label':'new','description':'new d',"
                        "'globalPermissions':{'admin':true},'groups':['dev','qa'],"
                        "'createdOn':1600000000000,'createdBy':'admin:boot'}");
    json_decref(out);
    json_decref(stored);
}

static void test_global_update_keeps_id_and_creation_facts(void **state)
{
    json_t *stored = js(stored_text);
    json_t *out = update_ok(stored, "{'id':'ffffffffffffffff','createdOn':1,'createdBy':'eve',"
                                    "'key':'stolen','unknown':true}");
    (void)state;

    assert_json_eq(out, stored_text);
    json_decref(out);
    json_decref(stored);
}

static void test_global_update_with_empty_or_null_fields_changes_nothing(void **state)
{
    json_t *stored = js(stored_text);
    json_t *out = update_ok(stored, "{}");
    json_t *out2 = update_ok(stored, "{'label':null,'description':null,"
                                     "'globalPermissions':null,'groups':null}");
    (void)state;

    assert_json_eq(out, stored_text);
    assert_json_eq(out2, stored_text);
    json_decref(out);
    json_decref(out2);
    json_decref(stored);
}

static void test_global_update_of_expiry_and_user_for_impersonation(void **state)
{
    json_t *stored = js(stored_text), *out, *again;
    (void)state;

    /* a new expiresOn is taken as is */
    out = update_ok(stored, "{'expiresOn':1700000000000}");
    assert_int_equal(json_integer_value(json_object_get(out, "expiresOn")), 1700000000000LL);
    /* a new lifetime counts from creation; the same definition saved again changes nothing */
    again = update_ok(out, "{'expiry':3,'expiresOn':1700000000000}");
    assert_int_equal(json_integer_value(json_object_get(again, "expiresOn")),
                     1600000000000LL + 3LL * 86400000);
    json_decref(out);
    out = update_ok(again, "{'expiry':3,'expiresOn':1600259200000}");
    assert_true(json_equal(out, again));
    json_decref(out);
    /* lifetime 0: never */
    out = update_ok(again, "{'lifetime':0}");
    assert_int_equal(json_integer_value(json_object_get(out, "expiresOn")), 0);
    json_decref(out);
    json_decref(again);
    out = update_ok(stored, "{'dssUserForImpersonation':'ana'}");
    assert_string_equal(json_string_value(json_object_get(out, "dssUserForImpersonation")), "ana");
    again = update_ok(out, "{'dssUserForImpersonation':null}");
    assert_null(json_object_get(again, "dssUserForImpersonation"));
    json_decref(again);
    again = update_ok(out, "{'label':'kept'}");
    assert_string_equal(json_string_value(json_object_get(again, "dssUserForImpersonation")),
                        "ana");
    json_decref(again);
    json_decref(out);
    json_decref(stored);
}

static void test_global_update_with_wrong_types_is_bad_request(void **state)
{
    json_t *stored = js(stored_text);
    static const char *const bodies[] = {"{'label':1}", "{'groups':'ops'}",
                                         "{'globalPermissions':{'admin':1}}", "[]"};
    (void)state;

    for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
        json_t *body = js(bodies[i]), *out = NULL;
        struct sb_err err;
        sb_err_clear(&err);
        if (apikey_prepare_global_update(stored, body, &out, &err) != SB_ERR_BAD_REQUEST)
            fail_msg("update with %s was not refused", bodies[i]);
        assert_null(out);
        json_decref(body);
    }
    json_decref(stored);
}

static void test_global_update_does_not_modify_stored(void **state)
{
    json_t *stored = js(stored_text);
    char *before = dump(stored), *after;
    json_t *out = update_ok(stored, "{'label':'new','globalPermissions':{'admin':true},"
                                    "'groups':['x']}");
    (void)state;

    after = dump(stored);
    assert_string_equal(before, after);
    assert_ptr_not_equal(out, stored);
    assert_int_equal(stored->refcount, 1);
    json_decref(out);
    free(after);
    free(before);
    json_decref(stored);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_generate_gives_40_base62_characters),
        cmocka_unit_test(test_generate_never_repeats_over_many_draws),
        cmocka_unit_test(test_generate_uses_every_base62_character),
        cmocka_unit_test(test_new_id_gives_16_lowercase_hex_characters),
        cmocka_unit_test(test_new_id_never_repeats_over_many_draws),
        cmocka_unit_test(test_hash_is_deterministic),
        cmocka_unit_test(test_hash_differs_by_key),
        cmocka_unit_test(test_hash_differs_by_hash_key),
        cmocka_unit_test(test_check_supplied_accepts_16_to_256_characters),
        cmocka_unit_test(test_check_supplied_refuses_15_and_257_characters),
        cmocka_unit_test(test_check_supplied_accepts_printable_ascii_punctuation),
        cmocka_unit_test(test_check_supplied_refuses_space_colon_control_and_non_ascii),
        cmocka_unit_test(test_prepare_global_of_empty_body_gets_defaults),
        cmocka_unit_test(test_prepare_global_null_fields_mean_absent),
        cmocka_unit_test(test_prepare_global_keeps_given_values),
        cmocka_unit_test(test_prepare_global_permissions_without_admin_default_to_false),
        cmocka_unit_test(test_prepare_global_ignores_unknown_and_server_owned_fields),
        cmocka_unit_test(test_prepare_global_with_wrong_types_is_bad_request_naming_field),
        cmocka_unit_test(test_prepare_global_with_non_object_body_is_bad_request),
        cmocka_unit_test(test_prepare_global_does_not_modify_body),
        cmocka_unit_test(test_global_update_changes_the_allowed_fields),
        cmocka_unit_test(test_global_update_keeps_id_and_creation_facts),
        cmocka_unit_test(test_global_update_with_empty_or_null_fields_changes_nothing),
        cmocka_unit_test(test_global_update_with_wrong_types_is_bad_request),
        cmocka_unit_test(test_global_update_of_expiry_and_user_for_impersonation),
        cmocka_unit_test(test_hint_is_first_four_ellipsis_last_four),
        cmocka_unit_test(test_prepare_global_lifetime_sets_expires_on),
        cmocka_unit_test(test_prepare_global_keeps_expires_on_and_user_for_impersonation),
        cmocka_unit_test(test_prepare_global_with_bad_expiry_fields_is_bad_request),
        cmocka_unit_test(test_global_update_does_not_modify_stored),
    };

    if (sodium_init() < 0) {
        fputs("cannot initialise libsodium\n", stderr);
        return 1;
    }
    return cmocka_run_group_tests(tests, NULL, NULL);
}
