/* mcsec-kms serve: run the key service until SIGTERM or SIGINT. */
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
    fprintf(f, "usage: mcsec-kms serve --dir DIR --bind tcp://HOST:PORT [--workers N]\n"
               "                       [--rate R] [--burst B] [--max-request OCTETS]\n"
               "                       [--passphrase-file FILE]\n\n"
               "Serves KmsInit and key sets (current and next period) to enrolled devices over\n"
               "ZeroMQ with CURVE. tcp://127.0.0.1:* binds a free port. Prints the bound endpoint\n"
               "once ready; SIGTERM or SIGINT stop it after answering what is in flight.\n"
               "  --workers N       issuing threads (default: one per CPU)\n"
               "  --rate R          requests per second per device (default 5)\n"
               "  --burst B         requests a device may send at once (default 10)\n"
               "  --max-request N   largest request in octets (default 16384)\n");
}

static void ready(void *user, const char *endpoint) {
    (void)user;
    printf("serving %s\n", endpoint);
    fflush(stdout);
}

static int positive(const char *opt, const char *v, double *out) {
    char *end;
    double d = v != NULL ? strtod(v, &end) : 0;
    if (v != NULL && (end == v || *end != 0 || !(d > 0) || d > 1e9)) {
        cli_error(CMD, "%s '%s' is not a positive number", opt, v);
        return 0;
    }
    *out = v != NULL ? d : 0;
    return 1;
}

int cmd_serve(int argc, char *argv[]) {
    const char *dir = NULL, *bind = NULL, *workers_s = NULL, *rate_s = NULL, *burst_s = NULL,
               *max_s = NULL, *pass_file = NULL;
    double workers = 0, rate = 0, burst = 0, max_req = 0;
    int r;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0) {
            usage(stdout);
            return CLI_OK;
        }
        OPT("--dir", dir, "/var/lib/mcsec-kms")
        OPT("--bind", bind, "tcp://127.0.0.1:7001")
        OPT("--workers", workers_s, "2")
        OPT("--rate", rate_s, "5")
        OPT("--burst", burst_s, "10")
        OPT("--max-request", max_s, "16384")
        OPT("--passphrase-file", pass_file, "/etc/mcsec/kms.pass")
        return kcli_unknown(CMD, argv[i]);
    }
    if (!kcli_required(CMD, "--dir", dir, "/var/lib/mcsec-kms") ||
        !kcli_required(CMD, "--bind", bind, "tcp://127.0.0.1:7001"))
        return CLI_USAGE;
    if (!positive("--workers", workers_s, &workers) || !positive("--rate", rate_s, &rate) ||
        !positive("--burst", burst_s, &burst) || !positive("--max-request", max_s, &max_req))
        return CLI_USAGE;
    mcsec_kms_t *kms;
    if (kcli_open(CMD, dir, pass_file, &kms) != CLI_OK) return CLI_FAIL;

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    mcsec_kms_serve_config_t cfg = {.bind = bind, .workers = (unsigned)workers,
                                    .max_request = (size_t)max_req, .rate = rate, .burst = burst,
                                    .stop = &stop, .on_ready = ready, .user = NULL};
    mcsec_status_t rc = mcsec_kms_serve(kms, &cfg);
    if (rc != MCSEC_OK) cli_error(CMD, "%s", mcsec_kms_last_error());
    mcsec_kms_close(kms);
    if (rc == MCSEC_OK) {
        printf("stopped\n");
        fflush(stdout);
    }
    return rc == MCSEC_OK ? CLI_OK : CLI_FAIL;
}
