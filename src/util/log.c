/* SPDX-License-Identifier: Apache-2.0 */
/* Line-oriented logging to stderr. Each line is formatted into one buffer and handed whole to
 * the sink below, so that lines from concurrent threads never interleave.
 *
 * The sink: info and debug lines (one per request) are gathered in a 64 KiB buffer and written
 * with one write(2) when it fills, or by a flusher thread at most 50 ms after the first of them,
 * instead of one write(2) per request. A warning or an error is written at once, after what the
 * buffer holds, so that it is never late and the order of lines is kept. log_flush (also run at
 * exit) writes what is left: a clean stop loses no line.
 *
 * A log file replaces descriptor 2 itself (dup2 is atomic), so that reopening it never loses or
 * splits a line and what libraries print to stderr goes to the same place. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
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
bool log_json = false;

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

int log_open_file(const char *path)
{
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
    int rc = 0, saved = 0;

    if (fd < 0)
        return -1;
    pthread_mutex_lock(&sink_lock);
    flush_locked(); /* buffered lines belong to the file they were logged to */
    if (dup2(fd, STDERR_FILENO) < 0) {
        saved = errno;
        rc = -1;
    }
    pthread_mutex_unlock(&sink_lock);
    close(fd);
    errno = saved;
    return rc;
}

/* "2026-11-30T14:23:14.123Z" into OUT; returns its length. */
static int format_time(char *out, size_t size)
{
    struct timeval tv;
    struct tm tm;
    int n;

    gettimeofday(&tv, NULL);
    gmtime_r(&tv.tv_sec, &tm);
    n = (int)strftime(out, size, "%Y-%m-%dT%H:%M:%S", &tm);
    n += snprintf(out + n, size - (size_t)n, ".%03ldZ", (long)(tv.tv_usec / 1000));
    return n;
}

/* Writes OBJ (stolen) as one JSON line. */
static void write_json(json_t *obj, bool urgent)
{
    char *text = json_dumps(obj, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(obj);
    if (!text)
        return;
    size_t len = strlen(text);
    char *line = realloc(text, len + 1);
    if (!line) {
        free(text);
        return;
    }
    line[len] = '\n';
    sink_write(line, len + 1, urgent);
    free(line);
}

/* The object of a JSON line; a MESSAGE that is not UTF-8 has its other bytes replaced by '?'. */
static json_t *json_line_start(enum log_level level, const char *message)
{
    char when[40], safe[2048];
    json_t *obj;

    format_time(when, sizeof(when));
    obj =
        json_pack("{s:s, s:s, s:s}", "time", when, "level", level_names[level], "message", message);
    if (obj)
        return obj;
    snprintf(safe, sizeof(safe), "%s", message);
    for (char *p = safe; *p; p++)
        if ((unsigned char)*p >= 0x80)
            *p = '?';
    return json_pack("{s:s, s:s, s:s}", "time", when, "level", level_names[level], "message", safe);
}

void log_write(enum log_level level, const char *fmt, ...)
{
    char line[2048];
    va_list ap;
    int n = 0;

    if (!log_json) {
        n = format_time(line, sizeof(line));
        n += snprintf(line + n, sizeof(line) - (size_t)n, " %-5s ", level_names[level]);
    }
    va_start(ap, fmt);
    int m = vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
    va_end(ap);
    if (m < 0)
        m = 0;
    n += m;
    if (n > (int)sizeof(line) - 2)
        n = (int)sizeof(line) - 2;
    if (log_json) {
        line[n] = '\0';
        json_t *obj = json_line_start(level, line);
        if (obj)
            write_json(obj, level <= LOG_WARN);
        return;
    }
    line[n++] = '\n';
    sink_write(line, (size_t)n, level <= LOG_WARN);
}

void log_request(const char *method, const char *pattern, unsigned status, double ms,
                 const char *principal, const char *request_id, const char *note)
{
    if (LOG_INFO > log_threshold)
        return;
    if (!log_json) {
        log_write(LOG_INFO, "%s %s %u %.2fms %s rid=%s%s%s", method, pattern, status, ms, principal,
                  request_id, *note ? " " : "", note);
        return;
    }
    char message[512];
    snprintf(message, sizeof(message), "%s %s %u", method, pattern, status);
    json_t *obj = json_line_start(LOG_INFO, message);
    if (!obj)
        return;
    json_object_set_new(obj, "method", json_string(method));
    json_object_set_new(obj, "route", json_string(pattern));
    json_object_set_new(obj, "status", json_integer(status));
    json_object_set_new(obj, "durationMs", json_real(ms));
    json_object_set_new(obj, "principal", json_string(principal));
    json_object_set_new(obj, "requestId", json_string(request_id));
    if (*note)
        json_object_set_new(obj, "note", json_string(note));
    write_json(obj, false);
}
