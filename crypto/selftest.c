/* The library's known-answer self test: every module's KAT must pass before any crypto
 * entry point works (see init.c). */
#include "internal.h"

mcsec_status_t mcsec_selftest(void)
{
    mcsec_status_t (*const tests[])(void) = {
        mcsec_kdf_selftest,
        mcsec_eccsi_selftest,
        mcsec_sakke_selftest,
    };
    for (size_t i = 0; i < sizeof tests / sizeof tests[0]; i++)
        if (tests[i]() != MCSEC_OK)
            return MCSEC_ERR_SELFTEST;
    return MCSEC_OK;
}
