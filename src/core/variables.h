/* SPDX-License-Identifier: Apache-2.0 */
/* Variables (docs/API.md §7): ${name} in string params expands, in resolved params only, from the
 * first layer that defines it: project local, project standard, instance, then built-ins. */
#ifndef SB_VARIABLES_H
#define SB_VARIABLES_H

#include <jansson.h>

#define VARIABLES_MAX_LAYERS 4

struct variables {
    const json_t *layers[VARIABLES_MAX_LAYERS]; /* flat objects, first wins; may be NULL */
    int n_layers;
    const char *dip_home; /* the built-in dip.home */
};

/* Returns IN with every ${name} that a layer or a built-in defines replaced by its value (a
 * string, or the JSON text of a number or boolean); unknown names are left as written. No
 * recursive expansion. Caller frees. */
char *variables_expand(const struct variables *vars, const char *in);

/* Expands, in place, every string found in V (objects and arrays walked recursively). */
void variables_expand_all(const struct variables *vars, json_t *v);

#endif
