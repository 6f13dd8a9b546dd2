/* Groups and members: adding groups, bulk member changes (one transaction each, bumping the
 * group's membership version that rekeys check), the rekey-on-leave policy, and the listings. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "mcsec/secmem.h"

mcsec_status_t mcsec_groupmgr_group_add(mcsec_groupmgr_t *gm, const char *group_uri,
                                        uint64_t lifetime, int rekey_on_leave)
{
    gm_group_row_t g;
    gm_clear_error();
    if (gm == NULL || !gm_uri_ok(group_uri)) {
        gm_error("group URI '%s' is not 1-255 printable characters without spaces: give e.g. "
                 "sip:fire-north@example.org",
                 group_uri != NULL ? group_uri : "");
        return MCSEC_ERR_BAD_INPUT;
    }
    if (lifetime > 100ull * 365 * 86400) {
        gm_error("a GMK lifetime of %" PRIu64 " s is more than 100 years: give seconds, or 0 "
                 "for no expiry",
                 lifetime);
        return MCSEC_ERR_BAD_INPUT;
    }
    memset(&g, 0, sizeof g);
    snprintf(g.uri, sizeof g.uri, "%s", group_uri);
    g.lifetime = lifetime;
    g.rekey_on_leave = rekey_on_leave != 0;
    g.created = gm_now_unix();
    return gm->ops->group_add(gm->store, &g);
}

static mcsec_status_t check_members(const char *group_uri, const char *const *members, size_t n)
{
    if (!gm_uri_ok(group_uri)) {
        gm_error("group URI '%s' is not 1-255 printable characters without spaces",
                 group_uri != NULL ? group_uri : "");
        return MCSEC_ERR_BAD_INPUT;
    }
    if (members == NULL || n == 0) {
        gm_error("no members given");
        return MCSEC_ERR_BAD_INPUT;
    }
    for (size_t i = 0; i < n; i++)
        if (!gm_uri_ok(members[i])) {
            gm_error("member URI '%s' is not 1-255 printable characters without spaces: give "
                     "e.g. sip:alice@example.org",
                     members[i] != NULL ? members[i] : "");
            return MCSEC_ERR_BAD_INPUT;
        }
    return MCSEC_OK;
}

/* Adds or removes members in one transaction; bumps the version if anything changed. */
static mcsec_status_t change_members(mcsec_groupmgr_t *gm, const char *group_uri,
                                     const char *const *members, size_t n, int add,
                                     size_t *changed, gm_group_row_t *g)
{
    size_t count = 0;
    mcsec_status_t rc = gm->ops->begin(gm->store);
    if (rc != MCSEC_OK)
        return rc;
    if ((rc = gm->ops->group_get(gm->store, group_uri, g)) != MCSEC_OK) {
        if (rc == MCSEC_ERR_UNKNOWN_KEY)
            gm_error("no group %s: add it first (`mcsec-groupmgr group add`)", group_uri);
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        int did = 0;
        rc = add ? gm->ops->member_add(gm->store, group_uri, members[i], &did)
                 : gm->ops->member_remove(gm->store, group_uri, members[i], &did);
        if (rc != MCSEC_OK)
            goto out;
        count += (size_t)did;
    }
    if (count > 0 && (rc = gm->ops->group_bump(gm->store, group_uri)) != MCSEC_OK)
        goto out;
    rc = gm->ops->commit(gm->store);
out:
    if (rc != MCSEC_OK)
        gm->ops->rollback(gm->store);
    else if (changed != NULL)
        *changed = count;
    return rc;
}

mcsec_status_t mcsec_groupmgr_member_add(mcsec_groupmgr_t *gm, const char *group_uri,
                                         const char *const *members, size_t n, size_t *added)
{
    gm_group_row_t g;
    size_t count = 0;
    gm_clear_error();
    if (added != NULL)
        *added = 0;
    if (gm == NULL)
        return MCSEC_ERR_BAD_INPUT;
    mcsec_status_t rc = check_members(group_uri, members, n);
    if (rc == MCSEC_OK)
        rc = change_members(gm, group_uri, members, n, 1, &count, &g);
    if (rc != MCSEC_OK)
        return rc;
    if (added != NULL)
        *added = count;
    /* New members get the current GMK now (serve would do it too, on its next pass). */
    if (count > 0)
        rc = gm_catch_up(gm, gm->store, group_uri, 0, NULL);
    return rc;
}

static int has_gmk(void *user, const gm_gmk_row_t *g)
{
    (void)g;
    *(int *)user = 1;
    return 1;
}

mcsec_status_t mcsec_groupmgr_member_remove(mcsec_groupmgr_t *gm, const char *group_uri,
                                            const char *const *members, size_t n,
                                            size_t *removed, mcsec_groupmgr_rekey_result_t *res)
{
    gm_group_row_t g;
    size_t count = 0;
    int any = 0;
    gm_clear_error();
    if (removed != NULL)
        *removed = 0;
    if (res != NULL)
        memset(res, 0, sizeof *res);
    if (gm == NULL)
        return MCSEC_ERR_BAD_INPUT;
    mcsec_status_t rc = check_members(group_uri, members, n);
    if (rc == MCSEC_OK)
        rc = change_members(gm, group_uri, members, n, 0, &count, &g);
    if (rc != MCSEC_OK)
        return rc;
    if (removed != NULL)
        *removed = count;
    if (count == 0 || !g.rekey_on_leave)
        return MCSEC_OK;
    /* A GMK the removed members may hold exists (or is being made): replace it. */
    if ((rc = gm->ops->gmk_list(gm->store, group_uri, -1, has_gmk, &any)) != MCSEC_OK ||
        !any)
        return rc;
    mcsec_groupmgr_rekey_result_t r;
    memset(&r, 0, sizeof r);
    int fd = -1;
    size_t resumed = 0;
    if ((rc = gm_rekey_lock(gm, 1, &fd)) != MCSEC_OK)
        return rc;
    /* An interrupted rekey of the group is completed first: it was never delivered to anyone,
     * and its completion leaves the removed members out, so it serves as the new GMK. */
    rc = gm_resume_locked(gm, gm->store, group_uri, NULL, 0, &r, &resumed);
    if (rc == MCSEC_OK && resumed == 0)
        rc = gm_rekey_locked(gm, gm->store, group_uri, "member-removed", NULL, 0, &r);
    gm_rekey_unlock(gm, fd);
    if (res != NULL)
        *res = r;
    return rc;
}

/* --- Listings --------------------------------------------------------------------------------- */

static int collect_group(void *user, const gm_group_row_t *g)
{
    return gm_uris_push(user, g->uri) != MCSEC_OK;
}

mcsec_status_t mcsec_groupmgr_list_groups(mcsec_groupmgr_t *gm, mcsec_groupmgr_group_fn fn,
                                          void *user)
{
    gm_uris_t uris = {0};
    gm_group_row_t g;
    mcsec_groupmgr_group_info_t info;
    gm_clear_error();
    if (gm == NULL || fn == NULL)
        return MCSEC_ERR_BAD_INPUT;
    /* The URIs first: the details of each need other queries. */
    mcsec_status_t rc = gm->ops->group_list(gm->store, collect_group, &uris);
    for (size_t i = 0; rc == MCSEC_OK && i < uris.n; i++) {
        memset(&info, 0, sizeof info);
        if ((rc = gm->ops->group_get(gm->store, uris.v[i], &g)) != MCSEC_OK ||
            (rc = gm->ops->member_count(gm->store, uris.v[i], &info.members)) != MCSEC_OK ||
            (rc = gm->ops->keyset_periods(gm->store, uris.v[i], info.key_periods, 4,
                                          &info.n_key_periods)) != MCSEC_OK)
            break;
        snprintf(info.uri, sizeof info.uri, "%s", g.uri);
        info.lifetime = g.lifetime;
        info.rekey_on_leave = g.rekey_on_leave;
        if (fn(user, &info) != 0)
            break;
    }
    gm_uris_free(&uris);
    return rc;
}

static mcsec_status_t need_group(mcsec_groupmgr_t *gm, const char *group_uri)
{
    gm_group_row_t g;
    if (gm == NULL || !gm_uri_ok(group_uri)) {
        gm_error("no group given");
        return MCSEC_ERR_BAD_INPUT;
    }
    mcsec_status_t rc = gm->ops->group_get(gm->store, group_uri, &g);
    if (rc == MCSEC_ERR_UNKNOWN_KEY)
        gm_error("no group %s: check the URI (`mcsec-groupmgr list`)", group_uri);
    return rc;
}

mcsec_status_t mcsec_groupmgr_list_members(mcsec_groupmgr_t *gm, const char *group_uri,
                                           mcsec_groupmgr_member_fn fn, void *user)
{
    gm_clear_error();
    mcsec_status_t rc = need_group(gm, group_uri);
    if (rc != MCSEC_OK)
        return rc;
    return gm->ops->member_list(gm->store, group_uri, fn, user);
}

typedef struct {
    gm_gmk_row_t *rows;
    size_t n, cap;
} rows_t;

static int collect_gmk(void *user, const gm_gmk_row_t *g)
{
    rows_t *l = user;
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 16;
        gm_gmk_row_t *r = realloc(l->rows, cap * sizeof *r);
        if (r == NULL)
            return 1;
        l->rows = r;
        l->cap = cap;
    }
    l->rows[l->n] = *g;
    memset(l->rows[l->n].sealed, 0, sizeof l->rows[l->n].sealed); /* not needed here */
    l->n++;
    return 0;
}

mcsec_status_t mcsec_groupmgr_list_gmks(mcsec_groupmgr_t *gm, const char *group_uri,
                                        mcsec_groupmgr_gmk_fn fn, void *user)
{
    rows_t l = {0};
    gm_gmk_row_t cur;
    mcsec_groupmgr_gmk_info_t info;
    gm_clear_error();
    mcsec_status_t rc = need_group(gm, group_uri);
    if (rc != MCSEC_OK)
        return rc;
    if ((rc = gm->ops->gmk_list(gm->store, group_uri, -1, collect_gmk, &l)) != MCSEC_OK)
        goto out;
    rc = gm->ops->gmk_current(gm->store, group_uri, gm_now64(), &cur);
    int64_t cur_id = rc == MCSEC_OK ? cur.id : -1;
    if (rc == MCSEC_ERR_UNKNOWN_KEY)
        rc = MCSEC_OK;
    for (size_t i = 0; rc == MCSEC_OK && i < l.n; i++) {
        size_t counts[3];
        if ((rc = gm->ops->gmk_counts(gm->store, l.rows[i].id, counts)) != MCSEC_OK)
            break;
        memset(&info, 0, sizeof info);
        snprintf(info.group_uri, sizeof info.group_uri, "%s", l.rows[i].group_uri);
        info.gmk_id = l.rows[i].gmk_id;
        info.timestamp = l.rows[i].ts;
        info.activation = l.rows[i].activation;
        info.expiry = l.rows[i].expiry;
        info.status = (mcsec_groupmgr_gmk_status_t)l.rows[i].status;
        info.current = l.rows[i].id == cur_id;
        info.pending = counts[0];
        info.sent = counts[1];
        info.acked = counts[2];
        snprintf(info.reason, sizeof info.reason, "%s", l.rows[i].reason);
        if (fn(user, &info) != 0)
            break;
    }
out:
    free(l.rows);
    mcsec_memzero(&cur, sizeof cur);
    return rc;
}

typedef struct {
    mcsec_groupmgr_delivery_fn fn;
    void *user;
} del_walk_t;

static int delivery_cb(void *user, const gm_delivery_row_t *d)
{
    del_walk_t *w = user;
    mcsec_groupmgr_delivery_t out;
    memset(&out, 0, sizeof out);
    snprintf(out.member_uri, sizeof out.member_uri, "%s", d->member_uri);
    out.gmk_id = d->gmk_id;
    out.state = (mcsec_groupmgr_delivery_state_t)d->state;
    out.attempts = d->attempts;
    return w->fn(w->user, &out);
}

mcsec_status_t mcsec_groupmgr_list_deliveries(mcsec_groupmgr_t *gm, const char *group_uri,
                                              uint32_t gmk_id, mcsec_groupmgr_delivery_fn fn,
                                              void *user)
{
    gm_gmk_row_t row;
    del_walk_t w = {fn, user};
    gm_clear_error();
    mcsec_status_t rc = need_group(gm, group_uri);
    if (rc != MCSEC_OK)
        return rc;
    if ((rc = gm->ops->gmk_get(gm->store, group_uri, gmk_id, &row)) != MCSEC_OK) {
        if (rc == MCSEC_ERR_UNKNOWN_KEY)
            gm_error("group %s has no GMK-ID %08" PRIx32, group_uri, gmk_id);
        return rc;
    }
    rc = gm->ops->delivery_list(gm->store, row.id, delivery_cb, &w);
    mcsec_memzero(&row, sizeof row);
    return rc;
}

mcsec_status_t mcsec_groupmgr_get_message(mcsec_groupmgr_t *gm, const char *group_uri,
                                          uint32_t gmk_id, const char *member_uri, uint8_t *buf,
                                          size_t cap, size_t *len)
{
    gm_gmk_row_t row;
    gm_clear_error();
    mcsec_status_t rc = need_group(gm, group_uri);
    if (rc != MCSEC_OK)
        return rc;
    if (member_uri == NULL || buf == NULL || len == NULL)
        return MCSEC_ERR_BAD_INPUT;
    if ((rc = gm->ops->gmk_get(gm->store, group_uri, gmk_id, &row)) == MCSEC_OK)
        rc = gm->ops->delivery_message(gm->store, row.id, member_uri, buf, cap, len);
    if (rc == MCSEC_ERR_UNKNOWN_KEY)
        gm_error("no message of GMK-ID %08" PRIx32 " of %s for %s", gmk_id, group_uri,
                 member_uri);
    mcsec_memzero(&row, sizeof row);
    return rc;
}
