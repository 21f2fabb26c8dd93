/* SPDX-License-Identifier: Apache-2.0 */
/* MySQL and MariaDB through MariaDB Connector/C: connect, read and write timeouts from the
 * probe timeout, LOCAL INFILE off, no option files read, the fence's address as the host. */
#include <errno.h>
#include <mysql.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "probe/probe.h"

static void classify(MYSQL *m, const char *db, const char *user, struct probe_result *out)
{
    unsigned code = mysql_errno(m);
    const char *msg = mysql_error(m);

    switch (code) {
    case 1045: /* ER_ACCESS_DENIED_ERROR */
    case 1044: /* ER_DBACCESS_DENIED_ERROR */
    case 1698: /* ER_ACCESS_DENIED_NO_PASSWORD_ERROR */
        probe_fail(out, "MySQL: authentication failed for user '%.64s' (%u).", user, code);
        return;
    case 1049: /* ER_BAD_DB_ERROR */
        probe_fail(out, "MySQL: database missing: '%.64s' does not exist.", db);
        return;
    case 2026: /* CR_SSL_CONNECTION_ERROR */
        probe_fail(out, "MySQL: TLS failure (%.200s).", msg);
        return;
    default:
        break;
    }
    /* Connector/C connects without blocking: a refused connect can surface as EINPROGRESS
     * (115) once it fails; a timeout as ETIMEDOUT (110) or a lost handshake (2013) */
    if (strstr(msg, "timed out") || strstr(msg, "timeout") || strstr(msg, "(110)") ||
        code == 2013)
        probe_fail(out, "MySQL: timed out (%.200s).", msg);
    else if (strstr(msg, "refused") || strstr(msg, "(111)") ||
             ((code == 2002 || code == 2003) && strstr(msg, "(115)")))
        probe_fail(out, "MySQL: connection refused (%.200s).", msg);
    else
        probe_fail(out, "MySQL: connection failed (%u: %.200s).", code, msg);
}

void probe_mysql(const struct probe_settings *s, const struct probe_target *t,
                 struct probe_result *out)
{
    const char *host = probe_param(t, "host", NULL);
    const char *port_s = probe_param(t, "port", "3306");
    const char *db = probe_param(t, "db", NULL);
    const char *user = probe_param(t, "user", "");
    const char *password = probe_param(t, "password", "");
    unsigned timeout = (unsigned)(s->timeout_s > 0 ? s->timeout_s : 1);
    unsigned port = (unsigned)strtoul(port_s, NULL, 10);
    unsigned local_infile = 0;
    char ip[64], name[256];
    MYSQL *m;

    if (!host) {
        probe_fail(out, "Param 'host' is missing.");
        return;
    }
    if (port == 0 || port > 65535) {
        probe_fail(out, "Param 'port' must be a number from 1 to 65535.");
        return;
    }
    if (!fence_resolve(&s->fence, host, name, sizeof(name), ip, sizeof(ip), out->message,
                       sizeof(out->message)))
        return;
    m = mysql_init(NULL);
    if (!m) {
        probe_fail(out, "MySQL: out of memory.");
        return;
    }
    mysql_options(m, MYSQL_OPT_CONNECT_TIMEOUT, &timeout);
    mysql_options(m, MYSQL_OPT_READ_TIMEOUT, &timeout);
    mysql_options(m, MYSQL_OPT_WRITE_TIMEOUT, &timeout);
    mysql_options(m, MYSQL_OPT_LOCAL_INFILE, &local_infile);
    if (!mysql_real_connect(m, ip, user, password, db, port, NULL, 0)) {
        classify(m, db ? db : "", user, out);
        mysql_close(m);
        return;
    }
    if (mysql_query(m, "SELECT 1") != 0) {
        probe_fail(out, "MySQL: connected, but SELECT 1 failed (%u).", mysql_errno(m));
    } else {
        MYSQL_RES *res = mysql_store_result(m);
        mysql_free_result(res);
        out->ok = true;
        snprintf(out->message, sizeof(out->message),
                 "Connected to MySQL-compatible server %s at %s:%u as '%.64s'; SELECT 1 "
                 "succeeded.", mysql_get_server_info(m), ip, port, user);
    }
    mysql_close(m);
}
