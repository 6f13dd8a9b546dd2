/* mcsec-kms revoke: revoke a device, or every device of a URI. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

#define CMD "revoke"

static void usage(FILE *f) {
    fprintf(f, "usage: mcsec-kms revoke --dir DIR (--device ID | --uri USER_URI)\n"
               "                        [--reason TEXT] [--passphrase-file FILE]\n\n"
               "Revokes a device: its CURVE key is refused from now on, on new connections and\n"
               "on the next request of a running one (also by a KMS serving right now).\n");
}

int cmd_revoke(int argc, char *argv[]) {
    const char *dir = NULL, *dev_s = NULL, *uri = NULL, *reason = NULL, *pass_file = NULL;
    uint64_t dev = 0;
    int r;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0) {
            usage(stdout);
            return CLI_OK;
        }
        OPT("--dir", dir, "/var/lib/mcsec-kms")
        OPT("--device", dev_s, "12")
        OPT("--uri", uri, "sip:alice@example.org")
        OPT("--reason", reason, "\"handset lost\"")
        OPT("--passphrase-file", pass_file, "/etc/mcsec/kms.pass")
        return kcli_unknown(CMD, argv[i]);
    }
    if (!kcli_required(CMD, "--dir", dir, "/var/lib/mcsec-kms")) return CLI_USAGE;
    if ((dev_s == NULL) == (uri == NULL)) {
        cli_error(CMD, "give exactly one of --device ID and --uri USER_URI");
        return CLI_USAGE;
    }
    if (dev_s != NULL && (!cli_parse_u64(dev_s, &dev) || dev == 0 || dev > INT64_MAX)) {
        cli_error(CMD, "--device '%s' is not a device id; see `mcsec-kms list`", dev_s);
        return CLI_USAGE;
    }
    if (reason != NULL && strlen(reason) > 200) {
        cli_error(CMD, "--reason is longer than 200 characters; shorten it");
        return CLI_USAGE;
    }
    mcsec_kms_t *kms;
    if (kcli_open(CMD, dir, pass_file, &kms) != CLI_OK) return CLI_FAIL;
    size_t count = 1;
    mcsec_status_t rc = dev_s != NULL ? mcsec_kms_revoke(kms, (int64_t)dev, reason)
                                      : mcsec_kms_revoke_uri(kms, uri, reason, &count);
    if (rc != MCSEC_OK)
        cli_error(CMD, "%s", mcsec_kms_last_error());
    else
        printf("revoked: %zu\n", count);
    mcsec_kms_close(kms);
    return rc == MCSEC_OK ? CLI_OK : CLI_FAIL;
}
