/* Handset bundles: everything a handset needs to join, sealed for offline transport.
 *
 * A bundle carries the user URI, role and groups, the device's CURVE key pair, the KMS's
 * CURVE public key and endpoint, and the KmsInit and KmsKeyProv documents (key sets for the
 * current and next key period). It is sealed with AES-256-GCM under a key derived with
 * HKDF-SHA256 from a one-time code of 128 random bits, shown to people as 26 Crockford base32
 * characters in dash-separated groups (XXXX-XXXX-XXXX-XXXX-XXXX-XXXX-XX). The code has full
 * entropy, so no slow KDF is needed. File layout (docs/protocol.md, "Handset bundle"):
 *
 *   "MCSB" | version 1 | salt (16) | nonce (12) | ciphertext | tag (16)
 *
 * with the 33-octet header as associated data; the plaintext is a protobuf
 * mcsec.bundle.HandsetBundle (proto/bundle.proto). Files are written 0600, atomically, and
 * never replace an existing file. */
#ifndef MCSEC_BUNDLE_H
#define MCSEC_BUNDLE_H

#include <stddef.h>
#include <stdint.h>

#include "mcsec/status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define MCSEC_BUNDLE_CODE_LEN 32       /* 26 characters + 6 dashes */
#define MCSEC_BUNDLE_HEADER_LEN 33     /* magic, version, salt, nonce */
#define MCSEC_BUNDLE_MAX (256 * 1024)  /* largest bundle file accepted */
#define MCSEC_BUNDLE_Z85_LEN 40

/* The contents. Strings are NUL-terminated; the XML documents are not (lengths given).
 * device_secret and keyprov_xml are secret: mcsec_bundle_free wipes what open allocated. */
typedef struct {
    char *user_uri;
    char *role;                                  /* "handset" or "groupmgr" */
    char **groups;
    size_t n_groups;
    char device_public[MCSEC_BUNDLE_Z85_LEN + 1]; /* CURVE, Z85 */
    char device_secret[MCSEC_BUNDLE_Z85_LEN + 1];
    char kms_public[MCSEC_BUNDLE_Z85_LEN + 1];
    char *kms_endpoint;                          /* "tcp://HOST:PORT", may be "" */
    char *init_xml;                              /* KmsResponse / KmsInit */
    size_t init_len;
    char *keyprov_xml;                           /* KmsResponse / KmsKeyProv (secret) */
    size_t keyprov_len;
    uint64_t created;                            /* Unix seconds */
} mcsec_bundle_t;

/* A fresh one-time code: 16 random octets, and its printed form (code, NUL-terminated). */
mcsec_status_t mcsec_bundle_new_code(uint8_t raw[16],
                                     char code[MCSEC_BUNDLE_CODE_LEN + 1]) MCSEC_MUST_CHECK;

/* Parses a printed code: Crockford base32, either case, dashes and spaces ignored, I and L
 * read as 1, O as 0. MCSEC_ERR_BAD_INPUT for another character, another length (26 symbols)
 * or non-zero padding bits. */
mcsec_status_t mcsec_bundle_parse_code(const char *code, uint8_t raw[16]) MCSEC_MUST_CHECK;

/* Seals b under raw (the code) into a malloc'ed buffer (*out, *out_len). */
mcsec_status_t mcsec_bundle_seal_mem(const mcsec_bundle_t *b, const uint8_t raw[16],
                                     uint8_t **out, size_t *out_len) MCSEC_MUST_CHECK;

/* Seals b under a fresh code and writes path (0600, atomic; MCSEC_ERR_IO if path exists).
 * The printed code goes to code. */
mcsec_status_t mcsec_bundle_seal(const mcsec_bundle_t *b, const char *path,
                                 char code[MCSEC_BUNDLE_CODE_LEN + 1]) MCSEC_MUST_CHECK;

/* Opens a sealed bundle. MCSEC_ERR_PASSPHRASE: wrong code (or a modified file: the two cannot
 * be told apart); MCSEC_ERR_BAD_INPUT: malformed code; MCSEC_ERR_TRUNCATED: shorter than a
 * header and tag; MCSEC_ERR_VERIFY: not a bundle (bad magic); MCSEC_ERR_UNSUPPORTED: another
 * version; MCSEC_ERR_BAD_LENGTH: larger than MCSEC_BUNDLE_MAX; MCSEC_ERR_STRUCTURE: the
 * decrypted contents are malformed or miss a field. *out is freed with mcsec_bundle_free. */
mcsec_status_t mcsec_bundle_open_mem(const uint8_t *data, size_t len, const char *code,
                                     mcsec_bundle_t **out) MCSEC_MUST_CHECK;
/* As open_mem, reading path; MCSEC_ERR_IO if it cannot be read. */
mcsec_status_t mcsec_bundle_open(const char *path, const char *code,
                                 mcsec_bundle_t **out) MCSEC_MUST_CHECK;

/* Wipes and frees a bundle returned by open. NULL ok. */
void mcsec_bundle_free(mcsec_bundle_t *b);

#ifdef __cplusplus
}
#endif
#endif
