/* SPDX-License-Identifier: Apache-2.0 */
/* Following a store shared with other nodes: a thread applies their changes to this node's
 * in-memory catalog (principals follow through the store's auth generation). While the change
 * feed is down, reads that the catalog serves answer 503 rather than possibly stale data; when
 * it is back, everything is reloaded before they are served again. */
#ifndef SB_SYNC_H
#define SB_SYNC_H

#include <stdbool.h>

#include "app.h"

struct sync;

/* Starts following APP->store when it is shared; returns NULL (nothing to do) otherwise. */
struct sync *sync_start(struct app *app);
void sync_stop(struct sync *s);

/* Whether the catalog may serve reads now: always for a store that is not shared. */
bool sync_catalog_ready(const struct sync *s);

#endif
