/* SPDX-License-Identifier: Apache-2.0 */
/* The route table: every endpoint, its method, its access rule and its handler, in one place
 * (src/http/routes.c). Patterns are paths whose segments are literals or {parameters}; when
 * several patterns match a path, the one whose literal segments come first wins. */
#ifndef SB_ROUTES_H
#define SB_ROUTES_H

#include <stdbool.h>
#include <stddef.h>

#include "core/err.h"
#include "util/limits.h"

struct request;

enum route_access {
    ROUTE_PUBLIC, /* no authentication */
    ROUTE_AUTH,   /* any authenticated principal */
    ROUTE_ADMIN,  /* admin principals only */
};

struct route {
    const char *method;
    const char *pattern;
    void (*handler)(struct request *req);
    enum route_access access;
};

enum route_result { ROUTE_FOUND, ROUTE_NOT_FOUND, ROUTE_WRONG_METHOD, ROUTE_BAD_PATH };

/* The number of routes, route I of the table, and the index of ROUTE in it. */
int routes_count(void);
const struct route *routes_at(int i);
int routes_index(const struct route *route);

/* What the audit trail calls the change ROUTE makes ("connection.create"); NULL when it
 * changes nothing. Such a route runs as one write (src/service/write.h). */
const char *routes_audit_action(const struct route *route);

/* Splits the patterns of the table; call once at start. */
void routes_init(void);

/* Matches METHOD and PATH (raw, not yet percent-decoded). On ROUTE_FOUND sets *OUT and fills
 * PARAMS (N_PARAMS of them, malloc'd, caller frees). On ROUTE_WRONG_METHOD writes the methods
 * the path accepts to ALLOW ("GET, PUT"). On ROUTE_BAD_PATH sets ERR (bad percent-encoding, NUL
 * byte). A path of more segments than any route has is ROUTE_NOT_FOUND. */
enum route_result routes_match(const char *method, const char *path, const struct route **out,
                               char **params, int *n_params, char *allow, size_t allow_size,
                               struct sb_err *err);

/* Decodes %XX sequences of IN[0..LEN) (and '+' as space when PLUS_IS_SPACE) into a new
 * NUL-terminated string (caller frees); sets *OUT_LEN. Returns NULL on a malformed sequence. */
char *routes_percent_decode(const char *in, size_t len, bool plus_is_space, size_t *out_len);

#endif
