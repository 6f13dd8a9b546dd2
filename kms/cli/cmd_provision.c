/* mcsec-kms provision: bulk provisioning of handsets from a roster. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

#define CMD "provision"

static void usage(FILE *f) {
    fprintf(f, "usage: mcsec-kms provision --dir DIR --roster roster.csv --out-dir DIR\n"
               "                           [--at RFC3339] [--threads N] [--endpoint tcp://HOST:PORT]\n"
               "                           [--passphrase-file FILE]\n\n"
               "Enrols every row of the roster (uri,role,groups; groups separated by ';') and\n"
               "writes one sealed bundle per handset into --out-dir, named after its URI, with\n"
               "key sets for the current (or --at) and the next key period, plus summary.txt\n"
               "(0600): uri, bundle file and one-time code per line. --endpoint records the\n"
               "address put into the bundles.\n");
}

static void bar(void *user, size_t done, size_t total) {
    (void)user;
    int w = 40, fill = total ? (int)(done * (size_t)w / total) : w;
    fprintf(stderr, "\r[%.*s%*s] %zu/%zu", fill, "########################################",
            w - fill, "", done, total);
    if (done == total) fputc('\n', stderr);
    fflush(stderr);
}

int cmd_provision(int argc, char *argv[]) {
    const char *dir = NULL, *roster = NULL, *out_dir = NULL, *at_s = NULL, *threads_s = NULL,
               *endpoint = NULL, *pass_file = NULL;
    uint64_t at = 0, threads = 0;
    int r;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0) {
            usage(stdout);
            return CLI_OK;
        }
        OPT("--dir", dir, "/var/lib/mcsec-kms")
        OPT("--roster", roster, "roster.csv")
        OPT("--out-dir", out_dir, "bundles")
        OPT("--at", at_s, "2025-01-01T00:00:00Z")
        OPT("--threads", threads_s, "2")
        OPT("--endpoint", endpoint, "tcp://kms.example.org:7001")
        OPT("--passphrase-file", pass_file, "/etc/mcsec/kms.pass")
        return kcli_unknown(CMD, argv[i]);
    }
    if (!kcli_required(CMD, "--dir", dir, "/var/lib/mcsec-kms") ||
        !kcli_required(CMD, "--roster", roster, "roster.csv") ||
        !kcli_required(CMD, "--out-dir", out_dir, "bundles"))
        return CLI_USAGE;
    if (at_s != NULL && !cli_parse_rfc3339(at_s, &at)) {
        cli_error(CMD, "--at '%s' is not an RFC 3339 time, e.g. 2025-01-01T00:00:00Z", at_s);
        return CLI_USAGE;
    }
    if (threads_s != NULL && (!cli_parse_u64(threads_s, &threads) || threads < 1 || threads > 64)) {
        cli_error(CMD, "--threads '%s' is not between 1 and 64", threads_s);
        return CLI_USAGE;
    }
    mcsec_kms_roster_row_t *rows = NULL;
    size_t n = 0;
    if (mcsec_kms_roster_read(roster, &rows, &n) != MCSEC_OK) {
        cli_error(CMD, "%s", mcsec_kms_last_error());
        return CLI_FAIL;
    }
    mcsec_kms_t *kms;
    if (kcli_open(CMD, dir, pass_file, &kms) != CLI_OK) {
        mcsec_kms_roster_free(rows, n);
        return CLI_FAIL;
    }
    int ret = CLI_FAIL;
    if (endpoint != NULL && mcsec_kms_set_endpoint(kms, endpoint) != MCSEC_OK) {
        cli_error(CMD, "%s", mcsec_kms_last_error());
        goto out;
    }
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int tty = isatty(STDERR_FILENO);
    mcsec_status_t rc = mcsec_kms_provision(kms, rows, n, out_dir, at, (unsigned)threads,
                                            tty ? bar : NULL, NULL);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if (rc != MCSEC_OK) {
        cli_error(CMD, "%s", mcsec_kms_last_error());
        goto out;
    }
    double s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) * 1e-9;
    printf("provisioned %zu handsets into %s in %.2f s; one-time codes in %s/summary.txt\n", n,
           out_dir, s, out_dir);
    ret = CLI_OK;
out:
    mcsec_kms_roster_free(rows, n);
    mcsec_kms_close(kms);
    return ret;
}
