/* SPDX-License-Identifier: Apache-2.0 */
/* The probe fence: which addresses a live test may connect to. A target host is resolved once
 * here; the address is checked against the deny and allow lists and is then the one the driver
 * connects to, so that a second lookup cannot lead elsewhere (DNS rebinding). */
#ifndef SB_FENCE_H
#define SB_FENCE_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include "core/err.h"

#define FENCE_MAX_CIDRS 64

struct cidr {
    int family; /* AF_INET or AF_INET6 */
    unsigned char addr[16];
    int prefix;
};

struct fence {
    struct cidr deny[FENCE_MAX_CIDRS];
    int n_deny;
    struct cidr allow[FENCE_MAX_CIDRS]; /* empty: every address not denied is allowed */
    int n_allow;
};

/* Parses a comma-separated list of CIDRs ("10.0.0.0/8,fe80::/10"; a bare address is a /32 or
 * /128) into OUT (at most FENCE_MAX_CIDRS). WHAT names the setting for the message. */
enum sb_err_kind fence_parse_list(const char *text, const char *what, struct cidr *out, int *n,
                                  struct sb_err *err);

/* Whether ADDR may be probed; when not, writes the reason to WHY. IPv4-mapped IPv6 addresses
 * are checked as IPv4. */
bool fence_allows(const struct fence *f, const struct sockaddr *addr, char *why, size_t why_size);

/* Whether ADDR (4 or 16 bytes of FAMILY) is unspecified: 0.0.0.0/8 or ::. Such addresses reach
 * the local host and are refused whatever the lists say. */
bool fence_unspecified(int family, const unsigned char *addr);

/* Whether S has only ASCII bytes. */
bool fence_is_ascii(const char *s);

/* Writes HOST to OUT as the ASCII name to resolve: unchanged when ASCII, else converted with
 * libidn2 (IDNA 2008, UTS #46). Refuses (false, a sentence in MSG) a name with spaces or
 * control characters, one that does not convert, or one longer than OUT_SIZE - 1. */
bool fence_host_ascii(const char *host, char *out, size_t out_size, char *msg, size_t msg_size);

/* Converts HOST (name or literal) to ASCII (written to ASCII, the name drivers must use),
 * resolves it once and checks the first address. On success writes its numeric form to IP
 * (size INET6_ADDRSTRLEN). Failures are written to MSG as a sentence: invalid name, name not
 * resolved, or denied by policy. */
bool fence_resolve(const struct fence *f, const char *host, char *ascii, size_t ascii_size,
                   char *ip, size_t ip_size, char *msg, size_t msg_size);

#endif
