/* SPDX-License-Identifier: Apache-2.0 */
/* `connections export` and `connections import`: moving connections between servers.
 *
 * An export is {"connections": [definitions]}, sorted by name. Without --with-secrets the
 * secrets stay in the encrypted form admin reads return, which only a server holding the same
 * master key can open: good for a backup of this server, useless elsewhere (the other server
 * refuses them as undecryptable). With --with-secrets the plaintext comes from
 * GET /connections/{name}/info, taking from its resolvedParams only the values that are stored
 * encrypted (every "e:..." param and secret property), so that ${variables} in other params
 * stay unexpanded and the export stays a faithful copy. Import strips what a server sets
 * itself (creationTag, and the id/label pair of the list answer) and sends everything in one
 * request: the server applies it in one transaction. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "client/cli.h"
#include "client/cli_out.h"
#include "util/mem.h"

static bool is_sealed(const json_t *v)
{
    return json_is_string(v) && strncmp(json_string_value(v), "e:", 2) == 0;
}

/* Whether any param or property value of DEF is stored encrypted. */
static bool has_sealed(const json_t *def)
{
    json_t *params = json_object_get(def, "params"), *v, *entry;
    const char *key;
    size_t i;

    json_object_foreach (params, key, v)
        if (is_sealed(v))
            return true;
    json_array_foreach (json_object_get(params, "properties"), i, entry)
        if (is_sealed(json_object_get(entry, "value")))
            return true;
    return false;
}

/* Replaces every encrypted value of DEF's params by its plaintext from INFO's resolvedParams.
 * Returns false (naming the field in WHAT) when INFO lacks one. */
static bool open_secrets(json_t *def, const json_t *info, char *what, size_t size)
{
    json_t *params = json_object_get(def, "params");
    json_t *resolved = json_object_get(info, "resolvedParams"), *v, *entry;
    json_t *resolved_props = json_object_get(resolved, "properties");
    const char *key;
    size_t i;

    json_object_foreach (params, key, v) {
        json_t *plain = json_object_get(resolved, key);
        if (!is_sealed(v))
            continue;
        if (!json_is_string(plain) || is_sealed(plain)) {
            snprintf(what, size, "params.%s", key);
            return false;
        }
        json_object_set(params, key, plain);
    }
    json_array_foreach (json_object_get(params, "properties"), i, entry) {
        json_t *other = json_array_get(resolved_props, i);
        json_t *plain = json_object_get(other, "value");
        if (!is_sealed(json_object_get(entry, "value")))
            continue;
        if (!json_is_string(plain) || is_sealed(plain) ||
            !json_equal(json_object_get(entry, "name"), json_object_get(other, "name"))) {
            snprintf(what, size, "params.properties[%zu].value", i);
            return false;
        }
        json_object_set(entry, "value", plain);
    }
    return true;
}

static int compare_strings(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void progress(struct cli_ctx *ctx, const char *verb, size_t done, size_t total)
{
    if (!ctx->progress)
        return;
    fprintf(ctx->err, "\r%s: %zu/%zu connections", verb, done, total);
    if (done == total)
        fputc('\n', ctx->err);
    fflush(ctx->err);
}

struct upload {
    struct cli_ctx *ctx;
    unsigned shown; /* the percentage on the terminal, +1 (0: nothing shown yet) */
    bool finished;  /* the whole body is sent: nothing more to show */
};

/* "uploading: 1.2 of 3.4 MiB (35%)" in place on the terminal; a newline once all is sent. */
static void upload_progress(void *arg, uint64_t sent, uint64_t total)
{
    struct upload *up = arg;
    unsigned percent = (unsigned)(total ? sent * 100 / total : 100);

    if (up->finished || percent + 1 == up->shown)
        return; /* libcurl reports the same figures several times */
    up->shown = percent + 1;
    fprintf(up->ctx->err, "\ruploading: %.1f of %.1f MiB (%u%%)", (double)sent / (1 << 20),
            (double)total / (1 << 20), percent);
    if (sent == total) {
        fputs(", waiting for the server\n", up->ctx->err);
        up->finished = true;
    }
    fflush(up->ctx->err);
}

/* Writes DOC to PATH, created or truncated with mode 0600 (also when it existed). */
static int write_private(struct cli_ctx *ctx, const char *path, const json_t *doc)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
    FILE *f;
    int rc = CLI_EXIT_OK;

    if (fd < 0)
        return cli_local_error(ctx, "cannot create %s: %s", path, strerror(errno));
    if (fchmod(fd, 0600) != 0) {
        close(fd);
        return cli_local_error(ctx, "cannot make %s private (mode 0600): %s", path,
                               strerror(errno));
    }
    f = xcheck(fdopen(fd, "w"));
    if (json_dumpf(doc, f, JSON_INDENT(2)) != 0 || fputc('\n', f) == EOF || fflush(f) != 0 ||
        fsync(fd) != 0)
        rc = cli_local_error(ctx, "cannot write %s: %s", path, strerror(errno));
    if (fclose(f) != 0 && rc == CLI_EXIT_OK)
        rc = cli_local_error(ctx, "cannot write %s: %s", path, strerror(errno));
    return rc;
}

int cli_transfer_export(struct cli_ctx *ctx)
{
    bool with_secrets = cli_flag(ctx->args, "with-secrets");
    const char *path = cli_opt_value(ctx->args, "output");
    struct sbc_error err;
    json_t *all = NULL, *doc = NULL, *list, *def, *info;
    const char **names = NULL, *name;
    char what[96];
    size_t n = 0;
    int rc;

    if (sbc_connections_list(ctx->client, &all, &err) != SBC_OK)
        return cli_fail(ctx, &err);
    names = xmalloc((json_object_size(all) + 1) * sizeof(*names));
    json_object_foreach (all, name, def)
        names[n++] = name;
    qsort(names, n, sizeof(*names), compare_strings);

    list = xcheck(json_array());
    doc = xcheck(json_pack("{s:o}", "connections", list));
    for (size_t i = 0; i < n; i++) {
        def = xcheck(json_deep_copy(json_object_get(all, names[i])));
        json_object_del(def, "id");
        json_object_del(def, "label");
        json_array_append_new(list, def);
        if (!with_secrets || !has_sealed(def))
            continue;
        progress(ctx, "exporting", i, n);
        if (sbc_connection_info(ctx->client, names[i], NULL, &info, &err) != SBC_OK) {
            if (ctx->progress)
                fputc('\n', ctx->err);
            rc = cli_fail(ctx, &err);
            fprintf(ctx->err,
                    "hint: the secrets of '%s' could not be read; nothing was "
                    "exported\n",
                    names[i]);
            goto out;
        }
        if (!open_secrets(def, info, what, sizeof(what))) {
            json_decref(info);
            rc = cli_local_error(ctx,
                                 "the server gave no plaintext for %s of connection '%s'; "
                                 "nothing was exported",
                                 what, names[i]);
            goto out;
        }
        json_decref(info);
    }
    if (with_secrets)
        progress(ctx, "exporting", n, n);

    if (!path) {
        cli_out_json(ctx->out, doc);
        rc = CLI_EXIT_OK;
    } else if ((rc = write_private(ctx, path, doc)) == CLI_EXIT_OK) {
        fprintf(ctx->out, "exported %zu connection%s to %s%s\n", n, n == 1 ? "" : "s", path,
                with_secrets ? " (secrets in plaintext: keep the file safe)" : "");
    }
out:
    free(names);
    json_decref(doc);
    json_decref(all);
    return rc;
}

/* The definitions to import from DOC ({"connections": [...]} or a bare array), without the
 * fields a server sets. OUT: a new array. Returns 0 or a usage error's exit code. */
static int import_items(struct cli_ctx *ctx, const json_t *doc, json_t **out)
{
    const json_t *items = json_is_array(doc) ? doc : json_object_get(doc, "connections");
    json_t *item;
    size_t i;

    *out = NULL;
    if (!json_is_array(items))
        return cli_usage_error(ctx, "'switchboard connections export' writes such a file",
                               "the file must hold {\"connections\": [definitions...]}");
    *out = xcheck(json_array());
    json_array_foreach ((json_t *)items, i, item) {
        json_t *copy;
        if (!json_is_object(item)) {
            json_decref(*out);
            *out = NULL;
            return cli_usage_error(ctx, "each connection is a JSON object",
                                   "connection #%zu of the file is not an object", i);
        }
        copy = xcheck(json_deep_copy(item));
        json_object_del(copy, "creationTag");
        json_object_del(copy, "id");
        json_object_del(copy, "label");
        json_array_append_new(*out, copy);
    }
    return 0;
}

static void print_names(FILE *out, const char *title, const json_t *names)
{
    char *joined = cli_out_join(names);

    fprintf(out, "%-8s %zu%s%s\n", title, json_array_size(names), *joined ? ": " : "", joined);
    free(joined);
}

int cli_transfer_import(struct cli_ctx *ctx)
{
    const char *mode = cli_opt_value(ctx->args, "on-conflict");
    bool dry_run = cli_flag(ctx->args, "dry-run");
    struct sbc_error err;
    json_t *doc = NULL, *items = NULL, *result = NULL, *errors, *e;
    bool conflicts = false;
    struct upload up = {.ctx = ctx};
    size_t i;
    int rc;

    if ((rc = cli_out_read_json(ctx, ctx->args->args[0], &doc)) != 0 ||
        (rc = import_items(ctx, doc, &items)) != 0)
        goto out;
    if (ctx->progress && !cli_flag(ctx->args, "quiet")) {
        fprintf(ctx->err, "importing %zu connections%s\n", json_array_size(items),
                dry_run ? " (dry run)" : "");
        sbc_client_set_progress(ctx->client, upload_progress, &up);
    }
    rc = sbc_connections_import(ctx->client, items, mode, dry_run, &result, &err);
    sbc_client_set_progress(ctx->client, NULL, NULL);
    if (rc != SBC_OK) {
        if (ctx->progress && !cli_flag(ctx->args, "quiet") && !up.finished)
            fputs("\r\033[K", ctx->err);
        rc = cli_fail(ctx, &err);
        goto out;
    }
    errors = json_object_get(result, "errors");
    if (ctx->args->json) {
        cli_out_json(ctx->out, result);
    } else {
        print_names(ctx->out, "created", json_object_get(result, "created"));
        print_names(ctx->out, "updated", json_object_get(result, "updated"));
        print_names(ctx->out, "skipped", json_object_get(result, "skipped"));
        fprintf(ctx->out, "%-8s %zu\n", "errors", json_array_size(errors));
        if (dry_run)
            fputs("dry run: nothing was changed\n", ctx->out);
    }
    json_array_foreach (errors, i, e) {
        const char *msg = json_string_value(json_object_get(e, "message"));
        const char *name = json_string_value(json_object_get(e, "name"));
        fprintf(ctx->err, "switchboard: ImportError: %s: %s\n", name ? name : "?", msg ? msg : "");
        if (msg && strstr(msg, "already exists"))
            conflicts = true;
    }
    if (json_array_size(errors) > 0) {
        if (!mode || strcmp(mode, "fail") == 0)
            fprintf(ctx->err, "hint: nothing was imported%s\n",
                    conflicts ? "; --on-conflict skip or --on-conflict overwrite deal with "
                                "connections that exist"
                              : "");
        rc = CLI_EXIT_REFUSED;
    }
out:
    json_decref(result);
    json_decref(items);
    json_decref(doc);
    return rc;
}
