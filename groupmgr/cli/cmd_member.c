/* mcsec-groupmgr member add / member remove. Both take the same arguments (the group and a
 * list of members); `add` gives each new member the group's current GMK at once, `remove` drops
 * the removed members' undelivered messages and, by the group's policy, rekeys the others. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

static void usage_add(FILE *f) {
    fprintf(f, "usage: mcsec-groupmgr member add --dir DIR --group URI (--member URI ... |\n"
               "                                 --members-file FILE) [--passphrase-file FILE]\n\n"
               "Adds members (already present ones are skipped). Each new member is given the\n"
               "group's current GMK; `serve` delivers it when the member registers.\n"
               "  --member URI          a member (repeat for each)\n"
               "  --members-file FILE   one URI per line ('#' starts a comment)\n");
}

static void usage_remove(FILE *f) {
    fprintf(f, "usage: mcsec-groupmgr member remove --dir DIR --group URI (--member URI ... |\n"
               "                                    --members-file FILE) [--passphrase-file F]\n\n"
               "Removes members. Unless the group was added with --no-rekey-on-leave and if it\n"
               "has a GMK, a new GMK is made for the remaining members at once.\n");
}

typedef struct {
    const char *dir, *group, *pass_file;
    gcli_list_t members;
    mcsec_groupmgr_t *gm; /* open once the arguments are good */
} member_args_t;

/* Parses the arguments and opens the Group Manager: CLI_OK with a->gm set, CLI_OK with a->gm
 * NULL after --help, or CLI_USAGE / CLI_FAIL (printed). */
static int member_args(const char *cmd, void (*usage)(FILE *), int argc, char *argv[],
                       member_args_t *a) {
    int r;
    for (int i = 1; i < argc; i++) {
        const char *m = NULL;
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return CLI_OK;
        }
        if ((r = cli_option(cmd, argc, argv, &i, "--member", &m, "sip:alice@example.org"))) {
            if (r < 0 || !gcli_list_add(&a->members, m)) return CLI_USAGE;
            continue;
        }
        if ((r = cli_option(cmd, argc, argv, &i, "--members-file", &m, "members.txt"))) {
            if (r < 0 || gcli_list_file(cmd, &a->members, m) != CLI_OK) return CLI_USAGE;
            continue;
        }
        if ((r = cli_option(cmd, argc, argv, &i, "--dir", &a->dir, "/var/lib/mcsec-groupmgr")) ||
            (r = cli_option(cmd, argc, argv, &i, "--group", &a->group,
                            "sip:fire-north@example.org")) ||
            (r = cli_option(cmd, argc, argv, &i, "--passphrase-file", &a->pass_file,
                            "pass.txt"))) {
            if (r < 0) return CLI_USAGE;
            continue;
        }
        return gcli_unknown(cmd, argv[i]);
    }
    if (!gcli_required(cmd, "--dir", a->dir, "/var/lib/mcsec-groupmgr") ||
        !gcli_required(cmd, "--group", a->group, "sip:fire-north@example.org"))
        return CLI_USAGE;
    if (a->members.n == 0) {
        cli_error(cmd, "no members given: --member URI or --members-file FILE");
        return CLI_USAGE;
    }
    return gcli_open(cmd, a->dir, a->pass_file, &a->gm) == CLI_OK ? CLI_OK : CLI_FAIL;
}

int cmd_member_add(int argc, char *argv[]) {
    static const char *const cmd = "member add";
    member_args_t a = {0};
    int ret = member_args(cmd, usage_add, argc, argv, &a);
    if (ret != CLI_OK || a.gm == NULL) goto out;
    size_t added = 0;
    mcsec_status_t rc = mcsec_groupmgr_member_add(a.gm, a.group, a.members.v, a.members.n, &added);
    if (rc == MCSEC_OK) {
        printf("added %zu member(s) to %s (%zu already there)\n", added, a.group,
               a.members.n - added);
    } else {
        gcli_fail(cmd, rc);
        ret = CLI_FAIL;
    }
out:
    mcsec_groupmgr_close(a.gm);
    gcli_list_free(&a.members);
    return ret;
}

int cmd_member_remove(int argc, char *argv[]) {
    static const char *const cmd = "member remove";
    member_args_t a = {0};
    int ret = member_args(cmd, usage_remove, argc, argv, &a);
    if (ret != CLI_OK || a.gm == NULL) goto out;
    size_t removed = 0;
    mcsec_groupmgr_rekey_result_t res;
    mcsec_status_t rc = mcsec_groupmgr_member_remove(a.gm, a.group, a.members.v, a.members.n,
                                                     &removed, &res);
    if (rc == MCSEC_OK || removed > 0)
        printf("removed %zu member(s) from %s (%zu were not members)\n", removed, a.group,
               a.members.n - removed);
    if (rc == MCSEC_OK) {
        if (res.done)
            printf("new GMK-ID %08" PRIx32 " for %zu member(s)%s\n", res.gmk_id, res.members,
                   res.resumed ? " (completed an interrupted rekey)" : "");
    } else {
        gcli_fail(cmd, rc);
        if (removed > 0)
            cli_error(cmd, "the members are removed but the group was not rekeyed: run "
                           "`mcsec-groupmgr rekey --group %s`",
                      a.group);
        ret = CLI_FAIL;
    }
out:
    mcsec_groupmgr_close(a.gm);
    gcli_list_free(&a.members);
    return ret;
}
