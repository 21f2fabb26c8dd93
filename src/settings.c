/* SPDX-License-Identifier: Apache-2.0 */
/* The settings table and the code it drives. Each row names a flag, its environment variable,
 * its type, default and bounds, and one line of help; nothing else in the program knows how a
 * setting is spelled. The same table drives --help, the README's settings table, the man pages
 * and the configuration file (its keys are the flags' names).
 *
 * Precedence: flag over environment over configuration file over default. The file is the one
 * of --config, else of SWITCHBOARD_CONFIG (empty: none), else SB_DEFAULT_CONFIG when it exists;
 * it is parsed with inih: "name = value" lines, '#' or ';' comments, no sections. */
#include <errno.h>
#include <ini.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

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
    {"config", "SWITCHBOARD_CONFIG", SB_DEFAULT_CONFIG, STR(config_file), "FILE",
     "configuration file of 'name = value' lines (switchboard.conf(5)); the default one is read "
     "only when it exists"},
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
     "request threads; 0 means 8 per CPU core (a write whose request thread serves other "
     "connections too waits for the disk on a write thread of its own: as many as request "
     "threads, 8 per core at least); a read-mostly server serves keep-alive reads 10-15 % "
     "faster with 2 per core, at the cost of concurrent writes (docs/PERFORMANCE.md)"},
    {"connection-timeout", "SWITCHBOARD_CONNECTION_TIMEOUT", "60",
     INT(connection_timeout, 1, 86400), "SECONDS",
     "idle or slow client connections are closed after this long"},
    {"max-connections", "SWITCHBOARD_MAX_CONNECTIONS", "1024", INT(max_connections, 1, 65536), "N",
     "most client connections open at once"},
    {"max-connections-per-ip", "SWITCHBOARD_MAX_CONNECTIONS_PER_IP", "256",
     INT(max_connections_per_ip, 1, 65536), "N", "most client connections from one IP address"},
    {"max-personal-keys", "SWITCHBOARD_MAX_PERSONAL_KEYS", NUM(SB_DEFAULT_MAX_PERSONAL_KEYS),
     INT(max_personal_keys, 1, 100000), "N", "most personal API keys one user may have"},
    {"audit-retention-days", "SWITCHBOARD_AUDIT_RETENTION_DAYS",
     NUM(SB_DEFAULT_AUDIT_RETENTION_DAYS), INT(audit_retention_days, 0, 36500), "DAYS",
     "audit records older than this are deleted (at start and hourly); 0 keeps them for ever"},
    {"shutdown-grace", "SWITCHBOARD_SHUTDOWN_GRACE", "10", INT(shutdown_grace, 0, 3600), "SECONDS",
     "on SIGTERM/SIGINT, how long in-flight requests may take to finish"},
    {"probe-timeout", "SWITCHBOARD_PROBE_TIMEOUT", "10", INT(probe_timeout, 1, 600), "SECONDS",
     "longest a live connection test may take"},
    {"probe-concurrency", "SWITCHBOARD_PROBE_CONCURRENCY", "4", INT(probe_concurrency, 1, 64), "N",
     "most live connection tests running at once"},
    {"probe-interval", "SWITCHBOARD_PROBE_INTERVAL", "0", INT(probe_interval, 0, 86400), "SECONDS",
     "re-test every testable connection this often; 0 turns the background prober off"},
    {"probe-backoff-max", "SWITCHBOARD_PROBE_BACKOFF_MAX", "3600",
     INT(probe_backoff_max, 1, 7 * 86400), "SECONDS",
     "background tests of a failing connection back off (the interval doubled per failure in a "
     "row) up to this"},
    {"probe-budget", "SWITCHBOARD_PROBE_BUDGET", "20", INT(probe_budget, 1, 100000), "N",
     "most background tests started per second"},
    {"metrics-connection-names", "SWITCHBOARD_METRICS_CONNECTION_NAMES", "off",
     BOOL(metrics_connection_names), "on/off",
     "GET /metrics also gives each connection's up/down gauge, labelled with its name (names "
     "can be sensitive: off by default)"},
    {"probe-deny", "SWITCHBOARD_PROBE_DENY",
     "169.254.0.0/16,fe80::/10,fd00:ec2::254/128,100.100.100.200/32", STR(probe_deny), "CIDRS",
     "address ranges live tests must never connect to (comma-separated)"},
    {"probe-allow", "SWITCHBOARD_PROBE_ALLOW", "", STR(probe_allow), "CIDRS",
     "when set, the only address ranges live tests may connect to"},
    {"probe-tls", "SWITCHBOARD_PROBE_TLS", "prefer", STR(probe_tls), "MODE",
     "prefer: TLS when the server offers it, as DSS's drivers do; require: no live test runs "
     "without TLS (PostgreSQL sslmode require, MySQL TLS enforced, https and FTPS only)"},
    {"probe-known-hosts", "SWITCHBOARD_PROBE_KNOWN_HOSTS", "", STR(probe_known_hosts), "FILE",
     "OpenSSH known_hosts file of the SSH host keys SFTP tests accept; empty: every SFTP test "
     "fails, naming the server's key fingerprint"},
    {"session-idle-timeout", "SWITCHBOARD_SESSION_IDLE_TIMEOUT", "1800",
     INT(session_idle_timeout, 1, 7 * 86400), "SECONDS",
     "a console session unused for this long ends"},
    {"session-lifetime", "SWITCHBOARD_SESSION_LIFETIME", "43200",
     INT(session_lifetime, 1, 30 * 86400), "SECONDS",
     "a console session ends this long after its sign-in, however busy"},
    {"log-level", "SWITCHBOARD_LOG_LEVEL", "info", STR(log_level), "LEVEL",
     "error, warn, info or debug"},
    {"write-guards", "SWITCHBOARD_WRITE_GUARDS", "off", BOOL(write_guards), "on/off",
     "stricter than DSS: 409 on a stale creationTag.versionNumber or on deleting a connection "
     "datasets use (without force=true), 400 on a missing required parameter"},
    {"trusted-proxies", "SWITCHBOARD_TRUSTED_PROXIES", "", STR(trusted_proxies), "CIDRS",
     "reverse proxies whose X-Forwarded-For names the client (audit, per-address limit)"},
    {"metrics-listen", "SWITCHBOARD_METRICS_LISTEN", "", STR(metrics_listen), "ADDR:PORT",
     "serve GET /metrics on this address only (no key needed there) instead of the API's"},
    {"metrics-key", "SWITCHBOARD_METRICS_KEY", "off", BOOL(metrics_key), "on/off",
     "GET /metrics on the API's address needs an admin API key"},
    {"log-format", "SWITCHBOARD_LOG_FORMAT", "text", STR(log_format), "FORMAT",
     "text, or json for one JSON object per line"},
    {"log-file", "SWITCHBOARD_LOG_FILE", "", STR(log_file), "FILE",
     "append the log to FILE (reopened on SIGHUP); empty means standard error"},
};

#define N_SETTINGS (sizeof(settings) / sizeof(settings[0]))
_Static_assert(N_SETTINGS <= SETTINGS_MAX, "struct config records a source for every setting");

/* Sets S in CFG to VALUE, read from SOURCE. On a bad value writes why to MSG and returns -1. */
static int setting_assign(struct config *cfg, const struct setting *s, const char *value,
                          enum setting_source source, char *msg, size_t msg_size)
{
    char *field = (char *)cfg + s->offset;

    cfg->source[s - settings] = (unsigned char)source;
    if (s->type == SETTING_STRING) {
        char **slot = (char **)(void *)field;
        if (*value == '\0' && source != SOURCE_DEFAULT && *s->def != '\0' &&
            strcmp(s->name, "config") != 0) {
            snprintf(msg, msg_size, "--%s must not be empty", s->name);
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
        snprintf(msg, msg_size, "--%s expects on or off (true/false, yes/no, 1/0), not '%.*s'",
                 s->name, 64, value);
        return -1;
    }

    char *end;
    errno = 0;
    long long v = strtoll(value, &end, 10);
    if (errno || end == value || *end != '\0' || v < s->min || v > s->max) {
        snprintf(msg, msg_size, "--%s expects a whole number from %lld to %lld, not '%.*s'",
                 s->name, s->min, s->max, 64, value);
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

/* ---- the configuration file ---- */

struct file_ctx {
    struct config *cfg;
    char msg[512];       /* why the first bad line is bad */
    bool gives_password; /* a setting holds a password (the store's URL) */
};

/* Whether VALUE, a URL or a connection string, holds a password. */
static bool has_password(const char *value)
{
    const char *scheme = strstr(value, "://");
    const char *at = scheme ? strchr(scheme + 3, '@') : NULL;
    const char *colon = scheme ? strchr(scheme + 3, ':') : NULL;

    return (at && colon && colon < at) || strstr(value, "password=") != NULL;
}

/* Overwrites in place the password V holds (a store URL's, between "user:" and "@", or a
 * "password=" value) with '*': a process's command line is readable by every local user
 * (ps, /proc/PID/cmdline), and --store is often given there. */
static void mask_password(char *v)
{
    char *scheme = strstr(v, "://");

    if (scheme) {
        char *host = scheme + 3;
        size_t authority = strcspn(host, "/?#");
        char *at = NULL, *colon;

        for (char *c = host; c < host + authority; c++)
            if (*c == '@')
                at = c;
        colon = at ? memchr(host, ':', (size_t)(at - host)) : NULL;
        if (colon)
            memset(colon + 1, '*', (size_t)(at - colon - 1));
    }
    for (char *p = strstr(v, "password="); p; p = strstr(p, "password=")) {
        size_t n;

        p += strlen("password=");
        n = strcspn(p, "& ");
        memset(p, '*', n);
        p += n;
    }
}

/* Whether VALUE names a store Switchboard can open: empty (SQLite in the data directory) or a
 * PostgreSQL URL. */
static bool store_url_valid(const char *value)
{
    return *value == '\0' || strncmp(value, "postgresql://", 13) == 0 ||
           strncmp(value, "postgres://", 11) == 0;
}

static int on_file_line(void *user, const char *section, const char *name, const char *value)
{
    struct file_ctx *ctx = user;
    const struct setting *s;

    if (ctx->msg[0])
        return 0; /* only the first error is reported */
    if (*section) {
        snprintf(ctx->msg, sizeof(ctx->msg),
                 "sections are not used: write 'name = value' lines only, not [%.*s]", 64, section);
        return 0;
    }
    s = setting_find(name, strlen(name));
    if (!s) {
        snprintf(ctx->msg, sizeof(ctx->msg),
                 "unknown setting '%.*s' (the names are those of the flags, without '--')", 64,
                 name);
        return 0;
    }
    if (strcmp(s->name, "config") == 0) {
        snprintf(ctx->msg, sizeof(ctx->msg), "'config' cannot be set in a configuration file");
        return 0;
    }
    if (strcmp(s->name, "store") == 0 && has_password(value))
        ctx->gives_password = true;
    return setting_assign(ctx->cfg, s, value, SOURCE_FILE, ctx->msg, sizeof(ctx->msg)) == 0;
}

static int settings_read_file(struct config *cfg, const char *path)
{
    struct file_ctx ctx = {.cfg = cfg};
    int line = ini_parse(path, on_file_line, &ctx);

    if (line < 0) {
        fprintf(stderr, "switchboard: cannot read the configuration file %s: %s\n", path,
                line == -1 ? strerror(errno) : "out of memory");
        return -1;
    }
    if (line > 0) {
        fprintf(stderr, "switchboard: %s:%d: %s\n", path, line,
                ctx.msg[0] ? ctx.msg : "expected 'name = value'");
        return -1;
    }
    /* a password in a file every local user may read is no secret (the package's file was
     * 0644): refused like a readable secret.key */
    struct stat st;
    if (ctx.gives_password && stat(path, &st) == 0 && (st.st_mode & 007)) {
        fprintf(stderr,
                "switchboard: the configuration file %s gives the store's password and is "
                "readable by every user (mode %04o): run 'chmod o-rwx %s' (and give it the "
                "group of the server's user, mode 0640), or pass the URL in SWITCHBOARD_STORE\n",
                path, (unsigned)(st.st_mode & 07777), path);
        return -1;
    }
    free(cfg->config_read);
    cfg->config_read = xstrdup(path);
    return 0;
}

/* The configuration file named on the command line, else by SWITCHBOARD_CONFIG (empty: none),
 * else the default when it exists; NULL for none. Points into ARGV or the environment. */
static const char *config_path(int argc, char **argv, bool *must_exist)
{
    const char *env = getenv("SWITCHBOARD_CONFIG");

    *must_exist = true;
    for (int i = argc - 1; i >= 0; i--) {
        if (strncmp(argv[i], "--config=", 9) == 0)
            return argv[i] + 9;
        if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
            return argv[i + 1];
    }
    if (env)
        return *env ? env : NULL;
    *must_exist = false;
    return access(SB_DEFAULT_CONFIG, F_OK) == 0 ? SB_DEFAULT_CONFIG : NULL;
}

/* ---- loading ---- */

int settings_load(struct config *cfg, int argc, char **argv)
{
    char msg[512];
    bool must_exist;
    const char *path;

    memset(cfg, 0, sizeof(*cfg));
    for (size_t i = 0; i < N_SETTINGS; i++)
        if (setting_assign(cfg, &settings[i], settings[i].def, SOURCE_DEFAULT, msg, sizeof(msg)) !=
            0)
            return -1;

    path = config_path(argc, argv, &must_exist);
    if (path && *path && (must_exist || access(path, F_OK) == 0) &&
        settings_read_file(cfg, path) != 0)
        return -1;

    for (size_t i = 0; i < N_SETTINGS; i++) {
        const struct setting *s = &settings[i];
        const char *env = getenv(s->env);
        if (env && *env && setting_assign(cfg, s, env, SOURCE_ENV, msg, sizeof(msg)) != 0) {
            fprintf(stderr, "switchboard: %s: %s\n", s->env, msg);
            return -1;
        }
    }

    for (int i = 0; i < argc; i++) {
        const char *arg = argv[i];
        if (strncmp(arg, "--", 2) != 0) {
            fprintf(stderr,
                    "switchboard: unexpected argument '%s'\n"
                    "hint: run 'switchboard --help' for the list of settings\n",
                    arg);
            return -1;
        }
        const char *name = arg + 2;
        const char *eq = strchr(name, '=');
        size_t len = eq ? (size_t)(eq - name) : strlen(name);
        const struct setting *s = setting_find(name, len);
        if (!s) {
            fprintf(stderr,
                    "switchboard: unknown option '--%.*s'\n"
                    "hint: run 'switchboard --help' for the list of settings\n",
                    (int)len, name);
            return -1;
        }
        char *value = eq ? argv[i] + (eq - arg) + 1 : NULL;
        if (!value && s->type == SETTING_BOOL)
            value = "on";
        if (!value) {
            if (i + 1 >= argc) {
                fprintf(stderr, "switchboard: --%s needs a value (%s)\n", s->name, s->metavar);
                return -1;
            }
            value = argv[++i];
        }
        if (setting_assign(cfg, s, value, SOURCE_FLAG, msg, sizeof(msg)) != 0) {
            fprintf(stderr, "switchboard: command line: %s\n", msg);
            return -1;
        }
        if (strcmp(s->name, "store") == 0)
            mask_password(value);
    }

    /* anything else was opened as the path of an SQLite file (a mistyped scheme, a libpq
     * "host=... password=..." string): a new empty store, named after the password */
    if (!store_url_valid(cfg->store)) {
        fprintf(stderr, "switchboard: the store (--store, SWITCHBOARD_STORE or 'store' in the "
                        "configuration file) must be a postgresql:// URL "
                        "(postgresql://user:password@host/db), or empty for SQLite in the data "
                        "directory\n");
        return -1;
    }

    if ((*cfg->tls_cert == '\0') != (*cfg->tls_key == '\0')) {
        fprintf(stderr,
                "switchboard: --tls-cert and --tls-key go together; give both or neither\n");
        return -1;
    }
    if (log_level_parse(cfg->log_level) < 0) {
        fprintf(stderr, "switchboard: --log-level must be error, warn, info or debug, not '%s'\n",
                cfg->log_level);
        return -1;
    }
    if (strcmp(cfg->log_format, "text") != 0 && strcmp(cfg->log_format, "json") != 0) {
        fprintf(stderr, "switchboard: --log-format must be text or json, not '%.*s'\n", 64,
                cfg->log_format);
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
    free(cfg->config_read);
    cfg->config_read = NULL;
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

/* Writes VALUE to OUT with the password of a URL's user information and the value of any
 * password=... parameter replaced by "********". */
static void mask_secret(const char *value, char *out, size_t size)
{
    const char *scheme = strstr(value, "://");
    size_t n = 0;

    out[0] = '\0';
    for (const char *p = value; *p && n + 9 < size;) {
        const char *at = scheme ? strchr(scheme + 3, '@') : NULL;
        const char *colon = scheme ? strchr(scheme + 3, ':') : NULL;
        if (scheme && p == scheme + 3 && at && colon && colon < at) {
            n += (size_t)snprintf(out + n, size - n, "%.*s:********", (int)(colon - p), p);
            p = at;
            scheme = NULL;
            continue;
        }
        if (strncmp(p, "password=", 9) == 0) {
            n += (size_t)snprintf(out + n, size - n, "password=********");
            p += 9;
            while (*p && *p != '&' && *p != ' ')
                p++;
            continue;
        }
        out[n++] = *p++;
        out[n] = '\0';
    }
}

void settings_print_effective(const struct config *cfg, FILE *out)
{
    static const char *const source_names[] = {"default", "file", "environment", "command line"};

    fprintf(out, "# the settings switchboard serve would run with, and where each comes from\n");
    fprintf(out, "# configuration file: %s\n", cfg->config_read ? cfg->config_read : "none");
    for (size_t i = 0; i < N_SETTINGS; i++) {
        const struct setting *s = &settings[i];
        const char *field = (const char *)cfg + s->offset;
        char value[1024], from[256];

        if (s->type == SETTING_INT)
            snprintf(value, sizeof(value), "%lld", *(const long long *)(const void *)field);
        else if (s->type == SETTING_BOOL)
            snprintf(value, sizeof(value), "%s", *(const bool *)(const void *)field ? "on" : "off");
        else /* any string may be a URL with a password in it */
            mask_secret(*(char *const *)(const void *)field, value, sizeof(value));
        switch ((enum setting_source)cfg->source[i]) {
        case SOURCE_FILE: snprintf(from, sizeof(from), "file %s", cfg->config_read); break;
        case SOURCE_ENV: snprintf(from, sizeof(from), "environment %s", s->env); break;
        case SOURCE_FLAG: snprintf(from, sizeof(from), "command line --%s", s->name); break;
        default: snprintf(from, sizeof(from), "%s", source_names[0]);
        }
        /* the output is a valid configuration file, where 'config' cannot be set */
        fprintf(out, "%s%-24s = %-32s # %s\n", strcmp(s->name, "config") == 0 ? "# " : "", s->name,
                value, from);
    }
}

/* Writes TEXT escaped for roff: backslashes, and a leading '.' or '\''. */
static void roff_text(FILE *out, const char *text)
{
    if (*text == '.' || *text == '\'')
        fputs("\\&", out);
    for (const char *p = text; *p; p++) {
        if (*p == '\\')
            fputs("\\e", out);
        else if (*p == '-')
            fputs("\\-", out);
        else
            fputc(*p, out);
    }
}

void settings_print_roff(FILE *out, bool as_file_keys)
{
    for (size_t i = 0; i < N_SETTINGS; i++) {
        const struct setting *s = &settings[i];
        if (as_file_keys && strcmp(s->name, "config") == 0)
            continue;
        fputs(".TP\n", out);
        if (as_file_keys) {
            fputs("\\fB", out);
            roff_text(out, s->name);
            fputs("\\fR = \\fI", out);
            roff_text(out, s->metavar);
            fputs("\\fR\n", out);
        } else {
            fputs("\\fB\\-\\-", out);
            roff_text(out, s->name);
            fputs(s->type == SETTING_BOOL ? "\\fR[=\\fI" : "\\fR \\fI", out);
            roff_text(out, s->metavar);
            fputs(s->type == SETTING_BOOL ? "\\fR]\n" : "\\fR\n", out);
        }
        roff_text(out, s->help);
        fputs(".\n", out);
        fputs("Environment: \\fB", out);
        roff_text(out, s->env);
        fputs("\\fR; default: ", out);
        if (*s->def) {
            fputs("\\fB", out);
            roff_text(out, s->def);
            fputs("\\fR", out);
        } else {
            fputs("none", out);
        }
        fputs(".\n", out);
    }
}
