/* File helpers of libmcsec_client: whole-file reads and atomic writes (write + fsync +
 * rename + fsync of the directory). Used by the keystore and the mcsec CLI. Failures record
 * a one-line reason in mcsec_keystore_last_error(). */
#define _GNU_SOURCE /* mkostemp */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

char *mcsec_path_join(const char *dir, const char *name) {
    size_t a = strlen(dir), b = strlen(name);
    char *p = malloc(a + b + 2);
    if (p != NULL) {
        memcpy(p, dir, a);
        p[a] = '/';
        memcpy(p + a + 1, name, b + 1);
    }
    return p;
}

mcsec_status_t mcsec_fsync_dir(const char *path) {
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0 || fsync(fd) != 0) {
        mcsec_ks_error("cannot sync directory %s: %s", path, strerror(errno));
        if (fd >= 0) close(fd);
        return MCSEC_ERR_IO;
    }
    close(fd);
    return MCSEC_OK;
}

/* Reads a whole regular file (not following a symlink) of at most cap octets.
 * MCSEC_ERR_UNKNOWN_KEY if it does not exist (no message), MCSEC_ERR_BAD_LENGTH if larger. */
mcsec_status_t mcsec_file_read(const char *path, uint8_t *buf, size_t cap, size_t *len) {
    mcsec_status_t rc = MCSEC_ERR_IO;
    struct stat st;
    size_t n = 0;
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT) return MCSEC_ERR_UNKNOWN_KEY;
        mcsec_ks_error("cannot open %s: %s", path, strerror(errno));
        return MCSEC_ERR_IO;
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        mcsec_ks_error("%s is not a regular file: give a regular file", path);
        goto out;
    }
    for (;;) {
        if (n == cap) {
            uint8_t extra;
            ssize_t r = read(fd, &extra, 1);
            if (r == 0) break;
            mcsec_ks_error("%s is larger than %zu octets: not the expected kind of file, or damaged",
                           path, cap);
            rc = MCSEC_ERR_BAD_LENGTH;
            goto out;
        }
        ssize_t r = read(fd, buf + n, cap - n);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) {
            mcsec_ks_error("cannot read %s: %s", path, strerror(errno));
            goto out;
        }
        if (r == 0) break;
        n += (size_t)r;
    }
    *len = n;
    rc = MCSEC_OK;
out:
    close(fd);
    return rc;
}

/* Writes <dir>/<name> atomically: a 0600 temporary file in the same directory, fsync,
 * rename (or link, if no_replace, so an existing file is never clobbered), fsync of the
 * directory. A crash leaves either the old file or the new one, plus at worst a stray
 * ".*.tmp.*" file that listings ignore. */
mcsec_status_t mcsec_file_write_atomic(const char *dir, const char *name, const uint8_t *data,
                                   size_t len, int no_replace) {
    mcsec_status_t rc = MCSEC_ERR_NOMEM;
    char *path = mcsec_path_join(dir, name), *parent = NULL, *tmp = NULL;
    int fd = -1, tmp_exists = 0;
    if (path == NULL) goto out;
    char *slash = strrchr(path, '/');
    parent = strndup(path, (size_t)(slash - path));
    tmp = malloc(strlen(path) + 16);
    if (parent == NULL || tmp == NULL) goto out;
    sprintf(tmp, "%s/.%s.tmp.XXXXXX", parent, slash + 1);
    rc = MCSEC_ERR_IO;
    fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0) {
        mcsec_ks_error("cannot create a file in %s: %s", parent, strerror(errno));
        goto out;
    }
    tmp_exists = 1;
    if (fchmod(fd, 0600) != 0) goto io_error;
    for (size_t off = 0; off < len;) {
        ssize_t w = write(fd, data + off, len - off);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) goto io_error;
        off += (size_t)w;
    }
    if (fsync(fd) != 0) goto io_error;
    int cr = close(fd);
    fd = -1;
    if (cr != 0) goto io_error;
    if (no_replace) {
        if (link(tmp, path) != 0) {
            mcsec_ks_error("cannot create %s: %s", path,
                           errno == EEXIST ? "it already exists" : strerror(errno));
            goto out;
        }
        (void)unlink(tmp);
    } else if (rename(tmp, path) != 0) {
        goto io_error;
    }
    tmp_exists = 0;
    rc = mcsec_fsync_dir(parent);
    goto out;
io_error:
    mcsec_ks_error("cannot write %s: %s (check free space and permissions)", path, strerror(errno));
out:
    if (fd >= 0) close(fd);
    if (tmp_exists) (void)unlink(tmp);
    free(tmp);
    free(parent);
    free(path);
    return rc;
}
