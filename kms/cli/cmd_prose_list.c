/* mcsec-kms prose list: the ProSe tables, one line each. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "mcsec/pkmf.h"

#define CMD "prose list"

static void usage(FILE *f) {
    fprintf(f, "usage: mcsec-kms prose list --dir DIR [--passphrase-file FILE]\n\n"
               "Lines: 'authorised URI remote-ue|direct', 'relay RELAY may-serve UE|*',\n"
               "'peer URI ENDPOINT serves SUFFIX', 'remote-ue URI pruk-id HEX push ADDR|-'.\n");
}

static int line(void *user, const char *l) {
    (void)user;
    printf("%s\n", l);
    return 0;
}

int cmd_prose_list(int argc, char *argv[]) {
    const char *dir = NULL, *pass_file = NULL;
    int r;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0) {
            usage(stdout);
            return CLI_OK;
        }
        OPT("--dir", dir, "/var/lib/mcsec-kms")
        OPT("--passphrase-file", pass_file, "/etc/mcsec/kms.pass")
        return kcli_unknown(CMD, argv[i]);
    }
    if (!kcli_required(CMD, "--dir", dir, "/var/lib/mcsec-kms")) return CLI_USAGE;
    mcsec_kms_t *kms;
    if (kcli_open(CMD, dir, pass_file, &kms) != CLI_OK) return CLI_FAIL;
    mcsec_status_t rc = mcsec_pkmf_list(kms, line, NULL);
    if (rc != MCSEC_OK) cli_error(CMD, "%s", mcsec_kms_last_error());
    mcsec_kms_close(kms);
    return rc == MCSEC_OK ? CLI_OK : CLI_FAIL;
}
