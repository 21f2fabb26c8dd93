/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of src/prober/status.c, the compact live-test status table: what it answers, that
 * its saved form reads back to the same answers (escapes included), that the JSON form saved
 * before it still loads, that a load only takes results newer than the table's, the history
 * ring's bound, and forgetting. Every json_t is released (the leak detector checks). */
/* cmocka.h needs these four first */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "prober/status.h"
#include "util/limits.h"

static void assert_same(json_t *a, json_t *b)
{
    char *x = json_dumps(a, JSON_COMPACT | JSON_SORT_KEYS);
    char *y = json_dumps(b, JSON_COMPACT | JSON_SORT_KEYS);
    assert_string_equal(x, y);
    free(x);
    free(y);
    json_decref(a);
    json_decref(b);
}

static void test_record_answers_entry_history_and_all(void **state)
{
    struct pstatus *t = pstatus_new();
    json_t *e, *h, *all;
    (void)state;

    pstatus_record(t, "a", false, "refused", 12, 1000, "connection refused");
    pstatus_record(t, "a", false, "refused again", 7, 2000, "connection refused");
    pstatus_record(t, "b", true, "ok", 3, 2500, "succeeded");
    e = pstatus_entry(t, "a");
    assert_same(e, json_pack("{s:b, s:s, s:i, s:i, s:i}", "connectionOK", 0, "message",
                             "refused again", "durationMs", 7, "testedOn", 2000, "stateChangedOn",
                             1000));
    h = pstatus_history(t, "a");
    assert_same(h, json_pack("[{s:i, s:b, s:s, s:i}, {s:i, s:b, s:s, s:i}]", "testedOn", 1000,
                             "connectionOK", 0, "category", "connection refused", "durationMs", 12,
                             "testedOn", 2000, "connectionOK", 0, "category", "connection refused",
                             "durationMs", 7));
    pstatus_record(t, "a", true, "fine", 1, 3000, "succeeded");
    all = pstatus_all(t, 4000);
    assert_string_equal(json_object_iter_key(json_object_iter(all)), "a"); /* first tested */
    assert_int_equal(json_integer_value(json_object_get(json_object_get(all, "a"), "stateSinceMs")),
                     1000);
    assert_true(json_real_value(json_object_get(json_object_get(all, "a"), "successRatio")) > 0.33);
    assert_true(json_real_value(json_object_get(json_object_get(all, "a"), "successRatio")) < 0.34);
    json_decref(all);
    assert_null(pstatus_entry(t, "never"));
    assert_null(pstatus_history(t, "never"));
    pstatus_free(t);
}

static void test_history_keeps_the_last_entries_only(void **state)
{
    struct pstatus *t = pstatus_new();
    json_t *h;
    (void)state;

    for (int i = 0; i < SB_PROBE_HISTORY + 5; i++)
        pstatus_record(t, "a", i % 2, "m", i, 1000 + i, i % 2 ? "succeeded" : "timeout");
    h = pstatus_history(t, "a");
    assert_int_equal(json_array_size(h), SB_PROBE_HISTORY);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(h, 0), "testedOn")), 1005);
    assert_int_equal(
        json_integer_value(json_object_get(json_array_get(h, SB_PROBE_HISTORY - 1), "testedOn")),
        1000 + SB_PROBE_HISTORY + 4);
    json_decref(h);
    pstatus_free(t);
}

static void test_saved_form_reads_back_the_same(void **state)
{
    struct pstatus *t = pstatus_new(), *u = pstatus_new();
    char *text;
    bool old;
    (void)state;

    pstatus_record(t, "a", false, "tab\there, line\nbreak, back\\slash", 5, 1000, "odd\tword");
    pstatus_record(t, "a", true, "", 6, 2000, "succeeded");
    pstatus_record(t, "b", false, "x", 7, 1500, "timeout");
    pstatus_forget(t, "b");
    pstatus_record(t, "c", false, "y", 8, 1600, "timeout");
    text = pstatus_save(t);
    assert_non_null(strstr(text, "switchboard-probe-status 2\n"));
    assert_true(pstatus_load(u, text, &old));
    assert_false(old);
    assert_same(pstatus_all(u, 5000), pstatus_all(t, 5000));
    assert_same(pstatus_history(u, "a"), pstatus_history(t, "a"));
    assert_null(pstatus_entry(u, "b"));
    free(text);
    pstatus_free(t);
    pstatus_free(u);
}

static void test_a_load_takes_only_newer_results(void **state)
{
    struct pstatus *t = pstatus_new(), *u = pstatus_new();
    char *text;
    json_t *e;
    bool old;
    (void)state;

    pstatus_record(t, "a", false, "old", 1, 1000, "timeout");
    pstatus_record(t, "b", false, "newer there", 1, 3000, "timeout");
    text = pstatus_save(t);
    pstatus_record(u, "a", true, "newer here", 1, 2000, "succeeded");
    pstatus_record(u, "b", true, "older here", 1, 2000, "succeeded");
    assert_true(pstatus_load(u, text, &old));
    assert_false(old);
    e = pstatus_entry(u, "a");
    assert_string_equal(json_string_value(json_object_get(e, "message")), "newer here");
    json_decref(e);
    e = pstatus_entry(u, "b");
    assert_string_equal(json_string_value(json_object_get(e, "message")), "newer there");
    json_decref(e);
    free(text);
    pstatus_free(t);
    pstatus_free(u);
}

static void test_the_json_form_saved_before_still_loads(void **state)
{
    struct pstatus *t = pstatus_new();
    char v1[] =
        "{\"v\":1,\"status\":{\"a\":{\"connectionOK\":false,\"message\":\"no\",\"durationMs\":4,"
        "\"testedOn\":2000,\"stateChangedOn\":1000},\"b\":{\"connectionOK\":true,\"message\":"
        "\"ok\",\"durationMs\":1,\"testedOn\":3000}},\"history\":{\"a\":[[1000,false,\"timeout\","
        "3],[2000,false,\"dns\",4]]}}";
    bool old;
    (void)state;

    assert_true(pstatus_load(t, v1, &old));
    assert_true(old);
    assert_same(pstatus_entry(t, "a"),
                json_pack("{s:b, s:s, s:i, s:i, s:i}", "connectionOK", 0, "message", "no",
                          "durationMs", 4, "testedOn", 2000, "stateChangedOn", 1000));
    assert_same(pstatus_entry(t, "b"),
                json_pack("{s:b, s:s, s:i, s:i}", "connectionOK", 1, "message", "ok", "durationMs",
                          1, "testedOn", 3000));
    assert_same(pstatus_history(t, "a"),
                json_pack("[{s:i, s:b, s:s, s:i}, {s:i, s:b, s:s, s:i}]", "testedOn", 1000,
                          "connectionOK", 0, "category", "timeout", "durationMs", 3, "testedOn",
                          2000, "connectionOK", 0, "category", "dns", "durationMs", 4));
    assert_null(pstatus_history(t, "b"));
    char bad[] = "not json";
    assert_false(pstatus_load(t, bad, &old));
    pstatus_free(t);
}

static void test_the_schedule_is_kept_in_the_record_and_not_loaded(void **state)
{
    struct pstatus *t = pstatus_new(), *u = pstatus_new();
    long long failures = -1, due = -1;
    char *text;
    bool old;
    (void)state;

    pstatus_sched_set(t, "never", 1, 5); /* no record: nothing */
    assert_false(pstatus_sched_get(t, "never", &failures, &due));
    pstatus_record(t, "a", false, "x", 1, 1000, "timeout");
    assert_false(pstatus_sched_get(t, "a", &failures, &due));
    pstatus_sched_set(t, "a", 3, 9000);
    assert_true(pstatus_sched_get(t, "a", &failures, &due));
    assert_int_equal(failures, 3);
    assert_int_equal(due, 9000);
    pstatus_record(u, "a", false, "older", 1, 500, "timeout");
    text = pstatus_save(u);
    pstatus_record(u, "a", false, "newest", 1, 2000, "timeout");
    free(text);
    text = pstatus_save(u); /* newer than t's: taken, t's schedule stays */
    assert_true(pstatus_load(t, text, &old));
    assert_true(pstatus_sched_get(t, "a", &failures, &due));
    assert_int_equal(failures, 3);
    assert_int_equal(due, 9000);
    pstatus_forget(t, "a");
    assert_false(pstatus_sched_get(t, "a", &failures, &due));
    free(text);
    pstatus_free(t);
    pstatus_free(u);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_record_answers_entry_history_and_all),
        cmocka_unit_test(test_history_keeps_the_last_entries_only),
        cmocka_unit_test(test_saved_form_reads_back_the_same),
        cmocka_unit_test(test_a_load_takes_only_newer_results),
        cmocka_unit_test(test_the_json_form_saved_before_still_loads),
        cmocka_unit_test(test_the_schedule_is_kept_in_the_record_and_not_loaded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
