/* The network entity of network-authorised one-to-one keying (seed 001; MME_1 / MME_2):
 *
 *   UE_1 --NwKeyRequest(peer, KD ID MSB)--> E1            (pkmf_on_nw_key)
 *     E1: UE_1 authorised "direct"; KM1 and a 16-octet session token at random;
 *     if the peer UE is authorised "direct" at E1 itself, E1 also plays E2 (one entity
 *     serving both UEs); else E1 finds the peer entity serving it (the longest `serves`
 *     suffix of the peer URI) and calls it:
 *   E1 --DirectKeyingRequest(session, UE_1, UE_2, KM1, KD ID MSB)--> E2  (pkmf_on_direct_keying)
 *     E2: caller is a configured peer entity and UE_1's URI ends with what that peer serves;
 *     UE_2 authorised "direct" at E2; KM2 at random; a connection identity and the KD ID's
 *     LSB half allocated for UE_2; the session stored (role 2, not fetched); answers KM2.
 *   E1 stores the session (role 1) and answers UE_1: session, KM1, KM2, connection identity,
 *     KD ID, both URIs.
 *   UE_2 --NwKeyFetch(session)--> E2                      (pkmf_on_nw_fetch)
 *     E2: UE_2 authorised; the session exists for role 2 with UE_2 as responder (else
 *     MCSEC_ERR_UNKNOWN_KEY), is at most PKMF_SESSION_LIFETIME old (else MCSEC_ERR_EXPIRED)
 *     and was not fetched before (else MCSEC_ERR_REPLAY); answers as E1 did.
 * Both UEs then compute KD = mcsec_prose_kd_network(...). The seed has UE_2 choose its new
 * connection identity and DKSI before MME_2 answers; with request/response transport E2 cannot
 * reach UE_2 first, so E2 allocates them for UE_2 (connection identities with the top bit set,
 * so they never collide with the ones UE_2 allocates itself with the top bit clear). */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"
#include "mcsec/prose.h"
#include "mcsec/secmem.h"

#define PKMF_SESSION_LIFETIME 120 /* seconds */
#define ENTITY_TIMEOUT_MS 2000
#define ENTITY_ATTEMPTS 2

static mcsec_status_t rand32(uint32_t *out)
{
    uint8_t b[4];
    mcsec_status_t st = mcsec_random_bytes(b, sizeof b);
    *out = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
    return st;
}

/* E2's allocations for UE_2: KM2, connection identity (top bit set), KD ID LSB half. */
static mcsec_status_t allocate(uint16_t msb, uint8_t km2[32], uint32_t *conn_id, uint32_t *kd_id)
{
    uint32_t c = 0, l = 0;
    mcsec_status_t st = mcsec_random_bytes(km2, 32);
    while (st == MCSEC_OK && (c & 0x7fffffffu) == 0)
        st = rand32(&c);
    while (st == MCSEC_OK && (l & 0xffffu) == 0)
        st = rand32(&l);
    *conn_id = c | 0x80000000u;
    *kd_id = (uint32_t)msb << 16 | (l & 0xffffu);
    return st;
}

static mcsec_status_t store_session(pkmf_req_t *r, kms_pkmf_session_t *x, const uint8_t km1[32],
                                    const uint8_t km2[32])
{
    uint8_t aad[1024];
    size_t al = pkmf_session_aad(x, aad, sizeof aad);
    mcsec_status_t st;
    x->created = kms_now();
    if (al > sizeof aad)
        return pkmf_fail(r, MCSEC_ERR_INTERNAL, "identities too long to seal");
    if ((st = pkmf_seal2(r->kms, aad, al, km1, km2, x->sealed, &x->sealed_len)) != MCSEC_OK)
        return pkmf_fail(r, st, "cannot seal the keying material");
    st = r->ps->session_put(r->s, x);
    if (st == MCSEC_ERR_REPLAY)
        return pkmf_fail(r, st, "this session token was used before: start a new session");
    if (st != MCSEC_OK)
        return pkmf_fail(r, MCSEC_ERR_IO, "the entity's store is unavailable: try again later");
    return MCSEC_OK;
}

static void answer(pkmf_req_t *r, const kms_pkmf_session_t *x, Mcsec__Pkmf__PkmfResponse *resp)
{
    memcpy(r->session, x->session, PKMF_SESSION_LEN);
    snprintf(r->uri_a, sizeof r->uri_a, "%s", x->initiator);
    snprintf(r->uri_b, sizeof r->uri_b, "%s", x->responder);
    r->body.nw = (Mcsec__Pkmf__NwKeyResponse)MCSEC__PKMF__NW_KEY_RESPONSE__INIT;
    r->body.nw.session = (ProtobufCBinaryData){PKMF_SESSION_LEN, r->session};
    r->body.nw.km1 = (ProtobufCBinaryData){32, r->km1};
    r->body.nw.km2 = (ProtobufCBinaryData){32, r->km2};
    r->body.nw.conn_id = x->conn_id;
    r->body.nw.kd_id = x->kd_id;
    r->body.nw.initiator_uri = r->uri_a;
    r->body.nw.responder_uri = r->uri_b;
    resp->body_case = MCSEC__PKMF__PKMF_RESPONSE__BODY_NW_KEY;
    resp->nw_key = &r->body.nw;
}

mcsec_status_t pkmf_on_nw_key(pkmf_req_t *r, const Mcsec__Pkmf__NwKeyRequest *q,
                              Mcsec__Pkmf__PkmfResponse *resp)
{
    kms_pkmf_session_t x;
    kms_pkmf_peer_t peer;
    mcsec_prose_entity_answer_t ans;
    mcsec_status_t st;
    int local = 0;
    memset(&x, 0, sizeof x);
    memset(&ans, 0, sizeof ans);
    r->action = "entity-nw-key";
    if (q == NULL) {
        st = pkmf_fail(r, MCSEC_ERR_BAD_INPUT, "malformed request: no body");
        goto out;
    }
    if ((st = pkmf_check_auth(r, r->dev->uri, MCSEC_PKMF_AUTH_DIRECT)) != MCSEC_OK)
        goto out;
    if (!kms_uri_ok(q->peer_uri) || strcmp(q->peer_uri, r->dev->uri) == 0 ||
        q->kd_id_msb > 0xffff) {
        st = pkmf_fail(r, MCSEC_ERR_BAD_INPUT,
                       "give the peer's URI (not your own) and a KD ID MSB of 0..65535");
        goto out;
    }
    uint16_t msb = (uint16_t)q->kd_id_msb;
    while (msb == 0) {
        uint32_t v;
        if ((st = rand32(&v)) != MCSEC_OK)
            goto out;
        msb = (uint16_t)v;
    }
    snprintf(x.initiator, sizeof x.initiator, "%s", r->dev->uri);
    snprintf(x.responder, sizeof x.responder, "%s", q->peer_uri);
    if ((st = mcsec_random_bytes(x.session, sizeof x.session)) != MCSEC_OK ||
        (st = mcsec_random_bytes(r->km1, sizeof r->km1)) != MCSEC_OK)
        goto out;
    if ((st = r->ps->auth_get(r->s, q->peer_uri, MCSEC_PKMF_AUTH_DIRECT, &local)) != MCSEC_OK) {
        st = pkmf_fail(r, MCSEC_ERR_IO, "the entity's store is unavailable: try again later");
        goto out;
    }
    if (local) { /* this entity serves both UEs: it plays E2 too */
        if ((st = allocate(msb, r->km2, &x.conn_id, &x.kd_id)) != MCSEC_OK)
            goto out;
        x.role = 2;
        if ((st = store_session(r, &x, r->km1, r->km2)) != MCSEC_OK)
            goto out;
    } else {
        st = r->ps->peer_for(r->s, q->peer_uri, &peer);
        if (st == MCSEC_ERR_UNKNOWN_KEY) {
            st = pkmf_fail(r, st, "no entity is known to serve %.100s and it is not authorised here: "
                                  "check the peer's URI, or add its entity with `mcsec-kms "
                                  "prose peer`",
                           q->peer_uri);
            goto out;
        }
        if (st != MCSEC_OK) {
            st = pkmf_fail(r, MCSEC_ERR_IO, "the entity's store is unavailable: try again later");
            goto out;
        }
        mcsec_prose_server_t srv = {.endpoint = peer.endpoint,
                                    .server_public = peer.curve_public,
                                    .device_public = r->kms->info.curve_public,
                                    .device_secret = r->kms->secrets->curve_secret,
                                    .timeout_ms = ENTITY_TIMEOUT_MS,
                                    .attempts = ENTITY_ATTEMPTS};
        st = mcsec_prose_entity_keying(&srv, x.session, x.initiator, x.responder, r->km1, msb,
                                       &ans);
        if (st != MCSEC_OK) {
            st = pkmf_fail(r, st, "peer entity %.60s: %.180s", peer.uri, ans.message);
            goto out;
        }
        if ((ans.kd_id >> 16) != msb) {
            st = pkmf_fail(r, MCSEC_ERR_VERIFY, "peer entity %s changed the KD ID's upper half",
                           peer.uri);
            goto out;
        }
        memcpy(r->km2, ans.km2, sizeof r->km2);
        x.conn_id = ans.conn_id;
        x.kd_id = ans.kd_id;
    }
    x.role = 1;
    x.fetched = 1; /* UE_1 gets its answer now */
    if ((st = store_session(r, &x, r->km1, r->km2)) != MCSEC_OK)
        goto out;
    answer(r, &x, resp);
    snprintf(r->subject, sizeof r->subject, "%s", x.initiator);
    snprintf(r->why, sizeof r->why, "session with %.160s, KD ID %08" PRIx32 "%s", x.responder,
             x.kd_id, local ? " (both UEs served here)" : "");
out:
    mcsec_memzero(&x, sizeof x);
    mcsec_memzero(&ans, sizeof ans);
    return st;
}

mcsec_status_t pkmf_on_direct_keying(pkmf_req_t *r, const Mcsec__Pkmf__DirectKeyingRequest *q,
                                     Mcsec__Pkmf__PkmfResponse *resp)
{
    kms_pkmf_session_t x;
    kms_pkmf_peer_t peer;
    mcsec_status_t st;
    memset(&x, 0, sizeof x);
    r->action = "entity-direct-keying";
    if (q == NULL || q->session.len != PKMF_SESSION_LEN || q->km1.len != 32 ||
        !kms_uri_ok(q->initiator_uri) || !kms_uri_ok(q->responder_uri) || q->kd_id_msb == 0 ||
        q->kd_id_msb > 0xffff) {
        st = pkmf_fail(r, MCSEC_ERR_BAD_INPUT,
                       "malformed Direct-Keying-Request: session and KM1 of 16 and 32 octets, "
                       "two URIs and a KD ID MSB of 1..65535 expected");
        goto out;
    }
    st = r->ps->peer_get(r->s, r->dev->uri, &peer);
    if (st == MCSEC_ERR_UNKNOWN_KEY) {
        st = pkmf_fail(r, MCSEC_ERR_POLICY, "%.100s is not a peer entity of this one: add it with "
                                            "`mcsec-kms prose peer`",
                       r->dev->uri);
        goto out;
    }
    if (st != MCSEC_OK) {
        st = pkmf_fail(r, MCSEC_ERR_IO, "the entity's store is unavailable: try again later");
        goto out;
    }
    size_t il = strlen(q->initiator_uri), sl = strlen(peer.serves);
    if (sl == 0 || sl > il || strcmp(q->initiator_uri + il - sl, peer.serves) != 0) {
        st = pkmf_fail(r, MCSEC_ERR_POLICY, "peer entity %.90s does not serve %.90s", peer.uri,
                       q->initiator_uri);
        goto out;
    }
    snprintf(r->subject, sizeof r->subject, "%s", q->responder_uri);
    if ((st = pkmf_check_auth(r, q->responder_uri, MCSEC_PKMF_AUTH_DIRECT)) != MCSEC_OK)
        goto out;
    memcpy(x.session, q->session.data, PKMF_SESSION_LEN);
    memcpy(r->km1, q->km1.data, 32);
    snprintf(x.initiator, sizeof x.initiator, "%s", q->initiator_uri);
    snprintf(x.responder, sizeof x.responder, "%s", q->responder_uri);
    x.role = 2;
    if ((st = allocate((uint16_t)q->kd_id_msb, r->km2, &x.conn_id, &x.kd_id)) != MCSEC_OK ||
        (st = store_session(r, &x, r->km1, r->km2)) != MCSEC_OK)
        goto out;
    r->body.dk = (Mcsec__Pkmf__DirectKeyingResponse)MCSEC__PKMF__DIRECT_KEYING_RESPONSE__INIT;
    r->body.dk.km2 = (ProtobufCBinaryData){32, r->km2};
    r->body.dk.conn_id = x.conn_id;
    r->body.dk.kd_id = x.kd_id;
    resp->body_case = MCSEC__PKMF__PKMF_RESPONSE__BODY_DIRECT_KEYING;
    resp->direct_keying = &r->body.dk;
    snprintf(r->why, sizeof r->why, "session from %.100s via %.100s, KD ID %08" PRIx32, x.initiator,
             peer.uri, x.kd_id);
out:
    mcsec_memzero(&x, sizeof x);
    return st;
}

mcsec_status_t pkmf_on_nw_fetch(pkmf_req_t *r, const Mcsec__Pkmf__NwKeyFetch *q,
                                Mcsec__Pkmf__PkmfResponse *resp)
{
    kms_pkmf_session_t x;
    uint8_t aad[1024];
    mcsec_status_t st;
    memset(&x, 0, sizeof x);
    r->action = "entity-nw-fetch";
    if (q == NULL || q->session.len != PKMF_SESSION_LEN) {
        st = pkmf_fail(r, MCSEC_ERR_BAD_LENGTH, "the session token must be %d octets: pass the "
                                                "one from the Direct Communication Request",
                       PKMF_SESSION_LEN);
        goto out;
    }
    if ((st = pkmf_check_auth(r, r->dev->uri, MCSEC_PKMF_AUTH_DIRECT)) != MCSEC_OK)
        goto out;
    st = r->ps->session_get(r->s, q->session.data, 2, &x);
    if (st == MCSEC_OK && strcmp(x.responder, r->dev->uri) != 0)
        st = MCSEC_ERR_UNKNOWN_KEY; /* not this UE's: say no more than for an unknown one */
    if (st == MCSEC_ERR_UNKNOWN_KEY) {
        st = pkmf_fail(r, st, "no network keying session with this token for %.100s: ask the peer to "
                              "start again",
                       r->dev->uri);
        goto out;
    }
    if (st != MCSEC_OK) {
        st = pkmf_fail(r, MCSEC_ERR_IO, "the entity's store is unavailable: try again later");
        goto out;
    }
    if (kms_now() - x.created > PKMF_SESSION_LIFETIME) {
        st = pkmf_fail(r, MCSEC_ERR_EXPIRED, "the keying session is older than %d s: ask the "
                                             "peer to start again",
                       PKMF_SESSION_LIFETIME);
        goto out;
    }
    st = r->ps->session_fetch(r->s, x.session, 2);
    if (st == MCSEC_ERR_REPLAY) {
        st = pkmf_fail(r, st, "this keying session was fetched already: a replayed Direct "
                              "Communication Request? ask the peer to start again");
        goto out;
    }
    if (st != MCSEC_OK) {
        st = pkmf_fail(r, MCSEC_ERR_IO, "the entity's store is unavailable: try again later");
        goto out;
    }
    size_t al = pkmf_session_aad(&x, aad, sizeof aad);
    if (al > sizeof aad ||
        (st = pkmf_open2(r->kms, aad, al, x.sealed, x.sealed_len, r->km1, r->km2)) != MCSEC_OK) {
        st = pkmf_fail(r, MCSEC_ERR_VERIFY, "%s", mcsec_kms_last_error());
        goto out;
    }
    answer(r, &x, resp);
    snprintf(r->why, sizeof r->why, "session from %.160s fetched, KD ID %08" PRIx32, x.initiator,
             x.kd_id);
out:
    mcsec_memzero(&x, sizeof x);
    return st;
}
