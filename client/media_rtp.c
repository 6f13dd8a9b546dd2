/* RTP fixed headers (RFC 3550 5.1): build without CSRCs, extension or padding; parse strictly. */
#include <string.h>

#include "internal_media.h"
#include "mcsec/media.h"

mcsec_status_t mcsec_rtp_build(const mcsec_rtp_header_t *h, const uint8_t *payload,
                               size_t payload_len, uint8_t *out, size_t cap, size_t *out_len) {
    if (out_len != NULL) *out_len = 0;
    if (h == NULL || out == NULL || out_len == NULL || (payload == NULL && payload_len != 0) ||
        h->payload_type > 127)
        return MCSEC_ERR_BAD_INPUT;
    if (payload_len > MCSEC_RTP_MAX_PACKET - MCSEC_RTP_HEADER_LEN ||
        cap < MCSEC_RTP_HEADER_LEN + payload_len)
        return MCSEC_ERR_BAD_LENGTH;
    out[0] = 2 << 6; /* version 2, no padding, extension or CSRC */
    out[1] = (uint8_t)((h->marker ? 0x80 : 0) | h->payload_type);
    mcsec_put_be16(out + 2, h->seq);
    mcsec_put_be32(out + 4, h->timestamp);
    mcsec_put_be32(out + 8, h->ssrc);
    if (payload_len > 0) memmove(out + MCSEC_RTP_HEADER_LEN, payload, payload_len);
    *out_len = MCSEC_RTP_HEADER_LEN + payload_len;
    return MCSEC_OK;
}

/* Lengths first (a field that is not there cannot be judged), then the version, then the
 * padding count, which sits in the last octet. */
mcsec_status_t mcsec_rtp_parse(const uint8_t *pkt, size_t len, mcsec_rtp_header_t *out) {
    if (out != NULL) memset(out, 0, sizeof *out);
    if (pkt == NULL || out == NULL) return MCSEC_ERR_BAD_INPUT;
    if (len < MCSEC_RTP_HEADER_LEN) return MCSEC_ERR_TRUNCATED;
    size_t hl = MCSEC_RTP_HEADER_LEN + 4 * (size_t)(pkt[0] & 0x0f);
    if (len < hl) return MCSEC_ERR_TRUNCATED;
    if (pkt[0] & 0x10) { /* extension: profile(16) length(16, in 32-bit words) data */
        if (len < hl + 4) return MCSEC_ERR_TRUNCATED;
        hl += 4 + 4 * (size_t)((uint16_t)pkt[hl + 2] << 8 | pkt[hl + 3]);
        if (len < hl) return MCSEC_ERR_TRUNCATED;
    }
    if ((pkt[0] >> 6) != 2) return MCSEC_ERR_STRUCTURE;
    size_t pad = 0;
    if (pkt[0] & 0x20) {
        /* The count includes itself, so 0 is malformed; it must fit in the payload. */
        pad = pkt[len - 1];
        if (pad == 0) return MCSEC_ERR_STRUCTURE;
        if (pad > len - hl) return MCSEC_ERR_TRUNCATED;
    }
    out->payload_type = pkt[1] & 0x7f;
    out->marker = (pkt[1] & 0x80) != 0;
    out->seq = (uint16_t)((uint16_t)pkt[2] << 8 | pkt[3]);
    out->timestamp = mcsec_be32(pkt + 4);
    out->ssrc = mcsec_be32(pkt + 8);
    out->header_len = hl;
    out->payload = pkt + hl;
    out->payload_len = len - hl - pad;
    return MCSEC_OK;
}
