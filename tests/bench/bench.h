/* mcsec-bench internals: one function per subcommand, plus shared helpers. */
#ifndef MCSEC_BENCH_H
#define MCSEC_BENCH_H

#include <stddef.h>

/* Subcommands: argv[0] is the subcommand name; return the process exit status. */
int bench_cmd_crypto(int argc, char **argv);
int bench_cmd_mikey(int argc, char **argv);
int bench_cmd_kms(int argc, char **argv);
int bench_cmd_groupmgr(int argc, char **argv);
int bench_cmd_call(int argc, char **argv);
int bench_cmd_selftest(int argc, char **argv);

/* "model name" from /proc/cpuinfo (or "unknown"), and the online core count. */
void bench_cpu_model(char *out, size_t cap);
int bench_cores(void);

/* --- Timing (bench.c) --------------------------------------------------------------------
 * Every subcommand times the same way: a ~10 ms calibration run sizes a batch of calls that
 * takes about 60 ms (CLOCK_MONOTONIC), `rounds` batches are timed, and the figure is the
 * median over the rounds of the mean time per call. */
#define BENCH_MAX_ROUNDS 101
#define BENCH_BATCH_NS 60e6
#define BENCH_CALIBRATE_NS 10e6

/* One call of the operation under test: 0 on success (a failure stops the measurement). */
typedef int (*bench_fn)(void *arg);

/* CLOCK_MONOTONIC in nanoseconds. */
double bench_mono_ns(void);

/* The timing of one operation, round by round, so that the rounds of several operations can
 * be interleaved (then a slow spell of a shared machine hits them alike, and their ratios hold).
 * max_calls > 0 bounds the calls (calibration included) for operations that consume inputs,
 * such as messages that may be opened only once: the batches are shortened to fit. */
typedef struct {
    bench_fn fn;
    void *arg;
    long max_calls, calls, batch;
    int rounds, done;
    double per[BENCH_MAX_ROUNDS]; /* ns per call, per round */
} bench_timer_t;

void bench_timer_init(bench_timer_t *t, bench_fn fn, void *arg, long max_calls);
/* Sizes the batch for `rounds` rounds (1 .. BENCH_MAX_ROUNDS). 0, or -1 if a call failed or
 * max_calls is too small for one call per round. */
int bench_calibrate(bench_timer_t *t, int rounds);
/* Times the next round: 0, or -1 if a call failed or all rounds are done. */
int bench_round(bench_timer_t *t);
/* Median over the rounds done, microseconds per call. */
double bench_median_us(bench_timer_t *t);

/* All of it for one operation: calibrate, `rounds` rounds, *us = the median. 0 or -1. */
int bench_measure(bench_fn fn, void *arg, int rounds, long max_calls, double *us);

/* Parses the value of --rounds (1 .. BENCH_MAX_ROUNDS): 0 and *rounds set, or -1. */
int bench_parse_rounds(const char *s, int *rounds);

/* Writes s to stdout as a JSON string literal. */
void bench_json_string(const char *s);

/* --- The crypto primitives, as `mcsec-bench crypto` times them (bench_crypto.c) ---------- */
typedef struct {
    const char *name; /* "sakke_encapsulate", "sakke_decapsulate", "eccsi_sign",
                         "eccsi_verify_cold": the crypto subcommand's names */
    bench_fn fn;
    void *arg;
} bench_op_t;
#define BENCH_PRIMITIVES 4

/* Sets up and checks mcsec's SAKKE and ECCSI keys as the crypto subcommand does and gives
 * those four operations, to be timed by the caller. 0 on success, -1 after printing why on
 * stderr; either way bench_crypto_primitives_end() releases the keys. */
int bench_crypto_primitives_begin(bench_op_t ops[BENCH_PRIMITIVES]);
void bench_crypto_primitives_end(void);

#endif
