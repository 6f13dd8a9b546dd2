/* Group Manager helpers of the fault tests: groups whose identity keys the test keeps (to look
 * for them in the store), live handsets that record what they saw, the secrets a test may know
 * (it holds the passphrase, so it opens the store and reads the data key and CURVE secret from
 * the handle: groupmgr/internal.h), and the checks every fault ends with: one current GMK per
 * group, the history consistent, every member's message there, no acknowledged GMK lost, no
 * secret in the clear, the tables holding only the documented sealed formats. Include after
 * test.h, gm_test.h and faults.h. */
#ifndef MCSEC_GM_FAULTS_H
#define MCSEC_GM_FAULTS_H

#include "internal.h" /* groupmgr/: the handle's data key and CURVE secret, record sizes */

#define GF_MAX_GMKS 4096

/* A group whose identity key sets (two key periods) the test keeps. */
static void gf_group(mcsec_groupmgr_t *gm, const gt_kms_t *k, const char *group,
                     uint64_t lifetime, fx_secrets_t *secrets)
{
    mcsec_kms_keyset_t sets[2];
    mcsec_status_t rc = mcsec_groupmgr_group_add(gm, group, lifetime, 1);
    if (rc != MCSEC_OK)
        gt_die("group add", rc);
    gt_issue(k, group, sets);
    if ((rc = mcsec_groupmgr_group_set_keys(gm, group, &k->init, sets, 2)) != MCSEC_OK)
        gt_die("group keys", rc);
    for (int i = 0; i < 2; i++) {
        fx_secret_add(secrets, "a group identity's SSK", sets[i].ssk, sizeof sets[i].ssk);
        fx_secret_add(secrets, "a group identity's RSK", sets[i].rsk, sizeof sets[i].rsk);
    }
    mcsec_kms_keyset_wipe(sets, 2);
}

/* The secrets of an open Group Manager: its data key and CURVE secret. */
static void gf_gm_secrets(const mcsec_groupmgr_t *gm, fx_secrets_t *l)
{
    uint8_t raw[32];
    fx_secret_add_pieces(l, "the Group Manager's data key", gm->data_key, MCSEC_SEAL_KEY_LEN);
    fx_secret_add_pieces(l, "the Group Manager's CURVE secret (Z85)", gm->curve_secret,
                         MCSEC_GROUPMGR_Z85_LEN);
    if (zmq_z85_decode(raw, gm->curve_secret) != NULL)
        fx_secret_add_pieces(l, "the Group Manager's CURVE secret", raw, sizeof raw);
}

/* --- A live handset that remembers what it saw ------------------------------------------------ */

typedef struct {
    gt_handset_t h;
    mcsec_gmclient_t *c;
    struct {
        char group[256];
        uint32_t id;
        int news;    /* stored as new */
        int acked;   /* the manager answered its acknowledgement with OK */
    } g[GF_MAX_GMKS];
    size_t n;
    long refused;    /* REFUSED events */
} gf_live_t;

static size_t gf_slot(gf_live_t *l, const char *group, uint32_t id)
{
    for (size_t i = 0; i < l->n; i++)
        if (l->g[i].id == id && strcmp(l->g[i].group, group) == 0)
            return i;
    if (l->n == GF_MAX_GMKS)
        exit(2);
    snprintf(l->g[l->n].group, sizeof l->g[l->n].group, "%s", group);
    l->g[l->n].id = id;
    return l->n++;
}

static void gf_event(void *user, const mcsec_gmclient_event_t *ev)
{
    gf_live_t *l = user;
    if (ev->kind == MCSEC_GMCLIENT_GMK && ev->is_new)
        l->g[gf_slot(l, ev->group_uri, ev->gmk_id)].news++;
    else if (ev->kind == MCSEC_GMCLIENT_ACK && ev->status == MCSEC_OK && ev->gmk_id != 0)
        l->g[gf_slot(l, ev->group_uri, ev->gmk_id)].acked = 1;
    else if (ev->kind == MCSEC_GMCLIENT_REFUSED)
        l->refused++;
}

/* Polls every live handset once (up to ms each). */
static void gf_pump(gf_live_t *l, size_t n, unsigned ms)
{
    for (size_t i = 0; i < n; i++)
        if (l[i].c != NULL && mcsec_gmclient_poll(l[i].c, ms, gf_event, &l[i]) != MCSEC_OK)
            fprintf(stderr, "%s: %s\n", l[i].h.uri, mcsec_gmclient_last_error(l[i].c));
}

/* --- The store ------------------------------------------------------------------------------- */

/* The history of a group in full (gt_gmks keeps 64). */
typedef struct {
    mcsec_groupmgr_gmk_info_t *g;
    size_t n, cap;
} gf_history_t;

static int gf_history_cb(void *user, const mcsec_groupmgr_gmk_info_t *g)
{
    gf_history_t *h = user;
    if (h->n == h->cap && (h->g = realloc(h->g, (h->cap = h->cap ? 2 * h->cap : 64) *
                                                    sizeof *h->g)) == NULL)
        exit(2);
    h->g[h->n++] = *g;
    return 0;
}

static void gf_history(mcsec_groupmgr_t *gm, const char *group, gf_history_t *h)
{
    h->n = 0;
    mcsec_status_t rc = mcsec_groupmgr_list_gmks(gm, group, gf_history_cb, h);
    if (rc != MCSEC_OK)
        gt_die("list gmks", rc);
}

static const mcsec_groupmgr_gmk_info_t *gf_find(const gf_history_t *h, uint32_t id)
{
    for (size_t i = 0; i < h->n; i++)
        if (h->g[i].gmk_id == id)
            return &h->g[i];
    return NULL;
}

/* The group's current GMK as the store says (0 if none), and how many are current. */
static uint32_t gf_current(mcsec_groupmgr_t *gm, const char *group, size_t *n_current)
{
    gf_history_t h = {NULL, 0, 0};
    uint32_t id = 0;
    gf_history(gm, group, &h);
    *n_current = 0;
    for (size_t i = 0; i < h.n; i++)
        if (h.g[i].current) {
            id = h.g[i].gmk_id;
            (*n_current)++;
        }
    free(h.g);
    return id;
}

/* 1 if a GMK of the group is still building. */
static int gf_building(mcsec_groupmgr_t *gm, const char *group)
{
    gf_history_t h = {NULL, 0, 0};
    int b = 0;
    gf_history(gm, group, &h);
    for (size_t i = 0; i < h.n; i++)
        b |= h.g[i].status == MCSEC_GROUPMGR_GMK_BUILDING;
    free(h.g);
    return b;
}

/* The history of a group is consistent: exactly one current GMK, no GMK left building (when
 * settled) or failed, timestamps strictly increasing, every ACTIVE GMK with one message per
 * member (members never change in these tests). Returns the violations (printed). */
static int gf_check_history(const gf_history_t *h, const char *group, size_t members,
                            int settled)
{
    int bad = 0;
    size_t current = 0;
    for (size_t i = 0; i < h->n; i++) {
        const mcsec_groupmgr_gmk_info_t *g = &h->g[i];
        current += g->current != 0;
        if (g->status == MCSEC_GROUPMGR_GMK_FAILED ||
            (settled && g->status == MCSEC_GROUPMGR_GMK_BUILDING)) {
            fprintf(stderr, "%s: GMK %08x is %s\n", group, g->gmk_id,
                    g->status == MCSEC_GROUPMGR_GMK_FAILED ? "failed" : "still building");
            bad++;
        }
        if (g->status == MCSEC_GROUPMGR_GMK_ACTIVE && g->pending + g->sent + g->acked != members) {
            fprintf(stderr, "%s: GMK %08x has %zu messages for %zu members\n", group, g->gmk_id,
                    g->pending + g->sent + g->acked, members);
            bad++;
        }
        if (i > 0 && g->timestamp <= h->g[i - 1].timestamp) {
            fprintf(stderr, "%s: GMK %08x is not later than the one before\n", group, g->gmk_id);
            bad++;
        }
    }
    if (current != 1) {
        fprintf(stderr, "%s: %zu current GMKs\n", group, current);
        bad++;
    }
    return bad;
}

/* The tables hold only the documented sealed formats (groupmgr/gm.c, keys.c, gmk.c): meta
 * records params, kek (124 octets, "MCGK"), secrets (nonce | CURVE secret | tag), kms and
 * kmscred; every GMK sealed (nonce | 16 octets | tag); every group key set sealed (nonce | UID,
 * SSK, PVT | tag); every undelivered message a MIKEY message (version 1). Returns the
 * violations (printed). */
static int gf_check_columns(const char *db)
{
    char q[7][512];
    snprintf(q[0], sizeof q[0], "SELECT count(*) FROM meta WHERE name NOT IN ('params', 'kek', "
                                "'secrets', 'kms', 'kmscred')");
    snprintf(q[1], sizeof q[1], "SELECT count(*) FROM meta WHERE name = 'kek' AND "
                                "(length(value) != 124 OR substr(value, 1, 4) != CAST('MCGK' AS "
                                "BLOB))");
    snprintf(q[2], sizeof q[2], "SELECT count(*) FROM meta WHERE name = 'secrets' AND "
                                "length(value) != %d",
             GM_SEALED_OVERHEAD + MCSEC_GROUPMGR_Z85_LEN);
    snprintf(q[3], sizeof q[3], "SELECT count(*) FROM gmks WHERE length(sealed) != %d",
             GM_SEALED_GMK_LEN);
    snprintf(q[4], sizeof q[4], "SELECT count(*) FROM keysets WHERE length(sealed) != %d",
             GM_SEALED_OVERHEAD + MCSEC_UID_LEN + MCSEC_ECCSI_SCALAR_LEN + MCSEC_ECCSI_POINT_LEN);
    snprintf(q[5], sizeof q[5], "SELECT count(*) FROM deliveries WHERE i_message IS NOT NULL AND "
                                "substr(i_message, 1, 1) != x'01'");
    snprintf(q[6], sizeof q[6], "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name "
                                "NOT IN ('meta', 'groups', 'members', 'keysets', 'gmks', "
                                "'deliveries', 'sqlite_sequence')");
    int bad = 0;
    for (int i = 0; i < 7; i++) {
        long long n = fx_sql_int(db, q[i]);
        if (n != 0) {
            fprintf(stderr, "%s: %s -> %lld\n", db, q[i], n);
            bad++;
        }
    }
    return bad;
}

/* Adds the GMKs a handset holds to the secrets list. */
static void gf_handset_gmks(gt_handset_t *h, fx_secrets_t *l)
{
    uint32_t ids[GF_MAX_GMKS];
    size_t n = 0;
    if (mcsec_keystore_list_gmks(h->ks, ids, GF_MAX_GMKS, &n) != MCSEC_OK)
        return;
    for (size_t i = 0; i < n; i++) {
        mcsec_gmk_record_t r;
        if (mcsec_keystore_get_gmk(h->ks, ids[i], &r) == MCSEC_OK)
            fx_secret_add(l, "a GMK", r.gmk, sizeof r.gmk);
        mcsec_memzero(&r, sizeof r);
    }
}

#endif
