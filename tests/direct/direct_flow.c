/* Direct links over UDP on loopback, in the modes that need no network: offline (KD from a
 * MIKEY-SAKKE I_MESSAGE signed with ECCSI) and sdes (K1 in the DCR, K2 in the DSMC, both in
 * MIKEY-SAKKE). Each mode: establish, data both ways on every bearer, rekey with fresh nonces
 * (asked by the responder) and with a fresh KD (asked by the initiator), release, resume by
 * connection identity, data again; then the other handset starts a new link to the first one
 * (roles swapped). Every datagram passes through the forwarding path unchanged. */
#include "test.h"

#include "direct_test.h"

static ct_kms_t kms;

static void run_mode(int mode, const char *name) {
    printf("%s\n", name);
    dt_ue_t a, b;
    dt_path_t p;
    char ua[64], ub[64];
    snprintf(ua, sizeof ua, "sip:alice-%s@example.org", name);
    snprintf(ub, sizeof ub, "sip:bob-%s@example.org", name);
    dt_ue_new(&a, &kms, "alice", ua, 0, 1);
    dt_ue_new(&b, &kms, "bob", ub, 0, 0);
    dt_path_new(&p, &a, &b);

    dt_establish(&p, &a, &b, mode);
    uint32_t kd_id = mcsec_direct_kd_id(a.link);
    CHECK((kd_id >> 28) == MCSEC_PURPOSE_PCK); /* usable as a PCK key id */
    dt_data(&p, &a, &b, 16);
    dt_data(&p, &b, &a, 16);

    dt_rekey(&p, &b, &a, 0, DT_NONE);
    dt_data(&p, &a, &b, 8);
    dt_data(&p, &b, &a, 8);
    dt_rekey(&p, &a, &b, 1, mode);
    CHECK(mcsec_direct_kd_id(a.link) != kd_id);
    dt_data(&p, &a, &b, 8);
    dt_data(&p, &b, &a, 8);
    mcsec_direct_stats_t st;
    mcsec_direct_stats(a.link, &st);
    CHECK(st.sessions == 3 && st.kds == 2 && st.rx_refused == 0);

    uint32_t conn = mcsec_direct_remote_conn_id(a.link);
    uint32_t kd2 = mcsec_direct_kd_id(a.link);
    dt_release(&p, &a, &b);
    dt_establish(&p, &a, &b, DT_NONE); /* resumption: stored KD, connection identity */
    CHECK(mcsec_direct_kd_id(a.link) == kd2);
    CHECK(mcsec_direct_remote_conn_id(a.link) != conn); /* a fresh one for next time */
    dt_data(&p, &a, &b, 8);
    dt_data(&p, &b, &a, 8);

    /* a resumption with a fresh KD (new key creation data, same connection identity) */
    dt_release(&p, &b, &a);
    dt_establish(&p, &a, &b, mode);
    CHECK(mcsec_direct_kd_id(a.link) != kd2);
    dt_data(&p, &b, &a, 4);

    /* b starts a link of its own to a: roles swap on its link */
    dt_release(&p, &a, &b);
    dt_establish(&p, &b, &a, DT_NONE);
    CHECK(mcsec_direct_role(b.link) == MCSEC_DIRECT_INITIATOR &&
          mcsec_direct_role(a.link) == MCSEC_DIRECT_RESPONDER);
    dt_data(&p, &a, &b, 4);
    dt_data(&p, &b, &a, 4);

    dt_path_free(&p);
    dt_ue_free(&a);
    dt_ue_free(&b);
}

int main(void) {
    ct_kms_new(&kms);
    run_mode(MCSEC_DIRECT_KEYING_OFFLINE, "offline");
    run_mode(MCSEC_DIRECT_KEYING_SDES, "sdes");
    ct_kms_free(&kms);
    return test_summary();
}
