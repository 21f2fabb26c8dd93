-- SPDX-License-Identifier: Apache-2.0
-- Every statement the store runs, once for both dialects. At build time scripts/statements.awk
-- turns this file into the table store_stmts of src/store/backend.h (build/gen/store_statements.c)
-- and fails the build on a statement it cannot place.
--
-- A statement starts with its header line, then its SQL, ended by ";":
--     -- @NAME: WHAT [FLAG]...
--   NAME  its id in enum stmt_id (backend.h), lower case, without ST_: meta_get is ST_META_GET.
--         Every id has exactly one statement here, and every statement an id.
--   WHAT  what it does, for messages ("read a setting")
--   FLAG  [read]: changes nothing, may run again on a fresh connection;
--         [relaxed]: alone (not in a transaction), it need not wait for the disk
-- Where one dialect's SQL differs, its own follows the statement, headed
--     -- @NAME sqlite:        or     -- @NAME postgresql:
-- or, when that dialect has nothing to run, "-- @NAME sqlite: nothing" with no SQL.
-- Other comment lines are comments only. Parameters are ?1, ?2...: SQLite takes them as they are,
-- PostgreSQL gets $1, $2... (statements.c). Keys are compared byte for byte on both (SQLite's
-- BINARY collation; the PostgreSQL columns are COLLATE "C").

-- @meta_get: read a setting [read]
SELECT value FROM meta WHERE name = ?1;

-- @meta_init: write a setting
INSERT INTO meta (name, value) VALUES (?1, ?2) ON CONFLICT DO NOTHING;

-- @meta_set: write a setting
INSERT INTO meta (name, value) VALUES (?1, ?2)
    ON CONFLICT (name) DO UPDATE SET value = excluded.value;

-- a setting read and held until the transaction ends: FOR SHARE waits for a transaction that
-- claimed the row FOR UPDATE (the key rotation) and makes it wait; SQLite's write
-- transactions are serial, so a plain read inside one holds the value as well
-- @meta_hold: read and hold a setting
SELECT value FROM meta WHERE name = ?1 FOR SHARE;
-- @meta_hold sqlite:
SELECT value FROM meta WHERE name = ?1;

-- a setting held (as meta_hold) and compared in the statement: it fails with division by
-- zero (SQLSTATE 22012) unless NAME is set to VALUE, so that nobody waits for its answer
-- (PostgreSQL only: SQLite has nothing to wait for, store.c compares)
-- @meta_expect: check a setting
SELECT 1 / (SELECT COUNT(*)::integer FROM
    (SELECT value FROM meta WHERE name = ?1 FOR SHARE) held
    WHERE held.value = ?2);
-- @meta_expect sqlite: nothing

-- @meta_claim: lock a setting
SELECT value FROM meta WHERE name = ?1 FOR UPDATE;
-- @meta_claim sqlite: nothing

-- @obj_list: list records [read]
SELECT record FROM objects WHERE coll = ?1 ORDER BY id;

-- @obj_get: read a record [read]
SELECT record FROM objects WHERE coll = ?1 AND id = ?2;

-- @obj_insert: save a record
INSERT INTO objects (coll, id, record) VALUES (?1, ?2, ?3)
    ON CONFLICT DO NOTHING;

-- @obj_update: save a record
UPDATE objects SET record = ?3 WHERE coll = ?1 AND id = ?2;

-- @obj_delete: delete a record
DELETE FROM objects WHERE coll = ?1 AND id = ?2;

-- SQLite: a write transaction (BEGIN IMMEDIATE) already has the database to itself
-- @obj_lock: lock a record
SELECT 1 FROM objects WHERE coll = ?1 AND id = ?2 FOR UPDATE;
-- @obj_lock sqlite: nothing

-- @audit_append: append to the audit trail [relaxed]
INSERT INTO audit (ts, record) VALUES (?1, ?2);

-- ?3, ?5, ?7: principal, action, object to equal; ?4, ?6, ?8: ... to start with (each NULL:
-- any). A prefix is compared as a substring, not with LIKE: nothing in it is a pattern.
-- @audit_list: read the audit trail [read]
SELECT record FROM audit WHERE ts < ?1
    AND (?3::text IS NULL OR record::jsonb ->> 'principal' = ?3::text)
    AND (?4::text IS NULL OR left(record::jsonb ->> 'principal', length(?4::text)) = ?4::text)
    AND (?5::text IS NULL OR record::jsonb ->> 'action' = ?5::text)
    AND (?6::text IS NULL OR left(record::jsonb ->> 'action', length(?6::text)) = ?6::text)
    AND (?7::text IS NULL OR record::jsonb ->> 'object' = ?7::text)
    AND (?8::text IS NULL OR left(record::jsonb ->> 'object', length(?8::text)) = ?8::text)
    ORDER BY ts DESC, seq DESC LIMIT ?2;
-- @audit_list sqlite:
SELECT record FROM audit WHERE ts < ?1
    AND (?3 IS NULL OR json_extract(record, '$.principal') = ?3)
    AND (?4 IS NULL OR substr(json_extract(record, '$.principal'), 1, length(?4)) = ?4)
    AND (?5 IS NULL OR json_extract(record, '$.action') = ?5)
    AND (?6 IS NULL OR substr(json_extract(record, '$.action'), 1, length(?6)) = ?6)
    AND (?7 IS NULL OR json_extract(record, '$.object') = ?7)
    AND (?8 IS NULL OR substr(json_extract(record, '$.object'), 1, length(?8)) = ?8)
    ORDER BY ts DESC, seq DESC LIMIT ?2;

-- @audit_purge: delete old audit records
DELETE FROM audit WHERE ts < ?1;

-- @conn_list: list connections [read]
SELECT name, definition FROM connections ORDER BY name;

-- (usableBy and allowedGroups are read from the definition by store.c's row_conn_scan)
-- @conn_scan: read the connections [read]
SELECT name, type, version, definition FROM connections;

-- @conn_get: read a connection [read]
SELECT definition FROM connections WHERE name = ?1;

-- (a delete locks the row first: it then sees every dataset a writer that held it added)
-- @conn_get_version: read a connection [read]
SELECT version, definition FROM connections WHERE name = ?1;
-- @conn_get_version postgresql:
SELECT version, definition FROM connections WHERE name = ?1
    FOR UPDATE;

-- SQLite's transaction holds the only write lock: nobody deletes it meanwhile
-- @conn_hold: read a connection
SELECT definition FROM connections WHERE name = ?1;
-- @conn_hold postgresql:
SELECT definition FROM connections WHERE name = ?1 FOR SHARE;

-- @conn_exists: read a connection [read]
SELECT 1 FROM connections WHERE name = ?1;

-- @conn_insert: save the connection
INSERT INTO connections (name, type, version, definition)
    VALUES (?1, ?2, ?3, ?4) ON CONFLICT DO NOTHING;

-- the insert and its next version in one statement (no round trip between them): ?3 and ?4
-- are the definition's text before and after its version number; no row when the name is
-- taken. (SQLite: "WHERE true" tells its parser that ON CONFLICT is not a join's.)
-- @conn_create: save the connection
INSERT INTO connections (name, type, version, definition)
    SELECT ?1, ?2, next, ?3 || next || ?4 FROM
    (SELECT COALESCE(MAX(version), 0) + 1 AS next FROM conn_history
    WHERE name = ?1) AS v WHERE true ON CONFLICT DO NOTHING RETURNING version;
-- @conn_create postgresql:
INSERT INTO connections (name, type, version, definition)
    SELECT ?1, ?2, next, ?3::text || next::text || ?4::text FROM
    (SELECT COALESCE(MAX(version), 0) + 1 AS next FROM conn_history
    WHERE name = ?1) AS v ON CONFLICT DO NOTHING RETURNING version;

-- conn_create sent without waiting for its answer (with the COMMIT behind it): a taken name
-- fails it with division by zero (SQLSTATE 22012) instead of returning no row, so that nothing
-- of its transaction commits (PostgreSQL only: store.c uses it through exec_later)
-- @conn_create_later: save the connection
WITH created AS (INSERT INTO connections (name, type, version, definition)
    SELECT ?1, ?2, next, ?3::text || next::text || ?4::text FROM
    (SELECT COALESCE(MAX(version), 0) + 1 AS next FROM conn_history
    WHERE name = ?1) AS v ON CONFLICT DO NOTHING RETURNING version)
SELECT MAX(version) * (1 / COUNT(*)::integer) FROM created;
-- @conn_create_later sqlite: nothing

-- @conn_replace: save the connection
UPDATE connections SET version = ?3, definition = ?4
    WHERE name = ?1 AND version = ?2;

-- conn_replace sent without waiting for its answer, by a writer that holds the name's lock since
-- it read the version it expects (store_conn_get_locked): no row replaced fails it with
-- division by zero (SQLSTATE 22012). PostgreSQL only, as conn_create_later.
-- @conn_replace_later: save the connection
WITH replaced AS (UPDATE connections SET version = ?3, definition = ?4
    WHERE name = ?1 AND version = ?2 RETURNING version)
SELECT 1 / COUNT(*)::integer FROM replaced;
-- @conn_replace_later sqlite: nothing

-- @conn_delete: delete the connection
DELETE FROM connections WHERE name = ?1;

-- @hist_next: read the connection's history [read]
SELECT COALESCE(MAX(version), 0) + 1 FROM conn_history WHERE name = ?1;

-- @hist_append: record the connection's history
INSERT INTO conn_history (name, version, action, modified_by,
    modified_on, definition) VALUES (?1, ?2, ?3, ?4, ?5, ?6);

-- the history entry of the connection as it is now stored (its text is not sent again)
-- @hist_copy: record the connection's history
INSERT INTO conn_history (name, version, action, modified_by, modified_on,
    definition) SELECT name, version, ?2, ?3, ?4, definition FROM connections
    WHERE name = ?1;

-- @hist_list: read the connection's history [read]
SELECT version, modified_by, modified_on, action, definition
    FROM conn_history WHERE name = ?1 ORDER BY version, seq;

-- @hist_get: read the connection's history [read]
SELECT definition FROM conn_history WHERE name = ?1 AND version = ?2
    AND action <> 'delete' ORDER BY seq DESC LIMIT 1;

-- @usages: list the connection's usages [read]
SELECT project, name, type FROM datasets WHERE connection = ?1
    ORDER BY project, name;

-- @usages_first: count the connection's usages [read]
SELECT project, name, COUNT(*) OVER () FROM datasets
    WHERE connection = ?1 ORDER BY project, name LIMIT 20;

-- @ds_list: list datasets [read]
SELECT definition FROM datasets WHERE project = ?1 ORDER BY name;

-- @ds_get: read a dataset [read]
SELECT definition FROM datasets WHERE project = ?1 AND name = ?2;

-- @ds_insert: save the dataset
INSERT INTO datasets (project, name, type, connection, definition)
    VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT DO NOTHING;

-- @ds_update: save the dataset
UPDATE datasets SET type = ?3, connection = ?4, definition = ?5
    WHERE project = ?1 AND name = ?2;

-- @ds_delete: delete the dataset
DELETE FROM datasets WHERE project = ?1 AND name = ?2;

-- @ds_delete_project: delete the project's datasets
DELETE FROM datasets WHERE project = ?1;

-- @key_insert: save the API key
INSERT INTO api_keys (kind, id, hash, record, owner)
    VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT DO NOTHING;

-- @key_by_hash: look up an API key [read]
SELECT kind, record FROM api_keys WHERE hash = ?1;

-- @key_get: read an API key [read]
SELECT record FROM api_keys WHERE kind = ?1 AND id = ?2;

-- @key_list: list API keys [read]
SELECT record FROM api_keys WHERE kind = ?1 ORDER BY seq;

-- @key_list_owner: list API keys [read]
SELECT record FROM api_keys WHERE kind = ?1 AND owner = ?2
    ORDER BY seq;

-- @key_update: save the API key
UPDATE api_keys SET record = ?3 WHERE kind = ?1 AND id = ?2;

-- @key_delete: delete the API key
DELETE FROM api_keys WHERE kind = ?1 AND id = ?2;

-- @key_delete_owner: delete the user's API keys
DELETE FROM api_keys WHERE kind = ?1 AND owner = ?2;

-- other nodes may read during a key rotation, not write: what it reads is what it rewrites
-- (SQLite's transaction holds the only write lock already)
-- @reseal_lock: lock the store for the key rotation
LOCK TABLE connections, conn_history, objects IN EXCLUSIVE MODE;
-- @reseal_lock sqlite: nothing

-- @reseal_conn_read: read records for the key rotation
SELECT name, definition, version FROM connections;

-- @reseal_conn_write: save a re-encrypted record
UPDATE connections SET definition = ?2 WHERE name = ?1;

-- @reseal_hist_read: read records for the key rotation
SELECT CAST(seq AS TEXT), definition FROM conn_history;

-- @reseal_hist_write: save a re-encrypted record
UPDATE conn_history SET definition = ?2
    WHERE seq = CAST(?1 AS BIGINT);

-- @reseal_obj_read: read records for the key rotation
SELECT id, record FROM objects WHERE coll = ?1;

-- @reseal_obj_write: save a re-encrypted record
UPDATE objects SET record = ?2 WHERE id = ?1 AND coll = ?3;
