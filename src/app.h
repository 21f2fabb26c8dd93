/* SPDX-License-Identifier: Apache-2.0 */
/* What a running server holds, passed explicitly to the layers that need it (no globals). */
#ifndef SB_APP_H
#define SB_APP_H

#include <stdint.h>

#include "core/apikeys.h"
#include "core/secrets.h"
#include "settings.h"

struct store;
struct probes;
struct catalog;
struct authcache;
struct sync;
struct trusted_proxies;
struct audit_queue;
struct users_activity;
struct backoff;

struct app {
    const struct config *cfg;
    struct store *store;
    uint8_t apikey_hash_key[APIKEY_HASH_KEY_BYTES]; /* derived from the master key */
    struct secrets secrets;                         /* derived from the master key */
    char *data_dir_abs;                             /* the built-in variable dip.home */
    int audit_fd;                                   /* <data-dir>/audit.log, O_APPEND */
    struct probes *probes;                          /* live tests (src/api/probes.c) */
    struct catalog *catalog;                        /* connections in memory */
    struct authcache *authcache;                    /* principals by key hash */
    struct sync *sync;                              /* follows a shared store, or NULL */
    struct trusted_proxies *proxies;                /* --trusted-proxies (src/http/proxy.c) */
    char key_check[65];              /* the check value of this node's master key ("" in tools) */
    struct audit_queue *audit;       /* records of reads, written in batches */
    struct users_activity *activity; /* users' last authentications */
    struct backoff *backoff;         /* failed sign-ins (src/core/backoff.c) */
};

#endif
