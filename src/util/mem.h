/* SPDX-License-Identifier: Apache-2.0 */
/* Allocation that never returns NULL: out of memory aborts with a message (decided once, here,
 * rather than half-handled at every call site). */
#ifndef SB_MEM_H
#define SB_MEM_H

#include <stddef.h>

void *xmalloc(size_t n);                 /* caller frees */
void *xcalloc(size_t n, size_t size);    /* caller frees */
void *xrealloc(void *p, size_t n);       /* caller frees the result */
char *xstrdup(const char *s);            /* caller frees */
char *xstrndup(const char *s, size_t n); /* caller frees */

/* Aborts with "out of memory" when P is NULL; returns P. For library calls that allocate
 * (jansson's json_object(), json_dumps()...). */
void *xcheck(void *p);

#endif
