/* mcsec-groupmgr group keys: import a group identity's key sets (TS 33.180 documents) or fetch
 * them from the KMS, e.g. for the next key period. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

#define CMD "group keys"

static void usage(FILE *f) {
    fprintf(f, "usage: mcsec-groupmgr group keys --dir DIR --group URI\n"
               "                                 (--kms-init FILE --key-prov FILE | --fetch\n"
               "                                 [--at RFC3339]) [--passphrase-file FILE]\n\n"
               "Stores the group identity's key sets: from the documents (every key set is\n"
               "checked against the KMS certificate for the group URI), or fetched from the KMS\n"
               "with the bundle's credential (the key period at --at, default now, and the next).\n");
}

int cmd_group_keys(int argc, char *argv[]) {
    const char *dir = NULL, *group = NULL, *init_f = NULL, *prov_f = NULL, *pass_file = NULL,
               *at_s = NULL;
    int fetch = 0, r;
    uint64_t at = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return CLI_OK;
        }
        if (strcmp(argv[i], "--fetch") == 0) {
            fetch = 1;
            continue;
        }
        OPT("--dir", dir, "/var/lib/mcsec-groupmgr")
        OPT("--group", group, "sip:fire-north@example.org")
        OPT("--kms-init", init_f, "kms-init.xml")
        OPT("--key-prov", prov_f, "group-keys.xml")
        OPT("--at", at_s, "2025-01-01T00:00:00Z")
        OPT("--passphrase-file", pass_file, "/etc/mcsec/groupmgr.pass")
        return gcli_unknown(CMD, argv[i]);
    }
    if (!gcli_required(CMD, "--dir", dir, "/var/lib/mcsec-groupmgr") ||
        !gcli_required(CMD, "--group", group, "sip:fire-north@example.org"))
        return CLI_USAGE;
    if ((init_f == NULL) != (prov_f == NULL) || (init_f != NULL) == fetch) {
        cli_error(CMD, "give either --kms-init FILE --key-prov FILE, or --fetch");
        return CLI_USAGE;
    }
    if (at_s != NULL && (!fetch || !cli_parse_rfc3339(at_s, &at))) {
        cli_error(CMD, "--at '%s' needs --fetch and an RFC 3339 time, e.g. 2025-01-01T00:00:00Z",
                  at_s);
        return CLI_USAGE;
    }
    mcsec_groupmgr_t *gm;
    if (gcli_open(CMD, dir, pass_file, &gm) != CLI_OK) return CLI_FAIL;
    int ret = gcli_group_keys(CMD, gm, group, init_f, prov_f, at, "");
    if (ret == CLI_OK) printf("stored the key sets of %s\n", group);
    mcsec_groupmgr_close(gm);
    return ret;
}
