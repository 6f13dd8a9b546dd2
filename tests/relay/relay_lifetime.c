/* The 120 s lifetime of a network keying session (kms/pkmf_entity.c, PKMF_SESSION_LIFETIME),
 * in process with the real SQLite store and the service's own PKMF request handler
 * (kms_pkmf_handle, as a worker of `mcsec-kms serve` calls it), the KMS clock set by the
 * test-only hook kms_test_set_clock:
 * - UE_1 asks its entity (serving both UEs) for a session at T; UE_2 fetches it at T + 120 s:
 *   the same keys as UE_1's; a second fetch at T + 120 s is refused (REPLAY, a replayed DCR);
 * - another session made at T and fetched at T + 121 s: EXPIRED with its exact message, again
 *   EXPIRED (not REPLAY: nothing was fetched), audited as a refusal. */
#include "test.h"

#include "internal.h" /* kms_pkmf_handle, kms_test_set_clock */
#include "relay_test.h"

#define UE1 "sip:alice@a.example.org"
#define UE2 "sip:anna@a.example.org"

static int64_t fake_now;

static int64_t fake_clock(void)
{
    return fake_now;
}

typedef struct {
    int32_t status;
    char message[512];
    uint8_t session[MCSEC_PROSE_SESSION_LEN], km1[32], km2[32];
    uint32_t kd_id, conn_id;
    mcsec_kms_audit_t row;
} answer_t;

/* One PkmfRequest from device dev through the service's handler. */
static void serve(mcsec_kms_t *kms, const rt_dev_t *dev, Mcsec__Pkmf__PkmfRequest *req,
                  answer_t *a)
{
    uint8_t buf[1024];
    size_t resp_len = 0;
    int audit = 0;
    uint8_t *resp = NULL;
    memset(a, 0, sizeof *a);
    a->status = -1;
    req->version = 1;
    req->pkmf = 1;
    req->request_id = 77;
    size_t n = mcsec__pkmf__pkmf_request__get_packed_size(req);
    if (n > sizeof buf)
        exit(2);
    mcsec__pkmf__pkmf_request__pack(req, buf);
    CHECK(kms_pkmf_handle(kms, kms->store, dev->id, buf, n, &resp, &resp_len, &audit, &a->row) ==
          1);
    CHECK(resp != NULL && audit == 1);
    Mcsec__Pkmf__PkmfResponse *r =
        resp != NULL ? mcsec__pkmf__pkmf_response__unpack(NULL, resp_len, resp) : NULL;
    CHECK(r != NULL);
    if (r != NULL) {
        a->status = r->status;
        snprintf(a->message, sizeof a->message, "%s", r->message != NULL ? r->message : "");
        if (r->body_case == MCSEC__PKMF__PKMF_RESPONSE__BODY_NW_KEY &&
            r->nw_key->session.len == sizeof a->session && r->nw_key->km1.len == 32 &&
            r->nw_key->km2.len == 32) {
            memcpy(a->session, r->nw_key->session.data, sizeof a->session);
            memcpy(a->km1, r->nw_key->km1.data, 32);
            memcpy(a->km2, r->nw_key->km2.data, 32);
            a->kd_id = r->nw_key->kd_id;
            a->conn_id = r->nw_key->conn_id;
        }
        mcsec__pkmf__pkmf_response__free_unpacked(r, NULL);
    }
    if (resp != NULL) {
        mcsec_memzero(resp, resp_len);
        free(resp);
    }
}

static void nw_key(mcsec_kms_t *kms, const rt_dev_t *dev, const char *peer, answer_t *a)
{
    Mcsec__Pkmf__PkmfRequest req = MCSEC__PKMF__PKMF_REQUEST__INIT;
    Mcsec__Pkmf__NwKeyRequest q = MCSEC__PKMF__NW_KEY_REQUEST__INIT;
    q.peer_uri = (char *)peer;
    req.body_case = MCSEC__PKMF__PKMF_REQUEST__BODY_NW_KEY;
    req.nw_key = &q;
    serve(kms, dev, &req, a);
}

static void nw_fetch(mcsec_kms_t *kms, const rt_dev_t *dev, const uint8_t *session,
                     answer_t *a)
{
    uint8_t copy[MCSEC_PROSE_SESSION_LEN];
    Mcsec__Pkmf__PkmfRequest req = MCSEC__PKMF__PKMF_REQUEST__INIT;
    Mcsec__Pkmf__NwKeyFetch q = MCSEC__PKMF__NW_KEY_FETCH__INIT;
    memcpy(copy, session, sizeof copy);
    q.session.data = copy;
    q.session.len = sizeof copy;
    req.body_case = MCSEC__PKMF__PKMF_REQUEST__BODY_NW_FETCH;
    req.nw_fetch = &q;
    serve(kms, dev, &req, a);
}

int main(void)
{
    static const char expired[] =
        "the keying session is older than 120 s: ask the peer to start again";
    static const char replayed[] = "this keying session was fetched already: a replayed Direct "
                                   "Communication Request? ask the peer to start again";
    char dir[512];
    answer_t a, b;
    mcsec_kms_t *kms = kt_create("entity", dir, sizeof dir);
    rt_dev_t ue1 = rt_enroll(kms, UE1), ue2 = rt_enroll(kms, UE2);
    CHECK_STATUS(mcsec_pkmf_authorise(kms, UE1, MCSEC_PKMF_AUTH_DIRECT, 1), MCSEC_OK);
    CHECK_STATUS(mcsec_pkmf_authorise(kms, UE2, MCSEC_PKMF_AUTH_DIRECT, 1), MCSEC_OK);
    const int64_t t0 = (int64_t)time(NULL);
    kms_test_set_clock(fake_clock);

    /* Made at T, fetched at T + 120 s (the last second of its lifetime). */
    fake_now = t0;
    nw_key(kms, &ue1, UE2, &a);
    CHECK_STATUS((mcsec_status_t)a.status, MCSEC_OK);
    fake_now = t0 + 120;
    nw_fetch(kms, &ue2, a.session, &b);
    CHECK_STATUS((mcsec_status_t)b.status, MCSEC_OK);
    CHECK_MEM(a.session, b.session, sizeof a.session);
    CHECK_MEM(a.km1, b.km1, sizeof a.km1);
    CHECK_MEM(a.km2, b.km2, sizeof a.km2);
    CHECK(a.kd_id == b.kd_id && a.conn_id == b.conn_id && a.kd_id != 0);
    CHECK(strcmp(b.row.action, "entity-nw-fetch") == 0 && b.row.time == t0 + 120);
    /* Fetched again within the lifetime: a replayed DCR, refused. */
    nw_fetch(kms, &ue2, a.session, &b);
    CHECK_STATUS((mcsec_status_t)b.status, MCSEC_ERR_REPLAY);
    CHECK(strcmp(b.message, replayed) == 0);
    CHECK(strcmp(b.row.action, "pkmf-refuse") == 0 && b.row.status == MCSEC_ERR_REPLAY);

    /* Made at T, fetched at T + 121 s: expired, and still expired on a second try. */
    fake_now = t0;
    nw_key(kms, &ue1, UE2, &a);
    CHECK_STATUS((mcsec_status_t)a.status, MCSEC_OK);
    fake_now = t0 + 121;
    for (int i = 0; i < 2; i++) {
        nw_fetch(kms, &ue2, a.session, &b);
        CHECK_STATUS((mcsec_status_t)b.status, MCSEC_ERR_EXPIRED);
        if (strcmp(b.message, expired) != 0)
            fprintf(stderr, "message: '%s'\n", b.message);
        CHECK(strcmp(b.message, expired) == 0);
        CHECK(strcmp(b.row.action, "pkmf-refuse") == 0 &&
              b.row.status == MCSEC_ERR_EXPIRED && strcmp(b.row.reason, expired) == 0 &&
              b.row.time == t0 + 121);
    }
    /* Back to T + 120 s (a clock stepped back): the same session is taken, once. */
    fake_now = t0 + 120;
    nw_fetch(kms, &ue2, a.session, &b);
    CHECK_STATUS((mcsec_status_t)b.status, MCSEC_OK);
    CHECK_MEM(a.km1, b.km1, sizeof a.km1);

    kms_test_set_clock(NULL);
    mcsec_memzero(&a, sizeof a);
    mcsec_memzero(&b, sizeof b);
    mcsec_kms_close(kms);
    return test_summary();
}
