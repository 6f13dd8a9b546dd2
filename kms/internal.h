/* Internal interfaces of libmcsec_kms: the KMS handle, the store interface (a vtable so that
 * another back end, e.g. PostgreSQL, can be added next to store_sqlite.c), issuance, audit.
 * Not installed; tests may include it. */
#ifndef MCSEC_KMS_INTERNAL_H
#define MCSEC_KMS_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "mcsec/kms.h"
#include "mcsec/kmsxml.h"
#include "mcsec/status.h"

#define KMS_DB_NAME "kms.db"
#define KMS_SECRETS_LEN (MCSEC_SAKKE_SCALAR_LEN + MCSEC_ECCSI_SCALAR_LEN + MCSEC_KMS_Z85_LEN)

/* Records the one-line reason returned by mcsec_kms_last_error(). */
void kms_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void kms_clear_error(void);

/* --- Store interface ------------------------------------------------------------------------
 * One kms_store_t is one connection, used by one thread. Every function returns MCSEC_OK,
 * MCSEC_ERR_UNKNOWN_KEY for a missing row, MCSEC_ERR_VERIFY for a damaged store file,
 * MCSEC_ERR_IO for other store failures (with kms_error set). Writes outside begin/commit
 * commit on their own (durably) before returning. */
typedef struct kms_store kms_store_t;

typedef struct {
    const char *name;
    /* create: make the file and schema (MCSEC_ERR_IO if it exists). Otherwise the file must
     * exist; opening does not write to it. */
    mcsec_status_t (*open)(const char *dir, int create, kms_store_t **out);
    void (*close)(kms_store_t *s);
    mcsec_status_t (*begin)(kms_store_t *s);
    mcsec_status_t (*commit)(kms_store_t *s);
    void (*rollback)(kms_store_t *s);
    /* Small named blobs: public parameters, sealed secrets, endpoint. */
    mcsec_status_t (*meta_get)(kms_store_t *s, const char *name, uint8_t *buf, size_t cap,
                               size_t *len);
    mcsec_status_t (*meta_put)(kms_store_t *s, const char *name, const uint8_t *v, size_t len);
    /* Devices. add sets d->id; MCSEC_ERR_POLICY if the CURVE key is taken. */
    mcsec_status_t (*device_add)(kms_store_t *s, mcsec_kms_device_t *d);
    mcsec_status_t (*device_get)(kms_store_t *s, int64_t id, mcsec_kms_device_t *out);
    mcsec_status_t (*device_by_key)(kms_store_t *s, const char *curve_public,
                                    mcsec_kms_device_t *out);
    mcsec_status_t (*device_revoke)(kms_store_t *s, int64_t id, int64_t when);
    mcsec_status_t (*device_list)(kms_store_t *s, const char *uri, mcsec_kms_device_fn fn,
                                  void *user); /* uri NULL: all */
    /* Audit. add sets row->id. */
    mcsec_status_t (*audit_add)(kms_store_t *s, mcsec_kms_audit_t *row);
    mcsec_status_t (*audit_list)(kms_store_t *s, int64_t after_id, mcsec_kms_audit_fn fn,
                                 void *user);
} kms_store_ops_t;

extern const kms_store_ops_t kms_store_sqlite;

/* --- The KMS handle ------------------------------------------------------------------------ */

/* Master secrets, in locked memory. */
typedef struct {
    uint8_t z[MCSEC_SAKKE_SCALAR_LEN];        /* SAKKE master secret */
    uint8_t ksak[MCSEC_ECCSI_SCALAR_LEN];     /* ECCSI KSAK */
    char curve_secret[MCSEC_KMS_Z85_LEN + 1]; /* transport CURVE secret key */
} kms_secrets_t;

struct mcsec_kms {
    char *dir;
    const kms_store_ops_t *ops;
    kms_store_t *store;     /* the handle's own connection (caller's thread) */
    mcsec_kms_info_t info;  /* immutable after open, except the endpoint */
    kms_secrets_t *secrets; /* mcsec_secure_alloc */
};

/* Opens another connection to kms's store (for a thread of its own). */
mcsec_status_t kms_store_connect(const mcsec_kms_t *kms, kms_store_t **out);

/* Unix seconds now. */
int64_t kms_now(void);

/* --- Issuance (issue.c); thread safe: reads only immutable parts of kms ---------------------- */

/* The key set of uri for period_no: UID format 2, RSK, (SSK, PVT). Secret: wipe out. */
mcsec_status_t kms_issue_keyset(const mcsec_kms_t *kms, const char *uri, uint64_t period_no,
                                mcsec_kms_keyset_t *out);
/* KmsResponse/KmsInit. */
mcsec_status_t kms_doc_init(const mcsec_kms_t *kms, const char *user_uri, char *buf, size_t cap,
                            size_t *len);
/* KmsResponse/KmsKeyProv for uri with periods period_no and period_no + 1. */
mcsec_status_t kms_doc_keyprov(const mcsec_kms_t *kms, const char *uri, uint64_t period_no,
                               char *buf, size_t cap, size_t *len);

/* --- Devices and authorisation (devices.c) --------------------------------------------------- */

/* Checks an enrolment request: URI, role, groups, optional key. */
mcsec_status_t kms_check_enroll(const mcsec_kms_enroll_t *req);
/* Fills a device row from req (and the key); groups '\n'-joined. */
void kms_device_from(const mcsec_kms_enroll_t *req, const char *curve_public,
                     mcsec_kms_device_t *d);
/* Inserts the device and its "enroll" audit row on store s (inside the caller's transaction if
 * one is open). */
mcsec_status_t kms_enroll_on(kms_store_t *s, const kms_store_ops_t *ops, mcsec_kms_device_t *d);
/* MCSEC_OK if device may fetch the keys of uri; else MCSEC_ERR_POLICY with a reason. */
mcsec_status_t kms_authorise(const mcsec_kms_device_t *device, const char *uri, const char **why);
/* A URI as the KMS accepts it: 1..255 octets, printable ASCII, no spaces. */
int kms_uri_ok(const char *uri);
/* A Z85 CURVE key: 40 characters of the Z85 alphabet that decode to 32 octets. */
int kms_z85_key_ok(const char *key);

/* --- Audit (audit.c) ------------------------------------------------------------------------ */

/* Fills a row (time now) without writing it. */
void kms_audit_row(mcsec_kms_audit_t *row, int64_t device_id, const char *subject,
                   int64_t period_no, const char *action, mcsec_status_t status,
                   uint64_t request_id, const char *reason);
/* Appends a row (time now). subject and reason may be NULL; period_no -1 for none. */
mcsec_status_t kms_audit(kms_store_t *s, const kms_store_ops_t *ops, int64_t device_id,
                         const char *subject, int64_t period_no, const char *action,
                         mcsec_status_t status, uint64_t request_id, const char *reason);

/* --- Service (server.c, zap.c) -------------------------------------------------------------- */

/* The ZAP handler (RFC 27) on inproc://zeromq.zap.01: admits CURVE clients whose public key
 * belongs to an enrolled, non-revoked device and sets the ZAP User-Id to the device id in
 * decimal; everything else gets 400 (audited as "connect-refused", at most once per key per
 * minute). start binds before returning, so it runs before any CURVE socket binds; the
 * thread ends when the context is shut down. */
typedef struct kms_zap kms_zap_t;
mcsec_status_t kms_zap_start(const mcsec_kms_t *kms, void *zmq_ctx, kms_zap_t **out);
void kms_zap_join(kms_zap_t *zap); /* after zmq_ctx_shutdown; frees */

/* --- Bundles (bundle_make.c) ----------------------------------------------------------------- */

/* Writes the bundle of a just-enrolled device (credential cred) to path; code receives the
 * printed code. Issues the documents for period_no and the next, audited on s first (s NULL:
 * the caller has audited them already). */
mcsec_status_t kms_bundle_write(const mcsec_kms_t *kms, kms_store_t *s,
                                const mcsec_kms_device_t *d, const mcsec_kms_credential_t *cred,
                                uint64_t period_no, const char *path, char *code);

#endif
