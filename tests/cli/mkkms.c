/* test_mkkms: a throw-away KMS for the CLI tests. Writes OUTDIR/kms-init.xml (KmsInit) and
 * OUTDIR/keyprov-<i>.xml (KmsKeyProv with the key sets of the current and the next key
 * period) for each URI, in the TS 33.180 XML the mcsec KMS serves.
 * usage: test_mkkms OUTDIR KMS_URI URI [URI ...] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mcsec/eccsi.h"
#include "mcsec/kdf.h"
#include "mcsec/kmsxml.h"
#include "mcsec/sakke.h"
#include "mcsec/secmem.h"

#define PERIOD 2592000u

static int write_file(const char *dir, const char *name, const char *data, size_t len) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (f == NULL || fwrite(data, 1, len, f) != len || fclose(f) != 0) {
        fprintf(stderr, "test_mkkms: cannot write %s\n", path);
        return 0;
    }
    return 1;
}

int main(int argc, char **argv) {
    static char buf[MCSEC_KMSXML_MAX_LEN + 1];
    uint8_t z[MCSEC_SAKKE_SCALAR_LEN], ksak[MCSEC_ECCSI_SCALAR_LEN];
    mcsec_kms_response_hdr_t hdr;
    mcsec_kms_init_t init;
    mcsec_kms_keyset_t sets[2];
    size_t len;
    if (argc < 4) {
        fprintf(stderr, "usage: test_mkkms OUTDIR KMS_URI URI [URI ...]\n");
        return 2;
    }
    if (mcsec_init() != MCSEC_OK) return 1;
    int64_t now = (int64_t)time(NULL);
    uint64_t period_no;
    if (mcsec_key_period_no((uint64_t)now + 2208988800u, PERIOD, 0, &period_no) != MCSEC_OK)
        return 1;

    memset(&hdr, 0, sizeof hdr);
    memset(&init, 0, sizeof init);
    snprintf(hdr.kms_uri, sizeof hdr.kms_uri, "%s", argv[2]);
    snprintf(hdr.user_uri, sizeof hdr.user_uri, "%s", argv[3]);
    snprintf(hdr.client_req_url, sizeof hdr.client_req_url, "https://%s/keymanagement/init",
             argv[2]);
    hdr.time = now;
    snprintf(init.kms_uri, sizeof init.kms_uri, "%s", argv[2]);
    snprintf(init.cert_uri, sizeof init.cert_uri, "cert1.%s", argv[2]);
    snprintf(init.issuer, sizeof init.issuer, "www.%s", argv[2]);
    init.valid_from = now - 86400;
    init.valid_to = now + 365 * 86400;
    init.user_id_format = 2;
    init.key_period = PERIOD;
    init.key_offset = 0;
    init.parameter_set = 1;
    if (mcsec_sakke_kms_generate(z, init.Z) != MCSEC_OK ||
        mcsec_eccsi_kms_generate(ksak, init.kpak) != MCSEC_OK ||
        mcsec_kmsxml_write_init(&hdr, &init, buf, sizeof buf, &len) != MCSEC_OK ||
        !write_file(argv[1], "kms-init.xml", buf, len))
        return 1;

    for (int u = 3; u < argc; u++) {
        char name[64];
        memset(sets, 0, sizeof sets);
        snprintf(hdr.user_uri, sizeof hdr.user_uri, "%s", argv[u]);
        for (int k = 0; k < 2; k++) {
            mcsec_kms_keyset_t *s = &sets[k];
            snprintf(s->kms_uri, sizeof s->kms_uri, "%s", init.kms_uri);
            snprintf(s->cert_uri, sizeof s->cert_uri, "%s", init.cert_uri);
            snprintf(s->issuer, sizeof s->issuer, "%s", init.issuer);
            snprintf(s->user_uri, sizeof s->user_uri, "%s", argv[u]);
            s->key_period_no = period_no + (uint64_t)k;
            s->valid_from = (int64_t)(s->key_period_no * PERIOD) - 2208988800;
            s->valid_to = s->valid_from + PERIOD;
            if (mcsec_uid_format2(argv[u], init.kms_uri, PERIOD, 0, s->key_period_no, s->uid) !=
                    MCSEC_OK ||
                mcsec_sakke_issue_rsk(z, s->uid, sizeof s->uid, s->rsk) != MCSEC_OK ||
                mcsec_eccsi_issue(ksak, init.kpak, s->uid, sizeof s->uid, s->ssk, s->pvt) !=
                    MCSEC_OK)
                return 1;
        }
        snprintf(name, sizeof name, "keyprov-%d.xml", u - 3);
        if (mcsec_kmsxml_write_keyprov(&hdr, sets, 2, buf, sizeof buf, &len) != MCSEC_OK ||
            !write_file(argv[1], name, buf, len))
            return 1;
        mcsec_kms_keyset_wipe(sets, 2);
    }
    mcsec_memzero(z, sizeof z);
    mcsec_memzero(ksak, sizeof ksak);
    return 0;
}
