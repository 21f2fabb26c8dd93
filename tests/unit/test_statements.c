/* SPDX-License-Identifier: Apache-2.0 */
/* The store's statement table is whole: a statement added to enum stmt_id and not to
 * src/store/statements.sql, or written with the other dialect's parameters, fails here rather
 * than when a request first runs it; and the generator that makes the table of that file
 * (scripts/statements.awk, run by the build) refuses a file with a statement missing, unknown or
 * twice. Run from the repository's top directory, as tests/run.sh does. */
/* cmocka.h needs these four first */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/backend.h"

/* Whether SQL has a parameter written MARK followed by a digit ("?1", "$1"). */
static bool has_parameter(const char *sql, char mark)
{
    for (const char *p = sql; (p = strchr(p, mark)); p++)
        if (isdigit((unsigned char)p[1]))
            return true;
    return false;
}

static void test_every_statement_has_sql_and_says_what_it_does(void **state)
{
    (void)state;
    for (int id = 0; id < N_STMTS; id++) {
        const struct stmt_def *d = &store_stmts[id];
        if (!d->sql || !*d->sql || !d->what || !*d->what)
            fail_msg("statement %d of enum stmt_id has no SQL or no `what` in statements.sql", id);
    }
}

static void test_each_dialect_gets_its_own_parameters(void **state)
{
    (void)state;
    for (int id = 0; id < N_STMTS; id++) {
        const char *pg = store_stmt_sql(id, DIALECT_PG);
        const char *sqlite = store_stmt_sql(id, DIALECT_SQLITE);

        assert_non_null(pg);
        assert_non_null(sqlite);
        if (has_parameter(pg, '?'))
            fail_msg("statement %d: PostgreSQL gets ?N parameters: %s", id, pg);
        if (has_parameter(sqlite, '$'))
            fail_msg("statement %d: SQLite gets $N parameters: %s", id, sqlite);
        /* the same parameters on both, where both run something */
        if (*pg && *sqlite && has_parameter(pg, '$') != has_parameter(sqlite, '?'))
            fail_msg("statement %d takes parameters on one dialect only", id);
    }
}

#define SQL_FILE "src/store/statements.sql"

/* The whole of FILE, or a failed test. */
static char *read_all(const char *file)
{
    FILE *f = fopen(file, "r");
    char *text;
    long len;

    if (!f)
        fail_msg("cannot read %s (the tests run from the repository's top directory)", file);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    len = ftell(f);
    assert_true(len > 0);
    rewind(f);
    text = malloc((size_t)len + 1);
    assert_non_null(text);
    assert_int_equal(fread(text, 1, (size_t)len, f), (size_t)len);
    text[len] = '\0';
    fclose(f);
    return text;
}

/* Runs the generator on SQL (backend.h's enum as the build gives it): its exit status, with what
 * it said on standard error in ERR. */
static int generate(const char *sql, char *err, size_t err_size)
{
    char dir[] = "/tmp/sb-test-statements-XXXXXX";
    char path[64], err_path[64], cmd[256];
    FILE *f;
    size_t n;
    int status;

    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/statements.sql", dir);
    snprintf(err_path, sizeof(err_path), "%s/err", dir);
    f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(fputs(sql, f) >= 0, 1);
    assert_int_equal(fclose(f), 0);
    snprintf(cmd, sizeof(cmd),
             "awk -f scripts/statements.awk src/store/backend.h %s >/dev/null 2>%s", path,
             err_path);
    status = system(cmd);
    f = fopen(err_path, "r");
    assert_non_null(f);
    n = fread(err, 1, err_size - 1, f);
    err[n] = '\0';
    fclose(f);
    unlink(path);
    unlink(err_path);
    rmdir(dir);
    return status;
}

/* SQL with the statement NAME (its header line up to the next blank line) left out. */
static char *without(const char *sql, const char *name)
{
    char header[64];
    char *copy = strdup(sql), *start, *end;

    assert_non_null(copy);
    snprintf(header, sizeof(header), "\n-- @%s: ", name);
    start = strstr(copy, header);
    assert_non_null(start);
    end = strstr(start + 1, "\n\n");
    assert_non_null(end);
    memmove(start, end, strlen(end) + 1);
    return copy;
}

/* SQL with MORE after it. */
static char *plus(const char *sql, const char *more)
{
    size_t len = strlen(sql);
    char *copy = malloc(len + strlen(more) + 1);

    assert_non_null(copy);
    memcpy(copy, sql, len);
    strcpy(copy + len, more);
    return copy;
}

static void test_the_generator_takes_the_file_as_it_is(void **state)
{
    char *sql = read_all(SQL_FILE);
    char err[1024];

    (void)state;
    if (generate(sql, err, sizeof(err)) != 0)
        fail_msg("scripts/statements.awk refuses " SQL_FILE ": %s", err);
    free(sql);
}

static void test_the_generator_refuses_a_statement_missing_unknown_or_twice(void **state)
{
    static const struct {
        const char *more, *says;
    } added[] = {
        {"\n-- @no_such_statement: do nothing\nSELECT 1;\n", "no_such_statement"},
        {"\n-- @meta_get: read a setting again\nSELECT 1;\n", "a second statement meta_get"},
        {"\n-- @no_such_statement sqlite:\nSELECT 1;\n", "no_such_statement"},
        {"\n-- @meta_get sqlite:\nSELECT 1;\n-- @meta_get sqlite:\nSELECT 2;\n",
         "a second sqlite override of meta_get"},
        {"\n-- @meta_get postgresql:\nSELECT 1\n", "does not end with"},
        {"\nSELECT 1;\n", "after the \";\""},
    };
    char *sql = read_all(SQL_FILE), *changed;
    char err[1024];

    (void)state;
    changed = without(sql, "meta_set");
    assert_int_not_equal(generate(changed, err, sizeof(err)), 0);
    if (!strstr(err, "no statement meta_set"))
        fail_msg("a missing statement: %s", err);
    free(changed);
    for (size_t i = 0; i < sizeof(added) / sizeof(added[0]); i++) {
        changed = plus(sql, added[i].more);
        assert_int_not_equal(generate(changed, err, sizeof(err)), 0);
        if (!strstr(err, added[i].says))
            fail_msg("case %zu: expected \"%s\" in: %s", i, added[i].says, err);
        free(changed);
    }
    free(sql);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_statement_has_sql_and_says_what_it_does),
        cmocka_unit_test(test_each_dialect_gets_its_own_parameters),
        cmocka_unit_test(test_the_generator_takes_the_file_as_it_is),
        cmocka_unit_test(test_the_generator_refuses_a_statement_missing_unknown_or_twice),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
