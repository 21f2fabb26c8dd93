/* SPDX-License-Identifier: Apache-2.0 */
/* Secrets at rest (docs/API.md §4.2): the sealed form of a secret value and the rules that apply it
 * to connection params and user credentials. */
#ifndef SB_SECRETS_H
#define SB_SECRETS_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/err.h"

#define SECRETS_KEY_BYTES 32

struct secrets {
    uint8_t key[SECRETS_KEY_BYTES]; /* derived from the master key for MASTERKEY_SECRETS */
};

/* Fills S with the secrets key derived from MASTER (32 bytes). */
void secrets_init(struct secrets *s, const uint8_t master[32]);

/* Wipes the key. */
void secrets_clear(struct secrets *s);

/* Where a sealed value belongs. The AEAD's additional data names all three, so that a value
 * sealed for one place does not open in any other: KIND is SECRETS_CONNECTION,
 * SECRETS_USER or SECRETS_META; OBJECT the connection's name, the user's login or the meta
 * value's name; FIELD the path of the value inside it ("params.password",
 * "params.properties.<name>.value", "credentials.<connection>.<member>",
 * "secrets.<name>.value", "value" for a meta value). */
struct secrets_place {
    const char *kind, *object, *field;
};

#define SECRETS_CONNECTION "connection"
#define SECRETS_USER "user"
#define SECRETS_META "meta"

/* True when VALUE has the sealed form "e:<scheme>:<base64>". */
bool secrets_is_sealed(const char *value);

/* Seals PLAIN for place AT; returns "e:xc1:<base64>" (caller frees). */
char *secrets_seal(const struct secrets *s, const struct secrets_place *at, const char *plain);

/* Opens SEALED, sealed for place AT, into *PLAIN (caller frees, ideally after wiping). A value
 * that is not in the sealed form, uses an unknown scheme, was sealed for another place or does
 * not authenticate under S is SB_ERR_BAD_REQUEST naming WHAT (e.g. "params.password"). */
enum sb_err_kind secrets_open(const struct secrets *s, const struct secrets_place *at,
                              const char *sealed, const char *what, char **plain,
                              struct sb_err *err);

/* True when params member NAME is secret by name (password, secretKey, token...). */
bool secrets_is_secret_param(const char *name);

/* Applies the round-trip rules to every secret in PARAMS of connection CONN, in place: a
 * plaintext value is sealed; a sealed value is kept as is if it opens under S for its place,
 * and is a 400 naming the param otherwise (sealed under another key, or for another connection
 * or field). Secret values are the string members whose names are secret, and the "value" of
 * every entry of PARAMS.properties that has "secret": true. */
enum sb_err_kind secrets_seal_params(const struct secrets *s, const char *conn, json_t *params,
                                     struct sb_err *err);

/* Returns a copy of PARAMS with every secret value removed (new reference). */
json_t *secrets_strip_params(const json_t *params);

/* Returns a copy of PARAMS of connection CONN with every sealed secret opened (new reference in
 * *OUT). */
enum sb_err_kind secrets_open_params(const struct secrets *s, const char *conn,
                                     const json_t *params, json_t **out, struct sb_err *err);

/* Seals, in place, the secret members of user LOGIN's SETTINGS: every secret-named member of
 * each credential and the "value" of every entry of secrets[]. Same rules as
 * secrets_seal_params, except when STORED (the user's stored settings) is given, for a user
 * editing their own settings: a sealed value is then accepted only when it is, byte for byte,
 * the value stored in that very slot. */
enum sb_err_kind secrets_seal_user(const struct secrets *s, const char *login, json_t *settings,
                                   const json_t *stored, struct sb_err *err);

/* Returns a copy of user LOGIN's SETTINGS with every sealed secret opened (new reference). */
enum sb_err_kind secrets_open_user(const struct secrets *s, const char *login,
                                   const json_t *settings, json_t **out, struct sb_err *err);

/* Key rotation and migration: re-seal, in place, every secret of PARAMS of connection CONN (or
 * of user LOGIN's SETTINGS) from FROM to TO, bound to its place. A value FROM opens for its
 * place is re-sealed (kept as is when FROM and TO are the same key); a value sealed by an older
 * version for no place (additional data "switchboard-secret" only) is re-sealed for its place;
 * a plaintext left from before sealing is sealed. *COUNT is increased by the number of values
 * written. */
enum sb_err_kind secrets_reseal_params(const struct secrets *from, const struct secrets *to,
                                       const char *conn, json_t *params, int *count,
                                       struct sb_err *err);
enum sb_err_kind secrets_reseal_user(const struct secrets *from, const struct secrets *to,
                                     const char *login, json_t *settings, int *count,
                                     struct sb_err *err);

/* The same for one value sealed for place AT (a meta value): *OUT is the value re-sealed under
 * TO for AT, or NULL when it is already (caller frees). */
enum sb_err_kind secrets_reseal_value(const struct secrets *from, const struct secrets *to,
                                      const struct secrets_place *at, const char *sealed,
                                      char **out, struct sb_err *err);

/* The version of the binding of sealed values to their place: stored in meta
 * "secrets_binding" once every stored value is bound. */
#define SECRETS_BINDING_VERSION "2"

#endif
