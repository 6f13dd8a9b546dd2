/* mcsec demo (cmd_demo.c) in pieces: the child processes and working directory (demo_proc.c),
 * the KMS, Group Manager and handsets (demo_setup.c), the group call (demo_call.c) and the
 * summary (demo_report.c). */
#ifndef MCSEC_CLI_DEMO_H
#define MCSEC_CLI_DEMO_H

#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>
#include <time.h>

#include "mcsec/bundle.h"
#include "mcsec/client.h"

#define DEMO_CMD "demo"
#define DEMO_MEMBERS_MIN 2
#define DEMO_MEMBERS_MAX 50
#define DEMO_KDF_LOG2N 10 /* scrypt cost 2^10 for every secret store: demo only */
#define DEMO_URI_MAX 128
#define DEMO_DIR_MAX 2048 /* the working directory: its files' paths then fit in PATH_MAX */

/* Set by SIGINT / SIGTERM: every loop of the demo checks it and unwinds. */
extern volatile sig_atomic_t demo_stop;

/* The options and the clock every progress line is timed against. */
typedef struct {
    unsigned members, seconds;
    int seconds_given, json, reveal_keys;
    mcsec_srtp_suite_t suite;
    const char *pcap, *wav, *out_dir, *keep_dir;
    mcsec_pcap_t *capture; /* --pcap, opened before anything starts */
    FILE *log;             /* progress lines: stdout, or stderr with --json */
    struct timespec t0;
} demo_opts_t;

/* A daemon or one-shot tool run as a child process. */
typedef struct {
    pid_t pid; /* 0 when not running */
    char what[48];
    char out[PATH_MAX], err[PATH_MAX];
} demo_child_t;

/* The working directory, the tools and the passphrase given to the children. */
typedef struct {
    char dir[DEMO_DIR_MAX];
    int keep;
    char kms_bin[PATH_MAX], gm_bin[PATH_MAX];
    char *env_pass;   /* "MCSEC_PASSPHRASE=..." in locked memory (secret) */
    const char *pass; /* the passphrase: points into env_pass */
    size_t pass_len;
    char **envp;          /* the children's environment */
    demo_child_t kms, gm; /* the daemons */
    demo_child_t kms2;    /* a second mcsec-kms (the direct demo's second network entity) */
    unsigned runs;        /* log file counter */
} demo_env_t;

/* One handset and, after the call, what it saw. */
typedef struct {
    char uri[DEMO_URI_MAX];
    char name[32]; /* "member01": file names */
    char store[PATH_MAX], bundle[PATH_MAX];
    char code[MCSEC_BUNDLE_CODE_LEN + 1]; /* the bundle's one-time code (secret) */
    mcsec_keystore_t *ks;
    mcsec_handset_t *h;
    uint32_t gmk_id;
    uint64_t gmk_activation; /* NTP, 64-bit */
    /* the call */
    uint64_t received, rejected, rtcp;
    int joined, reordered, match;
    double join_ms; /* from the talker's first notification */
    int16_t *samples;
    size_t n_samples;
    char why[256]; /* first failure, one line */
} demo_member_t;

/* Timing and progress (cmd_demo.c). */
double demo_ms(const struct timespec *since);
void demo_progress(const demo_opts_t *o, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* demo_proc.c: the working directory (keep_dir, or a fresh one under $TMPDIR), a random
 * passphrase and the tools beside this executable (or in PATH). CLI_OK or CLI_FAIL (printed). */
#define DEMO_WITH_GROUPMGR 1u /* tools: the demo also runs mcsec-groupmgr */
/* cmd names the command in errors ("demo", "relay demo"); it must outlive e. */
int demo_env_init(demo_env_t *e, const char *cmd, const char *keep_dir, unsigned tools);
/* Stops the daemons (SIGTERM, then wait), wipes the passphrase, removes the directory unless
 * it is kept. Safe to call on a partly initialised env. */
void demo_env_free(demo_env_t *e);
/* Runs a tool to completion: CLI_OK on exit 0, else CLI_FAIL with its first stderr line
 * printed. out (may be NULL) receives the path of its stdout file. */
int demo_run(demo_env_t *e, char *const argv[], char out[PATH_MAX]);
/* Starts a daemon and waits (up to 60 s) for its "serving <endpoint>" line. */
int demo_start(demo_env_t *e, demo_child_t *c, char *const argv[], char *endpoint, size_t cap);
/* SIGTERM, wait up to 5 s, then SIGKILL. The exit status (or -1 if it was not running). */
int demo_stop_child(demo_child_t *c);
/* A free loopback TCP port (bound and released: another process may take it meanwhile). */
int demo_free_port(uint16_t *port);
/* The first line of a file holding "PREFIX<value>" lines: the value, or 0. */
int demo_file_value(const char *path, const char *prefix, char *out, size_t cap);
/* Runs job(ctx, i) for every i in [0, n) on up to one thread per core (this one included);
 * after a failure or demo_stop no new job starts. CLI_OK if every job returned CLI_OK. */
typedef int (*demo_job_fn)(void *ctx, size_t i);
int demo_parallel(size_t n, demo_job_fn job, void *ctx);
/* The number of jobs demo_parallel runs at once for n. */
size_t demo_workers(size_t n);

/* demo_setup.c: the KMS and Group Manager daemons, enrolment, then the handsets. */
int demo_services(demo_env_t *e, const demo_opts_t *o, const char *group, demo_member_t *m,
                  size_t n, char *gm_endpoint, size_t cap);
int demo_provision(demo_env_t *e, const demo_opts_t *o, demo_member_t *m, size_t n, double *ms);
int demo_register(demo_env_t *e, const demo_opts_t *o, const char *group, const char *gm_endpoint,
                  demo_member_t *m, size_t n, double *ms);

/* demo_call.c: the call; m[0] talks, the others listen. */
typedef struct {
    uint64_t packets_sent, rtcp_sent, notifications;
    double setup_ms; /* max over the listeners */
    char address[64];
} demo_call_result_t;
int demo_call(const demo_opts_t *o, const char *group, demo_member_t *m, size_t n,
              const int16_t *audio, size_t n_samples, demo_call_result_t *r);

/* demo_report.c: the summary, as a table or one JSON object. */
typedef struct {
    int ok, reached_call;
    double provisioning_ms, gmk_ms, elapsed_ms, audio_seconds;
    const char *audio; /* "a 440 Hz tone" or the WAV's path */
    demo_call_result_t call;
} demo_summary_t;
void demo_report_text(const demo_opts_t *o, const demo_summary_t *s, const demo_member_t *m,
                      size_t n);
void demo_report_json(const demo_opts_t *o, const demo_summary_t *s, const demo_member_t *m,
                      size_t n);

#endif
