/* SPDX-License-Identifier: Apache-2.0 */
/* Request metrics: fixed tables of relaxed atomic counters, indexed by route and by one of the
 * statuses the API answers, so that counting costs two atomic adds and no allocation. */
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/metrics.h"
#include "http/routes.h"
#include "util/mem.h"

#define MAX_ROUTES 128

static const unsigned statuses[] = {200, 400, 401, 403, 404, 405, 409, 413, 500, 503, 0};
#define N_STATUSES (sizeof(statuses) / sizeof(statuses[0])) /* the last is "other" */

static const double bucket_ms[] = {0.5, 1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500};
#define N_BUCKETS (sizeof(bucket_ms) / sizeof(bucket_ms[0]))

/* row MAX_ROUTES counts requests that matched no route */
static atomic_ullong counts[MAX_ROUTES + 1][N_STATUSES];
static atomic_ullong buckets[N_BUCKETS + 1];
static atomic_ullong duration_sum_us;
static atomic_int connections_open;
static atomic_int writes_in_flight;
static atomic_ullong writes_offloaded;

void metrics_connections_add(int delta)
{
    atomic_fetch_add_explicit(&connections_open, delta, memory_order_relaxed);
}

void metrics_writes_add(int delta)
{
    atomic_fetch_add_explicit(&writes_in_flight, delta, memory_order_relaxed);
}

void metrics_write_offloaded(void)
{
    atomic_fetch_add_explicit(&writes_offloaded, 1, memory_order_relaxed);
}

void metrics_count(const struct route *route, unsigned status, long long duration_us)
{
    int r = route ? routes_index(route) : MAX_ROUTES;
    size_t s = 0, b = 0;

    if (r < 0 || r >= MAX_ROUTES)
        r = MAX_ROUTES;
    while (statuses[s] != 0 && statuses[s] != status)
        s++;
    while (b < N_BUCKETS && (double)duration_us / 1000.0 > bucket_ms[b])
        b++;
    atomic_fetch_add_explicit(&counts[r][s], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&buckets[b], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&duration_sum_us,
                              (unsigned long long)(duration_us > 0 ? duration_us : 0),
                              memory_order_relaxed);
}

struct text {
    char *data;
    size_t len, cap;
};

static void emit(struct text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void emit(struct text *t, const char *fmt, ...)
{
    va_list ap;
    int n;

    for (;;) {
        va_start(ap, fmt);
        n = vsnprintf(t->data + t->len, t->cap - t->len, fmt, ap);
        va_end(ap);
        if (n >= 0 && (size_t)n < t->cap - t->len)
            break;
        t->cap = t->cap * 2 + (size_t)(n > 0 ? n : 0) + 256;
        t->data = xrealloc(t->data, t->cap);
    }
    t->len += (size_t)n;
}

char *metrics_render(long long store_bytes)
{
    struct text t = {xmalloc(4096), 0, 4096};
    unsigned long long cumulative = 0, total = 0;
    int n_routes = routes_count();

    t.data[0] = '\0';
    emit(&t, "# HELP switchboard_requests_total Requests answered, by route pattern and status.\n"
             "# TYPE switchboard_requests_total counter\n");
    for (int r = 0; r <= MAX_ROUTES; r++) {
        if (r >= n_routes && r != MAX_ROUTES)
            continue;
        for (size_t s = 0; s < N_STATUSES; s++) {
            unsigned long long c = atomic_load_explicit(&counts[r][s], memory_order_relaxed);
            char status[16];
            if (!c)
                continue;
            if (statuses[s])
                snprintf(status, sizeof(status), "%u", statuses[s]);
            else
                snprintf(status, sizeof(status), "other");
            if (r == MAX_ROUTES)
                emit(&t,
                     "switchboard_requests_total{method=\"\",route=\"unmatched\",status=\"%s\"} "
                     "%llu\n",
                     status, c);
            else
                emit(&t,
                     "switchboard_requests_total{method=\"%s\",route=\"%s\",status=\"%s\"} %llu\n",
                     routes_at(r)->method, routes_at(r)->pattern, status, c);
        }
    }
    emit(&t, "# HELP switchboard_request_duration_seconds Time to answer a request.\n"
             "# TYPE switchboard_request_duration_seconds histogram\n");
    for (size_t b = 0; b <= N_BUCKETS; b++) {
        cumulative += atomic_load_explicit(&buckets[b], memory_order_relaxed);
        if (b < N_BUCKETS)
            emit(&t, "switchboard_request_duration_seconds_bucket{le=\"%g\"} %llu\n",
                 bucket_ms[b] / 1000.0, cumulative);
    }
    total = cumulative;
    emit(&t, "switchboard_request_duration_seconds_bucket{le=\"+Inf\"} %llu\n", total);
    emit(&t, "switchboard_request_duration_seconds_sum %.6f\n",
         (double)atomic_load_explicit(&duration_sum_us, memory_order_relaxed) / 1e6);
    emit(&t, "switchboard_request_duration_seconds_count %llu\n", total);
    emit(&t,
         "# HELP switchboard_store_bytes Size of the store on disk, write-ahead log included.\n"
         "# TYPE switchboard_store_bytes gauge\n"
         "switchboard_store_bytes %lld\n",
         store_bytes);
    emit(&t,
         "# HELP switchboard_http_connections_open Client connections open now.\n"
         "# TYPE switchboard_http_connections_open gauge\n"
         "switchboard_http_connections_open %d\n",
         atomic_load_explicit(&connections_open, memory_order_relaxed));
    emit(&t,
         "# HELP switchboard_http_writes_in_flight Writes (changes) running now, from their "
         "transaction's start to their answer.\n"
         "# TYPE switchboard_http_writes_in_flight gauge\n"
         "switchboard_http_writes_in_flight %d\n"
         "# HELP switchboard_http_writes_offloaded_total Writes run on a write thread, their "
         "connection's request thread left free for its other connections.\n"
         "# TYPE switchboard_http_writes_offloaded_total counter\n"
         "switchboard_http_writes_offloaded_total %llu\n",
         atomic_load_explicit(&writes_in_flight, memory_order_relaxed),
         (unsigned long long)atomic_load_explicit(&writes_offloaded, memory_order_relaxed));
    return t.data;
}
