/* SAKKE (RFC 6508) with parameter set 1: KMS keys, RSK issuance and validation,
 * encapsulation and decapsulation. Field, curve and pairing live in fp.c, ec1024.c and
 * pairing.c; this file is the protocol. */
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/sha.h>

#include "internal.h"

struct mcsec_sakke_sender {
    ec_affine_t Z;
    ec_table_t *Z_table;
};

struct mcsec_sakke_key {
    pairing_lines_t *lines; /* derived from the RSK: secret, in locked memory */
    ec_table_t *Qb_table;   /* [b]P + Z: public */
    uint8_t *id;
    size_t id_len;
#if defined(MCSEC_FUZZ_MEMO)
    uint8_t memo_id[32]; /* fuzz builds only: names Z, id and RSK for the decapsulation memo */
#endif
};

#define SAKKE_MAX_ID_LEN 1024

/* Self test passed and the parameter set is loaded. */
#define SAKKE_REQUIRE_INIT()                                                                      \
    do {                                                                                          \
        MCSEC_REQUIRE_INIT();                                                                     \
        if (fp_params() == NULL)                                                                  \
            return MCSEC_ERR_NOMEM;                                                               \
    } while (0)

/* --- HashToIntegerRange (RFC 6508 5.1) ------------------------------------------------- */

mcsec_status_t mcsec_hash_to_range(const uint8_t *s, size_t s_len, const uint8_t *n,
                                   size_t n_len, uint8_t *out)
{
    uint8_t a[SHA256_DIGEST_LENGTH], h[SHA256_DIGEST_LENGTH], buf[2 * SHA256_DIGEST_LENGTH];
    uint8_t v[4 * SHA256_DIGEST_LENGTH + SHA256_DIGEST_LENGTH];
    BN_CTX *ctx = NULL;
    BIGNUM *bv, *bn, *nm1;
    mcsec_status_t rc = MCSEC_ERR_INTERNAL;
    if (n_len == 0 || n_len > 4 * SHA256_DIGEST_LENGTH + 1)
        return MCSEC_ERR_BAD_INPUT;
    if ((ctx = BN_CTX_secure_new()) == NULL)
        return MCSEC_ERR_NOMEM;
    BN_CTX_start(ctx);
    bv = BN_CTX_get(ctx);
    bn = BN_CTX_get(ctx);
    nm1 = BN_CTX_get(ctx);
    if (nm1 == NULL || BN_bin2bn(n, (int)n_len, bn) == NULL || !BN_copy(nm1, bn) ||
        !BN_sub_word(nm1, 1) || BN_is_zero(bn))
        goto out;
    size_t l = ((size_t)BN_num_bits(nm1) + 255) / 256;
    if (l == 0)
        l = 1;
    if (l > 5)
        goto out;
    SHA256(s, s_len, a);
    memset(h, 0, sizeof h);
    for (size_t i = 0; i < l; i++) {
        SHA256(h, sizeof h, h);
        memcpy(buf, h, sizeof h);
        memcpy(buf + sizeof h, a, sizeof a);
        SHA256(buf, sizeof buf, v + i * SHA256_DIGEST_LENGTH);
    }
    /* The value is secret (r, or the SSV mask): the two moduli SAKKE uses are reduced in
     * constant time by mcsec's own code. n is public, so choosing the path by n is too. */
    size_t v_len = l * SHA256_DIGEST_LENGTH, bits = (size_t)BN_num_bits(nm1);
    if (bits < (size_t)BN_num_bits(bn)) { /* n = 2^bits: keep the low bits */
        memset(out, 0, n_len);
        for (size_t j = 0; j < n_len && j < v_len; j++) /* j: octets from the end */
            out[n_len - 1 - j] = v[v_len - 1 - j];
        for (size_t j = 0; j < n_len; j++) {
            size_t lo = 8 * j; /* bit number of the octet's lowest bit */
            unsigned keep = lo >= bits ? 0 : bits - lo >= 8 ? 0xFF : (1u << (bits - lo)) - 1;
            out[n_len - 1 - j] &= (uint8_t)keep;
        }
        rc = MCSEC_OK;
        goto out;
    }
    if (n_len == MCSEC_SAKKE_SCALAR_LEN && v_len == MCSEC_SAKKE_FIELD_LEN && fp_params() != NULL &&
        memcmp(n, fp_params()->q_be, n_len) == 0) {
        sc_from_wide(out, v); /* r = v mod q */
        rc = MCSEC_OK;
        goto out;
    }
    /* Other moduli (tests): OpenSSL's division, whose BIGNUM handling is not constant time. */
    BN_set_flags(bv, BN_FLG_CONSTTIME);
    if (BN_bin2bn(v, (int)v_len, bv) == NULL || !BN_mod(bv, bv, bn, ctx) ||
        BN_bn2binpad(bv, out, (int)n_len) != (int)n_len)
        goto out;
    rc = MCSEC_OK;
out:
    mcsec_memzero(a, sizeof a);
    mcsec_memzero(h, sizeof h);
    mcsec_memzero(buf, sizeof buf);
    mcsec_memzero(v, sizeof v);
    BN_CTX_end(ctx);
    BN_CTX_free(ctx);
    return rc;
}

/* b = the identifier as a big-endian integer, reduced mod q (public). MCSEC_ERR_BAD_INPUT for
 * an empty or oversized identifier, or one that is 0 mod q. */
static mcsec_status_t id_scalar(uint8_t b[MCSEC_SAKKE_SCALAR_LEN], const uint8_t *id,
                                size_t id_len)
{
    const fp_params_t *prm = fp_params();
    if (id == NULL || id_len == 0 || id_len > SAKKE_MAX_ID_LEN)
        return MCSEC_ERR_BAD_INPUT;
    BN_CTX *ctx = BN_CTX_new();
    BIGNUM *x = BN_bin2bn(id, (int)id_len, NULL);
    BIGNUM *q = BN_bin2bn(prm->q_be, MCSEC_SAKKE_SCALAR_LEN, NULL);
    mcsec_status_t rc = MCSEC_ERR_NOMEM;
    if (ctx != NULL && x != NULL && q != NULL && BN_mod(x, x, q, ctx) &&
        BN_bn2binpad(x, b, MCSEC_SAKKE_SCALAR_LEN) == MCSEC_SAKKE_SCALAR_LEN)
        rc = BN_is_zero(x) ? MCSEC_ERR_BAD_INPUT : MCSEC_OK;
    BN_free(x);
    BN_free(q);
    BN_CTX_free(ctx);
    return rc;
}

/* Decodes a KMS public key Z and checks it generates the order-q subgroup. */
static mcsec_status_t decode_Z(ec_affine_t *Z, const uint8_t in[MCSEC_SAKKE_POINT_LEN])
{
    mcsec_status_t rc = ec_decode(Z, in, MCSEC_SAKKE_POINT_LEN);
    if (rc != MCSEC_OK)
        return rc;
    ec_point_t t;
    ec_mul_public(&t, Z, fp_params()->q_be, MCSEC_SAKKE_SCALAR_LEN);
    return fp_is_zero(&t.Z) ? MCSEC_OK : MCSEC_ERR_SMALL_ORDER;
}

/* Q_b = [b]P + Z (public). */
static mcsec_status_t compute_Qb(ec_affine_t *Qb, const ec_affine_t *Z, const uint8_t *id,
                                 size_t id_len)
{
    uint8_t b[MCSEC_SAKKE_SCALAR_LEN];
    mcsec_status_t rc = id_scalar(b, id, id_len);
    if (rc != MCSEC_OK)
        return rc;
    ec_point_t t;
    ec_mul_public(&t, &fp_params()->P, b, sizeof b);
    ec_add_affine(&t, &t, Z);
    return ec_to_affine(Qb, &t) ? MCSEC_OK : MCSEC_ERR_BAD_INPUT; /* b = -z mod q */
}

/* --- KMS ------------------------------------------------------------------------------- */

mcsec_status_t mcsec_sakke_kms_public(const uint8_t z[MCSEC_SAKKE_SCALAR_LEN],
                                      uint8_t Z[MCSEC_SAKKE_POINT_LEN])
{
    SAKKE_REQUIRE_INIT();
    if (z == NULL || Z == NULL)
        return MCSEC_ERR_BAD_INPUT;
    const ec_table_t *tp = ec_table_P();
    if (tp == NULL)
        return MCSEC_ERR_NOMEM;
    int valid = sc_is_valid(z);
    mcsec_ct_declassify(&valid, sizeof valid); /* public: the caller gets it as a status */
    if (!valid)
        return MCSEC_ERR_SCALAR_RANGE;
    ec_point_t t;
    ec_affine_t a;
    ec_table_mul(&t, tp, z);
    ec_to_affine(&a, &t);
    ec_encode(Z, &a);
    mcsec_ct_declassify(Z, MCSEC_SAKKE_POINT_LEN); /* the KMS public key */
    mcsec_memzero(&t, sizeof t);
    mcsec_memzero(&a, sizeof a);
    return MCSEC_OK;
}

mcsec_status_t mcsec_sakke_kms_generate(uint8_t z[MCSEC_SAKKE_SCALAR_LEN],
                                        uint8_t Z[MCSEC_SAKKE_POINT_LEN])
{
    SAKKE_REQUIRE_INIT();
    if (z == NULL || Z == NULL)
        return MCSEC_ERR_BAD_INPUT;
    /* Rejection sampling of 1022-bit values: about 60% are below q. */
    for (int tries = 0; tries < 128; tries++) {
        mcsec_status_t rc = mcsec_random_bytes(z, MCSEC_SAKKE_SCALAR_LEN);
        if (rc != MCSEC_OK)
            return rc;
        z[0] &= 0x3F;
        mcsec_ct_secret(z, MCSEC_SAKKE_SCALAR_LEN);
        int valid = sc_is_valid(z);
        mcsec_ct_declassify(&valid, sizeof valid); /* a rejected draw is thrown away */
        if (valid) {
            rc = mcsec_sakke_kms_public(z, Z);
            if (rc != MCSEC_OK)
                mcsec_memzero(z, MCSEC_SAKKE_SCALAR_LEN);
            return rc;
        }
    }
    mcsec_memzero(z, MCSEC_SAKKE_SCALAR_LEN);
    return MCSEC_ERR_RNG;
}

mcsec_status_t mcsec_sakke_issue_rsk(const uint8_t z[MCSEC_SAKKE_SCALAR_LEN], const uint8_t *id,
                                     size_t id_len, uint8_t rsk[MCSEC_SAKKE_POINT_LEN])
{
    SAKKE_REQUIRE_INIT();
    uint8_t b[MCSEC_SAKKE_SCALAR_LEN], s[MCSEC_SAKKE_SCALAR_LEN];
    ec_point_t t;
    ec_affine_t a;
    mcsec_status_t rc;
    if (z == NULL || rsk == NULL)
        return MCSEC_ERR_BAD_INPUT;
    const ec_table_t *tp = ec_table_P();
    if (tp == NULL)
        return MCSEC_ERR_NOMEM;
    int valid = sc_is_valid(z);
    mcsec_ct_declassify(&valid, sizeof valid); /* public: the caller gets it as a status */
    if (!valid)
        return MCSEC_ERR_SCALAR_RANGE;
    if ((rc = id_scalar(b, id, id_len)) != MCSEC_OK)
        return rc;
    sc_add(s, b, z);
    valid = sc_is_valid(s);
    mcsec_ct_declassify(&valid, sizeof valid); /* b = -z mod q: refused with a status */
    if (!valid) { /* no RSK exists */
        rc = MCSEC_ERR_BAD_INPUT;
        goto out;
    }
    sc_inv(s, s);
    ec_table_mul(&t, tp, s);
    ec_to_affine(&a, &t);
    ec_encode(rsk, &a);
    rc = MCSEC_OK;
out:
    mcsec_memzero(s, sizeof s);
    mcsec_memzero(&t, sizeof t);
    mcsec_memzero(&a, sizeof a);
    return rc;
}

/* --- RSK validation (RFC 6508 6.1.2) --------------------------------------------------- */

/* Z decoded and checked, then Q_b: two scalar multiplications, public. */
static mcsec_status_t z_then_Qb(ec_affine_t *Qb, const uint8_t Z[MCSEC_SAKKE_POINT_LEN],
                                const uint8_t *id, size_t id_len)
{
    ec_affine_t Zp;
    mcsec_status_t rc = decode_Z(&Zp, Z);
    return rc != MCSEC_OK ? rc : compute_Qb(Qb, &Zp, id, id_len);
}

/* The two halves of an RSK check, each remembered on its own in fuzz builds
 * (crypto/fuzz_memo.c): a fuzzer that changes the identity of a key set keeps its RSK's lines,
 * one that changes the RSK keeps Q_b. Outside fuzz builds these are the plain calls. */
static mcsec_status_t qb_of(ec_affine_t *Qb, const uint8_t Z[MCSEC_SAKKE_POINT_LEN],
                            const uint8_t *id, size_t id_len)
{
#if defined(MCSEC_FUZZ_MEMO)
    fuzz_memo_key_t memo;
    mcsec_status_t rc;
    fuzz_memo_key(&memo, "z_then_Qb", 2, Z, (size_t)MCSEC_SAKKE_POINT_LEN, id, id_len);
    if (fuzz_memo_get(&memo, &rc, Qb, sizeof *Qb))
        return rc;
    if ((rc = z_then_Qb(Qb, Z, id, id_len)) != MCSEC_ERR_NOMEM && rc != MCSEC_ERR_INTERNAL)
        fuzz_memo_put(&memo, rc, Qb, rc == MCSEC_OK ? sizeof *Qb : 0);
    return rc;
#else
    return z_then_Qb(Qb, Z, id, id_len);
#endif
}

static mcsec_status_t lines_of(pairing_lines_t *lines, const ec_affine_t *K,
                               const uint8_t rsk[MCSEC_SAKKE_POINT_LEN])
{
#if defined(MCSEC_FUZZ_MEMO)
    fuzz_memo_key_t memo;
    mcsec_status_t rc;
    fuzz_memo_key(&memo, "pairing_precompute", 1, rsk, (size_t)MCSEC_SAKKE_POINT_LEN);
    if (fuzz_memo_get(&memo, &rc, lines, sizeof *lines))
        return rc;
    if ((rc = pairing_precompute(lines, K)) != MCSEC_ERR_NOMEM && rc != MCSEC_ERR_INTERNAL)
        fuzz_memo_put(&memo, rc, lines, rc == MCSEC_OK ? sizeof *lines : 0);
    return rc;
#else
    (void)rsk;
    return pairing_precompute(lines, K);
#endif
}

/* Decodes K, precomputes its lines and checks <Q_b, K> == g. */
static mcsec_status_t rsk_check_core(pairing_lines_t *lines, ec_affine_t *Qb,
                                const uint8_t Z[MCSEC_SAKKE_POINT_LEN], const uint8_t *id,
                                size_t id_len, const uint8_t rsk[MCSEC_SAKKE_POINT_LEN])
{
    ec_affine_t K;
    fp_t w;
    mcsec_status_t rc;
    if (Z == NULL || rsk == NULL)
        return MCSEC_ERR_BAD_INPUT;
    if ((rc = qb_of(Qb, Z, id, id_len)) != MCSEC_OK)
        return rc;
    if ((rc = ec_decode(&K, rsk, MCSEC_SAKKE_POINT_LEN)) != MCSEC_OK)
        goto out;
    if ((rc = lines_of(lines, &K, rsk)) != MCSEC_OK)
        goto out;
    pairing_eval(&w, lines, Qb);
    uint64_t ok = fp_equal(&w, &fp_params()->g_m);
    mcsec_ct_declassify(&ok, sizeof ok); /* public: the caller gets it as a status */
    rc = ok ? MCSEC_OK : MCSEC_ERR_KEY_INVALID;
out:
    mcsec_memzero(&K, sizeof K);
    mcsec_memzero(&w, sizeof w);
    return rc;
}

/* rsk_check_core; in fuzz builds a repeated (Z, id, RSK) is a copy (crypto/fuzz_memo.c), and
 * memo_id (may be NULL) receives the name of the triple. */
static mcsec_status_t rsk_check(pairing_lines_t *lines, ec_affine_t *Qb,
                                const uint8_t Z[MCSEC_SAKKE_POINT_LEN], const uint8_t *id,
                                size_t id_len, const uint8_t rsk[MCSEC_SAKKE_POINT_LEN],
                                uint8_t *memo_id)
{
#if defined(MCSEC_FUZZ_MEMO)
    struct {
        ec_affine_t Qb;
        pairing_lines_t lines;
    } *v = NULL;
    fuzz_memo_key_t memo;
    mcsec_status_t rc;
    if (Z == NULL || rsk == NULL)
        return MCSEC_ERR_BAD_INPUT;
    fuzz_memo_key(&memo, "rsk_check", 3, Z, (size_t)MCSEC_SAKKE_POINT_LEN, id, id_len, rsk,
                  (size_t)MCSEC_SAKKE_POINT_LEN);
    if (memo_id != NULL)
        memcpy(memo_id, memo.digest, sizeof memo.digest);
    if (memo.on && (v = malloc(sizeof *v)) != NULL && fuzz_memo_get(&memo, &rc, v, sizeof *v)) {
        if (rc == MCSEC_OK) {
            *Qb = v->Qb;
            memcpy(lines, &v->lines, sizeof *lines);
        }
        free(v);
        return rc;
    }
    rc = rsk_check_core(lines, Qb, Z, id, id_len, rsk);
    if (v != NULL && rc != MCSEC_ERR_NOMEM && rc != MCSEC_ERR_INTERNAL) {
        v->Qb = *Qb;
        memcpy(&v->lines, lines, sizeof *lines);
        fuzz_memo_put(&memo, rc, v, rc == MCSEC_OK ? sizeof *v : 0);
    }
    free(v);
    return rc;
#else
    (void)memo_id;
    return rsk_check_core(lines, Qb, Z, id, id_len, rsk);
#endif
}

mcsec_status_t mcsec_sakke_validate_rsk(const uint8_t Z[MCSEC_SAKKE_POINT_LEN], const uint8_t *id,
                                        size_t id_len, const uint8_t rsk[MCSEC_SAKKE_POINT_LEN])
{
    SAKKE_REQUIRE_INIT();
    ec_affine_t Qb;
    pairing_lines_t *lines = mcsec_secure_alloc(sizeof *lines);
    if (lines == NULL)
        return MCSEC_ERR_NOMEM;
    mcsec_status_t rc = rsk_check(lines, &Qb, Z, id, id_len, rsk, NULL);
    mcsec_secure_free(lines);
    return rc;
}

/* --- Receiver key ---------------------------------------------------------------------- */

mcsec_status_t mcsec_sakke_key_new(mcsec_sakke_key_t **out, const uint8_t Z[MCSEC_SAKKE_POINT_LEN],
                                   const uint8_t *id, size_t id_len,
                                   const uint8_t rsk[MCSEC_SAKKE_POINT_LEN])
{
    SAKKE_REQUIRE_INIT();
    if (out == NULL)
        return MCSEC_ERR_BAD_INPUT;
    *out = NULL;
    mcsec_status_t rc = MCSEC_ERR_NOMEM;
    ec_affine_t Qb;
    mcsec_sakke_key_t *key = calloc(1, sizeof *key);
    if (key == NULL)
        return MCSEC_ERR_NOMEM;
    if ((key->lines = mcsec_secure_alloc(sizeof *key->lines)) == NULL)
        goto out;
#if defined(MCSEC_FUZZ_MEMO)
    uint8_t *memo_id = key->memo_id;
#else
    uint8_t *memo_id = NULL;
#endif
    if ((rc = rsk_check(key->lines, &Qb, Z, id, id_len, rsk, memo_id)) != MCSEC_OK)
        goto out;
    if ((rc = ec_table_new(&key->Qb_table, &Qb)) != MCSEC_OK)
        goto out;
    if ((key->id = malloc(id_len)) == NULL) {
        rc = MCSEC_ERR_NOMEM;
        goto out;
    }
    memcpy(key->id, id, id_len);
    key->id_len = id_len;
    *out = key;
    key = NULL;
out:
    mcsec_sakke_key_free(key);
    return rc;
}

void mcsec_sakke_key_free(mcsec_sakke_key_t *key)
{
    if (key == NULL)
        return;
    mcsec_secure_free(key->lines);
    ec_table_free(key->Qb_table);
    free(key->id);
    free(key);
}

/* --- Sender ---------------------------------------------------------------------------- */

mcsec_status_t mcsec_sakke_sender_new(mcsec_sakke_sender_t **out,
                                      const uint8_t Z[MCSEC_SAKKE_POINT_LEN])
{
    SAKKE_REQUIRE_INIT();
    if (out == NULL || Z == NULL)
        return MCSEC_ERR_BAD_INPUT;
    *out = NULL;
    if (ec_table_P() == NULL)
        return MCSEC_ERR_NOMEM;
    mcsec_sakke_sender_t *s = calloc(1, sizeof *s);
    if (s == NULL)
        return MCSEC_ERR_NOMEM;
    mcsec_status_t rc = decode_Z(&s->Z, Z);
    if (rc == MCSEC_OK)
        rc = ec_table_new(&s->Z_table, &s->Z);
    if (rc == MCSEC_OK)
        *out = s;
    else
        mcsec_sakke_sender_free(s);
    return rc;
}

void mcsec_sakke_sender_free(mcsec_sakke_sender_t *sender)
{
    if (sender == NULL)
        return;
    ec_table_free(sender->Z_table);
    free(sender);
}

/* The mask HashToIntegerRange(w, 2^n) for n = 128. */
static mcsec_status_t ssv_mask(uint8_t mask[MCSEC_SAKKE_SSV_LEN], const fp_t *w)
{
    static const uint8_t two_n[MCSEC_SAKKE_SSV_LEN + 1] = {1};
    uint8_t wb[MCSEC_SAKKE_FIELD_LEN], m[MCSEC_SAKKE_SSV_LEN + 1];
    fp_to_bytes(wb, w);
    mcsec_status_t rc = mcsec_hash_to_range(wb, sizeof wb, two_n, sizeof two_n, m);
    memcpy(mask, m + 1, MCSEC_SAKKE_SSV_LEN);
    mcsec_memzero(wb, sizeof wb);
    mcsec_memzero(m, sizeof m);
    return rc;
}

/* r = HashToIntegerRange(SSV || b, q). */
static mcsec_status_t ssv_to_r(uint8_t r[MCSEC_SAKKE_SCALAR_LEN], const uint8_t *ssv,
                               const uint8_t *id, size_t id_len)
{
    uint8_t buf[MCSEC_SAKKE_SSV_LEN + SAKKE_MAX_ID_LEN];
    memcpy(buf, ssv, MCSEC_SAKKE_SSV_LEN);
    memcpy(buf + MCSEC_SAKKE_SSV_LEN, id, id_len);
    mcsec_status_t rc = mcsec_hash_to_range(buf, MCSEC_SAKKE_SSV_LEN + id_len,
                                            fp_params()->q_be, MCSEC_SAKKE_SCALAR_LEN, r);
    mcsec_memzero(buf, sizeof buf);
    return rc;
}

mcsec_status_t mcsec_sakke_encapsulate_trace(const mcsec_sakke_sender_t *sender,
                                             const uint8_t *id, size_t id_len, const uint8_t *ssv,
                                             size_t ssv_len, uint8_t out[MCSEC_SAKKE_ENCAP_LEN],
                                             uint8_t r_out[MCSEC_SAKKE_SCALAR_LEN],
                                             uint8_t gr_out[MCSEC_SAKKE_FIELD_LEN])
{
    SAKKE_REQUIRE_INIT();
    uint8_t b[MCSEC_SAKKE_SCALAR_LEN], r[MCSEC_SAKKE_SCALAR_LEN], rb[MCSEC_SAKKE_SCALAR_LEN];
    uint8_t mask[MCSEC_SAKKE_SSV_LEN];
    ec_point_t R1, R2;
    ec_affine_t Ra;
    fp2_t G;
    fp_t gr, inv, zi;
    mcsec_status_t rc;
    if (sender == NULL || ssv == NULL || out == NULL)
        return MCSEC_ERR_BAD_INPUT;
    if (ssv_len != MCSEC_SAKKE_SSV_LEN)
        return MCSEC_ERR_BAD_LENGTH;
    if ((rc = id_scalar(b, id, id_len)) != MCSEC_OK)
        return rc;
    if ((rc = ssv_to_r(r, ssv, id, id_len)) != MCSEC_OK)
        goto out;
    int valid = sc_is_valid(r);
    mcsec_ct_declassify(&valid, sizeof valid); /* r = 0 (probability 2^-1022) is an error */
    if (!valid) {
        rc = MCSEC_ERR_INTERNAL;
        goto out;
    }
    /* R = [r]([b]P + Z) = [r b mod q]P + [r]Z, both from fixed-base tables. */
    sc_mul(rb, r, b);
    ec_table_mul(&R1, ec_table_P(), rb);
    ec_table_mul(&R2, sender->Z_table, r);
    ec_add(&R1, &R1, &R2);
    uint64_t inf = fp_is_zero(&R1.Z);
    mcsec_ct_declassify(&inf, sizeof inf); /* R is public; R = O is an error */
    if (inf) { /* r b + r z = 0 mod q: impossible for a valid RSK identity */
        rc = MCSEC_ERR_INTERNAL;
        goto out;
    }
    /* g^r = G.b / G.a; one inversion of Z * G.a serves both divisions. */
    if ((rc = gt_pow_g_proj(&G, r)) != MCSEC_OK)
        goto out;
    fp_mul(&inv, &R1.Z, &G.a);
    fp_inv(&inv, &inv);
    fp_mul(&zi, &inv, &G.a); /* 1/Z */
    fp_mul(&inv, &inv, &R1.Z); /* 1/G.a */
    fp_mul(&gr, &G.b, &inv);
    fp_sqr(&inv, &zi);
    fp_mul(&Ra.x, &R1.X, &inv);
    fp_mul(&inv, &inv, &zi);
    fp_mul(&Ra.y, &R1.Y, &inv);
    if ((rc = ssv_mask(mask, &gr)) != MCSEC_OK)
        goto out;
    ec_encode(out, &Ra);
    for (int i = 0; i < MCSEC_SAKKE_SSV_LEN; i++)
        out[MCSEC_SAKKE_POINT_LEN + i] = ssv[i] ^ mask[i];
    mcsec_ct_declassify(out, MCSEC_SAKKE_ENCAP_LEN); /* the encapsulated data R || H */
    if (r_out != NULL)
        memcpy(r_out, r, MCSEC_SAKKE_SCALAR_LEN);
    if (gr_out != NULL)
        fp_to_bytes(gr_out, &gr);
out:
    mcsec_memzero(r, sizeof r);
    mcsec_memzero(rb, sizeof rb);
    mcsec_memzero(mask, sizeof mask);
    mcsec_memzero(&R1, sizeof R1);
    mcsec_memzero(&R2, sizeof R2);
    mcsec_memzero(&gr, sizeof gr);
    mcsec_memzero(&G, sizeof G);
    mcsec_memzero(&inv, sizeof inv);
    mcsec_memzero(&zi, sizeof zi);
    return rc;
}

mcsec_status_t mcsec_sakke_encapsulate(const mcsec_sakke_sender_t *sender, const uint8_t *id,
                                       size_t id_len, const uint8_t *ssv, size_t ssv_len,
                                       uint8_t out[MCSEC_SAKKE_ENCAP_LEN])
{
    return mcsec_sakke_encapsulate_trace(sender, id, id_len, ssv, ssv_len, out, NULL, NULL);
}

mcsec_status_t mcsec_sakke_decapsulate(const mcsec_sakke_key_t *key, const uint8_t *data,
                                       size_t data_len, uint8_t ssv_out[MCSEC_SAKKE_SSV_LEN])
{
    SAKKE_REQUIRE_INIT();
    uint8_t ssv[MCSEC_SAKKE_SSV_LEN], mask[MCSEC_SAKKE_SSV_LEN], r[MCSEC_SAKKE_SCALAR_LEN];
    ec_affine_t R;
    ec_point_t T;
    fp_t w;
    mcsec_status_t rc;
    if (key == NULL || data == NULL || ssv_out == NULL)
        return MCSEC_ERR_BAD_INPUT;
    memset(ssv_out, 0, MCSEC_SAKKE_SSV_LEN);
    if (data_len != MCSEC_SAKKE_ENCAP_LEN)
        return MCSEC_ERR_BAD_LENGTH;
#if defined(MCSEC_FUZZ_MEMO)
    fuzz_memo_key_t memo;
    fuzz_memo_key(&memo, "decapsulate", 2, key->memo_id, sizeof key->memo_id, data, data_len);
    if (fuzz_memo_get(&memo, &rc, ssv_out, MCSEC_SAKKE_SSV_LEN))
        return rc;
#endif
    if ((rc = ec_decode(&R, data, MCSEC_SAKKE_POINT_LEN)) != MCSEC_OK)
        return rc;
    pairing_eval(&w, key->lines, &R);
    if ((rc = ssv_mask(mask, &w)) != MCSEC_OK)
        goto out;
    for (int i = 0; i < MCSEC_SAKKE_SSV_LEN; i++)
        ssv[i] = data[MCSEC_SAKKE_POINT_LEN + i] ^ mask[i];
    if ((rc = ssv_to_r(r, ssv, key->id, key->id_len)) != MCSEC_OK)
        goto out;
    /* RFC 6508 6.2.2: accept only if R == [r]([b]P + Z). r = 0 cannot give a valid R. */
    uint64_t ok = (uint64_t)0 - (uint64_t)sc_is_valid(r);
    ec_table_mul(&T, key->Qb_table, r);
    ok &= ec_equal_affine(&T, &R);
    mcsec_ct_declassify(&ok, sizeof ok); /* public: the caller gets it as a status */
    if (ok) {
        memcpy(ssv_out, ssv, MCSEC_SAKKE_SSV_LEN);
        rc = MCSEC_OK;
    } else {
        rc = MCSEC_ERR_DECAPSULATE;
    }
#if defined(MCSEC_FUZZ_MEMO)
    fuzz_memo_put(&memo, rc, ssv_out, rc == MCSEC_OK ? MCSEC_SAKKE_SSV_LEN : 0);
#endif
out:
    mcsec_memzero(ssv, sizeof ssv);
    mcsec_memzero(mask, sizeof mask);
    mcsec_memzero(r, sizeof r);
    mcsec_memzero(&T, sizeof T);
    mcsec_memzero(&w, sizeof w);
    return rc;
}

mcsec_status_t mcsec_sakke_pairing(const uint8_t a[MCSEC_SAKKE_POINT_LEN],
                                   const uint8_t b[MCSEC_SAKKE_POINT_LEN],
                                   uint8_t out[MCSEC_SAKKE_FIELD_LEN])
{
    SAKKE_REQUIRE_INIT();
    ec_affine_t A, B;
    fp_t w;
    mcsec_status_t rc;
    if (a == NULL || b == NULL || out == NULL)
        return MCSEC_ERR_BAD_INPUT;
    if ((rc = ec_decode(&A, a, MCSEC_SAKKE_POINT_LEN)) != MCSEC_OK ||
        (rc = ec_decode(&B, b, MCSEC_SAKKE_POINT_LEN)) != MCSEC_OK)
        return rc;
    pairing_lines_t *lines = mcsec_secure_alloc(sizeof *lines);
    if (lines == NULL)
        return MCSEC_ERR_NOMEM;
    if ((rc = pairing_precompute(lines, &A)) == MCSEC_OK) {
        pairing_eval(&w, lines, &B);
        fp_to_bytes(out, &w);
    }
    mcsec_secure_free(lines);
    return rc;
}
