/* The client side of the PKMF / network entity protocol (proto/pkmf.proto): one PkmfRequest
 * over a fresh CURVE DEALER connection per attempt, a timeout, a few attempts; a refused
 * CURVE handshake (the server's ZAP said no to our key) ends the attempts at once. An answer
 * with a status is final. Every exchange of include/mcsec/prose.h goes through exchange(). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <zmq.h>

#include "internal.h"
#include "mcsec/prose.h"
#include "mcsec/secmem.h"
#include "pkmf.pb-c.h"

#define MAX_RESPONSE (64 * 1024)

static void say(char msg[MCSEC_PROSE_MSG_MAX], const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void say(char msg[MCSEC_PROSE_MSG_MAX], const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, MCSEC_PROSE_MSG_MAX, fmt, ap);
    va_end(ap);
}

typedef struct {
    const mcsec_prose_server_t *srv;
    uint64_t request_id;
    Mcsec__Pkmf__PkmfResponse **resp;
    char *msg;
} take_t;

/* curve_rpc_take_fn: a PkmfResponse for this request, or a malformed answer (reported). */
static int take(void *user, const uint8_t *frame, size_t len)
{
    take_t *t = user;
    Mcsec__Pkmf__PkmfResponse *r =
        frame != NULL ? mcsec__pkmf__pkmf_response__unpack(NULL, len, frame) : NULL;
    if (r == NULL) {
        say(t->msg, "%s sent a malformed response: is it mcsec-kms with the PKMF?",
            t->srv->endpoint);
        return 1;
    }
    if (r->request_id != t->request_id && r->status == 0) {
        mcsec__pkmf__pkmf_response__free_unpacked(r, NULL);
        return 0; /* a stale answer */
    }
    *t->resp = r;
    return 1;
}

/* One attempt: 1 answered (*resp set, or a malformed answer reported), 0 no answer, -1 key
 * refused. */
static int attempt(void *ctx, const mcsec_prose_server_t *srv, const uint8_t *req, size_t len,
                   uint64_t request_id, unsigned timeout_ms, Mcsec__Pkmf__PkmfResponse **resp,
                   char msg[MCSEC_PROSE_MSG_MAX])
{
    const curve_rpc_peer_t peer = {srv->endpoint, srv->server_public, srv->device_public,
                                   srv->device_secret, MAX_RESPONSE};
    take_t t = {srv, request_id, resp, msg};
    int zerr = 0;
    int result = curve_rpc_attempt(ctx, &peer, req, len, timeout_ms, take, &t, &zerr);
    if (zerr != 0)
        say(msg, "cannot connect to %s: %s", srv->endpoint, zmq_strerror(zerr));
    return result;
}

/* Wipes every bytes field of a response before freeing it. */
static void resp_free(Mcsec__Pkmf__PkmfResponse *r)
{
    if (r == NULL)
        return;
    ProtobufCBinaryData *b[8] = {NULL};
    size_t n = 0;
    switch (r->body_case) {
    case MCSEC__PKMF__PKMF_RESPONSE__BODY_UE_KEY:
        if (r->ue_key != NULL)
            b[n++] = &r->ue_key->pmk;
        break;
    case MCSEC__PKMF__PKMF_RESPONSE__BODY_RELAY_KEY:
        if (r->relay_key != NULL)
            b[n++] = &r->relay_key->kd;
        break;
    case MCSEC__PKMF__PKMF_RESPONSE__BODY_NW_KEY:
        if (r->nw_key != NULL) {
            b[n++] = &r->nw_key->km1;
            b[n++] = &r->nw_key->km2;
        }
        break;
    case MCSEC__PKMF__PKMF_RESPONSE__BODY_DIRECT_KEYING:
        if (r->direct_keying != NULL)
            b[n++] = &r->direct_keying->km2;
        break;
    default:
        break;
    }
    for (size_t i = 0; i < n; i++)
        if (b[i]->data != NULL)
            mcsec_memzero(b[i]->data, b[i]->len);
    mcsec__pkmf__pkmf_response__free_unpacked(r, NULL);
}

/* Sends req (request_id and pkmf set here) and returns the answer with status OK and the
 * expected body in *resp; otherwise the status and msg. */
static mcsec_status_t exchange(const mcsec_prose_server_t *srv, Mcsec__Pkmf__PkmfRequest *req,
                               Mcsec__Pkmf__PkmfResponse__BodyCase want,
                               Mcsec__Pkmf__PkmfResponse **resp, char msg[MCSEC_PROSE_MSG_MAX])
{
    *resp = NULL;
    msg[0] = 0;
    if (srv == NULL || srv->endpoint == NULL || srv->endpoint[0] == 0) {
        say(msg, "no server endpoint given");
        return MCSEC_ERR_BAD_INPUT;
    }
    if (!curve_rpc_key_ok(srv->server_public) || !curve_rpc_key_ok(srv->device_public) ||
        !curve_rpc_key_ok(srv->device_secret)) {
        say(msg, "a CURVE key is not 40 Z85 characters: check the server key and the device "
                 "credential");
        return MCSEC_ERR_BAD_INPUT;
    }
    uint8_t rid[8];
    if (mcsec_random_bytes(rid, sizeof rid) != MCSEC_OK) {
        say(msg, "the random generator failed");
        return MCSEC_ERR_RNG;
    }
    req->version = 1;
    req->pkmf = 1;
    req->request_id = 0;
    for (int i = 0; i < 8; i++)
        req->request_id = req->request_id << 8 | rid[i];
    size_t len = mcsec__pkmf__pkmf_request__get_packed_size(req);
    uint8_t *buf = malloc(len ? len : 1);
    void *ctx = srv->zmq_context;
    int own_ctx = ctx == NULL, outcome = 0;
    mcsec_status_t st = MCSEC_ERR_IO;
    if (buf == NULL) {
        say(msg, "out of memory");
        return MCSEC_ERR_NOMEM;
    }
    mcsec__pkmf__pkmf_request__pack(req, buf);
    if (own_ctx && (ctx = zmq_ctx_new()) == NULL) {
        say(msg, "cannot create a ZeroMQ context");
        goto out;
    }
    unsigned timeout = srv->timeout_ms ? srv->timeout_ms : 3000;
    unsigned attempts = srv->attempts ? srv->attempts : 3;
    for (unsigned i = 0; i < attempts && outcome == 0; i++)
        outcome = attempt(ctx, srv, buf, len, req->request_id, timeout, resp, msg);
    if (outcome == -1) {
        say(msg, "%s refused this device's CURVE key (not enrolled, or revoked): ask its operator",
            srv->endpoint);
    } else if (outcome == 0) {
        if (msg[0] == 0)
            say(msg, "no answer from %s after %u attempts: check that it runs, the endpoint and "
                     "its public key",
                srv->endpoint, attempts);
    } else if (*resp == NULL) {
        st = MCSEC_ERR_BAD_INPUT; /* malformed, msg says so */
    } else if ((*resp)->status != 0) {
        char line[200];
        mcsec_clean_line(line, sizeof line, (*resp)->message);
        st = mcsec_wire_status((*resp)->status);
        if (line[0])
            say(msg, "%s", line);
        else
            say(msg, "refused without a reason (%s)", mcsec_strerror(st));
        resp_free(*resp);
        *resp = NULL;
    } else if ((*resp)->body_case != want) {
        st = MCSEC_ERR_STRUCTURE;
        say(msg, "%s answered without the expected body: is it mcsec-kms with the PKMF?",
            srv->endpoint);
        resp_free(*resp);
        *resp = NULL;
    } else {
        st = MCSEC_OK;
    }
out:
    mcsec_memzero(buf, len); /* an entity's request carries KM1 */
    free(buf);
    if (own_ctx && ctx != NULL)
        zmq_ctx_term(ctx);
    return st;
}

/* Copies a protobuf string into a C string of cap octets; 0 if too long or empty. */
static int copy_str(char *dst, size_t cap, const char *src)
{
    size_t n = src != NULL ? strlen(src) : 0;
    if (n == 0 || n >= cap)
        return 0;
    memcpy(dst, src, n + 1);
    return 1;
}

/* --- Remote UE: Key Request ---------------------------------------------------------------- */

mcsec_status_t mcsec_prose_key_request(const mcsec_prose_server_t *pkmf, int want,
                                       const uint64_t *pruk_ids, size_t n_pruk_ids,
                                       const char *push_address, mcsec_prose_key_response_t *out)
{
    if (out == NULL)
        return MCSEC_ERR_BAD_INPUT;
    memset(out, 0, sizeof *out);
    Mcsec__Pkmf__UeKeyRequest body = MCSEC__PKMF__UE_KEY_REQUEST__INIT;
    Mcsec__Pkmf__PkmfRequest req = MCSEC__PKMF__PKMF_REQUEST__INIT;
    Mcsec__Pkmf__PkmfResponse *resp = NULL;
    body.want = want != 0;
    body.n_pruk_ids = pruk_ids != NULL ? n_pruk_ids : 0;
    body.pruk_ids = (uint64_t *)pruk_ids;
    body.push_address = (char *)(push_address != NULL ? push_address : "");
    req.body_case = MCSEC__PKMF__PKMF_REQUEST__BODY_UE_KEY;
    req.ue_key = &body;
    out->status = exchange(pkmf, &req, MCSEC__PKMF__PKMF_RESPONSE__BODY_UE_KEY, &resp,
                           out->message);
    if (out->status != MCSEC_OK)
        return out->status;
    const Mcsec__Pkmf__UeKeyResponse *u = resp->ue_key;
    if (u == NULL || (u->pmk.len != 0 && u->pmk.len != MCSEC_PROSE_PMK_LEN) ||
        u->mikey.len > sizeof out->mikey || (want && !u->stopped && u->key_type_id == 0)) {
        say(out->message, "the PKMF's Key Response is malformed (PMK, MIKEY or Key Type ID)");
        out->status = MCSEC_ERR_STRUCTURE;
        goto out;
    }
    out->key_type_id = u->key_type_id;
    out->stopped = u->stopped;
    if (u->pmk.len == MCSEC_PROSE_PMK_LEN) {
        out->has_pmk = 1;
        memcpy(out->pmk, u->pmk.data, MCSEC_PROSE_PMK_LEN);
        out->pmk_id = u->pmk_id;
    }
    if (u->mikey.len > 0)
        memcpy(out->mikey, u->mikey.data, u->mikey.len);
    out->mikey_len = u->mikey.len;
out:
    resp_free(resp);
    return out->status;
}

void mcsec_prose_key_response_wipe(mcsec_prose_key_response_t *r)
{
    if (r != NULL)
        mcsec_memzero(r, sizeof *r);
}

/* --- Relay: Key Request -------------------------------------------------------------------- */

mcsec_status_t mcsec_prose_relay_key_request(const mcsec_prose_server_t *pkmf,
                                             const uint8_t *relay_id, size_t relay_id_len,
                                             mcsec_prose_relay_key_t *out)
{
    if (out == NULL)
        return MCSEC_ERR_BAD_INPUT;
    memset(out, 0, sizeof *out);
    if (relay_id == NULL || relay_id_len == 0 || relay_id_len > MCSEC_PROSE_RELAY_ID_MAX) {
        say(out->message, "no relay identity, or one longer than %d octets",
            MCSEC_PROSE_RELAY_ID_MAX);
        return out->status = MCSEC_ERR_BAD_INPUT;
    }
    Mcsec__Pkmf__RelayKeyRequest body = MCSEC__PKMF__RELAY_KEY_REQUEST__INIT;
    Mcsec__Pkmf__PkmfRequest req = MCSEC__PKMF__PKMF_REQUEST__INIT;
    Mcsec__Pkmf__PkmfResponse *resp = NULL;
    body.relay_id.data = (uint8_t *)relay_id;
    body.relay_id.len = relay_id_len;
    req.body_case = MCSEC__PKMF__PKMF_REQUEST__BODY_RELAY_KEY;
    req.relay_key = &body;
    out->status = exchange(pkmf, &req, MCSEC__PKMF__PKMF_RESPONSE__BODY_RELAY_KEY, &resp,
                           out->message);
    if (out->status != MCSEC_OK)
        return out->status;
    const Mcsec__Pkmf__RelayKeyResponse *k = resp->relay_key;
    if (k == NULL || k->kd.len != MCSEC_PROSE_KD_LEN || k->kd_param.len != MCSEC_PROSE_KD_PARAM_LEN ||
        !copy_str(out->ue_uri, sizeof out->ue_uri, k->ue_uri)) {
        say(out->message, "the PKMF's relay Key Response is malformed (KD, parameter or UE)");
        out->status = MCSEC_ERR_STRUCTURE;
        goto out;
    }
    memcpy(out->kd, k->kd.data, MCSEC_PROSE_KD_LEN);
    memcpy(out->param, k->kd_param.data, MCSEC_PROSE_KD_PARAM_LEN);
out:
    resp_free(resp);
    return out->status;
}

void mcsec_prose_relay_key_wipe(mcsec_prose_relay_key_t *k)
{
    if (k != NULL)
        mcsec_memzero(k->kd, sizeof k->kd);
}

/* --- Network-authorised keying ------------------------------------------------------------- */

/* Takes an NwKeyResponse: checks it and derives KD. */
static mcsec_status_t take_nw(const Mcsec__Pkmf__NwKeyResponse *k, mcsec_prose_nw_key_t *out)
{
    if (k == NULL || k->session.len != MCSEC_PROSE_SESSION_LEN || k->km1.len != MCSEC_PROSE_KM_LEN ||
        k->km2.len != MCSEC_PROSE_KM_LEN ||
        !copy_str(out->initiator_uri, sizeof out->initiator_uri, k->initiator_uri) ||
        !copy_str(out->responder_uri, sizeof out->responder_uri, k->responder_uri)) {
        say(out->message, "the entity's answer is malformed (session, keying material or URIs)");
        return MCSEC_ERR_STRUCTURE;
    }
    memcpy(out->session, k->session.data, MCSEC_PROSE_SESSION_LEN);
    out->conn_id = k->conn_id;
    out->kd_id = k->kd_id;
    mcsec_status_t st = mcsec_prose_kd_network(k->km1.data, k->km2.data, out->session,
                                               out->initiator_uri, out->responder_uri,
                                               out->conn_id, out->kd_id, out->kd);
    if (st != MCSEC_OK)
        say(out->message, "KD derivation failed");
    return st;
}

mcsec_status_t mcsec_prose_nw_initiate(const mcsec_prose_server_t *entity, const char *peer_uri,
                                       uint16_t kd_id_msb, mcsec_prose_nw_key_t *out)
{
    if (out == NULL)
        return MCSEC_ERR_BAD_INPUT;
    memset(out, 0, sizeof *out);
    if (peer_uri == NULL || peer_uri[0] == 0 || strlen(peer_uri) > MCSEC_PROSE_URI_MAX) {
        say(out->message, "give the peer UE's URI (1..%d octets)", MCSEC_PROSE_URI_MAX);
        return out->status = MCSEC_ERR_BAD_INPUT;
    }
    Mcsec__Pkmf__NwKeyRequest body = MCSEC__PKMF__NW_KEY_REQUEST__INIT;
    Mcsec__Pkmf__PkmfRequest req = MCSEC__PKMF__PKMF_REQUEST__INIT;
    Mcsec__Pkmf__PkmfResponse *resp = NULL;
    body.peer_uri = (char *)peer_uri;
    body.kd_id_msb = kd_id_msb;
    req.body_case = MCSEC__PKMF__PKMF_REQUEST__BODY_NW_KEY;
    req.nw_key = &body;
    out->status = exchange(entity, &req, MCSEC__PKMF__PKMF_RESPONSE__BODY_NW_KEY, &resp,
                           out->message);
    if (out->status == MCSEC_OK) {
        out->status = take_nw(resp->nw_key, out);
        if (out->status == MCSEC_OK &&
            (strcmp(out->responder_uri, peer_uri) != 0 ||
             (kd_id_msb != 0 && (out->kd_id >> 16) != kd_id_msb))) {
            say(out->message, "the entity answered for another peer or KD ID");
            out->status = MCSEC_ERR_VERIFY;
        }
    }
    resp_free(resp);
    if (out->status != MCSEC_OK)
        mcsec_memzero(out->kd, sizeof out->kd);
    return out->status;
}

mcsec_status_t mcsec_prose_nw_accept(const mcsec_prose_server_t *entity, const uint8_t *session,
                                     size_t session_len, mcsec_prose_nw_key_t *out)
{
    if (out == NULL)
        return MCSEC_ERR_BAD_INPUT;
    memset(out, 0, sizeof *out);
    if (session == NULL || session_len != MCSEC_PROSE_SESSION_LEN) {
        say(out->message, "the session token must be %d octets", MCSEC_PROSE_SESSION_LEN);
        return out->status = MCSEC_ERR_BAD_LENGTH;
    }
    Mcsec__Pkmf__NwKeyFetch body = MCSEC__PKMF__NW_KEY_FETCH__INIT;
    Mcsec__Pkmf__PkmfRequest req = MCSEC__PKMF__PKMF_REQUEST__INIT;
    Mcsec__Pkmf__PkmfResponse *resp = NULL;
    body.session.data = (uint8_t *)session;
    body.session.len = session_len;
    req.body_case = MCSEC__PKMF__PKMF_REQUEST__BODY_NW_FETCH;
    req.nw_fetch = &body;
    out->status = exchange(entity, &req, MCSEC__PKMF__PKMF_RESPONSE__BODY_NW_KEY, &resp,
                           out->message);
    if (out->status == MCSEC_OK) {
        out->status = take_nw(resp->nw_key, out);
        if (out->status == MCSEC_OK && memcmp(out->session, session, session_len) != 0) {
            say(out->message, "the entity answered for another session");
            out->status = MCSEC_ERR_VERIFY;
        }
    }
    resp_free(resp);
    if (out->status != MCSEC_OK)
        mcsec_memzero(out->kd, sizeof out->kd);
    return out->status;
}

void mcsec_prose_nw_key_wipe(mcsec_prose_nw_key_t *k)
{
    if (k != NULL)
        mcsec_memzero(k->kd, sizeof k->kd);
}

mcsec_status_t mcsec_prose_entity_keying(const mcsec_prose_server_t *peer,
                                         const uint8_t session[MCSEC_PROSE_SESSION_LEN],
                                         const char *initiator_uri, const char *responder_uri,
                                         const uint8_t km1[MCSEC_PROSE_KM_LEN],
                                         uint16_t kd_id_msb, mcsec_prose_entity_answer_t *out)
{
    if (out == NULL)
        return MCSEC_ERR_BAD_INPUT;
    memset(out, 0, sizeof *out);
    if (session == NULL || initiator_uri == NULL || responder_uri == NULL || km1 == NULL) {
        say(out->message, "session, URIs and keying material are required");
        return out->status = MCSEC_ERR_BAD_INPUT;
    }
    Mcsec__Pkmf__DirectKeyingRequest body = MCSEC__PKMF__DIRECT_KEYING_REQUEST__INIT;
    Mcsec__Pkmf__PkmfRequest req = MCSEC__PKMF__PKMF_REQUEST__INIT;
    Mcsec__Pkmf__PkmfResponse *resp = NULL;
    body.session.data = (uint8_t *)session;
    body.session.len = MCSEC_PROSE_SESSION_LEN;
    body.initiator_uri = (char *)initiator_uri;
    body.responder_uri = (char *)responder_uri;
    body.km1.data = (uint8_t *)km1;
    body.km1.len = MCSEC_PROSE_KM_LEN;
    body.kd_id_msb = kd_id_msb;
    req.body_case = MCSEC__PKMF__PKMF_REQUEST__BODY_DIRECT_KEYING;
    req.direct_keying = &body;
    out->status = exchange(peer, &req, MCSEC__PKMF__PKMF_RESPONSE__BODY_DIRECT_KEYING, &resp,
                           out->message);
    if (out->status != MCSEC_OK)
        return out->status;
    const Mcsec__Pkmf__DirectKeyingResponse *k = resp->direct_keying;
    if (k == NULL || k->km2.len != MCSEC_PROSE_KM_LEN) {
        say(out->message, "the peer entity's answer is malformed");
        out->status = MCSEC_ERR_STRUCTURE;
    } else {
        memcpy(out->km2, k->km2.data, MCSEC_PROSE_KM_LEN);
        out->conn_id = k->conn_id;
        out->kd_id = k->kd_id;
    }
    resp_free(resp);
    return out->status;
}
