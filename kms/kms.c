/* KMS life cycle: create (master keys, store), open (unseal), close; the sealed records.
 *
 * Records in the store's meta table (layouts in docs/protocol.md, "KMS service"):
 *   params   "MCKP" | 1 | key period (8) | offset (8) | created (8) | Z (257) | KPAK (65)
 *            | CURVE public (40, Z85) | len16 | KMS URI                     -- public
 *   kek      "MCKK" | 1 | KDF 1 (scrypt) | log2 N | 0 | r (4) | p (4) | salt (16) | nonce (12)
 *            | sealed data key (32) | tag (16) | SHA-256 of the preceding 92 octets
 *   secrets  nonce (12) | AES-256-GCM(data key, z (128) | KSAK (32) | CURVE secret (40)) | tag
 *            with AAD "mcsec-kms secrets v1" || params, binding the secrets to the public keys
 *   endpoint the endpoint written into bundles (text)
 * A wrong passphrase fails to open the data key (MCSEC_ERR_PASSPHRASE); the checksum tells a
 * damaged kek record (MCSEC_ERR_VERIFY) from a wrong passphrase. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <openssl/sha.h>
#include <zmq.h>

#include "internal.h"
#include "mcsec/kdf.h"
#include "mcsec/seal.h"
#include "mcsec/secmem.h"

#define PARAMS_MAGIC "MCKP"
#define KEK_MAGIC "MCKK"
#define FORMAT 1
#define KEK_LEN 124
#define KEK_SALT_OFF 16
#define KEK_NONCE_OFF 32
#define KEK_SEALED_OFF 44
#define KEK_TAG_OFF 76
#define KEK_SUM_OFF 92
#define PARAMS_FIXED (4 + 1 + 8 + 8 + 8 + MCSEC_SAKKE_POINT_LEN + MCSEC_ECCSI_POINT_LEN + 40 + 2)
#define PARAMS_MAX (PARAMS_FIXED + MCSEC_KMS_URI_MAX)
#define SECRETS_REC_LEN (MCSEC_SEAL_NONCE_LEN + KMS_SECRETS_LEN + MCSEC_SEAL_TAG_LEN)
#define SECRETS_AAD "mcsec-kms secrets v1"

/* --- Errors and small helpers -------------------------------------------------------------- */

static _Thread_local char kms_err[512];

void kms_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(kms_err, sizeof kms_err, fmt, ap);
    va_end(ap);
}

void kms_clear_error(void)
{
    kms_err[0] = 0;
}

const char *mcsec_kms_last_error(void)
{
    return kms_err;
}

static int64_t (*test_clock)(void); /* kms_test_set_clock: tests only */

void kms_test_set_clock(int64_t (*now)(void))
{
    test_clock = now;
}

int64_t kms_now(void)
{
    return test_clock != NULL ? test_clock() : (int64_t)time(NULL);
}

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

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int endpoint_ok(const char *e)
{
    if (e == NULL || strncmp(e, "tcp://", 6) != 0 || strlen(e) > MCSEC_KMS_ENDPOINT_MAX)
        return 0;
    const char *colon = strrchr(e + 6, ':');
    if (colon == NULL || colon == e + 6 || colon[1] == 0)
        return 0;
    for (const char *c = e + 6; *c; c++)
        if (*c <= ' ' || *c >= 0x7f)
            return 0;
    for (const char *c = colon + 1; *c; c++)
        if (*c < '0' || *c > '9')
            return 0;
    return 1;
}

static size_t params_encode(const mcsec_kms_info_t *in, uint8_t *p)
{
    size_t ul = strlen(in->kms_uri);
    memcpy(p, PARAMS_MAGIC, 4);
    p[4] = FORMAT;
    put64(p + 5, in->key_period);
    put64(p + 13, in->key_offset);
    put64(p + 21, (uint64_t)in->created);
    uint8_t *q = p + 29;
    memcpy(q, in->Z, MCSEC_SAKKE_POINT_LEN);
    q += MCSEC_SAKKE_POINT_LEN;
    memcpy(q, in->kpak, MCSEC_ECCSI_POINT_LEN);
    q += MCSEC_ECCSI_POINT_LEN;
    memcpy(q, in->curve_public, 40);
    q += 40;
    q[0] = (uint8_t)(ul >> 8);
    q[1] = (uint8_t)ul;
    memcpy(q + 2, in->kms_uri, ul);
    return PARAMS_FIXED + ul;
}

static mcsec_status_t params_decode(const uint8_t *p, size_t len, mcsec_kms_info_t *out)
{
    if (len < PARAMS_FIXED || memcmp(p, PARAMS_MAGIC, 4) != 0) {
        kms_error("the KMS parameters record is damaged: restore the store from a backup");
        return MCSEC_ERR_VERIFY;
    }
    if (p[4] != FORMAT) {
        kms_error("the KMS store has format %u: written by a newer mcsec-kms? upgrade", p[4]);
        return MCSEC_ERR_UNSUPPORTED;
    }
    out->key_period = get64(p + 5);
    out->key_offset = get64(p + 13);
    out->created = (int64_t)get64(p + 21);
    const uint8_t *q = p + 29;
    memcpy(out->Z, q, MCSEC_SAKKE_POINT_LEN);
    q += MCSEC_SAKKE_POINT_LEN;
    memcpy(out->kpak, q, MCSEC_ECCSI_POINT_LEN);
    q += MCSEC_ECCSI_POINT_LEN;
    memcpy(out->curve_public, q, 40);
    out->curve_public[40] = 0;
    q += 40;
    size_t ul = (size_t)q[0] << 8 | q[1];
    if (ul == 0 || ul > MCSEC_KMS_URI_MAX || PARAMS_FIXED + ul != len ||
        out->key_period == 0 || out->key_offset >= out->key_period) {
        kms_error("the KMS parameters record is damaged: restore the store from a backup");
        return MCSEC_ERR_VERIFY;
    }
    memcpy(out->kms_uri, q + 2, ul);
    out->kms_uri[ul] = 0;
    return MCSEC_OK;
}

static mcsec_status_t derive_kek(const uint8_t *kek_rec, const char *pass, size_t pass_len,
                                 uint8_t *kek)
{
    mcsec_status_t rc = mcsec_seal_scrypt(pass, pass_len, kek_rec + KEK_SALT_OFF, 16, kek_rec[6],
                                          get32(kek_rec + 8), get32(kek_rec + 12), kek,
                                          MCSEC_SEAL_KEY_LEN);
    if (rc == MCSEC_ERR_UNSUPPORTED)
        kms_error("the KMS store asks for an unsupported scrypt cost (N = 2^%u): damaged?",
                  kek_rec[6]);
    else if (rc != MCSEC_OK)
        kms_error("scrypt failed: %s", mcsec_strerror(rc));
    return rc;
}

mcsec_status_t kms_store_connect(const mcsec_kms_t *kms, kms_store_t **out)
{
    return kms->ops->open(kms->dir, 0, out);
}

void mcsec_kms_get_info(const mcsec_kms_t *kms, mcsec_kms_info_t *out)
{
    *out = kms->info;
}

mcsec_status_t mcsec_kms_period_at(const mcsec_kms_t *kms, uint64_t at_ntp, uint64_t *period_no)
{
    if (at_ntp == 0)
        at_ntp = (uint64_t)kms_now() + MCSEC_KMS_NTP_UNIX_OFFSET;
    mcsec_status_t rc =
        mcsec_key_period_no(at_ntp, kms->info.key_period, kms->info.key_offset, period_no);
    if (rc != MCSEC_OK)
        kms_error("time %llu is before the first key period of this KMS",
                  (unsigned long long)at_ntp);
    return rc;
}

/* --- Create -------------------------------------------------------------------------------- */

void mcsec_kms_close(mcsec_kms_t *kms)
{
    if (kms == NULL)
        return;
    if (kms->store != NULL)
        kms->ops->close(kms->store);
    mcsec_secure_free(kms->secrets);
    free(kms->dir);
    mcsec_memzero(kms, sizeof *kms);
    free(kms);
}

static mcsec_status_t check_config(const mcsec_kms_config_t *cfg)
{
    if (cfg == NULL || cfg->dir == NULL || cfg->dir[0] == 0 || cfg->passphrase == NULL) {
        kms_error("no KMS directory or passphrase given");
        return MCSEC_ERR_BAD_INPUT;
    }
    if (!kms_uri_ok(cfg->kms_uri)) {
        kms_error("KMS URI '%s' is not 1-255 printable characters without spaces: give e.g. "
                  "kms.example.org",
                  cfg->kms_uri != NULL ? cfg->kms_uri : "");
        return MCSEC_ERR_BAD_INPUT;
    }
    uint64_t period = cfg->key_period ? cfg->key_period : MCSEC_KMS_KEY_PERIOD_DEFAULT;
    if (cfg->key_offset >= period) {
        kms_error("key period offset %llu must be below the key period %llu",
                  (unsigned long long)cfg->key_offset, (unsigned long long)period);
        return MCSEC_ERR_BAD_INPUT;
    }
    if (cfg->endpoint != NULL && !endpoint_ok(cfg->endpoint)) {
        kms_error("endpoint '%s' is not tcp://HOST:PORT", cfg->endpoint);
        return MCSEC_ERR_BAD_INPUT;
    }
    if (cfg->passphrase_len < 1 || cfg->passphrase_len > 1024) {
        kms_error("the passphrase must be 1 to 1024 octets long");
        return MCSEC_ERR_BAD_LENGTH;
    }
    return MCSEC_OK;
}

mcsec_status_t mcsec_kms_create(mcsec_kms_t **out, const mcsec_kms_config_t *cfg)
{
    mcsec_status_t rc;
    mcsec_kms_t *kms = NULL;
    uint8_t *kek = NULL; /* kek || data key */
    uint8_t kek_rec[KEK_LEN], params[PARAMS_MAX], secrets[SECRETS_REC_LEN];
    uint8_t aad[sizeof SECRETS_AAD + PARAMS_MAX];
    int in_tx = 0;
    kms_clear_error();
    if (out != NULL)
        *out = NULL;
    if ((rc = mcsec_init()) != MCSEC_OK) {
        kms_error("the crypto self test failed: this build cannot be used");
        return rc;
    }
    if ((rc = check_config(cfg)) != MCSEC_OK)
        return rc;
    unsigned log2n = cfg->kdf_log2n ? cfg->kdf_log2n : 16;
    uint32_t r = cfg->kdf_log2n ? cfg->kdf_r : 8, p = cfg->kdf_log2n ? cfg->kdf_p : 1;
    memset(kek_rec, 0, sizeof kek_rec);

    if (mkdir(cfg->dir, 0700) != 0 && errno != EEXIST) {
        kms_error("cannot create the KMS directory %s: %s (its parent must exist)", cfg->dir,
                  strerror(errno));
        return MCSEC_ERR_IO;
    }
    if (chmod(cfg->dir, 0700) != 0) {
        kms_error("cannot make %s private (chmod 700): %s", cfg->dir, strerror(errno));
        return MCSEC_ERR_IO;
    }
    rc = MCSEC_ERR_NOMEM;
    if ((kms = calloc(1, sizeof *kms)) == NULL || (kms->dir = strdup(cfg->dir)) == NULL ||
        (kms->secrets = mcsec_secure_alloc(sizeof *kms->secrets)) == NULL ||
        (kek = mcsec_secure_alloc(2 * MCSEC_SEAL_KEY_LEN)) == NULL)
        goto out;
    kms->ops = &kms_store_sqlite;
    snprintf(kms->info.kms_uri, sizeof kms->info.kms_uri, "%s", cfg->kms_uri);
    kms->info.key_period = cfg->key_period ? cfg->key_period : MCSEC_KMS_KEY_PERIOD_DEFAULT;
    kms->info.key_offset = cfg->key_offset;
    kms->info.created = kms_now();
    if (cfg->endpoint != NULL)
        snprintf(kms->info.endpoint, sizeof kms->info.endpoint, "%s", cfg->endpoint);

    /* Master keys. */
    if ((rc = mcsec_sakke_kms_generate(kms->secrets->z, kms->info.Z)) != MCSEC_OK ||
        (rc = mcsec_eccsi_kms_generate(kms->secrets->ksak, kms->info.kpak)) != MCSEC_OK) {
        kms_error("master key generation failed: %s", mcsec_strerror(rc));
        goto out;
    }
    if (zmq_curve_keypair(kms->info.curve_public, kms->secrets->curve_secret) != 0) {
        kms_error("CURVE key generation failed: libzmq was built without CURVE (libsodium)");
        rc = MCSEC_ERR_UNSUPPORTED;
        goto out;
    }

    /* Seal: data key under scrypt(passphrase), secrets under the data key. */
    memcpy(kek_rec, KEK_MAGIC, 4);
    kek_rec[4] = FORMAT;
    kek_rec[5] = 1;
    kek_rec[6] = (uint8_t)log2n;
    put32(kek_rec + 8, r);
    put32(kek_rec + 12, p);
    if ((rc = mcsec_random_bytes(kek_rec + KEK_SALT_OFF, 16 + MCSEC_SEAL_NONCE_LEN)) != MCSEC_OK ||
        (rc = mcsec_random_bytes(kek + MCSEC_SEAL_KEY_LEN, MCSEC_SEAL_KEY_LEN)) != MCSEC_OK ||
        (rc = mcsec_random_bytes(secrets, MCSEC_SEAL_NONCE_LEN)) != MCSEC_OK) {
        kms_error("the random generator failed: no KMS created");
        goto out;
    }
    if ((rc = derive_kek(kek_rec, cfg->passphrase, cfg->passphrase_len, kek)) != MCSEC_OK)
        goto out;
    if ((rc = mcsec_seal(kek, kek_rec + KEK_NONCE_OFF, kek_rec, KEK_NONCE_OFF,
                         kek + MCSEC_SEAL_KEY_LEN, MCSEC_SEAL_KEY_LEN, kek_rec + KEK_SEALED_OFF,
                         kek_rec + KEK_TAG_OFF)) != MCSEC_OK)
        goto out;
    SHA256(kek_rec, KEK_SUM_OFF, kek_rec + KEK_SUM_OFF);
    size_t params_len = params_encode(&kms->info, params);
    memcpy(aad, SECRETS_AAD, sizeof SECRETS_AAD);
    memcpy(aad + sizeof SECRETS_AAD, params, params_len);
    uint8_t *ct = secrets + MCSEC_SEAL_NONCE_LEN;
    memcpy(ct, kms->secrets->z, MCSEC_SAKKE_SCALAR_LEN);
    memcpy(ct + MCSEC_SAKKE_SCALAR_LEN, kms->secrets->ksak, MCSEC_ECCSI_SCALAR_LEN);
    memcpy(ct + MCSEC_SAKKE_SCALAR_LEN + MCSEC_ECCSI_SCALAR_LEN, kms->secrets->curve_secret, 40);
    if ((rc = mcsec_seal(kek + MCSEC_SEAL_KEY_LEN, secrets, aad, sizeof SECRETS_AAD + params_len,
                         ct, KMS_SECRETS_LEN, ct, ct + KMS_SECRETS_LEN)) != MCSEC_OK)
        goto out;

    /* Store: schema, then every record in one transaction. */
    if ((rc = kms->ops->open(cfg->dir, 1, &kms->store)) != MCSEC_OK)
        goto out;
    if ((rc = kms->ops->begin(kms->store)) != MCSEC_OK)
        goto out;
    in_tx = 1;
    if ((rc = kms->ops->meta_put(kms->store, "params", params, params_len)) != MCSEC_OK ||
        (rc = kms->ops->meta_put(kms->store, "kek", kek_rec, KEK_LEN)) != MCSEC_OK ||
        (rc = kms->ops->meta_put(kms->store, "secrets", secrets, SECRETS_REC_LEN)) != MCSEC_OK ||
        (rc = kms->ops->meta_put(kms->store, "endpoint", (const uint8_t *)kms->info.endpoint,
                                 strlen(kms->info.endpoint))) != MCSEC_OK ||
        (rc = kms_audit(kms->store, kms->ops, 0, kms->info.kms_uri, -1, "init", MCSEC_OK, 0,
                        "KMS created")) != MCSEC_OK ||
        (rc = kms->ops->commit(kms->store)) != MCSEC_OK)
        goto out;
    in_tx = 0;
    if (out != NULL) {
        *out = kms;
        kms = NULL;
    }
out:
    if (in_tx)
        kms->ops->rollback(kms->store);
    mcsec_kms_close(kms);
    mcsec_secure_free(kek);
    mcsec_memzero(secrets, sizeof secrets);
    mcsec_memzero(kek_rec, sizeof kek_rec);
    return rc;
}

/* --- Open ---------------------------------------------------------------------------------- */

/* The unsealed secrets must be the ones behind the public keys. */
static mcsec_status_t check_consistent(mcsec_kms_t *kms)
{
    uint8_t Z[MCSEC_SAKKE_POINT_LEN], ssk[MCSEC_ECCSI_SCALAR_LEN], pvt[MCSEC_ECCSI_POINT_LEN];
    char pub[MCSEC_KMS_Z85_LEN + 1];
    static const uint8_t probe[] = "mcsec-kms consistency probe";
    mcsec_status_t rc = mcsec_sakke_kms_public(kms->secrets->z, Z);
    if (rc == MCSEC_OK && !mcsec_ct_equal(Z, kms->info.Z, sizeof Z))
        rc = MCSEC_ERR_VERIFY;
    if (rc == MCSEC_OK)
        rc = mcsec_eccsi_issue(kms->secrets->ksak, kms->info.kpak, probe, sizeof probe, ssk, pvt);
    if (rc == MCSEC_OK && (zmq_curve_public(pub, kms->secrets->curve_secret) != 0 ||
                           strcmp(pub, kms->info.curve_public) != 0))
        rc = MCSEC_ERR_VERIFY;
    if (rc != MCSEC_OK) {
        kms_error("the KMS master secrets do not match its public keys: restore the store from "
                  "a backup");
        rc = MCSEC_ERR_VERIFY;
    }
    mcsec_memzero(ssk, sizeof ssk);
    return rc;
}

mcsec_status_t mcsec_kms_open(mcsec_kms_t **out, const char *dir, const char *passphrase,
                              size_t passphrase_len)
{
    mcsec_status_t rc;
    mcsec_kms_t *kms = NULL;
    uint8_t *keys = NULL; /* kek || data key */
    uint8_t kek_rec[KEK_LEN + 1], params[PARAMS_MAX], secrets[SECRETS_REC_LEN + 1];
    uint8_t aad[sizeof SECRETS_AAD + PARAMS_MAX], sum[SHA256_DIGEST_LENGTH], pt[KMS_SECRETS_LEN];
    size_t kek_len = 0, params_len = 0, secrets_len = 0, ep_len = 0;
    kms_clear_error();
    if (out == NULL || dir == NULL || passphrase == NULL) {
        kms_error("no KMS directory or passphrase given");
        return MCSEC_ERR_BAD_INPUT;
    }
    *out = NULL;
    if ((rc = mcsec_init()) != MCSEC_OK) {
        kms_error("the crypto self test failed: this build cannot be used");
        return rc;
    }
    rc = MCSEC_ERR_NOMEM;
    if ((kms = calloc(1, sizeof *kms)) == NULL || (kms->dir = strdup(dir)) == NULL ||
        (kms->secrets = mcsec_secure_alloc(sizeof *kms->secrets)) == NULL ||
        (keys = mcsec_secure_alloc(2 * MCSEC_SEAL_KEY_LEN)) == NULL)
        goto out;
    kms->ops = &kms_store_sqlite;
    if ((rc = kms->ops->open(dir, 0, &kms->store)) != MCSEC_OK)
        goto out;
    if ((rc = kms->ops->meta_get(kms->store, "params", params, sizeof params, &params_len)) !=
            MCSEC_OK ||
        (rc = kms->ops->meta_get(kms->store, "kek", kek_rec, sizeof kek_rec, &kek_len)) !=
            MCSEC_OK ||
        (rc = kms->ops->meta_get(kms->store, "secrets", secrets, sizeof secrets, &secrets_len)) !=
            MCSEC_OK ||
        (rc = kms->ops->meta_get(kms->store, "endpoint", (uint8_t *)kms->info.endpoint,
                                 MCSEC_KMS_ENDPOINT_MAX, &ep_len)) != MCSEC_OK) {
        if (rc == MCSEC_ERR_UNKNOWN_KEY) {
            kms_error("the KMS store in %s misses a record: restore it from a backup", dir);
            rc = MCSEC_ERR_VERIFY;
        }
        goto out;
    }
    kms->info.endpoint[ep_len] = 0;
    if ((rc = params_decode(params, params_len, &kms->info)) != MCSEC_OK)
        goto out;
    rc = MCSEC_ERR_VERIFY;
    if (kek_len != KEK_LEN || memcmp(kek_rec, KEK_MAGIC, 4) != 0 ||
        secrets_len != SECRETS_REC_LEN) {
        kms_error("the sealed records of the KMS store in %s are damaged: restore it from a "
                  "backup",
                  dir);
        goto out;
    }
    SHA256(kek_rec, KEK_SUM_OFF, sum);
    if (!mcsec_ct_equal(sum, kek_rec + KEK_SUM_OFF, sizeof sum)) {
        kms_error("the key record of the KMS store in %s is damaged (checksum): restore it from "
                  "a backup",
                  dir);
        goto out;
    }
    if (kek_rec[4] != FORMAT || kek_rec[5] != 1) {
        kms_error("the KMS store in %s uses format %u, KDF %u: upgrade mcsec-kms", dir,
                  kek_rec[4], kek_rec[5]);
        rc = MCSEC_ERR_UNSUPPORTED;
        goto out;
    }
    if ((rc = derive_kek(kek_rec, passphrase, passphrase_len, keys)) != MCSEC_OK)
        goto out;
    rc = mcsec_seal_open(keys, kek_rec + KEK_NONCE_OFF, kek_rec, KEK_NONCE_OFF,
                         kek_rec + KEK_SEALED_OFF, MCSEC_SEAL_KEY_LEN, kek_rec + KEK_TAG_OFF,
                         keys + MCSEC_SEAL_KEY_LEN);
    if (rc == MCSEC_ERR_VERIFY) {
        kms_error("wrong passphrase for the KMS in %s", dir);
        rc = MCSEC_ERR_PASSPHRASE;
    }
    if (rc != MCSEC_OK)
        goto out;
    memcpy(aad, SECRETS_AAD, sizeof SECRETS_AAD);
    memcpy(aad + sizeof SECRETS_AAD, params, params_len);
    rc = mcsec_seal_open(keys + MCSEC_SEAL_KEY_LEN, secrets, aad, sizeof SECRETS_AAD + params_len,
                         secrets + MCSEC_SEAL_NONCE_LEN, KMS_SECRETS_LEN,
                         secrets + MCSEC_SEAL_NONCE_LEN + KMS_SECRETS_LEN, pt);
    if (rc == MCSEC_ERR_VERIFY)
        kms_error("the sealed master secrets of the KMS in %s fail authentication (damaged, or "
                  "its public parameters were changed): restore it from a backup",
                  dir);
    if (rc != MCSEC_OK)
        goto out;
    memcpy(kms->secrets->z, pt, MCSEC_SAKKE_SCALAR_LEN);
    memcpy(kms->secrets->ksak, pt + MCSEC_SAKKE_SCALAR_LEN, MCSEC_ECCSI_SCALAR_LEN);
    memcpy(kms->secrets->curve_secret, pt + MCSEC_SAKKE_SCALAR_LEN + MCSEC_ECCSI_SCALAR_LEN, 40);
    kms->secrets->curve_secret[40] = 0;
    if ((rc = check_consistent(kms)) != MCSEC_OK)
        goto out;
    *out = kms;
    kms = NULL;
out:
    mcsec_kms_close(kms);
    mcsec_secure_free(keys);
    mcsec_memzero(pt, sizeof pt);
    mcsec_memzero(secrets, sizeof secrets);
    mcsec_memzero(kek_rec, sizeof kek_rec);
    return rc;
}

mcsec_status_t mcsec_kms_set_endpoint(mcsec_kms_t *kms, const char *endpoint)
{
    kms_clear_error();
    if (!endpoint_ok(endpoint)) {
        kms_error("endpoint '%s' is not tcp://HOST:PORT", endpoint != NULL ? endpoint : "");
        return MCSEC_ERR_BAD_INPUT;
    }
    mcsec_status_t rc = kms->ops->meta_put(kms->store, "endpoint", (const uint8_t *)endpoint,
                                           strlen(endpoint));
    if (rc == MCSEC_OK)
        snprintf(kms->info.endpoint, sizeof kms->info.endpoint, "%s", endpoint);
    return rc;
}
