/* mcsec direct demo: two handsets (alice, bob) in this process, each with its keystore, its
 * identity keys and a UDP socket on loopback. Alice establishes a direct link with bob (Direct
 * Communication Request, Direct Security Mode Command / Complete, Accept), they exchange data
 * both ways on the signalling and user plane bearers, bob rekeys with fresh nonces, alice with
 * a fresh KD, alice releases and resumes by connection identity, more data, bob releases.
 * Key establishment: --mode offline (KD in a MIKEY-SAKKE I_MESSAGE signed with ECCSI), sdes (K1
 * and K2 contributions, seed 003) or network (KD from mcsec-kms network entities, seed 001). */
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "direct_cli.h"
#include "mcsec/secmem.h"

#define HELP 3
#define PACKETS_DEFAULT 50

static const char *const help =
    "usage: mcsec direct demo [--mode offline|network|sdes] [--packets N]\n"
    "                         [--attack bidding-down] [--keep DIR] [--json]\n\n"
    "Two handsets on this machine set up a protected one-to-one direct link over UDP on the\n"
    "loopback: Direct Security Mode, data both ways, rekeying with fresh nonces and with a\n"
    "fresh KD, release, and resumption by connection identity.\n"
    "  --mode M        how KD is made: offline (default; a MIKEY-SAKKE I_MESSAGE signed with\n"
    "                  ECCSI, no network), sdes (K1 from alice, K2 from bob, both in\n"
    "                  MIKEY-SAKKE; KD = KDF(K1, K2)), network (KD from two mcsec-kms network\n"
    "                  entities, started here)\n"
    "  --packets N     packets each way in each data step, 1 to 10000 (default 50)\n"
    "  --attack bidding-down\n"
    "                  a man in the middle strips AES-CTR from alice's offer; the link must\n"
    "                  not be set up (the demo then fails, exit status 1)\n"
    "  --keep DIR      work in DIR (must not exist) and keep it: keystores, daemon logs\n"
    "  --json          print the summary as one JSON object (progress goes to stderr)\n"
    "Demo only: a random passphrase and a low scrypt cost protect the temporary keystores.\n"
    "Exit status: 0 if every step succeeded and every packet arrived intact, 1 otherwise, 2 for\n"
    "a usage error.\n";

void dd_progress(dd_run_t *r, const char *fmt, ...) {
    va_list ap;
    char line[512];
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    fprintf(r->log, "[%6.2f s] %s\n", demo_ms(&r->t0) / 1000, line);
    fflush(r->log);
}

static void on_signal(int sig) {
    (void)sig;
    demo_stop = 1;
}

static int parse_args(int argc, char *argv[], dd_run_t *r, const char **keep) {
    const char *mode = NULL, *packets = NULL, *attack = NULL;
    r->mode = DD_OFFLINE;
    r->packets = PACKETS_DEFAULT;
    for (int i = 1; i < argc; i++) {
        int m;
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(help, stdout);
            return HELP;
        }
        if (strcmp(argv[i], "--json") == 0) {
            r->json = 1;
            continue;
        }
        if ((m = cli_option(DD_CMD, argc, argv, &i, "--mode", &mode, "offline")) ||
            (m = cli_option(DD_CMD, argc, argv, &i, "--packets", &packets, "50")) ||
            (m = cli_option(DD_CMD, argc, argv, &i, "--attack", &attack, "bidding-down")) ||
            (m = cli_option(DD_CMD, argc, argv, &i, "--keep", keep, "/tmp/direct-demo"))) {
            if (m < 0) return CLI_USAGE;
            continue;
        }
        return cli_bad_arg(DD_CMD, DD_CMD, argv[i]);
    }
    if (mode != NULL) {
        if (strcmp(mode, "offline") == 0)
            r->mode = DD_OFFLINE;
        else if (strcmp(mode, "sdes") == 0)
            r->mode = DD_SDES;
        else if (strcmp(mode, "network") == 0)
            r->mode = DD_NETWORK;
        else {
            cli_error(DD_CMD, "--mode '%s' is not offline, network or sdes", mode);
            return CLI_USAGE;
        }
    }
    uint64_t n = 0;
    if (packets != NULL && (!cli_parse_u64(packets, &n) || n < 1 || n > 10000)) {
        cli_error(DD_CMD, "--packets '%s' is not a number from 1 to 10000", packets);
        return CLI_USAGE;
    }
    if (packets != NULL) r->packets = (unsigned)n;
    if (attack != NULL && strcmp(attack, "bidding-down") != 0) {
        cli_error(DD_CMD, "--attack '%s' is not bidding-down", attack);
        return CLI_USAGE;
    }
    r->attack = attack;
    return CLI_OK;
}

/* --- Steps ----------------------------------------------------------------------------------- */

static struct timespec step_t0;

static dd_step_t *step_begin(dd_run_t *r, const char *name) {
    dd_step_t *s = &r->steps[r->n_steps < DD_STEPS_MAX ? r->n_steps++ : DD_STEPS_MAX - 1];
    memset(s, 0, sizeof *s);
    snprintf(s->name, sizeof s->name, "%s", name);
    clock_gettime(CLOCK_MONOTONIC, &step_t0);
    return s;
}

static int step_end(dd_run_t *r, dd_step_t *s, int st) {
    s->ms = demo_ms(&step_t0);
    s->ok = st == CLI_OK;
    if (s->ok)
        dd_progress(r, "%-13s %8.2f ms  %s", s->name, s->ms, s->detail);
    else
        dd_progress(r, "%-13s FAILED: %s", s->name, r->failure);
    return st;
}

static dd_ue_t *A(dd_run_t *r) { return &r->ue[0]; }
static dd_ue_t *B(dd_run_t *r) { return &r->ue[1]; }

static const char *enc_name(uint8_t a) {
    return a == MCSEC_DIRECT_ENC_AES_CTR ? "AES-CTR" : a == MCSEC_DIRECT_ENC_NULL ? "null" : "?";
}

static void describe_link(dd_run_t *r, char *out, size_t cap) {
    uint8_t enc = 0, integ = 0;
    mcsec_direct_algs(A(r)->link, &enc, &integ);
    snprintf(out, cap,
             "KD ID %08x, KD-sess ID %04x, %s + %s, connection ids alice->bob %08x "
             "bob->alice %08x",
             mcsec_direct_kd_id(A(r)->link), mcsec_direct_kd_sess_id(A(r)->link), enc_name(enc),
             integ == MCSEC_DIRECT_INT_AES_CMAC ? "AES-CMAC" : "?",
             mcsec_direct_remote_conn_id(A(r)->link), mcsec_direct_remote_conn_id(B(r)->link));
}

static int established(dd_run_t *r) {
    return A(r)->link != NULL && B(r)->link != NULL &&
           mcsec_direct_state(A(r)->link) == MCSEC_DIRECT_S_ESTABLISHED &&
           mcsec_direct_state(B(r)->link) == MCSEC_DIRECT_S_ESTABLISHED &&
           mcsec_direct_remote_conn_id(A(r)->link) == mcsec_direct_local_conn_id(B(r)->link);
}

/* The KD for alice's next request, by mode (none when resuming with the stored KD). */
static int offer(dd_run_t *r, int fresh) {
    mcsec_status_t rc = MCSEC_OK;
    if (!fresh) return CLI_OK;
    if (r->mode == DD_NETWORK) return dd_network_offer(r, A(r), A(r)->link);
    rc = mcsec_direct_keying_offer(A(r)->link, A(r)->id,
                                   r->mode == DD_SDES ? MCSEC_DIRECT_KEYING_SDES
                                                      : MCSEC_DIRECT_KEYING_OFFLINE);
    if (rc != MCSEC_OK) {
        snprintf(r->failure, sizeof r->failure, "alice cannot offer a key: %s (%s)",
                 mcsec_strerror(rc), mcsec_direct_last_why(A(r)->link));
        return CLI_FAIL;
    }
    return CLI_OK;
}

static int connect_step(dd_run_t *r, const char *name, int fresh) {
    uint8_t msg[MCSEC_DIRECT_MSG_MAX];
    size_t len = 0;
    dd_step_t *s = step_begin(r, name);
    int st = CLI_OK;
    mcsec_status_t rc = MCSEC_OK;
    uint32_t conn = A(r)->link != NULL ? mcsec_direct_remote_conn_id(A(r)->link) : 0;
    if (A(r)->link == NULL) rc = mcsec_direct_link_new(A(r)->ue, B(r)->uri, &A(r)->link);
    if (rc == MCSEC_OK) st = offer(r, fresh);
    if (rc == MCSEC_OK && st == CLI_OK) rc = mcsec_direct_build_dcr(A(r)->link, msg, sizeof msg, &len);
    if (rc != MCSEC_OK) {
        snprintf(r->failure, sizeof r->failure, "alice cannot start the link: %s",
                 mcsec_strerror(rc));
        st = CLI_FAIL;
    }
    if (st == CLI_OK) st = dd_send(r, A(r), msg, len);
    if (st == CLI_OK) st = dd_loop(r, established);
    if (st == CLI_OK) {
        char d[160];
        describe_link(r, d, sizeof d);
        if (conn != 0)
            snprintf(s->detail, sizeof s->detail, "resumed by connection id %08x: %s", conn, d);
        else
            snprintf(s->detail, sizeof s->detail, "%s", d);
    }
    return step_end(r, s, st);
}

static uint64_t want_a, want_b;
static int data_done(dd_run_t *r) { return A(r)->received >= want_a && B(r)->received >= want_b; }

static int data_step(dd_run_t *r) {
    dd_step_t *s = step_begin(r, "data");
    want_a = A(r)->received + r->packets;
    want_b = B(r)->received + r->packets;
    int st = dd_send_data(r, A(r), r->packets);
    if (st == CLI_OK) st = dd_send_data(r, B(r), r->packets);
    if (st == CLI_OK) st = dd_loop(r, data_done);
    if (st == CLI_OK && (A(r)->bad_content || B(r)->bad_content)) {
        snprintf(r->failure, sizeof r->failure, "%" PRIu64 " packets arrived with other content",
                 A(r)->bad_content + B(r)->bad_content);
        st = CLI_FAIL;
    }
    if (st == CLI_OK)
        snprintf(s->detail, sizeof s->detail,
                 "%u packets each way on bearers 0-3, every one intact (KD-sess ID %04x)",
                 r->packets, mcsec_direct_kd_sess_id(A(r)->link));
    return step_end(r, s, st);
}

static uint16_t old_sess;
static uint32_t old_kd;
static int rekeyed(dd_run_t *r) {
    return mcsec_direct_kd_sess_id(A(r)->link) != old_sess &&
           mcsec_direct_kd_sess_id(A(r)->link) == mcsec_direct_kd_sess_id(B(r)->link);
}

static int rekey_step(dd_run_t *r, dd_ue_t *u, int fresh) {
    uint8_t msg[MCSEC_DIRECT_MSG_MAX];
    size_t len = 0;
    dd_step_t *s = step_begin(r, fresh ? "rekey-kd" : "rekey-nonces");
    old_sess = mcsec_direct_kd_sess_id(A(r)->link);
    old_kd = mcsec_direct_kd_id(A(r)->link);
    int st = u == A(r) ? offer(r, fresh) : CLI_OK;
    mcsec_status_t rc = MCSEC_OK;
    if (st == CLI_OK) rc = mcsec_direct_build_rekey(u->link, fresh, msg, sizeof msg, &len);
    if (rc != MCSEC_OK) {
        snprintf(r->failure, sizeof r->failure, "%s cannot rekey: %s", u->name, mcsec_strerror(rc));
        st = CLI_FAIL;
    }
    if (st == CLI_OK) st = dd_send(r, u, msg, len);
    if (st == CLI_OK) st = dd_loop(r, rekeyed);
    if (st == CLI_OK && mcsec_direct_kd_id(B(r)->link) != mcsec_direct_kd_id(A(r)->link)) {
        snprintf(r->failure, sizeof r->failure, "the two ends hold different KD IDs");
        st = CLI_FAIL;
    }
    if (st == CLI_OK && fresh == (mcsec_direct_kd_id(A(r)->link) == old_kd)) {
        snprintf(r->failure, sizeof r->failure, "the KD ID %s", fresh ? "did not change"
                                                                      : "changed");
        st = CLI_FAIL;
    }
    if (st == CLI_OK)
        snprintf(s->detail, sizeof s->detail, "asked by %s: KD-sess ID %04x -> %04x, KD ID %08x%s",
                 u->name, old_sess, mcsec_direct_kd_sess_id(A(r)->link),
                 mcsec_direct_kd_id(A(r)->link), fresh ? " (new KD)" : " (same KD)");
    return step_end(r, s, st);
}

static dd_ue_t *releaser;
static int released(dd_run_t *r) {
    dd_ue_t *peer = releaser == A(r) ? B(r) : A(r);
    return mcsec_direct_state(peer->link) == MCSEC_DIRECT_S_IDLE;
}

static int release_step(dd_run_t *r, dd_ue_t *u) {
    uint8_t msg[64];
    size_t len = 0;
    dd_step_t *s = step_begin(r, "release");
    releaser = u;
    mcsec_status_t rc = mcsec_direct_build_release(u->link, msg, sizeof msg, &len);
    int st = rc == MCSEC_OK ? dd_send(r, u, msg, len) : CLI_FAIL;
    if (rc != MCSEC_OK)
        snprintf(r->failure, sizeof r->failure, "%s cannot release: %s", u->name,
                 mcsec_strerror(rc));
    if (st == CLI_OK) st = dd_loop(r, released);
    if (st == CLI_OK)
        snprintf(s->detail, sizeof s->detail,
                 "by %s: session keys wiped, KD ID %08x and connection ids kept", u->name,
                 mcsec_direct_kd_id(A(r)->link));
    return step_end(r, s, st);
}

static int run(dd_run_t *r) {
    dd_step_t *s = step_begin(r, "keys");
    int st = r->mode == DD_NETWORK ? dd_network_setup(r) : dd_keys(r);
    if (st == CLI_OK) st = dd_sockets(r);
    if (st == CLI_OK)
        snprintf(s->detail, sizeof s->detail, "%s and %s provisioned%s", A(r)->uri, B(r)->uri,
                 r->mode == DD_NETWORK ? "; KMS and two network entities serving"
                                       : " from a throw-away KMS");
    if (step_end(r, s, st) != CLI_OK) return CLI_FAIL;
    if (connect_step(r, "establish", 1) != CLI_OK || data_step(r) != CLI_OK ||
        rekey_step(r, B(r), 0) != CLI_OK || data_step(r) != CLI_OK ||
        rekey_step(r, A(r), 1) != CLI_OK || data_step(r) != CLI_OK ||
        release_step(r, A(r)) != CLI_OK || connect_step(r, "resume", 0) != CLI_OK ||
        data_step(r) != CLI_OK || release_step(r, B(r)) != CLI_OK)
        return CLI_FAIL;
    return CLI_OK;
}

int cmd_direct_demo(int argc, char *argv[]) {
    static dd_run_t r; /* large: keep it off the stack */
    const char *keep = NULL;
    memset(&r, 0, sizeof r);
    int st = parse_args(argc, argv, &r, &keep);
    if (st == HELP) return CLI_OK;
    if (st != CLI_OK) return st;
    r.log = r.json ? stderr : stdout;
    clock_gettime(CLOCK_MONOTONIC, &r.t0);
    if (mcsec_init() != MCSEC_OK) {
        cli_error(DD_CMD, "the crypto self test failed: this build is broken, do not use it");
        return CLI_FAIL;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    r.ue[0].name = "alice";
    r.ue[0].tag = 'a';
    r.ue[1].name = "bob";
    r.ue[1].tag = 'b';
    snprintf(r.ue[0].uri, sizeof r.ue[0].uri, "sip:alice@direct.example.org");
    snprintf(r.ue[1].uri, sizeof r.ue[1].uri, "sip:bob@direct.example.org");
    if (demo_env_init(&r.env, DD_CMD, keep, 0) != CLI_OK) return CLI_FAIL;
    dd_progress(&r, "mode %s: working in %s", dd_mode_name(r.mode), r.env.dir);
    st = run(&r);
    if (st == CLI_OK && (r.ue[0].refused || r.ue[1].refused)) st = CLI_FAIL;
    if (r.json)
        dd_report_json(&r, st == CLI_OK);
    else
        dd_report_text(&r, st == CLI_OK);
    dd_close(&r);
    demo_env_free(&r.env);
    if (st != CLI_OK)
        cli_error(DD_CMD, "%s; %s", r.failure[0] ? r.failure : "a step failed",
                  r.attack != NULL ? "the link was refused, as it must be under this attack"
                                   : "see the progress lines above");
    return st == CLI_OK ? CLI_OK : CLI_FAIL;
}
