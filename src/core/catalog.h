/* SPDX-License-Identifier: Apache-2.0 */
/* The connection catalog: every connection held in memory, pre-serialised, so that reads (get
 * one, list, get-names) never touch the store. Entries are immutable and reference counted; a
 * change publishes a new entry. Publication is ordered by version, so that two writers that
 * commit v2 then v3 but publish v3 then v2 leave v3 in place; a delete publishes a tombstone
 * carrying the delete's version. Lists are served from a snapshot (a sorted array of entries)
 * rebuilt lazily after a change and shared by every reader until the next one. */
#ifndef SB_CATALOG_H
#define SB_CATALOG_H

#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/principal.h"

struct catalog_entry {
    atomic_int refs;
    int64_t version;
    bool deleted; /* a tombstone */
    bool usable_by_all;
    char *name;
    char *type;
    json_t *allowed_groups; /* array of strings (ALLOWED connections) */
    /* the definition, compact JSON (NULL for a tombstone), json_len bytes in all: JSON_MID
     * (JSON_MID_LEN bytes) is a run shared with other entries, held once by the catalog; when
     * it is not NULL, the text is json's first JSON_HEAD_LEN bytes, then JSON_MID, then the
     * rest of json. Read it through catalog_entry_json_parts or catalog_entry_json_copy. */
    char *json;
    size_t json_len;
    const char *json_mid;
    size_t json_head_len, json_mid_len;
    json_t *mid_ref;     /* the reference that keeps json_mid alive */
    char *qname, *qtype; /* name and type as JSON strings (quoted, escaped) */
    size_t qname_len, qtype_len;
};

/* The definition text of E as 1 or 3 consecutive parts; returns their count. */
int catalog_entry_json_parts(const struct catalog_entry *e, const char *part[3], size_t len[3]);

/* The definition text of E in one new NUL-terminated buffer (caller frees). */
char *catalog_entry_json_copy(const struct catalog_entry *e);

/* Writes E's item of the list body, "name":{definition...,"id":"name","label":"type"}, to OUT
 * when OUT is not NULL; returns its length either way. */
size_t catalog_entry_list_item(const struct catalog_entry *e, char *out);

struct names_answer;

struct catalog_snapshot {
    atomic_int refs;
    size_t n;
    struct catalog_entry **items; /* live entries in name order, one reference each */
    size_t list_len;              /* bytes of the list body built from them */
    char *names;                  /* the JSON array of every live name, in order */
    size_t names_len;
    /* get-names answers built for one type and one set of groups (catalog_snapshot_names) */
    pthread_mutex_t answers_lock;
    struct names_answer *answers;
    size_t answers_n, answers_bytes;
};

struct catalog;

struct catalog *catalog_new(void);
void catalog_free(struct catalog *c);

/* Publishes the definition DEF (with creationTag.versionNumber) unless a newer version of its
 * name is already published. */
void catalog_put_def(struct catalog *c, const json_t *def);

/* The entry catalog_put_def makes of DEF, not published (one reference: catalog_publish it, or
 * catalog_entry_release it): what a write publishes once it commits. TEXT: DEF's compact JSON
 * (json_dumps(DEF, JSON_COMPACT)) when the caller has it, or NULL. */
struct catalog_entry *catalog_entry_of_def(struct catalog *c, const json_t *def, const char *text);

/* Publishes E (steals the reference) unless a newer version of its name is already published. */
void catalog_publish(struct catalog *c, struct catalog_entry *e);

/* Publishes a connection from its stored parts (start-up loading): NAME, TYPE, VERSION,
 * USABLE_BY ("ALL"/"ALLOWED", may be NULL), ALLOWED_GROUPS (JSON text of an array, may be
 * NULL) and the definition's compact JSON TEXT. */
void catalog_put_raw(struct catalog *c, const char *name, const char *type, int64_t version,
                     const char *usable_by, const char *allowed_groups, const char *text);

/* Publishes the deletion of NAME at VERSION unless a newer version is published. */
void catalog_delete(struct catalog *c, const char *name, int64_t version);

/* The live entry of NAME with a reference (release with catalog_entry_release), or NULL. */
struct catalog_entry *catalog_get(struct catalog *c, const char *name);
void catalog_entry_release(struct catalog_entry *e);

/* The current snapshot with a reference (release with catalog_snapshot_release). */
struct catalog_snapshot *catalog_snapshot(struct catalog *c);
void catalog_snapshot_release(struct catalog_snapshot *s);

/* The get-names answer of S for principal P: the JSON array of the names of S's live entries of
 * type TYPE (NULL: any type) that P may use, in name order, LEN bytes. What P may use depends
 * only on P's admin flag and groups: the answer is built once per snapshot for each type and
 * set of groups, kept with the snapshot (a bounded number; past it, built anew each time into
 * *OWNED), and is never older than S, which a change to any connection replaces. The text
 * lives as long as S, or is *OWNED (caller frees) when that is not NULL on return. */
const char *catalog_snapshot_names(struct catalog_snapshot *s, const struct principal *p,
                                   const char *type, size_t *len, char **owned);

/* E's definition parsed (new reference; NULL if its text does not parse), shared with other
 * readers: never modify it (copy first). The trees of recently read entries are kept (256, by
 * name), each with a reference to its entry: a newer version of a name is another entry, so a
 * tree is never older than the entry it was asked for. */
json_t *catalog_entry_def(struct catalog *c, struct catalog_entry *e);

/* Loading at start: between catalog_load_begin and catalog_load_end the catalog holds only part
 * of the store's connections (the store is read while the server already answers),
 * and catalog_loaded says false: what the catalog would serve is not to be served. Publications
 * meanwhile are ordered by version as always, so a write that commits during the load is
 * neither lost nor overwritten by the older row the load read. A new catalog is loaded. */
void catalog_load_begin(struct catalog *c);
void catalog_load_end(struct catalog *c);
bool catalog_loaded(const struct catalog *c);

/* Whether principal P may use entry E (usable-by, as conn_usable_by). */
bool catalog_entry_usable(const struct catalog_entry *e, const struct principal *p);

/* A cursor over the list body of a snapshot: "{", the entries' list items separated by ",",
 * "}" (S->list_len bytes in all). Reads are expected in order; a read at another position
 * restarts the walk from the beginning. */
struct catalog_reader {
    const struct catalog_snapshot *s;
    uint64_t pos;  /* byte position of the next read */
    size_t index;  /* part being read: 0 is "{", 1..n the entries, n+1 "}" */
    int seg;       /* segment of that part */
    size_t offset; /* bytes of that segment already read */
};

/* Copies up to MAX bytes from byte POS into BUF; returns the number copied (0 at the end). */
size_t catalog_reader_read(struct catalog_reader *r, uint64_t pos, char *buf, size_t max);

#endif
