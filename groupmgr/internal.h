/* Internal interfaces of libmcsec_groupmgr: the handle, the store interface (a vtable, so that
 * a PostgreSQL back end can sit next to store_sqlite.c), sealing, group keys, GMK generation
 * and history, the fan-out pool, the service. Not installed; tests may include it. */
#ifndef MCSEC_GROUPMGR_INTERNAL_H
#define MCSEC_GROUPMGR_INTERNAL_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "mcsec/eccsi.h"
#include "mcsec/groupmgr.h"
#include "mcsec/keystore.h"
#include "mcsec/profile.h"
#include "mcsec/sakke.h"
#include "mcsec/seal.h"
#include "mcsec/status.h"

#define GM_DB_NAME "groupmgr.db"
#define GM_PUB_NAME "groupmgr.pub"
#define GM_LOCK_NAME "rekey.lock"
#define GM_URI_CAP (MCSEC_GROUPMGR_URI_MAX + 1)
#define GM_MSG_CAP 4096 /* one GMK I_MESSAGE: ~680 octets + URIs + key parameters */
#define GM_SEALED_OVERHEAD (MCSEC_SEAL_NONCE_LEN + MCSEC_SEAL_TAG_LEN)
#define GM_SEALED_GMK_LEN (GM_SEALED_OVERHEAD + MCSEC_GMK_LEN)

/* Records the one-line reason returned by mcsec_groupmgr_last_error(). */
void gm_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void gm_clear_error(void);

/* A URI as the Group Manager accepts it: 1..255 octets, printable ASCII, no spaces. */
int gm_uri_ok(const char *uri);
/* NTP 64-bit timestamp now; NTP seconds now; Unix seconds now. */
uint64_t gm_now64(void);
uint64_t gm_now_ntp(void);
int64_t gm_now_unix(void);
double gm_mono(void); /* CLOCK_MONOTONIC seconds */

/* --- Store interface ------------------------------------------------------------------------
 * One gm_store_t is one connection, used by one thread. Functions return MCSEC_OK,
 * MCSEC_ERR_UNKNOWN_KEY for a missing row, MCSEC_ERR_VERIFY for a damaged store file,
 * MCSEC_ERR_IO for other failures (gm_error set). Writes outside begin/commit commit on their
 * own. begin takes the write lock at once (BEGIN IMMEDIATE), so a transaction that reads and
 * then writes sees no other writer in between. Timestamps are stored as the signed 64-bit
 * image of the NTP value; every time since 1968 has the top bit set, so the order is kept. */
typedef struct gm_store gm_store_t;

typedef struct {
    char uri[GM_URI_CAP];
    uint64_t lifetime;
    int rekey_on_leave;
    int64_t member_version; /* bumped by every membership change */
    uint64_t last_ts;       /* timestamp of the group's latest GMK (0: none) */
    int64_t created;
} gm_group_row_t;

typedef struct {
    int64_t id; /* row id */
    char group_uri[GM_URI_CAP];
    uint32_t gmk_id;
    uint64_t ts, activation, expiry;
    int status; /* mcsec_groupmgr_gmk_status_t */
    char reason[32];
    uint8_t sealed[GM_SEALED_GMK_LEN];
    int64_t created;
} gm_gmk_row_t;

typedef struct {
    int64_t id;  /* row id */
    int64_t gmk; /* gmks row id */
    char member_uri[GM_URI_CAP];
    int state;   /* mcsec_groupmgr_delivery_state_t */
    unsigned attempts;
    char group_uri[GM_URI_CAP]; /* of the GMK */
    uint32_t gmk_id;
    uint64_t ts;
    const uint8_t *msg; /* the I_MESSAGE, valid during the callback only (NULL once acked) */
    size_t msg_len;
} gm_delivery_row_t;

typedef int (*gm_group_cb)(void *user, const gm_group_row_t *g);
typedef int (*gm_uri_cb)(void *user, const char *uri);
typedef int (*gm_gmk_cb)(void *user, const gm_gmk_row_t *g);
typedef int (*gm_delivery_cb)(void *user, const gm_delivery_row_t *d);

typedef struct {
    const char *name;
    mcsec_status_t (*open)(const char *dir, int create, gm_store_t **out);
    void (*close)(gm_store_t *s);
    mcsec_status_t (*begin)(gm_store_t *s);
    mcsec_status_t (*commit)(gm_store_t *s);
    void (*rollback)(gm_store_t *s);
    /* A number that changes when another connection commits (polling for new work). */
    mcsec_status_t (*data_version)(gm_store_t *s, int64_t *v);
    /* Small named blobs: parameters, sealed secrets, the KMS certificate and credential. */
    mcsec_status_t (*meta_get)(gm_store_t *s, const char *name, uint8_t *buf, size_t cap,
                               size_t *len);
    mcsec_status_t (*meta_put)(gm_store_t *s, const char *name, const uint8_t *v, size_t len);
    /* Groups. add: MCSEC_ERR_POLICY if it exists. */
    mcsec_status_t (*group_add)(gm_store_t *s, const gm_group_row_t *g);
    mcsec_status_t (*group_get)(gm_store_t *s, const char *uri, gm_group_row_t *out);
    mcsec_status_t (*group_list)(gm_store_t *s, gm_group_cb fn, void *user);
    mcsec_status_t (*group_set_ts)(gm_store_t *s, const char *uri, uint64_t ts);
    mcsec_status_t (*group_bump)(gm_store_t *s, const char *uri);
    /* Members. add sets *inserted (0 if already there); remove also drops the member's
     * undelivered messages of the group's GMKs and sets *removed. */
    mcsec_status_t (*member_add)(gm_store_t *s, const char *group, const char *member,
                                 int *inserted);
    mcsec_status_t (*member_remove)(gm_store_t *s, const char *group, const char *member,
                                    int *removed);
    mcsec_status_t (*member_exists)(gm_store_t *s, const char *group, const char *member);
    mcsec_status_t (*member_list)(gm_store_t *s, const char *group, gm_uri_cb fn, void *user);
    mcsec_status_t (*member_count)(gm_store_t *s, const char *group, size_t *n);
    mcsec_status_t (*member_seen)(gm_store_t *s, const char *member, const char *address);
    /* Members of group without a message of GMK row gmk. */
    mcsec_status_t (*members_missing)(gm_store_t *s, const char *group, int64_t gmk,
                                      gm_uri_cb fn, void *user);
    /* Sealed group key sets per key period. */
    mcsec_status_t (*keyset_put)(gm_store_t *s, const char *group, uint64_t period,
                                 const uint8_t *v, size_t len);
    mcsec_status_t (*keyset_get)(gm_store_t *s, const char *group, uint64_t period,
                                 uint8_t *buf, size_t cap, size_t *len);
    mcsec_status_t (*keyset_periods)(gm_store_t *s, const char *group, uint64_t *out,
                                     size_t cap, size_t *n);
    /* GMK history. add sets g->id; MCSEC_ERR_POLICY if the GMK-ID is taken. */
    mcsec_status_t (*gmk_add)(gm_store_t *s, gm_gmk_row_t *g);
    mcsec_status_t (*gmk_set_status)(gm_store_t *s, int64_t id, int status);
    mcsec_status_t (*gmk_get)(gm_store_t *s, const char *group, uint32_t gmk_id,
                              gm_gmk_row_t *out);
    /* group NULL: all groups; status -1: any. Oldest first. */
    mcsec_status_t (*gmk_list)(gm_store_t *s, const char *group, int status, gm_gmk_cb fn,
                               void *user);
    /* The latest ACTIVE GMK valid at now (expiry 0 or > now). */
    mcsec_status_t (*gmk_current)(gm_store_t *s, const char *group, uint64_t now,
                                  gm_gmk_row_t *out);
    mcsec_status_t (*gmk_counts)(gm_store_t *s, int64_t gmk, size_t counts[3]);
    /* Deliveries. add: only if member is (still) in group; *added 0 if not, or if the message
     * exists already. */
    mcsec_status_t (*delivery_add)(gm_store_t *s, int64_t gmk, const char *group,
                                   const char *member, const uint8_t *msg, size_t len,
                                   int *added);
    mcsec_status_t (*delivery_list)(gm_store_t *s, int64_t gmk, gm_delivery_cb fn, void *user);
    /* Not acknowledged messages of ACTIVE GMKs of group for member, oldest timestamp first. */
    mcsec_status_t (*delivery_backlog)(gm_store_t *s, const char *group, const char *member,
                                       gm_delivery_cb fn, void *user);
    /* Not acknowledged messages of ACTIVE GMKs with row id > after, in id order. */
    mcsec_status_t (*delivery_after)(gm_store_t *s, int64_t after, gm_delivery_cb fn,
                                     void *user);
    /* One delivery row (without the message) for (gmk row, member). */
    mcsec_status_t (*delivery_get)(gm_store_t *s, int64_t gmk, const char *member,
                                   gm_delivery_row_t *out);
    mcsec_status_t (*delivery_message)(gm_store_t *s, int64_t gmk, const char *member,
                                       uint8_t *buf, size_t cap, size_t *len);
    mcsec_status_t (*delivery_sent)(gm_store_t *s, int64_t id);
    /* state = ACKED and the message dropped (no longer needed). */
    mcsec_status_t (*delivery_acked)(gm_store_t *s, int64_t id);
} gm_store_ops_t;

extern const gm_store_ops_t gm_store_sqlite;

/* --- The handle ------------------------------------------------------------------------------ */

/* The KMS this manager serves (from KmsInit). Public. */
typedef struct {
    char kms_uri[GM_URI_CAP];
    uint64_t key_period, key_offset;
    uint8_t Z[MCSEC_SAKKE_POINT_LEN];
    uint8_t kpak[MCSEC_ECCSI_POINT_LEN];
} gm_kms_t;

/* The credential for fetching group keys from the KMS (from a bundle). device_secret is
 * secret: the struct lives in locked memory. */
typedef struct {
    char uri[GM_URI_CAP];
    char device_public[MCSEC_GROUPMGR_Z85_LEN + 1];
    char device_secret[MCSEC_GROUPMGR_Z85_LEN + 1];
    char kms_public[MCSEC_GROUPMGR_Z85_LEN + 1];
    char endpoint[GM_URI_CAP];
} gm_cred_t;

/* A cached group identity signer. Slots are never freed before the handle, so a pointer
 * handed out stays valid (groups x key periods: a few per group and month). */
typedef struct gm_signer_slot {
    struct gm_signer_slot *next;
    char group[GM_URI_CAP];
    uint64_t period;
    mcsec_eccsi_signer_t *signer;
} gm_signer_slot_t;

struct mcsec_groupmgr {
    char *dir;
    const gm_store_ops_t *ops;
    gm_store_t *store;       /* the handle's own connection (the caller's thread) */
    uint8_t *data_key;       /* MCSEC_SEAL_KEY_LEN octets, locked memory */
    char *curve_secret;      /* Z85 + NUL, locked memory */
    char curve_public[MCSEC_GROUPMGR_Z85_LEN + 1];
    char uri[GM_URI_CAP];
    /* Shared between the threads of one process: */
    pthread_mutex_t mu;      /* guards everything below */
    int has_kms;
    gm_kms_t kms;
    gm_cred_t *cred;         /* locked memory; NULL if none */
    mcsec_sakke_sender_t *sakke;
    gm_signer_slot_t *signers;
    pthread_mutex_t rekey_mu; /* one rekey at a time in this process (plus the lock file) */
};

/* Records the manager's own URI (from a bundle) in the parameters record. */
mcsec_status_t gm_set_uri(mcsec_groupmgr_t *gm, const char *uri);

/* Opens another connection to gm's store (for a thread of its own). */
mcsec_status_t gm_store_connect(const mcsec_groupmgr_t *gm, gm_store_t **out);

/* --- Sealing (gm.c): AES-256-GCM under the data key ------------------------------------------
 * out = nonce (12) | ciphertext (len) | tag (16); AAD = "mcsec-groupmgr " label | 0 | name |
 * 0 | extra, so a record cannot be moved to another name or kind. */
mcsec_status_t gm_seal(const mcsec_groupmgr_t *gm, const char *label, const char *name,
                       const uint8_t *extra, size_t extra_len, const uint8_t *pt, size_t len,
                       uint8_t *out);
/* MCSEC_ERR_VERIFY (and pt zeroed) if the record fails authentication. */
mcsec_status_t gm_unseal(const mcsec_groupmgr_t *gm, const char *label, const char *name,
                         const uint8_t *extra, size_t extra_len, const uint8_t *in,
                         size_t in_len, uint8_t *pt);

/* --- KMS and group keys (keys.c) --------------------------------------------------------------- */

/* Loads the sealed KMS certificate and credential records into gm (at open). */
mcsec_status_t gm_keys_load(mcsec_groupmgr_t *gm);
/* A copy of the KMS parameters (MCSEC_ERR_UNKNOWN_KEY if none yet). Thread safe. */
mcsec_status_t gm_kms_get(mcsec_groupmgr_t *gm, gm_kms_t *out);
/* The shared SAKKE sender for the KMS's Z (made once). Thread safe. */
mcsec_status_t gm_sakke(mcsec_groupmgr_t *gm, const mcsec_sakke_sender_t **out);
/* The group identity's signer for a key period, from the store (fetched from the KMS when
 * missing and a credential exists). Cached; thread safe; valid until gm is closed.
 * MCSEC_ERR_KEY_PERIOD if there is no key set. */
mcsec_status_t gm_signer(mcsec_groupmgr_t *gm, gm_store_t *s, const char *group, uint64_t period,
                         const mcsec_eccsi_signer_t **out);

/* --- Fan-out (fanout.c) ------------------------------------------------------------------------ */

/* One GMK to many members: msgs[i] (malloc'ed, lens[i]) for members[i], built by `threads`
 * workers (0: one per online core) that take members in small chunks. On failure every
 * message is freed and the failing member is named in the error. */
typedef struct {
    const mcsec_gmk_sender_t *tx;
    const uint8_t *gmk;
    uint32_t gmk_id;
    const mcsec_key_params_t *kp;
    uint64_t ts;
    const char *const *members;
    size_t n;
    uint8_t **msgs;
    size_t *lens;
} gm_fanout_t;

mcsec_status_t gm_fanout(gm_fanout_t *job, unsigned threads);
void gm_fanout_free(gm_fanout_t *job); /* frees msgs[i] (not the arrays) */
unsigned gm_cores(void);

/* --- GMKs (gmk.c) ------------------------------------------------------------------------------ */

/* A list of URIs (malloc'ed strings). */
typedef struct {
    char **v;
    size_t n, cap;
} gm_uris_t;
mcsec_status_t gm_uris_push(gm_uris_t *l, const char *uri);
void gm_uris_free(gm_uris_t *l);
int gm_uris_collect(void *user, const char *uri); /* gm_uri_cb into a gm_uris_t */

/* The GMK of a row, unsealed. Secret: wipe gmk. */
mcsec_status_t gm_gmk_unseal(const mcsec_groupmgr_t *gm, const gm_gmk_row_t *row,
                             uint8_t gmk[MCSEC_GMK_LEN]);

/* The rekey lock: in-process mutex plus an flock on DIR/rekey.lock. wait 0: try once
 * (MCSEC_ERR_POLICY if another process holds it). */
mcsec_status_t gm_rekey_lock(mcsec_groupmgr_t *gm, int wait, int *fd);
void gm_rekey_unlock(mcsec_groupmgr_t *gm, int fd);

/* A new GMK for group (lock held by the caller): journaled, built, committed. reason goes
 * into the history. out_dir may be NULL. */
mcsec_status_t gm_rekey_locked(mcsec_groupmgr_t *gm, gm_store_t *s, const char *group,
                               const char *reason, const char *out_dir, unsigned threads,
                               mcsec_groupmgr_rekey_result_t *res);
/* Completes every GMK still "building" (lock held): of group only, or all if group is NULL.
 * res (may be NULL) describes the last one completed for group. *n (may be NULL) counts. */
mcsec_status_t gm_resume_locked(mcsec_groupmgr_t *gm, gm_store_t *s, const char *group,
                                const char *out_dir, unsigned threads,
                                mcsec_groupmgr_rekey_result_t *res, size_t *n);
/* Gives members of group that have no message of its current GMK one (e.g. after member
 * add). *built (may be NULL) counts the messages committed. */
mcsec_status_t gm_catch_up(mcsec_groupmgr_t *gm, gm_store_t *s, const char *group,
                           unsigned threads, size_t *built);

/* --- Offline export (export.c) ----------------------------------------------------------------- */

/* Writes msgs[i] to dir/<members[i]>.mikey (dir created 0700 if missing). */
mcsec_status_t gm_export(const char *dir, const char *const *members, uint8_t *const *msgs,
                         const size_t *lens, size_t n);

/* --- Service (server.c, zap.c, maint.c, delivery.c) ---------------------------------------------- */

/* The ZAP handler: admits every CURVE client and sets the ZAP User-Id to its public key in
 * Z85, so that every message carries the key of its connection (zmq_msg_gets "User-Id").
 * Anything but CURVE is refused. start binds before returning; the thread ends when the
 * context is shut down. */
typedef struct gm_zap gm_zap_t;
mcsec_status_t gm_zap_start(void *zmq_ctx, gm_zap_t **out);
void gm_zap_join(gm_zap_t *zap); /* after zmq_ctx_shutdown; frees */

/* The background thread of serve: completes interrupted rekeys, rekeys groups whose GMK is
 * due, runs catch-up for groups whose membership changed. Tells the service (a PUSH to
 * notify_endpoint) after committing anything. */
typedef struct gm_maint gm_maint_t;
mcsec_status_t gm_maint_start(mcsec_groupmgr_t *gm, void *zmq_ctx, const char *notify_endpoint,
                              unsigned threads, volatile sig_atomic_t *stop, gm_maint_t **out);
void gm_maint_wake(gm_maint_t *m);
void gm_maint_join(gm_maint_t *m); /* after stop is set; frees */

/* When a GMK whose expiry is e (NTP timestamp, lifetime L seconds) is due for replacement:
 * min(L / 5, 3600) seconds before e. */
uint64_t gm_due_time(uint64_t expiry, uint64_t lifetime);

/* Registration and acknowledgement checks (delivery.c), independent of the sockets. */
typedef struct {
    char member[GM_URI_CAP];
    char *groups[MCSEC_GROUPMGR_GROUPS_MAX]; /* malloc'ed: gm_reg_free */
    size_t n_groups;
} gm_reg_t;
void gm_reg_free(gm_reg_t *reg);

/* Checks a Register: fields, time within window of now (NTP 64), ECCSI signature by the
 * member's UID over the registration octets with the connection's CURVE key, membership of
 * every group. Fills reg (gm_reg_free it). why: one line for the member. */
mcsec_status_t gm_check_register(mcsec_groupmgr_t *gm, gm_store_t *s,
                                 mcsec_eccsi_verifier_t *verifier, const char *member_uri,
                                 char *const *groups, size_t n_groups, uint64_t time,
                                 const uint8_t *sig, size_t sig_len,
                                 const uint8_t curve_public[32], uint64_t now, uint64_t window,
                                 gm_reg_t *reg, char *why, size_t why_cap);

/* Checks an acknowledgement by the member a connection is bound to: group registered on the
 * connection, known GMK-ID, a message for this member, and the proof (constant time). On
 * success *delivery is the delivery row id (not yet marked). */
mcsec_status_t gm_check_ack(mcsec_groupmgr_t *gm, gm_store_t *s, const gm_reg_t *reg,
                            const char *group_uri, uint32_t gmk_id, const uint8_t *proof,
                            size_t proof_len, int64_t *delivery, char *why, size_t why_cap);

/* The service's handling of member messages apart from reading the ROUTER (server.c); the
 * serve loop uses it, and tests/fuzz/fuzz_gm_request.c drives it directly. gm_srv_new makes
 * the state (sessions, verifier; MCSEC_ERR_UNKNOWN_KEY if gm has no KMS certificate yet):
 * max_message and window as in mcsec_groupmgr_serve_config_t (0: defaults); answers go to
 * front as ROUTER frames (routing id, [empty delimiter,] envelope): any ZeroMQ socket the caller
 * owns, or NULL to drop them. gm_srv_message handles one message: rid (1..255 octets) and key
 * (the connection's CURVE public key, Z85) are its routing id and ZAP User-Id, delim says an
 * empty delimiter frame came first, multipart that there were other frames. gm_srv_flush
 * commits what the handled messages recorded (sent, acknowledged, seen) and answers the
 * acknowledgements; gm_srv_free frees the state (not front). */
typedef struct gm_srv gm_srv_t;
mcsec_status_t gm_srv_new(mcsec_groupmgr_t *gm, size_t max_message, uint64_t window, void *front,
                          gm_srv_t **out);
void gm_srv_message(gm_srv_t *v, const uint8_t *rid, size_t rid_len, const char *key, int delim,
                    int multipart, const uint8_t *payload, size_t len);
void gm_srv_flush(gm_srv_t *v);
void gm_srv_free(gm_srv_t *v); /* NULL ok */

#endif
