/* SPDX-License-Identifier: Apache-2.0 */
/* Principals: building them from stored records and group membership, and resolving the
 * principal of an API key (moved here from the HTTP layer: it is logic, testable without
 * sockets; the lookups of users and groups come in as callbacks). */
#include <stdio.h>
#include <string.h>

#include "core/principal.h"
#include "util/mem.h"

void principal_from_global_key(struct principal *p, const json_t *record)
{
    const char *id = json_string_value(json_object_get(record, "id"));
    json_t *perms = json_object_get(record, "globalPermissions");
    json_t *groups = json_object_get(record, "groups");

    memset(p, 0, sizeof(*p));
    p->type = PRINCIPAL_GLOBAL_KEY;
    snprintf(p->id, sizeof(p->id), "key:%s", id ? id : "?");
    snprintf(p->login, sizeof(p->login), "api-key:%s", id ? id : "?");
    p->admin = json_is_true(json_object_get(perms, "admin"));
    p->groups = json_is_array(groups) ? json_incref(groups) : xcheck(json_array());
}

void principal_from_user(struct principal *p, const json_t *user, const char *key_id)
{
    const char *login = json_string_value(json_object_get(user, "login"));
    json_t *groups = json_object_get(user, "groups");

    memset(p, 0, sizeof(*p));
    p->type = PRINCIPAL_USER;
    snprintf(p->id, sizeof(p->id), "user:%.32s/key:%.16s", login ? login : "?", key_id);
    snprintf(p->login, sizeof(p->login), "%s", login ? login : "?");
    p->groups = json_is_array(groups) ? json_incref(groups) : xcheck(json_array());
}

void principal_act_as(struct principal *p, const json_t *user, const char *real_login)
{
    char real[sizeof(p->real)], id[sizeof(p->id)];
    long long expires = p->expires_ms;

    snprintf(real, sizeof(real), "%s", real_login);
    snprintf(id, sizeof(id), "%s", p->id);
    principal_clear(p);
    principal_from_user(p, user, "");
    snprintf(p->id, sizeof(p->id), "%.40s/as:%.32s", id, p->login);
    snprintf(p->real, sizeof(p->real), "%s", real);
    p->expires_ms = expires;
}

void principal_apply_group(struct principal *p, const json_t *group)
{
    if (json_is_true(json_object_get(group, "admin")))
        p->admin = true;
}

bool principal_in_any_group(const struct principal *p, const json_t *groups)
{
    size_t i, j;
    json_t *g, *mine;

    if (!json_is_array(groups) || !p->groups)
        return false;
    json_array_foreach (groups, i, g) {
        const char *name = json_string_value(g);
        if (!name)
            continue;
        json_array_foreach (p->groups, j, mine) {
            const char *own = json_string_value(mine);
            if (own && strcmp(own, name) == 0)
                return true;
        }
    }
    return false;
}

void principal_clear(struct principal *p)
{
    json_decref(p->groups);
    memset(p, 0, sizeof(*p));
}

enum sb_err_kind principal_apply_groups(struct principal *p, const struct principal_lookup *look,
                                        struct sb_err *err)
{
    const char *name;
    json_t *g, *group;
    size_t i;

    json_array_foreach (p->groups, i, g) {
        if (!(name = json_string_value(g)))
            continue;
        if (look->group(look->ctx, name, &group, err) == SB_OK) {
            principal_apply_group(p, group);
            json_decref(group);
        } else if (err->kind != SB_ERR_NOT_FOUND) {
            return err->kind;
        }
    }
    sb_err_clear(err);
    return SB_OK;
}

/* The enabled user LOGIN that a key acts as; otherwise a 401 (the key is not usable). */
static enum sb_err_kind key_user(const struct principal_lookup *look, const char *login,
                                 json_t **user, struct sb_err *err)
{
    if (!login || look->user(look->ctx, login, user, err) != SB_OK) {
        if (login && err->kind != SB_ERR_NOT_FOUND)
            return err->kind;
        return sb_err_set(err, SB_ERR_UNAUTHORIZED,
                          "The API key is not valid: its user no longer exists.");
    }
    if (json_is_false(json_object_get(*user, "enabled"))) {
        json_decref(*user);
        return sb_err_set(err, SB_ERR_UNAUTHORIZED,
                          "The API key is not valid: its user is disabled.");
    }
    return SB_OK;
}

enum sb_err_kind principal_resolve(struct principal *p, const json_t *rec, bool global_key,
                                   const struct principal_lookup *look, struct sb_err *err)
{
    const char *as = json_string_value(json_object_get(rec, "dssUserForImpersonation"));
    json_t *user = NULL;

    memset(p, 0, sizeof(*p));
    if (global_key) {
        if (as && *as && key_user(look, as, &user, err) != SB_OK)
            return err->kind;
        principal_from_global_key(p, rec);
        if (user) {
            char real[sizeof(p->login)];
            snprintf(real, sizeof(real), "%s", p->login);
            principal_act_as(p, user, real);
            json_decref(user);
        }
    } else {
        if (key_user(look, json_string_value(json_object_get(rec, "user")), &user, err) != SB_OK)
            return err->kind;
        principal_from_user(p, user, json_string_value(json_object_get(rec, "id")));
        json_decref(user);
    }
    p->expires_ms = json_integer_value(json_object_get(rec, "expiresOn"));
    if (principal_apply_groups(p, look, err) != SB_OK) {
        principal_clear(p);
        return err->kind;
    }
    return SB_OK;
}
