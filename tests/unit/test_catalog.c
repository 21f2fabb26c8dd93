/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of src/core/catalog.c: versioned publication (newer wins, tombstones), put_raw,
 * usable-by, snapshots (sorted, shared, rebuilt after a change), the streaming reader of the
 * list body (chunk sizes, escaping, out-of-order reads), growth and a concurrency smoke test.
 * Every entry, snapshot and json_t is released so that the leak detector at exit also checks
 * the reference counting of the code under test. */
/* cmocka.h needs these four first */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "json_assert.h"

#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/catalog.h"
#include "core/principal.h"

/* A definition of NAME, of TYPE, at VERSION, with a few more fields. New reference. */
static json_t *def_of(const char *name, const char *type, int64_t version)
{
    return json_pack("{s:s, s:s, s:{s:s, s:i}, s:s, s:[], s:{s:I, s:{s:s}}}", "name", name, "type",
                     type, "params", "host", "db", "port", 5432, "usableBy", "ALL", "allowedGroups",
                     "creationTag", "versionNumber", (json_int_t)version, "lastModifiedBy", "login",
                     "bob");
}

/* Publishes def_of(NAME, TYPE, VERSION). */
static void put(struct catalog *c, const char *name, const char *type, int64_t version)
{
    json_t *def = def_of(name, type, version);

    assert_non_null(def);
    catalog_put_def(c, def);
    json_decref(def);
}

/* The version of NAME's live entry, or -1 when there is none. */
static int64_t version_of(struct catalog *c, const char *name)
{
    struct catalog_entry *e = catalog_get(c, name);
    int64_t v;

    if (!e)
        return -1;
    v = e->version;
    catalog_entry_release(e);
    return v;
}

/* Whether the snapshot S holds an entry named NAME. */
static bool snapshot_has(const struct catalog_snapshot *s, const char *name)
{
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->items[i]->name, name) == 0)
            return true;
    return false;
}

/* The list body of S read through a fresh reader in reads of at most CHUNK bytes; checks every
 * read's size, that the total is S->list_len and that a read at the end returns 0. Caller frees;
 * the text is NUL terminated. */
static char *read_body(const struct catalog_snapshot *s, size_t chunk)
{
    struct catalog_reader r = {.s = s};
    char *out = malloc(s->list_len + 1);
    char *buf = malloc(chunk);
    uint64_t pos = 0;
    size_t n;

    assert_non_null(out);
    assert_non_null(buf);
    while ((n = catalog_reader_read(&r, pos, buf, chunk)) > 0) {
        assert_true(n <= chunk);
        if (pos + n > s->list_len)
            fail_msg("the reader gave %llu bytes, more than list_len %zu",
                     (unsigned long long)(pos + n), s->list_len);
        memcpy(out + pos, buf, n);
        pos += n;
    }
    assert_int_equal(pos, s->list_len);
    assert_int_equal(catalog_reader_read(&r, pos, buf, chunk), 0);
    out[pos] = '\0';
    free(buf);
    return out;
}

/* "{" + the list items of S joined by "," + "}"; caller frees. */
static char *expected_body(const struct catalog_snapshot *s)
{
    size_t len = 2, at = 0;
    char *out;

    for (size_t i = 0; i < s->n; i++)
        len += catalog_entry_list_item(s->items[i], NULL) + 1;
    out = malloc(len + 1);
    assert_non_null(out);
    out[at++] = '{';
    for (size_t i = 0; i < s->n; i++) {
        if (i)
            out[at++] = ',';
        at += catalog_entry_list_item(s->items[i], out + at);
    }
    out[at++] = '}';
    out[at] = '\0';
    return out;
}

/* Parses the list body TEXT as a JSON object; fails with the text when it is not one. */
static json_t *parse_body(const char *text)
{
    json_error_t jerr;
    json_t *v = json_loads(text, JSON_REJECT_DUPLICATES, &jerr);

    if (!v)
        fail_msg("list body is not valid JSON (%s at %d): %s", jerr.text, jerr.position, text);
    assert_true(json_is_object(v));
    return v;
}

/* DEF with "id" = NAME and "label" = TYPE added, as the list body carries it. New reference. */
static json_t *listed(const json_t *def, const char *name, const char *type)
{
    json_t *v = json_deep_copy(def);

    assert_non_null(v);
    json_object_set_new(v, "id", json_string(name));
    json_object_set_new(v, "label", json_string(type));
    return v;
}

/* Checks the body of S read in every chunk size against expected_body and returns it parsed. */
static json_t *checked_body(const struct catalog_snapshot *s)
{
    static const size_t chunks[] = {1, 2, 3, 7, 64, 4096, 1 << 20};
    char *want = expected_body(s);
    json_t *parsed;

    assert_int_equal(strlen(want), s->list_len);
    for (size_t i = 0; i < sizeof(chunks) / sizeof(chunks[0]); i++) {
        char *got = read_body(s, chunks[i]);
        if (strcmp(got, want) != 0)
            fail_msg("chunk %zu: got %s\nexpected %s", chunks[i], got, want);
        free(got);
    }
    parsed = parse_body(want);
    assert_int_equal(json_object_size(parsed), s->n);
    free(want);
    return parsed;
}

static struct principal principal_with(bool admin, const char *groups_text)
{
    struct principal p;

    memset(&p, 0, sizeof(p));
    p.type = PRINCIPAL_USER;
    p.admin = admin;
    p.groups = groups_text ? js(groups_text) : NULL;
    return p;
}

/* --- put, get, versions, tombstones --- */

static void test_put_def_then_get_returns_compact_json_of_the_definition(void **state)
{
    struct catalog *c = catalog_new();
    json_t *def = def_of("pg-main", "PostgreSQL", 1);
    char *want = json_dumps(def, JSON_COMPACT);
    struct catalog_entry *e;
    (void)state;

    catalog_put_def(c, def);
    e = catalog_get(c, "pg-main");
    assert_non_null(e);
    assert_string_equal(e->json, want);
    assert_int_equal(e->json_len, strlen(want));
    assert_string_equal(e->name, "pg-main");
    assert_string_equal(e->type, "PostgreSQL");
    assert_int_equal(e->version, 1);
    assert_false(e->deleted);
    assert_true(e->usable_by_all);
    {
        size_t len = catalog_entry_list_item(e, NULL);
        char *item = malloc(len + 1);
        assert_non_null(item);
        assert_int_equal(catalog_entry_list_item(e, item), len);
        item[len] = '\0';
        assert_int_equal(strlen(item), len);
        assert_true(strncmp(item, "\"pg-main\":{", 11) == 0);
        free(item);
    }
    catalog_entry_release(e);
    free(want);
    json_decref(def);
    catalog_free(c);
}

static void test_put_def_does_not_modify_or_keep_extra_references_to_def(void **state)
{
    struct catalog *c = catalog_new();
    json_t *def = def_of("pg-main", "PostgreSQL", 1);
    char *before = dump(def), *after;
    (void)state;

    catalog_put_def(c, def);
    after = dump(def);
    assert_string_equal(before, after);
    assert_int_equal(def->refcount, 1);
    free(before);
    free(after);
    json_decref(def);
    /* the entry does not depend on DEF once published */
    assert_int_equal(version_of(c, "pg-main"), 1);
    catalog_free(c);
}

static void test_get_of_unknown_name_is_null(void **state)
{
    struct catalog *c = catalog_new();
    (void)state;

    assert_null(catalog_get(c, "nope"));
    put(c, "pg-main", "PostgreSQL", 1);
    assert_null(catalog_get(c, "nope"));
    assert_null(catalog_get(c, "pg-mai"));
    assert_null(catalog_get(c, "pg-main2"));
    assert_null(catalog_get(c, ""));
    catalog_free(c);
}

static void test_newer_version_replaces(void **state)
{
    struct catalog *c = catalog_new();
    json_t *v2 = def_of("pg-main", "PostgreSQL", 2);
    char *want;
    struct catalog_entry *e;
    (void)state;

    put(c, "pg-main", "PostgreSQL", 1);
    json_object_set_new(v2, "description", json_string("second"));
    want = json_dumps(v2, JSON_COMPACT);
    catalog_put_def(c, v2);
    e = catalog_get(c, "pg-main");
    assert_non_null(e);
    assert_int_equal(e->version, 2);
    assert_string_equal(e->json, want);
    catalog_entry_release(e);
    free(want);
    json_decref(v2);
    catalog_free(c);
}

static void test_older_or_equal_version_is_ignored(void **state)
{
    struct catalog *c = catalog_new();
    json_t *v3 = def_of("pg-main", "PostgreSQL", 3);
    json_t *other_v3 = def_of("pg-main", "PostgreSQL", 3);
    char *want = json_dumps(v3, JSON_COMPACT);
    struct catalog_entry *e;
    (void)state;

    /* committed v2 then v3, published v3 then v2 */
    catalog_put_def(c, v3);
    put(c, "pg-main", "PostgreSQL", 2);
    assert_int_equal(version_of(c, "pg-main"), 3);
    /* the same version again with other content is ignored too */
    json_object_set_new(other_v3, "description", json_string("late"));
    catalog_put_def(c, other_v3);
    e = catalog_get(c, "pg-main");
    assert_non_null(e);
    assert_int_equal(e->version, 3);
    assert_string_equal(e->json, want);
    catalog_entry_release(e);
    free(want);
    json_decref(v3);
    json_decref(other_v3);
    catalog_free(c);
}

static void test_entry_taken_before_a_replacement_stays_readable(void **state)
{
    struct catalog *c = catalog_new();
    struct catalog_entry *old, *now;
    char *old_json;
    (void)state;

    put(c, "pg-main", "PostgreSQL", 1);
    old = catalog_get(c, "pg-main");
    assert_non_null(old);
    old_json = strdup(old->json);
    put(c, "pg-main", "PostgreSQL", 2);
    now = catalog_get(c, "pg-main");
    assert_ptr_not_equal(old, now);
    assert_int_equal(old->version, 1);
    assert_string_equal(old->json, old_json);
    assert_int_equal(now->version, 2);
    catalog_entry_release(old);
    catalog_entry_release(now);
    free(old_json);
    catalog_free(c);
}

static void test_entry_outlives_the_catalog(void **state)
{
    struct catalog *c = catalog_new();
    struct catalog_entry *e;
    struct catalog_snapshot *s;
    (void)state;

    put(c, "pg-main", "PostgreSQL", 1);
    e = catalog_get(c, "pg-main");
    s = catalog_snapshot(c);
    catalog_free(c);
    assert_string_equal(e->name, "pg-main");
    assert_int_equal(s->n, 1);
    assert_string_equal(s->items[0]->name, "pg-main");
    catalog_entry_release(e);
    catalog_snapshot_release(s);
}

static void test_delete_hides_the_entry_from_get_and_snapshot(void **state)
{
    struct catalog *c = catalog_new();
    struct catalog_snapshot *s;
    (void)state;

    put(c, "pg-main", "PostgreSQL", 1);
    put(c, "pg-other", "PostgreSQL", 1);
    catalog_delete(c, "pg-main", 2);
    assert_null(catalog_get(c, "pg-main"));
    s = catalog_snapshot(c);
    assert_int_equal(s->n, 1);
    assert_false(snapshot_has(s, "pg-main"));
    assert_true(snapshot_has(s, "pg-other"));
    catalog_snapshot_release(s);
    catalog_free(c);
}

static void test_put_older_than_or_equal_to_delete_does_not_resurrect(void **state)
{
    struct catalog *c = catalog_new();
    struct catalog_snapshot *s;
    (void)state;

    put(c, "pg-main", "PostgreSQL", 1);
    catalog_delete(c, "pg-main", 3);
    /* a late publication of the update committed before the delete */
    put(c, "pg-main", "PostgreSQL", 2);
    assert_null(catalog_get(c, "pg-main"));
    put(c, "pg-main", "PostgreSQL", 3);
    assert_null(catalog_get(c, "pg-main"));
    s = catalog_snapshot(c);
    assert_int_equal(s->n, 0);
    catalog_snapshot_release(s);
    catalog_free(c);
}

static void test_put_newer_than_delete_recreates(void **state)
{
    struct catalog *c = catalog_new();
    struct catalog_snapshot *s;
    (void)state;

    put(c, "pg-main", "PostgreSQL", 1);
    catalog_delete(c, "pg-main", 2);
    put(c, "pg-main", "MySql", 3);
    assert_int_equal(version_of(c, "pg-main"), 3);
    s = catalog_snapshot(c);
    assert_int_equal(s->n, 1);
    assert_string_equal(s->items[0]->type, "MySql");
    catalog_snapshot_release(s);
    catalog_free(c);
}

static void test_delete_older_than_live_version_is_ignored(void **state)
{
    struct catalog *c = catalog_new();
    (void)state;

    put(c, "pg-main", "PostgreSQL", 3);
    catalog_delete(c, "pg-main", 2);
    assert_int_equal(version_of(c, "pg-main"), 3);
    catalog_delete(c, "pg-main", 3);
    assert_int_equal(version_of(c, "pg-main"), 3);
    catalog_delete(c, "pg-main", 4);
    assert_int_equal(version_of(c, "pg-main"), -1);
    catalog_free(c);
}

static void test_delete_published_before_the_create_wins(void **state)
{
    struct catalog *c = catalog_new();
    (void)state;

    /* create v1 and delete v2 committed in that order, published in the other */
    catalog_delete(c, "pg-main", 2);
    assert_null(catalog_get(c, "pg-main"));
    put(c, "pg-main", "PostgreSQL", 1);
    assert_null(catalog_get(c, "pg-main"));
    catalog_free(c);
}

/* --- put_raw and usable-by --- */

static void test_put_raw_allowed_with_groups(void **state)
{
    struct catalog *c = catalog_new();
    const char *text = "{\"name\":\"pg-main\",\"type\":\"PostgreSQL\",\"usableBy\":\"ALLOWED\","
                       "\"allowedGroups\":[\"ops\",\"dev\"]}";
    json_t *want_groups = js("['ops','dev']");
    struct catalog_entry *e;
    (void)state;

    catalog_put_raw(c, "pg-main", "PostgreSQL", 7, "ALLOWED", "[\"ops\",\"dev\"]", text);
    e = catalog_get(c, "pg-main");
    assert_non_null(e);
    assert_int_equal(e->version, 7);
    assert_string_equal(e->type, "PostgreSQL");
    assert_false(e->usable_by_all);
    assert_json_eq(e->allowed_groups, want_groups);
    assert_string_equal(e->json, text);
    assert_int_equal(e->json_len, strlen(text));
    catalog_entry_release(e);
    json_decref(want_groups);
    catalog_free(c);
}

static void test_put_raw_all_or_missing_usable_by_is_usable_by_all(void **state)
{
    struct catalog *c = catalog_new();
    json_t *empty = js("[]");
    struct catalog_entry *e;
    (void)state;

    catalog_put_raw(c, "a", "EC2", 1, "ALL", "[\"ops\"]", "{\"name\":\"a\",\"type\":\"EC2\"}");
    catalog_put_raw(c, "b", "EC2", 1, NULL, NULL, "{\"name\":\"b\",\"type\":\"EC2\"}");
    /* groups text that is not an array is taken as no groups */
    catalog_put_raw(c, "c", "EC2", 1, "ALLOWED", "{\"x\":1}", "{\"name\":\"c\",\"type\":\"EC2\"}");
    catalog_put_raw(c, "d", "EC2", 1, "ALLOWED", "not json", "{\"name\":\"d\",\"type\":\"EC2\"}");

    e = catalog_get(c, "a");
    assert_true(e->usable_by_all);
    catalog_entry_release(e);
    e = catalog_get(c, "b");
    assert_true(e->usable_by_all);
    assert_json_eq(e->allowed_groups, empty);
    catalog_entry_release(e);
    e = catalog_get(c, "c");
    assert_false(e->usable_by_all);
    assert_json_eq(e->allowed_groups, empty);
    catalog_entry_release(e);
    e = catalog_get(c, "d");
    assert_false(e->usable_by_all);
    assert_json_eq(e->allowed_groups, empty);
    catalog_entry_release(e);
    json_decref(empty);
    catalog_free(c);
}

static void test_put_raw_follows_version_order_like_put_def(void **state)
{
    struct catalog *c = catalog_new();
    (void)state;

    catalog_put_raw(c, "a", "EC2", 5, NULL, NULL, "{\"name\":\"a\",\"type\":\"EC2\"}");
    catalog_put_raw(c, "a", "EC2", 4, NULL, NULL, "{\"name\":\"a\",\"type\":\"EC2\",\"v\":4}");
    assert_int_equal(version_of(c, "a"), 5);
    put(c, "a", "EC2", 6);
    assert_int_equal(version_of(c, "a"), 6);
    catalog_free(c);
}

static void test_entry_usable_by_admin_all_and_allowed_groups(void **state)
{
    struct catalog *c = catalog_new();
    json_t *allowed = js("{'name':'allowed','type':'EC2','usableBy':'ALLOWED',"
                         "'allowedGroups':['ops','dev'],'creationTag':{'versionNumber':1}}");
    json_t *all = js("{'name':'all','type':'EC2','usableBy':'ALL','allowedGroups':['ops'],"
                     "'creationTag':{'versionNumber':1}}");
    json_t *missing = js("{'name':'missing','type':'EC2','creationTag':{'versionNumber':1}}");
    json_t *nogroups = js("{'name':'nogroups','type':'EC2','usableBy':'ALLOWED',"
                          "'creationTag':{'versionNumber':1}}");
    struct principal admin = principal_with(true, "[]");
    struct principal dev = principal_with(false, "['sales','dev']");
    struct principal other = principal_with(false, "['sales','Ops']");
    struct principal nobody = principal_with(false, "[]");
    struct principal null_groups = principal_with(false, NULL);
    struct catalog_entry *e;
    (void)state;

    catalog_put_def(c, allowed);
    catalog_put_def(c, all);
    catalog_put_def(c, missing);
    catalog_put_def(c, nogroups);

    e = catalog_get(c, "allowed");
    assert_false(e->usable_by_all);
    assert_true(catalog_entry_usable(e, &admin));
    assert_true(catalog_entry_usable(e, &dev));
    assert_false(catalog_entry_usable(e, &other)); /* group names are case sensitive */
    assert_false(catalog_entry_usable(e, &nobody));
    assert_false(catalog_entry_usable(e, &null_groups));
    catalog_entry_release(e);

    e = catalog_get(c, "all");
    assert_true(catalog_entry_usable(e, &admin));
    assert_true(catalog_entry_usable(e, &nobody));
    assert_true(catalog_entry_usable(e, &null_groups));
    catalog_entry_release(e);

    e = catalog_get(c, "missing");
    assert_true(catalog_entry_usable(e, &nobody));
    catalog_entry_release(e);

    e = catalog_get(c, "nogroups");
    assert_true(catalog_entry_usable(e, &admin));
    assert_false(catalog_entry_usable(e, &dev));
    catalog_entry_release(e);

    principal_clear(&admin);
    principal_clear(&dev);
    principal_clear(&other);
    principal_clear(&nobody);
    principal_clear(&null_groups);
    json_decref(allowed);
    json_decref(all);
    json_decref(missing);
    json_decref(nogroups);
    catalog_free(c);
}

/* --- snapshots --- */

static void test_snapshot_is_sorted_by_name_and_counts_only_live_entries(void **state)
{
    static const char *const names[] = {"b",  "a", "B",  "A",   "a-b", "ab",   "a_b",
                                        "Z9", "z", "0x", "a.b", "aa",  "gone", "é-accent"};
    struct catalog *c = catalog_new();
    struct catalog_snapshot *s;
    size_t count = sizeof(names) / sizeof(names[0]);
    (void)state;

    for (size_t i = 0; i < count; i++)
        put(c, names[i], "EC2", 1);
    catalog_delete(c, "gone", 2);
    catalog_delete(c, "never-existed", 1);
    s = catalog_snapshot(c);
    assert_int_equal(s->n, count - 1);
    for (size_t i = 1; i < s->n; i++)
        if (strcmp(s->items[i - 1]->name, s->items[i]->name) >= 0)
            fail_msg("snapshot not in strcmp order at %zu: '%s' then '%s'", i,
                     s->items[i - 1]->name, s->items[i]->name);
    for (size_t i = 0; i < s->n; i++)
        assert_false(s->items[i]->deleted);
    assert_false(snapshot_has(s, "gone"));
    assert_false(snapshot_has(s, "never-existed"));
    assert_string_equal(s->items[0]->name, "0x");
    assert_string_equal(s->items[s->n - 1]->name, "é-accent");
    catalog_snapshot_release(s);
    catalog_free(c);
}

static void test_snapshot_is_shared_until_a_change(void **state)
{
    struct catalog *c = catalog_new();
    struct catalog_snapshot *s1, *s2, *s3;
    char *old_body;
    (void)state;

    put(c, "a", "EC2", 1);
    s1 = catalog_snapshot(c);
    s2 = catalog_snapshot(c);
    assert_ptr_equal(s1, s2);
    catalog_snapshot_release(s2);

    old_body = expected_body(s1);
    put(c, "b", "EC2", 1);
    s3 = catalog_snapshot(c);
    assert_ptr_not_equal(s1, s3);
    assert_int_equal(s3->n, 2);
    /* the old one is still whole and readable */
    assert_int_equal(s1->n, 1);
    assert_string_equal(s1->items[0]->name, "a");
    {
        char *again = read_body(s1, 7);
        assert_string_equal(again, old_body);
        free(again);
    }
    catalog_snapshot_release(s1);
    catalog_snapshot_release(s3);
    free(old_body);
    catalog_free(c);
}

static void test_snapshot_survives_replacement_of_its_entries(void **state)
{
    struct catalog *c = catalog_new();
    struct catalog_snapshot *s1, *s2;
    (void)state;

    put(c, "a", "EC2", 1);
    s1 = catalog_snapshot(c);
    put(c, "a", "EC2", 2);
    catalog_delete(c, "a", 3);
    s2 = catalog_snapshot(c);
    assert_ptr_not_equal(s1, s2);
    assert_int_equal(s2->n, 0);
    assert_int_equal(s1->n, 1);
    assert_int_equal(s1->items[0]->version, 1);
    {
        json_t *body = checked_body(s1);
        json_decref(body);
    }
    catalog_snapshot_release(s1);
    catalog_snapshot_release(s2);
    catalog_free(c);
}

static void test_ignored_publication_keeps_the_snapshot(void **state)
{
    struct catalog *c = catalog_new();
    struct catalog_snapshot *s1, *s2;
    (void)state;

    put(c, "a", "EC2", 3);
    s1 = catalog_snapshot(c);
    put(c, "a", "EC2", 2);
    catalog_delete(c, "a", 1);
    s2 = catalog_snapshot(c);
    assert_ptr_equal(s1, s2);
    catalog_snapshot_release(s1);
    catalog_snapshot_release(s2);
    catalog_free(c);
}

/* --- the list body --- */

static void test_list_body_in_chunks_of_many_sizes(void **state)
{
    static const char *const names[] = {"pg-main", "s3", "mysql.eu", "Alpha", "zeta"};
    static const char *const types[] = {"PostgreSQL", "S3", "MySql", "EC2", "Other"};
    struct catalog *c = catalog_new();
    struct catalog_snapshot *s;
    json_t *defs[5], *body;
    (void)state;

    for (size_t i = 0; i < 5; i++) {
        defs[i] = def_of(names[i], types[i], (int64_t)i + 1);
        json_object_set_new(defs[i], "description", json_sprintf("number %zu", i));
        catalog_put_def(c, defs[i]);
    }
    s = catalog_snapshot(c);
    assert_int_equal(s->n, 5);
    body = checked_body(s);
    for (size_t i = 0; i < 5; i++) {
        json_t *want = listed(defs[i], names[i], types[i]);
        json_t *got = json_object_get(body, names[i]);
        if (!got)
            fail_msg("'%s' missing from the list body", names[i]);
        assert_json_eq(got, want);
        json_decref(want);
        json_decref(defs[i]);
    }
    json_decref(body);
    catalog_snapshot_release(s);
    catalog_free(c);
}

static void test_list_body_of_empty_catalog_is_empty_object(void **state)
{
    struct catalog *c = catalog_new();
    struct catalog_snapshot *s;
    char *text;
    (void)state;

    s = catalog_snapshot(c);
    assert_int_equal(s->n, 0);
    assert_int_equal(s->list_len, 2);
    text = read_body(s, 1);
    assert_string_equal(text, "{}");
    free(text);
    text = read_body(s, 4096);
    assert_string_equal(text, "{}");
    free(text);
    catalog_snapshot_release(s);

    /* emptied by a delete */
    put(c, "a", "EC2", 1);
    catalog_delete(c, "a", 2);
    s = catalog_snapshot(c);
    text = read_body(s, 3);
    assert_string_equal(text, "{}");
    free(text);
    catalog_snapshot_release(s);
    catalog_free(c);
}

static void test_list_body_of_minimal_definitions_is_valid_json(void **state)
{
    struct catalog *c = catalog_new();
    json_t *def = js("{'name':'only','type':'EC2'}");
    json_t *want, *body, *want_empty;
    struct catalog_snapshot *s;
    (void)state;

    catalog_put_def(c, def); /* version 0: no creationTag */
    /* an empty object as the stored text */
    catalog_put_raw(c, "empty", "S3", 1, NULL, NULL, "{}");
    s = catalog_snapshot(c);
    assert_int_equal(s->n, 2);
    body = checked_body(s);
    want = listed(def, "only", "EC2");
    assert_json_eq(json_object_get(body, "only"), want);
    want_empty = js("{'id':'empty','label':'S3'}");
    assert_json_eq(json_object_get(body, "empty"), want_empty);
    json_decref(want);
    json_decref(want_empty);
    json_decref(body);
    json_decref(def);
    catalog_snapshot_release(s);
    catalog_free(c);
}

static void test_list_body_escapes_names_and_types(void **state)
{
    static const char *const names[] = {"quo\"te",  "back\\slash", "caf\xc3\xa9", "tab\there",
                                        "slash/ok", "nl\nx",       "</script>"};
    static const char *const types[] = {"T\"y", "T\\y", "\xc3\xa9t\xc3\xa9", "t", "t", "t", "t"};
    size_t count = sizeof(names) / sizeof(names[0]);
    struct catalog *c = catalog_new();
    struct catalog_snapshot *s;
    json_t *body;
    (void)state;

    for (size_t i = 0; i < count; i++)
        put(c, names[i], types[i], 1);
    s = catalog_snapshot(c);
    assert_int_equal(s->n, count);
    body = checked_body(s);
    for (size_t i = 0; i < count; i++) {
        json_t *def = def_of(names[i], types[i], 1);
        json_t *want = listed(def, names[i], types[i]);
        json_t *got = json_object_get(body, names[i]);
        if (!got)
            fail_msg("name %zu missing from the list body", i);
        assert_json_eq(got, want);
        json_decref(want);
        json_decref(def);
    }
    json_decref(body);
    catalog_snapshot_release(s);
    catalog_free(c);
}

static void test_list_len_equals_the_bytes_read(void **state)
{
    struct catalog *c = catalog_new();
    (void)state;

    for (int n = 0; n < 40; n++) {
        struct catalog_snapshot *s = catalog_snapshot(c);
        char *text = read_body(s, 5); /* read_body checks the total against list_len */
        assert_int_equal(strlen(text), s->list_len);
        free(text);
        catalog_snapshot_release(s);
        {
            char name[32];
            snprintf(name, sizeof(name), "conn-%d", n * 7919 % 1000);
            put(c, name, n % 2 ? "EC2" : "PostgreSQL", 1);
        }
    }
    catalog_free(c);
}

static void test_reader_restarts_on_a_read_at_another_position(void **state)
{
    struct catalog *c = catalog_new();
    struct catalog_snapshot *s;
    struct catalog_reader r;
    char *want, buf[8192];
    size_t n, got;
    (void)state;

    for (int i = 0; i < 20; i++) {
        char name[32];
        snprintf(name, sizeof(name), "conn-%02d", i);
        put(c, name, "PostgreSQL", 1);
    }
    s = catalog_snapshot(c);
    want = expected_body(s);
    assert_true(s->list_len > 300 && s->list_len < sizeof(buf));

    /* read some, then start again at 0 */
    r = (struct catalog_reader){.s = s};
    n = catalog_reader_read(&r, 0, buf, 100);
    assert_int_equal(n, 100);
    n = catalog_reader_read(&r, 100, buf, 37);
    assert_int_equal(n, 37);
    got = 0;
    while ((n = catalog_reader_read(&r, got, buf + got, 64)) > 0)
        got += n;
    assert_int_equal(got, s->list_len);
    assert_memory_equal(buf, want, s->list_len);

    /* at the end, back into the middle (a part boundary is unlikely to be at 123) */
    n = catalog_reader_read(&r, 123, buf, 50);
    assert_int_equal(n, 50);
    assert_memory_equal(buf, want + 123, 50);
    /* forwards, skipping some */
    n = catalog_reader_read(&r, 301, buf, 9);
    assert_int_equal(n, 9);
    assert_memory_equal(buf, want + 301, 9);
    /* and in order again from there */
    n = catalog_reader_read(&r, 310, buf, 11);
    assert_int_equal(n, 11);
    assert_memory_equal(buf, want + 310, 11);

    /* a fresh reader asked for the middle first; and every single position */
    for (size_t pos = 0; pos < s->list_len; pos++) {
        size_t max = s->list_len - pos < 13 ? s->list_len - pos : 13;
        r = (struct catalog_reader){.s = s};
        n = catalog_reader_read(&r, pos, buf, 13);
        assert_int_equal(n, max);
        assert_memory_equal(buf, want + pos, n);
    }

    /* past the end: nothing */
    r = (struct catalog_reader){.s = s};
    assert_int_equal(catalog_reader_read(&r, s->list_len, buf, 10), 0);
    assert_int_equal(catalog_reader_read(&r, s->list_len + 100, buf, 10), 0);
    free(want);
    catalog_snapshot_release(s);
    catalog_free(c);
}

/* --- growth --- */

#define GROW_N 5000

static void test_grow_keeps_every_entry(void **state)
{
    struct catalog *c = catalog_new();
    struct catalog_snapshot *s;
    json_t *body;
    char name[32];
    (void)state;

    for (int i = 0; i < GROW_N; i++) {
        snprintf(name, sizeof(name), "conn-%05d", i);
        put(c, name, "PostgreSQL", i + 1);
    }
    for (int i = 0; i < GROW_N; i++) {
        struct catalog_entry *e;
        snprintf(name, sizeof(name), "conn-%05d", i);
        e = catalog_get(c, name);
        if (!e)
            fail_msg("'%s' lost after growing", name);
        assert_string_equal(e->name, name);
        assert_int_equal(e->version, i + 1);
        catalog_entry_release(e);
    }
    assert_null(catalog_get(c, "conn-99999"));
    s = catalog_snapshot(c);
    assert_int_equal(s->n, GROW_N);
    for (size_t i = 0; i < s->n; i++) {
        snprintf(name, sizeof(name), "conn-%05zu", i);
        assert_string_equal(s->items[i]->name, name);
    }
    body = checked_body(s);
    assert_int_equal(json_object_size(body), GROW_N);
    json_decref(body);

    /* a fresh reader asked far into a large body skips more than one scratch buffer */
    {
        char *want = expected_body(s), buf[100];
        struct catalog_reader r = {.s = s};
        uint64_t pos = s->list_len / 2 + 3;
        size_t n = catalog_reader_read(&r, pos, buf, sizeof(buf));
        assert_int_equal(n, sizeof(buf));
        assert_memory_equal(buf, want + pos, n);
        free(want);
    }
    catalog_snapshot_release(s);
    catalog_free(c);
}

/* --- concurrency smoke test --- */

#define CONC_NAMES 100
#define CONC_WRITERS 4
#define CONC_READERS 2
#define CONC_ROUNDS 40

struct conc {
    struct catalog *c;
    atomic_int writers_left;
    atomic_int failures;
};

struct conc_arg {
    struct conc *shared;
    int id;
};

/* Writer ID publishes, round after round, versions round * WRITERS + ID + 1 of every name. */
static void *conc_writer(void *arg)
{
    struct conc_arg *a = arg;
    char name[32];

    for (int round = 0; round < CONC_ROUNDS; round++)
        for (int i = 0; i < CONC_NAMES; i++) {
            int64_t version = (int64_t)round * CONC_WRITERS + a->id + 1;
            json_t *def;
            snprintf(name, sizeof(name), "conn-%03d", (i * 37 + a->id * 11) % CONC_NAMES);
            def = def_of(name, "PostgreSQL", version);
            json_object_set_new(def, "v", json_integer(version));
            catalog_put_def(a->shared->c, def);
            json_decref(def);
        }
    atomic_fetch_sub(&a->shared->writers_left, 1);
    return NULL;
}

/* Takes snapshots and reads their bodies until the writers are done; counts what is wrong
 * (cmocka's assertions are not for other threads). */
static void *conc_reader(void *arg)
{
    struct conc_arg *a = arg;
    size_t chunk = (size_t)a->id * 61 + 1;
    char *buf = malloc(1 << 16), *text;

    do {
        struct catalog_snapshot *s = catalog_snapshot(a->shared->c);
        struct catalog_reader r = {.s = s};
        uint64_t pos = 0;
        size_t n;
        json_t *body;
        struct catalog_entry *e;

        text = malloc(s->list_len + 1);
        while ((n = catalog_reader_read(&r, pos, buf, chunk)) > 0) {
            if (pos + n > s->list_len) {
                atomic_fetch_add(&a->shared->failures, 1);
                break;
            }
            memcpy(text + pos, buf, n);
            pos += n;
        }
        if (pos != s->list_len)
            atomic_fetch_add(&a->shared->failures, 1);
        text[pos] = '\0';
        body = json_loads(text, JSON_REJECT_DUPLICATES, NULL);
        if (!json_is_object(body) || json_object_size(body) != s->n)
            atomic_fetch_add(&a->shared->failures, 1);
        for (size_t i = 1; i < s->n; i++)
            if (strcmp(s->items[i - 1]->name, s->items[i]->name) >= 0)
                atomic_fetch_add(&a->shared->failures, 1);
        json_decref(body);
        free(text);
        catalog_snapshot_release(s);

        e = catalog_get(a->shared->c, "conn-042");
        if (e) {
            json_t *def = json_loads(e->json, 0, NULL);
            if (json_integer_value(json_object_get(def, "v")) != e->version)
                atomic_fetch_add(&a->shared->failures, 1);
            json_decref(def);
            catalog_entry_release(e);
        }
        chunk = chunk % 4096 + 97;
    } while (atomic_load(&a->shared->writers_left) > 0);
    free(buf);
    return NULL;
}

static void test_concurrent_publication_and_reading_keeps_max_versions(void **state)
{
    struct conc shared = {.c = catalog_new()};
    pthread_t threads[CONC_WRITERS + CONC_READERS];
    struct conc_arg args[CONC_WRITERS + CONC_READERS];
    struct catalog_snapshot *s;
    json_t *body;
    char name[32];
    (void)state;

    atomic_init(&shared.writers_left, CONC_WRITERS);
    atomic_init(&shared.failures, 0);
    for (int i = 0; i < CONC_WRITERS + CONC_READERS; i++) {
        args[i] =
            (struct conc_arg){.shared = &shared, .id = i < CONC_WRITERS ? i : i - CONC_WRITERS};
        assert_int_equal(pthread_create(&threads[i], NULL,
                                        i < CONC_WRITERS ? conc_writer : conc_reader, &args[i]),
                         0);
    }
    for (int i = 0; i < CONC_WRITERS + CONC_READERS; i++)
        assert_int_equal(pthread_join(threads[i], NULL), 0);
    assert_int_equal(atomic_load(&shared.failures), 0);

    for (int i = 0; i < CONC_NAMES; i++) {
        struct catalog_entry *e;
        json_t *def;
        snprintf(name, sizeof(name), "conn-%03d", i);
        e = catalog_get(shared.c, name);
        if (!e)
            fail_msg("'%s' missing", name);
        assert_int_equal(e->version, CONC_ROUNDS * CONC_WRITERS);
        def = json_loads(e->json, 0, NULL);
        assert_int_equal(json_integer_value(json_object_get(def, "v")), CONC_ROUNDS * CONC_WRITERS);
        json_decref(def);
        catalog_entry_release(e);
    }
    s = catalog_snapshot(shared.c);
    assert_int_equal(s->n, CONC_NAMES);
    body = checked_body(s);
    json_decref(body);
    catalog_snapshot_release(s);
    catalog_free(shared.c);
}

/* Definitions with the same run from "usableBy" to "lastModifiedOn" share it: the catalog holds
 * it once, and the text still reads back byte for byte, alone and in the list. */
static json_t *full_def(const char *name, int64_t modified_on)
{
    return json_pack("{s:s, s:s, s:{s:s}, s:s, s:[s], s:b, s:{s:I, s:{s:s}, s:I}}", "name", name,
                     "type", "PostgreSQL", "params", "host", name, "usableBy", "ALLOWED",
                     "allowedGroups", "data_team", "allowWrite", 1, "creationTag", "versionNumber",
                     (json_int_t)1, "lastModifiedBy", "login", "bob", "lastModifiedOn",
                     (json_int_t)modified_on);
}

static void test_common_run_of_definitions_is_shared_and_reads_back(void **state)
{
    struct catalog *c = catalog_new();
    json_t *a = full_def("pg-a", 1000), *b = full_def("pg-b", 2000);
    char *want_a = json_dumps(a, JSON_COMPACT), *want_b = json_dumps(b, JSON_COMPACT);
    struct catalog_entry *ea, *eb;
    struct catalog_snapshot *snap;
    (void)state;

    catalog_put_def(c, a);
    catalog_put_def(c, b);
    ea = catalog_get(c, "pg-a");
    eb = catalog_get(c, "pg-b");
    assert_non_null(ea);
    assert_non_null(eb);
    assert_non_null(ea->json_mid);
    assert_ptr_equal(ea->json_mid, eb->json_mid); /* held once */
    assert_true(ea->json_mid_len > 50);
    char *got_a = catalog_entry_json_copy(ea), *got_b = catalog_entry_json_copy(eb);
    assert_string_equal(got_a, want_a);
    assert_string_equal(got_b, want_b);
    assert_int_equal(ea->json_len, strlen(want_a));
    /* the list body, from the shared parts, is the definitions with id and label */
    snap = catalog_snapshot(c);
    char *body = read_body(snap, 7);
    json_t *list = parse_body(body), *item = json_object_get(list, "pg-a");
    json_object_del(item, "id");
    json_object_del(item, "label");
    assert_true(json_equal(item, a));
    json_decref(list);
    free(body);
    catalog_snapshot_release(snap);
    free(got_a);
    free(got_b);
    catalog_entry_release(ea);
    /* an entry outlives the catalog, its shared run with it */
    catalog_free(c);
    got_b = catalog_entry_json_copy(eb);
    assert_string_equal(got_b, want_b);
    free(got_b);
    catalog_entry_release(eb);
    free(want_a);
    free(want_b);
    json_decref(a);
    json_decref(b);
}

static void test_snapshot_names_is_the_json_array_of_live_names_in_order(void **state)
{
    struct catalog *c = catalog_new();
    struct catalog_snapshot *snap;
    json_t *names, *want;
    (void)state;

    put(c, "b", "PostgreSQL", 1);
    put(c, "quo\"te", "PostgreSQL", 1);
    put(c, "a", "Filesystem", 1);
    put(c, "gone", "Filesystem", 1);
    catalog_delete(c, "gone", 2);
    snap = catalog_snapshot(c);
    names = json_loadb(snap->names, snap->names_len, 0, NULL);
    assert_non_null(names);
    want = json_pack("[s, s, s]", "a", "b", "quo\"te");
    assert_true(json_equal(names, want));
    assert_int_equal(strlen(snap->names), snap->names_len);
    json_decref(names);
    json_decref(want);
    catalog_snapshot_release(snap);
    /* and an empty catalog's is [] */
    catalog_free(c);
    c = catalog_new();
    snap = catalog_snapshot(c);
    assert_string_equal(snap->names, "[]");
    catalog_snapshot_release(snap);
    catalog_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_put_def_then_get_returns_compact_json_of_the_definition),
        cmocka_unit_test(test_put_def_does_not_modify_or_keep_extra_references_to_def),
        cmocka_unit_test(test_get_of_unknown_name_is_null),
        cmocka_unit_test(test_newer_version_replaces),
        cmocka_unit_test(test_older_or_equal_version_is_ignored),
        cmocka_unit_test(test_entry_taken_before_a_replacement_stays_readable),
        cmocka_unit_test(test_entry_outlives_the_catalog),
        cmocka_unit_test(test_delete_hides_the_entry_from_get_and_snapshot),
        cmocka_unit_test(test_put_older_than_or_equal_to_delete_does_not_resurrect),
        cmocka_unit_test(test_put_newer_than_delete_recreates),
        cmocka_unit_test(test_delete_older_than_live_version_is_ignored),
        cmocka_unit_test(test_delete_published_before_the_create_wins),
        cmocka_unit_test(test_put_raw_allowed_with_groups),
        cmocka_unit_test(test_put_raw_all_or_missing_usable_by_is_usable_by_all),
        cmocka_unit_test(test_put_raw_follows_version_order_like_put_def),
        cmocka_unit_test(test_entry_usable_by_admin_all_and_allowed_groups),
        cmocka_unit_test(test_snapshot_is_sorted_by_name_and_counts_only_live_entries),
        cmocka_unit_test(test_snapshot_is_shared_until_a_change),
        cmocka_unit_test(test_snapshot_survives_replacement_of_its_entries),
        cmocka_unit_test(test_ignored_publication_keeps_the_snapshot),
        cmocka_unit_test(test_list_body_in_chunks_of_many_sizes),
        cmocka_unit_test(test_list_body_of_empty_catalog_is_empty_object),
        cmocka_unit_test(test_list_body_of_minimal_definitions_is_valid_json),
        cmocka_unit_test(test_list_body_escapes_names_and_types),
        cmocka_unit_test(test_list_len_equals_the_bytes_read),
        cmocka_unit_test(test_reader_restarts_on_a_read_at_another_position),
        cmocka_unit_test(test_grow_keeps_every_entry),
        cmocka_unit_test(test_concurrent_publication_and_reading_keeps_max_versions),
        cmocka_unit_test(test_common_run_of_definitions_is_shared_and_reads_back),
        cmocka_unit_test(test_snapshot_names_is_the_json_array_of_live_names_in_order),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
