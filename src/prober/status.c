/* SPDX-License-Identifier: Apache-2.0 */
/* The live-test status table (see status.h). A connection's record is one allocation: its last
 * result and a ring of SB_PROBE_HISTORY 16-byte history entries, the category an index into a
 * small table of the category words (probe_category has about twenty). Records are found by
 * name through a jansson object whose values are their slot numbers, which also keeps the
 * order in which connections were first tested (the order the JSON table had).
 *
 * The saved form (meta probe_status), version 2: a first line "switchboard-probe-status 2",
 * a second with the category words separated by tabs, then one line per connection:
 * name, ok (0/1), testedOn, stateChangedOn, durationMs, message, history — tab-separated, the
 * history as "testedOn,ok,category,durationMs" entries joined by ';' (oldest first); tabs,
 * newlines and backslashes in names, messages and words are escaped as \t, \n, \r and \\. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "prober/status.h"
#include "util/limits.h"
#include "util/mem.h"

#define PSTATUS_CATEGORIES_MAX 255

struct hist {
    int64_t tested_on;
    int32_t duration_ms;
    uint8_t ok;
    uint8_t category;
};

struct rec {
    int64_t tested_on, changed_on;
    int64_t duration_ms;
    bool ok;
    bool scheduled;  /* failures and due are set (background prober) */
    uint8_t n, head; /* history: N entries, the oldest at h[HEAD] */
    int32_t failures;
    int64_t due;
    char *message;
    struct hist h[SB_PROBE_HISTORY];
};

struct pstatus {
    json_t *index; /* name -> slot in recs */
    struct rec **recs;
    size_t n, cap;
    size_t *free_slots; /* slots of forgotten records, reused */
    size_t n_free;
    char *categories[PSTATUS_CATEGORIES_MAX];
    int n_categories;
};

struct pstatus *pstatus_new(void)
{
    struct pstatus *t = xcalloc(1, sizeof(*t));

    t->index = xcheck(json_object());
    return t;
}

static void rec_free(struct rec *r)
{
    if (r) {
        free(r->message);
        free(r);
    }
}

void pstatus_free(struct pstatus *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->n; i++)
        rec_free(t->recs[i]);
    for (int i = 0; i < t->n_categories; i++)
        free(t->categories[i]);
    json_decref(t->index);
    free(t->recs);
    free(t->free_slots);
    free(t);
}

static struct rec *find(const struct pstatus *t, const char *name)
{
    json_t *slot = json_object_get(t->index, name);
    return slot ? t->recs[json_integer_value(slot)] : NULL;
}

/* NAME's record, a new one (zeroed) when it has none. */
static struct rec *find_or_add(struct pstatus *t, const char *name)
{
    struct rec *r = find(t, name);
    size_t slot;

    if (r)
        return r;
    r = xcalloc(1, sizeof(*r));
    if (t->n_free) {
        slot = t->free_slots[--t->n_free];
    } else {
        if (t->n == t->cap) {
            t->cap = t->cap ? t->cap * 2 : 64;
            t->recs = xrealloc(t->recs, t->cap * sizeof(*t->recs));
        }
        slot = t->n++;
    }
    t->recs[slot] = r;
    json_object_set_new(t->index, name, xcheck(json_integer((json_int_t)slot)));
    return r;
}

/* The index of category word WORD, added when new (past the table's size: "failed"). */
static uint8_t category_of(struct pstatus *t, const char *word)
{
    for (int i = 0; i < t->n_categories; i++)
        if (strcmp(t->categories[i], word) == 0)
            return (uint8_t)i;
    if (t->n_categories == PSTATUS_CATEGORIES_MAX) {
        for (int i = 0; i < t->n_categories; i++)
            if (strcmp(t->categories[i], "failed") == 0)
                return (uint8_t)i;
        return 0;
    }
    t->categories[t->n_categories] = xstrdup(word);
    return (uint8_t)t->n_categories++;
}

static void push_history(struct rec *r, int64_t tested_on, bool ok, uint8_t category,
                         int64_t duration_ms)
{
    struct hist *h;

    if (r->n < SB_PROBE_HISTORY) {
        h = &r->h[(r->head + r->n++) % SB_PROBE_HISTORY];
    } else { /* full: the oldest goes */
        h = &r->h[r->head];
        r->head = (uint8_t)((r->head + 1) % SB_PROBE_HISTORY);
    }
    h->tested_on = tested_on;
    h->ok = ok;
    h->category = category;
    h->duration_ms = duration_ms > INT32_MAX ? INT32_MAX : (int32_t)duration_ms;
}

void pstatus_record(struct pstatus *t, const char *name, bool ok, const char *message,
                    long long duration_ms, long long now, const char *category)
{
    struct rec *r = find(t, name);
    long long changed = now;

    if (r && r->ok == ok && r->changed_on > 0)
        changed = r->changed_on;
    if (!r)
        r = find_or_add(t, name);
    r->ok = ok;
    free(r->message);
    r->message = xstrdup(message);
    r->duration_ms = duration_ms;
    r->tested_on = now;
    r->changed_on = changed;
    push_history(r, now, ok, category_of(t, category), duration_ms);
}

static json_t *entry_json(const struct rec *r)
{
    json_t *e = xcheck(json_pack("{s:b, s:s, s:I, s:I}", "connectionOK", r->ok, "message",
                                 r->message ? r->message : "", "durationMs",
                                 (json_int_t)r->duration_ms, "testedOn", (json_int_t)r->tested_on));
    if (r->changed_on > 0) /* (a result saved before stateChangedOn existed has none) */
        json_object_set_new(e, "stateChangedOn", xcheck(json_integer(r->changed_on)));
    return e;
}

json_t *pstatus_entry(const struct pstatus *t, const char *name)
{
    const struct rec *r = find(t, name);
    return r ? entry_json(r) : NULL;
}

static double success_ratio(const struct rec *r)
{
    size_t ok = 0;

    for (int i = 0; i < r->n; i++)
        ok += r->h[(r->head + i) % SB_PROBE_HISTORY].ok;
    return r->n ? (double)ok / (double)r->n : 1.0;
}

json_t *pstatus_all(const struct pstatus *t, long long now)
{
    json_t *all = xcheck(json_object()), *slot, *e;
    const char *name;

    json_object_foreach (t->index, name, slot) {
        const struct rec *r = t->recs[json_integer_value(slot)];
        e = entry_json(r);
        json_object_set_new(e, "successRatio", xcheck(json_real(success_ratio(r))));
        json_object_set_new(e, "stateSinceMs",
                            xcheck(json_integer(r->changed_on ? now - r->changed_on : 0)));
        json_object_set_new(all, name, e);
    }
    return all;
}

json_t *pstatus_history(const struct pstatus *t, const char *name)
{
    const struct rec *r = find(t, name);
    json_t *out;

    if (!r || r->n == 0)
        return NULL;
    out = xcheck(json_array());
    for (int i = 0; i < r->n; i++) {
        const struct hist *h = &r->h[(r->head + i) % SB_PROBE_HISTORY];
        json_array_append_new(
            out, xcheck(json_pack("{s:I, s:b, s:s, s:I}", "testedOn", (json_int_t)h->tested_on,
                                  "connectionOK", h->ok, "category", t->categories[h->category],
                                  "durationMs", (json_int_t)h->duration_ms)));
    }
    return out;
}

void pstatus_forget(struct pstatus *t, const char *name)
{
    json_t *slot = json_object_get(t->index, name);
    size_t i;

    if (!slot)
        return;
    i = (size_t)json_integer_value(slot);
    rec_free(t->recs[i]);
    t->recs[i] = NULL;
    t->free_slots = xrealloc(t->free_slots, (t->n_free + 1) * sizeof(*t->free_slots));
    t->free_slots[t->n_free++] = i;
    json_object_del(t->index, name);
}

void pstatus_sched_set(struct pstatus *t, const char *name, long long failures, long long due)
{
    struct rec *r = find(t, name);

    if (!r)
        return;
    r->scheduled = true;
    r->failures = failures > INT32_MAX ? INT32_MAX : (int32_t)failures;
    r->due = due;
}

bool pstatus_sched_get(const struct pstatus *t, const char *name, long long *failures,
                       long long *due)
{
    const struct rec *r = find(t, name);

    if (!r || !r->scheduled)
        return false;
    *failures = r->failures;
    *due = r->due;
    return true;
}

void pstatus_foreach(const struct pstatus *t, void (*fn)(void *ctx, const char *name, bool ok),
                     void *ctx)
{
    const char *name;
    json_t *slot;

    json_object_foreach (t->index, name, slot)
        fn(ctx, name, t->recs[json_integer_value(slot)]->ok);
}

/* ---- the saved form ---- */

#define PSTATUS_MAGIC "switchboard-probe-status 2\n"

static void put_escaped(FILE *f, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '\t': fputs("\\t", f); break;
        case '\n': fputs("\\n", f); break;
        case '\r': fputs("\\r", f); break;
        case '\\': fputs("\\\\", f); break;
        default: fputc(*s, f);
        }
    }
}

/* Undoes put_escaped in place; returns S. */
static char *unescape(char *s)
{
    char *w = s;

    for (char *r = s; *r; r++) {
        if (*r == '\\' && r[1]) {
            r++;
            *w++ = *r == 't' ? '\t' : *r == 'n' ? '\n' : *r == 'r' ? '\r' : *r;
        } else {
            *w++ = *r;
        }
    }
    *w = '\0';
    return s;
}

char *pstatus_save(const struct pstatus *t)
{
    char *text = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&text, &size);
    const char *name;
    json_t *slot;

    if (!f)
        abort();
    fputs(PSTATUS_MAGIC, f);
    for (int i = 0; i < t->n_categories; i++) {
        if (i)
            fputc('\t', f);
        put_escaped(f, t->categories[i]);
    }
    fputc('\n', f);
    json_object_foreach (t->index, name, slot) {
        const struct rec *r = t->recs[json_integer_value(slot)];
        put_escaped(f, name);
        fprintf(f, "\t%d\t%lld\t%lld\t%lld\t", r->ok, (long long)r->tested_on,
                (long long)r->changed_on, (long long)r->duration_ms);
        put_escaped(f, r->message ? r->message : "");
        fputc('\t', f);
        for (int i = 0; i < r->n; i++) {
            const struct hist *h = &r->h[(r->head + i) % SB_PROBE_HISTORY];
            fprintf(f, "%s%lld,%d,%d,%d", i ? ";" : "", (long long)h->tested_on, h->ok, h->category,
                    h->duration_ms);
        }
        fputc('\n', f);
    }
    fclose(f);
    return text;
}

/* Takes R's result as NAME's when it is newer than what T has (replacing its history). */
static void take(struct pstatus *t, const char *name, const struct rec *r)
{
    struct rec *mine = find(t, name);

    if (mine && r->tested_on <= mine->tested_on)
        return;
    mine = find_or_add(t, name);
    free(mine->message);
    struct rec kept = *mine; /* the schedule is this node's own, never loaded */
    *mine = *r;
    mine->message = xstrdup(r->message ? r->message : "");
    mine->scheduled = kept.scheduled;
    mine->failures = kept.failures;
    mine->due = kept.due;
}

/* One line of the saved form (modified in place); CATS maps its category numbers to T's. */
static void load_line(struct pstatus *t, char *line, const uint8_t *cats, int n_cats)
{
    char *field[7], *item;
    struct rec r = {0};
    int n = 0;

    for (char *p = line; n < 7; n++) {
        field[n] = p;
        p = strchr(p, '\t');
        if (!p) {
            n++;
            break;
        }
        *p++ = '\0';
    }
    if (n < 6)
        return;
    r.ok = field[1][0] == '1';
    r.tested_on = strtoll(field[2], NULL, 10);
    r.changed_on = strtoll(field[3], NULL, 10);
    r.duration_ms = strtoll(field[4], NULL, 10);
    r.message = unescape(field[5]);
    /* testedOn,ok,category,durationMs entries (strtoll, not sscanf: 2 million at a start) */
    for (item = n > 6 ? field[6] : NULL; item && *item;) {
        long long v[4];
        char *end = item;
        int k;
        for (k = 0; k < 4; k++) {
            v[k] = strtoll(end, &end, 10);
            if (k < 3 && *end != ',')
                break;
            if (k < 3)
                end++;
        }
        if (k == 4 && (*end == ';' || *end == '\0') && v[2] >= 0 && v[2] < n_cats)
            push_history(&r, v[0], v[1] != 0, cats[v[2]], v[3]);
        item = strchr(end, ';');
        item = item ? item + 1 : NULL;
    }
    take(t, unescape(field[0]), &r);
}

static bool load_lines(struct pstatus *t, char *text)
{
    char *save = NULL, *line, *word, *wsave = NULL;
    char *words = text + strlen(PSTATUS_MAGIC), *rest = strchr(words, '\n');
    uint8_t cats[PSTATUS_CATEGORIES_MAX];
    int n_cats = 0;

    if (rest)
        *rest++ = '\0';
    for (word = strtok_r(words, "\t", &wsave); word && n_cats < PSTATUS_CATEGORIES_MAX;
         word = strtok_r(NULL, "\t", &wsave))
        cats[n_cats++] = category_of(t, unescape(word));
    for (line = rest ? strtok_r(rest, "\n", &save) : NULL; line; line = strtok_r(NULL, "\n", &save))
        load_line(t, line, cats, n_cats);
    return true;
}

/* The JSON form written before version 2: {"v":1, "status": {name: entry}, "history": {name:
 * [[testedOn, ok, category, durationMs], ...]}}. */
static bool load_json(struct pstatus *t, const char *text)
{
    json_t *saved = json_loads(text, 0, NULL), *status, *entry, *ring, *item;
    const char *name;
    size_t i;

    if (!json_is_object(saved)) {
        json_decref(saved);
        return false;
    }
    status = json_object_get(saved, "status");
    json_object_foreach (status, name, entry) {
        struct rec r = {0};
        if (!json_is_object(entry))
            continue;
        r.ok = json_is_true(json_object_get(entry, "connectionOK"));
        r.message = (char *)json_string_value(json_object_get(entry, "message"));
        r.duration_ms = json_integer_value(json_object_get(entry, "durationMs"));
        r.tested_on = json_integer_value(json_object_get(entry, "testedOn"));
        r.changed_on = json_integer_value(json_object_get(entry, "stateChangedOn"));
        ring = json_object_get(json_object_get(saved, "history"), name);
        json_array_foreach (ring, i, item) {
            const char *cat = json_string_value(json_array_get(item, 2));
            push_history(&r, json_integer_value(json_array_get(item, 0)),
                         json_is_true(json_array_get(item, 1)),
                         category_of(t, cat ? cat : "failed"),
                         json_integer_value(json_array_get(item, 3)));
        }
        take(t, name, &r);
    }
    json_decref(saved);
    return true;
}

bool pstatus_load(struct pstatus *t, char *text, bool *old_form)
{
    *old_form = strncmp(text, PSTATUS_MAGIC, strlen(PSTATUS_MAGIC)) != 0;
    return *old_form ? load_json(t, text) : load_lines(t, text);
}
