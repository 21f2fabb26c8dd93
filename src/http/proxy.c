/* SPDX-License-Identifier: Apache-2.0 */
/* Trusted proxies and X-Forwarded-For, and the count of requests in flight per client address
 * (which the per-address limit uses once the address comes from a proxy: libmicrohttpd's own
 * per-IP limit would count the proxy as one client). */
#include <arpa/inet.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "http/proxy.h"

enum sb_err_kind proxies_parse(const char *text, struct trusted_proxies *out, struct sb_err *err)
{
    out->n = 0;
    if (!text || !*text)
        return SB_OK;
    return fence_parse_list(text, "--trusted-proxies", out->cidrs, &out->n, err);
}

/* FAMILY and the 4 or 16 bytes of ADDR, IPv4-mapped IPv6 as IPv4; false for another family. */
static bool addr_bytes(const struct sockaddr *sa, int *family, unsigned char *addr)
{
    if (sa->sa_family == AF_INET) {
        *family = AF_INET;
        memcpy(addr, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, 4);
        return true;
    }
    if (sa->sa_family == AF_INET6) {
        const unsigned char *b = ((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr.s6_addr;
        static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
        if (memcmp(b, mapped, 12) == 0) {
            *family = AF_INET;
            memcpy(addr, b + 12, 4);
        } else {
            *family = AF_INET6;
            memcpy(addr, b, 16);
        }
        return true;
    }
    return false;
}

static bool trusted(const struct trusted_proxies *tp, int family, const unsigned char *addr)
{
    for (int i = 0; i < tp->n; i++) {
        const struct cidr *c = &tp->cidrs[i];
        int bits = c->prefix, full = bits / 8, rest = bits % 8;
        if (c->family != family)
            continue;
        if (memcmp(c->addr, addr, (size_t)full) != 0)
            continue;
        if (rest && ((c->addr[full] ^ addr[full]) & (0xff << (8 - rest)) & 0xff))
            continue;
        return true;
    }
    return false;
}

/* Parses one hop of X-Forwarded-For (spaces trimmed; "[v6]" and "v4:port" tolerated). */
static bool parse_hop(const char *hop, size_t len, int *family, unsigned char *addr, char *text,
                      size_t text_size)
{
    char buf[INET6_ADDRSTRLEN + 8];

    while (len && (*hop == ' ' || *hop == '\t'))
        hop++, len--;
    while (len && (hop[len - 1] == ' ' || hop[len - 1] == '\t'))
        len--;
    if (len == 0 || len >= sizeof(buf))
        return false;
    memcpy(buf, hop, len);
    buf[len] = '\0';
    if (buf[0] == '[') {
        char *end = strchr(buf, ']');
        if (!end)
            return false;
        *end = '\0';
        memmove(buf, buf + 1, strlen(buf + 1) + 1);
    } else if (strchr(buf, '.') && strchr(buf, ':')) {
        *strchr(buf, ':') = '\0'; /* 192.0.2.1:4711 */
    }
    if (inet_pton(AF_INET, buf, addr) == 1)
        *family = AF_INET;
    else if (inet_pton(AF_INET6, buf, addr) == 1)
        *family = AF_INET6;
    else
        return false;
    inet_ntop(*family, addr, text, (socklen_t)text_size);
    return true;
}

void proxies_client_addr(const struct trusted_proxies *tp, const struct sockaddr *peer,
                         const char *xff, char *out, size_t size)
{
    unsigned char addr[16];
    int family;

    snprintf(out, size, "-");
    if (!peer || !addr_bytes(peer, &family, addr))
        return;
    inet_ntop(family, addr, out, (socklen_t)size);
    if (!xff || !tp || tp->n == 0 || !trusted(tp, family, addr))
        return;
    /* from the right: each hop that is a trusted proxy passes the question on to its left */
    for (size_t end = strlen(xff); end > 0;) {
        size_t start = end;
        char text[INET6_ADDRSTRLEN];
        while (start > 0 && xff[start - 1] != ',')
            start--;
        if (!parse_hop(xff + start, end - start, &family, addr, text, sizeof(text)))
            return; /* garbage: keep the last address vouched for */
        snprintf(out, size, "%s", text);
        if (!trusted(tp, family, addr))
            return;
        end = start > 0 ? start - 1 : 0;
    }
}

/* ---- in-flight requests per address: a small open-addressing table ---- */

#define SLOTS 4096

static struct slot {
    char addr[48];
    long long n;
} slots[SLOTS];
static pthread_mutex_t slots_lock = PTHREAD_MUTEX_INITIALIZER;

static uint32_t hash(const char *s)
{
    uint32_t h = 2166136261u;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

/* The slot of ADDR, or the free one to take for it; NULL when the table is full. */
static struct slot *find(const char *addr)
{
    uint32_t h = hash(addr);
    struct slot *free_slot = NULL;

    for (uint32_t i = 0; i < SLOTS; i++) {
        struct slot *s = &slots[(h + i) % SLOTS];
        if (s->n > 0 && strcmp(s->addr, addr) == 0)
            return s;
        if (s->n == 0 && !free_slot)
            free_slot = s;
        if (s->n == 0 && s->addr[0] == '\0')
            break; /* never used: ADDR is not further on */
    }
    return free_slot;
}

bool proxies_enter(const char *addr, long long max)
{
    bool ok = true;

    pthread_mutex_lock(&slots_lock);
    struct slot *s = find(addr);
    if (s && s->n >= max) {
        ok = false;
    } else if (s) {
        if (s->n == 0)
            snprintf(s->addr, sizeof(s->addr), "%s", addr);
        s->n++;
    } /* a full table counts nothing: the limit of connections still holds */
    pthread_mutex_unlock(&slots_lock);
    return ok;
}

void proxies_leave(const char *addr)
{
    pthread_mutex_lock(&slots_lock);
    struct slot *s = find(addr);
    if (s && s->n > 0 && strcmp(s->addr, addr) == 0)
        s->n--;
    pthread_mutex_unlock(&slots_lock);
}
