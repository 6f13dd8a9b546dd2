/* The fan-out pool: one GMK, one I_MESSAGE per member, built by one thread per online core.
 *
 * Every worker shares the one SAKKE sender (fixed-base tables of P and Z, read only) and the
 * group identity's ECCSI signer; both are thread safe. Members are taken in chunks of 8 from
 * an atomic counter, so cores stay busy to the end whatever the scheduling; each worker builds
 * into its own buffer and keeps an exact-size copy. A failure stops every worker at its next
 * chunk. Costs per member: UID of the member, GUK-ID, one SAKKE encapsulation ([r b]P + [r]Z
 * from the fixed-base tables, g^r), key parameters, one ECCSI signature. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"
#include "mcsec/secmem.h"

#define CHUNK 8

typedef struct {
    gm_fanout_t *job;
    atomic_size_t next;
    atomic_int failed;
    mcsec_status_t status;
    size_t failed_at;
    pthread_mutex_t mu;
} pool_t;

unsigned gm_cores(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 && n < 1024 ? (unsigned)n : 1;
}

static void *worker(void *arg)
{
    pool_t *p = arg;
    gm_fanout_t *j = p->job;
    uint8_t *buf = malloc(GM_MSG_CAP);
    if (buf == NULL) {
        pthread_mutex_lock(&p->mu);
        if (!atomic_load(&p->failed)) {
            p->status = MCSEC_ERR_NOMEM;
            p->failed_at = 0;
        }
        atomic_store(&p->failed, 1);
        pthread_mutex_unlock(&p->mu);
        return NULL;
    }
    while (!atomic_load(&p->failed)) {
        size_t start = atomic_fetch_add(&p->next, CHUNK);
        if (start >= j->n)
            break;
        size_t end = start + CHUNK < j->n ? start + CHUNK : j->n;
        for (size_t i = start; i < end; i++) {
            size_t len = 0;
            mcsec_status_t rc = mcsec_gmk_build(j->tx, j->members[i], j->gmk, j->gmk_id, j->kp,
                                                j->ts, buf, GM_MSG_CAP, &len);
            uint8_t *copy = rc == MCSEC_OK ? malloc(len) : NULL;
            if (rc == MCSEC_OK && copy == NULL)
                rc = MCSEC_ERR_NOMEM;
            if (rc != MCSEC_OK) {
                pthread_mutex_lock(&p->mu);
                if (!atomic_load(&p->failed)) {
                    p->status = rc;
                    p->failed_at = i;
                }
                atomic_store(&p->failed, 1);
                pthread_mutex_unlock(&p->mu);
                break;
            }
            memcpy(copy, buf, len);
            j->msgs[i] = copy;
            j->lens[i] = len;
        }
    }
    free(buf);
    return NULL;
}

void gm_fanout_free(gm_fanout_t *job)
{
    for (size_t i = 0; job->msgs != NULL && i < job->n; i++) {
        free(job->msgs[i]);
        job->msgs[i] = NULL;
    }
}

mcsec_status_t gm_fanout(gm_fanout_t *job, unsigned threads)
{
    pool_t p;
    memset(&p, 0, sizeof p);
    p.job = job;
    atomic_init(&p.next, 0);
    atomic_init(&p.failed, 0);
    pthread_mutex_init(&p.mu, NULL);
    for (size_t i = 0; i < job->n; i++) {
        job->msgs[i] = NULL;
        job->lens[i] = 0;
    }
    if (threads == 0)
        threads = gm_cores();
    size_t useful = (job->n + CHUNK - 1) / CHUNK;
    if (threads > useful)
        threads = useful > 0 ? (unsigned)useful : 1;
    pthread_t *t = calloc(threads, sizeof *t);
    unsigned started = 0;
    if (t != NULL)
        for (; started + 1 < threads; started++)
            if (pthread_create(&t[started], NULL, worker, &p) != 0)
                break;
    worker(&p); /* the calling thread works too */
    for (unsigned i = 0; i < started; i++)
        pthread_join(t[i], NULL);
    free(t);
    pthread_mutex_destroy(&p.mu);
    if (atomic_load(&p.failed)) {
        gm_error("cannot build the GMK message for %s: %s", job->members[p.failed_at],
                 mcsec_strerror(p.status));
        gm_fanout_free(job);
        return p.status;
    }
    return MCSEC_OK;
}
