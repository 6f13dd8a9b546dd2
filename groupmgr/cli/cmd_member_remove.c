/* mcsec-groupmgr member remove: remove members; their undelivered messages are dropped and, by
 * the group's policy, a new GMK goes to the others (the removed ones never get it). */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

#define CMD "member remove"

static void usage(FILE *f) {
    fprintf(f, "usage: mcsec-groupmgr member remove --dir DIR --group URI (--member URI ... |\n"
               "                                    --members-file FILE) [--passphrase-file F]\n\n"
               "Removes members. Unless the group was added with --no-rekey-on-leave and if it\n"
               "has a GMK, a new GMK is made for the remaining members at once.\n");
}

int cmd_member_remove(int argc, char *argv[]) {
    const char *dir = NULL, *group = NULL, *pass_file = NULL;
    gcli_list_t members = {0};
    int r, ret = CLI_USAGE;
    for (int i = 1; i < argc; i++) {
        const char *m = NULL;
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            ret = CLI_OK;
            goto out;
        }
        if ((r = cli_option(CMD, argc, argv, &i, "--member", &m, "sip:alice@example.org"))) {
            if (r < 0 || !gcli_list_add(&members, m)) goto out;
            continue;
        }
        if ((r = cli_option(CMD, argc, argv, &i, "--members-file", &m, "members.txt"))) {
            if (r < 0 || gcli_list_file(CMD, &members, m) != CLI_OK) goto out;
            continue;
        }
        if ((r = cli_option(CMD, argc, argv, &i, "--dir", &dir, "/var/lib/mcsec-groupmgr")) ||
            (r = cli_option(CMD, argc, argv, &i, "--group", &group, "sip:fire-north@example.org")) ||
            (r = cli_option(CMD, argc, argv, &i, "--passphrase-file", &pass_file, "pass.txt"))) {
            if (r < 0) goto out;
            continue;
        }
        ret = gcli_unknown(CMD, argv[i]);
        goto out;
    }
    if (!gcli_required(CMD, "--dir", dir, "/var/lib/mcsec-groupmgr") ||
        !gcli_required(CMD, "--group", group, "sip:fire-north@example.org"))
        goto out;
    if (members.n == 0) {
        cli_error(CMD, "no members given: --member URI or --members-file FILE");
        goto out;
    }
    mcsec_groupmgr_t *gm;
    ret = CLI_FAIL;
    if (gcli_open(CMD, dir, pass_file, &gm) != CLI_OK) goto out;
    size_t removed = 0;
    mcsec_groupmgr_rekey_result_t res;
    mcsec_status_t rc =
        mcsec_groupmgr_member_remove(gm, group, members.v, members.n, &removed, &res);
    if (rc == MCSEC_OK || removed > 0)
        printf("removed %zu member(s) from %s (%zu were not members)\n", removed, group,
               members.n - removed);
    if (rc == MCSEC_OK) {
        if (res.done)
            printf("new GMK-ID %08" PRIx32 " for %zu member(s)%s\n", res.gmk_id, res.members,
                   res.resumed ? " (completed an interrupted rekey)" : "");
        ret = CLI_OK;
    } else {
        gcli_fail(CMD, rc);
        if (removed > 0)
            cli_error(CMD, "the members are removed but the group was not rekeyed: run "
                           "`mcsec-groupmgr rekey --group %s`",
                      group);
    }
    mcsec_groupmgr_close(gm);
out:
    gcli_list_free(&members);
    return ret;
}
