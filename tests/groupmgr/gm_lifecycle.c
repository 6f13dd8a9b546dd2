/* Join, receive, leave, rekey against a real `mcsec-groupmgr serve` on loopback:
 *   - members register and receive the GMK (backlog), acknowledged with proof;
 *   - a member added while the service runs gets the current GMK (catch-up);
 *   - a rekey on command is pushed to a connected member without re-registering;
 *   - a removed member: a new GMK for the others, none for it (no message, its registration
 *     refused, and it cannot open another member's message of the new GMK);
 *   - rekey on expiry, done by the service itself, pushed to a connected member. */
#include "test.h"
#include "gm_test.h"

#define G "sip:fire-north@example.org"
#define E "sip:short-lived@example.org"

int main(void)
{
    gt_kms_t k;
    char dir[512];
    gt_server_t srv;
    gt_handset_t alice, bob, carol, dave;
    gt_events_t ev;
    const char *g1[] = {G};
    const char *both[] = {G, E};

    gt_kms_new(&k);
    mcsec_groupmgr_t *gm = gt_gm_create("gm", dir, sizeof dir);
    gt_group(gm, &k, G, MCSEC_GROUPMGR_LIFETIME_DEFAULT);
    gt_group(gm, &k, E, 8); /* GMKs live 8 s: the service replaces them after ~6.4 s */
    gt_handset(&alice, &k, "sip:alice@example.org");
    gt_handset(&bob, &k, "sip:bob@example.org");
    gt_handset(&carol, &k, "sip:carol@example.org");
    gt_handset(&dave, &k, "sip:dave@example.org");
    const char *abc[] = {alice.uri, bob.uri, carol.uri};
    gt_members(gm, G, abc, 3);
    uint32_t gmk1 = gt_rekey(gm, G);
    CHECK(gmk1 != 0 && mcsec_purpose_tag(gmk1) == MCSEC_PURPOSE_GMK);
    if (gt_spawn(&srv, dir, NULL) != 0)
        return 2;

    /* 1. Receive: each member gets GMK 1 as new and current; the manager sees the acks. */
    gt_handset_t *hs[] = {&alice, &bob, &carol};
    for (int i = 0; i < 3; i++) {
        CHECK_STATUS(gt_sync(hs[i], &srv, g1, 1, &ev), MCSEC_OK);
        CHECK(ev.n >= 3 && ev.ev[0].kind == MCSEC_GMCLIENT_REGISTERED && ev.ev[0].backlog == 1);
        CHECK(gt_count_new(&ev, gmk1) == 1);
        CHECK(gt_current(hs[i], G) == gmk1);
        CHECK(gt_delivery_state(gm, G, gmk1, hs[i]->uri, NULL, NULL) == MCSEC_GROUPMGR_ACKED);
    }

    /* 2. Join while serving: dave is added by this process; the service is not involved in
     * building his message (member add does it), and delivers it on registration. */
    const char *d1[] = {dave.uri};
    gt_members(gm, G, d1, 1);
    CHECK(gt_delivery_state(gm, G, gmk1, dave.uri, NULL, NULL) == MCSEC_GROUPMGR_PENDING);
    CHECK_STATUS(gt_sync(&dave, &srv, g1, 1, &ev), MCSEC_OK);
    CHECK(gt_count_new(&ev, gmk1) == 1);
    CHECK(gt_current(&dave, G) == gmk1);

    /* 3. Rekey on command, pushed to connected alice (no new registration). alice is in E too
     * (it has no GMK yet: the first one comes by command, in step 5). */
    const char *a1[] = {alice.uri};
    gt_members(gm, E, a1, 1);
    gt_events_t live;
    memset(&live, 0, sizeof live);
    mcsec_gmclient_t *ca = gt_client(&alice, &srv, both, 2);
    CHECK_STATUS(gt_until_idle(ca, &live, 30000), MCSEC_OK);
    uint32_t gmk2 = gt_rekey(gm, G);
    CHECK(gmk2 != gmk1);
    CHECK(gt_wait_event(ca, &live, MCSEC_GMCLIENT_GMK, gmk2, 15000));
    CHECK(gt_count_new(&live, gmk2) == 1);
    CHECK_STATUS(gt_until_idle(ca, &live, 15000), MCSEC_OK);
    CHECK(gt_current(&alice, G) == gmk2);
    size_t registrations = 0;
    for (size_t i = 0; i < live.n; i++)
        registrations += live.ev[i].kind == MCSEC_GMCLIENT_REGISTERED;
    CHECK(registrations == 1);

    /* 4. Leave: bob is removed; the policy makes GMK 3 for the others only. */
    const char *b1[] = {bob.uri};
    size_t removed = 0;
    mcsec_groupmgr_rekey_result_t rr;
    CHECK_STATUS(mcsec_groupmgr_member_remove(gm, G, b1, 1, &removed, &rr), MCSEC_OK);
    CHECK(removed == 1 && rr.done && rr.members == 3 && !rr.resumed);
    uint32_t gmk3 = rr.gmk_id;
    CHECK(gmk3 != gmk2 && gmk3 != gmk1);
    size_t count = 0;
    CHECK(gt_delivery_state(gm, G, gmk3, bob.uri, NULL, &count) == -1);
    CHECK(count == 3);
    CHECK(gt_wait_event(ca, &live, MCSEC_GMCLIENT_GMK, gmk3, 15000)); /* pushed to alice */
    CHECK(gt_current(&alice, G) == gmk3);
    /* bob's registration is refused, he gets nothing. */
    CHECK_STATUS(gt_sync(&bob, &srv, g1, 1, &ev), MCSEC_ERR_POLICY);
    CHECK(ev.n == 1 && ev.ev[0].kind == MCSEC_GMCLIENT_REFUSED &&
          strstr(ev.ev[0].message, "is not a member of group " G) != NULL);
    CHECK(gt_current(&bob, G) == gmk2 || gt_current(&bob, G) == gmk1);
    /* bob cannot open carol's message of GMK 3 (a copy of what an eavesdropper sees). */
    uint8_t msg[4096];
    size_t len = 0;
    CHECK_STATUS(mcsec_groupmgr_get_message(gm, G, gmk3, carol.uri, msg, sizeof msg, &len),
                 MCSEC_OK);
    mcsec_profile_receiver_t *rx = NULL;
    mcsec_kms_params_t p;
    CHECK_STATUS(mcsec_keystore_get_kms(bob.ks, &p), MCSEC_OK);
    CHECK_STATUS(mcsec_profile_receiver_new(&rx, &p, bob.uri), MCSEC_OK);
    mcsec_keyset_t bks;
    CHECK_STATUS(mcsec_keystore_get_keyset(bob.ks, k.period_no, &bks), MCSEC_OK);
    CHECK_STATUS(mcsec_profile_receiver_add_keyset(rx, &bks), MCSEC_OK);
    mcsec_memzero(&bks, sizeof bks);
    mcsec_gmk_result_t gr;
    CHECK_STATUS(mcsec_gmk_open(rx, msg, len, MCSEC_OPEN_EXPECT_GMK | MCSEC_OPEN_DIAGNOSTIC, &gr),
                 MCSEC_ERR_WRONG_RECIPIENT);
    mcsec_gmk_result_wipe(&gr);
    mcsec_profile_receiver_free(rx);
    /* The others agree on GMK 3. */
    CHECK_STATUS(gt_sync(&carol, &srv, g1, 1, &ev), MCSEC_OK);
    CHECK(gt_count_new(&ev, gmk2) == 1 && gt_count_new(&ev, gmk3) == 1);
    CHECK_STATUS(gt_sync(&dave, &srv, g1, 1, &ev), MCSEC_OK);
    CHECK(gt_current(&carol, G) == gmk3 && gt_current(&dave, G) == gmk3);
    /* Removing a non-member changes nothing (no rekey). */
    CHECK_STATUS(mcsec_groupmgr_member_remove(gm, G, b1, 1, &removed, &rr), MCSEC_OK);
    CHECK(removed == 0 && !rr.done);

    /* 5. Expiry: group E's GMK lives 8 s; the service replaces it and pushes the new one. */
    uint32_t e1 = gt_rekey(gm, E);
    CHECK(gt_wait_event(ca, &live, MCSEC_GMCLIENT_GMK, e1, 15000));
    gt_gmks_t h;
    double t0 = gt_now();
    uint32_t e2 = 0;
    while (gt_now() - t0 < 20 && e2 == 0) {
        if (mcsec_gmclient_poll(ca, 200, gt_event_cb, &live) != MCSEC_OK)
            break;
        gt_gmks(gm, E, &h);
        if (h.n >= 2 && h.g[1].status == MCSEC_GROUPMGR_GMK_ACTIVE)
            e2 = h.g[1].gmk_id;
    }
    CHECK(e2 != 0 && e2 != e1);
    CHECK(h.n >= 2 && strcmp(h.g[1].reason, "expiry") == 0 && h.g[1].current);
    CHECK(h.n >= 2 && h.g[1].timestamp > h.g[0].timestamp);
    CHECK(gt_wait_event(ca, &live, MCSEC_GMCLIENT_GMK, e2, 15000));
    CHECK(gt_current(&alice, E) == e2);
    CHECK(gt_log_has(&srv, "rekeyed " E " (GMK expiring)"));
    mcsec_gmclient_close(ca);

    /* 6. History: strictly increasing timestamps, the latest current. */
    gt_gmks(gm, G, &h);
    CHECK(h.n == 3);
    CHECK(h.n == 3 && h.g[0].timestamp < h.g[1].timestamp && h.g[1].timestamp < h.g[2].timestamp);
    CHECK(h.n == 3 && h.g[2].gmk_id == gmk3 && h.g[2].current && !h.g[1].current);
    CHECK(h.n == 3 && strcmp(h.g[2].reason, "member-removed") == 0);

    CHECK(gt_stop(&srv) == 0);
    gt_handset_close(&alice);
    gt_handset_close(&bob);
    gt_handset_close(&carol);
    gt_handset_close(&dave);
    mcsec_groupmgr_close(gm);
    return test_summary();
}
