/* SAKKE (RFC 6508, parameter set 1) interop with an independent implementation, wolfCrypt.
 * For an mcsec KMS (z, Z), with wolfSSL given z (it derives Z itself) or Z:
 *  - wolfSSL's Z and the RSKs it issues are byte-identical to mcsec's; mcsec validates
 *    wolfSSL's RSKs and wolfSSL validates mcsec's;
 *  - encapsulation is deterministic (r = HashToIntegerRange(SSV || b, q)), so mcsec's and
 *    wolfSSL's encapsulated data for the same SSV must be byte-identical; each side
 *    decapsulates the other's, and refuses it once R or H is modified or when it is meant
 *    for another identity.
 * Then the other way round: a wolfSSL KMS generates (z, Z); mcsec derives the same Z from z
 * and works with wolfSSL-issued RSKs. Identities: random 32-octet UIDs and the RFC 6508
 * identifier "2011-02\0tel:+447700900123\0" (26 octets). */
#include <stdint.h>
#include <string.h>

#include "mcsec/sakke.h"
#include "mcsec/secmem.h"
#include "test.h"
#include "interop.h"

typedef struct {
    const uint8_t *id;
    size_t id_len;
} ident_t;

/* One identity under one KMS: z is known to both sides; Z is the KMS public key. */
static void exchange(const uint8_t z[MCSEC_SAKKE_SCALAR_LEN],
                     const uint8_t Z[MCSEC_SAKKE_POINT_LEN], wolf_sakke_t *wkms, ident_t me,
                     ident_t other) {
    uint8_t rsk_m[MCSEC_SAKKE_POINT_LEN], rsk_w[MCSEC_SAKKE_POINT_LEN];
    uint8_t rsk_other[MCSEC_SAKKE_POINT_LEN];
    uint8_t ssv[MCSEC_SAKKE_SSV_LEN], out[MCSEC_SAKKE_SSV_LEN];
    uint8_t enc_m[MCSEC_SAKKE_ENCAP_LEN], enc_w[MCSEC_SAKKE_ENCAP_LEN];
    uint8_t enc_other[MCSEC_SAKKE_ENCAP_LEN];
    mcsec_sakke_sender_t *sender = NULL;
    mcsec_sakke_key_t *key = NULL;
    wolf_sakke_t *wsend = NULL, *wrecv = NULL, *wrecv_m = NULL;
    int valid = 0;

    /* RSKs: both KMSs issue the same point; each side validates the other's. */
    CHECK_STATUS(mcsec_sakke_issue_rsk(z, me.id, me.id_len, rsk_m), MCSEC_OK);
    CHECK_WOLF(wolf_sakke_issue_rsk(wkms, me.id, me.id_len, rsk_w));
    CHECK_MEM(rsk_m, rsk_w, sizeof rsk_m);
    CHECK_STATUS(mcsec_sakke_validate_rsk(Z, me.id, me.id_len, rsk_w), MCSEC_OK);
    CHECK_STATUS(mcsec_sakke_validate_rsk(Z, other.id, other.id_len, rsk_w), MCSEC_ERR_KEY_INVALID);
    CHECK_WOLF(wolf_sakke_public(&wrecv, Z));
    CHECK_WOLF(wolf_sakke_public(&wrecv_m, Z));
    CHECK_WOLF(wolf_sakke_public(&wsend, Z));
    if (wrecv == NULL || wrecv_m == NULL || wsend == NULL) goto out;
    CHECK_WOLF(wolf_sakke_validate_rsk(wrecv, me.id, me.id_len, rsk_m, &valid));
    CHECK(valid == 1);
    CHECK_WOLF(wolf_sakke_validate_rsk(wrecv, other.id, other.id_len, rsk_m, &valid));
    CHECK(valid == 0);

    /* Receivers: mcsec with wolfSSL's RSK; wolfSSL with mcsec's RSK, with and without its
     * precomputation. */
    CHECK_STATUS(mcsec_sakke_key_new(&key, Z, me.id, me.id_len, rsk_w), MCSEC_OK);
    CHECK_STATUS(mcsec_sakke_sender_new(&sender, Z), MCSEC_OK);
    CHECK_WOLF(wolf_sakke_set_receiver(wrecv, me.id, me.id_len, rsk_m, 1));
    CHECK_WOLF(wolf_sakke_set_receiver(wrecv_m, me.id, me.id_len, rsk_m, 0));
    if (key == NULL || sender == NULL) goto out;

    for (int i = 0; i < 3; i++) {
        CHECK_STATUS(mcsec_random_bytes(ssv, sizeof ssv), MCSEC_OK);
        /* Identical encapsulations. */
        CHECK_STATUS(mcsec_sakke_encapsulate(sender, me.id, me.id_len, ssv, sizeof ssv, enc_m),
                     MCSEC_OK);
        CHECK_WOLF(wolf_sakke_encapsulate(wsend, me.id, me.id_len, ssv, enc_w));
        CHECK_MEM(enc_m, enc_w, sizeof enc_m);
        CHECK(enc_m[0] == 0x04);

        /* wolfSSL decapsulates mcsec's. */
        CHECK_WOLF(wolf_sakke_decapsulate(wrecv, enc_m, sizeof enc_m, out));
        CHECK_MEM(out, ssv, sizeof ssv);
        CHECK_WOLF(wolf_sakke_decapsulate(wrecv_m, enc_m, sizeof enc_m, out));
        CHECK_MEM(out, ssv, sizeof ssv);
        /* mcsec decapsulates wolfSSL's. */
        CHECK_STATUS(mcsec_sakke_decapsulate(key, enc_w, sizeof enc_w, out), MCSEC_OK);
        CHECK_MEM(out, ssv, sizeof ssv);

        /* Modified R or H: both refuse. */
        enc_w[MCSEC_SAKKE_POINT_LEN + 3] ^= 0x20;
        CHECK_STATUS(mcsec_sakke_decapsulate(key, enc_w, sizeof enc_w, out), MCSEC_ERR_DECAPSULATE);
        CHECK(wolf_sakke_decapsulate(wrecv, enc_w, sizeof enc_w, out) != 0);
        enc_w[MCSEC_SAKKE_POINT_LEN + 3] ^= 0x20;
        enc_m[200] ^= 0x01; /* Ry: R leaves the curve */
        CHECK(mcsec_sakke_decapsulate(key, enc_m, sizeof enc_m, out) != MCSEC_OK);
        CHECK(wolf_sakke_decapsulate(wrecv, enc_m, sizeof enc_m, out) != 0);
        enc_m[200] ^= 0x01;

        /* Data for another identity, from either side: both refuse. */
        CHECK_WOLF(wolf_sakke_encapsulate(wsend, other.id, other.id_len, ssv, enc_other));
        CHECK_STATUS(mcsec_sakke_decapsulate(key, enc_other, sizeof enc_other, out),
                     MCSEC_ERR_DECAPSULATE);
        CHECK_STATUS(
            mcsec_sakke_encapsulate(sender, other.id, other.id_len, ssv, sizeof ssv, enc_other),
            MCSEC_OK);
        CHECK(wolf_sakke_decapsulate(wrecv, enc_other, sizeof enc_other, out) != 0);
        /* ... and the right receiver takes it (wolfSSL-issued RSK for the other id). */
        CHECK_WOLF(wolf_sakke_issue_rsk(wkms, other.id, other.id_len, rsk_other));
        CHECK_STATUS(mcsec_sakke_validate_rsk(Z, other.id, other.id_len, rsk_other), MCSEC_OK);
    }
out:
    mcsec_sakke_sender_free(sender);
    mcsec_sakke_key_free(key);
    wolf_sakke_free(wsend);
    wolf_sakke_free(wrecv);
    wolf_sakke_free(wrecv_m);
}

/* An mcsec KMS; wolfSSL gets z and must derive the same Z. */
static void mcsec_kms(ident_t a, ident_t b) {
    uint8_t z[MCSEC_SAKKE_SCALAR_LEN], Z[MCSEC_SAKKE_POINT_LEN], Zw[MCSEC_SAKKE_POINT_LEN];
    wolf_sakke_t *wkms = NULL;

    CHECK_STATUS(mcsec_sakke_kms_generate(z, Z), MCSEC_OK);
    CHECK(Z[0] == 0x04);
    CHECK_WOLF(wolf_sakke_kms_import(&wkms, z));
    if (wkms != NULL) {
        CHECK_WOLF(wolf_sakke_Z(wkms, Zw));
        CHECK_MEM(Zw, Z, sizeof Z);
        exchange(z, Z, wkms, a, b);
        exchange(z, Z, wkms, b, a);
    }
    mcsec_memzero(z, sizeof z);
    wolf_sakke_free(wkms);
}

/* A wolfSSL KMS; mcsec derives Z from wolfSSL's z. */
static void wolf_kms(ident_t a, ident_t b) {
    uint8_t z[MCSEC_SAKKE_SCALAR_LEN], Z[MCSEC_SAKKE_POINT_LEN], Zm[MCSEC_SAKKE_POINT_LEN];
    wolf_sakke_t *wkms = NULL;

    CHECK_WOLF(wolf_sakke_kms_generate(&wkms));
    if (wkms == NULL) return;
    CHECK_WOLF(wolf_sakke_z(wkms, z));
    CHECK_WOLF(wolf_sakke_Z(wkms, Z));
    CHECK_STATUS(mcsec_sakke_kms_public(z, Zm), MCSEC_OK);
    CHECK_MEM(Zm, Z, sizeof Z);
    exchange(z, Z, wkms, a, b);
    mcsec_memzero(z, sizeof z);
    wolf_sakke_free(wkms);
}

int main(void) {
    static const uint8_t rfc_id[] = "2011-02\0tel:+447700900123"; /* 26 octets with the NUL */
    uint8_t uid1[32], uid2[32];
    const ident_t rfc = {rfc_id, sizeof rfc_id};
    const ident_t u1 = {uid1, sizeof uid1}, u2 = {uid2, sizeof uid2};

    CHECK_STATUS(mcsec_init(), MCSEC_OK);
    CHECK_STATUS(mcsec_random_bytes(uid1, sizeof uid1), MCSEC_OK);
    CHECK_STATUS(mcsec_random_bytes(uid2, sizeof uid2), MCSEC_OK);
    mcsec_kms(u1, rfc);
    mcsec_kms(u2, u1);
    wolf_kms(rfc, u2);
    wolf_kms(u1, rfc);
    wolf_peer_cleanup();
    return test_summary();
}
