/* mcsec direct demo --mode network: KD from the network (seed 001). Two network entities, the
 * seed's MME_1 and MME_2, each a real mcsec-kms daemon on loopback with its own store: E1
 * serves the UEs @a.direct.example.org (alice), E2 those @b.direct.example.org (bob); each is
 * the other's peer. Each handset makes its own CURVE key pair and is enrolled at its entity
 * with the public half, and authorised there for network-authorised direct keying. Alice asks
 * E1 for a KD with bob (E1 asks E2): she sets it with its KD ID and puts the session token in
 * her DCR (mcsec_prose_nw_link_initiate); bob, through the KD hook, gives the token to E2 and
 * gets the same KD (mcsec_prose_nw_accept). E1 runs in the env's kms slot, E2 in kms2. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <zmq.h>

#include "direct_cli.h"
#include "mcsec/secmem.h"

#define ENTITY_TIMEOUT_MS 5000

static const char *const domain[2] = {"a.direct.example.org", "b.direct.example.org"};

static int fail(dd_run_t *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(dd_run_t *r, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->failure, sizeof r->failure, fmt, ap);
    va_end(ap);
    return CLI_FAIL;
}

/* init (printing the entity's CURVE public key), enroll the handset, authorise it. */
static int entity_init(dd_run_t *r, int i, char dir[PATH_MAX]) {
    demo_env_t *e = &r->env;
    dd_ue_t *u = &r->ue[i];
    char uri[64], cost[8], out[PATH_MAX];
    uint16_t port = 0;
    snprintf(dir, PATH_MAX, "%s/entity%d", e->dir, i + 1);
    snprintf(uri, sizeof uri, "entity%d.direct.example.org", i + 1);
    snprintf(cost, sizeof cost, "%d", DEMO_KDF_LOG2N);
    if (demo_free_port(&port) != CLI_OK) return fail(r, "%s", "no free loopback port");
    snprintf(u->entity_endpoint, sizeof u->entity_endpoint, "tcp://127.0.0.1:%u", port);
    char *init[] = {e->kms_bin, "init",     "--dir", dir,  "--uri", uri, "--endpoint",
                    u->entity_endpoint, "--kdf-cost", cost, NULL};
    if (demo_run(e, init, out) != CLI_OK ||
        !demo_file_value(out, "curve-public: ", u->entity_public, sizeof u->entity_public))
        return fail(r, "network entity %s did not initialise", uri);
    if (zmq_curve_keypair(u->device_public, u->device_secret) != 0)
        return fail(r, "%s", "cannot make a CURVE key pair (libzmq without CURVE?)");
    char *enroll[] = {e->kms_bin, "enroll", "--dir", dir, "--uri", u->uri, "--curve-public",
                      u->device_public, NULL};
    char *auth[] = {e->kms_bin, "prose", "authorise", "--dir", dir, "--uri", u->uri, "--direct",
                    NULL};
    if (demo_run(e, enroll, NULL) != CLI_OK || demo_run(e, auth, NULL) != CLI_OK)
        return fail(r, "cannot enrol and authorise %s at its network entity", u->uri);
    return CLI_OK;
}

/* E(i) learns its peer E(1 - i) and the domain it serves. */
static int entity_peer(dd_run_t *r, int i, const char *dir) {
    demo_env_t *e = &r->env;
    dd_ue_t *peer = &r->ue[1 - i];
    char uri[64], serves[64];
    snprintf(uri, sizeof uri, "entity%d.direct.example.org", 2 - i);
    snprintf(serves, sizeof serves, "@%s", domain[1 - i]);
    char *argv[] = {e->kms_bin, "prose", "peer", "--dir", (char *)dir, "--uri", uri,
                    "--endpoint", peer->entity_endpoint, "--key", peer->entity_public,
                    "--serves", serves, NULL};
    return demo_run(e, argv, NULL) == CLI_OK ? CLI_OK
                                             : fail(r, "cannot make %s a peer entity", uri);
}

/* bob's KD hook: the DCR's (or rekey request's) session token goes to E2. */
static mcsec_status_t bob_kd(void *user, mcsec_direct_link_t *link,
                             const mcsec_direct_request_t *req, const mcsec_direct_dsmc_t *dsmc) {
    dd_ue_t *u = user;
    mcsec_prose_nw_key_t k;
    (void)dsmc;
    if (req == NULL) return MCSEC_OK;
    const mcsec_direct_kcd_t *s = mcsec_direct_kcd_find(req->kcd, req->n_kcd,
                                                        MCSEC_DIRECT_KCD_NETWORK);
    if (s == NULL) return MCSEC_OK; /* resumption with the stored KD */
    memset(&k, 0, sizeof k);
    mcsec_status_t rc = mcsec_prose_nw_accept(&u->entity, s->value, s->len, &k);
    /* the session must be the peer's: the link's peer (resumption, rekey) or the DCR's */
    const char *peer = mcsec_direct_peer(link);
    if (rc == MCSEC_OK && peer[0] != 0 && strcmp(peer, k.initiator_uri) != 0)
        rc = MCSEC_ERR_VERIFY;
    if (rc == MCSEC_OK) rc = mcsec_direct_set_kd_with_id(link, k.kd, k.kd_id);
    mcsec_prose_nw_key_wipe(&k);
    return rc;
}

typedef struct {
    dd_run_t *r;
    char dir[2][PATH_MAX];
} setup_t;

/* Each tool run costs a self test (about a second on a loaded core): the two entities are
 * set up side by side. */
static int init_job(void *ctx, size_t i) {
    setup_t *s = ctx;
    return entity_init(s->r, (int)i, s->dir[i]);
}

static int peer_job(void *ctx, size_t i) {
    setup_t *s = ctx;
    return entity_peer(s->r, (int)i, s->dir[i]);
}

int dd_network_setup(dd_run_t *r) {
    demo_env_t *e = &r->env;
    static setup_t s;
    char ep[2][64];
    char (*dir)[PATH_MAX] = s.dir;
    memset(&s, 0, sizeof s);
    s.r = r;
    for (int i = 0; i < 2; i++)
        snprintf(r->ue[i].uri, sizeof r->ue[i].uri, "sip:%s@%s", r->ue[i].name, domain[i]);
    if (demo_parallel(2, init_job, &s) != CLI_OK || demo_parallel(2, peer_job, &s) != CLI_OK)
        return CLI_FAIL;
    for (int i = 0; i < 2; i++) {
        dd_ue_t *u = &r->ue[i];
        char *serve[] = {e->kms_bin, "serve", "--dir", dir[i], "--bind", u->entity_endpoint,
                         NULL};
        if (demo_start(e, i == 0 ? &e->kms : &e->kms2, serve, ep[i], sizeof ep[i]) != CLI_OK)
            return fail(r, "network entity %s did not start (see the line above)",
                        i == 0 ? "1" : "2");
        u->entity.endpoint = u->entity_endpoint;
        u->entity.server_public = u->entity_public;
        u->entity.device_public = u->device_public;
        u->entity.device_secret = u->device_secret;
        u->entity.timeout_ms = ENTITY_TIMEOUT_MS;
        dd_progress(r, "network entity %d serving %s at %s", i + 1, domain[i], ep[i]);
    }
    r->ue[1].keys.kd_hook = bob_kd;
    r->ue[1].keys.kd_hook_user = &r->ue[1];
    return CLI_OK;
}

int dd_network_offer(dd_run_t *r, dd_ue_t *u, mcsec_direct_link_t *link) {
    mcsec_prose_nw_key_t k;
    memset(&k, 0, sizeof k);
    mcsec_status_t rc = mcsec_prose_nw_link_initiate(&u->entity, link, r->ue[1].uri, &k);
    if (rc != MCSEC_OK)
        snprintf(r->failure, sizeof r->failure, "%s got no KD from network entity 1: %s (%.150s)",
                 u->name, mcsec_strerror(rc), k.message);
    mcsec_prose_nw_key_wipe(&k);
    return rc == MCSEC_OK ? CLI_OK : CLI_FAIL;
}
