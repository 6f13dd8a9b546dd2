/* mcsec-kms list: the enrolled devices, one per line. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

#define CMD "list"

static void usage(FILE *f) {
    fprintf(f, "usage: mcsec-kms list --dir DIR [--passphrase-file FILE]\n\n"
               "One line per device, tab-separated: id, role, state (active or revoked),\n"
               "enrolled (UTC), URI, CURVE public key, groups (';'-separated).\n");
}

static int print_device(void *user, const mcsec_kms_device_t *d) {
    (void)user;
    char t[32], groups[MCSEC_KMS_GROUPS_TEXT_MAX];
    kcli_time(d->enrolled_at, t);
    snprintf(groups, sizeof groups, "%s", d->groups);
    for (char *c = groups; *c; c++)
        if (*c == '\n') *c = ';';
    printf("%lld\t%s\t%s\t%s\t%s\t%s\t%s\n", (long long)d->id, mcsec_kms_role_name(d->role),
           d->revoked ? "revoked" : "active", t, d->uri, d->curve_public, groups);
    return 0;
}

int cmd_list(int argc, char *argv[]) {
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
    mcsec_status_t rc = mcsec_kms_list_devices(kms, print_device, NULL);
    if (rc != MCSEC_OK) cli_error(CMD, "%s", mcsec_kms_last_error());
    mcsec_kms_close(kms);
    return rc == MCSEC_OK ? CLI_OK : CLI_FAIL;
}
