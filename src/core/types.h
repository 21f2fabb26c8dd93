/* SPDX-License-Identifier: Apache-2.0 */
/* The connection type registry (docs/API.md §4.6): for each type, its params (required, secret,
 * default), its credential shape and its live tester. One table, in src/core/types.c. */
#ifndef SB_TYPES_H
#define SB_TYPES_H

#include <jansson.h>
#include <stdbool.h>

#include "core/err.h"

enum type_credential { TYPE_CREDENTIAL_NONE, TYPE_CREDENTIAL_BASIC, TYPE_CREDENTIAL_AWS };

/* Which prober tests a type (src/probe/); TESTER_NONE: the type has no live test. */
enum type_tester { TESTER_NONE, TESTER_FS, TESTER_PG, TESTER_MYSQL, TESTER_CURL };

struct type_param {
    const char *name;
    bool required;
    bool secret;
    const char *def; /* default value (a string, as DSS stores params), or NULL */
};

struct conn_type {
    const char *name;
    const struct type_param *params; /* terminated by an entry with a NULL name */
    enum type_credential credential;
    enum type_tester tester;
    const char *scheme; /* for TESTER_CURL: "http", "ftp" or "sftp" */
};

/* The type named NAME, or NULL. */
const struct conn_type *types_find(const char *name);

/* Checks PARAMS (an object) against TYPE: each required param present as a non-empty string
 * (400 naming it otherwise); then adds the defaults of absent params, in place. */
enum sb_err_kind types_apply(const struct conn_type *type, json_t *params, struct sb_err *err);

/* Adds the defaults of absent params to PARAMS, in place, without checking required ones (a
 * definition may be stored with parameters still to fill in: docs/API.md §4.7). */
void types_apply_defaults(const struct conn_type *type, json_t *params);

/* The names of TYPE's required params that PARAMS lacks (absent or not a non-empty string),
 * as a new array (empty when none is missing). */
json_t *types_missing(const struct conn_type *type, const json_t *params);

/* Sets ERR to the 400 for an unknown type NAME, listing the known types. */
enum sb_err_kind types_unknown(const char *name, struct sb_err *err);

/* The registry as served by GET /connection-types. New reference. */
json_t *types_registry_json(void);

/* For tests: the number of types and type I. */
int types_count(void);
const struct conn_type *types_at(int i);

#endif
