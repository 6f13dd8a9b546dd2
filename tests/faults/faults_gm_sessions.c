/* The Group Manager's connection table under hostile and flaky peers, through the service's
 * message handling itself (gm_srv_*, groupmgr/internal.h), with its answers read from a real
 * ZeroMQ socket:
 *   - 70,000 connections (more than the 65,536 sessions the table holds) that never register,
 *     each sending one envelope: each is answered, and a member's registration afterwards is
 *     still admitted. (Unregistered connections used to stay in the table for good: once it was
 *     full, every new connection, member or not, was silently ignored until a restart.)
 *   - a member that reconnects (a new connection with the same CURVE key) is served on the new
 *     connection only: the old one is forgotten at once (before, dead connections of a member
 *     stayed until its next push), and an acknowledgement sent there is refused as from an
 *     unregistered connection. */
#include "test.h"
#include "gm_test.h"
#include "faults.h"

#include "internal.h" /* groupmgr/: gm_srv_*, the store (the GMK for the proof) */

#define G "sip:fire-north@example.org"
#define ALICE "sip:alice@example.org"
#define FLOOD 70000

static void *front, *answers; /* the service answers on front; this test reads answers */
static void *pack_in, *pack_out; /* gt_raw_* helpers send here; the envelope is read back */

/* The envelope a gt_raw_* helper just sent (malloc'ed). */
static uint8_t *packed(size_t *len)
{
    zmq_msg_t m;
    zmq_msg_init(&m);
    if (zmq_msg_recv(&m, pack_out, 0) < 0)
        exit(2);
    *len = zmq_msg_size(&m);
    uint8_t *p = malloc(*len ? *len : 1);
    if (p == NULL)
        exit(2);
    memcpy(p, zmq_msg_data(&m), *len);
    zmq_msg_close(&m);
    return p;
}

/* The next answer for routing id rid (others skipped); NULL if none. */
static Mcsec__Groupmgr__GroupMgrMessage *answer_for(const char *rid)
{
    for (;;) {
        char r[256];
        uint8_t buf[8192];
        zmq_pollitem_t it = {answers, 0, ZMQ_POLLIN, 0};
        if (zmq_poll(&it, 1, 1000) <= 0)
            return NULL;
        int rl = zmq_recv(answers, r, sizeof r - 1, 0);
        int more = 0;
        size_t ml = sizeof more;
        zmq_getsockopt(answers, ZMQ_RCVMORE, &more, &ml);
        if (rl < 0 || !more)
            continue;
        int n = zmq_recv(answers, buf, sizeof buf, 0);
        r[rl < (int)sizeof r - 1 ? rl : (int)sizeof r - 1] = 0;
        if (n < 0 || strcmp(r, rid) != 0)
            continue;
        return mcsec__groupmgr__group_mgr_message__unpack(
            NULL, (size_t)(n > (int)sizeof buf ? (int)sizeof buf : n), buf);
    }
}

static void drain(void)
{
    uint8_t buf[8192];
    while (zmq_recv(answers, buf, sizeof buf, ZMQ_DONTWAIT) >= 0)
        ;
}

static void feed(gm_srv_t *v, const char *rid, const char *key, const uint8_t *p, size_t n)
{
    gm_srv_message(v, (const uint8_t *)rid, strlen(rid), key, 0, 0, p, n);
    gm_srv_flush(v);
}

/* Registers alice on connection rid with CURVE key (Z85 pub, raw pub_raw): the answer's status. */
static int register_on(gm_srv_t *v, gt_raw_t *r, const gt_kms_t *k, const mcsec_kms_keyset_t *set,
                       const char *rid)
{
    const char *gl[] = {G};
    size_t n = 0;
    gt_raw_register(r, set, ALICE, gl, 1, gt_ntp64(), NULL, k);
    uint8_t *p = packed(&n);
    feed(v, rid, r->pub, p, n);
    free(p);
    Mcsec__Groupmgr__GroupMgrMessage *m = answer_for(rid);
    int st = m != NULL && m->body_case ==
                              MCSEC__GROUPMGR__GROUP_MGR_MESSAGE__BODY_REGISTER_RESPONSE
                 ? m->register_response->status
                 : -1;
    if (m != NULL)
        mcsec__groupmgr__group_mgr_message__free_unpacked(m, NULL);
    return st;
}

/* Acknowledges the GMK on connection rid: the answer's status (-1: none). */
static int ack_on(gm_srv_t *v, gt_raw_t *r, const char *rid, uint32_t gmk_id, const uint8_t *proof,
                  char *why, size_t cap)
{
    size_t n = 0;
    gt_raw_ack(r, G, gmk_id, proof, MCSEC_GM_PROOF_LEN, ALICE);
    uint8_t *p = packed(&n);
    feed(v, rid, r->pub, p, n);
    free(p);
    int st = -1;
    Mcsec__Groupmgr__GroupMgrMessage *m;
    while ((m = answer_for(rid)) != NULL) { /* deliveries first, then the status */
        if (m->body_case == MCSEC__GROUPMGR__GROUP_MGR_MESSAGE__BODY_STATUS) {
            st = m->status->status;
            snprintf(why, cap, "%s", m->status->message);
        }
        mcsec__groupmgr__group_mgr_message__free_unpacked(m, NULL);
        if (st >= 0)
            break;
    }
    return st;
}

int main(void)
{
    gt_kms_t k;
    char dir[512], why[512];
    mcsec_kms_keyset_t sets[2];
    gt_kms_new(&k);
    mcsec_groupmgr_t *gm = gt_gm_create("gm", dir, sizeof dir);
    gt_group(gm, &k, G, MCSEC_GROUPMGR_LIFETIME_DEFAULT);
    gt_issue(&k, ALICE, sets);
    const char *al[] = {ALICE};
    gt_members(gm, G, al, 1);
    uint32_t gmk_id = gt_rekey(gm, G);

    void *ctx = zmq_ctx_new();
    int zero = 0;
    front = zmq_socket(ctx, ZMQ_PAIR);
    answers = zmq_socket(ctx, ZMQ_PAIR);
    pack_in = zmq_socket(ctx, ZMQ_PAIR);
    pack_out = zmq_socket(ctx, ZMQ_PAIR);
    if (zmq_setsockopt(front, ZMQ_SNDHWM, &zero, sizeof zero) != 0 ||
        zmq_setsockopt(answers, ZMQ_RCVHWM, &zero, sizeof zero) != 0 ||
        zmq_bind(answers, "inproc://fx-answers") != 0 ||
        zmq_connect(front, "inproc://fx-answers") != 0 ||
        zmq_bind(pack_out, "inproc://fx-packed") != 0 ||
        zmq_connect(pack_in, "inproc://fx-packed") != 0)
        return 2;
    gt_raw_t r;
    memset(&r, 0, sizeof r);
    r.sock = pack_in;
    if (zmq_curve_keypair(r.pub, r.sec) != 0 || zmq_z85_decode(r.pub_raw, r.pub) == NULL)
        return 2;
    gm_srv_t *v = NULL;
    CHECK_STATUS(gm_srv_new(gm, 0, 0, front, &v), MCSEC_OK);
    if (v == NULL)
        return test_summary();

    /* 1. A flood of connections that never register. */
    static const uint8_t garbage[] = {0x52, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F, 0x01};
    char other[41], other_sec[41];
    CHECK(zmq_curve_keypair(other, other_sec) == 0);
    double t0 = fx_now();
    long answered = 0;
    fflush(stderr);
    int saved = dup(2), null = open("/dev/null", O_WRONLY); /* a refusal log line each */
    if (saved < 0 || null < 0 || dup2(null, 2) < 0)
        return 2;
    for (long i = 0; i < FLOOD; i++) {
        char rid[32];
        snprintf(rid, sizeof rid, "flood-%06ld", i);
        feed(v, rid, other, garbage, sizeof garbage);
        if (i % 1000 == 999) {
            uint8_t buf[1024];
            while (zmq_recv(answers, buf, sizeof buf, ZMQ_DONTWAIT) >= 0)
                answered++;
        }
    }
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    close(null);
    printf("%d unregistered connections handled in %.1f s\n", FLOOD, fx_now() - t0);
    drain();
    CHECK(answered >= 2L * (FLOOD - 1000)); /* routing id + envelope per answer */
    CHECK(register_on(v, &r, &k, &sets[0], "member-after-flood") == MCSEC_OK);

    /* 2. The member reconnects with the same key: only the new connection is its. (A fresh
     * service state: this part does not depend on the first.) */
    gm_srv_free(v);
    v = NULL;
    CHECK_STATUS(gm_srv_new(gm, 0, 0, front, &v), MCSEC_OK);
    if (v == NULL)
        return test_summary();
    drain();
    CHECK(register_on(v, &r, &k, &sets[0], "alice-1") == MCSEC_OK);
    CHECK(register_on(v, &r, &k, &sets[0], "alice-2") == MCSEC_OK);
    gm_gmk_row_t row;
    uint8_t gmk[MCSEC_GMK_LEN], proof[MCSEC_GM_PROOF_LEN];
    CHECK_STATUS(gm->ops->gmk_get(gm->store, G, gmk_id, &row), MCSEC_OK);
    CHECK_STATUS(gm_gmk_unseal(gm, &row, gmk), MCSEC_OK);
    CHECK_STATUS(mcsec_gm_ack_proof(gmk, ALICE, gmk_id, proof), MCSEC_OK);
    CHECK(ack_on(v, &r, "alice-1", gmk_id, proof, why, sizeof why) == MCSEC_ERR_POLICY);
    CHECK(strstr(why, "this connection is not registered") != NULL);
    CHECK(ack_on(v, &r, "alice-2", gmk_id, proof, why, sizeof why) == MCSEC_OK);
    CHECK(gt_delivery_state(gm, G, gmk_id, ALICE, NULL, NULL) == MCSEC_GROUPMGR_ACKED);

    mcsec_memzero(gmk, sizeof gmk);
    mcsec_memzero(proof, sizeof proof);
    mcsec_kms_keyset_wipe(sets, 2);
    gm_srv_free(v);
    zmq_close(front);
    zmq_close(answers);
    zmq_close(pack_in);
    zmq_close(pack_out);
    zmq_ctx_term(ctx);
    mcsec_groupmgr_close(gm);
    mcsec_memzero(&k, sizeof k);
    return test_summary();
}
