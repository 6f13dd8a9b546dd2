/* KMS issuance with the master secrets (SAKKE z, ECCSI KSAK) secret: a real KMS is created
 * (master keys drawn and sealed under the passphrase), its unsealed secrets are marked, and
 * key sets are issued (UID, RSK, SSK, PVT) and written as a KmsKeyProv document. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ct.h"
#include "mcsec/secmem.h"
#include "../../kms/internal.h" /* struct mcsec_kms, kms_issue_keyset, kms_doc_keyprov */

void ct_kms(void)
{
    char tmpl[] = "/tmp/mcsec-ct-kms-XXXXXX", dir[64];
    static const char pass[] = "constant-time test passphrase";
    mcsec_kms_t *kms = NULL;
    mcsec_kms_keyset_t ks;
    char *doc = malloc(64 * 1024);
    size_t doc_len = 0;
    CHECK(doc != NULL && mkdtemp(tmpl) != NULL);
    snprintf(dir, sizeof dir, "%s/kms", tmpl);
    mcsec_kms_config_t cfg = {.dir = dir, .kms_uri = "kms.example.org", .key_period = 86400,
                              .passphrase = pass, .passphrase_len = sizeof pass - 1,
                              .kdf_log2n = 10, .kdf_r = 8, .kdf_p = 1};
    CHECK_STATUS(mcsec_kms_create(&kms, &cfg), MCSEC_OK);
    if (kms == NULL || doc == NULL)
        goto out;
    CT_SECRET(kms->secrets->z, sizeof kms->secrets->z);
    CT_SECRET(kms->secrets->ksak, sizeof kms->secrets->ksak);
    for (uint64_t period = 1000; period < 1002; period++) {
        CHECK_STATUS(kms_issue_keyset(kms, "sip:alice@example.org", period, &ks), MCSEC_OK);
        /* The RSK's coordinates and the SSK come out secret; UID and PVT are public. */
        CHECK(ct_is_secret(ks.rsk + 1, sizeof ks.rsk - 1));
        CHECK(ct_is_secret(ks.ssk, sizeof ks.ssk));
        CHECK(ks.pvt[0] == 0x04 && ks.uid[0] + ks.uid[31] < 512);
        mcsec_kms_keyset_wipe(&ks, 1);
    }
    /* The KmsKeyProv document carries RSK and SSK as hex (periods n and n + 1). */
    CHECK_STATUS(kms_doc_keyprov(kms, "sip:alice@example.org", 1000, doc, 64 * 1024, &doc_len),
                 MCSEC_OK);
    CHECK(doc_len > 0 && doc_len < 64 * 1024);
    mcsec_memzero(doc, 64 * 1024);
out:
    mcsec_kms_close(kms);
    free(doc);
    if (tmpl[0] != 0) {
        char cmd[128];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpl);
        CHECK(system(cmd) == 0);
    }
}
