/* SPDX-License-Identifier: Apache-2.0 */
/* The principal cache: a fixed table with linear probing on the first bytes of the key hash
 * (uniformly random already). When it fills up it is emptied: a busy server re-resolves its
 * working set within a few requests. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "http/authcache.h"
#include "util/mem.h"

#define AUTHCACHE_SLOTS 8192 /* a power of two */
#define AUTHCACHE_MAX_USED (AUTHCACHE_SLOTS * 3 / 4)

struct slot {
    bool used;
    uint64_t gen;
    uint8_t hash[APIKEY_HASH_BYTES];
    struct principal p;
};

struct authcache {
    pthread_rwlock_t lock;
    size_t used;
    struct slot slots[AUTHCACHE_SLOTS];
};

struct authcache *authcache_new(void)
{
    struct authcache *c = xcalloc(1, sizeof(*c));
    pthread_rwlock_init(&c->lock, NULL);
    return c;
}

static void clear_all(struct authcache *c)
{
    for (size_t i = 0; i < AUTHCACHE_SLOTS; i++)
        if (c->slots[i].used) {
            principal_clear(&c->slots[i].p);
            c->slots[i].used = false;
        }
    c->used = 0;
}

void authcache_free(struct authcache *c)
{
    if (!c)
        return;
    clear_all(c);
    pthread_rwlock_destroy(&c->lock);
    free(c);
}

static size_t start_of(const uint8_t hash[APIKEY_HASH_BYTES])
{
    uint64_t h;
    memcpy(&h, hash, sizeof(h));
    return (size_t)(h & (AUTHCACHE_SLOTS - 1));
}

/* The slot holding HASH, or the free slot where it would go. Call with the lock held. */
static struct slot *find(struct authcache *c, const uint8_t hash[APIKEY_HASH_BYTES])
{
    size_t i = start_of(hash);
    while (c->slots[i].used && memcmp(c->slots[i].hash, hash, APIKEY_HASH_BYTES) != 0)
        i = (i + 1) & (AUTHCACHE_SLOTS - 1);
    return &c->slots[i];
}

bool authcache_get(struct authcache *c, const uint8_t hash[APIKEY_HASH_BYTES], uint64_t gen,
                   struct principal *p)
{
    struct slot *s;
    bool hit = false;

    pthread_rwlock_rdlock(&c->lock);
    s = find(c, hash);
    if (s->used && s->gen == gen) {
        *p = s->p;
        p->groups = json_incref(s->p.groups);
        hit = true;
    }
    pthread_rwlock_unlock(&c->lock);
    return hit;
}

void authcache_put(struct authcache *c, const uint8_t hash[APIKEY_HASH_BYTES], uint64_t gen,
                   const struct principal *p)
{
    struct slot *s;

    pthread_rwlock_wrlock(&c->lock);
    if (c->used >= AUTHCACHE_MAX_USED)
        clear_all(c);
    s = find(c, hash);
    if (s->used) {
        principal_clear(&s->p);
    } else {
        s->used = true;
        c->used++;
        memcpy(s->hash, hash, APIKEY_HASH_BYTES);
    }
    s->gen = gen;
    s->p = *p;
    s->p.groups = json_incref(p->groups);
    pthread_rwlock_unlock(&c->lock);
}
