/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of src/http/authcache.c: the principal cache by API-key hash and auth generation
 * (hits, misses on another generation, replacement, self-clearing when full, hashes that share
 * their first bytes). Every principal is cleared so that the leak detector at exit also checks
 * the reference counting of the groups arrays. */
/* cmocka.h needs these four first */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/apikeys.h"
#include "core/principal.h"
#include "http/authcache.h"

/* Parses TEXT (single quotes stand for double quotes). */
static json_t *js(const char *text)
{
    char buf[1024];
    json_t *v;
    size_t i;

    assert_true(strlen(text) < sizeof(buf));
    for (i = 0; text[i]; i++)
        buf[i] = text[i] == '\'' ? '"' : text[i];
    buf[i] = '\0';
    v = json_loads(buf, JSON_DECODE_ANY, NULL);
    if (!v)
        fail_msg("bad JSON in test: %s", buf);
    return v;
}

static struct principal principal_of(enum principal_type type, const char *id, const char *login,
                                     bool admin, const char *groups_text)
{
    struct principal p;

    memset(&p, 0, sizeof(p));
    p.type = type;
    snprintf(p.id, sizeof(p.id), "%s", id);
    snprintf(p.login, sizeof(p.login), "%s", login);
    p.admin = admin;
    p.groups = groups_text ? js(groups_text) : NULL;
    return p;
}

/* A hash whose bytes all derive from N (distinct N, distinct hashes and first 8 bytes). */
static void hash_of(uint64_t n, uint8_t out[APIKEY_HASH_BYTES])
{
    uint64_t x = n * 0x9E3779B97F4A7C15ULL + 1;

    for (size_t i = 0; i < APIKEY_HASH_BYTES; i++) {
        out[i] = (uint8_t)(x >> ((i % 8) * 8));
        if (i % 8 == 7)
            x = x * 6364136223846793005ULL + 1442695040888963407ULL;
    }
    memcpy(out, &n, sizeof(n)); /* the first 8 bytes: N itself */
}

/* Fails unless GOT carries the same fields as WANT (groups equal in content). */
static void assert_principal_eq(const struct principal *got, const struct principal *want)
{
    assert_int_equal(got->type, want->type);
    assert_string_equal(got->id, want->id);
    assert_string_equal(got->login, want->login);
    assert_int_equal(got->admin, want->admin);
    if (!want->groups)
        assert_null(got->groups);
    else
        assert_true(json_equal(got->groups, want->groups));
}

static void test_get_on_empty_cache_misses(void **state)
{
    struct authcache *c = authcache_new();
    uint8_t h[APIKEY_HASH_BYTES];
    struct principal p;
    (void)state;

    memset(&p, 0, sizeof(p));
    hash_of(1, h);
    assert_false(authcache_get(c, h, 0, &p));
    assert_false(authcache_get(c, h, 1, &p));
    memset(h, 0, sizeof(h));
    assert_false(authcache_get(c, h, 0, &p));
    assert_null(p.groups);
    authcache_free(c);
}

static void test_put_then_get_with_same_generation_hits(void **state)
{
    struct authcache *c = authcache_new();
    struct principal want = principal_of(PRINCIPAL_USER, "k_123", "alice", false, "['ops','dev']");
    struct principal got;
    uint8_t h[APIKEY_HASH_BYTES];
    (void)state;

    hash_of(42, h);
    authcache_put(c, h, 7, &want);
    memset(&got, 0, sizeof(got));
    assert_true(authcache_get(c, h, 7, &got));
    assert_principal_eq(&got, &want);
    principal_clear(&got);

    /* a global key, admin */
    {
        struct principal g = principal_of(PRINCIPAL_GLOBAL_KEY, "gk_1", "gk_1", true, "[]");
        uint8_t h2[APIKEY_HASH_BYTES];
        hash_of(43, h2);
        authcache_put(c, h2, 7, &g);
        memset(&got, 0, sizeof(got));
        assert_true(authcache_get(c, h2, 7, &got));
        assert_principal_eq(&got, &g);
        principal_clear(&got);
        principal_clear(&g);
    }
    principal_clear(&want);
    authcache_free(c);
}

static void test_get_gives_a_new_reference_to_groups(void **state)
{
    struct authcache *c = authcache_new();
    struct principal p = principal_of(PRINCIPAL_USER, "k_1", "bob", false, "['sales']");
    json_t *groups = p.groups;
    struct principal got;
    uint8_t h[APIKEY_HASH_BYTES];
    (void)state;

    hash_of(5, h);
    assert_int_equal(groups->refcount, 1);
    authcache_put(c, h, 1, &p);
    assert_int_equal(groups->refcount, 2); /* the cache holds its own */
    assert_true(authcache_get(c, h, 1, &got));
    assert_int_equal(groups->refcount, 3);
    principal_clear(&got);
    assert_int_equal(groups->refcount, 2);
    assert_null(got.groups);

    /* the caller's principal can go: the cache still has it */
    json_incref(groups); /* to watch it */
    principal_clear(&p);
    assert_int_equal(groups->refcount, 2);
    assert_true(authcache_get(c, h, 1, &got));
    assert_string_equal(got.login, "bob");
    assert_true(json_is_array(got.groups));
    assert_string_equal(json_string_value(json_array_get(got.groups, 0)), "sales");
    principal_clear(&got);
    authcache_free(c);
    assert_int_equal(groups->refcount, 1);
    json_decref(groups);
}

static void test_put_copies_the_principal(void **state)
{
    struct authcache *c = authcache_new();
    struct principal p = principal_of(PRINCIPAL_USER, "k_1", "bob", false, "['sales']");
    struct principal got;
    uint8_t h[APIKEY_HASH_BYTES];
    (void)state;

    hash_of(9, h);
    authcache_put(c, h, 1, &p);
    /* the caller changes its principal afterwards */
    snprintf(p.login, sizeof(p.login), "mallory");
    snprintf(p.id, sizeof(p.id), "k_2");
    p.admin = true;
    assert_true(authcache_get(c, h, 1, &got));
    assert_string_equal(got.login, "bob");
    assert_string_equal(got.id, "k_1");
    assert_false(got.admin);
    principal_clear(&got);
    principal_clear(&p);
    authcache_free(c);
}

static void test_principal_without_groups_is_cached(void **state)
{
    struct authcache *c = authcache_new();
    struct principal p = principal_of(PRINCIPAL_GLOBAL_KEY, "gk", "gk", true, NULL);
    struct principal got;
    uint8_t h[APIKEY_HASH_BYTES];
    (void)state;

    hash_of(11, h);
    authcache_put(c, h, 3, &p);
    assert_true(authcache_get(c, h, 3, &got));
    assert_principal_eq(&got, &p);
    principal_clear(&got);
    authcache_free(c);
}

static void test_get_with_another_generation_misses(void **state)
{
    struct authcache *c = authcache_new();
    struct principal p = principal_of(PRINCIPAL_USER, "k_1", "bob", false, "['sales']");
    struct principal got;
    uint8_t h[APIKEY_HASH_BYTES];
    (void)state;

    hash_of(77, h);
    authcache_put(c, h, 10, &p);
    memset(&got, 0, sizeof(got));
    assert_false(authcache_get(c, h, 11, &got));
    assert_false(authcache_get(c, h, 9, &got));
    assert_false(authcache_get(c, h, 0, &got));
    assert_false(authcache_get(c, h, UINT64_MAX, &got));
    assert_null(got.groups); /* nothing was given on a miss */
    assert_int_equal(p.groups->refcount, 2);
    assert_true(authcache_get(c, h, 10, &got));
    principal_clear(&got);
    principal_clear(&p);
    authcache_free(c);
}

static void test_put_again_replaces(void **state)
{
    struct authcache *c = authcache_new();
    struct principal old = principal_of(PRINCIPAL_USER, "k_1", "bob", false, "['sales']");
    struct principal now = principal_of(PRINCIPAL_USER, "k_1", "bob", true, "['sales','admins']");
    json_t *old_groups = old.groups;
    struct principal got;
    uint8_t h[APIKEY_HASH_BYTES];
    (void)state;

    hash_of(3, h);
    authcache_put(c, h, 1, &old);
    assert_int_equal(old_groups->refcount, 2);
    authcache_put(c, h, 2, &now);
    assert_int_equal(old_groups->refcount, 1); /* the replaced entry's groups were released */
    assert_false(authcache_get(c, h, 1, &got));
    assert_true(authcache_get(c, h, 2, &got));
    assert_principal_eq(&got, &now);
    principal_clear(&got);

    /* the same generation again, another principal */
    authcache_put(c, h, 2, &old);
    assert_true(authcache_get(c, h, 2, &got));
    assert_principal_eq(&got, &old);
    principal_clear(&got);
    assert_int_equal(now.groups->refcount, 1);

    principal_clear(&old);
    principal_clear(&now);
    authcache_free(c);
}

#define FILL_N 10000

static void test_filling_past_capacity_keeps_working(void **state)
{
    struct authcache *c = authcache_new();
    struct principal p = principal_of(PRINCIPAL_USER, "k", "bob", false, "['g']");
    json_t *groups = p.groups;
    struct principal got;
    uint8_t h[APIKEY_HASH_BYTES];
    char login[32];
    size_t hits = 0;
    (void)state;

    for (uint64_t i = 0; i < FILL_N; i++) {
        hash_of(i, h);
        snprintf(p.login, sizeof(p.login), "user-%llu", (unsigned long long)i);
        authcache_put(c, h, 5, &p);
        /* what was just put is always there */
        assert_true(authcache_get(c, h, 5, &got));
        assert_string_equal(got.login, p.login);
        principal_clear(&got);
    }
    hash_of(FILL_N - 1, h);
    assert_true(authcache_get(c, h, 5, &got));
    snprintf(login, sizeof(login), "user-%d", FILL_N - 1);
    assert_string_equal(got.login, login);
    principal_clear(&got);

    /* whatever is still cached is right, and some of the latest are */
    for (uint64_t i = 0; i < FILL_N; i++) {
        hash_of(i, h);
        if (authcache_get(c, h, 5, &got)) {
            snprintf(login, sizeof(login), "user-%llu", (unsigned long long)i);
            assert_string_equal(got.login, login);
            principal_clear(&got);
            hits++;
        }
    }
    assert_true(hits >= 1 && hits < FILL_N);
    /* one reference per cached entry plus ours: cleared entries gave theirs back */
    assert_int_equal(groups->refcount, hits + 1);
    authcache_free(c);
    assert_int_equal(groups->refcount, 1);
    principal_clear(&p);
}

static void test_hashes_differing_only_after_the_first_8_bytes_are_distinct(void **state)
{
    struct authcache *c = authcache_new();
    struct principal a = principal_of(PRINCIPAL_USER, "k_a", "alice", false, "['a']");
    struct principal b = principal_of(PRINCIPAL_USER, "k_b", "bob", true, "['b']");
    struct principal got;
    uint8_t ha[APIKEY_HASH_BYTES], hb[APIKEY_HASH_BYTES], hc[APIKEY_HASH_BYTES];
    (void)state;

    memset(ha, 0xAB, sizeof(ha));
    memcpy(hb, ha, sizeof(hb));
    hb[APIKEY_HASH_BYTES - 1] ^= 1; /* the last byte only */
    memcpy(hc, ha, sizeof(hc));
    hc[8] ^= 0x80; /* the first byte after the 8 */

    authcache_put(c, ha, 1, &a);
    assert_false(authcache_get(c, hb, 1, &got));
    assert_false(authcache_get(c, hc, 1, &got));
    authcache_put(c, hb, 1, &b);
    assert_true(authcache_get(c, ha, 1, &got));
    assert_principal_eq(&got, &a);
    principal_clear(&got);
    assert_true(authcache_get(c, hb, 1, &got));
    assert_principal_eq(&got, &b);
    principal_clear(&got);
    assert_false(authcache_get(c, hc, 1, &got));

    /* replacing one does not touch the other */
    authcache_put(c, ha, 2, &b);
    assert_true(authcache_get(c, hb, 1, &got));
    assert_principal_eq(&got, &b);
    principal_clear(&got);
    assert_false(authcache_get(c, ha, 1, &got));
    assert_true(authcache_get(c, ha, 2, &got));
    principal_clear(&got);

    principal_clear(&a);
    principal_clear(&b);
    authcache_free(c);
}

static void test_collisions_at_the_end_of_the_table_wrap_around(void **state)
{
    struct authcache *c = authcache_new();
    struct principal p[4];
    uint8_t h[4][APIKEY_HASH_BYTES];
    struct principal got;
    (void)state;

    /* first 8 bytes all ones: the last slot of any power-of-two table; they differ later */
    for (int i = 0; i < 4; i++) {
        char login[32];
        memset(h[i], 0xFF, APIKEY_HASH_BYTES);
        h[i][20] = (uint8_t)i;
        snprintf(login, sizeof(login), "user-%d", i);
        p[i] = principal_of(PRINCIPAL_USER, login, login, false, "[]");
        authcache_put(c, h[i], 1, &p[i]);
    }
    for (int i = 0; i < 4; i++) {
        assert_true(authcache_get(c, h[i], 1, &got));
        assert_principal_eq(&got, &p[i]);
        principal_clear(&got);
    }
    for (int i = 0; i < 4; i++)
        principal_clear(&p[i]);
    authcache_free(c);
}

/* --- concurrency smoke test: readers and a writer on the same keys --- */

struct conc {
    struct authcache *c;
    struct principal p;
    int failures;
};

static void *conc_reader(void *arg)
{
    struct conc *s = arg;
    uint8_t h[APIKEY_HASH_BYTES];
    struct principal got;

    for (int round = 0; round < 20000; round++) {
        hash_of((uint64_t)(round % 64), h);
        if (authcache_get(s->c, h, 1, &got)) {
            if (strcmp(got.login, "bob") != 0 || !json_is_array(got.groups))
                __atomic_add_fetch(&s->failures, 1, __ATOMIC_RELAXED);
            principal_clear(&got);
        }
    }
    return NULL;
}

static void *conc_writer(void *arg)
{
    struct conc *s = arg;
    uint8_t h[APIKEY_HASH_BYTES];

    for (int round = 0; round < 20000; round++) {
        hash_of((uint64_t)(round % 64), h);
        authcache_put(s->c, h, 1, &s->p);
    }
    return NULL;
}

static void test_concurrent_gets_and_puts(void **state)
{
    struct conc s = {.c = authcache_new(),
                     .p = principal_of(PRINCIPAL_USER, "k", "bob", false, "['g','h']")};
    pthread_t t[4];
    (void)state;

    for (int i = 0; i < 4; i++)
        assert_int_equal(pthread_create(&t[i], NULL, i == 0 ? conc_writer : conc_reader, &s), 0);
    for (int i = 0; i < 4; i++)
        assert_int_equal(pthread_join(t[i], NULL), 0);
    assert_int_equal(s.failures, 0);
    authcache_free(s.c);
    assert_int_equal(s.p.groups->refcount, 1);
    principal_clear(&s.p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_get_on_empty_cache_misses),
        cmocka_unit_test(test_put_then_get_with_same_generation_hits),
        cmocka_unit_test(test_get_gives_a_new_reference_to_groups),
        cmocka_unit_test(test_put_copies_the_principal),
        cmocka_unit_test(test_principal_without_groups_is_cached),
        cmocka_unit_test(test_get_with_another_generation_misses),
        cmocka_unit_test(test_put_again_replaces),
        cmocka_unit_test(test_filling_past_capacity_keeps_working),
        cmocka_unit_test(test_hashes_differing_only_after_the_first_8_bytes_are_distinct),
        cmocka_unit_test(test_collisions_at_the_end_of_the_table_wrap_around),
        cmocka_unit_test(test_concurrent_gets_and_puts),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
