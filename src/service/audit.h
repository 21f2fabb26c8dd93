/* SPDX-License-Identifier: Apache-2.0 */
/* The audit trail (docs/API.md §8): one record per change or secret read, in the store and as a
 * JSON line in <data-dir>/audit.log. Records name objects and principals, never a secret value. */
#ifndef SB_SERVICE_AUDIT_H
#define SB_SERVICE_AUDIT_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

struct app;
struct actor;
struct audit_queue;
struct audit_text;

/* Records that A's principal did ACTION ("connection.create"...) on OBJECT with OUTCOME
 * ("success", "denied", "failed"), in A's write when it has one (a record that cannot be
 * appended then fails the write); otherwise at once. A failure to record is logged. */
void audit_record(const struct actor *a, const char *action, const char *object,
                  const char *outcome);

/* Appends again, alone, those of the N records of RECS (write_take_records) that are not
 * successes (what a handler recorded of a write that failed and was rolled back); returns how
 * many. Frees RECS. */
int audit_record_again(struct app *app, struct audit_text *recs, size_t n);

/* The same for a read that changes nothing (a credential read): the record is queued and
 * written with the others queued meanwhile, in one transaction, by the flusher thread. */
void audit_record_read(const struct actor *a, const char *action, const char *object,
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
