/* Library initialisation: the known-answer self test gates every crypto entry point. */
#include <pthread.h>

#include "internal.h"

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static mcsec_status_t init_result = MCSEC_ERR_SELFTEST;
/* The self test calls the public primitives, which call mcsec_init(): let those through. */
static __thread int in_selftest;

static void run_selftest(void)
{
    in_selftest = 1;
    init_result = mcsec_selftest() == MCSEC_OK ? MCSEC_OK : MCSEC_ERR_SELFTEST;
    in_selftest = 0;
}

mcsec_status_t mcsec_init(void)
{
    if (in_selftest)
        return MCSEC_OK;
    pthread_once(&init_once, run_selftest);
    return init_result;
}
