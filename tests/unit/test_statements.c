/* SPDX-License-Identifier: Apache-2.0 */
/* The store's statement table (src/store/statements.c) is whole: a statement added to enum
 * stmt_id and not to the table, or written with the other dialect's parameters, fails here
 * rather than when a request first runs it. */
/* cmocka.h needs these four first */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <ctype.h>
#include <string.h>

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
            fail_msg("statement %d of enum stmt_id has no SQL or no `what` in statements.c", id);
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_statement_has_sql_and_says_what_it_does),
        cmocka_unit_test(test_each_dialect_gets_its_own_parameters),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
