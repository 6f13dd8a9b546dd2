/* Shared helpers of the group call tests (ctest label call).
 *
 * Keys: a throw-away KMS made with the mcsec_kms library (cheap scrypt cost) in a temporary
 * directory; each handset takes the KMS documents (KmsInit, KmsKeyProv) the way a handset
 * imports them (parse, check every key set against the certificate and the identity, store).
 * A group identity (its own key sets from the same KMS) signs GMK distribution messages; each
 * member opens its message with a MIKEY receiver of its own and stores the GMK with
 * mcsec_handset_store_gmk.
 *
 * Transport: real UDP on loopback (mcsec_net_*), a random 239.255.x.y group and a random port in
 * 20000-60000 per run, so that parallel runs do not hear each other.
 *
 * Members in threads: a ct_peer_t owns one mcsec_call_t and one mcsec_net_t; its thread receives
 * and handles every datagram, records events, media and refusals, and runs commands (talk,
 * more media, repeat the announcement, RTCP) posted by the main thread. Include after test.h. */
#ifndef MCSEC_CALL_TEST_H
#define MCSEC_CALL_TEST_H

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "call.pb-c.h"
#include "mcsec/client.h"
#include "mcsec/kms.h"
#include "mcsec/kmsxml.h"
#include "mcsec/media.h"
#include "mcsec/profile.h"
#include "mcsec/secmem.h"

/* Each test uses some of these helpers. */
#pragma GCC diagnostic ignored "-Wunused-function"

#define CT_PASS "correct horse battery staple"
#define CT_KMS_URI "kms.example.org"
#define CT_NTP_UNIX 2208988800u
#define CT_FRAME MCSEC_AUDIO_FRAME /* PCMU octets per packet (20 ms) */
#define CT_WAIT_MS 20000u          /* the longest a test waits for datagrams (sanitized, 2 cores) */

static void ct_die(const char *what, mcsec_status_t rc) {
    fprintf(stderr, "setup: %s: %s\n", what, mcsec_strerror(rc));
    exit(2);
}

/* --- Time ------------------------------------------------------------------------------------ */

static double ct_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void ct_sleep_us(unsigned us) {
    struct timespec ts = {us / 1000000u, (long)(us % 1000000u) * 1000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* NTP seconds now (the clock of mcsec_handset_set_clock). */
static uint64_t ct_ntp_seconds(void) {
    return (uint64_t)time(NULL) + CT_NTP_UNIX;
}

/* A 64-bit NTP timestamp `offset` seconds from now (with the fraction of now). */
static uint64_t ct_ntp64(int64_t offset) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)((int64_t)ts.tv_sec + CT_NTP_UNIX + offset) << 32 |
           (((uint64_t)ts.tv_nsec << 32) / 1000000000u);
}

/* --- Temporary directory ------------------------------------------------------------------- */

static char ct_root[256];

static void ct_cleanup(void) {
    if (ct_root[0] && getenv("CT_KEEP") == NULL) {
        char cmd[300];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", ct_root);
        if (system(cmd) != 0) fprintf(stderr, "cannot remove %s\n", ct_root);
    }
}

static const char *ct_tmpdir(void) {
    if (!ct_root[0]) {
        snprintf(ct_root, sizeof ct_root, "%s/mcsec-call-test.XXXXXX",
                 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
        if (mkdtemp(ct_root) == NULL) {
            fprintf(stderr, "setup: cannot create a temporary directory under %s\n", ct_root);
            exit(2);
        }
        atexit(ct_cleanup);
    }
    return ct_root;
}

static uint32_t ct_random32(void) {
    uint32_t v = 0;
    if (mcsec_random_bytes((uint8_t *)&v, sizeof v) != MCSEC_OK) exit(2);
    return v;
}

/* --- A throw-away KMS ---------------------------------------------------------------------- */

typedef struct {
    mcsec_kms_t *kms;
    char dir[512];
    mcsec_kms_init_t init;     /* the KMS certificate, as handsets parse it */
    mcsec_kms_params_t params; /* as a keystore holds it */
} ct_kms_t;

static void ct_kms_new(ct_kms_t *k) {
    static char xml[MCSEC_KMS_DOC_MAX];
    mcsec_kms_response_hdr_t hdr;
    size_t len = 0;
    mcsec_status_t rc;
    memset(k, 0, sizeof *k);
    if ((rc = mcsec_init()) != MCSEC_OK) ct_die("init", rc);
    snprintf(k->dir, sizeof k->dir, "%s/kms", ct_tmpdir());
    mcsec_kms_config_t cfg = {.dir = k->dir,
                              .kms_uri = CT_KMS_URI,
                              .key_period = MCSEC_KMS_KEY_PERIOD_DEFAULT,
                              .passphrase = CT_PASS,
                              .passphrase_len = strlen(CT_PASS),
                              .kdf_log2n = 10,
                              .kdf_r = 8,
                              .kdf_p = 1};
    if ((rc = mcsec_kms_create(&k->kms, &cfg)) != MCSEC_OK) ct_die(mcsec_kms_last_error(), rc);
    if ((rc = mcsec_kms_write_init(k->kms, NULL, xml, sizeof xml, &len)) != MCSEC_OK ||
        (rc = mcsec_kmsxml_parse_init(xml, len, &hdr, &k->init)) != MCSEC_OK)
        ct_die("KmsInit", rc);
    snprintf(k->params.kms_uri, sizeof k->params.kms_uri, "%s", k->init.kms_uri);
    k->params.user_id_format = k->init.user_id_format;
    k->params.key_period = k->init.key_period;
    k->params.key_period_offset = k->init.key_offset;
    memcpy(k->params.Z, k->init.Z, sizeof k->params.Z);
    memcpy(k->params.kpak, k->init.kpak, sizeof k->params.kpak);
}

static void ct_kms_free(ct_kms_t *k) {
    mcsec_kms_close(k->kms);
    k->kms = NULL;
}

/* The key sets of uri (this key period and the next), issued as a KmsKeyProv document, parsed
 * and checked as a handset does. Returns how many (2). Wipe sets after use. */
static size_t ct_keysets(const ct_kms_t *k, const char *uri, mcsec_kms_keyset_t sets[2]) {
    static char xml[MCSEC_KMS_DOC_MAX];
    mcsec_kms_response_hdr_t hdr;
    size_t len = 0, n = 0;
    mcsec_status_t rc;
    if ((rc = mcsec_kms_write_keyprov(k->kms, uri, 0, xml, sizeof xml, &len)) != MCSEC_OK)
        ct_die(mcsec_kms_last_error(), rc);
    rc = mcsec_kmsxml_parse_keyprov(xml, len, &hdr, sets, 2, &n);
    mcsec_memzero(xml, sizeof xml);
    if (rc != MCSEC_OK || n != 2) ct_die("KmsKeyProv", rc);
    for (size_t i = 0; i < n; i++)
        if ((rc = mcsec_kmsxml_check_keyset(&k->init, &sets[i], uri)) != MCSEC_OK)
            ct_die("key set check", rc);
    return n;
}

/* --- Handsets ------------------------------------------------------------------------------ */

typedef struct {
    char uri[256];
    char dir[512];
    mcsec_keystore_t *ks;
    mcsec_handset_t *h;
} ct_member_t;

static void ct_member_new(ct_member_t *m, const ct_kms_t *k, const char *uri) {
    static int seq;
    mcsec_kms_keyset_t sets[2];
    mcsec_keyset_t rec;
    mcsec_status_t rc;
    memset(m, 0, sizeof *m);
    snprintf(m->uri, sizeof m->uri, "%s", uri);
    snprintf(m->dir, sizeof m->dir, "%s/handset-%d", ct_tmpdir(), seq++);
    if ((rc = mcsec_keystore_create_with_cost(m->dir, CT_PASS, strlen(CT_PASS), 10, 8, 1)) !=
            MCSEC_OK ||
        (rc = mcsec_keystore_open(&m->ks, m->dir, CT_PASS, strlen(CT_PASS))) != MCSEC_OK ||
        (rc = mcsec_keystore_put_kms(m->ks, &k->params)) != MCSEC_OK)
        ct_die(mcsec_keystore_last_error(), rc);
    size_t n = ct_keysets(k, uri, sets);
    for (size_t i = 0; i < n; i++) {
        memset(&rec, 0, sizeof rec);
        snprintf(rec.user_uri, sizeof rec.user_uri, "%s", sets[i].user_uri);
        memcpy(rec.uid, sets[i].uid, sizeof rec.uid);
        rec.period_no = sets[i].key_period_no;
        memcpy(rec.rsk, sets[i].rsk, sizeof rec.rsk);
        memcpy(rec.ssk, sets[i].ssk, sizeof rec.ssk);
        memcpy(rec.pvt, sets[i].pvt, sizeof rec.pvt);
        rc = mcsec_keystore_put_keyset(m->ks, &rec);
        mcsec_memzero(&rec, sizeof rec);
        if (rc != MCSEC_OK) ct_die(mcsec_keystore_last_error(), rc);
    }
    mcsec_kms_keyset_wipe(sets, 2);
    if ((rc = mcsec_handset_open(&m->h, m->ks)) != MCSEC_OK) ct_die("handset open", rc);
    if (strcmp(mcsec_handset_uri(m->h), uri) != 0) {
        fprintf(stderr, "setup: handset of %s says it is %s\n", uri, mcsec_handset_uri(m->h));
        exit(2);
    }
}

static void ct_member_free(ct_member_t *m) {
    mcsec_handset_close(m->h);
    mcsec_keystore_close(m->ks);
    m->h = NULL;
    m->ks = NULL;
}

/* --- Group identity and GMKs --------------------------------------------------------------- */

typedef struct {
    char uri[256];
    const ct_kms_t *k;
    mcsec_eccsi_signer_t *signer; /* the group identity's key for this key period */
    mcsec_sakke_sender_t *sakke;
} ct_group_t;

static void ct_group_new(ct_group_t *g, const ct_kms_t *k, const char *uri) {
    mcsec_kms_keyset_t sets[2];
    uint64_t period = 0;
    mcsec_status_t rc;
    memset(g, 0, sizeof *g);
    snprintf(g->uri, sizeof g->uri, "%s", uri);
    g->k = k;
    ct_keysets(k, uri, sets);
    if ((rc = mcsec_key_period_no(ct_ntp_seconds(), k->init.key_period, k->init.key_offset,
                                  &period)) != MCSEC_OK)
        ct_die("key period", rc);
    for (int i = 0; i < 2; i++)
        if (sets[i].key_period_no == period &&
            (rc = mcsec_eccsi_signer_new(&g->signer, k->init.kpak, sets[i].uid, sizeof sets[i].uid,
                                         sets[i].ssk, sets[i].pvt)) != MCSEC_OK)
            ct_die("group signer", rc);
    mcsec_kms_keyset_wipe(sets, 2);
    if (g->signer == NULL) ct_die("group signer: no key set for now", MCSEC_ERR_KEY_PERIOD);
    if ((rc = mcsec_sakke_sender_new(&g->sakke, k->init.Z)) != MCSEC_OK) ct_die("sakke sender", rc);
}

static void ct_group_free(ct_group_t *g) {
    mcsec_eccsi_signer_free(g->signer);
    mcsec_sakke_sender_free(g->sakke);
    g->signer = NULL;
    g->sakke = NULL;
}

/* A fresh GMK and GMK-ID (purpose tag GMK). */
static uint32_t ct_gmk_new(uint8_t gmk[MCSEC_PROFILE_KEY_LEN]) {
    if (mcsec_random_bytes(gmk, MCSEC_PROFILE_KEY_LEN) != MCSEC_OK) exit(2);
    uint32_t id;
    do
        id = ct_random32() & 0x0fffffffu;
    while (id == 0);
    return id;
}

/* The group identity's GMK distribution message to member_uri, at now, with key parameters
 * naming the group and the given expiry (64-bit NTP; 0: never). */
static size_t ct_gmk_message(const ct_group_t *g, const char *member_uri,
                             const uint8_t gmk[MCSEC_PROFILE_KEY_LEN], uint32_t gmk_id,
                             uint64_t expiry, uint8_t *out, size_t cap) {
    mcsec_key_params_t kp;
    size_t len = 0;
    memset(&kp, 0, sizeof kp);
    kp.key_type = MCSEC_PURPOSE_GMK;
    kp.expiry = expiry;
    snprintf(kp.group_id, sizeof kp.group_id, "%s", g->uri);
    mcsec_gmk_sender_t tx = {.initiator_uri = g->uri,
                             .kms_uri = g->k->init.kms_uri,
                             .key_period = g->k->init.key_period,
                             .key_period_offset = g->k->init.key_offset,
                             .signer = g->signer,
                             .sakke = g->sakke};
    mcsec_status_t rc =
        mcsec_gmk_build(&tx, member_uri, gmk, gmk_id, &kp, ct_ntp64(0), out, cap, &len);
    if (rc != MCSEC_OK) ct_die("gmk build", rc);
    return len;
}

static mcsec_status_t ct_fetch_keyset(void *user, uint64_t period_no, mcsec_keyset_t *out) {
    return mcsec_keystore_get_keyset(user, period_no, out);
}

/* Delivers a GMK of group g to m: the group identity's I_MESSAGE, opened by a MIKEY receiver
 * of m's and stored with mcsec_handset_store_gmk. */
static void ct_deliver(const ct_group_t *g, ct_member_t *m, const uint8_t gmk[16], uint32_t gmk_id,
                       uint64_t expiry) {
    uint8_t msg[4096];
    mcsec_profile_receiver_t *rx = NULL;
    mcsec_gmk_result_t res;
    int is_new = 0;
    mcsec_status_t rc;
    size_t len = ct_gmk_message(g, m->uri, gmk, gmk_id, expiry, msg, sizeof msg);
    memset(&res, 0, sizeof res);
    if ((rc = mcsec_profile_receiver_new(&rx, &g->k->params, m->uri)) != MCSEC_OK)
        ct_die("receiver", rc);
    mcsec_profile_receiver_set_fetch(rx, ct_fetch_keyset, m->ks);
    if ((rc = mcsec_gmk_open(rx, msg, len, MCSEC_OPEN_EXPECT_GMK, &res)) != MCSEC_OK) {
        fprintf(stderr, "setup: gmk open for %s: %s (%s)\n", m->uri, mcsec_strerror(rc), res.why);
        exit(2);
    }
    if (res.key_id != gmk_id || !res.group_id_bound) ct_die("gmk open result", MCSEC_ERR_INTERNAL);
    rc = mcsec_handset_store_gmk(m->ks, &res, g->uri, &is_new);
    mcsec_gmk_result_wipe(&res);
    mcsec_profile_receiver_free(rx);
    if (rc != MCSEC_OK || !is_new) ct_die("store gmk", rc != MCSEC_OK ? rc : MCSEC_ERR_INTERNAL);
}

/* --- Call datagrams ------------------------------------------------------------------------ */

/* The notification inside a call datagram (NULL if it is none). Free the datagram with
 * mcsec__call__call_datagram__free_unpacked. */
static Mcsec__Call__CallDatagram *ct_unpack(const uint8_t *d, size_t len) {
    Mcsec__Call__CallDatagram *dg = mcsec__call__call_datagram__unpack(NULL, len, d);
    if (dg != NULL && dg->body_case != MCSEC__CALL__CALL_DATAGRAM__BODY_CALL) {
        mcsec__call__call_datagram__free_unpacked(dg, NULL);
        dg = NULL;
    }
    return dg;
}

static size_t ct_pack(const Mcsec__Call__CallDatagram *dg, uint8_t *out, size_t cap) {
    size_t n = mcsec__call__call_datagram__get_packed_size(dg);
    if (n > cap) ct_die("pack", MCSEC_ERR_BAD_LENGTH);
    return mcsec__call__call_datagram__pack(dg, out);
}

static uint32_t ct_be32(const uint8_t *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* --- Media content ------------------------------------------------------------------------- */

static int16_t ct_tone[256 * CT_FRAME];

static void ct_tone_init(void) {
    mcsec_tone(ct_tone, sizeof ct_tone / sizeof ct_tone[0], 440);
}

/* Packet k of talker `tag`: octets 0-1 = k, 2 = tag, the rest G.711 mu-law of a 440 Hz tone
 * continuing from frame to frame. */
static void ct_payload(uint8_t tag, unsigned k, uint8_t out[CT_FRAME]) {
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, ct_tone_init);
    const int16_t *s = ct_tone + (size_t)(k % 256) * CT_FRAME;
    for (size_t i = 0; i < CT_FRAME; i++)
        out[i] = mcsec_ulaw_encode(s[i]);
    out[0] = (uint8_t)(k >> 8);
    out[1] = (uint8_t)k;
    out[2] = tag;
}

/* --- Networks ------------------------------------------------------------------------------ */

typedef struct {
    char group[16]; /* 239.255.x.y */
    uint16_t port;  /* control; media + 2, RTCP + 3 */
} ct_addr_t;

/* A random group and port whose sockets can be opened now (tried up to 20 times). */
static void ct_random_addr(ct_addr_t *a) {
    for (int attempt = 0; attempt < 20; attempt++) {
        uint32_t r = ct_random32();
        snprintf(a->group, sizeof a->group, "239.255.%u.%u", (r >> 8) & 0xff, 1 + (r & 0xff) % 254);
        a->port = (uint16_t)(20000 + (ct_random32() % 40000u));
        mcsec_net_config_t cfg = {.address = a->group, .port = a->port};
        mcsec_net_t *probe = NULL;
        if (mcsec_net_open(&probe, &cfg) == MCSEC_OK) {
            mcsec_net_close(probe);
            return;
        }
    }
    fprintf(stderr, "setup: no free multicast port found: %s\n", mcsec_net_last_error());
    exit(2);
}

static mcsec_net_t *ct_net_multicast(const ct_addr_t *a, const char *group_uri) {
    mcsec_net_config_t cfg = {.address = a->group, .port = a->port, .group_uri = group_uri};
    mcsec_net_t *n = NULL;
    mcsec_status_t rc = mcsec_net_open(&n, &cfg);
    if (rc != MCSEC_OK) {
        fprintf(stderr, "setup: net open %s:%u: %s (%s)\n", a->group, a->port, mcsec_strerror(rc),
                mcsec_net_last_error());
        exit(2);
    }
    return n;
}

static mcsec_call_t *ct_call(ct_member_t *m, const char *group_uri, mcsec_srtp_suite_t suite) {
    mcsec_call_config_t cfg = {.group_uri = group_uri, .suite = suite};
    mcsec_call_t *c = NULL;
    mcsec_status_t rc = mcsec_call_new(&c, m->h, &cfg);
    if (rc != MCSEC_OK) ct_die("call new", rc);
    return c;
}

/* --- Member threads ------------------------------------------------------------------------ */

#define CT_MAX_EV 64
#define CT_MAX_RX 512
#define CT_MAX_REF 512

typedef enum {
    CT_CMD_NONE = 0,
    CT_CMD_TALK,   /* mcsec_call_talk, send the notification, then n packets from k = 0 */
    CT_CMD_MORE,   /* n more packets, continuing k */
    CT_CMD_REPEAT, /* mcsec_call_announcement, sent */
    CT_CMD_RTCP,   /* mcsec_call_send_rtcp, sent */
} ct_cmd_t;

typedef struct {
    mcsec_call_event_t ev;
    int talking; /* mcsec_call_is_talking right after handling */
} ct_ev_t;

typedef struct {
    uint32_t ssrc;
    uint16_t seq;
    uint32_t ts;
    int marker;
    uint8_t pt, tag;
    unsigned k;
    int content_ok; /* the payload is exactly ct_payload(tag, k) */
} ct_rx_t;

typedef struct {
    mcsec_net_channel_t ch;
    mcsec_status_t status;
    uint32_t ssrc; /* as the datagram says */
} ct_ref_t;

typedef struct {
    const char *name;
    ct_member_t *m;
    mcsec_call_t *call;
    mcsec_net_t *net;
    uint8_t tag;
    unsigned pace_us;
    pthread_t thread;
    int running;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    /* command (under mu) */
    ct_cmd_t cmd;
    unsigned cmd_n, cmd_hold;
    unsigned cmd_seq, done_seq;
    mcsec_status_t cmd_rc;
    int stop;
    /* talker side (written by the thread, read by main after a command completes) */
    unsigned next_k;
    uint32_t ssrc;
    uint8_t notification[4096];
    size_t notification_len;
    uint8_t held[MCSEC_RTP_MAX_PACKET + MCSEC_SRTP_MAX_OVERHEAD];
    size_t held_len;
    /* what arrived (under mu) */
    ct_ev_t ev[CT_MAX_EV];
    size_t n_ev;
    ct_rx_t rx[CT_MAX_RX];
    size_t n_rx;
    ct_ref_t ref[CT_MAX_REF];
    size_t n_ref;
    size_t rtcp_ok, handle_errors, net_errors, overflow;
    mcsec_status_t handle_error;
} ct_peer_t;

static ct_peer_t *ct_peer_new(const char *name, ct_member_t *m, mcsec_call_t *call,
                              mcsec_net_t *net, uint8_t tag) {
    ct_peer_t *p = calloc(1, sizeof *p);
    if (p == NULL) exit(2);
    p->name = name;
    p->m = m;
    p->call = call;
    p->net = net;
    p->tag = tag;
    p->pace_us = 2000;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    return p;
}

/* Sends n packets k = next_k.. (the last `hold` built but kept in held instead of sent). */
static mcsec_status_t ct_peer_media(ct_peer_t *p, unsigned n, unsigned hold) {
    uint8_t payload[CT_FRAME], pkt[MCSEC_RTP_MAX_PACKET + MCSEC_SRTP_MAX_OVERHEAD];
    size_t len = 0;
    mcsec_status_t rc;
    for (unsigned i = 0; i < n; i++, p->next_k++) {
        ct_payload(p->tag, p->next_k, payload);
        rc = mcsec_call_send_media(p->call, MCSEC_RTP_PT_PCMU, payload, sizeof payload, CT_FRAME,
                                   p->next_k == 0, pkt, sizeof pkt, &len);
        if (rc != MCSEC_OK) return rc;
        if (len >= 12) p->ssrc = ct_be32(pkt + 8);
        if (i + hold >= n) {
            memcpy(p->held, pkt, len);
            p->held_len = len;
            continue;
        }
        if ((rc = mcsec_net_send(p->net, MCSEC_NET_MEDIA, pkt, len)) != MCSEC_OK) return rc;
        if (p->pace_us) ct_sleep_us(p->pace_us);
    }
    return MCSEC_OK;
}

static mcsec_status_t ct_peer_exec(ct_peer_t *p, ct_cmd_t cmd, unsigned n, unsigned hold) {
    uint8_t out[4096];
    size_t len = 0;
    mcsec_status_t rc = MCSEC_ERR_BAD_INPUT;
    switch (cmd) {
    case CT_CMD_TALK:
        if ((rc = mcsec_call_talk(p->call, out, sizeof out, &len)) != MCSEC_OK) return rc;
        memcpy(p->notification, out, len);
        p->notification_len = len;
        p->next_k = 0;
        if ((rc = mcsec_net_send(p->net, MCSEC_NET_CONTROL, out, len)) != MCSEC_OK) return rc;
        return ct_peer_media(p, n, hold);
    case CT_CMD_MORE:
        return ct_peer_media(p, n, hold);
    case CT_CMD_REPEAT:
        if ((rc = mcsec_call_announcement(p->call, out, sizeof out, &len)) != MCSEC_OK) return rc;
        return mcsec_net_send(p->net, MCSEC_NET_CONTROL, out, len);
    case CT_CMD_RTCP:
        if ((rc = mcsec_call_send_rtcp(p->call, out, sizeof out, &len)) != MCSEC_OK) return rc;
        return mcsec_net_send(p->net, MCSEC_NET_RTCP, out, len);
    default:
        return rc;
    }
}

static void ct_peer_dispatch(ct_peer_t *p, mcsec_net_channel_t ch, uint8_t *buf, size_t len) {
    mcsec_status_t rc;
    if (ch == MCSEC_NET_CONTROL) {
        ct_ev_t e;
        memset(&e, 0, sizeof e);
        rc = mcsec_call_handle(p->call, buf, len, &e.ev);
        e.talking = mcsec_call_is_talking(p->call);
        pthread_mutex_lock(&p->mu);
        if (rc != MCSEC_OK) {
            p->handle_errors++;
            p->handle_error = rc;
        } else if (p->n_ev < CT_MAX_EV) {
            p->ev[p->n_ev++] = e;
        } else {
            p->overflow++;
        }
        pthread_mutex_unlock(&p->mu);
        return;
    }
    if (ch == MCSEC_NET_MEDIA) {
        mcsec_rtp_header_t hdr;
        uint32_t ssrc = len >= 12 ? ct_be32(buf + 8) : 0;
        memset(&hdr, 0, sizeof hdr);
        rc = mcsec_call_receive_media(p->call, buf, len, &hdr);
        pthread_mutex_lock(&p->mu);
        if (rc == MCSEC_OK && p->n_rx < CT_MAX_RX) {
            ct_rx_t *r = &p->rx[p->n_rx++];
            uint8_t want[CT_FRAME];
            r->ssrc = hdr.ssrc;
            r->seq = hdr.seq;
            r->ts = hdr.timestamp;
            r->marker = hdr.marker;
            r->pt = hdr.payload_type;
            if (hdr.payload_len >= 3) {
                r->k = (unsigned)hdr.payload[0] << 8 | hdr.payload[1];
                r->tag = hdr.payload[2];
                ct_payload(r->tag, r->k, want);
                r->content_ok =
                    hdr.payload_len == CT_FRAME && memcmp(hdr.payload, want, CT_FRAME) == 0;
            }
        } else if (rc != MCSEC_OK && p->n_ref < CT_MAX_REF) {
            p->ref[p->n_ref++] = (ct_ref_t){MCSEC_NET_MEDIA, rc, ssrc};
        } else {
            p->overflow++;
        }
        pthread_mutex_unlock(&p->mu);
        return;
    }
    uint32_t ssrc = len >= 8 ? ct_be32(buf + 4) : 0;
    rc = mcsec_call_receive_rtcp(p->call, buf, len);
    pthread_mutex_lock(&p->mu);
    if (rc == MCSEC_OK)
        p->rtcp_ok++;
    else if (p->n_ref < CT_MAX_REF)
        p->ref[p->n_ref++] = (ct_ref_t){MCSEC_NET_RTCP, rc, ssrc};
    else
        p->overflow++;
    pthread_mutex_unlock(&p->mu);
}

static void *ct_peer_main(void *arg) {
    ct_peer_t *p = arg;
    uint8_t *buf = malloc(MCSEC_NET_DGRAM_MAX);
    if (buf == NULL) exit(2);
    for (;;) {
        pthread_mutex_lock(&p->mu);
        ct_cmd_t cmd = p->cmd;
        unsigned n = p->cmd_n, hold = p->cmd_hold;
        int stop = p->stop;
        p->cmd = CT_CMD_NONE;
        pthread_mutex_unlock(&p->mu);
        if (cmd != CT_CMD_NONE) {
            mcsec_status_t rc = ct_peer_exec(p, cmd, n, hold);
            pthread_mutex_lock(&p->mu);
            p->cmd_rc = rc;
            p->done_seq++;
            pthread_cond_broadcast(&p->cv);
            pthread_mutex_unlock(&p->mu);
            continue;
        }
        if (stop) break;
        mcsec_net_channel_t ch = MCSEC_NET_CONTROL;
        size_t len = 0;
        mcsec_status_t rc = mcsec_net_recv(p->net, 10, &ch, buf, MCSEC_NET_DGRAM_MAX, &len);
        if (rc == MCSEC_ERR_EXPIRED) continue;
        if (rc != MCSEC_OK) {
            pthread_mutex_lock(&p->mu);
            p->net_errors++;
            pthread_mutex_unlock(&p->mu);
            continue;
        }
        ct_peer_dispatch(p, ch, buf, len);
    }
    free(buf);
    return NULL;
}

static void ct_peer_start(ct_peer_t *p) {
    p->stop = 0;
    if (pthread_create(&p->thread, NULL, ct_peer_main, p) != 0) exit(2);
    p->running = 1;
}

/* Runs a command in the peer's thread and waits for it: its status. */
static mcsec_status_t ct_peer_cmd(ct_peer_t *p, ct_cmd_t cmd, unsigned n, unsigned hold) {
    struct timespec dl;
    clock_gettime(CLOCK_REALTIME, &dl);
    dl.tv_sec += CT_WAIT_MS / 1000;
    pthread_mutex_lock(&p->mu);
    unsigned want = p->done_seq + 1;
    p->cmd = cmd;
    p->cmd_n = n;
    p->cmd_hold = hold;
    while (p->done_seq < want)
        if (pthread_cond_timedwait(&p->cv, &p->mu, &dl) == ETIMEDOUT) break;
    mcsec_status_t rc = p->done_seq >= want ? p->cmd_rc : MCSEC_ERR_IO;
    pthread_mutex_unlock(&p->mu);
    return rc;
}

static void ct_peer_stop(ct_peer_t *p) {
    if (!p->running) return;
    pthread_mutex_lock(&p->mu);
    p->stop = 1;
    pthread_mutex_unlock(&p->mu);
    pthread_join(p->thread, NULL);
    p->running = 0;
}

static void ct_peer_free(ct_peer_t *p) {
    if (p == NULL) return;
    ct_peer_stop(p);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv);
    free(p);
}

/* Counters, read under the peer's lock. */
static size_t ct_count_rx(ct_peer_t *p, uint32_t ssrc) {
    size_t n = 0;
    pthread_mutex_lock(&p->mu);
    for (size_t i = 0; i < p->n_rx; i++)
        n += p->rx[i].ssrc == ssrc;
    pthread_mutex_unlock(&p->mu);
    return n;
}

static size_t ct_count_ev(ct_peer_t *p, mcsec_call_event_kind_t kind, uint32_t gsk_id) {
    size_t n = 0;
    pthread_mutex_lock(&p->mu);
    for (size_t i = 0; i < p->n_ev; i++)
        n += p->ev[i].ev.kind == kind && (gsk_id == 0 || p->ev[i].ev.gsk_id == gsk_id);
    pthread_mutex_unlock(&p->mu);
    return n;
}

static size_t ct_count_ref(ct_peer_t *p, mcsec_net_channel_t ch, mcsec_status_t st, uint32_t ssrc) {
    size_t n = 0;
    pthread_mutex_lock(&p->mu);
    for (size_t i = 0; i < p->n_ref; i++)
        n += p->ref[i].ch == ch && p->ref[i].status == st && p->ref[i].ssrc == ssrc;
    pthread_mutex_unlock(&p->mu);
    return n;
}

static size_t ct_count_rtcp(ct_peer_t *p) {
    pthread_mutex_lock(&p->mu);
    size_t n = p->rtcp_ok;
    pthread_mutex_unlock(&p->mu);
    return n;
}

/* Waits until every peer has received `want` packets of ssrc (or CT_WAIT_MS passed); 1 if so. */
static int ct_wait_rx(ct_peer_t *const *peers, size_t n, uint32_t ssrc, size_t want) {
    double end = ct_now() + CT_WAIT_MS / 1000.0;
    for (;;) {
        size_t ok = 0;
        for (size_t i = 0; i < n; i++)
            ok += ct_count_rx(peers[i], ssrc) >= want;
        if (ok == n) return 1;
        if (ct_now() > end) return 0;
        ct_sleep_us(5000);
    }
}

static int ct_wait_ev(ct_peer_t *const *peers, size_t n, mcsec_call_event_kind_t kind,
                      uint32_t gsk_id, size_t want) {
    double end = ct_now() + CT_WAIT_MS / 1000.0;
    for (;;) {
        size_t ok = 0;
        for (size_t i = 0; i < n; i++)
            ok += ct_count_ev(peers[i], kind, gsk_id) >= want;
        if (ok == n) return 1;
        if (ct_now() > end) return 0;
        ct_sleep_us(5000);
    }
}

static int ct_wait_ref(ct_peer_t *const *peers, size_t n, mcsec_net_channel_t ch, mcsec_status_t st,
                       uint32_t ssrc, size_t want) {
    double end = ct_now() + CT_WAIT_MS / 1000.0;
    for (;;) {
        size_t ok = 0;
        for (size_t i = 0; i < n; i++)
            ok += ct_count_ref(peers[i], ch, st, ssrc) >= want;
        if (ok == n) return 1;
        if (ct_now() > end) return 0;
        ct_sleep_us(5000);
    }
}

static int ct_wait_rtcp(ct_peer_t *const *peers, size_t n, size_t want) {
    double end = ct_now() + CT_WAIT_MS / 1000.0;
    for (;;) {
        size_t ok = 0;
        for (size_t i = 0; i < n; i++)
            ok += ct_count_rtcp(peers[i]) >= want;
        if (ok == n) return 1;
        if (ct_now() > end) return 0;
        ct_sleep_us(5000);
    }
}

/* Checks (after the peer stopped) that its packets from ssrc are exactly k = first..first+n-1
 * of talker tag, in order, with consecutive sequence numbers, timestamps 160 apart, payload
 * type PCMU, the marker on k = 0 only and the exact content. */
static void ct_check_stream(const ct_peer_t *p, uint32_t ssrc, uint8_t tag, unsigned first,
                            unsigned n) {
    unsigned got = 0, bad = 0;
    const ct_rx_t *prev = NULL;
    for (size_t i = 0; i < p->n_rx; i++) {
        const ct_rx_t *r = &p->rx[i];
        if (r->ssrc != ssrc) continue;
        int ok = r->k == first + got && r->tag == tag && r->content_ok &&
                 r->pt == MCSEC_RTP_PT_PCMU && r->marker == (r->k == 0);
        if (prev != NULL)
            ok = ok && r->seq == (uint16_t)(prev->seq + 1) && r->ts == prev->ts + CT_FRAME;
        if (!ok && bad++ < 3)
            fprintf(stderr,
                    "  %s: packet %u of ssrc %08x: k %u (want %u) tag %u seq %u ts %u "
                    "marker %d pt %u content %d\n",
                    p->name, got, ssrc, r->k, first + got, r->tag, r->seq, r->ts, r->marker, r->pt,
                    r->content_ok);
        prev = r;
        got++;
    }
    if (got != n)
        fprintf(stderr, "  %s: %u packets of ssrc %08x, want %u\n", p->name, got, ssrc, n);
    CHECK(got == n);
    CHECK(bad == 0);
}

/* Checks a JOINED event: talker, GSK-ID = SSRC, GMK-ID, suite. */
static void ct_check_joined(const ct_peer_t *p, const mcsec_call_event_t *ev, const char *talker,
                            uint32_t gsk_id, uint32_t gmk_id, mcsec_srtp_suite_t suite) {
    int ok = ev->kind == MCSEC_CALL_EV_JOINED && ev->status == MCSEC_OK &&
             strcmp(ev->talker_uri, talker) == 0 && ev->gsk_id == gsk_id && ev->ssrc == gsk_id &&
             ev->gmk_id == gmk_id && ev->suite == suite && ev->timestamp != 0;
    if (!ok)
        fprintf(stderr,
                "  %s: event kind %d status %d talker %s gsk %08x ssrc %08x gmk %08x "
                "suite %d t %llu; want JOINED %s gsk %08x gmk %08x suite %d\n",
                p->name, (int)ev->kind, (int)ev->status, ev->talker_uri, ev->gsk_id, ev->ssrc,
                ev->gmk_id, (int)ev->suite, (unsigned long long)ev->timestamp, talker, gsk_id,
                gmk_id, (int)suite);
    CHECK(ok);
}

#endif
