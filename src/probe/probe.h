/* SPDX-License-Identifier: Apache-2.0 */
/* Live tests of connections ("probes") behind one small interface: a target (type, resolved
 * params) goes in, a result (ok, a sentence, a duration) comes out. Each driver family has its
 * own file (probe_fs.c, probe_pg.c, probe_mysql.c, probe_curl.c); every one of them is bounded
 * by the configured timeout, connects only to an address the fence allowed, and never reads a
 * local file named by a definition. Probes run on the worker pool (probe.c), never on a request
 * thread. */
#ifndef SB_PROBE_H
#define SB_PROBE_H

#include <jansson.h>
#include <stdbool.h>

#include "core/types.h"
#include "probe/fence.h"

struct probe_settings {
    long long timeout_s;
    struct fence fence;
    bool tls_required;      /* --probe-tls require: no probe runs without TLS */
    char known_hosts[1024]; /* --probe-known-hosts: SSH host keys SFTP probes accept */
};

struct probe_target {
    const struct conn_type *type;
    const json_t *params; /* secrets opened, variables expanded */
    bool allow_write;
};

struct probe_result {
    bool ok;
    char message[512];
    long long duration_ms;
};

/* Runs the tester of TARGET's type synchronously; the message never contains a secret value. */
void probe_run(const struct probe_settings *s, const struct probe_target *t,
               struct probe_result *out);

/* The testers, called by probe_run with a result whose message is empty. */
void probe_fs(const struct probe_settings *s, const struct probe_target *t,
              struct probe_result *out);
void probe_pg(const struct probe_settings *s, const struct probe_target *t,
              struct probe_result *out);
void probe_mysql(const struct probe_settings *s, const struct probe_target *t,
                 struct probe_result *out);
void probe_curl(const struct probe_settings *s, const struct probe_target *t,
                struct probe_result *out);

#define PROBE_SCRUB_MIN 3  /* secrets shorter than this are not masked (nor echoed) */
#define PROBE_SCRUB_MAX 32 /* most secret values masked in one message */

/* Replaces, in the NUL-terminated MSG (buffer of SIZE bytes, at most a probe message), every
 * occurrence of any of the N SECRETS with "***", longest match first, in one left-to-right
 * pass: it ends for any input. Returns how many were replaced. */
size_t probe_scrub(char *msg, size_t size, const char *const *secrets, size_t n);

/* The category of a result, for callers who may use a connection but not read its details
 * (docs/API.md §4.4): "succeeded", "denied by policy", "timeout", "connection refused",
 * "authentication", "missing database", "TLS", "host key", "name not resolved", "directory not
 * accessible", "invalid parameters", "server shutting down" or "failed". Static text. */
const char *probe_category(const struct probe_result *r);

/* Writes to OUT (SIZE bytes) the outcome of R and its category only, without the details the
 * full message may carry (host, port, database, path, server version). */
void probe_brief_message(const struct probe_result *r, char *out, size_t size);

/* Sets OUT to a failure with a printf-style sentence. */
void probe_fail(struct probe_result *out, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* The value of the entry NAME (compared without case) of T's params.properties, a list of
 * {"name", "value"} as DSS connections carry them; NULL when absent or not a string. */
const char *probe_property(const struct probe_target *t, const char *name);

/* The string param NAME of T, or FALLBACK. */
const char *probe_param(const struct probe_target *t, const char *name, const char *fallback);

/* --- the worker pool --- */

struct probe_job {
    struct probe_target target;
    json_t *params; /* owned: target.params points here */
    char conn_name[160];
    bool brief;      /* answer with the outcome and category only (probe_brief_message) */
    bool background; /* queued behind on-demand tests, on the workers they leave free */
    json_t *also;    /* background: names of connections that share this test's result */
    struct probe_result result;
    void (*done)(struct probe_job *job); /* called on a worker thread; owns the job from then */
    void *ctx;
    struct probe_job *next;
};

struct probe_pool;

/* Starts WORKERS threads running jobs with (a copy of) settings S. On-demand jobs are taken
 * first; background jobs (job->background) only on the workers that a quarter of the pool, at
 * least one, keeps free for on-demand ones (with one worker, they share it). */
struct probe_pool *probe_pool_start(const struct probe_settings *s, int workers);

/* Queues JOB. Returns false when the pool is stopping (JOB is then untouched). */
bool probe_pool_submit(struct probe_pool *pool, struct probe_job *job);

/* Jobs queued or running. */
int probe_pool_pending(struct probe_pool *pool);

/* Background jobs queued or running. */
int probe_pool_background_pending(struct probe_pool *pool);

/* Completes queued jobs with a "shutting down" failure, lets running ones finish until
 * DEADLINE_US (clock_mono_us; 0 = no deadline), then completes those still running with a
 * "stopped" failure and leaves their threads to end on their own. Otherwise joins the workers.
 * Completions run on the calling thread or a worker, never twice. Runs once. */
void probe_pool_stop(struct probe_pool *pool, long long deadline_us);

/* Frees a stopped POOL (stopping it first, without a deadline, if needed); a pool whose
 * workers were left running is kept instead. Submitting to a stopped pool fails cleanly, so
 * the pool may outlive its stop until no request can reach it. */
void probe_pool_free(struct probe_pool *pool);

#endif
