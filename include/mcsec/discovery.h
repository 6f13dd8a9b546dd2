/* Restricted ProSe direct discovery, Model A (seed 000 key issue #3, solution 6.2; TS 33.303
 * restricted discovery): an announcing UE broadcasts a code that only UEs holding its
 * application key can recognise, and that changes every time slot so that passive listeners
 * cannot track the UE.
 *
 *   slot           = floor(UTC seconds since 1970-01-01 / slot_s)          (slot_s default 30)
 *   announced code = first 16 octets of HMAC-SHA-256(application key, ProSe code || slot)
 *                    (slot as 8 octets, big-endian)
 *
 * The announcement is 26 octets: version 1, type 1, the slot's start time (UTC seconds,
 * slot * slot_s; 8 octets, big-endian) and the announced code (docs/protocol.md "Restricted
 * discovery"). The start time, not the slot number, is sent so that a monitor holding
 * applications of several slot lengths can place any announcement in time; it reveals
 * nothing of the announcer's clock below the slot. A monitor holds the (application key,
 * ProSe code) pairs it is authorised for and, for each announcement:
 *   - refuses it with MCSEC_ERR_EXPIRED if, for every pair, the slot containing the start
 *     time is more than MCSEC_DISC_WINDOW slots away from the monitor's own slot (an old
 *     recording replayed, or a clock far off);
 *   - recomputes the code of each in-window pair whose slot length divides the start time
 *     and compares in constant time: no match is MCSEC_ERR_VERIFY (not an announcement this
 *     monitor may discover);
 *   - refuses with MCSEC_ERR_REPLAY a match whose slot is not newer than the last slot it
 *     accepted for that pair: the periodic re-announcement in one slot, or anyone
 *     re-broadcasting it, discovers once, and a code never goes back in time.
 * Only an authenticated announcement changes a monitor's state.
 *
 * One announcing UE per (key, ProSe code). The monitor is used by one thread at a time. */
#ifndef MCSEC_DISCOVERY_H
#define MCSEC_DISCOVERY_H

#include <stddef.h>
#include <stdint.h>

#include "mcsec/status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define MCSEC_DISC_KEY_LEN 32        /* ProSe application key (HMAC-SHA-256 key) */
#define MCSEC_DISC_PROSE_CODE_MAX 64 /* ProSe code: 1 to 64 octets */
#define MCSEC_DISC_CODE_LEN 16       /* announced code: HMAC-SHA-256 truncated to 128 bits */
#define MCSEC_DISC_NAME_MAX 64       /* label, NUL-terminated: at most 63 printable octets */
#define MCSEC_DISC_SLOT_DEFAULT 30   /* seconds */
#define MCSEC_DISC_SLOT_MIN 1
#define MCSEC_DISC_SLOT_MAX 86400
#define MCSEC_DISC_WINDOW 1          /* slots either side of the monitor's own */

#define MCSEC_DISC_VERSION 1
#define MCSEC_DISC_TYPE_ANNOUNCE 1
#define MCSEC_DISC_MSG_LEN 26 /* version(1) type(1) slot start(8) code(16) */

/* One restricted discovery application as an announcer or an authorised monitor holds it.
 * key and prose_code are secret: wipe with mcsec_memzero() after use. */
typedef struct {
    char name[MCSEC_DISC_NAME_MAX];              /* label for people; not sent */
    uint8_t key[MCSEC_DISC_KEY_LEN];             /* application key (secret) */
    uint8_t prose_code[MCSEC_DISC_PROSE_CODE_MAX]; /* the UE's ProSe code (secret) */
    size_t prose_code_len;                       /* 1 .. MCSEC_DISC_PROSE_CODE_MAX */
    uint32_t slot_s;                             /* slot length in seconds */
} mcsec_disc_app_t;

/* A parsed announcement. */
typedef struct {
    uint8_t version;
    uint8_t type;
    uint64_t slot_start; /* UTC seconds since 1970 at which the slot begins */
    uint8_t code[MCSEC_DISC_CODE_LEN];
} mcsec_disc_msg_t;

/* A fresh application: random key and 16-octet ProSe code, name copied (1..63 printable
 * ASCII octets), slot_s in [MCSEC_DISC_SLOT_MIN, _MAX]. MCSEC_ERR_BAD_INPUT otherwise. */
mcsec_status_t mcsec_disc_app_generate(mcsec_disc_app_t *app, const char *name,
                                       uint32_t slot_s) MCSEC_MUST_CHECK;

/* The slot containing unix_s: floor(unix_s / slot_s). MCSEC_ERR_BAD_INPUT for a slot_s out
 * of range. */
mcsec_status_t mcsec_disc_slot(uint64_t unix_s, uint32_t slot_s, uint64_t *slot) MCSEC_MUST_CHECK;

/* The announced code of app for slot. MCSEC_ERR_BAD_INPUT for an invalid app. */
mcsec_status_t mcsec_disc_code(const mcsec_disc_app_t *app, uint64_t slot,
                               uint8_t code[MCSEC_DISC_CODE_LEN]) MCSEC_MUST_CHECK;

/* The announcement of app at time unix_s (its slot in *msg if msg is not NULL). */
mcsec_status_t mcsec_disc_announce(const mcsec_disc_app_t *app, uint64_t unix_s,
                                   uint8_t out[MCSEC_DISC_MSG_LEN],
                                   mcsec_disc_msg_t *msg) MCSEC_MUST_CHECK;

/* Encodes a message (version and type as given). */
void mcsec_disc_encode(const mcsec_disc_msg_t *msg, uint8_t out[MCSEC_DISC_MSG_LEN]);

/* Parses an announcement, checking in this order: MCSEC_ERR_TRUNCATED if empty,
 * MCSEC_ERR_UNSUPPORTED for a version other than 1, MCSEC_ERR_TRUNCATED if the type is
 * missing, MCSEC_ERR_STRUCTURE for a type other than 1 (announcement), MCSEC_ERR_TRUNCATED
 * below 26 octets, MCSEC_ERR_TRAILING_DATA above. MCSEC_ERR_BAD_INPUT for NULL out (or NULL d
 * with len > 0). out is zeroed on failure. Pure: no state, no allocation. */
mcsec_status_t mcsec_disc_parse(const uint8_t *d, size_t len, mcsec_disc_msg_t *out) MCSEC_MUST_CHECK;

/* --- Monitor ------------------------------------------------------------------------------ */

#define MCSEC_DISC_MONITOR_MAX 64 /* applications per monitor */

typedef struct mcsec_disc_monitor mcsec_disc_monitor_t;

/* What a monitor recognised. */
typedef struct {
    size_t index;     /* of the application, in the order added */
    const char *name; /* its label (valid while the monitor is) */
    uint64_t slot;    /* the announcement's slot (start time / the application's slot_s) */
    int offset;       /* slot minus the monitor's own slot: -1, 0 or +1 */
} mcsec_disc_match_t;

/* A monitor with no applications, in locked memory. MCSEC_ERR_NOMEM. */
mcsec_status_t mcsec_disc_monitor_new(mcsec_disc_monitor_t **out) MCSEC_MUST_CHECK;
/* Wipes and frees. NULL ok. */
void mcsec_disc_monitor_free(mcsec_disc_monitor_t *mon);
/* Adds an application the monitor is authorised to discover (copied). MCSEC_ERR_BAD_INPUT
 * for an invalid app, MCSEC_ERR_BAD_LENGTH if the monitor already holds
 * MCSEC_DISC_MONITOR_MAX. */
mcsec_status_t mcsec_disc_monitor_add(mcsec_disc_monitor_t *mon,
                                      const mcsec_disc_app_t *app) MCSEC_MUST_CHECK;

/* Checks a received datagram at the monitor's time unix_s (see the top of this file):
 * MCSEC_OK (discovered; *match set), a parse status of mcsec_disc_parse, MCSEC_ERR_UNKNOWN_KEY
 * if the monitor holds no application, MCSEC_ERR_EXPIRED, MCSEC_ERR_VERIFY, or
 * MCSEC_ERR_REPLAY (*match set: which application was repeated). match may be NULL. */
mcsec_status_t mcsec_disc_monitor_check(mcsec_disc_monitor_t *mon, const uint8_t *d, size_t len,
                                        uint64_t unix_s,
                                        mcsec_disc_match_t *match) MCSEC_MUST_CHECK;

/* --- Key files ------------------------------------------------------------------------------
 * An application at rest: a file sealed with a passphrase (use the keystore's), AES-256-GCM
 * under scrypt(passphrase, salt, N = 2^log2_n, r = 8, p = 1); the header (magic, version,
 * cost, salt, nonce) is the associated data. Layout in docs/protocol.md. Files are 0600. */

#define MCSEC_DISC_KEYFILE_HDR_LEN 36
#define MCSEC_DISC_KEYFILE_MAX                                                                     \
    (MCSEC_DISC_KEYFILE_HDR_LEN + 4 + MCSEC_DISC_KEY_LEN + 1 + MCSEC_DISC_PROSE_CODE_MAX + 1 +     \
     (MCSEC_DISC_NAME_MAX - 1) + 16)
#define MCSEC_DISC_KEYFILE_LOG2N 16 /* default scrypt cost, as the keystore's */

/* One line on the last key file failure in this thread (what and what to do), or "". */
const char *mcsec_disc_last_error(void);

/* Seals app into out (cap >= MCSEC_DISC_KEYFILE_MAX). log2_n in [10, 22] (0: the default;
 * below it for tests and demos only), else MCSEC_ERR_UNSUPPORTED; MCSEC_ERR_BAD_LENGTH for a
 * passphrase outside [1, 1024] octets. */
mcsec_status_t mcsec_disc_keyfile_seal(const mcsec_disc_app_t *app, const char *passphrase,
                                       size_t passphrase_len, unsigned log2_n, uint8_t *out,
                                       size_t cap, size_t *out_len) MCSEC_MUST_CHECK;

/* Opens a sealed key file image: MCSEC_ERR_TRUNCATED below header + tag, MCSEC_ERR_BAD_INPUT
 * for a wrong magic, MCSEC_ERR_UNSUPPORTED for another version or a cost out of range,
 * MCSEC_ERR_BAD_LENGTH for a size no application can have, MCSEC_ERR_PASSPHRASE for a wrong
 * passphrase or a modified file, MCSEC_ERR_STRUCTURE for an authentic but malformed content.
 * out is zeroed on failure. */
mcsec_status_t mcsec_disc_keyfile_open(const uint8_t *file, size_t len, const char *passphrase,
                                       size_t passphrase_len,
                                       mcsec_disc_app_t *out) MCSEC_MUST_CHECK;

/* Seals app and writes path (0600, atomically; never replaces an existing file:
 * MCSEC_ERR_IO). */
mcsec_status_t mcsec_disc_keyfile_write(const char *path, const mcsec_disc_app_t *app,
                                        const char *passphrase, size_t passphrase_len,
                                        unsigned log2_n) MCSEC_MUST_CHECK;

/* Reads and opens path. MCSEC_ERR_IO if it is missing, not a regular file of this user, or
 * readable by group or others; then as mcsec_disc_keyfile_open. */
mcsec_status_t mcsec_disc_keyfile_read(const char *path, const char *passphrase,
                                       size_t passphrase_len,
                                       mcsec_disc_app_t *out) MCSEC_MUST_CHECK;

#ifdef __cplusplus
}
#endif
#endif
