/* The KMS this manager serves and the group identities' keys: the KMS certificate (from the
 * first key import or a bundle), the KMS credential (from a group manager bundle), the group
 * key sets per key period (imported offline or fetched from the KMS), the shared SAKKE sender
 * and the cached ECCSI signers of the group identities.
 *
 * Sealed records (gm_seal, docs/protocol.md "Group Manager service"):
 *   meta kms:      len16 | KMS URI | key period (8) | offset (8) | Z (257) | KPAK (65)
 *   meta kmscred:  len16 | own URI | device public (40) | device secret (40) | KMS public (40)
 *                  | len16 | endpoint
 *   keysets row:   UID (32) | SSK (32) | PVT (65), AAD extra = period (8). The RSK of a group
 *                  identity is not kept: the manager only signs. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "mcsec/bundle.h"
#include "mcsec/kmsclient.h"
#include "mcsec/kmsxml.h"
#include "mcsec/secmem.h"

#define KMS_REC_MAX (2 + MCSEC_GROUPMGR_URI_MAX + 16 + MCSEC_SAKKE_POINT_LEN + MCSEC_ECCSI_POINT_LEN)
#define CRED_REC_MAX (2 + MCSEC_GROUPMGR_URI_MAX + 3 * 40 + 2 + MCSEC_GROUPMGR_URI_MAX)
#define KEYSET_REC_LEN (MCSEC_UID_LEN + MCSEC_ECCSI_SCALAR_LEN + MCSEC_ECCSI_POINT_LEN)
#define MAX_SETS 8

static void put64(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--, v >>= 8)
        p[i] = (uint8_t)v;
}

static uint64_t get64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return v;
}

/* len16 | string */
static size_t put_str(uint8_t *p, const char *s)
{
    size_t n = strlen(s);
    p[0] = (uint8_t)(n >> 8);
    p[1] = (uint8_t)n;
    memcpy(p + 2, s, n);
    return n + 2;
}

static int get_str(const uint8_t **p, const uint8_t *end, char *out, size_t cap)
{
    if (end - *p < 2)
        return 0;
    size_t n = (size_t)(*p)[0] << 8 | (*p)[1];
    if (n >= cap || (size_t)(end - *p - 2) < n)
        return 0;
    memcpy(out, *p + 2, n);
    out[n] = 0;
    *p += 2 + n;
    return 1;
}

static size_t kms_encode(const gm_kms_t *k, uint8_t *p)
{
    size_t n = put_str(p, k->kms_uri);
    put64(p + n, k->key_period);
    put64(p + n + 8, k->key_offset);
    n += 16;
    memcpy(p + n, k->Z, MCSEC_SAKKE_POINT_LEN);
    n += MCSEC_SAKKE_POINT_LEN;
    memcpy(p + n, k->kpak, MCSEC_ECCSI_POINT_LEN);
    return n + MCSEC_ECCSI_POINT_LEN;
}

static int kms_decode(const uint8_t *p, size_t len, gm_kms_t *k)
{
    const uint8_t *end = p + len;
    if (!get_str(&p, end, k->kms_uri, sizeof k->kms_uri) ||
        (size_t)(end - p) != 16 + MCSEC_SAKKE_POINT_LEN + MCSEC_ECCSI_POINT_LEN)
        return 0;
    k->key_period = get64(p);
    k->key_offset = get64(p + 8);
    memcpy(k->Z, p + 16, MCSEC_SAKKE_POINT_LEN);
    memcpy(k->kpak, p + 16 + MCSEC_SAKKE_POINT_LEN, MCSEC_ECCSI_POINT_LEN);
    return k->key_period > 0;
}

static size_t cred_encode(const gm_cred_t *c, uint8_t *p)
{
    size_t n = put_str(p, c->uri);
    memcpy(p + n, c->device_public, 40);
    memcpy(p + n + 40, c->device_secret, 40);
    memcpy(p + n + 80, c->kms_public, 40);
    n += 120;
    return n + put_str(p + n, c->endpoint);
}

static int cred_decode(const uint8_t *p, size_t len, gm_cred_t *c)
{
    const uint8_t *end = p + len;
    if (!get_str(&p, end, c->uri, sizeof c->uri) || end - p < 120)
        return 0;
    memcpy(c->device_public, p, 40);
    memcpy(c->device_secret, p + 40, 40);
    memcpy(c->kms_public, p + 80, 40);
    c->device_public[40] = c->device_secret[40] = c->kms_public[40] = 0;
    p += 120;
    return get_str(&p, end, c->endpoint, sizeof c->endpoint) && p == end;
}

mcsec_status_t gm_keys_load(mcsec_groupmgr_t *gm)
{
    uint8_t rec[GM_SEALED_OVERHEAD + CRED_REC_MAX + KMS_REC_MAX], pt[CRED_REC_MAX + KMS_REC_MAX];
    size_t len = 0;
    mcsec_status_t rc = gm->ops->meta_get(gm->store, "kms", rec, sizeof rec, &len);
    if (rc == MCSEC_OK) {
        if ((rc = gm_unseal(gm, "kms", "params", NULL, 0, rec, len, pt)) != MCSEC_OK)
            goto out;
        if (!kms_decode(pt, len - GM_SEALED_OVERHEAD, &gm->kms)) {
            gm_error("the KMS record of the Group Manager store is damaged: restore it from a "
                     "backup");
            rc = MCSEC_ERR_VERIFY;
            goto out;
        }
        gm->has_kms = 1;
    } else if (rc != MCSEC_ERR_UNKNOWN_KEY) {
        goto out;
    }
    rc = gm->ops->meta_get(gm->store, "kmscred", rec, sizeof rec, &len);
    if (rc == MCSEC_OK) {
        if ((rc = gm_unseal(gm, "kmscred", "credential", NULL, 0, rec, len, pt)) != MCSEC_OK)
            goto out;
        rc = MCSEC_ERR_NOMEM;
        if ((gm->cred = mcsec_secure_alloc(sizeof *gm->cred)) == NULL)
            goto out;
        if (!cred_decode(pt, len - GM_SEALED_OVERHEAD, gm->cred)) {
            gm_error("the KMS credential record of the Group Manager store is damaged: load the "
                     "bundle again");
            rc = MCSEC_ERR_VERIFY;
            goto out;
        }
    } else if (rc != MCSEC_ERR_UNKNOWN_KEY) {
        goto out;
    }
    rc = MCSEC_OK;
out:
    mcsec_memzero(pt, sizeof pt);
    mcsec_memzero(rec, sizeof rec);
    return rc;
}

mcsec_status_t gm_kms_get(mcsec_groupmgr_t *gm, gm_kms_t *out)
{
    pthread_mutex_lock(&gm->mu);
    int has = gm->has_kms;
    if (has)
        *out = gm->kms;
    pthread_mutex_unlock(&gm->mu);
    if (!has) {
        gm_error("no KMS certificate yet: import a group's keys (`mcsec-groupmgr group add "
                 "--kms-init F --key-prov F`) or load a bundle (`mcsec-groupmgr init --bundle`)");
        return MCSEC_ERR_UNKNOWN_KEY;
    }
    return MCSEC_OK;
}

mcsec_status_t gm_sakke(mcsec_groupmgr_t *gm, const mcsec_sakke_sender_t **out)
{
    mcsec_status_t rc = MCSEC_OK;
    pthread_mutex_lock(&gm->mu);
    if (!gm->has_kms) {
        rc = MCSEC_ERR_UNKNOWN_KEY;
        gm_error("no KMS certificate yet: import a group's keys first");
    } else if (gm->sakke == NULL && (rc = mcsec_sakke_sender_new(&gm->sakke, gm->kms.Z)) !=
                                        MCSEC_OK) {
        gm_error("the KMS public key Z does not work (%s): re-import the KMS certificate",
                 mcsec_strerror(rc));
    }
    *out = gm->sakke;
    pthread_mutex_unlock(&gm->mu);
    return rc;
}

/* The KMS of init: the one already known, or (first time) recorded as part of the caller's
 * transaction on s. */
static mcsec_status_t adopt_kms(mcsec_groupmgr_t *gm, gm_store_t *s, const mcsec_kms_init_t *init,
                                int *adopted, gm_kms_t *k)
{
    memset(k, 0, sizeof *k);
    *adopted = 0;
    if (init->user_id_format != 2 || init->parameter_set != 1) {
        gm_error("the KMS certificate uses UserIdFormat %u / ParameterSet %u: only 2 / 1 are "
                 "supported",
                 init->user_id_format, init->parameter_set);
        return MCSEC_ERR_UNSUPPORTED;
    }
    snprintf(k->kms_uri, sizeof k->kms_uri, "%s", init->kms_uri);
    k->key_period = init->key_period;
    k->key_offset = init->key_offset;
    memcpy(k->Z, init->Z, sizeof k->Z);
    memcpy(k->kpak, init->kpak, sizeof k->kpak);
    pthread_mutex_lock(&gm->mu);
    int has = gm->has_kms;
    int same = has && strcmp(gm->kms.kms_uri, k->kms_uri) == 0 &&
               gm->kms.key_period == k->key_period && gm->kms.key_offset == k->key_offset &&
               memcmp(gm->kms.Z, k->Z, sizeof k->Z) == 0 &&
               memcmp(gm->kms.kpak, k->kpak, sizeof k->kpak) == 0;
    pthread_mutex_unlock(&gm->mu);
    if (has && !same) {
        gm_error("the KMS certificate of %s differs from the one this Group Manager serves "
                 "(%s): one Group Manager serves the groups of one KMS",
                 init->kms_uri, gm->kms.kms_uri);
        return MCSEC_ERR_POLICY;
    }
    if (has)
        return MCSEC_OK;
    uint8_t pt[KMS_REC_MAX], rec[GM_SEALED_OVERHEAD + KMS_REC_MAX];
    size_t n = kms_encode(k, pt);
    mcsec_status_t rc = gm_seal(gm, "kms", "params", NULL, 0, pt, n, rec);
    if (rc == MCSEC_OK)
        rc = gm->ops->meta_put(s, "kms", rec, n + GM_SEALED_OVERHEAD);
    if (rc == MCSEC_OK)
        *adopted = 1;
    return rc;
}

static void install_kms(mcsec_groupmgr_t *gm, const gm_kms_t *k)
{
    pthread_mutex_lock(&gm->mu);
    if (!gm->has_kms) {
        gm->kms = *k;
        gm->has_kms = 1;
    }
    pthread_mutex_unlock(&gm->mu);
}

/* --- Group key sets ------------------------------------------------------------------------- */

/* The key-set functions on a given store connection: the public ones use the handle's, the
 * signer lookup (maybe on the service's background thread) its caller's. */
static mcsec_status_t set_keys(mcsec_groupmgr_t *gm, gm_store_t *s, const char *group_uri,
                               const mcsec_kms_init_t *init, const mcsec_kms_keyset_t *sets,
                               size_t n)
{
    gm_group_row_t g;
    gm_kms_t k;
    uint8_t pt[KEYSET_REC_LEN], rec[GM_SEALED_OVERHEAD + KEYSET_REC_LEN], per[8];
    int adopted = 0, in_tx = 0;
    mcsec_status_t rc;
    if (gm == NULL || init == NULL || sets == NULL || n == 0 || !gm_uri_ok(group_uri)) {
        gm_error("no group, KMS certificate or key sets given");
        return MCSEC_ERR_BAD_INPUT;
    }
    if ((rc = gm->ops->group_get(s, group_uri, &g)) != MCSEC_OK) {
        if (rc == MCSEC_ERR_UNKNOWN_KEY)
            gm_error("no group %s: add it first (`mcsec-groupmgr group add`)", group_uri);
        return rc;
    }
    for (size_t i = 0; i < n; i++) {
        if (sets[i].revoked) {
            gm_error("the key set of %s for key period %" PRIu64 " is marked revoked: ask the "
                     "KMS for current keys",
                     group_uri, sets[i].key_period_no);
            return MCSEC_ERR_EXPIRED;
        }
        rc = mcsec_kmsxml_check_keyset(init, &sets[i], group_uri);
        if (rc != MCSEC_OK) {
            gm_error("the key set for key period %" PRIu64 " is not %s's under KMS %s (%s): "
                     "give that group's KmsKeyProv and its KMS's KmsInit",
                     sets[i].key_period_no, group_uri, init->kms_uri, mcsec_strerror(rc));
            return rc;
        }
    }
    if ((rc = gm->ops->begin(s)) != MCSEC_OK)
        return rc;
    in_tx = 1;
    if ((rc = adopt_kms(gm, s, init, &adopted, &k)) != MCSEC_OK)
        goto out;
    for (size_t i = 0; i < n; i++) {
        memcpy(pt, sets[i].uid, MCSEC_UID_LEN);
        memcpy(pt + MCSEC_UID_LEN, sets[i].ssk, MCSEC_ECCSI_SCALAR_LEN);
        memcpy(pt + MCSEC_UID_LEN + MCSEC_ECCSI_SCALAR_LEN, sets[i].pvt, MCSEC_ECCSI_POINT_LEN);
        put64(per, sets[i].key_period_no);
        if ((rc = gm_seal(gm, "keyset", group_uri, per, 8, pt, KEYSET_REC_LEN, rec)) != MCSEC_OK ||
            (rc = gm->ops->keyset_put(s, group_uri, sets[i].key_period_no, rec,
                                      sizeof rec)) != MCSEC_OK)
            goto out;
    }
    if ((rc = gm->ops->commit(s)) != MCSEC_OK)
        goto out;
    in_tx = 0;
    if (adopted)
        install_kms(gm, &k);
out:
    if (in_tx)
        gm->ops->rollback(s);
    mcsec_memzero(pt, sizeof pt);
    return rc;
}

mcsec_status_t mcsec_groupmgr_group_set_keys(mcsec_groupmgr_t *gm, const char *group_uri,
                                             const mcsec_kms_init_t *init,
                                             const mcsec_kms_keyset_t *sets, size_t n)
{
    gm_clear_error();
    if (gm == NULL)
        return MCSEC_ERR_BAD_INPUT;
    return set_keys(gm, gm->store, group_uri, init, sets, n);
}

static mcsec_status_t import_keys(mcsec_groupmgr_t *gm, gm_store_t *s, const char *group_uri,
                                  const char *init_xml, size_t init_len, const char *keyprov_xml,
                                  size_t keyprov_len)
{
    mcsec_kms_response_hdr_t hdr;
    mcsec_kms_init_t init;
    mcsec_kms_keyset_t *sets = calloc(MAX_SETS, sizeof *sets);
    size_t n = 0;
    mcsec_status_t rc = MCSEC_ERR_NOMEM;
    gm_clear_error();
    if (sets == NULL)
        return rc;
    if (init_xml == NULL || keyprov_xml == NULL) {
        rc = MCSEC_ERR_BAD_INPUT;
        gm_error("give both the KmsInit and the KmsKeyProv document");
        goto out;
    }
    if ((rc = mcsec_kmsxml_parse_init(init_xml, init_len, &hdr, &init)) != MCSEC_OK) {
        gm_error("the KmsInit document is not valid TS 33.180 XML (%s): give the KMS's "
                 "certificate (`mcsec-kms cert`)",
                 mcsec_strerror(rc));
        goto out;
    }
    if ((rc = mcsec_kmsxml_parse_keyprov(keyprov_xml, keyprov_len, &hdr, sets, MAX_SETS, &n)) !=
        MCSEC_OK) {
        gm_error("the KmsKeyProv document is not valid TS 33.180 XML (%s): give the group's key "
                 "sets (`mcsec-kms issue --uri GROUP`)",
                 mcsec_strerror(rc));
        goto out;
    }
    rc = set_keys(gm, s, group_uri, &init, sets, n);
out:
    mcsec_kms_keyset_wipe(sets, MAX_SETS);
    free(sets);
    return rc;
}

mcsec_status_t mcsec_groupmgr_group_import_keys(mcsec_groupmgr_t *gm, const char *group_uri,
                                                const char *init_xml, size_t init_len,
                                                const char *keyprov_xml, size_t keyprov_len)
{
    gm_clear_error();
    if (gm == NULL)
        return MCSEC_ERR_BAD_INPUT;
    return import_keys(gm, gm->store, group_uri, init_xml, init_len, keyprov_xml, keyprov_len);
}

static mcsec_status_t fetch_keys(mcsec_groupmgr_t *gm, gm_store_t *s, const char *group_uri,
                                 uint64_t at)
{
    mcsec_kms_fetch_result_t res;
    gm_cred_t *c = NULL;
    mcsec_status_t rc = MCSEC_ERR_NOMEM;
    memset(&res, 0, sizeof res);
    gm_clear_error();
    if (gm == NULL || !gm_uri_ok(group_uri)) {
        gm_error("no group given");
        return MCSEC_ERR_BAD_INPUT;
    }
    if ((c = mcsec_secure_alloc(sizeof *c)) == NULL)
        return rc;
    pthread_mutex_lock(&gm->mu);
    int has = gm->cred != NULL;
    if (has)
        *c = *gm->cred;
    pthread_mutex_unlock(&gm->mu);
    if (!has || c->endpoint[0] == 0) {
        gm_error(!has ? "this Group Manager has no KMS credential: load a group manager bundle "
                        "(`mcsec-groupmgr init --bundle F --code C`) or import the keys offline "
                        "(--kms-init, --key-prov)"
                      : "the KMS credential names no endpoint: import the keys offline");
        rc = MCSEC_ERR_UNKNOWN_KEY;
        goto out;
    }
    mcsec_kms_fetch_config_t cfg = {.endpoint = c->endpoint,
                                    .kms_public = c->kms_public,
                                    .device_public = c->device_public,
                                    .device_secret = c->device_secret,
                                    .user_uri = group_uri,
                                    .at_time = at,
                                    .timeout_ms = 3000,
                                    .attempts = 3};
    rc = mcsec_kms_fetch(&cfg, &res);
    if (rc != MCSEC_OK) {
        gm_error("cannot fetch the keys of %s from the KMS: %s", group_uri, res.message);
        goto out;
    }
    rc = import_keys(gm, s, group_uri, res.init_xml, res.init_len, res.keyprov_xml,
                     res.keyprov_len);
out:
    mcsec_kms_fetch_result_free(&res);
    mcsec_secure_free(c);
    return rc;
}

mcsec_status_t mcsec_groupmgr_group_fetch_keys(mcsec_groupmgr_t *gm, const char *group_uri,
                                               uint64_t at)
{
    gm_clear_error();
    if (gm == NULL)
        return MCSEC_ERR_BAD_INPUT;
    return fetch_keys(gm, gm->store, group_uri, at);
}

mcsec_status_t mcsec_groupmgr_load_bundle(mcsec_groupmgr_t *gm, const char *path, const char *code)
{
    mcsec_bundle_t *b = NULL;
    mcsec_kms_response_hdr_t hdr;
    mcsec_kms_init_t init;
    gm_cred_t *c = NULL;
    gm_kms_t k;
    uint8_t pt[CRED_REC_MAX], rec[GM_SEALED_OVERHEAD + CRED_REC_MAX];
    int adopted = 0, in_tx = 0;
    mcsec_status_t rc;
    gm_clear_error();
    if (gm == NULL || path == NULL || code == NULL) {
        gm_error("give the bundle file and its one-time code");
        return MCSEC_ERR_BAD_INPUT;
    }
    if ((rc = mcsec_bundle_open(path, code, &b)) != MCSEC_OK) {
        gm_error(rc == MCSEC_ERR_PASSPHRASE ? "wrong code for bundle %s (or the file was "
                                              "modified): check the code the KMS printed"
                 : rc == MCSEC_ERR_BAD_INPUT ? "the code for bundle %s is malformed: give the "
                                               "26 characters the KMS printed"
                                             : "cannot open bundle %s: %s",
                 path, mcsec_strerror(rc));
        return rc;
    }
    if (strcmp(b->role, "groupmgr") != 0) {
        gm_error("bundle %s is a %s's, not a group manager's: enrol with `mcsec-kms enroll "
                 "--role groupmgr --group G ...`",
                 path, b->role);
        rc = MCSEC_ERR_POLICY;
        goto out;
    }
    if ((rc = mcsec_kmsxml_parse_init(b->init_xml, b->init_len, &hdr, &init)) != MCSEC_OK) {
        gm_error("the KmsInit in bundle %s is not valid: ask the KMS for a new bundle", path);
        goto out;
    }
    rc = MCSEC_ERR_NOMEM;
    if ((c = mcsec_secure_alloc(sizeof *c)) == NULL)
        goto out;
    snprintf(c->uri, sizeof c->uri, "%s", b->user_uri);
    memcpy(c->device_public, b->device_public, 41);
    memcpy(c->device_secret, b->device_secret, 41);
    memcpy(c->kms_public, b->kms_public, 41);
    snprintf(c->endpoint, sizeof c->endpoint, "%s", b->kms_endpoint != NULL ? b->kms_endpoint : "");
    size_t n = cred_encode(c, pt);
    if ((rc = gm_seal(gm, "kmscred", "credential", NULL, 0, pt, n, rec)) != MCSEC_OK)
        goto out;
    if ((rc = gm->ops->begin(gm->store)) != MCSEC_OK)
        goto out;
    in_tx = 1;
    if ((rc = adopt_kms(gm, gm->store, &init, &adopted, &k)) != MCSEC_OK ||
        (rc = gm->ops->meta_put(gm->store, "kmscred", rec, n + GM_SEALED_OVERHEAD)) != MCSEC_OK ||
        (rc = gm->ops->commit(gm->store)) != MCSEC_OK)
        goto out;
    in_tx = 0;
    if (adopted)
        install_kms(gm, &k);
    pthread_mutex_lock(&gm->mu);
    mcsec_secure_free(gm->cred);
    gm->cred = c;
    c = NULL;
    pthread_mutex_unlock(&gm->mu);
    if (gm->uri[0] == 0)
        rc = gm_set_uri(gm, b->user_uri);
out:
    if (in_tx)
        gm->ops->rollback(gm->store);
    mcsec_secure_free(c);
    mcsec_memzero(pt, sizeof pt);
    mcsec_bundle_free(b);
    return rc;
}

/* --- Signers -------------------------------------------------------------------------------- */

static mcsec_status_t load_signer(mcsec_groupmgr_t *gm, gm_store_t *s, const char *group,
                                  uint64_t period, const gm_kms_t *k,
                                  mcsec_eccsi_signer_t **out)
{
    uint8_t rec[GM_SEALED_OVERHEAD + KEYSET_REC_LEN + 1], pt[KEYSET_REC_LEN], per[8];
    size_t len = 0;
    put64(per, period);
    mcsec_status_t rc = gm->ops->keyset_get(s, group, period, rec, sizeof rec, &len);
    if (rc == MCSEC_OK && len != sizeof rec - 1)
        rc = MCSEC_ERR_VERIFY;
    if (rc == MCSEC_OK)
        rc = gm_unseal(gm, "keyset", group, per, 8, rec, len, pt);
    if (rc == MCSEC_OK) {
        rc = mcsec_eccsi_signer_new(out, k->kpak, pt, MCSEC_UID_LEN, pt + MCSEC_UID_LEN,
                                    pt + MCSEC_UID_LEN + MCSEC_ECCSI_SCALAR_LEN);
        if (rc != MCSEC_OK)
            gm_error("the stored key set of %s for key period %" PRIu64 " does not validate "
                     "(%s): import it again",
                     group, period, mcsec_strerror(rc));
    }
    mcsec_memzero(pt, sizeof pt);
    return rc;
}

mcsec_status_t gm_signer(mcsec_groupmgr_t *gm, gm_store_t *s, const char *group, uint64_t period,
                         const mcsec_eccsi_signer_t **out)
{
    gm_kms_t k;
    mcsec_eccsi_signer_t *signer = NULL;
    gm_signer_slot_t *slot;
    *out = NULL;
    pthread_mutex_lock(&gm->mu);
    for (slot = gm->signers; slot != NULL; slot = slot->next)
        if (slot->period == period && strcmp(slot->group, group) == 0)
            break;
    pthread_mutex_unlock(&gm->mu);
    if (slot != NULL) {
        *out = slot->signer;
        return MCSEC_OK;
    }
    mcsec_status_t rc = gm_kms_get(gm, &k);
    if (rc != MCSEC_OK)
        return rc;
    rc = load_signer(gm, s, group, period, &k, &signer);
    if (rc == MCSEC_ERR_UNKNOWN_KEY && gm->cred != NULL) {
        /* Fetch this period's keys (and the next) from the KMS, then try again. */
        uint64_t at = period * k.key_period + k.key_offset;
        if (fetch_keys(gm, s, group, at) == MCSEC_OK)
            rc = load_signer(gm, s, group, period, &k, &signer);
    }
    if (rc == MCSEC_ERR_UNKNOWN_KEY) {
        gm_error("no key set of group %s for key period %" PRIu64 ": import it (`mcsec-groupmgr "
                 "group keys --group %s --kms-init F --key-prov F`)%s",
                 group, period, group, gm->cred != NULL ? " or check the KMS" : "");
        rc = MCSEC_ERR_KEY_PERIOD;
    }
    if (rc != MCSEC_OK)
        return rc;
    if ((slot = calloc(1, sizeof *slot)) == NULL) {
        mcsec_eccsi_signer_free(signer);
        return MCSEC_ERR_NOMEM;
    }
    snprintf(slot->group, sizeof slot->group, "%s", group);
    slot->period = period;
    slot->signer = signer;
    pthread_mutex_lock(&gm->mu);
    gm_signer_slot_t *other;
    for (other = gm->signers; other != NULL; other = other->next)
        if (other->period == period && strcmp(other->group, group) == 0)
            break;
    if (other == NULL) {
        slot->next = gm->signers;
        gm->signers = slot;
        *out = signer;
    } else {
        *out = other->signer; /* another thread was quicker */
    }
    pthread_mutex_unlock(&gm->mu);
    if (other != NULL) {
        mcsec_eccsi_signer_free(signer);
        free(slot);
    }
    return MCSEC_OK;
}
