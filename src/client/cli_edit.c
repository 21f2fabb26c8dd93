/* SPDX-License-Identifier: Apache-2.0 */
/* `connections edit NAME`: the definition, pretty-printed into a private temporary file
 * (mode 0600: it holds the encrypted secrets), opened in $EDITOR (else vi), then saved with a
 * PUT that carries the creationTag.versionNumber that was read, so that the server refuses
 * (409) when someone saved the connection in between instead of silently losing their change.
 * When the save does not happen, the edited file is kept and its path printed. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "client/cli.h"
#include "client/cli_out.h"
#include "util/mem.h"

/* The whole content of PATH, NUL-terminated. Caller frees; NULL (errno set) on failure. */
static char *read_file(const char *path)
{
    FILE *f = fopen(path, "r");
    char *data = NULL;
    size_t len = 0, cap = 0, got;

    if (!f)
        return NULL;
    do {
        if (cap - len < 4096) {
            cap = cap ? cap * 2 : 8192;
            data = xrealloc(data, cap + 1);
        }
        got = fread(data + len, 1, cap - len, f);
        len += got;
    } while (got > 0);
    if (ferror(f)) {
        int saved = errno;
        free(data);
        fclose(f);
        errno = saved;
        return NULL;
    }
    fclose(f);
    data[len] = '\0';
    return data;
}

/* Runs $EDITOR (a shell word list, as git does; else vi) on PATH and waits for it. Returns 0,
 * or -1 with the reason in WHY. */
static int run_editor(const char *path, char *why, size_t size)
{
    const char *editor = getenv("EDITOR");
    char *cmd;
    size_t n;
    pid_t pid;
    int status;

    if (!editor || !*editor)
        editor = "vi";
    n = strlen(editor) + sizeof(" \"$1\"");
    cmd = xmalloc(n);
    snprintf(cmd, n, "%s \"$1\"", editor);
    fflush(NULL);
    pid = fork();
    if (pid == 0) {
        execl("/bin/sh", "sh", "-c", cmd, "sh", path, (char *)NULL);
        _exit(127);
    }
    free(cmd);
    if (pid < 0) {
        snprintf(why, size, "cannot start the editor: %s", strerror(errno));
        return -1;
    }
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR) {
            snprintf(why, size, "cannot wait for the editor: %s", strerror(errno));
            return -1;
        }
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return 0;
    if (WIFEXITED(status))
        snprintf(why, size, "the editor (%.60s) exited with status %d", editor,
                 WEXITSTATUS(status));
    else
        snprintf(why, size, "the editor (%.60s) was stopped by signal %d", editor,
                 WIFSIGNALED(status) ? WTERMSIG(status) : 0);
    return -1;
}

/* Writes TEXT to a new private temporary file; OUT: its path (caller frees). */
static int write_temp(struct cli_ctx *ctx, const char *text, char **out)
{
    const char *dir = getenv("TMPDIR");
    size_t n, len = strlen(text);
    char *path;
    int fd;

    *out = NULL;
    if (!dir || !*dir)
        dir = "/tmp";
    n = strlen(dir) + sizeof("/switchboard-edit-XXXXXX.json");
    path = xmalloc(n);
    snprintf(path, n, "%s/switchboard-edit-XXXXXX.json", dir);
    fd = mkstemps(path, 5);
    if (fd < 0) {
        int rc =
            cli_local_error(ctx, "cannot create a temporary file in %s: %s", dir, strerror(errno));
        free(path);
        return rc;
    }
    if (fchmod(fd, 0600) != 0 || write(fd, text, len) != (ssize_t)len || close(fd) != 0) {
        int rc = cli_local_error(ctx, "cannot write %s: %s", path, strerror(errno));
        unlink(path);
        free(path);
        return rc;
    }
    *out = path;
    return CLI_EXIT_OK;
}

int cli_edit_connection(struct cli_ctx *ctx)
{
    const char *name = ctx->args->args[0];
    struct sbc_error err;
    json_error_t jerr;
    json_t *def = NULL, *edited = NULL, *stored = NULL, *version;
    char *before = NULL, *after = NULL, *path = NULL, why[256];
    bool keep = false;
    int rc;

    if (sbc_connection_get(ctx->client, name, &def, &err) != SBC_OK)
        return cli_fail(ctx, &err);
    before = xcheck(json_dumps(def, JSON_INDENT(2)));
    after = xmalloc(strlen(before) + 2);
    snprintf(after, strlen(before) + 2, "%s\n", before);
    free(before);
    before = after;
    after = NULL;
    if ((rc = write_temp(ctx, before, &path)) != CLI_EXIT_OK)
        goto out;
    if (run_editor(path, why, sizeof(why)) != 0) {
        rc = cli_local_error(ctx, "%s; nothing was saved", why);
        goto out;
    }
    if (!(after = read_file(path))) {
        rc = cli_local_error(ctx, "cannot read %s back: %s", path, strerror(errno));
        keep = true;
        goto out;
    }
    if (strcmp(before, after) == 0) {
        fprintf(ctx->out, "no change: connection %s left as it was\n", name);
        rc = CLI_EXIT_OK;
        goto out;
    }
    keep = true;
    if (!(edited = json_loads(after, 0, &jerr)) || !json_is_object(edited)) {
        if (edited)
            snprintf(why, sizeof(why), "it is not a JSON object");
        else
            cli_out_json_error(why, sizeof(why), &jerr);
        rc = cli_local_error(ctx, "the edited definition is not valid: %s; nothing was saved", why);
        fprintf(ctx->err,
                "hint: your edit is kept in %s; fix it and run 'switchboard "
                "connections set %s %s'\n",
                path, name, path);
        goto out;
    }
    /* saved only if nobody saved a newer version meanwhile (If-Match: the version read) */
    version = json_object_get(json_object_get(def, "creationTag"), "versionNumber");
    if (sbc_connection_save_if_match(ctx->client, name, edited,
                                     json_is_integer(version) ? json_integer_value(version) : -1,
                                     &stored, &err) != SBC_OK) {
        rc = cli_fail(ctx, &err);
        if (err.http_status == 409 || err.http_status == 412)
            fprintf(ctx->err,
                    "hint: someone saved connection '%s' while you were editing it; "
                    "run 'switchboard connections edit %s' again (your edit is kept "
                    "in %s)\n",
                    name, name, path);
        else
            fprintf(ctx->err, "hint: your edit is kept in %s\n", path);
        goto out;
    }
    keep = false;
    if (ctx->args->json)
        cli_out_json(ctx->out, stored);
    else
        fprintf(ctx->out, "saved connection %s (now version %lld)\n", name,
                (long long)json_integer_value(
                    json_object_get(json_object_get(stored, "creationTag"), "versionNumber")));
    rc = CLI_EXIT_OK;
out:
    if (path && !keep)
        unlink(path);
    free(path);
    free(before);
    free(after);
    json_decref(stored);
    json_decref(edited);
    json_decref(def);
    return rc;
}
