/* SPDX-License-Identifier: Apache-2.0 */
/* Probe dispatch and the worker pool.
 *
 * The pool is a fixed set of threads (the probe-concurrency setting) taking jobs from one FIFO
 * queue, so that at most that many targets are being contacted at once and a request never
 * waits on a network peer itself: the HTTP layer suspends the request, queues the job, and the
 * job's completion resumes it. */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/secrets.h"
#include "probe/probe.h"
#include "util/clock.h"
#include "util/mem.h"

void probe_fail(struct probe_result *out, const char *fmt, ...)
{
    va_list ap;

    out->ok = false;
    va_start(ap, fmt);
    vsnprintf(out->message, sizeof(out->message), fmt, ap);
    va_end(ap);
}

const char *probe_param(const struct probe_target *t, const char *name, const char *fallback)
{
    const char *v = json_string_value(json_object_get(t->params, name));
    return v && *v ? v : fallback;
}

/* Replaces every occurrence of NEEDLE in MSG with "***". */
static void scrub(char *msg, size_t size, const char *needle)
{
    size_t nlen = strlen(needle);
    char *p;

    if (nlen < 3)
        return; /* too short to tell apart from ordinary words; such secrets are not echoed */
    while ((p = strstr(msg, needle))) {
        size_t tail = strlen(p + nlen);
        if (p + 3 + tail >= msg + size)
            tail = (size_t)(msg + size - p) - 4;
        memmove(p + 3, p + nlen, tail);
        memcpy(p, "***", 3);
        p[3 + tail] = '\0';
    }
}

void probe_run(const struct probe_settings *s, const struct probe_target *t,
               struct probe_result *out)
{
    long long start = clock_mono_us();
    const char *key;
    json_t *v;

    memset(out, 0, sizeof(*out));
    switch (t->type->tester) {
    case TESTER_FS: probe_fs(s, t, out); break;
    case TESTER_PG: probe_pg(s, t, out); break;
    case TESTER_MYSQL: probe_mysql(s, t, out); break;
    case TESTER_CURL: probe_curl(s, t, out); break;
    case TESTER_NONE:
        probe_fail(out, "Connections of type %s have no live test.", t->type->name);
        break;
    }
    out->duration_ms = (clock_mono_us() - start) / 1000;
    /* drivers may quote what they were given; never let that be a secret */
    json_object_foreach((json_t *)t->params, key, v)
        if (secrets_is_secret_param(key) && json_is_string(v))
            scrub(out->message, sizeof(out->message), json_string_value(v));
}

struct probe_pool {
    const struct probe_settings *settings;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    struct probe_job *head, *tail;
    int pending;
    bool stopping;
    int n_workers;
    pthread_t workers[];
};

static void *worker_main(void *arg)
{
    struct probe_pool *pool = arg;

    for (;;) {
        struct probe_job *job;
        pthread_mutex_lock(&pool->lock);
        while (!pool->head && !pool->stopping)
            pthread_cond_wait(&pool->wake, &pool->lock);
        job = pool->head;
        if (job) {
            pool->head = job->next;
            if (!pool->head)
                pool->tail = NULL;
        }
        bool stopping = pool->stopping;
        pthread_mutex_unlock(&pool->lock);
        if (!job)
            return NULL;
        if (stopping)
            probe_fail(&job->result, "The server is shutting down; the test did not run.");
        else
            probe_run(pool->settings, &job->target, &job->result);
        job->done(job);
        pthread_mutex_lock(&pool->lock);
        pool->pending--;
        pthread_mutex_unlock(&pool->lock);
    }
}

struct probe_pool *probe_pool_start(const struct probe_settings *s, int workers)
{
    struct probe_pool *pool = xcalloc(1, sizeof(*pool) + (size_t)workers * sizeof(pthread_t));

    pool->settings = s;
    pool->n_workers = workers;
    pthread_mutex_init(&pool->lock, NULL);
    pthread_cond_init(&pool->wake, NULL);
    for (int i = 0; i < workers; i++)
        if (pthread_create(&pool->workers[i], NULL, worker_main, pool) != 0)
            abort();
    return pool;
}

bool probe_pool_submit(struct probe_pool *pool, struct probe_job *job)
{
    bool ok;

    pthread_mutex_lock(&pool->lock);
    ok = !pool->stopping;
    if (ok) {
        job->next = NULL;
        if (pool->tail)
            pool->tail->next = job;
        else
            pool->head = job;
        pool->tail = job;
        pool->pending++;
        pthread_cond_signal(&pool->wake);
    }
    pthread_mutex_unlock(&pool->lock);
    return ok;
}

int probe_pool_pending(struct probe_pool *pool)
{
    int n;

    pthread_mutex_lock(&pool->lock);
    n = pool->pending;
    pthread_mutex_unlock(&pool->lock);
    return n;
}

void probe_pool_stop(struct probe_pool *pool)
{
    if (!pool)
        return;
    pthread_mutex_lock(&pool->lock);
    pool->stopping = true;
    pthread_cond_broadcast(&pool->wake);
    pthread_mutex_unlock(&pool->lock);
    for (int i = 0; i < pool->n_workers; i++)
        pthread_join(pool->workers[i], NULL);
    pthread_mutex_destroy(&pool->lock);
    pthread_cond_destroy(&pool->wake);
    free(pool);
}
