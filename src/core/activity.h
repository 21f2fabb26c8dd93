/* SPDX-License-Identifier: Apache-2.0 */
/* Users' activity (docs/API.md §5.3): when each user last authenticated, last failed to, and last
 * had session activity. It is kept in memory, where recording costs a mutex and no I/O, and
 * written to the store now and then as one meta value (users_activity_take_due), because it is
 * not critical data: a crash loses at most the last interval. Reads merge the stored copy (which
 * other nodes of a shared store also write) with what this node holds. Everything that
 * authenticates a user (API keys, console sign-ins) records through users_activity_record_*. */
#ifndef SB_ACTIVITY_H
#define SB_ACTIVITY_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

/* (It is stored as the meta value STORE_META_USERS_ACTIVITY: an object login -> [success,
 * failure, session], epoch ms, 0 for never.) */

struct users_activity;

/* A new, empty tracker; FLUSH_INTERVAL_MS is how often users_activity_take_due says a write is
 * due. Free with users_activity_free. */
struct users_activity *users_activity_new(int64_t flush_interval_ms);
void users_activity_free(struct users_activity *a);

/* LOGIN authenticated (an API key of theirs, a sign-in) at NOW_MS. */
void users_activity_record_success(struct users_activity *a, const char *login, int64_t now_ms);

/* An authentication as LOGIN was refused (disabled user, expired key, wrong password). */
void users_activity_record_failure(struct users_activity *a, const char *login, int64_t now_ms);

/* LOGIN used an interactive session (the console) at NOW_MS. */
void users_activity_record_session(struct users_activity *a, const char *login, int64_t now_ms);

/* Merges STORED (the meta value's object, or NULL) with what A holds, newest time of each kind
 * winning. New reference. */
json_t *users_activity_merge(struct users_activity *a, const json_t *stored);

/* True at most once per interval, and only when something was recorded since the last write:
 * the caller then writes users_activity_merge(stored) back. FORCE: due whenever anything is
 * unwritten (at shutdown). */
bool users_activity_take_due(struct users_activity *a, int64_t now_ms, bool force);

/* The activity answer for LOGIN from a merged object (users_activity_merge): {"login",
 * "enabled", "lastSuccessfulLogin", "lastFailedLogin", "lastSessionActivity"}. Times before
 * CREATED_MS (the user's creationDate: an older user of the same login) count as never. New
 * reference. */
json_t *users_activity_view(const json_t *merged, const char *login, bool enabled,
                            int64_t created_ms);

#endif
