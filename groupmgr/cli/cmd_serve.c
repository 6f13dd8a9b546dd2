/* mcsec-groupmgr serve: run the GMK delivery service until SIGTERM or SIGINT. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define CMD "serve"

static volatile sig_atomic_t stop;

static void on_signal(int sig) {
    (void)sig;
    stop = 1;
}

static void usage(FILE *f) {
    fprintf(f, "usage: mcsec-groupmgr serve --dir DIR --bind tcp://HOST:PORT [--workers N]\n"
               "                            [--max-message OCTETS] [--window S]\n"
               "                            [--passphrase-file FILE]\n\n"
               "Delivers GMK messages to registered members over ZeroMQ with CURVE (members\n"
               "pin this manager's key, DIR/groupmgr.pub). tcp://127.0.0.1:* binds a free port.\n"
               "Prints the bound endpoint once ready; refusals are logged on stderr. In the\n"
               "background it completes interrupted rekeys, replaces GMKs before they expire and\n"
               "gives new members the current GMK. SIGTERM or SIGINT stop it.\n"
               "  --workers N        fan-out threads (default: one per core)\n"
               "  --max-message N    largest request in octets (default 16384)\n"
               "  --window S         registration clock tolerance in seconds (default 300)\n");
}

static void ready(void *user, const char *endpoint) {
    (void)user;
    printf("serving %s\n", endpoint);
    fflush(stdout);
}

static int number(const char *opt, const char *v, uint64_t max, uint64_t *out) {
    if (v == NULL) return 1;
    if (!cli_parse_u64(v, out) || *out == 0 || *out > max) {
        cli_error(CMD, "%s '%s' is not a number from 1 to %llu", opt, v, (unsigned long long)max);
        return 0;
    }
    return 1;
}

int cmd_serve(int argc, char *argv[]) {
    const char *dir = NULL, *bind = NULL, *workers_s = NULL, *max_s = NULL, *window_s = NULL,
               *pass_file = NULL;
    uint64_t workers = 0, max_msg = 0, window = 0;
    int r;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return CLI_OK;
        }
        OPT("--dir", dir, "/var/lib/mcsec-groupmgr")
        OPT("--bind", bind, "tcp://127.0.0.1:7002")
        OPT("--workers", workers_s, "2")
        OPT("--max-message", max_s, "16384")
        OPT("--window", window_s, "300")
        OPT("--passphrase-file", pass_file, "/etc/mcsec/groupmgr.pass")
        return gcli_unknown(CMD, argv[i]);
    }
    if (!gcli_required(CMD, "--dir", dir, "/var/lib/mcsec-groupmgr") ||
        !gcli_required(CMD, "--bind", bind, "tcp://127.0.0.1:7002"))
        return CLI_USAGE;
    if (!number("--workers", workers_s, 1024, &workers) ||
        !number("--max-message", max_s, 65536, &max_msg) ||
        !number("--window", window_s, 86400, &window))
        return CLI_USAGE;
    mcsec_groupmgr_t *gm;
    if (gcli_open(CMD, dir, pass_file, &gm) != CLI_OK) return CLI_FAIL;

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    mcsec_groupmgr_serve_config_t cfg = {.bind = bind, .workers = (unsigned)workers,
                                         .max_message = (size_t)max_msg, .window = window,
                                         .stop = &stop, .on_ready = ready, .user = NULL};
    mcsec_status_t rc = mcsec_groupmgr_serve(gm, &cfg);
    int ret = rc == MCSEC_OK ? CLI_OK : gcli_fail(CMD, rc);
    mcsec_groupmgr_close(gm);
    if (rc == MCSEC_OK) {
        printf("stopped\n");
        fflush(stdout);
    }
    return ret;
}
