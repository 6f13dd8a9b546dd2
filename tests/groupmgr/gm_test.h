/* Shared helpers of the Group Manager tests: a throw-away KMS in the test process (keys issued
 * directly, as tests/cli/mkkms.c does), Group Managers and handset keystores in a temporary
 * directory (cheap scrypt cost), `mcsec-groupmgr serve` spawned on a free loopback port with
 * its stderr kept in a file, handset clients run until their backlog is delivered, and raw
 * CURVE DEALER sockets for hand-made envelopes. Include after test.h. */
#ifndef MCSEC_GM_TEST_H
#define MCSEC_GM_TEST_H

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <zmq.h>

#include "groupmgr.pb-c.h"
#include "mcsec/gmclient.h"
#include "mcsec/groupmgr.h"
#include "mcsec/kdf.h"
#include "mcsec/keystore.h"
#include "mcsec/kmsxml.h"
#include "mcsec/profile.h"
#include "mcsec/secmem.h"

/* Each test uses some of these helpers. */
#pragma GCC diagnostic ignored "-Wunused-function"

#define GT_PASS "correct horse battery staple"
#define GT_KMS_URI "kms.example.org"
#define GT_PERIOD 2592000u
#define GT_NTP_UNIX 2208988800u

static void gt_die(const char *what, mcsec_status_t rc)
{
    fprintf(stderr, "setup: %s: %s (%s)\n", what, mcsec_strerror(rc),
            mcsec_groupmgr_last_error());
    exit(2);
}

/* --- Temporary directory ------------------------------------------------------------------- */

static char gt_root[256];

static void gt_cleanup(void)
{
    if (gt_root[0] && getenv("GT_KEEP") == NULL) {
        char cmd[300];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", gt_root);
        if (system(cmd) != 0)
            fprintf(stderr, "cannot remove %s\n", gt_root);
    }
}

static const char *gt_tmpdir(void)
{
    if (!gt_root[0]) {
        snprintf(gt_root, sizeof gt_root, "%s/mcsec-gm-test.XXXXXX",
                 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
        if (mkdtemp(gt_root) == NULL)
            exit(2);
        atexit(gt_cleanup);
    }
    return gt_root;
}

static double gt_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void gt_sleep_ms(unsigned ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0)
        ;
}

static uint64_t gt_ntp64(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return ((uint64_t)ts.tv_sec + GT_NTP_UNIX) << 32 |
           (((uint64_t)ts.tv_nsec << 32) / 1000000000u);
}

/* --- A throw-away KMS ---------------------------------------------------------------------- */

typedef struct {
    uint8_t z[MCSEC_SAKKE_SCALAR_LEN], ksak[MCSEC_ECCSI_SCALAR_LEN];
    mcsec_kms_init_t init;
    uint64_t period_no; /* now */
} gt_kms_t;

static void gt_kms_new(gt_kms_t *k)
{
    memset(k, 0, sizeof *k);
    if (mcsec_init() != MCSEC_OK)
        exit(2);
    int64_t now = (int64_t)time(NULL);
    if (mcsec_key_period_no((uint64_t)now + GT_NTP_UNIX, GT_PERIOD, 0, &k->period_no) != MCSEC_OK)
        exit(2);
    snprintf(k->init.kms_uri, sizeof k->init.kms_uri, "%s", GT_KMS_URI);
    snprintf(k->init.cert_uri, sizeof k->init.cert_uri, "cert1.%s", GT_KMS_URI);
    snprintf(k->init.issuer, sizeof k->init.issuer, "www.%s", GT_KMS_URI);
    k->init.valid_from = now - 86400;
    k->init.valid_to = now + 365 * 86400;
    k->init.user_id_format = 2;
    k->init.key_period = GT_PERIOD;
    k->init.parameter_set = 1;
    if (mcsec_sakke_kms_generate(k->z, k->init.Z) != MCSEC_OK ||
        mcsec_eccsi_kms_generate(k->ksak, k->init.kpak) != MCSEC_OK)
        exit(2);
}

/* Key sets of uri for the current and the next key period. */
static void gt_issue(const gt_kms_t *k, const char *uri, mcsec_kms_keyset_t sets[2])
{
    memset(sets, 0, 2 * sizeof *sets);
    for (int i = 0; i < 2; i++) {
        mcsec_kms_keyset_t *s = &sets[i];
        snprintf(s->kms_uri, sizeof s->kms_uri, "%s", k->init.kms_uri);
        snprintf(s->cert_uri, sizeof s->cert_uri, "%s", k->init.cert_uri);
        snprintf(s->issuer, sizeof s->issuer, "%s", k->init.issuer);
        snprintf(s->user_uri, sizeof s->user_uri, "%s", uri);
        s->key_period_no = k->period_no + (uint64_t)i;
        s->valid_from = (int64_t)(s->key_period_no * GT_PERIOD) - (int64_t)GT_NTP_UNIX;
        s->valid_to = s->valid_from + GT_PERIOD;
        if (mcsec_uid_format2(uri, GT_KMS_URI, GT_PERIOD, 0, s->key_period_no, s->uid) !=
                MCSEC_OK ||
            mcsec_sakke_issue_rsk(k->z, s->uid, sizeof s->uid, s->rsk) != MCSEC_OK ||
            mcsec_eccsi_issue(k->ksak, k->init.kpak, s->uid, sizeof s->uid, s->ssk, s->pvt) !=
                MCSEC_OK)
            exit(2);
    }
}

/* --- Group Managers ------------------------------------------------------------------------ */

static mcsec_groupmgr_t *gt_gm_create(const char *name, char *dir, size_t cap)
{
    snprintf(dir, cap, "%s/%s", gt_tmpdir(), name);
    mcsec_groupmgr_config_t cfg = {.dir = dir, .passphrase = GT_PASS,
                                   .passphrase_len = strlen(GT_PASS), .kdf_log2n = 10,
                                   .kdf_r = 8, .kdf_p = 1};
    mcsec_groupmgr_t *gm = NULL;
    mcsec_status_t rc = mcsec_groupmgr_create(&gm, &cfg);
    if (rc != MCSEC_OK)
        gt_die("create", rc);
    return gm;
}

static mcsec_groupmgr_t *gt_gm_open(const char *dir)
{
    mcsec_groupmgr_t *gm = NULL;
    mcsec_status_t rc = mcsec_groupmgr_open(&gm, dir, GT_PASS, strlen(GT_PASS));
    if (rc != MCSEC_OK)
        gt_die("open", rc);
    return gm;
}

/* A group with the identity's keys from k. */
static void gt_group(mcsec_groupmgr_t *gm, const gt_kms_t *k, const char *group, uint64_t lifetime)
{
    mcsec_kms_keyset_t sets[2];
    mcsec_status_t rc = mcsec_groupmgr_group_add(gm, group, lifetime, 1);
    if (rc != MCSEC_OK)
        gt_die("group add", rc);
    gt_issue(k, group, sets);
    if ((rc = mcsec_groupmgr_group_set_keys(gm, group, &k->init, sets, 2)) != MCSEC_OK)
        gt_die("group keys", rc);
    mcsec_kms_keyset_wipe(sets, 2);
}

static void gt_members(mcsec_groupmgr_t *gm, const char *group, const char *const *m, size_t n)
{
    mcsec_status_t rc = mcsec_groupmgr_member_add(gm, group, m, n, NULL);
    if (rc != MCSEC_OK)
        gt_die("member add", rc);
}

static uint32_t gt_rekey(mcsec_groupmgr_t *gm, const char *group)
{
    mcsec_groupmgr_rekey_result_t r;
    mcsec_status_t rc = mcsec_groupmgr_rekey(gm, group, NULL, 0, &r);
    if (rc != MCSEC_OK)
        gt_die("rekey", rc);
    return r.gmk_id;
}

/* Delivery state of member's message of a GMK (-1: none). */
typedef struct {
    const char *member;
    int state;
    unsigned attempts;
    size_t count;
} gt_state_t;

static int gt_state_cb(void *user, const mcsec_groupmgr_delivery_t *d)
{
    gt_state_t *s = user;
    s->count++;
    if (strcmp(d->member_uri, s->member) == 0) {
        s->state = (int)d->state;
        s->attempts = d->attempts;
    }
    return 0;
}

static int gt_delivery_state(mcsec_groupmgr_t *gm, const char *group, uint32_t gmk_id,
                             const char *member, unsigned *attempts, size_t *count)
{
    gt_state_t s = {member, -1, 0, 0};
    if (mcsec_groupmgr_list_deliveries(gm, group, gmk_id, gt_state_cb, &s) != MCSEC_OK)
        return -2;
    if (attempts != NULL)
        *attempts = s.attempts;
    if (count != NULL)
        *count = s.count;
    return s.state;
}

/* Waits (up to timeout_ms) until member's message of a GMK is in state want. */
static int gt_wait_state(mcsec_groupmgr_t *gm, const char *group, uint32_t gmk_id,
                         const char *member, int want, unsigned timeout_ms)
{
    double end = gt_now() + timeout_ms / 1000.0;
    int st;
    while ((st = gt_delivery_state(gm, group, gmk_id, member, NULL, NULL)) != want &&
           gt_now() < end)
        gt_sleep_ms(20);
    return st;
}

/* The GMK history of a group. */
typedef struct {
    mcsec_groupmgr_gmk_info_t g[64];
    size_t n;
} gt_gmks_t;

static int gt_gmk_cb(void *user, const mcsec_groupmgr_gmk_info_t *g)
{
    gt_gmks_t *l = user;
    if (l->n < 64)
        l->g[l->n++] = *g;
    return 0;
}

static void gt_gmks(mcsec_groupmgr_t *gm, const char *group, gt_gmks_t *out)
{
    memset(out, 0, sizeof *out);
    mcsec_status_t rc = mcsec_groupmgr_list_gmks(gm, group, gt_gmk_cb, out);
    if (rc != MCSEC_OK)
        gt_die("list gmks", rc);
}

/* --- Handsets ------------------------------------------------------------------------------ */

typedef struct {
    char uri[256];
    char dir[512];
    mcsec_keystore_t *ks;
    mcsec_kms_keyset_t sets[2];
} gt_handset_t;

static void gt_handset(gt_handset_t *h, const gt_kms_t *k, const char *uri)
{
    static int seq;
    mcsec_kms_params_t p;
    mcsec_keyset_t ks;
    memset(h, 0, sizeof *h);
    snprintf(h->uri, sizeof h->uri, "%s", uri);
    snprintf(h->dir, sizeof h->dir, "%s/handset-%d", gt_tmpdir(), seq++);
    if (mcsec_keystore_create_with_cost(h->dir, GT_PASS, strlen(GT_PASS), 10, 8, 1) != MCSEC_OK ||
        mcsec_keystore_open(&h->ks, h->dir, GT_PASS, strlen(GT_PASS)) != MCSEC_OK)
        exit(2);
    memset(&p, 0, sizeof p);
    snprintf(p.kms_uri, sizeof p.kms_uri, "%s", k->init.kms_uri);
    p.user_id_format = 2;
    p.key_period = GT_PERIOD;
    memcpy(p.Z, k->init.Z, sizeof p.Z);
    memcpy(p.kpak, k->init.kpak, sizeof p.kpak);
    if (mcsec_keystore_put_kms(h->ks, &p) != MCSEC_OK)
        exit(2);
    gt_issue(k, uri, h->sets);
    for (int i = 0; i < 2; i++) {
        memset(&ks, 0, sizeof ks);
        snprintf(ks.user_uri, sizeof ks.user_uri, "%s", uri);
        memcpy(ks.uid, h->sets[i].uid, sizeof ks.uid);
        ks.period_no = h->sets[i].key_period_no;
        memcpy(ks.rsk, h->sets[i].rsk, sizeof ks.rsk);
        memcpy(ks.ssk, h->sets[i].ssk, sizeof ks.ssk);
        memcpy(ks.pvt, h->sets[i].pvt, sizeof ks.pvt);
        if (mcsec_keystore_put_keyset(h->ks, &ks) != MCSEC_OK)
            exit(2);
    }
    mcsec_memzero(&ks, sizeof ks);
}

static void gt_handset_close(gt_handset_t *h)
{
    mcsec_keystore_close(h->ks);
    mcsec_kms_keyset_wipe(h->sets, 2);
    h->ks = NULL;
}

/* The handset's current GMK-ID for group (0 if none). */
static uint32_t gt_current(const gt_handset_t *h, const char *group)
{
    mcsec_gmk_record_t r;
    uint32_t id = 0;
    if (mcsec_keystore_current_gmk(h->ks, group, gt_ntp64(), &r) == MCSEC_OK)
        id = r.gmk_id;
    mcsec_memzero(&r, sizeof r);
    return id;
}

/* --- The daemon ---------------------------------------------------------------------------- */

typedef struct {
    pid_t pid;
    char endpoint[256];
    char key[41];
    char errfile[512];
} gt_server_t;

/* Spawns `mcsec-groupmgr serve --dir dir --bind BIND [extra...]`, stderr appended to
 * s->errfile (a new file unless s->errfile is set), and waits for its "serving ENDPOINT" line.
 * 0 on success. */
static int gt_spawn_bind(gt_server_t *s, const char *dir, const char *bind,
                         const char *const *extra)
{
    static int seq;
    int pfd[2];
    char pub[1024];
    if (s->errfile[0] == 0)
        snprintf(s->errfile, sizeof s->errfile, "%s/serve-%d.err", gt_tmpdir(), seq++);
    snprintf(pub, sizeof pub, "%s/groupmgr.pub", dir);
    FILE *f = fopen(pub, "r");
    if (f == NULL || fscanf(f, "%40s", s->key) != 1) {
        if (f != NULL)
            fclose(f);
        return -1;
    }
    fclose(f);
    if (pipe(pfd) != 0)
        return -1;
    const char *argv[24] = {MCSEC_GROUPMGR_BIN, "serve", "--dir", dir, "--bind", bind};
    int n = 6;
    for (; extra != NULL && *extra != NULL && n < 22; extra++)
        argv[n++] = *extra;
    argv[n] = NULL;
    s->pid = fork();
    if (s->pid < 0)
        return -1;
    if (s->pid == 0) {
        int e = open(s->errfile, O_WRONLY | O_CREAT | O_APPEND, 0600);
        dup2(pfd[1], 1);
        if (e >= 0)
            dup2(e, 2);
        close(pfd[0]);
        close(pfd[1]);
        setenv("MCSEC_PASSPHRASE", GT_PASS, 1);
        execv(MCSEC_GROUPMGR_BIN, (char *const *)argv);
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
        fprintf(stderr, "mcsec-groupmgr serve did not start (got '%s')\n", line);
        kill(s->pid, SIGKILL);
        waitpid(s->pid, NULL, 0);
        return -1;
    }
    snprintf(s->endpoint, sizeof s->endpoint, "%s", line + 8);
    return 0;
}

/* On a free loopback port. */
static int gt_spawn(gt_server_t *s, const char *dir, const char *const *extra)
{
    memset(s, 0, sizeof *s);
    return gt_spawn_bind(s, dir, "tcp://127.0.0.1:*", extra);
}

/* SIGTERM and wait: the exit status (or -1). */
static int gt_stop(gt_server_t *s)
{
    int st = 0;
    if (s->pid <= 0)
        return -1;
    kill(s->pid, SIGTERM);
    if (waitpid(s->pid, &st, 0) != s->pid)
        return -1;
    s->pid = 0;
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void gt_kill9(pid_t pid)
{
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
}

static int gt_alive(const gt_server_t *s)
{
    return s->pid > 0 && waitpid(s->pid, NULL, WNOHANG) == 0;
}

/* 1 if the daemon's stderr holds text. */
static int gt_log_has(const gt_server_t *s, const char *text)
{
    FILE *f = fopen(s->errfile, "r");
    char line[2048];
    int found = 0;
    if (f == NULL)
        return 0;
    while (!found && fgets(line, sizeof line, f) != NULL)
        found = strstr(line, text) != NULL;
    fclose(f);
    return found;
}

/* --- Handset clients ----------------------------------------------------------------------- */

typedef struct {
    mcsec_gmclient_event_t ev[256];
    size_t n;
} gt_events_t;

static void gt_event_cb(void *user, const mcsec_gmclient_event_t *ev)
{
    gt_events_t *e = user;
    if (e->n < 256)
        e->ev[e->n++] = *ev;
}

static mcsec_gmclient_t *gt_client(gt_handset_t *h, const gt_server_t *s,
                                   const char *const *groups, size_t n)
{
    mcsec_gmclient_config_t cfg = {.endpoint = s->endpoint, .server_key = s->key,
                                   .groups = groups, .n_groups = n};
    mcsec_gmclient_t *c = NULL;
    if (mcsec_gmclient_open(&c, h->ks, &cfg) != MCSEC_OK) {
        fprintf(stderr, "setup: client: %s\n", mcsec_gmclient_last_error(NULL));
        exit(2);
    }
    return c;
}

/* Polls until the client is idle (or refused, or timeout_ms passed). Returns the poll status;
 * MCSEC_ERR_IO on timeout. */
static mcsec_status_t gt_until_idle(mcsec_gmclient_t *c, gt_events_t *ev, unsigned timeout_ms)
{
    double end = gt_now() + timeout_ms / 1000.0;
    while (gt_now() < end) {
        mcsec_status_t rc = mcsec_gmclient_poll(c, 100, gt_event_cb, ev);
        if (rc != MCSEC_OK)
            return rc;
        if (mcsec_gmclient_idle(c))
            return MCSEC_OK;
    }
    return MCSEC_ERR_IO;
}

/* Polls until an event of kind arrives for gmk_id (0: any). 1 if it did. */
static int gt_wait_event(mcsec_gmclient_t *c, gt_events_t *ev, int kind, uint32_t gmk_id,
                         unsigned timeout_ms)
{
    double end = gt_now() + timeout_ms / 1000.0;
    size_t seen = 0;
    while (gt_now() < end) {
        for (; seen < ev->n; seen++)
            if ((int)ev->ev[seen].kind == kind && (gmk_id == 0 || ev->ev[seen].gmk_id == gmk_id))
                return 1;
        if (mcsec_gmclient_poll(c, 100, gt_event_cb, ev) != MCSEC_OK)
            return 0;
    }
    for (; seen < ev->n; seen++)
        if ((int)ev->ev[seen].kind == kind && (gmk_id == 0 || ev->ev[seen].gmk_id == gmk_id))
            return 1;
    return 0;
}

/* Connects, registers, takes the backlog, disconnects. */
static mcsec_status_t gt_sync(gt_handset_t *h, const gt_server_t *s, const char *const *groups,
                              size_t n, gt_events_t *ev)
{
    mcsec_gmclient_t *c = gt_client(h, s, groups, n);
    memset(ev, 0, sizeof *ev);
    mcsec_status_t rc = gt_until_idle(c, ev, 30000);
    mcsec_gmclient_close(c);
    return rc;
}

/* Counts GMK events for gmk_id that stored it as new. */
static size_t gt_count_new(const gt_events_t *ev, uint32_t gmk_id)
{
    size_t n = 0;
    for (size_t i = 0; i < ev->n; i++)
        if (ev->ev[i].kind == MCSEC_GMCLIENT_GMK && ev->ev[i].gmk_id == gmk_id && ev->ev[i].is_new)
            n++;
    return n;
}

/* --- Raw sockets ----------------------------------------------------------------------------- */

typedef struct {
    void *ctx, *sock;
    char pub[41], sec[41];
    uint8_t pub_raw[32];
} gt_raw_t;

static void gt_raw_open(gt_raw_t *r, const gt_server_t *s)
{
    int linger = 0;
    memset(r, 0, sizeof *r);
    if ((r->ctx = zmq_ctx_new()) == NULL || zmq_curve_keypair(r->pub, r->sec) != 0 ||
        zmq_z85_decode(r->pub_raw, r->pub) == NULL ||
        (r->sock = zmq_socket(r->ctx, ZMQ_DEALER)) == NULL ||
        zmq_setsockopt(r->sock, ZMQ_LINGER, &linger, sizeof linger) != 0 ||
        zmq_setsockopt(r->sock, ZMQ_CURVE_SERVERKEY, s->key, 40) != 0 ||
        zmq_setsockopt(r->sock, ZMQ_CURVE_PUBLICKEY, r->pub, 40) != 0 ||
        zmq_setsockopt(r->sock, ZMQ_CURVE_SECRETKEY, r->sec, 40) != 0 ||
        zmq_connect(r->sock, s->endpoint) != 0)
        exit(2);
}

static void gt_raw_close(gt_raw_t *r)
{
    if (r->sock != NULL)
        zmq_close(r->sock);
    if (r->ctx != NULL)
        zmq_ctx_term(r->ctx);
    memset(r, 0, sizeof *r);
}

static void gt_raw_send_bytes(gt_raw_t *r, const void *p, size_t n)
{
    if (zmq_send(r->sock, p, n, 0) < 0)
        exit(2);
}

static void gt_raw_send(gt_raw_t *r, Mcsec__Groupmgr__GroupMgrMessage *m)
{
    size_t n = mcsec__groupmgr__group_mgr_message__get_packed_size(m);
    uint8_t *buf = malloc(n ? n : 1);
    if (buf == NULL)
        exit(2);
    mcsec__groupmgr__group_mgr_message__pack(m, buf);
    gt_raw_send_bytes(r, buf, n);
    free(buf);
}

/* The next envelope (NULL after timeout_ms). Free with ..._free_unpacked. */
static Mcsec__Groupmgr__GroupMgrMessage *gt_raw_recv(gt_raw_t *r, unsigned timeout_ms)
{
    zmq_pollitem_t it = {r->sock, 0, ZMQ_POLLIN, 0};
    if (zmq_poll(&it, 1, (long)timeout_ms) <= 0)
        return NULL;
    zmq_msg_t m;
    zmq_msg_init(&m);
    if (zmq_msg_recv(&m, r->sock, 0) < 0) {
        zmq_msg_close(&m);
        return NULL;
    }
    Mcsec__Groupmgr__GroupMgrMessage *e =
        mcsec__groupmgr__group_mgr_message__unpack(NULL, zmq_msg_size(&m), zmq_msg_data(&m));
    zmq_msg_close(&m);
    return e;
}

/* Skips deliveries until a message of body kind arrives; its status (or -1 if none). The
 * message text is copied to why. */
static int gt_raw_expect(gt_raw_t *r, int body, char *why, size_t cap, unsigned timeout_ms)
{
    double end = gt_now() + timeout_ms / 1000.0;
    while (gt_now() < end) {
        Mcsec__Groupmgr__GroupMgrMessage *e = gt_raw_recv(r, 200);
        if (e == NULL)
            continue;
        int st = -1;
        if ((int)e->body_case == body) {
            if (body == MCSEC__GROUPMGR__GROUP_MGR_MESSAGE__BODY_STATUS) {
                st = e->status->status;
                snprintf(why, cap, "%s", e->status->message);
            } else if (body == MCSEC__GROUPMGR__GROUP_MGR_MESSAGE__BODY_REGISTER_RESPONSE) {
                st = e->register_response->status;
                snprintf(why, cap, "%s", e->register_response->message);
            } else {
                st = 0;
            }
        }
        mcsec__groupmgr__group_mgr_message__free_unpacked(e, NULL);
        if (st >= 0)
            return st;
    }
    if (cap > 0)
        why[0] = 0;
    return -1;
}

/* Sends a Register for uri at time t carrying the signature sig as it is. */
static void gt_raw_register_sig(gt_raw_t *r, const char *uri, const char *const *groups, size_t n,
                                uint64_t t, const uint8_t sig[MCSEC_ECCSI_SIG_LEN])
{
    Mcsec__Groupmgr__Register reg = MCSEC__GROUPMGR__REGISTER__INIT;
    Mcsec__Groupmgr__GroupMgrMessage m = MCSEC__GROUPMGR__GROUP_MGR_MESSAGE__INIT;
    reg.member_uri = (char *)uri;
    reg.group_uris = (char **)groups;
    reg.n_group_uris = n;
    reg.time = t;
    reg.signature.data = (uint8_t *)sig;
    reg.signature.len = MCSEC_ECCSI_SIG_LEN;
    m.version = 1;
    m.body_case = MCSEC__GROUPMGR__GROUP_MGR_MESSAGE__BODY_REGISTER;
    m.register_ = &reg;
    gt_raw_send(r, &m);
}

/* Sends a Register for uri signed with set (a key set of uri, or of someone else), at time t,
 * over the CURVE key signed_key (the connection's own if NULL). */
static void gt_raw_register(gt_raw_t *r, const mcsec_kms_keyset_t *set, const char *uri,
                            const char *const *groups, size_t n, uint64_t t,
                            const uint8_t *signed_key, const gt_kms_t *k)
{
    uint8_t octets[8192], sig[MCSEC_ECCSI_SIG_LEN];
    size_t len = 0;
    mcsec_eccsi_signer_t *signer = NULL;
    if (mcsec_gm_register_octets(uri, groups, n, t, signed_key ? signed_key : r->pub_raw, octets,
                                 sizeof octets, &len) != MCSEC_OK ||
        mcsec_eccsi_signer_new(&signer, k->init.kpak, set->uid, sizeof set->uid, set->ssk,
                               set->pvt) != MCSEC_OK ||
        mcsec_eccsi_sign(signer, octets, len, sig) != MCSEC_OK)
        exit(2);
    mcsec_eccsi_signer_free(signer);
    gt_raw_register_sig(r, uri, groups, n, t, sig);
}

static void gt_raw_ack(gt_raw_t *r, const char *group, uint32_t gmk_id, const uint8_t *proof,
                       size_t proof_len, const char *member)
{
    Mcsec__Groupmgr__GmkAck a = MCSEC__GROUPMGR__GMK_ACK__INIT;
    Mcsec__Groupmgr__GroupMgrMessage m = MCSEC__GROUPMGR__GROUP_MGR_MESSAGE__INIT;
    a.group_uri = (char *)group;
    a.gmk_id = gmk_id;
    a.proof.data = (uint8_t *)proof;
    a.proof.len = proof_len;
    a.member_uri = (char *)(member != NULL ? member : "");
    m.version = 1;
    m.body_case = MCSEC__GROUPMGR__GROUP_MGR_MESSAGE__BODY_ACK;
    m.ack = &a;
    gt_raw_send(r, &m);
}

#endif
