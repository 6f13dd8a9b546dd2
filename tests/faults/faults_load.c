/* Load against the real daemons, with their memory bounded (VmHWM from /proc/PID/status):
 *
 *   1. N simulated handsets (argv[1] or MCSEC_FAULTS_HANDSETS; CI 100, the documented run
 *      1,000) in this one process, one CURVE DEALER each, register with one
 *      `mcsec-groupmgr serve` (signed registrations) and receive a rekey made by the
 *      `mcsec-groupmgr rekey` tool: each opens its own I_MESSAGE (SAKKE, ECCSI), checks the
 *      GMK-ID and acknowledges with its proof. Every handset must hold the same GMK and the
 *      store must record every acknowledgement. Timed: registration, the rekey, delivery and
 *      acknowledgement of all (the handsets' own decryption is counted apart).
 *   2. 300 devices on 300 concurrent CURVE connections fetch their keys from `mcsec-kms serve`
 *      (kt_load, shared with tests/integration/kms_load.c).
 *
 * The bounds: the Group Manager's peak resident set stays under GM_BASE_KB + GM_PER_HANDSET_KB
 * per handset, the KMS's under KMS_BOUND_KB (looser under AddressSanitizer, whose shadow
 * memory and quarantine of freed blocks count too). docs/security-testing.md records the
 * measured numbers. */
#include "test.h"

#include "kms_test.h"
#include "gm_test.h"
#include "faults.h"

#define G "sip:all-hands@example.org"
#define KMS_DEVICES 300

#if FX_ASAN
#define GM_BASE_KB (400 * 1024L)
#define GM_PER_HANDSET_KB 200L
#define KMS_BOUND_KB (600 * 1024L)
#else
#define GM_BASE_KB (48 * 1024L)
#define GM_PER_HANDSET_KB 48L
#define KMS_BOUND_KB (96 * 1024L)
#endif

typedef struct {
    char uri[64];
    gt_raw_t raw; /* the socket, its CURVE key pair; the context is shared */
    mcsec_kms_keyset_t sets[2];
    int registered, got, acked;
    uint8_t gmk[MCSEC_GMK_LEN];
} sim_t;

static double crypto_s; /* this process's time opening messages and making proofs */

/* Opens the delivery with the handset's own keys and acknowledges it. */
static void on_delivery(sim_t *h, const gt_kms_t *k, const Mcsec__Groupmgr__GmkDelivery *d,
                        uint32_t want)
{
    mcsec_kms_params_t p;
    mcsec_keyset_t ks;
    mcsec_profile_receiver_t *rx = NULL;
    mcsec_gmk_result_t res;
    uint8_t proof[MCSEC_GM_PROOF_LEN];
    double t0 = fx_now();
    memset(&p, 0, sizeof p);
    memset(&ks, 0, sizeof ks);
    memset(&res, 0, sizeof res);
    snprintf(p.kms_uri, sizeof p.kms_uri, "%s", k->init.kms_uri);
    p.user_id_format = 2;
    p.key_period = GT_PERIOD;
    memcpy(p.Z, k->init.Z, sizeof p.Z);
    memcpy(p.kpak, k->init.kpak, sizeof p.kpak);
    snprintf(ks.user_uri, sizeof ks.user_uri, "%s", h->uri);
    memcpy(ks.uid, h->sets[0].uid, sizeof ks.uid);
    ks.period_no = h->sets[0].key_period_no;
    memcpy(ks.rsk, h->sets[0].rsk, sizeof ks.rsk);
    memcpy(ks.ssk, h->sets[0].ssk, sizeof ks.ssk);
    memcpy(ks.pvt, h->sets[0].pvt, sizeof ks.pvt);
    if (mcsec_profile_receiver_new(&rx, &p, h->uri) == MCSEC_OK &&
        mcsec_profile_receiver_add_keyset(rx, &ks) == MCSEC_OK &&
        mcsec_gmk_open(rx, d->i_message.data, d->i_message.len, MCSEC_OPEN_EXPECT_GMK, &res) ==
            MCSEC_OK &&
        res.key_id == want && d->gmk_id == want &&
        mcsec_gm_ack_proof(res.key, h->uri, res.key_id, proof) == MCSEC_OK) {
        memcpy(h->gmk, res.key, sizeof h->gmk);
        h->got = 1;
        crypto_s += fx_now() - t0;
        gt_raw_ack(&h->raw, G, want, proof, sizeof proof, h->uri);
    } else {
        fprintf(stderr, "%s: cannot open its GMK message (%s)\n", h->uri,
                res.why != NULL ? res.why : "");
        crypto_s += fx_now() - t0;
    }
    mcsec_gmk_result_wipe(&res);
    mcsec_profile_receiver_free(rx);
    mcsec_memzero(&ks, sizeof ks);
    mcsec_memzero(proof, sizeof proof);
}

/* Reads everything the handsets received; returns when want is met or after timeout_s. */
static void pump(sim_t *h, long n, const gt_kms_t *k, uint32_t gmk_id, int *count, int want,
                 double timeout_s)
{
    zmq_pollitem_t *items = calloc((size_t)n, sizeof *items);
    double end = fx_now() + timeout_s;
    if (items == NULL)
        exit(2);
    while (*count < want && fx_now() < end) {
        for (long i = 0; i < n; i++)
            items[i] = (zmq_pollitem_t){h[i].raw.sock, 0, ZMQ_POLLIN, 0};
        if (zmq_poll(items, (int)n, 200) <= 0)
            continue;
        for (long i = 0; i < n; i++) {
            if (!(items[i].revents & ZMQ_POLLIN))
                continue;
            Mcsec__Groupmgr__GroupMgrMessage *m;
            while ((m = gt_raw_recv(&h[i].raw, 0)) != NULL) {
                if (m->body_case == MCSEC__GROUPMGR__GROUP_MGR_MESSAGE__BODY_REGISTER_RESPONSE &&
                    m->register_response->status == 0 && !h[i].registered) {
                    h[i].registered = 1;
                    if (gmk_id == 0)
                        (*count)++;
                } else if (m->body_case == MCSEC__GROUPMGR__GROUP_MGR_MESSAGE__BODY_DELIVERY &&
                           !h[i].got && gmk_id != 0) {
                    on_delivery(&h[i], k, m->delivery, gmk_id);
                } else if (m->body_case == MCSEC__GROUPMGR__GROUP_MGR_MESSAGE__BODY_STATUS &&
                           m->status->gmk_id == gmk_id && gmk_id != 0 && !h[i].acked) {
                    if (m->status->status == 0) {
                        h[i].acked = 1;
                        (*count)++;
                    } else {
                        fprintf(stderr, "%s: acknowledgement refused: %s\n", h[i].uri,
                                m->status->message);
                    }
                }
                mcsec__groupmgr__group_mgr_message__free_unpacked(m, NULL);
            }
        }
    }
    free(items);
}

static void gm_load(long n)
{
    gt_kms_t k;
    char dir[512];
    gt_server_t srv;
    gt_kms_new(&k);
    mcsec_groupmgr_t *gm = gt_gm_create("gm", dir, sizeof dir);
    gt_group(gm, &k, G, MCSEC_GROUPMGR_LIFETIME_DEFAULT);
    sim_t *h = calloc((size_t)n, sizeof *h);
    const char **uris = calloc((size_t)n, sizeof *uris);
    if (h == NULL || uris == NULL)
        exit(2);
    double t0 = fx_now();
    for (long i = 0; i < n; i++) {
        snprintf(h[i].uri, sizeof h[i].uri, "sip:handset-%05ld@example.org", i);
        gt_issue(&k, h[i].uri, h[i].sets);
        uris[i] = h[i].uri;
    }
    gt_members(gm, G, uris, (size_t)n);
    printf("setup: %ld handsets' keys issued, members added in %.1f s\n", n, fx_now() - t0);
    if (gt_spawn(&srv, dir, NULL) != 0)
        exit(2);
    fx_sleep_ms(200);
    long base_kb = fx_mem_kb(srv.pid, "VmRSS");

    /* Registration: every socket connects and sends its signed registration at once. */
    void *ctx = zmq_ctx_new();
    zmq_ctx_set(ctx, ZMQ_MAX_SOCKETS, (int)n + 64);
    t0 = fx_now();
    for (long i = 0; i < n; i++) {
        gt_raw_t *r = &h[i].raw;
        int linger = 0;
        r->ctx = NULL;
        if (zmq_curve_keypair(r->pub, r->sec) != 0 || zmq_z85_decode(r->pub_raw, r->pub) == NULL ||
            (r->sock = zmq_socket(ctx, ZMQ_DEALER)) == NULL ||
            zmq_setsockopt(r->sock, ZMQ_LINGER, &linger, sizeof linger) != 0 ||
            zmq_setsockopt(r->sock, ZMQ_CURVE_SERVERKEY, srv.key, 40) != 0 ||
            zmq_setsockopt(r->sock, ZMQ_CURVE_PUBLICKEY, r->pub, 40) != 0 ||
            zmq_setsockopt(r->sock, ZMQ_CURVE_SECRETKEY, r->sec, 40) != 0 ||
            zmq_connect(r->sock, srv.endpoint) != 0) {
            fprintf(stderr, "socket %ld: %s\n", i, zmq_strerror(zmq_errno()));
            exit(2);
        }
        const char *gl[] = {G};
        gt_raw_register(r, &h[i].sets[0], h[i].uri, gl, 1, gt_ntp64(), NULL, &k);
    }
    int registered = 0;
    pump(h, n, &k, 0, &registered, (int)n, 120 + (double)n / 10);
    double reg_s = fx_now() - t0;
    CHECK(registered == n);
    long reg_kb = fx_mem_kb(srv.pid, "VmRSS");

    /* The rekey, by the tool; every handset gets, opens and acknowledges it. */
    fx_run_t r;
    const char *rekey[] = {MCSEC_GROUPMGR_BIN, "rekey", "--dir", dir, "--group", G, NULL};
    crypto_s = 0;
    t0 = fx_now();
    fx_run(rekey, GT_PASS, 0, 600, &r);
    double rekey_s = fx_now() - t0;
    unsigned id = 0;
    double built = 0, committed = 0;
    CHECK(r.status == 0 && sscanf(r.out, "GMK-ID %8x for " G ": %*u member(s), timestamp %*s "
                                         "built in %lf s, committed in %lf s",
                                  &id, &built, &committed) == 3);
    int acked = 0;
    pump(h, n, &k, id, &acked, (int)n, 120 + (double)n / 5);
    double all_s = fx_now() - t0;
    long got = 0, same = 0;
    for (long i = 0; i < n; i++) {
        got += h[i].got;
        same += h[i].got && memcmp(h[i].gmk, h[0].gmk, sizeof h[0].gmk) == 0;
    }
    CHECK(got == n && same == n && acked == n);
    gt_gmks_t hist;
    gt_gmks(gm, G, &hist);
    CHECK(hist.n == 1 && hist.g[0].gmk_id == id && hist.g[0].acked == (size_t)n);
    long peak_kb = fx_mem_kb(srv.pid, "VmHWM");
    long bound_kb = GM_BASE_KB + GM_PER_HANDSET_KB * n;
    printf("Group Manager, %ld handsets: registered in %.2f s; rekey tool %.2f s (built %.3f s, "
           "committed %.3f s); all %d received, opened and acknowledged %.2f s after the tool "
           "started (%.2f s of it this process's own decryption)\n",
           n, reg_s, rekey_s, built, committed, acked, all_s, crypto_s);
    printf("Group Manager memory: %ld kB at start, %ld kB registered, peak %ld kB (bound %ld "
           "kB)\n",
           base_kb, reg_kb, peak_kb, bound_kb);
    CHECK(peak_kb > 0 && peak_kb < bound_kb);
    CHECK(gt_stop(&srv) == 0);
    for (long i = 0; i < n; i++) {
        zmq_close(h[i].raw.sock);
        mcsec_kms_keyset_wipe(h[i].sets, 2);
    }
    zmq_ctx_term(ctx);
    mcsec_memzero(h, (size_t)n * sizeof *h);
    free(h);
    free(uris);
    mcsec_groupmgr_close(gm);
}

static void kms_load(void)
{
    static kt_device_t devs[KMS_DEVICES];
    char dir[512];
    mcsec_kms_t *kms = kt_create("kms", dir, sizeof dir);
    mcsec_kms_info_t info;
    mcsec_kms_get_info(kms, &info);
    kt_enroll_devices(kms, devs, KMS_DEVICES);
    kt_server_t srv;
    if (kt_spawn(&srv, dir, NULL) != 0)
        exit(2);
    fx_sleep_ms(200);
    long base_kb = fx_mem_kb(srv.pid, "VmRSS");
    void *ctx = zmq_ctx_new();
    zmq_ctx_set(ctx, ZMQ_MAX_SOCKETS, 4096);
    kt_load_result_t res;
    kt_load(ctx, &srv, &info, devs, KMS_DEVICES, &res);
    long peak_kb = fx_mem_kb(srv.pid, "VmHWM");
    printf("KMS, %d concurrent devices: %d served, %d with exactly their own keys, in %.2f s; "
           "memory %ld kB at start, peak %ld kB (bound %ld kB)\n",
           KMS_DEVICES, res.served, res.right, res.seconds, base_kb, peak_kb, KMS_BOUND_KB);
    CHECK(res.served == KMS_DEVICES && res.right == KMS_DEVICES && res.have_init);
    CHECK(peak_kb > 0 && peak_kb < KMS_BOUND_KB);
    zmq_ctx_term(ctx);
    CHECK(kt_stop(&srv) == 0);
    mcsec_kms_close(kms);
    mcsec_memzero(devs, sizeof devs);
}

int main(int argc, char **argv)
{
    long n = fx_param(argc, argv, "MCSEC_FAULTS_HANDSETS", 100);
    kt_raise_nofile(); /* the daemons inherit it */
    gm_load(n);
    kms_load();
    return test_summary();
}
