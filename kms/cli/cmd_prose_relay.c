/* mcsec-kms prose relay: which UE-to-network relay may serve which remote UE. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "mcsec/pkmf.h"

#define CMD "prose relay"

static void usage(FILE *f) {
    fprintf(f, "usage: mcsec-kms prose relay --dir DIR --relay RELAY_URI --ue (USER_URI | '*')\n"
               "                             [--withdraw] [--passphrase-file FILE]\n\n"
               "Lets the relay (an enrolled device) get KD from this PKMF for that remote UE,\n"
               "or for every remote UE with '*'; --withdraw takes the grant back.\n");
}

int cmd_prose_relay(int argc, char *argv[]) {
    const char *dir = NULL, *relay = NULL, *ue = NULL, *pass_file = NULL;
    int r, withdraw = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0) {
            usage(stdout);
            return CLI_OK;
        }
        if (strcmp(argv[i], "--withdraw") == 0) {
            withdraw = 1;
            continue;
        }
        OPT("--dir", dir, "/var/lib/mcsec-kms")
        OPT("--relay", relay, "sip:relay1@example.org")
        OPT("--ue", ue, "sip:alice@example.org")
        OPT("--passphrase-file", pass_file, "/etc/mcsec/kms.pass")
        return kcli_unknown(CMD, argv[i]);
    }
    if (!kcli_required(CMD, "--dir", dir, "/var/lib/mcsec-kms") ||
        !kcli_required(CMD, "--relay", relay, "sip:relay1@example.org") ||
        !kcli_required(CMD, "--ue", ue, "sip:alice@example.org"))
        return CLI_USAGE;
    mcsec_kms_t *kms;
    if (kcli_open(CMD, dir, pass_file, &kms) != CLI_OK) return CLI_FAIL;
    mcsec_status_t rc = mcsec_pkmf_authorise_relay(kms, relay, ue, !withdraw);
    if (rc != MCSEC_OK)
        cli_error(CMD, "%s", mcsec_kms_last_error()[0] ? mcsec_kms_last_error() : mcsec_strerror(rc));
    else
        printf("relay %s %s %s\n", relay, withdraw ? "no longer serves" : "may serve", ue);
    mcsec_kms_close(kms);
    return rc == MCSEC_OK ? CLI_OK : CLI_FAIL;
}
