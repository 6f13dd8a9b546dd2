/* The background thread of `serve`: the work that takes cores for seconds runs here, so the
 * service thread keeps answering while it does.
 *
 * Each pass (every second, or at once when the service sees another process commit):
 *   - completes interrupted rekeys (GMKs still BUILDING: a crash between journal and commit),
 *     if no other process holds the rekey lock;
 *   - rekeys every group with members whose current GMK is due (gm_due_time), or whose GMKs
 *     have all expired; the first GMK of a group is made by `rekey`, never here;
 *   - gives members added since the last pass the current GMK (catch-up);
 *   - tells the service (PUSH to its notify socket) after committing anything.
 * A group whose rekey failed is retried after a minute (the error is logged once per try). */
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <zmq.h>

#include "internal.h"

#define PASS_MS 1000
#define RETRY_SECONDS 60

typedef struct {
    char uri[GM_URI_CAP];
    int64_t version; /* membership version seen; -1: never */
    double retry_at; /* monotonic; 0: no pending failure */
} seen_t;

struct gm_maint {
    mcsec_groupmgr_t *gm;
    gm_store_t *s;
    void *ctx, *push;
    char endpoint[64];
    unsigned threads;
    volatile sig_atomic_t *stop;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int wake;
    seen_t *seen;
    size_t n_seen;
};

uint64_t gm_due_time(uint64_t expiry, uint64_t lifetime)
{
    uint64_t lead = lifetime / 5 < 3600 ? lifetime / 5 : 3600;
    return expiry > (lead << 32) ? expiry - (lead << 32) : 0;
}

static void logline(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void logline(const char *fmt, ...)
{
    va_list ap;
    char line[768];
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    fprintf(stderr, "mcsec-groupmgr serve: %s\n", line);
    fflush(stderr);
}

static seen_t *seen_for(gm_maint_t *m, const char *uri)
{
    for (size_t i = 0; i < m->n_seen; i++)
        if (strcmp(m->seen[i].uri, uri) == 0)
            return &m->seen[i];
    seen_t *n = realloc(m->seen, (m->n_seen + 1) * sizeof *n);
    if (n == NULL)
        return NULL;
    m->seen = n;
    seen_t *e = &m->seen[m->n_seen++];
    memset(e, 0, sizeof *e);
    snprintf(e->uri, sizeof e->uri, "%s", uri);
    e->version = -1;
    return e;
}

static int collect(void *user, const gm_group_row_t *g)
{
    gm_group_row_t **l = user;
    size_t n = 0;
    while ((*l)[n].uri[0] != 0)
        n++;
    gm_group_row_t *r = realloc(*l, (n + 2) * sizeof *r);
    if (r == NULL)
        return 1;
    r[n] = *g;
    r[n + 1].uri[0] = 0;
    *l = r;
    return 0;
}

/* Is group g's current GMK due for replacement? */
static int due(gm_maint_t *m, const gm_group_row_t *g, uint64_t now)
{
    gm_gmk_row_t cur;
    size_t members = 0;
    if (g->last_ts == 0 || g->lifetime == 0)
        return 0; /* never had a GMK (first one by command), or GMKs never expire */
    if (g->last_ts > now)
        return 0; /* the newest GMK starts in the future (the clock stepped back): wait */
    if (m->gm->ops->member_count(m->s, g->uri, &members) != MCSEC_OK || members == 0)
        return 0;
    mcsec_status_t rc = m->gm->ops->gmk_current(m->s, g->uri, now, &cur);
    if (rc == MCSEC_ERR_UNKNOWN_KEY)
        return 1; /* every GMK expired */
    if (rc != MCSEC_OK || cur.expiry == 0)
        return 0;
    return now >= gm_due_time(cur.expiry, g->lifetime);
}

/* One pass; returns 1 if anything was committed. */
static int pass(gm_maint_t *m)
{
    mcsec_groupmgr_t *gm = m->gm;
    gm_group_row_t *groups = calloc(1, sizeof *groups);
    int changed = 0, fd = -1;
    if (groups == NULL)
        return 0;
    if (gm->ops->group_list(m->s, collect, &groups) != MCSEC_OK) {
        logline("cannot read the groups: %s", mcsec_groupmgr_last_error());
        goto out;
    }
    if (gm_rekey_lock(gm, 0, &fd) == MCSEC_OK) {
        size_t resumed = 0;
        if (gm_resume_locked(gm, m->s, NULL, NULL, m->threads, NULL, &resumed) != MCSEC_OK)
            logline("cannot complete an interrupted rekey: %s", mcsec_groupmgr_last_error());
        if (resumed > 0) {
            logline("completed %zu interrupted rekey(s)", resumed);
            changed = 1;
        }
        uint64_t now = gm_now64();
        double t = gm_mono();
        for (size_t i = 0; groups[i].uri[0] != 0 && !*m->stop; i++) {
            seen_t *e = seen_for(m, groups[i].uri);
            if (e == NULL || (e->retry_at > 0 && t < e->retry_at) || !due(m, &groups[i], now))
                continue;
            mcsec_groupmgr_rekey_result_t r;
            memset(&r, 0, sizeof r);
            mcsec_status_t rc = gm_rekey_locked(gm, m->s, groups[i].uri, "expiry", NULL,
                                                m->threads, &r);
            if (rc == MCSEC_OK) {
                e->retry_at = 0;
                changed = 1;
                logline("rekeyed %s (GMK expiring): GMK-ID %08" PRIx32 ", %zu members, %.2f s",
                        groups[i].uri, r.gmk_id, r.members, r.wall_seconds);
            } else {
                e->retry_at = t + RETRY_SECONDS;
                logline("cannot rekey %s (GMK expiring): %s; retrying in %d s", groups[i].uri,
                        mcsec_groupmgr_last_error(), RETRY_SECONDS);
            }
        }
        gm_rekey_unlock(gm, fd);
    }
    for (size_t i = 0; groups[i].uri[0] != 0 && !*m->stop; i++) {
        gm_group_row_t g;
        seen_t *e = seen_for(m, groups[i].uri);
        if (e == NULL || gm->ops->group_get(m->s, groups[i].uri, &g) != MCSEC_OK ||
            g.member_version == e->version)
            continue;
        size_t built = 0;
        mcsec_status_t rc = gm_catch_up(gm, m->s, g.uri, m->threads, &built);
        if (rc == MCSEC_OK) {
            e->version = g.member_version;
            if (built > 0) {
                changed = 1;
                logline("gave the current GMK of %s to %zu new member(s)", g.uri, built);
            }
        } else {
            logline("cannot give new members of %s the current GMK: %s", g.uri,
                    mcsec_groupmgr_last_error());
        }
    }
out:
    free(groups);
    return changed;
}

static void *maint_main(void *arg)
{
    gm_maint_t *m = arg;
    int linger = 0;
    if ((m->push = zmq_socket(m->ctx, ZMQ_PUSH)) == NULL ||
        zmq_setsockopt(m->push, ZMQ_LINGER, &linger, sizeof linger) != 0 ||
        zmq_connect(m->push, m->endpoint) != 0) {
        logline("the background thread cannot reach the service: %s", zmq_strerror(zmq_errno()));
        goto out;
    }
    while (!*m->stop) {
        if (pass(m))
            (void)zmq_send(m->push, "n", 1, ZMQ_DONTWAIT);
        pthread_mutex_lock(&m->mu);
        if (!m->wake && !*m->stop) {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_sec += PASS_MS / 1000;
            (void)pthread_cond_timedwait(&m->cv, &m->mu, &ts);
        }
        m->wake = 0;
        pthread_mutex_unlock(&m->mu);
    }
out:
    if (m->push != NULL)
        zmq_close(m->push);
    m->push = NULL;
    return NULL;
}

mcsec_status_t gm_maint_start(mcsec_groupmgr_t *gm, void *ctx, const char *notify_endpoint,
                              unsigned threads, volatile sig_atomic_t *stop, gm_maint_t **out)
{
    gm_maint_t *m = calloc(1, sizeof *m);
    *out = NULL;
    if (m == NULL)
        return MCSEC_ERR_NOMEM;
    m->gm = gm;
    m->ctx = ctx;
    m->threads = threads;
    m->stop = stop;
    snprintf(m->endpoint, sizeof m->endpoint, "%s", notify_endpoint);
    pthread_mutex_init(&m->mu, NULL);
    pthread_cond_init(&m->cv, NULL);
    mcsec_status_t rc = gm_store_connect(gm, &m->s);
    if (rc == MCSEC_OK && pthread_create(&m->thread, NULL, maint_main, m) != 0) {
        gm_error("cannot start the background thread");
        rc = MCSEC_ERR_IO;
    }
    if (rc != MCSEC_OK) {
        if (m->s != NULL)
            gm->ops->close(m->s);
        pthread_mutex_destroy(&m->mu);
        pthread_cond_destroy(&m->cv);
        free(m);
        return rc;
    }
    *out = m;
    return MCSEC_OK;
}

void gm_maint_wake(gm_maint_t *m)
{
    if (m == NULL)
        return;
    pthread_mutex_lock(&m->mu);
    m->wake = 1;
    pthread_cond_signal(&m->cv);
    pthread_mutex_unlock(&m->mu);
}

void gm_maint_join(gm_maint_t *m)
{
    if (m == NULL)
        return;
    gm_maint_wake(m);
    pthread_join(m->thread, NULL);
    m->gm->ops->close(m->s);
    pthread_mutex_destroy(&m->mu);
    pthread_cond_destroy(&m->cv);
    free(m->seen);
    free(m);
}
