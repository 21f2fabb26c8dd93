/* SPDX-License-Identifier: Apache-2.0 */
/* PostgreSQL (and its wire-compatible kin) through libpq. Only the keywords below are passed:
 * file-reading options (passfile, service, sslkey, sslcert...) are never taken from a
 * definition, and passfile is pinned to /dev/null so that no ~/.pgpass is consulted either.
 * The host is resolved by the fence and given to libpq as hostaddr. The connection and the
 * query run without blocking against one deadline of probe-timeout milliseconds: libpq's own
 * connect_timeout counts whole seconds and may overshoot by one. */
#include <libpq-fe.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* Waits until CONN's socket is ready for EVENTS or the deadline passes (false). */
static bool wait_socket(PGconn *conn, short events, long long deadline_us)
{
    struct pollfd p = {.fd = PQsocket(conn), .events = events};
    long long left_ms = (deadline_us - clock_mono_us()) / 1000;

    if (p.fd < 0 || left_ms <= 0)
        return false;
    return poll(&p, 1, (int)left_ms) > 0;
}

void probe_pg(const struct probe_settings *s, const struct probe_target *t,
              struct probe_result *out)
{
    const char *host = probe_param(t, "host", NULL);
    const char *port = probe_param(t, "port", "5432");
    const char *db = probe_param(t, "db", "postgres");
    const char *user = probe_param(t, "user", "");
    const char *password = probe_param(t, "password", "");
    char ip[64], name[256], timeout[32], options[64];
    long long deadline_us;
    PGconn *conn;
    PGresult *res;

    if (!host) {
        probe_fail(out, "Param 'host' is missing.");
        return;
    }
    if (!fence_resolve(&s->fence, host, name, sizeof(name), ip, sizeof(ip), out->message,
                       sizeof(out->message)))
        return;
    snprintf(timeout, sizeof(timeout), "%lld", s->timeout_s < 2 ? 2 : s->timeout_s);
    snprintf(options, sizeof(options), "-c statement_timeout=%lld", s->timeout_s * 1000);
    const char *keys[] = {"host", "hostaddr", "port", "dbname", "user", "password",
                          "connect_timeout", "options", "passfile", "application_name",
                          "sslmode", NULL};
    const char *values[] = {name, ip, port, db, user, password, timeout, options, "/dev/null",
                            "switchboard-probe", "prefer", NULL};

    deadline_us = clock_mono_us() + s->timeout_s * 1000000LL;
    conn = PQconnectStartParams(keys, values, 0);
    if (!conn) {
        probe_fail(out, "PostgreSQL: out of memory.");
        return;
    }
    for (PostgresPollingStatusType st = PGRES_POLLING_WRITING;
         st != PGRES_POLLING_OK && PQstatus(conn) != CONNECTION_BAD;) {
        if (!wait_socket(conn, st == PGRES_POLLING_READING ? POLLIN : POLLOUT, deadline_us)) {
            probe_fail(out, "PostgreSQL: timed out after %lld s while connecting.",
                       s->timeout_s);
            PQfinish(conn);
            return;
        }
        st = PQconnectPoll(conn);
        if (st == PGRES_POLLING_FAILED)
            break;
    }
    if (PQstatus(conn) != CONNECTION_OK) {
        classify(PQerrorMessage(conn), db, user, out);
        PQfinish(conn);
        return;
    }
    res = NULL;
    if (!PQsendQuery(conn, "SELECT 1")) {
        char line[256];
        first_line(PQerrorMessage(conn), line, sizeof(line));
        probe_fail(out, "PostgreSQL: connected, but SELECT 1 failed (%s).", line);
        PQfinish(conn);
        return;
    }
    while (PQisBusy(conn)) {
        if (!wait_socket(conn, POLLIN, deadline_us)) {
            probe_fail(out, "PostgreSQL: connected, but SELECT 1 timed out.");
            PQfinish(conn);
            return;
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
                 "Connected to PostgreSQL %s at %s:%s as '%.64s'; SELECT 1 succeeded.",
                 version ? version : "?", ip, port, user);
    }
    /* drain: a query leaves a final NULL result */
    for (PGresult *more; (more = PQgetResult(conn));)
        PQclear(more);
    PQclear(res);
    PQfinish(conn);
}
