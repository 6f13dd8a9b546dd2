/* A classic pcap writer for UDP datagrams (LINKTYPE_IPV4): each record is a 20-octet IPv4
 * header, an 8-octet UDP header and the datagram, with the IPv4 header checksum and the UDP
 * checksum (over the pseudo-header) computed, so that Wireshark shows no checksum warnings. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "internal_media.h"
#include "mcsec/media.h"

#define PCAP_LINKTYPE_IPV4 228
#define PCAP_SNAPLEN 65535
#define IPV4_HEADER 20
#define UDP_HEADER 8
#define UDP_MAX (65535 - IPV4_HEADER - UDP_HEADER) /* the IPv4 total length is 16 bits */

struct mcsec_pcap {
    FILE *f;
    int failed;  /* a write failed: reported by mcsec_pcap_close */
    uint16_t id; /* IPv4 identification, one per record */
};

/* The file is little-endian, as written by most tools on x86; readers detect the order by
 * the magic number. */
static int write_or_fail(mcsec_pcap_t *p, const void *buf, size_t len) {
    if (!p->failed && fwrite(buf, 1, len, p->f) != len) p->failed = 1;
    return p->failed ? -1 : 0;
}

mcsec_status_t mcsec_pcap_open(mcsec_pcap_t **out, const char *path) {
    if (out == NULL || path == NULL) return MCSEC_ERR_BAD_INPUT;
    *out = NULL;
    mcsec_pcap_t *p = calloc(1, sizeof *p);
    if (p == NULL) return MCSEC_ERR_NOMEM;
    p->f = fopen(path, "wb");
    if (p->f == NULL) {
        free(p);
        return MCSEC_ERR_IO;
    }
    uint8_t h[24];
    mcsec_put_le32(h, 0xa1b2c3d4u); /* microsecond timestamps */
    mcsec_put_le16(h + 4, 2);       /* version 2.4 */
    mcsec_put_le16(h + 6, 4);
    mcsec_put_le32(h + 8, 0);  /* thiszone: UTC */
    mcsec_put_le32(h + 12, 0); /* sigfigs */
    mcsec_put_le32(h + 16, PCAP_SNAPLEN);
    mcsec_put_le32(h + 20, PCAP_LINKTYPE_IPV4);
    if (write_or_fail(p, h, sizeof h) != 0) {
        (void)mcsec_pcap_close(p);
        return MCSEC_ERR_IO;
    }
    *out = p;
    return MCSEC_OK;
}

/* The Internet checksum (RFC 1071) of buf, continuing from sum; not yet folded. */
static uint32_t sum16(uint32_t sum, const uint8_t *buf, size_t len) {
    for (size_t i = 0; i + 1 < len; i += 2)
        sum += (uint32_t)buf[i] << 8 | buf[i + 1];
    if (len % 2 != 0) sum += (uint32_t)buf[len - 1] << 8;
    return sum;
}

static uint16_t fold(uint32_t sum) {
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)~sum;
}

static void ipv4_header(uint8_t *h, uint16_t id, uint32_t src, uint32_t dst, size_t udp_len) {
    memset(h, 0, IPV4_HEADER);
    h[0] = 0x45; /* version 4, 5 words */
    mcsec_put_be16(h + 2, (uint16_t)(IPV4_HEADER + udp_len));
    mcsec_put_be16(h + 4, id);
    mcsec_put_be16(h + 6, 0x4000); /* don't fragment */
    h[8] = 64;               /* TTL */
    h[9] = 17;               /* UDP */
    mcsec_put_be32(h + 12, src);
    mcsec_put_be32(h + 16, dst);
    mcsec_put_be16(h + 10, fold(sum16(0, h, IPV4_HEADER)));
}

/* UDP checksum over the pseudo-header (RFC 768); 0 is sent as 0xffff. */
static void udp_header(uint8_t *u, const uint8_t *ip, uint16_t sport, uint16_t dport,
                       const uint8_t *data, size_t len) {
    mcsec_put_be16(u, sport);
    mcsec_put_be16(u + 2, dport);
    mcsec_put_be16(u + 4, (uint16_t)(UDP_HEADER + len));
    mcsec_put_be16(u + 6, 0);
    uint32_t sum = sum16(0, ip + 12, 8); /* source and destination addresses */
    sum += 17 + (uint32_t)(UDP_HEADER + len);
    sum = sum16(sum, u, UDP_HEADER);
    uint16_t c = fold(sum16(sum, data, len));
    mcsec_put_be16(u + 6, c == 0 ? 0xffff : c);
}

mcsec_status_t mcsec_pcap_udp(mcsec_pcap_t *p, uint32_t src_ip, uint16_t src_port, uint32_t dst_ip,
                              uint16_t dst_port, const uint8_t *data, size_t len, uint64_t usec) {
    if (p == NULL || (data == NULL && len != 0)) return MCSEC_ERR_BAD_INPUT;
    if (len > UDP_MAX) return MCSEC_ERR_BAD_LENGTH;
    if (p->failed) return MCSEC_ERR_IO;
    if (usec == 0) {
        struct timeval tv;
        gettimeofday(&tv, NULL);
        usec = (uint64_t)tv.tv_sec * 1000000u + (uint64_t)tv.tv_usec;
    }
    uint8_t rec[16 + IPV4_HEADER + UDP_HEADER];
    size_t total = IPV4_HEADER + UDP_HEADER + len;
    mcsec_put_le32(rec, (uint32_t)(usec / 1000000u));
    mcsec_put_le32(rec + 4, (uint32_t)(usec % 1000000u));
    mcsec_put_le32(rec + 8, (uint32_t)total);  /* captured */
    mcsec_put_le32(rec + 12, (uint32_t)total); /* on the wire */
    ipv4_header(rec + 16, p->id++, src_ip, dst_ip, UDP_HEADER + len);
    udp_header(rec + 16 + IPV4_HEADER, rec + 16, src_port, dst_port, data, len);
    if (write_or_fail(p, rec, sizeof rec) != 0 || (len > 0 && write_or_fail(p, data, len) != 0))
        return MCSEC_ERR_IO;
    return MCSEC_OK;
}

mcsec_status_t mcsec_pcap_close(mcsec_pcap_t *p) {
    if (p == NULL) return MCSEC_OK;
    int failed = p->failed;
    if (fclose(p->f) != 0) failed = 1;
    free(p);
    return failed ? MCSEC_ERR_IO : MCSEC_OK;
}
