/* SPDX-License-Identifier: Apache-2.0 */
/* API keys (docs/API.md §2, §5.1): generation, keyed hashing and the records stored for them. A key
 * is shown once, in the answer that creates it; the store keeps only its keyed hash. */
#ifndef SB_APIKEYS_H
#define SB_APIKEYS_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/err.h"
#include "util/limits.h"

#define APIKEY_HASH_BYTES 32
#define APIKEY_HASH_KEY_BYTES 32
#define APIKEY_ID_CHARS (SB_KEY_ID_BYTES * 2)

/* The hint of a key every answer after its creation carries as "key" (docs/API.md §5.1): its first
 * 4 and last 4 characters around "…" (UTF-8), enough to tell keys apart, useless to guess. */
#define APIKEY_HINT_MAX 16
void apikey_hint(const char *key, char out[APIKEY_HINT_MAX]);

/* Sets REC's "key" to the hint of KEY (before REC is stored). */
void apikey_set_hint(json_t *rec, const char *key);

/* Writes a new random key (SB_API_KEY_RANDOM_CHARS base62 characters and a NUL) to OUT. */
void apikey_generate(char out[SB_API_KEY_RANDOM_CHARS + 1]);

/* Writes a new random key id (hex, NUL-terminated) to OUT. */
void apikey_new_id(char out[APIKEY_ID_CHARS + 1]);

/* Keyed BLAKE2b of KEY under HASH_KEY into OUT. */
void apikey_hash(const uint8_t hash_key[APIKEY_HASH_KEY_BYTES], const char *key,
                 uint8_t out[APIKEY_HASH_BYTES]);

/* Checks a key supplied by an operator (SWITCHBOARD_ADMIN_KEY): length and characters. */
enum sb_err_kind apikey_check_supplied(const char *key, struct sb_err *err);

/* Builds the record of a new global key from a create BODY (label, description,
 * globalPermissions, groups, lifetime or expiry in days, expiresOn, dssUserForImpersonation;
 * nulls mean absent) with ID, created by WHO at NOW_MS. expiresOn is always set (0: never).
 * Whether dssUserForImpersonation names a user is the caller's to check.
 * New reference in *OUT, caller decrefs. */
enum sb_err_kind apikey_prepare_global(const json_t *body, const char *id, const char *who,
                                       int64_t now_ms, json_t **out, struct sb_err *err);

/* Builds the updated record of STORED from a PUT BODY: label, description, globalPermissions,
 * groups, dssUserForImpersonation and the expiry may change (an expiresOn that differs from the
 * stored one is taken as is; else a lifetime/expiry in days that differs sets expiresOn to
 * createdOn plus that many days, 0 meaning never); id, key and creation facts may not.
 * New reference in *OUT. */
enum sb_err_kind apikey_prepare_global_update(const json_t *stored, const json_t *body,
                                              json_t **out, struct sb_err *err);

/* Builds the record of a new personal key of USER from a BODY (label, description, and the
 * expiry as for global keys). */
enum sb_err_kind apikey_prepare_personal(const json_t *body, const char *id, const char *user,
                                         const char *who, int64_t now_ms, json_t **out,
                                         struct sb_err *err);

/* Builds the updated record of a personal key: label, description and the expiry may change
 * (as for global keys). */
enum sb_err_kind apikey_prepare_personal_update(const json_t *stored, const json_t *body,
                                                json_t **out, struct sb_err *err);

#endif
