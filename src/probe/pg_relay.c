/* SPDX-License-Identifier: Apache-2.0 */
/* The PostgreSQL relay of pg_relay.h. The server's side is read as the protocol frames it
 * (https://www.postgresql.org/docs/current/protocol-flow.html): after an SSLRequest (or a
 * GSSENCRequest) the server answers one byte, 'S' (or 'G') to go encrypted, 'N' to stay in
 * clear; then every message is a type byte, a 32-bit length (itself included) and a payload.
 * An Authentication message ('R') carries a 32-bit code: 0 ok, 3 cleartext password, 5 MD5,
 * 10 SASL. Only the server's side before encryption or AuthenticationOk is read; the client's
 * side only for its first eight bytes (request code or protocol version). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "probe/pg_relay.h"
#include "util/mem.h"

#define RELAY_BUF 16384
#define SSL_REQUEST_CODE 80877103u
#define GSSENC_REQUEST_CODE 80877104u

enum server_state {
    SERVER_IDLE,        /* nothing expected until the client's next first message */
    SERVER_ANSWER_BYTE, /* one byte answering an SSL or GSS request */
    SERVER_MESSAGES,    /* typed messages, until AuthenticationOk */
    SERVER_FORWARD,     /* encrypted or authenticated: forwarded unread */
};

struct pg_relay {
    int lfd, cfd, sfd;
    bool sconnected, stopped, refused, tls;
    int connect_errno; /* why the connection to the server failed, 0 when it did not */
    enum server_state state;
    bool client_first; /* the client's next bytes open a first message */
    unsigned char first[8];
    size_t first_len;
    unsigned char hdr[9]; /* type, length, and for 'R' the code */
    size_t hdr_len;
    uint32_t skip; /* payload bytes of the current message still to pass */
    unsigned char c2s[RELAY_BUF], s2c[RELAY_BUF];
    size_t c2s_len, s2c_len;
};

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

struct pg_relay *pg_relay_open(const char *ip, unsigned port, unsigned *local_port, char *msg,
                               size_t msg_size)
{
    struct pg_relay *r = xcalloc(1, sizeof(*r));
    struct sockaddr_storage ss = {0};
    struct sockaddr_in local = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len;

    r->lfd = r->cfd = r->sfd = -1;
    r->client_first = true;
    if (strchr(ip, ':')) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
        a->sin6_family = AF_INET6;
        a->sin6_port = htons((uint16_t)port);
        inet_pton(AF_INET6, ip, &a->sin6_addr);
        len = sizeof(*a);
    } else {
        struct sockaddr_in *a = (struct sockaddr_in *)&ss;
        a->sin_family = AF_INET;
        a->sin_port = htons((uint16_t)port);
        inet_pton(AF_INET, ip, &a->sin_addr);
        len = sizeof(*a);
    }
    r->sfd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    r->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (r->sfd < 0 || r->lfd < 0 ||
        (connect(r->sfd, (struct sockaddr *)&ss, len) != 0 && errno != EINPROGRESS) ||
        bind(r->lfd, (struct sockaddr *)&local, sizeof(local)) != 0 || listen(r->lfd, 1) != 0) {
        snprintf(msg, msg_size, "PostgreSQL: connection failed (%s).", strerror(errno));
        pg_relay_close(r);
        return NULL;
    }
    len = sizeof(local);
    getsockname(r->lfd, (struct sockaddr *)&local, &len);
    *local_port = ntohs(local.sin_port);
    return r;
}

void pg_relay_fds(struct pg_relay *r, struct pollfd *fds, int *n)
{
    if (r->stopped)
        return;
    if (r->cfd < 0)
        fds[(*n)++] = (struct pollfd){.fd = r->lfd, .events = POLLIN};
    else
        fds[(*n)++] = (struct pollfd){
            .fd = r->cfd,
            .events = (short)((r->c2s_len < RELAY_BUF ? POLLIN : 0) | (r->s2c_len ? POLLOUT : 0))};
    fds[(*n)++] =
        (struct pollfd){.fd = r->sfd,
                        .events = (short)((!r->sconnected || r->c2s_len ? POLLOUT : 0) |
                                          (r->sconnected && r->s2c_len < RELAY_BUF ? POLLIN : 0))};
}

static void stop(struct pg_relay *r)
{
    r->stopped = true;
    if (r->cfd >= 0)
        close(r->cfd); /* libpq sees the end of its connection */
    if (r->sfd >= 0)
        close(r->sfd);
    r->cfd = r->sfd = -1;
}

/* Reads the client's first eight bytes: an SSL or GSS request, or a startup message. */
static void watch_client(struct pg_relay *r, const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n && r->client_first; i++) {
        r->first[r->first_len++] = p[i];
        if (r->first_len < 8)
            continue;
        uint32_t code = be32(r->first + 4);
        r->client_first = false;
        r->first_len = 0;
        r->state = code == SSL_REQUEST_CODE || code == GSSENC_REQUEST_CODE ? SERVER_ANSWER_BYTE
                                                                           : SERVER_MESSAGES;
    }
}

/* Reads server bytes; false when they ask for a cleartext password without encryption. */
static bool watch_server(struct pg_relay *r, const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n && r->state != SERVER_FORWARD; i++) {
        switch (r->state) {
        case SERVER_IDLE: /* unasked-for bytes: read them as messages */
            r->state = SERVER_MESSAGES;
            /* fall through */
        case SERVER_MESSAGES:
            if (r->skip) {
                r->skip--;
                break;
            }
            r->hdr[r->hdr_len++] = p[i];
            if (r->hdr_len == 5 && r->hdr[0] != 'R') {
                uint32_t len = be32(r->hdr + 1);
                r->skip = len >= 4 ? len - 4 : 0;
                r->hdr_len = 0;
            } else if (r->hdr_len == 9) {
                uint32_t len = be32(r->hdr + 1), code = be32(r->hdr + 5);
                r->skip = len >= 8 ? len - 8 : 0;
                r->hdr_len = 0;
                if (code == 3)
                    return false; /* AuthenticationCleartextPassword, in clear */
                if (code == 0)
                    r->state = SERVER_FORWARD; /* AuthenticationOk: no password goes out now */
            }
            break;
        case SERVER_ANSWER_BYTE:
            if (p[i] == 'S' || p[i] == 'G') {
                r->tls = true;
                r->state = SERVER_FORWARD;
            } else {
                r->state = SERVER_IDLE; /* 'N': the client opens again, in clear */
                r->client_first = true;
            }
            break;
        case SERVER_FORWARD: break;
        }
    }
    return true;
}

/* Accepts libpq's connection, and only libpq's: the peer must be CLIENT_FD's own address. */
static void accept_client(struct pg_relay *r, int client_fd)
{
    struct sockaddr_storage peer, mine;
    socklen_t plen = sizeof(peer), mlen = sizeof(mine);
    int fd = accept4(r->lfd, (struct sockaddr *)&peer, &plen, SOCK_CLOEXEC | SOCK_NONBLOCK);

    if (fd < 0)
        return;
    if (getsockname(client_fd, (struct sockaddr *)&mine, &mlen) != 0 || plen != mlen ||
        memcmp(&peer, &mine, plen) != 0) {
        close(fd); /* another local process raced libpq to the port */
        return;
    }
    r->cfd = fd;
    close(r->lfd);
    r->lfd = -1;
}

static bool move(int from, int to, unsigned char *buf, size_t *len, bool read_side)
{
    ssize_t n;

    if (read_side) {
        n = read(from, buf + *len, RELAY_BUF - *len);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
            return false;
        if (n > 0)
            *len += (size_t)n;
        return true;
    }
    n = write(to, buf, *len);
    if (n < 0 && errno != EAGAIN && errno != EINTR)
        return false;
    if (n > 0) {
        memmove(buf, buf + n, *len - (size_t)n);
        *len -= (size_t)n;
    }
    return true;
}

bool pg_relay_step(struct pg_relay *r, const struct pollfd *fds, int client_fd)
{
    const struct pollfd *c = &fds[0], *s = &fds[1];

    if (r->stopped)
        return false;
    if (r->cfd < 0) {
        if (c->revents & POLLIN)
            accept_client(r, client_fd);
    } else {
        if (c->revents & (POLLIN | POLLHUP | POLLERR)) {
            size_t before = r->c2s_len;
            if (!move(r->cfd, -1, r->c2s, &r->c2s_len, true)) {
                stop(r);
                return false;
            }
            watch_client(r, r->c2s + before, r->c2s_len - before);
        }
        if ((c->revents & POLLOUT) && !move(-1, r->cfd, r->s2c, &r->s2c_len, false)) {
            stop(r);
            return false;
        }
    }
    if (!r->sconnected && (s->revents & (POLLOUT | POLLERR | POLLHUP))) {
        int soerr = 0;
        socklen_t l = sizeof(soerr);
        getsockopt(r->sfd, SOL_SOCKET, SO_ERROR, &soerr, &l);
        if (soerr) {
            r->connect_errno = soerr;
            stop(r);
            return false;
        }
        r->sconnected = true;
    }
    if (r->sconnected && (s->revents & (POLLIN | POLLHUP | POLLERR))) {
        size_t before = r->s2c_len;
        if (!move(r->sfd, -1, r->s2c, &r->s2c_len, true)) {
            if (r->s2c_len && r->cfd >= 0) /* what the server said last, an error say */
                (void)!write(r->cfd, r->s2c, r->s2c_len);
            stop(r);
            return false;
        }
        if (!watch_server(r, r->s2c + before, r->s2c_len - before)) {
            r->refused = true; /* the request is dropped with the link, never passed on */
            stop(r);
            return false;
        }
    }
    if (r->sconnected && (s->revents & POLLOUT) && r->c2s_len &&
        !move(-1, r->sfd, r->c2s, &r->c2s_len, false)) {
        stop(r);
        return false;
    }
    return true;
}

bool pg_relay_refused(const struct pg_relay *r)
{
    return r->refused;
}

int pg_relay_connect_errno(const struct pg_relay *r)
{
    return r->connect_errno;
}

bool pg_relay_tls(const struct pg_relay *r)
{
    return r->tls;
}

void pg_relay_close(struct pg_relay *r)
{
    if (!r)
        return;
    if (r->lfd >= 0)
        close(r->lfd);
    if (r->cfd >= 0)
        close(r->cfd);
    if (r->sfd >= 0)
        close(r->sfd);
    free(r);
}
