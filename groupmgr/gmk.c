/* GMK generation and history: the journaled rekey, its completion after a crash, and the
 * catch-up that gives new members the current GMK.
 *
 * A rekey of group G:
 *   1. (rekey lock held: one rekey at a time per directory, across processes)
 *   2. transaction A: T = max(now, G.last_ts + 1/2^32) (NTP 64-bit: strictly increasing per
 *      group), a fresh GMK (16 octets from the DRBG) and GMK-ID (28 random bits, purpose tag
 *      0, unique in the store), recorded sealed with status BUILDING; G.last_ts = T. Commit.
 *   3. complete: read G's membership version, then its members; build one I_MESSAGE per member
 *      on the worker pool; transaction B: if the version moved (a member was added or removed
 *      meanwhile), roll back, build what is missing, drop what is no longer wanted, try again;
 *      else insert every message and set the GMK ACTIVE. Commit. Only ACTIVE GMKs' messages
 *      are ever sent, so members see all of the set or none of it, and a member removed before
 *      transaction B never gets a message.
 * A crash between A and B leaves a BUILDING row: the next rekey of G (or `serve` at start)
 * completes that GMK with the same key, GMK-ID and T; no second GMK is made for it. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "mcsec/kdf.h"
#include "mcsec/secmem.h"

#define COMPLETE_ATTEMPTS 8

/* --- URI lists ------------------------------------------------------------------------------ */

mcsec_status_t gm_uris_push(gm_uris_t *l, const char *uri)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 64;
        char **v = realloc(l->v, cap * sizeof *v);
        if (v == NULL)
            return MCSEC_ERR_NOMEM;
        l->v = v;
        l->cap = cap;
    }
    if ((l->v[l->n] = strdup(uri)) == NULL)
        return MCSEC_ERR_NOMEM;
    l->n++;
    return MCSEC_OK;
}

void gm_uris_free(gm_uris_t *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
    memset(l, 0, sizeof *l);
}

int gm_uris_collect(void *user, const char *uri)
{
    return gm_uris_push(user, uri) != MCSEC_OK;
}

/* --- GMK rows ------------------------------------------------------------------------------- */

static void id_octets(uint32_t id, uint8_t out[4])
{
    out[0] = (uint8_t)(id >> 24);
    out[1] = (uint8_t)(id >> 16);
    out[2] = (uint8_t)(id >> 8);
    out[3] = (uint8_t)id;
}

mcsec_status_t gm_gmk_unseal(const mcsec_groupmgr_t *gm, const gm_gmk_row_t *row,
                             uint8_t gmk[MCSEC_GMK_LEN])
{
    uint8_t id[4];
    id_octets(row->gmk_id, id);
    return gm_unseal(gm, "gmk", row->group_uri, id, 4, row->sealed, GM_SEALED_GMK_LEN, gmk);
}

/* The sender for messages of group at timestamp ts: the group identity signs. */
static mcsec_status_t make_sender(mcsec_groupmgr_t *gm, gm_store_t *s, const char *group,
                                  uint64_t ts, gm_kms_t *k, mcsec_gmk_sender_t *tx)
{
    const mcsec_eccsi_signer_t *signer = NULL;
    const mcsec_sakke_sender_t *sakke = NULL;
    uint64_t period;
    mcsec_status_t rc = gm_kms_get(gm, k);
    if (rc != MCSEC_OK)
        return rc;
    if ((rc = mcsec_key_period_no(ts >> 32, k->key_period, k->key_offset, &period)) != MCSEC_OK) {
        gm_error("the clock is before the KMS's first key period: set the clock");
        return rc;
    }
    if ((rc = gm_signer(gm, s, group, period, &signer)) != MCSEC_OK ||
        (rc = gm_sakke(gm, &sakke)) != MCSEC_OK)
        return rc;
    memset(tx, 0, sizeof *tx);
    tx->initiator_uri = group;
    tx->kms_uri = k->kms_uri;
    tx->key_period = k->key_period;
    tx->key_period_offset = k->key_offset;
    tx->signer = signer;
    tx->sakke = sakke;
    return MCSEC_OK;
}

static void key_params(const gm_gmk_row_t *row, mcsec_key_params_t *kp)
{
    memset(kp, 0, sizeof *kp);
    kp->key_type = MCSEC_PURPOSE_GMK;
    kp->status = 0;
    kp->activation = row->activation;
    kp->expiry = row->expiry;
    snprintf(kp->group_id, sizeof kp->group_id, "%s", row->group_uri);
}

static void fill_result(const gm_gmk_row_t *row, size_t members,
                        mcsec_groupmgr_rekey_result_t *res)
{
    if (res == NULL)
        return;
    res->done = 1;
    res->gmk_id = row->gmk_id;
    res->timestamp = row->ts;
    res->activation = row->activation;
    res->expiry = row->expiry;
    res->members = members;
}

/* --- Completing a GMK ------------------------------------------------------------------------ */

/* The messages built so far, by member (sorted like the store lists members). */
typedef struct {
    gm_uris_t members;
    uint8_t **msgs;
    size_t *lens;
} built_t;

static void built_free(built_t *b)
{
    for (size_t i = 0; i < b->members.n; i++)
        free(b->msgs[i]);
    free(b->msgs);
    free(b->lens);
    gm_uris_free(&b->members);
    memset(b, 0, sizeof *b);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Makes next hold exactly the members of want (sorted), reusing messages of prev and building
 * the missing ones with the pool. prev is consumed. */
static mcsec_status_t rebuild(built_t *prev, gm_uris_t *want, gm_fanout_t *job, unsigned threads,
                              built_t *next, double *build_s)
{
    mcsec_status_t rc = MCSEC_ERR_NOMEM;
    gm_uris_t missing = {0};
    size_t *where = NULL;
    memset(next, 0, sizeof *next);
    next->members = *want;
    memset(want, 0, sizeof *want);
    size_t n = next->members.n;
    if ((next->msgs = calloc(n ? n : 1, sizeof *next->msgs)) == NULL ||
        (next->lens = calloc(n ? n : 1, sizeof *next->lens)) == NULL ||
        (where = calloc(n ? n : 1, sizeof *where)) == NULL)
        goto out;
    for (size_t i = 0; i < n; i++) {
        const char *m = next->members.v[i];
        char **hit = prev->members.n
                         ? bsearch(&m, prev->members.v, prev->members.n, sizeof *prev->members.v,
                                   cmp_str)
                         : NULL;
        if (hit != NULL) {
            size_t k = (size_t)(hit - prev->members.v);
            next->msgs[i] = prev->msgs[k];
            next->lens[i] = prev->lens[k];
            prev->msgs[k] = NULL;
        } else {
            if ((rc = gm_uris_push(&missing, m)) != MCSEC_OK)
                goto out;
            where[missing.n - 1] = i;
        }
    }
    if (missing.n > 0) {
        job->members = (const char *const *)missing.v;
        job->n = missing.n;
        rc = MCSEC_ERR_NOMEM;
        if ((job->msgs = calloc(missing.n, sizeof *job->msgs)) == NULL ||
            (job->lens = calloc(missing.n, sizeof *job->lens)) == NULL)
            goto out;
        double t0 = gm_mono();
        if ((rc = gm_fanout(job, threads)) != MCSEC_OK)
            goto out;
        *build_s += gm_mono() - t0;
        for (size_t k = 0; k < missing.n; k++) {
            next->msgs[where[k]] = job->msgs[k];
            next->lens[where[k]] = job->lens[k];
            job->msgs[k] = NULL;
        }
    }
    rc = MCSEC_OK;
out:
    free(job->msgs);
    free(job->lens);
    job->msgs = NULL;
    job->lens = NULL;
    gm_uris_free(&missing);
    free(where);
    built_free(prev);
    return rc;
}

static mcsec_status_t complete(mcsec_groupmgr_t *gm, gm_store_t *s, gm_gmk_row_t *row,
                               const char *out_dir, unsigned threads,
                               mcsec_groupmgr_rekey_result_t *res)
{
    uint8_t gmk[MCSEC_GMK_LEN];
    mcsec_key_params_t *kp = NULL;
    mcsec_gmk_sender_t tx;
    gm_kms_t k;
    gm_group_row_t g;
    built_t have = {0}, next = {0};
    gm_uris_t want = {0};
    int in_tx = 0, committed = 0;
    double build_s = 0, t0 = gm_mono();
    mcsec_status_t rc = MCSEC_ERR_NOMEM;
    if ((kp = malloc(sizeof *kp)) == NULL)
        goto out;
    if ((rc = gm_gmk_unseal(gm, row, gmk)) != MCSEC_OK)
        goto out;
    if ((rc = make_sender(gm, s, row->group_uri, row->ts, &k, &tx)) != MCSEC_OK) {
        if (rc == MCSEC_ERR_KEY_PERIOD) /* needs the operator: never deliver this GMK */
            (void)gm->ops->gmk_set_status(s, row->id, MCSEC_GROUPMGR_GMK_FAILED);
        goto out;
    }
    key_params(row, kp);
    gm_fanout_t job = {.tx = &tx, .gmk = gmk, .gmk_id = row->gmk_id, .kp = kp, .ts = row->ts};
    for (int attempt = 0; attempt < COMPLETE_ATTEMPTS && !committed; attempt++) {
        if ((rc = gm->ops->group_get(s, row->group_uri, &g)) != MCSEC_OK)
            goto out;
        int64_t version = g.member_version;
        if ((rc = gm->ops->member_list(s, row->group_uri, gm_uris_collect, &want)) != MCSEC_OK)
            goto out;
        if ((rc = rebuild(&have, &want, &job, threads, &next, &build_s)) != MCSEC_OK)
            goto out;
        have = next;
        memset(&next, 0, sizeof next);
        if ((rc = gm->ops->begin(s)) != MCSEC_OK)
            goto out;
        in_tx = 1;
        if ((rc = gm->ops->group_get(s, row->group_uri, &g)) != MCSEC_OK)
            goto out;
        if (g.member_version != version) { /* membership changed while building */
            gm->ops->rollback(s);
            in_tx = 0;
            continue;
        }
        for (size_t i = 0; i < have.members.n; i++) {
            int added = 0;
            if ((rc = gm->ops->delivery_add(s, row->id, row->group_uri, have.members.v[i],
                                            have.msgs[i], have.lens[i], &added)) != MCSEC_OK)
                goto out;
        }
        if ((rc = gm->ops->gmk_set_status(s, row->id, MCSEC_GROUPMGR_GMK_ACTIVE)) != MCSEC_OK ||
            (rc = gm->ops->commit(s)) != MCSEC_OK)
            goto out;
        in_tx = 0;
        committed = 1;
    }
    if (!committed) {
        gm_error("the membership of %s kept changing during the rekey: run it again",
                 row->group_uri);
        rc = MCSEC_ERR_IO;
        goto out;
    }
    row->status = MCSEC_GROUPMGR_GMK_ACTIVE;
    fill_result(row, have.members.n, res);
    if (res != NULL) {
        res->build_seconds = build_s;
        res->wall_seconds = gm_mono() - t0;
    }
    if (out_dir != NULL)
        rc = gm_export(out_dir, (const char *const *)have.members.v, have.msgs, have.lens,
                       have.members.n);
out:
    if (in_tx)
        gm->ops->rollback(s);
    built_free(&have);
    built_free(&next);
    gm_uris_free(&want);
    mcsec_memzero(gmk, sizeof gmk);
    if (kp != NULL)
        mcsec_memzero(kp, sizeof *kp);
    free(kp);
    return rc;
}

/* --- Rekey ---------------------------------------------------------------------------------- */

typedef struct {
    gm_gmk_row_t *rows;
    size_t n, cap;
} gmk_rows_t;

static int collect_row(void *user, const gm_gmk_row_t *g)
{
    gmk_rows_t *l = user;
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 8;
        gm_gmk_row_t *r = realloc(l->rows, cap * sizeof *r);
        if (r == NULL)
            return 1;
        l->rows = r;
        l->cap = cap;
    }
    l->rows[l->n++] = *g;
    return 0;
}

mcsec_status_t gm_resume_locked(mcsec_groupmgr_t *gm, gm_store_t *s, const char *group,
                                const char *out_dir, unsigned threads,
                                mcsec_groupmgr_rekey_result_t *res, size_t *n)
{
    gmk_rows_t l = {0};
    mcsec_status_t rc = gm->ops->gmk_list(s, group, MCSEC_GROUPMGR_GMK_BUILDING, collect_row, &l);
    if (n != NULL)
        *n = 0;
    for (size_t i = 0; rc == MCSEC_OK && i < l.n; i++) {
        mcsec_groupmgr_rekey_result_t r;
        memset(&r, 0, sizeof r);
        rc = complete(gm, s, &l.rows[i], out_dir, threads, &r);
        if (rc == MCSEC_OK) {
            r.resumed = 1;
            if (n != NULL)
                (*n)++;
            if (res != NULL && group != NULL)
                *res = r;
        }
    }
    if (l.rows != NULL)
        mcsec_memzero(l.rows, l.cap * sizeof *l.rows);
    free(l.rows);
    return rc;
}

mcsec_status_t gm_rekey_locked(mcsec_groupmgr_t *gm, gm_store_t *s, const char *group,
                               const char *reason, const char *out_dir, unsigned threads,
                               mcsec_groupmgr_rekey_result_t *res)
{
    gm_gmk_row_t row;
    gm_group_row_t g;
    gm_kms_t k;
    mcsec_gmk_sender_t tx;
    uint8_t gmk[MCSEC_GMK_LEN], id4[4];
    int in_tx = 0;
    double t0 = gm_mono();
    memset(&row, 0, sizeof row);
    mcsec_status_t rc = gm->ops->group_get(s, group, &g);
    if (rc == MCSEC_ERR_UNKNOWN_KEY)
        gm_error("no group %s: add it first (`mcsec-groupmgr group add`)", group);
    if (rc != MCSEC_OK)
        return rc;
    /* The keys must be there before anything is journaled. */
    uint64_t now = gm_now64();
    if ((rc = make_sender(gm, s, group, now > g.last_ts ? now : g.last_ts + 1, &k, &tx)) !=
        MCSEC_OK)
        return rc;
    if ((rc = gm->ops->begin(s)) != MCSEC_OK)
        return rc;
    in_tx = 1;
    if ((rc = gm->ops->group_get(s, group, &g)) != MCSEC_OK)
        goto out;
    now = gm_now64();
    snprintf(row.group_uri, sizeof row.group_uri, "%s", group);
    snprintf(row.reason, sizeof row.reason, "%s", reason);
    row.ts = now > g.last_ts ? now : g.last_ts + 1;
    row.activation = row.ts;
    row.expiry = g.lifetime ? row.ts + (g.lifetime << 32) : 0;
    row.status = MCSEC_GROUPMGR_GMK_BUILDING;
    row.created = gm_now_unix();
    if ((rc = mcsec_random_bytes(gmk, sizeof gmk)) != MCSEC_OK)
        goto out;
    for (int tries = 0;; tries++) {
        if ((rc = mcsec_random_bytes(id4, 4)) != MCSEC_OK)
            goto out;
        row.gmk_id = ((uint32_t)id4[0] << 24 | (uint32_t)id4[1] << 16 | (uint32_t)id4[2] << 8 |
                      id4[3]) &
                     0x0fffffffu; /* purpose tag 0: GMK */
        if (row.gmk_id == 0)
            continue;
        id_octets(row.gmk_id, id4);
        if ((rc = gm_seal(gm, "gmk", group, id4, 4, gmk, sizeof gmk, row.sealed)) != MCSEC_OK)
            goto out;
        rc = gm->ops->gmk_add(s, &row);
        if (rc != MCSEC_ERR_POLICY || tries >= 16)
            break;
    }
    if (rc == MCSEC_ERR_POLICY)
        gm_error("no free GMK-ID found: the random generator is broken?");
    if (rc != MCSEC_OK || (rc = gm->ops->group_set_ts(s, group, row.ts)) != MCSEC_OK ||
        (rc = gm->ops->commit(s)) != MCSEC_OK)
        goto out;
    in_tx = 0;
    rc = complete(gm, s, &row, out_dir, threads, res);
    if (res != NULL)
        res->wall_seconds = gm_mono() - t0;
out:
    if (in_tx)
        gm->ops->rollback(s);
    mcsec_memzero(gmk, sizeof gmk);
    mcsec_memzero(row.sealed, sizeof row.sealed);
    return rc;
}

mcsec_status_t mcsec_groupmgr_rekey(mcsec_groupmgr_t *gm, const char *group_uri,
                                    const char *out_dir, unsigned threads,
                                    mcsec_groupmgr_rekey_result_t *res)
{
    mcsec_groupmgr_rekey_result_t r;
    size_t resumed = 0;
    int fd = -1;
    gm_clear_error();
    memset(&r, 0, sizeof r);
    if (gm == NULL || !gm_uri_ok(group_uri)) {
        gm_error("no group given");
        return MCSEC_ERR_BAD_INPUT;
    }
    mcsec_status_t rc = gm_rekey_lock(gm, 1, &fd);
    if (rc != MCSEC_OK)
        return rc;
    rc = gm_resume_locked(gm, gm->store, group_uri, out_dir, threads, &r, &resumed);
    if (rc == MCSEC_OK && resumed == 0)
        rc = gm_rekey_locked(gm, gm->store, group_uri, "command", out_dir, threads, &r);
    gm_rekey_unlock(gm, fd);
    if (res != NULL)
        *res = r;
    return rc;
}

/* --- Catch-up --------------------------------------------------------------------------------- */

mcsec_status_t gm_catch_up(mcsec_groupmgr_t *gm, gm_store_t *s, const char *group, unsigned threads,
                           size_t *built)
{
    gm_gmk_row_t row;
    gm_uris_t missing = {0};
    mcsec_key_params_t *kp = NULL;
    mcsec_gmk_sender_t tx;
    gm_kms_t k;
    uint8_t gmk[MCSEC_GMK_LEN];
    int in_tx = 0;
    size_t count = 0;
    gm_fanout_t job;
    memset(&job, 0, sizeof job);
    if (built != NULL)
        *built = 0;
    mcsec_status_t rc = gm->ops->gmk_current(s, group, gm_now64(), &row);
    if (rc == MCSEC_ERR_UNKNOWN_KEY)
        return MCSEC_OK; /* no current GMK: the next rekey covers everyone */
    if (rc != MCSEC_OK)
        return rc;
    if ((rc = gm->ops->members_missing(s, group, row.id, gm_uris_collect, &missing)) != MCSEC_OK ||
        missing.n == 0)
        goto out;
    rc = MCSEC_ERR_NOMEM;
    if ((kp = malloc(sizeof *kp)) == NULL ||
        (job.msgs = calloc(missing.n, sizeof *job.msgs)) == NULL ||
        (job.lens = calloc(missing.n, sizeof *job.lens)) == NULL)
        goto out;
    if ((rc = gm_gmk_unseal(gm, &row, gmk)) != MCSEC_OK ||
        (rc = make_sender(gm, s, group, row.ts, &k, &tx)) != MCSEC_OK)
        goto out;
    key_params(&row, kp);
    job.tx = &tx;
    job.gmk = gmk;
    job.gmk_id = row.gmk_id;
    job.kp = kp;
    job.ts = row.ts;
    job.members = (const char *const *)missing.v;
    job.n = missing.n;
    if ((rc = gm_fanout(&job, threads)) != MCSEC_OK)
        goto out;
    if ((rc = gm->ops->begin(s)) != MCSEC_OK)
        goto out;
    in_tx = 1;
    for (size_t i = 0; i < missing.n; i++) {
        int added = 0;
        /* Only members still in the group (a removal meanwhile wins), and only once. */
        if ((rc = gm->ops->delivery_add(s, row.id, group, missing.v[i], job.msgs[i], job.lens[i],
                                        &added)) != MCSEC_OK)
            goto out;
        count += (size_t)added;
    }
    if ((rc = gm->ops->commit(s)) != MCSEC_OK)
        goto out;
    in_tx = 0;
    if (built != NULL)
        *built = count;
out:
    if (in_tx)
        gm->ops->rollback(s);
    if (job.msgs != NULL)
        gm_fanout_free(&job);
    free(job.msgs);
    free(job.lens);
    gm_uris_free(&missing);
    mcsec_memzero(gmk, sizeof gmk);
    mcsec_memzero(row.sealed, sizeof row.sealed);
    if (kp != NULL)
        mcsec_memzero(kp, sizeof *kp);
    free(kp);
    return rc;
}
