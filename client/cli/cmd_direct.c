/* mcsec direct: one-to-one direct communication security (include/mcsec/direct.h). A table of
 * subcommands; `demo` runs two handsets on the loopback (cmd_direct_demo.c). */
#include <string.h>

#include "direct_cli.h"

#define USAGE "usage: mcsec direct demo [--mode offline|network|sdes] [--json]"

int cmd_direct(int argc, char *argv[]) {
    static const cli_sub_t table[] = {
        {"demo", cmd_direct_demo, "two handsets on the loopback: Direct Security Mode, data, "
                                  "rekeying, release and resumption"},
        {NULL, NULL, NULL},
    };
    if (argc < 2) {
        cli_error("direct", "a subcommand is needed (%s); run `mcsec direct demo --help` for "
                            "its options", USAGE);
        return CLI_USAGE;
    }
    int known = strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0;
    for (const cli_sub_t *s = table; s->name != NULL && !known; s++)
        known = strcmp(argv[1], s->name) == 0;
    if (!known) {
        cli_error("direct", "unknown subcommand '%s' (%s); run `mcsec direct demo --help` for "
                            "its options", argv[1], USAGE);
        return CLI_USAGE;
    }
    return cli_dispatch("direct", table, argc, argv);
}
