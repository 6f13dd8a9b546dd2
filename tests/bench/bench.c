/* mcsec-bench: a dispatcher over subcommands (crypto, selftest). */
#include <stdio.h>
#include <string.h>
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
