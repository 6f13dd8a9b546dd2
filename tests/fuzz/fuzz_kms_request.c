/* libFuzzer target for the KMS request handler: kms_serve_request (kms/server.c), what a worker
 * of `mcsec-kms serve` does with one request from an admitted device (the PKMF dispatch, the
 * KmsRequest handler: revocation re-check, decoding, authorisation, clock check, issuance,
 * packing), on a real KMS store made once per process in a scratch directory.
 *
 * Input: a selector octet, then the request envelope.
 *   selector & 3: the calling device: 0 a handset (sip:alice@example.org, group fire-north),
 *                 1 a group manager (of fire-north and fire-south), 2 a revoked handset,
 *                 3 a device id that does not exist
 *   selector & 0x80: the front's verdict is (selector >> 2) & 7, at most 4 (too big, rate
 *                 limited, bad framing, rate limited without an audit row) instead of
 *                 "accepted"; selector & 0x40: 7 earlier refusals went unaudited
 * Checks: the response is one envelope of the request's kind (PkmfResponse for a PkmfRequest,
 * else KmsResponse) with version 1, the request id echoed (or 0 when refused before decoding),
 * a known status and a reason when it
 * is not OK; every refusal and issuance is audited but for verdict 4 (the row is written in a
 * transaction that is rolled back, so the store does not grow); issued documents parse and
 * name the URI asked for; a response carries documents only with status OK.
 * Seeds: corpus/kms_request. */
#include "fuzz_util.h"

#include <time.h>

#include "../../kms/internal.h"
#include "kms.pb-c.h"
#include "mcsec/kmsxml.h"
#include "mcsec/secmem.h"
#include "pkmf.pb-c.h"

#define ALICE "sip:alice@example.org"
#define GM "sip:gm@example.org"
#define NORTH "sip:fire-north@example.org"
#define SOUTH "sip:fire-south@example.org"
#define MAX_REQUEST 16384

static mcsec_kms_t *kms;
static kms_store_t *store;
static int64_t devices[4];
static char *doc, *init;

static int64_t enrol(const char *uri, mcsec_kms_role_t role, const char *const *groups, size_t n) {
    mcsec_kms_enroll_t req = {.uri = uri, .role = role, .groups = groups, .n_groups = n};
    mcsec_kms_credential_t cred;
    if (mcsec_kms_enroll(kms, &req, &cred) != MCSEC_OK) fuzz_die(mcsec_kms_last_error());
    mcsec_memzero(cred.curve_secret, sizeof cred.curve_secret);
    return cred.device_id;
}

static int known_status(int32_t st) {
    return st >= MCSEC_OK && st <= MCSEC_ERR_STALE;
}

static void check_docs(const Mcsec__Kms__KmsRequest *q, const Mcsec__Kms__KmsResponse *r) {
    static mcsec_kms_keyset_t sets[4];
    mcsec_kms_response_hdr_t hdr;
    mcsec_kms_init_t in;
    size_t n = 0;
    if (r->status != MCSEC_OK) {
        if (r->kms_xml.len != 0 || r->kms_init_xml.len != 0 || r->message == NULL ||
            r->message[0] == 0)
            abort();
        return;
    }
    if (q == NULL) abort(); /* OK for something that is not a KmsRequest */
    if (q->body_case == MCSEC__KMS__KMS_REQUEST__BODY_INIT) {
        if (mcsec_kmsxml_parse_init((const char *)r->kms_xml.data, r->kms_xml.len, &hdr, &in) !=
            MCSEC_OK)
            abort();
        return;
    }
    if (q->body_case != MCSEC__KMS__KMS_REQUEST__BODY_KEY_PROV ||
        mcsec_kmsxml_parse_keyprov((const char *)r->kms_xml.data, r->kms_xml.len, &hdr, sets, 4,
                                   &n) != MCSEC_OK ||
        n != 2 || strcmp(sets[0].user_uri, q->key_prov->user_uri) != 0 ||
        sets[1].key_period_no != sets[0].key_period_no + 1 ||
        mcsec_kmsxml_parse_init((const char *)r->kms_init_xml.data, r->kms_init_xml.len, &hdr,
                                &in) != MCSEC_OK)
        abort();
    mcsec_kms_keyset_wipe(sets, 4);
}

static void write_seeds(const char *dir);

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc, (void)argv;
    static const char *const alice_groups[] = {NORTH};
    static const char *const gm_groups[] = {NORTH, SOUTH};
    char dir[600];
    if (mcsec_init() != MCSEC_OK) fuzz_die("mcsec_init");
    fuzz_path(dir, sizeof dir, fuzz_tmpdir(), "kms");
    mcsec_kms_config_t cfg = {.dir = dir,
                              .kms_uri = "kms.example.org",
                              .endpoint = "tcp://127.0.0.1:7001",
                              .passphrase = "fuzz",
                              .passphrase_len = 4,
                              .kdf_log2n = 10,
                              .kdf_r = 1,
                              .kdf_p = 1};
    if (mcsec_kms_create(&kms, &cfg) != MCSEC_OK) fuzz_die(mcsec_kms_last_error());
    devices[0] = enrol(ALICE, MCSEC_KMS_ROLE_HANDSET, alice_groups, 1);
    devices[1] = enrol(GM, MCSEC_KMS_ROLE_GROUPMGR, gm_groups, 2);
    devices[2] = enrol("sip:mallory@example.org", MCSEC_KMS_ROLE_HANDSET, alice_groups, 1);
    devices[3] = 999999;
    if (mcsec_kms_revoke(kms, devices[2], "fuzz") != MCSEC_OK ||
        kms_store_connect(kms, &store) != MCSEC_OK || (doc = malloc(MCSEC_KMS_DOC_MAX)) == NULL ||
        (init = malloc(MCSEC_KMS_DOC_MAX)) == NULL)
        fuzz_die(mcsec_kms_last_error());
    const char *seeds = fuzz_corpus_dir();
    if (seeds != NULL) {
        write_seeds(seeds);
        exit(0);
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1 || size - 1 > MAX_REQUEST) return 0;
    int sel = data[0], verdict = (sel & 0x80) ? (sel >> 2) & 7 : 0;
    if (verdict > 4) verdict = 4;
    uint32_t unaudited = (sel & 0x40) ? 7 : 0;
    int64_t device = devices[sel & 3];
    data++, size--;

    int audit = -1;
    mcsec_kms_audit_t row;
    size_t len = 0;
    uint8_t *resp = kms_serve_request(kms, store, MAX_REQUEST, device, verdict, unaudited, data,
                                      size, doc, init, &len, &audit, &row);
    if (resp == NULL || (audit != 0 && audit != 1)) abort();

    /* Which envelope it was, as the service decides. */
    Mcsec__Pkmf__PkmfRequest *pq = mcsec__pkmf__pkmf_request__unpack(NULL, size, data);
    int pkmf = verdict == 0 && pq != NULL && pq->pkmf == 1;
    Mcsec__Kms__KmsRequest *q = pkmf ? NULL : mcsec__kms__kms_request__unpack(NULL, size, data);
    if (pkmf) {
        Mcsec__Pkmf__PkmfResponse *r = mcsec__pkmf__pkmf_response__unpack(NULL, len, resp);
        if (r == NULL || r->version != 1 || r->request_id != pq->request_id ||
            !known_status(r->status) || !audit ||
            (r->status != MCSEC_OK && (r->message == NULL || r->message[0] == 0)))
            abort();
        mcsec__pkmf__pkmf_response__free_unpacked(r, NULL);
    } else {
        Mcsec__Kms__KmsResponse *r = mcsec__kms__kms_response__unpack(NULL, len, resp);
        if (r == NULL || r->version != 1 || !known_status(r->status) ||
            /* echoed, or 0 when refused before decoding (docs/protocol.md) */
            ((r->request_id != 0 || r->status == MCSEC_OK) &&
             (q == NULL || r->request_id != q->request_id)) ||
            audit != (verdict != 4 &&
                      (r->status != MCSEC_OK ||
                       (q != NULL && q->body_case == MCSEC__KMS__KMS_REQUEST__BODY_KEY_PROV))))
            abort();
        if (verdict != 0 && r->status == MCSEC_OK) abort();
        check_docs(verdict == 0 ? q : NULL, r);
        mcsec__kms__kms_response__free_unpacked(r, NULL);
    }
    if (audit) {
        /* The row as the committer writes it, then undone. */
        if (row.action[0] == 0 || kms->ops->begin(store) != MCSEC_OK ||
            kms->ops->audit_add(store, &row) != MCSEC_OK)
            abort();
        kms->ops->rollback(store);
    }
    if (q != NULL) mcsec__kms__kms_request__free_unpacked(q, NULL);
    if (pq != NULL) mcsec__pkmf__pkmf_request__free_unpacked(pq, NULL);
    mcsec_memzero(resp, len);
    free(resp);
    return 0;
}

/* --- Seeds: the envelopes mcsec's KMS client sends, and a few it must refuse ------------------ */

static void seed_kms(const char *dir, const char *name, int sel, uint32_t version, int body,
                     const char *uri, uint64_t at) {
    uint8_t buf[1024];
    Mcsec__Kms__KmsRequest q = MCSEC__KMS__KMS_REQUEST__INIT;
    Mcsec__Kms__InitRequest i = MCSEC__KMS__INIT_REQUEST__INIT;
    Mcsec__Kms__KeyProvRequest k = MCSEC__KMS__KEY_PROV_REQUEST__INIT;
    q.version = version;
    q.request_id = 0x1122334455667788ull;
    if (body == 1) {
        q.body_case = MCSEC__KMS__KMS_REQUEST__BODY_INIT;
        q.init = &i;
    } else if (body == 2) {
        k.user_uri = (char *)uri;
        k.at_time = at;
        q.body_case = MCSEC__KMS__KMS_REQUEST__BODY_KEY_PROV;
        q.key_prov = &k;
    }
    if (mcsec__kms__kms_request__get_packed_size(&q) > sizeof buf) abort();
    fuzz_seed(dir, name, sel, buf, mcsec__kms__kms_request__pack(&q, buf));
}

static void write_seeds(const char *dir) {
    uint64_t now = (uint64_t)time(NULL) + MCSEC_KMS_NTP_UNIX_OFFSET;
    seed_kms(dir, "init", 0, 1, 1, NULL, 0);
    seed_kms(dir, "keyprov_own", 0, 1, 2, ALICE, 0);
    seed_kms(dir, "keyprov_own_at", 0, 1, 2, ALICE, now);
    seed_kms(dir, "keyprov_group_by_gm", 1, 1, 2, NORTH, 0);
    seed_kms(dir, "keyprov_other_refused", 0, 1, 2, "sip:bob@example.org", 0);
    seed_kms(dir, "keyprov_revoked", 2, 1, 2, "sip:mallory@example.org", 0);
    seed_kms(dir, "keyprov_unknown_device", 3, 1, 2, ALICE, 0);
    seed_kms(dir, "version2", 0, 2, 1, NULL, 0);
    seed_kms(dir, "no_body", 0, 1, 0, NULL, 0);
    seed_kms(dir, "too_big", 0x80 | (1 << 2), 1, 1, NULL, 0);
    seed_kms(dir, "rate_limited", 0x80 | (2 << 2), 1, 1, NULL, 0);

    uint8_t buf[256];
    Mcsec__Pkmf__PkmfRequest p = MCSEC__PKMF__PKMF_REQUEST__INIT;
    Mcsec__Pkmf__UeKeyRequest u = MCSEC__PKMF__UE_KEY_REQUEST__INIT;
    p.version = 1;
    p.request_id = 7;
    p.pkmf = 1;
    u.want = 1;
    p.body_case = MCSEC__PKMF__PKMF_REQUEST__BODY_UE_KEY;
    p.ue_key = &u;
    if (mcsec__pkmf__pkmf_request__get_packed_size(&p) > sizeof buf) abort();
    fuzz_seed(dir, "pkmf_ue_key", 0, buf, mcsec__pkmf__pkmf_request__pack(&p, buf));
}
