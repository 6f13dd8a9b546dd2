/* The direct-link message codec: pure parsers and the matching encoders for the Direct
 * Communication Request, Direct Rekeying Request, Direct Security Mode Command, Reject, the
 * protected packet header and the signalling carried inside protected packets. Layouts:
 * docs/protocol.md ("Direct communication: messages"). */
#include <string.h>

#include <openssl/sha.h>

#include "direct_internal.h"

/* --- Key creation data items: n (1) | { type (1) | len (2) | value } ------------------------- */

static int kcd_type_ok(uint8_t t) { return t != 0 && t != 0xFF; }

/* Parses the item list at msg[*at..len). */
static mcsec_status_t kcd_parse(const uint8_t *msg, size_t len, size_t *at,
                                mcsec_direct_kcd_t items[MCSEC_DIRECT_KCD_ITEMS], size_t *n)
{
    size_t p = *at;
    if (p >= len)
        return MCSEC_ERR_TRUNCATED;
    size_t count = msg[p++];
    if (count > MCSEC_DIRECT_KCD_ITEMS)
        return MCSEC_ERR_STRUCTURE;
    for (size_t i = 0; i < count; i++) {
        if (len - p < 3)
            return MCSEC_ERR_TRUNCATED;
        uint8_t type = msg[p];
        size_t l = dx_get16(msg + p + 1);
        p += 3;
        if (!kcd_type_ok(type))
            return MCSEC_ERR_STRUCTURE;
        for (size_t j = 0; j < i; j++)
            if (items[j].type == type)
                return MCSEC_ERR_STRUCTURE;
        if (l > MCSEC_DIRECT_KCD_MAX)
            return MCSEC_ERR_BAD_LENGTH;
        if (len - p < l)
            return MCSEC_ERR_TRUNCATED;
        items[i].type = type;
        items[i].value = msg + p;
        items[i].len = l;
        p += l;
    }
    *n = count;
    *at = p;
    return MCSEC_OK;
}

static mcsec_status_t kcd_check(const mcsec_direct_kcd_t *items, size_t n)
{
    if (n > MCSEC_DIRECT_KCD_ITEMS)
        return MCSEC_ERR_STRUCTURE;
    for (size_t i = 0; i < n; i++) {
        if (!kcd_type_ok(items[i].type))
            return MCSEC_ERR_STRUCTURE;
        for (size_t j = 0; j < i; j++)
            if (items[j].type == items[i].type)
                return MCSEC_ERR_STRUCTURE;
        if (items[i].len > MCSEC_DIRECT_KCD_MAX)
            return MCSEC_ERR_BAD_LENGTH;
        if (items[i].len > 0 && items[i].value == NULL)
            return MCSEC_ERR_BAD_INPUT;
    }
    return MCSEC_OK;
}

static size_t kcd_size(const mcsec_direct_kcd_t *items, size_t n)
{
    size_t s = 1;
    for (size_t i = 0; i < n; i++)
        s += 3 + items[i].len;
    return s;
}

static size_t kcd_write(const mcsec_direct_kcd_t *items, size_t n, uint8_t *out)
{
    size_t p = 0;
    out[p++] = (uint8_t)n;
    for (size_t i = 0; i < n; i++) {
        out[p] = items[i].type;
        dx_put16(out + p + 1, (uint16_t)items[i].len);
        p += 3;
        if (items[i].len > 0)
            memcpy(out + p, items[i].value, items[i].len);
        p += items[i].len;
    }
    return p;
}

/* --- Requests: DCR and Direct Rekeying Request ------------------------------------------------ */

/* Field rules shared by the parser and the encoder. */
static mcsec_status_t request_fields_ok(uint8_t type, uint8_t flags, uint32_t conn_id,
                                        uint32_t kd_id, uint8_t sess_msb, uint8_t enc,
                                        uint8_t integ, size_t ui_len, const uint8_t *ui)
{
    if (sess_msb == 0 || enc == 0 || integ == 0)
        return MCSEC_ERR_BAD_INPUT;
    for (size_t i = 0; i < ui_len; i++)
        if (ui[i] == 0)
            return MCSEC_ERR_BAD_INPUT;
    if (type == MCSEC_DIRECT_MSG_DCR) {
        if (flags & ~MCSEC_DIRECT_DCR_EXISTING_KD)
            return MCSEC_ERR_BAD_INPUT;
        if (conn_id == 0 && ui_len == 0) /* who is asking? */
            return MCSEC_ERR_BAD_INPUT;
        if (flags & MCSEC_DIRECT_DCR_EXISTING_KD)
            return kd_id != 0 ? MCSEC_OK : MCSEC_ERR_BAD_INPUT;
    } else {
        if ((flags & ~MCSEC_DIRECT_REKEY_FRESH_KD) || conn_id != 0 || ui_len != 0)
            return MCSEC_ERR_BAD_INPUT;
        if (!(flags & MCSEC_DIRECT_REKEY_FRESH_KD))
            return kd_id != 0 ? MCSEC_OK : MCSEC_ERR_BAD_INPUT;
    }
    /* a new KD: our MSB half only */
    return (kd_id >> 16) != 0 && (kd_id & 0xFFFF) == 0 ? MCSEC_OK : MCSEC_ERR_BAD_INPUT;
}

static mcsec_status_t request_parse(uint8_t want, const uint8_t *msg, size_t len,
                                    mcsec_direct_request_t *out)
{
    if (msg == NULL || out == NULL)
        return MCSEC_ERR_BAD_INPUT;
    memset(out, 0, sizeof *out);
    if (len < 2)
        return len == 0 ? MCSEC_ERR_TRUNCATED : (msg[0] != want ? MCSEC_ERR_BAD_INPUT
                                                                : MCSEC_ERR_TRUNCATED);
    if (msg[0] != want)
        return MCSEC_ERR_BAD_INPUT;
    if (msg[1] != MCSEC_DIRECT_VERSION)
        return MCSEC_ERR_UNSUPPORTED;
    if (len < DX_REQ_FIXED)
        return MCSEC_ERR_TRUNCATED;
    out->type = msg[0];
    out->flags = msg[2];
    out->conn_id = dx_get32(msg + 3);
    out->kd_id = dx_get32(msg + 7);
    out->kd_sess_id_msb = msg[11];
    memcpy(out->nonce, msg + 12, MCSEC_DIRECT_NONCE_LEN);
    out->enc_algs = msg[28];
    out->int_algs = msg[29];
    size_t ui_len = msg[30], at = DX_REQ_FIXED;
    if (len - at < ui_len)
        return MCSEC_ERR_TRUNCATED;
    out->user_info = msg + at;
    out->user_info_len = ui_len;
    at += ui_len;
    mcsec_status_t rc = kcd_parse(msg, len, &at, out->kcd, &out->n_kcd);
    if (rc != MCSEC_OK)
        return rc;
    if (at != len)
        return MCSEC_ERR_TRAILING_DATA;
    return request_fields_ok(out->type, out->flags, out->conn_id, out->kd_id,
                             out->kd_sess_id_msb, out->enc_algs, out->int_algs, ui_len,
                             out->user_info);
}

mcsec_status_t mcsec_direct_dcr_parse(const uint8_t *msg, size_t len, mcsec_direct_request_t *out)
{
    return request_parse(MCSEC_DIRECT_MSG_DCR, msg, len, out);
}

mcsec_status_t mcsec_direct_rekey_parse(const uint8_t *msg, size_t len,
                                        mcsec_direct_request_t *out)
{
    return request_parse(MCSEC_DIRECT_MSG_REKEY, msg, len, out);
}

mcsec_status_t dx_encode_request(const mcsec_direct_request_t *req, uint8_t *out, size_t cap,
                                 size_t *out_len)
{
    if (req == NULL || out == NULL || out_len == NULL ||
        (req->type != MCSEC_DIRECT_MSG_DCR && req->type != MCSEC_DIRECT_MSG_REKEY) ||
        req->user_info_len > MCSEC_DIRECT_USER_INFO_MAX ||
        (req->user_info_len > 0 && req->user_info == NULL))
        return MCSEC_ERR_BAD_INPUT;
    mcsec_status_t rc = request_fields_ok(req->type, req->flags, req->conn_id, req->kd_id,
                                          req->kd_sess_id_msb, req->enc_algs, req->int_algs,
                                          req->user_info_len, req->user_info);
    if (rc == MCSEC_OK)
        rc = kcd_check(req->kcd, req->n_kcd);
    if (rc != MCSEC_OK)
        return rc;
    size_t need = DX_REQ_FIXED + req->user_info_len + kcd_size(req->kcd, req->n_kcd);
    if (need > cap)
        return MCSEC_ERR_BAD_LENGTH;
    out[0] = req->type;
    out[1] = MCSEC_DIRECT_VERSION;
    out[2] = req->flags;
    dx_put32(out + 3, req->conn_id);
    dx_put32(out + 7, req->kd_id);
    out[11] = req->kd_sess_id_msb;
    memcpy(out + 12, req->nonce, MCSEC_DIRECT_NONCE_LEN);
    out[28] = req->enc_algs;
    out[29] = req->int_algs;
    out[30] = (uint8_t)req->user_info_len;
    size_t at = DX_REQ_FIXED;
    if (req->user_info_len > 0)
        memcpy(out + at, req->user_info, req->user_info_len);
    at += req->user_info_len;
    at += kcd_write(req->kcd, req->n_kcd, out + at);
    *out_len = at;
    return MCSEC_OK;
}

/* --- Direct Security Mode Command --------------------------------------------------------- */

static mcsec_status_t dsmc_fields_ok(const mcsec_direct_dsmc_t *m)
{
    if (m->kd_id == 0 || (m->kd_sess_id >> 8) == 0 || (m->kd_sess_id & 0xFF) == 0 ||
        m->enc_alg > 7 || m->int_alg > 7 || m->echo_enc_algs == 0 || m->echo_int_algs == 0)
        return MCSEC_ERR_BAD_INPUT;
    return MCSEC_OK;
}

mcsec_status_t mcsec_direct_dsmc_parse(const uint8_t *msg, size_t len, mcsec_direct_dsmc_t *out)
{
    if (msg == NULL || out == NULL)
        return MCSEC_ERR_BAD_INPUT;
    memset(out, 0, sizeof *out);
    if (len == 0)
        return MCSEC_ERR_TRUNCATED;
    if (msg[0] != MCSEC_DIRECT_MSG_DSMC)
        return MCSEC_ERR_BAD_INPUT;
    if (len < 2)
        return MCSEC_ERR_TRUNCATED;
    if (msg[1] != MCSEC_DIRECT_VERSION)
        return MCSEC_ERR_UNSUPPORTED;
    if (len < DX_DSMC_FIXED + 1 + MCSEC_DIRECT_MAC_LEN)
        return MCSEC_ERR_TRUNCATED;
    out->kd_id = dx_get32(msg + 2);
    out->kd_sess_id = dx_get16(msg + 6);
    memcpy(out->nonce, msg + 8, MCSEC_DIRECT_NONCE_LEN);
    out->enc_alg = msg[24];
    out->int_alg = msg[25];
    out->echo_enc_algs = msg[26];
    out->echo_int_algs = msg[27];
    memcpy(out->digest, msg + 28, MCSEC_DIRECT_DIGEST_LEN);
    size_t at = DX_DSMC_FIXED, body = len - MCSEC_DIRECT_MAC_LEN;
    mcsec_status_t rc = kcd_parse(msg, body, &at, out->kcd, &out->n_kcd);
    if (rc != MCSEC_OK)
        return rc;
    if (at != body)
        return MCSEC_ERR_TRAILING_DATA;
    memcpy(out->mac, msg + body, MCSEC_DIRECT_MAC_LEN);
    return dsmc_fields_ok(out);
}

mcsec_status_t dx_encode_dsmc_body(const mcsec_direct_dsmc_t *m, uint8_t *out, size_t cap,
                                   size_t *out_len)
{
    if (m == NULL || out == NULL || out_len == NULL)
        return MCSEC_ERR_BAD_INPUT;
    mcsec_status_t rc = dsmc_fields_ok(m);
    if (rc == MCSEC_OK)
        rc = kcd_check(m->kcd, m->n_kcd);
    if (rc != MCSEC_OK)
        return rc;
    size_t need = DX_DSMC_FIXED + kcd_size(m->kcd, m->n_kcd) + MCSEC_DIRECT_MAC_LEN;
    if (need > cap)
        return MCSEC_ERR_BAD_LENGTH;
    out[0] = MCSEC_DIRECT_MSG_DSMC;
    out[1] = MCSEC_DIRECT_VERSION;
    dx_put32(out + 2, m->kd_id);
    dx_put16(out + 6, m->kd_sess_id);
    memcpy(out + 8, m->nonce, MCSEC_DIRECT_NONCE_LEN);
    out[24] = m->enc_alg;
    out[25] = m->int_alg;
    out[26] = m->echo_enc_algs;
    out[27] = m->echo_int_algs;
    memcpy(out + 28, m->digest, MCSEC_DIRECT_DIGEST_LEN);
    *out_len = DX_DSMC_FIXED + kcd_write(m->kcd, m->n_kcd, out + DX_DSMC_FIXED);
    return MCSEC_OK;
}

/* --- Reject ------------------------------------------------------------------------------------ */

static int cause_ok(uint8_t c)
{
    return c >= MCSEC_DIRECT_CAUSE_UNKNOWN_CONN_ID && c <= MCSEC_DIRECT_CAUSE_OTHER;
}

mcsec_status_t mcsec_direct_reject_parse(const uint8_t *msg, size_t len,
                                         mcsec_direct_reject_t *out)
{
    if (msg == NULL || out == NULL)
        return MCSEC_ERR_BAD_INPUT;
    memset(out, 0, sizeof *out);
    if (len == 0)
        return MCSEC_ERR_TRUNCATED;
    if (msg[0] != MCSEC_DIRECT_MSG_REJECT)
        return MCSEC_ERR_BAD_INPUT;
    if (len < 2)
        return MCSEC_ERR_TRUNCATED;
    if (msg[1] != MCSEC_DIRECT_VERSION)
        return MCSEC_ERR_UNSUPPORTED;
    if (len < DX_REJECT_LEN)
        return MCSEC_ERR_TRUNCATED;
    if (len > DX_REJECT_LEN)
        return MCSEC_ERR_TRAILING_DATA;
    if (!cause_ok(msg[2]))
        return MCSEC_ERR_BAD_INPUT;
    out->cause = msg[2];
    memcpy(out->nonce, msg + 3, MCSEC_DIRECT_NONCE_LEN);
    return MCSEC_OK;
}

mcsec_status_t mcsec_direct_build_reject(const mcsec_direct_request_t *req, uint8_t cause,
                                         uint8_t *out, size_t cap, size_t *out_len)
{
    if (req == NULL || out == NULL || out_len == NULL || !cause_ok(cause))
        return MCSEC_ERR_BAD_INPUT;
    if (cap < DX_REJECT_LEN)
        return MCSEC_ERR_BAD_LENGTH;
    out[0] = MCSEC_DIRECT_MSG_REJECT;
    out[1] = MCSEC_DIRECT_VERSION;
    out[2] = cause;
    memcpy(out + 3, req->nonce, MCSEC_DIRECT_NONCE_LEN);
    *out_len = DX_REJECT_LEN;
    return MCSEC_OK;
}

/* --- Protected packets ------------------------------------------------------------------------- */

mcsec_status_t mcsec_direct_pdu_parse(const uint8_t *msg, size_t len, mcsec_direct_pdu_t *out)
{
    if (msg == NULL || out == NULL)
        return MCSEC_ERR_BAD_INPUT;
    memset(out, 0, sizeof *out);
    if (len == 0)
        return MCSEC_ERR_TRUNCATED;
    if (msg[0] != MCSEC_DIRECT_MSG_PDU)
        return MCSEC_ERR_BAD_INPUT;
    if (len < MCSEC_DIRECT_PDU_HEADER)
        return MCSEC_ERR_TRUNCATED;
    out->kd_sess_id = dx_get16(msg + 1);
    out->bearer = msg[3];
    out->count = dx_get32(msg + 4);
    out->body = msg + MCSEC_DIRECT_PDU_HEADER;
    out->body_len = len - MCSEC_DIRECT_PDU_HEADER;
    if (out->kd_sess_id == 0 || out->bearer >= MCSEC_DIRECT_BEARERS)
        return MCSEC_ERR_BAD_INPUT;
    if (out->bearer == 0 && out->body_len < 1 + MCSEC_DIRECT_MAC_LEN)
        return MCSEC_ERR_TRUNCATED;
    return MCSEC_OK;
}

uint8_t mcsec_direct_msg_type(const uint8_t *msg, size_t len)
{
    return msg != NULL && len > 0 ? msg[0] : 0;
}

/* --- Signalling inside bearer 0 --------------------------------------------------------------- */

mcsec_status_t dx_inner_parse(const uint8_t *msg, size_t len, dx_inner_t *out)
{
    memset(out, 0, sizeof *out);
    if (len == 0)
        return MCSEC_ERR_TRUNCATED;
    out->type = msg[0];
    switch (msg[0]) {
    case MCSEC_DIRECT_MSG_DSMP:
        if (len != DX_DSMP_LEN)
            return len < DX_DSMP_LEN ? MCSEC_ERR_TRUNCATED : MCSEC_ERR_TRAILING_DATA;
        out->kd_id = dx_get32(msg + 1);
        out->kd_sess_id = dx_get16(msg + 5);
        out->conn_id = dx_get32(msg + 7);
        return out->conn_id != 0 ? MCSEC_OK : MCSEC_ERR_BAD_INPUT;
    case MCSEC_DIRECT_MSG_ACCEPT:
        if (len != DX_ACCEPT_LEN)
            return len < DX_ACCEPT_LEN ? MCSEC_ERR_TRUNCATED : MCSEC_ERR_TRAILING_DATA;
        out->conn_id = dx_get32(msg + 1);
        return out->conn_id != 0 ? MCSEC_OK : MCSEC_ERR_BAD_INPUT;
    case MCSEC_DIRECT_MSG_RELEASE:
        return len == DX_RELEASE_LEN ? MCSEC_OK : MCSEC_ERR_TRAILING_DATA;
    case MCSEC_DIRECT_MSG_REKEY: /* the whole request: mcsec_direct_rekey_parse */
        out->data = msg;
        out->len = len;
        return MCSEC_OK;
    case MCSEC_DIRECT_MSG_SIGNAL: /* the application's octets */
        out->data = msg + 1;
        out->len = len - 1;
        return MCSEC_OK;
    default:
        return MCSEC_ERR_BAD_INPUT;
    }
}

mcsec_status_t dx_digest(const uint8_t *msg, size_t len, uint8_t out[MCSEC_DIRECT_DIGEST_LEN])
{
    uint8_t d[SHA256_DIGEST_LENGTH];
    if (SHA256(msg, len, d) == NULL)
        return MCSEC_ERR_INTERNAL;
    memcpy(out, d, MCSEC_DIRECT_DIGEST_LEN);
    return MCSEC_OK;
}
