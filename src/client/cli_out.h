/* SPDX-License-Identifier: Apache-2.0 */
/* What the CLI prints and reads: aligned tables for people, pretty JSON for scripts, times,
 * and JSON input files (or standard input). Never a secret in an error message: JSON parse
 * errors report a position, not the text around it. */
#ifndef SB_CLI_OUT_H
#define SB_CLI_OUT_H

#include <jansson.h>
#include <stdio.h>

#include "client/cli.h"

struct cli_table;

/* A table of N_COLS columns titled by the N_COLS strings that follow. Caller frees with
 * cli_out_table_free. */
struct cli_table *cli_out_table_new(size_t n_cols, ...);
void cli_out_table_free(struct cli_table *t);

/* Appends a row: exactly the table's number of `const char *` cells (NULL prints as empty).
 * The cells are copied, with control characters replaced so that server data cannot drive
 * the terminal. */
void cli_out_table_add(struct cli_table *t, ...);

/* Prints the header and the rows, columns padded to their widest cell. */
void cli_out_table_print(const struct cli_table *t, FILE *out);

/* Prints J as indented JSON followed by a newline. */
void cli_out_json(FILE *out, const json_t *j);

/* The strings of ARRAY joined by ", " (other values skipped). Caller frees. */
char *cli_out_join(const json_t *array);

/* Epoch milliseconds as "YYYY-MM-DD HH:MM:SS" UTC into BUF (size at least 24); "" for 0. */
void cli_out_time(char *buf, size_t size, long long epoch_ms);

/* Reads the JSON document in PATH ("-": standard input) into *OUT (new reference). On
 * failure reports a usage error (unreadable file, not JSON: with line and column only) and
 * returns its exit code, else 0. */
int cli_out_read_json(struct cli_ctx *ctx, const char *path, json_t **out);

/* The jansson message of JERR without the text it quotes (which may be a secret), into BUF. */
void cli_out_json_error(char *buf, size_t size, const json_error_t *jerr);

#endif
