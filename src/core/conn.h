/* SPDX-License-Identifier: Apache-2.0 */
/* Connection definitions: name rules, validation of the known fields, defaults, the whole-object
 * update rules and the version tag (docs/API.md §4.1, §4.3). Pure functions on jansson values. */
#ifndef SB_CONN_H
#define SB_CONN_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/err.h"
#include "core/principal.h"

/* Checks a connection name: 1-128 characters of [A-Za-z0-9_.-], not starting with '.'. */
bool conn_validate_name(const char *name, struct sb_err *err);

/* Builds the definition to store from a create body: checks every known field, drops null
 * members, applies defaults (the type's param defaults included), keeps unknown fields and sets
 * creationTag to version 1 by WHO at NOW_MS. With GUARDS (write guards, docs/API.md §4.7) a missing
 * required param of the type (src/core/types.c) is a 400; without, it is stored as DSS does.
 * BODY is not modified. On success *OUT is a new reference (caller decrefs). */
enum sb_err_kind conn_prepare_create(const json_t *body, const char *who, int64_t now_ms,
                                     bool guards, json_t **out, struct sb_err *err);

/* Builds the definition that replaces STORED (named PATH_NAME) from a whole-definition PUT body:
 * `name` if present must equal PATH_NAME, `type` cannot change. With GUARDS, a
 * creationTag.versionNumber that differs from the stored one is a conflict and a missing
 * required param a 400; without, the last write wins (DSS). The result carries the next
 * version number. On success *OUT is a new reference (caller decrefs). */
enum sb_err_kind conn_prepare_update(const json_t *stored, const json_t *body,
                                     const char *path_name, const char *who, int64_t now_ms,
                                     bool guards, json_t **out, struct sb_err *err);

/* creationTag.versionNumber of a stored definition (0 when missing). */
int64_t conn_version(const json_t *def);

/* "May use" (docs/API.md §4.4): admin, usableBy ALL, or ALLOWED with a group in common. */
bool conn_usable_by(const json_t *def, const struct principal *p);

/* Whether P may read the resolved details of DEF (docs/API.md §4.4): admin, readableBy ALL, or
 * ALLOWED with a group in common. Usability is checked separately. */
bool conn_details_readable(const json_t *def, const struct principal *p);

struct conn_type;

/* Whether the params of a connection of type T are free of CR and LF where a live test puts
 * them in a URL, a request line or a header (url, host, port, user, password, token, headers,
 * for the curl-tested types). When not, writes the param's name to BAD. */
bool conn_params_header_safe(const struct conn_type *t, const json_t *params, char *bad,
                             size_t bad_size);

enum conn_credential { CONN_CREDENTIAL_NONE, CONN_CREDENTIAL_BASIC, CONN_CREDENTIAL_AWS };

/* The credential shape of DEF: its type's (src/core/types.c); for a type the registry does not
 * know (stored before it did), AWS when params have accessKey or secretKey, basic when they
 * have user or password. */
enum conn_credential conn_credential_shape(const json_t *def);

/* TEXT (a stored definition's JSON) with the defaults of fields added after it was stored
 * (allowKnowledgeBanks), or NULL when it lacks none of them (the common case, decided without
 * parsing). Caller frees. */
char *conn_text_with_new_defaults(const char *text);

#endif
