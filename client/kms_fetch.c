/* The handset's KMS client (include/mcsec/kmsclient.h): one KmsRequest over a fresh CURVE
 * DEALER connection per attempt, a timeout, exponential back-off. A socket monitor reports a
 * refused handshake (the KMS's ZAP handler said no to our key), which ends the retries at
 * once with a clear message instead of a timeout. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <zmq.h>

#include "internal.h"
#include "kms.pb-c.h"
#include "mcsec/kmsclient.h"
#include "mcsec/secmem.h"

#define MAX_RESPONSE (256 * 1024)

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0)
        ;
}

static void set_msg(mcsec_kms_fetch_result_t *res, mcsec_status_t st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_msg(mcsec_kms_fetch_result_t *res, mcsec_status_t st, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(res->message, sizeof res->message, fmt, ap);
    va_end(ap);
    res->status = st;
}

static char *dup_doc(const uint8_t *p, size_t n)
{
    char *s = malloc(n + 1);
    if (s != NULL) {
        memcpy(s, p, n);
        s[n] = 0;
    }
    return s;
}

/* Takes the decoded response into res. */
static mcsec_status_t take_response(const Mcsec__Kms__KmsResponse *r,
                                    const mcsec_kms_fetch_config_t *cfg,
                                    mcsec_kms_fetch_result_t *res)
{
    if (r->status != 0) {
        char line[200];
        mcsec_status_t st = mcsec_wire_status(r->status);
        mcsec_clean_line(line, sizeof line, r->message);
        set_msg(res, st, "the KMS refused: %s (%s)", line[0] ? line : "no reason",
                mcsec_strerror(st));
        return res->status;
    }
    if (cfg->init_only) {
        if (r->kms_xml.len == 0) {
            set_msg(res, MCSEC_ERR_STRUCTURE, "the KMS answered without a KmsInit document");
            return res->status;
        }
        res->init_xml = dup_doc(r->kms_xml.data, r->kms_xml.len);
        res->init_len = r->kms_xml.len;
    } else {
        if (r->kms_xml.len == 0 || r->kms_init_xml.len == 0) {
            set_msg(res, MCSEC_ERR_STRUCTURE,
                    "the KMS answered without KmsKeyProv and KmsInit documents: is it mcsec-kms?");
            return res->status;
        }
        res->keyprov_xml = dup_doc(r->kms_xml.data, r->kms_xml.len);
        res->keyprov_len = r->kms_xml.len;
        res->init_xml = dup_doc(r->kms_init_xml.data, r->kms_init_xml.len);
        res->init_len = r->kms_init_xml.len;
    }
    if (res->init_xml == NULL || (!cfg->init_only && res->keyprov_xml == NULL)) {
        mcsec_kms_fetch_result_free(res);
        set_msg(res, MCSEC_ERR_NOMEM, "out of memory");
        return res->status;
    }
    res->status = MCSEC_OK;
    res->message[0] = 0;
    return MCSEC_OK;
}

typedef struct {
    const mcsec_kms_fetch_config_t *cfg;
    uint64_t request_id;
    mcsec_kms_fetch_result_t *res;
} take_t;

/* curve_rpc_take_fn: a KmsResponse for this request into res, or a malformed answer
 * (reported). */
static int take(void *user, const uint8_t *frame, size_t len)
{
    take_t *t = user;
    Mcsec__Kms__KmsResponse *r =
        frame != NULL ? mcsec__kms__kms_response__unpack(NULL, len, frame) : NULL;
    if (r == NULL) {
        set_msg(t->res, MCSEC_ERR_BAD_INPUT,
                "the KMS at %s sent a malformed response: is it mcsec-kms?", t->cfg->endpoint);
        return 1;
    }
    if (r->request_id != t->request_id && r->status == 0) {
        mcsec__kms__kms_response__free_unpacked(r, NULL);
        return 0; /* a stale answer */
    }
    (void)take_response(r, t->cfg, t->res);
    if (r->kms_xml.data != NULL)
        mcsec_memzero(r->kms_xml.data, r->kms_xml.len);
    if (r->kms_init_xml.data != NULL)
        mcsec_memzero(r->kms_init_xml.data, r->kms_init_xml.len);
    mcsec__kms__kms_response__free_unpacked(r, NULL);
    return 1;
}

/* One attempt: 1 answered (res filled, final), 0 no answer, -1 refused at connection time. */
static int attempt(void *ctx, const mcsec_kms_fetch_config_t *cfg, const uint8_t *req,
                   size_t req_len, uint64_t request_id, unsigned timeout_ms,
                   mcsec_kms_fetch_result_t *res)
{
    const curve_rpc_peer_t peer = {cfg->endpoint, cfg->kms_public, cfg->device_public,
                                   cfg->device_secret, MAX_RESPONSE};
    take_t t = {cfg, request_id, res};
    int zerr = 0;
    int result = curve_rpc_attempt(ctx, &peer, req, req_len, timeout_ms, take, &t, &zerr);
    if (zerr != 0)
        set_msg(res, MCSEC_ERR_IO, "cannot connect to the KMS at %s: %s", cfg->endpoint,
                zmq_strerror(zerr));
    return result;
}

mcsec_status_t mcsec_kms_fetch(const mcsec_kms_fetch_config_t *cfg, mcsec_kms_fetch_result_t *res)
{
    if (res == NULL)
        return MCSEC_ERR_BAD_INPUT;
    memset(res, 0, sizeof *res);
    if (cfg == NULL || cfg->endpoint == NULL || cfg->endpoint[0] == 0 ||
        (!cfg->init_only && (cfg->user_uri == NULL || cfg->user_uri[0] == 0))) {
        set_msg(res, MCSEC_ERR_BAD_INPUT, "no KMS endpoint or user URI given");
        return res->status;
    }
    if (!curve_rpc_key_ok(cfg->kms_public) || !curve_rpc_key_ok(cfg->device_public) ||
        !curve_rpc_key_ok(cfg->device_secret)) {
        set_msg(res, MCSEC_ERR_BAD_INPUT,
                "a CURVE key is not 40 Z85 characters: check the KMS key and the device "
                "credential");
        return res->status;
    }
    unsigned timeout = cfg->timeout_ms ? cfg->timeout_ms : 3000;
    unsigned attempts = cfg->attempts ? cfg->attempts : 4;
    unsigned backoff = cfg->backoff_ms ? cfg->backoff_ms : 250;
    uint64_t request_id = 0;
    if (mcsec_random_bytes((uint8_t *)&request_id, sizeof request_id) != MCSEC_OK) {
        set_msg(res, MCSEC_ERR_RNG, "the random generator failed");
        return res->status;
    }

    Mcsec__Kms__KeyProvRequest kp = MCSEC__KMS__KEY_PROV_REQUEST__INIT;
    Mcsec__Kms__InitRequest ir = MCSEC__KMS__INIT_REQUEST__INIT;
    Mcsec__Kms__KmsRequest req = MCSEC__KMS__KMS_REQUEST__INIT;
    req.version = 1;
    req.request_id = request_id;
    if (cfg->init_only) {
        req.body_case = MCSEC__KMS__KMS_REQUEST__BODY_INIT;
        req.init = &ir;
    } else {
        kp.user_uri = (char *)cfg->user_uri;
        kp.at_time = cfg->at_time;
        req.body_case = MCSEC__KMS__KMS_REQUEST__BODY_KEY_PROV;
        req.key_prov = &kp;
    }
    size_t len = mcsec__kms__kms_request__get_packed_size(&req);
    uint8_t *buf = malloc(len ? len : 1);
    void *ctx = cfg->zmq_context;
    int own_ctx = ctx == NULL;
    if (buf == NULL) {
        set_msg(res, MCSEC_ERR_NOMEM, "out of memory");
        return res->status;
    }
    mcsec__kms__kms_request__pack(&req, buf);
    if (own_ctx && (ctx = zmq_ctx_new()) == NULL) {
        free(buf);
        set_msg(res, MCSEC_ERR_IO, "cannot create a ZeroMQ context");
        return res->status;
    }
    int outcome = 0;
    for (unsigned i = 0; i < attempts; i++) {
        if (i > 0) {
            unsigned pause = backoff << (i - 1 < 10 ? i - 1 : 10);
            sleep_ms(pause > 30000 ? 30000 : pause);
        }
        res->attempts_made = i + 1;
        outcome = attempt(ctx, cfg, buf, len, request_id, timeout, res);
        if (outcome != 0)
            break;
    }
    if (outcome == 0 && res->message[0] == 0)
        set_msg(res, MCSEC_ERR_IO,
                "no answer from the KMS at %s after %u attempts: check that it runs, the "
                "endpoint and the KMS public key",
                cfg->endpoint, attempts);
    else if (outcome == 0)
        res->status = MCSEC_ERR_IO;
    if (outcome == -1)
        set_msg(res, MCSEC_ERR_IO,
                "the KMS at %s refused this device's CURVE key (not enrolled, or revoked): ask "
                "the KMS operator",
                cfg->endpoint);
    free(buf);
    if (own_ctx)
        zmq_ctx_term(ctx);
    return res->status;
}

void mcsec_kms_fetch_result_free(mcsec_kms_fetch_result_t *res)
{
    if (res == NULL)
        return;
    if (res->keyprov_xml != NULL)
        mcsec_memzero(res->keyprov_xml, res->keyprov_len);
    free(res->keyprov_xml);
    free(res->init_xml);
    res->keyprov_xml = res->init_xml = NULL;
    res->keyprov_len = res->init_len = 0;
}
