/* Group call flow 2: 20 members over UDP multicast on loopback (one talks, 19 listen, every
 * payload exactly and in order, RTCP SR accepted), and the same with 3 members over unicast
 * (each member sends to the others' control ports), then a talker change over unicast. */
#include "test.h"

#include "call_test.h"

#define N_MEMBERS 20
#define N_PACKETS 50

static ct_kms_t kms;
static ct_group_t grp;
static ct_member_t members[N_MEMBERS];
static uint32_t gmk_id;

static void check_listener(ct_peer_t *p, const char *talker, uint32_t gsk_id, uint8_t tag,
                           mcsec_srtp_suite_t suite) {
    CHECK(p->n_ev == 1);
    if (p->n_ev >= 1) ct_check_joined(p, &p->ev[0].ev, talker, gsk_id, gmk_id, suite);
    ct_check_stream(p, gsk_id, tag, 0, N_PACKETS);
    CHECK(p->rtcp_ok == 1);
    if (p->n_ref || p->handle_errors || p->net_errors || p->overflow)
        fprintf(stderr,
                "  %s: %zu refusals (first %d), %zu handle errors (%d), %zu net errors, "
                "%zu overflows\n",
                p->name, p->n_ref, p->n_ref ? (int)p->ref[0].status : 0, p->handle_errors,
                (int)p->handle_error, p->net_errors, p->overflow);
    CHECK(p->n_ref == 0 && p->handle_errors == 0 && p->net_errors == 0 && p->overflow == 0);
}

static void free_peers(ct_peer_t **peers, size_t n) {
    for (size_t i = 0; i < n; i++) {
        ct_peer_stop(peers[i]);
        mcsec_call_free(peers[i]->call);
        mcsec_net_close(peers[i]->net);
        ct_peer_free(peers[i]);
    }
}

static void flow_many(void) {
    const mcsec_srtp_suite_t suite = MCSEC_SRTP_AEAD_AES_128_GCM;
    static char names[N_MEMBERS][8];
    ct_peer_t *peers[N_MEMBERS];
    ct_addr_t a;
    ct_random_addr(&a);
    printf("flow 2: %d members over multicast %s:%u\n", N_MEMBERS, a.group, a.port);
    double t0 = ct_now();
    for (size_t i = 0; i < N_MEMBERS; i++) {
        snprintf(names[i], sizeof names[i], "M%zu", i);
        peers[i] = ct_peer_new(names[i], &members[i], ct_call(&members[i], grp.uri, suite),
                               ct_net_multicast(&a, grp.uri), (uint8_t)(i + 1));
    }
    for (size_t i = 0; i < N_MEMBERS; i++)
        ct_peer_start(peers[i]);
    ct_peer_t *talker = peers[0], **rx = peers + 1;
    CHECK_STATUS(ct_peer_cmd(talker, CT_CMD_TALK, N_PACKETS, 0), MCSEC_OK);
    CHECK(ct_wait_rx(rx, N_MEMBERS - 1, talker->ssrc, N_PACKETS));
    CHECK_STATUS(ct_peer_cmd(talker, CT_CMD_RTCP, 0, 0), MCSEC_OK);
    CHECK(ct_wait_rtcp(rx, N_MEMBERS - 1, 1));
    double t1 = ct_now();
    ct_sleep_us(50000);
    for (size_t i = 0; i < N_MEMBERS; i++)
        ct_peer_stop(peers[i]);

    Mcsec__Call__CallDatagram *dg = ct_unpack(talker->notification, talker->notification_len);
    CHECK(dg != NULL);
    uint32_t gsk_id = dg != NULL ? dg->call->gsk_id : 0;
    CHECK(gsk_id == talker->ssrc);
    if (dg != NULL) mcsec__call__call_datagram__free_unpacked(dg, NULL);
    for (size_t i = 0; i < N_MEMBERS - 1; i++)
        check_listener(rx[i], members[0].uri, gsk_id, talker->tag, suite);
    for (size_t i = 0; i < talker->n_ev; i++)
        CHECK(talker->ev[i].ev.kind == MCSEC_CALL_EV_OWN);
    printf("  burst delivered to %d listeners in %.2f s (%.2f s with set-up)\n", N_MEMBERS - 1,
           t1 - t0, ct_now() - t0);
    free_peers(peers, N_MEMBERS);
}

/* Three members over unicast on 127.0.0.1: member i uses control port base + 4 i (media + 2,
 * RTCP + 3) and lists the other two as peers. NULL if a port is taken. */
static mcsec_net_t *unicast_net(uint16_t base, size_t self, size_t n, char peer_text[][32]) {
    const char *peers[4];
    size_t np = 0;
    for (size_t j = 0; j < n; j++) {
        snprintf(peer_text[j], 32, "127.0.0.1:%u", (unsigned)(base + 4 * j));
        if (j != self) peers[np++] = peer_text[j];
    }
    mcsec_net_config_t cfg = {.address = "127.0.0.1",
                              .port = (uint16_t)(base + 4 * self),
                              .peers = peers,
                              .n_peers = np,
                              .group_uri = grp.uri};
    mcsec_net_t *net = NULL;
    mcsec_status_t rc = mcsec_net_open(&net, &cfg);
    if (rc != MCSEC_OK)
        fprintf(stderr, "  unicast net on port %u: %s (%s)\n", cfg.port, mcsec_strerror(rc),
                mcsec_net_last_error());
    return rc == MCSEC_OK ? net : NULL;
}

/* Opens the three unicast nets on a random free base port (tried up to 20 times). */
static uint16_t unicast_nets(mcsec_net_t *nets[3], char text[3][32]) {
    for (int attempt = 0; attempt < 20; attempt++) {
        uint16_t base = (uint16_t)(20000 + (ct_random32() % 10000u) * 4u);
        size_t ok = 0;
        for (; ok < 3; ok++)
            if ((nets[ok] = unicast_net(base, ok, 3, text)) == NULL) break;
        if (ok == 3) return base;
        while (ok > 0)
            mcsec_net_close(nets[--ok]);
    }
    fprintf(stderr, "setup: no free unicast ports found\n");
    exit(2);
}

static void flow_unicast(void) {
    const mcsec_srtp_suite_t suite = MCSEC_SRTP_AES_CM_128_HMAC_SHA1_80;
    char text[3][32];
    ct_peer_t *p[3];
    mcsec_net_t *nets[3];
    double t0 = ct_now();
    uint16_t base = unicast_nets(nets, text);
    printf("flow 2: 3 members over unicast, ports %u-%u\n", base, base + 11);
    static const char *names[] = {"U0", "U1", "U2"};
    for (size_t i = 0; i < 3; i++)
        p[i] = ct_peer_new(names[i], &members[i], ct_call(&members[i], grp.uri, suite), nets[i],
                           (uint8_t)(i + 1));
    for (size_t i = 0; i < 3; i++) {
        CHECK(mcsec_net_port(p[i]->net) == base + 4 * i);
        ct_peer_start(p[i]);
    }
    ct_peer_t *rx[] = {p[1], p[2]};
    CHECK_STATUS(ct_peer_cmd(p[0], CT_CMD_TALK, N_PACKETS, 0), MCSEC_OK);
    CHECK(ct_wait_rx(rx, 2, p[0]->ssrc, N_PACKETS));
    CHECK_STATUS(ct_peer_cmd(p[0], CT_CMD_RTCP, 0, 0), MCSEC_OK);
    CHECK(ct_wait_rtcp(rx, 2, 1));
    ct_sleep_us(50000);
    for (size_t i = 0; i < 3; i++)
        ct_peer_stop(p[i]);
    uint32_t gsk_id = p[0]->ssrc;
    for (size_t i = 0; i < 2; i++)
        check_listener(rx[i], members[0].uri, gsk_id, p[0]->tag, suite);
    /* unicast: nothing loops back to the talker */
    CHECK(p[0]->n_ev == 0 && p[0]->n_rx == 0 && p[0]->n_ref == 0);

    /* Talker change over unicast: U1 talks, U0 and U2 follow. */
    ct_peer_start(p[0]);
    ct_peer_start(p[1]);
    ct_peer_start(p[2]);
    ct_peer_t *rx2[] = {p[0], p[2]};
    CHECK_STATUS(ct_peer_cmd(p[1], CT_CMD_TALK, N_PACKETS, 0), MCSEC_OK);
    CHECK(ct_wait_rx(rx2, 2, p[1]->ssrc, N_PACKETS));
    ct_sleep_us(50000);
    for (size_t i = 0; i < 3; i++)
        ct_peer_stop(p[i]);
    CHECK(ct_count_ev(p[0], MCSEC_CALL_EV_JOINED, p[1]->ssrc) == 1);
    CHECK(ct_count_ev(p[2], MCSEC_CALL_EV_JOINED, p[1]->ssrc) == 1);
    CHECK(mcsec_call_is_talking(p[0]->call) == 0);
    CHECK(mcsec_call_is_talking(p[1]->call) == 1);
    ct_check_stream(p[0], p[1]->ssrc, p[1]->tag, 0, N_PACKETS);
    ct_check_stream(p[2], p[1]->ssrc, p[1]->tag, 0, N_PACKETS);
    printf("  %.2f s\n", ct_now() - t0);
    free_peers(p, 3);
}

int main(void) {
    uint8_t gmk[16];
    double t0 = ct_now();
    ct_kms_new(&kms);
    ct_group_new(&grp, &kms, "sip:many-group@example.org");
    gmk_id = ct_gmk_new(gmk);
    for (size_t i = 0; i < N_MEMBERS; i++) {
        char uri[64];
        snprintf(uri, sizeof uri, "sip:member%02zu@example.org", i);
        ct_member_new(&members[i], &kms, uri);
        ct_deliver(&grp, &members[i], gmk, gmk_id, 0);
    }
    mcsec_memzero(gmk, sizeof gmk);
    printf("provisioned %d handsets and GMK %08x in %.2f s\n", N_MEMBERS, gmk_id, ct_now() - t0);

    flow_many();
    flow_unicast();

    for (size_t i = 0; i < N_MEMBERS; i++)
        ct_member_free(&members[i]);
    ct_group_free(&grp);
    ct_kms_free(&kms);
    printf("total %.2f s\n", ct_now() - t0);
    return test_summary();
}
