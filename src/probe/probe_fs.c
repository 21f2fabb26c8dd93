/* SPDX-License-Identifier: Apache-2.0 */
/* Filesystem: the root exists, is a directory, is readable, and writable when the connection
 * allows writes. Only metadata is read; nothing is created. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "probe/probe.h"
#include "util/limits.h"

void probe_fs(const struct probe_settings *s, const struct probe_target *t,
              struct probe_result *out)
{
    const char *root = probe_param(t, "root", NULL);
    char echo[SB_ECHO_MAX * 2];
    struct stat st;
    (void)s;

    if (!root) {
        probe_fail(out, "Param 'root' is missing.");
        return;
    }
    snprintf(echo, sizeof(echo), "%.120s", root);
    if (stat(root, &st) != 0) {
        probe_fail(out, "Directory %s is not accessible: %s.", echo, strerror(errno));
        return;
    }
    if (!S_ISDIR(st.st_mode)) {
        probe_fail(out, "%s exists but is not a directory.", echo);
        return;
    }
    if (access(root, R_OK | X_OK) != 0) {
        probe_fail(out, "Directory %s is not readable by the server: %s.", echo, strerror(errno));
        return;
    }
    if (t->allow_write && access(root, W_OK) != 0) {
        probe_fail(out,
                   "Directory %s is not writable by the server, and the connection allows "
                   "writes: %s.",
                   echo, strerror(errno));
        return;
    }
    out->ok = true;
    snprintf(out->message, sizeof(out->message), "Directory %s exists and is readable%s.", echo,
             t->allow_write ? " and writable" : "");
}
