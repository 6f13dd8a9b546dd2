/* test_gm_register: `mcsec register` for the tests, built from the mcsec CLI's own sources
 * (the client/cli sources without the dispatcher), so that the tests do not depend on the dispatcher
 * line in client/cli/mcsec.c. usage: test_gm_register [register arguments]. */
#include "cli.h"

int cmd_register(int argc, char *argv[]);

int main(int argc, char *argv[]) {
    argv[0] = "register";
    return cmd_register(argc, argv);
}
