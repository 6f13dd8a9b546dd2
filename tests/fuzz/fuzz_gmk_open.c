/* libFuzzer target for mcsec_gmk_open (GMK / CSK / PCK I_MESSAGE profile).
 *
 * The test KMS of tests/unit/proto_profile.c is rebuilt here from the same fixed secrets, so
 * the seed corpus (corpus/gmk_open, written by `test_proto_profile --write-corpus`) opens.
 * Inputs that parse with a 129-octet ECCSI SIGN are re-signed by the group identity before
 * opening when their last octet (inside the signature it replaces) is even, so the checks
 * after the signature (recipient, key period, decapsulation, GUK-ID, key parameters) are
 * reached too. Opens are diagnostic
 * (no replay recording) with a fixed clock. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/obj_mac.h>

#include "mcsec/profile.h"
#include "mcsec/secmem.h"
#include "profile_fuzz.h"

static const uint8_t z_tail[16] = {0x5a, 0x17, 0x3c, 0x99, 0x01, 0x23, 0x45, 0x67,
                                   0x89, 0xab, 0xcd, 0xef, 0x10, 0x32, 0x54, 0x76};


static mcsec_profile_receiver_t *rx;
static mcsec_eccsi_signer_t *gms;

static void init(void) {
    mcsec_kms_params_t kms;
    memset(&kms, 0, sizeof kms);
    strcpy(kms.kms_uri, KMS_URI);
    kms.user_id_format = 2;
    kms.key_period = KEY_PERIOD;
    uint8_t z[MCSEC_SAKKE_SCALAR_LEN] = {0}, uid[32], ssk[32], pvt[65];
    memcpy(z + sizeof z - 16, z_tail, 16);
    EC_GROUP *g = EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1);
    EC_POINT *pt = EC_POINT_new(g);
    BIGNUM *k = BN_bin2bn(ksak, 32, NULL);
    if (EC_POINT_mul(g, pt, k, NULL, NULL, NULL) != 1 ||
        EC_POINT_point2oct(g, pt, POINT_CONVERSION_UNCOMPRESSED, kms.kpak, 65, NULL) != 65)
        abort();
    BN_free(k), EC_POINT_free(pt), EC_GROUP_free(g);
    mcsec_keyset_t ks;
    memset(&ks, 0, sizeof ks);
    strcpy(ks.user_uri, ALICE_URI);
    ks.period_no = PN;
    if (mcsec_sakke_kms_public(z, kms.Z) != MCSEC_OK ||
        mcsec_uid_format2(ALICE_URI, KMS_URI, KEY_PERIOD, 0, PN, ks.uid) != MCSEC_OK ||
        mcsec_sakke_issue_rsk(z, ks.uid, 32, ks.rsk) != MCSEC_OK ||
        mcsec_profile_receiver_new(&rx, &kms, ALICE_URI) != MCSEC_OK ||
        mcsec_profile_receiver_add_keyset(rx, &ks) != MCSEC_OK ||
        mcsec_uid_format2(GROUP_URI, KMS_URI, KEY_PERIOD, 0, PN, uid) != MCSEC_OK ||
        mcsec_eccsi_issue(ksak, kms.kpak, uid, 32, ssk, pvt) != MCSEC_OK ||
        mcsec_eccsi_signer_new(&gms, kms.kpak, uid, 32, ssk, pvt) != MCSEC_OK)
        abort();
    mcsec_profile_receiver_set_clock(rx, fixed_clock, NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static uint8_t buf[70000];
    if (rx == NULL) init();
    if (!fuzz_prepare(buf, sizeof buf, data, size, gms)) return 0;
    mcsec_gmk_result_t r;
    mcsec_status_t st = mcsec_gmk_open(rx, buf, size, MCSEC_OPEN_DIAGNOSTIC, &r);
    if (st == MCSEC_OK) {
        if (r.check != MCSEC_CHECK_NONE || r.initiator_uid.len != 32 || r.responder_uid.len != 32)
            abort();
        if (r.key_params_decoded && (strlen(r.key_params.text) > MCSEC_PROFILE_TEXT_MAX))
            abort();
    } else {
        static const uint8_t zero[16];
        if (r.check == MCSEC_CHECK_NONE || r.why == NULL || memcmp(r.key, zero, 16) != 0) abort();
    }
    mcsec_gmk_result_wipe(&r);
    return 0;
}
