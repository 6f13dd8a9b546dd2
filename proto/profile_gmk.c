/* The 3GPP key distribution I_MESSAGE (TS 33.180 as deployed; WIRE.md 3): a MIKEY-SAKKE
 * I_MESSAGE carrying a GMK, CSK or PCK, with the key-parameters GENERAL_EXT (type 7).
 *
 * HDR (26, PRF-HMAC-SHA-256, CSB ID, GENERIC-ID map with one CS) . T (NTP-UTC) . RAND (16) .
 * IDR 8 (initiator UID) . IDR 9 (responder UID) . IDR 6 (KMS) . IDR 7 (KMS) . SP (policy 0) .
 * SAKKE (params 1, scheme 2) . GENERAL_EXT 7 . SIGN (ECCSI). */
#include <string.h>

#include "internal.h"
#include "mcsec/secmem.h"

#define KP_FIXED 22 /* key type, status, activation, expiry, text len */
#define KP_MAX (KP_FIXED + MCSEC_PROFILE_TEXT_MAX + 2 + MCSEC_PROFILE_URI_MAX)

static int kind_cs(unsigned kind) {
    switch (kind) {
    case MCSEC_PURPOSE_GMK: return MCSEC_PROFILE_CS_GMK;
    case MCSEC_PURPOSE_CSK: return MCSEC_PROFILE_CS_CSK;
    case MCSEC_PURPOSE_PCK: return MCSEC_PROFILE_CS_PCK;
    default: return -1;
    }
}

/* The kind a CS-ID belongs to (TS 33.180 E.1.3), -1 if none. */
static int cs_kind(uint8_t cs_id) {
    if (cs_id <= 3) return MCSEC_PURPOSE_PCK;
    if (cs_id <= 5) return MCSEC_PURPOSE_GMK;
    if (cs_id <= 7) return MCSEC_PURPOSE_CSK;
    return -1;
}

/* AES-128-CTR of the key parameters under keys derived from the distributed key. */
static mcsec_status_t kp_crypt(const uint8_t key[16], uint8_t cs_id, uint32_t csb_id,
                               mcsec_mikey_span_t rand, const uint8_t *in, uint8_t *out,
                               size_t len) {
    uint8_t ek[16], iv[16] = {0};
    mcsec_status_t st = mcsec_mikey_derive(MCSEC_MIKEY_PRF_HMAC_SHA256, key, 16,
                                           MCSEC_MIKEY_CONST_ENCR, cs_id, csb_id, rand.p,
                                           rand.len, ek, sizeof ek);
    if (st == MCSEC_OK)
        st = mcsec_mikey_derive(MCSEC_MIKEY_PRF_HMAC_SHA256, key, 16, MCSEC_MIKEY_CONST_SALT,
                                cs_id, csb_id, rand.p, rand.len, iv, 14);
    if (st == MCSEC_OK) st = mcsec_prof_aes_ctr(ek, iv, in, out, len);
    mcsec_memzero(ek, sizeof ek);
    mcsec_memzero(iv, sizeof iv);
    return st;
}

static mcsec_status_t kp_encode(const mcsec_key_params_t *kp, uint8_t *p, size_t *len) {
    size_t tl = strnlen(kp->text, sizeof kp->text), gl = strnlen(kp->group_id, sizeof kp->group_id);
    if (tl > MCSEC_PROFILE_TEXT_MAX || gl >= MCSEC_PROFILE_URI_MAX) return MCSEC_ERR_BAD_INPUT;
    p[0] = kp->key_type;
    mcsec_prof_put32(p + 1, kp->status);
    mcsec_prof_put64(p + 5, kp->activation);
    mcsec_prof_put64(p + 13, kp->expiry);
    p[21] = (uint8_t)tl;
    memcpy(p + KP_FIXED, kp->text, tl);
    size_t n = KP_FIXED + tl;
    if (gl > 0) {
        p[n] = (uint8_t)(gl >> 8), p[n + 1] = (uint8_t)gl;
        memcpy(p + n + 2, kp->group_id, gl);
        n += 2 + gl;
    }
    *len = n;
    return MCSEC_OK;
}

/* 1 if p[0 .. len) is a key-parameters plaintext of key type kind. */
static int kp_decode(const uint8_t *p, size_t len, unsigned kind, mcsec_key_params_t *kp) {
    memset(kp, 0, sizeof *kp);
    if (len < KP_FIXED || p[0] != kind) return 0;
    size_t tl = p[21], n = KP_FIXED + tl, gl = 0;
    if (n > len || memchr(p + KP_FIXED, 0, tl) != NULL) return 0;
    if (n < len) {
        if (len - n < 2) return 0;
        gl = (size_t)p[n] << 8 | p[n + 1];
        if (gl == 0 || gl >= MCSEC_PROFILE_URI_MAX || len - n - 2 != gl ||
            memchr(p + n + 2, 0, gl) != NULL)
            return 0;
        memcpy(kp->group_id, p + n + 2, gl);
    }
    kp->key_type = p[0];
    kp->status = mcsec_prof_be32(p + 1);
    kp->activation = mcsec_prof_be64(p + 5);
    kp->expiry = mcsec_prof_be64(p + 13);
    memcpy(kp->text, p + KP_FIXED, tl);
    return 1;
}

mcsec_status_t mcsec_gmk_build(const mcsec_gmk_sender_t *tx, const char *member_uri,
                               const uint8_t key[MCSEC_PROFILE_KEY_LEN], uint32_t key_id,
                               const mcsec_key_params_t *kp, uint64_t ntp_time, uint8_t *out,
                               size_t cap, size_t *out_len) {
    if (tx == NULL || tx->initiator_uri == NULL || tx->kms_uri == NULL || tx->signer == NULL ||
        tx->sakke == NULL || member_uri == NULL || key == NULL || out == NULL || out_len == NULL)
        return MCSEC_ERR_BAD_INPUT;
    unsigned kind = mcsec_purpose_tag(key_id);
    int cs_id = kind_cs(kind);
    if (cs_id < 0 || (kp != NULL && kp->key_type != kind)) return MCSEC_ERR_PURPOSE;
    size_t kms_len = strlen(tx->kms_uri);
    if (kms_len == 0 || kms_len > 0xffff) return MCSEC_ERR_BAD_INPUT;

    uint64_t pn;
    uint8_t uid_i[MCSEC_UID_LEN], uid_r[MCSEC_UID_LEN], rand[16], spi[8], encap[MCSEC_SAKKE_ENCAP_LEN];
    uint8_t plain[KP_MAX], ext[KP_MAX];
    size_t kp_len = 0;
    uint32_t csb = key_id;
    mcsec_key_params_t dflt;
    mcsec_status_t st = mcsec_key_period_no(ntp_time >> 32, tx->key_period, tx->key_period_offset, &pn);
    if (st == MCSEC_OK)
        st = mcsec_uid_format2(tx->initiator_uri, tx->kms_uri, tx->key_period,
                               tx->key_period_offset, pn, uid_i);
    if (st == MCSEC_OK)
        st = mcsec_uid_format2(member_uri, tx->kms_uri, tx->key_period, tx->key_period_offset,
                               pn, uid_r);
    if (st == MCSEC_OK && kind == MCSEC_PURPOSE_GMK) {
        st = mcsec_guk_id(key, 16, key_id, member_uri, &csb);
        mcsec_ct_declassify(&csb, sizeof csb); /* the GUK-ID: public, it is the CSB ID */
    }
    if (st == MCSEC_OK) st = mcsec_random_bytes(rand, sizeof rand);
    if (st == MCSEC_OK)
        st = mcsec_sakke_encapsulate(tx->sakke, uid_r, sizeof uid_r, key, 16, encap);
    if (st == MCSEC_OK) {
        if (kp == NULL) {
            memset(&dflt, 0, sizeof dflt);
            dflt.key_type = (uint8_t)kind;
            kp = &dflt;
        }
        st = kp_encode(kp, plain, &kp_len);
    }
    if (st == MCSEC_OK)
        st = kp_crypt(key, (uint8_t)cs_id, csb, (mcsec_mikey_span_t){rand, 16}, plain, ext, kp_len);
    if (st != MCSEC_OK) goto out;
    mcsec_ct_declassify(ext, kp_len); /* ciphertext: public, it goes into the message */

    mcsec_prof_put32(spi, key_id);
    mcsec_prof_put32(spi + 4, csb);
    uint8_t pol = 0;
    mcsec_mikey_hdr_t h = {.data_type = MCSEC_MIKEY_DT_SAKKE, .prf = MCSEC_MIKEY_PRF_HMAC_SHA256,
                           .csb_id = csb, .n_cs = 1, .map_type = MCSEC_MIKEY_MAP_GENERIC_ID};
    mcsec_mikey_cs_t cs = {.cs_id = (uint8_t)cs_id, .protocol = 0, .policies = {&pol, 1},
                           .spi = {spi, kind == MCSEC_PURPOSE_GMK ? 8 : 4}};
    mcsec_mikey_builder_t b;
    mcsec_mikey_builder_init(&b, out, cap);
    const uint8_t *kms = (const uint8_t *)tx->kms_uri;
    if ((st = mcsec_mikey_build_hdr(&b, &h, &cs)) != MCSEC_OK ||
        (st = mcsec_mikey_build_t(&b, MCSEC_MIKEY_TS_NTP_UTC, ntp_time)) != MCSEC_OK ||
        (st = mcsec_mikey_build_rand(&b, rand, sizeof rand)) != MCSEC_OK ||
        (st = mcsec_mikey_build_idr(&b, 8, MCSEC_MIKEY_ID_URI, uid_i, 32)) != MCSEC_OK ||
        (st = mcsec_mikey_build_idr(&b, 9, MCSEC_MIKEY_ID_URI, uid_r, 32)) != MCSEC_OK ||
        (st = mcsec_mikey_build_idr(&b, 6, MCSEC_MIKEY_ID_URI, kms, kms_len)) != MCSEC_OK ||
        (st = mcsec_mikey_build_idr(&b, 7, MCSEC_MIKEY_ID_URI, kms, kms_len)) != MCSEC_OK ||
        (st = mcsec_prof_build_sp(&b)) != MCSEC_OK ||
        (st = mcsec_mikey_build_sakke(&b, MCSEC_MIKEY_SAKKE_PARAMS_1, MCSEC_MIKEY_SAKKE_SCHEME_UID,
                                      encap, sizeof encap)) != MCSEC_OK ||
        (st = mcsec_mikey_build_general_ext(&b, MCSEC_MIKEY_EXT_3GPP_KEY_PARAMS, ext, kp_len)) !=
            MCSEC_OK ||
        (st = mcsec_prof_sign(&b, tx->signer)) != MCSEC_OK)
        goto out;
    *out_len = b.len;
out:
    mcsec_memzero(plain, sizeof plain);
    mcsec_memzero(&dflt, sizeof dflt);
    return st;
}

void mcsec_gmk_result_wipe(mcsec_gmk_result_t *res) {
    if (res != NULL) mcsec_memzero(res->key, sizeof res->key);
}

static int span_is(mcsec_mikey_span_t s, const void *p, size_t n) {
    return s.len == n && mcsec_ct_equal(s.p, p, n);
}

static const uint8_t gmk_seq[] = {MCSEC_MIKEY_PT_T,     MCSEC_MIKEY_PT_RAND, MCSEC_MIKEY_PT_IDR,
                                  MCSEC_MIKEY_PT_IDR,   MCSEC_MIKEY_PT_IDR,  MCSEC_MIKEY_PT_IDR,
                                  MCSEC_MIKEY_PT_SP,    MCSEC_MIKEY_PT_SAKKE,
                                  MCSEC_MIKEY_PT_GENERAL_EXT, MCSEC_MIKEY_PT_SIGN};
static const uint8_t gmk_roles[] = {8, 9, 6, 7};

#define FAIL(chk, s, msg)                                                                          \
    do {                                                                                           \
        st = MCSEC_PROF_FAIL(res, chk, s, msg);                                                    \
        goto out;                                                                                  \
    } while (0)

mcsec_status_t mcsec_gmk_open(mcsec_profile_receiver_t *rx, const uint8_t *msg, size_t len,
                              unsigned flags, mcsec_gmk_result_t *res) {
    if (res == NULL) return MCSEC_ERR_BAD_INPUT;
    memset(res, 0, sizeof *res);
    res->why = "";
    if (rx == NULL || msg == NULL) return MCSEC_ERR_BAD_INPUT;
    mcsec_mikey_msg_t m;
    uint8_t ssv[MCSEC_SAKKE_SSV_LEN] = {0}, uid[MCSEC_UID_LEN], plain[KP_MAX];
    mcsec_mikey_cs_t cs;
    const int diag = (flags & MCSEC_OPEN_DIAGNOSTIC) != 0;
    static const mcsec_prof_shape_t shape = {MCSEC_MIKEY_DT_SAKKE,
                                             "not a MIKEY-SAKKE I_MESSAGE (data type 26)", gmk_seq,
                                             sizeof gmk_seq, gmk_roles};
    mcsec_profile_check_t stage;
    const char *why;
    mcsec_status_t st = mcsec_prof_parse_shape(msg, len, &shape, &m, &cs, &stage, &why);
    if (st != MCSEC_OK) FAIL(stage, st, why);
    const mcsec_mikey_t_t *t = &m.payload[0].u.t;
    const mcsec_mikey_id_t *idr_i = &m.payload[2].u.idr, *idr_r = &m.payload[3].u.idr,
                           *idr_ki = &m.payload[4].u.idr, *idr_kr = &m.payload[5].u.idr;
    const mcsec_mikey_sp_t *sp = &m.payload[6].u.sp;
    const mcsec_mikey_sakke_t *sk = &m.payload[7].u.sakke;
    const mcsec_mikey_ext_t *ext = &m.payload[8].u.ext;
    const mcsec_mikey_sign_t *sg = &m.payload[9].u.sign;
    int kind = cs_kind(cs.cs_id);
    if (kind < 0 || cs.protocol != 0 || cs.policies.len != 1 || cs.policies.p[0] != sp->policy_no ||
        sp->protocol != 0)
        FAIL(MCSEC_CHECK_STRUCTURE, MCSEC_ERR_STRUCTURE,
             "crypto session is not SRTP with a 3GPP CS-ID and the message's policy");
    if (cs.spi.len != (kind == MCSEC_PURPOSE_GMK ? 8u : 4u) ||
        (kind == MCSEC_PURPOSE_GMK ? mcsec_prof_be32(cs.spi.p + 4) : mcsec_prof_be32(cs.spi.p)) !=
            m.hdr.csb_id)
        FAIL(MCSEC_CHECK_STRUCTURE, MCSEC_ERR_STRUCTURE, "SPI is not key id (|| GUK-ID) = CSB ID");
    if ((idr_i->id_type != MCSEC_MIKEY_ID_URI && idr_i->id_type != MCSEC_MIKEY_ID_BYTES) ||
        (idr_r->id_type != MCSEC_MIKEY_ID_URI && idr_r->id_type != MCSEC_MIKEY_ID_BYTES) ||
        idr_i->data.len != MCSEC_UID_LEN || idr_r->data.len != MCSEC_UID_LEN ||
        idr_ki->id_type != MCSEC_MIKEY_ID_URI || idr_kr->id_type != MCSEC_MIKEY_ID_URI)
        FAIL(MCSEC_CHECK_STRUCTURE, MCSEC_ERR_STRUCTURE, "IDR payloads are not UIDs and KMS URIs");
    if (sk->params != MCSEC_MIKEY_SAKKE_PARAMS_1 || sk->id_scheme != MCSEC_MIKEY_SAKKE_SCHEME_UID ||
        sk->data.len != MCSEC_SAKKE_ENCAP_LEN)
        FAIL(MCSEC_CHECK_STRUCTURE, MCSEC_ERR_STRUCTURE, "SAKKE payload is not parameter set 1, UID scheme 2");
    if (ext->ext_type != MCSEC_MIKEY_EXT_3GPP_KEY_PARAMS)
        FAIL(MCSEC_CHECK_STRUCTURE, MCSEC_ERR_STRUCTURE, "GENERAL_EXT is not the key parameters (7)");
    if (sg->type != MCSEC_MIKEY_SIGN_ECCSI || sg->sig.len != MCSEC_ECCSI_SIG_LEN)
        FAIL(MCSEC_CHECK_STRUCTURE, MCSEC_ERR_STRUCTURE, "SIGN is not a 129-octet ECCSI signature");

    res->kind = (unsigned)kind;
    res->cs_id = cs.cs_id;
    res->key_id = mcsec_prof_be32(cs.spi.p);
    res->csb_id = m.hdr.csb_id;
    res->initiator_uid = idr_i->data;
    res->responder_uid = idr_r->data;
    res->rand = m.payload[1].u.rand.data;
    res->timestamp = t->value;
    res->key_params_present = 1;

    if ((st = mcsec_prof_sp_check(sp, &res->why)) != MCSEC_OK)
        FAIL(MCSEC_CHECK_POLICY, st, res->why);

    if (mcsec_purpose_tag(res->key_id) != (unsigned)kind || mcsec_purpose_tag(res->csb_id) != (unsigned)kind)
        FAIL(MCSEC_CHECK_PURPOSE, MCSEC_ERR_PURPOSE, "key id purpose tag does not match the CS-ID's key kind");
    unsigned expect = flags & (MCSEC_OPEN_EXPECT_GMK | MCSEC_OPEN_EXPECT_PCK | MCSEC_OPEN_EXPECT_CSK);
    unsigned bit = kind == MCSEC_PURPOSE_GMK   ? MCSEC_OPEN_EXPECT_GMK
                   : kind == MCSEC_PURPOSE_PCK ? MCSEC_OPEN_EXPECT_PCK
                                               : MCSEC_OPEN_EXPECT_CSK;
    if (expect != 0 && (expect & bit) == 0)
        FAIL(MCSEC_CHECK_PURPOSE, MCSEC_ERR_PURPOSE, "message carries another kind of key than expected");

    /* Signature: IDR 6 must name our KMS (we hold only its KPAK). */
    if (!span_is(idr_ki->data, rx->kms.kms_uri, strlen(rx->kms.kms_uri)))
        FAIL(MCSEC_CHECK_SIGNATURE, MCSEC_ERR_UNKNOWN_KEY, "signer's KMS (IDR 6) is not ours: no KPAK for it");
    if ((st = mcsec_prof_verify(rx, &m, idr_i->data, &res->coverage, &res->sig_status)) != MCSEC_OK)
        FAIL(MCSEC_CHECK_SIGNATURE, st, "ECCSI signature does not verify for the initiator UID");
    if (mcsec_key_period_no(t->value >> 32, rx->kms.key_period, rx->kms.key_period_offset,
                            &res->period_no) != MCSEC_OK)
        FAIL(MCSEC_CHECK_KEY_PERIOD, MCSEC_ERR_KEY_PERIOD, "message time is before the KMS key periods");
    if (rx->signer_uri[0] != 0) {
        if ((st = mcsec_prof_uid(&rx->kms, rx->signer_uri, res->period_no, uid)) != MCSEC_OK)
            FAIL(MCSEC_CHECK_SIGNATURE, st, "cannot compute the signer UID");
        if (!span_is(idr_i->data, uid, MCSEC_UID_LEN))
            FAIL(MCSEC_CHECK_SIGNATURE, MCSEC_ERR_VERIFY, "signed by another identity than the configured signer");
    }

    /* Recipient. */
    if ((st = mcsec_prof_uid(&rx->kms, rx->our_uri, res->period_no, uid)) != MCSEC_OK)
        FAIL(MCSEC_CHECK_RECIPIENT, st, "cannot compute our UID");
    if (!span_is(idr_r->data, uid, MCSEC_UID_LEN) ||
        !span_is(idr_kr->data, rx->kms.kms_uri, strlen(rx->kms.kms_uri)))
        FAIL(MCSEC_CHECK_RECIPIENT, MCSEC_ERR_WRONG_RECIPIENT,
             "message is addressed to another user (IDR 9) or KMS (IDR 7)");
    if (!mcsec_prof_have_period(rx, res->period_no))
        FAIL(MCSEC_CHECK_KEY_PERIOD, MCSEC_ERR_KEY_PERIOD, "no key set for the key period of the message time: fetch it from the KMS");

    /* Freshness and replay. */
    uint64_t now = mcsec_prof_now(rx);
    res->fresh = mcsec_prof_fresh(rx, t->value, now);
    if (!res->fresh && !diag)
        FAIL(MCSEC_CHECK_FRESHNESS, MCSEC_ERR_STALE, "message time is outside the freshness window: check clocks");
    res->replayed = mcsec_replay_seen(rx->replay, res->rand.p, res->rand.len, m.hdr.csb_id, now);
    if (res->replayed && !diag)
        FAIL(MCSEC_CHECK_REPLAY, MCSEC_ERR_REPLAY, "message was already received (RAND replayed)");

    /* Decapsulation and key id. */
    if ((st = mcsec_prof_decapsulate(rx, res->period_no, sk->data.p, sk->data.len, ssv)) != MCSEC_OK)
        FAIL(st == MCSEC_ERR_KEY_PERIOD ? MCSEC_CHECK_KEY_PERIOD : MCSEC_CHECK_DECRYPT, st,
             "SAKKE decapsulation failed");
    if (kind == MCSEC_PURPOSE_GMK) {
        uint32_t guk;
        if ((st = mcsec_guk_id(ssv, sizeof ssv, res->key_id, rx->our_uri, &guk)) != MCSEC_OK)
            FAIL(MCSEC_CHECK_KEY_ID, st, "cannot compute the GUK-ID");
        mcsec_ct_declassify(&guk, sizeof guk); /* public: it must equal the CSB ID */
        if (guk != m.hdr.csb_id)
            FAIL(MCSEC_CHECK_KEY_ID, MCSEC_ERR_VERIFY, "CSB ID is not the GUK-ID of the delivered GMK");
    }

    /* Key parameters: decoded when they decode, flagged otherwise. */
    /* The key parameters (kind, status, times, text, group) are confidential but not key
     * material: they are parsed like any decrypted message (declassified for tests/ct). */
    if (ext->data.len <= KP_MAX &&
        kp_crypt(ssv, cs.cs_id, m.hdr.csb_id, res->rand, ext->data.p, plain, ext->data.len) == MCSEC_OK &&
        (mcsec_ct_declassify(plain, ext->data.len), 1) &&
        kp_decode(plain, ext->data.len, (unsigned)kind, &res->key_params)) {
        res->key_params_decoded = 1;
        if (res->key_params.group_id[0] != 0 &&
            mcsec_prof_uid(&rx->kms, res->key_params.group_id, res->period_no, uid) == MCSEC_OK)
            res->group_id_bound = span_is(idr_i->data, uid, MCSEC_UID_LEN);
    }

    if (!diag &&
        (st = mcsec_replay_add(rx->replay, res->rand.p, res->rand.len, m.hdr.csb_id,
                               (t->value >> 32) + rx->window, now)) != MCSEC_OK)
        FAIL(MCSEC_CHECK_REPLAY, st, st == MCSEC_ERR_REPLAY ? "message was already received (RAND replayed)"
                                                             : "replay cache is full: retry later");
    memcpy(res->key, ssv, sizeof ssv);
    res->check = MCSEC_CHECK_NONE;
    st = MCSEC_OK;
out:
    mcsec_memzero(ssv, sizeof ssv);
    mcsec_memzero(plain, sizeof plain);
    if (st != MCSEC_OK) mcsec_memzero(res->key, sizeof res->key);
    return st;
}
