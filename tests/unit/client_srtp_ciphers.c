/* mcsec's OpenSSL ciphers inside libsrtp (client/media_ciphers.c) against libsrtp's own.
 *
 * Raw libsrtp sessions are made BEFORE mcsec registers its ciphers, so they keep the cipher
 * objects of the library as built (NSS on Debian); mcsec streams made afterwards use mcsec's.
 * Packets then cross both ways, for both suites, RTP and RTCP, and a session of each kind
 * refuses the other's tampered packets. */
#include <srtp2/srtp.h>

#include "mcsec/media.h"
#include "test.h"

#define SSRC 0x1234abcdu
#define N_PKT 40

static const uint8_t key[16] = {0xe1, 0xf9, 0x7a, 0x0d, 0x3e, 0x01, 0x8b, 0xe0,
                                0xd6, 0x4f, 0xa3, 0x2c, 0x06, 0xde, 0x41, 0x39};
static const uint8_t salt[14] = {0x0e, 0xc6, 0x75, 0xad, 0x49, 0x8a, 0xfe,
                                 0xeb, 0xb6, 0x96, 0x0b, 0x3a, 0xab, 0xe6};

static srtp_t raw_session(mcsec_srtp_suite_t suite, int outbound) {
    uint8_t ks[30];
    srtp_policy_t p;
    srtp_t s = NULL;
    memset(&p, 0, sizeof p);
    memcpy(ks, key, 16);
    memcpy(ks + 16, salt, mcsec_srtp_salt_len(suite));
    if (suite == MCSEC_SRTP_AEAD_AES_128_GCM) {
        srtp_crypto_policy_set_aes_gcm_128_16_auth(&p.rtp);
        srtp_crypto_policy_set_aes_gcm_128_16_auth(&p.rtcp);
    } else {
        srtp_crypto_policy_set_rtp_default(&p.rtp);
        srtp_crypto_policy_set_rtcp_default(&p.rtcp);
    }
    p.ssrc.type = outbound ? ssrc_any_outbound : ssrc_any_inbound;
    p.key = ks;
    p.window_size = 128;
    CHECK(srtp_create(&s, &p) == srtp_err_status_ok);
    return s;
}

/* An RTP packet: 12-octet header, payload of len octets from seq. */
static size_t rtp(uint8_t *b, uint16_t seq, size_t len) {
    b[0] = 0x80;
    b[1] = 0;
    b[2] = (uint8_t)(seq >> 8);
    b[3] = (uint8_t)seq;
    b[4] = b[5] = b[6] = 0;
    b[7] = (uint8_t)seq;
    b[8] = (uint8_t)(SSRC >> 24);
    b[9] = (uint8_t)(SSRC >> 16);
    b[10] = (uint8_t)(SSRC >> 8);
    b[11] = (uint8_t)SSRC;
    for (size_t i = 0; i < len; i++) b[12 + i] = (uint8_t)(seq * 7 + i);
    return 12 + len;
}

/* An RTCP receiver report with no blocks, sender SSRC. */
static size_t rtcp(uint8_t *b) {
    static const uint8_t rr[8] = {0x80, 201, 0, 1, (uint8_t)(SSRC >> 24), (uint8_t)(SSRC >> 16),
                                  (uint8_t)(SSRC >> 8), (uint8_t)SSRC};
    memcpy(b, rr, sizeof rr);
    return sizeof rr;
}

static void cross(mcsec_srtp_suite_t suite, srtp_t raw_tx, srtp_t raw_rx) {
    mcsec_srtp_t *tx = NULL, *rx = NULL;
    CHECK_STATUS(mcsec_srtp_new(&tx, suite, key, salt, 1, SSRC), MCSEC_OK);
    CHECK_STATUS(mcsec_srtp_new(&rx, suite, key, salt, 0, SSRC), MCSEC_OK);
    if (tx == NULL || rx == NULL) goto out;
    uint8_t a[1600], b[1600];
    for (uint16_t seq = 1; seq <= N_PKT; seq++) {
        size_t plen = seq % 2 ? 160 : 1200, n = rtp(a, seq, plen), out = 0;
        int len = (int)n;
        /* libsrtp's ciphers -> mcsec's */
        memcpy(b, a, n);
        CHECK(srtp_protect(raw_tx, b, &len) == srtp_err_status_ok);
        CHECK_STATUS(mcsec_srtp_unprotect(rx, b, (size_t)len, &out), MCSEC_OK);
        CHECK(out == n && memcmp(a, b, n) == 0);
        /* mcsec's -> libsrtp's */
        memcpy(b, a, n);
        CHECK_STATUS(mcsec_srtp_protect(tx, b, n, sizeof b, &out), MCSEC_OK);
        len = (int)out;
        CHECK(srtp_unprotect(raw_rx, b, &len) == srtp_err_status_ok);
        CHECK((size_t)len == n && memcmp(a, b, n) == 0);
    }
    /* A flipped payload octet: each side refuses the other's packet. */
    size_t n = rtp(a, N_PKT + 1, 160), out = 0;
    int len = (int)n;
    CHECK(srtp_protect(raw_tx, a, &len) == srtp_err_status_ok);
    a[20] ^= 1;
    CHECK_STATUS(mcsec_srtp_unprotect(rx, a, (size_t)len, &out), MCSEC_ERR_VERIFY);
    n = rtp(a, N_PKT + 2, 160);
    CHECK_STATUS(mcsec_srtp_protect(tx, a, n, sizeof a, &out), MCSEC_OK);
    a[20] ^= 1;
    len = (int)out;
    CHECK(srtp_unprotect(raw_rx, a, &len) == srtp_err_status_auth_fail);
    /* SRTCP both ways. */
    n = rtcp(a);
    memcpy(b, a, n);
    len = (int)n;
    CHECK(srtp_protect_rtcp(raw_tx, b, &len) == srtp_err_status_ok);
    CHECK_STATUS(mcsec_srtp_unprotect_rtcp(rx, b, (size_t)len, &out), MCSEC_OK);
    CHECK(out == n && memcmp(a, b, n) == 0);
    memcpy(b, a, n);
    CHECK_STATUS(mcsec_srtp_protect_rtcp(tx, b, n, sizeof b, &out), MCSEC_OK);
    len = (int)out;
    CHECK(srtp_unprotect_rtcp(raw_rx, b, &len) == srtp_err_status_ok);
    CHECK((size_t)len == n && memcmp(a, b, n) == 0);
out:
    mcsec_srtp_free(tx);
    mcsec_srtp_free(rx);
}

int main(void) {
    CHECK(srtp_init() == srtp_err_status_ok);
    srtp_t raw[2][2];
    for (int s = 0; s < 2; s++)
        for (int o = 0; o < 2; o++) raw[s][o] = raw_session((mcsec_srtp_suite_t)s, o);
    /* From here on, new sessions use mcsec's ciphers (the first mcsec_srtp_new registers). */
    for (int s = 0; s < 2; s++) {
        if (raw[s][0] != NULL && raw[s][1] != NULL)
            cross((mcsec_srtp_suite_t)s, raw[s][1], raw[s][0]);
        srtp_dealloc(raw[s][0]);
        srtp_dealloc(raw[s][1]);
    }
    return test_summary();
}
