/* One-to-one direct communication security (seed 000 6.3, seed 001, seed 003; TS 33.303 6.5).
 *
 * Two UEs share a root key KD named by a 32-bit KD ID (the DKSI of the seed). KD comes from
 * anywhere: a MIKEY-SAKKE I_MESSAGE signed with ECCSI (offline), K1/K2 contributions
 * (seed 003), the network (seed 001) or a relay's PKMF (seed 004). The Direct Security Mode
 * procedure turns KD into a session key and starts protection:
 *
 *   UE_1 (initiator)                                       UE_2 (responder)
 *   Direct Communication Request (DCR): Nonce_1, supported algorithms, KD ID (MSB half or
 *     the whole id of a stored KD), connection identity (resumption), key creation data  ->
 *   <- Direct Security Mode Command (DSMC): KD ID (LSB half chosen by UE_2), Nonce_2, chosen
 *     algorithms, echoed supported algorithms, digest of the DCR, key creation data;
 *     integrity protected with a key from KD-sess = KDF(KD, Nonce_1, Nonce_2)
 *   Direct Security Mode Complete (DSMP), protected: UE_1's connection identity for UE_2 ->
 *   <- Direct Communication Accept, protected: UE_2's connection identity for UE_1
 *
 * Then each side protects data: signalling (bearer 0) with confidentiality and integrity,
 * user plane (bearers 1..3) with confidentiality only (seed 000 5.5.3). Either side may rekey
 * (Direct Rekeying Request -> DSMC -> DSMP): fresh nonces give a fresh KD-sess from the same
 * KD, or a fresh KD comes with new key creation data. A released link keeps KD, KD ID,
 * algorithms and connection identities (D2D-Idle) and can be resumed by connection identity.
 * Byte layouts, key hierarchy and FC values: docs/protocol.md ("Direct communication").
 *
 * Usage. The application owns the transport and the source of KD. Every message has a pure
 * parser (mcsec_direct_*_parse) so that the application can read the key creation data (and
 * e.g. open a MIKEY-SAKKE I_MESSAGE, fetch KD from a PKMF, derive KD from a PRUK and the KD
 * Derivation Parameter of a DSMC) BEFORE it supplies KD with mcsec_direct_set_kd() and the
 * link checks the MAC:
 *
 *   initiator: link_new -> [set_kd] -> [add_kcd] -> build_dcr -> (DSMC) dsmc_parse ->
 *              [set_kd] -> handle_dsmc (gives the DSMP) -> receive (Accept) -> established
 *   responder: (DCR) dcr_parse -> link_new / link_by_conn_id -> respond_begin -> [set_kd] ->
 *              [add_kcd] -> build_dsmc -> receive (DSMP) -> build_accept -> established
 *   either:    protect / receive data; build_rekey -> peer: receive (REKEY) -> build_dsmc ->
 *              handle_dsmc (DSMP) -> receive (DSMP); build_release; link_forget
 * or, one call per received datagram: mcsec_direct_handle (with mcsec_direct_keying_* for the
 * identity-key modes and a KD hook for any other source of KD).
 *
 * Secrets (KD, KD-sess, algorithm keys) never leave the library except through set_kd; they
 * are wiped when replaced, released or forgotten. A UE and its links are used by one thread
 * at a time. */
#ifndef MCSEC_DIRECT_H
#define MCSEC_DIRECT_H

#include <stddef.h>
#include <stdint.h>

#include "mcsec/profile.h" /* MIKEY-SAKKE key creation data (offline and sdes modes) */
#include "mcsec/status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define MCSEC_DIRECT_VERSION 1
#define MCSEC_DIRECT_KD_LEN 32      /* KD, KD-sess */
#define MCSEC_DIRECT_NONCE_LEN 16   /* Nonce_1, Nonce_2 */
#define MCSEC_DIRECT_KEY_LEN 16     /* algorithm keys (128-bit) */
#define MCSEC_DIRECT_MAC_LEN 4      /* MAC-I (32 bits, as 128-NIA2/EIA2) */
#define MCSEC_DIRECT_DIGEST_LEN 16  /* request digest echoed in a DSMC */
#define MCSEC_DIRECT_KCD_ITEMS 4    /* key creation data items per message, at most */
#define MCSEC_DIRECT_KCD_MAX 4096   /* octets of one item's value, at most */
#define MCSEC_DIRECT_USER_INFO_MAX 255 /* initiator identity in a DCR (octets, no NUL) */
#define MCSEC_DIRECT_BEARERS 4      /* bearer 0: signalling; 1..3: user plane */
#define MCSEC_DIRECT_PDU_HEADER 8   /* type(1) | KD-sess ID(2) | bearer(1) | COUNT(4) */
#define MCSEC_DIRECT_MSG_MAX 20000  /* largest message any builder writes */

/* Message types: the first octet of every message (DCR, DSMC, REJECT and PDU on the wire;
 * the others inside a bearer-0 PDU). */
enum {
    MCSEC_DIRECT_MSG_DCR = 0x01,
    MCSEC_DIRECT_MSG_DSMC = 0x02,
    MCSEC_DIRECT_MSG_DSMP = 0x03,
    MCSEC_DIRECT_MSG_ACCEPT = 0x04,
    MCSEC_DIRECT_MSG_REJECT = 0x05,
    MCSEC_DIRECT_MSG_REKEY = 0x06,
    MCSEC_DIRECT_MSG_RELEASE = 0x07,
    MCSEC_DIRECT_MSG_SIGNAL = 0x08, /* application signalling on bearer 0 */
    MCSEC_DIRECT_MSG_PDU = 0x10,    /* protected packet */
};

/* Algorithms (identifiers as TS 33.401 EEA/EIA). Supported sets are bit masks: bit n set =
 * algorithm n supported. Null integrity is never accepted (signalling integrity is mandatory). */
enum {
    MCSEC_DIRECT_ENC_NULL = 0,    /* no confidentiality (a configuration option) */
    MCSEC_DIRECT_ENC_AES_CTR = 2, /* 128-bit AES-CTR, IV as 128-EEA2 */
    MCSEC_DIRECT_INT_NULL = 0,    /* defined for the wire only: always refused */
    MCSEC_DIRECT_INT_AES_CMAC = 2 /* 128-bit AES-CMAC, 32-bit MAC as 128-EIA2 */
};
#define MCSEC_DIRECT_ALG_BIT(alg) ((uint8_t)(1u << (alg)))

/* Key creation data item types (an opaque, typed value carried in a DCR, rekey request or
 * DSMC; the library only carries it, and covers it by the DSMC MAC and the request digest). */
enum {
    MCSEC_DIRECT_KCD_MIKEY_SAKKE = 1, /* DCR/rekey: I_MESSAGE carrying the key KD derives from */
    MCSEC_DIRECT_KCD_K1 = 2,          /* DCR/rekey: I_MESSAGE carrying K1 (seed 003) */
    MCSEC_DIRECT_KCD_K2 = 3,          /* DSMC: I_MESSAGE carrying K2 (seed 003) */
    MCSEC_DIRECT_KCD_NETWORK = 4,     /* network-authorised KD: a reference (seed 001) */
    MCSEC_DIRECT_KCD_PRUK_ID = 5,     /* DCR: a remote UE's 64-bit PRUK ID (seed 004) */
    MCSEC_DIRECT_KCD_LONG_TERM_ID = 6,/* DCR: a remote UE's long-term identity (seed 004) */
    MCSEC_DIRECT_KCD_KD_PARAM = 7,    /* DSMC: KD Derivation Parameter (seed 004) */
    MCSEC_DIRECT_KCD_GPI = 8,         /* DSMC: GBA Push Info (seed 004) */
    MCSEC_DIRECT_KCD_APP = 0x80,      /* 0x80..0xFE: application defined; 0, 0xFF reserved */
};

/* Reject causes (MCSEC_DIRECT_MSG_REJECT), and the status the initiator gets for each. */
enum {
    MCSEC_DIRECT_CAUSE_UNKNOWN_CONN_ID = 1, /* MCSEC_ERR_UNKNOWN_KEY */
    MCSEC_DIRECT_CAUSE_UNKNOWN_KD = 2,      /* MCSEC_ERR_UNKNOWN_KEY */
    MCSEC_DIRECT_CAUSE_POLICY = 3,          /* MCSEC_ERR_POLICY: no acceptable algorithms */
    MCSEC_DIRECT_CAUSE_AUTH = 4,            /* MCSEC_ERR_VERIFY: key creation data refused */
    MCSEC_DIRECT_CAUSE_REPLAY = 5,          /* MCSEC_ERR_REPLAY */
    MCSEC_DIRECT_CAUSE_OTHER = 6,           /* MCSEC_ERR_BAD_INPUT */
};

/* --- Key derivation (TS 33.220 Annex B framing) ----------------------------------------------
 * KDF(key, FC, P0..Pn) = HMAC-SHA-256(key, FC || P0 || L0 || ... || Pn || Ln), Li = len(Pi)
 * as 2 octets big-endian. FC values (mcsec-assigned, docs/protocol.md): */
#define MCSEC_DIRECT_FC_KD_SESS 0x70   /* KD-sess = KDF(KD, P0 = Nonce_1, P1 = Nonce_2) */
#define MCSEC_DIRECT_FC_ALG_KEY 0x71   /* key = KDF(KD-sess, P0 = distinguisher, P1 = alg id),
                                          the 128 least significant bits (33.401 A.7 style) */
#define MCSEC_DIRECT_FC_KD_MIKEY 0x72  /* KD = KDF(MIKEY key, P0 = KD ID MSB (2 octets)) */
#define MCSEC_DIRECT_FC_KD_K1K2 0x73   /* KD = KDF(K1, P0 = K2) (seed 003) */

/* Algorithm type distinguishers (P0 of MCSEC_DIRECT_FC_ALG_KEY). */
enum {
    MCSEC_DIRECT_KEY_SIG_ENC = 0x01, /* signalling confidentiality */
    MCSEC_DIRECT_KEY_SIG_INT = 0x02, /* signalling integrity */
    MCSEC_DIRECT_KEY_UP_ENC = 0x03,  /* user plane confidentiality */
};

typedef struct {
    const uint8_t *p;
    size_t len; /* at most 65535 */
} mcsec_direct_param_t;

/* out = KDF(key, fc, params[0..n-1]). MCSEC_ERR_BAD_INPUT for NULLs or a parameter over
 * 65535 octets. Also for other key hierarchies (a relay's KD from a PRUK). */
mcsec_status_t mcsec_direct_kdf(const uint8_t *key, size_t key_len, uint8_t fc,
                                const mcsec_direct_param_t *params, size_t n,
                                uint8_t out[32]) MCSEC_MUST_CHECK;

/* KD-sess = KDF(KD, FC_KD_SESS, Nonce_1, Nonce_2). */
mcsec_status_t mcsec_direct_kd_sess(const uint8_t kd[MCSEC_DIRECT_KD_LEN],
                                    const uint8_t nonce_1[MCSEC_DIRECT_NONCE_LEN],
                                    const uint8_t nonce_2[MCSEC_DIRECT_NONCE_LEN],
                                    uint8_t kd_sess[MCSEC_DIRECT_KD_LEN]) MCSEC_MUST_CHECK;

/* An algorithm key: the last 16 octets of KDF(KD-sess, FC_ALG_KEY, distinguisher, alg). */
mcsec_status_t mcsec_direct_alg_key(const uint8_t kd_sess[MCSEC_DIRECT_KD_LEN],
                                    uint8_t distinguisher, uint8_t alg,
                                    uint8_t key[MCSEC_DIRECT_KEY_LEN]) MCSEC_MUST_CHECK;

/* KD from a 16-octet key delivered in a MIKEY-SAKKE I_MESSAGE (offline mode): the I_MESSAGE's
 * key id is (kd_id_msb << 16) with purpose tag 1 (PCK). */
mcsec_status_t mcsec_direct_kd_from_mikey(const uint8_t *key, size_t key_len, uint16_t kd_id_msb,
                                          uint8_t kd[MCSEC_DIRECT_KD_LEN]) MCSEC_MUST_CHECK;

/* KD = KDF(K1, FC_KD_K1K2, K2) (seed 003 key contributions). */
mcsec_status_t mcsec_direct_kd_from_k1k2(const uint8_t *k1, size_t k1_len, const uint8_t *k2,
                                         size_t k2_len,
                                         uint8_t kd[MCSEC_DIRECT_KD_LEN]) MCSEC_MUST_CHECK;

/* --- Protection primitives (TS 33.401 Annex B framing) ---------------------------------------
 * Confidentiality: AES-128-CTR with the initial counter block COUNT(32) || BEARER(5) ||
 * DIRECTION(1) || 0^90 (128-EEA2); MCSEC_DIRECT_ENC_NULL copies. Integrity: AES-CMAC over
 * COUNT(32) || BEARER(5) || DIRECTION(1) || 0^26 || message, the first 32 bits (128-EIA2).
 * DIRECTION: 0 for packets sent by the link's initiator, 1 by its responder. */
mcsec_status_t mcsec_direct_cipher(uint8_t alg, const uint8_t key[MCSEC_DIRECT_KEY_LEN],
                                   uint32_t count, uint8_t bearer, uint8_t direction,
                                   const uint8_t *in, size_t len, uint8_t *out) MCSEC_MUST_CHECK;
mcsec_status_t mcsec_direct_mac(uint8_t alg, const uint8_t key[MCSEC_DIRECT_KEY_LEN],
                                uint32_t count, uint8_t bearer, uint8_t direction,
                                const uint8_t *msg, size_t len,
                                uint8_t mac[MCSEC_DIRECT_MAC_LEN]) MCSEC_MUST_CHECK;

/* --- Messages: pure parsers ------------------------------------------------------------------
 * Parsers return views into the input buffer (it must outlive the struct). Statuses:
 * MCSEC_ERR_TRUNCATED (input ends inside a field), MCSEC_ERR_TRAILING_DATA (octets after the
 * message), MCSEC_ERR_BAD_INPUT (wrong message type, reserved flag bits, a zero or reserved
 * value where the layout forbids it), MCSEC_ERR_UNSUPPORTED (protocol version),
 * MCSEC_ERR_STRUCTURE (too many key creation data items, a reserved item type, an item type
 * repeated), MCSEC_ERR_BAD_LENGTH (an item over MCSEC_DIRECT_KCD_MAX). */

typedef struct {
    uint8_t type; /* MCSEC_DIRECT_KCD_* */
    const uint8_t *value;
    size_t len;
} mcsec_direct_kcd_t;

/* DCR flags. */
#define MCSEC_DIRECT_DCR_EXISTING_KD 0x01 /* kd_id names a stored KD (whole id) */
#define MCSEC_DIRECT_REKEY_FRESH_KD 0x02  /* rekey request: a new KD is wanted */

/* A Direct Communication Request, or (inside a protected PDU) a Direct Rekeying Request:
 * same layout, type MCSEC_DIRECT_MSG_DCR or MCSEC_DIRECT_MSG_REKEY. */
typedef struct {
    uint8_t type;
    uint8_t flags;           /* MCSEC_DIRECT_DCR_EXISTING_KD / MCSEC_DIRECT_REKEY_FRESH_KD */
    uint32_t conn_id;        /* connection identity the responder allocated; 0: none */
    uint32_t kd_id;          /* EXISTING_KD: the whole KD ID; else MSB half << 16 (or 0) */
    uint8_t kd_sess_id_msb;  /* chosen by the requester, nonzero */
    uint8_t nonce[MCSEC_DIRECT_NONCE_LEN]; /* Nonce_1 */
    uint8_t enc_algs, int_algs;            /* supported algorithm masks */
    const uint8_t *user_info; /* the requester's identity (URI), may be empty on resumption */
    size_t user_info_len;
    size_t n_kcd;
    mcsec_direct_kcd_t kcd[MCSEC_DIRECT_KCD_ITEMS];
} mcsec_direct_request_t;

typedef struct {
    uint32_t kd_id;         /* whole KD ID (the DKSI) */
    uint16_t kd_sess_id;    /* MSB from the request, LSB chosen by the sender */
    uint8_t nonce[MCSEC_DIRECT_NONCE_LEN]; /* Nonce_2 */
    uint8_t enc_alg, int_alg;              /* chosen */
    uint8_t echo_enc_algs, echo_int_algs;  /* the requester's supported sets, as received */
    uint8_t digest[MCSEC_DIRECT_DIGEST_LEN]; /* SHA-256 of the request as received, 16 octets */
    size_t n_kcd;
    mcsec_direct_kcd_t kcd[MCSEC_DIRECT_KCD_ITEMS];
    uint8_t mac[MCSEC_DIRECT_MAC_LEN];
} mcsec_direct_dsmc_t;

typedef struct {
    uint8_t cause;                          /* MCSEC_DIRECT_CAUSE_* */
    uint8_t nonce[MCSEC_DIRECT_NONCE_LEN];  /* Nonce_1 of the refused request */
} mcsec_direct_reject_t;

typedef struct {
    uint16_t kd_sess_id;
    uint8_t bearer;   /* 0..MCSEC_DIRECT_BEARERS-1 */
    uint32_t count;
    const uint8_t *body; /* ciphertext (with the MAC-I on bearer 0) */
    size_t body_len;
} mcsec_direct_pdu_t;

mcsec_status_t mcsec_direct_dcr_parse(const uint8_t *msg, size_t len,
                                      mcsec_direct_request_t *out) MCSEC_MUST_CHECK;
/* A Direct Rekeying Request (the plaintext of a bearer-0 PDU). */
mcsec_status_t mcsec_direct_rekey_parse(const uint8_t *msg, size_t len,
                                        mcsec_direct_request_t *out) MCSEC_MUST_CHECK;
mcsec_status_t mcsec_direct_dsmc_parse(const uint8_t *msg, size_t len,
                                       mcsec_direct_dsmc_t *out) MCSEC_MUST_CHECK;
mcsec_status_t mcsec_direct_reject_parse(const uint8_t *msg, size_t len,
                                         mcsec_direct_reject_t *out) MCSEC_MUST_CHECK;
/* The header of a protected packet (bearer 0 needs a body of at least the MAC). */
mcsec_status_t mcsec_direct_pdu_parse(const uint8_t *msg, size_t len,
                                      mcsec_direct_pdu_t *out) MCSEC_MUST_CHECK;
/* The first octet of a message, 0 if empty: to dispatch a datagram. */
uint8_t mcsec_direct_msg_type(const uint8_t *msg, size_t len);

/* A Reject for a request that found no link (unknown connection identity, ...): pure. */
mcsec_status_t mcsec_direct_build_reject(const mcsec_direct_request_t *req, uint8_t cause,
                                         uint8_t *out, size_t cap,
                                         size_t *out_len) MCSEC_MUST_CHECK;

/* --- A UE: its connection identities and stored link contexts ------------------------------ */

typedef struct {
    const char *user_uri;   /* our identity, sent as user info in a new DCR (copied) */
    uint8_t enc_algs;       /* confidentiality algorithms we accept; 0: AES-CTR only */
    uint8_t int_algs;       /* integrity algorithms we accept; 0: AES-CMAC (null never) */
    uint32_t count_soft;    /* mcsec_direct_needs_rekey() from this tx COUNT on; 0: 2^31 */
    uint32_t count_hard;    /* protect refuses (MCSEC_ERR_EXPIRED) at this COUNT; 0: 2^32-16 */
    size_t max_links;       /* stored contexts, at most; 0: 256 */
} mcsec_direct_config_t;

typedef struct mcsec_direct_ue mcsec_direct_ue_t;
typedef struct mcsec_direct_link mcsec_direct_link_t;

/* MCSEC_ERR_BAD_INPUT for a NULL or over-long user_uri, masks naming unknown algorithms, or
 * a mask with null integrity only. */
mcsec_status_t mcsec_direct_ue_new(mcsec_direct_ue_t **out,
                                   const mcsec_direct_config_t *cfg) MCSEC_MUST_CHECK;
void mcsec_direct_ue_free(mcsec_direct_ue_t *ue); /* NULL ok; wipes every link */

/* --- Links ------------------------------------------------------------------------------------ */

typedef enum {
    MCSEC_DIRECT_INITIATOR = 0, /* sent the DCR: DIRECTION 0 */
    MCSEC_DIRECT_RESPONDER = 1, /* answered it: DIRECTION 1 */
} mcsec_direct_role_t;

typedef enum {
    MCSEC_DIRECT_S_NEW = 0,        /* nothing sent or received */
    MCSEC_DIRECT_S_DCR_SENT,       /* initiator: waits for a DSMC */
    MCSEC_DIRECT_S_RESPONDING,     /* responder: DCR taken, DSMC not built yet */
    MCSEC_DIRECT_S_DSMC_SENT,      /* waits for the DSMP */
    MCSEC_DIRECT_S_DSMP_SENT,      /* initiator: secured, waits for the Accept */
    MCSEC_DIRECT_S_ESTABLISHED,    /* data flows */
    MCSEC_DIRECT_S_IDLE,           /* released: KD and connection ids kept (D2D-Idle) */
} mcsec_direct_state_t;

/* The check a link call stopped at (MCSEC_DIRECT_CHECK_NONE on success). */
typedef enum {
    MCSEC_DIRECT_CHECK_NONE = 0,
    MCSEC_DIRECT_CHECK_PARSE,      /* the parser's status passes through */
    MCSEC_DIRECT_CHECK_STATE,      /* message not expected in this state (MCSEC_ERR_STRUCTURE) */
    MCSEC_DIRECT_CHECK_REPLAY,     /* DSMC nonce / packet COUNT seen before (MCSEC_ERR_REPLAY) */
    MCSEC_DIRECT_CHECK_KEY,        /* KD / KD ID / KD-sess ID unknown (MCSEC_ERR_UNKNOWN_KEY) */
    MCSEC_DIRECT_CHECK_ALGS,       /* chosen algorithms not offered / refused (MCSEC_ERR_POLICY) */
    MCSEC_DIRECT_CHECK_MAC,        /* MAC-I wrong (MCSEC_ERR_VERIFY) */
    MCSEC_DIRECT_CHECK_BIDDING_DOWN, /* echoed supported algorithms differ (MCSEC_ERR_VERIFY) */
    MCSEC_DIRECT_CHECK_DIGEST,     /* echoed request digest differs (MCSEC_ERR_VERIFY) */
    MCSEC_DIRECT_CHECK_CONTENT,    /* a protected message's fields disagree (MCSEC_ERR_VERIFY) */
    MCSEC_DIRECT_CHECK_COUNT,      /* COUNT exhausted: rekey (MCSEC_ERR_EXPIRED) */
    MCSEC_DIRECT_CHECK_REJECTED,   /* the peer sent a Reject (status per cause) */
} mcsec_direct_check_t;

const char *mcsec_direct_check_name(mcsec_direct_check_t check); /* "mac", ...; never NULL */

/* A new link with peer_uri (copied; may be "" for a responder until the DCR names it). Its
 * KD ID MSB half and KD-sess ID MSB are drawn at random, unique among this UE's links.
 * MCSEC_ERR_NOMEM when max_links are stored. */
mcsec_status_t mcsec_direct_link_new(mcsec_direct_ue_t *ue, const char *peer_uri,
                                     mcsec_direct_link_t **out) MCSEC_MUST_CHECK;
/* The stored link whose connection identity WE allocated is conn_id (a responder resuming):
 * MCSEC_ERR_UNKNOWN_KEY if there is none (answer with a Reject, cause UNKNOWN_CONN_ID). */
mcsec_status_t mcsec_direct_link_by_conn_id(mcsec_direct_ue_t *ue, uint32_t conn_id,
                                            mcsec_direct_link_t **out) MCSEC_MUST_CHECK;
/* The stored link with peer_uri (an initiator resuming): MCSEC_ERR_UNKNOWN_KEY if none. */
mcsec_status_t mcsec_direct_link_by_peer(mcsec_direct_ue_t *ue, const char *peer_uri,
                                         mcsec_direct_link_t **out) MCSEC_MUST_CHECK;
/* The link using KD-sess ID id (to route a PDU): MCSEC_ERR_UNKNOWN_KEY if none. */
mcsec_status_t mcsec_direct_link_by_kd_sess_id(mcsec_direct_ue_t *ue, uint16_t id,
                                               mcsec_direct_link_t **out) MCSEC_MUST_CHECK;
/* Wipes and removes a link (D2D-Null). NULL ok. */
void mcsec_direct_link_forget(mcsec_direct_ue_t *ue, mcsec_direct_link_t *link);

/* The KD of the next key establishment (initial or rekey), named by the negotiated KD ID (our
 * MSB half when we request, the peer's when we respond). It replaces the stored KD only when
 * the Direct Security Mode that uses it succeeds. Wipe your copy. */
mcsec_status_t mcsec_direct_set_kd(mcsec_direct_link_t *link,
                                   const uint8_t kd[MCSEC_DIRECT_KD_LEN]) MCSEC_MUST_CHECK;
/* The same with a KD ID agreed outside Direct Security Mode (network-authorised keying): the
 * DCR then names it as an existing KD. MCSEC_ERR_BAD_INPUT if kd_id is 0 or another link of
 * this UE uses it. */
mcsec_status_t mcsec_direct_set_kd_with_id(mcsec_direct_link_t *link,
                                           const uint8_t kd[MCSEC_DIRECT_KD_LEN],
                                           uint32_t kd_id) MCSEC_MUST_CHECK;
/* Appends a key creation data item to the next DCR, rekey request or DSMC this link builds
 * (copied; cleared by the build). MCSEC_ERR_STRUCTURE past MCSEC_DIRECT_KCD_ITEMS or a type
 * already added, MCSEC_ERR_BAD_LENGTH over MCSEC_DIRECT_KCD_MAX, MCSEC_ERR_BAD_INPUT for a
 * reserved type. */
mcsec_status_t mcsec_direct_add_kcd(mcsec_direct_link_t *link, uint8_t type,
                                    const uint8_t *value, size_t len) MCSEC_MUST_CHECK;

/* Initiator: the DCR. A link with a stored KD and a connection identity from the peer resumes
 * (connection identity and whole KD ID, no user info) unless set_kd gave a new KD; a link
 * with neither needs set_kd first or KD from the DSMC's key creation data (set_kd before
 * handle_dsmc). State NEW, IDLE or DCR_SENT (a new DCR replaces an unanswered one), else
 * MCSEC_ERR_STRUCTURE. */
mcsec_status_t mcsec_direct_build_dcr(mcsec_direct_link_t *link, uint8_t *out, size_t cap,
                                      size_t *out_len) MCSEC_MUST_CHECK;

/* Responder: takes a DCR (for a link from link_new or link_by_conn_id): checks the algorithms
 * against our policy (MCSEC_ERR_POLICY: no common algorithms), the named KD (EXISTING_KD:
 * MCSEC_ERR_UNKNOWN_KEY if we hold no KD with that id, unless the DCR carries key creation
 * data or the link holds no KD at all: then build_dsmc checks it), chooses Nonce_2, the
 * algorithms (the strongest common ones), the KD ID LSB half and KD-sess ID LSB. After it,
 * mcsec_direct_kd_id() is the whole KD ID (for key creation data that names it). */
mcsec_status_t mcsec_direct_respond_begin(mcsec_direct_link_t *link, const uint8_t *dcr,
                                          size_t len) MCSEC_MUST_CHECK;
/* The DSMC (after respond_begin, or after receive() reported a rekey request). Needs a KD
 * (set_kd, or the stored one). */
mcsec_status_t mcsec_direct_build_dsmc(mcsec_direct_link_t *link, uint8_t *out, size_t cap,
                                       size_t *out_len) MCSEC_MUST_CHECK;

/* Requester: checks a DSMC in this order: parse, STATE (no exchange pending), REPLAY (a Nonce_2
 * this link accepted before), KEY (KD ID not ours: MCSEC_ERR_UNKNOWN_KEY; no KD set), ALGS
 * (chosen algorithm not offered or not allowed: MCSEC_ERR_POLICY), MAC (MCSEC_ERR_VERIFY),
 * BIDDING_DOWN, DIGEST (MCSEC_ERR_VERIFY). On success writes the protected DSMP to out and
 * switches to the new KD-sess (and KD). On failure the exchange stays pending: a genuine DSMC
 * may still come. */
mcsec_status_t mcsec_direct_handle_dsmc(mcsec_direct_link_t *link, const uint8_t *msg, size_t len,
                                        uint8_t *out, size_t cap,
                                        size_t *out_len) MCSEC_MUST_CHECK;
/* Requester: a Reject answering our pending request: the cause's status (see CAUSE_*);
 * MCSEC_ERR_VERIFY if it does not echo our Nonce_1 (ignored), MCSEC_ERR_STRUCTURE if nothing
 * is pending. The link goes back to NEW / IDLE. */
mcsec_status_t mcsec_direct_handle_reject(mcsec_direct_link_t *link, const uint8_t *msg,
                                          size_t len) MCSEC_MUST_CHECK;

/* Responder, after receive() reported MCSEC_DIRECT_RX_DSMP: the protected Accept carrying the
 * connection identity we allocate for the peer. The link is then ESTABLISHED. */
mcsec_status_t mcsec_direct_build_accept(mcsec_direct_link_t *link, uint8_t *out, size_t cap,
                                         size_t *out_len) MCSEC_MUST_CHECK;

/* Either side, ESTABLISHED: a protected rekey request. fresh_kd: a new KD is wanted (call
 * set_kd and add its key creation data first, or expect it from the DSMC's). A request of
 * ours still unanswered is replaced (new Nonce_1). */
mcsec_status_t mcsec_direct_build_rekey(mcsec_direct_link_t *link, int fresh_kd, uint8_t *out,
                                        size_t cap, size_t *out_len) MCSEC_MUST_CHECK;
/* Either side, ESTABLISHED: a protected Release; the link goes IDLE (session keys wiped). */
mcsec_status_t mcsec_direct_build_release(mcsec_direct_link_t *link, uint8_t *out, size_t cap,
                                          size_t *out_len) MCSEC_MUST_CHECK;

/* Protects data for bearer (0: application signalling, integrity + confidentiality; 1..3:
 * user plane, confidentiality). ESTABLISHED only (MCSEC_ERR_STRUCTURE). MCSEC_ERR_EXPIRED
 * when the COUNT reached count_hard (rekey first). out needs len + 13 octets. */
mcsec_status_t mcsec_direct_protect(mcsec_direct_link_t *link, uint8_t bearer,
                                    const uint8_t *data, size_t len, uint8_t *out, size_t cap,
                                    size_t *out_len) MCSEC_MUST_CHECK;

/* What receive() found. */
typedef enum {
    MCSEC_DIRECT_RX_NONE = 0,
    MCSEC_DIRECT_RX_DATA,     /* user plane data (bearer 1..3) in out */
    MCSEC_DIRECT_RX_SIGNAL,   /* application signalling (bearer 0) in out */
    MCSEC_DIRECT_RX_DSMP,     /* responder: secured; call build_accept (or, after a rekey,
                                 nothing: the new session is in use) */
    MCSEC_DIRECT_RX_ACCEPT,   /* initiator: established; peer connection identity stored */
    MCSEC_DIRECT_RX_REKEY,    /* the peer asks to rekey: out holds the request, rx.request
                                 views it; [set_kd, add_kcd] then build_dsmc */
    MCSEC_DIRECT_RX_RELEASE,  /* the peer released: the link is IDLE */
    /* mcsec_direct_handle only: */
    MCSEC_DIRECT_RX_DCR,      /* a DCR answered with a DSMC (or a Reject on failure) */
    MCSEC_DIRECT_RX_DSMC,     /* a DSMC accepted: the reply is the DSMP */
    MCSEC_DIRECT_RX_REJECT,   /* the peer refused our DCR (status per cause) */
} mcsec_direct_rx_kind_t;

typedef struct {
    mcsec_direct_rx_kind_t kind;
    uint8_t bearer;
    uint32_t count;
    size_t len;                       /* octets written to out */
    mcsec_direct_request_t request;   /* RX_REKEY: views into out */
} mcsec_direct_rx_t;

/* Opens a protected PDU: parse, KEY (KD-sess ID is neither the current session nor one being
 * set up: MCSEC_ERR_UNKNOWN_KEY), REPLAY (COUNT left of the window or seen: MCSEC_ERR_REPLAY),
 * MAC (bearer 0), then the inner message by state (STATE, CONTENT). Data is written to out
 * (cap >= body length; out must not overlap msg). The replay window is 64 packets per bearer and direction. */
mcsec_status_t mcsec_direct_receive(mcsec_direct_link_t *link, const uint8_t *msg, size_t len,
                                    uint8_t *out, size_t cap,
                                    mcsec_direct_rx_t *rx) MCSEC_MUST_CHECK;

/* --- Link information ------------------------------------------------------------------------ */

mcsec_direct_state_t mcsec_direct_state(const mcsec_direct_link_t *link);
const char *mcsec_direct_state_name(mcsec_direct_state_t state); /* never NULL */
mcsec_direct_role_t mcsec_direct_role(const mcsec_direct_link_t *link);
const char *mcsec_direct_peer(const mcsec_direct_link_t *link); /* "" if not known yet */
/* Our KD ID MSB half for the next new KD (to name the key in key creation data we build). */
uint16_t mcsec_direct_kd_id_msb(const mcsec_direct_link_t *link);
/* The whole KD ID of the current KD, or of the pending one once known; 0 if none. */
uint32_t mcsec_direct_kd_id(const mcsec_direct_link_t *link);
uint16_t mcsec_direct_kd_sess_id(const mcsec_direct_link_t *link); /* 0 if none */
void mcsec_direct_algs(const mcsec_direct_link_t *link, uint8_t *enc_alg, uint8_t *int_alg);
/* Connection identities: nonzero, unique at the allocating UE, top bit clear (identities with
 * the top bit set are the network entities', include/mcsec/pkmf.h); a new one each time a
 * link is (re-)established, so each is used for one resumption at most. */
uint32_t mcsec_direct_local_conn_id(const mcsec_direct_link_t *link);  /* we allocated; 0 */
uint32_t mcsec_direct_remote_conn_id(const mcsec_direct_link_t *link); /* peer allocated; 0 */
int mcsec_direct_needs_rekey(const mcsec_direct_link_t *link); /* 1 past count_soft */
/* The check the last failing call on this link stopped at, and why (one line, static). */
mcsec_direct_check_t mcsec_direct_last_check(const mcsec_direct_link_t *link);
const char *mcsec_direct_last_why(const mcsec_direct_link_t *link);

typedef struct {
    uint64_t tx_packets, rx_packets, rx_refused;
    uint32_t sessions; /* KD-sess established so far */
    uint32_t kds;      /* KDs used so far */
} mcsec_direct_stats_t;
void mcsec_direct_stats(const mcsec_direct_link_t *link, mcsec_direct_stats_t *out);

/* The first item of that type, or NULL. */
const mcsec_direct_kcd_t *mcsec_direct_kcd_find(const mcsec_direct_kcd_t *items, size_t n,
                                                uint8_t type);

/* --- Key creation data carried in MIKEY-SAKKE (offline and sdes modes) -----------------------
 * The key travels in a TS 33.180 key distribution I_MESSAGE (mcsec_gmk_build) signed with the
 * sender's ECCSI key and SAKKE-encrypted to the peer: a PCK, whose 32-bit key id names it.
 * Offline: key id = KD ID MSB << 16 (mcsec_direct_kd_id_msb), KD = mcsec_direct_kd_from_mikey.
 * sdes: K1 with key id = KD ID MSB << 16 in the DCR, K2 with key id = the whole KD ID in the
 * DSMC, KD = mcsec_direct_kd_from_k1k2(K1, K2). */

/* Draws a fresh 16-octet key and writes the I_MESSAGE carrying it to peer_uri at ntp_time
 * (64-bit NTP; 0: now). key_id must carry the PCK purpose tag (else MCSEC_ERR_PURPOSE). The
 * key is written to key (secret: wipe it). */
mcsec_status_t mcsec_direct_mikey_offer(const mcsec_gmk_sender_t *tx, const char *peer_uri,
                                        uint32_t key_id, uint64_t ntp_time,
                                        uint8_t key[MCSEC_PROFILE_KEY_LEN], uint8_t *out,
                                        size_t cap, size_t *out_len) MCSEC_MUST_CHECK;
/* Opens such an I_MESSAGE with rx (our receiver: replay cache, freshness window): it must be a
 * PCK message signed by peer_uri (the receiver's signer is set to it) named key_id. Statuses:
 * mcsec_gmk_open's (MCSEC_ERR_VERIFY for a signature by anyone else, MCSEC_ERR_REPLAY,
 * MCSEC_ERR_STALE, ...), MCSEC_ERR_VERIFY for another key id. *check (may be NULL) receives
 * the profile check that failed. */
mcsec_status_t mcsec_direct_mikey_accept(mcsec_profile_receiver_t *rx, const char *peer_uri,
                                         const uint8_t *msg, size_t len, uint32_t key_id,
                                         uint8_t key[MCSEC_PROFILE_KEY_LEN],
                                         mcsec_profile_check_t *check) MCSEC_MUST_CHECK;

/* A handset's identity keys for direct links, from its keystore (which must outlive it): the
 * identity of its latest key set, an ECCSI signer and SAKKE sender for the key period of now
 * (mcsec_direct_mikey_offer) and a MIKEY receiver loading key sets from the store
 * (mcsec_direct_mikey_accept). MCSEC_ERR_UNKNOWN_KEY if the store holds no KMS parameters or
 * key set, MCSEC_ERR_KEY_PERIOD if none for now. One thread at a time. */
typedef struct mcsec_direct_identity mcsec_direct_identity_t;
mcsec_status_t mcsec_direct_identity_open(mcsec_direct_identity_t **out,
                                          mcsec_keystore_t *ks) MCSEC_MUST_CHECK;
void mcsec_direct_identity_close(mcsec_direct_identity_t *id); /* NULL ok; wipes */
const char *mcsec_direct_identity_uri(const mcsec_direct_identity_t *id);
const mcsec_gmk_sender_t *mcsec_direct_identity_sender(const mcsec_direct_identity_t *id);
mcsec_profile_receiver_t *mcsec_direct_identity_receiver(mcsec_direct_identity_t *id);

/* Key establishment with the identity keys, driven by the link (the two modes that need no
 * network; K1 is kept in the link, secret, between the request and the DSMC):
 *   OFFLINE: the requester draws a key, sends it in a MIKEY-SAKKE I_MESSAGE (key creation data
 *            MCSEC_DIRECT_KCD_MIKEY_SAKKE) and both take KD = kd_from_mikey(key, KD ID MSB);
 *   SDES:    the requester sends K1 (MCSEC_DIRECT_KCD_K1), the responder answers K2 in the
 *            DSMC (MCSEC_DIRECT_KCD_K2, named by the whole KD ID), KD = kd_from_k1k2(K1, K2). */
typedef enum {
    MCSEC_DIRECT_KEYING_OFFLINE = 1,
    MCSEC_DIRECT_KEYING_SDES = 2,
} mcsec_direct_keying_t;

/* Requester, before build_dcr (new KD) or build_rekey(link, 1, ...): offers the key to the
 * link's peer and sets KD (OFFLINE). MCSEC_ERR_BAD_INPUT if the link has no peer URI. */
mcsec_status_t mcsec_direct_keying_offer(mcsec_direct_link_t *link, mcsec_direct_identity_t *id,
                                         mcsec_direct_keying_t mode) MCSEC_MUST_CHECK;
/* Responder, after respond_begin or receive() reporting RX_REKEY: opens the request's
 * I_MESSAGE (it must be signed by the link's peer: for a new link, the DCR's user info), sets
 * KD, and for SDES draws K2 and adds it to the DSMC. A request without such key creation data
 * (resumption, rekey with the same KD, KD from elsewhere) is left alone (MCSEC_OK). Statuses:
 * mcsec_direct_mikey_accept's; answer a DCR with mcsec_direct_reject_cause(status). */
mcsec_status_t mcsec_direct_keying_answer(mcsec_direct_link_t *link, mcsec_direct_identity_t *id,
                                          const mcsec_direct_request_t *req) MCSEC_MUST_CHECK;
/* Requester, after dsmc_parse and before handle_dsmc: opens K2 (SDES) and sets KD; nothing
 * to do otherwise. MCSEC_ERR_STRUCTURE if we sent K1 and the DSMC has no K2. */
mcsec_status_t mcsec_direct_keying_finish(mcsec_direct_link_t *link, mcsec_direct_identity_t *id,
                                          const mcsec_direct_dsmc_t *dsmc) MCSEC_MUST_CHECK;
/* The Reject cause for a responder-side failure status. */
uint8_t mcsec_direct_reject_cause(mcsec_status_t status);

/* --- One call per datagram ---------------------------------------------------------------------
 * mcsec_direct_handle dispatches a datagram by type and runs the procedure step it starts,
 * including the key establishment: identity keys (mcsec_direct_keying_*) when `id` is set, and
 * the application's hook for any other source of KD, called with the request (responder: after
 * the request is taken, before the DSMC is built) or the DSMC (requester: before its MAC is
 * checked), e.g. to fetch KD from a network entity or a PKMF, or derive it from a PRUK and the
 * KD Derivation Parameter. The hook sets KD with mcsec_direct_set_kd(_with_id); its status
 * fails the step (a DCR is then answered with a Reject). */
typedef mcsec_status_t (*mcsec_direct_kd_hook_fn)(void *user, mcsec_direct_link_t *link,
                                                  const mcsec_direct_request_t *req,
                                                  const mcsec_direct_dsmc_t *dsmc);
typedef struct {
    mcsec_direct_identity_t *id;     /* NULL: no MIKEY-SAKKE keying */
    mcsec_direct_kd_hook_fn kd_hook; /* NULL: none */
    void *kd_hook_user;
} mcsec_direct_keys_t;

/* Handles one datagram for ue. *link: the link it belongs to if the caller knows (a socket per
 * peer), else NULL and the link is found (DCR: by connection identity, or a new one; DSMC and
 * Reject: the link waiting for it; PDU: by KD-sess ID); on return it names the link (NULL if
 * none). Data goes to out (rx->len octets); a reply to send (DSMC, Reject, DSMP, Accept) to
 * reply (*reply_len octets, 0: nothing to send). rx->kind says what happened. The status is the
 * failing step's, with the link's last check (a new link that failed is forgotten). */
mcsec_status_t mcsec_direct_handle(mcsec_direct_ue_t *ue, const mcsec_direct_keys_t *keys,
                                   const uint8_t *msg, size_t len, mcsec_direct_link_t **link,
                                   uint8_t *out, size_t cap, uint8_t *reply, size_t reply_cap,
                                   size_t *reply_len, mcsec_direct_rx_t *rx) MCSEC_MUST_CHECK;

/* --- UDP transport for a direct link (loopback demos and tests) ------------------------------ */

typedef struct mcsec_direct_udp mcsec_direct_udp_t;

/* A UDP socket bound to host (IPv4 dotted quad; NULL: 127.0.0.1) and port (0: any free one).
 * MCSEC_ERR_IO with the reason in mcsec_direct_udp_last_error(). */
mcsec_status_t mcsec_direct_udp_open(mcsec_direct_udp_t **out, const char *host,
                                     uint16_t port) MCSEC_MUST_CHECK;
void mcsec_direct_udp_close(mcsec_direct_udp_t *u); /* NULL ok */
uint16_t mcsec_direct_udp_port(const mcsec_direct_udp_t *u);
int mcsec_direct_udp_fd(const mcsec_direct_udp_t *u); /* for poll(); -1 for NULL */
/* Sends to / receives only from host:port from now on. */
mcsec_status_t mcsec_direct_udp_connect(mcsec_direct_udp_t *u, const char *host,
                                        uint16_t port) MCSEC_MUST_CHECK;
mcsec_status_t mcsec_direct_udp_send(mcsec_direct_udp_t *u, const uint8_t *msg,
                                     size_t len) MCSEC_MUST_CHECK;
/* Waits up to timeout_ms for a datagram: MCSEC_ERR_EXPIRED if none came, MCSEC_ERR_BAD_LENGTH
 * if it did not fit in cap (dropped). */
mcsec_status_t mcsec_direct_udp_recv(mcsec_direct_udp_t *u, unsigned timeout_ms, uint8_t *out,
                                     size_t cap, size_t *out_len) MCSEC_MUST_CHECK;
/* The last transport error of this thread (one line), or "". */
const char *mcsec_direct_udp_last_error(void);

#ifdef __cplusplus
}
#endif
#endif
