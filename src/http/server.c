/* SPDX-License-Identifier: Apache-2.0 */
/* libmicrohttpd glue. A request lives in a `struct request` created on the first callback and
 * freed in the completion callback, after its log line is written. Bodies are collected up to
 * the configured limit: a Content-Length over it is answered 413 at once, without reading the
 * body; a chunked body that grows over it is discarded and answered 413 at its end. Routing,
 * authentication and the handler run once the whole body is in.
 *
 * A write (an audited route: service/write.h) whose thread also serves other connections runs
 * on a write thread, its connection suspended, and its answer goes out when the connection
 * resumes: a libmicrohttpd thread serves its connections one request at a time, and a write
 * holds its thread until its commit is durable (see "the write threads" below).
 *
 * Paths reach the handler raw (the unescape callback below is a no-op) so that each segment is
 * percent-decoded on its own: "%2F" inside a name never becomes a path separator. */
#include <errno.h>
#include <microhttpd.h>
#include <netdb.h>
#include <pthread.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "api/api.h"
#include "core/apikeys.h"
#include "core/session.h"
#include "http/auth.h"
#include "http/authcache.h"
#include "http/metrics.h"
#include "http/proxy.h"
#include "http/request.h"
#include "http/routes.h"
#include "http/server.h"
#include "http/session.h"
#include "service/activity.h"
#include "service/audit.h"
#include "service/write.h"
#include "store/store.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/mem.h"

/* The write threads: a write (a route the route table audits) whose libmicrohttpd thread also
 * serves other connections runs on one of these, its connection suspended, so that the thread
 * goes on serving the others while the write waits for its commit to be durable, and writes
 * from connections on one thread can share a commit (the store's group commit). Started as
 * needed, up to max; stopped with the server, after the requests drained. */
struct write_pool {
    pthread_mutex_t lock;
    pthread_cond_t wake;
    struct request *head, *tail; /* the writes queued (request.pool_next) */
    int queued, idle, started, max;
    pthread_t *threads;
    bool stopping; /* no more writes: what is queued is refused */
};

struct http_server {
    struct MHD_Daemon *daemon;
    struct app *app;
    atomic_int active; /* requests between first callback and completion */
    atomic_bool stopping;
    char *tls_cert, *tls_key;   /* PEM text, kept for the daemon's lifetime */
    struct MHD_Daemon *metrics; /* the --metrics-listen listener, or NULL */
    struct write_pool pool;
    atomic_int offloaded; /* requests that went to a write thread and have not ended yet */
};

/* ---- error kinds to HTTP ---- */

struct kind_answer {
    unsigned status;
    const char *type;
    const char *title;
};

/* What a client gets for KIND: a switch without a default, so that a kind added to
 * enum sb_err_kind and not here stops the build (-Wswitch) instead of becoming a 500. */
static struct kind_answer kind_answer(enum sb_err_kind kind)
{
    switch (kind) {
    case SB_OK: return (struct kind_answer){200, "", ""};
    case SB_ERR_BAD_REQUEST: return (struct kind_answer){400, "BadRequest", "Bad request"};
    case SB_ERR_UNAUTHORIZED:
        return (struct kind_answer){401, "Unauthorized", "Authentication required"};
    case SB_ERR_FORBIDDEN: return (struct kind_answer){403, "Forbidden", "Forbidden"};
    case SB_ERR_NOT_FOUND: return (struct kind_answer){404, "NotFound", "Not found"};
    case SB_ERR_METHOD_NOT_ALLOWED:
        return (struct kind_answer){405, "MethodNotAllowed", "Method not allowed"};
    case SB_ERR_CONFLICT: return (struct kind_answer){409, "Conflict", "Conflict"};
    case SB_ERR_PRECONDITION_FAILED:
        return (struct kind_answer){412, "PreconditionFailed", "Precondition failed"};
    case SB_ERR_TOO_LARGE: return (struct kind_answer){413, "PayloadTooLarge", "Payload too large"};
    case SB_ERR_INTERNAL: return (struct kind_answer){500, "InternalError", "Internal error"};
    case SB_ERR_UNAVAILABLE:
        return (struct kind_answer){503, "ServiceUnavailable", "Service unavailable"};
    case SB_ERR_COUNT: break;
    }
    return (struct kind_answer){500, "InternalError", "Internal error"};
}

/* ---- answering ---- */

/* Every answer: no sniffing, no referrer, never framed. JSON and text answers may load
 * nothing; console files get the console's policy: its own scripts and styles only, no inline
 * script, no other origin. */
#define CSP_API "default-src 'none'; frame-ancestors 'none'"
#define CSP_CONSOLE                                                                                \
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "              \
    "connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'self'; "                   \
    "frame-ancestors 'none'"

/* The headers every answer carries, with CSP as its Content-Security-Policy. */
static void add_common_headers(struct request *req, struct MHD_Response *resp, const char *csp)
{
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    MHD_add_response_header(resp, "X-Request-Id", req->request_id);
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
    MHD_add_response_header(resp, "X-Frame-Options", "DENY");
    MHD_add_response_header(resp, "Content-Security-Policy", csp);
    if (req->set_cookie)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_SET_COOKIE, req->set_cookie);
    if (req->retry_after > 0) {
        char secs[32];
        snprintf(secs, sizeof(secs), "%ld", req->retry_after);
        MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, secs);
    }
}

/* Queues RESP (and destroys it), or holds it while the request's write is open (it goes out
 * once the write commits: see run_write). */
static void queue_or_hold(struct request *req, unsigned status, struct MHD_Response *resp)
{
    if ((req->actor.write || req->offloaded) && !req->held) {
        req->held = resp;
        req->replied = true;
        req->status = status;
        return;
    }
    if (req->offloaded) { /* a second answer: only the request's thread may queue one */
        MHD_destroy_response(resp);
        return;
    }
    if (MHD_queue_response(req->conn, status, resp) == MHD_YES) {
        req->replied = true;
        req->status = status;
    }
    MHD_destroy_response(resp);
}

/* Sends the held answer (SEND), or drops it. A write on a write thread keeps it held: it goes
 * out when the request resumes on its libmicrohttpd thread (write_answer). */
static void release_held(struct request *req, bool send)
{
    struct MHD_Response *resp = req->held;

    if (!resp || (send && req->offloaded))
        return;
    req->held = NULL;
    req->replied = false;
    if (send && MHD_queue_response(req->conn, req->status, resp) == MHD_YES)
        req->replied = true;
    MHD_destroy_response(resp);
}

/* Adds the headers every answer carries and queues RESP (or holds it: queue_or_hold). */
static void queue_answer(struct request *req, unsigned status, struct MHD_Response *resp,
                         const char *allow, const char *content_type)
{
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
    add_common_headers(req, resp, CSP_API);
    /* a browser would open its own sign-in dialog on this header: the console signs in itself */
    if (status == 401 && !req->console_client)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
                                "Basic realm=\"switchboard\"");
    if (allow)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, allow);
    if (req->etag[0] && status < 300) {
        char etag[sizeof(req->etag) + 2];
        snprintf(etag, sizeof(etag), "\"%s\"", req->etag);
        MHD_add_response_header(resp, MHD_HTTP_HEADER_ETAG, etag);
    }
    queue_or_hold(req, status, resp);
}

static void reply_raw_typed(struct request *req, unsigned status, char *text, const char *allow,
                            const char *content_type)
{
    struct MHD_Response *resp;

    if (req->replied) {
        free(text);
        return;
    }
    resp = MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
    if (!resp) {
        free(text);
        return;
    }
    queue_answer(req, status, resp, allow, content_type);
}

static void reply_raw(struct request *req, unsigned status, char *text, const char *allow)
{
    reply_raw_typed(req, status, text, allow, "application/json; charset=utf-8");
}

void reply_text(struct request *req, unsigned status, const char *content_type, char *text)
{
    reply_raw_typed(req, status, text, NULL, content_type);
}

void reply_shared(struct request *req, unsigned status, const char *const *part, const size_t *len,
                  int n, void (*release)(void *cls), void *cls)
{
    struct MHD_Response *resp = NULL;

    if (!req->replied && n == 1) {
        resp = MHD_create_response_from_buffer_with_free_callback_cls(
            len[0], (void *)(uintptr_t)part[0], release, cls);
    } else if (!req->replied) {
        /* one buffer: libmicrohttpd sends an iovec answer's headers with a send(2) of their
         * own, a buffer's with the body in one sendmsg(2) */
        size_t total = 0, at = 0;
        for (int i = 0; i < n; i++)
            total += len[i];
        char *text = xmalloc(total + 1);
        for (int i = 0; i < n; i++) {
            memcpy(text + at, part[i], len[i]);
            at += len[i];
        }
        release(cls);
        release = NULL;
        resp = MHD_create_response_from_buffer(total, text, MHD_RESPMEM_MUST_FREE);
        if (!resp)
            free(text);
    }
    if (!resp) {
        if (release)
            release(cls);
        return;
    }
    queue_answer(req, status, resp, NULL, "application/json; charset=utf-8");
}

struct stream {
    size_t (*read)(void *cls, uint64_t pos, char *buf, size_t max);
    void *cls;
    void (*free_cls)(void *cls);
};

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    struct stream *st = cls;
    size_t n = st->read(st->cls, pos, buf, max);
    return n ? (ssize_t)n : MHD_CONTENT_READER_END_OF_STREAM;
}

static void stream_free(void *cls)
{
    struct stream *st = cls;
    st->free_cls(st->cls);
    free(st);
}

void reply_stream(struct request *req, unsigned status, uint64_t size,
                  size_t (*read)(void *cls, uint64_t pos, char *buf, size_t max), void *cls,
                  void (*free_cls)(void *cls))
{
    struct stream *st = xmalloc(sizeof(*st));
    struct MHD_Response *resp;

    st->read = read;
    st->cls = cls;
    st->free_cls = free_cls;
    resp = MHD_create_response_from_callback(size, 64 * 1024, stream_read, st, stream_free);
    if (!resp) {
        stream_free(st);
        return;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json; charset=utf-8");
    add_common_headers(req, resp, CSP_API);
    queue_or_hold(req, status, resp);
}

void reply_static(struct request *req, unsigned status, const char *content_type,
                  const unsigned char *data, size_t len)
{
    struct MHD_Response *resp;

    if (req->replied)
        return;
    resp = MHD_create_response_from_buffer(len, (void *)data, MHD_RESPMEM_PERSISTENT);
    if (!resp)
        return;
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
    add_common_headers(req, resp, CSP_CONSOLE);
    queue_or_hold(req, status, resp);
}

void reply_redirect(struct request *req, const char *location)
{
    struct MHD_Response *resp;

    if (req->replied)
        return;
    resp = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    if (!resp)
        return;
    MHD_add_response_header(resp, MHD_HTTP_HEADER_LOCATION, location);
    add_common_headers(req, resp, CSP_API);
    queue_or_hold(req, 302, resp);
}

void reply_json(struct request *req, unsigned status, json_t *body)
{
    char *text = xcheck(json_dumps(body, JSON_COMPACT | JSON_ENCODE_ANY));
    json_decref(body);
    reply_raw(req, status, text, NULL);
}

void reply_json_text(struct request *req, unsigned status, char *text)
{
    reply_raw(req, status, text, NULL);
}

static void reply_error_body(struct request *req, unsigned status, const char *type,
                             const char *title, const char *msg, const char *allow)
{
    json_t *body =
        json_pack("{s:s, s:s, s:s}", "errorType", type, "message", title, "detailedMessage", msg);
    /* a message is ASCII or came from valid UTF-8; json_pack fails only on invalid UTF-8 */
    if (!body)
        body = xcheck(json_pack("{s:s, s:s, s:s}", "errorType", type, "message", title,
                                "detailedMessage", title));
    char *text = xcheck(json_dumps(body, JSON_COMPACT));
    json_decref(body);
    reply_raw(req, status, text, allow);
}

static void reply_error_allow(struct request *req, const struct sb_err *err, const char *allow)
{
    /* (SB_OK is not an error: a caller that answers with it has a bug) */
    struct kind_answer k = kind_answer(err->kind == SB_OK ? SB_ERR_INTERNAL : err->kind);
    reply_error_body(req, k.status, k.type, k.title, err->msg, allow);
}

void reply_too_many_requests(struct request *req, long retry_after_s, const char *fmt, ...)
{
    char msg[SB_ERR_MSG_MAX];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    req->retry_after = retry_after_s;
    reply_error_body(req, 429, "TooManyRequests", "Too many requests", msg, NULL);
}

void reply_error(struct request *req, const struct sb_err *err)
{
    reply_error_allow(req, err, NULL);
}

void reply_errorf(struct request *req, enum sb_err_kind kind, const char *fmt, ...)
{
    struct sb_err err;
    va_list ap;

    err.kind = kind;
    va_start(ap, fmt);
    vsnprintf(err.msg, sizeof(err.msg), fmt, ap);
    va_end(ap);
    reply_error(req, &err);
}

bool req_require_admin_or_reply(struct request *req)
{
    if (req->principal.admin)
        return true;
    /* name who lacks them: the user acted as, the user of a personal key, or the global key */
    if (req->principal.real[0])
        reply_errorf(req, SB_ERR_FORBIDDEN,
                     "This operation requires administrator rights; "
                     "user '%s', acted as through X-DKU-ProxyUser, does not have them.",
                     req->principal.login);
    else if (req->principal.type == PRINCIPAL_USER)
        reply_errorf(req, SB_ERR_FORBIDDEN,
                     "This operation requires administrator rights; "
                     "user '%s' does not have them.",
                     req->principal.login);
    else
        reply_errorf(req, SB_ERR_FORBIDDEN,
                     "This operation requires administrator rights; "
                     "the API key used does not have them.");
    return false;
}

/* ---- suspension ---- */

void req_suspend(struct request *req, void (*resume)(struct request *req))
{
    req->resume = resume;
    MHD_suspend_connection(req->conn);
}

void req_resume(struct request *req)
{
    MHD_resume_connection(req->conn);
}

struct actor *req_actor(struct request *req)
{
    req->actor.app = req->app;
    req->actor.principal = req->authenticated ? &req->principal : NULL;
    req->actor.request_id = req->request_id;
    req->actor.addr = req->client_addr;
    return &req->actor;
}

void req_remote_addr(const struct request *req, char *out, size_t size)
{
    snprintf(out, size, "%s", req->client_addr[0] ? req->client_addr : "-");
}

/* The client's address: the peer's, or behind a trusted proxy the one X-Forwarded-For gives.
 * Without trusted proxies it is the peer's, the same for every request of a connection: kept in
 * PEER (PEER_SIZE bytes, "" until known; NULL: not kept). */
static void client_addr_init(struct request *req, char *peer, size_t peer_size)
{
    const struct trusted_proxies *tp = req->app->proxies;
    bool by_peer = !tp || tp->n == 0;
    const union MHD_ConnectionInfo *info;
    const char *xff;

    if (by_peer && peer && peer[0]) {
        snprintf(req->client_addr, sizeof(req->client_addr), "%s", peer);
        return;
    }
    info = MHD_get_connection_info(req->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    xff =
        by_peer ? NULL : MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, "X-Forwarded-For");
    proxies_client_addr(tp, info ? info->client_addr : NULL, xff, req->client_addr,
                        sizeof(req->client_addr));
    if (by_peer && peer)
        snprintf(peer, peer_size, "%s", req->client_addr);
}

/* ---- request accessors ---- */

const char *req_param(const struct request *req, int i)
{
    return i < req->n_params ? req->params[i] : "";
}

char *req_query(const struct request *req, const char *name)
{
    const char *raw = MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, name);
    size_t len;
    char *value;

    if (!raw)
        return NULL;
    value = routes_percent_decode(raw, strlen(raw), true, &len);
    if (value && strlen(value) != len) {
        free(value);
        value = NULL;
    }
    return value;
}

const char *req_header(const struct request *req, const char *name)
{
    return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

bool req_query_bool(const struct request *req, const char *name)
{
    char *value = req_query(req, name);
    bool yes = value && strcasecmp(value, "true") == 0;

    free(value);
    return yes;
}

bool req_json_body_or_reply(struct request *req, json_t **out)
{
    json_error_t jerr;

    if (!req->body || req->body_len == 0) {
        reply_errorf(req, SB_ERR_BAD_REQUEST, "This request needs a JSON body; none was sent.");
        return false;
    }
    *out = json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES, &jerr);
    if (!*out) {
        /* jansson ends its text with " near '<the bytes where it stopped>'": in a body those
         * can be the value of a password cut short, so the answer keeps the reason and where */
        char text[sizeof(jerr.text)];
        const char *near = strstr(jerr.text, " near ");

        if (near)
            jerr.text[near - jerr.text] = '\0';
        sb_err_echo(text, sizeof(text), jerr.text);
        reply_errorf(req, SB_ERR_BAD_REQUEST,
                     "The request body is not valid JSON: %s (line %d, column %d).", text,
                     jerr.line, jerr.column);
        return false;
    }
    return true;
}

/* GnuTLS priorities of the HTTPS listener: TLS 1.2 and 1.3 only, AEAD ciphers, forward secrecy
 * (no RSA key exchange). GnuTLS's NORMAL alone also offered TLS 1.0 and 1.1 (RFC 8996) and CBC
 * ciphers with SHA-1; every client of this API (requests, curl, browsers) has the rest. */
#define TLS_PRIORITIES                                                                             \
    "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2:-CIPHER-ALL:+AES-256-GCM:+AES-128-GCM:"            \
    "+CHACHA20-POLY1305:-RSA"

/* ---- authentication ---- */

/* The store, as principal_resolve reads users and groups (core/principal.c). */
static enum sb_err_kind lookup_user(void *ctx, const char *login, json_t **out, struct sb_err *err)
{
    return store_obj_get(ctx, STORE_USERS, login, out, err);
}

static enum sb_err_kind lookup_group(void *ctx, const char *name, json_t **out, struct sb_err *err)
{
    return store_obj_get(ctx, STORE_GROUPS, name, out, err);
}

static struct principal_lookup store_lookup(struct request *req)
{
    return (struct principal_lookup){lookup_user, lookup_group, req->app->store};
}

/* REQ is authenticated as the principal of the stored key record REC of KIND. */
static enum sb_err_kind resolve_principal(struct request *req, const json_t *rec,
                                          enum store_key_kind kind, struct sb_err *err)
{
    struct principal_lookup look = store_lookup(req);

    if (principal_resolve(&req->principal, rec, kind == STORE_KEY_GLOBAL, &look, err) != SB_OK)
        return err->kind;
    req->authenticated = true;
    return SB_OK;
}

enum sb_err_kind req_auth_user(struct request *req, const json_t *user, const char *key_id,
                               struct sb_err *err)
{
    struct principal_lookup look = store_lookup(req);

    if (json_is_false(json_object_get(user, "enabled")))
        return sb_err_set(err, SB_ERR_UNAUTHORIZED, "The %s is not valid: its user is disabled.",
                          strcmp(key_id, "session") == 0 ? "session" : "API key");
    if (req->authenticated)
        principal_clear(&req->principal);
    principal_from_user(&req->principal, user, key_id);
    req->authenticated = true;
    return principal_apply_groups(&req->principal, &look, err);
}

/* A key past its expiresOn is refused like an unknown key (docs/API.md §2). */
static enum sb_err_kind refuse_if_expired(struct request *req, struct sb_err *err)
{
    if (req->principal.expires_ms <= 0 || req->principal.expires_ms > clock_epoch_ms())
        return SB_OK;
    principal_clear(&req->principal);
    req->authenticated = false;
    return sb_err_set(err, SB_ERR_UNAUTHORIZED,
                      "The API key is not valid: it expired (see its expiresOn).");
}

/* What a keep-alive connection keeps from one request to the next (libmicrohttpd's socket
 * context, created when the connection opens, wiped and freed when it closes): its request
 * struct, reused (a connection runs one request at a time: no allocation per request); its
 * peer's numeric address; and its last Authorization header with the key hash it gave, so that
 * the next request with the same header skips the parsing and the keyed BLAKE2b (the principal
 * is still looked up by the hash, under the auth generation). */
struct conn_state {
    struct request req;
    bool req_busy;     /* req is the connection's current request */
    char peer[48];     /* the peer's numeric address; "" until the first request */
    size_t header_len; /* 0: no header remembered */
    char header[SB_AUTH_HEADER_REMEMBERED];
    uint8_t hash[APIKEY_HASH_BYTES];
};

static void request_release(struct request *req);

/* The connections of the calling libmicrohttpd thread: libmicrohttpd tells of a connection's
 * start and close on the thread that serves it (the pool worker that accepted it). */
static _Thread_local int tls_conns;

static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                          enum MHD_ConnectionNotificationCode code)
{
    struct conn_state *cs = *socket_context;
    (void)cls;
    (void)conn;

    metrics_connections_add(code == MHD_CONNECTION_NOTIFY_STARTED ? 1 : -1);
    tls_conns += code == MHD_CONNECTION_NOTIFY_STARTED ? 1 : -1;
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        *socket_context = xcalloc(1, sizeof(struct conn_state));
    } else if (code == MHD_CONNECTION_NOTIFY_CLOSED && cs) {
        if (cs->req_busy) /* libmicrohttpd completes a request before closing: never seen */
            request_release(&cs->req);
        sodium_memzero(cs, sizeof(*cs));
        free(cs);
        *socket_context = NULL;
    }
}

/* The state of REQ's connection, or NULL. */
static struct conn_state *conn_state_of(struct MHD_Connection *conn)
{
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return info ? info->socket_context : NULL;
}

/* Sets HASH to the key hash of HEADER, from the connection's memory when it is the header of
 * its previous request (compared in constant time). */
static enum sb_err_kind header_key_hash(struct request *req, const char *header,
                                        uint8_t hash[APIKEY_HASH_BYTES], struct sb_err *err)
{
    struct conn_state *cs = conn_state_of(req->conn);
    size_t len = header ? strlen(header) : 0;
    char *key;

    if (cs && len && len == cs->header_len && sodium_memcmp(header, cs->header, len) == 0) {
        memcpy(hash, cs->hash, APIKEY_HASH_BYTES);
        return SB_OK;
    }
    if (auth_parse_header(header, &key, err) != SB_OK)
        return err->kind;
    apikey_hash(req->app->apikey_hash_key, key, hash);
    sodium_memzero(key, strlen(key));
    free(key);
    if (cs && len <= sizeof(cs->header)) {
        memcpy(cs->header, header, len);
        cs->header_len = len;
        memcpy(cs->hash, hash, APIKEY_HASH_BYTES);
    }
    return SB_OK;
}

enum sb_err_kind req_auth_key_hash(struct request *req, const uint8_t hash[APIKEY_HASH_BYTES],
                                   struct sb_err *err)
{
    enum store_key_kind kind;
    enum sb_err_kind rc;
    json_t *rec;
    uint64_t gen = store_auth_generation(req->app->store); /* before reading what it guards */

    if (req->authenticated) {
        principal_clear(&req->principal);
        req->authenticated = false;
    }
    if (authcache_get(req->app->authcache, hash, gen, &req->principal)) {
        req->authenticated = true;
        if (req->principal.type == PRINCIPAL_USER) {
            char login[sizeof(req->principal.login)];
            snprintf(login, sizeof(login), "%s", req->principal.login);
            rc = refuse_if_expired(req, err);
            activity_note(req->app, login, rc == SB_OK);
            return rc;
        }
        return refuse_if_expired(req, err);
    }
    if (store_key_by_hash(req->app->store, hash, &rec, &kind, err) != SB_OK) {
        if (err->kind == SB_ERR_NOT_FOUND)
            return sb_err_set(err, SB_ERR_UNAUTHORIZED,
                              "The API key is not valid: it is unknown or was deleted.");
        return err->kind;
    }
    rc = resolve_principal(req, rec, kind, err);
    if (rc == SB_OK) {
        authcache_put(req->app->authcache, hash, gen, &req->principal);
        rc = refuse_if_expired(req, err);
    }
    /* users' activity: a personal key's success or refusal counts for its user */
    if (kind == STORE_KEY_PERSONAL && (rc == SB_OK || rc == SB_ERR_UNAUTHORIZED))
        activity_note(req->app, json_string_value(json_object_get(rec, "user")), rc == SB_OK);
    json_decref(rec);
    return rc;
}

/* An API key in the Authorization header, else a console session cookie with its CSRF header. */
static enum sb_err_kind authenticate(struct request *req, struct sb_err *err)
{
    const char *header = req_header(req, MHD_HTTP_HEADER_AUTHORIZATION);
    uint8_t hash[APIKEY_HASH_BYTES];

    if (!header && http_session_present(req))
        return http_session_authenticate(req, true, NULL, err);
    if (header_key_hash(req, header, hash, err) != SB_OK)
        return err->kind;
    return req_auth_key_hash(req, hash, err);
}

/* X-DKU-ProxyUser: <login> (what DSSUser.get_client_as() sends, docs/API.md §2): an admin principal
 * acts as that user for this request, with the user's groups and rights and nothing more. */
static enum sb_err_kind impersonate(struct request *req, struct sb_err *err)
{
    const char *login = MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, "X-DKU-ProxyUser");
    struct principal *p = &req->principal;
    struct principal_lookup look;
    char echo[SB_ECHO_MAX + 4];
    json_t *user;

    if (!login || !*login)
        return SB_OK;
    sb_err_echo(echo, sizeof(echo), login);
    if (!p->admin)
        return sb_err_set(err, SB_ERR_FORBIDDEN,
                          "Only an administrator may act as another user (header "
                          "X-DKU-ProxyUser); '%s' is not one.",
                          p->login);
    if (store_obj_get(req->app->store, STORE_USERS, login, &user, err) != SB_OK) {
        if (err->kind == SB_ERR_NOT_FOUND)
            return sb_err_set(err, SB_ERR_NOT_FOUND,
                              "Header X-DKU-ProxyUser names user '%s', who does not exist.", echo);
        return err->kind;
    }
    if (json_is_false(json_object_get(user, "enabled"))) {
        json_decref(user);
        return sb_err_set(err, SB_ERR_FORBIDDEN,
                          "Header X-DKU-ProxyUser names user '%s', who is disabled.", echo);
    }
    /* a key already acting as a user (dssUserForImpersonation) keeps its real principal */
    principal_act_as(p, user, p->real[0] ? p->real : p->login);
    json_decref(user);
    look = store_lookup(req);
    return principal_apply_groups(p, &look, err);
}

/* ---- lifecycle ---- */

/* Frees what REQ owns (not REQ itself). */
static void request_release(struct request *req)
{
    if (req->counted)
        proxies_leave(req->client_addr);
    if (req->async && req->async_free)
        req->async_free(req->async); /* the client left while slow work ran */
    if (req->held)                   /* a write's answer that never went out (the server stopped) */
        MHD_destroy_response(req->held);
    req->held = NULL;
    for (int i = 0; i < req->n_params; i++)
        free(req->params[i]);
    if (req->authenticated)
        principal_clear(&req->principal);
    free(req->set_cookie);
    free(req->body);
}

/* Ends REQ: its connection's request is kept for the next one, any other freed. */
static void request_free(struct request *req)
{
    struct conn_state *cs = conn_state_of(req->conn);

    request_release(req);
    if (cs && req == &cs->req)
        cs->req_busy = false;
    else
        free(req);
}

static enum MHD_Result add_arg_length(void *cls, enum MHD_ValueKind kind, const char *key,
                                      const char *value)
{
    size_t *total = cls;
    (void)kind;
    *total += strlen(key) + (value ? strlen(value) + 1 : 0) + 1;
    return MHD_YES;
}

/* The length of the request target: the path and the query arguments libmicrohttpd split off. */
static size_t target_length(struct MHD_Connection *conn, const char *url)
{
    size_t total = strlen(url);
    MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, add_arg_length, &total);
    return total;
}

/* What a change is about, for its audit record: what the handler said, else the path
 * parameters (joined by '/': "PROJECT/dataset"), else the name the body gives, else "-". */
static const char *audit_object(struct request *req, char *buf, size_t size)
{
    static const char *const fields[] = {"name", "login", "projectKey", "id", NULL};
    json_t *body;

    if (req->actor.object[0])
        return req->actor.object;
    if (req->n_params > 0) {
        size_t len = 0;
        buf[0] = '\0';
        for (int i = 0; i < req->n_params && len < size; i++)
            len += snprintf(buf + len, size - len, "%s%s", i ? "/" : "", req->params[i]);
        return buf;
    }
    body = req->body ? json_loads(req->body, 0, NULL) : NULL;
    snprintf(buf, size, "-");
    for (int i = 0; fields[i] && json_is_object(body); i++)
        if (json_is_string(json_object_get(body, fields[i]))) {
            snprintf(buf, size, "%s", json_string_value(json_object_get(body, fields[i])));
            break;
        }
    json_decref(body);
    return buf;
}

/* Records the refused or failed attempt at ACTION (a route that changes something) that REQ
 * answered: one place for every resource. Unauthenticated requests are not recorded. */
static void audit_failure(struct request *req, const char *action)
{
    char buf[256];

    if (!action || !req->replied || req->status < 400 || req->status == 401)
        return;
    audit_record(req_actor(req), action, audit_object(req, buf, sizeof(buf)),
                 req->status == 403 ? "denied" : "failed");
}

/* Runs the handler of an audited ROUTE as one write: its changes and their audit record
 * commit together, its answer goes out only once they did, and a failure leaves nothing
 * behind but the record of the attempt. */
static void run_write_counted(struct request *req, const struct route *route)
{
    const char *action = routes_audit_action(route);
    struct write_tx w;
    struct sb_err err;
    char buf[256];

    if (write_begin(&w, req->app, &err) != SB_OK) {
        reply_error(req, &err);
        audit_failure(req, action);
        return;
    }
    req->actor.write = &w;
    route->handler(req);
    if (req->replied && req->status < 400) {
        if (w.records == 0) /* the handler said nothing more specific */
            audit_record(req_actor(req), action, audit_object(req, buf, sizeof(buf)), "success");
        if (write_commit(&w, &err) == SB_OK) {
            req->actor.write = NULL;
            release_held(req, true);
            return;
        }
        req->actor.write = NULL;
        release_held(req, false);
        reply_error(req, &err);
    } else {
        size_t n;
        struct audit_text *recs = write_take_records(&w, &n);
        int again;
        write_rollback(&w);
        req->actor.write = NULL;
        release_held(req, true);
        again = audit_record_again(req->app, recs, n); /* the handler's own account */
        if (again > 0)
            return;
    }
    audit_failure(req, action);
}

static void run_write(struct request *req, const struct route *route)
{
    metrics_writes_add(1);
    run_write_counted(req, route);
    metrics_writes_add(-1);
}

/* ---- the write threads ---- */

static void *write_thread(void *arg)
{
    struct write_pool *p = arg;
    struct request *req;

    pthread_mutex_lock(&p->lock);
    for (;;) {
        while (!p->head && !p->stopping) {
            p->idle++;
            pthread_cond_wait(&p->wake, &p->lock);
            p->idle--;
        }
        if (!(req = p->head))
            break;
        p->head = req->pool_next;
        if (!p->head)
            p->tail = NULL;
        p->queued--;
        bool refuse = p->stopping;
        pthread_mutex_unlock(&p->lock);
        if (refuse) {
            reply_errorf(req, SB_ERR_UNAVAILABLE, "The server is shutting down.");
        } else {
            run_write(req, req->route);
            if (!req->replied) {
                log_error("handler for %s %s returned without answering", req->route->method,
                          req->route->pattern);
                reply_errorf(req, SB_ERR_INTERNAL, "The server failed to answer this request.");
            }
        }
        req_resume(req); /* the answer goes out on the request's thread (write_answer) */
        pthread_mutex_lock(&p->lock);
    }
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

/* Starts one more write thread (P->lock held): false when none could be. */
static bool write_pool_grow(struct write_pool *p)
{
    if (p->started >= p->max || pthread_create(&p->threads[p->started], NULL, write_thread, p))
        return false;
    p->started++;
    return true;
}

/* The resumed request's answer, on its libmicrohttpd thread. */
static void write_answer(struct request *req)
{
    req->offloaded = false;
    release_held(req, true);
}

/* Whether the write REQ goes to a write thread: when its libmicrohttpd thread serves other
 * connections too, which would wait for it (a thread serves one request at a time) and whose
 * writes could not share its commit. A connection alone on its thread writes there: no
 * hand-over to pay for. */
static bool write_offloads(void)
{
    return tls_conns > 1;
}

/* Hands the write REQ to a write thread, its connection suspended until its answer is ready:
 * false when it must run here (no write thread could start, or the server is stopping). */
static bool write_offload(struct http_server *srv, struct request *req)
{
    struct write_pool *p = &srv->pool;

    if (!write_offloads())
        return false;
    pthread_mutex_lock(&p->lock);
    if (p->stopping || (p->started == 0 && !write_pool_grow(p))) {
        pthread_mutex_unlock(&p->lock);
        return false;
    }
    req->offloaded = true;
    req->pool_counted = true;
    atomic_fetch_add(&srv->offloaded, 1);
    req_suspend(req, write_answer);
    req->pool_next = NULL;
    if (p->tail)
        p->tail->pool_next = req;
    else
        p->head = req;
    p->tail = req;
    p->queued++;
    metrics_write_offloaded();
    if (p->queued > p->idle)
        write_pool_grow(p); /* (else one of the others takes it when it is free) */
    pthread_cond_signal(&p->wake);
    pthread_mutex_unlock(&p->lock);
    return true;
}

static void write_pool_init(struct write_pool *p, long max)
{
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->wake, NULL);
    p->max = (int)max;
    p->threads = xcalloc((size_t)max, sizeof(*p->threads));
}

/* Stops the write threads: the writes under way end (and answer), the ones still queued are
 * refused (503); every suspended write has resumed when this returns. */
static void write_pool_stop(struct write_pool *p)
{
    pthread_mutex_lock(&p->lock);
    p->stopping = true;
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->lock);
    for (int i = 0; i < p->started; i++)
        pthread_join(p->threads[i], NULL);
    p->started = 0;
}

static void write_pool_free(struct write_pool *p)
{
    write_pool_stop(p);
    pthread_mutex_destroy(&p->lock);
    pthread_cond_destroy(&p->wake);
    free(p->threads);
}

/* Routes, authenticates and runs REQ: false when it went to a write thread (the caller must
 * not touch it: that thread answers and resumes it). */
static bool dispatch(struct http_server *srv, struct request *req, const char *url)
{
    struct sb_err err;
    char allow[64];
    const struct route *route = NULL;

    sb_err_clear(&err);
    /* behind trusted proxies libmicrohttpd's per-IP limit is off (it would count the proxy):
     * the limit applies to requests in flight per client address instead */
    if (req->app->proxies && req->app->proxies->n > 0) {
        if (!proxies_enter(req->client_addr, srv->app->cfg->max_connections_per_ip)) {
            reply_errorf(req, SB_ERR_UNAVAILABLE,
                         "Too many requests in flight from %s (setting max-connections-per-ip).",
                         req->client_addr);
            return true;
        }
        req->counted = true;
    }
    if (req->body_too_large) {
        reply_errorf(req, SB_ERR_TOO_LARGE,
                     "The request body is larger than the limit of %lld "
                     "bytes (setting max-body-size).",
                     srv->app->cfg->max_body_size);
        return true;
    }
    if (target_length(req->conn, url) > SB_URL_MAX) {
        reply_errorf(req, SB_ERR_BAD_REQUEST,
                     "The request target (path and query) is longer than %d bytes.", SB_URL_MAX);
        return true;
    }
    if (atomic_load(&srv->stopping)) {
        reply_errorf(req, SB_ERR_UNAVAILABLE, "The server is shutting down.");
        return true;
    }
    switch (routes_match(req->method, url, &route, req->params, &req->n_params, allow,
                         sizeof(allow), &err)) {
    case ROUTE_FOUND: break;
    case ROUTE_NOT_FOUND:
        if (strncmp(url, "//", 2) == 0) /* DSSClient("http://host:11200/", key) sends these */
            reply_errorf(req, SB_ERR_NOT_FOUND,
                         "There is no endpoint at this path: it starts with '//'; give the "
                         "client the server's URL without a trailing '/' (http://host:port).");
        else
            reply_errorf(req, SB_ERR_NOT_FOUND, "There is no endpoint at this path.");
        return true;
    case ROUTE_WRONG_METHOD:
        sb_err_set(&err, SB_ERR_METHOD_NOT_ALLOWED, "Method %s is not allowed here; use %s.",
                   req->method, allow);
        reply_error_allow(req, &err, allow);
        return true;
    case ROUTE_BAD_PATH: reply_error(req, &err); return true;
    }
    req->route = route;
    req->console_client = req_header(req, SESSION_CSRF_HEADER) || http_session_present(req);
    /* --metrics-key: /metrics, public in the table, then needs an admin key */
    bool admin_metrics = route->handler == api_meta_metrics && srv->app->cfg->metrics_key;
    if (route->access != ROUTE_PUBLIC || admin_metrics) {
        if (authenticate(req, &err) != SB_OK) {
            reply_error(req, &err);
            return true;
        }
        if (impersonate(req, &err) != SB_OK) {
            reply_error(req, &err);
            /* who tried to act as whom (the header names the user; the principal is the real
             * one, since acting as the user was refused) */
            char who[SB_ECHO_MAX + 4];
            sb_err_echo(who, sizeof(who),
                        MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, "X-DKU-ProxyUser"));
            audit_record_read(req_actor(req), "user.impersonate", who,
                              req->status == 403 ? "denied" : "failed");
            return true;
        }
        if ((route->access == ROUTE_ADMIN || admin_metrics) && !req_require_admin_or_reply(req)) {
            audit_failure(req, routes_audit_action(route));
            return true;
        }
    }
    if (routes_audit_action(route)) {
        if (write_offload(srv, req))
            return false;
        run_write(req, route);
    } else {
        route->handler(req);
    }
    if (!req->replied && !req->resume) {
        log_error("handler for %s %s returned without answering", route->method, route->pattern);
        reply_errorf(req, SB_ERR_INTERNAL, "The server failed to answer this request.");
    }
    return true;
}

/* The request's id: the client's X-Request-Id when it is 1 to SB_REQUEST_ID_MAX characters
 * of [A-Za-z0-9._:/+=-] (anything else could forge a log line), else 16 random hex digits.
 * The random bytes come from a per-thread pool filled 64 ids at a time (one getrandom(2) per
 * request was 3 % of a GET's CPU). */
static void request_id_init(struct request *req)
{
    static _Thread_local uint8_t pool[64 * 8];
    static _Thread_local size_t used = sizeof(pool);
    const char *given = MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, "X-Request-Id");
    size_t n = given ? strlen(given) : 0;

    if (n > 0 && n <= SB_REQUEST_ID_MAX &&
        strspn(given, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._:/+=-") ==
            n) {
        memcpy(req->request_id, given, n + 1);
        return;
    }
    if (used + 8 > sizeof(pool)) {
        randombytes_buf(pool, sizeof(pool));
        used = 0;
    }
    sodium_bin2hex(req->request_id, sizeof(req->request_id), pool + used, 8);
    used += 8;
}

static enum MHD_Result on_access(void *cls, struct MHD_Connection *conn, const char *url,
                                 const char *method, const char *version, const char *upload_data,
                                 size_t *upload_data_size, void **con_cls)
{
    struct http_server *srv = cls;
    struct request *req = *con_cls;
    size_t limit = (size_t)srv->app->cfg->max_body_size;
    (void)version;

    if (!req) {
        const char *cl;
        struct conn_state *cs = conn_state_of(conn);
        if (cs && !cs->req_busy) {
            req = &cs->req;
            memset(req, 0, sizeof(*req));
            cs->req_busy = true;
        } else {
            req = xcalloc(1, sizeof(*req));
            cs = NULL;
        }
        req->app = srv->app;
        req->conn = conn;
        req->method = method;
        req->started_us = clock_mono_us();
        request_id_init(req);
        client_addr_init(req, cs ? cs->peer : NULL, cs ? sizeof(cs->peer) : 0);
        *con_cls = req;
        atomic_fetch_add(&srv->active, 1);
        cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        if (cl && strtoull(cl, NULL, 10) > limit) {
            req->body_too_large = true;
            dispatch(srv, req, url); /* answers 413 before the body is read */
            return req->replied ? MHD_YES : MHD_NO;
        }
        return MHD_YES;
    }

    if (*upload_data_size) {
        size_t n = *upload_data_size;
        *upload_data_size = 0;
        if (req->body_too_large || req->body_len + n > limit) {
            if (!req->body_too_large) {
                req->body_too_large = true;
                free(req->body);
                req->body = NULL;
                req->body_len = 0;
            }
            req->discarded += n;
            /* a client that keeps sending far past the limit is cut off */
            return req->discarded > 16 * limit + SB_DISCARD_SLACK ? MHD_NO : MHD_YES;
        }
        req->body = xrealloc(req->body, req->body_len + n + 1);
        memcpy(req->body + req->body_len, upload_data, n);
        req->body_len += n;
        req->body[req->body_len] = '\0';
        return MHD_YES;
    }

    if (req->resume) { /* (before the check below: a write thread's answer is held, "replied") */
        void (*resume)(struct request *) = req->resume;
        req->resume = NULL;
        resume(req);
        if (!req->replied)
            reply_errorf(req, SB_ERR_INTERNAL, "The server failed to answer this request.");
        return req->replied ? MHD_YES : MHD_NO;
    }
    if (req->replied)
        return MHD_YES;
    if (!dispatch(srv, req, url))
        return MHD_YES; /* a write thread has it, its connection suspended */
    return (req->replied || req->resume) ? MHD_YES : MHD_NO;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    struct http_server *srv = cls;
    struct request *req = *con_cls;
    (void)conn;

    if (!req)
        return;
    metrics_count(req->route, req->status, clock_mono_us() - req->started_us);
    log_request(req->method, req->route ? req->route->pattern : "-", req->status,
                (double)(clock_mono_us() - req->started_us) / 1000.0,
                req->authenticated ? req->principal.id : "-", req->request_id,
                toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? "" : "(connection ended early)");
    if (req->pool_counted)
        atomic_fetch_sub(&srv->offloaded, 1);
    request_free(req);
    *con_cls = NULL;
    atomic_fetch_sub(&srv->active, 1);
}

/* Paths and query values stay raw; src/http/routes.c decodes them piece by piece. */
static size_t no_unescape(void *cls, struct MHD_Connection *conn, char *s)
{
    (void)cls;
    (void)conn;
    return strlen(s);
}

/* libmicrohttpd's format and arguments, as it hands them */
__attribute__((format(printf, 2, 0))) static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
    char line[512];
    size_t n;
    (void)cls;

    vsnprintf(line, sizeof(line), fmt, ap);
    n = strlen(line);
    while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        line[--n] = '\0';
    log_warn("http: %s", line);
}

/* Resolves "ADDR:PORT" or "[ADDR]:PORT" into ADDR. */
static enum sb_err_kind parse_listen(const char *listen, struct sockaddr_storage *addr,
                                     socklen_t *addr_len, struct sb_err *err)
{
    char host[256];
    const char *port;
    struct addrinfo hints = {0}, *res;
    int rc;

    if (listen[0] == '[') {
        const char *end = strchr(listen, ']');
        if (!end || end[1] != ':' || (size_t)(end - listen - 1) >= sizeof(host))
            goto bad;
        snprintf(host, sizeof(host), "%.*s", (int)(end - listen - 1), listen + 1);
        port = end + 2;
    } else {
        const char *colon = strrchr(listen, ':');
        if (!colon || (size_t)(colon - listen) >= sizeof(host))
            goto bad;
        snprintf(host, sizeof(host), "%.*s", (int)(colon - listen), listen);
        port = colon + 1;
    }
    if (!*host || !*port)
        goto bad;
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    rc = getaddrinfo(host, port, &hints, &res);
    if (rc != 0)
        return sb_err_set(err, SB_ERR_BAD_REQUEST, "Cannot listen on '%s': %s.", listen,
                          gai_strerror(rc));
    memcpy(addr, res->ai_addr, res->ai_addrlen);
    *addr_len = res->ai_addrlen;
    freeaddrinfo(res);
    return SB_OK;
bad:
    return sb_err_set(err, SB_ERR_BAD_REQUEST,
                      "Setting listen must be ADDR:PORT or [IPv6]:PORT, not '%s'.", listen);
}

/* Reads a whole PEM file into a new NUL-terminated buffer (caller frees). */
static char *read_pem(const char *path, struct sb_err *err)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t len = 0, cap = 0, n;

    if (!f) {
        sb_err_set(err, SB_ERR_BAD_REQUEST, "Cannot read %s: %s.", path, strerror(errno));
        return NULL;
    }
    do {
        if (len + 4096 + 1 > cap)
            buf = xrealloc(buf, cap = (len + 4096 + 1) * 2);
        n = fread(buf + len, 1, 4096, f);
        len += n;
    } while (n > 0 && len < 1024 * 1024);
    fclose(f);
    buf[len] = '\0';
    return buf;
}

/* The --metrics-listen listener: GET /metrics and nothing else, no key (the address is the
 * operator's to protect), one thread. */
static enum MHD_Result on_metrics_access(void *cls, struct MHD_Connection *conn, const char *url,
                                         const char *method, const char *version,
                                         const char *upload_data, size_t *upload_data_size,
                                         void **con_cls)
{
    static int started;
    struct http_server *srv = cls;
    struct MHD_Response *resp;
    enum MHD_Result rc;
    bool metrics = strcmp(method, "GET") == 0 && strcmp(url, "/metrics") == 0;
    char *text;
    (void)version;
    (void)upload_data;

    if (!*con_cls) {
        *con_cls = &started;
        return MHD_YES;
    }
    if (*upload_data_size) {
        *upload_data_size = 0; /* a body is read and dropped */
        return MHD_YES;
    }
    text = metrics ? api_meta_metrics_text(srv->app)
                   : xstrdup("{\"errorType\":\"NotFound\",\"message\":\"Not found\","
                             "\"detailedMessage\":\"This address serves GET /metrics only.\"}");
    resp = MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
    if (!resp) {
        free(text);
        return MHD_NO;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
                            metrics ? "text/plain; version=0.0.4; charset=utf-8"
                                    : "application/json; charset=utf-8");
    rc = MHD_queue_response(conn, metrics ? 200 : 404, resp);
    MHD_destroy_response(resp);
    return rc;
}

static struct MHD_Daemon *metrics_start(struct http_server *srv, struct sb_err *err)
{
    const char *listen = srv->app->cfg->metrics_listen;
    struct sockaddr_storage addr;
    socklen_t addr_len;
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG;
    struct MHD_Daemon *d;

    if (parse_listen(listen, &addr, &addr_len, err) != SB_OK)
        return NULL;
    if (addr.ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    d = MHD_start_daemon(flags, 0, NULL, NULL, on_metrics_access, srv, MHD_OPTION_EXTERNAL_LOGGER,
                         on_mhd_log, NULL, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
                         MHD_OPTION_CONNECTION_TIMEOUT, 10u, MHD_OPTION_CONNECTION_LIMIT, 64u,
                         MHD_OPTION_END);
    if (!d)
        sb_err_set(err, SB_ERR_UNAVAILABLE,
                   "Cannot listen on %s (--metrics-listen): the address is in use or not "
                   "available here.",
                   listen);
    else
        log_info("metrics on http://%s/metrics", listen);
    return d;
}

struct http_server *http_server_start(struct app *app, struct sb_err *err)
{
    struct http_server *srv;
    struct sockaddr_storage addr;
    socklen_t addr_len;
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG |
                     MHD_USE_ITC | MHD_ALLOW_SUSPEND_RESUME;
    long threads = app->cfg->threads;
    long online = sysconf(_SC_NPROCESSORS_ONLN), cores = online > 0 ? online : 2;
    const union MHD_DaemonInfo *info;

    if (parse_listen(app->cfg->listen, &addr, &addr_len, err) != SB_OK)
        return NULL;
    if (addr.ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    /* a writer holds its thread until one fdatasync covers its commit: with one thread per
     * core, two concurrent writers could never share an fsync (measured: 8 clients creating
     * went from 1,100/s with 2 threads to 1,500/s with 16; reads did not change) */
    if (threads <= 0)
        threads = 8 * cores;

    if (*app->cfg->tls_cert) {
        if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
            sb_err_set(err, SB_ERR_BAD_REQUEST, "This libmicrohttpd was built without TLS.");
            return NULL;
        }
        flags |= MHD_USE_TLS;
    }
    routes_init();
    if (!app->proxies) {
        app->proxies = xcalloc(1, sizeof(*app->proxies));
        if (proxies_parse(app->cfg->trusted_proxies, app->proxies, err) != SB_OK) {
            free(app->proxies);
            app->proxies = NULL;
            return NULL;
        }
    }
    srv = xcalloc(1, sizeof(*srv));
    srv->app = app;
    /* as many write threads as request threads, 8 per core at least (--threads 1 still lets
     * the writes of its connections share commits) */
    write_pool_init(&srv->pool, threads > 8 * cores ? threads : 8 * cores);
    if (flags & MHD_USE_TLS) {
        srv->tls_cert = read_pem(app->cfg->tls_cert, err);
        srv->tls_key = srv->tls_cert ? read_pem(app->cfg->tls_key, err) : NULL;
        if (!srv->tls_key) {
            free(srv->tls_cert);
            write_pool_free(&srv->pool);
            free(srv);
            return NULL;
        }
    }
    srv->daemon = MHD_start_daemon(
        flags, 0, NULL, NULL, on_access, srv, MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, NULL,
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr, MHD_OPTION_THREAD_POOL_SIZE,
        (unsigned)threads, MHD_OPTION_NOTIFY_COMPLETED, on_completed, srv,
        MHD_OPTION_NOTIFY_CONNECTION, on_connection, NULL, MHD_OPTION_UNESCAPE_CALLBACK,
        no_unescape, NULL, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)app->cfg->connection_timeout,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)app->cfg->max_connections,
        MHD_OPTION_PER_IP_CONNECTION_LIMIT,
        app->proxies->n > 0 ? 0u : (unsigned)app->cfg->max_connections_per_ip,
        MHD_OPTION_LISTEN_BACKLOG_SIZE, 1024u, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
        (size_t)SB_CONN_MEMORY, (flags & MHD_USE_TLS) ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END,
        srv->tls_cert, MHD_OPTION_HTTPS_MEM_KEY, srv->tls_key, MHD_OPTION_HTTPS_PRIORITIES,
        TLS_PRIORITIES, MHD_OPTION_END);
    if (!srv->daemon) {
        free(srv->tls_cert);
        free(srv->tls_key);
        write_pool_free(&srv->pool);
        free(srv);
        sb_err_set(err, SB_ERR_UNAVAILABLE,
                   "Cannot listen on %s: the address is in use or not available here%s.",
                   app->cfg->listen,
                   (flags & MHD_USE_TLS) ? ", or the TLS certificate and key do not match" : "");
        return NULL;
    }
    if (*app->cfg->metrics_listen && !(srv->metrics = metrics_start(srv, err))) {
        MHD_stop_daemon(srv->daemon);
        free(srv->tls_cert);
        free(srv->tls_key);
        write_pool_free(&srv->pool);
        free(srv);
        return NULL;
    }
    info = MHD_get_daemon_info(srv->daemon, MHD_DAEMON_INFO_BIND_PORT);
    log_info("listening on %s://%s (port %u, %ld threads)",
             (flags & MHD_USE_TLS) ? "https" : "http", app->cfg->listen,
             info ? (unsigned)info->port : 0u, threads);
    return srv;
}

void http_server_drain(struct http_server *srv, long long deadline)
{
    /* New requests are answered 503 from here on (dispatch checks the flag); the listening
     * socket stays open until MHD_stop_daemon closes it. MHD_quiesce_daemon is not used: with
     * an epoll thread pool it races the workers' own removal of the listening socket from
     * their epoll sets, and the loser aborts the process ("Failed to remove listen FD from
     * epoll set", libmicrohttpd 0.9.75 daemon.c: MHD_epoll reads was_quiesced and
     * listen_socket_in_epoll without a lock, then panics on the ENOENT of a second
     * EPOLL_CTL_DEL). A 503 also tells a load balancer to retry elsewhere. */
    atomic_store(&srv->stopping, true);
    while (atomic_load(&srv->active) > 0 && clock_mono_us() < deadline)
        usleep(10 * 1000);
    if (atomic_load(&srv->active) > 0)
        log_warn("shutdown: %d requests still running after the grace period",
                 atomic_load(&srv->active));
}

void http_server_stop(struct http_server *srv)
{
    if (!atomic_load(&srv->stopping))
        http_server_drain(srv, clock_mono_us() + srv->app->cfg->shutdown_grace * 1000000LL);
    /* before the daemon: it must not stop with a connection suspended (libmicrohttpd aborts);
     * then the writes it refused or that ended after the grace get their answers out (1 s at
     * most: their connections are on libmicrohttpd's threads again) */
    write_pool_free(&srv->pool);
    for (long long until = clock_mono_us() + 1000000LL;
         atomic_load(&srv->offloaded) > 0 && clock_mono_us() < until;)
        usleep(10 * 1000);
    MHD_stop_daemon(srv->daemon);
    if (srv->metrics)
        MHD_stop_daemon(srv->metrics);
    free(srv->app->proxies);
    srv->app->proxies = NULL;
    if (srv->tls_key)
        sodium_memzero(srv->tls_key, strlen(srv->tls_key));
    free(srv->tls_cert);
    free(srv->tls_key);
    free(srv);
}
