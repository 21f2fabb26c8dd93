/* SPDX-License-Identifier: Apache-2.0 */
/* Output for people (aligned tables, times) and for scripts (indented JSON), and JSON input
 * files. Widths count UTF-8 characters, not bytes, so that accented names line up. */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "client/cli_out.h"
#include "util/mem.h"

struct cli_table {
    size_t n_cols, n_rows;
    char **cells; /* n_rows + 1 rows of n_cols; row 0 is the header */
};

/* A copy of S (NULL: "") with control characters replaced by '?'. Caller frees. */
static char *clean_copy(const char *s)
{
    char *c = xstrdup(s ? s : "");

    for (char *p = c; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            *p = '?';
    return c;
}

static void add_row(struct cli_table *t, va_list ap)
{
    size_t row = t->n_rows + 1;

    t->cells = xrealloc(t->cells, (row + 1) * t->n_cols * sizeof(*t->cells));
    for (size_t i = 0; i < t->n_cols; i++)
        t->cells[row * t->n_cols + i] = clean_copy(va_arg(ap, const char *));
}

struct cli_table *cli_out_table_new(size_t n_cols, ...)
{
    struct cli_table *t = xcalloc(1, sizeof(*t));
    va_list ap;

    t->n_cols = n_cols;
    t->cells = xmalloc(n_cols * sizeof(*t->cells));
    va_start(ap, n_cols);
    for (size_t i = 0; i < n_cols; i++)
        t->cells[i] = clean_copy(va_arg(ap, const char *));
    va_end(ap);
    return t;
}

void cli_out_table_add(struct cli_table *t, ...)
{
    va_list ap;

    va_start(ap, t);
    /* add_row counts the header as row 0 */
    add_row(t, ap);
    va_end(ap);
    t->n_rows++;
}

void cli_out_table_free(struct cli_table *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < (t->n_rows + 1) * t->n_cols; i++)
        free(t->cells[i]);
    free(t->cells);
    free(t);
}

static size_t display_width(const char *s)
{
    size_t n = 0;

    for (; *s; s++)
        if (((unsigned char)*s & 0xC0) != 0x80)
            n++;
    return n;
}

void cli_out_table_print(const struct cli_table *t, FILE *out)
{
    size_t *widths = xcalloc(t->n_cols, sizeof(*widths));

    for (size_t r = 0; r <= t->n_rows; r++)
        for (size_t c = 0; c < t->n_cols; c++) {
            size_t w = display_width(t->cells[r * t->n_cols + c]);
            if (w > widths[c])
                widths[c] = w;
        }
    for (size_t r = 0; r <= t->n_rows; r++) {
        for (size_t c = 0; c < t->n_cols; c++) {
            const char *cell = t->cells[r * t->n_cols + c];
            fputs(cell, out);
            if (c + 1 < t->n_cols)
                fprintf(out, "%*s", (int)(widths[c] - display_width(cell) + 2), "");
        }
        fputc('\n', out);
    }
    free(widths);
}

void cli_out_json(FILE *out, const json_t *j)
{
    json_dumpf(j, out, JSON_INDENT(2) | JSON_ENCODE_ANY);
    fputc('\n', out);
}

char *cli_out_join(const json_t *array)
{
    size_t len = 0, i;
    json_t *v;
    char *s;

    json_array_foreach ((json_t *)array, i, v)
        if (json_is_string(v))
            len += json_string_length(v) + 2;
    s = xmalloc(len + 1);
    s[0] = '\0';
    len = 0;
    json_array_foreach ((json_t *)array, i, v) {
        if (!json_is_string(v))
            continue;
        len += (size_t)sprintf(s + len, "%s%s", len ? ", " : "", json_string_value(v));
    }
    return s;
}

void cli_out_time(char *buf, size_t size, long long epoch_ms)
{
    time_t secs = (time_t)(epoch_ms / 1000);
    struct tm tm;

    if (epoch_ms <= 0 || !gmtime_r(&secs, &tm)) {
        snprintf(buf, size, "%s", "");
        return;
    }
    strftime(buf, size, "%Y-%m-%d %H:%M:%S", &tm);
}

void cli_out_json_error(char *buf, size_t size, const json_error_t *jerr)
{
    const char *near = strstr(jerr->text, " near ");
    int len = near ? (int)(near - jerr->text) : (int)strlen(jerr->text);

    snprintf(buf, size, "%.*s (line %d, column %d)", len, jerr->text, jerr->line, jerr->column);
}

int cli_out_read_json(struct cli_ctx *ctx, const char *path, json_t **out)
{
    bool is_stdin = strcmp(path, "-") == 0;
    FILE *f = is_stdin ? stdin : fopen(path, "r");
    json_error_t jerr;
    char why[256];

    *out = NULL;
    if (!f)
        return cli_usage_error(ctx, "give a readable file, or - for standard input",
                               "cannot open %s: %s", path, strerror(errno));
    *out = json_loadf(f, 0, &jerr);
    if (!is_stdin)
        fclose(f);
    if (!*out) {
        cli_out_json_error(why, sizeof(why), &jerr);
        return cli_usage_error(ctx, "the file must hold one JSON document",
                               "%s is not valid JSON: %s", is_stdin ? "standard input" : path, why);
    }
    return 0;
}
