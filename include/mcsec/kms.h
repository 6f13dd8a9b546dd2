/* The KMS (TS 33.180 key management server): master keys sealed at rest, device enrolment
 * with CURVE credentials, issuance of the TS 33.180 Annex D documents (KmsInit, KmsKeyProv),
 * an audit table, a ZeroMQ + CURVE service and bulk provisioning of handset bundles.
 *
 * A KMS lives in a directory holding one store (kms.db, SQLite in WAL mode). Its master
 * secrets (SAKKE z, ECCSI KSAK, the CURVE secret key of the transport) are sealed with
 * AES-256-GCM under a random data key, itself sealed under scrypt(passphrase); once opened
 * they stay in locked memory (mcsec_secure_alloc) until mcsec_kms_close.
 *
 * A handle is used by one thread at a time. mcsec_kms_serve and mcsec_kms_provision run
 * their own threads, each with its own store connection; several processes may open the same
 * KMS (e.g. `mcsec-kms revoke` while `mcsec-kms serve` runs): the store serialises writers.
 *
 * Every issuance, enrolment, revocation and refusal is an audit row, committed before the
 * caller (or the remote device) sees the result. Errors: a status, and one line saying what
 * was wrong and what to do in mcsec_kms_last_error(). Times in the API are Unix seconds
 * unless called NTP (seconds since 1900, as the key period arithmetic uses). */
#ifndef MCSEC_KMS_H
#define MCSEC_KMS_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "mcsec/eccsi.h"
#include "mcsec/sakke.h"
#include "mcsec/status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define MCSEC_KMS_URI_MAX 255            /* URIs (KMS, users, groups), octets */
#define MCSEC_KMS_ENDPOINT_MAX 255       /* ZeroMQ endpoint, octets */
#define MCSEC_KMS_Z85_LEN 40             /* a CURVE key in Z85 */
#define MCSEC_KMS_GROUPS_MAX 64          /* groups per device */
#define MCSEC_KMS_GROUPS_TEXT_MAX 4096   /* the groups of a device, '\n'-joined, incl. NUL */
#define MCSEC_KMS_DOC_MAX 16384          /* largest KmsInit / KmsKeyProv written */
#define MCSEC_KMS_KEY_PERIOD_DEFAULT 2592000u /* 30 days */
#define MCSEC_KMS_NTP_UNIX_OFFSET 2208988800u /* NTP seconds - Unix seconds */

typedef struct mcsec_kms mcsec_kms_t;

/* One line about the last failure in this thread ("" if none). Never NULL. */
const char *mcsec_kms_last_error(void);

/* --- Life cycle ---------------------------------------------------------------------------- */

typedef struct {
    const char *dir;           /* created 0700 if missing; must not hold a KMS yet */
    const char *kms_uri;       /* e.g. "kms.example.org" */
    uint64_t key_period;       /* seconds; 0: MCSEC_KMS_KEY_PERIOD_DEFAULT */
    uint64_t key_offset;       /* seconds, < key_period */
    const char *endpoint;      /* put into bundles, e.g. "tcp://kms.example.org:7001"; may be NULL */
    const char *passphrase;
    size_t passphrase_len;     /* 1..1024 */
    unsigned kdf_log2n;        /* scrypt cost: 0 = defaults (N = 2^16, r = 8, p = 1). Lower */
    uint32_t kdf_r, kdf_p;     /* costs are for tests only. */
} mcsec_kms_config_t;

/* Creates a KMS: fresh SAKKE (z, Z), ECCSI (KSAK, KPAK) and CURVE key pairs, the store, the
 * sealed secrets. MCSEC_ERR_IO if dir already holds a KMS or cannot be written;
 * MCSEC_ERR_BAD_INPUT / _BAD_LENGTH for bad arguments. *out may be NULL (just create). */
mcsec_status_t mcsec_kms_create(mcsec_kms_t **out, const mcsec_kms_config_t *cfg) MCSEC_MUST_CHECK;

/* Opens a KMS. Writes nothing before the secrets are unsealed and checked. MCSEC_ERR_IO: no
 * KMS at dir, or the store cannot be read; MCSEC_ERR_PASSPHRASE: wrong passphrase;
 * MCSEC_ERR_VERIFY: the store file or its sealed records are damaged (nothing is written);
 * MCSEC_ERR_UNSUPPORTED: a newer format. */
mcsec_status_t mcsec_kms_open(mcsec_kms_t **out, const char *dir, const char *passphrase,
                              size_t passphrase_len) MCSEC_MUST_CHECK;

/* Wipes the master secrets and closes the store. NULL ok. */
void mcsec_kms_close(mcsec_kms_t *kms);

/* Public facts about the KMS. */
typedef struct {
    char kms_uri[MCSEC_KMS_URI_MAX + 1];
    uint64_t key_period, key_offset;
    char endpoint[MCSEC_KMS_ENDPOINT_MAX + 1]; /* "" if none recorded */
    char curve_public[MCSEC_KMS_Z85_LEN + 1];  /* the transport's CURVE public key (Z85) */
    uint8_t Z[MCSEC_SAKKE_POINT_LEN];          /* SAKKE KMS public key */
    uint8_t kpak[MCSEC_ECCSI_POINT_LEN];       /* ECCSI KMS public key */
    int64_t created;                           /* Unix seconds */
} mcsec_kms_info_t;

void mcsec_kms_get_info(const mcsec_kms_t *kms, mcsec_kms_info_t *out);

/* Records the endpoint put into bundles (MCSEC_ERR_BAD_INPUT unless it is tcp://HOST:PORT). */
mcsec_status_t mcsec_kms_set_endpoint(mcsec_kms_t *kms, const char *endpoint) MCSEC_MUST_CHECK;

/* The key period containing NTP time at (0: now). */
mcsec_status_t mcsec_kms_period_at(const mcsec_kms_t *kms, uint64_t at_ntp,
                                   uint64_t *period_no) MCSEC_MUST_CHECK;

/* --- Devices ------------------------------------------------------------------------------- */

typedef enum {
    MCSEC_KMS_ROLE_HANDSET = 1,  /* may fetch its own URI's keys */
    MCSEC_KMS_ROLE_GROUPMGR = 2, /* its own and those of the groups it manages */
} mcsec_kms_role_t;

/* "handset" / "groupmgr"; and back (0 if unknown). */
const char *mcsec_kms_role_name(mcsec_kms_role_t role);
mcsec_kms_role_t mcsec_kms_role_parse(const char *name);

typedef struct {
    const char *uri;                 /* the identity (user URI, or a group manager's URI) */
    mcsec_kms_role_t role;
    const char *const *groups;       /* groups it is in (handset) or manages (groupmgr) */
    size_t n_groups;
    const char *curve_public;        /* NULL: the KMS makes the key pair; else the device's own
                                        Z85 public key (its secret never leaves the device) */
} mcsec_kms_enroll_t;

/* A new device credential. curve_secret is secret: wipe the struct after use. */
typedef struct {
    int64_t device_id;
    char curve_public[MCSEC_KMS_Z85_LEN + 1];
    char curve_secret[MCSEC_KMS_Z85_LEN + 1]; /* "" when the device brought its own key */
} mcsec_kms_credential_t;

typedef struct {
    int64_t id;
    char uri[MCSEC_KMS_URI_MAX + 1];
    mcsec_kms_role_t role;
    char groups[MCSEC_KMS_GROUPS_TEXT_MAX]; /* '\n'-joined, "" if none */
    char curve_public[MCSEC_KMS_Z85_LEN + 1];
    int revoked;
    int64_t enrolled_at, revoked_at; /* Unix seconds; revoked_at 0 if not revoked */
} mcsec_kms_device_t;

/* Registers a device (audited as "enroll"). MCSEC_ERR_BAD_INPUT: bad URI, role, group or key;
 * MCSEC_ERR_BAD_LENGTH: too long or too many groups; MCSEC_ERR_POLICY: that CURVE key is
 * already enrolled. */
mcsec_status_t mcsec_kms_enroll(mcsec_kms_t *kms, const mcsec_kms_enroll_t *req,
                                mcsec_kms_credential_t *out) MCSEC_MUST_CHECK;

/* Revokes one device (audited as "revoke"): its CURVE key is refused from then on, by new
 * connections (ZAP) and on the next request of an open one. MCSEC_ERR_UNKNOWN_KEY: no such
 * device; revoking a revoked device is MCSEC_OK and changes nothing. */
mcsec_status_t mcsec_kms_revoke(mcsec_kms_t *kms, int64_t device_id,
                                const char *reason) MCSEC_MUST_CHECK;
/* Revokes every non-revoked device of uri; *count (may be NULL) receives how many.
 * MCSEC_ERR_UNKNOWN_KEY if there was none. */
mcsec_status_t mcsec_kms_revoke_uri(mcsec_kms_t *kms, const char *uri, const char *reason,
                                    size_t *count) MCSEC_MUST_CHECK;

mcsec_status_t mcsec_kms_get_device(mcsec_kms_t *kms, int64_t device_id,
                                    mcsec_kms_device_t *out) MCSEC_MUST_CHECK;

/* Calls fn for each device in id order; a non-zero return stops the walk. */
typedef int (*mcsec_kms_device_fn)(void *user, const mcsec_kms_device_t *device);
mcsec_status_t mcsec_kms_list_devices(mcsec_kms_t *kms, mcsec_kms_device_fn fn,
                                      void *user) MCSEC_MUST_CHECK;

/* --- Audit --------------------------------------------------------------------------------- */

typedef struct {
    int64_t id;
    int64_t time;                         /* Unix seconds */
    int64_t device_id;                    /* 0: none (offline issuance, unknown key) */
    char subject[MCSEC_KMS_URI_MAX + 1];  /* the URI asked for or acted on, or a CURVE key */
    int64_t period_no;                    /* -1 if none */
    char action[32];  /* enroll, revoke, issue, issue-offline, refuse, connect-refused */
    int32_t status;   /* mcsec_status_t of the outcome */
    uint64_t request_id;                  /* the envelope's request_id, 0 if none */
    char reason[256];
} mcsec_kms_audit_t;

typedef int (*mcsec_kms_audit_fn)(void *user, const mcsec_kms_audit_t *row);
/* Rows with id > after_id, in id order. */
mcsec_status_t mcsec_kms_list_audit(mcsec_kms_t *kms, int64_t after_id, mcsec_kms_audit_fn fn,
                                    void *user) MCSEC_MUST_CHECK;

/* --- Documents (offline issuance) ---------------------------------------------------------- */

/* KmsResponse/KmsInit (the KMS certificate) for user_uri (may be NULL: the KMS URI is used
 * in the UserUri header). buf of cap octets, NUL-terminated, *len without the NUL. */
mcsec_status_t mcsec_kms_write_init(mcsec_kms_t *kms, const char *user_uri, char *buf, size_t cap,
                                    size_t *len) MCSEC_MUST_CHECK;

/* KmsResponse/KmsKeyProv with the key sets of user_uri for the key period containing NTP time
 * at (0: now) and the next one, audited as "issue-offline" (device 0). Secret: wipe buf. */
mcsec_status_t mcsec_kms_write_keyprov(mcsec_kms_t *kms, const char *user_uri, uint64_t at_ntp,
                                       char *buf, size_t cap, size_t *len) MCSEC_MUST_CHECK;

/* Enrols a device as mcsec_kms_enroll (generated key pair) and writes its handset bundle to
 * path (0600, never replacing a file) with documents for the period at at_ntp (0: now) and the
 * next; the one-time code goes to code (MCSEC_BUNDLE_CODE_LEN + 1 octets). */
mcsec_status_t mcsec_kms_enroll_bundle(mcsec_kms_t *kms, const mcsec_kms_enroll_t *req,
                                       uint64_t at_ntp, const char *path, char *code,
                                       mcsec_kms_credential_t *out) MCSEC_MUST_CHECK;

/* --- Service ------------------------------------------------------------------------------- */

typedef struct {
    const char *bind;          /* e.g. "tcp://127.0.0.1:7001" ("tcp://127.0.0.1:*": any port) */
    unsigned workers;          /* issuing threads; 0: one per online CPU */
    size_t max_request;        /* application limit, octets; 0: 16384 */
    double rate;               /* requests per second per device; 0: 5 */
    double burst;              /* token bucket depth; 0: 10 */
    volatile sig_atomic_t *stop; /* the service stops gracefully once *stop is non-zero */
    void (*on_ready)(void *user, const char *endpoint); /* called once bound (may be NULL) */
    void *user;
} mcsec_kms_serve_config_t;

/* Runs the service until *cfg->stop: ZAP handler (enrolled, non-revoked CURVE keys only), a
 * CURVE ROUTER, a worker pool. Returns after in-flight requests are answered. MCSEC_ERR_IO if
 * it cannot bind. Request handling is described in docs/protocol.md ("KMS service"). */
mcsec_status_t mcsec_kms_serve(mcsec_kms_t *kms, const mcsec_kms_serve_config_t *cfg) MCSEC_MUST_CHECK;

/* --- Bulk provisioning --------------------------------------------------------------------- */

/* A roster row (CSV "uri,role,groups", groups separated by ';'). Rows made by the caller
 * point at the caller's strings; rows from mcsec_kms_roster_read own theirs. */
typedef struct {
    const char *uri;
    mcsec_kms_role_t role;
    size_t n_groups;
    const char *const *groups; /* n_groups URIs */
} mcsec_kms_roster_row_t;

/* Parses a roster file. Any bad row fails the whole file with MCSEC_ERR_BAD_INPUT and the
 * line number in mcsec_kms_last_error(). Each row takes about the size of its line; give the
 * rows back with mcsec_kms_roster_free(*rows, *n). */
mcsec_status_t mcsec_kms_roster_read(const char *path, mcsec_kms_roster_row_t **rows,
                                     size_t *n) MCSEC_MUST_CHECK;

/* Frees rows returned by mcsec_kms_roster_read (NULL is fine). */
void mcsec_kms_roster_free(mcsec_kms_roster_row_t *rows, size_t n);

/* Progress: called from the calling thread, done of total. */
typedef void (*mcsec_kms_progress_fn)(void *user, size_t done, size_t total);

/* Enrols every row and writes out_dir/<safe uri>.mcsb bundles plus out_dir/summary.txt
 * (0600: "uri<TAB>file<TAB>code" per line) using `threads` threads (0: one per CPU). out_dir
 * is created 0700 and must not hold bundles for these URIs. Rows are enrolled in one
 * transaction first (all or nothing); a failure while writing bundles leaves the devices
 * enrolled and is reported (revoke them or re-run into an empty directory). */
mcsec_status_t mcsec_kms_provision(mcsec_kms_t *kms, const mcsec_kms_roster_row_t *rows, size_t n,
                                   const char *out_dir, uint64_t at_ntp, unsigned threads,
                                   mcsec_kms_progress_fn progress, void *user) MCSEC_MUST_CHECK;

/* A file-system-safe, injective name for uri: [A-Za-z0-9.-] kept (a leading '.' excepted),
 * every other octet written "_XX" (lower-case hex), e.g. sip:alice@example.org ->
 * sip_3aalice_40example.org. Names longer than 200 octets are cut to 183 and followed by
 * "~" and 16 hex digits of SHA-256(uri). out has 256 octets. */
void mcsec_kms_safe_name(const char *uri, char out[256]);

#ifdef __cplusplus
}
#endif
#endif
