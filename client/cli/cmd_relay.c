/* mcsec relay demo: a UE-to-network relay link (seed 004) on one machine with no set-up. The
 * real mcsec-kms runs as the PKMF in a temporary directory on the loopback (started and
 * provisioned with the demo helpers of demo_proc.c); in this process a remote UE gets its PRUK
 * (Key Request, MIKEY protected with the PMK, kept in its keystore), then connects through a
 * relay: Direct Communication Request with its PRUK ID -> the relay's Key Request to the PKMF
 * (KD, KD Derivation Parameter) -> Direct Security Mode Command -> the remote UE derives the
 * same KD -> Complete -> Accept, and data flows both ways over UDP. A relay the PKMF has not
 * authorised for that UE is refused on the way. */
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "demo.h"
#include "mcsec/direct.h"
#include "mcsec/prose.h"
#include "mcsec/secmem.h"

#define CMD "relay demo"
#define PKMF_FQDN "pkmf.relay-demo.example.org"
#define UE_URI "sip:remote-ue@relay-demo.example.org"
#define RELAY_URI "sip:relay@relay-demo.example.org"
#define ROGUE_URI "sip:other-relay@relay-demo.example.org"
#define PACKETS 5
#define STEPS_MAX 8
#define HELP 3

static const char *const relay_help =
    "usage: mcsec relay demo [--json] [--keep DIR]\n\n"
    "Runs a UE-to-network relay link on this machine with no set-up: starts mcsec-kms as the\n"
    "PKMF in a temporary directory on the loopback, authorises a remote UE and a relay, lets\n"
    "the remote UE fetch its PRUK (MIKEY protected with its PMK), connects it through the\n"
    "relay with Direct Security Mode (KD from the PKMF on the relay's side, derived from the\n"
    "PRUK on the remote UE's side) and exchanges data both ways over UDP. A relay the PKMF has\n"
    "not authorised for that UE is shown to be refused.\n"
    "Demo only: a random passphrase and a low scrypt cost protect the temporary stores.\n"
    "  --keep DIR   work in DIR (must not exist) and keep it: the PKMF's store and log\n"
    "  --json       print the summary as one JSON object (progress goes to stderr)\n"
    "Exit status: 0 if the link carried the data both ways, 1 otherwise, 2 for a usage error.\n";

typedef struct {
    const char *name;
    double ms;
} step_t;

typedef struct {
    demo_opts_t o;
    const char *keep;
    step_t steps[STEPS_MAX];
    size_t n_steps;
    char endpoint[128], pkmf_public[41];
    uint64_t pruk_id;
    uint32_t kd_id;
    uint8_t enc_alg, int_alg;
    int kd_match;
    unsigned up, down;
    mcsec_status_t rogue_status;
    char rogue_why[MCSEC_PROSE_MSG_MAX];
} run_t;

typedef struct {
    char uri[96], pub[41], sec[41]; /* sec is secret */
} dev_t_;

static void on_signal(int sig) {
    (void)sig;
    demo_stop = 1;
}

static void step_done(run_t *r, const char *name, const struct timespec *t0) {
    if (r->n_steps < STEPS_MAX) r->steps[r->n_steps++] = (step_t){name, demo_ms(t0)};
}

/* --- The PKMF: mcsec-kms init, enroll, prose authorise / relay, serve ---------------------- */

static int enroll(demo_env_t *e, const char *dir, const char *uri, dev_t_ *d) {
    char out[PATH_MAX];
    char *argv[] = {e->kms_bin, "enroll", "--dir", (char *)dir, "--uri", (char *)uri, NULL};
    snprintf(d->uri, sizeof d->uri, "%s", uri);
    if (demo_run(e, argv, out) != CLI_OK) return CLI_FAIL;
    int ok = demo_file_value(out, "curve-public: ", d->pub, sizeof d->pub) &&
             demo_file_value(out, "curve-secret: ", d->sec, sizeof d->sec);
    unlink(out); /* it holds the device's secret key */
    if (!ok) cli_error(CMD, "mcsec-kms enroll printed no CURVE key pair for %s", uri);
    return ok ? CLI_OK : CLI_FAIL;
}

static int pkmf_start(run_t *r, demo_env_t *e, dev_t_ *ue, dev_t_ *relay, dev_t_ *rogue) {
    char dir[PATH_MAX], out[PATH_MAX], cost[8];
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    snprintf(dir, sizeof dir, "%s/pkmf", e->dir);
    snprintf(cost, sizeof cost, "%d", DEMO_KDF_LOG2N);
    char *init[] = {e->kms_bin, "init", "--dir", dir, "--uri", PKMF_FQDN, "--kdf-cost", cost, NULL};
    char *auth[] = {e->kms_bin, "prose", "authorise", "--dir", dir, "--uri", UE_URI,
                    "--remote-ue", NULL};
    char *grant[] = {e->kms_bin, "prose", "relay", "--dir", dir, "--relay", RELAY_URI, "--ue",
                     UE_URI, NULL};
    char *serve[] = {e->kms_bin, "serve", "--dir", dir, "--bind", "tcp://127.0.0.1:*", NULL};
    if (demo_run(e, init, out) != CLI_OK) return CLI_FAIL;
    if (!demo_file_value(out, "curve-public: ", r->pkmf_public, sizeof r->pkmf_public)) {
        cli_error(CMD, "mcsec-kms init printed no curve-public line");
        return CLI_FAIL;
    }
    if (enroll(e, dir, UE_URI, ue) != CLI_OK || enroll(e, dir, RELAY_URI, relay) != CLI_OK ||
        enroll(e, dir, ROGUE_URI, rogue) != CLI_OK || demo_run(e, auth, NULL) != CLI_OK ||
        demo_run(e, grant, NULL) != CLI_OK)
        return CLI_FAIL;
    demo_progress(&r->o,
                  "PKMF %s created; enrolled %s, %s and %s; %s authorised as a remote UE, %s "
                  "may serve it (%.0f ms)",
                  PKMF_FQDN, UE_URI, RELAY_URI, ROGUE_URI, UE_URI, RELAY_URI, demo_ms(&t0));
    if (demo_start(e, &e->kms, serve, r->endpoint, sizeof r->endpoint) != CLI_OK)
        return CLI_FAIL;
    demo_progress(&r->o, "PKMF (mcsec-kms serve) at %s", r->endpoint);
    step_done(r, "pkmf_setup", &t0);
    return CLI_OK;
}

/* --- The link ------------------------------------------------------------------------------ */

typedef struct {
    mcsec_direct_udp_t *ue, *relay;
    mcsec_direct_ue_t *due, *drelay;
    mcsec_direct_link_t *l_ue, *l_relay;
} link_t;

static int link_fail(const char *what, mcsec_status_t st, const char *why) {
    cli_error(CMD, "%s: %s", what, why != NULL && why[0] ? why : mcsec_strerror(st));
    return CLI_FAIL;
}

static int hop(mcsec_direct_udp_t *from, mcsec_direct_udp_t *to, const uint8_t *m, size_t ml,
               uint8_t *r, size_t cap, size_t *rl) {
    mcsec_status_t st = mcsec_direct_udp_send(from, m, ml);
    if (st == MCSEC_OK) st = mcsec_direct_udp_recv(to, 3000, r, cap, rl);
    return st == MCSEC_OK ? CLI_OK : link_fail("UDP on the loopback", st, mcsec_direct_udp_last_error());
}

static int link_open(link_t *k) {
    mcsec_direct_config_t cu = {.user_uri = UE_URI}, cr = {.user_uri = RELAY_URI};
    if (mcsec_direct_udp_open(&k->ue, NULL, 0) != MCSEC_OK ||
        mcsec_direct_udp_open(&k->relay, NULL, 0) != MCSEC_OK ||
        mcsec_direct_udp_connect(k->ue, "127.0.0.1", mcsec_direct_udp_port(k->relay)) != MCSEC_OK ||
        mcsec_direct_udp_connect(k->relay, "127.0.0.1", mcsec_direct_udp_port(k->ue)) != MCSEC_OK)
        return link_fail("cannot open UDP sockets on the loopback", MCSEC_ERR_IO,
                         mcsec_direct_udp_last_error());
    if (mcsec_direct_ue_new(&k->due, &cu) != MCSEC_OK ||
        mcsec_direct_ue_new(&k->drelay, &cr) != MCSEC_OK)
        return link_fail("cannot set up the direct-link state", MCSEC_ERR_NOMEM, NULL);
    return CLI_OK;
}

static void link_close(link_t *k) {
    mcsec_direct_ue_free(k->due);
    mcsec_direct_ue_free(k->drelay);
    mcsec_direct_udp_close(k->ue);
    mcsec_direct_udp_close(k->relay);
    memset(k, 0, sizeof *k);
}

/* DCR (relay identity) -> relay: PKMF -> DSMC (KD Derivation Parameter) -> remote UE derives
 * KD -> DSMP -> Accept. */
static int establish(run_t *r, mcsec_prose_ue_t *pue, const mcsec_prose_server_t *relay_srv,
                     link_t *k) {
    uint8_t m[MCSEC_DIRECT_MSG_MAX], x[MCSEC_DIRECT_MSG_MAX], d[64], kd[MCSEC_PROSE_KD_LEN];
    size_t ml = 0, xl = 0;
    mcsec_direct_rx_t rx;
    mcsec_prose_relay_key_t rk;
    mcsec_status_t st;
    struct timespec t0;
    int ret = CLI_FAIL;
    memset(&rk, 0, sizeof rk);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    if ((st = mcsec_direct_link_new(k->due, RELAY_URI, &k->l_ue)) != MCSEC_OK ||
        (st = mcsec_prose_ue_add_relay_kcd(pue, PKMF_FQDN, k->l_ue)) != MCSEC_OK ||
        (st = mcsec_direct_build_dcr(k->l_ue, m, sizeof m, &ml)) != MCSEC_OK) {
        link_fail("the remote UE cannot build its Direct Communication Request", st, NULL);
        goto out;
    }
    if (hop(k->ue, k->relay, m, ml, x, sizeof x, &xl) != CLI_OK) goto out;
    demo_progress(&r->o, "remote UE -> relay: Direct Communication Request (%zu octets) with "
                         "PRUK ID %016" PRIx64, ml, r->pruk_id);
    if ((st = mcsec_direct_link_new(k->drelay, "", &k->l_relay)) != MCSEC_OK ||
        (st = mcsec_direct_respond_begin(k->l_relay, x, xl)) != MCSEC_OK) {
        link_fail("the relay refused the request", st, mcsec_direct_last_why(k->l_relay));
        goto out;
    }
    if ((st = mcsec_prose_relay_prepare_dsmc(relay_srv, k->l_relay, x, xl, &rk)) != MCSEC_OK) {
        link_fail("the PKMF refused the relay's Key Request", st, rk.message);
        goto out;
    }
    demo_progress(&r->o, "relay -> PKMF: Key Request with the PRUK ID; got KD and KD Derivation "
                         "Parameter for %s", rk.ue_uri);
    if ((st = mcsec_direct_build_dsmc(k->l_relay, m, sizeof m, &ml)) != MCSEC_OK) {
        link_fail("the relay cannot build its Direct Security Mode Command", st,
                  mcsec_direct_last_why(k->l_relay));
        goto out;
    }
    if (hop(k->relay, k->ue, m, ml, x, sizeof x, &xl) != CLI_OK) goto out;
    if ((st = mcsec_prose_ue_derive_kd(pue, PKMF_FQDN, rk.param, sizeof rk.param, kd)) !=
        MCSEC_OK) {
        link_fail("the remote UE cannot derive KD", st, NULL);
        goto out;
    }
    r->kd_match = mcsec_ct_equal(kd, rk.kd, sizeof kd);
    if ((st = mcsec_prose_ue_take_dsmc(pue, PKMF_FQDN, k->l_ue, x, xl)) != MCSEC_OK ||
        (st = mcsec_direct_handle_dsmc(k->l_ue, x, xl, m, sizeof m, &ml)) != MCSEC_OK) {
        link_fail("the remote UE refused the Direct Security Mode Command", st,
                  mcsec_direct_last_why(k->l_ue));
        goto out;
    }
    demo_progress(&r->o, "relay -> remote UE: Direct Security Mode Command (%zu octets); the "
                         "remote UE derived KD from its PRUK (%s) and checked the MAC",
                  xl, r->kd_match ? "the same KD as the PKMF's" : "a DIFFERENT KD");
    if (hop(k->ue, k->relay, m, ml, x, sizeof x, &xl) != CLI_OK) goto out;
    if ((st = mcsec_direct_receive(k->l_relay, x, xl, d, sizeof d, &rx)) != MCSEC_OK ||
        rx.kind != MCSEC_DIRECT_RX_DSMP ||
        (st = mcsec_direct_build_accept(k->l_relay, m, sizeof m, &ml)) != MCSEC_OK) {
        link_fail("the relay refused the Direct Security Mode Complete", st,
                  mcsec_direct_last_why(k->l_relay));
        goto out;
    }
    if (hop(k->relay, k->ue, m, ml, x, sizeof x, &xl) != CLI_OK) goto out;
    if ((st = mcsec_direct_receive(k->l_ue, x, xl, d, sizeof d, &rx)) != MCSEC_OK ||
        rx.kind != MCSEC_DIRECT_RX_ACCEPT) {
        link_fail("the remote UE refused the relay's Accept", st, mcsec_direct_last_why(k->l_ue));
        goto out;
    }
    r->kd_id = mcsec_direct_kd_id(k->l_ue);
    mcsec_direct_algs(k->l_ue, &r->enc_alg, &r->int_alg);
    demo_progress(&r->o, "Direct Security Mode complete: KD ID %08" PRIx32 ", %s + %s (%.1f ms)",
                  r->kd_id, r->enc_alg == MCSEC_DIRECT_ENC_AES_CTR ? "AES-CTR" : "null cipher",
                  r->int_alg == MCSEC_DIRECT_INT_AES_CMAC ? "AES-CMAC" : "?", demo_ms(&t0));
    step_done(r, "relay_link", &t0);
    ret = r->kd_match ? CLI_OK : link_fail("KD", MCSEC_ERR_VERIFY, "the two KDs differ");
out:
    mcsec_prose_relay_key_wipe(&rk);
    mcsec_memzero(kd, sizeof kd);
    return ret;
}

/* One protected datagram from -> to, checked on arrival. */
static int send_one(mcsec_direct_link_t *lf, mcsec_direct_udp_t *from, mcsec_direct_link_t *lt,
                    mcsec_direct_udp_t *to, const char *text) {
    uint8_t m[256], x[256], d[128];
    size_t ml = 0, xl = 0, n = strlen(text);
    mcsec_direct_rx_t rx;
    mcsec_status_t st = mcsec_direct_protect(lf, 1, (const uint8_t *)text, n, m, sizeof m, &ml);
    if (st != MCSEC_OK) return link_fail("cannot protect data", st, mcsec_direct_last_why(lf));
    if (hop(from, to, m, ml, x, sizeof x, &xl) != CLI_OK) return CLI_FAIL;
    if ((st = mcsec_direct_receive(lt, x, xl, d, sizeof d, &rx)) != MCSEC_OK)
        return link_fail("data refused", st, mcsec_direct_last_why(lt));
    if (rx.kind != MCSEC_DIRECT_RX_DATA || rx.len != n || memcmp(d, text, n) != 0)
        return link_fail("data", MCSEC_ERR_VERIFY, "what arrived differs from what was sent");
    return CLI_OK;
}

static int exchange(run_t *r, link_t *k) {
    char text[64];
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (unsigned i = 0; i < PACKETS && !demo_stop; i++) {
        snprintf(text, sizeof text, "uplink %u from the remote UE", i + 1);
        if (send_one(k->l_ue, k->ue, k->l_relay, k->relay, text) != CLI_OK) return CLI_FAIL;
        r->up++;
        snprintf(text, sizeof text, "downlink %u from the network", i + 1);
        if (send_one(k->l_relay, k->relay, k->l_ue, k->ue, text) != CLI_OK) return CLI_FAIL;
        r->down++;
    }
    if (demo_stop) return CLI_FAIL;
    demo_progress(&r->o, "%u protected datagrams each way over UDP, every one checked (%.1f ms)",
                  PACKETS, demo_ms(&t0));
    step_done(r, "data", &t0);
    return CLI_OK;
}

/* A relay not authorised for the remote UE: the PKMF refuses it. */
static int rogue(run_t *r, mcsec_prose_ue_t *pue, const mcsec_prose_server_t *rogue_srv) {
    uint8_t id[MCSEC_PROSE_RELAY_ID_MAX];
    size_t n = 0;
    mcsec_prose_relay_key_t rk;
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    mcsec_status_t st = mcsec_prose_ue_relay_id(pue, PKMF_FQDN, id, sizeof id, &n);
    if (st != MCSEC_OK) return link_fail("relay identity", st, NULL);
    r->rogue_status = mcsec_prose_relay_key_request(rogue_srv, id, n, &rk);
    snprintf(r->rogue_why, sizeof r->rogue_why, "%s", rk.message);
    mcsec_prose_relay_key_wipe(&rk);
    if (r->rogue_status != MCSEC_ERR_POLICY)
        return link_fail("the unauthorised relay", r->rogue_status,
                         "was not refused with a policy error");
    demo_progress(&r->o, "%s asked the PKMF for the same remote UE: refused (%s)", ROGUE_URI,
                  r->rogue_why);
    step_done(r, "unauthorised_relay_refused", &t0);
    return CLI_OK;
}

/* --- Summary ------------------------------------------------------------------------------- */

static void json_str(FILE *f, const char *s) {
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            fprintf(f, "\\%c", *s);
        else if ((unsigned char)*s < 0x20)
            fprintf(f, "\\u%04x", *s);
        else
            fputc(*s, f);
    }
    fputc('"', f);
}

static void report(const run_t *r, int ok) {
    double total = demo_ms(&r->o.t0);
    if (r->o.json) {
        printf("{\"ok\":%s,\"pkmf\":", ok ? "true" : "false");
        json_str(stdout, r->endpoint);
        printf(",\"remote_ue\":\"%s\",\"relay\":\"%s\",\"pruk_id\":\"%016" PRIx64 "\","
               "\"kd_id\":\"%08" PRIx32 "\",\"kd_match\":%s,\"packets\":{\"up\":%u,\"down\":%u},"
               "\"unauthorised_relay\":{\"status\":%d,\"message\":",
               UE_URI, RELAY_URI, r->pruk_id, r->kd_id, r->kd_match ? "true" : "false", r->up,
               r->down, (int)r->rogue_status);
        json_str(stdout, r->rogue_why);
        printf("},\"steps\":[");
        for (size_t i = 0; i < r->n_steps; i++)
            printf("%s{\"step\":\"%s\",\"ms\":%.1f}", i ? "," : "", r->steps[i].name,
                   r->steps[i].ms);
        printf("],\"elapsed_ms\":%.1f}\n", total);
        fflush(stdout);
        return;
    }
    printf("\nrelay demo: %s\n", ok ? "OK" : "FAILED");
    printf("  PKMF            %s (%s)\n", PKMF_FQDN, r->endpoint);
    printf("  remote UE       %s, PRUK ID %016" PRIx64 "\n", UE_URI, r->pruk_id);
    printf("  relay           %s, KD ID %08" PRIx32 ", same KD on both sides: %s\n", RELAY_URI,
           r->kd_id, r->kd_match ? "yes" : "no");
    printf("  data            %u datagrams up, %u down, all checked\n", r->up, r->down);
    printf("  other relay     %s: %s\n", ROGUE_URI,
           r->rogue_status == MCSEC_ERR_POLICY ? "refused by the PKMF (not authorised)"
                                               : "NOT refused");
    for (size_t i = 0; i < r->n_steps; i++)
        printf("  %-26s %8.1f ms\n", r->steps[i].name, r->steps[i].ms);
    printf("  %-26s %8.1f ms\n", "total", total);
}

/* --- The run ------------------------------------------------------------------------------- */

static int parse(int argc, char *argv[], run_t *r) {
    for (int i = 1; i < argc; i++) {
        int m;
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(relay_help, stdout);
            return HELP;
        }
        if (strcmp(argv[i], "--json") == 0) {
            r->o.json = 1;
            continue;
        }
        if ((m = cli_option(CMD, argc, argv, &i, "--keep", &r->keep, "relay-demo-dir")) != 0) {
            if (m < 0) return CLI_USAGE;
            continue;
        }
        return cli_bad_arg(CMD, CMD, argv[i]);
    }
    r->o.log = r->o.json ? stderr : stdout;
    return CLI_OK;
}

static int run(run_t *r, demo_env_t *e) {
    dev_t_ ue, relay, other;
    mcsec_keystore_t *ks = NULL;
    mcsec_prose_ue_t *pue = NULL;
    mcsec_prose_key_result_t res;
    link_t k;
    char ks_dir[PATH_MAX];
    struct timespec t0;
    int ret = CLI_FAIL;
    memset(&k, 0, sizeof k);
    memset(&ue, 0, sizeof ue);
    memset(&relay, 0, sizeof relay);
    memset(&other, 0, sizeof other);
    if (pkmf_start(r, e, &ue, &relay, &other) != CLI_OK) goto out;
    mcsec_prose_server_t s_ue = {r->endpoint, r->pkmf_public, ue.pub, ue.sec, 5000, 2, NULL},
                         s_relay = {r->endpoint, r->pkmf_public, relay.pub, relay.sec, 5000, 2,
                                    NULL},
                         s_other = {r->endpoint, r->pkmf_public, other.pub, other.sec, 5000, 2,
                                    NULL};

    clock_gettime(CLOCK_MONOTONIC, &t0);
    snprintf(ks_dir, sizeof ks_dir, "%s/remote-ue.keystore", e->dir);
    if (mcsec_keystore_create_with_cost(ks_dir, e->pass, e->pass_len, DEMO_KDF_LOG2N, 8, 1) !=
            MCSEC_OK ||
        mcsec_keystore_open(&ks, ks_dir, e->pass, e->pass_len) != MCSEC_OK) {
        cli_error(CMD, "%s", mcsec_keystore_last_error());
        goto out;
    }
    if (mcsec_prose_ue_open(&pue, ks, UE_URI) != MCSEC_OK ||
        mcsec_prose_ue_key_request(pue, &s_ue, PKMF_FQDN, 1, NULL, &res) != MCSEC_OK) {
        cli_error(CMD, "the remote UE's Key Request failed: %s",
                  pue != NULL ? res.message : "out of memory");
        goto out;
    }
    r->pruk_id = res.pruk_id;
    demo_progress(&r->o, "remote UE -> PKMF: Key Request; got Key Type ID %08" PRIx32 ", a PMK, "
                         "and PRUK ID %016" PRIx64 " in a MIKEY message protected with the PMK "
                         "(stored in its keystore) (%.0f ms)",
                  res.key_type_id, res.pruk_id, demo_ms(&t0));
    step_done(r, "pruk_delivery", &t0);
    if (link_open(&k) != CLI_OK || establish(r, pue, &s_relay, &k) != CLI_OK ||
        exchange(r, &k) != CLI_OK || rogue(r, pue, &s_other) != CLI_OK)
        goto out;
    ret = CLI_OK;
out:
    link_close(&k);
    mcsec_prose_ue_close(pue);
    mcsec_keystore_close(ks);
    mcsec_memzero(&ue, sizeof ue);
    mcsec_memzero(&relay, sizeof relay);
    mcsec_memzero(&other, sizeof other);
    return ret;
}

static int relay_demo(int argc, char *argv[]) {
    run_t r;
    demo_env_t e;
    struct sigaction sa, old[3];
    memset(&r, 0, sizeof r);
    memset(&e, 0, sizeof e);
    int p = parse(argc, argv, &r);
    if (p == HELP) return CLI_OK;
    if (p != CLI_OK) return p;
    clock_gettime(CLOCK_MONOTONIC, &r.o.t0);
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, &old[0]);
    sigaction(SIGTERM, &sa, &old[1]);
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, &old[2]);
    int ret = demo_env_init(&e, CMD, r.keep, 0);
    if (ret == CLI_OK) {
        demo_progress(&r.o, "working directory %s (%s); DEMO ONLY: random passphrase, scrypt "
                            "cost 2^%d",
                      e.dir, e.keep ? "kept" : "removed at the end; --keep DIR keeps it",
                      DEMO_KDF_LOG2N);
        ret = run(&r, &e);
    }
    if (e.kms.pid > 0) {
        int st = demo_stop_child(&e.kms);
        demo_progress(&r.o, "stopped the PKMF (exit %d)", st);
    }
    if (demo_stop) {
        cli_error(CMD, "interrupted; nothing is left running");
        ret = CLI_FAIL;
    }
    if (e.dir[0] != 0) report(&r, ret == CLI_OK);
    demo_env_free(&e);
    sigaction(SIGINT, &old[0], NULL);
    sigaction(SIGTERM, &old[1], NULL);
    sigaction(SIGPIPE, &old[2], NULL);
    return ret;
}

int cmd_relay(int argc, char *argv[]) {
    static const cli_sub_t table[] = {
        {"demo", relay_demo, "a remote UE, a relay and the PKMF on this machine (seed 004)"},
        {NULL, NULL, NULL},
    };
    return cli_dispatch("relay", table, argc, argv);
}
