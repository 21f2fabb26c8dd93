/* SPDX-License-Identifier: Apache-2.0 */
/* What every service call shares: its actor, and the frame of a change (see service.h). */
#include "service/service.h"
#include "core/principal.h"
#include "service/audit.h"
#include "store/store.h"

const char *actor_login(const struct actor *a)
{
    return a->principal ? a->principal->login : "-";
}

enum sb_err_kind svc_begin(struct actor *a, struct svc_change *c, struct sb_err *err)
{
    c->owned = !a->write;
    if (!c->owned)
        return SB_OK; /* the route's write: its failure rolls everything back */
    if (write_begin(&c->own, a->app, err) != SB_OK)
        return err->kind;
    a->write = &c->own;
    return SB_OK;
}

bool svc_name_taken(struct store *st, enum store_collection coll, const char *id,
                    struct sb_err *err)
{
    json_t *existing = NULL;
    const char *noun = coll == STORE_USERS ? "User" : coll == STORE_GROUPS ? "Group" : "Project";

    if (!id)
        return false;
    if (store_obj_get(st, coll, id, &existing, err) == SB_OK) {
        json_decref(existing);
        sb_err_set(err, SB_ERR_CONFLICT, "%s '%s' already exists.", noun, id);
        return true;
    }
    if (err->kind != SB_ERR_NOT_FOUND)
        return true;
    sb_err_clear(err);
    return false;
}

enum sb_err_kind svc_end(struct actor *a, struct svc_change *c, enum sb_err_kind rc,
                         const char *action, const char *object, json_t **out, struct sb_err *err)
{
    if (rc == SB_OK && action)
        audit_record(a, action, object, "success");
    if (c->owned) {
        a->write = NULL;
        if (rc != SB_OK)
            write_rollback(&c->own);
        else
            rc = write_commit(&c->own, err);
    }
    if (rc != SB_OK && out) {
        json_decref(*out);
        *out = NULL;
    }
    return rc;
}
