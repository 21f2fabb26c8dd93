/* SPDX-License-Identifier: Apache-2.0 */
/* Request metrics, served as Prometheus text on GET /metrics: counts by route pattern and
 * status, a latency histogram and the store's size. Nothing here names a connection, a
 * principal or a secret: routes are counted by pattern, never by path. */
#ifndef SB_METRICS_H
#define SB_METRICS_H

struct route;

/* Counts one answered request of ROUTE (NULL when no route matched) with STATUS, taking
 * DURATION_US. Lock-free; callable from any thread. */
void metrics_count(const struct route *route, unsigned status, long long duration_us);

/* An HTTP connection opened (+1) or closed (-1): the switchboard_http_connections_open gauge. */
void metrics_connections_add(int delta);

/* A write (a route run as one write) began (+1) or ended (-1): the
 * switchboard_http_writes_in_flight gauge. */
void metrics_writes_add(int delta);

/* A write went to a write thread (src/http/server.c): switchboard_http_writes_offloaded_total. */
void metrics_write_offloaded(void);

/* Writes the metrics in Prometheus text format; STORE_BYTES is the size of the store on disk.
 * Returns a new string (caller frees). */
char *metrics_render(long long store_bytes);

#endif
