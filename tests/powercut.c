/* SPDX-License-Identifier: Apache-2.0 */
/* A power cut, for the durability tests: an LD_PRELOAD shim that keeps, beside each file it
 * watches, a copy holding only what was on that file when it was last synced.
 *
 * Watched: files whose name (the last path component) is one of SB_POWERCUT_FILES, a comma-
 * separated list (the tests name switchboard.db and switchboard.db-wal). When a watched file is
 * first opened, its content then is taken as durable and copied to PATH.synced. Every write
 * (write, pwrite, pwrite64) through any descriptor of it records the byte range it changed;
 * every fsync or fdatasync of any descriptor of it copies those ranges from the file to the
 * copy and gives the copy the file's size (a truncation or an extension is durable only once
 * synced, too). unlink of a watched file drops its copy.
 *
 * The test then "cuts the power": it kills the process with SIGKILL and replaces each watched
 * file by its .synced copy (and removes the -shm file, which lives in memory). What was written
 * and acknowledged without a sync is gone, as it would be on a machine that lost power.
 *
 * SB_POWERCUT_DROP_SYNC=1 makes every sync a no-op for the copies (the real fsync still runs):
 * nothing written after the first open survives the cut. The suite runs that case too, to
 * prove that the durability test fails when syncs are missing.
 *
 * Only what SQLite and the group commit use is interposed; mmap'd writes are not seen (SQLite
 * writes its database and WAL with pwrite unless mmap_size is set, and it is not). */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#define MAX_FILES 16
#define MAX_FDS 4096

struct range {
    off_t off;
    size_t len;
};

struct watched {
    bool used;
    dev_t dev;
    ino_t ino;
    char path[PATH_MAX];
    char copy[PATH_MAX + 8];
    struct range *dirty;
    size_t n, cap;
};

static struct watched files[MAX_FILES];
static int fd_file[MAX_FDS]; /* index + 1 into files; 0: not watched */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t once = PTHREAD_ONCE_INIT;
static bool drop_sync;
static char names[1024];

static int (*real_open)(const char *, int, ...);
static int (*real_open64)(const char *, int, ...);
static int (*real_openat)(int, const char *, int, ...);
static int (*real_openat64)(int, const char *, int, ...);
static int (*real_close)(int);
static ssize_t (*real_write)(int, const void *, size_t);
static ssize_t (*real_pwrite)(int, const void *, size_t, off_t);
static ssize_t (*real_pwrite64)(int, const void *, size_t, off_t);
static int (*real_fsync)(int);
static int (*real_fdatasync)(int);
static int (*real_unlink)(const char *);

static void init(void)
{
    const char *n = getenv("SB_POWERCUT_FILES");
    const char *d = getenv("SB_POWERCUT_DROP_SYNC");

    real_open = dlsym(RTLD_NEXT, "open");
    real_open64 = dlsym(RTLD_NEXT, "open64");
    real_openat = dlsym(RTLD_NEXT, "openat");
    real_openat64 = dlsym(RTLD_NEXT, "openat64");
    real_close = dlsym(RTLD_NEXT, "close");
    real_write = dlsym(RTLD_NEXT, "write");
    real_pwrite = dlsym(RTLD_NEXT, "pwrite");
    real_pwrite64 = dlsym(RTLD_NEXT, "pwrite64");
    real_fsync = dlsym(RTLD_NEXT, "fsync");
    real_fdatasync = dlsym(RTLD_NEXT, "fdatasync");
    real_unlink = dlsym(RTLD_NEXT, "unlink");
    snprintf(names, sizeof(names), ",%s,", n ? n : "");
    drop_sync = d && strcmp(d, "1") == 0;
}

static bool name_watched(const char *path)
{
    const char *base = strrchr(path, '/');
    char key[PATH_MAX + 2];

    base = base ? base + 1 : path;
    snprintf(key, sizeof(key), ",%s,", base);
    return *base && strstr(names, key) != NULL;
}

/* Copies the whole of FD (the file as first opened) to COPY. */
static void copy_whole(int fd, const char *copy)
{
    char buf[65536];
    ssize_t n;
    off_t off = 0;
    int out = real_open(copy, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

    if (out < 0)
        return;
    while ((n = pread(fd, buf, sizeof(buf), off)) > 0) {
        if (real_pwrite(out, buf, (size_t)n, off) != n)
            break;
        off += n;
    }
    real_close(out);
}

/* Starts watching FD, just opened on PATH (caller holds the lock). */
static void watch(int fd, const char *path)
{
    struct stat sb;
    int i, free_slot = -1;

    if (fd < 0 || fd >= MAX_FDS || fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode))
        return;
    for (i = 0; i < MAX_FILES; i++) {
        if (files[i].used && files[i].dev == sb.st_dev && files[i].ino == sb.st_ino)
            break;
        if (!files[i].used && free_slot < 0)
            free_slot = i;
    }
    if (i == MAX_FILES) {
        if (free_slot < 0)
            return;
        i = free_slot;
        memset(&files[i], 0, sizeof(files[i]));
        files[i].used = true;
        files[i].dev = sb.st_dev;
        files[i].ino = sb.st_ino;
        if (path[0] != '/' && realpath(path, files[i].path))
            ; /* made absolute */
        else
            memcpy(files[i].path, path, strnlen(path, sizeof(files[i].path) - 1));
        strcpy(files[i].copy, files[i].path); /* (copy is longer than path) */
        strcat(files[i].copy, ".synced");
        copy_whole(fd, files[i].copy);
    }
    fd_file[fd] = i + 1;
}

static struct watched *watched_fd(int fd)
{
    return fd >= 0 && fd < MAX_FDS && fd_file[fd] ? &files[fd_file[fd] - 1] : NULL;
}

static void note_write(int fd, off_t off, ssize_t n)
{
    struct watched *w;

    if (n <= 0)
        return;
    pthread_mutex_lock(&lock);
    if ((w = watched_fd(fd))) {
        struct range *last = w->n ? &w->dirty[w->n - 1] : NULL;
        if (last && last->off + (off_t)last->len == off) {
            last->len += (size_t)n;
        } else {
            if (w->n == w->cap) {
                w->cap = w->cap ? w->cap * 2 : 64;
                w->dirty = realloc(w->dirty, w->cap * sizeof(*w->dirty));
                if (!w->dirty)
                    abort();
            }
            w->dirty[w->n++] = (struct range){off, (size_t)n};
        }
    }
    pthread_mutex_unlock(&lock);
}

/* FD was synced: what it holds now is durable (unless syncs are dropped). */
static void note_sync(int fd)
{
    struct watched *w;
    struct stat sb;
    char buf[65536];
    int out;

    pthread_mutex_lock(&lock);
    w = watched_fd(fd);
    if (!w || drop_sync || fstat(fd, &sb) != 0) {
        pthread_mutex_unlock(&lock);
        return;
    }
    out = real_open(w->copy, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
    if (out >= 0) {
        for (size_t i = 0; i < w->n; i++) {
            off_t off = w->dirty[i].off, end = off + (off_t)w->dirty[i].len;
            while (off < end && off < sb.st_size) {
                size_t want = (size_t)(end - off) < sizeof(buf) ? (size_t)(end - off) : sizeof(buf);
                ssize_t n = pread(fd, buf, want, off);
                if (n <= 0 || real_pwrite(out, buf, (size_t)n, off) != n)
                    break;
                off += n;
            }
        }
        if (ftruncate(out, sb.st_size) != 0)
            perror("powercut: ftruncate");
        real_close(out);
    }
    w->n = 0;
    pthread_mutex_unlock(&lock);
}

static int after_open(int fd, const char *path)
{
    if (fd >= 0 && fd < MAX_FDS) {
        pthread_mutex_lock(&lock);
        fd_file[fd] = 0;
        if (name_watched(path))
            watch(fd, path);
        pthread_mutex_unlock(&lock);
    }
    return fd;
}

#define MODE_ARG(flags, mode)                                                                      \
    do {                                                                                           \
        if ((flags) & (O_CREAT | O_TMPFILE)) {                                                     \
            va_list ap;                                                                            \
            va_start(ap, flags);                                                                   \
            mode = va_arg(ap, int);                                                                \
            va_end(ap);                                                                            \
        }                                                                                          \
    } while (0)

int open(const char *path, int flags, ...)
{
    int mode = 0;
    pthread_once(&once, init);
    MODE_ARG(flags, mode);
    return after_open(real_open(path, flags, mode), path);
}

int open64(const char *path, int flags, ...)
{
    int mode = 0;
    pthread_once(&once, init);
    MODE_ARG(flags, mode);
    return after_open(real_open64(path, flags, mode), path);
}

int openat(int dirfd, const char *path, int flags, ...)
{
    int mode = 0;
    pthread_once(&once, init);
    MODE_ARG(flags, mode);
    return after_open(real_openat(dirfd, path, flags, mode), path);
}

int openat64(int dirfd, const char *path, int flags, ...)
{
    int mode = 0;
    pthread_once(&once, init);
    MODE_ARG(flags, mode);
    return after_open(real_openat64(dirfd, path, flags, mode), path);
}

int close(int fd)
{
    pthread_once(&once, init);
    if (fd >= 0 && fd < MAX_FDS) {
        pthread_mutex_lock(&lock);
        fd_file[fd] = 0;
        pthread_mutex_unlock(&lock);
    }
    return real_close(fd);
}

ssize_t write(int fd, const void *buf, size_t n)
{
    off_t off;
    ssize_t done;

    pthread_once(&once, init);
    if (!watched_fd(fd))
        return real_write(fd, buf, n);
    off = lseek(fd, 0, SEEK_CUR);
    done = real_write(fd, buf, n);
    note_write(fd, off, done);
    return done;
}

ssize_t pwrite(int fd, const void *buf, size_t n, off_t off)
{
    ssize_t done;
    pthread_once(&once, init);
    done = real_pwrite(fd, buf, n, off);
    note_write(fd, off, done);
    return done;
}

ssize_t pwrite64(int fd, const void *buf, size_t n, off_t off)
{
    ssize_t done;
    pthread_once(&once, init);
    done = real_pwrite64(fd, buf, n, off);
    note_write(fd, off, done);
    return done;
}

int fsync(int fd)
{
    int rc;
    pthread_once(&once, init);
    rc = real_fsync(fd);
    if (rc == 0)
        note_sync(fd);
    return rc;
}

int fdatasync(int fd)
{
    int rc;
    pthread_once(&once, init);
    rc = real_fdatasync(fd);
    if (rc == 0)
        note_sync(fd);
    return rc;
}

int unlink(const char *path)
{
    int rc;
    struct stat sb;
    bool had = false;
    dev_t dev = 0;
    ino_t ino = 0;

    pthread_once(&once, init);
    if (name_watched(path) && stat(path, &sb) == 0) {
        had = true;
        dev = sb.st_dev;
        ino = sb.st_ino;
    }
    rc = real_unlink(path);
    if (rc == 0 && had) {
        pthread_mutex_lock(&lock);
        for (int i = 0; i < MAX_FILES; i++)
            if (files[i].used && files[i].dev == dev && files[i].ino == ino) {
                real_unlink(files[i].copy);
                free(files[i].dirty);
                files[i].used = false;
                for (int f = 0; f < MAX_FDS; f++)
                    if (fd_file[f] == i + 1)
                        fd_file[f] = 0;
            }
        pthread_mutex_unlock(&lock);
    }
    return rc;
}
