/* mcsec-kms prose push: a PRUK MIKEY message to a remote UE's delivery address (UDP). */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "mcsec/pkmf.h"

#define CMD "prose push"

static void usage(FILE *f) {
    fprintf(f, "usage: mcsec-kms prose push --dir DIR --uri USER_URI [--trigger]\n"
               "                            [--passphrase-file FILE]\n\n"
               "Sends the UE a new PRUK and PRUK ID (replacing its current one here), or with\n"
               "--trigger an all-zero PRUK ID asking it to send a new Key Request. Goes to the\n"
               "UDP address of the UE's last Key Request, protected with its PMK.\n");
}

int cmd_prose_push(int argc, char *argv[]) {
    const char *dir = NULL, *uri = NULL, *pass_file = NULL;
    int r, trigger = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0) {
            usage(stdout);
            return CLI_OK;
        }
        if (strcmp(argv[i], "--trigger") == 0) {
            trigger = 1;
            continue;
        }
        OPT("--dir", dir, "/var/lib/mcsec-kms")
        OPT("--uri", uri, "sip:alice@example.org")
        OPT("--passphrase-file", pass_file, "/etc/mcsec/kms.pass")
        return kcli_unknown(CMD, argv[i]);
    }
    if (!kcli_required(CMD, "--dir", dir, "/var/lib/mcsec-kms") ||
        !kcli_required(CMD, "--uri", uri, "sip:alice@example.org"))
        return CLI_USAGE;
    mcsec_kms_t *kms;
    if (kcli_open(CMD, dir, pass_file, &kms) != CLI_OK) return CLI_FAIL;
    uint64_t id = 0;
    mcsec_status_t rc = mcsec_pkmf_push(kms, uri, !trigger, &id);
    if (rc != MCSEC_OK)
        cli_error(CMD, "%s", mcsec_kms_last_error()[0] ? mcsec_kms_last_error() : mcsec_strerror(rc));
    else if (trigger)
        printf("pushed a Key Request trigger to %s\n", uri);
    else
        printf("pushed PRUK %016" PRIx64 " to %s\n", id, uri);
    mcsec_kms_close(kms);
    return rc == MCSEC_OK ? CLI_OK : CLI_FAIL;
}
