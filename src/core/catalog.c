/* SPDX-License-Identifier: Apache-2.0 */
/* The connection catalog.
 *
 * The map is open addressing with linear probing over entry pointers, keyed by name; it never
 * deletes (a deleted connection stays as a tombstone entry, which is also what orders a late
 * publication after a delete), so probing needs no deletion markers. A read-write lock guards
 * the map and the current snapshot; readers hold it only long enough to take a reference. The
 * snapshot is rebuilt by the first reader that finds it stale, under the write lock. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/catalog.h"
#include "util/mem.h"

/* A slot holds its entry's name hash beside the pointer: probing compares hashes in the slot
 * array and reads an entry only when its hash matches, and growing never reads an entry (at
 * 100,000 connections the entries are ~50 MB, so each entry read on a probe was a cache miss). */
struct slot {
    uint64_t hash;
    struct catalog_entry *e;
};

/* Parsed definitions of recently read entries (catalog_entry_def): direct-mapped by name, each
 * slot holding a reference to its entry (so that an entry's address is never reused while it
 * is cached) and to the parsed tree, shared read-only by the readers. */
#define DEF_CACHE_SLOTS 256

struct def_slot {
    struct catalog_entry *e;
    json_t *def;
};

struct catalog {
    pthread_rwlock_t lock;
    pthread_mutex_t def_lock; /* guards defs */
    struct def_slot defs[DEF_CACHE_SLOTS];
    struct slot *slots;
    size_t cap, used;              /* used counts live entries and tombstones */
    struct catalog_snapshot *snap; /* NULL when stale */
    atomic_bool loading;           /* between catalog_load_begin and catalog_load_end */
    pthread_mutex_t groups_lock;   /* also guards mids */
    json_t *groups;
    json_t *mids;
    /* shared runs of definition texts, as strings keyed by themselves */ /* allowedGroups
                                                                             arrays by their
                                                                             JSON text, shared
                                                                           */
};

#define CATALOG_SHARED_GROUPS_MAX 4096 /* distinct allowedGroups arrays shared; more are copied */
#define CATALOG_SHARED_MIDS_MAX 4096   /* distinct shared runs; past it, texts are held whole */
#define CATALOG_MID_START ",\"usableBy\":"
#define CATALOG_MID_END "\"lastModifiedOn\":"

static uint64_t hash_name(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

/* An entry is one allocation: the struct, then its name, type, definition text and quoted name
 * and type (entry_new); its allowedGroups array is shared by every entry with the same groups
 * (shared_groups). Measured at 100,000 connections: about 1,170 bytes per entry as seven
 * allocations and a jansson array of its own, against 830 this way, and 500 with the sharing
 * below.
 *
 * The definition texts also share their common bytes: the run from ',"usableBy":' to
 * '"lastModifiedOn":' (access settings, flags, readability, version and author: about 370 of
 * the 660 bytes of a typical definition, and the same in every connection loaded or written
 * alike) is held once, as a reference-counted string, and only pointed at (shared_mid), so that
 * an entry may outlive the catalog. The split is by bytes alone, so any text reads back byte for
 * byte whatever it holds. The list sends the parts as segments; GET joins them into one buffer
 * (an iovec answer would cost libmicrohttpd a send(2) of its own for the headers). The catalog
 * shares up to CATALOG_SHARED_MIDS_MAX distinct runs (each kept until the catalog is freed);
 * past that, texts are held whole. */
static void entry_free(struct catalog_entry *e)
{
    json_decref(e->allowed_groups);
    json_decref(e->mid_ref);
    free(e);
}

void catalog_entry_release(struct catalog_entry *e)
{
    if (e && atomic_fetch_sub(&e->refs, 1) == 1)
        entry_free(e);
}

/* A get-names answer kept with a snapshot, for KEY (catalog_snapshot_names). */
struct names_answer {
    struct names_answer *next;
    char *key;
    size_t key_len;
    char *body;
    size_t len;
};

/* At most this many answers per snapshot, of at most this many bytes in all (or 4 times the
 * array of every name, when more): past it, answers are built for each request. */
#define NAMES_ANSWERS_MAX 64
#define NAMES_ANSWERS_BYTES (1024 * 1024)

void catalog_snapshot_release(struct catalog_snapshot *s)
{
    if (!s || atomic_fetch_sub(&s->refs, 1) != 1)
        return;
    for (size_t i = 0; i < s->n; i++)
        catalog_entry_release(s->items[i]);
    for (struct names_answer *a = s->answers, *next; a; a = next) {
        next = a->next;
        free(a->key);
        free(a->body);
        free(a);
    }
    pthread_mutex_destroy(&s->answers_lock);
    free(s->items);
    free(s->names);
    free(s);
}

struct catalog *catalog_new(void)
{
    struct catalog *c = xcalloc(1, sizeof(*c));

    pthread_rwlock_init(&c->lock, NULL);
    pthread_mutex_init(&c->def_lock, NULL);
    pthread_mutex_init(&c->groups_lock, NULL);
    c->groups = xcheck(json_object());
    c->mids = xcheck(json_object());
    c->cap = 1024;
    c->slots = xcalloc(c->cap, sizeof(*c->slots));
    return c;
}

void catalog_free(struct catalog *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->cap; i++)
        catalog_entry_release(c->slots[i].e);
    for (size_t i = 0; i < DEF_CACHE_SLOTS; i++) {
        catalog_entry_release(c->defs[i].e);
        json_decref(c->defs[i].def);
    }
    pthread_mutex_destroy(&c->def_lock);
    catalog_snapshot_release(c->snap);
    free(c->slots);
    json_decref(c->groups);
    json_decref(c->mids);
    pthread_mutex_destroy(&c->groups_lock);
    pthread_rwlock_destroy(&c->lock);
    free(c);
}

/* The slot of NAME (of hash H): where it is, or the empty slot where it would go. */
static size_t slot_of(const struct catalog *c, const char *name, uint64_t h)
{
    size_t i = h & (c->cap - 1);
    while (c->slots[i].e && (c->slots[i].hash != h || strcmp(c->slots[i].e->name, name) != 0))
        i = (i + 1) & (c->cap - 1);
    return i;
}

static void grow(struct catalog *c)
{
    struct slot *old = c->slots;
    size_t old_cap = c->cap;

    c->cap *= 2;
    c->slots = xcalloc(c->cap, sizeof(*c->slots));
    for (size_t i = 0; i < old_cap; i++) {
        size_t j = old[i].hash & (c->cap - 1);
        if (!old[i].e)
            continue;
        while (c->slots[j].e) /* names are distinct: the first empty slot */
            j = (j + 1) & (c->cap - 1);
        c->slots[j] = old[i];
    }
    free(old);
}

/* Publishes E (steals the reference) unless a version at least as new is there. */
static void publish(struct catalog *c, struct catalog_entry *e)
{
    uint64_t h = hash_name(e->name);
    size_t i;

    pthread_rwlock_wrlock(&c->lock);
    if ((c->used + 1) * 10 > c->cap * 7)
        grow(c);
    i = slot_of(c, e->name, h);
    if (c->slots[i].e && c->slots[i].e->version >= e->version) {
        pthread_rwlock_unlock(&c->lock);
        catalog_entry_release(e);
        return;
    }
    if (c->slots[i].e)
        catalog_entry_release(c->slots[i].e);
    else
        c->used++;
    c->slots[i].hash = h;
    c->slots[i].e = e;
    catalog_snapshot_release(c->snap);
    c->snap = NULL;
    pthread_rwlock_unlock(&c->lock);
}

/* The length of S as a JSON string (quotes, escapes; UTF-8 passes through). */
static size_t quoted_len(const char *s)
{
    size_t n = 2;

    for (const unsigned char *c = (const unsigned char *)s; *c; c++)
        n += (*c == '"' || *c == '\\') ? 2 : *c < 0x20 ? 6 : 1;
    return n;
}

/* Writes S as a JSON string and a NUL at OUT (quoted_len(S) + 1 bytes); returns OUT. */
static char *quote_into(const char *s, char *out)
{
    char *p = out;

    *p++ = '"';
    for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
        if (*c == '"' || *c == '\\') {
            *p++ = '\\';
            *p++ = (char)*c;
        } else if (*c < 0x20) {
            p += sprintf(p, "\\u%04x", *c);
        } else {
            *p++ = (char)*c;
        }
    }
    *p++ = '"';
    *p = '\0';
    return out;
}

/* A new entry, in one allocation: NAME, TYPE (may be NULL), VERSION and the definition TEXT
 * (NULL for a tombstone) with their serialised forms. */
/* The shared copy of TEXT's run from CATALOG_MID_START to the end of CATALOG_MID_END as a JSON
 * string (new reference), or NULL (no such run, or too many distinct ones already); *AT its
 * offset in TEXT, *LEN its length. */
static json_t *shared_mid(struct catalog *c, const char *text, size_t *at, size_t *len)
{
    const char *start = text ? strstr(text, CATALOG_MID_START) : NULL;
    const char *end = NULL, *found;
    json_t *mid;
    char *run;

    for (found = start; found && (found = strstr(found, CATALOG_MID_END)); found++)
        end = found;
    if (!start || !end || end < start)
        return NULL;
    end += strlen(CATALOG_MID_END);
    if (!*end)
        return NULL; /* the tail keeps at least the closing brace */
    *at = (size_t)(start - text);
    *len = (size_t)(end - start);
    run = xstrndup(start, *len);
    pthread_mutex_lock(&c->groups_lock);
    mid = json_object_get(c->mids, run);
    if (!mid && json_object_size(c->mids) < CATALOG_SHARED_MIDS_MAX) {
        mid = json_string(run);
        if (mid && json_object_set_new(c->mids, run, mid) != 0)
            mid = NULL;
    }
    json_incref(mid);
    pthread_mutex_unlock(&c->groups_lock);
    free(run);
    return mid;
}

static struct catalog_entry *entry_new(struct catalog *c, const char *name, const char *type,
                                       int64_t version, const char *text)
{
    size_t name_len = strlen(name), type_len, text_len = text ? strlen(text) : 0;
    size_t mid_at = 0, mid_len = 0;
    json_t *mid_ref = shared_mid(c, text, &mid_at, &mid_len);
    const char *mid = mid_ref ? json_string_value(mid_ref) : NULL;
    size_t qname_len = quoted_len(name), qtype_len;
    struct catalog_entry *e;
    char *p;

    type = type ? type : "";
    type_len = strlen(type);
    qtype_len = quoted_len(type);
    e = xmalloc(sizeof(*e) + name_len + 1 + type_len + 1 + text_len - mid_len + 1 + qname_len + 1 +
                qtype_len + 1);
    memset(e, 0, sizeof(*e));
    p = (char *)(e + 1);
    atomic_init(&e->refs, 1);
    e->version = version;
    e->usable_by_all = true;
    e->name = memcpy(p, name, name_len + 1);
    p += name_len + 1;
    e->type = memcpy(p, type, type_len + 1);
    p += type_len + 1;
    if (text) {
        e->json_len = text_len;
        if (mid) { /* head and tail, side by side */
            memcpy(p, text, mid_at);
            memcpy(p + mid_at, text + mid_at + mid_len, text_len - mid_at - mid_len + 1);
            e->json_mid = mid;
            e->mid_ref = mid_ref;
            e->json_head_len = mid_at;
            e->json_mid_len = mid_len;
            text_len -= mid_len;
        } else {
            memcpy(p, text, text_len + 1);
        }
        e->json = p;
        p += text_len + 1;
    }
    e->qname = quote_into(name, p);
    e->qname_len = qname_len;
    p += qname_len + 1;
    e->qtype = quote_into(type, p);
    e->qtype_len = qtype_len;
    return e;
}

/* The shared array for allowedGroups of JSON text TEXT (parsed from it, or GROUPS when given),
 * new reference; an empty array for anything that is not an array of groups. */
static json_t *shared_groups(struct catalog *c, const char *text, const json_t *groups)
{
    json_t *g;

    if (!text || !*text)
        text = "[]";
    pthread_mutex_lock(&c->groups_lock);
    g = json_object_get(c->groups, text);
    if (g) {
        json_incref(g);
        pthread_mutex_unlock(&c->groups_lock);
        return g;
    }
    g = groups ? json_deep_copy(groups) : json_loads(text, 0, NULL);
    if (!json_is_array(g)) {
        json_decref(g);
        g = xcheck(json_array());
    }
    if (json_object_size(c->groups) < CATALOG_SHARED_GROUPS_MAX)
        json_object_set(c->groups, text, g);
    pthread_mutex_unlock(&c->groups_lock);
    return g;
}

int catalog_entry_json_parts(const struct catalog_entry *e, const char *part[3], size_t len[3])
{
    if (!e->json_mid) {
        part[0] = e->json;
        len[0] = e->json_len;
        return 1;
    }
    part[0] = e->json;
    len[0] = e->json_head_len;
    part[1] = e->json_mid;
    len[1] = e->json_mid_len;
    part[2] = e->json + e->json_head_len;
    len[2] = e->json_len - e->json_head_len - e->json_mid_len;
    return 3;
}

char *catalog_entry_json_copy(const struct catalog_entry *e)
{
    const char *part[3];
    size_t len[3], at = 0;
    int n = catalog_entry_json_parts(e, part, len);
    char *out = xmalloc(e->json_len + 1);

    for (int i = 0; i < n; i++) {
        memcpy(out + at, part[i], len[i]);
        at += len[i];
    }
    out[at] = '\0';
    return out;
}

/* The segments of E's list item, preceded by a comma when COMMA; returns their count. */
static int item_segments(const struct catalog_entry *e, bool comma, const char *seg[10],
                         size_t len[10])
{
    int n = 0;
    bool fields = e->json_len > 2; /* the definition has members: a comma before "id" */

#define SEG(p, l) (seg[n] = (p), len[n] = (l), n++)
    if (comma)
        SEG(",", 1);
    SEG(e->qname, e->qname_len);
    SEG(":", 1);
    n += catalog_entry_json_parts(e, seg + n, len + n);
    len[n - 1]--; /* the definition without its closing brace */
    SEG(fields ? ",\"id\":" : "\"id\":", fields ? 6 : 5);
    SEG(e->qname, e->qname_len);
    SEG(",\"label\":", 9);
    SEG(e->qtype, e->qtype_len);
#undef SEG
    /* and the closing brace, as one more segment would be: folded into the reader */
    return n;
}

size_t catalog_entry_list_item(const struct catalog_entry *e, char *out)
{
    const char *seg[10];
    size_t len[10], total = 0;
    int n = item_segments(e, false, seg, len);

    for (int i = 0; i < n; i++) {
        if (out)
            memcpy(out + total, seg[i], len[i]);
        total += len[i];
    }
    if (out)
        out[total] = '}';
    return total + 1;
}

struct catalog_entry *catalog_entry_of_def(struct catalog *c, const json_t *def, const char *text)
{
    const char *usable = json_string_value(json_object_get(def, "usableBy"));
    json_t *groups = json_object_get(def, "allowedGroups");
    struct catalog_entry *e;
    char *dump = text ? NULL : xcheck(json_dumps(def, JSON_COMPACT));
    char *groups_text = json_is_array(groups) ? json_dumps(groups, JSON_COMPACT) : NULL;

    e = entry_new(
        c, json_string_value(json_object_get(def, "name")),
        json_string_value(json_object_get(def, "type")),
        json_integer_value(json_object_get(json_object_get(def, "creationTag"), "versionNumber")),
        text ? text : dump);
    e->usable_by_all = !usable || strcmp(usable, "ALL") == 0; /* as conn_usable_by */
    /* shared, never the caller's: the entry must not change with the caller's definition */
    e->allowed_groups = shared_groups(c, groups_text, groups_text ? groups : NULL);
    free(groups_text);
    free(dump);
    return e;
}

void catalog_publish(struct catalog *c, struct catalog_entry *e)
{
    publish(c, e);
}

void catalog_put_def(struct catalog *c, const json_t *def)
{
    publish(c, catalog_entry_of_def(c, def, NULL));
}

void catalog_put_raw(struct catalog *c, const char *name, const char *type, int64_t version,
                     const char *usable_by, const char *allowed_groups, const char *text)
{
    struct catalog_entry *e = entry_new(c, name, type, version, text);

    e->usable_by_all = !usable_by || strcmp(usable_by, "ALL") == 0;
    e->allowed_groups = shared_groups(c, allowed_groups, NULL);
    publish(c, e);
}

void catalog_delete(struct catalog *c, const char *name, int64_t version)
{
    struct catalog_entry *e = entry_new(c, name, NULL, version, NULL);

    e->deleted = true; /* no groups: a tombstone is never asked whether it is usable */
    publish(c, e);
}

struct catalog_entry *catalog_get(struct catalog *c, const char *name)
{
    uint64_t h = hash_name(name);
    struct catalog_entry *e;

    pthread_rwlock_rdlock(&c->lock);
    e = c->slots[slot_of(c, name, h)].e;
    if (e && !e->deleted)
        atomic_fetch_add(&e->refs, 1);
    else
        e = NULL;
    pthread_rwlock_unlock(&c->lock);
    return e;
}

static int by_name(const void *a, const void *b)
{
    const struct catalog_entry *const *x = a, *const *y = b;
    return strcmp((*x)->name, (*y)->name);
}

/* Every live name, quoted, joined into a JSON array: get-names for a caller who may use them
 * all (an admin, any type) is then the same bytes for every request until the next change
 * (measured: building it per request was half of get-names' CPU at 10,000 connections). */
static void snapshot_names(struct catalog_snapshot *s)
{
    size_t len = 2 + (s->n ? s->n - 1 : 0);
    char *p;

    for (size_t i = 0; i < s->n; i++)
        len += s->items[i]->qname_len;
    s->names = p = xmalloc(len + 1);
    *p++ = '[';
    for (size_t i = 0; i < s->n; i++) {
        if (i)
            *p++ = ',';
        memcpy(p, s->items[i]->qname, s->items[i]->qname_len);
        p += s->items[i]->qname_len;
    }
    *p++ = ']';
    *p = '\0';
    s->names_len = len;
}

struct catalog_snapshot *catalog_snapshot(struct catalog *c)
{
    struct catalog_snapshot *s;

    pthread_rwlock_rdlock(&c->lock);
    s = c->snap;
    if (s)
        atomic_fetch_add(&s->refs, 1);
    pthread_rwlock_unlock(&c->lock);
    if (s)
        return s;

    pthread_rwlock_wrlock(&c->lock);
    if (!c->snap) {
        s = xcalloc(1, sizeof(*s));
        atomic_init(&s->refs, 1);
        pthread_mutex_init(&s->answers_lock, NULL);
        s->items = xcalloc(c->used ? c->used : 1, sizeof(*s->items));
        for (size_t i = 0; i < c->cap; i++)
            if (c->slots[i].e && !c->slots[i].e->deleted) {
                atomic_fetch_add(&c->slots[i].e->refs, 1);
                s->items[s->n++] = c->slots[i].e;
            }
        qsort(s->items, s->n, sizeof(*s->items), by_name);
        s->list_len = 2 + (s->n ? s->n - 1 : 0);
        for (size_t i = 0; i < s->n; i++)
            s->list_len += catalog_entry_list_item(s->items[i], NULL);
        snapshot_names(s);
        c->snap = s;
    }
    s = c->snap;
    atomic_fetch_add(&s->refs, 1);
    pthread_rwlock_unlock(&c->lock);
    return s;
}

json_t *catalog_entry_def(struct catalog *c, struct catalog_entry *e)
{
    struct def_slot *slot = &c->defs[hash_name(e->name) & (DEF_CACHE_SLOTS - 1)];
    struct catalog_entry *old_e;
    json_t *def, *old_def;
    char *text;

    pthread_mutex_lock(&c->def_lock);
    def = slot->e == e ? json_incref(slot->def) : NULL;
    pthread_mutex_unlock(&c->def_lock);
    if (def)
        return def;
    text = catalog_entry_json_copy(e);
    def = json_loadb(text, e->json_len, 0, NULL);
    free(text);
    if (!def)
        return NULL;
    atomic_fetch_add(&e->refs, 1);
    pthread_mutex_lock(&c->def_lock);
    old_e = slot->e;
    old_def = slot->def;
    slot->e = e;
    slot->def = json_incref(def);
    pthread_mutex_unlock(&c->def_lock);
    catalog_entry_release(old_e);
    json_decref(old_def);
    return def;
}

void catalog_load_begin(struct catalog *c)
{
    atomic_store(&c->loading, true);
}

void catalog_load_end(struct catalog *c)
{
    atomic_store(&c->loading, false);
}

bool catalog_loaded(const struct catalog *c)
{
    return !atomic_load(&c->loading);
}

bool catalog_entry_usable(const struct catalog_entry *e, const struct principal *p)
{
    return p->admin || e->usable_by_all || principal_in_any_group(p, e->allowed_groups);
}

static int by_string(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* What decides P's get-names answer of TYPE, as one key: "A" for an admin (who may use
 * everything), else "U" and P's distinct group names in order; then the type. Every part is
 * preceded by its length, so that no two different inputs give the same key. */
static char *names_key(const struct principal *p, const char *type, size_t *key_len)
{
    size_t n = p->admin ? 0 : json_array_size(p->groups), cap = 32 + (type ? strlen(type) : 0);
    const char **names = xcalloc(n ? n : 1, sizeof(*names));
    size_t k = 0, len = 0;
    char *key;

    for (size_t i = 0; i < n; i++) {
        const char *g = json_string_value(json_array_get(p->groups, i));
        if (g) {
            names[k++] = g;
            cap += strlen(g) + 24;
        }
    }
    qsort(names, k, sizeof(*names), by_string);
    key = xmalloc(cap);
    len += (size_t)snprintf(key + len, cap - len, "%s", p->admin ? "A" : "U");
    for (size_t i = 0; i < k; i++)
        if (i == 0 || strcmp(names[i], names[i - 1]) != 0)
            len += (size_t)snprintf(key + len, cap - len, "%zu:%s", strlen(names[i]), names[i]);
    len += (size_t)snprintf(key + len, cap - len, "|%zu:%s", type ? strlen(type) : 0,
                            type ? type : "");
    free(names);
    *key_len = len;
    return key;
}

/* The answer of S for P and TYPE, built: the quoted names the entries already hold, joined. */
static char *names_build(const struct catalog_snapshot *s, const struct principal *p,
                         const char *type, size_t *len)
{
    size_t cap = 2, at = 0;
    char *body;

    for (size_t i = 0; i < s->n; i++)
        cap += s->items[i]->qname_len + 1;
    body = xmalloc(cap + 1);
    body[at++] = '[';
    for (size_t i = 0; i < s->n; i++) {
        const struct catalog_entry *e = s->items[i];
        if ((type && strcmp(e->type, type) != 0) || !catalog_entry_usable(e, p))
            continue;
        if (at > 1)
            body[at++] = ',';
        memcpy(body + at, e->qname, e->qname_len);
        at += e->qname_len;
    }
    body[at++] = ']';
    body[at] = '\0';
    *len = at;
    return body;
}

const char *catalog_snapshot_names(struct catalog_snapshot *s, const struct principal *p,
                                   const char *type, size_t *len, char **owned)
{
    size_t key_len, body_len, budget;
    char *key, *body;
    struct names_answer *a;

    *owned = NULL;
    if (p->admin && !type) {
        *len = s->names_len;
        return s->names;
    }
    key = names_key(p, type, &key_len);
    pthread_mutex_lock(&s->answers_lock);
    for (a = s->answers; a; a = a->next)
        if (a->key_len == key_len && memcmp(a->key, key, key_len) == 0)
            break;
    pthread_mutex_unlock(&s->answers_lock);
    if (a) { /* answers are never removed before the snapshot is freed */
        free(key);
        *len = a->len;
        return a->body;
    }
    body = names_build(s, p, type, &body_len);
    budget = s->names_len * 4 > NAMES_ANSWERS_BYTES ? s->names_len * 4 : NAMES_ANSWERS_BYTES;
    pthread_mutex_lock(&s->answers_lock);
    for (a = s->answers; a; a = a->next) /* another thread may have built it meanwhile */
        if (a->key_len == key_len && memcmp(a->key, key, key_len) == 0)
            break;
    if (!a && s->answers_n < NAMES_ANSWERS_MAX && s->answers_bytes + body_len <= budget) {
        a = xcalloc(1, sizeof(*a));
        a->key = key;
        a->key_len = key_len;
        a->body = body;
        a->len = body_len;
        a->next = s->answers;
        s->answers = a;
        s->answers_n++;
        s->answers_bytes += body_len;
        key = body = NULL;
    }
    pthread_mutex_unlock(&s->answers_lock);
    free(key);
    if (a) {
        free(body);
        *len = a->len;
        return a->body;
    }
    *owned = body;
    *len = body_len;
    return body;
}

/* The segments of part I of the list body: "{", entry I-1 (after a comma past the first) and
 * its closing brace, or "}". Returns their count. */
static int part_segments(const struct catalog_snapshot *s, size_t i, const char *seg[11],
                         size_t len[11])
{
    int n;

    if (i == 0 || i == s->n + 1) {
        seg[0] = i == 0 ? "{" : "}";
        len[0] = 1;
        return 1;
    }
    n = item_segments(s->items[i - 1], i > 1, seg, len);
    seg[n] = "}";
    len[n] = 1;
    return n + 1;
}

size_t catalog_reader_read(struct catalog_reader *r, uint64_t pos, char *buf, size_t max)
{
    size_t copied = 0;

    if (pos != r->pos) {
        r->pos = 0;
        r->index = 0;
        r->seg = 0;
        r->offset = 0;
        /* skip to POS (only on an out-of-order read) */
        while (r->pos < pos) {
            char scratch[4096];
            size_t n = catalog_reader_read(r, r->pos, scratch,
                                           pos - r->pos < sizeof(scratch) ? pos - r->pos
                                                                          : sizeof(scratch));
            if (n == 0)
                return 0;
        }
    }
    while (copied < max && r->index <= r->s->n + 1) {
        const char *seg[11];
        size_t len[11];
        int nseg = part_segments(r->s, r->index, seg, len);
        while (r->seg < nseg && copied < max) {
            size_t n = len[r->seg] - r->offset;
            if (n > max - copied)
                n = max - copied;
            memcpy(buf + copied, seg[r->seg] + r->offset, n);
            copied += n;
            r->offset += n;
            if (r->offset == len[r->seg]) {
                r->seg++;
                r->offset = 0;
            }
        }
        if (r->seg == nseg) {
            r->index++;
            r->seg = 0;
        }
    }
    r->pos += copied;
    return copied;
}
