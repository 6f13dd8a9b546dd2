/* The KMS service end to end, against a real `mcsec-kms serve` on loopback:
 * - provision -> fetch (mcsec_kms_fetch) -> keys validate -> a GMK message signed by the group
 *   identity (keys fetched by its group manager) opens on the handset;
 * - every refusal with its exact status, each audited: unknown CURVE key, revoked device,
 *   a handset asking for another identity or a group identity, malformed and oversized
 *   envelopes, a request after revocation on an open connection, clock far off, rate limit;
 * - a user_uri holding CR, LF, ESC, DEL and octets above 0x7f (log injection): refused, and
 *   audited with a subject of printable ASCII only (kms/audit.c) and a fixed reason;
 * - graceful shutdown on SIGTERM. */
#include <time.h>

#include "test.h"

#include "kms_test.h"
#include "mcsec/bundle.h"
#include "mcsec/profile.h"

static char dir[512];
static kt_server_t srv;
static mcsec_kms_info_t info;

typedef struct {
    char pub[41], sec[41];
    int64_t id;
} cred_t;

static cred_t enroll(mcsec_kms_t *kms, const char *uri, mcsec_kms_role_t role, const char *group)
{
    const char *groups[1] = {group};
    mcsec_kms_enroll_t req = {uri, role, groups, group != NULL ? 1 : 0, NULL};
    mcsec_kms_credential_t c;
    if (mcsec_kms_enroll(kms, &req, &c) != MCSEC_OK)
        kt_die("enroll");
    cred_t r;
    memcpy(r.pub, c.curve_public, 41);
    memcpy(r.sec, c.curve_secret, 41);
    r.id = c.device_id;
    return r;
}

static mcsec_status_t fetch(const cred_t *c, const char *uri, uint64_t at,
                            mcsec_kms_fetch_result_t *res)
{
    mcsec_kms_fetch_config_t cfg = {.endpoint = srv.endpoint, .kms_public = info.curve_public,
                                    .device_public = c->pub, .device_secret = c->sec,
                                    .user_uri = uri, .at_time = at, .timeout_ms = 3000,
                                    .attempts = 2, .backoff_ms = 100};
    return mcsec_kms_fetch(&cfg, res);
}

/* Finds a line "uri\tfile\tcode" in summary.txt. */
static int summary_code(const char *out_dir, const char *uri, char *file, char *code)
{
    char path[600], line[1024];
    snprintf(path, sizeof path, "%s/summary.txt", out_dir);
    FILE *f = fopen(path, "r");
    int found = 0;
    while (f != NULL && !found && fgets(line, sizeof line, f) != NULL) {
        char *t1 = strchr(line, '\t'), *t2 = t1 ? strchr(t1 + 1, '\t') : NULL;
        if (t2 == NULL)
            continue;
        *t1 = *t2 = 0;
        t2[1 + strcspn(t2 + 1, "\n")] = 0;
        if (strcmp(line, uri) == 0) {
            snprintf(file, 300, "%s/%s", out_dir, t1 + 1);
            snprintf(code, 64, "%s", t2 + 1);
            found = 1;
        }
    }
    if (f != NULL)
        fclose(f);
    return found;
}

/* --- provision -> fetch -> validate -> GMK ------------------------------------------------- */

#define ALICE "sip:alice@example.org"
#define GROUP "sip:fire-north@example.org"
#define GMS "sip:gms@example.org"

static void test_provision_fetch_gmk(mcsec_kms_t *kms)
{
    static const char *const group[] = {GROUP};
    const mcsec_kms_roster_row_t rows[2] = {{ALICE, MCSEC_KMS_ROLE_HANDSET, 1, group},
                                            {GMS, MCSEC_KMS_ROLE_GROUPMGR, 1, group}};
    char out_dir[600];
    snprintf(out_dir, sizeof out_dir, "%s/bundles", kt_tmpdir());
    CHECK_STATUS(mcsec_kms_provision(kms, rows, 2, out_dir, 0, 2, NULL, NULL), MCSEC_OK);

    char file[300], code[64];
    mcsec_bundle_t *alice_b = NULL, *gms_b = NULL;
    CHECK(summary_code(out_dir, ALICE, file, code));
    CHECK_STATUS(mcsec_bundle_open(file, code, &alice_b), MCSEC_OK);
    CHECK(summary_code(out_dir, GMS, file, code));
    CHECK_STATUS(mcsec_bundle_open(file, code, &gms_b), MCSEC_OK);
    if (alice_b == NULL || gms_b == NULL)
        return;
    CHECK(strcmp(alice_b->user_uri, ALICE) == 0 && strcmp(alice_b->role, "handset") == 0);
    CHECK(alice_b->n_groups == 1 && strcmp(alice_b->groups[0], GROUP) == 0);
    CHECK(strcmp(alice_b->kms_public, info.curve_public) == 0);
    CHECK(strcmp(alice_b->kms_endpoint, "tcp://127.0.0.1:7001") == 0);

    /* The bundle's documents validate too. */
    mcsec_kms_response_hdr_t hdr;
    mcsec_kms_init_t init;
    mcsec_kms_keyset_t sets[4];
    size_t n = 0;
    CHECK_STATUS(mcsec_kmsxml_parse_init(alice_b->init_xml, alice_b->init_len, &hdr, &init),
                 MCSEC_OK);
    CHECK_STATUS(mcsec_kmsxml_parse_keyprov(alice_b->keyprov_xml, alice_b->keyprov_len, &hdr,
                                            sets, 4, &n),
                 MCSEC_OK);
    CHECK(n == 2);
    if (n == 2)
        CHECK_STATUS(mcsec_kmsxml_check_keyset(&init, &sets[0], ALICE), MCSEC_OK);
    mcsec_kms_keyset_wipe(sets, 4);

    /* Fetch over CURVE with the bundle's credential. */
    cred_t alice, gms;
    memcpy(alice.pub, alice_b->device_public, 41);
    memcpy(alice.sec, alice_b->device_secret, 41);
    memcpy(gms.pub, gms_b->device_public, 41);
    memcpy(gms.sec, gms_b->device_secret, 41);
    mcsec_kms_fetch_result_t ra, rg;
    uint64_t now = kt_ntp_now();
    CHECK_STATUS(fetch(&alice, ALICE, 0, &ra), MCSEC_OK);
    CHECK_STATUS(fetch(&gms, GROUP, 0, &rg), MCSEC_OK); /* a group manager: its group's keys */
    if (ra.status != MCSEC_OK || rg.status != MCSEC_OK) {
        fprintf(stderr, "fetch: %s / %s\n", ra.message, rg.message);
        goto out;
    }
    CHECK_STATUS(mcsec_kmsxml_parse_init(ra.init_xml, ra.init_len, &hdr, &init), MCSEC_OK);
    CHECK(memcmp(init.Z, info.Z, sizeof init.Z) == 0 && memcmp(init.kpak, info.kpak, 65) == 0);
    mcsec_kms_keyset_t a[4], g[4];
    size_t na = 0, ng = 0;
    CHECK_STATUS(mcsec_kmsxml_parse_keyprov(ra.keyprov_xml, ra.keyprov_len, &hdr, a, 4, &na),
                 MCSEC_OK);
    CHECK(na == 2 && strcmp(hdr.user_uri, ALICE) == 0);
    CHECK_STATUS(mcsec_kmsxml_parse_keyprov(rg.keyprov_xml, rg.keyprov_len, &hdr, g, 4, &ng),
                 MCSEC_OK);
    CHECK(ng == 2);
    uint64_t pn = now / info.key_period;
    CHECK(na == 2 && a[0].key_period_no == pn && a[1].key_period_no == pn + 1);
    for (size_t i = 0; i < na; i++)
        CHECK_STATUS(mcsec_kmsxml_check_keyset(&init, &a[i], ALICE), MCSEC_OK);
    for (size_t i = 0; i < ng; i++)
        CHECK_STATUS(mcsec_kmsxml_check_keyset(&init, &g[i], GROUP), MCSEC_OK);

    /* A GMK message from the group identity to Alice, with the fetched keys only. */
    if (na == 2 && ng == 2) {
        mcsec_kms_params_t params;
        memset(&params, 0, sizeof params);
        snprintf(params.kms_uri, sizeof params.kms_uri, "%s", init.kms_uri);
        params.user_id_format = 2;
        params.key_period = init.key_period;
        params.key_period_offset = init.key_offset;
        memcpy(params.Z, init.Z, sizeof params.Z);
        memcpy(params.kpak, init.kpak, sizeof params.kpak);
        mcsec_eccsi_signer_t *signer = NULL;
        mcsec_sakke_sender_t *sakke = NULL;
        mcsec_profile_receiver_t *rx = NULL;
        CHECK_STATUS(mcsec_eccsi_signer_new(&signer, init.kpak, g[0].uid, 32, g[0].ssk, g[0].pvt),
                     MCSEC_OK);
        CHECK_STATUS(mcsec_sakke_sender_new(&sakke, init.Z), MCSEC_OK);
        mcsec_gmk_sender_t tx = {GROUP, init.kms_uri, init.key_period, init.key_offset, signer,
                                 sakke};
        static const uint8_t gmk[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
        uint8_t msg[2048];
        size_t mlen = 0;
        CHECK_STATUS(mcsec_gmk_build(&tx, ALICE, gmk, 0x0a0b0c0d, NULL, now << 32, msg,
                                     sizeof msg, &mlen),
                     MCSEC_OK);
        mcsec_keyset_t ks;
        memset(&ks, 0, sizeof ks);
        snprintf(ks.user_uri, sizeof ks.user_uri, "%s", ALICE);
        memcpy(ks.uid, a[0].uid, 32);
        ks.period_no = a[0].key_period_no;
        memcpy(ks.rsk, a[0].rsk, sizeof ks.rsk);
        memcpy(ks.ssk, a[0].ssk, sizeof ks.ssk);
        memcpy(ks.pvt, a[0].pvt, sizeof ks.pvt);
        CHECK_STATUS(mcsec_profile_receiver_new(&rx, &params, ALICE), MCSEC_OK);
        if (rx != NULL) {
            CHECK_STATUS(mcsec_profile_receiver_add_keyset(rx, &ks), MCSEC_OK);
            mcsec_gmk_result_t res;
            CHECK_STATUS(mcsec_gmk_open(rx, msg, mlen, MCSEC_OPEN_EXPECT_GMK, &res), MCSEC_OK);
            CHECK(memcmp(res.key, gmk, 16) == 0 && res.key_id == 0x0a0b0c0d);
            mcsec_gmk_result_wipe(&res);
        }
        mcsec_memzero(&ks, sizeof ks);
        mcsec_profile_receiver_free(rx);
        mcsec_sakke_sender_free(sakke);
        mcsec_eccsi_signer_free(signer);
    }
    mcsec_kms_keyset_wipe(a, 4);
    mcsec_kms_keyset_wipe(g, 4);
out:
    mcsec_kms_fetch_result_free(&ra);
    mcsec_kms_fetch_result_free(&rg);
    mcsec_bundle_free(alice_b);
    mcsec_bundle_free(gms_b);
}

/* --- Refusals ------------------------------------------------------------------------------ */

typedef struct {
    int64_t device;
    const char *action;
    int32_t status;
    int found;
    long counted; /* rows plus the "N more refused since the last row" of each */
    int bad_reason;
    int64_t first, last; /* times of the first and last row found */
} audit_want_t;

static int find_audit(void *user, const mcsec_kms_audit_t *row)
{
    audit_want_t *w = user;
    if (row->device_id == w->device && strcmp(row->action, w->action) == 0 &&
        row->status == w->status) {
        if (w->found++ == 0)
            w->first = row->time;
        w->last = row->time;
        const char *more = strstr(row->reason, " more refused since the last row)");
        const char *open = strrchr(row->reason, '(');
        long n = 0;
        if (more != NULL && open != NULL && open < more)
            n = strtol(open + 1, NULL, 10);
        if (strncmp(row->reason, "rate limited", 12) != 0 || (more != NULL && n <= 0))
            w->bad_reason++;
        w->counted += 1 + n;
    }
    return 0;
}

static int audited(mcsec_kms_t *kms, int64_t device, const char *action, mcsec_status_t st)
{
    audit_want_t w = {device, action, (int32_t)st, 0, 0, 0, 0, 0};
    if (mcsec_kms_list_audit(kms, 0, find_audit, &w) != MCSEC_OK)
        return 0;
    return w.found;
}

/* The audit row of request_id (0 found). */
typedef struct {
    uint64_t request_id;
    mcsec_kms_audit_t row;
    int found;
} audit_row_t;

static int find_request(void *user, const mcsec_kms_audit_t *row)
{
    audit_row_t *w = user;
    if (row->request_id == w->request_id) {
        w->row = *row;
        w->found++;
    }
    return 0;
}

static int printable(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
            return 0;
    return 1;
}

static void test_refusals(mcsec_kms_t *kms, void *ctx)
{
    mcsec_kms_fetch_result_t r;
    cred_t alice = enroll(kms, "sip:alice2@example.org", MCSEC_KMS_ROLE_HANDSET, GROUP);
    cred_t bob = enroll(kms, "sip:bob@example.org", MCSEC_KMS_ROLE_HANDSET, NULL);

    /* 1. Unknown CURVE key: refused by ZAP, the client reports it as an I/O failure. */
    cred_t stranger;
    CHECK(zmq_curve_keypair(stranger.pub, stranger.sec) == 0);
    CHECK_STATUS(fetch(&stranger, "sip:alice2@example.org", 0, &r), MCSEC_ERR_IO);
    CHECK(strstr(r.message, "refused this device's CURVE key") != NULL);
    mcsec_kms_fetch_result_free(&r);

    /* A device given the wrong KMS public key never completes the handshake: no answer. */
    {
        char wrong_pub[41], wrong_sec[41];
        CHECK(zmq_curve_keypair(wrong_pub, wrong_sec) == 0);
        mcsec_kms_fetch_config_t cfg = {.endpoint = srv.endpoint, .kms_public = wrong_pub,
                                        .device_public = alice.pub, .device_secret = alice.sec,
                                        .user_uri = "sip:alice2@example.org", .timeout_ms = 300,
                                        .attempts = 1};
        CHECK_STATUS(mcsec_kms_fetch(&cfg, &r), MCSEC_ERR_IO);
        CHECK(strstr(r.message, "no answer from the KMS") != NULL);
        mcsec_kms_fetch_result_free(&r);
    }

    /* 2. Revoked device: the same at connection time. */
    CHECK_STATUS(fetch(&bob, "sip:bob@example.org", 0, &r), MCSEC_OK);
    mcsec_kms_fetch_result_free(&r);
    CHECK_STATUS(mcsec_kms_revoke(kms, bob.id, "test"), MCSEC_OK);
    CHECK_STATUS(fetch(&bob, "sip:bob@example.org", 0, &r), MCSEC_ERR_IO);
    CHECK(strstr(r.message, "refused") != NULL);
    mcsec_kms_fetch_result_free(&r);
    CHECK(audited(kms, bob.id, "connect-refused", MCSEC_ERR_UNKNOWN_KEY) >= 1);

    /* 3. A handset asking for another identity, 4. for a group identity. */
    CHECK_STATUS(fetch(&alice, "sip:carol@example.org", 0, &r), MCSEC_ERR_POLICY);
    CHECK(strstr(r.message, "only its own keys") != NULL);
    mcsec_kms_fetch_result_free(&r);
    CHECK_STATUS(fetch(&alice, GROUP, 0, &r), MCSEC_ERR_POLICY);
    mcsec_kms_fetch_result_free(&r);
    CHECK(audited(kms, alice.id, "refuse", MCSEC_ERR_POLICY) == 2);

    /* A group manager asking for a group it does not manage. */
    cred_t gm2 = enroll(kms, "sip:gm2@example.org", MCSEC_KMS_ROLE_GROUPMGR, "sip:other@x.org");
    CHECK_STATUS(fetch(&gm2, GROUP, 0, &r), MCSEC_ERR_POLICY);
    mcsec_kms_fetch_result_free(&r);
    CHECK_STATUS(fetch(&gm2, "sip:other@x.org", 0, &r), MCSEC_OK);
    mcsec_kms_fetch_result_free(&r);

    /* Clock far off: more than one key period from the KMS clock, either way. */
    CHECK_STATUS(fetch(&alice, "sip:alice2@example.org", kt_ntp_now() + 2 * info.key_period, &r),
                 MCSEC_ERR_STALE);
    CHECK(strstr(r.message, "clock far off") != NULL);
    mcsec_kms_fetch_result_free(&r);
    CHECK_STATUS(fetch(&alice, "sip:alice2@example.org", kt_ntp_now() - 2 * info.key_period, &r),
                 MCSEC_ERR_STALE);
    mcsec_kms_fetch_result_free(&r);
    CHECK(audited(kms, alice.id, "refuse", MCSEC_ERR_STALE) == 2);

    /* 5. Malformed and oversized envelopes, on a raw connection. */
    cred_t carol = enroll(kms, "sip:carol@example.org", MCSEC_KMS_ROLE_HANDSET, NULL);
    void *d = kt_dealer(ctx, &srv, info.curve_public, carol.pub, carol.sec);
    CHECK(d != NULL);
    static const uint8_t garbage[] = {0x52, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F, 0x01};
    CHECK(zmq_send(d, garbage, sizeof garbage, 0) == (int)sizeof garbage);
    Mcsec__Kms__KmsResponse *resp = kt_recv(d, 10000);
    CHECK(resp != NULL && resp->status == MCSEC_ERR_BAD_INPUT && resp->kms_xml.len == 0);
    if (resp)
        mcsec__kms__kms_response__free_unpacked(resp, NULL);
    uint8_t *big = calloc(1, 20000);
    CHECK(zmq_send(d, big, 20000, 0) == 20000);
    resp = kt_recv(d, 10000);
    CHECK(resp != NULL && resp->status == MCSEC_ERR_BAD_LENGTH);
    if (resp)
        mcsec__kms__kms_response__free_unpacked(resp, NULL);
    free(big);
    /* Two frames where one is expected. */
    uint8_t req[512];
    size_t rl = kt_request(req, sizeof req, 7, "sip:carol@example.org", 0);
    CHECK(zmq_send(d, "x", 1, ZMQ_SNDMORE) == 1 && zmq_send(d, req, rl, 0) == (int)rl);
    resp = kt_recv(d, 10000);
    CHECK(resp != NULL && resp->status == MCSEC_ERR_BAD_INPUT);
    if (resp)
        mcsec__kms__kms_response__free_unpacked(resp, NULL);
    /* Wrong envelope version, and no body. */
    Mcsec__Kms__KmsRequest v2 = MCSEC__KMS__KMS_REQUEST__INIT;
    v2.version = 2;
    rl = mcsec__kms__kms_request__pack(&v2, req);
    CHECK(zmq_send(d, req, rl, 0) == (int)rl);
    resp = kt_recv(d, 10000);
    CHECK(resp != NULL && resp->status == MCSEC_ERR_UNSUPPORTED);
    if (resp)
        mcsec__kms__kms_response__free_unpacked(resp, NULL);
    v2.version = 1;
    rl = mcsec__kms__kms_request__pack(&v2, req);
    CHECK(zmq_send(d, req, rl, 0) == (int)rl);
    resp = kt_recv(d, 10000);
    CHECK(resp != NULL && resp->status == MCSEC_ERR_BAD_INPUT);
    if (resp)
        mcsec__kms__kms_response__free_unpacked(resp, NULL);
    CHECK(audited(kms, carol.id, "refuse", MCSEC_ERR_BAD_INPUT) == 3);
    CHECK(audited(kms, carol.id, "refuse", MCSEC_ERR_BAD_LENGTH) == 1);
    /* Log injection through the user_uri: refused, and the audit row (which `mcsec-kms audit`
     * prints) holds printable ASCII only; the KMS writes no peer text to its stderr. */
    {
        rl = kt_request(req, sizeof req, 4242,
                        "sip:x\nFORGED\r\x1b[31m\x7f\x80\xff end", 0);
        CHECK(zmq_send(d, req, rl, 0) == (int)rl);
        resp = kt_recv(d, 10000);
        CHECK(resp != NULL && resp->status == MCSEC_ERR_BAD_INPUT && resp->request_id == 4242);
        CHECK(resp != NULL && strcmp(resp->message, "user_uri is not 1-255 printable characters "
                                                    "without spaces") == 0);
        if (resp)
            mcsec__kms__kms_response__free_unpacked(resp, NULL);
        audit_row_t w = {4242, {0}, 0};
        CHECK_STATUS(mcsec_kms_list_audit(kms, 0, find_request, &w), MCSEC_OK);
        CHECK(w.found == 1 && w.row.device_id == carol.id && strcmp(w.row.action, "refuse") == 0);
        CHECK(strcmp(w.row.subject, "sip:x?FORGED??[31m????end") == 0);
        CHECK(printable(w.row.subject) && printable(w.row.reason) && printable(w.row.action));
        CHECK(strcmp(w.row.reason, "user_uri is not 1-255 printable characters without spaces") ==
              0);
    }

    /* The InitRequest: the public certificate only. */
    rl = kt_request(req, sizeof req, 8, NULL, 0);
    CHECK(zmq_send(d, req, rl, 0) == (int)rl);
    resp = kt_recv(d, 10000);
    CHECK(resp != NULL && resp->status == 0 && resp->request_id == 8 && resp->kms_xml.len > 0);
    if (resp)
        mcsec__kms__kms_response__free_unpacked(resp, NULL);

    /* 6. A request on an open connection after the device was revoked (by another process:
     * this one, while the daemon serves). */
    rl = kt_request(req, sizeof req, 9, "sip:carol@example.org", 0);
    CHECK(zmq_send(d, req, rl, 0) == (int)rl);
    resp = kt_recv(d, 10000);
    CHECK(resp != NULL && resp->status == 0 && resp->request_id == 9 && resp->kms_xml.len > 0);
    if (resp)
        mcsec__kms__kms_response__free_unpacked(resp, NULL);
    CHECK_STATUS(mcsec_kms_revoke(kms, carol.id, "lost"), MCSEC_OK);
    rl = kt_request(req, sizeof req, 10, "sip:carol@example.org", 0);
    CHECK(zmq_send(d, req, rl, 0) == (int)rl);
    resp = kt_recv(d, 10000);
    CHECK(resp != NULL && resp->status == MCSEC_ERR_UNKNOWN_KEY && resp->kms_xml.len == 0);
    if (resp) {
        CHECK(strstr(resp->message, "revoked") != NULL);
        mcsec__kms__kms_response__free_unpacked(resp, NULL);
    }
    CHECK(audited(kms, carol.id, "refuse", MCSEC_ERR_UNKNOWN_KEY) == 1);
    zmq_close(d);

    /* Rate limit: 14 requests at once from one device, burst 10. */
    cred_t dave = enroll(kms, "sip:dave@example.org", MCSEC_KMS_ROLE_HANDSET, NULL);
    d = kt_dealer(ctx, &srv, info.curve_public, dave.pub, dave.sec);
    rl = kt_request(req, sizeof req, 11, NULL, 0);
    for (int i = 0; i < 14; i++)
        CHECK(zmq_send(d, req, rl, 0) == (int)rl);
    int ok = 0, limited = 0;
    for (int i = 0; i < 14; i++) {
        resp = kt_recv(d, 10000);
        if (resp == NULL)
            break;
        if (resp->status == 0)
            ok++;
        if (resp->status == MCSEC_ERR_POLICY && strstr(resp->message, "rate limited"))
            limited++;
        mcsec__kms__kms_response__free_unpacked(resp, NULL);
    }
    CHECK(ok >= 10 && limited >= 1 && ok + limited == 14);
    /* Rate-limited refusals are audited at most once a second per device, each row counting
     * the refusals answered without one since the last (kms/server.c): the 1-4 refusals of
     * this burst come within a second, so one row, and the rows account for every refusal. */
    audit_want_t aw = {dave.id, "refuse", MCSEC_ERR_POLICY, 0, 0, 0, 0, 0};
    CHECK(mcsec_kms_list_audit(kms, 0, find_audit, &aw) == MCSEC_OK);
    CHECK(aw.found >= 1 && aw.found <= 2 && aw.bad_reason == 0);
    zmq_close(d);

    /* A flood: 2,000 requests as fast as one device can send them over about 2 s. Without the
     * once-a-second rule this wrote 2,000 audit rows (each a queued response waiting for the
     * disk); now at most one per second it lasts, and the counts add up to every refusal but
     * the ones still unaudited when the flood stops (at most those of its last second). */
    cred_t fred = enroll(kms, "sip:fred@example.org", MCSEC_KMS_ROLE_HANDSET, NULL);
    d = kt_dealer(ctx, &srv, info.curve_public, fred.pub, fred.sec);
    rl = kt_request(req, sizeof req, 12, NULL, 0);
    int flood = 2000, answered = 0;
    limited = 0;
    ok = 0;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int i = 0; i < flood; i++) {
        CHECK(zmq_send(d, req, rl, 0) == (int)rl);
        if (i % 100 == 99) {
            struct timespec nap = {0, 100 * 1000 * 1000};
            nanosleep(&nap, NULL);
        }
    }
    for (int i = 0; i < flood; i++) {
        resp = kt_recv(d, 20000);
        if (resp == NULL)
            break;
        answered++;
        if (resp->status == 0)
            ok++;
        if (resp->status == MCSEC_ERR_POLICY && strstr(resp->message, "rate limited"))
            limited++;
        mcsec__kms__kms_response__free_unpacked(resp, NULL);
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) * 1e-9;
    CHECK(answered == flood && ok + limited == flood && limited >= flood / 2);
    /* A second later, a burst of 30: the first of them refused gets a row counting what the
     * flood's last second left unaudited, so the rows then account for every flood refusal. */
    struct timespec pause = {1, 200 * 1000 * 1000};
    nanosleep(&pause, NULL);
    int tail = 0;
    for (int i = 0; i < 30; i++)
        CHECK(zmq_send(d, req, rl, 0) == (int)rl);
    for (int i = 0; i < 30; i++) {
        resp = kt_recv(d, 20000);
        if (resp == NULL)
            break;
        if (resp->status == MCSEC_ERR_POLICY && strstr(resp->message, "rate limited"))
            tail++;
        mcsec__kms__kms_response__free_unpacked(resp, NULL);
    }
    CHECK(tail >= 1);
    audit_want_t fw = {fred.id, "refuse", MCSEC_ERR_POLICY, 0, 0, 0, 0, 0};
    CHECK(mcsec_kms_list_audit(kms, 0, find_audit, &fw) == MCSEC_OK);
    CHECK(fw.bad_reason == 0 && fw.found >= 2 && fw.found <= (int)secs + 3);
    CHECK(fw.counted >= limited + 1 && fw.counted <= limited + tail);
    printf("flood: %d refused in %.1f s, then %d; %d audit rows counting %ld refusals\n", limited,
           secs, tail, fw.found, fw.counted);
    zmq_close(d);

    /* Every issuance is audited with its request id. */
    CHECK(audited(kms, alice.id, "issue", MCSEC_OK) == 0);
    CHECK(audited(kms, gm2.id, "issue", MCSEC_OK) == 1);
}

int main(void)
{
    kt_raise_nofile();
    mcsec_kms_t *kms = kt_create("kms", dir, sizeof dir);
    mcsec_kms_get_info(kms, &info);
    if (kt_spawn(&srv, dir, NULL) != 0)
        return 2;
    void *ctx = zmq_ctx_new();
    test_provision_fetch_gmk(kms);
    test_refusals(kms, ctx);
    zmq_ctx_term(ctx);
    CHECK(kt_stop(&srv) == 0); /* SIGTERM: graceful, exit 0 */

    /* Down: the client gives up with MCSEC_ERR_IO after its attempts. */
    mcsec_kms_fetch_result_t r;
    cred_t eve = enroll(kms, "sip:eve@example.org", MCSEC_KMS_ROLE_HANDSET, NULL);
    mcsec_kms_fetch_config_t cfg = {.endpoint = srv.endpoint, .kms_public = info.curve_public,
                                    .device_public = eve.pub, .device_secret = eve.sec,
                                    .user_uri = "sip:eve@example.org", .timeout_ms = 200,
                                    .attempts = 3, .backoff_ms = 50};
    CHECK_STATUS(mcsec_kms_fetch(&cfg, &r), MCSEC_ERR_IO);
    CHECK(r.attempts_made == 3 && strstr(r.message, "no answer from the KMS") != NULL);
    mcsec_kms_fetch_result_free(&r);
    cfg.kms_public = "short";
    CHECK_STATUS(mcsec_kms_fetch(&cfg, &r), MCSEC_ERR_BAD_INPUT);
    mcsec_kms_close(kms);
    return test_summary();
}
