/* SPDX-License-Identifier: Apache-2.0 */
/* Users' activity (core/activity.h) wired to the server: recording authentications, writing the
 * activity to the store now and then, and reading it back merged. */
#ifndef SB_SERVICE_ACTIVITY_H
#define SB_SERVICE_ACTIVITY_H

#include <jansson.h>
#include <stdbool.h>

#include "app.h"
#include "core/err.h"

/* How often the activity is written to the store (one meta write), at most. */
#define ACTIVITY_FLUSH_MS 30000

/* Records that LOGIN authenticated (OK) or was refused, and writes the activity to the store
 * when a write is due (at most once per ACTIVITY_FLUSH_MS, from the calling thread). */
void activity_note(struct app *app, const char *login, bool ok);

/* Records that LOGIN used a console session (lastSessionActivity), as activity_note. */
void activity_note_session(struct app *app, const char *login);

/* Writes the activity to the store now if anything is unwritten (at shutdown). */
void activity_flush(struct app *app);

/* *OUT: the stored activity merged with this node's (users_activity_merge). New reference. */
enum sb_err_kind activity_load(struct app *app, json_t **out, struct sb_err *err);

#endif
