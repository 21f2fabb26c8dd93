/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of src/core/principal.c: resolving the principal of an API key record (global,
 * personal, impersonating), admin through groups, and the refusals, with users and groups
 * looked up from an in-memory table instead of the store. */
/* cmocka.h needs these four first */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "json_assert.h"

#include <jansson.h>
#include <string.h>

#include "core/err.h"
#include "core/principal.h"

/* {"users": {login: record}, "groups": {name: record}, "down": bool} */
static enum sb_err_kind lookup(json_t *db, const char *table, const char *name, json_t **out,
                               struct sb_err *err)
{
    json_t *rec = json_object_get(json_object_get(db, table), name);

    if (json_is_true(json_object_get(db, "down")))
        return sb_err_set(err, SB_ERR_UNAVAILABLE, "The store is unreachable.");
    if (!rec)
        return sb_err_set(err, SB_ERR_NOT_FOUND, "'%s' does not exist.", name);
    *out = json_incref(rec);
    return SB_OK;
}

static enum sb_err_kind user_of(void *ctx, const char *login, json_t **out, struct sb_err *err)
{
    return lookup(ctx, "users", login, out, err);
}

static enum sb_err_kind group_of(void *ctx, const char *name, json_t **out, struct sb_err *err)
{
    return lookup(ctx, "groups", name, out, err);
}

static json_t *db(void)
{
    return js("{'users': {'ann': {'login': 'ann', 'groups': ['admins']},"
              "           'bob': {'login': 'bob', 'groups': ['staff'], 'enabled': false},"
              "           'cid': {'login': 'cid', 'groups': ['staff']}},"
              " 'groups': {'admins': {'name': 'admins', 'admin': true},"
              "            'staff': {'name': 'staff', 'admin': false}}}");
}

static void test_global_key_is_admin_through_an_admin_group(void **state)
{
    json_t *d = db(), *rec = js("{'id': 'k1', 'groups': ['admins'], 'expiresOn': 42}");
    struct principal_lookup look = {user_of, group_of, d};
    struct principal p;
    struct sb_err err;
    (void)state;

    assert_int_equal(principal_resolve(&p, rec, true, &look, &err), SB_OK);
    assert_string_equal(p.login, "api-key:k1");
    assert_true(p.admin);
    assert_int_equal(p.expires_ms, 42);
    principal_clear(&p);
    json_decref(rec);
    json_decref(d);
}

static void test_personal_key_takes_its_users_login_and_groups(void **state)
{
    json_t *d = db(), *rec = js("{'id': 'p1', 'user': 'cid'}");
    struct principal_lookup look = {user_of, group_of, d};
    struct principal p;
    struct sb_err err;
    (void)state;

    assert_int_equal(principal_resolve(&p, rec, false, &look, &err), SB_OK);
    assert_string_equal(p.login, "cid");
    assert_false(p.admin);
    assert_true(principal_in_any_group(
        &p, json_object_get(json_object_get(json_object_get(d, "users"), "cid"), "groups")));
    principal_clear(&p);
    json_decref(rec);
    json_decref(d);
}

static void test_key_of_a_disabled_or_missing_user_is_unauthorized(void **state)
{
    json_t *d = db(), *off = js("{'id': 'p2', 'user': 'bob'}"),
           *gone = js("{'id': 'p3', 'user': 'nobody'}");
    struct principal_lookup look = {user_of, group_of, d};
    struct principal p;
    struct sb_err err;
    (void)state;

    assert_int_equal(principal_resolve(&p, off, false, &look, &err), SB_ERR_UNAUTHORIZED);
    assert_string_equal(err.msg, "The API key is not valid: its user is disabled.");
    assert_null(p.groups);
    assert_int_equal(principal_resolve(&p, gone, false, &look, &err), SB_ERR_UNAUTHORIZED);
    assert_string_equal(err.msg, "The API key is not valid: its user no longer exists.");
    json_decref(off);
    json_decref(gone);
    json_decref(d);
}

static void test_impersonating_key_acts_as_the_user_with_the_users_rights(void **state)
{
    json_t *d = db(),
           *rec = js("{'id': 'k2', 'globalPermissions': {'admin': true}, 'groups': ['admins'],"
                     " 'dssUserForImpersonation': 'cid'}");
    struct principal_lookup look = {user_of, group_of, d};
    struct principal p;
    struct sb_err err;
    (void)state;

    assert_int_equal(principal_resolve(&p, rec, true, &look, &err), SB_OK);
    assert_string_equal(p.login, "cid");
    assert_string_equal(p.real, "api-key:k2");
    assert_false(p.admin); /* nothing of the key's own rights */
    principal_clear(&p);
    json_decref(rec);
    json_decref(d);
}

static void test_a_store_failure_is_passed_on_not_taken_for_a_missing_user(void **state)
{
    json_t *d = db(), *rec = js("{'id': 'p1', 'user': 'cid'}");
    struct principal_lookup look = {user_of, group_of, d};
    struct principal p;
    struct sb_err err;
    (void)state;

    json_object_set_new(d, "down", json_true());
    assert_int_equal(principal_resolve(&p, rec, false, &look, &err), SB_ERR_UNAVAILABLE);
    json_decref(rec);
    json_decref(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_global_key_is_admin_through_an_admin_group),
        cmocka_unit_test(test_personal_key_takes_its_users_login_and_groups),
        cmocka_unit_test(test_key_of_a_disabled_or_missing_user_is_unauthorized),
        cmocka_unit_test(test_impersonating_key_acts_as_the_user_with_the_users_rights),
        cmocka_unit_test(test_a_store_failure_is_passed_on_not_taken_for_a_missing_user),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
