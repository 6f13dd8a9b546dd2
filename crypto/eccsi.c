/* ECCSI (RFC 6507) on NIST P-256 with SHA-256: KMS issuance, key validation (5.1.2),
 * signing (5.2.1) and verification (5.2.2) with a per-verifier cache of Y = [HS]PVT + KPAK.
 *
 * Secrets (KSAK, v, SSK, j and everything derived from them before s) never enter a BIGNUM
 * computation: scalars mod q are mcsec's own constant-time code (eccsi_scalar.c), the one
 * inversion is of a blinded value, and the only OpenSSL call that sees a secret is the
 * generator multiplication [k]G (mul_g), whose affine result is public. Public values (r, s,
 * HS, HE, PVT, Y) use OpenSSL's fast variable-time routines. tests/ct checks this under
 * valgrind (docs/security-testing-ct.md). */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>

#include "internal.h"

#define SCALAR_LEN MCSEC_ECCSI_SCALAR_LEN
#define POINT_LEN MCSEC_ECCSI_POINT_LEN
#define HASH_LEN MCSEC_ECCSI_HASH_LEN
#define SIG_LEN MCSEC_ECCSI_SIG_LEN

/* Fresh nonces before giving up: a retry happens with probability about 2^-128. */
#define MAX_TRIES 16

/* --- System-wide constants, created once ------------------------------------------------ */

static struct {
    EC_GROUP *group;
    BIGNUM *p;
    const BIGNUM *q;
    EVP_MD *sha256;
    uint8_t g[POINT_LEN]; /* the generator, 04 || x || y */
    mcsec_status_t status;
} ecc = {.status = MCSEC_ERR_INTERNAL};

static pthread_once_t ecc_once = PTHREAD_ONCE_INIT;

static void ecc_setup(void) {
    BN_CTX *ctx = BN_CTX_new();
    ecc.group = EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1);
    ecc.p = BN_new();
    ecc.sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
    if (ctx == NULL || ecc.group == NULL || ecc.p == NULL || ecc.sha256 == NULL) goto out;
    ecc.q = EC_GROUP_get0_order(ecc.group);
    if (!EC_GROUP_get_curve(ecc.group, ecc.p, NULL, NULL, ctx) ||
        EC_POINT_point2oct(ecc.group, EC_GROUP_get0_generator(ecc.group),
                           POINT_CONVERSION_UNCOMPRESSED, ecc.g, POINT_LEN, ctx) != POINT_LEN)
        goto out;
    ecc.status = MCSEC_OK;
out:
    BN_CTX_free(ctx);
}

/* The constants live for the life of the process (like OpenSSL's own curve tables). */
static mcsec_status_t ecc_get(void) {
    if (pthread_once(&ecc_once, ecc_setup) != 0) return MCSEC_ERR_INTERNAL;
    return ecc.status;
}

/* --- Encodings and hashes ---------------------------------------------------------------- */

/* A public 32-octet scalar (r or s of a signature) in [1, q-1]. */
static mcsec_status_t scalar_load(BIGNUM *out, const uint8_t in[SCALAR_LEN]) {
    if (BN_bin2bn(in, SCALAR_LEN, out) == NULL) return MCSEC_ERR_NOMEM;
    if (BN_is_zero(out) || BN_cmp(out, ecc.q) >= 0) return MCSEC_ERR_SCALAR_RANGE;
    return MCSEC_OK;
}

/* The checks of a point's encoding that need no arithmetic. The fixed 65-octet field
 * cannot hold a curve point at infinity; its SEC1 encoding is the single octet 00, so a
 * field of 65 zero octets is read as infinity (MCSEC_ERR_INFINITY). Any other first octet
 * than 04 is MCSEC_ERR_POINT_ENCODING. */
static mcsec_status_t point_precheck(const uint8_t in[POINT_LEN]) {
    if (in[0] == 0x04) return MCSEC_OK;
    uint8_t any = 0;
    for (size_t i = 0; i < POINT_LEN; i++)
        any |= in[i];
    return any == 0 ? MCSEC_ERR_INFINITY : MCSEC_ERR_POINT_ENCODING;
}

/* Parses 04 || x || y into pt: coordinates must be < p and the point on the curve (the
 * cofactor is 1, so that also puts it in the prime-order group). */
static mcsec_status_t point_load(EC_POINT *pt, const uint8_t in[POINT_LEN], BN_CTX *ctx) {
    mcsec_status_t rc = point_precheck(in);
    if (rc != MCSEC_OK) return rc;
    BN_CTX_start(ctx);
    BIGNUM *x = BN_CTX_get(ctx);
    BIGNUM *y = BN_CTX_get(ctx);
    rc = MCSEC_ERR_NOMEM;
    if (y == NULL || BN_bin2bn(in + 1, 32, x) == NULL || BN_bin2bn(in + 33, 32, y) == NULL)
        goto out;
    rc = MCSEC_ERR_POINT_RANGE;
    if (BN_cmp(x, ecc.p) >= 0 || BN_cmp(y, ecc.p) >= 0) goto out;
    ERR_set_mark();
    if (EC_POINT_set_affine_coordinates(ecc.group, pt, x, y, ctx)) {
        rc = MCSEC_OK;
    } else {
        unsigned long err = ERR_peek_last_error();
        rc = ERR_GET_LIB(err) == ERR_LIB_EC && ERR_GET_REASON(err) == EC_R_POINT_IS_NOT_ON_CURVE
                 ? MCSEC_ERR_NOT_ON_CURVE
                 : MCSEC_ERR_INTERNAL;
    }
    ERR_pop_to_mark();
out:
    BN_CTX_end(ctx);
    return rc;
}

static mcsec_status_t point_store(const EC_POINT *pt, uint8_t out[POINT_LEN], BN_CTX *ctx) {
    if (EC_POINT_is_at_infinity(ecc.group, pt)) return MCSEC_ERR_INFINITY;
    if (EC_POINT_point2oct(ecc.group, pt, POINT_CONVERSION_UNCOMPRESSED, out, POINT_LEN, ctx) !=
        POINT_LEN)
        return MCSEC_ERR_INTERNAL;
    return MCSEC_OK;
}

/* SHA-256 over up to four parts (a NULL part with length 0 is skipped). */
static mcsec_status_t sha256_parts(uint8_t out[HASH_LEN], const void *a, size_t a_len,
                                   const void *b, size_t b_len, const void *c, size_t c_len,
                                   const void *d, size_t d_len) {
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    mcsec_status_t rc = MCSEC_ERR_INTERNAL;
    if (md == NULL) return MCSEC_ERR_NOMEM;
    if (EVP_DigestInit_ex2(md, ecc.sha256, NULL) && EVP_DigestUpdate(md, a, a_len) &&
        EVP_DigestUpdate(md, b, b_len) && EVP_DigestUpdate(md, c, c_len) &&
        EVP_DigestUpdate(md, d, d_len) && EVP_DigestFinal_ex(md, out, NULL))
        rc = MCSEC_OK;
    EVP_MD_CTX_free(md);
    return rc;
}

static mcsec_status_t hash_hs(const uint8_t kpak[POINT_LEN], const uint8_t *id, size_t id_len,
                              const uint8_t pvt[POINT_LEN], uint8_t hs[HASH_LEN]) {
    return sha256_parts(hs, ecc.g, POINT_LEN, kpak, POINT_LEN, id, id_len, pvt, POINT_LEN);
}

/* A hash read as an integer and reduced mod q (a public value). */
static int bn_hash_mod_q(BIGNUM *out, const uint8_t h[HASH_LEN], BN_CTX *ctx) {
    return BN_bin2bn(h, HASH_LEN, out) != NULL && BN_nnmod(out, out, ecc.q, ctx);
}

/* A BIGNUM for secrets: wiped when freed, constant-time code paths. */
static BIGNUM *bn_secret_new(void) {
    BIGNUM *bn = BN_secure_new();
    if (bn != NULL) BN_set_flags(bn, BN_FLG_CONSTTIME);
    return bn;
}

/* --- Secret scalars and [k]G ------------------------------------------------------------- */

/* A secret scalar must be in [1, q-1]: only the verdict is revealed (as a status). */
static mcsec_status_t secret_scalar_ok(const uint8_t s[SCALAR_LEN]) {
    uint64_t ok = ecsc_is_valid(s);
    mcsec_ct_declassify(&ok, sizeof ok); /* public: the caller gets it as a status */
    return ok ? MCSEC_OK : MCSEC_ERR_SCALAR_RANGE;
}

/* A uniformly random secret scalar in [1, q-1] by rejection sampling. A rejected draw is
 * thrown away, so the number of draws says nothing about the one kept. */
/* n uniform secret scalars in [1, q) from one call to the generator (a signature needs the
 * nonce j and the blind b: one draw instead of two saves about a tenth of a signature). A value
 * out of range (probability about 2^-32) is drawn again on its own; 64 in a row: a broken
 * generator. */
static mcsec_status_t scalar_random_n(uint8_t *out, size_t n) {
    mcsec_status_t rc = mcsec_random_bytes(out, n * SCALAR_LEN);
    if (rc == MCSEC_OK) mcsec_ct_secret(out, n * SCALAR_LEN);
    for (size_t i = 0; i < n && rc == MCSEC_OK; i++) {
        uint8_t *x = out + i * SCALAR_LEN;
        int tries = 1;
        while ((rc = secret_scalar_ok(x)) == MCSEC_ERR_SCALAR_RANGE) {
            if (tries++ == 64) {
                rc = MCSEC_ERR_RNG;
                break;
            }
            if ((rc = mcsec_random_bytes(x, SCALAR_LEN)) != MCSEC_OK) break;
            mcsec_ct_secret(x, SCALAR_LEN);
        }
    }
    if (rc != MCSEC_OK) mcsec_memzero(out, n * SCALAR_LEN);
    return rc;
}

static mcsec_status_t scalar_random(uint8_t out[SCALAR_LEN]) {
    return scalar_random_n(out, 1);
}

/* out = [k]G for a secret 0 < k < q, by OpenSSL's P-256 generator multiplication (on x86-64
 * ecp_nistz256: Booth-recoded fixed windows, table gathers by mask, a fixed-chain inversion for
 * the affine result). OpenSSL gets k + q or k + 2q, always 257 bits long: BN_bin2bn skips
 * leading zero octets and BIGNUMs drop zero top limbs, which would time a short nonce (the
 * padding OpenSSL's own ECDSA uses). The affine point is public by design (KPAK, PVT,
 * [SSK]G = [HS]PVT + KPAK, and J, which every verifier recomputes): it gives k away only
 * through a discrete logarithm. */
__attribute__((noinline)) static mcsec_status_t mul_g(const uint8_t k[SCALAR_LEN],
                                                      uint8_t out[POINT_LEN], BN_CTX *ctx) {
    uint8_t padded[SCALAR_LEN + 1];
    BIGNUM *kb = bn_secret_new();
    EC_POINT *pt = EC_POINT_new(ecc.group);
    mcsec_status_t rc = MCSEC_ERR_NOMEM;
    ecsc_pad(padded, k);
    mcsec_ct_declassify(padded, 1); /* always 1: the padded length is the same for every k */
    if (kb == NULL || pt == NULL || BN_bin2bn(padded, sizeof padded, kb) == NULL) goto out;
    rc = MCSEC_ERR_INTERNAL;
    if (!EC_POINT_mul(ecc.group, pt, kb, NULL, NULL, ctx) ||
        EC_POINT_point2oct(ecc.group, pt, POINT_CONVERSION_UNCOMPRESSED, out, POINT_LEN, ctx) !=
            POINT_LEN)
        goto out;
    mcsec_ct_declassify(out, POINT_LEN);
    rc = MCSEC_OK;
out:
    mcsec_memzero(padded, sizeof padded);
    EC_POINT_clear_free(pt);
    BN_clear_free(kb);
    return rc;
}

/* --- KMS side ---------------------------------------------------------------------------- */

mcsec_status_t mcsec_eccsi_kms_public(const uint8_t ksak[MCSEC_ECCSI_SCALAR_LEN],
                                      uint8_t kpak[MCSEC_ECCSI_POINT_LEN]) {
    MCSEC_REQUIRE_INIT();
    mcsec_status_t rc = ecc_get();
    if (rc != MCSEC_OK) return rc;
    if (ksak == NULL || kpak == NULL) return MCSEC_ERR_BAD_INPUT;
    BN_CTX *ctx = BN_CTX_secure_new();
    rc = MCSEC_ERR_NOMEM;
    if (ctx == NULL) goto out;
    rc = secret_scalar_ok(ksak);
    if (rc == MCSEC_OK) rc = mul_g(ksak, kpak, ctx);
out:
    BN_CTX_free(ctx);
    return rc;
}

mcsec_status_t mcsec_eccsi_kms_generate(uint8_t ksak[MCSEC_ECCSI_SCALAR_LEN],
                                        uint8_t kpak[MCSEC_ECCSI_POINT_LEN]) {
    MCSEC_REQUIRE_INIT();
    mcsec_status_t rc = ecc_get();
    if (rc != MCSEC_OK) return rc;
    if (ksak == NULL || kpak == NULL) return MCSEC_ERR_BAD_INPUT;
    rc = scalar_random(ksak);
    if (rc == MCSEC_OK) rc = mcsec_eccsi_kms_public(ksak, kpak);
    if (rc != MCSEC_OK) mcsec_memzero(ksak, SCALAR_LEN);
    return rc;
}

/* RFC 6507 5.1.1 with v given: PVT = [v]G, SSK = (KSAK + HS*v) mod q. Also checks that
 * KPAK = [KSAK]G, so that a KMS configured with a mismatched pair cannot issue keys that
 * no handset will accept. MCSEC_ERR_SIGN_RETRY if SSK would be 0 (pick another v). */
static mcsec_status_t issue_core(const uint8_t ksak[SCALAR_LEN], const uint8_t kpak[POINT_LEN],
                                 const uint8_t *id, size_t id_len, const uint8_t v[SCALAR_LEN],
                                 uint8_t ssk[SCALAR_LEN], uint8_t pvt[POINT_LEN], BN_CTX *ctx) {
    uint8_t kpak_check[POINT_LEN], hs[HASH_LEN], h[SCALAR_LEN], t[SCALAR_LEN];
    EC_POINT *pt = EC_POINT_new(ecc.group);
    mcsec_status_t rc = MCSEC_ERR_NOMEM;
    if (pt == NULL) goto out;
    rc = secret_scalar_ok(ksak);
    if (rc != MCSEC_OK) goto out;
    rc = point_load(pt, kpak, ctx);
    if (rc != MCSEC_OK) goto out;
    rc = mul_g(ksak, kpak_check, ctx);
    if (rc != MCSEC_OK) goto out;
    rc = MCSEC_ERR_KEY_INVALID;
    if (!mcsec_ct_equal(kpak_check, kpak, POINT_LEN)) goto out;
    rc = mul_g(v, pvt, ctx);
    if (rc != MCSEC_OK) goto out;
    rc = hash_hs(kpak, id, id_len, pvt, hs);
    if (rc != MCSEC_OK) goto out;
    ecsc_reduce(h, hs);    /* HS mod q */
    ecsc_mul(t, h, v);     /* HS v */
    ecsc_add(t, t, ksak);  /* + KSAK */
    uint64_t zero = ~ecsc_is_valid(t);
    mcsec_ct_declassify(&zero, sizeof zero); /* SSK = 0: v is replaced, which reveals only that */
    rc = MCSEC_ERR_SIGN_RETRY;
    if (zero) goto out;
    memcpy(ssk, t, SCALAR_LEN);
    rc = MCSEC_OK;
out:
    EC_POINT_free(pt);
    mcsec_memzero(kpak_check, sizeof kpak_check);
    mcsec_memzero(t, sizeof t);
    return rc;
}

static int issue_args_ok(const uint8_t *ksak, const uint8_t *kpak, const uint8_t *id, size_t id_len,
                         const uint8_t *ssk, const uint8_t *pvt) {
    return ksak != NULL && kpak != NULL && (id != NULL || id_len == 0) && ssk != NULL &&
           pvt != NULL;
}

mcsec_status_t mcsec_eccsi_issue_with_v(const uint8_t ksak[MCSEC_ECCSI_SCALAR_LEN],
                                        const uint8_t kpak[MCSEC_ECCSI_POINT_LEN],
                                        const uint8_t *id, size_t id_len,
                                        const uint8_t v[MCSEC_ECCSI_SCALAR_LEN],
                                        uint8_t ssk[MCSEC_ECCSI_SCALAR_LEN],
                                        uint8_t pvt[MCSEC_ECCSI_POINT_LEN]) {
    MCSEC_REQUIRE_INIT();
    mcsec_status_t rc = ecc_get();
    if (rc != MCSEC_OK) return rc;
    if (!issue_args_ok(ksak, kpak, id, id_len, ssk, pvt) || v == NULL) return MCSEC_ERR_BAD_INPUT;
    BN_CTX *ctx = BN_CTX_secure_new();
    rc = MCSEC_ERR_NOMEM;
    if (ctx == NULL) goto out;
    rc = secret_scalar_ok(v);
    if (rc != MCSEC_OK) goto out;
    rc = issue_core(ksak, kpak, id, id_len, v, ssk, pvt, ctx);
out:
    if (rc != MCSEC_OK) mcsec_memzero(ssk, SCALAR_LEN);
    BN_CTX_free(ctx);
    return rc;
}

mcsec_status_t mcsec_eccsi_issue(const uint8_t ksak[MCSEC_ECCSI_SCALAR_LEN],
                                 const uint8_t kpak[MCSEC_ECCSI_POINT_LEN], const uint8_t *id,
                                 size_t id_len, uint8_t ssk[MCSEC_ECCSI_SCALAR_LEN],
                                 uint8_t pvt[MCSEC_ECCSI_POINT_LEN]) {
    MCSEC_REQUIRE_INIT();
    mcsec_status_t rc = ecc_get();
    if (rc != MCSEC_OK) return rc;
    if (!issue_args_ok(ksak, kpak, id, id_len, ssk, pvt)) return MCSEC_ERR_BAD_INPUT;
    uint8_t v[SCALAR_LEN];
    BN_CTX *ctx = BN_CTX_secure_new();
    rc = MCSEC_ERR_NOMEM;
    if (ctx == NULL) goto out;
    rc = MCSEC_ERR_SIGN_RETRY;
    for (int i = 0; i < MAX_TRIES && rc == MCSEC_ERR_SIGN_RETRY; i++) {
        rc = scalar_random(v);
        if (rc == MCSEC_OK) rc = issue_core(ksak, kpak, id, id_len, v, ssk, pvt, ctx);
    }
    if (rc == MCSEC_ERR_SIGN_RETRY) rc = MCSEC_ERR_RNG;
out:
    if (rc != MCSEC_OK) mcsec_memzero(ssk, SCALAR_LEN);
    mcsec_memzero(v, sizeof v);
    BN_CTX_free(ctx);
    return rc;
}

/* --- Handset side: HS and key validation -------------------------------------------------- */

mcsec_status_t mcsec_eccsi_hash_hs(const uint8_t kpak[MCSEC_ECCSI_POINT_LEN], const uint8_t *id,
                                   size_t id_len, const uint8_t pvt[MCSEC_ECCSI_POINT_LEN],
                                   uint8_t hs[MCSEC_ECCSI_HASH_LEN]) {
    MCSEC_REQUIRE_INIT();
    mcsec_status_t rc = ecc_get();
    if (rc != MCSEC_OK) return rc;
    if (kpak == NULL || (id == NULL && id_len > 0) || pvt == NULL || hs == NULL)
        return MCSEC_ERR_BAD_INPUT;
    return hash_hs(kpak, id, id_len, pvt, hs);
}

/* RFC 6507 5.1.2: [SSK]G == [HS]PVT + KPAK; HS is returned for the signer. */
static mcsec_status_t validate_core(const uint8_t kpak[POINT_LEN], const uint8_t *id, size_t id_len,
                                    const uint8_t ssk[SCALAR_LEN], const uint8_t pvt[POINT_LEN],
                                    uint8_t hs[HASH_LEN]) {
    uint8_t lhs[POINT_LEN], rhs_oct[POINT_LEN];
    mcsec_status_t rc = MCSEC_ERR_NOMEM;
    BN_CTX *ctx = BN_CTX_secure_new();
    BIGNUM *h = BN_new();
    EC_POINT *rhs = EC_POINT_new(ecc.group);
    EC_POINT *kp = EC_POINT_new(ecc.group);
    if (ctx == NULL || h == NULL || rhs == NULL || kp == NULL) goto out;
    rc = secret_scalar_ok(ssk);
    if (rc != MCSEC_OK) goto out;
    rc = point_load(rhs, pvt, ctx);
    if (rc != MCSEC_OK) goto out;
    rc = point_load(kp, kpak, ctx);
    if (rc != MCSEC_OK) goto out;
    rc = hash_hs(kpak, id, id_len, pvt, hs);
    if (rc != MCSEC_OK) goto out;
    rc = MCSEC_ERR_INTERNAL;
    if (!bn_hash_mod_q(h, hs, ctx) || !EC_POINT_mul(ecc.group, rhs, NULL, rhs, h, ctx) ||
        !EC_POINT_add(ecc.group, rhs, rhs, kp, ctx))
        goto out;
    rc = mul_g(ssk, lhs, ctx);
    if (rc != MCSEC_OK) goto out;
    /* Both sides are public once the pair is valid; a mismatch reveals only that. [HS]PVT +
     * KPAK at infinity matches no [SSK]G. */
    rc = point_store(rhs, rhs_oct, ctx);
    if (rc == MCSEC_OK)
        rc = mcsec_ct_equal(lhs, rhs_oct, POINT_LEN) ? MCSEC_OK : MCSEC_ERR_KEY_INVALID;
    else if (rc == MCSEC_ERR_INFINITY)
        rc = MCSEC_ERR_KEY_INVALID;
out:
    EC_POINT_free(kp);
    EC_POINT_free(rhs);
    BN_free(h);
    BN_CTX_free(ctx);
    return rc;
}

mcsec_status_t mcsec_eccsi_validate(const uint8_t kpak[MCSEC_ECCSI_POINT_LEN], const uint8_t *id,
                                    size_t id_len, const uint8_t ssk[MCSEC_ECCSI_SCALAR_LEN],
                                    const uint8_t pvt[MCSEC_ECCSI_POINT_LEN]) {
    MCSEC_REQUIRE_INIT();
    mcsec_status_t rc = ecc_get();
    if (rc != MCSEC_OK) return rc;
    if (kpak == NULL || (id == NULL && id_len > 0) || ssk == NULL || pvt == NULL)
        return MCSEC_ERR_BAD_INPUT;
    uint8_t hs[HASH_LEN];
    return validate_core(kpak, id, id_len, ssk, pvt, hs);
}

/* --- Signer ------------------------------------------------------------------------------ */

/* Lives in mcsec_secure_alloc memory as a whole. */
struct mcsec_eccsi_signer {
    uint8_t ssk[SCALAR_LEN];
    uint8_t hs[HASH_LEN];
    uint8_t pvt[POINT_LEN];
};

mcsec_status_t mcsec_eccsi_signer_new(mcsec_eccsi_signer_t **out,
                                      const uint8_t kpak[MCSEC_ECCSI_POINT_LEN], const uint8_t *id,
                                      size_t id_len, const uint8_t ssk[MCSEC_ECCSI_SCALAR_LEN],
                                      const uint8_t pvt[MCSEC_ECCSI_POINT_LEN]) {
    MCSEC_REQUIRE_INIT();
    mcsec_status_t rc = ecc_get();
    if (rc != MCSEC_OK) return rc;
    if (out == NULL) return MCSEC_ERR_BAD_INPUT;
    *out = NULL;
    if (kpak == NULL || (id == NULL && id_len > 0) || ssk == NULL || pvt == NULL)
        return MCSEC_ERR_BAD_INPUT;
    mcsec_eccsi_signer_t *signer = mcsec_secure_alloc(sizeof *signer);
    rc = MCSEC_ERR_NOMEM;
    if (signer == NULL) goto out;
    rc = validate_core(kpak, id, id_len, ssk, pvt, signer->hs);
    if (rc != MCSEC_OK) goto out;
    memcpy(signer->ssk, ssk, SCALAR_LEN);
    memcpy(signer->pvt, pvt, POINT_LEN);
    *out = signer;
    signer = NULL;
out:
    mcsec_secure_free(signer);
    return rc;
}

void mcsec_eccsi_signer_free(mcsec_eccsi_signer_t *signer) {
    mcsec_secure_free(signer); /* wipes */
}

/* RFC 6507 5.2.1 with j given (secret, in [1, q-1]). MCSEC_ERR_SIGN_RETRY if this j must be
 * replaced: r = Jx not in [1, q-1] (the verifier requires that range) or HE + r*SSK = 0 mod q.
 *
 * s = j / (HE + r*SSK) without a secret-dependent inversion: with a secret random blind b,
 * u = d*b is uniform whatever d is, so the variable-time inverse of u leaks nothing, and
 * s = (j*b) * u^-1. */
static mcsec_status_t sign_core(const mcsec_eccsi_signer_t *signer, const uint8_t *msg,
                                size_t msg_len, const uint8_t j[SCALAR_LEN],
                                const uint8_t b[SCALAR_LEN], uint8_t sig[SIG_LEN],
                                uint8_t he[HASH_LEN], BN_CTX *ctx) {
    uint8_t jp[POINT_LEN], r[SCALAR_LEN], e[SCALAR_LEN], d[SCALAR_LEN];
    uint8_t u[SCALAR_LEN], w[SCALAR_LEN];
    mcsec_status_t rc = mul_g(j, jp, ctx); /* J: public, every verifier recomputes it */
    if (rc != MCSEC_OK) goto out;
    memcpy(r, jp + 1, SCALAR_LEN);
    rc = MCSEC_ERR_SIGN_RETRY; /* r is public: it goes into the signature */
    if (!ecsc_is_valid(r)) goto out;
    rc = sha256_parts(he, signer->hs, HASH_LEN, r, SCALAR_LEN, msg, msg_len, NULL, 0);
    if (rc != MCSEC_OK) goto out;
    ecsc_reduce(e, he);
    ecsc_mul(d, r, signer->ssk); /* r*SSK */
    ecsc_add(d, d, e);           /* + HE */
    ecsc_mul(u, d, b);
    uint64_t zero = ~ecsc_is_valid(u); /* u = 0 exactly when HE + r*SSK = 0 mod q */
    mcsec_ct_declassify(&zero, sizeof zero); /* j is replaced, which reveals only that */
    rc = MCSEC_ERR_SIGN_RETRY;
    if (zero) goto out;
    mcsec_ct_declassify(u, sizeof u); /* blinded: u = d*b is uniform, independent of d */
    ecsc_inv_blinded(u, u);           /* 1 / (d*b), public like d*b */
    ecsc_mul(w, j, b);
    ecsc_mul(w, w, u); /* s = j*b / (d*b) = j / d */
    mcsec_ct_declassify(w, sizeof w); /* s: the signature */
    memcpy(sig, r, SCALAR_LEN);
    memcpy(sig + SCALAR_LEN, w, SCALAR_LEN);
    memcpy(sig + 2 * SCALAR_LEN, signer->pvt, POINT_LEN);
    rc = MCSEC_OK;
out:
    mcsec_memzero(d, sizeof d);
    mcsec_memzero(u, sizeof u);
    mcsec_memzero(w, sizeof w);
    return rc;
}

mcsec_status_t mcsec_eccsi_sign_with_j(const mcsec_eccsi_signer_t *signer, const uint8_t *msg,
                                       size_t msg_len, const uint8_t j[MCSEC_ECCSI_SCALAR_LEN],
                                       uint8_t sig[MCSEC_ECCSI_SIG_LEN],
                                       uint8_t he_out[MCSEC_ECCSI_HASH_LEN]) {
    MCSEC_REQUIRE_INIT();
    mcsec_status_t rc = ecc_get();
    if (rc != MCSEC_OK) return rc;
    if (signer == NULL || (msg == NULL && msg_len > 0) || j == NULL || sig == NULL)
        return MCSEC_ERR_BAD_INPUT;
    uint8_t he[HASH_LEN], b[SCALAR_LEN];
    BN_CTX *ctx = BN_CTX_secure_new();
    rc = MCSEC_ERR_NOMEM;
    if (ctx == NULL) goto out;
    rc = secret_scalar_ok(j);
    if (rc == MCSEC_OK) rc = scalar_random(b);
    if (rc != MCSEC_OK) goto out;
    rc = sign_core(signer, msg, msg_len, j, b, sig, he, ctx);
    if (rc == MCSEC_OK && he_out != NULL) memcpy(he_out, he, HASH_LEN);
out:
    mcsec_memzero(b, sizeof b);
    BN_CTX_free(ctx);
    return rc;
}

mcsec_status_t mcsec_eccsi_sign(const mcsec_eccsi_signer_t *signer, const uint8_t *msg,
                                size_t msg_len, uint8_t sig[MCSEC_ECCSI_SIG_LEN]) {
    MCSEC_REQUIRE_INIT();
    mcsec_status_t rc = ecc_get();
    if (rc != MCSEC_OK) return rc;
    if (signer == NULL || (msg == NULL && msg_len > 0) || sig == NULL) return MCSEC_ERR_BAD_INPUT;
    uint8_t he[HASH_LEN], jb[2 * SCALAR_LEN]; /* the nonce j, then the blind b */
    BN_CTX *ctx = BN_CTX_secure_new();
    rc = MCSEC_ERR_NOMEM;
    if (ctx == NULL) goto out;
    rc = MCSEC_ERR_SIGN_RETRY;
    for (int i = 0; i < MAX_TRIES && rc == MCSEC_ERR_SIGN_RETRY; i++) {
        rc = scalar_random_n(jb, 2);
        if (rc == MCSEC_OK) rc = sign_core(signer, msg, msg_len, jb, jb + SCALAR_LEN, sig, he, ctx);
    }
    if (rc == MCSEC_ERR_SIGN_RETRY)
        rc = MCSEC_ERR_RNG; /* 16 rejected nonces in a row: the generator is broken */
out:
    mcsec_memzero(jb, sizeof jb);
    BN_CTX_free(ctx);
    return rc;
}

/* --- Verifier ---------------------------------------------------------------------------- */

/* The cache maps HS = SHA-256(G || KPAK || ID || PVT), which for this verifier's fixed KPAK
 * identifies (ID, PVT), to Y = [HS]PVT + KPAK. It is set associative: up to CACHE_WAYS
 * entries per set, the set chosen by HS, round-robin replacement within a set. Only
 * (ID, PVT) pairs whose PVT parsed as a curve point are ever inserted. */
#define CACHE_WAYS 8

struct cache_entry {
    uint8_t hs[HASH_LEN];
    int used;
    EC_POINT *y; /* NULL until the entry is first filled */
};

struct mcsec_eccsi_verifier {
    EC_POINT *kpak;
    uint8_t kpak_oct[POINT_LEN];
    pthread_mutex_t lock;
    size_t sets, ways; /* sets * ways <= cache_entries; 0 when the cache is off */
    struct cache_entry *entries;
    uint8_t *next; /* per set: the way to replace next */
    uint64_t hits, misses;
};

mcsec_status_t mcsec_eccsi_verifier_new(mcsec_eccsi_verifier_t **out,
                                        const uint8_t kpak[MCSEC_ECCSI_POINT_LEN],
                                        size_t cache_entries) {
    MCSEC_REQUIRE_INIT();
    mcsec_status_t rc = ecc_get();
    if (rc != MCSEC_OK) return rc;
    if (out == NULL) return MCSEC_ERR_BAD_INPUT;
    *out = NULL;
    if (kpak == NULL) return MCSEC_ERR_BAD_INPUT;
    mcsec_eccsi_verifier_t *v = calloc(1, sizeof *v);
    BN_CTX *ctx = BN_CTX_new();
    rc = MCSEC_ERR_NOMEM;
    if (v == NULL || ctx == NULL) goto out;
    if (pthread_mutex_init(&v->lock, NULL) != 0) {
        free(v);
        v = NULL;
        rc = MCSEC_ERR_INTERNAL;
        goto out;
    }
    v->kpak = EC_POINT_new(ecc.group);
    if (v->kpak == NULL) goto out;
    rc = point_load(v->kpak, kpak, ctx);
    if (rc != MCSEC_OK) goto out;
    memcpy(v->kpak_oct, kpak, POINT_LEN);
    if (cache_entries > 0) {
        v->ways = cache_entries < CACHE_WAYS ? cache_entries : CACHE_WAYS;
        v->sets = cache_entries / v->ways;
        rc = MCSEC_ERR_NOMEM;
        v->entries = calloc(v->sets * v->ways, sizeof *v->entries);
        v->next = calloc(v->sets, 1);
        if (v->entries == NULL || v->next == NULL) {
            v->sets = 0; /* nothing to free per entry */
            goto out;
        }
        /* each entry's point is made when the entry is first filled (cache_put) */
    }
    *out = v;
    v = NULL;
    rc = MCSEC_OK;
out:
    mcsec_eccsi_verifier_free(v);
    BN_CTX_free(ctx);
    return rc;
}

void mcsec_eccsi_verifier_free(mcsec_eccsi_verifier_t *v) {
    if (v == NULL) return;
    if (v->entries != NULL)
        for (size_t i = 0; i < v->sets * v->ways; i++)
            EC_POINT_free(v->entries[i].y);
    free(v->entries);
    free(v->next);
    EC_POINT_free(v->kpak);
    pthread_mutex_destroy(&v->lock);
    free(v);
}

/* Not in the public header: cache statistics for tests and benchmarks. */
void mcsec_eccsi_verifier_stats(mcsec_eccsi_verifier_t *v, uint64_t *hits, uint64_t *misses) {
    pthread_mutex_lock(&v->lock);
    *hits = v->hits;
    *misses = v->misses;
    pthread_mutex_unlock(&v->lock);
}

static size_t cache_set(const mcsec_eccsi_verifier_t *v, const uint8_t hs[HASH_LEN]) {
    uint64_t h;
    memcpy(&h, hs, sizeof h);
    return (size_t)(h % v->sets);
}

/* Copies the cached Y for hs into y; 1 on a hit, 0 on a miss, -1 on error. */
static int cache_get(mcsec_eccsi_verifier_t *v, const uint8_t hs[HASH_LEN], EC_POINT *y) {
    if (v->sets == 0) return 0;
    struct cache_entry *set = v->entries + cache_set(v, hs) * v->ways;
    int found = 0;
    pthread_mutex_lock(&v->lock);
    for (size_t i = 0; i < v->ways; i++) {
        if (set[i].used && mcsec_ct_equal(set[i].hs, hs, HASH_LEN)) {
            found = EC_POINT_copy(y, set[i].y) ? 1 : -1;
            break;
        }
    }
    if (found == 1)
        v->hits++;
    else
        v->misses++;
    pthread_mutex_unlock(&v->lock);
    return found;
}

static void cache_put(mcsec_eccsi_verifier_t *v, const uint8_t hs[HASH_LEN], const EC_POINT *y) {
    if (v->sets == 0) return;
    size_t s = cache_set(v, hs);
    struct cache_entry *set = v->entries + s * v->ways;
    pthread_mutex_lock(&v->lock);
    struct cache_entry *slot = NULL;
    for (size_t i = 0; i < v->ways && slot == NULL; i++)
        if (set[i].used && mcsec_ct_equal(set[i].hs, hs, HASH_LEN))
            slot = &set[i]; /* another thread got here first */
    if (slot == NULL) {
        slot = &set[v->next[s]];
        v->next[s] = (uint8_t)((v->next[s] + 1) % v->ways);
    }
    if (slot->y == NULL) slot->y = EC_POINT_new(ecc.group);
    slot->used = slot->y != NULL && EC_POINT_copy(slot->y, y);
    if (slot->used) memcpy(slot->hs, hs, HASH_LEN);
    pthread_mutex_unlock(&v->lock);
}

/* Y = [HS]PVT + KPAK from the cache or computed (and then cached). */
static mcsec_status_t verifier_y(mcsec_eccsi_verifier_t *v, const uint8_t hs[HASH_LEN],
                                 const uint8_t pvt[POINT_LEN], EC_POINT *y, BN_CTX *ctx) {
    int hit = cache_get(v, hs, y);
    if (hit != 0) return hit == 1 ? MCSEC_OK : MCSEC_ERR_NOMEM;
    mcsec_status_t rc = point_load(y, pvt, ctx);
    if (rc != MCSEC_OK) return rc;
    BN_CTX_start(ctx);
    BIGNUM *h = BN_CTX_get(ctx);
    rc = MCSEC_ERR_INTERNAL;
    if (h != NULL && bn_hash_mod_q(h, hs, ctx) && EC_POINT_mul(ecc.group, y, NULL, y, h, ctx) &&
        EC_POINT_add(ecc.group, y, y, v->kpak, ctx)) {
        /* Y = O would make J independent of the signer; no honest key gives it. */
        rc = EC_POINT_is_at_infinity(ecc.group, y) ? MCSEC_ERR_VERIFY : MCSEC_OK;
    }
    BN_CTX_end(ctx);
    if (rc == MCSEC_OK) cache_put(v, hs, y);
    return rc;
}

mcsec_status_t mcsec_eccsi_verify(mcsec_eccsi_verifier_t *verifier, const uint8_t *id,
                                  size_t id_len, const uint8_t *msg, size_t msg_len,
                                  const uint8_t *sig, size_t sig_len) {
    MCSEC_REQUIRE_INIT();
    mcsec_status_t rc = ecc_get();
    if (rc != MCSEC_OK) return rc;
    if (verifier == NULL || (id == NULL && id_len > 0) || (msg == NULL && msg_len > 0) ||
        sig == NULL)
        return MCSEC_ERR_BAD_INPUT;
    if (sig_len != SIG_LEN) return MCSEC_ERR_BAD_LENGTH;
    const uint8_t *pvt = sig + 2 * SCALAR_LEN;
    uint8_t hs[HASH_LEN], he[HASH_LEN];
    EC_POINT *y = EC_POINT_new(ecc.group);
    EC_POINT *jp = EC_POINT_new(ecc.group);
    BN_CTX *ctx = BN_CTX_new();
    if (y == NULL || jp == NULL || ctx == NULL) {
        EC_POINT_free(jp);
        EC_POINT_free(y);
        BN_CTX_free(ctx);
        return MCSEC_ERR_NOMEM;
    }
    BN_CTX_start(ctx);
    BIGNUM *r = BN_CTX_get(ctx);
    BIGNUM *s = BN_CTX_get(ctx);
    BIGNUM *e = BN_CTX_get(ctx);
    BIGNUM *n = BN_CTX_get(ctx);
    BIGNUM *m = BN_CTX_get(ctx);
    rc = MCSEC_ERR_NOMEM;
    if (m == NULL) goto out;
    rc = scalar_load(r, sig);
    if (rc != MCSEC_OK) goto out;
    rc = scalar_load(s, sig + SCALAR_LEN);
    if (rc != MCSEC_OK) goto out;
    rc = point_precheck(pvt);
    if (rc != MCSEC_OK) goto out;
    rc = hash_hs(verifier->kpak_oct, id, id_len, pvt, hs);
    if (rc != MCSEC_OK) goto out;
    rc = verifier_y(verifier, hs, pvt, y, ctx);
    if (rc != MCSEC_OK) goto out;
    rc = sha256_parts(he, hs, HASH_LEN, sig, SCALAR_LEN, msg, msg_len, NULL, 0);
    if (rc != MCSEC_OK) goto out;
    /* J = [s]([HE]G + [r]Y) = [s*HE]G + [s*r]Y in one double-scalar multiplication. */
    rc = MCSEC_ERR_INTERNAL;
    if (!bn_hash_mod_q(e, he, ctx) || !BN_mod_mul(n, s, e, ecc.q, ctx) ||
        !BN_mod_mul(m, s, r, ecc.q, ctx) || !EC_POINT_mul(ecc.group, jp, n, y, m, ctx))
        goto out;
    rc = MCSEC_ERR_VERIFY;
    if (EC_POINT_is_at_infinity(ecc.group, jp)) goto out;
    /* Jx is reduced mod p and r < q < p, so Jx = r mod p is plain equality. */
    rc = MCSEC_ERR_INTERNAL;
    if (!EC_POINT_get_affine_coordinates(ecc.group, jp, e, NULL, ctx)) goto out;
    rc = BN_cmp(e, r) == 0 ? MCSEC_OK : MCSEC_ERR_VERIFY;
out:
    BN_CTX_end(ctx);
    BN_CTX_free(ctx);
    EC_POINT_free(jp);
    EC_POINT_free(y);
    return rc;
}

/* --- Known-answer self test (RFC 6507 Appendix A) ---------------------------------------- */

static const uint8_t kat_ksak[SCALAR_LEN] = {[29] = 0x01, 0x23, 0x45};
static const uint8_t kat_v[SCALAR_LEN] = {[29] = 0x02, 0x34, 0x56};
static const uint8_t kat_j[SCALAR_LEN] = {[29] = 0x03, 0x45, 0x67};
static const uint8_t kat_id[] = "2011-02\0tel:+447700900123"; /* 26 octets with both NULs */
static const uint8_t kat_msg[] = "message";                   /* 8 octets with the NUL */

static const uint8_t kat_kpak[POINT_LEN] = {
    0x04, 0x50, 0xd4, 0x67, 0x0b, 0xde, 0x75, 0x24, 0x4f, 0x28, 0xd2, 0x83, 0x8a,
    0x0d, 0x25, 0x55, 0x8a, 0x7a, 0x72, 0x68, 0x6d, 0x45, 0x22, 0xd4, 0xc8, 0x27,
    0x3f, 0xb6, 0x44, 0x2a, 0xeb, 0xfa, 0x93, 0xdb, 0xdd, 0x37, 0x55, 0x1a, 0xfd,
    0x26, 0x3b, 0x5d, 0xfd, 0x61, 0x7f, 0x39, 0x60, 0xc6, 0x5a, 0x8c, 0x29, 0x88,
    0x50, 0xff, 0x99, 0xf2, 0x03, 0x66, 0xdc, 0xe7, 0xd4, 0x36, 0x72, 0x17, 0xf4};
static const uint8_t kat_pvt[POINT_LEN] = {
    0x04, 0x75, 0x8a, 0x14, 0x27, 0x79, 0xbe, 0x89, 0xe8, 0x29, 0xe7, 0x19, 0x84,
    0xcb, 0x40, 0xef, 0x75, 0x8c, 0xc4, 0xad, 0x77, 0x5f, 0xc5, 0xb9, 0xa3, 0xe1,
    0xc8, 0xed, 0x52, 0xf6, 0xfa, 0x36, 0xd9, 0xa7, 0x9d, 0x24, 0x76, 0x92, 0xf4,
    0xed, 0xa3, 0xa6, 0xbd, 0xab, 0x77, 0xd6, 0xaa, 0x64, 0x74, 0xa4, 0x64, 0xae,
    0x49, 0x34, 0x66, 0x3c, 0x52, 0x65, 0xba, 0x70, 0x18, 0xba, 0x09, 0x1f, 0x79};
static const uint8_t kat_hs[HASH_LEN] = {
    0x49, 0x0f, 0x3f, 0xeb, 0xbc, 0x1c, 0x90, 0x2f, 0x62, 0x89, 0x72, 0x3d, 0x7f, 0x8c, 0xbf, 0x79,
    0xdb, 0x88, 0x93, 0x08, 0x49, 0xd1, 0x9f, 0x38, 0xf0, 0x29, 0x5b, 0x5c, 0x27, 0x6c, 0x14, 0xd1};
static const uint8_t kat_ssk[SCALAR_LEN] = {
    0x23, 0xf3, 0x74, 0xae, 0x1f, 0x40, 0x33, 0xf3, 0xe9, 0xdb, 0xdd, 0xaa, 0xef, 0x20, 0xf4, 0xcf,
    0x0b, 0x86, 0xbb, 0xd5, 0xa1, 0x38, 0xa5, 0xae, 0x9e, 0x7e, 0x00, 0x6b, 0x34, 0x48, 0x9a, 0x0d};
static const uint8_t kat_he[HASH_LEN] = {
    0x11, 0x1f, 0x90, 0xea, 0xe8, 0x27, 0x1c, 0x96, 0xdf, 0x9b, 0x3d, 0x67, 0x26, 0x76, 0x8d, 0x9e,
    0xe9, 0xb1, 0x81, 0x45, 0xd7, 0xec, 0x15, 0x2c, 0xfa, 0x9c, 0x23, 0xd1, 0xc4, 0xf0, 0x22, 0x85};
/* r || s; PVT follows in the signature. */
static const uint8_t kat_rs[2 * SCALAR_LEN] = {
    0x26, 0x9d, 0x4c, 0x8f, 0xde, 0xb6, 0x6a, 0x74, 0xe4, 0xef, 0x8c, 0x0d, 0x5d, 0xcc, 0x59, 0x7d,
    0xdf, 0xe6, 0x02, 0x9c, 0x2a, 0xff, 0xc4, 0x93, 0x60, 0x08, 0xcd, 0x2c, 0xc1, 0x04, 0x5d, 0x81,
    0xe0, 0x9b, 0x52, 0x8d, 0x0e, 0xf8, 0xd6, 0xdf, 0x1a, 0xa3, 0xec, 0xbf, 0x80, 0x11, 0x0c, 0xfc,
    0xec, 0x9f, 0xc6, 0x82, 0x52, 0xce, 0xbb, 0x67, 0x9f, 0x41, 0x34, 0x84, 0x69, 0x40, 0xcc, 0xfd};

mcsec_status_t mcsec_eccsi_selftest(void) {
    uint8_t kpak[POINT_LEN], pvt[POINT_LEN], hs[HASH_LEN], he[HASH_LEN];
    uint8_t ssk[SCALAR_LEN], sig[SIG_LEN];
    mcsec_eccsi_signer_t *signer = NULL;
    mcsec_eccsi_verifier_t *verifier = NULL;
    int ok = mcsec_eccsi_kms_public(kat_ksak, kpak) == MCSEC_OK &&
             mcsec_ct_equal(kpak, kat_kpak, POINT_LEN) &&
             mcsec_eccsi_issue_with_v(kat_ksak, kat_kpak, kat_id, sizeof kat_id, kat_v, ssk, pvt) ==
                 MCSEC_OK &&
             mcsec_ct_equal(ssk, kat_ssk, SCALAR_LEN) && mcsec_ct_equal(pvt, kat_pvt, POINT_LEN) &&
             mcsec_eccsi_hash_hs(kat_kpak, kat_id, sizeof kat_id, kat_pvt, hs) == MCSEC_OK &&
             mcsec_ct_equal(hs, kat_hs, HASH_LEN) &&
             mcsec_eccsi_signer_new(&signer, kat_kpak, kat_id, sizeof kat_id, kat_ssk, kat_pvt) ==
                 MCSEC_OK &&
             mcsec_eccsi_sign_with_j(signer, kat_msg, sizeof kat_msg, kat_j, sig, he) == MCSEC_OK &&
             mcsec_ct_equal(he, kat_he, HASH_LEN) && mcsec_ct_equal(sig, kat_rs, sizeof kat_rs) &&
             mcsec_ct_equal(sig + sizeof kat_rs, kat_pvt, POINT_LEN) &&
             mcsec_eccsi_verifier_new(&verifier, kat_kpak, 0) == MCSEC_OK &&
             mcsec_eccsi_verify(verifier, kat_id, sizeof kat_id, kat_msg, sizeof kat_msg, sig,
                                SIG_LEN) == MCSEC_OK;
    if (ok) {
        sig[40] ^= 0x10; /* one bit of s */
        ok = mcsec_eccsi_verify(verifier, kat_id, sizeof kat_id, kat_msg, sizeof kat_msg, sig,
                                SIG_LEN) == MCSEC_ERR_VERIFY;
    }
    mcsec_eccsi_verifier_free(verifier);
    mcsec_eccsi_signer_free(signer);
    mcsec_memzero(ssk, sizeof ssk);
    return ok ? MCSEC_OK : MCSEC_ERR_SELFTEST;
}
