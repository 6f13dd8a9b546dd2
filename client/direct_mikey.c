/* Key creation data carried in MIKEY-SAKKE I_MESSAGEs (offline and sdes modes): the key is a
 * PCK (purpose tag 1) whose key id names the KD (or K1/K2) it makes, signed with the sender's
 * ECCSI key and SAKKE-encrypted to the peer, so that two UEs authenticate each other with
 * their KMS-issued identity keys and no network (seed 000 key issue #6). */
#include <string.h>
#include <time.h>

#include "direct_internal.h"
#include "mcsec/secmem.h"

#define NTP_UNIX_OFFSET 2208988800u

const mcsec_direct_kcd_t *mcsec_direct_kcd_find(const mcsec_direct_kcd_t *items, size_t n,
                                                uint8_t type)
{
    for (size_t i = 0; items != NULL && i < n; i++)
        if (items[i].type == type)
            return &items[i];
    return NULL;
}

mcsec_status_t mcsec_direct_mikey_offer(const mcsec_gmk_sender_t *tx, const char *peer_uri,
                                        uint32_t key_id, uint64_t ntp_time,
                                        uint8_t key[MCSEC_PROFILE_KEY_LEN], uint8_t *out,
                                        size_t cap, size_t *out_len)
{
    if (tx == NULL || peer_uri == NULL || key == NULL || out == NULL || out_len == NULL)
        return MCSEC_ERR_BAD_INPUT;
    if (mcsec_purpose_tag(key_id) != MCSEC_PURPOSE_PCK)
        return MCSEC_ERR_PURPOSE;
    if (ntp_time == 0) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ntp_time = ((uint64_t)ts.tv_sec + NTP_UNIX_OFFSET) << 32 |
                   (((uint64_t)ts.tv_nsec << 32) / 1000000000u);
    }
    mcsec_status_t rc = mcsec_random_bytes(key, MCSEC_PROFILE_KEY_LEN);
    if (rc == MCSEC_OK)
        rc = mcsec_gmk_build(tx, peer_uri, key, key_id, NULL, ntp_time, out, cap, out_len);
    if (rc != MCSEC_OK)
        mcsec_memzero(key, MCSEC_PROFILE_KEY_LEN);
    return rc;
}

mcsec_status_t mcsec_direct_mikey_accept(mcsec_profile_receiver_t *rx, const char *peer_uri,
                                         const uint8_t *msg, size_t len, uint32_t key_id,
                                         uint8_t key[MCSEC_PROFILE_KEY_LEN],
                                         mcsec_profile_check_t *check)
{
    mcsec_gmk_result_t res;
    memset(&res, 0, sizeof res);
    if (check != NULL)
        *check = MCSEC_CHECK_NONE;
    if (rx == NULL || peer_uri == NULL || peer_uri[0] == 0 || msg == NULL || key == NULL)
        return MCSEC_ERR_BAD_INPUT;
    mcsec_status_t rc = mcsec_profile_receiver_set_signer(rx, peer_uri);
    if (rc != MCSEC_OK)
        goto out;
    rc = mcsec_gmk_open(rx, msg, len, MCSEC_OPEN_EXPECT_PCK, &res);
    if (check != NULL)
        *check = res.check;
    if (rc != MCSEC_OK)
        goto out;
    if (res.key_id != key_id) {
        if (check != NULL)
            *check = MCSEC_CHECK_KEY_ID;
        rc = MCSEC_ERR_VERIFY; /* a genuine message, but for another KD */
        goto out;
    }
    memcpy(key, res.key, MCSEC_PROFILE_KEY_LEN);
out:
    mcsec_gmk_result_wipe(&res);
    return rc;
}
