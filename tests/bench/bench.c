/* mcsec-bench: a dispatcher over subcommands (crypto, mikey, selftest), and the timing and
 * output helpers they share (bench.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "mcsec/secmem.h"
#include "mcsec/status.h"

static const struct {
    const char *name;
    int (*fn)(int argc, char **argv);
    const char *help;
} commands[] = {
    {"crypto", bench_cmd_crypto,
     "[--json] [--rounds N]  time SAKKE/ECCSI operations against wolfSSL (median of N rounds)"},
    {"mikey", bench_cmd_mikey,
     "[--json] [--rounds N]   time GMK / GSK messages (build, parse, open + store) against the\n"
     "                                primitives they use (median of N rounds)"},
    {"kms", bench_cmd_kms,
     "[--json]               KMS issuance: in process, end to end over loopback, bulk provisioning"},
    {"groupmgr", bench_cmd_groupmgr,
     "[--members N] [--big N] [--rounds R] [--json]  rekey time of a group (and of a 10,000-member one)"},
    {"call", bench_cmd_call,
     "[--json] [--rounds N]   joining a group call vs a cold ECCSI verification; SRTP through\n"
     "                                mcsec vs raw libsrtp (packets per second)"},
    {"selftest", bench_cmd_selftest,
     "                       run the library's known-answer self test"},
};

static void usage(FILE *f) {
    fprintf(f, "usage: mcsec-bench <command> [options]\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(f, "  %s %s\n", commands[i].name, commands[i].help);
}

int bench_cmd_selftest(int argc, char **argv) {
    (void)argc;
    (void)argv;
    mcsec_status_t rc = mcsec_init();
    if (rc != MCSEC_OK) {
        printf("crypto self test: FAILED: %s\n", mcsec_strerror(rc));
        return 1;
    }
    printf("crypto self test: ok\n");
    return 0;
}

void bench_cpu_model(char *out, size_t cap) {
    snprintf(out, cap, "unknown");
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (f == NULL) return;
    char line[512];
    while (fgets(line, sizeof line, f) != NULL) {
        if (strncmp(line, "model name", 10) != 0) continue;
        const char *v = strchr(line, ':');
        if (v == NULL) break;
        v++;
        while (*v == ' ' || *v == '\t')
            v++;
        snprintf(out, cap, "%s", v);
        out[strcspn(out, "\r\n")] = 0;
        break;
    }
    fclose(f);
}

int bench_cores(void) {
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

/* --- Timing ----------------------------------------------------------------------------- */

double bench_mono_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

void bench_timer_init(bench_timer_t *t, bench_fn fn, void *arg, long max_calls) {
    memset(t, 0, sizeof *t);
    t->fn = fn;
    t->arg = arg;
    t->max_calls = max_calls;
}

int bench_calibrate(bench_timer_t *t, int rounds) {
    if (rounds < 1 || rounds > BENCH_MAX_ROUNDS) return -1;
    t->rounds = rounds;
    t->done = 0;
    /* With a budget, calibration may use at most its share of one round. */
    long calib_max = t->max_calls > 0 ? (t->max_calls - t->calls) / (rounds + 1) : 0;
    if (t->max_calls > 0 && calib_max < 1) return -1;
    long n = 0;
    double t0 = bench_mono_ns(), now;
    do {
        if (t->fn(t->arg) != 0) return -1;
        n++;
        now = bench_mono_ns();
    } while (now - t0 < BENCH_CALIBRATE_NS && (calib_max == 0 || n < calib_max));
    t->calls += n;
    long batch = (long)(BENCH_BATCH_NS / ((now - t0) / (double)n));
    if (t->max_calls > 0 && batch > (t->max_calls - t->calls) / rounds)
        batch = (t->max_calls - t->calls) / rounds;
    if (batch < 1) {
        if (t->max_calls > 0) return -1;
        batch = 1;
    }
    t->batch = batch;
    return 0;
}

int bench_round(bench_timer_t *t) {
    if (t->done >= t->rounds || t->batch < 1) return -1;
    double t0 = bench_mono_ns();
    for (long i = 0; i < t->batch; i++)
        if (t->fn(t->arg) != 0) return -1;
    t->per[t->done++] = (bench_mono_ns() - t0) / (double)t->batch;
    t->calls += t->batch;
    return 0;
}

double bench_median_us(bench_timer_t *t) {
    int n = t->done;
    if (n == 0) return 0;
    double sorted[BENCH_MAX_ROUNDS];
    memcpy(sorted, t->per, (size_t)n * sizeof sorted[0]);
    qsort(sorted, (size_t)n, sizeof sorted[0], cmp_double);
    double med = n % 2 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
    return med / 1e3;
}

int bench_measure(bench_fn fn, void *arg, int rounds, long max_calls, double *us) {
    bench_timer_t t;
    bench_timer_init(&t, fn, arg, max_calls);
    if (bench_calibrate(&t, rounds) != 0) return -1;
    for (int r = 0; r < rounds; r++)
        if (bench_round(&t) != 0) return -1;
    *us = bench_median_us(&t);
    return 0;
}

int bench_parse_rounds(const char *s, int *rounds) {
    char *end;
    long n = strtol(s, &end, 10);
    if (*s == 0 || *end != 0 || n < 1 || n > BENCH_MAX_ROUNDS) return -1;
    *rounds = (int)n;
    return 0;
}

/* --- Output ----------------------------------------------------------------------------- */

void bench_json_string(const char *s) {
    putchar('"');
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\')
            printf("\\%c", ch);
        else if (ch < 0x20)
            printf("\\u%04x", ch);
        else
            putchar(ch);
    }
    putchar('"');
}

int main(int argc, char **argv) {
    if (argc < 2 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(argv[1], commands[i].name) == 0) return commands[i].fn(argc - 1, argv + 1);
    fprintf(stderr, "mcsec-bench: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
