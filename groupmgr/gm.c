/* Group Manager life cycle: create (CURVE key pair, store, sealed records), open (unseal),
 * close; sealing of records under the data key; errors and clocks.
 *
 * Records in the store's meta table (layouts in docs/protocol.md, "Group Manager service"):
 *   params   "MCGP" | 1 | created (8) | CURVE public (40, Z85) | len16 | own URI   -- public
 *   kek      "MCGK" | 1 | KDF 1 (scrypt) | log2 N | 0 | r (4) | p (4) | salt (16) | nonce (12)
 *            | sealed data key (32) | tag (16) | SHA-256 of the preceding 92 octets
 *   secrets  gm_seal("secrets", "curve", params) of the CURVE secret key (40, Z85)
 *   kms      gm_seal("kms", ...) of the KMS parameters (keys.c); kmscred: the KMS credential
 * A wrong passphrase fails to open the data key (MCSEC_ERR_PASSPHRASE); the checksum tells a
 * damaged kek record (MCSEC_ERR_VERIFY) from a wrong passphrase. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/sha.h>
#include <zmq.h>

#include "internal.h"
#include "mcsec/secmem.h"

#define PARAMS_MAGIC "MCGP"
#define KEK_MAGIC "MCGK"
#define FORMAT 1
#define KEK_LEN 124
#define KEK_SALT_OFF 16
#define KEK_NONCE_OFF 32
#define KEK_SEALED_OFF 44
#define KEK_TAG_OFF 76
#define KEK_SUM_OFF 92
#define PARAMS_FIXED (4 + 1 + 8 + MCSEC_GROUPMGR_Z85_LEN + 2)
#define PARAMS_MAX (PARAMS_FIXED + MCSEC_GROUPMGR_URI_MAX)
#define Z85 MCSEC_GROUPMGR_Z85_LEN
#define SECRETS_LEN (GM_SEALED_OVERHEAD + Z85)

/* --- Errors, clocks, small helpers ---------------------------------------------------------- */

static _Thread_local char gm_err[512];

void gm_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(gm_err, sizeof gm_err, fmt, ap);
    va_end(ap);
}

void gm_clear_error(void)
{
    gm_err[0] = 0;
}

const char *mcsec_groupmgr_last_error(void)
{
    return gm_err;
}

int gm_uri_ok(const char *uri)
{
    if (uri == NULL || uri[0] == 0 || strlen(uri) > MCSEC_GROUPMGR_URI_MAX)
        return 0;
    for (const unsigned char *c = (const unsigned char *)uri; *c; c++)
        if (*c <= ' ' || *c >= 0x7f)
            return 0;
    return 1;
}

uint64_t gm_now64(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t sec = (uint64_t)ts.tv_sec + 2208988800u;
    uint64_t frac = ((uint64_t)ts.tv_nsec << 32) / 1000000000u;
    return sec << 32 | frac;
}

uint64_t gm_now_ntp(void)
{
    return gm_now64() >> 32;
}

int64_t gm_now_unix(void)
{
    return (int64_t)time(NULL);
}

double gm_mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void put64(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--, v >>= 8)
        p[i] = (uint8_t)v;
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

mcsec_status_t gm_store_connect(const mcsec_groupmgr_t *gm, gm_store_t **out)
{
    return gm->ops->open(gm->dir, 0, out);
}

/* --- Sealing ---------------------------------------------------------------------------------- */

#define AAD_MAX 512

static size_t make_aad(uint8_t *aad, const char *label, const char *name, const uint8_t *extra,
                       size_t extra_len)
{
    size_t n = (size_t)snprintf((char *)aad, AAD_MAX, "mcsec-groupmgr %s", label) + 1;
    size_t nl = strlen(name);
    if (n + nl + 1 + extra_len > AAD_MAX)
        return 0;
    memcpy(aad + n, name, nl + 1);
    n += nl + 1;
    if (extra_len > 0)
        memcpy(aad + n, extra, extra_len);
    return n + extra_len;
}

mcsec_status_t gm_seal(const mcsec_groupmgr_t *gm, const char *label, const char *name,
                       const uint8_t *extra, size_t extra_len, const uint8_t *pt, size_t len,
                       uint8_t *out)
{
    uint8_t aad[AAD_MAX];
    size_t aad_len = make_aad(aad, label, name, extra, extra_len);
    if (aad_len == 0)
        return MCSEC_ERR_BAD_LENGTH;
    mcsec_status_t rc = mcsec_random_bytes(out, MCSEC_SEAL_NONCE_LEN);
    if (rc == MCSEC_OK)
        rc = mcsec_seal(gm->data_key, out, aad, aad_len, pt, len, out + MCSEC_SEAL_NONCE_LEN,
                        out + MCSEC_SEAL_NONCE_LEN + len);
    if (rc != MCSEC_OK)
        gm_error("cannot seal a record (%s): %s", name, mcsec_strerror(rc));
    return rc;
}

mcsec_status_t gm_unseal(const mcsec_groupmgr_t *gm, const char *label, const char *name,
                         const uint8_t *extra, size_t extra_len, const uint8_t *in, size_t in_len,
                         uint8_t *pt)
{
    uint8_t aad[AAD_MAX];
    size_t aad_len = make_aad(aad, label, name, extra, extra_len);
    if (aad_len == 0 || in_len < GM_SEALED_OVERHEAD)
        return MCSEC_ERR_VERIFY;
    size_t len = in_len - GM_SEALED_OVERHEAD;
    mcsec_status_t rc = mcsec_seal_open(gm->data_key, in, aad, aad_len, in + MCSEC_SEAL_NONCE_LEN,
                                        len, in + MCSEC_SEAL_NONCE_LEN + len, pt);
    if (rc == MCSEC_ERR_VERIFY)
        gm_error("the sealed record %s (%s) fails authentication: the store is damaged or was "
                 "tampered with; restore it from a backup",
                 name, label);
    return rc;
}

/* --- Create ----------------------------------------------------------------------------------- */

static void handle_free(mcsec_groupmgr_t *gm)
{
    if (gm == NULL)
        return;
    for (gm_signer_slot_t *sl = gm->signers, *next; sl != NULL; sl = next) {
        next = sl->next;
        mcsec_eccsi_signer_free(sl->signer);
        free(sl);
    }
    mcsec_sakke_sender_free(gm->sakke);
    mcsec_secure_free(gm->cred);
    if (gm->store != NULL)
        gm->ops->close(gm->store);
    mcsec_secure_free(gm->data_key);
    mcsec_secure_free(gm->curve_secret);
    pthread_mutex_destroy(&gm->mu);
    pthread_mutex_destroy(&gm->rekey_mu);
    free(gm->dir);
    mcsec_memzero(gm, sizeof *gm);
    free(gm);
}

void mcsec_groupmgr_close(mcsec_groupmgr_t *gm)
{
    handle_free(gm);
}

static mcsec_status_t handle_new(const char *dir, mcsec_groupmgr_t **out)
{
    mcsec_groupmgr_t *gm = calloc(1, sizeof *gm);
    *out = NULL;
    if (gm == NULL)
        return MCSEC_ERR_NOMEM;
    pthread_mutex_init(&gm->mu, NULL);
    pthread_mutex_init(&gm->rekey_mu, NULL);
    gm->ops = &gm_store_sqlite;
    if ((gm->dir = strdup(dir)) == NULL ||
        (gm->data_key = mcsec_secure_alloc(MCSEC_SEAL_KEY_LEN)) == NULL ||
        (gm->curve_secret = mcsec_secure_alloc(Z85 + 1)) == NULL) {
        handle_free(gm);
        return MCSEC_ERR_NOMEM;
    }
    *out = gm;
    return MCSEC_OK;
}

static size_t params_encode(const mcsec_groupmgr_t *gm, int64_t created, uint8_t *p)
{
    size_t ul = strlen(gm->uri);
    memcpy(p, PARAMS_MAGIC, 4);
    p[4] = FORMAT;
    put64(p + 5, (uint64_t)created);
    memcpy(p + 13, gm->curve_public, Z85);
    p[13 + Z85] = (uint8_t)(ul >> 8);
    p[14 + Z85] = (uint8_t)ul;
    memcpy(p + PARAMS_FIXED, gm->uri, ul);
    return PARAMS_FIXED + ul;
}

static mcsec_status_t params_decode(const uint8_t *p, size_t len, mcsec_groupmgr_t *gm)
{
    if (len < PARAMS_FIXED || memcmp(p, PARAMS_MAGIC, 4) != 0) {
        gm_error("the Group Manager parameters record is damaged: restore the store from a "
                 "backup");
        return MCSEC_ERR_VERIFY;
    }
    if (p[4] != FORMAT) {
        gm_error("the Group Manager store has format %u: written by a newer mcsec-groupmgr? "
                 "upgrade",
                 p[4]);
        return MCSEC_ERR_UNSUPPORTED;
    }
    size_t ul = (size_t)p[13 + Z85] << 8 | p[14 + Z85];
    if (ul > MCSEC_GROUPMGR_URI_MAX || PARAMS_FIXED + ul != len) {
        gm_error("the Group Manager parameters record is damaged: restore the store from a "
                 "backup");
        return MCSEC_ERR_VERIFY;
    }
    memcpy(gm->curve_public, p + 13, Z85);
    gm->curve_public[Z85] = 0;
    memcpy(gm->uri, p + PARAMS_FIXED, ul);
    gm->uri[ul] = 0;
    return MCSEC_OK;
}

static mcsec_status_t derive_kek(const uint8_t *kek_rec, const char *pass, size_t pass_len,
                                 uint8_t *kek)
{
    mcsec_status_t rc = mcsec_seal_scrypt(pass, pass_len, kek_rec + KEK_SALT_OFF, 16, kek_rec[6],
                                          get32(kek_rec + 8), get32(kek_rec + 12), kek,
                                          MCSEC_SEAL_KEY_LEN);
    if (rc == MCSEC_ERR_UNSUPPORTED)
        gm_error("the Group Manager store asks for an unsupported scrypt cost (N = 2^%u): "
                 "damaged?",
                 kek_rec[6]);
    else if (rc != MCSEC_OK)
        gm_error("scrypt failed: %s", mcsec_strerror(rc));
    return rc;
}

static mcsec_status_t write_pub(const mcsec_groupmgr_t *gm)
{
    char path[4096], line[Z85 + 2];
    snprintf(path, sizeof path, "%s/%s", gm->dir, GM_PUB_NAME);
    snprintf(line, sizeof line, "%s\n", gm->curve_public);
    if (mcsec_seal_write_file(path, (const uint8_t *)line, Z85 + 1, 0644, 0) != MCSEC_OK) {
        gm_error("cannot write %s: %s", path, strerror(errno));
        return MCSEC_ERR_IO;
    }
    return MCSEC_OK;
}

static mcsec_status_t check_config(const mcsec_groupmgr_config_t *cfg)
{
    if (cfg == NULL || cfg->dir == NULL || cfg->dir[0] == 0 || cfg->passphrase == NULL) {
        gm_error("no Group Manager directory or passphrase given");
        return MCSEC_ERR_BAD_INPUT;
    }
    if (cfg->uri != NULL && cfg->uri[0] != 0 && !gm_uri_ok(cfg->uri)) {
        gm_error("URI '%s' is not 1-255 printable characters without spaces: give e.g. "
                 "sip:groupmgr@example.org",
                 cfg->uri);
        return MCSEC_ERR_BAD_INPUT;
    }
    if (cfg->passphrase_len < MCSEC_PASSPHRASE_MIN || cfg->passphrase_len > MCSEC_PASSPHRASE_MAX) {
        gm_error("the passphrase must be 1 to 1024 octets long");
        return MCSEC_ERR_BAD_LENGTH;
    }
    return MCSEC_OK;
}

mcsec_status_t mcsec_groupmgr_create(mcsec_groupmgr_t **out, const mcsec_groupmgr_config_t *cfg)
{
    mcsec_status_t rc;
    mcsec_groupmgr_t *gm = NULL;
    uint8_t *kek = NULL;
    uint8_t kek_rec[KEK_LEN], params[PARAMS_MAX], secrets[SECRETS_LEN];
    int in_tx = 0;
    gm_clear_error();
    if (out != NULL)
        *out = NULL;
    if ((rc = mcsec_init()) != MCSEC_OK) {
        gm_error("the crypto self test failed: this build cannot be used");
        return rc;
    }
    if ((rc = check_config(cfg)) != MCSEC_OK)
        return rc;
    unsigned log2n = cfg->kdf_log2n ? cfg->kdf_log2n : MCSEC_KEYSTORE_SCRYPT_LOG2N;
    uint32_t r = cfg->kdf_log2n ? cfg->kdf_r : MCSEC_KEYSTORE_SCRYPT_R;
    uint32_t p = cfg->kdf_log2n ? cfg->kdf_p : MCSEC_KEYSTORE_SCRYPT_P;
    memset(kek_rec, 0, sizeof kek_rec);
    if (mkdir(cfg->dir, 0700) != 0 && errno != EEXIST) {
        gm_error("cannot create the Group Manager directory %s: %s (its parent must exist)",
                 cfg->dir, strerror(errno));
        return MCSEC_ERR_IO;
    }
    if (chmod(cfg->dir, 0700) != 0) {
        gm_error("cannot make %s private (chmod 700): %s", cfg->dir, strerror(errno));
        return MCSEC_ERR_IO;
    }
    if ((rc = handle_new(cfg->dir, &gm)) != MCSEC_OK)
        return rc;
    rc = MCSEC_ERR_NOMEM;
    if ((kek = mcsec_secure_alloc(MCSEC_SEAL_KEY_LEN)) == NULL)
        goto out;
    if (cfg->uri != NULL)
        snprintf(gm->uri, sizeof gm->uri, "%s", cfg->uri);
    if (zmq_curve_keypair(gm->curve_public, gm->curve_secret) != 0) {
        gm_error("CURVE key generation failed: libzmq was built without CURVE (libsodium)");
        rc = MCSEC_ERR_UNSUPPORTED;
        goto out;
    }
    memcpy(kek_rec, KEK_MAGIC, 4);
    kek_rec[4] = FORMAT;
    kek_rec[5] = 1;
    kek_rec[6] = (uint8_t)log2n;
    put32(kek_rec + 8, r);
    put32(kek_rec + 12, p);
    if ((rc = mcsec_random_bytes(kek_rec + KEK_SALT_OFF, 16 + MCSEC_SEAL_NONCE_LEN)) != MCSEC_OK ||
        (rc = mcsec_random_bytes(gm->data_key, MCSEC_SEAL_KEY_LEN)) != MCSEC_OK) {
        gm_error("the random generator failed: no Group Manager created");
        goto out;
    }
    if ((rc = derive_kek(kek_rec, cfg->passphrase, cfg->passphrase_len, kek)) != MCSEC_OK)
        goto out;
    if ((rc = mcsec_seal(kek, kek_rec + KEK_NONCE_OFF, kek_rec, KEK_NONCE_OFF, gm->data_key,
                         MCSEC_SEAL_KEY_LEN, kek_rec + KEK_SEALED_OFF, kek_rec + KEK_TAG_OFF)) !=
        MCSEC_OK)
        goto out;
    SHA256(kek_rec, KEK_SUM_OFF, kek_rec + KEK_SUM_OFF);
    size_t params_len = params_encode(gm, gm_now_unix(), params);
    if ((rc = gm_seal(gm, "secrets", "curve", params, params_len, (const uint8_t *)gm->curve_secret,
                      Z85, secrets)) != MCSEC_OK)
        goto out;
    if ((rc = gm->ops->open(cfg->dir, 1, &gm->store)) != MCSEC_OK)
        goto out;
    if ((rc = gm->ops->begin(gm->store)) != MCSEC_OK)
        goto out;
    in_tx = 1;
    if ((rc = gm->ops->meta_put(gm->store, "params", params, params_len)) != MCSEC_OK ||
        (rc = gm->ops->meta_put(gm->store, "kek", kek_rec, KEK_LEN)) != MCSEC_OK ||
        (rc = gm->ops->meta_put(gm->store, "secrets", secrets, SECRETS_LEN)) != MCSEC_OK ||
        (rc = gm->ops->commit(gm->store)) != MCSEC_OK)
        goto out;
    in_tx = 0;
    if ((rc = write_pub(gm)) != MCSEC_OK)
        goto out;
    if (out != NULL) {
        *out = gm;
        gm = NULL;
    }
out:
    if (in_tx)
        gm->ops->rollback(gm->store);
    handle_free(gm);
    mcsec_secure_free(kek);
    mcsec_memzero(secrets, sizeof secrets);
    mcsec_memzero(kek_rec, sizeof kek_rec);
    return rc;
}

/* --- Open ------------------------------------------------------------------------------------- */

mcsec_status_t mcsec_groupmgr_open(mcsec_groupmgr_t **out, const char *dir, const char *passphrase,
                                   size_t passphrase_len)
{
    mcsec_status_t rc;
    mcsec_groupmgr_t *gm = NULL;
    uint8_t *kek = NULL;
    uint8_t kek_rec[KEK_LEN + 1], params[PARAMS_MAX], secrets[SECRETS_LEN + 1], sum[32];
    size_t kek_len = 0, params_len = 0, secrets_len = 0;
    char pub[Z85 + 1];
    gm_clear_error();
    if (out == NULL || dir == NULL || passphrase == NULL) {
        gm_error("no Group Manager directory or passphrase given");
        return MCSEC_ERR_BAD_INPUT;
    }
    *out = NULL;
    if ((rc = mcsec_init()) != MCSEC_OK) {
        gm_error("the crypto self test failed: this build cannot be used");
        return rc;
    }
    if ((rc = handle_new(dir, &gm)) != MCSEC_OK)
        return rc;
    rc = MCSEC_ERR_NOMEM;
    if ((kek = mcsec_secure_alloc(MCSEC_SEAL_KEY_LEN)) == NULL)
        goto out;
    if ((rc = gm->ops->open(dir, 0, &gm->store)) != MCSEC_OK)
        goto out;
    if ((rc = gm->ops->meta_get(gm->store, "params", params, sizeof params, &params_len)) !=
            MCSEC_OK ||
        (rc = gm->ops->meta_get(gm->store, "kek", kek_rec, sizeof kek_rec, &kek_len)) !=
            MCSEC_OK ||
        (rc = gm->ops->meta_get(gm->store, "secrets", secrets, sizeof secrets, &secrets_len)) !=
            MCSEC_OK) {
        if (rc == MCSEC_ERR_UNKNOWN_KEY) {
            gm_error("the Group Manager store in %s misses a record: restore it from a backup",
                     dir);
            rc = MCSEC_ERR_VERIFY;
        }
        goto out;
    }
    if ((rc = params_decode(params, params_len, gm)) != MCSEC_OK)
        goto out;
    rc = MCSEC_ERR_VERIFY;
    if (kek_len != KEK_LEN || memcmp(kek_rec, KEK_MAGIC, 4) != 0 || secrets_len != SECRETS_LEN) {
        gm_error("the sealed records of the Group Manager store in %s are damaged: restore it "
                 "from a backup",
                 dir);
        goto out;
    }
    SHA256(kek_rec, KEK_SUM_OFF, sum);
    if (!mcsec_ct_equal(sum, kek_rec + KEK_SUM_OFF, sizeof sum)) {
        gm_error("the key record of the Group Manager store in %s is damaged (checksum): "
                 "restore it from a backup",
                 dir);
        goto out;
    }
    if (kek_rec[4] != FORMAT || kek_rec[5] != 1) {
        gm_error("the Group Manager store in %s uses format %u, KDF %u: upgrade mcsec-groupmgr",
                 dir, kek_rec[4], kek_rec[5]);
        rc = MCSEC_ERR_UNSUPPORTED;
        goto out;
    }
    if ((rc = derive_kek(kek_rec, passphrase, passphrase_len, kek)) != MCSEC_OK)
        goto out;
    rc = mcsec_seal_open(kek, kek_rec + KEK_NONCE_OFF, kek_rec, KEK_NONCE_OFF,
                         kek_rec + KEK_SEALED_OFF, MCSEC_SEAL_KEY_LEN, kek_rec + KEK_TAG_OFF,
                         gm->data_key);
    if (rc == MCSEC_ERR_VERIFY) {
        gm_error("wrong passphrase for the Group Manager in %s", dir);
        rc = MCSEC_ERR_PASSPHRASE;
    }
    if (rc != MCSEC_OK)
        goto out;
    if ((rc = gm_unseal(gm, "secrets", "curve", params, params_len, secrets, SECRETS_LEN,
                        (uint8_t *)gm->curve_secret)) != MCSEC_OK)
        goto out;
    gm->curve_secret[Z85] = 0;
    if (zmq_curve_public(pub, gm->curve_secret) != 0 || strcmp(pub, gm->curve_public) != 0) {
        gm_error("the CURVE secret key of the Group Manager in %s does not match its public "
                 "key: restore the store from a backup",
                 dir);
        rc = MCSEC_ERR_VERIFY;
        goto out;
    }
    if ((rc = gm_keys_load(gm)) != MCSEC_OK)
        goto out;
    *out = gm;
    gm = NULL;
out:
    handle_free(gm);
    mcsec_secure_free(kek);
    mcsec_memzero(secrets, sizeof secrets);
    mcsec_memzero(kek_rec, sizeof kek_rec);
    return rc;
}

mcsec_status_t mcsec_groupmgr_get_info(mcsec_groupmgr_t *gm, mcsec_groupmgr_info_t *out)
{
    if (gm == NULL || out == NULL)
        return MCSEC_ERR_BAD_INPUT;
    memset(out, 0, sizeof *out);
    pthread_mutex_lock(&gm->mu);
    snprintf(out->uri, sizeof out->uri, "%s", gm->uri);
    memcpy(out->curve_public, gm->curve_public, sizeof out->curve_public);
    out->has_kms = gm->has_kms;
    if (gm->has_kms) {
        snprintf(out->kms_uri, sizeof out->kms_uri, "%s", gm->kms.kms_uri);
        out->key_period = gm->kms.key_period;
        out->key_offset = gm->kms.key_offset;
    }
    out->has_kms_credential = gm->cred != NULL;
    if (gm->cred != NULL)
        snprintf(out->kms_endpoint, sizeof out->kms_endpoint, "%s", gm->cred->endpoint);
    pthread_mutex_unlock(&gm->mu);
    return MCSEC_OK;
}

mcsec_status_t gm_set_uri(mcsec_groupmgr_t *gm, const char *uri)
{
    uint8_t params[PARAMS_MAX], secrets[SECRETS_LEN];
    mcsec_status_t rc;
    snprintf(gm->uri, sizeof gm->uri, "%s", uri);
    size_t params_len = params_encode(gm, gm_now_unix(), params);
    /* The secrets record is bound to the parameters: reseal it with them. */
    if ((rc = gm_seal(gm, "secrets", "curve", params, params_len, (const uint8_t *)gm->curve_secret,
                      Z85, secrets)) == MCSEC_OK &&
        (rc = gm->ops->begin(gm->store)) == MCSEC_OK) {
        if ((rc = gm->ops->meta_put(gm->store, "params", params, params_len)) != MCSEC_OK ||
            (rc = gm->ops->meta_put(gm->store, "secrets", secrets, SECRETS_LEN)) != MCSEC_OK ||
            (rc = gm->ops->commit(gm->store)) != MCSEC_OK)
            gm->ops->rollback(gm->store);
    }
    mcsec_memzero(secrets, sizeof secrets);
    return rc;
}

/* --- The rekey lock ------------------------------------------------------------------------- */

mcsec_status_t gm_rekey_lock(mcsec_groupmgr_t *gm, int wait, int *fd)
{
    char path[4096];
    *fd = -1;
    if (wait)
        pthread_mutex_lock(&gm->rekey_mu);
    else if (pthread_mutex_trylock(&gm->rekey_mu) != 0)
        return MCSEC_ERR_POLICY;
    snprintf(path, sizeof path, "%s/%s", gm->dir, GM_LOCK_NAME);
    int f = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (f < 0) {
        gm_error("cannot open the rekey lock %s: %s", path, strerror(errno));
        pthread_mutex_unlock(&gm->rekey_mu);
        return MCSEC_ERR_IO;
    }
    /* flock: held by this open file description (so also between threads of one process, which
     * the mutex covers anyway), released by the kernel when the process dies, even by kill -9. */
    int r;
    while ((r = flock(f, LOCK_EX | (wait ? 0 : LOCK_NB))) != 0 && errno == EINTR)
        ;
    if (r != 0) {
        int e = errno;
        close(f);
        pthread_mutex_unlock(&gm->rekey_mu);
        if (e == EWOULDBLOCK)
            return MCSEC_ERR_POLICY;
        gm_error("cannot take the rekey lock %s: %s", path, strerror(e));
        return MCSEC_ERR_IO;
    }
    *fd = f;
    return MCSEC_OK;
}

void gm_rekey_unlock(mcsec_groupmgr_t *gm, int fd)
{
    if (fd >= 0) {
        close(fd); /* releases the lock */
        pthread_mutex_unlock(&gm->rekey_mu);
    }
}
