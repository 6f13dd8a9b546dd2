/* Fuzz builds only: results of pure functions remembered by the SHA-256 of their inputs
 * (see crypto/internal.h). A fuzzer mutates one field of a message and feeds the same key
 * material thousands of times a second; without this, every input of the Group Manager
 * client or the key-set importer paid an RSK validation and a decapsulation (two pairings)
 * and the long runs of docs/security-testing.md were out of reach. Values are copied in and
 * out, never shared. The first time any input is seen, the real function runs. Compiled to
 * nothing outside -DMCSEC_FUZZ=ON. */
#include "internal.h"

#if defined(MCSEC_FUZZ_MEMO)
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#define MEMO_SLOTS 256

static struct {
    uint8_t digest[32];
    mcsec_status_t rc;
    void *value;
    size_t len;
    int used;
} slots[MEMO_SLOTS];
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

void fuzz_memo_key(fuzz_memo_key_t *key, const char *fn, size_t n_parts, ...)
{
    const char *e = getenv("MCSEC_FUZZ_MEMO");
    memset(key, 0, sizeof *key);
    key->on = e == NULL || strcmp(e, "0") != 0;
    if (!key->on)
        return;
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    uint64_t n = strlen(fn);
    va_list ap;
    va_start(ap, n_parts);
    int ok = c != NULL && EVP_DigestInit_ex(c, EVP_sha256(), NULL) &&
             EVP_DigestUpdate(c, &n, sizeof n) && EVP_DigestUpdate(c, fn, n);
    for (size_t i = 0; i < n_parts; i++) {
        const void *p = va_arg(ap, const void *);
        uint64_t len = va_arg(ap, size_t);
        ok = ok && EVP_DigestUpdate(c, &len, sizeof len) &&
             (len == 0 || EVP_DigestUpdate(c, p, len));
    }
    va_end(ap);
    if (!ok || !EVP_DigestFinal_ex(c, key->digest, NULL))
        abort(); /* fuzz builds only */
    EVP_MD_CTX_free(c);
}

int fuzz_memo_get(const fuzz_memo_key_t *key, mcsec_status_t *rc, void *value, size_t len)
{
    if (!key->on)
        return 0;
    unsigned i = key->digest[0] % MEMO_SLOTS;
    pthread_mutex_lock(&lock);
    int hit = slots[i].used && CRYPTO_memcmp(slots[i].digest, key->digest, 32) == 0 &&
              (slots[i].len == 0 || slots[i].len == len);
    if (hit) {
        *rc = slots[i].rc;
        if (slots[i].len > 0)
            memcpy(value, slots[i].value, len);
    }
    pthread_mutex_unlock(&lock);
    return hit;
}

void fuzz_memo_put(const fuzz_memo_key_t *key, mcsec_status_t rc, const void *value, size_t len)
{
    if (!key->on)
        return;
    void *copy = len > 0 ? malloc(len) : NULL;
    if (len > 0 && copy == NULL)
        return;
    if (len > 0)
        memcpy(copy, value, len);
    unsigned i = key->digest[0] % MEMO_SLOTS;
    pthread_mutex_lock(&lock);
    free(slots[i].value);
    memcpy(slots[i].digest, key->digest, 32);
    slots[i].rc = rc;
    slots[i].value = copy;
    slots[i].len = len;
    slots[i].used = 1;
    pthread_mutex_unlock(&lock);
}
#else
typedef int fuzz_memo_not_built_t; /* ISO C wants at least one declaration */
#endif
