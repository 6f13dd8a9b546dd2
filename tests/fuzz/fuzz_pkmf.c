/* libFuzzer target for the PKMF and network entity (kms/pkmf_*.c) and the UE-side parsers of
 * include/mcsec/prose.h. The first octet selects:
 *   0: a request to the PKMF's handler (kms_pkmf_handle) from one of three enrolled devices
 *      (second octet: a remote UE authorised for PRUKs and direct keying, a relay authorised
 *      for it, a device authorised for nothing), on a real KMS store in a scratch directory.
 *      Checks: anything that is not a PkmfRequest is left to the KMS (0); every PkmfRequest
 *      gets a response that unpacks, echoes the request id and has a body exactly when the
 *      status is OK (with the lengths the protocol promises), and an audit row;
 *   1: a PRUK MIKEY message to mcsec_prose_pruk_open against a fixed PMK and expectations.
 *      Checks: on MCSEC_OK the fields are the expected ones and an all-zero PRUK ID comes with
 *      no PRUK; on failure the PRUK output is zero;
 *   2: a relay identity to mcsec_prose_relay_id_parse; on MCSEC_OK it encodes back to the input.
 * No peer entity is configured, so no request leaves the process. Seeds: corpus/pkmf, written
 * by this target from real messages (MCSEC_FUZZ_WRITE_CORPUS, see fuzz_util.h). */
#include "fuzz_util.h"

#include "../../kms/internal.h" /* kms_pkmf_handle */
#include "mcsec/pkmf.h"
#include "mcsec/prose.h"
#include "mcsec/secmem.h"
#include "pkmf.pb-c.h"

#define FQDN "pkmf.fuzz.example.org"
#define UE "sip:ue@fuzz.example.org"
#define RELAY "sip:relay@fuzz.example.org"
#define OTHER "sip:other@fuzz.example.org"
#define PASS "fuzz passphrase"

static mcsec_kms_t *kms;
static int64_t dev_id[3];
static uint8_t pmk[MCSEC_PROSE_PMK_LEN];
static mcsec_prose_pruk_expect_t expect;

static int64_t enroll(const char *uri)
{
    mcsec_kms_enroll_t req = {uri, MCSEC_KMS_ROLE_HANDSET, NULL, 0, NULL};
    mcsec_kms_credential_t c;
    if (mcsec_kms_enroll(kms, &req, &c) != MCSEC_OK)
        fuzz_die("enroll");
    int64_t id = c.device_id;
    mcsec_memzero(&c, sizeof c);
    return id;
}

static size_t pack(Mcsec__Pkmf__PkmfRequest *req, uint8_t *buf, size_t cap)
{
    req->version = 1;
    req->request_id = 42;
    req->pkmf = 1;
    size_t n = mcsec__pkmf__pkmf_request__get_packed_size(req);
    if (n > cap)
        fuzz_die("request too large");
    return mcsec__pkmf__pkmf_request__pack(req, buf);
}

static void check_response(const uint8_t *resp, size_t len, uint64_t request_id)
{
    Mcsec__Pkmf__PkmfResponse *r = mcsec__pkmf__pkmf_response__unpack(NULL, len, resp);
    if (r == NULL || r->version != 1 || r->request_id != request_id)
        abort();
    if (r->status == 0) {
        switch (r->body_case) {
        case MCSEC__PKMF__PKMF_RESPONSE__BODY_UE_KEY:
            if (r->ue_key == NULL ||
                (!r->ue_key->stopped && (r->ue_key->pmk.len != 32 || r->ue_key->key_type_id == 0)))
                abort();
            break;
        case MCSEC__PKMF__PKMF_RESPONSE__BODY_RELAY_KEY:
            if (r->relay_key == NULL || r->relay_key->kd.len != 32 ||
                r->relay_key->kd_param.len != 16 || strcmp(r->relay_key->ue_uri, UE) != 0)
                abort();
            break;
        case MCSEC__PKMF__PKMF_RESPONSE__BODY_NW_KEY:
            if (r->nw_key == NULL || r->nw_key->session.len != 16 || r->nw_key->km1.len != 32 ||
                r->nw_key->km2.len != 32)
                abort();
            break;
        default:
            abort(); /* a direct-keying answer needs a peer entity: none is configured */
        }
    } else if (r->body_case != MCSEC__PKMF__PKMF_RESPONSE__BODY__NOT_SET || r->message[0] == 0) {
        abort();
    }
    mcsec__pkmf__pkmf_response__free_unpacked(r, NULL);
}

static void handle(const uint8_t *data, size_t size)
{
    if (size < 1)
        return;
    int64_t id = dev_id[data[0] % 3];
    uint8_t *resp = NULL;
    size_t resp_len = 0;
    int audit = 0;
    mcsec_kms_audit_t row;
    int mine = kms_pkmf_handle(kms, kms->store, id, data + 1, size - 1, &resp, &resp_len, &audit,
                               &row);
    Mcsec__Pkmf__PkmfRequest *req = mcsec__pkmf__pkmf_request__unpack(NULL, size - 1, data + 1);
    int expected = req != NULL && req->pkmf == 1;
    if (mine != expected)
        abort();
    if (mine) {
        if (resp == NULL || !audit || row.device_id != id)
            abort();
        check_response(resp, resp_len, req->request_id);
    }
    if (req != NULL)
        mcsec__pkmf__pkmf_request__free_unpacked(req, NULL);
    if (resp != NULL) {
        mcsec_memzero(resp, resp_len);
        free(resp);
    }
}

static void open_pruk(const uint8_t *data, size_t size)
{
    mcsec_prose_pruk_msg_t m;
    static const uint8_t zero[MCSEC_PROSE_PRUK_LEN];
    uint64_t t = 0;
    mcsec_status_t st = mcsec_prose_pruk_open(data, size, &expect, &m, &t);
    if (st == MCSEC_OK) {
        if (m.key_type_id != expect.key_type_id || m.pmk_id != expect.pmk_id || t != m.ntp_time ||
            (m.pruk_id == 0 && memcmp(m.pruk, zero, sizeof zero) != 0))
            abort();
    } else if (memcmp(m.pruk, zero, sizeof zero) != 0) {
        abort();
    }
    mcsec_memzero(&m, sizeof m);
}

static void relay_id(const uint8_t *data, size_t size)
{
    mcsec_prose_relay_id_t id;
    uint8_t back[MCSEC_PROSE_RELAY_ID_MAX];
    size_t n = 0;
    if (mcsec_prose_relay_id_parse(data, size, &id) != MCSEC_OK)
        return;
    if (mcsec_prose_relay_id_encode(&id, back, sizeof back, &n) != MCSEC_OK || n != size ||
        memcmp(back, data, n) != 0)
        abort();
}

static void write_seeds(const char *dir);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    char path[600];
    fuzz_path(path, sizeof path, fuzz_tmpdir(), "kms");
    mcsec_kms_config_t cfg = {.dir = path, .kms_uri = FQDN, .passphrase = PASS,
                              .passphrase_len = strlen(PASS), .kdf_log2n = 10, .kdf_r = 8,
                              .kdf_p = 1};
    if (mcsec_kms_create(&kms, &cfg) != MCSEC_OK)
        fuzz_die("KMS create");
    dev_id[0] = enroll(UE);
    dev_id[1] = enroll(RELAY);
    dev_id[2] = enroll(OTHER);
    if (mcsec_pkmf_authorise(kms, UE, MCSEC_PKMF_AUTH_REMOTE_UE, 1) != MCSEC_OK ||
        mcsec_pkmf_authorise(kms, UE, MCSEC_PKMF_AUTH_DIRECT, 1) != MCSEC_OK ||
        mcsec_pkmf_authorise(kms, RELAY, MCSEC_PKMF_AUTH_DIRECT, 1) != MCSEC_OK ||
        mcsec_pkmf_authorise_relay(kms, RELAY, UE, 1) != MCSEC_OK)
        fuzz_die("authorise");
    for (size_t i = 0; i < sizeof pmk; i++) /* fixed, so that the seeds pass the MAC */
        pmk[i] = (uint8_t)(0xa0 + i);
    expect = (mcsec_prose_pruk_expect_t){.pmk = pmk, .pmk_id = 0x0102030405060708u,
                                         .key_type_id = 0x1badb002u, .pkmf_fqdn = FQDN,
                                         .ue_uri = UE, .window = 100u * 365 * 86400};
    const char *seeds = fuzz_corpus_dir();
    if (seeds != NULL) {
        write_seeds(seeds);
        exit(0);
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    switch (data[0] % 3) {
    case 0:
        handle(data + 1, size - 1);
        break;
    case 1:
        open_pruk(data + 1, size - 1);
        break;
    default:
        relay_id(data + 1, size - 1);
    }
    return 0;
}

/* --- Seeds: real requests, a real PRUK message and relay identities ------------------------- */

static void seed_request(const char *dir, const char *name, int dev, Mcsec__Pkmf__PkmfRequest *req)
{
    uint8_t buf[2048];
    buf[0] = (uint8_t)dev;
    size_t n = pack(req, buf + 1, sizeof buf - 1);
    fuzz_seed(dir, name, 0, buf, n + 1);
}

static void write_seeds(const char *dir)
{
    Mcsec__Pkmf__PkmfRequest req = MCSEC__PKMF__PKMF_REQUEST__INIT;
    Mcsec__Pkmf__UeKeyRequest ue = MCSEC__PKMF__UE_KEY_REQUEST__INIT;
    uint64_t held[1] = {0x1122334455667788u};
    ue.want = 1;
    ue.n_pruk_ids = 1;
    ue.pruk_ids = held;
    ue.push_address = "127.0.0.1:4000";
    req.body_case = MCSEC__PKMF__PKMF_REQUEST__BODY_UE_KEY;
    req.ue_key = &ue;
    seed_request(dir, "ue_key", 0, &req);
    seed_request(dir, "ue_key_unauthorised", 2, &req);
    ue.want = 0;
    seed_request(dir, "ue_key_stop", 0, &req);

    /* A relay request naming the UE's real PRUK (from a Key Request handled here). */
    uint8_t buf[2048], *resp = NULL;
    size_t n, resp_len = 0;
    int audit;
    mcsec_kms_audit_t row;
    ue.want = 1;
    ue.n_pruk_ids = 0;
    n = pack(&req, buf, sizeof buf);
    if (!kms_pkmf_handle(kms, kms->store, dev_id[0], buf, n, &resp, &resp_len, &audit, &row))
        fuzz_die("UE Key Request");
    free(resp);
    kms_pkmf_ue_t u;
    if (kms->ops->pkmf->ue_get(kms->store, UE, &u) != MCSEC_OK)
        fuzz_die("UE record");
    mcsec_prose_relay_id_t rid = {.type = MCSEC_PROSE_RELAY_ID_PRUK, .pruk_id = u.pruk_id};
    uint8_t enc[MCSEC_PROSE_RELAY_ID_MAX];
    size_t el = 0;
    if (mcsec_prose_relay_id_encode(&rid, enc, sizeof enc, &el) != MCSEC_OK)
        fuzz_die("relay id");
    fuzz_seed(dir, "relay_id_pruk", 2, enc, el);
    Mcsec__Pkmf__RelayKeyRequest rk = MCSEC__PKMF__RELAY_KEY_REQUEST__INIT;
    rk.relay_id.data = enc;
    rk.relay_id.len = el;
    req.body_case = MCSEC__PKMF__PKMF_REQUEST__BODY_RELAY_KEY;
    req.relay_key = &rk;
    seed_request(dir, "relay_key", 1, &req);
    seed_request(dir, "relay_key_unauthorised", 2, &req);
    rid.type = MCSEC_PROSE_RELAY_ID_LONG_TERM;
    snprintf(rid.uri, sizeof rid.uri, "%s", UE);
    if (mcsec_prose_relay_id_encode(&rid, enc, sizeof enc, &el) != MCSEC_OK)
        fuzz_die("relay id");
    fuzz_seed(dir, "relay_id_long_term", 2, enc, el);
    rk.relay_id.len = el;
    seed_request(dir, "relay_key_long_term", 1, &req);

    Mcsec__Pkmf__NwKeyRequest nk = MCSEC__PKMF__NW_KEY_REQUEST__INIT;
    nk.peer_uri = RELAY;
    nk.kd_id_msb = 0x1234;
    req.body_case = MCSEC__PKMF__PKMF_REQUEST__BODY_NW_KEY;
    req.nw_key = &nk;
    seed_request(dir, "nw_key", 0, &req);
    Mcsec__Pkmf__NwKeyFetch nf = MCSEC__PKMF__NW_KEY_FETCH__INIT;
    uint8_t session[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
    nf.session.data = session;
    nf.session.len = sizeof session;
    req.body_case = MCSEC__PKMF__PKMF_REQUEST__BODY_NW_FETCH;
    req.nw_fetch = &nf;
    seed_request(dir, "nw_fetch", 1, &req);
    Mcsec__Pkmf__DirectKeyingRequest dk = MCSEC__PKMF__DIRECT_KEYING_REQUEST__INIT;
    uint8_t km1[32] = {0};
    dk.session = nf.session;
    dk.initiator_uri = "sip:x@peer.example.org";
    dk.responder_uri = UE;
    dk.km1.data = km1;
    dk.km1.len = sizeof km1;
    dk.kd_id_msb = 7;
    req.body_case = MCSEC__PKMF__PKMF_REQUEST__BODY_DIRECT_KEYING;
    req.direct_keying = &dk;
    seed_request(dir, "direct_keying", 2, &req);

    /* PRUK MIKEY messages under the fixed PMK: a PRUK and a Key Request trigger. */
    mcsec_prose_pruk_msg_t m = {.key_type_id = expect.key_type_id, .pruk_id = 0xa1b2c3d4e5f60718u,
                                .pmk_id = expect.pmk_id, .pkmf_fqdn = FQDN, .ue_uri = UE};
    memset(m.pruk, 0x5a, sizeof m.pruk);
    if (mcsec_prose_pruk_build(&m, pmk, buf, sizeof buf, &n) != MCSEC_OK)
        fuzz_die("PRUK MIKEY");
    fuzz_seed(dir, "pruk_mikey", 1, buf, n);
    m.pruk_id = 0;
    memset(m.pruk, 0, sizeof m.pruk);
    if (mcsec_prose_pruk_build(&m, pmk, buf, sizeof buf, &n) != MCSEC_OK)
        fuzz_die("PRUK MIKEY");
    fuzz_seed(dir, "pruk_mikey_trigger", 1, buf, n);
}
