/* SPDX-License-Identifier: Apache-2.0 */
/* UTF-8 validation, for text bound for a store that accepts nothing else. */
#include "util/utf8.h"

bool utf8_valid(const char *text)
{
    const unsigned char *s = (const unsigned char *)text;

    while (*s) {
        int extra;
        unsigned min, cp;

        if (*s < 0x80) {
            s++;
            continue;
        }
        if ((*s & 0xe0) == 0xc0) {
            extra = 1;
            min = 0x80;
            cp = *s & 0x1f;
        } else if ((*s & 0xf0) == 0xe0) {
            extra = 2;
            min = 0x800;
            cp = *s & 0x0f;
        } else if ((*s & 0xf8) == 0xf0) {
            extra = 3;
            min = 0x10000;
            cp = *s & 0x07;
        } else {
            return false;
        }
        s++;
        for (int i = 0; i < extra; i++, s++) {
            if ((*s & 0xc0) != 0x80)
                return false;
            cp = (cp << 6) | (*s & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return false;
    }
    return true;
}
