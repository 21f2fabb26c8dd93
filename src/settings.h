/* SPDX-License-Identifier: Apache-2.0 */
/* The server's settings, declared once in a table (src/settings.c) that drives flag parsing,
 * environment variables, --help and the README's settings table. */
#ifndef SB_SETTINGS_H
#define SB_SETTINGS_H

#include <stdbool.h>
#include <stdio.h>

struct config {
    char *listen;   /* ADDR:PORT */
    char *data_dir; /* directory of the store, keys and logs */
    char *store;    /* "" means SQLite at <data-dir>/switchboard.db; or a postgresql:// URL */
    char *secret_key_file; /* "" means <data-dir>/secret.key */
    char *tls_cert;        /* "" means plain HTTP */
    char *tls_key;
    char *log_level;
    long long max_body_size;
    long long threads;
    long long connection_timeout;
    long long max_connections;
    long long max_connections_per_ip;
    long long shutdown_grace;
    long long probe_timeout;
    long long probe_concurrency;
    long long probe_interval;
    char *probe_deny;
    char *probe_allow;
    bool write_guards; /* API.md §4.7: the stricter-than-DSS write rules, server-wide */
};

/* Fills CFG from defaults, then SWITCHBOARD_* environment variables, then ARGV (flags of the
 * form --name VALUE or --name=VALUE). On a bad value or an unknown flag prints a message with a
 * hint to stderr and returns -1. Strings in CFG are owned by CFG: free with settings_free. */
int settings_load(struct config *cfg, int argc, char **argv);
void settings_free(struct config *cfg);

/* Prints the flags, their environment variables, defaults and help. */
void settings_print_help(FILE *out);

/* Prints the settings as a markdown table (the README's table is this output). */
void settings_print_markdown(FILE *out);

#endif
