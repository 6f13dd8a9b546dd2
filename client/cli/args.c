/* Argument helpers shared by the command-line tools (args.h). */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "args.h"

const char *cli_program = "mcsec";

void cli_error(const char *cmd, const char *fmt, ...) {
    va_list ap;
    fprintf(stderr, "%s %s: ", cli_program, cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

int cli_option(const char *cmd, int argc, char *argv[], int *i, const char *name,
               const char **value, const char *example) {
    const char *a = argv[*i], *v;
    size_t n = strlen(name);
    if (strncmp(a, name, n) != 0 || (a[n] != 0 && a[n] != '=')) return 0;
    if (*value != NULL) {
        cli_error(cmd, "%s given twice; give it once", name);
        return -1;
    }
    if (a[n] == '=') {
        v = a + n + 1;
    } else {
        /* "--uri --kms-uri x" is a forgotten value, not a URI starting with "--". */
        if (*i + 1 >= argc || strncmp(argv[*i + 1], "--", 2) == 0) {
            cli_error(cmd, "%s needs a value, e.g. %s %s", name, name, example);
            return -1;
        }
        v = argv[++*i];
    }
    *value = v;
    return 1;
}

int cli_parse_u64(const char *s, uint64_t *out) {
    uint64_t v = 0;
    if (s == NULL || *s == 0) return 0;
    for (; *s; s++) {
        if (*s < '0' || *s > '9') return 0;
        unsigned d = (unsigned)(*s - '0');
        if (v > (UINT64_MAX - d) / 10) return 0;
        v = v * 10 + d;
    }
    *out = v;
    return 1;
}

/* n decimal digits at *p (advanced); -1 if not. */
static int digits(const char **p, int n) {
    int v = 0;
    for (int k = 0; k < n; k++, (*p)++) {
        if (**p < '0' || **p > '9') return -1;
        v = v * 10 + (**p - '0');
    }
    return v;
}

static int expect(const char **p, char c) {
    if (**p != c) return 0;
    (*p)++;
    return 1;
}

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar. */
static int64_t days_from_civil(int64_t y, int m, int d) {
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

int cli_parse_rfc3339(const char *s, uint64_t *ntp_seconds) {
    static const int mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (s == NULL) return 0;
    const char *p = s;
    int y = digits(&p, 4);
    if (y < 0 || !expect(&p, '-')) return 0;
    int mo = digits(&p, 2);
    if (mo < 1 || mo > 12 || !expect(&p, '-')) return 0;
    int d = digits(&p, 2);
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (d < 1 || d > mdays[mo - 1] + (mo == 2 && leap)) return 0;
    if (!expect(&p, 'T') && !expect(&p, 't')) return 0;
    int h = digits(&p, 2);
    if (h < 0 || h > 23 || !expect(&p, ':')) return 0;
    int mi = digits(&p, 2);
    if (mi < 0 || mi > 59 || !expect(&p, ':')) return 0;
    int sec = digits(&p, 2);
    if (sec < 0 || sec > 60) /* 60: a leap second */
        return 0;
    if (expect(&p, '.')) {
        if (*p < '0' || *p > '9') return 0;
        while (*p >= '0' && *p <= '9')
            p++;
    }
    int64_t offset = 0;
    if (!expect(&p, 'Z') && !expect(&p, 'z')) {
        int sign = *p == '+' ? 1 : *p == '-' ? -1 : 0;
        if (sign == 0) return 0;
        p++;
        int oh = digits(&p, 2);
        if (oh < 0 || oh > 23 || !expect(&p, ':')) return 0;
        int om = digits(&p, 2);
        if (om < 0 || om > 59) return 0;
        offset = sign * (int64_t)(oh * 3600 + om * 60);
    }
    if (*p != 0) return 0;
    int64_t unix_s = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec - offset;
    int64_t ntp = unix_s + 2208988800LL;
    if (ntp < 0) return 0;
    *ntp_seconds = (uint64_t)ntp;
    return 1;
}

int cli_bad_arg(const char *cmd, const char *full, const char *arg) {
    if (arg[0] == '-')
        cli_error(cmd, "unknown option '%s'; run `%s %s --help` for the options", arg,
                  cli_program, full);
    else
        cli_error(cmd, "unexpected argument '%s'; run `%s %s --help` for the arguments", arg,
                  cli_program, full);
    return CLI_USAGE;
}

int cli_dispatch(const char *cmd, const cli_sub_t *table, int argc, char *argv[]) {
    FILE *f = stderr;
    if (argc >= 2) {
        for (const cli_sub_t *s = table; s->name != NULL; s++)
            if (strcmp(argv[1], s->name) == 0) return s->run(argc - 1, argv + 1);
        if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
            f = stdout;
        } else {
            cli_error(cmd, "unknown subcommand '%s'; run `%s %s --help` for the list", argv[1],
                      cli_program, cmd);
            return CLI_USAGE;
        }
    } else {
        cli_error(cmd, "a subcommand is needed; run `%s %s --help` for the list", cli_program,
                  cmd);
        return CLI_USAGE;
    }
    fprintf(f, "usage: %s %s <subcommand> [arguments]\n\nsubcommands:\n", cli_program, cmd);
    for (const cli_sub_t *s = table; s->name != NULL; s++)
        fprintf(f, "  %-10s %s\n", s->name, s->summary);
    return CLI_OK;
}

uint64_t cli_ntp_now(void) {
    return (uint64_t)time(NULL) + 2208988800u;
}

uint64_t cli_ntp_now64(void) {
    struct timespec ts;
    if (clock_gettime(CLOCK_REALTIME, &ts) != 0) return cli_ntp_now() << 32;
    uint64_t frac = ((uint64_t)ts.tv_nsec << 32) / 1000000000u;
    return ((uint64_t)ts.tv_sec + 2208988800u) << 32 | frac;
}
