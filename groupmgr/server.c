/* The Group Manager service: a CURVE ROUTER, sessions, pushes, acknowledgements.
 *
 *   members --CURVE/TCP--> ROUTER (this thread: envelopes, registration, acks, pushes)
 *                            ^  PULL "new messages committed"
 *                            |
 *                          background thread (maint.c): interrupted rekeys, expiry rekeys,
 *                            catch-up; the fan-out pool it runs uses every core
 *
 * The ZAP handler (zap.c) is bound before the ROUTER, so every message carries the CURVE key
 * of its connection. A session is one connection (ROUTER routing id) bound, by a verified
 * registration, to one member and the groups it asked for; its CURVE key must match on every
 * later message. Deliveries go to registered sessions only: the backlog (every message not yet
 * acknowledged, oldest first) right after the registration answer, and new messages as soon as
 * they are committed (by the background thread or by another process: PRAGMA data_version is
 * polled). A message is marked SENT when handed to ZeroMQ and ACKED on a valid proof; anything
 * not acknowledged is sent again on the next registration. Refusals get a status answer and a
 * log line on stderr (at most 20 a second). */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zmq.h>

#include "groupmgr.pb-c.h"
#include "internal.h"
#include "mcsec/secmem.h"

#define NOTIFY_ENDPOINT "inproc://mcsec-groupmgr-notify"
#define HARD_CAP (64 * 1024) /* ZMQ_MAXMSGSIZE: larger frames drop the connection */
#define MAX_SESSIONS 65536
#define BUCKETS 4096
#define RID_MAX 255
#define POLL_MS 200
#if defined(MCSEC_FUZZ_MEMO)
/* Fuzz builds only: fuzz_gm_request makes a server per input, and a 4,096-entry cache cost
 * more than the input; 64 entries (8 sets) also put the eviction path under the fuzzer. */
#define VERIFIER_CACHE 64
#else
#define VERIFIER_CACHE 4096
#endif

typedef struct session {
    struct session *next_rid, *next_member;
    uint8_t rid[RID_MAX];
    size_t rid_len;
    char key[MCSEC_GROUPMGR_Z85_LEN + 1];
    int registered;
    int delim; /* the peer sends an empty delimiter frame (REQ-style) */
    gm_reg_t reg;
} session_t;

typedef struct gm_srv {
    mcsec_groupmgr_t *gm;
    void *front;
    size_t max_message;
    uint64_t window;
    mcsec_eccsi_verifier_t *verifier;
    session_t *by_rid[BUCKETS], *by_member[BUCKETS];
    size_t n_sessions;
    int64_t hwm; /* highest delivery row id looked at for pushes */
    /* Bookkeeping of one loop iteration, committed in one transaction (one fsync, however many
     * members register or acknowledge at once); ack answers are sent after that commit. */
    int64_t *sent;
    size_t n_sent, cap_sent;
    struct pending_ack {
        uint8_t rid[RID_MAX];
        size_t rid_len;
        int64_t id;
        uint32_t gmk_id;
        char group[GM_URI_CAP];
    } *acks;
    size_t n_acks, cap_acks;
    struct pending_seen {
        char member[GM_URI_CAP];
        char address[GM_URI_CAP];
    } *seen;
    size_t n_seen, cap_seen;
    /* log rate limit */
    double log_tokens, log_last;
    unsigned long suppressed;
} srv_t;

/* --- Logging ------------------------------------------------------------------------------ */

static void slog(srv_t *v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void slog(srv_t *v, const char *fmt, ...)
{
    double t = gm_mono();
    v->log_tokens += (t - v->log_last) * 20;
    if (v->log_tokens > 100)
        v->log_tokens = 100;
    v->log_last = t;
    if (v->log_tokens < 1) {
        v->suppressed++;
        return;
    }
    v->log_tokens -= 1;
    if (v->suppressed > 0) {
        fprintf(stderr, "mcsec-groupmgr serve: %lu log lines suppressed\n", v->suppressed);
        v->suppressed = 0;
    }
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    for (char *c = line; *c; c++) /* one printable ASCII line, whatever a peer sent */
        if ((unsigned char)*c < ' ' || (unsigned char)*c > 0x7e)
            *c = '?';
    fprintf(stderr, "mcsec-groupmgr serve: %s\n", line);
    fflush(stderr);
}

/* --- Sessions ----------------------------------------------------------------------------- */

static unsigned hash(const void *p, size_t n)
{
    const uint8_t *b = p;
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 16777619u;
    return h % BUCKETS;
}

static session_t *session_find(srv_t *v, const uint8_t *rid, size_t len)
{
    for (session_t *s = v->by_rid[hash(rid, len)]; s != NULL; s = s->next_rid)
        if (s->rid_len == len && memcmp(s->rid, rid, len) == 0)
            return s;
    return NULL;
}

static void member_unlink(srv_t *v, session_t *s)
{
    if (!s->registered)
        return;
    session_t **pp = &v->by_member[hash(s->reg.member, strlen(s->reg.member))];
    for (; *pp != NULL; pp = &(*pp)->next_member)
        if (*pp == s) {
            *pp = s->next_member;
            break;
        }
    s->registered = 0;
    gm_reg_free(&s->reg);
}

static void session_drop(srv_t *v, session_t *s)
{
    member_unlink(v, s);
    session_t **pp = &v->by_rid[hash(s->rid, s->rid_len)];
    for (; *pp != NULL; pp = &(*pp)->next_rid)
        if (*pp == s) {
            *pp = s->next_rid;
            break;
        }
    free(s);
    v->n_sessions--;
}

static void sessions_free(srv_t *v)
{
    for (unsigned b = 0; b < BUCKETS; b++)
        while (v->by_rid[b] != NULL)
            session_drop(v, v->by_rid[b]);
}

static int registered_for(const session_t *s, const char *group)
{
    for (size_t i = 0; i < s->reg.n_groups; i++)
        if (strcmp(s->reg.groups[i], group) == 0)
            return 1;
    return 0;
}

/* --- Sending ------------------------------------------------------------------------------ */

/* Sends one envelope to a session. 0 sent; -1 not sent; -2 not sent and the session dropped
 * (its peer is gone: s is freed, the caller must not touch it again). */
static int send_to(srv_t *v, session_t *s, Mcsec__Groupmgr__GroupMgrMessage *m)
{
    m->version = 1;
    size_t n = mcsec__groupmgr__group_mgr_message__get_packed_size(m);
    uint8_t *buf = malloc(n ? n : 1);
    if (buf == NULL)
        return -1;
    mcsec__groupmgr__group_mgr_message__pack(m, buf);
    int ok = zmq_send(v->front, s->rid, s->rid_len, ZMQ_SNDMORE | ZMQ_DONTWAIT) >= 0;
    if (ok && s->delim)
        ok = zmq_send(v->front, "", 0, ZMQ_SNDMORE | ZMQ_DONTWAIT) >= 0;
    if (ok)
        ok = zmq_send(v->front, buf, n, ZMQ_DONTWAIT) >= 0;
    int e = zmq_errno();
    free(buf);
    if (!ok && e == EHOSTUNREACH) {
        session_drop(v, s);
        return -2;
    }
    return ok ? 0 : -1;
}

static int send_status(srv_t *v, session_t *s, mcsec_status_t st, const char *msg,
                       const char *group, uint32_t gmk_id)
{
    Mcsec__Groupmgr__Status r = MCSEC__GROUPMGR__STATUS__INIT;
    Mcsec__Groupmgr__GroupMgrMessage m = MCSEC__GROUPMGR__GROUP_MGR_MESSAGE__INIT;
    r.status = (int32_t)st;
    r.message = (char *)msg;
    r.group_uri = (char *)(group != NULL ? group : "");
    r.gmk_id = gmk_id;
    m.body_case = MCSEC__GROUPMGR__GROUP_MGR_MESSAGE__BODY_STATUS;
    m.status = &r;
    return send_to(v, s, &m);
}

static int send_delivery(srv_t *v, session_t *s, const gm_delivery_row_t *d)
{
    Mcsec__Groupmgr__GmkDelivery r = MCSEC__GROUPMGR__GMK_DELIVERY__INIT;
    Mcsec__Groupmgr__GroupMgrMessage m = MCSEC__GROUPMGR__GROUP_MGR_MESSAGE__INIT;
    r.group_uri = (char *)d->group_uri;
    r.gmk_id = d->gmk_id;
    r.i_message.data = (uint8_t *)d->msg;
    r.i_message.len = d->msg_len;
    r.timestamp = d->ts;
    m.body_case = MCSEC__GROUPMGR__GROUP_MGR_MESSAGE__BODY_DELIVERY;
    m.delivery = &r;
    return send_to(v, s, &m);
}

/* --- Deliveries ----------------------------------------------------------------------------- */

/* Copies of delivery rows (the store's view is valid in its callback only). */
typedef struct {
    gm_delivery_row_t *rows;
    uint8_t **msgs;
    size_t n, cap;
    srv_t *v;      /* push: only members with a session */
    int64_t max_id;
} batch_t;

static void batch_free(batch_t *b)
{
    for (size_t i = 0; i < b->n; i++)
        free(b->msgs[i]);
    free(b->rows);
    free(b->msgs);
    memset(b, 0, sizeof *b);
}

static session_t *first_session(srv_t *v, const char *member)
{
    for (session_t *s = v->by_member[hash(member, strlen(member))]; s != NULL; s = s->next_member)
        if (strcmp(s->reg.member, member) == 0)
            return s;
    return NULL;
}

static int batch_add(void *user, const gm_delivery_row_t *d)
{
    batch_t *b = user;
    if (d->id > b->max_id)
        b->max_id = d->id;
    if (d->msg == NULL || (b->v != NULL && first_session(b->v, d->member_uri) == NULL))
        return 0;
    if (b->n == b->cap) {
        size_t cap = b->cap ? 2 * b->cap : 16;
        gm_delivery_row_t *r = realloc(b->rows, cap * sizeof *r);
        if (r == NULL)
            return 1;
        b->rows = r;
        uint8_t **m = realloc(b->msgs, cap * sizeof *m);
        if (m == NULL)
            return 1;
        b->msgs = m;
        b->cap = cap;
    }
    uint8_t *copy = malloc(d->msg_len);
    if (copy == NULL)
        return 1;
    memcpy(copy, d->msg, d->msg_len);
    b->rows[b->n] = *d;
    b->rows[b->n].msg = copy;
    b->msgs[b->n] = copy;
    b->n++;
    return 0;
}

/* Grows a batch array to hold one more element. 0 on success. */
static int grow(void **arr, size_t *cap, size_t n, size_t elem)
{
    if (n < *cap)
        return 0;
    size_t c = *cap ? 2 * *cap : 64;
    void *a = realloc(*arr, c * elem);
    if (a == NULL)
        return -1;
    *arr = a;
    *cap = c;
    return 0;
}

static void note_sent(srv_t *v, int64_t id)
{
    if (grow((void **)&v->sent, &v->cap_sent, v->n_sent, sizeof *v->sent) == 0)
        v->sent[v->n_sent++] = id; /* else: stays PENDING, sent again on registration */
}

/* Commits the iteration's bookkeeping, then answers the acknowledgements it held back. */
static void flush(srv_t *v)
{
    mcsec_groupmgr_t *gm = v->gm;
    if (v->n_sent + v->n_acks + v->n_seen == 0)
        return;
    mcsec_status_t rc = gm->ops->begin(gm->store);
    for (size_t i = 0; rc == MCSEC_OK && i < v->n_seen; i++)
        rc = gm->ops->member_seen(gm->store, v->seen[i].member, v->seen[i].address);
    for (size_t i = 0; rc == MCSEC_OK && i < v->n_sent; i++)
        rc = gm->ops->delivery_sent(gm->store, v->sent[i]);
    for (size_t i = 0; rc == MCSEC_OK && i < v->n_acks; i++)
        rc = gm->ops->delivery_acked(gm->store, v->acks[i].id);
    if (rc == MCSEC_OK)
        rc = gm->ops->commit(gm->store);
    if (rc != MCSEC_OK) {
        gm->ops->rollback(gm->store);
        slog(v, "cannot record deliveries and acknowledgements: %s", mcsec_groupmgr_last_error());
    }
    for (size_t i = 0; i < v->n_acks; i++) {
        struct pending_ack *a = &v->acks[i];
        session_t *s = session_find(v, a->rid, a->rid_len);
        if (s == NULL)
            continue; /* gone: it will register again and re-send its ack */
        (void)send_status(v, s, rc,
                          rc == MCSEC_OK ? "" : "the Group Manager cannot record the "
                                                "acknowledgement now: acknowledge again",
                          a->group, a->gmk_id);
    }
    v->n_sent = v->n_acks = v->n_seen = 0;
}

/* Pushes messages committed since the last look to the members that are connected. */
static void push_new(srv_t *v)
{
    batch_t b;
    memset(&b, 0, sizeof b);
    b.v = v;
    b.max_id = v->hwm;
    if (v->gm->ops->delivery_after(v->gm->store, v->hwm, batch_add, &b) != MCSEC_OK) {
        slog(v, "cannot read new messages: %s", mcsec_groupmgr_last_error());
        batch_free(&b);
        return;
    }
    v->hwm = b.max_id;
    for (size_t i = 0; i < b.n; i++) {
        const gm_delivery_row_t *d = &b.rows[i];
        int any = 0;
        session_t *s = first_session(v, d->member_uri), *next;
        for (; s != NULL; s = next) {
            next = s->next_member;
            if (strcmp(s->reg.member, d->member_uri) != 0 || !registered_for(s, d->group_uri))
                continue;
            if (send_delivery(v, s, d) == 0)
                any = 1;
        }
        if (any)
            note_sent(v, d->id);
    }
    batch_free(&b);
    flush(v);
}

static int cmp_ts(const void *a, const void *b)
{
    const gm_delivery_row_t *x = a, *y = b;
    return x->ts < y->ts ? -1 : x->ts > y->ts ? 1 : (x->id > y->id) - (x->id < y->id);
}

/* --- Requests ------------------------------------------------------------------------------ */

static int answer_register(srv_t *v, session_t *s, mcsec_status_t st, const char *msg,
                           unsigned backlog)
{
    Mcsec__Groupmgr__RegisterResponse r = MCSEC__GROUPMGR__REGISTER_RESPONSE__INIT;
    Mcsec__Groupmgr__GroupMgrMessage m = MCSEC__GROUPMGR__GROUP_MGR_MESSAGE__INIT;
    r.status = (int32_t)st;
    r.message = (char *)msg;
    if (st == MCSEC_OK) {
        r.n_groups = s->reg.n_groups;
        r.groups = s->reg.groups;
        r.backlog = backlog;
    }
    m.body_case = MCSEC__GROUPMGR__GROUP_MGR_MESSAGE__BODY_REGISTER_RESPONSE;
    m.register_response = &r;
    return send_to(v, s, &m);
}

static void on_register(srv_t *v, session_t *s, const Mcsec__Groupmgr__Register *r)
{
    mcsec_groupmgr_t *gm = v->gm;
    gm_reg_t reg;
    char why[512];
    uint8_t key[32];
    batch_t b;
    memset(&b, 0, sizeof b);
    memset(&reg, 0, sizeof reg);
    if (zmq_z85_decode(key, s->key) == NULL) {
        (void)answer_register(v, s, MCSEC_ERR_POLICY, "CURVE required", 0);
        return;
    }
    mcsec_status_t rc = gm_check_register(gm, gm->store, v->verifier, r->member_uri, r->group_uris,
                                          r->n_group_uris, r->time, r->signature.data,
                                          r->signature.len, key, gm_now64(), v->window, &reg,
                                          why, sizeof why);
    if (rc == MCSEC_OK && s->registered && strcmp(s->reg.member, reg.member) != 0) {
        snprintf(why, sizeof why, "this connection is registered as %s already: reconnect to "
                                  "register as another member",
                 s->reg.member);
        rc = MCSEC_ERR_POLICY;
    }
    if (rc != MCSEC_OK) {
        slog(v, "refused the registration of %s (key %s): %s", r->member_uri, s->key, why);
        (void)answer_register(v, s, rc, why, 0);
        gm_reg_free(&reg);
        return;
    }
    /* Bind the connection to the member. Its earlier connections with the same CURVE key are
     * the same client, reconnected: those sessions are dead (their pushes would fail), so they
     * go now rather than at the member's next push. */
    member_unlink(v, s);
    for (session_t *o = first_session(v, reg.member), *next; o != NULL; o = next) {
        next = o->next_member;
        if (o != s && strcmp(o->reg.member, reg.member) == 0 && strcmp(o->key, s->key) == 0)
            session_drop(v, o);
    }
    s->reg = reg;
    s->registered = 1;
    unsigned hb = hash(reg.member, strlen(reg.member));
    s->next_member = v->by_member[hb];
    v->by_member[hb] = s;
    if (grow((void **)&v->seen, &v->cap_seen, v->n_seen, sizeof *v->seen) == 0) {
        snprintf(v->seen[v->n_seen].member, GM_URI_CAP, "%s", reg.member);
        snprintf(v->seen[v->n_seen].address, GM_URI_CAP, "%s",
                 r->address != NULL ? r->address : "");
        v->n_seen++;
    }
    /* Everything not acknowledged yet, oldest first. */
    for (size_t i = 0; i < s->reg.n_groups; i++)
        if ((rc = gm->ops->delivery_backlog(gm->store, s->reg.groups[i], s->reg.member,
                                            batch_add, &b)) != MCSEC_OK) {
            slog(v, "cannot read the backlog of %s: %s", s->reg.member,
                 mcsec_groupmgr_last_error());
            break;
        }
    if (b.n > 1)
        qsort(b.rows, b.n, sizeof *b.rows, cmp_ts);
    int sr = answer_register(v, s, MCSEC_OK, "", (unsigned)b.n);
    for (size_t i = 0; sr != -2 && i < b.n; i++) {
        sr = send_delivery(v, s, &b.rows[i]); /* -2: the peer is gone, s freed */
        if (sr == 0)
            note_sent(v, b.rows[i].id);
    }
    batch_free(&b);
}

static void on_ack(srv_t *v, session_t *s, const Mcsec__Groupmgr__GmkAck *a)
{
    char why[512];
    int64_t id = 0;
    const char *group = a->group_uri != NULL ? a->group_uri : "";
    if (!s->registered) {
        slog(v, "refused an acknowledgement on an unregistered connection (key %s)", s->key);
        send_status(v, s, MCSEC_ERR_POLICY,
                    "this connection is not registered: register before acknowledging", group,
                    a->gmk_id);
        return;
    }
    if (a->member_uri != NULL && a->member_uri[0] != 0 &&
        strcmp(a->member_uri, s->reg.member) != 0) {
        slog(v, "refused an acknowledgement for %s on the connection of %s", a->member_uri,
             s->reg.member);
        send_status(v, s, MCSEC_ERR_POLICY,
                    "this connection is registered for another member: acknowledge only your "
                    "own GMKs",
                    group, a->gmk_id);
        return;
    }
    if (a->status != 0) {
        slog(v, "%s could not open GMK-ID %08" PRIx32 " of %s: %s", s->reg.member, a->gmk_id,
             group, mcsec_strerror((mcsec_status_t)a->status));
        send_status(v, s, MCSEC_OK, "noted: the message stays unacknowledged", group, a->gmk_id);
        return;
    }
    mcsec_status_t rc = gm_check_ack(v->gm, v->gm->store, &s->reg, group, a->gmk_id,
                                     a->proof.data, a->proof.len, &id, why, sizeof why);
    if (rc == MCSEC_OK &&
        grow((void **)&v->acks, &v->cap_acks, v->n_acks, sizeof *v->acks) != 0) {
        rc = MCSEC_ERR_NOMEM;
        snprintf(why, sizeof why, "the Group Manager is out of memory: acknowledge again");
    }
    if (rc != MCSEC_OK) {
        slog(v, "refused an acknowledgement from %s for GMK-ID %08" PRIx32 " of %s: %s",
             s->reg.member, a->gmk_id, group, why);
        send_status(v, s, rc, why, group, a->gmk_id);
        return;
    }
    /* Recorded and answered at the end of this iteration (flush). */
    struct pending_ack *p = &v->acks[v->n_acks++];
    memcpy(p->rid, s->rid, s->rid_len);
    p->rid_len = s->rid_len;
    p->id = id;
    p->gmk_id = a->gmk_id;
    snprintf(p->group, sizeof p->group, "%s", group);
}

void gm_srv_message(gm_srv_t *v, const uint8_t *rid, size_t rid_len, const char *key, int delim,
                    int multipart, const uint8_t *payload, size_t len)
{
    if (rid_len == 0 || rid_len > RID_MAX || key == NULL || strlen(key) != MCSEC_GROUPMGR_Z85_LEN)
        return; /* cannot happen behind the ROUTER and the ZAP handler */
    session_t *s = session_find(v, rid, rid_len);
    if (s != NULL && strcmp(s->key, key) != 0) {
        /* Another CURVE key behind a known routing id: never the same session. */
        slog(v, "a connection reused the routing id of %s's session with another key",
             s->registered ? s->reg.member : "an unregistered");
        session_drop(v, s);
        s = NULL;
    }
    if (s == NULL) {
        if (v->n_sessions >= MAX_SESSIONS) {
            slog(v, "%zu connections are registered already: a message from key %s dropped",
                 v->n_sessions, key);
            return;
        }
        if ((s = calloc(1, sizeof *s)) == NULL)
            return;
        memcpy(s->rid, rid, rid_len);
        s->rid_len = rid_len;
        snprintf(s->key, sizeof s->key, "%s", key);
        unsigned h = hash(rid, rid_len);
        s->next_rid = v->by_rid[h];
        v->by_rid[h] = s;
        v->n_sessions++;
    }
    s->delim = delim;
    if (multipart) {
        slog(v, "refused a multi-part message (key %s)", key);
        send_status(v, s, MCSEC_ERR_BAD_INPUT,
                    "send one GroupMgrMessage per ZeroMQ message (proto/groupmgr.proto)", NULL, 0);
        goto out;
    }
    if (len > v->max_message) {
        slog(v, "refused a %zu-octet message (key %s): more than %zu", len, key, v->max_message);
        char why[128];
        snprintf(why, sizeof why, "message larger than %zu octets: send a GroupMgrMessage",
                 v->max_message);
        send_status(v, s, MCSEC_ERR_BAD_LENGTH, why, NULL, 0);
        goto out;
    }
    Mcsec__Groupmgr__GroupMgrMessage *m =
        mcsec__groupmgr__group_mgr_message__unpack(NULL, len, payload);
    if (m == NULL) {
        slog(v, "refused a malformed envelope (%zu octets, key %s)", len, key);
        send_status(v, s, MCSEC_ERR_BAD_INPUT,
                    "malformed envelope: send a GroupMgrMessage (proto/groupmgr.proto)", NULL, 0);
        goto out;
    }
    if (m->version != 1) {
        slog(v, "refused envelope version %u (key %s)", m->version, key);
        send_status(v, s, MCSEC_ERR_UNSUPPORTED, "unsupported envelope version: this Group "
                                                 "Manager speaks version 1",
                    NULL, 0);
    } else if (m->body_case == MCSEC__GROUPMGR__GROUP_MGR_MESSAGE__BODY_REGISTER &&
               m->register_ != NULL) {
        on_register(v, s, m->register_);
    } else if (m->body_case == MCSEC__GROUPMGR__GROUP_MGR_MESSAGE__BODY_ACK && m->ack != NULL) {
        on_ack(v, s, m->ack);
    } else {
        slog(v, "refused an unexpected message (body %d, key %s)", (int)m->body_case, key);
        send_status(v, s, MCSEC_ERR_BAD_INPUT,
                    "unexpected message: members send Register or GmkAck", NULL, 0);
    }
    mcsec__groupmgr__group_mgr_message__free_unpacked(m, NULL);
out:
    /* A connection that is not registered keeps nothing here (it must register before anything
     * else is accepted from it): forgetting it at once bounds the table by the registered
     * connections, whatever unauthenticated peers send. Looked up again: answering may have
     * dropped the session already (its peer gone). */
    s = session_find(v, rid, rid_len);
    if (s != NULL && !s->registered)
        session_drop(v, s);
}

/* Reads one message from the ROUTER and handles it. */
static void from_members(srv_t *v)
{
    zmq_msg_t f[3];
    int n = 0, more = 1, extra = 0;
    while (more) {
        zmq_msg_t m;
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, v->front, ZMQ_DONTWAIT) < 0) {
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
    if (n >= 2) {
        int delim = n == 3 && zmq_msg_size(&f[1]) == 0;
        gm_srv_message(v, zmq_msg_data(&f[0]), zmq_msg_size(&f[0]),
                       zmq_msg_gets(&f[n - 1], "User-Id"), delim, extra || (n == 3 && !delim),
                       zmq_msg_data(&f[n - 1]), zmq_msg_size(&f[n - 1]));
    }
    for (int i = 0; i < n; i++)
        zmq_msg_close(&f[i]);
}

mcsec_status_t gm_srv_new(mcsec_groupmgr_t *gm, size_t max_message, uint64_t window, void *front,
                          gm_srv_t **out)
{
    gm_kms_t k;
    mcsec_status_t rc;
    srv_t *v = NULL;
    *out = NULL;
    if ((rc = gm_kms_get(gm, &k)) != MCSEC_OK)
        return rc;
    if ((v = calloc(1, sizeof *v)) == NULL)
        return MCSEC_ERR_NOMEM;
    v->gm = gm;
    v->front = front;
    v->max_message = max_message ? max_message : MCSEC_GROUPMGR_MAX_MESSAGE;
    if (v->max_message > HARD_CAP)
        v->max_message = HARD_CAP;
    v->window = window ? window : MCSEC_PROFILE_WINDOW_DEFAULT;
    v->log_tokens = 100;
    v->log_last = gm_mono();
    if ((rc = mcsec_eccsi_verifier_new(&v->verifier, k.kpak, VERIFIER_CACHE)) != MCSEC_OK) {
        gm_error("the KMS public key KPAK does not work (%s): re-import the KMS certificate",
                 mcsec_strerror(rc));
        free(v);
        return rc;
    }
    *out = v;
    return MCSEC_OK;
}

void gm_srv_flush(gm_srv_t *v)
{
    flush(v);
}

void gm_srv_free(gm_srv_t *v)
{
    if (v == NULL)
        return;
    free(v->sent);
    free(v->acks);
    free(v->seen);
    sessions_free(v);
    mcsec_eccsi_verifier_free(v->verifier);
    free(v);
}

/* --- The loop ------------------------------------------------------------------------------- */

mcsec_status_t mcsec_groupmgr_serve(mcsec_groupmgr_t *gm, const mcsec_groupmgr_serve_config_t *cfg)
{
    mcsec_status_t rc = MCSEC_ERR_IO;
    void *ctx = NULL, *pull = NULL;
    gm_zap_t *zap = NULL;
    gm_maint_t *maint = NULL;
    volatile sig_atomic_t quit = 0;
    srv_t *v = NULL;
    gm_clear_error();
    if (gm == NULL || cfg == NULL || cfg->bind == NULL || cfg->stop == NULL) {
        gm_error("serve: no Group Manager, bind endpoint or stop flag given");
        return MCSEC_ERR_BAD_INPUT;
    }
    if ((rc = gm_srv_new(gm, cfg->max_message, cfg->window, NULL, &v)) != MCSEC_OK)
        return rc;
    rc = MCSEC_ERR_IO;
    if ((ctx = zmq_ctx_new()) == NULL) {
        gm_error("cannot create a ZeroMQ context");
        goto out;
    }
    (void)zmq_ctx_set(ctx, ZMQ_MAX_SOCKETS, 8192);
    if ((rc = gm_zap_start(ctx, &zap)) != MCSEC_OK)
        goto out;
    rc = MCSEC_ERR_IO;
    int linger = 0, one = 1, hwm = 200000, front_linger = 1000, hb = 10000, hb_to = 30000;
    int64_t cap = HARD_CAP;
    if ((pull = zmq_socket(ctx, ZMQ_PULL)) == NULL ||
        zmq_setsockopt(pull, ZMQ_LINGER, &linger, sizeof linger) != 0 ||
        zmq_bind(pull, NOTIFY_ENDPOINT) != 0) {
        gm_error("cannot create the notification socket: %s", zmq_strerror(zmq_errno()));
        goto out;
    }
    if ((v->front = zmq_socket(ctx, ZMQ_ROUTER)) == NULL ||
        zmq_setsockopt(v->front, ZMQ_CURVE_SERVER, &one, sizeof one) != 0 ||
        zmq_setsockopt(v->front, ZMQ_CURVE_SECRETKEY, gm->curve_secret,
                       MCSEC_GROUPMGR_Z85_LEN) != 0 ||
        zmq_setsockopt(v->front, ZMQ_MAXMSGSIZE, &cap, sizeof cap) != 0 ||
        zmq_setsockopt(v->front, ZMQ_LINGER, &front_linger, sizeof front_linger) != 0 ||
        zmq_setsockopt(v->front, ZMQ_ROUTER_MANDATORY, &one, sizeof one) != 0 ||
        zmq_setsockopt(v->front, ZMQ_HEARTBEAT_IVL, &hb, sizeof hb) != 0 ||
        zmq_setsockopt(v->front, ZMQ_HEARTBEAT_TIMEOUT, &hb_to, sizeof hb_to) != 0 ||
        zmq_setsockopt(v->front, ZMQ_SNDHWM, &hwm, sizeof hwm) != 0 ||
        zmq_setsockopt(v->front, ZMQ_RCVHWM, &hwm, sizeof hwm) != 0) {
        gm_error("cannot set up the CURVE socket: %s", zmq_strerror(zmq_errno()));
        goto out;
    }
    if (zmq_bind(v->front, cfg->bind) != 0) {
        gm_error("cannot bind %s: %s (is the port in use? give tcp://HOST:PORT)", cfg->bind,
                 zmq_strerror(zmq_errno()));
        goto out;
    }
    /* Messages committed before we started are delivered on registration (the backlog). */
    int64_t dv = 0;
    {
        batch_t none;
        memset(&none, 0, sizeof none);
        none.v = v; /* no sessions yet: nothing is copied, only the last row id is learnt */
        none.max_id = 0;
        if ((rc = gm->ops->delivery_after(gm->store, 0, batch_add, &none)) != MCSEC_OK ||
            (rc = gm->ops->data_version(gm->store, &dv)) != MCSEC_OK) {
            batch_free(&none);
            goto out;
        }
        v->hwm = none.max_id;
        batch_free(&none);
    }
    if ((rc = gm_maint_start(gm, ctx, NOTIFY_ENDPOINT, cfg->workers, &quit, &maint)) != MCSEC_OK)
        goto out;
    char endpoint[256];
    size_t el = sizeof endpoint;
    if (zmq_getsockopt(v->front, ZMQ_LAST_ENDPOINT, endpoint, &el) != 0)
        snprintf(endpoint, sizeof endpoint, "%s", cfg->bind);
    if (cfg->on_ready != NULL)
        cfg->on_ready(cfg->user, endpoint);

    double last_check = gm_mono();
    while (!*cfg->stop) {
        zmq_pollitem_t items[2] = {{v->front, 0, ZMQ_POLLIN, 0}, {pull, 0, ZMQ_POLLIN, 0}};
        int r = zmq_poll(items, 2, POLL_MS);
        if (r < 0) {
            if (zmq_errno() == EINTR)
                continue;
            gm_error("poll failed: %s", zmq_strerror(zmq_errno()));
            rc = MCSEC_ERR_IO;
            break;
        }
        int notified = 0;
        if (items[1].revents & ZMQ_POLLIN) {
            char b[8];
            while (zmq_recv(pull, b, sizeof b, ZMQ_DONTWAIT) >= 0)
                notified = 1;
        }
        for (int k2 = 0; k2 < 256 && (items[0].revents & ZMQ_POLLIN); k2++) {
            from_members(v);
            int ev = 0;
            size_t evl = sizeof ev;
            if (zmq_getsockopt(v->front, ZMQ_EVENTS, &ev, &evl) != 0 || !(ev & ZMQ_POLLIN))
                break;
        }
        flush(v);
        if (gm_mono() - last_check >= POLL_MS / 1000.0) {
            int64_t now_dv = dv;
            last_check = gm_mono();
            if (gm->ops->data_version(gm->store, &now_dv) == MCSEC_OK && now_dv != dv) {
                dv = now_dv;
                notified = 1;
                gm_maint_wake(maint); /* e.g. members added by another process */
            }
        }
        if (notified)
            push_new(v);
    }
    rc = rc == MCSEC_ERR_IO && !*cfg->stop ? rc : MCSEC_OK;
out:
    quit = 1;
    if (v != NULL && v->front != NULL)
        flush(v); /* what the last iteration held back */
    gm_maint_join(maint);
    if (v != NULL && v->front != NULL)
        zmq_close(v->front);
    if (pull != NULL)
        zmq_close(pull);
    if (ctx != NULL) {
        zmq_ctx_shutdown(ctx);
        gm_zap_join(zap);
        zmq_ctx_term(ctx);
    }
    gm_srv_free(v);
    return rc;
}
