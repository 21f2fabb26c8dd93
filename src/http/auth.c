/* SPDX-License-Identifier: Apache-2.0 */
/* The Authorization header: Basic with the API key as the user name (what the DSS Python client
 * sends; a key in the password with an empty user is accepted too) or Bearer. Parsing only:
 * src/http/server.c resolves the key to a principal. Kept apart so that it can be fuzzed. */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http/auth.h"
#include "util/mem.h"

enum sb_err_kind auth_parse_header(const char *header, char **key, struct sb_err *err)
{
    *key = NULL;
    if (!header)
        return sb_err_set(err, SB_ERR_UNAUTHORIZED,
                          "This endpoint needs an API key: send it as the user name of HTTP Basic "
                          "authentication or as a Bearer token.");
    if (strncasecmp(header, "Bearer ", 7) == 0) {
        const char *p = header + 7;
        while (*p == ' ')
            p++;
        if (*p == '\0')
            return sb_err_set(err, SB_ERR_UNAUTHORIZED, "The Bearer token is empty.");
        *key = xstrdup(p);
        return SB_OK;
    }
    if (strncasecmp(header, "Basic ", 6) == 0) {
        const char *p = header + 6;
        size_t in_len, bin_len;
        char *bin, *colon;
        while (*p == ' ')
            p++;
        in_len = strlen(p);
        bin = xmalloc(in_len + 1);
        if (sodium_base642bin((unsigned char *)bin, in_len, p, in_len, NULL, &bin_len, NULL,
                              sodium_base64_VARIANT_ORIGINAL) != 0 ||
            memchr(bin, '\0', bin_len)) {
            sodium_memzero(bin, in_len + 1);
            free(bin);
            return sb_err_set(err, SB_ERR_UNAUTHORIZED,
                              "The Basic authorization header is not valid base64.");
        }
        bin[bin_len] = '\0';
        colon = strchr(bin, ':');
        if (colon)
            *colon = '\0';
        /* the key is the user name; tools that put it in the password are accepted too */
        if (bin[0] == '\0' && colon && colon[1] != '\0')
            memmove(bin, colon + 1, strlen(colon + 1) + 1);
        if (bin[0] == '\0') {
            sodium_memzero(bin, bin_len);
            free(bin);
            return sb_err_set(err, SB_ERR_UNAUTHORIZED,
                              "The Basic authorization header "
                              "carries no API key.");
        }
        *key = bin;
        return SB_OK;
    }
    return sb_err_set(err, SB_ERR_UNAUTHORIZED,
                      "The Authorization header must use the Basic or Bearer scheme.");
}
