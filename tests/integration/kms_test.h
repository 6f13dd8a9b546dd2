/* Shared helpers of the KMS integration tests: temporary KMS directories, spawning
 * `mcsec-kms serve` on a free loopback port, raw CURVE DEALER sockets for hand-made
 * envelopes. Include after test.h. */
#ifndef MCSEC_KMS_TEST_H
#define MCSEC_KMS_TEST_H

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <zmq.h>

#include "kms.pb-c.h"
#include "mcsec/kms.h"
#include "mcsec/kmsclient.h"
#include "mcsec/kmsxml.h"
#include "mcsec/secmem.h"

#define KT_PASS "correct horse battery staple"
#define KT_KMS_URI "kms.example.org"

static inline void kt_die(const char *what)
{
    fprintf(stderr, "setup: %s: %s\n", what, mcsec_kms_last_error());
    exit(2);
}

/* A fresh temporary directory (removed by kt_cleanup). */
static char kt_root[256];

static inline void kt_cleanup(void)
{
    if (kt_root[0] && getenv("KT_KEEP") == NULL) {
        char cmd[300];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", kt_root);
        if (system(cmd) != 0)
            fprintf(stderr, "cannot remove %s\n", kt_root);
    }
}

static inline const char *kt_tmpdir(void)
{
    if (!kt_root[0]) {
        snprintf(kt_root, sizeof kt_root, "%s/mcsec-kms-test.XXXXXX",
                 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
        if (mkdtemp(kt_root) == NULL)
            exit(2);
        atexit(kt_cleanup);
    }
    return kt_root;
}

/* Creates a KMS in <tmp>/<name> with a cheap scrypt cost; returns it open. */
static inline mcsec_kms_t *kt_create(const char *name, char *dir_out, size_t cap)
{
    snprintf(dir_out, cap, "%s/%s", kt_tmpdir(), name);
    mcsec_kms_config_t cfg = {.dir = dir_out, .kms_uri = KT_KMS_URI, .key_period = 2592000,
                              .key_offset = 0, .endpoint = "tcp://127.0.0.1:7001",
                              .passphrase = KT_PASS, .passphrase_len = strlen(KT_PASS),
                              .kdf_log2n = 10, .kdf_r = 8, .kdf_p = 1};
    mcsec_kms_t *kms = NULL;
    if (mcsec_kms_create(&kms, &cfg) != MCSEC_OK)
        kt_die("create");
    return kms;
}

typedef struct {
    pid_t pid;
    char endpoint[256];
} kt_server_t;

/* Spawns `mcsec-kms serve --dir dir --bind BIND [extra...]` (bind NULL: tcp://127.0.0.1:*, a
 * free port), its stderr appended to errfile (NULL: this process's stderr), and waits for its
 * "serving ENDPOINT" line. Returns 0 on success. */
static inline int kt_spawn_log(kt_server_t *s, const char *dir, const char *bind,
                               const char *const *extra, const char *errfile)
{
    int pfd[2];
    if (pipe(pfd) != 0)
        return -1;
    const char *argv[24] = {MCSEC_KMS_BIN, "serve", "--dir", dir, "--bind",
                            bind != NULL ? bind : "tcp://127.0.0.1:*"};
    int n = 6;
    for (; extra != NULL && *extra != NULL && n < 22; extra++)
        argv[n++] = *extra;
    argv[n] = NULL;
    s->pid = fork();
    if (s->pid < 0)
        return -1;
    if (s->pid == 0) {
        int e = errfile != NULL ? open(errfile, O_WRONLY | O_CREAT | O_APPEND, 0600) : -1;
        dup2(pfd[1], 1);
        if (e >= 0)
            dup2(e, 2);
        close(pfd[0]);
        close(pfd[1]);
        setenv("MCSEC_PASSPHRASE", KT_PASS, 1);
        execv(MCSEC_KMS_BIN, (char *const *)argv);
        _exit(127);
    }
    close(pfd[1]);
    char line[256];
    size_t o = 0;
    time_t deadline = time(NULL) + 60;
    while (o < sizeof line - 1 && time(NULL) < deadline) {
        struct pollfd p = {pfd[0], POLLIN, 0};
        if (poll(&p, 1, 1000) <= 0)
            continue;
        ssize_t r = read(pfd[0], line + o, 1);
        if (r <= 0)
            break;
        if (line[o] == '\n')
            break;
        o++;
    }
    line[o] = 0;
    close(pfd[0]);
    if (strncmp(line, "serving ", 8) != 0) {
        fprintf(stderr, "mcsec-kms serve did not start (got '%s')\n", line);
        kill(s->pid, SIGKILL);
        waitpid(s->pid, NULL, 0);
        return -1;
    }
    snprintf(s->endpoint, sizeof s->endpoint, "%s", line + 8);
    return 0;
}

/* On a free loopback port, stderr shared with this process. */
static inline int kt_spawn(kt_server_t *s, const char *dir, const char *const *extra)
{
    return kt_spawn_log(s, dir, NULL, extra, NULL);
}

/* SIGTERM and wait: returns the exit status (or -1). */
static inline int kt_stop(kt_server_t *s)
{
    int st = 0;
    kill(s->pid, SIGTERM);
    if (waitpid(s->pid, &st, 0) != s->pid)
        return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* A raw CURVE DEALER connected to the server as a device. */
static inline void *kt_dealer(void *ctx, const kt_server_t *s, const char *kms_public, const char *pub,
                       const char *sec)
{
    void *d = zmq_socket(ctx, ZMQ_DEALER);
    int linger = 0;
    if (d == NULL || zmq_setsockopt(d, ZMQ_LINGER, &linger, sizeof linger) != 0 ||
        zmq_setsockopt(d, ZMQ_CURVE_SERVERKEY, kms_public, 40) != 0 ||
        zmq_setsockopt(d, ZMQ_CURVE_PUBLICKEY, pub, 40) != 0 ||
        zmq_setsockopt(d, ZMQ_CURVE_SECRETKEY, sec, 40) != 0 || zmq_connect(d, s->endpoint) != 0)
        return NULL;
    return d;
}

/* Packs a KmsRequest for uri (NULL: an InitRequest) into buf; returns the length. */
static inline size_t kt_request(uint8_t *buf, size_t cap, uint64_t request_id, const char *uri,
                         uint64_t at)
{
    Mcsec__Kms__KeyProvRequest kp = MCSEC__KMS__KEY_PROV_REQUEST__INIT;
    Mcsec__Kms__InitRequest ir = MCSEC__KMS__INIT_REQUEST__INIT;
    Mcsec__Kms__KmsRequest req = MCSEC__KMS__KMS_REQUEST__INIT;
    req.version = 1;
    req.request_id = request_id;
    if (uri != NULL) {
        kp.user_uri = (char *)uri;
        kp.at_time = at;
        req.body_case = MCSEC__KMS__KMS_REQUEST__BODY_KEY_PROV;
        req.key_prov = &kp;
    } else {
        req.body_case = MCSEC__KMS__KMS_REQUEST__BODY_INIT;
        req.init = &ir;
    }
    size_t n = mcsec__kms__kms_request__get_packed_size(&req);
    if (n > cap)
        exit(2);
    mcsec__kms__kms_request__pack(&req, buf);
    return n;
}

/* Receives one response within timeout_ms; NULL on timeout or garbage. */
static inline Mcsec__Kms__KmsResponse *kt_recv(void *d, int timeout_ms)
{
    zmq_pollitem_t it = {d, 0, ZMQ_POLLIN, 0};
    if (zmq_poll(&it, 1, timeout_ms) <= 0)
        return NULL;
    zmq_msg_t m;
    zmq_msg_init(&m);
    if (zmq_msg_recv(&m, d, 0) < 0) {
        zmq_msg_close(&m);
        return NULL;
    }
    Mcsec__Kms__KmsResponse *r =
        mcsec__kms__kms_response__unpack(NULL, zmq_msg_size(&m), zmq_msg_data(&m));
    zmq_msg_close(&m);
    return r;
}

static inline uint64_t kt_ntp_now(void)
{
    return (uint64_t)time(NULL) + MCSEC_KMS_NTP_UNIX_OFFSET;
}

static inline void kt_raise_nofile(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < 8192) {
        rl.rlim_cur = rl.rlim_max < 8192 ? rl.rlim_max : 8192;
        (void)setrlimit(RLIMIT_NOFILE, &rl);
    }
}

/* --- Load: many devices on concurrent connections ---------------------------------------------- */

typedef struct {
    char uri[64], pub[41], sec[41];
    void *sock;
    int done;
} kt_device_t;

/* Enrols n handsets "sip:responder-NNN@example.org" in kms. */
static inline void kt_enroll_devices(mcsec_kms_t *kms, kt_device_t *devs, int n)
{
    for (int i = 0; i < n; i++) {
        snprintf(devs[i].uri, sizeof devs[i].uri, "sip:responder-%03d@example.org", i);
        mcsec_kms_enroll_t req = {devs[i].uri, MCSEC_KMS_ROLE_HANDSET, NULL, 0, NULL};
        mcsec_kms_credential_t c;
        if (mcsec_kms_enroll(kms, &req, &c) != MCSEC_OK)
            kt_die("enroll");
        memcpy(devs[i].pub, c.curve_public, 41);
        memcpy(devs[i].sec, c.curve_secret, 41);
        mcsec_memzero(&c, sizeof c);
    }
}

typedef struct {
    int served;    /* answered with status 0 for its own request id */
    int right;     /* exactly its own keys (see kt_load) */
    int have_init; /* a KmsInit came back and parsed */
    double seconds;
} kt_load_result_t;

/* n devices on n concurrent CURVE connections fetch their key sets from srv: every connection
 * first, then one request each, so that all n are open at once. Counts the devices served and
 * those whose response carries exactly their own identity (UserUri, every key set's UserUri
 * and UID format 2 recomputed; every 100th fully validated, RSK and SSK/PVT). The sockets are
 * closed before returning. */
static inline void kt_load(void *ctx, const kt_server_t *srv, const mcsec_kms_info_t *info,
                           kt_device_t *devs, int n, kt_load_result_t *res)
{
    struct timespec t0, t1;
    memset(res, 0, sizeof *res);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int i = 0; i < n; i++) {
        devs[i].done = 0;
        devs[i].sock = kt_dealer(ctx, srv, info->curve_public, devs[i].pub, devs[i].sec);
        if (devs[i].sock == NULL)
            exit(2);
    }
    uint8_t req[512];
    for (int i = 0; i < n; i++) {
        size_t rl = kt_request(req, sizeof req, 1000 + (uint64_t)i, devs[i].uri, 0);
        if (zmq_send(devs[i].sock, req, rl, 0) != (int)rl)
            exit(2);
    }
    uint64_t pn = kt_ntp_now() / info->key_period;
    int remaining = n;
    mcsec_kms_init_t init;
    mcsec_kms_response_hdr_t hdr;
    time_t deadline = time(NULL) + 120 + n / 5;
    zmq_pollitem_t *items = calloc((size_t)n, sizeof *items);
    int *idx = calloc((size_t)n, sizeof *idx);
    if (items == NULL || idx == NULL)
        exit(2);
    while (remaining > 0 && time(NULL) < deadline) {
        int k = 0;
        for (int i = 0; i < n; i++)
            if (!devs[i].done) {
                items[k] = (zmq_pollitem_t){devs[i].sock, 0, ZMQ_POLLIN, 0};
                idx[k++] = i;
            }
        if (zmq_poll(items, k, 1000) <= 0)
            continue;
        for (int j = 0; j < k; j++) {
            if (!(items[j].revents & ZMQ_POLLIN))
                continue;
            int i = idx[j];
            Mcsec__Kms__KmsResponse *r = kt_recv(devs[i].sock, 0);
            devs[i].done = 1;
            remaining--;
            if (r == NULL)
                continue;
            if (r->status == 0 && r->request_id == 1000 + (uint64_t)i)
                res->served++;
            else
                fprintf(stderr, "device %d: status %d %s\n", i, r->status, r->message);
            mcsec_kms_keyset_t sets[3];
            size_t ns = 0;
            if (!res->have_init && r->kms_init_xml.len > 0)
                res->have_init = mcsec_kmsxml_parse_init((const char *)r->kms_init_xml.data,
                                                         r->kms_init_xml.len, &hdr,
                                                         &init) == MCSEC_OK;
            if (mcsec_kmsxml_parse_keyprov((const char *)r->kms_xml.data, r->kms_xml.len, &hdr,
                                           sets, 3, &ns) == MCSEC_OK &&
                ns == 2 && strcmp(hdr.user_uri, devs[i].uri) == 0) {
                int ok = 1;
                for (size_t s = 0; s < ns; s++) {
                    uint8_t uid[32];
                    ok &= strcmp(sets[s].user_uri, devs[i].uri) == 0;
                    ok &= sets[s].key_period_no == pn + s;
                    ok &= mcsec_uid_format2(devs[i].uri, KT_KMS_URI, info->key_period,
                                            info->key_offset, sets[s].key_period_no,
                                            uid) == MCSEC_OK &&
                          memcmp(uid, sets[s].uid, 32) == 0;
                }
                if (ok && res->have_init && i % 100 == 7) /* full validation of a sample */
                    ok = mcsec_kmsxml_check_keyset(&init, &sets[0], devs[i].uri) == MCSEC_OK &&
                         mcsec_kmsxml_check_keyset(&init, &sets[1], devs[i].uri) == MCSEC_OK;
                res->right += ok;
            }
            mcsec_kms_keyset_wipe(sets, 3);
            mcsec__kms__kms_response__free_unpacked(r, NULL);
        }
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    res->seconds = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) * 1e-9;
    for (int i = 0; i < n; i++) {
        zmq_close(devs[i].sock);
        devs[i].sock = NULL;
    }
    free(items);
    free(idx);
}

#endif
