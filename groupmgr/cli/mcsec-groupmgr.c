/* mcsec-groupmgr: the Group Manager command-line tool. `mcsec-groupmgr <command> [args]`; this
 * file is only the dispatcher table, each command lives in cmd_<name>.c (see cli.h). */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const struct command {
    const char *name, *sub; /* sub: second word, or NULL */
    int (*run)(int argc, char *argv[]);
    const char *summary;
} commands[] = {
    {"init", NULL, cmd_init, "create a Group Manager (CURVE key pair, store); load a KMS bundle"},
    {"group", "add", cmd_group_add, "add a group: GMK policy and the group identity's keys"},
    {"group", "keys", cmd_group_keys, "import or fetch a group identity's key sets"},
    {"member", "add", cmd_member_add, "add members to a group (they get its current GMK)"},
    {"member", "remove", cmd_member_remove, "remove members (a new GMK if the policy says so)"},
    {"rekey", NULL, cmd_rekey, "make a new GMK for a group; optionally export the messages"},
    {"list", NULL, cmd_list, "list groups, GMK history and delivery states"},
    {"serve", NULL, cmd_serve, "run the GMK delivery service (ZeroMQ + CURVE)"},
};
#define NCOMMANDS (sizeof commands / sizeof commands[0])

static void usage(FILE *f) {
    fprintf(f, "usage: mcsec-groupmgr <command> [arguments]\n\ncommands:\n");
    for (size_t i = 0; i < NCOMMANDS; i++) {
        char name[32];
        snprintf(name, sizeof name, "%s%s%s", commands[i].name, commands[i].sub ? " " : "",
                 commands[i].sub ? commands[i].sub : "");
        fprintf(f, "  %-14s %s\n", name, commands[i].summary);
    }
    fprintf(f, "  %-14s %s\n", "help", "show this list; `mcsec-groupmgr <command> --help`");
    fprintf(f, "\nThe passphrase comes from --passphrase-file FILE, MCSEC_PASSPHRASE, or a "
               "prompt.\n");
}

/* The command named by argv[0] (and argv[1] for two-word commands); *words set to 1 or 2. */
static const struct command *find(int argc, char *argv[], int *words, int *known_first) {
    *known_first = 0;
    for (size_t i = 0; i < NCOMMANDS; i++) {
        if (strcmp(commands[i].name, argv[0]) != 0) continue;
        *known_first = 1;
        if (commands[i].sub == NULL) {
            *words = 1;
            return &commands[i];
        }
        if (argc > 1 && strcmp(commands[i].sub, argv[1]) == 0) {
            *words = 2;
            return &commands[i];
        }
    }
    return NULL;
}

int main(int argc, char *argv[]) {
    cli_program = "mcsec-groupmgr";
    if (argc < 2) {
        fprintf(stderr, "mcsec-groupmgr: no command given; run `mcsec-groupmgr help` for the "
                        "list\n");
        return CLI_USAGE;
    }
    int words = 0, known = 0;
    if (strcmp(argv[1], "help") == 0 || strcmp(argv[1], "--help") == 0 ||
        strcmp(argv[1], "-h") == 0) {
        if (argc > 2) {
            const struct command *c = find(argc - 2, argv + 2, &words, &known);
            if (c == NULL) {
                fprintf(stderr, "mcsec-groupmgr: unknown command '%s'; run `mcsec-groupmgr "
                                "help`\n",
                        argv[2]);
                return CLI_USAGE;
            }
            char *help_argv[] = {(char *)c->name, "--help", NULL};
            return c->run(2, help_argv);
        }
        usage(stdout);
        return CLI_OK;
    }
    const struct command *c = find(argc - 1, argv + 1, &words, &known);
    if (c == NULL) {
        if (known)
            fprintf(stderr, "mcsec-groupmgr: '%s' needs a subcommand (%s); run `mcsec-groupmgr "
                            "help`\n",
                    argv[1], strcmp(argv[1], "group") == 0 ? "add or keys" : "add or remove");
        else
            fprintf(stderr, "mcsec-groupmgr: unknown command '%s'; run `mcsec-groupmgr help` "
                            "for the list\n",
                    argv[1]);
        return CLI_USAGE;
    }
    /* The subcommand sees argv[0] = "group add" style name via its CMD; pass the rest. */
    return c->run(argc - words, argv + words);
}
