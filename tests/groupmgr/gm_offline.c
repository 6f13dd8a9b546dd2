/* Store and forward: a member offline during three rekeys gets every GMK it missed on its next
 * registration, in timestamp order, each once as new, and the latest is current; messages sent
 * but never acknowledged (the connection dropped) are sent again on reconnection. */
#include "test.h"
#include "gm_test.h"

#define G "sip:night-shift@example.org"

int main(void)
{
    gt_kms_t k;
    char dir[512], why[512];
    gt_server_t srv;
    gt_handset_t alice, erin;
    gt_events_t ev, live;
    const char *g1[] = {G};

    gt_kms_new(&k);
    mcsec_groupmgr_t *gm = gt_gm_create("gm", dir, sizeof dir);
    gt_group(gm, &k, G, MCSEC_GROUPMGR_LIFETIME_DEFAULT);
    gt_handset(&alice, &k, "sip:alice@example.org");
    gt_handset(&erin, &k, "sip:erin@example.org");
    const char *members[] = {alice.uri, erin.uri};
    gt_members(gm, G, members, 2);
    if (gt_spawn(&srv, dir, NULL) != 0)
        return 2;

    /* alice stays connected; erin is offline for three rekeys. */
    memset(&live, 0, sizeof live);
    mcsec_gmclient_t *ca = gt_client(&alice, &srv, g1, 1);
    CHECK_STATUS(gt_until_idle(ca, &live, 30000), MCSEC_OK);
    uint32_t ids[3];
    for (int i = 0; i < 3; i++) {
        ids[i] = gt_rekey(gm, G);
        CHECK(gt_wait_event(ca, &live, MCSEC_GMCLIENT_GMK, ids[i], 15000));
    }
    CHECK(ids[0] != ids[1] && ids[1] != ids[2] && ids[0] != ids[2]);
    CHECK_STATUS(gt_until_idle(ca, &live, 15000), MCSEC_OK);
    CHECK(gt_current(&alice, G) == ids[2]);
    for (int i = 0; i < 3; i++)
        CHECK(gt_delivery_state(gm, G, ids[i], erin.uri, NULL, NULL) == MCSEC_GROUPMGR_PENDING);

    /* 1. A connection that takes the messages but never acknowledges them (it drops). */
    gt_raw_t raw;
    gt_raw_open(&raw, &srv);
    gt_raw_register(&raw, &erin.sets[0], erin.uri, g1, 1, gt_ntp64(), NULL, &k);
    CHECK(gt_raw_expect(&raw, MCSEC__GROUPMGR__GROUP_MGR_MESSAGE__BODY_REGISTER_RESPONSE, why,
                        sizeof why, 10000) == MCSEC_OK);
    uint64_t prev_ts = 0;
    int in_order = 1, got = 0;
    for (int i = 0; i < 3; i++) {
        Mcsec__Groupmgr__GroupMgrMessage *m = gt_raw_recv(&raw, 10000);
        if (m != NULL && m->body_case == MCSEC__GROUPMGR__GROUP_MGR_MESSAGE__BODY_DELIVERY) {
            got++;
            in_order &= m->delivery->timestamp > prev_ts && m->delivery->gmk_id == ids[i];
            prev_ts = m->delivery->timestamp;
        }
        if (m != NULL)
            mcsec__groupmgr__group_mgr_message__free_unpacked(m, NULL);
    }
    CHECK(got == 3 && in_order);
    gt_raw_close(&raw);
    unsigned attempts = 0;
    /* (marked SENT in one transaction after the pushes: wait for it) */
    CHECK(gt_wait_state(gm, G, ids[2], erin.uri, MCSEC_GROUPMGR_SENT, 10000) ==
          MCSEC_GROUPMGR_SENT);
    CHECK(gt_delivery_state(gm, G, ids[0], erin.uri, &attempts, NULL) == MCSEC_GROUPMGR_SENT);
    CHECK(attempts == 1);

    /* 2. erin comes back: every missed GMK, oldest first, each new once, the latest current. */
    CHECK_STATUS(gt_sync(&erin, &srv, g1, 1, &ev), MCSEC_OK);
    CHECK(ev.n >= 1 && ev.ev[0].kind == MCSEC_GMCLIENT_REGISTERED && ev.ev[0].backlog == 3);
    size_t gmk_events = 0;
    uint64_t last = 0;
    int ordered = 1;
    for (size_t i = 0; i < ev.n; i++) {
        if (ev.ev[i].kind != MCSEC_GMCLIENT_GMK)
            continue;
        ordered &= ev.ev[i].timestamp > last && ev.ev[i].gmk_id == ids[gmk_events];
        last = ev.ev[i].timestamp;
        gmk_events++;
    }
    CHECK(gmk_events == 3 && ordered);
    for (int i = 0; i < 3; i++)
        CHECK(gt_count_new(&ev, ids[i]) == 1);
    CHECK(gt_current(&erin, G) == ids[2]);
    CHECK(gt_current(&erin, G) == gt_current(&alice, G));
    for (int i = 0; i < 3; i++) {
        CHECK(gt_delivery_state(gm, G, ids[i], erin.uri, &attempts, NULL) ==
              MCSEC_GROUPMGR_ACKED);
        CHECK(attempts == 2); /* sent to the dropped connection, then again */
    }
    /* Every GMK is in erin's keystore. */
    mcsec_gmk_record_t rec;
    for (int i = 0; i < 3; i++) {
        CHECK_STATUS(mcsec_keystore_get_gmk(erin.ks, ids[i], &rec), MCSEC_OK);
        CHECK(strcmp(rec.group_uri, G) == 0);
    }
    mcsec_memzero(&rec, sizeof rec);

    /* 3. Nothing left: a new registration has an empty backlog. */
    CHECK_STATUS(gt_sync(&erin, &srv, g1, 1, &ev), MCSEC_OK);
    CHECK(ev.n == 1 && ev.ev[0].kind == MCSEC_GMCLIENT_REGISTERED && ev.ev[0].backlog == 0);

    mcsec_gmclient_close(ca);
    CHECK(gt_stop(&srv) == 0);
    gt_handset_close(&alice);
    gt_handset_close(&erin);
    mcsec_groupmgr_close(gm);
    return test_summary();
}
