/* Internal interfaces of libmcsec_kms: the KMS handle, the store interface (a vtable so that
 * another back end, e.g. PostgreSQL, can be added next to store_sqlite.c), issuance, audit.
 * Not installed; tests may include it. */
#ifndef MCSEC_KMS_INTERNAL_H
#define MCSEC_KMS_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "mcsec/kms.h"
#include "mcsec/kmsxml.h"
#include "mcsec/pkmf.h"
#include "mcsec/seal.h"
#include "pkmf.pb-c.h"
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
    /* The PKMF / network entity tables (pkmf_store_sqlite.c). */
    const struct kms_pkmf_store_ops *pkmf;
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
/* Tests only: kms_now() returns now() from here on (NULL: the real clock again). Not reachable
 * from mcsec-kms's command line or environment; process-wide, set it before any thread runs. */
void kms_test_set_clock(int64_t (*now)(void));

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
/* Copies src into dst (cap octets with the NUL), octets outside printable ASCII (and spaces
 * unless spaces) as '?'. For text from requests and peers on its way to the audit or a log. */
void kms_printable(char *dst, size_t cap, const char *src, int spaces);
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

/* One request as a worker of the service handles it (server.c): a PkmfRequest goes to
 * kms_pkmf_handle, anything else to the KmsRequest handler (revocation re-check, decoding,
 * authorisation, clock check, issuance). verdict is the front's: 0 accepted, 1 larger than
 * max_request, 2 rate limited (audited; unaudited: how many refused without a row before it),
 * 3 not one payload frame, 4 rate limited without an audit row. doc and init are scratch
 * buffers of MCSEC_KMS_DOC_MAX octets, wiped before returning. Returns the packed response
 * (malloc'ed, *resp_len octets, may hold keys: wipe it when freed; NULL when out of memory)
 * and the audit row (*audit 1: commit it before the response goes out). Also driven directly by
 * tests/fuzz/fuzz_kms_request.c. */
uint8_t *kms_serve_request(const mcsec_kms_t *kms, kms_store_t *s, size_t max_request,
                           int64_t device_id, int verdict, uint32_t unaudited,
                           const uint8_t *payload, size_t len, char *doc, char *init,
                           size_t *resp_len, int *audit, mcsec_kms_audit_t *row);

/* --- Bundles (bundle_make.c) ----------------------------------------------------------------- */

/* Writes the bundle of a just-enrolled device (credential cred) to path; code receives the
 * printed code. Issues the documents for period_no and the next, audited on s first (s NULL:
 * the caller has audited them already). */
mcsec_status_t kms_bundle_write(const mcsec_kms_t *kms, kms_store_t *s,
                                const mcsec_kms_device_t *d, const mcsec_kms_credential_t *cred,
                                uint64_t period_no, const char *path, char *code);

/* --- PKMF and network entity (pkmf*.c; include/mcsec/pkmf.h) -------------------------------- */

#define PKMF_SEALED_MAX (MCSEC_SEAL_NONCE_LEN + 64 + MCSEC_SEAL_TAG_LEN) /* two 32-octet keys */
#define PKMF_ADDR_MAX 64
#define PKMF_SESSION_LEN 16

/* A remote UE at the PKMF: PMK and PRUK sealed together (PMK || PRUK, the PRUK zero when
 * pruk_id is 0). */
typedef struct {
    char uri[MCSEC_KMS_URI_MAX + 1];
    uint64_t pmk_id;  /* 0: none */
    uint64_t pruk_id; /* 0: none */
    int64_t pruk_created;
    uint8_t sealed[PKMF_SEALED_MAX];
    size_t sealed_len;
    char push_addr[PKMF_ADDR_MAX]; /* "A.B.C.D:PORT" or "" */
} kms_pkmf_ue_t;

/* A network-authorised keying session as one entity sees it (KM1 || KM2 sealed). */
typedef struct {
    uint8_t session[PKMF_SESSION_LEN];
    char initiator[MCSEC_KMS_URI_MAX + 1], responder[MCSEC_KMS_URI_MAX + 1];
    int role; /* 1: this entity serves the initiator, 2: the responder */
    uint32_t conn_id, kd_id;
    uint8_t sealed[PKMF_SEALED_MAX];
    size_t sealed_len;
    int64_t created;
    int fetched;
} kms_pkmf_session_t;

typedef struct {
    char uri[MCSEC_KMS_URI_MAX + 1];
    char endpoint[MCSEC_KMS_ENDPOINT_MAX + 1];
    char curve_public[MCSEC_KMS_Z85_LEN + 1];
    char serves[MCSEC_KMS_URI_MAX + 1];
} kms_pkmf_peer_t;

/* Same status conventions as the store; tables are created on the first write, and reads of a
 * store that has none yet find nothing. */
typedef struct kms_pkmf_store_ops {
    mcsec_status_t (*auth_get)(kms_store_t *s, const char *uri, int what, int *allowed);
    mcsec_status_t (*auth_set)(kms_store_t *s, const char *uri, int what, int allow);
    /* *allowed: relay may serve ue (a grant for ue or for "*"). */
    mcsec_status_t (*relay_get)(kms_store_t *s, const char *relay, const char *ue, int *allowed);
    mcsec_status_t (*relay_set)(kms_store_t *s, const char *relay, const char *ue, int allow);
    mcsec_status_t (*ue_get)(kms_store_t *s, const char *uri, kms_pkmf_ue_t *out);
    mcsec_status_t (*ue_by_pruk)(kms_store_t *s, uint64_t pruk_id, kms_pkmf_ue_t *out);
    mcsec_status_t (*ue_put)(kms_store_t *s, const kms_pkmf_ue_t *in);
    mcsec_status_t (*ue_delete)(kms_store_t *s, const char *uri);
    mcsec_status_t (*peer_put)(kms_store_t *s, const kms_pkmf_peer_t *in);
    /* The peer whose `serves` is the longest suffix of ue_uri. */
    mcsec_status_t (*peer_for)(kms_store_t *s, const char *ue_uri, kms_pkmf_peer_t *out);
    mcsec_status_t (*peer_get)(kms_store_t *s, const char *peer_uri, kms_pkmf_peer_t *out);
    /* MCSEC_ERR_REPLAY if (session, role) exists; drops sessions older than a day. */
    mcsec_status_t (*session_put)(kms_store_t *s, const kms_pkmf_session_t *in);
    mcsec_status_t (*session_get)(kms_store_t *s, const uint8_t session[PKMF_SESSION_LEN],
                                  int role, kms_pkmf_session_t *out);
    /* Marks a session fetched: MCSEC_ERR_REPLAY if it already was. */
    mcsec_status_t (*session_fetch)(kms_store_t *s, const uint8_t session[PKMF_SESSION_LEN],
                                    int role);
    mcsec_status_t (*list)(kms_store_t *s, mcsec_pkmf_line_fn fn, void *user);
} kms_pkmf_store_ops_t;

extern const kms_pkmf_store_ops_t kms_pkmf_store_sqlite;
/* The SQLite handle of a store connection (store_sqlite.c), and its failure mapping. */
struct sqlite3 *kms_sqlite_db(kms_store_t *s);
mcsec_status_t kms_sqlite_fail(kms_store_t *s, int rc, const char *doing);

/* pkmf_seal.c: keys derived from the KMS master secrets (HKDF-SHA256), so nothing new is kept. */
mcsec_status_t pkmf_seal_key(const mcsec_kms_t *kms, uint8_t key[MCSEC_SEAL_KEY_LEN]);
/* The PKMF's Key Type ID: 32 bits derived from the master secrets (stable, never 0). */
mcsec_status_t pkmf_key_type_id(const mcsec_kms_t *kms, uint32_t *out);
/* Seals / opens a and b (32 octets each) with aad. */
mcsec_status_t pkmf_seal2(const mcsec_kms_t *kms, const uint8_t *aad, size_t aad_len,
                          const uint8_t a[32], const uint8_t b[32], uint8_t *sealed,
                          size_t *sealed_len);
mcsec_status_t pkmf_open2(const mcsec_kms_t *kms, const uint8_t *aad, size_t aad_len,
                          const uint8_t *sealed, size_t sealed_len, uint8_t a[32], uint8_t b[32]);
/* The associated data of a UE record and of a session record. */
size_t pkmf_ue_aad(const kms_pkmf_ue_t *u, uint8_t *aad, size_t cap);
size_t pkmf_session_aad(const kms_pkmf_session_t *x, uint8_t *aad, size_t cap);

/* One PKMF request being handled (pkmf_serve.c dispatches to the pkmf_on_* handlers). The
 * handlers fill resp (its body pointing into this struct's storage, wiped after packing),
 * the audited subject, action and reason. */
typedef struct {
    const mcsec_kms_t *kms;
    kms_store_t *s;
    const kms_pkmf_store_ops_t *ps;
    const mcsec_kms_device_t *dev; /* the caller */
    char subject[MCSEC_KMS_URI_MAX + 1];
    const char *action;
    char why[256];
    uint8_t pmk[32], kd[32], km1[32], km2[32], param[16], session[PKMF_SESSION_LEN];
    uint8_t mikey[1024];
    char uri_a[MCSEC_KMS_URI_MAX + 1], uri_b[MCSEC_KMS_URI_MAX + 1];
    union {
        Mcsec__Pkmf__UeKeyResponse ue;
        Mcsec__Pkmf__RelayKeyResponse relay;
        Mcsec__Pkmf__NwKeyResponse nw;
        Mcsec__Pkmf__DirectKeyingResponse dk;
    } body;
} pkmf_req_t;

/* Sets r->why (one line) and returns st. */
mcsec_status_t pkmf_fail(pkmf_req_t *r, mcsec_status_t st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
mcsec_status_t pkmf_on_ue_key(pkmf_req_t *r, const Mcsec__Pkmf__UeKeyRequest *q,
                              Mcsec__Pkmf__PkmfResponse *resp);
mcsec_status_t pkmf_on_relay_key(pkmf_req_t *r, const Mcsec__Pkmf__RelayKeyRequest *q,
                                 Mcsec__Pkmf__PkmfResponse *resp);
mcsec_status_t pkmf_on_nw_key(pkmf_req_t *r, const Mcsec__Pkmf__NwKeyRequest *q,
                              Mcsec__Pkmf__PkmfResponse *resp);
mcsec_status_t pkmf_on_nw_fetch(pkmf_req_t *r, const Mcsec__Pkmf__NwKeyFetch *q,
                                Mcsec__Pkmf__PkmfResponse *resp);
mcsec_status_t pkmf_on_direct_keying(pkmf_req_t *r, const Mcsec__Pkmf__DirectKeyingRequest *q,
                                     Mcsec__Pkmf__PkmfResponse *resp);
/* A random non-zero 64-bit identifier. */
mcsec_status_t pkmf_random_id(uint64_t *out);
/* MCSEC_OK if uri is authorised for what; else MCSEC_ERR_POLICY (or MCSEC_ERR_IO for a store
 * failure) with r->why set. */
mcsec_status_t pkmf_check_auth(pkmf_req_t *r, const char *uri, int what);

/* pkmf_serve.c: handles one request of the KMS service if it is a PkmfRequest: returns 1 and
 * the packed PkmfResponse (malloc'ed, *resp_len octets, may hold keys: wipe when freed) and the
 * audit row (*audit 1: commit it before the response goes out); 0 if it is not one. */
int kms_pkmf_handle(const mcsec_kms_t *kms, kms_store_t *s, int64_t device_id,
                    const uint8_t *payload, size_t len, uint8_t **resp, size_t *resp_len,
                    int *audit, mcsec_kms_audit_t *row);

#endif
