/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer harness: connection-definition validation and the secrets round trip
 * (src/core/conn.c, src/core/secrets.c). The input is a request body, decoded as the server
 * decodes it (json_loadb, duplicates rejected), then:
 *   - POST: conn_prepare_create; a definition it accepts is sealed (secrets_seal_params),
 *     opened (secrets_open_params) and stripped (secrets_strip_params), and the sealed
 *     definition, sent back unchanged as a PUT (get -> set), must be accepted as version 2;
 *   - PUT: conn_prepare_update of two stored connections (PostgreSQL with a sealed password,
 *     Filesystem) by the body, and the same round trip on what it accepts.
 * The round trip must give back every plaintext, keep sealed values byte for byte when sealed
 * again, and touch nothing but the secret slots. The key is a fixed test key. */
#include <sodium.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/conn.h"
#include "core/secrets.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond))                                                                               \
            __builtin_trap();                                                                      \
    } while (0)

#define NOW_MS 1700000000000LL
#define WHO "fuzzer"

static struct secrets keys;
static json_t *stored_pg, *stored_fs;

static json_t *create_fixed(const char *text)
{
    json_t *body = json_loads(text, 0, NULL), *def = NULL;
    struct sb_err err;

    if (!body || conn_prepare_create(body, WHO, NOW_MS, true, &def, &err) != SB_OK ||
        secrets_seal_params(&keys, "fuzz", json_object_get(def, "params"), &err) != SB_OK)
        abort();
    json_decref(body);
    return def;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    uint8_t master[32];

    (void)argc;
    (void)argv;
    if (sodium_init() < 0)
        abort();
    for (int i = 0; i < 32; i++)
        master[i] = (uint8_t)(i + 1);
    secrets_init(&keys, master);
    stored_pg = create_fixed("{\"name\": \"pg_main\", \"type\": \"PostgreSQL\", \"params\": "
                             "{\"host\": \"db\", \"user\": \"etl\", \"password\": \"hunter2\", "
                             "\"properties\": [{\"name\": \"k\", \"value\": \"v\", \"secret\": "
                             "true}]}, \"usableBy\": \"ALLOWED\", \"allowedGroups\": [\"g\"]}");
    stored_fs = create_fixed("{\"name\": \"files\", \"type\": \"Filesystem\", \"params\": "
                             "{\"root\": \"/srv\"}}");
    return 0;
}

static bool has_sealed_string(const json_t *v)
{
    const char *key;
    json_t *item;
    size_t i;

    if (json_is_string(v))
        return secrets_is_sealed(json_string_value(v));
    json_object_foreach ((json_t *)v, key, item)
        if (has_sealed_string(item))
            return true;
    json_array_foreach (v, i, item)
        if (has_sealed_string(item))
            return true;
    return false;
}

static void check_error(enum sb_err_kind rc, const struct sb_err *err)
{
    CHECK(rc > SB_OK && rc <= SB_ERR_UNAVAILABLE);
    CHECK(err->kind == rc);
    CHECK(memchr(err->msg, '\0', sizeof(err->msg)) != NULL && err->msg[0] != '\0');
}

/* Seals the params of DEF in place and checks the round trip. Returns whether sealing was
 * accepted. */
static bool seal_round_trip(json_t *def)
{
    json_t *params = json_object_get(def, "params");
    json_t *before, *opened = NULL, *again, *s1, *s2, *s3;
    struct sb_err err;
    enum sb_err_kind rc;

    CHECK(json_is_object(params));
    before = json_deep_copy(params);
    rc = secrets_seal_params(&keys, "fuzz", params, &err);
    if (rc != SB_OK) {
        check_error(rc, &err);
        CHECK(rc == SB_ERR_BAD_REQUEST);
        json_decref(before);
        return false;
    }
    /* every value sealed here opens again */
    rc = secrets_open_params(&keys, "fuzz", params, &opened, &err);
    CHECK(rc == SB_OK && opened != NULL);

    /* sealing and opening change nothing but the secret slots */
    s1 = secrets_strip_params(before);
    s2 = secrets_strip_params(params);
    s3 = secrets_strip_params(opened);
    CHECK(json_equal(s1, s2));
    CHECK(json_equal(s2, s3));
    CHECK(!has_sealed_string(s2) || has_sealed_string(before));

    /* plaintexts come back unchanged */
    if (!has_sealed_string(before))
        CHECK(json_equal(opened, before));

    /* sealed values are kept byte for byte when sent back */
    again = json_deep_copy(params);
    CHECK(secrets_seal_params(&keys, "fuzz", again, &err) == SB_OK);
    CHECK(json_equal(again, params));

    json_decref(again);
    json_decref(s1);
    json_decref(s2);
    json_decref(s3);
    json_decref(opened);
    json_decref(before);
    return true;
}

/* write guards (docs/API.md §4.7) on for odd-sized inputs, off for even ones */
static bool guards;

static void check_update(const json_t *stored, const json_t *body)
{
    const char *name = json_string_value(json_object_get(stored, "name"));
    struct sb_err err;
    json_t *def = NULL;
    enum sb_err_kind rc;

    rc = conn_prepare_update(stored, body, name, WHO, NOW_MS + 1, guards, &def, &err);
    if (rc != SB_OK) {
        check_error(rc, &err);
        return;
    }
    CHECK(json_is_object(def));
    CHECK(conn_version(def) == conn_version(stored) + 1);
    CHECK(json_equal(json_object_get(def, "name"), json_object_get(stored, "name")));
    CHECK(json_equal(json_object_get(def, "type"), json_object_get(stored, "type")));
    (void)conn_credential_shape(def);
    seal_round_trip(def);
    json_decref(def);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_error_t jerr;
    json_t *body = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, &jerr);
    json_t *def = NULL, *def2 = NULL;
    struct sb_err err;
    enum sb_err_kind rc;

    if (!body)
        return 0;

    guards = size & 1;
    rc = conn_prepare_create(body, WHO, NOW_MS, guards, &def, &err);
    if (rc != SB_OK) {
        check_error(rc, &err);
    } else {
        const char *name = json_string_value(json_object_get(def, "name"));
        CHECK(name != NULL && conn_validate_name(name, &err));
        CHECK(json_equal(json_object_get(def, "name"), json_object_get(body, "name")));
        CHECK(conn_version(def) == 1);
        (void)conn_credential_shape(def);
        if (seal_round_trip(def)) {
            /* get -> set: the definition as read back is accepted unchanged */
            rc = conn_prepare_update(def, def, name, WHO, NOW_MS + 1, guards, &def2, &err);
            CHECK(rc == SB_OK);
            CHECK(conn_version(def2) == 2);
            CHECK(seal_round_trip(def2));
            CHECK(json_equal(json_object_get(def2, "params"), json_object_get(def, "params")));
            json_decref(def2);
        }
        json_decref(def);
    }

    check_update(stored_pg, body);
    check_update(stored_fs, body);
    json_decref(body);
    return 0;
}
