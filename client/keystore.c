/* Handset keystore: store life cycle (create, open, close), the passphrase-derived key,
 * sealed records and atomic file writes. Record encodings are in keystore_records.c; the
 * format is described in docs/protocol.md ("Handset keystore").
 *
 * Key hierarchy: passphrase --scrypt(salt, N, r, p)--> KEK (32 octets) which seals, with
 * AES-256-GCM, a random 32-octet store key kept in store.meta; the store key seals every
 * record. A wrong passphrase is the KEK failing to open the store key (MCSEC_ERR_PASSPHRASE);
 * an unkeyed SHA-256 over store.meta tells accidental damage of that file (MCSEC_ERR_VERIFY)
 * apart from a wrong passphrase. Changing the passphrase or the cost rewrites store.meta only. */
#define _GNU_SOURCE /* mkostemp */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/sha.h>

#include "internal.h"
#include "mcsec/seal.h"
#include "mcsec/secmem.h"

/* --- Errors ---------------------------------------------------------------------------- */

static _Thread_local char ks_err[512];

void mcsec_ks_error(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ks_err, sizeof ks_err, fmt, ap);
    va_end(ap);
}

void mcsec_ks_clear_error(void) {
    ks_err[0] = 0;
}

const char *mcsec_keystore_last_error(void) {
    return ks_err;
}

/* --- Small helpers --------------------------------------------------------------------- */

static void be32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static uint32_t rd32(const uint8_t *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int cost_ok(unsigned log2_n, uint32_t r, uint32_t p) {
    return log2_n >= 10 && log2_n <= 22 && r >= 1 && r <= 32 && p >= 1 && p <= 16 &&
           (uint64_t)128 * r * ((uint64_t)1 << log2_n) <= ((uint64_t)1 << 30);
}

/* mkdir 0700; an existing directory is tightened to 0700. */
static mcsec_status_t make_private_dir(const char *path) {
    if (mkdir(path, 0700) == 0) return MCSEC_OK;
    struct stat st;
    if (errno != EEXIST || stat(path, &st) != 0 || !S_ISDIR(st.st_mode) || st.st_uid != geteuid() ||
        chmod(path, 0700) != 0) {
        mcsec_ks_error(
            "cannot create private directory %s: %s (check the path and its owner)", path,
            errno == EEXIST ? "exists and is not a directory owned by you" : strerror(errno));
        return MCSEC_ERR_IO;
    }
    return MCSEC_OK;
}

/* --- AES-256-GCM and scrypt ------------------------------------------------------------ */

/* enc = 1: out = E(in), tag written; enc = 0: out = D(in) if tag verifies, else
 * MCSEC_ERR_VERIFY and out wiped. AAD = aad1 || aad2 (a record header and its file name). */
static mcsec_status_t gcm(int enc, const uint8_t *key, const uint8_t *nonce, const uint8_t *aad1,
                          size_t aad1_len, const char *aad2, const uint8_t *in, size_t len,
                          uint8_t *out, uint8_t *tag) {
    uint8_t aad[64 + 512]; /* a record header or the first 32 octets of store.meta, a name */
    size_t n2 = strlen(aad2);
    if (aad1_len > 64 || n2 > sizeof aad - aad1_len) {
        mcsec_ks_error("keystore: record name too long: %s", aad2);
        return MCSEC_ERR_BAD_INPUT;
    }
    memcpy(aad, aad1, aad1_len);
    memcpy(aad + aad1_len, aad2, n2);
    return enc ? mcsec_seal(key, nonce, aad, aad1_len + n2, in, len, out, tag)
               : mcsec_seal_open(key, nonce, aad, aad1_len + n2, in, len, tag, out);
}

static mcsec_status_t derive_kek(const char *passphrase, size_t len, const uint8_t *salt,
                                 unsigned log2_n, uint32_t r, uint32_t p, uint8_t *kek) {
    mcsec_status_t rc = mcsec_seal_scrypt(passphrase, len, salt, MCSEC_KS_SALT_LEN, log2_n, r, p,
                                          kek, MCSEC_KS_KEY_LEN);
    if (rc == MCSEC_ERR_NOMEM)
        mcsec_ks_error("scrypt failed (N = 2^%u, r = %u, p = %u): out of memory?", log2_n,
                       (unsigned)r, (unsigned)p);
    else if (rc != MCSEC_OK)
        mcsec_ks_error("scrypt refused the cost N = 2^%u, r = %u, p = %u", log2_n, (unsigned)r,
                       (unsigned)p);
    return rc;
}

/* --- Create, open, close --------------------------------------------------------------- */

static mcsec_status_t check_args(const char *dir, const char *passphrase, size_t len) {
    if (dir == NULL || dir[0] == 0 || passphrase == NULL) {
        mcsec_ks_error("keystore: no directory or passphrase given");
        return MCSEC_ERR_BAD_INPUT;
    }
    if (len < MCSEC_PASSPHRASE_MIN || len > MCSEC_PASSPHRASE_MAX) {
        mcsec_ks_error("keystore passphrase must be %d to %d octets long", MCSEC_PASSPHRASE_MIN,
                       MCSEC_PASSPHRASE_MAX);
        return MCSEC_ERR_BAD_LENGTH;
    }
    return MCSEC_OK;
}

mcsec_status_t mcsec_keystore_create_with_cost(const char *dir, const char *passphrase,
                                               size_t passphrase_len, unsigned log2_n, uint32_t r,
                                               uint32_t p) {
    mcsec_ks_clear_error();
    mcsec_status_t rc = check_args(dir, passphrase, passphrase_len);
    uint8_t *keys = NULL; /* kek || store key */
    uint8_t meta[MCSEC_KS_META_LEN];
    char *sub = NULL;
    struct stat st;
    memset(meta, 0, sizeof meta);
    if (rc != MCSEC_OK) return rc;
    if (!cost_ok(log2_n, r, p)) {
        mcsec_ks_error("keystore: unsupported scrypt cost N = 2^%u, r = %u, p = %u", log2_n,
                       (unsigned)r, (unsigned)p);
        return MCSEC_ERR_UNSUPPORTED;
    }

    int created = mkdir(dir, 0700) == 0;
    if (!created && errno != EEXIST) {
        mcsec_ks_error("cannot create keystore directory %s: %s (its parent must exist)", dir,
                       strerror(errno));
        return MCSEC_ERR_IO;
    }
    rc = MCSEC_ERR_IO;
    if (!created && (rc = make_private_dir(dir)) != MCSEC_OK) return rc;
    rc = MCSEC_ERR_NOMEM;
    if ((sub = mcsec_path_join(dir, MCSEC_KS_META_NAME)) == NULL) goto out;
    if (lstat(sub, &st) == 0) {
        mcsec_ks_error("%s already holds a keystore: open it, or choose another directory", dir);
        rc = MCSEC_ERR_IO;
        goto out;
    }
    free(sub);
    if ((sub = mcsec_path_join(dir, MCSEC_KS_KEYS_DIR)) == NULL) goto out;
    if ((rc = make_private_dir(sub)) != MCSEC_OK) goto out;
    free(sub);
    rc = MCSEC_ERR_NOMEM;
    if ((sub = mcsec_path_join(dir, MCSEC_KS_GMK_DIR)) == NULL) goto out;
    if ((rc = make_private_dir(sub)) != MCSEC_OK) goto out;

    rc = MCSEC_ERR_NOMEM;
    if ((keys = mcsec_secure_alloc(2 * MCSEC_KS_KEY_LEN)) == NULL) goto out;
    memcpy(meta, MCSEC_KS_META_MAGIC, 4);
    meta[4] = MCSEC_KS_FORMAT_VERSION;
    meta[5] = MCSEC_KS_KDF_SCRYPT;
    meta[6] = (uint8_t)log2_n;
    meta[7] = 0;
    be32(meta + 8, r);
    be32(meta + 12, p);
    if ((rc = mcsec_random_bytes(meta + MCSEC_KS_META_SALT_OFF, MCSEC_KS_SALT_LEN)) != MCSEC_OK ||
        (rc = mcsec_random_bytes(meta + MCSEC_KS_META_NONCE_OFF, MCSEC_KS_NONCE_LEN)) != MCSEC_OK ||
        (rc = mcsec_random_bytes(keys + MCSEC_KS_KEY_LEN, MCSEC_KS_KEY_LEN)) != MCSEC_OK) {
        mcsec_ks_error("the random generator failed: cannot create a keystore");
        goto out;
    }
    if ((rc = derive_kek(passphrase, passphrase_len, meta + MCSEC_KS_META_SALT_OFF, log2_n, r, p,
                         keys)) != MCSEC_OK)
        goto out;
    if ((rc = gcm(1, keys, meta + MCSEC_KS_META_NONCE_OFF, meta, MCSEC_KS_META_NONCE_OFF,
                  MCSEC_KS_META_NAME, keys + MCSEC_KS_KEY_LEN, MCSEC_KS_KEY_LEN,
                  meta + MCSEC_KS_META_SEALED_OFF, meta + MCSEC_KS_META_TAG_OFF)) != MCSEC_OK)
        goto out;
    SHA256(meta, MCSEC_KS_META_SUM_OFF, meta + MCSEC_KS_META_SUM_OFF);
    rc = mcsec_file_write_atomic(dir, MCSEC_KS_META_NAME, meta, sizeof meta, 1);
    if (rc == MCSEC_OK && created) {
        /* Make the new directory entry itself durable; best effort, since the parent may
         * not be ours to open. */
        char *parent = strdup(dir), *slash = parent != NULL ? strrchr(parent, '/') : NULL;
        if (parent != NULL) {
            if (slash == NULL)
                strcpy(parent, ".");
            else
                slash[slash == parent] = 0;
            (void)mcsec_fsync_dir(parent);
            mcsec_ks_clear_error();
        }
        free(parent);
    }
out:
    mcsec_secure_free(keys);
    mcsec_memzero(meta, sizeof meta);
    free(sub);
    return rc;
}

mcsec_status_t mcsec_keystore_create(const char *dir, const char *passphrase,
                                     size_t passphrase_len) {
    return mcsec_keystore_create_with_cost(dir, passphrase, passphrase_len,
                                           MCSEC_KEYSTORE_SCRYPT_LOG2N, MCSEC_KEYSTORE_SCRYPT_R,
                                           MCSEC_KEYSTORE_SCRYPT_P);
}

/* Checks store.meta's framing and returns MCSEC_OK if it is worth deriving a key for. */
static mcsec_status_t parse_meta(const char *path, const uint8_t *meta, size_t len) {
    uint8_t sum[SHA256_DIGEST_LENGTH];
    if (len >= 4 && memcmp(meta, MCSEC_KS_META_MAGIC, 4) != 0) {
        mcsec_ks_error("%s is not an mcsec keystore file (bad magic): check the directory", path);
        return MCSEC_ERR_VERIFY;
    }
    if (len < MCSEC_KS_META_LEN) {
        mcsec_ks_error("%s is truncated (%zu of %d octets): restore it from a backup", path, len,
                       MCSEC_KS_META_LEN);
        return MCSEC_ERR_TRUNCATED;
    }
    if (len > MCSEC_KS_META_LEN) {
        mcsec_ks_error("%s has %zu octets after its end: restore it from a backup", path,
                       len - MCSEC_KS_META_LEN);
        return MCSEC_ERR_TRAILING_DATA;
    }
    SHA256(meta, MCSEC_KS_META_SUM_OFF, sum);
    if (!mcsec_ct_equal(sum, meta + MCSEC_KS_META_SUM_OFF, sizeof sum)) {
        mcsec_ks_error("%s is damaged (checksum mismatch): restore it from a backup", path);
        return MCSEC_ERR_VERIFY;
    }
    if (meta[4] != MCSEC_KS_FORMAT_VERSION || meta[5] != MCSEC_KS_KDF_SCRYPT || meta[7] != 0) {
        mcsec_ks_error("%s has format version %u, KDF %u: written by a newer mcsec? upgrade", path,
                       meta[4], meta[5]);
        return MCSEC_ERR_UNSUPPORTED;
    }
    if (!cost_ok(meta[6], rd32(meta + 8), rd32(meta + 12))) {
        mcsec_ks_error("%s asks for an unsupported scrypt cost (N = 2^%u, r = %u, p = %u)", path,
                       meta[6], (unsigned)rd32(meta + 8), (unsigned)rd32(meta + 12));
        return MCSEC_ERR_UNSUPPORTED;
    }
    return MCSEC_OK;
}

mcsec_status_t mcsec_keystore_open(mcsec_keystore_t **out, const char *dir, const char *passphrase,
                                   size_t passphrase_len) {
    mcsec_ks_clear_error();
    mcsec_status_t rc;
    mcsec_keystore_t *ks = NULL;
    uint8_t *kek = NULL;
    uint8_t meta[MCSEC_KS_META_LEN + 1];
    size_t len = 0;
    char *path = NULL;
    struct stat st;
    if (out == NULL) {
        mcsec_ks_error("keystore: no handle to open into");
        return MCSEC_ERR_BAD_INPUT;
    }
    *out = NULL;
    if ((rc = check_args(dir, passphrase, passphrase_len)) != MCSEC_OK) return rc;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        mcsec_ks_error("no keystore at %s: %s (check the path, or create a keystore there)", dir,
                       stat(dir, &st) != 0 ? strerror(errno) : "not a directory");
        return MCSEC_ERR_IO;
    }
    if (st.st_uid != geteuid() || (st.st_mode & 077) != 0) {
        mcsec_ks_error("keystore %s is %s: run chmod 700 on it as its owner", dir,
                       st.st_uid != geteuid() ? "owned by another user" : "open to other users");
        return MCSEC_ERR_IO;
    }
    rc = MCSEC_ERR_NOMEM;
    if ((path = mcsec_path_join(dir, MCSEC_KS_META_NAME)) == NULL) goto out;
    rc = mcsec_file_read(path, meta, sizeof meta, &len);
    if (rc == MCSEC_ERR_UNKNOWN_KEY) {
        mcsec_ks_error("%s holds no keystore (no %s): check the path, or create one", dir,
                       MCSEC_KS_META_NAME);
        rc = MCSEC_ERR_IO;
    }
    if (rc == MCSEC_ERR_BAD_LENGTH) {
        mcsec_ks_error("%s has trailing data: restore it from a backup", path);
        rc = MCSEC_ERR_TRAILING_DATA;
    }
    if (rc != MCSEC_OK || (rc = parse_meta(path, meta, len)) != MCSEC_OK) goto out;

    rc = MCSEC_ERR_NOMEM;
    if ((ks = calloc(1, sizeof *ks)) == NULL || (ks->dir = strdup(dir)) == NULL ||
        (ks->key = mcsec_secure_alloc(MCSEC_KS_KEY_LEN)) == NULL ||
        (kek = mcsec_secure_alloc(MCSEC_KS_KEY_LEN)) == NULL)
        goto out;
    if ((rc = derive_kek(passphrase, passphrase_len, meta + MCSEC_KS_META_SALT_OFF, meta[6],
                         rd32(meta + 8), rd32(meta + 12), kek)) != MCSEC_OK)
        goto out;
    rc = gcm(0, kek, meta + MCSEC_KS_META_NONCE_OFF, meta, MCSEC_KS_META_NONCE_OFF,
             MCSEC_KS_META_NAME, meta + MCSEC_KS_META_SEALED_OFF, MCSEC_KS_KEY_LEN, ks->key,
             meta + MCSEC_KS_META_TAG_OFF);
    if (rc == MCSEC_ERR_VERIFY) {
        mcsec_ks_error("wrong passphrase for keystore %s", dir);
        rc = MCSEC_ERR_PASSPHRASE;
    }
    if (rc != MCSEC_OK) goto out;
    *out = ks;
    ks = NULL;
out:
    mcsec_keystore_close(ks);
    mcsec_secure_free(kek);
    mcsec_memzero(meta, sizeof meta);
    free(path);
    return rc;
}

void mcsec_keystore_close(mcsec_keystore_t *ks) {
    if (ks == NULL) return;
    mcsec_secure_free(ks->key);
    free(ks->dir);
    free(ks);
}

/* --- Records --------------------------------------------------------------------------- */

mcsec_status_t mcsec_ks_write_record(mcsec_keystore_t *ks, const char *name, uint8_t kind,
                                     const uint8_t *pt, size_t pt_len) {
    mcsec_status_t rc;
    uint8_t buf[MCSEC_KS_RECORD_MAX];
    const char *slash = strchr(name, '/');
    if (pt_len > MCSEC_KS_PLAINTEXT_MAX) return MCSEC_ERR_INTERNAL;
    if (slash != NULL) {
        char sub[64];
        snprintf(sub, sizeof sub, "%.*s", (int)(slash - name), name);
        char *p = mcsec_path_join(ks->dir, sub);
        if (p == NULL) return MCSEC_ERR_NOMEM;
        rc = make_private_dir(p);
        free(p);
        if (rc != MCSEC_OK) return rc;
    }
    memcpy(buf, MCSEC_KS_RECORD_MAGIC, 4);
    buf[4] = kind;
    if ((rc = mcsec_random_bytes(buf + 5, MCSEC_KS_NONCE_LEN)) != MCSEC_OK) {
        mcsec_ks_error("the random generator failed: %s not written", name);
        return rc;
    }
    if ((rc = gcm(1, ks->key, buf + 5, buf, MCSEC_KS_RECORD_HEADER, name, pt, pt_len,
                  buf + MCSEC_KS_RECORD_HEADER, buf + MCSEC_KS_RECORD_HEADER + pt_len)) == MCSEC_OK)
        rc = mcsec_file_write_atomic(ks->dir, name, buf, MCSEC_KS_RECORD_MIN + pt_len, 0);
    mcsec_memzero(buf, sizeof buf);
    return rc;
}

mcsec_status_t mcsec_ks_read_record(mcsec_keystore_t *ks, const char *name, uint8_t kind,
                                    uint8_t *pt, size_t *pt_len) {
    uint8_t buf[MCSEC_KS_RECORD_MAX];
    size_t len = 0;
    char *path = mcsec_path_join(ks->dir, name);
    mcsec_status_t rc = MCSEC_ERR_NOMEM;
    if (path == NULL) goto out;
    if ((rc = mcsec_file_read(path, buf, sizeof buf, &len)) != MCSEC_OK) goto out;
    if (len < MCSEC_KS_RECORD_MIN) {
        mcsec_ks_error("keystore record %s is truncated (%zu octets): restore it or re-provision",
                       path, len);
        rc = MCSEC_ERR_TRUNCATED;
        goto out;
    }
    rc = MCSEC_ERR_VERIFY;
    if (memcmp(buf, MCSEC_KS_RECORD_MAGIC, 4) != 0 || buf[4] != kind) {
        mcsec_ks_error("%s is not a keystore record of the expected kind: restore it or "
                       "re-provision",
                       path);
        goto out;
    }
    size_t ct_len = len - MCSEC_KS_RECORD_MIN;
    rc = gcm(0, ks->key, buf + 5, buf, MCSEC_KS_RECORD_HEADER, name, buf + MCSEC_KS_RECORD_HEADER,
             ct_len, pt, buf + MCSEC_KS_RECORD_HEADER + ct_len);
    if (rc == MCSEC_ERR_VERIFY)
        mcsec_ks_error("keystore record %s failed authentication (modified, truncated or "
                       "renamed): restore it or re-provision",
                       path);
    if (rc == MCSEC_OK) *pt_len = ct_len;
out:
    mcsec_memzero(buf, sizeof buf);
    free(path);
    return rc;
}

static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

mcsec_status_t mcsec_ks_list(mcsec_keystore_t *ks, const char *subdir,
                             int (*parse)(const char *name, uint64_t *value), uint64_t **values,
                             size_t *count) {
    mcsec_status_t rc = MCSEC_ERR_NOMEM;
    uint64_t *v = NULL;
    size_t n = 0, cap = 0;
    DIR *d = NULL;
    char *path = mcsec_path_join(ks->dir, subdir);
    *values = NULL;
    *count = 0;
    if (path == NULL) goto out;
    if ((d = opendir(path)) == NULL) {
        if (errno == ENOENT) {
            rc = MCSEC_OK;
        } else {
            mcsec_ks_error("cannot list %s: %s", path, strerror(errno));
            rc = MCSEC_ERR_IO;
        }
        goto out;
    }
    for (;;) {
        errno = 0;
        struct dirent *e = readdir(d);
        if (e == NULL) {
            if (errno != 0) {
                mcsec_ks_error("cannot list %s: %s", path, strerror(errno));
                rc = MCSEC_ERR_IO;
                goto out;
            }
            break;
        }
        uint64_t value;
        if (!parse(e->d_name, &value)) continue;
        if (n == cap) {
            size_t ncap = cap ? 2 * cap : 16;
            uint64_t *nv = realloc(v, ncap * sizeof *v);
            if (nv == NULL) goto out;
            v = nv;
            cap = ncap;
        }
        v[n++] = value;
    }
    if (n > 0) qsort(v, n, sizeof *v, cmp_u64);
    *values = v;
    *count = n;
    v = NULL;
    rc = MCSEC_OK;
out:
    if (d != NULL) closedir(d);
    free(v);
    free(path);
    return rc;
}
