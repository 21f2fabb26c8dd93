/* SPDX-License-Identifier: Apache-2.0 */
/* The yardstick for durable writes: how many single-row transactions SQLite itself commits per
 * second on this disk, with the settings of Switchboard's store (WAL, synchronous=FULL), one
 * thread, one INSERT of a ~600-byte row per BEGIN IMMEDIATE ... COMMIT, prepared statements.
 * A server that acknowledges each write after its own commit cannot beat this rate with one
 * writer; bench/run.sh divides the server's create and update rates by it.
 *
 * Usage: sqlite_commit DIR SECONDS
 * Creates DIR/raw_commit.db (and its WAL), commits for SECONDS after a short warm-up, removes
 * the files and prints one JSON object on stdout:
 *   {"commits":N,"seconds":S,"rate":R,"p50_us":A,"p99_us":B,"row_bytes":C} */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define ROW_BYTES 600
#define WARMUP_COMMITS 50

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(sqlite3 *db, const char *what)
{
    fprintf(stderr, "sqlite_commit: %s: %s\n", what, db ? sqlite3_errmsg(db) : "out of memory");
    exit(1);
}

static void exec_or_die(sqlite3 *db, const char *sql)
{
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        fprintf(stderr, "sqlite_commit: %s: %s\n", sql, msg ? msg : "?");
        exit(1);
    }
}

static void step_or_die(sqlite3 *db, sqlite3_stmt *s, const char *what)
{
    if (sqlite3_step(s) != SQLITE_DONE)
        die(db, what);
    sqlite3_reset(s);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* One commit: BEGIN IMMEDIATE, INSERT of row i, COMMIT. */
static void commit_one(sqlite3 *db, sqlite3_stmt *begin, sqlite3_stmt *insert, sqlite3_stmt *commit,
                       long i, const char *body)
{
    char name[32];
    snprintf(name, sizeof(name), "conn_%08ld", i);
    step_or_die(db, begin, "BEGIN");
    sqlite3_bind_text(insert, 1, name, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(insert, 2, body, -1, SQLITE_STATIC);
    step_or_die(db, insert, "INSERT");
    step_or_die(db, commit, "COMMIT");
}

int main(int argc, char **argv)
{
    if (argc != 3 || atof(argv[2]) <= 0) {
        fprintf(stderr, "usage: sqlite_commit DIR SECONDS\n");
        return 2;
    }
    const double seconds = atof(argv[2]);
    char path[4096], wal[4200], shm[4200];
    snprintf(path, sizeof(path), "%s/raw_commit.db", argv[1]);
    snprintf(wal, sizeof(wal), "%s-wal", path);
    snprintf(shm, sizeof(shm), "%s-shm", path);
    unlink(path);
    unlink(wal);
    unlink(shm);

    sqlite3 *db = NULL;
    if (sqlite3_open(path, &db) != SQLITE_OK)
        die(db, path);
    exec_or_die(db, "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;"
                    "CREATE TABLE rows (name TEXT PRIMARY KEY, version INTEGER NOT NULL,"
                    "  definition TEXT NOT NULL);");

    /* a row like a stored PostgreSQL connection definition: ~600 bytes of JSON-ish text */
    static const char pattern[] =
        "{\"name\":\"conn_000001\",\"type\":\"PostgreSQL\",\"params\":{}}";
    char body[ROW_BYTES + 1];
    for (size_t i = 0; i < ROW_BYTES; i++)
        body[i] = pattern[i % (sizeof(pattern) - 1)];
    body[ROW_BYTES] = '\0';

    sqlite3_stmt *begin, *insert, *commit;
    if (sqlite3_prepare_v2(db, "BEGIN IMMEDIATE", -1, &begin, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db, "INSERT INTO rows (name, version, definition) VALUES (?, 1, ?)", -1,
                           &insert, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db, "COMMIT", -1, &commit, NULL) != SQLITE_OK)
        die(db, "prepare");

    long i = 0;
    for (; i < WARMUP_COMMITS; i++)
        commit_one(db, begin, insert, commit, i, body);

    size_t cap = 1 << 16, n = 0;
    double *lat = malloc(cap * sizeof(*lat));
    if (!lat)
        die(NULL, "malloc");
    const double start = now_seconds();
    double t = start;
    while (t - start < seconds) {
        commit_one(db, begin, insert, commit, i++, body);
        const double t2 = now_seconds();
        if (n == cap) {
            cap *= 2;
            lat = realloc(lat, cap * sizeof(*lat));
            if (!lat)
                die(NULL, "realloc");
        }
        lat[n++] = t2 - t;
        t = t2;
    }
    const double elapsed = t - start;
    qsort(lat, n, sizeof(*lat), cmp_double);
    printf("{\"commits\":%zu,\"seconds\":%.3f,\"rate\":%.1f,\"p50_us\":%.0f,\"p99_us\":%.0f,"
           "\"row_bytes\":%d}\n",
           n, elapsed, (double)n / elapsed, lat[n / 2] * 1e6,
           lat[(size_t)((double)(n - 1) * 0.99)] * 1e6, ROW_BYTES);

    free(lat);
    sqlite3_finalize(begin);
    sqlite3_finalize(insert);
    sqlite3_finalize(commit);
    sqlite3_close(db);
    unlink(path);
    unlink(wal);
    unlink(shm);
    return 0;
}
