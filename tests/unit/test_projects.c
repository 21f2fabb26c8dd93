/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of the parts of src/core/projects.c that the DSS client reads unguarded or writes
 * in pieces: a dataset as served (tags, schema, partitioning, featureGroup), metadata of
 * datasets and projects, schemas, project permissions and who may change them, and resolved
 * variables. */
/* cmocka.h needs these four first */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "json_assert.h"

#include <jansson.h>
#include <string.h>

#include "core/principal.h"
#include "core/projects.h"

static void test_dataset_view_adds_defaults_only_when_missing(void **state)
{
    json_t *bare = js("{'name':'d','type':'Inline'}");
    json_t *full = js("{'name':'d','tags':['t'],'schema':{'columns':[{'name':'a','type':'int'}]},"
                      "'partitioning':{'dimensions':[{'name':'x','type':'value'}]},"
                      "'featureGroup':true}");
    json_t *half = js("{'name':'d','partitioning':{'filePathPattern':'/p'}}");
    json_t *v1 = datasets_view(bare), *v2 = datasets_view(full), *v3 = datasets_view(half);
    json_t *want3 = js("{'filePathPattern':'/p','dimensions':[]}");
    json_t *want = js("{'name':'d','type':'Inline','tags':[],"
                      "'schema':{'columns':[],'userModified':false},"
                      "'partitioning':{'dimensions':[]},'featureGroup':false}");
    (void)state;

    assert_json_eq(v1, want);
    assert_json_eq(v2, full);
    assert_json_eq(json_object_get(v3, "partitioning"), want3);
    assert_null(json_object_get(bare, "tags")); /* not modified */
    /* nor the members a shallow copy shares with it */
    assert_null(json_object_get(json_object_get(half, "partitioning"), "dimensions"));
    json_decref(bare);
    json_decref(full);
    json_decref(half);
    json_decref(v1);
    json_decref(v2);
    json_decref(v3);
    json_decref(want);
    json_decref(want3);
}

static void test_metadata_round_trip(void **state)
{
    json_t *ds = js("{'name':'d','type':'Inline','description':'long'}");
    json_t *meta = projects_metadata_of(ds), *changed, *again, *out = NULL;
    json_t *want = js("{'label':'d','description':'long','shortDesc':'','tags':[],"
                      "'custom':{'kv':{}},'checklists':{'checklists':[]}}");
    struct sb_err err;
    (void)state;

    assert_json_eq(meta, want);
    changed = js("{'label':'ignored','description':'new','tags':['a'],'custom':{'kv':{'k':1}},"
                 "'checklists':{'checklists':[{'title':'c'}]}}");
    assert_int_equal(projects_apply_metadata(ds, changed, &out, &err), SB_OK);
    assert_string_equal(json_string_value(json_object_get(out, "name")), "d");
    assert_string_equal(json_string_value(json_object_get(out, "description")), "new");
    again = projects_metadata_of(out);
    json_object_set_new(changed, "label", json_string("d"));
    json_object_set_new(changed, "shortDesc", json_string(""));
    assert_json_eq(again, changed);
    json_decref(out);
    json_decref(again);
    json_decref(changed);
    for (const char *const *bad = (const char *const[]){"{'tags':'x'}", "{'custom':[]}",
                                                        "{'description':3}", "[]", NULL};
         *bad; bad++) {
        json_t *b = js(*bad);
        out = NULL;
        assert_int_equal(projects_apply_metadata(ds, b, &out, &err), SB_ERR_BAD_REQUEST);
        assert_null(out);
        json_decref(b);
    }
    json_decref(ds);
    json_decref(meta);
    json_decref(want);
}

static void test_schema_needs_named_typed_columns(void **state)
{
    json_t *ds = js("{'name':'d'}"), *out = NULL;
    json_t *good = js("{'columns':[{'name':'a','type':'int','comment':'x'}]}");
    struct sb_err err;
    (void)state;

    assert_int_equal(datasets_apply_schema(ds, good, &out, &err), SB_OK);
    assert_string_equal(
        json_string_value(json_object_get(
            json_array_get(json_object_get(json_object_get(out, "schema"), "columns"), 0),
            "comment")),
        "x");
    assert_true(json_is_true(json_object_get(json_object_get(out, "schema"), "userModified")));
    json_decref(out);
    for (const char *const *bad =
             (const char *const[]){"{}", "{'columns':{}}", "{'columns':[{'name':'a'}]}",
                                   "{'columns':[{'type':'int'}]}", NULL};
         *bad; bad++) {
        json_t *b = js(*bad);
        assert_int_equal(datasets_apply_schema(ds, b, &out, &err), SB_ERR_BAD_REQUEST);
        assert_true(strstr(err.msg, "schema") != NULL || strstr(err.msg, "olumn") != NULL);
        json_decref(b);
    }
    json_decref(good);
    json_decref(ds);
}

static void test_permissions_view_apply_and_project_admins(void **state)
{
    json_t *project = js("{'projectKey':'P','owner':'ana','permissions':["
                         "{'group':'ops','readProjectContent':true,'admin':true}]}");
    json_t *view = projects_permissions_view(project), *out = NULL, *body, *bad;
    json_t *want = js("{'owner':'ana','permissions':[{'group':'ops','readProjectContent':true,"
                      "'admin':true}]}");
    struct principal owner = {.type = PRINCIPAL_USER, .login = "ana"};
    struct principal ops = {.type = PRINCIPAL_USER, .login = "bob"};
    struct principal other = {.type = PRINCIPAL_USER, .login = "carl"};
    struct sb_err err;
    (void)state;

    ops.groups = js("['ops']");
    other.groups = js("['dev']");
    owner.groups = js("[]");
    assert_json_eq(view, want);
    assert_true(projects_can_admin(project, &owner));
    assert_true(projects_can_admin(project, &ops));
    assert_false(projects_can_admin(project, &other));
    body = js("{'permissions':[]}");
    assert_int_equal(projects_apply_permissions(project, body, &out, &err), SB_OK);
    assert_string_equal(json_string_value(json_object_get(out, "owner")), "ana");
    assert_int_equal(json_array_size(json_object_get(out, "permissions")), 0);
    bad = js("{'owner':''}");
    json_decref(out);
    assert_int_equal(projects_apply_permissions(project, bad, &out, &err), SB_ERR_BAD_REQUEST);
    json_decref(bad);
    json_decref(body);
    json_decref(view);
    json_decref(want);
    json_decref(project);
    principal_clear(&owner);
    principal_clear(&ops);
    principal_clear(&other);
}

static void test_resolved_variables_layers_and_types(void **state)
{
    json_t *instance = js("{'a':'i','b':'i','n':1}");
    json_t *vars = js("{'standard':{'b':'s','c':'s','o':{'x':[1]}},'local':{'c':'l'}}");
    json_t *plain = projects_resolved_variables(instance, vars, false);
    json_t *typed = projects_resolved_variables(instance, vars, true);
    json_t *none = projects_resolved_variables(NULL, NULL, false);
    json_t *want_plain = js("{'a':'i','b':'s','c':'l','n':'1','o':'{\\\"x\\\":[1]}'}");
    json_t *want_typed = js("{'a':'i','b':'s','c':'l','n':1,'o':{'x':[1]}}");
    (void)state;

    assert_json_eq(plain, want_plain);
    assert_json_eq(typed, want_typed);
    assert_int_equal(json_object_size(none), 0);
    json_decref(instance);
    json_decref(vars);
    json_decref(plain);
    json_decref(typed);
    json_decref(none);
    json_decref(want_plain);
    json_decref(want_typed);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dataset_view_adds_defaults_only_when_missing),
        cmocka_unit_test(test_metadata_round_trip),
        cmocka_unit_test(test_schema_needs_named_typed_columns),
        cmocka_unit_test(test_permissions_view_apply_and_project_admins),
        cmocka_unit_test(test_resolved_variables_layers_and_types),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
