/* SPDX-License-Identifier: Apache-2.0 */
/* A one-connection relay between libpq and a PostgreSQL server that refuses to let a password
 * go out in clear. libpq 15 has no require_auth: with sslmode prefer (or disable), a server
 * that declines TLS and asks for AuthenticationCleartextPassword gets the password. The probe
 * therefore points libpq at a loopback listener of its own; the relay connects to the address
 * the fence checked, forwards both ways, and reads the server's side until authentication is
 * over: once TLS is agreed it only forwards; without TLS, a cleartext password request is never
 * passed on and the link is cut, so libpq never answers it. */
#ifndef SB_PG_RELAY_H
#define SB_PG_RELAY_H

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>

struct pg_relay;

/* Connects (without blocking) to IP:PORT and listens on 127.0.0.1; the port libpq must use is
 * written to *LOCAL_PORT. NULL with a sentence in MSG on failure. */
struct pg_relay *pg_relay_open(const char *ip, unsigned port, unsigned *local_port, char *msg,
                               size_t msg_size);

/* Adds the relay's sockets to FDS (from index *N, at most 3) for the next poll. */
void pg_relay_fds(struct pg_relay *r, struct pollfd *fds, int *n);

/* After poll: accepts libpq's connection (only from CLIENT_FD's own address) and moves bytes.
 * Returns false when the relay stopped: the server closed, a socket failed, or a cleartext
 * password was asked for without TLS (then pg_relay_refused is true). */
bool pg_relay_step(struct pg_relay *r, const struct pollfd *fds, int client_fd);

/* Whether the server asked for a cleartext password on a link without TLS. */
bool pg_relay_refused(const struct pg_relay *r);

/* The errno of a failed connection to the server (ECONNREFUSED...), or 0. */
int pg_relay_connect_errno(const struct pg_relay *r);

/* Whether the server agreed to TLS. */
bool pg_relay_tls(const struct pg_relay *r);

void pg_relay_close(struct pg_relay *r);

#endif
