/* The profile receiver (KMS public keys, our key sets per key period, replay cache, clock)
 * and the checks the GMK and GSK profiles share: SRTP policy, ECCSI SIGN, freshness. */
#include <stdlib.h>
#include <pthread.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "internal.h"
#include "mcsec/secmem.h"

#define NTP_UNIX_OFFSET 2208988800ull

const uint8_t mcsec_prof_sp_default[9][2] = {{0, 6}, {1, 16}, {2, 4},  {4, 12}, {5, 0},
                                             {6, 0}, {18, 4}, {19, 0}, {20, 16}};

const char *mcsec_profile_check_name(mcsec_profile_check_t check) {
    switch (check) {
    case MCSEC_CHECK_NONE: return "none";
    case MCSEC_CHECK_PARSE: return "parse";
    case MCSEC_CHECK_STRUCTURE: return "structure";
    case MCSEC_CHECK_POLICY: return "policy";
    case MCSEC_CHECK_PURPOSE: return "purpose";
    case MCSEC_CHECK_SIGNATURE: return "signature";
    case MCSEC_CHECK_RECIPIENT: return "recipient";
    case MCSEC_CHECK_KEY_PERIOD: return "key-period";
    case MCSEC_CHECK_FRESHNESS: return "freshness";
    case MCSEC_CHECK_REPLAY: return "replay";
    case MCSEC_CHECK_MEMBER: return "member";
    case MCSEC_CHECK_KEY_LOOKUP: return "key-lookup";
    case MCSEC_CHECK_DECRYPT: return "decrypt";
    case MCSEC_CHECK_KEY_ID: return "key-id";
    }
    return "?";
}

const char *mcsec_sig_coverage_name(mcsec_sig_coverage_t coverage) {
    return coverage == MCSEC_SIG_WITHOUT_SIGN_HEADER ? "without-sign-header" : "rfc3830";
}

static uint64_t system_clock(void *user) {
    (void)user;
    return (uint64_t)time(NULL) + NTP_UNIX_OFFSET;
}

mcsec_status_t mcsec_profile_receiver_new(mcsec_profile_receiver_t **out,
                                          const mcsec_kms_params_t *kms, const char *our_uri) {
    if (out == NULL || kms == NULL || our_uri == NULL) return MCSEC_ERR_BAD_INPUT;
    *out = NULL;
    if (strnlen(our_uri, MCSEC_PROFILE_URI_MAX) >= MCSEC_PROFILE_URI_MAX || our_uri[0] == 0 ||
        strnlen(kms->kms_uri, sizeof kms->kms_uri) >= sizeof kms->kms_uri ||
        kms->kms_uri[0] == 0 || kms->key_period == 0)
        return MCSEC_ERR_BAD_INPUT;
    mcsec_profile_receiver_t *rx = calloc(1, sizeof *rx);
    if (rx == NULL) return MCSEC_ERR_NOMEM;
    rx->kms = *kms;
    strcpy(rx->our_uri, our_uri);
    rx->clock = system_clock;
    rx->window = MCSEC_PROFILE_WINDOW_DEFAULT;
    mcsec_status_t st = mcsec_eccsi_verifier_new(&rx->verifier, kms->kpak, 16);
    if (st == MCSEC_OK) st = mcsec_replay_new(&rx->replay, MCSEC_PROFILE_REPLAY_DEFAULT);
    if (st == MCSEC_OK && pthread_rwlock_init(&rx->lock, NULL) != 0) st = MCSEC_ERR_INTERNAL;
    if (st != MCSEC_OK) {
        mcsec_eccsi_verifier_free(rx->verifier);
        mcsec_replay_free(rx->replay);
        free(rx);
        return st;
    }
    *out = rx;
    return MCSEC_OK;
}

void mcsec_profile_receiver_free(mcsec_profile_receiver_t *rx) {
    if (rx == NULL) return;
    for (size_t i = 0; i < MCSEC_PROFILE_MAX_PERIODS; i++)
        mcsec_sakke_key_free(rx->keys[i].key);
    mcsec_eccsi_verifier_free(rx->verifier);
    mcsec_replay_free(rx->replay);
    pthread_rwlock_destroy(&rx->lock);
    mcsec_memzero(rx, sizeof *rx);
    free(rx);
}

void mcsec_profile_receiver_set_fetch(mcsec_profile_receiver_t *rx, mcsec_keyset_fetch_fn fetch,
                                      void *user) {
    if (rx == NULL) return;
    rx->fetch = fetch;
    rx->fetch_user = user;
}

void mcsec_profile_receiver_set_clock(mcsec_profile_receiver_t *rx, mcsec_clock_fn clock,
                                      void *user) {
    if (rx == NULL) return;
    rx->clock = clock != NULL ? clock : system_clock;
    rx->clock_user = user;
}

void mcsec_profile_receiver_set_window(mcsec_profile_receiver_t *rx, uint64_t seconds) {
    if (rx != NULL) rx->window = seconds;
}

mcsec_status_t mcsec_profile_receiver_set_signer(mcsec_profile_receiver_t *rx,
                                                 const char *signer_uri) {
    if (rx == NULL) return MCSEC_ERR_BAD_INPUT;
    if (signer_uri == NULL) {
        rx->signer_uri[0] = 0;
        return MCSEC_OK;
    }
    if (signer_uri[0] == 0 || strnlen(signer_uri, MCSEC_PROFILE_URI_MAX) >= MCSEC_PROFILE_URI_MAX)
        return MCSEC_ERR_BAD_INPUT;
    strcpy(rx->signer_uri, signer_uri);
    return MCSEC_OK;
}

mcsec_status_t mcsec_prof_uid(const mcsec_kms_params_t *kms, const char *uri, uint64_t period_no,
                              uint8_t uid[MCSEC_UID_LEN]) {
    return mcsec_uid_format2(uri, kms->kms_uri, kms->key_period, kms->key_period_offset,
                             period_no, uid);
}

mcsec_status_t mcsec_profile_receiver_add_keyset(mcsec_profile_receiver_t *rx,
                                                 const mcsec_keyset_t *ks) {
    if (rx == NULL || ks == NULL) return MCSEC_ERR_BAD_INPUT;
    uint8_t uid[MCSEC_UID_LEN];
    mcsec_status_t st = mcsec_prof_uid(&rx->kms, rx->our_uri, ks->period_no, uid);
    if (st != MCSEC_OK) return st;
    if (!mcsec_ct_equal(uid, ks->uid, MCSEC_UID_LEN)) return MCSEC_ERR_KEY_INVALID;
    mcsec_sakke_key_t *key = NULL;
    st = mcsec_sakke_key_new(&key, rx->kms.Z, uid, MCSEC_UID_LEN, ks->rsk);
    if (st != MCSEC_OK) return st;
    pthread_rwlock_wrlock(&rx->lock);
    size_t slot = MCSEC_PROFILE_MAX_PERIODS;
    for (size_t i = 0; i < MCSEC_PROFILE_MAX_PERIODS; i++)
        if (rx->keys[i].used && rx->keys[i].period_no == ks->period_no) slot = i;
    for (size_t i = 0; slot == MCSEC_PROFILE_MAX_PERIODS && i < MCSEC_PROFILE_MAX_PERIODS; i++)
        if (!rx->keys[i].used) slot = i;
    if (slot == MCSEC_PROFILE_MAX_PERIODS) { /* evict the lowest period */
        slot = 0;
        for (size_t i = 1; i < MCSEC_PROFILE_MAX_PERIODS; i++)
            if (rx->keys[i].period_no < rx->keys[slot].period_no) slot = i;
    }
    mcsec_sakke_key_free(rx->keys[slot].key);
    rx->keys[slot].used = 1;
    rx->keys[slot].period_no = ks->period_no;
    memcpy(rx->keys[slot].uid, uid, MCSEC_UID_LEN);
    rx->keys[slot].key = key;
    pthread_rwlock_unlock(&rx->lock);
    return MCSEC_OK;
}

/* Index of period_no in keys[] or -1; caller holds the lock. */
static int find_period(const mcsec_profile_receiver_t *rx, uint64_t period_no) {
    for (int i = 0; i < MCSEC_PROFILE_MAX_PERIODS; i++)
        if (rx->keys[i].used && rx->keys[i].period_no == period_no) return i;
    return -1;
}

int mcsec_prof_have_period(mcsec_profile_receiver_t *rx, uint64_t period_no) {
    pthread_rwlock_rdlock(&rx->lock);
    int have = find_period(rx, period_no) >= 0;
    pthread_rwlock_unlock(&rx->lock);
    if (have || rx->fetch == NULL) return have;
    mcsec_keyset_t *ks = mcsec_secure_alloc(sizeof *ks);
    if (ks == NULL) return 0;
    if (rx->fetch(rx->fetch_user, period_no, ks) == MCSEC_OK && ks->period_no == period_no &&
        mcsec_profile_receiver_add_keyset(rx, ks) == MCSEC_OK)
        have = 1;
    mcsec_secure_free(ks);
    return have;
}

mcsec_status_t mcsec_prof_decapsulate(mcsec_profile_receiver_t *rx, uint64_t period_no,
                                      const uint8_t *data, size_t len,
                                      uint8_t ssv[MCSEC_SAKKE_SSV_LEN]) {
    if (!mcsec_prof_have_period(rx, period_no)) return MCSEC_ERR_KEY_PERIOD;
    pthread_rwlock_rdlock(&rx->lock);
    int i = find_period(rx, period_no);
    mcsec_status_t st = i < 0 ? MCSEC_ERR_KEY_PERIOD
                              : mcsec_sakke_decapsulate(rx->keys[i].key, data, len, ssv);
    pthread_rwlock_unlock(&rx->lock);
    return st;
}

uint64_t mcsec_prof_now(const mcsec_profile_receiver_t *rx) {
    return rx->clock(rx->clock_user);
}

int mcsec_prof_fresh(const mcsec_profile_receiver_t *rx, uint64_t t, uint64_t now) {
    uint64_t secs = t >> 32;
    uint64_t d = secs > now ? secs - now : now - secs;
    return d <= rx->window;
}

/* Policy: encryption and authentication on and not NULL, AES-128 session keys, AEAD tags of
 * 16 octets. Absent parameters take the RFC 3830 defaults (AES-CM, HMAC-SHA-1, on). */
mcsec_status_t mcsec_prof_sp_check(const mcsec_mikey_sp_t *sp, const char **why) {
    mcsec_mikey_sp_param_t p;
    size_t cur = 0;
    while (mcsec_mikey_sp_next(sp, &cur, &p)) {
        /* The value as a number; anything above one octet counts as 0x100. Empty is 0. */
        unsigned v = p.value.len >= 1 ? p.value.p[p.value.len - 1] : 0;
        for (size_t i = 0; i + 1 < p.value.len; i++)
            if (p.value.p[i] != 0) v = 0x100; /* a multi-octet tag length: large */
        switch (p.type) {
        case 0:
            if (v == 0) return *why = "SRTP policy has NULL encryption: refused", MCSEC_ERR_POLICY;
            break;
        case 1:
            if (v != 16) return *why = "SRTP session key length is not 16 octets", MCSEC_ERR_POLICY;
            break;
        case 2:
            if (v == 0)
                return *why = "SRTP policy has NULL authentication: refused", MCSEC_ERR_POLICY;
            break;
        case 7:
        case 8:
        case 10:
            if (v == 0)
                return *why = "SRTP policy turns encryption or authentication off",
                       MCSEC_ERR_POLICY;
            break;
        case 20:
            if (v < 16)
                return *why = "SRTP AEAD tag shorter than 16 octets: refused", MCSEC_ERR_POLICY;
            break;
        default:
            break;
        }
    }
    return MCSEC_OK;
}

mcsec_status_t mcsec_prof_build_sp(mcsec_mikey_builder_t *b) {
    mcsec_mikey_sp_param_t prm[9];
    for (size_t i = 0; i < 9; i++)
        prm[i] = (mcsec_mikey_sp_param_t){mcsec_prof_sp_default[i][0],
                                          {&mcsec_prof_sp_default[i][1], 1}};
    return mcsec_mikey_build_sp(b, 0, 0, prm, 9);
}

static int fatal(mcsec_status_t st) {
    return st == MCSEC_ERR_NOMEM || st == MCSEC_ERR_INTERNAL || st == MCSEC_ERR_SELFTEST;
}

mcsec_status_t mcsec_prof_verify(mcsec_profile_receiver_t *rx, const mcsec_mikey_msg_t *m,
                                 mcsec_mikey_span_t uid, mcsec_sig_coverage_t *coverage,
                                 mcsec_status_t *sig_status) {
    const mcsec_mikey_sign_t *s = &m->payload[m->count - 1].u.sign;
    mcsec_status_t st = mcsec_eccsi_verify(rx->verifier, uid.p, uid.len, m->signed_data.p,
                                           m->signed_data.len, s->sig.p, s->sig.len);
    *coverage = MCSEC_SIG_RFC3830;
    if (st == MCSEC_ERR_VERIFY) {
        st = mcsec_eccsi_verify(rx->verifier, uid.p, uid.len, m->signed_data_alt.p,
                                m->signed_data_alt.len, s->sig.p, s->sig.len);
        if (st == MCSEC_OK) *coverage = MCSEC_SIG_WITHOUT_SIGN_HEADER;
        else if (st != MCSEC_ERR_VERIFY && !fatal(st)) st = MCSEC_ERR_VERIFY; /* cannot happen */
    }
    *sig_status = st;
    if (st == MCSEC_OK || fatal(st)) return st;
    return MCSEC_ERR_VERIFY;
}

mcsec_status_t mcsec_prof_sign(mcsec_mikey_builder_t *b, const mcsec_eccsi_signer_t *signer) {
    size_t signed_len;
    uint8_t sig[MCSEC_ECCSI_SIG_LEN];
    mcsec_status_t st = mcsec_mikey_build_sign_begin(b, MCSEC_MIKEY_SIGN_ECCSI,
                                                     MCSEC_ECCSI_SIG_LEN, &signed_len);
    if (st == MCSEC_OK) st = mcsec_eccsi_sign(signer, b->buf, signed_len, sig);
    if (st == MCSEC_OK) st = mcsec_mikey_build_sign_finish(b, sig, sizeof sig);
    return st;
}

/* AES-128-CTR fetched once: OpenSSL 3 fetches the implementation on every init otherwise,
 * which costs more than the few blocks a MIKEY message encrypts. */
static pthread_once_t ctr_once = PTHREAD_ONCE_INIT;
static EVP_CIPHER *aes_128_ctr;
static void ctr_init(void) { aes_128_ctr = EVP_CIPHER_fetch(NULL, "AES-128-CTR", NULL); }

mcsec_status_t mcsec_prof_aes_ctr(const uint8_t key[16], const uint8_t iv[16], const uint8_t *in,
                                  uint8_t *out, size_t len) {
    pthread_once(&ctr_once, ctr_init);
    if (aes_128_ctr == NULL) return MCSEC_ERR_INTERNAL;
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    if (c == NULL) return MCSEC_ERR_NOMEM;
    int outl = 0, finl = 0, ok = len <= INT32_MAX &&
                                  EVP_EncryptInit_ex(c, aes_128_ctr, NULL, key, iv) == 1 &&
                                  EVP_EncryptUpdate(c, out, &outl, in, (int)len) == 1 &&
                                  EVP_EncryptFinal_ex(c, out + outl, &finl) == 1;
    EVP_CIPHER_CTX_free(c);
    return ok && (size_t)(outl + finl) == len ? MCSEC_OK : MCSEC_ERR_INTERNAL;
}

mcsec_status_t mcsec_prof_parse_shape(const uint8_t *msg, size_t len, const mcsec_prof_shape_t *shape,
                                      mcsec_mikey_msg_t *m, mcsec_mikey_cs_t *cs,
                                      mcsec_profile_check_t *stage, const char **why)
{
    size_t cur = 0;
    mcsec_status_t st = mcsec_mikey_parse(msg, len, m);
    *stage = MCSEC_CHECK_PARSE;
    if (st != MCSEC_OK) {
        *why = "not a well-formed MIKEY message";
        return st;
    }
    *stage = MCSEC_CHECK_STRUCTURE;
    if (m->hdr.data_type != shape->data_type) {
        *why = shape->not_this_type;
        return MCSEC_ERR_STRUCTURE;
    }
    if (m->hdr.prf != MCSEC_MIKEY_PRF_HMAC_SHA256) {
        *why = "PRF is not PRF-HMAC-SHA-256";
        return MCSEC_ERR_STRUCTURE;
    }
    int same = m->count == shape->n;
    for (size_t i = 0, r = 0; same && i < m->count; i++) {
        const mcsec_mikey_payload_t *p = &m->payload[i];
        same = p->type == shape->seq[i] &&
               (p->type != MCSEC_MIKEY_PT_IDR || p->u.idr.role == shape->roles[r++]);
    }
    if (!same) {
        *why = "payload sequence is not the profile's";
        return MCSEC_ERR_STRUCTURE;
    }
    if (m->payload[0].u.t.ts_type != MCSEC_MIKEY_TS_NTP_UTC) { /* both sequences start with T */
        *why = "T is not a 64-bit NTP-UTC time";
        return MCSEC_ERR_STRUCTURE;
    }
    if (m->hdr.n_cs != 1 || m->hdr.map_type != MCSEC_MIKEY_MAP_GENERIC_ID ||
        !mcsec_mikey_cs_next(&m->hdr, &cur, cs)) {
        *why = "CS ID map is not one GENERIC-ID session";
        return MCSEC_ERR_STRUCTURE;
    }
    *stage = MCSEC_CHECK_NONE;
    *why = "";
    return MCSEC_OK;
}
