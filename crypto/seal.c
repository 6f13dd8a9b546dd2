/* Sealing at rest: scrypt, HKDF-SHA256, AES-256-GCM with associated data, atomic file
 * writes (include/mcsec/seal.h). Thin, checked wrappers over OpenSSL 3. */
#define _GNU_SOURCE /* mkostemp */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#include "internal.h"
#include "mcsec/seal.h"


mcsec_status_t mcsec_seal_scrypt(const void *passphrase, size_t passphrase_len,
                                 const uint8_t *salt, size_t salt_len, unsigned log2_n, uint32_t r,
                                 uint32_t p, uint8_t *out, size_t out_len)
{
    if ((passphrase == NULL && passphrase_len > 0) || (salt == NULL && salt_len > 0) ||
        out == NULL)
        return MCSEC_ERR_BAD_INPUT;
    if (log2_n < 1 || log2_n > 22 || r < 1 || r > 32 || p < 1 || p > 16 || out_len < 1 ||
        out_len > 64 || (uint64_t)128 * r * ((uint64_t)1 << log2_n) > ((uint64_t)1 << 30))
        return MCSEC_ERR_UNSUPPORTED;
    mcsec_status_t rc = MCSEC_ERR_INTERNAL;
#if defined(MCSEC_FUZZ_MEMO)
    /* fuzz builds only: a repeated input returns the first result (crypto/internal.h) */
    fuzz_memo_key_t memo;
    uint64_t cost[4] = {log2_n, r, p, out_len};
    fuzz_memo_key(&memo, "scrypt", 3, passphrase, passphrase_len, salt, salt_len, cost,
                  sizeof cost);
    if (fuzz_memo_get(&memo, &rc, out, out_len))
        return rc;
#endif
    EVP_KDF *kdf = EVP_KDF_fetch(NULL, "SCRYPT", NULL);
    EVP_KDF_CTX *ctx = kdf != NULL ? EVP_KDF_CTX_new(kdf) : NULL;
    uint64_t n = (uint64_t)1 << log2_n;
    uint64_t maxmem = (uint64_t)128 * r * (n + p + 2) + 65536;
    static const uint8_t empty[1];
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_PASSWORD,
                                          (void *)(passphrase_len ? passphrase : empty),
                                          passphrase_len),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)(salt_len ? salt : empty),
                                          salt_len),
        OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_N, &n),
        OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_R, &r),
        OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_P, &p),
        OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_MAXMEM, &maxmem),
        OSSL_PARAM_construct_end(),
    };
    if (ctx == NULL)
        goto out;
    if (EVP_KDF_derive(ctx, out, out_len, params) != 1) {
        mcsec_memzero(out, out_len);
        rc = MCSEC_ERR_NOMEM;
        goto out;
    }
    rc = MCSEC_OK;
#if defined(MCSEC_FUZZ_MEMO)
    fuzz_memo_put(&memo, rc, out, out_len);
#endif
out:
    EVP_KDF_CTX_free(ctx);
    EVP_KDF_free(kdf);
    return rc;
}

mcsec_status_t mcsec_seal_hkdf(const uint8_t *ikm, size_t ikm_len, const uint8_t *salt,
                               size_t salt_len, const uint8_t *info, size_t info_len, uint8_t *out,
                               size_t out_len)
{
    if ((ikm == NULL && ikm_len > 0) || (salt == NULL && salt_len > 0) ||
        (info == NULL && info_len > 0) || out == NULL)
        return MCSEC_ERR_BAD_INPUT;
    if (out_len < 1 || out_len > 255 * 32)
        return MCSEC_ERR_BAD_LENGTH;
    mcsec_status_t rc = MCSEC_ERR_INTERNAL;
    EVP_KDF *kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
    EVP_KDF_CTX *ctx = kdf != NULL ? EVP_KDF_CTX_new(kdf) : NULL;
    static const uint8_t empty[1];
    char digest[] = "SHA256";
    OSSL_PARAM params[5], *q = params;
    *q++ = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest, 0);
    *q++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)(ikm_len ? ikm : empty),
                                             ikm_len);
    if (salt_len > 0)
        *q++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)salt, salt_len);
    if (info_len > 0)
        *q++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)info, info_len);
    *q = OSSL_PARAM_construct_end();
    if (ctx == NULL)
        goto out;
    if (EVP_KDF_derive(ctx, out, out_len, params) != 1) {
        mcsec_memzero(out, out_len);
        goto out;
    }
    rc = MCSEC_OK;
out:
    EVP_KDF_CTX_free(ctx);
    EVP_KDF_free(kdf);
    return rc;
}

/* enc = 1: ct = E(pt), tag written; enc = 0: pt = D(ct) if the tag verifies. */
static mcsec_status_t gcm(int enc, const uint8_t *key, const uint8_t *nonce, const uint8_t *aad,
                          size_t aad_len, const uint8_t *in, size_t len, uint8_t *out,
                          uint8_t *tag)
{
    if (key == NULL || nonce == NULL || tag == NULL || (aad == NULL && aad_len > 0) ||
        ((in == NULL || out == NULL) && len > 0))
        return MCSEC_ERR_BAD_INPUT;
    if (len > INT32_MAX || aad_len > INT32_MAX)
        return MCSEC_ERR_BAD_LENGTH;
    mcsec_status_t rc = MCSEC_ERR_INTERNAL;
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    uint8_t scratch[16];
    int n = 0;
    if (ctx == NULL)
        goto out;
    if (EVP_CipherInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL, enc) != 1 ||
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, MCSEC_SEAL_NONCE_LEN, NULL) != 1 ||
        EVP_CipherInit_ex(ctx, NULL, NULL, key, nonce, enc) != 1)
        goto out;
    if (aad_len > 0 && EVP_CipherUpdate(ctx, NULL, &n, aad, (int)aad_len) != 1)
        goto out;
    if (len > 0 && EVP_CipherUpdate(ctx, out, &n, in, (int)len) != 1)
        goto out;
    if (enc) {
        if (EVP_CipherFinal_ex(ctx, scratch, &n) != 1 ||
            EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, MCSEC_SEAL_TAG_LEN, tag) != 1)
            goto out;
        /* The ciphertext and tag are public by design (they go to disk). */
        mcsec_ct_declassify(out, len);
        mcsec_ct_declassify(tag, MCSEC_SEAL_TAG_LEN);
    } else {
        if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, MCSEC_SEAL_TAG_LEN, (void *)tag) != 1)
            goto out;
        if (EVP_CipherFinal_ex(ctx, scratch, &n) != 1) {
            mcsec_memzero(out, len);
            rc = MCSEC_ERR_VERIFY;
            goto out;
        }
    }
    rc = MCSEC_OK;
out:
    if (rc != MCSEC_OK && !enc && len > 0 && out != NULL)
        mcsec_memzero(out, len);
    mcsec_memzero(scratch, sizeof scratch);
    EVP_CIPHER_CTX_free(ctx);
    return rc;
}

mcsec_status_t mcsec_seal(const uint8_t key[MCSEC_SEAL_KEY_LEN],
                          const uint8_t nonce[MCSEC_SEAL_NONCE_LEN], const uint8_t *aad,
                          size_t aad_len, const uint8_t *pt, size_t len, uint8_t *ct,
                          uint8_t tag[MCSEC_SEAL_TAG_LEN])
{
    return gcm(1, key, nonce, aad, aad_len, pt, len, ct, tag);
}

mcsec_status_t mcsec_seal_open(const uint8_t key[MCSEC_SEAL_KEY_LEN],
                               const uint8_t nonce[MCSEC_SEAL_NONCE_LEN], const uint8_t *aad,
                               size_t aad_len, const uint8_t *ct, size_t len,
                               const uint8_t tag[MCSEC_SEAL_TAG_LEN], uint8_t *pt)
{
    return gcm(0, key, nonce, aad, aad_len, ct, len, pt, (uint8_t *)tag);
}

static int fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int r = fsync(fd);
    int e = errno;
    close(fd);
    errno = e;
    return r;
}

mcsec_status_t mcsec_seal_write_file(const char *path, const uint8_t *data, size_t len,
                                     mode_t mode, int no_replace)
{
    if (path == NULL || path[0] == 0 || (data == NULL && len > 0))
        return MCSEC_ERR_BAD_INPUT;
    mcsec_status_t rc = MCSEC_ERR_NOMEM;
    size_t plen = strlen(path);
    char *dir = malloc(plen + 2), *tmp = malloc(plen + 24);
    int fd = -1, tmp_exists = 0, err = 0;
    if (dir == NULL || tmp == NULL)
        goto out;
    const char *slash = strrchr(path, '/');
    if (slash == NULL) {
        strcpy(dir, ".");
        snprintf(tmp, plen + 24, ".%s.tmp.XXXXXX", path);
    } else {
        size_t dl = slash == path ? 1 : (size_t)(slash - path);
        memcpy(dir, path, dl);
        dir[dl] = 0;
        snprintf(tmp, plen + 24, "%.*s/.%s.tmp.XXXXXX", (int)(slash - path), path, slash + 1);
    }
    rc = MCSEC_ERR_IO;
    fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0) {
        err = errno;
        goto out;
    }
    tmp_exists = 1;
    if (fchmod(fd, mode) != 0)
        goto fail;
    for (size_t off = 0; off < len;) {
        ssize_t w = write(fd, data + off, len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            goto fail;
        off += (size_t)w;
    }
    if (fsync(fd) != 0)
        goto fail;
    int cr = close(fd);
    fd = -1;
    if (cr != 0)
        goto fail;
    if (no_replace) {
        if (link(tmp, path) != 0)
            goto fail;
        (void)unlink(tmp);
    } else if (rename(tmp, path) != 0) {
        goto fail;
    }
    tmp_exists = 0;
    if (fsync_dir(dir) != 0)
        goto fail;
    rc = MCSEC_OK;
    goto out;
fail:
    err = errno;
out:
    if (fd >= 0)
        close(fd);
    if (tmp_exists)
        (void)unlink(tmp);
    free(tmp);
    free(dir);
    if (rc != MCSEC_OK && err != 0)
        errno = err;
    return rc;
}
