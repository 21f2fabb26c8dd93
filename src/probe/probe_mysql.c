/* SPDX-License-Identifier: Apache-2.0 */
/* MySQL and MariaDB through MariaDB Connector/C: connect, read and write timeouts from the
 * probe timeout, LOCAL INFILE off, no option files read, the fence's address as the host. */
#include <errno.h>
#include <mysql.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "probe/probe.h"

static void classify(MYSQL *m, const char *db, const char *user, struct probe_result *out)
{
    unsigned code = mysql_errno(m);
    const char *msg = mysql_error(m);

    if (strstr(msg, "restricted_auth"))
        code = 2059; /* 3.3 also says it with 5010 */
    switch (code) {
    case 2059: /* CR_AUTH_PLUGIN_CANNOT_LOAD: not in the restricted list */
        probe_fail(out, "MySQL: authentication refused: the server asked for an authentication "
                        "plugin that would hand over the password unprotected on a link "
                        "without TLS; it was not sent. The server's account must use "
                        "mysql_native_password or client_ed25519.");
        return;
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
    default: break;
    }
    /* Connector/C connects without blocking: a refused connect can surface as EINPROGRESS
     * (115) once it fails; a timeout as ETIMEDOUT (110) or a lost handshake (2013) */
    if (strstr(msg, "timed out") || strstr(msg, "timeout") || strstr(msg, "(110)") || code == 2013)
        probe_fail(out, "MySQL: timed out (%.200s).", msg);
    else if (strstr(msg, "refused") || strstr(msg, "(111)") ||
             ((code == 2002 || code == 2003) && strstr(msg, "(115)")))
        probe_fail(out, "MySQL: connection refused (%.200s).", msg);
    else
        probe_fail(out, "MySQL: connection failed (%u: %.200s).", code, msg);
}

enum tls_mode { TLS_DISABLED, TLS_PREFERRED, TLS_REQUIRED, TLS_VERIFY };

/* The TLS mode from the connection's properties as DSS's MySQL connections carry them
 * (Connector/J's sslMode, requireSSL, useSSL); PREFERRED by default; at least REQUIRED with
 * --probe-tls require. -1 with OUT set when refused. */
static int tls_mode(const struct probe_settings *s, const struct probe_target *t,
                    struct probe_result *out)
{
    const char *mode = probe_property(t, "sslMode");
    const char *require = probe_property(t, "requireSSL");
    const char *use = probe_property(t, "useSSL");
    int m = TLS_PREFERRED;

    if (mode) {
        if (strcasecmp(mode, "DISABLED") == 0)
            m = TLS_DISABLED;
        else if (strcasecmp(mode, "PREFERRED") == 0)
            m = TLS_PREFERRED;
        else if (strcasecmp(mode, "REQUIRED") == 0)
            m = TLS_REQUIRED;
        else if (strcasecmp(mode, "VERIFY_CA") == 0 || strcasecmp(mode, "VERIFY_IDENTITY") == 0)
            m = TLS_VERIFY;
        else {
            probe_fail(out, "MySQL: property 'sslMode' must be DISABLED, PREFERRED, REQUIRED, "
                            "VERIFY_CA or VERIFY_IDENTITY.");
            return -1;
        }
    } else if (require && strcasecmp(require, "true") == 0) {
        m = TLS_REQUIRED;
    } else if (use && strcasecmp(use, "false") == 0) {
        m = TLS_DISABLED;
    }
    if (s->tls_required && m == TLS_DISABLED) {
        probe_fail(out, "MySQL: the connection turns TLS off, but setting probe-tls is require; "
                        "the test was refused (no connection was attempted).");
        return -1;
    }
    if (s->tls_required && m == TLS_PREFERRED)
        m = TLS_REQUIRED;
    return m;
}

/* Plugins that never hand the password over in a form its reader could use: not
 * mysql_clear_password or dialog (the password itself), nor caching_sha2_password and
 * sha256_password (their full path sends it encrypted to a public key the server chooses, or
 * in clear once the link is TLS). In every TLS mode: MYSQL_OPT_SSL_ENFORCE of Connector/C 3.3
 * was seen to let a server without TLS go on in clear, so the list does not rely on it, and
 * with TLS required the link is checked after the handshake instead. */
#define SAFE_PLUGINS "mysql_native_password,client_ed25519"

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
    int tls = tls_mode(s, t, out);
    char ip[64], name[256];
    MYSQL *m;

    if (!host) {
        probe_fail(out, "Param 'host' is missing.");
        return;
    }
    if (tls < 0)
        return;
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
    if (tls != TLS_DISABLED) {
        my_bool yes = 1;
        mysql_ssl_set(m, NULL, NULL, NULL, NULL, NULL); /* TLS when the server offers it */
        if (tls >= TLS_REQUIRED)
            mysql_options(m, MYSQL_OPT_SSL_ENFORCE, &yes);
        if (tls == TLS_VERIFY)
            mysql_options(m, MYSQL_OPT_SSL_VERIFY_SERVER_CERT, &yes);
    }
    mysql_optionsv(m, MARIADB_OPT_RESTRICTED_AUTH, SAFE_PLUGINS);
    if (!mysql_real_connect(m, ip, user, password, db, port, NULL, 0)) {
        classify(m, db ? db : "", user, out);
        mysql_close(m);
        return;
    }
    if (tls >= TLS_REQUIRED && !mysql_get_ssl_cipher(m)) {
        probe_fail(out, "MySQL: TLS failure: TLS is required but the server did not use it.");
    } else if (mysql_query(m, "SELECT 1") != 0) {
        probe_fail(out, "MySQL: connected, but SELECT 1 failed (%u).", mysql_errno(m));
    } else {
        MYSQL_RES *res = mysql_store_result(m);
        mysql_free_result(res);
        out->ok = true;
        snprintf(out->message, sizeof(out->message),
                 "Connected to MySQL-compatible server %s at %s:%u as '%.64s' (%s); SELECT 1 "
                 "succeeded.",
                 mysql_get_server_info(m), ip, port, user,
                 mysql_get_ssl_cipher(m) ? "TLS" : "no TLS");
    }
    mysql_close(m);
}
