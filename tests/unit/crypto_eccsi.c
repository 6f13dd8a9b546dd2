/* ECCSI (RFC 6507): Appendix A vectors, random round trips, and every bad input class with
 * its exact status. */
#include <pthread.h>

#include "internal.h"
#include "test.h"

#define SL MCSEC_ECCSI_SCALAR_LEN
#define PL MCSEC_ECCSI_POINT_LEN
#define HL MCSEC_ECCSI_HASH_LEN
#define SIGL MCSEC_ECCSI_SIG_LEN

/* Test hook defined in crypto/eccsi.c (not in a header). */

/* The group order q of P-256 and the field prime p. */
static const uint8_t Q[SL] = {0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff,
                              0xff, 0xff, 0xff, 0xff, 0xff, 0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17,
                              0x9e, 0x84, 0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51};
static const uint8_t P[SL] = {0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00,
                              0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff,
                              0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

/* The vector file writes the small integers KSAK, v and j with an odd number of hex digits
 * ("12345"), which test_vector() rejects: read "KEY = hex" right-aligned into 32 octets. */
static void scalar_vector(const char *text, const char *key, uint8_t out[SL]) {
    size_t klen = strlen(key);
    for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
        if (strncmp(p, key, klen) != 0 || (p[klen] != ' ' && p[klen] != '=')) continue;
        const char *h = strchr(p, '=') + 1;
        while (*h == ' ')
            h++;
        size_t n = 0;
        while (isxdigit((unsigned char)h[n]))
            n++;
        char hex[2 * SL + 1];
        if (n > 2 * SL) break;
        memset(hex, '0', 2 * SL - n);
        memcpy(hex + 2 * SL - n, h, n);
        hex[2 * SL] = 0;
        if (test_unhex(hex, out, SL) != SL) break;
        return;
    }
    fprintf(stderr, "vector %s missing or bad\n", key);
    exit(2);
}

static void random_bytes(uint8_t *p, size_t n) {
    if (mcsec_random_bytes(p, n) != MCSEC_OK) {
        fprintf(stderr, "rng failed\n");
        exit(2);
    }
}

/* A 32-octet big-endian add of a small value (wraps; good enough for test inputs). */
static void add_small(uint8_t x[SL], unsigned v) {
    for (int i = SL - 1; i >= 0 && v; i--) {
        v += x[i];
        x[i] = (uint8_t)v;
        v >>= 8;
    }
}

/* --- RFC 6507 Appendix A ---------------------------------------------------------------- */

static uint8_t ksak[SL], v[SL], j[SL], kpak[PL], pvt[PL], hs[HL], ssk[SL], he[HL], rr[SL], ss[SL],
    jpt[PL], sig[SIGL], id[64], msg[16];
static size_t id_len, msg_len;

static void test_rfc6507(void) {
    char *text = test_read_file("rfc6507.txt");
    scalar_vector(text, "KSAK", ksak);
    scalar_vector(text, "v", v);
    scalar_vector(text, "j", j);
    CHECK(test_vector(text, "KPAK", kpak, sizeof kpak) == PL);
    id_len = test_vector(text, "ID", id, sizeof id);
    CHECK(id_len == 26);
    CHECK(test_vector(text, "PVT", pvt, sizeof pvt) == PL);
    CHECK(test_vector(text, "HS", hs, sizeof hs) == HL);
    CHECK(test_vector(text, "SSK", ssk, sizeof ssk) == SL);
    msg_len = test_vector(text, "M", msg, sizeof msg);
    CHECK(msg_len == 8);
    CHECK(test_vector(text, "J", jpt, sizeof jpt) == PL);
    CHECK(test_vector(text, "r", rr, sizeof rr) == SL);
    CHECK(test_vector(text, "HE", he, sizeof he) == HL);
    CHECK(test_vector(text, "s", ss, sizeof ss) == SL);
    CHECK(test_vector(text, "Signature", sig, sizeof sig) == SIGL);
    free(text);

    uint8_t out_p[PL], out_s[SL], out_h[HL], out_sig[SIGL];
    /* KPAK = [KSAK]G; J = [j]G (the same primitive). */
    CHECK_STATUS(mcsec_eccsi_kms_public(ksak, out_p), MCSEC_OK);
    CHECK_MEM(out_p, kpak, PL);
    CHECK_STATUS(mcsec_eccsi_kms_public(j, out_p), MCSEC_OK);
    CHECK_MEM(out_p, jpt, PL);
    CHECK_MEM(out_p + 1, rr, SL); /* r = Jx */

    /* (SSK, PVT) from v. */
    CHECK_STATUS(mcsec_eccsi_issue_with_v(ksak, kpak, id, id_len, v, out_s, out_p), MCSEC_OK);
    CHECK_MEM(out_s, ssk, SL);
    CHECK_MEM(out_p, pvt, PL);
    CHECK_STATUS(mcsec_eccsi_hash_hs(kpak, id, id_len, pvt, out_h), MCSEC_OK);
    CHECK_MEM(out_h, hs, HL);
    CHECK_STATUS(mcsec_eccsi_validate(kpak, id, id_len, ssk, pvt), MCSEC_OK);

    /* Signature from j. */
    mcsec_eccsi_signer_t *signer = NULL;
    CHECK_STATUS(mcsec_eccsi_signer_new(&signer, kpak, id, id_len, ssk, pvt), MCSEC_OK);
    memset(out_h, 0, HL);
    CHECK_STATUS(mcsec_eccsi_sign_with_j(signer, msg, msg_len, j, out_sig, out_h), MCSEC_OK);
    CHECK_MEM(out_h, he, HL);
    CHECK_MEM(out_sig, rr, SL);
    CHECK_MEM(out_sig + SL, ss, SL);
    CHECK_MEM(out_sig, sig, SIGL);
    CHECK_STATUS(mcsec_eccsi_sign_with_j(signer, msg, msg_len, j, out_sig, NULL), MCSEC_OK);
    CHECK_MEM(out_sig, sig, SIGL);
    mcsec_eccsi_signer_free(signer);

    /* Verify, uncached and cached; the second cached verification is a hit. */
    uint64_t hits, misses;
    mcsec_eccsi_verifier_t *cold = NULL, *warm = NULL;
    CHECK_STATUS(mcsec_eccsi_verifier_new(&cold, kpak, 0), MCSEC_OK);
    CHECK_STATUS(mcsec_eccsi_verifier_new(&warm, kpak, 16), MCSEC_OK);
    for (int i = 0; i < 2; i++) {
        CHECK_STATUS(mcsec_eccsi_verify(cold, id, id_len, msg, msg_len, sig, SIGL), MCSEC_OK);
        CHECK_STATUS(mcsec_eccsi_verify(warm, id, id_len, msg, msg_len, sig, SIGL), MCSEC_OK);
        mcsec_eccsi_verifier_stats(warm, &hits, &misses);
        CHECK(hits == (uint64_t)i && misses == 1);
    }
    mcsec_eccsi_verifier_stats(cold, &hits, &misses);
    CHECK(hits == 0);
    /* A cache hit must not let a signature of another message through. */
    uint8_t other[8];
    memcpy(other, msg, sizeof other);
    other[0] ^= 1;
    CHECK_STATUS(mcsec_eccsi_verify(warm, id, id_len, other, msg_len, sig, SIGL), MCSEC_ERR_VERIFY);
    mcsec_eccsi_verifier_free(cold);
    mcsec_eccsi_verifier_free(warm);
}

/* --- Random keys and messages ------------------------------------------------------------ */

static void test_round_trips(void) {
    enum { ITER = 50 };
    uint8_t k1[SL], p1[PL], k2[SL], p2[PL];
    CHECK_STATUS(mcsec_eccsi_kms_generate(k1, p1), MCSEC_OK);
    CHECK_STATUS(mcsec_eccsi_kms_generate(k2, p2), MCSEC_OK);
    CHECK(memcmp(k1, k2, SL) != 0);
    mcsec_eccsi_verifier_t *cold = NULL, *warm = NULL, *wrong_kms = NULL;
    CHECK_STATUS(mcsec_eccsi_verifier_new(&cold, p1, 0), MCSEC_OK);
    CHECK_STATUS(mcsec_eccsi_verifier_new(&warm, p1, 4), MCSEC_OK); /* evicts */
    CHECK_STATUS(mcsec_eccsi_verifier_new(&wrong_kms, p2, 4), MCSEC_OK);

    int bad = 0;
    uint8_t prev_id[64] = {0};
    size_t prev_id_len = 1;
    for (int i = 0; i < ITER; i++) {
        uint8_t rid[64], m[200], m2[200], s[SL], pv[PL], sg[SIGL], sg2[SIGL], len8;
        random_bytes(&len8, 1);
        size_t rid_len = 1 + len8 % sizeof rid;
        random_bytes(rid, rid_len);
        random_bytes(&len8, 1);
        size_t m_len = len8 % sizeof m; /* includes the empty message */
        random_bytes(m, sizeof m);

        mcsec_eccsi_signer_t *signer = NULL;
        bad += mcsec_eccsi_issue(k1, p1, rid, rid_len, s, pv) != MCSEC_OK;
        bad += mcsec_eccsi_validate(p1, rid, rid_len, s, pv) != MCSEC_OK;
        bad += mcsec_eccsi_validate(p2, rid, rid_len, s, pv) != MCSEC_ERR_KEY_INVALID;
        bad += mcsec_eccsi_validate(p1, prev_id, prev_id_len, s, pv) != MCSEC_ERR_KEY_INVALID;
        bad += mcsec_eccsi_signer_new(&signer, p1, rid, rid_len, s, pv) != MCSEC_OK;
        if (signer == NULL) continue;
        bad += mcsec_eccsi_sign(signer, m_len ? m : NULL, m_len, sg) != MCSEC_OK;
        bad += mcsec_eccsi_sign(signer, m, m_len, sg2) != MCSEC_OK;
        bad += memcmp(sg, sg2, SL) == 0; /* fresh j each time */
        bad += memcmp(sg + 2 * SL, pv, PL) != 0;
        bad += mcsec_eccsi_verify(cold, rid, rid_len, m, m_len, sg, SIGL) != MCSEC_OK;
        bad += mcsec_eccsi_verify(warm, rid, rid_len, m, m_len, sg, SIGL) != MCSEC_OK;
        bad += mcsec_eccsi_verify(warm, rid, rid_len, m, m_len, sg2, SIGL) != MCSEC_OK;
        /* Another identity, another message, another KMS. */
        bad +=
            mcsec_eccsi_verify(cold, prev_id, prev_id_len, m, m_len, sg, SIGL) != MCSEC_ERR_VERIFY;
        bad +=
            mcsec_eccsi_verify(warm, prev_id, prev_id_len, m, m_len, sg, SIGL) != MCSEC_ERR_VERIFY;
        memcpy(m2, m, sizeof m2);
        m2[0] ^= 0x80;
        bad += mcsec_eccsi_verify(warm, rid, rid_len, m2, m_len ? m_len : 1, sg, SIGL) !=
               MCSEC_ERR_VERIFY;
        bad += mcsec_eccsi_verify(warm, rid, rid_len, m, m_len + 1, sg, SIGL) != MCSEC_ERR_VERIFY;
        bad += mcsec_eccsi_verify(wrong_kms, rid, rid_len, m, m_len, sg, SIGL) != MCSEC_ERR_VERIFY;
        mcsec_eccsi_signer_free(signer);
        memcpy(prev_id, rid, rid_len);
        prev_id_len = rid_len;
    }
    CHECK(bad == 0);
    uint64_t hits, misses;
    mcsec_eccsi_verifier_stats(warm, &hits, &misses);
    CHECK(hits >= ITER); /* at least the second signature of each identity */
    mcsec_eccsi_verifier_free(cold);
    mcsec_eccsi_verifier_free(warm);
    mcsec_eccsi_verifier_free(wrong_kms);
    mcsec_memzero(k1, SL);
    mcsec_memzero(k2, SL);
}

/* --- Threads sharing one cached verifier ------------------------------------------------- */

#define NSIGNERS 6
static uint8_t t_kpak[PL], t_sig[NSIGNERS][SIGL], t_id[NSIGNERS][8];
static mcsec_eccsi_verifier_t *t_verifier;

static void *verify_thread(void *arg) {
    long bad = 0;
    for (int i = 0; i < 40; i++) {
        int k = (i + (int)(long)arg) % NSIGNERS;
        bad += mcsec_eccsi_verify(t_verifier, t_id[k], 8, (const uint8_t *)"x", 1, t_sig[k],
                                  SIGL) != MCSEC_OK;
        bad += mcsec_eccsi_verify(t_verifier, t_id[(k + 1) % NSIGNERS], 8, (const uint8_t *)"x", 1,
                                  t_sig[k], SIGL) != MCSEC_ERR_VERIFY;
    }
    return (void *)bad;
}

static void test_threads(void) {
    uint8_t k[SL];
    CHECK_STATUS(mcsec_eccsi_kms_generate(k, t_kpak), MCSEC_OK);
    for (int i = 0; i < NSIGNERS; i++) {
        uint8_t s[SL], pv[PL];
        mcsec_eccsi_signer_t *signer = NULL;
        memcpy(t_id[i], "signer-", 7);
        t_id[i][7] = (uint8_t)('0' + i);
        CHECK_STATUS(mcsec_eccsi_issue(k, t_kpak, t_id[i], 8, s, pv), MCSEC_OK);
        CHECK_STATUS(mcsec_eccsi_signer_new(&signer, t_kpak, t_id[i], 8, s, pv), MCSEC_OK);
        CHECK_STATUS(mcsec_eccsi_sign(signer, (const uint8_t *)"x", 1, t_sig[i]), MCSEC_OK);
        mcsec_eccsi_signer_free(signer);
    }
    CHECK_STATUS(mcsec_eccsi_verifier_new(&t_verifier, t_kpak, 3), MCSEC_OK);
    pthread_t th[4];
    for (long i = 0; i < 4; i++)
        CHECK(pthread_create(&th[i], NULL, verify_thread, (void *)i) == 0);
    long bad = 0;
    for (int i = 0; i < 4; i++) {
        void *ret;
        CHECK(pthread_join(th[i], &ret) == 0);
        bad += (long)ret;
    }
    CHECK(bad == 0);
    mcsec_eccsi_verifier_free(t_verifier);
    mcsec_memzero(k, SL);
}

/* --- Bad inputs, each with its exact status ---------------------------------------------- */

static void test_bad_signatures(void) {
    mcsec_eccsi_verifier_t *vf = NULL;
    CHECK_STATUS(mcsec_eccsi_verifier_new(&vf, kpak, 8), MCSEC_OK);
    uint8_t b[SIGL + 1];
#define VERIFY_AS(len, want)                                                                       \
    CHECK_STATUS(mcsec_eccsi_verify(vf, id, id_len, msg, msg_len, b, len), want)

    /* Lengths. */
    memcpy(b, sig, SIGL);
    b[SIGL] = 0;
    VERIFY_AS(SIGL, MCSEC_OK);
    VERIFY_AS(128, MCSEC_ERR_BAD_LENGTH);
    VERIFY_AS(130, MCSEC_ERR_BAD_LENGTH);
    VERIFY_AS(0, MCSEC_ERR_BAD_LENGTH);

    /* r and s out of [1, q-1]: 0, q, q + 1, all ones. */
    for (int part = 0; part < 2; part++) {
        uint8_t *x = b + part * SL;
        memcpy(b, sig, SIGL);
        memset(x, 0, SL);
        VERIFY_AS(SIGL, MCSEC_ERR_SCALAR_RANGE);
        memcpy(x, Q, SL);
        VERIFY_AS(SIGL, MCSEC_ERR_SCALAR_RANGE);
        add_small(x, 1);
        VERIFY_AS(SIGL, MCSEC_ERR_SCALAR_RANGE);
        memset(x, 0xff, SL);
        VERIFY_AS(SIGL, MCSEC_ERR_SCALAR_RANGE);
        memcpy(x, Q, SL);
        x[SL - 1]--; /* q - 1 is in range: a well-formed signature that does not verify */
        VERIFY_AS(SIGL, MCSEC_ERR_VERIFY);
        memset(x, 0, SL);
        x[SL - 1] = 1;
        VERIFY_AS(SIGL, MCSEC_ERR_VERIFY);
    }

    /* PVT encodings. 65 zero octets stand for the point at infinity (SEC1: a lone 00). */
    uint8_t *pv = b + 2 * SL;
    const uint8_t prefixes[] = {0x00, 0x02, 0x03, 0x05, 0x06, 0x07, 0x44, 0xff};
    for (size_t i = 0; i < sizeof prefixes; i++) {
        memcpy(b, sig, SIGL);
        pv[0] = prefixes[i];
        VERIFY_AS(SIGL, MCSEC_ERR_POINT_ENCODING);
    }
    memcpy(b, sig, SIGL);
    memset(pv, 0, PL);
    VERIFY_AS(SIGL, MCSEC_ERR_INFINITY);
    pv[0] = 0x04; /* 04 || 0 || 0: (0, 0) is not on P-256 */
    VERIFY_AS(SIGL, MCSEC_ERR_NOT_ON_CURVE);
    memcpy(b, sig, SIGL);
    pv[PL - 1] ^= 0x01; /* y off by one */
    VERIFY_AS(SIGL, MCSEC_ERR_NOT_ON_CURVE);
    memcpy(b, sig, SIGL);
    memcpy(pv + 1, P, SL); /* x = p */
    VERIFY_AS(SIGL, MCSEC_ERR_POINT_RANGE);
    memcpy(b, sig, SIGL);
    memcpy(pv + 1 + SL, P, SL); /* y = p */
    VERIFY_AS(SIGL, MCSEC_ERR_POINT_RANGE);
    /* A valid point that is not the signer's PVT (the KPAK). */
    memcpy(b, sig, SIGL);
    memcpy(pv, kpak, PL);
    VERIFY_AS(SIGL, MCSEC_ERR_VERIFY);
    /* The negated PVT (y -> p - y): on the curve, wrong point. */
    {
        memcpy(b, sig, SIGL);
        int borrow = 0;
        for (int i = SL - 1; i >= 0; i--) {
            int d = P[i] - pvt[1 + SL + i] - borrow;
            borrow = d < 0;
            pv[1 + SL + i] = (uint8_t)d;
        }
        VERIFY_AS(SIGL, MCSEC_ERR_VERIFY);
    }

    /* Every bit of the message. */
    int bad = 0;
    for (size_t bit = 0; bit < msg_len * 8; bit++) {
        uint8_t m[16];
        memcpy(m, msg, msg_len);
        m[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        mcsec_status_t rc = mcsec_eccsi_verify(vf, id, id_len, m, msg_len, sig, SIGL);
        if (rc != MCSEC_ERR_VERIFY) {
            fprintf(stderr, "message bit %zu: status %d\n", bit, (int)rc);
            bad++;
        }
    }
    CHECK(bad == 0);

    /* Every bit of the signature: r, s give SCALAR_RANGE or VERIFY; the PVT prefix gives
     * POINT_ENCODING; PVT coordinates give POINT_RANGE, NOT_ON_CURVE or (improbably, if the
     * flip lands on another curve point) VERIFY. Never OK. */
    int counts[32] = {0};
    bad = 0;
    for (size_t bit = 0; bit < SIGL * 8; bit++) {
        memcpy(b, sig, SIGL);
        b[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        mcsec_status_t rc = mcsec_eccsi_verify(vf, id, id_len, msg, msg_len, b, SIGL);
        size_t at = bit / 8;
        int ok;
        if (at < 2 * SL)
            ok = rc == MCSEC_ERR_SCALAR_RANGE || rc == MCSEC_ERR_VERIFY;
        else if (at == 2 * SL)
            ok = rc == MCSEC_ERR_POINT_ENCODING;
        else
            ok = rc == MCSEC_ERR_POINT_RANGE || rc == MCSEC_ERR_NOT_ON_CURVE ||
                 rc == MCSEC_ERR_VERIFY;
        if (!ok) {
            fprintf(stderr, "signature bit %zu: status %d\n", bit, (int)rc);
            bad++;
        }
        counts[rc & 31]++;
    }
    CHECK(bad == 0);
    CHECK(counts[MCSEC_OK] == 0);
    CHECK(counts[MCSEC_ERR_VERIFY] == 2 * SL * 8); /* for this vector: no flip leaves range */
    CHECK(counts[MCSEC_ERR_POINT_ENCODING] == 8);
    CHECK(counts[MCSEC_ERR_NOT_ON_CURVE] == 2 * SL * 8);
    /* The good signature still verifies after all that (the cache was not polluted). */
    CHECK_STATUS(mcsec_eccsi_verify(vf, id, id_len, msg, msg_len, sig, SIGL), MCSEC_OK);
#undef VERIFY_AS
    mcsec_eccsi_verifier_free(vf);
}

static void test_bad_keys(void) {
    uint8_t s[SL], pv[PL], out_s[SL], out_p[PL], h[HL], sg[SIGL];
    mcsec_eccsi_signer_t *signer = (mcsec_eccsi_signer_t *)&signer; /* must be reset */

    /* SSK = 0, q, q + 1, all ones: SCALAR_RANGE in validate and signer_new. */
    for (int i = 0; i < 4; i++) {
        if (i == 0)
            memset(s, 0, SL);
        else if (i == 3)
            memset(s, 0xff, SL);
        else {
            memcpy(s, Q, SL);
            add_small(s, (unsigned)(i - 1));
        }
        CHECK_STATUS(mcsec_eccsi_validate(kpak, id, id_len, s, pvt), MCSEC_ERR_SCALAR_RANGE);
        CHECK_STATUS(mcsec_eccsi_signer_new(&signer, kpak, id, id_len, s, pvt),
                     MCSEC_ERR_SCALAR_RANGE);
        CHECK(signer == NULL);
        CHECK_STATUS(mcsec_eccsi_issue(s, kpak, id, id_len, out_s, out_p), MCSEC_ERR_SCALAR_RANGE);
        CHECK_STATUS(mcsec_eccsi_kms_public(s, out_p), MCSEC_ERR_SCALAR_RANGE);
        CHECK_STATUS(mcsec_eccsi_issue_with_v(ksak, kpak, id, id_len, s, out_s, out_p),
                     MCSEC_ERR_SCALAR_RANGE);
    }

    /* Well-formed pairs that fail 5.1.2. */
    memcpy(s, ssk, SL);
    add_small(s, 1);
    CHECK_STATUS(mcsec_eccsi_validate(kpak, id, id_len, s, pvt), MCSEC_ERR_KEY_INVALID);
    CHECK_STATUS(mcsec_eccsi_signer_new(&signer, kpak, id, id_len, s, pvt), MCSEC_ERR_KEY_INVALID);
    CHECK(signer == NULL);
    CHECK_STATUS(mcsec_eccsi_validate(kpak, id, id_len - 1, ssk, pvt), MCSEC_ERR_KEY_INVALID);
    CHECK_STATUS(mcsec_eccsi_validate(kpak, id, id_len, ssk, kpak), MCSEC_ERR_KEY_INVALID);
    CHECK_STATUS(mcsec_eccsi_validate(pvt, id, id_len, ssk, pvt), MCSEC_ERR_KEY_INVALID);

    /* Malformed PVT and KPAK in validate / signer_new / verifier_new / issue. */
    struct {
        int what; /* 0: prefix 05, 1: infinity, 2: off curve, 3: x = p */
        mcsec_status_t want;
    } cases[] = {{0, MCSEC_ERR_POINT_ENCODING},
                 {1, MCSEC_ERR_INFINITY},
                 {2, MCSEC_ERR_NOT_ON_CURVE},
                 {3, MCSEC_ERR_POINT_RANGE}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        memcpy(pv, pvt, PL);
        if (cases[i].what == 0)
            pv[0] = 0x05;
        else if (cases[i].what == 1)
            memset(pv, 0, PL);
        else if (cases[i].what == 2)
            pv[10] ^= 0x40;
        else
            memcpy(pv + 1, P, SL);
        mcsec_status_t want = cases[i].want;
        CHECK_STATUS(mcsec_eccsi_validate(kpak, id, id_len, ssk, pv), want);
        CHECK_STATUS(mcsec_eccsi_validate(pv, id, id_len, ssk, pvt), want);
        CHECK_STATUS(mcsec_eccsi_signer_new(&signer, kpak, id, id_len, ssk, pv), want);
        CHECK(signer == NULL);
        CHECK_STATUS(mcsec_eccsi_issue(ksak, pv, id, id_len, out_s, out_p), want);
        mcsec_eccsi_verifier_t *vf = (mcsec_eccsi_verifier_t *)&vf;
        CHECK_STATUS(mcsec_eccsi_verifier_new(&vf, pv, 4), want);
        CHECK(vf == NULL);
    }

    /* A KPAK that is a valid point but not [KSAK]G: the KMS refuses to issue. */
    CHECK_STATUS(mcsec_eccsi_issue(ksak, pvt, id, id_len, out_s, out_p), MCSEC_ERR_KEY_INVALID);
    CHECK_STATUS(mcsec_eccsi_issue_with_v(ksak, pvt, id, id_len, v, out_s, out_p),
                 MCSEC_ERR_KEY_INVALID);

    /* j out of range in the deterministic signer. */
    CHECK_STATUS(mcsec_eccsi_signer_new(&signer, kpak, id, id_len, ssk, pvt), MCSEC_OK);
    uint8_t jj[SL] = {0};
    CHECK_STATUS(mcsec_eccsi_sign_with_j(signer, msg, msg_len, jj, sg, NULL),
                 MCSEC_ERR_SCALAR_RANGE);
    CHECK_STATUS(mcsec_eccsi_sign_with_j(signer, msg, msg_len, Q, sg, NULL),
                 MCSEC_ERR_SCALAR_RANGE);

    /* NULL arguments. */
    mcsec_eccsi_verifier_t *vf = NULL;
    CHECK_STATUS(mcsec_eccsi_kms_generate(NULL, out_p), MCSEC_ERR_BAD_INPUT);
    CHECK_STATUS(mcsec_eccsi_kms_generate(out_s, NULL), MCSEC_ERR_BAD_INPUT);
    CHECK_STATUS(mcsec_eccsi_kms_public(NULL, out_p), MCSEC_ERR_BAD_INPUT);
    CHECK_STATUS(mcsec_eccsi_kms_public(ksak, NULL), MCSEC_ERR_BAD_INPUT);
    CHECK_STATUS(mcsec_eccsi_issue(NULL, kpak, id, id_len, out_s, out_p), MCSEC_ERR_BAD_INPUT);
    CHECK_STATUS(mcsec_eccsi_issue(ksak, NULL, id, id_len, out_s, out_p), MCSEC_ERR_BAD_INPUT);
    CHECK_STATUS(mcsec_eccsi_issue(ksak, kpak, NULL, id_len, out_s, out_p), MCSEC_ERR_BAD_INPUT);
    CHECK_STATUS(mcsec_eccsi_issue(ksak, kpak, id, id_len, NULL, out_p), MCSEC_ERR_BAD_INPUT);
    CHECK_STATUS(mcsec_eccsi_issue(ksak, kpak, id, id_len, out_s, NULL), MCSEC_ERR_BAD_INPUT);
    CHECK_STATUS(mcsec_eccsi_issue_with_v(ksak, kpak, id, id_len, NULL, out_s, out_p),
                 MCSEC_ERR_BAD_INPUT);
    CHECK_STATUS(mcsec_eccsi_hash_hs(NULL, id, id_len, pvt, h), MCSEC_ERR_BAD_INPUT);
    CHECK_STATUS(mcsec_eccsi_hash_hs(kpak, NULL, id_len, pvt, h), MCSEC_ERR_BAD_INPUT);
    CHECK_STATUS(mcsec_eccsi_hash_hs(kpak, id, id_len, NULL, h), MCSEC_ERR_BAD_INPUT);
    CHECK_STATUS(mcsec_eccsi_hash_hs(kpak, id, id_len, pvt, NULL), MCSEC_ERR_BAD_INPUT);
    CHECK_STATUS(mcsec_eccsi_validate(NULL, id, id_len, ssk, pvt), MCSEC_ERR_BAD_INPUT);
    CHECK_STATUS(mcsec_eccsi_validate(kpak, NULL, id_len, ssk, pvt), MCSEC_ERR_BAD_INPUT);
    CHECK_STATUS(mcsec_eccsi_validate(kpak, id, id_len, NULL, pvt), MCSEC_ERR_BAD_INPUT);
    CHECK_STATUS(mcsec_eccsi_validate(kpak, id, id_len, ssk, NULL), MCSEC_ERR_BAD_INPUT);
    mcsec_eccsi_signer_t *sn2 = NULL;
    CHECK_STATUS(mcsec_eccsi_signer_new(NULL, kpak, id, id_len, ssk, pvt), MCSEC_ERR_BAD_INPUT);
    CHECK_STATUS(mcsec_eccsi_signer_new(&sn2, NULL, id, id_len, ssk, pvt), MCSEC_ERR_BAD_INPUT);
    CHECK_STATUS(mcsec_eccsi_signer_new(&sn2, kpak, NULL, id_len, ssk, pvt), MCSEC_ERR_BAD_INPUT);
    CHECK_STATUS(mcsec_eccsi_signer_new(&sn2, kpak, id, id_len, NULL, pvt), MCSEC_ERR_BAD_INPUT);
    CHECK_STATUS(mcsec_eccsi_signer_new(&sn2, kpak, id, id_len, ssk, NULL), MCSEC_ERR_BAD_INPUT);
    CHECK(sn2 == NULL);
    CHECK_STATUS(mcsec_eccsi_sign(NULL, msg, msg_len, sg), MCSEC_ERR_BAD_INPUT);
    CHECK_STATUS(mcsec_eccsi_sign(signer, NULL, msg_len, sg), MCSEC_ERR_BAD_INPUT);
    CHECK_STATUS(mcsec_eccsi_sign(signer, msg, msg_len, NULL), MCSEC_ERR_BAD_INPUT);
    CHECK_STATUS(mcsec_eccsi_sign_with_j(NULL, msg, msg_len, j, sg, NULL), MCSEC_ERR_BAD_INPUT);
    CHECK_STATUS(mcsec_eccsi_sign_with_j(signer, msg, msg_len, NULL, sg, NULL),
                 MCSEC_ERR_BAD_INPUT);
    CHECK_STATUS(mcsec_eccsi_verifier_new(NULL, kpak, 0), MCSEC_ERR_BAD_INPUT);
    CHECK_STATUS(mcsec_eccsi_verifier_new(&vf, NULL, 0), MCSEC_ERR_BAD_INPUT);
    CHECK(vf == NULL);
    CHECK_STATUS(mcsec_eccsi_verifier_new(&vf, kpak, 0), MCSEC_OK);
    CHECK_STATUS(mcsec_eccsi_verify(NULL, id, id_len, msg, msg_len, sig, SIGL),
                 MCSEC_ERR_BAD_INPUT);
    CHECK_STATUS(mcsec_eccsi_verify(vf, NULL, id_len, msg, msg_len, sig, SIGL),
                 MCSEC_ERR_BAD_INPUT);
    CHECK_STATUS(mcsec_eccsi_verify(vf, id, id_len, NULL, msg_len, sig, SIGL), MCSEC_ERR_BAD_INPUT);
    CHECK_STATUS(mcsec_eccsi_verify(vf, id, id_len, msg, msg_len, NULL, SIGL), MCSEC_ERR_BAD_INPUT);
    /* Empty message: NULL is fine with length 0. */
    CHECK_STATUS(mcsec_eccsi_sign(signer, NULL, 0, sg), MCSEC_OK);
    CHECK_STATUS(mcsec_eccsi_verify(vf, id, id_len, NULL, 0, sg, SIGL), MCSEC_OK);
    mcsec_eccsi_verifier_free(vf);
    mcsec_eccsi_signer_free(signer);
    mcsec_eccsi_signer_free(NULL);
    mcsec_eccsi_verifier_free(NULL);
}

int main(void) {
    CHECK_STATUS(mcsec_init(), MCSEC_OK);
    CHECK_STATUS(mcsec_eccsi_selftest(), MCSEC_OK);
    test_rfc6507();
    test_round_trips();
    test_threads();
    test_bad_signatures();
    test_bad_keys();
    return test_summary();
}
