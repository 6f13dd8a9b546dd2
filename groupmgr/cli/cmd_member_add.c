/* mcsec-groupmgr member add: add members to a group (one transaction); each new member gets the
 * group's current GMK at once (a message is built for it). */
#include <stdio.h>
#include <string.h>

#include "cli.h"

#define CMD "member add"

static void usage(FILE *f) {
    fprintf(f, "usage: mcsec-groupmgr member add --dir DIR --group URI (--member URI ... |\n"
               "                                 --members-file FILE) [--passphrase-file FILE]\n\n"
               "Adds members (already present ones are skipped). Each new member is given the\n"
               "group's current GMK; `serve` delivers it when the member registers.\n"
               "  --member URI          a member (repeat for each)\n"
               "  --members-file FILE   one URI per line ('#' starts a comment)\n");
}

int cmd_member_add(int argc, char *argv[]) {
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
    size_t added = 0;
    mcsec_status_t rc = mcsec_groupmgr_member_add(gm, group, members.v, members.n, &added);
    if (rc == MCSEC_OK) {
        printf("added %zu member(s) to %s (%zu already there)\n", added, group,
               members.n - added);
        ret = CLI_OK;
    } else {
        gcli_fail(CMD, rc);
    }
    mcsec_groupmgr_close(gm);
out:
    gcli_list_free(&members);
    return ret;
}
