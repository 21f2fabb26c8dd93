/* SPDX-License-Identifier: Apache-2.0 */
/* The HTTP server: libmicrohttpd glue, request lifecycle, authentication and dispatch. */
#ifndef SB_HTTP_SERVER_H
#define SB_HTTP_SERVER_H

#include "app.h"
#include "core/err.h"

struct http_server;

/* Starts listening on APP->cfg->listen with the configured thread pool. Caller stops it with
 * http_server_stop. */
struct http_server *http_server_start(struct app *app, struct sb_err *err);

/* Lets in-flight requests finish until DEADLINE_US (clock_mono_us), answering 503 to new ones
 * meanwhile. */
void http_server_drain(struct http_server *srv, long long deadline_us);

/* Drains if not done yet, then closes every connection and frees SRV. */
void http_server_stop(struct http_server *srv);

#endif
