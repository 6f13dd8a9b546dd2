/* Direct-link refusals over UDP on loopback, each asserted with its exact status and the
 * link's check, with a man in the middle on the path (direct_test.h) editing, dropping,
 * keeping and injecting datagrams: bidding down (stripped supported algorithms, a chosen
 * algorithm not offered, a modified echo), wrong KD, stale KD, replayed DSMC, replayed DCR and
 * forged key creation data, unknown connection identity, tampered and replayed packets. After
 * each refusal the genuine exchange still works. */
#include "test.h"

#include "direct_internal.h"
#include "direct_test.h"

static ct_kms_t kms;
static dt_ue_t A, B, M; /* M: Mallory, a user of the same KMS */
static dt_path_t P;

#define ENC_BOTH                                                                                   \
    (MCSEC_DIRECT_ALG_BIT(MCSEC_DIRECT_ENC_NULL) | MCSEC_DIRECT_ALG_BIT(MCSEC_DIRECT_ENC_AES_CTR))

/* --- Edits ---------------------------------------------------------------------------------- */

static int set_octet(uint8_t *msg, size_t *len, void *arg) {
    const size_t *at_v = arg; /* {offset, value} */
    if (at_v[0] < *len) msg[at_v[0]] = (uint8_t)at_v[1];
    return 1;
}
static int flip_last(uint8_t *msg, size_t *len, void *arg) {
    (void)arg;
    msg[*len - 1] ^= 0x01;
    return 1;
}
static int drop(uint8_t *msg, size_t *len, void *arg) {
    (void)msg, (void)len, (void)arg;
    return 0;
}
static int put32_at(uint8_t *msg, size_t *len, void *arg) {
    const uint32_t *at_v = arg;
    if (at_v[0] + 4 <= *len) dx_put32(msg + at_v[0], at_v[1]);
    return 1;
}

/* Replaces the DCR's MIKEY-SAKKE item with Mallory's own I_MESSAGE for Bob (same key id). */
static int mallory_kcd(uint8_t *msg, size_t *len, void *arg) {
    (void)arg;
    mcsec_direct_request_t req;
    uint8_t key[16], imsg[2048], out[DT_CAP];
    size_t ilen = 0, olen = 0;
    CHECK_STATUS(mcsec_direct_dcr_parse(msg, *len, &req), MCSEC_OK);
    CHECK_STATUS(mcsec_direct_mikey_offer(mcsec_direct_identity_sender(M.id),
                                          mcsec_direct_identity_uri(B.id), req.kd_id, 0, key,
                                          imsg, sizeof imsg, &ilen),
                 MCSEC_OK);
    mcsec_memzero(key, sizeof key);
    req.kcd[0].value = imsg;
    req.kcd[0].len = ilen;
    CHECK_STATUS(dx_encode_request(&req, out, sizeof out, &olen), MCSEC_OK);
    memcpy(msg, out, olen);
    *len = olen;
    return 1;
}

/* --- Pieces of an exchange --------------------------------------------------------------------- */

/* a's DCR through the path (edited), b answers; returns b's status. */
static mcsec_status_t dcr_to(dt_ue_t *a, dt_ue_t *b, int mode, dt_edit_fn edit, void *arg) {
    dt_start(a, mcsec_direct_identity_uri(b->id), mode);
    dt_pass(&P, a, edit, arg);
    return dt_step(b);
}

/* The rest of an establishment after b answered the DCR with a DSMC. */
static void finish(dt_ue_t *a, dt_ue_t *b) {
    dt_pass(&P, b, NULL, NULL);
    DT_OK(a, dt_step(a));
    dt_pass(&P, a, NULL, NULL);
    DT_OK(b, dt_step(b));
    dt_pass(&P, b, NULL, NULL);
    DT_OK(a, dt_step(a));
    CHECK(mcsec_direct_state(a->link) == MCSEC_DIRECT_S_ESTABLISHED &&
          mcsec_direct_state(b->link) == MCSEC_DIRECT_S_ESTABLISHED);
}

static void reset(void) {
    /* both forget everything about each other */
    if (A.link) mcsec_direct_link_forget(A.ue, A.link);
    if (B.link) mcsec_direct_link_forget(B.ue, B.link);
    A.link = B.link = NULL;
}

/* --- Tests ---------------------------------------------------------------------------------- */

static void t_bidding_down(void) {
    printf("bidding down\n");
    /* AES-CTR stripped from the offer; Bob accepts only AES-CTR: no common algorithm */
    size_t strip[2] = {28, MCSEC_DIRECT_ALG_BIT(MCSEC_DIRECT_ENC_NULL)};
    DT_EXPECT(&B, dcr_to(&A, &B, MCSEC_DIRECT_KEYING_OFFLINE, set_octet, strip),
              MCSEC_ERR_POLICY, MCSEC_DIRECT_CHECK_NONE);
    CHECK(B.link == NULL); /* nothing kept for a refused newcomer */
    dt_pass(&P, &B, NULL, NULL); /* the Reject */
    DT_EXPECT(&A, dt_step(&A), MCSEC_ERR_POLICY, MCSEC_DIRECT_CHECK_REJECTED);
    CHECK(A.rx.kind == MCSEC_DIRECT_RX_REJECT);
    reset();

    /* Bob would accept null confidentiality: the stripped offer is answered, and Alice sees the
     * echo differ from what she offered */
    mcsec_direct_ue_t *strict = B.ue;
    mcsec_direct_config_t cfg = {.user_uri = mcsec_direct_identity_uri(B.id), .enc_algs = ENC_BOTH};
    mcsec_direct_ue_t *lenient = NULL;
    CHECK_STATUS(mcsec_direct_ue_new(&lenient, &cfg), MCSEC_OK);
    mcsec_direct_ue_t *strict_a = A.ue, *lenient_a = NULL;
    cfg.user_uri = mcsec_direct_identity_uri(A.id);
    CHECK_STATUS(mcsec_direct_ue_new(&lenient_a, &cfg), MCSEC_OK);
    B.ue = lenient;
    A.ue = lenient_a;
    DT_OK(&B, dcr_to(&A, &B, MCSEC_DIRECT_KEYING_OFFLINE, set_octet, strip));
    dt_pass(&P, &B, NULL, NULL);
    CHECK(P.last[24] == MCSEC_DIRECT_ENC_NULL); /* Bob chose null confidentiality */
    DT_EXPECT(&A, dt_step(&A), MCSEC_ERR_VERIFY, MCSEC_DIRECT_CHECK_BIDDING_DOWN);
    CHECK(mcsec_direct_state(A.link) == MCSEC_DIRECT_S_DCR_SENT);

    /* a DSMC choosing an algorithm Alice did not offer: refused before its MAC */
    size_t alg1[2] = {24, 1};
    reset();
    DT_OK(&B, dcr_to(&A, &B, MCSEC_DIRECT_KEYING_OFFLINE, NULL, NULL));
    dt_pass(&P, &B, set_octet, alg1);
    DT_EXPECT(&A, dt_step(&A), MCSEC_ERR_POLICY, MCSEC_DIRECT_CHECK_ALGS);
    /* the genuine DSMC, sent again by the attacker who kept it: accepted (the refused one
     * left no trace) */
    dt_inject(&P, &A, B.sent, B.sent_len);
    DT_OK(&A, dt_step(&A));
    CHECK(A.rx.kind == MCSEC_DIRECT_RX_DSMC);
    dt_pass(&P, &A, NULL, NULL);
    DT_OK(&B, dt_step(&B));
    dt_pass(&P, &B, NULL, NULL);
    DT_OK(&A, dt_step(&A));
    uint8_t enc = 0;
    mcsec_direct_algs(A.link, &enc, NULL);
    CHECK(enc == MCSEC_DIRECT_ENC_AES_CTR);
    /* the echo changed in the DSMC (to hide a stripped offer): the MAC catches it */
    reset();
    size_t echo[2] = {26, MCSEC_DIRECT_ALG_BIT(MCSEC_DIRECT_ENC_NULL)};
    DT_OK(&B, dcr_to(&A, &B, MCSEC_DIRECT_KEYING_OFFLINE, NULL, NULL));
    dt_pass(&P, &B, set_octet, echo);
    DT_EXPECT(&A, dt_step(&A), MCSEC_ERR_VERIFY, MCSEC_DIRECT_CHECK_MAC);
    reset();
    B.ue = strict;
    A.ue = strict_a;
    mcsec_direct_ue_free(lenient);
    mcsec_direct_ue_free(lenient_a);
}

static const uint8_t KD_A[32] = {0xa1}, KD_B[32] = {0xb2};
static mcsec_status_t hook_kd_b(void *user, mcsec_direct_link_t *link,
                                const mcsec_direct_request_t *req, const mcsec_direct_dsmc_t *d) {
    (void)d;
    const uint8_t *kd = user;
    return req != NULL ? mcsec_direct_set_kd_with_id(link, kd, req->kd_id) : MCSEC_OK;
}

static void t_wrong_kd(void) {
    printf("wrong KD, forged key creation data\n");
    uint8_t msg[DT_CAP];
    size_t len = 0;
    /* both sides got "the" KD from elsewhere, but not the same one */
    DT_OK(&A, mcsec_direct_link_new(A.ue, mcsec_direct_identity_uri(B.id), &A.link));
    DT_OK(&A, mcsec_direct_set_kd_with_id(A.link, KD_A, 0x1111abcd));
    DT_OK(&A, mcsec_direct_build_dcr(A.link, msg, sizeof msg, &len));
    dt_send(&A, msg, len);
    dt_pass(&P, &A, NULL, NULL);
    B.keys.kd_hook = hook_kd_b;
    B.keys.kd_hook_user = (void *)KD_B;
    DT_OK(&B, dt_step(&B));
    dt_pass(&P, &B, NULL, NULL);
    DT_EXPECT(&A, dt_step(&A), MCSEC_ERR_VERIFY, MCSEC_DIRECT_CHECK_MAC);
    /* the same with the right KD */
    reset();
    B.keys.kd_hook_user = (void *)KD_A;
    DT_OK(&A, mcsec_direct_link_new(A.ue, mcsec_direct_identity_uri(B.id), &A.link));
    DT_OK(&A, mcsec_direct_set_kd_with_id(A.link, KD_A, 0x1111abcd));
    DT_OK(&A, mcsec_direct_build_dcr(A.link, msg, sizeof msg, &len));
    dt_send(&A, msg, len);
    dt_pass(&P, &A, NULL, NULL);
    DT_OK(&B, dt_step(&B));
    finish(&A, &B);
    CHECK(mcsec_direct_kd_id(B.link) == 0x1111abcd);
    B.keys.kd_hook = NULL;
    reset();

    /* Mallory puts her own I_MESSAGE (signed by her) in Alice's DCR: Bob refuses it */
    DT_EXPECT(&B, dcr_to(&A, &B, MCSEC_DIRECT_KEYING_OFFLINE, mallory_kcd, NULL),
              MCSEC_ERR_VERIFY, MCSEC_DIRECT_CHECK_NONE);
    dt_pass(&P, &B, NULL, NULL);
    DT_EXPECT(&A, dt_step(&A), MCSEC_ERR_VERIFY, MCSEC_DIRECT_CHECK_REJECTED);
    reset();
}

static void t_stale_kd(void) {
    printf("stale KD\n");
    dt_establish(&P, &A, &B, MCSEC_DIRECT_KEYING_OFFLINE);
    uint32_t old_kd = mcsec_direct_kd_id(A.link);
    dt_rekey(&P, &A, &B, 1, MCSEC_DIRECT_KEYING_OFFLINE);
    uint32_t new_kd = mcsec_direct_kd_id(A.link);
    CHECK(new_kd != old_kd);
    dt_release(&P, &A, &B);
    /* the resumption DCR edited to name the KD the rekey replaced */
    uint32_t kd_at[2] = {7, old_kd};
    DT_EXPECT(&B, dcr_to(&A, &B, DT_NONE, put32_at, kd_at), MCSEC_ERR_UNKNOWN_KEY,
              MCSEC_DIRECT_CHECK_KEY);
    dt_pass(&P, &B, NULL, NULL);
    DT_EXPECT(&A, dt_step(&A), MCSEC_ERR_UNKNOWN_KEY, MCSEC_DIRECT_CHECK_REJECTED);
    CHECK(mcsec_direct_state(B.link) == MCSEC_DIRECT_S_IDLE);
    /* a DSMC edited to name the old KD: refused before its MAC */
    DT_OK(&B, dcr_to(&A, &B, DT_NONE, NULL, NULL));
    uint32_t kd_dsmc[2] = {2, old_kd};
    dt_pass(&P, &B, put32_at, kd_dsmc);
    DT_EXPECT(&A, dt_step(&A), MCSEC_ERR_UNKNOWN_KEY, MCSEC_DIRECT_CHECK_KEY);
    /* the genuine DSMC still completes, on the current KD */
    dt_inject(&P, &A, B.sent, B.sent_len);
    DT_OK(&A, dt_step(&A));
    dt_pass(&P, &A, NULL, NULL);
    DT_OK(&B, dt_step(&B));
    dt_pass(&P, &B, NULL, NULL);
    DT_OK(&A, dt_step(&A));
    CHECK(mcsec_direct_kd_id(A.link) == new_kd && mcsec_direct_kd_id(B.link) == new_kd);
    dt_data(&P, &A, &B, 4);
    reset();
}

static void t_replays(void) {
    printf("replayed DSMC, DCR, DSMP\n");
    uint8_t dcr[DT_CAP], dsmc[DT_CAP], dsmp[DT_CAP];
    size_t dcr_len, dsmc_len, dsmp_len;
    dt_start(&A, mcsec_direct_identity_uri(B.id), MCSEC_DIRECT_KEYING_OFFLINE);
    dcr_len = dt_pass(&P, &A, NULL, NULL);
    memcpy(dcr, P.last, dcr_len);
    DT_OK(&B, dt_step(&B));
    dsmc_len = dt_pass(&P, &B, NULL, NULL);
    memcpy(dsmc, P.last, dsmc_len);
    DT_OK(&A, dt_step(&A));
    dsmp_len = dt_pass(&P, &A, NULL, NULL);
    memcpy(dsmp, P.last, dsmp_len);
    DT_OK(&B, dt_step(&B));
    dt_pass(&P, &B, NULL, NULL);
    DT_OK(&A, dt_step(&A));
    /* the DSMC again, once the exchange is over */
    dt_inject(&P, &A, dsmc, dsmc_len);
    DT_EXPECT(&A, dt_step(&A), MCSEC_ERR_REPLAY, MCSEC_DIRECT_CHECK_REPLAY);
    /* the DSMP again */
    dt_inject(&P, &B, dsmp, dsmp_len);
    DT_EXPECT(&B, dt_step(&B), MCSEC_ERR_REPLAY, MCSEC_DIRECT_CHECK_REPLAY);
    /* after a rekey too: the rekey's DSMC replayed */
    dt_rekey(&P, &B, &A, 0, DT_NONE);
    dt_inject(&P, &A, B.sent, B.sent_len); /* Bob's last datagram, the rekey's DSMP, again */
    DT_EXPECT(&A, dt_step(&A), MCSEC_ERR_REPLAY, MCSEC_DIRECT_CHECK_REPLAY);
    dt_inject(&P, &B, A.sent, A.sent_len); /* Alice's DSMC of that rekey, again */
    DT_EXPECT(&B, dt_step(&B), MCSEC_ERR_REPLAY, MCSEC_DIRECT_CHECK_REPLAY);
    dt_data(&P, &A, &B, 4);
    /* the old DCR replayed to Bob: its I_MESSAGE was seen before */
    mcsec_direct_link_t *keep = B.link;
    B.link = NULL;
    dt_inject(&P, &B, dcr, dcr_len);
    DT_EXPECT(&B, dt_step(&B), MCSEC_ERR_REPLAY, MCSEC_DIRECT_CHECK_NONE);
    CHECK(B.link == NULL);
    B.link = keep;
    /* the Reject Bob sent for it goes nowhere (Alice has no DCR pending) */
    dt_pass(&P, &B, NULL, NULL);
    DT_EXPECT(&A, dt_step(&A), MCSEC_ERR_STRUCTURE, MCSEC_DIRECT_CHECK_NONE);
    dt_data(&P, &B, &A, 4);
    reset();
}

static void t_conn_id(void) {
    printf("unknown connection identity\n");
    dt_establish(&P, &A, &B, MCSEC_DIRECT_KEYING_SDES);
    dt_release(&P, &B, &A);
    uint32_t conn = mcsec_direct_remote_conn_id(A.link);
    /* the identity edited in transit */
    uint32_t at[2] = {3, conn ^ 0x00010000u};
    DT_EXPECT(&B, dcr_to(&A, &B, DT_NONE, put32_at, at), MCSEC_ERR_UNKNOWN_KEY,
              MCSEC_DIRECT_CHECK_KEY);
    dt_pass(&P, &B, NULL, NULL);
    DT_EXPECT(&A, dt_step(&A), MCSEC_ERR_UNKNOWN_KEY, MCSEC_DIRECT_CHECK_REJECTED);
    /* Bob forgot the link: the genuine identity is unknown to him now */
    mcsec_direct_link_forget(B.ue, B.link);
    B.link = NULL;
    DT_EXPECT(&B, dcr_to(&A, &B, DT_NONE, NULL, NULL), MCSEC_ERR_UNKNOWN_KEY,
              MCSEC_DIRECT_CHECK_NONE);
    CHECK(B.link == NULL);
    dt_pass(&P, &B, NULL, NULL);
    DT_EXPECT(&A, dt_step(&A), MCSEC_ERR_UNKNOWN_KEY, MCSEC_DIRECT_CHECK_REJECTED);
    CHECK(mcsec_direct_state(A.link) == MCSEC_DIRECT_S_IDLE);
    /* Alice starts afresh with a new KD */
    mcsec_direct_link_forget(A.ue, A.link);
    A.link = NULL;
    dt_establish(&P, &A, &B, MCSEC_DIRECT_KEYING_SDES);
    dt_data(&P, &A, &B, 4);
    reset();
}

static void t_packets(void) {
    printf("tampered and replayed packets\n");
    uint8_t pkt[DT_CAP], old[DT_CAP];
    size_t len = 0, old_len = 0;
    dt_establish(&P, &A, &B, MCSEC_DIRECT_KEYING_OFFLINE);
    /* signalling: a bit of the header, body or MAC-I. Octets 1-2 name the session (another:
     * unknown), octet 3 the bearer (4: malformed), octets 4-7 the COUNT (an older COUNT would
     * be a replay: the high octet makes it a new one, caught by the MAC) */
    static const struct {
        size_t at;
        mcsec_status_t want;
    } spots[] = {{1, MCSEC_ERR_UNKNOWN_KEY}, {2, MCSEC_ERR_UNKNOWN_KEY}, {3, MCSEC_ERR_BAD_INPUT},
                 {4, MCSEC_ERR_VERIFY},      {8, MCSEC_ERR_VERIFY},      {12, MCSEC_ERR_VERIFY},
                 {20, MCSEC_ERR_VERIFY},     {23, MCSEC_ERR_VERIFY}};
    for (size_t i = 0; i < sizeof spots / sizeof spots[0]; i++) {
        DT_OK(&A, mcsec_direct_protect(A.link, 0, (const uint8_t *)"signalling data", 15, pkt,
                                       sizeof pkt, &len));
        CHECK(len == 8 + 15 + 1 + 4);
        pkt[spots[i].at] ^= 0x04;
        dt_send(&A, pkt, len);
        dt_pass(&P, &A, NULL, NULL);
        DT_EXPECT(&B, dt_step(&B), spots[i].want,
                  spots[i].want == MCSEC_ERR_VERIFY ? MCSEC_DIRECT_CHECK_MAC
                                                    : MCSEC_DIRECT_CHECK_NONE);
    }
    DT_OK(&A, mcsec_direct_protect(A.link, 0, (const uint8_t *)"signalling data", 15, pkt,
                                   sizeof pkt, &len));
    dt_send(&A, pkt, len);
    dt_pass(&P, &A, flip_last, NULL);
    DT_EXPECT(&B, dt_step(&B), MCSEC_ERR_VERIFY, MCSEC_DIRECT_CHECK_MAC);
    /* the genuine packet, then its replay */
    dt_inject(&P, &B, pkt, len);
    DT_OK(&B, dt_step(&B));
    CHECK(B.rx.kind == MCSEC_DIRECT_RX_SIGNAL && B.rx.len == 15);
    dt_inject(&P, &B, pkt, len);
    DT_EXPECT(&B, dt_step(&B), MCSEC_ERR_REPLAY, MCSEC_DIRECT_CHECK_REPLAY);
    /* user plane: confidentiality only (seed 000 5.5.3): a flipped bit reaches the plaintext,
     * a replay does not pass */
    DT_OK(&B, mcsec_direct_protect(B.link, 1, (const uint8_t *)"user data", 9, pkt, sizeof pkt,
                                   &len));
    memcpy(old, pkt, len);
    old_len = len;
    dt_send(&B, pkt, len);
    dt_pass(&P, &B, flip_last, NULL);
    DT_OK(&A, dt_step(&A));
    CHECK(A.rx.len == 9 && A.data[8] == ('a' ^ 0x01) && memcmp(A.data, "user dat", 8) == 0);
    dt_inject(&P, &A, old, old_len);
    DT_EXPECT(&A, dt_step(&A), MCSEC_ERR_REPLAY, MCSEC_DIRECT_CHECK_REPLAY);
    /* a packet dropped and delivered late inside the window is fine, twice is not */
    DT_OK(&B, mcsec_direct_protect(B.link, 2, (const uint8_t *)"late", 4, old, sizeof old,
                                   &old_len));
    dt_data(&P, &B, &A, 8);
    dt_inject(&P, &A, old, old_len);
    DT_OK(&A, dt_step(&A));
    CHECK(A.rx.len == 4 && memcmp(A.data, "late", 4) == 0);
    dt_inject(&P, &A, old, old_len);
    DT_EXPECT(&A, dt_step(&A), MCSEC_ERR_REPLAY, MCSEC_DIRECT_CHECK_REPLAY);
    /* after a rekey and once the new session is in use, the old session's packets are
     * refused */
    dt_rekey(&P, &A, &B, 0, DT_NONE);
    dt_data(&P, &A, &B, 2);
    dt_data(&P, &B, &A, 2);
    dt_inject(&P, &A, old, old_len);
    DT_EXPECT(&A, dt_step(&A), MCSEC_ERR_UNKNOWN_KEY, MCSEC_DIRECT_CHECK_KEY);
    /* and after a release, everything of the session is */
    DT_OK(&A, mcsec_direct_protect(A.link, 3, (const uint8_t *)"x", 1, old, sizeof old,
                                   &old_len));
    dt_release(&P, &A, &B);
    dt_inject(&P, &B, old, old_len);
    DT_EXPECT(&B, dt_step(&B), MCSEC_ERR_UNKNOWN_KEY, MCSEC_DIRECT_CHECK_KEY);
    /* a DSMP that lost its way: dropped; the responder keeps waiting, the requester is
     * secured; the DSMP sent again (by the attacker who kept it) completes it */
    reset();
    DT_OK(&B, dcr_to(&A, &B, MCSEC_DIRECT_KEYING_OFFLINE, NULL, NULL));
    dt_pass(&P, &B, NULL, NULL);
    DT_OK(&A, dt_step(&A));
    dt_pass(&P, &A, drop, NULL);
    CHECK(mcsec_direct_state(B.link) == MCSEC_DIRECT_S_DSMC_SENT);
    dt_inject(&P, &B, A.sent, A.sent_len);
    DT_OK(&B, dt_step(&B));
    CHECK(B.rx.kind == MCSEC_DIRECT_RX_DSMP);
    dt_pass(&P, &B, NULL, NULL);
    DT_OK(&A, dt_step(&A));
    dt_data(&P, &A, &B, 2);
    reset();
}

int main(void) {
    ct_kms_new(&kms);
    dt_ue_new(&A, &kms, "alice", "sip:alice@example.org", 0, 1);
    dt_ue_new(&B, &kms, "bob", "sip:bob@example.org", 0, 0);
    dt_ue_new(&M, &kms, "mallory", "sip:mallory@example.org", 0, 0);
    dt_path_new(&P, &A, &B);
    t_bidding_down();
    t_wrong_kd();
    t_stale_kd();
    t_replays();
    t_conn_id();
    t_packets();
    dt_path_free(&P);
    dt_ue_free(&A);
    dt_ue_free(&B);
    dt_ue_free(&M);
    ct_kms_free(&kms);
    return test_summary();
}
