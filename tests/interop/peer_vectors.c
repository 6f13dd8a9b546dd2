/* The wolfSSL peer alone against RFC 6507 / RFC 6508 Appendix A: before the interop tests
 * use wolfCrypt as a reference, check that it (and our wrapper's encodings) reproduce the
 * RFC values. No mcsec code is involved. */
#include <stdint.h>
#include <string.h>

#include "test.h"
#include "interop.h"

static void test_eccsi(void) {
    char *v = test_read_file("rfc6507.txt");
    uint8_t kpak[65], pvt[65], hs[32], ssk[32], id[64], msg[64], sig[129];
    uint8_t ksak[32] = {0};
    uint8_t out[129], ssk2[32], pvt2[65];
    int valid;

    /* KSAK = 0x12345 (RFC 6507 A): an odd number of hex digits, so not read from the file. */
    ksak[29] = 0x01;
    ksak[30] = 0x23;
    ksak[31] = 0x45;
    CHECK(test_vector(v, "KPAK", kpak, sizeof kpak) == 65);
    size_t id_len = test_vector(v, "ID", id, sizeof id);
    CHECK(id_len == 26);
    CHECK(test_vector(v, "PVT", pvt, sizeof pvt) == 65);
    CHECK(test_vector(v, "HS", hs, sizeof hs) == 32);
    CHECK(test_vector(v, "SSK", ssk, sizeof ssk) == 32);
    size_t msg_len = test_vector(v, "M", msg, sizeof msg);
    CHECK(msg_len == 8);
    CHECK(test_vector(v, "Signature", sig, sizeof sig) == 129);

    /* KMS: KPAK = [KSAK]G, computed by wolfSSL from KSAK alone. */
    wolf_eccsi_t *kms = NULL;
    CHECK_WOLF(wolf_eccsi_kms_import(&kms, ksak));
    if (kms != NULL) {
        CHECK_WOLF(wolf_eccsi_kpak(kms, out));
        CHECK_MEM(out, kpak, 65);
        CHECK_WOLF(wolf_eccsi_issue(kms, id, id_len, ssk2, pvt2));
        CHECK(pvt2[0] == 0x04);
        CHECK_WOLF(wolf_eccsi_validate(kms, id, id_len, ssk2, pvt2, &valid));
        CHECK(valid == 1);
    }
    wolf_eccsi_free(kms);

    /* Client: HS, pair validation, signature verification, signing. */
    wolf_eccsi_t *cl = NULL;
    CHECK_WOLF(wolf_eccsi_public(&cl, kpak));
    if (cl == NULL) goto out;
    CHECK_WOLF(wolf_eccsi_hash_hs(cl, id, id_len, pvt, out));
    CHECK_MEM(out, hs, 32);
    CHECK_WOLF(wolf_eccsi_validate(cl, id, id_len, ssk, pvt, &valid));
    CHECK(valid == 1);
    CHECK_WOLF(wolf_eccsi_validate(cl, id, id_len - 1, ssk, pvt, &valid));
    CHECK(valid == 0);
    CHECK_WOLF(wolf_eccsi_verify(cl, id, id_len, msg, msg_len, sig, sizeof sig, &valid));
    CHECK(valid == 1);
    CHECK_WOLF(wolf_eccsi_verify(cl, id, id_len, msg, msg_len - 1, sig, sizeof sig, &valid));
    CHECK(valid == 0);
    sig[40] ^= 0x01;
    CHECK_WOLF(wolf_eccsi_verify(cl, id, id_len, msg, msg_len, sig, sizeof sig, &valid));
    CHECK(valid == 0);
    sig[40] ^= 0x01;
    CHECK_WOLF(wolf_eccsi_set_signer(cl, id, id_len, ssk, pvt));
    CHECK_WOLF(wolf_eccsi_sign(cl, msg, msg_len, out));
    CHECK_MEM(out + 64, pvt, 65); /* r || s || PVT, PVT with its 04 */
    CHECK_WOLF(wolf_eccsi_verify(cl, id, id_len, msg, msg_len, out, sizeof out, &valid));
    CHECK(valid == 1);
out:
    wolf_eccsi_free(cl);
    free(v);
}

static void test_sakke(void) {
    char *v = test_read_file("rfc6508.txt");
    uint8_t z[128] = {0}, zs[32], Z[257], b[64], rsk[257], ssv[16], r[257], h[16];
    uint8_t out[273], enc[273];
    int valid;

    size_t zs_len = test_vector(v, "z_S", zs, sizeof zs);
    CHECK(zs_len == 20);
    memcpy(z + sizeof z - zs_len, zs, zs_len);
    CHECK(test_vector(v, "Z_S", Z, sizeof Z) == 257);
    size_t b_len = test_vector(v, "b", b, sizeof b);
    CHECK(b_len == 26); /* "2011-02\0tel:+447700900123\0" */
    CHECK(test_vector(v, "RSK", rsk, sizeof rsk) == 257);
    CHECK(test_vector(v, "SSV", ssv, sizeof ssv) == 16);
    CHECK(test_vector(v, "R_(b,S)", r, sizeof r) == 257);
    CHECK(test_vector(v, "H", h, sizeof h) == 16);
    memcpy(enc, r, 257);
    memcpy(enc + 257, h, 16);

    /* KMS: Z = [z]P computed by wolfSSL, RSK for b. */
    wolf_sakke_t *kms = NULL;
    CHECK_WOLF(wolf_sakke_kms_import(&kms, z));
    if (kms != NULL) {
        CHECK_WOLF(wolf_sakke_Z(kms, out));
        CHECK_MEM(out, Z, 257);
        CHECK_WOLF(wolf_sakke_issue_rsk(kms, b, b_len, out));
        CHECK_MEM(out, rsk, 257);
    }
    wolf_sakke_free(kms);

    /* Client: RSK validation, encapsulation (deterministic: r = HashToIntegerRange(SSV||b)),
     * decapsulation, with and without precomputation. */
    for (int pre = 0; pre <= 1; pre++) {
        wolf_sakke_t *cl = NULL;
        CHECK_WOLF(wolf_sakke_public(&cl, Z));
        if (cl == NULL) continue;
        CHECK_WOLF(wolf_sakke_validate_rsk(cl, b, b_len, rsk, &valid));
        CHECK(valid == 1);
        CHECK_WOLF(wolf_sakke_validate_rsk(cl, b, b_len - 1, rsk, &valid));
        CHECK(valid == 0);
        if (pre) CHECK_WOLF(wolf_sakke_sender_precompute(cl, b, b_len));
        CHECK_WOLF(wolf_sakke_encapsulate(cl, b, b_len, ssv, out));
        CHECK_MEM(out, enc, 273);
        CHECK_WOLF(wolf_sakke_set_receiver(cl, b, b_len, rsk, pre));
        CHECK_WOLF(wolf_sakke_decapsulate(cl, enc, sizeof enc, out));
        CHECK_MEM(out, ssv, 16);
        if (pre)
            printf("wolfSSL SAKKE receiver precomputation: %s%s%s\n",
                   wolf_sakke_precomputed(cl) & WOLF_SAKKE_PRE_POINT_I ? "point I" : "none",
                   wolf_sakke_precomputed(cl) & WOLF_SAKKE_PRE_POINT_I_TABLE ? ", I table" : "",
                   wolf_sakke_precomputed(cl) & WOLF_SAKKE_PRE_RSK_TABLE ? ", RSK table" : "");
        /* Encapsulating to another identity on the same object must not disturb the
         * receiver (wolfSSL keeps one identity and one point I per key). */
        CHECK_WOLF(wolf_sakke_encapsulate(cl, b, b_len - 1, ssv, out));
        CHECK(memcmp(out, enc, 273) != 0);
        CHECK_WOLF(wolf_sakke_decapsulate(cl, enc, sizeof enc, out));
        CHECK_MEM(out, ssv, 16);
        enc[260] ^= 0x80; /* H */
        CHECK(wolf_sakke_decapsulate(cl, enc, sizeof enc, out) != 0);
        enc[260] ^= 0x80;
        enc[100] ^= 0x01; /* R */
        CHECK(wolf_sakke_decapsulate(cl, enc, sizeof enc, out) != 0);
        enc[100] ^= 0x01;
        wolf_sakke_free(cl);
    }
    free(v);
}

int main(void) {
    printf("wolfSSL %s\n", wolf_peer_version());
    test_eccsi();
    test_sakke();
    wolf_peer_cleanup();
    return test_summary();
}
