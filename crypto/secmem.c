/* Secret handling: wipe, constant-time compare, locked allocations, randomness. */
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

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

/* Locked memory. Secrets live in pages of their own: private anonymous mappings, mlock()ed
 * (best effort: RLIMIT_MEMLOCK may refuse) and marked MADV_DONTDUMP once, when mapped.
 * - madvise needs a page-aligned start: called on a heap chunk, as mcsec did before, it failed
 *   with EINVAL and no secret was ever excluded from core dumps;
 * - mlock does not nest: munlock of a heap block unlocked the pages it shared with another
 *   live block. Pages here stay locked for the life of the process.
 * Blocks up to POOL_MAX octets (header included) come from size classes carved out of
 * POOL_CHUNK mappings and go back to a free list, wiped, when freed: a mapping per block would
 * cost two system calls, a TLB flush and about 100 us on this project's VM for every call
 * join. Larger blocks (pairing tables) get a mapping of their own, unmapped when freed.
 * Every block starts with a 64-octet header (payload cache-line aligned): its size, the pool
 * class or -1, and whether its pages are locked. Freed pool blocks are zero, so a new block
 * is zero too. Under AddressSanitizer free blocks and the slack after a payload are poisoned,
 * so overflows and uses after free are still caught. */
#define SECMEM_HEADER 64
#define POOL_CLASSES 9 /* 64, 128, ..., 16384 octets */
#define POOL_MAX ((size_t)64 << (POOL_CLASSES - 1))
#define POOL_CHUNK ((size_t)256 * 1024)

#if defined(__SANITIZE_ADDRESS__)
#define SECMEM_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SECMEM_ASAN 1
#endif
#endif
#if defined(SECMEM_ASAN)
#include <sanitizer/asan_interface.h>
#define POISON(p, n) ASAN_POISON_MEMORY_REGION(p, n)
#define UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION(p, n)
#else
#define POISON(p, n) ((void)(p), (void)(n))
#define UNPOISON(p, n) ((void)(p), (void)(n))
#endif

typedef struct {
    size_t total;   /* octets of the block, header included */
    uint8_t locked; /* at offset sizeof(size_t): tests/unit/secrets_memory.c reads it */
    int8_t cls;     /* pool class, -1 for a mapping of its own */
} secmem_hdr_t;

static struct {
    pthread_mutex_t mu;
    uint8_t *free_list[POOL_CLASSES]; /* each free block's payload holds the next pointer */
    uint8_t *chunk;                   /* the unused tail of the newest chunk */
    size_t chunk_left;
    uint8_t chunk_locked;
} pool = {.mu = PTHREAD_MUTEX_INITIALIZER};

/* A zeroed, locked (if allowed), not-dumped mapping of n octets (a multiple of the page). */
static uint8_t *map_locked(size_t n, uint8_t *locked)
{
    uint8_t *m = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED)
        return NULL;
    *locked = mlock(m, n) == 0;
    (void)madvise(m, n, MADV_DONTDUMP);
    return m;
}

static uint8_t *pool_take(int cls, uint8_t *locked)
{
    size_t size = (size_t)64 << cls;
    uint8_t *b = pool.free_list[cls];
    if (b != NULL) {
        UNPOISON(b, SECMEM_HEADER + sizeof(uint8_t *));
        secmem_hdr_t h;
        memcpy(&h, b, sizeof h);
        const size_t link = sizeof pool.free_list[cls];
        memcpy(&pool.free_list[cls], b + SECMEM_HEADER, link);
        memset(b + SECMEM_HEADER, 0, link); /* the rest was wiped when it was freed */
        *locked = h.locked;
        return b;
    }
    if (pool.chunk_left < size) {
        /* The tail of the old chunk (smaller than this class) is left unused. */
        uint8_t *c = map_locked(POOL_CHUNK, &pool.chunk_locked);
        if (c == NULL)
            return NULL;
        POISON(c, POOL_CHUNK);
        pool.chunk = c;
        pool.chunk_left = POOL_CHUNK;
    }
    b = pool.chunk;
    pool.chunk += size;
    pool.chunk_left -= size;
    *locked = pool.chunk_locked;
    return b;
}

void *mcsec_secure_alloc(size_t len)
{
    if (len > SIZE_MAX / 2)
        return NULL;
    secmem_hdr_t h = {.total = len + SECMEM_HEADER, .locked = 0, .cls = -1};
    uint8_t *b = NULL;
    if (h.total <= POOL_MAX) {
        h.cls = 0;
        while (((size_t)64 << h.cls) < h.total)
            h.cls = (int8_t)(h.cls + 1);
        h.total = (size_t)64 << h.cls;
        pthread_mutex_lock(&pool.mu);
        b = pool_take(h.cls, &h.locked);
        pthread_mutex_unlock(&pool.mu);
    } else {
        long pg = sysconf(_SC_PAGESIZE);
        size_t page = pg > 0 ? (size_t)pg : 4096;
        h.total = (h.total + page - 1) / page * page;
        b = map_locked(h.total, &h.locked);
    }
    if (b == NULL)
        return NULL;
    UNPOISON(b, SECMEM_HEADER + len);
    memcpy(b, &h, sizeof h);
    POISON(b + SECMEM_HEADER + len, h.total - SECMEM_HEADER - len);
    return b + SECMEM_HEADER;
}

void mcsec_secure_free(void *p)
{
    if (p == NULL)
        return;
    uint8_t *b = (uint8_t *)p - SECMEM_HEADER;
    secmem_hdr_t h;
    memcpy(&h, b, sizeof h);
    UNPOISON(b, h.total);
    OPENSSL_cleanse(b + SECMEM_HEADER, h.total - SECMEM_HEADER);
    if (h.cls < 0) {
        if (h.locked)
            (void)munlock(b, h.total);
        (void)munmap(b, h.total);
        return;
    }
    pthread_mutex_lock(&pool.mu);
    const size_t link = sizeof pool.free_list[h.cls];
    memcpy(b + SECMEM_HEADER, &pool.free_list[h.cls], link);
    pool.free_list[h.cls] = b;
    POISON(b, h.total);
    pthread_mutex_unlock(&pool.mu);
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
