/* SAKKE (RFC 6508) with parameter set 1 (RFC 6509 Appendix A): a 1024-bit prime p,
 * a 1022-bit subgroup order q, n = 128-bit shared secret values (SSVs).
 *
 * Encodings: points 257 octets 04 || x || y (128-octet coordinates), scalars 128 octets
 * big-endian, encapsulated data R || H = 273 octets, PF_p elements 128 octets. */
#ifndef MCSEC_SAKKE_H
#define MCSEC_SAKKE_H

#include <stddef.h>
#include <stdint.h>

#include "mcsec/status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define MCSEC_SAKKE_FIELD_LEN 128
#define MCSEC_SAKKE_SCALAR_LEN 128
#define MCSEC_SAKKE_POINT_LEN 257
#define MCSEC_SAKKE_SSV_LEN 16
#define MCSEC_SAKKE_ENCAP_LEN (MCSEC_SAKKE_POINT_LEN + MCSEC_SAKKE_SSV_LEN)

/* --- KMS side ------------------------------------------------------------------------- */

/* New KMS master key: z in [1, q-1], Z = [z]P. */
mcsec_status_t mcsec_sakke_kms_generate(uint8_t z[MCSEC_SAKKE_SCALAR_LEN],
                                        uint8_t Z[MCSEC_SAKKE_POINT_LEN]) MCSEC_MUST_CHECK;

/* Z = [z]P for a given z (MCSEC_ERR_SCALAR_RANGE if z is 0 or >= q). */
mcsec_status_t mcsec_sakke_kms_public(const uint8_t z[MCSEC_SAKKE_SCALAR_LEN],
                                      uint8_t Z[MCSEC_SAKKE_POINT_LEN]) MCSEC_MUST_CHECK;

/* RSK for identifier id: K = [(b + z)^-1]P, b = id as a big-endian integer. */
mcsec_status_t mcsec_sakke_issue_rsk(const uint8_t z[MCSEC_SAKKE_SCALAR_LEN], const uint8_t *id,
                                     size_t id_len,
                                     uint8_t rsk[MCSEC_SAKKE_POINT_LEN]) MCSEC_MUST_CHECK;

/* --- Handset side --------------------------------------------------------------------- */

/* RFC 6508 6.1.2: <[b]P + Z, K> == g. MCSEC_ERR_KEY_INVALID for an RSK of another
 * identity or KMS; point errors for malformed or off-curve points. */
mcsec_status_t mcsec_sakke_validate_rsk(const uint8_t Z[MCSEC_SAKKE_POINT_LEN], const uint8_t *id,
                                        size_t id_len,
                                        const uint8_t rsk[MCSEC_SAKKE_POINT_LEN]) MCSEC_MUST_CHECK;

/* A sender for one KMS: holds fixed-base tables for P, Z and g. Create once per KMS
 * public key; thread safe to use concurrently. */
typedef struct mcsec_sakke_sender mcsec_sakke_sender_t;

mcsec_status_t mcsec_sakke_sender_new(mcsec_sakke_sender_t **out,
                                      const uint8_t Z[MCSEC_SAKKE_POINT_LEN]) MCSEC_MUST_CHECK;
void mcsec_sakke_sender_free(mcsec_sakke_sender_t *sender); /* NULL ok */

/* RFC 6508 6.2.1: encapsulate ssv (n = 16 octets) for identifier id. */
mcsec_status_t mcsec_sakke_encapsulate(const mcsec_sakke_sender_t *sender, const uint8_t *id,
                                       size_t id_len, const uint8_t *ssv, size_t ssv_len,
                                       uint8_t out[MCSEC_SAKKE_ENCAP_LEN]) MCSEC_MUST_CHECK;

/* A receiver key: one identity's RSK for one key period, validated on creation, with the
 * RSK's Miller-loop line coefficients and a fixed-base table for [b]P + Z precomputed.
 * The RSK lives in locked memory and is wiped on free. */
typedef struct mcsec_sakke_key mcsec_sakke_key_t;

mcsec_status_t mcsec_sakke_key_new(mcsec_sakke_key_t **out, const uint8_t Z[MCSEC_SAKKE_POINT_LEN],
                                   const uint8_t *id, size_t id_len,
                                   const uint8_t rsk[MCSEC_SAKKE_POINT_LEN]) MCSEC_MUST_CHECK;
void mcsec_sakke_key_free(mcsec_sakke_key_t *key); /* NULL ok; wipes */

/* RFC 6508 6.2.2: recover the SSV and check R == [r]([b]P + Z) in constant time.
 * MCSEC_ERR_BAD_LENGTH, point errors for a malformed R, MCSEC_ERR_DECAPSULATE if the check
 * fails (tampered R or H, or data for another identity). ssv_out is zeroed on failure. */
mcsec_status_t mcsec_sakke_decapsulate(const mcsec_sakke_key_t *key, const uint8_t *data,
                                       size_t data_len,
                                       uint8_t ssv_out[MCSEC_SAKKE_SSV_LEN]) MCSEC_MUST_CHECK;

/* The reduced Tate-Lichtenbaum pairing <A, B> of RFC 6508 3.2, as x2/x1 in PF_p. */
mcsec_status_t mcsec_sakke_pairing(const uint8_t a[MCSEC_SAKKE_POINT_LEN],
                                   const uint8_t b[MCSEC_SAKKE_POINT_LEN],
                                   uint8_t out[MCSEC_SAKKE_FIELD_LEN]) MCSEC_MUST_CHECK;

#ifdef __cplusplus
}
#endif
#endif
