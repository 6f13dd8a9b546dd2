/* mcsec-groupmgr rekey: a new GMK for a group, one signed I_MESSAGE per member built on every
 * core and committed with the GMK in one transaction; `serve` delivers them. --out-dir also
 * writes them as <member-uri>.mikey files for offline delivery. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

#define CMD "rekey"

static void usage(FILE *f) {
    fprintf(f, "usage: mcsec-groupmgr rekey --dir DIR --group URI [--out-dir DIR] [--threads N]\n"
               "                            [--passphrase-file FILE]\n\n"
               "Makes a new GMK for every current member. If an earlier rekey of the group was\n"
               "interrupted, that one is completed instead (same GMK, never a second one).\n"
               "  --out-dir DIR   also write each member's message to DIR/<member-uri>.mikey\n"
               "                  ('/', '%%', control characters and a leading '.' %%XX-escaped),\n"
               "                  for `mcsec gmk receive`\n"
               "  --threads N     worker threads (default: one per core)\n");
}

int cmd_rekey(int argc, char *argv[]) {
    const char *dir = NULL, *group = NULL, *out_dir = NULL, *threads_s = NULL, *pass_file = NULL;
    uint64_t threads = 0;
    int r;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return CLI_OK;
        }
        OPT("--dir", dir, "/var/lib/mcsec-groupmgr")
        OPT("--group", group, "sip:fire-north@example.org")
        OPT("--out-dir", out_dir, "outbox")
        OPT("--threads", threads_s, "2")
        OPT("--passphrase-file", pass_file, "/etc/mcsec/groupmgr.pass")
        return gcli_unknown(CMD, argv[i]);
    }
    if (!gcli_required(CMD, "--dir", dir, "/var/lib/mcsec-groupmgr") ||
        !gcli_required(CMD, "--group", group, "sip:fire-north@example.org"))
        return CLI_USAGE;
    if (threads_s != NULL && (!cli_parse_u64(threads_s, &threads) || threads == 0 ||
                              threads > 1024)) {
        cli_error(CMD, "--threads '%s' is not a number from 1 to 1024", threads_s);
        return CLI_USAGE;
    }
    mcsec_groupmgr_t *gm;
    if (gcli_open(CMD, dir, pass_file, &gm) != CLI_OK) return CLI_FAIL;
    mcsec_groupmgr_rekey_result_t res;
    mcsec_status_t rc = mcsec_groupmgr_rekey(gm, group, out_dir, (unsigned)threads, &res);
    int ret = CLI_OK;
    if (rc != MCSEC_OK) {
        ret = gcli_fail(CMD, rc);
    } else {
        char ts[40];
        gcli_time(res.timestamp, ts);
        printf("GMK-ID %08" PRIx32 " for %s: %zu member(s), timestamp %s, built in %.3f s, "
               "committed in %.3f s%s\n",
               res.gmk_id, group, res.members, ts, res.build_seconds, res.wall_seconds,
               res.resumed ? " (completed an interrupted rekey)" : "");
        if (out_dir != NULL) printf("wrote %zu message file(s) to %s\n", res.members, out_dir);
    }
    mcsec_groupmgr_close(gm);
    return ret;
}
