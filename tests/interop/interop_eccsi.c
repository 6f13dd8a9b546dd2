/* ECCSI (RFC 6507) interop with an independent implementation, wolfCrypt:
 *  - a wolfSSL KMS issues (SSK, PVT); mcsec validates the pair, signs, and wolfSSL verifies;
 *    wolfSSL signs and mcsec verifies (cached and uncached verifier);
 *  - an mcsec KMS issues; wolfSSL validates the pair, and the same sign/verify crossings;
 *  - KMS key transfer: wolfSSL imports mcsec's KSAK and derives the same KPAK, and its
 *    issued pairs validate under mcsec;
 *  - both reject each other's signatures once modified, and pairs for another identity.
 * Identities: random 32-octet UIDs, the RFC 6507 identifier, a SIP URI. */
#include <stdint.h>
#include <string.h>

#include "internal.h" /* mcsec_eccsi_kms_public */
#include "mcsec/eccsi.h"
#include "mcsec/secmem.h"
#include "test.h"
#include "interop.h"

/* wolfSSL's view of a signature: 1 valid, 0 rejected (either as invalid or with an error). */
static int wolf_accepts(wolf_eccsi_t *w, const uint8_t *id, size_t id_len, const uint8_t *msg,
                        size_t msg_len, const uint8_t *sig) {
    int valid = 0;
    int ret = wolf_eccsi_verify(w, id, id_len, msg, msg_len, sig, MCSEC_ECCSI_SIG_LEN, &valid);
    return ret == 0 && valid == 1;
}

static size_t random_len(size_t max) {
    uint8_t b[2];
    if (mcsec_random_bytes(b, sizeof b) != MCSEC_OK) return 0;
    return ((size_t)b[0] << 8 | b[1]) % (max + 1);
}

/* Sign/verify both ways for one identity holding (ssk, pvt) under kpak. */
static void cross_sign(const uint8_t kpak[MCSEC_ECCSI_POINT_LEN], const uint8_t *id, size_t id_len,
                       const uint8_t ssk[MCSEC_ECCSI_SCALAR_LEN],
                       const uint8_t pvt[MCSEC_ECCSI_POINT_LEN]) {
    mcsec_eccsi_signer_t *signer = NULL;
    mcsec_eccsi_verifier_t *ver = NULL, *cold = NULL;
    wolf_eccsi_t *w = NULL;
    uint8_t msg[300], sig[MCSEC_ECCSI_SIG_LEN], hs[MCSEC_ECCSI_HASH_LEN], whs[32];

    CHECK_STATUS(mcsec_eccsi_signer_new(&signer, kpak, id, id_len, ssk, pvt), MCSEC_OK);
    CHECK_STATUS(mcsec_eccsi_verifier_new(&ver, kpak, 8), MCSEC_OK);
    CHECK_STATUS(mcsec_eccsi_verifier_new(&cold, kpak, 0), MCSEC_OK);
    CHECK_WOLF(wolf_eccsi_public(&w, kpak));
    if (signer == NULL || ver == NULL || cold == NULL || w == NULL) goto out;
    CHECK_WOLF(wolf_eccsi_set_signer(w, id, id_len, ssk, pvt));

    /* The same HS on both sides. */
    CHECK_STATUS(mcsec_eccsi_hash_hs(kpak, id, id_len, pvt, hs), MCSEC_OK);
    CHECK_WOLF(wolf_eccsi_hash_hs(w, id, id_len, pvt, whs));
    CHECK_MEM(hs, whs, sizeof hs);

    for (int i = 0; i < 4; i++) {
        size_t msg_len = i == 0 ? 0 : random_len(sizeof msg);
        CHECK_STATUS(mcsec_random_bytes(msg, sizeof msg), MCSEC_OK);

        /* mcsec signs, wolfSSL verifies; then a modified message / signature is refused. */
        CHECK_STATUS(mcsec_eccsi_sign(signer, msg, msg_len, sig), MCSEC_OK);
        CHECK_MEM(sig + 64, pvt, MCSEC_ECCSI_POINT_LEN);
        CHECK(wolf_accepts(w, id, id_len, msg, msg_len, sig));
        msg[0] ^= 0x01;
        CHECK(!wolf_accepts(w, id, id_len, msg, msg_len > 0 ? msg_len : 1, sig));
        msg[0] ^= 0x01;
        sig[33] ^= 0x40; /* s */
        CHECK(!wolf_accepts(w, id, id_len, msg, msg_len, sig));
        sig[33] ^= 0x40;
        CHECK(!wolf_accepts(w, id, id_len - 1, msg, msg_len, sig));

        /* wolfSSL signs, mcsec verifies (with and without its Y cache). */
        CHECK_WOLF(wolf_eccsi_sign(w, msg, msg_len, sig));
        CHECK_MEM(sig + 64, pvt, MCSEC_ECCSI_POINT_LEN);
        CHECK_STATUS(mcsec_eccsi_verify(ver, id, id_len, msg, msg_len, sig, sizeof sig), MCSEC_OK);
        CHECK_STATUS(mcsec_eccsi_verify(cold, id, id_len, msg, msg_len, sig, sizeof sig), MCSEC_OK);
        sig[5] ^= 0x10; /* r */
        CHECK_STATUS(mcsec_eccsi_verify(ver, id, id_len, msg, msg_len, sig, sizeof sig),
                     MCSEC_ERR_VERIFY);
        sig[5] ^= 0x10;
        sig[40] ^= 0x01; /* s */
        CHECK_STATUS(mcsec_eccsi_verify(ver, id, id_len, msg, msg_len, sig, sizeof sig),
                     MCSEC_ERR_VERIFY);
        sig[40] ^= 0x01;
        CHECK_STATUS(mcsec_eccsi_verify(ver, id, id_len - 1, msg, msg_len, sig, sizeof sig),
                     MCSEC_ERR_VERIFY);
        CHECK_STATUS(mcsec_eccsi_verify(ver, id, id_len, msg, msg_len, sig, sizeof sig), MCSEC_OK);
    }
out:
    mcsec_eccsi_signer_free(signer);
    mcsec_eccsi_verifier_free(ver);
    mcsec_eccsi_verifier_free(cold);
    wolf_eccsi_free(w);
}

/* A wolfSSL KMS issues; mcsec validates and uses the pair. */
static void wolf_kms_issues(const uint8_t *id, size_t id_len) {
    wolf_eccsi_t *kms = NULL;
    uint8_t kpak[MCSEC_ECCSI_POINT_LEN], ssk[MCSEC_ECCSI_SCALAR_LEN];
    uint8_t pvt[MCSEC_ECCSI_POINT_LEN], ksak[MCSEC_ECCSI_SCALAR_LEN], kpak2[65];

    CHECK_WOLF(wolf_eccsi_kms_generate(&kms));
    if (kms == NULL) return;
    CHECK_WOLF(wolf_eccsi_kpak(kms, kpak));
    CHECK_WOLF(wolf_eccsi_issue(kms, id, id_len, ssk, pvt));
    CHECK_STATUS(mcsec_eccsi_validate(kpak, id, id_len, ssk, pvt), MCSEC_OK);
    CHECK_STATUS(mcsec_eccsi_validate(kpak, id, id_len - 1, ssk, pvt), MCSEC_ERR_KEY_INVALID);
    /* mcsec derives the same KPAK from wolfSSL's KSAK. */
    CHECK_WOLF(wolf_eccsi_ksak(kms, ksak));
    CHECK_STATUS(mcsec_eccsi_kms_public(ksak, kpak2), MCSEC_OK);
    CHECK_MEM(kpak2, kpak, sizeof kpak);
    cross_sign(kpak, id, id_len, ssk, pvt);
    mcsec_memzero(ksak, sizeof ksak);
    mcsec_memzero(ssk, sizeof ssk);
    wolf_eccsi_free(kms);
}

/* An mcsec KMS issues; wolfSSL validates and uses the pair; wolfSSL, given mcsec's KSAK,
 * issues pairs that mcsec accepts. */
static void mcsec_kms_issues(const uint8_t *id, size_t id_len) {
    uint8_t ksak[MCSEC_ECCSI_SCALAR_LEN], kpak[MCSEC_ECCSI_POINT_LEN];
    uint8_t ssk[MCSEC_ECCSI_SCALAR_LEN], pvt[MCSEC_ECCSI_POINT_LEN], kpak2[65];
    wolf_eccsi_t *w = NULL, *wkms = NULL;
    int valid = 0;

    CHECK_STATUS(mcsec_eccsi_kms_generate(ksak, kpak), MCSEC_OK);
    CHECK_STATUS(mcsec_eccsi_issue(ksak, kpak, id, id_len, ssk, pvt), MCSEC_OK);
    CHECK_WOLF(wolf_eccsi_public(&w, kpak));
    if (w != NULL) {
        CHECK_WOLF(wolf_eccsi_validate(w, id, id_len, ssk, pvt, &valid));
        CHECK(valid == 1);
        CHECK_WOLF(wolf_eccsi_validate(w, id, id_len - 1, ssk, pvt, &valid));
        CHECK(valid == 0);
    }
    cross_sign(kpak, id, id_len, ssk, pvt);

    CHECK_WOLF(wolf_eccsi_kms_import(&wkms, ksak));
    if (wkms != NULL) {
        CHECK_WOLF(wolf_eccsi_kpak(wkms, kpak2));
        CHECK_MEM(kpak2, kpak, sizeof kpak);
        CHECK_WOLF(wolf_eccsi_issue(wkms, id, id_len, ssk, pvt));
        CHECK_STATUS(mcsec_eccsi_validate(kpak, id, id_len, ssk, pvt), MCSEC_OK);
    }
    mcsec_memzero(ksak, sizeof ksak);
    mcsec_memzero(ssk, sizeof ssk);
    wolf_eccsi_free(w);
    wolf_eccsi_free(wkms);
}

int main(void) {
    static const uint8_t rfc_id[] = "2011-02\0tel:+447700900123"; /* 26 octets with the NUL */
    static const char sip[] = "sip:alice@mcptt.example.org";
    uint8_t uid[32];

    CHECK_STATUS(mcsec_init(), MCSEC_OK);
    for (int i = 0; i < 4; i++) {
        CHECK_STATUS(mcsec_random_bytes(uid, sizeof uid), MCSEC_OK);
        wolf_kms_issues(uid, sizeof uid);
        mcsec_kms_issues(uid, sizeof uid);
    }
    wolf_kms_issues(rfc_id, sizeof rfc_id);
    mcsec_kms_issues(rfc_id, sizeof rfc_id);
    wolf_kms_issues((const uint8_t *)sip, strlen(sip));
    mcsec_kms_issues((const uint8_t *)sip, strlen(sip));
    wolf_peer_cleanup();
    return test_summary();
}
