/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of src/util/jsontext.c: members of a JSON object read from its text. The values
 * found must be the members' own JSON text, byte for byte, whatever the other members hold
 * (nested objects, strings with escaped quotes and backslashes, keys repeated inside values);
 * text that is not an object gives nothing and never reads past its end (ASan). */
/* cmocka.h needs these four first */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "util/jsontext.h"

static const char *const keys[] = {"usableBy", "allowedGroups"};

/* The text of member I found in TEXT ("" when absent), in a new string. */
static char *member(const char *text, int i, int *found)
{
    const char *at[2];
    size_t len[2];

    *found = jsontext_members(text, keys, 2, at, len);
    return at[i] ? strndup(at[i], len[i]) : strdup("");
}

static void check(const char *text, const char *usable, const char *groups, int count)
{
    int found;
    char *u = member(text, 0, &found), *g = member(text, 1, &found);

    assert_string_equal(u, usable);
    assert_string_equal(g, groups);
    assert_int_equal(found, count);
    free(u);
    free(g);
}

static void test_members_are_found_after_nested_values(void **state)
{
    (void)state;
    check("{\"name\":\"a\",\"params\":{\"usableBy\":\"NO\",\"x\":[1,{\"allowedGroups\":[]}]},"
          "\"usableBy\":\"ALLOWED\",\"allowedGroups\":[\"ops\",\"dev\"],\"z\":true}",
          "\"ALLOWED\"", "[\"ops\",\"dev\"]", 2);
}

static void test_strings_with_escaped_quotes_do_not_end_early(void **state)
{
    (void)state;
    check("{\"d\":\"a \\\"usableBy\\\":\\\"x\\\" \\\\\",\"e\":\"\\\\\\\"\",\"usableBy\":\"ALL\"}",
          "\"ALL\"", "", 1);
    check("{\"d\":\"\\\\\",\"usableBy\":\"ALL\"}", "\"ALL\"", "", 1);
}

static void test_scalars_and_whitespace(void **state)
{
    (void)state;
    check(" { \"n\" : -1.5e3 , \"b\" : false, \"usableBy\" : null ,\n\"allowedGroups\" : [ ] } ",
          "null", "[ ]", 2);
}

static void test_a_repeated_member_gives_its_first_value(void **state)
{
    (void)state;
    check("{\"usableBy\":\"ALL\",\"usableBy\":\"ALLOWED\"}", "\"ALL\"", "", 1);
}

static void test_members_written_like_a_prefix_are_not_taken(void **state)
{
    (void)state;
    check("{\"usable\":1,\"usableByX\":2,\"allowedGroup\":3}", "", "", 0);
}

static void test_what_is_not_an_object_gives_nothing(void **state)
{
    static const char *bad[] = {"",
                                "[\"usableBy\",1]",
                                "\"usableBy\"",
                                "{",
                                "{\"usableBy\"",
                                "{\"usableBy\":",
                                "{\"usableBy\":\"ALL",
                                "{\"x\":{\"usableBy\":1}",
                                "{\"x\":]",
                                "{\"x\":1 \"usableBy\":2}",
                                "{\"x\" 1,\"usableBy\":2}",
                                "{}",
                                "{\"x\":\"\\\"}"};
    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++)
        check(bad[i], "", "", 0);
}

static void test_what_was_found_before_broken_text_stands(void **state)
{
    (void)state;
    check("{\"usableBy\":\"ALL\",\"x\":[1,", "\"ALL\"", "", 1);
}

/* Every member of a jansson-written object is found with its own text (jansson reads it back
 * as the same value). */
static void test_values_of_a_jansson_object_read_back(void **state)
{
    json_t *obj =
        json_pack("{s:s, s:{s:[i,s,{s:s}], s:s}, s:s, s:[s,s], s:b, s:n}", "name",
                  "c\"\\\n\xc3\xa9", "params", "list", 1, "a\"]}", "usableBy", "x", "k", "}\\\"",
                  "usableBy", "ALLOWED", "allowedGroups", "g1", "g\"2", "flag", 1, "nil");
    char *text = json_dumps(obj, JSON_COMPACT);
    const char *all[] = {"name", "params", "usableBy", "allowedGroups", "flag", "nil"};
    const char *at[6];
    size_t len[6];
    (void)state;

    assert_int_equal(jsontext_members(text, all, 6, at, len), 6);
    for (int i = 0; i < 6; i++) {
        json_t *back = json_loadb(at[i], len[i], JSON_DECODE_ANY, NULL);
        assert_non_null(back);
        assert_true(json_equal(back, json_object_get(obj, all[i])));
        json_decref(back);
    }
    free(text);
    json_decref(obj);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_members_are_found_after_nested_values),
        cmocka_unit_test(test_strings_with_escaped_quotes_do_not_end_early),
        cmocka_unit_test(test_scalars_and_whitespace),
        cmocka_unit_test(test_a_repeated_member_gives_its_first_value),
        cmocka_unit_test(test_members_written_like_a_prefix_are_not_taken),
        cmocka_unit_test(test_what_is_not_an_object_gives_nothing),
        cmocka_unit_test(test_what_was_found_before_broken_text_stands),
        cmocka_unit_test(test_values_of_a_jansson_object_read_back),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
