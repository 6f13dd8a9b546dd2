/* Direct-link sessions and protected packets: the keys of a KD-sess, sealing a packet
 * (PDCP-like: MAC-I over header || plaintext, then the plaintext and MAC-I ciphered), opening
 * one with a 64-packet replay window per bearer and direction, and the signalling carried on
 * bearer 0 (DSMP, Accept, rekey request, Release, application signalling). */
#include <string.h>

#include "direct_internal.h"
#include "mcsec/secmem.h"

uint8_t dx_dir_tx(const mcsec_direct_link_t *link)
{
    return link->role == MCSEC_DIRECT_INITIATOR ? 0 : 1;
}

uint8_t dx_dir_rx(const mcsec_direct_link_t *link)
{
    return link->role == MCSEC_DIRECT_INITIATOR ? 1 : 0;
}

void dx_session_wipe(dx_session_t *s)
{
    mcsec_memzero(s, sizeof *s);
}

mcsec_status_t dx_session_keys(dx_session_t *s, const uint8_t kd[MCSEC_DIRECT_KD_LEN],
                               const uint8_t n1[MCSEC_DIRECT_NONCE_LEN],
                               const uint8_t n2[MCSEC_DIRECT_NONCE_LEN], uint16_t id,
                               uint8_t enc_alg, uint8_t int_alg)
{
    dx_session_wipe(s);
    mcsec_status_t rc = mcsec_direct_kd_sess(kd, n1, n2, s->kd_sess);
    if (rc == MCSEC_OK)
        rc = mcsec_direct_alg_key(s->kd_sess, MCSEC_DIRECT_KEY_SIG_ENC, enc_alg, s->k_sig_enc);
    if (rc == MCSEC_OK)
        rc = mcsec_direct_alg_key(s->kd_sess, MCSEC_DIRECT_KEY_SIG_INT, int_alg, s->k_sig_int);
    if (rc == MCSEC_OK)
        rc = mcsec_direct_alg_key(s->kd_sess, MCSEC_DIRECT_KEY_UP_ENC, enc_alg, s->k_up_enc);
    if (rc != MCSEC_OK) {
        dx_session_wipe(s);
        return rc;
    }
    s->id = id;
    s->enc_alg = enc_alg;
    s->int_alg = int_alg;
    s->active = 1;
    return MCSEC_OK;
}

/* --- Replay window ----------------------------------------------------------------------------- */

int dx_window_check(const dx_session_t *s, uint8_t bearer, uint32_t count)
{
    if (!s->rx_any[bearer] || count > s->rx_top[bearer])
        return 1;
    uint32_t back = s->rx_top[bearer] - count;
    if (back >= DX_WINDOW)
        return 0;
    return !(s->rx_bits[bearer] >> back & 1u);
}

void dx_window_mark(dx_session_t *s, uint8_t bearer, uint32_t count)
{
    if (!s->rx_any[bearer]) {
        s->rx_any[bearer] = 1;
        s->rx_top[bearer] = count;
        s->rx_bits[bearer] = 1;
        return;
    }
    if (count > s->rx_top[bearer]) {
        uint32_t shift = count - s->rx_top[bearer];
        s->rx_bits[bearer] = shift >= DX_WINDOW ? 0 : s->rx_bits[bearer] << shift;
        s->rx_bits[bearer] |= 1;
        s->rx_top[bearer] = count;
        return;
    }
    uint32_t back = s->rx_top[bearer] - count;
    if (back < DX_WINDOW)
        s->rx_bits[bearer] |= (uint64_t)1 << back;
}

/* --- Sealing ------------------------------------------------------------------------------------ */

/* Writes the PDU: header, then (inner_type if nonzero) || in, MAC-I on bearer 0, ciphered. */
static mcsec_status_t seal(mcsec_direct_link_t *link, dx_session_t *s, uint8_t bearer,
                           uint8_t inner_type, const uint8_t *in, size_t len, uint32_t limit,
                           uint8_t *out, size_t cap, size_t *out_len)
{
    size_t pt_len = len + (inner_type ? 1 : 0);
    size_t need = MCSEC_DIRECT_PDU_HEADER + pt_len + (bearer == 0 ? MCSEC_DIRECT_MAC_LEN : 0);
    if (len > MCSEC_DIRECT_MSG_MAX || need > cap)
        return dx_fail(link, MCSEC_DIRECT_CHECK_NONE, "output buffer too small",
                       MCSEC_ERR_BAD_LENGTH);
    uint32_t count = s->tx_next[bearer];
    if (s->tx_exhausted[bearer] || (limit != DX_CTRL_COUNT_MAX && count >= limit))
        return dx_fail(link, MCSEC_DIRECT_CHECK_COUNT,
                       "the packet COUNT of this session is used up; rekey the link",
                       MCSEC_ERR_EXPIRED);
    out[0] = MCSEC_DIRECT_MSG_PDU;
    dx_put16(out + 1, s->id);
    out[3] = bearer;
    dx_put32(out + 4, count);
    uint8_t *pt = out + MCSEC_DIRECT_PDU_HEADER;
    if (inner_type)
        pt[0] = inner_type;
    if (len > 0)
        memmove(pt + (inner_type ? 1 : 0), in, len);
    uint8_t dir = dx_dir_tx(link);
    mcsec_status_t rc;
    if (bearer == 0) {
        rc = mcsec_direct_mac(s->int_alg, s->k_sig_int, count, 0, dir, out,
                              MCSEC_DIRECT_PDU_HEADER + pt_len, pt + pt_len);
        if (rc == MCSEC_OK)
            rc = mcsec_direct_cipher(s->enc_alg, s->k_sig_enc, count, 0, dir, pt,
                                     pt_len + MCSEC_DIRECT_MAC_LEN, pt);
    } else {
        rc = mcsec_direct_cipher(s->enc_alg, s->k_up_enc, count, bearer, dir, pt, pt_len, pt);
    }
    if (rc != MCSEC_OK) {
        mcsec_memzero(out, need);
        return dx_fail(link, MCSEC_DIRECT_CHECK_NONE, "protection failed", rc);
    }
    if (count == 0xFFFFFFFFu)
        s->tx_exhausted[bearer] = 1;
    else
        s->tx_next[bearer] = count + 1;
    link->stats.tx_packets++;
    *out_len = need;
    return MCSEC_OK;
}

mcsec_status_t dx_seal(mcsec_direct_link_t *link, dx_session_t *s, uint8_t bearer,
                       const uint8_t *in, size_t len, uint32_t limit, uint8_t *out, size_t cap,
                       size_t *out_len)
{
    return seal(link, s, bearer, 0, in, len, limit, out, cap, out_len);
}

mcsec_status_t mcsec_direct_protect(mcsec_direct_link_t *link, uint8_t bearer,
                                    const uint8_t *data, size_t len, uint8_t *out, size_t cap,
                                    size_t *out_len)
{
    if (link == NULL || out == NULL || out_len == NULL || (len > 0 && data == NULL) ||
        bearer >= MCSEC_DIRECT_BEARERS)
        return MCSEC_ERR_BAD_INPUT;
    if (!link->cur.active || (link->state != MCSEC_DIRECT_S_ESTABLISHED &&
                              link->state != MCSEC_DIRECT_S_DSMP_SENT))
        return dx_fail(link, MCSEC_DIRECT_CHECK_STATE, "the link is not established",
                       MCSEC_ERR_STRUCTURE);
    mcsec_status_t rc = seal(link, &link->cur, bearer, bearer == 0 ? MCSEC_DIRECT_MSG_SIGNAL : 0,
                             data, len, link->ue->count_hard, out, cap, out_len);
    if (rc == MCSEC_OK)
        dx_ok(link);
    return rc;
}

/* --- Opening -------------------------------------------------------------------------------------- */

static void release_local(mcsec_direct_link_t *link)
{
    dx_session_wipe(&link->cur);
    dx_session_wipe(&link->prev);
    mcsec_memzero(&link->x, sizeof link->x);
    link->accept_due = 0;
    link->state = link->have_kd ? MCSEC_DIRECT_S_IDLE : MCSEC_DIRECT_S_NEW;
}

mcsec_status_t mcsec_direct_build_release(mcsec_direct_link_t *link, uint8_t *out, size_t cap,
                                          size_t *out_len)
{
    if (link == NULL || out == NULL || out_len == NULL)
        return MCSEC_ERR_BAD_INPUT;
    if (!link->cur.active || link->state != MCSEC_DIRECT_S_ESTABLISHED)
        return dx_fail(link, MCSEC_DIRECT_CHECK_STATE, "the link is not established",
                       MCSEC_ERR_STRUCTURE);
    mcsec_status_t rc = seal(link, &link->cur, 0, MCSEC_DIRECT_MSG_RELEASE, NULL, 0,
                             DX_CTRL_COUNT_MAX, out, cap, out_len);
    if (rc != MCSEC_OK)
        return rc;
    release_local(link);
    dx_ok(link);
    return MCSEC_OK;
}

static mcsec_status_t refuse(mcsec_direct_link_t *link, mcsec_direct_check_t check,
                             const char *why, mcsec_status_t st)
{
    link->stats.rx_refused++;
    return dx_fail(link, check, why, st);
}

/* Bearer-0 signalling after the packet verified under session s. */
static mcsec_status_t inner(mcsec_direct_link_t *link, dx_session_t *s, uint8_t *out,
                            size_t pt_len, mcsec_direct_rx_t *rx)
{
    dx_inner_t in;
    mcsec_status_t rc = dx_inner_parse(out, pt_len, &in);
    if (rc != MCSEC_OK)
        return refuse(link, MCSEC_DIRECT_CHECK_PARSE, "malformed signalling in a protected packet",
                      rc);
    int on_cur = s == &link->cur, on_pending = s == &link->x.sess;
    switch (in.type) {
    case MCSEC_DIRECT_MSG_SIGNAL:
        if (on_pending)
            break;
        memmove(out, in.data, in.len);
        rx->kind = MCSEC_DIRECT_RX_SIGNAL;
        rx->len = in.len;
        return MCSEC_OK;
    case MCSEC_DIRECT_MSG_DSMP:
        if (!on_pending)
            break;
        rc = dx_handle_dsmp(link, &in);
        if (rc != MCSEC_OK)
            return refuse(link, link->check, link->why, rc);
        rx->kind = MCSEC_DIRECT_RX_DSMP;
        return MCSEC_OK;
    case MCSEC_DIRECT_MSG_ACCEPT:
        if (!on_cur || link->state != MCSEC_DIRECT_S_DSMP_SENT)
            break;
        link->remote_conn_id = in.conn_id;
        link->state = MCSEC_DIRECT_S_ESTABLISHED;
        rx->kind = MCSEC_DIRECT_RX_ACCEPT;
        return MCSEC_OK;
    case MCSEC_DIRECT_MSG_REKEY: {
        if (!on_cur || link->state != MCSEC_DIRECT_S_ESTABLISHED)
            break;
        memmove(out, in.data, in.len);
        rc = mcsec_direct_rekey_parse(out, in.len, &rx->request);
        if (rc != MCSEC_OK)
            return refuse(link, MCSEC_DIRECT_CHECK_PARSE, "malformed rekey request", rc);
        rc = dx_take_request(link, &rx->request, out, in.len, 0);
        if (rc != MCSEC_OK)
            return refuse(link, link->check, link->why, rc);
        rx->kind = MCSEC_DIRECT_RX_REKEY;
        rx->len = in.len;
        return MCSEC_OK;
    }
    case MCSEC_DIRECT_MSG_RELEASE:
        if (!on_cur || (link->state != MCSEC_DIRECT_S_ESTABLISHED &&
                        link->state != MCSEC_DIRECT_S_DSMP_SENT))
            break;
        release_local(link);
        rx->kind = MCSEC_DIRECT_RX_RELEASE;
        return MCSEC_OK;
    default:
        break;
    }
    return refuse(link, MCSEC_DIRECT_CHECK_STATE, "signalling not expected in this state",
                  MCSEC_ERR_STRUCTURE);
}

mcsec_status_t mcsec_direct_receive(mcsec_direct_link_t *link, const uint8_t *msg, size_t len,
                                    uint8_t *out, size_t cap, mcsec_direct_rx_t *rx)
{
    if (link == NULL || msg == NULL || out == NULL || rx == NULL)
        return MCSEC_ERR_BAD_INPUT;
    memset(rx, 0, sizeof *rx);
    mcsec_direct_pdu_t pdu;
    mcsec_status_t rc = mcsec_direct_pdu_parse(msg, len, &pdu);
    if (rc != MCSEC_OK)
        return refuse(link, MCSEC_DIRECT_CHECK_PARSE, "malformed protected packet", rc);
    dx_session_t *s = NULL;
    if (link->cur.active && link->cur.id == pdu.kd_sess_id)
        s = &link->cur;
    else if (link->x.active && link->x.sess.active && link->x.sess.id == pdu.kd_sess_id)
        s = &link->x.sess;
    else if (link->prev.active && link->prev.id == pdu.kd_sess_id)
        s = &link->prev;
    if (s == NULL)
        return refuse(link, MCSEC_DIRECT_CHECK_KEY,
                      "no session with this KD-sess ID (released, rekeyed or never set up)",
                      MCSEC_ERR_UNKNOWN_KEY);
    if (s == &link->x.sess && pdu.bearer != 0) /* user data before the DSMP */
        return refuse(link, MCSEC_DIRECT_CHECK_STATE, "user data before the session is secured",
                      MCSEC_ERR_STRUCTURE);
    if (pdu.body_len > cap)
        return dx_fail(link, MCSEC_DIRECT_CHECK_NONE, "output buffer too small",
                       MCSEC_ERR_BAD_LENGTH);
    if (!dx_window_check(s, pdu.bearer, pdu.count))
        return refuse(link, MCSEC_DIRECT_CHECK_REPLAY,
                      "packet COUNT already received or older than the replay window",
                      MCSEC_ERR_REPLAY);
    uint8_t dir = dx_dir_rx(link);
    size_t pt_len = pdu.body_len;
    if (pdu.bearer == 0) {
        uint8_t want[MCSEC_DIRECT_MAC_LEN];
        pt_len -= MCSEC_DIRECT_MAC_LEN;
        rc = mcsec_direct_cipher(s->enc_alg, s->k_sig_enc, pdu.count, 0, dir, pdu.body,
                                 pdu.body_len, out);
        if (rc == MCSEC_OK)
            rc = dx_mac_parts(s->int_alg, s->k_sig_int, pdu.count, 0, dir, msg,
                              MCSEC_DIRECT_PDU_HEADER, out, pt_len, want);
        if (rc == MCSEC_OK && !mcsec_ct_equal(want, out + pt_len, MCSEC_DIRECT_MAC_LEN))
            rc = MCSEC_ERR_VERIFY;
        if (rc != MCSEC_OK) {
            mcsec_memzero(out, pdu.body_len);
            return refuse(link, rc == MCSEC_ERR_VERIFY ? MCSEC_DIRECT_CHECK_MAC
                                                       : MCSEC_DIRECT_CHECK_NONE,
                          rc == MCSEC_ERR_VERIFY ? "MAC-I of a signalling packet is wrong"
                                                 : "deciphering failed",
                          rc);
        }
        dx_window_mark(s, 0, pdu.count);
        link->stats.rx_packets++;
        if (s == &link->cur && link->prev.active)
            dx_session_wipe(&link->prev); /* the peer has moved to the new session */
        rx->bearer = 0;
        rx->count = pdu.count;
        rc = inner(link, s, out, pt_len, rx);
        if (rc == MCSEC_OK)
            dx_ok(link);
        return rc;
    }
    rc = mcsec_direct_cipher(s->enc_alg, s->k_up_enc, pdu.count, pdu.bearer, dir, pdu.body,
                             pdu.body_len, out);
    if (rc != MCSEC_OK)
        return refuse(link, MCSEC_DIRECT_CHECK_NONE, "deciphering failed", rc);
    dx_window_mark(s, pdu.bearer, pdu.count);
    link->stats.rx_packets++;
    rx->bearer = pdu.bearer;
    rx->count = pdu.count;
    if (s == &link->cur && link->prev.active)
        dx_session_wipe(&link->prev);
    rx->kind = MCSEC_DIRECT_RX_DATA;
    rx->len = pt_len;
    dx_ok(link);
    return MCSEC_OK;
}
