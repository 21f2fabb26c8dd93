/* SPDX-License-Identifier: Apache-2.0 */
/* The data directory: its lock, the store in it, and the master key that goes with the store
 * (check value, first creation, rotation). */
#ifndef SB_DATADIR_H
#define SB_DATADIR_H

#include "app.h"
#include <stddef.h>

#include "settings.h"

/* Writes the path of FILE in CFG's data directory to OUT (SIZE bytes). */
void datadir_path(const struct config *cfg, const char *file, char *out, size_t size);

/* Checks, before anything is created, that this process can use what is there: the data
 * directory and its files writable, the master key and the TLS files readable; refuses a data
 * directory of another user when running as root (what it created would be root's). Logs what
 * is wrong (naming the file, its owner and mode) and returns -1; else 0. */
int datadir_preflight(const struct config *cfg);

/* Creates CFG->data_dir if needed (mode 0700) and takes its lock (one server or maintenance
 * command per data directory). A data directory readable or writable by group or others is
 * refused. Returns the lock's file descriptor, or -1 after logging why (with the chmod that
 * fixes a refusal). */
int datadir_lock(const struct config *cfg);

/* Opens the store and loads the master key (refused when group or others may read or write
 * its file), checking it against the store's key check value (recording one for a new store,
 * finishing or discarding an interrupted rotation), and binds to their places the values of a
 * store sealed before binding (once; see datadir.c). Fills APP->store, APP->apikey_hash_key
 * and APP->secrets. Returns 0, or -1 after logging why; on failure nothing in the data
 * directory has been changed but a new store's schema. */
int datadir_open(const struct config *cfg, struct app *app);

/* Re-encrypts every secret under a new master key in one transaction (binding each to its
 * place), keeps the old key file as a dated backup and installs the new one. The server must be
 * stopped (the lock says so). Returns 0, or -1 after logging why. */
int datadir_rotate_key(const struct config *cfg);

#endif
