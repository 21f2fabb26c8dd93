/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of probe_scrub (src/probe/probe.c), the mask that keeps secret values out of probe
 * messages: it must end for any input (a secret equal to the mask "***" once made it loop
 * forever), leave nothing of overlapping secrets or of one inside another, and never write past the
 * buffer. And of the probe pool's stop: a worker left behind after the grace never touches the
 * job it was running, which its owner has had back (and freed) since. */
/* cmocka.h needs these four first */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/types.h"
#include "probe/probe.h"
#include "util/clock.h"

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

static int jobs_done;

/* The job's owner: done hands the job back, and the owner frees it at once. */
static void free_job(struct probe_job *job)
{
    json_decref(job->params);
    free(job);
    jobs_done++;
}

static void test_a_worker_left_behind_never_reads_its_freed_job(void **state)
{
    struct probe_settings settings = {.timeout_s = 1};
    struct sockaddr_in addr = {.sin_family = AF_INET};
    socklen_t len = sizeof(addr);
    int hole = socket(AF_INET, SOCK_STREAM, 0);
    struct probe_pool *pool;
    struct probe_job *job = calloc(1, sizeof(*job));
    char port[16];
    (void)state;

    /* a server that accepts and never answers: the probe runs to its timeout */
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(hole, (struct sockaddr *)&addr, sizeof(addr)), 0);
    assert_int_equal(listen(hole, 8), 0);
    assert_int_equal(getsockname(hole, (struct sockaddr *)&addr, &len), 0);
    snprintf(port, sizeof(port), "%u", (unsigned)ntohs(addr.sin_port));
    job->params = json_pack("{s:s, s:s, s:s, s:s}", "host", "127.0.0.1", "port", port, "user", "u",
                            "password", "pw");
    job->target.type = types_find("PostgreSQL");
    job->target.params = job->params;
    job->done = free_job;

    pool = probe_pool_start(&settings, 1);
    assert_true(probe_pool_submit(pool, job));
    usleep(200 * 1000); /* the worker is in the probe */
    /* a grace shorter than the probe: the job is answered as stopped, handed back, freed */
    probe_pool_stop(pool, clock_mono_us() + 50 * 1000);
    assert_int_equal(jobs_done, 1);
    /* the worker's probe times out meanwhile; under ASan, a read of the job is a failure */
    sleep(3);
    probe_pool_free(pool); /* abandoned: left to its worker */
    close(hole);
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
        cmocka_unit_test(test_a_worker_left_behind_never_reads_its_freed_job),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
