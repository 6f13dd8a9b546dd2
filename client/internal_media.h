/* Internal interfaces of the media layer (client/media_*.c). Not installed; tests and the
 * fuzz target include it. */
#ifndef MCSEC_CLIENT_INTERNAL_MEDIA_H
#define MCSEC_CLIENT_INTERNAL_MEDIA_H

#include <stddef.h>
#include <stdint.h>

#include "mcsec/status.h"

/* Octet order helpers (RTP, pcap and IP headers are big-endian; WAV and pcap headers little). */
static inline void mcsec_put_be16(uint8_t *p, uint16_t v) {
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}
static inline void mcsec_put_be32(uint8_t *p, uint32_t v) {
    mcsec_put_be16(p, (uint16_t)(v >> 16));
    mcsec_put_be16(p + 2, (uint16_t)v);
}
static inline void mcsec_put_le16(uint8_t *p, uint16_t v) {
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}
static inline void mcsec_put_le32(uint8_t *p, uint32_t v) {
    mcsec_put_le16(p, (uint16_t)v);
    mcsec_put_le16(p + 2, (uint16_t)(v >> 16));
}
static inline uint32_t mcsec_be32(const uint8_t *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Registers mcsec's OpenSSL AES-128 counter mode, AES-128-GCM and HMAC-SHA1 with libsrtp in
 * place of the library's own (media_ciphers.c), after srtp_init and once: 1 if libsrtp
 * accepted all three (each passes its self tests first), else 0. */
int mcsec_srtp_ciphers_register(void);

/* The largest WAV file mcsec_wav_read loads beyond its samples (headers and skipped chunks). */
#define MCSEC_WAV_SLACK (1u << 20)

/* Parses a WAV file held in buf[0..len), as mcsec_wav_read does (same statuses, same why). */
mcsec_status_t mcsec_wav_parse(const uint8_t *buf, size_t len, size_t max_samples,
                               int16_t **samples, size_t *n, char *why, size_t why_cap)
    __attribute__((warn_unused_result));

#endif
