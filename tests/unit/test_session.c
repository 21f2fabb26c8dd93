/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of src/core/session.c (tokens, ids, records, time limits, CSRF, cookies) and
 * src/core/backoff.c (failed sign-ins per key). */
/* cmocka.h needs these four first */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <jansson.h>
#include <sodium.h>
#include <string.h>

#include "core/backoff.h"
#include "core/session.h"
#include "util/limits.h"

#define NOW INT64_C(1700000000000)

static const uint8_t hash_key[APIKEY_HASH_KEY_BYTES] = {1, 2, 3};

static void test_tokens_are_urlsafe_and_distinct(void **state)
{
    char a[SESSION_TOKEN_CHARS + 1], b[SESSION_TOKEN_CHARS + 1];
    (void)state;

    session_new_token(a);
    session_new_token(b);
    assert_int_equal(strlen(a), SESSION_TOKEN_CHARS);
    assert_string_not_equal(a, b);
    for (size_t i = 0; a[i]; i++)
        assert_non_null(
            strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", a[i]));
}

static void test_id_is_a_keyed_hash_of_the_token(void **state)
{
    char id1[SESSION_ID_CHARS + 1], id2[SESSION_ID_CHARS + 1], id3[SESSION_ID_CHARS + 1];
    uint8_t other_key[APIKEY_HASH_KEY_BYTES] = {9};
    (void)state;

    session_id_of_token(hash_key, "token-a", id1);
    session_id_of_token(hash_key, "token-a", id2);
    session_id_of_token(other_key, "token-a", id3);
    assert_string_equal(id1, id2);
    assert_string_not_equal(id1, id3);
    assert_null(strstr(id1, "token"));
    assert_int_equal(strlen(id1), SESSION_ID_CHARS);
    /* a password stamp is not the session id of the same text */
    session_password_stamp(hash_key, "token-a", id3);
    assert_string_not_equal(id1, id3);
}

static void test_times_end_a_session(void **state)
{
    struct sb_err err;
    json_t *rec = session_record_new("id", "ana", "stamp", NULL, "csrf", "127.0.0.1", NOW);
    (void)state;

    assert_int_equal(session_check_times(rec, NOW + 1000, 60, 3600, &err), SB_OK);
    assert_int_equal(session_check_times(rec, NOW + 61000, 60, 3600, &err), SB_ERR_UNAUTHORIZED);
    assert_non_null(strstr(err.msg, "idle"));
    json_object_set_new(rec, "lastSeen", json_integer(NOW + 3590000));
    assert_int_equal(session_check_times(rec, NOW + 3600000, 60, 3600, &err), SB_OK);
    assert_int_equal(session_check_times(rec, NOW + 3601000, 60, 3600, &err), SB_ERR_UNAUTHORIZED);
    assert_non_null(strstr(err.msg, "lifetime"));
    assert_int_equal(session_expires_on(rec, 60, 3600), NOW + 3600000);
    json_decref(rec);
}

static void test_touch_at_most_once_a_minute_and_four_times_per_idle_timeout(void **state)
{
    json_t *rec = session_record_new("id", NULL, NULL, "ab", "csrf", "-", NOW);
    (void)state;

    assert_false(session_needs_touch(rec, NOW + 59000, 1800));
    assert_true(session_needs_touch(rec, NOW + 60000, 1800));
    assert_false(session_needs_touch(rec, NOW + 400, 2));
    assert_true(session_needs_touch(rec, NOW + 500, 2));
    assert_string_equal(json_string_value(json_object_get(rec, "kind")), "key");
    assert_null(json_object_get(rec, "login"));
    json_decref(rec);
}

static void test_csrf_must_match_exactly(void **state)
{
    json_t *rec = session_record_new("id", "ana", "s", NULL, "tok123", "-", NOW);
    (void)state;

    assert_true(session_csrf_matches(rec, "tok123"));
    assert_false(session_csrf_matches(rec, NULL));
    assert_false(session_csrf_matches(rec, ""));
    assert_false(session_csrf_matches(rec, "tok12"));
    assert_false(session_csrf_matches(rec, "tok1234"));
    assert_false(session_csrf_matches(rec, "TOK123"));
    json_decref(rec);
}

static void test_cookie_value_is_found_among_others(void **state)
{
    char v[64];
    (void)state;

    assert_true(session_cookie_value("a=1; sb_session=xyz; b=2", "sb_session", v, sizeof(v)));
    assert_string_equal(v, "xyz");
    assert_true(session_cookie_value("sb_session=abc", "sb_session", v, sizeof(v)));
    assert_string_equal(v, "abc");
    assert_false(session_cookie_value("xsb_session=abc", "sb_session", v, sizeof(v)));
    assert_false(session_cookie_value("sb_session=", "sb_session", v, sizeof(v)));
    assert_false(session_cookie_value("sb_sessionx=1", "sb_session", v, sizeof(v)));
    assert_false(session_cookie_value(NULL, "sb_session", v, sizeof(v)));
    assert_false(session_cookie_value("sb_session=0123456789", "sb_session", v, 5));
}

static void test_backoff_after_threshold_doubles_and_clears(void **state)
{
    struct backoff *b = backoff_new();
    (void)state;

    for (int i = 0; i < 5; i++) {
        assert_int_equal(backoff_wait_ms(b, "login:ana", 5, NOW), 0);
        backoff_fail(b, "login:ana", NOW);
    }
    assert_int_equal(backoff_wait_ms(b, "login:ana", 5, NOW), SB_BACKOFF_BASE_MS);
    assert_int_equal(backoff_wait_ms(b, "login:ana", 5, NOW + 1000), SB_BACKOFF_BASE_MS - 1000);
    assert_int_equal(backoff_wait_ms(b, "login:bob", 5, NOW), 0);
    backoff_fail(b, "login:ana", NOW);
    assert_int_equal(backoff_wait_ms(b, "login:ana", 5, NOW), 2 * SB_BACKOFF_BASE_MS);
    for (int i = 0; i < 40; i++)
        backoff_fail(b, "login:ana", NOW);
    assert_int_equal(backoff_wait_ms(b, "login:ana", 5, NOW), SB_BACKOFF_MAX_MS);
    backoff_clear(b, "login:ana");
    assert_int_equal(backoff_wait_ms(b, "login:ana", 5, NOW), 0);
    backoff_free(b);
}

static void test_backoff_forgets_old_failures_and_stays_bounded(void **state)
{
    struct backoff *b = backoff_new();
    char key[32];
    (void)state;

    for (int i = 0; i < 5; i++)
        backoff_fail(b, "addr:1", NOW);
    assert_true(backoff_wait_ms(b, "addr:1", 5, NOW) > 0);
    assert_int_equal(backoff_wait_ms(b, "addr:1", 5, NOW + SB_BACKOFF_FORGET_MS + 1), 0);
    /* more keys than slots: the table never grows, the newest keys are tracked */
    for (int i = 0; i < SB_BACKOFF_SLOTS + 10; i++) {
        snprintf(key, sizeof(key), "login:%d", i);
        for (int j = 0; j < 5; j++)
            backoff_fail(b, key, NOW + i);
    }
    assert_true(backoff_wait_ms(b, key, 5, NOW + SB_BACKOFF_SLOTS + 10) > 0);
    backoff_free(b);
}

/* A guesser who fails once with each of many other names does not push a login's count out */
static void test_backoff_many_single_failures_do_not_evict_a_blocked_login(void **state)
{
    struct backoff *b = backoff_new();
    char key[32];
    (void)state;

    for (int i = 0; i < 5; i++)
        backoff_fail(b, "login:bob", NOW);
    for (int i = 0; i < 2 * SB_BACKOFF_SLOTS; i++) {
        snprintf(key, sizeof(key), "login:filler%d", i);
        backoff_fail(b, key, NOW + 1 + i / 100);
    }
    assert_true(backoff_wait_ms(b, "login:bob", 5, NOW + 1000) > 0);
    /* and the newest filler is tracked too */
    assert_int_equal(backoff_wait_ms(b, key, 1, NOW + 1 + (2 * SB_BACKOFF_SLOTS - 1) / 100),
                     SB_BACKOFF_BASE_MS);
    backoff_free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tokens_are_urlsafe_and_distinct),
        cmocka_unit_test(test_id_is_a_keyed_hash_of_the_token),
        cmocka_unit_test(test_times_end_a_session),
        cmocka_unit_test(test_touch_at_most_once_a_minute_and_four_times_per_idle_timeout),
        cmocka_unit_test(test_csrf_must_match_exactly),
        cmocka_unit_test(test_cookie_value_is_found_among_others),
        cmocka_unit_test(test_backoff_after_threshold_doubles_and_clears),
        cmocka_unit_test(test_backoff_forgets_old_failures_and_stays_bounded),
        cmocka_unit_test(test_backoff_many_single_failures_do_not_evict_a_blocked_login),
    };
    if (sodium_init() < 0)
        return 1;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
