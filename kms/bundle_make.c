/* Handset bundles made by the KMS: a just-enrolled device's credential, the KMS's CURVE
 * public key and endpoint, KmsInit and KmsKeyProv (current and next period), sealed under a
 * one-time code (include/mcsec/bundle.h). Used by `enroll --out` and by bulk provisioning. */
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "mcsec/bundle.h"
#include "mcsec/secmem.h"

mcsec_status_t kms_bundle_write(const mcsec_kms_t *kms, kms_store_t *s,
                                const mcsec_kms_device_t *d, const mcsec_kms_credential_t *cred,
                                uint64_t period_no, const char *path, char *code)
{
    mcsec_status_t rc = MCSEC_ERR_NOMEM;
    char *init = malloc(MCSEC_KMS_DOC_MAX), *keyprov = malloc(MCSEC_KMS_DOC_MAX);
    char *groups_text = strdup(d->groups), *group_ptrs[MCSEC_KMS_GROUPS_MAX];
    size_t init_len = 0, keyprov_len = 0, n_groups = 0;
    mcsec_bundle_t b;
    memset(&b, 0, sizeof b);
    if (init == NULL || keyprov == NULL || groups_text == NULL)
        goto out;
    for (char *g = groups_text; *g && n_groups < MCSEC_KMS_GROUPS_MAX;) {
        char *nl = strchr(g, '\n');
        group_ptrs[n_groups++] = g;
        if (nl == NULL)
            break;
        *nl = 0;
        g = nl + 1;
    }
    if ((rc = kms_doc_init(kms, d->uri, init, MCSEC_KMS_DOC_MAX, &init_len)) != MCSEC_OK ||
        (rc = kms_doc_keyprov(kms, d->uri, period_no, keyprov, MCSEC_KMS_DOC_MAX,
                              &keyprov_len)) != MCSEC_OK) {
        kms_error("cannot issue the keys of %s: %s", d->uri, mcsec_strerror(rc));
        goto out;
    }
    b.user_uri = (char *)d->uri;
    b.role = (char *)mcsec_kms_role_name(d->role);
    b.groups = group_ptrs;
    b.n_groups = n_groups;
    memcpy(b.device_public, cred->curve_public, sizeof b.device_public);
    memcpy(b.device_secret, cred->curve_secret, sizeof b.device_secret);
    memcpy(b.kms_public, kms->info.curve_public, sizeof b.kms_public);
    b.kms_endpoint = (char *)kms->info.endpoint;
    b.init_xml = init;
    b.init_len = init_len;
    b.keyprov_xml = keyprov;
    b.keyprov_len = keyprov_len;
    b.created = (uint64_t)kms_now();
    /* Audited before the bundle exists: no key set leaves the KMS unrecorded. */
    if (s != NULL && (rc = kms_audit(s, kms->ops, d->id, d->uri, (int64_t)period_no,
                                     "issue-bundle", MCSEC_OK, 0, "periods n and n+1")) !=
                         MCSEC_OK)
        goto out;
    rc = mcsec_bundle_seal(&b, path, code);
    if (rc == MCSEC_ERR_IO)
        kms_error("cannot write bundle %s (it may exist already): choose an empty directory",
                  path);
    else if (rc != MCSEC_OK)
        kms_error("cannot seal bundle %s: %s", path, mcsec_strerror(rc));
out:
    if (keyprov != NULL)
        mcsec_memzero(keyprov, MCSEC_KMS_DOC_MAX);
    mcsec_memzero(&b, sizeof b);
    free(keyprov);
    free(init);
    free(groups_text);
    return rc;
}

mcsec_status_t mcsec_kms_enroll_bundle(mcsec_kms_t *kms, const mcsec_kms_enroll_t *req,
                                       uint64_t at_ntp, const char *path, char *code,
                                       mcsec_kms_credential_t *out)
{
    mcsec_kms_device_t d;
    uint64_t pn;
    mcsec_status_t rc;
    if (req == NULL || req->curve_public != NULL || path == NULL || code == NULL) {
        kms_error("a bundle needs a KMS-made key pair, a path and room for the code");
        return MCSEC_ERR_BAD_INPUT;
    }
    if ((rc = mcsec_kms_period_at(kms, at_ntp, &pn)) != MCSEC_OK)
        return rc;
    if ((rc = mcsec_kms_enroll(kms, req, out)) != MCSEC_OK)
        return rc;
    if ((rc = kms->ops->device_get(kms->store, out->device_id, &d)) == MCSEC_OK)
        rc = kms_bundle_write(kms, kms->store, &d, out, pn, path, code);
    return rc;
}
