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

/* Spawns `mcsec-kms serve --dir dir --bind tcp://127.0.0.1:* [extra...]` and waits for its
 * "serving ENDPOINT" line. Returns 0 on success. */
static inline int kt_spawn(kt_server_t *s, const char *dir, const char *const *extra)
{
    int pfd[2];
    if (pipe(pfd) != 0)
        return -1;
    const char *argv[24] = {MCSEC_KMS_BIN, "serve", "--dir", dir, "--bind", "tcp://127.0.0.1:*"};
    int n = 6;
    for (; extra != NULL && *extra != NULL && n < 22; extra++)
        argv[n++] = *extra;
    argv[n] = NULL;
    s->pid = fork();
    if (s->pid < 0)
        return -1;
    if (s->pid == 0) {
        dup2(pfd[1], 1);
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

#endif
