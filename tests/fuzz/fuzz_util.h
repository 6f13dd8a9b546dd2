/* Shared by the fuzz targets that need files: a private scratch directory made once per process
 * (in $TMPDIR; else in /dev/shm when it exists, so that the fsyncs of the code under test cost
 * little; else in /tmp) and removed at exit, whole-file writes, and the seed writer.
 *
 * Seeds: a target that includes this header writes its own seed corpus when the environment
 * variable MCSEC_FUZZ_WRITE_CORPUS names a directory (created if missing), from real messages
 * and files it makes with the real code, then exits; e.g.
 *   MCSEC_FUZZ_WRITE_CORPUS=tests/fuzz/corpus/roster build-fuzz/bin/fuzz_roster */
#ifndef MCSEC_FUZZ_UTIL_H
#define MCSEC_FUZZ_UTIL_H

#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char fuzz_root[512];

static inline int fuzz_rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
    (void)st, (void)flag, (void)ftw;
    return remove(path) == 0 || errno == ENOENT ? 0 : -1;
}

static inline void fuzz_rm_tree(const char *path) {
    (void)nftw(path, fuzz_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static inline void fuzz_cleanup(void) {
    if (fuzz_root[0] != 0) fuzz_rm_tree(fuzz_root);
}

static inline void fuzz_die(const char *what) {
    fprintf(stderr, "fuzz setup: %s\n", what);
    abort();
}

/* The scratch directory (0700), made on the first call. */
static inline const char *fuzz_tmpdir(void) {
    if (fuzz_root[0] == 0) {
        struct stat st;
        const char *base = getenv("TMPDIR");
        if (base == NULL || base[0] == 0)
            base =
                stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) && access("/dev/shm", W_OK) == 0
                    ? "/dev/shm"
                    : "/tmp";
        snprintf(fuzz_root, sizeof fuzz_root, "%s/mcsec-fuzz.XXXXXX", base);
        if (mkdtemp(fuzz_root) == NULL) fuzz_die("cannot create a scratch directory");
        atexit(fuzz_cleanup);
    }
    return fuzz_root;
}

/* dir/name into out (cap octets). */
static inline void fuzz_path(char *out, size_t cap, const char *dir, const char *name) {
    if ((size_t)snprintf(out, cap, "%s/%s", dir, name) >= cap) fuzz_die("path too long");
}

/* Writes path (0600), replacing it. 0 on success. */
static inline int fuzz_write(const char *path, const uint8_t *data, size_t len) {
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) return -1;
    size_t off = 0;
    while (off < len) {
        ssize_t w = write(fd, data + off, len - off);
        if (w <= 0) {
            close(fd);
            return -1;
        }
        off += (size_t)w;
    }
    return close(fd);
}

/* Reads a whole file of at most cap octets. 0 on success. */
static inline int fuzz_read(const char *path, uint8_t *buf, size_t cap, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (f == NULL) return -1;
    *len = fread(buf, 1, cap, f);
    int bad = ferror(f) || fgetc(f) != EOF;
    fclose(f);
    return bad ? -1 : 0;
}

/* The seed directory if MCSEC_FUZZ_WRITE_CORPUS is set (created), else NULL. */
static inline const char *fuzz_corpus_dir(void) {
    const char *d = getenv("MCSEC_FUZZ_WRITE_CORPUS");
    if (d == NULL || d[0] == 0) return NULL;
    if (mkdir(d, 0755) != 0 && errno != EEXIST) fuzz_die("cannot create the seed directory");
    return d;
}

/* Writes one seed: a selector octet (if sel >= 0) followed by data. */
static inline void fuzz_seed(const char *dir, const char *name, int sel, const uint8_t *data,
                             size_t len) {
    char path[1024];
    uint8_t *buf = malloc(len + 1);
    if (buf == NULL) fuzz_die("out of memory");
    size_t n = 0;
    if (sel >= 0) buf[n++] = (uint8_t)sel;
    if (len > 0) memcpy(buf + n, data, len);
    fuzz_path(path, sizeof path, dir, name);
    if (fuzz_write(path, buf, n + len) != 0 || chmod(path, 0644) != 0)
        fuzz_die("cannot write a seed");
    free(buf);
    printf("seed %s (%zu octets)\n", path, n + len);
}

#endif
