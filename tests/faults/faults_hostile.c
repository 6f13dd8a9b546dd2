/* Hostile peers against both daemons (`mcsec-kms serve`, `mcsec-groupmgr serve`), on loopback:
 *   - raw TCP garbage; a truncated ZMTP greeting; a valid greeting with another mechanism (NULL,
 *     PLAIN); a CURVE HELLO whose box does not open; a CURVE command frame announcing 2^40
 *     octets: the daemon closes the connection;
 *   - a client with an unknown CURVE key: the KMS refuses it at the handshake (ZAP), the Group
 *     Manager (which admits any key, members authenticate by signature) answers its envelope
 *     MCSEC_ERR_BAD_INPUT;
 *   - frames over the daemons' ZMQ_MAXMSGSIZE (64 KiB) on an authenticated connection: the
 *     connection is dropped, nothing answered; a frame over the application limit (16 KiB)
 *     is answered MCSEC_ERR_BAD_LENGTH;
 *   - many idle connections (raw TCP, greeting only, and completed CURVE handshakes);
 *   - (Group Manager) many short connections with a fresh key each, each sending one envelope;
 *   - a peer sending 50,000 envelopes without ever reading (the KMS: an enrolled device): the
 *     daemon's resident set grows by less than FLOOD_KB (its per-connection high-water marks
 *     bound what it holds for the peer).
 * After every attack a real request succeeds (a key fetch from the KMS, a registration that
 * receives the group's GMK from the Group Manager) and the daemon is alive; the whole series
 * runs ROUNDS times (argv[1] or MCSEC_FAULTS_N; CI 2, the documented run 10) and the daemons'
 * peak resident set after each round of the second half stays within GROWTH_KB of the peak
 * after the first half (memory does not grow with the attacks). */
#include "test.h"

#include "kms_test.h"
#include "gm_test.h"
#include "faults.h"

#define G "sip:fire-north@example.org"
#define ALICE "sip:alice@example.org"
#define MALLORY "sip:mallory@example.org"
#define IDLE_RAW 600
#define IDLE_GREETING 200
#define IDLE_CURVE 200
#define SHORT_CONNECTIONS 500
#define FLOOD 50000

#if FX_ASAN
#define GROWTH_KB (384 * 1024L) /* the quarantine of freed blocks (256 MB) fills first */
#define FLOOD_KB (512 * 1024L)
#else
#define GROWTH_KB (16 * 1024L)
#define FLOOD_KB (48 * 1024L)
#endif

static struct {
    kt_server_t srv;
    mcsec_kms_info_t info;
    mcsec_kms_credential_t alice, mallory;
} kms;

static struct {
    gt_server_t srv;
    gt_kms_t k;
    gt_handset_t alice;
    uint32_t gmk;
} gm;

static void *ctx;

/* --- The legitimate requests ------------------------------------------------------------------ */

static int kms_ok(void)
{
    mcsec_kms_fetch_result_t r;
    mcsec_kms_fetch_config_t cfg = {.endpoint = kms.srv.endpoint,
                                    .kms_public = kms.info.curve_public,
                                    .device_public = kms.alice.curve_public,
                                    .device_secret = kms.alice.curve_secret,
                                    .user_uri = ALICE, .timeout_ms = 20000, .attempts = 1};
    mcsec_status_t rc = mcsec_kms_fetch(&cfg, &r);
    int ok = rc == MCSEC_OK && r.keyprov_xml != NULL;
    if (!ok)
        fprintf(stderr, "KMS fetch: %s %s\n", mcsec_strerror(rc), r.message);
    mcsec_kms_fetch_result_free(&r);
    return ok && fx_alive(kms.srv.pid);
}

static int gm_ok(void)
{
    gt_events_t ev;
    const char *gl[] = {G};
    mcsec_status_t rc = gt_sync(&gm.alice, &gm.srv, gl, 1, &ev);
    int registered = 0;
    for (size_t i = 0; i < ev.n; i++)
        registered |= ev.ev[i].kind == MCSEC_GMCLIENT_REGISTERED;
    return rc == MCSEC_OK && registered && gt_current(&gm.alice, G) == gm.gmk &&
           fx_alive(gm.srv.pid);
}

/* Both daemons still serve. */
static void both_ok(const char *after)
{
    double t0 = fx_now();
    int k = kms_ok(), g = gm_ok();
    if (getenv("FX_TRACE"))
        fprintf(stderr, "[%.2f] both ok after %s (%.2f s)\n", fx_now(), after, fx_now() - t0);
    if (!k || !g)
        fprintf(stderr, "after %s: KMS %s, Group Manager %s\n", after, k ? "ok" : "FAILED",
                g ? "ok" : "FAILED");
    CHECK(k && g);
}

/* --- Raw attacks -------------------------------------------------------------------------------- */

/* Sends bytes on a new TCP connection; 1 if the daemon then closes it within timeout_ms. */
static int closes_after(const char *endpoint, const uint8_t *p, size_t n, int timeout_ms)
{
    int fd = fx_tcp(endpoint);
    if (fd < 0)
        return 0;
    int closed = fx_send_all(fd, p, n) != 0 || fx_closed_by_peer(fd, timeout_ms);
    close(fd);
    return closed;
}

static void raw_attacks(const char *who, const char *endpoint)
{
    uint8_t buf[4096], g[64];
    for (size_t i = 0; i < sizeof buf; i++)
        buf[i] = (uint8_t)fx_rand();
    buf[0] = 0x01; /* not the ZMTP signature octet */
    int garbage = closes_after(endpoint, buf, sizeof buf, 10000);

    /* A greeting cut short, then the connection closed by us: nothing to check but survival;
     * one left open is the idle case below. */
    fx_greeting(g, "CURVE");
    int fd = fx_tcp(endpoint);
    CHECK(fd >= 0 && fx_send_all(fd, g, 10) == 0);
    if (fd >= 0)
        close(fd);

    fx_greeting(g, "NULL");
    int null_mech = closes_after(endpoint, g, 64, 10000);
    fx_greeting(g, "PLAIN");
    int plain_mech = closes_after(endpoint, g, 64, 10000);

    /* HELLO with a box that does not open (RFC 26: version, 72 octets of padding, C', nonce,
     * box), after a CURVE greeting. */
    uint8_t hello[64 + 2 + 200];
    fx_greeting(hello, "CURVE");
    hello[64] = 0x04; /* command, short */
    hello[65] = 200;
    uint8_t *b = hello + 66;
    memset(b, 0, 200);
    b[0] = 5;
    memcpy(b + 1, "HELLO", 5);
    b[6] = 1;
    b[7] = 0;
    for (size_t i = 8 + 72; i < 200; i++)
        b[i] = (uint8_t)fx_rand();
    int bad_box = closes_after(endpoint, hello, sizeof hello, 10000);

    /* A command frame announcing 2^40 octets. */
    uint8_t big[64 + 9];
    fx_greeting(big, "CURVE");
    big[64] = 0x06; /* command, long */
    memset(big + 65, 0, 8);
    big[67] = 1; /* 2^40, big-endian */
    int huge = closes_after(endpoint, big, sizeof big, 10000);

    printf("%s: garbage closed %d, NULL greeting closed %d, PLAIN greeting closed %d, bad HELLO "
           "box closed %d, 2^40-octet frame closed %d\n",
           who, garbage, null_mech, plain_mech, bad_box, huge);
    CHECK(garbage && null_mech && plain_mech && bad_box && huge);
}

/* --- ZeroMQ clients ------------------------------------------------------------------------------ */

static void *dealer(const char *server_key, const char *pub, const char *sec, const char *endpoint)
{
    void *d = zmq_socket(ctx, ZMQ_DEALER);
    int linger = 0;
    if (d == NULL || zmq_setsockopt(d, ZMQ_LINGER, &linger, sizeof linger) != 0 ||
        zmq_setsockopt(d, ZMQ_CURVE_SERVERKEY, server_key, 40) != 0 ||
        zmq_setsockopt(d, ZMQ_CURVE_PUBLICKEY, pub, 40) != 0 ||
        zmq_setsockopt(d, ZMQ_CURVE_SECRETKEY, sec, 40) != 0 || zmq_connect(d, endpoint) != 0)
        exit(2);
    return d;
}

/* The one message d receives within ms (its size, -1 if none); copied to buf. */
static long recv_one(void *d, uint8_t *buf, size_t cap, int ms)
{
    zmq_pollitem_t it = {d, 0, ZMQ_POLLIN, 0};
    if (zmq_poll(&it, 1, ms) <= 0)
        return -1;
    int n = zmq_recv(d, buf, cap, 0);
    return n < 0 ? -1 : (n > (int)cap ? (long)cap : n);
}

static void unknown_keys(void)
{
    char pub[41], sec[41];
    uint8_t req[512], buf[4096];
    CHECK(zmq_curve_keypair(pub, sec) == 0);
    /* KMS: refused at the handshake, nothing answered. */
    void *d = dealer(kms.info.curve_public, pub, sec, kms.srv.endpoint);
    size_t rl = kt_request(req, sizeof req, 1, ALICE, 0);
    CHECK(zmq_send(d, req, rl, 0) == (int)rl);
    CHECK(recv_one(d, buf, sizeof buf, 2000) == -1);
    zmq_close(d);
    /* Group Manager: admitted (members authenticate by signature); a garbage envelope is
     * answered BAD_INPUT. */
    d = dealer(gm.srv.key, pub, sec, gm.srv.endpoint);
    static const uint8_t garbage[] = {0x52, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F, 0x01};
    CHECK(zmq_send(d, garbage, sizeof garbage, 0) == (int)sizeof garbage);
    long n = recv_one(d, buf, sizeof buf, 10000);
    Mcsec__Groupmgr__GroupMgrMessage *m =
        n > 0 ? mcsec__groupmgr__group_mgr_message__unpack(NULL, (size_t)n, buf) : NULL;
    CHECK(m != NULL && m->body_case == MCSEC__GROUPMGR__GROUP_MGR_MESSAGE__BODY_STATUS &&
          m->status->status == MCSEC_ERR_BAD_INPUT);
    if (m != NULL)
        mcsec__groupmgr__group_mgr_message__free_unpacked(m, NULL);
    zmq_close(d);
}

/* Frames over the hard cap drop the connection; over the application limit are answered. */
static void oversized(void)
{
    static uint8_t big[70000], buf[4096];
    char pub[41], sec[41];
    memset(big, 0x5A, sizeof big);
    /* KMS, as an enrolled device. */
    void *d = dealer(kms.info.curve_public, kms.mallory.curve_public, kms.mallory.curve_secret,
                     kms.srv.endpoint);
    CHECK(zmq_send(d, big, 20000, 0) == 20000);
    long n = recv_one(d, buf, sizeof buf, 10000);
    Mcsec__Kms__KmsResponse *r =
        n > 0 ? mcsec__kms__kms_response__unpack(NULL, (size_t)n, buf) : NULL;
    CHECK(r != NULL && r->status == MCSEC_ERR_BAD_LENGTH);
    if (r != NULL)
        mcsec__kms__kms_response__free_unpacked(r, NULL);
    CHECK(zmq_send(d, big, sizeof big, 0) == (int)sizeof big);
    CHECK(recv_one(d, buf, sizeof buf, 2000) == -1); /* dropped: nothing comes back */
    zmq_close(d);
    /* Group Manager, with any key. */
    CHECK(zmq_curve_keypair(pub, sec) == 0);
    d = dealer(gm.srv.key, pub, sec, gm.srv.endpoint);
    CHECK(zmq_send(d, big, 20000, 0) == 20000);
    n = recv_one(d, buf, sizeof buf, 10000);
    Mcsec__Groupmgr__GroupMgrMessage *m =
        n > 0 ? mcsec__groupmgr__group_mgr_message__unpack(NULL, (size_t)n, buf) : NULL;
    CHECK(m != NULL && m->body_case == MCSEC__GROUPMGR__GROUP_MGR_MESSAGE__BODY_STATUS &&
          m->status->status == MCSEC_ERR_BAD_LENGTH);
    if (m != NULL)
        mcsec__groupmgr__group_mgr_message__free_unpacked(m, NULL);
    CHECK(zmq_send(d, big, sizeof big, 0) == (int)sizeof big);
    CHECK(recv_one(d, buf, sizeof buf, 2000) == -1);
    zmq_close(d);
}

/* A peer that sends FLOOD envelopes without ever reading: both daemons answer each (the KMS
 * audits each refusal), and what they hold for the peer is bounded by their per-connection
 * high-water marks, not by the flood. Returns nothing; the caller checks the memory. */
static void flood(const char *who, const char *endpoint, const char *server_key, const char *pub,
                  const char *sec, long *peak_growth_kb, pid_t pid)
{
    static const uint8_t garbage[] = {0x52, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F, 0x01};
    long before = fx_mem_kb(pid, "VmRSS");
    void *d = dealer(server_key, pub, sec, endpoint);
    int zero = 0, one = 1;
    zmq_setsockopt(d, ZMQ_SNDHWM, &zero, sizeof zero); /* queue it all here */
    zmq_setsockopt(d, ZMQ_RCVHWM, &one, sizeof one);   /* and never read */
    double t0 = fx_now();
    for (long i = 0; i < FLOOD; i++)
        if (zmq_send(d, garbage, sizeof garbage, 0) != (int)sizeof garbage)
            exit(2);
    /* Until the daemon has read it all (its resident set settles; at most 10 s: the peak is
     * what counts). */
    long last = -1, now;
    int stable = 0;
    while (stable < 3 && fx_now() < t0 + 10) {
        fx_sleep_ms(500);
        now = fx_mem_kb(pid, "VmRSS");
        stable = now == last ? stable + 1 : 0;
        last = now;
    }
    long peak = fx_mem_kb(pid, "VmHWM");
    zmq_close(d);
    *peak_growth_kb = peak - before;
    printf("%s: %d envelopes from a peer that never reads: resident set +%ld kB at most (%.1f "
           "s)\n",
           who, FLOOD, *peak_growth_kb, fx_now() - t0);
}

/* Many idle connections at once: raw TCP, greeting only, completed CURVE handshakes. The real
 * requests are made while they are all open. */
static void idle_connections(const char *who, const char *endpoint, const char *server_key)
{
    static int fds[IDLE_RAW + IDLE_GREETING];
    static void *socks[IDLE_CURVE];
    uint8_t g[64];
    fx_greeting(g, "CURVE");
    int opened = 0;
    for (int i = 0; i < IDLE_RAW + IDLE_GREETING; i++)
        fds[i] = fx_tcp_open(endpoint, 1);
    fx_sleep_ms(500);
    for (int i = 0; i < IDLE_RAW + IDLE_GREETING; i++) {
        opened += fds[i] >= 0;
        if (fds[i] >= 0 && i >= IDLE_RAW)
            (void)send(fds[i], g, sizeof g, MSG_NOSIGNAL); /* nonblocking: all or nothing */
    }
    for (int i = 0; i < IDLE_CURVE; i++) {
        char pub[41], sec[41];
        if (zmq_curve_keypair(pub, sec) != 0)
            exit(2);
        socks[i] = dealer(server_key, pub, sec, endpoint); /* the KMS refuses these at ZAP */
    }
    fx_sleep_ms(500);
    both_ok("opening idle connections");
    for (int i = 0; i < IDLE_RAW + IDLE_GREETING; i++)
        if (fds[i] >= 0)
            close(fds[i]);
    for (int i = 0; i < IDLE_CURVE; i++)
        zmq_close(socks[i]);
    printf("%s: %d idle TCP connections (%d with a greeting), %d CURVE clients: served meanwhile\n",
           who, opened, IDLE_GREETING, IDLE_CURVE);
    CHECK(opened == IDLE_RAW + IDLE_GREETING);
}

/* Group Manager: short connections, a fresh CURVE key each, one envelope each. */
static void short_connections(void)
{
    static const uint8_t garbage[] = {0x52, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F, 0x01};
    uint8_t buf[1024];
    int answered = 0;
    for (int i = 0; i < SHORT_CONNECTIONS; i++) {
        char pub[41], sec[41];
        if (zmq_curve_keypair(pub, sec) != 0)
            exit(2);
        void *d = dealer(gm.srv.key, pub, sec, gm.srv.endpoint);
        if (zmq_send(d, garbage, sizeof garbage, 0) == (int)sizeof garbage &&
            recv_one(d, buf, sizeof buf, 10000) > 0)
            answered++;
        zmq_close(d);
    }
    printf("Group Manager: %d short connections with fresh keys answered\n", answered);
    CHECK(answered == SHORT_CONNECTIONS);
}

int main(int argc, char **argv)
{
    long rounds = fx_param(argc, argv, "MCSEC_FAULTS_N", 2);
    char kdir[512], gdir[512];
    fx_seed();
    kt_raise_nofile();
    signal(SIGPIPE, SIG_IGN);
    ctx = zmq_ctx_new();
    zmq_ctx_set(ctx, ZMQ_MAX_SOCKETS, 8192);

    /* The KMS, with alice (real requests) and mallory (oversized frames) enrolled. */
    mcsec_kms_t *k = kt_create("kms", kdir, sizeof kdir);
    mcsec_kms_get_info(k, &kms.info);
    mcsec_kms_enroll_t a = {ALICE, MCSEC_KMS_ROLE_HANDSET, NULL, 0, NULL};
    mcsec_kms_enroll_t m = {MALLORY, MCSEC_KMS_ROLE_HANDSET, NULL, 0, NULL};
    if (mcsec_kms_enroll(k, &a, &kms.alice) != MCSEC_OK ||
        mcsec_kms_enroll(k, &m, &kms.mallory) != MCSEC_OK)
        kt_die("enroll");
    mcsec_kms_close(k);
    /* Rate limits up: this test sends many requests from two devices on purpose. */
    const char *fast[] = {"--rate", "100000", "--burst", "100000", NULL};
    if (kt_spawn(&kms.srv, kdir, fast) != 0)
        return 2;

    /* The Group Manager, with alice in a group that has a GMK. */
    gt_kms_new(&gm.k);
    mcsec_groupmgr_t *h = gt_gm_create("gm", gdir, sizeof gdir);
    gt_group(h, &gm.k, G, MCSEC_GROUPMGR_LIFETIME_DEFAULT);
    gt_handset(&gm.alice, &gm.k, ALICE);
    const char *al[] = {ALICE};
    gt_members(h, G, al, 1);
    gm.gmk = gt_rekey(h, G);
    mcsec_groupmgr_close(h);
    if (gt_spawn(&gm.srv, gdir, NULL) != 0)
        return 2;

    both_ok("start");
    long kms_first = 0, gm_first = 0;
    for (long round = 0; round < rounds; round++) {
        double t0 = fx_now();
        raw_attacks("KMS", kms.srv.endpoint);
        both_ok("raw attacks on the KMS");
        raw_attacks("Group Manager", gm.srv.endpoint);
        both_ok("raw attacks on the Group Manager");
        unknown_keys();
        both_ok("unknown keys");
        oversized();
        both_ok("oversized frames");
        idle_connections("KMS", kms.srv.endpoint, kms.info.curve_public);
        idle_connections("Group Manager", gm.srv.endpoint, gm.srv.key);
        short_connections();
        both_ok("short connections");
        long kms_flood = 0, gm_flood = 0;
        char pub[41], sec[41];
        CHECK(zmq_curve_keypair(pub, sec) == 0);
        flood("KMS", kms.srv.endpoint, kms.info.curve_public, kms.mallory.curve_public,
              kms.mallory.curve_secret, &kms_flood, kms.srv.pid);
        flood("Group Manager", gm.srv.endpoint, gm.srv.key, pub, sec, &gm_flood, gm.srv.pid);
        CHECK(kms_flood < FLOOD_KB && gm_flood < FLOOD_KB);
        both_ok("floods");
        long kms_kb = fx_mem_kb(kms.srv.pid, "VmHWM"), gm_kb = fx_mem_kb(gm.srv.pid, "VmHWM");
        printf("round %ld (%.1f s): peak resident set KMS %ld kB (now %ld kB), Group Manager %ld "
               "kB (now %ld kB)\n",
               round + 1, fx_now() - t0, kms_kb, fx_mem_kb(kms.srv.pid, "VmRSS"), gm_kb,
               fx_mem_kb(gm.srv.pid, "VmRSS"));
        /* Bounded, not growing: the peak after each round of the second half stays within
         * GROWTH_KB of the peak after the first half (what one round holds for a moment sets
         * the peak once; a leak raises it round after round). */
        if (round < (rounds + 1) / 2) {
            kms_first = kms_kb;
            gm_first = gm_kb;
        } else {
            CHECK(kms_kb < kms_first + GROWTH_KB && gm_kb < gm_first + GROWTH_KB);
        }
        fflush(stdout);
    }
    CHECK(kt_stop(&kms.srv) == 0);
    CHECK(gt_stop(&gm.srv) == 0);
    gt_handset_close(&gm.alice);
    zmq_ctx_term(ctx);
    mcsec_memzero(&kms, sizeof kms);
    mcsec_memzero(&gm, sizeof gm);
    return test_summary();
}
