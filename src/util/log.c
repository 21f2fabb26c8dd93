/* SPDX-License-Identifier: Apache-2.0 */
/* Line-oriented logging to stderr. Each line is formatted into one buffer and handed whole to
 * the sink below, so that lines from concurrent threads never interleave.
 *
 * The sink: info and debug lines (one per request) are gathered in a 64 KiB buffer and written
 * with one write(2) when it fills, or by a flusher thread at most 50 ms after the first of them,
 * instead of one write(2) per request. A warning or an error is written at once, after what the
 * buffer holds, so that it is never late and the order of lines is kept. log_flush (also run at
 * exit) writes what is left: a clean stop loses no line. */
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "util/log.h"

enum log_level log_threshold = LOG_INFO;

static const char *const level_names[] = {"error", "warn", "info", "debug"};

int log_level_parse(const char *name)
{
    for (int i = 0; i < (int)(sizeof(level_names) / sizeof(level_names[0])); i++)
        if (strcmp(name, level_names[i]) == 0)
            return i;
    return -1;
}

/* ---- the sink ---- */

#define LOG_BUF_BYTES (64 * 1024)
#define LOG_FLUSH_MS 50

static pthread_mutex_t sink_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t sink_once = PTHREAD_ONCE_INIT;
static char sink_buf[LOG_BUF_BYTES];
static size_t sink_len;
static bool sink_threaded; /* a flusher thread runs: buffering is allowed */

static void write_all(const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(STDERR_FILENO, p, n);
        if (w <= 0)
            return; /* nowhere to report it */
        p += w;
        n -= (size_t)w;
    }
}

static void flush_locked(void)
{
    write_all(sink_buf, sink_len);
    sink_len = 0;
}

void log_flush(void)
{
    pthread_mutex_lock(&sink_lock);
    flush_locked();
    pthread_mutex_unlock(&sink_lock);
}

static void *sink_flusher(void *arg)
{
    struct timespec pause = {0, LOG_FLUSH_MS * 1000000L};
    (void)arg;
    for (;;) {
        nanosleep(&pause, NULL);
        log_flush();
    }
    return NULL;
}

static void sink_start(void)
{
    pthread_t t;
    pthread_attr_t attr;

    atexit(log_flush);
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    sink_threaded = pthread_create(&t, &attr, sink_flusher, NULL) == 0;
    pthread_attr_destroy(&attr);
}

/* Writes LINE (N bytes, newline included) through the buffer; URGENT lines go out at once. */
static void sink_write(const char *line, size_t n, bool urgent)
{
    pthread_once(&sink_once, sink_start);
    pthread_mutex_lock(&sink_lock);
    if (sink_len + n > sizeof(sink_buf))
        flush_locked();
    if (urgent || !sink_threaded || n > sizeof(sink_buf)) {
        flush_locked();
        write_all(line, n);
    } else {
        memcpy(sink_buf + sink_len, line, n);
        sink_len += n;
    }
    pthread_mutex_unlock(&sink_lock);
}

void log_write(enum log_level level, const char *fmt, ...)
{
    char line[2048];
    struct timeval tv;
    struct tm tm;
    va_list ap;
    int n;

    gettimeofday(&tv, NULL);
    gmtime_r(&tv.tv_sec, &tm);
    n = (int)strftime(line, sizeof(line), "%Y-%m-%dT%H:%M:%S", &tm);
    n += snprintf(line + n, sizeof(line) - (size_t)n, ".%03ldZ %-5s ", (long)(tv.tv_usec / 1000),
                  level_names[level]);
    va_start(ap, fmt);
    int m = vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
    va_end(ap);
    if (m < 0)
        m = 0;
    n += m;
    if (n > (int)sizeof(line) - 2)
        n = (int)sizeof(line) - 2;
    line[n++] = '\n';
    sink_write(line, (size_t)n, level <= LOG_WARN);
}
