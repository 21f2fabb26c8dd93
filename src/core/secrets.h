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

/* True when VALUE has the sealed form "e:<scheme>:<base64>". */
bool secrets_is_sealed(const char *value);

/* Seals PLAIN; returns "e:xc1:<base64>" (caller frees). */
char *secrets_seal(const struct secrets *s, const char *plain);

/* Opens SEALED into *PLAIN (caller frees, ideally after wiping). A value that is not in the
 * sealed form, uses an unknown scheme or does not authenticate under S is SB_ERR_BAD_REQUEST
 * naming WHAT (e.g. "params.password"). */
enum sb_err_kind secrets_open(const struct secrets *s, const char *sealed, const char *what,
                              char **plain, struct sb_err *err);

/* True when params member NAME is secret by name (password, secretKey, token...). */
bool secrets_is_secret_param(const char *name);

/* Applies the round-trip rules to every secret in PARAMS, in place: a plaintext value is sealed;
 * a sealed value is kept as is if it opens under S, and is a 400 naming the param otherwise.
 * Secret values are the string members whose names are secret, and the "value" of every entry
 * of PARAMS.properties that has "secret": true. */
enum sb_err_kind secrets_seal_params(const struct secrets *s, json_t *params, struct sb_err *err);

/* Returns a copy of PARAMS with every secret value removed (new reference). */
json_t *secrets_strip_params(const json_t *params);

/* Returns a copy of PARAMS with every sealed secret opened (new reference in *OUT). */
enum sb_err_kind secrets_open_params(const struct secrets *s, const json_t *params, json_t **out,
                                     struct sb_err *err);

/* Seals, in place, the secret members of a user's settings: credentials.*.password and the
 * "value" of every entry of secrets[]. Same rules as secrets_seal_params. */
enum sb_err_kind secrets_seal_user(const struct secrets *s, json_t *settings, struct sb_err *err);

/* Returns a copy of a user's SETTINGS with every sealed secret opened (new reference). */
enum sb_err_kind secrets_open_user(const struct secrets *s, const json_t *settings, json_t **out,
                                   struct sb_err *err);

/* Key rotation: re-seal, in place, every secret of PARAMS (or of a user's SETTINGS) from FROM to
 * TO. *COUNT is increased by the number of values re-sealed. A plaintext left from before
 * sealing is sealed too. */
enum sb_err_kind secrets_reseal_params(const struct secrets *from, const struct secrets *to,
                                       json_t *params, int *count, struct sb_err *err);
enum sb_err_kind secrets_reseal_user(const struct secrets *from, const struct secrets *to,
                                     json_t *settings, int *count, struct sb_err *err);

#endif
