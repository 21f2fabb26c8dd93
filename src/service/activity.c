/* SPDX-License-Identifier: Apache-2.0 */
/* Recording users' activity and writing it to the store as one meta value. A write reads the
 * stored value first and merges (newest wins), so that nodes sharing a store add to each
 * other's activity; two nodes writing at the same instant may lose one interval of one of
 * them, which this non-critical data tolerates. */
#include <stdlib.h>

#include "core/activity.h"
#include "service/activity.h"
#include "store/store.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/mem.h"

enum sb_err_kind activity_load(struct app *app, json_t **out, struct sb_err *err)
{
    char *text = NULL;
    json_t *stored = NULL;

    if (store_meta_get(app->store, STORE_META_USERS_ACTIVITY, &text, err) != SB_OK)
        return err->kind;
    if (text)
        stored = json_loads(text, 0, NULL); /* unreadable: start afresh, it is not critical */
    free(text);
    *out = users_activity_merge(app->activity, stored);
    json_decref(stored);
    return SB_OK;
}

static void write_out(struct app *app)
{
    struct sb_err err;
    json_t *merged;
    char *text;

    if (activity_load(app, &merged, &err) != SB_OK) {
        log_warn("activity: cannot read the stored users' activity: %s", err.msg);
        return;
    }
    text = xcheck(json_dumps(merged, JSON_COMPACT));
    if (store_meta_set(app->store, STORE_META_USERS_ACTIVITY, text, &err) != SB_OK)
        log_warn("activity: cannot store the users' activity: %s", err.msg);
    free(text);
    json_decref(merged);
}

void activity_note(struct app *app, const char *login, bool ok)
{
    int64_t now = clock_epoch_ms();

    if (!app->activity)
        return;
    if (ok)
        users_activity_record_success(app->activity, login, now);
    else
        users_activity_record_failure(app->activity, login, now);
    if (users_activity_take_due(app->activity, now, false))
        write_out(app);
}

void activity_note_session(struct app *app, const char *login)
{
    int64_t now = clock_epoch_ms();

    if (!app->activity)
        return;
    users_activity_record_session(app->activity, login, now);
    if (users_activity_take_due(app->activity, now, false))
        write_out(app);
}

void activity_flush(struct app *app)
{
    if (app->activity && users_activity_take_due(app->activity, clock_epoch_ms(), true))
        write_out(app);
}
