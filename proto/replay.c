/* RAND replay cache: SHA-256(RAND || CSB ID) digests with an expiry time, in an open-addressing
 * hash table (linear probing, at most half full) under a mutex: a lookup touches a few slots
 * whatever the capacity, which matters for call joins (one per talker change). Expired entries
 * stay in place as tombstones that probes step over and inserts reuse; when live entries and
 * tombstones fill three quarters of the table, or the live count reaches the capacity, the
 * table is rebuilt with the live entries only. The digests are of public values: plain memcmp. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "mcsec/profile.h"
#include "mcsec/secmem.h"

typedef struct {
    uint8_t digest[32];
    uint64_t expiry; /* NTP seconds; 0: never used */
} entry_t;

struct mcsec_replay {
    pthread_mutex_t lock;
    size_t cap;  /* most live entries */
    size_t size; /* slots: a power of two >= 2 * cap */
    size_t used; /* slots ever filled since the last rebuild (live or expired) */
    size_t live; /* an upper bound on the live entries (exact after a rebuild) */
    entry_t *e, *spare;
};

mcsec_status_t mcsec_replay_new(mcsec_replay_t **out, size_t capacity) {
    if (out == NULL || capacity == 0 || capacity > (1u << 24)) return MCSEC_ERR_BAD_INPUT;
    mcsec_replay_t *rc = calloc(1, sizeof *rc);
    if (rc == NULL) return MCSEC_ERR_NOMEM;
    rc->cap = capacity;
    rc->size = 16;
    while (rc->size < 2 * capacity)
        rc->size *= 2;
    rc->e = calloc(rc->size, sizeof *rc->e);
    rc->spare = calloc(rc->size, sizeof *rc->spare);
    if (rc->e == NULL || rc->spare == NULL || pthread_mutex_init(&rc->lock, NULL) != 0) {
        free(rc->e);
        free(rc->spare);
        free(rc);
        return MCSEC_ERR_NOMEM;
    }
    *out = rc;
    return MCSEC_OK;
}

void mcsec_replay_free(mcsec_replay_t *rc) {
    if (rc == NULL) return;
    pthread_mutex_destroy(&rc->lock);
    free(rc->e);
    free(rc->spare);
    free(rc);
}

static pthread_once_t sha_once = PTHREAD_ONCE_INIT;
static EVP_MD *sha256_md; /* fetched once: a fetch per digest costs more than the digest */

static void sha_init(void) { sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL); }

static int digest(const uint8_t *rand, size_t rand_len, uint32_t csb_id, uint8_t d[32]) {
    uint8_t csb[4] = {(uint8_t)(csb_id >> 24), (uint8_t)(csb_id >> 16), (uint8_t)(csb_id >> 8),
                      (uint8_t)csb_id};
    pthread_once(&sha_once, sha_init);
    EVP_MD_CTX *c = sha256_md != NULL ? EVP_MD_CTX_new() : NULL;
    unsigned n = 0;
    int ok = c != NULL && EVP_DigestInit_ex(c, sha256_md, NULL) == 1 &&
             EVP_DigestUpdate(c, rand, rand_len) == 1 && EVP_DigestUpdate(c, csb, 4) == 1 &&
             EVP_DigestFinal_ex(c, d, &n) == 1 && n == 32;
    EVP_MD_CTX_free(c);
    return ok;
}

static size_t slot_of(const mcsec_replay_t *rc, const uint8_t d[32]) {
    uint64_t h;
    memcpy(&h, d, sizeof h);
    return (size_t)h & (rc->size - 1);
}

/* The slot of a live entry with digest d, or -1. */
static long lookup(const mcsec_replay_t *rc, const uint8_t d[32], uint64_t now) {
    for (size_t i = slot_of(rc, d);; i = (i + 1) & (rc->size - 1)) {
        const entry_t *e = &rc->e[i];
        if (e->expiry == 0) return -1;
        if (e->expiry >= now && memcmp(e->digest, d, 32) == 0) return (long)i;
    }
}

/* Moves the live entries into a fresh table (the spare array), dropping the expired ones. */
static void rebuild(mcsec_replay_t *rc, uint64_t now) {
    entry_t *old = rc->e;
    memset(rc->spare, 0, rc->size * sizeof *rc->spare);
    rc->e = rc->spare;
    rc->spare = old;
    rc->used = rc->live = 0;
    for (size_t k = 0; k < rc->size; k++) {
        if (old[k].expiry == 0 || old[k].expiry < now) continue;
        size_t i = slot_of(rc, old[k].digest);
        while (rc->e[i].expiry != 0)
            i = (i + 1) & (rc->size - 1);
        rc->e[i] = old[k];
        rc->used++;
        rc->live++;
    }
}

int mcsec_replay_seen(mcsec_replay_t *rc, const uint8_t *rand, size_t rand_len, uint32_t csb_id,
                      uint64_t now) {
    uint8_t d[32];
    if (rc == NULL || rand == NULL || !digest(rand, rand_len, csb_id, d)) return 0;
    pthread_mutex_lock(&rc->lock);
    long found = lookup(rc, d, now);
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
    mcsec_status_t st = MCSEC_OK;
    pthread_mutex_lock(&rc->lock);
    if (lookup(rc, d, now) >= 0) {
        st = MCSEC_ERR_REPLAY;
        goto out;
    }
    if (rc->live >= rc->cap || rc->used + 1 > rc->size / 4 * 3) rebuild(rc, now);
    if (rc->live >= rc->cap) {
        st = MCSEC_ERR_NOMEM; /* full of live entries: fail closed */
        goto out;
    }
    size_t i = slot_of(rc, d);
    while (rc->e[i].expiry != 0 && rc->e[i].expiry >= now) /* a free or an expired slot */
        i = (i + 1) & (rc->size - 1);
    if (rc->e[i].expiry == 0) rc->used++;
    memcpy(rc->e[i].digest, d, 32);
    rc->e[i].expiry = expiry;
    rc->live++;
out:
    pthread_mutex_unlock(&rc->lock);
    return st;
}
