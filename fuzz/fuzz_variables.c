/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer harness: variable expansion (src/core/variables.c). Input: a template, then
 * optionally a NUL byte and a JSON array of up to four layer objects (else fixed layers: project
 * local, project standard, instance). Expands the template with variables_expand and, parsed as
 * JSON (or as one string), with variables_expand_all. Checks what variables.h promises: no
 * recursive expansion, so the result is at most the template plus one longest value per
 * "${...}"; a template without "${" comes back unchanged. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/variables.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond))                                                                               \
            __builtin_trap();                                                                      \
    } while (0)

#define DIP_HOME "/srv/dss"

static json_t *fixed_layers;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fixed_layers = json_loads("["
                              " {\"db\": \"sales_${env}\", \"schema\": \"public\", \"n\": null},"
                              " {\"env\": \"prod\", \"host\": \"pg.internal\", \"port\": 5432},"
                              " {\"host\": \"fallback\", \"ratio\": 0.5, \"ssl\": true,"
                              "  \"empty\": \"\", \"dip.home\": \"/override\"}"
                              "]",
                              0, NULL);
    if (!fixed_layers)
        abort();
    return 0;
}

/* The longest text one "${name}" can expand to. */
static size_t longest_value(const struct variables *vars)
{
    size_t max = strlen(DIP_HOME);
    const char *key;
    json_t *v;

    for (int i = 0; i < vars->n_layers; i++)
        json_object_foreach ((json_t *)vars->layers[i], key, v) {
            size_t n = json_is_string(v) ? json_string_length(v) : 64;
            if (n > max)
                max = n;
        }
    return max;
}

static size_t count_placeholders(const char *s)
{
    size_t n = 0;

    while ((s = strstr(s, "${")) != NULL) {
        n++;
        s += 2;
    }
    return n;
}

/* Every string in V stays within the bound of its own placeholders (checked on the copy made
 * before expansion, walked in step). */
static void check_tree(const struct variables *vars, const json_t *before, const json_t *after,
                       size_t longest)
{
    const char *key;
    json_t *v;
    size_t i;

    CHECK(json_typeof(before) == json_typeof(after));
    if (json_is_string(before)) {
        const char *in = json_string_value(before);
        size_t n = count_placeholders(in);
        CHECK(json_string_length(after) <= strlen(in) + n * longest);
        if (n == 0)
            CHECK(strcmp(json_string_value(after), in) == 0);
    } else if (json_is_object(before)) {
        CHECK(json_object_size(before) == json_object_size(after));
        json_object_foreach ((json_t *)before, key, v)
            check_tree(vars, v, json_object_get(after, key), longest);
    } else if (json_is_array(before)) {
        CHECK(json_array_size(before) == json_array_size(after));
        json_array_foreach (before, i, v)
            check_tree(vars, v, json_array_get(after, i), longest);
    } else {
        CHECK(json_equal(before, after));
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *nul = memchr(data, '\0', size);
    size_t tlen = nul ? (size_t)(nul - data) : size;
    char *tmpl = malloc(tlen + 1);
    json_t *layers = NULL, *tree, *before;
    struct variables vars = {.n_layers = 0, .dip_home = DIP_HOME};
    size_t longest, i;
    json_t *layer;
    char *out;

    memcpy(tmpl, data, tlen);
    tmpl[tlen] = '\0';
    if (nul)
        layers = json_loadb((const char *)nul + 1, size - tlen - 1, JSON_DECODE_ANY, NULL);
    if (!json_is_array(layers)) {
        json_decref(layers);
        layers = json_incref(fixed_layers);
    }
    json_array_foreach (layers, i, layer) {
        if (vars.n_layers == VARIABLES_MAX_LAYERS)
            break;
        /* a layer is an object or absent (NULL) */
        vars.layers[vars.n_layers++] = json_is_object(layer) ? layer : NULL;
    }
    longest = longest_value(&vars);

    out = variables_expand(&vars, tmpl);
    CHECK(out != NULL);
    CHECK(strlen(out) <= tlen + count_placeholders(tmpl) * longest);
    if (!strstr(tmpl, "${"))
        CHECK(strcmp(out, tmpl) == 0);
    free(out);

    tree = json_loadb((const char *)data, tlen, JSON_DECODE_ANY, NULL);
    if (!tree)
        tree = json_string(tmpl); /* NULL when the template is not UTF-8 */
    if (tree) {
        before = json_deep_copy(tree);
        variables_expand_all(&vars, tree);
        check_tree(&vars, before, tree, longest);
        json_decref(before);
        json_decref(tree);
    }
    json_decref(layers);
    free(tmpl);
    return 0;
}
