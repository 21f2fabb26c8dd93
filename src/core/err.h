/* SPDX-License-Identifier: Apache-2.0 */
/* The one error value that flows up every layer: an HTTP-neutral kind and a full-sentence
 * message meant for the client. The HTTP layer maps kinds to statuses in one table. */
#ifndef SB_ERR_H
#define SB_ERR_H

#include <stdarg.h>
#include <stdbool.h>

#include "util/limits.h"

enum sb_err_kind {
    SB_OK = 0,
    SB_ERR_BAD_REQUEST,
    SB_ERR_UNAUTHORIZED,
    SB_ERR_FORBIDDEN,
    SB_ERR_NOT_FOUND,
    SB_ERR_METHOD_NOT_ALLOWED,
    SB_ERR_CONFLICT,
    SB_ERR_PRECONDITION_FAILED, /* If-Match names a version that is no longer stored */
    SB_ERR_TOO_LARGE,
    SB_ERR_INTERNAL,
    SB_ERR_UNAVAILABLE,
    SB_ERR_COUNT /* not a kind: how many there are. A new kind goes before it, and the HTTP
                    layer's switch (http/server.c kind_answer) must then name it, or -Wswitch
                    stops the build. */
};

struct sb_err {
    enum sb_err_kind kind;
    char msg[SB_ERR_MSG_MAX];
};

/* Sets kind and a printf-style message; returns kind so that `return sb_err_set(...)` reads. */
enum sb_err_kind sb_err_set(struct sb_err *err, enum sb_err_kind kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* sb_err_set with the message's arguments in AP. */
enum sb_err_kind sb_err_vset(struct sb_err *err, enum sb_err_kind kind, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

static inline void sb_err_clear(struct sb_err *err)
{
    err->kind = SB_OK;
    err->msg[0] = '\0';
}

/* Copies at most SB_ECHO_MAX bytes of client input into OUT (size outsz) for quoting in a
 * message, replacing control and non-ASCII bytes and marking truncation with "...". */
void sb_err_echo(char *out, size_t outsz, const char *input);

#endif
