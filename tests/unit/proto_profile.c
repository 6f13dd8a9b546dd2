/* 3GPP message profiles: GMK / CSK / PCK I_MESSAGE and GSK message round trips with real keys
 * from a test KMS, every bad input class with its exact status, a tampered octet at every
 * offset, and build / open timings (printed, not asserted).
 *
 * The KMS secrets are fixed (below) so that the fuzz targets (tests/fuzz/fuzz_gmk_open.c,
 * fuzz_gsk_open.c, which repeat these constants) can open the seed corpus that
 * `test_proto_profile --write-corpus DIR` writes to DIR/gmk_open and DIR/gsk_open. */
#include <sys/stat.h>
#include <time.h>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/obj_mac.h>

#include "mcsec/profile.h"
#include "mcsec/secmem.h"
#include "test.h"

/* --- The test world (repeated in the fuzz targets) --------------------------------------- */
#define KMS_URI "kms.example.org"
#define GROUP_URI "sip:fire-north@example.org" /* the group identity: signs GMK messages */
#define ALICE_URI "sip:alice@example.org"
#define BOB_URI "sip:bob@example.org"
#define KEY_PERIOD 2592000ull
#define NOW 3900000000ull /* NTP seconds */
#define PN (NOW / KEY_PERIOD)
static const uint8_t z_tail[16] = {0x5a, 0x17, 0x3c, 0x99, 0x01, 0x23, 0x45, 0x67,
                                   0x89, 0xab, 0xcd, 0xef, 0x10, 0x32, 0x54, 0x76};
static const uint8_t ksak_fixed[32] = {0x1f, 0x2e, 0x3d, 0x4c, 0x5b, 0x6a, 0x79, 0x88,
                                       0x97, 0xa6, 0xb5, 0xc4, 0xd3, 0xe2, 0xf1, 0x00,
                                       0x0f, 0x1e, 0x2d, 0x3c, 0x4b, 0x5a, 0x69, 0x78,
                                       0x87, 0x96, 0xa5, 0xb4, 0xc3, 0xd2, 0xe1, 0xf0};

static mcsec_kms_params_t kms;
static uint8_t z[MCSEC_SAKKE_SCALAR_LEN];
static mcsec_sakke_sender_t *sakke;
static mcsec_eccsi_signer_t *gms_signer[2]; /* periods PN, PN + 1 */
static mcsec_eccsi_signer_t *bob_signer;
static uint8_t bob_uid[MCSEC_UID_LEN];
static mcsec_profile_receiver_t *alice;
static uint64_t test_now = NOW;

static uint64_t test_clock(void *user) {
    (void)user;
    return test_now;
}

static void die(const char *what, mcsec_status_t st) {
    fprintf(stderr, "setup: %s: %s\n", what, mcsec_strerror(st));
    exit(2);
}

static void uid_of(const char *uri, uint64_t pn, uint8_t uid[MCSEC_UID_LEN]) {
    mcsec_status_t st = mcsec_uid_format2(uri, KMS_URI, KEY_PERIOD, 0, pn, uid);
    if (st != MCSEC_OK) die("uid", st);
}

static mcsec_eccsi_signer_t *signer_for(const char *uri, uint64_t pn) {
    uint8_t uid[MCSEC_UID_LEN], ssk[32], pvt[65];
    mcsec_eccsi_signer_t *s = NULL;
    uid_of(uri, pn, uid);
    mcsec_status_t st = mcsec_eccsi_issue(ksak_fixed, kms.kpak, uid, 32, ssk, pvt);
    if (st == MCSEC_OK) st = mcsec_eccsi_signer_new(&s, kms.kpak, uid, 32, ssk, pvt);
    if (st != MCSEC_OK) die("eccsi signer", st);
    mcsec_memzero(ssk, sizeof ssk);
    return s;
}

static void keyset_for(const char *uri, uint64_t pn, mcsec_keyset_t *ks) {
    memset(ks, 0, sizeof *ks);
    snprintf(ks->user_uri, sizeof ks->user_uri, "%s", uri);
    ks->period_no = pn;
    uid_of(uri, pn, ks->uid);
    mcsec_status_t st = mcsec_sakke_issue_rsk(z, ks->uid, 32, ks->rsk);
    if (st != MCSEC_OK) die("rsk", st);
}

static mcsec_profile_receiver_t *receiver_for(const char *uri) {
    mcsec_profile_receiver_t *rx;
    mcsec_keyset_t ks;
    mcsec_status_t st = mcsec_profile_receiver_new(&rx, &kms, uri);
    if (st != MCSEC_OK) die("receiver", st);
    keyset_for(uri, PN, &ks);
    if ((st = mcsec_profile_receiver_add_keyset(rx, &ks)) != MCSEC_OK) die("add keyset", st);
    mcsec_memzero(&ks, sizeof ks);
    mcsec_profile_receiver_set_clock(rx, test_clock, NULL);
    return rx;
}

/* KPAK = [KSAK]G on P-256 (eccsi.h has no such helper: a KMS generates both at once). */
static int kpak_of(const uint8_t ksak[32], uint8_t kpak[65]) {
    EC_GROUP *g = EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1);
    EC_POINT *pt = g ? EC_POINT_new(g) : NULL;
    BIGNUM *k = BN_bin2bn(ksak, 32, NULL);
    int ok = pt && k && EC_POINT_mul(g, pt, k, NULL, NULL, NULL) == 1 &&
             EC_POINT_point2oct(g, pt, POINT_CONVERSION_UNCOMPRESSED, kpak, 65, NULL) == 65;
    BN_clear_free(k);
    EC_POINT_free(pt);
    EC_GROUP_free(g);
    return ok;
}

static void setup(void) {
    memset(&kms, 0, sizeof kms);
    snprintf(kms.kms_uri, sizeof kms.kms_uri, "%s", KMS_URI);
    kms.user_id_format = 2;
    kms.key_period = KEY_PERIOD;
    memcpy(z + sizeof z - sizeof z_tail, z_tail, sizeof z_tail);
    mcsec_status_t st = mcsec_sakke_kms_public(z, kms.Z);
    if (st != MCSEC_OK) die("sakke kms", st);
    if (!kpak_of(ksak_fixed, kms.kpak)) die("kpak", MCSEC_ERR_INTERNAL);
    if ((st = mcsec_sakke_sender_new(&sakke, kms.Z)) != MCSEC_OK) die("sakke sender", st);
}

/* --- Helpers ------------------------------------------------------------------------------- */

static const uint8_t gmk_key[16] = {0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,
                                    0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10};
#define GMK_ID 0x0a0b0c0du
#define CSK_ID 0x2a0b0c0du
#define PCK_ID 0x1a0b0c0du

typedef struct {
    uint8_t b[2048];
    size_t n;
} msgbuf_t;

static mcsec_gmk_sender_t sender(uint64_t pn_index) {
    return (mcsec_gmk_sender_t){.initiator_uri = GROUP_URI, .kms_uri = KMS_URI,
                                .key_period = KEY_PERIOD, .key_period_offset = 0,
                                .signer = gms_signer[pn_index], .sakke = sakke};
}

static mcsec_key_params_t params_for(unsigned kind) {
    mcsec_key_params_t kp;
    memset(&kp, 0, sizeof kp);
    kp.key_type = (uint8_t)kind;
    kp.status = 0;
    kp.activation = (NOW - 60) << 32;
    kp.expiry = (NOW + 86400) << 32;
    snprintf(kp.text, sizeof kp.text, "fire-north talkgroup");
    snprintf(kp.group_id, sizeof kp.group_id, "%s", GROUP_URI);
    return kp;
}

/* A key distribution message for member at NTP seconds secs (signer period index pi). */
static void build_key_msg(msgbuf_t *m, const char *member, uint32_t key_id, uint64_t secs, int pi) {
    mcsec_gmk_sender_t tx = sender((uint64_t)pi);
    mcsec_key_params_t kp = params_for(mcsec_purpose_tag(key_id));
    mcsec_status_t st = mcsec_gmk_build(&tx, member, gmk_key, key_id, &kp, secs << 32 | 0x1234,
                                        m->b, sizeof m->b, &m->n);
    if (st != MCSEC_OK) die("gmk build", st);
}

static mcsec_mikey_msg_t pm;

/* Re-signs a (modified) message in place: over the RFC 3830 span or the alternative one. */
static void resign(msgbuf_t *m, const mcsec_eccsi_signer_t *s, int alt) {
    mcsec_status_t st = mcsec_mikey_parse(m->b, m->n, &pm);
    if (st != MCSEC_OK) die("resign parse", st);
    mcsec_mikey_span_t d = alt ? pm.signed_data_alt : pm.signed_data;
    uint8_t sig[MCSEC_ECCSI_SIG_LEN];
    if ((st = mcsec_eccsi_sign(s, d.p, d.len, sig)) != MCSEC_OK) die("resign", st);
    memcpy((uint8_t *)pm.payload[pm.count - 1].u.sign.sig.p, sig, sizeof sig);
}

/* Offset of the first payload of a type (and IDR role if type is IDR). */
static size_t off_of(const msgbuf_t *m, uint8_t type, uint8_t role) {
    mcsec_status_t st = mcsec_mikey_parse(m->b, m->n, &pm);
    if (st != MCSEC_OK) die("off_of parse", st);
    for (size_t i = 0; i < pm.count; i++)
        if (pm.payload[i].type == type && (type != MCSEC_MIKEY_PT_IDR || pm.payload[i].u.idr.role == role))
            return pm.payload[i].off;
    die("off_of: no such payload", MCSEC_ERR_STRUCTURE);
    return 0;
}

static double ms_since(const struct timespec *a) {
    struct timespec z2;
    clock_gettime(CLOCK_MONOTONIC, &z2);
    return (double)(z2.tv_sec - a->tv_sec) * 1e3 + (double)(z2.tv_nsec - a->tv_nsec) / 1e6;
}

/* --- GMK / CSK / PCK ----------------------------------------------------------------------- */

static void test_round_trips(void) {
    static const uint32_t ids[3] = {GMK_ID, CSK_ID, PCK_ID};
    static const unsigned kinds[3] = {MCSEC_PURPOSE_GMK, MCSEC_PURPOSE_CSK, MCSEC_PURPOSE_PCK};
    static const uint8_t css[3] = {4, 6, 0};
    for (int i = 0; i < 3; i++) {
        msgbuf_t m;
        mcsec_gmk_result_t r;
        build_key_msg(&m, ALICE_URI, ids[i], NOW, 0);
        CHECK_STATUS(mcsec_gmk_open(alice, m.b, m.n, 0, &r), MCSEC_OK);
        CHECK(r.check == MCSEC_CHECK_NONE && r.why[0] == 0);
        CHECK(r.kind == kinds[i] && r.cs_id == css[i] && r.key_id == ids[i]);
        CHECK_MEM(r.key, gmk_key, 16);
        CHECK(r.fresh == 1 && r.replayed == 0 && r.coverage == MCSEC_SIG_RFC3830);
        CHECK(r.period_no == PN && r.timestamp == (NOW << 32 | 0x1234));
        CHECK(r.key_params_present && r.key_params_decoded && r.group_id_bound);
        CHECK(r.key_params.key_type == kinds[i] && r.key_params.activation == (NOW - 60) << 32);
        CHECK(r.key_params.expiry == (NOW + 86400) << 32 && r.key_params.status == 0);
        CHECK(strcmp(r.key_params.text, "fire-north talkgroup") == 0);
        CHECK(strcmp(r.key_params.group_id, GROUP_URI) == 0);
        uint8_t uid[32];
        uid_of(ALICE_URI, PN, uid);
        CHECK(r.responder_uid.len == 32 && memcmp(r.responder_uid.p, uid, 32) == 0);
        uid_of(GROUP_URI, PN, uid);
        CHECK(r.initiator_uid.len == 32 && memcmp(r.initiator_uid.p, uid, 32) == 0);
        if (kinds[i] == MCSEC_PURPOSE_GMK) {
            uint32_t guk;
            CHECK_STATUS(mcsec_guk_id(gmk_key, 16, GMK_ID, ALICE_URI, &guk), MCSEC_OK);
            CHECK(r.csb_id == guk && r.csb_id != GMK_ID && mcsec_purpose_tag(guk) == 0);
        } else {
            CHECK(r.csb_id == ids[i]);
        }
        mcsec_gmk_result_wipe(&r);
        CHECK(r.key[0] == 0 && r.key[15] == 0);
        /* Replay of the same message, then a diagnostic open of it. */
        CHECK_STATUS(mcsec_gmk_open(alice, m.b, m.n, 0, &r), MCSEC_ERR_REPLAY);
        CHECK(r.check == MCSEC_CHECK_REPLAY && r.key[0] == 0);
        CHECK_STATUS(mcsec_gmk_open(alice, m.b, m.n, MCSEC_OPEN_DIAGNOSTIC, &r), MCSEC_OK);
        CHECK(r.replayed == 1 && r.fresh == 1 && memcmp(r.key, gmk_key, 16) == 0);
    }
    /* NULL key parameters: defaults. Expect flags. */
    msgbuf_t m;
    mcsec_gmk_result_t r;
    mcsec_gmk_sender_t tx = sender(0);
    CHECK_STATUS(mcsec_gmk_build(&tx, ALICE_URI, gmk_key, GMK_ID, NULL, NOW << 32, m.b, sizeof m.b, &m.n),
                 MCSEC_OK);
    CHECK_STATUS(mcsec_gmk_open(alice, m.b, m.n, MCSEC_OPEN_EXPECT_GMK, &r), MCSEC_OK);
    CHECK(r.key_params_decoded && r.key_params.activation == 0 && r.key_params.text[0] == 0 &&
          r.key_params.group_id[0] == 0 && r.group_id_bound == 0);
    build_key_msg(&m, ALICE_URI, CSK_ID, NOW, 0);
    CHECK_STATUS(mcsec_gmk_open(alice, m.b, m.n, MCSEC_OPEN_EXPECT_GMK | MCSEC_OPEN_EXPECT_PCK, &r),
                 MCSEC_ERR_PURPOSE);
    CHECK(r.check == MCSEC_CHECK_PURPOSE);
    CHECK_STATUS(mcsec_gmk_open(alice, m.b, m.n, MCSEC_OPEN_EXPECT_CSK, &r), MCSEC_OK);
}

static void test_build_errors(void) {
    msgbuf_t m;
    mcsec_gmk_sender_t tx = sender(0);
    mcsec_key_params_t kp = params_for(MCSEC_PURPOSE_GMK);
    CHECK_STATUS(mcsec_gmk_build(&tx, ALICE_URI, gmk_key, 0x3a0b0c0d, NULL, NOW << 32, m.b, sizeof m.b, &m.n),
                 MCSEC_ERR_PURPOSE);
    CHECK_STATUS(mcsec_gmk_build(&tx, ALICE_URI, gmk_key, CSK_ID, &kp, NOW << 32, m.b, sizeof m.b, &m.n),
                 MCSEC_ERR_PURPOSE);
    CHECK_STATUS(mcsec_gmk_build(&tx, ALICE_URI, gmk_key, GMK_ID, &kp, NOW << 32, m.b, 300, &m.n),
                 MCSEC_ERR_BAD_LENGTH);
    CHECK_STATUS(mcsec_gmk_build(NULL, ALICE_URI, gmk_key, GMK_ID, &kp, NOW << 32, m.b, sizeof m.b, &m.n),
                 MCSEC_ERR_BAD_INPUT);
    CHECK_STATUS(mcsec_gsk_build(bob_signer, BOB_URI, bob_uid, GROUP_URI, gmk_key, CSK_ID, gmk_key,
                                 0x12345678, NOW << 32, m.b, sizeof m.b, &m.n),
                 MCSEC_ERR_PURPOSE);
}

static mcsec_status_t fetch_keyset(void *user, uint64_t pn, mcsec_keyset_t *out) {
    (void)user;
    if (pn != PN + 1) return MCSEC_ERR_KEY_PERIOD;
    keyset_for(ALICE_URI, pn, out);
    return MCSEC_OK;
}

static void expect_open(const msgbuf_t *m, unsigned flags, mcsec_status_t want,
                        mcsec_profile_check_t chk, int line) {
    mcsec_gmk_result_t r;
    mcsec_status_t got = mcsec_gmk_open(alice, m->b, m->n, flags, &r);
    if (got == want && r.check == chk) {
        test_passed++;
    } else {
        test_failed++;
        fprintf(stderr, "line %d: open gave %d (%s) at %s (%s), expected %d at %s\n", line, got,
                mcsec_strerror(got), mcsec_profile_check_name(r.check), r.why, want,
                mcsec_profile_check_name(chk));
    }
    mcsec_gmk_result_wipe(&r);
}
#define EXPECT_OPEN(m, f, want, chk) expect_open(m, f, want, chk, __LINE__)

static void test_bad_inputs(void) {
    msgbuf_t m, c;
    mcsec_gmk_result_t r;
    build_key_msg(&m, ALICE_URI, GMK_ID, NOW, 0);

    /* Codec statuses pass through. */
    c = m, c.n--;
    EXPECT_OPEN(&c, 0, MCSEC_ERR_TRUNCATED, MCSEC_CHECK_PARSE);
    c = m, c.n = 5;
    EXPECT_OPEN(&c, 0, MCSEC_ERR_TRUNCATED, MCSEC_CHECK_PARSE);
    c = m, c.b[c.n++] = 0;
    EXPECT_OPEN(&c, 0, MCSEC_ERR_TRAILING_DATA, MCSEC_CHECK_PARSE);
    c = m, c.b[off_of(&c, MCSEC_MIKEY_PT_SAKKE, 0) + 1] = 2; /* SAKKE params 2 */
    EXPECT_OPEN(&c, 0, MCSEC_ERR_UNSUPPORTED, MCSEC_CHECK_PARSE);

    /* Profile structure. */
    c = m, c.b[1] = MCSEC_MIKEY_DT_PSK_INIT;
    EXPECT_OPEN(&c, 0, MCSEC_ERR_STRUCTURE, MCSEC_CHECK_STRUCTURE);
    c = m, c.b[off_of(&c, MCSEC_MIKEY_PT_SAKKE, 0) + 2] = MCSEC_MIKEY_SAKKE_SCHEME_TEL;
    resign(&c, gms_signer[0], 0);
    EXPECT_OPEN(&c, 0, MCSEC_ERR_STRUCTURE, MCSEC_CHECK_STRUCTURE);
    c = m, c.b[off_of(&c, MCSEC_MIKEY_PT_GENERAL_EXT, 0) + 1] = 6;
    EXPECT_OPEN(&c, 0, MCSEC_ERR_STRUCTURE, MCSEC_CHECK_STRUCTURE);
    c = m, c.b[10] = 9; /* CS-ID 9: no 3GPP kind */
    EXPECT_OPEN(&c, 0, MCSEC_ERR_STRUCTURE, MCSEC_CHECK_STRUCTURE);

    /* SP policy: parameter i's value is at SP + 5 + 3 i + 2. */
    size_t sp = off_of(&m, MCSEC_MIKEY_PT_SP, 0) + 5;
    c = m, c.b[sp + 3 * 0 + 2] = 0; /* encryption NULL */
    resign(&c, gms_signer[0], 0);
    EXPECT_OPEN(&c, 0, MCSEC_ERR_POLICY, MCSEC_CHECK_POLICY);
    c = m, c.b[sp + 3 * 2 + 2] = 0; /* authentication NULL */
    resign(&c, gms_signer[0], 0);
    EXPECT_OPEN(&c, 0, MCSEC_ERR_POLICY, MCSEC_CHECK_POLICY);
    c = m, c.b[sp + 3 * 8 + 2] = 8; /* AEAD tag 8 octets */
    resign(&c, gms_signer[0], 0);
    EXPECT_OPEN(&c, 0, MCSEC_ERR_POLICY, MCSEC_CHECK_POLICY);
    c = m, c.b[sp + 3 * 1 + 2] = 32; /* AES-256 session key: not the profile's */
    EXPECT_OPEN(&c, 0, MCSEC_ERR_POLICY, MCSEC_CHECK_POLICY);

    /* Purpose: a PCK-ID (tag 1) under the CSK CS-ID 6 (both have a 4-octet SPI). */
    build_key_msg(&c, ALICE_URI, PCK_ID, NOW, 0);
    c.b[10] = 6;
    resign(&c, gms_signer[0], 0);
    EXPECT_OPEN(&c, 0, MCSEC_ERR_PURPOSE, MCSEC_CHECK_PURPOSE);

    /* Signature: unsigned change, wrong signer, configured signer. */
    c = m, c.b[off_of(&c, MCSEC_MIKEY_PT_RAND, 0) + 2] ^= 1;
    EXPECT_OPEN(&c, 0, MCSEC_ERR_VERIFY, MCSEC_CHECK_SIGNATURE);
    CHECK_STATUS(mcsec_gmk_open(alice, c.b, c.n, 0, &r), MCSEC_ERR_VERIFY);
    CHECK(r.sig_status == MCSEC_ERR_VERIFY);
    c = m;
    resign(&c, bob_signer, 0);
    EXPECT_OPEN(&c, 0, MCSEC_ERR_VERIFY, MCSEC_CHECK_SIGNATURE);
    CHECK_STATUS(mcsec_profile_receiver_set_signer(alice, "sip:other-group@example.org"), MCSEC_OK);
    EXPECT_OPEN(&m, 0, MCSEC_ERR_VERIFY, MCSEC_CHECK_SIGNATURE);
    CHECK_STATUS(mcsec_profile_receiver_set_signer(alice, GROUP_URI), MCSEC_OK);
    msgbuf_t ok;
    build_key_msg(&ok, ALICE_URI, GMK_ID, NOW, 0);
    EXPECT_OPEN(&ok, 0, MCSEC_OK, MCSEC_CHECK_NONE);
    CHECK_STATUS(mcsec_profile_receiver_set_signer(alice, NULL), MCSEC_OK);
    /* IDR 6 naming another KMS: we have no KPAK for it. */
    msgbuf_t o;
    mcsec_gmk_sender_t tx = sender(0);
    tx.kms_uri = "kms.example.net";
    CHECK_STATUS(mcsec_gmk_build(&tx, ALICE_URI, gmk_key, GMK_ID, NULL, NOW << 32, o.b, sizeof o.b, &o.n),
                 MCSEC_OK);
    EXPECT_OPEN(&o, 0, MCSEC_ERR_UNKNOWN_KEY, MCSEC_CHECK_SIGNATURE);

    /* Signature over HDR .. last octet before SIGN: accepted and reported. */
    build_key_msg(&c, ALICE_URI, GMK_ID, NOW, 0);
    resign(&c, gms_signer[0], 1);
    CHECK_STATUS(mcsec_gmk_open(alice, c.b, c.n, 0, &r), MCSEC_OK);
    CHECK(r.coverage == MCSEC_SIG_WITHOUT_SIGN_HEADER);
    CHECK(strcmp(mcsec_sig_coverage_name(r.coverage), "without-sign-header") == 0);
    CHECK(strcmp(mcsec_sig_coverage_name(MCSEC_SIG_RFC3830), "rfc3830") == 0);

    /* Recipient: a message for Bob. */
    build_key_msg(&c, BOB_URI, GMK_ID, NOW, 0);
    EXPECT_OPEN(&c, 0, MCSEC_ERR_WRONG_RECIPIENT, MCSEC_CHECK_RECIPIENT);

    /* Key period: T in period PN + 1, for which Alice has no key set (yet). */
    uint64_t t2 = (PN + 1) * KEY_PERIOD + 10;
    build_key_msg(&c, ALICE_URI, GMK_ID, t2, 1);
    test_now = t2;
    EXPECT_OPEN(&c, 0, MCSEC_ERR_KEY_PERIOD, MCSEC_CHECK_KEY_PERIOD);
    /* ... and with a fetch callback that has it (how the keystore feeds a receiver). */
    mcsec_profile_receiver_set_fetch(alice, fetch_keyset, NULL);
    EXPECT_OPEN(&c, 0, MCSEC_OK, MCSEC_CHECK_NONE);
    mcsec_profile_receiver_set_fetch(alice, NULL, NULL);
    test_now = NOW;

    /* Freshness. */
    build_key_msg(&c, ALICE_URI, GMK_ID, NOW, 0);
    test_now = NOW + MCSEC_PROFILE_WINDOW_DEFAULT + 1;
    EXPECT_OPEN(&c, 0, MCSEC_ERR_STALE, MCSEC_CHECK_FRESHNESS);
    CHECK_STATUS(mcsec_gmk_open(alice, c.b, c.n, MCSEC_OPEN_DIAGNOSTIC, &r), MCSEC_OK);
    CHECK(r.fresh == 0 && memcmp(r.key, gmk_key, 16) == 0);
    test_now = NOW - MCSEC_PROFILE_WINDOW_DEFAULT - 1; /* from the future */
    EXPECT_OPEN(&c, 0, MCSEC_ERR_STALE, MCSEC_CHECK_FRESHNESS);
    test_now = NOW + MCSEC_PROFILE_WINDOW_DEFAULT;
    EXPECT_OPEN(&c, 0, MCSEC_OK, MCSEC_CHECK_NONE); /* the edge of the window; diag did not record */
    test_now = NOW;

    /* Undecodable key parameters: accepted, flagged. Text length octet flipped. */
    build_key_msg(&c, ALICE_URI, GMK_ID, NOW, 0);
    c.b[off_of(&c, MCSEC_MIKEY_PT_GENERAL_EXT, 0) + 4 + 21] ^= 0x01;
    resign(&c, gms_signer[0], 0);
    CHECK_STATUS(mcsec_gmk_open(alice, c.b, c.n, 0, &r), MCSEC_OK);
    CHECK(r.key_params_present == 1 && r.key_params_decoded == 0 && r.group_id_bound == 0);
    CHECK(memcmp(r.key, gmk_key, 16) == 0);

    /* GUK-ID: a CSB ID that is not the GUK-ID (SPI patched along, re-signed). */
    build_key_msg(&c, ALICE_URI, GMK_ID, NOW, 0);
    c.b[7] ^= 0x01, c.b[10 + 3 + 1 + 2 + 1 + 7] ^= 0x01;
    resign(&c, gms_signer[0], 0);
    EXPECT_OPEN(&c, 0, MCSEC_ERR_VERIFY, MCSEC_CHECK_KEY_ID);

    /* Tampered SAKKE data, re-signed: the decapsulation check catches it. */
    build_key_msg(&c, ALICE_URI, GMK_ID, NOW, 0);
    c.b[off_of(&c, MCSEC_MIKEY_PT_SAKKE, 0) + 5 + 257 + 3] ^= 0x80; /* in H */
    resign(&c, gms_signer[0], 0);
    EXPECT_OPEN(&c, 0, MCSEC_ERR_DECAPSULATE, MCSEC_CHECK_DECRYPT);
}

static void test_tamper_every_octet(void) {
    msgbuf_t m, c;
    mcsec_gmk_result_t r;
    build_key_msg(&m, ALICE_URI, GMK_ID, NOW, 0);
    int hist[64] = {0}, ok = 0;
    for (size_t i = 0; i < m.n; i++) {
        c = m;
        c.b[i] ^= 0xa5;
        mcsec_status_t st = mcsec_gmk_open(alice, c.b, c.n, 0, &r);
        if (st == MCSEC_OK) ok++, fprintf(stderr, "tampered octet %zu accepted\n", i);
        hist[(unsigned)st < 64 ? st : 63]++;
    }
    CHECK(ok == 0);
    CHECK(hist[MCSEC_ERR_VERIFY] > (int)m.n / 2);
    printf("GMK tamper (%zu offsets):", m.n);
    for (int s = 0; s < 64; s++)
        if (hist[s]) printf(" %s=%d", s == 63 ? "other" : mcsec_strerror((mcsec_status_t)s), hist[s]);
    printf("\n");
    /* The untampered message still opens (no tampered copy got into the replay cache). */
    EXPECT_OPEN(&m, 0, MCSEC_OK, MCSEC_CHECK_NONE);
}

/* --- GSK ------------------------------------------------------------------------------------- */

static const uint8_t gsk_key[16] = {0xf0, 0xe1, 0xd2, 0xc3, 0xb4, 0xa5, 0x96, 0x87,
                                    0x78, 0x69, 0x5a, 0x4b, 0x3c, 0x2d, 0x1e, 0x0f};
#define GSK_ID 0x0c0ffee0u
static uint32_t store_status;
static int member_ok = 1;

static mcsec_status_t lookup_gmk(void *user, uint32_t gmk_id, mcsec_gmk_record_t *out) {
    (void)user;
    memset(out, 0, sizeof *out);
    if (gmk_id != GMK_ID) return MCSEC_ERR_UNKNOWN_KEY;
    snprintf(out->group_uri, sizeof out->group_uri, "%s", GROUP_URI);
    memcpy(out->gmk, gmk_key, 16);
    out->gmk_id = GMK_ID;
    out->status = store_status;
    return MCSEC_OK;
}

static int members(void *user, const char *group, const char *talker) {
    (void)user;
    return member_ok && strcmp(group, GROUP_URI) == 0 && strcmp(talker, BOB_URI) == 0;
}

static const mcsec_gsk_keys_t gsk_keys = {lookup_gmk, NULL, members, NULL};

static void build_gsk(msgbuf_t *m, const char *talker, const char *group, uint32_t gmk_id,
                      uint64_t secs) {
    mcsec_status_t st = mcsec_gsk_build(bob_signer, talker, bob_uid, group, gmk_key, gmk_id, gsk_key,
                                        GSK_ID, secs << 32, m->b, sizeof m->b, &m->n);
    if (st != MCSEC_OK) die("gsk build", st);
}

static void expect_gsk(const msgbuf_t *m, unsigned flags, mcsec_status_t want,
                       mcsec_profile_check_t chk, int line) {
    mcsec_gsk_result_t r;
    mcsec_status_t got = mcsec_gsk_open(alice, &gsk_keys, m->b, m->n, flags, &r);
    if (got == want && r.check == chk) {
        test_passed++;
    } else {
        test_failed++;
        fprintf(stderr, "line %d: gsk open gave %d (%s) at %s (%s), expected %d at %s\n", line,
                got, mcsec_strerror(got), mcsec_profile_check_name(r.check), r.why, want,
                mcsec_profile_check_name(chk));
    }
    mcsec_gsk_result_wipe(&r);
}
#define EXPECT_GSK(m, f, want, chk) expect_gsk(m, f, want, chk, __LINE__)

static void test_gsk(void) {
    msgbuf_t m, c;
    mcsec_gsk_result_t r;
    build_gsk(&m, BOB_URI, GROUP_URI, GMK_ID, NOW);
    CHECK_STATUS(mcsec_gsk_open(alice, &gsk_keys, m.b, m.n, 0, &r), MCSEC_OK);
    CHECK_MEM(r.gsk, gsk_key, 16);
    CHECK(r.gsk_id == GSK_ID && r.gmk_id == GMK_ID && r.fresh && !r.replayed);
    CHECK(strcmp(r.talker_uri, BOB_URI) == 0 && strcmp(r.group_uri, GROUP_URI) == 0);
    CHECK(r.talker_uid.len == 32 && memcmp(r.talker_uid.p, bob_uid, 32) == 0);
    CHECK(r.coverage == MCSEC_SIG_RFC3830 && r.period_no == PN);
    mcsec_gsk_result_wipe(&r);
    CHECK(r.gsk[0] == 0);
    EXPECT_GSK(&m, 0, MCSEC_ERR_REPLAY, MCSEC_CHECK_REPLAY);
    EXPECT_GSK(&m, MCSEC_OPEN_DIAGNOSTIC, MCSEC_OK, MCSEC_CHECK_NONE);

    /* The layout, payload by payload. */
    CHECK_STATUS(mcsec_mikey_parse(m.b, m.n, &pm), MCSEC_OK);
    static const uint8_t seq[] = {5, 11, 14, 14, 14, 14, 10, 1, 4};
    CHECK(pm.count == sizeof seq);
    for (size_t i = 0; i < pm.count && i < sizeof seq; i++)
        CHECK(pm.payload[i].type == seq[i]);
    CHECK(pm.hdr.data_type == 0 && pm.hdr.csb_id == GSK_ID && pm.hdr.prf == 1);

    build_gsk(&c, BOB_URI, GROUP_URI, 0x0bad0bad, NOW);
    EXPECT_GSK(&c, 0, MCSEC_ERR_UNKNOWN_KEY, MCSEC_CHECK_KEY_LOOKUP);
    build_gsk(&c, BOB_URI, "sip:other-group@example.org", GMK_ID, NOW);
    member_ok = 1;
    EXPECT_GSK(&c, 0, MCSEC_ERR_POLICY, MCSEC_CHECK_MEMBER); /* members() knows one group */
    build_gsk(&c, BOB_URI, GROUP_URI, GMK_ID, NOW);
    member_ok = 0;
    EXPECT_GSK(&c, 0, MCSEC_ERR_POLICY, MCSEC_CHECK_MEMBER);
    member_ok = 1;
    store_status = MCSEC_GMK_STATUS_REVOKED;
    EXPECT_GSK(&c, 0, MCSEC_ERR_EXPIRED, MCSEC_CHECK_KEY_LOOKUP);
    store_status = 0;
    build_gsk(&c, ALICE_URI, GROUP_URI, GMK_ID, NOW); /* Bob's key, Alice's name */
    EXPECT_GSK(&c, 0, MCSEC_ERR_VERIFY, MCSEC_CHECK_SIGNATURE);

    /* Bad KEMAC MAC (re-signed by the talker). */
    build_gsk(&c, BOB_URI, GROUP_URI, GMK_ID, NOW);
    CHECK_STATUS(mcsec_mikey_parse(c.b, c.n, &pm), MCSEC_OK);
    c.b[pm.payload[7].u.kemac.mac.p - c.b] ^= 0x01;
    resign(&c, bob_signer, 0);
    EXPECT_GSK(&c, 0, MCSEC_ERR_VERIFY, MCSEC_CHECK_DECRYPT);
    /* KEMAC algorithms: NULL encryption refused. */
    build_gsk(&c, BOB_URI, GROUP_URI, GMK_ID, NOW);
    c.b[off_of(&c, MCSEC_MIKEY_PT_KEMAC, 0) + 1] = MCSEC_MIKEY_ENCR_NULL;
    EXPECT_GSK(&c, 0, MCSEC_ERR_POLICY, MCSEC_CHECK_POLICY);
    /* IDRpsk naming a PCK: purpose. */
    build_gsk(&c, BOB_URI, GROUP_URI, GMK_ID, NOW);
    c.b[off_of(&c, MCSEC_MIKEY_PT_IDR, 4) + 5] = 0x1a;
    resign(&c, bob_signer, 0);
    EXPECT_GSK(&c, 0, MCSEC_ERR_PURPOSE, MCSEC_CHECK_PURPOSE);
    /* Wrong data type, trailing data, truncation. */
    build_gsk(&c, BOB_URI, GROUP_URI, GMK_ID, NOW);
    c.b[1] = MCSEC_MIKEY_DT_SAKKE;
    EXPECT_GSK(&c, 0, MCSEC_ERR_STRUCTURE, MCSEC_CHECK_STRUCTURE);
    build_gsk(&c, BOB_URI, GROUP_URI, GMK_ID, NOW);
    c.b[c.n++] = 0;
    EXPECT_GSK(&c, 0, MCSEC_ERR_TRAILING_DATA, MCSEC_CHECK_PARSE);
    c.n -= 2;
    EXPECT_GSK(&c, 0, MCSEC_ERR_TRUNCATED, MCSEC_CHECK_PARSE);
    /* Alternative signature coverage. */
    build_gsk(&c, BOB_URI, GROUP_URI, GMK_ID, NOW);
    resign(&c, bob_signer, 1);
    CHECK_STATUS(mcsec_gsk_open(alice, &gsk_keys, c.b, c.n, 0, &r), MCSEC_OK);
    CHECK(r.coverage == MCSEC_SIG_WITHOUT_SIGN_HEADER && memcmp(r.gsk, gsk_key, 16) == 0);
    /* Stale; diagnostic still decrypts. */
    build_gsk(&c, BOB_URI, GROUP_URI, GMK_ID, NOW - 3600);
    EXPECT_GSK(&c, 0, MCSEC_ERR_STALE, MCSEC_CHECK_FRESHNESS);
    CHECK_STATUS(mcsec_gsk_open(alice, &gsk_keys, c.b, c.n, MCSEC_OPEN_DIAGNOSTIC, &r), MCSEC_OK);
    CHECK(r.fresh == 0 && memcmp(r.gsk, gsk_key, 16) == 0);

    /* Every octet tampered. */
    build_gsk(&m, BOB_URI, GROUP_URI, GMK_ID, NOW);
    int ok = 0, verify = 0;
    for (size_t i = 0; i < m.n; i++) {
        c = m;
        c.b[i] ^= 0xa5;
        mcsec_status_t st = mcsec_gsk_open(alice, &gsk_keys, c.b, c.n, 0, &r);
        ok += st == MCSEC_OK;
        verify += st == MCSEC_ERR_VERIFY;
        if (st == MCSEC_OK) fprintf(stderr, "GSK tampered octet %zu accepted\n", i);
    }
    CHECK(ok == 0 && verify > (int)m.n / 2);
    printf("GSK tamper (%zu offsets): %d VERIFY, %zu other refusals\n", m.n, verify,
           m.n - (size_t)verify);
    EXPECT_GSK(&m, 0, MCSEC_OK, MCSEC_CHECK_NONE);
}

/* --- Replay cache ----------------------------------------------------------------------------- */

static void test_replay_cache(void) {
    mcsec_replay_t *rc;
    uint8_t rnd[16] = {1};
    CHECK_STATUS(mcsec_replay_new(&rc, 2), MCSEC_OK);
    CHECK(!mcsec_replay_seen(rc, rnd, 16, 7, 100));
    CHECK_STATUS(mcsec_replay_add(rc, rnd, 16, 7, 200, 100), MCSEC_OK);
    CHECK(mcsec_replay_seen(rc, rnd, 16, 7, 150));
    CHECK(!mcsec_replay_seen(rc, rnd, 16, 8, 150)); /* other CSB ID */
    CHECK_STATUS(mcsec_replay_add(rc, rnd, 16, 7, 200, 150), MCSEC_ERR_REPLAY);
    rnd[1] = 1;
    CHECK_STATUS(mcsec_replay_add(rc, rnd, 16, 7, 300, 150), MCSEC_OK);
    rnd[1] = 2;
    CHECK_STATUS(mcsec_replay_add(rc, rnd, 16, 7, 300, 150), MCSEC_ERR_NOMEM); /* full: closed */
    CHECK_STATUS(mcsec_replay_add(rc, rnd, 16, 7, 300, 201), MCSEC_OK);         /* first expired */
    rnd[1] = 0;
    CHECK(!mcsec_replay_seen(rc, rnd, 16, 7, 201));
    mcsec_replay_free(rc);
    mcsec_replay_free(NULL);
    CHECK_STATUS(mcsec_replay_new(&rc, 0), MCSEC_ERR_BAD_INPUT);
}

/* The hash table at its capacity, and through many generations of expired entries (tombstones,
 * rebuilds): every live entry is found, nothing else is, and a full table fails closed. */
static void test_replay_cache_churn(void) {
    enum { CAP = 4096, GENERATIONS = 6 };
    mcsec_replay_t *rc;
    uint8_t rnd[16] = {0};
    int all_added = 1, all_seen = 1, none_stale = 1, refused = 1;
    CHECK_STATUS(mcsec_replay_new(&rc, CAP), MCSEC_OK);
    for (uint32_t g = 0; g < GENERATIONS; g++) {
        uint64_t now = 1000 + 100 * g; /* entries of generation g live until now + 50 */
        for (uint32_t i = 0; i < CAP; i++) {
            memcpy(rnd, &i, sizeof i);
            all_added &= mcsec_replay_add(rc, rnd, 16, g, now + 50, now) == MCSEC_OK;
        }
        for (uint32_t i = 0; i < CAP; i++) {
            memcpy(rnd, &i, sizeof i);
            all_seen &= mcsec_replay_seen(rc, rnd, 16, g, now);
            all_seen &= mcsec_replay_add(rc, rnd, 16, g, now + 50, now) == MCSEC_ERR_REPLAY;
            none_stale &= !mcsec_replay_seen(rc, rnd, 16, g + 1000, now);
            if (g > 0) none_stale &= !mcsec_replay_seen(rc, rnd, 16, g - 1, now);
        }
        uint32_t extra = CAP + g;
        memcpy(rnd, &extra, sizeof extra);
        refused &= mcsec_replay_add(rc, rnd, 16, g, now + 50, now) == MCSEC_ERR_NOMEM;
    }
    CHECK(all_added);
    CHECK(all_seen);
    CHECK(none_stale);
    CHECK(refused);
    mcsec_replay_free(rc);
}

static void test_receiver(void) {
    mcsec_profile_receiver_t *rx;
    mcsec_keyset_t ks;
    CHECK_STATUS(mcsec_profile_receiver_new(&rx, &kms, ALICE_URI), MCSEC_OK);
    keyset_for(BOB_URI, PN, &ks);
    CHECK_STATUS(mcsec_profile_receiver_add_keyset(rx, &ks), MCSEC_ERR_KEY_INVALID); /* Bob's */
    keyset_for(ALICE_URI, PN, &ks);
    ks.rsk[100] ^= 1;
    CHECK(mcsec_profile_receiver_add_keyset(rx, &ks) != MCSEC_OK);
    for (uint64_t p = PN; p < PN + MCSEC_PROFILE_MAX_PERIODS + 2; p++) {
        keyset_for(ALICE_URI, p, &ks);
        CHECK_STATUS(mcsec_profile_receiver_add_keyset(rx, &ks), MCSEC_OK);
    }
    mcsec_memzero(&ks, sizeof ks);
    CHECK(strcmp(mcsec_profile_check_name(MCSEC_CHECK_KEY_PERIOD), "key-period") == 0);
    mcsec_profile_receiver_free(rx);
    mcsec_profile_receiver_free(NULL);
    CHECK_STATUS(mcsec_profile_receiver_new(&rx, &kms, ""), MCSEC_ERR_BAD_INPUT);
}

/* --- Timings (informational) ------------------------------------------------------------------ */

static void test_speed(void) {
    enum { N = 20 };
    static msgbuf_t m[N];
    struct timespec a;
    mcsec_gmk_result_t r;
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (int i = 0; i < N; i++)
        build_key_msg(&m[i], ALICE_URI, GMK_ID, NOW, 0);
    double b = ms_since(&a) / N;
    int bad = 0;
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (int i = 0; i < N; i++)
        bad += mcsec_gmk_open(alice, m[i].b, m[i].n, 0, &r) != MCSEC_OK;
    double o = ms_since(&a) / N;
    CHECK(bad == 0);
    msgbuf_t g;
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (int i = 0; i < N; i++)
        build_gsk(&g, BOB_URI, GROUP_URI, GMK_ID, NOW);
    double gb = ms_since(&a) / N;
    mcsec_gsk_result_t gr;
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (int i = 0; i < N; i++)
        bad += mcsec_gsk_open(alice, &gsk_keys, g.b, g.n, MCSEC_OPEN_DIAGNOSTIC, &gr) != MCSEC_OK;
    double go = ms_since(&a) / N;
    CHECK(bad == 0);
    printf("GMK I_MESSAGE %zu octets: build %.3f ms, open (parse+verify+decapsulate) %.3f ms\n",
           m[0].n, b, o);
    printf("GSK message %zu octets: build %.3f ms, open %.3f ms\n", g.n, gb, go);
}

/* --- Seed corpus ------------------------------------------------------------------------------ */

static int write_file(const char *dir, const char *sub, const char *name, const msgbuf_t *m) {
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, sub);
    mkdir(path, 0755);
    snprintf(path, sizeof path, "%s/%s/%s", dir, sub, name);
    FILE *f = fopen(path, "wb");
    if (f == NULL || fwrite(m->b, 1, m->n, f) != m->n || fclose(f) != 0) {
        fprintf(stderr, "cannot write %s\n", path);
        return 1;
    }
    return 0;
}

static int write_corpus(const char *dir) {
    msgbuf_t m;
    int bad = 0;
    build_key_msg(&m, ALICE_URI, GMK_ID, NOW, 0);
    bad |= write_file(dir, "gmk_open", "gmk", &m);
    resign(&m, gms_signer[0], 1);
    bad |= write_file(dir, "gmk_open", "gmk_sig_without_header", &m);
    build_key_msg(&m, ALICE_URI, CSK_ID, NOW, 0);
    bad |= write_file(dir, "gmk_open", "csk", &m);
    build_key_msg(&m, ALICE_URI, PCK_ID, NOW, 0);
    bad |= write_file(dir, "gmk_open", "pck", &m);
    build_key_msg(&m, BOB_URI, GMK_ID, NOW, 0);
    bad |= write_file(dir, "gmk_open", "gmk_other_recipient", &m);
    build_gsk(&m, BOB_URI, GROUP_URI, GMK_ID, NOW);
    bad |= write_file(dir, "gsk_open", "gsk", &m);
    build_gsk(&m, BOB_URI, GROUP_URI, 0x0bad0bad, NOW);
    bad |= write_file(dir, "gsk_open", "gsk_unknown_gmk", &m);
    return bad;
}

int main(int argc, char **argv) {
    setup();
    gms_signer[0] = signer_for(GROUP_URI, PN);
    gms_signer[1] = signer_for(GROUP_URI, PN + 1);
    bob_signer = signer_for(BOB_URI, PN);
    uid_of(BOB_URI, PN, bob_uid);
    alice = receiver_for(ALICE_URI);
    int rc;
    if (argc == 3 && strcmp(argv[1], "--write-corpus") == 0) {
        rc = write_corpus(argv[2]);
    } else {
        test_round_trips();
        test_build_errors();
        test_bad_inputs();
        test_tamper_every_octet();
        test_gsk();
        test_replay_cache();
        test_replay_cache_churn();
        test_receiver();
        test_speed();
        rc = test_summary();
    }
    mcsec_profile_receiver_free(alice);
    mcsec_eccsi_signer_free(gms_signer[0]);
    mcsec_eccsi_signer_free(gms_signer[1]);
    mcsec_eccsi_signer_free(bob_signer);
    mcsec_sakke_sender_free(sakke);
    return rc;
}
