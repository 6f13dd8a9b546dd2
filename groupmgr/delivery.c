/* The service's decisions, apart from the sockets: is a registration authentic and its member
 * entitled to the groups it asks for; is an acknowledgement a proof that this member decrypted
 * this GMK. Statuses and the one-line answers are in docs/protocol.md ("Group Manager
 * service"). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "mcsec/gmclient.h"
#include "mcsec/kdf.h"
#include "mcsec/secmem.h"

#define WHY(...) snprintf(why, why_cap, __VA_ARGS__)

mcsec_status_t gm_check_register(mcsec_groupmgr_t *gm, gm_store_t *s,
                                 mcsec_eccsi_verifier_t *verifier, const char *member_uri,
                                 char *const *groups, size_t n_groups, uint64_t time,
                                 const uint8_t *sig, size_t sig_len,
                                 const uint8_t curve_public[32], uint64_t now, uint64_t window,
                                 gm_reg_t *reg, char *why, size_t why_cap)
{
    gm_kms_t k;
    gm_group_row_t g;
    uint8_t uid[MCSEC_UID_LEN], *octets = NULL;
    size_t len = 0;
    uint64_t period;
    mcsec_status_t rc;
    memset(reg, 0, sizeof *reg);
    why[0] = 0;
    if (!gm_uri_ok(member_uri)) {
        WHY("member_uri is not 1-255 printable characters without spaces");
        return MCSEC_ERR_BAD_INPUT;
    }
    if (n_groups == 0 || n_groups > MCSEC_GROUPMGR_GROUPS_MAX) {
        WHY("name 1 to %d groups in group_uris", MCSEC_GROUPMGR_GROUPS_MAX);
        return MCSEC_ERR_BAD_INPUT;
    }
    for (size_t i = 0; i < n_groups; i++) {
        if (!gm_uri_ok(groups[i])) {
            WHY("a group URI is not 1-255 printable characters without spaces");
            return MCSEC_ERR_BAD_INPUT;
        }
        for (size_t j = 0; j < i; j++)
            if (strcmp(groups[i], groups[j]) == 0) {
                WHY("group %s is named twice: name each group once", groups[i]);
                return MCSEC_ERR_BAD_INPUT;
            }
    }
    uint64_t diff = time > now ? time - now : now - time;
    if (diff > window << 32) {
        WHY("the registration time is %" PRIu64 " s from the Group Manager's clock (more than "
            "%" PRIu64 "): set the handset's clock",
            diff >> 32, window);
        return MCSEC_ERR_STALE;
    }
    if ((rc = gm_kms_get(gm, &k)) != MCSEC_OK) {
        WHY("the Group Manager has no KMS certificate yet: try again later");
        return MCSEC_ERR_IO;
    }
    if (sig_len != MCSEC_ECCSI_SIG_LEN) {
        WHY("the registration signature must be a %d-octet ECCSI signature",
            MCSEC_ECCSI_SIG_LEN);
        return MCSEC_ERR_BAD_LENGTH;
    }
    if ((rc = mcsec_key_period_no(time >> 32, k.key_period, k.key_offset, &period)) != MCSEC_OK ||
        (rc = mcsec_uid_format2(member_uri, k.kms_uri, k.key_period, k.key_offset, period, uid)) !=
            MCSEC_OK) {
        WHY("the registration time is before the KMS's first key period: set the clock");
        return MCSEC_ERR_STALE;
    }
    if ((rc = mcsec_gm_register_octets(member_uri, (const char *const *)groups, n_groups, time,
                                       curve_public, NULL, 0, &len)) != MCSEC_ERR_BAD_LENGTH) {
        WHY("malformed registration");
        return MCSEC_ERR_BAD_INPUT;
    }
    if ((octets = malloc(len)) == NULL) {
        WHY("out of memory: try again later");
        return MCSEC_ERR_NOMEM;
    }
    rc = mcsec_gm_register_octets(member_uri, (const char *const *)groups, n_groups, time,
                                  curve_public, octets, len, &len);
    if (rc == MCSEC_OK)
        rc = mcsec_eccsi_verify(verifier, uid, sizeof uid, octets, len, sig, sig_len);
    free(octets);
    if (rc != MCSEC_OK) {
        WHY("the registration signature does not verify as %s's (key period %" PRIu64 ") over "
            "this connection's CURVE key: sign with this period's identity key",
            member_uri, period);
        return MCSEC_ERR_VERIFY;
    }
    /* Authentic: now the membership. */
    for (size_t i = 0; i < n_groups; i++) {
        rc = gm->ops->group_get(s, groups[i], &g);
        if (rc == MCSEC_OK)
            rc = gm->ops->member_exists(s, groups[i], member_uri);
        if (rc == MCSEC_ERR_UNKNOWN_KEY) {
            WHY("%s is not a member of group %s: drop that group, or ask the group manager's "
                "operator to add you",
                member_uri, groups[i]);
            return MCSEC_ERR_POLICY;
        }
        if (rc != MCSEC_OK) {
            WHY("the Group Manager store is unavailable: try again later");
            return MCSEC_ERR_IO;
        }
    }
    snprintf(reg->member, sizeof reg->member, "%s", member_uri);
    for (size_t i = 0; i < n_groups; i++, reg->n_groups++)
        if ((reg->groups[i] = strdup(groups[i])) == NULL) {
            gm_reg_free(reg);
            WHY("out of memory: try again later");
            return MCSEC_ERR_NOMEM;
        }
    return MCSEC_OK;
}

void gm_reg_free(gm_reg_t *reg)
{
    for (size_t i = 0; i < reg->n_groups; i++)
        free(reg->groups[i]);
    memset(reg, 0, sizeof *reg);
}

mcsec_status_t gm_check_ack(mcsec_groupmgr_t *gm, gm_store_t *s, const gm_reg_t *reg,
                            const char *group_uri, uint32_t gmk_id, const uint8_t *proof,
                            size_t proof_len, int64_t *delivery, char *why, size_t why_cap)
{
    gm_gmk_row_t row;
    gm_delivery_row_t d;
    uint8_t gmk[MCSEC_GMK_LEN], want[MCSEC_GM_PROOF_LEN];
    mcsec_status_t rc;
    size_t i;
    why[0] = 0;
    *delivery = 0;
    memset(&row, 0, sizeof row);
    for (i = 0; i < reg->n_groups; i++)
        if (group_uri != NULL && strcmp(reg->groups[i], group_uri) == 0)
            break;
    if (i == reg->n_groups) {
        WHY("this connection is not registered for group %s: register for it first",
            group_uri != NULL ? group_uri : "");
        return MCSEC_ERR_POLICY;
    }
    rc = gm->ops->gmk_get(s, group_uri, gmk_id, &row);
    if (rc == MCSEC_OK)
        rc = gm->ops->delivery_get(s, row.id, reg->member, &d);
    if (rc == MCSEC_ERR_UNKNOWN_KEY) {
        WHY("no GMK-ID %08" PRIx32 " of %s was sent to %s", gmk_id, group_uri, reg->member);
        goto out;
    }
    if (rc != MCSEC_OK) {
        WHY("the Group Manager store is unavailable: try again later");
        rc = MCSEC_ERR_IO;
        goto out;
    }
    if (proof == NULL || proof_len != MCSEC_GM_PROOF_LEN) {
        WHY("the acknowledgement needs a %d-octet proof", MCSEC_GM_PROOF_LEN);
        rc = MCSEC_ERR_VERIFY;
        goto out;
    }
    if ((rc = gm_gmk_unseal(gm, &row, gmk)) == MCSEC_ERR_VERIFY) {
        WHY("the Group Manager's record of GMK-ID %08" PRIx32 " is damaged: it cannot check the "
            "proof until its operator restores the store",
            gmk_id);
        rc = MCSEC_ERR_IO;
        goto out;
    }
    if (rc != MCSEC_OK || (rc = mcsec_gm_ack_proof(gmk, reg->member, gmk_id, want)) != MCSEC_OK) {
        WHY("the Group Manager cannot check the proof: try again later");
        rc = MCSEC_ERR_IO;
        goto out;
    }
    if (!mcsec_ct_equal(want, proof, sizeof want)) {
        WHY("wrong proof for GMK-ID %08" PRIx32 ": acknowledge only a GMK you decrypted",
            gmk_id);
        rc = MCSEC_ERR_VERIFY;
        goto out;
    }
    *delivery = d.id;
    rc = MCSEC_OK;
out:
    mcsec_memzero(gmk, sizeof gmk);
    mcsec_memzero(want, sizeof want);
    mcsec_memzero(row.sealed, sizeof row.sealed);
    return rc;
}
