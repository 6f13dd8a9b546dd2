/* The relay's Key Request at the PKMF (seed 004 steps 4a-4c, 6.X.3.3.3.2): the relay passes
 * the relay identity from the remote UE's Direct Communication Request (PRUK ID or long-term
 * identity, prose.h encoding). Checks, in order:
 *   the relay identity decodes                        else its codec status;
 *   the PRUK ID is the current PRUK of a UE here, or  else MCSEC_ERR_UNKNOWN_KEY (the UE
 *   the long-term identity has a PRUK here               then retries with its long-term id);
 *   the UE is still authorised as a remote UE         else MCSEC_ERR_POLICY;
 *   the caller may serve that UE                      else MCSEC_ERR_POLICY.
 * Then KD = KDF(PRUK, FC 0x60, KD Derivation Parameter) with a fresh 16-octet parameter per
 * request, so every connection through a relay gets its own KD (the seed's editor's note:
 * "a nonce for KD derivation"). GBA push (GPI) is not implemented: a long-term identity is
 * served with the UE's current PRUK, never a fresh one. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"
#include "mcsec/prose.h"
#include "mcsec/secmem.h"

mcsec_status_t pkmf_on_relay_key(pkmf_req_t *r, const Mcsec__Pkmf__RelayKeyRequest *q,
                                 Mcsec__Pkmf__PkmfResponse *resp)
{
    mcsec_prose_relay_id_t id;
    kms_pkmf_ue_t u;
    uint8_t pruk[MCSEC_PROSE_PRUK_LEN], aad[1024];
    int ok = 0;
    mcsec_status_t st;
    memset(pruk, 0, sizeof pruk);
    memset(&u, 0, sizeof u);
    r->action = "pkmf-relay-key";
    if (q == NULL) {
        st = pkmf_fail(r, MCSEC_ERR_BAD_INPUT, "malformed relay Key Request: no body");
        goto out;
    }
    if ((st = mcsec_prose_relay_id_parse(q->relay_id.data, q->relay_id.len, &id)) != MCSEC_OK) {
        st = pkmf_fail(r, st, "the relay identity does not decode (%s): pass the remote UE's "
                              "identity from its Direct Communication Request unchanged",
                       mcsec_strerror(st));
        goto out;
    }
    if (id.type == MCSEC_PROSE_RELAY_ID_PRUK)
        st = r->ps->ue_by_pruk(r->s, id.pruk_id, &u);
    else
        st = r->ps->ue_get(r->s, id.uri, &u);
    if (st == MCSEC_OK && u.pruk_id == 0)
        st = MCSEC_ERR_UNKNOWN_KEY;
    if (st == MCSEC_ERR_UNKNOWN_KEY) {
        if (id.type == MCSEC_PROSE_RELAY_ID_PRUK)
            st = pkmf_fail(r, st, "PRUK ID %016" PRIx64 " is unknown to this PKMF: the remote UE "
                                  "should retry with its long-term identity",
                           id.pruk_id);
        else
            st = pkmf_fail(r, st, "%.120s holds no PRUK from this PKMF: it must send a Key Request "
                                  "to the PKMF first",
                           id.uri);
        goto out;
    }
    if (st != MCSEC_OK) {
        st = pkmf_fail(r, MCSEC_ERR_IO, "the PKMF store is unavailable: try again later");
        goto out;
    }
    snprintf(r->uri_a, sizeof r->uri_a, "%s", u.uri);
    if ((st = pkmf_check_auth(r, u.uri, MCSEC_PKMF_AUTH_REMOTE_UE)) != MCSEC_OK)
        goto out;
    if ((st = r->ps->relay_get(r->s, r->dev->uri, u.uri, &ok)) != MCSEC_OK) {
        st = pkmf_fail(r, MCSEC_ERR_IO, "the PKMF store is unavailable: try again later");
        goto out;
    }
    if (!ok) {
        st = pkmf_fail(r, MCSEC_ERR_POLICY,
                       "relay %.90s is not authorised to serve %.90s: ask the PKMF operator "
                       "(mcsec-kms prose relay)",
                       r->dev->uri, u.uri);
        goto out;
    }
    size_t al = pkmf_ue_aad(&u, aad, sizeof aad);
    if (al > sizeof aad ||
        (st = pkmf_open2(r->kms, aad, al, u.sealed, u.sealed_len, r->pmk, pruk)) != MCSEC_OK) {
        st = pkmf_fail(r, MCSEC_ERR_VERIFY, "%s", mcsec_kms_last_error());
        goto out;
    }
    mcsec_memzero(r->pmk, sizeof r->pmk);
    if ((st = mcsec_random_bytes(r->param, sizeof r->param)) != MCSEC_OK ||
        (st = mcsec_prose_kd_from_pruk(pruk, r->param, sizeof r->param, r->kd)) != MCSEC_OK)
        goto out;
    r->body.relay = (Mcsec__Pkmf__RelayKeyResponse)MCSEC__PKMF__RELAY_KEY_RESPONSE__INIT;
    r->body.relay.kd.data = r->kd;
    r->body.relay.kd.len = sizeof r->kd;
    r->body.relay.kd_param.data = r->param;
    r->body.relay.kd_param.len = sizeof r->param;
    r->body.relay.ue_uri = r->uri_a;
    resp->body_case = MCSEC__PKMF__PKMF_RESPONSE__BODY_RELAY_KEY;
    resp->relay_key = &r->body.relay;
    snprintf(r->why, sizeof r->why, "KD for remote UE %.160s (PRUK %016" PRIx64 ")", u.uri,
             u.pruk_id);
out:
    mcsec_memzero(pruk, sizeof pruk);
    mcsec_memzero(&u, sizeof u);
    return st;
}
