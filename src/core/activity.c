/* SPDX-License-Identifier: Apache-2.0 */
/* Users' activity in memory: a jansson object login -> [success, failure, session] under one
 * mutex, merged into the stored copy by taking the newest time of each kind. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "core/activity.h"
#include "util/mem.h"

enum { ACT_SUCCESS, ACT_FAILURE, ACT_SESSION, ACT_KINDS };

struct users_activity {
    pthread_mutex_t lock;
    json_t *by_login;             /* login -> [success, failure, session] */
    bool dirty;                   /* something recorded since the last write was taken */
    _Atomic int64_t last_take_ms; /* read without the lock: most requests stop there */
    int64_t interval_ms;
};

struct users_activity *users_activity_new(int64_t flush_interval_ms)
{
    struct users_activity *a = xcalloc(1, sizeof(*a));

    pthread_mutex_init(&a->lock, NULL);
    a->by_login = xcheck(json_object());
    a->interval_ms = flush_interval_ms;
    return a;
}

void users_activity_free(struct users_activity *a)
{
    if (!a)
        return;
    json_decref(a->by_login);
    pthread_mutex_destroy(&a->lock);
    free(a);
}

static int64_t slot(const json_t *entry, int kind)
{
    return (int64_t)json_integer_value(json_array_get(entry, (size_t)kind));
}

/* The entry of LOGIN in OBJ, created as [0, 0, 0] when missing. Borrowed. */
static json_t *entry_of(json_t *obj, const char *login)
{
    json_t *e = json_object_get(obj, login);

    if (!json_is_array(e) || json_array_size(e) != ACT_KINDS) {
        e = xcheck(json_pack("[I, I, I]", (json_int_t)0, (json_int_t)0, (json_int_t)0));
        json_object_set_new(obj, login, e);
    }
    return e;
}

static void record(struct users_activity *a, const char *login, int kind, int64_t now_ms)
{
    json_t *e;

    if (!a || !login || !*login)
        return;
    pthread_mutex_lock(&a->lock);
    e = entry_of(a->by_login, login);
    if (slot(e, kind) < now_ms) {
        json_integer_set(json_array_get(e, (size_t)kind), now_ms); /* no allocation */
        a->dirty = true;
    }
    pthread_mutex_unlock(&a->lock);
}

void users_activity_record_success(struct users_activity *a, const char *login, int64_t now_ms)
{
    record(a, login, ACT_SUCCESS, now_ms);
}

void users_activity_record_failure(struct users_activity *a, const char *login, int64_t now_ms)
{
    record(a, login, ACT_FAILURE, now_ms);
}

void users_activity_record_session(struct users_activity *a, const char *login, int64_t now_ms)
{
    record(a, login, ACT_SESSION, now_ms);
}

static void merge_into(json_t *out, const json_t *from)
{
    const char *login;
    json_t *e, *mine;

    json_object_foreach ((json_t *)from, login, e) {
        if (!json_is_array(e))
            continue;
        mine = entry_of(out, login);
        for (int k = 0; k < ACT_KINDS; k++)
            if (slot(e, k) > slot(mine, k))
                json_array_set_new(mine, (size_t)k, json_integer(slot(e, k)));
    }
}

json_t *users_activity_merge(struct users_activity *a, const json_t *stored)
{
    json_t *out = xcheck(json_object());

    if (json_is_object(stored))
        merge_into(out, stored);
    pthread_mutex_lock(&a->lock);
    merge_into(out, a->by_login);
    pthread_mutex_unlock(&a->lock);
    return out;
}

bool users_activity_take_due(struct users_activity *a, int64_t now_ms, bool force)
{
    bool due;

    if (!force && now_ms - atomic_load(&a->last_take_ms) < a->interval_ms)
        return false;
    pthread_mutex_lock(&a->lock);
    due = a->dirty && (force || now_ms - atomic_load(&a->last_take_ms) >= a->interval_ms);
    if (due) {
        a->dirty = false;
        atomic_store(&a->last_take_ms, now_ms);
    }
    pthread_mutex_unlock(&a->lock);
    return due;
}

json_t *users_activity_view(const json_t *merged, const char *login, bool enabled,
                            int64_t created_ms)
{
    const json_t *e = json_object_get(merged, login);
    int64_t t[ACT_KINDS];

    for (int k = 0; k < ACT_KINDS; k++) {
        t[k] = e ? slot(e, k) : 0;
        if (t[k] < created_ms)
            t[k] = 0;
    }
    return xcheck(json_pack("{s:s, s:b, s:I, s:I, s:I}", "login", login, "enabled", enabled,
                            "lastSuccessfulLogin", (json_int_t)t[ACT_SUCCESS], "lastFailedLogin",
                            (json_int_t)t[ACT_FAILURE], "lastSessionActivity",
                            (json_int_t)t[ACT_SESSION]));
}
