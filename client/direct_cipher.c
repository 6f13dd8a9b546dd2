/* The direct-link protection primitives, framed as TS 33.401 Annex B does for 128-EEA2 and
 * 128-EIA2: AES-128 in counter mode with the initial block COUNT || BEARER || DIRECTION || 0,
 * and AES-CMAC over COUNT || BEARER || DIRECTION || 0^26 || message truncated to 32 bits. */
#include <pthread.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "direct_internal.h"
#include "mcsec/secmem.h"

#define AES_BLOCK 16
#define MAC_PREFIX 8 /* COUNT (4) || BEARER, DIRECTION, 0^26 (4) */

/* A CMAC context with its cipher set, made once and duplicated per use (fetching by
 * name takes global locks in OpenSSL 3; see crypto/kdf.c). Never modified after it is made. */
static EVP_MAC_CTX *cmac_tmpl;
static pthread_once_t cmac_once = PTHREAD_ONCE_INIT;

static void cmac_tmpl_init(void)
{
    EVP_MAC *mac = EVP_MAC_fetch(NULL, "CMAC", NULL);
    if (mac == NULL)
        return;
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_CIPHER, (char *)"AES-128-CBC", 0),
        OSSL_PARAM_construct_end()};
    static const uint8_t zero[MCSEC_DIRECT_KEY_LEN];
    EVP_MAC_CTX *ctx = EVP_MAC_CTX_new(mac);
    /* keyed with zeros: OpenSSL cannot duplicate a CMAC context that has no key yet; every
     * use re-initialises its copy with the real key */
    if (ctx != NULL && EVP_MAC_init(ctx, zero, sizeof zero, params) != 1) {
        EVP_MAC_CTX_free(ctx);
        ctx = NULL;
    }
    cmac_tmpl = ctx;
    EVP_MAC_free(mac);
}

static void frame(uint8_t p[8], uint32_t count, uint8_t bearer, uint8_t direction)
{
    dx_put32(p, count);
    p[4] = (uint8_t)((bearer & 0x1F) << 3 | (direction & 1) << 2);
    p[5] = p[6] = p[7] = 0;
}

mcsec_status_t mcsec_direct_cipher(uint8_t alg, const uint8_t key[MCSEC_DIRECT_KEY_LEN],
                                   uint32_t count, uint8_t bearer, uint8_t direction,
                                   const uint8_t *in, size_t len, uint8_t *out)
{
    if ((len > 0 && (in == NULL || out == NULL)) || bearer > 0x1F || direction > 1 ||
        len > (size_t)0x7FFFFFFF)
        return MCSEC_ERR_BAD_INPUT;
    if (alg == MCSEC_DIRECT_ENC_NULL) {
        if (len > 0 && in != out)
            memmove(out, in, len);
        return MCSEC_OK;
    }
    if (alg != MCSEC_DIRECT_ENC_AES_CTR)
        return MCSEC_ERR_UNSUPPORTED;
    if (key == NULL)
        return MCSEC_ERR_BAD_INPUT;
    mcsec_status_t rc = mcsec_init();
    if (rc != MCSEC_OK)
        return rc;
    uint8_t iv[AES_BLOCK];
    memset(iv, 0, sizeof iv);
    frame(iv, count, bearer, direction);
    rc = MCSEC_ERR_INTERNAL;
    int n1 = 0, n2 = 0;
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    if (ctx == NULL)
        goto out;
    if (EVP_EncryptInit_ex(ctx, EVP_aes_128_ctr(), NULL, key, iv) != 1)
        goto out;
    if (len > 0 && EVP_EncryptUpdate(ctx, out, &n1, in, (int)len) != 1)
        goto out;
    if (EVP_EncryptFinal_ex(ctx, out + n1, &n2) != 1 || (size_t)(n1 + n2) != len)
        goto out;
    rc = MCSEC_OK;
out:
    EVP_CIPHER_CTX_free(ctx); /* cleanses the key schedule */
    return rc;
}

mcsec_status_t dx_mac_parts(uint8_t alg, const uint8_t key[MCSEC_DIRECT_KEY_LEN], uint32_t count,
                            uint8_t bearer, uint8_t direction, const uint8_t *a, size_t a_len,
                            const uint8_t *b, size_t b_len, uint8_t mac[MCSEC_DIRECT_MAC_LEN])
{
    if ((a_len > 0 && a == NULL) || (b_len > 0 && b == NULL) || mac == NULL || key == NULL ||
        bearer > 0x1F || direction > 1)
        return MCSEC_ERR_BAD_INPUT;
    if (alg == MCSEC_DIRECT_INT_NULL)
        return MCSEC_ERR_POLICY; /* never: signalling integrity is mandatory */
    if (alg != MCSEC_DIRECT_INT_AES_CMAC)
        return MCSEC_ERR_UNSUPPORTED;
    mcsec_status_t rc = mcsec_init();
    if (rc != MCSEC_OK)
        return rc;
    uint8_t prefix[MAC_PREFIX], full[AES_BLOCK];
    size_t got = 0;
    frame(prefix, count, bearer, direction);
    pthread_once(&cmac_once, cmac_tmpl_init);
    EVP_MAC_CTX *ctx = cmac_tmpl != NULL ? EVP_MAC_CTX_dup(cmac_tmpl) : NULL;
    rc = MCSEC_ERR_INTERNAL;
    if (ctx == NULL || EVP_MAC_init(ctx, key, MCSEC_DIRECT_KEY_LEN, NULL) != 1 ||
        EVP_MAC_update(ctx, prefix, sizeof prefix) != 1 ||
        (a_len > 0 && EVP_MAC_update(ctx, a, a_len) != 1) ||
        (b_len > 0 && EVP_MAC_update(ctx, b, b_len) != 1) ||
        EVP_MAC_final(ctx, full, &got, sizeof full) != 1 || got != AES_BLOCK)
        goto out;
    memcpy(mac, full, MCSEC_DIRECT_MAC_LEN);
    rc = MCSEC_OK;
out:
    EVP_MAC_CTX_free(ctx);
    mcsec_memzero(full, sizeof full);
    return rc;
}

mcsec_status_t mcsec_direct_mac(uint8_t alg, const uint8_t key[MCSEC_DIRECT_KEY_LEN],
                                uint32_t count, uint8_t bearer, uint8_t direction,
                                const uint8_t *msg, size_t len, uint8_t mac[MCSEC_DIRECT_MAC_LEN])
{
    return dx_mac_parts(alg, key, count, bearer, direction, msg, len, NULL, 0, mac);
}
