/* mcsec-kms prose authorise: grant or withdraw a ProSe authorisation. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "mcsec/pkmf.h"

#define CMD "prose authorise"

static void usage(FILE *f) {
    fprintf(f, "usage: mcsec-kms prose authorise --dir DIR --uri USER_URI (--remote-ue | --direct)\n"
               "                                 [--withdraw] [--passphrase-file FILE]\n\n"
               "--remote-ue: the UE may receive PRUKs from this PKMF (and so be served by its\n"
               "relays); withdrawing it also deletes the UE's PRUK. --direct: the UE may use\n"
               "network-authorised one-to-one keying at this network entity.\n");
}

int cmd_prose_authorise(int argc, char *argv[]) {
    const char *dir = NULL, *uri = NULL, *pass_file = NULL;
    int r, remote = 0, direct = 0, withdraw = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0) {
            usage(stdout);
            return CLI_OK;
        }
        if (strcmp(argv[i], "--remote-ue") == 0) {
            remote = 1;
            continue;
        }
        if (strcmp(argv[i], "--direct") == 0) {
            direct = 1;
            continue;
        }
        if (strcmp(argv[i], "--withdraw") == 0) {
            withdraw = 1;
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
    if (remote + direct != 1) {
        cli_error(CMD, "give exactly one of --remote-ue and --direct");
        return CLI_USAGE;
    }
    mcsec_kms_t *kms;
    if (kcli_open(CMD, dir, pass_file, &kms) != CLI_OK) return CLI_FAIL;
    mcsec_pkmf_auth_t what = remote ? MCSEC_PKMF_AUTH_REMOTE_UE : MCSEC_PKMF_AUTH_DIRECT;
    mcsec_status_t rc = mcsec_pkmf_authorise(kms, uri, what, !withdraw);
    if (rc != MCSEC_OK)
        cli_error(CMD, "%s", mcsec_kms_last_error()[0] ? mcsec_kms_last_error() : mcsec_strerror(rc));
    else
        printf("%s %s: %s\n", withdraw ? "withdrawn" : "authorised", mcsec_pkmf_auth_name(what), uri);
    mcsec_kms_close(kms);
    return rc == MCSEC_OK ? CLI_OK : CLI_FAIL;
}
