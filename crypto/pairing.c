/* The reduced Tate-Lichtenbaum pairing of RFC 6508 3.2 on E: y^2 = x^3 - 3x, with the
 * distortion map psi(x, y) = (-x, i*y) into F_p^2 = F_p[i]/(i^2 + 1).
 *
 * The pairing is symmetric, so the Miller-loop point can always be the fixed one (the RSK,
 * or the first argument) and its lines are precomputed once: each line at psi(R) is
 * lambda*(Rx + Cx) - Cy + i*Ry, i.e. (a*Rx + b) + i*Ry after dividing by an F_p factor.
 * Vertical lines and every F_p factor vanish in the final exponentiation (p^2 - 1)/q =
 * (p - 1) * 4: RFC 6508 keeps values in PF_p = F_p^2* / F_p* (as x2/x1), where raising to
 * p - 1 is the projection itself, so only f^4 is computed. The loop runs over
 * the non-adjacent form of q - 1, which needs 353 instead of 513 addition steps. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define NAF_MAX 1026

static int8_t naf[NAF_MAX]; /* NAF digits of q - 1, least significant first */
static int naf_top;         /* index of the leading digit (which is 1) */
static size_t naf_lines;    /* lines per Miller loop */
static pthread_once_t naf_once = PTHREAD_ONCE_INIT;

static void naf_init(void)
{
    const fp_params_t *prm = fp_params();
    uint64_t k[FP_LIMBS + 1];
    memcpy(k, prm->q, sizeof prm->q);
    k[FP_LIMBS] = 0;
    k[0] -= 1; /* q is odd */
    int n = 0;
    for (;;) {
        int nonzero = 0;
        for (int i = 0; i <= FP_LIMBS; i++)
            nonzero |= k[i] != 0;
        if (!nonzero || n >= NAF_MAX)
            break;
        int d = 0;
        if (k[0] & 1) {
            d = 2 - (int)(k[0] & 3); /* +1 or -1 */
            /* k -= d */
            if (d == 1) {
                k[0] -= 1;
            } else {
                for (int i = 0; i <= FP_LIMBS && ++k[i] == 0; i++)
                    ;
            }
        }
        naf[n++] = (int8_t)d;
        for (int i = 0; i < FP_LIMBS; i++)
            k[i] = (k[i] >> 1) | (k[i + 1] << 63);
        k[FP_LIMBS] >>= 1;
    }
    naf_top = n - 1;
    naf_lines = (size_t)naf_top;
    for (int i = naf_top - 1; i >= 0; i--)
        naf_lines += naf[i] != 0;
}

mcsec_status_t pairing_precompute(pairing_lines_t *lines, const ec_affine_t *K)
{
    pthread_once(&naf_once, naf_init);
    if (naf_lines > PAIRING_MAX_LINES)
        return MCSEC_ERR_INTERNAL;
    /* Pass 1: run the Miller loop on K, storing each line as (A, B, D) with the line equal
     * to (A*Rx + B + i*D*Ry) / D. The D values go into lines->line[].a for now. */
    static const size_t chunk = PAIRING_MAX_LINES;
    fp_t *A = mcsec_secure_alloc(chunk * sizeof(fp_t));
    fp_t *B = mcsec_secure_alloc(chunk * sizeof(fp_t));
    fp_t *D = mcsec_secure_alloc(chunk * sizeof(fp_t));
    mcsec_status_t rc = MCSEC_ERR_NOMEM;
    if (A == NULL || B == NULL || D == NULL)
        goto out;
    ec_point_t C;
    ec_affine_t negK = *K;
    fp_neg(&negK.y, &K->y);
    ec_from_affine(&C, K);
    uint64_t degenerate = 0;
    size_t n = 0;
    fp_t z2, z3, t, u, alpha, gamma;
    for (int i = naf_top - 1; i >= 0; i--) {
        /* Tangent at C = (X, Y, Z): lambda = 3(x^2 - 1)/(2y); times D = 2 Y Z^3. */
        fp_sqr(&z2, &C.Z);
        fp_sub(&t, &C.X, &z2);
        fp_add(&u, &C.X, &z2);
        fp_mul(&alpha, &t, &u);
        fp_add(&t, &alpha, &alpha);
        fp_add(&alpha, &t, &alpha);    /* 3 (X^2 - Z^4) */
        fp_mul(&A[n], &alpha, &z2);    /* A = alpha Z^2 */
        fp_sqr(&gamma, &C.Y);
        fp_dbl(&gamma, &gamma);        /* 2 Y^2 */
        fp_mul(&t, &alpha, &C.X);
        fp_sub(&B[n], &t, &gamma);     /* B = alpha X - 2 Y^2 */
        fp_mul(&t, &C.Y, &C.Z);
        fp_mul(&t, &t, &z2);
        fp_dbl(&D[n], &t);             /* D = 2 Y Z^3 */
        degenerate |= fp_is_zero(&D[n]);
        n++;
        ec_dbl(&C, &C);
        if (naf[i] != 0) { /* public: digits of q - 1 */
            const ec_affine_t *Kp = naf[i] > 0 ? K : &negK;
            /* Chord through C and K': lambda = (Y - yk Z^3) / (Z (X - xk Z^2)).
             * With N = yk Z^3 - Y and H = xk Z^2 - X: lambda = N / (Z H), and the line
             * lambda (Rx + xk) - yk + i Ry times Z H is N Rx + (N xk - yk Z H) + i Z H Ry. */
            fp_sqr(&z2, &C.Z);
            fp_mul(&z3, &z2, &C.Z);
            fp_mul(&t, &Kp->x, &z2);
            fp_sub(&t, &t, &C.X);          /* H */
            fp_mul(&D[n], &t, &C.Z);       /* D = Z H */
            fp_mul(&u, &Kp->y, &z3);
            fp_sub(&A[n], &u, &C.Y);       /* A = N */
            fp_mul(&t, &A[n], &Kp->x);
            fp_mul(&u, &Kp->y, &D[n]);
            fp_sub(&B[n], &t, &u);         /* B = N xk - yk D */
            degenerate |= fp_is_zero(&D[n]);
            n++;
            /* C = [m]K with m public; C = +-K only if m = +-1 mod q, which the chain over
             * q - 1 never reaches for K of order q. For any other K, H = 0 there makes D = 0
             * and the key is refused as degenerate: no exceptional branch is needed. */
            ec_add_affine_ct(&C, &C, Kp);
        }
    }
    /* The loop ends at [q - 1]K, which is -K exactly when [q]K = O. */
    uint64_t refuse = degenerate | ~ec_equal_affine(&C, &negK);
    mcsec_ct_declassify(&refuse, sizeof refuse); /* public: the caller gets it as a status */
    if (refuse) {
        rc = MCSEC_ERR_SMALL_ORDER;
        goto out;
    }
    rc = fp_batch_inv(D, D, n);
    if (rc != MCSEC_OK)
        goto out;
    for (size_t k = 0; k < n; k++) {
        fp_mul(&lines->line[k].a, &A[k], &D[k]);
        fp_mul(&lines->line[k].b, &B[k], &D[k]);
    }
    lines->n = n;
    rc = MCSEC_OK;
out:
    if (A != NULL)
        mcsec_secure_free(A);
    if (B != NULL)
        mcsec_secure_free(B);
    if (D != NULL)
        mcsec_secure_free(D);
    mcsec_memzero(&C, sizeof C);
    mcsec_memzero(&negK, sizeof negK);
    return rc;
}

/* f = f * ((a Rx + b) + i Ry), Karatsuba: 4 multiplications. */
static inline void mul_by_line(fp2_t *f, const pairing_line_t *l, const fp_t *rx, const fp_t *ry)
{
    fp_t x, m0, m1, s, t;
    fp_mul(&x, &l->a, rx);
    fp_add(&x, &x, &l->b);
    fp_mul(&m0, &f->a, &x);
    fp_mul(&m1, &f->b, ry);
    fp_add(&s, &f->a, &f->b);
    fp_add(&t, &x, ry);
    fp_mul(&s, &s, &t);
    fp_sub(&f->a, &m0, &m1);
    fp_sub(&s, &s, &m0);
    fp_sub(&f->b, &s, &m1);
}

/* (a + bi)^2 = (a + b)(a - b) + 2ab i */
static inline void fp2_sqr(fp2_t *r, const fp2_t *f)
{
    fp_t s, d, ab;
    fp_add(&s, &f->a, &f->b);
    fp_sub(&d, &f->a, &f->b);
    fp_mul(&ab, &f->a, &f->b);
    fp_mul(&r->a, &s, &d);
    fp_dbl(&r->b, &ab);
}

void pairing_eval(fp_t *out, const pairing_lines_t *lines, const ec_affine_t *R)
{
    fp2_t f;
    fp_set_one(&f.a);
    fp_set_zero(&f.b);
    size_t n = 0;
    for (int i = naf_top - 1; i >= 0; i--) {
        fp2_sqr(&f, &f);
        mul_by_line(&f, &lines->line[n++], &R->x, &R->y);
        if (naf[i] != 0)
            mul_by_line(&f, &lines->line[n++], &R->x, &R->y);
    }
    /* RFC 6508 represents pairing values in PF_p = F_p^2* / F_p*, where the (p - 1) part of
     * the final exponent is the projection itself: the value is x2/x1 of f^((p + 1)/q) = f^4. */
    fp2_t g;
    fp2_sqr(&g, &f);
    fp2_sqr(&g, &g);
    fp_t inv;
    fp_inv(&inv, &g.a);
    fp_mul(out, &g.b, &inv);
    mcsec_memzero(&f, sizeof f);
    mcsec_memzero(&g, sizeof g);
    mcsec_memzero(&inv, sizeof inv);
}

/* --- g^k with a fixed-base table -------------------------------------------------------- */

/* For window w, entry j: g^((2j + 1) 2^(5w)) as 1 + t i, stored as t. */
static fp_t (*g_table)[EC_WIN_ENTRIES];
static pthread_once_t g_table_once = PTHREAD_ONCE_INIT;

static void fp2_mul(fp2_t *r, const fp2_t *x, const fp2_t *y)
{
    fp_t m0, m1, s, t;
    fp_mul(&m0, &x->a, &y->a);
    fp_mul(&m1, &x->b, &y->b);
    fp_add(&s, &x->a, &x->b);
    fp_add(&t, &y->a, &y->b);
    fp_mul(&s, &s, &t);
    fp_sub(&r->a, &m0, &m1);
    fp_sub(&s, &s, &m0);
    fp_sub(&r->b, &s, &m1);
}

static void g_table_init(void)
{
    const fp_params_t *prm = fp_params();
    const size_t n = (size_t)EC_WINDOWS * EC_WIN_ENTRIES;
    fp2_t *e = malloc(n * sizeof *e);
    fp_t *inv = malloc(n * sizeof *inv);
    fp_t(*tab)[EC_WIN_ENTRIES] = malloc(n * sizeof(fp_t));
    if (prm == NULL || e == NULL || inv == NULL || tab == NULL)
        goto fail;
    fp2_t base, sq;
    fp_set_one(&base.a);
    base.b = prm->g_m;
    for (int w = 0; w < EC_WINDOWS; w++) {
        fp2_t *row = &e[(size_t)w * EC_WIN_ENTRIES];
        row[0] = base;
        fp2_sqr(&sq, &base);
        for (int j = 1; j < EC_WIN_ENTRIES; j++)
            fp2_mul(&row[j], &row[j - 1], &sq);
        for (int k = 0; k < EC_WIN; k++)
            fp2_sqr(&base, &base);
    }
    for (size_t i = 0; i < n; i++)
        inv[i] = e[i].a;
    if (fp_batch_inv(inv, inv, n) != MCSEC_OK)
        goto fail;
    for (size_t i = 0; i < n; i++)
        fp_mul(&tab[i / EC_WIN_ENTRIES][i % EC_WIN_ENTRIES], &e[i].b, &inv[i]);
    free(e);
    free(inv);
    g_table = tab;
    return;
fail:
    free(e);
    free(inv);
    free(tab);
}

mcsec_status_t gt_pow_g(fp_t *out, const uint8_t k[MCSEC_SAKKE_SCALAR_LEN])
{
    fp2_t acc;
    fp_t inv;
    mcsec_status_t rc = gt_pow_g_proj(&acc, k);
    if (rc == MCSEC_OK) {
        fp_inv(&inv, &acc.a);
        fp_mul(out, &acc.b, &inv);
    }
    mcsec_memzero(&acc, sizeof acc);
    mcsec_memzero(&inv, sizeof inv);
    return rc;
}

mcsec_status_t gt_pow_g_proj(fp2_t *out, const uint8_t k[MCSEC_SAKKE_SCALAR_LEN])
{
    pthread_once(&g_table_once, g_table_init);
    if (g_table == NULL)
        return MCSEC_ERR_NOMEM;
    uint8_t kodd[MCSEC_SAKKE_SCALAR_LEN];
    int8_t digits[EC_WINDOWS];
    uint64_t conj = sc_make_odd(kodd, k); /* g^(q - k) = conj(g^k) in PF_p */
    sc_recode(digits, kodd);
    fp2_t acc;
    fp_t t, m0, m1;
    for (int w = 0; w < EC_WINDOWS; w++) {
        int d = digits[w];
        uint64_t sign = (uint64_t)0 - (uint64_t)((unsigned)d >> 31);
        unsigned absd = (unsigned)((d ^ (int)sign) - (int)sign);
        unsigned idx = (absd - 1) >> 1;
        fp_set_zero(&t);
        for (unsigned j = 0; j < EC_WIN_ENTRIES; j++) {
            uint64_t m = (uint64_t)0 - (uint64_t)(((j ^ idx) - 1) >> 31 & 1);
            fp_cmov(&t, &g_table[w][j], m);
        }
        fp_cneg(&t, &t, sign); /* (1 + t i)^-1 = 1 - t i in PF_p */
        if (w == 0) {
            fp_set_one(&acc.a);
            acc.b = t;
            continue;
        }
        /* (a + b i)(1 + t i) = (a - b t) + (b + a t) i */
        fp_mul(&m0, &acc.b, &t);
        fp_mul(&m1, &acc.a, &t);
        fp_sub(&acc.a, &acc.a, &m0);
        fp_add(&acc.b, &acc.b, &m1);
    }
    fp_cneg(&acc.b, &acc.b, conj);
    *out = acc;
    mcsec_memzero(kodd, sizeof kodd);
    mcsec_memzero(digits, sizeof digits);
    mcsec_memzero(&acc, sizeof acc);
    mcsec_memzero(&t, sizeof t);
    return MCSEC_OK;
}
