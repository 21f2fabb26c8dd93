/* SPDX-License-Identifier: Apache-2.0 */
/* Live connection tests as background work: the worker pool, the last result of every test
 * and its history, and the optional background prober. The handlers that serve them are in
 * api/probes.c. */
#ifndef SB_PROBER_PROBES_H
#define SB_PROBER_PROBES_H

#include "app.h"
#include <jansson.h>

#include "core/err.h"
#include <stdbool.h>
#include <stddef.h>

struct probes;

/* Parses the probe settings, starts the worker pool and, when probe-interval is set, the
 * background prober. Returns NULL with ERR set on a bad setting. */
struct probes *probes_start(struct app *app, struct sb_err *err);

/* Stops the background prober and the pool (queued tests complete as "shutting down"; tests
 * still running at DEADLINE_US, a clock_mono_us time or 0 for none, are answered as stopped and
 * left behind). The HTTP server must still be running: completions resume their requests.
 * P stays readable until probes_free; stopping twice does nothing. */
void probes_stop(struct probes *p, long long deadline_us);

/* Frees P (stopping it first if needed). Only once no request can reach it any more: after the
 * HTTP server stopped, since a request still running past the grace may yet ask for a test
 * (which then answers "shutting down"), the status or the metrics. */
void probes_free(struct probes *p);

/* A copy of the last result of connection NAME ({connectionOK, message, durationMs, testedOn};
 * caller decrefs), or NULL when it was never tested. */
json_t *probes_status_of(struct probes *p, const char *name);

/* Forgets the last result of connection NAME (it was deleted). */
void probes_forget(struct probes *p, const char *name);

/* ---- for the handlers of api/probes.c ---- */

struct probe_job;

/* Whether DEF lacks a param its test needs; *OUT then says which (for the answer). */
bool probes_missing_params(const json_t *def, char *out, size_t size);

/* Records a test of DEF that could not run for MESSAGE (a missing param) in the status. */
void probes_record_missing(struct probes *p, const json_t *def, const char *message);

/* A job testing DEF (its params resolved), or NULL with ERR set; free with probes_job_free
 * unless it was submitted and completed. */
struct probe_job *probes_job_new(struct probes *p, const json_t *def, struct sb_err *err);
void probes_job_free(struct probe_job *job);

/* Stores the result of JOB in the status table and the history. */
void probes_record(struct probes *p, const struct probe_job *job);

/* Queues JOB for a worker; false when the pool is stopping (JOB then did not run). */
bool probes_submit(struct probes *p, struct probe_job *job);

/* A copy of the status table with each entry's successRatio and stateSinceMs (caller
 * decrefs). */
json_t *probes_status_all(struct probes *p);

/* NAME's test history as [{testedOn, connectionOK, category, durationMs}] (caller decrefs), or
 * NULL when it has none. */
json_t *probes_history_of(struct probes *p, const char *name);

/* Writes the probe outcome counters in Prometheus text (for GET /metrics); caller frees. */
char *probes_metrics(struct probes *p);

#endif
