/* Restricted discovery key files (include/mcsec/discovery.h): one application sealed with a
 * passphrase. Layout (docs/protocol.md "Restricted discovery"):
 *
 *   header (36, the AES-GCM associated data):
 *     "MCDK" | version 1 | log2_n | r | p | salt (16) | nonce (12)
 *   ciphertext of: slot_s (4, BE) | key (32) | code_len (1) | code | name_len (1) | name
 *   tag (16)
 *
 * The key-encryption key is scrypt(passphrase, salt, 2^log2_n, r, p), 32 octets. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mcsec/discovery.h"
#include "mcsec/keystore.h"
#include "mcsec/seal.h"
#include "mcsec/secmem.h"

#define MAGIC "MCDK"
#define VERSION 1
#define SALT_LEN 16
#define SCRYPT_R 8
#define SCRYPT_P 1
#define PT_MIN (4 + MCSEC_DISC_KEY_LEN + 1 + 1 + 1 + 1) /* 1-octet code and name */
#define PT_MAX (MCSEC_DISC_KEYFILE_MAX - MCSEC_DISC_KEYFILE_HDR_LEN - MCSEC_SEAL_TAG_LEN)

static _Thread_local char disc_err[256];

static void set_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void set_err(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(disc_err, sizeof disc_err, fmt, ap);
    va_end(ap);
}

const char *mcsec_disc_last_error(void) { return disc_err; }

static int pass_ok(const char *p, size_t len) {
    return p != NULL && len >= MCSEC_PASSPHRASE_MIN && len <= MCSEC_PASSPHRASE_MAX;
}

static int cost_ok(unsigned log2_n, unsigned r, unsigned p) {
    return log2_n >= 10 && log2_n <= 22 && r >= 1 && r <= 32 && p >= 1 && p <= 16 &&
           ((uint64_t)128 * r << log2_n) <= ((uint64_t)1 << 30);
}

/* The plaintext of app; its length. */
static size_t encode_app(const mcsec_disc_app_t *app, uint8_t pt[PT_MAX]) {
    size_t name_len = strlen(app->name), n = 0;
    pt[n++] = (uint8_t)(app->slot_s >> 24);
    pt[n++] = (uint8_t)(app->slot_s >> 16);
    pt[n++] = (uint8_t)(app->slot_s >> 8);
    pt[n++] = (uint8_t)app->slot_s;
    memcpy(pt + n, app->key, MCSEC_DISC_KEY_LEN);
    n += MCSEC_DISC_KEY_LEN;
    pt[n++] = (uint8_t)app->prose_code_len;
    memcpy(pt + n, app->prose_code, app->prose_code_len);
    n += app->prose_code_len;
    pt[n++] = (uint8_t)name_len;
    memcpy(pt + n, app->name, name_len);
    return n + name_len;
}

/* The inverse, strict: every length consistent, the name printable, the slot in range. */
static mcsec_status_t decode_app(const uint8_t *pt, size_t len, mcsec_disc_app_t *app) {
    size_t n = 4 + MCSEC_DISC_KEY_LEN;
    if (len < PT_MIN) return MCSEC_ERR_STRUCTURE;
    app->slot_s = (uint32_t)pt[0] << 24 | (uint32_t)pt[1] << 16 | (uint32_t)pt[2] << 8 | pt[3];
    memcpy(app->key, pt + 4, MCSEC_DISC_KEY_LEN);
    size_t code_len = pt[n++];
    if (code_len < 1 || code_len > MCSEC_DISC_PROSE_CODE_MAX || n + code_len + 1 > len)
        return MCSEC_ERR_STRUCTURE;
    memcpy(app->prose_code, pt + n, code_len);
    app->prose_code_len = code_len;
    n += code_len;
    size_t name_len = pt[n++];
    if (name_len < 1 || name_len >= MCSEC_DISC_NAME_MAX || n + name_len != len)
        return MCSEC_ERR_STRUCTURE;
    memcpy(app->name, pt + n, name_len);
    app->name[name_len] = 0;
    for (size_t i = 0; i < name_len; i++)
        if (app->name[i] < 0x20 || app->name[i] > 0x7e) return MCSEC_ERR_STRUCTURE;
    if (app->slot_s < MCSEC_DISC_SLOT_MIN || app->slot_s > MCSEC_DISC_SLOT_MAX)
        return MCSEC_ERR_STRUCTURE;
    return MCSEC_OK;
}

mcsec_status_t mcsec_disc_keyfile_seal(const mcsec_disc_app_t *app, const char *passphrase,
                                       size_t passphrase_len, unsigned log2_n, uint8_t *out,
                                       size_t cap, size_t *out_len) {
    uint8_t kek[MCSEC_SEAL_KEY_LEN], pt[PT_MAX], code[MCSEC_DISC_CODE_LEN];
    size_t pt_len = 0;
    mcsec_status_t rc = MCSEC_ERR_BAD_INPUT;
    if (log2_n == 0) log2_n = MCSEC_DISC_KEYFILE_LOG2N;
    if (out == NULL || out_len == NULL || cap < MCSEC_DISC_KEYFILE_MAX) goto out;
    /* mcsec_disc_code validates app (lengths, name, slot). */
    if ((rc = mcsec_disc_code(app, 0, code)) != MCSEC_OK) goto out;
    rc = MCSEC_ERR_BAD_LENGTH;
    if (!pass_ok(passphrase, passphrase_len)) goto out;
    rc = MCSEC_ERR_UNSUPPORTED;
    if (!cost_ok(log2_n, SCRYPT_R, SCRYPT_P)) goto out;
    memcpy(out, MAGIC, 4);
    out[4] = VERSION;
    out[5] = (uint8_t)log2_n;
    out[6] = SCRYPT_R;
    out[7] = SCRYPT_P;
    if ((rc = mcsec_random_bytes(out + 8, SALT_LEN + MCSEC_SEAL_NONCE_LEN)) != MCSEC_OK) goto out;
    rc = mcsec_seal_scrypt(passphrase, passphrase_len, out + 8, SALT_LEN, log2_n, SCRYPT_R,
                           SCRYPT_P, kek, sizeof kek);
    if (rc != MCSEC_OK) goto out;
    pt_len = encode_app(app, pt);
    rc = mcsec_seal(kek, out + 8 + SALT_LEN, out, MCSEC_DISC_KEYFILE_HDR_LEN, pt, pt_len,
                    out + MCSEC_DISC_KEYFILE_HDR_LEN, out + MCSEC_DISC_KEYFILE_HDR_LEN + pt_len);
    if (rc != MCSEC_OK) goto out;
    *out_len = MCSEC_DISC_KEYFILE_HDR_LEN + pt_len + MCSEC_SEAL_TAG_LEN;
out:
    mcsec_memzero(kek, sizeof kek);
    mcsec_memzero(pt, sizeof pt);
    mcsec_memzero(code, sizeof code);
    return rc;
}

mcsec_status_t mcsec_disc_keyfile_open(const uint8_t *file, size_t len, const char *passphrase,
                                       size_t passphrase_len, mcsec_disc_app_t *out) {
    uint8_t kek[MCSEC_SEAL_KEY_LEN], pt[PT_MAX];
    size_t pt_len = 0;
    mcsec_status_t rc = MCSEC_ERR_BAD_INPUT;
    if (out == NULL) return MCSEC_ERR_BAD_INPUT;
    memset(out, 0, sizeof *out);
    if (file == NULL && len > 0) goto out;
    rc = MCSEC_ERR_BAD_LENGTH;
    if (!pass_ok(passphrase, passphrase_len)) goto out;
    rc = MCSEC_ERR_TRUNCATED;
    if (len < MCSEC_DISC_KEYFILE_HDR_LEN + MCSEC_SEAL_TAG_LEN) goto out;
    rc = MCSEC_ERR_BAD_INPUT;
    if (memcmp(file, MAGIC, 4) != 0) goto out;
    rc = MCSEC_ERR_UNSUPPORTED;
    if (file[4] != VERSION || !cost_ok(file[5], file[6], file[7])) goto out;
    pt_len = len - MCSEC_DISC_KEYFILE_HDR_LEN - MCSEC_SEAL_TAG_LEN;
    rc = MCSEC_ERR_BAD_LENGTH;
    if (pt_len < PT_MIN || pt_len > PT_MAX) goto out;
    rc = mcsec_seal_scrypt(passphrase, passphrase_len, file + 8, SALT_LEN, file[5], file[6],
                           file[7], kek, sizeof kek);
    if (rc != MCSEC_OK) goto out;
    rc = mcsec_seal_open(kek, file + 8 + SALT_LEN, file, MCSEC_DISC_KEYFILE_HDR_LEN,
                         file + MCSEC_DISC_KEYFILE_HDR_LEN, pt_len,
                         file + MCSEC_DISC_KEYFILE_HDR_LEN + pt_len, pt);
    if (rc == MCSEC_ERR_VERIFY) rc = MCSEC_ERR_PASSPHRASE;
    if (rc != MCSEC_OK) goto out;
    rc = decode_app(pt, pt_len, out);
out:
    if (rc != MCSEC_OK) mcsec_memzero(out, sizeof *out);
    mcsec_memzero(kek, sizeof kek);
    mcsec_memzero(pt, sizeof pt);
    return rc;
}

mcsec_status_t mcsec_disc_keyfile_write(const char *path, const mcsec_disc_app_t *app,
                                        const char *passphrase, size_t passphrase_len,
                                        unsigned log2_n) {
    uint8_t buf[MCSEC_DISC_KEYFILE_MAX];
    size_t len = 0;
    disc_err[0] = 0;
    if (path == NULL || path[0] == 0) {
        set_err("no key file name given");
        return MCSEC_ERR_BAD_INPUT;
    }
    mcsec_status_t rc =
        mcsec_disc_keyfile_seal(app, passphrase, passphrase_len, log2_n, buf, sizeof buf, &len);
    if (rc != MCSEC_OK) {
        set_err("cannot seal the discovery key: %s", mcsec_strerror(rc));
        goto out;
    }
    rc = mcsec_seal_write_file(path, buf, len, 0600, 1);
    if (rc != MCSEC_OK)
        set_err(errno == EEXIST ? "%s already exists; give a new file name (keys are never "
                                  "overwritten)"
                                : "cannot write %s; check the directory exists and is writable",
                path);
out:
    mcsec_memzero(buf, sizeof buf);
    return rc;
}

mcsec_status_t mcsec_disc_keyfile_read(const char *path, const char *passphrase,
                                       size_t passphrase_len, mcsec_disc_app_t *out) {
    uint8_t buf[MCSEC_DISC_KEYFILE_MAX + 1];
    struct stat st;
    size_t len = 0;
    mcsec_status_t rc = MCSEC_ERR_IO;
    int fd = -1;
    disc_err[0] = 0;
    if (out != NULL) memset(out, 0, sizeof *out);
    if (path == NULL || out == NULL) {
        set_err("no key file name given");
        return MCSEC_ERR_BAD_INPUT;
    }
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0 || fstat(fd, &st) != 0) {
        set_err("cannot open the discovery key file %s: %s; check the path", path,
                strerror(errno));
        goto out;
    }
    if (!S_ISREG(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 077) != 0) {
        set_err("%s is not a regular file of this user readable only by it; chmod 600 it "
                "(or check the path)",
                path);
        goto out;
    }
    /* One byte more than the largest file, so that a longer one is seen as such. */
    while (len < sizeof buf) {
        ssize_t r = read(fd, buf + len, sizeof buf - len);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) {
            set_err("cannot read %s: %s", path, strerror(errno));
            goto out;
        }
        if (r == 0) break;
        len += (size_t)r;
    }
    rc = mcsec_disc_keyfile_open(buf, len, passphrase, passphrase_len, out);
    if (rc == MCSEC_ERR_PASSPHRASE)
        set_err("wrong passphrase for %s, or the file was modified; check --passphrase-file or "
                "MCSEC_PASSPHRASE",
                path);
    else if (rc != MCSEC_OK)
        set_err("%s is not a discovery key file (%s); give a file made by `mcsec discovery "
                "keygen`",
                path, mcsec_strerror(rc));
out:
    if (fd >= 0) close(fd);
    mcsec_memzero(buf, sizeof buf);
    return rc;
}
