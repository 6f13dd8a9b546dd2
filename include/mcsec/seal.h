/* Sealing at rest: the primitives shared by every mcsec store and file that holds secrets
 * (the KMS master secrets, handset bundles; the handset keystore is to move onto them).
 *
 * - mcsec_seal_scrypt: a key-encryption key from a passphrase, with an explicit cost that the
 *   caller records next to the salt;
 * - mcsec_seal_hkdf: HKDF-SHA256 (RFC 5869), for keys derived from full-entropy secrets;
 * - mcsec_seal / mcsec_seal_open: AES-256-GCM with a 12-octet nonce, a 16-octet tag and
 *   associated data;
 * - mcsec_seal_write_file: an atomic file write (temporary file in the same directory, fsync,
 *   rename or link, fsync of the directory), so a crash leaves the old file or the new one.
 *
 * Nothing here logs or keeps a copy of a key. */
#ifndef MCSEC_SEAL_H
#define MCSEC_SEAL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "mcsec/status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define MCSEC_SEAL_KEY_LEN 32   /* AES-256 */
#define MCSEC_SEAL_NONCE_LEN 12 /* GCM nonce */
#define MCSEC_SEAL_TAG_LEN 16   /* GCM tag */

/* scrypt (RFC 7914) of passphrase with salt: N = 2^log2_n, block size r, parallelism p.
 * Accepted: log2_n in [1, 22], r in [1, 32], p in [1, 16], 128 * r * N at most 1 GiB, and
 * out_len in [1, 64]; else MCSEC_ERR_UNSUPPORTED. MCSEC_ERR_NOMEM if scrypt cannot get its
 * memory. Callers choose the cost (the KMS and keystore default to N = 2^16, r = 8, p = 1) and
 * must store it with the salt. */
mcsec_status_t mcsec_seal_scrypt(const void *passphrase, size_t passphrase_len,
                                 const uint8_t *salt, size_t salt_len, unsigned log2_n, uint32_t r,
                                 uint32_t p, uint8_t *out, size_t out_len) MCSEC_MUST_CHECK;

/* HKDF-SHA256 (RFC 5869): out = HKDF-Expand(HKDF-Extract(salt, ikm), info, out_len).
 * out_len in [1, 8160] (MCSEC_ERR_BAD_LENGTH otherwise); salt and info may be empty. */
mcsec_status_t mcsec_seal_hkdf(const uint8_t *ikm, size_t ikm_len, const uint8_t *salt,
                               size_t salt_len, const uint8_t *info, size_t info_len, uint8_t *out,
                               size_t out_len) MCSEC_MUST_CHECK;

/* AES-256-GCM encryption of pt[0..len) into ct[0..len) (ct may equal pt) and tag, with
 * associated data aad[0..aad_len) (may be NULL if aad_len is 0). The nonce must never repeat
 * under one key: callers use a fresh random nonce per seal (mcsec_random_bytes).
 * MCSEC_ERR_BAD_LENGTH for len or aad_len above 2^31 - 1. */
mcsec_status_t mcsec_seal(const uint8_t key[MCSEC_SEAL_KEY_LEN],
                          const uint8_t nonce[MCSEC_SEAL_NONCE_LEN], const uint8_t *aad,
                          size_t aad_len, const uint8_t *pt, size_t len, uint8_t *ct,
                          uint8_t tag[MCSEC_SEAL_TAG_LEN]) MCSEC_MUST_CHECK;

/* The inverse: MCSEC_OK and pt[0..len) if the tag verifies; MCSEC_ERR_VERIFY (and pt zeroed)
 * if it does not (wrong key, modified ciphertext, tag or associated data). */
mcsec_status_t mcsec_seal_open(const uint8_t key[MCSEC_SEAL_KEY_LEN],
                               const uint8_t nonce[MCSEC_SEAL_NONCE_LEN], const uint8_t *aad,
                               size_t aad_len, const uint8_t *ct, size_t len,
                               const uint8_t tag[MCSEC_SEAL_TAG_LEN], uint8_t *pt) MCSEC_MUST_CHECK;

/* Writes data to path atomically with permissions mode (e.g. 0600): a temporary file
 * ".NAME.tmp.XXXXXX" in the same directory, fsync, rename over path (or, with no_replace,
 * link, so that an existing file is never replaced: MCSEC_ERR_IO if path exists), fsync of the
 * directory. On failure nothing is left behind and MCSEC_ERR_IO is returned; errno tells why
 * (EEXIST for an existing path with no_replace). */
mcsec_status_t mcsec_seal_write_file(const char *path, const uint8_t *data, size_t len,
                                     mode_t mode, int no_replace) MCSEC_MUST_CHECK;

#ifdef __cplusplus
}
#endif
#endif
