/* SPDX-License-Identifier: Apache-2.0 */
/* Allocation wrappers that abort on exhaustion. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/mem.h"

static void oom(void)
{
    fputs("switchboard: out of memory\n", stderr);
    abort();
}

void *xcheck(void *p)
{
    if (!p)
        oom();
    return p;
}

void *xmalloc(size_t n)
{
    return xcheck(malloc(n ? n : 1));
}

void *xcalloc(size_t n, size_t size)
{
    return xcheck(calloc(n ? n : 1, size ? size : 1));
}

void *xrealloc(void *p, size_t n)
{
    return xcheck(realloc(p, n ? n : 1));
}

char *xstrdup(const char *s)
{
    return xcheck(strdup(s));
}

char *xstrndup(const char *s, size_t n)
{
    return xcheck(strndup(s, n));
}
