/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of src/core/users.c: login and group names, the user create and update rules
 * (defaults, type checks, password hashing, what an admin and what a user themselves may
 * change), the settings and list views, and the group create and update rules. Every json_t is
 * released so that the leak detector at exit also checks the reference counting of the code
 * under test. */
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

#include "core/err.h"
#include "core/users.h"
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

/* Asserts that ERR is KIND and that its message quotes 'FIELD'. */
static void assert_err_names(const struct sb_err *err, enum sb_err_kind kind, const char *field)
{
    char quoted[160];

    snprintf(quoted, sizeof(quoted), "'%s'", field);
    if (err->kind != kind)
        fail_msg("expected error kind %d, got %d (%s)", kind, err->kind, err->msg);
    if (!strstr(err->msg, quoted))
        fail_msg("message does not name %s: %s", quoted, err->msg);
}

/* The stored password hash of REC (fails when absent). */
static const char *hash_of(const json_t *rec)
{
    const char *h = json_string_value(json_object_get(rec, "passwordHash"));
    if (!h)
        fail_msg("record has no passwordHash");
    return h;
}

static void assert_hash_verifies(const json_t *rec, const char *password)
{
    const char *h = hash_of(rec);

    assert_true(strncmp(h, "$argon2id$", 10) == 0);
    if (crypto_pwhash_str_verify(h, password, strlen(password)) != 0)
        fail_msg("hash %s does not verify '%s'", h, password);
}

static void assert_hash_refuses(const json_t *rec, const char *password)
{
    assert_int_not_equal(crypto_pwhash_str_verify(hash_of(rec), password, strlen(password)), 0);
}

static json_t *create_ok(const char *body_text)
{
    json_t *body = js(body_text), *out = NULL;
    struct sb_err err;

    sb_err_clear(&err);
    if (users_prepare_create(body, NOW_MS, &out, &err) != SB_OK)
        fail_msg("create of %s failed: %s", body_text, err.msg);
    assert_non_null(out);
    assert_int_equal(out->refcount, 1);
    json_decref(body);
    return out;
}

/* Asserts that creating from BODY_TEXT is a 400 whose message quotes 'FIELD'. */
static void assert_create_rejected(const char *body_text, const char *field)
{
    json_t *body = js(body_text), *out = NULL;
    struct sb_err err;
    enum sb_err_kind kind;

    sb_err_clear(&err);
    kind = users_prepare_create(body, NOW_MS, &out, &err);
    if (kind != SB_ERR_BAD_REQUEST)
        fail_msg("create of %s: expected SB_ERR_BAD_REQUEST, got %d (%s)", body_text, kind,
                 err.msg);
    assert_err_names(&err, SB_ERR_BAD_REQUEST, field);
    assert_null(out);
    json_decref(body);
}

/* The stored record every update test starts from: password "old-secret". */
static json_t *stored_user(void)
{
    return create_ok("{'login':'alice','password':'old-secret','displayName':'Alice',"
                     "'email':'alice@example.com','groups':['data','ops'],"
                     "'sourceType':'LOCAL','userProfile':'DESIGNER','enabled':true,"
                     "'credentials':{'pg':{'type':'BASIC','user':'al','password':'e:xc1:AAAA'}},"
                     "'secrets':[{'name':'s1','value':'e:xc1:BBBB'}],"
                     "'adminProperties':{'costCenter':'42'},'userProperties':{'team':'blue'},"
                     "'preferences':{'theme':'dark'}}");
}

/* Runs users_prepare_update on STORED with BODY_TEXT for "alice". */
static enum sb_err_kind update(const json_t *stored, const char *body_text, bool self, json_t **out,
                               struct sb_err *err)
{
    json_t *body = js(body_text);
    enum sb_err_kind kind;

    *out = NULL;
    sb_err_clear(err);
    kind = users_prepare_update(stored, body, "alice", self, out, err);
    json_decref(body);
    if (kind == SB_OK) {
        assert_non_null(*out);
        assert_int_equal((*out)->refcount, 1);
    } else {
        assert_null(*out);
    }
    return kind;
}

static json_t *update_ok(const json_t *stored, const char *body_text, bool self)
{
    json_t *out;
    struct sb_err err;

    if (update(stored, body_text, self, &out, &err) != SB_OK)
        fail_msg("update with %s failed: %s", body_text, err.msg);
    return out;
}

/* --- users_validate_id --- */

static void test_validate_id_accepts_allowed_characters(void **state)
{
    static const char *const ok[] = {
        "alice", "A1", "a.b_c-d+e@example.org", "trailing.", "-_-", "@", "+", "0", NULL};
    struct sb_err err;
    (void)state;

    sb_err_clear(&err);
    for (const char *const *p = ok; *p; p++)
        if (!users_validate_id(*p, "login", &err))
            fail_msg("'%s' should be a valid login: %s", *p, err.msg);
    assert_int_equal(err.kind, SB_OK);
}

static void test_validate_id_accepts_128_and_rejects_129_characters(void **state)
{
    char id[SB_NAME_MAX + 2];
    struct sb_err err;
    (void)state;

    memset(id, 'u', 128);
    id[128] = '\0';
    sb_err_clear(&err);
    assert_true(users_validate_id(id, "login", &err));
    id[128] = 'u';
    id[129] = '\0';
    assert_false(users_validate_id(id, "login", &err));
    assert_err_names(&err, SB_ERR_BAD_REQUEST, "login");
    assert_non_null(strstr(err.msg, "128"));
}

static void test_validate_id_rejects_bad_ids_naming_what(void **state)
{
    static const char *const bad[] = {"",       ".alice", ".",       "..",    "al ice",
                                      "al/ice", "a:b",    "al\\ice", "a\tb",  "caf\xc3\xa9",
                                      "a*b",    "a#b",    "a?b",     "a%2Fb", NULL};
    (void)state;

    for (const char *const *p = bad; *p; p++) {
        struct sb_err err;

        sb_err_clear(&err);
        if (users_validate_id(*p, "login", &err))
            fail_msg("'%s' should not be a valid login", *p);
        assert_err_names(&err, SB_ERR_BAD_REQUEST, "login");
        sb_err_clear(&err);
        assert_false(users_validate_id(*p, "name", &err));
        assert_err_names(&err, SB_ERR_BAD_REQUEST, "name");
    }
}

static void test_validate_id_message_is_ascii_and_bounded(void **state)
{
    char id[400];
    struct sb_err err;
    (void)state;

    memset(id, 'x', sizeof(id) - 1);
    id[sizeof(id) - 1] = '\0';
    id[0] = '\xc3';
    id[1] = '\xa9';
    sb_err_clear(&err);
    assert_false(users_validate_id(id, "login", &err));
    assert_true(strlen(err.msg) < SB_ERR_MSG_MAX);
    for (const char *c = err.msg; *c; c++)
        assert_true((unsigned char)*c >= 0x20 && (unsigned char)*c < 0x7f);
}

/* --- users_prepare_create --- */

static void test_create_minimal_body_gets_every_default(void **state)
{
    json_t *rec = create_ok("{'login':'alice'}");
    json_t *want = js("{'login':'alice','displayName':'alice','email':'','groups':[],"
                      "'sourceType':'LOCAL','userProfile':'DATA_SCIENTIST','enabled':true,"
                      "'credentials':{},'secrets':[],'adminProperties':{},'userProperties':{},"
                      "'preferences':{},'creationDate':1700000000123}");
    (void)state;

    assert_json_eq(rec, want);
    assert_null(json_object_get(rec, "passwordHash"));
    assert_null(json_object_get(rec, "password"));
    json_decref(want);
    json_decref(rec);
}

static void test_create_keeps_given_values(void **state)
{
    json_t *rec = create_ok("{'login':'bob','displayName':'Bob B','email':'bob@x.org',"
                            "'groups':['g1','g2'],'sourceType':'LDAP','userProfile':'READER',"
                            "'enabled':false,'credentials':{'pg':{'user':'b'}},"
                            "'secrets':[{'name':'n','value':'v'}],'adminProperties':{'a':1},"
                            "'userProperties':{'u':2},'preferences':{'p':3}}");
    (void)state;

    assert_member(rec, "login", "'bob'");
    assert_member(rec, "displayName", "'Bob B'");
    assert_member(rec, "email", "'bob@x.org'");
    assert_member(rec, "groups", "['g1','g2']");
    assert_member(rec, "sourceType", "'LDAP'");
    assert_member(rec, "userProfile", "'READER'");
    assert_member(rec, "enabled", "false");
    assert_member(rec, "credentials", "{'pg':{'user':'b'}}");
    assert_member(rec, "secrets", "[{'name':'n','value':'v'}]");
    assert_member(rec, "adminProperties", "{'a':1}");
    assert_member(rec, "userProperties", "{'u':2}");
    assert_member(rec, "preferences", "{'p':3}");
    assert_member(rec, "creationDate", "1700000000123");
    json_decref(rec);
}

static void test_create_null_fields_mean_absent(void **state)
{
    json_t *rec = create_ok("{'login':'alice','displayName':null,'email':null,'groups':null,"
                            "'sourceType':null,'userProfile':null,'enabled':null,"
                            "'credentials':null,'secrets':null,'adminProperties':null,"
                            "'userProperties':null,'preferences':null,'password':null}");
    json_t *want = create_ok("{'login':'alice'}");
    (void)state;

    assert_json_eq(rec, want);
    json_decref(want);
    json_decref(rec);
}

static void test_create_hashes_password_and_removes_plaintext(void **state)
{
    json_t *rec = create_ok("{'login':'alice','password':'correct horse'}");
    char *text;
    (void)state;

    assert_null(json_object_get(rec, "password"));
    assert_hash_verifies(rec, "correct horse");
    assert_hash_refuses(rec, "wrong horse");
    assert_hash_refuses(rec, "");
    text = dump(rec);
    assert_null(strstr(text, "correct horse"));
    free(text);
    json_decref(rec);
}

static void test_create_hashes_unicode_password(void **state)
{
    json_t *rec = create_ok("{'login':'alice','password':'p\\u00e4ss \\u2713'}");
    (void)state;

    assert_hash_verifies(rec, "p\xc3\xa4ss \xe2\x9c\x93");
    json_decref(rec);
}

static void test_create_same_password_gets_different_hashes(void **state)
{
    json_t *a = create_ok("{'login':'alice','password':'same'}");
    json_t *b = create_ok("{'login':'bob','password':'same'}");
    (void)state;

    assert_string_not_equal(hash_of(a), hash_of(b));
    assert_hash_verifies(a, "same");
    assert_hash_verifies(b, "same");
    json_decref(b);
    json_decref(a);
}

static void test_create_with_empty_password_sets_no_hash(void **state)
{
    json_t *rec = create_ok("{'login':'alice','password':''}");
    (void)state;

    assert_null(json_object_get(rec, "password"));
    assert_null(json_object_get(rec, "passwordHash"));
    json_decref(rec);
}

static void test_create_ignores_client_sent_password_hash(void **state)
{
    json_t *rec = create_ok("{'login':'alice','passwordHash':'$argon2id$v=19$m=1,t=1,p=1$x$y'}");
    (void)state;

    assert_null(json_object_get(rec, "passwordHash"));
    json_decref(rec);

    rec = create_ok("{'login':'alice','password':'real','passwordHash':'$argon2id$forged'}");
    assert_string_not_equal(hash_of(rec), "$argon2id$forged");
    assert_hash_verifies(rec, "real");
    json_decref(rec);
}

static void test_create_ignores_client_sent_creation_date(void **state)
{
    json_t *rec = create_ok("{'login':'alice','creationDate':5}");
    (void)state;

    assert_member(rec, "creationDate", "1700000000123");
    json_decref(rec);
}

static void test_create_with_wrong_types_is_bad_request_naming_field(void **state)
{
    (void)state;
    assert_create_rejected("{'login':'alice','password':1}", "password");
    assert_create_rejected("{'login':'alice','password':true}", "password");
    assert_create_rejected("{'login':'alice','displayName':1}", "displayName");
    assert_create_rejected("{'login':'alice','email':true}", "email");
    assert_create_rejected("{'login':'alice','sourceType':[]}", "sourceType");
    assert_create_rejected("{'login':'alice','userProfile':{}}", "userProfile");
    assert_create_rejected("{'login':'alice','groups':'ops'}", "groups");
    assert_create_rejected("{'login':'alice','groups':['ops',1]}", "groups");
    assert_create_rejected("{'login':'alice','groups':{}}", "groups");
    assert_create_rejected("{'login':'alice','enabled':'yes'}", "enabled");
    assert_create_rejected("{'login':'alice','enabled':1}", "enabled");
    assert_create_rejected("{'login':'alice','credentials':[]}", "credentials");
    assert_create_rejected("{'login':'alice','credentials':'x'}", "credentials");
    assert_create_rejected("{'login':'alice','credentials':{'pg':'x'}}", "credentials");
    assert_create_rejected("{'login':'alice','credentials':{'pg':[1]}}", "credentials");
    assert_create_rejected("{'login':'alice','adminProperties':'x'}", "adminProperties");
    assert_create_rejected("{'login':'alice','userProperties':1}", "userProperties");
    assert_create_rejected("{'login':'alice','preferences':[]}", "preferences");
    assert_create_rejected("{'login':'alice','secrets':'x'}", "secrets");
    assert_create_rejected("{'login':'alice','secrets':{}}", "secrets");
    assert_create_rejected("{'login':'alice','secrets':[1]}", "secrets");
    assert_create_rejected("{'login':'alice','secrets':[{'value':'v'}]}", "secrets");
    assert_create_rejected("{'login':'alice','secrets':[{'name':1,'value':'v'}]}", "secrets");
}

static void test_create_accepts_null_credential_entry(void **state)
{
    json_t *rec = create_ok("{'login':'alice','credentials':{'pg':null}}");
    (void)state;

    json_decref(rec);
}

static void test_create_without_login_is_bad_request(void **state)
{
    (void)state;
    assert_create_rejected("{}", "login");
    assert_create_rejected("{'displayName':'x','password':'p'}", "login");
    assert_create_rejected("{'login':null}", "login");
    assert_create_rejected("{'login':5}", "login");
    assert_create_rejected("{'login':['alice']}", "login");
}

static void test_create_with_invalid_login_is_bad_request(void **state)
{
    (void)state;
    assert_create_rejected("{'login':''}", "login");
    assert_create_rejected("{'login':'.alice'}", "login");
    assert_create_rejected("{'login':'al ice'}", "login");
    assert_create_rejected("{'login':'a/b'}", "login");
}

static void test_create_with_non_object_body_is_bad_request(void **state)
{
    static const char *const bodies[] = {"[]", "'alice'", "1", "null", NULL};
    (void)state;

    for (const char *const *b = bodies; *b; b++) {
        json_t *body = js(*b), *out = NULL;
        struct sb_err err;

        sb_err_clear(&err);
        assert_int_equal(users_prepare_create(body, NOW_MS, &out, &err), SB_ERR_BAD_REQUEST);
        assert_null(out);
        json_decref(body);
    }
}

static void test_create_does_not_modify_body(void **state)
{
    json_t *body = js("{'login':'alice','password':'pw','passwordHash':'x','email':null,"
                      "'groups':['g'],'credentials':{'pg':{'password':'p'}}}");
    char *before = dump(body), *after;
    json_t *out = NULL;
    struct sb_err err;
    (void)state;

    sb_err_clear(&err);
    assert_int_equal(users_prepare_create(body, NOW_MS, &out, &err), SB_OK);
    after = dump(body);
    assert_string_equal(before, after);
    assert_int_equal(body->refcount, 1);
    free(after);
    free(before);
    json_decref(out);
    json_decref(body);
}

/* --- users_prepare_update, by an admin --- */

static void test_admin_update_replaces_settings_and_keeps_password(void **state)
{
    json_t *stored = stored_user();
    json_t *rec = update_ok(stored,
                            "{'login':'alice','displayName':'Alice L','email':'al@x.org',"
                            "'groups':['ops'],'sourceType':'LOCAL','userProfile':'READER',"
                            "'enabled':false,'credentials':{},'secrets':[],"
                            "'adminProperties':{'costCenter':'7'},'userProperties':{},"
                            "'preferences':{'theme':'light'}}",
                            false);
    (void)state;

    assert_member(rec, "login", "'alice'");
    assert_member(rec, "displayName", "'Alice L'");
    assert_member(rec, "email", "'al@x.org'");
    assert_member(rec, "groups", "['ops']");
    assert_member(rec, "userProfile", "'READER'");
    assert_member(rec, "enabled", "false");
    assert_member(rec, "credentials", "{}");
    assert_member(rec, "secrets", "[]");
    assert_member(rec, "adminProperties", "{'costCenter':'7'}");
    assert_member(rec, "userProperties", "{}");
    assert_member(rec, "preferences", "{'theme':'light'}");
    assert_member(rec, "creationDate", "1700000000123");
    assert_string_equal(hash_of(rec), hash_of(stored));
    assert_null(json_object_get(rec, "password"));
    json_decref(rec);
    json_decref(stored);
}

static void test_admin_update_with_new_password_rehashes(void **state)
{
    json_t *stored = stored_user();
    json_t *rec = update_ok(stored, "{'password':'new-secret'}", false);
    (void)state;

    assert_null(json_object_get(rec, "password"));
    assert_string_not_equal(hash_of(rec), hash_of(stored));
    assert_hash_verifies(rec, "new-secret");
    assert_hash_refuses(rec, "old-secret");
    json_decref(rec);
    json_decref(stored);
}

static void test_admin_update_with_empty_or_null_password_keeps_hash(void **state)
{
    json_t *stored = stored_user();
    json_t *rec = update_ok(stored, "{'password':''}", false);
    (void)state;

    assert_null(json_object_get(rec, "password"));
    assert_string_equal(hash_of(rec), hash_of(stored));
    json_decref(rec);
    rec = update_ok(stored, "{'password':null}", false);
    assert_null(json_object_get(rec, "password"));
    assert_string_equal(hash_of(rec), hash_of(stored));
    json_decref(rec);
    json_decref(stored);
}

static void test_admin_update_ignores_client_sent_password_hash(void **state)
{
    json_t *stored = stored_user();
    json_t *rec = update_ok(stored, "{'passwordHash':'$argon2id$forged'}", false);
    json_t *bare, *rec2;
    (void)state;

    assert_string_equal(hash_of(rec), hash_of(stored));
    assert_hash_verifies(rec, "old-secret");
    json_decref(rec);

    /* a user without a password does not get one from a forged hash either */
    bare = create_ok("{'login':'alice'}");
    rec2 = update_ok(bare, "{'passwordHash':'$argon2id$forged'}", false);
    assert_null(json_object_get(rec2, "passwordHash"));
    json_decref(rec2);
    json_decref(bare);
    json_decref(stored);
}

static void test_admin_update_keeps_creation_date(void **state)
{
    json_t *stored = stored_user();
    json_t *rec = update_ok(stored, "{'creationDate':1}", false);
    (void)state;

    assert_member(rec, "creationDate", "1700000000123");
    json_decref(rec);
    rec = update_ok(stored, "{}", false);
    assert_member(rec, "creationDate", "1700000000123");
    json_decref(rec);
    json_decref(stored);
}

static void test_admin_update_with_login_mismatch_is_bad_request(void **state)
{
    json_t *stored = stored_user(), *out;
    struct sb_err err;
    (void)state;

    assert_int_equal(update(stored, "{'login':'bob'}", false, &out, &err), SB_ERR_BAD_REQUEST);
    assert_err_names(&err, SB_ERR_BAD_REQUEST, "login");
    assert_int_equal(update(stored, "{'login':5}", false, &out, &err), SB_ERR_BAD_REQUEST);
    assert_err_names(&err, SB_ERR_BAD_REQUEST, "login");
    assert_int_equal(update(stored, "{'login':'ALICE'}", false, &out, &err), SB_ERR_BAD_REQUEST);
    json_decref(stored);
}

static void test_admin_update_with_same_or_absent_login_is_accepted(void **state)
{
    json_t *stored = stored_user(), *rec;
    (void)state;

    rec = update_ok(stored, "{'login':'alice'}", false);
    assert_member(rec, "login", "'alice'");
    json_decref(rec);
    rec = update_ok(stored, "{}", false);
    assert_member(rec, "login", "'alice'");
    json_decref(rec);
    rec = update_ok(stored, "{'login':null}", false);
    assert_member(rec, "login", "'alice'");
    json_decref(rec);
    json_decref(stored);
}

static void test_admin_update_absent_settings_are_kept_from_stored(void **state)
{
    json_t *stored = stored_user();
    json_t *rec = update_ok(stored, "{'email':'new@x.org'}", false);
    (void)state;

    assert_member(rec, "email", "'new@x.org'");
    assert_json_eq(json_object_get(rec, "groups"), json_object_get(stored, "groups"));
    assert_json_eq(json_object_get(rec, "enabled"), json_object_get(stored, "enabled"));
    assert_json_eq(json_object_get(rec, "adminProperties"),
                   json_object_get(stored, "adminProperties"));
    assert_json_eq(json_object_get(rec, "credentials"), json_object_get(stored, "credentials"));
    assert_json_eq(json_object_get(rec, "secrets"), json_object_get(stored, "secrets"));
    assert_json_eq(json_object_get(rec, "preferences"), json_object_get(stored, "preferences"));
    assert_json_eq(json_object_get(rec, "userProperties"),
                   json_object_get(stored, "userProperties"));
    assert_json_eq(json_object_get(rec, "displayName"), json_object_get(stored, "displayName"));
    json_decref(rec);
    json_decref(stored);
}

static void test_admin_update_with_wrong_types_is_bad_request_naming_field(void **state)
{
    static const struct {
        const char *body, *field;
    } cases[] = {
        {"{'password':1}", "password"},
        {"{'displayName':[]}", "displayName"},
        {"{'email':1}", "email"},
        {"{'groups':'ops'}", "groups"},
        {"{'groups':[true]}", "groups"},
        {"{'enabled':'no'}", "enabled"},
        {"{'credentials':[]}", "credentials"},
        {"{'credentials':{'pg':1}}", "credentials"},
        {"{'secrets':'x'}", "secrets"},
        {"{'secrets':[{'value':'v'}]}", "secrets"},
        {"{'adminProperties':[]}", "adminProperties"},
        {"{'userProperties':'x'}", "userProperties"},
        {"{'preferences':1}", "preferences"},
        {"{'userProfile':1}", "userProfile"},
        {"{'sourceType':false}", "sourceType"},
    };
    json_t *stored = stored_user(), *out;
    struct sb_err err;
    (void)state;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        for (int self = 0; self < 2; self++) {
            if (update(stored, cases[i].body, self, &out, &err) != SB_ERR_BAD_REQUEST)
                fail_msg("update (self=%d) with %s: expected SB_ERR_BAD_REQUEST, got %d (%s)", self,
                         cases[i].body, err.kind, err.msg);
            assert_err_names(&err, SB_ERR_BAD_REQUEST, cases[i].field);
        }
    }
    json_decref(stored);
}

static void test_update_with_non_object_body_is_bad_request(void **state)
{
    json_t *stored = stored_user(), *out;
    struct sb_err err;
    (void)state;

    assert_int_equal(update(stored, "[]", false, &out, &err), SB_ERR_BAD_REQUEST);
    assert_int_equal(update(stored, "'x'", true, &out, &err), SB_ERR_BAD_REQUEST);
    assert_int_equal(update(stored, "null", false, &out, &err), SB_ERR_BAD_REQUEST);
    json_decref(stored);
}

static void test_update_does_not_modify_body_or_stored(void **state)
{
    json_t *stored = stored_user();
    json_t *body = js("{'password':'pw2','groups':['data','ops'],'displayName':'A',"
                      "'credentials':{'x':{'password':'p'}}}");
    char *stored_before = dump(stored), *body_before = dump(body), *now;
    json_t *out = NULL;
    struct sb_err err;
    (void)state;

    for (int self = 0; self < 2; self++) {
        sb_err_clear(&err);
        assert_int_equal(users_prepare_update(stored, body, "alice", self, &out, &err), SB_OK);
        json_decref(out);
        out = NULL;
        now = dump(stored);
        assert_string_equal(now, stored_before);
        free(now);
        now = dump(body);
        assert_string_equal(now, body_before);
        free(now);
    }
    assert_int_equal(stored->refcount, 1);
    assert_int_equal(body->refcount, 1);
    free(body_before);
    free(stored_before);
    json_decref(body);
    json_decref(stored);
}

/* --- users_prepare_update, by the user themselves --- */

static void test_self_update_changing_fixed_fields_is_forbidden(void **state)
{
    static const struct {
        const char *body, *field;
    } cases[] = {
        {"{'groups':['data','ops','admins']}", "groups"},
        {"{'groups':[]}", "groups"},
        {"{'groups':['ops','data']}", "groups"},
        {"{'enabled':false}", "enabled"},
        {"{'adminProperties':{'costCenter':'43'}}", "adminProperties"},
        {"{'adminProperties':{}}", "adminProperties"},
        {"{'preferences':{'theme':'light'},'groups':['admins']}", "groups"},
    };
    json_t *stored = stored_user(), *out;
    struct sb_err err;
    (void)state;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        if (update(stored, cases[i].body, true, &out, &err) != SB_ERR_FORBIDDEN)
            fail_msg("self update with %s: expected SB_ERR_FORBIDDEN, got %d (%s)", cases[i].body,
                     err.kind, err.msg);
        assert_err_names(&err, SB_ERR_FORBIDDEN, cases[i].field);
    }
    json_decref(stored);
}

static void test_self_update_sending_fixed_fields_unchanged_is_fine(void **state)
{
    json_t *stored = stored_user();
    json_t *rec = update_ok(stored,
                            "{'login':'alice','groups':['data','ops'],'enabled':true,"
                            "'adminProperties':{'costCenter':'42'},"
                            "'preferences':{'theme':'light'}}",
                            true);
    (void)state;

    assert_member(rec, "groups", "['data','ops']");
    assert_member(rec, "enabled", "true");
    assert_member(rec, "adminProperties", "{'costCenter':'42'}");
    assert_member(rec, "preferences", "{'theme':'light'}");
    json_decref(rec);

    rec = update_ok(stored, "{'groups':null,'enabled':null,'adminProperties':null}", true);
    assert_member(rec, "groups", "['data','ops']");
    assert_member(rec, "enabled", "true");
    assert_member(rec, "adminProperties", "{'costCenter':'42'}");
    json_decref(rec);
    json_decref(stored);
}

static void test_self_update_changes_own_settings(void **state)
{
    json_t *stored = stored_user();
    json_t *rec = update_ok(stored,
                            "{'credentials':{'mysql':{'type':'BASIC','user':'m','password':'x'}},"
                            "'secrets':[{'name':'k','value':'v'}],"
                            "'preferences':{'theme':'light','lang':'fr'},"
                            "'userProperties':{'team':'red'},'displayName':'Al','email':'al@y'}",
                            true);
    (void)state;

    assert_member(rec, "credentials", "{'mysql':{'type':'BASIC','user':'m','password':'x'}}");
    assert_member(rec, "secrets", "[{'name':'k','value':'v'}]");
    assert_member(rec, "preferences", "{'theme':'light','lang':'fr'}");
    assert_member(rec, "userProperties", "{'team':'red'}");
    assert_member(rec, "displayName", "'Al'");
    assert_member(rec, "email", "'al@y'");
    assert_string_equal(hash_of(rec), hash_of(stored));
    json_decref(rec);
    json_decref(stored);
}

static void test_self_update_ignores_other_fields(void **state)
{
    json_t *stored = stored_user();
    json_t *rec = update_ok(stored,
                            "{'userProfile':'ADMIN','sourceType':'LDAP','creationDate':1,"
                            "'passwordHash':'$argon2id$forged','someExtra':'x'}",
                            true);
    (void)state;

    assert_json_eq(rec, stored);
    assert_null(json_object_get(rec, "someExtra"));
    assert_member(rec, "userProfile", "'DESIGNER'");
    assert_member(rec, "sourceType", "'LOCAL'");
    assert_member(rec, "creationDate", "1700000000123");
    assert_string_equal(hash_of(rec), hash_of(stored));
    json_decref(rec);
    json_decref(stored);
}

static void test_self_update_with_absent_fields_keeps_stored(void **state)
{
    json_t *stored = stored_user();
    json_t *rec = update_ok(stored, "{}", true);
    (void)state;

    assert_json_eq(rec, stored);
    json_decref(rec);
    rec = update_ok(stored, "{'credentials':null,'secrets':null,'preferences':null}", true);
    assert_json_eq(rec, stored);
    json_decref(rec);
    json_decref(stored);
}

static void test_self_update_with_password_rehashes(void **state)
{
    json_t *stored = stored_user();
    json_t *rec = update_ok(stored, "{'password':'mine-now'}", true);
    (void)state;

    assert_null(json_object_get(rec, "password"));
    assert_hash_verifies(rec, "mine-now");
    assert_hash_refuses(rec, "old-secret");
    json_decref(rec);

    rec = update_ok(stored, "{'password':''}", true);
    assert_null(json_object_get(rec, "password"));
    assert_string_equal(hash_of(rec), hash_of(stored));
    json_decref(rec);
    json_decref(stored);
}

static void test_self_update_with_login_mismatch_is_bad_request(void **state)
{
    json_t *stored = stored_user(), *out;
    struct sb_err err;
    (void)state;

    assert_int_equal(update(stored, "{'login':'mallory'}", true, &out, &err), SB_ERR_BAD_REQUEST);
    assert_err_names(&err, SB_ERR_BAD_REQUEST, "login");
    json_decref(stored);
}

/* --- views --- */

static void test_settings_view_has_everything_but_password_hash(void **state)
{
    json_t *stored = stored_user();
    json_t *view = users_settings_view(stored);
    json_t *want = json_deep_copy(stored);
    (void)state;

    assert_non_null(json_object_get(stored, "passwordHash"));
    assert_null(json_object_get(view, "passwordHash"));
    assert_null(json_object_get(view, "password"));
    json_object_del(want, "passwordHash");
    /* preferences are served with every DSSUserPreferences key (stored ones win) */
    json_object_set_new(want, "preferences",
                        users_preferences_with_defaults(json_object_get(stored, "preferences")));
    assert_json_eq(view, want);
    assert_int_equal(json_object_size(view), json_object_size(stored) - 1);
    /* the record itself still has its hash */
    assert_non_null(json_object_get(stored, "passwordHash"));
    assert_int_equal(view->refcount, 1);
    json_decref(want);
    json_decref(view);
    json_decref(stored);
}

static void test_preferences_defaults_fill_every_key_and_keep_stored_values(void **state)
{
    json_t *given = json_pack("{s:s, s:b, s:i}", "uiLanguage", "fr", "mentionEmails", 0, "x", 7);
    json_t *out = users_preferences_with_defaults(given);
    json_t *empty = users_preferences_with_defaults(NULL);
    (void)state;

    assert_string_equal(json_string_value(json_object_get(out, "uiLanguage")), "fr");
    assert_true(json_is_false(json_object_get(out, "mentionEmails")));
    assert_int_equal(json_integer_value(json_object_get(out, "x")), 7);
    assert_string_equal(json_string_value(json_object_get(empty, "uiLanguage")), "en");
    /* uiLanguage and the 21 flags DSSUserPreferences reads */
    assert_int_equal(json_object_size(empty), 22);
    assert_true(json_is_true(json_object_get(empty, "scenarioRunNotifications")));
    assert_true(json_is_true(json_object_get(out, "dailyDigestsEmails")));
    assert_int_equal(json_object_size(given), 3); /* not modified */
    json_decref(given);
    json_decref(out);
    json_decref(empty);
}

static void test_info_views_show_only_the_short_profile(void **state)
{
    json_t *user = js("{'login':'ana','displayName':'Ana','email':'a@x','groups':['g'],"
                      "'enabled':true,'passwordHash':'h','credentials':{'c':{}},"
                      "'secrets':[],'adminProperties':{'k':1},'sourceType':'LOCAL',"
                      "'userProfile':'DATA_SCIENTIST','preferences':{}}");
    json_t *group = js("{'name':'g','description':'d','sourceType':'LOCAL','admin':true}");
    json_t *uv = users_info_view(user), *gv = groups_info_view(group);
    json_t *want_u = js("{'login':'ana','displayName':'Ana','email':'a@x','groups':['g'],"
                        "'enabled':true,'sourceType':'LOCAL','userProfile':'DATA_SCIENTIST'}");
    json_t *want_g = js("{'name':'g','description':'d','sourceType':'LOCAL'}");
    (void)state;

    assert_json_eq(uv, want_u);
    assert_json_eq(gv, want_g);
    json_decref(user);
    json_decref(group);
    json_decref(uv);
    json_decref(gv);
    json_decref(want_u);
    json_decref(want_g);
}

static void test_authorization_matrix_from_groups_users_and_connections(void **state)
{
    json_t *users = js("[{'login':'ana','groups':['team'],'enabled':true},"
                       "{'login':'boss','groups':['admins']},"
                       "{'login':'off','groups':['team'],'enabled':false},"
                       "{'login':'solo','groups':[]}]");
    json_t *groups = js("[{'name':'team','admin':false},{'name':'admins','admin':true}]");
    json_t *conns = js("{'open':{'usableBy':'ALL','detailsReadability':{'readableBy':'ALL'}},"
                       "'closed':{'usableBy':'ALLOWED','allowedGroups':['team'],"
                       "'detailsReadability':{'readableBy':'ALLOWED','allowedGroups':['other']}}}");
    json_t *m = users_authorization_matrix(users, groups, conns);
    json_t *want =
        js("{'perGroup':{"
           "'team':{'globalPermissions':{'admin':false},'connections':{"
           "'open':{'use':true,'readDetails':true},'closed':{'use':true,'readDetails':false}}},"
           "'admins':{'globalPermissions':{'admin':true},'connections':{"
           "'open':{'use':true,'readDetails':true},'closed':{'use':true,'readDetails':true}}}},"
           "'perUser':{"
           "'ana':{'groups':['team'],'globalPermissions':{'admin':false},'connections':{"
           "'open':{'use':true,'readDetails':true},'closed':{'use':true,'readDetails':false}}},"
           "'boss':{'groups':['admins'],'globalPermissions':{'admin':true},'connections':{"
           "'open':{'use':true,'readDetails':true},'closed':{'use':true,'readDetails':true}}},"
           "'solo':{'groups':[],'globalPermissions':{'admin':false},'connections':{"
           "'open':{'use':true,'readDetails':true},'closed':{'use':false,'readDetails':false}}}}}");
    (void)state;

    assert_json_eq(m, want);
    json_decref(users);
    json_decref(groups);
    json_decref(conns);
    json_decref(m);
    json_decref(want);
}

static void test_list_view_has_exactly_the_list_fields(void **state)
{
    static const char *const keys[] = {"login",   "displayName",  "email",
                                       "groups",  "sourceType",   "userProfile",
                                       "enabled", "creationDate", NULL};
    json_t *stored = stored_user();
    json_t *view = users_list_view(stored);
    (void)state;

    assert_int_equal(json_object_size(view), 8);
    for (const char *const *k = keys; *k; k++) {
        if (!json_object_get(view, *k))
            fail_msg("list view lacks '%s'", *k);
        assert_json_eq(json_object_get(view, *k), json_object_get(stored, *k));
    }
    assert_null(json_object_get(view, "passwordHash"));
    assert_null(json_object_get(view, "credentials"));
    assert_null(json_object_get(view, "secrets"));
    assert_null(json_object_get(view, "adminProperties"));
    assert_int_equal(view->refcount, 1);
    json_decref(view);
    json_decref(stored);
}

static void test_list_view_of_sparse_record_has_only_present_fields(void **state)
{
    json_t *rec = js("{'login':'x','email':'e','passwordHash':'h','preferences':{}}");
    json_t *view = users_list_view(rec);
    json_t *want = js("{'login':'x','email':'e'}");
    (void)state;

    assert_json_eq(view, want);
    json_decref(want);
    json_decref(view);
    json_decref(rec);
}

/* --- groups --- */

static json_t *group_create_ok(const char *body_text)
{
    json_t *body = js(body_text), *out = NULL;
    struct sb_err err;

    sb_err_clear(&err);
    if (groups_prepare_create(body, &out, &err) != SB_OK)
        fail_msg("group create of %s failed: %s", body_text, err.msg);
    assert_non_null(out);
    assert_int_equal(out->refcount, 1);
    json_decref(body);
    return out;
}

static void assert_group_create_rejected(const char *body_text, const char *field)
{
    json_t *body = js(body_text), *out = NULL;
    struct sb_err err;

    sb_err_clear(&err);
    if (groups_prepare_create(body, &out, &err) != SB_ERR_BAD_REQUEST)
        fail_msg("group create of %s: expected SB_ERR_BAD_REQUEST, got %d (%s)", body_text,
                 err.kind, err.msg);
    assert_err_names(&err, SB_ERR_BAD_REQUEST, field);
    assert_null(out);
    json_decref(body);
}

static void test_group_create_minimal_gets_defaults(void **state)
{
    json_t *rec = group_create_ok("{'name':'ops'}");
    json_t *want = js("{'name':'ops','description':'','sourceType':'LOCAL','admin':false}");
    (void)state;

    assert_json_eq(rec, want);
    json_decref(want);
    json_decref(rec);

    rec = group_create_ok("{'name':'ops','description':null,'sourceType':null,'admin':null}");
    want = js("{'name':'ops','description':'','sourceType':'LOCAL','admin':false}");
    assert_json_eq(rec, want);
    json_decref(want);
    json_decref(rec);
}

static void test_group_create_keeps_given_values(void **state)
{
    json_t *rec = group_create_ok(
        "{'name':'admins','description':'The admins','sourceType':'LDAP','admin':true}");
    json_t *want = js("{'name':'admins','description':'The admins','sourceType':'LDAP',"
                      "'admin':true}");
    (void)state;

    assert_json_eq(rec, want);
    json_decref(want);
    json_decref(rec);
}

static void test_group_create_errors(void **state)
{
    static const char *const bodies[] = {"[]", "'ops'", "null", NULL};
    (void)state;

    assert_group_create_rejected("{}", "name");
    assert_group_create_rejected("{'name':null}", "name");
    assert_group_create_rejected("{'name':1}", "name");
    assert_group_create_rejected("{'name':''}", "name");
    assert_group_create_rejected("{'name':'.ops'}", "name");
    assert_group_create_rejected("{'name':'o p s'}", "name");
    assert_group_create_rejected("{'name':'ops','description':1}", "description");
    assert_group_create_rejected("{'name':'ops','sourceType':true}", "sourceType");
    assert_group_create_rejected("{'name':'ops','admin':'yes'}", "admin");
    assert_group_create_rejected("{'name':'ops','admin':1}", "admin");
    for (const char *const *b = bodies; *b; b++) {
        json_t *body = js(*b), *out = NULL;
        struct sb_err err;

        sb_err_clear(&err);
        assert_int_equal(groups_prepare_create(body, &out, &err), SB_ERR_BAD_REQUEST);
        assert_null(out);
        json_decref(body);
    }
}

static enum sb_err_kind group_update(const json_t *stored, const char *body_text, json_t **out,
                                     struct sb_err *err)
{
    json_t *body = js(body_text);
    enum sb_err_kind kind;

    *out = NULL;
    sb_err_clear(err);
    kind = groups_prepare_update(stored, body, "ops", out, err);
    json_decref(body);
    return kind;
}

static void test_group_update_with_name_mismatch_is_bad_request(void **state)
{
    json_t *stored = group_create_ok("{'name':'ops','description':'d','admin':true}");
    json_t *out;
    struct sb_err err;
    (void)state;

    assert_int_equal(group_update(stored, "{'name':'dev'}", &out, &err), SB_ERR_BAD_REQUEST);
    assert_err_names(&err, SB_ERR_BAD_REQUEST, "name");
    assert_null(out);
    assert_int_equal(group_update(stored, "{'name':7}", &out, &err), SB_ERR_BAD_REQUEST);
    assert_err_names(&err, SB_ERR_BAD_REQUEST, "name");
    assert_null(out);
    json_decref(stored);
}

static void test_group_update_keeps_absent_fields(void **state)
{
    json_t *stored =
        group_create_ok("{'name':'ops','description':'d','sourceType':'LDAP','admin':true}");
    json_t *out;
    struct sb_err err;
    (void)state;

    assert_int_equal(group_update(stored, "{}", &out, &err), SB_OK);
    assert_json_eq(out, stored);
    json_decref(out);
    assert_int_equal(group_update(stored, "{'name':'ops','description':null}", &out, &err), SB_OK);
    assert_json_eq(out, stored);
    json_decref(out);
    json_decref(stored);
}

static void test_group_update_replaces_given_fields(void **state)
{
    json_t *stored =
        group_create_ok("{'name':'ops','description':'d','sourceType':'LDAP','admin':true}");
    json_t *want = js("{'name':'ops','description':'new','sourceType':'LDAP','admin':false}");
    json_t *out;
    struct sb_err err;
    (void)state;

    assert_int_equal(group_update(stored, "{'description':'new','admin':false}", &out, &err),
                     SB_OK);
    assert_json_eq(out, want);
    assert_int_equal(out->refcount, 1);
    json_decref(out);
    json_decref(want);
    json_decref(stored);
}

static void test_group_update_with_wrong_types_is_bad_request(void **state)
{
    json_t *stored = group_create_ok("{'name':'ops'}");
    json_t *out;
    struct sb_err err;
    (void)state;

    assert_int_equal(group_update(stored, "{'description':[]}", &out, &err), SB_ERR_BAD_REQUEST);
    assert_err_names(&err, SB_ERR_BAD_REQUEST, "description");
    assert_int_equal(group_update(stored, "{'admin':'true'}", &out, &err), SB_ERR_BAD_REQUEST);
    assert_err_names(&err, SB_ERR_BAD_REQUEST, "admin");
    assert_int_equal(group_update(stored, "{'sourceType':0}", &out, &err), SB_ERR_BAD_REQUEST);
    assert_err_names(&err, SB_ERR_BAD_REQUEST, "sourceType");
    assert_int_equal(group_update(stored, "[]", &out, &err), SB_ERR_BAD_REQUEST);
    assert_null(out);
    json_decref(stored);
}

static void test_group_update_does_not_modify_stored(void **state)
{
    json_t *stored = group_create_ok("{'name':'ops','description':'d'}");
    char *before = dump(stored), *after;
    json_t *out;
    struct sb_err err;
    (void)state;

    assert_int_equal(group_update(stored, "{'description':'x','admin':true}", &out, &err), SB_OK);
    after = dump(stored);
    assert_string_equal(before, after);
    assert_int_equal(stored->refcount, 1);
    free(after);
    free(before);
    json_decref(out);
    json_decref(stored);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_validate_id_accepts_allowed_characters),
        cmocka_unit_test(test_validate_id_accepts_128_and_rejects_129_characters),
        cmocka_unit_test(test_validate_id_rejects_bad_ids_naming_what),
        cmocka_unit_test(test_validate_id_message_is_ascii_and_bounded),
        cmocka_unit_test(test_create_minimal_body_gets_every_default),
        cmocka_unit_test(test_create_keeps_given_values),
        cmocka_unit_test(test_create_null_fields_mean_absent),
        cmocka_unit_test(test_create_hashes_password_and_removes_plaintext),
        cmocka_unit_test(test_create_hashes_unicode_password),
        cmocka_unit_test(test_create_same_password_gets_different_hashes),
        cmocka_unit_test(test_create_with_empty_password_sets_no_hash),
        cmocka_unit_test(test_create_ignores_client_sent_password_hash),
        cmocka_unit_test(test_create_ignores_client_sent_creation_date),
        cmocka_unit_test(test_create_with_wrong_types_is_bad_request_naming_field),
        cmocka_unit_test(test_create_accepts_null_credential_entry),
        cmocka_unit_test(test_create_without_login_is_bad_request),
        cmocka_unit_test(test_create_with_invalid_login_is_bad_request),
        cmocka_unit_test(test_create_with_non_object_body_is_bad_request),
        cmocka_unit_test(test_create_does_not_modify_body),
        cmocka_unit_test(test_admin_update_replaces_settings_and_keeps_password),
        cmocka_unit_test(test_admin_update_with_new_password_rehashes),
        cmocka_unit_test(test_admin_update_with_empty_or_null_password_keeps_hash),
        cmocka_unit_test(test_admin_update_ignores_client_sent_password_hash),
        cmocka_unit_test(test_admin_update_keeps_creation_date),
        cmocka_unit_test(test_admin_update_with_login_mismatch_is_bad_request),
        cmocka_unit_test(test_admin_update_with_same_or_absent_login_is_accepted),
        cmocka_unit_test(test_admin_update_absent_settings_are_kept_from_stored),
        cmocka_unit_test(test_admin_update_with_wrong_types_is_bad_request_naming_field),
        cmocka_unit_test(test_update_with_non_object_body_is_bad_request),
        cmocka_unit_test(test_update_does_not_modify_body_or_stored),
        cmocka_unit_test(test_self_update_changing_fixed_fields_is_forbidden),
        cmocka_unit_test(test_self_update_sending_fixed_fields_unchanged_is_fine),
        cmocka_unit_test(test_self_update_changes_own_settings),
        cmocka_unit_test(test_self_update_ignores_other_fields),
        cmocka_unit_test(test_self_update_with_absent_fields_keeps_stored),
        cmocka_unit_test(test_self_update_with_password_rehashes),
        cmocka_unit_test(test_self_update_with_login_mismatch_is_bad_request),
        cmocka_unit_test(test_settings_view_has_everything_but_password_hash),
        cmocka_unit_test(test_preferences_defaults_fill_every_key_and_keep_stored_values),
        cmocka_unit_test(test_info_views_show_only_the_short_profile),
        cmocka_unit_test(test_authorization_matrix_from_groups_users_and_connections),
        cmocka_unit_test(test_list_view_has_exactly_the_list_fields),
        cmocka_unit_test(test_list_view_of_sparse_record_has_only_present_fields),
        cmocka_unit_test(test_group_create_minimal_gets_defaults),
        cmocka_unit_test(test_group_create_keeps_given_values),
        cmocka_unit_test(test_group_create_errors),
        cmocka_unit_test(test_group_update_with_name_mismatch_is_bad_request),
        cmocka_unit_test(test_group_update_keeps_absent_fields),
        cmocka_unit_test(test_group_update_replaces_given_fields),
        cmocka_unit_test(test_group_update_with_wrong_types_is_bad_request),
        cmocka_unit_test(test_group_update_does_not_modify_stored),
    };

    if (sodium_init() < 0) {
        fputs("cannot initialise libsodium\n", stderr);
        return 1;
    }
    return cmocka_run_group_tests(tests, NULL, NULL);
}
