/* SPDX-License-Identifier: Apache-2.0 */
/* The server's settings, declared once in a table (src/settings.c) that drives flag parsing,
 * environment variables, --help and the README's settings table. */
#ifndef SB_SETTINGS_H
#define SB_SETTINGS_H

#include <stdbool.h>
#include <stdio.h>

#ifndef SB_DEFAULT_CONFIG
#define SB_DEFAULT_CONFIG "/etc/switchboard/switchboard.conf"
#endif

#define SETTINGS_MAX 64 /* rows of the settings table, at most */

enum setting_source { SOURCE_DEFAULT, SOURCE_FILE, SOURCE_ENV, SOURCE_FLAG };

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
    long long max_personal_keys;    /* per user */
    long long audit_retention_days; /* 0: keep audit records for ever */
    long long shutdown_grace;
    long long probe_timeout;
    long long probe_concurrency;
    long long probe_interval;
    long long probe_backoff_max;
    bool metrics_connection_names; /* per-connection gauges in GET /metrics */
    long long probe_budget;
    char *probe_deny;
    char *probe_allow;
    char *probe_tls;         /* "prefer" or "require" */
    char *probe_known_hosts; /* "" means no SSH host key is trusted */
    bool write_guards;       /* docs/API.md §4.7: the stricter-than-DSS write rules, server-wide */
    char *trusted_proxies;   /* CIDRs whose X-Forwarded-For is believed; "" means none */
    char *metrics_listen;    /* "" means /metrics on the API's listener */
    bool metrics_key;        /* /metrics on the API's listener needs an admin key */
    long long session_idle_timeout; /* seconds */
    long long session_lifetime;     /* seconds */
    char *config_file;              /* --config as given (the default path when none was) */
    char *log_format;               /* "text" or "json" */
    char *log_file;                 /* "" means standard error */

    char *config_read;                  /* the configuration file read, or NULL */
    unsigned char source[SETTINGS_MAX]; /* enum setting_source of each row of the table */
};

/* Fills CFG from defaults, then the configuration file (--config, SWITCHBOARD_CONFIG, else
 * SB_DEFAULT_CONFIG when it exists), then SWITCHBOARD_* environment variables, then ARGV (flags
 * of the form --name VALUE or --name=VALUE). On a bad value, an unknown flag or an unknown key
 * of the file (named with its line) prints a message to stderr and returns -1. Strings in CFG
 * are owned by CFG: free with settings_free (also after a failure). */
int settings_load(struct config *cfg, int argc, char **argv);
void settings_free(struct config *cfg);

/* Prints the flags, their environment variables, defaults and help. */
void settings_print_help(FILE *out);

/* Prints the settings as a markdown table (the README's table is this output). */
void settings_print_markdown(FILE *out);

/* Prints every resolved setting of CFG as a configuration file, each line ending with a
 * comment that says where the value came from; passwords in values are masked. */
void settings_print_effective(const struct config *cfg, FILE *out);

/* Prints the settings as roff .TP paragraphs: as flags (switchboard(1)) or as the keys of the
 * configuration file (switchboard.conf(5)). */
void settings_print_roff(FILE *out, bool as_file_keys);

#endif
