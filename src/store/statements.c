/* SPDX-License-Identifier: Apache-2.0 */
/* The SQL of each statement for each dialect. The statements themselves are SQL, in
 * statements.sql, written with ?1, ?2...; the build turns that file into the table store_stmts
 * (scripts/statements.awk, build/gen/store_statements.c). SQLite takes the parameters as they
 * are; PostgreSQL gets $1, $2..., rewritten here once at first use. */
#include <pthread.h>
#include <string.h>

#include "store/backend.h"
#include "util/mem.h"

static char *pg_sql[N_STMTS];
static pthread_once_t pg_once = PTHREAD_ONCE_INIT;

/* ?N becomes $N (no statement has a ? inside a string literal). */
static void pg_translate(void)
{
    for (int i = 0; i < N_STMTS; i++) {
        const char *src = store_stmts[i].pg ? store_stmts[i].pg : store_stmts[i].sql;
        char *dst = xstrdup(src);
        for (char *p = dst; *p; p++)
            if (*p == '?' && p[1] >= '1' && p[1] <= '9')
                *p = '$';
        pg_sql[i] = dst;
    }
}

const char *store_stmt_sql(enum stmt_id id, enum dialect dialect)
{
    if (dialect == DIALECT_PG) {
        pthread_once(&pg_once, pg_translate);
        return pg_sql[id];
    }
    return store_stmts[id].sqlite ? store_stmts[id].sqlite : store_stmts[id].sql;
}
