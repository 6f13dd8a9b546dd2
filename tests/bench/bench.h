/* mcsec-bench internals: one function per subcommand, plus shared helpers. */
#ifndef MCSEC_BENCH_H
#define MCSEC_BENCH_H

#include <stddef.h>

/* Subcommands: argv[0] is the subcommand name; return the process exit status. */
int bench_cmd_crypto(int argc, char **argv);
int bench_cmd_selftest(int argc, char **argv);

/* "model name" from /proc/cpuinfo (or "unknown"), and the online core count. */
void bench_cpu_model(char *out, size_t cap);
int bench_cores(void);

#endif
