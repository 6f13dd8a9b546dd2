/* The group session key (GSK) message (seed 002 6.3.1.3.2.3; WIRE.md 3): a MIKEY PSK
 * I_MESSAGE whose pre-shared key is the GMK, carrying the GSK in KEMAC, signed by the talker.
 *
 * HDR (0, PRF-HMAC-SHA-256, CSB ID = GSK-ID, GENERIC-ID: CS-ID 4, SPI = GSK-ID) . T (NTP-UTC) .
 * RAND (16) . IDR 1 (talker URI) . IDR 8 (talker UID) . IDR 2 (group URI) . IDR 4 (GMK-ID,
 * byte string) . SP (policy 0) . KEMAC (AES-CM-128, KEY_DATA TGK = GSK, HMAC-SHA-256-256) .
 * SIGN (ECCSI).
 *
 * KEMAC transport keys (RFC 3830 4.1.4, label const || 0xFF || CSB ID || RAND) from the GMK:
 * encr 16 octets (0x150533E1), auth 32 (0x2D22AC75), salt 14 (0x29B88916); AES-CM IV
 * (RFC 3830 4.2.3) = (salt xor (0x0000 || CSB ID || T)) || 0x0000. */
#include <string.h>

#include <openssl/evp.h>

#include "internal.h"
#include "mcsec/secmem.h"

#define KD_LEN (4 + MCSEC_PROFILE_KEY_LEN) /* KEY_DATA: next, type|KV, len16, key */

typedef struct {
    uint8_t encr[16], auth[32], iv[16];
} kemac_keys_t;

static mcsec_status_t kemac_keys(const uint8_t gmk[16], uint32_t csb, mcsec_mikey_span_t rand,
                                 uint64_t t, kemac_keys_t *k) {
    uint8_t salt[14];
    mcsec_status_t st = mcsec_mikey_derive(MCSEC_MIKEY_PRF_HMAC_SHA256, gmk, 16,
                                           MCSEC_MIKEY_CONST_PSK_ENCR, 0xff, csb, rand.p,
                                           rand.len, k->encr, sizeof k->encr);
    if (st == MCSEC_OK)
        st = mcsec_mikey_derive(MCSEC_MIKEY_PRF_HMAC_SHA256, gmk, 16, MCSEC_MIKEY_CONST_PSK_AUTH,
                                0xff, csb, rand.p, rand.len, k->auth, sizeof k->auth);
    if (st == MCSEC_OK)
        st = mcsec_mikey_derive(MCSEC_MIKEY_PRF_HMAC_SHA256, gmk, 16, MCSEC_MIKEY_CONST_PSK_SALT,
                                0xff, csb, rand.p, rand.len, salt, sizeof salt);
    if (st == MCSEC_OK) {
        uint8_t x[14] = {0};
        mcsec_prof_put32(x + 2, csb);
        mcsec_prof_put64(x + 6, t);
        for (size_t i = 0; i < 14; i++)
            k->iv[i] = salt[i] ^ x[i];
        k->iv[14] = k->iv[15] = 0;
    }
    mcsec_memzero(salt, sizeof salt);
    return st;
}

static mcsec_status_t hmac256(const uint8_t key[32], const uint8_t *p, size_t n, uint8_t out[32]) {
    return mcsec_hmac_sha256(key, 32, p, n, out);
}

mcsec_status_t mcsec_gsk_build(const mcsec_eccsi_signer_t *signer, const char *talker_uri,
                               const uint8_t talker_uid[MCSEC_UID_LEN], const char *group_uri,
                               const uint8_t gmk[MCSEC_PROFILE_KEY_LEN], uint32_t gmk_id,
                               const uint8_t gsk[MCSEC_PROFILE_KEY_LEN], uint32_t gsk_id,
                               uint64_t ntp_time, uint8_t *out, size_t cap, size_t *out_len) {
    if (signer == NULL || talker_uri == NULL || talker_uid == NULL || group_uri == NULL ||
        gmk == NULL || gsk == NULL || out == NULL || out_len == NULL)
        return MCSEC_ERR_BAD_INPUT;
    size_t tl = strlen(talker_uri), gl = strlen(group_uri);
    if (tl == 0 || gl == 0 || tl >= MCSEC_PROFILE_URI_MAX || gl >= MCSEC_PROFILE_URI_MAX)
        return MCSEC_ERR_BAD_INPUT;
    if (mcsec_purpose_tag(gmk_id) != MCSEC_PURPOSE_GMK) return MCSEC_ERR_PURPOSE;

    uint8_t rand[16], spi[4], idpsk[4], plain[KD_LEN], encr[KD_LEN], mac[32], sig[MCSEC_ECCSI_SIG_LEN];
    kemac_keys_t k;
    size_t mac_off, signed_len;
    mcsec_mikey_builder_t b;
    mcsec_status_t st = mcsec_random_bytes(rand, sizeof rand);
    if (st == MCSEC_OK) st = kemac_keys(gmk, gsk_id, (mcsec_mikey_span_t){rand, 16}, ntp_time, &k);
    if (st == MCSEC_OK) {
        mcsec_mikey_builder_init(&b, plain, sizeof plain);
        mcsec_mikey_key_data_t kd = {.type = MCSEC_MIKEY_KEY_TGK, .key = {gsk, MCSEC_PROFILE_KEY_LEN}};
        st = mcsec_mikey_build_key_data(&b, &kd);
        if (st == MCSEC_OK && b.len != KD_LEN) st = MCSEC_ERR_INTERNAL;
    }
    if (st == MCSEC_OK) st = mcsec_prof_aes_ctr(k.encr, k.iv, plain, encr, KD_LEN);
    if (st != MCSEC_OK) goto out;
    mcsec_ct_declassify(encr, KD_LEN); /* ciphertext: public, it goes into the message */

    mcsec_prof_put32(spi, gsk_id);
    mcsec_prof_put32(idpsk, gmk_id);
    uint8_t pol = 0;
    mcsec_mikey_hdr_t h = {.data_type = MCSEC_MIKEY_DT_PSK_INIT, .prf = MCSEC_MIKEY_PRF_HMAC_SHA256,
                           .csb_id = gsk_id, .n_cs = 1, .map_type = MCSEC_MIKEY_MAP_GENERIC_ID};
    mcsec_mikey_cs_t cs = {.cs_id = MCSEC_PROFILE_CS_GMK, .protocol = 0, .policies = {&pol, 1},
                           .spi = {spi, 4}};
    mcsec_mikey_builder_init(&b, out, cap);
    if ((st = mcsec_mikey_build_hdr(&b, &h, &cs)) != MCSEC_OK ||
        (st = mcsec_mikey_build_t(&b, MCSEC_MIKEY_TS_NTP_UTC, ntp_time)) != MCSEC_OK ||
        (st = mcsec_mikey_build_rand(&b, rand, sizeof rand)) != MCSEC_OK ||
        (st = mcsec_mikey_build_idr(&b, 1, MCSEC_MIKEY_ID_URI, (const uint8_t *)talker_uri, tl)) ||
        (st = mcsec_mikey_build_idr(&b, 8, MCSEC_MIKEY_ID_URI, talker_uid, MCSEC_UID_LEN)) ||
        (st = mcsec_mikey_build_idr(&b, 2, MCSEC_MIKEY_ID_URI, (const uint8_t *)group_uri, gl)) ||
        (st = mcsec_mikey_build_idr(&b, 4, MCSEC_MIKEY_ID_BYTES, idpsk, 4)) != MCSEC_OK ||
        (st = mcsec_prof_build_sp(&b)) != MCSEC_OK ||
        (st = mcsec_mikey_build_kemac(&b, MCSEC_MIKEY_ENCR_AES_CM_128, encr, KD_LEN,
                                      MCSEC_MIKEY_MAC_HMAC_SHA256_256, NULL, &mac_off)) ||
        (st = mcsec_mikey_build_sign_begin(&b, MCSEC_MIKEY_SIGN_ECCSI, MCSEC_ECCSI_SIG_LEN,
                                           &signed_len)) != MCSEC_OK ||
        (st = hmac256(k.auth, out, mac_off, mac)) != MCSEC_OK)
        goto out;
    mcsec_ct_declassify(mac, sizeof mac); /* the KEMAC MAC: public, it goes into the message */
    memcpy(out + mac_off, mac, sizeof mac);
    if ((st = mcsec_eccsi_sign(signer, out, signed_len, sig)) != MCSEC_OK ||
        (st = mcsec_mikey_build_sign_finish(&b, sig, sizeof sig)) != MCSEC_OK)
        goto out;
    *out_len = b.len;
out:
    mcsec_memzero(&k, sizeof k);
    mcsec_memzero(plain, sizeof plain);
    return st;
}

void mcsec_gsk_result_wipe(mcsec_gsk_result_t *res) {
    if (res != NULL) mcsec_memzero(res->gsk, sizeof res->gsk);
}

static const uint8_t gsk_seq[] = {MCSEC_MIKEY_PT_T,   MCSEC_MIKEY_PT_RAND, MCSEC_MIKEY_PT_IDR,
                                  MCSEC_MIKEY_PT_IDR, MCSEC_MIKEY_PT_IDR,  MCSEC_MIKEY_PT_IDR,
                                  MCSEC_MIKEY_PT_SP,  MCSEC_MIKEY_PT_KEMAC, MCSEC_MIKEY_PT_SIGN};
static const uint8_t gsk_roles[] = {1, 8, 2, 4};

/* Copies a URI IDR into a C string: 0 if empty, too long or holding a NUL. */
static int uri_copy(const mcsec_mikey_id_t *id, char out[MCSEC_PROFILE_URI_MAX]) {
    if (id->id_type != MCSEC_MIKEY_ID_URI || id->data.len == 0 ||
        id->data.len >= MCSEC_PROFILE_URI_MAX || memchr(id->data.p, 0, id->data.len) != NULL)
        return 0;
    memcpy(out, id->data.p, id->data.len);
    out[id->data.len] = 0;
    return 1;
}

#define FAIL(chk, s, msg)                                                                          \
    do {                                                                                           \
        st = MCSEC_PROF_FAIL(res, chk, s, msg);                                                    \
        goto out;                                                                                  \
    } while (0)

mcsec_status_t mcsec_gsk_open(mcsec_profile_receiver_t *rx, const mcsec_gsk_keys_t *keys,
                              const uint8_t *msg, size_t len, unsigned flags,
                              mcsec_gsk_result_t *res) {
    if (res == NULL) return MCSEC_ERR_BAD_INPUT;
    memset(res, 0, sizeof *res);
    res->why = "";
    if (rx == NULL || keys == NULL || keys->lookup == NULL || msg == NULL) return MCSEC_ERR_BAD_INPUT;
    mcsec_mikey_msg_t m;
    mcsec_gmk_record_t rec;
    kemac_keys_t k;
    uint8_t uid[MCSEC_UID_LEN], mac[32], plain[KD_LEN];
    mcsec_mikey_cs_t cs;
    mcsec_mikey_key_data_t kd[2];
    size_t nkd = 0;
    const int diag = (flags & MCSEC_OPEN_DIAGNOSTIC) != 0;
    memset(&rec, 0, sizeof rec);
    memset(&k, 0, sizeof k);
    memset(plain, 0, sizeof plain);
    static const mcsec_prof_shape_t shape = {MCSEC_MIKEY_DT_PSK_INIT,
                                             "not a MIKEY PSK I_MESSAGE (data type 0)", gsk_seq,
                                             sizeof gsk_seq, gsk_roles};
    mcsec_profile_check_t stage;
    const char *why;
    mcsec_status_t st = mcsec_prof_parse_shape(msg, len, &shape, &m, &cs, &stage, &why);
    if (st != MCSEC_OK) FAIL(stage, st, why);
    const mcsec_mikey_t_t *t = &m.payload[0].u.t;
    const mcsec_mikey_id_t *idr_uri = &m.payload[2].u.idr, *idr_uid = &m.payload[3].u.idr,
                           *idr_grp = &m.payload[4].u.idr, *idr_psk = &m.payload[5].u.idr;
    const mcsec_mikey_sp_t *sp = &m.payload[6].u.sp;
    const mcsec_mikey_kemac_t *km = &m.payload[7].u.kemac;
    const mcsec_mikey_sign_t *sg = &m.payload[8].u.sign;
    if ((cs.cs_id != 4 && cs.cs_id != 5) ||
        cs.protocol != 0 || cs.policies.len != 1 || cs.policies.p[0] != sp->policy_no ||
        sp->protocol != 0 || cs.spi.len != 4 || mcsec_prof_be32(cs.spi.p) != m.hdr.csb_id)
        FAIL(MCSEC_CHECK_STRUCTURE, MCSEC_ERR_STRUCTURE,
             "CS ID map is not one SRTP group session (CS-ID 4/5) with SPI = CSB ID");
    if (!uri_copy(idr_uri, res->talker_uri) || !uri_copy(idr_grp, res->group_uri) ||
        (idr_uid->id_type != MCSEC_MIKEY_ID_URI && idr_uid->id_type != MCSEC_MIKEY_ID_BYTES) ||
        idr_uid->data.len != MCSEC_UID_LEN || idr_psk->id_type != MCSEC_MIKEY_ID_BYTES ||
        idr_psk->data.len != 4)
        FAIL(MCSEC_CHECK_STRUCTURE, MCSEC_ERR_STRUCTURE,
             "IDR payloads are not talker URI, talker UID, group URI and a 4-octet GMK-ID");
    if (sg->type != MCSEC_MIKEY_SIGN_ECCSI || sg->sig.len != MCSEC_ECCSI_SIG_LEN)
        FAIL(MCSEC_CHECK_STRUCTURE, MCSEC_ERR_STRUCTURE, "SIGN is not a 129-octet ECCSI signature");

    res->gsk_id = m.hdr.csb_id;
    res->gmk_id = mcsec_prof_be32(idr_psk->data.p);
    res->talker_uid = idr_uid->data;
    res->rand = m.payload[1].u.rand.data;
    res->timestamp = t->value;

    if ((st = mcsec_prof_sp_check(sp, &res->why)) != MCSEC_OK) FAIL(MCSEC_CHECK_POLICY, st, res->why);
    if (km->encr_alg != MCSEC_MIKEY_ENCR_AES_CM_128 || km->mac_alg != MCSEC_MIKEY_MAC_HMAC_SHA256_256)
        FAIL(MCSEC_CHECK_POLICY, MCSEC_ERR_POLICY, "KEMAC is not AES-CM-128 with HMAC-SHA-256-256");
    if (km->encr.len != KD_LEN)
        FAIL(MCSEC_CHECK_STRUCTURE, MCSEC_ERR_STRUCTURE, "KEMAC does not hold one 16-octet key");
    if (mcsec_purpose_tag(res->gmk_id) != MCSEC_PURPOSE_GMK)
        FAIL(MCSEC_CHECK_PURPOSE, MCSEC_ERR_PURPOSE, "IDRpsk does not name a GMK (purpose tag)");

    if ((st = mcsec_prof_verify(rx, &m, idr_uid->data, &res->coverage, &res->sig_status)) != MCSEC_OK)
        FAIL(MCSEC_CHECK_SIGNATURE, st, "ECCSI signature does not verify for the talker UID");
    if (mcsec_key_period_no(t->value >> 32, rx->kms.key_period, rx->kms.key_period_offset,
                            &res->period_no) != MCSEC_OK)
        FAIL(MCSEC_CHECK_KEY_PERIOD, MCSEC_ERR_KEY_PERIOD, "message time is before the KMS key periods");
    if ((st = mcsec_prof_uid(&rx->kms, res->talker_uri, res->period_no, uid)) != MCSEC_OK)
        FAIL(MCSEC_CHECK_SIGNATURE, st, "cannot compute the talker UID");
    if (!mcsec_ct_equal(uid, idr_uid->data.p, MCSEC_UID_LEN))
        FAIL(MCSEC_CHECK_SIGNATURE, MCSEC_ERR_VERIFY, "talker URI (IDR 1) does not match the signing UID (IDR 8)");
    if (keys->member != NULL && !keys->member(keys->member_user, res->group_uri, res->talker_uri))
        FAIL(MCSEC_CHECK_MEMBER, MCSEC_ERR_POLICY, "talker is not a member of the group");

    uint64_t now = mcsec_prof_now(rx);
    res->fresh = mcsec_prof_fresh(rx, t->value, now);
    if (!res->fresh && !diag)
        FAIL(MCSEC_CHECK_FRESHNESS, MCSEC_ERR_STALE, "message time is outside the freshness window: check clocks");
    res->replayed = mcsec_replay_seen(rx->replay, res->rand.p, res->rand.len, m.hdr.csb_id, now);
    if (res->replayed && !diag)
        FAIL(MCSEC_CHECK_REPLAY, MCSEC_ERR_REPLAY, "message was already received (RAND replayed)");

    if ((st = keys->lookup(keys->lookup_user, res->gmk_id, &rec)) != MCSEC_OK)
        FAIL(MCSEC_CHECK_KEY_LOOKUP, st,
             "no GMK with this GMK-ID: the GMK distribution may not have arrived yet");
    if (rec.gmk_id != res->gmk_id ||
        (rec.group_uri[0] != 0 && strncmp(rec.group_uri, res->group_uri, sizeof rec.group_uri) != 0))
        FAIL(MCSEC_CHECK_KEY_LOOKUP, MCSEC_ERR_UNKNOWN_KEY, "the GMK-ID belongs to another group");
    if ((rec.status & MCSEC_GMK_STATUS_REVOKED) != 0 || (rec.activation != 0 && t->value < rec.activation) ||
        (rec.expiry != 0 && t->value >= rec.expiry))
        FAIL(MCSEC_CHECK_KEY_LOOKUP, MCSEC_ERR_EXPIRED, "the GMK is revoked or not valid at the message time");

    if ((st = kemac_keys(rec.gmk, m.hdr.csb_id, res->rand, t->value, &k)) != MCSEC_OK ||
        (st = hmac256(k.auth, msg, (size_t)(km->mac.p - msg), mac)) != MCSEC_OK)
        FAIL(MCSEC_CHECK_DECRYPT, st, "KEMAC key derivation failed");
    int mac_ok = km->mac.len == sizeof mac && mcsec_ct_equal(mac, km->mac.p, sizeof mac);
    mcsec_ct_declassify(&mac_ok, sizeof mac_ok); /* the verdict: public, the status says it */
    if (!mac_ok)
        FAIL(MCSEC_CHECK_DECRYPT, MCSEC_ERR_VERIFY, "KEMAC MAC does not verify: wrong GMK or tampered");
    if ((st = mcsec_prof_aes_ctr(k.encr, k.iv, km->encr.p, plain, KD_LEN)) != MCSEC_OK)
        FAIL(MCSEC_CHECK_DECRYPT, st, "KEMAC decryption failed");
    /* KEY_DATA's header (next payload, type and KV, key length) is structure, the same in every
     * valid message: only the key after it is secret. */
    mcsec_ct_declassify(plain, KD_LEN - MCSEC_PROFILE_KEY_LEN);
    if (mcsec_mikey_parse_key_data(plain, KD_LEN, kd, 2, &nkd) != MCSEC_OK || nkd != 1 ||
        kd[0].type != MCSEC_MIKEY_KEY_TGK || kd[0].kv.type != MCSEC_MIKEY_KV_NULL ||
        kd[0].key.len != MCSEC_PROFILE_KEY_LEN)
        FAIL(MCSEC_CHECK_DECRYPT, MCSEC_ERR_STRUCTURE, "KEMAC does not hold one TGK of 16 octets");

    if (!diag &&
        (st = mcsec_replay_add(rx->replay, res->rand.p, res->rand.len, m.hdr.csb_id,
                               (t->value >> 32) + rx->window, now)) != MCSEC_OK)
        FAIL(MCSEC_CHECK_REPLAY, st, st == MCSEC_ERR_REPLAY ? "message was already received (RAND replayed)"
                                                             : "replay cache is full: retry later");
    memcpy(res->gsk, kd[0].key.p, MCSEC_PROFILE_KEY_LEN);
    res->check = MCSEC_CHECK_NONE;
    st = MCSEC_OK;
out:
    mcsec_memzero(&rec, sizeof rec);
    mcsec_memzero(&k, sizeof k);
    mcsec_memzero(plain, sizeof plain);
    if (st != MCSEC_OK) mcsec_memzero(res->gsk, sizeof res->gsk);
    return st;
}
