/* Secret handling: wipe, constant-time compare, locked allocations, randomness. */
#include <string.h>
#include <sys/mman.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "internal.h"

#if defined(MCSEC_HAVE_VALGRIND)
#include <valgrind/memcheck.h>
#endif

void mcsec_memzero(void *p, size_t len)
{
    if (p != NULL && len > 0)
        OPENSSL_cleanse(p, len);
}

int mcsec_ct_equal(const void *a, const void *b, size_t len)
{
    return CRYPTO_memcmp(a, b, len) == 0;
}

/* Each block starts with a header recording its size so that free can wipe and unlock
 * exactly what was locked. 64 bytes keep the payload cache-line aligned. */
#define SECMEM_HEADER 64

void *mcsec_secure_alloc(size_t len)
{
    if (len > SIZE_MAX - SECMEM_HEADER)
        return NULL;
    size_t total = len + SECMEM_HEADER;
    uint8_t *base = OPENSSL_zalloc(total);
    if (base == NULL)
        return NULL;
    memcpy(base, &total, sizeof total);
    /* Best effort: an unprivileged process may have a small RLIMIT_MEMLOCK. The secret
     * is still wiped on free; a failed lock only means it could reach swap. */
    base[sizeof total] = mlock(base, total) == 0;
    (void)madvise(base, total, MADV_DONTDUMP);
    return base + SECMEM_HEADER;
}

void mcsec_secure_free(void *p)
{
    if (p == NULL)
        return;
    uint8_t *base = (uint8_t *)p - SECMEM_HEADER;
    size_t total;
    memcpy(&total, base, sizeof total);
    int locked = base[sizeof total];
    OPENSSL_cleanse(base, total);
    if (locked)
        (void)munlock(base, total);
    OPENSSL_free(base);
}

mcsec_status_t mcsec_random_bytes(uint8_t *out, size_t len)
{
    while (len > 0) {
        int chunk = len > (1u << 20) ? (1 << 20) : (int)len;
        if (RAND_priv_bytes(out, chunk) != 1)
            return MCSEC_ERR_RNG;
        out += chunk;
        len -= (size_t)chunk;
    }
    return MCSEC_OK;
}

/* --- Constant-time validation (tests/ct) ------------------------------------------------ */

/* Off unless a constant-time test turns it on: the daemons under a plain valgrind run then see
 * no marking at all. Set once, before any thread starts. */
static int ct_validation;

void mcsec_ct_validation_enable(void) { ct_validation = 1; }

void mcsec_ct_secret(const void *p, size_t len)
{
#if defined(MCSEC_HAVE_VALGRIND)
    if (ct_validation)
        (void)VALGRIND_MAKE_MEM_UNDEFINED(p, len);
#else
    (void)p;
    (void)len;
#endif
}

void mcsec_ct_declassify(const void *p, size_t len)
{
#if defined(MCSEC_HAVE_VALGRIND)
    if (ct_validation)
        (void)VALGRIND_MAKE_MEM_DEFINED(p, len);
#else
    (void)p;
    (void)len;
#endif
}

void mcsec_ct_taint_as(const void *out, size_t out_len, const void *in, size_t in_len)
{
#if defined(MCSEC_HAVE_VALGRIND)
    if (!ct_validation || !RUNNING_ON_VALGRIND)
        return;
    uint8_t vbits[256];
    int secret = 0;
    for (size_t off = 0; off < in_len && !secret; off += sizeof vbits) {
        size_t n = in_len - off < sizeof vbits ? in_len - off : sizeof vbits;
        if (VALGRIND_GET_VBITS((const uint8_t *)in + off, vbits, n) != 1)
            return;
        for (size_t i = 0; i < n; i++)
            secret |= vbits[i] != 0; /* the copy of the V bits is itself defined */
    }
    if (secret)
        (void)VALGRIND_MAKE_MEM_UNDEFINED(out, out_len);
    else
        (void)VALGRIND_MAKE_MEM_DEFINED(out, out_len);
#else
    (void)out;
    (void)out_len;
    (void)in;
    (void)in_len;
#endif
}
