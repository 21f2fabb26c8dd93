/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer harness: the Authorization header (auth_parse_header, src/http/auth.c). Parses the
 * input as a header, then checks the round trip: a key (the input, when it can be one) sent as
 * Basic user name, as Basic password with an empty user, or as a Bearer token comes back
 * unchanged. */
#include <sodium.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http/auth.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond))                                                                               \
            __builtin_trap();                                                                      \
    } while (0)

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    if (sodium_init() < 0)
        abort();
    return 0;
}

/* Parses HEADER; on success returns the key (caller frees), else NULL. */
static char *parse(const char *header)
{
    struct sb_err err;
    char *key = (char *)1;
    enum sb_err_kind rc;

    sb_err_clear(&err);
    rc = auth_parse_header(header, &key, &err);
    if (rc != SB_OK) {
        CHECK(rc == SB_ERR_UNAUTHORIZED && err.kind == SB_ERR_UNAUTHORIZED);
        CHECK(key == NULL);
        CHECK(err.msg[0] != '\0');
        return NULL;
    }
    CHECK(key != NULL && key[0] != '\0');
    return key;
}

/* "Basic " + base64(USER ":" PASS) */
static char *basic(const char *user, const char *pass)
{
    size_t raw_len = strlen(user) + 1 + strlen(pass);
    char *raw = malloc(raw_len + 1);
    size_t b64_len = sodium_base64_ENCODED_LEN(raw_len, sodium_base64_VARIANT_ORIGINAL);
    char *out = malloc(6 + b64_len);

    memcpy(raw, user, strlen(user));
    raw[strlen(user)] = ':';
    memcpy(raw + strlen(user) + 1, pass, strlen(pass));
    memcpy(out, "Basic ", 6);
    sodium_bin2base64(out + 6, b64_len, (const unsigned char *)raw, raw_len,
                      sodium_base64_VARIANT_ORIGINAL);
    free(raw);
    return out;
}

static void check_round_trip(const char *header, const char *want)
{
    char *key = parse(header);

    CHECK(key != NULL);
    CHECK(strcmp(key, want) == 0);
    free(key);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    char *key, *header;

    memcpy(text, data, size);
    text[size] = '\0'; /* a header value never holds a NUL byte */
    key = parse(text);
    free(key);
    if (size == 0) {
        CHECK(parse(NULL) == NULL);
        free(text);
        return 0;
    }

    /* the input as a key: what a client could hold */
    if (text[0] != '\0' && !strchr(text, ':')) {
        header = basic(text, "");
        check_round_trip(header, text); /* the DSS client: key as user, empty password */
        free(header);
        header = basic("", text);
        check_round_trip(header, text); /* key as password, empty user */
        free(header);
        header = basic(text, "ignored password");
        check_round_trip(header, text);
        free(header);
    }
    if (text[0] != '\0' && text[0] != ' ') {
        header = malloc(strlen(text) + 8);
        memcpy(header, "Bearer ", 7);
        strcpy(header + 7, text);
        check_round_trip(header, text);
        free(header);
    }
    free(text);
    return 0;
}
