/* SRTP/SRTCP streams (include/mcsec/media.h) over libsrtp2.
 *
 * One libsrtp session per stream, holding one ssrc_specific stream: libsrtp then refuses any
 * other SSRC by itself, but we check the RTP/RTCP header first so that a packet of another
 * talker is reported as MCSEC_ERR_WRONG_RECIPIENT before any crypto and never reaches
 * libsrtp (whose replay window it therefore cannot disturb).
 *
 * libsrtp keeps its own copies of the session keys; srtp_dealloc wipes them (checked for the
 * Debian 2.5.0 build, which uses NSS: every cipher and auth dealloc calls
 * octet_string_set_to_zero on its context after PK11_FreeSymKey, and srtp_stream_dealloc
 * zeroes the AEAD salts). The master key||salt we hand to srtp_create is wiped right after. */
#define _GNU_SOURCE /* RTLD_DEFAULT */
#include <limits.h>
#include <dlfcn.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <srtp2/srtp.h>

#include "internal_media.h"
#include "mcsec/kdf.h"
#include "mcsec/media.h"
#include "mcsec/secmem.h"

#define GCM_TAG 16
#define AES_CM_TAG 10
#define SRTCP_INDEX_LEN 4 /* E flag and 31-bit index */
#define RTCP_MIN 8

struct mcsec_srtp {
    srtp_t session;
    mcsec_srtp_suite_t suite;
    uint32_t ssrc;
    int outbound;
};

/* --- Errors ------------------------------------------------------------------------------ */

static _Thread_local char last_error[200];

static void set_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void set_error(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_error, sizeof last_error, fmt, ap);
    va_end(ap);
}

const char *mcsec_srtp_last_error(void) {
    return last_error;
}

/* libsrtp's verdicts, as mcsec statuses with one line each. */
static mcsec_status_t map_srtp(srtp_err_status_t e, const char *what) {
    switch (e) {
    case srtp_err_status_ok:
        return MCSEC_OK;
    case srtp_err_status_auth_fail:
        set_error("%s failed authentication: tampered, or keyed for another GSK; drop it", what);
        return MCSEC_ERR_VERIFY;
    case srtp_err_status_cant_check:
        /* libsrtp: an SRTCP packet whose E flag disagrees with the stream's policy */
        set_error("%s claims a protection this stream does not use: tampered, or keyed for "
                  "another suite; drop it",
                  what);
        return MCSEC_ERR_VERIFY;
    case srtp_err_status_replay_fail:
    case srtp_err_status_replay_old:
        set_error("%s was replayed or is older than the replay window; drop it", what);
        return MCSEC_ERR_REPLAY;
    case srtp_err_status_key_expired:
        set_error("the SRTP key reached its packet limit; the talker must send a new GSK");
        return MCSEC_ERR_EXPIRED;
    default:
        set_error("libsrtp refused the %s (error %d); report this as a bug", what, (int)e);
        return MCSEC_ERR_INTERNAL;
    }
}

/* --- Suites and keys ----------------------------------------------------------------------- */

const char *mcsec_srtp_suite_name(mcsec_srtp_suite_t suite) {
    switch (suite) {
    case MCSEC_SRTP_AEAD_AES_128_GCM:
        return "AEAD_AES_128_GCM";
    case MCSEC_SRTP_AES_CM_128_HMAC_SHA1_80:
        return "AES_CM_128_HMAC_SHA1_80";
    }
    return "unknown";
}

int mcsec_srtp_suite_parse(const char *name, mcsec_srtp_suite_t *out) {
    if (name == NULL || out == NULL) return 0;
    if (strcmp(name, "AEAD_AES_128_GCM") == 0 || strcmp(name, "gcm") == 0) {
        *out = MCSEC_SRTP_AEAD_AES_128_GCM;
        return 1;
    }
    if (strcmp(name, "AES_CM_128_HMAC_SHA1_80") == 0 || strcmp(name, "aes-cm") == 0) {
        *out = MCSEC_SRTP_AES_CM_128_HMAC_SHA1_80;
        return 1;
    }
    return 0;
}

static int suite_known(mcsec_srtp_suite_t suite) {
    return suite == MCSEC_SRTP_AEAD_AES_128_GCM || suite == MCSEC_SRTP_AES_CM_128_HMAC_SHA1_80;
}

size_t mcsec_srtp_salt_len(mcsec_srtp_suite_t suite) {
    return suite == MCSEC_SRTP_AEAD_AES_128_GCM ? 12 : 14;
}

static size_t tag_len(mcsec_srtp_suite_t suite) {
    return suite == MCSEC_SRTP_AEAD_AES_128_GCM ? GCM_TAG : AES_CM_TAG;
}

mcsec_status_t mcsec_srtp_keys(const uint8_t gsk[16], uint8_t cs_id, uint32_t gsk_id,
                               const uint8_t *rand, size_t rand_len, mcsec_srtp_suite_t suite,
                               uint8_t key[MCSEC_SRTP_KEY_LEN], uint8_t salt[MCSEC_SRTP_SALT_MAX]) {
    if (gsk == NULL || rand == NULL || rand_len < 16 || !suite_known(suite) || key == NULL ||
        salt == NULL)
        return MCSEC_ERR_BAD_INPUT;
    mcsec_status_t rc =
        mcsec_mikey_derive(MCSEC_MIKEY_PRF_HMAC_SHA256, gsk, 16, MCSEC_MIKEY_CONST_TEK, cs_id,
                           gsk_id, rand, rand_len, key, MCSEC_SRTP_KEY_LEN);
    if (rc != MCSEC_OK) goto out;
    rc = mcsec_mikey_derive(MCSEC_MIKEY_PRF_HMAC_SHA256, gsk, 16, MCSEC_MIKEY_CONST_SALT, cs_id,
                            gsk_id, rand, rand_len, salt, mcsec_srtp_salt_len(suite));
out:
    if (rc != MCSEC_OK) {
        mcsec_memzero(key, MCSEC_SRTP_KEY_LEN);
        mcsec_memzero(salt, MCSEC_SRTP_SALT_MAX);
    }
    return rc;
}

/* --- Streams ------------------------------------------------------------------------------- */

static pthread_once_t srtp_once = PTHREAD_ONCE_INIT;
static srtp_err_status_t srtp_init_status = srtp_err_status_fail;

/* Debian's libsrtp2 is built on NSS, and its NSS ciphers call NSS_InitContext for every cipher
 * context they allocate: with NSS not yet initialized in the process that costs about 3 ms per
 * stream (each talker change), with NSS initialized once about 15 us. So when the library we
 * were linked with pulls in NSS, initialize it once, without a database (nothing is read or
 * written). Found at run time, so an OpenSSL-backed libsrtp2 needs nothing. */
static void nss_init_once(void) {
    typedef int (*nss_is_init_fn)(void);
    typedef int (*nss_nodb_init_fn)(const char *);
    nss_is_init_fn is_init = (nss_is_init_fn)dlsym(RTLD_DEFAULT, "NSS_IsInitialized");
    nss_nodb_init_fn nodb_init = (nss_nodb_init_fn)dlsym(RTLD_DEFAULT, "NSS_NoDB_Init");
    if (is_init != NULL && nodb_init != NULL && !is_init()) (void)nodb_init(NULL);
}

/* srtp_init runs libsrtp's cipher self tests, and libsrtp tests our OpenSSL ciphers before it
 * takes them (media_ciphers.c): a failure of either disables every stream. */
static void srtp_init_once(void) {
    nss_init_once();
    srtp_init_status = srtp_init();
    /* An application that initialised libsrtp itself: srtp_init re-runs the self tests, then
     * refuses to register its debug module a second time (bad_param). The kernel is up. */
    if (srtp_init_status == srtp_err_status_bad_param) srtp_init_status = srtp_err_status_ok;
    if (srtp_init_status == srtp_err_status_ok && !mcsec_srtp_ciphers_register())
        srtp_init_status = srtp_err_status_cipher_fail;
}

static void set_policy(srtp_policy_t *p, mcsec_srtp_suite_t suite, uint32_t ssrc, uint8_t *ks) {
    memset(p, 0, sizeof *p);
    if (suite == MCSEC_SRTP_AEAD_AES_128_GCM) {
        srtp_crypto_policy_set_aes_gcm_128_16_auth(&p->rtp);
        srtp_crypto_policy_set_aes_gcm_128_16_auth(&p->rtcp);
    } else {
        srtp_crypto_policy_set_rtp_default(&p->rtp);
        srtp_crypto_policy_set_rtcp_default(&p->rtcp);
    }
    p->ssrc.type = ssrc_specific;
    p->ssrc.value = ssrc;
    p->key = ks;
    p->window_size = 128;
    p->allow_repeat_tx = 0;
    p->next = NULL;
}

mcsec_status_t mcsec_srtp_new(mcsec_srtp_t **out, mcsec_srtp_suite_t suite,
                              const uint8_t key[MCSEC_SRTP_KEY_LEN], const uint8_t *salt,
                              int outbound, uint32_t ssrc) {
    if (out == NULL) return MCSEC_ERR_BAD_INPUT;
    *out = NULL;
    last_error[0] = 0;
    if (key == NULL || salt == NULL || !suite_known(suite)) {
        set_error("no key, no salt or an unknown suite for the SRTP stream; this is a bug");
        return MCSEC_ERR_BAD_INPUT;
    }
    pthread_once(&srtp_once, srtp_init_once);
    if (srtp_init_status != srtp_err_status_ok) {
        set_error("libsrtp failed to initialise (error %d): SRTP is disabled",
                  (int)srtp_init_status);
        return MCSEC_ERR_SELFTEST;
    }

    mcsec_status_t rc = MCSEC_ERR_NOMEM;
    uint8_t ks[MCSEC_SRTP_KEY_LEN + MCSEC_SRTP_SALT_MAX]; /* key || salt, as libsrtp takes it */
    srtp_policy_t policy;
    mcsec_srtp_t *s = calloc(1, sizeof *s);
    if (s == NULL) {
        set_error("out of memory creating an SRTP stream");
        goto out;
    }
    memcpy(ks, key, MCSEC_SRTP_KEY_LEN);
    memcpy(ks + MCSEC_SRTP_KEY_LEN, salt, mcsec_srtp_salt_len(suite));
    set_policy(&policy, suite, ssrc, ks);
    srtp_err_status_t e = srtp_create(&s->session, &policy);
    if (e != srtp_err_status_ok) {
        s->session = NULL;
        rc = e == srtp_err_status_alloc_fail ? MCSEC_ERR_NOMEM : MCSEC_ERR_INTERNAL;
        set_error("libsrtp could not create the SRTP stream (error %d)", (int)e);
        goto out;
    }
    s->suite = suite;
    s->ssrc = ssrc;
    s->outbound = outbound != 0;
    *out = s;
    s = NULL;
    rc = MCSEC_OK;
out:
    mcsec_memzero(ks, sizeof ks);
    mcsec_memzero(&policy, sizeof policy);
    free(s);
    return rc;
}

void mcsec_srtp_free(mcsec_srtp_t *s) {
    if (s == NULL) return;
    if (s->session != NULL) (void)srtp_dealloc(s->session); /* wipes its keys, see the top */
    mcsec_memzero(s, sizeof *s);
    free(s);
}

uint32_t mcsec_srtp_ssrc(const mcsec_srtp_t *s) {
    return s == NULL ? 0 : s->ssrc;
}

/* --- Packets ------------------------------------------------------------------------------- */

static mcsec_status_t check_direction(const mcsec_srtp_t *s, int want_outbound) {
    if (s->outbound == want_outbound) return MCSEC_OK;
    set_error(want_outbound
                  ? "this SRTP stream is inbound: it cannot protect; use an outbound one"
                  : "this SRTP stream is outbound: it cannot unprotect; use an inbound one");
    return MCSEC_ERR_BAD_INPUT;
}

/* Runs libsrtp on pkt[0..len): lengths fit an int (checked by the callers). */
typedef srtp_err_status_t (*srtp_op_t)(srtp_t, void *, int *);

static mcsec_status_t run(mcsec_srtp_t *s, srtp_op_t op, uint8_t *pkt, size_t len, size_t *out_len,
                          const char *what) {
    int n = (int)len;
    mcsec_status_t rc = map_srtp(op(s->session, pkt, &n), what);
    if (rc == MCSEC_OK) *out_len = (size_t)n;
    return rc;
}

mcsec_status_t mcsec_srtp_protect(mcsec_srtp_t *s, uint8_t *pkt, size_t len, size_t cap,
                                  size_t *out_len) {
    if (out_len != NULL) *out_len = 0;
    if (s == NULL || pkt == NULL || out_len == NULL) return MCSEC_ERR_BAD_INPUT;
    last_error[0] = 0;
    mcsec_status_t rc = check_direction(s, 1);
    if (rc != MCSEC_OK) return rc;
    if (len > MCSEC_RTP_MAX_PACKET) {
        set_error("RTP packet of %zu octets is over %d; send smaller frames", len,
                  MCSEC_RTP_MAX_PACKET);
        return MCSEC_ERR_BAD_LENGTH;
    }
    mcsec_rtp_header_t h;
    rc = mcsec_rtp_parse(pkt, len, &h);
    if (rc != MCSEC_OK) {
        set_error("not a valid RTP packet (%s); build it with mcsec_rtp_build", mcsec_strerror(rc));
        return rc;
    }
    if (h.ssrc != s->ssrc) {
        set_error("RTP SSRC %08x is not this stream's %08x; use the stream's SSRC", h.ssrc,
                  s->ssrc);
        return MCSEC_ERR_BAD_INPUT;
    }
    if (cap < len || cap - len < tag_len(s->suite)) {
        set_error("no room for the %zu-octet SRTP tag; leave MCSEC_SRTP_MAX_OVERHEAD octets",
                  tag_len(s->suite));
        return MCSEC_ERR_BAD_LENGTH;
    }
    return run(s, srtp_protect, pkt, len, out_len, "RTP packet");
}

/* The RTP header length (12 + CSRCs + extension) if len holds it, else 0. */
static size_t rtp_header_len(const uint8_t *pkt, size_t len) {
    if (len < MCSEC_RTP_HEADER_LEN) return 0;
    size_t hl = MCSEC_RTP_HEADER_LEN + 4 * (size_t)(pkt[0] & 0x0f);
    if (pkt[0] & 0x10) {
        if (len < hl + 4) return 0;
        hl += 4 + 4 * (size_t)((uint16_t)pkt[hl + 2] << 8 | pkt[hl + 3]);
    }
    return len < hl ? 0 : hl;
}

mcsec_status_t mcsec_srtp_unprotect(mcsec_srtp_t *s, uint8_t *pkt, size_t len, size_t *out_len) {
    if (out_len != NULL) *out_len = 0;
    if (s == NULL || pkt == NULL || out_len == NULL) return MCSEC_ERR_BAD_INPUT;
    last_error[0] = 0;
    mcsec_status_t rc = check_direction(s, 0);
    if (rc != MCSEC_OK) return rc;
    size_t tag = tag_len(s->suite);
    size_t hl = rtp_header_len(pkt, len);
    if (hl == 0 || len - hl < tag) {
        set_error("SRTP packet of %zu octets is shorter than its header and tag; drop it", len);
        return MCSEC_ERR_TRUNCATED;
    }
    if (len > MCSEC_RTP_MAX_PACKET + MCSEC_SRTP_MAX_OVERHEAD) {
        set_error("SRTP packet of %zu octets is over the largest a stream takes; drop it", len);
        return MCSEC_ERR_BAD_LENGTH;
    }
    if ((pkt[0] >> 6) != 2) {
        set_error("RTP version %d, not 2: not an SRTP packet; drop it", pkt[0] >> 6);
        return MCSEC_ERR_STRUCTURE;
    }
    if (mcsec_be32(pkt + 8) != s->ssrc) {
        set_error("SRTP packet from SSRC %08x, not the current talker's %08x; drop it",
                  mcsec_be32(pkt + 8), s->ssrc);
        return MCSEC_ERR_WRONG_RECIPIENT;
    }
    return run(s, srtp_unprotect, pkt, len, out_len, "SRTP packet");
}

/* RTCP: version 2 and the sender SSRC (octets 4..7). */
static mcsec_status_t check_rtcp(const mcsec_srtp_t *s, const uint8_t *pkt, size_t len, size_t min,
                                 size_t max, mcsec_status_t wrong_ssrc) {
    if (len < min) {
        set_error("RTCP packet of %zu octets is shorter than %zu; drop it", len, min);
        return MCSEC_ERR_TRUNCATED;
    }
    if (len > max) {
        set_error("RTCP packet of %zu octets is over the largest a stream takes", len);
        return MCSEC_ERR_BAD_LENGTH;
    }
    if ((pkt[0] >> 6) != 2) {
        set_error("RTCP version %d, not 2; drop it", pkt[0] >> 6);
        return MCSEC_ERR_STRUCTURE;
    }
    if (mcsec_be32(pkt + 4) != s->ssrc) {
        set_error("RTCP sender SSRC %08x is not this stream's %08x", mcsec_be32(pkt + 4), s->ssrc);
        return wrong_ssrc;
    }
    return MCSEC_OK;
}

mcsec_status_t mcsec_srtp_protect_rtcp(mcsec_srtp_t *s, uint8_t *pkt, size_t len, size_t cap,
                                       size_t *out_len) {
    if (out_len != NULL) *out_len = 0;
    if (s == NULL || pkt == NULL || out_len == NULL) return MCSEC_ERR_BAD_INPUT;
    last_error[0] = 0;
    mcsec_status_t rc = check_direction(s, 1);
    if (rc == MCSEC_OK)
        rc = check_rtcp(s, pkt, len, RTCP_MIN, MCSEC_RTP_MAX_PACKET, MCSEC_ERR_BAD_INPUT);
    if (rc != MCSEC_OK) return rc;
    size_t need = tag_len(s->suite) + SRTCP_INDEX_LEN;
    if (cap < len || cap - len < need) {
        set_error("no room for the %zu-octet SRTCP trailer; leave MCSEC_SRTP_MAX_OVERHEAD octets",
                  need);
        return MCSEC_ERR_BAD_LENGTH;
    }
    return run(s, srtp_protect_rtcp, pkt, len, out_len, "RTCP packet");
}

mcsec_status_t mcsec_srtp_unprotect_rtcp(mcsec_srtp_t *s, uint8_t *pkt, size_t len,
                                         size_t *out_len) {
    if (out_len != NULL) *out_len = 0;
    if (s == NULL || pkt == NULL || out_len == NULL) return MCSEC_ERR_BAD_INPUT;
    last_error[0] = 0;
    mcsec_status_t rc = check_direction(s, 0);
    if (rc == MCSEC_OK)
        rc = check_rtcp(s, pkt, len, RTCP_MIN + SRTCP_INDEX_LEN + tag_len(s->suite),
                        MCSEC_RTP_MAX_PACKET + MCSEC_SRTP_MAX_OVERHEAD, MCSEC_ERR_WRONG_RECIPIENT);
    if (rc != MCSEC_OK) return rc;
    return run(s, srtp_unprotect_rtcp, pkt, len, out_len, "SRTCP packet");
}
