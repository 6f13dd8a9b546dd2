/* mcsec-kms: the KMS command-line tool. `mcsec-kms <command> [args]`; this file is only the
 * dispatcher table, each command lives in cmd_<name>.c (see cli.h for the conventions). */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const struct command {
    const char *name;
    int (*run)(int argc, char *argv[]);
    const char *summary;
} commands[] = {
    {"init", cmd_init, "create a KMS: master keys, CURVE key pair, store"},
    {"enroll", cmd_enroll, "register a device (handset or group manager) and its CURVE key"},
    {"serve", cmd_serve, "run the key service (ZeroMQ + CURVE)"},
    {"cert", cmd_cert, "write the KMS certificate (KmsInit) for offline provisioning"},
    {"issue", cmd_issue, "write a user's key sets (KmsKeyProv) for offline provisioning"},
    {"revoke", cmd_revoke, "revoke a device (or every device of a URI)"},
    {"list", cmd_list, "list the enrolled devices"},
    {"audit", cmd_audit, "print the audit table"},
    {"provision", cmd_provision, "bulk provisioning: bundles for every handset of a roster"},
    {"prose", cmd_prose, "ProSe roles: PKMF for relays, network entity for direct keying"},
};
#define NCOMMANDS (sizeof commands / sizeof commands[0])

static void usage(FILE *f) {
    fprintf(f, "usage: mcsec-kms <command> [arguments]\n\ncommands:\n");
    for (size_t i = 0; i < NCOMMANDS; i++)
        fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(f, "  %-10s %s\n", "help", "show this list, or `mcsec-kms help <command>` for one");
    fprintf(f, "\nThe passphrase comes from --passphrase-file FILE, MCSEC_PASSPHRASE, or a prompt.\n");
}

static const struct command *find(const char *name) {
    for (size_t i = 0; i < NCOMMANDS; i++)
        if (strcmp(commands[i].name, name) == 0) return &commands[i];
    return NULL;
}

int main(int argc, char *argv[]) {
    cli_program = "mcsec-kms";
    if (argc < 2) {
        fprintf(stderr, "mcsec-kms: no command given; run `mcsec-kms help` for the list\n");
        return CLI_USAGE;
    }
    const char *name = argv[1];
    if (strcmp(name, "help") == 0 || strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0) {
        if (argc > 2) {
            const struct command *c = find(argv[2]);
            if (c == NULL) {
                fprintf(stderr, "mcsec-kms: unknown command '%s'; run `mcsec-kms help`\n",
                        argv[2]);
                return CLI_USAGE;
            }
            char *help_argv[] = {(char *)c->name, "--help", NULL};
            return c->run(2, help_argv);
        }
        usage(stdout);
        return CLI_OK;
    }
    const struct command *c = find(name);
    if (c == NULL) {
        fprintf(stderr, "mcsec-kms: unknown command '%s'; run `mcsec-kms help` for the list\n",
                name);
        return CLI_USAGE;
    }
    return c->run(argc - 1, argv + 1);
}
