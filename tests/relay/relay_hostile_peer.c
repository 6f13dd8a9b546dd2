/* A hostile peer network entity (seed 001, network-authorised keying): a real `mcsec-kms
 * serve` daemon (E1, @a.example.org) whose peer for @evil.example.org is a fake entity in this
 * process (a CURVE ROUTER on loopback). UE_1 asks E1 for a key with a UE there; the fake
 * answers each request in one hostile way, and UE_1 must get the exact status and a filtered,
 * one-line reason; E1's audit stays printable and E1 keeps serving:
 * - a refusal whose text holds newlines, an ANSI escape and non-ASCII octets: the status
 *   passed on, the text with '?' for each such octet, in the answer and in E1's audit reason;
 * - a refusal with a status this version does not know (99999, or negative): STRUCTURE;
 * - an answer whose Keying_material_2 has the wrong length: STRUCTURE;
 * - an answer that changes the KD ID's upper half: VERIFY;
 * - octets that are not a PkmfResponse: BAD_INPUT ("malformed response");
 * - a 70,000-octet frame (over E1's 64 KiB cap: the connection is dropped): IO after E1's
 *   attempts;
 * - then a well-formed answer: OK, the keying goes through. */
#include "test.h"

#include <pthread.h>
#include <stdatomic.h>
#include <zmq.h>

#include "pkmf.pb-c.h"
#include "relay_test.h"

#define UE1 "sip:alice@a.example.org"
#define EVIL_UE "sip:bob@evil.example.org"
#define EVIL_ENTITY "entity.evil.example.org"

enum { GOOD, EVIL_TEXT, UNKNOWN_STATUS, NEGATIVE_STATUS, SHORT_KM2, OTHER_HALF, GARBAGE, HUGE };

static struct {
    void *ctx, *router;
    char endpoint[256], pub[41];
    pthread_t thread;
    atomic_int mode, stop, requests;
} fake;

static const char evil_text[] = "no\n2026-11-22 KMS issued\x1b[2J\x80\xff\r\t end";

/* The fake entity's answer to one DirectKeyingRequest, by fake.mode. */
static void answer(const uint8_t *rid, size_t rid_len, const Mcsec__Pkmf__PkmfRequest *req)
{
    static uint8_t out[70000];
    uint8_t km2[MCSEC_PROSE_KM_LEN];
    memset(km2, 0x5a, sizeof km2);
    Mcsec__Pkmf__DirectKeyingResponse dk = MCSEC__PKMF__DIRECT_KEYING_RESPONSE__INIT;
    Mcsec__Pkmf__PkmfResponse r = MCSEC__PKMF__PKMF_RESPONSE__INIT;
    uint32_t msb = req->direct_keying != NULL ? req->direct_keying->kd_id_msb : 0;
    r.version = 1;
    r.request_id = req->request_id;
    dk.km2.data = km2;
    dk.km2.len = sizeof km2;
    dk.conn_id = 0x80000123u;
    dk.kd_id = msb << 16 | 0x0042;
    r.body_case = MCSEC__PKMF__PKMF_RESPONSE__BODY_DIRECT_KEYING;
    r.direct_keying = &dk;
    size_t len;
    switch (atomic_load(&fake.mode)) {
    case EVIL_TEXT:
        r.status = MCSEC_ERR_POLICY;
        r.message = (char *)evil_text;
        r.body_case = MCSEC__PKMF__PKMF_RESPONSE__BODY__NOT_SET;
        break;
    case UNKNOWN_STATUS:
    case NEGATIVE_STATUS:
        r.status = atomic_load(&fake.mode) == UNKNOWN_STATUS ? 99999 : -5;
        r.message = "refused";
        r.body_case = MCSEC__PKMF__PKMF_RESPONSE__BODY__NOT_SET;
        break;
    case SHORT_KM2:
        dk.km2.len = 5;
        break;
    case OTHER_HALF:
        dk.kd_id = (msb ^ 1) << 16 | 0x0042;
        break;
    default:
        break;
    }
    len = mcsec__pkmf__pkmf_response__pack(&r, out);
    if (atomic_load(&fake.mode) == GARBAGE) {
        memset(out, 0xff, 40);
        len = 40;
    } else if (atomic_load(&fake.mode) == HUGE) {
        memset(out, 0, sizeof out);
        len = sizeof out;
    }
    zmq_send(fake.router, rid, rid_len, ZMQ_SNDMORE);
    zmq_send(fake.router, out, len, 0);
}

static void *fake_main(void *arg)
{
    (void)arg;
    static uint8_t buf[70000];
    while (!atomic_load(&fake.stop)) {
        zmq_pollitem_t it = {fake.router, 0, ZMQ_POLLIN, 0};
        if (zmq_poll(&it, 1, 50) <= 0)
            continue;
        uint8_t rid[256];
        int rl = zmq_recv(fake.router, rid, sizeof rid, 0), more = 1, len = -1;
        while (rl >= 0 && more) {
            size_t ml = sizeof more;
            len = zmq_recv(fake.router, buf, sizeof buf, 0);
            if (len < 0 || zmq_getsockopt(fake.router, ZMQ_RCVMORE, &more, &ml) != 0)
                break;
        }
        if (rl < 0 || len < 0)
            continue;
        Mcsec__Pkmf__PkmfRequest *req =
            mcsec__pkmf__pkmf_request__unpack(NULL, (size_t)len, buf);
        if (req == NULL)
            continue;
        atomic_fetch_add(&fake.requests, 1);
        if (req->body_case == MCSEC__PKMF__PKMF_REQUEST__BODY_DIRECT_KEYING)
            answer(rid, (size_t)rl, req);
        mcsec__pkmf__pkmf_request__free_unpacked(req, NULL);
    }
    return NULL;
}

static void fake_start(void)
{
    char sec[41];
    int one = 1, linger = 0;
    size_t len = sizeof fake.endpoint;
    if ((fake.ctx = zmq_ctx_new()) == NULL || zmq_curve_keypair(fake.pub, sec) != 0 ||
        (fake.router = zmq_socket(fake.ctx, ZMQ_ROUTER)) == NULL ||
        zmq_setsockopt(fake.router, ZMQ_LINGER, &linger, sizeof linger) != 0 ||
        zmq_setsockopt(fake.router, ZMQ_CURVE_SERVER, &one, sizeof one) != 0 ||
        zmq_setsockopt(fake.router, ZMQ_CURVE_SECRETKEY, sec, 40) != 0 ||
        zmq_bind(fake.router, "tcp://127.0.0.1:*") != 0 ||
        zmq_getsockopt(fake.router, ZMQ_LAST_ENDPOINT, fake.endpoint, &len) != 0 ||
        pthread_create(&fake.thread, NULL, fake_main, NULL) != 0)
        kt_die("fake entity");
    mcsec_memzero(sec, sizeof sec);
}

/* Every audit reason and subject printable; counts the rows quoting the evil text. */
static int audit_row(void *user, const mcsec_kms_audit_t *row)
{
    int *n = user;
    for (const char *c = row->reason; *c; c++)
        if ((unsigned char)*c < ' ' || (unsigned char)*c >= 0x7f)
            n[0]++;
    for (const char *c = row->subject; *c; c++)
        if ((unsigned char)*c <= ' ' || (unsigned char)*c >= 0x7f)
            n[0]++;
    if (strcmp(row->reason, "peer entity " EVIL_ENTITY ": no?2026-11-22 KMS issued?[2J???? "
                            "end") == 0 &&
        row->status == MCSEC_ERR_POLICY)
        n[1]++;
    return 0;
}

static mcsec_status_t ask(const mcsec_prose_server_t *s, int mode, mcsec_prose_nw_key_t *k)
{
    atomic_store(&fake.mode, mode);
    return mcsec_prose_nw_initiate(s, EVIL_UE, 0x0777, k);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    char dir[512];
    kt_server_t e1;
    mcsec_kms_info_t info;
    mcsec_kms_t *k1 = kt_create("entity1", dir, sizeof dir);
    mcsec_kms_get_info(k1, &info);
    rt_dev_t ue1 = rt_enroll(k1, UE1);
    CHECK_STATUS(mcsec_pkmf_authorise(k1, UE1, MCSEC_PKMF_AUTH_DIRECT, 1), MCSEC_OK);
    fake_start();
    CHECK_STATUS(mcsec_pkmf_peer_add(k1, EVIL_ENTITY, fake.endpoint, fake.pub,
                                     "@evil.example.org"),
                 MCSEC_OK);
    const char *extra[] = {"--workers", "2", "--rate", "1000", "--burst", "1000", NULL};
    if (kt_spawn(&e1, dir, extra) != 0)
        return 2;
    mcsec_prose_server_t s1 = rt_server(&e1, info.curve_public, &ue1);
    s1.timeout_ms = 8000; /* E1 gives a silent peer 2 x 2 s */
    s1.attempts = 1;
    mcsec_prose_nw_key_t k;

    CHECK_STATUS(ask(&s1, EVIL_TEXT, &k), MCSEC_ERR_POLICY);
    CHECK(strcmp(k.message, "peer entity " EVIL_ENTITY ": no?2026-11-22 KMS issued?[2J???? end") ==
          0);
    CHECK_STATUS(ask(&s1, UNKNOWN_STATUS, &k), MCSEC_ERR_STRUCTURE);
    CHECK(strcmp(k.message, "peer entity " EVIL_ENTITY ": refused") == 0);
    CHECK_STATUS(ask(&s1, NEGATIVE_STATUS, &k), MCSEC_ERR_STRUCTURE);
    CHECK_STATUS(ask(&s1, SHORT_KM2, &k), MCSEC_ERR_STRUCTURE);
    CHECK(strstr(k.message, "answer is malformed") != NULL);
    CHECK_STATUS(ask(&s1, OTHER_HALF, &k), MCSEC_ERR_VERIFY);
    CHECK(strstr(k.message, "changed the KD ID's upper half") != NULL);
    CHECK_STATUS(ask(&s1, GARBAGE, &k), MCSEC_ERR_BAD_INPUT);
    CHECK(strstr(k.message, "sent a malformed response") != NULL);
    int before = atomic_load(&fake.requests);
    CHECK_STATUS(ask(&s1, HUGE, &k), MCSEC_ERR_IO);
    CHECK(strstr(k.message, "no answer from") != NULL);
    CHECK(atomic_load(&fake.requests) - before == 2); /* E1's two attempts */
    /* E1 still serves, and a well-formed answer goes through. */
    CHECK_STATUS(ask(&s1, GOOD, &k), MCSEC_OK);
    CHECK((k.kd_id >> 16) == 0x0777 && k.conn_id == 0x80000123u);
    mcsec_prose_nw_key_wipe(&k);

    int n[2] = {0, 0};
    CHECK_STATUS(mcsec_kms_list_audit(k1, 0, audit_row, n), MCSEC_OK);
    CHECK(n[0] == 0); /* nothing unprintable in any audit row */
    CHECK(n[1] == 1); /* the evil refusal, filtered */

    CHECK(kt_stop(&e1) == 0);
    atomic_store(&fake.stop, 1);
    pthread_join(fake.thread, NULL);
    zmq_close(fake.router);
    zmq_ctx_term(fake.ctx);
    mcsec_kms_close(k1);
    return test_summary();
}
