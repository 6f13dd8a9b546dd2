/* ProSe network services, UE side: UE-to-network relays (seed 004) and network-authorised
 * one-to-one keying (seed 001). The network side runs in mcsec-kms (the PKMF and the network
 * entity roles, include/mcsec/pkmf.h); every call here is one request over ZeroMQ with CURVE,
 * where the server knows the caller by the device key it enrolled (as the KMS service does).
 *
 * UE-to-network relay (seed 004):
 *   1. the remote UE sends a Key Request to the PKMF (mcsec_prose_ue_key_request): an
 *      authorised UE gets a Key Type ID, a PMK and PMK ID, and (when it has no current PRUK)
 *      its PRUK and 64-bit PRUK ID in a MIKEY message protected with the PMK, whose IDi is
 *      Key Type ID || PRUK ID @ PKMF FQDN. The PRUK is kept in the handset keystore;
 *   2. the remote UE puts its relay identity (mcsec_prose_ue_relay_id: the PRUK ID, or its
 *      long-term identity after a PRUK ID was refused) in the Direct Communication Request's
 *      key creation data;
 *   3. the relay sends that identity to the PKMF (mcsec_prose_relay_key_request) and, if it is
 *      authorised to serve that UE, gets KD and the KD Derivation Parameter; it puts the
 *      parameter in the Direct Security Mode Command's key creation data;
 *   4. the remote UE derives the same KD (mcsec_prose_ue_derive_kd) before the DSMC's MAC is
 *      checked, and Direct Security Mode proceeds (include/mcsec/direct.h).
 *
 * Network-authorised one-to-one keying (seed 001):
 *   1. UE_1 asks its own network entity (mcsec_prose_nw_initiate) for a key with UE_2; the
 *      entity sends Keying_material_1 to UE_2's entity, which answers Keying_material_2, a
 *      fresh connection identity and the KD ID's low half; UE_1 gets both keying materials and
 *      a 16-octet session token and derives KD;
 *   2. UE_1 puts the session token in the Direct Communication Request's key creation data;
 *   3. UE_2 gives the token to its own entity (mcsec_prose_nw_accept) and gets the same
 *      keying material (only UE_2 may fetch it, once), derives the same KD, KD ID and
 *      connection identity; Direct Security Mode proceeds.
 *
 * With include/mcsec/direct.h: the remote UE carries its relay identity in the DCR as key
 * creation data MCSEC_DIRECT_KCD_PRUK_ID (the 8-octet PRUK ID) or _LONG_TERM_ID (its URI); the
 * relay carries the KD Derivation Parameter as MCSEC_DIRECT_KCD_KD_PARAM; UE_1 of network-
 * authorised keying carries the session token as MCSEC_DIRECT_KCD_NETWORK and both sides use
 * mcsec_direct_set_kd_with_id(link, kd, kd_id) with the KD and KD ID from the entities.
 *
 * Byte layouts, FC values and the choices made where the seeds say FFS: docs/protocol.md
 * ("UE-to-network relays", "Network-authorised one-to-one keying"). */
#ifndef MCSEC_PROSE_H
#define MCSEC_PROSE_H

#include <stddef.h>
#include <stdint.h>

#include "mcsec/direct.h"
#include "mcsec/keystore.h"
#include "mcsec/status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define MCSEC_PROSE_KD_LEN 32        /* KD, 256 bits */
#define MCSEC_PROSE_PRUK_LEN 32      /* PRUK, 256 bits */
#define MCSEC_PROSE_PMK_LEN 32       /* PMK, 256 bits */
#define MCSEC_PROSE_KM_LEN 32        /* Keying_material_1 / _2 of network-authorised keying */
#define MCSEC_PROSE_KD_PARAM_LEN 16  /* KD Derivation Parameter (a fresh nonce per request) */
#define MCSEC_PROSE_SESSION_LEN 16   /* network-authorised keying session token */
#define MCSEC_PROSE_URI_MAX 255      /* identities and FQDNs, octets */
#define MCSEC_PROSE_MSG_MAX 256      /* the one-line messages below, with their NUL */
#define MCSEC_PROSE_RELAY_ID_MAX (2 + MCSEC_PROSE_URI_MAX) /* encoded relay identity */
#define MCSEC_PROSE_MIKEY_MAX 1024   /* largest PRUK MIKEY message */

/* KDF: mcsec_direct_kdf (include/mcsec/direct.h), the TS 33.220 Annex B framing
 * HMAC-SHA-256(key, FC || P0 || L0 || P1 || L1 ...), Li on two octets. The FC values are mcsec's own (TS 33.303 leaves these derivations FFS in the
 * seeds); docs/protocol.md lists every FC mcsec uses. */
#define MCSEC_PROSE_FC_KD_RELAY 0x60   /* KD = KDF(PRUK, FC, P0 = KD Derivation Parameter) */
#define MCSEC_PROSE_FC_KD_NETWORK 0x61 /* KD = KDF(KM1 || KM2, FC, session, initiator, responder, */
                                       /*          connection identity, KD ID) */

/* --- Servers ----------------------------------------------------------------------------- */

/* Where a PKMF or network entity runs (`mcsec-kms serve`) and this device's credential there. */
typedef struct {
    const char *endpoint;      /* "tcp://HOST:PORT" */
    const char *server_public; /* the server's CURVE public key, Z85 (40 characters) */
    const char *device_public; /* this device's enrolled CURVE key pair, Z85 */
    const char *device_secret;
    unsigned timeout_ms;       /* per attempt; 0: 3000 */
    unsigned attempts;         /* 0: 3 (an answer with a status is final) */
    void *zmq_context;         /* a libzmq context to use; NULL: one of its own */
} mcsec_prose_server_t;

/* --- Pure functions (no I/O) --------------------------------------------------------------- */

/* KD = KDF(PRUK, FC 0x60, P0 = param). param_len 1..255. */
mcsec_status_t mcsec_prose_kd_from_pruk(const uint8_t pruk[MCSEC_PROSE_PRUK_LEN],
                                        const uint8_t *param, size_t param_len,
                                        uint8_t kd[MCSEC_PROSE_KD_LEN]) MCSEC_MUST_CHECK;

/* The relay identity a remote UE puts in a Direct Communication Request (the "Long Term ID"
 * of seed 004 step 3): type (1) | value. Type 1: PRUK ID (8 octets, big-endian); type 2: the
 * UE's long-term identity (its URI, 1..255 octets, length-prefixed: len (1) | URI). */
enum { MCSEC_PROSE_RELAY_ID_PRUK = 1, MCSEC_PROSE_RELAY_ID_LONG_TERM = 2 };
typedef struct {
    int type;         /* MCSEC_PROSE_RELAY_ID_* */
    uint64_t pruk_id; /* type 1 */
    char uri[MCSEC_PROSE_URI_MAX + 1]; /* type 2 */
} mcsec_prose_relay_id_t;
/* Encodes id into out (cap octets); MCSEC_ERR_BAD_INPUT for a bad type, an all-zero PRUK ID
 * or a URI that is empty or too long, MCSEC_ERR_BAD_LENGTH if cap is too small. */
mcsec_status_t mcsec_prose_relay_id_encode(const mcsec_prose_relay_id_t *id, uint8_t *out,
                                           size_t cap, size_t *len) MCSEC_MUST_CHECK;
/* Parses it: MCSEC_ERR_TRUNCATED, _TRAILING_DATA, _UNSUPPORTED (unknown type),
 * _BAD_INPUT (all-zero PRUK ID, empty URI or one holding a NUL or a non-printable octet). */
mcsec_status_t mcsec_prose_relay_id_parse(const uint8_t *buf, size_t len,
                                          mcsec_prose_relay_id_t *out) MCSEC_MUST_CHECK;

/* --- The PRUK MIKEY message ----------------------------------------------------------------
 * A MIKEY PSK I_MESSAGE (data type 0, PRF-HMAC-SHA-256, no crypto session) protected with the
 * PMK: HDR . T (NTP-UTC) . RAND (16) . IDR 1 (byte string: Key Type ID (4) || PRUK ID (8) ||
 * "@" || PKMF FQDN) . IDR 2 (URI: the UE) . IDR 4 (byte string: PMK ID (8)) . KEMAC (AES-CM-128,
 * KEY_DATA TGK = PRUK (32 octets), HMAC-SHA-256-256; keys from the PMK per RFC 3830 4.1.4).
 * With an all-zero PRUK ID the KEMAC carries no PRUK (an empty KEY_DATA key) and means "send a
 * new Key Request". */
typedef struct {
    uint32_t key_type_id;
    uint64_t pruk_id;                  /* 0: a Key Request trigger, no PRUK */
    uint8_t pruk[MCSEC_PROSE_PRUK_LEN]; /* secret; zero for a trigger */
    uint64_t pmk_id;
    const char *pkmf_fqdn;
    const char *ue_uri;
    uint64_t ntp_time;                 /* 64-bit NTP timestamp for T; 0: now */
} mcsec_prose_pruk_msg_t;

/* Builds the message (the PKMF's side) with a fresh CSB ID and RAND. */
mcsec_status_t mcsec_prose_pruk_build(const mcsec_prose_pruk_msg_t *m,
                                      const uint8_t pmk[MCSEC_PROSE_PMK_LEN], uint8_t *out,
                                      size_t cap, size_t *len) MCSEC_MUST_CHECK;

/* What the receiver expects. */
typedef struct {
    const uint8_t *pmk;  /* MCSEC_PROSE_PMK_LEN octets */
    uint64_t pmk_id;
    uint32_t key_type_id;
    const char *pkmf_fqdn;
    const char *ue_uri;
    uint64_t now;        /* NTP seconds (not the 64-bit form); 0: the system clock */
    uint64_t window;     /* seconds of clock skew accepted for T; 0: 300 */
} mcsec_prose_pruk_expect_t;

/* Opens a PRUK message; a pure function (no replay state: the caller refuses a T not newer
 * than the last one it accepted, as mcsec_prose_ue_receive_mikey does). Checks, in order:
 *   parse (codec statuses); MCSEC_ERR_STRUCTURE: not data type 0 with the exact payload
 *   sequence above, a bad IDR type or length; MCSEC_ERR_UNKNOWN_KEY: PMK ID not the expected
 *   one; MCSEC_ERR_PURPOSE: Key Type ID not the expected one (not a PRUK message);
 *   MCSEC_ERR_WRONG_RECIPIENT: FQDN or UE not the expected ones; MCSEC_ERR_STALE: T outside
 *   the window; MCSEC_ERR_VERIFY: the KEMAC MAC (tampered, or another PMK); MCSEC_ERR_STRUCTURE:
 *   KEY_DATA not one TGK of 32 octets (0 octets for an all-zero PRUK ID).
 * out->pkmf_fqdn / ue_uri are set to NULL; *t_out (may be NULL) receives T. */
mcsec_status_t mcsec_prose_pruk_open(const uint8_t *msg, size_t len,
                                     const mcsec_prose_pruk_expect_t *exp,
                                     mcsec_prose_pruk_msg_t *out, uint64_t *t_out) MCSEC_MUST_CHECK;

/* --- Remote UE ------------------------------------------------------------------------------ */

/* A remote UE's PRUK state, one record per PKMF FQDN in the handset keystore (sealed like its
 * other records): Key Type ID, PMK and PMK ID, PRUK and PRUK ID, the last MIKEY T accepted and
 * whether the relay refused the PRUK ID. ue_uri is this UE's identity (its enrolled URI). */
typedef struct mcsec_prose_ue mcsec_prose_ue_t;
mcsec_status_t mcsec_prose_ue_open(mcsec_prose_ue_t **out, mcsec_keystore_t *ks,
                                   const char *ue_uri) MCSEC_MUST_CHECK;
void mcsec_prose_ue_close(mcsec_prose_ue_t *ue); /* NULL ok */

typedef struct {
    mcsec_status_t status;          /* also returned */
    char message[MCSEC_PROSE_MSG_MAX]; /* one line when status != MCSEC_OK */
    uint32_t key_type_id;
    int new_pmk;                    /* a PMK came and replaced the previous one */
    int new_pruk;                   /* a PRUK came (MIKEY) and replaced the previous one */
    int key_request_again;          /* the PKMF's MIKEY asked for a new Key Request */
    int stopped;                    /* want == 0 was acknowledged */
    uint64_t pruk_id;               /* the PRUK ID now held (0: none) */
} mcsec_prose_key_result_t;

/* Key Request to the PKMF whose FQDN is pkmf_fqdn (checked in its MIKEY messages): want 1 to
 * receive PRUKs (the PRUK ID held, if any, is sent), 0 to stop receiving them (the record is
 * then deleted). push_address ("A.B.C.D:PORT", may be NULL) is where the PKMF pushes later
 * PRUK MIKEY messages (UDP). A PMK in the response replaces the stored one; a PRUK MIKEY in it
 * is opened as mcsec_prose_ue_receive_mikey does. Statuses: the PKMF's refusal
 * (MCSEC_ERR_POLICY: not authorised; ...), MCSEC_ERR_IO (no answer), or the MIKEY checks'. */
mcsec_status_t mcsec_prose_ue_key_request(mcsec_prose_ue_t *ue, const mcsec_prose_server_t *pkmf,
                                          const char *pkmf_fqdn, int want,
                                          const char *push_address,
                                          mcsec_prose_key_result_t *res) MCSEC_MUST_CHECK;

/* The Key Request/Response exchange itself, without the UE's stored state (what
 * mcsec_prose_ue_key_request sends and receives). */
typedef struct {
    mcsec_status_t status;
    char message[MCSEC_PROSE_MSG_MAX];
    uint32_t key_type_id;
    int has_pmk;
    uint8_t pmk[MCSEC_PROSE_PMK_LEN]; /* secret */
    uint64_t pmk_id;
    uint8_t mikey[MCSEC_PROSE_MIKEY_MAX];
    size_t mikey_len;                 /* 0: no PRUK MIKEY message */
    int stopped;
} mcsec_prose_key_response_t;
mcsec_status_t mcsec_prose_key_request(const mcsec_prose_server_t *pkmf, int want,
                                       const uint64_t *pruk_ids, size_t n_pruk_ids,
                                       const char *push_address,
                                       mcsec_prose_key_response_t *out) MCSEC_MUST_CHECK;
void mcsec_prose_key_response_wipe(mcsec_prose_key_response_t *r);

/* A PRUK MIKEY message pushed by the PKMF (UDP, see mcsec_pkmf_push): opened with the stored
 * PMK; T must be newer than the last accepted one (MCSEC_ERR_REPLAY otherwise). A new PRUK
 * replaces the previous one for that PKMF; an all-zero PRUK ID sets key_request_again (the
 * caller then calls mcsec_prose_ue_key_request). MCSEC_ERR_UNKNOWN_KEY: no PMK from that PKMF. */
mcsec_status_t mcsec_prose_ue_receive_mikey(mcsec_prose_ue_t *ue, const char *pkmf_fqdn,
                                            const uint8_t *msg, size_t len,
                                            mcsec_prose_key_result_t *res) MCSEC_MUST_CHECK;

/* The relay identity to put in a Direct Communication Request to a relay of that PKMF: the
 * PRUK ID, or the long-term identity when there is no PRUK or the PRUK ID was refused. */
mcsec_status_t mcsec_prose_ue_relay_id(mcsec_prose_ue_t *ue, const char *pkmf_fqdn, uint8_t *out,
                                       size_t cap, size_t *len) MCSEC_MUST_CHECK;

/* The relay (the PKMF through it) refused our PRUK ID: use the long-term identity next time. */
mcsec_status_t mcsec_prose_ue_pruk_refused(mcsec_prose_ue_t *ue,
                                           const char *pkmf_fqdn) MCSEC_MUST_CHECK;

/* KD from the stored PRUK and the KD Derivation Parameter of the relay's DSMC.
 * MCSEC_ERR_UNKNOWN_KEY if no PRUK is held for that PKMF. */
mcsec_status_t mcsec_prose_ue_derive_kd(mcsec_prose_ue_t *ue, const char *pkmf_fqdn,
                                        const uint8_t *param, size_t param_len,
                                        uint8_t kd[MCSEC_PROSE_KD_LEN]) MCSEC_MUST_CHECK;

/* The PRUK ID held for pkmf_fqdn (0 if none). */
uint64_t mcsec_prose_ue_pruk_id(mcsec_prose_ue_t *ue, const char *pkmf_fqdn);

/* --- Relay ---------------------------------------------------------------------------------- */

typedef struct {
    mcsec_status_t status;
    char message[MCSEC_PROSE_MSG_MAX];
    uint8_t kd[MCSEC_PROSE_KD_LEN];             /* secret */
    uint8_t param[MCSEC_PROSE_KD_PARAM_LEN];    /* KD Derivation Parameter, for the DSMC */
    char ue_uri[MCSEC_PROSE_URI_MAX + 1];       /* the remote UE the PKMF identified */
} mcsec_prose_relay_key_t;

/* Relay Key Request with the relay identity from the remote UE's DCR (encoded as
 * mcsec_prose_relay_id_encode). The PKMF's refusals: MCSEC_ERR_UNKNOWN_KEY (PRUK ID unknown
 * to the PKMF, or no PRUK for that long-term identity), MCSEC_ERR_POLICY (this relay is not
 * authorised to serve that UE); MCSEC_ERR_IO: no answer. Wipe out with
 * mcsec_prose_relay_key_wipe. */
mcsec_status_t mcsec_prose_relay_key_request(const mcsec_prose_server_t *pkmf,
                                             const uint8_t *relay_id, size_t relay_id_len,
                                             mcsec_prose_relay_key_t *out) MCSEC_MUST_CHECK;
void mcsec_prose_relay_key_wipe(mcsec_prose_relay_key_t *k);

/* --- Network-authorised one-to-one keying -------------------------------------------------- */

typedef struct {
    mcsec_status_t status;
    char message[MCSEC_PROSE_MSG_MAX];
    uint8_t kd[MCSEC_PROSE_KD_LEN];              /* secret */
    uint32_t kd_id;                              /* MSB half from UE_1, LSB half from UE_2's entity */
    uint32_t conn_id;                            /* fresh connection identity for this pair */
    uint8_t session[MCSEC_PROSE_SESSION_LEN];    /* the token UE_1 puts in its DCR */
    char initiator_uri[MCSEC_PROSE_URI_MAX + 1]; /* UE_1 */
    char responder_uri[MCSEC_PROSE_URI_MAX + 1]; /* UE_2 */
} mcsec_prose_nw_key_t;

/* UE_1: asks its entity for a key with peer_uri. kd_id_msb: the KD ID's upper 16 bits, unique
 * among UE_1's KDs (0: the entity picks one). Refusals: MCSEC_ERR_POLICY (this UE or the peer
 * not authorised for network-authorised direct keying), MCSEC_ERR_UNKNOWN_KEY (no entity known
 * to serve peer_uri), MCSEC_ERR_IO (no answer from the entity, or from the peer's entity). */
mcsec_status_t mcsec_prose_nw_initiate(const mcsec_prose_server_t *entity, const char *peer_uri,
                                       uint16_t kd_id_msb,
                                       mcsec_prose_nw_key_t *out) MCSEC_MUST_CHECK;

/* UE_2: fetches the session UE_1 named in its DCR (session: MCSEC_PROSE_SESSION_LEN octets).
 * Refusals: MCSEC_ERR_UNKNOWN_KEY (no such session for this UE), MCSEC_ERR_REPLAY (already
 * fetched), MCSEC_ERR_EXPIRED (older than the entity's session lifetime, 120 s),
 * MCSEC_ERR_POLICY (not authorised). */
mcsec_status_t mcsec_prose_nw_accept(const mcsec_prose_server_t *entity, const uint8_t *session,
                                     size_t session_len,
                                     mcsec_prose_nw_key_t *out) MCSEC_MUST_CHECK;
void mcsec_prose_nw_key_wipe(mcsec_prose_nw_key_t *k);

/* Entity -> peer entity (seed 001 messages 2 and 5; mcsec-kms calls it, with its own CURVE
 * key pair as the device credential): sends Keying_material_1 for a session between
 * initiator_uri (served by the caller) and responder_uri (served by the peer); the answer
 * carries Keying_material_2, the connection identity and the KD ID. */
typedef struct {
    mcsec_status_t status;
    char message[MCSEC_PROSE_MSG_MAX];
    uint8_t km2[MCSEC_PROSE_KM_LEN]; /* secret */
    uint32_t conn_id, kd_id;
} mcsec_prose_entity_answer_t;
mcsec_status_t mcsec_prose_entity_keying(const mcsec_prose_server_t *peer,
                                         const uint8_t session[MCSEC_PROSE_SESSION_LEN],
                                         const char *initiator_uri, const char *responder_uri,
                                         const uint8_t km1[MCSEC_PROSE_KM_LEN],
                                         uint16_t kd_id_msb,
                                         mcsec_prose_entity_answer_t *out) MCSEC_MUST_CHECK;

/* KD of network-authorised keying (what both UEs compute): see MCSEC_PROSE_FC_KD_NETWORK. */
mcsec_status_t mcsec_prose_kd_network(const uint8_t km1[MCSEC_PROSE_KM_LEN],
                                      const uint8_t km2[MCSEC_PROSE_KM_LEN],
                                      const uint8_t session[MCSEC_PROSE_SESSION_LEN],
                                      const char *initiator_uri, const char *responder_uri,
                                      uint32_t conn_id, uint32_t kd_id,
                                      uint8_t kd[MCSEC_PROSE_KD_LEN]) MCSEC_MUST_CHECK;

/* --- With a direct link (include/mcsec/direct.h) ------------------------------------------
 * The seed's steps as calls on a mcsec_direct_link_t; the application still builds, sends and
 * handles the messages (mcsec_direct_build_dcr, _respond_begin, _build_dsmc, _handle_dsmc). */

/* Remote UE, step 3: its relay identity as the next DCR's key creation data (PRUK_ID: the
 * 8-octet PRUK ID; LONG_TERM_ID: its URI, once the PRUK ID was refused or without a PRUK). */
mcsec_status_t mcsec_prose_ue_add_relay_kcd(mcsec_prose_ue_t *ue, const char *pkmf_fqdn,
                                            mcsec_direct_link_t *link) MCSEC_MUST_CHECK;

/* Relay, steps 4a-5a, after mcsec_direct_respond_begin(link, dcr, dcr_len): the relay
 * identity from the DCR goes to the PKMF; KD is set on the link and the KD Derivation
 * Parameter added to its DSMC's key creation data. out (may be NULL) receives the PKMF's
 * answer (out->ue_uri: whom the relay serves); the caller wipes it. Statuses: the PKMF's
 * (MCSEC_ERR_UNKNOWN_KEY: PRUK ID unknown, answer with a Reject of cause
 * MCSEC_DIRECT_CAUSE_UNKNOWN_KD; MCSEC_ERR_POLICY: not authorised, cause
 * MCSEC_DIRECT_CAUSE_AUTH), MCSEC_ERR_STRUCTURE if the DCR names no relay identity. */
mcsec_status_t mcsec_prose_relay_prepare_dsmc(const mcsec_prose_server_t *pkmf,
                                              mcsec_direct_link_t *link, const uint8_t *dcr,
                                              size_t dcr_len,
                                              mcsec_prose_relay_key_t *out) MCSEC_MUST_CHECK;

/* Remote UE, step 5b, before mcsec_direct_handle_dsmc(link, dsmc, ...): KD from the stored
 * PRUK and the DSMC's KD Derivation Parameter, set on the link. MCSEC_ERR_STRUCTURE: no
 * parameter in the DSMC; MCSEC_ERR_UNKNOWN_KEY: no PRUK for that PKMF; parser statuses. */
mcsec_status_t mcsec_prose_ue_take_dsmc(mcsec_prose_ue_t *ue, const char *pkmf_fqdn,
                                        mcsec_direct_link_t *link, const uint8_t *dsmc,
                                        size_t dsmc_len) MCSEC_MUST_CHECK;

/* Network-authorised keying, UE_1: mcsec_prose_nw_initiate with the link's KD ID MSB half,
 * then the KD and KD ID set on the link (mcsec_direct_set_kd_with_id) and the session token
 * added as MCSEC_DIRECT_KCD_NETWORK key creation data of its DCR. out (may be NULL) receives
 * the entity's answer; the caller wipes it. */
mcsec_status_t mcsec_prose_nw_link_initiate(const mcsec_prose_server_t *entity,
                                            mcsec_direct_link_t *link, const char *peer_uri,
                                            mcsec_prose_nw_key_t *out) MCSEC_MUST_CHECK;

/* UE_2, BEFORE mcsec_direct_respond_begin(link, dcr, dcr_len): the DCR's session token goes to
 * its entity (mcsec_prose_nw_accept), KD and KD ID are set on the link. The DCR's requester
 * must be the session's initiator (its user info, when present; MCSEC_ERR_VERIFY otherwise).
 * MCSEC_ERR_STRUCTURE if the DCR carries no session token. */
mcsec_status_t mcsec_prose_nw_link_accept(const mcsec_prose_server_t *entity,
                                          mcsec_direct_link_t *link, const uint8_t *dcr,
                                          size_t dcr_len,
                                          mcsec_prose_nw_key_t *out) MCSEC_MUST_CHECK;

#ifdef __cplusplus
}
#endif
#endif
