/* libFuzzer target for the Group Manager request handler: gm_srv_message (groupmgr/server.c),
 * what `mcsec-groupmgr serve` does with each message of a member connection (sessions bound
 * to CURVE keys, registration with its signature and membership checks, the backlog,
 * acknowledgements with their proofs), then gm_srv_flush (the bookkeeping commit and the
 * acknowledgement answers), on a real Group Manager made once per process in a scratch
 * directory: groups fire-north (alice, bob) and fire-south (alice), each with a GMK delivered.
 * Answers go over an inproc ZeroMQ pair to this process and are checked.
 *
 * Input: up to 8 messages, each a control octet, a 16-bit big-endian length and the envelope.
 *   control & 3: the connection (routing id and CURVE key): 0 A, 1 B, 2 A's routing id with
 *                B's key (a reused routing id), 3 C
 *   control & 4: an empty delimiter frame came first; control & 8: other frames came too
 *   control & 16: fix up the envelope so that the checks behind it are reached: a Register
 *                 from alice or bob gets the current time and a valid signature over this
 *                 connection's key; a GmkAck of a GMK the manager sent gets the right proof
 *                 for its member_uri (alice if empty)
 * Each input starts with no sessions. Checks: every message is answered (acks after the
 * flush) with a GroupMgrMessage version 1 whose statuses are known, refusals carry a reason,
 * a RegisterResponse OK lists what was asked and the deliveries it announces follow.
 * Seeds: corpus/gm_request. */
#include "fuzz_util.h"

#include <zmq.h>

#include "../../groupmgr/internal.h"
#include "fuzz_world.h"
#include "groupmgr.pb-c.h"
#include "mcsec/gmclient.h"

#define NORTH "sip:fire-north@example.org"
#define SOUTH "sip:fire-south@example.org"
#define ALICE "sip:alice@example.org"
#define BOB "sip:bob@example.org"
#define MAX_MSGS 8
#define FIX 16

static fw_kms_t world;
static mcsec_groupmgr_t *gm;
static void *zctx, *front, *peer;
static mcsec_eccsi_signer_t *signer[2]; /* alice, bob: the current key period */
static struct {
    const char *group;
    uint32_t gmk_id;
    uint8_t gmk[MCSEC_GMK_LEN];
} gmks[2];
static const uint8_t rids[3][5] = {"connA", "connB", "connC"};
static uint8_t curve[3][32]; /* the connections' CURVE public keys */
static char curve_z85[3][41];

static void group(const char *uri, const char *const *members, size_t n, int slot) {
    mcsec_kms_keyset_t sets[2];
    mcsec_groupmgr_rekey_result_t r;
    gm_gmk_row_t row;
    fw_issue(&world, uri, sets);
    if (mcsec_groupmgr_group_add(gm, uri, 0, 0) != MCSEC_OK ||
        mcsec_groupmgr_group_set_keys(gm, uri, &world.init, sets, 2) != MCSEC_OK ||
        mcsec_groupmgr_member_add(gm, uri, members, n, NULL) != MCSEC_OK ||
        mcsec_groupmgr_rekey(gm, uri, NULL, 1, &r) != MCSEC_OK ||
        gm->ops->gmk_get(gm->store, uri, r.gmk_id, &row) != MCSEC_OK ||
        gm_gmk_unseal(gm, &row, gmks[slot].gmk) != MCSEC_OK)
        fuzz_die(mcsec_groupmgr_last_error());
    gmks[slot].group = uri;
    gmks[slot].gmk_id = r.gmk_id;
    mcsec_kms_keyset_wipe(sets, 2);
}

static void member(const char *uri, int slot) {
    mcsec_kms_keyset_t sets[2];
    fw_issue(&world, uri, sets);
    if (mcsec_eccsi_signer_new(&signer[slot], world.init.kpak, sets[0].uid, MCSEC_UID_LEN,
                               sets[0].ssk, sets[0].pvt) != MCSEC_OK)
        fuzz_die("signer");
    mcsec_kms_keyset_wipe(sets, 2);
}

/* Connection index of a control octet: routing id and key. */
static void connection(int ctl, int *rid, int *key) {
    static const int r[4] = {0, 1, 0, 2}, k[4] = {0, 1, 1, 2};
    *rid = r[ctl & 3];
    *key = k[ctl & 3];
}

/* Re-signs a Register / fixes an ack's proof (control & FIX). Returns a packed envelope in buf
 * or 0 to use the input as is. */
static size_t fix(const uint8_t *p, size_t len, int key, uint8_t *buf, size_t cap) {
    Mcsec__Groupmgr__GroupMgrMessage *m = mcsec__groupmgr__group_mgr_message__unpack(NULL, len, p);
    ProtobufCBinaryData *field = NULL, saved; /* the field replaced, given back before freeing */
    size_t out = 0;
    uint8_t sig[MCSEC_ECCSI_SIG_LEN], proof[MCSEC_GM_PROOF_LEN], *octets = NULL;
    if (m == NULL) return 0;
    if (m->body_case == MCSEC__GROUPMGR__GROUP_MGR_MESSAGE__BODY_REGISTER && m->register_ != NULL &&
        m->register_->member_uri != NULL) {
        Mcsec__Groupmgr__Register *r = m->register_;
        int who = strcmp(r->member_uri, ALICE) == 0 ? 0 : strcmp(r->member_uri, BOB) == 0 ? 1 : -1;
        size_t n = 0;
        r->time = gm_now64();
        if (who >= 0 &&
            mcsec_gm_register_octets(r->member_uri, (const char *const *)r->group_uris,
                                     r->n_group_uris, r->time, curve[key], NULL, 0,
                                     &n) == MCSEC_ERR_BAD_LENGTH &&
            (octets = malloc(n)) != NULL &&
            mcsec_gm_register_octets(r->member_uri, (const char *const *)r->group_uris,
                                     r->n_group_uris, r->time, curve[key], octets, n,
                                     &n) == MCSEC_OK &&
            mcsec_eccsi_sign(signer[who], octets, n, sig) == MCSEC_OK) {
            field = &r->signature;
            saved = *field;
            field->data = sig;
            field->len = sizeof sig;
        }
    } else if (m->body_case == MCSEC__GROUPMGR__GROUP_MGR_MESSAGE__BODY_ACK && m->ack != NULL) {
        Mcsec__Groupmgr__GmkAck *a = m->ack;
        const char *who = a->member_uri != NULL && a->member_uri[0] != 0 ? a->member_uri : ALICE;
        for (int i = 0; i < 2 && field == NULL; i++)
            if (a->gmk_id == gmks[i].gmk_id && a->group_uri != NULL &&
                strcmp(a->group_uri, gmks[i].group) == 0 &&
                mcsec_gm_ack_proof(gmks[i].gmk, who, a->gmk_id, proof) == MCSEC_OK) {
                field = &a->proof;
                saved = *field;
                field->data = proof;
                field->len = sizeof proof;
            }
    }
    if (mcsec__groupmgr__group_mgr_message__get_packed_size(m) <= cap)
        out = mcsec__groupmgr__group_mgr_message__pack(m, buf);
    if (field != NULL) *field = saved;
    mcsec__groupmgr__group_mgr_message__free_unpacked(m, NULL);
    free(octets);
    return out;
}

static int known(int32_t st) {
    return st >= MCSEC_OK && st <= MCSEC_ERR_STALE;
}

/* Reads and checks every answer; returns how many there were. */
static size_t drain(void) {
    size_t answers = 0;
    unsigned announced = 0, deliveries = 0;
    for (;;) {
        zmq_msg_t f[3];
        int n = 0, more = 1;
        while (more) {
            zmq_msg_t m;
            zmq_msg_init(&m);
            if (zmq_msg_recv(&m, peer, n == 0 ? ZMQ_DONTWAIT : 0) < 0) {
                zmq_msg_close(&m);
                if (n != 0) abort();
                goto done;
            }
            more = zmq_msg_more(&m);
            if (n == 3) abort(); /* routing id, [delimiter,] envelope */
            f[n++] = m;
        }
        if (n < 2 || zmq_msg_size(&f[0]) != 5 || (n == 3 && zmq_msg_size(&f[1]) != 0)) abort();
        Mcsec__Groupmgr__GroupMgrMessage *e = mcsec__groupmgr__group_mgr_message__unpack(
            NULL, zmq_msg_size(&f[n - 1]), zmq_msg_data(&f[n - 1]));
        if (e == NULL || e->version != 1) abort();
        switch (e->body_case) {
        case MCSEC__GROUPMGR__GROUP_MGR_MESSAGE__BODY_STATUS:
            if (!known(e->status->status) ||
                (e->status->status != MCSEC_OK && e->status->message[0] == 0))
                abort();
            break;
        case MCSEC__GROUPMGR__GROUP_MGR_MESSAGE__BODY_REGISTER_RESPONSE: {
            Mcsec__Groupmgr__RegisterResponse *r = e->register_response;
            if (!known(r->status) || (r->status != MCSEC_OK && r->message[0] == 0) ||
                (r->status == MCSEC_OK && r->n_groups == 0))
                abort();
            announced += r->backlog;
            break;
        }
        case MCSEC__GROUPMGR__GROUP_MGR_MESSAGE__BODY_DELIVERY:
            if (e->delivery->i_message.len == 0) abort();
            deliveries++;
            answers--; /* not an answer */
            break;
        default:
            abort();
        }
        answers++;
        mcsec__groupmgr__group_mgr_message__free_unpacked(e, NULL);
        for (int i = 0; i < n; i++)
            zmq_msg_close(&f[i]);
    }
done:
    if (deliveries != announced) abort();
    return answers;
}

static void write_seeds(const char *dir);

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc, (void)argv;
    static const char *const north[] = {ALICE, BOB}, *const south[] = {ALICE};
    char dir[600];
    int one = 1;
    fw_kms_new(&world, 0);
    fuzz_path(dir, sizeof dir, fuzz_tmpdir(), "gm");
    mcsec_groupmgr_config_t cfg = {.dir = dir,
                                   .passphrase = "fuzz",
                                   .passphrase_len = 4,
                                   .kdf_log2n = 10,
                                   .kdf_r = 1,
                                   .kdf_p = 1};
    if (mcsec_groupmgr_create(&gm, &cfg) != MCSEC_OK) fuzz_die(mcsec_groupmgr_last_error());
    group(NORTH, north, 2, 0);
    group(SOUTH, south, 1, 1);
    member(ALICE, 0);
    member(BOB, 1);
    for (int i = 0; i < 3; i++) {
        for (int k = 0; k < 32; k++)
            curve[i][k] = (uint8_t)(0x40 * (i + 1) + k);
        if (zmq_z85_encode(curve_z85[i], curve[i], 32) == NULL) fuzz_die("z85");
    }
    if ((zctx = zmq_ctx_new()) == NULL || (front = zmq_socket(zctx, ZMQ_PAIR)) == NULL ||
        (peer = zmq_socket(zctx, ZMQ_PAIR)) == NULL ||
        zmq_setsockopt(front, ZMQ_IMMEDIATE, &one, sizeof one) != 0 ||
        zmq_bind(peer, "inproc://fuzz-gm-answers") != 0 ||
        zmq_connect(front, "inproc://fuzz-gm-answers") != 0)
        fuzz_die("zmq");
    const char *seeds = fuzz_corpus_dir();
    if (seeds != NULL) {
        write_seeds(seeds);
        exit(0);
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static uint8_t buf[70000];
    gm_srv_t *v = NULL;
    size_t handled = 0;
    if (gm_srv_new(gm, 0, 0, front, &v) != MCSEC_OK) abort();
    while (size >= 3 && handled < MAX_MSGS) {
        int ctl = data[0], rid, key;
        size_t len = (size_t)data[1] << 8 | data[2];
        data += 3, size -= 3;
        if (len > size) len = size;
        const uint8_t *p = data;
        size_t plen = len;
        data += len, size -= len;
        connection(ctl, &rid, &key);
        if (ctl & FIX) {
            size_t n = fix(p, plen, key, buf, sizeof buf);
            if (n > 0) p = buf, plen = n;
        }
        gm_srv_message(v, rids[rid], sizeof rids[rid], curve_z85[key], (ctl & 4) != 0,
                       (ctl & 8) != 0, p, plen);
        handled++;
    }
    gm_srv_flush(v);
    if (drain() < handled) abort(); /* a message without an answer */
    gm_srv_free(v);
    return 0;
}

/* --- Seeds: what mcsec register sends, in a few orders ---------------------------------------- */

static size_t envelope(uint8_t *out, int ctl, Mcsec__Groupmgr__GroupMgrMessage *m) {
    m->version = 1;
    size_t n = mcsec__groupmgr__group_mgr_message__pack(m, out + 3);
    out[0] = (uint8_t)ctl;
    out[1] = (uint8_t)(n >> 8);
    out[2] = (uint8_t)n;
    return n + 3;
}

static size_t reg(uint8_t *out, int ctl, const char *member_uri, char **groups, size_t n) {
    uint8_t sig[MCSEC_ECCSI_SIG_LEN] = {0};
    Mcsec__Groupmgr__Register r = MCSEC__GROUPMGR__REGISTER__INIT;
    Mcsec__Groupmgr__GroupMgrMessage m = MCSEC__GROUPMGR__GROUP_MGR_MESSAGE__INIT;
    r.member_uri = (char *)member_uri;
    r.group_uris = groups;
    r.n_group_uris = n;
    r.address = "127.0.0.1:6000";
    r.time = gm_now64();
    r.signature.data = sig; /* replaced by the fix-up */
    r.signature.len = sizeof sig;
    m.body_case = MCSEC__GROUPMGR__GROUP_MGR_MESSAGE__BODY_REGISTER;
    m.register_ = &r;
    return envelope(out, ctl, &m);
}

static size_t ack(uint8_t *out, int ctl, int slot, const char *member_uri) {
    uint8_t proof[MCSEC_GM_PROOF_LEN] = {0};
    Mcsec__Groupmgr__GmkAck a = MCSEC__GROUPMGR__GMK_ACK__INIT;
    Mcsec__Groupmgr__GroupMgrMessage m = MCSEC__GROUPMGR__GROUP_MGR_MESSAGE__INIT;
    a.group_uri = (char *)gmks[slot].group;
    a.gmk_id = gmks[slot].gmk_id;
    a.member_uri = (char *)member_uri;
    a.proof.data = proof; /* replaced by the fix-up */
    a.proof.len = sizeof proof;
    m.body_case = MCSEC__GROUPMGR__GROUP_MGR_MESSAGE__BODY_ACK;
    m.ack = &a;
    return envelope(out, ctl, &m);
}

static void write_seeds(const char *dir) {
    static char *both[] = {NORTH, SOUTH}, *north[] = {NORTH}, *south[] = {SOUTH};
    uint8_t s[4096];
    size_t n;
    n = reg(s, FIX, ALICE, both, 2);
    n += ack(s + n, FIX, 0, ALICE);
    n += ack(s + n, FIX, 1, "");
    fuzz_seed(dir, "register_and_ack", -1, s, n);
    n = reg(s, FIX | 1, BOB, north, 1);
    n += ack(s + n, FIX | 1, 0, BOB);
    n += ack(s + n, FIX | 1, 0, ALICE); /* another member's ack: refused */
    fuzz_seed(dir, "bob_and_wrong_member", -1, s, n);
    n = reg(s, FIX | 3, BOB, south, 1);  /* not a member of south */
    n += ack(s + n, 3, 0, BOB);          /* not registered */
    n += reg(s + n, 0, ALICE, north, 1); /* bad signature */
    fuzz_seed(dir, "refusals", -1, s, n);
    n = reg(s, FIX | 4, ALICE, north, 1);
    n += reg(s + n, FIX | 2, ALICE, north, 1); /* the routing id with another key */
    n += ack(s + n, FIX | 8, 0, ALICE);        /* multi-part */
    fuzz_seed(dir, "delimiter_reused_rid_multipart", -1, s, n);
}
