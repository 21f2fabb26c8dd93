/* SPDX-License-Identifier: Apache-2.0 */
/* Behind a reverse proxy (--trusted-proxies): the client's address comes from X-Forwarded-For,
 * but only on connections from a trusted proxy, and only as far as the hops are trusted: the
 * address is the rightmost one of the header that is not itself a trusted proxy (everything
 * left of it could be written by the client). The audit's remoteAddr and the per-address limit
 * of requests use it. */
#ifndef SB_PROXY_H
#define SB_PROXY_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include "core/err.h"
#include "probe/fence.h"

struct trusted_proxies {
    struct cidr cidrs[FENCE_MAX_CIDRS];
    int n; /* 0: no proxy is trusted, X-Forwarded-For is ignored */
};

/* Parses the comma-separated CIDRs of TEXT ("" for none) into OUT. */
enum sb_err_kind proxies_parse(const char *text, struct trusted_proxies *out, struct sb_err *err);

/* Writes to OUT (SIZE bytes, at least INET6_ADDRSTRLEN) the numeric address of the client of a
 * connection from PEER whose request carried XFF (the X-Forwarded-For header, NULL if none). */
void proxies_client_addr(const struct trusted_proxies *tp, const struct sockaddr *peer,
                         const char *xff, char *out, size_t size);

/* ---- in-flight requests per client address ---- */

/* Counts a request of ADDR; false (nothing counted) when ADDR already has MAX in flight. */
bool proxies_enter(const char *addr, long long max);
/* The request of ADDR counted by proxies_enter is done. */
void proxies_leave(const char *addr);

#endif
