/* SPDX-License-Identifier: Apache-2.0 */
/* Principals: building them from stored records and group membership. */
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
    json_array_foreach(groups, i, g) {
        const char *name = json_string_value(g);
        if (!name)
            continue;
        json_array_foreach(p->groups, j, mine) {
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
