/* One call per datagram (mcsec_direct_handle): dispatch by message type, find the link, run
 * the procedure step with its key establishment (identity keys and the application's KD hook)
 * and produce the reply to send. */
#include <string.h>

#include "direct_internal.h"
#include "mcsec/secmem.h"

static mcsec_status_t run_hook(const mcsec_direct_keys_t *keys, mcsec_direct_link_t *link,
                               const mcsec_direct_request_t *req, const mcsec_direct_dsmc_t *dsmc)
{
    if (keys == NULL || keys->kd_hook == NULL)
        return MCSEC_OK;
    mcsec_status_t rc = keys->kd_hook(keys->kd_hook_user, link, req, dsmc);
    if (rc != MCSEC_OK && link->check == MCSEC_DIRECT_CHECK_NONE)
        dx_fail(link, MCSEC_DIRECT_CHECK_KEY, "the application's KD source refused", rc);
    return rc;
}

/* Responder: key establishment for a taken request, then the DSMC. */
static mcsec_status_t answer(const mcsec_direct_keys_t *keys, mcsec_direct_link_t *link,
                             const mcsec_direct_request_t *req, uint8_t *reply, size_t cap,
                             size_t *reply_len)
{
    mcsec_status_t rc = MCSEC_OK;
    if (keys != NULL && keys->id != NULL)
        rc = mcsec_direct_keying_answer(link, keys->id, req);
    if (rc == MCSEC_OK)
        rc = run_hook(keys, link, req, NULL);
    if (rc == MCSEC_OK)
        rc = mcsec_direct_build_dsmc(link, reply, cap, reply_len);
    return rc;
}

static mcsec_status_t on_dcr(mcsec_direct_ue_t *ue, const mcsec_direct_keys_t *keys,
                             const uint8_t *msg, size_t len, mcsec_direct_link_t **link,
                             uint8_t *reply, size_t cap, size_t *reply_len)
{
    mcsec_direct_request_t req;
    mcsec_direct_link_t *l = *link;
    int created = 0;
    mcsec_status_t rc = mcsec_direct_dcr_parse(msg, len, &req);
    if (rc != MCSEC_OK)
        return rc; /* not answered: nothing in it can be trusted to address a Reject */
    if (l == NULL && req.conn_id != 0) {
        rc = mcsec_direct_link_by_conn_id(ue, req.conn_id, &l);
        if (rc != MCSEC_OK) {
            if (mcsec_direct_build_reject(&req, MCSEC_DIRECT_CAUSE_UNKNOWN_CONN_ID, reply, cap,
                                          reply_len) != MCSEC_OK)
                *reply_len = 0;
            return rc;
        }
    }
    if (l == NULL) {
        if ((rc = mcsec_direct_link_new(ue, "", &l)) != MCSEC_OK)
            return rc;
        created = 1;
    }
    *link = l;
    rc = mcsec_direct_respond_begin(l, msg, len);
    if (rc == MCSEC_OK) {
        rc = answer(keys, l, &req, reply, cap, reply_len);
        if (rc != MCSEC_OK && !created)
            dx_exchange_abandon(l); /* the stored link stays as it was (IDLE) */
    }
    if (rc != MCSEC_OK) {
        uint8_t cause = mcsec_direct_reject_cause(rc);
        if (l->check == MCSEC_DIRECT_CHECK_ALGS)
            cause = MCSEC_DIRECT_CAUSE_POLICY;
        else if (rc == MCSEC_ERR_UNKNOWN_KEY && req.conn_id != 0 && req.conn_id != l->local_conn_id)
            cause = MCSEC_DIRECT_CAUSE_UNKNOWN_CONN_ID;
        if (mcsec_direct_build_reject(&req, cause, reply, cap, reply_len) != MCSEC_OK)
            *reply_len = 0;
        if (created) {
            mcsec_direct_link_forget(ue, l);
            *link = NULL;
        }
    }
    return rc;
}

/* The link whose pending request a DSMC or Reject answers. */
static mcsec_direct_link_t *pending_requester(mcsec_direct_ue_t *ue, const uint8_t *msg,
                                              size_t len)
{
    mcsec_direct_dsmc_t d;
    mcsec_direct_reject_t r;
    int is_dsmc = mcsec_direct_msg_type(msg, len) == MCSEC_DIRECT_MSG_DSMC;
    if (is_dsmc ? mcsec_direct_dsmc_parse(msg, len, &d) != MCSEC_OK
                : mcsec_direct_reject_parse(msg, len, &r) != MCSEC_OK)
        return NULL;
    for (mcsec_direct_link_t *l = ue->links; l != NULL; l = l->next) {
        if (!l->x.active || !l->x.requester)
            continue;
        if (is_dsmc ? (d.kd_sess_id >> 8) == l->x.sess_msb
                    : mcsec_ct_equal(r.nonce, l->x.nonce_1, MCSEC_DIRECT_NONCE_LEN))
            return l;
    }
    return NULL;
}

mcsec_status_t mcsec_direct_handle(mcsec_direct_ue_t *ue, const mcsec_direct_keys_t *keys,
                                   const uint8_t *msg, size_t len, mcsec_direct_link_t **link,
                                   uint8_t *out, size_t cap, uint8_t *reply, size_t reply_cap,
                                   size_t *reply_len, mcsec_direct_rx_t *rx)
{
    if (ue == NULL || msg == NULL || link == NULL || out == NULL || reply == NULL ||
        reply_len == NULL || rx == NULL)
        return MCSEC_ERR_BAD_INPUT;
    memset(rx, 0, sizeof *rx);
    *reply_len = 0;
    mcsec_status_t rc;
    switch (mcsec_direct_msg_type(msg, len)) {
    case MCSEC_DIRECT_MSG_DCR:
        rx->kind = MCSEC_DIRECT_RX_DCR;
        return on_dcr(ue, keys, msg, len, link, reply, reply_cap, reply_len);
    case MCSEC_DIRECT_MSG_DSMC: {
        mcsec_direct_dsmc_t d;
        rx->kind = MCSEC_DIRECT_RX_DSMC;
        if (*link == NULL)
            *link = pending_requester(ue, msg, len);
        if (*link == NULL) {
            rc = mcsec_direct_dsmc_parse(msg, len, &d);
            return rc != MCSEC_OK ? rc : MCSEC_ERR_STRUCTURE; /* nothing of ours waits */
        }
        rc = mcsec_direct_dsmc_parse(msg, len, &d);
        if (rc != MCSEC_OK)
            return dx_fail(*link, MCSEC_DIRECT_CHECK_PARSE, "malformed DSMC", rc);
        /* a replay is reported as one before any key creation data is opened again */
        for (size_t i = 0; i < (*link)->n_seen; i++)
            if (mcsec_ct_equal((*link)->seen_n2[i], d.nonce, MCSEC_DIRECT_NONCE_LEN))
                return mcsec_direct_handle_dsmc(*link, msg, len, reply, reply_cap, reply_len);
        rc = MCSEC_OK;
        if ((*link)->x.active && (*link)->x.requester) {
            if (keys != NULL && keys->id != NULL)
                rc = mcsec_direct_keying_finish(*link, keys->id, &d);
            if (rc == MCSEC_OK)
                rc = run_hook(keys, *link, NULL, &d);
        }
        if (rc == MCSEC_OK)
            rc = mcsec_direct_handle_dsmc(*link, msg, len, reply, reply_cap, reply_len);
        if (rc != MCSEC_OK)
            *reply_len = 0;
        return rc;
    }
    case MCSEC_DIRECT_MSG_REJECT:
        rx->kind = MCSEC_DIRECT_RX_REJECT;
        if (*link == NULL)
            *link = pending_requester(ue, msg, len);
        if (*link == NULL) {
            mcsec_direct_reject_t r;
            rc = mcsec_direct_reject_parse(msg, len, &r);
            return rc != MCSEC_OK ? rc : MCSEC_ERR_STRUCTURE;
        }
        return mcsec_direct_handle_reject(*link, msg, len);
    case MCSEC_DIRECT_MSG_PDU: {
        if (*link == NULL) {
            mcsec_direct_pdu_t p;
            rc = mcsec_direct_pdu_parse(msg, len, &p);
            if (rc != MCSEC_OK)
                return rc;
            if ((rc = mcsec_direct_link_by_kd_sess_id(ue, p.kd_sess_id, link)) != MCSEC_OK)
                return rc;
        }
        rc = mcsec_direct_receive(*link, msg, len, out, cap, rx);
        if (rc != MCSEC_OK)
            return rc;
        if (rx->kind == MCSEC_DIRECT_RX_DSMP && (*link)->accept_due)
            return mcsec_direct_build_accept(*link, reply, reply_cap, reply_len);
        if (rx->kind == MCSEC_DIRECT_RX_REKEY) {
            rc = answer(keys, *link, &rx->request, reply, reply_cap, reply_len);
            if (rc != MCSEC_OK) {
                *reply_len = 0;
                dx_exchange_abandon(*link);
            }
            return rc;
        }
        return MCSEC_OK;
    }
    default:
        return MCSEC_ERR_BAD_INPUT;
    }
}
