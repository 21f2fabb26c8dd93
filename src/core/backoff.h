/* SPDX-License-Identifier: Apache-2.0 */
/* Sign-in backoff: failed sign-ins counted per key ("login:ana", "addr:127.0.0.1"); past a
 * threshold each further attempt must wait, the wait doubling with each failure up to a cap
 * (limits in src/util/limits.h). Kept in memory on each node: the counters slow a guesser down,
 * they are not an account lock. The table is bounded: when full, the entry with the fewest
 * failures (the oldest of those) makes room, so that failing once with many other names does
 * not reset a login's count. Thread-safe. */
#ifndef SB_BACKOFF_H
#define SB_BACKOFF_H

#include <stdint.h>

struct backoff;

struct backoff *backoff_new(void);
void backoff_free(struct backoff *b);

/* Milliseconds KEY must still wait at NOW_MS before another attempt (0: it may try now), given
 * that THRESHOLD failures are free. */
int64_t backoff_wait_ms(struct backoff *b, const char *key, int threshold, int64_t now_ms);

/* Counts a failed attempt of KEY at NOW_MS. */
void backoff_fail(struct backoff *b, const char *key, int64_t now_ms);

/* Forgets KEY's failures (after a successful sign-in). */
void backoff_clear(struct backoff *b, const char *key);

#endif
