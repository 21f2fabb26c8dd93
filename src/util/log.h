/* SPDX-License-Identifier: Apache-2.0 */
/* Logging to stderr (or a file put in its place), one line per event: text prefixed with a UTC
 * timestamp and the level, or one JSON object per line. The macros test the level before any
 * formatting. Never pass a key, a secret or a body. */
#ifndef SB_LOG_H
#define SB_LOG_H

#include <stdbool.h>

enum log_level { LOG_ERROR = 0, LOG_WARN, LOG_INFO, LOG_DEBUG };

extern enum log_level log_threshold;
extern bool log_json; /* one JSON object per line instead of text */

/* Parses "error", "warn", "info" or "debug"; returns -1 for anything else. */
int log_level_parse(const char *name);

/* Appends the log (and anything else written to standard error) to PATH, created 0640 if
 * needed; called again, reopens it, e.g. after logrotate renamed it (what is buffered goes to
 * the old file first). Returns 0, or -1 with errno set (the log goes on where it went). */
int log_open_file(const char *path);

void log_write(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The line of one answered request, at info level: METHOD, the route PATTERN (never the raw
 * path: it may hold a key), STATUS, the duration, the PRINCIPAL id ("-" for none), the
 * REQUEST_ID of X-Request-Id, and a NOTE ("" for none). */
void log_request(const char *method, const char *pattern, unsigned status, double ms,
                 const char *principal, const char *request_id, const char *note);

/* Writes the info and debug lines still buffered (warnings and errors never wait). Runs at exit
 * too; call it before anything that ends the process without exit(). */
void log_flush(void);

#define log_at(level, ...)                                                                         \
    do {                                                                                           \
        if ((level) <= log_threshold)                                                              \
            log_write((level), __VA_ARGS__);                                                       \
    } while (0)
#define log_error(...) log_at(LOG_ERROR, __VA_ARGS__)
#define log_warn(...) log_at(LOG_WARN, __VA_ARGS__)
#define log_info(...) log_at(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_at(LOG_DEBUG, __VA_ARGS__)

#endif
