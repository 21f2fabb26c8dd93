/* SPDX-License-Identifier: Apache-2.0 */
/* Live connection tests as the API serves them: GET /connections/{name}/test, the last result
 * of every test (GET /admin/connection-status), and the optional background prober. */
#ifndef SB_PROBER_PROBES_H
#define SB_PROBER_PROBES_H

#include "app.h"
#include <jansson.h>

#include "core/err.h"

struct probes;

/* Parses the probe settings, starts the worker pool and, when probe-interval is set, the
 * background prober. Returns NULL with ERR set on a bad setting. */
struct probes *probes_start(struct app *app, struct sb_err *err);

/* Stops the background prober and the pool (queued tests complete as "shutting down"; tests
 * still running at DEADLINE_US, a clock_mono_us time or 0 for none, are answered as stopped and
 * left behind), and frees P. The HTTP server must still be running: completions resume their
 * requests. */
void probes_stop(struct probes *p, long long deadline_us);

/* A copy of the last result of connection NAME ({connectionOK, message, durationMs, testedOn};
 * caller decrefs), or NULL when it was never tested. */
json_t *probes_status_of(struct probes *p, const char *name);

/* Forgets the last result of connection NAME (it was deleted). */
void probes_forget(struct probes *p, const char *name);

/* Writes the probe outcome counters in Prometheus text (for GET /metrics); caller frees. */
char *probes_metrics(struct probes *p);

#endif
