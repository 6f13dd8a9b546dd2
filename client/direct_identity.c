/* A handset's identity keys for direct links, loaded from its keystore: who it is (the user
 * URI of its latest key set), how it signs and encrypts key creation data for a peer (ECCSI
 * signer and SAKKE sender of the current key period) and how it opens the peer's (a MIKEY
 * receiver with its own replay cache, loading key sets from the store by period). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "direct_internal.h"
#include "mcsec/keystore.h"
#include "mcsec/secmem.h"

#define NTP_UNIX_OFFSET 2208988800u
#define MAX_PERIODS 64

struct mcsec_direct_identity {
    mcsec_keystore_t *ks;
    mcsec_kms_params_t kms;
    char uri[MCSEC_KEYSTORE_URI_MAX];
    mcsec_eccsi_signer_t *signer;
    mcsec_sakke_sender_t *sakke;
    mcsec_gmk_sender_t tx;
    mcsec_profile_receiver_t *rx;
};

static mcsec_status_t fetch_keyset(void *user, uint64_t period_no, mcsec_keyset_t *out)
{
    return mcsec_keystore_get_keyset(user, period_no, out);
}

mcsec_status_t mcsec_direct_identity_open(mcsec_direct_identity_t **out, mcsec_keystore_t *ks)
{
    uint64_t periods[MAX_PERIODS], period = 0;
    size_t n = 0;
    mcsec_keyset_t set;
    memset(&set, 0, sizeof set);
    if (out == NULL || ks == NULL)
        return MCSEC_ERR_BAD_INPUT;
    *out = NULL;
    mcsec_direct_identity_t *id = calloc(1, sizeof *id);
    if (id == NULL)
        return MCSEC_ERR_NOMEM;
    id->ks = ks;
    mcsec_status_t rc = mcsec_keystore_get_kms(ks, &id->kms);
    if (rc != MCSEC_OK)
        goto out;
    rc = mcsec_keystore_list_periods(ks, periods, MAX_PERIODS, &n);
    if (rc != MCSEC_OK && rc != MCSEC_ERR_BAD_LENGTH)
        goto out;
    if (n == 0) {
        rc = MCSEC_ERR_UNKNOWN_KEY;
        goto out;
    }
    if (n > MAX_PERIODS)
        n = MAX_PERIODS;
    if ((rc = mcsec_keystore_get_keyset(ks, periods[n - 1], &set)) != MCSEC_OK)
        goto out;
    snprintf(id->uri, sizeof id->uri, "%s", set.user_uri);
    mcsec_memzero(&set, sizeof set);
    rc = mcsec_key_period_no((uint64_t)time(NULL) + NTP_UNIX_OFFSET, id->kms.key_period,
                             id->kms.key_period_offset, &period);
    if (rc != MCSEC_OK || (rc = mcsec_keystore_get_keyset(ks, period, &set)) != MCSEC_OK) {
        rc = MCSEC_ERR_KEY_PERIOD;
        goto out;
    }
    if ((rc = mcsec_eccsi_signer_new(&id->signer, id->kms.kpak, set.uid, sizeof set.uid, set.ssk,
                                     set.pvt)) != MCSEC_OK ||
        (rc = mcsec_sakke_sender_new(&id->sakke, id->kms.Z)) != MCSEC_OK ||
        (rc = mcsec_profile_receiver_new(&id->rx, &id->kms, id->uri)) != MCSEC_OK)
        goto out;
    mcsec_profile_receiver_set_fetch(id->rx, fetch_keyset, ks);
    id->tx.initiator_uri = id->uri;
    id->tx.kms_uri = id->kms.kms_uri;
    id->tx.key_period = id->kms.key_period;
    id->tx.key_period_offset = id->kms.key_period_offset;
    id->tx.signer = id->signer;
    id->tx.sakke = id->sakke;
    *out = id;
    id = NULL;
out:
    mcsec_memzero(&set, sizeof set);
    mcsec_direct_identity_close(id);
    return rc;
}

void mcsec_direct_identity_close(mcsec_direct_identity_t *id)
{
    if (id == NULL)
        return;
    mcsec_eccsi_signer_free(id->signer);
    mcsec_sakke_sender_free(id->sakke);
    mcsec_profile_receiver_free(id->rx);
    mcsec_memzero(id, sizeof *id);
    free(id);
}

const char *mcsec_direct_identity_uri(const mcsec_direct_identity_t *id)
{
    return id != NULL ? id->uri : "";
}

const mcsec_gmk_sender_t *mcsec_direct_identity_sender(const mcsec_direct_identity_t *id)
{
    return id != NULL ? &id->tx : NULL;
}

mcsec_profile_receiver_t *mcsec_direct_identity_receiver(mcsec_direct_identity_t *id)
{
    return id != NULL ? id->rx : NULL;
}
