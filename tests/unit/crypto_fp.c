/* The SAKKE field and scalar arithmetic: every Montgomery back end this CPU runs agrees with
 * the portable one and with OpenSSL BN, inversions invert, the signed recoding recodes. */
#include <openssl/bn.h>

#include "internal.h"
#include "test.h"

static BN_CTX *ctx;
static BIGNUM *bp, *bq;

static void random_below(uint64_t out[FP_LIMBS], const BIGNUM *m)
{
    BIGNUM *x = BN_new();
    uint8_t be[128];
    BN_rand_range(x, m);
    BN_bn2binpad(x, be, 128);
    for (int i = 0; i < FP_LIMBS; i++) {
        uint64_t w = 0;
        for (int k = 0; k < 8; k++)
            w = w << 8 | be[128 - 8 * (i + 1) + k];
        out[i] = w;
    }
    BN_free(x);
}

static BIGNUM *to_bn(const uint64_t a[FP_LIMBS])
{
    uint8_t be[128];
    for (int i = 0; i < FP_LIMBS; i++)
        for (int k = 0; k < 8; k++)
            be[128 - 8 * i - 1 - k] = (uint8_t)(a[i] >> (8 * k));
    return BN_bin2bn(be, 128, NULL);
}

/* r == a * b * 2^-1024 mod m, checked with BN */
static int mont_ok(const uint64_t r[FP_LIMBS], const uint64_t a[FP_LIMBS],
                   const uint64_t b[FP_LIMBS], const BIGNUM *m)
{
    BIGNUM *A = to_bn(a), *B = to_bn(b), *R = to_bn(r), *t = BN_new(), *rinv = BN_new();
    BIGNUM *two = BN_new();
    BN_set_bit(two, 1024);
    BN_mod_inverse(rinv, two, m, ctx);
    BN_mod_mul(t, A, B, m, ctx);
    BN_mod_mul(t, t, rinv, m, ctx);
    int ok = BN_cmp(t, R) == 0 && BN_cmp(R, m) < 0;
    BN_free(A);
    BN_free(B);
    BN_free(R);
    BN_free(t);
    BN_free(rinv);
    BN_free(two);
    return ok;
}

static void test_backends(void)
{
    const fp_params_t *prm = fp_params();
    uint64_t qn0 = 1;
    for (int i = 0; i < 7; i++)
        qn0 *= 2 - prm->q[0] * qn0;
    qn0 = (uint64_t)0 - qn0;
    const char *names[] = {"portable", "adx", "ifma"};
    for (int n = 0; n < 3; n++) {
        if (!fp_select_impl(names[n])) {
            printf("back end %s: not available on this CPU/build\n", names[n]);
            continue;
        }
        printf("back end %s\n", fp_impl_name());
        int bad = 0;
        for (int mod = 0; mod < 2; mod++) {
            const uint64_t *m = mod == 0 ? prm->p : prm->q;
            uint64_t n0 = mod == 0 ? prm->n0 : qn0;
            const BIGNUM *bm = mod == 0 ? bp : bq;
            uint64_t edge[4][FP_LIMBS] = {{0}, {1}};
            memcpy(edge[2], m, sizeof edge[2]);
            edge[2][0] -= 1; /* m - 1 */
            memcpy(edge[3], m, sizeof edge[3]);
            edge[3][0] -= 2;
            for (int i = 0; i < 4; i++)
                for (int j = 0; j < 4; j++) {
                    uint64_t r[FP_LIMBS];
                    mcsec_fp_mont_mul_portable(r, edge[i], edge[j], m, n0);
                    bad += !mont_ok(r, edge[i], edge[j], bm);
                }
            for (int it = 0; it < 3000; it++) {
                uint64_t a[FP_LIMBS], b[FP_LIMBS], r1[FP_LIMBS], r2[FP_LIMBS];
                random_below(a, bm);
                random_below(b, bm);
                mcsec_fp_mont_mul_portable(r1, a, b, m, n0);
                fp_select_impl(names[n]);
                fp_t x, y, z;
                memcpy(x.v, a, sizeof a);
                memcpy(y.v, b, sizeof b);
                if (mod == 0) {
                    fp_mul(&z, &x, &y);
                    memcpy(r2, z.v, sizeof r2);
                    /* aliasing: r = a, r = a = b */
                    fp_mul(&x, &x, &y);
                    bad += memcmp(x.v, r2, sizeof r2) != 0;
                    fp_sqr(&z, &y);
                    fp_mul(&y, &y, &y);
                    bad += memcmp(y.v, z.v, sizeof r2) != 0;
                } else {
                    uint8_t A[128], B[128], R[128];
                    for (int i = 0; i < FP_LIMBS; i++)
                        for (int k = 0; k < 8; k++) {
                            A[128 - 8 * i - 1 - k] = (uint8_t)(a[i] >> (8 * k));
                            B[128 - 8 * i - 1 - k] = (uint8_t)(b[i] >> (8 * k));
                        }
                    sc_mul(R, A, B); /* a * b mod q through the selected back end */
                    BIGNUM *ba = BN_bin2bn(A, 128, NULL), *bb = BN_bin2bn(B, 128, NULL);
                    BIGNUM *br = BN_bin2bn(R, 128, NULL), *t = BN_new();
                    BN_mod_mul(t, ba, bb, bq, ctx);
                    bad += BN_cmp(t, br) != 0;
                    BN_free(ba);
                    BN_free(bb);
                    BN_free(br);
                    BN_free(t);
                    mcsec_fp_mont_mul_portable(r2, a, b, m, n0);
                }
                bad += memcmp(r1, r2, sizeof r1) != 0;
                if (it < 200)
                    bad += !mont_ok(r1, a, b, bm);
            }
        }
        CHECK(bad == 0);
    }
    fp_select_impl(NULL);
}

static void test_inverses(void)
{
    fp_t one, zero;
    fp_set_one(&one);
    fp_set_zero(&zero);
    for (int it = 0; it < 200; it++) {
        fp_t a, ai, t;
        random_below(a.v, bp);
        fp_inv(&ai, &a);
        fp_mul(&t, &a, &ai);
        CHECK(fp_equal(&t, &one) != 0);
        uint8_t s[128], si[128], prod[128];
        random_below(a.v, bq);
        for (int i = 0; i < FP_LIMBS; i++)
            for (int k = 0; k < 8; k++)
                s[128 - 8 * i - 1 - k] = (uint8_t)(a.v[i] >> (8 * k));
        if (!sc_is_valid(s))
            continue;
        sc_inv(si, s);
        sc_mul(prod, s, si);
        uint8_t one_be[128] = {0};
        one_be[127] = 1;
        CHECK_MEM(prod, one_be, 128);
    }
    fp_t r;
    fp_inv(&r, &zero);
    CHECK(fp_is_zero(&r) != 0);
    uint8_t z[128] = {0}, zi[128];
    sc_inv(zi, z);
    CHECK_MEM(zi, z, 128);
    /* batch inversion */
    fp_t v[17], w[17], t;
    for (int i = 0; i < 17; i++)
        random_below(v[i].v, bp);
    CHECK_STATUS(fp_batch_inv(w, v, 17), MCSEC_OK);
    for (int i = 0; i < 17; i++) {
        fp_mul(&t, &v[i], &w[i]);
        CHECK(fp_equal(&t, &one) != 0);
    }
}

/* sum d_i 2^(w i) == k for the regular signed recoding, digits odd and |d| < 2^w. */
static void test_recode(void)
{
    for (int it = 0; it < 200; it++) {
        uint64_t k[FP_LIMBS];
        uint8_t kb[128];
        random_below(k, bq);
        k[0] |= 1;
        for (int i = 0; i < FP_LIMBS; i++)
            for (int b = 0; b < 8; b++)
                kb[128 - 8 * i - 1 - b] = (uint8_t)(k[i] >> (8 * b));
        int8_t d[EC_WINDOWS];
        sc_recode(d, kb);
        BIGNUM *acc = BN_new(), *term = BN_new();
        BN_zero(acc);
        int ok = 1;
        for (int i = EC_WINDOWS - 1; i >= 0; i--) {
            BN_lshift(acc, acc, EC_WIN);
            ok &= (d[i] & 1) && d[i] < (1 << EC_WIN) && d[i] > -(1 << EC_WIN);
            BN_set_word(term, (BN_ULONG)(d[i] < 0 ? -d[i] : d[i]));
            if (d[i] < 0)
                BN_sub(acc, acc, term);
            else
                BN_add(acc, acc, term);
        }
        BIGNUM *kk = BN_bin2bn(kb, 128, NULL);
        CHECK(ok && BN_cmp(acc, kk) == 0);
        BN_free(acc);
        BN_free(term);
        BN_free(kk);
    }
}

int main(void)
{
    CHECK_STATUS(mcsec_init(), MCSEC_OK);
    ctx = BN_CTX_new();
    const fp_params_t *prm = fp_params();
    bp = BN_bin2bn(prm->p_be, 128, NULL);
    bq = BN_bin2bn(prm->q_be, 128, NULL);
    test_backends();
    test_inverses();
    test_recode();
    BN_free(bp);
    BN_free(bq);
    BN_CTX_free(ctx);
    return test_summary();
}
