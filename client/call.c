/* Group calls (include/mcsec/client.h): talk bursts keyed by a fresh GSK, call datagrams,
 * SRTP media bound to the current talker's SSRC (= its GSK-ID).
 *
 * A received notification is checked cheaply before the MIKEY message is opened: its outer
 * fields (group, talker, GSK-ID, SSRC, suite) must agree with the message, so an altered copy
 * is refused without spending the RAND in the replay cache, and the genuine copy still joins. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "call.pb-c.h"
#include "call_internal.h"
#include "mcsec/secmem.h"

#define NOTIFY_VERSION 1
#define GSK_MSG_MAX 4096
#define RTCP_SR_LEN 28

#define STREAM_KEYS (MCSEC_SRTP_KEY_LEN + MCSEC_SRTP_SALT_MAX)

/* One SRTP direction and the keys it was made from (kept for --reveal-keys). */
typedef struct {
    mcsec_srtp_t *srtp;
    mcsec_srtp_suite_t suite;
    uint8_t *keys; /* key (16) || salt (14), locked memory, allocated with the call */
} stream_t;

struct mcsec_call {
    mcsec_handset_t *h;
    char group[MCSEC_PROFILE_URI_MAX];
    mcsec_srtp_suite_t suite;
    char media_address[64];
    uint16_t media_port;
    /* talking */
    stream_t out;
    uint32_t gsk_id;
    uint8_t *announce;
    size_t announce_len;
    uint16_t seq;
    uint32_t rtp_ts, packets, octets;
    /* listening */
    stream_t in;
    /* The suite name of a notification is not signed. Until a packet verifies under in.suite
     * (in_settled), a packet that fails VERIFY is tried under the other suite too, with the
     * same keys (in.keys serves both, see stream_make) in the session in_alt, made at the first
     * such failure; if it verifies there, in_alt becomes the stream. So a copy with the suite
     * name swapped that arrives first costs one trial, not the burst. */
    mcsec_srtp_t *in_alt;
    int in_settled;
    uint32_t talker_ssrc;
    char talker[MCSEC_PROFILE_URI_MAX];
    uint8_t *talker_msg; /* the current talker's MIKEY message (public), to spot repeats */
    size_t talker_msg_len;
};

static void stream_clear(stream_t *s) {
    mcsec_srtp_free(s->srtp);
    s->srtp = NULL;
    if (s->keys != NULL) mcsec_memzero(s->keys, STREAM_KEYS);
}

/* Re-keys a stream for ssrc from the GSK and the RAND of its message. On failure the stream is
 * left as it was. */
static mcsec_status_t stream_make(stream_t *s, mcsec_srtp_suite_t suite, const uint8_t gsk[16],
                                  uint32_t gsk_id, const uint8_t *rand, size_t rand_len,
                                  int outbound) {
    uint8_t keys[STREAM_KEYS];
    mcsec_srtp_t *srtp = NULL;
    /* The salt is derived at 14 octets whatever the suite: the 12 of AEAD_AES_128_GCM are its
     * first 12 (one PRF block; docs/protocol.md, SRTP), so s->keys serves both suites. */
    mcsec_status_t rc =
        mcsec_srtp_keys(gsk, MCSEC_PROFILE_CS_GMK, gsk_id, rand, rand_len,
                        MCSEC_SRTP_AES_CM_128_HMAC_SHA1_80, keys, keys + MCSEC_SRTP_KEY_LEN);
    if (rc == MCSEC_OK)
        rc = mcsec_srtp_new(&srtp, suite, keys, keys + MCSEC_SRTP_KEY_LEN, outbound, gsk_id);
    if (rc == MCSEC_OK) {
        stream_clear(s);
        s->srtp = srtp;
        s->suite = suite;
        memcpy(s->keys, keys, STREAM_KEYS);
    }
    mcsec_memzero(keys, sizeof keys);
    return rc;
}

mcsec_status_t mcsec_call_new(mcsec_call_t **out, mcsec_handset_t *h,
                              const mcsec_call_config_t *cfg) {
    if (out == NULL || h == NULL || cfg == NULL || cfg->group_uri == NULL ||
        cfg->group_uri[0] == 0 || strlen(cfg->group_uri) >= MCSEC_PROFILE_URI_MAX ||
        (cfg->media_address != NULL && strlen(cfg->media_address) >= 64) ||
        (cfg->suite != MCSEC_SRTP_AEAD_AES_128_GCM &&
         cfg->suite != MCSEC_SRTP_AES_CM_128_HMAC_SHA1_80))
        return MCSEC_ERR_BAD_INPUT;
    *out = NULL;
    mcsec_call_t *c = calloc(1, sizeof *c);
    if (c == NULL) return MCSEC_ERR_NOMEM;
    c->out.keys = mcsec_secure_alloc(STREAM_KEYS);
    c->in.keys = mcsec_secure_alloc(STREAM_KEYS);
    if (c->out.keys == NULL || c->in.keys == NULL) {
        mcsec_call_free(c);
        return MCSEC_ERR_NOMEM;
    }
    c->h = h;
    snprintf(c->group, sizeof c->group, "%s", cfg->group_uri);
    snprintf(c->media_address, sizeof c->media_address, "%s",
             cfg->media_address != NULL ? cfg->media_address : "");
    c->media_port = cfg->media_port;
    c->suite = cfg->suite;
    *out = c;
    return MCSEC_OK;
}

static void stop_talking(mcsec_call_t *c) {
    stream_clear(&c->out);
    free(c->announce);
    c->announce = NULL;
    c->announce_len = 0;
}

static void end_listening(mcsec_call_t *c) {
    stream_clear(&c->in);
    mcsec_srtp_free(c->in_alt);
    c->in_alt = NULL;
    c->in_settled = 0;
    free(c->talker_msg);
    c->talker_msg = NULL;
    c->talker_msg_len = 0;
    c->talker_ssrc = 0;
    c->talker[0] = 0;
}

void mcsec_call_free(mcsec_call_t *c) {
    if (c == NULL) return;
    stop_talking(c);
    stream_clear(&c->in);
    mcsec_srtp_free(c->in_alt);
    free(c->talker_msg);
    mcsec_secure_free(c->out.keys);
    mcsec_secure_free(c->in.keys);
    mcsec_memzero(c, sizeof *c);
    free(c);
}

void mcsec_call_release(mcsec_call_t *c) {
    if (c != NULL) stop_talking(c);
}

int mcsec_call_is_talking(const mcsec_call_t *c) { return c != NULL && c->out.srtp != NULL; }

int mcsec_call_talker(const mcsec_call_t *c, uint32_t *ssrc, char *uri, size_t uri_cap) {
    if (c == NULL || c->in.srtp == NULL) {
        if (ssrc != NULL) *ssrc = 0;
        return 0;
    }
    if (ssrc != NULL) *ssrc = c->talker_ssrc;
    if (uri != NULL && uri_cap > 0) snprintf(uri, uri_cap, "%s", c->talker);
    return 1;
}

/* --- Talking ------------------------------------------------------------------------------------ */

/* The RAND payload of a message we just built. */
static mcsec_status_t message_rand(const uint8_t *msg, size_t len, mcsec_mikey_span_t *rand) {
    mcsec_mikey_msg_t m;
    mcsec_status_t rc = mcsec_mikey_parse(msg, len, &m);
    if (rc != MCSEC_OK) return rc;
    for (size_t i = 0; i < m.count; i++)
        if (m.payload[i].type == MCSEC_MIKEY_PT_RAND) {
            *rand = m.payload[i].u.rand.data;
            return MCSEC_OK;
        }
    return MCSEC_ERR_INTERNAL;
}

static mcsec_status_t encode_notification(const mcsec_call_t *c, const uint8_t *msg, size_t len,
                                          uint8_t *out, size_t cap, size_t *out_len) {
    Mcsec__Call__GroupCallNotification n = MCSEC__CALL__GROUP_CALL_NOTIFICATION__INIT;
    Mcsec__Call__CallDatagram d = MCSEC__CALL__CALL_DATAGRAM__INIT;
    n.version = NOTIFY_VERSION;
    n.group_uri = (char *)c->group;
    n.talker_uri = (char *)c->h->uri;
    n.gsk_id = c->gsk_id;
    n.gsk_message.data = (uint8_t *)msg;
    n.gsk_message.len = len;
    n.media_address = (char *)c->media_address;
    n.media_port = c->media_port;
    n.ssrc = c->gsk_id;
    n.srtp_suite = (char *)mcsec_srtp_suite_name(c->out.suite);
    d.body_case = MCSEC__CALL__CALL_DATAGRAM__BODY_CALL;
    d.call = &n;
    size_t need = mcsec__call__call_datagram__get_packed_size(&d);
    if (need > cap) return MCSEC_ERR_BAD_LENGTH;
    *out_len = mcsec__call__call_datagram__pack(&d, out);
    return MCSEC_OK;
}

/* The signer of our key set for the key period of now (NTP seconds). */
static mcsec_status_t our_signer(mcsec_handset_t *h, uint64_t now, mcsec_keyset_t *ks,
                                 mcsec_eccsi_signer_t **signer) {
    uint64_t period;
    mcsec_status_t rc = mcsec_key_period_no(now, h->kms.key_period, h->kms.key_period_offset,
                                            &period);
    if (rc != MCSEC_OK) return MCSEC_ERR_KEY_PERIOD;
    if ((rc = mcsec_keystore_get_keyset(h->ks, period, ks)) != MCSEC_OK) return rc;
    return mcsec_eccsi_signer_new(signer, h->kms.kpak, ks->uid, sizeof ks->uid, ks->ssk, ks->pvt);
}

mcsec_status_t mcsec_call_talk(mcsec_call_t *c, uint8_t *out, size_t cap, size_t *out_len) {
    if (c == NULL || out == NULL || out_len == NULL) return MCSEC_ERR_BAD_INPUT;
    mcsec_gmk_record_t gmk;
    mcsec_keyset_t ks;
    mcsec_eccsi_signer_t *signer = NULL;
    uint8_t gsk[MCSEC_PROFILE_KEY_LEN], *msg = malloc(GSK_MSG_MAX);
    uint32_t gsk_id = 0;
    size_t len = 0;
    mcsec_mikey_span_t rand;
    memset(&gmk, 0, sizeof gmk);
    memset(&ks, 0, sizeof ks);
    memset(gsk, 0, sizeof gsk);
    mcsec_status_t rc = msg == NULL ? MCSEC_ERR_NOMEM : MCSEC_OK;
    uint64_t ntp = mcsec_handset_now64(c->h), now = ntp >> 32;
    if (rc == MCSEC_OK) rc = mcsec_keystore_current_gmk(c->h->ks, c->group, ntp, &gmk);
    if (rc == MCSEC_OK) rc = our_signer(c->h, now, &ks, &signer);
    if (rc == MCSEC_OK) rc = mcsec_random_bytes(gsk, sizeof gsk);
    if (rc == MCSEC_OK) rc = mcsec_random_bytes((uint8_t *)&gsk_id, sizeof gsk_id);
    if (rc == MCSEC_OK)
        rc = mcsec_gsk_build(signer, c->h->uri, ks.uid, c->group, gmk.gmk, gmk.gmk_id, gsk, gsk_id,
                             ntp, msg, GSK_MSG_MAX, &len);
    if (rc == MCSEC_OK) rc = message_rand(msg, len, &rand);
    if (rc != MCSEC_OK) goto out;
    stop_talking(c);
    if ((rc = stream_make(&c->out, c->suite, gsk, gsk_id, rand.p, rand.len, 1)) != MCSEC_OK)
        goto out;
    end_listening(c); /* we have the floor: the previous talker's stream ends */
    c->gsk_id = gsk_id;
    uint8_t start[6];
    if ((rc = mcsec_random_bytes(start, sizeof start)) != MCSEC_OK) goto out;
    c->seq = (uint16_t)(start[0] << 8 | start[1]) & 0x7fff; /* room before the ROC wraps */
    c->rtp_ts = (uint32_t)start[2] << 24 | (uint32_t)start[3] << 16 | start[4] << 8 | start[5];
    c->packets = c->octets = 0;
    size_t cap_n = len + 2 * MCSEC_PROFILE_URI_MAX + 256;
    if ((c->announce = malloc(cap_n)) == NULL) {
        rc = MCSEC_ERR_NOMEM;
        goto out;
    }
    if ((rc = encode_notification(c, msg, len, c->announce, cap_n, &c->announce_len)) != MCSEC_OK)
        goto out;
    rc = mcsec_call_announcement(c, out, cap, out_len);
out:
    if (rc != MCSEC_OK) stop_talking(c);
    mcsec_eccsi_signer_free(signer);
    mcsec_memzero(&gmk, sizeof gmk);
    mcsec_memzero(&ks, sizeof ks);
    mcsec_memzero(gsk, sizeof gsk);
    free(msg);
    return rc;
}

mcsec_status_t mcsec_call_announcement(const mcsec_call_t *c, uint8_t *out, size_t cap,
                                       size_t *out_len) {
    if (c == NULL || out == NULL || out_len == NULL || c->announce == NULL)
        return MCSEC_ERR_BAD_INPUT;
    if (c->announce_len > cap) return MCSEC_ERR_BAD_LENGTH;
    memcpy(out, c->announce, c->announce_len);
    *out_len = c->announce_len;
    return MCSEC_OK;
}

/* --- Receiving call datagrams ---------------------------------------------------------------- */

static void refuse(mcsec_call_event_t *ev, mcsec_status_t st, mcsec_profile_check_t check,
                   const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void refuse(mcsec_call_event_t *ev, mcsec_status_t st, mcsec_profile_check_t check,
                   const char *fmt, ...) {
    va_list ap;
    ev->kind = MCSEC_CALL_EV_REFUSED;
    ev->status = st;
    ev->check = check;
    va_start(ap, fmt);
    vsnprintf(ev->why, sizeof ev->why, fmt, ap);
    va_end(ap);
}

/* 1 if IDR role `role` of m is the URI uri. */
static int idr_is(const mcsec_mikey_msg_t *m, uint8_t role, const char *uri) {
    for (size_t i = 0; i < m->count; i++) {
        const mcsec_mikey_payload_t *p = &m->payload[i];
        if (p->type == MCSEC_MIKEY_PT_IDR && p->u.idr.role == role)
            return p->u.idr.data.len == strlen(uri) &&
                   memcmp(p->u.idr.data.p, uri, p->u.idr.data.len) == 0;
    }
    return 0;
}

/* The outer fields of a notification agree with its MIKEY message (not yet verified: this only
 * keeps altered copies from spending the message's RAND). */
static int outer_fields_agree(const Mcsec__Call__GroupCallNotification *n) {
    mcsec_mikey_msg_t m;
    return n->talker_uri != NULL &&
           mcsec_mikey_parse(n->gsk_message.data, n->gsk_message.len, &m) == MCSEC_OK &&
           m.hdr.csb_id == n->gsk_id && n->ssrc == n->gsk_id && idr_is(&m, 1, n->talker_uri) &&
           idr_is(&m, 2, n->group_uri);
}

static void handle_notification(mcsec_call_t *c, const Mcsec__Call__GroupCallNotification *n,
                                mcsec_call_event_t *ev) {
    mcsec_gsk_result_t res;
    mcsec_srtp_suite_t suite;
    uint8_t *copy = NULL;
    memset(&res, 0, sizeof res);
    ev->gsk_id = n->gsk_id;
    ev->ssrc = n->ssrc;
    if (n->talker_uri != NULL) snprintf(ev->talker_uri, sizeof ev->talker_uri, "%s", n->talker_uri);
    if (n->version != NOTIFY_VERSION) {
        refuse(ev, MCSEC_ERR_UNSUPPORTED, MCSEC_CHECK_STRUCTURE,
               "call notification version %" PRIu32 " is not 1", n->version);
        return;
    }
    /* Ours, whichever burst: a late loop-back or a replay of an old burst of ours must not
     * take the inbound stream away from the current talker. */
    if (n->talker_uri != NULL && strcmp(n->talker_uri, c->h->uri) == 0) {
        ev->kind = MCSEC_CALL_EV_OWN;
        return;
    }
    if (!outer_fields_agree(n)) {
        refuse(ev, MCSEC_ERR_STRUCTURE, MCSEC_CHECK_STRUCTURE,
               "the notification's group, talker, GSK-ID or SSRC differ from its MIKEY message");
        return;
    }
    if (c->in.srtp != NULL && n->gsk_message.len == c->talker_msg_len &&
        memcmp(n->gsk_message.data, c->talker_msg, c->talker_msg_len) == 0) {
        ev->kind = MCSEC_CALL_EV_REPEAT;
        ev->suite = c->in.suite;
        return;
    }
    if (n->srtp_suite == NULL || !mcsec_srtp_suite_parse(n->srtp_suite, &suite)) {
        refuse(ev, MCSEC_ERR_UNSUPPORTED, MCSEC_CHECK_POLICY, "unknown SRTP suite '%.64s'",
               n->srtp_suite != NULL ? n->srtp_suite : "");
        return;
    }
    if ((copy = malloc(n->gsk_message.len)) == NULL) {
        refuse(ev, MCSEC_ERR_NOMEM, MCSEC_CHECK_NONE, "out of memory");
        return;
    }
    memcpy(copy, n->gsk_message.data, n->gsk_message.len);
    mcsec_gsk_keys_t keys = {mcsec_handset_lookup_gmk, c->h, mcsec_handset_is_member, c->h};
    mcsec_status_t rc = mcsec_gsk_open(c->h->rx, &keys, n->gsk_message.data, n->gsk_message.len,
                                       0, &res);
    ev->check = res.check;
    ev->gmk_id = res.gmk_id;
    ev->timestamp = res.timestamp;
    if (rc != MCSEC_OK) {
        refuse(ev, rc, res.check, "%s", res.why[0] ? res.why : mcsec_strerror(rc));
        goto out;
    }
    if ((rc = stream_make(&c->in, suite, res.gsk, res.gsk_id, res.rand.p, res.rand.len, 0)) !=
        MCSEC_OK) {
        refuse(ev, rc, MCSEC_CHECK_NONE, "cannot set up the SRTP stream: %s",
               mcsec_srtp_last_error());
        goto out;
    }
    stop_talking(c); /* a new talker has the floor */
    mcsec_srtp_free(c->in_alt); /* the other suite's session, if any, was the old talker's */
    c->in_alt = NULL;
    c->in_settled = 0;
    c->talker_ssrc = res.gsk_id;
    snprintf(c->talker, sizeof c->talker, "%s", res.talker_uri);
    free(c->talker_msg);
    c->talker_msg = copy;
    c->talker_msg_len = n->gsk_message.len;
    copy = NULL;
    ev->kind = MCSEC_CALL_EV_JOINED;
    ev->status = MCSEC_OK;
    ev->suite = suite;
out:
    free(copy);
    mcsec_gsk_result_wipe(&res);
}

static void handle_gmk(mcsec_call_t *c, const Mcsec__Call__GmkDelivery *d,
                       mcsec_call_event_t *ev) {
    mcsec_gmk_result_t g;
    memset(&g, 0, sizeof g);
    if (d->member_uri == NULL || strcmp(d->member_uri, c->h->uri) != 0) {
        ev->kind = MCSEC_CALL_EV_OTHER;
        return;
    }
    /* Diagnostic open: a leader repeats its deliveries, and a repeat must not be an error. */
    mcsec_status_t rc = mcsec_gmk_open(c->h->rx, d->i_message.data, d->i_message.len,
                                       MCSEC_OPEN_EXPECT_GMK | MCSEC_OPEN_DIAGNOSTIC, &g);
    ev->check = g.check;
    ev->gmk_id = g.key_id;
    ev->timestamp = g.timestamp;
    if (rc != MCSEC_OK) {
        refuse(ev, rc, g.check, "%s", g.why[0] ? g.why : mcsec_strerror(rc));
        goto out;
    }
    if (!g.fresh) {
        refuse(ev, MCSEC_ERR_STALE, MCSEC_CHECK_FRESHNESS,
               "the GMK message's time is outside the freshness window");
        goto out;
    }
    rc = mcsec_handset_store_gmk(c->h->ks, &g, c->group, &ev->is_new_gmk);
    if (ev->is_new_gmk) mcsec_handset_forget_gmk(c->h, g.key_id);
    if (rc != MCSEC_OK) {
        refuse(ev, rc, MCSEC_CHECK_NONE, "%s", mcsec_keystore_last_error());
        goto out;
    }
    ev->kind = MCSEC_CALL_EV_GMK;
    ev->status = MCSEC_OK;
out:
    mcsec_gmk_result_wipe(&g);
}

mcsec_status_t mcsec_call_handle(mcsec_call_t *c, const uint8_t *dgram, size_t len,
                                 mcsec_call_event_t *ev) {
    if (c == NULL || ev == NULL || (dgram == NULL && len > 0)) return MCSEC_ERR_BAD_INPUT;
    memset(ev, 0, sizeof *ev);
    if (len == 0) return MCSEC_ERR_TRUNCATED;
    Mcsec__Call__CallDatagram *d = mcsec__call__call_datagram__unpack(NULL, len, dgram);
    if (d == NULL) return MCSEC_ERR_STRUCTURE;
    mcsec_status_t rc = MCSEC_OK;
    if (d->body_case == MCSEC__CALL__CALL_DATAGRAM__BODY_CALL) {
        if (d->call->group_uri == NULL || strcmp(d->call->group_uri, c->group) != 0)
            ev->kind = MCSEC_CALL_EV_OTHER;
        else
            handle_notification(c, d->call, ev);
    } else if (d->body_case == MCSEC__CALL__CALL_DATAGRAM__BODY_GMK) {
        if (d->gmk->group_uri == NULL || strcmp(d->gmk->group_uri, c->group) != 0)
            ev->kind = MCSEC_CALL_EV_OTHER;
        else
            handle_gmk(c, d->gmk, ev);
    } else {
        rc = MCSEC_ERR_STRUCTURE;
    }
    mcsec__call__call_datagram__free_unpacked(d, NULL);
    return rc;
}

mcsec_status_t mcsec_call_gmk_datagram(const char *group_uri, const char *member_uri,
                                       const uint8_t *mikey, size_t mikey_len, uint8_t *out,
                                       size_t cap, size_t *out_len) {
    if (group_uri == NULL || member_uri == NULL || mikey == NULL || out == NULL ||
        out_len == NULL)
        return MCSEC_ERR_BAD_INPUT;
    Mcsec__Call__GmkDelivery g = MCSEC__CALL__GMK_DELIVERY__INIT;
    Mcsec__Call__CallDatagram d = MCSEC__CALL__CALL_DATAGRAM__INIT;
    g.group_uri = (char *)group_uri;
    g.member_uri = (char *)member_uri;
    g.i_message.data = (uint8_t *)mikey;
    g.i_message.len = mikey_len;
    d.body_case = MCSEC__CALL__CALL_DATAGRAM__BODY_GMK;
    d.gmk = &g;
    if (mcsec__call__call_datagram__get_packed_size(&d) > cap) return MCSEC_ERR_BAD_LENGTH;
    *out_len = mcsec__call__call_datagram__pack(&d, out);
    return MCSEC_OK;
}

/* --- Media ------------------------------------------------------------------------------------- */

mcsec_status_t mcsec_call_send_media(mcsec_call_t *c, uint8_t payload_type, const uint8_t *payload,
                                     size_t len, uint32_t samples, int marker, uint8_t *out,
                                     size_t cap, size_t *out_len) {
    if (c == NULL || out == NULL || out_len == NULL || (payload == NULL && len > 0) ||
        payload_type > 127)
        return MCSEC_ERR_BAD_INPUT;
    if (c->out.srtp == NULL) return MCSEC_ERR_UNKNOWN_KEY;
    mcsec_rtp_header_t h = {.payload_type = payload_type, .marker = marker, .seq = c->seq,
                            .timestamp = c->rtp_ts, .ssrc = c->gsk_id};
    size_t n = 0;
    mcsec_status_t rc = mcsec_rtp_build(&h, payload, len, out, cap, &n);
    if (rc == MCSEC_OK) rc = mcsec_srtp_protect(c->out.srtp, out, n, cap, out_len);
    if (rc != MCSEC_OK) return rc;
    c->seq++;
    c->rtp_ts += samples;
    c->packets++;
    c->octets += (uint32_t)len;
    return MCSEC_OK;
}

static mcsec_status_t unprotect(mcsec_srtp_t *srtp, int rtcp, uint8_t *pkt, size_t len,
                                size_t *n) {
    return rtcp ? mcsec_srtp_unprotect_rtcp(srtp, pkt, len, n)
                : mcsec_srtp_unprotect(srtp, pkt, len, n);
}

/* Unprotects an inbound SRTP or SRTCP packet with the talker's stream; while the suite is not
 * settled, a VERIFY failure is tried under the other suite (see in_alt). The packet is copied
 * first because a failed AEAD attempt may leave it decrypted in place. */
static mcsec_status_t receive_in(mcsec_call_t *c, int rtcp, uint8_t *pkt, size_t len, size_t *n) {
    uint8_t copy[MCSEC_RTP_MAX_PACKET + MCSEC_SRTP_MAX_OVERHEAD];
    const int trial = !c->in_settled && len > 0 && len <= sizeof copy;
    if (trial) memcpy(copy, pkt, len);
    mcsec_status_t rc = unprotect(c->in.srtp, rtcp, pkt, len, n);
    if (rc == MCSEC_OK) c->in_settled = 1;
    if (rc != MCSEC_ERR_VERIFY || !trial) return rc;
    const mcsec_srtp_suite_t other = c->in.suite == MCSEC_SRTP_AEAD_AES_128_GCM
                                         ? MCSEC_SRTP_AES_CM_128_HMAC_SHA1_80
                                         : MCSEC_SRTP_AEAD_AES_128_GCM;
    if (c->in_alt == NULL && mcsec_srtp_new(&c->in_alt, other, c->in.keys,
                                            c->in.keys + MCSEC_SRTP_KEY_LEN, 0,
                                            c->talker_ssrc) != MCSEC_OK)
        return rc;
    size_t alt_n = 0;
    if (unprotect(c->in_alt, rtcp, copy, len, &alt_n) != MCSEC_OK) return rc;
    mcsec_srtp_t *t = c->in.srtp; /* the other suite it was: it becomes the stream */
    c->in.srtp = c->in_alt;
    c->in.suite = other;
    c->in_alt = t;
    c->in_settled = 1;
    memcpy(pkt, copy, alt_n);
    *n = alt_n;
    return MCSEC_OK;
}

mcsec_status_t mcsec_call_receive_media(mcsec_call_t *c, uint8_t *pkt, size_t len,
                                        mcsec_rtp_header_t *hdr) {
    if (c == NULL || hdr == NULL || (pkt == NULL && len > 0)) return MCSEC_ERR_BAD_INPUT;
    if (c->in.srtp == NULL) return MCSEC_ERR_UNKNOWN_KEY;
    size_t n = 0;
    mcsec_status_t rc = receive_in(c, 0, pkt, len, &n);
    return rc != MCSEC_OK ? rc : mcsec_rtp_parse(pkt, n, hdr);
}

static void put32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* An RTCP sender report (RFC 3550 6.4.1) with no report blocks. */
mcsec_status_t mcsec_call_send_rtcp(mcsec_call_t *c, uint8_t *out, size_t cap, size_t *out_len) {
    if (c == NULL || out == NULL || out_len == NULL) return MCSEC_ERR_BAD_INPUT;
    if (c->out.srtp == NULL) return MCSEC_ERR_UNKNOWN_KEY;
    if (cap < RTCP_SR_LEN) return MCSEC_ERR_BAD_LENGTH;
    uint64_t ntp = mcsec_handset_now64(c->h);
    out[0] = 0x80; /* V=2, P=0, RC=0 */
    out[1] = 200;  /* SR */
    out[2] = 0;
    out[3] = RTCP_SR_LEN / 4 - 1;
    put32(out + 4, c->gsk_id);
    put32(out + 8, (uint32_t)(ntp >> 32));
    put32(out + 12, (uint32_t)ntp);
    put32(out + 16, c->rtp_ts);
    put32(out + 20, c->packets);
    put32(out + 24, c->octets);
    return mcsec_srtp_protect_rtcp(c->out.srtp, out, RTCP_SR_LEN, cap, out_len);
}

mcsec_status_t mcsec_call_receive_rtcp(mcsec_call_t *c, uint8_t *pkt, size_t len) {
    if (c == NULL || (pkt == NULL && len > 0)) return MCSEC_ERR_BAD_INPUT;
    if (c->in.srtp == NULL) return MCSEC_ERR_UNKNOWN_KEY;
    size_t n = 0;
    return receive_in(c, 1, pkt, len, &n);
}

mcsec_status_t mcsec_call_stream_keys(const mcsec_call_t *c, int outbound,
                                      uint8_t key[MCSEC_SRTP_KEY_LEN],
                                      uint8_t salt[MCSEC_SRTP_SALT_MAX],
                                      mcsec_srtp_suite_t *suite) {
    if (c == NULL || key == NULL || salt == NULL || suite == NULL) return MCSEC_ERR_BAD_INPUT;
    const stream_t *s = outbound ? &c->out : &c->in;
    if (s->srtp == NULL) return MCSEC_ERR_UNKNOWN_KEY;
    memcpy(key, s->keys, MCSEC_SRTP_KEY_LEN);
    memset(salt, 0, MCSEC_SRTP_SALT_MAX);
    memcpy(salt, s->keys + MCSEC_SRTP_KEY_LEN, mcsec_srtp_salt_len(s->suite));
    *suite = s->suite;
    return MCSEC_OK;
}
