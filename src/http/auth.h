/* SPDX-License-Identifier: Apache-2.0 */
/* Parsing the Authorization header (docs/API.md §2). */
#ifndef SB_AUTH_H
#define SB_AUTH_H

#include "core/err.h"

/* Extracts the API key from HEADER (NULL when the request had none) into *KEY (caller wipes and
 * frees). Any failure is SB_ERR_UNAUTHORIZED with a sentence that never quotes the header. */
enum sb_err_kind auth_parse_header(const char *header, char **key, struct sb_err *err);

#endif
