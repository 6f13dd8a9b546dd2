/* The media path of group calls (include/mcsec/media.h):
 *  - SRTP keys from a GSK against tests/vectors/mikey_kdf.txt (by value, below);
 *  - SRTP byte for byte against an independent construction over OpenSSL (RFC 3711 4.1 and
 *    4.2 for AES-CM/HMAC-SHA1-80, RFC 7714 8.1 for AEAD_AES_128_GCM, session keys by the
 *    RFC 3711 4.3 KDF), and both ways against raw libsrtp set up here, for both suites;
 *  - every refusal with its exact status (tampered, replayed, other SSRC, truncated, version,
 *    room, direction) and SRTCP round trips and refusals;
 *  - RTP parse edge cases, mu-law properties, the tone, WAV round trip and refusals, pcap
 *    records read back and checked (and tshark, if installed).
 * No RFC 7714 / RFC 3711 packet known answers: their published vectors start from session
 * keys, which libsrtp does not take, and libsrtp runs its own cipher KATs in srtp_init. */
#define _GNU_SOURCE
#include <errno.h>
#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <srtp2/srtp.h>

#include "internal_media.h"
#include "mcsec/kdf.h"
#include "mcsec/media.h"
#include "mcsec/secmem.h"
#include "test.h"

#define BUF (MCSEC_RTP_MAX_PACKET + MCSEC_SRTP_MAX_OVERHEAD)
#define SSRC_A 0x11223344u
#define SSRC_B 0x55667788u

static const mcsec_srtp_suite_t SUITES[2] = {MCSEC_SRTP_AEAD_AES_128_GCM,
                                             MCSEC_SRTP_AES_CM_128_HMAC_SHA1_80};
static const uint8_t KEY[16] = {0x3c, 0x1d, 0xd1, 0x0e, 0x72, 0x5f, 0x6a, 0x8b,
                                0x90, 0x11, 0xa2, 0x33, 0xc4, 0x55, 0xe6, 0x77};
static const uint8_t SALT[14] = {0x0e, 0xc6, 0x75, 0xad, 0x49, 0x8a, 0xfe,
                                 0xeb, 0xb6, 0x96, 0x0b, 0x3a, 0xab, 0xe6};

static size_t tag_of(mcsec_srtp_suite_t s) {
    return s == MCSEC_SRTP_AEAD_AES_128_GCM ? 16 : 10;
}

static mcsec_srtp_t *stream(mcsec_srtp_suite_t suite, int outbound, uint32_t ssrc) {
    mcsec_srtp_t *s = NULL;
    CHECK_STATUS(mcsec_srtp_new(&s, suite, KEY, SALT, outbound, ssrc), MCSEC_OK);
    if (s == NULL) exit(1);
    return s;
}

/* A PCMU packet of payload_len octets (a pattern depending on seq). */
static size_t packet(uint8_t *buf, uint16_t seq, uint32_t ssrc, size_t payload_len) {
    uint8_t payload[MCSEC_RTP_MAX_PACKET];
    for (size_t i = 0; i < payload_len; i++)
        payload[i] = (uint8_t)(seq * 7 + i);
    mcsec_rtp_header_t h = {MCSEC_RTP_PT_PCMU, 0, seq, 160u * seq, ssrc, NULL, 0, 0};
    size_t n = 0;
    CHECK_STATUS(mcsec_rtp_build(&h, payload, payload_len, buf, BUF, &n), MCSEC_OK);
    return n;
}

static size_t protect(mcsec_srtp_t *tx, uint8_t *buf, uint16_t seq, size_t payload_len) {
    size_t n = packet(buf, seq, mcsec_srtp_ssrc(tx), payload_len), out = 0;
    CHECK_STATUS(mcsec_srtp_protect(tx, buf, n, BUF, &out), MCSEC_OK);
    return out;
}

/* --- Keys ------------------------------------------------------------------------------------ */

static void test_keys(void) {
    /* tests/vectors/mikey_kdf.txt: inkey (the GSK), RAND, and the TEK and SALT rows with
     * cs_id 4, csb_id 0633F457. */
    static const uint8_t gsk[16] = {0xA2, 0x7B, 0x7D, 0x57, 0x8E, 0xEB, 0x9B, 0x1E,
                                    0xE7, 0x70, 0x5E, 0x38, 0x59, 0x96, 0xD3, 0x00};
    static const uint8_t rnd[16] = {0x43, 0x39, 0xF6, 0x2F, 0x55, 0xAA, 0xC8, 0x63,
                                    0x48, 0x84, 0x6A, 0x48, 0x2C, 0x89, 0x38, 0x02};
    static const uint8_t tek[16] = {0x59, 0xaa, 0xa4, 0x9e, 0xbb, 0x54, 0x81, 0x36,
                                    0x02, 0xb7, 0xcc, 0x16, 0x59, 0x61, 0xb4, 0xe8};
    static const uint8_t salt12[12] = {0x74, 0x5e, 0xb4, 0xdf, 0x7d, 0x15,
                                       0x5c, 0x47, 0x31, 0x14, 0xa7, 0x99};
    uint8_t key[16], salt[14], key2[16], salt2[14];
    memset(salt, 0xee, sizeof salt);
    CHECK_STATUS(
        mcsec_srtp_keys(gsk, 4, 0x0633F457u, rnd, 16, MCSEC_SRTP_AEAD_AES_128_GCM, key, salt),
        MCSEC_OK);
    CHECK_MEM(key, tek, 16);
    CHECK_MEM(salt, salt12, 12);
    CHECK(salt[12] == 0xee && salt[13] == 0xee); /* 12 octets written, no more */
    /* The PRF output is a truncation of one HMAC-SHA-256 block (32 octets) for both lengths,
     * so the 14-octet salt extends the 12-octet vector. */
    CHECK_STATUS(mcsec_srtp_keys(gsk, 4, 0x0633F457u, rnd, 16, MCSEC_SRTP_AES_CM_128_HMAC_SHA1_80,
                                 key2, salt2),
                 MCSEC_OK);
    CHECK_MEM(key2, tek, 16);
    CHECK_MEM(salt2, salt12, 12);
    /* Another GSK ID gives other keys. */
    CHECK_STATUS(
        mcsec_srtp_keys(gsk, 4, 0x0633F458u, rnd, 16, MCSEC_SRTP_AEAD_AES_128_GCM, key2, salt2),
        MCSEC_OK);
    CHECK(memcmp(key2, tek, 16) != 0);

    CHECK_STATUS(mcsec_srtp_keys(NULL, 4, 1, rnd, 16, MCSEC_SRTP_AEAD_AES_128_GCM, key, salt),
                 MCSEC_ERR_BAD_INPUT);
    CHECK_STATUS(mcsec_srtp_keys(gsk, 4, 1, NULL, 16, MCSEC_SRTP_AEAD_AES_128_GCM, key, salt),
                 MCSEC_ERR_BAD_INPUT);
    CHECK_STATUS(mcsec_srtp_keys(gsk, 4, 1, rnd, 15, MCSEC_SRTP_AEAD_AES_128_GCM, key, salt),
                 MCSEC_ERR_BAD_INPUT);
    CHECK_STATUS(mcsec_srtp_keys(gsk, 4, 1, rnd, 16, (mcsec_srtp_suite_t)7, key, salt),
                 MCSEC_ERR_BAD_INPUT);
    CHECK_STATUS(mcsec_srtp_keys(gsk, 4, 1, rnd, 16, MCSEC_SRTP_AEAD_AES_128_GCM, NULL, salt),
                 MCSEC_ERR_BAD_INPUT);

    mcsec_srtp_suite_t s;
    CHECK(mcsec_srtp_suite_parse("gcm", &s) && s == MCSEC_SRTP_AEAD_AES_128_GCM);
    CHECK(mcsec_srtp_suite_parse("AEAD_AES_128_GCM", &s) && s == MCSEC_SRTP_AEAD_AES_128_GCM);
    CHECK(mcsec_srtp_suite_parse("aes-cm", &s) && s == MCSEC_SRTP_AES_CM_128_HMAC_SHA1_80);
    CHECK(mcsec_srtp_suite_parse("AES_CM_128_HMAC_SHA1_80", &s) &&
          s == MCSEC_SRTP_AES_CM_128_HMAC_SHA1_80);
    CHECK(!mcsec_srtp_suite_parse("AES_CM_128_HMAC_SHA1_32", &s));
    CHECK(!mcsec_srtp_suite_parse(NULL, &s));
    CHECK(strcmp(mcsec_srtp_suite_name(MCSEC_SRTP_AEAD_AES_128_GCM), "AEAD_AES_128_GCM") == 0);
    CHECK(strcmp(mcsec_srtp_suite_name(MCSEC_SRTP_AES_CM_128_HMAC_SHA1_80),
                 "AES_CM_128_HMAC_SHA1_80") == 0);
    CHECK(mcsec_srtp_suite_name((mcsec_srtp_suite_t)9) != NULL);
    CHECK(mcsec_srtp_salt_len(MCSEC_SRTP_AEAD_AES_128_GCM) == 12);
    CHECK(mcsec_srtp_salt_len(MCSEC_SRTP_AES_CM_128_HMAC_SHA1_80) == 14);

    mcsec_srtp_t *st = (mcsec_srtp_t *)1;
    CHECK_STATUS(mcsec_srtp_new(&st, (mcsec_srtp_suite_t)7, KEY, SALT, 1, 1), MCSEC_ERR_BAD_INPUT);
    CHECK(st == NULL);
    CHECK_STATUS(mcsec_srtp_new(&st, MCSEC_SRTP_AEAD_AES_128_GCM, NULL, SALT, 1, 1),
                 MCSEC_ERR_BAD_INPUT);
    mcsec_srtp_free(NULL);
}

/* --- An independent SRTP sender over OpenSSL ------------------------------------------------- */

typedef struct {
    uint8_t k_e[16], k_a[20], k_s[14];
} ref_keys_t;

/* RFC 3711 4.3 session keys (kdr 0). A GCM master salt is 12 octets: the AES-CM KDF takes it
 * padded with two zero octets (RFC 7714 11), and the session salt is 12 octets. */
static void ref_session_keys(mcsec_srtp_suite_t suite, ref_keys_t *k) {
    uint8_t ms[14] = {0};
    size_t sl = mcsec_srtp_salt_len(suite);
    memcpy(ms, SALT, sl);
    CHECK_STATUS(mcsec_srtp_kdf(KEY, 16, ms, 0x00, k->k_e, 16), MCSEC_OK);
    CHECK_STATUS(mcsec_srtp_kdf(KEY, 16, ms, 0x01, k->k_a, 20), MCSEC_OK);
    CHECK_STATUS(mcsec_srtp_kdf(KEY, 16, ms, 0x02, k->k_s, sl), MCSEC_OK);
}

static int ossl_cipher(const EVP_CIPHER *c, const uint8_t *key, const uint8_t *iv, int ivlen,
                       const uint8_t *aad, int aad_len, uint8_t *data, int len, uint8_t *tag) {
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int n = 0, ok = ctx != NULL && EVP_EncryptInit_ex(ctx, c, NULL, NULL, NULL) == 1;
    if (ok && tag != NULL) ok = EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, ivlen, NULL) == 1;
    ok = ok && EVP_EncryptInit_ex(ctx, NULL, NULL, key, iv) == 1;
    if (ok && aad_len > 0) ok = EVP_EncryptUpdate(ctx, NULL, &n, aad, aad_len) == 1;
    ok = ok && EVP_EncryptUpdate(ctx, data, &n, data, len) == 1 &&
         EVP_EncryptFinal_ex(ctx, data + n, &n) == 1;
    if (ok && tag != NULL) ok = EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, 16, tag) == 1;
    EVP_CIPHER_CTX_free(ctx);
    return ok;
}

/* Protects pkt (header hl octets, ROC 0) in place as RFC 3711 / RFC 7714 define; returns the
 * SRTP length. */
static size_t ref_protect(mcsec_srtp_suite_t suite, uint8_t *pkt, size_t len, size_t hl) {
    ref_keys_t k;
    ref_session_keys(suite, &k);
    uint8_t iv[16] = {0};
    int plen = (int)(len - hl);
    if (suite == MCSEC_SRTP_AEAD_AES_128_GCM) {
        /* IV = (00 00 || SSRC || ROC || SEQ) xor salt; AAD = the header. */
        memcpy(iv + 2, pkt + 8, 4);
        memcpy(iv + 10, pkt + 2, 2);
        for (int i = 0; i < 12; i++)
            iv[i] ^= k.k_s[i];
        CHECK(
            ossl_cipher(EVP_aes_128_gcm(), k.k_e, iv, 12, pkt, (int)hl, pkt + hl, plen, pkt + len));
        return len + 16;
    }
    /* IV = salt * 2^16 xor SSRC * 2^64 xor index * 2^16; tag = HMAC-SHA1(header || payload
     * || ROC), 80 bits. */
    memcpy(iv, k.k_s, 14);
    for (int i = 0; i < 4; i++)
        iv[4 + i] ^= pkt[8 + i];
    iv[12] ^= pkt[2];
    iv[13] ^= pkt[3];
    CHECK(ossl_cipher(EVP_aes_128_ctr(), k.k_e, iv, 16, NULL, 0, pkt + hl, plen, NULL));
    uint8_t mac[20];
    unsigned mac_len = 0;
    memset(pkt + len, 0, 4); /* ROC 0, then overwritten by the tag */
    HMAC(EVP_sha1(), k.k_a, 20, pkt, len + 4, mac, &mac_len);
    memcpy(pkt + len, mac, 10);
    return len + 10;
}

static void test_reference(mcsec_srtp_suite_t suite) {
    /* With CSRCs and an extension too, so the header length rules are the same on both. */
    uint8_t plain[BUF], mine[BUF], ref[BUF];
    for (int shape = 0; shape < 2; shape++) {
        size_t n = packet(plain, (uint16_t)(1000 + shape), SSRC_A, 160), hl = 12;
        if (shape == 1) { /* 2 CSRCs and a 1-word extension in front of the payload */
            memmove(plain + 12 + 16, plain + 12, n - 12);
            plain[0] |= 0x12;
            memset(plain + 12, 0xc5, 8);
            static const uint8_t ext[8] = {0xbe, 0xde, 0x00, 0x01, 0x10, 0xaa, 0x00, 0x00};
            memcpy(plain + 20, ext, 8);
            n += 16;
            hl = 28;
        }
        mcsec_srtp_t *tx = stream(suite, 1, SSRC_A), *rx = stream(suite, 0, SSRC_A);
        memcpy(mine, plain, n);
        memcpy(ref, plain, n);
        size_t m = 0, r = ref_protect(suite, ref, n, hl);
        CHECK_STATUS(mcsec_srtp_protect(tx, mine, n, BUF, &m), MCSEC_OK);
        CHECK(m == n + tag_of(suite) && m == r);
        CHECK_MEM(mine, ref, r);
        size_t u = 0;
        CHECK_STATUS(mcsec_srtp_unprotect(rx, ref, r, &u), MCSEC_OK);
        CHECK(u == n);
        CHECK_MEM(ref, plain, n);
        mcsec_srtp_free(tx);
        mcsec_srtp_free(rx);
    }
}

/* --- Raw libsrtp, set up here ---------------------------------------------------------------- */

static srtp_t raw_session(mcsec_srtp_suite_t suite, int outbound) {
    srtp_policy_t p;
    memset(&p, 0, sizeof p);
    uint8_t ks[30];
    memcpy(ks, KEY, 16);
    memcpy(ks + 16, SALT, 14);
    if (suite == MCSEC_SRTP_AEAD_AES_128_GCM) {
        srtp_crypto_policy_set_aes_gcm_128_16_auth(&p.rtp);
        srtp_crypto_policy_set_aes_gcm_128_16_auth(&p.rtcp);
    } else {
        srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&p.rtp);
        srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&p.rtcp);
    }
    p.ssrc.type = outbound ? ssrc_any_outbound : ssrc_any_inbound;
    p.key = ks;
    p.window_size = 128;
    srtp_t s = NULL;
    CHECK(srtp_create(&s, &p) == srtp_err_status_ok);
    if (s == NULL) exit(1);
    return s;
}

static void test_raw_libsrtp(mcsec_srtp_suite_t suite) {
    uint8_t plain[BUF], buf[BUF];
    mcsec_srtp_t *tx = stream(suite, 1, SSRC_A), *rx = stream(suite, 0, SSRC_A);
    srtp_t raw_rx = raw_session(suite, 0), raw_tx = raw_session(suite, 1);
    for (uint16_t seq = 65530; seq != 6; seq++) { /* across a sequence number wrap (ROC 1) */
        size_t n = packet(plain, seq, SSRC_A, 160 + seq % 7), m = 0;
        memcpy(buf, plain, n);
        CHECK_STATUS(mcsec_srtp_protect(tx, buf, n, BUF, &m), MCSEC_OK);
        int len = (int)m;
        CHECK(srtp_unprotect(raw_rx, buf, &len) == srtp_err_status_ok);
        CHECK((size_t)len == n && memcmp(buf, plain, n) == 0);

        memcpy(buf, plain, n);
        len = (int)n;
        CHECK(srtp_protect(raw_tx, buf, &len) == srtp_err_status_ok);
        CHECK_STATUS(mcsec_srtp_unprotect(rx, buf, (size_t)len, &m), MCSEC_OK);
        CHECK(m == n && memcmp(buf, plain, n) == 0);
    }
    /* SRTCP both ways: a receiver report header (8 octets) and a report block. */
    uint8_t rtcp[32] = {0x81, 201, 0x00, 0x07};
    rtcp[4] = SSRC_A >> 24, rtcp[5] = (SSRC_A >> 16) & 0xff, rtcp[6] = (SSRC_A >> 8) & 0xff,
    rtcp[7] = SSRC_A & 0xff;
    for (int i = 8; i < 32; i++)
        rtcp[i] = (uint8_t)i;
    for (int round = 0; round < 3; round++) {
        size_t m = 0;
        memcpy(buf, rtcp, 32);
        CHECK_STATUS(mcsec_srtp_protect_rtcp(tx, buf, 32, BUF, &m), MCSEC_OK);
        CHECK(m == 32 + 4 + tag_of(suite));
        int len = (int)m;
        CHECK(srtp_unprotect_rtcp(raw_rx, buf, &len) == srtp_err_status_ok);
        CHECK(len == 32 && memcmp(buf, rtcp, 32) == 0);
        memcpy(buf, rtcp, 32);
        len = 32;
        CHECK(srtp_protect_rtcp(raw_tx, buf, &len) == srtp_err_status_ok);
        CHECK_STATUS(mcsec_srtp_unprotect_rtcp(rx, buf, (size_t)len, &m), MCSEC_OK);
        CHECK(m == 32 && memcmp(buf, rtcp, 32) == 0);
    }
    srtp_dealloc(raw_rx);
    srtp_dealloc(raw_tx);
    mcsec_srtp_free(tx);
    mcsec_srtp_free(rx);
}

/* --- Refusals -------------------------------------------------------------------------------- */

static void check_unprotect(mcsec_srtp_t *rx, const uint8_t *pkt, size_t len, mcsec_status_t want) {
    uint8_t buf[BUF + 64];
    memcpy(buf, pkt, len);
    size_t out = 99;
    CHECK_STATUS(mcsec_srtp_unprotect(rx, buf, len, &out), want);
    if (want != MCSEC_OK) {
        CHECK(out == 0);
        CHECK(mcsec_srtp_last_error()[0] != 0);
    }
}

/* The suite name in a call notification is not signed: a receiver may be told the other suite
 * for the talker's own master key. Every packet is then refused (VERIFY; TRUNCATED where the
 * packet is shorter than a header plus the receiver's longer GCM tag), nothing is delivered,
 * the receiver's stream is not disturbed, and a receiver with the talker's suite takes the
 * very same packets. */
static void test_suite_mismatch(mcsec_srtp_suite_t suite) {
    mcsec_srtp_suite_t wrong = suite == MCSEC_SRTP_AEAD_AES_128_GCM
                                   ? MCSEC_SRTP_AES_CM_128_HMAC_SHA1_80
                                   : MCSEC_SRTP_AEAD_AES_128_GCM;
    mcsec_srtp_t *tx = stream(suite, 1, SSRC_A), *rx_wrong = stream(wrong, 0, SSRC_A);
    mcsec_srtp_t *rx = stream(suite, 0, SSRC_A);
    static const size_t lens[] = {160, 20, 4, 0};
    size_t refused = 0;
    for (uint16_t seq = 1; seq <= 40; seq++) {
        uint8_t pkt[BUF], copy[BUF];
        size_t payload = lens[seq % 4];
        size_t n = protect(tx, pkt, seq, payload);
        mcsec_status_t want =
            n < MCSEC_RTP_HEADER_LEN + tag_of(wrong) ? MCSEC_ERR_TRUNCATED : MCSEC_ERR_VERIFY;
        check_unprotect(rx_wrong, pkt, n, want);
        refused++;
        /* The matching suite decrypts the same packet. */
        memcpy(copy, pkt, n);
        size_t out = 0;
        CHECK_STATUS(mcsec_srtp_unprotect(rx, copy, n, &out), MCSEC_OK);
        uint8_t plain[BUF];
        CHECK(out == packet(plain, seq, SSRC_A, payload) && memcmp(copy, plain, out) == 0);
    }
    CHECK(refused == 40);
    mcsec_srtp_free(tx);
    mcsec_srtp_free(rx_wrong);
    mcsec_srtp_free(rx);
}

static void test_refusals(mcsec_srtp_suite_t suite) {
    size_t tag = tag_of(suite);
    mcsec_srtp_t *tx = stream(suite, 1, SSRC_A), *rx = stream(suite, 0, SSRC_A);
    mcsec_srtp_t *other = stream(suite, 1, SSRC_B);
    /* Sent in order 10, 100, 250, 300 (a sender refuses to go back: allow_repeat_tx 0);
     * delivered as 10, 300, 100 (too old), 250 (late, inside the window). */
    uint8_t good[BUF], bad[BUF], old[BUF], late[BUF], later[BUF];
    size_t n = protect(tx, good, 10, 160), n_old = protect(tx, old, 100, 160);
    size_t n_late = protect(tx, late, 250, 160), n_later = protect(tx, later, 300, 160);

    /* Tampered payload, header (marker, timestamp) and tag: VERIFY, and the stream is intact. */
    size_t spots[] = {12, 12 + 80, n - tag - 1, 1, 5, n - tag, n - 1};
    for (size_t i = 0; i < sizeof spots / sizeof spots[0]; i++) {
        memcpy(bad, good, n);
        bad[spots[i]] ^= spots[i] == 1 ? 0x80 : 0x01;
        check_unprotect(rx, bad, n, MCSEC_ERR_VERIFY);
    }
    /* Another key (same SSRC): VERIFY. */
    mcsec_srtp_t *rx2 = NULL;
    uint8_t key2[16];
    memcpy(key2, KEY, 16);
    key2[0] ^= 1;
    CHECK_STATUS(mcsec_srtp_new(&rx2, suite, key2, SALT, 0, SSRC_A), MCSEC_OK);
    check_unprotect(rx2, good, n, MCSEC_ERR_VERIFY);
    mcsec_srtp_free(rx2);

    /* Every length short of header + tag: TRUNCATED; version 1: STRUCTURE. */
    for (size_t len = 0; len < 12 + tag; len++)
        check_unprotect(rx, good, len, MCSEC_ERR_TRUNCATED);
    memcpy(bad, good, n);
    bad[0] = (uint8_t)((bad[0] & 0x3f) | 0x40);
    check_unprotect(rx, bad, n, MCSEC_ERR_STRUCTURE);
    /* A header announcing 15 CSRCs needs 72 octets before the tag. */
    memcpy(bad, good, n);
    bad[0] |= 0x0f;
    check_unprotect(rx, bad, 12 + 60 + tag - 1, MCSEC_ERR_TRUNCATED);
    /* An extension running past the end. */
    memcpy(bad, good, n);
    bad[0] |= 0x10;
    bad[14] = 0x01, bad[15] = 0x00; /* 256 words */
    check_unprotect(rx, bad, n, MCSEC_ERR_TRUNCATED);
    /* Over the largest packet. */
    uint8_t big[BUF + 64];
    memcpy(big, good, n);
    check_unprotect(rx, big, BUF + 1, MCSEC_ERR_BAD_LENGTH);

    /* Another talker's packet: WRONG_RECIPIENT, even with a valid tag under its own stream. */
    size_t on = protect(other, bad, 11, 160);
    check_unprotect(rx, bad, on, MCSEC_ERR_WRONG_RECIPIENT);

    /* The good packet passes after all of that, then is a replay. */
    check_unprotect(rx, good, n, MCSEC_OK);
    check_unprotect(rx, good, n, MCSEC_ERR_REPLAY);
    /* libsrtp checks the replay window before the tag: a forged replay is a REPLAY. */
    memcpy(bad, good, n);
    bad[20] ^= 1;
    check_unprotect(rx, bad, n, MCSEC_ERR_REPLAY);
    check_unprotect(rx, later, n_later, MCSEC_OK);
    check_unprotect(rx, old, n_old, MCSEC_ERR_REPLAY);
    check_unprotect(rx, late, n_late, MCSEC_OK);

    /* Protect: room, SSRC, direction, header. */
    size_t plen = packet(bad, 400, SSRC_A, 160), out = 99;
    CHECK_STATUS(mcsec_srtp_protect(tx, bad, plen, plen + tag - 1, &out), MCSEC_ERR_BAD_LENGTH);
    CHECK(out == 0);
    plen = packet(bad, 400, SSRC_B, 160);
    CHECK_STATUS(mcsec_srtp_protect(tx, bad, plen, BUF, &out), MCSEC_ERR_BAD_INPUT);
    CHECK(mcsec_srtp_last_error()[0] != 0);
    plen = packet(bad, 400, SSRC_A, 160);
    CHECK_STATUS(mcsec_srtp_protect(rx, bad, plen, BUF, &out), MCSEC_ERR_BAD_INPUT);
    CHECK_STATUS(mcsec_srtp_unprotect(tx, good, n, &out), MCSEC_ERR_BAD_INPUT);
    CHECK_STATUS(mcsec_srtp_protect(tx, bad, 11, BUF, &out), MCSEC_ERR_TRUNCATED);
    bad[0] = 0x40;
    CHECK_STATUS(mcsec_srtp_protect(tx, bad, plen, BUF, &out), MCSEC_ERR_STRUCTURE);
    CHECK_STATUS(mcsec_srtp_protect(tx, big, MCSEC_RTP_MAX_PACKET + 1, sizeof big, &out),
                 MCSEC_ERR_BAD_LENGTH);
    CHECK_STATUS(mcsec_srtp_protect(NULL, bad, plen, BUF, &out), MCSEC_ERR_BAD_INPUT);
    /* Protecting the same sequence number twice (allow_repeat_tx 0): REPLAY. */
    plen = packet(bad, 300, SSRC_A, 160);
    CHECK_STATUS(mcsec_srtp_protect(tx, bad, plen, BUF, &out), MCSEC_ERR_REPLAY);

    /* Exactly len + tag of room is enough, and nothing past it is written. */
    uint8_t canary[BUF + 64];
    memset(canary, 0xa5, sizeof canary);
    plen = packet(canary, 500, SSRC_A, 1200);
    memset(canary + plen, 0xa5, sizeof canary - plen);
    CHECK_STATUS(mcsec_srtp_protect(tx, canary, plen, plen + tag, &out), MCSEC_OK);
    CHECK(out == plen + tag);
    int intact = 1;
    for (size_t i = plen + tag; i < sizeof canary; i++)
        intact &= canary[i] == 0xa5;
    CHECK(intact);
    check_unprotect(rx, canary, out, MCSEC_OK);
    /* A successful call clears the error line. */
    CHECK(mcsec_srtp_last_error()[0] == 0);

    mcsec_srtp_free(tx);
    mcsec_srtp_free(rx);
    mcsec_srtp_free(other);
}

static void test_rtcp(mcsec_srtp_suite_t suite) {
    size_t tag = tag_of(suite);
    mcsec_srtp_t *tx = stream(suite, 1, SSRC_A), *rx = stream(suite, 0, SSRC_A);
    uint8_t sr[28] = {
        0x80,         200, 0x00, 0x06, SSRC_A >> 24, (SSRC_A >> 16) & 0xff, (SSRC_A >> 8) & 0xff,
        SSRC_A & 0xff};
    for (int i = 8; i < 28; i++)
        sr[i] = (uint8_t)(3 * i);
    uint8_t p1[BUF], p2[BUF], bad[BUF];
    size_t n1 = 0, n2 = 0, out = 0;
    memcpy(p1, sr, 28);
    CHECK_STATUS(mcsec_srtp_protect_rtcp(tx, p1, 28, BUF, &n1), MCSEC_OK);
    CHECK(n1 == 28 + 4 + tag);
    memcpy(p2, sr, 28);
    CHECK_STATUS(mcsec_srtp_protect_rtcp(tx, p2, 28, BUF, &n2), MCSEC_OK);

    /* Tampered header, body and trailer: VERIFY. */
    size_t spots[] = {1, 9, 27, n1 - 1};
    for (size_t i = 0; i < sizeof spots / sizeof spots[0]; i++) {
        memcpy(bad, p1, n1);
        bad[spots[i]] ^= 0x04;
        CHECK_STATUS(mcsec_srtp_unprotect_rtcp(rx, bad, n1, &out), MCSEC_ERR_VERIFY);
        CHECK(out == 0);
    }
    for (size_t len = 0; len < 8 + 4 + tag; len++) {
        memcpy(bad, p1, n1);
        CHECK_STATUS(mcsec_srtp_unprotect_rtcp(rx, bad, len, &out), MCSEC_ERR_TRUNCATED);
    }
    memcpy(bad, p1, n1);
    bad[0] = 0x40 | (bad[0] & 0x3f);
    CHECK_STATUS(mcsec_srtp_unprotect_rtcp(rx, bad, n1, &out), MCSEC_ERR_STRUCTURE);
    memcpy(bad, p1, n1);
    bad[7] ^= 1;
    CHECK_STATUS(mcsec_srtp_unprotect_rtcp(rx, bad, n1, &out), MCSEC_ERR_WRONG_RECIPIENT);

    /* Round trip (out of order), then replays. */
    memcpy(bad, p2, n2);
    CHECK_STATUS(mcsec_srtp_unprotect_rtcp(rx, bad, n2, &out), MCSEC_OK);
    CHECK(out == 28 && memcmp(bad, sr, 28) == 0);
    memcpy(bad, p1, n1);
    CHECK_STATUS(mcsec_srtp_unprotect_rtcp(rx, bad, n1, &out), MCSEC_OK);
    CHECK(out == 28 && memcmp(bad, sr, 28) == 0);
    memcpy(bad, p1, n1);
    CHECK_STATUS(mcsec_srtp_unprotect_rtcp(rx, bad, n1, &out), MCSEC_ERR_REPLAY);

    /* Protect refusals. */
    memcpy(bad, sr, 28);
    CHECK_STATUS(mcsec_srtp_protect_rtcp(tx, bad, 28, 28 + 4 + tag - 1, &out),
                 MCSEC_ERR_BAD_LENGTH);
    CHECK_STATUS(mcsec_srtp_protect_rtcp(tx, bad, 7, BUF, &out), MCSEC_ERR_TRUNCATED);
    bad[4] ^= 1;
    CHECK_STATUS(mcsec_srtp_protect_rtcp(tx, bad, 28, BUF, &out), MCSEC_ERR_BAD_INPUT);
    memcpy(bad, sr, 28);
    CHECK_STATUS(mcsec_srtp_protect_rtcp(rx, bad, 28, BUF, &out), MCSEC_ERR_BAD_INPUT);
    mcsec_srtp_free(tx);
    mcsec_srtp_free(rx);
}

/* --- RTP ------------------------------------------------------------------------------------- */

static void test_rtp(void) {
    uint8_t pkt[BUF], payload[200];
    for (size_t i = 0; i < sizeof payload; i++)
        payload[i] = (uint8_t)i;
    mcsec_rtp_header_t h = {96, 1, 0xfffe, 0xdeadbeef, 0x01020304, NULL, 0, 0}, p;
    size_t n = 0;
    CHECK_STATUS(mcsec_rtp_build(&h, payload, 160, pkt, sizeof pkt, &n), MCSEC_OK);
    CHECK(n == 172);
    static const uint8_t hdr[12] = {0x80, 0xe0, 0xff, 0xfe, 0xde, 0xad,
                                    0xbe, 0xef, 0x01, 0x02, 0x03, 0x04};
    CHECK_MEM(pkt, hdr, 12);
    CHECK_STATUS(mcsec_rtp_parse(pkt, n, &p), MCSEC_OK);
    CHECK(p.payload_type == 96 && p.marker == 1 && p.seq == 0xfffe && p.timestamp == 0xdeadbeef &&
          p.ssrc == 0x01020304 && p.header_len == 12 && p.payload == pkt + 12 &&
          p.payload_len == 160);
    CHECK_STATUS(mcsec_rtp_parse(pkt, 12, &p), MCSEC_OK);
    CHECK(p.payload_len == 0);
    /* Build refusals. */
    CHECK_STATUS(mcsec_rtp_build(&h, payload, 160, pkt, 171, &n), MCSEC_ERR_BAD_LENGTH);
    CHECK(n == 0);
    h.payload_type = 128;
    CHECK_STATUS(mcsec_rtp_build(&h, payload, 160, pkt, sizeof pkt, &n), MCSEC_ERR_BAD_INPUT);
    h.payload_type = 0;
    CHECK_STATUS(mcsec_rtp_build(&h, NULL, 1, pkt, sizeof pkt, &n), MCSEC_ERR_BAD_INPUT);
    CHECK_STATUS(mcsec_rtp_build(&h, payload, MCSEC_RTP_MAX_PACKET - 11, pkt, sizeof pkt, &n),
                 MCSEC_ERR_BAD_LENGTH);
    CHECK_STATUS(mcsec_rtp_build(&h, NULL, 0, pkt, sizeof pkt, &n), MCSEC_OK);
    CHECK(n == 12);

    /* Truncated fixed header. */
    for (size_t len = 0; len < 12; len++)
        CHECK_STATUS(mcsec_rtp_parse(pkt, len, &p), MCSEC_ERR_TRUNCATED);
    /* CSRCs: CC = 15 needs 72 octets. */
    CHECK_STATUS(mcsec_rtp_build(&h, payload, 160, pkt, sizeof pkt, &n), MCSEC_OK);
    pkt[0] |= 0x0f;
    CHECK_STATUS(mcsec_rtp_parse(pkt, 71, &p), MCSEC_ERR_TRUNCATED);
    CHECK_STATUS(mcsec_rtp_parse(pkt, 72, &p), MCSEC_OK);
    CHECK(p.header_len == 72 && p.payload_len == 0);
    CHECK_STATUS(mcsec_rtp_parse(pkt, n, &p), MCSEC_OK);
    CHECK(p.header_len == 72 && p.payload == pkt + 72 && p.payload_len == n - 72);
    /* Extension: profile, length in words. CC 1, extension of 2 words: header 12+4+4+8. */
    pkt[0] = 0x80 | 0x10 | 0x01;
    pkt[16] = 0xbe, pkt[17] = 0xde, pkt[18] = 0x00, pkt[19] = 0x02;
    CHECK_STATUS(mcsec_rtp_parse(pkt, 19, &p), MCSEC_ERR_TRUNCATED); /* in the ext header */
    CHECK_STATUS(mcsec_rtp_parse(pkt, 27, &p), MCSEC_ERR_TRUNCATED); /* in the ext data */
    CHECK_STATUS(mcsec_rtp_parse(pkt, 28, &p), MCSEC_OK);
    CHECK(p.header_len == 28 && p.payload_len == 0);
    pkt[18] = 0xff, pkt[19] = 0xff; /* 65535 words: far past the end */
    CHECK_STATUS(mcsec_rtp_parse(pkt, n, &p), MCSEC_ERR_TRUNCATED);
    pkt[18] = 0x00, pkt[19] = 0x00; /* empty extension */
    CHECK_STATUS(mcsec_rtp_parse(pkt, n, &p), MCSEC_OK);
    CHECK(p.header_len == 20 && p.payload_len == n - 20);

    /* Padding: the count (last octet) includes itself. */
    CHECK_STATUS(mcsec_rtp_build(&h, payload, 20, pkt, sizeof pkt, &n), MCSEC_OK);
    pkt[0] |= 0x20;
    pkt[n - 1] = 4;
    CHECK_STATUS(mcsec_rtp_parse(pkt, n, &p), MCSEC_OK);
    CHECK(p.payload_len == 16);
    pkt[n - 1] = 20; /* the whole payload is padding */
    CHECK_STATUS(mcsec_rtp_parse(pkt, n, &p), MCSEC_OK);
    CHECK(p.payload_len == 0);
    pkt[n - 1] = 21; /* into the header */
    CHECK_STATUS(mcsec_rtp_parse(pkt, n, &p), MCSEC_ERR_TRUNCATED);
    pkt[n - 1] = 0;
    CHECK_STATUS(mcsec_rtp_parse(pkt, n, &p), MCSEC_ERR_STRUCTURE);
    pkt[n - 1] = 1;
    CHECK_STATUS(mcsec_rtp_parse(pkt, n, &p), MCSEC_OK);
    CHECK(p.payload_len == 19);
    /* P set on a bare header: its last octet is header, not payload. */
    CHECK_STATUS(mcsec_rtp_parse(pkt, 12, &p), MCSEC_ERR_TRUNCATED);
    /* Versions 0, 1, 3. */
    for (int v = 0; v < 4; v++) {
        if (v == 2) continue;
        pkt[0] = (uint8_t)(v << 6);
        CHECK_STATUS(mcsec_rtp_parse(pkt, n, &p), MCSEC_ERR_STRUCTURE);
    }
    CHECK_STATUS(mcsec_rtp_parse(NULL, n, &p), MCSEC_ERR_BAD_INPUT);
}

/* --- Audio ----------------------------------------------------------------------------------- */

static void test_ulaw(void) {
    int round_trip = 1, symmetric = 1;
    for (int c = 0; c < 256; c++) {
        if (c != 0x7f) round_trip &= mcsec_ulaw_encode(mcsec_ulaw_decode((uint8_t)c)) == c;
        symmetric &= mcsec_ulaw_decode((uint8_t)c) == -mcsec_ulaw_decode((uint8_t)(c ^ 0x80));
    }
    CHECK(round_trip);
    CHECK(symmetric);
    /* 0x7f is negative zero: it decodes to 0, which encodes as 0xff. */
    CHECK(mcsec_ulaw_decode(0x7f) == 0 && mcsec_ulaw_decode(0xff) == 0);
    CHECK(mcsec_ulaw_encode(0) == 0xff);
    /* G.711 end points and a few well-known codes. */
    CHECK(mcsec_ulaw_decode(0x80) == 32124 && mcsec_ulaw_decode(0x00) == -32124);
    CHECK(mcsec_ulaw_encode(32767) == 0x80 && mcsec_ulaw_encode(-32768) == 0x00);
    CHECK(mcsec_ulaw_decode(0xfe) == 8 && mcsec_ulaw_decode(0xf0) == 120);
    CHECK(mcsec_ulaw_decode(0xef) == 132 && mcsec_ulaw_decode(0xdf) == 396);
    /* Monotone, and within half a step (at most 512) below the clipping level. */
    int monotone = 1, close = 1, prev = -32768;
    for (int x = -32768; x <= 32767; x++) {
        int y = mcsec_ulaw_decode(mcsec_ulaw_encode((int16_t)x));
        monotone &= y >= prev;
        prev = y;
        if (x >= -32635 && x <= 32635) close &= abs(y - x) <= 512;
        if (x >= -30 && x <= 30) close &= abs(y - x) <= 4;
    }
    CHECK(monotone);
    CHECK(close);
}

static void test_tone(void) {
    int16_t s[8000];
    mcsec_tone(s, 8000, 1000); /* 8 samples per period: 0, a/sqrt2, a, ... */
    CHECK(s[0] == 0 && abs(s[2] - 16384) <= 4 && abs(s[6] + 16384) <= 4);
    CHECK(abs(s[1] - 11585) <= 4 && s[4] == 0);
    int crossings = 0, peak = 0;
    mcsec_tone(s, 8000, 440);
    for (int i = 1; i < 8000; i++) {
        crossings += (s[i - 1] < 0) != (s[i] < 0);
        peak = abs(s[i]) > peak ? abs(s[i]) : peak;
    }
    CHECK(crossings >= 878 && crossings <= 880);
    CHECK(peak > 16300 && peak <= 16390);
    mcsec_tone(NULL, 10, 440); /* no crash */
}

/* --- WAV -------------------------------------------------------------------------------------- */

static char dir[] = "/tmp/mcsec-media-XXXXXX";

static const char *tmp_path(const char *name) {
    static char p[256];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    return p;
}

static void spit(const char *path, const uint8_t *buf, size_t len) {
    FILE *f = fopen(path, "wb");
    CHECK(f != NULL);
    if (f != NULL) {
        CHECK(fwrite(buf, 1, len, f) == len);
        fclose(f);
    }
}

static void put32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)v, p[1] = (uint8_t)(v >> 8), p[2] = (uint8_t)(v >> 16),
    p[3] = (uint8_t)(v >> 24);
}

/* A canonical 44-octet header + n samples of 16-bit mono 8 kHz PCM. */
static size_t wav_image(uint8_t *buf, uint32_t n) {
    static const uint8_t h[44] = {'R', 'I', 'F',  'F',  0,   0,   0,    0,    'W', 'A', 'V',
                                  'E', 'f', 'm',  't',  ' ', 16,  0,    0,    0,   1,   0,
                                  1,   0,   0x40, 0x1f, 0,   0,   0x80, 0x3e, 0,   0,   2,
                                  0,   16,  0,    'd',  'a', 't', 'a',  0,    0,   0,   0};
    memcpy(buf, h, 44);
    put32(buf + 4, 36 + 2 * n);
    put32(buf + 40, 2 * n);
    for (uint32_t i = 0; i < n; i++)
        buf[44 + 2 * i] = (uint8_t)i, buf[45 + 2 * i] = (uint8_t)(i >> 8);
    return 44 + 2 * n;
}

static void check_wav(const uint8_t *img, size_t len, size_t max, mcsec_status_t want) {
    const char *path = tmp_path("case.wav");
    spit(path, img, len);
    int16_t *s = (int16_t *)1;
    size_t n = 99;
    char why[160];
    CHECK_STATUS(mcsec_wav_read(path, max, &s, &n, why, sizeof why), want);
    if (want != MCSEC_OK) {
        CHECK(s == NULL && n == 0 && why[0] != 0 && strchr(why, '\n') == NULL);
    }
    free(s);
    /* The in-memory parser agrees. */
    s = NULL;
    CHECK_STATUS(mcsec_wav_parse(img, len, max, &s, &n, NULL, 0), want);
    free(s);
}

static void test_wav(void) {
    int16_t in[1000], *out = NULL;
    mcsec_tone(in, 1000, 440);
    char path[256];
    snprintf(path, sizeof path, "%s", tmp_path("tone.wav"));
    CHECK_STATUS(mcsec_wav_write(path, in, 1000), MCSEC_OK);
    struct stat st;
    CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0644 && st.st_size == 44 + 2000);
    size_t n = 0;
    char why[160];
    CHECK_STATUS(mcsec_wav_read(path, 1000, &out, &n, why, sizeof why), MCSEC_OK);
    CHECK(n == 1000 && out != NULL && memcmp(out, in, sizeof in) == 0);
    free(out);
    CHECK_STATUS(mcsec_wav_read(path, 999, &out, &n, why, sizeof why), MCSEC_ERR_BAD_LENGTH);
    CHECK_STATUS(mcsec_wav_write(path, in, 0), MCSEC_ERR_BAD_LENGTH);
    CHECK_STATUS(mcsec_wav_write(NULL, in, 1), MCSEC_ERR_BAD_INPUT);
    CHECK_STATUS(mcsec_wav_write(tmp_path("no/such/dir.wav"), in, 1), MCSEC_ERR_IO);

    uint8_t img[4096], alt[4096];
    size_t len = wav_image(img, 100);
    check_wav(img, len, 100, MCSEC_OK);
    check_wav(img, len, 99, MCSEC_ERR_BAD_LENGTH);     /* too long */
    check_wav(img, len - 1, 100, MCSEC_ERR_TRUNCATED); /* RIFF size past the end */
    memcpy(alt, img, len);
    put32(alt + 4, (uint32_t)len + 100);
    check_wav(alt, len, 100, MCSEC_ERR_TRUNCATED);
    memcpy(alt, img, len);
    put32(alt + 40, 202); /* data chunk past the end of the RIFF chunk */
    check_wav(alt, len, 1000, MCSEC_ERR_TRUNCATED);
    check_wav(img, 40, 100, MCSEC_ERR_TRUNCATED); /* data chunk header cut */
    check_wav(img, 0, 100, MCSEC_ERR_TRUNCATED);
    memcpy(alt, img, len);
    memcpy(alt, "RIFX", 4);
    check_wav(alt, len, 100, MCSEC_ERR_STRUCTURE); /* not RIFF */
    memcpy(alt, img, len);
    memcpy(alt + 8, "AVI ", 4);
    check_wav(alt, len, 100, MCSEC_ERR_STRUCTURE);
    check_wav((const uint8_t *)"hello, world", 12, 100, MCSEC_ERR_STRUCTURE);
    memcpy(alt, img, len);
    alt[22] = 2, alt[28] = 0x00, alt[29] = 0x7d, alt[32] = 4; /* stereo */
    check_wav(alt, len, 100, MCSEC_ERR_UNSUPPORTED);
    memcpy(alt, img, len);
    put32(alt + 24, 16000), put32(alt + 28, 32000); /* 16 kHz */
    check_wav(alt, len, 100, MCSEC_ERR_UNSUPPORTED);
    memcpy(alt, img, len);
    alt[34] = 8, alt[32] = 1, put32(alt + 28, 8000); /* 8-bit */
    check_wav(alt, len, 100, MCSEC_ERR_UNSUPPORTED);
    memcpy(alt, img, len);
    alt[20] = 3; /* IEEE float */
    check_wav(alt, len, 100, MCSEC_ERR_UNSUPPORTED);
    memcpy(alt, img, len);
    alt[32] = 4; /* block align contradicting mono 16-bit */
    check_wav(alt, len, 100, MCSEC_ERR_STRUCTURE);
    memcpy(alt, img, 36); /* no data chunk */
    put32(alt + 4, 28);
    check_wav(alt, 36, 100, MCSEC_ERR_STRUCTURE);
    memcpy(alt, img, 12); /* data, no fmt */
    memcpy(alt + 12, img + 36, 208);
    put32(alt + 4, 4 + 208);
    check_wav(alt, 12 + 208, 100, MCSEC_ERR_STRUCTURE);
    len = wav_image(img, 0); /* no samples */
    check_wav(img, len, 100, MCSEC_ERR_BAD_LENGTH);
    len = wav_image(img, 3);
    put32(img + 40, 5), put32(img + 4, 36 + 5); /* odd data length */
    check_wav(img, 44 + 5, 100, MCSEC_ERR_STRUCTURE);
    /* Other chunks are skipped, including an odd-sized one with its pad octet, and the last
     * chunk may miss its pad. */
    len = wav_image(img, 10);
    memcpy(alt, img, 36);
    memcpy(alt + 36, "LIST\x03\0\0\0abc\0", 12);
    memcpy(alt + 48, img + 36, 28);
    memcpy(alt + 76, "junk\x01\0\0\0z", 9);
    put32(alt + 4, 85 - 8);
    check_wav(alt, 85, 10, MCSEC_OK);
    /* A missing file, and one far larger than max_samples allows. */
    int16_t *s = NULL;
    CHECK_STATUS(mcsec_wav_read(tmp_path("missing.wav"), 100, &s, &n, why, sizeof why),
                 MCSEC_ERR_IO);
    CHECK(strstr(why, "missing.wav") != NULL);
    int16_t *big = calloc(MCSEC_WAV_SLACK, 1);
    CHECK_STATUS(mcsec_wav_write(path, big, MCSEC_WAV_SLACK / 2), MCSEC_OK);
    CHECK_STATUS(mcsec_wav_read(path, 10, &s, &n, why, sizeof why), MCSEC_ERR_BAD_LENGTH);
    free(big);
}

/* --- pcap --------------------------------------------------------------------------------------
 */

static uint32_t rd32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint16_t ones_sum(uint32_t sum, const uint8_t *p, size_t len) {
    for (size_t i = 0; i < len; i++)
        sum += i % 2 ? p[i] : (uint32_t)p[i] << 8;
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)sum;
}

static void test_pcap(void) {
    char path[256];
    snprintf(path, sizeof path, "%s", tmp_path("call.pcap"));
    mcsec_pcap_t *p = NULL;
    CHECK_STATUS(mcsec_pcap_open(&p, path), MCSEC_OK);
    uint8_t d[3][300];
    size_t lens[3] = {172, 1, 299};
    for (int i = 0; i < 3; i++) {
        for (size_t j = 0; j < lens[i]; j++)
            d[i][j] = (uint8_t)(i * 31 + j);
        CHECK_STATUS(mcsec_pcap_udp(p, 0x7f000001, 40000, 0xef010203, 5004, d[i], lens[i],
                                    i == 2 ? 0 : 1700000000123456ull + (uint64_t)i),
                     MCSEC_OK);
    }
    CHECK_STATUS(mcsec_pcap_udp(p, 1, 1, 2, 2, d[0], 65535 - 27, 1), MCSEC_ERR_BAD_LENGTH);
    CHECK_STATUS(mcsec_pcap_close(p), MCSEC_OK);
    CHECK_STATUS(mcsec_pcap_close(NULL), MCSEC_OK);
    CHECK_STATUS(mcsec_pcap_open(&p, tmp_path("no/such/dir.pcap")), MCSEC_ERR_IO);

    uint8_t f[2048];
    FILE *in = fopen(path, "rb");
    size_t flen = in ? fread(f, 1, sizeof f, in) : 0;
    if (in) fclose(in);
    CHECK(flen == 24 + 3 * (16 + 28) + 172 + 1 + 299);
    CHECK(rd32(f) == 0xa1b2c3d4 && f[4] == 2 && f[6] == 4 && rd32(f + 16) == 65535 &&
          rd32(f + 20) == 228);
    size_t off = 24;
    for (int i = 0; i < 3 && off + 16 <= flen; i++) {
        const uint8_t *r = f + off, *ip = r + 16, *udp = ip + 20;
        size_t total = 28 + lens[i];
        CHECK(rd32(r + 8) == total && rd32(r + 12) == total);
        if (i < 2) CHECK(rd32(r) == 1700000000u && rd32(r + 4) == 123456u + (uint32_t)i);
        CHECK(ip[0] == 0x45 && ip[9] == 17 && (ip[2] << 8 | ip[3]) == (int)total);
        CHECK(ones_sum(0, ip, 20) == 0xffff); /* IPv4 header checksum */
        static const uint8_t addrs[8] = {0x7f, 0, 0, 1, 0xef, 1, 2, 3};
        CHECK_MEM(ip + 12, addrs, 8);
        CHECK((udp[0] << 8 | udp[1]) == 40000 && (udp[2] << 8 | udp[3]) == 5004 &&
              (size_t)(udp[4] << 8 | udp[5]) == 8 + lens[i]);
        uint32_t pseudo = ones_sum(0, ip + 12, 8) + 17 + (uint32_t)(8 + lens[i]);
        CHECK(ones_sum(pseudo, udp, 8 + lens[i]) == 0xffff); /* UDP checksum */
        CHECK_MEM(udp + 8, d[i], lens[i]);
        off += 16 + total;
    }
    if (system("command -v tshark >/dev/null 2>&1") == 0) {
        char cmd[512];
        snprintf(cmd, sizeof cmd,
                 "tshark -r %s -o udp.check_checksum:TRUE -o ip.check_checksum:TRUE 2>&1 | "
                 "grep -c UDP | grep -qx 3",
                 path);
        CHECK(system(cmd) == 0);
    } else {
        printf("tshark not installed: pcap checked by the reader above only\n");
    }
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw) {
    (void)st, (void)flag, (void)ftw;
    return remove(p);
}

int main(void) {
    CHECK_STATUS(mcsec_init(), MCSEC_OK);
    if (mkdtemp(dir) == NULL) {
        perror("mkdtemp");
        return 2;
    }
    test_keys();
    for (int i = 0; i < 2; i++) {
        test_reference(SUITES[i]);
        test_raw_libsrtp(SUITES[i]);
        test_refusals(SUITES[i]);
        test_suite_mismatch(SUITES[i]);
        test_rtcp(SUITES[i]);
    }
    test_rtp();
    test_ulaw();
    test_tone();
    test_wav();
    test_pcap();
    nftw(dir, rm_one, 8, FTW_DEPTH | FTW_PHYS);
    return test_summary();
}
