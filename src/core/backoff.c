/* SPDX-License-Identifier: Apache-2.0 */
/* Sign-in backoff (see backoff.h): a small fixed table scanned under one lock. Sign-ins are rare
 * and each one costs an Argon2id verification, so a linear scan of a few thousand entries is
 * nothing beside it. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/backoff.h"
#include "util/limits.h"
#include "util/mem.h"

#define KEY_MAX 192

struct slot {
    char key[KEY_MAX]; /* "" when free */
    int failures;
    int64_t last_ms;
};

struct backoff {
    pthread_mutex_t lock;
    struct slot slots[SB_BACKOFF_SLOTS];
};

struct backoff *backoff_new(void)
{
    struct backoff *b = xcalloc(1, sizeof(*b));
    pthread_mutex_init(&b->lock, NULL);
    return b;
}

void backoff_free(struct backoff *b)
{
    if (!b)
        return;
    pthread_mutex_destroy(&b->lock);
    free(b);
}

/* The slot of KEY, or NULL. Forgets it first when its last failure is old. Lock held. */
static struct slot *find(struct backoff *b, const char *key, int64_t now_ms)
{
    for (size_t i = 0; i < SB_BACKOFF_SLOTS; i++) {
        struct slot *s = &b->slots[i];
        if (s->key[0] && strncmp(s->key, key, KEY_MAX - 1) == 0) {
            if (now_ms - s->last_ms > SB_BACKOFF_FORGET_MS) {
                s->key[0] = '\0';
                return NULL;
            }
            return s;
        }
    }
    return NULL;
}

int64_t backoff_wait_ms(struct backoff *b, const char *key, int threshold, int64_t now_ms)
{
    int64_t wait = 0;

    pthread_mutex_lock(&b->lock);
    struct slot *s = find(b, key, now_ms);
    if (s && s->failures >= threshold) {
        int64_t delay = SB_BACKOFF_BASE_MS;
        for (int i = threshold; i < s->failures && delay < SB_BACKOFF_MAX_MS; i++)
            delay *= 2;
        if (delay > SB_BACKOFF_MAX_MS)
            delay = SB_BACKOFF_MAX_MS;
        wait = s->last_ms + delay - now_ms;
        if (wait < 0)
            wait = 0;
    }
    pthread_mutex_unlock(&b->lock);
    return wait;
}

void backoff_fail(struct backoff *b, const char *key, int64_t now_ms)
{
    pthread_mutex_lock(&b->lock);
    struct slot *s = find(b, key, now_ms);
    if (!s) {
        /* a free or forgotten slot, else the one with the fewest failures (the oldest of
         * those): evicting the oldest let a guesser reset a login's count by failing with
         * SB_BACKOFF_SLOTS other names, one failure each */
        struct slot *victim = &b->slots[0];
        for (size_t i = 0; i < SB_BACKOFF_SLOTS && !s; i++) {
            struct slot *c = &b->slots[i];
            if (!c->key[0] || now_ms - c->last_ms > SB_BACKOFF_FORGET_MS)
                s = c;
            else if (c->failures < victim->failures ||
                     (c->failures == victim->failures && c->last_ms < victim->last_ms))
                victim = c;
        }
        if (!s)
            s = victim;
        memset(s, 0, sizeof(*s));
        strncpy(s->key, key, KEY_MAX - 1);
    }
    s->failures++;
    s->last_ms = now_ms;
    pthread_mutex_unlock(&b->lock);
}

void backoff_clear(struct backoff *b, const char *key)
{
    pthread_mutex_lock(&b->lock);
    for (size_t i = 0; i < SB_BACKOFF_SLOTS; i++)
        if (b->slots[i].key[0] && strncmp(b->slots[i].key, key, KEY_MAX - 1) == 0)
            b->slots[i].key[0] = '\0';
    pthread_mutex_unlock(&b->lock);
}
