/* mcsec discovery demo: restricted discovery on this machine with no set-up. Two application
 * key files are sealed in a temporary directory; an announcer and an authorised monitor load
 * the first, an unauthorised monitor the second (another application's). Over UDP multicast
 * on the loopback the announcer broadcasts its code, an attacker re-broadcasts it in the same
 * slot and replays one recorded two slots earlier. Only the authorised monitor may discover,
 * once; the old code must be refused as expired. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "discovery_cli.h"
#include "mcsec/secmem.h"

#define DEMO "discovery demo"
#define ANNOUNCEMENTS 3
#define RECV_TIMEOUT_MS 2000
#define DEMO_LOG2N 12 /* demo only: a low scrypt cost for throw-away key files */
#define APP_OURS "fire-team-7"
#define APP_OTHER "ems-unit-3"

static const char *const demo_help =
    "usage: mcsec discovery demo [--slot SECONDS] [--address IP] [--port PORT]\n"
    "                            [--interface IP] [--json]\n\n"
    "Restricted discovery with no set-up: seals two application key files in a temporary\n"
    "directory (demo only: a random passphrase and a low scrypt cost), then over UDP\n"
    "multicast on the loopback an announcer broadcasts its code three times, an attacker\n"
    "re-broadcasts it and replays a code recorded two slots earlier. The monitor holding the\n"
    "announcer's key must discover it once and refuse the old code as expired; the monitor\n"
    "holding another application's key must discover nothing.\n"
    "  --slot SECONDS   slot length, 5 to 86400 (default 30)\n"
    "  --address IP     multicast group (default: a random 239.255.x.y)\n"
    "  --port PORT      control port (default: random; the three above it are used too)\n"
    "  --interface IP   IPv4 address of the multicast interface (default 127.0.0.1)\n"
    "  --json           print the summary as one JSON object (progress goes to stderr)\n"
    "Exit status: 0 if every check held, 1 otherwise, 2 for a usage error.\n";

typedef struct {
    const char *role;
    char app[MCSEC_DISC_NAME_MAX];
    mcsec_disc_monitor_t *mon;
    mcsec_net_t *net;
    unsigned heard, discovered, repeat, expired, no_match, malformed;
} demo_mon_t;

typedef struct {
    FILE *log;
    int json;
    struct timespec t0;
    char dir[4096];
    char files[2][4200];
    int n_files;
} demo_t;

static double elapsed_ms(const struct timespec *since) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - since->tv_sec) * 1e3 +
           (double)(now.tv_nsec - since->tv_nsec) / 1e6;
}

static void progress(const demo_t *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void progress(const demo_t *d, const char *fmt, ...) {
    va_list ap;
    char line[1024];
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    fprintf(d->log, "[%6.2f s] %s\n", elapsed_ms(&d->t0) / 1000, line);
    fflush(d->log);
}

static void hex(char *out, const uint8_t *p, size_t n) {
    for (size_t i = 0; i < n; i++)
        sprintf(out + 2 * i, "%02x", p[i]);
}

/* Receives up to want announcements on m's socket; the outcome of the last in *last. */
static unsigned hear(demo_mon_t *m, unsigned want, mcsec_status_t *last) {
    uint8_t buf[2048];
    unsigned got = 0;
    *last = MCSEC_ERR_EXPIRED;
    while (got < want) {
        mcsec_net_channel_t ch;
        mcsec_disc_match_t mt;
        size_t len;
        mcsec_status_t rc = mcsec_net_recv(m->net, RECV_TIMEOUT_MS, &ch, buf, sizeof buf, &len);
        if (rc == MCSEC_ERR_EXPIRED || rc == MCSEC_ERR_IO) break;
        if (rc != MCSEC_OK || ch != MCSEC_NET_CONTROL) continue;
        got++;
        m->heard++;
        *last = mcsec_disc_monitor_check(m->mon, buf, len, disc_unix_now(), &mt);
        switch (*last) {
        case MCSEC_OK: m->discovered++; break;
        case MCSEC_ERR_REPLAY: m->repeat++; break;
        case MCSEC_ERR_EXPIRED: m->expired++; break;
        case MCSEC_ERR_VERIFY: m->no_match++; break;
        default: m->malformed++; break;
        }
    }
    return got;
}

/* Seals a fresh application into DIR/<name>.dkey and loads it into a new monitor (and *app
 * when not NULL). */
static int make_key(demo_t *d, const char *name, uint32_t slot_s, const char *pass,
                    demo_mon_t *m, mcsec_disc_app_t *announcer) {
    mcsec_disc_app_t app;
    int ok = 0;
    char *path = d->files[d->n_files];
    snprintf(path, sizeof d->files[0], "%s/%s.dkey", d->dir, name);
    if (mcsec_disc_app_generate(&app, name, slot_s) != MCSEC_OK ||
        mcsec_disc_keyfile_write(path, &app, pass, strlen(pass), DEMO_LOG2N) != MCSEC_OK) {
        cli_error(DEMO, "cannot seal a key file in %s: %s; check TMPDIR", d->dir,
                  mcsec_disc_last_error());
        goto out;
    }
    d->n_files++;
    mcsec_memzero(&app, sizeof app);
    /* Each holder loads its own copy from the sealed file. */
    if (announcer != NULL &&
        mcsec_disc_keyfile_read(path, pass, strlen(pass), announcer) != MCSEC_OK)
        goto fail;
    if (mcsec_disc_keyfile_read(path, pass, strlen(pass), &app) != MCSEC_OK) goto fail;
    if (mcsec_disc_monitor_new(&m->mon) != MCSEC_OK || mcsec_disc_monitor_add(m->mon, &app) != MCSEC_OK) {
        cli_error(DEMO, "out of memory");
        goto out;
    }
    snprintf(m->app, sizeof m->app, "%s", app.name);
    ok = 1;
    goto out;
fail:
    cli_error(DEMO, "%s", mcsec_disc_last_error());
out:
    mcsec_memzero(&app, sizeof app);
    return ok;
}

static void cleanup_dir(demo_t *d) {
    for (int i = 0; i < d->n_files; i++)
        unlink(d->files[i]);
    if (d->dir[0] != 0) rmdir(d->dir);
}

typedef struct {
    uint32_t slot_s;
    char transport[96];
    int codes_differ;
    mcsec_status_t same_slot, old_slot, other_old;
    int ok;
} demo_result_t;

static const char *mon_result(const demo_mon_t *m) {
    return m->discovered > 0 ? "discovered" : "not discovered";
}

static void report_text(const demo_t *d, const demo_result_t *r, demo_mon_t *mons) {
    printf("\nsummary: restricted discovery, slot %u s, window +/-%d slot, %s\n", r->slot_s,
           MCSEC_DISC_WINDOW, r->transport);
    printf("  %-13s %-12s %5s %10s %6s %7s %8s  %s\n", "monitor", "application", "heard",
           "discovered", "repeat", "expired", "no match", "result");
    for (int i = 0; i < 2; i++)
        printf("  %-13s %-12s %5u %10u %6u %7u %8u  %s\n", mons[i].role, mons[i].app,
               mons[i].heard, mons[i].discovered, mons[i].repeat, mons[i].expired,
               mons[i].no_match, mon_result(&mons[i]));
    printf("\n%s: %s (%.1f s)\n", r->ok ? "OK" : "FAILED",
           r->ok ? "only the authorised monitor discovered the announcer; the re-broadcast "
                   "code was a repeat and the old one was refused as expired"
                 : "a check did not hold; see the table above",
           elapsed_ms(&d->t0) / 1000);
}

static void report_json(const demo_t *d, const demo_result_t *r, demo_mon_t *mons) {
    cli_json_t j;
    cli_json_start(&j, stdout);
    cli_json_bool(&j, "ok", r->ok);
    cli_json_u64(&j, "slot_seconds", r->slot_s);
    cli_json_u64(&j, "window_slots", MCSEC_DISC_WINDOW);
    cli_json_str(&j, "transport", r->transport);
    cli_json_u64(&j, "announcements", ANNOUNCEMENTS);
    cli_json_bool(&j, "code_changes_every_slot", r->codes_differ);
    cli_json_str(&j, "rebroadcast_same_slot", disc_outcome(r->same_slot));
    cli_json_str(&j, "replay_two_slots_old", disc_outcome(r->old_slot));
    cli_json_open(&j, "monitors", '{');
    for (int i = 0; i < 2; i++) {
        cli_json_open(&j, mons[i].role, '{');
        cli_json_str(&j, "application", mons[i].app);
        cli_json_u64(&j, "heard", mons[i].heard);
        cli_json_u64(&j, "discovered", mons[i].discovered);
        cli_json_u64(&j, "repeat", mons[i].repeat);
        cli_json_u64(&j, "expired", mons[i].expired);
        cli_json_u64(&j, "no_match", mons[i].no_match);
        cli_json_u64(&j, "malformed", mons[i].malformed);
        cli_json_str(&j, "result", mon_result(&mons[i]));
        cli_json_close(&j, '}');
    }
    cli_json_close(&j, '}');
    cli_json_u64(&j, "elapsed_ms", (uint64_t)(elapsed_ms(&d->t0) + 0.5));
    cli_json_close(&j, '}');
}

/* A random organisation-local group and port, so that parallel runs do not hear each other. */
static int random_net(cli_net_opts_t *o, char group[16], char port[8]) {
    uint8_t r[4];
    if (mcsec_random_bytes(r, sizeof r) != MCSEC_OK) return 0;
    if (o->address == NULL) {
        snprintf(group, 16, "239.255.%u.%u", (unsigned)r[0], 1u + r[1] % 254u);
        o->address = group;
    }
    if (o->port_s == NULL) {
        snprintf(port, 8, "%u", 20000u + (unsigned)(r[2] << 8 | r[3]) % 40000u);
        o->port_s = port;
    }
    return 1;
}

static int parse_args(int argc, char *argv[], demo_t *d, cli_net_opts_t *o, uint32_t *slot_s) {
    const char *slot = NULL;
    for (int i = 1; i < argc; i++) {
        int m;
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(demo_help, stdout);
            return CLI_OK;
        }
        if (strcmp(argv[i], "--json") == 0) {
            d->json = 1;
            continue;
        }
        if ((m = cli_option(DEMO, argc, argv, &i, "--slot", &slot, "30")) ||
            (m = cli_option(DEMO, argc, argv, &i, "--address", &o->address, "239.255.1.2")) ||
            (m = cli_option(DEMO, argc, argv, &i, "--port", &o->port_s, "5100")) ||
            (m = cli_option(DEMO, argc, argv, &i, "--interface", &o->interface, "127.0.0.1"))) {
            if (m < 0) return CLI_USAGE;
            continue;
        }
        return cli_bad_arg(DEMO, DEMO, argv[i]);
    }
    uint64_t v = MCSEC_DISC_SLOT_DEFAULT;
    if (slot != NULL && (!cli_parse_u64(slot, &v) || v < 5 || v > MCSEC_DISC_SLOT_MAX)) {
        cli_error(DEMO, "--slot '%s' is not a number of seconds from 5 to %d", slot,
                  MCSEC_DISC_SLOT_MAX);
        return CLI_USAGE;
    }
    *slot_s = (uint32_t)v;
    return -1; /* go on */
}

int disc_demo(int argc, char *argv[]) {
    demo_t d;
    demo_result_t r;
    demo_mon_t mons[2] = {{.role = "authorised"}, {.role = "unauthorised"}};
    cli_net_opts_t o;
    mcsec_net_t *announcer = NULL, *attacker = NULL;
    mcsec_disc_app_t app;
    mcsec_disc_msg_t m;
    uint8_t next_code[MCSEC_DISC_CODE_LEN], pkt[MCSEC_DISC_MSG_LEN], first[MCSEC_DISC_MSG_LEN], old[MCSEC_DISC_MSG_LEN], raw[16];
    char pass[33], group[16], port[8], code_hex[2 * MCSEC_DISC_CODE_LEN + 1],
        next_hex[sizeof code_hex];
    mcsec_status_t last;
    int ret;

    memset(&d, 0, sizeof d);
    memset(&r, 0, sizeof r);
    memset(&o, 0, sizeof o);
    memset(&app, 0, sizeof app);
    memset(pass, 0, sizeof pass);
    clock_gettime(CLOCK_MONOTONIC, &d.t0);
    r.slot_s = MCSEC_DISC_SLOT_DEFAULT;
    if ((ret = parse_args(argc, argv, &d, &o, &r.slot_s)) >= 0) return ret;
    d.log = d.json ? stderr : stdout;
    ret = CLI_FAIL;

    /* 1. Key files: random passphrase, sealed in a private temporary directory. */
    const char *tmp = getenv("TMPDIR");
    snprintf(d.dir, sizeof d.dir, "%s/mcsec-discovery.XXXXXX", tmp != NULL && tmp[0] ? tmp : "/tmp");
    if (mcsec_init() != MCSEC_OK || mcsec_random_bytes(raw, sizeof raw) != MCSEC_OK) {
        cli_error(DEMO, "the crypto self test or the random generator failed; this build is "
                        "broken, do not use it");
        goto out;
    }
    hex(pass, raw, sizeof raw);
    if (mkdtemp(d.dir) == NULL) {
        cli_error(DEMO, "cannot create a temporary directory in %s: %s; set TMPDIR to a "
                        "writable directory",
                  tmp != NULL && tmp[0] ? tmp : "/tmp", strerror(errno));
        d.dir[0] = 0;
        goto out;
    }
    if (!make_key(&d, APP_OURS, r.slot_s, pass, &mons[0], &app) ||
        !make_key(&d, APP_OTHER, r.slot_s, pass, &mons[1], NULL))
        goto out;
    progress(&d, "sealed %s.dkey (announcer, authorised monitor) and %s.dkey (unauthorised "
                 "monitor); demo only: random passphrase, scrypt N = 2^%d",
             APP_OURS, APP_OTHER, DEMO_LOG2N);

    /* 2. Four handles on one multicast group: announcer, two monitors, an attacker. */
    if (!random_net(&o, group, port)) goto out;
    if ((ret = cli_net_open(DEMO, &o, DISC_GROUP_NAME, &announcer)) != CLI_OK ||
        (ret = cli_net_open(DEMO, &o, DISC_GROUP_NAME, &mons[0].net)) != CLI_OK ||
        (ret = cli_net_open(DEMO, &o, DISC_GROUP_NAME, &mons[1].net)) != CLI_OK ||
        (ret = cli_net_open(DEMO, &o, DISC_GROUP_NAME, &attacker)) != CLI_OK)
        goto out;
    ret = CLI_FAIL;
    snprintf(r.transport, sizeof r.transport, "%s", mcsec_net_describe(announcer));
    progress(&d, "announcer, two monitors and an attacker on %s; the code changes every %u s",
             r.transport, r.slot_s);

    /* 3. The announcer broadcasts three times; each monitor hears all three. */
    for (int i = 0; i < ANNOUNCEMENTS; i++) {
        if (mcsec_disc_announce(&app, disc_unix_now(), pkt, &m) != MCSEC_OK ||
            mcsec_net_send(announcer, MCSEC_NET_CONTROL, pkt, sizeof pkt) != MCSEC_OK) {
            cli_error(DEMO, "cannot announce: %s; check the multicast interface",
                      mcsec_net_last_error());
            goto out;
        }
        if (i == 0) memcpy(first, pkt, sizeof first);
    }
    hex(code_hex, m.code, sizeof m.code);
    progress(&d, "announcer '%s': %d announcements in slot %llu, code %s", app.name,
             ANNOUNCEMENTS, (unsigned long long)(m.slot_start / app.slot_s), code_hex);
    for (int i = 0; i < 2; i++) {
        unsigned got = hear(&mons[i], ANNOUNCEMENTS, &last);
        progress(&d, "%s monitor (%s): heard %u, discovered %u, repeat %u, no match %u",
                 mons[i].role, mons[i].app, got, mons[i].discovered, mons[i].repeat,
                 mons[i].no_match);
    }

    /* 4. The attacker re-broadcasts the first announcement in its slot: no new discovery. */
    if (mcsec_net_send(attacker, MCSEC_NET_CONTROL, first, sizeof first) != MCSEC_OK) goto net_err;
    hear(&mons[0], 1, &r.same_slot);
    hear(&mons[1], 1, &last);
    progress(&d, "attacker re-broadcasts it: authorised monitor: %s (no new discovery); "
                 "unauthorised: %s",
             disc_outcome(r.same_slot), disc_outcome(last));

    /* 5. The attacker replays an announcement recorded two slots ago. */
    if (mcsec_disc_announce(&app, disc_unix_now() - 2 * (uint64_t)r.slot_s, old, NULL) !=
        MCSEC_OK)
        goto out;
    if (mcsec_net_send(attacker, MCSEC_NET_CONTROL, old, sizeof old) != MCSEC_OK) goto net_err;
    hear(&mons[0], 1, &r.old_slot);
    hear(&mons[1], 1, &r.other_old);
    progress(&d, "attacker replays a code recorded 2 slots (%llu s) ago: authorised monitor: "
                 "%s; unauthorised: %s",
             2 * (unsigned long long)r.slot_s, disc_outcome(r.old_slot),
             disc_outcome(r.other_old));

    /* 6. Tracking: the next slot's code is unrelated to this one. */
    uint64_t next_slot = m.slot_start / app.slot_s + 1;
    if (mcsec_disc_code(&app, next_slot, next_code) != MCSEC_OK) goto out;
    hex(next_hex, next_code, sizeof next_code);
    r.codes_differ = memcmp(next_code, m.code, sizeof m.code) != 0;
    progress(&d, "slot %llu will announce %s: a passive listener cannot link the two",
             (unsigned long long)next_slot, next_hex);

    r.ok = mons[0].discovered >= 1 && mons[0].heard == ANNOUNCEMENTS + 2 &&
           mons[0].discovered + mons[0].repeat == ANNOUNCEMENTS + 1 &&
           r.same_slot == MCSEC_ERR_REPLAY && r.old_slot == MCSEC_ERR_EXPIRED &&
           mons[1].discovered == 0 && mons[1].repeat == 0 &&
           mons[1].heard == ANNOUNCEMENTS + 2 && mons[0].malformed + mons[1].malformed == 0 &&
           r.codes_differ;
    ret = r.ok ? CLI_OK : CLI_FAIL;
    if (d.json)
        report_json(&d, &r, mons);
    else
        report_text(&d, &r, mons);
    fflush(stdout);
    goto out;
net_err:
    cli_error(DEMO, "cannot send: %s; check the multicast interface", mcsec_net_last_error());
out:
    mcsec_net_close(announcer);
    mcsec_net_close(attacker);
    for (int i = 0; i < 2; i++) {
        mcsec_net_close(mons[i].net);
        mcsec_disc_monitor_free(mons[i].mon);
    }
    mcsec_memzero(&app, sizeof app);
    mcsec_memzero(pass, sizeof pass);
    mcsec_memzero(raw, sizeof raw);
    cleanup_dir(&d);
    return ret;
}
