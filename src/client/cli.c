/* SPDX-License-Identifier: Apache-2.0 */
/* The CLI's command table and what it drives: argument parsing, --help for every command and
 * group, and the bash completion script. Each row names a command, its arguments, its options
 * and the function that runs it; nothing else in the program knows how a command is spelled.
 * Global options (--url, --api-key, --profile, --ca-file, --insecure, --json, --help) may
 * appear anywhere; a command's own options come after its name. */
#include <assert.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client/cli.h"
#include "client/cli_profile.h"
#include "core/secrets.h"
#include "util/mem.h"

/* ---- options ---- */

/* one row per option and per command reads better than what clang-format would make */
/* clang-format off */
static const struct cli_option global_options[] = {
    {.name = "url", .type = CLI_VALUE, .metavar = "URL",
     .help = "server URL (else SWITCHBOARD_URL, the profile, " CLI_DEFAULT_URL ")"},
    {.name = "api-key", .type = CLI_VALUE, .metavar = "KEY",
     .help = "API key (else SWITCHBOARD_API_KEY, the profile)"},
    {.name = "profile", .type = CLI_VALUE, .metavar = "NAME",
     .help = "section of ~/.config/switchboard/config to use (default: default)"},
    {.name = "ca-file", .type = CLI_VALUE, .metavar = "FILE", .is_file = true,
     .help = "PEM file of the CAs to verify an https server with"},
    {.name = "insecure", .type = CLI_FLAG, .help = "do not verify the server's TLS certificate"},
    {.name = "json", .type = CLI_FLAG, .help = "print the server's JSON instead of text"},
    {.name = "help", .short_name = 'h', .type = CLI_FLAG, .help = "show help and exit"},
};
#define N_GLOBAL_OPTIONS (sizeof(global_options) / sizeof(global_options[0]))

static const struct cli_option opt_type_filter = {
    .name = "type", .type = CLI_VALUE, .metavar = "TYPE",
    .help = "only connections of this type"};
static const struct cli_option opt_type = {
    .name = "type", .type = CLI_VALUE, .metavar = "TYPE", .required = true,
    .help = "connection type (PostgreSQL, MySql, Filesystem...; see /connection-types)"};
static const struct cli_option opt_param = {
    .name = "param", .type = CLI_LIST, .metavar = "KEY=VALUE",
    .help = "a parameter, VALUE a string (repeatable)"};
static const struct cli_option opt_param_json = {
    .name = "param-json", .type = CLI_LIST, .metavar = "KEY=JSON",
    .help = "a parameter whose value is JSON: a number, a list... (repeatable)"};
static const struct cli_option opt_usable_by = {
    .name = "usable-by", .type = CLI_LIST, .metavar = "GROUP",
    .help = "only members of GROUP may use it (repeatable; usableBy ALLOWED)"};
static const struct cli_option opt_description = {
    .name = "description", .type = CLI_VALUE, .metavar = "TEXT", .help = "a description"};
static const struct cli_option opt_force = {
    .name = "force", .type = CLI_FLAG, .help = "delete even when datasets use it"};
static const struct cli_option opt_project = {
    .name = "project", .type = CLI_VALUE, .metavar = "KEY",
    .help = "expand variables with those of project KEY"};
static const struct cli_option opt_with_secrets = {
    .name = "with-secrets", .type = CLI_FLAG,
    .help = "write secrets in plaintext (readable by any server; the file is made 0600)"};
static const struct cli_option opt_output = {
    .name = "output", .short_name = 'o', .type = CLI_VALUE, .metavar = "FILE", .is_file = true,
    .help = "write to FILE (mode 0600) instead of standard output"};
static const struct cli_option opt_on_conflict = {
    .name = "on-conflict", .type = CLI_VALUE, .metavar = "MODE",
    .choices = "fail skip overwrite",
    .help = "when a connection exists: fail (the default: nothing is imported), skip, overwrite"};
static const struct cli_option opt_all = {
    .name = "all", .type = CLI_FLAG, .help = "test every connection the key may use"};
static const struct cli_option opt_quiet = {
    .name = "quiet", .short_name = 'q', .type = CLI_FLAG,
    .help = "no progress line, even on a terminal"};
static const struct cli_option opt_dry_run = {
    .name = "dry-run", .type = CLI_FLAG, .help = "report what would change, change nothing"};
static const struct cli_option opt_label = {
    .name = "label", .type = CLI_VALUE, .metavar = "TEXT", .help = "a label"};
static const struct cli_option opt_key_admin = {
    .name = "admin", .type = CLI_FLAG, .help = "the key has admin rights"};
static const struct cli_option opt_key_group = {
    .name = "group", .type = CLI_LIST, .metavar = "GROUP",
    .help = "the key acts as a member of GROUP (repeatable)"};
static const struct cli_option opt_password = {
    .name = "password", .type = CLI_VALUE, .metavar = "PASSWORD",
    .help = "the password (visible to local users: prefer --password-stdin)"};
static const struct cli_option opt_password_stdin = {
    .name = "password-stdin", .type = CLI_FLAG,
    .help = "read the password from the first line of standard input"};
static const struct cli_option opt_display_name = {
    .name = "display-name", .type = CLI_VALUE, .metavar = "TEXT", .help = "the display name"};
static const struct cli_option opt_email = {
    .name = "email", .type = CLI_VALUE, .metavar = "ADDRESS", .help = "the e-mail address"};
static const struct cli_option opt_user_group = {
    .name = "group", .type = CLI_LIST, .metavar = "GROUP",
    .help = "the user belongs to GROUP (repeatable)"};
static const struct cli_option opt_user_profile = {
    .name = "user-profile", .type = CLI_VALUE, .metavar = "PROFILE",
    .help = "the DSS user profile (default DATA_SCIENTIST)"};
static const struct cli_option opt_group_admin = {
    .name = "admin", .type = CLI_FLAG, .help = "members of the group are admins"};
static const struct cli_option opt_from = {
    .name = "from", .type = CLI_VALUE, .metavar = "CONNECTION", .required = true,
    .help = "the connection the datasets use now"};
static const struct cli_option opt_to = {
    .name = "to", .type = CLI_VALUE, .metavar = "CONNECTION", .required = true,
    .help = "the connection they should use"};
static const struct cli_option opt_dataset = {
    .name = "dataset", .type = CLI_LIST, .metavar = "NAME",
    .help = "only this dataset (repeatable; default: every dataset on --from)"};

#define OPTS(...) ((const struct cli_option *const[]){__VA_ARGS__, NULL})

/* ---- commands ---- */

static int run_completion(struct cli_ctx *ctx);

static const struct {
    const char *name, *summary;
} groups[] = {
    {"connections", "connection definitions: list, create, edit, test, export, import..."},
    {"keys", "global API keys"},
    {"users", "users"},
    {"groups", "groups"},
    {"projects", "projects: move datasets to another connection"},
    {"completion", "print a shell completion script"},
};
#define N_GROUPS (sizeof(groups) / sizeof(groups[0]))

static const struct cli_command commands[] = {
    {"connections", "list", "", 0, 0, NULL, false, true, "list the connections",
     OPTS(&opt_type_filter), cli_connections_list},
    {"connections", "get", "NAME", 1, 1, NULL, false, true,
     "print a definition (secrets in encrypted form)", NULL, cli_connections_get},
    {"connections", "create", "NAME", 1, 1, NULL, false, true, "create a connection",
     OPTS(&opt_type, &opt_param, &opt_param_json, &opt_usable_by, &opt_description),
     cli_connections_create},
    {"connections", "set", "NAME FILE|-", 2, 2, NULL, true, true,
     "replace a definition with the JSON in FILE (or standard input)", NULL,
     cli_connections_set},
    {"connections", "edit", "NAME", 1, 1, NULL, false, true,
     "edit a definition in $EDITOR and save it, unless someone changed it meanwhile", NULL,
     cli_edit_connection},
    {"connections", "delete", "NAME", 1, 1, NULL, false, true, "delete a connection",
     OPTS(&opt_force), cli_connections_delete},
    {"connections", "test", "NAME|--all", 0, 1, NULL, false, true,
     "test a connection live, or --all of them (exit 0 if every one works, 1 if not)",
     OPTS(&opt_all, &opt_type_filter, &opt_quiet), cli_connections_test},
    {"connections", "info", "NAME", 1, 1, NULL, false, true,
     "print the resolved details, plaintext credentials included", OPTS(&opt_project),
     cli_connections_info},
    {"connections", "usages", "NAME", 1, 1, NULL, false, true,
     "list the datasets that use a connection", NULL, cli_connections_usages},
    {"connections", "history", "NAME", 1, 1, NULL, false, true, "list the versions of a connection",
     NULL, cli_connections_history},
    {"connections", "revert", "NAME VERSION", 2, 2, NULL, false, true,
     "save a new version equal to an older one", NULL, cli_connections_revert},
    {"connections", "export", "", 0, 0, NULL, false, true,
     "write every connection as {\"connections\": [...]}",
     OPTS(&opt_with_secrets, &opt_output), cli_transfer_export},
    {"connections", "import", "FILE|-", 1, 1, NULL, true, true,
     "create or update the connections of an export, all or nothing",
     OPTS(&opt_on_conflict, &opt_dry_run, &opt_quiet), cli_transfer_import},
    {"keys", "list", "", 0, 0, NULL, false, true, "list the global API keys", NULL,
     cli_admin_keys_list},
    {"keys", "create", "", 0, 0, NULL, false, true,
     "create a global API key and print it (shown once)",
     OPTS(&opt_label, &opt_description, &opt_key_admin, &opt_key_group), cli_admin_keys_create},
    {"keys", "delete", "ID", 1, 1, NULL, false, true, "delete a global API key", NULL,
     cli_admin_keys_delete},
    {"users", "list", "", 0, 0, NULL, false, true, "list the users", NULL, cli_admin_users_list},
    {"users", "create", "LOGIN", 1, 1, NULL, false, true, "create a user",
     OPTS(&opt_password, &opt_password_stdin, &opt_display_name, &opt_email, &opt_user_group,
          &opt_user_profile),
     cli_admin_users_create},
    {"users", "delete", "LOGIN", 1, 1, NULL, false, true, "delete a user", NULL,
     cli_admin_users_delete},
    {"groups", "list", "", 0, 0, NULL, false, true, "list the groups", NULL,
     cli_admin_groups_list},
    {"groups", "create", "NAME", 1, 1, NULL, false, true, "create a group",
     OPTS(&opt_description, &opt_group_admin), cli_admin_groups_create},
    {"groups", "delete", "NAME", 1, 1, NULL, false, true, "delete a group", NULL,
     cli_admin_groups_delete},
    {"projects", "change-connection", "KEY", 1, 1, NULL, false, true,
     "move the datasets of a project from one connection to another, all or nothing",
     OPTS(&opt_from, &opt_to, &opt_dataset, &opt_dry_run), cli_admin_change_connection},
    {"completion", NULL, "SHELL", 1, 1, "bash zsh", false, false,
     "print the completion script for SHELL (bash or zsh): source <(switchboard completion bash)",
     NULL, run_completion},
};
/* clang-format on */
#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

/* ---- parsing ---- */

static size_t count_options(const struct cli_command *cmd)
{
    size_t n = 0;

    while (cmd->options && cmd->options[n])
        n++;
    assert(n <= CLI_MAX_OPTS && cmd->max_args <= CLI_MAX_ARGS); /* the table fits cli_args */
    return n;
}

static const char *group_named(const char *word)
{
    for (size_t i = 0; i < N_GROUPS; i++)
        if (strcmp(groups[i].name, word) == 0)
            return groups[i].name;
    return NULL;
}

static const struct cli_command *command_named(const char *group, const char *name)
{
    for (size_t i = 0; i < N_COMMANDS; i++)
        if (strcmp(commands[i].group, group) == 0 &&
            ((name == NULL && commands[i].name == NULL) ||
             (name && commands[i].name && strcmp(commands[i].name, name) == 0)))
            return &commands[i];
    return NULL;
}

/* "connections create", or "completion" */
static void command_title(const struct cli_command *cmd, char *buf, size_t size)
{
    snprintf(buf, size, "%s%s%s", cmd->group, cmd->name ? " " : "", cmd->name ? cmd->name : "");
}

static bool is_choice(const char *choices, const char *word)
{
    size_t n = strlen(word);

    for (const char *p = choices; *p;) {
        size_t len = strcspn(p, " ");
        if (len == n && strncmp(p, word, n) == 0)
            return true;
        p += len;
        while (*p == ' ')
            p++;
    }
    return false;
}

/* Prints a usage error and its hint on ERRS unless ERRS is NULL (--help was given, errors are
 * not worth reporting). */
static void parse_error(FILE *errs, const struct cli_args *a, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void parse_error(FILE *errs, const struct cli_args *a, const char *fmt, ...)
{
    char title[64] = "";
    va_list ap;

    if (!errs)
        return;
    fputs("switchboard: ", errs);
    va_start(ap, fmt);
    vfprintf(errs, fmt, ap);
    va_end(ap);
    fputc('\n', errs);
    if (a->cmd)
        command_title(a->cmd, title, sizeof(title));
    else if (a->group)
        snprintf(title, sizeof(title), "%s", a->group);
    fprintf(errs, "hint: run 'switchboard %s%s--help'\n", title, *title ? " " : "");
}

static const struct cli_option *find_option(const struct cli_option *const *list, size_t n,
                                            const char *name, size_t len, char short_name,
                                            size_t *index)
{
    for (size_t i = 0; i < n; i++) {
        const struct cli_option *o = list[i];
        if ((short_name && o->short_name == short_name) ||
            (!short_name && strlen(o->name) == len && strncmp(o->name, name, len) == 0)) {
            *index = i;
            return o;
        }
    }
    return NULL;
}

static void store_global(struct cli_args *a, const struct cli_option *o, const char *value)
{
    if (strcmp(o->name, "url") == 0)
        a->url = value;
    else if (strcmp(o->name, "api-key") == 0)
        a->api_key = value;
    else if (strcmp(o->name, "profile") == 0)
        a->profile = value;
    else if (strcmp(o->name, "ca-file") == 0)
        a->ca_file = value;
    else if (strcmp(o->name, "insecure") == 0)
        a->insecure = true;
    else if (strcmp(o->name, "json") == 0)
        a->json = true;
    else if (strcmp(o->name, "help") == 0)
        a->help = true;
}

static void store_option(struct cli_value *v, const struct cli_option *o, const char *value)
{
    v->set = true;
    if (o->type == CLI_VALUE) {
        v->value = value;
        v->n = 1;
    } else if (o->type == CLI_LIST) {
        v->values = xrealloc(v->values, (v->n + 1) * sizeof(*v->values));
        v->values[v->n++] = value;
        v->value = v->values[0];
    }
}

/* Parses the option at argv[*i] (taking its value from the next word if needed). */
static bool parse_option(struct cli_args *a, int argc, char **argv, int *i, FILE *errs)
{
    const char *arg = argv[*i], *name, *eq, *value = NULL;
    const struct cli_option *o;
    const struct cli_option *globals[N_GLOBAL_OPTIONS];
    size_t len, index;
    char short_name = 0;
    bool global = true;

    if (arg[1] == '-') {
        name = arg + 2;
        eq = strchr(name, '=');
        len = eq ? (size_t)(eq - name) : strlen(name);
        if (eq)
            value = eq + 1;
    } else {
        if (arg[2] != '\0') {
            /* never the part after '=': it may be a value, and values may be secrets */
            parse_error(errs, a, "unknown option '%.*s' (write long options with two dashes)",
                        (int)strcspn(arg, "="), arg);
            return false;
        }
        name = arg + 1;
        len = 1;
        short_name = arg[1];
    }
    for (size_t k = 0; k < N_GLOBAL_OPTIONS; k++)
        globals[k] = &global_options[k];
    o = find_option(globals, N_GLOBAL_OPTIONS, name, len, short_name, &index);
    if (!o && a->cmd) {
        global = false;
        o = find_option(a->cmd->options, count_options(a->cmd), name, len, short_name, &index);
    }
    if (!o) {
        parse_error(errs, a, "unknown option '%.*s%.*s'%s", short_name ? 1 : 2, "--", (int)len,
                    name, a->cmd ? "" : " (a command's options go after its name)");
        return false;
    }
    if (o->type == CLI_FLAG) {
        if (value) {
            parse_error(errs, a, "option '--%s' takes no value", o->name);
            return false;
        }
    } else if (!value) {
        if (*i + 1 >= argc) {
            parse_error(errs, a, "option '--%s' needs a value (%s)", o->name, o->metavar);
            return false;
        }
        value = argv[++*i];
    }
    if (o->choices && !is_choice(o->choices, value)) {
        parse_error(errs, a, "option '--%s' must be one of: %s", o->name, o->choices);
        return false;
    }
    if (global)
        store_global(a, o, value);
    else
        store_option(&a->opts[index], o, value);
    return true;
}

static bool help_requested(int argc, char **argv)
{
    for (int i = 0; i < argc && strcmp(argv[i], "--") != 0; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            return true;
    return false;
}

static bool parse_word(struct cli_args *a, const char *word, FILE *errs)
{
    if (!a->group) {
        if (!(a->group = group_named(word))) {
            parse_error(errs, a, "unknown command '%s'", word);
            return false;
        }
        a->cmd = command_named(a->group, NULL); /* one-word commands */
        return true;
    }
    if (!a->cmd) {
        if (!(a->cmd = command_named(a->group, word))) {
            parse_error(errs, a, "unknown command '%s %s'", a->group, word);
            return false;
        }
        return true;
    }
    if (a->n_args >= a->cmd->max_args) {
        /* the extra word is not quoted: it may be a misplaced password */
        if (a->cmd->max_args == 0)
            parse_error(errs, a, "'%s %s' takes no argument", a->cmd->group, a->cmd->name);
        else
            parse_error(errs, a, "too many arguments (expected %s)", a->cmd->arg_usage);
        return false;
    }
    a->args[a->n_args++] = word;
    return true;
}

static bool check_complete(struct cli_args *a, FILE *errs)
{
    const struct cli_command *cmd = a->cmd;
    size_t n;

    if (!a->group) {
        parse_error(errs, a, "a command is required");
        return false;
    }
    if (!cmd) {
        parse_error(errs, a, "'%s' needs a command", a->group);
        return false;
    }
    if (a->n_args < cmd->min_args) {
        parse_error(errs, a, "missing argument: expected %s", cmd->arg_usage);
        return false;
    }
    if (cmd->arg_choices && a->n_args > 0 && !is_choice(cmd->arg_choices, a->args[0])) {
        parse_error(errs, a, "'%s' is not one of: %s", a->args[0], cmd->arg_choices);
        return false;
    }
    n = count_options(cmd);
    for (size_t i = 0; i < n; i++)
        if (cmd->options[i]->required && !a->opts[i].set) {
            parse_error(errs, a, "option '--%s %s' is required", cmd->options[i]->name,
                        cmd->options[i]->metavar);
            return false;
        }
    return true;
}

enum cli_parse_result cli_parse(int argc, char **argv, struct cli_args *a, FILE *errs)
{
    bool help = help_requested(argc, argv), options_done = false;
    FILE *report = help ? NULL : errs;

    memset(a, 0, sizeof(*a));
    for (int i = 0; i < argc; i++) {
        const char *arg = argv[i];
        bool ok;

        if (!options_done && strcmp(arg, "--") == 0) {
            options_done = true;
            continue;
        }
        if (!options_done && arg[0] == '-' && arg[1] != '\0')
            ok = parse_option(a, argc, argv, &i, report);
        else
            ok = parse_word(a, arg, report);
        if (!ok)
            return help ? CLI_PARSE_HELP : CLI_PARSE_USAGE;
    }
    if (help) {
        a->help = true;
        return CLI_PARSE_HELP;
    }
    return check_complete(a, errs) ? CLI_PARSE_RUN : CLI_PARSE_USAGE;
}

void cli_args_free(struct cli_args *a)
{
    for (size_t i = 0; i < CLI_MAX_OPTS; i++)
        free(a->opts[i].values);
    memset(a, 0, sizeof(*a));
}

const struct cli_value *cli_opt(const struct cli_args *a, const char *name)
{
    size_t n;

    if (!a->cmd)
        return NULL;
    n = count_options(a->cmd);
    for (size_t i = 0; i < n; i++)
        if (strcmp(a->cmd->options[i]->name, name) == 0)
            return &a->opts[i];
    return NULL;
}

bool cli_flag(const struct cli_args *a, const char *name)
{
    const struct cli_value *v = cli_opt(a, name);
    return v && v->set;
}

const char *cli_opt_value(const struct cli_args *a, const char *name)
{
    const struct cli_value *v = cli_opt(a, name);
    return v && v->set ? v->value : NULL;
}

bool cli_handles(const char *word)
{
    if (group_named(word))
        return true;
    if (strncmp(word, "--", 2) != 0)
        return false;
    for (size_t i = 0; i < N_GLOBAL_OPTIONS; i++) {
        size_t len = strlen(global_options[i].name);
        if (strcmp(global_options[i].name, "help") != 0 &&
            strncmp(word + 2, global_options[i].name, len) == 0 &&
            (word[2 + len] == '\0' || word[2 + len] == '='))
            return true;
    }
    return false;
}

/* ---- help ---- */

static void print_option(FILE *out, const struct cli_option *o)
{
    char left[64];

    if (o->short_name)
        snprintf(left, sizeof(left), "-%c, --%s%s%s", o->short_name, o->name, o->metavar ? " " : "",
                 o->metavar ? o->metavar : "");
    else
        snprintf(left, sizeof(left), "--%s%s%s", o->name, o->metavar ? " " : "",
                 o->metavar ? o->metavar : "");
    fprintf(out, "  %-26s %s%s\n", left, o->help, o->required ? " (required)" : "");
}

static void print_global_options(FILE *out)
{
    fputs("global options (anywhere on the line):\n", out);
    for (size_t i = 0; i < N_GLOBAL_OPTIONS; i++)
        print_option(out, &global_options[i]);
}

/* "switchboard connections create NAME --type TYPE [options]" */
static void print_synopsis(FILE *out, const struct cli_command *cmd)
{
    size_t n = count_options(cmd);
    bool optional = false;
    char title[64];

    command_title(cmd, title, sizeof(title));
    fprintf(out, "switchboard %s%s%s", title, *cmd->arg_usage ? " " : "", cmd->arg_usage);
    for (size_t i = 0; i < n; i++) {
        if (cmd->options[i]->required)
            fprintf(out, " --%s %s", cmd->options[i]->name, cmd->options[i]->metavar);
        else
            optional = true;
    }
    fputs(optional ? " [options]\n" : "\n", out);
}

static void print_command_help(FILE *out, const struct cli_command *cmd)
{
    size_t n = count_options(cmd);

    fputs("usage: ", out);
    print_synopsis(out, cmd);
    fprintf(out, "\n%s\n\n", cmd->summary);
    if (n) {
        fputs("options:\n", out);
        for (size_t i = 0; i < n; i++)
            print_option(out, cmd->options[i]);
        fputc('\n', out);
    }
    if (cmd->needs_server)
        print_global_options(out);
}

static void print_group_help(FILE *out, const char *group)
{
    fprintf(out, "usage: switchboard %s COMMAND [options]\n\ncommands:\n", group);
    for (size_t i = 0; i < N_COMMANDS; i++)
        if (strcmp(commands[i].group, group) == 0)
            fprintf(out, "  %-18s %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "\nrun 'switchboard %s COMMAND --help' for a command's options\n", group);
}

void cli_print_usage(FILE *out)
{
    fputs("client commands (talk to a running server):\n", out);
    for (size_t i = 0; i < N_COMMANDS; i++) {
        fputs("  ", out);
        print_synopsis(out, &commands[i]);
    }
    fputs("\n", out);
    print_global_options(out);
    fputs("exit codes: 0 success, 1 refused by the server (or test failed), 2 usage error,\n"
          "3 server unreachable\n",
          out);
}

/* ---- the man page ---- */

/* Writes TEXT for roff: backslashes as \e, hyphens as \-, a leading '.' or '\'' made safe. */
static void roff(FILE *out, const char *text)
{
    if (*text == '.' || *text == '\'')
        fputs("\\&", out);
    for (const char *p = text; *p; p++) {
        if (*p == '\\')
            fputs("\\e", out);
        else if (*p == '-')
            fputs("\\-", out);
        else
            fputc(*p, out);
    }
}

static void roff_option(FILE *out, const struct cli_option *o)
{
    fputs(".TP\n", out);
    if (o->short_name)
        fprintf(out, "\\fB\\-%c\\fR, ", o->short_name);
    fputs("\\fB\\-\\-", out);
    roff(out, o->name);
    fputs("\\fR", out);
    if (o->type != CLI_FLAG) {
        fputs(" \\fI", out);
        roff(out, o->metavar);
        fputs("\\fR", out);
    }
    fputc('\n', out);
    roff(out, o->help);
    if (o->choices) {
        fputs(" (one of: ", out);
        roff(out, o->choices);
        fputc(')', out);
    }
    if (o->type == CLI_LIST)
        fputs("; may be repeated", out);
    fputs("\n", out);
}

void cli_print_roff(FILE *out)
{
    char title[64];

    for (size_t i = 0; i < N_COMMANDS; i++) {
        const struct cli_command *cmd = &commands[i];
        size_t n = count_options(cmd);
        command_title(cmd, title, sizeof(title));
        fputs(".TP\n\\fBswitchboard ", out);
        roff(out, title);
        fputs("\\fR", out);
        if (*cmd->arg_usage) {
            fputs(" \\fI", out);
            roff(out, cmd->arg_usage);
            fputs("\\fR", out);
        }
        fputc('\n', out);
        roff(out, cmd->summary);
        fputs(".\n", out);
        if (n) {
            fputs(".RS\n", out);
            for (size_t k = 0; k < n; k++)
                roff_option(out, cmd->options[k]);
            fputs(".RE\n", out);
        }
    }
}

void cli_print_roff_global_options(FILE *out)
{
    for (size_t i = 0; i < N_GLOBAL_OPTIONS; i++)
        roff_option(out, &global_options[i]);
}

/* ---- bash completion ---- */

/* The option names of LIST (NULL-terminated), each as --name, space-separated. */
static void print_option_words(FILE *out, const struct cli_option *const *list, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (list[i]->short_name)
            fprintf(out, "-%c ", list[i]->short_name);
        fprintf(out, "--%s%s", list[i]->name, i + 1 < n ? " " : "");
    }
}

/* Every option that takes a value, global ones first, once per name (the first one wins: an
 * option's name means the same value everywhere). Returns how many went into OUT. */
static size_t valued_options(const struct cli_option **out, size_t max)
{
    size_t n = 0;

    for (size_t c = 0; c <= N_COMMANDS; c++) {
        size_t count = c == 0 ? N_GLOBAL_OPTIONS : count_options(&commands[c - 1]);
        for (size_t i = 0; i < count; i++) {
            const struct cli_option *o = c == 0 ? &global_options[i] : commands[c - 1].options[i];
            bool seen = o->type == CLI_FLAG;
            for (size_t k = 0; k < n && !seen; k++)
                seen = strcmp(out[k]->name, o->name) == 0;
            if (!seen && n < max)
                out[n++] = o;
        }
    }
    return n;
}

#define MAX_VALUED_OPTIONS 64

/* case patterns completing the value of each option that takes one */
static void print_value_cases(FILE *out)
{
    const struct cli_option *valued[MAX_VALUED_OPTIONS];
    size_t n = valued_options(valued, MAX_VALUED_OPTIONS);

    fputs("    case \"$prev\" in\n", out);
    for (size_t i = 0; i < n; i++) {
        const struct cli_option *o = valued[i];
        fprintf(out, "    --%s", o->name);
        if (o->short_name)
            fprintf(out, "|-%c", o->short_name);
        if (o->is_file)
            fputs(") COMPREPLY=($(compgen -f -- \"$cur\")); return ;;\n", out);
        else if (o->choices)
            fprintf(out, ") COMPREPLY=($(compgen -W \"%s\" -- \"$cur\")); return ;;\n", o->choices);
        else
            fputs(") return ;;\n", out);
    }
    fputs("    esac\n", out);
}

/* The case arms of GROUP's commands, the same in bash and zsh: each sets `opts` (its option
 * words) and `args` ("-f" for files, its choices, or nothing). */
static void print_command_cases(FILE *out, const char *group)
{
    for (size_t c = 0; c < N_COMMANDS; c++) {
        const struct cli_command *cmd = &commands[c];
        if (strcmp(cmd->group, group) != 0)
            continue;
        fprintf(out, "        %s) opts='", cmd->name ? cmd->name : cmd->group);
        print_option_words(out, cmd->options, count_options(cmd));
        fprintf(out, "'; args='%s' ;;\n",
                cmd->args_are_files ? "-f"
                : cmd->arg_choices  ? cmd->arg_choices
                                    : "");
    }
}

void cli_print_bash_completion(FILE *out)
{
    const struct cli_option *globals[N_GLOBAL_OPTIONS], *valued[MAX_VALUED_OPTIONS];
    size_t n_valued;

    for (size_t k = 0; k < N_GLOBAL_OPTIONS; k++)
        globals[k] = &global_options[k];
    fputs("# bash completion for switchboard, generated by 'switchboard completion bash'\n"
          "_switchboard() {\n"
          "    local cur prev group='' cmd='' i w opts='' args=''\n"
          "    cur=\"${COMP_WORDS[COMP_CWORD]}\"\n"
          "    prev=\"${COMP_WORDS[COMP_CWORD-1]}\"\n",
          out);
    print_value_cases(out);
    fputs("    local global_opts='", out);
    print_option_words(out, globals, N_GLOBAL_OPTIONS);
    fputs("'\n"
          "    for ((i = 1; i < COMP_CWORD; i++)); do\n"
          "        w=\"${COMP_WORDS[i]}\"\n"
          "        case \"$w\" in\n"
          "        --*=*) continue ;;\n"
          "        -*)\n"
          "            case \" $_switchboard_valued \" in *\" $w \"*) ((i++)) ;; esac\n"
          "            continue ;;\n"
          "        esac\n"
          "        if [[ -z $group ]]; then group=$w; elif [[ -z $cmd ]]; then cmd=$w; fi\n"
          "    done\n"
          "    if [[ -z $group ]]; then\n"
          "        COMPREPLY=($(compgen -W \"",
          out);
    for (size_t g = 0; g < N_GROUPS; g++)
        fprintf(out, "%s ", groups[g].name);
    fputs("serve admin settings $global_opts\" -- \"$cur\"))\n"
          "        return\n"
          "    fi\n"
          "    case \"$group\" in\n",
          out);
    for (size_t g = 0; g < N_GROUPS; g++) {
        const struct cli_command *one = command_named(groups[g].name, NULL);
        fprintf(out, "    %s)\n", groups[g].name);
        if (one) {
            /* a one-word command: what follows the group are its arguments */
            fputs("        cmd=\"$group\"\n", out);
        } else {
            fputs("        if [[ -z $cmd ]]; then\n            COMPREPLY=($(compgen -W \"", out);
            for (size_t c = 0; c < N_COMMANDS; c++)
                if (strcmp(commands[c].group, groups[g].name) == 0)
                    fprintf(out, "%s ", commands[c].name);
            fputs("$global_opts\" -- \"$cur\"))\n            return\n        fi\n", out);
        }
        fputs("        case \"$cmd\" in\n", out);
        print_command_cases(out, groups[g].name);
        fputs("        esac ;;\n", out);
    }
    fputs("    esac\n"
          "    if [[ $cur == -* ]]; then\n"
          "        COMPREPLY=($(compgen -W \"$opts $global_opts\" -- \"$cur\"))\n"
          "    elif [[ $args == -f ]]; then\n"
          "        COMPREPLY=($(compgen -f -- \"$cur\"))\n"
          "    elif [[ -n $args ]]; then\n"
          "        COMPREPLY=($(compgen -W \"$args\" -- \"$cur\"))\n"
          "    fi\n"
          "}\n"
          "_switchboard_valued='",
          out);
    /* every option that takes a value, so that the word after it is skipped */
    n_valued = valued_options(valued, MAX_VALUED_OPTIONS);
    for (size_t i = 0; i < n_valued; i++) {
        fprintf(out, "--%s ", valued[i]->name);
        if (valued[i]->short_name)
            fprintf(out, "-%c ", valued[i]->short_name);
    }
    fputs("'\n"
          "complete -F _switchboard switchboard\n",
          out);
}

/* ---- zsh completion: the same walk as bash's, with compadd ---- */

void cli_print_zsh_completion(FILE *out)
{
    const struct cli_option *globals[N_GLOBAL_OPTIONS], *valued[MAX_VALUED_OPTIONS];
    size_t n_valued = valued_options(valued, MAX_VALUED_OPTIONS);

    for (size_t k = 0; k < N_GLOBAL_OPTIONS; k++)
        globals[k] = &global_options[k];
    fputs("#compdef switchboard\n"
          "# zsh completion for switchboard, generated by 'switchboard completion zsh'\n"
          "_switchboard() {\n"
          "    local group='' cmd='' i w opts='' args=''\n"
          "    local cur=${words[CURRENT]} prev=${words[CURRENT-1]}\n"
          "    local valued=' ",
          out);
    for (size_t i = 0; i < n_valued; i++) {
        fprintf(out, "--%s ", valued[i]->name);
        if (valued[i]->short_name)
            fprintf(out, "-%c ", valued[i]->short_name);
    }
    fputs("'\n    case $prev in\n", out);
    for (size_t i = 0; i < n_valued; i++) {
        const struct cli_option *o = valued[i];
        fprintf(out, "    --%s", o->name);
        if (o->short_name)
            fprintf(out, "|-%c", o->short_name);
        if (o->is_file)
            fputs(") _files; return ;;\n", out);
        else if (o->choices)
            fprintf(out, ") compadd -- %s; return ;;\n", o->choices);
        else
            fputs(") return ;;\n", out);
    }
    fputs("    esac\n    local global_opts='", out);
    print_option_words(out, globals, N_GLOBAL_OPTIONS);
    fputs("'\n"
          "    for ((i = 2; i < CURRENT; i++)); do\n"
          "        w=${words[i]}\n"
          "        case $w in\n"
          "        --*=*) continue ;;\n"
          "        -*) [[ $valued == *\" $w \"* ]] && ((i++)); continue ;;\n"
          "        esac\n"
          "        if [[ -z $group ]]; then group=$w; elif [[ -z $cmd ]]; then cmd=$w; fi\n"
          "    done\n"
          "    if [[ -z $group ]]; then\n"
          "        compadd -- ",
          out);
    for (size_t g = 0; g < N_GROUPS; g++)
        fprintf(out, "%s ", groups[g].name);
    fputs("serve admin settings ${=global_opts}\n"
          "        return\n"
          "    fi\n"
          "    case $group in\n",
          out);
    for (size_t g = 0; g < N_GROUPS; g++) {
        const struct cli_command *one = command_named(groups[g].name, NULL);
        fprintf(out, "    %s)\n", groups[g].name);
        if (one) {
            fputs("        cmd=$group\n", out);
        } else {
            fputs("        if [[ -z $cmd ]]; then\n            compadd -- ", out);
            for (size_t c = 0; c < N_COMMANDS; c++)
                if (strcmp(commands[c].group, groups[g].name) == 0)
                    fprintf(out, "%s ", commands[c].name);
            fputs("${=global_opts}\n            return\n        fi\n", out);
        }
        fputs("        case $cmd in\n", out);
        print_command_cases(out, groups[g].name);
        fputs("        esac ;;\n", out);
    }
    fputs("    esac\n"
          "    if [[ $cur == -* ]]; then\n"
          "        compadd -- ${=opts} ${=global_opts}\n"
          "    elif [[ $args == -f ]]; then\n"
          "        _files\n"
          "    elif [[ -n $args ]]; then\n"
          "        compadd -- ${=args}\n"
          "    fi\n"
          "}\n"
          "if [[ $zsh_eval_context[-1] == loadautofunc ]]; then\n"
          "    _switchboard \"$@\"\n"
          "else\n"
          "    compdef _switchboard switchboard\n"
          "fi\n",
          out);
}

static int run_completion(struct cli_ctx *ctx)
{
    /* the parser checked that the shell is one of the arg_choices */
    if (strcmp(ctx->args->args[0], "zsh") == 0)
        cli_print_zsh_completion(ctx->out);
    else
        cli_print_bash_completion(ctx->out);
    return CLI_EXIT_OK;
}

/* ---- errors ---- */

/* Prints S with control characters replaced: server text must not drive the terminal. */
static void print_clean(FILE *out, const char *s)
{
    for (; *s; s++)
        fputc((unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s, out);
}

int cli_fail(struct cli_ctx *ctx, const struct sbc_error *err)
{
    fputs("switchboard: ", ctx->err);
    print_clean(ctx->err, err->error_type);
    fputs(": ", ctx->err);
    print_clean(ctx->err, err->message);
    fputc('\n', ctx->err);
    switch (err->status) {
    case SBC_ERR_UNREACHABLE:
        fprintf(ctx->err, "hint: is the server running? Give its address with --url or "
                          "SWITCHBOARD_URL.\n");
        return CLI_EXIT_UNREACHABLE;
    case SBC_ERR_TRANSPORT:
        if (strstr(err->message, "SSL") || strstr(err->message, "certificate"))
            fprintf(ctx->err, "hint: give the server's CA with --ca-file, or skip the check "
                              "with --insecure.\n");
        return CLI_EXIT_UNREACHABLE;
    case SBC_ERR_ARGUMENT: return CLI_EXIT_USAGE;
    case SBC_ERR_SERVER:
        if (err->http_status == 401)
            fprintf(ctx->err, "hint: check the API key (--api-key, SWITCHBOARD_API_KEY or "
                              "api_key in the profile).\n");
        return CLI_EXIT_REFUSED;
    default: return CLI_EXIT_REFUSED;
    }
}

int cli_usage_error(struct cli_ctx *ctx, const char *hint, const char *fmt, ...)
{
    va_list ap;

    fputs("switchboard: ", ctx->err);
    va_start(ap, fmt);
    vfprintf(ctx->err, fmt, ap);
    va_end(ap);
    fprintf(ctx->err, "\nhint: %s\n", hint);
    return CLI_EXIT_USAGE;
}

int cli_local_error(struct cli_ctx *ctx, const char *fmt, ...)
{
    va_list ap;

    fputs("switchboard: ", ctx->err);
    va_start(ap, fmt);
    vfprintf(ctx->err, fmt, ap);
    va_end(ap);
    fputc('\n', ctx->err);
    return CLI_EXIT_REFUSED;
}

/* ---- entry point ---- */

/* ---- secrets on the command line ----
 * A process's command line is readable by every local user (ps, /proc/PID/cmdline), and an
 * edit or a test of every connection can run a while. As curl does for -u, the CLI parses a
 * copy of its words and overwrites with '*' in the original ones the values of --api-key and
 * --password, and those of --param/--param-json whose key names a secret parameter. */

static int cli_run(int argc, char **argv);

/* The option name of word W ("--name" or "--name=value"): whether it is NAME. */
static bool word_is_option(const char *w, const char *name)
{
    size_t len = strlen(name);

    return strncmp(w, "--", 2) == 0 && strncmp(w + 2, name, len) == 0 &&
           (w[2 + len] == '\0' || w[2 + len] == '=');
}

/* Overwrites the secret values among the ARGC words of ARGV (see above). */
static void mask_secret_words(int argc, char **argv)
{
    for (int i = 0; i < argc; i++) {
        char *w = argv[i], *eq = strchr(w, '='), *value;
        bool key = word_is_option(w, "api-key") || word_is_option(w, "password");

        if (!key && !word_is_option(w, "param") && !word_is_option(w, "param-json"))
            continue;
        if (eq)
            value = eq + 1;
        else if (i + 1 < argc)
            value = argv[++i];
        else
            continue;
        if (!key) {
            char *sep = strchr(value, '=');
            if (!sep)
                continue;
            *sep = '\0';
            key = secrets_is_secret_param(value);
            *sep = '=';
            value = sep + 1;
        }
        if (key)
            memset(value, '*', strlen(value));
    }
}

int cli_main(int argc, char **argv)
{
    char **words = xcalloc((size_t)argc + 1, sizeof(*words));
    int rc;

    for (int i = 0; i < argc; i++)
        words[i] = xstrdup(argv[i]);
    mask_secret_words(argc, argv);
    rc = cli_run(argc, words);
    for (int i = 0; i < argc; i++) {
        explicit_bzero(words[i], strlen(words[i]));
        free(words[i]);
    }
    free(words);
    return rc;
}

/* cli_main on ARGV, words the run may keep pointers into until it returns. */
static int cli_run(int argc, char **argv)
{
    struct cli_args a;
    struct cli_profile p = {0};
    struct cli_settings s = {0};
    struct cli_ctx ctx = {.out = stdout, .err = stderr};
    struct sbc_error err;
    int rc;

    switch (cli_parse(argc, argv, &a, stderr)) {
    case CLI_PARSE_USAGE: rc = CLI_EXIT_USAGE; goto out;
    case CLI_PARSE_HELP:
        if (a.cmd)
            print_command_help(stdout, a.cmd);
        else if (a.group)
            print_group_help(stdout, a.group);
        else
            cli_print_usage(stdout);
        rc = CLI_EXIT_OK;
        goto out;
    case CLI_PARSE_RUN: break;
    }
    ctx.args = &a;
    ctx.progress = isatty(STDERR_FILENO) == 1;
    if (a.cmd->needs_server) {
        struct sbc_options o = {0};
        if ((rc = cli_profile_resolve(&a, true, &p, &s, stderr)) != 0)
            goto out;
        o.ca_file = s.ca_file;
        o.insecure = s.insecure;
        ctx.url = s.url;
        if (sbc_client_new(s.url, s.api_key, &o, &ctx.client, &err) != SBC_OK) {
            rc = cli_usage_error(&ctx, "check --url and --api-key", "%s", err.message);
            goto out;
        }
    }
    rc = a.cmd->run(&ctx);
out:
    if (fflush(stdout) != 0 && rc == CLI_EXIT_OK) {
        fputs("switchboard: cannot write to standard output\n", stderr);
        rc = CLI_EXIT_REFUSED;
    }
    sbc_client_free(ctx.client);
    cli_profile_free(&p);
    cli_args_free(&a);
    return rc;
}
