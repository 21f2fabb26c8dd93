/* SPDX-License-Identifier: Apache-2.0 */
/* What handlers see of an HTTP request, and how they answer. A request owns everything it
 * allocates and is freed by the HTTP layer once the answer has been sent. Every handler answers
 * exactly once, with reply_json or reply_error. */
#ifndef SB_REQUEST_H
#define SB_REQUEST_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "app.h"
#include "core/err.h"
#include "core/principal.h"
#include "service/service.h"
#include "util/limits.h"

struct MHD_Connection;
struct route;

struct request {
    struct app *app;
    struct MHD_Connection *conn;
    const char *method;
    const struct route *route;           /* matched route, NULL until routing */
    char *params[SB_ROUTE_MAX_SEGMENTS]; /* decoded path parameters, in pattern order */
    int n_params;
    struct principal principal; /* valid when authenticated */
    bool authenticated;

    char *body; /* request body, NUL-terminated; NULL when none */
    size_t body_len;
    bool body_too_large;
    size_t discarded;

    void (*resume)(struct request *req); /* set while suspended on slow work */
    void *async;                         /* the slow work's state, owned by the request */
    void (*async_free)(void *async);     /* frees it if the request ends before answering */

    char etag[32]; /* when set, the answer carries ETag: "<etag>" */
    /* console sessions (src/http/session.c) */
    bool console_client; /* a browser of the console: 401s carry no WWW-Authenticate */
    bool via_session;    /* authenticated by a session cookie (and its CSRF header) */
    char session_id[65]; /* that session's store id */
    char *set_cookie;    /* a Set-Cookie header for the answer; owned */
    long retry_after;    /* seconds, for a Retry-After header when > 0 */

    struct actor actor; /* who calls the service (req_actor); its write is the open write of
                           an audited route (service/write.h) */
    void *held;         /* that write's answer, held until the write commits */
    bool offloaded;     /* the write runs on a write thread (src/http/server.c), the connection
                           suspended: its answer stays held until the request resumes */
    struct request *pool_next; /* in the write threads' queue */
    bool pool_counted;         /* counted in the server's offloaded requests until it ends */

    bool replied;
    unsigned status;
    long long started_us;
    char request_id[SB_REQUEST_ID_MAX + 1]; /* X-Request-Id: the client's, or generated */
    char client_addr[48]; /* numeric; from X-Forwarded-For behind a trusted proxy */
    bool counted;         /* in the in-flight count of client_addr (src/http/proxy.c) */
};

/* Path parameter I (0-based, in the order of the route pattern); never NULL for a matched
 * route. Owned by the request. */
const char *req_param(const struct request *req, int i);

/* The actor of REQ for the service layer (service/service.h): its principal once authenticated,
 * the route's write, its request id and client address. Owned by the request. */
struct actor *req_actor(struct request *req);

/* Query-string value of NAME, percent-decoded, or NULL when absent. Caller frees. */
char *req_query(const struct request *req, const char *name);

/* Request header NAME (any case), or NULL when absent. Owned by the request. */
const char *req_header(const struct request *req, const char *name);

/* Whether query parameter NAME is "true" (any case: Python clients send True). */
bool req_query_bool(const struct request *req, const char *name);

/* Parses the body as JSON. On failure answers 400 itself and returns false. On success *OUT
 * is a new reference (caller decrefs). */
bool req_json_body_or_reply(struct request *req, json_t **out);

/* Answers STATUS with BODY as JSON. Steals the reference to BODY. */
void reply_json(struct request *req, unsigned status, json_t *body);

/* Answers STATUS with TEXT, JSON already serialised (steals it: malloc'd, freed by the HTTP
 * layer), as reply_json would have sent it. */
void reply_json_text(struct request *req, unsigned status, char *text);

/* Answers STATUS with TEXT (steals it: malloc'd, freed by the HTTP layer) as CONTENT_TYPE. */
void reply_text(struct request *req, unsigned status, const char *content_type, char *text);

/* Answers STATUS with the JSON made of the N parts PART[i] (LEN[i] bytes each), sent from
 * where they are (no copy); RELEASE(CLS) runs once the answer no longer needs them, also when
 * it could not be queued. */
void reply_shared(struct request *req, unsigned status, const char *const *part, const size_t *len,
                  int n, void (*release)(void *cls), void *cls);

/* Answers STATUS with a JSON body of SIZE bytes produced by READ(CLS, pos, buf, max) as the
 * client takes it (no copy of the whole body); FREE_CLS(CLS) runs when the answer is done. */
void reply_stream(struct request *req, unsigned status, uint64_t size,
                  size_t (*read)(void *cls, uint64_t pos, char *buf, size_t max), void *cls,
                  void (*free_cls)(void *cls));

/* Answers with the status of ERR's kind and the DSS error body. */
void reply_error(struct request *req, const struct sb_err *err);

/* Answers 429 TooManyRequests with a Retry-After of RETRY_AFTER_S seconds. */
void reply_too_many_requests(struct request *req, long retry_after_s, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Answers STATUS with LEN bytes of DATA (static: never freed) as CONTENT_TYPE, under the
 * console's Content-Security-Policy. */
void reply_static(struct request *req, unsigned status, const char *content_type,
                  const unsigned char *data, size_t len);

/* Answers a redirect (302) to LOCATION, a path of this server. */
void reply_redirect(struct request *req, const char *location);

/* Resolves the principal of the stored API key of HASH into REQ (cached by the auth
 * generation). SB_ERR_UNAUTHORIZED for an unknown key or a key of a disabled user. */
enum sb_err_kind req_auth_key_hash(struct request *req, const uint8_t hash[32], struct sb_err *err);

/* Resolves user record USER (reached through KEY_ID, or "session") into REQ's principal:
 * SB_ERR_UNAUTHORIZED when disabled; admin through any admin group. */
enum sb_err_kind req_auth_user(struct request *req, const json_t *user, const char *key_id,
                               struct sb_err *err);

/* Answers with KIND and a printf-style detailed message. */
void reply_errorf(struct request *req, enum sb_err_kind kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Suspends REQ while slow work runs elsewhere (the request thread is released). When that work
 * calls req_resume, RESUME runs on a request thread and must answer. */
void req_suspend(struct request *req, void (*resume)(struct request *req));

/* Resumes a suspended request; callable from any thread, once per req_suspend. */
void req_resume(struct request *req);

/* The client's address, numeric, into OUT. */
void req_remote_addr(const struct request *req, char *out, size_t size);

/* True for admins; otherwise answers 403 and returns false. */
bool req_require_admin_or_reply(struct request *req);

#endif
