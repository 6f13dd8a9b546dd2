/* mcsec-bench crypto: microseconds per SAKKE / ECCSI operation, mcsec against wolfSSL.
 *
 * Each operation is timed in `rounds` rounds (default 7); a round runs a batch of calls sized
 * from a 10 ms calibration so that it takes about 60 ms (CLOCK_MONOTONIC), and the reported
 * figure is the median of the per-call times of the rounds. Every operation's result is checked
 * once before it is timed (and mcsec's against wolfSSL's, where both are deterministic): a
 * benchmark of a broken operation is meaningless, so a failed check exits non-zero.
 *
 * Setup costs are outside the timed loops: the SAKKE sender and receiver key objects (fixed-
 * base tables, RSK line coefficients) are made once, except for sakke_rsk_precompute, which
 * times exactly that (mcsec_sakke_key_new). wolfSSL gets the precomputation its API offers
 * (point I per identity, and its RSK / point-I tables where the build has them), reported in
 * the output. Identities are random 32-octet UIDs, SSVs vary per call. */
#include <openssl/sha.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "internal.h"

#ifdef MCSEC_BENCH_HAVE_WOLFSSL
#include "wolf_peer.h"
#endif

#define BENCH_ID_LEN 32
#define BENCH_MSG_LEN 100
#define BENCH_NSIG 16

enum {
    OP_ENCAP,
    OP_DECAP,
    OP_PRECOMP,
    OP_ISSUE,
    OP_VALIDATE,
    OP_PAIRING,
    OP_SIGN,
    OP_VERIFY,
    OP_VERIFY_COLD,
    OP_W_ENCAP,
    OP_W_DECAP,
    OP_W_ISSUE,
    OP_W_VALIDATE,
    OP_W_SIGN,
    OP_W_VERIFY,
    OP_COUNT
};

static const char *const op_names[OP_COUNT] = {
    "sakke_encapsulate",
    "sakke_decapsulate",
    "sakke_rsk_precompute",
    "sakke_rsk_issue",
    "sakke_rsk_validate",
    "pairing",
    "eccsi_sign",
    "eccsi_verify",
    "eccsi_verify_cold",
    "wolfssl_sakke_encapsulate",
    "wolfssl_sakke_decapsulate",
    "wolfssl_sakke_rsk_issue",
    "wolfssl_sakke_rsk_validate",
    "wolfssl_eccsi_sign",
    "wolfssl_eccsi_verify",
};

/* mcsec / wolfSSL ratios with their targets (a ratio meets its target when <= target). */
static const struct {
    const char *ratio;
    const char *target;
    int mcsec_op, wolf_op;
    double limit;
} ratio_defs[] = {
    {"ratio_decapsulate", "decapsulate", OP_DECAP, OP_W_DECAP, 0.16},
    {"ratio_encapsulate", "encapsulate", OP_ENCAP, OP_W_ENCAP, 0.40},
    {"ratio_eccsi_sign", "eccsi_sign", OP_SIGN, OP_W_SIGN, 0.5},
    {"ratio_eccsi_verify", "eccsi_verify", OP_VERIFY, OP_W_VERIFY, 0.35},
};
#define NRATIOS (sizeof ratio_defs / sizeof ratio_defs[0])

/* The human table: one row per mcsec operation, with its wolfSSL counterpart if any. */
static const struct {
    int op, wolf_op;
} table_rows[] = {
    {OP_ENCAP, OP_W_ENCAP}, {OP_DECAP, OP_W_DECAP},       {OP_PRECOMP, -1},
    {OP_ISSUE, OP_W_ISSUE}, {OP_VALIDATE, OP_W_VALIDATE}, {OP_PAIRING, -1},
    {OP_SIGN, OP_W_SIGN},   {OP_VERIFY, OP_W_VERIFY},     {OP_VERIFY_COLD, OP_W_VERIFY},
};

typedef struct {
    /* SAKKE */
    uint8_t z[MCSEC_SAKKE_SCALAR_LEN], Z[MCSEC_SAKKE_POINT_LEN];
    uint8_t id[BENCH_ID_LEN], other_id[BENCH_ID_LEN];
    uint8_t rsk[MCSEC_SAKKE_POINT_LEN];
    uint8_t ssv[MCSEC_SAKKE_SSV_LEN];
    uint8_t encap[MCSEC_SAKKE_ENCAP_LEN];
    mcsec_sakke_sender_t *sender;
    mcsec_sakke_key_t *key;
    /* ECCSI */
    uint8_t ksak[MCSEC_ECCSI_SCALAR_LEN], kpak[MCSEC_ECCSI_POINT_LEN];
    uint8_t ssk[MCSEC_ECCSI_SCALAR_LEN], pvt[MCSEC_ECCSI_POINT_LEN];
    uint8_t msg[BENCH_MSG_LEN];
    uint8_t sigs[BENCH_NSIG][MCSEC_ECCSI_SIG_LEN];
    mcsec_eccsi_signer_t *signer;
    mcsec_eccsi_verifier_t *verifier, *verifier_cold;
#ifdef MCSEC_BENCH_HAVE_WOLFSSL
    wolf_sakke_t *w_kms, *w_sender, *w_receiver, *w_client;
    wolf_eccsi_t *w_signer, *w_verifier;
    uint8_t w_sigs[BENCH_NSIG][MCSEC_ECCSI_SIG_LEN];
    char w_precomp[256];
#endif
    unsigned counter;
} bench_ctx_t;

typedef int (*bench_op_fn)(bench_ctx_t *c);

/* bench_measure (bench.c) over an operation of this file. */
typedef struct {
    bench_op_fn fn;
    bench_ctx_t *c;
} op_call_t;

static int op_call(void *arg) {
    const op_call_t *o = arg;
    return o->fn(o->c);
}

static int measure(bench_op_fn fn, bench_ctx_t *c, int rounds, double *us) {
    op_call_t o = {fn, c};
    return bench_measure(op_call, &o, rounds, 0, us);
}

/* A fresh SSV per call, so that every encapsulation has its own r. */
static void next_ssv(bench_ctx_t *c, uint8_t ssv[MCSEC_SAKKE_SSV_LEN]) {
    memcpy(ssv, c->ssv, MCSEC_SAKKE_SSV_LEN);
    c->counter++;
    memcpy(ssv, &c->counter, sizeof c->counter);
}

/* --- mcsec operations ------------------------------------------------------------------- */

static int op_encap(bench_ctx_t *c) {
    uint8_t ssv[MCSEC_SAKKE_SSV_LEN], out[MCSEC_SAKKE_ENCAP_LEN];
    next_ssv(c, ssv);
    return mcsec_sakke_encapsulate(c->sender, c->id, sizeof c->id, ssv, sizeof ssv, out);
}

static int op_decap(bench_ctx_t *c) {
    uint8_t ssv[MCSEC_SAKKE_SSV_LEN];
    return mcsec_sakke_decapsulate(c->key, c->encap, sizeof c->encap, ssv);
}

static int op_precomp(bench_ctx_t *c) {
    mcsec_sakke_key_t *k = NULL;
    mcsec_status_t rc = mcsec_sakke_key_new(&k, c->Z, c->id, sizeof c->id, c->rsk);
    mcsec_sakke_key_free(k);
    return rc;
}

static int op_issue(bench_ctx_t *c) {
    uint8_t rsk[MCSEC_SAKKE_POINT_LEN];
    return mcsec_sakke_issue_rsk(c->z, c->id, sizeof c->id, rsk);
}

static int op_validate(bench_ctx_t *c) {
    return mcsec_sakke_validate_rsk(c->Z, c->id, sizeof c->id, c->rsk);
}

static int op_pairing(bench_ctx_t *c) {
    uint8_t w[MCSEC_SAKKE_FIELD_LEN];
    return mcsec_sakke_pairing(c->encap, c->rsk, w);
}

static int op_sign(bench_ctx_t *c) {
    uint8_t sig[MCSEC_ECCSI_SIG_LEN];
    return mcsec_eccsi_sign(c->signer, c->msg, sizeof c->msg, sig);
}

static int op_verify(bench_ctx_t *c) {
    const uint8_t *sig = c->sigs[c->counter++ % BENCH_NSIG];
    return mcsec_eccsi_verify(c->verifier, c->id, sizeof c->id, c->msg, sizeof c->msg, sig,
                              MCSEC_ECCSI_SIG_LEN);
}

static int op_verify_cold(bench_ctx_t *c) {
    const uint8_t *sig = c->sigs[c->counter++ % BENCH_NSIG];
    return mcsec_eccsi_verify(c->verifier_cold, c->id, sizeof c->id, c->msg, sizeof c->msg, sig,
                              MCSEC_ECCSI_SIG_LEN);
}

/* --- wolfSSL operations ----------------------------------------------------------------- */

#ifdef MCSEC_BENCH_HAVE_WOLFSSL
static int op_w_encap(bench_ctx_t *c) {
    uint8_t ssv[MCSEC_SAKKE_SSV_LEN], out[MCSEC_SAKKE_ENCAP_LEN];
    next_ssv(c, ssv);
    return wolf_sakke_encapsulate(c->w_sender, c->id, sizeof c->id, ssv, out);
}

static int op_w_decap(bench_ctx_t *c) {
    uint8_t ssv[MCSEC_SAKKE_SSV_LEN];
    return wolf_sakke_decapsulate(c->w_receiver, c->encap, sizeof c->encap, ssv);
}

static int op_w_issue(bench_ctx_t *c) {
    uint8_t rsk[MCSEC_SAKKE_POINT_LEN];
    return wolf_sakke_issue_rsk(c->w_kms, c->id, sizeof c->id, rsk);
}

static int op_w_validate(bench_ctx_t *c) {
    int valid = 0;
    int ret = wolf_sakke_validate_rsk(c->w_client, c->id, sizeof c->id, c->rsk, &valid);
    return ret != 0 ? ret : !valid;
}

static int op_w_sign(bench_ctx_t *c) {
    uint8_t sig[MCSEC_ECCSI_SIG_LEN];
    return wolf_eccsi_sign(c->w_signer, c->msg, sizeof c->msg, sig);
}

static int op_w_verify(bench_ctx_t *c) {
    int valid = 0;
    const uint8_t *sig = c->w_sigs[c->counter++ % BENCH_NSIG];
    int ret = wolf_eccsi_verify(c->w_verifier, c->id, sizeof c->id, c->msg, sizeof c->msg, sig,
                                MCSEC_ECCSI_SIG_LEN, &valid);
    return ret != 0 ? ret : !valid;
}
#endif

static const bench_op_fn op_fns[OP_COUNT] = {
    op_encap,   op_decap,   op_precomp,     op_issue,      op_validate, op_pairing,
    op_sign,    op_verify,  op_verify_cold,
#ifdef MCSEC_BENCH_HAVE_WOLFSSL
    op_w_encap, op_w_decap, op_w_issue,     op_w_validate, op_w_sign,   op_w_verify,
#endif
};

/* --- Setup and correctness checks ------------------------------------------------------- */

#define EXPECT_OK(what, expr)                                                                      \
    do {                                                                                           \
        mcsec_status_t rc_ = (expr);                                                               \
        if (rc_ != MCSEC_OK) {                                                                     \
            fprintf(stderr, "mcsec-bench: check failed: %s: %s\n", what, mcsec_strerror(rc_));     \
            return -1;                                                                             \
        }                                                                                          \
    } while (0)

#define EXPECT_STATUS(what, expr, want)                                                            \
    do {                                                                                           \
        mcsec_status_t rc_ = (expr);                                                               \
        if (rc_ != (want)) {                                                                       \
            fprintf(stderr, "mcsec-bench: check failed: %s: got '%s', expected '%s'\n", what,      \
                    mcsec_strerror(rc_), mcsec_strerror(want));                                    \
            return -1;                                                                             \
        }                                                                                          \
    } while (0)

#define EXPECT(what, cond)                                                                         \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "mcsec-bench: check failed: %s\n", what);                              \
            return -1;                                                                             \
        }                                                                                          \
    } while (0)

/* mask = HashToIntegerRange(w, 2^128) (RFC 6508 5.1), computed here independently of mcsec:
 * A = SHA-256(w), h_1 = SHA-256(0^32), v_1 = SHA-256(h_1 || A), mask = v_1 mod 2^128. */
static void ssv_mask(const uint8_t w[MCSEC_SAKKE_FIELD_LEN], uint8_t mask[MCSEC_SAKKE_SSV_LEN]) {
    uint8_t buf[2 * SHA256_DIGEST_LENGTH] = {0}, v1[SHA256_DIGEST_LENGTH];
    SHA256(buf, SHA256_DIGEST_LENGTH, buf); /* h_1 */
    SHA256(w, MCSEC_SAKKE_FIELD_LEN, buf + SHA256_DIGEST_LENGTH);
    SHA256(buf, sizeof buf, v1);
    memcpy(mask, v1 + SHA256_DIGEST_LENGTH - MCSEC_SAKKE_SSV_LEN, MCSEC_SAKKE_SSV_LEN);
}

static int setup_mcsec(bench_ctx_t *c) {
    uint8_t ssv[MCSEC_SAKKE_SSV_LEN], rsk2[MCSEC_SAKKE_POINT_LEN], bad[MCSEC_SAKKE_ENCAP_LEN];
    uint8_t w[MCSEC_SAKKE_FIELD_LEN], w2[MCSEC_SAKKE_FIELD_LEN], mask[MCSEC_SAKKE_SSV_LEN];

    EXPECT_OK("mcsec_init (known-answer self test)", mcsec_init());
    EXPECT_OK("random", mcsec_random_bytes(c->id, sizeof c->id));
    EXPECT_OK("random", mcsec_random_bytes(c->other_id, sizeof c->other_id));
    EXPECT_OK("random", mcsec_random_bytes(c->ssv, sizeof c->ssv));
    EXPECT_OK("random", mcsec_random_bytes(c->msg, sizeof c->msg));

    /* SAKKE */
    EXPECT_OK("mcsec_sakke_kms_generate", mcsec_sakke_kms_generate(c->z, c->Z));
    EXPECT_OK("mcsec_sakke_issue_rsk", mcsec_sakke_issue_rsk(c->z, c->id, sizeof c->id, c->rsk));
    EXPECT_OK("mcsec_sakke_validate_rsk", op_validate(c));
    EXPECT_OK("mcsec_sakke_issue_rsk (other id)",
              mcsec_sakke_issue_rsk(c->z, c->other_id, sizeof c->other_id, rsk2));
    EXPECT_STATUS("mcsec_sakke_validate_rsk rejects another identity's RSK",
                  mcsec_sakke_validate_rsk(c->Z, c->id, sizeof c->id, rsk2), MCSEC_ERR_KEY_INVALID);
    EXPECT_OK("mcsec_sakke_sender_new", mcsec_sakke_sender_new(&c->sender, c->Z));
    EXPECT_OK("mcsec_sakke_key_new",
              mcsec_sakke_key_new(&c->key, c->Z, c->id, sizeof c->id, c->rsk));
    EXPECT_OK("mcsec_sakke_encapsulate", mcsec_sakke_encapsulate(c->sender, c->id, sizeof c->id,
                                                                 c->ssv, sizeof c->ssv, c->encap));
    EXPECT_OK("mcsec_sakke_decapsulate",
              mcsec_sakke_decapsulate(c->key, c->encap, sizeof c->encap, ssv));
    EXPECT("decapsulated SSV equals the encapsulated one", memcmp(ssv, c->ssv, sizeof ssv) == 0);
    memcpy(bad, c->encap, sizeof bad);
    bad[MCSEC_SAKKE_POINT_LEN] ^= 0x01;
    EXPECT_STATUS("mcsec_sakke_decapsulate rejects a modified H",
                  mcsec_sakke_decapsulate(c->key, bad, sizeof bad, ssv), MCSEC_ERR_DECAPSULATE);
    /* The pairing: w = <R, K> must unmask H to the SSV, and the pairing is symmetric. */
    EXPECT_OK("mcsec_sakke_pairing", mcsec_sakke_pairing(c->encap, c->rsk, w));
    EXPECT_OK("mcsec_sakke_pairing", mcsec_sakke_pairing(c->rsk, c->encap, w2));
    ssv_mask(w, mask);
    for (size_t i = 0; i < sizeof mask; i++)
        mask[i] ^= c->encap[MCSEC_SAKKE_POINT_LEN + i];
    EXPECT("<R, K> unmasks H to the SSV", memcmp(mask, c->ssv, sizeof mask) == 0);
    EXPECT("<R, K> == <K, R>", memcmp(w, w2, sizeof w) == 0);

    /* ECCSI */
    EXPECT_OK("mcsec_eccsi_kms_generate", mcsec_eccsi_kms_generate(c->ksak, c->kpak));
    EXPECT_OK("mcsec_eccsi_issue",
              mcsec_eccsi_issue(c->ksak, c->kpak, c->id, sizeof c->id, c->ssk, c->pvt));
    EXPECT_OK("mcsec_eccsi_validate",
              mcsec_eccsi_validate(c->kpak, c->id, sizeof c->id, c->ssk, c->pvt));
    EXPECT_OK("mcsec_eccsi_signer_new",
              mcsec_eccsi_signer_new(&c->signer, c->kpak, c->id, sizeof c->id, c->ssk, c->pvt));
    EXPECT_OK("mcsec_eccsi_verifier_new", mcsec_eccsi_verifier_new(&c->verifier, c->kpak, 16));
    EXPECT_OK("mcsec_eccsi_verifier_new (no cache)",
              mcsec_eccsi_verifier_new(&c->verifier_cold, c->kpak, 0));
    for (int i = 0; i < BENCH_NSIG; i++)
        EXPECT_OK("mcsec_eccsi_sign",
                  mcsec_eccsi_sign(c->signer, c->msg, sizeof c->msg, c->sigs[i]));
    for (int i = 0; i < 2 * BENCH_NSIG; i++) { /* op_verify* take the signatures in turn */
        EXPECT_OK("mcsec_eccsi_verify", op_verify(c));
        EXPECT_OK("mcsec_eccsi_verify (no cache)", op_verify_cold(c));
    }
    EXPECT_STATUS("mcsec_eccsi_verify rejects another message",
                  mcsec_eccsi_verify(c->verifier, c->id, sizeof c->id, c->msg, sizeof c->msg - 1,
                                     c->sigs[0], MCSEC_ECCSI_SIG_LEN),
                  MCSEC_ERR_VERIFY);
    EXPECT_STATUS("mcsec_eccsi_verify rejects another identity",
                  mcsec_eccsi_verify(c->verifier, c->other_id, sizeof c->other_id, c->msg,
                                     sizeof c->msg, c->sigs[0], MCSEC_ECCSI_SIG_LEN),
                  MCSEC_ERR_VERIFY);
    return 0;
}

#ifdef MCSEC_BENCH_HAVE_WOLFSSL
#define EXPECT_WOLF(what, expr)                                                                    \
    do {                                                                                           \
        int wret_ = (expr);                                                                        \
        if (wret_ != 0) {                                                                          \
            fprintf(stderr, "mcsec-bench: check failed: %s: wolfSSL error %d (%s)\n", what, wret_, \
                    wolf_peer_strerror(wret_));                                                    \
            return -1;                                                                             \
        }                                                                                          \
    } while (0)

/* Says which precomputations wolfSSL's sender and receiver objects actually use. */
static void describe_precomp(char *out, size_t cap, int send, int recv) {
    const int tables = WOLF_SAKKE_PRE_POINT_I_TABLE | WOLF_SAKKE_PRE_RSK_TABLE;
    snprintf(out, cap, "encapsulate: %s%s; decapsulate: %s%s%s%s",
             send & WOLF_SAKKE_PRE_POINT_I ? "point I cached" : "none",
             send & WOLF_SAKKE_PRE_POINT_I_TABLE ? " + point-I table" : "",
             recv & WOLF_SAKKE_PRE_POINT_I ? "point I cached" : "none",
             recv & WOLF_SAKKE_PRE_POINT_I_TABLE ? " + point-I table" : "",
             recv & WOLF_SAKKE_PRE_RSK_TABLE ? " + RSK pairing table" : "",
             (send | recv) & tables ? ""
                                    : " (RSK and point-I tables have length 0 in this wolfSSL "
                                      "build: no SP 1024-bit code)");
}

/* The same keys as mcsec: wolfSSL's KMS imports mcsec's z, its clients mcsec's Z, KPAK and
 * the mcsec-issued ECCSI pair. Where both are deterministic, their outputs must agree. */
static int setup_wolf(bench_ctx_t *c) {
    uint8_t out[MCSEC_SAKKE_ENCAP_LEN], ssv[MCSEC_SAKKE_SSV_LEN];
    int valid = 0;

    EXPECT_WOLF("wolf_sakke_kms_import", wolf_sakke_kms_import(&c->w_kms, c->z));
    EXPECT_WOLF("wolf_sakke_Z", wolf_sakke_Z(c->w_kms, out));
    EXPECT("wolfSSL's Z = [z]P equals mcsec's", memcmp(out, c->Z, sizeof c->Z) == 0);
    EXPECT_WOLF("wolf_sakke_issue_rsk", wolf_sakke_issue_rsk(c->w_kms, c->id, sizeof c->id, out));
    EXPECT("wolfSSL's RSK equals mcsec's", memcmp(out, c->rsk, sizeof c->rsk) == 0);

    EXPECT_WOLF("wolf_sakke_public", wolf_sakke_public(&c->w_client, c->Z));
    EXPECT_WOLF("wolf_sakke_validate_rsk",
                wolf_sakke_validate_rsk(c->w_client, c->id, sizeof c->id, c->rsk, &valid));
    EXPECT("wolfSSL validates the RSK", valid == 1);

    EXPECT_WOLF("wolf_sakke_public", wolf_sakke_public(&c->w_sender, c->Z));
    EXPECT_WOLF("wolf_sakke_sender_precompute",
                wolf_sakke_sender_precompute(c->w_sender, c->id, sizeof c->id));
    EXPECT_WOLF("wolf_sakke_encapsulate",
                wolf_sakke_encapsulate(c->w_sender, c->id, sizeof c->id, c->ssv, out));
    EXPECT("wolfSSL's encapsulation equals mcsec's", memcmp(out, c->encap, sizeof out) == 0);

    EXPECT_WOLF("wolf_sakke_public", wolf_sakke_public(&c->w_receiver, c->Z));
    EXPECT_WOLF("wolf_sakke_set_receiver",
                wolf_sakke_set_receiver(c->w_receiver, c->id, sizeof c->id, c->rsk, 1));
    EXPECT_WOLF("wolf_sakke_decapsulate",
                wolf_sakke_decapsulate(c->w_receiver, c->encap, sizeof c->encap, ssv));
    EXPECT("wolfSSL decapsulates the SSV", memcmp(ssv, c->ssv, sizeof ssv) == 0);
    describe_precomp(c->w_precomp, sizeof c->w_precomp, wolf_sakke_precomputed(c->w_sender),
                     wolf_sakke_precomputed(c->w_receiver));

    EXPECT_WOLF("wolf_eccsi_public", wolf_eccsi_public(&c->w_signer, c->kpak));
    EXPECT_WOLF("wolf_eccsi_set_signer",
                wolf_eccsi_set_signer(c->w_signer, c->id, sizeof c->id, c->ssk, c->pvt));
    EXPECT_WOLF("wolf_eccsi_public", wolf_eccsi_public(&c->w_verifier, c->kpak));
    for (int i = 0; i < BENCH_NSIG; i++) {
        EXPECT_WOLF("wolf_eccsi_sign",
                    wolf_eccsi_sign(c->w_signer, c->msg, sizeof c->msg, c->w_sigs[i]));
        EXPECT_WOLF("wolf_eccsi_verify",
                    wolf_eccsi_verify(c->w_verifier, c->id, sizeof c->id, c->msg, sizeof c->msg,
                                      c->w_sigs[i], MCSEC_ECCSI_SIG_LEN, &valid));
        EXPECT("wolfSSL verifies its signature", valid == 1);
        EXPECT_OK("mcsec verifies wolfSSL's signature",
                  mcsec_eccsi_verify(c->verifier, c->id, sizeof c->id, c->msg, sizeof c->msg,
                                     c->w_sigs[i], MCSEC_ECCSI_SIG_LEN));
        EXPECT_WOLF("wolf_eccsi_verify",
                    wolf_eccsi_verify(c->w_verifier, c->id, sizeof c->id, c->msg, sizeof c->msg,
                                      c->sigs[i], MCSEC_ECCSI_SIG_LEN, &valid));
        EXPECT("wolfSSL verifies mcsec's signature", valid == 1);
    }
    return 0;
}
#endif

static void teardown(bench_ctx_t *c) {
    mcsec_sakke_sender_free(c->sender);
    mcsec_sakke_key_free(c->key);
    mcsec_eccsi_signer_free(c->signer);
    mcsec_eccsi_verifier_free(c->verifier);
    mcsec_eccsi_verifier_free(c->verifier_cold);
#ifdef MCSEC_BENCH_HAVE_WOLFSSL
    wolf_sakke_free(c->w_kms);
    wolf_sakke_free(c->w_sender);
    wolf_sakke_free(c->w_receiver);
    wolf_sakke_free(c->w_client);
    wolf_eccsi_free(c->w_signer);
    wolf_eccsi_free(c->w_verifier);
    wolf_peer_cleanup();
#endif
    mcsec_memzero(c, sizeof *c);
}

/* --- Output ----------------------------------------------------------------------------- */

typedef struct {
    double us[OP_COUNT];
    int have[OP_COUNT];
    double ratio[NRATIOS];
    int have_ratio[NRATIOS];
    int meets;
    int rounds;
    const char *wolf_version;
    const char *wolf_precomp;
} report_t;

static void print_json(const report_t *r) {
    char cpu[256];
    bench_cpu_model(cpu, sizeof cpu);
    printf("{\"unit\":\"us\",\"machine\":{\"cpu\":");
    bench_json_string(cpu);
    printf(",\"cores\":%d},\"rounds\":%d,\"wolfssl\":", bench_cores(), r->rounds);
    if (r->wolf_version != NULL) {
        printf("{\"version\":");
        bench_json_string(r->wolf_version);
        printf(",\"precomputation\":");
        bench_json_string(r->wolf_precomp);
        printf("}");
    } else {
        printf("null");
    }
    printf(",\"ops\":{");
    int first = 1;
    for (int i = 0; i < OP_COUNT; i++) {
        if (!r->have[i]) continue;
        printf("%s\"%s\":%.2f", first ? "" : ",", op_names[i], r->us[i]);
        first = 0;
    }
    printf("},\"ratios\":{");
    for (size_t i = 0; i < NRATIOS; i++) {
        printf("%s\"%s\":", i ? "," : "", ratio_defs[i].ratio);
        if (r->have_ratio[i])
            printf("%.4f", r->ratio[i]);
        else
            printf("null");
    }
    printf("},\"targets\":{");
    for (size_t i = 0; i < NRATIOS; i++)
        printf("%s\"%s\":%.2f", i ? "," : "", ratio_defs[i].target, ratio_defs[i].limit);
    printf("},\"meets_targets\":%s}\n", r->meets ? "true" : "false");
}

static void print_table(const report_t *r) {
    char cpu[256];
    bench_cpu_model(cpu, sizeof cpu);
    printf("mcsec-bench crypto: microseconds per operation, median of %d rounds\n", r->rounds);
    printf("machine: %s, %d cores\n", cpu, bench_cores());
    if (r->wolf_version != NULL)
        printf("wolfSSL %s, precomputation: %s\n", r->wolf_version, r->wolf_precomp);
    else
        printf("wolfSSL: not built in (no ratios)\n");
    printf("\n%-22s %12s %12s %8s %8s\n", "operation", "mcsec us", "wolfssl us", "ratio", "target");
    for (size_t i = 0; i < sizeof table_rows / sizeof table_rows[0]; i++) {
        int op = table_rows[i].op, w = table_rows[i].wolf_op;
        printf("%-22s %12.1f", op_names[op], r->us[op]);
        if (w >= 0 && r->have[w])
            printf(" %12.1f %8.3f", r->us[w], r->us[op] / r->us[w]);
        else
            printf(" %12s %8s", "-", "-");
        const char *mark = "";
        double limit = 0;
        for (size_t k = 0; k < NRATIOS; k++)
            if (ratio_defs[k].mcsec_op == op) {
                limit = ratio_defs[k].limit;
                mark = !r->have_ratio[k] ? "" : r->ratio[k] <= limit ? "  ok" : "  MISSED";
            }
        if (limit > 0)
            printf(" %8.2f%s\n", limit, mark);
        else
            printf(" %8s\n", "-");
    }
    printf("\nmeets targets: %s\n", r->meets                  ? "yes"
                                    : r->wolf_version == NULL ? "unknown (no wolfSSL)"
                                                              : "no");
}

int bench_cmd_crypto(int argc, char **argv) {
    int json = 0, rounds = 7;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0) {
            json = 1;
        } else if (strcmp(argv[i], "--rounds") == 0 && i + 1 < argc) {
            char *end;
            long n = strtol(argv[++i], &end, 10);
            if (*end != 0 || n < 1 || n > BENCH_MAX_ROUNDS) {
                fprintf(stderr, "mcsec-bench crypto: --rounds takes 1..%d\n", BENCH_MAX_ROUNDS);
                return 2;
            }
            rounds = (int)n;
        } else {
            fprintf(stderr, "usage: mcsec-bench crypto [--json] [--rounds N]\n");
            return 2;
        }
    }

    static bench_ctx_t ctx; /* large: keep it off the stack */
    bench_ctx_t *c = &ctx;
    report_t rep;
    memset(&rep, 0, sizeof rep);
    rep.rounds = rounds;
    int status = 1;

    if (setup_mcsec(c) != 0) goto out;
#ifdef MCSEC_BENCH_HAVE_WOLFSSL
    if (setup_wolf(c) != 0) goto out;
    rep.wolf_version = wolf_peer_version();
    rep.wolf_precomp = c->w_precomp;
    const int nops = OP_COUNT;
#else
    const int nops = OP_W_ENCAP;
#endif
    for (int i = 0; i < nops; i++) {
        if (!json && isatty(STDERR_FILENO)) fprintf(stderr, "  timing %s...\n", op_names[i]);
        if (measure(op_fns[i], c, rounds, &rep.us[i]) != 0) {
            fprintf(stderr, "mcsec-bench: %s failed while being timed\n", op_names[i]);
            goto out;
        }
        rep.have[i] = 1;
    }
    rep.meets = rep.wolf_version != NULL;
    for (size_t k = 0; k < NRATIOS; k++) {
        int m = ratio_defs[k].mcsec_op, w = ratio_defs[k].wolf_op;
        if (!rep.have[m] || !rep.have[w] || rep.us[w] <= 0) {
            rep.meets = 0;
            continue;
        }
        rep.ratio[k] = rep.us[m] / rep.us[w];
        rep.have_ratio[k] = 1;
        if (!(rep.ratio[k] <= ratio_defs[k].limit)) rep.meets = 0;
    }
    if (json)
        print_json(&rep);
    else
        print_table(&rep);
    status = 0;
out:
    teardown(c);
    return status;
}

/* For `mcsec-bench mikey`: the primitives its messages are made of, set up and checked as
 * above, for the caller to time alongside its own operations. */
static bench_ctx_t prim_ctx;
static op_call_t prim_calls[BENCH_PRIMITIVES];

int bench_crypto_primitives_begin(bench_op_t ops[BENCH_PRIMITIVES]) {
    static const int which[BENCH_PRIMITIVES] = {OP_ENCAP, OP_DECAP, OP_SIGN, OP_VERIFY_COLD};
    if (setup_mcsec(&prim_ctx) != 0) return -1;
    for (int i = 0; i < BENCH_PRIMITIVES; i++) {
        prim_calls[i] = (op_call_t){op_fns[which[i]], &prim_ctx};
        ops[i] = (bench_op_t){op_names[which[i]], op_call, &prim_calls[i]};
    }
    return 0;
}

void bench_crypto_primitives_end(void) {
    teardown(&prim_ctx);
}
