/* SPDX-License-Identifier: Apache-2.0 */
/* Probe dispatch and the worker pool.
 *
 * The pool is a fixed set of threads (the probe-concurrency setting) taking jobs from two FIFO
 * queues, so that at most that many targets are being contacted at once and a request never
 * waits on a network peer itself: the HTTP layer suspends the request, queues the job, and the
 * job's completion resumes it. On-demand tests have their own queue, always served first, and
 * a share of the workers that background tests cannot take: however long the background
 * queue, an on-demand test starts within one probe slot. */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "core/secrets.h"
#include "probe/probe.h"
#include "util/clock.h"
#include "util/mem.h"
#include "util/utf8.h"

void probe_fail(struct probe_result *out, const char *fmt, ...)
{
    va_list ap;

    out->ok = false;
    va_start(ap, fmt);
    vsnprintf(out->message, sizeof(out->message), fmt, ap);
    va_end(ap);
}

const char *probe_property(const struct probe_target *t, const char *name)
{
    json_t *prop;
    size_t i;

    json_array_foreach (json_object_get(t->params, "properties"), i, prop) {
        const char *n = json_string_value(json_object_get(prop, "name"));
        const char *v = json_string_value(json_object_get(prop, "value"));
        if (n && v && strcasecmp(n, name) == 0)
            return v;
    }
    return NULL;
}

const char *probe_param(const struct probe_target *t, const char *name, const char *fallback)
{
    const char *v = json_string_value(json_object_get(t->params, name));
    return v && *v ? v : fallback;
}

size_t probe_scrub(char *msg, size_t size, const char *const *secrets, size_t n)
{
    enum { CAP = sizeof(((struct probe_result *)0)->message) };
    char out[CAP];
    bool covered[CAP] = {false};
    size_t len = strnlen(msg, size < CAP ? size : CAP), o = 0, runs = 0;

    if (size == 0)
        return 0;
    if (len == (size < CAP ? size : CAP))
        len--; /* not terminated within the buffer: treat its last byte as the end */
    /* mark every byte inside an occurrence of any secret, so that overlapping secrets and
     * one secret inside another leave nothing of either; then write each marked run as one
     * mask. Two bounded passes: this ends for any input, a secret equal to "***" included */
    for (size_t i = 0; i < n; i++) {
        size_t slen = secrets[i] ? strlen(secrets[i]) : 0;
        /* shorter values are too close to ordinary words; such secrets are not echoed */
        if (slen < PROBE_SCRUB_MIN || slen > len)
            continue;
        for (size_t at = 0; at + slen <= len; at++)
            if (memcmp(msg + at, secrets[i], slen) == 0)
                memset(covered + at, true, slen);
    }
    for (size_t at = 0; at < len && o + 1 < size && o + 1 < CAP;) {
        if (!covered[at]) {
            out[o++] = msg[at++];
            continue;
        }
        for (const char *m = "***"; *m && o + 1 < size && o + 1 < CAP; m++)
            out[o++] = *m;
        while (at < len && covered[at])
            at++;
        runs++;
    }
    out[o] = '\0';
    memcpy(msg, out, o + 1);
    explicit_bzero(out, sizeof(out));
    return runs;
}

const char *probe_category(const struct probe_result *r)
{
    /* the testers' sentences use these words for these outcomes (probe_*.c, fence.c); the
     * first that matches wins, so the more specific come first */
    static const struct {
        const char *word, *category;
    } rules[] = {
        {"policy", "denied by policy"},
        {"shutting down", "server shutting down"},
        {"line break", "invalid parameters"},
        {"internationalised", "invalid parameters"},
        {"Param '", "invalid parameters"},
        {"not valid", "invalid parameters"},
        {"must be", "invalid parameters"},
        {"timed out", "timeout"},
        {"authentication", "authentication"},
        {"database missing", "missing database"},
        {"TLS", "TLS"},
        {"host key", "host key"},
        {"not resolved", "name not resolved"},
        {"refused", "connection refused"},
        {"irectory", "directory not accessible"},
        {"not a directory", "directory not accessible"},
    };

    if (r->ok)
        return "succeeded";
    for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++)
        if (strstr(r->message, rules[i].word))
            return rules[i].category;
    return "failed";
}

void probe_brief_message(const struct probe_result *r, char *out, size_t size)
{
    if (r->ok)
        snprintf(out, size, "The connection test succeeded.");
    else
        snprintf(out, size, "The connection test failed: %s.", probe_category(r));
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
    {
        const char *values[PROBE_SCRUB_MAX];
        size_t n = 0;
        json_object_foreach ((json_t *)t->params, key, v)
            if (secrets_is_secret_param(key) && json_is_string(v) && n < PROBE_SCRUB_MAX)
                values[n++] = json_string_value(v);
        /* and every property marked secret */
        size_t i;
        json_t *prop;
        json_array_foreach (json_object_get(t->params, "properties"), i, prop)
            if (json_is_true(json_object_get(prop, "secret")) && n < PROBE_SCRUB_MAX &&
                json_is_string(json_object_get(prop, "value")))
                values[n++] = json_string_value(json_object_get(prop, "value"));
        probe_scrub(out->message, sizeof(out->message), values, n);
    }
    /* a peer's own words may be anything: keep the sentence printable, valid UTF-8 text */
    for (char *c = out->message; *c; c++)
        if ((unsigned char)*c < 0x20 || *c == 0x7f)
            *c = ' ';
    if (!utf8_valid(out->message))
        for (char *c = out->message; *c; c++)
            if ((unsigned char)*c >= 0x80)
                *c = '?';
}

struct probe_pool {
    struct probe_settings settings; /* a copy: an abandoned worker may outlive its owner's */
    pthread_mutex_t lock;
    pthread_cond_t wake; /* a job was queued, or the pool is stopping */
    pthread_cond_t idle; /* a worker finished its job */
    struct queue {
        struct probe_job *head, *tail;
    } urgent, background; /* on-demand tests first; background ones on the workers left */
    int pending;
    int background_pending; /* background jobs queued or running */
    int background_busy;    /* workers running a background job */
    int background_max;     /* most workers background jobs may hold at once */
    int busy;               /* workers running a job */
    bool stopping;
    bool abandoned; /* the owner left; workers still running exit without completing */
    bool stopped;   /* probe_pool_stop ran */
    int n_workers;
    struct probe_job **running; /* per worker: the job it runs, NULL when idle or taken back */
    pthread_t workers[];
};

static void queue_push(struct queue *q, struct probe_job *job)
{
    job->next = NULL;
    if (q->tail)
        q->tail->next = job;
    else
        q->head = job;
    q->tail = job;
}

static struct probe_job *queue_pop(struct queue *q)
{
    struct probe_job *job = q->head;

    if (job) {
        q->head = job->next;
        if (!q->head)
            q->tail = NULL;
    }
    return job;
}

/* The queue a free worker takes from: on-demand tests always; background ones only while
 * fewer than background_max workers run them, so that an on-demand test never waits for more
 * than one probe slot. Pool lock held. */
static struct queue *next_queue(struct probe_pool *pool)
{
    if (pool->urgent.head)
        return &pool->urgent;
    if (pool->background.head && pool->background_busy < pool->background_max)
        return &pool->background;
    return NULL;
}

struct worker_arg {
    struct probe_pool *pool;
    int index;
};

/* Completes JOB with a "did not run to the end" failure; pool lock held. */
static void complete_unrun(struct probe_job *job, const char *why)
{
    probe_fail(&job->result, "%s", why);
    job->done(job);
}

static void *worker_main(void *arg)
{
    struct probe_pool *pool = ((struct worker_arg *)arg)->pool;
    int me = ((struct worker_arg *)arg)->index;

    free(arg);
    pthread_mutex_lock(&pool->lock);
    for (;;) {
        struct probe_job *job;
        struct probe_target target;
        struct probe_result result;
        json_t *params;
        bool background;

        while (!pool->stopping && !next_queue(pool))
            pthread_cond_wait(&pool->wake, &pool->lock);
        if (pool->stopping)
            break; /* probe_pool_stop completes what is queued */
        job = queue_pop(next_queue(pool));
        background = job->background;
        if (background)
            pool->background_busy++;
        /* the worker runs on its own copy: when the pool is stopped before the probe ends,
         * the job goes back to its owner while this thread still reads the target */
        params = xcheck(json_deep_copy(job->target.params));
        target = job->target;
        target.params = params;
        pool->running[me] = job;
        pool->busy++;
        pthread_mutex_unlock(&pool->lock);

        probe_run(&pool->settings, &target, &result);
        json_decref(params);

        /* JOB is read again only when it is still this worker's: probe_pool_stop may have
         * handed it back meanwhile, and its owner freed it */
        pthread_mutex_lock(&pool->lock);
        pool->busy--;
        if (background) {
            pool->background_busy--;
            pthread_cond_signal(&pool->wake); /* a background job may now take this slot */
        }
        if (pool->abandoned)
            break;
        if (pool->running[me] == job) { /* not taken back by probe_pool_stop */
            pool->running[me] = NULL;
            job->result = result;
            if (background)
                pool->background_pending--;
            job->done(job); /* under the lock, so that the stopper never completes it too */
            pool->pending--;
        }
        pthread_cond_broadcast(&pool->idle);
    }
    pthread_mutex_unlock(&pool->lock);
    return NULL;
}

struct probe_pool *probe_pool_start(const struct probe_settings *s, int workers)
{
    struct probe_pool *pool = xcalloc(1, sizeof(*pool) + (size_t)workers * sizeof(pthread_t));

    pool->settings = *s;
    pool->n_workers = workers;
    /* a quarter of the workers (at least one) is kept for on-demand tests */
    pool->background_max = workers > 1 ? workers - (workers + 3) / 4 : 1;
    pool->running = xcalloc((size_t)workers, sizeof(*pool->running));
    pthread_mutex_init(&pool->lock, NULL);
    pthread_cond_init(&pool->wake, NULL);
    pthread_cond_init(&pool->idle, NULL);
    for (int i = 0; i < workers; i++) {
        struct worker_arg *arg = xmalloc(sizeof(*arg));
        arg->pool = pool;
        arg->index = i;
        if (pthread_create(&pool->workers[i], NULL, worker_main, arg) != 0)
            abort();
    }
    return pool;
}

bool probe_pool_submit(struct probe_pool *pool, struct probe_job *job)
{
    bool ok;

    pthread_mutex_lock(&pool->lock);
    ok = !pool->stopping;
    if (ok) {
        queue_push(job->background ? &pool->background : &pool->urgent, job);
        pool->pending++;
        if (job->background)
            pool->background_pending++;
        pthread_cond_broadcast(&pool->wake);
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

int probe_pool_background_pending(struct probe_pool *pool)
{
    int n;

    pthread_mutex_lock(&pool->lock);
    n = pool->background_pending;
    pthread_mutex_unlock(&pool->lock);
    return n;
}

/* Pools whose workers were left running at shutdown: kept reachable, never freed. */
static struct probe_pool *abandoned_pools[8];

void probe_pool_stop(struct probe_pool *pool, long long deadline_us)
{
    struct timespec until;
    bool abandon = false;

    if (!pool)
        return;
    pthread_mutex_lock(&pool->lock);
    if (pool->stopped) {
        pthread_mutex_unlock(&pool->lock);
        return;
    }
    pool->stopped = true;
    pool->stopping = true;
    pthread_cond_broadcast(&pool->wake);
    for (struct probe_job *job;
         (job = queue_pop(&pool->urgent)) || (job = queue_pop(&pool->background));) {
        pool->pending--;
        if (job->background)
            pool->background_pending--;
        complete_unrun(job, "The server is shutting down; the test did not run.");
    }
    while (pool->busy > 0 && deadline_us > 0) {
        long long left = deadline_us - clock_mono_us();
        if (left <= 0)
            break;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += left / 1000000;
        until.tv_nsec += (left % 1000000) * 1000;
        if (until.tv_nsec >= 1000000000) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000;
        }
        pthread_cond_timedwait(&pool->idle, &pool->lock, &until);
    }
    while (pool->busy > 0 && deadline_us <= 0)
        pthread_cond_wait(&pool->idle, &pool->lock);
    if (pool->busy > 0) {
        /* the grace is over: answer the running tests now and leave their threads behind
         * (each ends at its own probe timeout, touching nothing but its copy and this pool) */
        abandon = pool->abandoned = true;
        for (int i = 0; i < pool->n_workers; i++)
            if (pool->running[i]) {
                struct probe_job *job = pool->running[i];
                pool->running[i] = NULL;
                pool->pending--;
                if (job->background)
                    pool->background_pending--;
                complete_unrun(job, "The server is shutting down; the test was stopped before "
                                    "it ended.");
            }
    }
    pthread_mutex_unlock(&pool->lock);
    if (abandon) {
        for (size_t i = 0; i < sizeof(abandoned_pools) / sizeof(abandoned_pools[0]); i++)
            if (!abandoned_pools[i]) {
                abandoned_pools[i] = pool;
                break;
            }
        for (int i = 0; i < pool->n_workers; i++)
            pthread_detach(pool->workers[i]);
        return;
    }
    for (int i = 0; i < pool->n_workers; i++)
        pthread_join(pool->workers[i], NULL);
}

void probe_pool_free(struct probe_pool *pool)
{
    if (!pool || pool->abandoned)
        return; /* left to its running workers: kept reachable, never freed */
    probe_pool_stop(pool, 0);
    pthread_mutex_destroy(&pool->lock);
    pthread_cond_destroy(&pool->wake);
    pthread_cond_destroy(&pool->idle);
    free(pool->running);
    free(pool);
}
