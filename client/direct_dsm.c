/* The Direct Security Mode procedure (seed 000 6.3.4.4, 6.3.4.5; TS 33.303 6.5.5): the
 * request (DCR or Direct Rekeying Request), the Direct Security Mode Command and its checks at
 * the requester (replay, KD, algorithms, MAC, bidding down, request digest), the Complete,
 * the Accept with connection identities, and Reject. */
#include <string.h>

#include "direct_internal.h"
#include "mcsec/secmem.h"

static void kcd_views(const mcsec_direct_link_t *link, mcsec_direct_kcd_t *items, size_t *n)
{
    *n = link->n_kcd;
    for (size_t i = 0; i < link->n_kcd; i++) {
        items[i].type = link->kcd[i].type;
        items[i].value = link->kcd[i].value;
        items[i].len = link->kcd[i].len;
    }
}

static void kcd_clear(mcsec_direct_link_t *link)
{
    if (link->kcd != NULL)
        mcsec_memzero(link->kcd, sizeof *link->kcd * MCSEC_DIRECT_KCD_ITEMS);
    link->n_kcd = 0;
}

static void exchange_clear(mcsec_direct_link_t *link)
{
    mcsec_memzero(&link->x, sizeof link->x);
}

static void wipe_pend(mcsec_direct_link_t *link)
{
    mcsec_memzero(link->pend_kd, sizeof link->pend_kd);
    link->have_pend_kd = link->pend_fixed = 0;
    link->pend_kd_id = 0;
}

/* --- Requests ------------------------------------------------------------------------------ */

/* Fills the request fields common to a DCR and a rekey request and records the exchange. */
static mcsec_status_t request_start(mcsec_direct_link_t *link, mcsec_direct_request_t *req,
                                    uint8_t type, int fresh_kd)
{
    mcsec_direct_ue_t *ue = link->ue;
    memset(req, 0, sizeof *req);
    req->type = type;
    int existing;
    if (link->have_pend_kd && link->pend_fixed) {
        existing = 1; /* agreed outside (network): named whole */
        req->kd_id = link->pend_kd_id;
    } else if (link->have_pend_kd || !link->have_kd || fresh_kd || link->want_new_kd) {
        existing = 0; /* new: our MSB half; the responder adds its LSB half */
        req->kd_id = (uint32_t)link->next_msb << 16;
    } else {
        existing = 1; /* the stored KD */
        req->kd_id = link->kd_id;
    }
    if (type == MCSEC_DIRECT_MSG_DCR)
        req->flags = existing ? MCSEC_DIRECT_DCR_EXISTING_KD : 0;
    else
        req->flags = existing ? 0 : MCSEC_DIRECT_REKEY_FRESH_KD;
    req->kd_sess_id_msb = link->next_sess_msb;
    req->enc_algs = ue->enc_algs;
    req->int_algs = ue->int_algs;
    mcsec_status_t rc = mcsec_random_bytes(req->nonce, sizeof req->nonce);
    if (rc != MCSEC_OK)
        return rc;
    kcd_views(link, req->kcd, &req->n_kcd);
    return MCSEC_OK;
}

static void exchange_from_request(mcsec_direct_link_t *link, const mcsec_direct_request_t *req,
                                  int requester, int initial)
{
    exchange_clear(link);
    dx_exchange_t *x = &link->x;
    x->active = 1;
    x->requester = requester;
    x->initial = initial;
    x->flags = req->flags;
    x->req_kd_id = req->kd_id;
    x->kd_id = req->kd_id;
    x->new_kd = initial ? !(req->flags & MCSEC_DIRECT_DCR_EXISTING_KD)
                        : (req->flags & MCSEC_DIRECT_REKEY_FRESH_KD) != 0;
    x->sess_msb = req->kd_sess_id_msb;
    memcpy(x->nonce_1, req->nonce, sizeof x->nonce_1);
    x->offered_enc = req->enc_algs;
    x->offered_int = req->int_algs;
}

mcsec_status_t mcsec_direct_build_dcr(mcsec_direct_link_t *link, uint8_t *out, size_t cap,
                                      size_t *out_len)
{
    mcsec_direct_request_t req;
    if (link == NULL || out == NULL || out_len == NULL)
        return MCSEC_ERR_BAD_INPUT;
    if (link->state != MCSEC_DIRECT_S_NEW && link->state != MCSEC_DIRECT_S_IDLE &&
        link->state != MCSEC_DIRECT_S_DCR_SENT)
        return dx_fail(link, MCSEC_DIRECT_CHECK_STATE,
                       "a DCR starts a link: release the established one first",
                       MCSEC_ERR_STRUCTURE);
    mcsec_status_t rc = request_start(link, &req, MCSEC_DIRECT_MSG_DCR, 0);
    if (rc != MCSEC_OK)
        return dx_fail(link, MCSEC_DIRECT_CHECK_NONE, "no randomness", rc);
    /* Resuming: the connection identity the peer gave us replaces our identity (privacy). */
    req.conn_id = link->have_kd ? link->remote_conn_id : 0;
    if (req.conn_id == 0) {
        req.user_info = (const uint8_t *)link->ue->uri;
        req.user_info_len = strlen(link->ue->uri);
    }
    rc = dx_encode_request(&req, out, cap, out_len);
    if (rc == MCSEC_OK)
        rc = dx_digest(out, *out_len, link->x.digest);
    if (rc != MCSEC_OK)
        return dx_fail(link, MCSEC_DIRECT_CHECK_NONE, "cannot encode the DCR", rc);
    uint8_t digest[MCSEC_DIRECT_DIGEST_LEN];
    memcpy(digest, link->x.digest, sizeof digest);
    exchange_from_request(link, &req, 1, 1);
    memcpy(link->x.digest, digest, sizeof digest);
    link->role = MCSEC_DIRECT_INITIATOR;
    link->state = MCSEC_DIRECT_S_DCR_SENT;
    link->want_new_kd = 0;
    kcd_clear(link);
    dx_ok(link);
    return MCSEC_OK;
}

mcsec_status_t mcsec_direct_build_rekey(mcsec_direct_link_t *link, int fresh_kd, uint8_t *out,
                                        size_t cap, size_t *out_len)
{
    mcsec_direct_request_t req;
    size_t len = 0;
    if (link == NULL || out == NULL || out_len == NULL)
        return MCSEC_ERR_BAD_INPUT;
    /* A rekey request of ours that got no answer may be replaced by a new one. */
    if (link->state != MCSEC_DIRECT_S_ESTABLISHED || !link->cur.active ||
        (link->x.active && !(link->x.requester && !link->x.initial)))
        return dx_fail(link, MCSEC_DIRECT_CHECK_STATE,
                       "rekeying needs an established link with no exchange of the peer pending",
                       MCSEC_ERR_STRUCTURE);
    if (cap < MCSEC_DIRECT_PDU_HEADER + MCSEC_DIRECT_MAC_LEN)
        return MCSEC_ERR_BAD_LENGTH;
    mcsec_status_t rc = request_start(link, &req, MCSEC_DIRECT_MSG_REKEY, fresh_kd);
    if (rc != MCSEC_OK)
        return dx_fail(link, MCSEC_DIRECT_CHECK_NONE, "no randomness", rc);
    /* Encoded in place where the packet's plaintext goes, then sealed there. */
    uint8_t *pt = out + MCSEC_DIRECT_PDU_HEADER;
    rc = dx_encode_request(&req, pt, cap - MCSEC_DIRECT_PDU_HEADER - MCSEC_DIRECT_MAC_LEN, &len);
    uint8_t digest[MCSEC_DIRECT_DIGEST_LEN];
    if (rc == MCSEC_OK)
        rc = dx_digest(pt, len, digest);
    if (rc != MCSEC_OK)
        return dx_fail(link, MCSEC_DIRECT_CHECK_NONE, "cannot encode the rekey request", rc);
    rc = dx_seal(link, &link->cur, 0, pt, len, DX_CTRL_COUNT_MAX, out, cap, out_len);
    if (rc != MCSEC_OK)
        return rc;
    exchange_from_request(link, &req, 1, 0);
    memcpy(link->x.digest, digest, sizeof digest);
    link->want_new_kd = 0;
    kcd_clear(link);
    dx_ok(link);
    return MCSEC_OK;
}

/* --- Responder ---------------------------------------------------------------------------------- */

mcsec_status_t dx_take_request(mcsec_direct_link_t *link, const mcsec_direct_request_t *req,
                               const uint8_t *raw, size_t raw_len, int initial)
{
    mcsec_direct_ue_t *ue = link->ue;
    if (initial) {
        if (req->conn_id != 0 && req->conn_id != link->local_conn_id)
            return dx_fail(link, MCSEC_DIRECT_CHECK_KEY,
                           "the DCR's connection identity is not this link's",
                           MCSEC_ERR_UNKNOWN_KEY);
        if (req->user_info_len > 0 && link->peer[0] != 0 &&
            (strlen(link->peer) != req->user_info_len ||
             memcmp(link->peer, req->user_info, req->user_info_len) != 0))
            return dx_fail(link, MCSEC_DIRECT_CHECK_CONTENT,
                           "the DCR names another peer than this link's", MCSEC_ERR_VERIFY);
    } else if (link->x.active) {
        /* Both sides asked to rekey at once: the link initiator's request wins. */
        if (link->role == MCSEC_DIRECT_INITIATOR)
            return dx_fail(link, MCSEC_DIRECT_CHECK_STATE,
                           "rekey collision: our own request is pending and takes precedence",
                           MCSEC_ERR_STRUCTURE);
        if (link->x.requester) { /* ours is dropped, with the key material made for it */
            wipe_pend(link);
            kcd_clear(link);
            mcsec_memzero(link->k1, sizeof link->k1);
            link->have_k1 = link->want_new_kd = 0;
        }
    }
    uint8_t enc_common = req->enc_algs & ue->enc_algs, int_common = req->int_algs & ue->int_algs;
    uint8_t enc, integ;
    if (enc_common & MCSEC_DIRECT_ALG_BIT(MCSEC_DIRECT_ENC_AES_CTR))
        enc = MCSEC_DIRECT_ENC_AES_CTR;
    else if (enc_common & MCSEC_DIRECT_ALG_BIT(MCSEC_DIRECT_ENC_NULL))
        enc = MCSEC_DIRECT_ENC_NULL;
    else
        return dx_fail(link, MCSEC_DIRECT_CHECK_ALGS,
                       "no confidentiality algorithm acceptable to both sides", MCSEC_ERR_POLICY);
    if (int_common & MCSEC_DIRECT_ALG_BIT(MCSEC_DIRECT_INT_AES_CMAC))
        integ = MCSEC_DIRECT_INT_AES_CMAC;
    else
        return dx_fail(link, MCSEC_DIRECT_CHECK_ALGS,
                       "no integrity algorithm acceptable to both sides", MCSEC_ERR_POLICY);
    int fresh = initial ? !(req->flags & MCSEC_DIRECT_DCR_EXISTING_KD)
                        : (req->flags & MCSEC_DIRECT_REKEY_FRESH_KD) != 0;
    uint32_t kd_id = req->kd_id;
    if (!fresh) {
        int pend_match = link->have_pend_kd && link->pend_fixed && link->pend_kd_id == kd_id;
        int cur_match = link->have_kd && link->kd_id == kd_id;
        /* KD may come later (set before build_dsmc): from the request's key creation data
         * (a network reference), or to a link that holds none yet */
        int later = req->n_kcd > 0 || (!link->have_kd && !link->have_pend_kd && initial);
        if (!pend_match && !cur_match && !later)
            return dx_fail(link, MCSEC_DIRECT_CHECK_KEY,
                           "the request names a KD this UE does not (or no longer) hold",
                           MCSEC_ERR_UNKNOWN_KEY);
    } else {
        uint16_t lsb = 0;
        mcsec_status_t rc = dx_new_kd_lsb(ue, (uint16_t)(kd_id >> 16), &lsb);
        if (rc != MCSEC_OK)
            return dx_fail(link, MCSEC_DIRECT_CHECK_NONE, "cannot allocate a KD ID", rc);
        kd_id |= lsb;
    }
    uint8_t sess_lsb = 0, digest[MCSEC_DIRECT_DIGEST_LEN], n2[MCSEC_DIRECT_NONCE_LEN];
    mcsec_status_t rc = dx_new_sess_lsb(ue, req->kd_sess_id_msb, &sess_lsb);
    if (rc == MCSEC_OK)
        rc = dx_digest(raw, raw_len, digest);
    if (rc == MCSEC_OK)
        rc = mcsec_random_bytes(n2, sizeof n2);
    if (rc != MCSEC_OK)
        return dx_fail(link, MCSEC_DIRECT_CHECK_NONE, "cannot allocate identifiers", rc);
    if (initial && req->user_info_len > 0 && link->peer[0] == 0) {
        memcpy(link->peer, req->user_info, req->user_info_len);
        link->peer[req->user_info_len] = 0;
    }
    exchange_from_request(link, req, 0, initial);
    dx_exchange_t *x = &link->x;
    x->kd_id = kd_id;
    x->sess_lsb = sess_lsb;
    x->enc_alg = enc;
    x->int_alg = integ;
    memcpy(x->digest, digest, sizeof digest);
    memcpy(x->nonce_2, n2, sizeof n2);
    if (initial) {
        dx_session_wipe(&link->cur);
        dx_session_wipe(&link->prev);
        link->accept_due = 0;
        link->role = MCSEC_DIRECT_RESPONDER;
        link->state = MCSEC_DIRECT_S_RESPONDING;
    }
    dx_ok(link);
    return MCSEC_OK;
}

mcsec_status_t mcsec_direct_respond_begin(mcsec_direct_link_t *link, const uint8_t *dcr,
                                          size_t len)
{
    mcsec_direct_request_t req;
    if (link == NULL || dcr == NULL)
        return MCSEC_ERR_BAD_INPUT;
    mcsec_status_t rc = mcsec_direct_dcr_parse(dcr, len, &req);
    if (rc != MCSEC_OK)
        return dx_fail(link, MCSEC_DIRECT_CHECK_PARSE, "malformed DCR", rc);
    if (link->state != MCSEC_DIRECT_S_NEW && link->state != MCSEC_DIRECT_S_IDLE &&
        link->state != MCSEC_DIRECT_S_RESPONDING && link->state != MCSEC_DIRECT_S_DSMC_SENT)
        return dx_fail(link, MCSEC_DIRECT_CHECK_STATE,
                       "a DCR for a link that is established or being set up by us",
                       MCSEC_ERR_STRUCTURE);
    return dx_take_request(link, &req, dcr, len, 1);
}

mcsec_status_t mcsec_direct_build_dsmc(mcsec_direct_link_t *link, uint8_t *out, size_t cap,
                                       size_t *out_len)
{
    mcsec_direct_dsmc_t m;
    size_t len = 0;
    if (link == NULL || out == NULL || out_len == NULL)
        return MCSEC_ERR_BAD_INPUT;
    dx_exchange_t *x = &link->x;
    if (!x->active || x->requester || x->dsmc_sent)
        return dx_fail(link, MCSEC_DIRECT_CHECK_STATE, "no request waits for a DSMC",
                       MCSEC_ERR_STRUCTURE);
    const uint8_t *kd = NULL;
    if (x->new_kd) {
        if (link->have_pend_kd && !link->pend_fixed)
            kd = link->pend_kd;
    } else if (link->have_pend_kd && link->pend_fixed && link->pend_kd_id == x->kd_id) {
        kd = link->pend_kd;
    } else if (link->have_kd && link->kd_id == x->kd_id) {
        kd = link->kd;
    }
    if (kd == NULL)
        return dx_fail(link, MCSEC_DIRECT_CHECK_KEY,
                       "no KD for this exchange: call mcsec_direct_set_kd first",
                       MCSEC_ERR_UNKNOWN_KEY);
    x->use_pend = kd == link->pend_kd;
    uint16_t sess_id = (uint16_t)(x->sess_msb << 8 | x->sess_lsb);
    mcsec_status_t rc = dx_session_keys(&x->sess, kd, x->nonce_1, x->nonce_2, sess_id, x->enc_alg,
                                        x->int_alg);
    if (rc != MCSEC_OK)
        return dx_fail(link, MCSEC_DIRECT_CHECK_NONE, "key derivation failed", rc);
    memset(&m, 0, sizeof m);
    m.kd_id = x->kd_id;
    m.kd_sess_id = sess_id;
    memcpy(m.nonce, x->nonce_2, sizeof m.nonce);
    m.enc_alg = x->enc_alg;
    m.int_alg = x->int_alg;
    m.echo_enc_algs = x->offered_enc;
    m.echo_int_algs = x->offered_int;
    memcpy(m.digest, x->digest, sizeof m.digest);
    kcd_views(link, m.kcd, &m.n_kcd);
    rc = dx_encode_dsmc_body(&m, out, cap, &len);
    if (rc == MCSEC_OK) /* MAC-I: COUNT 0 of our bearer 0 in the new session */
        rc = mcsec_direct_mac(x->int_alg, x->sess.k_sig_int, 0, 0, dx_dir_tx(link), out, len,
                              out + len);
    if (rc != MCSEC_OK) {
        dx_session_wipe(&x->sess);
        return dx_fail(link, MCSEC_DIRECT_CHECK_NONE, "cannot build the DSMC", rc);
    }
    x->sess.tx_next[0] = 1;
    x->dsmc_sent = 1;
    *out_len = len + MCSEC_DIRECT_MAC_LEN;
    kcd_clear(link);
    if (x->initial)
        link->state = MCSEC_DIRECT_S_DSMC_SENT;
    dx_ok(link);
    return MCSEC_OK;
}

void dx_exchange_abandon(mcsec_direct_link_t *link)
{
    if (!link->x.active || link->x.requester)
        return;
    int initial = link->x.initial;
    exchange_clear(link);
    wipe_pend(link);
    kcd_clear(link);
    if (initial)
        link->state = link->have_kd ? MCSEC_DIRECT_S_IDLE : MCSEC_DIRECT_S_NEW;
}

/* --- Requester: the DSMC ---------------------------------------------------------------------- */

static int alg_offered(uint8_t set, uint8_t alg) { return alg < 8 && (set >> alg & 1u); }

static void remember_nonce(mcsec_direct_link_t *link, const uint8_t n2[MCSEC_DIRECT_NONCE_LEN])
{
    memcpy(link->seen_n2[link->seen_at], n2, MCSEC_DIRECT_NONCE_LEN);
    link->seen_at = (link->seen_at + 1) % DX_SEEN_NONCES;
    if (link->n_seen < DX_SEEN_NONCES)
        link->n_seen++;
}

mcsec_status_t mcsec_direct_handle_dsmc(mcsec_direct_link_t *link, const uint8_t *msg, size_t len,
                                        uint8_t *out, size_t cap, size_t *out_len)
{
    mcsec_direct_dsmc_t m;
    dx_session_t s;
    uint8_t mac[MCSEC_DIRECT_MAC_LEN], dsmp[DX_DSMP_LEN];
    mcsec_status_t rc;
    if (link == NULL || msg == NULL || out == NULL || out_len == NULL)
        return MCSEC_ERR_BAD_INPUT;
    memset(&s, 0, sizeof s);
    rc = mcsec_direct_dsmc_parse(msg, len, &m);
    if (rc != MCSEC_OK)
        return dx_fail(link, MCSEC_DIRECT_CHECK_PARSE, "malformed DSMC", rc);
    for (size_t i = 0; i < link->n_seen; i++)
        if (mcsec_ct_equal(link->seen_n2[i], m.nonce, MCSEC_DIRECT_NONCE_LEN))
            return dx_fail(link, MCSEC_DIRECT_CHECK_REPLAY,
                           "a DSMC with this Nonce_2 was already accepted (replay)",
                           MCSEC_ERR_REPLAY);
    dx_exchange_t *x = &link->x;
    if (!x->active || !x->requester ||
        (x->initial && link->state != MCSEC_DIRECT_S_DCR_SENT))
        return dx_fail(link, MCSEC_DIRECT_CHECK_STATE, "no request of ours waits for a DSMC",
                       MCSEC_ERR_STRUCTURE);
    const uint8_t *kd = NULL;
    if (!x->new_kd) {
        if (m.kd_id != x->req_kd_id)
            return dx_fail(link, MCSEC_DIRECT_CHECK_KEY, "the DSMC names another KD than ours",
                           MCSEC_ERR_UNKNOWN_KEY);
        if (link->have_pend_kd && link->pend_fixed && link->pend_kd_id == m.kd_id)
            kd = link->pend_kd;
        else if (link->have_kd && link->kd_id == m.kd_id)
            kd = link->kd;
    } else {
        if ((m.kd_id >> 16) != (x->req_kd_id >> 16) || (m.kd_id & 0xFFFFu) == 0)
            return dx_fail(link, MCSEC_DIRECT_CHECK_KEY,
                           "the DSMC's KD ID does not extend the MSB half we sent",
                           MCSEC_ERR_UNKNOWN_KEY);
        if (link->have_pend_kd && !link->pend_fixed)
            kd = link->pend_kd;
    }
    if (kd == NULL)
        return dx_fail(link, MCSEC_DIRECT_CHECK_KEY,
                       "no KD for this exchange: derive it (key creation data) and set it first",
                       MCSEC_ERR_UNKNOWN_KEY);
    if (!alg_offered(x->offered_enc, m.enc_alg) || !alg_offered(x->offered_int, m.int_alg) ||
        m.int_alg == MCSEC_DIRECT_INT_NULL)
        return dx_fail(link, MCSEC_DIRECT_CHECK_ALGS,
                       "the DSMC chose an algorithm we did not offer", MCSEC_ERR_POLICY);
    rc = dx_session_keys(&s, kd, x->nonce_1, m.nonce, m.kd_sess_id, m.enc_alg, m.int_alg);
    if (rc == MCSEC_OK)
        rc = mcsec_direct_mac(m.int_alg, s.k_sig_int, 0, 0, dx_dir_rx(link), msg,
                              len - MCSEC_DIRECT_MAC_LEN, mac);
    if (rc != MCSEC_OK) {
        rc = dx_fail(link, MCSEC_DIRECT_CHECK_NONE, "key derivation failed", rc);
        goto out;
    }
    if (!mcsec_ct_equal(mac, m.mac, MCSEC_DIRECT_MAC_LEN)) {
        rc = dx_fail(link, MCSEC_DIRECT_CHECK_MAC,
                     "the DSMC's MAC-I is wrong (another KD, or a modified message)",
                     MCSEC_ERR_VERIFY);
        goto out;
    }
    if (m.echo_enc_algs != x->offered_enc || m.echo_int_algs != x->offered_int) {
        rc = dx_fail(link, MCSEC_DIRECT_CHECK_BIDDING_DOWN,
                     "the DSMC echoes other algorithms than we offered (bidding down)",
                     MCSEC_ERR_VERIFY);
        goto out;
    }
    if (!mcsec_ct_equal(m.digest, x->digest, MCSEC_DIRECT_DIGEST_LEN)) {
        rc = dx_fail(link, MCSEC_DIRECT_CHECK_DIGEST,
                     "the peer received another request than we sent (modified in transit)",
                     MCSEC_ERR_VERIFY);
        goto out;
    }
    if ((m.kd_sess_id >> 8) != x->sess_msb) {
        rc = dx_fail(link, MCSEC_DIRECT_CHECK_CONTENT,
                     "the DSMC's KD-sess ID does not extend the MSB half we sent",
                     MCSEC_ERR_VERIFY);
        goto out;
    }
    uint32_t conn_id = link->local_conn_id;
    if (x->initial && (rc = dx_new_local_conn_id(link->ue, &conn_id)) != MCSEC_OK) {
        rc = dx_fail(link, MCSEC_DIRECT_CHECK_NONE, "cannot allocate a connection identity", rc);
        goto out;
    }
    /* Accepted: switch to the new session (and KD). */
    remember_nonce(link, m.nonce);
    dx_window_mark(&s, 0, 0); /* the DSMC was COUNT 0 of the peer's bearer 0 */
    if (kd == link->pend_kd) {
        memcpy(link->kd, link->pend_kd, sizeof link->kd);
        link->kd_id = m.kd_id;
        link->have_kd = 1;
        link->stats.kds++;
        wipe_pend(link);
    }
    dx_session_wipe(&link->prev);
    if (!x->initial)
        link->prev = link->cur; /* packets in flight under the old session */
    link->cur = s;
    link->stats.sessions++;
    int initial = x->initial;
    exchange_clear(link);
    link->local_conn_id = conn_id;
    dsmp[0] = MCSEC_DIRECT_MSG_DSMP;
    dx_put32(dsmp + 1, link->kd_id);
    dx_put16(dsmp + 5, link->cur.id);
    dx_put32(dsmp + 7, conn_id);
    rc = dx_seal(link, &link->cur, 0, dsmp, sizeof dsmp, DX_CTRL_COUNT_MAX, out, cap, out_len);
    if (rc != MCSEC_OK)
        goto out;
    link->state = initial ? MCSEC_DIRECT_S_DSMP_SENT : MCSEC_DIRECT_S_ESTABLISHED;
    if (dx_new_msbs(link->ue, link) != MCSEC_OK) { /* keep the old halves: still unique */
    }
    dx_ok(link);
out:
    dx_session_wipe(&s);
    return rc;
}

mcsec_status_t mcsec_direct_handle_reject(mcsec_direct_link_t *link, const uint8_t *msg,
                                          size_t len)
{
    mcsec_direct_reject_t r;
    if (link == NULL || msg == NULL)
        return MCSEC_ERR_BAD_INPUT;
    mcsec_status_t rc = mcsec_direct_reject_parse(msg, len, &r);
    if (rc != MCSEC_OK)
        return dx_fail(link, MCSEC_DIRECT_CHECK_PARSE, "malformed Reject", rc);
    if (!link->x.active || !link->x.requester || !link->x.initial)
        return dx_fail(link, MCSEC_DIRECT_CHECK_STATE, "no DCR of ours is pending",
                       MCSEC_ERR_STRUCTURE);
    if (!mcsec_ct_equal(r.nonce, link->x.nonce_1, MCSEC_DIRECT_NONCE_LEN))
        return dx_fail(link, MCSEC_DIRECT_CHECK_CONTENT,
                       "the Reject answers another request (ignored)", MCSEC_ERR_VERIFY);
    exchange_clear(link);
    link->state = link->have_kd ? MCSEC_DIRECT_S_IDLE : MCSEC_DIRECT_S_NEW;
    switch (r.cause) {
    case MCSEC_DIRECT_CAUSE_UNKNOWN_CONN_ID:
        return dx_fail(link, MCSEC_DIRECT_CHECK_REJECTED,
                       "the peer does not know our connection identity", MCSEC_ERR_UNKNOWN_KEY);
    case MCSEC_DIRECT_CAUSE_UNKNOWN_KD:
        return dx_fail(link, MCSEC_DIRECT_CHECK_REJECTED, "the peer does not hold the KD",
                       MCSEC_ERR_UNKNOWN_KEY);
    case MCSEC_DIRECT_CAUSE_POLICY:
        return dx_fail(link, MCSEC_DIRECT_CHECK_REJECTED,
                       "the peer accepts none of our algorithms", MCSEC_ERR_POLICY);
    case MCSEC_DIRECT_CAUSE_AUTH:
        return dx_fail(link, MCSEC_DIRECT_CHECK_REJECTED,
                       "the peer refused our key creation data", MCSEC_ERR_VERIFY);
    case MCSEC_DIRECT_CAUSE_REPLAY:
        return dx_fail(link, MCSEC_DIRECT_CHECK_REJECTED,
                       "the peer saw our key creation data before", MCSEC_ERR_REPLAY);
    default:
        return dx_fail(link, MCSEC_DIRECT_CHECK_REJECTED, "the peer refused the request",
                       MCSEC_ERR_BAD_INPUT);
    }
}

/* --- Responder: the DSMP and the Accept -------------------------------------------------------- */

mcsec_status_t dx_handle_dsmp(mcsec_direct_link_t *link, const dx_inner_t *in)
{
    dx_exchange_t *x = &link->x;
    if (!x->active || x->requester || !x->dsmc_sent)
        return dx_fail(link, MCSEC_DIRECT_CHECK_STATE, "no DSMC of ours waits for a DSMP",
                       MCSEC_ERR_STRUCTURE);
    if (in->kd_id != x->kd_id || in->kd_sess_id != x->sess.id)
        return dx_fail(link, MCSEC_DIRECT_CHECK_CONTENT,
                       "the DSMP names another KD or session than our DSMC", MCSEC_ERR_VERIFY);
    if (x->use_pend) {
        memcpy(link->kd, link->pend_kd, sizeof link->kd);
        link->kd_id = x->kd_id;
        link->have_kd = 1;
        link->stats.kds++;
        wipe_pend(link);
    }
    dx_session_wipe(&link->prev);
    if (!x->initial)
        link->prev = link->cur;
    else
        dx_session_wipe(&link->cur);
    link->cur = x->sess;
    link->stats.sessions++;
    if (x->initial) {
        link->remote_conn_id = in->conn_id;
        link->accept_due = 1;
    }
    link->state = MCSEC_DIRECT_S_ESTABLISHED;
    exchange_clear(link);
    if (dx_new_msbs(link->ue, link) != MCSEC_OK) { /* keep the old halves */
    }
    dx_ok(link);
    return MCSEC_OK;
}

mcsec_status_t mcsec_direct_build_accept(mcsec_direct_link_t *link, uint8_t *out, size_t cap,
                                         size_t *out_len)
{
    uint8_t acc[DX_ACCEPT_LEN];
    uint32_t conn_id = 0;
    if (link == NULL || out == NULL || out_len == NULL)
        return MCSEC_ERR_BAD_INPUT;
    if (!link->accept_due || !link->cur.active)
        return dx_fail(link, MCSEC_DIRECT_CHECK_STATE, "no DSMP waits for an Accept",
                       MCSEC_ERR_STRUCTURE);
    mcsec_status_t rc = dx_new_local_conn_id(link->ue, &conn_id);
    if (rc != MCSEC_OK)
        return dx_fail(link, MCSEC_DIRECT_CHECK_NONE, "cannot allocate a connection identity", rc);
    acc[0] = MCSEC_DIRECT_MSG_ACCEPT;
    dx_put32(acc + 1, conn_id);
    rc = dx_seal(link, &link->cur, 0, acc, sizeof acc, DX_CTRL_COUNT_MAX, out, cap, out_len);
    if (rc != MCSEC_OK)
        return rc;
    link->local_conn_id = conn_id; /* the previous one is retired: single use */
    link->accept_due = 0;
    dx_ok(link);
    return MCSEC_OK;
}
