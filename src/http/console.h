/* SPDX-License-Identifier: Apache-2.0 */
/* The web console's files, embedded in the binary at build time (the Makefile runs
 * scripts/embed_console.sh over console/ into build/gen/console_files.c), and the routes that
 * serve them: "/" redirects to "/console/", which is the single page; its modules and styles
 * are under /console/. */
#ifndef SB_HTTP_CONSOLE_H
#define SB_HTTP_CONSOLE_H

#include <stddef.h>

struct request;

struct console_file {
    const char *path; /* "/index.html", "/js/app.js" */
    const char *content_type;
    const unsigned char *data;
    size_t len;
};

extern const struct console_file console_files[];
extern const int console_files_count;

/* The file at PATH, or NULL. */
const struct console_file *console_file_find(const char *path);

void console_redirect(struct request *req);
void console_index(struct request *req);
void console_file(struct request *req);
void console_file_in_dir(struct request *req);

#endif
