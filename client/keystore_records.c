/* Handset keystore records: the plaintext encodings of the KMS parameters, key sets and
 * GMKs, their file names, listing, and the choice of a group's current GMK.
 *
 * Plaintexts (all integers big-endian; uri = len16 || octets, 1..1023 octets, no NUL):
 *   kms.params: uri | user_id_format(4) | key_period(8) | offset(8) | Z(257) | KPAK(65)
 *   keys/<period_no, %020u>.keyset: uri | UID(32) | period_no(8) | RSK(257) | SSK(32)
 *       | PVT(65)
 *   gmk/<gmk_id, %08x>.gmk: uri | gmk_id(4) | guk_id(4) | activation(8) | expiry(8)
 *       | status(4) | mikey_timestamp(8) | GMK(16)
 *   device.cred: uri | role(len16 || octets) | device public(40) | device secret(40)
 *       | KMS public(40) | endpoint(len16 || octets, may be empty)
 * The sealed file binds its name, so the period / GMK-ID in the name and the one inside agree
 * unless the store key itself was misused; both are checked anyway. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "mcsec/secmem.h"

/* libmcsec_crypto's constant-time validation hook (crypto/internal.h, tests/ct): a decrypted
 * record's framing (lengths, numbers, URIs) is public; only its key fields are secret. */
void mcsec_ct_declassify(const void *p, size_t len);

/* --- Encoding -------------------------------------------------------------------------- */

typedef struct {
    uint8_t *p;
    size_t len;
} wbuf_t;

static void put(wbuf_t *w, const void *src, size_t n) {
    memcpy(w->p + w->len, src, n);
    w->len += n;
}

static void put_be(wbuf_t *w, uint64_t v, size_t n) {
    for (size_t i = 0; i < n; i++)
        w->p[w->len + i] = (uint8_t)(v >> (8 * (n - 1 - i)));
    w->len += n;
}

static void put_uri(wbuf_t *w, const char *uri) {
    size_t n = strlen(uri);
    put_be(w, n, 2);
    put(w, uri, n);
}

typedef struct {
    const uint8_t *p;
    size_t len, off;
    int bad;
} rbuf_t;

static void get(rbuf_t *r, void *dst, size_t n) {
    if (r->bad || r->len - r->off < n) {
        r->bad = 1;
        memset(dst, 0, n);
        return;
    }
    memcpy(dst, r->p + r->off, n);
    r->off += n;
}

static uint64_t get_be(rbuf_t *r, size_t n) {
    uint8_t b[8];
    uint64_t v = 0;
    get(r, b, n);
    mcsec_ct_declassify(b, n); /* lengths, periods, ids, times: never key material */
    for (size_t i = 0; i < n; i++)
        v = v << 8 | b[i];
    return v;
}

static void get_uri(rbuf_t *r, char out[MCSEC_KEYSTORE_URI_MAX]) {
    size_t n = (size_t)get_be(r, 2);
    if (n == 0 || n >= MCSEC_KEYSTORE_URI_MAX) {
        r->bad = 1;
        n = 0;
    }
    get(r, out, n);
    mcsec_ct_declassify(out, n); /* a URI is an identity, public */
    out[r->bad ? 0 : n] = 0;
    if (!r->bad && memchr(out, 0, n) != NULL) r->bad = 1;
}

/* MCSEC_OK if r was consumed exactly; else a message naming the record. */
static mcsec_status_t get_end(rbuf_t *r, const char *name) {
    if (r->bad || r->off != r->len) {
        mcsec_ks_error("keystore record %s is authentic but malformed: written by another "
                       "version? re-provision it",
                       name);
        return MCSEC_ERR_VERIFY;
    }
    return MCSEC_OK;
}

static int uri_ok(const char *uri, const char *what) {
    size_t n = uri != NULL ? strnlen(uri, MCSEC_KEYSTORE_URI_MAX) : 0;
    if (n == 0 || n >= MCSEC_KEYSTORE_URI_MAX) {
        mcsec_ks_error("%s must be 1 to %d octets, NUL-terminated", what,
                       MCSEC_KEYSTORE_URI_MAX - 1);
        return 0;
    }
    return 1;
}

static void keyset_name(char name[64], uint64_t period_no) {
    snprintf(name, 64, MCSEC_KS_KEYS_DIR "/%020" PRIu64 ".keyset", period_no);
}

static void gmk_name(char name[64], uint32_t gmk_id) {
    snprintf(name, 64, MCSEC_KS_GMK_DIR "/%08" PRIx32 ".gmk", gmk_id);
}

/* Exactly 20 decimal digits + ".keyset" (so temporary files and strays are ignored). */
static int parse_keyset_name(const char *name, uint64_t *value) {
    uint64_t v = 0;
    if (strlen(name) != 27 || strcmp(name + 20, ".keyset") != 0) return 0;
    for (int i = 0; i < 20; i++) {
        if (name[i] < '0' || name[i] > '9') return 0;
        unsigned d = (unsigned)(name[i] - '0');
        if (v > (UINT64_MAX - d) / 10) return 0;
        v = v * 10 + d;
    }
    *value = v;
    return 1;
}

/* Exactly 8 lowercase hex digits + ".gmk". */
static int parse_gmk_name(const char *name, uint64_t *value) {
    uint64_t v = 0;
    if (strlen(name) != 12 || strcmp(name + 8, ".gmk") != 0) return 0;
    for (int i = 0; i < 8; i++) {
        char c = name[i];
        if (c >= '0' && c <= '9')
            v = v << 4 | (uint64_t)(c - '0');
        else if (c >= 'a' && c <= 'f')
            v = v << 4 | (uint64_t)(c - 'a' + 10);
        else
            return 0;
    }
    *value = v;
    return 1;
}

/* Reads a record; a missing file becomes missing_rc with message missing_msg. */
static mcsec_status_t read_record(mcsec_keystore_t *ks, const char *name, uint8_t kind, uint8_t *pt,
                                  size_t *pt_len, mcsec_status_t missing_rc,
                                  const char *missing_msg) {
    mcsec_status_t rc = mcsec_ks_read_record(ks, name, kind, pt, pt_len);
    if (rc == MCSEC_ERR_UNKNOWN_KEY) {
        mcsec_ks_error("%s", missing_msg);
        rc = missing_rc;
    }
    return rc;
}

/* --- KMS parameters -------------------------------------------------------------------- */

mcsec_status_t mcsec_keystore_put_kms(mcsec_keystore_t *ks, const mcsec_kms_params_t *params) {
    mcsec_ks_clear_error();
    uint8_t pt[MCSEC_KS_PLAINTEXT_MAX];
    wbuf_t w = {pt, 0};
    if (ks == NULL || params == NULL) {
        mcsec_ks_error("keystore: no store or KMS parameters given");
        return MCSEC_ERR_BAD_INPUT;
    }
    if (!uri_ok(params->kms_uri, "KMS URI")) return MCSEC_ERR_BAD_INPUT;
    if (params->key_period == 0) {
        mcsec_ks_error("KMS key period must be at least 1 second");
        return MCSEC_ERR_BAD_INPUT;
    }
    put_uri(&w, params->kms_uri);
    put_be(&w, params->user_id_format, 4);
    put_be(&w, params->key_period, 8);
    put_be(&w, params->key_period_offset, 8);
    put(&w, params->Z, sizeof params->Z);
    put(&w, params->kpak, sizeof params->kpak);
    mcsec_status_t rc = mcsec_ks_write_record(ks, MCSEC_KS_KMS_NAME, MCSEC_KS_KIND_KMS, pt, w.len);
    mcsec_memzero(pt, sizeof pt);
    return rc;
}

mcsec_status_t mcsec_keystore_get_kms(mcsec_keystore_t *ks, mcsec_kms_params_t *params) {
    mcsec_ks_clear_error();
    uint8_t pt[MCSEC_KS_PLAINTEXT_MAX];
    size_t len = 0;
    if (params != NULL) memset(params, 0, sizeof *params);
    if (ks == NULL || params == NULL) {
        mcsec_ks_error("keystore: no store or output given");
        return MCSEC_ERR_BAD_INPUT;
    }
    mcsec_status_t rc =
        read_record(ks, MCSEC_KS_KMS_NAME, MCSEC_KS_KIND_KMS, pt, &len, MCSEC_ERR_UNKNOWN_KEY,
                    "the keystore holds no KMS parameters: import the KmsInit "
                    "document first");
    if (rc != MCSEC_OK) goto out;
    rbuf_t r = {pt, len, 0, 0};
    get_uri(&r, params->kms_uri);
    params->user_id_format = (uint32_t)get_be(&r, 4);
    params->key_period = get_be(&r, 8);
    params->key_period_offset = get_be(&r, 8);
    get(&r, params->Z, sizeof params->Z);
    get(&r, params->kpak, sizeof params->kpak);
    rc = get_end(&r, MCSEC_KS_KMS_NAME);
out:
    if (rc != MCSEC_OK) memset(params, 0, sizeof *params);
    mcsec_memzero(pt, sizeof pt);
    return rc;
}

/* --- Device credential ---------------------------------------------------------------- */

static int z85_ok(const char *k) {
    if (strlen(k) != MCSEC_KEYSTORE_Z85_LEN) return 0;
    for (const char *c = k; *c; c++)
        if (*c <= 0x20 || *c >= 0x7f || *c == '"' || *c == '\'' || *c == ',' || *c == ';' ||
            *c == '\\' || *c == '_' || *c == '`' || *c == '|' || *c == '~')
            return 0;
    return 1;
}

mcsec_status_t mcsec_keystore_put_device(mcsec_keystore_t *ks, const mcsec_device_cred_t *cred) {
    mcsec_ks_clear_error();
    uint8_t pt[MCSEC_KS_PLAINTEXT_MAX];
    wbuf_t w = {pt, 0};
    if (ks == NULL || cred == NULL) {
        mcsec_ks_error("keystore: no store or credential given");
        return MCSEC_ERR_BAD_INPUT;
    }
    if (!uri_ok(cred->user_uri, "device URI")) return MCSEC_ERR_BAD_INPUT;
    size_t rl = strnlen(cred->role, sizeof cred->role),
           el = strnlen(cred->kms_endpoint, sizeof cred->kms_endpoint);
    if (rl == 0 || rl == sizeof cred->role || el == sizeof cred->kms_endpoint ||
        !z85_ok(cred->device_public) || !z85_ok(cred->device_secret) ||
        !z85_ok(cred->kms_public)) {
        mcsec_ks_error("device credential: empty role, endpoint too long, or a CURVE key not of "
                       "40 Z85 characters");
        return MCSEC_ERR_BAD_INPUT;
    }
    put_uri(&w, cred->user_uri);
    put_be(&w, rl, 2);
    put(&w, cred->role, rl);
    put(&w, cred->device_public, MCSEC_KEYSTORE_Z85_LEN);
    put(&w, cred->device_secret, MCSEC_KEYSTORE_Z85_LEN);
    put(&w, cred->kms_public, MCSEC_KEYSTORE_Z85_LEN);
    put_be(&w, el, 2);
    put(&w, cred->kms_endpoint, el);
    mcsec_status_t rc =
        mcsec_ks_write_record(ks, MCSEC_KS_DEVICE_NAME, MCSEC_KS_KIND_DEVICE, pt, w.len);
    mcsec_memzero(pt, sizeof pt);
    return rc;
}

/* A len16-prefixed string into out[cap] (NUL-terminated); bad if it does not fit or holds a
 * NUL (the put writes strnlen octets: a NUL inside would be cut off silently). */
static void get_str(rbuf_t *r, char *out, size_t cap) {
    size_t n = (size_t)get_be(r, 2);
    if (n >= cap) {
        r->bad = 1;
        out[0] = 0;
        return;
    }
    get(r, out, n);
    out[n] = 0;
    if (!r->bad && memchr(out, 0, n) != NULL) r->bad = 1;
}

mcsec_status_t mcsec_keystore_get_device(mcsec_keystore_t *ks, mcsec_device_cred_t *out) {
    mcsec_ks_clear_error();
    uint8_t pt[MCSEC_KS_PLAINTEXT_MAX];
    size_t len = 0;
    if (out != NULL) memset(out, 0, sizeof *out);
    if (ks == NULL || out == NULL) {
        mcsec_ks_error("keystore: no store or output given");
        return MCSEC_ERR_BAD_INPUT;
    }
    mcsec_status_t rc =
        read_record(ks, MCSEC_KS_DEVICE_NAME, MCSEC_KS_KIND_DEVICE, pt, &len,
                    MCSEC_ERR_UNKNOWN_KEY,
                    "the keystore holds no KMS credential: provision it from a bundle with "
                    "`mcsec provision`");
    if (rc != MCSEC_OK) goto out;
    rbuf_t r = {pt, len, 0, 0};
    get_uri(&r, out->user_uri);
    get_str(&r, out->role, sizeof out->role);
    get(&r, out->device_public, MCSEC_KEYSTORE_Z85_LEN);
    get(&r, out->device_secret, MCSEC_KEYSTORE_Z85_LEN);
    get(&r, out->kms_public, MCSEC_KEYSTORE_Z85_LEN);
    get_str(&r, out->kms_endpoint, sizeof out->kms_endpoint);
    /* What the put refuses is malformed here too. */
    if (out->role[0] == 0 || !z85_ok(out->device_public) || !z85_ok(out->device_secret) ||
        !z85_ok(out->kms_public))
        r.bad = 1;
    rc = get_end(&r, MCSEC_KS_DEVICE_NAME);
out:
    if (rc != MCSEC_OK) mcsec_memzero(out, sizeof *out);
    mcsec_memzero(pt, sizeof pt);
    return rc;
}

/* --- Key sets -------------------------------------------------------------------------- */

mcsec_status_t mcsec_keystore_put_keyset(mcsec_keystore_t *ks, const mcsec_keyset_t *keyset) {
    mcsec_ks_clear_error();
    uint8_t pt[MCSEC_KS_PLAINTEXT_MAX];
    char name[64];
    wbuf_t w = {pt, 0};
    if (ks == NULL || keyset == NULL) {
        mcsec_ks_error("keystore: no store or key set given");
        return MCSEC_ERR_BAD_INPUT;
    }
    if (!uri_ok(keyset->user_uri, "user URI")) return MCSEC_ERR_BAD_INPUT;
    put_uri(&w, keyset->user_uri);
    put(&w, keyset->uid, sizeof keyset->uid);
    put_be(&w, keyset->period_no, 8);
    put(&w, keyset->rsk, sizeof keyset->rsk);
    put(&w, keyset->ssk, sizeof keyset->ssk);
    put(&w, keyset->pvt, sizeof keyset->pvt);
    keyset_name(name, keyset->period_no);
    mcsec_status_t rc = mcsec_ks_write_record(ks, name, MCSEC_KS_KIND_KEYSET, pt, w.len);
    mcsec_memzero(pt, sizeof pt);
    return rc;
}

mcsec_status_t mcsec_keystore_get_keyset(mcsec_keystore_t *ks, uint64_t period_no,
                                         mcsec_keyset_t *out) {
    mcsec_ks_clear_error();
    uint8_t pt[MCSEC_KS_PLAINTEXT_MAX];
    char name[64], missing[128];
    size_t len = 0;
    if (out != NULL) memset(out, 0, sizeof *out);
    if (ks == NULL || out == NULL) {
        mcsec_ks_error("keystore: no store or output given");
        return MCSEC_ERR_BAD_INPUT;
    }
    keyset_name(name, period_no);
    snprintf(missing, sizeof missing,
             "no key set for key period %" PRIu64 ": provision keys for that period", period_no);
    mcsec_status_t rc =
        read_record(ks, name, MCSEC_KS_KIND_KEYSET, pt, &len, MCSEC_ERR_KEY_PERIOD, missing);
    if (rc != MCSEC_OK) goto out;
    rbuf_t r = {pt, len, 0, 0};
    get_uri(&r, out->user_uri);
    get(&r, out->uid, sizeof out->uid);
    out->period_no = get_be(&r, 8);
    get(&r, out->rsk, sizeof out->rsk);
    get(&r, out->ssk, sizeof out->ssk);
    get(&r, out->pvt, sizeof out->pvt);
    if ((rc = get_end(&r, name)) == MCSEC_OK && out->period_no != period_no) {
        mcsec_ks_error("keystore record %s holds key period %" PRIu64 ": re-provision it", name,
                       out->period_no);
        rc = MCSEC_ERR_VERIFY;
    }
out:
    if (rc != MCSEC_OK) mcsec_memzero(out, sizeof *out);
    mcsec_memzero(pt, sizeof pt);
    return rc;
}

/* Copies a sorted list out under the cap convention of the public header. */
static mcsec_status_t list_out(mcsec_status_t rc, uint64_t *v, size_t n, void *dst, size_t elem,
                               size_t cap, size_t *count) {
    if (rc == MCSEC_OK) {
        *count = n;
        for (size_t i = 0; i < n && i < cap; i++) {
            if (elem == sizeof(uint64_t))
                ((uint64_t *)dst)[i] = v[i];
            else
                ((uint32_t *)dst)[i] = (uint32_t)v[i];
        }
        if (n > cap) {
            mcsec_ks_error("keystore list: %zu entries, room for %zu", n, cap);
            rc = MCSEC_ERR_BAD_LENGTH;
        }
    }
    free(v);
    return rc;
}

mcsec_status_t mcsec_keystore_list_periods(mcsec_keystore_t *ks, uint64_t *periods, size_t cap,
                                           size_t *count) {
    mcsec_ks_clear_error();
    uint64_t *v = NULL;
    size_t n = 0;
    if (ks == NULL || count == NULL || (periods == NULL && cap > 0)) {
        mcsec_ks_error("keystore: no store or output given");
        return MCSEC_ERR_BAD_INPUT;
    }
    *count = 0;
    mcsec_status_t rc = mcsec_ks_list(ks, MCSEC_KS_KEYS_DIR, parse_keyset_name, &v, &n);
    return list_out(rc, v, n, periods, sizeof *periods, cap, count);
}

/* --- GMKs ------------------------------------------------------------------------------ */

mcsec_status_t mcsec_keystore_put_gmk(mcsec_keystore_t *ks, const mcsec_gmk_record_t *gmk) {
    mcsec_ks_clear_error();
    uint8_t pt[MCSEC_KS_PLAINTEXT_MAX];
    char name[64];
    wbuf_t w = {pt, 0};
    if (ks == NULL || gmk == NULL) {
        mcsec_ks_error("keystore: no store or GMK given");
        return MCSEC_ERR_BAD_INPUT;
    }
    if (!uri_ok(gmk->group_uri, "group URI")) return MCSEC_ERR_BAD_INPUT;
    if (mcsec_purpose_tag(gmk->gmk_id) != MCSEC_PURPOSE_GMK) {
        mcsec_ks_error("key id %08" PRIx32 " has purpose tag %u, not GMK (0)", gmk->gmk_id,
                       mcsec_purpose_tag(gmk->gmk_id));
        return MCSEC_ERR_PURPOSE;
    }
    put_uri(&w, gmk->group_uri);
    put_be(&w, gmk->gmk_id, 4);
    put_be(&w, gmk->guk_id, 4);
    put_be(&w, gmk->activation, 8);
    put_be(&w, gmk->expiry, 8);
    put_be(&w, gmk->status, 4);
    put_be(&w, gmk->mikey_timestamp, 8);
    put(&w, gmk->gmk, sizeof gmk->gmk);
    gmk_name(name, gmk->gmk_id);
    mcsec_status_t rc = mcsec_ks_write_record(ks, name, MCSEC_KS_KIND_GMK, pt, w.len);
    mcsec_memzero(pt, sizeof pt);
    return rc;
}

mcsec_status_t mcsec_keystore_get_gmk(mcsec_keystore_t *ks, uint32_t gmk_id,
                                      mcsec_gmk_record_t *out) {
    mcsec_ks_clear_error();
    uint8_t pt[MCSEC_KS_PLAINTEXT_MAX];
    char name[64], missing[96];
    size_t len = 0;
    if (out != NULL) memset(out, 0, sizeof *out);
    if (ks == NULL || out == NULL) {
        mcsec_ks_error("keystore: no store or output given");
        return MCSEC_ERR_BAD_INPUT;
    }
    gmk_name(name, gmk_id);
    snprintf(missing, sizeof missing, "no GMK with GMK-ID %08" PRIx32 " in the keystore", gmk_id);
    mcsec_status_t rc =
        read_record(ks, name, MCSEC_KS_KIND_GMK, pt, &len, MCSEC_ERR_UNKNOWN_KEY, missing);
    if (rc != MCSEC_OK) goto out;
    rbuf_t r = {pt, len, 0, 0};
    get_uri(&r, out->group_uri);
    out->gmk_id = (uint32_t)get_be(&r, 4);
    out->guk_id = (uint32_t)get_be(&r, 4);
    out->activation = get_be(&r, 8);
    out->expiry = get_be(&r, 8);
    out->status = (uint32_t)get_be(&r, 4);
    out->mikey_timestamp = get_be(&r, 8);
    get(&r, out->gmk, sizeof out->gmk);
    if ((rc = get_end(&r, name)) == MCSEC_OK && out->gmk_id != gmk_id) {
        mcsec_ks_error("keystore record %s holds GMK-ID %08" PRIx32 ": re-provision it", name,
                       out->gmk_id);
        rc = MCSEC_ERR_VERIFY;
    }
out:
    if (rc != MCSEC_OK) mcsec_memzero(out, sizeof *out);
    mcsec_memzero(pt, sizeof pt);
    return rc;
}

mcsec_status_t mcsec_keystore_list_gmks(mcsec_keystore_t *ks, uint32_t *gmk_ids, size_t cap,
                                        size_t *count) {
    mcsec_ks_clear_error();
    uint64_t *v = NULL;
    size_t n = 0;
    if (ks == NULL || count == NULL || (gmk_ids == NULL && cap > 0)) {
        mcsec_ks_error("keystore: no store or output given");
        return MCSEC_ERR_BAD_INPUT;
    }
    *count = 0;
    mcsec_status_t rc = mcsec_ks_list(ks, MCSEC_KS_GMK_DIR, parse_gmk_name, &v, &n);
    return list_out(rc, v, n, gmk_ids, sizeof *gmk_ids, cap, count);
}

mcsec_status_t mcsec_keystore_current_gmk(mcsec_keystore_t *ks, const char *group_uri, uint64_t now,
                                          mcsec_gmk_record_t *out) {
    mcsec_ks_clear_error();
    mcsec_status_t rc;
    mcsec_gmk_record_t rec;
    uint64_t *ids = NULL;
    size_t n = 0;
    int seen = 0, found = 0;
    if (out != NULL) memset(out, 0, sizeof *out);
    if (ks == NULL || out == NULL) {
        mcsec_ks_error("keystore: no store or output given");
        return MCSEC_ERR_BAD_INPUT;
    }
    if (!uri_ok(group_uri, "group URI")) return MCSEC_ERR_BAD_INPUT;
    if ((rc = mcsec_ks_list(ks, MCSEC_KS_GMK_DIR, parse_gmk_name, &ids, &n)) != MCSEC_OK) goto out;
    for (size_t i = 0; i < n; i++) {
        if ((rc = mcsec_keystore_get_gmk(ks, (uint32_t)ids[i], &rec)) != MCSEC_OK) goto out;
        if (strcmp(rec.group_uri, group_uri) != 0) continue;
        seen = 1;
        if ((rec.status & MCSEC_GMK_STATUS_REVOKED) != 0 || rec.activation > now ||
            (rec.expiry != 0 && now >= rec.expiry))
            continue;
        /* ids ascend, so on equal timestamps the later (higher) GMK-ID wins. */
        if (!found || rec.mikey_timestamp >= out->mikey_timestamp) {
            *out = rec;
            found = 1;
        }
    }
    if (found) {
        rc = MCSEC_OK;
    } else if (seen) {
        mcsec_ks_error("no GMK of group %s is valid now (all revoked, expired or not yet "
                       "active): wait for the group manager to distribute a new one",
                       group_uri);
        rc = MCSEC_ERR_EXPIRED;
    } else {
        mcsec_ks_error("no GMK for group %s in the keystore", group_uri);
        rc = MCSEC_ERR_UNKNOWN_KEY;
    }
out:
    if (rc != MCSEC_OK) mcsec_memzero(out, sizeof *out);
    mcsec_memzero(&rec, sizeof rec);
    free(ids);
    return rc;
}
