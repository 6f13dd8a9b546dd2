/* The PKMF's administration (include/mcsec/pkmf.h): authorisations, relay grants, peer
 * entities, listing. Each change and its audit row are one transaction. */
#include <stdio.h>
#include <string.h>

#include "internal.h"

const char *mcsec_pkmf_auth_name(mcsec_pkmf_auth_t what)
{
    return what == MCSEC_PKMF_AUTH_REMOTE_UE ? "remote-ue"
           : what == MCSEC_PKMF_AUTH_DIRECT  ? "direct"
                                             : "unknown";
}

mcsec_pkmf_auth_t mcsec_pkmf_auth_parse(const char *name)
{
    if (name != NULL && strcmp(name, "remote-ue") == 0)
        return MCSEC_PKMF_AUTH_REMOTE_UE;
    if (name != NULL && strcmp(name, "direct") == 0)
        return MCSEC_PKMF_AUTH_DIRECT;
    return (mcsec_pkmf_auth_t)0;
}

static mcsec_status_t bad_uri(const char *what, const char *uri)
{
    kms_error("%s '%s' is not 1-255 printable characters without spaces: give e.g. "
              "sip:alice@example.org",
              what, uri != NULL ? uri : "");
    return MCSEC_ERR_BAD_INPUT;
}

/* Runs change(s, arg) and an audit row in one transaction. */
static mcsec_status_t in_tx(mcsec_kms_t *kms, mcsec_status_t (*change)(mcsec_kms_t *, const void *),
                            const void *arg, const char *subject, const char *action,
                            const char *reason)
{
    mcsec_status_t st = kms->ops->begin(kms->store);
    if (st != MCSEC_OK)
        return st;
    if ((st = change(kms, arg)) != MCSEC_OK ||
        (st = kms_audit(kms->store, kms->ops, 0, subject, -1, action, MCSEC_OK, 0, reason)) !=
            MCSEC_OK ||
        (st = kms->ops->commit(kms->store)) != MCSEC_OK)
        kms->ops->rollback(kms->store);
    return st;
}

typedef struct {
    const char *a, *b;
    int what, allow;
} args_t;

static mcsec_status_t do_auth(mcsec_kms_t *kms, const void *arg)
{
    const args_t *x = arg;
    mcsec_status_t st = kms->ops->pkmf->auth_set(kms->store, x->a, x->what, x->allow);
    if (st == MCSEC_OK && !x->allow && x->what == MCSEC_PKMF_AUTH_REMOTE_UE)
        st = kms->ops->pkmf->ue_delete(kms->store, x->a);
    return st;
}

mcsec_status_t mcsec_pkmf_authorise(mcsec_kms_t *kms, const char *uri, mcsec_pkmf_auth_t what,
                                    int allow)
{
    char reason[64];
    kms_clear_error();
    if (kms == NULL)
        return MCSEC_ERR_BAD_INPUT;
    if (!kms_uri_ok(uri))
        return bad_uri("URI", uri);
    if (what != MCSEC_PKMF_AUTH_REMOTE_UE && what != MCSEC_PKMF_AUTH_DIRECT) {
        kms_error("unknown authorisation: give remote-ue or direct");
        return MCSEC_ERR_BAD_INPUT;
    }
    snprintf(reason, sizeof reason, "%s %s", allow ? "granted" : "withdrawn",
             mcsec_pkmf_auth_name(what));
    args_t x = {uri, NULL, (int)what, allow};
    return in_tx(kms, do_auth, &x, uri, "pkmf-authorise", reason);
}

static mcsec_status_t do_relay(mcsec_kms_t *kms, const void *arg)
{
    const args_t *x = arg;
    return kms->ops->pkmf->relay_set(kms->store, x->a, x->b, x->allow);
}

mcsec_status_t mcsec_pkmf_authorise_relay(mcsec_kms_t *kms, const char *relay_uri,
                                          const char *ue_uri, int allow)
{
    char reason[MCSEC_KMS_URI_MAX + 32];
    kms_clear_error();
    if (kms == NULL)
        return MCSEC_ERR_BAD_INPUT;
    if (!kms_uri_ok(relay_uri))
        return bad_uri("relay URI", relay_uri);
    if (!kms_uri_ok(ue_uri))
        return bad_uri("remote UE URI", ue_uri);
    snprintf(reason, sizeof reason, "%s serving %s", allow ? "may" : "no longer", ue_uri);
    args_t x = {relay_uri, ue_uri, 0, allow};
    return in_tx(kms, do_relay, &x, relay_uri, "pkmf-relay", reason);
}

static mcsec_status_t do_peer(mcsec_kms_t *kms, const void *arg)
{
    const kms_pkmf_peer_t *p = arg;
    mcsec_kms_device_t d;
    mcsec_status_t st = kms->ops->device_by_key(kms->store, p->curve_public, &d);
    if (st == MCSEC_ERR_UNKNOWN_KEY) { /* enrol the peer's key so that it can call us */
        mcsec_kms_enroll_t req = {.uri = p->uri, .role = MCSEC_KMS_ROLE_HANDSET,
                                  .curve_public = p->curve_public};
        kms_device_from(&req, p->curve_public, &d);
        st = kms_enroll_on(kms->store, kms->ops, &d);
    } else if (st == MCSEC_OK && (strcmp(d.uri, p->uri) != 0 || d.revoked)) {
        kms_error("that CURVE key is enrolled for %s%s: give the peer entity's own key",
                  d.uri, d.revoked ? " (revoked)" : "");
        st = MCSEC_ERR_POLICY;
    }
    if (st == MCSEC_OK)
        st = kms->ops->pkmf->peer_put(kms->store, p);
    return st;
}

mcsec_status_t mcsec_pkmf_peer_add(mcsec_kms_t *kms, const char *peer_uri, const char *endpoint,
                                   const char *curve_public, const char *serves)
{
    kms_pkmf_peer_t p;
    char reason[2 * MCSEC_KMS_URI_MAX + 32];
    kms_clear_error();
    if (kms == NULL)
        return MCSEC_ERR_BAD_INPUT;
    if (!kms_uri_ok(peer_uri))
        return bad_uri("peer entity URI", peer_uri);
    if (!kms_uri_ok(serves))
        return bad_uri("served URI suffix", serves);
    if (endpoint == NULL || strncmp(endpoint, "tcp://", 6) != 0 ||
        strlen(endpoint) > MCSEC_KMS_ENDPOINT_MAX || !kms_uri_ok(endpoint)) {
        kms_error("endpoint '%s' is not tcp://HOST:PORT", endpoint != NULL ? endpoint : "");
        return MCSEC_ERR_BAD_INPUT;
    }
    if (!kms_z85_key_ok(curve_public)) {
        kms_error("the peer's CURVE public key is not 40 Z85 characters: give the curve-public "
                  "line `mcsec-kms init` printed for it");
        return MCSEC_ERR_BAD_INPUT;
    }
    if (strcmp(curve_public, kms->info.curve_public) == 0) {
        kms_error("that is this entity's own CURVE key: give the peer's");
        return MCSEC_ERR_BAD_INPUT;
    }
    memset(&p, 0, sizeof p);
    snprintf(p.uri, sizeof p.uri, "%s", peer_uri);
    snprintf(p.endpoint, sizeof p.endpoint, "%s", endpoint);
    snprintf(p.curve_public, sizeof p.curve_public, "%s", curve_public);
    snprintf(p.serves, sizeof p.serves, "%s", serves);
    snprintf(reason, sizeof reason, "peer entity at %s serving *%s", endpoint, serves);
    return in_tx(kms, do_peer, &p, peer_uri, "pkmf-peer", reason);
}

mcsec_status_t mcsec_pkmf_list(mcsec_kms_t *kms, mcsec_pkmf_line_fn fn, void *user)
{
    kms_clear_error();
    if (kms == NULL || fn == NULL)
        return MCSEC_ERR_BAD_INPUT;
    return kms->ops->pkmf->list(kms->store, fn, user);
}
