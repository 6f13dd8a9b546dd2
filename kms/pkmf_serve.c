/* PKMF requests on the KMS service: tells a PkmfRequest (field 100 = 1) from a KmsRequest,
 * re-checks the caller's device (revocation), dispatches to the handler of its body
 * (pkmf_ue.c, pkmf_relay.c, pkmf_entity.c), packs the PkmfResponse and fills the audit row
 * committed before the response leaves (server.c). Every request is audited: grants and
 * refusals. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "mcsec/secmem.h"

mcsec_status_t pkmf_fail(pkmf_req_t *r, mcsec_status_t st, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char raw[sizeof r->why];
    vsnprintf(raw, sizeof raw, fmt, ap);
    va_end(ap);
    kms_printable(r->why, sizeof r->why, raw, 1); /* may quote a peer entity's answer */
    return st;
}

mcsec_status_t pkmf_random_id(uint64_t *out)
{
    uint8_t b[8];
    uint64_t v = 0;
    do {
        mcsec_status_t st = mcsec_random_bytes(b, sizeof b);
        if (st != MCSEC_OK)
            return st;
        v = 0;
        for (int i = 0; i < 8; i++)
            v = v << 8 | b[i];
    } while (v == 0 || v > INT64_MAX); /* stored as a non-negative SQLite integer */
    *out = v;
    return MCSEC_OK;
}

mcsec_status_t pkmf_check_auth(pkmf_req_t *r, const char *uri, int what)
{
    int ok = 0;
    mcsec_status_t st = r->ps->auth_get(r->s, uri, what, &ok);
    if (st != MCSEC_OK)
        return pkmf_fail(r, MCSEC_ERR_IO, "the PKMF store is unavailable: try again later");
    if (!ok)
        return pkmf_fail(r, MCSEC_ERR_POLICY,
                         "%.150s is not authorised for %s here: ask the operator (mcsec-kms "
                         "prose authorise --%s)",
                         uri, mcsec_pkmf_auth_name((mcsec_pkmf_auth_t)what),
                         mcsec_pkmf_auth_name((mcsec_pkmf_auth_t)what));
    return MCSEC_OK;
}

static uint8_t *pack(Mcsec__Pkmf__PkmfResponse *resp, size_t *len)
{
    size_t n = mcsec__pkmf__pkmf_response__get_packed_size(resp);
    uint8_t *out = malloc(n > 0 ? n : 1);
    if (out != NULL)
        mcsec__pkmf__pkmf_response__pack(resp, out);
    *len = out != NULL ? n : 0;
    return out;
}

int kms_pkmf_handle(const mcsec_kms_t *kms, kms_store_t *s, int64_t device_id,
                    const uint8_t *payload, size_t len, uint8_t **resp_out, size_t *resp_len,
                    int *audit, mcsec_kms_audit_t *row)
{
    Mcsec__Pkmf__PkmfRequest *req = mcsec__pkmf__pkmf_request__unpack(NULL, len, payload);
    if (req == NULL || req->pkmf != 1) {
        if (req != NULL)
            mcsec__pkmf__pkmf_request__free_unpacked(req, NULL);
        return 0;
    }
    mcsec_kms_device_t dev;
    pkmf_req_t *r = calloc(1, sizeof *r);
    Mcsec__Pkmf__PkmfResponse resp = MCSEC__PKMF__PKMF_RESPONSE__INIT;
    mcsec_status_t st;
    resp.version = 1;
    resp.request_id = req->request_id;
    *resp_out = NULL;
    *resp_len = 0;
    *audit = 0;
    if (r == NULL)
        goto out; /* the device times out and retries */
    r->kms = kms;
    r->s = s;
    r->ps = kms->ops->pkmf;
    r->dev = &dev;
    r->action = "pkmf-refuse";

    st = kms->ops->device_get(s, device_id, &dev);
    if (st == MCSEC_OK && dev.revoked)
        st = MCSEC_ERR_UNKNOWN_KEY;
    if (st == MCSEC_ERR_UNKNOWN_KEY) {
        memset(&dev, 0, sizeof dev);
        pkmf_fail(r, st, "this device's credential is revoked: ask the operator to enrol it "
                         "again");
    } else if (st != MCSEC_OK) {
        memset(&dev, 0, sizeof dev);
        st = pkmf_fail(r, MCSEC_ERR_IO, "the KMS store is unavailable: try again later");
    } else {
        snprintf(r->subject, sizeof r->subject, "%s", dev.uri);
        if (req->version != 1) {
            st = pkmf_fail(r, MCSEC_ERR_UNSUPPORTED,
                           "unsupported envelope version: this PKMF speaks version 1");
        } else {
            switch (req->body_case) {
            case MCSEC__PKMF__PKMF_REQUEST__BODY_UE_KEY:
                st = pkmf_on_ue_key(r, req->ue_key, &resp);
                break;
            case MCSEC__PKMF__PKMF_REQUEST__BODY_RELAY_KEY:
                st = pkmf_on_relay_key(r, req->relay_key, &resp);
                break;
            case MCSEC__PKMF__PKMF_REQUEST__BODY_NW_KEY:
                st = pkmf_on_nw_key(r, req->nw_key, &resp);
                break;
            case MCSEC__PKMF__PKMF_REQUEST__BODY_NW_FETCH:
                st = pkmf_on_nw_fetch(r, req->nw_fetch, &resp);
                break;
            case MCSEC__PKMF__PKMF_REQUEST__BODY_DIRECT_KEYING:
                st = pkmf_on_direct_keying(r, req->direct_keying, &resp);
                break;
            default:
                st = pkmf_fail(r, MCSEC_ERR_BAD_INPUT,
                               "malformed request: no body (proto/pkmf.proto)");
            }
        }
    }
    resp.status = (int32_t)st;
    if (st != MCSEC_OK) {
        resp.body_case = MCSEC__PKMF__PKMF_RESPONSE__BODY__NOT_SET;
        resp.message = r->why;
        r->action = "pkmf-refuse";
    }
    kms_audit_row(row, device_id, r->subject, -1, r->action, st, req->request_id, r->why);
    *audit = 1;
    *resp_out = pack(&resp, resp_len);
out:
    if (r != NULL) {
        mcsec_memzero(r, sizeof *r);
        free(r);
    }
    if (req->body_case == MCSEC__PKMF__PKMF_REQUEST__BODY_DIRECT_KEYING &&
        req->direct_keying != NULL && req->direct_keying->km1.data != NULL)
        mcsec_memzero(req->direct_keying->km1.data, req->direct_keying->km1.len);
    mcsec__pkmf__pkmf_request__free_unpacked(req, NULL);
    return 1;
}
