/* SPDX-License-Identifier: Apache-2.0 */
/* HTTP(S), FTP and SFTP through libcurl. The URL's host is resolved by the fence and pinned
 * with CURLOPT_CONNECT_TO, redirects are never followed, protocols are limited to the type's, and
 * SSH authentication is by password only (libcurl would otherwise try key files in ~/.ssh). */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/conn.h"
#include "probe/probe.h"
#include "util/limits.h"

static void classify(CURLcode rc, const char *what, struct probe_result *out)
{
    const char *text = curl_easy_strerror(rc);

    switch (rc) {
    case CURLE_COULDNT_CONNECT: probe_fail(out, "%s: connection refused (%s).", what, text); return;
    case CURLE_OPERATION_TIMEDOUT: probe_fail(out, "%s: timed out (%s).", what, text); return;
    case CURLE_COULDNT_RESOLVE_HOST:
        probe_fail(out, "%s: name not resolved (%s).", what, text);
        return;
    case CURLE_LOGIN_DENIED:
    case CURLE_REMOTE_ACCESS_DENIED:
        probe_fail(out, "%s: authentication failed (%s).", what, text);
        return;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE: probe_fail(out, "%s: TLS failure (%s).", what, text); return;
    default: probe_fail(out, "%s: failed (%s).", what, text); return;
    }
}

static size_t discard(char *ptr, size_t size, size_t n, void *ud)
{
    (void)ptr;
    (void)ud;
    return size * n;
}

void probe_curl(const struct probe_settings *s, const struct probe_target *t,
                struct probe_result *out)
{
    const char *scheme = t->type->scheme;
    const char *user = probe_param(t, "user", NULL);
    const char *password = probe_param(t, "password", NULL);
    const char *token = probe_param(t, "token", NULL);
    char url[2048], connect_to[512], ip[64], auth_header[1024] = "", what[16];
    char *host = NULL, *port = NULL, *url_scheme = NULL;
    struct curl_slist *connect_list = NULL, *headers = NULL;
    CURLU *u = curl_url();
    CURL *c = NULL;
    CURLcode rc;
    long status = 0;

    snprintf(what, sizeof(what), "%s", t->type->name);
    {
        /* checked at write time too; variables and sealed values are only known here */
        char bad[16];
        if (!conn_params_header_safe(t->type, t->params, bad, sizeof(bad))) {
            probe_fail(out,
                       "%s: param '%s' contains a line break (CR or LF); the test was "
                       "refused.",
                       what, bad);
            goto out;
        }
    }
    if (strcmp(scheme, "http") == 0) {
        snprintf(url, sizeof(url), "%s", probe_param(t, "url", ""));
    } else {
        const char *h = probe_param(t, "host", "");
        bool v6 = strchr(h, ':') && h[0] != '['; /* an IPv6 literal goes in brackets */
        snprintf(url, sizeof(url), "%s://%s%s%s:%s/", scheme, v6 ? "[" : "", h, v6 ? "]" : "",
                 probe_param(t, "port", strcmp(scheme, "ftp") == 0 ? "21" : "22"));
    }
    if (!u || curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_SCHEME, &url_scheme, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) != CURLUE_OK) {
        probe_fail(out, "%s: the target URL is not valid.", what);
        goto out;
    }
    if (strcmp(scheme, "http") == 0 && strcmp(url_scheme, "http") != 0 &&
        strcmp(url_scheme, "https") != 0) {
        probe_fail(out, "%s: param 'url' must be an http:// or https:// URL.", what);
        goto out;
    }
    if (s->tls_required && strcmp(url_scheme, "http") == 0) {
        probe_fail(out,
                   "%s: the URL is http://, but setting probe-tls is require; the test was "
                   "refused (no connection was attempted).",
                   what);
        goto out;
    }
    {
        /* curl gives IPv6 literals in brackets; the resolver wants them bare */
        char bare[256], name[256];
        size_t len = strlen(host);
        if (host[0] == '[' && len > 2 && len < sizeof(bare))
            snprintf(bare, sizeof(bare), "%.*s", (int)(len - 2), host + 1);
        else
            snprintf(bare, sizeof(bare), "%s", host);
        if (!fence_resolve(&s->fence, bare, name, sizeof(name), ip, sizeof(ip), out->message,
                           sizeof(out->message)))
            goto out;
        /* pin the connection to the address the fence checked, whatever the URL names:
         * CONNECT_TO with an empty host and port applies to this one request (redirects are
         * not followed), takes an IPv6 address in brackets, and needs no lookup of its own
         * (CURLOPT_RESOLVE cannot name an IPv6 literal host in this libcurl) */
        snprintf(connect_to, sizeof(connect_to), strchr(ip, ':') ? "::[%s]:%s" : "::%s:%s", ip,
                 port);
    }
    connect_list = curl_slist_append(NULL, connect_to);

    c = curl_easy_init();
    if (!c) {
        probe_fail(out, "%s: out of memory.", what);
        goto out;
    }
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CONNECT_TO, connect_list);
    curl_easy_setopt(c, CURLOPT_FTP_SKIP_PASV_IP, 1L); /* never a data address from the peer */
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, strcmp(scheme, "http") == 0 ? "http,https" : scheme);
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(c, CURLOPT_PROXY, ""); /* never a proxy from http_proxy & co */
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)(s->timeout_s * 1000));
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)(s->timeout_s * 1000));
    curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(c, CURLOPT_NETRC, (long)CURL_NETRC_IGNORED);
    curl_easy_setopt(c, CURLOPT_SSH_AUTH_TYPES,
                     (long)(CURLSSH_AUTH_PASSWORD | CURLSSH_AUTH_KEYBOARD));
    curl_easy_setopt(c, CURLOPT_USERAGENT, "switchboard-probe");
    if (strcmp(scheme, "ftp") == 0) /* FTPS when offered; only FTPS with probe-tls require */
        curl_easy_setopt(c, CURLOPT_USE_SSL,
                         (long)(s->tls_required ? CURLUSESSL_ALL : CURLUSESSL_TRY));
    if (user)
        curl_easy_setopt(c, CURLOPT_USERNAME, user);
    if (password)
        curl_easy_setopt(c, CURLOPT_PASSWORD, password);
    if (token) {
        snprintf(auth_header, sizeof(auth_header), "Authorization: Bearer %s", token);
        headers = curl_slist_append(NULL, auth_header);
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
    }
    rc = curl_easy_perform(c);
    if (rc != CURLE_OK) {
        classify(rc, what, out);
        goto out;
    }
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    if (strcmp(scheme, "http") == 0 && (status == 401 || status == 403)) {
        probe_fail(out, "%s: authentication failed (HTTP %ld).", what, status);
    } else if (strcmp(scheme, "http") == 0 && status >= 400) {
        probe_fail(out, "%s: the server answered HTTP %ld.", what, status);
    } else {
        out->ok = true;
        if (strcmp(scheme, "http") == 0)
            snprintf(out->message, sizeof(out->message), "%s: %s answered HTTP %ld%s.", what, ip,
                     status, status >= 300 && status < 400 ? " (redirects are not followed)" : "");
        else
            snprintf(out->message, sizeof(out->message), "%s: logged in to %s:%s.", what, ip, port);
    }
out:
    explicit_bzero(auth_header, sizeof(auth_header));
    curl_slist_free_all(headers);
    curl_slist_free_all(connect_list);
    curl_easy_cleanup(c);
    curl_free(host);
    curl_free(port);
    curl_free(url_scheme);
    curl_url_cleanup(u);
}
