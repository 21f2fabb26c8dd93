/* SPDX-License-Identifier: Apache-2.0 */
/* A cache of resolved principals by API-key hash, so that authenticating a request does not
 * touch the store. Entries carry the store's auth generation at the time they were resolved
 * and are trusted only while it has not moved (any change to keys, users or groups moves it).
 * Unknown keys are never cached, so guessing cannot fill it. */
#ifndef SB_AUTHCACHE_H
#define SB_AUTHCACHE_H

#include <stdbool.h>
#include <stdint.h>

#include "core/apikeys.h"
#include "core/principal.h"

struct authcache;

struct authcache *authcache_new(void);
void authcache_free(struct authcache *c);

/* Fills P (its groups a new reference; principal_clear it) from the entry of HASH if it was
 * resolved at generation GEN. */
bool authcache_get(struct authcache *c, const uint8_t hash[APIKEY_HASH_BYTES], uint64_t gen,
                   struct principal *p);

/* Remembers P for HASH as resolved at generation GEN. */
void authcache_put(struct authcache *c, const uint8_t hash[APIKEY_HASH_BYTES], uint64_t gen,
                   const struct principal *p);

#endif
