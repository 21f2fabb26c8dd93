/* SPDX-License-Identifier: Apache-2.0 */
/* The command-line client: `switchboard connections|keys|users|groups|projects|completion ...`.
 * One declarative table of commands and options (cli.c) drives parsing, --help and the bash
 * completion script; the commands themselves (cli_connections.c, cli_transfer.c, cli_edit.c,
 * cli_admin.c) are thin layers over the client library. */
#ifndef SB_CLI_H
#define SB_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "switchboard/client.h"

/* exit codes */
#define CLI_EXIT_OK 0
#define CLI_EXIT_REFUSED 1     /* the server refused, a test failed, an import had errors */
#define CLI_EXIT_USAGE 2       /* bad command line or input file; a hint line follows */
#define CLI_EXIT_UNREACHABLE 3 /* the server cannot be reached */

#define CLI_DEFAULT_URL "http://127.0.0.1:11200"
#define CLI_MAX_ARGS 8 /* positional arguments of one command */
#define CLI_MAX_OPTS 8 /* options of one command (besides the global ones) */

enum cli_opt_type {
    CLI_FLAG,  /* --name */
    CLI_VALUE, /* --name VALUE (the last one given wins) */
    CLI_LIST,  /* --name VALUE, repeatable: every value is kept */
};

struct cli_option {
    const char *name; /* without the leading "--" */
    char short_name;  /* 0: none */
    enum cli_opt_type type;
    const char *metavar; /* CLI_VALUE, CLI_LIST */
    const char *choices; /* space-separated allowed values, or NULL */
    bool is_file;        /* the value names a file (completion) */
    bool required;       /* the command cannot run without it */
    const char *help;
};

struct cli_ctx;

struct cli_command {
    const char *group;     /* "connections" */
    const char *name;      /* "list"; NULL for a one-word command such as "completion" */
    const char *arg_usage; /* "NAME VERSION", or "" */
    int min_args, max_args;
    const char *arg_choices; /* space-separated words the first argument may be, or NULL */
    bool args_are_files;     /* complete arguments as file names */
    bool needs_server;       /* resolve URL and key, make a client handle before run */
    const char *summary;
    const struct cli_option *const *options; /* NULL-terminated; may be NULL */
    int (*run)(struct cli_ctx *ctx);
};

/* The values of one option on the command line. */
struct cli_value {
    bool set;
    const char *value;   /* CLI_VALUE: the last one; CLI_LIST: the first */
    const char **values; /* CLI_LIST: every value, in order (owned by struct cli_args) */
    size_t n;
};

/* The parsed command line. Strings point into argv; only cli_value.values is allocated. */
struct cli_args {
    const struct cli_command *cmd; /* NULL until a command is recognised */
    const char *group;             /* the first word, once it names a known group */
    /* global options */
    const char *url, *api_key, *profile, *ca_file;
    bool insecure, json, help;
    const char *args[CLI_MAX_ARGS];
    int n_args;
    struct cli_value opts[CLI_MAX_OPTS]; /* in the order of cmd->options */
};

enum cli_parse_result {
    CLI_PARSE_RUN,   /* run a->cmd */
    CLI_PARSE_HELP,  /* --help: for a->cmd, else for a->group, else the top level */
    CLI_PARSE_USAGE, /* a usage error; a message and a hint line went to ERRS */
};

/* Parses ARGV (ARGC words, without the program name) into A against the command table;
 * messages for usage errors go to ERRS. A must be released with cli_args_free, whatever the
 * result. */
enum cli_parse_result cli_parse(int argc, char **argv, struct cli_args *a, FILE *errs);
void cli_args_free(struct cli_args *a);

/* The value of option NAME of the parsed command; NULL when the command has no such option. */
const struct cli_value *cli_opt(const struct cli_args *a, const char *name);
bool cli_flag(const struct cli_args *a, const char *name);
const char *cli_opt_value(const struct cli_args *a, const char *name); /* NULL: not given */

/* True when WORD is a first word the CLI handles (a command group or a global option), so
 * that main() can hand the command line over to cli_main. */
bool cli_handles(const char *word);

/* Runs the CLI on ARGV (ARGC words, without the program name); returns the exit code. */
int cli_main(int argc, char **argv);

/* The client commands and global options, for the top-level usage text. */
void cli_print_usage(FILE *out);

/* Prints the client commands with their options, and the global options, as roff .TP
 * paragraphs for switchboard(1). */
void cli_print_roff(FILE *out);
void cli_print_roff_global_options(FILE *out);

/* Prints the bash (zsh) completion script generated from the command table. */
void cli_print_bash_completion(FILE *out);
void cli_print_zsh_completion(FILE *out);

/* ---- what command implementations get ---- */

struct cli_ctx {
    const struct cli_args *args;
    struct sbc_client *client; /* NULL for commands that do not need the server */
    const char *url;           /* the resolved server URL */
    FILE *out, *err;
    bool progress; /* stderr is a terminal: long operations may show progress */
};

/* Reports a library failure as "switchboard: <errorType>: <message>" on ctx->err and returns
 * the exit code for it (1, or 3 when the server cannot be reached). */
int cli_fail(struct cli_ctx *ctx, const struct sbc_error *err);

/* Reports a usage error: "switchboard: <message>" and "hint: <hint>". Returns 2. */
int cli_usage_error(struct cli_ctx *ctx, const char *hint, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Reports a local failure (a file, the editor...): "switchboard: <message>". Returns 1. */
int cli_local_error(struct cli_ctx *ctx, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* command implementations */
int cli_connections_list(struct cli_ctx *ctx);
int cli_connections_get(struct cli_ctx *ctx);
int cli_connections_create(struct cli_ctx *ctx);
int cli_connections_set(struct cli_ctx *ctx);
int cli_connections_delete(struct cli_ctx *ctx);
int cli_connections_test(struct cli_ctx *ctx);
int cli_connections_info(struct cli_ctx *ctx);
int cli_connections_usages(struct cli_ctx *ctx);
int cli_connections_history(struct cli_ctx *ctx);
int cli_connections_revert(struct cli_ctx *ctx);
int cli_edit_connection(struct cli_ctx *ctx);
int cli_transfer_export(struct cli_ctx *ctx);
int cli_transfer_import(struct cli_ctx *ctx);
int cli_admin_keys_list(struct cli_ctx *ctx);
int cli_admin_keys_create(struct cli_ctx *ctx);
int cli_admin_keys_delete(struct cli_ctx *ctx);
int cli_admin_users_list(struct cli_ctx *ctx);
int cli_admin_users_create(struct cli_ctx *ctx);
int cli_admin_users_delete(struct cli_ctx *ctx);
int cli_admin_groups_list(struct cli_ctx *ctx);
int cli_admin_groups_create(struct cli_ctx *ctx);
int cli_admin_groups_delete(struct cli_ctx *ctx);
int cli_admin_change_connection(struct cli_ctx *ctx);

#endif
