/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of src/core/conn.c: connection names, the create and update rules (defaults,
 * checks, version tag), "may use" and list items. Every json_t is released so that the leak
 * detector at exit also checks the reference counting of the code under test. */
/* cmocka.h needs these four first */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "json_assert.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/conn.h"
#include "core/err.h"
#include "core/principal.h"
#include "util/limits.h"

#define NOW_MS INT64_C(1700000000123)
#define LATER_MS INT64_C(1700000999456)

/* Asserts that member KEY of OBJ equals the JSON value written in TEXT. */
static void assert_member(const json_t *obj, const char *key, const char *text)
{
    json_t *want = js(text);
    json_t *got = json_object_get(obj, key);

    if (!got)
        fail_msg("member '%s' is missing", key);
    assert_json_eq(got, want);
    json_decref(want);
}

static json_t *create_ok(const char *body_text)
{
    json_t *body = js(body_text), *out = NULL;
    struct sb_err err;

    sb_err_clear(&err);
    if (conn_prepare_create(body, "alice", NOW_MS, true, &out, &err) != SB_OK) {
        json_decref(body); /* fail_msg does not return */
        fail_msg("create of %s failed: %s", body_text, err.msg);
    }
    json_decref(body);
    assert_non_null(out);
    return out;
}

/* Asserts that creating from BODY_TEXT is a 400 whose message quotes 'FIELD'. */
static void assert_create_rejected(const char *body_text, const char *field)
{
    json_t *body = js(body_text), *out = NULL;
    struct sb_err err;
    char quoted[128];
    enum sb_err_kind kind;

    sb_err_clear(&err);
    snprintf(quoted, sizeof(quoted), "'%s'", field);
    kind = conn_prepare_create(body, "alice", NOW_MS, true, &out, &err);
    json_decref(body);
    if (kind != SB_ERR_BAD_REQUEST || err.kind != SB_ERR_BAD_REQUEST) {
        json_decref(out);
        fail_msg("create of %s: expected SB_ERR_BAD_REQUEST, got %d (%s)", body_text, kind,
                 err.msg);
    }
    if (!strstr(err.msg, quoted))
        fail_msg("create of %s: message does not name %s: %s", body_text, quoted, err.msg);
    assert_null(out);
}

/* The definition created from BODY_TEXT, set to VERSION, as the store would hold it. */
static json_t *stored_from(const char *body_text, int64_t version)
{
    json_t *def = create_ok(body_text);
    json_object_set_new(json_object_get(def, "creationTag"), "versionNumber",
                        json_integer(version));
    return def;
}

/* A stored PostgreSQL definition named pg-main at VERSION. Its params are {host:'db',
 * db:'sales', port:'5432'} (the port is the registry default). Update bodies must carry
 * params.host, which PostgreSQL requires; PG_PARAMS is a valid params member for them. */
#define PG_PARAMS "'params':{'host':'db'}"

static json_t *stored_at_version(int64_t version)
{
    return stored_from("{'name':'pg-main','type':'PostgreSQL','params':{'host':'db','db':'sales'},"
                       "'allowWrite':false,'usableBy':'ALLOWED','allowedGroups':['ops'],"
                       "'storedOnly':'x'}",
                       version);
}

static enum sb_err_kind update(const json_t *stored, const char *body_text, json_t **out,
                               struct sb_err *err)
{
    json_t *body = js(body_text);
    enum sb_err_kind kind;

    *out = NULL;
    sb_err_clear(err);
    kind = conn_prepare_update(stored, body, "pg-main", "bob", LATER_MS, true, out, err);
    json_decref(body);
    return kind;
}

/* --- conn_validate_name --- */

static void test_validate_name_accepts_letters_digits_and_punctuation(void **state)
{
    struct sb_err err;
    (void)state;

    sb_err_clear(&err);
    assert_true(conn_validate_name("pg-Main_01.prod", &err));
    assert_true(conn_validate_name("a", &err));
    assert_true(conn_validate_name("trailing.", &err));
    assert_true(conn_validate_name("-_-", &err));
    assert_int_equal(err.kind, SB_OK);
}

static void test_validate_name_accepts_128_characters(void **state)
{
    char name[SB_NAME_MAX + 1];
    struct sb_err err;
    (void)state;

    assert_int_equal(SB_NAME_MAX, 128);
    memset(name, 'x', 128);
    name[128] = '\0';
    sb_err_clear(&err);
    assert_true(conn_validate_name(name, &err));
}

static void test_validate_name_rejects_129_characters(void **state)
{
    char name[SB_NAME_MAX + 2];
    struct sb_err err;
    (void)state;

    memset(name, 'x', 129);
    name[129] = '\0';
    sb_err_clear(&err);
    assert_false(conn_validate_name(name, &err));
    assert_int_equal(err.kind, SB_ERR_BAD_REQUEST);
    assert_non_null(strstr(err.msg, "'name'"));
    assert_non_null(strstr(err.msg, "128"));
}

static void test_validate_name_rejects_leading_dot(void **state)
{
    struct sb_err err;
    (void)state;

    sb_err_clear(&err);
    assert_false(conn_validate_name(".hidden", &err));
    assert_int_equal(err.kind, SB_ERR_BAD_REQUEST);
    assert_non_null(strstr(err.msg, "'name'"));
}

static void test_validate_name_rejects_dot_dot_because_it_starts_with_dot(void **state)
{
    struct sb_err err;
    (void)state;

    sb_err_clear(&err);
    assert_false(conn_validate_name("..", &err));
    assert_int_equal(err.kind, SB_ERR_BAD_REQUEST);
    assert_non_null(strstr(err.msg, "'.'"));
    sb_err_clear(&err);
    assert_false(conn_validate_name(".", &err));
    assert_int_equal(err.kind, SB_ERR_BAD_REQUEST);
}

static void test_validate_name_rejects_slash(void **state)
{
    struct sb_err err;
    (void)state;

    sb_err_clear(&err);
    assert_false(conn_validate_name("a/b", &err));
    assert_int_equal(err.kind, SB_ERR_BAD_REQUEST);
    sb_err_clear(&err);
    assert_false(conn_validate_name("../etc", &err));
    assert_int_equal(err.kind, SB_ERR_BAD_REQUEST);
}

static void test_validate_name_rejects_spaces(void **state)
{
    struct sb_err err;
    (void)state;

    sb_err_clear(&err);
    assert_false(conn_validate_name("my conn", &err));
    assert_int_equal(err.kind, SB_ERR_BAD_REQUEST);
    sb_err_clear(&err);
    assert_false(conn_validate_name(" lead", &err));
    assert_int_equal(err.kind, SB_ERR_BAD_REQUEST);
    sb_err_clear(&err);
    assert_false(conn_validate_name("tab\there", &err));
    assert_int_equal(err.kind, SB_ERR_BAD_REQUEST);
}

static void test_validate_name_rejects_unicode_and_keeps_message_ascii(void **state)
{
    struct sb_err err;
    (void)state;

    sb_err_clear(&err);
    assert_false(conn_validate_name("caf\xc3\xa9", &err));
    assert_int_equal(err.kind, SB_ERR_BAD_REQUEST);
    for (const char *p = err.msg; *p; p++)
        assert_true((unsigned char)*p >= 0x20 && (unsigned char)*p < 0x7f);
}

static void test_validate_name_rejects_empty(void **state)
{
    struct sb_err err;
    (void)state;

    sb_err_clear(&err);
    assert_false(conn_validate_name("", &err));
    assert_int_equal(err.kind, SB_ERR_BAD_REQUEST);
    assert_non_null(strstr(err.msg, "'name'"));
}

/* --- conn_prepare_create --- */

/* EC2 requires no param, so name and type alone are a whole create body. */
static void test_create_minimal_body_gets_every_default(void **state)
{
    json_t *out = create_ok("{'name':'s3-main','type':'EC2'}");
    (void)state;

    assert_member(out, "name", "'s3-main'");
    assert_member(out, "type", "'EC2'");
    assert_member(out, "description", "''");
    assert_member(out, "params", "{}");
    assert_member(out, "usableBy", "'ALL'");
    assert_member(out, "allowedGroups", "[]");
    assert_member(out, "allowWrite", "true");
    assert_member(out, "allowManagedDatasets", "true");
    assert_member(out, "allowManagedFolders", "false");
    assert_member(out, "allowKnowledgeBanks", "true");
    assert_member(out, "allowMirror", "false");
    assert_member(out, "maxActivities", "0");
    assert_member(out, "useGlobalProxy", "false");
    assert_member(out, "credentialsMode", "'GLOBAL'");
    assert_member(out, "detailsReadability", "{'readableBy':'NONE','allowedGroups':[]}");
    assert_non_null(json_object_get(out, "creationTag"));
    assert_int_equal(json_object_size(out), 16);
    json_decref(out);
}

/* The smallest PostgreSQL body has the required host; the type's defaults join it. */
static void test_create_minimal_typed_body_gets_every_default_and_the_type_defaults(void **state)
{
    json_t *out = create_ok("{'name':'pg-main','type':'PostgreSQL','params':{'host':'db'}}");
    (void)state;

    assert_member(out, "name", "'pg-main'");
    assert_member(out, "type", "'PostgreSQL'");
    assert_member(out, "description", "''");
    assert_member(out, "params", "{'host':'db','port':'5432'}");
    assert_member(out, "usableBy", "'ALL'");
    assert_member(out, "allowedGroups", "[]");
    assert_member(out, "allowWrite", "true");
    assert_member(out, "allowManagedDatasets", "true");
    assert_member(out, "allowManagedFolders", "false");
    assert_member(out, "allowKnowledgeBanks", "true");
    assert_member(out, "allowMirror", "false");
    assert_member(out, "maxActivities", "0");
    assert_member(out, "useGlobalProxy", "false");
    assert_member(out, "credentialsMode", "'GLOBAL'");
    assert_member(out, "detailsReadability", "{'readableBy':'NONE','allowedGroups':[]}");
    assert_non_null(json_object_get(out, "creationTag"));
    assert_int_equal(json_object_size(out), 16);
    json_decref(out);
}

static void test_create_sets_creation_tag_version_one_by_caller_at_now(void **state)
{
    json_t *out = create_ok("{'name':'pg-main','type':'PostgreSQL','params':{'host':'db'}}");
    json_t *tag = json_object_get(out, "creationTag");
    json_t *want =
        json_pack("{s:I, s:{s:s}, s:I}", "versionNumber", (json_int_t)1, "lastModifiedBy", "login",
                  "alice", "lastModifiedOn", (json_int_t)NOW_MS);
    (void)state;

    assert_json_eq(tag, want);
    assert_int_equal(conn_version(out), 1);
    json_decref(want);
    json_decref(out);
}

static void test_create_keeps_given_values_instead_of_defaults(void **state)
{
    json_t *out = create_ok(
        "{'name':'pg-main','type':'PostgreSQL','description':'main db',"
        "'params':{'host':'db','port':5432},'usableBy':'ALLOWED','allowedGroups':['ops','dev'],"
        "'allowWrite':false,'allowManagedDatasets':false,'allowManagedFolders':true,"
        "'allowMirror':true,'maxActivities':7,'useGlobalProxy':true,'credentialsMode':'PER_USER',"
        "'detailsReadability':{'readableBy':'ALLOWED','allowedGroups':['ops']}}");
    (void)state;

    assert_member(out, "description", "'main db'");
    assert_member(out, "params", "{'host':'db','port':5432}");
    assert_member(out, "usableBy", "'ALLOWED'");
    assert_member(out, "allowedGroups", "['ops','dev']");
    assert_member(out, "allowWrite", "false");
    assert_member(out, "allowManagedDatasets", "false");
    assert_member(out, "allowManagedFolders", "true");
    assert_member(out, "allowMirror", "true");
    assert_member(out, "maxActivities", "7");
    assert_member(out, "useGlobalProxy", "true");
    assert_member(out, "credentialsMode", "'PER_USER'");
    assert_member(out, "detailsReadability", "{'readableBy':'ALLOWED','allowedGroups':['ops']}");
    json_decref(out);
}

static void test_create_readability_with_only_readable_by_gets_default_groups(void **state)
{
    json_t *out = create_ok("{'name':'a','type':'EC2','detailsReadability':{'readableBy':'ALL'}}");
    (void)state;

    assert_member(out, "detailsReadability", "{'readableBy':'ALL','allowedGroups':[]}");
    json_decref(out);
}

static void test_create_readability_with_only_groups_gets_default_readable_by(void **state)
{
    json_t *out =
        create_ok("{'name':'a','type':'EC2','detailsReadability':{'allowedGroups':['g']}}");
    (void)state;

    assert_member(out, "detailsReadability", "{'readableBy':'NONE','allowedGroups':['g']}");
    json_decref(out);
}

static void test_create_readability_null_members_get_defaults(void **state)
{
    json_t *out = create_ok("{'name':'a','type':'EC2','detailsReadability':"
                            "{'readableBy':null,'allowedGroups':null}}");
    (void)state;

    assert_member(out, "detailsReadability", "{'readableBy':'NONE','allowedGroups':[]}");
    json_decref(out);
}

static void test_create_readability_empty_object_gets_defaults(void **state)
{
    json_t *out = create_ok("{'name':'a','type':'EC2','detailsReadability':{}}");
    (void)state;

    assert_member(out, "detailsReadability", "{'readableBy':'NONE','allowedGroups':[]}");
    json_decref(out);
}

static void test_create_null_fields_mean_absent(void **state)
{
    json_t *out =
        create_ok("{'name':'a','type':'EC2','description':null,'params':null,'usableBy':null,"
                  "'allowedGroups':null,'allowWrite':null,'allowManagedDatasets':null,"
                  "'allowManagedFolders':null,'allowMirror':null,'maxActivities':null,"
                  "'useGlobalProxy':null,'credentialsMode':null,'detailsReadability':null,"
                  "'extra':null}");
    json_t *plain = create_ok("{'name':'a','type':'EC2'}");
    (void)state;

    assert_json_eq(out, plain);
    assert_null(json_object_get(out, "extra"));
    json_decref(plain);
    json_decref(out);
}

static void test_create_keeps_unknown_fields(void **state)
{
    json_t *out = create_ok("{'name':'a','type':'EC2','customField':{'deep':[1,2]},"
                            "'zeta':'z','n':3}");
    (void)state;

    assert_member(out, "customField", "{'deep':[1,2]}");
    assert_member(out, "zeta", "'z'");
    assert_member(out, "n", "3");
    json_decref(out);
}

static void test_create_ignores_id_label_and_creation_tag_from_body(void **state)
{
    json_t *out = create_ok("{'name':'a','type':'EC2','id':'other','label':'L',"
                            "'creationTag':{'versionNumber':42,'lastModifiedBy':{'login':'eve'},"
                            "'lastModifiedOn':5}}");
    json_t *tag = json_object_get(out, "creationTag");
    (void)state;

    assert_null(json_object_get(out, "id"));
    assert_null(json_object_get(out, "label"));
    assert_member(tag, "versionNumber", "1");
    assert_member(tag, "lastModifiedBy", "{'login':'alice'}");
    assert_int_equal(json_integer_value(json_object_get(tag, "lastModifiedOn")), NOW_MS);
    json_decref(out);
}

static void test_create_with_wrong_type_of_each_field_is_bad_request_naming_it(void **state)
{
    static const struct {
        const char *body;
        const char *field;
    } cases[] = {
        {"{'name':5,'type':'EC2'}", "name"},
        {"{'name':'a','type':5}", "type"},
        {"{'name':'a','type':''}", "type"},
        {"{'name':'a','type':'EC2','description':1}", "description"},
        {"{'name':'a','type':'EC2','params':[]}", "params"},
        {"{'name':'a','type':'EC2','params':'host=db'}", "params"},
        {"{'name':'a','type':'EC2','usableBy':'SOME'}", "usableBy"},
        {"{'name':'a','type':'EC2','usableBy':'all'}", "usableBy"},
        {"{'name':'a','type':'EC2','usableBy':1}", "usableBy"},
        {"{'name':'a','type':'EC2','allowedGroups':'ops'}", "allowedGroups"},
        {"{'name':'a','type':'EC2','allowedGroups':['ops',1]}", "allowedGroups"},
        {"{'name':'a','type':'EC2','allowWrite':'true'}", "allowWrite"},
        {"{'name':'a','type':'EC2','allowManagedDatasets':1}", "allowManagedDatasets"},
        {"{'name':'a','type':'EC2','allowManagedFolders':'no'}", "allowManagedFolders"},
        {"{'name':'a','type':'EC2','allowMirror':0}", "allowMirror"},
        {"{'name':'a','type':'EC2','maxActivities':-1}", "maxActivities"},
        {"{'name':'a','type':'EC2','maxActivities':1.5}", "maxActivities"},
        {"{'name':'a','type':'EC2','maxActivities':'3'}", "maxActivities"},
        {"{'name':'a','type':'EC2','useGlobalProxy':'yes'}", "useGlobalProxy"},
        {"{'name':'a','type':'EC2','credentialsMode':'LOCAL'}", "credentialsMode"},
        {"{'name':'a','type':'EC2','credentialsMode':true}", "credentialsMode"},
        {"{'name':'a','type':'EC2','detailsReadability':'NONE'}", "detailsReadability"},
        {"{'name':'a','type':'EC2','detailsReadability':[]}", "detailsReadability"},
        {"{'name':'a','type':'EC2','detailsReadability':{'readableBy':'SOME'}}",
         "detailsReadability.readableBy"},
        {"{'name':'a','type':'EC2','detailsReadability':{'allowedGroups':[1]}}",
         "detailsReadability.allowedGroups"},
    };
    (void)state;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        assert_create_rejected(cases[i].body, cases[i].field);
}

static void test_create_without_name_is_bad_request(void **state)
{
    (void)state;
    assert_create_rejected("{'type':'EC2'}", "name");
    assert_create_rejected("{'name':null,'type':'EC2'}", "name");
}

static void test_create_with_invalid_name_is_bad_request(void **state)
{
    (void)state;
    assert_create_rejected("{'name':'.hidden','type':'EC2'}", "name");
    assert_create_rejected("{'name':'','type':'EC2'}", "name");
    assert_create_rejected("{'name':'a/b','type':'EC2'}", "name");
}

static void test_create_without_type_is_bad_request(void **state)
{
    (void)state;
    assert_create_rejected("{'name':'a'}", "type");
    assert_create_rejected("{'name':'a','type':null}", "type");
}

static void test_create_with_non_object_body_is_bad_request(void **state)
{
    static const char *const bodies[] = {"[]", "'text'", "null", "42", "true"};
    (void)state;

    for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
        json_t *body = js(bodies[i]), *out = NULL;
        struct sb_err err;
        sb_err_clear(&err);
        assert_int_equal(conn_prepare_create(body, "alice", NOW_MS, true, &out, &err),
                         SB_ERR_BAD_REQUEST);
        assert_int_equal(err.kind, SB_ERR_BAD_REQUEST);
        assert_non_null(strstr(err.msg, "JSON object"));
        assert_null(out);
        json_decref(body);
    }
}

static void test_create_does_not_modify_body(void **state)
{
    json_t *body = js("{'name':'a','type':'EC2','description':null,'id':'x','label':'y',"
                      "'creationTag':{'versionNumber':9},'params':{'k':null},"
                      "'detailsReadability':{'readableBy':null},'extra':[1]}");
    char *before = dump(body), *after;
    json_t *out = NULL;
    struct sb_err err;
    (void)state;

    sb_err_clear(&err);
    assert_int_equal(conn_prepare_create(body, "alice", NOW_MS, true, &out, &err), SB_OK);
    after = dump(body);
    assert_string_equal(before, after);
    free(after);
    json_decref(out);
    after = dump(body);
    assert_string_equal(before, after);
    free(after);
    free(before);
    json_decref(body);
}

static void test_create_releases_every_reference_it_takes(void **state)
{
    json_t *body = js("{'name':'a','type':'EC2','params':{'h':'x'},'allowedGroups':['g'],"
                      "'detailsReadability':{'readableBy':'ALL'},'extra':{'e':1}}");
    json_t *params = json_object_get(body, "params");
    json_t *groups = json_object_get(body, "allowedGroups");
    json_t *readability = json_object_get(body, "detailsReadability");
    json_t *extra = json_object_get(body, "extra");
    json_t *out = NULL;
    struct sb_err err;
    (void)state;

    sb_err_clear(&err);
    assert_int_equal(conn_prepare_create(body, "alice", NOW_MS, true, &out, &err), SB_OK);
    assert_int_equal(body->refcount, 1);
    assert_int_equal(out->refcount, 1);
    json_decref(out);
    assert_int_equal(params->refcount, 1);
    assert_int_equal(groups->refcount, 1);
    assert_int_equal(readability->refcount, 1);
    assert_int_equal(extra->refcount, 1);
    json_decref(body);
}

static void test_create_failure_releases_every_reference_it_takes(void **state)
{
    json_t *body = js("{'name':'a','type':'EC2','params':{'h':'x'},'allowWrite':'no'}");
    json_t *params = json_object_get(body, "params");
    json_t *out = NULL;
    struct sb_err err;
    (void)state;

    sb_err_clear(&err);
    assert_int_equal(conn_prepare_create(body, "alice", NOW_MS, true, &out, &err),
                     SB_ERR_BAD_REQUEST);
    assert_null(out);
    assert_int_equal(body->refcount, 1);
    assert_int_equal(params->refcount, 1);
    json_decref(body);
}

/* --- conn_prepare_update --- */

static void test_update_with_different_name_is_bad_request(void **state)
{
    json_t *stored = stored_at_version(1), *out;
    struct sb_err err;
    (void)state;

    assert_int_equal(update(stored, "{'name':'other','type':'PostgreSQL'}", &out, &err),
                     SB_ERR_BAD_REQUEST);
    assert_int_equal(err.kind, SB_ERR_BAD_REQUEST);
    assert_non_null(strstr(err.msg, "'name'"));
    assert_null(out);
    json_decref(stored);
}

static void test_update_with_non_string_name_is_bad_request(void **state)
{
    json_t *stored = stored_at_version(1), *out;
    struct sb_err err;
    (void)state;

    assert_int_equal(update(stored, "{'name':7}", &out, &err), SB_ERR_BAD_REQUEST);
    assert_non_null(strstr(err.msg, "'name'"));
    assert_null(out);
    json_decref(stored);
}

static void test_update_with_same_or_absent_name_is_accepted(void **state)
{
    json_t *stored = stored_at_version(1), *out;
    struct sb_err err;
    (void)state;

    assert_int_equal(update(stored, "{'name':'pg-main'," PG_PARAMS "}", &out, &err), SB_OK);
    assert_member(out, "name", "'pg-main'");
    json_decref(out);
    assert_int_equal(update(stored, "{" PG_PARAMS "}", &out, &err), SB_OK);
    assert_member(out, "name", "'pg-main'");
    json_decref(out);
    json_decref(stored);
}

static void test_update_with_changed_type_is_bad_request(void **state)
{
    json_t *stored = stored_at_version(1), *out;
    struct sb_err err;
    (void)state;

    /* MySql is a registered type: the refusal is the type change, not an unknown type */
    assert_int_equal(update(stored, "{'name':'pg-main','type':'MySql'," PG_PARAMS "}", &out, &err),
                     SB_ERR_BAD_REQUEST);
    assert_int_equal(err.kind, SB_ERR_BAD_REQUEST);
    assert_non_null(strstr(err.msg, "'type'"));
    assert_null(out);
    assert_int_equal(update(stored, "{'type':5}", &out, &err), SB_ERR_BAD_REQUEST);
    assert_non_null(strstr(err.msg, "'type'"));
    assert_null(out);
    json_decref(stored);
}

static void test_update_with_same_or_absent_type_keeps_stored_type(void **state)
{
    json_t *stored = stored_at_version(1), *out;
    struct sb_err err;
    (void)state;

    assert_int_equal(update(stored, "{'type':'PostgreSQL'," PG_PARAMS "}", &out, &err), SB_OK);
    assert_member(out, "type", "'PostgreSQL'");
    json_decref(out);
    assert_int_equal(update(stored, "{'type':null," PG_PARAMS "}", &out, &err), SB_OK);
    assert_member(out, "type", "'PostgreSQL'");
    json_decref(out);
    json_decref(stored);
}

static void test_put_with_stale_version_is_conflict(void **state)
{
    json_t *stored = stored_at_version(3), *out;
    struct sb_err err;
    (void)state;

    assert_int_equal(update(stored, "{'creationTag':{'versionNumber':2}}", &out, &err),
                     SB_ERR_CONFLICT);
    assert_int_equal(err.kind, SB_ERR_CONFLICT);
    assert_non_null(strstr(err.msg, "pg-main"));
    assert_null(out);
    assert_int_equal(update(stored, "{'creationTag':{'versionNumber':4}}", &out, &err),
                     SB_ERR_CONFLICT);
    assert_null(out);
    json_decref(stored);
}

/* without write guards (the default, as DSS): the last write wins whatever version it names */
static void test_put_with_stale_version_without_guards_is_last_write_wins(void **state)
{
    json_t *stored = stored_at_version(3), *body, *out = NULL;
    struct sb_err err;
    (void)state;

    for (int v = 0; v < 3; v++) {
        int named[] = {1, 2, 7};
        char text[128];
        snprintf(text, sizeof(text), "{'creationTag':{'versionNumber':%d}," PG_PARAMS "}",
                 named[v]);
        body = js(text);
        sb_err_clear(&err);
        assert_int_equal(
            conn_prepare_update(stored, body, "pg-main", "bob", LATER_MS, false, &out, &err),
            SB_OK);
        assert_int_equal(conn_version(out), 4);
        json_decref(out);
        json_decref(body);
    }
    /* a malformed version is still a 400 naming the field */
    body = js("{'creationTag':{'versionNumber':'2'}}");
    assert_int_equal(
        conn_prepare_update(stored, body, "pg-main", "bob", LATER_MS, false, &out, &err),
        SB_ERR_BAD_REQUEST);
    assert_non_null(strstr(err.msg, "creationTag.versionNumber"));
    json_decref(body);
    json_decref(stored);
}

static void test_put_with_matching_version_gets_next_version(void **state)
{
    json_t *stored = stored_at_version(3), *out;
    json_t *want =
        json_pack("{s:I, s:{s:s}, s:I}", "versionNumber", (json_int_t)4, "lastModifiedBy", "login",
                  "bob", "lastModifiedOn", (json_int_t)LATER_MS);
    struct sb_err err;
    (void)state;

    assert_int_equal(update(stored,
                            "{'name':'pg-main'," PG_PARAMS ",'creationTag':{'versionNumber':3,"
                            "'lastModifiedBy':{'login':'eve'},'lastModifiedOn':1}}",
                            &out, &err),
                     SB_OK);
    assert_json_eq(json_object_get(out, "creationTag"), want);
    assert_int_equal(conn_version(out), 4);
    assert_int_equal(conn_version(stored), 3);
    json_decref(want);
    json_decref(out);
    json_decref(stored);
}

static void test_put_without_creation_tag_is_accepted_as_next_version(void **state)
{
    json_t *stored = stored_at_version(5), *out;
    struct sb_err err;
    (void)state;

    assert_int_equal(update(stored, "{'description':'new'," PG_PARAMS "}", &out, &err), SB_OK);
    assert_int_equal(conn_version(out), 6);
    assert_member(out, "description", "'new'");
    json_decref(out);
    assert_int_equal(update(stored, "{'creationTag':null," PG_PARAMS "}", &out, &err), SB_OK);
    assert_int_equal(conn_version(out), 6);
    json_decref(out);
    assert_int_equal(
        update(stored, "{'creationTag':{'versionNumber':null}," PG_PARAMS "}", &out, &err), SB_OK);
    assert_int_equal(conn_version(out), 6);
    json_decref(out);
    json_decref(stored);
}

static void test_put_with_malformed_creation_tag_is_bad_request(void **state)
{
    json_t *stored = stored_at_version(1), *out;
    struct sb_err err;
    (void)state;

    assert_int_equal(update(stored, "{'creationTag':1}", &out, &err), SB_ERR_BAD_REQUEST);
    assert_non_null(strstr(err.msg, "'creationTag'"));
    assert_null(out);
    assert_int_equal(update(stored, "{'creationTag':{'versionNumber':'1'}}", &out, &err),
                     SB_ERR_BAD_REQUEST);
    assert_non_null(strstr(err.msg, "'creationTag.versionNumber'"));
    assert_null(out);
    assert_int_equal(update(stored, "{'creationTag':{'versionNumber':1.0}}", &out, &err),
                     SB_ERR_BAD_REQUEST);
    assert_null(out);
    json_decref(stored);
}

static void test_update_keeps_unknown_fields_of_body(void **state)
{
    json_t *stored = stored_at_version(1), *out;
    struct sb_err err;
    (void)state;

    assert_int_equal(update(stored, "{'custom':{'a':[1]},'note':'n'," PG_PARAMS "}", &out, &err),
                     SB_OK);
    assert_member(out, "custom", "{'a':[1]}");
    assert_member(out, "note", "'n'");
    json_decref(out);
    json_decref(stored);
}

static void test_update_replaces_whole_definition_so_stored_extras_are_dropped(void **state)
{
    json_t *stored = stored_at_version(1), *out;
    struct sb_err err;
    (void)state;

    assert_non_null(json_object_get(stored, "storedOnly"));
    assert_int_equal(update(stored, "{'note':'n'," PG_PARAMS "}", &out, &err), SB_OK);
    assert_null(json_object_get(out, "storedOnly"));
    json_decref(out);
    json_decref(stored);
}

static void test_update_fields_absent_from_body_get_defaults_again(void **state)
{
    json_t *stored = stored_at_version(1), *out;
    json_t *s3 = stored_from("{'name':'pg-main','type':'EC2','params':{'region':'eu'}}", 1);
    struct sb_err err;
    (void)state;

    /* a type without required params: absent params are {} again, not the stored ones */
    assert_int_equal(update(s3, "{'name':'pg-main'}", &out, &err), SB_OK);
    assert_member(out, "params", "{}");
    json_decref(out);
    json_decref(s3);

    /* stored has params {host,db,port}, allowWrite false, usableBy ALLOWED, allowedGroups
     * [ops]. Params absent from the body are not taken from stored: PostgreSQL then lacks its
     * host. Given params replace the stored ones whole (db is gone), plus the type defaults. */
    assert_member(stored, "params", "{'host':'db','db':'sales','port':'5432'}");
    assert_int_equal(update(stored, "{'name':'pg-main','description':'d'}", &out, &err),
                     SB_ERR_BAD_REQUEST);
    assert_non_null(strstr(err.msg, "'params.host'"));
    assert_null(out);
    assert_int_equal(
        update(stored, "{'name':'pg-main','description':'d','params':{'host':'db2'}}", &out, &err),
        SB_OK);
    assert_member(out, "params", "{'host':'db2','port':'5432'}");
    assert_member(out, "allowWrite", "true");
    assert_member(out, "usableBy", "'ALL'");
    assert_member(out, "allowedGroups", "[]");
    assert_member(out, "maxActivities", "0");
    assert_member(out, "credentialsMode", "'GLOBAL'");
    assert_member(out, "detailsReadability", "{'readableBy':'NONE','allowedGroups':[]}");
    assert_member(out, "description", "'d'");
    json_decref(out);
    json_decref(stored);
}

static void test_update_with_wrong_field_type_is_bad_request_naming_it(void **state)
{
    json_t *stored = stored_at_version(1), *out;
    struct sb_err err;
    (void)state;

    assert_int_equal(update(stored, "{'allowWrite':'yes'}", &out, &err), SB_ERR_BAD_REQUEST);
    assert_non_null(strstr(err.msg, "'allowWrite'"));
    assert_null(out);
    assert_int_equal(update(stored, "{'detailsReadability':{'readableBy':'X'}}", &out, &err),
                     SB_ERR_BAD_REQUEST);
    assert_non_null(strstr(err.msg, "'detailsReadability.readableBy'"));
    assert_null(out);
    json_decref(stored);
}

static void test_update_with_non_object_body_is_bad_request(void **state)
{
    json_t *stored = stored_at_version(1), *out;
    struct sb_err err;
    (void)state;

    assert_int_equal(update(stored, "['pg-main']", &out, &err), SB_ERR_BAD_REQUEST);
    assert_non_null(strstr(err.msg, "JSON object"));
    assert_null(out);
    json_decref(stored);
}

static void test_update_ignores_id_and_label_from_body(void **state)
{
    json_t *stored = stored_at_version(1), *out;
    struct sb_err err;
    (void)state;

    assert_int_equal(update(stored, "{'id':'x','label':'y'," PG_PARAMS "}", &out, &err), SB_OK);
    assert_null(json_object_get(out, "id"));
    assert_null(json_object_get(out, "label"));
    json_decref(out);
    json_decref(stored);
}

static void test_update_does_not_modify_body_or_stored(void **state)
{
    json_t *stored = stored_at_version(2);
    /* the port default is added to the stored copy of params, never to the body's */
    json_t *body = js("{'name':'pg-main','params':{'host':'db','x':null},'description':null,"
                      "'creationTag':{'versionNumber':2},'extra':1}");
    char *stored_before = dump(stored), *body_before = dump(body), *now;
    json_t *out = NULL;
    struct sb_err err;
    (void)state;

    sb_err_clear(&err);
    assert_int_equal(
        conn_prepare_update(stored, body, "pg-main", "bob", LATER_MS, true, &out, &err), SB_OK);
    now = dump(stored);
    assert_string_equal(stored_before, now);
    free(now);
    now = dump(body);
    assert_string_equal(body_before, now);
    free(now);
    assert_int_equal(stored->refcount, 1);
    assert_int_equal(body->refcount, 1);
    json_decref(out);
    assert_int_equal(json_object_get(body, "params")->refcount, 1);
    free(stored_before);
    free(body_before);
    json_decref(body);
    json_decref(stored);
}

/* --- conn_usable_by --- */

static struct principal principal_with(bool admin, const char *groups_text)
{
    struct principal p;

    memset(&p, 0, sizeof(p));
    p.type = PRINCIPAL_GLOBAL_KEY;
    p.admin = admin;
    p.groups = js(groups_text);
    return p;
}

static void test_usable_by_admin_even_when_not_in_allowed_groups(void **state)
{
    json_t *def = js("{'usableBy':'ALLOWED','allowedGroups':['ops']}");
    struct principal p = principal_with(true, "[]");
    (void)state;

    assert_true(conn_usable_by(def, &p));
    principal_clear(&p);
    json_decref(def);
}

static void test_usable_by_all_lets_anyone_use(void **state)
{
    json_t *def = js("{'usableBy':'ALL','allowedGroups':['ops']}");
    struct principal p = principal_with(false, "[]");
    (void)state;

    assert_true(conn_usable_by(def, &p));
    principal_clear(&p);
    json_decref(def);
}

static void test_usable_by_allowed_with_common_group(void **state)
{
    json_t *def = js("{'usableBy':'ALLOWED','allowedGroups':['ops','dev']}");
    struct principal p = principal_with(false, "['sales','dev']");
    (void)state;

    assert_true(conn_usable_by(def, &p));
    principal_clear(&p);
    json_decref(def);
}

static void test_usable_by_allowed_without_common_group_is_refused(void **state)
{
    json_t *def = js("{'usableBy':'ALLOWED','allowedGroups':['ops','dev']}");
    struct principal p = principal_with(false, "['sales','Ops']");
    struct principal nobody = principal_with(false, "[]");
    (void)state;

    assert_false(conn_usable_by(def, &p));
    assert_false(conn_usable_by(def, &nobody));
    principal_clear(&p);
    principal_clear(&nobody);
    json_decref(def);
}

static void test_usable_by_allowed_without_allowed_groups_is_refused(void **state)
{
    json_t *def = js("{'usableBy':'ALLOWED'}");
    struct principal p = principal_with(false, "['ops']");
    (void)state;

    assert_false(conn_usable_by(def, &p));
    principal_clear(&p);
    json_decref(def);
}

static void test_usable_by_missing_means_all(void **state)
{
    json_t *def = js("{'allowedGroups':['ops']}");
    struct principal p = principal_with(false, "[]");
    (void)state;

    assert_true(conn_usable_by(def, &p));
    principal_clear(&p);
    json_decref(def);
}

static void test_text_with_new_defaults_adds_only_what_is_missing(void **state)
{
    char *out = conn_text_with_new_defaults("{\"name\":\"a\",\"type\":\"Filesystem\"}");
    json_t *v;
    (void)state;

    assert_non_null(out);
    v = json_loads(out, 0, NULL);
    assert_true(json_is_true(json_object_get(v, "allowKnowledgeBanks")));
    assert_string_equal(json_string_value(json_object_get(v, "name")), "a");
    json_decref(v);
    free(out);
    assert_null(conn_text_with_new_defaults("{\"allowKnowledgeBanks\":false}"));
    assert_null(conn_text_with_new_defaults("not json"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_text_with_new_defaults_adds_only_what_is_missing),
        cmocka_unit_test(test_validate_name_accepts_letters_digits_and_punctuation),
        cmocka_unit_test(test_validate_name_accepts_128_characters),
        cmocka_unit_test(test_validate_name_rejects_129_characters),
        cmocka_unit_test(test_validate_name_rejects_leading_dot),
        cmocka_unit_test(test_validate_name_rejects_dot_dot_because_it_starts_with_dot),
        cmocka_unit_test(test_validate_name_rejects_slash),
        cmocka_unit_test(test_validate_name_rejects_spaces),
        cmocka_unit_test(test_validate_name_rejects_unicode_and_keeps_message_ascii),
        cmocka_unit_test(test_validate_name_rejects_empty),
        cmocka_unit_test(test_create_minimal_body_gets_every_default),
        cmocka_unit_test(test_create_minimal_typed_body_gets_every_default_and_the_type_defaults),
        cmocka_unit_test(test_create_sets_creation_tag_version_one_by_caller_at_now),
        cmocka_unit_test(test_create_keeps_given_values_instead_of_defaults),
        cmocka_unit_test(test_create_readability_with_only_readable_by_gets_default_groups),
        cmocka_unit_test(test_create_readability_with_only_groups_gets_default_readable_by),
        cmocka_unit_test(test_create_readability_null_members_get_defaults),
        cmocka_unit_test(test_create_readability_empty_object_gets_defaults),
        cmocka_unit_test(test_create_null_fields_mean_absent),
        cmocka_unit_test(test_create_keeps_unknown_fields),
        cmocka_unit_test(test_create_ignores_id_label_and_creation_tag_from_body),
        cmocka_unit_test(test_create_with_wrong_type_of_each_field_is_bad_request_naming_it),
        cmocka_unit_test(test_create_without_name_is_bad_request),
        cmocka_unit_test(test_create_with_invalid_name_is_bad_request),
        cmocka_unit_test(test_create_without_type_is_bad_request),
        cmocka_unit_test(test_create_with_non_object_body_is_bad_request),
        cmocka_unit_test(test_create_does_not_modify_body),
        cmocka_unit_test(test_create_releases_every_reference_it_takes),
        cmocka_unit_test(test_create_failure_releases_every_reference_it_takes),
        cmocka_unit_test(test_update_with_different_name_is_bad_request),
        cmocka_unit_test(test_update_with_non_string_name_is_bad_request),
        cmocka_unit_test(test_update_with_same_or_absent_name_is_accepted),
        cmocka_unit_test(test_update_with_changed_type_is_bad_request),
        cmocka_unit_test(test_update_with_same_or_absent_type_keeps_stored_type),
        cmocka_unit_test(test_put_with_stale_version_is_conflict),
        cmocka_unit_test(test_put_with_stale_version_without_guards_is_last_write_wins),
        cmocka_unit_test(test_put_with_matching_version_gets_next_version),
        cmocka_unit_test(test_put_without_creation_tag_is_accepted_as_next_version),
        cmocka_unit_test(test_put_with_malformed_creation_tag_is_bad_request),
        cmocka_unit_test(test_update_keeps_unknown_fields_of_body),
        cmocka_unit_test(test_update_replaces_whole_definition_so_stored_extras_are_dropped),
        cmocka_unit_test(test_update_fields_absent_from_body_get_defaults_again),
        cmocka_unit_test(test_update_with_wrong_field_type_is_bad_request_naming_it),
        cmocka_unit_test(test_update_with_non_object_body_is_bad_request),
        cmocka_unit_test(test_update_ignores_id_and_label_from_body),
        cmocka_unit_test(test_update_does_not_modify_body_or_stored),
        cmocka_unit_test(test_usable_by_admin_even_when_not_in_allowed_groups),
        cmocka_unit_test(test_usable_by_all_lets_anyone_use),
        cmocka_unit_test(test_usable_by_allowed_with_common_group),
        cmocka_unit_test(test_usable_by_allowed_without_common_group_is_refused),
        cmocka_unit_test(test_usable_by_allowed_without_allowed_groups_is_refused),
        cmocka_unit_test(test_usable_by_missing_means_all),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
