/* SPDX-License-Identifier: Apache-2.0 */
/* Instance variable changes (docs/API.md §7): the whole set replaced by one flat JSON object, in
 * the actor's write with its audit record. A node serving ${variables} from its cache sees the
 * change once the write committed (the store's meta generation moves then). */
#include <stdlib.h>

#include "app.h"
#include "service/service.h"
#include "store/store.h"
#include "util/mem.h"

enum sb_err_kind svc_variables_set(struct actor *a, const json_t *body, json_t **out,
                                   struct sb_err *err)
{
    struct svc_change c;
    enum sb_err_kind rc;
    char *text;

    *out = NULL;
    if (!json_is_object(body))
        return sb_err_set(err, SB_ERR_BAD_REQUEST,
                          "The request body must be a JSON object of variable names to values.");
    if (svc_begin(a, &c, err) != SB_OK)
        return err->kind;
    text = xcheck(json_dumps(body, JSON_COMPACT));
    rc = store_meta_set(a->app->store, STORE_META_VARIABLES, text, err);
    free(text);
    if (rc == SB_OK)
        *out = xcheck(json_deep_copy(body));
    return svc_end(a, &c, rc, "variables.update", "instance", out, err);
}
