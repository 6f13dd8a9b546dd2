/* The ProSe network services on a direct link (include/mcsec/direct.h): where the relay
 * identity, the KD Derivation Parameter and the network session token travel as key creation
 * data, and where KD is set, in the order Direct Security Mode needs them. */
#include <stdio.h>
#include <string.h>

#include "mcsec/prose.h"
#include "mcsec/secmem.h"

mcsec_status_t mcsec_prose_ue_add_relay_kcd(mcsec_prose_ue_t *ue, const char *pkmf_fqdn,
                                            mcsec_direct_link_t *link)
{
    uint8_t enc[MCSEC_PROSE_RELAY_ID_MAX];
    size_t len = 0;
    mcsec_prose_relay_id_t id;
    if (link == NULL)
        return MCSEC_ERR_BAD_INPUT;
    mcsec_status_t st = mcsec_prose_ue_relay_id(ue, pkmf_fqdn, enc, sizeof enc, &len);
    if (st == MCSEC_OK)
        st = mcsec_prose_relay_id_parse(enc, len, &id);
    if (st != MCSEC_OK)
        return st;
    if (id.type == MCSEC_PROSE_RELAY_ID_PRUK)
        return mcsec_direct_add_kcd(link, MCSEC_DIRECT_KCD_PRUK_ID, enc + 1, 8);
    return mcsec_direct_add_kcd(link, MCSEC_DIRECT_KCD_LONG_TERM_ID, enc + 2, len - 2);
}

mcsec_status_t mcsec_prose_relay_prepare_dsmc(const mcsec_prose_server_t *pkmf,
                                              mcsec_direct_link_t *link, const uint8_t *dcr,
                                              size_t dcr_len, mcsec_prose_relay_key_t *out)
{
    mcsec_direct_request_t req;
    mcsec_prose_relay_key_t k;
    uint8_t enc[MCSEC_PROSE_RELAY_ID_MAX];
    size_t len = 0;
    memset(&k, 0, sizeof k);
    if (out != NULL)
        memset(out, 0, sizeof *out);
    mcsec_status_t st = MCSEC_ERR_BAD_INPUT;
    if (link == NULL || dcr == NULL)
        goto out;
    if ((st = mcsec_direct_dcr_parse(dcr, dcr_len, &req)) != MCSEC_OK)
        goto out;
    const mcsec_direct_kcd_t *p = mcsec_direct_kcd_find(req.kcd, req.n_kcd, MCSEC_DIRECT_KCD_PRUK_ID);
    const mcsec_direct_kcd_t *l =
        mcsec_direct_kcd_find(req.kcd, req.n_kcd, MCSEC_DIRECT_KCD_LONG_TERM_ID);
    st = MCSEC_ERR_STRUCTURE;
    if (p != NULL && p->len == 8) {
        enc[0] = MCSEC_PROSE_RELAY_ID_PRUK;
        memcpy(enc + 1, p->value, 8);
        len = 9;
    } else if (p == NULL && l != NULL && l->len >= 1 && l->len <= MCSEC_PROSE_URI_MAX) {
        enc[0] = MCSEC_PROSE_RELAY_ID_LONG_TERM;
        enc[1] = (uint8_t)l->len;
        memcpy(enc + 2, l->value, l->len);
        len = 2 + l->len;
    } else {
        goto out;
    }
    if ((st = mcsec_prose_relay_key_request(pkmf, enc, len, &k)) != MCSEC_OK ||
        (st = mcsec_direct_set_kd(link, k.kd)) != MCSEC_OK ||
        (st = mcsec_direct_add_kcd(link, MCSEC_DIRECT_KCD_KD_PARAM, k.param, sizeof k.param)) !=
            MCSEC_OK)
        goto out;
out:
    if (out != NULL) {
        *out = k;
        out->status = st;
    }
    mcsec_prose_relay_key_wipe(&k);
    return st;
}

mcsec_status_t mcsec_prose_ue_take_dsmc(mcsec_prose_ue_t *ue, const char *pkmf_fqdn,
                                        mcsec_direct_link_t *link, const uint8_t *dsmc,
                                        size_t dsmc_len)
{
    mcsec_direct_dsmc_t m;
    uint8_t kd[MCSEC_PROSE_KD_LEN];
    memset(kd, 0, sizeof kd);
    mcsec_status_t st = MCSEC_ERR_BAD_INPUT;
    if (ue == NULL || link == NULL || dsmc == NULL)
        goto out;
    if ((st = mcsec_direct_dsmc_parse(dsmc, dsmc_len, &m)) != MCSEC_OK)
        goto out;
    const mcsec_direct_kcd_t *p = mcsec_direct_kcd_find(m.kcd, m.n_kcd, MCSEC_DIRECT_KCD_KD_PARAM);
    if (p == NULL) {
        st = MCSEC_ERR_STRUCTURE;
        goto out;
    }
    if ((st = mcsec_prose_ue_derive_kd(ue, pkmf_fqdn, p->value, p->len, kd)) != MCSEC_OK)
        goto out;
    st = mcsec_direct_set_kd(link, kd);
out:
    mcsec_memzero(kd, sizeof kd);
    return st;
}

mcsec_status_t mcsec_prose_nw_link_initiate(const mcsec_prose_server_t *entity,
                                            mcsec_direct_link_t *link, const char *peer_uri,
                                            mcsec_prose_nw_key_t *out)
{
    mcsec_prose_nw_key_t k;
    memset(&k, 0, sizeof k);
    mcsec_status_t st = MCSEC_ERR_BAD_INPUT;
    if (link == NULL)
        goto out;
    if ((st = mcsec_prose_nw_initiate(entity, peer_uri, mcsec_direct_kd_id_msb(link), &k)) !=
            MCSEC_OK ||
        (st = mcsec_direct_set_kd_with_id(link, k.kd, k.kd_id)) != MCSEC_OK ||
        (st = mcsec_direct_add_kcd(link, MCSEC_DIRECT_KCD_NETWORK, k.session,
                                   sizeof k.session)) != MCSEC_OK)
        goto out;
out:
    if (out != NULL) {
        *out = k;
        out->status = st;
    }
    mcsec_prose_nw_key_wipe(&k);
    return st;
}

mcsec_status_t mcsec_prose_nw_link_accept(const mcsec_prose_server_t *entity,
                                          mcsec_direct_link_t *link, const uint8_t *dcr,
                                          size_t dcr_len, mcsec_prose_nw_key_t *out)
{
    mcsec_direct_request_t req;
    mcsec_prose_nw_key_t k;
    memset(&k, 0, sizeof k);
    mcsec_status_t st = MCSEC_ERR_BAD_INPUT;
    if (link == NULL || dcr == NULL)
        goto out;
    if ((st = mcsec_direct_dcr_parse(dcr, dcr_len, &req)) != MCSEC_OK)
        goto out;
    const mcsec_direct_kcd_t *s = mcsec_direct_kcd_find(req.kcd, req.n_kcd, MCSEC_DIRECT_KCD_NETWORK);
    if (s == NULL) {
        st = MCSEC_ERR_STRUCTURE;
        goto out;
    }
    if ((st = mcsec_prose_nw_accept(entity, s->value, s->len, &k)) != MCSEC_OK)
        goto out;
    if (req.user_info_len > 0 && (req.user_info_len != strlen(k.initiator_uri) ||
                                  memcmp(req.user_info, k.initiator_uri, req.user_info_len) != 0)) {
        st = MCSEC_ERR_VERIFY;
        snprintf(k.message, sizeof k.message, "the DCR comes from another UE than the session's "
                                              "initiator %.150s",
                 k.initiator_uri);
        goto out;
    }
    st = mcsec_direct_set_kd_with_id(link, k.kd, k.kd_id);
out:
    if (out != NULL) {
        *out = k;
        out->status = st;
    }
    mcsec_prose_nw_key_wipe(&k);
    return st;
}
