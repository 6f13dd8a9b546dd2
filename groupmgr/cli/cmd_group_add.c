/* mcsec-groupmgr group add: a new group with its GMK policy, and the group identity's keys
 * (imported from TS 33.180 documents, or fetched from the KMS with the bundle's credential). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "mcsec/kmsxml.h"
#include "mcsec/secmem.h"

#define CMD "group add"

static void usage(FILE *f) {
    fprintf(f, "usage: mcsec-groupmgr group add --dir DIR --group URI [--lifetime S]\n"
               "                                [--no-rekey-on-leave]\n"
               "                                [--kms-init FILE --key-prov FILE]\n"
               "                                [--passphrase-file FILE]\n\n"
               "Adds a group. Its GMKs expire --lifetime seconds after they are made (default\n"
               "2592000, 30 days; 0: never) and `serve` replaces them before; removing a member\n"
               "makes a new GMK unless --no-rekey-on-leave. The group identity's keys (it signs\n"
               "every GMK message) come from --kms-init and --key-prov (`mcsec-kms cert`,\n"
               "`mcsec-kms issue --uri GROUP`), else from the KMS if a bundle was loaded.\n");
}

int gcli_group_keys(const char *cmd, mcsec_groupmgr_t *gm, const char *group, const char *init_f,
                    const char *prov_f, uint64_t at, const char *context) {
    char *init = NULL, *prov = NULL;
    size_t init_len = 0, prov_len = 0;
    mcsec_status_t rc;
    int ret = CLI_FAIL;
    if (init_f != NULL) {
        if (gcli_read_file(cmd, "--kms-init", init_f, MCSEC_KMSXML_MAX_LEN, &init, &init_len) !=
                CLI_OK ||
            gcli_read_file(cmd, "--key-prov", prov_f, MCSEC_KMSXML_MAX_LEN, &prov, &prov_len) !=
                CLI_OK)
            goto out;
        rc = mcsec_groupmgr_group_import_keys(gm, group, init, init_len, prov, prov_len);
    } else {
        rc = mcsec_groupmgr_group_fetch_keys(gm, group, at);
    }
    if (rc != MCSEC_OK) {
        const char *why = mcsec_groupmgr_last_error();
        cli_error(cmd, "%s%s", context, why[0] ? why : mcsec_strerror(rc));
        goto out;
    }
    ret = CLI_OK;
out:
    if (prov != NULL) mcsec_memzero(prov, prov_len);
    free(prov);
    free(init);
    return ret;
}

int cmd_group_add(int argc, char *argv[]) {
    const char *dir = NULL, *group = NULL, *life_s = NULL, *init_f = NULL, *prov_f = NULL,
               *pass_file = NULL;
    uint64_t lifetime = MCSEC_GROUPMGR_LIFETIME_DEFAULT;
    int no_rekey = 0, r;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return CLI_OK;
        }
        if (strcmp(argv[i], "--no-rekey-on-leave") == 0) {
            no_rekey = 1;
            continue;
        }
        OPT("--dir", dir, "/var/lib/mcsec-groupmgr")
        OPT("--group", group, "sip:fire-north@example.org")
        OPT("--lifetime", life_s, "86400")
        OPT("--kms-init", init_f, "kms-init.xml")
        OPT("--key-prov", prov_f, "group-keys.xml")
        OPT("--passphrase-file", pass_file, "/etc/mcsec/groupmgr.pass")
        return gcli_unknown(CMD, argv[i]);
    }
    if (!gcli_required(CMD, "--dir", dir, "/var/lib/mcsec-groupmgr") ||
        !gcli_required(CMD, "--group", group, "sip:fire-north@example.org"))
        return CLI_USAGE;
    if (life_s != NULL && !cli_parse_u64(life_s, &lifetime)) {
        cli_error(CMD, "--lifetime '%s' is not a number of seconds (0: never expires)", life_s);
        return CLI_USAGE;
    }
    if ((init_f == NULL) != (prov_f == NULL)) {
        cli_error(CMD, "--kms-init and --key-prov go together: give the KMS certificate and the "
                       "group's key sets");
        return CLI_USAGE;
    }
    mcsec_groupmgr_t *gm;
    if (gcli_open(CMD, dir, pass_file, &gm) != CLI_OK) return CLI_FAIL;
    int ret = CLI_FAIL;
    mcsec_groupmgr_info_t info;
    mcsec_status_t rc = mcsec_groupmgr_group_add(gm, group, lifetime, !no_rekey);
    if (rc != MCSEC_OK) {
        gcli_fail(CMD, rc);
        goto out;
    }
    printf("added group %s (GMK lifetime %" PRIu64 " s, rekey on leave: %s)\n", group, lifetime,
           no_rekey ? "no" : "yes");
    if (mcsec_groupmgr_get_info(gm, &info) != MCSEC_OK) goto out;
    if (init_f != NULL || info.has_kms_credential) {
        if (gcli_group_keys(CMD, gm, group, init_f, prov_f, 0,
                            "the group was added without keys (import them with `mcsec-groupmgr "
                            "group keys`): ") != CLI_OK)
            goto out;
        printf("stored the key sets of %s\n", group);
    } else {
        printf("no keys yet: import them with `mcsec-groupmgr group keys --group %s --kms-init F "
               "--key-prov F`\n",
               group);
    }
    ret = CLI_OK;
out:
    mcsec_groupmgr_close(gm);
    return ret;
}
