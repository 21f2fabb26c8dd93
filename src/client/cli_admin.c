/* SPDX-License-Identifier: Apache-2.0 */
/* `switchboard keys|users|groups ...` and `projects change-connection`: the security objects
 * around connections, and moving a project's datasets to another connection. */
#include <stdlib.h>
#include <string.h>

#include "client/cli.h"
#include "client/cli_out.h"
#include "util/mem.h"

/* Prints ANSWER as JSON under --json, else calls nothing and returns false. */
static bool print_json_if_asked(struct cli_ctx *ctx, const json_t *answer)
{
    if (!ctx->args->json)
        return false;
    cli_out_json(ctx->out, answer);
    return true;
}

/* "deleted WHAT NAME", or {} under --json (what the server answered). */
static void print_deleted(struct cli_ctx *ctx, const char *what)
{
    if (ctx->args->json)
        fputs("{}\n", ctx->out);
    else
        fprintf(ctx->out, "deleted %s %s\n", what, ctx->args->args[0]);
}

static const char *yes_no(const json_t *v)
{
    return json_is_true(v) ? "yes" : "no";
}

/* ---- global API keys ---- */

int cli_admin_keys_list(struct cli_ctx *ctx)
{
    struct sbc_error err;
    struct cli_table *t;
    json_t *keys, *k;
    size_t i;

    if (sbc_global_keys_list(ctx->client, &keys, &err) != SBC_OK)
        return cli_fail(ctx, &err);
    if (!print_json_if_asked(ctx, keys)) {
        t = cli_out_table_new(6, "ID", "LABEL", "ADMIN", "GROUPS", "CREATED BY",
                              "CREATED ON (UTC)");
        json_array_foreach (keys, i, k) {
            char *groups = cli_out_join(json_object_get(k, "groups"));
            char when[32];
            cli_out_time(when, sizeof(when), json_integer_value(json_object_get(k, "createdOn")));
            cli_out_table_add(
                t, json_string_value(json_object_get(k, "id")),
                json_string_value(json_object_get(k, "label")),
                yes_no(json_object_get(json_object_get(k, "globalPermissions"), "admin")), groups,
                json_string_value(json_object_get(k, "createdBy")), when);
            free(groups);
        }
        cli_out_table_print(t, ctx->out);
        cli_out_table_free(t);
    }
    json_decref(keys);
    return CLI_EXIT_OK;
}

int cli_admin_keys_create(struct cli_ctx *ctx)
{
    const struct cli_value *groups = cli_opt(ctx->args, "group");
    struct sbc_error err;
    json_t *created;

    if (sbc_global_key_create(ctx->client, cli_opt_value(ctx->args, "label"),
                              cli_opt_value(ctx->args, "description"), cli_flag(ctx->args, "admin"),
                              groups->values, groups->n, &created, &err) != SBC_OK)
        return cli_fail(ctx, &err);
    if (!print_json_if_asked(ctx, created))
        /* the key last, alone on its line: scripts take the last word */
        fprintf(ctx->out, "created global API key %s (the key is shown only now):\n%s\n",
                json_string_value(json_object_get(created, "id")),
                json_string_value(json_object_get(created, "key")));
    json_decref(created);
    return CLI_EXIT_OK;
}

int cli_admin_keys_delete(struct cli_ctx *ctx)
{
    struct sbc_error err;

    if (sbc_global_key_delete(ctx->client, ctx->args->args[0], &err) != SBC_OK)
        return cli_fail(ctx, &err);
    print_deleted(ctx, "global API key");
    return CLI_EXIT_OK;
}

/* ---- users ---- */

int cli_admin_users_list(struct cli_ctx *ctx)
{
    struct sbc_error err;
    struct cli_table *t;
    json_t *users, *u;
    size_t i;

    if (sbc_users_list(ctx->client, &users, &err) != SBC_OK)
        return cli_fail(ctx, &err);
    if (!print_json_if_asked(ctx, users)) {
        t = cli_out_table_new(5, "LOGIN", "DISPLAY NAME", "EMAIL", "GROUPS", "ENABLED");
        json_array_foreach (users, i, u) {
            char *groups = cli_out_join(json_object_get(u, "groups"));
            cli_out_table_add(t, json_string_value(json_object_get(u, "login")),
                              json_string_value(json_object_get(u, "displayName")),
                              json_string_value(json_object_get(u, "email")), groups,
                              yes_no(json_object_get(u, "enabled")));
            free(groups);
        }
        cli_out_table_print(t, ctx->out);
        cli_out_table_free(t);
    }
    json_decref(users);
    return CLI_EXIT_OK;
}

/* The first line of standard input, without its line end. Caller wipes and frees; NULL at
 * end of input. */
static char *read_stdin_line(void)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t n = getline(&line, &cap, stdin);

    if (n < 0) {
        free(line);
        return NULL;
    }
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        line[--n] = '\0';
    return line;
}

int cli_admin_users_create(struct cli_ctx *ctx)
{
    const struct cli_args *a = ctx->args;
    const struct cli_value *groups = cli_opt(a, "group");
    const char *password = cli_opt_value(a, "password");
    char *from_stdin = NULL;
    struct sbc_error err;
    json_t *user, *list, *created = NULL;
    int rc;

    if (password && cli_flag(a, "password-stdin"))
        return cli_usage_error(ctx, "prefer --password-stdin",
                               "give --password or --password-stdin, not both");
    if (cli_flag(a, "password-stdin")) {
        if (!(from_stdin = read_stdin_line()) || !*from_stdin) {
            free(from_stdin);
            return cli_usage_error(ctx,
                                   "echo \"$PASSWORD\" | switchboard users create LOGIN "
                                   "--password-stdin",
                                   "--password-stdin read no password");
        }
        password = from_stdin;
    }
    list = xcheck(json_array());
    for (size_t i = 0; i < groups->n; i++)
        json_array_append_new(list, xcheck(json_string(groups->values[i])));
    user = xcheck(json_pack("{s:s, s:o}", "login", a->args[0], "groups", list));
    if (password)
        json_object_set_new(user, "password", xcheck(json_string(password)));
    if (cli_opt_value(a, "display-name"))
        json_object_set_new(user, "displayName",
                            xcheck(json_string(cli_opt_value(a, "display-name"))));
    if (cli_opt_value(a, "email"))
        json_object_set_new(user, "email", xcheck(json_string(cli_opt_value(a, "email"))));
    if (cli_opt_value(a, "user-profile"))
        json_object_set_new(user, "userProfile",
                            xcheck(json_string(cli_opt_value(a, "user-profile"))));
    if (sbc_user_create(ctx->client, user, &created, &err) != SBC_OK) {
        rc = cli_fail(ctx, &err);
    } else {
        if (!print_json_if_asked(ctx, created))
            fprintf(ctx->out, "created user %s\n", a->args[0]);
        rc = CLI_EXIT_OK;
    }
    if (from_stdin) {
        explicit_bzero(from_stdin, strlen(from_stdin));
        free(from_stdin);
    }
    json_decref(created);
    json_decref(user);
    return rc;
}

int cli_admin_users_delete(struct cli_ctx *ctx)
{
    struct sbc_error err;

    if (sbc_user_delete(ctx->client, ctx->args->args[0], &err) != SBC_OK)
        return cli_fail(ctx, &err);
    print_deleted(ctx, "user");
    return CLI_EXIT_OK;
}

/* ---- groups ---- */

int cli_admin_groups_list(struct cli_ctx *ctx)
{
    struct sbc_error err;
    struct cli_table *t;
    json_t *groups, *g;
    size_t i;

    if (sbc_groups_list(ctx->client, &groups, &err) != SBC_OK)
        return cli_fail(ctx, &err);
    if (!print_json_if_asked(ctx, groups)) {
        t = cli_out_table_new(3, "NAME", "ADMIN", "DESCRIPTION");
        json_array_foreach (groups, i, g)
            cli_out_table_add(t, json_string_value(json_object_get(g, "name")),
                              yes_no(json_object_get(g, "admin")),
                              json_string_value(json_object_get(g, "description")));
        cli_out_table_print(t, ctx->out);
        cli_out_table_free(t);
    }
    json_decref(groups);
    return CLI_EXIT_OK;
}

int cli_admin_groups_create(struct cli_ctx *ctx)
{
    struct sbc_error err;
    json_t *created;

    if (sbc_group_create(ctx->client, ctx->args->args[0], cli_opt_value(ctx->args, "description"),
                         cli_flag(ctx->args, "admin"), &created, &err) != SBC_OK)
        return cli_fail(ctx, &err);
    if (!print_json_if_asked(ctx, created))
        fprintf(ctx->out, "created group %s\n", ctx->args->args[0]);
    json_decref(created);
    return CLI_EXIT_OK;
}

int cli_admin_groups_delete(struct cli_ctx *ctx)
{
    struct sbc_error err;

    if (sbc_group_delete(ctx->client, ctx->args->args[0], &err) != SBC_OK)
        return cli_fail(ctx, &err);
    print_deleted(ctx, "group");
    return CLI_EXIT_OK;
}

/* ---- projects ---- */

int cli_admin_change_connection(struct cli_ctx *ctx)
{
    const struct cli_value *datasets = cli_opt(ctx->args, "dataset");
    bool dry_run = cli_flag(ctx->args, "dry-run");
    struct sbc_error err;
    json_t *result, *s;
    char *changed;
    size_t i;

    if (sbc_project_change_connection(ctx->client, ctx->args->args[0],
                                      cli_opt_value(ctx->args, "from"),
                                      cli_opt_value(ctx->args, "to"), datasets->values, datasets->n,
                                      dry_run, &result, &err) != SBC_OK)
        return cli_fail(ctx, &err);
    if (!print_json_if_asked(ctx, result)) {
        changed = cli_out_join(json_object_get(result, "changed"));
        fprintf(ctx->out, "changed  %zu%s%s\n", json_array_size(json_object_get(result, "changed")),
                *changed ? ": " : "", changed);
        free(changed);
        fprintf(ctx->out, "skipped  %zu\n", json_array_size(json_object_get(result, "skipped")));
        json_array_foreach (json_object_get(result, "skipped"), i, s) {
            const char *name = json_string_value(json_object_get(s, "name"));
            const char *reason = json_string_value(json_object_get(s, "reason"));
            fprintf(ctx->out, "  %s: %s\n", name ? name : "?", reason ? reason : "");
        }
        if (dry_run)
            fputs("dry run: nothing was changed\n", ctx->out);
    }
    json_decref(result);
    return CLI_EXIT_OK;
}
