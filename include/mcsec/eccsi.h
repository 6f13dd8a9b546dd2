/* ECCSI (RFC 6507) on NIST P-256 with SHA-256.
 *
 * Encodings: scalars are 32-octet big-endian, points 65 octets 04 || x || y,
 * signatures r(32) || s(32) || PVT(65) = 129 octets. */
#ifndef MCSEC_ECCSI_H
#define MCSEC_ECCSI_H

#include <stddef.h>
#include <stdint.h>

#include "mcsec/status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define MCSEC_ECCSI_SCALAR_LEN 32
#define MCSEC_ECCSI_POINT_LEN 65
#define MCSEC_ECCSI_HASH_LEN 32
#define MCSEC_ECCSI_SIG_LEN 129

/* --- KMS side ------------------------------------------------------------------------- */

/* New KMS signing key pair: KSAK (secret) in [1, q-1], KPAK = [KSAK]G. */
mcsec_status_t mcsec_eccsi_kms_generate(uint8_t ksak[MCSEC_ECCSI_SCALAR_LEN],
                                        uint8_t kpak[MCSEC_ECCSI_POINT_LEN]) MCSEC_MUST_CHECK;

/* RFC 6507 5.1.1: issue (SSK, PVT) for identity id with a fresh random v.
 * Fails with MCSEC_ERR_SCALAR_RANGE if ksak is 0 or >= q. */
mcsec_status_t mcsec_eccsi_issue(const uint8_t ksak[MCSEC_ECCSI_SCALAR_LEN],
                                 const uint8_t kpak[MCSEC_ECCSI_POINT_LEN], const uint8_t *id,
                                 size_t id_len, uint8_t ssk[MCSEC_ECCSI_SCALAR_LEN],
                                 uint8_t pvt[MCSEC_ECCSI_POINT_LEN]) MCSEC_MUST_CHECK;

/* --- Handset side --------------------------------------------------------------------- */

/* HS = SHA-256(G || KPAK || ID || PVT). */
mcsec_status_t mcsec_eccsi_hash_hs(const uint8_t kpak[MCSEC_ECCSI_POINT_LEN], const uint8_t *id,
                                   size_t id_len, const uint8_t pvt[MCSEC_ECCSI_POINT_LEN],
                                   uint8_t hs[MCSEC_ECCSI_HASH_LEN]) MCSEC_MUST_CHECK;

/* RFC 6507 5.1.2: [SSK]G == [HS]PVT + KPAK. Distinct statuses for SSK out of range
 * (MCSEC_ERR_SCALAR_RANGE), PVT malformed / off-curve / infinity, and a pair that does not
 * validate (MCSEC_ERR_KEY_INVALID). */
mcsec_status_t mcsec_eccsi_validate(const uint8_t kpak[MCSEC_ECCSI_POINT_LEN], const uint8_t *id,
                                    size_t id_len, const uint8_t ssk[MCSEC_ECCSI_SCALAR_LEN],
                                    const uint8_t pvt[MCSEC_ECCSI_POINT_LEN]) MCSEC_MUST_CHECK;

/* A signer holds one identity's SSK (in locked memory), PVT and HS. Creation validates the
 * key pair (5.1.2). */
typedef struct mcsec_eccsi_signer mcsec_eccsi_signer_t;

mcsec_status_t mcsec_eccsi_signer_new(mcsec_eccsi_signer_t **out,
                                      const uint8_t kpak[MCSEC_ECCSI_POINT_LEN], const uint8_t *id,
                                      size_t id_len, const uint8_t ssk[MCSEC_ECCSI_SCALAR_LEN],
                                      const uint8_t pvt[MCSEC_ECCSI_POINT_LEN]) MCSEC_MUST_CHECK;
void mcsec_eccsi_signer_free(mcsec_eccsi_signer_t *signer); /* NULL ok; wipes */

/* RFC 6507 5.2.1 with a fresh random j. */
mcsec_status_t mcsec_eccsi_sign(const mcsec_eccsi_signer_t *signer, const uint8_t *msg,
                                size_t msg_len,
                                uint8_t sig[MCSEC_ECCSI_SIG_LEN]) MCSEC_MUST_CHECK;

/* A verifier holds one KMS's KPAK and a cache of Y = [HS]PVT + KPAK per (identity, PVT),
 * so that repeated signatures from the same signer cost one double-scalar multiplication.
 * cache_entries = 0 disables the cache. Thread safe. */
typedef struct mcsec_eccsi_verifier mcsec_eccsi_verifier_t;

mcsec_status_t mcsec_eccsi_verifier_new(mcsec_eccsi_verifier_t **out,
                                        const uint8_t kpak[MCSEC_ECCSI_POINT_LEN],
                                        size_t cache_entries) MCSEC_MUST_CHECK;
void mcsec_eccsi_verifier_free(mcsec_eccsi_verifier_t *verifier); /* NULL ok */

/* RFC 6507 5.2.2. MCSEC_OK only for a valid signature by id over msg. Bad encodings give
 * MCSEC_ERR_BAD_LENGTH, MCSEC_ERR_SCALAR_RANGE (r or s not in [1, q-1]),
 * MCSEC_ERR_POINT_ENCODING / _NOT_ON_CURVE / _INFINITY (PVT); a well-formed signature that
 * does not verify gives MCSEC_ERR_VERIFY. */
mcsec_status_t mcsec_eccsi_verify(mcsec_eccsi_verifier_t *verifier, const uint8_t *id,
                                  size_t id_len, const uint8_t *msg, size_t msg_len,
                                  const uint8_t *sig, size_t sig_len) MCSEC_MUST_CHECK;

#ifdef __cplusplus
}
#endif
#endif
