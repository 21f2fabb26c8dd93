/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of the CLI's command line: the table-driven parser (src/client/cli.c), the
 * settings precedence and profile file (src/client/cli_profile.c), and the completion script
 * generated from the same table. No server is involved. */
/* cmocka.h needs these four first */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "client/cli.h"
#include "client/cli_profile.h"

struct captured {
    char *text;
    size_t len;
    FILE *f;
};

static void capture_start(struct captured *c)
{
    c->text = NULL;
    c->len = 0;
    c->f = open_memstream(&c->text, &c->len);
    assert_non_null(c->f);
}

static void capture_end(struct captured *c)
{
    fclose(c->f);
    c->f = NULL;
}

/* Parses ARGS (NULL-terminated, without the program name); messages go to CAP. */
static enum cli_parse_result parse(struct cli_args *a, struct captured *cap,
                                   const char *const *args)
{
    char *argv[32];
    int argc = 0;
    enum cli_parse_result r;

    while (args[argc]) {
        assert_true(argc < 31);
        argv[argc] = (char *)args[argc];
        argc++;
    }
    argv[argc] = NULL;
    capture_start(cap);
    r = cli_parse(argc, argv, a, cap->f);
    capture_end(cap);
    return r;
}

static void test_create_collects_arguments_and_repeated_options(void **state)
{
    static const char *const args[] = {
        "connections", "create",  "pg_main",           "--type",      "PostgreSQL",
        "--param",     "host=db", "--param=port=5432", "--usable-by", "a",
        "--usable-by", "b",       "--description",     "main db",     NULL};
    struct cli_args a;
    struct captured cap;
    const struct cli_value *params, *groups;

    (void)state;
    assert_int_equal(parse(&a, &cap, args), CLI_PARSE_RUN);
    assert_string_equal(cap.text, "");
    assert_string_equal(a.cmd->group, "connections");
    assert_string_equal(a.cmd->name, "create");
    assert_int_equal(a.n_args, 1);
    assert_string_equal(a.args[0], "pg_main");
    assert_string_equal(cli_opt_value(&a, "type"), "PostgreSQL");
    params = cli_opt(&a, "param");
    assert_non_null(params);
    assert_int_equal(params->n, 2);
    assert_string_equal(params->values[0], "host=db");
    assert_string_equal(params->values[1], "port=5432");
    groups = cli_opt(&a, "usable-by");
    assert_int_equal(groups->n, 2);
    assert_string_equal(groups->values[1], "b");
    assert_string_equal(cli_opt_value(&a, "description"), "main db");
    assert_null(cli_opt(&a, "no-such-option"));
    assert_false(cli_flag(&a, "param-json"));
    cli_args_free(&a);
    free(cap.text);
}

static void test_global_options_are_accepted_anywhere(void **state)
{
    static const char *const args[] = {"--url", "http://h:1", "connections", "--json",     "delete",
                                       "x",     "--force",    "--api-key=k", "--insecure", NULL};
    struct cli_args a;
    struct captured cap;

    (void)state;
    assert_int_equal(parse(&a, &cap, args), CLI_PARSE_RUN);
    assert_string_equal(a.url, "http://h:1");
    assert_string_equal(a.api_key, "k");
    assert_true(a.json);
    assert_true(a.insecure);
    assert_true(cli_flag(&a, "force"));
    assert_string_equal(a.args[0], "x");
    cli_args_free(&a);
    free(cap.text);
}

static void test_short_option_and_double_dash(void **state)
{
    static const char *const export_args[] = {"connections", "export",         "-o",
                                              "out.json",    "--with-secrets", NULL};
    static const char *const dash_args[] = {"connections", "get", "--", "-odd-name", NULL};
    struct cli_args a;
    struct captured cap;

    (void)state;
    assert_int_equal(parse(&a, &cap, export_args), CLI_PARSE_RUN);
    assert_string_equal(cli_opt_value(&a, "output"), "out.json");
    assert_true(cli_flag(&a, "with-secrets"));
    cli_args_free(&a);
    free(cap.text);

    assert_int_equal(parse(&a, &cap, dash_args), CLI_PARSE_RUN);
    assert_string_equal(a.args[0], "-odd-name");
    cli_args_free(&a);
    free(cap.text);
}

static void test_stdin_dash_is_an_argument(void **state)
{
    static const char *const args[] = {"connections", "set", "x", "-", NULL};
    struct cli_args a;
    struct captured cap;

    (void)state;
    assert_int_equal(parse(&a, &cap, args), CLI_PARSE_RUN);
    assert_int_equal(a.n_args, 2);
    assert_string_equal(a.args[1], "-");
    cli_args_free(&a);
    free(cap.text);
}

/* Expects a usage error whose message contains WORDS and which ends with a hint line. */
static void expect_usage(const char *const *args, const char *words)
{
    struct cli_args a;
    struct captured cap;

    assert_int_equal(parse(&a, &cap, args), CLI_PARSE_USAGE);
    assert_non_null(strstr(cap.text, "switchboard: "));
    assert_non_null(strstr(cap.text, words));
    assert_non_null(strstr(cap.text, "\nhint: "));
    cli_args_free(&a);
    free(cap.text);
}

static void test_usage_errors_have_a_message_and_a_hint(void **state)
{
    static const char *const unknown_group[] = {"connectionz", "list", NULL};
    static const char *const unknown_cmd[] = {"connections", "frobnicate", NULL};
    static const char *const no_cmd[] = {"connections", NULL};
    static const char *const nothing[] = {"--json", NULL};
    static const char *const missing_arg[] = {"connections", "get", NULL};
    static const char *const extra_arg[] = {"connections", "get", "a", "b", NULL};
    static const char *const no_args_cmd[] = {"keys", "list", "extra", NULL};
    static const char *const missing_required[] = {"connections", "create", "x", NULL};
    static const char *const missing_value[] = {"connections", "create", "x", "--type", NULL};
    static const char *const unknown_opt[] = {"connections", "list", "--frob", NULL};
    static const char *const opt_before_cmd[] = {"connections", "--force", "delete", "x", NULL};
    static const char *const flag_value[] = {"connections", "delete", "x", "--force=yes", NULL};
    static const char *const bad_choice[] = {"connections",   "import", "f",
                                             "--on-conflict", "merge",  NULL};
    static const char *const bad_shell[] = {"completion", "fish", NULL};
    static const char *const both_required[] = {"projects", "change-connection", "P", "--from", "a",
                                                NULL};
    static const char *const single_dash[] = {"connections", "list", "-json", NULL};

    (void)state;
    expect_usage(unknown_group, "unknown command 'connectionz'");
    expect_usage(unknown_cmd, "unknown command 'connections frobnicate'");
    expect_usage(no_cmd, "'connections' needs a command");
    expect_usage(nothing, "a command is required");
    expect_usage(missing_arg, "expected NAME");
    expect_usage(extra_arg, "too many arguments");
    expect_usage(no_args_cmd, "takes no argument");
    expect_usage(missing_required, "'--type TYPE' is required");
    expect_usage(missing_value, "needs a value");
    expect_usage(unknown_opt, "unknown option '--frob'");
    expect_usage(opt_before_cmd, "after its name");
    expect_usage(flag_value, "takes no value");
    expect_usage(bad_choice, "fail skip overwrite");
    expect_usage(bad_shell, "not one of: bash zsh");
    expect_usage(both_required, "'--to CONNECTION' is required");
    expect_usage(single_dash, "two dashes");
}

static void test_usage_errors_never_quote_a_stray_value(void **state)
{
    static const char *const extra[] = {"users", "create", "bob", "hunter2-pw", NULL};
    static const char *const single_dash[] = {"users", "create", "bob", "-password=hunter3-pw",
                                              NULL};
    struct cli_args a;
    struct captured cap;

    (void)state;
    assert_int_equal(parse(&a, &cap, extra), CLI_PARSE_USAGE);
    assert_null(strstr(cap.text, "hunter2"));
    cli_args_free(&a);
    free(cap.text);
    assert_int_equal(parse(&a, &cap, single_dash), CLI_PARSE_USAGE);
    assert_non_null(strstr(cap.text, "'-password'"));
    assert_null(strstr(cap.text, "hunter3"));
    cli_args_free(&a);
    free(cap.text);
}

static void test_hint_names_the_command_help(void **state)
{
    static const char *const args[] = {"connections", "revert", "x", NULL};
    struct cli_args a;
    struct captured cap;

    (void)state;
    assert_int_equal(parse(&a, &cap, args), CLI_PARSE_USAGE);
    assert_non_null(strstr(cap.text, "hint: run 'switchboard connections revert --help'"));
    cli_args_free(&a);
    free(cap.text);
}

static void test_help_wins_over_errors_and_names_its_target(void **state)
{
    static const char *const cmd_help[] = {"connections", "create", "--help", NULL};
    static const char *const group_help[] = {"users", "-h", NULL};
    static const char *const top_help[] = {"--help", NULL};
    static const char *const help_after_error[] = {"connections", "get",    "a", "b",
                                                   "--bogus",     "--help", NULL};
    struct cli_args a;
    struct captured cap;

    (void)state;
    assert_int_equal(parse(&a, &cap, cmd_help), CLI_PARSE_HELP);
    assert_string_equal(a.cmd->name, "create"); /* --type is required, but help was asked */
    assert_string_equal(cap.text, "");
    cli_args_free(&a);
    free(cap.text);

    assert_int_equal(parse(&a, &cap, group_help), CLI_PARSE_HELP);
    assert_null(a.cmd);
    assert_string_equal(a.group, "users");
    cli_args_free(&a);
    free(cap.text);

    assert_int_equal(parse(&a, &cap, top_help), CLI_PARSE_HELP);
    assert_null(a.group);
    cli_args_free(&a);
    free(cap.text);

    assert_int_equal(parse(&a, &cap, help_after_error), CLI_PARSE_HELP);
    assert_string_equal(a.cmd->name, "get");
    assert_string_equal(cap.text, "");
    cli_args_free(&a);
    free(cap.text);
}

static void test_every_command_of_the_issue_parses(void **state)
{
    static const char *const lines[][8] = {
        {"connections", "list", NULL},
        {"connections", "get", "n", NULL},
        {"connections", "set", "n", "f.json", NULL},
        {"connections", "edit", "n", NULL},
        {"connections", "test", "n", NULL},
        {"connections", "info", "n", "--project", "P", NULL},
        {"connections", "usages", "n", NULL},
        {"connections", "history", "n", NULL},
        {"connections", "revert", "n", "3", NULL},
        {"connections", "import", "f.json", "--dry-run", NULL},
        {"keys", "create", "--admin", "--group", "g", NULL},
        {"keys", "delete", "id", NULL},
        {"users", "create", "u", "--password-stdin", "--group", "g", NULL},
        {"users", "delete", "u", NULL},
        {"groups", "list", NULL},
        {"groups", "create", "g", "--admin", NULL},
        {"groups", "delete", "g", NULL},
        {"projects", "change-connection", "P", "--from", "a", "--to", "b", NULL},
        {"completion", "bash", NULL},
    };
    struct cli_args a;
    struct captured cap;

    (void)state;
    for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
        if (parse(&a, &cap, lines[i]) != CLI_PARSE_RUN)
            fail_msg("'%s %s' did not parse: %s", lines[i][0], lines[i][1], cap.text);
        assert_non_null(a.cmd->run);
        cli_args_free(&a);
        free(cap.text);
    }
}

static void test_cli_handles_its_groups_and_global_options_only(void **state)
{
    (void)state;
    assert_true(cli_handles("connections"));
    assert_true(cli_handles("keys"));
    assert_true(cli_handles("completion"));
    assert_true(cli_handles("--url"));
    assert_true(cli_handles("--api-key=x"));
    assert_false(cli_handles("--help")); /* main's own */
    assert_false(cli_handles("serve"));
    assert_false(cli_handles("admin"));
    assert_false(cli_handles("--urlx"));
}

/* ---- settings and the profile file ---- */

static char home[64];

static void write_config(const char *text)
{
    char path[256];
    FILE *f;

    snprintf(path, sizeof(path), "%s/.config", home);
    mkdir(path, 0700);
    snprintf(path, sizeof(path), "%s/.config/switchboard", home);
    mkdir(path, 0700);
    snprintf(path, sizeof(path), "%s/.config/switchboard/config", home);
    f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static int settings_setup(void **state)
{
    (void)state;
    snprintf(home, sizeof(home), "/tmp/switchboard-cli-test-XXXXXX");
    if (!mkdtemp(home))
        return -1;
    setenv("HOME", home, 1);
    unsetenv("SWITCHBOARD_URL");
    unsetenv("SWITCHBOARD_API_KEY");
    return 0;
}

static int settings_teardown(void **state)
{
    char cmd[128];

    (void)state;
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", home);
    unsetenv("SWITCHBOARD_URL");
    unsetenv("SWITCHBOARD_API_KEY");
    return system(cmd) == 0 ? 0 : -1;
}

/* Resolves the settings of ARGS; returns the result code, messages in CAP. */
static int resolve(const char *const *args, struct cli_settings *s, struct cli_profile *p,
                   struct cli_args *a, struct captured *cap)
{
    struct captured parse_cap;
    int rc;

    assert_int_equal(parse(a, &parse_cap, args), CLI_PARSE_RUN);
    free(parse_cap.text);
    capture_start(cap);
    rc = cli_profile_resolve(a, true, p, s, cap->f);
    capture_end(cap);
    return rc;
}

static void test_precedence_flag_over_env_over_profile_over_default(void **state)
{
    static const char *const plain[] = {"keys", "list", NULL};
    static const char *const flags[] = {"keys",      "list",    "--url", "http://flag:1",
                                        "--api-key", "flagkey", NULL};
    struct cli_settings s;
    struct cli_profile p;
    struct cli_args a;
    struct captured cap;

    (void)state;
    /* nothing but a key in the environment: the default URL */
    setenv("SWITCHBOARD_API_KEY", "envkey", 1);
    assert_int_equal(resolve(plain, &s, &p, &a, &cap), 0);
    assert_string_equal(s.url, CLI_DEFAULT_URL);
    assert_string_equal(s.api_key, "envkey");
    cli_profile_free(&p);
    cli_args_free(&a);
    free(cap.text);

    /* the profile fills what the environment does not give */
    write_config("url = http://profile:1\napi_key = profilekey\n");
    assert_int_equal(resolve(plain, &s, &p, &a, &cap), 0);
    assert_string_equal(s.url, "http://profile:1");
    assert_string_equal(s.api_key, "envkey");
    assert_string_equal(s.key_origin, "SWITCHBOARD_API_KEY");
    cli_profile_free(&p);
    cli_args_free(&a);
    free(cap.text);

    setenv("SWITCHBOARD_URL", "http://env:1", 1);
    assert_int_equal(resolve(plain, &s, &p, &a, &cap), 0);
    assert_string_equal(s.url, "http://env:1");
    cli_profile_free(&p);
    cli_args_free(&a);
    free(cap.text);

    assert_int_equal(resolve(flags, &s, &p, &a, &cap), 0);
    assert_string_equal(s.url, "http://flag:1");
    assert_string_equal(s.api_key, "flagkey");
    cli_profile_free(&p);
    cli_args_free(&a);
    free(cap.text);

    unsetenv("SWITCHBOARD_API_KEY");
    unsetenv("SWITCHBOARD_URL");
    assert_int_equal(resolve(plain, &s, &p, &a, &cap), 0);
    assert_string_equal(s.api_key, "profilekey");
    cli_profile_free(&p);
    cli_args_free(&a);
    free(cap.text);
}

static void test_profile_sections_quotes_and_comments(void **state)
{
    static const char *const prod[] = {"keys", "list", "--profile", "prod", NULL};
    static const char *const plain[] = {"keys", "list", NULL};
    struct cli_settings s;
    struct cli_profile p;
    struct cli_args a;
    struct captured cap;

    (void)state;
    write_config("# a comment\n"
                 "; another\n"
                 "[default]\n"
                 "url = http://default:1\n"
                 "api_key = defaultkey\n"
                 "\n"
                 "[ prod ]\n"
                 "  url=https://prod:443  \n"
                 "api_key = \"prod key\"\n"
                 "ca_file = /etc/ca.pem\n"
                 "insecure = yes\n");
    assert_int_equal(resolve(prod, &s, &p, &a, &cap), 0);
    assert_string_equal(s.url, "https://prod:443");
    assert_string_equal(s.api_key, "prod key");
    assert_string_equal(s.ca_file, "/etc/ca.pem");
    assert_true(s.insecure);
    cli_profile_free(&p);
    cli_args_free(&a);
    free(cap.text);

    assert_int_equal(resolve(plain, &s, &p, &a, &cap), 0);
    assert_string_equal(s.url, "http://default:1");
    assert_string_equal(s.api_key, "defaultkey");
    assert_false(s.insecure);
    cli_profile_free(&p);
    cli_args_free(&a);
    free(cap.text);
}

static void test_profile_and_settings_errors_are_usage_errors(void **state)
{
    static const char *const missing[] = {"keys", "list", "--profile", "nope", NULL};
    static const char *const plain[] = {"keys", "list", NULL};
    static const char *const ftp[] = {"keys", "list", "--url", "ftp://h", "--api-key", "k", NULL};
    struct cli_settings s;
    struct cli_profile p;
    struct cli_args a;
    struct captured cap;

    (void)state;
    write_config("[default]\nurl = http://h:1\n");
    assert_int_equal(resolve(missing, &s, &p, &a, &cap), CLI_EXIT_USAGE);
    assert_non_null(strstr(cap.text, "profile 'nope' not found"));
    assert_non_null(strstr(cap.text, "hint: "));
    cli_profile_free(&p);
    cli_args_free(&a);
    free(cap.text);

    /* no key anywhere */
    assert_int_equal(resolve(plain, &s, &p, &a, &cap), CLI_EXIT_USAGE);
    assert_non_null(strstr(cap.text, "no API key"));
    cli_profile_free(&p);
    cli_args_free(&a);
    free(cap.text);

    assert_int_equal(resolve(ftp, &s, &p, &a, &cap), CLI_EXIT_USAGE);
    assert_non_null(strstr(cap.text, "must start with http:// or https://"));
    cli_profile_free(&p);
    cli_args_free(&a);
    free(cap.text);

    /* a malformed line is reported by number, never by content (it may hold a key) */
    write_config("[default]\napi_key = k\nthis-is-secret-text\n");
    assert_int_equal(resolve(plain, &s, &p, &a, &cap), CLI_EXIT_USAGE);
    assert_non_null(strstr(cap.text, "config:3:"));
    assert_null(strstr(cap.text, "this-is-secret-text"));
    cli_profile_free(&p);
    cli_args_free(&a);
    free(cap.text);

    write_config("[other]\napi-kee = k\n");
    assert_int_equal(resolve(plain, &s, &p, &a, &cap), CLI_EXIT_USAGE);
    assert_non_null(strstr(cap.text, "unknown setting 'api-kee'"));
    cli_profile_free(&p);
    cli_args_free(&a);
    free(cap.text);
}

/* ---- completion ---- */

static void test_completion_script_comes_from_the_table(void **state)
{
    struct captured cap;

    (void)state;
    capture_start(&cap);
    cli_print_bash_completion(cap.f);
    capture_end(&cap);
    assert_non_null(strstr(cap.text, "complete -F _switchboard switchboard"));
    assert_non_null(strstr(cap.text, "list get create set edit delete test info usages history "
                                     "revert export import"));
    assert_non_null(strstr(cap.text, "change-connection"));
    assert_non_null(strstr(cap.text, "--on-conflict) COMPREPLY=($(compgen -W \"fail skip "
                                     "overwrite\""));
    assert_non_null(strstr(cap.text, "--output|-o) COMPREPLY=($(compgen -f"));
    assert_non_null(strstr(cap.text, "--with-secrets"));
    free(cap.text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_create_collects_arguments_and_repeated_options),
        cmocka_unit_test(test_global_options_are_accepted_anywhere),
        cmocka_unit_test(test_short_option_and_double_dash),
        cmocka_unit_test(test_stdin_dash_is_an_argument),
        cmocka_unit_test(test_usage_errors_have_a_message_and_a_hint),
        cmocka_unit_test(test_usage_errors_never_quote_a_stray_value),
        cmocka_unit_test(test_hint_names_the_command_help),
        cmocka_unit_test(test_help_wins_over_errors_and_names_its_target),
        cmocka_unit_test(test_every_command_of_the_issue_parses),
        cmocka_unit_test(test_cli_handles_its_groups_and_global_options_only),
        cmocka_unit_test_setup_teardown(test_precedence_flag_over_env_over_profile_over_default,
                                        settings_setup, settings_teardown),
        cmocka_unit_test_setup_teardown(test_profile_sections_quotes_and_comments, settings_setup,
                                        settings_teardown),
        cmocka_unit_test_setup_teardown(test_profile_and_settings_errors_are_usage_errors,
                                        settings_setup, settings_teardown),
        cmocka_unit_test(test_completion_script_comes_from_the_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
