/* libFuzzer target for the handset side of the Group Manager service (include/mcsec/gmclient.h,
 * client/gm_client.c): what mcsec_gmclient_poll does with the manager's envelopes (registration
 * answers, GMK deliveries opened with mcsec_gmk_open and stored in the keystore, answers to
 * acknowledgements), over a real CURVE connection on loopback from a fake manager in this
 * process. No hook: the client is used as `mcsec register` uses it.
 *
 * alice's keystore (scratch directory) holds the KMS parameters of fuzz_world.h and her key
 * sets; her client registers for fire-north and fire-south, and the fake manager admits it.
 *
 * Input: up to 8 envelopes, each a control octet, a 16-bit big-endian length and the envelope,
 * sent to the client as one frame.
 *   control & 8: sent as two frames instead (the client must skip it)
 *   control & 16: a GmkDelivery's I_MESSAGE is re-signed by the identity of the group it names
 *                 when it parses with a 129-octet ECCSI signature, so that the checks behind it
 *                 are reached
 *   control & 32: a RegisterResponse refusing the registration is sent as it is; without the
 *                 bit its status is made 0 (a refusal ends the client, and making a new one
 *                 costs a handshake and the key set checks)
 * Then a delivery for a group the client did not register for: its refusal (an ack) marks the
 * end of the input. Checks: every GmkDelivery the client takes (one frame, version 1, while
 * registered) is acknowledged once, with its GMK-ID, the status of its event and a proof only
 * when it was stored; events are of known kinds, a refusal says why. A refused registration
 * ends the client (fatal, as documented): it is made again for the next input.
 * Seeds: corpus/gm_client. */
#include "fuzz_util.h"

#include <time.h>
#include <zmq.h>

#include "fuzz_world.h"
#include "groupmgr.pb-c.h"
#include "mcsec/gmclient.h"
#include "mcsec/mikey.h"
#include "mcsec/profile.h"

#define NORTH "sip:fire-north@example.org"
#define SOUTH "sip:fire-south@example.org"
#define ALICE "sip:alice@example.org"
#define SENTINEL "sip:not-registered@example.org"
#define MAX_MSGS 8
#define TWO_FRAMES 8
#define RESIGN 16
#define REFUSE 32
#define WAIT_MS 20000 /* for the client to answer: far more than it needs */

static fw_kms_t world;
static mcsec_keystore_t *ks;
static mcsec_eccsi_signer_t *north_signer, *south_signer;
static void *zctx, *router;
static char endpoint[256], server_public[41];
static mcsec_gmclient_t *client;
static uint8_t rid[256];
static size_t rid_len;

typedef struct {
    unsigned events, refused_registration;
} events_t;

static void on_event(void *user, const mcsec_gmclient_event_t *ev) {
    events_t *e = user;
    e->events++;
    if (ev->status < 0 || ev->status > MCSEC_STATUS_LAST) abort(); /* only codes callers know */
    switch (ev->kind) {
    case MCSEC_GMCLIENT_REGISTERED:
    case MCSEC_GMCLIENT_GMK:
        if (ev->status != MCSEC_OK) abort();
        break;
    case MCSEC_GMCLIENT_REFUSED:
        if (ev->status == MCSEC_OK || ev->message[0] == 0) abort();
        if (ev->gmk_id == 0 && ev->group_uri[0] == 0) e->refused_registration = 1;
        break;
    case MCSEC_GMCLIENT_ACK:
        break;
    default:
        abort();
    }
    for (const char *c = ev->message; *c; c++)
        if ((unsigned char)*c < ' ' || *c == 0x7f)
            abort(); /* one printable line, whatever the manager sent */
}

static mcsec_eccsi_signer_t *signer_of(const char *uri) {
    mcsec_kms_keyset_t sets[2];
    mcsec_eccsi_signer_t *s = NULL;
    fw_issue(&world, uri, sets);
    if (mcsec_eccsi_signer_new(&s, world.init.kpak, sets[0].uid, MCSEC_UID_LEN, sets[0].ssk,
                               sets[0].pvt) != MCSEC_OK)
        fuzz_die("signer");
    mcsec_kms_keyset_wipe(sets, 2);
    return s;
}

static void keystore_new(void) {
    char dir[600];
    mcsec_kms_params_t p;
    mcsec_kms_keyset_t sets[2];
    fuzz_path(dir, sizeof dir, fuzz_tmpdir(), "alice");
    memset(&p, 0, sizeof p);
    snprintf(p.kms_uri, sizeof p.kms_uri, "%s", FW_KMS_URI);
    p.user_id_format = 2;
    p.key_period = FW_PERIOD;
    memcpy(p.Z, world.init.Z, sizeof p.Z);
    memcpy(p.kpak, world.init.kpak, sizeof p.kpak);
    if (mcsec_keystore_create_with_cost(dir, "fuzz", 4, 10, 1, 1) != MCSEC_OK ||
        mcsec_keystore_open(&ks, dir, "fuzz", 4) != MCSEC_OK ||
        mcsec_keystore_put_kms(ks, &p) != MCSEC_OK)
        fuzz_die(mcsec_keystore_last_error());
    fw_issue(&world, ALICE, sets);
    for (int i = 0; i < 2; i++) {
        mcsec_keyset_t k;
        memset(&k, 0, sizeof k);
        snprintf(k.user_uri, sizeof k.user_uri, "%s", ALICE);
        memcpy(k.uid, sets[i].uid, sizeof k.uid);
        k.period_no = sets[i].key_period_no;
        memcpy(k.rsk, sets[i].rsk, sizeof k.rsk);
        memcpy(k.ssk, sets[i].ssk, sizeof k.ssk);
        memcpy(k.pvt, sets[i].pvt, sizeof k.pvt);
        if (mcsec_keystore_put_keyset(ks, &k) != MCSEC_OK) fuzz_die(mcsec_keystore_last_error());
        mcsec_memzero(&k, sizeof k);
    }
    mcsec_kms_keyset_wipe(sets, 2);
}

static void send_frames(const uint8_t *p, size_t len, int two) {
    if (zmq_send(router, rid, rid_len, ZMQ_SNDMORE) < 0 ||
        (two && zmq_send(router, p, len / 2, ZMQ_SNDMORE) < 0) ||
        zmq_send(router, two ? p + len / 2 : p, two ? len - len / 2 : len, 0) < 0)
        fuzz_die("send");
}

/* One message at the fake manager: its routing id and its last frame (decoded; NULL if it is
 * not an envelope). 0 if none is waiting. */
static int receive(uint8_t *id, size_t *id_len, Mcsec__Groupmgr__GroupMgrMessage **env) {
    static uint8_t buf[70000];
    int n = zmq_recv(router, id, 256, ZMQ_DONTWAIT), len = -1, more = 1;
    if (n < 0) return 0;
    *id_len = (size_t)n;
    while (more) {
        size_t ml = sizeof more;
        len = zmq_recv(router, buf, sizeof buf, 0);
        if (len < 0 || zmq_getsockopt(router, ZMQ_RCVMORE, &more, &ml) != 0) fuzz_die("receive");
    }
    *env = mcsec__groupmgr__group_mgr_message__unpack(NULL, (size_t)len, buf);
    return 1;
}

static size_t pack(Mcsec__Groupmgr__GroupMgrMessage *m, uint8_t *out) {
    m->version = 1;
    return mcsec__groupmgr__group_mgr_message__pack(m, out);
}

/* A new client, connected and admitted (its Register answered OK with no backlog). */
static void client_start(void) {
    static const char *const groups[] = {NORTH, SOUTH};
    mcsec_gmclient_config_t cfg = {.endpoint = endpoint,
                                   .server_key = server_public,
                                   .groups = groups,
                                   .n_groups = 2,
                                   .address = "127.0.0.1:6000"};
    events_t ev = {0, 0};
    uint8_t buf[512];
    mcsec_gmclient_close(client);
    client = NULL;
    if (mcsec_gmclient_open(&client, ks, &cfg) != MCSEC_OK)
        fuzz_die(mcsec_gmclient_last_error(NULL));
    for (int i = 0; i < WAIT_MS / 10; i++) {
        Mcsec__Groupmgr__GroupMgrMessage *in = NULL;
        if (mcsec_gmclient_poll(client, 10, on_event, &ev) != MCSEC_OK)
            fuzz_die(mcsec_gmclient_last_error(client));
        if (!receive(rid, &rid_len, &in)) continue;
        int reg = in != NULL && in->body_case == MCSEC__GROUPMGR__GROUP_MGR_MESSAGE__BODY_REGISTER;
        if (in != NULL) mcsec__groupmgr__group_mgr_message__free_unpacked(in, NULL);
        if (!reg) continue; /* from the previous client */
        Mcsec__Groupmgr__RegisterResponse r = MCSEC__GROUPMGR__REGISTER_RESPONSE__INIT;
        Mcsec__Groupmgr__GroupMgrMessage m = MCSEC__GROUPMGR__GROUP_MGR_MESSAGE__INIT;
        char *g[] = {NORTH, SOUTH};
        r.groups = g;
        r.n_groups = 2;
        m.body_case = MCSEC__GROUPMGR__GROUP_MGR_MESSAGE__BODY_REGISTER_RESPONSE;
        m.register_response = &r;
        send_frames(buf, pack(&m, buf), 0);
        for (int k = 0; k < WAIT_MS / 10 && !mcsec_gmclient_idle(client); k++)
            if (mcsec_gmclient_poll(client, 10, on_event, &ev) != MCSEC_OK)
                fuzz_die(mcsec_gmclient_last_error(client));
        if (!mcsec_gmclient_idle(client)) fuzz_die("the client did not register");
        return;
    }
    fuzz_die("no registration from the client");
}

/* Re-signs an I_MESSAGE in place by the group's identity. */
static void resign(uint8_t *msg, size_t len, const char *group) {
    static mcsec_mikey_msg_t m;
    uint8_t sig[MCSEC_ECCSI_SIG_LEN];
    const mcsec_eccsi_signer_t *s = strcmp(group, SOUTH) == 0 ? south_signer : north_signer;
    if (mcsec_mikey_parse(msg, len, &m) == MCSEC_OK && m.has_sign &&
        m.payload[m.count - 1].u.sign.sig.len == MCSEC_ECCSI_SIG_LEN &&
        mcsec_eccsi_sign(s, m.signed_data.p, m.signed_data.len, sig) == MCSEC_OK)
        memcpy(msg + (m.payload[m.count - 1].u.sign.sig.p - msg), sig, sizeof sig);
}

/* 1 if p..len decodes as a version-1 delivery envelope, as the client decodes it. */
static int decodes(const uint8_t *p, size_t len) {
    Mcsec__Groupmgr__GroupMgrMessage *m = mcsec__groupmgr__group_mgr_message__unpack(NULL, len, p);
    int ok = m != NULL && m->version == 1 &&
             m->body_case == MCSEC__GROUPMGR__GROUP_MGR_MESSAGE__BODY_DELIVERY;
    if (m != NULL) mcsec__groupmgr__group_mgr_message__free_unpacked(m, NULL);
    return ok;
}

static void write_seeds(const char *dir);

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc, (void)argv;
    char secret[41];
    int linger = 0, one = 1;
    size_t len = sizeof endpoint;
    fw_kms_new(&world, 0);
    keystore_new();
    north_signer = signer_of(NORTH);
    south_signer = signer_of(SOUTH);
    if ((zctx = zmq_ctx_new()) == NULL || zmq_curve_keypair(server_public, secret) != 0 ||
        (router = zmq_socket(zctx, ZMQ_ROUTER)) == NULL ||
        zmq_setsockopt(router, ZMQ_LINGER, &linger, sizeof linger) != 0 ||
        zmq_setsockopt(router, ZMQ_CURVE_SERVER, &one, sizeof one) != 0 ||
        zmq_setsockopt(router, ZMQ_CURVE_SECRETKEY, secret, 40) != 0 ||
        zmq_bind(router, "tcp://127.0.0.1:*") != 0 ||
        zmq_getsockopt(router, ZMQ_LAST_ENDPOINT, endpoint, &len) != 0)
        fuzz_die("the fake Group Manager cannot bind");
    mcsec_memzero(secret, sizeof secret);
    client_start();
    const char *seeds = fuzz_corpus_dir();
    if (seeds != NULL) {
        write_seeds(seeds);
        exit(0);
    }
    return 0;
}

/* What the client must acknowledge: the GMK-IDs of the deliveries it takes, in order. */
typedef struct {
    uint32_t ids[MAX_MSGS + 1];
    size_t n;
} expect_t;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static uint8_t buf[70000];
    expect_t want = {{0}, 0};
    events_t ev = {0, 0};
    if (mcsec_gmclient_poll(client, 0, NULL, NULL) != MCSEC_OK)
        client_start(); /* refused by the previous input */
    for (int k = 0; k < MAX_MSGS && size >= 3; k++) {
        int ctl = data[0];
        size_t len = (size_t)data[1] << 8 | data[2];
        data += 3, size -= 3;
        if (len > size) len = size;
        const uint8_t *p = data;
        data += len, size -= len;
        Mcsec__Groupmgr__GroupMgrMessage *m =
            mcsec__groupmgr__group_mgr_message__unpack(NULL, len, p);
        if (m != NULL &&
            m->body_case == MCSEC__GROUPMGR__GROUP_MGR_MESSAGE__BODY_REGISTER_RESPONSE &&
            m->register_response->status != 0 && !(ctl & REFUSE) &&
            mcsec__groupmgr__group_mgr_message__get_packed_size(m) <= sizeof buf) {
            m->register_response->status = 0; /* keeps the client: a refusal ends it */
            len = mcsec__groupmgr__group_mgr_message__pack(m, buf);
            p = buf;
        }
        if (m != NULL && m->body_case == MCSEC__GROUPMGR__GROUP_MGR_MESSAGE__BODY_DELIVERY) {
            if ((ctl & RESIGN) && m->delivery->group_uri != NULL) {
                resign(m->delivery->i_message.data, m->delivery->i_message.len,
                       m->delivery->group_uri);
                if (mcsec__groupmgr__group_mgr_message__get_packed_size(m) <= sizeof buf) {
                    len = mcsec__groupmgr__group_mgr_message__pack(m, buf);
                    p = buf;
                }
            }
            /* Only what the client can decode is expected: protobuf-c does not always decode
             * its own re-encoding of a mutated envelope (crash-6f5618ca in the corpus), and
             * the client ignores envelopes that do not decode, as documented. Octets sent as
             * they came decoded above already. */
            if (!(ctl & TWO_FRAMES) && m->version == 1 && (p != buf || decodes(p, len)))
                want.ids[want.n++] = m->delivery->gmk_id;
        }
        if (m != NULL) mcsec__groupmgr__group_mgr_message__free_unpacked(m, NULL);
        send_frames(p, len, (ctl & TWO_FRAMES) != 0);
    }
    /* The end mark: a delivery the client refuses (not its group) and acknowledges. */
    Mcsec__Groupmgr__GmkDelivery d = MCSEC__GROUPMGR__GMK_DELIVERY__INIT;
    Mcsec__Groupmgr__GroupMgrMessage m = MCSEC__GROUPMGR__GROUP_MGR_MESSAGE__INIT;
    uint8_t end[256];
    d.group_uri = SENTINEL;
    d.gmk_id = 0x0e0d0e0du;
    m.body_case = MCSEC__GROUPMGR__GROUP_MGR_MESSAGE__BODY_DELIVERY;
    m.delivery = &d;
    send_frames(end, pack(&m, end), 0);
    want.ids[want.n++] = d.gmk_id;

    /* The acknowledgements, in order, until the end mark (or a refused registration). The
     * client is polled without waiting and the fake manager looks for answers in between, with
     * 20 us naps: a 1 ms poll would mostly wait with the last answer already on its way. */
    size_t got = 0;
    struct timespec t0, t, nap = {0, 20000};
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (t = t0; got < want.n && (t.tv_sec - t0.tv_sec) * 1000 < WAIT_MS;
         clock_gettime(CLOCK_MONOTONIC, &t)) {
        size_t before = got;
        if (mcsec_gmclient_poll(client, 0, on_event, &ev) != MCSEC_OK) {
            if (!ev.refused_registration) abort();
            return 0; /* fatal, as documented: a new client for the next input */
        }
        uint8_t id[256];
        size_t id_len = 0;
        Mcsec__Groupmgr__GroupMgrMessage *a = NULL;
        while (receive(id, &id_len, &a)) {
            if (id_len != rid_len || memcmp(id, rid, rid_len) != 0) {
                if (a != NULL) /* from a previous client */
                    mcsec__groupmgr__group_mgr_message__free_unpacked(a, NULL);
                continue;
            }
            if (a == NULL || a->version != 1 ||
                a->body_case != MCSEC__GROUPMGR__GROUP_MGR_MESSAGE__BODY_ACK || got == want.n ||
                a->ack->gmk_id != want.ids[got] || strcmp(a->ack->member_uri, ALICE) != 0 ||
                (a->ack->status == MCSEC_OK) != (a->ack->proof.len == MCSEC_GM_PROOF_LEN) ||
                (a->ack->status != MCSEC_OK && a->ack->proof.len != 0))
                abort();
            got++;
            mcsec__groupmgr__group_mgr_message__free_unpacked(a, NULL);
        }
        if (got == before) nanosleep(&nap, NULL);
    }
    if (got != want.n) abort(); /* a delivery was not acknowledged */
    return 0;
}

/* --- Seeds: what mcsec-groupmgr serve sends a member ------------------------------------------ */

static size_t record(uint8_t *out, int ctl, Mcsec__Groupmgr__GroupMgrMessage *m) {
    size_t n = pack(m, out + 3);
    out[0] = (uint8_t)ctl;
    out[1] = (uint8_t)(n >> 8);
    out[2] = (uint8_t)n;
    return n + 3;
}

static size_t delivery(uint8_t *out, int ctl, const char *group, const mcsec_eccsi_signer_t *s,
                       uint32_t id) {
    static const uint8_t gmk[16] = {9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 1, 2, 3, 4, 5, 6};
    uint8_t msg[4096];
    size_t len = 0;
    mcsec_sakke_sender_t *sakke = NULL;
    mcsec_key_params_t kp;
    memset(&kp, 0, sizeof kp);
    kp.key_type = MCSEC_PURPOSE_GMK;
    snprintf(kp.group_id, sizeof kp.group_id, "%s", group);
    mcsec_gmk_sender_t tx = {
        .initiator_uri = group, .kms_uri = FW_KMS_URI, .key_period = FW_PERIOD, .signer = s};
    uint64_t now = ((uint64_t)world.now + FW_NTP_UNIX) << 32;
    if (mcsec_sakke_sender_new(&sakke, world.init.Z) != MCSEC_OK) fuzz_die("sakke");
    tx.sakke = sakke;
    if (mcsec_gmk_build(&tx, ALICE, gmk, id, &kp, now, msg, sizeof msg, &len) != MCSEC_OK)
        fuzz_die("gmk build");
    mcsec_sakke_sender_free(sakke);
    Mcsec__Groupmgr__GmkDelivery d = MCSEC__GROUPMGR__GMK_DELIVERY__INIT;
    Mcsec__Groupmgr__GroupMgrMessage m = MCSEC__GROUPMGR__GROUP_MGR_MESSAGE__INIT;
    d.group_uri = (char *)group;
    d.gmk_id = id;
    d.i_message.data = msg;
    d.i_message.len = len;
    d.timestamp = now;
    m.body_case = MCSEC__GROUPMGR__GROUP_MGR_MESSAGE__BODY_DELIVERY;
    m.delivery = &d;
    return record(out, ctl, &m);
}

static size_t status(uint8_t *out, int32_t st, const char *msg, uint32_t id) {
    Mcsec__Groupmgr__Status s = MCSEC__GROUPMGR__STATUS__INIT;
    Mcsec__Groupmgr__GroupMgrMessage m = MCSEC__GROUPMGR__GROUP_MGR_MESSAGE__INIT;
    s.status = st;
    s.message = (char *)msg;
    s.group_uri = NORTH;
    s.gmk_id = id;
    m.body_case = MCSEC__GROUPMGR__GROUP_MGR_MESSAGE__BODY_STATUS;
    m.status = &s;
    return record(out, 0, &m);
}

static size_t answer(uint8_t *out, int ctl, int32_t st, const char *msg, unsigned backlog) {
    static char *g[] = {NORTH, SOUTH};
    Mcsec__Groupmgr__RegisterResponse r = MCSEC__GROUPMGR__REGISTER_RESPONSE__INIT;
    Mcsec__Groupmgr__GroupMgrMessage m = MCSEC__GROUPMGR__GROUP_MGR_MESSAGE__INIT;
    r.status = st;
    r.message = (char *)msg;
    if (st == MCSEC_OK) {
        r.groups = g;
        r.n_groups = 2;
        r.backlog = backlog;
    }
    m.body_case = MCSEC__GROUPMGR__GROUP_MGR_MESSAGE__BODY_REGISTER_RESPONSE;
    m.register_response = &r;
    return record(out, ctl, &m);
}

static void write_seeds(const char *dir) {
    static uint8_t s[16384];
    size_t n;
    n = answer(s, 0, MCSEC_OK, "", 2);
    n += delivery(s + n, RESIGN, NORTH, north_signer, 0x01234567u);
    n += delivery(s + n, RESIGN, SOUTH, south_signer, 0x07654321u);
    n += status(s + n, MCSEC_OK, "", 0x01234567u);
    fuzz_seed(dir, "backlog_and_acks", -1, s, n);
    n = delivery(s, RESIGN, SOUTH, north_signer, 0x02345678u); /* not south's identity */
    n += delivery(s + n, RESIGN, NORTH, north_signer, 0x0fffffffu);
    n += status(s + n, MCSEC_ERR_VERIFY, "wrong proof for GMK-ID 0fffffff", 0x0fffffffu);
    fuzz_seed(dir, "refusals", -1, s, n);
    n = delivery(s, RESIGN | TWO_FRAMES, NORTH, north_signer, 0x03456789u);
    n += answer(s + n, REFUSE, MCSEC_ERR_POLICY, "sip:alice@example.org is not a member", 0);
    fuzz_seed(dir, "two_frames_then_refused", -1, s, n);
}
