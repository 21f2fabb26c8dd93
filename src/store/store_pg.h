/* SPDX-License-Identifier: Apache-2.0 */
/* What the two files of the PostgreSQL backend share (internal to src/store/): store_pg.c runs
 * statements and transactions on per-thread connections, store_pg_feed.c keeps the one
 * connection that listens for the changes other nodes announce. */
#ifndef SB_STORE_PG_H
#define SB_STORE_PG_H

#include <libpq-fe.h>
#include <pthread.h>

#include "store/backend.h"

#define PG_CHANNEL "switchboard"
#define PG_NODE_PREFIX "switchboard/"
#define PG_LISTEN_CONNECT_MS 10000    /* a listener connection attempt gives up after this */
#define PG_LISTEN_BACKOFF_MIN_MS 250  /* first wait before reconnecting the listener */
#define PG_LISTEN_BACKOFF_MAX_MS 4000 /* longest wait between listener reconnections */

/* The connection that LISTENs, and its reconnection state. */
struct listener {
    pthread_mutex_t lock;
    PGconn *conn;        /* NULL while down */
    bool up;             /* conn is connected and listening; else a connection attempt */
    bool missed;         /* notifications may have been missed: call on_reset once up */
    int64_t attempt_end; /* monotonic ms: the current connection attempt gives up then */
    int64_t next_try;    /* monotonic ms: no attempt before */
    int backoff_ms;
};

struct pg_store {
    struct store base; /* first: a struct store * is a struct pg_store * */
    char *url;
    char *password; /* as parsed from the URL (for masking), or NULL */
    char node[128]; /* application_name of this process's sessions: PG_NODE_PREFIX HOST/PID */
    struct listener listen;
};

/* Starts a connection to ST's URL: synchronously (PQconnectdbParams) unless ASYNC
 * (PQconnectStartParams). */
PGconn *store_pg_connect(struct pg_store *st, bool async);

/* Copies the first lines of libpq's MSG into OUT on one line, with the URL's password masked. */
void store_pg_masked(const struct pg_store *st, const char *msg, char *out, size_t size);

/* SB_ERR_UNAVAILABLE, "The store is unreachable right now; try again later." */
enum sb_err_kind store_pg_unreachable(struct sb_err *err);

/* Connects and subscribes ST's listener (or leaves it to reconnect later). */
void store_pg_feed_start(struct pg_store *st);

/* The backend's poll_changes (see store_poll_changes). */
enum sb_err_kind store_pg_feed_poll(struct store *base, store_on_conn_fn on_conn,
                                    void (*on_auth)(void *ctx), void (*on_reset)(void *ctx),
                                    void *ctx, int timeout_ms, struct sb_err *err);

#endif
