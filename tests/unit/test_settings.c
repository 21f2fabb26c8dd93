/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of src/settings.c: defaults, environment variables, flags (both spellings) and
 * the refusal of unknown flags and bad values. Every SWITCHBOARD_* variable is cleared before
 * each test so that the environment the tests run in does not leak into them. */
/* cmocka.h needs these four first */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "settings.h"
#include "util/limits.h"

static const char *const env_vars[] = {
    "SWITCHBOARD_LISTEN",
    "SWITCHBOARD_DATA_DIR",
    "SWITCHBOARD_MAX_BODY_SIZE",
    "SWITCHBOARD_THREADS",
    "SWITCHBOARD_CONNECTION_TIMEOUT",
    "SWITCHBOARD_MAX_CONNECTIONS",
    "SWITCHBOARD_MAX_CONNECTIONS_PER_IP",
    "SWITCHBOARD_SHUTDOWN_GRACE",
    "SWITCHBOARD_LOG_LEVEL",
    "SWITCHBOARD_SECRET_KEY_FILE",
    "SWITCHBOARD_TLS_CERT",
    "SWITCHBOARD_TLS_KEY",
    "SWITCHBOARD_WRITE_GUARDS",
    "SWITCHBOARD_LOG_FORMAT",
    "SWITCHBOARD_LOG_FILE",
    "SWITCHBOARD_STORE",
};

static int clear_env(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(env_vars) / sizeof(env_vars[0]); i++)
        unsetenv(env_vars[i]);
    /* empty: no configuration file, not even the default one of this machine */
    setenv("SWITCHBOARD_CONFIG", "", 1);
    return 0;
}

/* Loads settings from ARGS (a NULL-terminated list, without the program name). */
static int load(struct config *cfg, const char *const *args)
{
    char *argv[16];
    int argc = 0;

    while (args[argc]) {
        assert_true(argc < 15);
        argv[argc] = (char *)args[argc];
        argc++;
    }
    argv[argc] = NULL;
    return settings_load(cfg, argc, argv);
}

/* Writes TEXT to a new temporary file; its path goes to PATH (at least 64 bytes). */
static void write_conf(char *path, const char *text)
{
    strcpy(path, "/tmp/switchboard-test-conf.XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void test_config_file_sets_values_and_keeps_comments_out(void **state)
{
    char path[64], flag[80];
    struct config cfg;
    (void)state;

    write_conf(path, "# a comment\n; another\n\nlisten = 127.0.0.1:9000\nthreads=3\n"
                     "probe-deny = 10.0.0.0/8\n");
    snprintf(flag, sizeof(flag), "--config=%s", path);
    const char *args[] = {flag, NULL};
    assert_int_equal(load(&cfg, args), 0);
    assert_string_equal(cfg.listen, "127.0.0.1:9000");
    assert_int_equal(cfg.threads, 3);
    assert_string_equal(cfg.probe_deny, "10.0.0.0/8");
    assert_string_equal(cfg.data_dir, "./data");
    assert_string_equal(cfg.config_read, path);
    settings_free(&cfg);
    unlink(path);
}

static void test_precedence_is_flag_then_environment_then_file_then_default(void **state)
{
    char path[64];
    struct config cfg;
    (void)state;

    write_conf(path, "listen = 127.0.0.1:1\nthreads = 1\nshutdown-grace = 1\n");
    setenv("SWITCHBOARD_CONFIG", path, 1);
    setenv("SWITCHBOARD_LISTEN", "127.0.0.1:2", 1);
    setenv("SWITCHBOARD_THREADS", "2", 1);
    const char *args[] = {"--listen", "127.0.0.1:3", NULL};
    assert_int_equal(load(&cfg, args), 0);
    assert_string_equal(cfg.listen, "127.0.0.1:3"); /* flag over environment and file */
    assert_int_equal(cfg.threads, 2);               /* environment over file */
    assert_int_equal(cfg.shutdown_grace, 1);        /* file over default */
    assert_int_equal(cfg.connection_timeout, 60);   /* default */
    settings_free(&cfg);
    unlink(path);
}

static void test_config_flag_wins_over_its_environment_variable(void **state)
{
    char a[64], b[64], flag[80];
    struct config cfg;
    (void)state;

    write_conf(a, "threads = 7\n");
    write_conf(b, "threads = 9\n");
    setenv("SWITCHBOARD_CONFIG", a, 1);
    snprintf(flag, sizeof(flag), "--config=%s", b);
    const char *args[] = {flag, NULL};
    assert_int_equal(load(&cfg, args), 0);
    assert_int_equal(cfg.threads, 9);
    settings_free(&cfg);
    unlink(a);
    unlink(b);
}

static void test_unknown_key_in_config_file_is_refused(void **state)
{
    char path[64];
    struct config cfg;
    (void)state;

    write_conf(path, "listen = 127.0.0.1:1\nno-such-setting = 1\n");
    setenv("SWITCHBOARD_CONFIG", path, 1);
    const char *args[] = {NULL};
    assert_int_equal(load(&cfg, args), -1);
    settings_free(&cfg);
    unlink(path);
}

static void test_bad_lines_in_config_file_are_refused(void **state)
{
    static const char *const texts[] = {"threads = many\n", "[serve]\nthreads = 1\n",
                                        "just words\n", "config = /etc/other.conf\n", "listen =\n"};
    struct config cfg;
    char path[64];
    (void)state;

    for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
        write_conf(path, texts[i]);
        setenv("SWITCHBOARD_CONFIG", path, 1);
        const char *args[] = {NULL};
        assert_int_equal(load(&cfg, args), -1);
        settings_free(&cfg);
        unlink(path);
    }
}

static void test_missing_named_config_file_is_refused(void **state)
{
    struct config cfg;
    (void)state;

    const char *args[] = {"--config", "/nonexistent/switchboard.conf", NULL};
    assert_int_equal(load(&cfg, args), -1);
    settings_free(&cfg);
}

static void test_effective_settings_name_sources_and_mask_passwords(void **state)
{
    char path[64], *text = NULL;
    size_t len = 0;
    struct config cfg;
    (void)state;

    write_conf(path, "store = postgresql://sb:hunter2@127.0.0.1/sb?password=hunter3\n");
    setenv("SWITCHBOARD_CONFIG", path, 1);
    setenv("SWITCHBOARD_THREADS", "2", 1);
    const char *args[] = {"--listen", "127.0.0.1:3", NULL};
    assert_int_equal(load(&cfg, args), 0);
    FILE *out = open_memstream(&text, &len);
    settings_print_effective(&cfg, out);
    fclose(out);
    assert_null(strstr(text, "hunter2"));
    assert_null(strstr(text, "hunter3"));
    assert_non_null(strstr(text, "postgresql://sb:********@127.0.0.1/sb?password=********"));
    assert_non_null(strstr(text, "# command line --listen"));
    assert_non_null(strstr(text, "# environment SWITCHBOARD_THREADS"));
    assert_non_null(strstr(text, "# file "));
    assert_non_null(strstr(text, "# default"));
    free(text);
    settings_free(&cfg);
    unlink(path);
}

static void test_store_password_is_masked_in_the_command_line(void **state)
{
    /* writable, as a process's own argv is: settings_load overwrites the password there */
    char flag[] = "--store", url[] = "postgresql://sb:hunter2@127.0.0.1/sb?password=hunter3";
    char joined[] = "--store=postgres://sb:p%40ss@[::1]:5432/sb";
    char *argv1[] = {flag, url, NULL}, *argv2[] = {joined, NULL};
    struct config cfg;
    (void)state;

    assert_int_equal(settings_load(&cfg, 2, argv1), 0);
    assert_string_equal(cfg.store, "postgresql://sb:hunter2@127.0.0.1/sb?password=hunter3");
    assert_string_equal(url, "postgresql://sb:*******@127.0.0.1/sb?password=*******");
    settings_free(&cfg);
    assert_int_equal(settings_load(&cfg, 1, argv2), 0);
    assert_string_equal(cfg.store, "postgres://sb:p%40ss@[::1]:5432/sb");
    assert_string_equal(joined, "--store=postgres://sb:******@[::1]:5432/sb");
    settings_free(&cfg);
}

static void test_store_that_is_not_postgresql_is_refused(void **state)
{
    char flag[] = "--store", dsn[] = "host=127.0.0.1 password=hunter2",
         typo[] = "postgressql://h/db";
    char *argv1[] = {flag, dsn, NULL}, *argv2[] = {flag, typo, NULL};
    struct config cfg;
    (void)state;

    /* each used to be opened as the path of a new, empty SQLite store */
    assert_int_equal(settings_load(&cfg, 2, argv1), -1);
    settings_free(&cfg);
    assert_int_equal(settings_load(&cfg, 2, argv2), -1);
    settings_free(&cfg);
    setenv("SWITCHBOARD_STORE", "/var/lib/other.db", 1);
    assert_int_equal(settings_load(&cfg, 0, argv1 + 2), -1);
    settings_free(&cfg);
    setenv("SWITCHBOARD_STORE", "postgresql://h/db", 1);
    assert_int_equal(settings_load(&cfg, 0, argv1 + 2), 0);
    settings_free(&cfg);
    unsetenv("SWITCHBOARD_STORE");
    assert_int_equal(settings_load(&cfg, 0, argv1 + 2), 0);
    assert_string_equal(cfg.store, "");
    settings_free(&cfg);
}

static void test_bad_log_format_is_refused(void **state)
{
    struct config cfg;
    (void)state;

    const char *ok[] = {"--log-format", "json", NULL};
    assert_int_equal(load(&cfg, ok), 0);
    assert_string_equal(cfg.log_format, "json");
    settings_free(&cfg);
    const char *bad[] = {"--log-format", "xml", NULL};
    assert_int_equal(load(&cfg, bad), -1);
    settings_free(&cfg);
}

static void test_defaults_without_flags_or_environment(void **state)
{
    static const char *const args[] = {NULL};
    struct config cfg;
    (void)state;

    assert_int_equal(load(&cfg, args), 0);
    assert_string_equal(cfg.listen, "127.0.0.1:11200");
    assert_string_equal(cfg.data_dir, "./data");
    assert_string_equal(cfg.log_level, "info");
    assert_int_equal(cfg.max_body_size, 1048576);
    assert_int_equal(cfg.max_body_size, SB_DEFAULT_MAX_BODY);
    assert_int_equal(cfg.threads, 0);
    assert_int_equal(cfg.connection_timeout, 60);
    assert_int_equal(cfg.max_connections, 1024);
    assert_int_equal(cfg.max_connections_per_ip, 256);
    assert_int_equal(cfg.shutdown_grace, 10);
    settings_free(&cfg);
}

/* --write-guards (docs/API.md §4.7): off by default; the flag alone turns it on, and it takes
 * on/off, true/false, yes/no, 1/0 from "=VALUE" or the environment */
static void test_write_guards_switch(void **state)
{
    static const char *const none[] = {NULL};
    static const char *const bare[] = {"--write-guards", "--log-level", "warn", NULL};
    static const char *const off[] = {"--write-guards=off", NULL};
    static const char *const yes[] = {"--write-guards=YES", NULL};
    static const char *const bad[] = {"--write-guards=maybe", NULL};
    struct config cfg;
    (void)state;

    assert_int_equal(load(&cfg, none), 0);
    assert_false(cfg.write_guards);
    settings_free(&cfg);
    assert_int_equal(load(&cfg, bare), 0);
    assert_true(cfg.write_guards);
    assert_string_equal(cfg.log_level, "warn"); /* the switch took no value */
    settings_free(&cfg);
    assert_int_equal(load(&cfg, yes), 0);
    assert_true(cfg.write_guards);
    settings_free(&cfg);
    setenv("SWITCHBOARD_WRITE_GUARDS", "1", 1);
    assert_int_equal(load(&cfg, none), 0);
    assert_true(cfg.write_guards);
    settings_free(&cfg);
    assert_int_equal(load(&cfg, off), 0); /* the flag wins over the environment */
    assert_false(cfg.write_guards);
    settings_free(&cfg);
    setenv("SWITCHBOARD_WRITE_GUARDS", "sometimes", 1);
    assert_int_equal(load(&cfg, none), -1);
    settings_free(&cfg);
    unsetenv("SWITCHBOARD_WRITE_GUARDS");
    assert_int_equal(load(&cfg, bad), -1);
    settings_free(&cfg);
}

static void test_environment_overrides_default(void **state)
{
    static const char *const args[] = {NULL};
    struct config cfg;
    (void)state;

    setenv("SWITCHBOARD_LISTEN", "0.0.0.0:9000", 1);
    setenv("SWITCHBOARD_MAX_BODY_SIZE", "2048", 1);
    assert_int_equal(load(&cfg, args), 0);
    assert_string_equal(cfg.listen, "0.0.0.0:9000");
    assert_int_equal(cfg.max_body_size, 2048);
    assert_string_equal(cfg.data_dir, "./data");
    settings_free(&cfg);
}

static void test_empty_environment_variable_is_ignored(void **state)
{
    static const char *const args[] = {NULL};
    struct config cfg;
    (void)state;

    setenv("SWITCHBOARD_LISTEN", "", 1);
    assert_int_equal(load(&cfg, args), 0);
    assert_string_equal(cfg.listen, "127.0.0.1:11200");
    settings_free(&cfg);
}

static void test_flag_overrides_environment(void **state)
{
    static const char *const args[] = {"--listen", "[::1]:8080", NULL};
    struct config cfg;
    (void)state;

    setenv("SWITCHBOARD_LISTEN", "0.0.0.0:9000", 1);
    assert_int_equal(load(&cfg, args), 0);
    assert_string_equal(cfg.listen, "[::1]:8080");
    settings_free(&cfg);
}

static void test_flag_with_equals_form(void **state)
{
    static const char *const args[] = {"--data-dir=/var/lib/sb", "--threads=4", "--log-level=debug",
                                       NULL};
    struct config cfg;
    (void)state;

    assert_int_equal(load(&cfg, args), 0);
    assert_string_equal(cfg.data_dir, "/var/lib/sb");
    assert_int_equal(cfg.threads, 4);
    assert_string_equal(cfg.log_level, "debug");
    settings_free(&cfg);
}

static void test_equals_form_value_may_contain_equals(void **state)
{
    static const char *const args[] = {"--data-dir=/tmp/a=b", NULL};
    struct config cfg;
    (void)state;

    assert_int_equal(load(&cfg, args), 0);
    assert_string_equal(cfg.data_dir, "/tmp/a=b");
    settings_free(&cfg);
}

static void test_later_flag_wins_over_earlier(void **state)
{
    static const char *const args[] = {"--listen", "a:1", "--listen=b:2", NULL};
    struct config cfg;
    (void)state;

    assert_int_equal(load(&cfg, args), 0);
    assert_string_equal(cfg.listen, "b:2");
    settings_free(&cfg);
}

static void test_unknown_flag_is_refused(void **state)
{
    static const char *const args[] = {"--no-such-flag", "x", NULL};
    static const char *const args_eq[] = {"--lis=1", NULL};
    struct config cfg;
    (void)state;

    assert_int_equal(load(&cfg, args), -1);
    settings_free(&cfg);
    assert_int_equal(load(&cfg, args_eq), -1);
    settings_free(&cfg);
}

static void test_argument_without_dashes_is_refused(void **state)
{
    static const char *const args[] = {"listen", NULL};
    struct config cfg;
    (void)state;

    assert_int_equal(load(&cfg, args), -1);
    settings_free(&cfg);
}

static void test_flag_without_value_is_refused(void **state)
{
    static const char *const args[] = {"--listen", NULL};
    struct config cfg;
    (void)state;

    assert_int_equal(load(&cfg, args), -1);
    settings_free(&cfg);
}

static void test_empty_string_value_is_refused(void **state)
{
    static const char *const args[] = {"--data-dir=", NULL};
    struct config cfg;
    (void)state;

    assert_int_equal(load(&cfg, args), -1);
    settings_free(&cfg);
}

static void test_int_bounds_are_inclusive(void **state)
{
    static const char *const low[] = {"--max-body-size", "1024", NULL};
    static const char *const high[] = {"--max-body-size", "268435456", NULL};
    struct config cfg;
    (void)state;

    assert_int_equal(load(&cfg, low), 0);
    assert_int_equal(cfg.max_body_size, SB_MIN_MAX_BODY);
    settings_free(&cfg);
    assert_int_equal(load(&cfg, high), 0);
    assert_int_equal(cfg.max_body_size, SB_MAX_MAX_BODY);
    settings_free(&cfg);
}

static void test_out_of_range_int_is_refused(void **state)
{
    static const char *const below[] = {"--max-body-size", "1023", NULL};
    static const char *const above[] = {"--max-body-size=268435457", NULL};
    static const char *const negative[] = {"--threads", "-1", NULL};
    static const char *const zero[] = {"--max-connections", "0", NULL};
    static const char *const huge[] = {"--threads", "99999999999999999999999", NULL};
    const char *const *cases[] = {below, above, negative, zero, huge};
    struct config cfg;
    (void)state;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        if (load(&cfg, cases[i]) != -1)
            fail_msg("'%s %s' was accepted", cases[i][0], cases[i][1] ? cases[i][1] : "");
        settings_free(&cfg);
    }
}

static void test_non_numeric_int_is_refused(void **state)
{
    static const char *const word[] = {"--threads", "four", NULL};
    static const char *const trailing[] = {"--threads", "4x", NULL};
    static const char *const empty[] = {"--threads=", NULL};
    const char *const *cases[] = {word, trailing, empty};
    struct config cfg;
    (void)state;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        assert_int_equal(load(&cfg, cases[i]), -1);
        settings_free(&cfg);
    }
}

static void test_out_of_range_environment_value_is_refused(void **state)
{
    static const char *const args[] = {NULL};
    struct config cfg;
    (void)state;

    setenv("SWITCHBOARD_MAX_BODY_SIZE", "10", 1);
    assert_int_equal(load(&cfg, args), -1);
    settings_free(&cfg);
}

static void test_bad_log_level_is_refused(void **state)
{
    static const char *const flag[] = {"--log-level", "verbose", NULL};
    static const char *const upper[] = {"--log-level=INFO", NULL};
    static const char *const none[] = {NULL};
    struct config cfg;
    (void)state;

    assert_int_equal(load(&cfg, flag), -1);
    settings_free(&cfg);
    assert_int_equal(load(&cfg, upper), -1);
    settings_free(&cfg);
    setenv("SWITCHBOARD_LOG_LEVEL", "trace", 1);
    assert_int_equal(load(&cfg, none), -1);
    settings_free(&cfg);
}

static void test_every_log_level_is_accepted(void **state)
{
    static const char *const levels[] = {"error", "warn", "info", "debug"};
    struct config cfg;
    char flag[32];
    (void)state;

    for (size_t i = 0; i < sizeof(levels) / sizeof(levels[0]); i++) {
        const char *args[] = {flag, NULL};
        snprintf(flag, sizeof(flag), "--log-level=%s", levels[i]);
        assert_int_equal(load(&cfg, args), 0);
        assert_string_equal(cfg.log_level, levels[i]);
        settings_free(&cfg);
    }
}

static void test_free_clears_strings_and_may_run_twice(void **state)
{
    static const char *const args[] = {NULL};
    struct config cfg;
    (void)state;

    assert_int_equal(load(&cfg, args), 0);
    settings_free(&cfg);
    assert_null(cfg.listen);
    assert_null(cfg.data_dir);
    assert_null(cfg.log_level);
    settings_free(&cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_defaults_without_flags_or_environment, clear_env),
        cmocka_unit_test_setup(test_config_file_sets_values_and_keeps_comments_out, clear_env),
        cmocka_unit_test_setup(test_precedence_is_flag_then_environment_then_file_then_default,
                               clear_env),
        cmocka_unit_test_setup(test_config_flag_wins_over_its_environment_variable, clear_env),
        cmocka_unit_test_setup(test_unknown_key_in_config_file_is_refused, clear_env),
        cmocka_unit_test_setup(test_bad_lines_in_config_file_are_refused, clear_env),
        cmocka_unit_test_setup(test_missing_named_config_file_is_refused, clear_env),
        cmocka_unit_test_setup(test_effective_settings_name_sources_and_mask_passwords, clear_env),
        cmocka_unit_test_setup(test_store_password_is_masked_in_the_command_line, clear_env),
        cmocka_unit_test_setup(test_store_that_is_not_postgresql_is_refused, clear_env),
        cmocka_unit_test_setup(test_bad_log_format_is_refused, clear_env),
        cmocka_unit_test_setup(test_write_guards_switch, clear_env),
        cmocka_unit_test_setup(test_environment_overrides_default, clear_env),
        cmocka_unit_test_setup(test_empty_environment_variable_is_ignored, clear_env),
        cmocka_unit_test_setup(test_flag_overrides_environment, clear_env),
        cmocka_unit_test_setup(test_flag_with_equals_form, clear_env),
        cmocka_unit_test_setup(test_equals_form_value_may_contain_equals, clear_env),
        cmocka_unit_test_setup(test_later_flag_wins_over_earlier, clear_env),
        cmocka_unit_test_setup(test_unknown_flag_is_refused, clear_env),
        cmocka_unit_test_setup(test_argument_without_dashes_is_refused, clear_env),
        cmocka_unit_test_setup(test_flag_without_value_is_refused, clear_env),
        cmocka_unit_test_setup(test_empty_string_value_is_refused, clear_env),
        cmocka_unit_test_setup(test_int_bounds_are_inclusive, clear_env),
        cmocka_unit_test_setup(test_out_of_range_int_is_refused, clear_env),
        cmocka_unit_test_setup(test_non_numeric_int_is_refused, clear_env),
        cmocka_unit_test_setup(test_out_of_range_environment_value_is_refused, clear_env),
        cmocka_unit_test_setup(test_bad_log_level_is_refused, clear_env),
        cmocka_unit_test_setup(test_every_log_level_is_accepted, clear_env),
        cmocka_unit_test_setup(test_free_clears_strings_and_may_run_twice, clear_env),
    };
    return cmocka_run_group_tests(tests, clear_env, clear_env);
}
