/* libFuzzer target for the media parsers: mcsec_rtp_parse, mcsec_srtp_unprotect and
 * mcsec_srtp_unprotect_rtcp (inbound streams of both suites, fixed key, SSRC 0x4d435345),
 * and mcsec_wav_parse, all on the same input. Seeds: corpus/media (an SRTP packet of each
 * suite under this key, an RTP packet, a WAV file). Checks: statuses are the documented ones,
 * outputs stay inside the input, and a successful unprotect shrinks the packet by the tag. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "internal_media.h"
#include "mcsec/media.h"

#define SSRC 0x4d435345u
static const uint8_t key[16] = {0x5a, 0x01, 0x9c, 0x44, 0x2e, 0x7b, 0xd3, 0x68,
                                0x11, 0xf0, 0x83, 0x2a, 0xcc, 0x35, 0x9e, 0x47};
static const uint8_t salt[14] = {0x6b, 0x21, 0x08, 0xe4, 0x3d, 0x90, 0x57,
                                 0xa2, 0x1c, 0x6e, 0xf9, 0x04, 0xb8, 0x73};

static mcsec_srtp_t *rx[2];

static void check_rtp(const uint8_t *data, size_t size) {
    mcsec_rtp_header_t h;
    mcsec_status_t st = mcsec_rtp_parse(data, size, &h);
    if (st == MCSEC_OK) {
        if (h.header_len < 12 || h.header_len > size || h.payload != data + h.header_len ||
            h.header_len + h.payload_len > size)
            abort();
    } else if (st != MCSEC_ERR_TRUNCATED && st != MCSEC_ERR_STRUCTURE) {
        abort();
    }
}

static void check_srtp(int suite, const uint8_t *data, size_t size) {
    static uint8_t buf[70000];
    size_t out = 1;
    memcpy(buf, data, size);
    mcsec_status_t st = mcsec_srtp_unprotect(rx[suite], buf, size, &out);
    size_t tag = suite == 0 ? 16 : 10;
    if (st == MCSEC_OK ? out != size - tag : out != 0) abort();
    memcpy(buf, data, size);
    st = mcsec_srtp_unprotect_rtcp(rx[suite], buf, size, &out);
    if (st == MCSEC_OK ? out != size - tag - 4 : out != 0) abort();
}

static void check_wav(const uint8_t *data, size_t size) {
    int16_t *s = NULL;
    size_t n = 0;
    char why[128];
    mcsec_status_t st = mcsec_wav_parse(data, size, 1 << 16, &s, &n, why, sizeof why);
    if (st == MCSEC_OK ? (s == NULL || n == 0 || 2 * n > size) : (s != NULL || why[0] == 0))
        abort();
    free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (rx[0] == NULL &&
        (mcsec_srtp_new(&rx[0], MCSEC_SRTP_AEAD_AES_128_GCM, key, salt, 0, SSRC) != MCSEC_OK ||
         mcsec_srtp_new(&rx[1], MCSEC_SRTP_AES_CM_128_HMAC_SHA1_80, key, salt, 0, SSRC) !=
             MCSEC_OK))
        abort();
    if (size > 65536) return 0;
    check_rtp(data, size);
    check_srtp(0, data, size);
    check_srtp(1, data, size);
    check_wav(data, size);
    return 0;
}
