/* RAND replay cache: SHA-256(RAND || CSB ID) digests with an expiry time, in a fixed array
 * scanned linearly under a mutex. 4096 entries is 160 KiB and a scan costs microseconds,
 * nothing next to the SAKKE decapsulation each GMK message costs anyway. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "mcsec/profile.h"
#include "mcsec/secmem.h"

typedef struct {
    uint8_t digest[32];
    uint64_t expiry; /* NTP seconds; 0: free slot */
} entry_t;

struct mcsec_replay {
    pthread_mutex_t lock;
    size_t cap;
    entry_t e[];
};

mcsec_status_t mcsec_replay_new(mcsec_replay_t **out, size_t capacity) {
    if (out == NULL || capacity == 0 || capacity > (1u << 24)) return MCSEC_ERR_BAD_INPUT;
    mcsec_replay_t *rc = calloc(1, sizeof *rc + capacity * sizeof(entry_t));
    if (rc == NULL) return MCSEC_ERR_NOMEM;
    if (pthread_mutex_init(&rc->lock, NULL) != 0) {
        free(rc);
        return MCSEC_ERR_INTERNAL;
    }
    rc->cap = capacity;
    *out = rc;
    return MCSEC_OK;
}

void mcsec_replay_free(mcsec_replay_t *rc) {
    if (rc == NULL) return;
    pthread_mutex_destroy(&rc->lock);
    free(rc);
}

static int digest(const uint8_t *rand, size_t rand_len, uint32_t csb_id, uint8_t d[32]) {
    uint8_t csb[4] = {(uint8_t)(csb_id >> 24), (uint8_t)(csb_id >> 16), (uint8_t)(csb_id >> 8),
                      (uint8_t)csb_id};
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    unsigned n = 0;
    int ok = c != NULL && EVP_DigestInit_ex(c, EVP_sha256(), NULL) == 1 &&
             EVP_DigestUpdate(c, rand, rand_len) == 1 && EVP_DigestUpdate(c, csb, 4) == 1 &&
             EVP_DigestFinal_ex(c, d, &n) == 1 && n == 32;
    EVP_MD_CTX_free(c);
    return ok;
}

/* Index of a live entry with digest d, or -1; expired entries are freed on the way. */
static long lookup(mcsec_replay_t *rc, const uint8_t d[32], uint64_t now, long *free_slot) {
    long found = -1;
    *free_slot = -1;
    for (size_t i = 0; i < rc->cap; i++) {
        entry_t *e = &rc->e[i];
        if (e->expiry != 0 && e->expiry < now) e->expiry = 0;
        if (e->expiry == 0) {
            if (*free_slot < 0) *free_slot = (long)i;
        } else if (found < 0 && mcsec_ct_equal(e->digest, d, 32)) {
            found = (long)i;
        }
    }
    return found;
}

int mcsec_replay_seen(mcsec_replay_t *rc, const uint8_t *rand, size_t rand_len, uint32_t csb_id,
                      uint64_t now) {
    uint8_t d[32];
    if (rc == NULL || rand == NULL || !digest(rand, rand_len, csb_id, d)) return 0;
    long fs;
    pthread_mutex_lock(&rc->lock);
    long found = lookup(rc, d, now, &fs);
    pthread_mutex_unlock(&rc->lock);
    return found >= 0;
}

mcsec_status_t mcsec_replay_add(mcsec_replay_t *rc, const uint8_t *rand, size_t rand_len,
                                uint32_t csb_id, uint64_t expiry, uint64_t now) {
    uint8_t d[32];
    if (rc == NULL || rand == NULL) return MCSEC_ERR_BAD_INPUT;
    if (!digest(rand, rand_len, csb_id, d)) return MCSEC_ERR_INTERNAL;
    if (expiry < now) return MCSEC_OK; /* already stale: nothing to remember */
    if (expiry == 0) expiry = 1;
    long fs;
    mcsec_status_t st = MCSEC_OK;
    pthread_mutex_lock(&rc->lock);
    if (lookup(rc, d, now, &fs) >= 0) {
        st = MCSEC_ERR_REPLAY;
    } else if (fs < 0) {
        st = MCSEC_ERR_NOMEM; /* full of live entries: fail closed */
    } else {
        memcpy(rc->e[fs].digest, d, 32);
        rc->e[fs].expiry = expiry;
    }
    pthread_mutex_unlock(&rc->lock);
    return st;
}
