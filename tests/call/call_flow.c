/* Group call flows over real UDP multicast on loopback, members in threads:
 * 1. A talks to B and C (both SRTP suites): JOINED for A's burst, every payload exactly and in
 *    order, RTCP SR accepted;
 * 3. a late joiner D starts listening after A's notification and some media, and joins on A's
 *    repeated announcement (B and C see REPEAT);
 * 4. talker change: B talks after A; everyone else gets JOINED for B, A's burst ends, a packet
 *    of A's old SSRC is refused (WRONG_RECIPIENT), A's old notification is refused (REPLAY), and
 *    B's stream still flows. */
#include "test.h"

#include "call_test.h"

#define N_PACKETS 50

static ct_kms_t kms;
static ct_group_t grp;
static ct_member_t alice, bob, carol, dave;
static uint32_t gmk_id;

/* The notification A sent: a call datagram naming the group, the talker, gsk_id == ssrc and
 * the suite. Returns the GSK-ID. */
static uint32_t check_notification(const ct_peer_t *p, mcsec_srtp_suite_t suite) {
    Mcsec__Call__CallDatagram *dg = ct_unpack(p->notification, p->notification_len);
    uint32_t id = 0;
    CHECK(dg != NULL);
    if (dg == NULL) return 0;
    Mcsec__Call__GroupCallNotification *n = dg->call;
    CHECK(n->version == 1);
    CHECK(strcmp(n->group_uri, grp.uri) == 0);
    CHECK(strcmp(n->talker_uri, p->m->uri) == 0);
    CHECK(n->gsk_id == n->ssrc);
    CHECK(n->ssrc == p->ssrc); /* the SSRC of the RTP packets sent */
    CHECK(n->gsk_message.len > 0);
    CHECK(strcmp(n->srtp_suite, mcsec_srtp_suite_name(suite)) == 0);
    id = n->gsk_id;
    mcsec__call__call_datagram__free_unpacked(dg, NULL);
    return id;
}

/* Nothing refused, no handling or socket errors, nothing lost for want of room. */
static void check_clean(const ct_peer_t *p) {
    if (p->n_ref || p->handle_errors || p->net_errors || p->overflow)
        fprintf(stderr,
                "  %s: %zu refusals (first %d), %zu handle errors (%d), %zu net errors, "
                "%zu overflows\n",
                p->name, p->n_ref, p->n_ref ? (int)p->ref[0].status : 0, p->handle_errors,
                (int)p->handle_error, p->net_errors, p->overflow);
    CHECK(p->n_ref == 0);
    CHECK(p->handle_errors == 0);
    CHECK(p->net_errors == 0);
    CHECK(p->overflow == 0);
}

/* The talker's own notification may loop back (OWN); nothing else may reach it as an event. */
static void check_only_own(const ct_peer_t *p) {
    for (size_t i = 0; i < p->n_ev; i++)
        CHECK(p->ev[i].ev.kind == MCSEC_CALL_EV_OWN);
    CHECK(p->handle_errors == 0);
    CHECK(p->net_errors == 0);
}

/* --- 1. three members -------------------------------------------------------------------- */

static void flow_three(mcsec_srtp_suite_t suite) {
    ct_addr_t a;
    ct_random_addr(&a);
    printf("flow 1: A talks to B and C, %s, %s:%u\n", mcsec_srtp_suite_name(suite), a.group,
           a.port);
    double t0 = ct_now();
    ct_peer_t *A =
        ct_peer_new("A", &alice, ct_call(&alice, grp.uri, suite), ct_net_multicast(&a, grp.uri), 1);
    ct_peer_t *B =
        ct_peer_new("B", &bob, ct_call(&bob, grp.uri, suite), ct_net_multicast(&a, grp.uri), 2);
    ct_peer_t *C =
        ct_peer_new("C", &carol, ct_call(&carol, grp.uri, suite), ct_net_multicast(&a, grp.uri), 3);
    ct_peer_t *rx[] = {B, C};
    CHECK(!mcsec_call_is_talking(A->call) && !mcsec_call_is_talking(B->call));
    ct_peer_start(A);
    ct_peer_start(B);
    ct_peer_start(C);

    CHECK_STATUS(ct_peer_cmd(A, CT_CMD_TALK, N_PACKETS, 0), MCSEC_OK);
    CHECK(ct_wait_rx(rx, 2, A->ssrc, N_PACKETS));
    CHECK_STATUS(ct_peer_cmd(A, CT_CMD_RTCP, 0, 0), MCSEC_OK);
    CHECK(ct_wait_rtcp(rx, 2, 1));
    ct_sleep_us(50000); /* anything extra would show up now */
    ct_peer_stop(A);
    ct_peer_stop(B);
    ct_peer_stop(C);

    uint32_t gsk_id = check_notification(A, suite);
    CHECK(gsk_id != 0);
    CHECK(mcsec_call_is_talking(A->call) == 1);
    check_only_own(A);
    for (size_t i = 0; i < 2; i++) {
        ct_peer_t *p = rx[i];
        uint32_t ssrc = 0;
        char uri[256] = "";
        CHECK(p->n_ev == 1);
        if (p->n_ev >= 1) ct_check_joined(p, &p->ev[0].ev, alice.uri, gsk_id, gmk_id, suite);
        ct_check_stream(p, gsk_id, A->tag, 0, N_PACKETS);
        CHECK(p->rtcp_ok == 1);
        check_clean(p);
        CHECK(mcsec_call_talker(p->call, &ssrc, uri, sizeof uri) == 1);
        CHECK(ssrc == gsk_id);
        CHECK(strcmp(uri, alice.uri) == 0);
        CHECK(mcsec_call_is_talking(p->call) == 0);
    }
    printf("  %.2f s\n", ct_now() - t0);
    ct_peer_t *all[] = {A, B, C};
    for (size_t i = 0; i < 3; i++) {
        mcsec_call_free(all[i]->call);
        mcsec_net_close(all[i]->net);
        ct_peer_free(all[i]);
    }
}

/* --- 3. late joiner -------------------------------------------------------------------------- */

static void flow_late_joiner(void) {
    const mcsec_srtp_suite_t suite = MCSEC_SRTP_AEAD_AES_128_GCM;
    const unsigned early = 10;
    ct_addr_t a;
    ct_random_addr(&a);
    printf("flow 3: late joiner, %s:%u\n", a.group, a.port);
    double t0 = ct_now();
    ct_peer_t *A =
        ct_peer_new("A", &alice, ct_call(&alice, grp.uri, suite), ct_net_multicast(&a, grp.uri), 1);
    ct_peer_t *B =
        ct_peer_new("B", &bob, ct_call(&bob, grp.uri, suite), ct_net_multicast(&a, grp.uri), 2);
    ct_peer_t *C =
        ct_peer_new("C", &carol, ct_call(&carol, grp.uri, suite), ct_net_multicast(&a, grp.uri), 3);
    ct_peer_t *D = NULL;
    ct_peer_t *bc[] = {B, C};
    ct_peer_start(A);
    ct_peer_start(B);
    ct_peer_start(C);

    CHECK_STATUS(ct_peer_cmd(A, CT_CMD_TALK, early, 0), MCSEC_OK);
    CHECK(ct_wait_rx(bc, 2, A->ssrc, early));
    /* D starts listening only now: it missed the notification and the first packets. */
    D = ct_peer_new("D", &dave, ct_call(&dave, grp.uri, suite), ct_net_multicast(&a, grp.uri), 4);
    ct_peer_t *d1[] = {D};
    ct_peer_start(D);
    /* D hears media it cannot decrypt yet: refused while no talker is current. */
    CHECK_STATUS(ct_peer_cmd(A, CT_CMD_MORE, 1, 0), MCSEC_OK);
    CHECK(ct_wait_rx(bc, 2, A->ssrc, early + 1));
    CHECK(ct_wait_ref(d1, 1, MCSEC_NET_MEDIA, MCSEC_ERR_UNKNOWN_KEY, A->ssrc, 1));
    CHECK_STATUS(ct_peer_cmd(A, CT_CMD_REPEAT, 0, 0), MCSEC_OK);
    CHECK(ct_wait_ev(d1, 1, MCSEC_CALL_EV_JOINED, 0, 1));
    CHECK_STATUS(ct_peer_cmd(A, CT_CMD_MORE, N_PACKETS - early - 1, 0), MCSEC_OK);
    CHECK(ct_wait_rx(bc, 2, A->ssrc, N_PACKETS));
    CHECK(ct_wait_rx(d1, 1, A->ssrc, N_PACKETS - early - 1));
    ct_sleep_us(50000);
    ct_peer_stop(A);
    ct_peer_stop(B);
    ct_peer_stop(C);
    ct_peer_stop(D);

    uint32_t gsk_id = check_notification(A, suite);
    /* The repeat is the same datagram. */
    uint8_t again[4096];
    size_t again_len = 0;
    CHECK_STATUS(mcsec_call_announcement(A->call, again, sizeof again, &again_len), MCSEC_OK);
    CHECK(again_len == A->notification_len && memcmp(again, A->notification, again_len) == 0);
    check_only_own(A);
    for (size_t i = 0; i < 2; i++) {
        ct_peer_t *p = bc[i];
        CHECK(p->n_ev == 2);
        if (p->n_ev >= 2) {
            ct_check_joined(p, &p->ev[0].ev, alice.uri, gsk_id, gmk_id, suite);
            CHECK(p->ev[1].ev.kind == MCSEC_CALL_EV_REPEAT);
            CHECK(p->ev[1].ev.gsk_id == gsk_id);
        }
        ct_check_stream(p, gsk_id, A->tag, 0, N_PACKETS);
        check_clean(p);
    }
    CHECK(D->n_ev == 1);
    if (D->n_ev >= 1) ct_check_joined(D, &D->ev[0].ev, alice.uri, gsk_id, gmk_id, suite);
    ct_check_stream(D, gsk_id, A->tag, early + 1, N_PACKETS - early - 1);
    CHECK(D->n_ref == 1); /* the one packet before the repeat */
    CHECK(D->handle_errors == 0 && D->net_errors == 0 && D->overflow == 0);
    printf("  %.2f s\n", ct_now() - t0);
    ct_peer_t *all[] = {A, B, C, D};
    for (size_t i = 0; i < 4; i++) {
        mcsec_call_free(all[i]->call);
        mcsec_net_close(all[i]->net);
        ct_peer_free(all[i]);
    }
}

/* --- 4. talker change ---------------------------------------------------------------------- */

static void flow_talker_change(void) {
    const mcsec_srtp_suite_t suite = MCSEC_SRTP_AEAD_AES_128_GCM;
    ct_addr_t a;
    ct_random_addr(&a);
    printf("flow 4: talker change, %s:%u\n", a.group, a.port);
    double t0 = ct_now();
    ct_peer_t *A =
        ct_peer_new("A", &alice, ct_call(&alice, grp.uri, suite), ct_net_multicast(&a, grp.uri), 1);
    ct_peer_t *B =
        ct_peer_new("B", &bob, ct_call(&bob, grp.uri, MCSEC_SRTP_AES_CM_128_HMAC_SHA1_80),
                    ct_net_multicast(&a, grp.uri), 2);
    ct_peer_t *C =
        ct_peer_new("C", &carol, ct_call(&carol, grp.uri, suite), ct_net_multicast(&a, grp.uri), 3);
    mcsec_net_t *inject = ct_net_multicast(&a, grp.uri); /* main's own socket on the group */
    ct_peer_t *bc[] = {B, C}, *ac[] = {A, C}, *c1[] = {C};
    ct_peer_start(A);
    ct_peer_start(B);
    ct_peer_start(C);

    /* A talks; its last packet is built but held back. */
    CHECK_STATUS(ct_peer_cmd(A, CT_CMD_TALK, N_PACKETS + 1, 1), MCSEC_OK);
    CHECK(ct_wait_rx(bc, 2, A->ssrc, N_PACKETS));
    uint32_t a_ssrc = A->ssrc;
    CHECK(A->held_len > 12 && ct_be32(A->held + 8) == a_ssrc);

    /* B takes over (with the other suite). */
    CHECK_STATUS(ct_peer_cmd(B, CT_CMD_TALK, N_PACKETS, 0), MCSEC_OK);
    uint32_t b_ssrc = B->ssrc;
    CHECK(b_ssrc != a_ssrc);
    CHECK(ct_wait_ev(ac, 2, MCSEC_CALL_EV_JOINED, b_ssrc, 1));
    CHECK(ct_wait_rx(ac, 2, b_ssrc, N_PACKETS));

    /* A's held packet, never sent before: A's SSRC is no longer bound. */
    CHECK_STATUS(mcsec_net_send(inject, MCSEC_NET_MEDIA, A->held, A->held_len), MCSEC_OK);
    CHECK(ct_wait_ref(ac, 2, MCSEC_NET_MEDIA, MCSEC_ERR_WRONG_RECIPIENT, a_ssrc, 1));
    /* A's old notification: already seen, refused as a replay, and B stays the talker. */
    CHECK_STATUS(mcsec_net_send(inject, MCSEC_NET_CONTROL, A->notification, A->notification_len),
                 MCSEC_OK);
    CHECK(ct_wait_ev(c1, 1, MCSEC_CALL_EV_REFUSED, 0, 1));
    /* B's stream still flows after the refusals. */
    CHECK_STATUS(ct_peer_cmd(B, CT_CMD_MORE, 1, 0), MCSEC_OK);
    CHECK(ct_wait_rx(ac, 2, b_ssrc, N_PACKETS + 1));
    CHECK_STATUS(ct_peer_cmd(B, CT_CMD_RTCP, 0, 0), MCSEC_OK);
    CHECK(ct_wait_rtcp(ac, 2, 1));
    ct_sleep_us(50000);
    ct_peer_stop(A);
    ct_peer_stop(B);
    ct_peer_stop(C);

    uint32_t a_gsk = check_notification(A, suite);
    uint32_t b_gsk = check_notification(B, MCSEC_SRTP_AES_CM_128_HMAC_SHA1_80);
    CHECK(a_gsk == a_ssrc && b_gsk == b_ssrc);

    /* A: its burst ended when B's message was accepted; it then received B's whole stream. */
    size_t a_joined = 0;
    for (size_t i = 0; i < A->n_ev; i++) {
        const ct_ev_t *e = &A->ev[i];
        if (e->ev.kind == MCSEC_CALL_EV_JOINED) {
            a_joined++;
            ct_check_joined(A, &e->ev, bob.uri, b_gsk, gmk_id, MCSEC_SRTP_AES_CM_128_HMAC_SHA1_80);
            CHECK(e->talking == 0);
        } else {
            /* its own notification looped back, and its old one injected by the test */
            CHECK(e->ev.kind == MCSEC_CALL_EV_OWN || e->ev.kind == MCSEC_CALL_EV_REFUSED);
        }
    }
    CHECK(a_joined == 1);
    CHECK(mcsec_call_is_talking(A->call) == 0);
    ct_check_stream(A, b_ssrc, B->tag, 0, N_PACKETS + 1);
    CHECK(ct_count_ref(A, MCSEC_NET_MEDIA, MCSEC_ERR_WRONG_RECIPIENT, a_ssrc) >= 1);
    CHECK(A->rtcp_ok == 1);

    /* C: JOINED A, JOINED B, REFUSED (replay) for A's old message. */
    CHECK(C->n_ev == 3);
    if (C->n_ev >= 3) {
        ct_check_joined(C, &C->ev[0].ev, alice.uri, a_gsk, gmk_id, suite);
        ct_check_joined(C, &C->ev[1].ev, bob.uri, b_gsk, gmk_id,
                        MCSEC_SRTP_AES_CM_128_HMAC_SHA1_80);
        CHECK(C->ev[2].ev.kind == MCSEC_CALL_EV_REFUSED);
        CHECK_STATUS(C->ev[2].ev.status, MCSEC_ERR_REPLAY);
        CHECK(C->ev[2].ev.check == MCSEC_CHECK_REPLAY);
        CHECK(C->ev[2].ev.why[0] != 0);
    }
    ct_check_stream(C, a_ssrc, A->tag, 0, N_PACKETS);
    ct_check_stream(C, b_ssrc, B->tag, 0, N_PACKETS + 1);
    CHECK(C->n_ref == 1);
    CHECK(ct_count_ref(C, MCSEC_NET_MEDIA, MCSEC_ERR_WRONG_RECIPIENT, a_ssrc) == 1);
    CHECK(C->rtcp_ok == 1);
    uint32_t cur = 0;
    char uri[256] = "";
    CHECK(mcsec_call_talker(C->call, &cur, uri, sizeof uri) == 1);
    CHECK(cur == b_ssrc && strcmp(uri, bob.uri) == 0);

    /* B: JOINED A before talking, A's whole burst, then its own burst. (What B, now talking,
     * makes of A's held packet and old notification, the header leaves open.) */
    CHECK(mcsec_call_is_talking(B->call) == 1);
    CHECK(ct_count_ev(B, MCSEC_CALL_EV_JOINED, 0) == 1);
    if (B->n_ev >= 1) {
        ct_check_joined(B, &B->ev[0].ev, alice.uri, a_gsk, gmk_id, suite);
        CHECK(B->ev[0].talking == 0);
    }
    for (size_t i = 0; i < B->n_ev; i++)
        CHECK(B->ev[i].ev.kind != MCSEC_CALL_EV_JOINED || B->ev[i].ev.gsk_id == a_gsk);
    size_t b_from_a = 0;
    for (size_t i = 0; i < B->n_rx && b_from_a < N_PACKETS; i++)
        if (B->rx[i].ssrc == a_ssrc) CHECK(B->rx[i].k == b_from_a++ && B->rx[i].content_ok);
    CHECK(b_from_a == N_PACKETS);
    printf("  %.2f s\n", ct_now() - t0);
    ct_peer_t *all[] = {A, B, C};
    for (size_t i = 0; i < 3; i++) {
        mcsec_call_free(all[i]->call);
        mcsec_net_close(all[i]->net);
        ct_peer_free(all[i]);
    }
    mcsec_net_close(inject);
}

int main(void) {
    uint8_t gmk[16];
    double t0 = ct_now();
    ct_kms_new(&kms);
    ct_group_new(&grp, &kms, "sip:flow-group@example.org");
    ct_member_new(&alice, &kms, "sip:alice@example.org");
    ct_member_new(&bob, &kms, "sip:bob@example.org");
    ct_member_new(&carol, &kms, "sip:carol@example.org");
    ct_member_new(&dave, &kms, "sip:dave@example.org");
    gmk_id = ct_gmk_new(gmk);
    ct_member_t *members[] = {&alice, &bob, &carol, &dave};
    for (size_t i = 0; i < 4; i++)
        ct_deliver(&grp, members[i], gmk, gmk_id, 0);
    mcsec_memzero(gmk, sizeof gmk);
    printf("provisioned 4 handsets and GMK %08x in %.2f s\n", gmk_id, ct_now() - t0);

    flow_three(MCSEC_SRTP_AEAD_AES_128_GCM);
    flow_three(MCSEC_SRTP_AES_CM_128_HMAC_SHA1_80);
    flow_late_joiner();
    flow_talker_change();

    for (size_t i = 0; i < 4; i++)
        ct_member_free(members[i]);
    ct_group_free(&grp);
    ct_kms_free(&kms);
    printf("total %.2f s\n", ct_now() - t0);
    return test_summary();
}
