/* SAKKE (RFC 6508) and the pairing: known answers from tests/vectors/rfc6508.txt, properties
 * (bilinearity, round trips), and every bad-input class with its exact status. */
#include <openssl/bn.h>
#include <openssl/err.h>

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
    /* mask = HashToIntegerRange(g^r, 2^n) */
    uint8_t mask_exp[16], mask[17];
    static const uint8_t two_n[17] = {1};
    CHECK(test_vector(vec, "mask", mask_exp, sizeof mask_exp) == 16);
    CHECK_STATUS(mcsec_hash_to_range(gr_exp, 128, two_n, sizeof two_n, mask), MCSEC_OK);
    CHECK(mask[0] == 0);
    CHECK_MEM(mask + 1, mask_exp, 16);
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

static void random_bytes(uint8_t *p, size_t n)
{
    if (mcsec_random_bytes(p, n) != MCSEC_OK) {
        fprintf(stderr, "rng failed\n");
        exit(2);
    }
}

/* A random scalar in [1, q-1]. */
static void random_scalar(uint8_t k[128])
{
    do {
        random_bytes(k, 128);
        k[0] &= 0x3F;
    } while (!sc_is_valid(k));
}

static void point_of(uint8_t out[257], const uint8_t k[128])
{
    ec_point_t t;
    ec_affine_t a;
    ec_table_mul(&t, ec_table_P(), k);
    CHECK(ec_to_affine(&a, &t));
    ec_encode(out, &a);
}

/* e([a]P, [b]P) = g^(ab) and e(A, B) = e(B, A). */
static void test_bilinearity(void)
{
    for (int i = 0; i < 4; i++) {
        uint8_t a[128], b[128], ab[128], A[257], B[257], e1[128], e2[128], want[128];
        fp_t w;
        random_scalar(a);
        random_scalar(b);
        sc_mul(ab, a, b);
        point_of(A, a);
        point_of(B, b);
        CHECK_STATUS(mcsec_sakke_pairing(A, B, e1), MCSEC_OK);
        CHECK_STATUS(mcsec_sakke_pairing(B, A, e2), MCSEC_OK);
        CHECK_STATUS(gt_pow_g(&w, ab), MCSEC_OK);
        fp_to_bytes(want, &w);
        CHECK_MEM(e1, want, 128);
        CHECK_MEM(e2, want, 128);
    }
}

/* Random KMS, identities and SSVs: decapsulation returns what was encapsulated; the RSK of
 * one identity does not open data for another. */
static void test_round_trips(void)
{
    uint8_t z2[128], Z2[257], id1[32], id2[32], rsk1[257], rsk2[257];
    CHECK_STATUS(mcsec_sakke_kms_generate(z2, Z2), MCSEC_OK);
    random_bytes(id1, sizeof id1);
    random_bytes(id2, sizeof id2);
    CHECK_STATUS(mcsec_sakke_issue_rsk(z2, id1, 32, rsk1), MCSEC_OK);
    CHECK_STATUS(mcsec_sakke_issue_rsk(z2, id2, 32, rsk2), MCSEC_OK);
    mcsec_sakke_sender_t *s = NULL;
    mcsec_sakke_key_t *k1 = NULL, *k2 = NULL;
    CHECK_STATUS(mcsec_sakke_sender_new(&s, Z2), MCSEC_OK);
    CHECK_STATUS(mcsec_sakke_key_new(&k1, Z2, id1, 32, rsk1), MCSEC_OK);
    CHECK_STATUS(mcsec_sakke_key_new(&k2, Z2, id2, 32, rsk2), MCSEC_OK);
    for (int i = 0; i < 8; i++) {
        uint8_t ssv1[16], out[273], got[16];
        random_bytes(ssv1, sizeof ssv1);
        CHECK_STATUS(mcsec_sakke_encapsulate(s, id1, 32, ssv1, 16, out), MCSEC_OK);
        CHECK_STATUS(mcsec_sakke_decapsulate(k1, out, sizeof out, got), MCSEC_OK);
        CHECK_MEM(got, ssv1, 16);
        CHECK_STATUS(mcsec_sakke_decapsulate(k2, out, sizeof out, got), MCSEC_ERR_DECAPSULATE);
        static const uint8_t zero[16];
        CHECK_MEM(got, zero, 16); /* nothing leaks out of a failed decapsulation */
    }
    /* Encapsulating the same SSV twice gives the same R (r is derived from SSV and b). */
    uint8_t o1[273], o2[273];
    CHECK_STATUS(mcsec_sakke_encapsulate(s, id1, 32, ssv, 16, o1), MCSEC_OK);
    CHECK_STATUS(mcsec_sakke_encapsulate(s, id1, 32, ssv, 16, o2), MCSEC_OK);
    CHECK_MEM(o1, o2, 273);
    mcsec_sakke_key_free(k1);
    mcsec_sakke_key_free(k2);
    mcsec_sakke_sender_free(s);
}

/* Points of small order on y^2 = x^3 - 3x: (0, 0) has order 2; a point T with [2]T = (0, 0)
 * has x^2 = -3 and y^2 = -6x (order 4), when those roots exist. Returns 1 if found. */
static int order4_point(uint8_t out[257])
{
    const fp_params_t *prm = fp_params();
    BN_CTX *ctx = BN_CTX_new();
    BIGNUM *p = BN_bin2bn(prm->p_be, 128, NULL), *x = BN_new(), *y = BN_new(), *t = BN_new();
    int found = 0;
    for (int sign = 0; sign < 2 && !found; sign++) {
        BN_set_word(t, 3);
        BN_sub(t, p, t); /* -3 */
        if (BN_mod_sqrt(x, t, p, ctx) == NULL) {
            ERR_clear_error();
            break;
        }
        if (sign)
            BN_sub(x, p, x);
        BN_mul_word(t, 0); /* t = -6x */
        BN_set_word(t, 6);
        BN_mod_mul(t, t, x, p, ctx);
        BN_sub(t, p, t);
        if (BN_mod_sqrt(y, t, p, ctx) == NULL) {
            ERR_clear_error();
            continue;
        }
        out[0] = 4;
        BN_bn2binpad(x, out + 1, 128);
        BN_bn2binpad(y, out + 129, 128);
        found = 1;
    }
    BN_free(p);
    BN_free(x);
    BN_free(y);
    BN_free(t);
    BN_CTX_free(ctx);
    return found;
}

static void test_bad_inputs(void)
{
    mcsec_sakke_sender_t *s = NULL;
    mcsec_sakke_key_t *k = NULL;
    uint8_t enc[273], bad[273], got[16], pt[257];
    CHECK_STATUS(mcsec_sakke_sender_new(&s, Z), MCSEC_OK);
    CHECK_STATUS(mcsec_sakke_key_new(&k, Z, rfc_id, sizeof rfc_id, rsk), MCSEC_OK);
    CHECK_STATUS(mcsec_sakke_encapsulate(s, rfc_id, sizeof rfc_id, ssv, 16, enc), MCSEC_OK);

    /* R not 04 || x || y */
    for (int prefix = 1; prefix < 256; prefix++) {
        if (prefix == 4)
            continue;
        memcpy(bad, enc, sizeof bad);
        bad[0] = (uint8_t)prefix;
        CHECK_STATUS(mcsec_sakke_decapsulate(k, bad, sizeof bad, got), MCSEC_ERR_POINT_ENCODING);
    }
    /* the point at infinity (SEC1 00) */
    memset(bad, 0, sizeof bad);
    CHECK_STATUS(mcsec_sakke_decapsulate(k, bad, sizeof bad, got), MCSEC_ERR_INFINITY);
    /* wrong lengths */
    CHECK_STATUS(mcsec_sakke_decapsulate(k, enc, 272, got), MCSEC_ERR_BAD_LENGTH);
    CHECK_STATUS(mcsec_sakke_decapsulate(k, enc, 274, got), MCSEC_ERR_BAD_LENGTH);
    CHECK_STATUS(mcsec_sakke_decapsulate(k, enc, 0, got), MCSEC_ERR_BAD_LENGTH);
    CHECK_STATUS(mcsec_sakke_decapsulate(k, enc, 257, got), MCSEC_ERR_BAD_LENGTH);
    /* coordinates >= p */
    const fp_params_t *prm = fp_params();
    memcpy(bad, enc, sizeof bad);
    memcpy(bad + 1, prm->p_be, 128);
    CHECK_STATUS(mcsec_sakke_decapsulate(k, bad, sizeof bad, got), MCSEC_ERR_POINT_RANGE);
    memcpy(bad, enc, sizeof bad);
    memcpy(bad + 129, prm->p_be, 128);
    CHECK_STATUS(mcsec_sakke_decapsulate(k, bad, sizeof bad, got), MCSEC_ERR_POINT_RANGE);
    memcpy(bad, enc, sizeof bad);
    memset(bad + 1, 0xFF, 128);
    CHECK_STATUS(mcsec_sakke_decapsulate(k, bad, sizeof bad, got), MCSEC_ERR_POINT_RANGE);
    /* off the curve: every single-bit flip of x or y (a sample of positions) */
    for (int bit = 8; bit < 257 * 8; bit += 37) {
        memcpy(bad, enc, sizeof bad);
        bad[bit / 8] ^= (uint8_t)(0x80 >> (bit % 8));
        mcsec_status_t rc = mcsec_sakke_decapsulate(k, bad, sizeof bad, got);
        CHECK(rc == MCSEC_ERR_NOT_ON_CURVE || rc == MCSEC_ERR_POINT_RANGE);
    }
    memcpy(bad, enc, sizeof bad);
    bad[256] ^= 1;
    CHECK_STATUS(mcsec_sakke_decapsulate(k, bad, sizeof bad, got), MCSEC_ERR_NOT_ON_CURVE);
    /* small order: (0, 0) has order 2; a point of order 4 passes decoding but not 6.2.2 */
    memset(bad, 0, sizeof bad);
    bad[0] = 4;
    CHECK_STATUS(mcsec_sakke_decapsulate(k, bad, sizeof bad, got), MCSEC_ERR_SMALL_ORDER);
    if (order4_point(pt)) {
        memcpy(bad, pt, 257);
        memcpy(bad + 257, enc + 257, 16);
        CHECK_STATUS(mcsec_sakke_decapsulate(k, bad, sizeof bad, got), MCSEC_ERR_DECAPSULATE);
        CHECK_STATUS(mcsec_sakke_validate_rsk(Z, rfc_id, sizeof rfc_id, pt),
                     MCSEC_ERR_SMALL_ORDER);
        CHECK_STATUS(mcsec_sakke_sender_new(&(mcsec_sakke_sender_t *){NULL}, pt),
                     MCSEC_ERR_SMALL_ORDER);
    } else {
        fprintf(stderr, "note: no point of order 4 over this field\n");
    }
    /* tampered H: every bit */
    for (int bit = 0; bit < 128; bit++) {
        memcpy(bad, enc, sizeof bad);
        bad[257 + bit / 8] ^= (uint8_t)(1 << (bit % 8));
        CHECK_STATUS(mcsec_sakke_decapsulate(k, bad, sizeof bad, got), MCSEC_ERR_DECAPSULATE);
    }
    /* tampered R: another valid point of the subgroup (R of another SSV), and -R */
    uint8_t other[273], ssv2[16];
    memcpy(ssv2, ssv, 16);
    ssv2[0] ^= 1;
    CHECK_STATUS(mcsec_sakke_encapsulate(s, rfc_id, sizeof rfc_id, ssv2, 16, other), MCSEC_OK);
    memcpy(bad, other, 257);
    memcpy(bad + 257, enc + 257, 16);
    CHECK_STATUS(mcsec_sakke_decapsulate(k, bad, sizeof bad, got), MCSEC_ERR_DECAPSULATE);
    {
        ec_affine_t R;
        CHECK_STATUS(ec_decode(&R, enc, 257), MCSEC_OK);
        fp_neg(&R.y, &R.y);
        memcpy(bad, enc, sizeof bad);
        ec_encode(bad, &R);
        CHECK_STATUS(mcsec_sakke_decapsulate(k, bad, sizeof bad, got), MCSEC_ERR_DECAPSULATE);
    }
    /* SSV length != n */
    CHECK_STATUS(mcsec_sakke_encapsulate(s, rfc_id, sizeof rfc_id, ssv, 15, bad), MCSEC_ERR_BAD_LENGTH);
    CHECK_STATUS(mcsec_sakke_encapsulate(s, rfc_id, sizeof rfc_id, ssv, 17, bad), MCSEC_ERR_BAD_LENGTH);
    CHECK_STATUS(mcsec_sakke_encapsulate(s, rfc_id, sizeof rfc_id, ssv, 0, bad), MCSEC_ERR_BAD_LENGTH);
    /* identifiers */
    CHECK_STATUS(mcsec_sakke_encapsulate(s, rfc_id, 0, ssv, 16, bad), MCSEC_ERR_BAD_INPUT);
    CHECK_STATUS(mcsec_sakke_encapsulate(s, NULL, 26, ssv, 16, bad), MCSEC_ERR_BAD_INPUT);
    /* RSK for another identity, of another KMS, off-curve, small order, malformed */
    uint8_t other_id[] = "2011-02\0tel:+447700900124";
    CHECK_STATUS(mcsec_sakke_validate_rsk(Z, other_id, sizeof other_id, rsk), MCSEC_ERR_KEY_INVALID);
    CHECK_STATUS(mcsec_sakke_key_new(&(mcsec_sakke_key_t *){NULL}, Z, other_id, sizeof other_id, rsk),
                 MCSEC_ERR_KEY_INVALID);
    uint8_t z2[128], Z2[257];
    CHECK_STATUS(mcsec_sakke_kms_generate(z2, Z2), MCSEC_OK);
    CHECK_STATUS(mcsec_sakke_validate_rsk(Z2, rfc_id, sizeof rfc_id, rsk), MCSEC_ERR_KEY_INVALID);
    memcpy(pt, rsk, 257);
    pt[256] ^= 1;
    CHECK_STATUS(mcsec_sakke_validate_rsk(Z, rfc_id, sizeof rfc_id, pt), MCSEC_ERR_NOT_ON_CURVE);
    memset(pt, 0, 257);
    pt[0] = 4;
    CHECK_STATUS(mcsec_sakke_validate_rsk(Z, rfc_id, sizeof rfc_id, pt), MCSEC_ERR_SMALL_ORDER);
    memcpy(pt, rsk, 257);
    pt[0] = 2;
    CHECK_STATUS(mcsec_sakke_validate_rsk(Z, rfc_id, sizeof rfc_id, pt), MCSEC_ERR_POINT_ENCODING);
    memset(pt, 0, 257);
    CHECK_STATUS(mcsec_sakke_validate_rsk(Z, rfc_id, sizeof rfc_id, pt), MCSEC_ERR_INFINITY);
    CHECK_STATUS(mcsec_sakke_validate_rsk(Z, rfc_id, sizeof rfc_id, NULL), MCSEC_ERR_BAD_INPUT);
    /* KMS secret z = 0 or >= q */
    uint8_t zz[128];
    memset(zz, 0, sizeof zz);
    CHECK_STATUS(mcsec_sakke_kms_public(zz, pt), MCSEC_ERR_SCALAR_RANGE);
    CHECK_STATUS(mcsec_sakke_issue_rsk(zz, rfc_id, sizeof rfc_id, pt), MCSEC_ERR_SCALAR_RANGE);
    memcpy(zz, prm->q_be, 128);
    CHECK_STATUS(mcsec_sakke_kms_public(zz, pt), MCSEC_ERR_SCALAR_RANGE);
    memset(zz, 0xFF, sizeof zz);
    CHECK_STATUS(mcsec_sakke_issue_rsk(zz, rfc_id, sizeof rfc_id, pt), MCSEC_ERR_SCALAR_RANGE);
    /* a bad KMS public key */
    memcpy(pt, Z, 257);
    pt[200] ^= 4;
    CHECK_STATUS(mcsec_sakke_sender_new(&(mcsec_sakke_sender_t *){NULL}, pt), MCSEC_ERR_NOT_ON_CURVE);
    CHECK_STATUS(mcsec_sakke_key_new(&(mcsec_sakke_key_t *){NULL}, pt, rfc_id, sizeof rfc_id, rsk),
                 MCSEC_ERR_NOT_ON_CURVE);
    /* NULL arguments */
    CHECK_STATUS(mcsec_sakke_decapsulate(NULL, enc, sizeof enc, got), MCSEC_ERR_BAD_INPUT);
    CHECK_STATUS(mcsec_sakke_decapsulate(k, NULL, sizeof enc, got), MCSEC_ERR_BAD_INPUT);
    CHECK_STATUS(mcsec_sakke_encapsulate(NULL, rfc_id, 26, ssv, 16, bad), MCSEC_ERR_BAD_INPUT);
    CHECK_STATUS(mcsec_sakke_sender_new(NULL, Z), MCSEC_ERR_BAD_INPUT);
    mcsec_sakke_key_free(k);
    mcsec_sakke_sender_free(s);
    mcsec_sakke_key_free(NULL);
    mcsec_sakke_sender_free(NULL);
}

int main(void)
{
    CHECK_STATUS(mcsec_init(), MCSEC_OK);
    load();
    test_vectors();
    test_bilinearity();
    test_round_trips();
    test_bad_inputs();
    free(vec);
    return test_summary();
}
