/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of src/core/fields.c: every checker accepts an absent or null member and the right
 * type, and answers a wrong type with a 400 whose sentence names PREFIX + KEY. */
/* cmocka.h needs these four first */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/fields.h"

typedef bool (*checker)(const json_t *obj, const char *prefix, const char *key, struct sb_err *err);

/* Parses TEXT, with single quotes standing for double quotes. */
static json_t *js(const char *text)
{
    char buf[1024];
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

/* Asserts that CHECK accepts member "k" of OBJ_TEXT and leaves the error untouched. */
static void assert_accepts(checker check, const char *obj_text)
{
    json_t *obj = js(obj_text);
    struct sb_err err;

    sb_err_clear(&err);
    if (!check(obj, "p.", "k", &err))
        fail_msg("%s was refused: %s", obj_text, err.msg);
    assert_int_equal(err.kind, SB_OK);
    assert_string_equal(err.msg, "");
    json_decref(obj);
}

/* Asserts that CHECK refuses member "k" of OBJ_TEXT with exactly MESSAGE. */
static void assert_refuses(checker check, const char *obj_text, const char *message)
{
    json_t *obj = js(obj_text);
    struct sb_err err;

    sb_err_clear(&err);
    if (check(obj, "p.", "k", &err))
        fail_msg("%s was accepted", obj_text);
    assert_int_equal(err.kind, SB_ERR_BAD_REQUEST);
    assert_string_equal(err.msg, message);
    json_decref(obj);
}

/* --- fields_string --- */

static void test_string_accepts_absent_null_and_strings(void **state)
{
    (void)state;
    assert_accepts(fields_string, "{}");
    assert_accepts(fields_string, "{'other':1}");
    assert_accepts(fields_string, "{'k':null}");
    assert_accepts(fields_string, "{'k':'text'}");
    assert_accepts(fields_string, "{'k':''}");
}

static void test_string_refuses_other_types_naming_prefix_and_key(void **state)
{
    (void)state;
    assert_refuses(fields_string, "{'k':1}", "Field 'p.k' must be a string.");
    assert_refuses(fields_string, "{'k':true}", "Field 'p.k' must be a string.");
    assert_refuses(fields_string, "{'k':['a']}", "Field 'p.k' must be a string.");
    assert_refuses(fields_string, "{'k':{}}", "Field 'p.k' must be a string.");
}

static void test_string_with_empty_prefix_names_key_alone(void **state)
{
    json_t *obj = js("{'label':1}");
    struct sb_err err;
    (void)state;

    sb_err_clear(&err);
    assert_false(fields_string(obj, "", "label", &err));
    assert_string_equal(err.msg, "Field 'label' must be a string.");
    json_decref(obj);
}

/* --- fields_nonempty_string --- */

static void test_nonempty_string_accepts_absent_null_and_text(void **state)
{
    (void)state;
    assert_accepts(fields_nonempty_string, "{}");
    assert_accepts(fields_nonempty_string, "{'k':null}");
    assert_accepts(fields_nonempty_string, "{'k':'x'}");
}

static void test_nonempty_string_refuses_empty_string_and_other_types(void **state)
{
    (void)state;
    assert_refuses(fields_nonempty_string, "{'k':''}", "Field 'p.k' must be a non-empty string.");
    assert_refuses(fields_nonempty_string, "{'k':0}", "Field 'p.k' must be a non-empty string.");
    assert_refuses(fields_nonempty_string, "{'k':[]}", "Field 'p.k' must be a non-empty string.");
}

/* --- fields_bool --- */

static void test_bool_accepts_absent_null_true_and_false(void **state)
{
    (void)state;
    assert_accepts(fields_bool, "{}");
    assert_accepts(fields_bool, "{'k':null}");
    assert_accepts(fields_bool, "{'k':true}");
    assert_accepts(fields_bool, "{'k':false}");
}

static void test_bool_refuses_strings_and_numbers(void **state)
{
    (void)state;
    assert_refuses(fields_bool, "{'k':'true'}", "Field 'p.k' must be a boolean (true or false).");
    assert_refuses(fields_bool, "{'k':1}", "Field 'p.k' must be a boolean (true or false).");
    assert_refuses(fields_bool, "{'k':0}", "Field 'p.k' must be a boolean (true or false).");
}

/* --- fields_object --- */

static void test_object_accepts_absent_null_and_objects(void **state)
{
    (void)state;
    assert_accepts(fields_object, "{}");
    assert_accepts(fields_object, "{'k':null}");
    assert_accepts(fields_object, "{'k':{}}");
    assert_accepts(fields_object, "{'k':{'a':[1]}}");
}

static void test_object_refuses_arrays_and_scalars(void **state)
{
    (void)state;
    assert_refuses(fields_object, "{'k':[]}", "Field 'p.k' must be a JSON object.");
    assert_refuses(fields_object, "{'k':'{}'}", "Field 'p.k' must be a JSON object.");
    assert_refuses(fields_object, "{'k':3}", "Field 'p.k' must be a JSON object.");
}

/* --- fields_string_array --- */

static void test_string_array_accepts_absent_null_and_arrays_of_strings(void **state)
{
    (void)state;
    assert_accepts(fields_string_array, "{}");
    assert_accepts(fields_string_array, "{'k':null}");
    assert_accepts(fields_string_array, "{'k':[]}");
    assert_accepts(fields_string_array, "{'k':['a','b','']}");
}

static void test_string_array_refuses_non_arrays_and_non_string_items(void **state)
{
    (void)state;
    assert_refuses(fields_string_array, "{'k':'a'}", "Field 'p.k' must be an array of strings.");
    assert_refuses(fields_string_array, "{'k':{}}", "Field 'p.k' must be an array of strings.");
    assert_refuses(fields_string_array, "{'k':['a',1]}",
                   "Field 'p.k' must be an array of strings.");
    assert_refuses(fields_string_array, "{'k':[null]}", "Field 'p.k' must be an array of strings.");
    assert_refuses(fields_string_array, "{'k':[['a']]}",
                   "Field 'p.k' must be an array of strings.");
}

/* --- fields_nonneg_int --- */

static void test_nonneg_int_accepts_absent_null_zero_and_positive(void **state)
{
    (void)state;
    assert_accepts(fields_nonneg_int, "{}");
    assert_accepts(fields_nonneg_int, "{'k':null}");
    assert_accepts(fields_nonneg_int, "{'k':0}");
    assert_accepts(fields_nonneg_int, "{'k':12}");
    assert_accepts(fields_nonneg_int, "{'k':9007199254740993}");
}

static void test_nonneg_int_refuses_negative_fractional_and_strings(void **state)
{
    const char *msg = "Field 'p.k' must be a whole number, zero or more.";
    (void)state;

    assert_refuses(fields_nonneg_int, "{'k':-1}", msg);
    assert_refuses(fields_nonneg_int, "{'k':1.5}", msg);
    assert_refuses(fields_nonneg_int, "{'k':2.0}", msg);
    assert_refuses(fields_nonneg_int, "{'k':'3'}", msg);
    assert_refuses(fields_nonneg_int, "{'k':true}", msg);
}

/* --- fields_enum --- */

static const char *const three_values[] = {"NONE", "ALL", "ALLOWED", NULL};

static bool enum_of_three(const json_t *obj, const char *prefix, const char *key,
                          struct sb_err *err)
{
    return fields_enum(obj, prefix, key, three_values, err);
}

static const char *const two_values[] = {"GLOBAL", "PER_USER", NULL};

static bool enum_of_two(const json_t *obj, const char *prefix, const char *key, struct sb_err *err)
{
    return fields_enum(obj, prefix, key, two_values, err);
}

static const char *const one_value[] = {"ONLY", NULL};

static bool enum_of_one(const json_t *obj, const char *prefix, const char *key, struct sb_err *err)
{
    return fields_enum(obj, prefix, key, one_value, err);
}

static void test_enum_accepts_absent_null_and_each_listed_value(void **state)
{
    (void)state;
    assert_accepts(enum_of_three, "{}");
    assert_accepts(enum_of_three, "{'k':null}");
    assert_accepts(enum_of_three, "{'k':'NONE'}");
    assert_accepts(enum_of_three, "{'k':'ALL'}");
    assert_accepts(enum_of_three, "{'k':'ALLOWED'}");
}

static void test_enum_refuses_unlisted_value_listing_all_values(void **state)
{
    (void)state;
    assert_refuses(enum_of_three, "{'k':'SOME'}", "Field 'p.k' must be NONE, ALL or ALLOWED.");
    assert_refuses(enum_of_three, "{'k':'all'}", "Field 'p.k' must be NONE, ALL or ALLOWED.");
    assert_refuses(enum_of_three, "{'k':''}", "Field 'p.k' must be NONE, ALL or ALLOWED.");
    assert_refuses(enum_of_two, "{'k':'X'}", "Field 'p.k' must be GLOBAL or PER_USER.");
    assert_refuses(enum_of_one, "{'k':'X'}", "Field 'p.k' must be ONLY.");
}

static void test_enum_refuses_non_string_values(void **state)
{
    (void)state;
    assert_refuses(enum_of_three, "{'k':1}", "Field 'p.k' must be NONE, ALL or ALLOWED.");
    assert_refuses(enum_of_three, "{'k':['ALL']}", "Field 'p.k' must be NONE, ALL or ALLOWED.");
}

/* --- fields_require_object --- */

static void test_require_object_accepts_objects_only(void **state)
{
    json_t *obj = js("{}"), *arr = js("[]"), *str = js("'x'"), *jnull = json_null();
    struct sb_err err;
    (void)state;

    sb_err_clear(&err);
    assert_true(fields_require_object(obj, "thing", &err));
    assert_int_equal(err.kind, SB_OK);
    assert_false(fields_require_object(arr, "connection definition", &err));
    assert_int_equal(err.kind, SB_ERR_BAD_REQUEST);
    assert_non_null(strstr(err.msg, "connection definition"));
    sb_err_clear(&err);
    assert_false(fields_require_object(str, "thing", &err));
    assert_int_equal(err.kind, SB_ERR_BAD_REQUEST);
    sb_err_clear(&err);
    assert_false(fields_require_object(jnull, "thing", &err));
    assert_int_equal(err.kind, SB_ERR_BAD_REQUEST);
    sb_err_clear(&err);
    assert_false(fields_require_object(NULL, "thing", &err));
    assert_int_equal(err.kind, SB_ERR_BAD_REQUEST);
    json_decref(obj);
    json_decref(arr);
    json_decref(str);
}

/* --- fields_drop_nulls --- */

static void test_drop_nulls_removes_null_members_and_keeps_others(void **state)
{
    json_t *obj = js("{'a':null,'b':1,'c':'x','d':false,'e':{'n':null},'f':[null]}");
    json_t *want = js("{'b':1,'c':'x','d':false,'e':{'n':null},'f':[null]}");
    json_t *copy = fields_drop_nulls(obj);
    (void)state;

    assert_non_null(copy);
    assert_true(json_equal(copy, want));
    json_decref(want);
    json_decref(copy);
    json_decref(obj);
}

static void test_drop_nulls_is_a_shallow_copy_leaving_original_untouched(void **state)
{
    json_t *obj = js("{'a':null,'e':{'x':1}}");
    json_t *inner = json_object_get(obj, "e");
    json_t *copy = fields_drop_nulls(obj);
    (void)state;

    assert_ptr_not_equal(copy, obj);
    assert_int_equal(copy->refcount, 1);
    assert_ptr_equal(json_object_get(copy, "e"), inner);
    assert_int_equal(inner->refcount, 2);
    assert_int_equal(json_object_size(obj), 2);
    assert_true(json_is_null(json_object_get(obj, "a")));
    json_decref(copy);
    assert_int_equal(inner->refcount, 1);
    assert_int_equal(obj->refcount, 1);
    json_decref(obj);
}

static void test_drop_nulls_of_empty_or_all_null_object_is_empty(void **state)
{
    json_t *empty = js("{}"), *nulls = js("{'a':null,'b':null}");
    json_t *c1 = fields_drop_nulls(empty), *c2 = fields_drop_nulls(nulls);
    (void)state;

    assert_true(json_is_object(c1));
    assert_int_equal(json_object_size(c1), 0);
    assert_true(json_is_object(c2));
    assert_int_equal(json_object_size(c2), 0);
    json_decref(c1);
    json_decref(c2);
    json_decref(empty);
    json_decref(nulls);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_string_accepts_absent_null_and_strings),
        cmocka_unit_test(test_string_refuses_other_types_naming_prefix_and_key),
        cmocka_unit_test(test_string_with_empty_prefix_names_key_alone),
        cmocka_unit_test(test_nonempty_string_accepts_absent_null_and_text),
        cmocka_unit_test(test_nonempty_string_refuses_empty_string_and_other_types),
        cmocka_unit_test(test_bool_accepts_absent_null_true_and_false),
        cmocka_unit_test(test_bool_refuses_strings_and_numbers),
        cmocka_unit_test(test_object_accepts_absent_null_and_objects),
        cmocka_unit_test(test_object_refuses_arrays_and_scalars),
        cmocka_unit_test(test_string_array_accepts_absent_null_and_arrays_of_strings),
        cmocka_unit_test(test_string_array_refuses_non_arrays_and_non_string_items),
        cmocka_unit_test(test_nonneg_int_accepts_absent_null_zero_and_positive),
        cmocka_unit_test(test_nonneg_int_refuses_negative_fractional_and_strings),
        cmocka_unit_test(test_enum_accepts_absent_null_and_each_listed_value),
        cmocka_unit_test(test_enum_refuses_unlisted_value_listing_all_values),
        cmocka_unit_test(test_enum_refuses_non_string_values),
        cmocka_unit_test(test_require_object_accepts_objects_only),
        cmocka_unit_test(test_drop_nulls_removes_null_members_and_keeps_others),
        cmocka_unit_test(test_drop_nulls_is_a_shallow_copy_leaving_original_untouched),
        cmocka_unit_test(test_drop_nulls_of_empty_or_all_null_object_is_empty),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
