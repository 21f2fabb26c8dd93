/* SPDX-License-Identifier: Apache-2.0 */
/* The master key file and the keys derived from it with libsodium's KDF (BLAKE2b). The file
 * holds the 32 raw bytes and nothing else; it is created once, mode 0600, and written through a
 * temporary file and rename so that a crash never leaves a truncated key behind. */
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/masterkey.h"

#define KDF_CONTEXT "sboard01"

void masterkey_derive(const uint8_t key[MASTERKEY_BYTES], enum masterkey_purpose purpose,
                      uint8_t out[32])
{
    _Static_assert(crypto_kdf_KEYBYTES == MASTERKEY_BYTES, "master key size");
    crypto_kdf_derive_from_key(out, 32, (uint64_t)purpose, KDF_CONTEXT, key);
}

void masterkey_check_value(const uint8_t key[MASTERKEY_BYTES], char out[65])
{
    uint8_t sub[32];

    masterkey_derive(key, MASTERKEY_CHECK, sub);
    sodium_bin2hex(out, 65, sub, sizeof(sub));
    sodium_memzero(sub, sizeof(sub));
}

enum sb_err_kind masterkey_write_private_file(const char *path, const void *data, size_t len,
                                              struct sb_err *err)
{
    char tmp[4096];
    int fd;

    if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
        return sb_err_set(err, SB_ERR_INTERNAL, "The path '%s' is too long.", path);
    unlink(tmp);
    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        return sb_err_set(err, SB_ERR_INTERNAL, "Cannot create '%s': %s.", tmp, strerror(errno));
    if (write(fd, data, len) != (ssize_t)len || fsync(fd) != 0) {
        int e = errno;
        close(fd);
        unlink(tmp);
        return sb_err_set(err, SB_ERR_INTERNAL, "Cannot write '%s': %s.", tmp, strerror(e));
    }
    close(fd);
    if (rename(tmp, path) != 0) {
        int e = errno;
        unlink(tmp);
        return sb_err_set(err, SB_ERR_INTERNAL, "Cannot rename '%s' to '%s': %s.", tmp, path,
                          strerror(e));
    }
    return SB_OK;
}

enum sb_err_kind masterkey_load(const char *path, bool create, uint8_t key[MASTERKEY_BYTES],
                                bool *created, struct sb_err *err)
{
    struct stat st;
    int fd;
    ssize_t n;

    *created = false;
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT && create) {
        randombytes_buf(key, MASTERKEY_BYTES);
        if (masterkey_write_private_file(path, key, MASTERKEY_BYTES, err) != SB_OK)
            return err->kind;
        *created = true;
        return SB_OK;
    }
    if (fd < 0)
        return sb_err_set(err, SB_ERR_INTERNAL, "Cannot open the master key file '%s': %s.", path,
                          strerror(errno));
    if (fstat(fd, &st) != 0 || st.st_size != MASTERKEY_BYTES) {
        close(fd);
        return sb_err_set(err, SB_ERR_INTERNAL,
                          "The master key file '%s' must hold exactly %d bytes.", path,
                          MASTERKEY_BYTES);
    }
    n = read(fd, key, MASTERKEY_BYTES);
    close(fd);
    if (n != MASTERKEY_BYTES)
        return sb_err_set(err, SB_ERR_INTERNAL, "Cannot read the master key file '%s'.", path);
    return SB_OK;
}
