/* SPDX-License-Identifier: Apache-2.0 */
/* What the binary says about itself: the top-level --help and the man pages switchboard(1) and
 * switchboard.conf(5), all generated from the same tables (the server commands here, the
 * settings in settings.c, the client commands in client/cli.c). */
#ifndef SB_USAGE_H
#define SB_USAGE_H

#include <stdio.h>

#ifndef SB_VERSION
#define SB_VERSION "0.1.0"
#endif
#define SB_RELEASE_DATE "2026-11-30" /* of SB_VERSION: the man pages' date */

/* The top-level help: server commands, settings, client commands. */
void usage_print(FILE *out);

/* Man page NAME ("switchboard.1" or "switchboard.conf.5") in roff (man macros). Returns -1 for
 * an unknown NAME. */
int usage_print_man(FILE *out, const char *name);

#endif
