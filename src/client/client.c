/* SPDX-License-Identifier: Apache-2.0 */
/* The client library (include/switchboard/client.h): one libcurl easy handle per client,
 * reused so that calls share a keep-alive connection, and one function that performs a
 * request and turns every outcome into SBC_OK + JSON or a filled struct sbc_error. The
 * per-operation functions only build paths and bodies. */
#include <curl/curl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "switchboard/client.h"

#define API_PREFIX "/dip/publicapi"
#define MAX_ANSWER_BYTES (256u * 1024 * 1024)
#define DEFAULT_CONNECT_TIMEOUT_S 10L
#define DEFAULT_TIMEOUT_S 120L

struct sbc_client {
    CURL *curl;
    char *url;                  /* as given, without trailing slashes */
    char *base;                 /* url + API_PREFIX */
    char *auth;                 /* "Authorization: Bearer <key>"; wiped on free */
    struct curl_slist *headers; /* holds a copy of auth; wiped on free */
    char errbuf[CURL_ERROR_SIZE];
    sbc_progress_fn progress; /* upload progress of request bodies, or NULL */
    void *progress_ctx;
};

static int on_xfer(void *clientp, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                   curl_off_t ulnow)
{
    struct sbc_client *c = clientp;
    (void)dltotal;
    (void)dlnow;
    if (c->progress && ultotal > 0)
        c->progress(c->progress_ctx, (uint64_t)ulnow, (uint64_t)ultotal);
    return 0;
}

void sbc_client_set_progress(struct sbc_client *client, sbc_progress_fn progress, void *ctx)
{
    client->progress = progress;
    client->progress_ctx = ctx;
    curl_easy_setopt(client->curl, CURLOPT_XFERINFOFUNCTION, progress ? on_xfer : NULL);
    curl_easy_setopt(client->curl, CURLOPT_XFERINFODATA, client);
    curl_easy_setopt(client->curl, CURLOPT_NOPROGRESS, progress ? 0L : 1L);
}

struct answer {
    char *data;
    size_t len, cap;
    bool too_large;
    bool no_memory;
};

static enum sbc_status set_error(struct sbc_error *err, enum sbc_status status, long http_status,
                                 const char *type, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static enum sbc_status set_error(struct sbc_error *err, enum sbc_status status, long http_status,
                                 const char *type, const char *fmt, ...)
{
    va_list ap;

    err->status = status;
    err->http_status = http_status;
    snprintf(err->error_type, sizeof(err->error_type), "%s", type);
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof(err->message), fmt, ap);
    va_end(ap);
    return status;
}

static void clear_error(struct sbc_error *err)
{
    memset(err, 0, sizeof(*err));
}

/* The library never aborts on out-of-memory: it says so (only the server aborts). */
static enum sbc_status no_memory(struct sbc_error *err)
{
    return set_error(err, SBC_ERR_NO_MEMORY, 0, "OutOfMemory", "Out of memory.");
}

/* A request body json_pack could not build. */
static enum sbc_status no_body(struct sbc_error *err, json_t **out)
{
    if (out)
        *out = NULL;
    clear_error(err);
    return set_error(err, SBC_ERR_ARGUMENT, 0, "BadArgument",
                     "The request body cannot be built: a string is not valid UTF-8, or memory "
                     "ran out.");
}

enum sbc_status sbc_global_init(void)
{
    return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? SBC_OK : SBC_ERR_TRANSPORT;
}

void sbc_global_cleanup(void)
{
    curl_global_cleanup();
}

char *sbc_escape_segment(const char *segment)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = strlen(segment);
    char *out = malloc(3 * n + 1), *p = out;

    if (!out)
        return NULL;
    for (const unsigned char *s = (const unsigned char *)segment; *s; s++) {
        if ((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') ||
            *s == '-' || *s == '.' || *s == '_' || *s == '~') {
            *p++ = (char)*s;
        } else {
            *p++ = '%';
            *p++ = hex[*s >> 4];
            *p++ = hex[*s & 15];
        }
    }
    *p = '\0';
    return out;
}

/* PREFIX + NAME percent-encoded + SUFFIX (SUFFIX may be NULL). Caller frees; NULL when memory
 * ran out (sbc_request then says so). */
static char *name_path(const char *prefix, const char *name, const char *suffix)
{
    char *esc = sbc_escape_segment(name), *path;
    size_t n;

    if (!esc)
        return NULL;
    n = strlen(prefix) + strlen(esc) + (suffix ? strlen(suffix) : 0) + 1;
    if ((path = malloc(n)))
        snprintf(path, n, "%s%s%s", prefix, esc, suffix ? suffix : "");
    free(esc);
    return path;
}

static size_t on_data(char *data, size_t size, size_t nmemb, void *userdata)
{
    struct answer *a = userdata;
    size_t n = size * nmemb;

    if (a->len + n > MAX_ANSWER_BYTES) {
        a->too_large = true;
        return 0; /* makes curl stop with CURLE_WRITE_ERROR */
    }
    if (a->len + n + 1 > a->cap) {
        char *more = realloc(a->data, (a->len + n + 1) * 2);
        if (!more) {
            a->no_memory = true;
            return 0;
        }
        a->data = more;
        a->cap = (a->len + n + 1) * 2;
    }
    memcpy(a->data + a->len, data, n);
    a->len += n;
    a->data[a->len] = '\0';
    return n;
}

/* Appends LINE to C's headers; false when memory ran out (the list is unchanged). */
static bool add_header(struct sbc_client *c, const char *line)
{
    struct curl_slist *more = curl_slist_append(c->headers, line);

    if (more)
        c->headers = more;
    return more != NULL;
}

enum sbc_status sbc_client_new(const char *url, const char *api_key,
                               const struct sbc_options *options, struct sbc_client **client,
                               struct sbc_error *err)
{
    struct sbc_options defaults = {0};
    const struct sbc_options *o = options ? options : &defaults;
    struct sbc_client *c;
    size_t len, n;

    clear_error(err);
    *client = NULL;
    if (!url || (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0))
        return set_error(err, SBC_ERR_ARGUMENT, 0, "BadArgument",
                         "The server URL must start with http:// or https://.");
    if (!api_key || !*api_key || strpbrk(api_key, "\r\n"))
        return set_error(err, SBC_ERR_ARGUMENT, 0, "BadArgument",
                         "The API key must be a non-empty string on one line.");

    if (!(c = calloc(1, sizeof(*c))))
        return no_memory(err);
    len = strlen(url);
    while (len > 0 && url[len - 1] == '/')
        len--;
    c->url = strndup(url, len);
    n = len + sizeof(API_PREFIX);
    if ((c->base = malloc(n)))
        snprintf(c->base, n, "%s%s", c->url ? c->url : "", API_PREFIX);
    n = strlen(api_key) + sizeof("Authorization: Bearer ");
    if ((c->auth = malloc(n)))
        snprintf(c->auth, n, "Authorization: Bearer %s", api_key);
    c->curl = curl_easy_init();
    if (!c->url || !c->base || !c->auth || !c->curl || !add_header(c, c->auth) ||
        !add_header(c, "Accept: application/json") ||
        !add_header(c, "Content-Type: application/json; charset=utf-8") ||
        !add_header(c, "Expect:")) {
        sbc_client_free(c);
        return no_memory(err);
    }
    curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, c->headers);
    curl_easy_setopt(c->curl, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c->curl, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(c->curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c->curl, CURLOPT_ERRORBUFFER, c->errbuf);
    curl_easy_setopt(c->curl, CURLOPT_USERAGENT, "switchboard-client/1");
    curl_easy_setopt(c->curl, CURLOPT_CONNECTTIMEOUT,
                     o->connect_timeout_s > 0 ? o->connect_timeout_s : DEFAULT_CONNECT_TIMEOUT_S);
    curl_easy_setopt(c->curl, CURLOPT_TIMEOUT, o->timeout_s > 0 ? o->timeout_s : DEFAULT_TIMEOUT_S);
    curl_easy_setopt(c->curl, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c->curl, CURLOPT_SSL_VERIFYPEER, o->insecure ? 0L : 1L);
    curl_easy_setopt(c->curl, CURLOPT_SSL_VERIFYHOST, o->insecure ? 0L : 2L);
    if (o->ca_file && *o->ca_file)
        curl_easy_setopt(c->curl, CURLOPT_CAINFO, o->ca_file);
    *client = c;
    return SBC_OK;
}

static void wipe(char *s)
{
    if (s)
        explicit_bzero(s, strlen(s));
}

void sbc_client_free(struct sbc_client *client)
{
    if (!client)
        return;
    curl_easy_cleanup(client->curl);
    for (struct curl_slist *h = client->headers; h; h = h->next)
        wipe(h->data);
    curl_slist_free_all(client->headers);
    wipe(client->auth);
    free(client->auth);
    free(client->base);
    free(client->url);
    free(client);
}

const char *sbc_client_url(const struct sbc_client *client)
{
    return client->url;
}

/* Fills ERR from an error answer: the server's errorType and detailedMessage when the body is
 * the usual error object, else the status and the start of the body. */
static enum sbc_status server_error(struct sbc_error *err, long status, const struct answer *a)
{
    json_t *body = a->len ? json_loadb(a->data, a->len, 0, NULL) : NULL;
    const char *type = json_string_value(json_object_get(body, "errorType"));
    const char *msg = json_string_value(json_object_get(body, "detailedMessage"));
    char fallback[SBC_ERROR_TYPE_MAX];

    if (!msg || !*msg)
        msg = json_string_value(json_object_get(body, "message"));
    if (!type || !*type) {
        snprintf(fallback, sizeof(fallback), "HTTP %ld", status);
        type = fallback;
    }
    if (msg && *msg) {
        set_error(err, SBC_ERR_SERVER, status, type, "%s", msg);
    } else {
        /* not our error body (a proxy page?): quote the start, printable ASCII only */
        char quoted[200];
        size_t i;
        for (i = 0; i < a->len && i + 1 < sizeof(quoted); i++)
            quoted[i] = a->data[i] >= 0x20 && a->data[i] < 0x7f ? a->data[i] : ' ';
        quoted[i] = '\0';
        set_error(err, SBC_ERR_SERVER, status, type, "The server answered HTTP %ld%s%s", status,
                  i ? ": " : ".", quoted);
    }
    json_decref(body);
    return err->status;
}

static enum sbc_status transport_error(struct sbc_client *c, CURLcode rc, struct sbc_error *err)
{
    const char *why = c->errbuf[0] ? c->errbuf : curl_easy_strerror(rc);
    curl_off_t connect_time = 0;

    curl_easy_getinfo(c->curl, CURLINFO_CONNECT_TIME_T, &connect_time);
    if (rc == CURLE_COULDNT_CONNECT || rc == CURLE_COULDNT_RESOLVE_HOST ||
        rc == CURLE_COULDNT_RESOLVE_PROXY || (rc == CURLE_OPERATION_TIMEDOUT && connect_time == 0))
        return set_error(err, SBC_ERR_UNREACHABLE, 0, "Unreachable", "Cannot reach %s: %s.", c->url,
                         why);
    return set_error(err, SBC_ERR_TRANSPORT, 0, "TransportError",
                     "The exchange with %s failed: %s.", c->url, why);
}

/* sbc_request with one more header line, EXTRA ("Name: value"), on this request only. */
static enum sbc_status request_with(struct sbc_client *c, const char *method, const char *path,
                                    const json_t *body, const char *extra, json_t **out,
                                    struct sbc_error *err)
{
    struct curl_slist *last = c->headers;
    enum sbc_status rc;

    if (!extra)
        return sbc_request(c, method, path, body, out, err);
    while (last->next)
        last = last->next;
    /* appended to the handle's own list (no copy of the Authorization line), then cut off */
    if (!curl_slist_append(c->headers, extra)) {
        if (out)
            *out = NULL;
        clear_error(err);
        return no_memory(err);
    }
    rc = sbc_request(c, method, path, body, out, err);
    curl_slist_free_all(last->next);
    last->next = NULL;
    return rc;
}

enum sbc_status sbc_request(struct sbc_client *client, const char *method, const char *path,
                            const json_t *body, json_t **out, struct sbc_error *err)
{
    struct sbc_client *c = client;
    struct answer a = {0};
    char *url = NULL, *data = NULL;
    json_error_t jerr;
    json_t *parsed;
    long status = 0;
    size_t n;
    CURLcode rc;

    clear_error(err);
    if (out)
        *out = NULL;
    if (!path) /* (what name_path gives when memory ran out) */
        return no_memory(err);
    if (path[0] != '/')
        return set_error(err, SBC_ERR_ARGUMENT, 0, "BadArgument",
                         "A request path must start with '/'.");
    n = strlen(c->base) + strlen(path) + 1;
    if (!(url = malloc(n)))
        return no_memory(err);
    snprintf(url, n, "%s%s", c->base, path);
    c->errbuf[0] = '\0';
    curl_easy_setopt(c->curl, CURLOPT_URL, url);
    curl_easy_setopt(c->curl, CURLOPT_WRITEDATA, &a);
    if (strcmp(method, "GET") == 0 || strcmp(method, "DELETE") == 0) {
        curl_easy_setopt(c->curl, CURLOPT_HTTPGET, 1L);
        curl_easy_setopt(c->curl, CURLOPT_CUSTOMREQUEST,
                         strcmp(method, "GET") == 0 ? NULL : method);
    } else {
        json_t *empty = body ? NULL : json_object();
        data = json_dumps(body ? body : empty, JSON_COMPACT | JSON_ENCODE_ANY);
        json_decref(empty);
        if (!data) {
            no_memory(err);
            goto out;
        }
        curl_easy_setopt(c->curl, CURLOPT_POSTFIELDS, data);
        curl_easy_setopt(c->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(data));
        curl_easy_setopt(c->curl, CURLOPT_CUSTOMREQUEST, method);
    }

    rc = curl_easy_perform(c->curl);
    if (rc == CURLE_WRITE_ERROR && a.no_memory) {
        no_memory(err);
        goto out;
    }
    if (rc == CURLE_OUT_OF_MEMORY) {
        no_memory(err);
        goto out;
    }
    if (rc == CURLE_WRITE_ERROR && a.too_large) {
        set_error(err, SBC_ERR_BAD_ANSWER, 0, "BadAnswer",
                  "The answer to %s %s is larger than %u MiB.", method, path,
                  MAX_ANSWER_BYTES >> 20);
        goto out;
    }
    if (rc != CURLE_OK) {
        transport_error(c, rc, err);
        goto out;
    }
    curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &status);
    if (status < 200 || status >= 300) {
        server_error(err, status, &a);
        goto out;
    }
    if (a.len == 0) {
        if (!(parsed = json_object())) {
            no_memory(err);
            goto out;
        }
    } else if (!(parsed = json_loadb(a.data, a.len, JSON_DECODE_ANY, &jerr))) {
        set_error(err, SBC_ERR_BAD_ANSWER, status, "BadAnswer",
                  "The answer to %s %s is not JSON (line %d, column %d).", method, path, jerr.line,
                  jerr.column);
        goto out;
    }
    if (out)
        *out = parsed;
    else
        json_decref(parsed);
out:
    /* the POST body may hold secrets (a connection definition, a password) */
    if (data) {
        explicit_bzero(data, strlen(data));
        free(data);
        curl_easy_setopt(c->curl, CURLOPT_POSTFIELDS, NULL);
    }
    if (a.data) {
        explicit_bzero(a.data, a.len);
        free(a.data);
    }
    free(url);
    return err->status;
}

/* A request on PREFIX + NAME + SUFFIX; a missing name is an argument error. */
static enum sbc_status named_request(struct sbc_client *c, const char *method, const char *prefix,
                                     const char *name, const char *suffix, const json_t *body,
                                     json_t **out, struct sbc_error *err)
{
    enum sbc_status rc;
    char *path;

    if (out)
        *out = NULL;
    if (!name || !*name) {
        clear_error(err);
        return set_error(err, SBC_ERR_ARGUMENT, 0, "BadArgument", "A name is required.");
    }
    path = name_path(prefix, name, suffix);
    rc = sbc_request(c, method, path, body, out, err);
    free(path);
    return rc;
}

/* Checks that an answer has the JSON type an operation promises. */
static enum sbc_status expect_type(enum sbc_status rc, json_t **out, json_type type,
                                   const char *what, struct sbc_error *err)
{
    if (rc != SBC_OK || !out || json_typeof(*out) == type)
        return rc;
    json_decref(*out);
    *out = NULL;
    return set_error(err, SBC_ERR_BAD_ANSWER, 200, "BadAnswer",
                     "The answer for %s is not a JSON %s.", what,
                     type == JSON_OBJECT ? "object" : "array");
}

/* ---- connections ---- */

enum sbc_status sbc_connections_list(struct sbc_client *client, json_t **out, struct sbc_error *err)
{
    return expect_type(sbc_request(client, "GET", "/admin/connections/", NULL, out, err), out,
                       JSON_OBJECT, "the connections", err);
}

enum sbc_status sbc_connection_names(struct sbc_client *client, const char *type, json_t **out,
                                     struct sbc_error *err)
{
    enum sbc_status rc =
        named_request(client, "GET", "/connections/get-names?type=", type && *type ? type : "all",
                      NULL, NULL, out, err);
    return expect_type(rc, out, JSON_ARRAY, "the connection names", err);
}

enum sbc_status sbc_connection_get(struct sbc_client *client, const char *name, json_t **out,
                                   struct sbc_error *err)
{
    return expect_type(
        named_request(client, "GET", "/admin/connections/", name, NULL, NULL, out, err), out,
        JSON_OBJECT, "a connection", err);
}

enum sbc_status sbc_connection_create(struct sbc_client *client, const json_t *definition,
                                      json_t **out, struct sbc_error *err)
{
    return sbc_request(client, "POST", "/admin/connections/", definition, out, err);
}

enum sbc_status sbc_connection_save(struct sbc_client *client, const char *name,
                                    const json_t *definition, json_t **out, struct sbc_error *err)
{
    return named_request(client, "PUT", "/admin/connections/", name, NULL, definition, out, err);
}

enum sbc_status sbc_connection_save_if_match(struct sbc_client *client, const char *name,
                                             const json_t *definition, long long version,
                                             json_t **out, struct sbc_error *err)
{
    char header[64];
    enum sbc_status rc;
    char *path;

    if (version < 0)
        return sbc_connection_save(client, name, definition, out, err);
    if (out)
        *out = NULL;
    clear_error(err);
    if (!name || !*name)
        return set_error(err, SBC_ERR_ARGUMENT, 0, "BadArgument", "A name is required.");
    snprintf(header, sizeof(header), "If-Match: \"%lld\"", version);
    path = name_path("/admin/connections/", name, NULL);
    rc = request_with(client, "PUT", path, definition, header, out, err);
    free(path);
    return rc;
}

enum sbc_status sbc_connection_delete(struct sbc_client *client, const char *name, bool force,
                                      struct sbc_error *err)
{
    return named_request(client, "DELETE", "/admin/connections/", name,
                         force ? "?force=true" : NULL, NULL, NULL, err);
}

enum sbc_status sbc_connection_test(struct sbc_client *client, const char *name, json_t **out,
                                    struct sbc_error *err)
{
    return expect_type(named_request(client, "GET", "/connections/", name, "/test", NULL, out, err),
                       out, JSON_OBJECT, "a connection test", err);
}

enum sbc_status sbc_connection_info(struct sbc_client *client, const char *name,
                                    const char *project_key, json_t **out, struct sbc_error *err)
{
    enum sbc_status rc;
    char *suffix = NULL;

    if (project_key && *project_key) {
        char *esc = sbc_escape_segment(project_key);
        size_t n = esc ? strlen(esc) + sizeof("/info?contextualProjectKey=") : 0;
        if (esc && (suffix = malloc(n)))
            snprintf(suffix, n, "/info?contextualProjectKey=%s", esc);
        free(esc);
        if (!suffix) {
            if (out)
                *out = NULL;
            clear_error(err);
            return no_memory(err);
        }
    }
    rc = named_request(client, "GET", "/connections/", name, suffix ? suffix : "/info", NULL, out,
                       err);
    free(suffix);
    return expect_type(rc, out, JSON_OBJECT, "connection details", err);
}

enum sbc_status sbc_connection_usages(struct sbc_client *client, const char *name, json_t **out,
                                      struct sbc_error *err)
{
    return expect_type(
        named_request(client, "GET", "/admin/connections/", name, "/usages", NULL, out, err), out,
        JSON_ARRAY, "the usages", err);
}

enum sbc_status sbc_connection_history(struct sbc_client *client, const char *name, json_t **out,
                                       struct sbc_error *err)
{
    return expect_type(
        named_request(client, "GET", "/admin/connections/", name, "/history", NULL, out, err), out,
        JSON_ARRAY, "the history", err);
}

enum sbc_status sbc_connection_revert(struct sbc_client *client, const char *name,
                                      long long version, json_t **out, struct sbc_error *err)
{
    json_t *body = json_pack("{s:I}", "versionNumber", (json_int_t)version);
    enum sbc_status rc;

    if (!body)
        return no_body(err, out);
    rc = named_request(client, "POST", "/admin/connections/", name, "/actions/revert", body, out,
                       err);
    json_decref(body);
    return rc;
}

enum sbc_status sbc_connections_import(struct sbc_client *client, const json_t *connections,
                                       const char *on_conflict, bool dry_run, json_t **out,
                                       struct sbc_error *err)
{
    json_t *body;
    enum sbc_status rc;

    if (!json_is_array(connections)) {
        clear_error(err);
        if (out)
            *out = NULL;
        return set_error(err, SBC_ERR_ARGUMENT, 0, "BadArgument",
                         "The connections to import must be a JSON array.");
    }
    body = json_pack("{s:O, s:b}", "connections", (json_t *)connections, "dryRun", dry_run);
    if (body && on_conflict &&
        json_object_set_new(body, "onConflict", json_string(on_conflict)) != 0) {
        json_decref(body);
        body = NULL;
    }
    if (!body)
        return no_body(err, out);
    rc = sbc_request(client, "POST", "/admin/connections/actions/import", body, out, err);
    json_decref(body);
    return expect_type(rc, out, JSON_OBJECT, "the import", err);
}

/* ---- global API keys, users, groups ---- */

/* An array of the N strings of NAMES. New reference; NULL when one is not UTF-8 or memory ran
 * out (json_pack then fails on it). */
static json_t *string_array(const char *const *names, size_t n)
{
    json_t *a = json_array();

    for (size_t i = 0; a && i < n; i++)
        if (json_array_append_new(a, json_string(names[i])) != 0) {
            json_decref(a);
            a = NULL;
        }
    return a;
}

enum sbc_status sbc_global_keys_list(struct sbc_client *client, json_t **out, struct sbc_error *err)
{
    return expect_type(sbc_request(client, "GET", "/admin/global-api-keys/", NULL, out, err), out,
                       JSON_ARRAY, "the global API keys", err);
}

enum sbc_status sbc_global_key_create(struct sbc_client *client, const char *label,
                                      const char *description, bool admin,
                                      const char *const *groups, size_t n_groups, json_t **out,
                                      struct sbc_error *err)
{
    json_t *body = json_pack("{s:s, s:s, s:{s:b}, s:o}", "label", label ? label : "", "description",
                             description ? description : "", "globalPermissions", "admin", admin,
                             "groups", string_array(groups, n_groups));
    enum sbc_status rc;

    if (!body)
        return no_body(err, out);
    rc = sbc_request(client, "POST", "/admin/global-api-keys/", body, out, err);

    json_decref(body);
    return expect_type(rc, out, JSON_OBJECT, "the new key", err);
}

enum sbc_status sbc_global_key_delete(struct sbc_client *client, const char *id,
                                      struct sbc_error *err)
{
    return named_request(client, "DELETE", "/admin/global-api-keys/", id, NULL, NULL, NULL, err);
}

enum sbc_status sbc_users_list(struct sbc_client *client, json_t **out, struct sbc_error *err)
{
    return expect_type(sbc_request(client, "GET", "/admin/users/", NULL, out, err), out, JSON_ARRAY,
                       "the users", err);
}

enum sbc_status sbc_user_create(struct sbc_client *client, const json_t *user, json_t **out,
                                struct sbc_error *err)
{
    return sbc_request(client, "POST", "/admin/users/", user, out, err);
}

enum sbc_status sbc_user_delete(struct sbc_client *client, const char *login, struct sbc_error *err)
{
    return named_request(client, "DELETE", "/admin/users/", login, NULL, NULL, NULL, err);
}

enum sbc_status sbc_groups_list(struct sbc_client *client, json_t **out, struct sbc_error *err)
{
    return expect_type(sbc_request(client, "GET", "/admin/groups/", NULL, out, err), out,
                       JSON_ARRAY, "the groups", err);
}

enum sbc_status sbc_group_create(struct sbc_client *client, const char *name,
                                 const char *description, bool admin, json_t **out,
                                 struct sbc_error *err)
{
    json_t *body = json_pack("{s:s, s:s, s:b}", "name", name ? name : "", "description",
                             description ? description : "", "admin", admin);
    enum sbc_status rc;

    if (!body)
        return no_body(err, out);
    rc = sbc_request(client, "POST", "/admin/groups/", body, out, err);

    json_decref(body);
    return rc;
}

enum sbc_status sbc_group_delete(struct sbc_client *client, const char *name, struct sbc_error *err)
{
    return named_request(client, "DELETE", "/admin/groups/", name, NULL, NULL, NULL, err);
}

/* ---- projects ---- */

enum sbc_status sbc_project_change_connection(struct sbc_client *client, const char *key,
                                              const char *from, const char *to,
                                              const char *const *datasets, size_t n_datasets,
                                              bool dry_run, json_t **out, struct sbc_error *err)
{
    json_t *body = json_pack("{s:s?, s:s?, s:b}", "from", from, "to", to, "dryRun", dry_run);
    enum sbc_status rc;

    if (body && n_datasets > 0 &&
        json_object_set_new(body, "datasets", string_array(datasets, n_datasets)) != 0) {
        json_decref(body);
        body = NULL;
    }
    if (!body)
        return no_body(err, out);
    rc = named_request(client, "POST", "/projects/", key, "/actions/change-connection", body, out,
                       err);
    json_decref(body);
    return expect_type(rc, out, JSON_OBJECT, "the change of connection", err);
}
