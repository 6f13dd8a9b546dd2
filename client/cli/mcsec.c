/* mcsec: the handset command-line tool. `mcsec <command> [args]`; this file is only the
 * dispatcher table, each command lives in cmd_<name>.c (see cli.h for the conventions). */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const struct command {
    const char *name;
    int (*run)(int argc, char *argv[]);
    const char *summary;
} commands[] = {
    {"provision", cmd_provision, "load a handset bundle (keys and KMS credential) into a keystore"},
    {"fetch-keys", cmd_fetch_keys, "fetch this handset's current and next key sets from the KMS"},
    {"keys", cmd_keys, "import KMS documents (KmsInit, KmsKeyProv) into a keystore"},
    {"mikey", cmd_mikey, "inspect a MIKEY message: decode, verify, decrypt"},
    {"gmk", cmd_gmk, "create GMKs for an ad-hoc group; receive GMK messages"},
    {"register", cmd_register, "stay registered with a Group Manager and store the GMKs it sends"},
    {"talk", cmd_talk, "talk in a group call (SRTP, verified talkers), listen, or both"},
    {"adhoc", cmd_adhoc, "lead or join an ad-hoc group with no network infrastructure"},
    {"direct", cmd_direct, "one-to-one direct links: Direct Security Mode, rekeying, demo"},
    {"discovery", cmd_discovery, "restricted ProSe discovery: announce, monitor, demo"},
    {"relay", cmd_relay, "UE-to-network relay: a remote UE, a relay and the PKMF (demo)"},
    {"demo", cmd_demo, "run the whole system here: KMS, Group Manager, handsets, a group call"},
    {"uid", cmd_uid, "print the 3GPP UID (format 2) of a user for a key period"},
};

static void usage(FILE *f) {
    fprintf(f, "usage: mcsec <command> [arguments]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(f, "  %-11s %s\n", commands[i].name, commands[i].summary);
    fprintf(f, "  %-11s %s\n", "help", "show this list, or `mcsec help <command>` for one");
    fprintf(f, "\n`mcsec <command> --help` shows a command's arguments.\n");
}

static const struct command *find(const char *name) {
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(commands[i].name, name) == 0) return &commands[i];
    return NULL;
}

int main(int argc, char *argv[]) {
    if (argc < 2) {
        fprintf(stderr, "mcsec: no command given; run `mcsec help` for the list\n");
        usage(stderr);
        return CLI_FAIL;
    }
    const char *name = argv[1];
    if (strcmp(name, "help") == 0 || strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0) {
        if (argc > 2) {
            const struct command *c = find(argv[2]);
            if (c == NULL) {
                fprintf(stderr, "mcsec: unknown command '%s'; run `mcsec help` for the list\n",
                        argv[2]);
                return CLI_FAIL;
            }
            char *help_argv[] = {(char *)c->name, "--help", NULL};
            return c->run(2, help_argv);
        }
        usage(stdout);
        return CLI_OK;
    }
    const struct command *c = find(name);
    if (c == NULL) {
        fprintf(stderr, "mcsec: unknown command '%s'; run `mcsec help` for the list\n", name);
        usage(stderr);
        return CLI_FAIL;
    }
    return c->run(argc - 1, argv + 1);
}
