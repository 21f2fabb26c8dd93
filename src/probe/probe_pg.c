/* SPDX-License-Identifier: Apache-2.0 */
/* PostgreSQL (and its wire-compatible kin) through libpq. Only the keywords below are passed:
 * file-reading options (passfile, service, sslkey, sslcert...) are never taken from a
 * definition, and passfile is pinned to /dev/null so that no ~/.pgpass is consulted either.
 * The host is resolved by the fence and given to libpq as hostaddr. The connection and the
 * query run without blocking against one deadline of probe-timeout milliseconds: libpq's own
 * connect_timeout counts whole seconds and may overshoot by one. */
#include <errno.h>
#include <libpq-fe.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "probe/pg_relay.h"
#include "probe/probe.h"
#include "util/clock.h"

/* The first line of libpq's message, without the "connection to server ... failed: " noise. */
static void first_line(const char *msg, char *out, size_t size)
{
    const char *p = strstr(msg, "failed: ");
    p = p ? p + 8 : msg;
    snprintf(out, size, "%.*s", (int)strcspn(p, "\n"), p);
}

static void classify(const char *msg, const char *db, const char *user, struct probe_result *out)
{
    char line[256];

    first_line(msg, line, sizeof(line));
    if (strstr(msg, "authentication failed") || strstr(msg, "no password supplied") ||
        strstr(msg, "no pg_hba.conf entry"))
        probe_fail(out, "PostgreSQL: authentication failed for user '%.64s' (%s).", user, line);
    else if (strstr(msg, "does not exist") && strstr(msg, "database"))
        probe_fail(out, "PostgreSQL: database missing: '%.64s' does not exist (%s).", db, line);
    else if (strstr(msg, "Connection refused"))
        probe_fail(out, "PostgreSQL: connection refused (%s).", line);
    else if (strstr(msg, "timeout") || strstr(msg, "timed out"))
        probe_fail(out, "PostgreSQL: timed out (%s).", line);
    else if (strstr(msg, "SSL") || strstr(msg, "certificate"))
        probe_fail(out, "PostgreSQL: TLS failure (%s).", line);
    else
        probe_fail(out, "PostgreSQL: connection failed (%s).", line);
}

/* Waits until CONN's socket is ready for EVENTS or the deadline passes (false), moving the
 * relay's bytes meanwhile. */
static bool wait_socket(PGconn *conn, struct pg_relay *relay, short events, long long deadline_us)
{
    for (;;) {
        struct pollfd fds[3] = {{.fd = PQsocket(conn), .events = events}};
        long long left_ms = (deadline_us - clock_mono_us()) / 1000;
        int n = 1;

        if (fds[0].fd < 0 || left_ms <= 0)
            return false;
        pg_relay_fds(relay, fds, &n);
        if (poll(fds, (nfds_t)n, (int)left_ms) <= 0)
            continue; /* EINTR, or the deadline: checked above */
        if (n > 1)
            pg_relay_step(relay, fds + 1, fds[0].fd);
        if (fds[0].revents)
            return true;
    }
}

/* The sslmode of the probe: the connection's property sslmode (or ssl=true for require), else
 * prefer; with --probe-tls require, at least require. NULL with OUT set when refused. */
static const char *ssl_mode(const struct probe_settings *s, const struct probe_target *t,
                            struct probe_result *out)
{
    static const char *const modes[] = {"disable", "allow",     "prefer",
                                        "require", "verify-ca", "verify-full"};
    const char *given = probe_property(t, "sslmode");
    const char *mode = NULL;

    if (given) {
        for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++)
            if (strcasecmp(given, modes[i]) == 0)
                mode = modes[i];
        if (!mode) {
            probe_fail(out, "PostgreSQL: property 'sslmode' must be disable, allow, prefer, "
                            "require, verify-ca or verify-full.");
            return NULL;
        }
    } else {
        const char *ssl = probe_property(t, "ssl");
        mode = ssl && strcasecmp(ssl, "true") == 0 ? "require" : "prefer";
    }
    if (s->tls_required && (strcmp(mode, "disable") == 0 || strcmp(mode, "allow") == 0)) {
        probe_fail(out,
                   "PostgreSQL: the connection asks for sslmode=%s, but setting probe-tls "
                   "is require; the test was refused (no connection was attempted).",
                   mode);
        return NULL;
    }
    if (s->tls_required && strcmp(mode, "prefer") == 0)
        mode = "require";
    return mode;
}

void probe_pg(const struct probe_settings *s, const struct probe_target *t,
              struct probe_result *out)
{
    const char *host = probe_param(t, "host", NULL);
    const char *port = probe_param(t, "port", "5432");
    const char *db = probe_param(t, "db", "postgres");
    const char *user = probe_param(t, "user", "");
    const char *password = probe_param(t, "password", "");
    const char *sslmode;
    char ip[64], name[256], timeout[32], options[64], local_port[16];
    unsigned port_n = (unsigned)strtoul(port, NULL, 10), relay_port;
    long long deadline_us;
    struct pg_relay *relay;
    PGconn *conn;
    PGresult *res;

    if (!host) {
        probe_fail(out, "Param 'host' is missing.");
        return;
    }
    if (port_n == 0 || port_n > 65535) {
        probe_fail(out, "Param 'port' must be a number from 1 to 65535.");
        return;
    }
    if (!(sslmode = ssl_mode(s, t, out)))
        return;
    if (!fence_resolve(&s->fence, host, name, sizeof(name), ip, sizeof(ip), out->message,
                       sizeof(out->message)))
        return;
    /* libpq talks to the relay, the relay to the address the fence checked; host stays the
     * name, for TLS (SNI, verify-full) */
    relay = pg_relay_open(ip, port_n, &relay_port, out->message, sizeof(out->message));
    if (!relay)
        return;
    snprintf(local_port, sizeof(local_port), "%u", relay_port);
    snprintf(timeout, sizeof(timeout), "%lld", s->timeout_s < 2 ? 2 : s->timeout_s);
    snprintf(options, sizeof(options), "-c statement_timeout=%lld", s->timeout_s * 1000);
    const char *keys[] = {"host",       "hostaddr",         "port",    "dbname",   "user",
                          "password",   "connect_timeout",  "options", "passfile", "sslmode",
                          "gssencmode", "application_name", NULL};
    const char *values[] = {name,        "127.0.0.1", local_port, db,
                            user,        password,    timeout,    options,
                            "/dev/null", sslmode,     "disable",  "switchboard-probe",
                            NULL};

    deadline_us = clock_mono_us() + s->timeout_s * 1000000LL;
    conn = PQconnectStartParams(keys, values, 0);
    if (!conn) {
        probe_fail(out, "PostgreSQL: out of memory.");
        pg_relay_close(relay);
        return;
    }
    for (PostgresPollingStatusType st = PGRES_POLLING_WRITING;
         st != PGRES_POLLING_OK && PQstatus(conn) != CONNECTION_BAD;) {
        if (!wait_socket(conn, relay, st == PGRES_POLLING_READING ? POLLIN : POLLOUT,
                         deadline_us)) {
            probe_fail(out, "PostgreSQL: timed out after %lld s while connecting.", s->timeout_s);
            goto out;
        }
        st = PQconnectPoll(conn);
        if (st == PGRES_POLLING_FAILED)
            break;
    }
    if (pg_relay_refused(relay)) {
        probe_fail(out, "PostgreSQL: authentication refused: the server asked for the password "
                        "in clear on a connection without TLS, and it was not sent (set the "
                        "server to scram-sha-256, or enable TLS).");
        goto out;
    }
    if (PQstatus(conn) != CONNECTION_OK && pg_relay_connect_errno(relay)) {
        int e = pg_relay_connect_errno(relay);
        if (e == ECONNREFUSED)
            probe_fail(out, "PostgreSQL: connection refused (%s).", strerror(e));
        else if (e == ETIMEDOUT)
            probe_fail(out, "PostgreSQL: timed out while connecting (%s).", strerror(e));
        else
            probe_fail(out, "PostgreSQL: connection failed (%s).", strerror(e));
        goto out;
    }
    if (PQstatus(conn) != CONNECTION_OK) {
        classify(PQerrorMessage(conn), db, user, out);
        goto out;
    }
    res = NULL;
    if (!PQsendQuery(conn, "SELECT 1")) {
        char line[256];
        first_line(PQerrorMessage(conn), line, sizeof(line));
        probe_fail(out, "PostgreSQL: connected, but SELECT 1 failed (%s).", line);
        goto out;
    }
    while (PQisBusy(conn)) {
        if (!wait_socket(conn, relay, POLLIN, deadline_us)) {
            probe_fail(out, "PostgreSQL: connected, but SELECT 1 timed out.");
            goto out;
        }
        PQconsumeInput(conn);
    }
    res = PQgetResult(conn);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        char line[256];
        first_line(PQerrorMessage(conn), line, sizeof(line));
        probe_fail(out, "PostgreSQL: connected, but SELECT 1 failed (%s).", line);
    } else {
        const char *version = PQparameterStatus(conn, "server_version");
        out->ok = true;
        snprintf(out->message, sizeof(out->message),
                 "Connected to PostgreSQL %s at %s:%s as '%.64s' (%s); SELECT 1 succeeded.",
                 version ? version : "?", ip, port, user, PQsslInUse(conn) ? "TLS" : "no TLS");
    }
    /* drain: a query leaves a final NULL result */
    for (PGresult *more; (more = PQgetResult(conn));)
        PQclear(more);
    PQclear(res);
out:
    PQfinish(conn);
    pg_relay_close(relay);
}
