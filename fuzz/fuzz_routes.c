/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer harness: request routing and percent-decoding (src/http/routes.c). The first byte
 * picks the method, the rest is the raw request path as libmicrohttpd hands it over (a C
 * string). routes_percent_decode also gets the raw bytes, NUL bytes included. Checks the
 * promises of routes.h: params are NUL-free strings, no more than the route has segments, and
 * every result is one of the four kinds with its outputs set. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http/routes.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const methods[] = {"GET",  "POST",  "PUT",     "DELETE",
                                      "HEAD", "PATCH", "OPTIONS", "get"};

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond))                                                                               \
            __builtin_trap();                                                                      \
    } while (0)

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    routes_init();
    return 0;
}

static void check_decode(const uint8_t *data, size_t size, bool plus)
{
    size_t out_len = (size_t)-1;
    char *out = routes_percent_decode((const char *)data, size, plus, &out_len);

    if (!out)
        return;
    CHECK(out_len <= size);
    CHECK(out[out_len] == '\0');
    /* without '%' in the input, decoding changes nothing but '+' */
    if (!memchr(data, '%', size)) {
        CHECK(out_len == size);
        for (size_t i = 0; i < size; i++)
            CHECK((uint8_t)out[i] == ((plus && data[i] == '+') ? ' ' : data[i]));
    }
    free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const struct route *route = NULL;
    char *params[SB_ROUTE_MAX_SEGMENTS] = {0};
    int n_params = -1;
    char allow[64];
    struct sb_err err;
    const char *method;
    char *path;

    if (size == 0)
        return 0;
    method = methods[data[0] % (sizeof(methods) / sizeof(methods[0]))];
    check_decode(data + 1, size - 1, false);
    check_decode(data + 1, size - 1, true);

    path = malloc(size);
    memcpy(path, data + 1, size - 1);
    path[size - 1] = '\0';
    sb_err_clear(&err);
    memset(allow, 'x', sizeof(allow));
    allow[sizeof(allow) - 1] = '\0';
    switch (routes_match(method, path, &route, params, &n_params, allow, sizeof(allow), &err)) {
    case ROUTE_FOUND:
        CHECK(route != NULL);
        CHECK(n_params >= 0 && n_params <= SB_ROUTE_MAX_SEGMENTS);
        CHECK(routes_at(routes_index(route)) == route);
        for (int i = 0; i < n_params; i++) {
            CHECK(params[i] != NULL);
            CHECK(params[i][0] != '\0'); /* a {parameter} never matches an empty segment */
            free(params[i]);
        }
        break;
    case ROUTE_WRONG_METHOD:
        CHECK(memchr(allow, '\0', sizeof(allow)) != NULL);
        CHECK(allow[0] != '\0');
        break;
    case ROUTE_BAD_PATH:
        CHECK(err.kind == SB_ERR_BAD_REQUEST);
        CHECK(memchr(err.msg, '\0', sizeof(err.msg)) != NULL && err.msg[0] != '\0');
        break;
    case ROUTE_NOT_FOUND: break;
    default: CHECK(false);
    }
    free(path);
    return 0;
}
