/* SPDX-License-Identifier: Apache-2.0 */
/* CIDR lists and the check that fences live probes. Order of the rules: an unspecified
 * address (0.0.0.0/8 and ::; IPv4-mapped ones are checked as IPv4) is always
 * refused, since on Linux connecting to it reaches this host; then an address in a deny range
 * is refused; otherwise, when an allow list is set, an address outside it is refused;
 * everything else may be probed. Host names with non-ASCII characters are converted with
 * libidn2 (IDNA 2008, UTS #46 non-transitional) before the lookup, and the converted name is
 * the one the driver is given. */
#include <arpa/inet.h>
#include <idn2.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "probe/fence.h"
#include "util/limits.h"

static bool parse_one(const char *text, struct cidr *c)
{
    char buf[80];
    char *slash, *end;
    long prefix;

    if (strlen(text) >= sizeof(buf))
        return false;
    strcpy(buf, text);
    slash = strchr(buf, '/');
    if (slash)
        *slash = '\0';
    memset(c, 0, sizeof(*c));
    if (inet_pton(AF_INET, buf, c->addr) == 1) {
        c->family = AF_INET;
        c->prefix = 32;
    } else if (inet_pton(AF_INET6, buf, c->addr) == 1) {
        c->family = AF_INET6;
        c->prefix = 128;
    } else {
        return false;
    }
    if (slash) {
        prefix = strtol(slash + 1, &end, 10);
        if (*end || end == slash + 1 || prefix < 0 || prefix > c->prefix)
            return false;
        c->prefix = (int)prefix;
    }
    return true;
}

enum sb_err_kind fence_parse_list(const char *text, const char *what, struct cidr *out, int *n,
                                  struct sb_err *err)
{
    char item[128];
    const char *p = text;

    *n = 0;
    while (*p) {
        size_t len = strcspn(p, ",");
        while (len && (*p == ' ')) {
            p++;
            len--;
        }
        if (len >= sizeof(item))
            return sb_err_set(err, SB_ERR_BAD_REQUEST,
                              "Setting %s has an entry that is too "
                              "long.",
                              what);
        memcpy(item, p, len);
        item[len] = '\0';
        while (len && item[len - 1] == ' ')
            item[--len] = '\0';
        if (len) {
            if (*n == FENCE_MAX_CIDRS)
                return sb_err_set(err, SB_ERR_BAD_REQUEST, "Setting %s has more than %d ranges.",
                                  what, FENCE_MAX_CIDRS);
            if (!parse_one(item, &out[*n]))
                return sb_err_set(err, SB_ERR_BAD_REQUEST,
                                  "Setting %s: '%s' is not an address or CIDR range.", what, item);
            (*n)++;
        }
        p += strcspn(p, ",");
        if (*p == ',')
            p++;
    }
    return SB_OK;
}

static bool in_range(const struct cidr *c, int family, const unsigned char *addr)
{
    int full = c->prefix / 8, rest = c->prefix % 8;

    if (c->family != family)
        return false;
    if (memcmp(c->addr, addr, (size_t)full) != 0)
        return false;
    if (rest == 0)
        return true;
    unsigned char mask = (unsigned char)(0xff << (8 - rest));
    return (c->addr[full] & mask) == (addr[full] & mask);
}

static bool in_list(const struct cidr *list, int n, int family, const unsigned char *addr)
{
    for (int i = 0; i < n; i++)
        if (in_range(&list[i], family, addr))
            return true;
    return false;
}

bool fence_unspecified(int family, const unsigned char *addr)
{
    static const unsigned char zero[16] = {0};

    if (family == AF_INET)
        return addr[0] == 0;                                  /* 0.0.0.0/8: "this network" */
    return family == AF_INET6 && memcmp(addr, zero, 16) == 0; /* :: */
}

bool fence_allows(const struct fence *f, const struct sockaddr *sa, char *why, size_t why_size)
{
    unsigned char addr[16];
    int family = sa->sa_family;
    char text[INET6_ADDRSTRLEN] = "?";

    if (family == AF_INET) {
        memcpy(addr, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, 4);
    } else if (family == AF_INET6) {
        const unsigned char *a6 =
            ((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr.s6_addr;
        static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
        if (memcmp(a6, mapped, 12) == 0) {
            family = AF_INET;
            memcpy(addr, a6 + 12, 4);
        } else {
            memcpy(addr, a6, 16);
        }
    } else {
        snprintf(why, why_size, "The target address family is not supported.");
        return false;
    }
    inet_ntop(family, addr, text, sizeof(text));
    if (fence_unspecified(family, addr)) {
        snprintf(why, why_size,
                 "The target address %s is refused by policy: it is unspecified and reaches this "
                 "host, so live tests never connect to it; no connection was attempted.",
                 text);
        return false;
    }
    if (in_list(f->deny, f->n_deny, family, addr)) {
        snprintf(why, why_size,
                 "The target address %s is denied by policy (setting probe-deny); no connection "
                 "was attempted.",
                 text);
        return false;
    }
    if (f->n_allow && !in_list(f->allow, f->n_allow, family, addr)) {
        snprintf(why, why_size,
                 "The target address %s is denied by policy: it is outside the ranges of setting "
                 "probe-allow; no connection was attempted.",
                 text);
        return false;
    }
    return true;
}

bool fence_host_ascii(const char *host, char *out, size_t out_size, char *msg, size_t msg_size)
{
    char echo[SB_ECHO_MAX + 4];
    char *ascii = NULL;
    int rc;

    for (const unsigned char *p = (const unsigned char *)host; *p; p++)
        if (*p < 0x21 || *p == 0x7f) {
            snprintf(msg, msg_size,
                     "Host name is not valid: it contains a space or a control "
                     "character.");
            return false;
        }
    if (!fence_is_ascii(host)) {
        sb_err_echo(echo, sizeof(echo), host);
        rc = idn2_to_ascii_8z(host, &ascii, IDN2_NONTRANSITIONAL);
        if (rc != IDN2_OK) {
            snprintf(msg, msg_size,
                     "Host name '%s' is not a valid internationalised domain name (%s); no "
                     "connection was attempted.",
                     echo, idn2_strerror(rc));
            return false;
        }
        host = ascii;
    }
    if (strlen(host) >= out_size) {
        snprintf(msg, msg_size, "Host name is longer than %zu characters.", out_size - 1);
        idn2_free(ascii);
        return false;
    }
    strcpy(out, host);
    idn2_free(ascii);
    return true;
}

bool fence_is_ascii(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s >= 0x80)
            return false;
    return true;
}

bool fence_resolve(const struct fence *f, const char *host, char *ascii, size_t ascii_size,
                   char *ip, size_t ip_size, char *msg, size_t msg_size)
{
    struct addrinfo hints = {0}, *res = NULL;
    char echo[SB_ECHO_MAX + 4];
    int rc;
    bool ok;

    if (!fence_host_ascii(host, ascii, ascii_size, msg, msg_size))
        return false;
    sb_err_echo(echo, sizeof(echo), host);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    rc = getaddrinfo(ascii, NULL, &hints, &res);
    if (rc != 0 || !res) {
        snprintf(msg, msg_size, "Name not resolved: host '%s' could not be resolved (%s).", echo,
                 gai_strerror(rc));
        return false;
    }
    ok = fence_allows(f, res->ai_addr, msg, msg_size);
    if (ok)
        getnameinfo(res->ai_addr, res->ai_addrlen, ip, (socklen_t)ip_size, NULL, 0, NI_NUMERICHOST);
    freeaddrinfo(res);
    return ok;
}
