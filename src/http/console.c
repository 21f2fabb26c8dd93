/* SPDX-License-Identifier: Apache-2.0 */
/* Serving the embedded console (see console.h). The files are public: everything they show
 * comes from the API, which checks the caller on every request. */
#include <stdio.h>
#include <string.h>

#include "http/console.h"
#include "http/request.h"

const struct console_file *console_file_find(const char *path)
{
    for (int i = 0; i < console_files_count; i++)
        if (strcmp(console_files[i].path, path) == 0)
            return &console_files[i];
    return NULL;
}

static void serve(struct request *req, const char *path)
{
    const struct console_file *f = console_file_find(path);

    if (!f) {
        reply_errorf(req, SB_ERR_NOT_FOUND, "The console has no file at this path.");
        return;
    }
    reply_static(req, 200, f->content_type, f->data, f->len);
}

void console_redirect(struct request *req)
{
    reply_redirect(req, "/console/");
}

void console_index(struct request *req)
{
    serve(req, "/index.html");
}

void console_file(struct request *req)
{
    char path[256];

    snprintf(path, sizeof(path), "/%s", req_param(req, 0));
    serve(req, path);
}

void console_file_in_dir(struct request *req)
{
    char path[256];

    snprintf(path, sizeof(path), "/%s/%s", req_param(req, 0), req_param(req, 1));
    serve(req, path);
}
