/* The mcsec CLI: one function per subcommand (cmd_*.c), dispatched by mcsec.c, plus the
 * argument helpers they share (args.c).
 *
 * Conventions: a subcommand receives argv[0] = its own name. It prints its result on stdout
 * and every error as ONE line on stderr, "mcsec <command>: what was wrong; what to do".
 * Exit codes: 0 success, 1 failure, 2 usage error (bad or missing argument). */
#ifndef MCSEC_CLI_H
#define MCSEC_CLI_H

#include <stdint.h>

#define CLI_OK 0
#define CLI_FAIL 1
#define CLI_USAGE 2

/* Subcommands. Adding one: a line in mcsec.c's table and a cmd_<name>.c file. */
int cmd_uid(int argc, char *argv[]);

/* Prints "mcsec <cmd>: <message>\n" on stderr. */
void cli_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Option matching for "--name VALUE" and "--name=VALUE" at argv[*i]. Returns 1 and sets
 * *value (advancing *i past a separate value) on a match, 0 if argv[*i] is another option,
 * -1 (error printed) if the value is missing or the option was already given (*value is
 * not NULL on entry). example is shown in the error, e.g. "sip:alice@example.org". */
int cli_option(const char *cmd, int argc, char *argv[], int *i, const char *name,
               const char **value, const char *example);

/* A decimal unsigned 64-bit number: digits only, no sign, no spaces, no overflow. */
int cli_parse_u64(const char *s, uint64_t *out);

/* An RFC 3339 date-time (YYYY-MM-DDTHH:MM:SS[.frac](Z|+HH:MM|-HH:MM), T and Z in either
 * case) as NTP seconds since 1900-01-01T00:00:00Z (the fraction is dropped). 0 if malformed,
 * out of range, or before 1900. */
int cli_parse_rfc3339(const char *s, uint64_t *ntp_seconds);

#endif
