/* Audio for calls: G.711 mu-law (ITU-T G.711, the usual bias-0x84 segment coder), a test tone,
 * and 16-bit mono 8 kHz PCM WAV files read with a strict chunk walk. */
#define _GNU_SOURCE /* mkostemp */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal_media.h"
#include "mcsec/media.h"

/* --- G.711 mu-law ---------------------------------------------------------------------------- */

#define ULAW_BIAS 0x84
#define ULAW_CLIP 32635 /* largest magnitude that still fits the top segment after the bias */

uint8_t mcsec_ulaw_encode(int16_t sample) {
    int v = sample;
    uint8_t sign = 0;
    if (v < 0) {
        v = -v;
        sign = 0x80;
    }
    if (v > ULAW_CLIP) v = ULAW_CLIP;
    v += ULAW_BIAS;
    /* The segment is the position of the top set bit above bit 7 (v >= 0x84 has bit 7 set). */
    int seg = 0;
    for (int t = v >> 8; t != 0; t >>= 1)
        seg++;
    int mantissa = (v >> (seg + 3)) & 0x0f;
    return (uint8_t) ~(sign | seg << 4 | mantissa);
}

int16_t mcsec_ulaw_decode(uint8_t code) {
    code = (uint8_t)~code;
    int seg = (code >> 4) & 0x07;
    int v = ((((code & 0x0f) << 3) + ULAW_BIAS) << seg) - ULAW_BIAS;
    return (int16_t)((code & 0x80) ? -v : v);
}

/* --- Tone ------------------------------------------------------------------------------------- */

/* sin(2 pi x) for x in [0, 1), by odd Taylor terms after folding into [-1/4, 1/4] turns;
 * error below 2e-4, enough for a test tone, and no libm. */
static double sin_turns(double x) {
    if (x > 0.5) x -= 1.0;     /* [-0.5, 0.5] */
    if (x > 0.25) x = 0.5 - x; /* sin(pi - a) = sin(a) */
    if (x < -0.25) x = -0.5 - x;
    double a = 6.283185307179586 * x, a2 = a * a;
    return a * (1 - a2 / 6 * (1 - a2 / 20 * (1 - a2 / 42 * (1 - a2 / 72))));
}

void mcsec_tone(int16_t *samples, size_t n, unsigned freq) {
    if (samples == NULL) return;
    unsigned f = freq % MCSEC_AUDIO_RATE;
    unsigned phase = 0; /* in 1/MCSEC_AUDIO_RATE turns: exact, no drift */
    for (size_t i = 0; i < n; i++) {
        samples[i] = (int16_t)(16384.0 * sin_turns((double)phase / MCSEC_AUDIO_RATE));
        phase = (phase + f) % MCSEC_AUDIO_RATE;
    }
}

/* --- WAV parsing ------------------------------------------------------------------------------ */

#define WAV_HEADER 44 /* RIFF(12) + fmt chunk(8 + 16) + data chunk header(8) */

static uint16_t le16(const uint8_t *p) {
    return (uint16_t)(p[0] | p[1] << 8);
}
static uint32_t le32(const uint8_t *p) {
    return (uint32_t)le16(p) | (uint32_t)le16(p + 2) << 16;
}

static mcsec_status_t why_fail(mcsec_status_t rc, char *why, size_t why_cap, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static mcsec_status_t why_fail(mcsec_status_t rc, char *why, size_t why_cap, const char *fmt, ...) {
    if (why != NULL && why_cap > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(why, why_cap, fmt, ap);
        va_end(ap);
    }
    return rc;
}

typedef struct {
    int have_fmt;
    const uint8_t *data; /* NULL until the data chunk */
    size_t data_len;
} wav_walk_t;

static mcsec_status_t wav_fmt(const uint8_t *c, size_t size, wav_walk_t *w, char *why,
                              size_t why_cap) {
    if (w->have_fmt) return why_fail(MCSEC_ERR_STRUCTURE, why, why_cap, "two fmt chunks");
    if (size < 16)
        return why_fail(MCSEC_ERR_STRUCTURE, why, why_cap, "fmt chunk of %zu octets, under 16",
                        size);
    unsigned format = le16(c), channels = le16(c + 2), bits = le16(c + 14);
    uint32_t rate = le32(c + 4), byte_rate = le32(c + 8);
    unsigned align = le16(c + 12);
    if (format != 1)
        return why_fail(MCSEC_ERR_UNSUPPORTED, why, why_cap,
                        "WAV format %u, not PCM (1); convert to 16-bit mono 8 kHz PCM", format);
    if (channels != 1 || rate != MCSEC_AUDIO_RATE || bits != 16)
        return why_fail(MCSEC_ERR_UNSUPPORTED, why, why_cap,
                        "%u channel(s), %u Hz, %u-bit; convert to 16-bit mono 8 kHz PCM", channels,
                        (unsigned)rate, bits);
    if (align != 2 || byte_rate != 2 * MCSEC_AUDIO_RATE)
        return why_fail(MCSEC_ERR_STRUCTURE, why, why_cap,
                        "fmt chunk block align %u and byte rate %u contradict 16-bit mono 8 kHz",
                        align, (unsigned)byte_rate);
    w->have_fmt = 1;
    return MCSEC_OK;
}

static mcsec_status_t wav_data(const uint8_t *c, size_t size, wav_walk_t *w, char *why,
                               size_t why_cap) {
    if (!w->have_fmt)
        return why_fail(MCSEC_ERR_STRUCTURE, why, why_cap, "data chunk before the fmt chunk");
    if (w->data != NULL) return why_fail(MCSEC_ERR_STRUCTURE, why, why_cap, "two data chunks");
    if (size % 2 != 0)
        return why_fail(MCSEC_ERR_STRUCTURE, why, why_cap,
                        "data chunk of %zu octets: not whole 16-bit samples", size);
    w->data = c;
    w->data_len = size;
    return MCSEC_OK;
}

/* Walks the chunks of the RIFF body buf[12..end); a chunk must lie inside it. An odd-sized
 * chunk is followed by a pad octet, which may be missing after the last chunk. */
static mcsec_status_t wav_walk(const uint8_t *buf, size_t end, wav_walk_t *w, char *why,
                               size_t why_cap) {
    size_t pos = 12;
    while (pos < end) {
        if (end - pos < 8)
            return why_fail(MCSEC_ERR_TRUNCATED, why, why_cap,
                            "chunk header at offset %zu runs past the end", pos);
        size_t size = le32(buf + pos + 4);
        if (size > end - pos - 8)
            return why_fail(MCSEC_ERR_TRUNCATED, why, why_cap,
                            "chunk '%.4s' of %zu octets runs past the end", buf + pos, size);
        const uint8_t *body = buf + pos + 8;
        mcsec_status_t rc = MCSEC_OK;
        if (memcmp(buf + pos, "fmt ", 4) == 0)
            rc = wav_fmt(body, size, w, why, why_cap);
        else if (memcmp(buf + pos, "data", 4) == 0)
            rc = wav_data(body, size, w, why, why_cap);
        if (rc != MCSEC_OK) return rc;
        pos += 8 + size;
        if (size % 2 != 0 && pos < end) pos++;
    }
    if (!w->have_fmt) return why_fail(MCSEC_ERR_STRUCTURE, why, why_cap, "no fmt chunk");
    if (w->data == NULL) return why_fail(MCSEC_ERR_STRUCTURE, why, why_cap, "no data chunk");
    return MCSEC_OK;
}

mcsec_status_t mcsec_wav_parse(const uint8_t *buf, size_t len, size_t max_samples,
                               int16_t **samples, size_t *n, char *why, size_t why_cap) {
    if (samples != NULL) *samples = NULL;
    if (n != NULL) *n = 0;
    if (why != NULL && why_cap > 0) why[0] = 0;
    if ((buf == NULL && len != 0) || samples == NULL || n == NULL)
        return why_fail(MCSEC_ERR_BAD_INPUT, why, why_cap, "no buffer");
    size_t magic = len < 4 ? len : 4; /* a prefix of "RIFF" is a truncated file, not another */
    if ((magic > 0 && memcmp(buf, "RIFF", magic) != 0) ||
        (len >= 12 && memcmp(buf + 8, "WAVE", 4) != 0))
        return why_fail(MCSEC_ERR_STRUCTURE, why, why_cap, "not a RIFF/WAVE file");
    if (len < 12) return why_fail(MCSEC_ERR_TRUNCATED, why, why_cap, "shorter than a RIFF header");
    size_t riff = le32(buf + 4);
    if (riff < 4 || riff > len - 8)
        return why_fail(MCSEC_ERR_TRUNCATED, why, why_cap,
                        "RIFF size %zu does not fit the %zu-octet file", riff, len);
    wav_walk_t w = {0, NULL, 0};
    mcsec_status_t rc = wav_walk(buf, 8 + riff, &w, why, why_cap);
    if (rc != MCSEC_OK) return rc;
    size_t count = w.data_len / 2;
    if (count == 0 || count > max_samples)
        return why_fail(MCSEC_ERR_BAD_LENGTH, why, why_cap,
                        "%zu samples; between 1 and %zu are accepted", count, max_samples);
    int16_t *s = malloc(count * sizeof *s);
    if (s == NULL) return why_fail(MCSEC_ERR_NOMEM, why, why_cap, "out of memory");
    for (size_t i = 0; i < count; i++)
        s[i] = (int16_t)le16(w.data + 2 * i);
    *samples = s;
    *n = count;
    return MCSEC_OK;
}

/* --- WAV files -------------------------------------------------------------------------------- */

/* Reads at most cap octets of path; *len > cap-1 means the file is larger than cap - 1. */
static mcsec_status_t read_bounded(const char *path, size_t cap, uint8_t **out, size_t *len,
                                   char *why, size_t why_cap) {
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return why_fail(MCSEC_ERR_IO, why, why_cap, "cannot open %s: %s", path, strerror(errno));
    mcsec_status_t rc = MCSEC_ERR_NOMEM;
    size_t have = 0, size = 64 * 1024;
    uint8_t *buf = NULL;
    for (;;) {
        if (size > cap) size = cap;
        uint8_t *nb = realloc(buf, size);
        if (nb == NULL) goto out;
        buf = nb;
        have += fread(buf + have, 1, size - have, f);
        if (have < size || size == cap) break;
        size *= 2;
    }
    if (ferror(f)) {
        rc = why_fail(MCSEC_ERR_IO, why, why_cap, "cannot read %s: %s", path, strerror(errno));
        goto out;
    }
    *out = buf;
    *len = have;
    buf = NULL;
    rc = MCSEC_OK;
out:
    free(buf);
    fclose(f);
    return rc;
}

mcsec_status_t mcsec_wav_read(const char *path, size_t max_samples, int16_t **samples, size_t *n,
                              char *why, size_t why_cap) {
    if (samples != NULL) *samples = NULL;
    if (n != NULL) *n = 0;
    if (why != NULL && why_cap > 0) why[0] = 0;
    if (path == NULL || samples == NULL || n == NULL)
        return why_fail(MCSEC_ERR_BAD_INPUT, why, why_cap, "no file name");
    /* Bound the read: the samples, the headers and some skipped chunks, plus one octet to
     * tell a file that is too large. */
    size_t limit = max_samples > (SIZE_MAX - MCSEC_WAV_SLACK - 2) / 2
                       ? SIZE_MAX - 1
                       : 2 * max_samples + MCSEC_WAV_SLACK;
    uint8_t *buf = NULL;
    size_t len = 0;
    mcsec_status_t rc = read_bounded(path, limit + 1, &buf, &len, why, why_cap);
    if (rc != MCSEC_OK) return rc;
    if (len > limit)
        rc = why_fail(MCSEC_ERR_BAD_LENGTH, why, why_cap,
                      "%s is larger than %zu samples allow; shorten it", path, max_samples);
    else
        rc = mcsec_wav_parse(buf, len, max_samples, samples, n, why, why_cap);
    free(buf);
    return rc;
}

static void wav_header(uint8_t h[WAV_HEADER], uint32_t data_len) {
    memcpy(h, "RIFF", 4);
    mcsec_put_le32(h + 4, 36 + data_len);
    memcpy(h + 8, "WAVEfmt ", 8);
    mcsec_put_le32(h + 16, 16);
    mcsec_put_le16(h + 20, 1);                    /* PCM */
    mcsec_put_le16(h + 22, 1);                    /* mono */
    mcsec_put_le32(h + 24, MCSEC_AUDIO_RATE);     /* sample rate */
    mcsec_put_le32(h + 28, 2 * MCSEC_AUDIO_RATE); /* byte rate */
    mcsec_put_le16(h + 32, 2);                    /* block align */
    mcsec_put_le16(h + 34, 16);                   /* bits per sample */
    memcpy(h + 36, "data", 4);
    mcsec_put_le32(h + 40, data_len);
}

static int write_all(int fd, const uint8_t *p, size_t len) {
    while (len > 0) {
        ssize_t w = write(fd, p, len);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return -1;
        p += w;
        len -= (size_t)w;
    }
    return 0;
}

mcsec_status_t mcsec_wav_write(const char *path, const int16_t *samples, size_t n) {
    if (path == NULL || samples == NULL) return MCSEC_ERR_BAD_INPUT;
    if (n == 0 || n > (UINT32_MAX - 36) / 2) return MCSEC_ERR_BAD_LENGTH;
    mcsec_status_t rc = MCSEC_ERR_NOMEM;
    size_t len = WAV_HEADER + 2 * n;
    uint8_t *buf = malloc(len);
    char *tmp = malloc(strlen(path) + 16);
    int fd = -1, tmp_exists = 0;
    if (buf == NULL || tmp == NULL) goto out;
    wav_header(buf, (uint32_t)(2 * n));
    for (size_t i = 0; i < n; i++)
        mcsec_put_le16(buf + WAV_HEADER + 2 * i, (uint16_t)samples[i]);
    /* A temporary file beside the target, so that rename is atomic. */
    sprintf(tmp, "%s.tmp.XXXXXX", path);
    rc = MCSEC_ERR_IO;
    fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0) goto out;
    tmp_exists = 1;
    if (fchmod(fd, 0644) != 0 || write_all(fd, buf, len) != 0 || fsync(fd) != 0) goto out;
    int cr = close(fd);
    fd = -1;
    if (cr != 0 || rename(tmp, path) != 0) goto out;
    tmp_exists = 0;
    rc = MCSEC_OK;
out:
    if (fd >= 0) close(fd);
    if (tmp_exists) (void)unlink(tmp);
    free(tmp);
    free(buf);
    return rc;
}
