/* PRUK pushes (seed 004 1c, 6.X.3.3.2.3): the PKMF sends a PRUK MIKEY message on its own
 * initiative to the UE's delivery address (UDP, the push_address of its last Key Request):
 * a new PRUK and PRUK ID (replacing the current one), or an all-zero PRUK ID, which asks the
 * UE to send a new Key Request. Runs in the caller's process (e.g. `mcsec-kms prose push`
 * while `mcsec-kms serve` runs: the store serialises them). */
#include <arpa/inet.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "internal.h"
#include "mcsec/prose.h"
#include "mcsec/secmem.h"

static mcsec_status_t send_udp(const char *addr, const uint8_t *msg, size_t len)
{
    char host[64];
    const char *colon = strrchr(addr, ':');
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    if (colon == NULL || (size_t)(colon - addr) >= sizeof host)
        return MCSEC_ERR_BAD_INPUT;
    memcpy(host, addr, (size_t)(colon - addr));
    host[colon - addr] = 0;
    sa.sin_port = htons((uint16_t)atoi(colon + 1));
    if (inet_pton(AF_INET, host, &sa.sin_addr) != 1)
        return MCSEC_ERR_BAD_INPUT;
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    if (fd < 0)
        return MCSEC_ERR_IO;
    ssize_t n = sendto(fd, msg, len, 0, (struct sockaddr *)&sa, sizeof sa);
    close(fd);
    return n == (ssize_t)len ? MCSEC_OK : MCSEC_ERR_IO;
}

mcsec_status_t mcsec_pkmf_push(mcsec_kms_t *kms, const char *ue_uri, int new_pruk,
                               uint64_t *pruk_id)
{
    kms_pkmf_ue_t u;
    uint8_t pmk[32], pruk[32], aad[1024], msg[1024];
    uint32_t key_type = 0;
    size_t len = 0;
    int ok = 0, in_tx = 0;
    char reason[160];
    mcsec_status_t st;
    memset(&u, 0, sizeof u);
    memset(pmk, 0, sizeof pmk);
    memset(pruk, 0, sizeof pruk);
    kms_clear_error();
    if (pruk_id != NULL)
        *pruk_id = 0;
    if (kms == NULL || !kms_uri_ok(ue_uri)) {
        kms_error("give the remote UE's URI");
        st = MCSEC_ERR_BAD_INPUT;
        goto out;
    }
    if ((st = kms->ops->pkmf->auth_get(kms->store, ue_uri, MCSEC_PKMF_AUTH_REMOTE_UE, &ok)) !=
        MCSEC_OK)
        goto out;
    if (!ok) {
        kms_error("%s is not authorised as a remote UE: run `mcsec-kms prose authorise "
                  "--remote-ue` first",
                  ue_uri);
        st = MCSEC_ERR_POLICY;
        goto out;
    }
    if ((st = kms->ops->begin(kms->store)) != MCSEC_OK)
        goto out;
    in_tx = 1;
    st = kms->ops->pkmf->ue_get(kms->store, ue_uri, &u);
    if (st == MCSEC_OK && (u.pmk_id == 0 || u.push_addr[0] == 0))
        st = MCSEC_ERR_UNKNOWN_KEY;
    if (st == MCSEC_ERR_UNKNOWN_KEY) {
        kms_error("%s has no PMK or no delivery address here: it must send a Key Request with a "
                  "push address first",
                  ue_uri);
        goto out;
    }
    size_t al = pkmf_ue_aad(&u, aad, sizeof aad);
    if (st != MCSEC_OK || al > sizeof aad ||
        (st = pkmf_open2(kms, aad, al, u.sealed, u.sealed_len, pmk, pruk)) != MCSEC_OK ||
        (st = pkmf_key_type_id(kms, &key_type)) != MCSEC_OK)
        goto out;
    mcsec_prose_pruk_msg_t m = {.key_type_id = key_type, .pmk_id = u.pmk_id,
                                .pkmf_fqdn = kms->info.kms_uri, .ue_uri = u.uri};
    if (new_pruk) {
        if ((st = mcsec_random_bytes(pruk, sizeof pruk)) != MCSEC_OK ||
            (st = pkmf_random_id(&u.pruk_id)) != MCSEC_OK)
            goto out;
        u.pruk_created = kms_now();
        m.pruk_id = u.pruk_id;
        memcpy(m.pruk, pruk, sizeof pruk);
        al = pkmf_ue_aad(&u, aad, sizeof aad);
        if ((st = pkmf_seal2(kms, aad, al, pmk, pruk, u.sealed, &u.sealed_len)) != MCSEC_OK ||
            (st = kms->ops->pkmf->ue_put(kms->store, &u)) != MCSEC_OK)
            goto out;
    }
    st = mcsec_prose_pruk_build(&m, pmk, msg, sizeof msg, &len);
    mcsec_memzero(m.pruk, sizeof m.pruk);
    if (st != MCSEC_OK)
        goto out;
    if (new_pruk)
        snprintf(reason, sizeof reason, "pushed new PRUK %016" PRIx64 " to %s", u.pruk_id,
                 u.push_addr);
    else
        snprintf(reason, sizeof reason, "pushed a Key Request trigger to %s", u.push_addr);
    if ((st = kms_audit(kms->store, kms->ops, 0, ue_uri, -1, "pkmf-push", MCSEC_OK, 0,
                        reason)) != MCSEC_OK ||
        (st = kms->ops->commit(kms->store)) != MCSEC_OK)
        goto out;
    in_tx = 0;
    /* Sent after the commit: a UE never holds a PRUK the PKMF does not know. */
    if ((st = send_udp(u.push_addr, msg, len)) != MCSEC_OK) {
        kms_error("cannot send to %s (UDP): the UE will get its PRUK at its next Key Request",
                  u.push_addr);
        goto out;
    }
    if (pruk_id != NULL)
        *pruk_id = new_pruk ? u.pruk_id : 0;
out:
    if (in_tx)
        kms->ops->rollback(kms->store);
    mcsec_memzero(&u, sizeof u);
    mcsec_memzero(pmk, sizeof pmk);
    mcsec_memzero(pruk, sizeof pruk);
    return st;
}
