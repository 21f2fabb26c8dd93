/* SPDX-License-Identifier: Apache-2.0 */
/* The switchboard binary: `serve` runs the server; `admin` holds offline maintenance commands
 * that open the data directory directly. Start-up order matters and is spelled out in
 * serve_main: settings, data directory, store, master key check, bootstrap key, listener. */
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <signal.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "app.h"
#include "client/cli.h"
#include "core/activity.h"
#include "core/apikeys.h"
#include "core/backoff.h"
#include "core/catalog.h"
#include "core/conn.h"
#include "core/masterkey.h"
#include "datadir.h"
#include "http/authcache.h"
#include "http/server.h"
#include "prober/probes.h"
#include "service/activity.h"
#include "service/audit.h"
#include "settings.h"
#include "store/store.h"
#include "sync/sync.h"
#include "usage.h"
#include "util/clock.h"
#include "util/limits.h"
#include "util/log.h"
#include "util/mem.h"

#define EXIT_USAGE 2

/* On the first start of a store, creates the bootstrap admin key: SWITCHBOARD_ADMIN_KEY when set,
 * otherwise a new random key that is printed once. Either way it is written to admin.key. */
static int bootstrap_admin_key(const struct config *cfg, struct app *app)
{
    const char *given = getenv("SWITCHBOARD_ADMIN_KEY");
    char generated[SB_API_KEY_RANDOM_CHARS + 1], id[APIKEY_ID_CHARS + 1], path[4096];
    uint8_t hash[APIKEY_HASH_BYTES];
    const char *key = given && *given ? given : generated;
    char *done_before = NULL;
    struct sb_err err;
    json_t *rec;
    bool done;

    if (store_meta_get(app->store, STORE_META_BOOTSTRAP, &done_before, &err) != SB_OK) {
        log_error("cannot read the store: %s", err.msg);
        return -1;
    }
    if (done_before) {
        free(done_before);
        return 0;
    }
    if (key == given && apikey_check_supplied(given, &err) != SB_OK) {
        log_error("SWITCHBOARD_ADMIN_KEY is not usable: %s", err.msg);
        return -1;
    }
    if (key == generated)
        apikey_generate(generated);

    datadir_path(cfg, "admin.key", path, sizeof(path));
    /* the file first: a crash after it but before the commit leaves a key that the next first
     * start replaces; the other order could leave an admin key that nobody knows */
    char line[SB_API_KEY_MAX_CHARS + 2];
    int n = snprintf(line, sizeof(line), "%s\n", key);
    if (masterkey_write_private_file(path, line, (size_t)n, &err) != SB_OK) {
        sodium_memzero(line, sizeof(line));
        log_error("%s", err.msg);
        return -1;
    }
    sodium_memzero(line, sizeof(line));

    apikey_new_id(id);
    apikey_hash(app->apikey_hash_key, key, hash);
    rec = xcheck(json_pack(
        "{s:s, s:s, s:s, s:{s:b}, s:[], s:I, s:s}", "id", id, "label", "bootstrap admin key",
        "description", "created at the first start of this store", "globalPermissions", "admin", 1,
        "groups", "createdOn", (json_int_t)clock_epoch_ms(), "createdBy", "switchboard"));
    apikey_set_hint(rec, key);
    if (store_key_bootstrap(app->store, hash, rec, &done, &err) != SB_OK) {
        json_decref(rec);
        log_error("cannot create the admin key: %s", err.msg);
        return -1;
    }
    json_decref(rec);
    if (done && key == generated && isatty(STDOUT_FILENO)) {
        printf("Admin API key (shown once; also saved in %s):\n%s\n", path, key);
        fflush(stdout);
    } else if (done && key == generated) {
        /* under systemd standard output is the journal: the key stays in its file */
        log_info("created the bootstrap admin API key; it is in %s (mode 0600), and not shown "
                 "because standard output is not a terminal",
                 path);
    } else if (done) {
        log_info("admin API key taken from SWITCHBOARD_ADMIN_KEY (also saved in %s)", path);
    }
    sodium_memzero(generated, sizeof(generated));
    return 0;
}

static void load_connection(void *ctx, const char *name, const char *type, int64_t version,
                            const char *usable_by, const char *allowed_groups, const char *text)
{
    /* a definition stored before a field with a default existed is served with it */
    char *upgraded = conn_text_with_new_defaults(text);

    catalog_put_raw(ctx, name, type, version, usable_by, allowed_groups,
                    upgraded ? upgraded : text);
    free(upgraded);
}

/* Loads the connections of APP's store into its catalog; returns 0, or -1 after logging why.
 *
 * On a store that is not shared this runs after the server listens (load_in_background): until
 * it ends, /readyz and the reads the catalog serves answer 503 with Retry-After, and /healthz
 * says the process is up. Measured at 100,000 connections: the load is most of the start-up's
 * CPU (120 ms on an idle machine, several times that in wall time on a loaded one). It runs on
 * the main thread (which then waits for signals): on another thread the entries came from a new
 * malloc arena that grows by mprotect calls, +30 % CPU. A shared store is loaded before
 * listening, as the change feed's reload assumes. */
static int load_connections(struct app *app)
{
    long long start = clock_mono_us();
    struct sb_err err;

    if (store_conn_scan(app->store, load_connection, app->catalog, &err) != SB_OK) {
        log_error("cannot load the connections: %s", err.msg);
        return -1;
    }
    catalog_load_end(app->catalog);
    log_info("connections loaded in %lld ms", (clock_mono_us() - start) / 1000);
    return 0;
}

static bool load_in_background(struct app *app)
{
    return !store_is_shared(app->store);
}

/* Applies the log settings of CFG: level, format, and the file that replaces stderr. */
static int log_setup(const struct config *cfg)
{
    log_threshold = (enum log_level)log_level_parse(cfg->log_level);
    log_json = strcmp(cfg->log_format, "json") == 0;
    if (*cfg->log_file && log_open_file(cfg->log_file) != 0) {
        fprintf(stderr, "switchboard: cannot open the log file %s: %s\n", cfg->log_file,
                strerror(errno));
        return -1;
    }
    return 0;
}

/* On SIGHUP: the log file and audit.log again by their names (logrotate renamed them). */
static void reopen_logs(const struct config *cfg, struct app *app)
{
    char path[4096];
    int fd;

    if (*cfg->log_file && log_open_file(cfg->log_file) != 0)
        log_error("SIGHUP: cannot reopen the log file %s: %s", cfg->log_file, strerror(errno));
    if (app->audit_fd >= 0) {
        datadir_path(cfg, "audit.log", path, sizeof(path));
        fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
        /* dup2 replaces the descriptor in one step: a concurrent record goes to one file */
        if (fd < 0 || dup2(fd, app->audit_fd) < 0)
            log_error("SIGHUP: cannot reopen %s: %s", path, strerror(errno));
        if (fd >= 0)
            close(fd);
    }
    log_info("SIGHUP: log files reopened");
}

static int serve_main(int argc, char **argv)
{
    struct config cfg;
    struct app app = {0};
    struct http_server *srv;
    struct sb_err err;
    sigset_t stop_signals;
    int sig = 0, rc = 1, lock_fd = -1;
    bool load_failed = false;

    /* (a fixed threshold also keeps glibc's mmap threshold at its 128 KiB start: the large
     * buffers, the list answers of 100,000 connections, still go back to the kernel at once) */
    mallopt(M_TRIM_THRESHOLD, SB_MALLOC_TRIM_BYTES);
    if (settings_load(&cfg, argc, argv) != 0) {
        settings_free(&cfg);
        return EXIT_USAGE;
    }
    if (log_setup(&cfg) != 0) {
        settings_free(&cfg);
        return 1;
    }
    app.cfg = &cfg;

    /* block the signals in every thread; the main thread waits for them below */
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGINT);
    sigaddset(&stop_signals, SIGTERM);
    sigaddset(&stop_signals, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &stop_signals, NULL);
    signal(SIGPIPE, SIG_IGN);

    app.audit_fd = -1;
    if (datadir_preflight(&cfg) != 0)
        goto out;
    lock_fd = datadir_lock(&cfg);
    if (lock_fd < 0 || datadir_open(&cfg, &app) != 0)
        goto out;
    if (bootstrap_admin_key(&cfg, &app) != 0)
        goto out;
    app.data_dir_abs = realpath(cfg.data_dir, NULL);
    if (!app.data_dir_abs)
        app.data_dir_abs = xstrdup(cfg.data_dir);
    {
        char path[4096];
        datadir_path(&cfg, "audit.log", path, sizeof(path));
        app.audit_fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
        if (app.audit_fd < 0)
            log_warn("cannot open %s: %s; audit records go to the store only", path,
                     strerror(errno));
    }
    app.audit = audit_start(&app);
    app.catalog = catalog_new();
    app.authcache = authcache_new();
    app.activity = users_activity_new(ACTIVITY_FLUSH_MS);
    app.backoff = backoff_new();
    if (load_in_background(&app))
        catalog_load_begin(app.catalog);
    else if (load_connections(&app) != 0)
        goto out;
    app.sync = sync_start(&app);
    app.probes = probes_start(&app, &err);
    if (!app.probes) {
        log_error("%s", err.msg);
        goto out;
    }
    srv = http_server_start(&app, &err);
    if (!srv) {
        log_error("%s", err.msg);
        goto out;
    }
    /* (a stop signal meanwhile waits for the load's end) */
    if (!catalog_loaded(app.catalog) && load_connections(&app) != 0) {
        load_failed = true;
        log_info("shutting down");
    } else {
        while (sigwait(&stop_signals, &sig) == 0 && sig == SIGHUP)
            reopen_logs(&cfg, &app);
        log_info("received %s: shutting down", sig == SIGINT ? "SIGINT" : "SIGTERM");
    }
    /* order: no new requests; pending tests complete (and resume their requests); then close */
    {
        /* one grace for everything: requests, then the probes they may still wait on */
        long long deadline = clock_mono_us() + cfg.shutdown_grace * 1000000LL;
        http_server_drain(srv, deadline);
        probes_stop(app.probes, deadline ? deadline : 1);
    }
    /* the probes stay readable (a request still running past the grace may ask for a test, the
     * status or the metrics: it gets "shutting down") until the HTTP threads are gone */
    http_server_stop(srv);
    probes_free(app.probes);
    app.probes = NULL;
    activity_flush(&app);
    rc = load_failed ? 1 : 0;
out:
    probes_free(app.probes);
    sync_stop(app.sync);
    audit_stop(app.audit); /* after the requests, before the store: what is queued is written */
    catalog_free(app.catalog);
    authcache_free(app.authcache);
    users_activity_free(app.activity);
    backoff_free(app.backoff);
    store_close(app.store);
    sodium_memzero(app.apikey_hash_key, sizeof(app.apikey_hash_key));
    secrets_clear(&app.secrets);
    if (app.audit_fd >= 0)
        close(app.audit_fd);
    free(app.data_dir_abs);
    free(app.proxies); /* when the server did not start; http_server_stop frees it otherwise */
    if (lock_fd >= 0)
        close(lock_fd);
    settings_free(&cfg);
    if (rc == 0)
        log_info("stopped");
    return rc;
}

/* The audit record of ACTION on OBJECT by an offline admin command, in the store and in
 * audit.log, as the server writes them. A failure is logged: the change is made already. */
static void audit_offline(const struct config *cfg, struct app *app, const char *action,
                          const char *object)
{
    char path[4096];
    struct sb_err err;
    json_t *rec =
        xcheck(json_pack("{s:I, s:s, s:s, s:s, s:s, s:s, s:s}", "ts", (json_int_t)clock_epoch_ms(),
                         "principal", "switchboard-admin", "action", action, "object", object,
                         "outcome", "success", "remoteAddr", "local", "requestId", "-"));
    char *line = xcheck(json_dumps(rec, JSON_COMPACT));
    int fd;

    if (store_audit_append(app->store, rec, &err) != SB_OK)
        log_error("audit: cannot store the record of %s: %s", action, err.msg);
    datadir_path(cfg, "audit.log", path, sizeof(path));
    fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (fd >= 0) {
        size_t len = strlen(line);
        line[len] = '\n'; /* json_dumps's NUL: the line is written by length */
        if (write(fd, line, len + 1) != (ssize_t)(len + 1))
            log_error("audit: cannot append the record of %s to %s", action, path);
        close(fd);
    }
    free(line);
    json_decref(rec);
}

static int admin_create_key_main(int argc, char **argv)
{
    struct config cfg;
    struct app app = {0};
    struct sb_err err;
    char key[SB_API_KEY_RANDOM_CHARS + 1], id[APIKEY_ID_CHARS + 1];
    uint8_t hash[APIKEY_HASH_BYTES];
    json_t *rec;
    int rc = 1, lock_fd = -1;

    if (settings_load(&cfg, argc, argv) != 0) {
        settings_free(&cfg);
        return EXIT_USAGE;
    }
    log_threshold = LOG_WARN;
    if (datadir_preflight(&cfg) != 0)
        goto out;
    /* the lock: a running server caches principals and writes the same store */
    lock_fd = datadir_lock(&cfg);
    if (lock_fd < 0) {
        fputs("hint: with the server running, create an admin key through it: switchboard keys "
              "create --admin\n",
              stderr);
        goto out;
    }
    if (datadir_open(&cfg, &app) != 0)
        goto out;
    apikey_generate(key);
    apikey_new_id(id);
    apikey_hash(app.apikey_hash_key, key, hash);
    rec = xcheck(json_pack("{s:s, s:s, s:s, s:{s:b}, s:[], s:I, s:s}", "id", id, "label",
                           "recovery admin key", "description",
                           "minted offline by 'switchboard admin create-key'", "globalPermissions",
                           "admin", 1, "groups", "createdOn", (json_int_t)clock_epoch_ms(),
                           "createdBy", "switchboard-admin"));
    apikey_set_hint(rec, key);
    if (store_key_insert(app.store, STORE_KEY_GLOBAL, hash, rec, &err) != SB_OK) {
        log_error("cannot create the key: %s", err.msg);
    } else {
        audit_offline(&cfg, &app, "global-api-key.create", id);
        printf("%s\n", key);
        rc = 0;
    }
    json_decref(rec);
    sodium_memzero(key, sizeof(key));
out:
    if (lock_fd >= 0)
        close(lock_fd);
    store_close(app.store);
    secrets_clear(&app.secrets);
    settings_free(&cfg);
    return rc;
}

static int admin_rotate_key_main(int argc, char **argv)
{
    struct config cfg;
    int lock_fd, rc = 1;

    if (settings_load(&cfg, argc, argv) != 0) {
        settings_free(&cfg);
        return EXIT_USAGE;
    }
    log_threshold = (enum log_level)log_level_parse(cfg.log_level);
    if (datadir_preflight(&cfg) != 0) {
        settings_free(&cfg);
        return 1;
    }
    if (!*cfg.store) {
        char db[4096];
        datadir_path(&cfg, "switchboard.db", db, sizeof(db));
        if (access(db, F_OK) != 0) {
            /* a new SQLite store here would be rotated instead of the node's real one */
            log_error("there is no store in '%s' (no switchboard.db): if it is the data directory "
                      "of a node on PostgreSQL, give its store as the node does (--store URL, or "
                      "--config FILE); nothing was changed",
                      cfg.data_dir);
            settings_free(&cfg);
            return 1;
        }
    }
    lock_fd = datadir_lock(&cfg);
    if (lock_fd >= 0) {
        rc = datadir_rotate_key(&cfg) == 0 ? 0 : 1;
        close(lock_fd);
    }
    settings_free(&cfg);
    return rc;
}

static int settings_effective_main(int argc, char **argv)
{
    struct config cfg;
    int rc = EXIT_USAGE;

    if (settings_load(&cfg, argc, argv) == 0) {
        settings_print_effective(&cfg, stdout);
        rc = 0;
    }
    settings_free(&cfg);
    return rc;
}

int main(int argc, char **argv)
{
    umask(077); /* the store, its WAL and every file of the data directory: owner only */
    if (sodium_init() < 0 || curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        fputs("switchboard: cannot initialise libsodium\n", stderr);
        return 1;
    }
    if (argc < 2) {
        usage_print(stderr);
        return EXIT_USAGE;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        usage_print(stdout);
        return 0;
    }
    if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "version") == 0) {
        puts("switchboard " SB_VERSION);
        return 0;
    }
    if (strcmp(argv[1], "serve") == 0)
        return serve_main(argc - 2, argv + 2);
    if (strcmp(argv[1], "admin") == 0 && argc >= 3 && strcmp(argv[2], "create-key") == 0)
        return admin_create_key_main(argc - 3, argv + 3);
    if (strcmp(argv[1], "admin") == 0 && argc >= 3 && strcmp(argv[2], "rotate-key") == 0)
        return admin_rotate_key_main(argc - 3, argv + 3);
    if (strcmp(argv[1], "settings") == 0 && argc == 3 && strcmp(argv[2], "--markdown") == 0) {
        settings_print_markdown(stdout);
        return 0;
    }
    if (strcmp(argv[1], "settings") == 0 && argc >= 3 && strcmp(argv[2], "--effective") == 0)
        return settings_effective_main(argc - 3, argv + 3);
    if (strcmp(argv[1], "manpage") == 0 && argc == 3) {
        if (usage_print_man(stdout, argv[2]) == 0)
            return 0;
        fprintf(stderr,
                "switchboard: no man page '%s'\n"
                "hint: switchboard manpage switchboard.1|switchboard.conf.5\n",
                argv[2]);
        return EXIT_USAGE;
    }
    if (cli_handles(argv[1])) {
        int rc = cli_main(argc - 1, argv + 1);
        curl_global_cleanup();
        return rc;
    }
    fprintf(stderr, "switchboard: unknown command '%s'\nhint: run 'switchboard --help'\n", argv[1]);
    return EXIT_USAGE;
}
