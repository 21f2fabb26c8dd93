/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of src/core/activity.c: users' activity in memory (newest time of each kind wins,
 * from memory and from the stored copy), when a write to the store is due, and the answer's
 * shape, including times older than the user's creation. */
/* cmocka.h needs these four first */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <jansson.h>

#include "core/activity.h"

static int64_t field(const json_t *view, const char *key)
{
    return (int64_t)json_integer_value(json_object_get(view, key));
}

static void test_never_seen_user_has_zero_times(void **state)
{
    struct users_activity *a = users_activity_new(1000);
    json_t *merged = users_activity_merge(a, NULL);
    json_t *view = users_activity_view(merged, "ana", true, 0);
    (void)state;

    assert_string_equal(json_string_value(json_object_get(view, "login")), "ana");
    assert_true(json_is_true(json_object_get(view, "enabled")));
    assert_int_equal(field(view, "lastSuccessfulLogin"), 0);
    assert_int_equal(field(view, "lastFailedLogin"), 0);
    assert_int_equal(field(view, "lastSessionActivity"), 0);
    assert_int_equal(json_object_size(view), 5);
    json_decref(view);
    json_decref(merged);
    users_activity_free(a);
}

static void test_records_keep_the_newest_time_of_each_kind(void **state)
{
    struct users_activity *a = users_activity_new(1000);
    json_t *merged, *view;
    (void)state;

    users_activity_record_success(a, "ana", 5000);
    users_activity_record_success(a, "ana", 4000); /* older: ignored */
    users_activity_record_failure(a, "ana", 4500);
    users_activity_record_session(a, "ana", 4700);
    users_activity_record_success(a, "bob", 100);
    users_activity_record_success(a, NULL, 100); /* nobody: ignored */
    users_activity_record_success(a, "", 100);
    merged = users_activity_merge(a, NULL);
    assert_int_equal(json_object_size(merged), 2);
    view = users_activity_view(merged, "ana", false, 0);
    assert_true(json_is_false(json_object_get(view, "enabled")));
    assert_int_equal(field(view, "lastSuccessfulLogin"), 5000);
    assert_int_equal(field(view, "lastFailedLogin"), 4500);
    assert_int_equal(field(view, "lastSessionActivity"), 4700);
    json_decref(view);
    json_decref(merged);
    users_activity_free(a);
}

static void test_merge_takes_the_newest_of_memory_and_store(void **state)
{
    struct users_activity *a = users_activity_new(1000);
    json_t *stored = json_pack("{s:[i,i,i], s:[i,i,i], s:s}", "ana", 9000, 10, 0, "carl", 1, 2, 3,
                               "junk", "not an entry");
    json_t *merged, *view;
    (void)state;

    users_activity_record_success(a, "ana", 5000);
    users_activity_record_failure(a, "ana", 6000);
    merged = users_activity_merge(a, stored);
    view = users_activity_view(merged, "ana", true, 0);
    assert_int_equal(field(view, "lastSuccessfulLogin"), 9000);
    assert_int_equal(field(view, "lastFailedLogin"), 6000);
    json_decref(view);
    view = users_activity_view(merged, "carl", true, 0);
    assert_int_equal(field(view, "lastSessionActivity"), 3);
    json_decref(view);
    assert_null(json_object_get(merged, "junk"));
    json_decref(merged);
    json_decref(stored);
    users_activity_free(a);
}

static void test_times_before_the_user_was_created_count_as_never(void **state)
{
    struct users_activity *a = users_activity_new(1000);
    json_t *merged, *view;
    (void)state;

    users_activity_record_success(a, "ana", 5000); /* an older user of the same login */
    users_activity_record_failure(a, "ana", 8000);
    merged = users_activity_merge(a, NULL);
    view = users_activity_view(merged, "ana", true, 7000);
    assert_int_equal(field(view, "lastSuccessfulLogin"), 0);
    assert_int_equal(field(view, "lastFailedLogin"), 8000);
    json_decref(view);
    json_decref(merged);
    users_activity_free(a);
}

static void test_a_write_is_due_once_per_interval_and_only_after_a_change(void **state)
{
    struct users_activity *a = users_activity_new(1000);
    (void)state;

    assert_false(users_activity_take_due(a, 50000, false)); /* nothing recorded */
    users_activity_record_success(a, "ana", 50000);
    assert_true(users_activity_take_due(a, 50000, false));
    users_activity_record_success(a, "ana", 50100);
    assert_false(users_activity_take_due(a, 50500, false)); /* within the interval */
    assert_true(users_activity_take_due(a, 51000, false));
    assert_false(users_activity_take_due(a, 60000, false)); /* nothing new */
    users_activity_record_success(a, "ana", 50100);         /* not newer: no change */
    assert_false(users_activity_take_due(a, 70000, true));
    users_activity_record_failure(a, "ana", 60001);
    assert_true(users_activity_take_due(a, 60002, true)); /* forced: at shutdown */
    users_activity_free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_never_seen_user_has_zero_times),
        cmocka_unit_test(test_records_keep_the_newest_time_of_each_kind),
        cmocka_unit_test(test_merge_takes_the_newest_of_memory_and_store),
        cmocka_unit_test(test_times_before_the_user_was_created_count_as_never),
        cmocka_unit_test(test_a_write_is_due_once_per_interval_and_only_after_a_change),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
