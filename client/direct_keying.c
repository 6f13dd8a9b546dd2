/* Key establishment with the handsets' identity keys, driven by the link: the offline mode
 * (KD from a key in a MIKEY-SAKKE I_MESSAGE, seed 000 key issue #6) and the key contribution
 * mode of seed 003 (K1 in the request, K2 in the DSMC, KD = KDF(K1, K2)), both with no network.
 * docs/protocol.md ("Direct communication: keying modes"). */
#include <stdlib.h>
#include <string.h>

#include "direct_internal.h"
#include "mcsec/secmem.h"

#define IMSG_MAX 2048 /* a PCK I_MESSAGE is about 600 octets */

mcsec_status_t mcsec_direct_keying_offer(mcsec_direct_link_t *link, mcsec_direct_identity_t *id,
                                         mcsec_direct_keying_t mode)
{
    uint8_t key[MCSEC_PROFILE_KEY_LEN], kd[MCSEC_DIRECT_KD_LEN], msg[IMSG_MAX];
    size_t len = 0;
    mcsec_status_t rc = MCSEC_ERR_BAD_INPUT;
    if (link == NULL || id == NULL || link->peer[0] == 0 ||
        (mode != MCSEC_DIRECT_KEYING_OFFLINE && mode != MCSEC_DIRECT_KEYING_SDES))
        return rc;
    uint32_t key_id = (uint32_t)link->next_msb << 16; /* names the KD this key makes */
    rc = mcsec_direct_mikey_offer(mcsec_direct_identity_sender(id), link->peer, key_id, 0, key,
                                  msg, sizeof msg, &len);
    if (rc != MCSEC_OK)
        goto out;
    if (mode == MCSEC_DIRECT_KEYING_OFFLINE) {
        rc = mcsec_direct_kd_from_mikey(key, sizeof key, link->next_msb, kd);
        if (rc == MCSEC_OK)
            rc = mcsec_direct_set_kd(link, kd);
        if (rc == MCSEC_OK)
            rc = mcsec_direct_add_kcd(link, MCSEC_DIRECT_KCD_MIKEY_SAKKE, msg, len);
    } else {
        rc = mcsec_direct_add_kcd(link, MCSEC_DIRECT_KCD_K1, msg, len);
        if (rc == MCSEC_OK) {
            memcpy(link->k1, key, sizeof key);
            link->have_k1 = 1;
            link->want_new_kd = 1;
            /* KD is not known before K2: a stale pending KD must not be used */
            mcsec_memzero(link->pend_kd, sizeof link->pend_kd);
            link->have_pend_kd = link->pend_fixed = 0;
        }
    }
out:
    mcsec_memzero(key, sizeof key);
    mcsec_memzero(kd, sizeof kd);
    return rc;
}

mcsec_status_t mcsec_direct_keying_answer(mcsec_direct_link_t *link, mcsec_direct_identity_t *id,
                                          const mcsec_direct_request_t *req)
{
    uint8_t key[MCSEC_PROFILE_KEY_LEN], k2[MCSEC_PROFILE_KEY_LEN], kd[MCSEC_DIRECT_KD_LEN];
    uint8_t *msg = NULL;
    size_t len = 0;
    mcsec_status_t rc = MCSEC_ERR_BAD_INPUT;
    memset(key, 0, sizeof key);
    memset(k2, 0, sizeof k2);
    memset(kd, 0, sizeof kd);
    if (link == NULL || id == NULL || req == NULL)
        goto out;
    const mcsec_direct_kcd_t *offline =
        mcsec_direct_kcd_find(req->kcd, req->n_kcd, MCSEC_DIRECT_KCD_MIKEY_SAKKE);
    const mcsec_direct_kcd_t *k1 = mcsec_direct_kcd_find(req->kcd, req->n_kcd, MCSEC_DIRECT_KCD_K1);
    rc = MCSEC_OK;
    if (offline == NULL && k1 == NULL)
        goto out;
    if ((offline != NULL && k1 != NULL) || !link->x.active || link->x.requester ||
        !link->x.new_kd || link->peer[0] == 0) {
        rc = dx_fail(link, MCSEC_DIRECT_CHECK_STATE,
                     "key creation data that does not fit the request", MCSEC_ERR_STRUCTURE);
        goto out;
    }
    mcsec_profile_check_t check = MCSEC_CHECK_NONE;
    const mcsec_direct_kcd_t *item = offline != NULL ? offline : k1;
    rc = mcsec_direct_mikey_accept(mcsec_direct_identity_receiver(id), link->peer, item->value,
                                   item->len, req->kd_id, key, &check);
    if (rc != MCSEC_OK) {
        rc = dx_fail(link, MCSEC_DIRECT_CHECK_KEY, mcsec_profile_check_name(check), rc);
        goto out;
    }
    if (offline != NULL) {
        rc = mcsec_direct_kd_from_mikey(key, sizeof key, (uint16_t)(req->kd_id >> 16), kd);
        if (rc == MCSEC_OK)
            rc = mcsec_direct_set_kd(link, kd);
        goto out;
    }
    msg = malloc(IMSG_MAX);
    if (msg == NULL) {
        rc = MCSEC_ERR_NOMEM;
        goto out;
    }
    /* K2 is named by the whole KD ID (our LSB half included), so it answers this request only */
    rc = mcsec_direct_mikey_offer(mcsec_direct_identity_sender(id), link->peer, link->x.kd_id, 0,
                                  k2, msg, IMSG_MAX, &len);
    if (rc == MCSEC_OK)
        rc = mcsec_direct_kd_from_k1k2(key, sizeof key, k2, sizeof k2, kd);
    if (rc == MCSEC_OK)
        rc = mcsec_direct_set_kd(link, kd);
    if (rc == MCSEC_OK)
        rc = mcsec_direct_add_kcd(link, MCSEC_DIRECT_KCD_K2, msg, len);
out:
    free(msg);
    mcsec_memzero(key, sizeof key);
    mcsec_memzero(k2, sizeof k2);
    mcsec_memzero(kd, sizeof kd);
    return rc;
}

mcsec_status_t mcsec_direct_keying_finish(mcsec_direct_link_t *link, mcsec_direct_identity_t *id,
                                          const mcsec_direct_dsmc_t *dsmc)
{
    uint8_t k2[MCSEC_PROFILE_KEY_LEN], kd[MCSEC_DIRECT_KD_LEN];
    memset(k2, 0, sizeof k2);
    memset(kd, 0, sizeof kd);
    if (link == NULL || id == NULL || dsmc == NULL)
        return MCSEC_ERR_BAD_INPUT;
    if (!link->have_k1)
        return MCSEC_OK;
    mcsec_status_t rc;
    const mcsec_direct_kcd_t *item =
        mcsec_direct_kcd_find(dsmc->kcd, dsmc->n_kcd, MCSEC_DIRECT_KCD_K2);
    if (item == NULL) {
        rc = dx_fail(link, MCSEC_DIRECT_CHECK_KEY, "we sent K1 and the DSMC carries no K2",
                     MCSEC_ERR_STRUCTURE);
        goto out;
    }
    /* K2 must name a KD ID extending our MSB half (checked again by handle_dsmc) */
    if (!link->x.active || !link->x.requester || (dsmc->kd_id >> 16) != (link->x.req_kd_id >> 16)) {
        rc = dx_fail(link, MCSEC_DIRECT_CHECK_KEY,
                     "the DSMC's KD ID does not extend the MSB half we sent",
                     MCSEC_ERR_UNKNOWN_KEY);
        goto out;
    }
    mcsec_profile_check_t check = MCSEC_CHECK_NONE;
    rc = mcsec_direct_mikey_accept(mcsec_direct_identity_receiver(id), link->peer, item->value,
                                   item->len, dsmc->kd_id, k2, &check);
    if (rc != MCSEC_OK) {
        rc = dx_fail(link, MCSEC_DIRECT_CHECK_KEY, mcsec_profile_check_name(check), rc);
        goto out;
    }
    rc = mcsec_direct_kd_from_k1k2(link->k1, sizeof link->k1, k2, sizeof k2, kd);
    if (rc == MCSEC_OK)
        rc = mcsec_direct_set_kd(link, kd);
    if (rc == MCSEC_OK) {
        mcsec_memzero(link->k1, sizeof link->k1);
        link->have_k1 = 0;
    }
out:
    mcsec_memzero(k2, sizeof k2);
    mcsec_memzero(kd, sizeof kd);
    return rc;
}

uint8_t mcsec_direct_reject_cause(mcsec_status_t status)
{
    switch (status) {
    case MCSEC_ERR_UNKNOWN_KEY:
    case MCSEC_ERR_KEY_PERIOD:
        return MCSEC_DIRECT_CAUSE_UNKNOWN_KD;
    case MCSEC_ERR_POLICY:
        return MCSEC_DIRECT_CAUSE_POLICY;
    case MCSEC_ERR_REPLAY:
    case MCSEC_ERR_STALE:
        return MCSEC_DIRECT_CAUSE_REPLAY;
    case MCSEC_ERR_VERIFY:
    case MCSEC_ERR_WRONG_RECIPIENT:
    case MCSEC_ERR_PURPOSE:
    case MCSEC_ERR_DECAPSULATE:
        return MCSEC_DIRECT_CAUSE_AUTH;
    default:
        return MCSEC_DIRECT_CAUSE_OTHER;
    }
}
