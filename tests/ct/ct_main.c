/* test_ct [part ...]: runs the named parts of the constant-time test (all without arguments).
 * Meant to run under valgrind memcheck (tests/ct/CMakeLists.txt has the command); exits 0 if
 * every functional check passed. memcheck's findings make valgrind's own exit status 1. */
#include <stdio.h>
#include <string.h>

#include "ct.h"
#include "internal.h" /* crypto/: mcsec_ct_validation_enable */

static const struct {
    const char *name;
    void (*run)(void);
} parts[] = {
    {"eccsi", ct_eccsi}, {"sakke", ct_sakke}, {"kms", ct_kms},
    {"profile", ct_profile}, {"seal", ct_seal}, {"discovery", ct_discovery},
};
#define N_PARTS (sizeof parts / sizeof parts[0])

int ct_passed, ct_failed;

int main(int argc, char **argv)
{
    /* Before the self test: its blinded inversions are checked too. */
    mcsec_ct_validation_enable();
    if (!RUNNING_ON_VALGRIND)
        fprintf(stderr, "test_ct: not under valgrind: functional checks only\n");
    CHECK_STATUS(mcsec_init(), MCSEC_OK);
    /* The field multiplication checked is the one this CPU (as valgrind shows it) selects. */
    printf("F_p multiplication: %s\n", fp_params() != NULL ? fp_impl_name() : "?");
    for (int a = 1; a < argc; a++) {
        size_t i = 0;
        while (i < N_PARTS && strcmp(argv[a], parts[i].name) != 0)
            i++;
        if (i == N_PARTS) {
            fprintf(stderr, "test_ct: unknown part '%s': use eccsi, sakke, kms, profile, seal or discovery\n",
                    argv[a]);
            return 2;
        }
    }
    for (size_t i = 0; i < N_PARTS; i++) {
        int want = argc == 1;
        for (int a = 1; a < argc; a++)
            want |= strcmp(argv[a], parts[i].name) == 0;
        if (want) {
            printf("== %s\n", parts[i].name);
            fflush(stdout);
            parts[i].run();
        }
    }
    printf("%d passed, %d failed\n", ct_passed, ct_failed);
    return ct_failed == 0 ? 0 : 1;
}
