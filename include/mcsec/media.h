/* The media path of a group call: SRTP/SRTCP through libsrtp2 keyed from a Group Session Key,
 * RTP headers, G.711 mu-law audio, WAV files, a test tone and a pcap writer.
 *
 * Keys: the SRTP master key and salt of a talker's stream come from the GSK with the MIKEY KDF
 * (RFC 3830 4.1.3, PRF-HMAC-SHA-256 of RFC 6043): key = PRF(GSK, 0x2AD01C64, CS-ID, GSK-ID,
 * RAND) (16 octets), salt = PRF(GSK, 0x39A2C14B, CS-ID, GSK-ID, RAND) (12 octets for
 * AEAD_AES_128_GCM, RFC 7714; 14 for AES_CM_128_HMAC_SHA1_80, RFC 3711), where RAND is the
 * RAND payload of the talker's GSK message. Each talker has its own GSK, hence its own keys;
 * a stream is bound to one SSRC.
 *
 * A stream (mcsec_srtp_t) is one direction of one SSRC: an outbound stream protects our own
 * packets; an inbound stream unprotects the current talker's packets and refuses any other
 * SSRC before any crypto. Replay protection and key lifetimes are libsrtp2's (replay window
 * 128 packets for SRTP; key limits 2^48 SRTP and 2^31 SRTCP packets).
 *
 * Nothing here logs; keys are wiped when a stream is freed. Thread safety: a stream must not be
 * used by two threads at once; distinct streams may. */
#ifndef MCSEC_MEDIA_H
#define MCSEC_MEDIA_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "mcsec/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* --- SRTP ----------------------------------------------------------------------------------- */

typedef enum {
    MCSEC_SRTP_AEAD_AES_128_GCM = 0,        /* the 3GPP default (RFC 7714), 16-octet tag */
    MCSEC_SRTP_AES_CM_128_HMAC_SHA1_80 = 1, /* RFC 3711 / 4568, 10-octet tag */
} mcsec_srtp_suite_t;

#define MCSEC_SRTP_KEY_LEN 16
#define MCSEC_SRTP_SALT_MAX 14
/* The most a protect call adds: SRTP 16 (GCM tag); SRTCP 16 + 4 (E flag and index). */
#define MCSEC_SRTP_MAX_OVERHEAD 20
/* The largest RTP packet (header and payload) a stream takes. */
#define MCSEC_RTP_MAX_PACKET 1500

/* "AEAD_AES_128_GCM" / "AES_CM_128_HMAC_SHA1_80". Never NULL. */
const char *mcsec_srtp_suite_name(mcsec_srtp_suite_t suite);
/* Accepts the names above and the short forms "gcm" and "aes-cm". 1 on success, 0 otherwise. */
int mcsec_srtp_suite_parse(const char *name, mcsec_srtp_suite_t *out);
/* 12 for GCM, 14 for AES-CM. */
size_t mcsec_srtp_salt_len(mcsec_srtp_suite_t suite);

/* The master key and salt of a stream (see above). salt receives mcsec_srtp_salt_len(suite)
 * octets. MCSEC_ERR_BAD_INPUT for NULLs, a RAND shorter than 16 octets or an unknown suite. */
mcsec_status_t mcsec_srtp_keys(const uint8_t gsk[16], uint8_t cs_id, uint32_t gsk_id,
                               const uint8_t *rand, size_t rand_len, mcsec_srtp_suite_t suite,
                               uint8_t key[MCSEC_SRTP_KEY_LEN],
                               uint8_t salt[MCSEC_SRTP_SALT_MAX]) MCSEC_MUST_CHECK;

typedef struct mcsec_srtp mcsec_srtp_t;

/* A stream for ssrc: outbound (protect) if outbound is non-zero, else inbound (unprotect).
 * key and salt are copied (salt: mcsec_srtp_salt_len(suite) octets). */
mcsec_status_t mcsec_srtp_new(mcsec_srtp_t **out, mcsec_srtp_suite_t suite,
                              const uint8_t key[MCSEC_SRTP_KEY_LEN], const uint8_t *salt,
                              int outbound, uint32_t ssrc) MCSEC_MUST_CHECK;
void mcsec_srtp_free(mcsec_srtp_t *s); /* NULL ok; wipes */
uint32_t mcsec_srtp_ssrc(const mcsec_srtp_t *s);

/* Protects the RTP packet pkt[0..len) in place (outbound stream; the SSRC in the header must be
 * the stream's, else MCSEC_ERR_BAD_INPUT). cap is the buffer size: it must leave room for the
 * tag (MCSEC_ERR_BAD_LENGTH otherwise, and for len > MCSEC_RTP_MAX_PACKET). The RTP header is
 * checked as by mcsec_rtp_parse. Sequence numbers must move forward: one already protected, or
 * older than the replay window, gives MCSEC_ERR_REPLAY (libsrtp, allow_repeat_tx off). Any
 * stream call in the wrong direction gives MCSEC_ERR_BAD_INPUT. */
mcsec_status_t mcsec_srtp_protect(mcsec_srtp_t *s, uint8_t *pkt, size_t len, size_t cap,
                                  size_t *out_len) MCSEC_MUST_CHECK;

/* Unprotects an SRTP packet in place (inbound stream). Checks, in order:
 *   MCSEC_ERR_TRUNCATED    shorter than an RTP header (12 octets + CSRCs + extension) plus tag
 *   MCSEC_ERR_BAD_LENGTH   longer than MCSEC_RTP_MAX_PACKET + MCSEC_SRTP_MAX_OVERHEAD
 *   MCSEC_ERR_STRUCTURE    RTP version is not 2
 *   MCSEC_ERR_WRONG_RECIPIENT  the SSRC is not the one this stream is bound to (the current talker)
 *   MCSEC_ERR_REPLAY       replayed, or too old for the replay window
 *   MCSEC_ERR_VERIFY       authentication failed (tampered, or another key)
 *   MCSEC_ERR_EXPIRED      the key reached its packet limit
 * libsrtp checks the index against the replay window before the tag, so a forged packet that
 * carries an index already seen is reported as MCSEC_ERR_REPLAY: dropped either way, and
 * neither touches the stream. On failure the buffer content is unspecified and *out_len is 0. */
mcsec_status_t mcsec_srtp_unprotect(mcsec_srtp_t *s, uint8_t *pkt, size_t len,
                                    size_t *out_len) MCSEC_MUST_CHECK;

/* The same for RTCP (SRTCP, RFC 3711 3.4; index and E flag added by protect). The sender SSRC
 * (octets 4..7 of the RTCP packet) must be the stream's (protect: MCSEC_ERR_BAD_INPUT;
 * unprotect: MCSEC_ERR_WRONG_RECIPIENT). Minimum RTCP packet: 8 octets (SRTCP: 8 + 4 + tag). */
mcsec_status_t mcsec_srtp_protect_rtcp(mcsec_srtp_t *s, uint8_t *pkt, size_t len, size_t cap,
                                       size_t *out_len) MCSEC_MUST_CHECK;
mcsec_status_t mcsec_srtp_unprotect_rtcp(mcsec_srtp_t *s, uint8_t *pkt, size_t len,
                                         size_t *out_len) MCSEC_MUST_CHECK;

/* One line about the last failure of a stream call in this thread ("" if none). Never NULL. */
const char *mcsec_srtp_last_error(void);

/* --- RTP ------------------------------------------------------------------------------------- */

#define MCSEC_RTP_HEADER_LEN 12
#define MCSEC_RTP_PT_PCMU 0 /* G.711 mu-law, 8 kHz (RFC 3551) */

typedef struct {
    uint8_t payload_type; /* 7 bits */
    int marker;
    uint16_t seq;
    uint32_t timestamp;
    uint32_t ssrc;
    const uint8_t *payload; /* parse: view into the packet */
    size_t payload_len;
    size_t header_len;      /* parse: 12 + 4 * CC + extension */
} mcsec_rtp_header_t;

/* Writes a 12-octet header (no CSRC, extension or padding) and payload into out. */
mcsec_status_t mcsec_rtp_build(const mcsec_rtp_header_t *h, const uint8_t *payload,
                               size_t payload_len, uint8_t *out, size_t cap,
                               size_t *out_len) MCSEC_MUST_CHECK;
/* Parses an (unprotected) RTP packet: MCSEC_ERR_TRUNCATED if shorter than its header (with
 * CSRCs and extension) or its padding count, MCSEC_ERR_STRUCTURE if the version is not 2 or
 * the padding count is 0. The payload excludes padding. */
mcsec_status_t mcsec_rtp_parse(const uint8_t *pkt, size_t len,
                               mcsec_rtp_header_t *out) MCSEC_MUST_CHECK;

/* --- Audio ------------------------------------------------------------------------------------- */

#define MCSEC_AUDIO_RATE 8000 /* samples per second */
#define MCSEC_AUDIO_FRAME 160 /* samples per 20 ms packet */

uint8_t mcsec_ulaw_encode(int16_t sample);
int16_t mcsec_ulaw_decode(uint8_t code);

/* n samples of a sine tone of freq Hz at MCSEC_AUDIO_RATE, amplitude about half scale. */
void mcsec_tone(int16_t *samples, size_t n, unsigned freq);

/* Reads a WAV file: RIFF/WAVE, PCM (format 1), 16-bit, mono, 8000 Hz; other chunks are
 * skipped. *samples is malloc'ed (free()). Refuses with MCSEC_ERR_IO (cannot read),
 * MCSEC_ERR_TRUNCATED (a chunk runs past the end), MCSEC_ERR_STRUCTURE (not RIFF/WAVE, no fmt
 * or data chunk), MCSEC_ERR_UNSUPPORTED (another format, rate, width or channel count), or
 * MCSEC_ERR_BAD_LENGTH (more than max_samples samples, or none); why (may be NULL) receives
 * one line. */
mcsec_status_t mcsec_wav_read(const char *path, size_t max_samples, int16_t **samples,
                              size_t *n, char *why, size_t why_cap) MCSEC_MUST_CHECK;
/* Writes a WAV file in that format, atomically (temporary file and rename), mode 0644. */
mcsec_status_t mcsec_wav_write(const char *path, const int16_t *samples,
                               size_t n) MCSEC_MUST_CHECK;

/* --- pcap --------------------------------------------------------------------------------------- */

/* A classic pcap file (microsecond timestamps, LINKTYPE_IPV4 = 228: each record is an IPv4
 * header, a UDP header and the datagram, with correct lengths and checksums), readable by
 * Wireshark and tshark. Not thread safe: one writer per thread, or a lock around it. */
typedef struct mcsec_pcap mcsec_pcap_t;

mcsec_status_t mcsec_pcap_open(mcsec_pcap_t **out, const char *path) MCSEC_MUST_CHECK;
/* Appends one UDP datagram. Addresses and ports in host byte order; usec: microseconds since
 * the epoch (0: now). */
mcsec_status_t mcsec_pcap_udp(mcsec_pcap_t *p, uint32_t src_ip, uint16_t src_port,
                              uint32_t dst_ip, uint16_t dst_port, const uint8_t *data,
                              size_t len, uint64_t usec) MCSEC_MUST_CHECK;
/* Flushes and closes; MCSEC_ERR_IO if a write failed at any point. NULL ok. */
mcsec_status_t mcsec_pcap_close(mcsec_pcap_t *p);

#ifdef __cplusplus
}
#endif
#endif
