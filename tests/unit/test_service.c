/* SPDX-License-Identifier: Apache-2.0 */
/* The service layer (src/service/) called directly, with no HTTP: an actor made by hand, a
 * temporary SQLite store, a catalog. A change commits with its audit record or not at all, a
 * failed validation writes nothing, a taken name is a conflict, and the catalog hears of a
 * change only once its write committed. */
/* cmocka.h needs these four first */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "json_assert.h"

#include <fcntl.h>
#include <jansson.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "app.h"
#include "core/apikeys.h"
#include "core/catalog.h"
#include "core/principal.h"
#include "core/session.h"
#include "service/audit.h"
#include "service/service.h"
#include "service/write.h"
#include "settings.h"
#include "store/store.h"
#include "util/clock.h"

struct fixture {
    char dir[64];
    struct config cfg;
    struct app app;
    struct principal admin;
    struct actor actor;
    struct write_tx w;
};

static int setup(void **state)
{
    struct fixture *fx = calloc(1, sizeof(*fx));
    uint8_t master[32];
    char path[128];
    struct sb_err err;

    snprintf(fx->dir, sizeof(fx->dir), "/tmp/sb-service-test.XXXXXX");
    if (!mkdtemp(fx->dir))
        return -1;
    snprintf(path, sizeof(path), "%s/switchboard.db", fx->dir);
    fx->app.store = store_open(path, &err);
    if (!fx->app.store) {
        print_error("%s\n", err.msg);
        return -1;
    }
    memset(master, 7, sizeof(master));
    secrets_init(&fx->app.secrets, master);
    fx->app.cfg = &fx->cfg;
    fx->app.catalog = catalog_new();
    fx->app.audit_fd = -1;
    fx->admin.type = PRINCIPAL_USER;
    snprintf(fx->admin.login, sizeof(fx->admin.login), "alice");
    fx->admin.admin = true;
    fx->actor.app = &fx->app;
    fx->actor.principal = &fx->admin;
    fx->actor.request_id = "req-1";
    fx->actor.addr = "127.0.0.1";
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *fx = *state;
    char cmd[128];

    catalog_free(fx->app.catalog);
    secrets_clear(&fx->app.secrets);
    store_close(fx->app.store);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", fx->dir);
    if (system(cmd) != 0)
        return -1;
    free(fx);
    return 0;
}

/* Opens a write for the actor, as the dispatcher does for an audited route. */
static void begin(struct fixture *fx)
{
    struct sb_err err;

    assert_int_equal(write_begin(&fx->w, &fx->app, &err), SB_OK);
    fx->actor.write = &fx->w;
}

static void commit(struct fixture *fx)
{
    struct sb_err err;

    assert_int_equal(write_commit(&fx->w, &err), SB_OK);
    fx->actor.write = NULL;
}

static void rollback(struct fixture *fx)
{
    write_rollback(&fx->w);
    fx->actor.write = NULL;
}

/* The audit records stored, newest first (new reference). */
static json_t *audit_records(struct fixture *fx)
{
    struct audit_filter f = {0};
    struct sb_err err;
    json_t *list = NULL;

    assert_int_equal(store_audit_list(fx->app.store, -1, 100, &f, &list, &err), SB_OK);
    return list;
}

static bool in_catalog(struct fixture *fx, const char *name)
{
    struct catalog_entry *e = catalog_get(fx->app.catalog, name);

    if (e)
        catalog_entry_release(e);
    return e != NULL;
}

static bool stored(struct fixture *fx, const char *name)
{
    struct sb_err err;
    json_t *def = NULL;
    enum sb_err_kind rc = store_conn_get(fx->app.store, name, &def, &err);

    json_decref(def);
    if (rc != SB_OK)
        assert_int_equal(rc, SB_ERR_NOT_FOUND);
    return rc == SB_OK;
}

#define PG_BODY                                                                                    \
    "{'name':'%s','type':'PostgreSQL','params':{'host':'127.0.0.1','password':'s3cret-pw'}}"

static json_t *pg_body(const char *name)
{
    char text[256];

    snprintf(text, sizeof(text), PG_BODY, name);
    return js(text);
}

/* A create in a write commits the definition, its history and its audit record together; the
 * password is stored sealed and the record never holds it. */
static void test_create_commits_definition_and_audit_record(void **state)
{
    struct fixture *fx = *state;
    json_t *body = pg_body("pg-main"), *def = NULL, *recs, *history = NULL;
    struct sb_err err;

    begin(fx);
    assert_int_equal(svc_conn_create(&fx->actor, body, &def, &err), SB_OK);
    assert_non_null(def);
    assert_string_equal(json_string_value(json_object_get(def, "name")), "pg-main");
    assert_string_not_equal(
        json_string_value(json_object_get(json_object_get(def, "params"), "password")),
        "s3cret-pw");
    commit(fx);

    assert_true(stored(fx, "pg-main"));
    assert_int_equal(store_conn_history(fx->app.store, "pg-main", &history, &err), SB_OK);
    assert_int_equal(json_array_size(history), 1);
    recs = audit_records(fx);
    assert_int_equal(json_array_size(recs), 1);
    json_t *rec = json_array_get(recs, 0);
    assert_string_equal(json_string_value(json_object_get(rec, "action")), "connection.create");
    assert_string_equal(json_string_value(json_object_get(rec, "object")), "pg-main");
    assert_string_equal(json_string_value(json_object_get(rec, "outcome")), "success");
    assert_string_equal(json_string_value(json_object_get(rec, "principal")), "alice");
    assert_string_equal(json_string_value(json_object_get(rec, "requestId")), "req-1");
    assert_string_equal(json_string_value(json_object_get(rec, "remoteAddr")), "127.0.0.1");
    char *text = json_dumps(recs, 0);
    assert_null(strstr(text, "s3cret-pw"));
    free(text);
    json_decref(recs);
    json_decref(history);
    json_decref(def);
    json_decref(body);
}

/* svc_conn_create_text (and svc_conn_update_text) answers the text the definition dumps to, which
 * is what the catalog holds once the write committed (the store's bytes: test_store). */
static void test_create_and_update_text_is_the_definition_the_catalog_holds(void **state)
{
    struct fixture *fx = *state;
    json_t *body = pg_body("pg-text"), *other = pg_body("pg-other"), *def = NULL;
    struct catalog_entry *e;
    char *text = NULL, *held, *want;
    struct sb_err err;

    begin(fx);
    assert_int_equal(svc_conn_create_text(&fx->actor, body, &text, &err), SB_OK);
    assert_non_null(text);
    assert_false(in_catalog(fx, "pg-text")); /* not before the commit */
    commit(fx);
    assert_non_null(e = catalog_get(fx->app.catalog, "pg-text"));
    held = catalog_entry_json_copy(e);
    catalog_entry_release(e);
    assert_string_equal(held, text);
    assert_int_equal(store_conn_get(fx->app.store, "pg-text", &def, &err), SB_OK);
    want = json_dumps(def, JSON_COMPACT);
    assert_string_equal(text, want);
    free(want);
    free(held);
    free(text);
    json_decref(def);

    begin(fx); /* an update's text likewise */
    json_object_set_new(body, "description", json_string("updated \"now\""));
    assert_int_equal(svc_conn_update_text(&fx->actor, "pg-text", body, -1, &text, &err), SB_OK);
    commit(fx);
    assert_non_null(e = catalog_get(fx->app.catalog, "pg-text"));
    held = catalog_entry_json_copy(e);
    catalog_entry_release(e);
    assert_string_equal(held, text);
    assert_non_null(strstr(text, "updated \\\"now\\\""));
    assert_int_equal(store_conn_get(fx->app.store, "pg-text", &def, &err), SB_OK);
    want = json_dumps(def, JSON_COMPACT);
    assert_string_equal(text, want);
    free(want);
    free(held);
    free(text);
    json_decref(def);
    begin(fx); /* a stale If-Match answers no text */
    text = (char *)"untouched";
    assert_int_equal(svc_conn_update_text(&fx->actor, "pg-text", body, 1, &text, &err),
                     SB_ERR_PRECONDITION_FAILED);
    assert_null(text);
    rollback(fx);

    begin(fx); /* a conflict answers no text */
    text = (char *)"untouched";
    assert_int_equal(svc_conn_create_text(&fx->actor, body, &text, &err), SB_ERR_CONFLICT);
    assert_null(text);
    rollback(fx);
    begin(fx); /* and the other create's text is the other's */
    assert_int_equal(svc_conn_create(&fx->actor, other, &def, &err), SB_OK);
    commit(fx);
    assert_non_null(e = catalog_get(fx->app.catalog, "pg-other"));
    held = catalog_entry_json_copy(e);
    catalog_entry_release(e);
    want = json_dumps(def, JSON_COMPACT);
    assert_string_equal(held, want);
    free(want);
    free(held);
    json_decref(def);
    json_decref(other);
    json_decref(body);
}

/* A change's audit record is serialised once for the store's row and the audit.log line: both
 * are byte for byte the compact dump of the JSON tree records were built as (member order,
 * escapes, a NULL object as null, actingAs last), in a write and alone. */
static void test_a_change_record_is_stored_and_logged_as_jansson_dumps_it(void **state)
{
    struct fixture *fx = *state;
    const char *object = "we\"ird\\ \n\t\x01\x1f/\xc3\xa9\xe2\x80\xa8", *want_object[2];
    char path[128], buf[4096], *line, *next;
    json_t *recs;
    ssize_t got;
    int i = 0;

    snprintf(path, sizeof(path), "%s/audit.log", fx->dir);
    fx->app.audit_fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    assert_true(fx->app.audit_fd >= 0);
    begin(fx);
    audit_record(&fx->actor, "connection.create", object, "success");
    commit(fx);
    snprintf(fx->admin.real, sizeof(fx->admin.real), "root\"admin");
    audit_record(&fx->actor, "connection.delete", NULL, "failed"); /* alone */
    fx->admin.real[0] = '\0';
    want_object[0] = object;
    want_object[1] = NULL;
    close(fx->app.audit_fd);
    fx->app.audit_fd = -1;

    int fd = open(path, O_RDONLY);
    assert_true(fd >= 0);
    got = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    assert_true(got > 0);
    buf[got] = '\0';
    recs = audit_records(fx); /* newest first */
    assert_int_equal(json_array_size(recs), 2);
    for (line = buf; (next = strchr(line, '\n')); line = next + 1, i++) {
        json_t *rec = json_loads(line, JSON_DISABLE_EOF_CHECK, NULL), *want;
        char *want_text, *row;
        *next = '\0';
        assert_non_null(rec);
        want = json_pack("{s:I, s:s, s:s, s:s?, s:s, s:s, s:s}", "ts",
                         json_integer_value(json_object_get(rec, "ts")), "principal",
                         i == 0 ? "alice" : "root\"admin", "action",
                         i == 0 ? "connection.create" : "connection.delete", "object",
                         want_object[i], "outcome", i == 0 ? "success" : "failed", "remoteAddr",
                         "127.0.0.1", "requestId", "req-1");
        if (i == 1)
            json_object_set_new(want, "actingAs", json_string("alice"));
        want_text = json_dumps(want, JSON_COMPACT);
        assert_string_equal(line, want_text);
        row = json_dumps(json_array_get(recs, 1 - i), JSON_COMPACT);
        assert_string_equal(row, want_text);
        free(row);
        free(want_text);
        json_decref(want);
        json_decref(rec);
    }
    assert_int_equal(i, 2);
    json_decref(recs);
}

/* A write rolled back after the service's call (as the dispatcher does when something later
 * fails) leaves neither the definition nor its audit record, and the catalog never saw it. */
static void test_rolled_back_write_leaves_neither_change_nor_record(void **state)
{
    struct fixture *fx = *state;
    json_t *body = pg_body("pg-gone"), *def = NULL, *recs;
    struct sb_err err;

    begin(fx);
    assert_int_equal(svc_conn_create(&fx->actor, body, &def, &err), SB_OK);
    rollback(fx);

    assert_false(stored(fx, "pg-gone"));
    assert_false(in_catalog(fx, "pg-gone"));
    recs = audit_records(fx);
    assert_int_equal(json_array_size(recs), 0);
    json_decref(recs);
    json_decref(def);
    json_decref(body);
}

/* A body that does not validate writes nothing: no row, no record of success. */
static void test_failed_validation_writes_nothing(void **state)
{
    struct fixture *fx = *state;
    json_t *body = js("{'name':'pg-bad','type':'NoSuchType','params':{'password':'x'}}");
    json_t *def = NULL, *recs;
    struct sb_err err;

    begin(fx);
    assert_int_equal(svc_conn_create(&fx->actor, body, &def, &err), SB_ERR_BAD_REQUEST);
    assert_null(def);
    assert_true(fx->w.records == 0);
    commit(fx);

    assert_false(stored(fx, "pg-bad"));
    assert_false(in_catalog(fx, "pg-bad"));
    recs = audit_records(fx);
    assert_int_equal(json_array_size(recs), 0);
    json_decref(recs);
    json_decref(body);
}

/* A create of a name that exists is a 409, even with a body that would not validate, and
 * leaves the stored definition as it was. */
static void test_create_of_existing_name_conflicts(void **state)
{
    struct fixture *fx = *state;
    json_t *body = pg_body("pg-main"), *other = js("{'name':'pg-main','type':'nonsense'}");
    json_t *def = NULL, *again = NULL, *kept = NULL, *recs;
    struct sb_err err;

    begin(fx);
    assert_int_equal(svc_conn_create(&fx->actor, body, &def, &err), SB_OK);
    commit(fx);

    begin(fx);
    assert_int_equal(svc_conn_create(&fx->actor, body, &again, &err), SB_ERR_CONFLICT);
    assert_non_null(strstr(err.msg, "pg-main"));
    assert_null(again);
    assert_int_equal(svc_conn_create(&fx->actor, other, &again, &err), SB_ERR_CONFLICT);
    rollback(fx);

    assert_int_equal(store_conn_get(fx->app.store, "pg-main", &kept, &err), SB_OK);
    assert_string_equal(json_string_value(json_object_get(kept, "type")), "PostgreSQL");
    recs = audit_records(fx);
    assert_int_equal(json_array_size(recs), 1); /* the create's only */
    json_decref(recs);
    json_decref(kept);
    json_decref(def);
    json_decref(other);
    json_decref(body);
}

/* The catalog hears of a create, an update and a delete only once their write committed. */
static void test_catalog_sees_changes_only_after_commit(void **state)
{
    struct fixture *fx = *state;
    json_t *body = pg_body("pg-cat"), *def = NULL, *upd = NULL;
    struct catalog_entry *e;
    struct sb_err err;

    begin(fx);
    assert_int_equal(svc_conn_create(&fx->actor, body, &def, &err), SB_OK);
    assert_false(in_catalog(fx, "pg-cat"));
    commit(fx);
    assert_true(in_catalog(fx, "pg-cat"));

    json_object_set_new(json_object_get(body, "params"), "host", json_string("127.0.0.2"));
    begin(fx);
    assert_int_equal(svc_conn_update(&fx->actor, "pg-cat", body, 1, &upd, &err), SB_OK);
    e = catalog_get(fx->app.catalog, "pg-cat");
    assert_int_equal(e->version, 1);
    catalog_entry_release(e);
    commit(fx);
    e = catalog_get(fx->app.catalog, "pg-cat");
    assert_int_equal(e->version, 2);
    catalog_entry_release(e);

    json_decref(upd);
    json_decref(def);
    json_decref(body);
}

/* An update at a version that is not the stored one is refused and writes nothing. */
static void test_update_at_stale_version_fails(void **state)
{
    struct fixture *fx = *state;
    json_t *body = pg_body("pg-v"), *def = NULL, *upd = NULL, *recs;
    struct sb_err err;

    begin(fx);
    assert_int_equal(svc_conn_create(&fx->actor, body, &def, &err), SB_OK);
    commit(fx);
    begin(fx);
    assert_int_equal(svc_conn_update(&fx->actor, "pg-v", body, 7, &upd, &err),
                     SB_ERR_PRECONDITION_FAILED);
    assert_null(upd);
    commit(fx);
    recs = audit_records(fx);
    assert_int_equal(json_array_size(recs), 1);
    json_decref(recs);
    json_decref(def);
    json_decref(body);
}

/* Without a write, a call is its own transaction: the change and its record commit together
 * and the catalog hears of it at once. */
static void test_call_without_write_commits_by_itself(void **state)
{
    struct fixture *fx = *state;
    json_t *body = pg_body("pg-alone"), *def = NULL, *recs;
    struct sb_err err;

    assert_int_equal(svc_conn_create(&fx->actor, body, &def, &err), SB_OK);
    assert_true(stored(fx, "pg-alone"));
    assert_true(in_catalog(fx, "pg-alone"));
    recs = audit_records(fx);
    assert_int_equal(json_array_size(recs), 1);
    json_decref(recs);
    json_decref(def);
    json_decref(body);
}

/* A project, then a dataset in it: each commits with its audit record, the dataset's naming it
 * as PROJECT/dataset. */
static void test_project_and_dataset_create_commit_with_their_records(void **state)
{
    struct fixture *fx = *state;
    json_t *project = js("{'projectKey':'P1','name':'p1'}"), *out = NULL, *ds = NULL, *recs;
    json_t *body = js("{'name':'d1','type':'Filesystem','params':{'path':'/data/d1'},"
                      "'formatType':'csv'}");
    struct sb_err err;

    begin(fx);
    assert_int_equal(svc_project_create(&fx->actor, project, &out, &err), SB_OK);
    commit(fx);
    begin(fx);
    assert_int_equal(svc_dataset_create(&fx->actor, "P1", body, &ds, &err), SB_OK);
    assert_string_equal(fx->actor.object, "P1/d1");
    commit(fx);

    json_decref(out);
    assert_int_equal(store_ds_get(fx->app.store, "P1", "d1", &out, &err), SB_OK);
    recs = audit_records(fx);
    assert_int_equal(json_array_size(recs), 2);
    json_t *rec = json_array_get(recs, 0); /* newest first */
    assert_string_equal(json_string_value(json_object_get(rec, "action")), "dataset.create");
    assert_string_equal(json_string_value(json_object_get(rec, "object")), "P1/d1");
    rec = json_array_get(recs, 1);
    assert_string_equal(json_string_value(json_object_get(rec, "action")), "project.create");
    assert_string_equal(json_string_value(json_object_get(rec, "object")), "P1");
    json_decref(recs);
    json_decref(out);
    json_decref(ds);
    json_decref(body);
    json_decref(project);
}

/* A dataset naming a connection that does not exist, or in a project its actor may not change,
 * is refused and writes nothing. */
static void test_refused_dataset_writes_nothing(void **state)
{
    struct fixture *fx = *state;
    json_t *project = js("{'projectKey':'P2','name':'p2'}"), *out = NULL, *ds = NULL, *recs;
    json_t *body = js("{'name':'d2','type':'PostgreSQL','params':{'connection':'nowhere',"
                      "'table':'t'}}");
    struct principal nobody = {.type = PRINCIPAL_USER, .login = "bob"};
    struct sb_err err;

    begin(fx);
    assert_int_equal(svc_project_create(&fx->actor, project, &out, &err), SB_OK);
    commit(fx);
    begin(fx);
    assert_int_not_equal(svc_dataset_create(&fx->actor, "P2", body, &ds, &err), SB_OK);
    assert_null(ds);
    commit(fx);
    fx->actor.principal = &nobody;
    json_object_del(json_object_get(body, "params"), "connection");
    begin(fx);
    assert_int_equal(svc_dataset_create(&fx->actor, "P2", body, &ds, &err), SB_ERR_FORBIDDEN);
    commit(fx);
    fx->actor.principal = &fx->admin;

    json_decref(out);
    assert_int_equal(store_ds_get(fx->app.store, "P2", "d2", &out, &err), SB_ERR_NOT_FOUND);
    recs = audit_records(fx);
    assert_int_equal(json_array_size(recs), 1); /* the project's */
    json_decref(recs);
    json_decref(body);
    json_decref(project);
}

/* A live test by a principal who may not use the connection is refused, and the refusal is in
 * the audit trail (no job is made). */
static void test_live_test_refused_is_recorded(void **state)
{
    struct fixture *fx = *state;
    json_t *body = js("{'name':'pg-priv','type':'PostgreSQL','params':{'host':'127.0.0.1'},"
                      "'usableBy':'ALLOWED','allowedGroups':['ops']}");
    json_t *def = NULL, *out = NULL, *recs;
    struct principal bob = {.type = PRINCIPAL_USER, .login = "bob"};
    struct probe_job *job = NULL;
    struct sb_err err;

    assert_int_equal(svc_conn_create(&fx->actor, body, &def, &err), SB_OK);
    fx->actor.principal = &bob;
    assert_int_equal(svc_conn_test_start(&fx->actor, "pg-priv", &job, &out, &err),
                     SB_ERR_FORBIDDEN);
    assert_null(job);
    assert_null(out);
    assert_int_equal(svc_conn_test_start(&fx->actor, "pg-none", &job, &out, &err),
                     SB_ERR_NOT_FOUND);
    fx->actor.principal = &fx->admin;

    recs = audit_records(fx);
    assert_int_equal(json_array_size(recs), 2);
    json_t *rec = json_array_get(recs, 0);
    assert_string_equal(json_string_value(json_object_get(rec, "action")), "connection.test");
    assert_string_equal(json_string_value(json_object_get(rec, "outcome")), "denied");
    assert_string_equal(json_string_value(json_object_get(rec, "principal")), "bob");
    json_decref(recs);
    json_decref(def);
    json_decref(body);
}

/* ---- users and groups ---- */

/* The stored record of user LOGIN, or NULL when there is none (new reference). */
static json_t *stored_user(struct fixture *fx, const char *login)
{
    struct sb_err err;
    json_t *rec = NULL;
    enum sb_err_kind rc = store_obj_get(fx->app.store, STORE_USERS, login, &rec, &err);

    if (rc != SB_OK)
        assert_int_equal(rc, SB_ERR_NOT_FOUND);
    return rec;
}

/* The one audit record stored: its action, object and outcome must be these. */
static void assert_one_record(struct fixture *fx, const char *action, const char *object,
                              const char *outcome)
{
    json_t *recs = audit_records(fx), *rec;

    assert_int_equal(json_array_size(recs), 1);
    rec = json_array_get(recs, 0);
    assert_string_equal(json_string_value(json_object_get(rec, "action")), action);
    assert_string_equal(json_string_value(json_object_get(rec, "object")), object);
    assert_string_equal(json_string_value(json_object_get(rec, "outcome")), outcome);
    json_decref(recs);
}

#define USER_BODY                                                                                  \
    "{'login':'bob','password':'pw-Secret-9','groups':['g1'],"                                     \
    "'secrets':[{'name':'tok','value':'s3cret-tok'}]}"

/* A user create in a write commits the user (password hashed, secret sealed) and its audit record
 * together; the answer is the settings view, with neither the hash nor the password. */
static void test_user_create_commits_user_and_audit_record(void **state)
{
    struct fixture *fx = *state;
    json_t *body = js(USER_BODY), *out = NULL, *rec;
    struct sb_err err;
    char *text;

    begin(fx);
    assert_int_equal(svc_user_create(&fx->actor, body, &out, &err), SB_OK);
    rec = stored_user(fx, "bob"); /* in the write, seen by its own thread */
    assert_non_null(rec);
    json_decref(rec);
    commit(fx);

    assert_string_equal(json_string_value(json_object_get(out, "login")), "bob");
    assert_null(json_object_get(out, "passwordHash"));
    assert_null(json_object_get(out, "password"));
    rec = stored_user(fx, "bob");
    assert_non_null(rec);
    assert_true(json_is_string(json_object_get(rec, "passwordHash")));
    text = json_dumps(rec, 0);
    assert_null(strstr(text, "pw-Secret-9"));
    assert_null(strstr(text, "s3cret-tok"));
    free(text);
    assert_one_record(fx, "user.create", "bob", "success");
    json_decref(rec);
    json_decref(out);
    json_decref(body);
}

/* A user body that does not validate writes nothing; a rolled-back create leaves nothing. */
static void test_user_create_failed_or_rolled_back_writes_nothing(void **state)
{
    struct fixture *fx = *state;
    json_t *bad = js("{'login':'.hidden','password':'x'}"), *body = js(USER_BODY), *out = NULL;
    json_t *recs;
    struct sb_err err;

    begin(fx);
    assert_int_equal(svc_user_create(&fx->actor, bad, &out, &err), SB_ERR_BAD_REQUEST);
    assert_null(out);
    assert_true(fx->w.records == 0);
    commit(fx);
    assert_null(stored_user(fx, ".hidden"));

    begin(fx);
    assert_int_equal(svc_user_create(&fx->actor, body, &out, &err), SB_OK);
    rollback(fx);
    assert_null(stored_user(fx, "bob"));
    recs = audit_records(fx);
    assert_int_equal(json_array_size(recs), 0);
    json_decref(recs);
    json_decref(out);
    json_decref(body);
    json_decref(bad);
}

/* A user deletes themselves only with allowSelfDeletion; a refused delete writes nothing. */
static void test_user_delete_of_self_needs_allow_self(void **state)
{
    struct fixture *fx = *state;
    json_t *body = js("{'login':'alice','password':'pw-alice-1'}"), *out = NULL, *recs, *rec;
    struct sb_err err;

    assert_int_equal(svc_user_create(&fx->actor, body, &out, &err), SB_OK);
    assert_int_equal(svc_user_delete(&fx->actor, "alice", false, &err), SB_ERR_BAD_REQUEST);
    assert_non_null(strstr(err.msg, "allowSelfDeletion"));
    assert_non_null(rec = stored_user(fx, "alice"));
    json_decref(rec);
    assert_int_equal(svc_user_delete(&fx->actor, "alice", true, &err), SB_OK);
    assert_null(stored_user(fx, "alice"));
    assert_int_equal(svc_user_delete(&fx->actor, "nobody", false, &err), SB_ERR_NOT_FOUND);
    recs = audit_records(fx);
    assert_int_equal(json_array_size(recs), 2); /* user.delete, then user.create */
    assert_string_equal(json_string_value(json_object_get(json_array_get(recs, 0), "action")),
                        "user.delete");
    json_decref(recs);
    json_decref(out);
    json_decref(body);
}

/* PUT /current-user through a global key is refused; a user may not change their groups. */
static void test_user_update_self_rules(void **state)
{
    struct fixture *fx = *state;
    json_t *body = js("{'login':'alice','password':'pw-alice-1','groups':['g1']}");
    json_t *grab = js("{'groups':['admins']}"), *name = js("{'displayName':'Alice A.'}");
    json_t *out = NULL, *rec;
    struct principal key = {.type = PRINCIPAL_GLOBAL_KEY, .admin = true};
    struct sb_err err;

    snprintf(key.login, sizeof(key.login), "key-1");
    assert_int_equal(svc_user_create(&fx->actor, body, &out, &err), SB_OK);
    json_decref(out);
    assert_int_equal(svc_user_update_self(&fx->actor, grab, &out, &err), SB_ERR_FORBIDDEN);
    assert_null(out);
    assert_int_equal(svc_user_update_self(&fx->actor, name, &out, &err), SB_OK);
    assert_string_equal(json_string_value(json_object_get(out, "displayName")), "Alice A.");
    json_decref(out);
    rec = stored_user(fx, "alice");
    assert_string_equal(json_string_value(json_array_get(json_object_get(rec, "groups"), 0)), "g1");
    json_decref(rec);

    fx->actor.principal = &key;
    assert_int_equal(svc_user_update_self(&fx->actor, name, &out, &err), SB_ERR_FORBIDDEN);
    assert_null(out);
    json_decref(name);
    json_decref(grab);
    json_decref(body);
}

/* A bulk create reports each entry, applies the good ones, and records one success per user. */
static void test_users_bulk_create_reports_each_entry(void **state)
{
    struct fixture *fx = *state;
    json_t *body = js("[{'login':'u1'},{'login':'u1'},{'name':'no-login'},{'login':'u2'}]");
    json_t *out = NULL, *recs, *rec;
    struct sb_err err;

    begin(fx);
    assert_int_equal(svc_users_bulk(&fx->actor, SVC_USERS_BULK_CREATE, body, false, &out, &err),
                     SB_OK);
    commit(fx);
    assert_int_equal(json_array_size(out), 4);
    static const char *const want[] = {"SUCCESS", "FAILURE", "FAILURE", "SUCCESS"};
    for (size_t i = 0; i < 4; i++)
        assert_string_equal(json_string_value(json_object_get(json_array_get(out, i), "status")),
                            want[i]);
    assert_non_null(rec = stored_user(fx, "u2"));
    json_decref(rec);
    recs = audit_records(fx);
    assert_int_equal(json_array_size(recs), 2);
    for (size_t i = 0; i < 2; i++)
        assert_string_equal(json_string_value(json_object_get(json_array_get(recs, i), "action")),
                            "user.create");
    json_decref(recs);
    json_decref(out);

    /* not an array: refused, nothing written */
    json_decref(body);
    body = js("{'login':'u1'}");
    assert_int_equal(svc_users_bulk(&fx->actor, SVC_USERS_BULK_DELETE, body, false, &out, &err),
                     SB_ERR_BAD_REQUEST);
    assert_null(out);
    assert_non_null(rec = stored_user(fx, "u1"));
    json_decref(rec);
    json_decref(body);
}

/* A group delete removes the group from its members in the same write, with its record. */
static void test_group_delete_forgets_group_in_users(void **state)
{
    struct fixture *fx = *state;
    json_t *user = js("{'login':'bob','groups':['g1','g2']}"), *group = js("{'name':'g1'}");
    json_t *out = NULL, *rec, *recs;
    struct sb_err err;

    assert_int_equal(svc_group_put(&fx->actor, NULL, group, &out, &err), SB_OK);
    assert_string_equal(json_string_value(json_object_get(out, "name")), "g1");
    json_decref(out);
    assert_int_equal(svc_group_put(&fx->actor, NULL, group, &out, &err), SB_ERR_CONFLICT);
    assert_null(out);
    assert_int_equal(svc_user_create(&fx->actor, user, &out, &err), SB_OK);
    json_decref(out);

    begin(fx);
    assert_int_equal(svc_group_delete(&fx->actor, "g1", &err), SB_OK);
    commit(fx);
    rec = stored_user(fx, "bob");
    assert_int_equal(json_array_size(json_object_get(rec, "groups")), 1);
    assert_string_equal(json_string_value(json_array_get(json_object_get(rec, "groups"), 0)), "g2");
    json_decref(rec);
    assert_int_equal(svc_group_delete(&fx->actor, "g1", &err), SB_ERR_NOT_FOUND);
    recs = audit_records(fx);
    assert_int_equal(json_array_size(recs), 3); /* group.create, user.create, group.delete */
    assert_string_equal(json_string_value(json_object_get(json_array_get(recs, 0), "action")),
                        "group.delete");
    json_decref(recs);
    json_decref(group);
    json_decref(user);
}

/* A bulk edit changes only what each entry names; a bulk delete refuses the caller's own login
 * without allowSelfDeletion and deletes the others; each change has its record. */
static void test_users_bulk_edit_and_delete(void **state)
{
    struct fixture *fx = *state;
    json_t *create = js("[{'login':'alice','email':'a@x'},{'login':'u1','email':'u1@x'}]");
    json_t *edit = js("[{'login':'u1','displayName':'User One'},{'login':'ghost'}]");
    json_t *del = js("['alice','u1']"), *out = NULL, *rec, *recs;
    struct sb_err err;

    assert_int_equal(svc_users_bulk(&fx->actor, SVC_USERS_BULK_CREATE, create, false, &out, &err),
                     SB_OK);
    json_decref(out);
    assert_int_equal(svc_users_bulk(&fx->actor, SVC_USERS_BULK_EDIT, edit, false, &out, &err),
                     SB_OK);
    assert_string_equal(json_string_value(json_object_get(json_array_get(out, 1), "status")),
                        "FAILURE");
    json_decref(out);
    rec = stored_user(fx, "u1");
    assert_string_equal(json_string_value(json_object_get(rec, "displayName")), "User One");
    assert_string_equal(json_string_value(json_object_get(rec, "email")), "u1@x");
    json_decref(rec);

    assert_int_equal(svc_users_bulk(&fx->actor, SVC_USERS_BULK_DELETE, del, false, &out, &err),
                     SB_OK);
    assert_string_equal(json_string_value(json_object_get(json_array_get(out, 0), "status")),
                        "FAILURE");
    assert_non_null(strstr(json_string_value(json_object_get(json_array_get(out, 0), "error")),
                           "allowSelfDeletion"));
    json_decref(out);
    assert_non_null(rec = stored_user(fx, "alice"));
    json_decref(rec);
    assert_null(stored_user(fx, "u1"));
    recs = audit_records(fx); /* newest first: u1's delete, u1's update, the two creates */
    assert_int_equal(json_array_size(recs), 4);
    assert_string_equal(json_string_value(json_object_get(json_array_get(recs, 0), "action")),
                        "user.delete");
    assert_string_equal(json_string_value(json_object_get(json_array_get(recs, 1), "action")),
                        "user.update");
    json_decref(recs);
    json_decref(del);
    json_decref(edit);
    json_decref(create);
}

/* A group update replaces the group it names; one of a group that does not exist is a 404 and
 * writes nothing. */
static void test_group_update(void **state)
{
    struct fixture *fx = *state;
    json_t *group = js("{'name':'g1'}"), *change = js("{'name':'g1','description':'ops'}");
    json_t *out = NULL, *recs;
    struct sb_err err;

    assert_int_equal(svc_group_put(&fx->actor, NULL, group, &out, &err), SB_OK);
    json_decref(out);
    assert_int_equal(svc_group_put(&fx->actor, "g1", change, &out, &err), SB_OK);
    assert_string_equal(json_string_value(json_object_get(out, "description")), "ops");
    json_decref(out);
    assert_int_equal(svc_group_put(&fx->actor, "g2", change, &out, &err), SB_ERR_NOT_FOUND);
    assert_null(out);
    recs = audit_records(fx);
    assert_int_equal(json_array_size(recs), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(recs, 0), "action")),
                        "group.update");
    json_decref(recs);
    json_decref(change);
    json_decref(group);
}

/* ---- API keys ---- */

/* The stored records of every key of KIND (new reference). */
static json_t *stored_keys(struct fixture *fx, enum store_key_kind kind)
{
    struct sb_err err;
    json_t *all = NULL;

    assert_int_equal(store_key_list(fx->app.store, kind, NULL, &all, &err), SB_OK);
    return all;
}

/* A global key's create answers the key once; the store holds its keyed hash and a hint, never
 * the key, and so does the audit record, which names the key's id. */
static void test_key_create_returns_key_once_and_stores_its_hash(void **state)
{
    struct fixture *fx = *state;
    json_t *body = js("{'label':'ci'}"), *out = NULL, *rec = NULL, *all, *recs;
    uint8_t hash[APIKEY_HASH_BYTES];
    enum store_key_kind kind;
    struct sb_err err;
    char key[SB_API_KEY_RANDOM_CHARS + 1], *text;

    memset(fx->app.apikey_hash_key, 3, sizeof(fx->app.apikey_hash_key));
    begin(fx);
    assert_int_equal(svc_key_global_create(&fx->actor, body, &out, &err), SB_OK);
    commit(fx);
    assert_int_equal(strlen(json_string_value(json_object_get(out, "key"))),
                     SB_API_KEY_RANDOM_CHARS);
    snprintf(key, sizeof(key), "%s", json_string_value(json_object_get(out, "key")));
    const char *id = json_string_value(json_object_get(out, "id"));
    assert_non_null(id);

    /* found by its hash only */
    apikey_hash(fx->app.apikey_hash_key, key, hash);
    assert_int_equal(store_key_by_hash(fx->app.store, hash, &rec, &kind, &err), SB_OK);
    assert_int_equal(kind, STORE_KEY_GLOBAL);
    assert_string_equal(json_string_value(json_object_get(rec, "id")), id);
    assert_string_not_equal(json_string_value(json_object_get(rec, "key")), key);
    all = stored_keys(fx, STORE_KEY_GLOBAL);
    text = json_dumps(all, 0);
    assert_null(strstr(text, key));
    free(text);
    assert_one_record(fx, "global-api-key.create", id, "success");
    recs = audit_records(fx);
    text = json_dumps(recs, 0);
    assert_null(strstr(text, key));
    free(text);

    /* an update answers the hint, not the key */
    json_t *upd = NULL, *change = js("{'label':'ci-2'}");
    assert_int_equal(svc_key_global_update(&fx->actor, id, change, &upd, &err), SB_OK);
    assert_string_equal(json_string_value(json_object_get(upd, "label")), "ci-2");
    assert_string_not_equal(json_string_value(json_object_get(upd, "key")), key);
    json_decref(upd);
    json_decref(change);
    json_decref(recs);
    json_decref(all);
    json_decref(rec);
    json_decref(out);
    json_decref(body);
}

/* A global key that would act as a user who does not exist is refused and writes nothing. */
static void test_key_for_unknown_user_writes_nothing(void **state)
{
    struct fixture *fx = *state;
    json_t *body = js("{'label':'x','dssUserForImpersonation':'ghost'}"), *out = NULL, *all, *recs;
    struct sb_err err;

    begin(fx);
    assert_int_equal(svc_key_global_create(&fx->actor, body, &out, &err), SB_ERR_BAD_REQUEST);
    assert_non_null(strstr(err.msg, "dssUserForImpersonation"));
    assert_null(out);
    commit(fx);
    all = stored_keys(fx, STORE_KEY_GLOBAL);
    assert_int_equal(json_array_size(all), 0);
    recs = audit_records(fx);
    assert_int_equal(json_array_size(recs), 0);
    json_decref(recs);
    json_decref(all);
    json_decref(body);
}

/* A personal key is its user's: another user may neither change nor delete it, a global key
 * has none, and --max-personal-keys bounds how many one user has. */
static void test_personal_keys_belong_to_their_user(void **state)
{
    struct fixture *fx = *state;
    json_t *bob = js("{'login':'bob'}"), *carol = js("{'login':'carol'}");
    json_t *for_bob = js("{'user':'bob','label':'b1'}"), *label = js("{'label':'mine'}");
    json_t *out = NULL, *key = NULL, *all;
    struct principal p_carol = {.type = PRINCIPAL_USER}, p_bob = {.type = PRINCIPAL_USER};
    struct principal p_global = {.type = PRINCIPAL_GLOBAL_KEY, .admin = true};
    struct sb_err err;

    snprintf(p_bob.login, sizeof(p_bob.login), "bob");
    snprintf(p_carol.login, sizeof(p_carol.login), "carol");
    fx->cfg.max_personal_keys = 1;
    assert_int_equal(svc_user_create(&fx->actor, bob, &out, &err), SB_OK);
    json_decref(out);
    assert_int_equal(svc_user_create(&fx->actor, carol, &out, &err), SB_OK);
    json_decref(out);
    assert_int_equal(svc_key_personal_create_for(&fx->actor, for_bob, &key, &err), SB_OK);
    const char *id = json_string_value(json_object_get(key, "id"));
    assert_string_equal(json_string_value(json_object_get(key, "user")), "bob");

    fx->actor.principal = &p_carol;
    assert_int_equal(svc_key_personal_update(&fx->actor, id, label, &out, &err), SB_ERR_FORBIDDEN);
    assert_null(out);
    assert_int_equal(svc_key_personal_delete(&fx->actor, id, &err), SB_ERR_FORBIDDEN);
    fx->actor.principal = &p_global;
    assert_int_equal(svc_key_personal_create(&fx->actor, label, &out, &err), SB_ERR_FORBIDDEN);
    assert_null(out);
    fx->actor.principal = &p_bob;
    assert_int_equal(svc_key_personal_create(&fx->actor, label, &out, &err), SB_ERR_BAD_REQUEST);
    assert_non_null(strstr(err.msg, "--max-personal-keys"));
    all = stored_keys(fx, STORE_KEY_PERSONAL);
    assert_int_equal(json_array_size(all), 1);
    json_decref(all);
    assert_int_equal(svc_key_personal_update(&fx->actor, id, label, &out, &err), SB_OK);
    assert_string_equal(json_string_value(json_object_get(out, "label")), "mine");
    json_decref(out);
    assert_int_equal(svc_key_personal_delete(&fx->actor, id, &err), SB_OK);
    all = stored_keys(fx, STORE_KEY_PERSONAL);
    assert_int_equal(json_array_size(all), 0);
    json_decref(all);

    json_decref(key);
    json_decref(label);
    json_decref(for_bob);
    json_decref(carol);
    json_decref(bob);
}

/* ---- instance variables ---- */

/* The stored instance variables' text, or NULL (caller frees). */
static char *stored_variables(struct fixture *fx)
{
    struct sb_err err;
    char *text = NULL;

    assert_int_equal(store_meta_get(fx->app.store, STORE_META_VARIABLES, &text, &err), SB_OK);
    return text;
}

/* A change of the instance variables commits with its record; one that is not an object, or
 * whose write rolls back, leaves the variables as they were. */
static void test_variables_set_commits_with_record_or_not_at_all(void **state)
{
    struct fixture *fx = *state;
    json_t *vars = js("{'env':'prod','port':5432}"), *other = js("{'env':'test'}");
    json_t *list = js("['env']"), *out = NULL;
    struct sb_err err;
    char *text;

    begin(fx);
    assert_int_equal(svc_variables_set(&fx->actor, vars, &out, &err), SB_OK);
    commit(fx);
    assert_json_eq(out, vars);
    json_decref(out);
    assert_one_record(fx, "variables.update", "instance", "success");

    assert_int_equal(svc_variables_set(&fx->actor, list, &out, &err), SB_ERR_BAD_REQUEST);
    assert_null(out);
    begin(fx);
    assert_int_equal(svc_variables_set(&fx->actor, other, &out, &err), SB_OK);
    rollback(fx);
    json_decref(out);
    text = stored_variables(fx);
    json_t *kept = js(text);
    assert_json_eq(kept, vars);
    json_decref(kept);
    free(text);
    assert_one_record(fx, "variables.update", "instance", "success");
    json_decref(list);
    json_decref(other);
    json_decref(vars);
}

/* The details of a connection come with its secret opened for an admin, and the read is in
 * the audit trail; a principal who may not use it is refused, and that is recorded too. */
static void test_details_open_secrets_and_are_recorded(void **state)
{
    struct fixture *fx = *state;
    json_t *body = js("{'name':'pg-det','type':'PostgreSQL','params':{'host':'127.0.0.1',"
                      "'user':'app','password':'s3cret-pw'},'usableBy':'ALLOWED',"
                      "'allowedGroups':['ops']}");
    json_t *def = NULL, *out = NULL, *recs;
    struct principal bob = {.type = PRINCIPAL_USER, .login = "bob"};
    struct sb_err err;

    fx->app.data_dir_abs = fx->dir;
    assert_int_equal(svc_conn_create(&fx->actor, body, &def, &err), SB_OK);
    assert_int_equal(svc_conn_details(&fx->actor, "pg-det", NULL, &out, &err), SB_OK);
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(out, "resolvedParams"), "password")),
        "s3cret-pw");
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(out, "resolvedBasicCredential"), "password")),
                        "s3cret-pw");
    json_decref(out);
    fx->actor.principal = &bob;
    assert_int_equal(svc_conn_details(&fx->actor, "pg-det", NULL, &out, &err), SB_ERR_FORBIDDEN);
    assert_null(out);
    fx->actor.principal = &fx->admin;

    recs = audit_records(fx); /* newest first */
    assert_int_equal(json_array_size(recs), 3);
    json_t *rec = json_array_get(recs, 0);
    assert_string_equal(json_string_value(json_object_get(rec, "action")),
                        "connection.read-details");
    assert_string_equal(json_string_value(json_object_get(rec, "outcome")), "denied");
    rec = json_array_get(recs, 1);
    assert_string_equal(json_string_value(json_object_get(rec, "outcome")), "success");
    char *text = json_dumps(recs, 0);
    assert_null(strstr(text, "s3cret-pw"));
    free(text);
    json_decref(recs);
    json_decref(def);
    json_decref(body);
}

/* A read of one's own secrets is recorded whatever its outcome: none for a global key (an empty
 * list), a failure for a user the store does not hold. */
static void test_own_secrets_read_is_recorded(void **state)
{
    struct fixture *fx = *state;
    struct principal global = {.type = PRINCIPAL_GLOBAL_KEY, .login = "ci-key"};
    json_t *out = NULL, *recs;
    struct sb_err err;

    fx->actor.principal = &global;
    assert_int_equal(svc_own_secrets(&fx->actor, &out, &err), SB_OK);
    assert_int_equal(json_array_size(out), 0);
    json_decref(out);
    fx->actor.principal = &fx->admin; /* alice, whom the store does not hold */
    assert_int_equal(svc_own_secrets(&fx->actor, &out, &err), SB_ERR_NOT_FOUND);
    assert_null(out);

    recs = audit_records(fx); /* newest first */
    assert_int_equal(json_array_size(recs), 2);
    json_t *rec = json_array_get(recs, 0);
    assert_string_equal(json_string_value(json_object_get(rec, "action")), "user.secrets.read");
    assert_string_equal(json_string_value(json_object_get(rec, "object")), "alice");
    assert_string_equal(json_string_value(json_object_get(rec, "outcome")), "failed");
    rec = json_array_get(recs, 1);
    assert_string_equal(json_string_value(json_object_get(rec, "object")), "ci-key");
    assert_string_equal(json_string_value(json_object_get(rec, "outcome")), "success");
    json_decref(recs);
}

static json_t *stored_session(struct fixture *fx, const char *id)
{
    struct sb_err err;
    json_t *rec = NULL;
    enum sb_err_kind rc = store_obj_get(fx->app.store, STORE_SESSIONS, id, &rec, &err);

    if (rc != SB_OK)
        assert_int_equal(rc, SB_ERR_NOT_FOUND);
    return rec;
}

/* A session open commits the session and the record of its sign-in together; one whose write
 * rolls back leaves neither; a close deletes the session with the record of its sign-out. */
static void test_session_open_commits_session_and_record_together(void **state)
{
    struct fixture *fx = *state;
    char token[SESSION_TOKEN_CHARS + 1], id[SESSION_ID_CHARS + 1], again[SESSION_ID_CHARS + 1];
    json_t *out = NULL, *rec, *recs;
    struct sb_err err;

    fx->cfg.session_idle_timeout = 3600;
    fx->cfg.session_lifetime = 86400;
    begin(fx);
    assert_int_equal(
        svc_session_open(&fx->actor, "alice", "stamp-1", "", 1000, token, id, &out, &err), SB_OK);
    rollback(fx);
    json_decref(out);
    assert_null(stored_session(fx, id));
    recs = audit_records(fx);
    assert_int_equal(json_array_size(recs), 0);
    json_decref(recs);

    assert_int_equal(svc_session_open(&fx->actor, "alice", "stamp-1", "", clock_epoch_ms(), token,
                                      id, &out, &err),
                     SB_OK);
    session_id_of_token(fx->app.apikey_hash_key, token, again);
    assert_string_equal(id, again); /* the cookie's token finds the session */
    rec = stored_session(fx, id);
    assert_non_null(rec);
    assert_json_eq(rec, out);
    assert_string_equal(json_string_value(json_object_get(rec, "login")), "alice");
    assert_null(json_object_get(rec, "token")); /* the token is stored nowhere */
    json_decref(rec);
    json_decref(out);
    assert_one_record(fx, "session.signin", "alice", "success");

    begin(fx);
    assert_int_equal(svc_session_close(&fx->actor, id, &err), SB_OK);
    rollback(fx);
    rec = stored_session(fx, id);
    assert_non_null(rec);
    json_decref(rec);
    assert_one_record(fx, "session.signin", "alice", "success");
    assert_int_equal(svc_session_close(&fx->actor, id, &err), SB_OK);
    assert_null(stored_session(fx, id));
    recs = audit_records(fx);
    assert_int_equal(json_array_size(recs), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(recs, 0), "action")),
                        "session.signout");
    json_decref(recs);
}

/* A sign-in whose audit record cannot be stored stores no session either (before, the session
 * committed first and its record was written in a second transaction). */
static void test_session_open_without_its_record_stores_nothing(void **state)
{
    struct fixture *fx = *state;
    char token[SESSION_TOKEN_CHARS + 1], id[SESSION_ID_CHARS + 1], path[128];
    json_t *out = NULL, *all = NULL;
    struct sb_err err;
    sqlite3 *db;

    fx->cfg.session_idle_timeout = 3600;
    fx->cfg.session_lifetime = 86400;
    snprintf(path, sizeof(path), "%s/switchboard.db", fx->dir);
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db,
                                  "CREATE TRIGGER no_audit BEFORE INSERT ON audit BEGIN "
                                  "SELECT RAISE(ABORT, 'audit refused'); END",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(db);
    assert_int_not_equal(svc_session_open(&fx->actor, "alice", "stamp-1", "", clock_epoch_ms(),
                                          token, id, &out, &err),
                         SB_OK);
    assert_null(out);
    assert_string_equal(token, ""); /* wiped */
    assert_int_equal(store_obj_list(fx->app.store, STORE_SESSIONS, &all, &err), SB_OK);
    assert_int_equal(json_array_size(all), 0);
    json_decref(all);
}

/* ---- writes of several requests at once: on SQLite they share a transaction (group commit);
 * each is published and written to audit.log only once that transaction committed ---- */

/* One request's create, on a thread of its own, as the dispatcher runs it. */
struct request_create {
    struct fixture *fx;
    const char *name;
    enum sb_err_kind kind;
    struct sb_err err;
};

static void *request_create_run(void *arg)
{
    struct request_create *rc = arg;
    struct actor a = rc->fx->actor;
    json_t *body = pg_body(rc->name), *def = NULL;
    struct write_tx w;

    a.write = NULL;
    rc->kind = write_begin(&w, &rc->fx->app, &rc->err);
    if (rc->kind == SB_OK) {
        a.write = &w;
        rc->kind = svc_conn_create(&a, body, &def, &rc->err);
        if (rc->kind == SB_OK)
            rc->kind = write_commit(&w, &rc->err);
        else
            write_rollback(&w);
    }
    json_decref(def);
    json_decref(body);
    return NULL;
}

/* Creates FIRST in the fixture's write and, while it is open, starts the N creates RC; commits
 * FIRST once they all wait for the store's write connection (so that they join its
 * transaction); the kind of that commit, once every create is done. */
static enum sb_err_kind create_together(struct fixture *fx, const char *first,
                                        struct request_create *rc, int n)
{
    json_t *body = pg_body(first), *def = NULL;
    struct store_batch_stats bs;
    enum sb_err_kind kind;
    struct sb_err err;
    pthread_t t[8];

    assert_true(n <= 8);
    begin(fx);
    assert_int_equal(svc_conn_create(&fx->actor, body, &def, &err), SB_OK);
    for (int i = 0; i < n; i++)
        assert_int_equal(pthread_create(&t[i], NULL, request_create_run, &rc[i]), 0);
    do {
        usleep(1000);
        store_batch_stats(fx->app.store, &bs);
    } while (bs.waiting < n);
    assert_false(in_catalog(fx, first));
    kind = write_commit(&fx->w, &err);
    fx->actor.write = NULL;
    for (int i = 0; i < n; i++)
        pthread_join(t[i], NULL);
    json_decref(def);
    json_decref(body);
    return kind;
}

/* The lines of the fixture's audit.log, as one string. */
static char *audit_log_text(struct fixture *fx)
{
    char path[128], *text = calloc(1, 65536);
    FILE *f;

    snprintf(path, sizeof(path), "%s/audit.log", fx->dir);
    f = fopen(path, "r");
    assert_non_null(f);
    assert_true(fread(text, 1, 65535, f) < 65535);
    fclose(f);
    return text;
}

static void open_audit_log(struct fixture *fx)
{
    char path[128];

    snprintf(path, sizeof(path), "%s/audit.log", fx->dir);
    fx->app.audit_fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    assert_true(fx->app.audit_fd >= 0);
}

static void test_concurrent_creates_each_publish_their_own_outcome(void **state)
{
    struct fixture *fx = *state;
    struct request_create rc[5] = {
        {fx, "c0", 0, {0}},    {fx, "c1", 0, {0}},    {fx, "c2", 0, {0}},
        {fx, "c_dup", 0, {0}}, {fx, "c_dup", 0, {0}},
    };
    int dup_ok = 0;
    char *log;

    open_audit_log(fx);
    assert_int_equal(create_together(fx, "c_first", rc, 5), SB_OK);
    for (int i = 0; i < 3; i++)
        assert_int_equal(rc[i].kind, SB_OK);
    for (int i = 3; i < 5; i++) {
        if (rc[i].kind == SB_OK) {
            dup_ok++;
            continue;
        }
        assert_int_equal(rc[i].kind, SB_ERR_CONFLICT);
        assert_string_equal(rc[i].err.msg, "Connection 'c_dup' already exists.");
    }
    assert_int_equal(dup_ok, 1);
    /* every acknowledged create is stored, published and in audit.log, once */
    log = audit_log_text(fx);
    for (int i = 0; i < 4; i++) {
        const char *name = i < 3 ? rc[i].name : "c_dup";
        char object[64];
        assert_true(stored(fx, name));
        assert_true(in_catalog(fx, name));
        snprintf(object, sizeof(object), "\"object\":\"%s\"", name);
        assert_non_null(strstr(log, object));
        assert_null(strstr(strstr(log, object) + 1, object));
    }
    assert_true(in_catalog(fx, "c_first"));
    free(log);
    close(fx->app.audit_fd);
}

static void test_creates_whose_shared_commit_fails_publish_nothing(void **state)
{
    struct fixture *fx = *state;
    struct request_create rc[3] = {{fx, "d0", 0, {0}}, {fx, "d1", 0, {0}}, {fx, "poison", 0, {0}}};
    const char *names[] = {"d_first", "d0", "d1", "poison"};
    char path[128], *log;
    sqlite3 *db;

    /* a deferred foreign key nothing satisfies: a commit that holds "poison" fails */
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
    open_audit_log(fx);
    assert_int_not_equal(create_together(fx, "d_first", rc, 3), SB_OK);
    for (int i = 0; i < 3; i++)
        assert_int_not_equal(rc[i].kind, SB_OK);
    /* none of them acknowledged, stored, published or written to audit.log */
    log = audit_log_text(fx);
    assert_string_equal(log, "");
    for (int i = 0; i < 4; i++) {
        assert_false(stored(fx, names[i]));
        assert_false(in_catalog(fx, names[i]));
    }
    free(log);
    /* the next write goes through */
    rc[0] = (struct request_create){fx, "d_after", 0, {0}};
    request_create_run(&rc[0]);
    assert_int_equal(rc[0].kind, SB_OK);
    assert_true(in_catalog(fx, "d_after"));
    close(fx->app.audit_fd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_create_commits_definition_and_audit_record, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_creates_each_publish_their_own_outcome,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_creates_whose_shared_commit_fails_publish_nothing,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_create_and_update_text_is_the_definition_the_catalog_holds, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_a_change_record_is_stored_and_logged_as_jansson_dumps_it, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rolled_back_write_leaves_neither_change_nor_record,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_failed_validation_writes_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_create_of_existing_name_conflicts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_catalog_sees_changes_only_after_commit, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_update_at_stale_version_fails, setup, teardown),
        cmocka_unit_test_setup_teardown(test_call_without_write_commits_by_itself, setup, teardown),
        cmocka_unit_test_setup_teardown(test_project_and_dataset_create_commit_with_their_records,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_refused_dataset_writes_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_live_test_refused_is_recorded, setup, teardown),
        cmocka_unit_test_setup_teardown(test_details_open_secrets_and_are_recorded, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_own_secrets_read_is_recorded, setup, teardown),
        cmocka_unit_test_setup_teardown(test_user_create_commits_user_and_audit_record, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_user_create_failed_or_rolled_back_writes_nothing,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_user_delete_of_self_needs_allow_self, setup, teardown),
        cmocka_unit_test_setup_teardown(test_user_update_self_rules, setup, teardown),
        cmocka_unit_test_setup_teardown(test_users_bulk_create_reports_each_entry, setup, teardown),
        cmocka_unit_test_setup_teardown(test_group_delete_forgets_group_in_users, setup, teardown),
        cmocka_unit_test_setup_teardown(test_key_create_returns_key_once_and_stores_its_hash, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_key_for_unknown_user_writes_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_personal_keys_belong_to_their_user, setup, teardown),
        cmocka_unit_test_setup_teardown(test_variables_set_commits_with_record_or_not_at_all, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_users_bulk_edit_and_delete, setup, teardown),
        cmocka_unit_test_setup_teardown(test_group_update, setup, teardown),
        cmocka_unit_test_setup_teardown(test_session_open_commits_session_and_record_together,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_session_open_without_its_record_stores_nothing, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
