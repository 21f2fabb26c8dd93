/* SPDX-License-Identifier: Apache-2.0 */
/* API keys (docs/API.md §2, §5.1): generation, keyed hashing and the records stored for them. A key
 * is shown once, in the answer that creates it; the store keeps only its keyed hash. */
#ifndef SB_APIKEYS_H
#define SB_APIKEYS_H

#include <jansson.h>
#include <stdint.h>

#include "core/err.h"
#include "util/limits.h"

#define APIKEY_HASH_BYTES 32
#define APIKEY_HASH_KEY_BYTES 32
#define APIKEY_ID_CHARS (SB_KEY_ID_BYTES * 2)

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
 * globalPermissions, groups; nulls mean absent) with ID, created by WHO at NOW_MS.
 * New reference in *OUT, caller decrefs. */
enum sb_err_kind apikey_prepare_global(const json_t *body, const char *id, const char *who,
                                       int64_t now_ms, json_t **out, struct sb_err *err);

/* Builds the updated record of STORED from a PUT BODY: label, description, globalPermissions
 * and groups may change; id, key and creation facts may not. New reference in *OUT. */
enum sb_err_kind apikey_prepare_global_update(const json_t *stored, const json_t *body,
                                              json_t **out, struct sb_err *err);

/* Builds the record of a new personal key of USER from a BODY (label, description). */
enum sb_err_kind apikey_prepare_personal(const json_t *body, const char *id, const char *user,
                                         const char *who, int64_t now_ms, json_t **out,
                                         struct sb_err *err);

/* Builds the updated record of a personal key: label and description may change. */
enum sb_err_kind apikey_prepare_personal_update(const json_t *stored, const json_t *body,
                                                json_t **out, struct sb_err *err);

#endif
