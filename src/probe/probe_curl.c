/* SPDX-License-Identifier: Apache-2.0 */
/* HTTP(S), FTP and SFTP through libcurl. The URL's host is resolved by the fence and pinned
 * with CURLOPT_CONNECT_TO, redirects are never followed, protocols are limited to the type's, and
 * SSH authentication is by password only (libcurl would otherwise try key files in ~/.ssh). */
#include <curl/curl.h>
#include <sodium.h>
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

/* What the SSH host key check saw: the key's fingerprint when it was refused. */
struct host_key_check {
    bool refused, mismatch;
    char fingerprint[80];
};

/* Accepts the server's key only when the known hosts file has it; otherwise records its
 * OpenSSH-style fingerprint (SHA256 of the key blob, base64 without padding) and refuses,
 * before any password is sent. */
static int check_host_key(CURL *c, const struct curl_khkey *known, const struct curl_khkey *found,
                          enum curl_khmatch match, void *ud)
{
    struct host_key_check *hk = ud;
    unsigned char digest[crypto_hash_sha256_BYTES], blob[8192];
    char b64[sodium_base64_ENCODED_LEN(crypto_hash_sha256_BYTES,
                                       sodium_base64_VARIANT_ORIGINAL_NO_PADDING)];
    size_t blob_len = 0;

    (void)c;
    (void)known;
    if (match == CURLKHMATCH_OK)
        return CURLKHSTAT_FINE;
    hk->refused = true;
    hk->mismatch = match == CURLKHMATCH_MISMATCH;
    if (found->len) {
        crypto_hash_sha256(digest, (const unsigned char *)found->key, found->len);
    } else if (sodium_base642bin(blob, sizeof(blob), found->key, strlen(found->key), NULL,
                                 &blob_len, NULL, sodium_base64_VARIANT_ORIGINAL) == 0) {
        crypto_hash_sha256(digest, blob, blob_len);
    } else {
        snprintf(hk->fingerprint, sizeof(hk->fingerprint), "(unreadable)");
        return CURLKHSTAT_REJECT;
    }
    sodium_bin2base64(b64, sizeof(b64), digest, sizeof(digest),
                      sodium_base64_VARIANT_ORIGINAL_NO_PADDING);
    snprintf(hk->fingerprint, sizeof(hk->fingerprint), "SHA256:%s", b64);
    return CURLKHSTAT_REJECT;
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
    struct host_key_check hk = {0};

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
    if (strcmp(scheme, "sftp") == 0) { /* fail closed: only keys of --probe-known-hosts */
        curl_easy_setopt(c, CURLOPT_SSH_KNOWNHOSTS, *s->known_hosts ? s->known_hosts : "/dev/null");
        curl_easy_setopt(c, CURLOPT_SSH_KEYFUNCTION, check_host_key);
        curl_easy_setopt(c, CURLOPT_SSH_KEYDATA, &hk);
    }
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
    if (hk.refused) {
        probe_fail(out,
                   "%s: the server's host key %s %s (setting probe-known-hosts); the test "
                   "was refused before any password was sent.",
                   what, hk.fingerprint,
                   hk.mismatch ? "does not match the key known for this host"
                               : "is not in the known hosts file");
        goto out;
    }
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
