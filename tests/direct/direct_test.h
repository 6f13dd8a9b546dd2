/* Shared helpers of the direct-link tests (ctest label direct).
 *
 * Keys: a throw-away KMS and handset keystores from tests/call/call_test.h (ct_kms_new,
 * ct_member_new); each UE opens its identity keys from its keystore (mcsec_direct_identity_open).
 * Transport: real UDP on loopback. Each UE has one socket; between them a path of two more
 * sockets (one facing each UE) forwards every datagram, and may edit, drop, keep or inject them:
 * the man in the middle of the refusal tests. Lockstep, in one thread: a datagram is sent, the
 * path forwards it, the peer receives and handles it (mcsec_direct_handle) and sends the reply.
 * Include after test.h. */
#ifndef MCSEC_DIRECT_TEST_H
#define MCSEC_DIRECT_TEST_H

#include "call_test.h"
#include "mcsec/direct.h"

#define DT_WAIT_MS 5000u
#define DT_CAP (MCSEC_DIRECT_MSG_MAX + 64)
#define DT_NONE 0 /* keying mode: none (resumption, KD from elsewhere) */

typedef struct {
    const char *name;
    int is_a;
    ct_member_t m;
    mcsec_direct_identity_t *id;
    mcsec_direct_ue_t *ue;
    mcsec_direct_udp_t *udp;
    mcsec_direct_link_t *link;
    mcsec_direct_keys_t keys;
    mcsec_direct_rx_t rx;        /* what the last step found */
    uint8_t data[DT_CAP];        /* its data */
    uint8_t sent[DT_CAP];        /* the last datagram this UE sent */
    size_t sent_len;
} dt_ue_t;

typedef struct {
    mcsec_direct_udp_t *fa, *fb; /* facing A, facing B */
    uint8_t last[DT_CAP];        /* the last datagram forwarded (after any edit) */
    size_t last_len;
} dt_path_t;

static void dt_ue_new(dt_ue_t *u, const ct_kms_t *k, const char *name, const char *uri,
                      uint8_t enc_algs, int is_a) {
    mcsec_status_t rc;
    memset(u, 0, sizeof *u);
    u->name = name;
    u->is_a = is_a;
    ct_member_new(&u->m, k, uri);
    if ((rc = mcsec_direct_identity_open(&u->id, u->m.ks)) != MCSEC_OK) ct_die("identity", rc);
    mcsec_direct_config_t cfg = {.user_uri = uri, .enc_algs = enc_algs};
    if ((rc = mcsec_direct_ue_new(&u->ue, &cfg)) != MCSEC_OK) ct_die("direct ue", rc);
    if ((rc = mcsec_direct_udp_open(&u->udp, NULL, 0)) != MCSEC_OK)
        ct_die(mcsec_direct_udp_last_error(), rc);
    u->keys.id = u->id;
}

static void dt_ue_free(dt_ue_t *u) {
    mcsec_direct_ue_free(u->ue);
    mcsec_direct_identity_close(u->id);
    mcsec_direct_udp_close(u->udp);
    ct_member_free(&u->m);
    memset(u, 0, sizeof *u);
}

static void dt_connect(mcsec_direct_udp_t *u, mcsec_direct_udp_t *to) {
    mcsec_status_t rc = mcsec_direct_udp_connect(u, NULL, mcsec_direct_udp_port(to));
    if (rc != MCSEC_OK) ct_die(mcsec_direct_udp_last_error(), rc);
}

static void dt_path_new(dt_path_t *p, dt_ue_t *a, dt_ue_t *b) {
    mcsec_status_t rc;
    memset(p, 0, sizeof *p);
    if ((rc = mcsec_direct_udp_open(&p->fa, NULL, 0)) != MCSEC_OK ||
        (rc = mcsec_direct_udp_open(&p->fb, NULL, 0)) != MCSEC_OK)
        ct_die(mcsec_direct_udp_last_error(), rc);
    dt_connect(a->udp, p->fa);
    dt_connect(p->fa, a->udp);
    dt_connect(b->udp, p->fb);
    dt_connect(p->fb, b->udp);
}

static void dt_path_free(dt_path_t *p) {
    mcsec_direct_udp_close(p->fa);
    mcsec_direct_udp_close(p->fb);
}

static size_t dt_recv(mcsec_direct_udp_t *u, uint8_t *buf, const char *who) {
    size_t len = 0;
    mcsec_status_t rc = mcsec_direct_udp_recv(u, DT_WAIT_MS, buf, DT_CAP, &len);
    if (rc != MCSEC_OK) {
        fprintf(stderr, "%s: no datagram: %s %s\n", who, mcsec_strerror(rc),
                mcsec_direct_udp_last_error());
        test_failed++;
        return 0;
    }
    return len;
}

static void dt_send(dt_ue_t *u, const uint8_t *msg, size_t len) {
    mcsec_status_t rc = mcsec_direct_udp_send(u->udp, msg, len);
    if (rc != MCSEC_OK) ct_die(mcsec_direct_udp_last_error(), rc);
    memcpy(u->sent, msg, len);
    u->sent_len = len;
}

/* Edits a datagram in transit (return 0 to drop it). */
typedef int (*dt_edit_fn)(uint8_t *msg, size_t *len, void *arg);

/* Forwards the next datagram sent by `from`, edited; returns its length (0: dropped/none). */
static size_t dt_pass(dt_path_t *p, const dt_ue_t *from, dt_edit_fn edit, void *arg) {
    mcsec_direct_udp_t *in = from->is_a ? p->fa : p->fb, *out = from->is_a ? p->fb : p->fa;
    size_t len = dt_recv(in, p->last, "path");
    if (len == 0) return 0;
    if (edit != NULL && !edit(p->last, &len, arg)) {
        p->last_len = 0;
        return 0;
    }
    p->last_len = len;
    mcsec_status_t rc = mcsec_direct_udp_send(out, p->last, len);
    if (rc != MCSEC_OK) ct_die(mcsec_direct_udp_last_error(), rc);
    return len;
}

/* Sends msg to `to` as if from its peer (an attacker on the path). */
static void dt_inject(dt_path_t *p, const dt_ue_t *to, const uint8_t *msg, size_t len) {
    mcsec_status_t rc = mcsec_direct_udp_send(to->is_a ? p->fa : p->fb, msg, len);
    if (rc != MCSEC_OK) ct_die(mcsec_direct_udp_last_error(), rc);
}

/* u receives one datagram and handles it; sends the reply if any. Returns the status. */
static mcsec_status_t dt_step(dt_ue_t *u) {
    uint8_t msg[DT_CAP], reply[DT_CAP];
    size_t len = dt_recv(u->udp, msg, u->name), rlen = 0;
    if (len == 0) return MCSEC_ERR_IO;
    mcsec_status_t rc = mcsec_direct_handle(u->ue, &u->keys, msg, len, &u->link, u->data,
                                            sizeof u->data, reply, sizeof reply, &rlen, &u->rx);
    if (rlen > 0) dt_send(u, reply, rlen);
    return rc;
}

/* Checks a step's status (and the link's check when given). */
static void dt_expect_at(int line, dt_ue_t *u, mcsec_status_t got, mcsec_status_t want,
                         mcsec_direct_check_t check) {
    int ok = got == want;
    if (ok && check != MCSEC_DIRECT_CHECK_NONE)
        ok = u->link != NULL && mcsec_direct_last_check(u->link) == check;
    if (ok) {
        test_passed++;
        return;
    }
    test_failed++;
    fprintf(stderr, "%s:%d: %s: %s (check %s: %s), want %s (check %s)\n", __FILE__, line, u->name,
            mcsec_strerror(got), u->link ? mcsec_direct_check_name(mcsec_direct_last_check(u->link)) : "-",
            u->link ? mcsec_direct_last_why(u->link) : "", mcsec_strerror(want),
            mcsec_direct_check_name(check));
}
#define DT_EXPECT(u, got, want, check) dt_expect_at(__LINE__, u, got, want, check)
#define DT_OK(u, got) dt_expect_at(__LINE__, u, got, MCSEC_OK, MCSEC_DIRECT_CHECK_NONE)

/* a starts (or resumes) a link with peer_uri: keying `mode` when a KD is to be made. */
static void dt_start(dt_ue_t *a, const char *peer_uri, int mode) {
    uint8_t msg[DT_CAP];
    size_t len = 0;
    if (a->link == NULL &&
        mcsec_direct_link_by_peer(a->ue, peer_uri, &a->link) != MCSEC_OK)
        DT_OK(a, mcsec_direct_link_new(a->ue, peer_uri, &a->link));
    if (mode != DT_NONE)
        DT_OK(a, mcsec_direct_keying_offer(a->link, a->id, (mcsec_direct_keying_t)mode));
    DT_OK(a, mcsec_direct_build_dcr(a->link, msg, sizeof msg, &len));
    dt_send(a, msg, len);
}

/* The whole establishment through the path, every step checked. */
static void dt_establish(dt_path_t *p, dt_ue_t *a, dt_ue_t *b, int mode) {
    dt_start(a, mcsec_direct_identity_uri(b->id), mode);
    dt_pass(p, a, NULL, NULL);
    DT_OK(b, dt_step(b)); /* DCR -> DSMC */
    CHECK(b->rx.kind == MCSEC_DIRECT_RX_DCR);
    dt_pass(p, b, NULL, NULL);
    DT_OK(a, dt_step(a)); /* DSMC -> DSMP */
    CHECK(a->rx.kind == MCSEC_DIRECT_RX_DSMC);
    dt_pass(p, a, NULL, NULL);
    DT_OK(b, dt_step(b)); /* DSMP -> Accept */
    CHECK(b->rx.kind == MCSEC_DIRECT_RX_DSMP);
    dt_pass(p, b, NULL, NULL);
    DT_OK(a, dt_step(a)); /* Accept */
    CHECK(a->rx.kind == MCSEC_DIRECT_RX_ACCEPT);
    CHECK(mcsec_direct_state(a->link) == MCSEC_DIRECT_S_ESTABLISHED &&
          mcsec_direct_state(b->link) == MCSEC_DIRECT_S_ESTABLISHED);
    CHECK(mcsec_direct_kd_id(a->link) == mcsec_direct_kd_id(b->link) &&
          mcsec_direct_kd_sess_id(a->link) == mcsec_direct_kd_sess_id(b->link));
    CHECK(strcmp(mcsec_direct_peer(b->link), mcsec_direct_identity_uri(a->id)) == 0);
}

/* Packet i from u: "<name> packet i" padded to 40 + i % 200 octets. */
static size_t dt_payload(const dt_ue_t *u, unsigned i, uint8_t *out) {
    size_t len = 40 + i % 200;
    memset(out, (int)(i & 0xFF), len);
    int n = snprintf((char *)out, len, "%s packet %u", u->name, i);
    (void)n;
    return len;
}

/* n packets from `from` to `to` on bearers 0..3 in turn, each checked at the receiver. */
static void dt_data(dt_path_t *p, dt_ue_t *from, dt_ue_t *to, unsigned n) {
    uint8_t payload[256], pkt[DT_CAP];
    for (unsigned i = 0; i < n; i++) {
        uint8_t bearer = (uint8_t)(i % MCSEC_DIRECT_BEARERS);
        size_t len = dt_payload(from, i, payload), plen = 0;
        mcsec_status_t rc = mcsec_direct_protect(from->link, bearer, payload, len, pkt,
                                                 sizeof pkt, &plen);
        DT_OK(from, rc);
        if (rc != MCSEC_OK) return;
        dt_send(from, pkt, plen);
        dt_pass(p, from, NULL, NULL);
        DT_OK(to, dt_step(to));
        CHECK(to->rx.kind == (bearer ? MCSEC_DIRECT_RX_DATA : MCSEC_DIRECT_RX_SIGNAL) &&
              to->rx.bearer == bearer && to->rx.len == len &&
              memcmp(to->data, payload, len) == 0);
    }
}

/* r asks to rekey (fresh: a new KD made with `mode`), s answers; through the path. */
static void dt_rekey(dt_path_t *p, dt_ue_t *r, dt_ue_t *s, int fresh, int mode) {
    uint8_t msg[DT_CAP];
    size_t len = 0;
    uint32_t kd_id = mcsec_direct_kd_id(r->link);
    uint16_t sess = mcsec_direct_kd_sess_id(r->link);
    if (fresh && mode != DT_NONE)
        DT_OK(r, mcsec_direct_keying_offer(r->link, r->id, (mcsec_direct_keying_t)mode));
    DT_OK(r, mcsec_direct_build_rekey(r->link, fresh, msg, sizeof msg, &len));
    dt_send(r, msg, len);
    dt_pass(p, r, NULL, NULL);
    DT_OK(s, dt_step(s)); /* rekey request -> DSMC */
    CHECK(s->rx.kind == MCSEC_DIRECT_RX_REKEY);
    dt_pass(p, s, NULL, NULL);
    DT_OK(r, dt_step(r)); /* DSMC -> DSMP */
    CHECK(r->rx.kind == MCSEC_DIRECT_RX_DSMC);
    dt_pass(p, r, NULL, NULL);
    DT_OK(s, dt_step(s)); /* DSMP */
    CHECK(s->rx.kind == MCSEC_DIRECT_RX_DSMP);
    CHECK(mcsec_direct_kd_sess_id(r->link) != sess &&
          mcsec_direct_kd_sess_id(r->link) == mcsec_direct_kd_sess_id(s->link));
    CHECK(mcsec_direct_kd_id(r->link) == mcsec_direct_kd_id(s->link));
    CHECK(fresh ? mcsec_direct_kd_id(r->link) != kd_id : mcsec_direct_kd_id(r->link) == kd_id);
}

/* u releases the link; the peer receives the Release. */
static void dt_release(dt_path_t *p, dt_ue_t *u, dt_ue_t *peer) {
    uint8_t msg[DT_CAP];
    size_t len = 0;
    DT_OK(u, mcsec_direct_build_release(u->link, msg, sizeof msg, &len));
    dt_send(u, msg, len);
    dt_pass(p, u, NULL, NULL);
    DT_OK(peer, dt_step(peer));
    CHECK(peer->rx.kind == MCSEC_DIRECT_RX_RELEASE);
    CHECK(mcsec_direct_state(u->link) == MCSEC_DIRECT_S_IDLE &&
          mcsec_direct_state(peer->link) == MCSEC_DIRECT_S_IDLE);
}

#endif
