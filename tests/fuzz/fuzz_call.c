/* libFuzzer target for the handset's receive path of a group call (include/mcsec/client.h):
 * mcsec_call_handle on control datagrams (call notifications with the talker's signed GSK
 * message, ad-hoc GMK deliveries), then mcsec_call_receive_media / mcsec_call_receive_rtcp on
 * media datagrams. The control channel is UDP multicast: anyone on the network can send.
 *
 * The listener is alice in group fire-north, with a keystore (scratch directory) holding the
 * KMS parameters, her key sets and the group's GMK, and a fixed clock; bob (same group) is the
 * talker the seeds come from, the group identity signs GMK deliveries.
 *
 * Input: up to 6 datagrams, each a type octet, a 16-bit big-endian length and the datagram.
 *   type & 3: 0 control (mcsec_call_handle), 1 media (SRTP), 2 RTCP (SRTCP), 3 control
 *   type & 4: re-sign the MIKEY message inside a control datagram (a notification's GSK
 *             message by bob, a GMK delivery's I_MESSAGE by the group identity) when it parses
 *             with a 129-octet ECCSI signature, so that the checks behind it are reached.
 * One call lives for the whole process (its replay cache too): a message accepted once is a
 * repeat or a replay afterwards. Checks: the documented statuses and event kinds, a reason for
 * every refusal, a talker after JOINED with the SSRC announced, media output inside the packet.
 * Seeds: corpus/call (bob's notification, media and RTCP; a GMK delivery to alice). */
#include "fuzz_util.h"

#include "call.pb-c.h"
#include "fuzz_world.h"
#include "mcsec/client.h"
#include "mcsec/mikey.h"

#define GROUP "sip:fire-north@example.org"
#define ALICE "sip:alice@example.org"
#define BOB "sip:bob@example.org"
#define T0 1790000000 /* Unix seconds: the world's time */
#define GMK_ID 0x01c0ffeeu
#define MAX_DGRAMS 6
#define RESIGN 4

static fw_kms_t world;
static mcsec_call_t *call;
static mcsec_eccsi_signer_t *bob_signer, *group_signer;

static uint64_t clock_fn(void *user) {
    (void)user;
    return (uint64_t)T0 + FW_NTP_UNIX;
}

typedef struct {
    mcsec_keystore_t *ks;
    mcsec_handset_t *h;
} member_t;

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

/* A handset of uri in a keystore of its own, holding the group's GMK. */
static void member_new(member_t *m, const char *uri) {
    static const uint8_t gmk[16] = {0x47, 0x4d, 0x4b, 0x20, 0x66, 0x6f, 0x72, 0x20,
                                    0x66, 0x75, 0x7a, 0x7a, 0x69, 0x6e, 0x67, 0x21};
    char dir[600];
    mcsec_kms_params_t p;
    mcsec_kms_keyset_t sets[2];
    mcsec_gmk_record_t g;
    fuzz_path(dir, sizeof dir, fuzz_tmpdir(), uri + 4);
    memset(&p, 0, sizeof p);
    snprintf(p.kms_uri, sizeof p.kms_uri, "%s", FW_KMS_URI);
    p.user_id_format = 2;
    p.key_period = FW_PERIOD;
    memcpy(p.Z, world.init.Z, sizeof p.Z);
    memcpy(p.kpak, world.init.kpak, sizeof p.kpak);
    if (mcsec_keystore_create_with_cost(dir, "fuzz", 4, 10, 1, 1) != MCSEC_OK ||
        mcsec_keystore_open(&m->ks, dir, "fuzz", 4) != MCSEC_OK ||
        mcsec_keystore_put_kms(m->ks, &p) != MCSEC_OK)
        fuzz_die(mcsec_keystore_last_error());
    fw_issue(&world, uri, sets);
    for (int i = 0; i < 2; i++) {
        mcsec_keyset_t k;
        memset(&k, 0, sizeof k);
        snprintf(k.user_uri, sizeof k.user_uri, "%s", uri);
        memcpy(k.uid, sets[i].uid, sizeof k.uid);
        k.period_no = sets[i].key_period_no;
        memcpy(k.rsk, sets[i].rsk, sizeof k.rsk);
        memcpy(k.ssk, sets[i].ssk, sizeof k.ssk);
        memcpy(k.pvt, sets[i].pvt, sizeof k.pvt);
        if (mcsec_keystore_put_keyset(m->ks, &k) != MCSEC_OK) fuzz_die(mcsec_keystore_last_error());
        mcsec_memzero(&k, sizeof k);
    }
    mcsec_kms_keyset_wipe(sets, 2);
    memset(&g, 0, sizeof g);
    snprintf(g.group_uri, sizeof g.group_uri, "%s", GROUP);
    memcpy(g.gmk, gmk, sizeof gmk);
    g.gmk_id = GMK_ID;
    g.mikey_timestamp = ((uint64_t)T0 + FW_NTP_UNIX - 3600) << 32;
    if (mcsec_keystore_put_gmk(m->ks, &g) != MCSEC_OK ||
        mcsec_handset_open(&m->h, m->ks) != MCSEC_OK)
        fuzz_die(mcsec_keystore_last_error());
    mcsec_handset_set_clock(m->h, clock_fn, NULL);
}

static mcsec_call_t *call_new(member_t *m) {
    mcsec_call_config_t cfg = {.group_uri = GROUP,
                               .suite = MCSEC_SRTP_AEAD_AES_128_GCM,
                               .media_address = "239.255.1.2",
                               .media_port = 5002};
    mcsec_call_t *c = NULL;
    if (mcsec_call_new(&c, m->h, &cfg) != MCSEC_OK) fuzz_die("call");
    return c;
}

/* Replaces the ECCSI signature of a MIKEY message (in place) by signer's. */
static void resign(uint8_t *msg, size_t len, const mcsec_eccsi_signer_t *signer) {
    static mcsec_mikey_msg_t m;
    uint8_t sig[MCSEC_ECCSI_SIG_LEN];
    if (mcsec_mikey_parse(msg, len, &m) == MCSEC_OK && m.has_sign &&
        m.payload[m.count - 1].u.sign.sig.len == MCSEC_ECCSI_SIG_LEN &&
        mcsec_eccsi_sign(signer, m.signed_data.p, m.signed_data.len, sig) == MCSEC_OK)
        memcpy(msg + (m.payload[m.count - 1].u.sign.sig.p - msg), sig, sizeof sig);
}

/* The datagram with its MIKEY message re-signed, packed into out; 0 if it does not decode. */
static size_t resign_datagram(const uint8_t *d, size_t len, uint8_t *out, size_t cap) {
    Mcsec__Call__CallDatagram *dg = mcsec__call__call_datagram__unpack(NULL, len, d);
    size_t n = 0;
    if (dg == NULL) return 0;
    if (dg->body_case == MCSEC__CALL__CALL_DATAGRAM__BODY_CALL)
        resign(dg->call->gsk_message.data, dg->call->gsk_message.len, bob_signer);
    else if (dg->body_case == MCSEC__CALL__CALL_DATAGRAM__BODY_GMK)
        resign(dg->gmk->i_message.data, dg->gmk->i_message.len, group_signer);
    if (mcsec__call__call_datagram__get_packed_size(dg) <= cap)
        n = mcsec__call__call_datagram__pack(dg, out);
    mcsec__call__call_datagram__free_unpacked(dg, NULL);
    return n;
}

static void control(const uint8_t *d, size_t len) {
    mcsec_call_event_t ev;
    uint32_t ssrc = 0;
    mcsec_status_t st = mcsec_call_handle(call, d, len, &ev);
    if (st == MCSEC_ERR_TRUNCATED || st == MCSEC_ERR_STRUCTURE) return;
    if (st != MCSEC_OK) abort();
    switch (ev.kind) {
    case MCSEC_CALL_EV_JOINED:
        if (ev.status != MCSEC_OK || !mcsec_call_talker(call, &ssrc, NULL, 0) || ssrc != ev.ssrc ||
            ev.ssrc != ev.gsk_id || strcmp(ev.talker_uri, ALICE) == 0)
            abort();
        break;
    case MCSEC_CALL_EV_REPEAT:
    case MCSEC_CALL_EV_OWN:
    case MCSEC_CALL_EV_GMK:
    case MCSEC_CALL_EV_OTHER:
        if (ev.status != MCSEC_OK) abort();
        break;
    case MCSEC_CALL_EV_REFUSED:
        if (ev.status == MCSEC_OK || ev.why[0] == 0) abort();
        break;
    default:
        abort();
    }
}

static void media(const uint8_t *d, size_t len, int rtcp) {
    static uint8_t pkt[MCSEC_NET_DGRAM_MAX];
    mcsec_rtp_header_t hdr;
    memcpy(pkt, d, len);
    mcsec_status_t st = rtcp ? mcsec_call_receive_rtcp(call, pkt, len)
                             : mcsec_call_receive_media(call, pkt, len, &hdr);
    switch (st) {
    case MCSEC_OK:
        if (!rtcp && (hdr.payload < pkt || hdr.payload + hdr.payload_len > pkt + len)) abort();
        break;
    case MCSEC_ERR_WRONG_RECIPIENT:
    case MCSEC_ERR_VERIFY:
    case MCSEC_ERR_REPLAY:
    case MCSEC_ERR_TRUNCATED:
    case MCSEC_ERR_STRUCTURE:
    case MCSEC_ERR_UNKNOWN_KEY:
    case MCSEC_ERR_BAD_LENGTH:
        break;
    default:
        abort();
    }
}

static void write_seeds(const char *dir, member_t *alice);

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc, (void)argv;
    static member_t alice;
    fw_kms_new(&world, T0);
    member_new(&alice, ALICE);
    bob_signer = signer_of(BOB);
    group_signer = signer_of(GROUP);
    call = call_new(&alice);
    const char *seeds = fuzz_corpus_dir();
    if (seeds != NULL) {
        write_seeds(seeds, &alice);
        exit(0);
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static uint8_t buf[MCSEC_NET_DGRAM_MAX + 1024];
    for (int k = 0; k < MAX_DGRAMS && size >= 3; k++) {
        int type = data[0];
        size_t len = (size_t)data[1] << 8 | data[2];
        data += 3, size -= 3;
        if (len > size) len = size;
        const uint8_t *d = data;
        data += len, size -= len;
        if ((type & 3) == 1 || (type & 3) == 2) {
            media(d, len, (type & 3) == 2);
            continue;
        }
        if (type & RESIGN) {
            size_t n = resign_datagram(d, len, buf, sizeof buf);
            if (n > 0) d = buf, len = n;
        }
        control(d, len);
    }
    return 0;
}

/* --- Seeds: bob talks (notification, media, RTCP), the group identity delivers a GMK ---------- */

static void record(uint8_t *out, size_t *n, int type, const uint8_t *d, size_t len) {
    out[(*n)++] = (uint8_t)type;
    out[(*n)++] = (uint8_t)(len >> 8);
    out[(*n)++] = (uint8_t)len;
    memcpy(out + *n, d, len);
    *n += len;
}

static void write_seeds(const char *dir, member_t *alice) {
    static uint8_t s[16384], d[4096], m[2048];
    static member_t bob;
    uint8_t payload[160];
    size_t n = 0, len = 0, mlen = 0;
    member_new(&bob, BOB);
    mcsec_call_t *talker = call_new(&bob);
    memset(payload, 0xff, sizeof payload);
    if (mcsec_call_talk(talker, d, sizeof d, &len) != MCSEC_OK ||
        mcsec_call_send_media(talker, 0, payload, sizeof payload, 160, 1, m, sizeof m, &mlen) !=
            MCSEC_OK)
        fuzz_die("talk");
    record(s, &n, RESIGN, d, len);
    record(s, &n, 1, m, mlen);
    if (mcsec_call_send_media(talker, 0, payload, sizeof payload, 160, 0, m, sizeof m, &mlen) !=
        MCSEC_OK)
        fuzz_die("media");
    record(s, &n, 1, m, mlen);
    if (mcsec_call_send_rtcp(talker, m, sizeof m, &mlen) != MCSEC_OK) fuzz_die("rtcp");
    record(s, &n, 2, m, mlen);
    record(s, &n, 0, d, len); /* the repeat for late joiners */
    fuzz_seed(dir, "talk_burst", -1, s, n);

    /* The same notification in AES-CM, alone. */
    mcsec_call_free(talker);
    mcsec_call_config_t cfg = {.group_uri = GROUP, .suite = MCSEC_SRTP_AES_CM_128_HMAC_SHA1_80};
    if (mcsec_call_new(&talker, bob.h, &cfg) != MCSEC_OK ||
        mcsec_call_talk(talker, d, sizeof d, &len) != MCSEC_OK)
        fuzz_die("talk");
    n = 0;
    record(s, &n, RESIGN, d, len);
    fuzz_seed(dir, "notification_aes_cm", -1, s, n);
    mcsec_call_free(talker);

    /* An ad-hoc leader's GMK delivery to alice (signed by the group identity). */
    static const uint8_t gmk[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
    mcsec_sakke_sender_t *sakke = NULL;
    mcsec_key_params_t kp;
    memset(&kp, 0, sizeof kp);
    kp.key_type = MCSEC_PURPOSE_GMK;
    snprintf(kp.group_id, sizeof kp.group_id, "%s", GROUP);
    mcsec_gmk_sender_t tx = {.initiator_uri = GROUP,
                             .kms_uri = FW_KMS_URI,
                             .key_period = FW_PERIOD,
                             .signer = group_signer};
    if (mcsec_sakke_sender_new(&sakke, world.init.Z) != MCSEC_OK) fuzz_die("sakke");
    tx.sakke = sakke;
    if (mcsec_gmk_build(&tx, ALICE, gmk, 0x00abcdefu, &kp, clock_fn(NULL) << 32, m, sizeof m,
                        &mlen) != MCSEC_OK ||
        mcsec_call_gmk_datagram(GROUP, ALICE, m, mlen, d, sizeof d, &len) != MCSEC_OK)
        fuzz_die("gmk delivery");
    n = 0;
    record(s, &n, RESIGN, d, len);
    fuzz_seed(dir, "gmk_delivery", -1, s, n);
    mcsec_sakke_sender_free(sakke);
    (void)alice;
}
