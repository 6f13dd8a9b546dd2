/* Argument helpers shared by the command-line tools (mcsec, mcsec-kms, mcsec-groupmgr):
 * one-line errors, option matching, numbers and times, subcommand tables. Built once as the
 * mcsec_cliargs library; each tool sets cli_program to its own name first thing in main.
 *
 * Conventions: a subcommand receives argv[0] = its own name. It prints its result on stdout
 * and every error as ONE line on stderr, "<program> <command>: what was wrong; what to do".
 * Exit codes: 0 success, 1 failure, 2 usage error (bad or missing argument). */
#ifndef MCSEC_CLI_ARGS_H
#define MCSEC_CLI_ARGS_H

#include <stdint.h>

#define CLI_OK 0
#define CLI_FAIL 1
#define CLI_USAGE 2

/* The tool's name in messages ("mcsec" unless main sets it). */
extern const char *cli_program;

/* Prints "<program> <cmd>: <message>\n" on stderr. */
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

/* "unknown option" / "unexpected argument" for argv[i]; returns CLI_USAGE. full is the
 * command as typed, e.g. "keys import". */
int cli_bad_arg(const char *cmd, const char *full, const char *arg);

/* A command with subcommands ("keys import"): runs the one named by argv[1] from table
 * (NULL-terminated), or prints the list. */
typedef struct {
    const char *name;
    int (*run)(int argc, char *argv[]);
    const char *summary;
} cli_sub_t;
int cli_dispatch(const char *cmd, const cli_sub_t *table, int argc, char *argv[]);

/* NTP seconds now (the system clock). */
uint64_t cli_ntp_now(void);
/* The 64-bit NTP timestamp now (seconds << 32 | fraction), as MIKEY T carries it. */
uint64_t cli_ntp_now64(void);

#endif
