/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of src/core/variables.c: ${name} expansion from layered flat objects (first layer
 * that defines a name wins, then the built-in dip.home), numbers and booleans written as JSON
 * text, unknown and unterminated references left as written, one pass without recursion, and
 * the in-place walk of nested objects and arrays. Every json_t and every returned string is
 * released so that the leak detector at exit also checks the code under test. */
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

#include "core/variables.h"

/* Asserts that expanding IN with VARS gives WANT. */
static void assert_expands(const struct variables *vars, const char *in, const char *want)
{
    char *out = variables_expand(vars, in);

    assert_non_null(out);
    if (strcmp(out, want) != 0) {
        print_error("expanding \"%s\"\n got      \"%s\"\n expected \"%s\"\n", in, out, want);
        free(out);
        fail();
    }
    free(out);
}

/* Variables with one layer written as TEXT; the caller decrefs *LAYER. */
static struct variables one_layer(const char *text, json_t **layer)
{
    struct variables v = {{NULL}, 0, NULL};

    *layer = js(text);
    v.layers[0] = *layer;
    v.n_layers = 1;
    return v;
}

/* --- variables_expand --- */

static void test_replaces_variable_from_layer(void **state)
{
    json_t *layer;
    struct variables vars = one_layer("{'host':'db.example.com','port':'5432'}", &layer);
    (void)state;

    assert_expands(&vars, "${host}", "db.example.com");
    assert_expands(&vars, "jdbc://${host}:${port}/x", "jdbc://db.example.com:5432/x");
    assert_expands(&vars, "pre ${host} post", "pre db.example.com post");
    json_decref(layer);
}

static void test_string_without_variables_is_copied(void **state)
{
    json_t *layer;
    struct variables vars = one_layer("{'x':'X'}", &layer);
    char *out;
    const char *in = "plain text, $x, $ {x}, {x}, $$, }{";
    (void)state;

    assert_expands(&vars, "", "");
    assert_expands(&vars, in, in);
    out = variables_expand(&vars, in);
    assert_ptr_not_equal(out, in);
    free(out);
    json_decref(layer);
}

static void test_first_layer_that_has_the_name_wins(void **state)
{
    json_t *local = js("{'a':'local-a'}");
    json_t *standard = js("{'a':'standard-a','b':'standard-b'}");
    json_t *instance = js("{'a':'instance-a','b':'instance-b','c':'instance-c'}");
    struct variables vars = {{local, standard, instance}, 3, "/data"};
    (void)state;

    assert_expands(&vars, "${a}", "local-a");
    assert_expands(&vars, "${b}", "standard-b");
    assert_expands(&vars, "${c}", "instance-c");
    assert_expands(&vars, "${a}/${b}/${c}", "local-a/standard-b/instance-c");
    json_decref(instance);
    json_decref(standard);
    json_decref(local);
}

static void test_layer_order_is_what_decides(void **state)
{
    json_t *one = js("{'a':'one'}");
    json_t *two = js("{'a':'two'}");
    struct variables forward = {{one, two}, 2, NULL};
    struct variables backward = {{two, one}, 2, NULL};
    (void)state;

    assert_expands(&forward, "${a}", "one");
    assert_expands(&backward, "${a}", "two");
    json_decref(two);
    json_decref(one);
}

static void test_only_n_layers_are_consulted(void **state)
{
    json_t *one = js("{'a':'one'}");
    json_t *two = js("{'b':'two'}");
    struct variables vars = {{one, two}, 1, NULL};
    (void)state;

    assert_expands(&vars, "${a} ${b}", "one ${b}");
    json_decref(two);
    json_decref(one);
}

static void test_numbers_and_booleans_are_written_as_json_text(void **state)
{
    json_t *layer;
    struct variables vars =
        one_layer("{'port':5432,'neg':-7,'zero':0,'big':9007199254740993,'ratio':1.5,"
                  "'quarter':0.25,'yes':true,'no':false}",
                  &layer);
    (void)state;

    assert_expands(&vars, "${port}", "5432");
    assert_expands(&vars, "${neg}", "-7");
    assert_expands(&vars, "${zero}", "0");
    assert_expands(&vars, "${big}", "9007199254740993");
    assert_expands(&vars, "${ratio}", "1.5");
    assert_expands(&vars, "${quarter}", "0.25");
    assert_expands(&vars, "${yes}", "true");
    assert_expands(&vars, "${no}", "false");
    assert_expands(&vars, "h:${port}/${yes}", "h:5432/true");
    json_decref(layer);
}

static void test_empty_string_value_replaces_with_nothing(void **state)
{
    json_t *layer;
    struct variables vars = one_layer("{'e':''}", &layer);
    (void)state;

    assert_expands(&vars, "a${e}b", "ab");
    assert_expands(&vars, "${e}", "");
    json_decref(layer);
}

static void test_unknown_variables_are_left_as_written(void **state)
{
    json_t *layer;
    struct variables vars = one_layer("{'known':'K'}", &layer);
    (void)state;

    assert_expands(&vars, "${unknown}", "${unknown}");
    assert_expands(&vars, "a ${unknown} b ${known}", "a ${unknown} b K");
    assert_expands(&vars, "${}", "${}");
    assert_expands(&vars, "${Known}", "${Known}");
    assert_expands(&vars, "${ known }", "${ known }");
    json_decref(layer);
}

static void test_very_long_unknown_name_is_left_as_written(void **state)
{
    json_t *layer;
    struct variables vars = one_layer("{'k':'K'}", &layer);
    char in[600];
    (void)state;

    in[0] = '$';
    in[1] = '{';
    memset(in + 2, 'n', 500);
    in[502] = '}';
    strcpy(in + 503, "${k}");
    {
        char want[600];
        memcpy(want, in, 503);
        strcpy(want + 503, "K");
        assert_expands(&vars, in, want);
    }
    json_decref(layer);
}

static void test_long_name_defined_in_layer_is_replaced(void **state)
{
    char name[201], in[210];
    json_t *layer = json_object();
    struct variables vars = {{layer}, 1, NULL};
    (void)state;

    memset(name, 'v', 200);
    name[200] = '\0';
    json_object_set_new(layer, name, json_string("long"));
    snprintf(in, sizeof(in), "${%s}", name);
    assert_expands(&vars, in, "long");
    json_decref(layer);
}

static void test_non_scalar_values_are_not_substituted(void **state)
{
    json_t *layer;
    struct variables vars = one_layer("{'o':{'a':1},'l':[1,2]}", &layer);
    (void)state;

    assert_expands(&vars, "${o} ${l}", "${o} ${l}");
    json_decref(layer);
}

static void test_dip_home_built_in(void **state)
{
    json_t *layer = js("{'x':'X'}");
    struct variables vars = {{layer}, 1, "/var/lib/switchboard"};
    struct variables none = {{layer}, 1, NULL};
    struct variables no_layers = {{NULL}, 0, "/data"};
    (void)state;

    assert_expands(&vars, "${dip.home}/files/${x}", "/var/lib/switchboard/files/X");
    assert_expands(&no_layers, "${dip.home}", "/data");
    assert_expands(&none, "${dip.home}", "${dip.home}");
    json_decref(layer);
}

static void test_layer_defining_dip_home_comes_before_built_in(void **state)
{
    json_t *layer = js("{'dip.home':'/from/layer'}");
    struct variables vars = {{layer}, 1, "/built/in"};
    (void)state;

    assert_expands(&vars, "${dip.home}", "/from/layer");
    json_decref(layer);
}

static void test_unterminated_reference_is_kept(void **state)
{
    json_t *layer;
    struct variables vars = one_layer("{'x':'X'}", &layer);
    (void)state;

    assert_expands(&vars, "${x", "${x");
    assert_expands(&vars, "a ${x", "a ${x");
    assert_expands(&vars, "${", "${");
    assert_expands(&vars, "$", "$");
    assert_expands(&vars, "${x} and ${x", "X and ${x");
    assert_expands(&vars, "end $", "end $");
    json_decref(layer);
}

static void test_adjacent_and_repeated_variables(void **state)
{
    json_t *layer;
    struct variables vars = one_layer("{'a':'A','b':'BB','n':3}", &layer);
    (void)state;

    assert_expands(&vars, "${a}${b}", "ABB");
    assert_expands(&vars, "${a}${a}${a}", "AAA");
    assert_expands(&vars, "${a}-${a}", "A-A");
    assert_expands(&vars, "${b}${n}${b}", "BB3BB");
    assert_expands(&vars, "$${a}", "$A");
    assert_expands(&vars, "${a}}", "A}");
    json_decref(layer);
}

static void test_many_replacements_grow_the_result(void **state)
{
    json_t *layer;
    struct variables vars = one_layer("{'w':'0123456789abcdefghij'}", &layer);
    char in[5 * 400 + 1], want[21 * 400 + 1];
    size_t i;
    (void)state;

    in[0] = want[0] = '\0';
    for (i = 0; i < 400; i++) {
        strcat(in, "${w} ");
        strcat(want, "0123456789abcdefghij ");
    }
    /* 20 bytes of value and a space per reference */
    assert_true(strlen(want) == 21 * 400);
    assert_expands(&vars, in, want);
    json_decref(layer);
}

static void test_no_recursive_expansion(void **state)
{
    json_t *layer;
    struct variables vars =
        one_layer("{'x':'${y}','y':'Y','self':'<${self}>','part':'${','close':'}'}", &layer);
    (void)state;

    assert_expands(&vars, "${x}", "${y}");
    assert_expands(&vars, "${x} ${y}", "${y} Y");
    assert_expands(&vars, "${self}", "<${self}>");
    /* a replacement that forms a reference with the following text is not expanded either */
    assert_expands(&vars, "${part}y}", "${y}");
    assert_expands(&vars, "${part}y${close}", "${y}");
    json_decref(layer);
}

static void test_null_layers_are_skipped(void **state)
{
    json_t *instance = js("{'a':'instance-a'}");
    struct variables vars = {{NULL, NULL, instance, NULL}, 4, "/d"};
    struct variables all_null = {{NULL, NULL, NULL, NULL}, 4, "/d"};
    (void)state;

    assert_expands(&vars, "${a} ${dip.home} ${z}", "instance-a /d ${z}");
    assert_expands(&all_null, "${a} ${dip.home}", "${a} /d");
    json_decref(instance);
}

static void test_zero_layers(void **state)
{
    struct variables vars = {{NULL}, 0, NULL};
    (void)state;

    assert_expands(&vars, "${a} b", "${a} b");
}

static void test_unicode_around_and_inside_values(void **state)
{
    json_t *layer;
    struct variables vars = one_layer("{'city':'Z\\u00fcrich','\\u00e9t\\u00e9':'summer'}", &layer);
    (void)state;

    assert_expands(&vars, "\xe2\x9c\x93 ${city} \xe2\x9c\x93",
                   "\xe2\x9c\x93 Z\xc3\xbcrich \xe2\x9c\x93");
    assert_expands(&vars, "${\xc3\xa9t\xc3\xa9}", "summer");
    json_decref(layer);
}

static void test_expand_does_not_modify_layers(void **state)
{
    json_t *layer;
    struct variables vars = one_layer("{'a':'${b}','b':1,'c':[1]}", &layer);
    char *before = dump(layer), *after;
    (void)state;

    assert_expands(&vars, "${a}${b}${c}", "${b}1${c}");
    after = dump(layer);
    assert_string_equal(before, after);
    assert_int_equal(layer->refcount, 1);
    free(after);
    free(before);
    json_decref(layer);
}

/* --- variables_expand_all --- */

static void test_expand_all_walks_nested_objects_and_arrays(void **state)
{
    json_t *layer;
    struct variables vars = one_layer("{'h':'db','p':5432,'t':true}", &layer);
    json_t *v = js("{'url':'jdbc://${h}:${p}','n':5,'b':false,'z':null,'r':2.5,"
                   "'nested':{'deep':{'s':'${h}-${t}','list':['${h}',1,true,null,"
                   "{'x':'${p}'},['${unknown}','${h}']]}},"
                   "'props':[{'name':'k','value':'${h}'}],'empty':{},'arr':[]}");
    json_t *want = js("{'url':'jdbc://db:5432','n':5,'b':false,'z':null,'r':2.5,"
                      "'nested':{'deep':{'s':'db-true','list':['db',1,true,null,"
                      "{'x':'5432'},['${unknown}','db']]}},"
                      "'props':[{'name':'k','value':'db'}],'empty':{},'arr':[]}");
    (void)state;

    variables_expand_all(&vars, v);
    assert_json_eq(v, want);
    assert_int_equal(v->refcount, 1);
    json_decref(want);
    json_decref(v);
    json_decref(layer);
}

static void test_expand_all_on_top_level_array(void **state)
{
    json_t *layer;
    struct variables vars = one_layer("{'a':'A'}", &layer);
    json_t *v = js("['${a}',['${a}${a}'],{'k':'${a}'},7]");
    json_t *want = js("['A',['AA'],{'k':'A'},7]");
    (void)state;

    variables_expand_all(&vars, v);
    assert_json_eq(v, want);
    json_decref(want);
    json_decref(v);
    json_decref(layer);
}

static void test_expand_all_leaves_non_strings_alone(void **state)
{
    json_t *layer;
    struct variables vars = one_layer("{'a':'A'}", &layer);
    json_t *v = js("{'i':1,'f':1.25,'t':true,'f2':false,'n':null,'o':{'i':2},'l':[3,null]}");
    json_t *want = json_deep_copy(v);
    json_t *scalars[] = {js("5"), js("true"), js("null"), js("'${a}'")};
    (void)state;

    variables_expand_all(&vars, v);
    assert_json_eq(v, want);
    /* scalars at the top level are left alone: nothing holds them to replace */
    for (size_t i = 0; i < sizeof(scalars) / sizeof(scalars[0]); i++) {
        json_t *copy = json_deep_copy(scalars[i]);
        variables_expand_all(&vars, scalars[i]);
        assert_json_eq(scalars[i], copy);
        json_decref(copy);
        json_decref(scalars[i]);
    }
    variables_expand_all(&vars, NULL);
    json_decref(want);
    json_decref(v);
    json_decref(layer);
}

static void test_expand_all_does_not_expand_keys_or_recurse(void **state)
{
    json_t *layer;
    struct variables vars = one_layer("{'a':'${b}','b':'B'}", &layer);
    json_t *v = js("{'${a}':'${a}','k':['${a}','${b}']}");
    json_t *want = js("{'${a}':'${b}','k':['${b}','B']}");
    (void)state;

    variables_expand_all(&vars, v);
    assert_json_eq(v, want);
    json_decref(want);
    json_decref(v);
    json_decref(layer);
}

static void test_expand_all_with_shared_subtree_releases_references(void **state)
{
    json_t *layer;
    struct variables vars = one_layer("{'a':'A'}", &layer);
    json_t *shared = js("{'s':'${a}'}");
    json_t *v = json_object();
    json_t *want = js("{'one':{'s':'A'},'two':{'s':'A'}}");
    (void)state;

    json_object_set(v, "one", shared);
    json_object_set(v, "two", shared);
    variables_expand_all(&vars, v);
    assert_json_eq(v, want);
    assert_int_equal(shared->refcount, 3);
    json_decref(want);
    json_decref(v);
    assert_int_equal(shared->refcount, 1);
    json_decref(shared);
    json_decref(layer);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_replaces_variable_from_layer),
        cmocka_unit_test(test_string_without_variables_is_copied),
        cmocka_unit_test(test_first_layer_that_has_the_name_wins),
        cmocka_unit_test(test_layer_order_is_what_decides),
        cmocka_unit_test(test_only_n_layers_are_consulted),
        cmocka_unit_test(test_numbers_and_booleans_are_written_as_json_text),
        cmocka_unit_test(test_empty_string_value_replaces_with_nothing),
        cmocka_unit_test(test_unknown_variables_are_left_as_written),
        cmocka_unit_test(test_very_long_unknown_name_is_left_as_written),
        cmocka_unit_test(test_long_name_defined_in_layer_is_replaced),
        cmocka_unit_test(test_non_scalar_values_are_not_substituted),
        cmocka_unit_test(test_dip_home_built_in),
        cmocka_unit_test(test_layer_defining_dip_home_comes_before_built_in),
        cmocka_unit_test(test_unterminated_reference_is_kept),
        cmocka_unit_test(test_adjacent_and_repeated_variables),
        cmocka_unit_test(test_many_replacements_grow_the_result),
        cmocka_unit_test(test_no_recursive_expansion),
        cmocka_unit_test(test_null_layers_are_skipped),
        cmocka_unit_test(test_zero_layers),
        cmocka_unit_test(test_unicode_around_and_inside_values),
        cmocka_unit_test(test_expand_does_not_modify_layers),
        cmocka_unit_test(test_expand_all_walks_nested_objects_and_arrays),
        cmocka_unit_test(test_expand_all_on_top_level_array),
        cmocka_unit_test(test_expand_all_leaves_non_strings_alone),
        cmocka_unit_test(test_expand_all_does_not_expand_keys_or_recurse),
        cmocka_unit_test(test_expand_all_with_shared_subtree_releases_references),
    };

    if (sodium_init() < 0) {
        fputs("cannot initialise libsodium\n", stderr);
        return 1;
    }
    return cmocka_run_group_tests(tests, NULL, NULL);
}
