/* Key unwrap with the keys secret: a GMK I_MESSAGE (MIKEY-SAKKE) built by a group identity
 * for a member and opened by the member (GMK = SSV, RSK, the group identity's SSK), then a GSK
 * message (MIKEY PSK under the GMK, KEMAC) built by a talker and opened by the member (GMK,
 * GSK, the talker's SSK). The messages are public by design: the library declassifies the
 * SAKKE data, the KEMAC ciphertext and MAC, the GUK-ID and the signature. */
#include <stdio.h>
#include <string.h>

#include "ct.h"
#include "mcsec/profile.h"
#include "mcsec/secmem.h"

#define KMS_URI "kms.example.org"
#define GROUP_URI "sip:fire-north@example.org"
#define ALICE_URI "sip:alice@example.org"
#define BOB_URI "sip:bob@example.org"
#define KEY_PERIOD 2592000ull
#define NOW 3900000000ull /* NTP seconds */
#define PN (NOW / KEY_PERIOD)
#define GMK_ID 0x0a0b0c0du
#define GSK_ID 0x0c0d0e0fu

static uint8_t ksak[MCSEC_ECCSI_SCALAR_LEN], z[MCSEC_SAKKE_SCALAR_LEN];
static uint8_t gmk[MCSEC_PROFILE_KEY_LEN];

static uint64_t fixed_clock(void *user)
{
    (void)user;
    return NOW;
}

/* The identity's signer for period PN, its SSK secret from issuance on. */
static mcsec_eccsi_signer_t *signer_for(const mcsec_kms_params_t *kms, const char *uri,
                                        uint8_t uid[MCSEC_UID_LEN])
{
    uint8_t ssk[MCSEC_ECCSI_SCALAR_LEN], pvt[MCSEC_ECCSI_POINT_LEN];
    mcsec_eccsi_signer_t *s = NULL;
    CHECK_STATUS(mcsec_uid_format2(uri, KMS_URI, KEY_PERIOD, 0, PN, uid), MCSEC_OK);
    CHECK_STATUS(mcsec_eccsi_issue(ksak, kms->kpak, uid, MCSEC_UID_LEN, ssk, pvt), MCSEC_OK);
    CHECK(ct_is_secret(ssk, sizeof ssk));
    CHECK_STATUS(mcsec_eccsi_signer_new(&s, kms->kpak, uid, MCSEC_UID_LEN, ssk, pvt), MCSEC_OK);
    mcsec_memzero(ssk, sizeof ssk);
    return s;
}

/* The member's GMK store: the record's GMK is secret. */
static mcsec_status_t lookup(void *user, uint32_t gmk_id, mcsec_gmk_record_t *out)
{
    (void)user;
    if (gmk_id != GMK_ID)
        return MCSEC_ERR_UNKNOWN_KEY;
    memset(out, 0, sizeof *out);
    snprintf(out->group_uri, sizeof out->group_uri, "%s", GROUP_URI);
    memcpy(out->gmk, gmk, sizeof out->gmk);
    CT_SECRET(out->gmk, sizeof out->gmk);
    out->gmk_id = GMK_ID;
    return MCSEC_OK;
}

void ct_profile(void)
{
    mcsec_kms_params_t kms;
    mcsec_keyset_t ks;
    mcsec_sakke_sender_t *sakke = NULL;
    mcsec_eccsi_signer_t *group = NULL, *bob = NULL;
    mcsec_profile_receiver_t *alice = NULL;
    static uint8_t msg[4096];
    size_t len = 0;
    uint8_t uid[MCSEC_UID_LEN], bob_uid[MCSEC_UID_LEN], gsk[MCSEC_PROFILE_KEY_LEN];

    memset(&kms, 0, sizeof kms);
    snprintf(kms.kms_uri, sizeof kms.kms_uri, "%s", KMS_URI);
    kms.user_id_format = 2;
    kms.key_period = KEY_PERIOD;
    CHECK_STATUS(mcsec_sakke_kms_generate(z, kms.Z), MCSEC_OK);
    CHECK_STATUS(mcsec_eccsi_kms_generate(ksak, kms.kpak), MCSEC_OK);
    CHECK_STATUS(mcsec_sakke_sender_new(&sakke, kms.Z), MCSEC_OK);
    group = signer_for(&kms, GROUP_URI, uid);
    bob = signer_for(&kms, BOB_URI, bob_uid);

    /* Alice's key set: the RSK is secret. */
    memset(&ks, 0, sizeof ks);
    snprintf(ks.user_uri, sizeof ks.user_uri, "%s", ALICE_URI);
    ks.period_no = PN;
    CHECK_STATUS(mcsec_uid_format2(ALICE_URI, KMS_URI, KEY_PERIOD, 0, PN, ks.uid), MCSEC_OK);
    CHECK_STATUS(mcsec_sakke_issue_rsk(z, ks.uid, MCSEC_UID_LEN, ks.rsk), MCSEC_OK);
    CHECK_STATUS(mcsec_profile_receiver_new(&alice, &kms, ALICE_URI), MCSEC_OK);
    if (alice == NULL || sakke == NULL || group == NULL || bob == NULL)
        goto out;
    mcsec_profile_receiver_set_clock(alice, fixed_clock, NULL);
    CHECK_STATUS(mcsec_profile_receiver_add_keyset(alice, &ks), MCSEC_OK);
    mcsec_memzero(&ks, sizeof ks);

    /* GMK I_MESSAGE: group identity -> Alice, with key parameters. */
    CHECK_STATUS(mcsec_random_bytes(gmk, sizeof gmk), MCSEC_OK);
    CT_SECRET(gmk, sizeof gmk);
    mcsec_key_params_t kp;
    memset(&kp, 0, sizeof kp);
    kp.key_type = MCSEC_PURPOSE_GMK;
    kp.activation = (NOW - 60) << 32;
    kp.expiry = (NOW + 86400) << 32;
    snprintf(kp.text, sizeof kp.text, "fire-north talkgroup");
    snprintf(kp.group_id, sizeof kp.group_id, "%s", GROUP_URI);
    mcsec_gmk_sender_t tx = {.initiator_uri = GROUP_URI, .kms_uri = KMS_URI,
                             .key_period = KEY_PERIOD, .signer = group, .sakke = sakke};
    CHECK_STATUS(mcsec_gmk_build(&tx, ALICE_URI, gmk, GMK_ID, &kp, NOW << 32, msg, sizeof msg,
                                 &len),
                 MCSEC_OK);
    mcsec_gmk_result_t gres;
    CHECK_STATUS(mcsec_gmk_open(alice, msg, len, MCSEC_OPEN_EXPECT_GMK, &gres), MCSEC_OK);
    CHECK(ct_is_secret(gres.key, sizeof gres.key));
    CHECK(gres.key_params_decoded == 1 && gres.group_id_bound == 1);
    mcsec_gmk_result_wipe(&gres);
    /* A tampered SAKKE payload: refused, the verdict public (the message is replayed too, so
     * open it as a diagnostic to reach decapsulation). */
    msg[len / 2] ^= 0x01;
    CHECK(mcsec_gmk_open(alice, msg, len, MCSEC_OPEN_DIAGNOSTIC, &gres) != MCSEC_OK);
    mcsec_gmk_result_wipe(&gres);

    /* GSK message: Bob talks in the group; Alice unwraps the GSK with the GMK. */
    CHECK_STATUS(mcsec_random_bytes(gsk, sizeof gsk), MCSEC_OK);
    CT_SECRET(gsk, sizeof gsk);
    CHECK_STATUS(mcsec_gsk_build(bob, BOB_URI, bob_uid, GROUP_URI, gmk, GMK_ID, gsk, GSK_ID,
                                 NOW << 32, msg, sizeof msg, &len),
                 MCSEC_OK);
    mcsec_gsk_keys_t keys = {.lookup = lookup};
    mcsec_gsk_result_t sres;
    CHECK_STATUS(mcsec_gsk_open(alice, &keys, msg, len, 0, &sres), MCSEC_OK);
    CHECK(ct_is_secret(sres.gsk, sizeof sres.gsk));
    CT_PUBLIC(sres.gsk, sizeof sres.gsk); /* only to compare, after its last use */
    CT_PUBLIC(gsk, sizeof gsk);
    CHECK(memcmp(sres.gsk, gsk, sizeof gsk) == 0);
    mcsec_gsk_result_wipe(&sres);
    /* A wrong GMK: the KEMAC MAC fails, the verdict public. */
    gmk[0] ^= 0x80;
    CHECK_STATUS(mcsec_gsk_open(alice, &keys, msg, len, MCSEC_OPEN_DIAGNOSTIC, &sres),
                 MCSEC_ERR_VERIFY);
    mcsec_gsk_result_wipe(&sres);
out:
    mcsec_profile_receiver_free(alice);
    mcsec_eccsi_signer_free(bob);
    mcsec_eccsi_signer_free(group);
    mcsec_sakke_sender_free(sakke);
    mcsec_memzero(gmk, sizeof gmk);
    mcsec_memzero(ksak, sizeof ksak);
    mcsec_memzero(z, sizeof z);
}
