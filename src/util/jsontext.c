/* SPDX-License-Identifier: Apache-2.0 */
/* Members of a JSON object read from its text, skipping every value that is not asked for.
 * Start-up reads two members (usableBy, allowedGroups) of every stored definition: measured at
 * 100,000 connections, SQLite's json_extract of them took about half of the start-up's CPU,
 * this walk a few percent. Strings are skipped with memchr: a quote preceded by an even number
 * of backslashes ends them. */
#include <string.h>

#include "util/jsontext.h"

static const char *skip_ws(const char *p)
{
    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
        p++;
    return p;
}

/* P at a string's opening quote: the byte after its closing quote, or NULL. */
static const char *skip_string(const char *p)
{
    for (p++;;) {
        const char *q = strchr(p, '"');
        const char *b = q;

        if (!q)
            return NULL;
        while (b > p && b[-1] == '\\')
            b--;
        if ((q - b) % 2 == 0)
            return q + 1;
        p = q + 1;
    }
}

/* P at a value: the byte after it, or NULL. */
static const char *skip_value(const char *p)
{
    int depth = 0;

    do {
        switch (*p) {
        case '"':
            p = skip_string(p);
            if (!p)
                return NULL;
            continue;
        case '{':
        case '[': depth++; break;
        case '}':
        case ']':
            if (depth == 0)
                return NULL;
            depth--;
            break;
        case '\0': return NULL;
        default:
            if (depth == 0) { /* a number, true, false or null: up to what follows it */
                const char *e = p + strcspn(p, ",}] \t\n\r");
                return e == p ? NULL : e;
            }
        }
        p++;
    } while (depth > 0);
    return p;
}

int jsontext_members(const char *text, const char *const *keys, int n, const char **at, size_t *len)
{
    const char *p = skip_ws(text);
    int found = 0;

    for (int i = 0; i < n; i++) {
        at[i] = NULL;
        len[i] = 0;
    }
    if (*p != '{')
        return 0;
    p = skip_ws(p + 1);
    if (*p == '}')
        return 0;
    while (found < n && *p == '"') {
        const char *name = p + 1, *end = skip_string(p), *value;
        size_t name_len;

        if (!end)
            return found;
        name_len = (size_t)(end - 1 - name);
        p = skip_ws(end);
        if (*p != ':')
            return found;
        value = skip_ws(p + 1);
        p = skip_value(value);
        if (!p)
            return found;
        for (int i = 0; i < n; i++)
            if (!at[i] && strncmp(keys[i], name, name_len) == 0 && keys[i][name_len] == '\0') {
                at[i] = value;
                len[i] = (size_t)(p - value);
                found++;
            }
        p = skip_ws(p);
        if (*p != ',')
            return found;
        p = skip_ws(p + 1);
    }
    return found;
}
