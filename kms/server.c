/* The KMS service: a CURVE ROUTER in front of a pool of issuing workers and one committer.
 *
 *   devices --CURVE/TCP--> ROUTER (main thread: size cap, rate limit, routing)
 *                            |  inproc DEALER, round robin
 *                            v
 *                          workers (one per core, each with its own store connection):
 *                            revocation re-check, envelope decoding, authorisation, clock
 *                            check, issuance, response packed but held back
 *                            |  in-memory queue
 *                            v
 *                          committer (own connection): the audit rows of everything queued
 *                            in ONE transaction (group commit: one fsync for many
 *                            responses), then the held responses go out (inproc PUSH -> main)
 *
 * So no response leaves before its audit row is durable, while issuance never waits for the
 * disk. If the commit fails, every response of the batch that needed a row becomes an
 * MCSEC_ERR_IO refusal without keys.
 *
 * A PkmfRequest (the ProSe roles, pkmf_serve.c) takes the same path: a worker hands it to
 * kms_pkmf_handle, its audit row is committed like the others before its response leaves.
 *
 * The ZAP handler (zap.c) is bound before the ROUTER, so no CURVE client is admitted without
 * it. Main -> worker frames: routing id | header (device id 8, REQ delimiter flag 1,
 * verdict 1, unaudited count 4) | payload; committer -> main: routing id | header | response.
 * Envelopes and statuses are in docs/protocol.md ("KMS service").
 *
 * Rate-limited refusals are audited at most once a second per device: the first refusal of
 * each second gets a row saying how many were refused without one since the last row
 * (V_RATE_QUIET: answered, no row). So a flooding device costs at most (rate + 1) audit rows a
 * second, and the committer's queue cannot grow with the flood: a refusal without a row is
 * released without a write. */
#include <errno.h>
#include <inttypes.h>
#include <malloc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <zmq.h>

#include "internal.h"
#include "kms.pb-c.h"
#include "mcsec/secmem.h"

#define BACKEND "inproc://mcsec-kms-workers"
#define REPLIES "inproc://mcsec-kms-replies"
#define BATCH_MAX 512 /* audit rows per transaction */
#define GATHER_US 1000  /* group commit: how long the committer waits for more rows */
#define HARD_CAP (64 * 1024)      /* ZMQ_MAXMSGSIZE: larger frames drop the connection */
#define DEFAULT_MAX_REQUEST 16384 /* application limit, answered with BAD_LENGTH */
#define HDR_LEN 14
#define DRAIN_SECONDS 10
#define PEER_HWM 1000 /* messages queued per connection, each way */

enum { V_OK = 0, V_TOO_BIG = 1, V_RATE = 2, V_FRAMES = 3, V_RATE_QUIET = 4 };

/* A response held until its audit row is committed. */
typedef struct item {
    struct item *next;
    zmq_msg_t rid;
    uint8_t hdr[HDR_LEN];
    uint8_t *resp; /* packed KmsResponse (may hold keys): wiped when freed */
    size_t resp_len;
    int audit;     /* row must be committed first */
    mcsec_kms_audit_t row;
} item_t;

typedef struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    item_t *head, *tail;
    int stop;
} queue_t;

typedef struct {
    const mcsec_kms_t *kms;
    void *ctx;
    size_t max_request;
    queue_t *queue;
    pthread_t thread;
    int started;
} worker_t;

/* --- Worker -------------------------------------------------------------------------------- */

static void wipe_free(void *data, void *hint)
{
    mcsec_memzero(data, (size_t)(uintptr_t)hint);
    free(data);
}

typedef struct {
    mcsec_status_t status;
    char message[256];
    uint64_t request_id;
    int audit; /* row below to be committed before the response goes out */
    mcsec_kms_audit_t row;
} outcome_t;

/* Handles one request; fills the response buffers (doc, init) when keys are issued and the
 * audit row of every issuance and refusal (committed by the committer), but for the
 * rate-limited refusals the front lets go unaudited (V_RATE_QUIET); an audited rate-limit row
 * counts the unaudited ones before it. */
static void handle(const mcsec_kms_t *kms, size_t max_request, kms_store_t *s, int64_t device_id,
                   int verdict, uint32_t unaudited, const uint8_t *payload, size_t len,
                   outcome_t *o, char *doc, size_t *doc_len, char *init, size_t *init_len)
{
    mcsec_kms_device_t d;
    Mcsec__Kms__KmsRequest *req = NULL;
    const char *subject = "", *why = "", *action = "refuse";
    int64_t period = -1;
    uint64_t pn = 0;
    *doc_len = *init_len = 0;
    o->request_id = 0;
    o->message[0] = 0;

    mcsec_status_t rc = kms->ops->device_get(s, device_id, &d);
    if (rc == MCSEC_OK && d.revoked)
        rc = MCSEC_ERR_UNKNOWN_KEY;
    if (rc == MCSEC_ERR_UNKNOWN_KEY) {
        why = "this device's credential is revoked: ask the KMS operator to enrol it again";
        goto done;
    }
    if (rc != MCSEC_OK) {
        why = "the KMS store is unavailable: try again later";
        rc = MCSEC_ERR_IO;
        goto done;
    }
    subject = d.uri;
    if (verdict == V_RATE || verdict == V_RATE_QUIET) {
        rc = MCSEC_ERR_POLICY;
        why = "rate limited: too many requests from this device; retry later";
        goto done;
    }
    if (verdict == V_TOO_BIG) {
        rc = MCSEC_ERR_BAD_LENGTH;
        snprintf(o->message, sizeof o->message,
                 "request larger than %zu octets: send a KmsRequest envelope", max_request);
        goto done;
    }
    if (verdict == V_FRAMES || (req = mcsec__kms__kms_request__unpack(NULL, len, payload)) == NULL) {
        rc = MCSEC_ERR_BAD_INPUT;
        why = "malformed request: send one KmsRequest envelope (proto/kms.proto)";
        goto done;
    }
    o->request_id = req->request_id;
    if (req->version != 1) {
        rc = MCSEC_ERR_UNSUPPORTED;
        why = "unsupported envelope version: this KMS speaks version 1";
        goto done;
    }
    if (req->body_case == MCSEC__KMS__KMS_REQUEST__BODY_INIT) {
        rc = kms_doc_init(kms, d.uri, doc, MCSEC_KMS_DOC_MAX, doc_len);
        action = "init";
        why = rc == MCSEC_OK ? "" : "cannot write KmsInit";
        goto done;
    }
    if (req->body_case != MCSEC__KMS__KMS_REQUEST__BODY_KEY_PROV || req->key_prov == NULL) {
        rc = MCSEC_ERR_BAD_INPUT;
        why = "malformed request: no init or key_prov body";
        goto done;
    }
    const char *uri = req->key_prov->user_uri;
    subject = uri;
    if (!kms_uri_ok(uri)) {
        rc = MCSEC_ERR_BAD_INPUT;
        why = "user_uri is not 1-255 printable characters without spaces";
        goto done;
    }
    if ((rc = kms_authorise(&d, uri, &why)) != MCSEC_OK)
        goto done;
    uint64_t now = (uint64_t)kms_now() + MCSEC_KMS_NTP_UNIX_OFFSET;
    uint64_t at = req->key_prov->at_time ? req->key_prov->at_time : now;
    uint64_t diff = at > now ? at - now : now - at;
    if (diff > kms->info.key_period) {
        rc = MCSEC_ERR_STALE;
        snprintf(o->message, sizeof o->message,
                 "clock far off: request time is %" PRIu64 " s from the KMS clock (more than one "
                 "key period); set the device clock",
                 diff);
        goto done;
    }
    if ((rc = mcsec_key_period_no(at, kms->info.key_period, kms->info.key_offset, &pn)) !=
        MCSEC_OK) {
        why = "request time is before the first key period";
        goto done;
    }
    period = (int64_t)pn;
    if ((rc = kms_doc_keyprov(kms, uri, pn, doc, MCSEC_KMS_DOC_MAX, doc_len)) != MCSEC_OK ||
        (rc = kms_doc_init(kms, uri, init, MCSEC_KMS_DOC_MAX, init_len)) != MCSEC_OK) {
        why = "issuance failed";
        goto done;
    }
    action = "issue";
done:
    if (o->message[0] == 0)
        snprintf(o->message, sizeof o->message, "%s", why);
    o->status = rc;
    o->audit = (rc != MCSEC_OK || strcmp(action, "issue") == 0) && verdict != V_RATE_QUIET;
    if (o->audit) {
        char reason[sizeof o->row.reason];
        if (verdict == V_RATE && unaudited > 0)
            snprintf(reason, sizeof reason, "%s (%" PRIu32 " more refused since the last row)",
                     o->message, unaudited);
        else
            snprintf(reason, sizeof reason, "%s",
                     rc == MCSEC_OK ? "periods n and n+1" : o->message);
        kms_audit_row(&o->row, device_id, subject, period, action, rc, o->request_id, reason);
    }
    if (o->status != MCSEC_OK) {
        if (*doc_len)
            mcsec_memzero(doc, *doc_len);
        *doc_len = *init_len = 0;
    }
    if (req != NULL)
        mcsec__kms__kms_request__free_unpacked(req, NULL);
}

static int send_msg_data(void *sock, void *data, size_t len, size_t wipe_len, int more)
{
    zmq_msg_t m;
    if (zmq_msg_init_data(&m, data, len, wipe_free, (void *)(uintptr_t)wipe_len) != 0) {
        wipe_free(data, (void *)(uintptr_t)wipe_len);
        return -1;
    }
    if (zmq_msg_send(&m, sock, more ? ZMQ_SNDMORE : 0) < 0) {
        zmq_msg_close(&m);
        return -1;
    }
    return 0;
}

/* Packs a response; NULL when out of memory (the device then times out and retries). */
static uint8_t *pack_response(const outcome_t *o, char *doc, size_t doc_len, char *init,
                              size_t init_len, size_t *len)
{
    Mcsec__Kms__KmsResponse resp = MCSEC__KMS__KMS_RESPONSE__INIT;
    resp.version = 1;
    resp.request_id = o->request_id;
    resp.status = (int32_t)o->status;
    resp.message = (char *)o->message;
    resp.kms_xml.data = (uint8_t *)doc;
    resp.kms_xml.len = doc_len;
    resp.kms_init_xml.data = (uint8_t *)init;
    resp.kms_init_xml.len = init_len;
    size_t n = mcsec__kms__kms_response__get_packed_size(&resp);
    uint8_t *out = malloc(n > 0 ? n : 1);
    if (out != NULL)
        mcsec__kms__kms_response__pack(&resp, out);
    *len = out != NULL ? n : 0;
    return out;
}

uint8_t *kms_serve_request(const mcsec_kms_t *kms, kms_store_t *s, size_t max_request,
                           int64_t device_id, int verdict, uint32_t unaudited,
                           const uint8_t *payload, size_t len, char *doc, char *init,
                           size_t *resp_len, int *audit, mcsec_kms_audit_t *row)
{
    outcome_t o;
    size_t doc_len = 0, init_len = 0;
    uint8_t *resp = NULL; /* a PkmfRequest's response (pkmf_serve.c) */
    memset(&o, 0, sizeof o);
    int pkmf = verdict == V_OK &&
               kms_pkmf_handle(kms, s, device_id, payload, len, &resp, resp_len, &o.audit, &o.row);
    if (!pkmf) {
        handle(kms, max_request, s, device_id, verdict, unaudited, payload, len, &o, doc, &doc_len,
               init, &init_len);
        resp = pack_response(&o, doc, doc_len, init, init_len, resp_len);
    }
    mcsec_memzero(doc, doc_len);
    mcsec_memzero(init, init_len);
    *audit = o.audit;
    *row = o.row;
    return resp;
}

static void item_free(item_t *it)
{
    if (it->resp != NULL)
        wipe_free(it->resp, (void *)(uintptr_t)it->resp_len);
    zmq_msg_close(&it->rid);
    free(it);
}

typedef struct {
    const mcsec_kms_t *kms;
    void *ctx;
    queue_t *queue;
    pthread_t thread;
    int started;
} committer_t;

/* Commits the audit rows of a batch; on failure turns the responses that needed a row into
 * MCSEC_ERR_IO refusals (their keys wiped). */
static void commit_batch(committer_t *c, kms_store_t *s, item_t *batch)
{
    const kms_store_ops_t *ops = c->kms->ops;
    int need = 0;
    for (item_t *it = batch; it != NULL; it = it->next)
        need |= it->audit;
    if (!need)
        return;
    mcsec_status_t rc = s != NULL ? ops->begin(s) : MCSEC_ERR_IO;
    for (item_t *it = batch; rc == MCSEC_OK && it != NULL; it = it->next)
        if (it->audit)
            rc = ops->audit_add(s, &it->row);
    if (rc == MCSEC_OK)
        rc = ops->commit(s);
    if (rc == MCSEC_OK)
        return;
    if (s != NULL)
        ops->rollback(s);
    fprintf(stderr, "mcsec-kms serve: cannot write the audit table: %s\n",
            mcsec_kms_last_error());
    for (item_t *it = batch; it != NULL; it = it->next) {
        if (!it->audit)
            continue;
        outcome_t o = {.status = MCSEC_ERR_IO, .request_id = it->row.request_id};
        snprintf(o.message, sizeof o.message,
                 "the KMS cannot write its audit table: try again later");
        if (it->resp != NULL)
            wipe_free(it->resp, (void *)(uintptr_t)it->resp_len);
        it->resp = pack_response(&o, NULL, 0, NULL, 0, &it->resp_len);
    }
}

static void *committer_main(void *arg)
{
    committer_t *c = arg;
    kms_store_t *s = NULL;
    int linger = 0, hwm = 100000;
    void *push = zmq_socket(c->ctx, ZMQ_PUSH);
    if (push == NULL || zmq_setsockopt(push, ZMQ_LINGER, &linger, sizeof linger) != 0 ||
        zmq_setsockopt(push, ZMQ_SNDHWM, &hwm, sizeof hwm) != 0 ||
        zmq_connect(push, REPLIES) != 0) {
        if (zmq_errno() != ETERM) /* ETERM: the service stopped before the committer started */
            fprintf(stderr, "mcsec-kms serve: the committer cannot start: %s\n",
                    zmq_strerror(zmq_errno()));
        if (push != NULL)
            zmq_close(push);
        push = NULL;
    }
    if (kms_store_connect(c->kms, &s) != MCSEC_OK)
        fprintf(stderr, "mcsec-kms serve: the committer cannot open the store: %s\n",
                mcsec_kms_last_error());
    for (;;) {
        pthread_mutex_lock(&c->queue->mu);
        while (c->queue->head == NULL && !c->queue->stop)
            pthread_cond_wait(&c->queue->cv, &c->queue->mu);
        if (c->queue->head != NULL && !c->queue->stop) {
            /* Gather for up to GATHER_US more: one commit (fsync) for more responses costs less
             * CPU per response, which issuance needs; it adds at most that much latency. */
            pthread_mutex_unlock(&c->queue->mu);
            struct timespec pause = {0, GATHER_US * 1000L};
            nanosleep(&pause, NULL);
            pthread_mutex_lock(&c->queue->mu);
        }
        item_t *batch = c->queue->head, *last = batch;
        for (int k = 1; last != NULL && last->next != NULL && k < BATCH_MAX; k++)
            last = last->next;
        if (last != NULL) {
            c->queue->head = last->next;
            if (c->queue->head == NULL)
                c->queue->tail = NULL;
            last->next = NULL;
        }
        int stop = c->queue->stop && batch == NULL;
        pthread_mutex_unlock(&c->queue->mu);
        if (stop)
            break;
        commit_batch(c, s, batch);
        while (batch != NULL) {
            item_t *it = batch;
            batch = it->next;
            if (push != NULL && it->resp != NULL &&
                zmq_msg_send(&it->rid, push, ZMQ_SNDMORE) >= 0 &&
                zmq_send(push, it->hdr, HDR_LEN, ZMQ_SNDMORE) >= 0 &&
                send_msg_data(push, it->resp, it->resp_len, it->resp_len, 0) == 0)
                it->resp = NULL; /* owned by ZeroMQ now, wiped when sent */
            item_free(it);
        }
    }
    if (push != NULL)
        zmq_close(push);
    if (s != NULL)
        c->kms->ops->close(s);
    return NULL;
}

static void *worker_main(void *arg)
{
    worker_t *w = arg;
    kms_store_t *s = NULL;
    void *sock = zmq_socket(w->ctx, ZMQ_DEALER);
    char *doc = malloc(MCSEC_KMS_DOC_MAX), *init = malloc(MCSEC_KMS_DOC_MAX);
    int linger = 0;
    if (sock == NULL || doc == NULL || init == NULL ||
        zmq_setsockopt(sock, ZMQ_LINGER, &linger, sizeof linger) != 0 ||
        zmq_connect(sock, BACKEND) != 0) {
        if (zmq_errno() != ETERM) /* ETERM: the service stopped before this worker started */
            fprintf(stderr, "mcsec-kms serve: a worker cannot start: %s\n",
                    zmq_strerror(zmq_errno()));
        goto out;
    }
    if (kms_store_connect(w->kms, &s) != MCSEC_OK) {
        fprintf(stderr, "mcsec-kms serve: a worker cannot start: %s\n", mcsec_kms_last_error());
        goto out;
    }
    for (;;) {
        zmq_msg_t rid, hdr, payload;
        zmq_msg_init(&rid);
        zmq_msg_init(&hdr);
        zmq_msg_init(&payload);
        if (zmq_msg_recv(&rid, sock, 0) < 0 || !zmq_msg_more(&rid) ||
            zmq_msg_recv(&hdr, sock, 0) < 0 || !zmq_msg_more(&hdr) ||
            zmq_msg_recv(&payload, sock, 0) < 0 || zmq_msg_size(&hdr) != HDR_LEN) {
            int e = zmq_errno();
            zmq_msg_close(&rid);
            zmq_msg_close(&hdr);
            zmq_msg_close(&payload);
            if (e == ETERM)
                break;
            continue;
        }
        const uint8_t *h = zmq_msg_data(&hdr);
        int64_t device_id = 0;
        for (int i = 0; i < 8; i++)
            device_id = (int64_t)((uint64_t)device_id << 8 | h[i]);
        int audit = 0;
        mcsec_kms_audit_t row;
        size_t resp_len = 0;
        uint32_t unaudited = (uint32_t)h[10] << 24 | (uint32_t)h[11] << 16 |
                             (uint32_t)h[12] << 8 | h[13];
        uint8_t *resp = kms_serve_request(w->kms, s, w->max_request, device_id, h[9], unaudited,
                                          zmq_msg_data(&payload), zmq_msg_size(&payload), doc,
                                          init, &resp_len, &audit, &row);
        zmq_msg_close(&payload);

        item_t *it = calloc(1, sizeof *it);
        if (it == NULL) {
            if (resp != NULL)
                wipe_free(resp, (void *)(uintptr_t)resp_len);
            zmq_msg_close(&rid);
            zmq_msg_close(&hdr);
            continue; /* the device times out and retries */
        }
        it->resp = resp;
        it->resp_len = resp_len;
        zmq_msg_init(&it->rid);
        zmq_msg_move(&it->rid, &rid);
        memcpy(it->hdr, zmq_msg_data(&hdr), HDR_LEN);
        zmq_msg_close(&hdr);
        it->audit = audit;
        it->row = row;
        pthread_mutex_lock(&w->queue->mu);
        if (w->queue->tail != NULL)
            w->queue->tail->next = it;
        else
            w->queue->head = it;
        w->queue->tail = it;
        pthread_cond_signal(&w->queue->cv);
        pthread_mutex_unlock(&w->queue->mu);
    }
out:
    if (doc != NULL)
        mcsec_memzero(doc, MCSEC_KMS_DOC_MAX);
    free(doc);
    free(init);
    if (sock != NULL)
        zmq_close(sock);
    if (s != NULL)
        w->kms->ops->close(s);
    return NULL;
}

/* --- Rate limit: one token bucket per device, in the main thread ---------------------------- */

typedef struct {
    double tokens;
    double last;
    double audited_at; /* when its last rate-limited refusal was audited */
    uint32_t unaudited; /* rate-limited refusals since then, answered without a row */
} bucket_t;

typedef struct {
    bucket_t *b;
    size_t n;
    double rate, burst;
} limiter_t;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* 1 if the device may send one more request now. Device ids come from the store (dense). */
static int limiter_take(limiter_t *l, int64_t id)
{
    if (id <= 0 || id > 100000000)
        return 0;
    if ((size_t)id >= l->n) {
        size_t n = l->n ? l->n : 1024;
        while (n <= (size_t)id)
            n *= 2;
        bucket_t *nb = realloc(l->b, n * sizeof *nb);
        if (nb == NULL)
            return 0;
        memset(nb + l->n, 0, (n - l->n) * sizeof *nb);
        for (size_t i = l->n; i < n; i++)
            nb[i].tokens = -1; /* unused */
        l->b = nb;
        l->n = n;
    }
    bucket_t *b = &l->b[id];
    double t = now_s();
    if (b->tokens < 0) {
        b->tokens = l->burst;
        b->last = t;
    }
    b->tokens += (t - b->last) * l->rate;
    if (b->tokens > l->burst)
        b->tokens = l->burst;
    b->last = t;
    if (b->tokens < 1)
        return 0;
    b->tokens -= 1;
    return 1;
}

/* For a refusal of device id by the limiter: 1 if it gets an audit row (the first in a second;
 * *unaudited is then the count refused without a row since the last one), 0 if not. */
static int limiter_audit(limiter_t *l, int64_t id, uint32_t *unaudited)
{
    *unaudited = 0;
    if (id <= 0 || (size_t)id >= l->n)
        return 1; /* no bucket (unknown device, or out of memory): audit */
    bucket_t *b = &l->b[id];
    double t = now_s();
    if (b->audited_at > 0 && t - b->audited_at < 1.0) {
        if (b->unaudited < UINT32_MAX)
            b->unaudited++;
        return 0;
    }
    *unaudited = b->unaudited;
    b->unaudited = 0;
    b->audited_at = t;
    return 1;
}

/* --- Main loop ----------------------------------------------------------------------------- */

/* Reads one message from the ROUTER and forwards it to the workers. Returns 1 if forwarded. */
static int from_devices(void *frontend, void *backend, size_t max_request, limiter_t *lim)
{
    zmq_msg_t f[3];
    int n = 0, more = 1, extra = 0;
    while (more) {
        zmq_msg_t m;
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, frontend, 0) < 0) {
            zmq_msg_close(&m);
            break;
        }
        more = zmq_msg_more(&m);
        if (n < 3)
            f[n++] = m;
        else {
            extra = 1;
            zmq_msg_close(&m);
        }
    }
    if (n < 2) {
        for (int i = 0; i < n; i++)
            zmq_msg_close(&f[i]);
        return 0;
    }
    int delim = n == 3 && zmq_msg_size(&f[1]) == 0;
    zmq_msg_t *payload = &f[n - 1];
    int verdict = extra || (n == 3 && !delim) ? V_FRAMES : V_OK;
    const char *uid = zmq_msg_gets(payload, "User-Id");
    int64_t device_id = uid != NULL ? strtoll(uid, NULL, 10) : 0;
    if (verdict == V_OK && zmq_msg_size(payload) > max_request)
        verdict = V_TOO_BIG;
    uint32_t unaudited = 0;
    if (verdict == V_OK && !limiter_take(lim, device_id))
        verdict = limiter_audit(lim, device_id, &unaudited) ? V_RATE : V_RATE_QUIET;
    uint8_t hdr[HDR_LEN];
    for (int i = 0; i < 8; i++)
        hdr[i] = (uint8_t)((uint64_t)device_id >> (56 - 8 * i));
    hdr[8] = (uint8_t)delim;
    hdr[9] = (uint8_t)verdict;
    for (int i = 0; i < 4; i++)
        hdr[10 + i] = (uint8_t)(unaudited >> (24 - 8 * i));
    int ok = zmq_msg_send(&f[0], backend, ZMQ_SNDMORE) >= 0 &&
             zmq_send(backend, hdr, HDR_LEN, ZMQ_SNDMORE) >= 0;
    if (ok) {
        if (verdict == V_OK)
            ok = zmq_msg_send(payload, backend, 0) >= 0;
        else
            ok = zmq_send(backend, "", 0, 0) >= 0; /* the payload is not passed on */
    }
    for (int i = 0; i < n; i++)
        zmq_msg_close(&f[i]);
    return ok;
}

/* Forwards one held response to its device. Returns 1 if a response was consumed. */
static int to_devices(void *backend, void *frontend)
{
    zmq_msg_t rid, hdr, resp;
    zmq_msg_init(&rid);
    zmq_msg_init(&hdr);
    zmq_msg_init(&resp);
    int ok = zmq_msg_recv(&rid, backend, 0) >= 0 && zmq_msg_recv(&hdr, backend, 0) >= 0 &&
             zmq_msg_recv(&resp, backend, 0) >= 0 && zmq_msg_size(&hdr) == HDR_LEN;
    if (ok) {
        int delim = ((const uint8_t *)zmq_msg_data(&hdr))[8];
        /* A device that went away: ROUTER drops the message. */
        if (zmq_msg_send(&rid, frontend, ZMQ_SNDMORE | ZMQ_DONTWAIT) >= 0) {
            if (delim)
                (void)zmq_send(frontend, "", 0, ZMQ_SNDMORE | ZMQ_DONTWAIT);
            (void)zmq_msg_send(&resp, frontend, ZMQ_DONTWAIT);
        }
    }
    zmq_msg_close(&rid);
    zmq_msg_close(&hdr);
    zmq_msg_close(&resp);
    return ok;
}

mcsec_status_t mcsec_kms_serve(mcsec_kms_t *kms, const mcsec_kms_serve_config_t *cfg)
{
    mcsec_status_t rc = MCSEC_ERR_IO;
    void *ctx = NULL, *frontend = NULL, *backend = NULL, *replies = NULL;
    kms_zap_t *zap = NULL;
    worker_t *workers = NULL;
    queue_t queue = {.head = NULL};
    committer_t committer = {.kms = kms, .queue = &queue};
    pthread_mutex_init(&queue.mu, NULL);
    pthread_cond_init(&queue.cv, NULL);
    limiter_t lim = {NULL, 0, cfg && cfg->rate > 0 ? cfg->rate : 5,
                     cfg && cfg->burst > 0 ? cfg->burst : 10};
    unsigned nw = 0;
    kms_clear_error();
    if (kms == NULL || cfg == NULL || cfg->bind == NULL || cfg->stop == NULL) {
        kms_error("serve: no KMS, bind endpoint or stop flag given");
        return MCSEC_ERR_BAD_INPUT;
    }
    nw = cfg->workers ? cfg->workers : (unsigned)sysconf(_SC_NPROCESSORS_ONLN);
    if (nw < 1 || nw > 256)
        nw = 1;
    size_t max_request = cfg->max_request ? cfg->max_request : DEFAULT_MAX_REQUEST;
    if (max_request > HARD_CAP)
        max_request = HARD_CAP;

    if ((ctx = zmq_ctx_new()) == NULL) {
        kms_error("cannot create a ZeroMQ context");
        return MCSEC_ERR_IO;
    }
    (void)zmq_ctx_set(ctx, ZMQ_MAX_SOCKETS, 8192);
    /* 1. ZAP before any CURVE socket binds. */
    if ((rc = kms_zap_start(kms, ctx, &zap)) != MCSEC_OK)
        goto out;
    rc = MCSEC_ERR_IO;
    /* 2. Workers. */
    int linger = 0, hwm = 100000;
    if ((backend = zmq_socket(ctx, ZMQ_DEALER)) == NULL ||
        zmq_setsockopt(backend, ZMQ_LINGER, &linger, sizeof linger) != 0 ||
        zmq_setsockopt(backend, ZMQ_SNDHWM, &hwm, sizeof hwm) != 0 ||
        zmq_setsockopt(backend, ZMQ_RCVHWM, &hwm, sizeof hwm) != 0 ||
        zmq_bind(backend, BACKEND) != 0) {
        kms_error("cannot create the worker queue: %s", zmq_strerror(zmq_errno()));
        goto out;
    }
    if ((replies = zmq_socket(ctx, ZMQ_PULL)) == NULL ||
        zmq_setsockopt(replies, ZMQ_LINGER, &linger, sizeof linger) != 0 ||
        zmq_setsockopt(replies, ZMQ_RCVHWM, &hwm, sizeof hwm) != 0 ||
        zmq_bind(replies, REPLIES) != 0) {
        kms_error("cannot create the reply queue: %s", zmq_strerror(zmq_errno()));
        goto out;
    }
    committer.ctx = ctx;
    if (pthread_create(&committer.thread, NULL, committer_main, &committer) != 0) {
        kms_error("cannot start the committer thread");
        goto out;
    }
    committer.started = 1;
    if ((workers = calloc(nw, sizeof *workers)) == NULL) {
        rc = MCSEC_ERR_NOMEM;
        goto out;
    }
    for (unsigned i = 0; i < nw; i++) {
        workers[i] = (worker_t){.kms = kms, .ctx = ctx, .max_request = max_request,
                                .queue = &queue};
        if (pthread_create(&workers[i].thread, NULL, worker_main, &workers[i]) != 0) {
            kms_error("cannot start worker threads");
            goto out;
        }
        workers[i].started = 1;
    }
    /* 3. The CURVE ROUTER. Its high-water marks count per connection: a device has a few
     * requests in flight, so PEER_HWM bounds what one that sends without reading can hold
     * here (responses beyond it are dropped; requests beyond it wait in its TCP stream). */
    int one = 1, front_linger = 2000, peer_hwm = PEER_HWM;
    int64_t cap = HARD_CAP;
    if ((frontend = zmq_socket(ctx, ZMQ_ROUTER)) == NULL ||
        zmq_setsockopt(frontend, ZMQ_CURVE_SERVER, &one, sizeof one) != 0 ||
        zmq_setsockopt(frontend, ZMQ_CURVE_SECRETKEY, kms->secrets->curve_secret,
                       MCSEC_KMS_Z85_LEN) != 0 ||
        zmq_setsockopt(frontend, ZMQ_MAXMSGSIZE, &cap, sizeof cap) != 0 ||
        zmq_setsockopt(frontend, ZMQ_LINGER, &front_linger, sizeof front_linger) != 0 ||
        zmq_setsockopt(frontend, ZMQ_SNDHWM, &peer_hwm, sizeof peer_hwm) != 0 ||
        zmq_setsockopt(frontend, ZMQ_RCVHWM, &peer_hwm, sizeof peer_hwm) != 0) {
        kms_error("cannot set up the CURVE socket: %s", zmq_strerror(zmq_errno()));
        goto out;
    }
    if (zmq_bind(frontend, cfg->bind) != 0) {
        kms_error("cannot bind %s: %s (is the port in use? give tcp://HOST:PORT)", cfg->bind,
                  zmq_strerror(zmq_errno()));
        goto out;
    }
    char endpoint[256];
    size_t el = sizeof endpoint;
    if (zmq_getsockopt(frontend, ZMQ_LAST_ENDPOINT, endpoint, &el) != 0)
        snprintf(endpoint, sizeof endpoint, "%s", cfg->bind);
    if (cfg->on_ready != NULL)
        cfg->on_ready(cfg->user, endpoint);

    /* 4. Route until stopped, then drain what is in flight. */
    long inflight = 0;
    double deadline = 0;
    for (;;) {
        int stopping = *cfg->stop != 0;
        if (stopping && deadline == 0)
            deadline = now_s() + DRAIN_SECONDS;
        if (stopping && (inflight <= 0 || now_s() > deadline))
            break;
        zmq_pollitem_t items[2] = {{replies, 0, ZMQ_POLLIN, 0}, {frontend, 0, ZMQ_POLLIN, 0}};
        int r = zmq_poll(items, stopping ? 1 : 2, 100);
        if (r < 0) {
            if (zmq_errno() == EINTR)
                continue;
            kms_error("poll failed: %s", zmq_strerror(zmq_errno()));
            break;
        }
        for (int k = 0; k < 64 && (items[0].revents & ZMQ_POLLIN); k++) {
            if (to_devices(replies, frontend))
                inflight--;
            int ev = 0;
            size_t evl = sizeof ev;
            if (zmq_getsockopt(replies, ZMQ_EVENTS, &ev, &evl) != 0 || !(ev & ZMQ_POLLIN))
                break;
        }
        if (!stopping && (items[1].revents & ZMQ_POLLIN)) {
            for (int k = 0; k < 64; k++) {
                if (from_devices(frontend, backend, max_request, &lim))
                    inflight++;
                int ev = 0;
                size_t evl = sizeof ev;
                if (zmq_getsockopt(frontend, ZMQ_EVENTS, &ev, &evl) != 0 || !(ev & ZMQ_POLLIN))
                    break;
            }
        }
    }
    rc = MCSEC_OK;
out:
    if (frontend != NULL)
        zmq_close(frontend); /* lingers to flush the last responses */
    if (backend != NULL)
        zmq_close(backend);
    zmq_ctx_shutdown(ctx); /* workers and ZAP see ETERM */
    for (unsigned i = 0; workers != NULL && i < nw; i++)
        if (workers[i].started)
            pthread_join(workers[i].thread, NULL);
    pthread_mutex_lock(&queue.mu);
    queue.stop = 1; /* the committer commits what is queued, then ends */
    pthread_cond_broadcast(&queue.cv);
    pthread_mutex_unlock(&queue.mu);
    if (committer.started)
        pthread_join(committer.thread, NULL);
    while (queue.head != NULL) { /* only if the committer never started */
        item_t *it = queue.head;
        queue.head = it->next;
        item_free(it);
    }
    if (replies != NULL)
        zmq_close(replies);
    kms_zap_join(zap);
    zmq_ctx_term(ctx);
    pthread_cond_destroy(&queue.cv);
    pthread_mutex_destroy(&queue.mu);
    free(workers);
    free(lim.b);
    return rc;
}
