/* Internal to libmcsec_proto: the profile receiver and the helpers the GMK and GSK profiles
 * share (profile_rx.c). */
#ifndef MCSEC_PROTO_INTERNAL_H
#define MCSEC_PROTO_INTERNAL_H

#include <pthread.h>
#include <stdint.h>

#include "mcsec/profile.h"

struct mcsec_profile_receiver {
    mcsec_kms_params_t kms;
    char our_uri[MCSEC_PROFILE_URI_MAX];
    char signer_uri[MCSEC_PROFILE_URI_MAX]; /* "" : any signer */
    mcsec_eccsi_verifier_t *verifier;
    mcsec_replay_t *replay;
    pthread_rwlock_t lock; /* guards keys[] */
    struct {
        int used;
        uint64_t period_no;
        uint8_t uid[MCSEC_UID_LEN];
        mcsec_sakke_key_t *key;
    } keys[MCSEC_PROFILE_MAX_PERIODS];
    mcsec_keyset_fetch_fn fetch;
    void *fetch_user;
    mcsec_clock_fn clock;
    void *clock_user;
    uint64_t window;
};

/* Constant-time validation hook of libmcsec_crypto (crypto/internal.h, tests/ct): p is public
 * by design although computed from secrets. */
void mcsec_ct_declassify(const void *p, size_t len);

/* The deployed default SRTP policy (WIRE.md 3): type, value pairs, one octet each. */
extern const uint8_t mcsec_prof_sp_default[9][2];

uint64_t mcsec_prof_now(const mcsec_profile_receiver_t *rx);

/* UID format 2 of uri under the receiver's KMS for period_no. */
mcsec_status_t mcsec_prof_uid(const mcsec_kms_params_t *kms, const char *uri, uint64_t period_no,
                              uint8_t uid[MCSEC_UID_LEN]);

/* SP payload against the profile's policy: MCSEC_ERR_POLICY (why set) or MCSEC_OK. */
mcsec_status_t mcsec_prof_sp_check(const mcsec_mikey_sp_t *sp, const char **why);

/* Appends the default SP (policy 0, SRTP). */
mcsec_status_t mcsec_prof_build_sp(mcsec_mikey_builder_t *b);

/* Verifies m's SIGN (ECCSI) by identity uid: signed_data first, then signed_data_alt.
 * MCSEC_OK or MCSEC_ERR_VERIFY (*sig_status: the verifier's status), or NOMEM/INTERNAL/
 * SELFTEST passed through. */
mcsec_status_t mcsec_prof_verify(mcsec_profile_receiver_t *rx, const mcsec_mikey_msg_t *m,
                                 mcsec_mikey_span_t uid, mcsec_sig_coverage_t *coverage,
                                 mcsec_status_t *sig_status);

/* Signs b's message (sign_begin .. sign_finish) with ECCSI. */
mcsec_status_t mcsec_prof_sign(mcsec_mikey_builder_t *b, const mcsec_eccsi_signer_t *signer);

/* Freshness of T: 1 if |now - T.seconds| <= window. */
int mcsec_prof_fresh(const mcsec_profile_receiver_t *rx, uint64_t t, uint64_t now);

/* Decapsulates SAKKE data with our key for period_no (fetched on a miss).
 * MCSEC_ERR_KEY_PERIOD if there is none. */
mcsec_status_t mcsec_prof_decapsulate(mcsec_profile_receiver_t *rx, uint64_t period_no,
                                      const uint8_t *data, size_t len,
                                      uint8_t ssv[MCSEC_SAKKE_SSV_LEN]);
/* 1 if a key set for period_no is present (fetching it on a miss). */
int mcsec_prof_have_period(mcsec_profile_receiver_t *rx, uint64_t period_no);

/* AES-128-CTR with a 16-octet initial counter block. */
mcsec_status_t mcsec_prof_aes_ctr(const uint8_t key[16], const uint8_t iv[16], const uint8_t *in,
                                  uint8_t *out, size_t len);

/* Big-endian loads and stores. */
static inline uint32_t mcsec_prof_be32(const uint8_t *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static inline uint64_t mcsec_prof_be64(const uint8_t *p) {
    return (uint64_t)mcsec_prof_be32(p) << 32 | mcsec_prof_be32(p + 4);
}
static inline void mcsec_prof_put32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16), p[2] = (uint8_t)(v >> 8), p[3] = (uint8_t)v;
}
static inline void mcsec_prof_put64(uint8_t *p, uint64_t v) {
    mcsec_prof_put32(p, (uint32_t)(v >> 32));
    mcsec_prof_put32(p + 4, (uint32_t)v);
}

/* Sets res->check / res->why and returns st. */
/* The shape both profiles share: a data type, PRF-HMAC-SHA-256, exactly the payload sequence
 * seq[0..n) after HDR (IDR payloads carrying roles[] in order), T as 64-bit NTP-UTC, and one
 * GENERIC-ID crypto session (returned in cs). */
typedef struct {
    uint8_t data_type;
    const char *not_this_type; /* the reason when the data type differs */
    const uint8_t *seq;
    size_t n;
    const uint8_t *roles;
} mcsec_prof_shape_t;

/* Parses msg and checks its shape. On failure *stage is MCSEC_CHECK_PARSE (the codec's status
 * passes through) or MCSEC_CHECK_STRUCTURE, and *why says what was wrong. */
mcsec_status_t mcsec_prof_parse_shape(const uint8_t *msg, size_t len, const mcsec_prof_shape_t *shape,
                                      mcsec_mikey_msg_t *m, mcsec_mikey_cs_t *cs,
                                      mcsec_profile_check_t *stage, const char **why);

#define MCSEC_PROF_FAIL(res, chk, st, msg) ((res)->check = (chk), (res)->why = (msg), (st))

#endif
