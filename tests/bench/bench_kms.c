/* mcsec-bench kms: the KMS's issuance throughput.
 *
 * - issue_keyset_us: in process, the cost of one key set as the service produces them: a
 *   KmsKeyProv with two key sets (UID, RSK, SSK/PVT each) and its XML, divided by two; median
 *   of 7 rounds of ~100 ms.
 * - keysets_per_s: end to end over loopback: mcsec_kms_serve (the code `mcsec-kms serve` runs,
 *   here in a thread of this process, with one worker per core and the SQLite store with
 *   synchronous=FULL) and CLIENTS devices on their own CURVE connections, each keeping
 *   IN_FLIGHT requests outstanding, for 3 s after a 0.5 s warm-up; two key sets per answer.
 * - in_process_keysets_per_s = cores * 1e6 / issue_keyset_us, and e2e_ratio = keysets_per_s /
 *   that (target >= 0.7: within 30 %).
 * - provision_1000_s: mcsec_kms_provision of 1,000 handsets (enrolment transaction, 2,000 key
 *   sets, 1,000 sealed bundle files with fsync, summary) on all cores.
 * Targets: keysets_per_s >= 800, e2e_ratio >= 0.7, provision_1000_s < 10. */
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <zmq.h>

#include "../../kms/internal.h" /* kms_doc_keyprov (path-qualified: crypto/ has an internal.h too) */
#include "kms.pb-c.h"
#include "mcsec/kms.h"
#include "mcsec/secmem.h"

int bench_cmd_kms(int argc, char **argv);

#define CLIENTS 16
#define IN_FLIGHT 8 /* requests each client keeps outstanding */
#define PASS "bench passphrase"

static double mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* --- In process ------------------------------------------------------------------------------ */

static double issue_us(mcsec_kms_t *kms)
{
    char *buf = malloc(MCSEC_KMS_DOC_MAX);
    double per[7];
    size_t len;
    for (int r = 0; r < 7; r++) {
        long n = 0;
        double t0 = mono(), t;
        do {
            if (kms_doc_keyprov(kms, "sip:bench@example.org", 1500 + (uint64_t)n, buf,
                                MCSEC_KMS_DOC_MAX, &len) != MCSEC_OK) {
                free(buf);
                return -1;
            }
            n++;
        } while ((t = mono()) - t0 < 0.1);
        per[r] = (t - t0) / (double)n / 2 * 1e6;
    }
    mcsec_memzero(buf, MCSEC_KMS_DOC_MAX);
    free(buf);
    qsort(per, 7, sizeof per[0], cmp_double);
    return per[3];
}

/* --- End to end -------------------------------------------------------------------------- */

typedef struct {
    mcsec_kms_t *kms;
    volatile sig_atomic_t stop;
    char endpoint[256];
    volatile int ready;
    mcsec_status_t rc;
} server_t;

static void on_ready(void *user, const char *endpoint)
{
    server_t *s = user;
    snprintf(s->endpoint, sizeof s->endpoint, "%s", endpoint);
    __atomic_store_n(&s->ready, 1, __ATOMIC_RELEASE);
}

static void *server_main(void *arg)
{
    server_t *s = arg;
    mcsec_kms_serve_config_t cfg = {.bind = "tcp://127.0.0.1:*", .rate = 1e9, .burst = 1e9,
                                    .stop = &s->stop, .on_ready = on_ready, .user = s};
    s->rc = mcsec_kms_serve(s->kms, &cfg);
    __atomic_store_n(&s->ready, 1, __ATOMIC_RELEASE);
    return NULL;
}

static size_t pack_request(uint8_t *buf, const char *uri)
{
    Mcsec__Kms__KeyProvRequest kp = MCSEC__KMS__KEY_PROV_REQUEST__INIT;
    Mcsec__Kms__KmsRequest req = MCSEC__KMS__KMS_REQUEST__INIT;
    req.version = 1;
    req.request_id = 1;
    kp.user_uri = (char *)uri;
    req.body_case = MCSEC__KMS__KMS_REQUEST__BODY_KEY_PROV;
    req.key_prov = &kp;
    return mcsec__kms__kms_request__pack(&req, buf);
}

/* Returns answers per second, or -1. */
static double e2e(mcsec_kms_t *kms, long *errors)
{
    static char uris[CLIENTS][64], pubs[CLIENTS][41], secs[CLIENTS][41];
    static void *socks[CLIENTS];
    static uint8_t reqs[CLIENTS][128];
    static size_t req_len[CLIENTS];
    mcsec_kms_info_t info;
    mcsec_kms_get_info(kms, &info);
    for (int i = 0; i < CLIENTS; i++) {
        snprintf(uris[i], sizeof uris[i], "sip:bench-%02d@example.org", i);
        mcsec_kms_enroll_t req = {uris[i], MCSEC_KMS_ROLE_HANDSET, NULL, 0, NULL};
        mcsec_kms_credential_t c;
        if (mcsec_kms_enroll(kms, &req, &c) != MCSEC_OK)
            return -1;
        memcpy(pubs[i], c.curve_public, 41);
        memcpy(secs[i], c.curve_secret, 41);
        req_len[i] = pack_request(reqs[i], uris[i]);
    }
    server_t srv = {.kms = kms};
    pthread_t t;
    if (pthread_create(&t, NULL, server_main, &srv) != 0)
        return -1;
    while (!__atomic_load_n(&srv.ready, __ATOMIC_ACQUIRE))
        usleep(1000);
    if (srv.endpoint[0] == 0) {
        pthread_join(t, NULL);
        return -1;
    }
    void *ctx = zmq_ctx_new();
    int linger = 0;
    for (int i = 0; i < CLIENTS; i++) {
        socks[i] = zmq_socket(ctx, ZMQ_DEALER);
        zmq_setsockopt(socks[i], ZMQ_LINGER, &linger, sizeof linger);
        zmq_setsockopt(socks[i], ZMQ_CURVE_SERVERKEY, info.curve_public, 40);
        zmq_setsockopt(socks[i], ZMQ_CURVE_PUBLICKEY, pubs[i], 40);
        zmq_setsockopt(socks[i], ZMQ_CURVE_SECRETKEY, secs[i], 40);
        zmq_connect(socks[i], srv.endpoint);
        for (int k = 0; k < IN_FLIGHT; k++)
            zmq_send(socks[i], reqs[i], req_len[i], 0);
    }
    zmq_pollitem_t items[CLIENTS];
    long answered = 0;
    double start = mono(), t_measure = start + 0.5, t_end = t_measure + 3.0, now;
    while ((now = mono()) < t_end) {
        for (int i = 0; i < CLIENTS; i++)
            items[i] = (zmq_pollitem_t){socks[i], 0, ZMQ_POLLIN, 0};
        if (zmq_poll(items, CLIENTS, 100) <= 0)
            continue;
        for (int i = 0; i < CLIENTS; i++) {
            if (!(items[i].revents & ZMQ_POLLIN))
                continue;
            for (;;) { /* everything this connection has, then poll again */
                zmq_msg_t m;
                zmq_msg_init(&m);
                if (zmq_msg_recv(&m, socks[i], ZMQ_DONTWAIT) < 0) {
                    zmq_msg_close(&m);
                    break;
                }
                Mcsec__Kms__KmsResponse *r =
                    mcsec__kms__kms_response__unpack(NULL, zmq_msg_size(&m), zmq_msg_data(&m));
                int ok = r != NULL && r->status == 0 && r->kms_xml.len > 0;
                if (r != NULL)
                    mcsec__kms__kms_response__free_unpacked(r, NULL);
                zmq_msg_close(&m);
                if (now >= t_measure) {
                    if (ok)
                        answered++;
                    else
                        (*errors)++;
                }
                zmq_send(socks[i], reqs[i], req_len[i], ZMQ_DONTWAIT);
            }
        }
    }
    double rate = (double)answered / (mono() - t_measure);
    for (int i = 0; i < CLIENTS; i++)
        zmq_close(socks[i]);
    zmq_ctx_term(ctx);
    srv.stop = 1;
    pthread_join(t, NULL);
    return srv.rc == MCSEC_OK ? rate : -1;
}

/* --- Bulk provisioning ----------------------------------------------------------------------- */

static double provision_s(mcsec_kms_t *kms, const char *root, size_t n)
{
    mcsec_kms_roster_row_t *rows = calloc(n, sizeof *rows);
    char (*uris)[64] = calloc(n, sizeof *uris), groups[10][64];
    const char *group_of[10];
    char out[600];
    if (rows == NULL || uris == NULL) {
        free(rows);
        free(uris);
        return -1;
    }
    for (size_t g = 0; g < 10; g++) {
        snprintf(groups[g], sizeof groups[g], "sip:fire-%zu@example.org", g);
        group_of[g] = groups[g];
    }
    for (size_t i = 0; i < n; i++) {
        snprintf(uris[i], sizeof uris[i], "sip:responder-%04zu@example.org", i);
        rows[i] = (mcsec_kms_roster_row_t){uris[i], MCSEC_KMS_ROLE_HANDSET, 1, &group_of[i % 10]};
    }
    snprintf(out, sizeof out, "%s/bundles", root);
    double t0 = mono();
    mcsec_status_t rc = mcsec_kms_provision(kms, rows, n, out, 0, 0, NULL, NULL);
    double s = mono() - t0;
    free(rows);
    free(uris);
    if (rc != MCSEC_OK)
        fprintf(stderr, "mcsec-bench kms: provisioning failed: %s\n", mcsec_kms_last_error());
    return rc == MCSEC_OK ? s : -1;
}

int bench_cmd_kms(int argc, char **argv)
{
    int json = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0) {
            json = 1;
        } else {
            fprintf(stderr, "mcsec-bench kms: unknown argument '%s'; usage: mcsec-bench kms "
                            "[--json]\n",
                    argv[i]);
            return 2;
        }
    }
    char root[] = "/tmp/mcsec-bench-kms.XXXXXX", dir[64];
    if (mkdtemp(root) == NULL) {
        fprintf(stderr, "mcsec-bench kms: cannot create a temporary directory in /tmp\n");
        return 1;
    }
    snprintf(dir, sizeof dir, "%s/kms", root);
    mcsec_kms_config_t cfg = {.dir = dir, .kms_uri = "kms.example.org", .passphrase = PASS,
                              .passphrase_len = strlen(PASS), .kdf_log2n = 10, .kdf_r = 8,
                              .kdf_p = 1, .endpoint = "tcp://127.0.0.1:7001"};
    mcsec_kms_t *kms = NULL;
    int ret = 1;
    long errors = 0;
    if (mcsec_kms_create(&kms, &cfg) != MCSEC_OK) {
        fprintf(stderr, "mcsec-bench kms: %s\n", mcsec_kms_last_error());
        goto out;
    }
    int cores = (int)sysconf(_SC_NPROCESSORS_ONLN);
    double us = issue_us(kms);
    double answers = e2e(kms, &errors);
    double prov = provision_s(kms, root, 1000);
    if (us <= 0 || answers < 0 || prov < 0 || errors > 0) {
        fprintf(stderr, "mcsec-bench kms: a measurement failed (%ld failed answers)\n", errors);
        goto out;
    }
    double keysets = 2 * answers, inproc = cores * 1e6 / us, ratio = keysets / inproc;
    int meets = keysets >= 800 && ratio >= 0.7 && prov < 10;
    if (json) {
        printf("{\"bench\":\"kms\",\"cores\":%d,\"clients\":%d,\"issue_keyset_us\":%.1f,"
               "\"in_process_keysets_per_s\":%.0f,\"keysets_per_s\":%.0f,\"e2e_ratio\":%.3f,"
               "\"provision_1000_s\":%.2f,\"meets_targets\":%s}\n",
               cores, CLIENTS, us, inproc, keysets, ratio, prov, meets ? "true" : "false");
    } else {
        printf("KMS issuance (%d cores, %d concurrent clients over loopback CURVE)\n", cores,
               CLIENTS);
        printf("  issue_keyset_us           %8.1f   (in process, per key set incl. XML)\n", us);
        printf("  in_process_keysets_per_s  %8.0f   (spread over %d cores)\n", inproc, cores);
        printf("  keysets_per_s             %8.0f   (end to end; target >= 800)\n", keysets);
        printf("  e2e_ratio                 %8.3f   (target >= 0.7)\n", ratio);
        printf("  provision_1000_s          %8.2f   (target < 10)\n", prov);
        printf("  meets_targets             %s\n", meets ? "yes" : "no");
    }
    ret = 0;
out:
    mcsec_kms_close(kms);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    if (system(cmd) != 0)
        fprintf(stderr, "mcsec-bench kms: cannot remove %s\n", root);
    return ret;
}
