/* libFuzzer target for mcsec_gsk_open (group session key message profile).
 *
 * The test KMS of tests/unit/proto_profile.c is rebuilt from the same fixed secrets, so the
 * seed corpus (corpus/gsk_open, written by `test_proto_profile --write-corpus`) opens. Inputs
 * that parse with a 129-octet ECCSI SIGN are re-signed by the talker (Bob) when the last octet
 * (inside the signature it replaces) is even, so the MAC, decryption and KEY_DATA checks are
 * reached too. The GMK store knows one GMK; opens are diagnostic with a fixed clock. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/obj_mac.h>

#include "mcsec/profile.h"
#include "mcsec/secmem.h"
#include "profile_fuzz.h"

#define BOB_URI "sip:bob@example.org"
#define GMK_ID 0x0a0b0c0du

static const uint8_t gmk_key[16] = {0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,
                                    0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10};

static mcsec_profile_receiver_t *rx;
static mcsec_eccsi_signer_t *bob;

static mcsec_status_t lookup(void *user, uint32_t gmk_id, mcsec_gmk_record_t *out) {
    (void)user;
    memset(out, 0, sizeof *out);
    if (gmk_id != GMK_ID) return MCSEC_ERR_UNKNOWN_KEY;
    strcpy(out->group_uri, GROUP_URI);
    memcpy(out->gmk, gmk_key, 16);
    out->gmk_id = GMK_ID;
    return MCSEC_OK;
}

static void init(void) {
    mcsec_kms_params_t kms;
    memset(&kms, 0, sizeof kms);
    strcpy(kms.kms_uri, KMS_URI);
    kms.user_id_format = 2;
    kms.key_period = KEY_PERIOD;
    uint8_t uid[32], ssk[32], pvt[65];
    EC_GROUP *g = EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1);
    EC_POINT *pt = EC_POINT_new(g);
    BIGNUM *k = BN_bin2bn(ksak, 32, NULL);
    if (EC_POINT_mul(g, pt, k, NULL, NULL, NULL) != 1 ||
        EC_POINT_point2oct(g, pt, POINT_CONVERSION_UNCOMPRESSED, kms.kpak, 65, NULL) != 65)
        abort();
    BN_free(k), EC_POINT_free(pt), EC_GROUP_free(g);
    kms.Z[0] = 4; /* not used by GSK opens */
    if (mcsec_profile_receiver_new(&rx, &kms, ALICE_URI) != MCSEC_OK ||
        mcsec_uid_format2(BOB_URI, KMS_URI, KEY_PERIOD, 0, PN, uid) != MCSEC_OK ||
        mcsec_eccsi_issue(ksak, kms.kpak, uid, 32, ssk, pvt) != MCSEC_OK ||
        mcsec_eccsi_signer_new(&bob, kms.kpak, uid, 32, ssk, pvt) != MCSEC_OK)
        abort();
    mcsec_profile_receiver_set_clock(rx, fixed_clock, NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static uint8_t buf[70000];
    static const mcsec_gsk_keys_t keys = {lookup, NULL, NULL, NULL};
    if (rx == NULL) init();
    if (!fuzz_prepare(buf, sizeof buf, data, size, bob)) return 0;
    mcsec_gsk_result_t r;
    mcsec_status_t st = mcsec_gsk_open(rx, &keys, buf, size, MCSEC_OPEN_DIAGNOSTIC, &r);
    if (st == MCSEC_OK) {
        if (r.check != MCSEC_CHECK_NONE || r.talker_uid.len != 32 || r.gmk_id != GMK_ID) abort();
    } else {
        static const uint8_t zero[16];
        if (r.check == MCSEC_CHECK_NONE || r.why == NULL || memcmp(r.gsk, zero, 16) != 0) abort();
    }
    mcsec_gsk_result_wipe(&r);
    return 0;
}
