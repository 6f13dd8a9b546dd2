/* Shared by the profile fuzz targets: the fixed test KMS of tests/unit/proto_profile.c (so the
 * seed corpora open), a fixed clock, and re-signing of inputs so that the checks after the
 * signature are reached. */
#ifndef MCSEC_PROFILE_FUZZ_H
#define MCSEC_PROFILE_FUZZ_H

#include <stdint.h>
#include <string.h>

#include "mcsec/eccsi.h"
#include "mcsec/mikey.h"

#define KMS_URI "kms.example.org"
#define GROUP_URI "sip:fire-north@example.org"
#define ALICE_URI "sip:alice@example.org"
#define KEY_PERIOD 2592000ull
#define NOW 3900000000ull
#define PN (NOW / KEY_PERIOD)
static const uint8_t ksak[32] = {0x1f, 0x2e, 0x3d, 0x4c, 0x5b, 0x6a, 0x79, 0x88, 0x97, 0xa6, 0xb5,
                                 0xc4, 0xd3, 0xe2, 0xf1, 0x00, 0x0f, 0x1e, 0x2d, 0x3c, 0x4b, 0x5a,
                                 0x69, 0x78, 0x87, 0x96, 0xa5, 0xb4, 0xc3, 0xd2, 0xe1, 0xf0};

static inline uint64_t fixed_clock(void *user)
{
    (void)user;
    return NOW;
}

/* Copies the input to buf and, when its last octet is even and it parses with a 129-octet ECCSI
 * SIGN, replaces the signature with a valid one by signer. Returns 0 if the input is too long. */
static inline int fuzz_prepare(uint8_t *buf, size_t cap, const uint8_t *data, size_t size,
                               const mcsec_eccsi_signer_t *signer)
{
    static mcsec_mikey_msg_t m;
    if (size > cap)
        return 0;
    memcpy(buf, data, size);
    if (size > 0 && (data[size - 1] & 1) == 0 && mcsec_mikey_parse(buf, size, &m) == MCSEC_OK &&
        m.has_sign && m.payload[m.count - 1].u.sign.sig.len == MCSEC_ECCSI_SIG_LEN) {
        uint8_t sig[MCSEC_ECCSI_SIG_LEN];
        if (mcsec_eccsi_sign(signer, m.signed_data.p, m.signed_data.len, sig) == MCSEC_OK)
            memcpy(buf + (m.payload[m.count - 1].u.sign.sig.p - buf), sig, sizeof sig);
    }
    return 1;
}

#endif
