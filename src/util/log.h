/* SPDX-License-Identifier: Apache-2.0 */
/* Logging to stderr, one line per event, prefixed with a UTC timestamp and the level. The
 * macros test the level before any formatting. Never pass a key, a secret or a body. */
#ifndef SB_LOG_H
#define SB_LOG_H

enum log_level { LOG_ERROR = 0, LOG_WARN, LOG_INFO, LOG_DEBUG };

extern enum log_level log_threshold;

/* Parses "error", "warn", "info" or "debug"; returns -1 for anything else. */
int log_level_parse(const char *name);

void log_write(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

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
