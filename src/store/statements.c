/* SPDX-License-Identifier: Apache-2.0 */
/* Every statement the store runs, once for both dialects: written with ?1, ?2... (SQLite takes
 * them as they are; PostgreSQL gets $1, $2..., rewritten once at first use), with an override
 * for one dialect where the SQL differs. Keys are compared byte for byte on both (SQLite's
 * BINARY collation; the PostgreSQL columns are COLLATE "C"). */
#include <pthread.h>
#include <string.h>

#include "store/backend.h"
#include "util/mem.h"

const struct stmt_def store_stmts[N_STMTS] = {
    [ST_META_GET] = {"SELECT value FROM meta WHERE name = ?1", .what = "read a setting",
                     .flags = STMT_READ},
    [ST_META_INIT] = {"INSERT INTO meta (name, value) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
                      .what = "write a setting"},
    [ST_META_SET] = {"INSERT INTO meta (name, value) VALUES (?1, ?2)"
                     " ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                     .what = "write a setting"},
    /* a setting read and held until the transaction ends: FOR SHARE waits for a transaction that
     * claimed the row FOR UPDATE (the key rotation) and makes it wait; SQLite's write
     * transactions are serial, so a plain read inside one holds the value as well */
    [ST_META_HOLD] = {"SELECT value FROM meta WHERE name = ?1 FOR SHARE",
                      .sqlite = "SELECT value FROM meta WHERE name = ?1",
                      .what = "read and hold a setting"},
    /* a setting held (as ST_META_HOLD) and compared in the statement: it fails with division by
     * zero (SQLSTATE 22012) unless NAME is set to VALUE, so that nobody waits for its answer
     * (PostgreSQL only: SQLite has nothing to wait for, store.c compares) */
    [ST_META_EXPECT] = {"SELECT 1 / (SELECT COUNT(*)::integer FROM"
                        " (SELECT value FROM meta WHERE name = ?1 FOR SHARE) held"
                        " WHERE held.value = ?2)",
                        .sqlite = "", .what = "check a setting"},
    [ST_META_CLAIM] = {"SELECT value FROM meta WHERE name = ?1 FOR UPDATE", .sqlite = "",
                       .what = "lock a setting"},

    [ST_OBJ_LIST] = {"SELECT record FROM objects WHERE coll = ?1 ORDER BY id",
                     .what = "list records", .flags = STMT_READ},
    [ST_OBJ_GET] = {"SELECT record FROM objects WHERE coll = ?1 AND id = ?2",
                    .what = "read a record", .flags = STMT_READ},
    [ST_OBJ_INSERT] = {"INSERT INTO objects (coll, id, record) VALUES (?1, ?2, ?3)"
                       " ON CONFLICT DO NOTHING",
                       .what = "save a record"},
    [ST_OBJ_UPDATE] = {"UPDATE objects SET record = ?3 WHERE coll = ?1 AND id = ?2",
                       .what = "save a record"},
    [ST_OBJ_DELETE] = {"DELETE FROM objects WHERE coll = ?1 AND id = ?2",
                       .what = "delete a record"},
    /* SQLite: a write transaction (BEGIN IMMEDIATE) already has the database to itself */
    [ST_OBJ_LOCK] = {"SELECT 1 FROM objects WHERE coll = ?1 AND id = ?2 FOR UPDATE", .sqlite = "",
                     .what = "lock a record"},

    [ST_AUDIT_APPEND] = {"INSERT INTO audit (ts, record) VALUES (?1, ?2)",
                         .what = "append to the audit trail", .flags = STMT_RELAXED},
    /* ?3, ?5, ?7: principal, action, object to equal; ?4, ?6, ?8: ... to start with (each NULL:
     * any). A prefix is compared as a substring, not with LIKE: nothing in it is a pattern. */
    [ST_AUDIT_LIST] =
        {"SELECT record FROM audit WHERE ts < ?1"
         " AND (?3::text IS NULL OR record::jsonb ->> 'principal' = ?3::text)"
         " AND (?4::text IS NULL OR left(record::jsonb ->> 'principal', length(?4::text)) = "
         "?4::text)"
         " AND (?5::text IS NULL OR record::jsonb ->> 'action' = ?5::text)"
         " AND (?6::text IS NULL OR left(record::jsonb ->> 'action', length(?6::text)) = ?6::text)"
         " AND (?7::text IS NULL OR record::jsonb ->> 'object' = ?7::text)"
         " AND (?8::text IS NULL OR left(record::jsonb ->> 'object', length(?8::text)) = ?8::text)"
         " ORDER BY ts DESC, seq DESC LIMIT ?2",
         .sqlite =
             "SELECT record FROM audit WHERE ts < ?1"
             " AND (?3 IS NULL OR json_extract(record, '$.principal') = ?3)"
             " AND (?4 IS NULL OR substr(json_extract(record, '$.principal'), 1, length(?4)) = ?4)"
             " AND (?5 IS NULL OR json_extract(record, '$.action') = ?5)"
             " AND (?6 IS NULL OR substr(json_extract(record, '$.action'), 1, length(?6)) = ?6)"
             " AND (?7 IS NULL OR json_extract(record, '$.object') = ?7)"
             " AND (?8 IS NULL OR substr(json_extract(record, '$.object'), 1, length(?8)) = ?8)"
             " ORDER BY ts DESC, seq DESC LIMIT ?2",
         .what = "read the audit trail", .flags = STMT_READ},
    [ST_AUDIT_PURGE] = {"DELETE FROM audit WHERE ts < ?1", .what = "delete old audit records"},

    [ST_CONN_LIST] = {"SELECT name, definition FROM connections ORDER BY name",
                      .what = "list connections", .flags = STMT_READ},
    /* (usableBy and allowedGroups are read from the definition by store.c's row_conn_scan) */
    [ST_CONN_SCAN] = {"SELECT name, type, version, definition FROM connections",
                      .what = "read the connections", .flags = STMT_READ},
    [ST_CONN_GET] = {"SELECT definition FROM connections WHERE name = ?1",
                     .what = "read a connection", .flags = STMT_READ},
    /* (a delete locks the row first: it then sees every dataset a writer that held it added) */
    [ST_CONN_GET_VERSION] = {"SELECT version, definition FROM connections WHERE name = ?1",
                             .pg = "SELECT version, definition FROM connections WHERE name = ?1"
                                   " FOR UPDATE",
                             .what = "read a connection", .flags = STMT_READ},
    /* SQLite's transaction holds the only write lock: nobody deletes it meanwhile */
    [ST_CONN_HOLD] = {"SELECT definition FROM connections WHERE name = ?1",
                      .pg = "SELECT definition FROM connections WHERE name = ?1 FOR SHARE",
                      .what = "read a connection"},
    [ST_CONN_EXISTS] = {"SELECT 1 FROM connections WHERE name = ?1", .what = "read a connection",
                        .flags = STMT_READ},
    [ST_CONN_INSERT] = {"INSERT INTO connections (name, type, version, definition)"
                        " VALUES (?1, ?2, ?3, ?4) ON CONFLICT DO NOTHING",
                        .what = "save the connection"},
    /* the insert and its next version in one statement (no round trip between them): ?3 and ?4
     * are the definition's text before and after its version number; no row when the name is
     * taken. (SQLite: "WHERE true" tells its parser that ON CONFLICT is not a join's.) */
    [ST_CONN_CREATE] =
        {"INSERT INTO connections (name, type, version, definition)"
         " SELECT ?1, ?2, next, ?3 || next || ?4 FROM"
         " (SELECT COALESCE(MAX(version), 0) + 1 AS next FROM conn_history"
         " WHERE name = ?1) AS v WHERE true ON CONFLICT DO NOTHING RETURNING version",
         .pg = "INSERT INTO connections (name, type, version, definition)"
               " SELECT $1, $2, next, $3::text || next::text || $4::text FROM"
               " (SELECT COALESCE(MAX(version), 0) + 1 AS next FROM conn_history"
               " WHERE name = $1) AS v ON CONFLICT DO NOTHING RETURNING version",
         .what = "save the connection"},
    [ST_CONN_REPLACE] = {"UPDATE connections SET version = ?3, definition = ?4"
                         " WHERE name = ?1 AND version = ?2",
                         .what = "save the connection"},
    [ST_CONN_DELETE] = {"DELETE FROM connections WHERE name = ?1", .what = "delete the connection"},

    [ST_HIST_NEXT] = {"SELECT COALESCE(MAX(version), 0) + 1 FROM conn_history WHERE name = ?1",
                      .what = "read the connection's history", .flags = STMT_READ},
    [ST_HIST_APPEND] = {"INSERT INTO conn_history (name, version, action, modified_by,"
                        " modified_on, definition) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                        .what = "record the connection's history"},
    /* the history entry of the connection as it is now stored (its text is not sent again) */
    [ST_HIST_COPY] = {"INSERT INTO conn_history (name, version, action, modified_by, modified_on,"
                      " definition) SELECT name, version, ?2, ?3, ?4, definition FROM connections"
                      " WHERE name = ?1",
                      .what = "record the connection's history"},
    [ST_HIST_LIST] = {"SELECT version, modified_by, modified_on, action, definition"
                      " FROM conn_history WHERE name = ?1 ORDER BY version, seq",
                      .what = "read the connection's history", .flags = STMT_READ},
    [ST_HIST_GET] = {"SELECT definition FROM conn_history WHERE name = ?1 AND version = ?2"
                     " AND action <> 'delete' ORDER BY seq DESC LIMIT 1",
                     .what = "read the connection's history", .flags = STMT_READ},

    [ST_USAGES] = {"SELECT project, name, type FROM datasets WHERE connection = ?1"
                   " ORDER BY project, name",
                   .what = "list the connection's usages", .flags = STMT_READ},
    [ST_USAGES_FIRST] = {"SELECT project, name, COUNT(*) OVER () FROM datasets"
                         " WHERE connection = ?1 ORDER BY project, name LIMIT 20",
                         .what = "count the connection's usages", .flags = STMT_READ},

    [ST_DS_LIST] = {"SELECT definition FROM datasets WHERE project = ?1 ORDER BY name",
                    .what = "list datasets", .flags = STMT_READ},
    [ST_DS_GET] = {"SELECT definition FROM datasets WHERE project = ?1 AND name = ?2",
                   .what = "read a dataset", .flags = STMT_READ},
    [ST_DS_INSERT] = {"INSERT INTO datasets (project, name, type, connection, definition)"
                      " VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT DO NOTHING",
                      .what = "save the dataset"},
    [ST_DS_UPDATE] = {"UPDATE datasets SET type = ?3, connection = ?4, definition = ?5"
                      " WHERE project = ?1 AND name = ?2",
                      .what = "save the dataset"},
    [ST_DS_DELETE] = {"DELETE FROM datasets WHERE project = ?1 AND name = ?2",
                      .what = "delete the dataset"},
    [ST_DS_DELETE_PROJECT] = {"DELETE FROM datasets WHERE project = ?1",
                              .what = "delete the project's datasets"},

    [ST_KEY_INSERT] = {"INSERT INTO api_keys (kind, id, hash, record, owner)"
                       " VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT DO NOTHING",
                       .what = "save the API key"},
    [ST_KEY_BY_HASH] = {"SELECT kind, record FROM api_keys WHERE hash = ?1",
                        .what = "look up an API key", .flags = STMT_READ},
    [ST_KEY_GET] = {"SELECT record FROM api_keys WHERE kind = ?1 AND id = ?2",
                    .what = "read an API key", .flags = STMT_READ},
    [ST_KEY_LIST] = {"SELECT record FROM api_keys WHERE kind = ?1 ORDER BY seq",
                     .what = "list API keys", .flags = STMT_READ},
    [ST_KEY_LIST_OWNER] = {"SELECT record FROM api_keys WHERE kind = ?1 AND owner = ?2"
                           " ORDER BY seq",
                           .what = "list API keys", .flags = STMT_READ},
    [ST_KEY_UPDATE] = {"UPDATE api_keys SET record = ?3 WHERE kind = ?1 AND id = ?2",
                       .what = "save the API key"},
    [ST_KEY_DELETE] = {"DELETE FROM api_keys WHERE kind = ?1 AND id = ?2",
                       .what = "delete the API key"},
    [ST_KEY_DELETE_OWNER] = {"DELETE FROM api_keys WHERE kind = ?1 AND owner = ?2",
                             .what = "delete the user's API keys"},

    /* other nodes may read during a key rotation, not write: what it reads is what it rewrites
     * (SQLite's transaction holds the only write lock already) */
    [ST_RESEAL_LOCK] = {"LOCK TABLE connections, conn_history, objects IN EXCLUSIVE MODE",
                        .sqlite = "", .what = "lock the store for the key rotation"},
    [ST_RESEAL_CONN_READ] = {"SELECT name, definition, version FROM connections",
                             .what = "read records for the key rotation"},
    [ST_RESEAL_CONN_WRITE] = {"UPDATE connections SET definition = ?2 WHERE name = ?1",
                              .what = "save a re-encrypted record"},
    [ST_RESEAL_HIST_READ] = {"SELECT CAST(seq AS TEXT), definition FROM conn_history",
                             .what = "read records for the key rotation"},
    [ST_RESEAL_HIST_WRITE] = {"UPDATE conn_history SET definition = ?2"
                              " WHERE seq = CAST(?1 AS BIGINT)",
                              .what = "save a re-encrypted record"},
    [ST_RESEAL_OBJ_READ] = {"SELECT id, record FROM objects WHERE coll = ?1",
                            .what = "read records for the key rotation"},
    [ST_RESEAL_OBJ_WRITE] = {"UPDATE objects SET record = ?2 WHERE id = ?1 AND coll = ?3",
                             .what = "save a re-encrypted record"},
};

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
