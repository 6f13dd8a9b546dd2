/* mcsec-groupmgr: one function per subcommand (cmd_*.c), dispatched by mcsec-groupmgr.c, plus
 * the helpers every subcommand shares (common.c); the argument helpers are the tools' shared
 * ones (client/cli/args.h, library mcsec_cliargs).
 *
 * Conventions (as for mcsec and mcsec-kms): a subcommand receives argv[0] = its own name,
 * prints results on stdout and every error as ONE line on stderr, "mcsec-groupmgr <command>:
 * what was wrong; what to do". Exit codes: 0 success, 1 failure, 2 usage error. */
#ifndef MCSEC_GROUPMGR_CLI_H
#define MCSEC_GROUPMGR_CLI_H

#include <stddef.h>
#include <stdint.h>

#include "args.h" /* client/cli/args.h: cli_error, cli_option, numbers and times */
#include "mcsec/groupmgr.h"

int cmd_init(int argc, char *argv[]);
int cmd_group_add(int argc, char *argv[]);
int cmd_group_keys(int argc, char *argv[]);
int cmd_member_add(int argc, char *argv[]);
int cmd_member_remove(int argc, char *argv[]);
int cmd_rekey(int argc, char *argv[]);
int cmd_list(int argc, char *argv[]);
int cmd_serve(int argc, char *argv[]);

/* Inside an argument loop over i: matches option NAME into VAR (const char *), or returns
 * CLI_USAGE on an argument error. Needs `int r;` and CMD. */
#define OPT(name, var, example)                                                                   \
    if ((r = cli_option(CMD, argc, argv, &i, name, &var, example)) != 0) {                        \
        if (r < 0) return CLI_USAGE;                                                              \
        continue;                                                                                 \
    }

/* --- common.c -------------------------------------------------------------------------------- */
/* Reads the passphrase (--passphrase-file, MCSEC_PASSPHRASE, or a prompt) and opens the Group
 * Manager in dir. Prints the error; returns CLI_OK or CLI_FAIL. */
int gcli_open(const char *cmd, const char *dir, const char *passphrase_file,
              mcsec_groupmgr_t **gm);
/* Prints the library's last error (or the status) for cmd; returns CLI_FAIL. */
int gcli_fail(const char *cmd, mcsec_status_t rc);
/* Unknown argument: prints the error, returns CLI_USAGE. */
int gcli_unknown(const char *cmd, const char *arg);
/* A required option: prints "X is required, e.g. ..." and returns 0 if missing. */
int gcli_required(const char *cmd, const char *name, const char *value, const char *example);
/* Reads a whole regular file of 1..max octets (malloc'ed, NUL-terminated). CLI_OK or CLI_FAIL
 * (printed, naming what). */
int gcli_read_file(const char *cmd, const char *what, const char *path, size_t max, char **buf,
                   size_t *len);
/* A list of strings collected from repeated options or a file. */
typedef struct {
    const char **v;
    size_t n, cap;
    char *file_text; /* backing store of the file's lines */
} gcli_list_t;
int gcli_list_add(gcli_list_t *l, const char *s);
/* Appends the non-empty lines of path (# starts a comment); CLI_OK or CLI_FAIL (printed). */
int gcli_list_file(const char *cmd, gcli_list_t *l, const char *path);
void gcli_list_free(gcli_list_t *l);
/* Stores a group's key sets: imports init_f and prov_f if given, else fetches from the KMS (the
 * period at NTP seconds at, 0: now). CLI_OK or CLI_FAIL (printed as one line starting with
 * context). In cmd_group_add.c. */
int gcli_group_keys(const char *cmd, mcsec_groupmgr_t *gm, const char *group, const char *init_f,
                    const char *prov_f, uint64_t at, const char *context);
/* NTP 64-bit timestamp as "YYYY-MM-DDTHH:MM:SS.mmmZ" ("never" for 0). */
void gcli_time(uint64_t ntp64, char out[40]);

#endif
