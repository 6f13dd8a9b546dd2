/* Key-set issuance and the TS 33.180 Annex D documents (KmsInit, KmsKeyProv) a KMS serves.
 *
 * For a user URI and key period number n: UID = UID-format-2(URI, KMS URI, period, offset, n),
 * RSK = SAKKE RSK for the UID (RFC 6508), (SSK, PVT) = ECCSI issuance for the UID (RFC 6507).
 * A KmsKeyProv always carries the period asked for and the next one, so a handset can roll
 * over without a gap. Choices (docs/protocol.md, "KMS service"): CertUri = "<KMS URI>/root",
 * Issuer = the KMS URI, certificate valid from creation for 20 years, a key set valid over its
 * key period [start, start + period - 1]. */
#include <stdio.h>
#include <string.h>

#include "internal.h"
#include "mcsec/kdf.h"
#include "mcsec/secmem.h"

#define CERT_YEARS 20
#define REQ_URL_INIT "/keymanagement/identity/v1/init"
#define REQ_URL_KEYPROV "/keymanagement/identity/v1/keyprov"

static void header(const mcsec_kms_t *kms, const char *user_uri, const char *path,
                   mcsec_kms_response_hdr_t *hdr)
{
    memset(hdr, 0, sizeof *hdr);
    snprintf(hdr->user_uri, sizeof hdr->user_uri, "%s",
             user_uri != NULL ? user_uri : kms->info.kms_uri);
    snprintf(hdr->kms_uri, sizeof hdr->kms_uri, "%s", kms->info.kms_uri);
    hdr->time = kms_now();
    snprintf(hdr->client_req_url, sizeof hdr->client_req_url, "mcsec-kms://%.200s%s",
             kms->info.kms_uri, path);
}

mcsec_status_t kms_issue_keyset(const mcsec_kms_t *kms, const char *uri, uint64_t period_no,
                                mcsec_kms_keyset_t *out)
{
    const mcsec_kms_info_t *in = &kms->info;
    memset(out, 0, sizeof *out);
    if (!kms_uri_ok(uri))
        return MCSEC_ERR_BAD_INPUT;
    snprintf(out->kms_uri, sizeof out->kms_uri, "%s", in->kms_uri);
    snprintf(out->cert_uri, sizeof out->cert_uri, "%.240s/root", in->kms_uri);
    snprintf(out->issuer, sizeof out->issuer, "%s", in->kms_uri);
    snprintf(out->user_uri, sizeof out->user_uri, "%s", uri);
    out->key_period_no = period_no;
    uint64_t start_ntp = in->key_offset + period_no * in->key_period;
    out->valid_from = (int64_t)start_ntp - (int64_t)MCSEC_KMS_NTP_UNIX_OFFSET;
    out->valid_to = out->valid_from + (int64_t)in->key_period - 1;
    out->revoked = false;
    mcsec_status_t rc = mcsec_uid_format2(uri, in->kms_uri, in->key_period, in->key_offset,
                                          period_no, out->uid);
    if (rc == MCSEC_OK)
        rc = mcsec_sakke_issue_rsk(kms->secrets->z, out->uid, MCSEC_UID_LEN, out->rsk);
    if (rc == MCSEC_OK)
        rc = mcsec_eccsi_issue(kms->secrets->ksak, in->kpak, out->uid, MCSEC_UID_LEN, out->ssk,
                               out->pvt);
    if (rc != MCSEC_OK)
        mcsec_kms_keyset_wipe(out, 1);
    return rc;
}

mcsec_status_t kms_doc_init(const mcsec_kms_t *kms, const char *user_uri, char *buf, size_t cap,
                            size_t *len)
{
    mcsec_kms_response_hdr_t hdr;
    mcsec_kms_init_t init;
    memset(&init, 0, sizeof init);
    header(kms, user_uri, REQ_URL_INIT, &hdr);
    snprintf(init.kms_uri, sizeof init.kms_uri, "%s", kms->info.kms_uri);
    snprintf(init.cert_uri, sizeof init.cert_uri, "%.240s/root", kms->info.kms_uri);
    snprintf(init.issuer, sizeof init.issuer, "%s", kms->info.kms_uri);
    init.valid_from = kms->info.created;
    init.valid_to = kms->info.created + (int64_t)CERT_YEARS * 365 * 86400;
    init.revoked = false;
    init.user_id_format = 2;
    init.key_period = kms->info.key_period;
    init.key_offset = kms->info.key_offset;
    memcpy(init.Z, kms->info.Z, sizeof init.Z);
    memcpy(init.kpak, kms->info.kpak, sizeof init.kpak);
    init.parameter_set = 1;
    return mcsec_kmsxml_write_init(&hdr, &init, buf, cap, len);
}

mcsec_status_t kms_doc_keyprov(const mcsec_kms_t *kms, const char *uri, uint64_t period_no,
                               char *buf, size_t cap, size_t *len)
{
    mcsec_kms_response_hdr_t hdr;
    mcsec_kms_keyset_t sets[2];
    mcsec_status_t rc;
    header(kms, uri, REQ_URL_KEYPROV, &hdr);
    if ((rc = kms_issue_keyset(kms, uri, period_no, &sets[0])) != MCSEC_OK)
        goto out;
    if ((rc = kms_issue_keyset(kms, uri, period_no + 1, &sets[1])) != MCSEC_OK)
        goto out;
    rc = mcsec_kmsxml_write_keyprov(&hdr, sets, 2, buf, cap, len);
out:
    mcsec_kms_keyset_wipe(sets, 2);
    return rc;
}

/* --- Public: offline documents --------------------------------------------------------------- */

mcsec_status_t mcsec_kms_write_init(mcsec_kms_t *kms, const char *user_uri, char *buf, size_t cap,
                                    size_t *len)
{
    kms_clear_error();
    if (kms == NULL || buf == NULL || len == NULL || (user_uri != NULL && !kms_uri_ok(user_uri))) {
        kms_error("no KMS, buffer or valid user URI given");
        return MCSEC_ERR_BAD_INPUT;
    }
    mcsec_status_t rc = kms_doc_init(kms, user_uri, buf, cap, len);
    if (rc != MCSEC_OK)
        kms_error("cannot write the KmsInit document: %s", mcsec_strerror(rc));
    return rc;
}

mcsec_status_t mcsec_kms_write_keyprov(mcsec_kms_t *kms, const char *user_uri, uint64_t at_ntp,
                                       char *buf, size_t cap, size_t *len)
{
    uint64_t pn = 0;
    mcsec_status_t rc;
    kms_clear_error();
    if (kms == NULL || buf == NULL || len == NULL) {
        kms_error("no KMS or buffer given");
        return MCSEC_ERR_BAD_INPUT;
    }
    if (!kms_uri_ok(user_uri)) {
        kms_error("user URI '%s' is not 1-255 printable characters without spaces",
                  user_uri != NULL ? user_uri : "");
        return MCSEC_ERR_BAD_INPUT;
    }
    if ((rc = mcsec_kms_period_at(kms, at_ntp, &pn)) != MCSEC_OK)
        return rc;
    rc = kms_doc_keyprov(kms, user_uri, pn, buf, cap, len);
    if (rc != MCSEC_OK) {
        kms_error("cannot issue keys for %s: %s", user_uri, mcsec_strerror(rc));
        mcsec_memzero(buf, cap);
        return rc;
    }
    /* The audit row is committed before the caller gets the keys. */
    rc = kms_audit(kms->store, kms->ops, 0, user_uri, (int64_t)pn, "issue-offline", MCSEC_OK, 0,
                   "periods n and n+1");
    if (rc != MCSEC_OK) {
        mcsec_memzero(buf, cap);
        *len = 0;
    }
    return rc;
}
