/* The PRUK MIKEY message (seed 004 6.X.3.3.2.3; MIKEY used as TS 33.303 uses it for PGKs): a
 * MIKEY PSK I_MESSAGE protected with the PMK.
 *
 *   HDR (data type 0, V 0, PRF-HMAC-SHA-256, CSB ID random, #CS 0, map type 1 empty)
 *   . T (NTP-UTC, 8) . RAND (16)
 *   . IDR 1 IDRi, byte string: Key Type ID (4) || PRUK ID (8) || "@" || PKMF FQDN
 *   . IDR 2 IDRr, URI: the remote UE
 *   . IDR 4 IDRpsk, byte string: PMK ID (8)
 *   . KEMAC (AES-CM-128, KEY_DATA TGK = PRUK (32 octets; 0 octets when the PRUK ID is all
 *     zero), HMAC-SHA-256-256)
 *
 * KEMAC transport keys from the PMK (RFC 3830 4.1.4, label const || 0xFF || CSB ID || RAND):
 * encr 16 octets (0x150533E1), auth 32 (0x2D22AC75), salt 14 (0x29B88916); the AES-CM IV
 * (RFC 3830 4.2.3) is (salt xor (0x0000 || CSB ID || T)) || 0x0000. The MAC covers the
 * message from HDR up to the MAC field. */
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "mcsec/kdf.h"
#include "mcsec/mikey.h"
#include "mcsec/prose.h"
#include "mcsec/secmem.h"

#define NTP_UNIX 2208988800u
#define KD_PLAIN_MAX (4 + MCSEC_PROSE_PRUK_LEN)
#define IDI_FIXED 13 /* Key Type ID (4) || PRUK ID (8) || '@' */
#define WINDOW_DEFAULT 300

typedef struct {
    uint8_t encr[16], auth[32], iv[16];
} keys_t;

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (24 - 8 * i));
}

static void put64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (56 - 8 * i));
}

static uint64_t get_be(const uint8_t *p, int n)
{
    uint64_t v = 0;
    for (int i = 0; i < n; i++)
        v = v << 8 | p[i];
    return v;
}

static mcsec_status_t derive_keys(const uint8_t pmk[MCSEC_PROSE_PMK_LEN], uint32_t csb,
                                  const uint8_t *rand, size_t rand_len, uint64_t t, keys_t *k)
{
    uint8_t salt[14];
    mcsec_status_t st = mcsec_mikey_derive(MCSEC_MIKEY_PRF_HMAC_SHA256, pmk, MCSEC_PROSE_PMK_LEN,
                                           MCSEC_MIKEY_CONST_PSK_ENCR, 0xff, csb, rand, rand_len,
                                           k->encr, sizeof k->encr);
    if (st == MCSEC_OK)
        st = mcsec_mikey_derive(MCSEC_MIKEY_PRF_HMAC_SHA256, pmk, MCSEC_PROSE_PMK_LEN,
                                MCSEC_MIKEY_CONST_PSK_AUTH, 0xff, csb, rand, rand_len, k->auth,
                                sizeof k->auth);
    if (st == MCSEC_OK)
        st = mcsec_mikey_derive(MCSEC_MIKEY_PRF_HMAC_SHA256, pmk, MCSEC_PROSE_PMK_LEN,
                                MCSEC_MIKEY_CONST_PSK_SALT, 0xff, csb, rand, rand_len, salt,
                                sizeof salt);
    if (st == MCSEC_OK) {
        uint8_t x[14] = {0};
        put32(x + 2, csb);
        put64(x + 6, t);
        for (size_t i = 0; i < 14; i++)
            k->iv[i] = salt[i] ^ x[i];
        k->iv[14] = k->iv[15] = 0;
    }
    mcsec_memzero(salt, sizeof salt);
    return st;
}

static mcsec_status_t aes_ctr(const uint8_t key[16], const uint8_t iv[16], const uint8_t *in,
                              uint8_t *out, size_t len)
{
    mcsec_status_t st = MCSEC_ERR_INTERNAL;
    int n = 0, f = 0;
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    if (c != NULL && EVP_EncryptInit_ex(c, EVP_aes_128_ctr(), NULL, key, iv) == 1 &&
        EVP_EncryptUpdate(c, out, &n, in, (int)len) == 1 && EVP_EncryptFinal_ex(c, out + n, &f) == 1)
        st = MCSEC_OK;
    EVP_CIPHER_CTX_free(c);
    return st;
}

static uint64_t ntp_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t frac = ((uint64_t)ts.tv_nsec << 32) / 1000000000u;
    return ((uint64_t)ts.tv_sec + NTP_UNIX) << 32 | frac;
}

static int fqdn_ok(const char *s, size_t n)
{
    if (n == 0 || n > MCSEC_PROSE_URI_MAX)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (s[i] <= ' ' || s[i] >= 0x7f)
            return 0;
    return 1;
}

mcsec_status_t mcsec_prose_pruk_build(const mcsec_prose_pruk_msg_t *m,
                                      const uint8_t pmk[MCSEC_PROSE_PMK_LEN], uint8_t *out,
                                      size_t cap, size_t *len)
{
    if (m == NULL || pmk == NULL || out == NULL || len == NULL || m->pkmf_fqdn == NULL ||
        m->ue_uri == NULL)
        return MCSEC_ERR_BAD_INPUT;
    size_t fl = strlen(m->pkmf_fqdn), ul = strlen(m->ue_uri);
    if (!fqdn_ok(m->pkmf_fqdn, fl) || !fqdn_ok(m->ue_uri, ul))
        return MCSEC_ERR_BAD_INPUT;

    uint8_t rand[16], csb_b[4], idi[IDI_FIXED + MCSEC_PROSE_URI_MAX], idpsk[8], mac[32];
    uint8_t plain[KD_PLAIN_MAX], encr[KD_PLAIN_MAX];
    keys_t k;
    size_t mac_off = 0, plain_len = 0;
    mcsec_mikey_builder_t b;
    uint64_t t = m->ntp_time ? m->ntp_time : ntp_now();
    memset(&k, 0, sizeof k);
    memset(plain, 0, sizeof plain);
    mcsec_status_t st = mcsec_random_bytes(rand, sizeof rand);
    if (st == MCSEC_OK)
        st = mcsec_random_bytes(csb_b, sizeof csb_b);
    if (st != MCSEC_OK)
        goto out;
    uint32_t csb = (uint32_t)get_be(csb_b, 4);
    if ((st = derive_keys(pmk, csb, rand, sizeof rand, t, &k)) != MCSEC_OK)
        goto out;
    mcsec_mikey_builder_init(&b, plain, sizeof plain);
    mcsec_mikey_key_data_t kd = {.type = MCSEC_MIKEY_KEY_TGK,
                                 .key = {m->pruk, m->pruk_id != 0 ? MCSEC_PROSE_PRUK_LEN : 0}};
    if ((st = mcsec_mikey_build_key_data(&b, &kd)) != MCSEC_OK)
        goto out;
    plain_len = b.len;
    if ((st = aes_ctr(k.encr, k.iv, plain, encr, plain_len)) != MCSEC_OK)
        goto out;

    put32(idi, m->key_type_id);
    put64(idi + 4, m->pruk_id);
    idi[12] = '@';
    memcpy(idi + IDI_FIXED, m->pkmf_fqdn, fl);
    put64(idpsk, m->pmk_id);
    mcsec_mikey_hdr_t h = {.data_type = MCSEC_MIKEY_DT_PSK_INIT,
                           .prf = MCSEC_MIKEY_PRF_HMAC_SHA256,
                           .csb_id = csb,
                           .n_cs = 0,
                           .map_type = MCSEC_MIKEY_MAP_EMPTY};
    mcsec_mikey_builder_init(&b, out, cap);
    if ((st = mcsec_mikey_build_hdr(&b, &h, NULL)) != MCSEC_OK ||
        (st = mcsec_mikey_build_t(&b, MCSEC_MIKEY_TS_NTP_UTC, t)) != MCSEC_OK ||
        (st = mcsec_mikey_build_rand(&b, rand, sizeof rand)) != MCSEC_OK ||
        (st = mcsec_mikey_build_idr(&b, MCSEC_MIKEY_ROLE_I, MCSEC_MIKEY_ID_BYTES, idi,
                                    IDI_FIXED + fl)) != MCSEC_OK ||
        (st = mcsec_mikey_build_idr(&b, MCSEC_MIKEY_ROLE_R, MCSEC_MIKEY_ID_URI,
                                    (const uint8_t *)m->ue_uri, ul)) != MCSEC_OK ||
        (st = mcsec_mikey_build_idr(&b, MCSEC_MIKEY_ROLE_PSK, MCSEC_MIKEY_ID_BYTES, idpsk, 8)) !=
            MCSEC_OK ||
        (st = mcsec_mikey_build_kemac(&b, MCSEC_MIKEY_ENCR_AES_CM_128, encr, plain_len,
                                      MCSEC_MIKEY_MAC_HMAC_SHA256_256, NULL, &mac_off)) != MCSEC_OK)
        goto out;
    if ((st = mcsec_hmac_sha256(k.auth, sizeof k.auth, out, mac_off, mac)) != MCSEC_OK)
        goto out;
    memcpy(out + mac_off, mac, sizeof mac);
    *len = b.len;
out:
    mcsec_memzero(&k, sizeof k);
    mcsec_memzero(plain, sizeof plain);
    mcsec_memzero(encr, sizeof encr);
    return st;
}

static const uint8_t seq[] = {MCSEC_MIKEY_PT_T, MCSEC_MIKEY_PT_RAND, MCSEC_MIKEY_PT_IDR,
                              MCSEC_MIKEY_PT_IDR, MCSEC_MIKEY_PT_IDR, MCSEC_MIKEY_PT_KEMAC};

mcsec_status_t mcsec_prose_pruk_open(const uint8_t *msg, size_t len,
                                     const mcsec_prose_pruk_expect_t *exp,
                                     mcsec_prose_pruk_msg_t *out, uint64_t *t_out)
{
    mcsec_mikey_msg_t m;
    keys_t k;
    uint8_t mac[32], plain[KD_PLAIN_MAX];
    mcsec_mikey_key_data_t kd[2];
    size_t nkd = 0;
    mcsec_status_t st;
    memset(&k, 0, sizeof k);
    memset(plain, 0, sizeof plain);
    memset(mac, 0, sizeof mac);
    if (out != NULL)
        memset(out, 0, sizeof *out);
    if (msg == NULL || exp == NULL || out == NULL || exp->pmk == NULL || exp->pkmf_fqdn == NULL ||
        exp->ue_uri == NULL) {
        st = MCSEC_ERR_BAD_INPUT;
        goto out;
    }
    if ((st = mcsec_mikey_parse(msg, len, &m)) != MCSEC_OK)
        goto out;
    st = MCSEC_ERR_STRUCTURE;
    if (m.hdr.data_type != MCSEC_MIKEY_DT_PSK_INIT || m.hdr.prf != MCSEC_MIKEY_PRF_HMAC_SHA256 ||
        m.hdr.n_cs != 0 || m.count != sizeof seq || m.has_sign)
        goto out;
    for (size_t i = 0; i < sizeof seq; i++)
        if (m.payload[i].type != seq[i])
            goto out;
    const mcsec_mikey_t_t *tp = &m.payload[0].u.t;
    const mcsec_mikey_rand_t *rp = &m.payload[1].u.rand;
    const mcsec_mikey_id_t *idi = &m.payload[2].u.idr, *idr = &m.payload[3].u.idr,
                           *idpsk = &m.payload[4].u.idr;
    const mcsec_mikey_kemac_t *km = &m.payload[5].u.kemac;
    if (tp->ts_type != MCSEC_MIKEY_TS_NTP_UTC || idi->role != MCSEC_MIKEY_ROLE_I ||
        idi->id_type != MCSEC_MIKEY_ID_BYTES || idi->data.len <= IDI_FIXED ||
        idi->data.p[12] != '@' || idr->role != MCSEC_MIKEY_ROLE_R ||
        idr->id_type != MCSEC_MIKEY_ID_URI || idpsk->role != MCSEC_MIKEY_ROLE_PSK ||
        idpsk->id_type != MCSEC_MIKEY_ID_BYTES || idpsk->data.len != 8 ||
        km->encr_alg != MCSEC_MIKEY_ENCR_AES_CM_128 ||
        km->mac_alg != MCSEC_MIKEY_MAC_HMAC_SHA256_256 || km->encr.len > KD_PLAIN_MAX)
        goto out;
    out->key_type_id = (uint32_t)get_be(idi->data.p, 4);
    out->pruk_id = get_be(idi->data.p + 4, 8);
    out->pmk_id = get_be(idpsk->data.p, 8);
    out->ntp_time = tp->value;
    if (out->pmk_id != exp->pmk_id) {
        st = MCSEC_ERR_UNKNOWN_KEY;
        goto out;
    }
    if (out->key_type_id != exp->key_type_id) {
        st = MCSEC_ERR_PURPOSE;
        goto out;
    }
    size_t fl = idi->data.len - IDI_FIXED;
    if (fl != strlen(exp->pkmf_fqdn) || memcmp(idi->data.p + IDI_FIXED, exp->pkmf_fqdn, fl) != 0 ||
        idr->data.len != strlen(exp->ue_uri) ||
        memcmp(idr->data.p, exp->ue_uri, idr->data.len) != 0) {
        st = MCSEC_ERR_WRONG_RECIPIENT;
        goto out;
    }
    uint64_t now = exp->now;
    if (now == 0)
        now = ntp_now() >> 32;
    uint64_t window = exp->window ? exp->window : WINDOW_DEFAULT, ts = tp->value >> 32;
    if ((ts > now ? ts - now : now - ts) > window) {
        st = MCSEC_ERR_STALE;
        goto out;
    }
    if ((st = derive_keys(exp->pmk, m.hdr.csb_id, rp->data.p, rp->data.len, tp->value, &k)) !=
            MCSEC_OK ||
        (st = mcsec_hmac_sha256(k.auth, sizeof k.auth, msg, (size_t)(km->mac.p - msg), mac)) !=
            MCSEC_OK)
        goto out;
    if (km->mac.len != sizeof mac || !mcsec_ct_equal(mac, km->mac.p, sizeof mac)) {
        st = MCSEC_ERR_VERIFY;
        goto out;
    }
    if ((st = aes_ctr(k.encr, k.iv, km->encr.p, plain, km->encr.len)) != MCSEC_OK)
        goto out;
    size_t want = out->pruk_id != 0 ? MCSEC_PROSE_PRUK_LEN : 0;
    if (mcsec_mikey_parse_key_data(plain, km->encr.len, kd, 2, &nkd) != MCSEC_OK || nkd != 1 ||
        kd[0].type != MCSEC_MIKEY_KEY_TGK || kd[0].kv.type != MCSEC_MIKEY_KV_NULL ||
        kd[0].key.len != want) {
        st = MCSEC_ERR_STRUCTURE;
        goto out;
    }
    if (want)
        memcpy(out->pruk, kd[0].key.p, want);
    if (t_out != NULL)
        *t_out = tp->value;
    st = MCSEC_OK;
out:
    if (st != MCSEC_OK && out != NULL)
        mcsec_memzero(out->pruk, sizeof out->pruk);
    mcsec_memzero(&k, sizeof k);
    mcsec_memzero(plain, sizeof plain);
    return st;
}
