/* The handset's Group Manager client (include/mcsec/gmclient.h): a CURVE DEALER connection to
 * mcsec-groupmgr serve, a signed registration after each handshake (a socket monitor reports
 * handshakes and disconnections), then deliveries: open, store, acknowledge with proof.
 *
 * Deliveries are opened in diagnostic mode (MCSEC_OPEN_DIAGNOSTIC): store and forward brings
 * messages older than the MIKEY freshness window, and a message seen twice (re-sent because an
 * ack was lost) must still be acknowledged. What protects the handset instead: the signature
 * must be the group identity's (key parameters' group id bound to the signer) for the group
 * the delivery names and this handset asked for; and the keystore keeps a GMK-ID's first
 * message unless a newer one for the same key arrives, so replays change nothing. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <zmq.h>

#include "groupmgr.pb-c.h"
#include "internal.h"
#include "mcsec/client.h"
#include "mcsec/gmclient.h"
#include "mcsec/kdf.h"
#include "mcsec/profile.h"
#include "mcsec/secmem.h"

#define MAX_IN (64 * 1024)
#define URI_LIMIT 255
#define GROUPS_LIMIT 64

/* --- Shared encodings ------------------------------------------------------------------------- */

mcsec_status_t mcsec_gm_register_octets(const char *member_uri, const char *const *groups,
                                        size_t n_groups, uint64_t time,
                                        const uint8_t curve_public[MCSEC_GM_CURVE_KEY_LEN],
                                        uint8_t *out, size_t cap, size_t *len)
{
    if (member_uri == NULL || curve_public == NULL || len == NULL ||
        (groups == NULL && n_groups > 0) || n_groups > GROUPS_LIMIT)
        return MCSEC_ERR_BAD_INPUT;
    size_t ml = strlen(member_uri);
    if (ml == 0 || ml > URI_LIMIT)
        return MCSEC_ERR_BAD_INPUT;
    size_t need = sizeof MCSEC_GM_REGISTER_LABEL - 1 + 2 + ml + 2 + 8 + MCSEC_GM_CURVE_KEY_LEN;
    for (size_t i = 0; i < n_groups; i++) {
        size_t gl = groups[i] != NULL ? strlen(groups[i]) : 0;
        if (gl == 0 || gl > URI_LIMIT)
            return MCSEC_ERR_BAD_INPUT;
        need += 2 + gl;
    }
    *len = need;
    if (out == NULL || cap < need)
        return MCSEC_ERR_BAD_LENGTH;
    size_t o = sizeof MCSEC_GM_REGISTER_LABEL - 1;
    memcpy(out, MCSEC_GM_REGISTER_LABEL, o);
    out[o++] = (uint8_t)(ml >> 8);
    out[o++] = (uint8_t)ml;
    memcpy(out + o, member_uri, ml);
    o += ml;
    out[o++] = (uint8_t)(n_groups >> 8);
    out[o++] = (uint8_t)n_groups;
    for (size_t i = 0; i < n_groups; i++) {
        size_t gl = strlen(groups[i]);
        out[o++] = (uint8_t)(gl >> 8);
        out[o++] = (uint8_t)gl;
        memcpy(out + o, groups[i], gl);
        o += gl;
    }
    for (int i = 7; i >= 0; i--)
        out[o++] = (uint8_t)(time >> (8 * i));
    memcpy(out + o, curve_public, MCSEC_GM_CURVE_KEY_LEN);
    return MCSEC_OK;
}

mcsec_status_t mcsec_gm_ack_proof(const uint8_t gmk[MCSEC_GMK_LEN], const char *member_uri,
                                  uint32_t gmk_id, uint8_t proof[MCSEC_GM_PROOF_LEN])
{
    if (gmk == NULL || member_uri == NULL || proof == NULL)
        return MCSEC_ERR_BAD_INPUT;
    uint8_t id[4] = {(uint8_t)(gmk_id >> 24), (uint8_t)(gmk_id >> 16), (uint8_t)(gmk_id >> 8),
                     (uint8_t)gmk_id};
    size_t out_len = 0;
    mcsec_status_t rc = MCSEC_ERR_INTERNAL;
    OSSL_PARAM params[2] = {OSSL_PARAM_construct_utf8_string("digest", "SHA256", 0),
                            OSSL_PARAM_construct_end()};
    EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    EVP_MAC_CTX *h = mac != NULL ? EVP_MAC_CTX_new(mac) : NULL;
    if (h != NULL && EVP_MAC_init(h, gmk, MCSEC_GMK_LEN, params) == 1 &&
        EVP_MAC_update(h, (const uint8_t *)MCSEC_GM_ACK_LABEL, sizeof MCSEC_GM_ACK_LABEL - 1) ==
            1 &&
        EVP_MAC_update(h, (const uint8_t *)member_uri, strlen(member_uri)) == 1 &&
        EVP_MAC_update(h, id, 4) == 1 &&
        EVP_MAC_final(h, proof, &out_len, MCSEC_GM_PROOF_LEN) == 1 &&
        out_len == MCSEC_GM_PROOF_LEN)
        rc = MCSEC_OK;
    EVP_MAC_CTX_free(h);
    EVP_MAC_free(mac);
    if (rc != MCSEC_OK)
        mcsec_memzero(proof, MCSEC_GM_PROOF_LEN);
    return rc;
}

/* --- The client ----------------------------------------------------------------------------- */

struct mcsec_gmclient {
    mcsec_keystore_t *ks;
    mcsec_kms_params_t kms;
    char me[MCSEC_KEYSTORE_URI_MAX];
    mcsec_profile_receiver_t *rx;
    void *ctx, *sock, *mon;
    char pub[41];
    char *sec; /* 41 octets, locked memory */
    uint8_t pub_raw[32];
    char **groups;
    size_t n_groups;
    char *address;
    int registered, refused;
    unsigned backlog, acks_out;
    char err[512];
};

static atomic_uint monitor_seq;
static _Thread_local char open_err[512]; /* why the last open in this thread failed */

static void set_err(mcsec_gmclient_t *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void set_err(mcsec_gmclient_t *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->err, sizeof c->err, fmt, ap);
    va_end(ap);
}

static uint64_t now64(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return ((uint64_t)ts.tv_sec + 2208988800u) << 32 |
           (((uint64_t)ts.tv_nsec << 32) / 1000000000u);
}

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* A printable single line from a peer's text. */
static mcsec_status_t fetch_keyset(void *user, uint64_t period_no, mcsec_keyset_t *out)
{
    return mcsec_keystore_get_keyset(user, period_no, out);
}

void mcsec_gmclient_close(mcsec_gmclient_t *c)
{
    if (c == NULL)
        return;
    if (c->sock != NULL) {
        (void)zmq_socket_monitor(c->sock, NULL, 0);
        zmq_close(c->sock);
    }
    if (c->mon != NULL)
        zmq_close(c->mon);
    if (c->ctx != NULL)
        zmq_ctx_term(c->ctx);
    mcsec_profile_receiver_free(c->rx);
    mcsec_secure_free(c->sec);
    for (size_t i = 0; i < c->n_groups; i++)
        free(c->groups[i]);
    free(c->groups);
    free(c->address);
    mcsec_memzero(c, sizeof *c);
    free(c);
}

/* The keystore's identity: its KMS parameters and the user URI of its latest key set. */
static mcsec_status_t load_identity(mcsec_gmclient_t *c)
{
    uint64_t periods[64];
    size_t n = 0;
    mcsec_keyset_t ks;
    mcsec_status_t rc = mcsec_keystore_get_kms(c->ks, &c->kms);
    if (rc != MCSEC_OK) {
        set_err(c, "the keystore holds no KMS parameters: import them (`mcsec keys import` or "
                   "`mcsec provision`)");
        return rc;
    }
    rc = mcsec_keystore_list_periods(c->ks, periods, 64, &n);
    if ((rc != MCSEC_OK && rc != MCSEC_ERR_BAD_LENGTH) || n == 0) {
        set_err(c, "the keystore holds no key sets: import them first");
        return rc != MCSEC_OK && rc != MCSEC_ERR_BAD_LENGTH ? rc : MCSEC_ERR_KEY_PERIOD;
    }
    if (n > 64)
        n = 64;
    if ((rc = mcsec_keystore_get_keyset(c->ks, periods[n - 1], &ks)) != MCSEC_OK) {
        set_err(c, "cannot read the keystore: %s", mcsec_keystore_last_error());
        return rc;
    }
    snprintf(c->me, sizeof c->me, "%s", ks.user_uri);
    mcsec_memzero(&ks, sizeof ks);
    return MCSEC_OK;
}

mcsec_status_t mcsec_gmclient_open(mcsec_gmclient_t **out, mcsec_keystore_t *ks,
                                   const mcsec_gmclient_config_t *cfg)
{
    mcsec_gmclient_t *c = NULL;
    mcsec_device_cred_t cred;
    mcsec_status_t rc = MCSEC_ERR_BAD_INPUT;
    uint8_t raw[32];
    char mon_ep[64];
    memset(&cred, 0, sizeof cred);
    if (out == NULL)
        return rc;
    *out = NULL;
    snprintf(open_err, sizeof open_err, "no keystore, endpoint, manager key or groups given");
    if (ks == NULL || cfg == NULL || cfg->endpoint == NULL || cfg->server_key == NULL ||
        cfg->groups == NULL || cfg->n_groups == 0 || cfg->n_groups > GROUPS_LIMIT)
        return rc;
    if (strlen(cfg->server_key) != 40 || zmq_z85_decode(raw, cfg->server_key) == NULL) {
        snprintf(open_err, sizeof open_err, "the Group Manager key is not 40 Z85 characters");
        return rc;
    }
    for (size_t i = 0; i < cfg->n_groups; i++)
        if (cfg->groups[i] == NULL || cfg->groups[i][0] == 0 ||
            strlen(cfg->groups[i]) > URI_LIMIT) {
            snprintf(open_err, sizeof open_err, "a group URI is empty or longer than 255 octets");
            return rc;
        }
    open_err[0] = 0;
    if ((rc = mcsec_init()) != MCSEC_OK)
        return rc;
    rc = MCSEC_ERR_NOMEM;
    if ((c = calloc(1, sizeof *c)) == NULL)
        return rc;
    c->ks = ks;
    if ((c->sec = mcsec_secure_alloc(41)) == NULL ||
        (c->groups = calloc(cfg->n_groups, sizeof *c->groups)) == NULL ||
        (cfg->address != NULL && (c->address = strdup(cfg->address)) == NULL))
        goto out;
    for (; c->n_groups < cfg->n_groups; c->n_groups++)
        if ((c->groups[c->n_groups] = strdup(cfg->groups[c->n_groups])) == NULL)
            goto out;
    if ((rc = load_identity(c)) != MCSEC_OK)
        goto out;
    if ((rc = mcsec_profile_receiver_new(&c->rx, &c->kms, c->me)) != MCSEC_OK) {
        set_err(c, "cannot set up the receiver for %s: %s", c->me, mcsec_strerror(rc));
        goto out;
    }
    mcsec_profile_receiver_set_fetch(c->rx, fetch_keyset, ks);
    /* The device credential's CURVE key pair if the store has one, else a fresh pair. */
    rc = mcsec_keystore_get_device(ks, &cred);
    if (rc == MCSEC_OK) {
        memcpy(c->pub, cred.device_public, 41);
        memcpy(c->sec, cred.device_secret, 41);
    } else if (rc == MCSEC_ERR_UNKNOWN_KEY) {
        if (zmq_curve_keypair(c->pub, c->sec) != 0) {
            rc = MCSEC_ERR_UNSUPPORTED;
            set_err(c, "CURVE key generation failed: libzmq lacks CURVE");
            goto out;
        }
    } else {
        set_err(c, "cannot read the device credential: %s", mcsec_keystore_last_error());
        goto out;
    }
    if (zmq_z85_decode(c->pub_raw, c->pub) == NULL) {
        rc = MCSEC_ERR_BAD_INPUT;
        set_err(c, "the device credential's CURVE key is not Z85: provision the store again");
        goto out;
    }
    rc = MCSEC_ERR_IO;
    int linger = 0, hb = cfg->heartbeat_ms ? (int)cfg->heartbeat_ms : 5000, hb_to = 3 * hb;
    int64_t cap = MAX_IN;
    snprintf(mon_ep, sizeof mon_ep, "inproc://mcsec-gmclient-%u",
             atomic_fetch_add(&monitor_seq, 1));
    if ((c->ctx = zmq_ctx_new()) == NULL || (c->sock = zmq_socket(c->ctx, ZMQ_DEALER)) == NULL ||
        zmq_setsockopt(c->sock, ZMQ_LINGER, &linger, sizeof linger) != 0 ||
        zmq_setsockopt(c->sock, ZMQ_MAXMSGSIZE, &cap, sizeof cap) != 0 ||
        zmq_setsockopt(c->sock, ZMQ_HEARTBEAT_IVL, &hb, sizeof hb) != 0 ||
        zmq_setsockopt(c->sock, ZMQ_HEARTBEAT_TIMEOUT, &hb_to, sizeof hb_to) != 0 ||
        zmq_setsockopt(c->sock, ZMQ_CURVE_SERVERKEY, cfg->server_key, 40) != 0 ||
        zmq_setsockopt(c->sock, ZMQ_CURVE_PUBLICKEY, c->pub, 40) != 0 ||
        zmq_setsockopt(c->sock, ZMQ_CURVE_SECRETKEY, c->sec, 40) != 0 ||
        zmq_socket_monitor(c->sock, mon_ep,
                           ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_DISCONNECTED |
                               ZMQ_EVENT_HANDSHAKE_FAILED_AUTH) != 0 ||
        (c->mon = zmq_socket(c->ctx, ZMQ_PAIR)) == NULL ||
        zmq_setsockopt(c->mon, ZMQ_LINGER, &linger, sizeof linger) != 0 ||
        zmq_connect(c->mon, mon_ep) != 0 || zmq_connect(c->sock, cfg->endpoint) != 0) {
        set_err(c, "cannot connect to the Group Manager at %s: %s", cfg->endpoint,
                zmq_strerror(zmq_errno()));
        goto out;
    }
    *out = c;
    c = NULL;
    rc = MCSEC_OK;
out:
    mcsec_memzero(&cred, sizeof cred);
    if (c != NULL)
        snprintf(open_err, sizeof open_err, "%s", c->err[0] ? c->err : mcsec_strerror(rc));
    mcsec_gmclient_close(c);
    return rc;
}

static int send_envelope(mcsec_gmclient_t *c, Mcsec__Groupmgr__GroupMgrMessage *m)
{
    m->version = 1;
    size_t n = mcsec__groupmgr__group_mgr_message__get_packed_size(m);
    uint8_t *buf = malloc(n ? n : 1);
    if (buf == NULL)
        return -1;
    mcsec__groupmgr__group_mgr_message__pack(m, buf);
    int r = zmq_send(c->sock, buf, n, ZMQ_DONTWAIT) < 0 ? -1 : 0;
    free(buf);
    return r;
}

static mcsec_status_t send_register(mcsec_gmclient_t *c)
{
    mcsec_keyset_t ks;
    mcsec_eccsi_signer_t *signer = NULL;
    uint8_t *octets = NULL, sig[MCSEC_ECCSI_SIG_LEN];
    size_t len = 0;
    uint64_t t = now64(), period;
    mcsec_status_t rc = mcsec_key_period_no(t >> 32, c->kms.key_period, c->kms.key_period_offset,
                                            &period);
    memset(&ks, 0, sizeof ks);
    if (rc == MCSEC_OK && (rc = mcsec_keystore_get_keyset(c->ks, period, &ks)) != MCSEC_OK)
        set_err(c, "the keystore has no key set for the current key period (%" PRIu64 "): fetch "
                   "or import this period's keys",
                period);
    if (rc == MCSEC_OK &&
        (rc = mcsec_eccsi_signer_new(&signer, c->kms.kpak, ks.uid, sizeof ks.uid, ks.ssk,
                                     ks.pvt)) != MCSEC_OK)
        set_err(c, "the stored signing key does not validate (%s): re-import the keys",
                mcsec_strerror(rc));
    if (rc == MCSEC_OK) {
        if (mcsec_gm_register_octets(c->me, (const char *const *)c->groups, c->n_groups, t,
                                     c->pub_raw, NULL, 0, &len) != MCSEC_ERR_BAD_LENGTH ||
            (octets = malloc(len)) == NULL)
            rc = MCSEC_ERR_NOMEM;
    }
    if (rc == MCSEC_OK)
        rc = mcsec_gm_register_octets(c->me, (const char *const *)c->groups, c->n_groups, t,
                                      c->pub_raw, octets, len, &len);
    if (rc == MCSEC_OK)
        rc = mcsec_eccsi_sign(signer, octets, len, sig);
    if (rc == MCSEC_OK) {
        Mcsec__Groupmgr__Register r = MCSEC__GROUPMGR__REGISTER__INIT;
        Mcsec__Groupmgr__GroupMgrMessage m = MCSEC__GROUPMGR__GROUP_MGR_MESSAGE__INIT;
        r.member_uri = c->me;
        r.n_group_uris = c->n_groups;
        r.group_uris = c->groups;
        r.address = c->address != NULL ? c->address : "";
        r.time = t;
        r.signature.data = sig;
        r.signature.len = sizeof sig;
        m.body_case = MCSEC__GROUPMGR__GROUP_MGR_MESSAGE__BODY_REGISTER;
        m.register_ = &r;
        if (send_envelope(c, &m) != 0) {
            rc = MCSEC_ERR_IO;
            set_err(c, "cannot send the registration: %s", zmq_strerror(zmq_errno()));
        }
    }
    mcsec_eccsi_signer_free(signer);
    mcsec_memzero(&ks, sizeof ks);
    free(octets);
    return rc;
}

static void emit(mcsec_gmclient_event_fn fn, void *user, const mcsec_gmclient_event_t *ev)
{
    if (fn != NULL)
        fn(user, ev);
}

/* Stores an opened GMK (mcsec_handset_store_gmk, the rule of `mcsec gmk receive` too). A GMK-ID
 * already stored with another key is refused with MCSEC_ERR_POLICY: the manager broke its own
 * key naming. */
static mcsec_status_t store_gmk(mcsec_gmclient_t *c, const mcsec_gmk_result_t *g,
                                mcsec_gmclient_event_t *ev)
{
    mcsec_status_t rc = mcsec_handset_store_gmk(c->ks, g, g->key_params.group_id, &ev->is_new);
    if (rc != MCSEC_OK) {
        snprintf(ev->message, sizeof ev->message, "%s", mcsec_keystore_last_error());
        if (rc == MCSEC_ERR_VERIFY)
            rc = MCSEC_ERR_POLICY;
    }
    return rc;
}

static int our_group(const mcsec_gmclient_t *c, const char *g)
{
    for (size_t i = 0; i < c->n_groups; i++)
        if (strcmp(c->groups[i], g) == 0)
            return 1;
    return 0;
}

static void on_delivery(mcsec_gmclient_t *c, const Mcsec__Groupmgr__GmkDelivery *d,
                        mcsec_gmclient_event_fn fn, void *user)
{
    mcsec_gmclient_event_t ev;
    mcsec_gmk_result_t g;
    uint8_t proof[MCSEC_GM_PROOF_LEN];
    mcsec_status_t rc;
    memset(&ev, 0, sizeof ev);
    memset(&g, 0, sizeof g);
    memset(proof, 0, sizeof proof);
    ev.kind = MCSEC_GMCLIENT_GMK;
    mcsec_clean_line(ev.group_uri, sizeof ev.group_uri, d->group_uri);
    ev.gmk_id = d->gmk_id;
    if (c->backlog > 0)
        c->backlog--;
    if (d->group_uri == NULL || !our_group(c, d->group_uri)) {
        rc = MCSEC_ERR_POLICY;
        snprintf(ev.message, sizeof ev.message, "a delivery for group %s, which this handset "
                                                "did not register for: refused",
                 ev.group_uri);
        goto done;
    }
    rc = mcsec_gmk_open(c->rx, d->i_message.data, d->i_message.len,
                        MCSEC_OPEN_EXPECT_GMK | MCSEC_OPEN_DIAGNOSTIC, &g);
    if (rc != MCSEC_OK) {
        snprintf(ev.message, sizeof ev.message, "GMK message for %s refused at the %s check: %s",
                 ev.group_uri, mcsec_profile_check_name(g.check),
                 g.why[0] ? g.why : mcsec_strerror(rc));
        goto done;
    }
    if (!g.key_params_decoded || !g.group_id_bound ||
        strcmp(g.key_params.group_id, d->group_uri) != 0) {
        rc = MCSEC_ERR_VERIFY;
        snprintf(ev.message, sizeof ev.message, "GMK message for %s is not signed by that "
                                                "group's identity: refused",
                 ev.group_uri);
        goto done;
    }
    if (g.key_id != d->gmk_id) {
        rc = MCSEC_ERR_STRUCTURE;
        snprintf(ev.message, sizeof ev.message, "the delivery names GMK-ID %08" PRIx32 " but "
                                                "the message carries %08" PRIx32 ": refused",
                 d->gmk_id, g.key_id);
        goto done;
    }
    ev.timestamp = g.timestamp;
    ev.activation = g.key_params.activation;
    ev.expiry = g.key_params.expiry;
    if ((rc = store_gmk(c, &g, &ev)) != MCSEC_OK)
        goto done;
    mcsec_gmk_record_t cur;
    ev.is_current = mcsec_keystore_current_gmk(c->ks, d->group_uri, now64(), &cur) == MCSEC_OK &&
                    cur.gmk_id == g.key_id;
    mcsec_memzero(&cur, sizeof cur);
    rc = mcsec_gm_ack_proof(g.key, c->me, g.key_id, proof);
done:
    ev.status = rc;
    if (rc != MCSEC_OK)
        ev.kind = MCSEC_GMCLIENT_REFUSED;
    {
        Mcsec__Groupmgr__GmkAck a = MCSEC__GROUPMGR__GMK_ACK__INIT;
        Mcsec__Groupmgr__GroupMgrMessage m = MCSEC__GROUPMGR__GROUP_MGR_MESSAGE__INIT;
        a.group_uri = d->group_uri != NULL ? d->group_uri : "";
        a.gmk_id = d->gmk_id;
        a.status = (int32_t)rc;
        a.member_uri = c->me;
        if (rc == MCSEC_OK) {
            a.proof.data = proof;
            a.proof.len = sizeof proof;
        }
        m.body_case = MCSEC__GROUPMGR__GROUP_MGR_MESSAGE__BODY_ACK;
        m.ack = &a;
        if (send_envelope(c, &m) == 0)
            c->acks_out++;
    }
    mcsec_gmk_result_wipe(&g);
    mcsec_memzero(proof, sizeof proof);
    emit(fn, user, &ev);
}

/* Handles one envelope from the manager. Returns a fatal status (registration refused). */
static mcsec_status_t on_message(mcsec_gmclient_t *c, const uint8_t *p, size_t n,
                                 mcsec_gmclient_event_fn fn, void *user)
{
    mcsec_gmclient_event_t ev;
    mcsec_status_t fatal = MCSEC_OK;
    Mcsec__Groupmgr__GroupMgrMessage *m = mcsec__groupmgr__group_mgr_message__unpack(NULL, n, p);
    memset(&ev, 0, sizeof ev);
    if (m == NULL || m->version != 1)
        goto out; /* not from an mcsec Group Manager: ignored */
    switch (m->body_case) {
    case MCSEC__GROUPMGR__GROUP_MGR_MESSAGE__BODY_REGISTER_RESPONSE: {
        const Mcsec__Groupmgr__RegisterResponse *r = m->register_response;
        ev.status = mcsec_wire_status(r->status);
        if (r->status != 0) {
            ev.kind = MCSEC_GMCLIENT_REFUSED;
            char line[200];
            mcsec_clean_line(line, sizeof line, r->message);
            snprintf(ev.message, sizeof ev.message, "the Group Manager refused the registration: "
                                                    "%s",
                     line[0] ? line : mcsec_strerror(ev.status));
            set_err(c, "%s", ev.message);
            c->refused = 1;
            fatal = ev.status;
        } else {
            ev.kind = MCSEC_GMCLIENT_REGISTERED;
            ev.backlog = r->backlog;
            c->registered = 1;
            c->backlog = r->backlog;
        }
        emit(fn, user, &ev);
        break;
    }
    case MCSEC__GROUPMGR__GROUP_MGR_MESSAGE__BODY_DELIVERY:
        if (c->registered)
            on_delivery(c, m->delivery, fn, user);
        break;
    case MCSEC__GROUPMGR__GROUP_MGR_MESSAGE__BODY_STATUS: {
        const Mcsec__Groupmgr__Status *s = m->status;
        if (c->acks_out > 0)
            c->acks_out--;
        ev.kind = MCSEC_GMCLIENT_ACK;
        ev.status = mcsec_wire_status(s->status);
        ev.gmk_id = s->gmk_id;
        mcsec_clean_line(ev.group_uri, sizeof ev.group_uri, s->group_uri);
        mcsec_clean_line(ev.message, sizeof ev.message, s->message);
        emit(fn, user, &ev);
        break;
    }
    default:
        break;
    }
out:
    if (m != NULL)
        mcsec__groupmgr__group_mgr_message__free_unpacked(m, NULL);
    return fatal;
}

/* Reads monitor events: registers after each handshake, forgets the registration when the
 * connection drops. */
static mcsec_status_t on_monitor(mcsec_gmclient_t *c, mcsec_gmclient_event_fn fn, void *user)
{
    for (;;) {
        zmq_msg_t ev, ep;
        zmq_msg_init(&ev);
        zmq_msg_init(&ep);
        if (zmq_msg_recv(&ev, c->mon, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&ev);
            zmq_msg_close(&ep);
            return MCSEC_OK;
        }
        if (zmq_msg_more(&ev))
            (void)zmq_msg_recv(&ep, c->mon, 0);
        uint16_t event = 0;
        if (zmq_msg_size(&ev) >= 2) {
            const uint8_t *d = zmq_msg_data(&ev);
            event = (uint16_t)(d[0] | d[1] << 8);
        }
        zmq_msg_close(&ev);
        zmq_msg_close(&ep);
        if (event == ZMQ_EVENT_HANDSHAKE_SUCCEEDED) {
            c->registered = 0;
            c->acks_out = 0;
            mcsec_status_t rc = send_register(c);
            if (rc != MCSEC_OK) {
                mcsec_gmclient_event_t e;
                memset(&e, 0, sizeof e);
                e.kind = MCSEC_GMCLIENT_REFUSED;
                e.status = rc;
                snprintf(e.message, sizeof e.message, "%s", c->err);
                emit(fn, user, &e);
                return rc;
            }
        } else if (event == ZMQ_EVENT_DISCONNECTED) {
            c->registered = 0;
            c->acks_out = 0;
        } else if (event == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH) {
            set_err(c, "the Group Manager refused this connection: check --groupmgr-key");
        }
    }
}

mcsec_status_t mcsec_gmclient_poll(mcsec_gmclient_t *c, unsigned timeout_ms,
                                   mcsec_gmclient_event_fn fn, void *user)
{
    if (c == NULL)
        return MCSEC_ERR_BAD_INPUT;
    if (c->refused)
        return MCSEC_ERR_POLICY;
    uint64_t deadline = mono_ms() + timeout_ms;
    for (;;) {
        uint64_t t = mono_ms();
        long wait = t >= deadline ? 0 : (long)(deadline - t);
        zmq_pollitem_t items[2] = {{c->sock, 0, ZMQ_POLLIN, 0}, {c->mon, 0, ZMQ_POLLIN, 0}};
        int r = zmq_poll(items, 2, wait);
        if (r < 0 && zmq_errno() != EINTR) {
            set_err(c, "poll failed: %s", zmq_strerror(zmq_errno()));
            return MCSEC_ERR_IO;
        }
        int handled = 0;
        if (r > 0 && (items[1].revents & ZMQ_POLLIN)) {
            mcsec_status_t rc = on_monitor(c, fn, user);
            if (rc != MCSEC_OK)
                return rc;
            handled = 1;
        }
        while (r > 0) {
            zmq_msg_t m;
            zmq_msg_init(&m);
            if (zmq_msg_recv(&m, c->sock, ZMQ_DONTWAIT) < 0) {
                zmq_msg_close(&m);
                break;
            }
            int more = zmq_msg_more(&m);
            mcsec_status_t rc = MCSEC_OK;
            if (!more)
                rc = on_message(c, zmq_msg_data(&m), zmq_msg_size(&m), fn, user);
            zmq_msg_close(&m);
            while (more) { /* not a single-frame envelope: skipped */
                zmq_msg_init(&m);
                more = zmq_msg_recv(&m, c->sock, 0) >= 0 && zmq_msg_more(&m);
                zmq_msg_close(&m);
            }
            handled = 1;
            if (rc != MCSEC_OK)
                return rc;
        }
        if (handled || mono_ms() >= deadline)
            return MCSEC_OK;
    }
}

int mcsec_gmclient_idle(const mcsec_gmclient_t *c)
{
    return c != NULL && c->registered && c->backlog == 0 && c->acks_out == 0;
}

const char *mcsec_gmclient_member_uri(const mcsec_gmclient_t *c)
{
    return c != NULL ? c->me : "";
}

const char *mcsec_gmclient_last_error(const mcsec_gmclient_t *c)
{
    return c != NULL ? c->err : open_err;
}
