/* Montgomery multiplication mod a 1024-bit odd modulus with AVX-512 IFMA
 * (vpmadd52luq/vpmadd52huq): r = a * b * 2^-1024 mod m, fully reduced, bit for bit what
 * mcsec_fp_mont_mul_portable returns, for any odd m below 2^1024 (p and q here).
 *
 * Numbers are split into 20 digits of 52 bits; position k of the accumulators holds the
 * (unnormalised) coefficient of 2^(52k). b enters shifted left by 16 bits, so that 20
 * reduction steps of 52 bits (a division by 2^1040) give a * b * 2^16 / 2^1040 = a * b /
 * 2^1024 with no per-modulus constant beyond n0; the result is below 2m and a constant-time
 * subtraction finishes it.
 *
 * The reduction steps are serial (quotient digit y_q needs position q after steps 0..q-1).
 * They run in general-purpose registers on a window of the four lowest open positions,
 * using only m_0..m_3 (8 cycles a step). The vector unit meanwhile adds y_q * (m_4..m_19)
 * and the product a * b in fixed lanes, and hands each position to the window three steps
 * before it is needed, which keeps its latency off the serial path.
 *
 * Needs AVX512F/VL/BW/IFMA (checked by the caller) and BMI2 (mulx), which every CPU with
 * AVX512-IFMA has. Constant time: no branch or memory index depends on the operands. */
#if defined(__x86_64__)

#include <immintrin.h>
#include <stdint.h>

#include "internal.h"

#define IFMA_TARGET __attribute__((target("avx512f,avx512ifma,avx512vl,avx512bw")))

#if defined(__clang__)
/* clang declines to unroll the 20 serial steps fully; the loop is still correct (and still
 * constant time: its indices are loop counters), only slower. */
#pragma clang diagnostic ignored "-Wpass-failed"
#endif

#define DIGITS 20 /* 52-bit digits per operand */
#define SLOTS 24  /* digits padded to three vectors of 8 */
#define WINDOW 4  /* positions the scalar window keeps; m digits it multiplies */
#define MASK52 ((UINT64_C(1) << 52) - 1)

/* Radix conversion 2^64 -> 2^52: digit k = bits [52k - shift, 52k - shift + 52) of the input,
 * taken as (x[lo_idx] >> lo_cnt) | (x[hi_idx] << hi_cnt); a count of 64 yields zero. One set
 * for shift 0 (a), one for shift 16 (b * 2^16). Digits 20..23 are zero. */
typedef struct {
    uint64_t lo_idx[SLOTS], lo_cnt[SLOTS], hi_idx[SLOTS], hi_cnt[SLOTS];
} radix_table_t;

static const radix_table_t radix_shift0 __attribute__((aligned(64))) = {
    {0, 0, 1, 2, 3, 4, 4, 5, 6, 7, 8, 8, 9, 10, 11, 12, 13, 13, 14, 15, 0, 0, 0, 0},
    {0, 52, 40, 28, 16, 4, 56, 44, 32, 20, 8, 60, 48, 36, 24, 12, 0, 52, 40, 28, 64, 64, 64, 64},
    {1, 1, 2, 3, 4, 5, 5, 6, 7, 8, 9, 9, 10, 11, 12, 13, 14, 14, 15, 0, 0, 0, 0, 0},
    {64, 12, 24, 36, 48, 60, 8, 20, 32, 44, 56, 4, 16, 28, 40, 52, 64, 12, 24, 64, 64, 64, 64, 64},
};

static const radix_table_t radix_shift16 __attribute__((aligned(64))) = {
    {0, 0, 1, 2, 3, 3, 4, 5, 6, 7, 7, 8, 9, 10, 11, 11, 12, 13, 14, 15, 0, 0, 0, 0},
    {64, 36, 24, 12, 0, 52, 40, 28, 16, 4, 56, 44, 32, 20, 8, 60, 48, 36, 24, 12, 64, 64, 64, 64},
    {0, 1, 2, 3, 4, 4, 5, 6, 7, 8, 8, 9, 10, 11, 12, 12, 13, 14, 15, 0, 0, 0, 0, 0},
    {16, 28, 40, 52, 64, 12, 24, 36, 48, 60, 8, 20, 32, 44, 56, 4, 16, 28, 40, 64, 64, 64, 64, 64},
};

/* d[0..2] = the 24 digits of x (16 limbs) per table t. */
static inline IFMA_TARGET void to_digits(__m512i d[3], const uint64_t x[FP_LIMBS],
                                         const radix_table_t *t)
{
    const __m512i x0 = _mm512_loadu_si512(x), x1 = _mm512_loadu_si512(x + 8);
    const __m512i mask = _mm512_set1_epi64((long long)MASK52);
#pragma GCC unroll 3
    for (int v = 0; v < 3; v++) {
        __m512i lo = _mm512_permutex2var_epi64(x0, _mm512_load_si512(t->lo_idx + 8 * v), x1);
        __m512i hi = _mm512_permutex2var_epi64(x0, _mm512_load_si512(t->hi_idx + 8 * v), x1);
        lo = _mm512_srlv_epi64(lo, _mm512_load_si512(t->lo_cnt + 8 * v));
        hi = _mm512_sllv_epi64(hi, _mm512_load_si512(t->hi_cnt + 8 * v));
        d[v] = _mm512_and_si512(_mm512_or_si512(lo, hi), mask);
    }
}

/* Radix conversion 2^52 -> 2^64 of a normalised number whose digit d sits in lane d + 4 of
 * three vectors: word w (w = 0..7 from lanes 0..15, w = 8..15 from lanes 8..23) is
 * (x[i0] >> c0) | (x[i1] << c1) | (x[i2] << c2). */
typedef struct {
    uint64_t i0[FP_LIMBS], i1[FP_LIMBS], i2[FP_LIMBS], c0[FP_LIMBS], c1[FP_LIMBS], c2[FP_LIMBS];
} limb_table_t;

static const limb_table_t to_limbs_table __attribute__((aligned(64))) = {
    {4, 5, 6, 7, 8, 10, 11, 12, 5, 7, 8, 9, 10, 12, 13, 14},
    {5, 6, 7, 8, 9, 11, 12, 13, 6, 8, 9, 10, 11, 13, 14, 15},
    {6, 7, 8, 9, 10, 12, 13, 14, 7, 9, 10, 11, 12, 14, 15, 0},
    {0, 12, 24, 36, 48, 8, 20, 32, 44, 4, 16, 28, 40, 0, 12, 24},
    {52, 40, 28, 16, 4, 44, 32, 20, 8, 48, 36, 24, 12, 52, 40, 28},
    {64, 64, 64, 64, 56, 64, 64, 64, 60, 64, 64, 64, 64, 64, 64, 64},
};

/* Digits w..w+7 of the 24 digits in x (zero outside); w a constant after unrolling. */
static inline IFMA_TARGET __m512i digit_window(const __m512i x[3], int w)
{
    const __m512i zero = _mm512_setzero_si512();
    const int k = w >= 0 ? w / 8 : -1, s = w - 8 * k;
    const __m512i lo = k < 0 ? zero : x[k];
    const __m512i hi = k + 1 >= 3 ? zero : x[k + 1];
    switch (s) {
    case 1:
        return _mm512_alignr_epi64(hi, lo, 1);
    case 2:
        return _mm512_alignr_epi64(hi, lo, 2);
    case 3:
        return _mm512_alignr_epi64(hi, lo, 3);
    case 4:
        return _mm512_alignr_epi64(hi, lo, 4);
    case 5:
        return _mm512_alignr_epi64(hi, lo, 5);
    case 6:
        return _mm512_alignr_epi64(hi, lo, 6);
    case 7:
        return _mm512_alignr_epi64(hi, lo, 7);
    default:
        return lo;
    }
}

/* Lane l (a constant after unrolling) of v, moved to lane 0. */
static inline IFMA_TARGET __m128i lane_of(__m512i v, int l)
{
    __m256i h = l < 4 ? _mm512_castsi512_si256(v) : _mm512_extracti64x4_epi64(v, 1);
    __m128i x = (l & 3) < 2 ? _mm256_castsi256_si128(h) : _mm256_extracti128_si256(h, 1);
    return (l & 1) ? _mm_unpackhi_epi64(x, x) : x;
}

/* Bit k of the result is lane k of the three masks. */
static inline uint32_t mask24(__mmask8 m0, __mmask8 m1, __mmask8 m2)
{
    return (uint32_t)m0 | (uint32_t)m1 << 8 | (uint32_t)m2 << 16;
}

/* Carries z (24 lanes, each below 2^61, lanes 0..3 zero) so that every lane is below 2^52;
 * returns what carries out of lane 23 (0 or 1 for the values used here). */
static inline IFMA_TARGET uint32_t normalise(__m512i z[3])
{
    const __m512i mask = _mm512_set1_epi64((long long)MASK52);
    const __m512i one = _mm512_set1_epi64(1), zero = _mm512_setzero_si512();
    const uint32_t out = (_mm512_cmpgt_epu64_mask(z[2], mask) >> 7) & 1;
    const __m512i c0 = _mm512_srli_epi64(z[0], 52), c1 = _mm512_srli_epi64(z[1], 52);
    const __m512i c2 = _mm512_srli_epi64(z[2], 52);
    z[0] = _mm512_add_epi64(_mm512_and_si512(z[0], mask), _mm512_alignr_epi64(c0, zero, 7));
    z[1] = _mm512_add_epi64(_mm512_and_si512(z[1], mask), _mm512_alignr_epi64(c1, c0, 7));
    z[2] = _mm512_add_epi64(_mm512_and_si512(z[2], mask), _mm512_alignr_epi64(c2, c1, 7));
    /* Now each lane is at most 2^52 + 2^9: the carries left are single bits, generated by
     * lanes above the mask and passed on by lanes equal to it. */
    const uint32_t gen =
        mask24(_mm512_cmpgt_epu64_mask(z[0], mask), _mm512_cmpgt_epu64_mask(z[1], mask),
               _mm512_cmpgt_epu64_mask(z[2], mask));
    const uint32_t prop =
        mask24(_mm512_cmpeq_epu64_mask(z[0], mask), _mm512_cmpeq_epu64_mask(z[1], mask),
               _mm512_cmpeq_epu64_mask(z[2], mask));
    const uint32_t cin = ((gen << 1) + prop) ^ prop;
    z[0] = _mm512_and_si512(_mm512_mask_add_epi64(z[0], (__mmask8)cin, z[0], one), mask);
    z[1] = _mm512_and_si512(_mm512_mask_add_epi64(z[1], (__mmask8)(cin >> 8), z[1], one), mask);
    z[2] = _mm512_and_si512(_mm512_mask_add_epi64(z[2], (__mmask8)(cin >> 16), z[2], one), mask);
    return out | ((cin >> 24) & 1);
}

/* r = the 16 limbs of the normalised digits z. */
static inline IFMA_TARGET void store_limbs(uint64_t r[FP_LIMBS], const __m512i z[3])
{
    const limb_table_t *t = &to_limbs_table;
#pragma GCC unroll 2
    for (int h = 0; h < 2; h++) {
        const __m512i x0 = z[h], x1 = z[h + 1];
        __m512i w0 = _mm512_permutex2var_epi64(x0, _mm512_load_si512(t->i0 + 8 * h), x1);
        __m512i w1 = _mm512_permutex2var_epi64(x0, _mm512_load_si512(t->i1 + 8 * h), x1);
        __m512i w2 = _mm512_permutex2var_epi64(x0, _mm512_load_si512(t->i2 + 8 * h), x1);
        w0 = _mm512_srlv_epi64(w0, _mm512_load_si512(t->c0 + 8 * h));
        w1 = _mm512_sllv_epi64(w1, _mm512_load_si512(t->c1 + 8 * h));
        w2 = _mm512_sllv_epi64(w2, _mm512_load_si512(t->c2 + 8 * h));
        _mm512_storeu_si512(r + 8 * h, _mm512_ternarylogic_epi64(w0, w1, w2, 0xfe));
    }
}

/* acc + the low (high) halves of x * broadcast(*p), the broadcast taken from memory. The
 * compiler would keep each broadcast in a register of its own and spill them. */
static inline IFMA_TARGET __m512i madd52lo_bcast(__m512i acc, __m512i x, const uint64_t *p)
{
    __asm__("vpmadd52luq %[p]%{1to8%}, %[x], %[acc]" : [acc] "+v"(acc) : [x] "v"(x), [p] "m"(*p));
    return acc;
}

static inline IFMA_TARGET __m512i madd52hi_bcast(__m512i acc, __m512i x, const uint64_t *p)
{
    __asm__("vpmadd52huq %[p]%{1to8%}, %[x], %[acc]" : [acc] "+v"(acc) : [x] "v"(x), [p] "m"(*p));
    return acc;
}

/* Adds the products of the window of a at w (digits w..w+7) with the digits of b that
 * meet it: in vector v, b_i with i = 8v - w (low halves) and i = 8v - w - 1 (high). */
static inline IFMA_TARGET void product_window(__m512i lo[5], __m512i hi[5], const __m512i ad[3],
                                              const uint64_t bd[SLOTS], int w)
{
    const __m512i win = digit_window(ad, w);
#pragma GCC unroll 5
    for (int v = 0; v < 5; v++) {
        const int i = 8 * v - w;
        if (i >= 0 && i < DIGITS) lo[v] = madd52lo_bcast(lo[v], win, bd + i);
        if (i - 1 >= 0 && i - 1 < DIGITS) hi[v] = madd52hi_bcast(hi[v], win, bd + i - 1);
    }
}

/* Constants of the scalar window, read from memory by window_step. */
enum { K_M0, K_M1, K_M2, K_M3, K_N0, K_C1, K_MASK, K_COUNT };

/* One reduction step of the scalar window. On entry s0..s3 are positions q..q+3 (s0 complete,
 * the others partial), yq = y_q << 12 where y_q = s0 * n0 mod 2^52 is the quotient digit,
 * and e is the vector accumulators' share of position q+1. Adds y_q * (m_0..m_3), moves the
 * window to q+1..q+4 and returns y_{q+1} << 12.
 *
 * Position q plus y_q * m_0 is a multiple of 2^52 and carries ceil(s0 / 2^52); of y_q * m_j,
 * the low digit goes to q+j and the high digit to q+j+1 (mulx of m_j by y_q << 12 gives the
 * high digit in its high word and the low digit << 12 in its low word). The next quotient
 * digit is formed without waiting for the low digit of y_q * m_1: with X = s1 + e + carry
 * and h0 the high digit of y_q * m_0, y_{q+1} << 12 = (X + h0) * (n0 << 12) + (y_q << 12) *
 * (m_1 * n0) mod 2^64. Assembly, because the compiler's scheduling and register allocation of
 * this serial path cost a third of the time. */
static inline uint64_t window_step(uint64_t *s0, uint64_t *s1, uint64_t *s2, uint64_t *s3,
                                   uint64_t yq, uint64_t e, const uint64_t k[K_COUNT])
{
    uint64_t t0, t1, t2, t3;
    __asm__("mulx %c[m0](%[k]), %[t0], %[t0]\n\t" /* t0 = h0 */
            "mulx %c[m1](%[k]), %[t1], %[t2]\n\t" /* t1 = l1 << 12, t2 = h1 */
            "mov %%rdx, %[t3]\n\t"
            "imul %c[c1](%[k]), %[t3]\n\t"
            "add %c[mask](%[k]), %[s0]\n\t"
            "shr $52, %[s0]\n\t" /* carry out of position q */
            "add %[e], %[s1]\n\t"
            "add %[s0], %[s1]\n\t" /* X */
            "mov %[s1], %[s0]\n\t"
            "imul %c[n0](%[k]), %[s0]\n\t"
            "add %[t3], %[s0]\n\t"
            "add %[t0], %[s1]\n\t" /* X + h0 */
            "imul %c[n0](%[k]), %[t0]\n\t"
            "add %[s0], %[t0]\n\t" /* t0 = y_{q+1} << 12 */
            "shr $12, %[t1]\n\t"
            "add %[t1], %[s1]\n\t" /* s1 = position q+1, complete */
            "mulx %c[m2](%[k]), %[t1], %[t3]\n\t"
            "add %[t2], %[s2]\n\t"
            "shr $12, %[t1]\n\t"
            "add %[t1], %[s2]\n\t"
            "mulx %c[m3](%[k]), %[t1], %[s0]\n\t" /* s0 = h3 */
            "add %[t3], %[s3]\n\t"
            "shr $12, %[t1]\n\t"
            "add %[t1], %[s3]\n\t"
            : [s0] "+&r"(*s0), [s1] "+&r"(*s1), [s2] "+&r"(*s2), [s3] "+&r"(*s3), [t0] "=&r"(t0),
              [t1] "=&r"(t1), [t2] "=&r"(t2), [t3] "=&r"(t3)
            : "d"(yq), [e] "r"(e), [k] "r"(k), "m"(*(const uint64_t(*)[K_COUNT])k),
              [m0] "i"(8 * K_M0), [m1] "i"(8 * K_M1), [m2] "i"(8 * K_M2), [m3] "i"(8 * K_M3),
              [n0] "i"(8 * K_N0), [c1] "i"(8 * K_C1), [mask] "i"(8 * K_MASK)
            : "cc");
    const uint64_t top = *s0;
    *s0 = *s1;
    *s1 = *s2;
    *s2 = *s3;
    *s3 = top;
    return t0;
}

#define M_WINDOWS (DIGITS + 3) /* windows of m' at w = -3..19 */
#define P_AHEAD 8              /* windows of a done before the serial part; the rest go along */

/* The product's share of vectors 1 and 2 must be complete before the window reads them. */
_Static_assert(P_AHEAD > WINDOW, "P_AHEAD too small");

IFMA_TARGET
void mcsec_fp_mont_mul_ifma(uint64_t r[FP_LIMBS], const uint64_t a[FP_LIMBS],
                            const uint64_t b[FP_LIMBS], const uint64_t m[FP_LIMBS], uint64_t n0)
{
    uint64_t bd[SLOTS] __attribute__((aligned(64)));
    __m512i ad[3], md[3], mz[3], t[3];
    __m512i mwin[M_WINDOWS];
    const __m512i zero = _mm512_setzero_si512();

    to_digits(ad, a, &radix_shift0);
    to_digits(t, b, &radix_shift16);
    _mm512_store_si512(bd, t[0]);
    _mm512_store_si512(bd + 8, t[1]);
    _mm512_store_si512(bd + 16, t[2]);
    to_digits(md, m, &radix_shift0);

    /* Windows of m' = m with digits 0..3 zeroed (the scalar window multiplies those):
     * mwin[w + 3] holds digits w..w+7 of m'. Kept in memory, read where used. */
    mz[0] = _mm512_maskz_mov_epi64(0xf0, md[0]);
    mz[1] = md[1];
    mz[2] = md[2];
#pragma GCC unroll 23
    for (int w = -3; w < DIGITS; w++)
        mwin[w + 3] = digit_window(mz, w);
    __asm__("" : "+m"(mwin));

    /* Digits m_0..m_3 and the constants of the scalar window. */
    const uint64_t m1 = (m[0] >> 52 | m[1] << 12) & MASK52;
    const uint64_t wk[K_COUNT] = {
        [K_M0] = m[0] & MASK52,
        [K_M1] = m1,
        [K_M2] = (m[1] >> 40 | m[2] << 24) & MASK52,
        [K_M3] = (m[2] >> 28 | m[3] << 36) & MASK52,
        [K_N0] = n0 << 12,
        [K_C1] = m1 * n0,
        [K_MASK] = MASK52,
    };

    /* a * (b << 16): low halves of a_j * b_i go to position i + j, high halves to i + j + 1.
     * The windows of a at 0..-3 first: after them positions 0..3 are complete and the serial
     * part can start while the rest of the product is formed. */
    __m512i lo[5], hi[5];
    __m128i e[DIGITS + 1];
#pragma GCC unroll 5
    for (int v = 0; v < 5; v++)
        lo[v] = hi[v] = zero;
#pragma GCC unroll 4
    for (int w = 0; w > -WINDOW; w--)
        product_window(lo, hi, ad, bd, w);

    /* e[k]: what the vector accumulators hold at position k once its last vector
     * contribution (y_{k-4} * m_4) is in; positions 0..3 have only the product. */
#pragma GCC unroll 4
    for (int k = 0; k < WINDOW; k++)
        e[k] = lane_of(_mm512_add_epi64(lo[0], hi[0]), k);
#pragma GCC unroll 4
    for (int w = -WINDOW; w >= -7; w--)
        product_window(lo, hi, ad, bd, w);
#pragma GCC unroll 7
    for (int w = 1; w < P_AHEAD; w++)
        product_window(lo, hi, ad, bd, w);

    /* y * m' goes to accumulators of its own, so that its additions do not queue behind
     * those of the product; ps[v] is the product's share of vector v once complete (after
     * the window at 8v). */
    __m512i ml[5], mh[5], ps[5];
#pragma GCC unroll 5
    for (int v = 0; v < 5; v++) {
        ml[v] = mh[v] = zero;
        if (8 * v < P_AHEAD) ps[v] = _mm512_add_epi64(lo[v], hi[v]);
    }

    /* Scalar window: s0 is position q (complete), s1..s3 partial sums for q+1..q+3. */
    uint64_t s0 = (uint64_t)_mm_cvtsi128_si64(e[0]), s1 = 0, s2 = 0, s3 = 0;
    uint64_t yq = s0 * (n0 << 12);
#pragma GCC unroll 20
    for (int q = 0; q < DIGITS; q++) {
        const uint64_t y = yq >> 12;
        const __m512i yv = _mm512_set1_epi64((long long)y);
#pragma GCC unroll 5
        for (int v = 0; v < 5; v++) {
            const int w = 8 * v - q;
            if (w + 7 >= WINDOW && w < DIGITS)
                ml[v] = _mm512_madd52lo_epu64(ml[v], yv, mwin[w + 3]);
            if (w + 6 >= WINDOW && w - 1 < DIGITS)
                mh[v] = _mm512_madd52hi_epu64(mh[v], yv, mwin[w + 2]);
        }
        if (q + WINDOW <= DIGITS) {
            const int k = q + WINDOW;
            e[k] =
                lane_of(_mm512_add_epi64(ps[k / 8], _mm512_add_epi64(ml[k / 8], mh[k / 8])), k % 8);
        }
        yq = window_step(&s0, &s1, &s2, &s3, yq, (uint64_t)_mm_cvtsi128_si64(e[q + 1]), wk);

        /* The rest of the product, a window per step, behind the serial work. */
        const int w = P_AHEAD + q;
        if (w < DIGITS) {
            product_window(lo, hi, ad, bd, w);
            if (w % 8 == 0) ps[w / 8] = _mm512_add_epi64(lo[w / 8], hi[w / 8]);
        }
    }
#pragma GCC unroll 5
    for (int v = 0; v < 5; v++)
        if (8 * v >= DIGITS) ps[v] = _mm512_add_epi64(lo[v], hi[v]);

    /* Positions 20..39 are the result z < 2m: the vector sums (digit d in lane d + 4), with
     * the scalar window in place of position 20 and added at 21..23. */
    const __m128i w01 =
        _mm_unpacklo_epi64(_mm_cvtsi64_si128((long long)s0), _mm_cvtsi64_si128((long long)s1));
    const __m128i w23 =
        _mm_unpacklo_epi64(_mm_cvtsi64_si128((long long)s2), _mm_cvtsi64_si128((long long)s3));
    const __m512i sw =
        _mm512_inserti64x4(zero, _mm256_inserti128_si256(_mm256_castsi128_si256(w01), w23, 1), 1);
    __m512i z[3], d[3];
    z[0] =
        _mm512_add_epi64(_mm512_maskz_add_epi64(0xe0, ps[2], _mm512_add_epi64(ml[2], mh[2])), sw);
    z[1] = _mm512_add_epi64(ps[3], _mm512_add_epi64(ml[3], mh[3]));
    z[2] = _mm512_add_epi64(ps[4], _mm512_add_epi64(ml[4], mh[4]));

    /* d = z + 2^1040 - m, normalised alongside z: its bit 1040 says z >= m, and then its
     * low 1040 bits are z - m. */
    const __m512i mask = _mm512_set1_epi64((long long)MASK52);
    const __m512i one0 = _mm512_maskz_set1_epi64(0x10, 1);
    d[0] = _mm512_add_epi64(
        z[0], _mm512_maskz_sub_epi64(0xf0, mask, _mm512_alignr_epi64(md[0], zero, 4)));
    d[0] = _mm512_add_epi64(d[0], one0);
    d[1] = _mm512_add_epi64(z[1], _mm512_sub_epi64(mask, _mm512_alignr_epi64(md[1], md[0], 4)));
    d[2] = _mm512_add_epi64(z[2], _mm512_sub_epi64(mask, _mm512_alignr_epi64(md[2], md[1], 4)));
    normalise(z);
    const __mmask8 ge = (__mmask8)(0 - normalise(d));
#pragma GCC unroll 3
    for (int v = 0; v < 3; v++)
        z[v] = _mm512_mask_blend_epi64(ge, z[v], d[v]);
    store_limbs(r, z);
}

#endif
