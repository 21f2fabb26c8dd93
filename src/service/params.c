/* SPDX-License-Identifier: Apache-2.0 */
/* A connection's params as they are used: secrets opened and ${variables} expanded, for /info
 * (api/connections.c) and for live tests (prober/probes.c). */
#include <pthread.h>
#include <stdlib.h>

#include "app.h"
#include "core/secrets.h"
#include "core/variables.h"
#include "service/params.h"
#include "store/store.h"

/* The instance variables, parsed, as last read from a store of this node's own, under the
 * store's meta generation sampled before that read (store_meta_generation). Shared read-only
 * by the threads that resolve (jansson's reference counts are atomic). */
static pthread_mutex_t vars_lock = PTHREAD_MUTEX_INITIALIZER;
static bool vars_valid;
static uint64_t vars_gen;
static json_t *vars_cached;

/* The instance variables into *OUT (new reference, NULL when none are set): from the cache
 * when nothing was written since; on a shared store, whose other nodes' writes this node does
 * not hear of, always from the store. */
static enum sb_err_kind global_variables(struct app *app, json_t **out, struct sb_err *err)
{
    bool cacheable = app->sync == NULL;
    uint64_t gen = store_meta_generation(app->store); /* before reading what it guards */
    char *text = NULL;

    if (cacheable) {
        pthread_mutex_lock(&vars_lock);
        bool hit = vars_valid && vars_gen == gen;
        *out = hit ? json_incref(vars_cached) : NULL;
        pthread_mutex_unlock(&vars_lock);
        if (hit)
            return SB_OK;
    }
    if (store_meta_get(app->store, STORE_META_VARIABLES, &text, err) != SB_OK)
        return err->kind;
    *out = text ? json_loads(text, 0, NULL) : NULL;
    free(text);
    if (cacheable) {
        pthread_mutex_lock(&vars_lock);
        json_decref(vars_cached);
        vars_cached = json_incref(*out);
        vars_gen = gen;
        vars_valid = true;
        pthread_mutex_unlock(&vars_lock);
    }
    return SB_OK;
}

enum sb_err_kind svc_resolve_params(struct app *app, const json_t *def, const json_t *project_vars,
                                    json_t **out, struct sb_err *err)
{
    struct variables v = {.dip_home = app->data_dir_abs};
    json_t *vars;

    if (global_variables(app, &vars, err) != SB_OK)
        return err->kind;
    if (secrets_open_params(&app->secrets, json_string_value(json_object_get(def, "name")),
                            json_object_get(def, "params"), out, err) != SB_OK) {
        json_decref(vars);
        return err->kind;
    }
    if (project_vars) {
        v.layers[v.n_layers++] = json_object_get(project_vars, "local");
        v.layers[v.n_layers++] = json_object_get(project_vars, "standard");
    }
    v.layers[v.n_layers++] = vars;
    variables_expand_all(&v, *out);
    json_decref(vars);
    return SB_OK;
}
