/* SPDX-License-Identifier: Apache-2.0 */
/* Type checks on client-sent JSON members, each answering with a sentence naming the field. */
#include <string.h>

#include "core/fields.h"
#include "util/limits.h"
#include "util/mem.h"

static json_t *member(const json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    return json_is_null(v) ? NULL : v;
}

static bool wrong(struct sb_err *err, const char *prefix, const char *key, const char *expected)
{
    sb_err_set(err, SB_ERR_BAD_REQUEST, "Field '%s%s' must be %s.", prefix, key, expected);
    return false;
}

bool fields_string(const json_t *obj, const char *prefix, const char *key, struct sb_err *err)
{
    json_t *v = member(obj, key);
    return !v || json_is_string(v) || wrong(err, prefix, key, "a string");
}

bool fields_text(const json_t *obj, const char *prefix, const char *key, struct sb_err *err)
{
    json_t *v = member(obj, key);
    const unsigned char *p;
    size_t chars = 0;

    if (!v)
        return true;
    if (!json_is_string(v))
        return wrong(err, prefix, key, "a string");
    /* characters, not bytes: count the bytes that start one (jansson holds valid UTF-8) */
    for (p = (const unsigned char *)json_string_value(v); *p; p++)
        chars += (*p & 0xC0) != 0x80;
    if (chars <= SB_TEXT_MAX)
        return true;
    sb_err_set(err, SB_ERR_BAD_REQUEST,
               "Field '%s%s' must be at most %d characters long (it has "
               "%zu).",
               prefix, key, SB_TEXT_MAX, chars);
    return false;
}

bool fields_nonempty_string(const json_t *obj, const char *prefix, const char *key,
                            struct sb_err *err)
{
    json_t *v = member(obj, key);
    return !v || (json_is_string(v) && json_string_length(v) > 0) ||
           wrong(err, prefix, key, "a non-empty string");
}

bool fields_bool(const json_t *obj, const char *prefix, const char *key, struct sb_err *err)
{
    json_t *v = member(obj, key);
    return !v || json_is_boolean(v) || wrong(err, prefix, key, "a boolean (true or false)");
}

bool fields_object(const json_t *obj, const char *prefix, const char *key, struct sb_err *err)
{
    json_t *v = member(obj, key);
    return !v || json_is_object(v) || wrong(err, prefix, key, "a JSON object");
}

bool fields_string_array(const json_t *obj, const char *prefix, const char *key, struct sb_err *err)
{
    json_t *v = member(obj, key), *item;
    size_t i;

    if (!v)
        return true;
    if (!json_is_array(v))
        return wrong(err, prefix, key, "an array of strings");
    json_array_foreach (v, i, item)
        if (!json_is_string(item))
            return wrong(err, prefix, key, "an array of strings");
    return true;
}

bool fields_nonneg_int(const json_t *obj, const char *prefix, const char *key, struct sb_err *err)
{
    json_t *v = member(obj, key);
    return !v || (json_is_integer(v) && json_integer_value(v) >= 0) ||
           wrong(err, prefix, key, "a whole number, zero or more");
}

bool fields_enum(const json_t *obj, const char *prefix, const char *key, const char *const *values,
                 struct sb_err *err)
{
    json_t *v = member(obj, key);
    char list[256] = "";

    if (!v)
        return true;
    if (json_is_string(v))
        for (const char *const *p = values; *p; p++)
            if (strcmp(json_string_value(v), *p) == 0)
                return true;
    for (const char *const *p = values; *p; p++) {
        if (p != values)
            strncat(list, p[1] ? ", " : " or ", sizeof(list) - strlen(list) - 1);
        strncat(list, *p, sizeof(list) - strlen(list) - 1);
    }
    sb_err_set(err, SB_ERR_BAD_REQUEST, "Field '%s%s' must be %s.", prefix, key, list);
    return false;
}

bool fields_require_object(const json_t *body, const char *what, struct sb_err *err)
{
    if (json_is_object(body))
        return true;
    sb_err_set(err, SB_ERR_BAD_REQUEST, "The request body must be a JSON object (a %s).", what);
    return false;
}

json_t *fields_drop_nulls(const json_t *obj)
{
    json_t *copy = xcheck(json_object());
    const char *key;
    json_t *v;

    json_object_foreach ((json_t *)obj, key, v)
        if (!json_is_null(v))
            json_object_set(copy, key, v);
    return copy;
}
