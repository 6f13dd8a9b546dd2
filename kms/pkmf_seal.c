/* Keys of the PKMF derived from the KMS master secrets, so the PKMF keeps no secret of its own:
 *   seal key    = HKDF-SHA256(ikm = KSAK || z, salt "", info "mcsec-kms pkmf seal v1"), 32
 *   Key Type ID = HKDF-SHA256(same ikm, info "mcsec-kms pkmf key type id v1"), 4 octets
 *                 big-endian (0 is replaced by 1)
 * Sealed records: nonce (12) | AES-256-GCM(seal key, a (32) || b (32)) | tag (16), with the
 * record's identity as associated data (a UE record cannot be moved to another UE, nor a
 * session to another session or role). */
#include <string.h>

#include "internal.h"
#include "mcsec/secmem.h"

#define INFO_SEAL "mcsec-kms pkmf seal v1"
#define INFO_KEY_TYPE "mcsec-kms pkmf key type id v1"

static mcsec_status_t derive(const mcsec_kms_t *kms, const char *info, uint8_t *out, size_t len)
{
    uint8_t ikm[MCSEC_ECCSI_SCALAR_LEN + MCSEC_SAKKE_SCALAR_LEN];
    memcpy(ikm, kms->secrets->ksak, MCSEC_ECCSI_SCALAR_LEN);
    memcpy(ikm + MCSEC_ECCSI_SCALAR_LEN, kms->secrets->z, MCSEC_SAKKE_SCALAR_LEN);
    mcsec_status_t st = mcsec_seal_hkdf(ikm, sizeof ikm, NULL, 0, (const uint8_t *)info,
                                        strlen(info), out, len);
    mcsec_memzero(ikm, sizeof ikm);
    return st;
}

mcsec_status_t pkmf_seal_key(const mcsec_kms_t *kms, uint8_t key[MCSEC_SEAL_KEY_LEN])
{
    return derive(kms, INFO_SEAL, key, MCSEC_SEAL_KEY_LEN);
}

mcsec_status_t pkmf_key_type_id(const mcsec_kms_t *kms, uint32_t *out)
{
    uint8_t b[4];
    mcsec_status_t st = derive(kms, INFO_KEY_TYPE, b, sizeof b);
    if (st == MCSEC_OK) {
        *out = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
        if (*out == 0)
            *out = 1;
    }
    return st;
}

mcsec_status_t pkmf_seal2(const mcsec_kms_t *kms, const uint8_t *aad, size_t aad_len,
                          const uint8_t a[32], const uint8_t b[32], uint8_t *sealed,
                          size_t *sealed_len)
{
    uint8_t key[MCSEC_SEAL_KEY_LEN], pt[64];
    memcpy(pt, a, 32);
    memcpy(pt + 32, b, 32);
    mcsec_status_t st = pkmf_seal_key(kms, key);
    if (st == MCSEC_OK)
        st = mcsec_random_bytes(sealed, MCSEC_SEAL_NONCE_LEN);
    if (st == MCSEC_OK)
        st = mcsec_seal(key, sealed, aad, aad_len, pt, sizeof pt, sealed + MCSEC_SEAL_NONCE_LEN,
                        sealed + MCSEC_SEAL_NONCE_LEN + sizeof pt);
    if (st == MCSEC_OK)
        *sealed_len = PKMF_SEALED_MAX;
    mcsec_memzero(key, sizeof key);
    mcsec_memzero(pt, sizeof pt);
    return st;
}

mcsec_status_t pkmf_open2(const mcsec_kms_t *kms, const uint8_t *aad, size_t aad_len,
                          const uint8_t *sealed, size_t sealed_len, uint8_t a[32], uint8_t b[32])
{
    uint8_t key[MCSEC_SEAL_KEY_LEN], pt[64];
    mcsec_status_t st = MCSEC_ERR_VERIFY;
    memset(pt, 0, sizeof pt);
    if (sealed_len != PKMF_SEALED_MAX) {
        kms_error("a sealed PKMF record has the wrong length: the store is damaged");
        goto out;
    }
    if ((st = pkmf_seal_key(kms, key)) != MCSEC_OK)
        goto out;
    st = mcsec_seal_open(key, sealed, aad, aad_len, sealed + MCSEC_SEAL_NONCE_LEN, sizeof pt,
                         sealed + MCSEC_SEAL_NONCE_LEN + sizeof pt, pt);
    if (st != MCSEC_OK) {
        kms_error("a sealed PKMF record fails authentication: the store is damaged or was "
                  "tampered with");
        goto out;
    }
    memcpy(a, pt, 32);
    memcpy(b, pt + 32, 32);
out:
    mcsec_memzero(key, sizeof key);
    mcsec_memzero(pt, sizeof pt);
    return st;
}

static size_t put(uint8_t *aad, size_t o, size_t cap, const void *p, size_t n)
{
    if (o + n <= cap)
        memcpy(aad + o, p, n);
    return o + n;
}

static size_t put64(uint8_t *aad, size_t o, size_t cap, uint64_t v)
{
    uint8_t b[8];
    for (int i = 0; i < 8; i++)
        b[i] = (uint8_t)(v >> (56 - 8 * i));
    return put(aad, o, cap, b, 8);
}

size_t pkmf_ue_aad(const kms_pkmf_ue_t *u, uint8_t *aad, size_t cap)
{
    static const char tag[] = "mcsec-pkmf ue v1";
    size_t o = put(aad, 0, cap, tag, sizeof tag);
    o = put(aad, o, cap, u->uri, strlen(u->uri) + 1);
    o = put64(aad, o, cap, u->pmk_id);
    return put64(aad, o, cap, u->pruk_id);
}

size_t pkmf_session_aad(const kms_pkmf_session_t *x, uint8_t *aad, size_t cap)
{
    static const char tag[] = "mcsec-pkmf session v1";
    size_t o = put(aad, 0, cap, tag, sizeof tag);
    o = put(aad, o, cap, x->session, PKMF_SESSION_LEN);
    uint8_t r = (uint8_t)x->role;
    o = put(aad, o, cap, &r, 1);
    o = put(aad, o, cap, x->initiator, strlen(x->initiator) + 1);
    o = put(aad, o, cap, x->responder, strlen(x->responder) + 1);
    return put64(aad, o, cap, (uint64_t)x->conn_id << 32 | x->kd_id);
}
