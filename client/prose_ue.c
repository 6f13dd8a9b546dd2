/* The remote UE's PRUK state (seed 004): one record per PKMF in the handset keystore, sealed
 * like the keystore's other records (AES-256-GCM under the store key, name and kind
 * authenticated), file prose/<first 32 hex digits of SHA-256(PKMF FQDN)>.pkmf, kind 16.
 *
 * Record plaintext, version 1:
 *   version (1) = 1 | FQDN len (1) | FQDN | Key Type ID (4) | flags (1: bit 0 PMK held, bit 1
 *   PRUK held, bit 2 PRUK ID refused by a relay) | PMK ID (8) | PMK (32) | PRUK ID (8) |
 *   PRUK (32) | T of the last accepted PRUK MIKEY message (8, NTP 64-bit)
 *
 * Replacement rules (seed 004 6.X.3.1): a PRUK received in a MIKEY message replaces the
 * previous one for that PKMF; a PMK in a Key Response replaces the stored one; a MIKEY message
 * whose T is not newer than the last accepted one is a replay (GBA push is not implemented, so
 * its rule does not arise). A handle is used by one thread at a time. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/sha.h>

#include "internal.h"
#include "mcsec/prose.h"
#include "mcsec/secmem.h"

#define PROSE_KS_KIND MCSEC_KS_KIND_PROSE
#define REC_VERSION 1
#define F_PMK 1u
#define F_PRUK 2u
#define F_REFUSED 4u

struct mcsec_prose_ue {
    mcsec_keystore_t *ks;
    char uri[MCSEC_PROSE_URI_MAX + 1];
};

typedef struct {
    char fqdn[MCSEC_PROSE_URI_MAX + 1];
    uint32_t key_type_id;
    unsigned flags;
    uint64_t pmk_id, pruk_id, last_t;
    uint8_t pmk[MCSEC_PROSE_PMK_LEN], pruk[MCSEC_PROSE_PRUK_LEN];
} rec_t;

#define REC_MAX (2 + MCSEC_PROSE_URI_MAX + 4 + 1 + 8 + 32 + 8 + 32 + 8)

static void say(char msg[MCSEC_PROSE_MSG_MAX], const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void say(char msg[MCSEC_PROSE_MSG_MAX], const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, MCSEC_PROSE_MSG_MAX, fmt, ap);
    va_end(ap);
}

static int fqdn_ok(const char *f)
{
    size_t n = f != NULL ? strlen(f) : 0;
    if (n == 0 || n > MCSEC_PROSE_URI_MAX)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (f[i] <= ' ' || f[i] >= 0x7f)
            return 0;
    return 1;
}

static void rec_name(const char *fqdn, char name[64])
{
    uint8_t h[SHA256_DIGEST_LENGTH];
    SHA256((const uint8_t *)fqdn, strlen(fqdn), h);
    int o = snprintf(name, 64, "prose/");
    for (int i = 0; i < 16; i++)
        o += snprintf(name + o, (size_t)(64 - o), "%02x", h[i]);
    snprintf(name + o, (size_t)(64 - o), ".pkmf");
}

static void put(uint8_t *p, uint64_t v, int n)
{
    for (int i = 0; i < n; i++)
        p[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
}

static uint64_t get(const uint8_t *p, int n)
{
    uint64_t v = 0;
    for (int i = 0; i < n; i++)
        v = v << 8 | p[i];
    return v;
}

/* MCSEC_ERR_UNKNOWN_KEY if there is no record for fqdn (r then holds an empty one). */
static mcsec_status_t rec_load(mcsec_prose_ue_t *ue, const char *fqdn, rec_t *r)
{
    char name[64];
    uint8_t pt[MCSEC_KS_PLAINTEXT_MAX];
    size_t len = 0;
    memset(r, 0, sizeof *r);
    snprintf(r->fqdn, sizeof r->fqdn, "%s", fqdn);
    rec_name(fqdn, name);
    mcsec_status_t st = mcsec_ks_read_record(ue->ks, name, PROSE_KS_KIND, pt, &len);
    if (st != MCSEC_OK)
        goto out;
    size_t fl = len >= 2 ? pt[1] : 0;
    if (len != 2 + fl + 4 + 1 + 8 + 32 + 8 + 32 + 8 || pt[0] != REC_VERSION ||
        fl != strlen(fqdn) || memcmp(pt + 2, fqdn, fl) != 0) {
        st = MCSEC_ERR_VERIFY;
        goto out;
    }
    const uint8_t *p = pt + 2 + fl;
    r->key_type_id = (uint32_t)get(p, 4);
    r->flags = p[4];
    r->pmk_id = get(p + 5, 8);
    memcpy(r->pmk, p + 13, 32);
    r->pruk_id = get(p + 45, 8);
    memcpy(r->pruk, p + 53, 32);
    r->last_t = get(p + 85, 8);
out:
    mcsec_memzero(pt, sizeof pt);
    return st;
}

static mcsec_status_t rec_save(mcsec_prose_ue_t *ue, const rec_t *r)
{
    char name[64];
    uint8_t pt[REC_MAX];
    size_t fl = strlen(r->fqdn);
    rec_name(r->fqdn, name);
    pt[0] = REC_VERSION;
    pt[1] = (uint8_t)fl;
    memcpy(pt + 2, r->fqdn, fl);
    uint8_t *p = pt + 2 + fl;
    put(p, r->key_type_id, 4);
    p[4] = (uint8_t)r->flags;
    put(p + 5, r->pmk_id, 8);
    memcpy(p + 13, r->pmk, 32);
    put(p + 45, r->pruk_id, 8);
    memcpy(p + 53, r->pruk, 32);
    put(p + 85, r->last_t, 8);
    mcsec_status_t st = mcsec_ks_write_record(ue->ks, name, PROSE_KS_KIND, pt,
                                              (size_t)(p + 93 - pt));
    mcsec_memzero(pt, sizeof pt);
    return st;
}

static mcsec_status_t rec_delete(mcsec_prose_ue_t *ue, const char *fqdn)
{
    char name[64];
    rec_name(fqdn, name);
    char *path = mcsec_path_join(ue->ks->dir, name);
    if (path == NULL)
        return MCSEC_ERR_NOMEM;
    int rc = unlink(path);
    free(path);
    return rc == 0 || errno == ENOENT ? MCSEC_OK : MCSEC_ERR_IO;
}

mcsec_status_t mcsec_prose_ue_open(mcsec_prose_ue_t **out, mcsec_keystore_t *ks,
                                   const char *ue_uri)
{
    if (out == NULL)
        return MCSEC_ERR_BAD_INPUT;
    *out = NULL;
    if (ks == NULL || !fqdn_ok(ue_uri))
        return MCSEC_ERR_BAD_INPUT;
    mcsec_prose_ue_t *ue = calloc(1, sizeof *ue);
    if (ue == NULL)
        return MCSEC_ERR_NOMEM;
    ue->ks = ks;
    snprintf(ue->uri, sizeof ue->uri, "%s", ue_uri);
    *out = ue;
    return MCSEC_OK;
}

void mcsec_prose_ue_close(mcsec_prose_ue_t *ue)
{
    free(ue);
}

/* Opens a PRUK MIKEY message against r and applies it (replacement, trigger). */
static mcsec_status_t take_mikey(mcsec_prose_ue_t *ue, rec_t *r, const uint8_t *msg, size_t len,
                                 mcsec_prose_key_result_t *res)
{
    mcsec_prose_pruk_msg_t m;
    uint64_t t = 0;
    if (!(r->flags & F_PMK)) {
        say(res->message, "no PMK from %s: send a Key Request first", r->fqdn);
        return MCSEC_ERR_UNKNOWN_KEY;
    }
    mcsec_prose_pruk_expect_t exp = {.pmk = r->pmk, .pmk_id = r->pmk_id,
                                     .key_type_id = r->key_type_id, .pkmf_fqdn = r->fqdn,
                                     .ue_uri = ue->uri};
    mcsec_status_t st = mcsec_prose_pruk_open(msg, len, &exp, &m, &t);
    if (st != MCSEC_OK) {
        say(res->message, "PRUK MIKEY message from %s refused: %s", r->fqdn, mcsec_strerror(st));
        goto out;
    }
    if (t <= r->last_t) {
        st = MCSEC_ERR_REPLAY;
        say(res->message, "PRUK MIKEY message from %s is not newer than the last one: a replay",
            r->fqdn);
        goto out;
    }
    r->last_t = t;
    if (m.pruk_id == 0) {
        res->key_request_again = 1;
    } else { /* a new PRUK replaces the previous one for this PKMF */
        memcpy(r->pruk, m.pruk, sizeof r->pruk);
        r->pruk_id = m.pruk_id;
        r->flags = (r->flags | F_PRUK) & ~F_REFUSED;
        res->new_pruk = 1;
    }
out:
    mcsec_memzero(&m, sizeof m);
    return st;
}

mcsec_status_t mcsec_prose_ue_key_request(mcsec_prose_ue_t *ue, const mcsec_prose_server_t *pkmf,
                                          const char *pkmf_fqdn, int want,
                                          const char *push_address, mcsec_prose_key_result_t *res)
{
    rec_t r;
    mcsec_prose_key_response_t kr;
    mcsec_status_t st;
    memset(&kr, 0, sizeof kr);
    memset(&r, 0, sizeof r);
    if (res == NULL)
        return MCSEC_ERR_BAD_INPUT;
    memset(res, 0, sizeof *res);
    if (ue == NULL || !fqdn_ok(pkmf_fqdn)) {
        say(res->message, "give the PKMF's FQDN");
        st = MCSEC_ERR_BAD_INPUT;
        goto out;
    }
    st = rec_load(ue, pkmf_fqdn, &r);
    if (st != MCSEC_OK && st != MCSEC_ERR_UNKNOWN_KEY) {
        say(res->message, "%s", mcsec_keystore_last_error());
        goto out;
    }
    uint64_t held = r.pruk_id;
    st = mcsec_prose_key_request(pkmf, want, (r.flags & F_PRUK) ? &held : NULL,
                                 (r.flags & F_PRUK) ? 1 : 0, push_address, &kr);
    if (st != MCSEC_OK) {
        snprintf(res->message, sizeof res->message, "%s", kr.message);
        goto out;
    }
    if (!want) {
        res->stopped = 1;
        if ((st = rec_delete(ue, pkmf_fqdn)) != MCSEC_OK)
            say(res->message, "cannot delete the PRUK record of %s from the keystore", pkmf_fqdn);
        goto out;
    }
    r.key_type_id = kr.key_type_id;
    res->key_type_id = kr.key_type_id;
    if (kr.has_pmk) {
        res->new_pmk = !(r.flags & F_PMK) || r.pmk_id != kr.pmk_id ||
                       !mcsec_ct_equal(r.pmk, kr.pmk, sizeof r.pmk);
        memcpy(r.pmk, kr.pmk, sizeof r.pmk);
        r.pmk_id = kr.pmk_id;
        r.flags |= F_PMK;
    }
    if (kr.mikey_len > 0 && (st = take_mikey(ue, &r, kr.mikey, kr.mikey_len, res)) != MCSEC_OK)
        goto out;
    if ((st = rec_save(ue, &r)) != MCSEC_OK) {
        say(res->message, "%s", mcsec_keystore_last_error());
        goto out;
    }
    res->pruk_id = (r.flags & F_PRUK) ? r.pruk_id : 0;
out:
    mcsec_prose_key_response_wipe(&kr);
    mcsec_memzero(&r, sizeof r);
    if (res != NULL)
        res->status = st;
    return st;
}

mcsec_status_t mcsec_prose_ue_receive_mikey(mcsec_prose_ue_t *ue, const char *pkmf_fqdn,
                                            const uint8_t *msg, size_t len,
                                            mcsec_prose_key_result_t *res)
{
    rec_t r;
    mcsec_status_t st;
    memset(&r, 0, sizeof r);
    if (res == NULL)
        return MCSEC_ERR_BAD_INPUT;
    memset(res, 0, sizeof *res);
    if (ue == NULL || msg == NULL || !fqdn_ok(pkmf_fqdn)) {
        say(res->message, "give the PKMF's FQDN and the message");
        st = MCSEC_ERR_BAD_INPUT;
        goto out;
    }
    if ((st = rec_load(ue, pkmf_fqdn, &r)) != MCSEC_OK) {
        if (st == MCSEC_ERR_UNKNOWN_KEY)
            say(res->message, "no PMK from %s: send a Key Request first", pkmf_fqdn);
        else
            say(res->message, "%s", mcsec_keystore_last_error());
        goto out;
    }
    res->key_type_id = r.key_type_id;
    if ((st = take_mikey(ue, &r, msg, len, res)) != MCSEC_OK)
        goto out;
    if ((st = rec_save(ue, &r)) != MCSEC_OK) {
        say(res->message, "%s", mcsec_keystore_last_error());
        goto out;
    }
    res->pruk_id = (r.flags & F_PRUK) ? r.pruk_id : 0;
out:
    mcsec_memzero(&r, sizeof r);
    if (res != NULL)
        res->status = st;
    return st;
}

mcsec_status_t mcsec_prose_ue_relay_id(mcsec_prose_ue_t *ue, const char *pkmf_fqdn, uint8_t *out,
                                       size_t cap, size_t *len)
{
    rec_t r;
    mcsec_prose_relay_id_t id;
    if (ue == NULL || !fqdn_ok(pkmf_fqdn))
        return MCSEC_ERR_BAD_INPUT;
    mcsec_status_t st = rec_load(ue, pkmf_fqdn, &r);
    if (st != MCSEC_OK && st != MCSEC_ERR_UNKNOWN_KEY)
        goto out;
    memset(&id, 0, sizeof id);
    if ((r.flags & F_PRUK) && !(r.flags & F_REFUSED)) {
        id.type = MCSEC_PROSE_RELAY_ID_PRUK;
        id.pruk_id = r.pruk_id;
    } else {
        id.type = MCSEC_PROSE_RELAY_ID_LONG_TERM;
        snprintf(id.uri, sizeof id.uri, "%s", ue->uri);
    }
    st = mcsec_prose_relay_id_encode(&id, out, cap, len);
out:
    mcsec_memzero(&r, sizeof r);
    return st;
}

mcsec_status_t mcsec_prose_ue_pruk_refused(mcsec_prose_ue_t *ue, const char *pkmf_fqdn)
{
    rec_t r;
    if (ue == NULL || !fqdn_ok(pkmf_fqdn))
        return MCSEC_ERR_BAD_INPUT;
    mcsec_status_t st = rec_load(ue, pkmf_fqdn, &r);
    if (st == MCSEC_OK && (r.flags & F_PRUK)) {
        r.flags |= F_REFUSED;
        st = rec_save(ue, &r);
    }
    mcsec_memzero(&r, sizeof r);
    return st;
}

mcsec_status_t mcsec_prose_ue_derive_kd(mcsec_prose_ue_t *ue, const char *pkmf_fqdn,
                                        const uint8_t *param, size_t param_len,
                                        uint8_t kd[MCSEC_PROSE_KD_LEN])
{
    rec_t r;
    if (ue == NULL || !fqdn_ok(pkmf_fqdn) || kd == NULL)
        return MCSEC_ERR_BAD_INPUT;
    mcsec_status_t st = rec_load(ue, pkmf_fqdn, &r);
    if (st == MCSEC_OK && !(r.flags & F_PRUK))
        st = MCSEC_ERR_UNKNOWN_KEY;
    if (st == MCSEC_OK)
        st = mcsec_prose_kd_from_pruk(r.pruk, param, param_len, kd);
    mcsec_memzero(&r, sizeof r);
    return st;
}

uint64_t mcsec_prose_ue_pruk_id(mcsec_prose_ue_t *ue, const char *pkmf_fqdn)
{
    rec_t r;
    uint64_t id = 0;
    if (ue != NULL && fqdn_ok(pkmf_fqdn) && rec_load(ue, pkmf_fqdn, &r) == MCSEC_OK &&
        (r.flags & F_PRUK))
        id = r.pruk_id;
    mcsec_memzero(&r, sizeof r);
    return id;
}
