/* mcsec demo: the whole system on one machine with no set-up. A KMS and a Group Manager (the
 * real daemons) in a temporary directory on the loopback, N handsets provisioned from sealed
 * bundles and given the group's GMK, then a group call over UDP multicast in which member 1
 * talks and every other member checks it decoded exactly what was sent. The pieces are in
 * demo_*.c (demo.h). */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "demo.h"
#include "mcsec/secmem.h"

#define CMD DEMO_CMD
#define GROUP_URI "sip:demo-talkgroup@demo.example.org"
#define TONE_HZ 440
#define WAV_MAX_SECONDS 60
#define HELP 3 /* parse_args: --help printed */

volatile sig_atomic_t demo_stop;

static const char *const demo_help =
    "usage: mcsec demo [--members N] [--seconds S] [--suite gcm|aes-cm] [--wav FILE]\n"
    "                  [--out DIR] [--pcap FILE] [--reveal-keys] [--keep DIR] [--json]\n\n"
    "Runs the whole system on this machine with no set-up: starts a KMS and a Group Manager\n"
    "in a temporary directory on the loopback, provisions N handsets, distributes the\n"
    "group's GMK, then runs a group call over UDP multicast in which member 1 talks and the\n"
    "others listen, and checks that every listener decoded exactly what was sent.\n"
    "Demo only: a random passphrase and a low scrypt cost protect the temporary stores.\n"
    "  --members N     handsets in the group, 2 to 50 (default 3)\n"
    "  --seconds S     seconds of audio, 1 to 60 (default 2; with --wav: the whole file)\n"
    "  --suite S       SRTP suite: gcm (AEAD_AES_128_GCM, default) or aes-cm\n"
    "                  (AES_CM_128_HMAC_SHA1_80)\n"
    "  --wav FILE      talk this WAV (PCM 16-bit mono 8000 Hz) instead of a 440 Hz tone\n"
    "  --out DIR       write each listener's <member>.wav there (default: the temporary\n"
    "                  directory, removed at the end)\n"
    "  --pcap FILE     record every call datagram sent (notifications, SRTP, SRTCP)\n"
    "  --reveal-keys   print the talker's SRTP master key and salt as an SDES a=crypto line\n"
    "                  (on stderr with --json; for tools that decrypt SRTP: --suite aes-cm)\n"
    "  --keep DIR      work in DIR (must not exist) and keep it: daemon logs, bundles, stores\n"
    "                  (their passphrase is random and never shown)\n"
    "  --json          print the summary as one JSON object (progress goes to stderr)\n"
    "Exit status: 0 if every listener decoded the audio exactly, 1 otherwise, 2 for a usage\n"
    "error.\n";

double demo_ms(const struct timespec *since) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - since->tv_sec) * 1e3 +
           (double)(now.tv_nsec - since->tv_nsec) / 1e6;
}

void demo_progress(const demo_opts_t *o, const char *fmt, ...) {
    va_list ap;
    char line[1024];
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    fprintf(o->log, "[%6.2f s] %s\n", demo_ms(&o->t0) / 1000, line);
    fflush(o->log);
}

static void on_signal(int sig) {
    (void)sig;
    demo_stop = 1;
}

/* --- Arguments ---------------------------------------------------------------------------- */

static int number(const char *opt, const char *v, unsigned lo, unsigned hi, const char *unit,
                  unsigned *out) {
    uint64_t x;
    if (!cli_parse_u64(v, &x) || x < lo || x > hi) {
        cli_error(CMD, "%s '%s' is not a number %sfrom %u to %u", opt, v, unit, lo, hi);
        return 0;
    }
    *out = (unsigned)x;
    return 1;
}

static int flag(const char *arg, const char *name, int *out) {
    if (strcmp(arg, name) != 0) return 0;
    *out = 1;
    return 1;
}

static int check_values(demo_opts_t *o, const char *members, const char *seconds,
                        const char *suite) {
    if (members != NULL &&
        !number("--members", members, DEMO_MEMBERS_MIN, DEMO_MEMBERS_MAX, "", &o->members))
        return CLI_USAGE;
    if (seconds != NULL && !number("--seconds", seconds, 1, 60, "of seconds ", &o->seconds))
        return CLI_USAGE;
    o->seconds_given = seconds != NULL;
    if (suite != NULL && !mcsec_srtp_suite_parse(suite, &o->suite)) {
        cli_error(CMD, "--suite '%s' is not gcm or aes-cm", suite);
        return CLI_USAGE;
    }
    return CLI_OK;
}

static int parse_args(int argc, char *argv[], demo_opts_t *o) {
    const char *members = NULL, *seconds = NULL, *suite = NULL;
    memset(o, 0, sizeof *o);
    o->members = 3;
    o->seconds = 2;
    o->suite = MCSEC_SRTP_AEAD_AES_128_GCM;
    for (int i = 1; i < argc; i++) {
        int m;
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(demo_help, stdout);
            return HELP;
        }
        if (flag(argv[i], "--json", &o->json) || flag(argv[i], "--reveal-keys", &o->reveal_keys))
            continue;
        if ((m = cli_option(CMD, argc, argv, &i, "--members", &members, "3")) ||
            (m = cli_option(CMD, argc, argv, &i, "--seconds", &seconds, "2")) ||
            (m = cli_option(CMD, argc, argv, &i, "--suite", &suite, "aes-cm")) ||
            (m = cli_option(CMD, argc, argv, &i, "--wav", &o->wav, "speech.wav")) ||
            (m = cli_option(CMD, argc, argv, &i, "--out", &o->out_dir, "demo-out")) ||
            (m = cli_option(CMD, argc, argv, &i, "--pcap", &o->pcap, "call.pcap")) ||
            (m = cli_option(CMD, argc, argv, &i, "--keep", &o->keep_dir, "demo-dir"))) {
            if (m < 0) return CLI_USAGE;
            continue;
        }
        return cli_bad_arg(CMD, CMD, argv[i]);
    }
    o->log = o->json ? stderr : stdout;
    return check_values(o, members, seconds, suite);
}

/* --- Audio and output --------------------------------------------------------------------- */

/* The tone, or the WAV (cut to --seconds if given), padded with silence to whole frames. */
static int load_audio(const demo_opts_t *o, int16_t **audio, size_t *n) {
    char why[256];
    size_t max = (size_t)(o->wav != NULL && !o->seconds_given ? WAV_MAX_SECONDS : o->seconds) *
                 MCSEC_AUDIO_RATE;
    if (o->wav == NULL) {
        *n = max;
        if ((*audio = calloc(max, sizeof **audio)) == NULL) goto nomem;
        mcsec_tone(*audio, max, TONE_HZ);
        return CLI_OK;
    }
    int16_t *raw = NULL;
    size_t got = 0;
    mcsec_status_t rc =
        mcsec_wav_read(o->wav, WAV_MAX_SECONDS * MCSEC_AUDIO_RATE, &raw, &got, why, sizeof why);
    if (rc != MCSEC_OK) {
        cli_error(CMD, "--wav %s: %s", o->wav, why[0] ? why : mcsec_strerror(rc));
        return CLI_FAIL;
    }
    if (got > max) got = max;
    *n = (got + MCSEC_AUDIO_FRAME - 1) / MCSEC_AUDIO_FRAME * MCSEC_AUDIO_FRAME;
    if ((*audio = calloc(*n, sizeof **audio)) == NULL) {
        free(raw);
        goto nomem;
    }
    memcpy(*audio, raw, got * sizeof *raw);
    free(raw);
    return CLI_OK;
nomem:
    cli_error(CMD, "out of memory for the audio");
    return CLI_FAIL;
}

/* --out and --pcap are checked before anything starts. */
static int open_outputs(demo_opts_t *o) {
    struct stat st;
    if (o->out_dir != NULL && mkdir(o->out_dir, 0755) != 0 &&
        (errno != EEXIST || stat(o->out_dir, &st) != 0 || !S_ISDIR(st.st_mode))) {
        cli_error(CMD, "cannot create --out %s: %s; give a writable directory", o->out_dir,
                  errno == EEXIST ? "it is not a directory" : strerror(errno));
        return CLI_FAIL;
    }
    if (o->pcap != NULL && mcsec_pcap_open(&o->capture, o->pcap) != MCSEC_OK) {
        cli_error(CMD, "cannot write --pcap %s; give a writable file", o->pcap);
        return CLI_FAIL;
    }
    return CLI_OK;
}

static int close_capture(demo_opts_t *o) {
    mcsec_status_t rc = mcsec_pcap_close(o->capture);
    o->capture = NULL;
    if (rc == MCSEC_OK) return CLI_OK;
    cli_error(CMD, "writing --pcap %s failed; check the disk", o->pcap);
    return CLI_FAIL;
}

/* Each listener's <member>.wav; CLI_FAIL if one could not be written. */
static int write_wavs(const demo_opts_t *o, const demo_env_t *e, demo_member_t *m, size_t n) {
    const char *dir = o->out_dir != NULL ? o->out_dir : e->dir;
    char path[PATH_MAX];
    size_t written = 0;
    int ret = CLI_OK;
    for (size_t i = 1; i < n; i++) {
        if (m[i].samples == NULL || m[i].n_samples == 0) continue;
        snprintf(path, sizeof path, "%s/%s.wav", dir, m[i].name);
        if (mcsec_wav_write(path, m[i].samples, m[i].n_samples) != MCSEC_OK) {
            cli_error(CMD, "cannot write %s; check that --out is writable", path);
            ret = CLI_FAIL;
            continue;
        }
        written++;
    }
    if (written == 0) return ret;
    if (o->out_dir == NULL && !e->keep)
        demo_progress(o,
                      "listeners wrote %s.wav .. %s.wav in the temporary directory (removed "
                      "at the end: give --out DIR to keep them)",
                      m[1].name, m[n - 1].name);
    else
        demo_progress(o, "listeners wrote %zu WAV files in %s (%s.wav .. %s.wav)", written, dir,
                      m[1].name, m[n - 1].name);
    return ret;
}

/* --- The run ------------------------------------------------------------------------------ */

static int open_handsets(demo_member_t *m, size_t n) {
    for (size_t i = 0; i < n; i++) {
        mcsec_status_t rc = mcsec_handset_open(&m[i].h, m[i].ks);
        if (rc != MCSEC_OK) {
            cli_error(CMD, "cannot open the handset %s: %s", m[i].uri, mcsec_strerror(rc));
            return CLI_FAIL;
        }
    }
    return CLI_OK;
}

static demo_member_t *new_members(size_t n) {
    demo_member_t *m = calloc(n, sizeof *m);
    for (size_t i = 0; m != NULL && i < n; i++) {
        snprintf(m[i].name, sizeof m[i].name, "member%02zu", i + 1);
        snprintf(m[i].uri, sizeof m[i].uri, "sip:%s@demo.example.org", m[i].name);
    }
    if (m == NULL) cli_error(CMD, "out of memory");
    return m;
}

static void free_members(demo_member_t *m, size_t n) {
    for (size_t i = 0; m != NULL && i < n; i++) {
        mcsec_handset_close(m[i].h);
        mcsec_keystore_close(m[i].ks);
        free(m[i].samples);
    }
    free(m);
}

static void announce_start(const demo_opts_t *o, const demo_env_t *e) {
    demo_progress(o, "working directory %s (%s)", e->dir,
                  e->keep ? "kept" : "removed at the end; --keep DIR keeps it");
    demo_progress(o,
                  "DEMO ONLY: a random passphrase and scrypt cost 2^%d (default 2^16) for the "
                  "KMS, Group Manager and handset stores",
                  DEMO_KDF_LOG2N);
}

/* Everything up to the end of the call. */
static int run(demo_opts_t *o, demo_env_t *e, demo_member_t *m, const int16_t *audio,
               size_t n_samples, demo_summary_t *s) {
    char gm_endpoint[128];
    size_t n = o->members;
    if (demo_services(e, o, GROUP_URI, m, n, gm_endpoint, sizeof gm_endpoint) != CLI_OK ||
        demo_provision(e, o, m, n, &s->provisioning_ms) != CLI_OK ||
        demo_register(e, o, GROUP_URI, gm_endpoint, m, n, &s->gmk_ms) != CLI_OK ||
        open_handsets(m, n) != CLI_OK)
        return CLI_FAIL;
    s->reached_call = 1;
    int ret = demo_call(o, GROUP_URI, m, n, audio, n_samples, &s->call);
    demo_progress(o,
                  "%s sent %llu SRTP packets (%.1f s of audio), %llu SRTCP sender reports, "
                  "%llu notifications; listeners joined within %.1f ms",
                  m[0].name, (unsigned long long)s->call.packets_sent,
                  (double)s->call.packets_sent * MCSEC_AUDIO_FRAME / MCSEC_AUDIO_RATE,
                  (unsigned long long)s->call.rtcp_sent, (unsigned long long)s->call.notifications,
                  s->call.setup_ms);
    if (write_wavs(o, e, m, n) != CLI_OK) ret = CLI_FAIL;
    return ret;
}

/* "exit 0", "killed by signal 15" or "not running". */
static void stop_one(demo_child_t *c, char *out, size_t cap) {
    int status = demo_stop_child(c);
    if (status < 0)
        snprintf(out, cap, "not running");
    else if (status > 128)
        snprintf(out, cap, "killed by signal %d", status - 128);
    else
        snprintf(out, cap, "exit %d", status);
}

static void stop_daemons(const demo_opts_t *o, demo_env_t *e) {
    char gm[32], kms[32];
    if (e->kms.pid == 0 && e->gm.pid == 0) return;
    stop_one(&e->gm, gm, sizeof gm);
    stop_one(&e->kms, kms, sizeof kms);
    demo_progress(o, "stopped the Group Manager (%s) and the KMS (%s)", gm, kms);
}

/* The verdict: every listener matched. One line per failure. */
static int verdict(const demo_summary_t *s, const demo_member_t *m, size_t n) {
    int ok = s->reached_call;
    for (size_t i = 1; ok && i < n; i++)
        ok = m[i].match;
    for (size_t i = 1; s->reached_call && i < n; i++)
        if (!m[i].match) cli_error(CMD, "%s: %s", m[i].uri, m[i].why);
    return ok;
}

/* SIGINT and SIGTERM stop the demo cleanly; a closed stdout (SIGPIPE) must not kill it before
 * it has stopped its daemons. */
static void install_signals(struct sigaction old[3]) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal; /* no SA_RESTART: waits return early */
    sigaction(SIGINT, &sa, &old[0]);
    sigaction(SIGTERM, &sa, &old[1]);
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, &old[2]);
}

static void restore_signals(const struct sigaction old[3]) {
    sigaction(SIGINT, &old[0], NULL);
    sigaction(SIGTERM, &old[1], NULL);
    sigaction(SIGPIPE, &old[2], NULL);
}

int cmd_demo(int argc, char *argv[]) {
    demo_opts_t o;
    demo_env_t e;
    demo_summary_t s;
    demo_member_t *m = NULL;
    int16_t *audio = NULL;
    size_t n_samples = 0;
    struct sigaction old[3];

    int ret = parse_args(argc, argv, &o);
    if (ret != CLI_OK) return ret == HELP ? CLI_OK : ret;
    clock_gettime(CLOCK_MONOTONIC, &o.t0);
    memset(&e, 0, sizeof e);
    memset(&s, 0, sizeof s);
    demo_stop = 0;
    install_signals(old);
    ret = CLI_FAIL;
    if (mcsec_init() != MCSEC_OK) {
        cli_error(CMD, "the crypto self test failed: this build is broken, do not use it");
        goto out;
    }
    if (load_audio(&o, &audio, &n_samples) != CLI_OK || open_outputs(&o) != CLI_OK ||
        (m = new_members(o.members)) == NULL ||
        demo_env_init(&e, CMD, o.keep_dir, DEMO_WITH_GROUPMGR) != CLI_OK)
        goto out;
    s.audio = o.wav != NULL ? o.wav : "a 440 Hz tone";
    s.audio_seconds = (double)n_samples / MCSEC_AUDIO_RATE;
    announce_start(&o, &e);
    int ran = run(&o, &e, m, audio, n_samples, &s) == CLI_OK;
    ran = close_capture(&o) == CLI_OK && ran;
    stop_daemons(&o, &e);
    s.ok = !demo_stop && verdict(&s, m, o.members) && ran;
    s.elapsed_ms = demo_ms(&o.t0);
    if (o.json)
        demo_report_json(&o, &s, m, o.members);
    else if (!demo_stop)
        demo_report_text(&o, &s, m, o.members);
    ret = s.ok ? CLI_OK : CLI_FAIL;
out:
    if (o.capture != NULL) (void)close_capture(&o);
    free_members(m, o.members);
    free(audio);
    demo_env_free(&e);
    if (demo_stop)
        cli_error(CMD, "interrupted: the daemons were stopped and the working directory %s",
                  e.keep ? "kept" : "removed");
    restore_signals(old);
    return ret;
}
