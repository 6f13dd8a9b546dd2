/* SAKKE (RFC 6508, parameter set 1) with secret z, RSK, SSV and r: KMS key generation, RSK
 * issuance and validation, encapsulation, decapsulation (valid and tampered). The KMS public
 * key Z and the encapsulated data are public by design; the library marks them so itself
 * (crypto/sakke.c). */
#include <string.h>

#include "ct.h"
#include "internal.h" /* crypto/: the point additions made constant time for this test */
#include "mcsec/sakke.h"

/* The exceptional cases of the constant-time additions (public points, functional checks):
 * a = b, a = -b, an input at infinity. */
static void point_cases(void)
{
    const fp_params_t *prm = fp_params();
    ec_point_t p1, p2, p3, p4, o, t;
    ec_affine_t a2, a3, a4, negp;
    CHECK(prm != NULL);
    if (prm == NULL)
        return;
    ec_from_affine(&p1, &prm->P);
    ec_dbl(&p2, &p1);
    ec_add_affine_ct(&p3, &p2, &prm->P);
    ec_dbl(&p4, &p2);
    CHECK(ec_to_affine(&a2, &p2) && ec_to_affine(&a3, &p3) && ec_to_affine(&a4, &p4));
    negp = prm->P;
    fp_neg(&negp.y, &prm->P.y);
    memset(&o, 0, sizeof o); /* Z = 0: the point at infinity */
    ec_add(&t, &p2, &p2); /* a = b */
    CHECK(ec_equal_affine(&t, &a4) != 0);
    ec_add(&t, &p2, &p1);
    CHECK(ec_equal_affine(&t, &a3) != 0);
    ec_from_affine(&t, &negp);
    ec_add(&t, &p1, &t); /* a = -b */
    CHECK(fp_is_zero(&t.Z) != 0);
    ec_add(&t, &o, &p2);
    CHECK(ec_equal_affine(&t, &a2) != 0);
    ec_add(&t, &p2, &o);
    CHECK(ec_equal_affine(&t, &a2) != 0);
    ec_add_affine_complete(&t, &p1, &prm->P); /* a = b */
    CHECK(ec_equal_affine(&t, &a2) != 0);
    ec_add_affine_complete(&t, &p1, &negp); /* a = -b */
    CHECK(fp_is_zero(&t.Z) != 0);
    ec_add_affine_complete(&t, &o, &a2);
    CHECK(ec_equal_affine(&t, &a2) != 0);
    ec_add_affine_complete(&t, &p2, &prm->P);
    CHECK(ec_equal_affine(&t, &a3) != 0);
    ec_add_affine_ct(&t, &o, &a3);
    CHECK(ec_equal_affine(&t, &a3) != 0);
}

void ct_sakke(void)
{
    point_cases();
    static const uint8_t id[] = "2024-01\0tel:+447700900123";
    uint8_t z[MCSEC_SAKKE_SCALAR_LEN], Z[MCSEC_SAKKE_POINT_LEN], rsk[MCSEC_SAKKE_POINT_LEN];
    uint8_t ssv[MCSEC_SAKKE_SSV_LEN], got[MCSEC_SAKKE_SSV_LEN], encap[MCSEC_SAKKE_ENCAP_LEN];
    mcsec_sakke_sender_t *sender = NULL;
    mcsec_sakke_key_t *key = NULL;
    CHECK_STATUS(mcsec_sakke_kms_generate(z, Z), MCSEC_OK);
    CT_SECRET(z, sizeof z); /* already, from the library's draw; say it here too */
    CHECK_STATUS(mcsec_sakke_issue_rsk(z, id, sizeof id, rsk), MCSEC_OK);
    /* The RSK's coordinates are secret; its first octet is the public encoding tag 04. */
    CT_SECRET(rsk + 1, sizeof rsk - 1);
    CHECK_STATUS(mcsec_sakke_validate_rsk(Z, id, sizeof id, rsk), MCSEC_OK);
    CHECK_STATUS(mcsec_sakke_sender_new(&sender, Z), MCSEC_OK);
    CHECK_STATUS(mcsec_sakke_key_new(&key, Z, id, sizeof id, rsk), MCSEC_OK);
    for (int i = 0; i < 2 && sender != NULL && key != NULL; i++) {
        memset(ssv, 0x5a + i, sizeof ssv);
        CT_SECRET(ssv, sizeof ssv);
        CHECK_STATUS(mcsec_sakke_encapsulate(sender, id, sizeof id, ssv, sizeof ssv, encap),
                     MCSEC_OK);
        CHECK_STATUS(mcsec_sakke_decapsulate(key, encap, sizeof encap, got), MCSEC_OK);
        /* Declassified only to compare, after their last use. */
        CT_PUBLIC(ssv, sizeof ssv);
        CT_PUBLIC(got, sizeof got);
        CHECK(memcmp(got, ssv, sizeof ssv) == 0);
        /* Tampered H: the re-encapsulation check fails; the verdict is public. */
        encap[MCSEC_SAKKE_ENCAP_LEN - 1] ^= 0x01;
        CHECK_STATUS(mcsec_sakke_decapsulate(key, encap, sizeof encap, got),
                     MCSEC_ERR_DECAPSULATE);
    }
    mcsec_sakke_key_free(key);
    mcsec_sakke_sender_free(sender);
}
