/* SPDX-License-Identifier: Apache-2.0 */
/* UTF-8 validation. */
#ifndef SB_UTF8_H
#define SB_UTF8_H

#include <stdbool.h>

/* Whether the NUL-terminated TEXT is valid UTF-8: shortest forms, no surrogates, at most
 * U+10FFFF. */
bool utf8_valid(const char *text);

#endif
