/* Every refusal of the Group Manager service, each with its exact status, on hand-made
 * envelopes over real CURVE connections to `mcsec-groupmgr serve`:
 *   registrations: a non-member; a member of group A asking for group B (alone and with A); a
 *   signature by another identity; a signature over another connection's CURVE key (a replayed
 *   registration); a stale time; a short signature; bad fields;
 *   acknowledgements: before registering; a wrong proof; a proof for another member; another
 *   member's URI; an unknown GMK-ID; a group not registered on the connection; a valid ack on
 *   another connection;
 *   envelopes: random octets, a truncated envelope, version 2, no body, a body members never
 *   send, several frames; oversized: over the application limit (answered), over the transport
 *   cap (connection dropped);
 * and after all of it the service still serves, and logged each refusal;
 * log injection: peer-controlled strings (member URI, acknowledged member and group) holding
 * CR, LF, ESC [31m, DEL and octets 0x80-0xff reach the log only as printable ASCII, one line
 * per refusal, never starting a line of their own; a flood of 600 refusals logs at most
 * 100 + 20 a second of them and then says how many lines it suppressed. */
#include "test.h"
#include "gm_test.h"

#define A "sip:alpha@example.org"
#define B "sip:bravo@example.org"

#define BODY_STATUS MCSEC__GROUPMGR__GROUP_MGR_MESSAGE__BODY_STATUS
#define BODY_REG MCSEC__GROUPMGR__GROUP_MGR_MESSAGE__BODY_REGISTER_RESPONSE
#define BODY_DELIVERY MCSEC__GROUPMGR__GROUP_MGR_MESSAGE__BODY_DELIVERY

static char why[512];

/* A Register attempt on a fresh connection: the status answered (-1: none). */
static int try_register(const gt_server_t *srv, const gt_kms_t *k, const mcsec_kms_keyset_t *set,
                        const char *uri, const char *const *groups, size_t n, uint64_t t)
{
    gt_raw_t r;
    gt_raw_open(&r, srv);
    gt_raw_register(&r, set, uri, groups, n, t, NULL, k);
    int st = gt_raw_expect(&r, BODY_REG, why, sizeof why, 10000);
    gt_raw_close(&r);
    return st;
}

/* One envelope (or raw octets) on a fresh connection: the Status answered (-1: none). */
static int try_bytes(const gt_server_t *srv, const void *p, size_t n)
{
    gt_raw_t r;
    gt_raw_open(&r, srv);
    gt_raw_send_bytes(&r, p, n);
    int st = gt_raw_expect(&r, BODY_STATUS, why, sizeof why, 3000);
    gt_raw_close(&r);
    return st;
}

static int try_env(const gt_server_t *srv, Mcsec__Groupmgr__GroupMgrMessage *m)
{
    size_t n = mcsec__groupmgr__group_mgr_message__get_packed_size(m);
    uint8_t buf[1024];
    if (n > sizeof buf)
        exit(2);
    mcsec__groupmgr__group_mgr_message__pack(m, buf);
    return try_bytes(srv, buf, n);
}

/* --- Log injection and flooding --------------------------------------------------------------- */

/* CR, LF, a forged log line, ESC [31m, DEL, octets above 0x7f. */
#define INJECTED "sip:x@example.org\nmcsec-groupmgr serve: FORGED\r\x1b[31mRED\x7f\x80\xfe\xff end"
/* What the log must show instead: each control or non-ASCII octet one '?'. */
#define INJECTED_LOGGED "sip:x@example.org?mcsec-groupmgr serve: FORGED??[31mRED???? end"

static const char REG_LINE[] = "mcsec-groupmgr serve: refused the registration of ";

/* The daemon's stderr from offset on (malloc'ed, NUL-terminated; NULL if unreadable). */
static char *log_from(const gt_server_t *srv, long offset, size_t *len)
{
    FILE *f = fopen(srv->errfile, "rb");
    char *buf = NULL;
    long end;
    if (f == NULL)
        return NULL;
    if (fseek(f, 0, SEEK_END) == 0 && (end = ftell(f)) >= offset && fseek(f, offset, SEEK_SET) == 0 &&
        (buf = malloc((size_t)(end - offset) + 1)) != NULL) {
        *len = fread(buf, 1, (size_t)(end - offset), f);
        buf[*len] = 0;
    }
    fclose(f);
    return buf;
}

static long log_size(const gt_server_t *srv)
{
    struct stat st;
    return stat(srv->errfile, &st) == 0 ? (long)st.st_size : -1;
}

/* A Register naming member uri with a dummy signature: refused before any crypto. */
static void register_unsigned(gt_raw_t *r, const char *uri, const char *const *groups, size_t n)
{
    uint8_t sig[MCSEC_ECCSI_SIG_LEN] = {1};
    gt_raw_register_sig(r, uri, groups, n, gt_ntp64(), sig);
}

/* An acknowledgement reporting that the member could not open the message (status != 0). */
static void ack_failed_open(gt_raw_t *r, const char *group, uint32_t gmk_id)
{
    Mcsec__Groupmgr__GmkAck a = MCSEC__GROUPMGR__GMK_ACK__INIT;
    Mcsec__Groupmgr__GroupMgrMessage m = MCSEC__GROUPMGR__GROUP_MGR_MESSAGE__INIT;
    a.group_uri = (char *)group;
    a.gmk_id = gmk_id;
    a.status = MCSEC_ERR_VERIFY;
    m.version = 1;
    m.body_case = MCSEC__GROUPMGR__GROUP_MGR_MESSAGE__BODY_ACK;
    m.ack = &a;
    gt_raw_send(r, &m);
}

/* Every octet of the daemon's whole stderr is printable ASCII or '\n', and no line starts with
 * the injected text (nor with a forged "mcsec-groupmgr serve: FORGED" line). */
static void check_log_clean(const gt_server_t *srv)
{
    size_t len = 0, bad = 0, forged = 0;
    char *log = log_from(srv, 0, &len);
    CHECK(log != NULL && len > 0);
    if (log == NULL)
        return;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)log[i];
        if (c != '\n' && (c < 0x20 || c > 0x7e))
            bad++;
        if (i == 0 || log[i - 1] == '\n')
            if (strncmp(log + i, "mcsec-groupmgr serve: FORGED", 28) == 0 ||
                strncmp(log + i, "FORGED", 6) == 0 || strncmp(log + i, "RED", 3) == 0 ||
                strncmp(log + i, "[31m", 4) == 0)
                forged++;
    }
    if (bad != 0 || forged != 0)
        fprintf(stderr, "daemon log: %zu octets not printable, %zu forged lines\n", bad, forged);
    CHECK(bad == 0);
    CHECK(forged == 0);
    free(log);
}

static void test_log_injection(const gt_server_t *srv, gt_raw_t *ra, uint32_t gmk)
{
    const char *ga[] = {A}, *ginj[] = {INJECTED};
    uint8_t proof[MCSEC_GM_PROOF_LEN];
    memset(proof, 0x33, sizeof proof);
    /* A registration naming the injected member URI (refused: not a URI). */
    {
        gt_raw_t r;
        gt_raw_open(&r, srv);
        register_unsigned(&r, INJECTED, ga, 1);
        CHECK(gt_raw_expect(&r, BODY_REG, why, sizeof why, 10000) == MCSEC_ERR_BAD_INPUT);
        CHECK(strstr(why, "member_uri is not 1-255 printable characters") != NULL);
        gt_raw_close(&r);
    }
    /* On alice's registered connection: an ack for the injected member, an ack for the
     * injected group, a failed open reported for the injected group. */
    gt_raw_ack(ra, A, gmk, proof, sizeof proof, INJECTED);
    CHECK(gt_raw_expect(ra, BODY_STATUS, why, sizeof why, 10000) == MCSEC_ERR_POLICY);
    gt_raw_ack(ra, INJECTED, gmk, proof, sizeof proof, NULL);
    CHECK(gt_raw_expect(ra, BODY_STATUS, why, sizeof why, 10000) == MCSEC_ERR_POLICY);
    ack_failed_open(ra, ginj[0], gmk);
    CHECK(gt_raw_expect(ra, BODY_STATUS, why, sizeof why, 10000) == MCSEC_OK);
    CHECK(strstr(why, "noted") != NULL);
    /* Each reached the log, sanitised, on the refusal's own line. */
    CHECK(gt_log_has(srv, "refused the registration of " INJECTED_LOGGED " (key "));
    CHECK(gt_log_has(srv, "refused an acknowledgement for " INJECTED_LOGGED " on the connection "
                          "of sip:alice@example.org"));
    CHECK(gt_log_has(srv, "refused an acknowledgement from sip:alice@example.org for GMK-ID"));
    CHECK(gt_log_has(srv, " of " INJECTED_LOGGED ": "));
    CHECK(gt_log_has(srv, "sip:alice@example.org could not open GMK-ID"));
    check_log_clean(srv);
}

/* 600 refusals as fast as one connection sends them: at most 100 (the burst) + 20 a second
 * (+1) logged; the next line logged after a pause says how many were suppressed, and the two
 * add up to 600. */
static void test_log_flood(const gt_server_t *srv)
{
    enum { FLOOD = 600 };
    const char *ga[] = {A};
    gt_raw_t r;
    size_t len = 0;
    long offset = log_size(srv);
    CHECK(offset > 0);
    gt_raw_open(&r, srv);
    double t0 = gt_now();
    for (int i = 0; i < FLOOD; i++)
        register_unsigned(&r, INJECTED, ga, 1);
    int answered = 0;
    while (answered < FLOOD &&
           gt_raw_expect(&r, BODY_REG, why, sizeof why, 10000) == MCSEC_ERR_BAD_INPUT)
        answered++;
    double elapsed = gt_now() - t0;
    CHECK(answered == FLOOD);
    char *log = log_from(srv, offset, &len);
    CHECK(log != NULL);
    size_t logged = 0;
    for (char *p = log; p != NULL && (p = strstr(p, "refused the registration of ")) != NULL; p++)
        logged++;
    double bound = 100 + 20 * elapsed + 1;
    printf("log flood: %d refusals in %.2f s, %zu logged (at most %.0f)\n", FLOOD, elapsed,
           logged, bound);
    CHECK(elapsed < 10);
    CHECK(logged >= 1 && (double)logged <= bound && logged < FLOOD);
    free(log);
    /* A pause (the bucket refills 20 a second), then one more refusal: logged, right after the
     * count of the lines suppressed since the last one logged. */
    gt_sleep_ms(300);
    register_unsigned(&r, INJECTED, ga, 1);
    CHECK(gt_raw_expect(&r, BODY_REG, why, sizeof why, 10000) == MCSEC_ERR_BAD_INPUT);
    gt_raw_close(&r);
    log = log_from(srv, offset, &len);
    CHECK(log != NULL);
    /* Every refusal since offset is either logged or counted in a "suppressed" line (a daemon
     * under load may log one more mid-flood as the bucket refills, with its own count). */
    unsigned long n = 0, suppressed = 0;
    size_t lines = 0, said = 0, total = 0;
    int last_said = 0, prev_said = 0, last_reg = 0;
    for (const char *p = log; p != NULL && *p != 0;) {
        char word[16];
        prev_said = last_said;
        last_said = last_reg = 0;
        if (sscanf(p, "mcsec-groupmgr serve: %lu log lines %15s", &n, word) == 2 &&
            strcmp(word, "suppressed") == 0) {
            said++;
            suppressed += n;
            last_said = 1;
        } else if (strncmp(p, REG_LINE, sizeof REG_LINE - 1) == 0) {
            total++;
            last_reg = 1;
        }
        lines++;
        p = strchr(p, '\n');
        p = p != NULL ? p + 1 : NULL;
    }
    printf("log flood: then %zu refusal lines in all, %lu suppressed in %zu line(s)\n", total,
           suppressed, said);
    CHECK(said >= 1 && suppressed > 0 && total + suppressed == FLOOD + 1);
    CHECK(total == logged + 1); /* the flood's lines and the one after the pause */
    CHECK(last_reg && prev_said && lines == total + said);
    free(log);
    check_log_clean(srv);
}

int main(void)
{
    gt_kms_t k;
    char dir[512];
    gt_server_t srv;
    gt_handset_t alice, carol, eve;
    const char *ga[] = {A}, *gb[] = {B}, *gab[] = {A, B};

    gt_kms_new(&k);
    mcsec_groupmgr_t *gm = gt_gm_create("gm", dir, sizeof dir);
    gt_group(gm, &k, A, MCSEC_GROUPMGR_LIFETIME_DEFAULT);
    gt_group(gm, &k, B, MCSEC_GROUPMGR_LIFETIME_DEFAULT);
    gt_handset(&alice, &k, "sip:alice@example.org");
    gt_handset(&carol, &k, "sip:carol@example.org");
    gt_handset(&eve, &k, "sip:eve@example.org"); /* KMS-certified, in no group */
    const char *ac[] = {alice.uri, carol.uri};
    gt_members(gm, A, ac, 2);
    uint32_t gmk = gt_rekey(gm, A);
    if (gt_spawn(&srv, dir, NULL) != 0)
        return 2;
    uint64_t now = gt_ntp64();

    /* --- Registrations ------------------------------------------------------------------- */
    CHECK(try_register(&srv, &k, &eve.sets[0], eve.uri, ga, 1, now) == MCSEC_ERR_POLICY);
    CHECK(strstr(why, "sip:eve@example.org is not a member of group " A) != NULL);
    CHECK(try_register(&srv, &k, &alice.sets[0], alice.uri, gb, 1, now) == MCSEC_ERR_POLICY);
    CHECK(strstr(why, "is not a member of group " B) != NULL);
    CHECK(try_register(&srv, &k, &alice.sets[0], alice.uri, gab, 2, now) == MCSEC_ERR_POLICY);
    CHECK(strstr(why, "is not a member of group " B) != NULL);
    CHECK(try_register(&srv, &k, &eve.sets[0], alice.uri, ga, 1, now) == MCSEC_ERR_VERIFY);
    CHECK(strstr(why, "does not verify") != NULL);
    CHECK(try_register(&srv, &k, &alice.sets[0], alice.uri, ga, 1, now - (1000ull << 32)) ==
          MCSEC_ERR_STALE);
    CHECK(try_register(&srv, &k, &alice.sets[0], alice.uri, ga, 1, now + (1000ull << 32)) ==
          MCSEC_ERR_STALE);
    CHECK(try_register(&srv, &k, &alice.sets[0], "bad uri", ga, 1, now) == MCSEC_ERR_BAD_INPUT);
    const char *twice[] = {A, A};
    CHECK(try_register(&srv, &k, &alice.sets[0], alice.uri, twice, 2, now) ==
          MCSEC_ERR_BAD_INPUT);
    CHECK(try_register(&srv, &k, &alice.sets[0], alice.uri, ga, 0, now) == MCSEC_ERR_BAD_INPUT);
    {
        /* A registration signed over another connection's key: a replay elsewhere. */
        gt_raw_t r, other;
        gt_raw_open(&r, &srv);
        gt_raw_open(&other, &srv);
        gt_raw_register(&r, &alice.sets[0], alice.uri, ga, 1, now, other.pub_raw, &k);
        CHECK(gt_raw_expect(&r, BODY_REG, why, sizeof why, 10000) == MCSEC_ERR_VERIFY);
        gt_raw_close(&other);
        gt_raw_close(&r);
    }
    {
        /* A 64-octet signature. */
        uint8_t sig[64] = {1};
        Mcsec__Groupmgr__Register reg = MCSEC__GROUPMGR__REGISTER__INIT;
        Mcsec__Groupmgr__GroupMgrMessage m = MCSEC__GROUPMGR__GROUP_MGR_MESSAGE__INIT;
        reg.member_uri = alice.uri;
        reg.group_uris = (char **)ga;
        reg.n_group_uris = 1;
        reg.time = now;
        reg.signature.data = sig;
        reg.signature.len = sizeof sig;
        m.version = 1;
        m.body_case = MCSEC__GROUPMGR__GROUP_MGR_MESSAGE__BODY_REGISTER;
        m.register_ = &reg;
        gt_raw_t r;
        gt_raw_open(&r, &srv);
        gt_raw_send(&r, &m);
        CHECK(gt_raw_expect(&r, BODY_REG, why, sizeof why, 10000) == MCSEC_ERR_BAD_LENGTH);
        gt_raw_close(&r);
    }

    /* --- Acknowledgements ---------------------------------------------------------------- */
    gt_raw_t ra, rb;
    uint8_t proof[MCSEC_GM_PROOF_LEN], bogus[MCSEC_GM_PROOF_LEN], gmk_key[MCSEC_GMK_LEN];
    gt_raw_open(&ra, &srv);
    gt_raw_open(&rb, &srv);
    /* Before registering. */
    memset(bogus, 0x5a, sizeof bogus);
    gt_raw_ack(&ra, A, gmk, bogus, sizeof bogus, alice.uri);
    CHECK(gt_raw_expect(&ra, BODY_STATUS, why, sizeof why, 10000) == MCSEC_ERR_POLICY);
    CHECK(strstr(why, "not registered") != NULL);
    /* alice registers on ra and takes her message. */
    gt_raw_register(&ra, &alice.sets[0], alice.uri, ga, 1, gt_ntp64(), NULL, &k);
    CHECK(gt_raw_expect(&ra, BODY_REG, why, sizeof why, 10000) == MCSEC_OK);
    Mcsec__Groupmgr__GroupMgrMessage *d = gt_raw_recv(&ra, 10000);
    CHECK(d != NULL && d->body_case == BODY_DELIVERY && d->delivery->gmk_id == gmk);
    /* She opens it: now she knows the GMK (a member may), and so can make proofs. */
    mcsec_profile_receiver_t *rx = NULL;
    mcsec_kms_params_t p;
    mcsec_keyset_t ks;
    mcsec_gmk_result_t gr;
    memset(&gr, 0, sizeof gr);
    CHECK_STATUS(mcsec_keystore_get_kms(alice.ks, &p), MCSEC_OK);
    CHECK_STATUS(mcsec_profile_receiver_new(&rx, &p, alice.uri), MCSEC_OK);
    CHECK_STATUS(mcsec_keystore_get_keyset(alice.ks, k.period_no, &ks), MCSEC_OK);
    CHECK_STATUS(mcsec_profile_receiver_add_keyset(rx, &ks), MCSEC_OK);
    mcsec_memzero(&ks, sizeof ks);
    if (d != NULL && d->body_case == BODY_DELIVERY)
        CHECK_STATUS(mcsec_gmk_open(rx, d->delivery->i_message.data, d->delivery->i_message.len,
                                    MCSEC_OPEN_EXPECT_GMK, &gr),
                     MCSEC_OK);
    memcpy(gmk_key, gr.key, sizeof gmk_key);
    mcsec_gmk_result_wipe(&gr);
    mcsec_profile_receiver_free(rx);
    if (d != NULL)
        mcsec__groupmgr__group_mgr_message__free_unpacked(d, NULL);
    /* Wrong proof. */
    gt_raw_ack(&ra, A, gmk, bogus, sizeof bogus, alice.uri);
    CHECK(gt_raw_expect(&ra, BODY_STATUS, why, sizeof why, 10000) == MCSEC_ERR_VERIFY);
    CHECK(strstr(why, "wrong proof") != NULL);
    /* A short proof. */
    gt_raw_ack(&ra, A, gmk, bogus, 16, alice.uri);
    CHECK(gt_raw_expect(&ra, BODY_STATUS, why, sizeof why, 10000) == MCSEC_ERR_VERIFY);
    /* A proof made for carol, on alice's connection: as alice, and naming carol. */
    CHECK_STATUS(mcsec_gm_ack_proof(gmk_key, carol.uri, gmk, proof), MCSEC_OK);
    gt_raw_ack(&ra, A, gmk, proof, sizeof proof, alice.uri);
    CHECK(gt_raw_expect(&ra, BODY_STATUS, why, sizeof why, 10000) == MCSEC_ERR_VERIFY);
    gt_raw_ack(&ra, A, gmk, proof, sizeof proof, carol.uri);
    CHECK(gt_raw_expect(&ra, BODY_STATUS, why, sizeof why, 10000) == MCSEC_ERR_POLICY);
    CHECK(strstr(why, "another member") != NULL);
    CHECK(gt_delivery_state(gm, A, gmk, carol.uri, NULL, NULL) == MCSEC_GROUPMGR_PENDING);
    /* Unknown GMK-ID; a group not registered on this connection. */
    CHECK_STATUS(mcsec_gm_ack_proof(gmk_key, alice.uri, gmk, proof), MCSEC_OK);
    gt_raw_ack(&ra, A, gmk ^ 0x00000101u, proof, sizeof proof, alice.uri);
    CHECK(gt_raw_expect(&ra, BODY_STATUS, why, sizeof why, 10000) == MCSEC_ERR_UNKNOWN_KEY);
    gt_raw_ack(&ra, B, gmk, proof, sizeof proof, alice.uri);
    CHECK(gt_raw_expect(&ra, BODY_STATUS, why, sizeof why, 10000) == MCSEC_ERR_POLICY);
    /* alice's valid ack, sent on another (unregistered) connection. */
    gt_raw_ack(&rb, A, gmk, proof, sizeof proof, alice.uri);
    CHECK(gt_raw_expect(&rb, BODY_STATUS, why, sizeof why, 10000) == MCSEC_ERR_POLICY);
    CHECK(gt_delivery_state(gm, A, gmk, alice.uri, NULL, NULL) == MCSEC_GROUPMGR_SENT);
    /* The same ack on her own connection is taken. */
    gt_raw_ack(&ra, A, gmk, proof, sizeof proof, alice.uri);
    CHECK(gt_raw_expect(&ra, BODY_STATUS, why, sizeof why, 10000) == MCSEC_OK);
    CHECK(gt_delivery_state(gm, A, gmk, alice.uri, NULL, NULL) == MCSEC_GROUPMGR_ACKED);
    /* A connection registered as alice cannot re-register as carol. */
    gt_raw_register(&ra, &carol.sets[0], carol.uri, ga, 1, gt_ntp64(), NULL, &k);
    CHECK(gt_raw_expect(&ra, BODY_REG, why, sizeof why, 10000) == MCSEC_ERR_POLICY);
    gt_raw_close(&rb);
    mcsec_memzero(gmk_key, sizeof gmk_key);

    /* --- Malformed envelopes -------------------------------------------------------------- */
    uint8_t junk[300];
    for (size_t i = 0; i < sizeof junk; i++)
        junk[i] = (uint8_t)(i * 37 + 11);
    CHECK(try_bytes(&srv, junk, sizeof junk) == MCSEC_ERR_BAD_INPUT);
    CHECK(strstr(why, "malformed envelope") != NULL);
    {
        Mcsec__Groupmgr__Register reg = MCSEC__GROUPMGR__REGISTER__INIT;
        Mcsec__Groupmgr__GroupMgrMessage m = MCSEC__GROUPMGR__GROUP_MGR_MESSAGE__INIT;
        uint8_t buf[512];
        reg.member_uri = alice.uri;
        reg.group_uris = (char **)ga;
        reg.n_group_uris = 1;
        m.version = 1;
        m.body_case = MCSEC__GROUPMGR__GROUP_MGR_MESSAGE__BODY_REGISTER;
        m.register_ = &reg;
        size_t n = mcsec__groupmgr__group_mgr_message__pack(&m, buf);
        CHECK(try_bytes(&srv, buf, n - 3) == MCSEC_ERR_BAD_INPUT); /* truncated */
        m.version = 2;
        CHECK(try_env(&srv, &m) == MCSEC_ERR_UNSUPPORTED);
        Mcsec__Groupmgr__GroupMgrMessage empty = MCSEC__GROUPMGR__GROUP_MGR_MESSAGE__INIT;
        empty.version = 1;
        CHECK(try_env(&srv, &empty) == MCSEC_ERR_BAD_INPUT);
        CHECK(strstr(why, "unexpected message") != NULL);
        Mcsec__Groupmgr__GmkDelivery dl = MCSEC__GROUPMGR__GMK_DELIVERY__INIT;
        Mcsec__Groupmgr__GroupMgrMessage md = MCSEC__GROUPMGR__GROUP_MGR_MESSAGE__INIT;
        dl.group_uri = A;
        md.version = 1;
        md.body_case = MCSEC__GROUPMGR__GROUP_MGR_MESSAGE__BODY_DELIVERY;
        md.delivery = &dl;
        CHECK(try_env(&srv, &md) == MCSEC_ERR_BAD_INPUT);
    }
    {
        gt_raw_t r;
        gt_raw_open(&r, &srv);
        CHECK(zmq_send(r.sock, "a", 1, ZMQ_SNDMORE) == 1 && zmq_send(r.sock, "b", 1, 0) == 1);
        CHECK(gt_raw_expect(&r, BODY_STATUS, why, sizeof why, 10000) == MCSEC_ERR_BAD_INPUT);
        CHECK(strstr(why, "one GroupMgrMessage per ZeroMQ message") != NULL);
        gt_raw_close(&r);
    }

    /* --- Oversized ------------------------------------------------------------------------- */
    uint8_t *big = calloc(1, 100 * 1024);
    CHECK(big != NULL);
    if (big != NULL) {
        CHECK(try_bytes(&srv, big, 20 * 1024) == MCSEC_ERR_BAD_LENGTH);
        CHECK(strstr(why, "larger than 16384 octets") != NULL);
        CHECK(try_bytes(&srv, big, 100 * 1024) == -1); /* over the transport cap: dropped */
        free(big);
    }

    /* --- Still serving, and every refusal logged -------------------------------------------- */
    CHECK(gt_alive(&srv));
    gt_events_t ev;
    CHECK_STATUS(gt_sync(&carol, &srv, ga, 1, &ev), MCSEC_OK);
    CHECK(gt_count_new(&ev, gmk) == 1 && gt_current(&carol, A) == gmk);
    CHECK(gt_log_has(&srv, "refused the registration of sip:eve@example.org"));
    CHECK(gt_log_has(&srv, "refused an acknowledgement from sip:alice@example.org"));
    CHECK(gt_log_has(&srv, "wrong proof"));
    CHECK(gt_log_has(&srv, "refused an acknowledgement for sip:carol@example.org on the "
                           "connection of sip:alice@example.org"));
    CHECK(gt_log_has(&srv, "refused an acknowledgement on an unregistered connection"));
    CHECK(gt_log_has(&srv, "refused a malformed envelope"));
    CHECK(gt_log_has(&srv, "refused envelope version 2"));
    CHECK(gt_log_has(&srv, "refused a multi-part message"));
    CHECK(gt_log_has(&srv, "refused a 20480-octet message"));

    /* --- Log injection and flooding (after the checks above: the flood empties the bucket) -- */
    test_log_injection(&srv, &ra, gmk);
    test_log_flood(&srv);

    gt_raw_close(&ra);
    CHECK(gt_stop(&srv) == 0);
    gt_handset_close(&alice);
    gt_handset_close(&carol);
    gt_handset_close(&eve);
    mcsec_groupmgr_close(gm);
    return test_summary();
}
