/* The handset side of the Group Manager service (mcsec-groupmgr serve): connect over ZeroMQ
 * with CURVE (the manager's public key is pinned), register with a signature by the handset's
 * identity key, receive GMK distribution messages, open them (mcsec_gmk_open), store the GMKs
 * in the keystore and acknowledge each with a proof of decryption.
 *
 * Registration octets (signed with ECCSI by the member's UID for the key period of `time`):
 *   "mcsec groupmgr register v1" | len16 | member URI | count16 | (len16 | group URI)*
 *   | time (8, NTP 64-bit) | CURVE public key of the connection (32)
 * Acknowledgement proof: HMAC-SHA-256(GMK, "mcsec gmk ack" | member URI | GMK-ID (4, BE)).
 * Both are in docs/protocol.md ("Group Manager service").
 *
 * Messages from the manager are accepted outside the MIKEY freshness window (store and forward
 * delivers late by design): they must verify as signed by the group identity of the group they
 * are delivered for, and the keystore keeps a GMK-ID's first (or newest) message, so replays
 * change nothing. The current GMK of a group is the one with the latest MIKEY timestamp. */
#ifndef MCSEC_GMCLIENT_H
#define MCSEC_GMCLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "mcsec/keystore.h"
#include "mcsec/status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define MCSEC_GM_REGISTER_LABEL "mcsec groupmgr register v1"
#define MCSEC_GM_ACK_LABEL "mcsec gmk ack"
#define MCSEC_GM_PROOF_LEN 32
#define MCSEC_GM_CURVE_KEY_LEN 32

/* The octets a registration signature covers (layout above). MCSEC_ERR_BAD_INPUT for an empty
 * or over-long URI (more than 255 octets) or more than 64 groups; MCSEC_ERR_BAD_LENGTH if cap
 * is too small (*len is then the size needed). */
mcsec_status_t mcsec_gm_register_octets(const char *member_uri, const char *const *groups,
                                        size_t n_groups, uint64_t time,
                                        const uint8_t curve_public[MCSEC_GM_CURVE_KEY_LEN],
                                        uint8_t *out, size_t cap, size_t *len) MCSEC_MUST_CHECK;

/* The acknowledgement proof for a GMK. */
mcsec_status_t mcsec_gm_ack_proof(const uint8_t gmk[MCSEC_GMK_LEN], const char *member_uri,
                                  uint32_t gmk_id,
                                  uint8_t proof[MCSEC_GM_PROOF_LEN]) MCSEC_MUST_CHECK;

typedef struct mcsec_gmclient mcsec_gmclient_t;

typedef struct {
    const char *endpoint;        /* "tcp://HOST:PORT" */
    const char *server_key;      /* the manager's CURVE public key, Z85 (40 characters) */
    const char *const *groups;   /* groups to register for (1..64) */
    size_t n_groups;
    const char *address;         /* reported to the manager; may be NULL */
    unsigned heartbeat_ms;       /* ZeroMQ heartbeat interval; 0: 5000 */
} mcsec_gmclient_config_t;

typedef enum {
    MCSEC_GMCLIENT_REGISTERED = 1, /* the manager admitted the registration */
    MCSEC_GMCLIENT_GMK = 2,        /* a GMK arrived and was stored (or was already there) */
    MCSEC_GMCLIENT_REFUSED = 3,    /* a delivery was refused here, or the manager refused us */
    MCSEC_GMCLIENT_ACK = 4,        /* the manager answered an acknowledgement */
} mcsec_gmclient_event_kind_t;

typedef struct {
    mcsec_gmclient_event_kind_t kind;
    mcsec_status_t status;  /* MCSEC_OK, or what failed */
    char message[512];      /* one line when status != MCSEC_OK */
    char group_uri[256];
    uint32_t gmk_id;
    uint64_t timestamp, activation, expiry;
    int is_new;             /* GMK: stored now (first time, or from a newer message) */
    int is_current;         /* GMK: it is the group's current GMK after storing */
    unsigned backlog;       /* REGISTERED: deliveries announced */
} mcsec_gmclient_event_t;

typedef void (*mcsec_gmclient_event_fn)(void *user, const mcsec_gmclient_event_t *ev);

/* A client for the keystore's identity (its KMS parameters and latest key set). The CURVE key
 * pair is the keystore's device credential if it has one, else a fresh one. The keystore must
 * outlive the client. Connecting starts here; registration follows each (re)connection. */
mcsec_status_t mcsec_gmclient_open(mcsec_gmclient_t **out, mcsec_keystore_t *ks,
                                   const mcsec_gmclient_config_t *cfg) MCSEC_MUST_CHECK;
void mcsec_gmclient_close(mcsec_gmclient_t *c); /* NULL ok; wipes */

/* Waits up to timeout_ms for traffic and handles all of it, calling fn (may be NULL) once per
 * event. MCSEC_OK, or the status with which the manager refused the registration (fatal: the
 * message is in the REFUSED event and mcsec_gmclient_last_error). */
mcsec_status_t mcsec_gmclient_poll(mcsec_gmclient_t *c, unsigned timeout_ms,
                                   mcsec_gmclient_event_fn fn, void *user) MCSEC_MUST_CHECK;

/* 1 once registered, every announced backlog delivery handled and every ack answered. */
int mcsec_gmclient_idle(const mcsec_gmclient_t *c);

/* The identity registered (the keystore's user URI). */
const char *mcsec_gmclient_member_uri(const mcsec_gmclient_t *c);

/* One line about the client's last failure ("" if none); with NULL, why the last
 * mcsec_gmclient_open in this thread failed. */
const char *mcsec_gmclient_last_error(const mcsec_gmclient_t *c);

#ifdef __cplusplus
}
#endif
#endif
