/* SPDX-License-Identifier: Apache-2.0 */
/* The audit trail (API.md §8): one record per change or secret read, in the store and as a JSON
 * line in <data-dir>/audit.log. Records name objects and principals, never a secret value. */
#ifndef SB_API_AUDIT_H
#define SB_API_AUDIT_H

struct request;

/* Records that REQ's principal did ACTION ("connection.create"...) on OBJECT with OUTCOME
 * ("success", "denied", "failed"). A failure to record is logged, not answered. */
void audit_record(struct request *req, const char *action, const char *object,
                  const char *outcome);

#endif
