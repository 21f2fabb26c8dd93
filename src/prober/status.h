/* SPDX-License-Identifier: Apache-2.0 */
/* The last live-test result of every connection and its history ring, held compactly (a fixed
 * record per connection instead of JSON objects: at 100,000 connections the JSON form took
 * about 2 KB each, 7 KB once parsed back from the store at start), and their saved form. Not
 * locked: the caller (src/prober/probes.c) holds its lock around every call. */
#ifndef SB_PROBER_STATUS_H
#define SB_PROBER_STATUS_H

#include <jansson.h>
#include <stdbool.h>

struct pstatus;

struct pstatus *pstatus_new(void);
void pstatus_free(struct pstatus *t);

/* Records a test of NAME at NOW (epoch ms): its outcome OK, MESSAGE, DURATION_MS and CATEGORY
 * (probe_category); the state-changed time carries over while the outcome stays the same. */
void pstatus_record(struct pstatus *t, const char *name, bool ok, const char *message,
                    long long duration_ms, long long now, const char *category);

/* NAME's last result {connectionOK, message, durationMs, testedOn, stateChangedOn} (new
 * reference), or NULL when it was never tested. */
json_t *pstatus_entry(const struct pstatus *t, const char *name);

/* Every last result, name -> entry with successRatio and stateSinceMs (at NOW), in the order
 * the connections were first tested (new reference). */
json_t *pstatus_all(const struct pstatus *t, long long now);

/* NAME's history [{testedOn, connectionOK, category, durationMs}], oldest first (new
 * reference), or NULL when it has none. */
json_t *pstatus_history(const struct pstatus *t, const char *name);

void pstatus_forget(struct pstatus *t, const char *name);

/* The background prober's schedule of NAME, kept in its record (not saved): failures in a row
 * and when it is next due (epoch ms). _set does nothing for a name never recorded; _get is
 * false for one that has no schedule yet. */
void pstatus_sched_set(struct pstatus *t, const char *name, long long failures, long long due);
bool pstatus_sched_get(const struct pstatus *t, const char *name, long long *failures,
                       long long *due);

/* Calls FN for every tested connection with its last outcome. */
void pstatus_foreach(const struct pstatus *t, void (*fn)(void *ctx, const char *name, bool ok),
                     void *ctx);

/* The saved form of T (caller frees): a line per connection, not one JSON value, so that a
 * start reads 100,000 of them in milliseconds. */
char *pstatus_save(const struct pstatus *t);

/* Takes from TEXT (read in place, so modified: pstatus_save's form, or the JSON
 * {"v":1,"status","history"} written before it: then *OLD_FORM is set, so that it is saved again in
 * the new one) every connection's result that is newer than T's; false when TEXT is neither. */
bool pstatus_load(struct pstatus *t, char *text, bool *old_form);

#endif
