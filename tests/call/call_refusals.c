/* Group call refusals, each with its exact status (and, for call messages, event kind REFUSED
 * and the failing check), through mcsec_call_handle / mcsec_call_receive_media /
 * mcsec_call_receive_rtcp in one thread; after each refusal a good message or packet still
 * passes. Handsets T and U talk, R listens.
 *
 * Groups (each with its own group identity signing its GMKs):
 *   G   everyone holds GMK g1
 *   G2  T holds g2a and the newer g2b, R only g2a              (unknown GMK-ID)
 *   G3  T holds g3 without expiry, R and U with expiry passed  (expired GMK)
 *   G4  T holds g4 without expiry, R with expiry in 150 s      (expired at a talker clock)
 *   G5  T and R hold g5                                        (another group's message)
 *   G6  T holds g6; R gets g6 as a GMK delivery datagram */
#include "test.h"

#include "call_test.h"

static ct_kms_t kms;
static ct_group_t G, G2, G3, G4, G5, G6;
static ct_member_t T, R, U;
static uint32_t g1, g2a, g2b, g3, g4, g5, g6;

#define CAP 4096
#define PKT_CAP (MCSEC_RTP_MAX_PACKET + MCSEC_SRTP_MAX_OVERHEAD)

static int check_at(int line, int ok, const char *what) {
    if (ok) {
        test_passed++;
    } else {
        test_failed++;
        fprintf(stderr, "%s:%d: %s\n", __FILE__, line, what);
    }
    return ok;
}

static const char *kind_name(mcsec_call_event_kind_t k) {
    switch (k) {
    case MCSEC_CALL_EV_JOINED:
        return "JOINED";
    case MCSEC_CALL_EV_REPEAT:
        return "REPEAT";
    case MCSEC_CALL_EV_OWN:
        return "OWN";
    case MCSEC_CALL_EV_GMK:
        return "GMK";
    case MCSEC_CALL_EV_OTHER:
        return "OTHER";
    case MCSEC_CALL_EV_REFUSED:
        return "REFUSED";
    }
    return "?";
}

/* Handles d; checks the event kind (and for REFUSED the status and check). */
static mcsec_call_event_t expect_at(int line, mcsec_call_t *c, const uint8_t *d, size_t len,
                                    mcsec_call_event_kind_t kind, mcsec_status_t st,
                                    mcsec_profile_check_t chk) {
    mcsec_call_event_t ev;
    char what[1024];
    memset(&ev, 0, sizeof ev);
    mcsec_status_t rc = mcsec_call_handle(c, d, len, &ev);
    int ok = rc == MCSEC_OK && ev.kind == kind;
    if (kind == MCSEC_CALL_EV_REFUSED)
        ok = ok && ev.status == st && ev.check == chk && ev.why[0] != 0 &&
             strchr(ev.why, '\n') == NULL;
    snprintf(what, sizeof what,
             "handle: %s, %s status %d (%s) check %s why '%s'; want %s status %d (%s) check %s",
             mcsec_strerror(rc), kind_name(ev.kind), (int)ev.status, mcsec_strerror(ev.status),
             mcsec_profile_check_name(ev.check), ev.why, kind_name(kind), (int)st,
             mcsec_strerror(st), mcsec_profile_check_name(chk));
    check_at(line, ok, what);
    return ev;
}

#define EXPECT(c, d, len, kind) expect_at(__LINE__, c, d, len, kind, MCSEC_OK, MCSEC_CHECK_NONE)
#define EXPECT_REFUSED(c, d, len, st, chk)                                                         \
    expect_at(__LINE__, c, d, len, MCSEC_CALL_EV_REFUSED, st, chk)

/* Receives a copy of pkt (receive works in place); checks the status. */
static void media_at(int line, mcsec_call_t *c, const uint8_t *pkt, size_t len,
                     mcsec_status_t want) {
    uint8_t copy[PKT_CAP];
    mcsec_rtp_header_t hdr;
    char what[256];
    memcpy(copy, pkt, len);
    mcsec_status_t rc = mcsec_call_receive_media(c, copy, len, &hdr);
    snprintf(what, sizeof what, "receive_media(%zu octets): %d (%s), want %d (%s)", len, (int)rc,
             mcsec_strerror(rc), (int)want, mcsec_strerror(want));
    check_at(line, rc == want, what);
}
#define MEDIA(c, pkt, len, want) media_at(__LINE__, c, pkt, len, want)

static void rtcp_at(int line, mcsec_call_t *c, const uint8_t *pkt, size_t len,
                    mcsec_status_t want) {
    uint8_t copy[PKT_CAP];
    char what[256];
    memcpy(copy, pkt, len);
    mcsec_status_t rc = mcsec_call_receive_rtcp(c, copy, len);
    snprintf(what, sizeof what, "receive_rtcp(%zu octets): %d (%s), want %d (%s)", len, (int)rc,
             mcsec_strerror(rc), (int)want, mcsec_strerror(want));
    check_at(line, rc == want, what);
}
#define RTCP(c, pkt, len, want) rtcp_at(__LINE__, c, pkt, len, want)

static size_t talk(mcsec_call_t *c, uint8_t *out) {
    size_t len = 0;
    CHECK_STATUS(mcsec_call_talk(c, out, CAP, &len), MCSEC_OK);
    return len;
}

/* The GSK-ID a notification announces (0 if it does not decode). */
static uint32_t gsk_of(const uint8_t *d, size_t len) {
    Mcsec__Call__CallDatagram *dg = ct_unpack(d, len);
    uint32_t id = dg != NULL ? dg->call->gsk_id : 0;
    if (dg != NULL) mcsec__call__call_datagram__free_unpacked(dg, NULL);
    return id;
}

/* Packet k of talker c (payload ct_payload(tag, k)). */
static size_t packet(mcsec_call_t *c, uint8_t tag, unsigned k, uint8_t *out) {
    uint8_t payload[CT_FRAME];
    size_t len = 0;
    ct_payload(tag, k, payload);
    CHECK_STATUS(mcsec_call_send_media(c, MCSEC_RTP_PT_PCMU, payload, sizeof payload, CT_FRAME,
                                       k == 0, out, PKT_CAP, &len),
                 MCSEC_OK);
    return len;
}

/* --- Call messages --------------------------------------------------------------------------- */

static void t_member(void) {
    printf("non-member talker\n");
    uint8_t n[CAP], nu[CAP];
    mcsec_call_t *tc = ct_call(&T, G.uri, MCSEC_SRTP_AEAD_AES_128_GCM);
    mcsec_call_t *uc = ct_call(&U, G.uri, MCSEC_SRTP_AEAD_AES_128_GCM);
    mcsec_call_t *rc = ct_call(&R, G.uri, MCSEC_SRTP_AEAD_AES_128_GCM);
    const char *without_t[] = {R.uri, U.uri};
    const char *with_t[] = {R.uri, T.uri, U.uri};
    CHECK_STATUS(mcsec_handset_set_members(R.h, G.uri, without_t, 2), MCSEC_OK);
    size_t len = talk(tc, n);
    EXPECT_REFUSED(rc, n, len, MCSEC_ERR_POLICY, MCSEC_CHECK_MEMBER);
    uint32_t cur = 1;
    char uri[256];
    CHECK(mcsec_call_talker(rc, &cur, uri, sizeof uri) == 0 && cur == 0);
    /* a listed member passes */
    size_t ulen = talk(uc, nu);
    mcsec_call_event_t ev = EXPECT(rc, nu, ulen, MCSEC_CALL_EV_JOINED);
    CHECK(strcmp(ev.talker_uri, U.uri) == 0);
    /* T listed: passes */
    CHECK_STATUS(mcsec_handset_set_members(R.h, G.uri, with_t, 3), MCSEC_OK);
    len = talk(tc, n);
    ev = EXPECT(rc, n, len, MCSEC_CALL_EV_JOINED);
    CHECK(strcmp(ev.talker_uri, T.uri) == 0);
    /* a list for another group does not apply to G */
    CHECK_STATUS(mcsec_handset_set_members(R.h, G.uri, without_t, 0), MCSEC_OK);
    CHECK_STATUS(mcsec_handset_set_members(R.h, G2.uri, without_t, 2), MCSEC_OK);
    ulen = talk(uc, nu);
    EXPECT(rc, nu, ulen, MCSEC_CALL_EV_JOINED);
    len = talk(tc, n);
    EXPECT(rc, n, len, MCSEC_CALL_EV_JOINED);
    CHECK_STATUS(mcsec_handset_set_members(R.h, G2.uri, NULL, 0), MCSEC_OK);
    mcsec_call_free(tc);
    mcsec_call_free(uc);
    mcsec_call_free(rc);
}

/* Rewrites one octet of the GSK message inside a notification. */
static size_t flip_gsk_octet(const uint8_t *n, size_t len, long at, uint8_t *out) {
    Mcsec__Call__CallDatagram *dg = ct_unpack(n, len);
    CHECK(dg != NULL);
    if (dg == NULL) return 0;
    ProtobufCBinaryData *m = &dg->call->gsk_message;
    size_t i = at >= 0 ? (size_t)at : m->len - (size_t)(-at);
    m->data[i] ^= 0x01;
    size_t out_len = ct_pack(dg, out, CAP);
    mcsec__call__call_datagram__free_unpacked(dg, NULL);
    return out_len;
}

static void t_signature(void) {
    printf("bad signature\n");
    uint8_t n[CAP], bad[CAP];
    mcsec_call_t *tc = ct_call(&T, G.uri, MCSEC_SRTP_AEAD_AES_128_GCM);
    mcsec_call_t *rc = ct_call(&R, G.uri, MCSEC_SRTP_AEAD_AES_128_GCM);
    size_t len = talk(tc, n);
    /* SIGN is last: r (32) || s (32) || PVT (65). */
    size_t blen = flip_gsk_octet(n, len, -129 + 5, bad); /* in r */
    EXPECT_REFUSED(rc, bad, blen, MCSEC_ERR_VERIFY, MCSEC_CHECK_SIGNATURE);
    blen = flip_gsk_octet(n, len, -129 + 40, bad); /* in s */
    EXPECT_REFUSED(rc, bad, blen, MCSEC_ERR_VERIFY, MCSEC_CHECK_SIGNATURE);
    /* a signed octet: inside RAND (HDR 21 octets, T 10, RAND header 2; docs/protocol.md) */
    blen = flip_gsk_octet(n, len, 21 + 10 + 2 + 4, bad);
    EXPECT_REFUSED(rc, bad, blen, MCSEC_ERR_VERIFY, MCSEC_CHECK_SIGNATURE);
    /* the genuine message still passes: refused ones left no trace in the replay cache */
    mcsec_call_event_t ev = EXPECT(rc, n, len, MCSEC_CALL_EV_JOINED);
    CHECK(ev.gsk_id == gsk_of(n, len) && ev.gmk_id == g1);
    mcsec_call_free(tc);
    mcsec_call_free(rc);
}

static void t_unknown_gmk(void) {
    printf("unknown GMK-ID\n");
    uint8_t n[CAP], gmk[16];
    mcsec_call_t *tc = ct_call(&T, G2.uri, MCSEC_SRTP_AEAD_AES_128_GCM);
    mcsec_call_t *rc = ct_call(&R, G2.uri, MCSEC_SRTP_AEAD_AES_128_GCM);
    size_t len = talk(tc, n); /* under g2b, which R lacks */
    EXPECT_REFUSED(rc, n, len, MCSEC_ERR_UNKNOWN_KEY, MCSEC_CHECK_KEY_LOOKUP);
    /* R receives g2b: T's next burst passes */
    mcsec_gmk_record_t rec; /* the same key as T's: from T's store */
    CHECK_STATUS(mcsec_keystore_get_gmk(T.ks, g2b, &rec), MCSEC_OK);
    memcpy(gmk, rec.gmk, sizeof gmk);
    mcsec_memzero(&rec, sizeof rec);
    ct_deliver(&G2, &R, gmk, g2b, 0);
    mcsec_memzero(gmk, sizeof gmk);
    len = talk(tc, n);
    mcsec_call_event_t ev = EXPECT(rc, n, len, MCSEC_CALL_EV_JOINED);
    CHECK(ev.gmk_id == g2b);
    /* A talker without any GMK of the group cannot talk. */
    mcsec_call_t *uc = ct_call(&U, G2.uri, MCSEC_SRTP_AEAD_AES_128_GCM);
    size_t ulen = 0;
    CHECK_STATUS(mcsec_call_talk(uc, n, sizeof n, &ulen), MCSEC_ERR_UNKNOWN_KEY);
    CHECK(!mcsec_call_is_talking(uc));
    CHECK_STATUS(mcsec_call_announcement(uc, n, sizeof n, &ulen), MCSEC_ERR_BAD_INPUT);
    mcsec_call_free(uc);
    mcsec_call_free(tc);
    mcsec_call_free(rc);
}

static void t_replay(void) {
    printf("replayed call message\n");
    uint8_t nt[CAP], nu[CAP], pkt[PKT_CAP];
    mcsec_call_t *tc = ct_call(&T, G.uri, MCSEC_SRTP_AEAD_AES_128_GCM);
    mcsec_call_t *uc = ct_call(&U, G.uri, MCSEC_SRTP_AEAD_AES_128_GCM);
    mcsec_call_t *rc = ct_call(&R, G.uri, MCSEC_SRTP_AEAD_AES_128_GCM);
    size_t tlen = talk(tc, nt);
    EXPECT(rc, nt, tlen, MCSEC_CALL_EV_JOINED);
    /* the current talker's message again is a repeat, not a replay */
    EXPECT(rc, nt, tlen, MCSEC_CALL_EV_REPEAT);
    size_t ulen = talk(uc, nu);
    EXPECT(rc, nu, ulen, MCSEC_CALL_EV_JOINED);
    /* T's old burst after the talker change */
    EXPECT_REFUSED(rc, nt, tlen, MCSEC_ERR_REPLAY, MCSEC_CHECK_REPLAY);
    uint32_t cur = 0;
    char uri[256] = "";
    CHECK(mcsec_call_talker(rc, &cur, uri, sizeof uri) == 1 && cur == gsk_of(nu, ulen));
    CHECK(strcmp(uri, U.uri) == 0);
    EXPECT(rc, nu, ulen, MCSEC_CALL_EV_REPEAT);
    size_t plen = packet(uc, 2, 0, pkt);
    MEDIA(rc, pkt, plen, MCSEC_OK);
    /* the replay cache is the handset's: another call of R refuses it too */
    mcsec_call_t *rc2 = ct_call(&R, G.uri, MCSEC_SRTP_AEAD_AES_128_GCM);
    EXPECT_REFUSED(rc2, nt, tlen, MCSEC_ERR_REPLAY, MCSEC_CHECK_REPLAY);
    EXPECT_REFUSED(rc2, nu, ulen, MCSEC_ERR_REPLAY, MCSEC_CHECK_REPLAY);
    mcsec_call_free(rc2);
    mcsec_call_free(tc);
    mcsec_call_free(uc);
    mcsec_call_free(rc);
}

static uint64_t clock_offset(void *user) {
    return (uint64_t)((int64_t)ct_ntp_seconds() + *(const int64_t *)user);
}

static void t_expired(void) {
    printf("expired GMK\n");
    uint8_t n[CAP];
    /* G3: R's g3 expired a minute ago; T's never expires. */
    mcsec_call_t *tc = ct_call(&T, G3.uri, MCSEC_SRTP_AEAD_AES_128_GCM);
    mcsec_call_t *rc = ct_call(&R, G3.uri, MCSEC_SRTP_AEAD_AES_128_GCM);
    size_t len = talk(tc, n);
    EXPECT_REFUSED(rc, n, len, MCSEC_ERR_EXPIRED, MCSEC_CHECK_KEY_LOOKUP);
    /* a talker whose only GMK expired cannot talk */
    mcsec_call_t *uc = ct_call(&U, G3.uri, MCSEC_SRTP_AEAD_AES_128_GCM);
    size_t ulen = 0;
    CHECK_STATUS(mcsec_call_talk(uc, n, sizeof n, &ulen), MCSEC_ERR_EXPIRED);
    mcsec_call_free(uc);
    mcsec_call_free(tc);
    mcsec_call_free(rc);

    /* G4: R's g4 expires 150 s after set-up; a message made at T's clock 250 s ahead is past
     * it (and still inside R's 300 s freshness window). */
    static int64_t ahead = 250;
    tc = ct_call(&T, G4.uri, MCSEC_SRTP_AEAD_AES_128_GCM);
    rc = ct_call(&R, G4.uri, MCSEC_SRTP_AEAD_AES_128_GCM);
    mcsec_handset_set_clock(T.h, clock_offset, &ahead);
    len = talk(tc, n);
    mcsec_handset_set_clock(T.h, NULL, NULL);
    EXPECT_REFUSED(rc, n, len, MCSEC_ERR_EXPIRED, MCSEC_CHECK_KEY_LOOKUP);
    len = talk(tc, n);
    mcsec_call_event_t ev = EXPECT(rc, n, len, MCSEC_CALL_EV_JOINED);
    CHECK(ev.gmk_id == g4);
    mcsec_call_free(tc);
    mcsec_call_free(rc);
}

static void t_freshness(void) {
    printf("pre-generated and stale call messages\n");
    static int64_t off;
    uint8_t n[CAP];
    mcsec_call_t *tc = ct_call(&T, G.uri, MCSEC_SRTP_AEAD_AES_128_GCM);
    mcsec_call_t *rc = ct_call(&R, G.uri, MCSEC_SRTP_AEAD_AES_128_GCM);
    mcsec_handset_set_clock(T.h, clock_offset, &off);
    off = -200; /* made 200 s ago: inside the window */
    size_t len = talk(tc, n);
    mcsec_call_event_t ev = EXPECT(rc, n, len, MCSEC_CALL_EV_JOINED);
    CHECK(ev.timestamp >> 32 <= ct_ntp_seconds() - 199 &&
          ev.timestamp >> 32 >= ct_ntp_seconds() - 202);
    off = -400;
    len = talk(tc, n);
    EXPECT_REFUSED(rc, n, len, MCSEC_ERR_STALE, MCSEC_CHECK_FRESHNESS);
    off = 400;
    len = talk(tc, n);
    EXPECT_REFUSED(rc, n, len, MCSEC_ERR_STALE, MCSEC_CHECK_FRESHNESS);
    mcsec_handset_set_clock(T.h, NULL, NULL);
    len = talk(tc, n);
    EXPECT(rc, n, len, MCSEC_CALL_EV_JOINED);
    mcsec_call_free(tc);
    mcsec_call_free(rc);
}

/* Notifications whose outer fields disagree with the signed MIKEY message. */
typedef enum {
    OUTER_GSK,
    OUTER_SSRC,
    OUTER_BOTH,
    OUTER_TALKER,
    OUTER_GROUP,
    OUTER_VERSION,
    OUTER_SUITE,
    OUTER_SUITE_SWAP /* the other valid suite name */
} outer_t;

static size_t rewrite(const uint8_t *n, size_t len, outer_t what, uint8_t *out) {
    Mcsec__Call__CallDatagram *dg = ct_unpack(n, len);
    CHECK(dg != NULL);
    if (dg == NULL) return 0;
    Mcsec__Call__GroupCallNotification *c = dg->call;
    char *old_talker = c->talker_uri, *old_group = c->group_uri, *old_suite = c->srtp_suite;
    switch (what) {
    case OUTER_GSK:
        c->gsk_id ^= 1;
        break;
    case OUTER_SSRC:
        c->ssrc ^= 1;
        break;
    case OUTER_BOTH:
        c->gsk_id = c->ssrc = c->gsk_id ^ 0x100;
        break;
    case OUTER_TALKER:
        c->talker_uri = U.uri;
        break;
    case OUTER_GROUP:
        c->group_uri = G.uri;
        break;
    case OUTER_VERSION:
        c->version = 2;
        break;
    case OUTER_SUITE:
        c->srtp_suite = (char *)"NULL_NULL";
        break;
    case OUTER_SUITE_SWAP:
        c->srtp_suite =
            (char *)(strcmp(c->srtp_suite, "AEAD_AES_128_GCM") == 0 ? "AES_CM_128_HMAC_SHA1_80"
                                                                    : "AEAD_AES_128_GCM");
        break;
    }
    size_t out_len = ct_pack(dg, out, CAP);
    c->talker_uri = old_talker;
    c->group_uri = old_group;
    c->srtp_suite = old_suite; /* free_unpacked frees what unpack made */
    mcsec__call__call_datagram__free_unpacked(dg, NULL);
    return out_len;
}

static void t_outer_fields(void) {
    printf("outer fields disagreeing with the GSK message\n");
    uint8_t n[CAP], bad[CAP];
    mcsec_call_t *tc = ct_call(&T, G.uri, MCSEC_SRTP_AEAD_AES_128_GCM);
    mcsec_call_t *t5 = ct_call(&T, G5.uri, MCSEC_SRTP_AEAD_AES_128_GCM);
    mcsec_call_t *rc = ct_call(&R, G.uri, MCSEC_SRTP_AEAD_AES_128_GCM);
    size_t len = talk(tc, n);
    static const outer_t kinds[] = {OUTER_GSK, OUTER_SSRC, OUTER_BOTH, OUTER_TALKER};
    static const char *names[] = {"gsk_id", "ssrc", "gsk_id and ssrc", "talker"};
    for (size_t i = 0; i < 4; i++) {
        printf("  %s\n", names[i]);
        size_t blen = rewrite(n, len, kinds[i], bad);
        EXPECT_REFUSED(rc, bad, blen, MCSEC_ERR_STRUCTURE, MCSEC_CHECK_STRUCTURE);
    }
    /* G5's message (R holds g5) announced as G's */
    printf("  group\n");
    uint8_t n5[CAP];
    size_t len5 = talk(t5, n5);
    size_t blen = rewrite(n5, len5, OUTER_GROUP, bad);
    EXPECT_REFUSED(rc, bad, blen, MCSEC_ERR_STRUCTURE, MCSEC_CHECK_STRUCTURE);
    /* as it was sent, G5's message is for another group */
    EXPECT(rc, n5, len5, MCSEC_CALL_EV_OTHER);
    /* an unknown notification version, an unknown suite name */
    printf("  version 2\n");
    blen = rewrite(n, len, OUTER_VERSION, bad);
    EXPECT_REFUSED(rc, bad, blen, MCSEC_ERR_UNSUPPORTED, MCSEC_CHECK_STRUCTURE);
    printf("  suite NULL_NULL\n");
    blen = rewrite(n, len, OUTER_SUITE, bad);
    EXPECT_REFUSED(rc, bad, blen, MCSEC_ERR_UNSUPPORTED, MCSEC_CHECK_POLICY);
    /* the genuine notifications still pass after the altered copies were refused */
    mcsec_call_event_t ev = EXPECT(rc, n, len, MCSEC_CALL_EV_JOINED);
    CHECK(ev.gsk_id == gsk_of(n, len));
    /* altered copies of the current talker's message: still refused, not a REPEAT */
    for (size_t i = 0; i < 4; i++) {
        printf("  %s, current talker's message\n", names[i]);
        size_t blen2 = rewrite(n, len, kinds[i], bad);
        EXPECT_REFUSED(rc, bad, blen2, MCSEC_ERR_STRUCTURE, MCSEC_CHECK_STRUCTURE);
    }
    EXPECT(rc, n, len, MCSEC_CALL_EV_REPEAT);
    mcsec_call_t *r5 = ct_call(&R, G5.uri, MCSEC_SRTP_AEAD_AES_128_GCM);
    ev = EXPECT(r5, n5, len5, MCSEC_CALL_EV_JOINED);
    CHECK(ev.gmk_id == g5);
    mcsec_call_free(r5);
    mcsec_call_free(tc);
    mcsec_call_free(t5);
    mcsec_call_free(rc);
}

/* The suite name swapped for the other valid one on the wire (after signing). It is not
 * covered by the signature nor by the outer-field check: the receiver joins (JOINED, with the
 * swapped suite) and then refuses every packet of the burst (VERIFY), delivering nothing. The
 * genuine notification, re-sent for late joiners, is byte-identical in its GSK message and so
 * a REPEAT: it does not repair the suite, and the burst stays undecryptable for that receiver
 * (denial of service only) until the talker's next burst; a member that saw the genuine
 * notification first decrypts, and ignores the swapped copy as a REPEAT. */
/* The suite c's inbound stream uses now. */
static mcsec_srtp_suite_t inbound_suite(const mcsec_call_t *c) {
    uint8_t key[MCSEC_SRTP_KEY_LEN], salt[MCSEC_SRTP_SALT_MAX];
    mcsec_srtp_suite_t s = (mcsec_srtp_suite_t)-1;
    CHECK_STATUS(mcsec_call_stream_keys(c, 0, key, salt, &s), MCSEC_OK);
    return s;
}

/* Packet k of tag received by c: OK, and the payload is the one sent. */
static void media_payload_at(int line, mcsec_call_t *c, const uint8_t *pkt, size_t len,
                             uint8_t tag, unsigned k) {
    uint8_t copy[PKT_CAP], want[CT_FRAME];
    mcsec_rtp_header_t hdr;
    memcpy(copy, pkt, len);
    ct_payload(tag, k, want);
    mcsec_status_t rc = mcsec_call_receive_media(c, copy, len, &hdr);
    check_at(line, rc == MCSEC_OK, "receive_media of a genuine packet");
    check_at(line,
             rc == MCSEC_OK && hdr.payload_len == sizeof want &&
                 memcmp(copy + hdr.header_len, want, sizeof want) == 0,
             "the payload received is the one sent");
}
#define MEDIA_PAYLOAD(c, pkt, len, tag, k) media_payload_at(__LINE__, c, pkt, len, tag, k)

/* The suite name is not signed. A receiver that joins a copy whose name was swapped tries a
 * packet that fails VERIFY under the other suite too, until a packet has verified, and moves
 * to the suite the talker used: nothing of the burst is lost. A forged packet fails under
 * both and moves nothing. */
static void t_suite_swap(mcsec_srtp_suite_t suite) {
    mcsec_srtp_suite_t other = suite == MCSEC_SRTP_AEAD_AES_128_GCM
                                   ? MCSEC_SRTP_AES_CM_128_HMAC_SHA1_80
                                   : MCSEC_SRTP_AEAD_AES_128_GCM;
    printf("suite name swapped on the wire, talker %s\n", mcsec_srtp_suite_name(suite));
    uint8_t n[CAP], bad[CAP], p[PKT_CAP], f[PKT_CAP], rtcp[256];
    mcsec_call_t *tc = ct_call(&T, G.uri, suite);
    mcsec_call_t *rc = ct_call(&R, G.uri, suite);
    mcsec_call_t *uc = ct_call(&U, G.uri, other);
    size_t len = talk(tc, n), blen = rewrite(n, len, OUTER_SUITE_SWAP, bad);
    CHECK(blen > 0 && blen != len);
    /* R gets the swapped copy first, U the genuine one. */
    mcsec_call_event_t ev = EXPECT(rc, bad, blen, MCSEC_CALL_EV_JOINED);
    CHECK(ev.suite == other && ev.gsk_id == gsk_of(n, len));
    CHECK(inbound_suite(rc) == other);
    ev = EXPECT(uc, n, len, MCSEC_CALL_EV_JOINED);
    CHECK(ev.suite == suite);
    /* A forged packet (its last octet changed) fails under both suites: R stays as it was. */
    size_t pl = packet(tc, 3, 0, p);
    memcpy(f, p, pl);
    f[pl - 1] ^= 0x01;
    MEDIA(rc, f, pl, MCSEC_ERR_VERIFY);
    CHECK(inbound_suite(rc) == other);
    MEDIA(uc, f, pl, MCSEC_ERR_VERIFY);
    /* The genuine packets: R moves to the talker's suite on the first and loses none. */
    MEDIA_PAYLOAD(rc, p, pl, 3, 0);
    CHECK(inbound_suite(rc) == suite);
    MEDIA_PAYLOAD(uc, p, pl, 3, 0);
    for (unsigned k = 1; k < 6; k++) {
        pl = packet(tc, 3, k, p);
        MEDIA_PAYLOAD(rc, p, pl, 3, k);
        MEDIA_PAYLOAD(uc, p, pl, 3, k);
    }
    /* The genuine notification (re-sent) and the swapped copy change nothing for either. */
    ev = EXPECT(rc, n, len, MCSEC_CALL_EV_REPEAT);
    CHECK(ev.suite == suite);
    ev = EXPECT(uc, bad, blen, MCSEC_CALL_EV_REPEAT);
    CHECK(ev.suite == suite);
    pl = packet(tc, 3, 6, p);
    MEDIA_PAYLOAD(rc, p, pl, 3, 6);
    MEDIA_PAYLOAD(uc, p, pl, 3, 6);
    /* The next burst (a new GSK), swapped again: its first SRTCP report moves R just the same. */
    len = talk(tc, n);
    blen = rewrite(n, len, OUTER_SUITE_SWAP, bad);
    ev = EXPECT(rc, bad, blen, MCSEC_CALL_EV_JOINED);
    CHECK(ev.suite == other && inbound_suite(rc) == other);
    size_t rl = 0;
    CHECK_STATUS(mcsec_call_send_rtcp(tc, rtcp, sizeof rtcp, &rl), MCSEC_OK);
    RTCP(rc, rtcp, rl, MCSEC_OK);
    CHECK(inbound_suite(rc) == suite);
    pl = packet(tc, 4, 0, p);
    MEDIA_PAYLOAD(rc, p, pl, 4, 0);
    mcsec_call_free(tc);
    mcsec_call_free(rc);
    mcsec_call_free(uc);
}

/* Not a call datagram: mcsec_call_handle returns an error (BAD_INPUT, TRUNCATED or
 * STRUCTURE as client.h documents; the exact one here: TRUNCATED for an empty datagram,
 * STRUCTURE for one that does not decode or carries no body) and touches nothing. */
static void not_call_at(int line, mcsec_call_t *c, const uint8_t *d, size_t len) {
    mcsec_call_event_t ev;
    char what[256];
    mcsec_status_t want = len == 0 ? MCSEC_ERR_TRUNCATED : MCSEC_ERR_STRUCTURE;
    memset(&ev, 0, sizeof ev);
    mcsec_status_t rc = mcsec_call_handle(c, d, len, &ev);
    snprintf(what, sizeof what, "handle(%zu octets, not a call datagram): %d (%s), want %d (%s)",
             len, (int)rc, mcsec_strerror(rc), (int)want, mcsec_strerror(want));
    check_at(line, rc == want, what);
}
#define NOT_CALL(c, d, len) not_call_at(__LINE__, c, d, len)

static void t_not_call(void) {
    printf("not call datagrams\n");
    uint8_t n[CAP], junk[64];
    mcsec_call_t *tc = ct_call(&T, G.uri, MCSEC_SRTP_AEAD_AES_128_GCM);
    mcsec_call_t *rc = ct_call(&R, G.uri, MCSEC_SRTP_AEAD_AES_128_GCM);
    size_t len = talk(tc, n);
    NOT_CALL(rc, n, 0);
    memset(junk, 0xff, sizeof junk);
    NOT_CALL(rc, junk, sizeof junk);
    NOT_CALL(rc, (const uint8_t *)"hello, world", 12);
    for (size_t cut = 1; cut < len; cut += len / 7)
        NOT_CALL(rc, n, cut); /* a notification cut short */
    /* a valid CallDatagram carrying neither body */
    Mcsec__Call__CallDatagram empty = MCSEC__CALL__CALL_DATAGRAM__INIT;
    uint8_t e[16];
    size_t elen = ct_pack(&empty, e, sizeof e);
    NOT_CALL(rc, e, elen);
    EXPECT(rc, n, len, MCSEC_CALL_EV_JOINED);
    mcsec_call_free(tc);
    mcsec_call_free(rc);
}

static void t_gmk_delivery(void) {
    printf("GMK delivery datagrams\n");
    uint8_t msg[4096], d[CAP], n[CAP], gmk[16];
    size_t dlen = 0;
    mcsec_call_t *rc = ct_call(&R, G6.uri, MCSEC_SRTP_AEAD_AES_128_GCM);
    mcsec_call_t *tc = ct_call(&T, G6.uri, MCSEC_SRTP_AEAD_AES_128_GCM);
    mcsec_gmk_record_t rec;
    CHECK_STATUS(mcsec_keystore_get_gmk(T.ks, g6, &rec), MCSEC_OK);
    memcpy(gmk, rec.gmk, sizeof gmk);
    mcsec_memzero(&rec, sizeof rec);
    /* for U: another member's, ignored */
    size_t mlen = ct_gmk_message(&G6, U.uri, gmk, g6, 0, msg, sizeof msg);
    CHECK_STATUS(mcsec_call_gmk_datagram(G6.uri, U.uri, msg, mlen, d, sizeof d, &dlen), MCSEC_OK);
    EXPECT(rc, d, dlen, MCSEC_CALL_EV_OTHER);
    /* addressed to R, but the I_MESSAGE inside is U's */
    CHECK_STATUS(mcsec_call_gmk_datagram(G6.uri, R.uri, msg, mlen, d, sizeof d, &dlen), MCSEC_OK);
    EXPECT_REFUSED(rc, d, dlen, MCSEC_ERR_WRONG_RECIPIENT, MCSEC_CHECK_RECIPIENT);
    CHECK_STATUS(mcsec_keystore_get_gmk(R.ks, g6, &rec), MCSEC_ERR_UNKNOWN_KEY);
    /* R's own */
    mlen = ct_gmk_message(&G6, R.uri, gmk, g6, 0, msg, sizeof msg);
    mcsec_memzero(gmk, sizeof gmk);
    CHECK_STATUS(mcsec_call_gmk_datagram(G6.uri, R.uri, msg, mlen, d, sizeof d, &dlen), MCSEC_OK);
    mcsec_call_event_t ev = EXPECT(rc, d, dlen, MCSEC_CALL_EV_GMK);
    CHECK(ev.gmk_id == g6 && ev.is_new_gmk == 1);
    CHECK_STATUS(mcsec_keystore_get_gmk(R.ks, g6, &rec), MCSEC_OK);
    CHECK(strcmp(rec.group_uri, G6.uri) == 0);
    mcsec_memzero(&rec, sizeof rec);
    /* and the talk under it works */
    size_t len = talk(tc, n);
    ev = EXPECT(rc, n, len, MCSEC_CALL_EV_JOINED);
    CHECK(ev.gmk_id == g6);
    mcsec_call_free(tc);
    mcsec_call_free(rc);
}

/* --- Media ----------------------------------------------------------------------------------- */

static void t_media(mcsec_srtp_suite_t suite) {
    printf("SRTP refusals, %s\n", mcsec_srtp_suite_name(suite));
    const size_t tag = suite == MCSEC_SRTP_AEAD_AES_128_GCM ? 16 : 10;
    static uint8_t p[8][PKT_CAP], q[140][PKT_CAP];
    size_t pl[8], ql[140];
    uint8_t n[CAP], nu[CAP], bad[PKT_CAP], rtcp[PKT_CAP];
    mcsec_call_t *tc = ct_call(&T, G.uri, suite);
    mcsec_call_t *uc = ct_call(&U, G.uri, MCSEC_SRTP_AEAD_AES_128_GCM);
    mcsec_call_t *rc = ct_call(&R, G.uri, MCSEC_SRTP_AEAD_AES_128_GCM);
    size_t len = talk(tc, n);
    uint32_t ssrc = gsk_of(n, len);
    for (unsigned k = 0; k < 8; k++)
        pl[k] = packet(tc, 1, k, p[k]);
    CHECK(pl[0] == 12 + CT_FRAME + tag);

    /* no talker yet */
    MEDIA(rc, p[0], pl[0], MCSEC_ERR_UNKNOWN_KEY);
    mcsec_call_event_t ev = EXPECT(rc, n, len, MCSEC_CALL_EV_JOINED);
    CHECK(ev.suite == suite);

    /* a good packet, parsed */
    {
        uint8_t copy[PKT_CAP], want[CT_FRAME];
        mcsec_rtp_header_t hdr;
        memcpy(copy, p[0], pl[0]);
        CHECK_STATUS(mcsec_call_receive_media(rc, copy, pl[0], &hdr), MCSEC_OK);
        ct_payload(1, 0, want);
        CHECK(hdr.ssrc == ssrc && hdr.payload_type == MCSEC_RTP_PT_PCMU && hdr.marker == 1);
        CHECK(hdr.payload_len == CT_FRAME && memcmp(hdr.payload, want, CT_FRAME) == 0);
    }

    /* tampered: payload, header, tag */
    printf("  tampered\n");
    size_t at[] = {12 + 20, 5, pl[1] - 1};
    for (size_t i = 0; i < 3; i++) {
        memcpy(bad, p[1], pl[1]);
        bad[at[i]] ^= 0x80;
        MEDIA(rc, bad, pl[1], MCSEC_ERR_VERIFY);
    }
    MEDIA(rc, p[1], pl[1], MCSEC_OK);

    /* replayed */
    printf("  replayed\n");
    MEDIA(rc, p[1], pl[1], MCSEC_ERR_REPLAY);
    MEDIA(rc, p[0], pl[0], MCSEC_ERR_REPLAY);

    /* another SSRC: altered, and a real packet of U's burst (not announced to R) */
    printf("  other SSRC\n");
    memcpy(bad, p[2], pl[2]);
    bad[11] ^= 0x01;
    MEDIA(rc, bad, pl[2], MCSEC_ERR_WRONG_RECIPIENT);
    size_t ulen = talk(uc, nu);
    uint8_t up[PKT_CAP];
    size_t upl = packet(uc, 2, 0, up);
    MEDIA(rc, up, upl, MCSEC_ERR_WRONG_RECIPIENT);
    MEDIA(rc, p[2], pl[2], MCSEC_OK);

    /* truncated: shorter than the header, or than header + tag */
    printf("  truncated\n");
    for (size_t l = 0; l < 12; l++)
        MEDIA(rc, p[3], l, MCSEC_ERR_TRUNCATED);
    MEDIA(rc, p[3], 12 + tag - 1, MCSEC_ERR_TRUNCATED);
    MEDIA(rc, p[3], pl[3], MCSEC_OK);

    /* RTP version 1 */
    memcpy(bad, p[4], pl[4]);
    bad[0] = (uint8_t)((bad[0] & 0x3f) | 0x40);
    MEDIA(rc, bad, pl[4], MCSEC_ERR_STRUCTURE);
    MEDIA(rc, p[4], pl[4], MCSEC_OK);

    /* reordered inside the replay window: accepted */
    MEDIA(rc, p[6], pl[6], MCSEC_OK);
    MEDIA(rc, p[5], pl[5], MCSEC_OK);

    /* older than the 128-packet window */
    printf("  too old\n");
    for (unsigned k = 0; k < 140; k++)
        ql[k] = packet(tc, 1, 8 + k, q[k]);
    for (unsigned k = 1; k < 140; k++)
        MEDIA(rc, q[k], ql[k], MCSEC_OK);
    MEDIA(rc, q[0], ql[0], MCSEC_ERR_REPLAY);

    /* SRTCP */
    printf("  SRTCP\n");
    size_t rl = 0;
    CHECK_STATUS(mcsec_call_send_rtcp(tc, rtcp, sizeof rtcp, &rl), MCSEC_OK);
    CHECK(rl > 8 && ct_be32(rtcp + 4) == ssrc);
    memcpy(bad, rtcp, rl);
    bad[10] ^= 0x01;
    RTCP(rc, bad, rl, MCSEC_ERR_VERIFY);
    memcpy(bad, rtcp, rl);
    bad[7] ^= 0x01;
    RTCP(rc, bad, rl, MCSEC_ERR_WRONG_RECIPIENT);
    /* the E flag cleared (the report claims to be unencrypted): tampered, not a libsrtp bug */
    memcpy(bad, rtcp, rl);
    bad[suite == MCSEC_SRTP_AEAD_AES_128_GCM ? rl - 4 : rl - tag - 4] ^= 0x80;
    RTCP(rc, bad, rl, MCSEC_ERR_VERIFY);
    RTCP(rc, rtcp, 4, MCSEC_ERR_TRUNCATED);
    RTCP(rc, rtcp, rl, MCSEC_OK);
    RTCP(rc, rtcp, rl, MCSEC_ERR_REPLAY);

    /* talker change: T's SSRC is refused from now on, U's passes */
    printf("  after a talker change\n");
    EXPECT(rc, nu, ulen, MCSEC_CALL_EV_JOINED);
    MEDIA(rc, p[7], pl[7], MCSEC_ERR_WRONG_RECIPIENT);
    MEDIA(rc, up, upl, MCSEC_OK);
    CHECK(!mcsec_call_is_talking(rc));
    /* T hears U: its own burst ends */
    CHECK(mcsec_call_is_talking(tc) == 1);
    EXPECT(tc, nu, ulen, MCSEC_CALL_EV_JOINED);
    CHECK(mcsec_call_is_talking(tc) == 0);
    size_t dummy = 0;
    CHECK_STATUS(mcsec_call_announcement(tc, n, sizeof n, &dummy), MCSEC_ERR_BAD_INPUT);
    /* T's own, now old, notification coming back (a late loop-back, or replayed by anyone):
     * never a new talker; U keeps the floor. */
    {
        mcsec_call_event_t own;
        uint32_t cur = 0;
        char uri[256] = "";
        memset(&own, 0, sizeof own);
        CHECK_STATUS(mcsec_call_handle(tc, n, len, &own), MCSEC_OK);
        if (own.kind == MCSEC_CALL_EV_JOINED)
            fprintf(stderr, "  T joined its own old burst (%s gsk %08x)\n", own.talker_uri,
                    own.gsk_id);
        CHECK(own.kind == MCSEC_CALL_EV_OWN ||
              (own.kind == MCSEC_CALL_EV_REFUSED && own.status == MCSEC_ERR_REPLAY));
        CHECK(mcsec_call_talker(tc, &cur, uri, sizeof uri) == 1 && cur == gsk_of(nu, ulen));
        CHECK(strcmp(uri, U.uri) == 0);
        MEDIA(tc, p[7], pl[7], MCSEC_ERR_WRONG_RECIPIENT);
    }
    mcsec_call_free(tc);
    mcsec_call_free(uc);
    mcsec_call_free(rc);
}

/* Own notification handed back: ignored. */
static void t_own(void) {
    printf("own notification\n");
    uint8_t n[CAP];
    mcsec_call_t *tc = ct_call(&T, G.uri, MCSEC_SRTP_AEAD_AES_128_GCM);
    size_t len = talk(tc, n);
    EXPECT(tc, n, len, MCSEC_CALL_EV_OWN);
    CHECK(mcsec_call_is_talking(tc) == 1);
    mcsec_call_free(tc);
}

int main(void) {
    uint8_t gmk[16];
    double t0 = ct_now();
    ct_kms_new(&kms);
    ct_group_new(&G, &kms, "sip:refusal-group@example.org");
    ct_group_new(&G2, &kms, "sip:group2@example.org");
    ct_group_new(&G3, &kms, "sip:group3@example.org");
    ct_group_new(&G4, &kms, "sip:group4@example.org");
    ct_group_new(&G5, &kms, "sip:group5@example.org");
    ct_group_new(&G6, &kms, "sip:group6@example.org");
    ct_member_new(&T, &kms, "sip:talker@example.org");
    ct_member_new(&R, &kms, "sip:receiver@example.org");
    ct_member_new(&U, &kms, "sip:other-talker@example.org");

    g1 = ct_gmk_new(gmk);
    ct_deliver(&G, &T, gmk, g1, 0);
    ct_deliver(&G, &R, gmk, g1, 0);
    ct_deliver(&G, &U, gmk, g1, 0);
    g2a = ct_gmk_new(gmk);
    ct_deliver(&G2, &T, gmk, g2a, 0);
    ct_deliver(&G2, &R, gmk, g2a, 0);
    g2b = ct_gmk_new(gmk);
    ct_deliver(&G2, &T, gmk, g2b, 0); /* newer: T's current */
    g3 = ct_gmk_new(gmk);
    ct_deliver(&G3, &T, gmk, g3, 0);
    ct_deliver(&G3, &R, gmk, g3, ct_ntp64(-60));
    ct_deliver(&G3, &U, gmk, g3, ct_ntp64(-60));
    g4 = ct_gmk_new(gmk);
    ct_deliver(&G4, &T, gmk, g4, 0);
    ct_deliver(&G4, &R, gmk, g4, ct_ntp64(150));
    g5 = ct_gmk_new(gmk);
    ct_deliver(&G5, &T, gmk, g5, 0);
    ct_deliver(&G5, &R, gmk, g5, 0);
    g6 = ct_gmk_new(gmk);
    ct_deliver(&G6, &T, gmk, g6, 0);
    mcsec_memzero(gmk, sizeof gmk);
    printf("provisioned 3 handsets, 6 groups in %.2f s\n", ct_now() - t0);

    t_own();
    t_member();
    t_signature();
    t_unknown_gmk();
    t_replay();
    t_expired();
    t_freshness();
    t_outer_fields();
    t_not_call();
    t_gmk_delivery();
    t_media(MCSEC_SRTP_AEAD_AES_128_GCM);
    t_media(MCSEC_SRTP_AES_CM_128_HMAC_SHA1_80);
    t_suite_swap(MCSEC_SRTP_AEAD_AES_128_GCM);
    t_suite_swap(MCSEC_SRTP_AES_CM_128_HMAC_SHA1_80);

    ct_member_free(&T);
    ct_member_free(&R);
    ct_member_free(&U);
    ct_group_t *groups[] = {&G, &G2, &G3, &G4, &G5, &G6};
    for (size_t i = 0; i < 6; i++)
        ct_group_free(groups[i]);
    ct_kms_free(&kms);
    printf("total %.2f s\n", ct_now() - t0);
    return test_summary();
}
