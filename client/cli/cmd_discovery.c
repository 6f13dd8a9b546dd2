/* mcsec discovery: restricted ProSe discovery (include/mcsec/discovery.h). `keygen` makes a
 * sealed application key file, `announce` broadcasts the slot-dependent code, `monitor`
 * listens and reports the applications it is authorised to discover, `demo` runs all of it on
 * the loopback (discovery_demo.c). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "discovery_cli.h"
#include "mcsec/secmem.h"

#define MAX_KEYS 16

static volatile sig_atomic_t disc_stop;

static void on_signal(int sig) {
    (void)sig;
    disc_stop = 1;
}

static void catch_signals(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

uint64_t disc_unix_now(void) { return (uint64_t)time(NULL); }

const char *disc_outcome(mcsec_status_t rc) {
    switch (rc) {
    case MCSEC_OK: return "discovered";
    case MCSEC_ERR_REPLAY: return "repeat";
    case MCSEC_ERR_EXPIRED: return "expired";
    case MCSEC_ERR_VERIFY: return "no match";
    default: return "malformed";
    }
}

static int number(const char *cmd, const char *opt, const char *v, uint64_t lo, uint64_t hi,
                  uint64_t *out) {
    if (v == NULL) return 1;
    if (!cli_parse_u64(v, out) || *out < lo || *out > hi) {
        cli_error(cmd, "%s '%s' is not a number from %llu to %llu", opt, v,
                  (unsigned long long)lo, (unsigned long long)hi);
        return 0;
    }
    return 1;
}

static int read_pass(const char *cmd, const char *pass_file, int confirm, char **pass,
                     size_t *len) {
    if (mcsec_init() != MCSEC_OK) {
        cli_error(cmd, "the crypto self test failed: this build is broken, do not use it");
        return 0;
    }
    if (mcsec_passphrase_read(pass_file, confirm ? "New key file passphrase: "
                                                 : "Key file passphrase: ",
                              confirm, pass, len) != MCSEC_OK) {
        cli_error(cmd, "%s", mcsec_keystore_last_error());
        return 0;
    }
    return 1;
}

/* --- keygen ------------------------------------------------------------------------------ */

#define KEYGEN "discovery keygen"

static const char *const keygen_help =
    "usage: mcsec discovery keygen --out FILE [--name NAME] [--slot SECONDS]\n"
    "                              [--scrypt-log2n N] [--passphrase-file FILE]\n\n"
    "Makes a restricted discovery application: a random 256-bit application key and 128-bit\n"
    "ProSe code, sealed in FILE (0600) with the passphrase (use the keystore's: from\n"
    "--passphrase-file, MCSEC_PASSPHRASE, or asked twice). The announcing handset and every\n"
    "monitor allowed to discover it need this file; nobody else may have it.\n"
    "  --name NAME       a label shown by monitors, 1-63 printable characters (default the\n"
    "                    file name)\n"
    "  --slot SECONDS    how often the announced code changes, 1 to 86400 (default 30)\n"
    "  --scrypt-log2n N  scrypt cost N = 2^N, 10 to 22 (default 16; lower only for tests)\n";

static int keygen(int argc, char *argv[]) {
    const char *out = NULL, *name = NULL, *slot_s = NULL, *pass_file = NULL, *cost_s = NULL;
    uint64_t slot = MCSEC_DISC_SLOT_DEFAULT, cost = MCSEC_DISC_KEYFILE_LOG2N;
    mcsec_disc_app_t app;
    char *pass = NULL;
    size_t pass_len = 0;
    int ret = CLI_USAGE;
    memset(&app, 0, sizeof app);
    for (int i = 1; i < argc; i++) {
        int m;
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(keygen_help, stdout);
            return CLI_OK;
        }
        if ((m = cli_option(KEYGEN, argc, argv, &i, "--out", &out, "team.dkey")) ||
            (m = cli_option(KEYGEN, argc, argv, &i, "--name", &name, "fire-team-7")) ||
            (m = cli_option(KEYGEN, argc, argv, &i, "--slot", &slot_s, "30")) ||
            (m = cli_option(KEYGEN, argc, argv, &i, "--scrypt-log2n", &cost_s, "16")) ||
            (m = cli_option(KEYGEN, argc, argv, &i, "--passphrase-file", &pass_file, "FILE"))) {
            if (m < 0) return CLI_USAGE;
            continue;
        }
        return cli_bad_arg(KEYGEN, KEYGEN, argv[i]);
    }
    if (out == NULL) {
        cli_error(KEYGEN, "--out is required: the key file to create, e.g. --out team.dkey");
        return CLI_USAGE;
    }
    if (!number(KEYGEN, "--slot", slot_s, MCSEC_DISC_SLOT_MIN, MCSEC_DISC_SLOT_MAX, &slot) ||
        !number(KEYGEN, "--scrypt-log2n", cost_s, 10, 22, &cost))
        return CLI_USAGE;
    if (name == NULL) {
        const char *base = strrchr(out, '/');
        name = base != NULL ? base + 1 : out;
    }
    if (mcsec_init() != MCSEC_OK) {
        cli_error(KEYGEN, "the crypto self test failed: this build is broken, do not use it");
        return CLI_FAIL;
    }
    mcsec_status_t rc = mcsec_disc_app_generate(&app, name, (uint32_t)slot);
    if (rc == MCSEC_ERR_BAD_INPUT) {
        cli_error(KEYGEN, "--name '%s' is not 1-63 printable characters; give another --name",
                  name);
        return CLI_USAGE;
    }
    ret = CLI_FAIL;
    if (rc != MCSEC_OK) {
        cli_error(KEYGEN, "cannot make a key: %s; check the system's random generator",
                  mcsec_strerror(rc));
        goto out;
    }
    /* Before the passphrase and scrypt; the write itself never replaces a file either. */
    if (access(out, F_OK) == 0) {
        cli_error(KEYGEN, "%s already exists; give a new file name (keys are never overwritten)",
                  out);
        goto out;
    }
    if (!read_pass(KEYGEN, pass_file, 1, &pass, &pass_len)) goto out;
    if (mcsec_disc_keyfile_write(out, &app, pass, pass_len, (unsigned)cost) != MCSEC_OK) {
        cli_error(KEYGEN, "%s", mcsec_disc_last_error());
        goto out;
    }
    printf("created discovery key '%s' in %s (code changes every %u s); give it only to the\n"
           "handset that announces and to the monitors allowed to discover it\n",
           app.name, out, app.slot_s);
    ret = CLI_OK;
out:
    mcsec_memzero(&app, sizeof app);
    mcsec_passphrase_free(pass);
    return ret;
}

/* --- announce ---------------------------------------------------------------------------- */

#define ANNOUNCE "discovery announce"

static const char *const announce_help_head =
    "usage: mcsec discovery announce --key FILE [--count N] [--interval MS]\n"
    "                                [--passphrase-file FILE] [transport options]\n\n"
    "Broadcasts this handset's restricted discovery announcement: a 26-octet datagram with\n"
    "the current time slot and the code only holders of the key can recognise (it changes\n"
    "every slot). Stops after N announcements, or on Ctrl-C.\n"
    "  --key FILE          the application key file (`mcsec discovery keygen`)\n"
    "  --count N           announcements to send, 1 to 1000000 (default: until interrupted)\n"
    "  --interval MS       milliseconds between them, 10 to 60000 (default 1000)\n";

static const char *const transport_note =
    "Transport: multicast on the loopback; the default group is derived from\n"
    "\"" DISC_GROUP_NAME "\", the default port is " DISC_PORT_DEFAULT ".\n";

static void sleep_ms(uint64_t ms) {
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL); /* a signal ends it early: the loop then checks disc_stop */
}

static int announce(int argc, char *argv[]) {
    const char *key = NULL, *count_s = NULL, *interval_s = NULL, *pass_file = NULL;
    uint64_t count = 0, interval = 1000, sent = 0, last_slot = UINT64_MAX;
    cli_net_opts_t net_opts;
    mcsec_net_t *net = NULL;
    mcsec_disc_app_t app;
    char *pass = NULL;
    size_t pass_len = 0;
    int ret = CLI_USAGE;
    memset(&net_opts, 0, sizeof net_opts);
    memset(&app, 0, sizeof app);
    for (int i = 1; i < argc; i++) {
        int m;
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            printf("%s%s%s", announce_help_head, cli_net_help(), transport_note);
            return CLI_OK;
        }
        if ((m = cli_option(ANNOUNCE, argc, argv, &i, "--key", &key, "team.dkey")) ||
            (m = cli_option(ANNOUNCE, argc, argv, &i, "--count", &count_s, "10")) ||
            (m = cli_option(ANNOUNCE, argc, argv, &i, "--interval", &interval_s, "1000")) ||
            (m = cli_option(ANNOUNCE, argc, argv, &i, "--passphrase-file", &pass_file, "FILE")) ||
            (m = cli_net_option(ANNOUNCE, argc, argv, &i, &net_opts))) {
            if (m < 0) return CLI_USAGE;
            continue;
        }
        return cli_bad_arg(ANNOUNCE, ANNOUNCE, argv[i]);
    }
    if (key == NULL) {
        cli_error(ANNOUNCE, "--key is required: the application key file, e.g. --key team.dkey");
        return CLI_USAGE;
    }
    if (!number(ANNOUNCE, "--count", count_s, 1, 1000000, &count) ||
        !number(ANNOUNCE, "--interval", interval_s, 10, 60000, &interval))
        return CLI_USAGE;
    if (net_opts.port_s == NULL) net_opts.port_s = DISC_PORT_DEFAULT;
    ret = CLI_FAIL;
    if (!read_pass(ANNOUNCE, pass_file, 0, &pass, &pass_len)) goto out;
    if (mcsec_disc_keyfile_read(key, pass, pass_len, &app) != MCSEC_OK) {
        cli_error(ANNOUNCE, "%s", mcsec_disc_last_error());
        goto out;
    }
    if ((ret = cli_net_open(ANNOUNCE, &net_opts, DISC_GROUP_NAME, &net)) != CLI_OK) goto out;
    ret = CLI_FAIL;
    catch_signals();
    printf("announcing '%s' on %s every %llu ms (the code changes every %u s)\n", app.name,
           mcsec_net_describe(net), (unsigned long long)interval, app.slot_s);
    fflush(stdout);
    while (!disc_stop && (count == 0 || sent < count)) {
        uint8_t d[MCSEC_DISC_MSG_LEN];
        mcsec_disc_msg_t m;
        if (sent > 0) sleep_ms(interval);
        if (disc_stop) break;
        if (mcsec_disc_announce(&app, disc_unix_now(), d, &m) != MCSEC_OK) {
            cli_error(ANNOUNCE, "cannot compute the announcement; the key file is damaged");
            goto out;
        }
        if (mcsec_net_send(net, MCSEC_NET_CONTROL, d, sizeof d) != MCSEC_OK) {
            cli_error(ANNOUNCE, "%s; check the interface and multicast routing",
                      mcsec_net_last_error());
            goto out;
        }
        sent++;
        if (m.slot_start != last_slot) {
            printf("slot %llu (from %llu s UTC): code ",
                   (unsigned long long)(m.slot_start / app.slot_s),
                   (unsigned long long)m.slot_start);
            cli_hex(stdout, m.code, sizeof m.code);
            printf("\n");
            fflush(stdout);
            last_slot = m.slot_start;
        }
    }
    printf("sent %llu announcement%s\n", (unsigned long long)sent, sent == 1 ? "" : "s");
    ret = CLI_OK;
out:
    mcsec_net_close(net);
    mcsec_memzero(&app, sizeof app);
    mcsec_passphrase_free(pass);
    return ret;
}

/* --- monitor ----------------------------------------------------------------------------- */

#define MONITOR "discovery monitor"

static const char *const monitor_help_head =
    "usage: mcsec discovery monitor --key FILE [--key FILE ...] [--count N] [--timeout S]\n"
    "                               [--passphrase-file FILE] [transport options]\n\n"
    "Listens for restricted discovery announcements and reports those of the applications\n"
    "whose key files it holds (up to 16, one passphrase), one line per datagram heard:\n"
    "discovered, repeat (already discovered in that slot), expired (outside +/-1 slot of\n"
    "this clock: an old code replayed), no match (not ours), or malformed.\n"
    "Exit 0 after N discoveries, 1 if the timeout comes first.\n"
    "  --key FILE          an application key file (repeat for several)\n"
    "  --count N           discoveries to wait for, 1 to 1000000 (default 1)\n"
    "  --timeout S         seconds to listen, 1 to 86400 (default 60)\n";

static uint64_t mono_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int monitor_loop(mcsec_disc_monitor_t *mon, mcsec_net_t *net, uint64_t count,
                        uint64_t timeout) {
    uint8_t buf[2048];
    uint64_t found = 0, heard = 0, deadline = mono_ms() + timeout * 1000;
    while (!disc_stop && found < count && mono_ms() < deadline) {
        mcsec_net_channel_t ch;
        mcsec_disc_match_t mt;
        size_t len;
        mcsec_status_t rc = mcsec_net_recv(net, 200, &ch, buf, sizeof buf, &len);
        if (rc == MCSEC_ERR_EXPIRED) continue;
        if (rc == MCSEC_ERR_BAD_LENGTH) {
            printf("malformed: a datagram longer than %zu octets\n", sizeof buf);
            continue;
        }
        if (rc != MCSEC_OK) {
            cli_error(MONITOR, "%s; check the interface", mcsec_net_last_error());
            return CLI_FAIL;
        }
        if (ch != MCSEC_NET_CONTROL) continue;
        heard++;
        rc = mcsec_disc_monitor_check(mon, buf, len, disc_unix_now(), &mt);
        switch (rc) {
        case MCSEC_OK:
            found++;
            printf("discovered '%s' (slot %llu, offset %+d)\n", mt.name,
                   (unsigned long long)mt.slot, mt.offset);
            break;
        case MCSEC_ERR_REPLAY:
            printf("repeat: '%s' in slot %llu, already discovered\n", mt.name,
                   (unsigned long long)mt.slot);
            break;
        case MCSEC_ERR_EXPIRED:
            printf("expired: a code from outside +/-%d slot of this clock (replayed or clock "
                   "off)\n",
                   MCSEC_DISC_WINDOW);
            break;
        case MCSEC_ERR_VERIFY:
            printf("no match: an announcement none of our keys recognises\n");
            break;
        default:
            printf("malformed: %s\n", mcsec_strerror(rc));
            break;
        }
        fflush(stdout);
    }
    printf("heard %llu announcement%s, discovered %llu\n", (unsigned long long)heard,
           heard == 1 ? "" : "s", (unsigned long long)found);
    if (found >= count) return CLI_OK;
    if (!disc_stop)
        cli_error(MONITOR, "%llu of %llu discoveries in %llu s; is the announcer running with "
                           "the same key file, address and port?",
                  (unsigned long long)found, (unsigned long long)count,
                  (unsigned long long)timeout);
    return CLI_FAIL;
}

static int monitor(int argc, char *argv[]) {
    const char *keys[MAX_KEYS], *count_s = NULL, *timeout_s = NULL, *pass_file = NULL;
    size_t n_keys = 0;
    uint64_t count = 1, timeout = 60;
    cli_net_opts_t net_opts;
    mcsec_net_t *net = NULL;
    mcsec_disc_monitor_t *mon = NULL;
    mcsec_disc_app_t app;
    char *pass = NULL;
    size_t pass_len = 0;
    int ret = CLI_USAGE;
    memset(&net_opts, 0, sizeof net_opts);
    memset(&app, 0, sizeof app);
    for (int i = 1; i < argc; i++) {
        const char *k = NULL;
        int m;
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            printf("%s%s%s", monitor_help_head, cli_net_help(), transport_note);
            return CLI_OK;
        }
        if ((m = cli_option(MONITOR, argc, argv, &i, "--key", &k, "team.dkey")) != 0) {
            if (m < 0) return CLI_USAGE;
            if (n_keys == MAX_KEYS) {
                cli_error(MONITOR, "at most %d --key options; run another monitor for more",
                          MAX_KEYS);
                return CLI_USAGE;
            }
            keys[n_keys++] = k;
            continue;
        }
        if ((m = cli_option(MONITOR, argc, argv, &i, "--count", &count_s, "1")) ||
            (m = cli_option(MONITOR, argc, argv, &i, "--timeout", &timeout_s, "60")) ||
            (m = cli_option(MONITOR, argc, argv, &i, "--passphrase-file", &pass_file, "FILE")) ||
            (m = cli_net_option(MONITOR, argc, argv, &i, &net_opts))) {
            if (m < 0) return CLI_USAGE;
            continue;
        }
        return cli_bad_arg(MONITOR, MONITOR, argv[i]);
    }
    if (n_keys == 0) {
        cli_error(MONITOR, "--key is required: an application key file, e.g. --key team.dkey");
        return CLI_USAGE;
    }
    if (!number(MONITOR, "--count", count_s, 1, 1000000, &count) ||
        !number(MONITOR, "--timeout", timeout_s, 1, 86400, &timeout))
        return CLI_USAGE;
    if (net_opts.port_s == NULL) net_opts.port_s = DISC_PORT_DEFAULT;
    ret = CLI_FAIL;
    if (!read_pass(MONITOR, pass_file, 0, &pass, &pass_len)) goto out;
    if (mcsec_disc_monitor_new(&mon) != MCSEC_OK) {
        cli_error(MONITOR, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < n_keys; i++) {
        if (mcsec_disc_keyfile_read(keys[i], pass, pass_len, &app) != MCSEC_OK) {
            cli_error(MONITOR, "%s", mcsec_disc_last_error());
            goto out;
        }
        if (mcsec_disc_monitor_add(mon, &app) != MCSEC_OK) {
            cli_error(MONITOR, "cannot use %s; give a file made by `mcsec discovery keygen`",
                      keys[i]);
            goto out;
        }
        mcsec_memzero(&app, sizeof app);
    }
    if ((ret = cli_net_open(MONITOR, &net_opts, DISC_GROUP_NAME, &net)) != CLI_OK) goto out;
    catch_signals();
    printf("monitoring %s for %zu application%s\n", mcsec_net_describe(net), n_keys,
           n_keys == 1 ? "" : "s");
    fflush(stdout);
    ret = monitor_loop(mon, net, count, timeout);
out:
    mcsec_net_close(net);
    mcsec_disc_monitor_free(mon);
    mcsec_memzero(&app, sizeof app);
    mcsec_passphrase_free(pass);
    return ret;
}

int cmd_discovery(int argc, char *argv[]) {
    static const cli_sub_t subs[] = {
        {"keygen", keygen, "make a sealed application key file for restricted discovery"},
        {"announce", announce, "broadcast this handset's slot-dependent discovery code"},
        {"monitor", monitor, "listen and report the applications this handset may discover"},
        {"demo", disc_demo, "announcer, authorised and unauthorised monitor on the loopback"},
        {NULL, NULL, NULL},
    };
    return cli_dispatch("discovery", subs, argc, argv);
}
