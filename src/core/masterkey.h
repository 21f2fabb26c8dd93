/* SPDX-License-Identifier: Apache-2.0 */
/* The master key: 32 random bytes in a file of mode 0600 outside the store, from which every
 * other key (API-key hashing, secret encryption) is derived. */
#ifndef SB_MASTERKEY_H
#define SB_MASTERKEY_H

#include <stdbool.h>
#include <stdint.h>

#include "core/err.h"

#define MASTERKEY_BYTES 32

/* Purposes of derived subkeys; values are part of the on-disk format, never renumber. */
enum masterkey_purpose { MASTERKEY_CHECK = 1, MASTERKEY_SECRETS = 3 };

/* Reads the key at PATH. When the file does not exist and CREATE is true, writes a new random
 * key there (mode 0600, fsynced) and sets *CREATED. */
enum sb_err_kind masterkey_load(const char *path, bool create, uint8_t key[MASTERKEY_BYTES],
                                bool *created, struct sb_err *err);

/* Derives the subkey for PURPOSE into OUT (32 bytes). */
void masterkey_derive(const uint8_t key[MASTERKEY_BYTES], enum masterkey_purpose purpose,
                      uint8_t out[32]);

/* Writes the key check value (hex, 64 characters and a NUL) that lets a server tell whether it
 * holds the key a store was written with, without revealing the key. */
void masterkey_check_value(const uint8_t key[MASTERKEY_BYTES], char out[65]);

/* Writes LEN bytes to PATH atomically with mode 0600 (temporary file, fsync, rename). */
enum sb_err_kind masterkey_write_private_file(const char *path, const void *data, size_t len,
                                              struct sb_err *err);

#endif
