/* SPDX-License-Identifier: Apache-2.0 */
/* Every limit Switchboard enforces, named once. Settings that an operator may change have their
 * default here and their bounds in src/settings.c. */
#ifndef SB_LIMITS_H
#define SB_LIMITS_H

#define SB_DEFAULT_MAX_BODY 1048576 /* request body, bytes: 1 MiB */
#define SB_MIN_MAX_BODY 1024
#define SB_MAX_MAX_BODY (256 * 1024 * 1024)

/* a chunked body over the limit is read and dropped (libmicrohttpd cannot answer mid-body),
 * up to 16 times the limit plus this; past that the connection is closed without an answer */
#define SB_DISCARD_SLACK (64 * 1024 * 1024)

#define SB_NAME_MAX 128          /* connection name, characters */
#define SB_TEXT_MAX 1024         /* label or description of a key, user, group, connection */
#define SB_ECHO_MAX 64           /* longest piece of client input quoted back in a message */
#define SB_ERR_MSG_MAX 4096      /* detailedMessage, bytes */
#define SB_ROUTE_MAX_SEGMENTS 12 /* path segments after the API prefix */
#define SB_URL_MAX (16 * 1024)   /* request path, bytes; longer ones get a JSON 400 */
/* per-connection buffer for the request line and headers: large enough that a 100 KB URL
 * reaches the router and gets a JSON answer. Not larger: libmicrohttpd zeroes the whole pool
 * between requests, and at 512 KiB that memset was half of the CPU time of a keep-alive GET
 * (measured with perf; docs/PERFORMANCE.md) */
#define SB_CONN_MEMORY (128 * 1024)

/* the longest Authorization header a keep-alive connection remembers (src/http/server.c) */
#define SB_AUTH_HEADER_REMEMBERED 384

#define SB_API_KEY_RANDOM_CHARS 40 /* base62 characters: about 238 random bits */
#define SB_API_KEY_MIN_CHARS 16    /* a key given through SWITCHBOARD_ADMIN_KEY */
#define SB_API_KEY_MAX_CHARS 256
#define SB_KEY_ID_BYTES 8 /* id of an API key: 16 hex characters */

#define SB_STORE_BUSY_TIMEOUT_MS 5000

#define SB_DEFAULT_MAX_PERSONAL_KEYS 100    /* personal API keys of one user */
#define SB_DEFAULT_AUDIT_RETENTION_DAYS 365 /* audit records older than this are deleted */

#define SB_REQUEST_ID_MAX 128 /* X-Request-Id taken from a request, characters */

/* console sessions (src/core/session.c) and sign-in backoff (src/core/backoff.c) */
#define SB_SESSION_TOKEN_BYTES 32   /* random bytes of a session cookie and of a CSRF token */
#define SB_SESSION_TOUCH_MS 60000   /* lastSeen is written back at most this often */
#define SB_BACKOFF_LOGIN_FAILURES 5 /* failed sign-ins of one login before it must wait */
#define SB_BACKOFF_ADDR_FAILURES 20 /* ... of one address (several people may share one) */
#define SB_BACKOFF_BASE_MS 5000     /* the first wait; it doubles with each further failure */
#define SB_BACKOFF_MAX_MS (15 * 60 * 1000)
#define SB_BACKOFF_FORGET_MS (60 * 60 * 1000) /* failures older than this are forgotten */
#define SB_BACKOFF_SLOTS 4096                 /* logins and addresses tracked at once */
#define SB_SIGNIN_VERIFY_MIN 2                /* password verifications at once (64 MiB each): */
#define SB_SIGNIN_VERIFY_MAX 4 /* one per core within these; more sign-ins get a 429 */

/* Free memory at the top of a malloc heap that the server keeps instead of handing it back to
 * the kernel (glibc's M_TRIM_THRESHOLD, 128 KiB by default). At the default, SQLite's page
 * buffers freed after each write were given back (heap_trim, madvise) and faulted in again by
 * the next one: 17 page faults per create. */
#define SB_MALLOC_TRIM_BYTES (1024 * 1024)

/* Live test results kept per connection (GET /admin/connection-status/{name}/history). */
#define SB_PROBE_HISTORY 20

#endif
