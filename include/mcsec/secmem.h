/* Secret handling: wiping, constant-time comparison, locked memory, randomness. */
#ifndef MCSEC_SECMEM_H
#define MCSEC_SECMEM_H

#include <stddef.h>
#include <stdint.h>

#include "mcsec/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Overwrite len bytes with zeros in a way the compiler cannot elide. */
void mcsec_memzero(void *p, size_t len);

/* 1 if the two buffers are equal, 0 otherwise; time depends only on len. */
int mcsec_ct_equal(const void *a, const void *b, size_t len);

/* Zeroed memory for long-lived secrets: mlock()ed where the system allows
 * (best effort: RLIMIT_MEMLOCK may refuse), excluded from core dumps, and wiped
 * by mcsec_secure_free. Returns NULL when out of memory. */
void *mcsec_secure_alloc(size_t len);
void mcsec_secure_free(void *p); /* accepts NULL */

/* Cryptographically secure random bytes from OpenSSL's private DRBG. */
mcsec_status_t mcsec_random_bytes(uint8_t *out, size_t len) MCSEC_MUST_CHECK;

/* Runs the known-answer self tests once (thread safe). Every public crypto entry point
 * calls it; a failure disables the library (MCSEC_ERR_SELFTEST from then on). */
mcsec_status_t mcsec_init(void) MCSEC_MUST_CHECK;

#ifdef __cplusplus
}
#endif
#endif
