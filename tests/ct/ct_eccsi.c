/* ECCSI (RFC 6507) with secret KSAK, v, SSK and j: KMS key generation, issuance, key
 * validation, signing. The signature, KPAK and PVT are public by design; the library marks them
 * so itself (crypto/eccsi.c). */
#include <string.h>

#include "ct.h"
#include "mcsec/eccsi.h"
#include "internal.h" /* crypto/: the deterministic variants (RFC 6507 Appendix A) */

/* RFC 6507 Appendix A. */
static const uint8_t kat_ksak[MCSEC_ECCSI_SCALAR_LEN] = {[29] = 0x01, 0x23, 0x45};
static const uint8_t kat_v[MCSEC_ECCSI_SCALAR_LEN] = {[29] = 0x02, 0x34, 0x56};
static const uint8_t kat_j[MCSEC_ECCSI_SCALAR_LEN] = {[29] = 0x03, 0x45, 0x67};
static const uint8_t kat_id[] = "2011-02\0tel:+447700900123";
static const uint8_t kat_msg[] = "message";
static const uint8_t kat_ssk[MCSEC_ECCSI_SCALAR_LEN] = {
    0x23, 0xf3, 0x74, 0xae, 0x1f, 0x40, 0x33, 0xf3, 0xe9, 0xdb, 0xdd, 0xaa, 0xef, 0x20, 0xf4, 0xcf,
    0x0b, 0x86, 0xbb, 0xd5, 0xa1, 0x38, 0xa5, 0xae, 0x9e, 0x7e, 0x00, 0x6b, 0x34, 0x48, 0x9a, 0x0d};
static const uint8_t kat_rs[2 * MCSEC_ECCSI_SCALAR_LEN] = {
    0x26, 0x9d, 0x4c, 0x8f, 0xde, 0xb6, 0x6a, 0x74, 0xe4, 0xef, 0x8c, 0x0d, 0x5d, 0xcc, 0x59, 0x7d,
    0xdf, 0xe6, 0x02, 0x9c, 0x2a, 0xff, 0xc4, 0x93, 0x60, 0x08, 0xcd, 0x2c, 0xc1, 0x04, 0x5d, 0x81,
    0xe0, 0x9b, 0x52, 0x8d, 0x0e, 0xf8, 0xd6, 0xdf, 0x1a, 0xa3, 0xec, 0xbf, 0x80, 0x11, 0x0c, 0xfc,
    0xec, 0x9f, 0xc6, 0x82, 0x52, 0xce, 0xbb, 0x67, 0x9f, 0x41, 0x34, 0x84, 0x69, 0x40, 0xcc, 0xfd};

/* The known answers with every secret marked: the results must still be right. */
static void eccsi_kat(void)
{
    uint8_t ksak[MCSEC_ECCSI_SCALAR_LEN], v[MCSEC_ECCSI_SCALAR_LEN], j[MCSEC_ECCSI_SCALAR_LEN];
    uint8_t kpak[MCSEC_ECCSI_POINT_LEN], pvt[MCSEC_ECCSI_POINT_LEN], ssk[MCSEC_ECCSI_SCALAR_LEN];
    uint8_t sig[MCSEC_ECCSI_SIG_LEN];
    mcsec_eccsi_signer_t *signer = NULL;
    memcpy(ksak, kat_ksak, sizeof ksak);
    memcpy(v, kat_v, sizeof v);
    memcpy(j, kat_j, sizeof j);
    CT_SECRET(ksak, sizeof ksak);
    CT_SECRET(v, sizeof v);
    CT_SECRET(j, sizeof j);
    CHECK_STATUS(mcsec_eccsi_kms_public(ksak, kpak), MCSEC_OK);
    CHECK_STATUS(mcsec_eccsi_issue_with_v(ksak, kpak, kat_id, sizeof kat_id, v, ssk, pvt),
                 MCSEC_OK);
    CHECK_STATUS(mcsec_eccsi_signer_new(&signer, kpak, kat_id, sizeof kat_id, ssk, pvt), MCSEC_OK);
    CHECK_STATUS(mcsec_eccsi_sign_with_j(signer, kat_msg, sizeof kat_msg, j, sig, NULL), MCSEC_OK);
    CHECK(memcmp(sig, kat_rs, sizeof kat_rs) == 0); /* the signature is public */
    CT_PUBLIC(ssk, sizeof ssk); /* only to compare with the known answer, after its last use */
    CHECK(memcmp(ssk, kat_ssk, sizeof ssk) == 0);
    mcsec_eccsi_signer_free(signer);
}

/* The production paths: random KSAK, v, j. */
static void eccsi_random(void)
{
    static const uint8_t id[] = "2024-01\0sip:alice@example.org";
    uint8_t ksak[MCSEC_ECCSI_SCALAR_LEN], kpak[MCSEC_ECCSI_POINT_LEN];
    uint8_t ssk[MCSEC_ECCSI_SCALAR_LEN], pvt[MCSEC_ECCSI_POINT_LEN], sig[MCSEC_ECCSI_SIG_LEN];
    mcsec_eccsi_signer_t *signer = NULL;
    mcsec_eccsi_verifier_t *verifier = NULL;
    CHECK_STATUS(mcsec_eccsi_kms_generate(ksak, kpak), MCSEC_OK);
    CT_SECRET(ksak, sizeof ksak); /* already, from the library's draw; say it here too */
    CHECK_STATUS(mcsec_eccsi_issue(ksak, kpak, id, sizeof id, ssk, pvt), MCSEC_OK);
    CHECK_STATUS(mcsec_eccsi_validate(kpak, id, sizeof id, ssk, pvt), MCSEC_OK);
    CHECK_STATUS(mcsec_eccsi_signer_new(&signer, kpak, id, sizeof id, ssk, pvt), MCSEC_OK);
    CHECK_STATUS(mcsec_eccsi_verifier_new(&verifier, kpak, 4), MCSEC_OK);
    for (int i = 0; i < 4 && signer != NULL && verifier != NULL; i++) {
        uint8_t msg[40];
        memset(msg, 'a' + i, sizeof msg);
        CHECK_STATUS(mcsec_eccsi_sign(signer, msg, sizeof msg, sig), MCSEC_OK);
        CHECK_STATUS(mcsec_eccsi_verify(verifier, id, sizeof id, msg, sizeof msg, sig, sizeof sig),
                     MCSEC_OK);
    }
    /* A key pair that does not validate: the verdict is public, the SSK stays secret. */
    ssk[31] ^= 1;
    CHECK_STATUS(mcsec_eccsi_validate(kpak, id, sizeof id, ssk, pvt), MCSEC_ERR_KEY_INVALID);
    mcsec_eccsi_verifier_free(verifier);
    mcsec_eccsi_signer_free(signer);
}

void ct_eccsi(void)
{
    eccsi_kat();
    eccsi_random();
}
