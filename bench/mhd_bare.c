/* SPDX-License-Identifier: Apache-2.0 */
/* The ceiling of Switchboard's HTTP stack, for bench/run.sh: a bare libmicrohttpd server that
 * answers every GET with the bytes of one file, held in memory, with the same headers as
 * Switchboard's answer to GET one connection (the same names and value lengths: the answers are
 * the same size to the byte, X-Request-Id and ETag fixed) and the same daemon settings as
 * src/http/server.c (internal thread pool with epoll, 8 threads per core, the same
 * per-connection memory, SB_CONN_MEMORY). It does nothing else: no routing, no authentication,
 * no log line, no allocation per request: one response object, built at start.
 *
 *   mhd_bare PORT FILE [THREADS] [CONN_MEMORY]
 *
 * Runs until SIGTERM or SIGINT. */
#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/limits.h" /* SB_CONN_MEMORY, as the server */

static struct MHD_Response *answer;

static enum MHD_Result on_access(void *cls, struct MHD_Connection *conn, const char *url,
                                 const char *method, const char *version, const char *upload_data,
                                 size_t *upload_data_size, void **con_cls)
{
    static int first;
    (void)cls;
    (void)url;
    (void)method;
    (void)version;
    (void)upload_data;
    if (*con_cls == NULL) { /* the first call of a request: headers only, as in the server */
        *con_cls = &first;
        return MHD_YES;
    }
    *upload_data_size = 0;
    return MHD_queue_response(conn, MHD_HTTP_OK, answer);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)conn;
    (void)toe;
    *con_cls = NULL;
}

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    long size;

    if (!f || fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0)
        return NULL;
    buf = malloc((size_t)size + 1);
    if (!buf || fread(buf, 1, (size_t)size, f) != (size_t)size) {
        fclose(f);
        free(buf);
        return NULL;
    }
    fclose(f);
    *len = (size_t)size;
    return buf;
}

int main(int argc, char **argv)
{
    struct MHD_Daemon *d;
    sigset_t stop;
    unsigned threads;
    size_t len, conn_memory;
    char *body;
    struct sockaddr_in addr = {0};
    int sig;

    if (argc < 3 || argc > 5) {
        fprintf(stderr, "usage: %s PORT FILE [THREADS] [CONN_MEMORY]\n", argv[0]);
        return 2;
    }
    body = read_file(argv[2], &len);
    if (!body) {
        fprintf(stderr, "mhd_bare: cannot read %s\n", argv[2]);
        return 1;
    }
    threads = argc > 3 ? (unsigned)atoi(argv[3]) : 8u * (unsigned)sysconf(_SC_NPROCESSORS_ONLN);
    conn_memory = argc > 4 ? (size_t)atol(argv[4]) : (size_t)SB_CONN_MEMORY;
    answer = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_PERSISTENT);
    MHD_add_response_header(answer, MHD_HTTP_HEADER_CONTENT_TYPE,
                            "application/json; charset=utf-8");
    MHD_add_response_header(answer, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    /* the rest of src/http/server.c's headers (add_common_headers, queue_answer) */
    MHD_add_response_header(answer, "X-Request-Id", "0123456789abcdef");
    MHD_add_response_header(answer, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(answer, "Referrer-Policy", "no-referrer");
    MHD_add_response_header(answer, "X-Frame-Options", "DENY");
    MHD_add_response_header(answer, "Content-Security-Policy",
                            "default-src 'none'; frame-ancestors 'none'");
    MHD_add_response_header(answer, MHD_HTTP_HEADER_ETAG, "\"1\"");

    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)atoi(argv[1]));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK); /* loopback only */

    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);
    signal(SIGPIPE, SIG_IGN);

    d = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ITC | MHD_ALLOW_SUSPEND_RESUME, 0,
        NULL, NULL, on_access, NULL, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
        MHD_OPTION_THREAD_POOL_SIZE, threads, MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL,
        MHD_OPTION_CONNECTION_TIMEOUT, 60u, MHD_OPTION_LISTEN_BACKLOG_SIZE, 1024u,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, conn_memory, MHD_OPTION_END);
    if (!d) {
        fprintf(stderr, "mhd_bare: cannot listen on port %s\n", argv[1]);
        return 1;
    }
    sigwait(&stop, &sig);
    MHD_stop_daemon(d);
    MHD_destroy_response(answer);
    free(body);
    return 0;
}
