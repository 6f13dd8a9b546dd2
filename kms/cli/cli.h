/* mcsec-kms: one function per subcommand (cmd_*.c), dispatched by mcsec-kms.c, plus the
 * argument helpers shared by the tools (client/cli/args.h) and the helpers every subcommand
 * shares (common.c).
 *
 * Conventions (as for mcsec): a subcommand receives argv[0] = its own name, prints results on
 * stdout and every error as ONE line on stderr, "mcsec-kms <command>: what was wrong; what to
 * do". Exit codes: 0 success, 1 failure, 2 usage error. */
#ifndef MCSEC_KMS_CLI_H
#define MCSEC_KMS_CLI_H

#include <stdint.h>

#include "args.h" /* client/cli/args.h: the tools' shared argument helpers */
#include "mcsec/kms.h"


int cmd_init(int argc, char *argv[]);
int cmd_enroll(int argc, char *argv[]);
int cmd_serve(int argc, char *argv[]);
int cmd_cert(int argc, char *argv[]);
int cmd_issue(int argc, char *argv[]);
int cmd_revoke(int argc, char *argv[]);
int cmd_list(int argc, char *argv[]);
int cmd_audit(int argc, char *argv[]);
int cmd_provision(int argc, char *argv[]);
int cmd_prose(int argc, char *argv[]); /* cmd_prose.c: a table of the cmd_prose_*.c below */
int cmd_prose_authorise(int argc, char *argv[]);
int cmd_prose_relay(int argc, char *argv[]);
int cmd_prose_peer(int argc, char *argv[]);
int cmd_prose_push(int argc, char *argv[]);
int cmd_prose_list(int argc, char *argv[]);


/* Inside an argument loop over i: matches option NAME into VAR (const char *), or returns
 * CLI_USAGE on an argument error. Needs `int r;` and CMD. */
#define OPT(name, var, example)                                                                   \
    if ((r = cli_option(CMD, argc, argv, &i, name, &var, example)) != 0) {                        \
        if (r < 0) return CLI_USAGE;                                                              \
        continue;                                                                                 \
    }

/* --- common.c -------------------------------------------------------------------------------- */
/* Reads the passphrase (--passphrase-file, MCSEC_PASSPHRASE, or a prompt) and opens the KMS in
 * dir. Prints the error; returns CLI_OK or CLI_FAIL. */
int kcli_open(const char *cmd, const char *dir, const char *passphrase_file, mcsec_kms_t **kms);
/* Unknown argument: prints the error, returns CLI_USAGE. */
int kcli_unknown(const char *cmd, const char *arg);
/* A required option: prints "X is required, e.g. ..." and returns 0 if missing. */
int kcli_required(const char *cmd, const char *name, const char *value, const char *example);
/* Writes data to path atomically with mode (replace: may replace an existing file). */
int kcli_write(const char *cmd, const char *path, const char *data, size_t len, unsigned mode,
               int replace);
/* Unix seconds as "YYYY-MM-DDTHH:MM:SSZ". */
void kcli_time(int64_t t, char out[32]);

#endif
