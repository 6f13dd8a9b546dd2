/* Internals of the handset call API (include/mcsec/client.h). */
#ifndef MCSEC_CALL_INTERNAL_H
#define MCSEC_CALL_INTERNAL_H

#include <pthread.h>

#include "internal.h"
#include "mcsec/client.h"

typedef struct {
    char *group;
    char **members;
    size_t n;
} mcsec_member_list_t;

#define MCSEC_GMK_CACHE 8             /* GMKs a handset keeps decrypted (locked memory) */
#define MCSEC_GMK_CACHE_TTL_MS 10000 /* then re-read: a revocation stored by another process */

typedef struct {
    mcsec_gmk_record_t rec;
    uint64_t loaded_ms; /* CLOCK_MONOTONIC; 0: empty */
} mcsec_gmk_slot_t;

struct mcsec_handset {
    mcsec_keystore_t *ks;
    mcsec_kms_params_t kms;
    char uri[MCSEC_KEYSTORE_URI_MAX];
    mcsec_profile_receiver_t *rx;
    mcsec_handset_clock_fn clock;
    void *clock_user;
    pthread_mutex_t lock; /* the member lists */
    mcsec_member_list_t *lists;
    size_t n_lists;
    mcsec_gmk_slot_t *gmks; /* MCSEC_GMK_CACHE slots, locked memory, under lock */
    unsigned next_gmk;
};

/* NTP seconds on the handset's clock; the 64-bit NTP timestamp (with the fraction). */
uint64_t mcsec_handset_now(const mcsec_handset_t *h);
uint64_t mcsec_handset_now64(const mcsec_handset_t *h);
/* mcsec_gmk_lookup_fn for mcsec_gsk_open (user: the handset): the keystore's record, kept in a
 * small cache for MCSEC_GMK_CACHE_TTL_MS (a call join then reads no file). */
mcsec_status_t mcsec_handset_lookup_gmk(void *user, uint32_t gmk_id, mcsec_gmk_record_t *out);
/* Drops a GMK from the cache (after storing a newer message for it). */
void mcsec_handset_forget_gmk(mcsec_handset_t *h, uint32_t gmk_id);
/* mcsec_member_fn for mcsec_gsk_open (user: the handset). */
int mcsec_handset_is_member(void *user, const char *group_uri, const char *talker_uri);

#endif
