/* The handset's KMS client: fetches KmsInit and KmsKeyProv (the key sets of the current and
 * next key period) from mcsec-kms over ZeroMQ with CURVE (the handset proves its device key,
 * the KMS its CURVE public key). It returns the documents as received: the caller parses them
 * (include/mcsec/kmsxml.h) and validates the keys (mcsec_kmsxml_check_keyset) before storing.
 *
 * Each attempt opens a fresh DEALER connection, sends one KmsRequest and waits for the answer;
 * on no answer it retries with exponential back-off. An answer with a non-zero status is
 * final (no retry). */
#ifndef MCSEC_KMSCLIENT_H
#define MCSEC_KMSCLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "mcsec/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    const char *endpoint;       /* "tcp://HOST:PORT" */
    const char *kms_public;     /* the KMS's CURVE public key, Z85 (40 characters) */
    const char *device_public;  /* this device's CURVE key pair, Z85 */
    const char *device_secret;
    const char *user_uri;       /* whose keys: our own, or a managed group (group managers) */
    uint64_t at_time;           /* NTP seconds; 0: now */
    int init_only;              /* 1: ask for KmsInit only */
    unsigned timeout_ms;        /* per attempt; 0: 3000 */
    unsigned attempts;          /* 0: 4 */
    unsigned backoff_ms;        /* first pause between attempts, doubled each time; 0: 250 */
    void *zmq_context;          /* a libzmq context to use; NULL: one of its own */
} mcsec_kms_fetch_config_t;

typedef struct {
    mcsec_status_t status;      /* the outcome (also returned) */
    char message[256];          /* one line when status != MCSEC_OK: what went wrong, what to do */
    char *init_xml;             /* KmsResponse / KmsInit, NUL-terminated (malloc'ed) */
    size_t init_len;
    char *keyprov_xml;          /* KmsResponse / KmsKeyProv, NUL-terminated; secret */
    size_t keyprov_len;
    unsigned attempts_made;
} mcsec_kms_fetch_result_t;

/* MCSEC_OK: documents in res. MCSEC_ERR_IO: the KMS did not answer (down, unreachable, wrong
 * KMS key, or this device's key refused at connection time) after every attempt;
 * MCSEC_ERR_BAD_INPUT: bad configuration (e.g. keys not 40 Z85 characters); otherwise the
 * status the KMS answered (MCSEC_ERR_UNKNOWN_KEY: device revoked; MCSEC_ERR_POLICY: not
 * allowed or rate limited; MCSEC_ERR_STALE: clock far off; ...) with its message. */
mcsec_status_t mcsec_kms_fetch(const mcsec_kms_fetch_config_t *cfg,
                               mcsec_kms_fetch_result_t *res) MCSEC_MUST_CHECK;

/* Wipes and frees the documents. NULL ok. */
void mcsec_kms_fetch_result_free(mcsec_kms_fetch_result_t *res);

#ifdef __cplusplus
}
#endif
#endif
