/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of src/core/types.c, the connection type registry (docs/API.md §4.6): the types it
 * knows, their required params and defaults, the 400s of types_apply and types_unknown, the
 * JSON served by GET /connection-types, that every registry secret is sealed by
 * src/core/secrets.c, the testers, and how src/core/conn.c uses the registry (credential
 * shape, create and update). Every json_t is released so that the leak detector at exit also
 * checks the reference counting of the code under test. */
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
#include "core/secrets.h"
#include "core/types.h"

#define NOW_MS INT64_C(1700000000123)
#define LATER_MS INT64_C(1700000999456)

/* The types docs/API.md §4.6 requires, with the params each one requires (comma-separated, in
 * registry order; "" for none). */
static const struct {
    const char *type;
    const char *required;
} spec_types[] = {
    {"Filesystem", "root"},
    {"HDFS", "root"},
    {"PostgreSQL", "host"},
    {"MySql", "host"},
    {"SQLServer", "host"},
    {"Oracle", "host"},
    {"Snowflake", "host"},
    {"Redshift", "host"},
    {"BigQuery", "projectId"},
    {"Greenplum", "host"},
    {"Vertica", "host"},
    {"Teradata", "host"},
    {"Databricks", "host,httpPath"},
    {"EC2", ""},
    {"Azure", "storageAccount"},
    {"GCS", "projectId"},
    {"FTP", "host"},
    {"SFTP", "host"},
    {"HTTP", "url"},
    {"MongoDB", "host"},
    {"Cassandra", "hosts"},
    {"ElasticSearch", "host"},
    {"Kafka", "bootstrapServers"},
};

#define N_SPEC_TYPES (sizeof(spec_types) / sizeof(spec_types[0]))

/* Asserts that member KEY of OBJ equals the JSON value written in TEXT. */
static void assert_member(const json_t *obj, const char *key, const char *text)
{
    json_t *want = js(text);
    json_t *got = json_object_get(obj, key);

    if (!got) {
        json_decref(want);
        fail_msg("member '%s' is missing", key);
    }
    assert_json_eq(got, want);
    json_decref(want);
}

/* The registry entry for NAME, failing the test when there is none. */
static const struct conn_type *must_find(const char *name)
{
    const struct conn_type *t = types_find(name);

    if (!t)
        fail_msg("type '%s' is not in the registry", name);
    return t;
}

static const struct type_param *find_param(const struct conn_type *t, const char *name)
{
    for (const struct type_param *p = t->params; p->name; p++)
        if (strcmp(p->name, name) == 0)
            return p;
    return NULL;
}

/* Params of T with every required param set to a non-empty string, except SKIP (may be NULL).
 * New reference. */
static json_t *required_params_but(const struct conn_type *t, const char *skip)
{
    json_t *params = json_object();

    for (const struct type_param *p = t->params; p->name; p++)
        if (p->required && (!skip || strcmp(p->name, skip) != 0))
            json_object_set_new(params, p->name, json_string("given"));
    return params;
}

/* Asserts that ERR is the 400 of types_apply for param NAME of type TYPE_NAME. */
static void assert_required_error(const struct sb_err *err, const char *type_name, const char *name)
{
    char want[256];

    assert_int_equal(err->kind, SB_ERR_BAD_REQUEST);
    snprintf(want, sizeof(want),
             "Field 'params.%s' is required for a %s connection (a non-empty string).", name,
             type_name);
    assert_string_equal(err->msg, want);
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

/* Creates from BODY_TEXT expecting a 400; the message is left in ERR. BODY is not modified. */
static void create_rejected(const char *body_text, struct sb_err *err)
{
    json_t *body = js(body_text), *out = NULL;
    char *before = dump(body), *after;
    enum sb_err_kind kind;

    sb_err_clear(err);
    kind = conn_prepare_create(body, "alice", NOW_MS, true, &out, err);
    after = dump(body);
    json_decref(body);
    if (kind != SB_ERR_BAD_REQUEST || err->kind != SB_ERR_BAD_REQUEST || out) {
        json_decref(out);
        free(before);
        free(after);
        fail_msg("create of %s: expected SB_ERR_BAD_REQUEST, got %d (%s)", body_text, kind,
                 err->msg);
    }
    assert_string_equal(before, after);
    free(before);
    free(after);
}

/* --- the types of docs/API.md §4.6 --- */

static void test_every_type_of_the_spec_is_registered(void **state)
{
    (void)state;

    for (size_t i = 0; i < N_SPEC_TYPES; i++) {
        const struct conn_type *t = must_find(spec_types[i].type);
        assert_string_equal(t->name, spec_types[i].type);
        assert_non_null(t->params);
    }
    assert_true(types_count() >= (int)N_SPEC_TYPES);
}

static void test_types_at_walks_the_registry_without_duplicates(void **state)
{
    (void)state;

    for (int i = 0; i < types_count(); i++) {
        const struct conn_type *t = types_at(i);
        assert_non_null(t);
        assert_non_null(t->name);
        assert_true(strlen(t->name) > 0);
        assert_ptr_equal(types_find(t->name), t);
        for (int j = 0; j < i; j++)
            if (strcmp(types_at(j)->name, t->name) == 0)
                fail_msg("type '%s' is registered twice", t->name);
    }
}

static void test_each_type_requires_exactly_its_spec_params(void **state)
{
    (void)state;

    for (size_t i = 0; i < N_SPEC_TYPES; i++) {
        const struct conn_type *t = must_find(spec_types[i].type);
        char got[256] = "";
        for (const struct type_param *p = t->params; p->name; p++) {
            if (!p->required)
                continue;
            if (got[0])
                strncat(got, ",", sizeof(got) - strlen(got) - 1);
            strncat(got, p->name, sizeof(got) - strlen(got) - 1);
        }
        if (strcmp(got, spec_types[i].required) != 0)
            fail_msg("type %s requires '%s', expected '%s'", t->name, got, spec_types[i].required);
    }
}

static void test_params_are_well_formed(void **state)
{
    (void)state;

    for (int i = 0; i < types_count(); i++) {
        const struct conn_type *t = types_at(i);
        for (const struct type_param *p = t->params; p->name; p++) {
            assert_true(strlen(p->name) > 0);
            /* a default is a non-empty string, as DSS stores params */
            if (p->def && !p->def[0])
                fail_msg("%s.%s has an empty default", t->name, p->name);
            /* a required param is always given, so a default for it would never apply */
            if (p->required && p->def)
                fail_msg("%s.%s is required and has a default", t->name, p->name);
            /* a secret is never defaulted (the default would be a plaintext in the code) */
            if (p->secret && p->def)
                fail_msg("%s.%s is secret and has a default", t->name, p->name);
            for (const struct type_param *q = t->params; q != p; q++)
                if (strcmp(q->name, p->name) == 0)
                    fail_msg("%s declares param %s twice", t->name, p->name);
        }
    }
}

static void test_defaults_are_the_usual_ports_as_strings(void **state)
{
    static const struct {
        const char *type, *param, *def;
    } cases[] = {
        {"PostgreSQL", "port", "5432"},
        {"MySql", "port", "3306"},
        {"SQLServer", "port", "1433"},
        {"Oracle", "port", "1521"},
        {"Redshift", "port", "5439"},
        {"Greenplum", "port", "5432"},
        {"Vertica", "port", "5433"},
        {"Teradata", "port", "1025"},
        {"Databricks", "port", "443"},
        {"FTP", "port", "21"},
        {"SFTP", "port", "22"},
        {"MongoDB", "port", "27017"},
        {"Cassandra", "port", "9042"},
        {"ElasticSearch", "port", "9200"},
        {"ElasticSearch", "protocol", "http"},
    };
    (void)state;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct type_param *p = find_param(must_find(cases[i].type), cases[i].param);
        if (!p)
            fail_msg("%s has no param %s", cases[i].type, cases[i].param);
        if (!p->def || strcmp(p->def, cases[i].def) != 0)
            fail_msg("%s.%s defaults to %s, expected \"%s\"", cases[i].type, cases[i].param,
                     p->def ? p->def : "nothing", cases[i].def);
        assert_false(p->required);
    }
}

static void test_ec2_requires_nothing_and_has_no_defaults(void **state)
{
    const struct conn_type *t = must_find("EC2");
    (void)state;

    for (const struct type_param *p = t->params; p->name; p++) {
        assert_false(p->required);
        assert_null(p->def);
    }
    assert_non_null(find_param(t, "accessKey"));
    assert_true(find_param(t, "secretKey") && find_param(t, "secretKey")->secret);
}

/* --- types_find --- */

static void test_find_is_exact_and_case_sensitive(void **state)
{
    static const char *const misses[] = {
        "postgresql",  "POSTGRESQL", "Postgresql", "PostgreSQL ", " PostgreSQL", "Postgre",
        "PostgreSQLX", "MySQL",      "mysql",      "filesystem",  "ec2",         "Http",
        "S3",          "",           "T",
    };
    (void)state;

    for (size_t i = 0; i < sizeof(misses) / sizeof(misses[0]); i++)
        if (types_find(misses[i]))
            fail_msg("types_find('%s') found a type", misses[i]);
    assert_string_equal(must_find("PostgreSQL")->name, "PostgreSQL");
    assert_string_equal(must_find("MySql")->name, "MySql");
}

/* --- types_apply --- */

static void test_apply_missing_required_param_is_bad_request_naming_it(void **state)
{
    json_t *params = js("{'port':'5432','user':'u'}");
    char *before = dump(params), *after;
    struct sb_err err;
    (void)state;

    sb_err_clear(&err);
    assert_int_equal(types_apply(must_find("PostgreSQL"), params, &err), SB_ERR_BAD_REQUEST);
    assert_required_error(&err, "PostgreSQL", "host");
    after = dump(params);
    assert_string_equal(before, after);
    free(after);
    free(before);
    json_decref(params);
}

static void test_apply_empty_required_param_is_bad_request(void **state)
{
    json_t *params = js("{'host':''}");
    struct sb_err err;
    (void)state;

    sb_err_clear(&err);
    assert_int_equal(types_apply(must_find("MySql"), params, &err), SB_ERR_BAD_REQUEST);
    assert_required_error(&err, "MySql", "host");
    json_decref(params);
}

static void test_apply_non_string_required_param_is_bad_request(void **state)
{
    static const char *const values[] = {"5",      "true", "false",      "null", "[]",
                                         "['db']", "{}",   "{'h':'db'}", "1.5"};
    (void)state;

    for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
        json_t *params = json_object();
        struct sb_err err;
        json_object_set_new(params, "root", js(values[i]));
        sb_err_clear(&err);
        if (types_apply(must_find("Filesystem"), params, &err) != SB_ERR_BAD_REQUEST)
            fail_msg("root = %s was accepted", values[i]);
        assert_required_error(&err, "Filesystem", "root");
        json_decref(params);
    }
}

/* For every type and each of its required params: all the others given, that one missing,
 * empty or not a string is the 400 naming it. */
static void test_apply_checks_every_required_param_of_every_type(void **state)
{
    (void)state;

    for (int i = 0; i < types_count(); i++) {
        const struct conn_type *t = types_at(i);
        for (const struct type_param *p = t->params; p->name; p++) {
            json_t *bad[3];
            if (!p->required)
                continue;
            bad[0] = NULL;
            bad[1] = json_string("");
            bad[2] = json_integer(1);
            for (int k = 0; k < 3; k++) {
                json_t *params = required_params_but(t, p->name);
                struct sb_err err;
                if (bad[k])
                    json_object_set_new(params, p->name, bad[k]);
                sb_err_clear(&err);
                if (types_apply(t, params, &err) != SB_ERR_BAD_REQUEST)
                    fail_msg("%s without a valid %s (case %d) was accepted", t->name, p->name, k);
                assert_required_error(&err, t->name, p->name);
                json_decref(params);
            }
        }
    }
}

/* For every type: the required params given, every default is added as its string. */
static void test_apply_adds_every_default_of_every_type(void **state)
{
    (void)state;

    for (int i = 0; i < types_count(); i++) {
        const struct conn_type *t = types_at(i);
        json_t *params = required_params_but(t, NULL);
        size_t want_size = json_object_size(params);
        struct sb_err err;

        sb_err_clear(&err);
        if (types_apply(t, params, &err) != SB_OK)
            fail_msg("%s with its required params: %s", t->name, err.msg);
        assert_int_equal(err.kind, SB_OK);
        for (const struct type_param *p = t->params; p->name; p++) {
            json_t *v = json_object_get(params, p->name);
            if (p->required) {
                assert_string_equal(json_string_value(v), "given");
            } else if (p->def) {
                want_size++;
                if (!json_is_string(v) || strcmp(json_string_value(v), p->def) != 0)
                    fail_msg("%s.%s did not get its default \"%s\"", t->name, p->name, p->def);
            } else {
                assert_null(v);
            }
        }
        assert_int_equal(json_object_size(params), want_size);
        assert_int_equal(params->refcount, 1);
        json_decref(params);
    }
}

static void test_apply_defaults_postgresql_and_mysql_ports(void **state)
{
    json_t *pg = js("{'host':'db'}"), *my = js("{'host':'db','db':'x'}");
    struct sb_err err;
    (void)state;

    sb_err_clear(&err);
    assert_int_equal(types_apply(must_find("PostgreSQL"), pg, &err), SB_OK);
    assert_member(pg, "port", "'5432'");
    assert_int_equal(json_object_size(pg), 2);
    assert_int_equal(types_apply(must_find("MySql"), my, &err), SB_OK);
    assert_member(my, "port", "'3306'");
    assert_member(my, "db", "'x'");
    assert_int_equal(json_object_size(my), 3);
    json_decref(pg);
    json_decref(my);
}

static void test_apply_never_overwrites_a_given_value(void **state)
{
    static const char *const given[] = {"'6543'", "6543", "'0'", "{'x':1}", "false"};
    (void)state;

    for (size_t i = 0; i < sizeof(given) / sizeof(given[0]); i++) {
        json_t *params = js("{'host':'db'}");
        json_t *want = js(given[i]);
        struct sb_err err;
        json_object_set(params, "port", want);
        sb_err_clear(&err);
        assert_int_equal(types_apply(must_find("PostgreSQL"), params, &err), SB_OK);
        assert_json_eq(json_object_get(params, "port"), want);
        assert_int_equal(json_object_size(params), 2);
        json_decref(want);
        json_decref(params);
    }
}

static void test_apply_keeps_params_the_registry_does_not_know(void **state)
{
    json_t *params = js("{'host':'db','custom':{'a':[1]},'properties':[{'name':'ssl'}]}");
    struct sb_err err;
    (void)state;

    sb_err_clear(&err);
    assert_int_equal(types_apply(must_find("PostgreSQL"), params, &err), SB_OK);
    assert_member(params, "custom", "{'a':[1]}");
    assert_member(params, "properties", "[{'name':'ssl'}]");
    assert_int_equal(json_object_size(params), 4);
    json_decref(params);
}

static void test_apply_on_a_type_without_params_rules_accepts_empty_params(void **state)
{
    json_t *params = json_object();
    struct sb_err err;
    (void)state;

    sb_err_clear(&err);
    assert_int_equal(types_apply(must_find("EC2"), params, &err), SB_OK);
    assert_int_equal(json_object_size(params), 0);
    assert_int_equal(err.kind, SB_OK);
    json_decref(params);
}

/* --- types_unknown --- */

static void assert_lists_every_type(const char *msg)
{
    for (int i = 0; i < types_count(); i++)
        if (!strstr(msg, types_at(i)->name))
            fail_msg("message does not list %s: %s", types_at(i)->name, msg);
}

static void test_unknown_is_bad_request_naming_type_and_listing_every_known_one(void **state)
{
    struct sb_err err;
    (void)state;

    sb_err_clear(&err);
    assert_int_equal(types_unknown("Postgres", &err), SB_ERR_BAD_REQUEST);
    assert_int_equal(err.kind, SB_ERR_BAD_REQUEST);
    assert_non_null(strstr(err.msg, "'type'"));
    assert_non_null(strstr(err.msg, "'Postgres'"));
    assert_lists_every_type(err.msg);
}

static void test_unknown_with_a_long_or_odd_name_still_lists_every_type(void **state)
{
    char long_name[1001];
    struct sb_err err;
    (void)state;

    memset(long_name, 'x', sizeof(long_name) - 1);
    long_name[sizeof(long_name) - 1] = '\0';
    sb_err_clear(&err);
    assert_int_equal(types_unknown(long_name, &err), SB_ERR_BAD_REQUEST);
    assert_lists_every_type(err.msg);
    assert_null(strstr(err.msg, long_name + 900)); /* echoed shortened, not whole */

    sb_err_clear(&err);
    assert_int_equal(types_unknown("caf\xc3\xa9\n\x01", &err), SB_ERR_BAD_REQUEST);
    assert_lists_every_type(err.msg);
    for (const char *p = err.msg; *p; p++)
        assert_true((unsigned char)*p >= 0x20 && (unsigned char)*p < 0x7f);
}

/* --- types_registry_json --- */

static const char *credential_text(enum type_credential c)
{
    switch (c) {
    case TYPE_CREDENTIAL_BASIC: return "basic";
    case TYPE_CREDENTIAL_AWS: return "aws";
    case TYPE_CREDENTIAL_NONE: return "none";
    }
    fail_msg("unknown credential %d", (int)c);
    return NULL;
}

static void test_registry_json_mirrors_the_registry(void **state)
{
    json_t *all = types_registry_json();
    (void)state;

    assert_non_null(all);
    assert_int_equal(all->refcount, 1);
    assert_true(json_is_array(all));
    assert_int_equal(json_array_size(all), (size_t)types_count());
    for (int i = 0; i < types_count(); i++) {
        const struct conn_type *t = types_at(i);
        json_t *entry = json_array_get(all, (size_t)i), *params;
        size_t n = 0;

        assert_true(json_is_object(entry));
        assert_int_equal(json_object_size(entry), 4);
        assert_string_equal(json_string_value(json_object_get(entry, "type")), t->name);
        assert_string_equal(json_string_value(json_object_get(entry, "credential")),
                            credential_text(t->credential));
        assert_true(json_is_boolean(json_object_get(entry, "testable")));
        assert_int_equal(json_is_true(json_object_get(entry, "testable")),
                         t->tester != TESTER_NONE);
        params = json_object_get(entry, "params");
        assert_true(json_is_array(params));
        for (const struct type_param *p = t->params; p->name; p++, n++) {
            json_t *jp = json_array_get(params, n), *def;
            assert_true(json_is_object(jp));
            assert_int_equal(json_object_size(jp), 4);
            assert_string_equal(json_string_value(json_object_get(jp, "name")), p->name);
            assert_true(json_is_boolean(json_object_get(jp, "required")));
            assert_int_equal(json_is_true(json_object_get(jp, "required")), p->required);
            assert_true(json_is_boolean(json_object_get(jp, "secret")));
            assert_int_equal(json_is_true(json_object_get(jp, "secret")), p->secret);
            def = json_object_get(jp, "default");
            assert_non_null(def); /* present, null when there is none */
            if (p->def)
                assert_string_equal(json_string_value(def), p->def);
            else
                assert_true(json_is_null(def));
        }
        assert_int_equal(json_array_size(params), n);
    }
    json_decref(all);
}

static json_t *registry_entry(json_t *all, const char *type)
{
    size_t i;
    json_t *entry;

    json_array_foreach (all, i, entry)
        if (strcmp(json_string_value(json_object_get(entry, "type")), type) == 0)
            return entry;
    fail_msg("no registry entry for %s", type);
    return NULL;
}

static void test_registry_json_examples(void **state)
{
    json_t *all = types_registry_json();
    json_t *pg = registry_entry(all, "PostgreSQL");
    json_t *pg_params = json_object_get(pg, "params");
    json_t *host = js("{'name':'host','required':true,'secret':false,'default':null}");
    json_t *port = js("{'name':'port','required':false,'secret':false,'default':'5432'}");
    json_t *password = js("{'name':'password','required':false,'secret':true,'default':null}");
    size_t i;
    json_t *p;
    int seen = 0;
    (void)state;

    assert_member(pg, "credential", "'basic'");
    assert_member(pg, "testable", "true");
    json_array_foreach (pg_params, i, p) {
        const char *name = json_string_value(json_object_get(p, "name"));
        if (strcmp(name, "host") == 0)
            assert_json_eq(p, host), seen++;
        else if (strcmp(name, "port") == 0)
            assert_json_eq(p, port), seen++;
        else if (strcmp(name, "password") == 0)
            assert_json_eq(p, password), seen++;
    }
    assert_int_equal(seen, 3);
    json_decref(host);
    json_decref(port);
    json_decref(password);
    assert_member(registry_entry(all, "EC2"), "credential", "'aws'");
    assert_member(registry_entry(all, "EC2"), "testable", "false");
    assert_member(registry_entry(all, "Filesystem"), "credential", "'none'");
    assert_member(registry_entry(all, "Filesystem"), "testable", "true");
    assert_member(registry_entry(all, "Filesystem"), "params",
                  "[{'name':'root','required':true,'secret':false,'default':null}]");
    json_decref(all);
}

/* --- secrets: every registry secret is sealed at rest --- */

static void test_every_registry_secret_is_a_secret_param_of_secrets_c(void **state)
{
    int n_secrets = 0;
    (void)state;

    for (int i = 0; i < types_count(); i++) {
        const struct conn_type *t = types_at(i);
        for (const struct type_param *p = t->params; p->name; p++) {
            if (!p->secret)
                continue;
            n_secrets++;
            if (!secrets_is_secret_param(p->name))
                fail_msg("%s.%s is secret in the registry but secrets.c would store it in "
                         "plaintext",
                         t->name, p->name);
        }
    }
    assert_true(n_secrets > 0);
    assert_true(find_param(must_find("PostgreSQL"), "password")->secret);
    assert_true(find_param(must_find("Azure"), "accountKey")->secret);
    assert_true(find_param(must_find("EC2"), "sessionToken")->secret);
}

/* --- testers --- */

static void test_spec_testers_are_registered(void **state)
{
    static const struct {
        const char *type;
        enum type_tester tester;
        const char *scheme;
    } cases[] = {
        {"Filesystem", TESTER_FS, NULL}, {"PostgreSQL", TESTER_PG, NULL},
        {"MySql", TESTER_MYSQL, NULL},   {"HTTP", TESTER_CURL, "http"},
        {"FTP", TESTER_CURL, "ftp"},     {"SFTP", TESTER_CURL, "sftp"},
    };
    (void)state;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct conn_type *t = must_find(cases[i].type);
        if (t->tester != cases[i].tester)
            fail_msg("%s has tester %d, expected %d", t->name, (int)t->tester,
                     (int)cases[i].tester);
        if (cases[i].scheme) {
            assert_non_null(t->scheme);
            assert_string_equal(t->scheme, cases[i].scheme);
        }
    }
}

static void test_every_curl_tester_has_a_scheme(void **state)
{
    (void)state;

    for (int i = 0; i < types_count(); i++) {
        const struct conn_type *t = types_at(i);
        if (t->tester != TESTER_CURL)
            continue;
        if (!t->scheme || (strcmp(t->scheme, "http") != 0 && strcmp(t->scheme, "ftp") != 0 &&
                           strcmp(t->scheme, "sftp") != 0))
            fail_msg("%s is tested by curl without a known scheme", t->name);
    }
}

/* --- conn_credential_shape --- */

static enum conn_credential shape_of(const char *def_text)
{
    json_t *def = js(def_text);
    enum conn_credential c = conn_credential_shape(def);

    json_decref(def);
    return c;
}

static void test_credential_shape_follows_the_registry(void **state)
{
    (void)state;

    assert_int_equal(shape_of("{'type':'PostgreSQL','params':{'host':'h'}}"),
                     CONN_CREDENTIAL_BASIC);
    assert_int_equal(shape_of("{'type':'MySql','params':{}}"), CONN_CREDENTIAL_BASIC);
    assert_int_equal(shape_of("{'type':'EC2','params':{}}"), CONN_CREDENTIAL_AWS);
    assert_int_equal(shape_of("{'type':'EC2'}"), CONN_CREDENTIAL_AWS);
    assert_int_equal(shape_of("{'type':'Filesystem','params':{'root':'/'}}"), CONN_CREDENTIAL_NONE);
    /* the registry wins over what the params look like */
    assert_int_equal(shape_of("{'type':'Filesystem','params':{'user':'u','password':'p'}}"),
                     CONN_CREDENTIAL_NONE);
    assert_int_equal(shape_of("{'type':'Filesystem','params':{'accessKey':'a'}}"),
                     CONN_CREDENTIAL_NONE);
    assert_int_equal(shape_of("{'type':'EC2','params':{'user':'u'}}"), CONN_CREDENTIAL_AWS);
    assert_int_equal(shape_of("{'type':'PostgreSQL','params':{'secretKey':'s'}}"),
                     CONN_CREDENTIAL_BASIC);
}

static void test_credential_shape_of_every_type_is_its_registry_credential(void **state)
{
    (void)state;

    for (int i = 0; i < types_count(); i++) {
        const struct conn_type *t = types_at(i);
        json_t *def = json_pack("{s:s, s:{s:s, s:s}}", "type", t->name, "params", "accessKey", "a",
                                "user", "u");
        enum conn_credential want = t->credential == TYPE_CREDENTIAL_AWS     ? CONN_CREDENTIAL_AWS
                                    : t->credential == TYPE_CREDENTIAL_BASIC ? CONN_CREDENTIAL_BASIC
                                                                             : CONN_CREDENTIAL_NONE;
        if (conn_credential_shape(def) != want)
            fail_msg("credential shape of %s is not its registry credential", t->name);
        json_decref(def);
    }
}

static void test_credential_shape_of_unknown_type_uses_the_params(void **state)
{
    (void)state;

    assert_int_equal(shape_of("{'type':'LegacyS3','params':{'accessKey':'a'}}"),
                     CONN_CREDENTIAL_AWS);
    assert_int_equal(shape_of("{'type':'LegacyS3','params':{'secretKey':'s'}}"),
                     CONN_CREDENTIAL_AWS);
    assert_int_equal(shape_of("{'type':'LegacyDB','params':{'user':'u'}}"), CONN_CREDENTIAL_BASIC);
    assert_int_equal(shape_of("{'type':'LegacyDB','params':{'password':'p'}}"),
                     CONN_CREDENTIAL_BASIC);
    /* AWS names win over user/password */
    assert_int_equal(shape_of("{'type':'Legacy','params':{'user':'u','secretKey':'s'}}"),
                     CONN_CREDENTIAL_AWS);
    assert_int_equal(shape_of("{'type':'Legacy','params':{'host':'h'}}"), CONN_CREDENTIAL_NONE);
    assert_int_equal(shape_of("{'type':'Legacy','params':{}}"), CONN_CREDENTIAL_NONE);
    assert_int_equal(shape_of("{'type':'Legacy'}"), CONN_CREDENTIAL_NONE);
    /* lookup is exact: a miscased registry name is an unknown type */
    assert_int_equal(shape_of("{'type':'postgresql','params':{}}"), CONN_CREDENTIAL_NONE);
    assert_int_equal(shape_of("{'type':'ec2','params':{'user':'u'}}"), CONN_CREDENTIAL_BASIC);
}

/* --- conn_prepare_create and conn_prepare_update use the registry --- */

static void test_create_with_unknown_type_is_bad_request_listing_known_types(void **state)
{
    static const char *const bodies[] = {
        "{'name':'a','type':'T'}",
        "{'name':'a','type':'postgresql','params':{'host':'db'}}",
        "{'name':'a','type':'MySQL','params':{'host':'db'}}",
        "{'name':'a','type':'S3','params':{}}",
    };
    (void)state;

    for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
        struct sb_err err;
        create_rejected(bodies[i], &err);
        assert_non_null(strstr(err.msg, "'type'"));
        assert_lists_every_type(err.msg);
    }
}

static void test_create_with_missing_required_param_is_bad_request_naming_it(void **state)
{
    static const struct {
        const char *body, *type, *param;
    } cases[] = {
        {"{'name':'a','type':'PostgreSQL'}", "PostgreSQL", "host"},
        {"{'name':'a','type':'PostgreSQL','params':{'port':'5432','db':'d'}}", "PostgreSQL",
         "host"},
        {"{'name':'a','type':'PostgreSQL','params':{'host':''}}", "PostgreSQL", "host"},
        {"{'name':'a','type':'PostgreSQL','params':{'host':null}}", "PostgreSQL", "host"},
        {"{'name':'a','type':'PostgreSQL','params':{'host':5}}", "PostgreSQL", "host"},
        {"{'name':'a','type':'Filesystem','params':null}", "Filesystem", "root"},
        {"{'name':'a','type':'HTTP','params':{'user':'u'}}", "HTTP", "url"},
        {"{'name':'a','type':'Databricks','params':{'host':'h'}}", "Databricks", "httpPath"},
        {"{'name':'a','type':'Kafka'}", "Kafka", "bootstrapServers"},
    };
    (void)state;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct sb_err err;
        create_rejected(cases[i].body, &err);
        assert_required_error(&err, cases[i].type, cases[i].param);
    }
}

static void test_create_applies_type_defaults_and_keeps_given_values(void **state)
{
    json_t *pg = create_ok("{'name':'a','type':'PostgreSQL','params':{'host':'db'}}");
    json_t *given = create_ok("{'name':'b','type':'PostgreSQL','params':{'host':'db',"
                              "'port':'6543'}}");
    json_t *my = create_ok("{'name':'c','type':'MySql','params':{'db':'mysql_test',"
                           "'host':'localhost','password':'admin','properties':[{'name':"
                           "'useSSL','value':'true'}],'user':'admin'}}");
    json_t *es = create_ok("{'name':'d','type':'ElasticSearch','params':{'host':'es'}}");
    (void)state;

    assert_member(pg, "params", "{'host':'db','port':'5432'}");
    assert_member(given, "params", "{'host':'db','port':'6543'}");
    /* the MySql example of the DSS guide */
    assert_member(my, "params",
                  "{'db':'mysql_test','host':'localhost','password':'admin','properties':"
                  "[{'name':'useSSL','value':'true'}],'user':'admin','port':'3306'}");
    assert_member(es, "params", "{'host':'es','port':'9200','protocol':'http'}");
    json_decref(pg);
    json_decref(given);
    json_decref(my);
    json_decref(es);
}

static void test_create_does_not_add_defaults_to_the_body(void **state)
{
    json_t *body = js("{'name':'a','type':'PostgreSQL','params':{'host':'db'}}");
    json_t *out = NULL;
    struct sb_err err;
    (void)state;

    sb_err_clear(&err);
    assert_int_equal(conn_prepare_create(body, "alice", NOW_MS, true, &out, &err), SB_OK);
    assert_member(body, "params", "{'host':'db'}");
    assert_member(out, "params", "{'host':'db','port':'5432'}");
    assert_ptr_not_equal(json_object_get(out, "params"), json_object_get(body, "params"));
    json_decref(out);
    assert_int_equal(body->refcount, 1);
    json_decref(body);
}

/* The registry check runs after the definition is built: failing there releases it all. */
static void test_create_failing_on_params_releases_every_reference_it_takes(void **state)
{
    json_t *body = js("{'name':'a','type':'Databricks','params':{'host':'h','x':[1]},"
                      "'allowedGroups':['g'],'extra':{'e':1}}");
    json_t *params = json_object_get(body, "params");
    json_t *groups = json_object_get(body, "allowedGroups");
    json_t *extra = json_object_get(body, "extra");
    json_t *out = NULL;
    struct sb_err err;
    (void)state;

    sb_err_clear(&err);
    assert_int_equal(conn_prepare_create(body, "alice", NOW_MS, true, &out, &err),
                     SB_ERR_BAD_REQUEST);
    assert_required_error(&err, "Databricks", "httpPath");
    assert_null(out);
    assert_int_equal(body->refcount, 1);
    assert_int_equal(params->refcount, 1);
    assert_int_equal(groups->refcount, 1);
    assert_int_equal(extra->refcount, 1);
    assert_member(body, "params", "{'host':'h','x':[1]}");
    json_decref(body);
}

/* without write guards (DSS): a definition with required params still to fill in is stored,
 * with the type's defaults; types_missing names what is missing */
static void test_create_without_guards_stores_missing_required_params(void **state)
{
    json_t *body = js("{'name':'pg','type':'PostgreSQL'}"), *out = NULL, *missing;
    struct sb_err err;
    (void)state;

    sb_err_clear(&err);
    assert_int_equal(conn_prepare_create(body, "alice", NOW_MS, false, &out, &err), SB_OK);
    assert_member(out, "params", "{'port':'5432'}");
    missing = types_missing(must_find("PostgreSQL"), json_object_get(out, "params"));
    {
        json_t *want = js("['host']");
        assert_json_eq(missing, want);
        json_decref(want);
    }
    json_decref(missing);
    json_decref(out);
    json_decref(body);

    body = js("{'name':'pg','type':'PostgreSQL','params':{'host':'db'}}");
    assert_int_equal(conn_prepare_create(body, "alice", NOW_MS, false, &out, &err), SB_OK);
    missing = types_missing(must_find("PostgreSQL"), json_object_get(out, "params"));
    assert_int_equal(json_array_size(missing), 0);
    json_decref(missing);
    json_decref(out);
    json_decref(body);
}

static void test_update_without_guards_may_remove_a_required_param(void **state)
{
    json_t *stored = create_ok("{'name':'pg','type':'PostgreSQL','params':{'host':'db'}}");
    json_t *body = js("{'params':{'host':''}}"), *out = NULL;
    struct sb_err err;
    (void)state;

    sb_err_clear(&err);
    assert_int_equal(conn_prepare_update(stored, body, "pg", "bob", LATER_MS, false, &out, &err),
                     SB_OK);
    assert_member(out, "params", "{'host':'','port':'5432'}");
    json_decref(out);
    json_decref(body);
    json_decref(stored);
}

static void test_update_removing_a_required_param_is_bad_request(void **state)
{
    json_t *stored = create_ok("{'name':'pg','type':'PostgreSQL','params':{'host':'db'}}");
    char *before = dump(stored), *after;
    json_t *body, *out = NULL;
    struct sb_err err;
    (void)state;

    body = js("{'name':'pg','type':'PostgreSQL','params':{'port':'5432'}}");
    sb_err_clear(&err);
    assert_int_equal(conn_prepare_update(stored, body, "pg", "bob", LATER_MS, true, &out, &err),
                     SB_ERR_BAD_REQUEST);
    assert_required_error(&err, "PostgreSQL", "host");
    assert_null(out);
    json_decref(body);

    body = js("{'params':{'host':''}}");
    sb_err_clear(&err);
    assert_int_equal(conn_prepare_update(stored, body, "pg", "bob", LATER_MS, true, &out, &err),
                     SB_ERR_BAD_REQUEST);
    assert_required_error(&err, "PostgreSQL", "host");
    assert_null(out);
    json_decref(body);

    after = dump(stored);
    assert_string_equal(before, after);
    free(after);
    free(before);
    json_decref(stored);
}

static void test_update_applies_defaults_and_keeps_given_values(void **state)
{
    json_t *stored = create_ok("{'name':'my','type':'MySql','params':{'host':'db',"
                               "'port':'3307'}}");
    json_t *body, *out = NULL;
    struct sb_err err;
    (void)state;

    assert_member(stored, "params", "{'host':'db','port':'3307'}");
    /* a body without port gets the default back, not the stored value (whole replacement) */
    body = js("{'params':{'host':'db2'}}");
    sb_err_clear(&err);
    assert_int_equal(conn_prepare_update(stored, body, "my", "bob", LATER_MS, true, &out, &err),
                     SB_OK);
    assert_member(out, "params", "{'host':'db2','port':'3306'}");
    assert_member(body, "params", "{'host':'db2'}");
    json_decref(out);
    json_decref(body);

    body = js("{'params':{'host':'db2','port':'3308'}}");
    assert_int_equal(conn_prepare_update(stored, body, "my", "bob", LATER_MS, true, &out, &err),
                     SB_OK);
    assert_member(out, "params", "{'host':'db2','port':'3308'}");
    json_decref(out);
    json_decref(body);
    json_decref(stored);
}

/* A connection stored under a type the registry does not know (stored before it did) stays
 * updatable: there is no rule to apply, and its type cannot change. */
static void test_update_of_a_stored_unknown_type_is_not_checked_against_the_registry(void **state)
{
    json_t *stored = js("{'name':'old','type':'LegacyType','params':{},'creationTag':"
                        "{'versionNumber':3,'lastModifiedBy':{'login':'x'},'lastModifiedOn':1}}");
    json_t *body = js("{'description':'still editable'}"), *out = NULL;
    struct sb_err err;
    (void)state;

    sb_err_clear(&err);
    assert_int_equal(conn_prepare_update(stored, body, "old", "bob", LATER_MS, true, &out, &err),
                     SB_OK);
    assert_member(out, "type", "'LegacyType'");
    assert_member(out, "params", "{}");
    assert_int_equal(conn_version(out), 4);
    json_decref(out);
    json_decref(body);
    json_decref(stored);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_type_of_the_spec_is_registered),
        cmocka_unit_test(test_types_at_walks_the_registry_without_duplicates),
        cmocka_unit_test(test_each_type_requires_exactly_its_spec_params),
        cmocka_unit_test(test_params_are_well_formed),
        cmocka_unit_test(test_defaults_are_the_usual_ports_as_strings),
        cmocka_unit_test(test_ec2_requires_nothing_and_has_no_defaults),
        cmocka_unit_test(test_find_is_exact_and_case_sensitive),
        cmocka_unit_test(test_apply_missing_required_param_is_bad_request_naming_it),
        cmocka_unit_test(test_apply_empty_required_param_is_bad_request),
        cmocka_unit_test(test_apply_non_string_required_param_is_bad_request),
        cmocka_unit_test(test_apply_checks_every_required_param_of_every_type),
        cmocka_unit_test(test_apply_adds_every_default_of_every_type),
        cmocka_unit_test(test_apply_defaults_postgresql_and_mysql_ports),
        cmocka_unit_test(test_apply_never_overwrites_a_given_value),
        cmocka_unit_test(test_apply_keeps_params_the_registry_does_not_know),
        cmocka_unit_test(test_apply_on_a_type_without_params_rules_accepts_empty_params),
        cmocka_unit_test(test_unknown_is_bad_request_naming_type_and_listing_every_known_one),
        cmocka_unit_test(test_unknown_with_a_long_or_odd_name_still_lists_every_type),
        cmocka_unit_test(test_registry_json_mirrors_the_registry),
        cmocka_unit_test(test_registry_json_examples),
        cmocka_unit_test(test_every_registry_secret_is_a_secret_param_of_secrets_c),
        cmocka_unit_test(test_spec_testers_are_registered),
        cmocka_unit_test(test_every_curl_tester_has_a_scheme),
        cmocka_unit_test(test_credential_shape_follows_the_registry),
        cmocka_unit_test(test_credential_shape_of_every_type_is_its_registry_credential),
        cmocka_unit_test(test_credential_shape_of_unknown_type_uses_the_params),
        cmocka_unit_test(test_create_with_unknown_type_is_bad_request_listing_known_types),
        cmocka_unit_test(test_create_with_missing_required_param_is_bad_request_naming_it),
        cmocka_unit_test(test_create_applies_type_defaults_and_keeps_given_values),
        cmocka_unit_test(test_create_does_not_add_defaults_to_the_body),
        cmocka_unit_test(test_create_failing_on_params_releases_every_reference_it_takes),
        cmocka_unit_test(test_update_removing_a_required_param_is_bad_request),
        cmocka_unit_test(test_create_without_guards_stores_missing_required_params),
        cmocka_unit_test(test_update_without_guards_may_remove_a_required_param),
        cmocka_unit_test(test_update_applies_defaults_and_keeps_given_values),
        cmocka_unit_test(test_update_of_a_stored_unknown_type_is_not_checked_against_the_registry),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
