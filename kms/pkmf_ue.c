/* The remote UE's Key Request at the PKMF (seed 004 steps 1a-1c, 6.X.3.3.2.2):
 *
 *   - the caller (the URI bound to its CURVE key) must be authorised as a remote UE, else
 *     MCSEC_ERR_POLICY;
 *   - want = false: the UE no longer wants PRUKs: its record is deleted, the response says
 *     stopped;
 *   - otherwise the response carries the Key Type ID, the UE's PMK and PMK ID (created on the
 *     first request), and a PRUK MIKEY message (prose.h) with a new PRUK and PRUK ID when the
 *     UE has none here, does not list the current PRUK ID among those it holds, or the PRUK is
 *     older than PKMF_PRUK_LIFETIME (the PKMF's refresh policy). A new PRUK replaces the
 *     previous one: the PKMF keeps one PRUK per UE, so a relay presenting an older PRUK ID is
 *     refused (MCSEC_ERR_UNKNOWN_KEY) and the UE falls back to its long-term identity;
 *   - push_address, when given, becomes the UE's delivery address for mcsec_pkmf_push.
 * The read-modify-write of the UE's record is one transaction. */
#include <arpa/inet.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "mcsec/prose.h"
#include "mcsec/secmem.h"

#define PKMF_PRUK_LIFETIME (30 * 86400) /* seconds */

/* "A.B.C.D:PORT" with a port in 1..65535. */
static int addr_ok(const char *a)
{
    char host[INET_ADDRSTRLEN];
    const char *colon = strrchr(a, ':');
    struct in_addr in;
    if (colon == NULL || (size_t)(colon - a) >= sizeof host || colon[1] == 0)
        return 0;
    memcpy(host, a, (size_t)(colon - a));
    host[colon - a] = 0;
    char *end;
    long port = strtol(colon + 1, &end, 10);
    return *end == 0 && port >= 1 && port <= 65535 && inet_pton(AF_INET, host, &in) == 1;
}

mcsec_status_t pkmf_on_ue_key(pkmf_req_t *r, const Mcsec__Pkmf__UeKeyRequest *q,
                              Mcsec__Pkmf__PkmfResponse *resp)
{
    kms_pkmf_ue_t u;
    uint8_t pruk[MCSEC_PROSE_PRUK_LEN], aad[1024];
    uint32_t key_type = 0;
    int in_tx = 0, new_pruk = 0;
    mcsec_status_t st;
    memset(pruk, 0, sizeof pruk);
    memset(&u, 0, sizeof u);
    r->action = "pkmf-ue-key";
    if (q == NULL) {
        st = pkmf_fail(r, MCSEC_ERR_BAD_INPUT, "malformed Key Request: no body");
        goto out;
    }
    if ((st = pkmf_check_auth(r, r->dev->uri, MCSEC_PKMF_AUTH_REMOTE_UE)) != MCSEC_OK)
        goto out;
    if (q->push_address[0] != 0 &&
        (strlen(q->push_address) >= PKMF_ADDR_MAX || !addr_ok(q->push_address))) {
        st = pkmf_fail(r, MCSEC_ERR_BAD_INPUT,
                       "push_address is not A.B.C.D:PORT: give the UDP address for PRUK pushes");
        goto out;
    }
    r->body.ue = (Mcsec__Pkmf__UeKeyResponse)MCSEC__PKMF__UE_KEY_RESPONSE__INIT;
    if (!q->want) {
        if ((st = r->ps->ue_delete(r->s, r->dev->uri)) != MCSEC_OK) {
            st = pkmf_fail(r, MCSEC_ERR_IO, "the PKMF store is unavailable: try again later");
            goto out;
        }
        r->action = "pkmf-ue-stop";
        r->body.ue.stopped = 1;
        snprintf(r->why, sizeof r->why, "PRUK deliveries stopped");
        goto respond;
    }
    if ((st = pkmf_key_type_id(r->kms, &key_type)) != MCSEC_OK)
        goto out;
    if ((st = r->kms->ops->begin(r->s)) != MCSEC_OK) {
        st = pkmf_fail(r, MCSEC_ERR_IO, "the PKMF store is busy: try again later");
        goto out;
    }
    in_tx = 1;
    st = r->ps->ue_get(r->s, r->dev->uri, &u);
    if (st == MCSEC_ERR_UNKNOWN_KEY) {
        memset(&u, 0, sizeof u);
        snprintf(u.uri, sizeof u.uri, "%s", r->dev->uri);
        st = MCSEC_OK;
    } else if (st == MCSEC_OK) {
        size_t al = pkmf_ue_aad(&u, aad, sizeof aad);
        if (al > sizeof aad || (st = pkmf_open2(r->kms, aad, al, u.sealed, u.sealed_len, r->pmk,
                                                pruk)) != MCSEC_OK) {
            st = pkmf_fail(r, MCSEC_ERR_VERIFY, "%s", mcsec_kms_last_error());
            goto out;
        }
    }
    if (st != MCSEC_OK) {
        st = pkmf_fail(r, MCSEC_ERR_IO, "the PKMF store is unavailable: try again later");
        goto out;
    }
    if (u.pmk_id == 0) { /* first request: a PMK */
        if ((st = mcsec_random_bytes(r->pmk, sizeof r->pmk)) != MCSEC_OK ||
            (st = pkmf_random_id(&u.pmk_id)) != MCSEC_OK)
            goto out;
    }
    int held = 0;
    for (size_t i = 0; i < q->n_pruk_ids; i++)
        held |= u.pruk_id != 0 && q->pruk_ids[i] == u.pruk_id;
    if (!held || kms_now() - u.pruk_created > PKMF_PRUK_LIFETIME) {
        if ((st = mcsec_random_bytes(pruk, sizeof pruk)) != MCSEC_OK ||
            (st = pkmf_random_id(&u.pruk_id)) != MCSEC_OK)
            goto out;
        u.pruk_created = kms_now();
        new_pruk = 1;
    }
    if (q->push_address[0] != 0)
        snprintf(u.push_addr, sizeof u.push_addr, "%s", q->push_address);
    size_t al = pkmf_ue_aad(&u, aad, sizeof aad);
    if (al > sizeof aad) {
        st = pkmf_fail(r, MCSEC_ERR_INTERNAL, "UE identity too long to seal");
        goto out;
    }
    if ((st = pkmf_seal2(r->kms, aad, al, r->pmk, pruk, u.sealed, &u.sealed_len)) != MCSEC_OK)
        goto out;
    if (new_pruk) {
        mcsec_prose_pruk_msg_t m = {.key_type_id = key_type,
                                    .pruk_id = u.pruk_id,
                                    .pmk_id = u.pmk_id,
                                    .pkmf_fqdn = r->kms->info.kms_uri,
                                    .ue_uri = u.uri};
        memcpy(m.pruk, pruk, sizeof pruk);
        size_t ml = 0;
        st = mcsec_prose_pruk_build(&m, r->pmk, r->mikey, sizeof r->mikey, &ml);
        mcsec_memzero(m.pruk, sizeof m.pruk);
        if (st != MCSEC_OK) {
            st = pkmf_fail(r, st, "cannot build the PRUK MIKEY message");
            goto out;
        }
        r->body.ue.mikey.data = r->mikey;
        r->body.ue.mikey.len = ml;
    }
    if ((st = r->ps->ue_put(r->s, &u)) != MCSEC_OK || (st = r->kms->ops->commit(r->s)) != MCSEC_OK) {
        st = pkmf_fail(r, MCSEC_ERR_IO, "the PKMF store is unavailable: try again later");
        goto out;
    }
    in_tx = 0;
    r->body.ue.key_type_id = key_type;
    r->body.ue.pmk.data = r->pmk;
    r->body.ue.pmk.len = sizeof r->pmk;
    r->body.ue.pmk_id = u.pmk_id;
    snprintf(r->why, sizeof r->why, new_pruk ? "new PRUK %016" PRIx64 : "PRUK %016" PRIx64 " current",
             u.pruk_id);
respond:
    resp->body_case = MCSEC__PKMF__PKMF_RESPONSE__BODY_UE_KEY;
    resp->ue_key = &r->body.ue;
    st = MCSEC_OK;
out:
    if (in_tx)
        r->kms->ops->rollback(r->s);
    mcsec_memzero(pruk, sizeof pruk);
    mcsec_memzero(&u, sizeof u);
    return st;
}
