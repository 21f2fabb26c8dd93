/* SPDX-License-Identifier: Apache-2.0 */
/* Users and groups (docs/API.md §5.3): validation, defaults, password hashing and the views served
 * to admins, to users themselves and in lists. Records are jansson objects; a user's stored
 * record carries "passwordHash" (Argon2id, libsodium's string form), which no view includes. */
#ifndef SB_USERS_H
#define SB_USERS_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/err.h"

/* Checks a login or group name: 1-128 characters of [A-Za-z0-9_.@+-], not starting with '.'.
 * WHAT is "login" or "name" for the message. */
bool users_validate_id(const char *id, const char *what, struct sb_err *err);

/* Builds a new user record from a create BODY at NOW_MS. New reference in *OUT. */
enum sb_err_kind users_prepare_create(const json_t *body, int64_t now_ms, json_t **out,
                                      struct sb_err *err);

/* Builds the record replacing STORED (whose login is LOGIN) from a whole-settings BODY. With
 * SELF set (PUT /current-user), groups, enabled and adminProperties may not change (403), and
 * only credentials, secrets, preferences, userProperties, displayName and email are taken from
 * BODY. A non-empty "password" sets a new password. New reference in *OUT. */
enum sb_err_kind users_prepare_update(const json_t *stored, const json_t *body, const char *login,
                                      bool self, json_t **out, struct sb_err *err);

/* The settings view of a user record (everything but the password hash). New reference. */
json_t *users_settings_view(const json_t *rec);

/* PREFS (a user's "preferences", or NULL) with every key of DSSUserPreferences that it lacks
 * set to DSS's default. New reference. */
json_t *users_preferences_with_defaults(const json_t *prefs);

/* The short profile anyone authenticated may read (GET /users, /users/{login}): login,
 * displayName, email, groups, enabled, sourceType, userProfile. New reference. */
json_t *users_info_view(const json_t *rec);

/* The short profile of a group (GET /groups): name, description, sourceType. New reference. */
json_t *groups_info_view(const json_t *rec);

/* The authorization matrix (GET /admin/authorization-matrix) from the arrays of user and group
 * records and CONNS (name -> definition): {"perGroup": {group: R}, "perUser": {login: R plus
 * "groups"}} for every group and enabled user, where R is {"globalPermissions": {"admin"},
 * "connections": {name: {"use", "readDetails"}}}. New reference. */
json_t *users_authorization_matrix(const json_t *users, const json_t *groups, const json_t *conns);

/* The list view: login, displayName, email, groups, sourceType, userProfile, enabled,
 * creationDate. New reference. */
json_t *users_list_view(const json_t *rec);

/* Removes GROUP from the "groups" array of REC (a user or a global API key), in place; true when
 * it was there. */
bool users_remove_group(json_t *rec, const char *group);

/* Builds a group record from a create BODY. New reference in *OUT. */
enum sb_err_kind groups_prepare_create(const json_t *body, json_t **out, struct sb_err *err);

/* Builds the record replacing STORED (named NAME) from a PUT BODY. New reference in *OUT. */
enum sb_err_kind groups_prepare_update(const json_t *stored, const json_t *body, const char *name,
                                       json_t **out, struct sb_err *err);

#endif
