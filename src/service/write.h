/* SPDX-License-Identifier: Apache-2.0 */
/* One write, one transaction. The dispatcher opens a write for every route the route table
 * audits (http/routes.c), before its handler runs: the change, its history rows and its audit
 * record all commit together or not at all, and what other parts of the server keep in memory
 * (the catalog, the probe state) hears of the change only once it committed. The answer is
 * held until then, so that nothing is acknowledged that is not durable.
 *
 * In the manner of Redis's call(): the service call the handler makes does the change
 * (service/service.h: svc_begin joins this write); what surrounds every change is written here
 * once. */
#ifndef SB_SERVICE_WRITE_H
#define SB_SERVICE_WRITE_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/err.h"

struct app;
struct catalog_entry;

/* An audit record serialised: its compact JSON, as json_dumps(JSON_COMPACT) writes it. */
struct audit_text {
    int64_t ts;
    char *text; /* malloc'd */
    size_t len;
    bool success; /* its outcome is "success" */
};

struct write_tx {
    struct app *app;
    bool open;                /* a store transaction is open on this thread for it */
    bool committed;           /* write_commit succeeded (a second call does nothing) */
    int records;              /* audit records appended in it */
    struct audit_text *lines; /* those records, for audit.log once committed */
    size_t n_lines, cap_lines;
    struct catalog_entry **entries; /* catalog entries to publish once committed */
    size_t n_entries, cap_entries;
    json_t *deleted; /* [name, version] of connections deleted, likewise */
    bool failed;     /* something the write must hold could not be written */
    struct sb_err why;
};

/* Opens W for APP: a store transaction on the calling thread. */
enum sb_err_kind write_begin(struct write_tx *w, struct app *app, struct sb_err *err);

/* Commits W; once committed, publishes what it noted and appends its records to audit.log.
 * On failure nothing of it happened (and nothing is published). Ends W either way. A service
 * call whose outcome is known only once its write committed (a connection create on
 * PostgreSQL) commits the route's write itself: the route's own call then does nothing and
 * returns SB_OK, and W->records still counts the records it held. */
enum sb_err_kind write_commit(struct write_tx *w, struct sb_err *err);

/* Rolls W back and forgets what it noted. W may be closed already. */
void write_rollback(struct write_tx *w);

/* Publishes DEF (a connection just written) to the catalog once W commits; at once when W is
 * NULL or not open. */
void write_publish_def(struct write_tx *w, struct app *app, const json_t *def);

/* write_publish_def of DEF whose compact JSON (json_dumps(DEF, JSON_COMPACT)) is TEXT, which
 * saves dumping it again; TEXT may be NULL. */
void write_publish_def_text(struct write_tx *w, struct app *app, const json_t *def,
                            const char *text);

/* Publishes the delete of connection NAME at VERSION (catalog, probe state) likewise. */
void write_publish_delete(struct write_tx *w, struct app *app, const char *name, int64_t version);

/* Marks W as unable to commit, for the reason ERR (an audit record that could not be
 * appended): write_commit then rolls back and fails with it. */
void write_fail(struct write_tx *w, const struct sb_err *err);

/* Notes that REC, just appended to the store inside W, goes to audit.log once W commits; takes
 * REC's text. */
void write_note_record(struct write_tx *w, struct audit_text *rec);

/* The records noted in W so far (malloc'd, *N of them; free with audit_texts_free), which W
 * forgets: a failed write rolls back and then records the handler's own account of the failure
 * again, alone. */
struct audit_text *write_take_records(struct write_tx *w, size_t *n);

/* Frees the N records of RECS and RECS. */
void audit_texts_free(struct audit_text *recs, size_t n);

/* Appends the JSON lines of the N records of RECS to APP's audit.log in one write. */
void write_audit_lines(struct app *app, const struct audit_text *recs, size_t n);

#endif
