/* mcsec-groupmgr list: groups; with --group, its GMK history (never the keys) and, on request,
 * its members or the delivery state of one GMK's messages. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define CMD "list"

static void usage(FILE *f) {
    fprintf(f, "usage: mcsec-groupmgr list --dir DIR [--group URI [--members]\n"
               "                           [--deliveries GMK-ID]] [--passphrase-file FILE]\n\n"
               "Without --group: one line per group. With --group: its GMKs, oldest first, '*'\n"
               "marking the current one, with the count of messages pending, sent and\n"
               "acknowledged. --members lists the members; --deliveries the state of each\n"
               "member's message of one GMK (GMK-ID in hex).\n");
}

static int print_group(void *user, const mcsec_groupmgr_group_info_t *g) {
    (void)user;
    printf("group %s members=%zu lifetime=%" PRIu64 " rekey-on-leave=%s key-periods=", g->uri,
           g->members, g->lifetime, g->rekey_on_leave ? "yes" : "no");
    if (g->n_key_periods == 0) printf("none");
    for (size_t i = 0; i < g->n_key_periods && i < 4; i++)
        printf("%s%" PRIu64, i ? "," : "", g->key_periods[i]);
    printf("%s\n", g->n_key_periods > 4 ? ",..." : "");
    return 0;
}

static const char *const gmk_status[] = {"building", "active", "failed"};
static const char *const del_state[] = {"pending", "sent", "acked"};

static int print_gmk(void *user, const mcsec_groupmgr_gmk_info_t *g) {
    char ts[40], act[40], exp[40];
    (void)user;
    gcli_time(g->timestamp, ts);
    gcli_time(g->activation, act);
    gcli_time(g->expiry, exp);
    printf("%c %08" PRIx32 " %s timestamp=%s activation=%s expiry=%s pending=%zu sent=%zu "
           "acked=%zu reason=%s\n",
           g->current ? '*' : ' ', g->gmk_id, gmk_status[g->status % 3], ts, act, exp,
           g->pending, g->sent, g->acked, g->reason);
    return 0;
}

static int print_member(void *user, const char *m) {
    (void)user;
    printf("member %s\n", m);
    return 0;
}

static int print_delivery(void *user, const mcsec_groupmgr_delivery_t *d) {
    (void)user;
    printf("%s %s attempts=%u\n", d->member_uri, del_state[d->state % 3], d->attempts);
    return 0;
}

int cmd_list(int argc, char *argv[]) {
    const char *dir = NULL, *group = NULL, *del_s = NULL, *pass_file = NULL;
    int members = 0, r;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return CLI_OK;
        }
        if (strcmp(argv[i], "--members") == 0) {
            members = 1;
            continue;
        }
        OPT("--dir", dir, "/var/lib/mcsec-groupmgr")
        OPT("--group", group, "sip:fire-north@example.org")
        OPT("--deliveries", del_s, "0a1b2c3d")
        OPT("--passphrase-file", pass_file, "/etc/mcsec/groupmgr.pass")
        return gcli_unknown(CMD, argv[i]);
    }
    if (!gcli_required(CMD, "--dir", dir, "/var/lib/mcsec-groupmgr")) return CLI_USAGE;
    if ((members || del_s != NULL) && group == NULL) {
        cli_error(CMD, "--members and --deliveries need --group URI");
        return CLI_USAGE;
    }
    uint32_t gmk_id = 0;
    if (del_s != NULL) {
        char *end;
        unsigned long v = strtoul(del_s, &end, 16);
        if (*del_s == 0 || *end != 0 || strlen(del_s) > 8) {
            cli_error(CMD, "--deliveries '%s' is not a GMK-ID (8 hex digits)", del_s);
            return CLI_USAGE;
        }
        gmk_id = (uint32_t)v;
    }
    mcsec_groupmgr_t *gm;
    if (gcli_open(CMD, dir, pass_file, &gm) != CLI_OK) return CLI_FAIL;
    mcsec_status_t rc;
    if (group == NULL)
        rc = mcsec_groupmgr_list_groups(gm, print_group, NULL);
    else if (del_s != NULL)
        rc = mcsec_groupmgr_list_deliveries(gm, group, gmk_id, print_delivery, NULL);
    else if (members)
        rc = mcsec_groupmgr_list_members(gm, group, print_member, NULL);
    else
        rc = mcsec_groupmgr_list_gmks(gm, group, print_gmk, NULL);
    int ret = rc == MCSEC_OK ? CLI_OK : gcli_fail(CMD, rc);
    mcsec_groupmgr_close(gm);
    return ret;
}
