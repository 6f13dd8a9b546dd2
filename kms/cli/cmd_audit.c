/* mcsec-kms audit: the audit table, one row per line. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

#define CMD "audit"

static void usage(FILE *f) {
    fprintf(f, "usage: mcsec-kms audit --dir DIR [--after ID] [--passphrase-file FILE]\n\n"
               "One line per audit row, tab-separated: id, time (UTC), device id (0: none),\n"
               "action, status (0 = OK), subject, key period (-1: none), request id, reason.\n"
               "Actions: init, enroll, revoke, issue, issue-offline, issue-bundle, refuse,\n"
               "connect-refused.\n");
}

static int print_row(void *user, const mcsec_kms_audit_t *a) {
    (void)user;
    char t[32];
    kcli_time(a->time, t);
    printf("%lld\t%s\t%lld\t%s\t%d\t%s\t%lld\t%llu\t%s\n", (long long)a->id, t,
           (long long)a->device_id, a->action, (int)a->status, a->subject, (long long)a->period_no,
           (unsigned long long)a->request_id, a->reason);
    return 0;
}

int cmd_audit(int argc, char *argv[]) {
    const char *dir = NULL, *pass_file = NULL, *after_s = NULL;
    uint64_t after = 0;
    int r;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0) {
            usage(stdout);
            return CLI_OK;
        }
        OPT("--dir", dir, "/var/lib/mcsec-kms")
        OPT("--after", after_s, "100")
        OPT("--passphrase-file", pass_file, "/etc/mcsec/kms.pass")
        return kcli_unknown(CMD, argv[i]);
    }
    if (!kcli_required(CMD, "--dir", dir, "/var/lib/mcsec-kms")) return CLI_USAGE;
    if (after_s != NULL && (!cli_parse_u64(after_s, &after) || after > INT64_MAX)) {
        cli_error(CMD, "--after '%s' is not an audit row id", after_s);
        return CLI_USAGE;
    }
    mcsec_kms_t *kms;
    if (kcli_open(CMD, dir, pass_file, &kms) != CLI_OK) return CLI_FAIL;
    mcsec_status_t rc = mcsec_kms_list_audit(kms, (int64_t)after, print_row, NULL);
    if (rc != MCSEC_OK) cli_error(CMD, "%s", mcsec_kms_last_error());
    mcsec_kms_close(kms);
    return rc == MCSEC_OK ? CLI_OK : CLI_FAIL;
}
