/* libFuzzer target for the direct-link parsers and their state machine (include/mcsec/direct.h):
 *
 * - every pure parser (DCR, rekey request, DSMC, Reject, protected packet header, and the
 *   signalling inside bearer 0) on the input; for inputs that parse, every view is read (ASan
 *   sees any view outside the input) and requests and DSMCs are re-encoded: the encoding must
 *   be octet-identical to the input and parse again;
 * - mcsec_direct_handle of a responder UE whose KD hook supplies a KD (a DCR that parses is
 *   answered with a DSMC or a Reject; the link is then forgotten), and of an established link
 *   (made once per process) for protected packets; replies must parse as what they claim.
 * Seeds: corpus/direct (written by `test_client_direct --write-corpus DIR` from real messages). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "direct_internal.h"
#include "mcsec/direct.h"
#include "mcsec/secmem.h"

static volatile uint8_t sink;
static mcsec_direct_ue_t *resp, *est_a, *est_b;
static mcsec_direct_link_t *link_a, *link_b;
static const uint8_t KD[32] = {7, 7, 7};

static void touch(const uint8_t *p, size_t n) {
    uint8_t x = 0;
    for (size_t i = 0; i < n; i++)
        x ^= p[i];
    sink ^= x;
}

static void touch_kcd(const mcsec_direct_kcd_t *k, size_t n) {
    for (size_t i = 0; i < n; i++)
        touch(k[i].value, k[i].len);
}

static mcsec_status_t hook(void *user, mcsec_direct_link_t *link,
                           const mcsec_direct_request_t *req, const mcsec_direct_dsmc_t *d) {
    (void)user, (void)d;
    if (req == NULL) return MCSEC_OK;
    if (req->flags & MCSEC_DIRECT_DCR_EXISTING_KD)
        return mcsec_direct_set_kd_with_id(link, KD, req->kd_id);
    return mcsec_direct_set_kd(link, KD);
}

/* Two UEs with an established link (in memory), made once. */
static void setup(void) {
    static uint8_t m1[4096], m2[4096], m3[4096], out[4096];
    size_t l1 = 0, l2 = 0, l3 = 0;
    mcsec_direct_rx_t rx;
    mcsec_direct_config_t ca = {.user_uri = "sip:a@example.org"};
    mcsec_direct_config_t cb = {.user_uri = "sip:b@example.org"};
    if (mcsec_init() != MCSEC_OK || mcsec_direct_ue_new(&resp, &cb) != MCSEC_OK ||
        mcsec_direct_ue_new(&est_a, &ca) != MCSEC_OK || mcsec_direct_ue_new(&est_b, &cb) != MCSEC_OK ||
        mcsec_direct_link_new(est_a, "sip:b@example.org", &link_a) != MCSEC_OK ||
        mcsec_direct_link_new(est_b, "", &link_b) != MCSEC_OK ||
        mcsec_direct_set_kd(link_a, KD) != MCSEC_OK ||
        mcsec_direct_build_dcr(link_a, m1, sizeof m1, &l1) != MCSEC_OK ||
        mcsec_direct_respond_begin(link_b, m1, l1) != MCSEC_OK ||
        mcsec_direct_set_kd(link_b, KD) != MCSEC_OK ||
        mcsec_direct_build_dsmc(link_b, m2, sizeof m2, &l2) != MCSEC_OK ||
        mcsec_direct_handle_dsmc(link_a, m2, l2, m3, sizeof m3, &l3) != MCSEC_OK ||
        mcsec_direct_receive(link_b, m3, l3, out, sizeof out, &rx) != MCSEC_OK ||
        mcsec_direct_build_accept(link_b, m1, sizeof m1, &l1) != MCSEC_OK ||
        mcsec_direct_receive(link_a, m1, l1, out, sizeof out, &rx) != MCSEC_OK)
        abort();
}

static void parsers(const uint8_t *data, size_t size) {
    static uint8_t out[MCSEC_DIRECT_MSG_MAX];
    size_t len = 0;
    mcsec_direct_request_t req;
    mcsec_direct_dsmc_t d;
    mcsec_direct_reject_t rj;
    mcsec_direct_pdu_t pdu;
    dx_inner_t in;
    if (mcsec_direct_dcr_parse(data, size, &req) == MCSEC_OK ||
        mcsec_direct_rekey_parse(data, size, &req) == MCSEC_OK) {
        touch(req.user_info, req.user_info_len);
        touch_kcd(req.kcd, req.n_kcd);
        if (dx_encode_request(&req, out, sizeof out, &len) != MCSEC_OK || len != size ||
            memcmp(out, data, size) != 0)
            abort();
    }
    if (mcsec_direct_dsmc_parse(data, size, &d) == MCSEC_OK) {
        touch_kcd(d.kcd, d.n_kcd);
        if (dx_encode_dsmc_body(&d, out, sizeof out, &len) != MCSEC_OK ||
            len + MCSEC_DIRECT_MAC_LEN != size || memcmp(out, data, len) != 0)
            abort();
    }
    if (mcsec_direct_reject_parse(data, size, &rj) == MCSEC_OK) {
        if (mcsec_direct_build_reject(&(mcsec_direct_request_t){.nonce = {0}}, rj.cause, out,
                                      sizeof out, &len) != MCSEC_OK || len != size)
            abort();
    }
    if (mcsec_direct_pdu_parse(data, size, &pdu) == MCSEC_OK) touch(pdu.body, pdu.body_len);
    if (size > 0 && dx_inner_parse(data, size, &in) == MCSEC_OK) touch(in.data, in.len);
}

static void check_reply(const uint8_t *r, size_t len) {
    mcsec_direct_dsmc_t d;
    mcsec_direct_reject_t rj;
    mcsec_direct_pdu_t p;
    if (len == 0) return;
    switch (mcsec_direct_msg_type(r, len)) {
    case MCSEC_DIRECT_MSG_DSMC:
        if (mcsec_direct_dsmc_parse(r, len, &d) != MCSEC_OK) abort();
        return;
    case MCSEC_DIRECT_MSG_REJECT:
        if (mcsec_direct_reject_parse(r, len, &rj) != MCSEC_OK) abort();
        return;
    case MCSEC_DIRECT_MSG_PDU:
        if (mcsec_direct_pdu_parse(r, len, &p) != MCSEC_OK) abort();
        return;
    default:
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static uint8_t out[MCSEC_DIRECT_MSG_MAX + 64], reply[MCSEC_DIRECT_MSG_MAX + 64];
    static int ready;
    if (!ready) {
        setup();
        ready = 1;
    }
    parsers(data, size);

    mcsec_direct_keys_t keys = {.kd_hook = hook};
    mcsec_direct_link_t *l = NULL;
    mcsec_direct_rx_t rx;
    size_t rlen = 0;
    (void)mcsec_direct_handle(resp, &keys, data, size, &l, out, sizeof out, reply, sizeof reply,
                              &rlen, &rx);
    check_reply(reply, rlen);
    if (l != NULL) mcsec_direct_link_forget(resp, l);

    /* an established link: protected packets (the state may change: a Release idles it, so
     * the link is only fed while established) */
    if (mcsec_direct_state(link_b) == MCSEC_DIRECT_S_ESTABLISHED &&
        mcsec_direct_msg_type(data, size) == MCSEC_DIRECT_MSG_PDU) {
        l = link_b;
        (void)mcsec_direct_handle(est_b, &keys, data, size, &l, out, sizeof out, reply,
                                  sizeof reply, &rlen, &rx);
        check_reply(reply, rlen);
        if (rx.kind == MCSEC_DIRECT_RX_DATA || rx.kind == MCSEC_DIRECT_RX_SIGNAL)
            touch(out, rx.len);
    }
    return 0;
}
