/* SPDX-License-Identifier: Apache-2.0 */
/* Type checks on the members of a JSON object sent by a client. Each check treats an absent or
 * null member as acceptable (optional fields sent as null mean absent) and, on a wrong type,
 * sets ERR to a 400 whose sentence names the field (PREFIX + KEY, e.g. "detailsReadability."
 * + "readableBy"). All return true when the member is acceptable. */
#ifndef SB_FIELDS_H
#define SB_FIELDS_H

#include <jansson.h>
#include <stdbool.h>

#include "core/err.h"

bool fields_string(const json_t *obj, const char *prefix, const char *key, struct sb_err *err);
/* A string of at most SB_TEXT_MAX characters (a label or a description). */
bool fields_text(const json_t *obj, const char *prefix, const char *key, struct sb_err *err);
bool fields_nonempty_string(const json_t *obj, const char *prefix, const char *key,
                            struct sb_err *err);
bool fields_bool(const json_t *obj, const char *prefix, const char *key, struct sb_err *err);
bool fields_object(const json_t *obj, const char *prefix, const char *key, struct sb_err *err);
bool fields_string_array(const json_t *obj, const char *prefix, const char *key,
                         struct sb_err *err);
bool fields_nonneg_int(const json_t *obj, const char *prefix, const char *key, struct sb_err *err);
/* VALUES is a NULL-terminated list of the accepted strings. */
bool fields_enum(const json_t *obj, const char *prefix, const char *key, const char *const *values,
                 struct sb_err *err);

/* Requires BODY to be an object; otherwise a 400 naming WHAT ("connection definition"). */
bool fields_require_object(const json_t *body, const char *what, struct sb_err *err);

/* Returns a shallow copy of OBJ without its null members (new reference, caller decrefs). */
json_t *fields_drop_nulls(const json_t *obj);

#endif
