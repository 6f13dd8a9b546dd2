/* Network-authorised one-to-one keying (seed 001) with two network entities: two real
 * `mcsec-kms serve` daemons on loopback (E1 serving @a.example.org, E2 serving @b.example.org,
 * each with its own KMS store), peers of each other:
 * - UE_1 asks E1, E1 asks E2, UE_2 fetches from E2 with the session token of UE_1's DCR: both
 *   UEs hold the same KD, KD ID and connection identity; Direct Security Mode over UDP with it;
 * - one entity serving both UEs gives the same result;
 * - refusals with their exact status: initiator not authorised (POLICY), responder not
 *   authorised at its entity (POLICY, passed back through E1), another UE fetching the session
 *   (UNKNOWN_KEY), a second fetch (REPLAY), an unknown session (UNKNOWN_KEY), no entity for the
 *   peer's domain (UNKNOWN_KEY), a UE posing as a peer entity (POLICY), a DCR naming a session
 *   of someone else (VERIFY). */
#include "test.h"

#include "internal.h" /* the entity's own CURVE key pair, to call E2 as E1 does */
#include "relay_test.h"

#define UE1 "sip:alice@a.example.org"
#define UE1B "sip:anna@a.example.org"
#define DAVE "sip:dave@a.example.org"
#define UE2 "sip:bob@b.example.org"
#define CAROL "sip:carol@b.example.org"

static char dir1[512], dir2[512];
static kt_server_t e1, e2;
static mcsec_kms_info_t info1, info2;
static rt_dev_t ue1, ue1b, dave, ue2, carol;

static void same_key(const mcsec_prose_nw_key_t *a, const mcsec_prose_nw_key_t *b)
{
    CHECK_MEM(a->kd, b->kd, MCSEC_PROSE_KD_LEN);
    CHECK(a->kd_id == b->kd_id && a->conn_id == b->conn_id && (a->conn_id & 0x80000000u));
    CHECK_MEM(a->session, b->session, MCSEC_PROSE_SESSION_LEN);
    CHECK(strcmp(a->initiator_uri, b->initiator_uri) == 0 &&
          strcmp(a->responder_uri, b->responder_uri) == 0);
}

/* UE_1 (initiator) and UE_2 (responder) over UDP with network-authorised keying. */
static mcsec_status_t link_via_network(const mcsec_prose_server_t *s1, const char *uri1,
                                       const mcsec_prose_server_t *s2, const char *uri2,
                                       mcsec_prose_nw_key_t *k1, mcsec_prose_nw_key_t *k2)
{
    rt_wire_t w;
    uint8_t m[MCSEC_DIRECT_MSG_MAX], r[MCSEC_DIRECT_MSG_MAX];
    size_t ml = 0, rl = 0;
    mcsec_direct_ue_t *d1 = rt_direct_ue(uri1), *d2 = rt_direct_ue(uri2);
    mcsec_direct_link_t *l1 = NULL, *l2 = NULL;
    mcsec_status_t st;
    rt_wire_open(&w);
    if ((st = mcsec_direct_link_new(d1, uri2, &l1)) != MCSEC_OK ||
        (st = mcsec_prose_nw_link_initiate(s1, l1, uri2, k1)) != MCSEC_OK ||
        (st = mcsec_direct_build_dcr(l1, m, sizeof m, &ml)) != MCSEC_OK ||
        (st = rt_hop(w.a, w.b, m, ml, r, sizeof r, &rl)) != MCSEC_OK ||
        (st = mcsec_direct_link_new(d2, "", &l2)) != MCSEC_OK ||
        (st = mcsec_prose_nw_link_accept(s2, l2, r, rl, k2)) != MCSEC_OK ||
        (st = mcsec_direct_respond_begin(l2, r, rl)) != MCSEC_OK ||
        (st = mcsec_direct_build_dsmc(l2, m, sizeof m, &ml)) != MCSEC_OK ||
        (st = rt_hop(w.b, w.a, m, ml, r, sizeof r, &rl)) != MCSEC_OK)
        goto out;
    if (mcsec_direct_kd_id(l1) != k1->kd_id || mcsec_direct_kd_id(l2) != k2->kd_id) {
        st = MCSEC_ERR_VERIFY;
        goto out;
    }
    st = rt_finish(&w, l1, l2, r, rl);
out:
    mcsec_direct_ue_free(d1);
    mcsec_direct_ue_free(d2);
    rt_wire_close(&w);
    return st;
}

/* Counts entity-nw-key grants [0], entity-direct-keying grants [1], refusals [2]. */
static int count_audit(void *user, const mcsec_kms_audit_t *row)
{
    int *n = user;
    if (row->status == MCSEC_OK && strcmp(row->action, "entity-nw-key") == 0)
        n[0]++;
    if (row->status == MCSEC_OK && strcmp(row->action, "entity-direct-keying") == 0)
        n[1]++;
    if (row->status != MCSEC_OK && strcmp(row->action, "pkmf-refuse") == 0)
        n[2]++;
    return 0;
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    mcsec_kms_t *k1 = kt_create("entity1", dir1, sizeof dir1);
    mcsec_kms_t *k2 = kt_create("entity2", dir2, sizeof dir2);
    mcsec_kms_get_info(k1, &info1);
    mcsec_kms_get_info(k2, &info2);
    ue1 = rt_enroll(k1, UE1);
    ue1b = rt_enroll(k1, UE1B);
    dave = rt_enroll(k1, DAVE);
    ue2 = rt_enroll(k2, UE2);
    carol = rt_enroll(k2, CAROL);
    CHECK_STATUS(mcsec_pkmf_authorise(k1, UE1, MCSEC_PKMF_AUTH_DIRECT, 1), MCSEC_OK);
    CHECK_STATUS(mcsec_pkmf_authorise(k1, UE1B, MCSEC_PKMF_AUTH_DIRECT, 1), MCSEC_OK);
    CHECK_STATUS(mcsec_pkmf_authorise(k2, UE2, MCSEC_PKMF_AUTH_DIRECT, 1), MCSEC_OK);
    const char *extra[] = {"--workers", "2", "--rate", "1000", "--burst", "1000", NULL};
    if (kt_spawn(&e1, dir1, extra) != 0 || kt_spawn(&e2, dir2, extra) != 0)
        return 2;
    /* Each entity knows the other (the daemons read peers from their stores per request). */
    CHECK_STATUS(mcsec_pkmf_peer_add(k1, "entity2.b.example.org", e2.endpoint, info2.curve_public,
                                     "@b.example.org"),
                 MCSEC_OK);
    CHECK_STATUS(mcsec_pkmf_peer_add(k2, "entity1.a.example.org", e1.endpoint, info1.curve_public,
                                     "@a.example.org"),
                 MCSEC_OK);
    CHECK_STATUS(mcsec_pkmf_peer_add(k2, "entity3", e1.endpoint, info2.curve_public, "@c"),
                 MCSEC_ERR_BAD_INPUT); /* its own key */
    mcsec_prose_server_t s1 = rt_server(&e1, info1.curve_public, &ue1),
                         s1b = rt_server(&e1, info1.curve_public, &ue1b),
                         sdave = rt_server(&e1, info1.curve_public, &dave),
                         s2 = rt_server(&e2, info2.curve_public, &ue2),
                         scarol = rt_server(&e2, info2.curve_public, &carol);
    mcsec_prose_nw_key_t a, b;

    /* Two entities: the same KD, KD ID, connection identity on both sides. */
    CHECK_STATUS(mcsec_prose_nw_initiate(&s1, UE2, 0x1234, &a), MCSEC_OK);
    CHECK((a.kd_id >> 16) == 0x1234 && (a.kd_id & 0xffff) != 0);
    CHECK_STATUS(mcsec_prose_nw_accept(&s2, a.session, sizeof a.session, &b), MCSEC_OK);
    same_key(&a, &b);
    CHECK(strcmp(b.initiator_uri, UE1) == 0 && strcmp(b.responder_uri, UE2) == 0);
    /* Fetched once only; by the responder only; unknown sessions. */
    CHECK_STATUS(mcsec_prose_nw_accept(&s2, a.session, sizeof a.session, &b), MCSEC_ERR_REPLAY);
    mcsec_prose_nw_key_t c;
    CHECK_STATUS(mcsec_prose_nw_initiate(&s1, UE2, 0, &c), MCSEC_OK);
    CHECK((c.kd_id >> 16) != 0 && memcmp(c.kd, a.kd, sizeof a.kd) != 0);
    CHECK_STATUS(mcsec_prose_nw_accept(&scarol, c.session, sizeof c.session, &b),
                 MCSEC_ERR_POLICY); /* carol is not authorised at E2 */
    CHECK_STATUS(mcsec_pkmf_authorise(k2, CAROL, MCSEC_PKMF_AUTH_DIRECT, 1), MCSEC_OK);
    CHECK_STATUS(mcsec_prose_nw_accept(&scarol, c.session, sizeof c.session, &b),
                 MCSEC_ERR_UNKNOWN_KEY); /* not carol's session */
    CHECK_STATUS(mcsec_pkmf_authorise(k2, CAROL, MCSEC_PKMF_AUTH_DIRECT, 0), MCSEC_OK);
    uint8_t nosuch[MCSEC_PROSE_SESSION_LEN] = {1, 2, 3};
    CHECK_STATUS(mcsec_prose_nw_accept(&s2, nosuch, sizeof nosuch, &b), MCSEC_ERR_UNKNOWN_KEY);
    CHECK_STATUS(mcsec_prose_nw_accept(&s2, nosuch, 5, &b), MCSEC_ERR_BAD_LENGTH);
    CHECK_STATUS(mcsec_prose_nw_accept(&s2, c.session, sizeof c.session, &b), MCSEC_OK);
    same_key(&c, &b);

    /* Refusals on the initiating side. */
    CHECK_STATUS(mcsec_prose_nw_initiate(&sdave, UE2, 0, &b), MCSEC_ERR_POLICY);
    CHECK(strstr(b.message, "not authorised for direct") != NULL);
    CHECK_STATUS(mcsec_prose_nw_initiate(&s1, CAROL, 0, &b), MCSEC_ERR_POLICY);
    CHECK(strstr(b.message, "entity2.b.example.org") != NULL);
    CHECK_STATUS(mcsec_prose_nw_initiate(&s1, "sip:eve@c.example.org", 0, &b),
                 MCSEC_ERR_UNKNOWN_KEY);
    CHECK_STATUS(mcsec_prose_nw_initiate(&s1, UE1, 0, &b), MCSEC_ERR_BAD_INPUT);
    /* A peer entity's answer text is quoted in the refusal sent on and in the audit reason
     * (pkmf_entity.c): control and non-ASCII octets become '?', so a peer cannot forge log or
     * audit lines. The same filter guards every audit subject and reason (kms_audit_row). */
    {
        pkmf_req_t *req = calloc(1, sizeof *req);
        mcsec_kms_audit_t row;
        const char *evil = "no\n2026-11-22 KMS issued\x1b[2J\x80\xff\r\t end";
        CHECK(req != NULL);
        CHECK_STATUS(pkmf_fail(req, MCSEC_ERR_POLICY, "peer entity %.60s: %.180s", "e2", evil),
                     MCSEC_ERR_POLICY);
        CHECK(strcmp(req->why, "peer entity e2: no?2026-11-22 KMS issued?[2J???? end") == 0);
        kms_audit_row(&row, 1, "sip:a\tb@x", 0, "keying", MCSEC_ERR_POLICY, 0, evil);
        CHECK(strcmp(row.subject, "sip:a?b@x") == 0);
        CHECK(strcmp(row.reason, "no?2026-11-22 KMS issued?[2J???? end") == 0);
        free(req);
    }
    /* A UE cannot pose as a peer entity. */
    mcsec_prose_entity_answer_t ans;
    uint8_t km1[MCSEC_PROSE_KM_LEN] = {0};
    CHECK_STATUS(mcsec_prose_entity_keying(&s2, nosuch, UE1, UE2, km1, 7, &ans), MCSEC_ERR_POLICY);
    /* E1 itself (its transport key pair, as the daemon uses it) may speak only for the UEs it
     * serves, @a.example.org. */
    mcsec_prose_server_t as_e1 = {.endpoint = e2.endpoint, .server_public = info2.curve_public,
                                  .device_public = info1.curve_public,
                                  .device_secret = k1->secrets->curve_secret, .timeout_ms = 3000,
                                  .attempts = 1};
    CHECK_STATUS(mcsec_prose_entity_keying(&as_e1, nosuch, "sip:mallory@b.example.org", UE2, km1,
                                           7, &ans),
                 MCSEC_ERR_POLICY);
    CHECK(strstr(ans.message, "does not serve") != NULL);
    CHECK_STATUS(mcsec_prose_entity_keying(&as_e1, nosuch, UE1, UE2, km1, 0, &ans),
                 MCSEC_ERR_BAD_INPUT); /* KD ID MSB 0 */
    CHECK_STATUS(mcsec_prose_entity_keying(&as_e1, nosuch, UE1, UE2, km1, 7, &ans), MCSEC_OK);
    CHECK((ans.kd_id >> 16) == 7 && (ans.conn_id & 0x80000000u));
    CHECK_STATUS(mcsec_prose_entity_keying(&as_e1, nosuch, UE1, UE2, km1, 7, &ans),
                 MCSEC_ERR_REPLAY); /* the same session token twice */
    mcsec_memzero(&ans, sizeof ans);

    /* One entity serving both UEs. */
    CHECK_STATUS(mcsec_prose_nw_initiate(&s1, UE1B, 0, &a), MCSEC_OK);
    CHECK_STATUS(mcsec_prose_nw_accept(&s1b, a.session, sizeof a.session, &b), MCSEC_OK);
    same_key(&a, &b);

    /* Direct Security Mode over UDP with the network KD: across entities and within one. */
    CHECK_STATUS(link_via_network(&s1, UE1, &s2, UE2, &a, &b), MCSEC_OK);
    same_key(&a, &b);
    CHECK_STATUS(link_via_network(&s1, UE1, &s1b, UE1B, &a, &b), MCSEC_OK);
    /* A DCR whose user info (dave) is not the initiator of the session it names (alice's). */
    CHECK_STATUS(link_via_network(&s1, DAVE, &s2, UE2, &a, &b), MCSEC_ERR_VERIFY);

    /* Audit rows on both entities: E1 the initiations, E2 the keying and the fetches. */
    int n1[3] = {0}, n2[3] = {0};
    CHECK_STATUS(mcsec_kms_list_audit(k1, 0, count_audit, n1), MCSEC_OK);
    CHECK_STATUS(mcsec_kms_list_audit(k2, 0, count_audit, n2), MCSEC_OK);
    CHECK(n1[0] >= 5 && n1[2] >= 3);
    CHECK(n2[1] >= 4 && n2[2] >= 4);

    mcsec_prose_nw_key_wipe(&a);
    mcsec_prose_nw_key_wipe(&b);
    mcsec_prose_nw_key_wipe(&c);
    CHECK(kt_stop(&e1) == 0);
    CHECK(kt_stop(&e2) == 0);
    mcsec_kms_close(k1);
    mcsec_kms_close(k2);
    return test_summary();
}
