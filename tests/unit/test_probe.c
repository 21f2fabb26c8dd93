/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of probe_scrub (src/probe/probe.c), the mask that keeps secret values out of probe
 * messages: it must end for any input (a secret equal to the mask "***" once made it loop
 * forever), leave nothing of overlapping secrets or of one inside another, and never write past the
 * buffer. */
/* cmocka.h needs these four first */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "probe/probe.h"

static void assert_scrubs(const char *in, const char *const *secrets, size_t n, const char *want)
{
    char msg[sizeof(((struct probe_result *)0)->message)];

    snprintf(msg, sizeof(msg), "%s", in);
    probe_scrub(msg, sizeof(msg), secrets, n);
    if (strcmp(msg, want) != 0) {
        print_error("scrubbing \"%s\"\n got      \"%s\"\n expected \"%s\"\n", in, msg, want);
        fail();
    }
}

static void test_secret_equal_to_the_mask_ends(void **state)
{
    const char *s[] = {"***"};
    (void)state;
    assert_scrubs("password *** was wrong ***", s, 1, "password *** was wrong ***");
    assert_scrubs("******", s, 1, "***");
}

static void test_mask_characters_inside_a_secret_end(void **state)
{
    const char *s[] = {"a***b", "**x"};
    (void)state;
    assert_scrubs("a***b and **x and a***", s, 2, "*** and *** and a***");
}

static void test_single_star_and_empty_secrets_end_and_are_not_masked(void **state)
{
    const char *s[] = {"*", "", NULL, "ab"};
    (void)state;
    assert_scrubs("a * b ab", s, 4, "a * b ab");
}

static void test_secret_that_prefixes_another_masks_the_longest(void **state)
{
    const char *s[] = {"hunter", "hunter22"};
    const char *r[] = {"hunter22", "hunter"};
    (void)state;
    assert_scrubs("pw hunter22 / hunter", s, 2, "pw *** / ***");
    assert_scrubs("pw hunter22 / hunter", r, 2, "pw *** / ***");
}

static void test_overlapping_secrets_leave_nothing_of_either(void **state)
{
    const char *s[] = {"abcdef", "defghi"};
    char msg[sizeof(((struct probe_result *)0)->message)] = "xxabcdefghiyy";
    (void)state;
    probe_scrub(msg, sizeof(msg), s, 2);
    assert_null(strstr(msg, "abcdef"));
    assert_null(strstr(msg, "abc"));
    assert_null(strstr(msg, "ghi"));
    assert_string_equal(msg, "xx***yy");
}

static void test_repeated_secret_and_count(void **state)
{
    const char *s[] = {"s3cr3t"};
    char msg[64] = "s3cr3ts3cr3t s3cr3 (s3cr3t)";
    (void)state;
    assert_int_equal(probe_scrub(msg, sizeof(msg), s, 1), 2);
    assert_string_equal(msg, "*** s3cr3 (***)");
}

static void test_full_buffer_stays_terminated(void **state)
{
    char msg[sizeof(((struct probe_result *)0)->message)];
    const char *s[] = {"x"};
    const char *t[] = {"xyz"};
    (void)state;
    memset(msg, 'x', sizeof(msg) - 1);
    msg[sizeof(msg) - 1] = '\0';
    probe_scrub(msg, sizeof(msg), s, 1); /* too short: left alone */
    assert_int_equal(strlen(msg), sizeof(msg) - 1);
    probe_scrub(msg, sizeof(msg), t, 1);
    assert_int_equal(strlen(msg), sizeof(msg) - 1);
    char small[5] = "xyzx";
    probe_scrub(small, sizeof(small), t, 1);
    assert_string_equal(small, "***x");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_secret_equal_to_the_mask_ends),
        cmocka_unit_test(test_mask_characters_inside_a_secret_end),
        cmocka_unit_test(test_single_star_and_empty_secrets_end_and_are_not_masked),
        cmocka_unit_test(test_secret_that_prefixes_another_masks_the_longest),
        cmocka_unit_test(test_overlapping_secrets_leave_nothing_of_either),
        cmocka_unit_test(test_repeated_secret_and_count),
        cmocka_unit_test(test_full_buffer_stays_terminated),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
