/* SRTP packet rates of the call media path, mcsec against raw libsrtp (bench_call.h).
 *
 * What one call of each operation does, for a payload of `size` octets:
 *   srtp_protect   mcsec_rtp_build (header + payload copy, the next sequence number) and
 *                  mcsec_srtp_protect, as the call path sends;
 *   raw_protect    the same header and payload copy by hand, then srtp_protect;
 *   srtp_unprotect copy of the next packet of a pre-protected pool into the work buffer,
 *                  mcsec_srtp_unprotect and mcsec_rtp_parse, as the call path receives;
 *   raw_unprotect  the same copy, then srtp_unprotect.
 * Unprotect needs packets the replay window has not seen: a pool of pre-protected packets
 * with increasing sequence numbers (about POOL_BYTES of them, at most POOL_MAX), which each
 * receiver (mcsec, raw) goes through once; the unprotect timers are bounded to the pool
 * (bench_timer_t max_calls), so their batches are shorter than the protect ones. Recreating
 * the receiving stream instead is no option: with Debian's libsrtp2 (NSS) a stream costs
 * about 2 ms to create. All four share the key; their rounds are interleaved. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <srtp2/srtp.h>

#include "bench.h"
#include "bench_call.h"
#include "mcsec/media.h"

#define POOL_BYTES (32u << 20)
#define POOL_MAX 262144
#define BUF (MCSEC_RTP_MAX_PACKET + MCSEC_SRTP_MAX_OVERHEAD)
#define SSRC 0x4d435345u
#define OPS 4

static const uint8_t KEY[16] = {0x5a, 0x01, 0x9c, 0x44, 0x2e, 0x7b, 0xd3, 0x68,
                                0x11, 0xf0, 0x83, 0x2a, 0xcc, 0x35, 0x9e, 0x47};
static const uint8_t SALT[14] = {0x6b, 0x21, 0x08, 0xe4, 0x3d, 0x90, 0x57,
                                 0xa2, 0x1c, 0x6e, 0xf9, 0x04, 0xb8, 0x73};

typedef struct {
    mcsec_srtp_suite_t suite;
    size_t size;
    mcsec_srtp_t *tx, *rx;
    srtp_t raw_tx, raw_rx;
    uint16_t seq_mcsec, seq_raw;
    size_t next_mcsec, next_raw;
    uint8_t payload[MCSEC_RTP_MAX_PACKET];
    uint8_t work[BUF];
    uint8_t *pool;   /* pool_n packets of pool_len octets */
    size_t pool_len; /* all pool packets have the same length */
    size_t pool_n;
} media_ctx_t;

static srtp_t raw_session(mcsec_srtp_suite_t suite, srtp_ssrc_type_t type) {
    srtp_policy_t p;
    memset(&p, 0, sizeof p);
    uint8_t ks[30];
    memcpy(ks, KEY, 16);
    memcpy(ks + 16, SALT, 14);
    if (suite == MCSEC_SRTP_AEAD_AES_128_GCM) {
        srtp_crypto_policy_set_aes_gcm_128_16_auth(&p.rtp);
        srtp_crypto_policy_set_aes_gcm_128_16_auth(&p.rtcp);
    } else {
        srtp_crypto_policy_set_rtp_default(&p.rtp);
        srtp_crypto_policy_set_rtcp_default(&p.rtcp);
    }
    p.ssrc.type = type;
    p.ssrc.value = SSRC;
    p.key = ks;
    p.window_size = 128;
    srtp_t s = NULL;
    if (srtp_create(&s, &p) != srtp_err_status_ok) s = NULL;
    return s;
}

static int mcsec_protect_once(void *arg) {
    media_ctx_t *c = arg;
    mcsec_rtp_header_t h = {
        MCSEC_RTP_PT_PCMU, 0, c->seq_mcsec, 160u * c->seq_mcsec, SSRC, NULL, 0, 0};
    size_t n = 0, out = 0;
    c->seq_mcsec++;
    if (mcsec_rtp_build(&h, c->payload, c->size, c->work, sizeof c->work, &n) != MCSEC_OK ||
        mcsec_srtp_protect(c->tx, c->work, n, sizeof c->work, &out) != MCSEC_OK)
        return -1;
    return 0;
}

/* The packet mcsec_rtp_build would make, written by hand into c->work; its length. */
static int raw_packet(media_ctx_t *c, uint16_t seq) {
    uint8_t *p = c->work;
    uint32_t ts = 160u * seq;
    p[0] = 0x80, p[1] = MCSEC_RTP_PT_PCMU, p[2] = (uint8_t)(seq >> 8), p[3] = (uint8_t)seq;
    p[4] = (uint8_t)(ts >> 24), p[5] = (uint8_t)(ts >> 16), p[6] = (uint8_t)(ts >> 8),
    p[7] = (uint8_t)ts;
    p[8] = SSRC >> 24, p[9] = (SSRC >> 16) & 0xff, p[10] = (SSRC >> 8) & 0xff, p[11] = SSRC & 0xff;
    memcpy(p + 12, c->payload, c->size);
    return (int)(12 + c->size);
}

static int raw_protect_once(void *arg) {
    media_ctx_t *c = arg;
    int len = raw_packet(c, c->seq_raw++);
    return srtp_protect(c->raw_tx, c->work, &len) == srtp_err_status_ok ? 0 : -1;
}

static int mcsec_unprotect_once(void *arg) {
    media_ctx_t *c = arg;
    if (c->next_mcsec == c->pool_n) return -1; /* max_calls prevents this */
    memcpy(c->work, c->pool + c->pool_len * c->next_mcsec++, c->pool_len);
    size_t n = 0;
    mcsec_rtp_header_t h;
    if (mcsec_srtp_unprotect(c->rx, c->work, c->pool_len, &n) != MCSEC_OK ||
        mcsec_rtp_parse(c->work, n, &h) != MCSEC_OK || h.payload_len != c->size)
        return -1;
    return 0;
}

static int raw_unprotect_once(void *arg) {
    media_ctx_t *c = arg;
    if (c->next_raw == c->pool_n) return -1;
    memcpy(c->work, c->pool + c->pool_len * c->next_raw++, c->pool_len);
    int len = (int)c->pool_len;
    return srtp_unprotect(c->raw_rx, c->work, &len) == srtp_err_status_ok ? 0 : -1;
}

/* Streams, and the pool protected by a sender of its own. */
static int ctx_init(media_ctx_t *c, mcsec_srtp_suite_t suite, size_t size) {
    memset(c, 0, sizeof *c);
    c->suite = suite;
    c->size = size;
    for (size_t i = 0; i < size; i++)
        c->payload[i] = (uint8_t)(i * 13 + 7);
    c->pool_len = 12 + size + (suite == MCSEC_SRTP_AEAD_AES_128_GCM ? 16 : 10);
    c->pool_n = POOL_BYTES / c->pool_len < POOL_MAX ? POOL_BYTES / c->pool_len : POOL_MAX;
    if (mcsec_srtp_new(&c->tx, suite, KEY, SALT, 1, SSRC) != MCSEC_OK ||
        mcsec_srtp_new(&c->rx, suite, KEY, SALT, 0, SSRC) != MCSEC_OK ||
        (c->raw_tx = raw_session(suite, ssrc_specific)) == NULL ||
        (c->raw_rx = raw_session(suite, ssrc_specific)) == NULL ||
        (c->pool = malloc(c->pool_n * c->pool_len)) == NULL)
        return -1;
    srtp_t pool_tx = raw_session(suite, ssrc_specific);
    if (pool_tx == NULL) return -1;
    int rc = 0;
    for (size_t i = 0; i < c->pool_n && rc == 0; i++) {
        int len = raw_packet(c, (uint16_t)i); /* wraps: the ROC moves on, in order */
        rc =
            srtp_protect(pool_tx, c->work, &len) == srtp_err_status_ok && (size_t)len == c->pool_len
                ? 0
                : -1;
        memcpy(c->pool + c->pool_len * i, c->work, c->pool_len);
    }
    srtp_dealloc(pool_tx);
    return rc;
}

static void ctx_free(media_ctx_t *c) {
    mcsec_srtp_free(c->tx);
    mcsec_srtp_free(c->rx);
    if (c->raw_tx != NULL) srtp_dealloc(c->raw_tx);
    if (c->raw_rx != NULL) srtp_dealloc(c->raw_rx);
    free(c->pool);
}

static void print_field(int *first, const char *name, size_t size, const char *suite, int decimals,
                        double v) {
    printf("%s\"%s_%zu_%s\":%.*f", *first ? "" : ",", name, size, suite, decimals, v);
    *first = 0;
}

static int run_case(mcsec_srtp_suite_t suite, size_t size, int rounds, int *first) {
    media_ctx_t *c = malloc(sizeof *c);
    if (c == NULL) return -1;
    int rc = -1;
    bench_fn fns[OPS] = {mcsec_protect_once, raw_protect_once, mcsec_unprotect_once,
                         raw_unprotect_once};
    bench_timer_t t[OPS];
    if (ctx_init(c, suite, size) != 0) {
        fprintf(stderr, "mcsec-bench call: cannot set up SRTP streams for %s: %s\n",
                mcsec_srtp_suite_name(suite), mcsec_srtp_last_error());
        goto out;
    }
    for (int i = 0; i < OPS; i++) {
        bench_timer_init(&t[i], fns[i], c, i < 2 ? 0 : (long)c->pool_n);
        if (bench_calibrate(&t[i], rounds) != 0) goto failed;
    }
    /* mcsec first in even rounds, raw first in odd ones: no side always follows the other. */
    for (int r = 0; r < rounds; r++)
        for (int i = 0; i < OPS; i++)
            if (bench_round(&t[i ^ (r & 1)]) != 0) goto failed;
    const char *sn = suite == MCSEC_SRTP_AEAD_AES_128_GCM ? "gcm" : "aes_cm";
    double pps[OPS];
    for (int i = 0; i < OPS; i++)
        pps[i] = 1e6 / bench_median_us(&t[i]);
    print_field(first, "srtp_protect_pps", size, sn, 0, pps[0]);
    print_field(first, "raw_protect_pps", size, sn, 0, pps[1]);
    print_field(first, "protect_ratio", size, sn, 4, pps[0] / pps[1]);
    print_field(first, "srtp_unprotect_pps", size, sn, 0, pps[2]);
    print_field(first, "raw_unprotect_pps", size, sn, 0, pps[3]);
    print_field(first, "unprotect_ratio", size, sn, 4, pps[2] / pps[3]);
    rc = 0;
    goto out;
failed:
    fprintf(stderr, "mcsec-bench call: an SRTP call failed while timing %s (%s); a bug\n",
            mcsec_srtp_suite_name(suite), mcsec_srtp_last_error());
out:
    ctx_free(c);
    free(c);
    return rc;
}

int bench_call_media(int rounds, int first_json_field) {
    static const size_t sizes[2] = {160, 1200};
    static const mcsec_srtp_suite_t suites[2] = {MCSEC_SRTP_AEAD_AES_128_GCM,
                                                 MCSEC_SRTP_AES_CM_128_HMAC_SHA1_80};
    int first = first_json_field;
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 2; j++)
            if (run_case(suites[j], sizes[i], rounds, &first) != 0) return -1;
    return 0;
}
