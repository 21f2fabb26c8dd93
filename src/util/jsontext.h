/* SPDX-License-Identifier: Apache-2.0 */
/* Members of a JSON object read from its text without parsing it into a tree. */
#ifndef SB_JSONTEXT_H
#define SB_JSONTEXT_H

#include <stddef.h>

/* Where the value of member KEY of the top-level object in TEXT starts (*AT, the value's first
 * byte) and how long its JSON text is (*LEN); KEY is matched against the member names' raw
 * bytes (a name written with escapes is not found). Only members are looked at: a KEY that
 * appears inside a value is not taken. Finds up to N keys in one pass, KEYS[i] into AT[i] and
 * LEN[i] (*LEN 0 when absent; a repeated member: its first occurrence). Returns how many were
 * found; stops at the first byte that cannot be JSON (what was found before it stands). */
int jsontext_members(const char *text, const char *const *keys, int n, const char **at,
                     size_t *len);

#endif
