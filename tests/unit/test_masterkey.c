/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of src/core/masterkey.c: the key file (created once, mode 0600, exactly 32 bytes)
 * and the values derived from the key. Each test works in its own mkdtemp directory. */
/* cmocka.h needs these four first */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/err.h"
#include "core/masterkey.h"

struct tmp {
    char dir[64];
    char key_path[128];
};

static int make_tmp(void **state)
{
    struct tmp *t = calloc(1, sizeof(*t));

    if (!t)
        return -1;
    snprintf(t->dir, sizeof(t->dir), "/tmp/sb-masterkey-XXXXXX");
    if (!mkdtemp(t->dir)) {
        free(t);
        return -1;
    }
    snprintf(t->key_path, sizeof(t->key_path), "%s/secret.key", t->dir);
    *state = t;
    return 0;
}

static int remove_tmp(void **state)
{
    struct tmp *t = *state;
    char tmp_path[160];

    snprintf(tmp_path, sizeof(tmp_path), "%s.tmp", t->key_path);
    unlink(t->key_path);
    unlink(tmp_path);
    rmdir(t->dir);
    free(t);
    return 0;
}

static void write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");

    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

static void test_load_with_create_makes_32_byte_file_with_mode_0600(void **state)
{
    struct tmp *t = *state;
    uint8_t key[MASTERKEY_BYTES], zero[MASTERKEY_BYTES] = {0};
    bool created = false;
    struct sb_err err;
    struct stat st;

    sb_err_clear(&err);
    assert_int_equal(masterkey_load(t->key_path, true, key, &created, &err), SB_OK);
    assert_true(created);
    assert_memory_not_equal(key, zero, sizeof(key));
    assert_int_equal(stat(t->key_path, &st), 0);
    assert_true(S_ISREG(st.st_mode));
    assert_int_equal(st.st_size, 32);
    assert_int_equal(st.st_mode & 07777, 0600);
}

static void test_load_of_created_file_reads_same_key_back(void **state)
{
    struct tmp *t = *state;
    uint8_t key[MASTERKEY_BYTES], again[MASTERKEY_BYTES], raw[MASTERKEY_BYTES + 1];
    bool created = false;
    struct sb_err err;
    FILE *f;

    sb_err_clear(&err);
    assert_int_equal(masterkey_load(t->key_path, true, key, &created, &err), SB_OK);
    assert_true(created);

    created = true;
    assert_int_equal(masterkey_load(t->key_path, true, again, &created, &err), SB_OK);
    assert_false(created);
    assert_memory_equal(key, again, sizeof(key));

    memset(again, 0, sizeof(again));
    assert_int_equal(masterkey_load(t->key_path, false, again, &created, &err), SB_OK);
    assert_false(created);
    assert_memory_equal(key, again, sizeof(key));

    /* the file holds the raw bytes and nothing else */
    f = fopen(t->key_path, "rb");
    assert_non_null(f);
    assert_int_equal(fread(raw, 1, sizeof(raw), f), MASTERKEY_BYTES);
    fclose(f);
    assert_memory_equal(raw, key, MASTERKEY_BYTES);
}

static void test_load_without_create_refuses_missing_file(void **state)
{
    struct tmp *t = *state;
    uint8_t key[MASTERKEY_BYTES];
    bool created = true;
    struct sb_err err;

    sb_err_clear(&err);
    assert_int_equal(masterkey_load(t->key_path, false, key, &created, &err), SB_ERR_INTERNAL);
    assert_int_equal(err.kind, SB_ERR_INTERNAL);
    assert_non_null(strstr(err.msg, t->key_path));
    assert_false(created);
    assert_int_equal(access(t->key_path, F_OK), -1);
}

static void test_load_refuses_file_of_wrong_size(void **state)
{
    struct tmp *t = *state;
    uint8_t key[MASTERKEY_BYTES], bytes[64];
    bool created = true;
    struct sb_err err;
    static const size_t sizes[] = {0, 31, 33, 64};

    memset(bytes, 0xab, sizeof(bytes));
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        write_file(t->key_path, bytes, sizes[i]);
        sb_err_clear(&err);
        if (masterkey_load(t->key_path, true, key, &created, &err) != SB_ERR_INTERNAL)
            fail_msg("a key file of %zu bytes was accepted", sizes[i]);
        assert_non_null(strstr(err.msg, "32"));
        assert_false(created);
    }
    /* and a refused file is left as it was, not replaced by a new key */
    {
        struct stat st;
        assert_int_equal(stat(t->key_path, &st), 0);
        assert_int_equal(st.st_size, 64);
    }
}

static void test_load_accepts_existing_32_byte_file(void **state)
{
    struct tmp *t = *state;
    uint8_t want[MASTERKEY_BYTES], key[MASTERKEY_BYTES];
    bool created = true;
    struct sb_err err;

    for (int i = 0; i < MASTERKEY_BYTES; i++)
        want[i] = (uint8_t)(i * 7 + 1);
    write_file(t->key_path, want, sizeof(want));
    sb_err_clear(&err);
    assert_int_equal(masterkey_load(t->key_path, false, key, &created, &err), SB_OK);
    assert_false(created);
    assert_memory_equal(key, want, sizeof(key));
}

static void test_two_created_keys_differ(void **state)
{
    struct tmp *t = *state;
    uint8_t a[MASTERKEY_BYTES], b[MASTERKEY_BYTES];
    bool created;
    struct sb_err err;

    sb_err_clear(&err);
    assert_int_equal(masterkey_load(t->key_path, true, a, &created, &err), SB_OK);
    assert_int_equal(unlink(t->key_path), 0);
    assert_int_equal(masterkey_load(t->key_path, true, b, &created, &err), SB_OK);
    assert_true(created);
    assert_memory_not_equal(a, b, sizeof(a));
}

static void test_write_private_file_replaces_content_with_mode_0600(void **state)
{
    struct tmp *t = *state;
    struct sb_err err;
    struct stat st;
    char buf[16] = {0};
    FILE *f;

    write_file(t->key_path, "old content that is long", 24);
    chmod(t->key_path, 0644);
    sb_err_clear(&err);
    assert_int_equal(masterkey_write_private_file(t->key_path, "new", 3, &err), SB_OK);
    assert_int_equal(stat(t->key_path, &st), 0);
    assert_int_equal(st.st_size, 3);
    assert_int_equal(st.st_mode & 07777, 0600);
    f = fopen(t->key_path, "rb");
    assert_non_null(f);
    assert_int_equal(fread(buf, 1, sizeof(buf), f), 3);
    fclose(f);
    assert_memory_equal(buf, "new", 3);
}

static void test_check_value_is_stable_for_a_key(void **state)
{
    uint8_t key[MASTERKEY_BYTES];
    char a[65], b[65];
    (void)state;

    memset(key, 0x11, sizeof(key));
    masterkey_check_value(key, a);
    masterkey_check_value(key, b);
    assert_string_equal(a, b);
    assert_int_equal(strlen(a), 64);
    assert_int_equal(strspn(a, "0123456789abcdef"), 64);
}

static void test_check_value_differs_between_keys(void **state)
{
    uint8_t k1[MASTERKEY_BYTES], k2[MASTERKEY_BYTES];
    char a[65], b[65];
    (void)state;

    memset(k1, 0x11, sizeof(k1));
    memcpy(k2, k1, sizeof(k2));
    k2[0] ^= 0x80;
    masterkey_check_value(k1, a);
    masterkey_check_value(k2, b);
    assert_string_not_equal(a, b);
}

static void test_check_value_does_not_reveal_the_key(void **state)
{
    uint8_t key[MASTERKEY_BYTES];
    char hex[65], check[65];
    (void)state;

    randombytes_buf(key, sizeof(key));
    sodium_bin2hex(hex, sizeof(hex), key, sizeof(key));
    masterkey_check_value(key, check);
    assert_string_not_equal(hex, check);
}

static void test_derive_differs_per_purpose(void **state)
{
    uint8_t key[MASTERKEY_BYTES], check[32], secrets[32];
    (void)state;

    memset(key, 0x22, sizeof(key));
    masterkey_derive(key, MASTERKEY_CHECK, check);
    masterkey_derive(key, MASTERKEY_SECRETS, secrets);
    assert_memory_not_equal(check, secrets, 32);
    assert_memory_not_equal(check, key, 32);
    assert_memory_not_equal(secrets, key, 32);
}

static void test_derive_is_deterministic_and_differs_per_key(void **state)
{
    uint8_t k1[MASTERKEY_BYTES], k2[MASTERKEY_BYTES], a[32], b[32], c[32];
    (void)state;

    memset(k1, 0x22, sizeof(k1));
    memset(k2, 0x23, sizeof(k2));
    masterkey_derive(k1, MASTERKEY_SECRETS, a);
    masterkey_derive(k1, MASTERKEY_SECRETS, b);
    masterkey_derive(k2, MASTERKEY_SECRETS, c);
    assert_memory_equal(a, b, 32);
    assert_memory_not_equal(a, c, 32);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_load_with_create_makes_32_byte_file_with_mode_0600,
                                        make_tmp, remove_tmp),
        cmocka_unit_test_setup_teardown(test_load_of_created_file_reads_same_key_back, make_tmp,
                                        remove_tmp),
        cmocka_unit_test_setup_teardown(test_load_without_create_refuses_missing_file, make_tmp,
                                        remove_tmp),
        cmocka_unit_test_setup_teardown(test_load_refuses_file_of_wrong_size, make_tmp, remove_tmp),
        cmocka_unit_test_setup_teardown(test_load_accepts_existing_32_byte_file, make_tmp,
                                        remove_tmp),
        cmocka_unit_test_setup_teardown(test_two_created_keys_differ, make_tmp, remove_tmp),
        cmocka_unit_test_setup_teardown(test_write_private_file_replaces_content_with_mode_0600,
                                        make_tmp, remove_tmp),
        cmocka_unit_test(test_check_value_is_stable_for_a_key),
        cmocka_unit_test(test_check_value_differs_between_keys),
        cmocka_unit_test(test_check_value_does_not_reveal_the_key),
        cmocka_unit_test(test_derive_differs_per_purpose),
        cmocka_unit_test(test_derive_is_deterministic_and_differs_per_key),
    };

    if (sodium_init() < 0) {
        fputs("cannot initialise libsodium\n", stderr);
        return 1;
    }
    return cmocka_run_group_tests(tests, NULL, NULL);
}
