/* mcsec register: stay connected to a Group Manager (mcsec-groupmgr serve), registered for some
 * groups with this handset's identity key, and store every GMK it delivers (printed as it
 * arrives, never the key). --once exits when the backlog is delivered (scripts, tests). */
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <zmq.h>

#include "cli.h"
#include "mcsec/gmclient.h"
#include "mcsec/secmem.h"

#define CMD "register"
#define MAX_GROUPS 64

static const char *const register_help =
    "usage: mcsec register --store DIR --groupmgr tcp://HOST:PORT --groupmgr-key Z85|FILE\n"
    "                      --group URI [--group URI ...] [--once] [--timeout S]\n"
    "                      [--address TEXT] [--passphrase-file FILE]\n\n"
    "Connects to the Group Manager (CURVE, pinned to --groupmgr-key: the 40 Z85 characters,\n"
    "or a file holding them such as the manager's groupmgr.pub), registers for the groups\n"
    "with a signature by this handset's identity key, and stores every GMK it is sent,\n"
    "acknowledging each. One line per GMK: its id, group, timestamp, whether it was new and\n"
    "whether it is now the group's current GMK. Reconnects by itself; stop with Ctrl-C.\n"
    "  --once          exit once the backlog is delivered and acknowledged\n"
    "  --timeout S     with --once: give up after S seconds (default 30)\n"
    "  --address TEXT  what to report as this handset's address\n";

static volatile sig_atomic_t stop;

static void on_signal(int sig) {
    (void)sig;
    stop = 1;
}

typedef struct {
    int refused; /* deliveries refused here */
} run_t;

static void on_event(void *user, const mcsec_gmclient_event_t *ev) {
    run_t *r = user;
    char ts[32] = "";
    switch (ev->kind) {
    case MCSEC_GMCLIENT_REGISTERED:
        printf("registered (backlog %u)\n", ev->backlog);
        break;
    case MCSEC_GMCLIENT_GMK: {
        time_t t = (time_t)((int64_t)(ev->timestamp >> 32) - 2208988800LL);
        struct tm tm;
        if (gmtime_r(&t, &tm) != NULL) strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", &tm);
        printf("gmk %08" PRIx32 " group %s timestamp %s %s%s\n", ev->gmk_id, ev->group_uri, ts,
               ev->is_new ? "new" : "already-stored", ev->is_current ? " current" : "");
        break;
    }
    case MCSEC_GMCLIENT_REFUSED:
        cli_error(CMD, "%s", ev->message[0] ? ev->message : mcsec_strerror(ev->status));
        r->refused++;
        break;
    case MCSEC_GMCLIENT_ACK:
        if (ev->status != MCSEC_OK)
            cli_error(CMD, "the Group Manager refused the acknowledgement of GMK-ID %08" PRIx32
                           ": %s",
                      ev->gmk_id, ev->message[0] ? ev->message : mcsec_strerror(ev->status));
        break;
    }
    fflush(stdout);
}

/* The manager's key: 40 Z85 characters, or the first line of a file holding them. */
static int server_key(const char *arg, char out[41]) {
    uint8_t raw[32];
    if (strlen(arg) == 40 && zmq_z85_decode(raw, arg) != NULL) {
        memcpy(out, arg, 41);
        return CLI_OK;
    }
    uint8_t *buf = NULL;
    size_t len = 0;
    if (cli_read_file(CMD, "--groupmgr-key file", arg, 4096, &buf, &len) != CLI_OK)
        return CLI_FAIL;
    while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r' || buf[len - 1] == ' '))
        len--;
    int ok = len == 40;
    if (ok) {
        memcpy(out, buf, 40);
        out[40] = 0;
        ok = zmq_z85_decode(raw, out) != NULL;
    }
    free(buf);
    if (!ok) {
        cli_error(CMD, "--groupmgr-key %s is neither 40 Z85 characters nor a file holding them; "
                       "give the manager's groupmgr.pub",
                  arg);
        return CLI_FAIL;
    }
    return CLI_OK;
}

int cmd_register(int argc, char *argv[]) {
    const char *store = NULL, *endpoint = NULL, *key_arg = NULL, *pass = NULL, *timeout_s = NULL,
               *address = NULL;
    const char *groups[MAX_GROUPS];
    size_t n_groups = 0;
    int once = 0, ret = CLI_USAGE;
    uint64_t timeout = 30;
    char key[41];
    mcsec_keystore_t *ks = NULL;
    mcsec_gmclient_t *c = NULL;
    run_t run = {0};

    for (int i = 1; i < argc; i++) {
        int m;
        const char *g = NULL;
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(register_help, stdout);
            return CLI_OK;
        }
        if (strcmp(argv[i], "--once") == 0) {
            once = 1;
            continue;
        }
        if ((m = cli_option(CMD, argc, argv, &i, "--group", &g, "sip:fire-north@example.org"))) {
            if (m < 0) return CLI_USAGE;
            if (n_groups == MAX_GROUPS) {
                cli_error(CMD, "more than %d --group options; register for fewer groups",
                          MAX_GROUPS);
                return CLI_USAGE;
            }
            groups[n_groups++] = g;
            continue;
        }
        if ((m = cli_option(CMD, argc, argv, &i, "--store", &store, "~/.mcsec")) ||
            (m = cli_option(CMD, argc, argv, &i, "--groupmgr", &endpoint,
                            "tcp://groupmgr.example.org:7002")) ||
            (m = cli_option(CMD, argc, argv, &i, "--groupmgr-key", &key_arg, "groupmgr.pub")) ||
            (m = cli_option(CMD, argc, argv, &i, "--timeout", &timeout_s, "30")) ||
            (m = cli_option(CMD, argc, argv, &i, "--address", &address, "10.0.0.7")) ||
            (m = cli_option(CMD, argc, argv, &i, "--passphrase-file", &pass, "pass.txt"))) {
            if (m < 0) return CLI_USAGE;
            continue;
        }
        return cli_bad_arg(CMD, CMD, argv[i]);
    }
    if (store == NULL || endpoint == NULL || key_arg == NULL || n_groups == 0) {
        cli_error(CMD, "--store, --groupmgr, --groupmgr-key and at least one --group are "
                       "required, e.g. --groupmgr tcp://groupmgr.example.org:7002 --groupmgr-key "
                       "groupmgr.pub --group sip:fire-north@example.org");
        return CLI_USAGE;
    }
    if (strncmp(endpoint, "tcp://", 6) != 0) {
        cli_error(CMD, "--groupmgr '%s' is not a tcp:// endpoint, e.g. "
                       "tcp://groupmgr.example.org:7002",
                  endpoint);
        return CLI_USAGE;
    }
    for (size_t i = 0; i < n_groups; i++)
        if (groups[i][0] == 0 || strlen(groups[i]) > 255) {
            cli_error(CMD, "--group '%s' is not a URI of 1 to 255 octets", groups[i]);
            return CLI_USAGE;
        }
    if (timeout_s != NULL && (!cli_parse_u64(timeout_s, &timeout) || timeout == 0 ||
                              timeout > 86400)) {
        cli_error(CMD, "--timeout '%s' is not a number of seconds from 1 to 86400", timeout_s);
        return CLI_USAGE;
    }
    ret = CLI_FAIL;
    if (server_key(key_arg, key) != CLI_OK) goto out;
    if (cli_store_open(CMD, store, pass, 0, &ks) != CLI_OK) goto out;
    mcsec_gmclient_config_t cfg = {.endpoint = endpoint, .server_key = key, .groups = groups,
                                   .n_groups = n_groups, .address = address};
    mcsec_status_t rc = mcsec_gmclient_open(&c, ks, &cfg);
    if (rc != MCSEC_OK) {
        cli_error(CMD, "cannot start the client: %s", mcsec_gmclient_last_error(NULL));
        goto out;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    printf("connecting to %s as %s\n", endpoint, mcsec_gmclient_member_uri(c));
    fflush(stdout);
    time_t deadline = time(NULL) + (time_t)timeout;
    while (!stop) {
        rc = mcsec_gmclient_poll(c, 200, on_event, &run);
        if (rc != MCSEC_OK) goto out; /* refused: already printed */
        if (once && mcsec_gmclient_idle(c)) break;
        if (once && time(NULL) >= deadline) {
            cli_error(CMD, "no complete answer from the Group Manager at %s within %" PRIu64
                           " s: check that it runs, the endpoint and --groupmgr-key",
                      endpoint, timeout);
            goto out;
        }
    }
    ret = run.refused > 0 ? CLI_FAIL : CLI_OK;
out:
    mcsec_gmclient_close(c);
    mcsec_keystore_close(ks);
    return ret;
}
