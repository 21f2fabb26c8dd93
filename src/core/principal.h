/* SPDX-License-Identifier: Apache-2.0 */
/* The authenticated caller of a request, resolved once by the HTTP layer. */
#ifndef SB_PRINCIPAL_H
#define SB_PRINCIPAL_H

#include <jansson.h>
#include <stdbool.h>

#include "core/err.h"

enum principal_type { PRINCIPAL_GLOBAL_KEY, PRINCIPAL_USER };

struct principal {
    enum principal_type type;
    char id[80];     /* key id (and login): safe to log, never the key itself */
    char login[160]; /* who, as recorded in creationTag.lastModifiedBy.login */
    bool admin;
    json_t *groups;       /* array of group names; owned */
    long long expires_ms; /* when the key used expires (epoch ms); 0: never */
    char real[160]; /* when acting as user LOGIN (impersonation, docs/API.md §2): who authenticated,
                       as recorded in the audit; "" otherwise */
};

/* Fills P from a stored global API key record. */
void principal_from_global_key(struct principal *p, const json_t *record);

/* Fills P from a user record reached through one of their personal API keys (KEY_ID). */
void principal_from_user(struct principal *p, const json_t *user, const char *key_id);

/* Makes P, who authenticated as REAL_LOGIN, act as USER: the user's login and groups, nothing
 * of P's own rights (the admin flag is the user's own, from their groups: principal_apply_group
 * again). P's groups are released. */
void principal_act_as(struct principal *p, const json_t *user, const char *real_login);

/* Makes P admin when GROUP (a group record) has "admin": true. */
void principal_apply_group(struct principal *p, const json_t *group);

/* True when P belongs to one of GROUPS (an array of strings; anything else never matches). */
bool principal_in_any_group(const struct principal *p, const json_t *groups);

void principal_clear(struct principal *p);

/* How principal_resolve reads users and groups (the store, for the server): *OUT a new
 * reference, or SB_ERR_NOT_FOUND; any other error is passed on. */
struct principal_lookup {
    enum sb_err_kind (*user)(void *ctx, const char *login, json_t **out, struct sb_err *err);
    enum sb_err_kind (*group)(void *ctx, const char *name, json_t **out, struct sb_err *err);
    void *ctx;
};

/* Makes P admin when one of its groups is an admin group. */
enum sb_err_kind principal_apply_groups(struct principal *p, const struct principal_lookup *look,
                                        struct sb_err *err);

/* Fills P from a stored key record REC (GLOBAL_KEY: a global key, else a personal one): the
 * key's own permissions for a global key (its dssUserForImpersonation's when set), its user's
 * for a personal key, admin also through any admin group; expires_ms from expiresOn. A key
 * whose user is gone or disabled is SB_ERR_UNAUTHORIZED. On failure P is left cleared. */
enum sb_err_kind principal_resolve(struct principal *p, const json_t *rec, bool global_key,
                                   const struct principal_lookup *look, struct sb_err *err);

#endif
