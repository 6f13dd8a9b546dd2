/* UE-to-network relays (seed 004) against a real `mcsec-kms serve` (the PKMF) on loopback with
 * its real SQLite store:
 * - a remote UE's Key Request: Key Type ID, PMK, PRUK in a MIKEY message; a second request with
 *   the PRUK ID held brings no new PRUK;
 * - the relay's Key Request with the PRUK ID: KD and KD Derivation Parameter; the remote UE
 *   derives the same KD; Direct Security Mode over UDP, data both ways;
 * - refusals with their exact status: relay not authorised for the UE (POLICY), PRUK ID unknown
 *   to the PKMF (UNKNOWN_KEY), tampered MIKEY from the PKMF (VERIFY), replayed MIKEY (REPLAY),
 *   unauthorised remote UE (POLICY), a relay refused at the DSMC stage by a Reject;
 * - pushes: a new PRUK replaces the previous one (the old PRUK ID is then unknown to the PKMF),
 *   an all-zero PRUK ID asks for a new Key Request; the long-term identity after a refusal;
 * - PRUKs are not in the store file in clear; every grant and refusal is audited;
 * - want = false: the PKMF forgets the UE's PRUK. */
#include <arpa/inet.h>
#include <inttypes.h>
#include <sys/socket.h>

#include "test.h"

#include "relay_test.h"

#define FQDN KT_KMS_URI
#define ALICE "sip:alice@example.org"
#define BOB "sip:bob@example.org"
#define RELAY1 "sip:relay1@example.org"
#define RELAY2 "sip:relay2@example.org"

static char dir[512];
static kt_server_t srv;
static mcsec_kms_info_t info;
static rt_dev_t alice, bob, relay1, relay2;
static mcsec_prose_server_t s_alice, s_bob, s_relay1, s_relay2;

/* A UDP socket on loopback for PRUK pushes; its "127.0.0.1:PORT" in addr. */
static int push_socket(char addr[32])
{
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = 0};
    socklen_t sl = sizeof sa;
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0 ||
        getsockname(fd, (struct sockaddr *)&sa, &sl) != 0)
        exit(2);
    snprintf(addr, 32, "127.0.0.1:%u", ntohs(sa.sin_port));
    return fd;
}

static size_t push_recv(int fd, uint8_t *buf, size_t cap)
{
    struct pollfd p = {fd, POLLIN, 0};
    if (poll(&p, 1, 3000) != 1)
        return 0;
    ssize_t n = recv(fd, buf, cap, 0);
    return n > 0 ? (size_t)n : 0;
}

/* 1 if needle occurs in the file. */
static int file_contains(const char *path, const uint8_t *needle, size_t n)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return 0;
    static uint8_t buf[8 << 20];
    size_t len = fread(buf, 1, sizeof buf, f);
    fclose(f);
    for (size_t i = 0; i + n <= len; i++)
        if (memcmp(buf + i, needle, n) == 0)
            return 1;
    return 0;
}

static int collect_line(void *user, const char *line)
{
    char *buf = user;
    size_t n = strlen(buf);
    snprintf(buf + n, 4096 - n, "%s\n", line);
    return 0;
}

typedef struct {
    int refusals_relay, grants_relay, ue_keys;
} audit_count_t;

static int count_audit(void *user, const mcsec_kms_audit_t *row)
{
    audit_count_t *c = user;
    if (strcmp(row->action, "pkmf-relay-key") == 0 && row->status == MCSEC_OK)
        c->grants_relay++;
    if (strcmp(row->action, "pkmf-refuse") == 0 && strstr(row->reason, "relay") != NULL)
        c->refusals_relay++;
    if (strcmp(row->action, "pkmf-ue-key") == 0)
        c->ue_keys++;
    return 0;
}

/* The remote UE (initiator) connects through relay_srv's relay (responder) over UDP. Returns
 * the status of the first failing step; *kd_same says whether both ends used the same KD. */
static mcsec_status_t connect_via_relay(mcsec_prose_ue_t *pue, const mcsec_prose_server_t *relay_srv,
                                        const char *relay_uri, mcsec_prose_relay_key_t *rk)
{
    rt_wire_t w;
    uint8_t m[MCSEC_DIRECT_MSG_MAX], r[MCSEC_DIRECT_MSG_MAX];
    size_t ml = 0, rl = 0;
    mcsec_direct_ue_t *due = rt_direct_ue(ALICE), *drelay = rt_direct_ue(relay_uri);
    mcsec_direct_link_t *l1 = NULL, *l2 = NULL;
    mcsec_status_t st;
    rt_wire_open(&w);
    if ((st = mcsec_direct_link_new(due, relay_uri, &l1)) != MCSEC_OK ||
        (st = mcsec_prose_ue_add_relay_kcd(pue, FQDN, l1)) != MCSEC_OK ||
        (st = mcsec_direct_build_dcr(l1, m, sizeof m, &ml)) != MCSEC_OK ||
        (st = rt_hop(w.a, w.b, m, ml, r, sizeof r, &rl)) != MCSEC_OK ||
        (st = mcsec_direct_link_new(drelay, "", &l2)) != MCSEC_OK ||
        (st = mcsec_direct_respond_begin(l2, r, rl)) != MCSEC_OK)
        goto out;
    if ((st = mcsec_prose_relay_prepare_dsmc(relay_srv, l2, r, rl, rk)) != MCSEC_OK) {
        /* The relay answers with a Reject; the remote UE gets the cause's status. */
        uint8_t cause = st == MCSEC_ERR_UNKNOWN_KEY ? MCSEC_DIRECT_CAUSE_UNKNOWN_KD
                                                    : MCSEC_DIRECT_CAUSE_AUTH;
        mcsec_direct_request_t req;
        mcsec_status_t pst = st;
        if ((st = mcsec_direct_dcr_parse(r, rl, &req)) != MCSEC_OK ||
            (st = mcsec_direct_build_reject(&req, cause, m, sizeof m, &ml)) != MCSEC_OK ||
            (st = rt_hop(w.b, w.a, m, ml, r, sizeof r, &rl)) != MCSEC_OK)
            goto out;
        st = mcsec_direct_handle_reject(l1, r, rl);
        if (st == pst && st == MCSEC_ERR_UNKNOWN_KEY)
            CHECK_STATUS(mcsec_prose_ue_pruk_refused(pue, FQDN), MCSEC_OK);
        CHECK(st == (pst == MCSEC_ERR_UNKNOWN_KEY ? MCSEC_ERR_UNKNOWN_KEY : MCSEC_ERR_VERIFY));
        st = pst;
        goto out;
    }
    if ((st = mcsec_direct_build_dsmc(l2, m, sizeof m, &ml)) != MCSEC_OK ||
        (st = rt_hop(w.b, w.a, m, ml, r, sizeof r, &rl)) != MCSEC_OK ||
        (st = mcsec_prose_ue_take_dsmc(pue, FQDN, l1, r, rl)) != MCSEC_OK)
        goto out;
    st = rt_finish(&w, l1, l2, r, rl);
out:
    mcsec_direct_ue_free(due);
    mcsec_direct_ue_free(drelay);
    rt_wire_close(&w);
    return st;
}

static void test_flow(mcsec_kms_t *kms)
{
    mcsec_keystore_t *ks = rt_keystore("alice.ks");
    mcsec_prose_ue_t *ue = NULL;
    mcsec_prose_key_result_t res;
    mcsec_prose_relay_key_t rk;
    uint8_t id[MCSEC_PROSE_RELAY_ID_MAX], kd[MCSEC_PROSE_KD_LEN], msg[1024];
    size_t idl = 0;
    char addr[32];
    int fd = push_socket(addr);
    CHECK_STATUS(mcsec_prose_ue_open(&ue, ks, ALICE), MCSEC_OK);

    /* 1. Key Request: PMK, Key Type ID, PRUK by MIKEY. */
    CHECK_STATUS(mcsec_prose_ue_key_request(ue, &s_alice, FQDN, 1, addr, &res), MCSEC_OK);
    CHECK(res.new_pmk == 1 && res.new_pruk == 1 && res.pruk_id != 0 && res.key_type_id != 0);
    uint64_t pruk1 = res.pruk_id;
    CHECK(mcsec_prose_ue_pruk_id(ue, FQDN) == pruk1);
    /* Again with the PRUK ID held: the same PRUK, no MIKEY. */
    CHECK_STATUS(mcsec_prose_ue_key_request(ue, &s_alice, FQDN, 1, NULL, &res), MCSEC_OK);
    CHECK(res.new_pruk == 0 && res.new_pmk == 0 && res.pruk_id == pruk1);

    /* 2. Relay Key Request with the PRUK ID: the same KD on both sides. */
    CHECK_STATUS(mcsec_prose_ue_relay_id(ue, FQDN, id, sizeof id, &idl), MCSEC_OK);
    CHECK(idl == 9 && id[0] == MCSEC_PROSE_RELAY_ID_PRUK);
    CHECK_STATUS(mcsec_prose_relay_key_request(&s_relay1, id, idl, &rk), MCSEC_OK);
    CHECK(strcmp(rk.ue_uri, ALICE) == 0);
    CHECK_STATUS(mcsec_prose_ue_derive_kd(ue, FQDN, rk.param, sizeof rk.param, kd), MCSEC_OK);
    CHECK_MEM(kd, rk.kd, sizeof kd);
    /* A second request: a fresh parameter, so a fresh KD. */
    mcsec_prose_relay_key_t rk2;
    CHECK_STATUS(mcsec_prose_relay_key_request(&s_relay1, id, idl, &rk2), MCSEC_OK);
    CHECK(memcmp(rk2.param, rk.param, sizeof rk.param) != 0 &&
          memcmp(rk2.kd, rk.kd, sizeof rk.kd) != 0);
    mcsec_prose_relay_key_wipe(&rk2);

    /* 3. Direct Security Mode over UDP through the relay. */
    CHECK_STATUS(connect_via_relay(ue, &s_relay1, RELAY1, &rk), MCSEC_OK);
    CHECK(strcmp(rk.ue_uri, ALICE) == 0);

    /* 4. Refusals at the PKMF. */
    CHECK_STATUS(mcsec_prose_relay_key_request(&s_relay2, id, idl, &rk), MCSEC_ERR_POLICY);
    CHECK(strstr(rk.message, "not authorised to serve") != NULL);
    CHECK_STATUS(connect_via_relay(ue, &s_relay2, RELAY2, &rk), MCSEC_ERR_POLICY);
    uint8_t unknown[9] = {MCSEC_PROSE_RELAY_ID_PRUK, 1, 2, 3, 4, 5, 6, 7, 8};
    CHECK_STATUS(mcsec_prose_relay_key_request(&s_relay1, unknown, sizeof unknown, &rk),
                 MCSEC_ERR_UNKNOWN_KEY);
    CHECK(strstr(rk.message, "unknown to this PKMF") != NULL);
    uint8_t garbage[3] = {9, 9, 9};
    CHECK_STATUS(mcsec_prose_relay_key_request(&s_relay1, garbage, sizeof garbage, &rk),
                 MCSEC_ERR_UNSUPPORTED);
    mcsec_keystore_t *ks_bob = rt_keystore("bob.ks");
    mcsec_prose_ue_t *ue_bob = NULL;
    CHECK_STATUS(mcsec_prose_ue_open(&ue_bob, ks_bob, BOB), MCSEC_OK);
    CHECK_STATUS(mcsec_prose_ue_key_request(ue_bob, &s_bob, FQDN, 1, NULL, &res),
                 MCSEC_ERR_POLICY);
    CHECK(strstr(res.message, "not authorised for remote-ue") != NULL);
    CHECK(mcsec_prose_ue_pruk_id(ue_bob, FQDN) == 0);
    mcsec_prose_relay_id_t bob_lt = {.type = MCSEC_PROSE_RELAY_ID_LONG_TERM};
    snprintf(bob_lt.uri, sizeof bob_lt.uri, "%s", BOB);
    CHECK_STATUS(mcsec_prose_relay_id_encode(&bob_lt, id, sizeof id, &idl), MCSEC_OK);
    CHECK_STATUS(mcsec_prose_relay_key_request(&s_relay1, id, idl, &rk), MCSEC_ERR_UNKNOWN_KEY);

    /* 5. A pushed new PRUK: tampered -> VERIFY; genuine -> replaces; replayed -> REPLAY. */
    uint64_t pushed = 0;
    CHECK_STATUS(mcsec_pkmf_push(kms, ALICE, 1, &pushed), MCSEC_OK);
    CHECK(pushed != 0 && pushed != pruk1);
    size_t n = push_recv(fd, msg, sizeof msg);
    CHECK(n > 100);
    uint8_t bad[1024];
    memcpy(bad, msg, n);
    bad[n - 40] ^= 0x01; /* inside the KEMAC's encrypted data */
    CHECK_STATUS(mcsec_prose_ue_receive_mikey(ue, FQDN, bad, n, &res), MCSEC_ERR_VERIFY);
    memcpy(bad, msg, n);
    bad[n - 1] ^= 0x80; /* the MAC */
    CHECK_STATUS(mcsec_prose_ue_receive_mikey(ue, FQDN, bad, n, &res), MCSEC_ERR_VERIFY);
    CHECK(mcsec_prose_ue_pruk_id(ue, FQDN) == pruk1); /* nothing replaced */
    CHECK_STATUS(mcsec_prose_ue_receive_mikey(ue, FQDN, msg, n, &res), MCSEC_OK);
    CHECK(res.new_pruk == 1 && res.pruk_id == pushed && mcsec_prose_ue_pruk_id(ue, FQDN) == pushed);
    CHECK_STATUS(mcsec_prose_ue_receive_mikey(ue, FQDN, msg, n, &res), MCSEC_ERR_REPLAY);
    CHECK_STATUS(mcsec_prose_ue_receive_mikey(ue, "pkmf.other.example.org", msg, n, &res),
                 MCSEC_ERR_UNKNOWN_KEY);
    /* The old PRUK ID is no longer known to the PKMF; the new one works end to end. */
    uint8_t old_id[9] = {MCSEC_PROSE_RELAY_ID_PRUK};
    for (int i = 0; i < 8; i++)
        old_id[1 + i] = (uint8_t)(pruk1 >> (56 - 8 * i));
    CHECK_STATUS(mcsec_prose_relay_key_request(&s_relay1, old_id, 9, &rk), MCSEC_ERR_UNKNOWN_KEY);
    CHECK_STATUS(connect_via_relay(ue, &s_relay1, RELAY1, &rk), MCSEC_OK);

    /* 6. All-zero PRUK ID: a new Key Request; the PRUK stays. */
    CHECK_STATUS(mcsec_pkmf_push(kms, ALICE, 0, &pushed), MCSEC_OK);
    CHECK(pushed == 0);
    n = push_recv(fd, msg, sizeof msg);
    CHECK(n > 0);
    CHECK_STATUS(mcsec_prose_ue_receive_mikey(ue, FQDN, msg, n, &res), MCSEC_OK);
    CHECK(res.key_request_again == 1 && res.new_pruk == 0);
    CHECK(mcsec_prose_ue_pruk_id(ue, FQDN) == res.pruk_id && res.pruk_id != 0);
    CHECK_STATUS(mcsec_prose_ue_key_request(ue, &s_alice, FQDN, 1, NULL, &res), MCSEC_OK);
    CHECK(res.new_pruk == 0);

    /* 7. A PRUK ID the PKMF no longer knows -> Reject -> the long-term identity works. */
    CHECK_STATUS(mcsec_pkmf_push(kms, ALICE, 1, &pushed), MCSEC_OK); /* UE does not read it */
    (void)push_recv(fd, msg, sizeof msg);
    CHECK_STATUS(connect_via_relay(ue, &s_relay1, RELAY1, &rk), MCSEC_ERR_UNKNOWN_KEY);
    CHECK_STATUS(mcsec_prose_ue_relay_id(ue, FQDN, id, sizeof id, &idl), MCSEC_OK);
    CHECK(id[0] == MCSEC_PROSE_RELAY_ID_LONG_TERM);
    /* With its long-term identity the PKMF serves its current PRUK, which this UE lacks: a
     * Key Request brings it (the PKMF sees the stale PRUK ID), then the relay link works. */
    CHECK_STATUS(mcsec_prose_ue_key_request(ue, &s_alice, FQDN, 1, NULL, &res), MCSEC_OK);
    CHECK(res.new_pruk == 1 && res.pruk_id != pushed);
    CHECK_STATUS(connect_via_relay(ue, &s_relay1, RELAY1, &rk), MCSEC_OK);

    /* The operator's listing shows the UE's current PRUK ID and delivery address. */
    char want[128], lines[4096] = "";
    snprintf(want, sizeof want, "remote-ue %s pruk-id %016" PRIx64 " push %s", ALICE,
             mcsec_prose_ue_pruk_id(ue, FQDN), addr);
    CHECK_STATUS(mcsec_pkmf_list(kms, collect_line, lines), MCSEC_OK);
    CHECK(strstr(lines, want) != NULL);
    CHECK(strstr(lines, "relay " RELAY1 " may-serve " ALICE "\n") != NULL);

    /* 8. The PRUK is not in the store file in clear (take one from a raw Key Request). */
    mcsec_prose_key_response_t kr;
    CHECK_STATUS(mcsec_prose_key_request(&s_alice, 1, NULL, 0, NULL, &kr), MCSEC_OK);
    CHECK(kr.has_pmk && kr.mikey_len > 0);
    mcsec_prose_pruk_expect_t exp = {.pmk = kr.pmk, .pmk_id = kr.pmk_id,
                                     .key_type_id = kr.key_type_id, .pkmf_fqdn = FQDN,
                                     .ue_uri = ALICE};
    mcsec_prose_pruk_msg_t pm;
    CHECK_STATUS(mcsec_prose_pruk_open(kr.mikey, kr.mikey_len, &exp, &pm, NULL), MCSEC_OK);
    char db[700];
    snprintf(db, sizeof db, "%s/kms.db", dir);
    char wal[710];
    snprintf(wal, sizeof wal, "%s-wal", db);
    CHECK(!file_contains(db, pm.pruk, sizeof pm.pruk) && !file_contains(wal, pm.pruk, sizeof pm.pruk));
    CHECK(!file_contains(db, kr.pmk, sizeof kr.pmk) && !file_contains(wal, kr.pmk, sizeof kr.pmk));
    /* The wrong Key Type ID or recipient are refused before the MAC. */
    exp.key_type_id ^= 1;
    CHECK_STATUS(mcsec_prose_pruk_open(kr.mikey, kr.mikey_len, &exp, &pm, NULL), MCSEC_ERR_PURPOSE);
    exp.key_type_id ^= 1;
    exp.ue_uri = BOB;
    CHECK_STATUS(mcsec_prose_pruk_open(kr.mikey, kr.mikey_len, &exp, &pm, NULL),
                 MCSEC_ERR_WRONG_RECIPIENT);
    mcsec_memzero(&pm, sizeof pm);
    mcsec_prose_key_response_wipe(&kr);

    /* 9. Audit: grants and refusals of relays, Key Requests. */
    audit_count_t c = {0};
    CHECK_STATUS(mcsec_kms_list_audit(kms, 0, count_audit, &c), MCSEC_OK);
    CHECK(c.grants_relay >= 4 && c.refusals_relay >= 2 && c.ue_keys >= 5);

    /* 10. Stop: the PKMF forgets the PRUK, the UE its record. */
    uint64_t last = mcsec_prose_ue_pruk_id(ue, FQDN);
    CHECK_STATUS(mcsec_prose_ue_key_request(ue, &s_alice, FQDN, 0, NULL, &res), MCSEC_OK);
    CHECK(res.stopped == 1 && mcsec_prose_ue_pruk_id(ue, FQDN) == 0);
    for (int i = 0; i < 8; i++)
        old_id[1 + i] = (uint8_t)(last >> (56 - 8 * i));
    CHECK_STATUS(mcsec_prose_relay_key_request(&s_relay1, old_id, 9, &rk), MCSEC_ERR_UNKNOWN_KEY);

    mcsec_prose_relay_key_wipe(&rk);
    mcsec_memzero(kd, sizeof kd);
    mcsec_prose_ue_close(ue_bob);
    mcsec_keystore_close(ks_bob);
    mcsec_prose_ue_close(ue);
    mcsec_keystore_close(ks);
    close(fd);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    mcsec_kms_t *kms = kt_create("pkmf", dir, sizeof dir);
    mcsec_kms_get_info(kms, &info);
    alice = rt_enroll(kms, ALICE);
    bob = rt_enroll(kms, BOB);
    relay1 = rt_enroll(kms, RELAY1);
    relay2 = rt_enroll(kms, RELAY2);
    CHECK_STATUS(mcsec_pkmf_authorise(kms, ALICE, MCSEC_PKMF_AUTH_REMOTE_UE, 1), MCSEC_OK);
    CHECK_STATUS(mcsec_pkmf_authorise_relay(kms, RELAY1, ALICE, 1), MCSEC_OK);
    CHECK_STATUS(mcsec_pkmf_authorise_relay(kms, RELAY2, "sip:carol@example.org", 1), MCSEC_OK);
    CHECK_STATUS(mcsec_pkmf_authorise(kms, "bad uri", MCSEC_PKMF_AUTH_REMOTE_UE, 1),
                 MCSEC_ERR_BAD_INPUT);
    const char *extra[] = {"--workers", "2", "--rate", "1000", "--burst", "1000", NULL};
    if (kt_spawn(&srv, dir, extra) != 0)
        return 2;
    s_alice = rt_server(&srv, info.curve_public, &alice);
    s_bob = rt_server(&srv, info.curve_public, &bob);
    s_relay1 = rt_server(&srv, info.curve_public, &relay1);
    s_relay2 = rt_server(&srv, info.curve_public, &relay2);
    test_flow(kms);
    CHECK(kt_stop(&srv) == 0);
    mcsec_kms_close(kms);
    return test_summary();
}
