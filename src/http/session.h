/* SPDX-License-Identifier: Apache-2.0 */
/* Console sessions on the wire: the cookie, the CSRF header, and resolving a session to the
 * principal of a request (the rules are in src/core/session.h). A cookie alone authorises
 * nothing: every request that a session authenticates must carry the session's CSRF token in
 * the X-Switchboard-CSRF header, which another origin can neither read nor send. */
#ifndef SB_HTTP_SESSION_H
#define SB_HTTP_SESSION_H

#include <jansson.h>
#include <stdbool.h>

#include "core/err.h"

struct request;

/* Whether REQ carries a session cookie. */
bool http_session_present(const struct request *req);

/* Authenticates REQ by its session cookie: the session must exist, be within its idle timeout
 * and lifetime, and its principal must still be valid (user enabled with the same password, or
 * key not deleted). With NEED_CSRF, the CSRF header must match (else SB_ERR_FORBIDDEN). A dead
 * session is deleted. Sets req->via_session and req->session_id; *REC (when not NULL) gets a
 * new reference to the session record. */
enum sb_err_kind http_session_authenticate(struct request *req, bool need_csrf, json_t **rec,
                                           struct sb_err *err);

/* Sets the answer's cookie to TOKEN (HttpOnly, SameSite=Strict, Path=/, Secure under TLS). */
void http_session_set_cookie(struct request *req, const char *token);

/* Sets the answer's cookie to expire at once. */
void http_session_clear_cookie(struct request *req);

#endif
