/* The handset keystore: a directory holding one KMS's public parameters (from KmsInit), the
 * handset's key sets per key period (from KmsKeyProv) and the group master keys (GMKs)
 * received in MIKEY-SAKKE GMK distribution messages.
 *
 * Every record is sealed with AES-256-GCM under a random 256-bit store key; the store key is
 * itself sealed under a key derived from a passphrase with scrypt (parameters and salt are
 * recorded in the store, so they can be raised later). Public records (KMS parameters) are
 * sealed too: they are then integrity protected by the same mechanism, and there is one code
 * path. Each record's file name and kind are authenticated, so records cannot be swapped.
 * Files are 0600, directories 0700, and every write is atomic (temporary file in the same
 * directory, fsync, rename, fsync of the directory): a crash never leaves a half record.
 * The on-disk format is described in docs/protocol.md ("Handset keystore").
 *
 * The keystore does NOT validate keys cryptographically: callers must check an RSK with
 * mcsec_sakke_validate_rsk() and an (SSK, PVT) pair with mcsec_eccsi_validate() against the
 * stored KMS parameters before storing them (the `mcsec keys import` command does).
 *
 * Times are 64-bit NTP timestamps (seconds since 1900 in the upper 32 bits, fraction in the
 * lower 32), as carried by MIKEY T payloads and the TS 33.180 key parameters.
 *
 * A handle may be used by several threads at once. Several processes may share a store;
 * concurrent writes of the same record: the last rename wins, never a mix. */
#ifndef MCSEC_KEYSTORE_H
#define MCSEC_KEYSTORE_H

#include <stddef.h>
#include <stdint.h>

#include "mcsec/eccsi.h"
#include "mcsec/kdf.h"
#include "mcsec/sakke.h"
#include "mcsec/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* URIs are stored NUL-terminated in fixed arrays: at most MCSEC_KEYSTORE_URI_MAX - 1 octets. */
#define MCSEC_KEYSTORE_URI_MAX 1024
#define MCSEC_GMK_LEN 16

/* Default scrypt cost: N = 2^16, r = 8, p = 1 (64 MiB, about 0.3 s on a 2020s x86-64 core).
 * Stores record their own parameters, so opening honours whatever the store was created with. */
#define MCSEC_KEYSTORE_SCRYPT_LOG2N 16
#define MCSEC_KEYSTORE_SCRYPT_R 8
#define MCSEC_KEYSTORE_SCRYPT_P 1

/* Accepted passphrase lengths (octets). */
#define MCSEC_PASSPHRASE_MIN 1
#define MCSEC_PASSPHRASE_MAX 1024

/* KMS public parameters (TS 33.180 D.3.2 KmsCertificate). */
typedef struct {
    char kms_uri[MCSEC_KEYSTORE_URI_MAX];
    uint32_t user_id_format;             /* 2: UID format 2 */
    uint64_t key_period;                 /* UserKeyPeriod, seconds, > 0 */
    uint64_t key_period_offset;          /* UserKeyOffset, seconds */
    uint8_t Z[MCSEC_SAKKE_POINT_LEN];    /* PubEncKey, SAKKE KMS public key */
    uint8_t kpak[MCSEC_ECCSI_POINT_LEN]; /* PubAuthKey, ECCSI KMS public key */
} mcsec_kms_params_t;

/* The handset's keys for one key period (TS 33.180 D.3.3 KmsKeySet). Holds secrets: wipe
 * with mcsec_memzero() after use. */
typedef struct {
    char user_uri[MCSEC_KEYSTORE_URI_MAX];
    uint8_t uid[MCSEC_UID_LEN];          /* UserID */
    uint64_t period_no;                  /* KeyPeriodNo */
    uint8_t rsk[MCSEC_SAKKE_POINT_LEN];  /* UserDecryptKey (secret) */
    uint8_t ssk[MCSEC_ECCSI_SCALAR_LEN]; /* UserSigningKeySSK (secret) */
    uint8_t pvt[MCSEC_ECCSI_POINT_LEN];  /* UserPubTokenPVT */
} mcsec_keyset_t;

/* GMK status bit: a revoked GMK is never the current one. */
#define MCSEC_GMK_STATUS_REVOKED 0x00000001u

/* A GMK and its key parameters (TS 33.180 E.6). Holds a secret: wipe after use. */
typedef struct {
    char group_uri[MCSEC_KEYSTORE_URI_MAX];
    uint8_t gmk[MCSEC_GMK_LEN]; /* the GMK (secret) */
    uint32_t gmk_id;            /* purpose tag 0 (MCSEC_PURPOSE_GMK) */
    uint32_t guk_id;
    uint64_t activation;      /* NTP timestamp; 0: active from the start */
    uint64_t expiry;          /* NTP timestamp; 0: never expires */
    uint32_t status;          /* key parameter status bits (MCSEC_GMK_STATUS_*) */
    uint64_t mikey_timestamp; /* T payload of the message that delivered it */
} mcsec_gmk_record_t;

/* The handset's credential for the KMS service (from a provisioning bundle): its identity,
 * role and CURVE key pair, and the KMS's CURVE public key and endpoint. Z85 keys are 40
 * characters. device_secret is secret: wipe after use. */
#define MCSEC_KEYSTORE_Z85_LEN 40
#define MCSEC_KEYSTORE_ENDPOINT_MAX 256
typedef struct {
    char user_uri[MCSEC_KEYSTORE_URI_MAX];
    char role[16];                                      /* "handset" or "groupmgr" */
    char device_public[MCSEC_KEYSTORE_Z85_LEN + 1];
    char device_secret[MCSEC_KEYSTORE_Z85_LEN + 1];     /* secret */
    char kms_public[MCSEC_KEYSTORE_Z85_LEN + 1];
    char kms_endpoint[MCSEC_KEYSTORE_ENDPOINT_MAX];     /* "tcp://HOST:PORT"; may be "" */
} mcsec_device_cred_t;

typedef struct mcsec_keystore mcsec_keystore_t;

/* One line describing the last failure of a keystore or passphrase call in this thread
 * (what was wrong and what to do, naming the file), or "" if none. Never NULL. Valid until
 * the next keystore call in this thread. */
const char *mcsec_keystore_last_error(void);

/* Creates a new store in dir with the default scrypt cost. dir is created (0700) if it does
 * not exist; its parent must. An existing directory is accepted if it holds no store yet, and
 * is chmod'ed to 0700. MCSEC_ERR_IO if dir already holds a store or cannot be written,
 * MCSEC_ERR_BAD_LENGTH for a passphrase outside [MCSEC_PASSPHRASE_MIN, _MAX]. */
mcsec_status_t mcsec_keystore_create(const char *dir, const char *passphrase,
                                     size_t passphrase_len) MCSEC_MUST_CHECK;

/* As mcsec_keystore_create with an explicit scrypt cost N = 2^log2_n. log2_n in [10, 22],
 * r in [1, 32], p in [1, 16], 128 * r * N at most 1 GiB; else MCSEC_ERR_UNSUPPORTED.
 * Costs below the default are for tests only. */
mcsec_status_t mcsec_keystore_create_with_cost(const char *dir, const char *passphrase,
                                               size_t passphrase_len, unsigned log2_n, uint32_t r,
                                               uint32_t p) MCSEC_MUST_CHECK;

/* Opens a store. MCSEC_ERR_IO if dir or its store.meta is missing or unreadable, or dir is
 * not owned by this user or is accessible to group/others; MCSEC_ERR_PASSPHRASE for a wrong
 * passphrase; MCSEC_ERR_TRUNCATED / _TRAILING_DATA / _VERIFY for a damaged store.meta;
 * MCSEC_ERR_UNSUPPORTED for a newer format version. The derived keys live in locked memory. */
mcsec_status_t mcsec_keystore_open(mcsec_keystore_t **out, const char *dir, const char *passphrase,
                                   size_t passphrase_len) MCSEC_MUST_CHECK;

/* Wipes the keys and frees the handle. NULL ok. */
void mcsec_keystore_close(mcsec_keystore_t *ks);

/* --- Records --------------------------------------------------------------------------
 * Every get returns MCSEC_ERR_VERIFY if a record fails authentication (tampered, truncated
 * past its header, or renamed from another record), MCSEC_ERR_TRUNCATED if a record file
 * is shorter than a record header plus tag, MCSEC_ERR_IO on a read error. Puts replace an
 * existing record atomically; MCSEC_ERR_BAD_INPUT for an empty or unterminated URI. */

mcsec_status_t mcsec_keystore_put_kms(mcsec_keystore_t *ks,
                                      const mcsec_kms_params_t *params) MCSEC_MUST_CHECK;
/* MCSEC_ERR_UNKNOWN_KEY if no KMS parameters are stored. */
mcsec_status_t mcsec_keystore_get_kms(mcsec_keystore_t *ks,
                                      mcsec_kms_params_t *params) MCSEC_MUST_CHECK;

mcsec_status_t mcsec_keystore_put_keyset(mcsec_keystore_t *ks,
                                         const mcsec_keyset_t *keyset) MCSEC_MUST_CHECK;
/* MCSEC_ERR_KEY_PERIOD if there is no key set for period_no. out is zeroed on failure. */
mcsec_status_t mcsec_keystore_get_keyset(mcsec_keystore_t *ks, uint64_t period_no,
                                         mcsec_keyset_t *out) MCSEC_MUST_CHECK;
/* The stored key period numbers in ascending order. *count receives the total; if it
 * exceeds cap, the first cap are written and MCSEC_ERR_BAD_LENGTH is returned (call with
 * cap 0 to size the array). Entries are listed by file name; get authenticates them. */
mcsec_status_t mcsec_keystore_list_periods(mcsec_keystore_t *ks, uint64_t *periods, size_t cap,
                                           size_t *count) MCSEC_MUST_CHECK;

/* MCSEC_ERR_PURPOSE if gmk_id's purpose tag is not MCSEC_PURPOSE_GMK. */
mcsec_status_t mcsec_keystore_put_gmk(mcsec_keystore_t *ks,
                                      const mcsec_gmk_record_t *gmk) MCSEC_MUST_CHECK;
/* MCSEC_ERR_UNKNOWN_KEY if there is no GMK with that id. out is zeroed on failure. */
mcsec_status_t mcsec_keystore_get_gmk(mcsec_keystore_t *ks, uint32_t gmk_id,
                                      mcsec_gmk_record_t *out) MCSEC_MUST_CHECK;
/* The stored GMK-IDs in ascending order; same conventions as list_periods. */
mcsec_status_t mcsec_keystore_list_gmks(mcsec_keystore_t *ks, uint32_t *gmk_ids, size_t cap,
                                        size_t *count) MCSEC_MUST_CHECK;

/* MCSEC_ERR_BAD_INPUT for an empty URI or role, or keys not of 40 Z85 characters. */
mcsec_status_t mcsec_keystore_put_device(mcsec_keystore_t *ks,
                                         const mcsec_device_cred_t *cred) MCSEC_MUST_CHECK;
/* MCSEC_ERR_UNKNOWN_KEY if the store holds no credential (not provisioned from a bundle). */
mcsec_status_t mcsec_keystore_get_device(mcsec_keystore_t *ks,
                                         mcsec_device_cred_t *out) MCSEC_MUST_CHECK;

/* The current GMK of group_uri at NTP time now: among the group's GMKs that are not revoked,
 * with activation <= now and (expiry == 0 or now < expiry), the one delivered by the message
 * with the latest MIKEY timestamp (ties: the higher GMK-ID). MCSEC_ERR_UNKNOWN_KEY if the
 * group has no GMK, MCSEC_ERR_EXPIRED if it has some but none is valid at now. Every GMK
 * record is authenticated: a damaged one fails the call (fail closed). */
mcsec_status_t mcsec_keystore_current_gmk(mcsec_keystore_t *ks, const char *group_uri, uint64_t now,
                                          mcsec_gmk_record_t *out) MCSEC_MUST_CHECK;

/* --- Passphrase -------------------------------------------------------------------------
 * Reads the passphrase from, in order: the file passphrase_file if not NULL (its first line;
 * a trailing "\n" or "\r\n" is dropped), the MCSEC_PASSPHRASE environment variable, or a
 * prompt on the controlling terminal (/dev/tty, echo off; with confirm, asked twice and
 * compared). The result is NUL-terminated, in locked memory; release it with
 * mcsec_passphrase_free. MCSEC_ERR_BAD_INPUT if no source is available (no file, no variable,
 * no terminal) or the entries differ, MCSEC_ERR_BAD_LENGTH if it is empty or longer than
 * MCSEC_PASSPHRASE_MAX, MCSEC_ERR_IO if the file cannot be read. The reason is in
 * mcsec_keystore_last_error(). */
mcsec_status_t mcsec_passphrase_read(const char *passphrase_file, const char *prompt, int confirm,
                                     char **passphrase, size_t *len) MCSEC_MUST_CHECK;
void mcsec_passphrase_free(char *passphrase); /* NULL ok; wipes */

#ifdef __cplusplus
}
#endif
#endif
