/* Internal interfaces of libmcsec_client. Not installed; tests may include it. */
#ifndef MCSEC_CLIENT_INTERNAL_H
#define MCSEC_CLIENT_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "mcsec/keystore.h"
#include "mcsec/status.h"

/* A status a server put on the wire: a known error code as it is; anything else (negative, or
 * a code newer than this library) MCSEC_ERR_STRUCTURE, so that callers only ever see codes of
 * mcsec_status_t. 0 stays MCSEC_OK. */
static inline mcsec_status_t mcsec_wire_status(int32_t s)
{
    return s >= 0 && s <= MCSEC_STATUS_LAST ? (mcsec_status_t)s : MCSEC_ERR_STRUCTURE;
}

/* A server's text as one printable line: printable ASCII kept, any other octet '?', cut to
 * fit cap (NUL included). src may be NULL. */
static inline void mcsec_clean_line(char *dst, size_t cap, const char *src)
{
    size_t o = 0;
    for (const char *p = src != NULL ? src : ""; *p && o + 1 < cap; p++)
        dst[o++] = (*p >= ' ' && *p < 0x7f) ? *p : '?';
    dst[o] = 0;
}

/* --- Keystore on-disk format (docs/protocol.md, "Handset keystore") ------------------- */

#define MCSEC_KS_META_NAME "store.meta"
#define MCSEC_KS_KMS_NAME "kms.params"
#define MCSEC_KS_KEYS_DIR "keys"
#define MCSEC_KS_GMK_DIR "gmk"
#define MCSEC_KS_DEVICE_NAME "device.cred"

/* store.meta: fixed 124 octets. */
#define MCSEC_KS_META_MAGIC "MCKS"
#define MCSEC_KS_FORMAT_VERSION 1
#define MCSEC_KS_KDF_SCRYPT 1
#define MCSEC_KS_SALT_LEN 16
#define MCSEC_KS_KEY_LEN 32 /* AES-256 */
#define MCSEC_KS_NONCE_LEN 12
#define MCSEC_KS_TAG_LEN 16
#define MCSEC_KS_META_LEN 124
#define MCSEC_KS_META_SALT_OFF 16
#define MCSEC_KS_META_NONCE_OFF 32
#define MCSEC_KS_META_SEALED_OFF 44
#define MCSEC_KS_META_TAG_OFF 76
#define MCSEC_KS_META_SUM_OFF 92

/* Record files: "MCKR" | kind(1) | nonce(12) | ciphertext | tag(16). */
#define MCSEC_KS_RECORD_MAGIC "MCKR"
#define MCSEC_KS_RECORD_HEADER 17
#define MCSEC_KS_RECORD_MIN (MCSEC_KS_RECORD_HEADER + MCSEC_KS_TAG_LEN)
#define MCSEC_KS_PLAINTEXT_MAX 2048 /* largest record plaintext (URI_MAX + fixed fields) */
#define MCSEC_KS_RECORD_MAX (MCSEC_KS_RECORD_MIN + MCSEC_KS_PLAINTEXT_MAX) /* larger: refused */

enum {
    MCSEC_KS_KIND_KMS = 1,
    MCSEC_KS_KIND_KEYSET = 2,
    MCSEC_KS_KIND_GMK = 3,
    MCSEC_KS_KIND_DEVICE = 4,
    MCSEC_KS_KIND_PROSE = 16, /* a remote UE's PMK and PRUK from one PKMF (prose_ue.c) */
};

struct mcsec_keystore {
    char *dir;
    uint8_t *key; /* the store key, MCSEC_KS_KEY_LEN octets of locked memory */
};

/* Records the one-line reason returned by mcsec_keystore_last_error(). */
void mcsec_ks_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void mcsec_ks_clear_error(void);

/* Seals pt under the store key and writes it atomically to <dir>/<name> (name may contain
 * one subdirectory, created 0700 if missing). The AAD is the record header and name. */
mcsec_status_t mcsec_ks_write_record(mcsec_keystore_t *ks, const char *name, uint8_t kind,
                                     const uint8_t *pt, size_t pt_len);

/* Reads and opens <dir>/<name>. MCSEC_ERR_UNKNOWN_KEY if the file does not exist (no error
 * text recorded: the caller words it), MCSEC_ERR_TRUNCATED below MCSEC_KS_RECORD_MIN,
 * MCSEC_ERR_BAD_LENGTH above MCSEC_KS_RECORD_MAX, MCSEC_ERR_VERIFY for a bad magic, kind or
 * tag. pt has room for MCSEC_KS_PLAINTEXT_MAX octets. */
mcsec_status_t mcsec_ks_read_record(mcsec_keystore_t *ks, const char *name, uint8_t kind,
                                    uint8_t *pt, size_t *pt_len);

/* Names in <dir>/<subdir> accepted by parse (which returns 1 and sets *value), sorted
 * ascending. *values is malloc'ed (NULL when *count is 0). A missing subdir is empty. */
mcsec_status_t mcsec_ks_list(mcsec_keystore_t *ks, const char *subdir,
                             int (*parse)(const char *name, uint64_t *value), uint64_t **values,
                             size_t *count);

/* --- CURVE request/response (curve_rpc.c): the KMS and PKMF clients ------------------- */

/* 1 if k is a CURVE key in Z85 (40 characters that decode). */
int curve_rpc_key_ok(const char *k);

typedef struct {
    const char *endpoint;
    const char *server_public, *device_public, *device_secret; /* Z85, 40 characters */
    size_t max_response; /* larger frames drop the connection (ZMQ_MAXMSGSIZE) */
} curve_rpc_peer_t;

/* Called for each message received: frame and len (NULL, 0 for a message of more than one
 * frame). Returns 1 if the answer is taken (the attempt ends), 0 to wait on (a stale answer).
 * The frame is wiped after the call. */
typedef int (*curve_rpc_take_fn)(void *user, const uint8_t *frame, size_t len);

enum { CURVE_RPC_REFUSED = -1, CURVE_RPC_NO_ANSWER = 0, CURVE_RPC_ANSWERED = 1 };

/* Connects a fresh DEALER to peer, sends req, and hands what comes back to take until it
 * takes one or timeout_ms pass. CURVE_RPC_REFUSED: the server refused our key. On
 * CURVE_RPC_NO_ANSWER, *zmq_err is the ZeroMQ error if the connection could not even be
 * set up (0 otherwise). */
int curve_rpc_attempt(void *ctx, const curve_rpc_peer_t *peer, const uint8_t *req, size_t len,
                      unsigned timeout_ms, curve_rpc_take_fn take, void *user, int *zmq_err);

/* --- Files (files.c) --------------------------------------------------------------------- */

/* dir "/" name, malloc'ed (NULL if out of memory). */
char *mcsec_path_join(const char *dir, const char *name);
mcsec_status_t mcsec_fsync_dir(const char *path);

/* Reads a whole regular file (not following a symlink) of at most cap octets.
 * MCSEC_ERR_UNKNOWN_KEY if it does not exist (no message recorded), MCSEC_ERR_BAD_LENGTH if
 * larger than cap, MCSEC_ERR_IO otherwise. */
mcsec_status_t mcsec_file_read(const char *path, uint8_t *buf, size_t cap, size_t *len);

/* Writes <dir>/<name> atomically: a 0600 temporary file in the same directory, fsync,
 * rename (or link, if no_replace, so an existing file is never clobbered: MCSEC_ERR_IO),
 * fsync of the directory. A crash leaves either the old file or the new one, plus at worst a
 * stray ".*.tmp.*" file that listings ignore. */
mcsec_status_t mcsec_file_write_atomic(const char *dir, const char *name, const uint8_t *data,
                                       size_t len, int no_replace);

#endif
