/* Internal interfaces of libmcsec_crypto. Not installed; tests may include it. */
#ifndef MCSEC_CRYPTO_INTERNAL_H
#define MCSEC_CRYPTO_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/types.h>

#include "mcsec/eccsi.h"
#include "mcsec/kdf.h"
#include "mcsec/sakke.h"
#include "mcsec/secmem.h"
#include "mcsec/status.h"

/* Runs every known-answer test; MCSEC_OK if all pass. Called once by mcsec_init(). */
mcsec_status_t mcsec_selftest(void);
mcsec_status_t mcsec_eccsi_selftest(void);
mcsec_status_t mcsec_sakke_selftest(void);
mcsec_status_t mcsec_kdf_selftest(void);

/* A keyed HMAC context (SHA-256, or SHA-1 if sha256 is 0), duplicated from a template made
 * once (kdf.c): free it with EVP_MAC_CTX_free, which cleanses the key. NULL on failure. */
EVP_MAC_CTX *mcsec_hmac_ctx(int sha256, const uint8_t *key, size_t key_len);
/* SHA-256 fetched once (NULL if the provider lacks it): EVP_sha256() fetches on every init. */
const EVP_MD *mcsec_sha256_md(void);

/* Constant-time validation (tests/ct, docs/security-testing-ct.md). Under valgrind memcheck,
 * after mcsec_ct_validation_enable(), secret octets are marked undefined so that memcheck
 * reports every branch and memory index that depends on them; outside that test (or without
 * valgrind's headers at build time) these do nothing.
 * - mcsec_ct_secret: p holds a fresh secret (a random scalar drawn inside the library);
 * - mcsec_ct_declassify: p is public by design although computed from secrets (an output
 *   such as a signature or a ciphertext, a verdict the caller sees anyway, a blinded value);
 *   every call says why in a comment;
 * - mcsec_ct_taint_as: out is secret exactly when in holds any secret octet (the result of
 *   a blinded computation, whose blinding factor is secret but cancels out). */
void mcsec_ct_validation_enable(void);
void mcsec_ct_secret(const void *p, size_t len);
void mcsec_ct_declassify(const void *p, size_t len);
void mcsec_ct_taint_as(const void *out, size_t out_len, const void *in, size_t in_len);

/* Every public entry point starts with this. */
#define MCSEC_REQUIRE_INIT()                                                                      \
    do {                                                                                          \
        mcsec_status_t init_rc_ = mcsec_init();                                                   \
        if (init_rc_ != MCSEC_OK)                                                                 \
            return init_rc_;                                                                      \
    } while (0)

/* --- Deterministic variants, for known-answer tests only ------------------------------- */

/* ECCSI issuance with a given v (RFC 6507 Appendix A uses v = 0x23456). */
mcsec_status_t mcsec_eccsi_issue_with_v(const uint8_t ksak[MCSEC_ECCSI_SCALAR_LEN],
                                        const uint8_t kpak[MCSEC_ECCSI_POINT_LEN],
                                        const uint8_t *id, size_t id_len,
                                        const uint8_t v[MCSEC_ECCSI_SCALAR_LEN],
                                        uint8_t ssk[MCSEC_ECCSI_SCALAR_LEN],
                                        uint8_t pvt[MCSEC_ECCSI_POINT_LEN]);

/* ECCSI signing with a given j; also returns HE (may be NULL). */
mcsec_status_t mcsec_eccsi_sign_with_j(const mcsec_eccsi_signer_t *signer, const uint8_t *msg,
                                       size_t msg_len, const uint8_t j[MCSEC_ECCSI_SCALAR_LEN],
                                       uint8_t sig[MCSEC_ECCSI_SIG_LEN],
                                       uint8_t he_out[MCSEC_ECCSI_HASH_LEN]);

/* Cache statistics of a verifier (tests and benchmarks). */
void mcsec_eccsi_verifier_stats(mcsec_eccsi_verifier_t *v, uint64_t *hits, uint64_t *misses);

/* KPAK = [KSAK]G for a given KSAK. */
mcsec_status_t mcsec_eccsi_kms_public(const uint8_t ksak[MCSEC_ECCSI_SCALAR_LEN],
                                      uint8_t kpak[MCSEC_ECCSI_POINT_LEN]);

/* HashToIntegerRange(s, n) of RFC 6508 5.1 with SHA-256, n given big-endian in n_len
 * octets; out is n_len octets, big-endian. */
mcsec_status_t mcsec_hash_to_range(const uint8_t *s, size_t s_len, const uint8_t *n,
                                   size_t n_len, uint8_t *out);

/* SAKKE encapsulation that also reports r and g^r (either may be NULL), for vectors. */
mcsec_status_t mcsec_sakke_encapsulate_trace(const mcsec_sakke_sender_t *sender,
                                             const uint8_t *id, size_t id_len, const uint8_t *ssv,
                                             size_t ssv_len, uint8_t out[MCSEC_SAKKE_ENCAP_LEN],
                                             uint8_t r_out[MCSEC_SAKKE_SCALAR_LEN],
                                             uint8_t gr_out[MCSEC_SAKKE_FIELD_LEN]);

#if defined(MCSEC_FUZZ_MEMO)
/* Fuzz builds only (-DMCSEC_FUZZ=ON; crypto/fuzz_memo.c). The expensive pure functions
 * (scrypt, RSK validation, precomputed tables, SAKKE decapsulation) remember their last
 * results by the SHA-256 of a name and every input, so an input the fuzzer repeats costs a
 * copy instead of a pairing. MCSEC_FUZZ_MEMO=0 in the environment turns it off. */
typedef struct {
    uint8_t digest[32];
    int on;
} fuzz_memo_key_t;
/* Names the call: fn, then n_parts pairs (const void *octets, size_t len). */
void fuzz_memo_key(fuzz_memo_key_t *key, const char *fn, size_t n_parts, ...);
/* 1 and the stored status (and value, when len matches what was stored) on a hit. */
int fuzz_memo_get(const fuzz_memo_key_t *key, mcsec_status_t *rc, void *value, size_t len);
void fuzz_memo_put(const fuzz_memo_key_t *key, mcsec_status_t rc, const void *value, size_t len);
#endif

#endif

/* --- ECCSI scalars mod q, the NIST P-256 order (eccsi_scalar.c): 32-octet big-endian values,
 * constant time. ----------------------------------------------------------------------- */
uint64_t ecsc_is_valid(const uint8_t s[MCSEC_ECCSI_SCALAR_LEN]); /* all-ones mask if 0 < s < q */
void ecsc_reduce(uint8_t r[MCSEC_ECCSI_SCALAR_LEN], const uint8_t h[MCSEC_ECCSI_SCALAR_LEN]);
void ecsc_add(uint8_t r[MCSEC_ECCSI_SCALAR_LEN], const uint8_t a[MCSEC_ECCSI_SCALAR_LEN],
              const uint8_t b[MCSEC_ECCSI_SCALAR_LEN]); /* a, b < q */
void ecsc_mul(uint8_t r[MCSEC_ECCSI_SCALAR_LEN], const uint8_t a[MCSEC_ECCSI_SCALAR_LEN],
              const uint8_t b[MCSEC_ECCSI_SCALAR_LEN]); /* a, b < q */
/* out = k + q or k + 2q, whichever lies in [2^256, 2^257): a 33-octet value whose first octet
 * is always 1, for OpenSSL, which skips leading zero octets and limbs of a scalar (the bit
 * length of a nonce is what lattice attacks need). */
void ecsc_pad(uint8_t out[MCSEC_ECCSI_SCALAR_LEN + 1], const uint8_t k[MCSEC_ECCSI_SCALAR_LEN]);
/* r = u^-1 for 0 < u < q. VARIABLE TIME: u must be blinded by a secret random factor. */
void ecsc_inv_blinded(uint8_t r[MCSEC_ECCSI_SCALAR_LEN], const uint8_t u[MCSEC_ECCSI_SCALAR_LEN]);

/* --- SAKKE parameter set 1 arithmetic (fp.c, ec1024.c, pairing.c) ---------------------- */

#define FP_LIMBS 16 /* 16 x 64 = 1024 bits */

/* An element of F_p in Montgomery form (a * 2^1024 mod p), little-endian limbs, fully
 * reduced (< p) between operations. */
typedef struct {
    uint64_t v[FP_LIMBS];
} fp_t;

/* F_p^2 = F_p[i]/(i^2 + 1): a + b*i. */
typedef struct {
    fp_t a, b;
} fp2_t;

/* A point of E: y^2 = x^3 - 3x in Jacobian coordinates (x = X/Z^2, y = Y/Z^3). */
typedef struct {
    fp_t X, Y, Z;
} ec_point_t;

/* An affine point (table entries, decoded inputs). */
typedef struct {
    fp_t x, y;
} ec_affine_t;

/* Global parameters, set up once by fp_params(). Values are in normal (not Montgomery)
 * form unless named _m. */
typedef struct {
    uint64_t p[FP_LIMBS];     /* field prime */
    uint64_t q[FP_LIMBS];     /* subgroup order (p + 1) / 4 */
    uint64_t rr[FP_LIMBS];    /* 2^2048 mod p */
    uint64_t rrr[FP_LIMBS];   /* 2^3072 mod p */
    uint64_t n0;              /* -p^-1 mod 2^64 */
    fp_t one_m;               /* 1 in Montgomery form */
    ec_affine_t P;            /* base point (Montgomery form) */
    fp_t g_m;                 /* g = <P, P> as x2/x1 (Montgomery form) */
    uint8_t p_be[MCSEC_SAKKE_FIELD_LEN];
    uint8_t q_be[MCSEC_SAKKE_SCALAR_LEN];
} fp_params_t;

const fp_params_t *fp_params(void);

/* Montgomery multiplication back ends: r = a * b * 2^-1024 mod m for a, b < m, with
 * n0 = -m^-1 mod 2^64; the result is fully reduced (< m). m is a 1024-bit odd modulus with its
 * top bit set or not (p and q). fp.c picks one at start-up (MCSEC_FP_IMPL=portable|adx|ifma
 * overrides), all must agree bit for bit. */
typedef void (*fp_mont_mul_fn)(uint64_t r[FP_LIMBS], const uint64_t a[FP_LIMBS],
                               const uint64_t b[FP_LIMBS], const uint64_t m[FP_LIMBS], uint64_t n0);
void mcsec_fp_mont_mul_portable(uint64_t r[FP_LIMBS], const uint64_t a[FP_LIMBS],
                                const uint64_t b[FP_LIMBS], const uint64_t m[FP_LIMBS], uint64_t n0);
void mcsec_fp_mont_mul_adx(uint64_t r[FP_LIMBS], const uint64_t a[FP_LIMBS],
                           const uint64_t b[FP_LIMBS], const uint64_t m[FP_LIMBS], uint64_t n0);
void mcsec_fp_mont_mul_ifma(uint64_t r[FP_LIMBS], const uint64_t a[FP_LIMBS],
                            const uint64_t b[FP_LIMBS], const uint64_t m[FP_LIMBS], uint64_t n0);
/* The back end in use ("portable", "adx" or "ifma"). */
const char *fp_impl_name(void);

void fp_mul(fp_t *r, const fp_t *a, const fp_t *b);
void fp_sqr(fp_t *r, const fp_t *a);
void fp_add(fp_t *r, const fp_t *a, const fp_t *b);
void fp_sub(fp_t *r, const fp_t *a, const fp_t *b);
void fp_neg(fp_t *r, const fp_t *a);
void fp_dbl(fp_t *r, const fp_t *a);
void fp_inv(fp_t *r, const fp_t *a); /* blinded, timing independent of a; inv(0) = 0 */
void fp_set_one(fp_t *r);
void fp_set_zero(fp_t *r);
uint64_t fp_is_zero(const fp_t *a);             /* all-ones mask if zero, else 0; constant time */
uint64_t fp_equal(const fp_t *a, const fp_t *b); /* all-ones mask if equal; constant time */
void fp_cmov(fp_t *r, const fp_t *a, uint64_t mask); /* r = mask ? a : r */
/* Big-endian 128 octets -> Montgomery form. MCSEC_ERR_POINT_RANGE if the value is >= p. */
mcsec_status_t fp_from_bytes(fp_t *r, const uint8_t in[MCSEC_SAKKE_FIELD_LEN]);
void fp_to_bytes(uint8_t out[MCSEC_SAKKE_FIELD_LEN], const fp_t *a);
/* Constant-time multiply-by-(-1): r = mask ? -a : a. */
void fp_cneg(fp_t *r, const fp_t *a, uint64_t mask);

/* Big-endian octets (8 n of them) <-> n little-endian 64-bit limbs. */
void mcsec_limbs_from_be(uint64_t *r, const uint8_t *in, size_t n);
void mcsec_limbs_to_be(uint8_t *out, const uint64_t *a, size_t n);

/* r = x^-1 mod m (m an odd prime of n <= 16 little-endian limbs, 0 < x < m) by the binary
 * extended Euclidean algorithm. VARIABLE TIME: pass only values blinded by a random factor. */
void limbs_inv_blinded_vartime(uint64_t *r, const uint64_t *x, const uint64_t *m, size_t n);

/* Scalars mod q, big-endian 128 octets (fp.c). */
int sc_is_valid(const uint8_t s[MCSEC_SAKKE_SCALAR_LEN]); /* 1 if 0 < s < q; constant time */
void sc_mul(uint8_t r[MCSEC_SAKKE_SCALAR_LEN], const uint8_t a[MCSEC_SAKKE_SCALAR_LEN],
            const uint8_t b[MCSEC_SAKKE_SCALAR_LEN]);
void sc_add(uint8_t r[MCSEC_SAKKE_SCALAR_LEN], const uint8_t a[MCSEC_SAKKE_SCALAR_LEN],
            const uint8_t b[MCSEC_SAKKE_SCALAR_LEN]);
void sc_neg(uint8_t r[MCSEC_SAKKE_SCALAR_LEN], const uint8_t a[MCSEC_SAKKE_SCALAR_LEN]);
void sc_inv(uint8_t r[MCSEC_SAKKE_SCALAR_LEN], const uint8_t a[MCSEC_SAKKE_SCALAR_LEN]);
/* r = x mod q for a 1024-bit x (HashToIntegerRange's reduction); constant time. */
void sc_from_wide(uint8_t r[MCSEC_SAKKE_SCALAR_LEN], const uint8_t x[MCSEC_SAKKE_FIELD_LEN]);
int fp_select_impl(const char *name); /* NULL: fastest; tests switch back ends */

/* --- Points (ec1024.c) ------------------------------------------------------------------ */

/* Decode 04 || x || y: encoding, range, on-curve, and y != 0 (the points of order 2). */
mcsec_status_t ec_decode(ec_affine_t *r, const uint8_t *in, size_t in_len);
void ec_encode(uint8_t out[MCSEC_SAKKE_POINT_LEN], const ec_affine_t *a);
void ec_from_affine(ec_point_t *r, const ec_affine_t *a);
int ec_to_affine(ec_affine_t *r, const ec_point_t *a); /* 0 for the point at infinity */
void ec_dbl(ec_point_t *r, const ec_point_t *a);
/* r = a + b, b affine. Branches on the exceptional cases a = +-b: public points only. */
void ec_add_affine(ec_point_t *r, const ec_point_t *a, const ec_affine_t *b);
/* The same in constant time for a != +-b (a may be the point at infinity); the caller
 * guarantees a != +-b (for a = +-b the result has Z = 0). */
void ec_add_affine_ct(ec_point_t *r, const ec_point_t *a, const ec_affine_t *b);
/* The same in constant time for every a, b (the doubling computed and selected by mask). */
void ec_add_affine_complete(ec_point_t *r, const ec_point_t *a, const ec_affine_t *b);
/* Variable-time [k]A for a public scalar (big-endian, any length up to 128 octets). */
void ec_mul_public(ec_point_t *r, const ec_affine_t *a, const uint8_t *k, size_t k_len);
/* All-ones mask if the Jacobian point a equals the affine point b; constant time. */
uint64_t ec_equal_affine(const ec_point_t *a, const ec_affine_t *b);

/* Fixed-base tables: for each EC_WIN-bit window i, the odd multiples [j * 2^(EC_WIN i)]B. */
#define EC_WIN 6
#define EC_WINDOWS ((1022 - 1) / EC_WIN + 1) /* signed recoding of scalars below q < 2^1022 */
#define EC_WIN_ENTRIES (1 << (EC_WIN - 1))
typedef struct {
    ec_affine_t e[EC_WINDOWS][EC_WIN_ENTRIES];
} ec_table_t;

/* Builds the table for base B (heap, caller frees with ec_table_free). */
mcsec_status_t ec_table_new(ec_table_t **out, const ec_affine_t *base);
void ec_table_free(ec_table_t *t);
/* [k]B for a secret scalar 0 < k < q; constant time. */
void ec_table_mul(ec_point_t *r, const ec_table_t *t, const uint8_t k[MCSEC_SAKKE_SCALAR_LEN]);
/* The shared table for the base point P (built once). */
const ec_table_t *ec_table_P(void);

/* Regular signed recoding: an odd k < 2^1022 as EC_WINDOWS odd digits, |d| < 2^EC_WIN. */
void sc_recode(int8_t digits[EC_WINDOWS], const uint8_t k_odd[MCSEC_SAKKE_SCALAR_LEN]);
/* Makes k odd: returns the all-ones mask if k was even and was replaced by q - k. */
uint64_t sc_make_odd(uint8_t r[MCSEC_SAKKE_SCALAR_LEN], const uint8_t k[MCSEC_SAKKE_SCALAR_LEN]);

/* Batch inversion (Montgomery's trick): r[i] = a[i]^-1; zero inputs give garbage for all. */
mcsec_status_t fp_batch_inv(fp_t *r, const fp_t *a, size_t n);
/* r = a + b in Jacobian coordinates; constant time, every case (infinity, a = +-b). */
void ec_add(ec_point_t *r, const ec_point_t *a, const ec_point_t *b);

/* --- Pairing (pairing.c) ---------------------------------------------------------------- */

/* Miller-loop lines of a fixed point K, normalised so that the line evaluated at
 * psi(R) = (-Rx, i*Ry) is (a*Rx + b) + i*Ry (up to an F_p factor, which the final
 * exponentiation removes). One per doubling and per non-zero NAF digit of q - 1. */
#define PAIRING_MAX_LINES 1400
typedef struct {
    fp_t a, b;
} pairing_line_t;
typedef struct {
    size_t n;
    pairing_line_t line[PAIRING_MAX_LINES];
} pairing_lines_t;

/* Precomputes the lines of K and checks [q]K = O (MCSEC_ERR_SMALL_ORDER otherwise).
 * Constant time in K except for the final verdict. */
mcsec_status_t pairing_precompute(pairing_lines_t *lines, const ec_affine_t *K);
/* <K, R> from K's lines, as x2/x1 in PF_p (Montgomery form). */
void pairing_eval(fp_t *out, const pairing_lines_t *lines, const ec_affine_t *R);

/* g^k in PF_p (x2/x1, Montgomery form) for a secret 0 < k < q; constant time. */
mcsec_status_t gt_pow_g(fp_t *out, const uint8_t k[MCSEC_SAKKE_SCALAR_LEN]);
/* The same before the final division: g^k = out->b / out->a. */
mcsec_status_t gt_pow_g_proj(fp2_t *out, const uint8_t k[MCSEC_SAKKE_SCALAR_LEN]);
