/* ECCSI scalars: arithmetic modulo q, the order of NIST P-256, on 32-octet big-endian values,
 * in constant time (4 x 64-bit limbs, Montgomery multiplication with R = 2^256, masked final
 * subtractions). Every secret ECCSI scalar (KSAK, v, SSK, j and what is derived from them
 * before s) is computed here rather than with OpenSSL's BIGNUMs, whose handling of a value's
 * length (bn_correct_top, BN_cmp, BN_is_zero) is not constant time. */
#include <string.h>

#include "internal.h"

typedef unsigned __int128 u128;

#define L 4

static const uint64_t Q[L] = {0xF3B9CAC2FC632551u, 0xBCE6FAADA7179E84u, 0xFFFFFFFFFFFFFFFFu,
                              0xFFFFFFFF00000000u};
static const uint64_t Q_RR[L] = {0x83244c95be79eea2u, 0x4699799c49bd6fa6u, 0x2845b2392b6bec59u,
                                 0x66e12d94f3d95620u}; /* 2^512 mod q */
static const uint64_t Q_N0 = 0xccd1c8aaee00bc4fu;      /* -q^-1 mod 2^64 */

/* r = a - b; returns the borrow. */
static uint64_t sub4(uint64_t r[L], const uint64_t a[L], const uint64_t b[L])
{
    uint64_t borrow = 0;
    for (int i = 0; i < L; i++) {
        u128 d = (u128)a[i] - b[i] - borrow;
        r[i] = (uint64_t)d;
        borrow = (uint64_t)(d >> 64) & 1;
    }
    return borrow;
}

/* hi:t (hi 0 or 1) below 2q -> r below q. */
static void reduce_once(uint64_t r[L], const uint64_t t[L], uint64_t hi)
{
    uint64_t d[L];
    uint64_t borrow = sub4(d, t, Q);
    uint64_t keep_t = (uint64_t)0 - (borrow & (hi ^ 1)); /* t < q */
    for (int i = 0; i < L; i++)
        r[i] = (t[i] & keep_t) | (d[i] & ~keep_t);
}

/* r = a b / 2^256 mod q for a, b < q (CIOS). */
static void mont_mul(uint64_t r[L], const uint64_t a[L], const uint64_t b[L])
{
    uint64_t t[L + 2] = {0};
    for (int i = 0; i < L; i++) {
        uint64_t c = 0;
        for (int j = 0; j < L; j++) {
            u128 s = (u128)a[j] * b[i] + t[j] + c;
            t[j] = (uint64_t)s;
            c = (uint64_t)(s >> 64);
        }
        u128 s = (u128)t[L] + c;
        t[L] = (uint64_t)s;
        t[L + 1] = (uint64_t)(s >> 64);
        uint64_t m = t[0] * Q_N0;
        s = (u128)m * Q[0] + t[0];
        c = (uint64_t)(s >> 64);
        for (int j = 1; j < L; j++) {
            s = (u128)m * Q[j] + t[j] + c;
            t[j - 1] = (uint64_t)s;
            c = (uint64_t)(s >> 64);
        }
        s = (u128)t[L] + c;
        t[L - 1] = (uint64_t)s;
        t[L] = t[L + 1] + (uint64_t)(s >> 64);
    }
    reduce_once(r, t, t[L]);
    mcsec_memzero(t, sizeof t);
}

uint64_t ecsc_is_valid(const uint8_t s[MCSEC_ECCSI_SCALAR_LEN])
{
    uint64_t x[L], d[L], acc = 0;
    mcsec_limbs_from_be(x, s, L);
    for (int i = 0; i < L; i++)
        acc |= x[i];
    uint64_t nonzero = (acc | ((uint64_t)0 - acc)) >> 63;
    uint64_t below_q = sub4(d, x, Q);
    mcsec_memzero(x, sizeof x);
    mcsec_memzero(d, sizeof d);
    return (uint64_t)0 - (nonzero & below_q);
}

void ecsc_reduce(uint8_t r[MCSEC_ECCSI_SCALAR_LEN], const uint8_t h[MCSEC_ECCSI_SCALAR_LEN])
{
    uint64_t x[L];
    mcsec_limbs_from_be(x, h, L);
    reduce_once(x, x, 0); /* 2^256 < 2q */
    mcsec_limbs_to_be(r, x, L);
    mcsec_memzero(x, sizeof x);
}

void ecsc_add(uint8_t r[MCSEC_ECCSI_SCALAR_LEN], const uint8_t a[MCSEC_ECCSI_SCALAR_LEN],
              const uint8_t b[MCSEC_ECCSI_SCALAR_LEN])
{
    uint64_t x[L], y[L], carry = 0;
    mcsec_limbs_from_be(x, a, L);
    mcsec_limbs_from_be(y, b, L);
    for (int i = 0; i < L; i++) {
        u128 s = (u128)x[i] + y[i] + carry;
        x[i] = (uint64_t)s;
        carry = (uint64_t)(s >> 64);
    }
    reduce_once(x, x, carry);
    mcsec_limbs_to_be(r, x, L);
    mcsec_memzero(x, sizeof x);
    mcsec_memzero(y, sizeof y);
}

void ecsc_mul(uint8_t r[MCSEC_ECCSI_SCALAR_LEN], const uint8_t a[MCSEC_ECCSI_SCALAR_LEN],
              const uint8_t b[MCSEC_ECCSI_SCALAR_LEN])
{
    uint64_t x[L], y[L];
    mcsec_limbs_from_be(x, a, L);
    mcsec_limbs_from_be(y, b, L);
    mont_mul(x, x, Q_RR); /* x R */
    mont_mul(x, x, y);    /* x y */
    mcsec_limbs_to_be(r, x, L);
    mcsec_memzero(x, sizeof x);
    mcsec_memzero(y, sizeof y);
}

void ecsc_inv_blinded(uint8_t r[MCSEC_ECCSI_SCALAR_LEN], const uint8_t u[MCSEC_ECCSI_SCALAR_LEN])
{
    uint64_t x[L];
    mcsec_limbs_from_be(x, u, L);
    limbs_inv_blinded_vartime(x, x, Q, L);
    mcsec_limbs_to_be(r, x, L);
    mcsec_memzero(x, sizeof x);
}

void ecsc_pad(uint8_t out[MCSEC_ECCSI_SCALAR_LEN + 1], const uint8_t k[MCSEC_ECCSI_SCALAR_LEN])
{
    uint64_t x[L], t[L], carry = 0;
    mcsec_limbs_from_be(x, k, L);
    for (int i = 0; i < L; i++) { /* t = k + q */
        u128 s = (u128)x[i] + Q[i] + carry;
        t[i] = (uint64_t)s;
        carry = (uint64_t)(s >> 64);
    }
    uint64_t again = carry - 1; /* all ones if k + q < 2^256: add q once more */
    uint64_t c2 = 0;
    for (int i = 0; i < L; i++) {
        u128 s = (u128)t[i] + (Q[i] & again) + c2;
        t[i] = (uint64_t)s;
        c2 = (uint64_t)(s >> 64);
    }
    out[0] = (uint8_t)(carry | c2); /* 1: exactly one of the two additions carried */
    mcsec_limbs_to_be(out + 1, t, L);
    mcsec_memzero(x, sizeof x);
    mcsec_memzero(t, sizeof t);
}
