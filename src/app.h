/* SPDX-License-Identifier: Apache-2.0 */
/* What a running server holds, passed explicitly to the layers that need it (no globals). */
#ifndef SB_APP_H
#define SB_APP_H

#include <stdint.h>

#include "core/apikeys.h"
#include "settings.h"

struct store;

struct app {
    const struct config *cfg;
    struct store *store;
    uint8_t apikey_hash_key[APIKEY_HASH_KEY_BYTES]; /* derived from the master key */
};

#endif
