/* The handset (include/mcsec/client.h): identity, KMS parameters, MIKEY receiver, member lists
 * and the one rule for storing a received GMK. */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "call_internal.h"
#include "mcsec/secmem.h"

#define NTP_UNIX_OFFSET 2208988800u

/* The system clock as a 64-bit NTP timestamp (CLOCK_REALTIME, as the daemons use). */
static uint64_t system_ntp64(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return ((uint64_t)ts.tv_sec + NTP_UNIX_OFFSET) << 32 |
           (((uint64_t)ts.tv_nsec << 32) / 1000000000u);
}

static uint64_t system_seconds(void *user) {
    (void)user;
    return system_ntp64() >> 32;
}

static uint64_t rx_clock(void *user) {
    mcsec_handset_t *h = user;
    return h->clock(h->clock_user);
}

static mcsec_status_t fetch_keyset(void *user, uint64_t period_no, mcsec_keyset_t *out) {
    return mcsec_keystore_get_keyset(user, period_no, out);
}

/* The user URI of the latest key set: the handset's identity. */
static mcsec_status_t load_identity(mcsec_handset_t *h) {
    uint64_t periods[64];
    size_t n = 0;
    mcsec_keyset_t ks;
    mcsec_status_t rc = mcsec_keystore_get_kms(h->ks, &h->kms);
    if (rc != MCSEC_OK) return rc;
    rc = mcsec_keystore_list_periods(h->ks, periods, 64, &n);
    if (rc != MCSEC_OK && rc != MCSEC_ERR_BAD_LENGTH) return rc;
    if (n == 0) return MCSEC_ERR_UNKNOWN_KEY;
    if (n > 64) n = 64;
    if ((rc = mcsec_keystore_get_keyset(h->ks, periods[n - 1], &ks)) != MCSEC_OK) return rc;
    snprintf(h->uri, sizeof h->uri, "%s", ks.user_uri);
    mcsec_memzero(&ks, sizeof ks);
    return MCSEC_OK;
}

mcsec_status_t mcsec_handset_open(mcsec_handset_t **out, mcsec_keystore_t *ks) {
    if (out == NULL || ks == NULL) return MCSEC_ERR_BAD_INPUT;
    *out = NULL;
    mcsec_status_t rc = mcsec_init();
    if (rc != MCSEC_OK) return rc;
    mcsec_handset_t *h = calloc(1, sizeof *h);
    if (h == NULL) return MCSEC_ERR_NOMEM;
    h->ks = ks;
    h->clock = system_seconds;
    pthread_mutex_init(&h->lock, NULL);
    if ((h->gmks = mcsec_secure_alloc(MCSEC_GMK_CACHE * sizeof *h->gmks)) == NULL) {
        mcsec_handset_close(h);
        return MCSEC_ERR_NOMEM;
    }
    memset(h->gmks, 0, MCSEC_GMK_CACHE * sizeof *h->gmks);
    if ((rc = load_identity(h)) != MCSEC_OK ||
        (rc = mcsec_profile_receiver_new(&h->rx, &h->kms, h->uri)) != MCSEC_OK) {
        mcsec_handset_close(h);
        return rc;
    }
    mcsec_profile_receiver_set_fetch(h->rx, fetch_keyset, ks);
    mcsec_profile_receiver_set_clock(h->rx, rx_clock, h);
    *out = h;
    return MCSEC_OK;
}

static void free_members(mcsec_handset_t *h) {
    for (size_t i = 0; i < h->n_lists; i++) {
        free(h->lists[i].group);
        for (size_t k = 0; k < h->lists[i].n; k++)
            free(h->lists[i].members[k]);
        free(h->lists[i].members);
    }
    free(h->lists);
    h->lists = NULL;
    h->n_lists = 0;
}

void mcsec_handset_close(mcsec_handset_t *h) {
    if (h == NULL) return;
    mcsec_profile_receiver_free(h->rx);
    mcsec_secure_free(h->gmks); /* wipes */
    free_members(h);
    pthread_mutex_destroy(&h->lock);
    mcsec_memzero(h, sizeof *h);
    free(h);
}

const char *mcsec_handset_uri(const mcsec_handset_t *h) { return h->uri; }
mcsec_keystore_t *mcsec_handset_keystore(const mcsec_handset_t *h) { return h->ks; }

void mcsec_handset_set_clock(mcsec_handset_t *h, mcsec_handset_clock_fn fn, void *user) {
    h->clock = fn != NULL ? fn : system_seconds;
    h->clock_user = user;
}

uint64_t mcsec_handset_now(const mcsec_handset_t *h) { return h->clock(h->clock_user); }

uint64_t mcsec_handset_now64(const mcsec_handset_t *h) {
    /* With the fraction: a GMK activated earlier within this second (its activation time has
     * one) is valid now. A test clock counts whole seconds. */
    return h->clock == system_seconds ? system_ntp64() : h->clock(h->clock_user) << 32;
}

static uint64_t mono_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000 + 1; /* never 0 */
}

mcsec_status_t mcsec_handset_lookup_gmk(void *user, uint32_t gmk_id, mcsec_gmk_record_t *out) {
    mcsec_handset_t *h = user;
    uint64_t now = mono_ms();
    pthread_mutex_lock(&h->lock);
    for (unsigned i = 0; i < MCSEC_GMK_CACHE; i++) {
        mcsec_gmk_slot_t *s = &h->gmks[i];
        if (s->loaded_ms != 0 && s->rec.gmk_id == gmk_id && now - s->loaded_ms < MCSEC_GMK_CACHE_TTL_MS) {
            *out = s->rec;
            pthread_mutex_unlock(&h->lock);
            return MCSEC_OK;
        }
    }
    pthread_mutex_unlock(&h->lock);
    mcsec_status_t rc = mcsec_keystore_get_gmk(h->ks, gmk_id, out);
    if (rc != MCSEC_OK) return rc;
    pthread_mutex_lock(&h->lock);
    mcsec_gmk_slot_t *s = &h->gmks[h->next_gmk++ % MCSEC_GMK_CACHE];
    s->rec = *out;
    s->loaded_ms = now;
    pthread_mutex_unlock(&h->lock);
    return MCSEC_OK;
}

void mcsec_handset_forget_gmk(mcsec_handset_t *h, uint32_t gmk_id) {
    pthread_mutex_lock(&h->lock);
    for (unsigned i = 0; i < MCSEC_GMK_CACHE; i++)
        if (h->gmks[i].loaded_ms != 0 && h->gmks[i].rec.gmk_id == gmk_id)
            mcsec_memzero(&h->gmks[i], sizeof h->gmks[i]);
    pthread_mutex_unlock(&h->lock);
}

static mcsec_member_list_t *find_list(mcsec_handset_t *h, const char *group) {
    for (size_t i = 0; i < h->n_lists; i++)
        if (strcmp(h->lists[i].group, group) == 0) return &h->lists[i];
    return NULL;
}

/* Replaces (or removes, n == 0) the list of one group; the caller holds the lock. */
static mcsec_status_t set_list(mcsec_handset_t *h, const char *group, const char *const *members,
                               size_t n) {
    mcsec_member_list_t *l = find_list(h, group), fresh = {0};
    if (n > 0) {
        if ((fresh.group = strdup(group)) == NULL ||
            (fresh.members = calloc(n, sizeof *fresh.members)) == NULL)
            goto nomem;
        for (; fresh.n < n; fresh.n++)
            if ((fresh.members[fresh.n] = strdup(members[fresh.n])) == NULL) goto nomem;
    }
    if (l != NULL) { /* drop the old list, move the last one into its slot */
        free(l->group);
        for (size_t k = 0; k < l->n; k++)
            free(l->members[k]);
        free(l->members);
        *l = h->lists[--h->n_lists];
    }
    if (n == 0) return MCSEC_OK;
    mcsec_member_list_t *grown = realloc(h->lists, (h->n_lists + 1) * sizeof *grown);
    if (grown == NULL) goto nomem;
    h->lists = grown;
    h->lists[h->n_lists++] = fresh;
    return MCSEC_OK;
nomem:
    free(fresh.group);
    for (size_t k = 0; k < fresh.n; k++)
        free(fresh.members[k]);
    free(fresh.members);
    return MCSEC_ERR_NOMEM;
}

mcsec_status_t mcsec_handset_set_members(mcsec_handset_t *h, const char *group_uri,
                                         const char *const *members, size_t n) {
    if (h == NULL || group_uri == NULL || group_uri[0] == 0 || (n > 0 && members == NULL))
        return MCSEC_ERR_BAD_INPUT;
    for (size_t i = 0; i < n; i++)
        if (members[i] == NULL || members[i][0] == 0) return MCSEC_ERR_BAD_INPUT;
    pthread_mutex_lock(&h->lock);
    mcsec_status_t rc = set_list(h, group_uri, members, n);
    pthread_mutex_unlock(&h->lock);
    return rc;
}

/* The mcsec_member_fn of mcsec_gsk_open: 1 if the group has no list or lists the talker. */
int mcsec_handset_is_member(void *user, const char *group_uri, const char *talker_uri) {
    mcsec_handset_t *h = user;
    int ok = 1;
    pthread_mutex_lock(&h->lock);
    const mcsec_member_list_t *l = find_list(h, group_uri);
    if (l != NULL) {
        ok = 0;
        for (size_t i = 0; i < l->n && !ok; i++)
            ok = strcmp(l->members[i], talker_uri) == 0;
    }
    pthread_mutex_unlock(&h->lock);
    return ok;
}

mcsec_status_t mcsec_handset_store_gmk(mcsec_keystore_t *ks, const mcsec_gmk_result_t *g,
                                       const char *group_uri, int *is_new) {
    mcsec_gmk_record_t rec, old;
    mcsec_status_t rc = MCSEC_ERR_BAD_INPUT;
    memset(&rec, 0, sizeof rec);
    memset(&old, 0, sizeof old);
    if (is_new != NULL) *is_new = 0;
    if (ks == NULL || g == NULL || group_uri == NULL || group_uri[0] == 0) return rc;
    if (!g->key_params_decoded || strcmp(g->key_params.group_id, group_uri) != 0) {
        mcsec_ks_error("the GMK message does not name group %s in its key parameters", group_uri);
        return MCSEC_ERR_STRUCTURE;
    }
    rc = mcsec_keystore_get_gmk(ks, g->key_id, &old);
    if (rc == MCSEC_OK) {
        if (!mcsec_ct_equal(old.gmk, g->key, sizeof old.gmk) ||
            strcmp(old.group_uri, group_uri) != 0) {
            mcsec_ks_error("GMK-ID %08" PRIx32 " is already stored with another key or group; "
                           "refusing to replace it (report this to the group manager)",
                           g->key_id);
            rc = MCSEC_ERR_VERIFY;
            goto out;
        }
        if (old.mikey_timestamp >= g->timestamp) goto out; /* re-sent: nothing changes */
    } else if (rc != MCSEC_ERR_UNKNOWN_KEY) {
        goto out;
    }
    snprintf(rec.group_uri, sizeof rec.group_uri, "%s", group_uri);
    memcpy(rec.gmk, g->key, sizeof rec.gmk);
    rec.gmk_id = g->key_id;
    rec.guk_id = g->csb_id;
    rec.activation = g->key_params.activation;
    rec.expiry = g->key_params.expiry;
    rec.status = g->key_params.status;
    rec.mikey_timestamp = g->timestamp;
    if ((rc = mcsec_keystore_put_gmk(ks, &rec)) == MCSEC_OK && is_new != NULL) *is_new = 1;
out:
    mcsec_memzero(&rec, sizeof rec);
    mcsec_memzero(&old, sizeof old);
    return rc;
}
