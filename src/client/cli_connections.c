/* SPDX-License-Identifier: Apache-2.0 */
/* `switchboard connections ...`: one function per command, each a call of the client library
 * and a print. Export, import and edit live in cli_transfer.c and cli_edit.c. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "client/cli.h"
#include "client/cli_out.h"
#include "util/mem.h"

static long long version_of(const json_t *def)
{
    return json_integer_value(
        json_object_get(json_object_get(def, "creationTag"), "versionNumber"));
}

/* Compares two connection names for qsort. */
static int compare_names(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The keys of OBJ, sorted. Caller frees the array (the strings belong to OBJ). */
static const char **sorted_keys(const json_t *obj, size_t *n)
{
    const char **keys = xmalloc((json_object_size(obj) + 1) * sizeof(*keys));
    const char *k;
    json_t *v;

    *n = 0;
    json_object_foreach ((json_t *)obj, k, v)
        keys[(*n)++] = k;
    qsort(keys, *n, sizeof(*keys), compare_names);
    return keys;
}

int cli_connections_list(struct cli_ctx *ctx)
{
    const char *type = cli_opt_value(ctx->args, "type");
    struct sbc_error err;
    struct cli_table *t = NULL;
    json_t *all = NULL, *def;
    const char **names = NULL;
    size_t n;
    int rc;

    if (sbc_connections_list(ctx->client, &all, &err) != SBC_OK)
        return cli_fail(ctx, &err);
    if (type) {
        const char *k;
        void *tmp;
        json_object_foreach_safe (all, tmp, k, def) {
            const char *its_type = json_string_value(json_object_get(def, "type"));
            if (!its_type || strcmp(its_type, type) != 0)
                json_object_del(all, k);
        }
    }
    if (ctx->args->json) {
        cli_out_json(ctx->out, all);
        rc = CLI_EXIT_OK;
        goto out;
    }
    t = cli_out_table_new(5, "NAME", "TYPE", "USABLE BY", "VERSION", "DESCRIPTION");
    names = sorted_keys(all, &n);
    for (size_t i = 0; i < n; i++) {
        char version[32], *usable;
        const char *by;
        def = json_object_get(all, names[i]);
        by = json_string_value(json_object_get(def, "usableBy"));
        if (by && strcmp(by, "ALLOWED") == 0) {
            char *groups = cli_out_join(json_object_get(def, "allowedGroups"));
            size_t len = strlen(groups) + sizeof("groups: ");
            usable = xmalloc(len);
            snprintf(usable, len, "groups: %s", *groups ? groups : "(none)");
            free(groups);
        } else {
            usable = xstrdup("everyone");
        }
        snprintf(version, sizeof(version), "%lld", version_of(def));
        cli_out_table_add(t, names[i], json_string_value(json_object_get(def, "type")), usable,
                          version, json_string_value(json_object_get(def, "description")));
        free(usable);
    }
    cli_out_table_print(t, ctx->out);
    rc = CLI_EXIT_OK;
out:
    free(names);
    cli_out_table_free(t);
    json_decref(all);
    return rc;
}

int cli_connections_get(struct cli_ctx *ctx)
{
    struct sbc_error err;
    json_t *def;

    if (sbc_connection_get(ctx->client, ctx->args->args[0], &def, &err) != SBC_OK)
        return cli_fail(ctx, &err);
    cli_out_json(ctx->out, def);
    json_decref(def);
    return CLI_EXIT_OK;
}

/* Adds the --param KEY=VALUE (AS_JSON: --param-json KEY=JSON) options to PARAMS. Returns 0 or
 * the exit code of a usage error. Messages never quote a value: it may be a password. */
static int add_params(struct cli_ctx *ctx, json_t *params, const char *option, bool as_json)
{
    const struct cli_value *v = cli_opt(ctx->args, option);
    json_error_t jerr;
    char why[256];

    for (size_t i = 0; v && i < v->n; i++) {
        const char *eq = strchr(v->values[i], '=');
        json_t *value;
        char *key;
        if (!eq || eq == v->values[i])
            return cli_usage_error(ctx, "write each parameter as --param KEY=VALUE",
                                   "--%s expects KEY=%s", option, as_json ? "JSON" : "VALUE");
        key = xstrndup(v->values[i], (size_t)(eq - v->values[i]));
        value = as_json ? json_loads(eq + 1, JSON_DECODE_ANY, &jerr) : xcheck(json_string(eq + 1));
        if (!value) {
            cli_out_json_error(why, sizeof(why), &jerr);
            cli_usage_error(ctx, "quote the JSON for the shell: --param-json 'port=5432'",
                            "the value of --param-json %s is not JSON: %s", key, why);
            free(key);
            return CLI_EXIT_USAGE;
        }
        json_object_set_new(params, key, value);
        free(key);
    }
    return 0;
}

int cli_connections_create(struct cli_ctx *ctx)
{
    const struct cli_value *groups = cli_opt(ctx->args, "usable-by");
    const char *description = cli_opt_value(ctx->args, "description");
    const char *name = ctx->args->args[0];
    struct sbc_error err;
    json_t *def, *params = xcheck(json_object()), *stored = NULL;
    int rc;

    def = xcheck(json_pack("{s:s, s:s}", "name", name, "type", cli_opt_value(ctx->args, "type")));
    if ((rc = add_params(ctx, params, "param", false)) != 0 ||
        (rc = add_params(ctx, params, "param-json", true)) != 0)
        goto out;
    json_object_set(def, "params", params);
    if (description)
        json_object_set_new(def, "description", xcheck(json_string(description)));
    if (groups && groups->n > 0) {
        json_t *list = xcheck(json_array());
        for (size_t i = 0; i < groups->n; i++)
            json_array_append_new(list, xcheck(json_string(groups->values[i])));
        json_object_set_new(def, "usableBy", xcheck(json_string("ALLOWED")));
        json_object_set_new(def, "allowedGroups", list);
    }
    if (sbc_connection_create(ctx->client, def, &stored, &err) != SBC_OK) {
        rc = cli_fail(ctx, &err);
        goto out;
    }
    if (ctx->args->json)
        cli_out_json(ctx->out, stored);
    else
        fprintf(ctx->out, "created connection %s (%s)\n", name,
                json_string_value(json_object_get(stored, "type")));
    rc = CLI_EXIT_OK;
out:
    json_decref(stored);
    json_decref(params);
    json_decref(def);
    return rc;
}

/* Prints what a save or a revert stored. */
static void print_saved(struct cli_ctx *ctx, const char *verb, const json_t *stored)
{
    if (ctx->args->json)
        cli_out_json(ctx->out, stored);
    else
        fprintf(ctx->out, "%s connection %s (now version %lld)\n", verb,
                json_string_value(json_object_get(stored, "name")), version_of(stored));
}

/* creationTag.versionNumber of DEF, or -1 when it has none. */
static long long file_version(const json_t *def)
{
    json_t *v = json_object_get(json_object_get(def, "creationTag"), "versionNumber");
    return json_is_integer(v) ? (long long)json_integer_value(v) : -1;
}

int cli_connections_set(struct cli_ctx *ctx)
{
    const char *name = ctx->args->args[0];
    struct sbc_error err;
    json_t *def, *stored;
    int rc;

    if ((rc = cli_out_read_json(ctx, ctx->args->args[1], &def)) != 0)
        return rc;
    if (!json_is_object(def)) {
        json_decref(def);
        return cli_usage_error(ctx, "'switchboard connections get NAME' prints one",
                               "a connection definition is a JSON object");
    }
    /* the file's version, if it has one, must still be the stored one (If-Match) */
    if (sbc_connection_save_if_match(ctx->client, name, def, file_version(def), &stored, &err) !=
        SBC_OK) {
        rc = cli_fail(ctx, &err);
        if (err.http_status == 409 || err.http_status == 412)
            fprintf(ctx->err,
                    "hint: the definition was changed since it was read; use "
                    "'switchboard connections edit %s', or drop creationTag from "
                    "the file to overwrite\n",
                    name);
    } else {
        print_saved(ctx, "saved", stored);
        json_decref(stored);
    }
    json_decref(def);
    return rc;
}

int cli_connections_delete(struct cli_ctx *ctx)
{
    const char *name = ctx->args->args[0];
    bool force = cli_flag(ctx->args, "force");
    struct sbc_error err;
    int rc;

    if (sbc_connection_delete(ctx->client, name, force, &err) != SBC_OK) {
        rc = cli_fail(ctx, &err);
        if (err.http_status == 409 && !force)
            fprintf(ctx->err,
                    "hint: 'switchboard connections usages %s' lists the datasets "
                    "that use it; --force deletes it anyway\n",
                    name);
        return rc;
    }
    if (ctx->args->json)
        fputs("{}\n", ctx->out);
    else
        fprintf(ctx->out, "deleted connection %s\n", name);
    return CLI_EXIT_OK;
}

/* Prints MSG on OUT with control characters as spaces: server text must not drive the
 * terminal. */
static void print_message(FILE *out, const char *msg)
{
    for (const char *p = msg; *p; p++)
        fputc((unsigned char)*p < 0x20 ? ' ' : *p, out);
}

static int test_one(struct cli_ctx *ctx, const char *name)
{
    struct sbc_error err;
    json_t *result;
    bool ok;

    if (sbc_connection_test(ctx->client, name, &result, &err) != SBC_OK)
        return cli_fail(ctx, &err);
    ok = json_is_true(json_object_get(result, "connectionOK"));
    if (ctx->args->json) {
        cli_out_json(ctx->out, result);
    } else {
        const char *msg = json_string_value(json_object_get(result, "message"));
        fprintf(ctx->out, "%s: %s in %lld ms%s", name, ok ? "OK" : "FAILED",
                (long long)json_integer_value(json_object_get(result, "durationMs")),
                msg && *msg ? ": " : "\n");
        if (msg && *msg) {
            print_message(ctx->out, msg);
            fputc('\n', ctx->out);
        }
    }
    json_decref(result);
    return ok ? CLI_EXIT_OK : CLI_EXIT_REFUSED;
}

/* One line on a terminal, rewritten in place: "testing 3/12 pg_main". */
static void test_progress(struct cli_ctx *ctx, size_t done, size_t total, const char *name)
{
    if (!ctx->progress || cli_flag(ctx->args, "quiet"))
        return;
    if (name)
        fprintf(ctx->err, "\r\033[Ktesting %zu/%zu %.60s", done + 1, total, name);
    else
        fputs("\r\033[K", ctx->err);
    fflush(ctx->err);
}

/* connections test --all [--type T]: every connection the key may use (of type T), one at a
 * time; a type without a live tester is SKIPPED, not a failure. A table, or with --json an
 * array of {name, connectionOK, message, durationMs} ("skipped": true for the skipped). */
static int test_all(struct cli_ctx *ctx)
{
    const char *type = cli_opt_value(ctx->args, "type");
    size_t n_ok = 0, n_failed = 0, n_skipped = 0, i;
    struct cli_table *t = NULL;
    struct sbc_error err;
    json_t *names, *name, *results = NULL;
    int rc = CLI_EXIT_OK;

    if (sbc_connection_names(ctx->client, type, &names, &err) != SBC_OK)
        return cli_fail(ctx, &err);
    if (ctx->args->json)
        results = xcheck(json_array());
    else
        t = cli_out_table_new(4, "NAME", "RESULT", "TIME", "MESSAGE");
    json_array_foreach (names, i, name) {
        const char *n = json_string_value(name);
        json_t *result = NULL;
        char ms[32] = "";
        const char *verdict, *msg;
        if (!n)
            continue;
        test_progress(ctx, i, json_array_size(names), n);
        if (sbc_connection_test(ctx->client, n, &result, &err) != SBC_OK) {
            if (err.status == SBC_ERR_UNREACHABLE || err.http_status == 401 ||
                err.http_status == 0) {
                test_progress(ctx, i, 0, NULL);
                rc = cli_fail(ctx, &err);
                goto out;
            }
            /* 400: no live tester for the type; 403/404: not usable, or deleted meanwhile */
            bool skipped = err.http_status == 400;
            result = xcheck(json_pack("{s:b, s:s, s:b}", "connectionOK", 0, "message", err.message,
                                      "skipped", skipped));
        }
        bool ok = json_is_true(json_object_get(result, "connectionOK"));
        bool skipped = json_is_true(json_object_get(result, "skipped"));
        n_ok += ok;
        n_skipped += skipped;
        n_failed += !ok && !skipped;
        verdict = ok ? "OK" : skipped ? "SKIPPED" : "FAILED";
        msg = json_string_value(json_object_get(result, "message"));
        if (json_object_get(result, "durationMs"))
            snprintf(ms, sizeof(ms), "%lld ms",
                     (long long)json_integer_value(json_object_get(result, "durationMs")));
        if (results) {
            json_object_set_new(result, "name", json_string(n));
            json_array_append(results, result);
        } else {
            cli_out_table_add(t, n, verdict, ms, msg ? msg : "");
        }
        json_decref(result);
    }
    test_progress(ctx, 0, 0, NULL);
    if (results) {
        cli_out_json(ctx->out, results);
    } else {
        cli_out_table_print(t, ctx->out);
        fprintf(ctx->out, "%zu tested: %zu OK, %zu failed, %zu skipped (no live test)\n",
                n_ok + n_failed + n_skipped, n_ok, n_failed, n_skipped);
    }
    rc = n_failed ? CLI_EXIT_REFUSED : CLI_EXIT_OK;
out:
    cli_out_table_free(t);
    json_decref(results);
    json_decref(names);
    return rc;
}

int cli_connections_test(struct cli_ctx *ctx)
{
    bool all = cli_flag(ctx->args, "all");

    if (all && ctx->args->n_args > 0)
        return cli_usage_error(ctx, "run 'switchboard connections test --help'",
                               "give a connection NAME or --all, not both");
    if (!all && ctx->args->n_args == 0)
        return cli_usage_error(ctx, "run 'switchboard connections test --help'",
                               "missing argument: expected NAME, or --all");
    if (!all && cli_opt_value(ctx->args, "type"))
        return cli_usage_error(ctx, "run 'switchboard connections test --help'",
                               "--type goes with --all");
    return all ? test_all(ctx) : test_one(ctx, ctx->args->args[0]);
}

int cli_connections_info(struct cli_ctx *ctx)
{
    struct sbc_error err;
    json_t *info;

    if (sbc_connection_info(ctx->client, ctx->args->args[0], cli_opt_value(ctx->args, "project"),
                            &info, &err) != SBC_OK)
        return cli_fail(ctx, &err);
    cli_out_json(ctx->out, info);
    json_decref(info);
    return CLI_EXIT_OK;
}

int cli_connections_usages(struct cli_ctx *ctx)
{
    struct sbc_error err;
    struct cli_table *t;
    json_t *usages, *u;
    size_t i;

    if (sbc_connection_usages(ctx->client, ctx->args->args[0], &usages, &err) != SBC_OK)
        return cli_fail(ctx, &err);
    if (ctx->args->json) {
        cli_out_json(ctx->out, usages);
        json_decref(usages);
        return CLI_EXIT_OK;
    }
    t = cli_out_table_new(3, "PROJECT", "DATASET", "TYPE");
    json_array_foreach (usages, i, u)
        cli_out_table_add(t, json_string_value(json_object_get(u, "projectKey")),
                          json_string_value(json_object_get(u, "datasetName")),
                          json_string_value(json_object_get(u, "datasetType")));
    cli_out_table_print(t, ctx->out);
    cli_out_table_free(t);
    json_decref(usages);
    return CLI_EXIT_OK;
}

int cli_connections_history(struct cli_ctx *ctx)
{
    struct sbc_error err;
    struct cli_table *t;
    json_t *history, *h;
    size_t i;

    if (sbc_connection_history(ctx->client, ctx->args->args[0], &history, &err) != SBC_OK)
        return cli_fail(ctx, &err);
    if (ctx->args->json) {
        cli_out_json(ctx->out, history);
        json_decref(history);
        return CLI_EXIT_OK;
    }
    t = cli_out_table_new(4, "VERSION", "ACTION", "BY", "ON (UTC)");
    json_array_foreach (history, i, h) {
        char version[32], when[32];
        json_t *by = json_object_get(h, "modifiedBy");
        snprintf(version, sizeof(version), "%lld",
                 (long long)json_integer_value(json_object_get(h, "versionNumber")));
        cli_out_time(when, sizeof(when), json_integer_value(json_object_get(h, "modifiedOn")));
        cli_out_table_add(t, version, json_string_value(json_object_get(h, "action")),
                          json_is_object(by) ? json_string_value(json_object_get(by, "login"))
                                             : json_string_value(by),
                          when);
    }
    cli_out_table_print(t, ctx->out);
    cli_out_table_free(t);
    json_decref(history);
    return CLI_EXIT_OK;
}

int cli_connections_revert(struct cli_ctx *ctx)
{
    const char *text = ctx->args->args[1];
    struct sbc_error err;
    json_t *stored;
    long long version;
    char *end;

    errno = 0;
    version = strtoll(text, &end, 10);
    if (errno || end == text || *end || version < 1)
        return cli_usage_error(ctx, "'switchboard connections history NAME' lists the versions",
                               "VERSION must be a version number, not '%.40s'", text);
    if (sbc_connection_revert(ctx->client, ctx->args->args[0], version, &stored, &err) != SBC_OK)
        return cli_fail(ctx, &err);
    print_saved(ctx, "reverted", stored);
    json_decref(stored);
    return CLI_EXIT_OK;
}
