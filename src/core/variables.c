/* SPDX-License-Identifier: Apache-2.0 */
/* Variable expansion: one left-to-right pass; a replacement is never expanded again, so a value
 * containing "${...}" cannot make expansion loop or grow without bound. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/variables.h"
#include "util/mem.h"

struct strbuf {
    char *data;
    size_t len, cap;
};

static void sb_append(struct strbuf *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        b->cap = (b->len + n + 1) * 2;
        b->data = xrealloc(b->data, b->cap);
    }
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
}

/* Appends the value of NAME (LEN bytes) to B; returns false when no layer defines it. */
static bool append_value(const struct variables *vars, const char *name, size_t len,
                         struct strbuf *b)
{
    char key[256];
    char num[64];

    if (len >= sizeof(key))
        return false;
    memcpy(key, name, len);
    key[len] = '\0';
    for (int i = 0; i < vars->n_layers; i++) {
        json_t *v = vars->layers[i] ? json_object_get(vars->layers[i], key) : NULL;
        if (json_is_string(v)) {
            sb_append(b, json_string_value(v), json_string_length(v));
            return true;
        }
        if (json_is_integer(v) || json_is_real(v) || json_is_boolean(v)) {
            char *text = xcheck(json_dumps(v, JSON_ENCODE_ANY));
            snprintf(num, sizeof(num), "%s", text);
            free(text);
            sb_append(b, num, strlen(num));
            return true;
        }
    }
    if (vars->dip_home && strcmp(key, "dip.home") == 0) {
        sb_append(b, vars->dip_home, strlen(vars->dip_home));
        return true;
    }
    return false;
}

char *variables_expand(const struct variables *vars, const char *in)
{
    struct strbuf b = {0};
    const char *p = in;

    sb_append(&b, "", 0);
    while (*p) {
        const char *start = strstr(p, "${");
        const char *end = start ? strchr(start + 2, '}') : NULL;
        if (!start || !end) {
            sb_append(&b, p, strlen(p));
            break;
        }
        sb_append(&b, p, (size_t)(start - p));
        if (!append_value(vars, start + 2, (size_t)(end - start - 2), &b))
            sb_append(&b, start, (size_t)(end - start + 1));
        p = end + 1;
    }
    return b.data;
}

void variables_expand_all(const struct variables *vars, json_t *v)
{
    const char *key;
    json_t *item;
    size_t i;

    if (json_is_object(v)) {
        json_object_foreach (v, key, item) {
            if (json_is_string(item)) {
                char *out = variables_expand(vars, json_string_value(item));
                json_object_set_new(v, key, xcheck(json_string(out)));
                free(out);
            } else {
                variables_expand_all(vars, item);
            }
        }
    } else if (json_is_array(v)) {
        json_array_foreach (v, i, item) {
            if (json_is_string(item)) {
                char *out = variables_expand(vars, json_string_value(item));
                json_array_set_new(v, i, xcheck(json_string(out)));
                free(out);
            } else {
                variables_expand_all(vars, item);
            }
        }
    }
}
