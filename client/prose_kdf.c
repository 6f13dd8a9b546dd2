/* ProSe key derivations, with the TS 33.220 Annex B framing of mcsec_direct_kdf
 * (include/mcsec/direct.h: HMAC-SHA-256(key, FC || P0 || L0 || ...), Li on two octets):
 * - KD of a relay link: KDF(PRUK, FC 0x60, P0 = KD Derivation Parameter);
 * - KD of network-authorised keying: KDF(KM1 || KM2, FC 0x61, P0 = session token,
 *   P1 = initiator URI, P2 = responder URI, P3 = connection identity (4), P4 = KD ID (4)),
 *   so the key is bound to both identities, the session and what the entities allocated. */
#include <string.h>

#include "mcsec/direct.h"
#include "mcsec/prose.h"
#include "mcsec/secmem.h"

mcsec_status_t mcsec_prose_kd_from_pruk(const uint8_t pruk[MCSEC_PROSE_PRUK_LEN],
                                        const uint8_t *param, size_t param_len,
                                        uint8_t kd[MCSEC_PROSE_KD_LEN])
{
    if (pruk == NULL || param == NULL || kd == NULL)
        return MCSEC_ERR_BAD_INPUT;
    if (param_len == 0 || param_len > 255)
        return MCSEC_ERR_BAD_LENGTH;
    mcsec_direct_param_t p0 = {param, param_len};
    return mcsec_direct_kdf(pruk, MCSEC_PROSE_PRUK_LEN, MCSEC_PROSE_FC_KD_RELAY, &p0, 1, kd);
}

mcsec_status_t mcsec_prose_kd_network(const uint8_t km1[MCSEC_PROSE_KM_LEN],
                                      const uint8_t km2[MCSEC_PROSE_KM_LEN],
                                      const uint8_t session[MCSEC_PROSE_SESSION_LEN],
                                      const char *initiator_uri, const char *responder_uri,
                                      uint32_t conn_id, uint32_t kd_id,
                                      uint8_t kd[MCSEC_PROSE_KD_LEN])
{
    if (km1 == NULL || km2 == NULL || session == NULL || initiator_uri == NULL ||
        responder_uri == NULL || kd == NULL)
        return MCSEC_ERR_BAD_INPUT;
    size_t il = strlen(initiator_uri), rl = strlen(responder_uri);
    if (il == 0 || rl == 0 || il > MCSEC_PROSE_URI_MAX || rl > MCSEC_PROSE_URI_MAX)
        return MCSEC_ERR_BAD_INPUT;
    uint8_t key[2 * MCSEC_PROSE_KM_LEN], c[4], k[4];
    memcpy(key, km1, MCSEC_PROSE_KM_LEN);
    memcpy(key + MCSEC_PROSE_KM_LEN, km2, MCSEC_PROSE_KM_LEN);
    for (int i = 0; i < 4; i++) {
        c[i] = (uint8_t)(conn_id >> (24 - 8 * i));
        k[i] = (uint8_t)(kd_id >> (24 - 8 * i));
    }
    mcsec_direct_param_t p[5] = {{session, MCSEC_PROSE_SESSION_LEN},
                                 {(const uint8_t *)initiator_uri, il},
                                 {(const uint8_t *)responder_uri, rl},
                                 {c, 4},
                                 {k, 4}};
    mcsec_status_t st =
        mcsec_direct_kdf(key, sizeof key, MCSEC_PROSE_FC_KD_NETWORK, p, 5, kd);
    mcsec_memzero(key, sizeof key);
    return st;
}
