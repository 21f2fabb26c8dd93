/* SPDX-License-Identifier: Apache-2.0 */
/* The audit trail (docs/API.md §8): one record per change or secret read, in the store and as a
 * JSON line in <data-dir>/audit.log. Records name objects and principals, never a secret value. */
#ifndef SB_API_AUDIT_H
#define SB_API_AUDIT_H

#include <jansson.h>

#include "core/err.h"

struct app;
#include <stdint.h>

struct request;
struct audit_queue;

/* Records that REQ's principal did ACTION ("connection.create"...) on OBJECT with OUTCOME
 * ("success", "denied", "failed"). A failure to record is logged, not answered. */
void audit_record(struct request *req, const char *action, const char *object, const char *outcome);

/* Runs CHANGE(CTX, ERR), a store write, and stores the record of its success in the same
 * transaction: the change and its audit record commit together, with one commit (one fsync)
 * for both. The audit.log line follows the commit. On failure nothing is recorded (the caller
 * records "failed" as before) and the error kind is returned. */
enum sb_err_kind audit_change(struct request *req, const char *action, const char *object,
                              enum sb_err_kind (*change)(void *ctx, struct sb_err *err), void *ctx,
                              struct sb_err *err);

/* Appends again, alone, the records of RECS that are not successes (what a handler recorded of
 * a write that failed and was rolled back); returns how many. */
int audit_record_again(struct app *app, const json_t *recs);

/* The same for a read that changes nothing (a credential read): the record is queued and
 * written with the others queued meanwhile, in one transaction, by the flusher thread. */
void audit_record_read(struct request *req, const char *action, const char *object,
                       const char *outcome);

/* Starts the flusher of records of reads (NULL if no thread could start: then each is written
 * at once). Stop it after the HTTP server and before the store closes: audit_stop writes what
 * is still queued. */
/* Deletes the records past their retention first (and hourly from then on). */
struct audit_queue *audit_start(struct app *app);
void audit_stop(struct audit_queue *q);

/* Returns once every record queued before the call is written. Q may be NULL. */
void audit_flush(struct audit_queue *q);

/* Records of reads queued and not written yet (for /metrics). */
uint64_t audit_backlog(struct audit_queue *q);

#endif
