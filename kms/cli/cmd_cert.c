/* mcsec-kms cert: the KMS certificate (KmsInit) as a file, for air-gapped provisioning. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define CMD "cert"

static void usage(FILE *f) {
    fprintf(f, "usage: mcsec-kms cert --dir DIR --out FILE [--uri USER_URI]\n"
               "                      [--passphrase-file FILE]\n\n"
               "Writes the TS 33.180 KmsResponse carrying the KmsInit document (the KMS's\n"
               "public keys and key period) to FILE.\n");
}

int cmd_cert(int argc, char *argv[]) {
    const char *dir = NULL, *out = NULL, *uri = NULL, *pass_file = NULL;
    int r;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0) {
            usage(stdout);
            return CLI_OK;
        }
        OPT("--dir", dir, "/var/lib/mcsec-kms")
        OPT("--out", out, "kms-init.xml")
        OPT("--uri", uri, "sip:alice@example.org")
        OPT("--passphrase-file", pass_file, "/etc/mcsec/kms.pass")
        return kcli_unknown(CMD, argv[i]);
    }
    if (!kcli_required(CMD, "--dir", dir, "/var/lib/mcsec-kms") ||
        !kcli_required(CMD, "--out", out, "kms-init.xml"))
        return CLI_USAGE;
    mcsec_kms_t *kms;
    if (kcli_open(CMD, dir, pass_file, &kms) != CLI_OK) return CLI_FAIL;
    char *buf = malloc(MCSEC_KMS_DOC_MAX);
    size_t len = 0;
    int ret = CLI_FAIL;
    if (buf == NULL)
        cli_error(CMD, "out of memory");
    else if (mcsec_kms_write_init(kms, uri, buf, MCSEC_KMS_DOC_MAX, &len) != MCSEC_OK)
        cli_error(CMD, "%s", mcsec_kms_last_error());
    else
        ret = kcli_write(CMD, out, buf, len, 0644, 1);
    free(buf);
    mcsec_kms_close(kms);
    return ret;
}
