/* Points of E: y^2 = x^3 - 3x over the 1024-bit field of SAKKE parameter set 1.
 * Jacobian coordinates, the a = -3 doubling, mixed addition, and fixed-base tables with a
 * regular signed-window recoding so that secret scalars drive neither branches nor memory
 * addresses. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static void ec_set_infinity(ec_point_t *r)
{
    fp_set_one(&r->X);
    fp_set_one(&r->Y);
    fp_set_zero(&r->Z);
}

void ec_from_affine(ec_point_t *r, const ec_affine_t *a)
{
    r->X = a->x;
    r->Y = a->y;
    fp_set_one(&r->Z);
}

/* y^2 == x^3 - 3x */
static uint64_t ec_on_curve(const ec_affine_t *a)
{
    fp_t y2, x2, rhs, three;
    fp_sqr(&y2, &a->y);
    fp_sqr(&x2, &a->x);
    fp_set_one(&three);
    fp_add(&rhs, &three, &three);
    fp_add(&three, &rhs, &three);
    fp_sub(&x2, &x2, &three);  /* x^2 - 3 */
    fp_mul(&rhs, &x2, &a->x); /* x^3 - 3x */
    return fp_equal(&y2, &rhs);
}

mcsec_status_t ec_decode(ec_affine_t *r, const uint8_t *in, size_t in_len)
{
    if (in == NULL)
        return MCSEC_ERR_BAD_INPUT;
    if ((in_len == 1 || in_len == MCSEC_SAKKE_POINT_LEN) && in[0] == 0x00)
        return MCSEC_ERR_INFINITY; /* SEC1 encodes the point at infinity as 00 */
    if (in_len != MCSEC_SAKKE_POINT_LEN)
        return MCSEC_ERR_BAD_LENGTH;
    if (in[0] != 0x04)
        return MCSEC_ERR_POINT_ENCODING;
    mcsec_status_t rc = fp_from_bytes(&r->x, in + 1);
    if (rc == MCSEC_OK)
        rc = fp_from_bytes(&r->y, in + 1 + MCSEC_SAKKE_FIELD_LEN);
    if (rc != MCSEC_OK)
        return rc;
    /* The verdicts are public (the caller gets them as a status); a secret point (an RSK) is
     * always on the curve and of order q. */
    uint64_t on_curve = ec_on_curve(r), y_zero = fp_is_zero(&r->y);
    mcsec_ct_declassify(&on_curve, sizeof on_curve);
    mcsec_ct_declassify(&y_zero, sizeof y_zero);
    if (!on_curve)
        return MCSEC_ERR_NOT_ON_CURVE;
    if (y_zero)
        return MCSEC_ERR_SMALL_ORDER; /* (x, 0) has order 2 */
    return MCSEC_OK;
}

void ec_encode(uint8_t out[MCSEC_SAKKE_POINT_LEN], const ec_affine_t *a)
{
    out[0] = 0x04;
    fp_to_bytes(out + 1, &a->x);
    fp_to_bytes(out + 1 + MCSEC_SAKKE_FIELD_LEN, &a->y);
}

int ec_to_affine(ec_affine_t *r, const ec_point_t *a)
{
    /* Public: a multiple [k]P with 0 < k < q never is the point at infinity, and callers
     * report it as an error when a public computation gives it. */
    uint64_t inf = fp_is_zero(&a->Z);
    mcsec_ct_declassify(&inf, sizeof inf);
    if (inf)
        return 0;
    fp_t zi, zi2;
    fp_inv(&zi, &a->Z);
    fp_sqr(&zi2, &zi);
    fp_mul(&r->x, &a->X, &zi2);
    fp_mul(&zi2, &zi2, &zi);
    fp_mul(&r->y, &a->Y, &zi2);
    return 1;
}

/* dbl-2001-b for a = -3: 3M + 5S. The point at infinity (Z = 0) maps to itself. */
void ec_dbl(ec_point_t *r, const ec_point_t *a)
{
    fp_t delta, gamma, beta, alpha, t, u;
    fp_sqr(&delta, &a->Z);
    fp_sqr(&gamma, &a->Y);
    fp_mul(&beta, &a->X, &gamma);
    fp_sub(&t, &a->X, &delta);
    fp_add(&u, &a->X, &delta);
    fp_mul(&alpha, &t, &u);
    fp_add(&t, &alpha, &alpha);
    fp_add(&alpha, &t, &alpha); /* alpha = 3 (X - delta)(X + delta) */
    fp_add(&t, &a->Y, &a->Z);
    fp_sqr(&t, &t);
    fp_sub(&t, &t, &gamma);
    fp_sub(&r->Z, &t, &delta); /* Z3 = (Y + Z)^2 - gamma - delta */
    fp_dbl(&beta, &beta);
    fp_dbl(&beta, &beta); /* 4 beta */
    fp_sqr(&t, &alpha);
    fp_dbl(&u, &beta);
    fp_sub(&r->X, &t, &u); /* X3 = alpha^2 - 8 beta */
    fp_sub(&t, &beta, &r->X);
    fp_mul(&t, &t, &alpha);
    fp_sqr(&gamma, &gamma);
    fp_dbl(&gamma, &gamma);
    fp_dbl(&gamma, &gamma);
    fp_dbl(&gamma, &gamma); /* 8 gamma^2 */
    fp_sub(&r->Y, &t, &gamma);
}

/* madd-2007-bl: r = a + b with b affine, 7M + 4S, and a = infinity handled by mask. Sets
 * *exc to the all-ones mask if a = +-b (H = 0, a not infinity), where the formula gives Z = 0,
 * and *same to the all-ones mask if then a = b. */
static void add_affine_core(ec_point_t *r, const ec_point_t *a, const ec_affine_t *b,
                            uint64_t *exc, uint64_t *same)
{
    fp_t z1z1, u2, s2, h, hh, i, j, rr, v, t;
    ec_point_t out;
    uint64_t a_inf = fp_is_zero(&a->Z);
    fp_sqr(&z1z1, &a->Z);
    fp_mul(&u2, &b->x, &z1z1);
    fp_mul(&s2, &b->y, &a->Z);
    fp_mul(&s2, &s2, &z1z1);
    fp_sub(&h, &u2, &a->X);
    fp_sub(&rr, &s2, &a->Y);
    *exc = fp_is_zero(&h) & ~a_inf;
    *same = *exc & fp_is_zero(&rr);
    fp_dbl(&rr, &rr);
    fp_sqr(&hh, &h);
    fp_dbl(&i, &hh);
    fp_dbl(&i, &i);
    fp_mul(&j, &h, &i);
    fp_mul(&v, &a->X, &i);
    fp_sqr(&t, &rr);
    fp_sub(&t, &t, &j);
    fp_sub(&t, &t, &v);
    fp_sub(&out.X, &t, &v);
    fp_sub(&t, &v, &out.X);
    fp_mul(&t, &t, &rr);
    fp_mul(&s2, &a->Y, &j);
    fp_dbl(&s2, &s2);
    fp_sub(&out.Y, &t, &s2);
    fp_add(&t, &a->Z, &h);
    fp_sqr(&t, &t);
    fp_sub(&t, &t, &z1z1);
    fp_sub(&out.Z, &t, &hh);
    ec_point_t lifted;
    ec_from_affine(&lifted, b);
    fp_cmov(&out.X, &lifted.X, a_inf);
    fp_cmov(&out.Y, &lifted.Y, a_inf);
    fp_cmov(&out.Z, &lifted.Z, a_inf);
    *r = out;
}

/* a = +-b (H = 0) is handled on a separate, variable-time path: public points only. */
void ec_add_affine(ec_point_t *r, const ec_point_t *a, const ec_affine_t *b)
{
    uint64_t exc, same;
    ec_point_t a_in = *a;
    add_affine_core(r, a, b, &exc, &same);
    if (exc) {
        if (same)
            ec_dbl(r, &a_in);
        else
            ec_set_infinity(r);
    }
}

void ec_add_affine_ct(ec_point_t *r, const ec_point_t *a, const ec_affine_t *b)
{
    uint64_t exc, same;
    add_affine_core(r, a, b, &exc, &same); /* a = -b gives Z = 0, the point at infinity */
}

void ec_add_affine_complete(ec_point_t *r, const ec_point_t *a, const ec_affine_t *b)
{
    uint64_t exc, same;
    ec_point_t d, out;
    ec_from_affine(&d, b);
    ec_dbl(&d, &d); /* [2]b, selected when a = b */
    add_affine_core(&out, a, b, &exc, &same); /* a = -b: Z = 0 already */
    fp_cmov(&out.X, &d.X, same);
    fp_cmov(&out.Y, &d.Y, same);
    fp_cmov(&out.Z, &d.Z, same);
    *r = out;
}

/* add-2007-bl, general Jacobian addition, 11M + 5S, with every exceptional case (an input at
 * infinity, a = b, a = -b) resolved by masks: R = [r]Q_b in encapsulation is the sum of two
 * secret multiples. a = -b gives Z = 0 from the formula itself. */
void ec_add(ec_point_t *r, const ec_point_t *a, const ec_point_t *b)
{
    fp_t z1z1, z2z2, u1, u2, s1, s2, h, i, j, rr, v, t;
    ec_point_t out, d;
    uint64_t a_inf = fp_is_zero(&a->Z), b_inf = fp_is_zero(&b->Z);
    fp_sqr(&z1z1, &a->Z);
    fp_sqr(&z2z2, &b->Z);
    fp_mul(&u1, &a->X, &z2z2);
    fp_mul(&u2, &b->X, &z1z1);
    fp_mul(&s1, &a->Y, &b->Z);
    fp_mul(&s1, &s1, &z2z2);
    fp_mul(&s2, &b->Y, &a->Z);
    fp_mul(&s2, &s2, &z1z1);
    fp_sub(&h, &u2, &u1);
    fp_sub(&rr, &s2, &s1);
    uint64_t same = fp_is_zero(&h) & fp_is_zero(&rr) & ~a_inf & ~b_inf;
    fp_dbl(&i, &h);
    fp_sqr(&i, &i);
    fp_mul(&j, &h, &i);
    fp_dbl(&rr, &rr);
    fp_mul(&v, &u1, &i);
    fp_sqr(&t, &rr);
    fp_sub(&t, &t, &j);
    fp_sub(&t, &t, &v);
    fp_sub(&out.X, &t, &v);
    fp_sub(&t, &v, &out.X);
    fp_mul(&t, &t, &rr);
    fp_mul(&s1, &s1, &j);
    fp_dbl(&s1, &s1);
    fp_sub(&out.Y, &t, &s1);
    fp_add(&t, &a->Z, &b->Z);
    fp_sqr(&t, &t);
    fp_sub(&t, &t, &z1z1);
    fp_sub(&t, &t, &z2z2);
    fp_mul(&out.Z, &t, &h);
    ec_dbl(&d, a);
    fp_cmov(&out.X, &d.X, same);
    fp_cmov(&out.Y, &d.Y, same);
    fp_cmov(&out.Z, &d.Z, same);
    fp_cmov(&out.X, &b->X, a_inf);
    fp_cmov(&out.Y, &b->Y, a_inf);
    fp_cmov(&out.Z, &b->Z, a_inf);
    fp_cmov(&out.X, &a->X, b_inf);
    fp_cmov(&out.Y, &a->Y, b_inf);
    fp_cmov(&out.Z, &a->Z, b_inf);
    *r = out;
}

void ec_mul_public(ec_point_t *r, const ec_affine_t *a, const uint8_t *k, size_t k_len)
{
    ec_point_t acc;
    ec_set_infinity(&acc);
    for (size_t i = 0; i < k_len; i++) {
        for (int bit = 7; bit >= 0; bit--) {
            ec_dbl(&acc, &acc);
            if ((k[i] >> bit) & 1)
                ec_add_affine(&acc, &acc, a);
        }
    }
    *r = acc;
}

uint64_t ec_equal_affine(const ec_point_t *a, const ec_affine_t *b)
{
    fp_t z2, t;
    fp_sqr(&z2, &a->Z);
    fp_mul(&t, &b->x, &z2);
    uint64_t eq = fp_equal(&t, &a->X);
    fp_mul(&z2, &z2, &a->Z);
    fp_mul(&t, &b->y, &z2);
    eq &= fp_equal(&t, &a->Y);
    return eq & ~fp_is_zero(&a->Z);
}

mcsec_status_t fp_batch_inv(fp_t *r, const fp_t *a, size_t n)
{
    if (n == 0)
        return MCSEC_OK;
    fp_t *prefix = malloc(n * sizeof *prefix);
    if (prefix == NULL)
        return MCSEC_ERR_NOMEM;
    prefix[0] = a[0];
    for (size_t i = 1; i < n; i++)
        fp_mul(&prefix[i], &prefix[i - 1], &a[i]);
    fp_t inv, t;
    fp_inv(&inv, &prefix[n - 1]);
    for (size_t i = n - 1; i > 0; i--) {
        fp_mul(&t, &inv, &prefix[i - 1]); /* a[i]^-1 */
        fp_mul(&inv, &inv, &a[i]);
        r[i] = t;
    }
    r[0] = inv;
    mcsec_memzero(prefix, n * sizeof *prefix);
    free(prefix);
    return MCSEC_OK;
}

/* Affine r = a + d for each of n pairs, with one shared inversion (Montgomery's trick).
 * Fails with MCSEC_ERR_SMALL_ORDER if some a = +-d, which points of order q never reach
 * here. inv is scratch space for n elements. Public points only. */
static mcsec_status_t batch_add_affine(ec_affine_t *r, size_t r_stride, const ec_affine_t *a,
                                       size_t a_stride, const ec_affine_t *d, size_t n, fp_t *inv)
{
    for (size_t i = 0; i < n; i++) {
        fp_sub(&inv[i], &d[i].x, &a[i * a_stride].x);
        if (fp_is_zero(&inv[i]))
            return MCSEC_ERR_SMALL_ORDER;
    }
    mcsec_status_t rc = fp_batch_inv(inv, inv, n);
    if (rc != MCSEC_OK)
        return rc;
    for (size_t i = 0; i < n; i++) {
        const ec_affine_t *p = &a[i * a_stride];
        fp_t lambda, x3, t;
        fp_sub(&t, &d[i].y, &p->y);
        fp_mul(&lambda, &t, &inv[i]);
        fp_sqr(&x3, &lambda);
        fp_sub(&x3, &x3, &p->x);
        fp_sub(&x3, &x3, &d[i].x);
        fp_sub(&t, &p->x, &x3);
        fp_mul(&t, &t, &lambda);
        ec_affine_t *o = &r[i * r_stride];
        fp_sub(&o->y, &t, &p->y);
        o->x = x3;
    }
    return MCSEC_OK;
}

/* Affine r[i] = [2]a[i] with one shared inversion. */
static mcsec_status_t batch_dbl_affine(ec_affine_t *r, const ec_affine_t *a, size_t n, fp_t *inv)
{
    for (size_t i = 0; i < n; i++) {
        fp_dbl(&inv[i], &a[i].y);
        if (fp_is_zero(&inv[i]))
            return MCSEC_ERR_SMALL_ORDER;
    }
    mcsec_status_t rc = fp_batch_inv(inv, inv, n);
    if (rc != MCSEC_OK)
        return rc;
    fp_t one;
    fp_set_one(&one);
    for (size_t i = 0; i < n; i++) {
        fp_t lambda, x3, t;
        fp_sqr(&t, &a[i].x);
        fp_sub(&t, &t, &one);
        fp_add(&lambda, &t, &t);
        fp_add(&t, &lambda, &t); /* 3 (x^2 - 1) */
        fp_mul(&lambda, &t, &inv[i]);
        fp_sqr(&x3, &lambda);
        fp_sub(&x3, &x3, &a[i].x);
        fp_sub(&x3, &x3, &a[i].x);
        fp_sub(&t, &a[i].x, &x3);
        fp_mul(&t, &t, &lambda);
        fp_sub(&r[i].y, &t, &a[i].y);
        r[i].x = x3;
    }
    return MCSEC_OK;
}

/* Builds the table column by column: the window bases [2^(w i)]B by doubling, then
 * e[i][j] = e[i][j-1] + [2]B_i for all windows at once, each column costing one inversion.
 * About 6 multiplications per entry instead of 16 for Jacobian additions. */
static mcsec_status_t ec_table_build(ec_table_t **out, const ec_affine_t *base);

mcsec_status_t ec_table_new(ec_table_t **out, const ec_affine_t *base)
{
#if defined(MCSEC_FUZZ_MEMO)
    /* fuzz builds only: the table of a base seen before is a copy (crypto/fuzz_memo.c) */
    fuzz_memo_key_t memo;
    mcsec_status_t rc;
    ec_table_t *t = malloc(sizeof *t);
    *out = NULL;
    if (t == NULL)
        return MCSEC_ERR_NOMEM;
    fuzz_memo_key(&memo, "ec_table", 1, base, sizeof *base);
    if (fuzz_memo_get(&memo, &rc, t, sizeof *t)) {
        if (rc == MCSEC_OK)
            *out = t;
        else
            free(t);
        return rc;
    }
    free(t);
    rc = ec_table_build(out, base);
    if (rc != MCSEC_ERR_NOMEM)
        fuzz_memo_put(&memo, rc, *out, rc == MCSEC_OK ? sizeof **out : 0);
    return rc;
#else
    return ec_table_build(out, base);
#endif
}

static mcsec_status_t ec_table_build(ec_table_t **out, const ec_affine_t *base)
{
    const size_t n = EC_WINDOWS;
    ec_table_t *t = malloc(sizeof *t);
    ec_point_t *jac = malloc(n * sizeof *jac);
    ec_affine_t *dbl = malloc(n * sizeof *dbl);
    fp_t *scratch = malloc(n * sizeof *scratch);
    mcsec_status_t rc = MCSEC_ERR_NOMEM;
    if (t == NULL || jac == NULL || dbl == NULL || scratch == NULL)
        goto out;
    ec_from_affine(&jac[0], base);
    for (size_t w = 1; w < n; w++) {
        jac[w] = jac[w - 1];
        for (int k = 0; k < EC_WIN; k++)
            ec_dbl(&jac[w], &jac[w]);
    }
    for (size_t w = 0; w < n; w++) {
        if (fp_is_zero(&jac[w].Z)) { /* only for a base of small order */
            rc = MCSEC_ERR_SMALL_ORDER;
            goto out;
        }
        scratch[w] = jac[w].Z;
    }
    if ((rc = fp_batch_inv(scratch, scratch, n)) != MCSEC_OK)
        goto out;
    for (size_t w = 0; w < n; w++) {
        fp_t z2, z3;
        fp_sqr(&z2, &scratch[w]);
        fp_mul(&z3, &z2, &scratch[w]);
        fp_mul(&t->e[w][0].x, &jac[w].X, &z2);
        fp_mul(&t->e[w][0].y, &jac[w].Y, &z3);
        dbl[w] = t->e[w][0];
    }
    if ((rc = batch_dbl_affine(dbl, dbl, n, scratch)) != MCSEC_OK)
        goto out;
    for (int j = 1; j < EC_WIN_ENTRIES; j++) {
        rc = batch_add_affine(&t->e[0][j], EC_WIN_ENTRIES, &t->e[0][j - 1], EC_WIN_ENTRIES, dbl,
                              n, scratch);
        if (rc != MCSEC_OK)
            goto out;
    }
    *out = t;
    t = NULL;
out:
    free(t);
    free(jac);
    free(dbl);
    free(scratch);
    return rc;
}

void ec_table_free(ec_table_t *t) { free(t); }

void sc_recode(int8_t digits[EC_WINDOWS], const uint8_t k_odd[MCSEC_SAKKE_SCALAR_LEN])
{
    uint64_t k[FP_LIMBS];
    mcsec_limbs_from_be(k, k_odd, FP_LIMBS);
    for (int i = 0; i < EC_WINDOWS - 1; i++) {
        digits[i] = (int8_t)((int)(k[0] & ((2u << EC_WIN) - 1)) - (1 << EC_WIN));
        /* k = (k - d) / 2^w = (k >> w) | 1 */
        for (int l = 0; l < FP_LIMBS - 1; l++)
            k[l] = (k[l] >> EC_WIN) | (k[l + 1] << (64 - EC_WIN));
        k[FP_LIMBS - 1] >>= EC_WIN;
        k[0] |= 1;
    }
    digits[EC_WINDOWS - 1] = (int8_t)k[0]; /* odd, below 2^EC_WIN for k < 2^1022 */
    mcsec_memzero(k, sizeof k);
}

uint64_t sc_make_odd(uint8_t r[MCSEC_SAKKE_SCALAR_LEN], const uint8_t k[MCSEC_SAKKE_SCALAR_LEN])
{
    uint8_t neg[MCSEC_SAKKE_SCALAR_LEN];
    sc_neg(neg, k);
    uint64_t even = (uint64_t)(k[MCSEC_SAKKE_SCALAR_LEN - 1] & 1) - 1; /* all ones if even */
    uint8_t m = (uint8_t)even;
    for (int i = 0; i < MCSEC_SAKKE_SCALAR_LEN; i++)
        r[i] = (uint8_t)((neg[i] & m) | (k[i] & ~m));
    mcsec_memzero(neg, sizeof neg);
    return even;
}

/* Constant-time lookup of entry |d| of a window, negated if d < 0: every entry is read and
 * masked, so neither the branch pattern nor the addresses depend on d. */
static void table_select(ec_affine_t *r, const ec_affine_t row[EC_WIN_ENTRIES], int d)
{
    uint64_t sign = (uint64_t)0 - (uint64_t)((unsigned)d >> 31);
    unsigned absd = (unsigned)((d ^ (int)sign) - (int)sign);
    unsigned idx = (absd - 1) >> 1;
    uint64_t acc[2 * FP_LIMBS] = {0};
    for (unsigned j = 0; j < EC_WIN_ENTRIES; j++) {
        uint64_t m = (uint64_t)0 - (uint64_t)(((j ^ idx) - 1) >> 31 & 1); /* j == idx */
        const uint64_t *e = row[j].x.v;
        for (int l = 0; l < FP_LIMBS; l++)
            acc[l] |= e[l] & m;
        e = row[j].y.v;
        for (int l = 0; l < FP_LIMBS; l++)
            acc[FP_LIMBS + l] |= e[l] & m;
    }
    memcpy(r->x.v, acc, sizeof r->x.v);
    memcpy(r->y.v, acc + FP_LIMBS, sizeof r->y.v);
    fp_cneg(&r->y, &r->y, sign);
}

void ec_table_mul(ec_point_t *r, const ec_table_t *t, const uint8_t k[MCSEC_SAKKE_SCALAR_LEN])
{
    uint8_t kodd[MCSEC_SAKKE_SCALAR_LEN];
    int8_t digits[EC_WINDOWS];
    ec_affine_t e;
    ec_point_t acc;
    uint64_t negate = sc_make_odd(kodd, k);
    sc_recode(digits, kodd);
    table_select(&e, t->e[0], digits[0]);
    ec_from_affine(&acc, &e);
    /* Before window w (w < EC_WINDOWS - 1) acc is [s]B with s odd and |s| < 2^(EC_WIN w) <=
     * |d_w 2^(EC_WIN w)|, and 2 |d_w| 2^(EC_WIN w) < q: acc = +-e is impossible for every
     * scalar, and the addition without exceptional cases is exact. Only the last window can
     * meet them (the sum wraps mod q there): a complete addition. */
    for (int w = 1; w < EC_WINDOWS - 1; w++) {
        table_select(&e, t->e[w], digits[w]);
        ec_add_affine_ct(&acc, &acc, &e);
    }
    table_select(&e, t->e[EC_WINDOWS - 1], digits[EC_WINDOWS - 1]);
    ec_add_affine_complete(&acc, &acc, &e);
    fp_cneg(&acc.Y, &acc.Y, negate); /* [q - k]B = -[k]B */
    *r = acc;
    mcsec_memzero(kodd, sizeof kodd);
    mcsec_memzero(digits, sizeof digits);
    mcsec_memzero(&e, sizeof e);
    mcsec_memzero(&acc, sizeof acc);
}

static ec_table_t *table_P;
static pthread_once_t table_P_once = PTHREAD_ONCE_INIT;

static void table_P_init(void)
{
    const fp_params_t *prm = fp_params();
    if (prm == NULL || ec_table_new(&table_P, &prm->P) != MCSEC_OK)
        table_P = NULL;
}

const ec_table_t *ec_table_P(void)
{
    pthread_once(&table_P_once, table_P_init);
    return table_P;
}
