/* SPDX-License-Identifier: Apache-2.0 */
/* Conformance of the store: the same cases against each backend, through store.h only — SQLite
 * in a fresh temporary directory, PostgreSQL on a fresh database of the server tests/peers.sh
 * started (SWITCHBOARD_PEERS_ENV names its env file; without it the PostgreSQL cases are
 * skipped; tests/run.sh runs the SQLite cases with the other unit tests and the PostgreSQL
 * ones once the peers are up). Both must give the
 * same results and the same messages. */
/* cmocka.h needs these four first */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "json_assert.h"

#include <jansson.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/err.h"
#include "store/store.h"
#include "util/log.h"

struct fixture {
    struct store *st;
    char dir[64];     /* SQLite: the temporary directory */
    char db[40];      /* PostgreSQL: the database */
    char admin[1024]; /* PostgreSQL: conninfo of the peers' own database */
};

/* ---- fixtures ---- */

/* Reads NAME from the peers env file into OUT; false when absent. */
static bool peers_value(const char *name, char *out, size_t size)
{
    const char *path = getenv("SWITCHBOARD_PEERS_ENV");
    char line[512];
    size_t n = strlen(name);
    FILE *f;
    bool found = false;

    if (!path || !(f = fopen(path, "r")))
        return false;
    while (!found && fgets(line, sizeof(line), f)) {
        if (strncmp(line, name, n) == 0 && line[n] == '=') {
            line[strcspn(line, "\r\n")] = '\0';
            snprintf(out, size, "%s", line + n + 1);
            found = true;
        }
    }
    fclose(f);
    return found;
}

static bool pg_admin(const char *conninfo, const char *sql)
{
    PGconn *conn = PQconnectdb(conninfo);
    PGresult *res = PQexec(conn, sql);
    bool ok = PQresultStatus(res) == PGRES_COMMAND_OK;

    if (!ok)
        print_error("%s: %s\n", sql, PQerrorMessage(conn));
    PQclear(res);
    PQfinish(conn);
    return ok;
}

static int setup_sqlite(void **state)
{
    struct fixture *fx = calloc(1, sizeof(*fx));
    char path[128];
    struct sb_err err;

    snprintf(fx->dir, sizeof(fx->dir), "/tmp/sb-store-test.XXXXXX");
    if (!mkdtemp(fx->dir))
        return -1;
    snprintf(path, sizeof(path), "%s/switchboard.db", fx->dir);
    fx->st = store_open(path, &err);
    if (!fx->st) {
        print_error("%s\n", err.msg);
        return -1;
    }
    *state = fx;
    return 0;
}

static int setup_pg(void **state)
{
    struct fixture *fx = calloc(1, sizeof(*fx));
    char host[64], port[16], user[64], pass[128], db[64], url[512], sql[80];
    struct sb_err err;

    *state = fx;
    if (!peers_value("PG_HOST", host, sizeof(host)) ||
        !peers_value("PG_PORT", port, sizeof(port)) ||
        !peers_value("PG_USER", user, sizeof(user)) ||
        !peers_value("PG_PASSWORD", pass, sizeof(pass)) || !peers_value("PG_DB", db, sizeof(db)))
        return 0; /* no peers: the test skips itself */
    snprintf(fx->admin, sizeof(fx->admin), "host=%s port=%s user=%s password=%s dbname=%s", host,
             port, user, pass, db);
    snprintf(fx->db, sizeof(fx->db), "sb_unit_%d_%u", (int)getpid(), (unsigned)rand());
    snprintf(sql, sizeof(sql), "CREATE DATABASE %s", fx->db);
    if (!pg_admin(fx->admin, sql))
        return -1;
    snprintf(url, sizeof(url), "postgresql://%s:%s@%s:%s/%s", user, pass, host, port, fx->db);
    fx->st = store_open(url, &err);
    if (!fx->st) {
        print_error("%s\n", err.msg);
        return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    struct fixture *fx = *state;
    char cmd[128];

    store_close(fx->st);
    if (fx->dir[0]) {
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", fx->dir);
        if (system(cmd) != 0)
            return -1;
    }
    if (fx->db[0]) {
        snprintf(cmd, sizeof(cmd), "DROP DATABASE %s", fx->db);
        pg_admin(fx->admin, cmd);
    }
    free(fx);
    return 0;
}

/* The store of STATE; skips the test when its backend is not available. */
static struct store *store_of(void **state)
{
    struct fixture *fx = *state;
    if (!fx->st)
        skip();
    return fx->st;
}

#define OK(call) assert_int_equal((call), SB_OK)

/* Asserts that ERR is KIND with exactly MSG. */
static void assert_err(const struct sb_err *err, enum sb_err_kind got, enum sb_err_kind kind,
                       const char *msg)
{
    if (got != kind || err->kind != kind)
        fail_msg("expected error kind %d, got %d (%s)", kind, got, err->msg);
    if (msg && strcmp(err->msg, msg) != 0)
        fail_msg("message\n  got      %s\n  expected %s", err->msg, msg);
}

/* A connection definition by LOGIN at version 0 (the store numbers it). */
static json_t *conn_def(const char *type, const char *login)
{
    json_t *def = js("{'type': 'PostgreSQL', 'params': {'host': 'h'}, 'usableBy': 'ALL',"
                     " 'allowedGroups': ['g1', 'g2'], 'creationTag': {'versionNumber': 0,"
                     " 'lastModifiedBy': {'login': 'x'}, 'lastModifiedOn': 1000}}");
    json_object_set_new(def, "type", json_string(type));
    json_object_set_new(json_object_get(json_object_get(def, "creationTag"), "lastModifiedBy"),
                        "login", json_string(login));
    return def;
}

static int64_t version_of(const json_t *def)
{
    return json_integer_value(
        json_object_get(json_object_get(def, "creationTag"), "versionNumber"));
}

/* ---- cases ---- */

static void test_meta_init_sets_once_and_set_replaces(void **state)
{
    struct store *st = store_of(state);
    struct sb_err err;
    bool was_set;
    char *v;

    OK(store_meta_get(st, "m", &v, &err));
    assert_null(v);
    OK(store_meta_init(st, "m", "one", &was_set, &err));
    assert_false(was_set);
    OK(store_meta_init(st, "m", "two", &was_set, &err));
    assert_true(was_set);
    OK(store_meta_get(st, "m", &v, &err));
    assert_string_equal(v, "one");
    free(v);
    OK(store_meta_set(st, "m", "three", &err));
    OK(store_meta_get(st, "m", &v, &err));
    assert_string_equal(v, "three");
    free(v);
}

static void test_objects_insert_get_update_delete_with_messages(void **state)
{
    struct store *st = store_of(state);
    json_t *rec = js("{'login': 'ann', 'n': 1}"), *got, *all;
    struct sb_err err;
    uint64_t gen = store_auth_generation(st);

    OK(store_obj_insert(st, STORE_USERS, "ann", rec, &err));
    assert_true(store_auth_generation(st) > gen);
    assert_err(&err, store_obj_insert(st, STORE_USERS, "ann", rec, &err), SB_ERR_CONFLICT,
               "User 'ann' already exists.");
    OK(store_obj_get(st, STORE_USERS, "ann", &got, &err));
    assert_json_eq(got, rec);
    json_decref(got);
    json_object_set_new(rec, "n", json_integer(2));
    OK(store_obj_update(st, STORE_USERS, "ann", rec, &err));
    OK(store_obj_insert(st, STORE_GROUPS, "ann", rec, &err)); /* another collection */
    OK(store_obj_list(st, STORE_USERS, &all, &err));
    assert_int_equal(json_array_size(all), 1);
    assert_json_eq(json_array_get(all, 0), rec);
    json_decref(all);
    OK(store_obj_delete(st, STORE_USERS, "ann", &err));
    assert_err(&err, store_obj_get(st, STORE_USERS, "ann", &got, &err), SB_ERR_NOT_FOUND,
               "User 'ann' does not exist.");
    assert_err(&err, store_obj_update(st, STORE_GROUPS, "bob", rec, &err), SB_ERR_NOT_FOUND,
               "Group 'bob' does not exist.");
    assert_err(&err, store_obj_delete(st, STORE_PROJECTS, "P", &err), SB_ERR_NOT_FOUND,
               "Project 'P' does not exist.");
    json_decref(rec);
}

static void test_connection_versions_continue_after_delete(void **state)
{
    struct store *st = store_of(state);
    json_t *def = conn_def("PostgreSQL", "ann"), *got, *hist;
    struct sb_err err;
    int64_t deleted;

    OK(store_conn_insert(st, "c", def, "create", &err));
    assert_int_equal(version_of(def), 1);
    assert_err(&err, store_conn_insert(st, "c", def, "create", &err), SB_ERR_CONFLICT,
               "Connection 'c' already exists.");
    json_object_set_new(json_object_get(def, "creationTag"), "versionNumber", json_integer(2));
    OK(store_conn_replace(st, "c", def, 1, "update", &err));
    assert_err(&err, store_conn_replace(st, "c", def, 1, "update", &err), SB_ERR_CONFLICT,
               "Connection 'c' was changed by someone else while this update was being made; "
               "read it again and reapply the change.");
    assert_err(&err, store_conn_replace(st, "nope", def, 1, "update", &err), SB_ERR_NOT_FOUND,
               "Connection 'nope' does not exist.");
    OK(store_conn_get(st, "c", &got, &err));
    assert_json_eq(got, def);
    json_decref(got);
    /* If-Match: a delete at another version changes nothing */
    assert_err(&err, store_conn_delete_at(st, "c", 1, false, "bob", 5000, &deleted, &err),
               SB_ERR_PRECONDITION_FAILED,
               "Connection 'c' is at version 2, not version 1 named by If-Match: it was changed "
               "since it was read; read it again and reapply the change.");
    OK(store_conn_get(st, "c", &got, &err));
    json_decref(got);
    OK(store_conn_delete_at(st, "c", 2, false, "bob", 5000, &deleted, &err));
    assert_int_equal(deleted, 3);
    assert_err(&err, store_conn_get(st, "c", &got, &err), SB_ERR_NOT_FOUND,
               "Connection 'c' does not exist.");
    assert_err(&err, store_conn_delete(st, "c", false, "bob", 5000, &deleted, &err),
               SB_ERR_NOT_FOUND, "Connection 'c' does not exist.");
    OK(store_conn_insert(st, "c", def, "revert", &err));
    assert_int_equal(version_of(def), 4);

    OK(store_conn_history(st, "c", &hist, &err));
    assert_int_equal(json_array_size(hist), 4);
    assert_string_equal(json_string_value(json_object_get(json_array_get(hist, 2), "action")),
                        "delete");
    assert_string_equal(json_string_value(json_object_get(json_array_get(hist, 2), "modifiedBy")),
                        "bob");
    assert_int_equal(json_integer_value(json_object_get(json_array_get(hist, 2), "modifiedOn")),
                     5000);
    assert_string_equal(json_string_value(json_object_get(json_array_get(hist, 0), "modifiedBy")),
                        "ann");
    json_decref(hist);
    OK(store_conn_version(st, "c", 2, &got, &err));
    assert_int_equal(version_of(got), 2);
    json_decref(got);
    assert_err(&err, store_conn_version(st, "c", 3, &got, &err), SB_ERR_NOT_FOUND,
               "Connection 'c' has no version 3 to revert to.");
    assert_err(&err, store_conn_history(st, "never", &hist, &err), SB_ERR_NOT_FOUND,
               "Connection 'never' has no history: it never existed.");
    json_decref(def);
}

/* The insert gives out the next version itself: what is stored is the definition with that
 * version, byte for byte, in the connection and its history, whatever else the definition holds
 * (even the number the store uses as a stand-in, or no creationTag at all). */
static void test_a_created_connection_is_stored_with_its_version(void **state)
{
    struct store *st = store_of(state);
    json_t *def = conn_def("PostgreSQL", "ann"), *odd = conn_def("PostgreSQL", "bob"), *got, *hist;
    json_t *bare = js("{'type': 'Filesystem', 'params': {'root': '/x'}}");
    const char *names[] = {"plain", "odd", "bare"};
    json_t *defs[] = {def, odd, bare};
    struct sb_err err;
    int64_t deleted;

    json_object_set_new(json_object_get(odd, "params"), "x",
                        js("{'versionNumber': -7029384756102938475}"));
    json_object_set_new(odd, "y", js("{'versionNumber': -7029384756102938475}"));
    OK(store_conn_insert(st, "plain", def, "create", &err));
    OK(store_conn_delete(st, "plain", false, "bob", 5000, &deleted, &err));
    OK(store_conn_insert(st, "plain", def, "create", &err));
    assert_int_equal(version_of(def), 3);
    OK(store_conn_insert(st, "odd", odd, "create", &err));
    assert_int_equal(version_of(odd), 1);
    OK(store_conn_insert(st, "bare", bare, "create", &err));
    for (int i = 0; i < 3; i++) {
        char *want = json_dumps(defs[i], JSON_COMPACT), *have;
        OK(store_conn_get(st, names[i], &got, &err));
        have = json_dumps(got, JSON_COMPACT);
        assert_string_equal(have, want);
        free(have);
        json_decref(got);
        OK(store_conn_history(st, names[i], &hist, &err));
        got = json_object_get(json_array_get(hist, json_array_size(hist) - 1), "definition");
        if (got) {
            have = json_dumps(got, JSON_COMPACT);
            assert_string_equal(have, want);
            free(have);
        }
        json_decref(hist);
        free(want);
    }
    OK(store_conn_version(st, "plain", 3, &got, &err));
    assert_json_eq(got, def);
    json_decref(got);
    json_decref(def);
    json_decref(odd);
    json_decref(bare);
}

static void test_connection_list_and_scan_agree(void **state)
{
    struct store *st = store_of(state);
    json_t *a = conn_def("PostgreSQL", "ann"), *b = conn_def("MySQL", "ann"), *all;
    struct sb_err err;

    json_object_set_new(b, "usableBy", json_null());
    OK(store_conn_insert(st, "b", b, "create", &err));
    OK(store_conn_insert(st, "a", a, "create", &err));
    OK(store_conn_list(st, &all, &err));
    assert_int_equal(json_object_size(all), 2);
    assert_string_equal(json_object_iter_key(json_object_iter(all)), "a"); /* name order */
    assert_json_eq(json_object_get(all, "b"), b);
    json_decref(all);
    json_decref(a);
    json_decref(b);
}

struct scanned {
    int n;
    char seen[256];
};

static void on_scan(void *ctx, const char *name, const char *type, int64_t version,
                    const char *usable_by, const char *allowed_groups, const char *text)
{
    struct scanned *s = ctx;
    size_t len = strlen(s->seen);
    (void)text;
    s->n++;
    snprintf(s->seen + len, sizeof(s->seen) - len, "%s:%s:%lld:%s:%s;", name, type,
             (long long)version, usable_by ? usable_by : "NULL",
             allowed_groups ? allowed_groups : "NULL");
}

static void test_connection_scan_gives_the_indexed_parts(void **state)
{
    struct store *st = store_of(state);
    json_t *a = conn_def("PostgreSQL", "ann");
    struct scanned s = {0};
    struct sb_err err;

    OK(store_conn_insert(st, "a", a, "create", &err));
    OK(store_conn_scan(st, on_scan, &s, &err));
    assert_int_equal(s.n, 1);
    assert_string_equal(s.seen, "a:PostgreSQL:1:ALL:[\"g1\",\"g2\"];");
    json_decref(a);
}

/* usableBy and allowedGroups are the definition's own members, not keys of the same names inside
 * its params or strings, and come back as json_extract gave them (a string's value, unescaped;
 * an array's JSON text; a JSON null as NULL). */
static void test_connection_scan_reads_the_top_level_members_only(void **state)
{
    struct store *st = store_of(state);
    json_t *a = conn_def("PostgreSQL", "ann"), *b = conn_def("Filesystem", "bob");
    struct scanned s = {0};
    struct sb_err err;

    json_object_set_new(a, "params",
                        json_pack("{s:s, s:{s:[s]}, s:s}", "usableBy", "ALL", "x", "allowedGroups",
                                  "no", "note", "\\\",\"usableBy\":\"ALL"));
    json_object_set_new(a, "usableBy", json_string("ALLOWED"));
    json_object_set_new(a, "allowedGroups", json_pack("[s]", "g\"1"));
    json_object_set_new(b, "usableBy", json_null());
    json_object_del(b, "allowedGroups");
    OK(store_conn_insert(st, "a", a, "create", &err));
    OK(store_conn_insert(st, "b", b, "create", &err));
    OK(store_conn_scan(st, on_scan, &s, &err));
    assert_int_equal(s.n, 2);
    assert_non_null(strstr(s.seen, "a:PostgreSQL:1:ALLOWED:[\"g\\\"1\"];"));
    assert_non_null(strstr(s.seen, "b:Filesystem:1:NULL:NULL;"));
    json_decref(a);
    json_decref(b);
}

struct stored_text {
    const char *name;
    char *text;
};

static void on_scan_text(void *ctx, const char *name, const char *type, int64_t version,
                         const char *usable_by, const char *allowed_groups, const char *text)
{
    struct stored_text *t = ctx;
    (void)type, (void)version, (void)usable_by, (void)allowed_groups;
    if (strcmp(name, t->name) == 0)
        t->text = strdup(text);
}

/* store_conn_insert_text (and store_conn_replace_text) gives the very bytes stored, which are the
 * definition's compact dump as the insert left it: with the version cut in (a re-created name's
 * too), and where the store dumps the definition whole (a stand-in that occurs twice, no
 * creationTag); nothing on a conflict. */
static void test_an_insert_and_a_replace_give_the_text_they_stored(void **state)
{
    struct store *st = store_of(state);
    json_t *def = conn_def("PostgreSQL", "ann"), *odd = conn_def("PostgreSQL", "bob");
    json_t *bare = js("{'type': 'Filesystem', 'params': {'root': '/x'}}");
    const char *names[] = {"plain", "odd", "bare"};
    json_t *defs[] = {def, odd, bare};
    struct sb_err err;
    int64_t deleted;
    char *text;

    json_object_set_new(odd, "y", js("{'versionNumber': -7029384756102938475}"));
    json_object_set_new(odd, "z", js("{'versionNumber': -7029384756102938475}"));
    OK(store_conn_insert(st, "plain", def, "create", &err));
    OK(store_conn_delete(st, "plain", false, "bob", 5000, &deleted, &err));
    for (int i = 0; i < 3; i++) {
        struct stored_text t = {names[i], NULL};
        char *want;
        OK(store_conn_insert_text(st, names[i], defs[i], "create", &text, &err));
        want = json_dumps(defs[i], JSON_COMPACT);
        assert_non_null(text);
        assert_string_equal(text, want);
        OK(store_conn_scan(st, on_scan_text, &t, &err));
        assert_non_null(t.text);
        assert_string_equal(t.text, text);
        free(t.text);
        free(want);
        free(text);
    }
    assert_int_equal(version_of(def), 3);
    text = (char *)"untouched";
    assert_err(&err, store_conn_insert_text(st, "plain", def, "create", &text, &err),
               SB_ERR_CONFLICT, "Connection 'plain' already exists.");
    assert_null(text);

    /* and a replace gives the text stored, which its history row holds too */
    struct stored_text t = {"plain", NULL};
    json_t *hist;
    char *want, *have;
    json_object_set_new(json_object_get(def, "creationTag"), "versionNumber", json_integer(4));
    json_object_set_new(def, "description", json_string("then \"changed\"\n"));
    OK(store_conn_replace_text(st, "plain", def, 3, "update", &text, &err));
    want = json_dumps(def, JSON_COMPACT);
    assert_string_equal(text, want);
    OK(store_conn_scan(st, on_scan_text, &t, &err));
    assert_string_equal(t.text, text);
    OK(store_conn_history(st, "plain", &hist, &err));
    have =
        json_dumps(json_object_get(json_array_get(hist, json_array_size(hist) - 1), "definition"),
                   JSON_COMPACT);
    assert_string_equal(have, want);
    free(have);
    json_decref(hist);
    free(t.text);
    free(want);
    free(text);
    text = (char *)"untouched"; /* a stale version: no text */
    assert_int_equal(store_conn_replace_text(st, "plain", def, 3, "update", &text, &err),
                     SB_ERR_CONFLICT);
    assert_null(text);
    json_decref(def);
    json_decref(odd);
    json_decref(bare);
}

/* Announcements heard by store_poll_changes: "NAME VERSION" of each connection, in order. */
struct heard {
    char list[1024];
    bool has_free; /* the name "free" was heard */
};

static void on_heard(void *ctx, const char *name, int64_t version, bool deleted, bool own)
{
    struct heard *h = ctx;
    size_t n = strlen(h->list);

    (void)deleted;
    (void)own;
    snprintf(h->list + n, sizeof(h->list) - n, "%s %lld;", name, (long long)version);
    if (strcmp(name, "free") == 0)
        h->has_free = true;
}

static void on_nothing(void *ctx)
{
    (void)ctx;
}

/* store_conn_insert_later: on PostgreSQL the insert travels with the COMMIT; a taken name fails
 * the COMMIT, and nothing of the transaction commits (its audit record, the history row) nor is
 * announced; a free one is known (version, text, history, announcement) once committed. */
static void test_an_insert_sent_with_the_commit_is_known_once_committed(void **state)
{
    struct store *st = store_of(state);
    struct fixture *fx = *state;
    json_t *def = conn_def("PostgreSQL", "ann"), *other = conn_def("MySQL", "bob");
    json_t *rec = js("{'ts': 10, 'action': 'connection.create'}"), *hist, *all, *got;
    struct heard heard = {.has_free = false};
    struct store_insert in;
    struct sb_err err;
    enum sb_err_kind kind;
    char *text = (char *)"untouched", *want, *have;

    OK(store_conn_insert(st, "taken", other, "create", &err));
    assert_int_equal(version_of(other), 1);

    OK(store_tx_begin(st, &err));
    kind = store_conn_insert_later(st, "taken", def, "create", &in, &err);
    assert_int_equal(in.later, fx->db[0] != '\0'); /* PostgreSQL only; SQLite: at once */
    if (kind == SB_OK) {
        OK(store_audit_append(st, rec, &err));
        kind = store_tx_commit(st, &err);
    } else {
        store_tx_rollback(st);
    }
    assert_err(&err, kind, SB_ERR_CONFLICT, "Connection 'taken' already exists.");
    assert_int_equal(store_conn_insert_done(&in, kind, def, &text, &err), SB_ERR_CONFLICT);
    assert_null(text);
    assert_int_equal(version_of(def), 0);
    OK(store_audit_list(st, -1, 10, NULL, &all, &err));
    assert_int_equal(json_array_size(all), 0);
    json_decref(all);
    OK(store_conn_history(st, "taken", &hist, &err));
    assert_int_equal(json_array_size(hist), 1);
    json_decref(hist);
    OK(store_conn_get(st, "taken", &got, &err));
    assert_json_eq(got, other);
    json_decref(got);

    OK(store_tx_begin(st, &err));
    OK(store_conn_insert_later(st, "free", def, "create", &in, &err));
    OK(store_audit_append(st, rec, &err));
    OK(store_tx_commit(st, &err));
    OK(store_conn_insert_done(&in, SB_OK, def, &text, &err));
    assert_int_equal(version_of(def), 1);
    want = json_dumps(def, JSON_COMPACT);
    assert_string_equal(text, want);
    OK(store_conn_get(st, "free", &got, &err));
    have = json_dumps(got, JSON_COMPACT);
    assert_string_equal(have, want);
    free(have);
    json_decref(got);
    OK(store_conn_history(st, "free", &hist, &err));
    assert_int_equal(json_array_size(hist), 1);
    have = json_dumps(json_object_get(json_array_get(hist, 0), "definition"), JSON_COMPACT);
    assert_string_equal(have, want);
    free(have);
    json_decref(hist);
    OK(store_audit_list(st, -1, 10, NULL, &all, &err));
    assert_int_equal(json_array_size(all), 1);
    json_decref(all);

    /* announced in order: "taken" once (its create), never at a version the failed insert
     * would have given it */
    for (int i = 0; fx->db[0] && i < 100 && !heard.has_free; i++)
        OK(store_poll_changes(st, on_heard, on_nothing, on_nothing, &heard, 100, &err));
    if (fx->db[0])
        assert_string_equal(heard.list, "taken 1;free 1;");
    free(want);
    free(text);
    json_decref(rec);
    json_decref(def);
    json_decref(other);
}

/* store_conn_get_locked then a replace: on PostgreSQL the replace travels with the COMMIT; the
 * version, the text and the history row are those of an immediate replace, and a replace at
 * another version than the one stored (which the lock makes a caller's mistake) fails the
 * COMMIT with the conflict's message and changes nothing. */
static void test_a_replace_under_the_read_lock_commits_with_the_transaction(void **state)
{
    struct store *st = store_of(state);
    json_t *def = conn_def("PostgreSQL", "ann"), *got, *hist;
    struct sb_err err;
    enum sb_err_kind kind;
    char *text = NULL, *want, *have;

    OK(store_conn_insert(st, "c", def, "create", &err));
    OK(store_tx_begin(st, &err));
    OK(store_conn_get_locked(st, "c", &got, &err));
    assert_json_eq(got, def);
    json_decref(got);
    json_object_set_new(json_object_get(def, "creationTag"), "versionNumber", json_integer(2));
    json_object_set_new(def, "description", json_string("locked"));
    OK(store_conn_replace_text(st, "c", def, 1, "update", &text, &err));
    OK(store_tx_commit(st, &err));
    want = json_dumps(def, JSON_COMPACT);
    assert_string_equal(text, want);
    free(text);
    OK(store_conn_get(st, "c", &got, &err));
    have = json_dumps(got, JSON_COMPACT);
    assert_string_equal(have, want);
    free(have);
    json_decref(got);
    OK(store_conn_history(st, "c", &hist, &err));
    assert_int_equal(json_array_size(hist), 2);
    have = json_dumps(json_object_get(json_array_get(hist, 1), "definition"), JSON_COMPACT);
    assert_string_equal(have, want);
    free(have);
    json_decref(hist);

    /* at a version other than the stored one: nothing of the transaction commits */
    OK(store_tx_begin(st, &err));
    OK(store_conn_get_locked(st, "c", &got, &err));
    json_decref(got);
    json_object_set_new(json_object_get(def, "creationTag"), "versionNumber", json_integer(8));
    kind = store_conn_replace_text(st, "c", def, 7, "update", &text, &err);
    if (kind == SB_OK) { /* PostgreSQL: known at the COMMIT */
        assert_non_null(text);
        free(text);
        OK(store_meta_set(st, "probe", "written", &err));
        kind = store_tx_commit(st, &err);
    } else {
        store_tx_rollback(st);
    }
    assert_err(&err, kind, SB_ERR_CONFLICT,
               "Connection 'c' was changed by someone else while this update was being made; "
               "read it again and reapply the change.");
    OK(store_conn_get(st, "c", &got, &err));
    have = json_dumps(got, JSON_COMPACT);
    assert_string_equal(have, want);
    free(have);
    json_decref(got);
    OK(store_conn_history(st, "c", &hist, &err));
    assert_int_equal(json_array_size(hist), 2);
    json_decref(hist);
    OK(store_meta_get(st, "probe", &have, &err));
    assert_null(have);
    free(want);
    json_decref(def);
}

/* On PostgreSQL the writes are prepared once per session, in the pipeline that first runs them:
 * a statement run several times in its first pipeline, one first prepared in a pipeline that
 * failed after it (a prepared statement outlives the transaction), and one whose preparation
 * that failure skipped, all run again as they should. */
static void test_statements_run_again_after_the_pipeline_that_prepared_them(void **state)
{
    struct store *st = store_of(state);
    json_t *def = conn_def("PostgreSQL", "ann"), *rec = js("{'ts': 5, 'action': 'x'}"), *all;
    struct store_insert in;
    struct sb_err err;
    enum sb_err_kind kind;
    char *text, *value;

    OK(store_tx_begin(st, &err));
    for (int i = 0; i < 3; i++)
        OK(store_audit_append(st, rec, &err));
    OK(store_tx_commit(st, &err));
    OK(store_tx_begin(st, &err)); /* (inside a transaction: the insert that answers at once) */
    OK(store_conn_insert(st, "c", def, "create", &err));
    OK(store_tx_commit(st, &err));

    OK(store_tx_begin(st, &err));
    kind = store_conn_insert_later(st, "c", def, "create", &in, &err);
    if (kind == SB_OK) {
        OK(store_meta_set(st, "m", "1", &err));
        kind = store_tx_commit(st, &err);
    } else {
        store_tx_rollback(st);
    }
    assert_err(&err, kind, SB_ERR_CONFLICT, "Connection 'c' already exists.");
    store_conn_insert_done(&in, kind, def, NULL, &err);

    OK(store_tx_begin(st, &err));
    OK(store_conn_insert_later(st, "d", def, "create", &in, &err));
    OK(store_meta_set(st, "m", "2", &err));
    OK(store_audit_append(st, rec, &err));
    OK(store_tx_commit(st, &err));
    OK(store_conn_insert_done(&in, SB_OK, def, &text, &err));
    assert_int_equal(version_of(def), 1);
    free(text);
    OK(store_meta_get(st, "m", &value, &err));
    assert_string_equal(value, "2");
    free(value);
    OK(store_audit_list(st, -1, 10, NULL, &all, &err));
    assert_int_equal(json_array_size(all), 4);
    json_decref(all);
    json_decref(rec);
    json_decref(def);
}

static void test_delete_of_a_used_connection_names_its_datasets(void **state)
{
    struct store *st = store_of(state);
    json_t *def = conn_def("PostgreSQL", "ann"), *ds, *uses, *got;
    struct sb_err err;
    int64_t deleted;
    char name[16];

    OK(store_conn_insert(st, "c", def, "create", &err));
    ds = js("{'type': 'PostgreSQL', 'params': {'connection': 'c'}}");
    OK(store_ds_insert(st, "P", "d1", ds, &err));
    assert_err(&err, store_conn_delete(st, "c", false, "bob", 1, &deleted, &err), SB_ERR_CONFLICT,
               "Connection 'c' is used by 1 dataset: P.d1; move it to another connection or "
               "delete with force=true.");
    for (int i = 2; i <= 22; i++) {
        snprintf(name, sizeof(name), "d%02d", i);
        OK(store_ds_insert(st, "Q", name, ds, &err));
    }
    assert_err(&err, store_conn_delete(st, "c", false, "bob", 1, &deleted, &err), SB_ERR_CONFLICT,
               NULL);
    assert_non_null(strstr(err.msg, "is used by 22 datasets: P.d1, Q.d02,"));
    assert_non_null(strstr(err.msg, " and 2 more; move them"));
    OK(store_conn_usages(st, "c", &uses, &err));
    assert_int_equal(json_array_size(uses), 22);
    got = js("{'projectKey': 'P', 'datasetName': 'd1', 'datasetType': 'PostgreSQL'}");
    assert_json_eq(json_array_get(uses, 0), got);
    json_decref(got);
    json_decref(uses);
    OK(store_conn_delete(st, "c", true, "bob", 1, &deleted, &err));
    assert_int_equal(deleted, 2);
    json_decref(ds);
    json_decref(def);
}

static void test_datasets_and_project_delete_cascade(void **state)
{
    struct store *st = store_of(state);
    json_t *ds = js("{'type': 'Filesystem', 'params': {}}"), *got, *all;
    struct sb_err err;

    OK(store_obj_insert(st, STORE_PROJECTS, "P", ds, &err));
    OK(store_ds_insert(st, "P", "d", ds, &err));
    assert_err(&err, store_ds_insert(st, "P", "d", ds, &err), SB_ERR_CONFLICT,
               "Dataset 'd' already exists in project 'P'.");
    assert_err(&err, store_ds_update(st, "P", "e", ds, &err), SB_ERR_NOT_FOUND,
               "Dataset 'e' does not exist in project 'P'.");
    json_object_set_new(ds, "type", json_string("S3"));
    OK(store_ds_update(st, "P", "d", ds, &err));
    OK(store_ds_get(st, "P", "d", &got, &err));
    assert_json_eq(got, ds);
    json_decref(got);
    OK(store_ds_insert(st, "P", "c", ds, &err));
    OK(store_ds_list(st, "P", &all, &err));
    assert_int_equal(json_array_size(all), 2);
    json_decref(all);
    OK(store_ds_delete(st, "P", "c", &err));
    /* a project without variables deletes, with its datasets */
    OK(store_project_delete(st, "P", &err));
    assert_err(&err, store_ds_get(st, "P", "d", &got, &err), SB_ERR_NOT_FOUND, NULL);
    assert_err(&err, store_project_delete(st, "P", &err), SB_ERR_NOT_FOUND,
               "Project 'P' does not exist.");
    OK(store_obj_insert(st, STORE_PROJECTS, "Q", ds, &err));
    OK(store_obj_insert(st, STORE_PROJECT_VARIABLES, "Q", ds, &err));
    OK(store_project_delete(st, "Q", &err));
    assert_err(&err, store_obj_get(st, STORE_PROJECT_VARIABLES, "Q", &got, &err), SB_ERR_NOT_FOUND,
               "Variables of project 'Q' does not exist.");
    json_decref(ds);
}

static void test_keys_by_hash_owner_and_user_delete(void **state)
{
    struct store *st = store_of(state);
    uint8_t h1[32] = {1}, h2[32] = {2}, h3[32] = {3};
    json_t *g = js("{'id': 'g1'}"), *p = js("{'id': 'p1', 'user': 'ann'}"), *got, *all;
    enum store_key_kind kind;
    struct sb_err err;
    uint64_t gen;

    OK(store_obj_insert(st, STORE_USERS, "ann", p, &err));
    OK(store_key_insert(st, STORE_KEY_GLOBAL, h1, g, &err));
    assert_err(&err, store_key_insert(st, STORE_KEY_GLOBAL, h2, g, &err), SB_ERR_CONFLICT,
               "An API key with the same id or secret exists.");
    assert_err(&err, store_key_insert(st, STORE_KEY_PERSONAL, h1, p, &err), SB_ERR_CONFLICT,
               "An API key with the same id or secret exists.");
    OK(store_key_insert(st, STORE_KEY_PERSONAL, h3, p, &err));
    OK(store_key_by_hash(st, h3, &got, &kind, &err));
    assert_int_equal(kind, STORE_KEY_PERSONAL);
    assert_json_eq(got, p);
    json_decref(got);
    assert_err(&err, store_key_by_hash(st, h2, &got, &kind, &err), SB_ERR_NOT_FOUND,
               "No such API key.");
    OK(store_key_list(st, STORE_KEY_PERSONAL, "ann", &all, &err));
    assert_int_equal(json_array_size(all), 1);
    json_decref(all);
    OK(store_key_list(st, STORE_KEY_PERSONAL, "bob", &all, &err));
    assert_int_equal(json_array_size(all), 0);
    json_decref(all);
    json_object_set_new(g, "label", json_string("x"));
    gen = store_auth_generation(st);
    OK(store_key_update(st, STORE_KEY_GLOBAL, "g1", g, &err));
    assert_true(store_auth_generation(st) > gen);
    OK(store_key_get(st, STORE_KEY_GLOBAL, "g1", &got, &err));
    assert_json_eq(got, g);
    json_decref(got);
    assert_err(&err, store_key_update(st, STORE_KEY_PERSONAL, "g1", g, &err), SB_ERR_NOT_FOUND,
               "Personal API key 'g1' does not exist.");
    assert_err(&err, store_key_delete(st, STORE_KEY_GLOBAL, "zz", &err), SB_ERR_NOT_FOUND,
               "Global API key 'zz' does not exist.");
    OK(store_user_delete(st, "ann", &err));
    assert_err(&err, store_key_by_hash(st, h3, &got, &kind, &err), SB_ERR_NOT_FOUND, NULL);
    OK(store_key_delete(st, STORE_KEY_GLOBAL, "g1", &err));
    json_decref(g);
    json_decref(p);
}

static void test_bootstrap_happens_once(void **state)
{
    struct store *st = store_of(state);
    uint8_t h1[32] = {7}, h2[32] = {8};
    json_t *a = js("{'id': 'boot1'}"), *b = js("{'id': 'boot2'}"), *all;
    struct sb_err err;
    bool done;

    OK(store_key_bootstrap(st, h1, a, &done, &err));
    assert_true(done);
    OK(store_key_bootstrap(st, h2, b, &done, &err));
    assert_false(done);
    OK(store_key_list(st, STORE_KEY_GLOBAL, NULL, &all, &err));
    assert_int_equal(json_array_size(all), 1);
    json_decref(all);
    json_decref(a);
    json_decref(b);
}

static void test_transactions_roll_back_and_nest(void **state)
{
    struct store *st = store_of(state);
    json_t *rec = js("{'x': 1}"), *got;
    struct sb_err err;

    assert_err(&err, store_tx_commit(st, &err), SB_ERR_INTERNAL,
               "The store has no transaction to commit.");
    OK(store_tx_begin(st, &err));
    OK(store_obj_insert(st, STORE_GROUPS, "g", rec, &err));
    store_tx_rollback(st);
    assert_err(&err, store_obj_get(st, STORE_GROUPS, "g", &got, &err), SB_ERR_NOT_FOUND, NULL);

    /* a failing operation inside rolls back alone; the rest commits */
    OK(store_tx_begin(st, &err));
    OK(store_obj_insert(st, STORE_GROUPS, "g", rec, &err));
    assert_err(&err, store_user_delete(st, "nobody", &err), SB_ERR_NOT_FOUND, NULL);
    OK(store_obj_insert(st, STORE_GROUPS, "h", rec, &err));
    OK(store_tx_commit(st, &err));
    OK(store_obj_get(st, STORE_GROUPS, "h", &got, &err));
    json_decref(got);
    OK(store_obj_get(st, STORE_GROUPS, "g", &got, &err));
    json_decref(got);
    json_decref(rec);
}

static void test_audit_lists_newest_first_before_a_time(void **state)
{
    struct store *st = store_of(state);
    struct sb_err err;
    json_t *all;

    for (int i = 1; i <= 5; i++) {
        json_t *rec = json_pack("{s:I, s:s}", "ts", (json_int_t)(i * 10), "action", "x");
        OK(store_audit_append(st, rec, &err));
        json_decref(rec);
    }
    OK(store_audit_list(st, -1, 2, NULL, &all, &err));
    assert_int_equal(json_array_size(all), 2);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(all, 0), "ts")), 50);
    json_decref(all);
    OK(store_audit_list(st, 30, 10, NULL, &all, &err));
    assert_int_equal(json_array_size(all), 2);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(all, 0), "ts")), 20);
    json_decref(all);
}

/* Reseal callback: appends "!" to field "s" of every record; fails on "bad". */
static enum sb_err_kind reseal_mark(void *ctx, int coll, json_t *rec, struct sb_err *err)
{
    const char *s = json_string_value(json_object_get(rec, "s"));
    char buf[64];

    ++*(int *)ctx;
    (void)coll;
    if (s && strcmp(s, "bad") == 0)
        return sb_err_set(err, SB_ERR_INTERNAL, "cannot reseal");
    if (s) {
        snprintf(buf, sizeof(buf), "%s!", s);
        json_object_set_new(rec, "s", json_string(buf));
    }
    return SB_OK;
}

static void test_reseal_rewrites_everything_or_nothing(void **state)
{
    struct store *st = store_of(state);
    json_t *def = conn_def("PostgreSQL", "ann"), *u = js("{'s': 'u'}"), *got, *meta;
    struct sb_err err;
    int calls = 0;
    char *v;

    json_object_set_new(def, "s", json_string("c"));
    OK(store_conn_insert(st, "c", def, "create", &err));
    OK(store_obj_insert(st, STORE_USERS, "ann", u, &err));
    meta = js("{'kcv': 'new'}");
    OK(store_reseal_all(st, reseal_mark, &calls, meta, &err));
    assert_int_equal(calls, 3); /* the connection, its history row, the user */
    OK(store_conn_get(st, "c", &got, &err));
    assert_string_equal(json_string_value(json_object_get(got, "s")), "c!");
    json_decref(got);
    OK(store_conn_version(st, "c", 1, &got, &err));
    assert_string_equal(json_string_value(json_object_get(got, "s")), "c!");
    json_decref(got);
    OK(store_meta_get(st, "kcv", &v, &err));
    assert_string_equal(v, "new");
    free(v);

    json_object_set_new(u, "s", json_string("bad"));
    OK(store_obj_update(st, STORE_USERS, "ann", u, &err));
    json_decref(meta);
    meta = js("{'kcv': 'newer'}");
    assert_err(&err, store_reseal_all(st, reseal_mark, &calls, meta, &err), SB_ERR_INTERNAL,
               "cannot reseal");
    OK(store_conn_get(st, "c", &got, &err));
    assert_string_equal(json_string_value(json_object_get(got, "s")), "c!");
    json_decref(got);
    OK(store_meta_get(st, "kcv", &v, &err));
    assert_string_equal(v, "new");
    free(v);
    json_decref(meta);
    json_decref(u);
    json_decref(def);
}

/* ---- a key rotation against sealing writes (issue 19 point 4): a write holds the key check
 * value it read (store_meta_get_held) until it commits; the rotation claims it first ---- */

struct rotation {
    struct store *st;
    atomic_int resealing; /* the rotation is inside its transaction (its first record) */
    int calls;
    enum sb_err_kind kind;
    struct sb_err err;
};

/* Reseal callback: reseal_mark, pausing at the first record so that another transaction can
 * start while the rotation is under way (the pause only widens the window). */
static enum sb_err_kind reseal_slowly(void *ctx, int coll, json_t *rec, struct sb_err *err)
{
    struct rotation *r = ctx;

    if (atomic_exchange(&r->resealing, 1) == 0)
        usleep(300 * 1000);
    return reseal_mark(&r->calls, coll, rec, err);
}

static void *rotate(void *arg)
{
    struct rotation *r = arg;
    json_t *meta = js("{'key_check': 'new'}");

    r->kind = store_reseal_all(r->st, reseal_slowly, r, meta, &r->err);
    json_decref(meta);
    return NULL;
}

/* In the open transaction of ST that holds the key check, starts the rotation R, writes DEF as
 * connection "late" sealed under the old key, and commits; the rotation must have waited for that
 * commit, then re-sealed the value. */
static void write_while_a_rotation_starts(struct store *st, struct rotation *r, json_t *def)
{
    struct sb_err err = {0};
    enum sb_err_kind kind;
    pthread_t t;
    json_t *got;

    assert_int_equal(pthread_create(&t, NULL, rotate, r), 0);
    usleep(200 * 1000); /* (the rotation would re-seal and commit now if nothing held it) */
    json_object_set_new(def, "s", json_string("sealed-old"));
    kind = store_conn_insert(st, "late", def, "create", &err);
    if (kind == SB_OK)
        kind = store_tx_commit(st, &err);
    else
        store_tx_rollback(st);
    pthread_join(t, NULL); /* (before any assertion: the thread uses R) */
    if (kind != SB_OK)
        fail_msg("%s", err.msg);
    assert_int_equal(r->kind, SB_OK);
    OK(store_conn_get(st, "late", &got, &err));
    assert_string_equal(json_string_value(json_object_get(got, "s")), "sealed-old!");
    json_decref(got);
}

static void test_a_rotation_waits_for_a_write_that_read_the_key_check(void **state)
{
    struct store *st = store_of(state);
    struct rotation r = {.st = st};
    json_t *def = conn_def("PostgreSQL", "ann");
    struct sb_err err = {0};
    char *v;

    OK(store_meta_set(st, STORE_META_KEY_CHECK, "old", &err));
    assert_err(&err, store_meta_get_held(st, STORE_META_KEY_CHECK, &v, &err), SB_ERR_INTERNAL,
               "A setting can be held only in a transaction.");
    /* the write checks the key, then the rotation starts before the write commits */
    OK(store_tx_begin(st, &err));
    OK(store_meta_get_held(st, STORE_META_KEY_CHECK, &v, &err));
    assert_string_equal(v, "old");
    free(v);
    write_while_a_rotation_starts(st, &r, def); /* the rotation waited, and re-sealed */
    OK(store_meta_get(st, STORE_META_KEY_CHECK, &v, &err));
    assert_string_equal(v, "new");
    free(v);
    json_decref(def);
}

static void test_a_write_during_a_rotation_reads_the_new_key_check(void **state)
{
    struct store *st = store_of(state);
    struct rotation r = {.st = st};
    json_t *def = conn_def("PostgreSQL", "ann");
    struct sb_err err = {0};
    enum sb_err_kind kind;
    pthread_t t;
    char *v = NULL;

    json_object_set_new(def, "s", json_string("c"));
    OK(store_conn_insert(st, "c", def, "create", &err));
    OK(store_meta_set(st, STORE_META_KEY_CHECK, "old", &err));
    assert_int_equal(pthread_create(&t, NULL, rotate, &r), 0);
    while (!atomic_load(&r.resealing))
        usleep(1000);
    /* a sealing write starts before the rotation commits: its check sees the new value (and
     * write_begin refuses it), never the old one the rotation is replacing */
    kind = store_tx_begin(st, &err);
    if (kind == SB_OK) {
        kind = store_meta_get_held(st, STORE_META_KEY_CHECK, &v, &err);
        store_tx_rollback(st);
    }
    pthread_join(t, NULL); /* (before any assertion: the thread uses R) */
    if (kind != SB_OK)
        fail_msg("%s", err.msg);
    assert_string_equal(v, "new");
    free(v);
    assert_int_equal(r.kind, SB_OK);
    json_decref(def);
}

#define MISMATCH "The key check differs."

/* Begins a transaction that expects the key check to be VALUE and inserts connection NAME in it:
 * the kind of the first step that failed (on PostgreSQL the check fails the insert it travels
 * with; on SQLite it fails at once), or of the commit. */
static enum sb_err_kind expect_then_insert(struct store *st, const char *value, const char *name,
                                           struct sb_err *err)
{
    json_t *def = conn_def("PostgreSQL", "ann");
    enum sb_err_kind kind;

    OK(store_tx_begin(st, err));
    kind = store_meta_expect_held(st, STORE_META_KEY_CHECK, value, MISMATCH, err);
    if (kind == SB_OK)
        kind = store_conn_insert(st, name, def, "create", err);
    if (kind == SB_OK)
        kind = store_tx_commit(st, err);
    else
        store_tx_rollback(st);
    json_decref(def);
    return kind;
}

static void test_a_write_that_expects_another_key_check_changes_nothing(void **state)
{
    struct store *st = store_of(state);
    struct sb_err err = {0};
    json_t *got, *rec = js("{'action': 'x'}");
    enum sb_err_kind kind;
    char *v;

    OK(store_meta_set(st, STORE_META_KEY_CHECK, "old", &err));
    assert_err(&err, store_meta_expect_held(st, STORE_META_KEY_CHECK, "old", MISMATCH, &err),
               SB_ERR_INTERNAL, "A setting can be held only in a transaction.");
    OK(expect_then_insert(st, "old", "kept", &err));
    assert_err(&err, expect_then_insert(st, "new", "lost", &err), SB_ERR_UNAVAILABLE, MISMATCH);
    assert_err(&err, store_conn_get(st, "lost", &got, &err), SB_ERR_NOT_FOUND, NULL);
    OK(store_conn_get(st, "kept", &got, &err));
    json_decref(got);
    /* a transaction whose only write is deferred too: its commit carries the check */
    OK(store_tx_begin(st, &err));
    kind = store_meta_expect_held(st, STORE_META_KEY_CHECK, "new", MISMATCH, &err);
    if (kind == SB_OK)
        kind = store_meta_set(st, STORE_META_VARIABLES, "{}", &err);
    if (kind == SB_OK)
        kind = store_tx_commit(st, &err);
    store_tx_rollback(st);
    assert_err(&err, kind, SB_ERR_UNAVAILABLE, MISMATCH);
    OK(store_meta_get(st, STORE_META_VARIABLES, &v, &err));
    assert_null(v);
    /* a missing value matches nothing */
    OK(store_tx_begin(st, &err));
    kind = store_meta_expect_held(st, "never_set", "old", MISMATCH, &err);
    if (kind == SB_OK)
        kind = store_audit_append(st, rec, &err);
    if (kind == SB_OK)
        kind = store_tx_commit(st, &err);
    store_tx_rollback(st);
    assert_err(&err, kind, SB_ERR_UNAVAILABLE, MISMATCH);
    /* the connection is usable afterwards */
    OK(expect_then_insert(st, "old", "after", &err));
    json_decref(rec);
}

/* A write that checked the key check (store_meta_expect_held) and ran a statement holds it: a
 * rotation that starts then waits for the write's commit. */
static void test_a_rotation_waits_for_a_write_that_expected_the_key_check(void **state)
{
    struct store *st = store_of(state);
    struct rotation r = {.st = st};
    json_t *def = conn_def("PostgreSQL", "ann");
    struct sb_err err = {0};
    char *v;

    OK(store_meta_set(st, STORE_META_KEY_CHECK, "old", &err));
    OK(store_tx_begin(st, &err));
    OK(store_meta_expect_held(st, STORE_META_KEY_CHECK, "old", MISMATCH, &err));
    OK(store_meta_get(st, STORE_META_VARIABLES, &v, &err)); /* (sends the check) */
    free(v);
    write_while_a_rotation_starts(st, &r, def);
    json_decref(def);
}

/* ---- group commit: concurrent writes share a transaction (SQLite), each keeping its own
 * outcome as if the writes had run one after the other; on PostgreSQL the same cases hold
 * with a transaction per write ---- */

/* One concurrent write: in a transaction of its own, connection NAME and its audit record;
 * ROLL_BACK: then rolls back, as a write whose later step failed. */
struct writer {
    struct store *st;
    const char *name;
    bool roll_back;
    enum sb_err_kind kind;
    struct sb_err err;
};

/* The audit record of creating NAME. */
static json_t *create_record(const char *name)
{
    return json_pack("{s:I, s:s, s:s}", "ts", (json_int_t)1000, "action", "connection.create",
                     "object", name);
}

/* Writes W's connection and its audit record in one transaction; W->kind the outcome. */
static void write_one(struct writer *w)
{
    json_t *def = conn_def("PostgreSQL", "ann"), *rec = create_record(w->name);

    w->kind = store_tx_begin(w->st, &w->err);
    if (w->kind == SB_OK) {
        w->kind = store_conn_insert(w->st, w->name, def, "create", &w->err);
        if (w->kind == SB_OK)
            w->kind = store_audit_append(w->st, rec, &w->err);
        if (w->kind == SB_OK && !w->roll_back)
            w->kind = store_tx_commit(w->st, &w->err);
        else
            store_tx_rollback(w->st);
    }
    json_decref(rec);
    json_decref(def);
}

static void *writer_run(void *arg)
{
    write_one(arg);
    return NULL;
}

/* Whether the store of STATE is the SQLite one (whose writes share transactions). */
static bool is_sqlite(void **state)
{
    return ((struct fixture *)*state)->dir[0] != '\0';
}

/* Writes FIRST, and while its transaction is open starts the N writers W, each on a thread of
 * its own; on SQLite, commits FIRST only once all of them wait for the write connection, so
 * that FIRST's transaction is the one they all join. Returns FIRST's outcome once every
 * writer is done. */
static enum sb_err_kind write_together(void **state, struct writer *first, struct writer *w, int n)
{
    struct store *st = first->st;
    struct store_batch_stats bs;
    pthread_t t[16];
    json_t *def = conn_def("PostgreSQL", "ann"), *rec = create_record(first->name);

    assert_true(n <= 16);
    OK(store_tx_begin(st, &first->err));
    OK(store_conn_insert(st, first->name, def, "create", &first->err));
    OK(store_audit_append(st, rec, &first->err));
    for (int i = 0; i < n; i++)
        assert_int_equal(pthread_create(&t[i], NULL, writer_run, &w[i]), 0);
    if (is_sqlite(state)) {
        do {
            usleep(1000);
            store_batch_stats(st, &bs);
        } while (bs.waiting < n);
    } else {
        usleep(200 * 1000);
    }
    first->kind = store_tx_commit(st, &first->err);
    for (int i = 0; i < n; i++)
        pthread_join(t[i], NULL);
    json_decref(rec);
    json_decref(def);
    return first->kind;
}

/* Asserts that connection NAME is stored at version 1 with its history and audit record, or
 * (PRESENT false) that nothing of it is. */
static void assert_written(struct store *st, const char *name, bool present)
{
    struct audit_filter f = {.field = {{NULL, false}, {NULL, false}, {name, false}}};
    struct sb_err err;
    json_t *got, *all;

    if (!present) {
        assert_err(&err, store_conn_get(st, name, &got, &err), SB_ERR_NOT_FOUND, NULL);
        assert_err(&err, store_conn_history(st, name, &all, &err), SB_ERR_NOT_FOUND, NULL);
    } else {
        OK(store_conn_get(st, name, &got, &err));
        assert_int_equal(version_of(got), 1);
        json_decref(got);
        OK(store_conn_history(st, name, &all, &err));
        assert_int_equal(json_array_size(all), 1);
        json_decref(all);
    }
    OK(store_audit_list(st, -1, 100, &f, &all, &err));
    if (json_array_size(all) != (present ? 1u : 0u))
        fail_msg("%s: %zu audit records, expected %d", name, json_array_size(all), present);
    json_decref(all);
}

static void test_concurrent_writes_each_keep_their_own_outcome(void **state)
{
    struct store *st = store_of(state);
    struct writer first = {.st = st, .name = "w_first"}, w[9];
    static const char *const names[] = {"w0", "w1", "w2", "w3", "w4", "w5"};
    struct store_batch_stats before, after;
    int dup_ok = 0, dup_conflict = 0;

    for (int i = 0; i < 6; i++)
        w[i] = (struct writer){.st = st, .name = names[i]};
    w[6] = (struct writer){.st = st, .name = "w_rolled_back", .roll_back = true};
    w[7] = (struct writer){.st = st, .name = "w_dup"};
    w[8] = (struct writer){.st = st, .name = "w_dup"};
    store_batch_stats(st, &before);
    OK(write_together(state, &first, w, 9));
    store_batch_stats(st, &after);

    for (int i = 0; i < 7; i++)
        if (w[i].kind != SB_OK)
            fail_msg("%s: %s", w[i].name, w[i].err.msg);
    for (int i = 7; i < 9; i++) {
        if (w[i].kind == SB_OK)
            dup_ok++;
        else if (w[i].kind == SB_ERR_CONFLICT &&
                 strcmp(w[i].err.msg, "Connection 'w_dup' already exists.") == 0)
            dup_conflict++;
        else
            fail_msg("w_dup: %d %s", w[i].kind, w[i].err.msg);
    }
    /* the second create of the same name is refused, as if the two had run one after the
     * other, and its failure undoes nothing of the others */
    assert_int_equal(dup_ok, 1);
    assert_int_equal(dup_conflict, 1);
    assert_written(st, "w_first", true);
    for (int i = 0; i < 6; i++)
        assert_written(st, names[i], true);
    assert_written(st, "w_dup", true);
    assert_written(st, "w_rolled_back", false);
    if (is_sqlite(state)) {
        /* one transaction held them all: the first, w0..w5 and one w_dup */
        assert_int_equal(after.commits - before.commits, 1);
        assert_int_equal(after.writes - before.writes, 8);
    }
}

/* A write whose work fails inside a transaction that later writes joined: only its own work
 * goes, theirs commits. */
static void test_a_failing_write_does_not_undo_the_writes_before_it(void **state)
{
    struct store *st = store_of(state);
    struct writer first = {.st = st, .name = "a_first"}, w[2];
    json_t *def = conn_def("PostgreSQL", "ann");
    struct sb_err err;

    OK(store_conn_insert(st, "taken", def, "create", &err));
    w[0] = (struct writer){.st = st, .name = "taken"}; /* 409 inside the shared transaction */
    w[1] = (struct writer){.st = st, .name = "a_last"};
    OK(write_together(state, &first, w, 2));
    assert_err(&w[0].err, w[0].kind, SB_ERR_CONFLICT, "Connection 'taken' already exists.");
    OK(w[1].kind);
    assert_written(st, "a_first", true);
    assert_written(st, "a_last", true);
    json_decref(def);
}

/* Makes every commit of a transaction that created connection "poison" fail, as a disk that
 * refuses it would: a deferred foreign key that nothing satisfies, checked at COMMIT only. */
static void poison_commits(void **state)
{
    struct fixture *fx = *state;
    char path[128];
    sqlite3 *db;

    snprintf(path, sizeof(path), "%s/switchboard.db", fx->dir);
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(
        sqlite3_exec(db,
                     "CREATE TABLE poison_parent (id INTEGER PRIMARY KEY);"
                     "CREATE TABLE poison (ref INTEGER REFERENCES poison_parent (id)"
                     "  DEFERRABLE INITIALLY DEFERRED);"
                     "CREATE TRIGGER poison_create AFTER INSERT ON connections"
                     "  WHEN NEW.name = 'poison' BEGIN INSERT INTO poison VALUES (1); END;",
                     NULL, NULL, NULL),
        SQLITE_OK);
    sqlite3_close(db);
}

static void test_a_commit_that_fails_fails_every_write_it_holds(void **state)
{
    struct store *st = store_of(state);
    struct writer first = {.st = st, .name = "p_first"}, w[4];
    static const char *const names[] = {"p0", "p1", "p2", "poison"};
    struct writer after = {.st = st, .name = "p_after"};

    if (!is_sqlite(state))
        skip(); /* (the failure is injected through SQLite's schema) */
    poison_commits(state);
    for (int i = 0; i < 4; i++)
        w[i] = (struct writer){.st = st, .name = names[i]};
    /* every write of the transaction is refused, none acknowledged, none stored */
    assert_err(&first.err, write_together(state, &first, w, 4), SB_ERR_INTERNAL,
               "The store failed to commit (constraint failed).");
    for (int i = 0; i < 4; i++)
        assert_err(&w[i].err, w[i].kind, SB_ERR_INTERNAL,
                   "The store failed to commit (constraint failed).");
    assert_written(st, "p_first", false);
    for (int i = 0; i < 4; i++)
        assert_written(st, names[i], false);
    /* and the store writes on */
    write_one(&after);
    OK(after.kind);
    assert_written(st, "p_after", true);
}

static void test_names_that_are_not_utf8_are_not_found(void **state)
{
    struct store *st = store_of(state);
    struct sb_err err;
    json_t *got;

    assert_err(&err, store_conn_get(st, "bad\xff", &got, &err), SB_ERR_NOT_FOUND, NULL);
}

/* ---- the SQLite schema (sqlite only) ---- */

/* Runs SQL on the database file PATH, outside the store. */
static void sql_on(const char *path, const char *sql)
{
    sqlite3 *db;
    char *msg = NULL;

    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
        fail_msg("%s: %s", sql, msg);
    sqlite3_close(db);
}

/* The integer the query SQL gives on PATH (-1 without a row). */
static int64_t sql_int(const char *path, const char *sql)
{
    sqlite3 *db;
    sqlite3_stmt *s;
    int64_t v = -1;

    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK);
    if (sqlite3_step(s) == SQLITE_ROW)
        v = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    sqlite3_close(db);
    return v;
}

/* A data directory of schema version 3 (migrations 1-3, as shipped) with a connection at
 * version 2, one created and deleted, and an audit trail whose oldest records were purged,
 * opened by this build: every row is there, with its numbers, and writes go on after them. */
static void test_a_version_3_database_migrates_with_every_row(void **state)
{
    struct fixture *fx = *state;
    char path[128];
    struct store *st;
    struct sb_err err;
    json_t *got, *hist, *all, *def;
    int64_t deleted;

    if (!is_sqlite(state))
        skip();
    snprintf(path, sizeof(path), "%s/old.db", fx->dir);
    sql_on(
        path,
        "PRAGMA journal_mode = WAL;"
        "CREATE TABLE meta (name TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;"
        "CREATE TABLE connections (name TEXT PRIMARY KEY, type TEXT NOT NULL,"
        "  version INTEGER NOT NULL, definition TEXT NOT NULL);"
        "CREATE TABLE api_keys (seq INTEGER PRIMARY KEY AUTOINCREMENT, kind INTEGER NOT NULL,"
        "  id TEXT NOT NULL, hash BLOB NOT NULL UNIQUE, record TEXT NOT NULL, UNIQUE (kind, id));"
        "CREATE TABLE objects (coll INTEGER NOT NULL, id TEXT NOT NULL, record TEXT NOT NULL,"
        "  PRIMARY KEY (coll, id)) WITHOUT ROWID;"
        "ALTER TABLE api_keys ADD COLUMN owner TEXT;"
        "CREATE INDEX api_keys_owner ON api_keys (owner);"
        "CREATE TABLE audit (seq INTEGER PRIMARY KEY AUTOINCREMENT, ts INTEGER NOT NULL,"
        "  record TEXT NOT NULL);"
        "CREATE INDEX audit_ts ON audit (ts);"
        "CREATE TABLE conn_history (seq INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL,"
        "  version INTEGER NOT NULL, action TEXT NOT NULL, modified_by TEXT NOT NULL,"
        "  modified_on INTEGER NOT NULL, definition TEXT NOT NULL);"
        "CREATE INDEX conn_history_name ON conn_history (name, version);"
        "CREATE TABLE datasets (project TEXT NOT NULL, name TEXT NOT NULL, type TEXT NOT NULL,"
        "  connection TEXT, definition TEXT NOT NULL, PRIMARY KEY (project, name)) WITHOUT ROWID;"
        "CREATE INDEX datasets_connection ON datasets (connection);"
        "INSERT INTO connections VALUES ('kept', 'Filesystem', 2,"
        "  '{\"type\":\"Filesystem\",\"params\":{\"root\":\"/b\"},"
        "\"creationTag\":{\"versionNumber\":2}}');"
        "INSERT INTO conn_history (name, version, action, modified_by, modified_on, definition)"
        "  VALUES ('kept', 1, 'create', 'ann', 100,"
        "  '{\"type\":\"Filesystem\",\"params\":{\"root\":\"/a\"},"
        "\"creationTag\":{\"versionNumber\":1}}'),"
        "  ('gone', 1, 'create', 'ann', 110, '{\"type\":\"Filesystem\"}'),"
        "  ('kept', 2, 'update', 'bob', 200,"
        "  '{\"type\":\"Filesystem\",\"params\":{\"root\":\"/b\"},"
        "\"creationTag\":{\"versionNumber\":2}}'),"
        "  ('gone', 1, 'delete', 'bob', 210, '{\"type\":\"Filesystem\"}');"
        "INSERT INTO audit (ts, record) VALUES (5, '{\"ts\":5,\"n\":1}'),"
        "  (10, '{\"ts\":10,\"n\":2}'), (10, '{\"ts\":10,\"n\":3}');"
        "DELETE FROM audit WHERE ts < 10;"
        "PRAGMA user_version = 3;");

    st = store_open(path, &err);
    if (!st)
        fail_msg("%s", err.msg);
    OK(store_conn_get(st, "kept", &got, &err));
    assert_string_equal(json_string_value(json_object_get(json_object_get(got, "params"), "root")),
                        "/b");
    json_decref(got);
    OK(store_conn_history(st, "kept", &hist, &err));
    assert_int_equal(json_array_size(hist), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(hist, 1), "modifiedBy")),
                        "bob");
    json_decref(hist);
    OK(store_conn_version(st, "kept", 1, &got, &err));
    assert_int_equal(version_of(got), 1);
    json_decref(got);
    /* versions go on after the migrated history: "gone" had version 1, created and deleted */
    def = conn_def("Filesystem", "cy");
    OK(store_conn_insert(st, "gone", def, "create", &err));
    assert_int_equal(version_of(def), 2);
    OK(store_conn_delete(st, "gone", false, "cy", 300, &deleted, &err));
    OK(store_conn_history(st, "gone", &hist, &err));
    assert_int_equal(json_array_size(hist), 4);
    assert_string_equal(json_string_value(json_object_get(json_array_get(hist, 1), "action")),
                        "delete");
    assert_string_equal(json_string_value(json_object_get(json_array_get(hist, 3), "action")),
                        "delete");
    json_decref(hist);
    /* the audit trail: newest first, and a record appended at the same time comes before the
     * migrated ones (its number is after theirs) */
    OK(store_audit_append_text(st, 10, "{\"ts\":10,\"n\":4}", &err));
    OK(store_audit_list(st, -1, 10, NULL, &all, &err));
    assert_int_equal(json_array_size(all), 3);
    for (int i = 0; i < 3; i++)
        assert_int_equal(json_integer_value(json_object_get(json_array_get(all, i), "n")), 4 - i);
    json_decref(all);
    json_decref(def);
    store_close(st);

    /* the layout of migration 4: no sequence for the history and the audit trail */
    assert_int_equal(sql_int(path, "PRAGMA user_version"), 4);
    assert_int_equal(sql_int(path, "SELECT COUNT(*) FROM sqlite_master WHERE sql LIKE"
                                   " '%AUTOINCREMENT%' AND name IN ('audit', 'conn_history')"),
                     0);
    assert_int_equal(sql_int(path, "SELECT COUNT(*) FROM sqlite_sequence"
                                   " WHERE name IN ('audit', 'conn_history')"),
                     0);
    assert_int_equal(sql_int(path, "SELECT COUNT(*) FROM sqlite_master WHERE name IN"
                                   " ('conn_history_name', 'audit_ts')"),
                     2);
    assert_int_equal(sql_int(path, "SELECT MAX(seq) FROM conn_history"), 6);
}

/* The size in bytes of PATH (0 when missing). */
static long long file_size(const char *path)
{
    FILE *f = fopen(path, "rb");
    long long n;

    if (!f)
        return 0;
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fclose(f);
    return n;
}

/* One create as the service makes it (the key check read, the connection, its history and its
 * audit record in one transaction) appends at most 6 pages to the write-ahead log: the
 * connections' table and name index, the history's table and index, the audit trail's table
 * and index (schema version 3 wrote sqlite_sequence's page besides: 7). */
static void test_a_create_writes_six_pages_at_most(void **state)
{
    struct fixture *fx = *state;
    struct store *st = store_of(state);
    char wal[128], name[32], *value = NULL;
    struct sb_err err;
    long long before;

    if (!is_sqlite(state))
        skip();
    snprintf(wal, sizeof(wal), "%s/switchboard.db-wal", fx->dir);
    OK(store_meta_set(st, "key_check", "x", &err));
    for (int i = 0; i < 12; i++) {
        json_t *def = conn_def("PostgreSQL", "ann");
        snprintf(name, sizeof(name), "conn_%03d", i);
        before = file_size(wal);
        OK(store_tx_begin(st, &err));
        OK(store_meta_get_held(st, "key_check", &value, &err));
        free(value);
        OK(store_conn_insert(st, name, def, "create", &err));
        OK(store_audit_append_text(st, 1000 + i, "{\"action\":\"connection.create\"}", &err));
        OK(store_tx_commit(st, &err));
        json_decref(def);
        /* (a page is a frame of 24 + 4096 bytes; the log grows until its first checkpoint) */
        if (i >= 2 && (file_size(wal) - before) / 4120 > 6)
            fail_msg("create %d appended %lld pages to the log", i,
                     (file_size(wal) - before) / 4120);
    }
}

#define CASES(setup)                                                                               \
    {                                                                                              \
        cmocka_unit_test_setup_teardown(test_meta_init_sets_once_and_set_replaces, setup,          \
                                        teardown),                                                 \
            cmocka_unit_test_setup_teardown(test_objects_insert_get_update_delete_with_messages,   \
                                            setup, teardown),                                      \
            cmocka_unit_test_setup_teardown(test_connection_versions_continue_after_delete, setup, \
                                            teardown),                                             \
            cmocka_unit_test_setup_teardown(test_a_created_connection_is_stored_with_its_version,  \
                                            setup, teardown),                                      \
            cmocka_unit_test_setup_teardown(                                                       \
                test_an_insert_and_a_replace_give_the_text_they_stored, setup, teardown),          \
            cmocka_unit_test_setup_teardown(test_connection_list_and_scan_agree, setup, teardown), \
            cmocka_unit_test_setup_teardown(test_connection_scan_gives_the_indexed_parts, setup,   \
                                            teardown),                                             \
            cmocka_unit_test_setup_teardown(test_connection_scan_reads_the_top_level_members_only, \
                                            setup, teardown),                                      \
            cmocka_unit_test_setup_teardown(                                                       \
                test_an_insert_sent_with_the_commit_is_known_once_committed, setup, teardown),     \
            cmocka_unit_test_setup_teardown(                                                       \
                test_a_replace_under_the_read_lock_commits_with_the_transaction, setup, teardown), \
            cmocka_unit_test_setup_teardown(                                                       \
                test_statements_run_again_after_the_pipeline_that_prepared_them, setup, teardown), \
            cmocka_unit_test_setup_teardown(test_delete_of_a_used_connection_names_its_datasets,   \
                                            setup, teardown),                                      \
            cmocka_unit_test_setup_teardown(test_datasets_and_project_delete_cascade, setup,       \
                                            teardown),                                             \
            cmocka_unit_test_setup_teardown(test_keys_by_hash_owner_and_user_delete, setup,        \
                                            teardown),                                             \
            cmocka_unit_test_setup_teardown(test_bootstrap_happens_once, setup, teardown),         \
            cmocka_unit_test_setup_teardown(test_transactions_roll_back_and_nest, setup,           \
                                            teardown),                                             \
            cmocka_unit_test_setup_teardown(test_audit_lists_newest_first_before_a_time, setup,    \
                                            teardown),                                             \
            cmocka_unit_test_setup_teardown(test_reseal_rewrites_everything_or_nothing, setup,     \
                                            teardown),                                             \
            cmocka_unit_test_setup_teardown(                                                       \
                test_a_rotation_waits_for_a_write_that_read_the_key_check, setup, teardown),       \
            cmocka_unit_test_setup_teardown(                                                       \
                test_a_write_during_a_rotation_reads_the_new_key_check, setup, teardown),          \
            cmocka_unit_test_setup_teardown(                                                       \
                test_a_write_that_expects_another_key_check_changes_nothing, setup, teardown),     \
            cmocka_unit_test_setup_teardown(                                                       \
                test_a_rotation_waits_for_a_write_that_expected_the_key_check, setup, teardown),   \
            cmocka_unit_test_setup_teardown(test_concurrent_writes_each_keep_their_own_outcome,    \
                                            setup, teardown),                                      \
            cmocka_unit_test_setup_teardown(                                                       \
                test_a_failing_write_does_not_undo_the_writes_before_it, setup, teardown),         \
            cmocka_unit_test_setup_teardown(test_a_commit_that_fails_fails_every_write_it_holds,   \
                                            setup, teardown),                                      \
            cmocka_unit_test_setup_teardown(test_names_that_are_not_utf8_are_not_found, setup,     \
                                            teardown),                                             \
            cmocka_unit_test_setup_teardown(test_a_version_3_database_migrates_with_every_row,     \
                                            setup, teardown),                                      \
            cmocka_unit_test_setup_teardown(test_a_create_writes_six_pages_at_most, setup,         \
                                            teardown),                                             \
    }

/* With an argument "sqlite" or "postgresql", runs the cases on that backend only. */
int main(int argc, char **argv)
{
    const struct CMUnitTest sqlite[] = CASES(setup_sqlite);
    const struct CMUnitTest pg[] = CASES(setup_pg);
    const char *only = argc > 1 ? argv[1] : "";
    int failed = 0;

    srand((unsigned)getpid());
    log_threshold = LOG_WARN; /* (migrations log at info) */
    if (strcmp(only, "postgresql") != 0)
        failed += cmocka_run_group_tests_name("store on sqlite", sqlite, NULL, NULL);
    if (strcmp(only, "sqlite") != 0)
        failed += cmocka_run_group_tests_name("store on postgresql", pg, NULL, NULL);
    return failed;
}
