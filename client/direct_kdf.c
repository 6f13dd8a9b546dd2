/* The direct-link key hierarchy (docs/protocol.md, "Direct communication: keys"): the
 * TS 33.220 Annex B KDF framing over HMAC-SHA-256, KD-sess from KD and the two nonces, the
 * algorithm keys from KD-sess (TS 33.401 A.7 style), and KD from a MIKEY-delivered key or
 * from the K1/K2 contributions of seed 003. */
#include <string.h>

#include "direct_internal.h"
#include "mcsec/kdf.h"
#include "mcsec/secmem.h"

#define KDF_PARAMS_MAX 8
#define KDF_S_MAX 1024 /* FC || Pi || Li: the longest S any caller builds */

mcsec_status_t mcsec_direct_kdf(const uint8_t *key, size_t key_len, uint8_t fc,
                                const mcsec_direct_param_t *params, size_t n, uint8_t out[32])
{
    uint8_t s[KDF_S_MAX];
    size_t at = 0;
    mcsec_status_t rc = MCSEC_ERR_BAD_INPUT;
    if (key == NULL || key_len == 0 || out == NULL || (n > 0 && params == NULL) ||
        n > KDF_PARAMS_MAX)
        goto out;
    s[at++] = fc;
    for (size_t i = 0; i < n; i++) {
        if (params[i].len > 0xFFFFu || (params[i].len > 0 && params[i].p == NULL))
            goto out;
        if (params[i].len + 2 > sizeof s - at) {
            rc = MCSEC_ERR_BAD_LENGTH;
            goto out;
        }
        if (params[i].len > 0)
            memcpy(s + at, params[i].p, params[i].len);
        at += params[i].len;
        dx_put16(s + at, (uint16_t)params[i].len);
        at += 2;
    }
    rc = mcsec_hmac_sha256(key, key_len, s, at, out);
out:
    mcsec_memzero(s, sizeof s); /* the parameters may be secret (K2) */
    return rc;
}

mcsec_status_t mcsec_direct_kd_sess(const uint8_t kd[MCSEC_DIRECT_KD_LEN],
                                    const uint8_t nonce_1[MCSEC_DIRECT_NONCE_LEN],
                                    const uint8_t nonce_2[MCSEC_DIRECT_NONCE_LEN],
                                    uint8_t kd_sess[MCSEC_DIRECT_KD_LEN])
{
    if (kd == NULL || nonce_1 == NULL || nonce_2 == NULL || kd_sess == NULL)
        return MCSEC_ERR_BAD_INPUT;
    mcsec_direct_param_t p[2] = {{nonce_1, MCSEC_DIRECT_NONCE_LEN},
                                 {nonce_2, MCSEC_DIRECT_NONCE_LEN}};
    return mcsec_direct_kdf(kd, MCSEC_DIRECT_KD_LEN, MCSEC_DIRECT_FC_KD_SESS, p, 2, kd_sess);
}

mcsec_status_t mcsec_direct_alg_key(const uint8_t kd_sess[MCSEC_DIRECT_KD_LEN],
                                    uint8_t distinguisher, uint8_t alg,
                                    uint8_t key[MCSEC_DIRECT_KEY_LEN])
{
    uint8_t full[32];
    mcsec_status_t rc = MCSEC_ERR_BAD_INPUT;
    if (kd_sess == NULL || key == NULL || distinguisher < MCSEC_DIRECT_KEY_SIG_ENC ||
        distinguisher > MCSEC_DIRECT_KEY_UP_ENC)
        goto out;
    mcsec_direct_param_t p[2] = {{&distinguisher, 1}, {&alg, 1}};
    rc = mcsec_direct_kdf(kd_sess, MCSEC_DIRECT_KD_LEN, MCSEC_DIRECT_FC_ALG_KEY, p, 2, full);
    if (rc == MCSEC_OK) /* the 128 least significant bits, as TS 33.401 A.7 truncates */
        memcpy(key, full + 32 - MCSEC_DIRECT_KEY_LEN, MCSEC_DIRECT_KEY_LEN);
out:
    mcsec_memzero(full, sizeof full);
    return rc;
}

mcsec_status_t mcsec_direct_kd_from_mikey(const uint8_t *key, size_t key_len, uint16_t kd_id_msb,
                                          uint8_t kd[MCSEC_DIRECT_KD_LEN])
{
    uint8_t msb[2];
    if (key == NULL || key_len == 0 || kd == NULL || kd_id_msb == 0)
        return MCSEC_ERR_BAD_INPUT;
    dx_put16(msb, kd_id_msb);
    mcsec_direct_param_t p[1] = {{msb, 2}};
    return mcsec_direct_kdf(key, key_len, MCSEC_DIRECT_FC_KD_MIKEY, p, 1, kd);
}

mcsec_status_t mcsec_direct_kd_from_k1k2(const uint8_t *k1, size_t k1_len, const uint8_t *k2,
                                         size_t k2_len, uint8_t kd[MCSEC_DIRECT_KD_LEN])
{
    if (k1 == NULL || k2 == NULL || k1_len == 0 || k2_len == 0 || kd == NULL)
        return MCSEC_ERR_BAD_INPUT;
    mcsec_direct_param_t p[1] = {{k2, k2_len}};
    return mcsec_direct_kdf(k1, k1_len, MCSEC_DIRECT_FC_KD_K1K2, p, 1, kd);
}
