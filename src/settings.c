/* SPDX-License-Identifier: Apache-2.0 */
/* The settings table and the code it drives. Each row names a flag, its environment variable,
 * its type, default and bounds, and one line of help; nothing else in the program knows how a
 * setting is spelled. Precedence: flag over environment over default. */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "settings.h"
#include "util/limits.h"
#include "util/log.h"
#include "util/mem.h"

enum setting_type { SETTING_STRING, SETTING_INT, SETTING_BOOL };

struct setting {
    const char *name; /* flag, without the leading "--" */
    const char *env;
    const char *def;
    enum setting_type type;
    long long min, max; /* SETTING_INT only */
    size_t offset;      /* of the field in struct config */
    const char *metavar;
    const char *help;
};

#define STR(field) SETTING_STRING, 0, 0, offsetof(struct config, field)
#define INT(field, lo, hi) SETTING_INT, (lo), (hi), offsetof(struct config, field)
/* a switch: "--name" alone turns it on; "--name=off", or the variable set to off, turns it off */
#define BOOL(field) SETTING_BOOL, 0, 1, offsetof(struct config, field)
#define XSTR(x) #x
#define NUM(x) XSTR(x)

static const struct setting settings[] = {
    {"listen", "SWITCHBOARD_LISTEN", "127.0.0.1:11200", STR(listen), "ADDR:PORT",
     "address and port to listen on (IPv6 as [ADDR]:PORT)"},
    {"data-dir", "SWITCHBOARD_DATA_DIR", "./data", STR(data_dir), "DIR",
     "directory holding switchboard.db, secret.key, admin.key"},
    {"store", "SWITCHBOARD_STORE", "", STR(store), "URL",
     "postgresql://user:password@host/db to share one PostgreSQL store between several nodes; "
     "empty means SQLite in DIR"},
    {"secret-key-file", "SWITCHBOARD_SECRET_KEY_FILE", "", STR(secret_key_file), "FILE",
     "master key file (32 bytes, mode 0600); empty means DIR/secret.key"},
    {"tls-cert", "SWITCHBOARD_TLS_CERT", "", STR(tls_cert), "FILE",
     "PEM certificate (chain) to serve HTTPS; needs --tls-key"},
    {"tls-key", "SWITCHBOARD_TLS_KEY", "", STR(tls_key), "FILE", "PEM private key for --tls-cert"},
    {"max-body-size", "SWITCHBOARD_MAX_BODY_SIZE", NUM(SB_DEFAULT_MAX_BODY),
     INT(max_body_size, SB_MIN_MAX_BODY, SB_MAX_MAX_BODY), "BYTES",
     "largest request body accepted; larger ones get 413"},
    {"threads", "SWITCHBOARD_THREADS", "0", INT(threads, 0, 256), "N",
     "request threads; 0 means 8 per CPU core (writers wait for the disk on them)"},
    {"connection-timeout", "SWITCHBOARD_CONNECTION_TIMEOUT", "60", INT(connection_timeout, 1, 86400),
     "SECONDS", "idle or slow client connections are closed after this long"},
    {"max-connections", "SWITCHBOARD_MAX_CONNECTIONS", "1024", INT(max_connections, 1, 65536), "N",
     "most client connections open at once"},
    {"max-connections-per-ip", "SWITCHBOARD_MAX_CONNECTIONS_PER_IP", "256",
     INT(max_connections_per_ip, 1, 65536), "N", "most client connections from one IP address"},
    {"shutdown-grace", "SWITCHBOARD_SHUTDOWN_GRACE", "10", INT(shutdown_grace, 0, 3600), "SECONDS",
     "on SIGTERM/SIGINT, how long in-flight requests may take to finish"},
    {"probe-timeout", "SWITCHBOARD_PROBE_TIMEOUT", "10", INT(probe_timeout, 1, 600), "SECONDS",
     "longest a live connection test may take"},
    {"probe-concurrency", "SWITCHBOARD_PROBE_CONCURRENCY", "4", INT(probe_concurrency, 1, 64), "N",
     "most live connection tests running at once"},
    {"probe-interval", "SWITCHBOARD_PROBE_INTERVAL", "0", INT(probe_interval, 0, 86400), "SECONDS",
     "re-test every testable connection this often; 0 turns the background prober off"},
    {"probe-deny", "SWITCHBOARD_PROBE_DENY", "169.254.0.0/16,fe80::/10", STR(probe_deny), "CIDRS",
     "address ranges live tests must never connect to (comma-separated)"},
    {"probe-allow", "SWITCHBOARD_PROBE_ALLOW", "", STR(probe_allow), "CIDRS",
     "when set, the only address ranges live tests may connect to"},
    {"log-level", "SWITCHBOARD_LOG_LEVEL", "info", STR(log_level), "LEVEL",
     "error, warn, info or debug"},
    {"write-guards", "SWITCHBOARD_WRITE_GUARDS", "off", BOOL(write_guards), "on/off",
     "stricter than DSS: 409 on a stale creationTag.versionNumber or on deleting a connection "
     "datasets use (without force=true), 400 on a missing required parameter"},
};

#define N_SETTINGS (sizeof(settings) / sizeof(settings[0]))

static int setting_assign(struct config *cfg, const struct setting *s, const char *value,
                          const char *origin)
{
    char *field = (char *)cfg + s->offset;

    if (s->type == SETTING_STRING) {
        char **slot = (char **)(void *)field;
        if (*value == '\0' && strcmp(origin, "default") != 0 && *s->def != '\0') {
            fprintf(stderr, "switchboard: %s: --%s must not be empty\n", origin, s->name);
            return -1;
        }
        free(*slot);
        *slot = xstrdup(value);
        return 0;
    }

    if (s->type == SETTING_BOOL) {
        static const char *const on[] = {"on", "true", "yes", "1", NULL};
        static const char *const off[] = {"off", "false", "no", "0", NULL};
        for (int i = 0; on[i]; i++)
            if (strcasecmp(value, on[i]) == 0)
                return *(bool *)(void *)field = true, 0;
        for (int i = 0; off[i]; i++)
            if (strcasecmp(value, off[i]) == 0)
                return *(bool *)(void *)field = false, 0;
        fprintf(stderr,
                "switchboard: %s: --%s expects on or off (true/false, yes/no, 1/0), "
                "not '%s'\n",
                origin, s->name, value);
        return -1;
    }

    char *end;
    errno = 0;
    long long v = strtoll(value, &end, 10);
    if (errno || end == value || *end != '\0' || v < s->min || v > s->max) {
        fprintf(stderr, "switchboard: %s: --%s expects a whole number from %lld to %lld, not '%s'\n",
                origin, s->name, s->min, s->max, value);
        return -1;
    }
    *(long long *)(void *)field = v;
    return 0;
}

static const struct setting *setting_find(const char *name, size_t len)
{
    for (size_t i = 0; i < N_SETTINGS; i++)
        if (strlen(settings[i].name) == len && strncmp(settings[i].name, name, len) == 0)
            return &settings[i];
    return NULL;
}

int settings_load(struct config *cfg, int argc, char **argv)
{
    memset(cfg, 0, sizeof(*cfg));
    for (size_t i = 0; i < N_SETTINGS; i++) {
        const struct setting *s = &settings[i];
        const char *env = getenv(s->env);
        if (setting_assign(cfg, s, s->def, "default") != 0)
            return -1;
        if (env && *env && setting_assign(cfg, s, env, s->env) != 0)
            return -1;
    }

    for (int i = 0; i < argc; i++) {
        const char *arg = argv[i];
        if (strncmp(arg, "--", 2) != 0) {
            fprintf(stderr, "switchboard: unexpected argument '%s'\n"
                            "hint: run 'switchboard --help' for the list of settings\n", arg);
            return -1;
        }
        const char *name = arg + 2;
        const char *eq = strchr(name, '=');
        size_t len = eq ? (size_t)(eq - name) : strlen(name);
        const struct setting *s = setting_find(name, len);
        if (!s) {
            fprintf(stderr, "switchboard: unknown option '--%.*s'\n"
                            "hint: run 'switchboard --help' for the list of settings\n",
                    (int)len, name);
            return -1;
        }
        const char *value = eq ? eq + 1 : NULL;
        if (!value && s->type == SETTING_BOOL)
            value = "on";
        if (!value) {
            if (i + 1 >= argc) {
                fprintf(stderr, "switchboard: --%s needs a value (%s)\n", s->name, s->metavar);
                return -1;
            }
            value = argv[++i];
        }
        if (setting_assign(cfg, s, value, "command line") != 0)
            return -1;
    }

    if ((*cfg->tls_cert == '\0') != (*cfg->tls_key == '\0')) {
        fprintf(stderr, "switchboard: --tls-cert and --tls-key go together; give both or neither\n");
        return -1;
    }
    if (log_level_parse(cfg->log_level) < 0) {
        fprintf(stderr, "switchboard: --log-level must be error, warn, info or debug, not '%s'\n",
                cfg->log_level);
        return -1;
    }
    return 0;
}

void settings_free(struct config *cfg)
{
    for (size_t i = 0; i < N_SETTINGS; i++)
        if (settings[i].type == SETTING_STRING) {
            char **slot = (char **)(void *)((char *)cfg + settings[i].offset);
            free(*slot);
            *slot = NULL;
        }
}

void settings_print_help(FILE *out)
{
    for (size_t i = 0; i < N_SETTINGS; i++) {
        const struct setting *s = &settings[i];
        char flag[64];
        snprintf(flag, sizeof(flag), s->type == SETTING_BOOL ? "--%s[=%s]" : "--%s %s", s->name,
                 s->metavar);
        fprintf(out, "  %-34s %s\n  %-34s [env %s, default %s]\n", flag, s->help, "", s->env,
                *s->def ? s->def : "none");
    }
}

void settings_print_markdown(FILE *out)
{
    fputs("| flag | environment variable | default | meaning |\n|---|---|---|---|\n", out);
    for (size_t i = 0; i < N_SETTINGS; i++) {
        const struct setting *s = &settings[i];
        fprintf(out,
                s->type == SETTING_BOOL ? "| `--%s[=%s]` | `%s` | %s%s%s | %s |\n"
                                        : "| `--%s %s` | `%s` | %s%s%s | %s |\n",
                s->name, s->metavar, s->env, *s->def ? "`" : "", *s->def ? s->def : "none",
                *s->def ? "`" : "", s->help);
    }
}
