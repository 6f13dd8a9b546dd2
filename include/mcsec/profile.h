/* 3GPP MIKEY message profiles (TS 33.180, RFC 6509, RFC 3830):
 *
 * - the key distribution I_MESSAGE (MIKEY-SAKKE, data type 26) carrying a GMK (group master
 *   key), a CSK (client-server key) or a PCK (private call key), with its key-parameters
 *   GENERAL_EXT (type 7);
 * - the group session key (GSK) message: a MIKEY PSK I_MESSAGE under the GMK, signed by the
 *   talker with ECCSI (seed 002, 6.3.1.3.2.3);
 * - a RAND replay cache.
 *
 * Building writes a complete signed message into a caller buffer. Opening checks a message
 * against this profile in a fixed order and stops at the first failing check; the status says
 * what failed and the result's `check` field says which stage (mcsec_profile_check_name()),
 * with a one-line `why`. The order, the layouts and the key-parameters encoding are in
 * docs/protocol.md ("3GPP message profiles").
 *
 * Times: 64-bit NTP timestamps (seconds since 1900 in the upper 32 bits, fraction in the
 * lower 32) as in the MIKEY T payload; clocks and windows are in whole NTP seconds. */
#ifndef MCSEC_PROFILE_H
#define MCSEC_PROFILE_H

#include <stddef.h>
#include <stdint.h>

#include "mcsec/eccsi.h"
#include "mcsec/kdf.h"
#include "mcsec/keystore.h" /* mcsec_kms_params_t, mcsec_keyset_t, mcsec_gmk_record_t (types only) */
#include "mcsec/mikey.h"
#include "mcsec/sakke.h"
#include "mcsec/status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define MCSEC_PROFILE_KEY_LEN 16          /* GMK, CSK, PCK, GSK */
#define MCSEC_PROFILE_TEXT_MAX 255        /* key-parameters text, octets */
#define MCSEC_PROFILE_URI_MAX 1024        /* URIs incl. the NUL */
#define MCSEC_PROFILE_WINDOW_DEFAULT 300  /* freshness window, seconds (+-) */
#define MCSEC_PROFILE_REPLAY_DEFAULT 4096 /* replay cache entries */
#define MCSEC_PROFILE_MAX_PERIODS 4       /* key sets a receiver keeps */

/* CS-IDs (TS 33.180 E.1.3) the builder uses per key kind; open also accepts 5 (MCVideo group)
 * for a GMK, 7 (MCVideo CSK) for a CSK and 1-3 for a PCK. */
#define MCSEC_PROFILE_CS_GMK 4
#define MCSEC_PROFILE_CS_CSK 6
#define MCSEC_PROFILE_CS_PCK 0

/* --- Key parameters (GENERAL_EXT type 7) ---------------------------------------------------
 * Plaintext: key_type(1) | status(4) | activation(8) | expiry(8) | text len(1) | text
 *            [ | group id len(2) | group id ]     (the group part is omitted when empty)
 * encrypted with AES-128-CTR, key = PRF(key, 0x15798CEF, CS-ID, CSB ID, RAND) (16 octets),
 * IV = PRF(key, 0x39A2C14B, ...) (14 octets) || 0x0000. */
typedef struct {
    uint8_t key_type;    /* purpose tag of the key (MCSEC_PURPOSE_GMK / _PCK / _CSK) */
    uint32_t status;     /* MCSEC_GMK_STATUS_* bits */
    uint64_t activation; /* NTP timestamp; 0: active from the start */
    uint64_t expiry;     /* NTP timestamp; 0: never expires */
    char text[MCSEC_PROFILE_TEXT_MAX + 1];     /* NUL-terminated, no NUL inside */
    char group_id[MCSEC_PROFILE_URI_MAX];      /* group URI, "" if absent */
} mcsec_key_params_t;

/* --- Checks --------------------------------------------------------------------------------- */

/* The stage an open stopped at (MCSEC_CHECK_NONE on success). */
typedef enum {
    MCSEC_CHECK_NONE = 0,
    MCSEC_CHECK_PARSE,       /* the codec refused the octets: its status passes through */
    MCSEC_CHECK_STRUCTURE,   /* data type, payload sequence, field values of the profile */
    MCSEC_CHECK_POLICY,      /* SP / KEMAC algorithms refused */
    MCSEC_CHECK_PURPOSE,     /* key id purpose tag vs message kind */
    MCSEC_CHECK_SIGNATURE,   /* ECCSI SIGN, or signer not the expected identity */
    MCSEC_CHECK_RECIPIENT,   /* IDR 9 / KMS URIs are not ours */
    MCSEC_CHECK_KEY_PERIOD,  /* no key set for the key period of T */
    MCSEC_CHECK_FRESHNESS,   /* T outside the window */
    MCSEC_CHECK_REPLAY,      /* RAND || CSB ID seen before */
    MCSEC_CHECK_MEMBER,      /* GSK: talker refused by the member callback */
    MCSEC_CHECK_KEY_LOOKUP,  /* GSK: GMK unknown, of another group, or not valid at T */
    MCSEC_CHECK_DECRYPT,     /* SAKKE decapsulation / KEMAC MAC and KEY_DATA */
    MCSEC_CHECK_KEY_ID,      /* CSB ID / SPI do not match the recovered key */
} mcsec_profile_check_t;

/* "structure", "signature", ... Never NULL. */
const char *mcsec_profile_check_name(mcsec_profile_check_t check);

/* Which octets a verified SIGN covered. */
typedef enum {
    MCSEC_SIG_RFC3830 = 0,             /* HDR .. SIGN header (RFC 3830 5.2): what mcsec emits */
    MCSEC_SIG_WITHOUT_SIGN_HEADER = 1, /* HDR .. last octet before SIGN (some deployed peers) */
} mcsec_sig_coverage_t;

/* "rfc3830" or "without-sign-header". */
const char *mcsec_sig_coverage_name(mcsec_sig_coverage_t coverage);

/* Open flags. */
#define MCSEC_OPEN_DIAGNOSTIC 0x1u /* stale or replayed: flag it in the result, still decrypt,
                                      never record the RAND */
#define MCSEC_OPEN_EXPECT_GMK 0x2u /* refuse (MCSEC_ERR_PURPOSE) any other kind; the three   */
#define MCSEC_OPEN_EXPECT_PCK 0x4u /* EXPECT flags may be combined; none: any kind accepted  */
#define MCSEC_OPEN_EXPECT_CSK 0x8u

/* --- Replay cache ---------------------------------------------------------------------------
 * Entries are SHA-256(RAND || CSB ID) with an expiry of T + window: after that a replay is
 * stale anyway. Bounded; when every slot holds a live entry, adding fails closed with
 * MCSEC_ERR_NOMEM. Thread safe. */
typedef struct mcsec_replay mcsec_replay_t;

mcsec_status_t mcsec_replay_new(mcsec_replay_t **out, size_t capacity) MCSEC_MUST_CHECK;
void mcsec_replay_free(mcsec_replay_t *rc); /* NULL ok */
/* 1 if (rand, csb_id) is cached and not expired at now. */
int mcsec_replay_seen(mcsec_replay_t *rc, const uint8_t *rand, size_t rand_len, uint32_t csb_id,
                      uint64_t now);
/* Adds (rand, csb_id), valid until expiry (NTP seconds). MCSEC_ERR_REPLAY if already there,
 * MCSEC_ERR_NOMEM if full. */
mcsec_status_t mcsec_replay_add(mcsec_replay_t *rc, const uint8_t *rand, size_t rand_len,
                                uint32_t csb_id, uint64_t expiry, uint64_t now) MCSEC_MUST_CHECK;

/* --- Receiver: what opening needs ------------------------------------------------------------ */

/* Loads our key set for a key period on demand (mcsec_keystore_get_keyset fits through a
 * two-line wrapper): MCSEC_ERR_KEY_PERIOD if there is none. */
typedef mcsec_status_t (*mcsec_keyset_fetch_fn)(void *user, uint64_t period_no,
                                                mcsec_keyset_t *out);
/* NTP seconds now. */
typedef uint64_t (*mcsec_clock_fn)(void *user);

typedef struct mcsec_profile_receiver mcsec_profile_receiver_t;

/* A receiver for user our_uri under one KMS: ECCSI verifier for the KPAK, SAKKE keys per key
 * period (up to MCSEC_PROFILE_MAX_PERIODS, the lowest period evicted first), a replay cache of
 * MCSEC_PROFILE_REPLAY_DEFAULT entries, window MCSEC_PROFILE_WINDOW_DEFAULT, the system clock.
 * Thread safe once configured. */
mcsec_status_t mcsec_profile_receiver_new(mcsec_profile_receiver_t **out,
                                          const mcsec_kms_params_t *kms,
                                          const char *our_uri) MCSEC_MUST_CHECK;
void mcsec_profile_receiver_free(mcsec_profile_receiver_t *rx); /* NULL ok; wipes */

/* Adds (or replaces) our key set for keyset->period_no: its UID must be our UID format 2
 * for that period (else MCSEC_ERR_KEY_INVALID) and its RSK must validate (sakke statuses). */
mcsec_status_t mcsec_profile_receiver_add_keyset(mcsec_profile_receiver_t *rx,
                                                 const mcsec_keyset_t *keyset) MCSEC_MUST_CHECK;
/* Configuration: call before sharing the receiver between threads. */
void mcsec_profile_receiver_set_fetch(mcsec_profile_receiver_t *rx, mcsec_keyset_fetch_fn fetch,
                                      void *user);
void mcsec_profile_receiver_set_clock(mcsec_profile_receiver_t *rx, mcsec_clock_fn clock,
                                      void *user);
void mcsec_profile_receiver_set_window(mcsec_profile_receiver_t *rx, uint64_t seconds);
/* Only messages whose IDR 8 is the UID of this URI (for the key period of T) are accepted
 * (MCSEC_ERR_VERIFY otherwise); NULL (default) accepts any signer the KMS vouches for. The
 * string is copied. */
mcsec_status_t mcsec_profile_receiver_set_signer(mcsec_profile_receiver_t *rx,
                                                 const char *signer_uri) MCSEC_MUST_CHECK;

/* --- Key distribution I_MESSAGE (GMK / CSK / PCK) -------------------------------------------- */

/* The sending side. initiator_uri is the signing identity: the group identity URI for a GMK
 * (seed 002, 6.3.1.3.3.2), the calling user for a PCK or CSK; signer must hold the ECCSI key
 * of its UID for the key period of the message time. */
typedef struct {
    const char *initiator_uri;
    const char *kms_uri;
    uint64_t key_period, key_period_offset; /* from the KMS certificate */
    const mcsec_eccsi_signer_t *signer;
    const mcsec_sakke_sender_t *sakke; /* for the KMS's Z */
} mcsec_gmk_sender_t;

/* Builds the I_MESSAGE carrying key (16 octets) named key_id to member_uri, at NTP time
 * ntp_time (also the T payload). The kind is key_id's purpose tag: GMK, PCK or CSK, else
 * MCSEC_ERR_PURPOSE (also if kp->key_type differs). kp NULL: type = tag, everything else 0.
 * GMK: CSB ID = GUK-ID(key, key_id, member_uri), SPI = GMK-ID || GUK-ID; PCK, CSK: CSB ID =
 * SPI = key id. MCSEC_ERR_BAD_LENGTH if cap is too small, MCSEC_ERR_BAD_INPUT for NULLs, a
 * text or group id too long, or a time before the key period offset. */
mcsec_status_t mcsec_gmk_build(const mcsec_gmk_sender_t *tx, const char *member_uri,
                               const uint8_t key[MCSEC_PROFILE_KEY_LEN], uint32_t key_id,
                               const mcsec_key_params_t *kp, uint64_t ntp_time, uint8_t *out,
                               size_t cap, size_t *out_len) MCSEC_MUST_CHECK;

typedef struct {
    mcsec_profile_check_t check; /* stage reached: NONE on success, else the failing one */
    const char *why;             /* one line (static), "" on success */
    unsigned kind;               /* MCSEC_PURPOSE_GMK / _PCK / _CSK */
    uint8_t cs_id;
    uint32_t key_id;             /* GMK-ID / PCK-ID / CSK-ID (from the SPI) */
    uint32_t csb_id;             /* GUK-ID for a GMK */
    uint8_t key[MCSEC_PROFILE_KEY_LEN]; /* secret: mcsec_gmk_result_wipe() */
    int key_params_present;
    int key_params_decoded;      /* 0: present but undecodable (accepted, flagged) */
    mcsec_key_params_t key_params;
    int group_id_bound;          /* key_params.group_id's UID is the verified signer's */
    mcsec_mikey_span_t initiator_uid, responder_uid; /* views into the message */
    mcsec_mikey_span_t rand;
    uint64_t timestamp;          /* T, NTP 64-bit */
    uint64_t period_no;          /* key period of T */
    mcsec_sig_coverage_t coverage;
    mcsec_status_t sig_status;   /* the ECCSI verifier's own status when the signature failed */
    int fresh;                   /* T within the window */
    int replayed;                /* RAND seen before (diagnostic opens only get this far) */
} mcsec_gmk_result_t;

/* Opens a key distribution I_MESSAGE addressed to the receiver's user. Checks, in order:
 *   parse (codec statuses), STRUCTURE (data type 26, the exact payload sequence, T type,
 *   one CS with a CS-ID of a known kind, SPI length, IDR types and lengths, SAKKE ID scheme 2,
 *   key-parameters extension type), POLICY (SP), PURPOSE (key id tag vs CS-ID kind and the
 *   EXPECT flags; CSB ID tag), VERIFY (signature by IDR 8, signer URI if set; sig_status keeps
 *   the verifier's status), WRONG_RECIPIENT (IDR 9 is not our UID for the period of T, or
 *   IDR 6/7 not our KMS), KEY_PERIOD, STALE, REPLAY (both only flagged with
 *   MCSEC_OPEN_DIAGNOSTIC), SAKKE statuses (DECAPSULATE, ...), VERIFY (CSB ID / GUK-ID).
 * flags: MCSEC_OPEN_*. The message buffer must outlive the result's views. On failure the key
 * is zeroed. */
mcsec_status_t mcsec_gmk_open(mcsec_profile_receiver_t *rx, const uint8_t *msg, size_t len,
                              unsigned flags, mcsec_gmk_result_t *res) MCSEC_MUST_CHECK;
void mcsec_gmk_result_wipe(mcsec_gmk_result_t *res); /* NULL ok */

/* --- Group session key message ---------------------------------------------------------------- */

/* Builds the GSK message: gsk (16 octets, named gsk_id = the CSB ID and SPI) under gmk (named
 * gmk_id, purpose tag GMK else MCSEC_ERR_PURPOSE), signed by the talker (signer holds the ECCSI
 * key of talker_uid). */
mcsec_status_t mcsec_gsk_build(const mcsec_eccsi_signer_t *signer, const char *talker_uri,
                               const uint8_t talker_uid[MCSEC_UID_LEN], const char *group_uri,
                               const uint8_t gmk[MCSEC_PROFILE_KEY_LEN], uint32_t gmk_id,
                               const uint8_t gsk[MCSEC_PROFILE_KEY_LEN], uint32_t gsk_id,
                               uint64_t ntp_time, uint8_t *out, size_t cap,
                               size_t *out_len) MCSEC_MUST_CHECK;

/* Finds a GMK by id (mcsec_keystore_get_gmk fits through a wrapper): MCSEC_ERR_UNKNOWN_KEY if
 * none. An empty group_uri in the record skips the group check. */
typedef mcsec_status_t (*mcsec_gmk_lookup_fn)(void *user, uint32_t gmk_id,
                                              mcsec_gmk_record_t *out);
/* Optional: 1 if talker_uri may talk in group_uri. */
typedef int (*mcsec_member_fn)(void *user, const char *group_uri, const char *talker_uri);

typedef struct {
    mcsec_gmk_lookup_fn lookup; /* required */
    void *lookup_user;
    mcsec_member_fn member; /* NULL: any talker whose signature verifies */
    void *member_user;
} mcsec_gsk_keys_t;

typedef struct {
    mcsec_profile_check_t check;
    const char *why;
    uint32_t gsk_id;  /* CSB ID */
    uint32_t gmk_id;  /* IDRpsk */
    uint8_t gsk[MCSEC_PROFILE_KEY_LEN]; /* secret: mcsec_gsk_result_wipe() */
    char talker_uri[MCSEC_PROFILE_URI_MAX];
    char group_uri[MCSEC_PROFILE_URI_MAX];
    mcsec_mikey_span_t talker_uid, rand;
    uint64_t timestamp, period_no;
    mcsec_sig_coverage_t coverage;
    mcsec_status_t sig_status;
    int fresh, replayed;
} mcsec_gsk_result_t;

/* Opens a GSK message. Checks, in order: parse, STRUCTURE (data type 0, sequence, IDR types,
 * CS-ID 4 or 5, SPI = CSB ID, one KEY_DATA TGK of 16 octets), POLICY (SP, KEMAC not AES-CM-128
 * with HMAC-SHA-256-256), PURPOSE (GMK-ID tag), VERIFY (signature by IDR 8; IDR 1's UID for
 * the period of T must be IDR 8), POLICY (member callback), STALE, REPLAY, UNKNOWN_KEY (lookup,
 * or the GMK belongs to another group), EXPIRED (GMK revoked or not valid at T), VERIFY
 * (KEMAC MAC). Only the receiver's KMS parameters, clock, window and replay cache are used. */
mcsec_status_t mcsec_gsk_open(mcsec_profile_receiver_t *rx, const mcsec_gsk_keys_t *keys,
                              const uint8_t *msg, size_t len, unsigned flags,
                              mcsec_gsk_result_t *res) MCSEC_MUST_CHECK;
void mcsec_gsk_result_wipe(mcsec_gsk_result_t *res); /* NULL ok */

/* --- Messages as files ----------------------------------------------------------------------- */

/* The file name of a member's message: uri with '/', '%', octets outside 0x21..0x7e and a
 * leading '.' written %XX, then ".mikey". 1 on success; 0 if uri is empty or the name does not
 * fit in cap octets (with its NUL; file names are at most 255 octets on Linux). */
int mcsec_mikey_file_name(const char *uri, char *out, size_t cap);

#ifdef __cplusplus
}
#endif
#endif
