/* Arithmetic in F_p for SAKKE parameter set 1: p is a fixed 1024-bit prime, elements are
 * 16 x 64-bit limbs in Montgomery form. Every function is constant time: no branch or
 * memory index depends on an operand. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>

#include "internal.h"

typedef unsigned __int128 u128;

#define UNROLL _Pragma("GCC unroll 16")

/* Carry chains: adc/sbb on x86-64, unsigned __int128 elsewhere. */
#if defined(__x86_64__)
#include <x86intrin.h>
#define ADDC(c, x, y, out) ((c) = _addcarry_u64((unsigned char)(c), (x), (y), (unsigned long long *)(out)))
#define SUBB(b, x, y, out) ((b) = _subborrow_u64((unsigned char)(b), (x), (y), (unsigned long long *)(out)))
#else
#define ADDC(c, x, y, out)                                                                        \
    do {                                                                                          \
        u128 s_ = (u128)(x) + (y) + (c);                                                          \
        *(out) = (uint64_t)s_;                                                                    \
        (c) = (unsigned)(s_ >> 64);                                                               \
    } while (0)
#define SUBB(b, x, y, out)                                                                        \
    do {                                                                                          \
        u128 d_ = (u128)(x) - (y) - (b);                                                          \
        *(out) = (uint64_t)d_;                                                                    \
        (b) = (unsigned)(d_ >> 64) & 1;                                                           \
    } while (0)
#endif


static fp_params_t params;
static pthread_once_t params_once = PTHREAD_ONCE_INIT;
static int params_ok;
static uint64_t q_n0, q_rr[FP_LIMBS]; /* Montgomery constants for scalars mod q */

/* RFC 6509 Appendix A. */
static const char P_HEX[] =
    "997ABB1F0A563FDA65C61198DAD0657A416C0CE19CB48261BE9AE358B3E01A2E"
    "F40AAB27E2FC0F1B228730D531A59CB0E791B39FF7C88A19356D27F4A666A6D0"
    "E26C6487326B4CD4512AC5CD65681CE1B6AFF4A831852A82A7CF3C521C3C09AA"
    "9F94D6AF56971F1FFCE3E82389857DB080C5DF10AC7ACE87666D807AFEA85FEB";
static const char PX_HEX[] =
    "53FC09EE332C29AD0A7990053ED9B52A2B1A2FD60AEC69C698B2F204B6FF7CBF"
    "B5EDB6C0F6CE2308AB10DB9030B09E1043D5F22CDB9DFA55718BD9E7406CE890"
    "9760AF765DD5BCCB337C86548B72F2E1A702C3397A60DE74A7C1514DBA66910D"
    "D5CFB4CC80728D87EE9163A5B63F73EC80EC46C4967E0979880DC8ABEAE63895";
static const char PY_HEX[] =
    "0A8249063F6009F1F9F1F0533634A135D3E82016029906963D778D821E141178"
    "F5EA69F4654EC2B9E7F7F5E5F0DE55F66B598CCF9A140B2E416CFF0CA9E032B9"
    "70DAE117AD547C6CCAD696B5B7652FE0AC6F1E80164AA989492D979FC5A4D5F2"
    "13515AD7E9CB99A980BDAD5AD5BB4636ADB9B5706A67DCDE75573FD71BEF16D7";
static const char G_HEX[] =
    "66FC2A432B6EA392148F15867D623068C6A87BD1FB94C41E27FABE658E015A87"
    "371E94744C96FEDA449AE9563F8BC446CBFDA85D5D00EF577072DA8F541721BE"
    "EE0FAED1828EAB90B99DFB0138C7843355DF0460B4A9FD74B4F1A32BCAFA1FFA"
    "D682C033A7942BCCE3720F20B9B7B0403C8CAE87B7A0042ACDE0FAB36461EA46";

void mcsec_limbs_from_be(uint64_t *r, const uint8_t *in, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint64_t w = 0;
        for (int k = 0; k < 8; k++)
            w = w << 8 | in[8 * (n - i - 1) + (size_t)k];
        r[i] = w;
    }
}

static void limbs_from_be(uint64_t r[FP_LIMBS], const uint8_t in[128])
{
    mcsec_limbs_from_be(r, in, FP_LIMBS);
}

void mcsec_limbs_to_be(uint8_t *out, const uint64_t *a, size_t n)
{
    for (size_t i = 0; i < n; i++)
        for (int k = 0; k < 8; k++)
            out[8 * (n - i) - 1 - (size_t)k] = (uint8_t)(a[i] >> (8 * k));
}

static void limbs_to_be(uint8_t out[128], const uint64_t a[FP_LIMBS])
{
    mcsec_limbs_to_be(out, a, FP_LIMBS);
}

static int bn_to_limbs(uint64_t r[FP_LIMBS], const BIGNUM *bn)
{
    uint8_t buf[128];
    if (BN_bn2binpad(bn, buf, sizeof buf) != (int)sizeof buf)
        return 0;
    limbs_from_be(r, buf);
    return 1;
}

/* r = a - b over 16 limbs; returns the borrow (0 or 1). */
static uint64_t limbs_sub(uint64_t r[FP_LIMBS], const uint64_t a[FP_LIMBS],
                          const uint64_t b[FP_LIMBS])
{
    unsigned borrow = 0;
    UNROLL for (int i = 0; i < FP_LIMBS; i++)
        SUBB(borrow, a[i], b[i], &r[i]);
    return borrow;
}

/* r = a + b over 16 limbs; returns the carry. */
static uint64_t limbs_add(uint64_t r[FP_LIMBS], const uint64_t a[FP_LIMBS],
                          const uint64_t b[FP_LIMBS])
{
    unsigned carry = 0;
    UNROLL for (int i = 0; i < FP_LIMBS; i++)
        ADDC(carry, a[i], b[i], &r[i]);
    return carry;
}

/* Given a value hi:t (hi is 0 or 1) below 2m, return it reduced below m. */
static void reduce_once_mod(uint64_t r[FP_LIMBS], const uint64_t t[FP_LIMBS], uint64_t hi,
                            const uint64_t m[FP_LIMBS])
{
    uint64_t d[FP_LIMBS];
    uint64_t borrow = limbs_sub(d, t, m);
    /* t >= p iff hi is set or the subtraction did not borrow. */
    uint64_t keep_t = (uint64_t)0 - (borrow & (hi ^ 1));
    for (int i = 0; i < FP_LIMBS; i++)
        r[i] = (t[i] & keep_t) | (d[i] & ~keep_t);
}

static void reduce_once(uint64_t r[FP_LIMBS], const uint64_t t[FP_LIMBS], uint64_t hi)
{
    reduce_once_mod(r, t, hi, params.p);
}


/* Montgomery multiplication, CIOS: r = a * b / 2^1024 mod m, for a 16-limb odd modulus m
 * (p, or q for scalars) and n0 = -m^-1 mod 2^64. */
void mcsec_fp_mont_mul_portable(uint64_t r[FP_LIMBS], const uint64_t a[FP_LIMBS],
                                const uint64_t b[FP_LIMBS], const uint64_t p[FP_LIMBS], uint64_t n0)
{
    uint64_t t[FP_LIMBS + 2];
    memset(t, 0, sizeof t);
    for (int i = 0; i < FP_LIMBS; i++) {
        uint64_t c = 0;
        const uint64_t bi = b[i];
        for (int j = 0; j < FP_LIMBS; j++) {
            u128 s = (u128)a[j] * bi + t[j] + c;
            t[j] = (uint64_t)s;
            c = (uint64_t)(s >> 64);
        }
        u128 s = (u128)t[FP_LIMBS] + c;
        t[FP_LIMBS] = (uint64_t)s;
        t[FP_LIMBS + 1] = (uint64_t)(s >> 64);

        const uint64_t m = t[0] * n0;
        s = (u128)m * p[0] + t[0];
        c = (uint64_t)(s >> 64);
        for (int j = 1; j < FP_LIMBS; j++) {
            s = (u128)m * p[j] + t[j] + c;
            t[j - 1] = (uint64_t)s;
            c = (uint64_t)(s >> 64);
        }
        s = (u128)t[FP_LIMBS] + c;
        t[FP_LIMBS - 1] = (uint64_t)s;
        t[FP_LIMBS] = t[FP_LIMBS + 1] + (uint64_t)(s >> 64);
    }
    reduce_once_mod(r, t, t[FP_LIMBS], p);
}

static fp_mont_mul_fn mont_impl = mcsec_fp_mont_mul_portable;
static const char *mont_impl_name = "portable";

static inline void mont_mul_mod(uint64_t r[FP_LIMBS], const uint64_t a[FP_LIMBS],
                                const uint64_t b[FP_LIMBS], const uint64_t m[FP_LIMBS], uint64_t n0)
{
    mont_impl(r, a, b, m, n0);
}

static inline void mont_mul(uint64_t r[FP_LIMBS], const uint64_t a[FP_LIMBS],
                            const uint64_t b[FP_LIMBS])
{
    mont_impl(r, a, b, params.p, params.n0);
}

const char *fp_impl_name(void) { return mont_impl_name; }

void fp_mul(fp_t *r, const fp_t *a, const fp_t *b) { mont_mul(r->v, a->v, b->v); }

void fp_sqr(fp_t *r, const fp_t *a) { mont_mul(r->v, a->v, a->v); }

/* r = a + b mod p in two carry-chain passes and a masked select. */
void fp_add(fp_t *r, const fp_t *a, const fp_t *b)
{
    uint64_t t[FP_LIMBS], d[FP_LIMBS];
    unsigned c = 0, bw = 0;
    UNROLL for (int i = 0; i < FP_LIMBS; i++)
        ADDC(c, a->v[i], b->v[i], &t[i]);
    UNROLL for (int i = 0; i < FP_LIMBS; i++)
        SUBB(bw, t[i], params.p[i], &d[i]);
    /* a + b >= p iff the addition carried or the subtraction did not borrow */
    uint64_t use_d = (uint64_t)0 - (uint64_t)(c | (bw ^ 1));
    UNROLL for (int i = 0; i < FP_LIMBS; i++)
        r->v[i] = (d[i] & use_d) | (t[i] & ~use_d);
}

void fp_dbl(fp_t *r, const fp_t *a) { fp_add(r, a, a); }

/* r = a - b mod p: subtract, then add p back under a mask if it borrowed. */
void fp_sub(fp_t *r, const fp_t *a, const fp_t *b)
{
    uint64_t t[FP_LIMBS];
    unsigned bw = 0, c = 0;
    UNROLL for (int i = 0; i < FP_LIMBS; i++)
        SUBB(bw, a->v[i], b->v[i], &t[i]);
    uint64_t mask = (uint64_t)0 - (uint64_t)bw;
    UNROLL for (int i = 0; i < FP_LIMBS; i++)
        ADDC(c, t[i], params.p[i] & mask, &r->v[i]);
}

void fp_neg(fp_t *r, const fp_t *a)
{
    fp_t zero;
    fp_set_zero(&zero);
    fp_sub(r, &zero, a);
}

void fp_cneg(fp_t *r, const fp_t *a, uint64_t mask)
{
    fp_t n;
    fp_neg(&n, a);
    *r = *a;
    fp_cmov(r, &n, mask);
}

void fp_set_zero(fp_t *r) { memset(r, 0, sizeof *r); }

void fp_set_one(fp_t *r) { *r = params.one_m; }

uint64_t fp_is_zero(const fp_t *a)
{
    uint64_t acc = 0;
    for (int i = 0; i < FP_LIMBS; i++)
        acc |= a->v[i];
    /* acc == 0 -> all ones */
    return ((acc | ((uint64_t)0 - acc)) >> 63) - 1;
}

uint64_t fp_equal(const fp_t *a, const fp_t *b)
{
    uint64_t acc = 0;
    for (int i = 0; i < FP_LIMBS; i++)
        acc |= a->v[i] ^ b->v[i];
    return ((acc | ((uint64_t)0 - acc)) >> 63) - 1;
}

void fp_cmov(fp_t *r, const fp_t *a, uint64_t mask)
{
    for (int i = 0; i < FP_LIMBS; i++)
        r->v[i] ^= (r->v[i] ^ a->v[i]) & mask;
}

/* a^(p-2) with a fixed 4-bit window: the exponent is public, so the schedule is fixed.
 * About 1,300 multiplications: the fallback when no blinding factor can be drawn. */
static void fp_inv_fermat(fp_t *r, const fp_t *a)
{
    fp_t table[16], acc;
    uint64_t e[FP_LIMBS];
    memcpy(e, params.p, sizeof e);
    e[0] -= 2; /* p is odd and > 2: no borrow */
    fp_set_one(&table[0]);
    table[1] = *a;
    for (int i = 2; i < 16; i++)
        fp_mul(&table[i], &table[i - 1], a);
    fp_set_one(&acc);
    for (int i = 16 * FP_LIMBS - 1; i >= 0; i--) {
        for (int k = 0; k < 4; k++)
            fp_sqr(&acc, &acc);
        unsigned nib = (unsigned)(e[i / 16] >> (4 * (i % 16))) & 15;
        fp_mul(&acc, &acc, &table[nib]); /* nib is public (exponent p - 2) */
    }
    *r = acc;
    mcsec_memzero(table, sizeof table);
    mcsec_memzero(&acc, sizeof acc);
}

/* The binary extended Euclidean algorithm over n <= 16 limbs: r = x^-1 mod m for 0 < x < m,
 * m an odd prime. Variable time: callers pass only values blinded by a fresh random factor.
 * Written for any width so that the 16-limb field and ECCSI's 4-limb scalars share it;
 * always_inline lets the compiler specialise the field's fixed-width copy. */
static inline __attribute__((always_inline)) void
inv_binary_n(uint64_t *r, const uint64_t *x, const uint64_t *m, size_t n)
{
    uint64_t u[FP_LIMBS], v[FP_LIMBS], x1[FP_LIMBS] = {1}, x2[FP_LIMBS] = {0};
    memcpy(u, x, n * sizeof *u);
    memcpy(v, m, n * sizeof *v);
#define N_IS_ONE(a) ({ uint64_t acc_ = (a)[0] ^ 1; for (size_t i_ = 1; i_ < n; i_++) acc_ |= (a)[i_]; acc_ == 0; })
#define N_SHR1(a, top) do { for (size_t i_ = 0; i_ + 1 < n; i_++) (a)[i_] = ((a)[i_] >> 1) | ((a)[i_ + 1] << 63); (a)[n - 1] = ((a)[n - 1] >> 1) | ((uint64_t)(top) << 63); } while (0)
#define N_ADD(res, a, b) ({ unsigned c_ = 0; for (size_t i_ = 0; i_ < n; i_++) ADDC(c_, (a)[i_], (b)[i_], &(res)[i_]); c_; })
#define N_SUB(res, a, b) ({ unsigned b_ = 0; for (size_t i_ = 0; i_ < n; i_++) SUBB(b_, (a)[i_], (b)[i_], &(res)[i_]); b_; })
    while (!N_IS_ONE(u) && !N_IS_ONE(v)) {
        while ((u[0] & 1) == 0) {
            N_SHR1(u, 0);
            unsigned top = (x1[0] & 1) ? N_ADD(x1, x1, m) : 0; /* x1 / 2 mod m */
            N_SHR1(x1, top);
        }
        while ((v[0] & 1) == 0) {
            N_SHR1(v, 0);
            unsigned top = (x2[0] & 1) ? N_ADD(x2, x2, m) : 0;
            N_SHR1(x2, top);
        }
        uint64_t t[FP_LIMBS];
        if (N_SUB(t, u, v) == 0) { /* u >= v */
            memcpy(u, t, n * sizeof *u);
            if (N_SUB(x1, x1, x2))
                N_ADD(x1, x1, m);
        } else {
            N_SUB(v, v, u);
            if (N_SUB(x2, x2, x1))
                N_ADD(x2, x2, m);
        }
    }
    memcpy(r, N_IS_ONE(u) ? x1 : x2, n * sizeof *r);
#undef N_IS_ONE
#undef N_SHR1
#undef N_ADD
#undef N_SUB
    mcsec_memzero(u, sizeof u);
    mcsec_memzero(v, sizeof v);
    mcsec_memzero(x1, sizeof x1);
    mcsec_memzero(x2, sizeof x2);
}

static void inv_binary_vartime(uint64_t r[FP_LIMBS], const uint64_t x[FP_LIMBS],
                               const uint64_t m[FP_LIMBS])
{
    inv_binary_n(r, x, m, FP_LIMBS);
}

void limbs_inv_blinded_vartime(uint64_t *r, const uint64_t *x, const uint64_t *m, size_t n)
{
    inv_binary_n(r, x, m, n);
}

/* r = a^-1. The input is blinded by a fresh random rho (a*rho is uniform and independent of
 * a), inverted with a fast variable-time algorithm, and unblinded; about 40 times faster than
 * Fermat and still independent of a in its timing. inv(0) = 0. */
void fp_inv(fp_t *r, const fp_t *a)
{
    uint8_t rnd[MCSEC_SAKKE_FIELD_LEN];
    fp_t rho, x, y;
    uint64_t zero = fp_is_zero(a);
    if (mcsec_random_bytes(rnd, sizeof rnd) != MCSEC_OK) {
        fp_inv_fermat(r, a);
        return;
    }
    mcsec_ct_secret(rnd, sizeof rnd); /* rho must stay secret: x and rho give a */
    limbs_from_be(rho.v, rnd);
    reduce_once(rho.v, rho.v, 0); /* 2^1024 < 2p: now below p */
    rho.v[0] |= (uint64_t)fp_is_zero(&rho) & 1; /* never zero */
    fp_mul(&x, a, &rho);       /* a rho R, uniform in [1, p) for a != 0 */
    x.v[0] |= zero & 1;        /* keep the input of the inversion non-zero */
    /* Blinded: x is uniform and independent of a, so the variable-time inversion's branches
     * and timing reveal nothing about a (a = 0 shows as x = 1; callers treat 0 as public). */
    mcsec_ct_declassify(&x, sizeof x);
    inv_binary_vartime(y.v, x.v, params.p); /* (a rho R)^-1 */
    mont_mul(y.v, y.v, params.rrr); /* (a rho)^-1 R */
    fp_mul(&y, &y, &rho);      /* a^-1 R */
    fp_set_zero(&x);
    fp_cmov(&y, &x, zero);
    mcsec_ct_taint_as(&y, sizeof y, a, sizeof *a); /* rho cancels: a^-1 is as secret as a */
    *r = y;
    mcsec_memzero(rnd, sizeof rnd);
    mcsec_memzero(&rho, sizeof rho);
    mcsec_memzero(&x, sizeof x);
    mcsec_memzero(&y, sizeof y);
}

mcsec_status_t fp_from_bytes(fp_t *r, const uint8_t in[MCSEC_SAKKE_FIELD_LEN])
{
    uint64_t t[FP_LIMBS], d[FP_LIMBS];
    limbs_from_be(t, in);
    uint64_t below_p = limbs_sub(d, t, params.p);
    /* The range verdict is public (the caller gets it as a status); a secret coordinate (an
     * RSK) is always in range. */
    mcsec_ct_declassify(&below_p, sizeof below_p);
    if (below_p == 0) {
        mcsec_memzero(t, sizeof t);
        return MCSEC_ERR_POINT_RANGE;
    }
    mont_mul(r->v, t, params.rr);
    mcsec_memzero(t, sizeof t);
    return MCSEC_OK;
}

void fp_to_bytes(uint8_t out[MCSEC_SAKKE_FIELD_LEN], const fp_t *a)
{
    uint64_t one[FP_LIMBS] = {1}, t[FP_LIMBS];
    mont_mul(t, a->v, one);
    limbs_to_be(out, t);
    mcsec_memzero(t, sizeof t);
}

#if defined(__x86_64__)
#include <cpuid.h>

/* CPU features by cpuid (leaf 7) and, for AVX-512, the OS's saved-state mask (xgetbv): works
 * the same with gcc and clang, which disagree on __builtin_cpu_supports names. */
static int cpu_has_adx(void)
{
    unsigned a, b, c, d;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d))
        return 0;
    return (b >> 8 & 1) && (b >> 19 & 1); /* BMI2, ADX */
}

static int cpu_has_ifma(void)
{
    unsigned a, b, c, d;
    if (!cpu_has_adx() || !__get_cpuid_count(7, 0, &a, &b, &c, &d))
        return 0;
    int ok = (b >> 16 & 1) && (b >> 21 & 1) && (b >> 30 & 1) && (b >> 31 & 1); /* F IFMA BW VL */
    if (!ok || !__get_cpuid(1, &a, &b, &c, &d) || !(c >> 27 & 1))             /* OSXSAVE */
        return 0;
    unsigned lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return (lo & 0xE6) == 0xE6; /* SSE, AVX, opmask, ZMM_Hi256, Hi16_ZMM state enabled */
}
#endif

/* Picks the fastest multiplication back end this CPU runs, or the one named (if it runs).
 * Returns 0 if the named one is unavailable. */
int fp_select_impl(const char *name)
{
    int want_any = name == NULL || *name == 0;
#if defined(MCSEC_HAVE_FP_IFMA)
    if ((want_any || strcmp(name, "ifma") == 0) && cpu_has_ifma()) {
        mont_impl = mcsec_fp_mont_mul_ifma;
        mont_impl_name = "ifma";
        return 1;
    }
#endif
#if defined(MCSEC_HAVE_FP_ADX)
    if ((want_any || strcmp(name, "adx") == 0) && cpu_has_adx()) {
        mont_impl = mcsec_fp_mont_mul_adx;
        mont_impl_name = "adx";
        return 1;
    }
#endif
    mont_impl = mcsec_fp_mont_mul_portable;
    mont_impl_name = "portable";
    return want_any || strcmp(name, "portable") == 0;
}

static int hex_to_limbs(uint64_t r[FP_LIMBS], const char *hex)
{
    BIGNUM *bn = NULL;
    int ok = BN_hex2bn(&bn, hex) > 0 && bn_to_limbs(r, bn);
    BN_free(bn);
    return ok;
}

static void params_init(void)
{
    BN_CTX *ctx = BN_CTX_new();
    BIGNUM *p = NULL, *t = BN_new(), *w = BN_new();
    uint64_t raw[FP_LIMBS];
    if (ctx == NULL || t == NULL || w == NULL || BN_hex2bn(&p, P_HEX) <= 0)
        goto out;
    if (!bn_to_limbs(params.p, p))
        goto out;
    /* q = (p + 1) / 4 */
    if (!BN_copy(t, p) || !BN_add_word(t, 1) || !BN_rshift(t, t, 2) || !bn_to_limbs(params.q, t))
        goto out;
    /* rr = 2^2048 mod p */
    if (!BN_set_bit(w, 2048) || !BN_mod(t, w, p, ctx) || !bn_to_limbs(params.rr, t))
        goto out;
    /* rrr = 2^3072 mod p, for unblinding inverses */
    if (!BN_lshift(t, t, 1024) || !BN_mod(t, t, p, ctx) || !bn_to_limbs(params.rrr, t))
        goto out;
    /* n0 = -p^-1 mod 2^64, by Newton iteration on the low limb */
    uint64_t inv = 1;
    for (int i = 0; i < 7; i++)
        inv *= 2 - params.p[0] * inv;
    params.n0 = (uint64_t)0 - inv;
    uint64_t qinv = 1;
    for (int i = 0; i < 7; i++)
        qinv *= 2 - params.q[0] * qinv;
    q_n0 = (uint64_t)0 - qinv;
    if (!BN_hex2bn(&p, P_HEX) || !BN_add_word(p, 1) || !BN_rshift(p, p, 2) ||
        !BN_mod(t, w, p, ctx) || !bn_to_limbs(q_rr, t))
        goto out;
    limbs_to_be(params.p_be, params.p);
    limbs_to_be(params.q_be, params.q);
    fp_select_impl(getenv("MCSEC_FP_IMPL"));
    /* one in Montgomery form = 2^1024 mod p = mont_mul(1, rr) */
    uint64_t one[FP_LIMBS] = {1};
    mont_mul(params.one_m.v, one, params.rr);
    if (!hex_to_limbs(raw, PX_HEX))
        goto out;
    mont_mul(params.P.x.v, raw, params.rr);
    if (!hex_to_limbs(raw, PY_HEX))
        goto out;
    mont_mul(params.P.y.v, raw, params.rr);
    if (!hex_to_limbs(raw, G_HEX))
        goto out;
    mont_mul(params.g_m.v, raw, params.rr);
    params_ok = 1;
out:
    BN_free(p);
    BN_free(t);
    BN_free(w);
    BN_CTX_free(ctx);
}

const fp_params_t *fp_params(void)
{
    pthread_once(&params_once, params_init);
    return params_ok ? &params : NULL;
}


/* --- Scalars mod q ------------------------------------------------------------------- */

/* r = a * b mod q for a, b < q (plain form, big-endian 128 octets); constant time. */
void sc_mul(uint8_t r[MCSEC_SAKKE_SCALAR_LEN], const uint8_t a[MCSEC_SAKKE_SCALAR_LEN],
            const uint8_t b[MCSEC_SAKKE_SCALAR_LEN])
{
    uint64_t x[FP_LIMBS], y[FP_LIMBS], t[FP_LIMBS];
    limbs_from_be(x, a);
    limbs_from_be(y, b);
    mont_mul_mod(t, x, q_rr, params.q, q_n0); /* x * R */
    mont_mul_mod(t, t, y, params.q, q_n0);    /* x * y */
    limbs_to_be(r, t);
    mcsec_memzero(x, sizeof x);
    mcsec_memzero(y, sizeof y);
    mcsec_memzero(t, sizeof t);
}

/* r = x mod q for any 1024-bit x (big-endian 128 octets); constant time. Montgomery
 * multiplication accepts a * b < q 2^1024: x * (2^2048 mod q) / 2^1024 = x 2^1024 mod q, and a
 * product with 1 removes the factor. */
void sc_from_wide(uint8_t r[MCSEC_SAKKE_SCALAR_LEN], const uint8_t x[MCSEC_SAKKE_FIELD_LEN])
{
    uint64_t t[FP_LIMBS], one[FP_LIMBS] = {1};
    limbs_from_be(t, x);
    mont_mul_mod(t, t, q_rr, params.q, q_n0);
    mont_mul_mod(t, t, one, params.q, q_n0);
    limbs_to_be(r, t);
    mcsec_memzero(t, sizeof t);
}

/* r = a + b mod q for a, b < q; constant time. */
void sc_add(uint8_t r[MCSEC_SAKKE_SCALAR_LEN], const uint8_t a[MCSEC_SAKKE_SCALAR_LEN],
            const uint8_t b[MCSEC_SAKKE_SCALAR_LEN])
{
    uint64_t x[FP_LIMBS], y[FP_LIMBS], t[FP_LIMBS];
    limbs_from_be(x, a);
    limbs_from_be(y, b);
    uint64_t hi = limbs_add(t, x, y); /* q < 2^1022: no carry out, hi = 0 */
    reduce_once_mod(t, t, hi, params.q);
    limbs_to_be(r, t);
    mcsec_memzero(x, sizeof x);
    mcsec_memzero(y, sizeof y);
    mcsec_memzero(t, sizeof t);
}

/* r = q - a for 0 < a < q; constant time. */
void sc_neg(uint8_t r[MCSEC_SAKKE_SCALAR_LEN], const uint8_t a[MCSEC_SAKKE_SCALAR_LEN])
{
    uint64_t x[FP_LIMBS], t[FP_LIMBS];
    limbs_from_be(x, a);
    limbs_sub(t, params.q, x);
    limbs_to_be(r, t);
    mcsec_memzero(x, sizeof x);
    mcsec_memzero(t, sizeof t);
}

/* r = a^(q-2) mod q (Fermat, fixed window): constant time, the fallback without randomness. */
static void sc_inv_fermat(uint8_t r[MCSEC_SAKKE_SCALAR_LEN], const uint8_t a[MCSEC_SAKKE_SCALAR_LEN])
{
    uint64_t x[FP_LIMBS], acc[FP_LIMBS], table[16][FP_LIMBS], e[FP_LIMBS];
    uint64_t one[FP_LIMBS] = {1};
    limbs_from_be(x, a);
    memcpy(e, params.q, sizeof e);
    e[0] -= 2;
    mont_mul_mod(table[0], one, q_rr, params.q, q_n0);
    mont_mul_mod(table[1], x, q_rr, params.q, q_n0);
    for (int i = 2; i < 16; i++)
        mont_mul_mod(table[i], table[i - 1], table[1], params.q, q_n0);
    memcpy(acc, table[0], sizeof acc);
    for (int i = 16 * FP_LIMBS - 1; i >= 0; i--) {
        for (int k = 0; k < 4; k++)
            mont_mul_mod(acc, acc, acc, params.q, q_n0);
        unsigned nib = (unsigned)(e[i / 16] >> (4 * (i % 16))) & 15; /* public exponent */
        mont_mul_mod(acc, acc, table[nib], params.q, q_n0);
    }
    mont_mul_mod(acc, acc, one, params.q, q_n0);
    limbs_to_be(r, acc);
    mcsec_memzero(x, sizeof x);
    mcsec_memzero(acc, sizeof acc);
    mcsec_memzero(table, sizeof table);
}

/* r = a^-1 mod q for 0 < a < q, blinded like fp_inv: x = a*rho is uniform and independent
 * of a, inverted with the variable-time binary algorithm, then multiplied by rho. */
void sc_inv(uint8_t r[MCSEC_SAKKE_SCALAR_LEN], const uint8_t a[MCSEC_SAKKE_SCALAR_LEN])
{
    uint8_t rnd[MCSEC_SAKKE_SCALAR_LEN];
    uint64_t x[FP_LIMBS], rho[FP_LIMBS], t[FP_LIMBS];
    limbs_from_be(x, a);
    uint64_t acc = 0;
    for (int i = 0; i < FP_LIMBS; i++)
        acc |= x[i];
    uint64_t zero = ((acc | ((uint64_t)0 - acc)) >> 63) ^ 1; /* 1 iff a = 0 */
    int valid;
    do { /* rho uniform in [1, q-1]; the loop count reveals nothing about a */
        if (mcsec_random_bytes(rnd, sizeof rnd) != MCSEC_OK) {
            sc_inv_fermat(r, a);
            goto out;
        }
        rnd[0] &= 0x3F;
        mcsec_ct_secret(rnd, sizeof rnd); /* rho must stay secret: x rho and rho give x */
        limbs_from_be(rho, rnd);
        valid = sc_is_valid(rnd);
        mcsec_ct_declassify(&valid, sizeof valid); /* a rejected draw is thrown away */
    } while (!valid);
    mont_mul_mod(t, x, q_rr, params.q, q_n0); /* x R */
    mont_mul_mod(t, t, rho, params.q, q_n0);  /* x rho */
    t[0] |= zero;                             /* keep the input non-zero; fixed below */
    /* Blinded: x rho is uniform and independent of x (see fp_inv). */
    mcsec_ct_declassify(t, sizeof t);
    inv_binary_vartime(t, t, params.q);       /* (x rho)^-1 */
    mont_mul_mod(t, t, q_rr, params.q, q_n0); /* (x rho)^-1 R */
    mont_mul_mod(t, t, rho, params.q, q_n0);  /* x^-1 */
    for (int i = 0; i < FP_LIMBS; i++)
        t[i] &= zero - 1; /* inv(0) = 0 */
    mcsec_ct_taint_as(t, sizeof t, x, sizeof x); /* rho cancels: x^-1 is as secret as x */
    limbs_to_be(r, t);
out:
    mcsec_memzero(rnd, sizeof rnd);
    mcsec_memzero(x, sizeof x);
    mcsec_memzero(rho, sizeof rho);
    mcsec_memzero(t, sizeof t);
}

int sc_is_valid(const uint8_t s[MCSEC_SAKKE_SCALAR_LEN])
{
    uint64_t t[FP_LIMBS], d[FP_LIMBS];
    limbs_from_be(t, s);
    uint64_t acc = 0;
    for (int i = 0; i < FP_LIMBS; i++)
        acc |= t[i];
    uint64_t nonzero = (acc | ((uint64_t)0 - acc)) >> 63;
    uint64_t below_q = limbs_sub(d, t, params.q); /* borrow: t < q */
    mcsec_memzero(t, sizeof t);
    mcsec_memzero(d, sizeof d);
    return (int)(nonzero & below_q); /* no short circuit: s may be secret */
}
