/* SPDX-License-Identifier: Apache-2.0 */
/* sb_err helpers. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/err.h"

enum sb_err_kind sb_err_vset(struct sb_err *err, enum sb_err_kind kind, const char *fmt, va_list ap)
{
    err->kind = kind;
    vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
    return kind;
}

enum sb_err_kind sb_err_set(struct sb_err *err, enum sb_err_kind kind, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    sb_err_vset(err, kind, fmt, ap);
    va_end(ap);
    return kind;
}

void sb_err_echo(char *out, size_t outsz, const char *input)
{
    size_t n = 0;
    size_t limit = outsz - 4 < SB_ECHO_MAX ? outsz - 4 : SB_ECHO_MAX;
    const unsigned char *p = (const unsigned char *)input;

    /* ASCII only: the message must stay valid UTF-8 whatever the input was */
    for (; *p && n < limit; p++)
        out[n++] = (*p < 0x20 || *p >= 0x7f) ? '?' : (char)*p;
    if (*p) {
        memcpy(out + n, "...", 3);
        n += 3;
    }
    out[n] = '\0';
}
