/* mcsec-kms issue: a user's key sets (KmsKeyProv) as a file, for air-gapped provisioning. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "mcsec/secmem.h"

#define CMD "issue"

static void usage(FILE *f) {
    fprintf(f, "usage: mcsec-kms issue --dir DIR --uri USER_URI [--at RFC3339] --out FILE\n"
               "                       [--passphrase-file FILE]\n\n"
               "Writes the KmsResponse carrying KmsKeyProv with USER_URI's key sets for the key\n"
               "period containing --at (default: now) and the next one to FILE (0600; it holds\n"
               "secret keys: move it to the handset and delete it). Audited as issue-offline.\n");
}

int cmd_issue(int argc, char *argv[]) {
    const char *dir = NULL, *out = NULL, *uri = NULL, *at_s = NULL, *pass_file = NULL;
    uint64_t at = 0;
    int r;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0) {
            usage(stdout);
            return CLI_OK;
        }
        OPT("--dir", dir, "/var/lib/mcsec-kms")
        OPT("--out", out, "alice-keys.xml")
        OPT("--uri", uri, "sip:alice@example.org")
        OPT("--at", at_s, "2025-01-01T00:00:00Z")
        OPT("--passphrase-file", pass_file, "/etc/mcsec/kms.pass")
        return kcli_unknown(CMD, argv[i]);
    }
    if (!kcli_required(CMD, "--dir", dir, "/var/lib/mcsec-kms") ||
        !kcli_required(CMD, "--uri", uri, "sip:alice@example.org") ||
        !kcli_required(CMD, "--out", out, "alice-keys.xml"))
        return CLI_USAGE;
    if (at_s != NULL && !cli_parse_rfc3339(at_s, &at)) {
        cli_error(CMD, "--at '%s' is not an RFC 3339 time, e.g. 2025-01-01T00:00:00Z", at_s);
        return CLI_USAGE;
    }
    mcsec_kms_t *kms;
    if (kcli_open(CMD, dir, pass_file, &kms) != CLI_OK) return CLI_FAIL;
    char *buf = malloc(MCSEC_KMS_DOC_MAX);
    size_t len = 0;
    int ret = CLI_FAIL;
    if (buf == NULL)
        cli_error(CMD, "out of memory");
    else if (mcsec_kms_write_keyprov(kms, uri, at, buf, MCSEC_KMS_DOC_MAX, &len) != MCSEC_OK)
        cli_error(CMD, "%s", mcsec_kms_last_error());
    else
        ret = kcli_write(CMD, out, buf, len, 0600, 1);
    if (buf != NULL) mcsec_memzero(buf, MCSEC_KMS_DOC_MAX);
    free(buf);
    mcsec_kms_close(kms);
    return ret;
}
