/* SPDX-License-Identifier: Apache-2.0 */
/* JSON helpers shared by the unit tests: literals with single quotes, and assertions that print
 * both values. Include after <cmocka.h>. */
#ifndef SB_TEST_JSON_ASSERT_H
#define SB_TEST_JSON_ASSERT_H

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

/* Parses TEXT (single quotes stand for double quotes, to keep the literals readable). */
static inline json_t *js(const char *text)
{
    char buf[4096];
    json_error_t jerr;
    json_t *v;
    size_t i;

    assert_true(strlen(text) < sizeof(buf));
    for (i = 0; text[i]; i++)
        buf[i] = text[i] == '\'' ? '"' : text[i];
    buf[i] = '\0';
    v = json_loads(buf, JSON_DECODE_ANY, &jerr);
    if (!v)
        fail_msg("bad JSON in test: %s (%s)", buf, jerr.text);
    return v;
}

/* Compact, key-sorted text of V; caller frees. */
static inline char *dump(const json_t *v)
{
    char *s = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
    assert_non_null(s);
    return s;
}

/* Fails with both texts unless A and B are equal JSON values. */
static inline void assert_json_eq(const json_t *a, const json_t *b)
{
    if (!json_equal((json_t *)a, (json_t *)b)) {
        char *sa = dump(a), *sb = dump(b);
        print_error("got      %s\nexpected %s\n", sa, sb);
        free(sa);
        free(sb);
        fail();
    }
}

#endif
