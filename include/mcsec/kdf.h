/* MIKEY key derivation (RFC 3830 4.1.2-4.1.4, RFC 6043 PRF-HMAC-SHA-256), SRTP key
 * derivation (RFC 3711 4.3), and 3GPP identifiers (UID format 2, GUK-ID, purpose tags). */
#ifndef MCSEC_KDF_H
#define MCSEC_KDF_H

#include <stddef.h>
#include <stdint.h>

#include "mcsec/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    MCSEC_MIKEY_PRF_HMAC_SHA1 = 0,   /* MIKEY-1 PRF, RFC 3830 4.1.2 */
    MCSEC_MIKEY_PRF_HMAC_SHA256 = 1, /* PRF-HMAC-SHA-256, RFC 6043 */
} mcsec_mikey_prf_t;

/* Key derivation constants (RFC 3830 4.1.3/4.1.4). */
#define MCSEC_MIKEY_CONST_TEK 0x2AD01C64u
#define MCSEC_MIKEY_CONST_SALT 0x39A2C14Bu
#define MCSEC_MIKEY_CONST_ENCR 0x15798CEFu
#define MCSEC_MIKEY_CONST_AUTH 0x1B5C7973u
#define MCSEC_MIKEY_CONST_PSK_ENCR 0x150533E1u
#define MCSEC_MIKEY_CONST_PSK_AUTH 0x2D22AC75u
#define MCSEC_MIKEY_CONST_PSK_SALT 0x29B88916u

/* The MIKEY PRF: out = PRF(inkey, label) truncated to out_len octets. */
mcsec_status_t mcsec_mikey_prf(mcsec_mikey_prf_t prf, const uint8_t *inkey, size_t inkey_len,
                               const uint8_t *label, size_t label_len, uint8_t *out,
                               size_t out_len) MCSEC_MUST_CHECK;

/* HMAC-SHA-256(key, msg) (the MIKEY MACs and their relatives). */
mcsec_status_t mcsec_hmac_sha256(const uint8_t *key, size_t key_len, const uint8_t *msg,
                                 size_t msg_len, uint8_t out[32]) MCSEC_MUST_CHECK;

/* Derive with label = const(32) || cs_id(8) || csb_id(32) || rand. */
mcsec_status_t mcsec_mikey_derive(mcsec_mikey_prf_t prf, const uint8_t *inkey, size_t inkey_len,
                                  uint32_t constant, uint8_t cs_id, uint32_t csb_id,
                                  const uint8_t *rand, size_t rand_len, uint8_t *out,
                                  size_t out_len) MCSEC_MUST_CHECK;

/* RFC 3711 4.3.3 AES-CM key derivation with kdr = 0, index 0.
 * label 0x00 cipher key, 0x01 auth key, 0x02 salt (SRTP), 0x03-0x05 SRTCP. */
mcsec_status_t mcsec_srtp_kdf(const uint8_t *master_key, size_t master_key_len,
                              const uint8_t master_salt[14], uint8_t label, uint8_t *out,
                              size_t out_len) MCSEC_MUST_CHECK;

#define MCSEC_UID_LEN 32

/* 3GPP UID format 2 (TS 33.179 F.2.1): see tests/vectors/uid.txt.
 * period_no = floor((ntp_seconds - key_period_offset) / key_period). */
mcsec_status_t mcsec_uid_format2(const char *uri, const char *kms_uri, uint64_t key_period,
                                 uint64_t key_period_offset, uint64_t period_no,
                                 uint8_t uid[MCSEC_UID_LEN]) MCSEC_MUST_CHECK;

/* The key period containing NTP time ntp_seconds (MCSEC_ERR_BAD_INPUT if key_period is 0
 * or the time is before the offset). */
mcsec_status_t mcsec_key_period_no(uint64_t ntp_seconds, uint64_t key_period,
                                   uint64_t key_period_offset,
                                   uint64_t *period_no) MCSEC_MUST_CHECK;

/* Purpose tags: the top 4 bits of a 32-bit key id. */
enum {
    MCSEC_PURPOSE_GMK = 0,
    MCSEC_PURPOSE_PCK = 1,
    MCSEC_PURPOSE_CSK = 2,
    MCSEC_PURPOSE_SPK = 3,
    MCSEC_PURPOSE_MKFC = 4,
    MCSEC_PURPOSE_MSCCK = 5,
    MCSEC_PURPOSE_MUSIK = 6,
};
static inline unsigned mcsec_purpose_tag(uint32_t key_id) { return key_id >> 28; }

/* GUK-ID = GMK-ID xor (28 LSBs of HMAC-SHA-256(GMK, 0x50 || uri || len16(uri))),
 * keeping GMK-ID's purpose tag. */
mcsec_status_t mcsec_guk_id(const uint8_t *gmk, size_t gmk_len, uint32_t gmk_id, const char *uri,
                            uint32_t *guk_id) MCSEC_MUST_CHECK;

#ifdef __cplusplus
}
#endif
#endif
