/* SPDX-License-Identifier: Apache-2.0 */
/* Users and groups. Passwords are hashed with Argon2id at libsodium's interactive limits; the
 * plaintext is wiped from the record before it is stored. */
#include <sodium.h>
#include <string.h>

#include "core/fields.h"
#include "core/users.h"
#include "util/limits.h"
#include "util/mem.h"

bool users_validate_id(const char *id, const char *what, struct sb_err *err)
{
    size_t len = strlen(id);
    char echo[SB_ECHO_MAX + 4];

    sb_err_echo(echo, sizeof(echo), id);
    if (len == 0 || len > SB_NAME_MAX || id[0] == '.' ||
        strspn(id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.@+-") != len)
        return sb_err_set(err, SB_ERR_BAD_REQUEST,
                          "Field '%s' must be 1 to %d characters of letters, digits, '_', '.', "
                          "'@', '+' and '-', not starting with '.': '%s' is not valid.",
                          what, SB_NAME_MAX, echo),
               false;
    return true;
}

static bool check_user_fields(const json_t *b, struct sb_err *err)
{
    return fields_string(b, "", "password", err) && fields_text(b, "", "displayName", err) &&
           fields_string(b, "", "email", err) && fields_string(b, "", "sourceType", err) &&
           fields_string(b, "", "userProfile", err) && fields_string_array(b, "", "groups", err) &&
           fields_bool(b, "", "enabled", err) && fields_object(b, "", "credentials", err) &&
           fields_object(b, "", "adminProperties", err) &&
           fields_object(b, "", "userProperties", err) && fields_object(b, "", "preferences", err);
}

/* credentials: object of objects; secrets: array of {"name","value"} objects */
static bool check_user_secrets(const json_t *b, struct sb_err *err)
{
    json_t *creds = json_object_get(b, "credentials"), *list = json_object_get(b, "secrets"), *v;
    const char *key;
    size_t i;

    if (json_is_object(creds))
        json_object_foreach (creds, key, v)
            if (!json_is_object(v) && !json_is_null(v))
                return sb_err_set(err, SB_ERR_BAD_REQUEST,
                                  "Field 'credentials' must map connection names to objects "
                                  "such as {\"type\": \"BASIC\", \"user\", \"password\"}."),
                       false;
    if (list && !json_is_null(list) && !json_is_array(list))
        return sb_err_set(err, SB_ERR_BAD_REQUEST,
                          "Field 'secrets' must be an array of {\"name\", \"value\"} objects."),
               false;
    json_array_foreach (list, i, v)
        if (!json_is_object(v) || !json_is_string(json_object_get(v, "name")))
            return sb_err_set(err, SB_ERR_BAD_REQUEST,
                              "Field 'secrets' must be an array of {\"name\", \"value\"} objects; "
                              "entry %zu is not.",
                              i),
                   false;
    return true;
}

static char *hash_password(const char *password)
{
    char hash[crypto_pwhash_STRBYTES];

    if (crypto_pwhash_str(hash, password, strlen(password), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                          crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0)
        xcheck(NULL); /* only fails for lack of memory */
    return xstrdup(hash);
}

static void set_default(json_t *rec, const char *key, json_t *value)
{
    json_t *v = json_object_get(rec, key);
    if (!v || json_is_null(v))
        json_object_set_new(rec, key, value);
    else
        json_decref(value);
}

/* Sets the password hash from REC's "password" member (if any) and removes the plaintext. */
static void take_password(json_t *rec)
{
    const char *pw = json_string_value(json_object_get(rec, "password"));

    if (pw && *pw) {
        char *hash = hash_password(pw);
        json_object_set_new(rec, "passwordHash", json_string(hash));
        free(hash);
    }
    json_object_del(rec, "password");
}

enum sb_err_kind users_prepare_create(const json_t *body, int64_t now_ms, json_t **out,
                                      struct sb_err *err)
{
    json_t *rec;
    const char *login;

    if (!fields_require_object(body, "user definition", err))
        return err->kind;
    if (!json_is_string(json_object_get(body, "login")))
        return sb_err_set(err, SB_ERR_BAD_REQUEST, "Field 'login' is required (a string).");
    login = json_string_value(json_object_get(body, "login"));
    if (!users_validate_id(login, "login", err) || !check_user_fields(body, err) ||
        !check_user_secrets(body, err))
        return err->kind;
    rec = fields_drop_nulls(body);
    json_object_del(rec, "passwordHash");
    set_default(rec, "displayName", json_string(login));
    set_default(rec, "email", json_string(""));
    set_default(rec, "groups", json_array());
    set_default(rec, "sourceType", json_string("LOCAL"));
    set_default(rec, "userProfile", json_string("DATA_SCIENTIST"));
    set_default(rec, "enabled", json_true());
    set_default(rec, "credentials", json_object());
    set_default(rec, "secrets", json_array());
    set_default(rec, "adminProperties", json_object());
    set_default(rec, "userProperties", json_object());
    set_default(rec, "preferences", json_object());
    json_object_set_new(rec, "creationDate", json_integer(now_ms));
    take_password(rec);
    *out = rec;
    return SB_OK;
}

static const char *const self_editable[] = {
    "credentials", "secrets", "preferences", "userProperties", "displayName", "email", NULL};
static const char *const self_fixed[] = {"groups", "enabled", "adminProperties", NULL};

enum sb_err_kind users_prepare_update(const json_t *stored, const json_t *body, const char *login,
                                      bool self, json_t **out, struct sb_err *err)
{
    json_t *rec, *v;

    if (!fields_require_object(body, "user settings", err))
        return err->kind;
    v = json_object_get(body, "login");
    if (v && !json_is_null(v) && !(json_is_string(v) && strcmp(json_string_value(v), login) == 0))
        return sb_err_set(err, SB_ERR_BAD_REQUEST,
                          "Field 'login' cannot change: the path names user '%s'.", login);
    if (!check_user_fields(body, err) || !check_user_secrets(body, err))
        return err->kind;

    if (self) {
        for (const char *const *k = self_fixed; *k; k++) {
            v = json_object_get(body, *k);
            if (v && !json_is_null(v) && !json_equal(v, json_object_get(stored, *k)))
                return sb_err_set(err, SB_ERR_FORBIDDEN,
                                  "Field '%s' cannot be changed by the user themselves; an "
                                  "administrator must change it.",
                                  *k);
        }
        rec = xcheck(json_deep_copy(stored));
        for (const char *const *k = self_editable; *k; k++)
            if ((v = json_object_get(body, *k)) && !json_is_null(v))
                json_object_set(rec, *k, v);
        if ((v = json_object_get(body, "password")) && !json_is_null(v))
            json_object_set(rec, "password", v);
    } else {
        rec = fields_drop_nulls(body);
        json_object_set(rec, "passwordHash", json_object_get(stored, "passwordHash"));
        if (!json_object_get(stored, "passwordHash"))
            json_object_del(rec, "passwordHash");
        json_object_set(rec, "creationDate", json_object_get(stored, "creationDate"));
        for (const char *const *k = self_editable; *k; k++)
            set_default(rec, *k, json_incref(json_object_get(stored, *k)));
        for (const char *const *k = self_fixed; *k; k++)
            set_default(rec, *k, json_incref(json_object_get(stored, *k)));
        set_default(rec, "userProfile", json_incref(json_object_get(stored, "userProfile")));
        set_default(rec, "sourceType", json_incref(json_object_get(stored, "sourceType")));
    }
    json_object_set_new(rec, "login", json_string(login));
    take_password(rec);
    *out = rec;
    return SB_OK;
}

/* DSSUserPreferences reads every one of these without a guard; the values are DSS's defaults
 * for a new user (English, every notification and e-mail on). */
static const char *const preference_flags[] = {
    "mentionEmails",
    "discussionEmails",
    "accessRequestEmails",
    "grantedAccessEmails",
    "grantedPluginRequestEmails",
    "pluginRequestEmails",
    "instanceAccessRequestsEmails",
    "profileUpgradeRequestsEmails",
    "codeEnvCreationRequestEmails",
    "grantedCodeEnvCreationRequestEmails",
    "dailyDigestsEmails",
    "offlineActivityEmails",
    "rememberPositionFlow",
    "loginLogoutNotifications",
    "watchedObjectsEditionsNotifications",
    "objectOnCurrentProjectCreatedDeletedNotifications",
    "anyObjectOnCurrentProjectEditedNotifications",
    "watchStarOnCurrentProjectNotifications",
    "otherUsersJobsTasksNotifications",
    "requestAccessNotifications",
    "scenarioRunNotifications",
    NULL,
};

json_t *users_preferences_with_defaults(const json_t *prefs)
{
    json_t *out =
        json_is_object(prefs) ? xcheck(json_copy((json_t *)prefs)) : xcheck(json_object());

    set_default(out, "uiLanguage", json_string("en"));
    for (const char *const *k = preference_flags; *k; k++)
        set_default(out, *k, json_true());
    return out;
}

json_t *users_settings_view(const json_t *rec)
{
    json_t *view = xcheck(json_copy((json_t *)rec));
    json_object_del(view, "passwordHash");
    json_object_set_new(view, "preferences",
                        users_preferences_with_defaults(json_object_get(rec, "preferences")));
    return view;
}

json_t *users_info_view(const json_t *rec)
{
    static const char *const keys[] = {"login",   "displayName", "email",       "groups",
                                       "enabled", "sourceType",  "userProfile", NULL};
    json_t *view = xcheck(json_object());

    for (const char *const *k = keys; *k; k++)
        if (json_object_get(rec, *k))
            json_object_set(view, *k, json_object_get(rec, *k));
    return view;
}

json_t *groups_info_view(const json_t *rec)
{
    json_t *view = xcheck(json_object());

    json_object_set(view, "name", json_object_get(rec, "name"));
    if (json_object_get(rec, "description"))
        json_object_set(view, "description", json_object_get(rec, "description"));
    if (json_object_get(rec, "sourceType"))
        json_object_set(view, "sourceType", json_object_get(rec, "sourceType"));
    return view;
}

static bool any_in(const json_t *mine, const json_t *allowed)
{
    size_t i, j;
    json_t *a, *b;

    json_array_foreach (mine, i, a)
        json_array_foreach (allowed, j, b)
            if (json_equal(a, b))
                return true;
    return false;
}

/* The rights of a holder of GROUPS (admin or not) on every connection of CONNS. */
static json_t *connection_rights(const json_t *groups, bool admin, const json_t *conns)
{
    json_t *out = xcheck(json_object()), *def, *dr;
    const char *name, *readable;
    bool use, read;

    json_object_foreach ((json_t *)conns, name, def) {
        const char *usable = json_string_value(json_object_get(def, "usableBy"));
        use = admin || !usable || strcmp(usable, "ALLOWED") != 0 ||
              any_in(groups, json_object_get(def, "allowedGroups"));
        dr = json_object_get(def, "detailsReadability");
        readable = json_string_value(json_object_get(dr, "readableBy"));
        read = admin || (use && readable &&
                         (strcmp(readable, "ALL") == 0 ||
                          (strcmp(readable, "ALLOWED") == 0 &&
                           any_in(groups, json_object_get(dr, "allowedGroups")))));
        json_object_set_new(out, name,
                            xcheck(json_pack("{s:b, s:b}", "use", use, "readDetails", read)));
    }
    return out;
}

json_t *users_authorization_matrix(const json_t *users, const json_t *groups, const json_t *conns)
{
    json_t *per_group = xcheck(json_object()), *per_user = xcheck(json_object());
    json_t *g, *u, *one, *admin_groups = xcheck(json_array());
    size_t i;

    json_array_foreach (groups, i, g) {
        const char *name = json_string_value(json_object_get(g, "name"));
        bool admin = json_is_true(json_object_get(g, "admin"));
        if (!name)
            continue;
        if (admin)
            json_array_append_new(admin_groups, json_string(name));
        one = xcheck(json_array());
        json_array_append_new(one, json_string(name));
        json_object_set_new(per_group, name,
                            xcheck(json_pack("{s:{s:b}, s:o}", "globalPermissions", "admin", admin,
                                             "connections", connection_rights(one, admin, conns))));
        json_decref(one);
    }
    json_array_foreach (users, i, u) {
        const char *login = json_string_value(json_object_get(u, "login"));
        const json_t *ug = json_object_get(u, "groups");
        bool admin;
        if (!login || json_is_false(json_object_get(u, "enabled")))
            continue;
        admin = any_in(ug, admin_groups);
        json_object_set_new(
            per_user, login,
            xcheck(json_pack("{s:O, s:{s:b}, s:o}", "groups", ug, "globalPermissions", "admin",
                             admin, "connections", connection_rights(ug, admin, conns))));
    }
    json_decref(admin_groups);
    return xcheck(json_pack("{s:o, s:o}", "perGroup", per_group, "perUser", per_user));
}

json_t *users_list_view(const json_t *rec)
{
    static const char *const keys[] = {"login",   "displayName",  "email",
                                       "groups",  "sourceType",   "userProfile",
                                       "enabled", "creationDate", NULL};
    json_t *view = xcheck(json_object());

    for (const char *const *k = keys; *k; k++)
        if (json_object_get(rec, *k))
            json_object_set(view, *k, json_object_get(rec, *k));
    return view;
}

bool users_remove_group(json_t *rec, const char *group)
{
    json_t *groups = json_object_get(rec, "groups");
    bool removed = false;
    size_t i = 0;

    while (i < json_array_size(groups)) {
        const char *name = json_string_value(json_array_get(groups, i));
        if (name && strcmp(name, group) == 0) {
            json_array_remove(groups, i);
            removed = true;
        } else {
            i++;
        }
    }
    return removed;
}

static bool check_group_fields(const json_t *b, struct sb_err *err)
{
    return fields_text(b, "", "description", err) && fields_string(b, "", "sourceType", err) &&
           fields_bool(b, "", "admin", err);
}

enum sb_err_kind groups_prepare_create(const json_t *body, json_t **out, struct sb_err *err)
{
    json_t *rec;
    const char *name;

    if (!fields_require_object(body, "group definition", err))
        return err->kind;
    if (!json_is_string(json_object_get(body, "name")))
        return sb_err_set(err, SB_ERR_BAD_REQUEST, "Field 'name' is required (a string).");
    name = json_string_value(json_object_get(body, "name"));
    if (!users_validate_id(name, "name", err) || !check_group_fields(body, err))
        return err->kind;
    rec = fields_drop_nulls(body);
    set_default(rec, "description", json_string(""));
    set_default(rec, "sourceType", json_string("LOCAL"));
    set_default(rec, "admin", json_false());
    *out = rec;
    return SB_OK;
}

enum sb_err_kind groups_prepare_update(const json_t *stored, const json_t *body, const char *name,
                                       json_t **out, struct sb_err *err)
{
    json_t *rec, *v;

    if (!fields_require_object(body, "group definition", err))
        return err->kind;
    v = json_object_get(body, "name");
    if (v && !json_is_null(v) && !(json_is_string(v) && strcmp(json_string_value(v), name) == 0))
        return sb_err_set(err, SB_ERR_BAD_REQUEST,
                          "Field 'name' cannot change: the path names group '%s'.", name);
    if (!check_group_fields(body, err))
        return err->kind;
    rec = fields_drop_nulls(body);
    json_object_set_new(rec, "name", json_string(name));
    set_default(rec, "description", json_incref(json_object_get(stored, "description")));
    set_default(rec, "sourceType", json_incref(json_object_get(stored, "sourceType")));
    set_default(rec, "admin", json_incref(json_object_get(stored, "admin")));
    *out = rec;
    return SB_OK;
}
