/* SPDX-License-Identifier: Apache-2.0 */
/* The data directory.
 *
 * Key check: the store keeps a check value derived from the master key (meta key_check). A
 * server whose key file is missing or holds another key refuses to start, because serving
 * would make every stored secret unreadable and new ones unreadable by the right key.
 *
 * Rotation is ordered so that a crash at any point leaves a key that opens the store:
 *   1. the new key is written to <key>.new (fsynced);
 *   2. one transaction re-seals every secret and sets key_check to the new key's;
 *   3. <key> is renamed to <key>.<UTC time>.bak and <key>.new to <key>.
 * At start, a check value matching <key>.new rather than <key> means step 3 did not happen:
 * it is completed then. A <key>.new that matches nothing is left over from before step 2 and is
 * removed.
 *
 * API keys are hashed under their own random key, kept sealed in the store (meta
 * apikey_hash_key), so that a rotation of the master key re-seals it instead of invalidating
 * every API key.
 *
 * Binding (core/secrets.c): every sealed value names its place in its additional data. A store
 * written before that holds values sealed for no place; the first start after the upgrade
 * re-seals each for its place, in one transaction that also records meta secrets_binding, so
 * that a crash leaves either all old values or all new ones, and a second run finds nothing to
 * do (values already bound are left byte for byte). This needs the master key, so it runs here
 * rather than as a schema migration in SQL. A rotation binds as it re-seals. */
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/masterkey.h"
#include "core/secrets.h"
#include "datadir.h"
#include "store/store.h"
#include "util/log.h"
#include "util/mem.h"

/* The place of the sealed API-key hash key. */
static const struct secrets_place hash_key_at = {SECRETS_META, STORE_META_APIKEY_HASH_KEY, "value"};

static int bind_stored_secrets(struct store *st, const struct secrets *secrets);

void datadir_path(const struct config *cfg, const char *file, char *out, size_t size)
{
    snprintf(out, size, "%s/%s", cfg->data_dir, file);
}

static void key_path(const struct config *cfg, char *out, size_t size)
{
    if (*cfg->secret_key_file)
        snprintf(out, size, "%s", cfg->secret_key_file);
    else
        datadir_path(cfg, "secret.key", out, size);
}

/* Creates DIR and its parents (mode 0700 for the ones created). */
static int make_dirs(const char *dir)
{
    char path[4096];
    size_t len = strlen(dir);

    if (len == 0 || len >= sizeof(path))
        return -1;
    memcpy(path, dir, len + 1);
    for (char *p = path + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(path, 0700) != 0 && errno != EEXIST)
            return -1;
        *p = '/';
    }
    return mkdir(path, 0700) != 0 && errno != EEXIST ? -1 : 0;
}

/* Whether PATH (a directory when DIR) is private: neither readable nor writable by group or
 * others. Logs the refusal, with the chmod that fixes it, and returns false otherwise. A PATH
 * that does not exist is private (it will be created so). */
static bool is_private(const char *path, bool dir)
{
    struct stat st;

    if (stat(path, &st) != 0)
        return errno == ENOENT;
    if ((st.st_mode & 066) == 0)
        return true;
    log_error("refusing to start: the %s '%s' is %s by group or others (mode %04o), and it holds "
              "the store's secrets; fix it with: chmod %s '%s'",
              dir ? "data directory" : "master key file", path,
              (st.st_mode & 044) && (st.st_mode & 022) ? "readable and writable"
              : (st.st_mode & 044)                     ? "readable"
                                                       : "writable",
              (unsigned)(st.st_mode & 07777), dir ? "700" : "600", path);
    return false;
}

/* ---- preflight: before anything is created ---- */

/* "owner switchboard, mode 0600" of ST into OUT. */
static void describe(const struct stat *st, char *out, size_t size)
{
    struct passwd *pw = getpwuid(st->st_uid);
    if (pw)
        snprintf(out, size, "owner %s, mode %04o", pw->pw_name, (unsigned)(st->st_mode & 07777));
    else
        snprintf(out, size, "owner uid %u, mode %04o", (unsigned)st->st_uid,
                 (unsigned)(st->st_mode & 07777));
}

/* Whether this process (its effective ids) may access PATH with MODE when PATH exists (or,
 * MUST_EXIST, at all); logs what is wrong, naming the file, its owner and its mode. */
static bool may_access(const char *path, int mode, bool must_exist, const char *what)
{
    struct stat st;
    char about[128];

    if (stat(path, &st) != 0) {
        if (errno == ENOENT && !must_exist)
            return true;
        log_error("cannot use the %s '%s': %s", what, path, strerror(errno));
        return false;
    }
    if (faccessat(AT_FDCWD, path, mode, AT_EACCESS) == 0)
        return true;
    describe(&st, about, sizeof(about));
    log_error("cannot %s the %s '%s' (%s) as uid %u: fix its owner or mode before starting",
              mode & W_OK ? "write" : "read", what, path, about, (unsigned)geteuid());
    return false;
}

int datadir_preflight(const struct config *cfg)
{
    static const char *const files[] = {"switchboard.db",     "switchboard.db-wal",
                                        "switchboard.db-shm", "audit.log",
                                        "switchboard.lock",   "admin.key"};
    char path[4096], about[128];
    struct stat st;
    bool ok = true;

    if (stat(cfg->data_dir, &st) == 0 && geteuid() == 0 && st.st_uid != 0) {
        struct passwd *pw = getpwuid(st.st_uid);
        describe(&st, about, sizeof(about));
        log_error("the data directory '%s' (%s) belongs to another user and this runs as root: "
                  "files created now would belong to root and that user could not read them. "
                  "Run it as that user (runuser -u %s -- switchboard ...), or run "
                  "'chown -R %s: %s' after it",
                  cfg->data_dir, about, pw ? pw->pw_name : "USER", pw ? pw->pw_name : "USER",
                  cfg->data_dir);
        return -1;
    }
    ok &= may_access(cfg->data_dir, W_OK | X_OK, false, "data directory");
    for (size_t i = 0; ok && i < sizeof(files) / sizeof(files[0]); i++) {
        datadir_path(cfg, files[i], path, sizeof(path));
        ok &= may_access(path, R_OK | W_OK, false, "store file");
    }
    key_path(cfg, path, sizeof(path));
    ok &= may_access(path, R_OK, false, "master key file");
    if (*cfg->tls_cert) {
        ok &= may_access(cfg->tls_cert, R_OK, true, "TLS certificate");
        ok &= may_access(cfg->tls_key, R_OK, true, "TLS key");
    }
    return ok ? 0 : -1;
}

int datadir_lock(const struct config *cfg)
{
    char path[4096];
    int fd;

    if (make_dirs(cfg->data_dir) != 0) {
        log_error("cannot create the data directory '%s': %s", cfg->data_dir, strerror(errno));
        return -1;
    }
    if (!is_private(cfg->data_dir, true))
        return -1;
    datadir_path(cfg, "switchboard.lock", path, sizeof(path));
    fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
        log_error("cannot open %s: %s", path, strerror(errno));
        return -1;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        log_error("another switchboard process is using the data directory '%s' (stop it first)",
                  cfg->data_dir);
        close(fd);
        return -1;
    }
    return fd;
}

/* Finishes step 3 of a rotation: PATH -> dated backup, PATH.new -> PATH. */
static int install_new_key(const char *path)
{
    char backup[4200], fresh[4200], stamp[32];
    time_t now = time(NULL);
    struct tm tm;

    gmtime_r(&now, &tm);
    strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm);
    snprintf(backup, sizeof(backup), "%s.%s.bak", path, stamp);
    snprintf(fresh, sizeof(fresh), "%s.new", path);
    if (rename(path, backup) != 0 && errno != ENOENT) {
        log_error("cannot keep the old master key as %s: %s", backup, strerror(errno));
        return -1;
    }
    if (rename(fresh, path) != 0) {
        log_error("cannot install the new master key %s: %s", fresh, strerror(errno));
        return -1;
    }
    log_info("master key rotated; the previous key is kept in %s", backup);
    return 0;
}

/* Loads the key matching STORED_CHECK (or creates one when the store has none). */
static int load_checked_key(const struct config *cfg, const char *stored_check,
                            uint8_t master[MASTERKEY_BYTES])
{
    char path[4096], fresh[4200], check[65];
    struct sb_err err;
    bool created;

    key_path(cfg, path, sizeof(path));
    snprintf(fresh, sizeof(fresh), "%s.new", path);
    if (!is_private(path, false))
        return -1;
    if (stored_check && access(fresh, F_OK) == 0) {
        uint8_t candidate[MASTERKEY_BYTES];
        if (masterkey_load(fresh, false, candidate, &created, &err) == SB_OK) {
            masterkey_check_value(candidate, check);
            sodium_memzero(candidate, sizeof(candidate));
            if (strcmp(check, stored_check) == 0) {
                log_warn("finishing an interrupted key rotation");
                if (install_new_key(path) != 0)
                    return -1;
            } else {
                log_warn("removing %s, left over from a key rotation that did not commit", fresh);
                unlink(fresh);
            }
        }
    }
    if (masterkey_load(path, stored_check == NULL, master, &created, &err) != SB_OK) {
        if (stored_check)
            log_error("refusing to start: this store's secrets are encrypted with a master key, "
                      "and %s Restore the original key file (or pass --secret-key-file).",
                      err.msg);
        else
            log_error("%s", err.msg);
        return -1;
    }
    if (created)
        log_info("created a new master key in %s", path);
    masterkey_check_value(master, check);
    if (stored_check && strcmp(stored_check, check) != 0) {
        sodium_memzero(master, MASTERKEY_BYTES);
        log_error("refusing to start: %s is not the master key this store's secrets were "
                  "encrypted with. Restore the original key file (or pass --secret-key-file).",
                  path);
        return -1;
    }
    return 0;
}

/* Opens the store of CFG; *CHECK is its key check value or NULL (caller frees). */
static struct store *open_store(const struct config *cfg, char **check)
{
    char db_path[4096];
    struct sb_err err;
    struct store *st;

    if (*cfg->store)
        snprintf(db_path, sizeof(db_path), "%s", cfg->store);
    else
        datadir_path(cfg, "switchboard.db", db_path, sizeof(db_path));
    st = store_open(db_path, &err);
    if (!st) {
        log_error("cannot open the store: %s", err.msg);
        return NULL;
    }
    if (store_meta_get(st, STORE_META_KEY_CHECK, check, &err) != SB_OK) {
        log_error("cannot read the store: %s", err.msg);
        store_close(st);
        return NULL;
    }
    return st;
}

/* Loads the API-key hash key sealed in the store into OUT, creating it on first use. */
static int load_apikey_hash_key(struct store *st, const struct secrets *secrets,
                                uint8_t out[APIKEY_HASH_KEY_BYTES])
{
    char *sealed = NULL, *hex = NULL, fresh_hex[APIKEY_HASH_KEY_BYTES * 2 + 1];
    uint8_t fresh[APIKEY_HASH_KEY_BYTES];
    struct sb_err err;
    size_t len;
    bool was_set;
    int rc = -1;

    if (store_meta_get(st, STORE_META_APIKEY_HASH_KEY, &sealed, &err) != SB_OK)
        goto store_fail;
    if (!sealed) {
        randombytes_buf(fresh, sizeof(fresh));
        sodium_bin2hex(fresh_hex, sizeof(fresh_hex), fresh, sizeof(fresh));
        sealed = secrets_seal(secrets, &hash_key_at, fresh_hex);
        sodium_memzero(fresh_hex, sizeof(fresh_hex));
        sodium_memzero(fresh, sizeof(fresh));
        if (store_meta_init(st, STORE_META_APIKEY_HASH_KEY, sealed, &was_set, &err) != SB_OK)
            goto store_fail;
        free(sealed);
        sealed = NULL;
        if (store_meta_get(st, STORE_META_APIKEY_HASH_KEY, &sealed, &err) != SB_OK)
            goto store_fail;
    }
    if (secrets_open(secrets, &hash_key_at, sealed, STORE_META_APIKEY_HASH_KEY, &hex, &err) !=
            SB_OK ||
        sodium_hex2bin(out, APIKEY_HASH_KEY_BYTES, hex, strlen(hex), NULL, &len, NULL) != 0 ||
        len != APIKEY_HASH_KEY_BYTES) {
        log_error("the store's API-key hash key cannot be read with this master key");
        goto out;
    }
    rc = 0;
    goto out;
store_fail:
    log_error("cannot read or write the store: %s", err.msg);
out:
    if (hex)
        sodium_memzero(hex, strlen(hex));
    free(hex);
    free(sealed);
    return rc;
}

int datadir_open(const struct config *cfg, struct app *app)
{
    uint8_t master[MASTERKEY_BYTES];
    char *stored_check = NULL, check[65];
    struct sb_err err;
    bool was_set;

    app->store = open_store(cfg, &stored_check);
    if (!app->store)
        return -1;
    if (load_checked_key(cfg, stored_check, master) != 0)
        goto fail;
    masterkey_check_value(master, app->key_check); /* what every sealing write checks */
    if (!stored_check) {
        masterkey_check_value(master, check);
        if (store_meta_init(app->store, STORE_META_KEY_CHECK, check, &was_set, &err) != SB_OK) {
            log_error("cannot write the store: %s", err.msg);
            goto fail;
        }
    }
    secrets_init(&app->secrets, master);
    sodium_memzero(master, sizeof(master));
    if (bind_stored_secrets(app->store, &app->secrets) != 0 ||
        load_apikey_hash_key(app->store, &app->secrets, app->apikey_hash_key) != 0)
        goto fail;
    free(stored_check);
    return 0;
fail:
    sodium_memzero(master, sizeof(master));
    secrets_clear(&app->secrets);
    free(stored_check);
    store_close(app->store);
    app->store = NULL;
    return -1;
}

struct rotation {
    struct secrets from, to;
    int count, history_count;
};

/* Re-seals the secrets of one stored record from R->from to R->to, each bound to its place: a
 * connection's (or a version's) by the connection's name, a user's by the login. */
static enum sb_err_kind reseal_record(void *ctx, int coll, json_t *rec, struct sb_err *err)
{
    struct rotation *r = ctx;
    const char *name = json_string_value(json_object_get(rec, "name"));
    const char *login = json_string_value(json_object_get(rec, "login"));

    if (coll == STORE_RESEAL_HISTORY || coll == 0)
        return secrets_reseal_params(&r->from, &r->to, name ? name : "",
                                     json_object_get(rec, "params"),
                                     coll == 0 ? &r->count : &r->history_count, err);
    return secrets_reseal_user(&r->from, &r->to, login ? login : "", rec, &r->count, err);
}

/* Re-seals, under R->to, the sealed hash key of store ST (from R->from) and adds it to META.
 * A store without one yet is left alone. Returns 0, or -1 after logging why. */
static int reseal_hash_key(struct store *st, struct rotation *r, json_t *meta)
{
    char *sealed = NULL, *resealed = NULL;
    struct sb_err err;
    int rc = -1;

    if (store_meta_get(st, STORE_META_APIKEY_HASH_KEY, &sealed, &err) != SB_OK) {
        log_error("cannot read the store: %s", err.msg);
        return -1;
    }
    if (sealed &&
        secrets_reseal_value(&r->from, &r->to, &hash_key_at, sealed, &resealed, &err) != SB_OK) {
        log_error("the store's API-key hash key cannot be read with this master key");
        goto out;
    }
    if (resealed)
        json_object_set_new(meta, STORE_META_APIKEY_HASH_KEY, xcheck(json_string(resealed)));
    rc = 0;
out:
    free(resealed);
    free(sealed);
    return rc;
}

/* Binds every value of ST sealed before binding to its place (see the top of this file).
 * Returns 0, or -1 after logging why. */
static int bind_stored_secrets(struct store *st, const struct secrets *secrets)
{
    struct rotation r = {.from = *secrets, .to = *secrets};
    char *done = NULL;
    struct sb_err err;
    json_t *meta;
    int rc = -1;

    if (store_meta_get(st, STORE_META_SECRETS_BINDING, &done, &err) != SB_OK) {
        log_error("cannot read the store: %s", err.msg);
        return -1;
    }
    if (done && strcmp(done, SECRETS_BINDING_VERSION) == 0) {
        free(done);
        return 0;
    }
    free(done);
    meta = xcheck(json_pack("{s:s}", STORE_META_SECRETS_BINDING, SECRETS_BINDING_VERSION));
    if (reseal_hash_key(st, &r, meta) != 0)
        goto out;
    if (store_reseal_all(st, reseal_record, &r, meta, &err) != SB_OK) {
        log_error("cannot bind the stored secrets to their places, nothing changed: %s", err.msg);
        goto out;
    }
    if (r.count + r.history_count > 0)
        log_info("bound %d stored secrets (and %d in connection history) to their places", r.count,
                 r.history_count);
    rc = 0;
out:
    json_decref(meta);
    secrets_clear(&r.from);
    secrets_clear(&r.to);
    return rc;
}

int datadir_rotate_key(const struct config *cfg)
{
    uint8_t old_master[MASTERKEY_BYTES], new_master[MASTERKEY_BYTES];
    char path[4096], fresh[4200], new_check[65], *stored_check = NULL;
    struct rotation r = {.count = 0, .history_count = 0};
    struct store *st;
    struct sb_err err;
    json_t *meta = NULL;
    int rc = -1, others = 0;

    st = open_store(cfg, &stored_check);
    if (!st)
        return -1;
    if (!stored_check) {
        log_error("this store has no master key yet: start the server once first");
        goto out;
    }
    /* a node still serving would go on sealing with the old key, and could no longer open
     * what this rotation re-seals: every node must be stopped first */
    if (store_other_nodes(st, &others, &err) != SB_OK) {
        log_error("cannot tell whether other nodes use this store: %s", err.msg);
        goto out;
    }
    if (others > 0) {
        log_error("%d other Switchboard process%s connected to this store: stop every node "
                  "before rotating the master key, then give them the new key file; nothing "
                  "changed",
                  others, others == 1 ? " is" : "es are");
        goto out;
    }
    if (load_checked_key(cfg, stored_check, old_master) != 0)
        goto out;
    key_path(cfg, path, sizeof(path));
    snprintf(fresh, sizeof(fresh), "%s.new", path);

    randombytes_buf(new_master, sizeof(new_master));
    if (masterkey_write_private_file(fresh, new_master, sizeof(new_master), &err) != SB_OK) {
        log_error("%s", err.msg);
        goto out;
    }
    secrets_init(&r.from, old_master);
    secrets_init(&r.to, new_master);
    masterkey_check_value(new_master, new_check);
    meta = xcheck(json_pack("{s:s, s:s}", STORE_META_KEY_CHECK, new_check,
                            STORE_META_SECRETS_BINDING, SECRETS_BINDING_VERSION));
    if (reseal_hash_key(st, &r, meta) != 0 || !json_object_get(meta, STORE_META_APIKEY_HASH_KEY)) {
        log_error("cannot read the store's API-key hash key; nothing changed");
        unlink(fresh);
        goto out;
    }
    if (store_reseal_all(st, reseal_record, &r, meta, &err) != SB_OK) {
        log_error("key rotation failed, nothing changed: %s", err.msg);
        unlink(fresh);
        goto out;
    }
    if (install_new_key(path) != 0)
        goto out; /* the next start finishes the installation */
    printf("re-encrypted %d secrets (and %d in connection history) under a new master key\n",
           r.count, r.history_count);
    rc = 0;
out:
    json_decref(meta);
    sodium_memzero(old_master, sizeof(old_master));
    sodium_memzero(new_master, sizeof(new_master));
    secrets_clear(&r.from);
    secrets_clear(&r.to);
    free(stored_check);
    store_close(st);
    return rc;
}
