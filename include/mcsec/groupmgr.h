/* The Group Manager (seed 002, 6.3.1.3.3.2: standard GMK distribution): groups and their
 * members, the GMK life cycle (generation, history, rekey on removal, on expiry and on
 * command), one signed MIKEY-SAKKE I_MESSAGE per member built on every core, and a ZeroMQ +
 * CURVE service that delivers them (push to connected members, store and forward to the
 * others, acknowledgement per member with proof of decryption).
 *
 * A Group Manager lives in a directory holding one store (groupmgr.db, SQLite in WAL mode).
 * Secrets at rest (the CURVE secret key of the service, each GMK, the group identities' ECCSI
 * keys, the KMS device credential) are sealed with AES-256-GCM under a random data key, itself
 * sealed under scrypt(passphrase); once opened the data key stays in locked memory.
 *
 * The group identity signs every GMK message (initiator = group URI). Its key sets (KmsInit +
 * KmsKeyProv for the group URI) are imported offline or fetched from the KMS with a group
 * manager credential (a bundle from `mcsec-kms enroll --role groupmgr --group G --out F`).
 * One Group Manager serves the groups of one KMS.
 *
 * Rekeys are journaled: the new GMK is recorded (status "building") before any message is
 * built, and the GMK and every member's message are committed in one transaction before any
 * is sent. An interrupted rekey is completed with the same GMK by the next rekey of the group,
 * or by `serve` at start; a member removed before the commit never gets a message. Several
 * processes may use one directory (e.g. `mcsec-groupmgr member remove` while `serve` runs);
 * rekeys are serialised by a lock file.
 *
 * Errors: a status, and one line saying what was wrong and what to do in
 * mcsec_groupmgr_last_error(). Times are NTP: 64-bit timestamps (seconds since 1900 << 32 |
 * fraction) where called "timestamp", as MIKEY carries them; lifetimes are in seconds. */
#ifndef MCSEC_GROUPMGR_H
#define MCSEC_GROUPMGR_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "mcsec/kmsxml.h"
#include "mcsec/status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define MCSEC_GROUPMGR_URI_MAX 255             /* URIs (groups, members), octets */
#define MCSEC_GROUPMGR_Z85_LEN 40              /* a CURVE key in Z85 */
#define MCSEC_GROUPMGR_LIFETIME_DEFAULT 2592000u /* GMK lifetime, seconds (30 days) */
#define MCSEC_GROUPMGR_MAX_MESSAGE 16384       /* default largest request, octets */
#define MCSEC_GROUPMGR_GROUPS_MAX 64           /* groups in one registration */

typedef struct mcsec_groupmgr mcsec_groupmgr_t;

/* One line about the last failure in this thread ("" if none). Never NULL. */
const char *mcsec_groupmgr_last_error(void);

/* --- Life cycle ---------------------------------------------------------------------------- */

typedef struct {
    const char *dir;       /* created 0700 if missing; must not hold a Group Manager yet */
    const char *uri;       /* this manager's own identity; may be NULL (a bundle sets it) */
    const char *passphrase;
    size_t passphrase_len; /* 1..1024 */
    unsigned kdf_log2n;    /* scrypt cost: 0 = defaults (N = 2^16, r = 8, p = 1). Lower */
    uint32_t kdf_r, kdf_p; /* costs are for tests only. */
} mcsec_groupmgr_config_t;

/* Creates a Group Manager: a CURVE key pair for the service, the store, the sealed secrets,
 * and DIR/groupmgr.pub (the CURVE public key in Z85, which members need). MCSEC_ERR_IO if dir
 * already holds one or cannot be written. *out may be NULL (just create). */
mcsec_status_t mcsec_groupmgr_create(mcsec_groupmgr_t **out,
                                     const mcsec_groupmgr_config_t *cfg) MCSEC_MUST_CHECK;

/* Opens a Group Manager. MCSEC_ERR_IO: none at dir; MCSEC_ERR_PASSPHRASE: wrong passphrase;
 * MCSEC_ERR_VERIFY: damaged store; MCSEC_ERR_UNSUPPORTED: newer format. */
mcsec_status_t mcsec_groupmgr_open(mcsec_groupmgr_t **out, const char *dir, const char *passphrase,
                                   size_t passphrase_len) MCSEC_MUST_CHECK;

/* Wipes the keys, closes the store. NULL ok. */
void mcsec_groupmgr_close(mcsec_groupmgr_t *gm);

typedef struct {
    char uri[MCSEC_GROUPMGR_URI_MAX + 1];                /* "" if none */
    char curve_public[MCSEC_GROUPMGR_Z85_LEN + 1];       /* the service's CURVE public key */
    int has_kms;                                         /* KMS parameters known */
    char kms_uri[MCSEC_GROUPMGR_URI_MAX + 1];
    uint64_t key_period, key_offset;
    int has_kms_credential;                              /* may fetch group keys */
    char kms_endpoint[MCSEC_GROUPMGR_URI_MAX + 1];
} mcsec_groupmgr_info_t;

mcsec_status_t mcsec_groupmgr_get_info(mcsec_groupmgr_t *gm,
                                       mcsec_groupmgr_info_t *out) MCSEC_MUST_CHECK;

/* Loads a group manager bundle (`mcsec-kms enroll --role groupmgr ... --out FILE`): the KMS
 * certificate and the credential used to fetch group keys from the KMS. MCSEC_ERR_POLICY if
 * the bundle is a handset's, or names another KMS than the one already known; the bundle
 * statuses (PASSPHRASE for a wrong code, ...) otherwise. */
mcsec_status_t mcsec_groupmgr_load_bundle(mcsec_groupmgr_t *gm, const char *path,
                                          const char *code) MCSEC_MUST_CHECK;

/* --- Groups and members -------------------------------------------------------------------- */

/* A new group. lifetime: GMK lifetime in seconds (0: never expires); rekey_on_leave: make a
 * new GMK when a member is removed. MCSEC_ERR_POLICY if it exists, BAD_INPUT for a bad URI. */
mcsec_status_t mcsec_groupmgr_group_add(mcsec_groupmgr_t *gm, const char *group_uri,
                                        uint64_t lifetime, int rekey_on_leave) MCSEC_MUST_CHECK;

/* Installs the group identity's key sets: each must pass mcsec_kmsxml_check_keyset for the
 * group URI under init, and init must be the KMS this manager serves (the first import fixes
 * it: MCSEC_ERR_POLICY for another). Revoked key sets are refused (MCSEC_ERR_EXPIRED). */
mcsec_status_t mcsec_groupmgr_group_set_keys(mcsec_groupmgr_t *gm, const char *group_uri,
                                             const mcsec_kms_init_t *init,
                                             const mcsec_kms_keyset_t *sets,
                                             size_t n) MCSEC_MUST_CHECK;
/* The same from the TS 33.180 documents. */
mcsec_status_t mcsec_groupmgr_group_import_keys(mcsec_groupmgr_t *gm, const char *group_uri,
                                                const char *init_xml, size_t init_len,
                                                const char *keyprov_xml,
                                                size_t keyprov_len) MCSEC_MUST_CHECK;
/* Fetches the key sets of the period containing NTP seconds at (0: now) and the next from
 * the KMS with the bundle's credential (MCSEC_ERR_UNKNOWN_KEY if no bundle was loaded). */
mcsec_status_t mcsec_groupmgr_group_fetch_keys(mcsec_groupmgr_t *gm, const char *group_uri,
                                               uint64_t at) MCSEC_MUST_CHECK;

/* Adds members (bulk: one transaction). Members already in the group are skipped; *added
 * (may be NULL) receives how many were new. New members are given the group's current GMK
 * (a message is built for each). MCSEC_ERR_UNKNOWN_KEY: no such group. */
mcsec_status_t mcsec_groupmgr_member_add(mcsec_groupmgr_t *gm, const char *group_uri,
                                         const char *const *members, size_t n,
                                         size_t *added) MCSEC_MUST_CHECK;

/* What a rekey did. */
typedef struct {
    int done;                /* a GMK was made (or an interrupted one completed) */
    int resumed;             /* it completed an interrupted rekey */
    uint32_t gmk_id;
    uint64_t timestamp, activation, expiry;
    size_t members;          /* messages committed */
    double build_seconds;    /* building the messages (the worker pool) */
    double wall_seconds;     /* the whole rekey, commit included */
} mcsec_groupmgr_rekey_result_t;

/* Removes members; their undelivered messages are dropped. If the group's policy says so and
 * it has a GMK, rekeys (res, may be NULL, says what happened). *removed may be NULL. */
mcsec_status_t mcsec_groupmgr_member_remove(mcsec_groupmgr_t *gm, const char *group_uri,
                                            const char *const *members, size_t n,
                                            size_t *removed,
                                            mcsec_groupmgr_rekey_result_t *res) MCSEC_MUST_CHECK;

/* A new GMK for the group now, to every current member. out_dir (may be NULL): also write
 * each member's I_MESSAGE to out_dir/<member-uri>.mikey (created 0700 if missing). threads:
 * worker threads (0: one per online core). If the group has an interrupted rekey, that one is
 * completed instead (res->resumed). MCSEC_ERR_KEY_PERIOD: no group key set for the current
 * key period (and none could be fetched). */
mcsec_status_t mcsec_groupmgr_rekey(mcsec_groupmgr_t *gm, const char *group_uri,
                                    const char *out_dir, unsigned threads,
                                    mcsec_groupmgr_rekey_result_t *res) MCSEC_MUST_CHECK;

/* --- Listing ------------------------------------------------------------------------------- */

typedef struct {
    char uri[MCSEC_GROUPMGR_URI_MAX + 1];
    uint64_t lifetime;
    int rekey_on_leave;
    size_t members;
    uint64_t key_periods[4];  /* stored group key periods, lowest first */
    size_t n_key_periods;     /* how many there are (the array holds up to 4) */
} mcsec_groupmgr_group_info_t;
typedef int (*mcsec_groupmgr_group_fn)(void *user, const mcsec_groupmgr_group_info_t *g);
mcsec_status_t mcsec_groupmgr_list_groups(mcsec_groupmgr_t *gm, mcsec_groupmgr_group_fn fn,
                                          void *user) MCSEC_MUST_CHECK;

typedef int (*mcsec_groupmgr_member_fn)(void *user, const char *member_uri);
mcsec_status_t mcsec_groupmgr_list_members(mcsec_groupmgr_t *gm, const char *group_uri,
                                           mcsec_groupmgr_member_fn fn,
                                           void *user) MCSEC_MUST_CHECK;

typedef enum {
    MCSEC_GROUPMGR_GMK_BUILDING = 0, /* recorded, messages not committed yet */
    MCSEC_GROUPMGR_GMK_ACTIVE = 1,   /* messages committed: being delivered */
    MCSEC_GROUPMGR_GMK_FAILED = 2,   /* could not be completed: never delivered */
} mcsec_groupmgr_gmk_status_t;

typedef struct {
    char group_uri[MCSEC_GROUPMGR_URI_MAX + 1];
    uint32_t gmk_id;
    uint64_t timestamp, activation, expiry; /* expiry 0: never */
    mcsec_groupmgr_gmk_status_t status;
    int current;                            /* the group's current GMK */
    size_t pending, sent, acked;            /* delivery states of its messages */
    char reason[32];                        /* "command", "member-removed", "expiry", ... */
} mcsec_groupmgr_gmk_info_t;
typedef int (*mcsec_groupmgr_gmk_fn)(void *user, const mcsec_groupmgr_gmk_info_t *g);
/* The group's GMK history, oldest first. */
mcsec_status_t mcsec_groupmgr_list_gmks(mcsec_groupmgr_t *gm, const char *group_uri,
                                        mcsec_groupmgr_gmk_fn fn, void *user) MCSEC_MUST_CHECK;

typedef enum {
    MCSEC_GROUPMGR_PENDING = 0, /* not sent yet */
    MCSEC_GROUPMGR_SENT = 1,    /* pushed at least once, not acknowledged */
    MCSEC_GROUPMGR_ACKED = 2,   /* acknowledged with a valid proof */
} mcsec_groupmgr_delivery_state_t;

typedef struct {
    char member_uri[MCSEC_GROUPMGR_URI_MAX + 1];
    uint32_t gmk_id;
    mcsec_groupmgr_delivery_state_t state;
    unsigned attempts;  /* times pushed */
} mcsec_groupmgr_delivery_t;
typedef int (*mcsec_groupmgr_delivery_fn)(void *user, const mcsec_groupmgr_delivery_t *d);
/* The messages of one GMK of the group (by GMK-ID), in member order. */
mcsec_status_t mcsec_groupmgr_list_deliveries(mcsec_groupmgr_t *gm, const char *group_uri,
                                              uint32_t gmk_id, mcsec_groupmgr_delivery_fn fn,
                                              void *user) MCSEC_MUST_CHECK;

/* The I_MESSAGE of one member for one GMK (for offline delivery and tests); *len set.
 * MCSEC_ERR_UNKNOWN_KEY if there is none (or it was acknowledged and dropped). */
mcsec_status_t mcsec_groupmgr_get_message(mcsec_groupmgr_t *gm, const char *group_uri,
                                          uint32_t gmk_id, const char *member_uri, uint8_t *buf,
                                          size_t cap, size_t *len) MCSEC_MUST_CHECK;

/* --- Service ------------------------------------------------------------------------------- */

typedef struct {
    const char *bind;            /* e.g. "tcp://127.0.0.1:7002" ("tcp://127.0.0.1:*": any port) */
    unsigned workers;            /* fan-out threads; 0: one per online core */
    size_t max_message;          /* application limit, octets; 0: MCSEC_GROUPMGR_MAX_MESSAGE */
    uint64_t window;             /* registration time window, seconds; 0: 300 */
    volatile sig_atomic_t *stop; /* stops gracefully once *stop is non-zero */
    void (*on_ready)(void *user, const char *endpoint); /* once bound (may be NULL) */
    void *user;
} mcsec_groupmgr_serve_config_t;

/* Runs the service until *cfg->stop: a CURVE ROUTER (any CURVE key may connect; members
 * authenticate by signing their registration), pushes GMK messages to registered members,
 * forwards the backlog on registration, takes acknowledgements; a background thread completes
 * interrupted rekeys at start, rekeys groups whose GMK expires (or that have none) and gives
 * new members the current GMK. Refusals are logged on stderr, one line each. MCSEC_ERR_IO if it
 * cannot bind. The protocol is in docs/protocol.md ("Group Manager service"). */
mcsec_status_t mcsec_groupmgr_serve(mcsec_groupmgr_t *gm,
                                    const mcsec_groupmgr_serve_config_t *cfg) MCSEC_MUST_CHECK;

#ifdef __cplusplus
}
#endif
#endif
