/* Shared by the interop tests: the wolfSSL peer and a check of its return codes. */
#ifndef MCSEC_INTEROP_H
#define MCSEC_INTEROP_H

#include "test.h"
#include "wolf_peer.h"

/* A wolf_peer_* call must return 0; otherwise the failure and wolfSSL's reason are printed. */
#define CHECK_WOLF(expr)                                                                           \
    do {                                                                                           \
        int wret_ = (expr);                                                                        \
        if (wret_ == 0) {                                                                          \
            test_passed++;                                                                         \
        } else {                                                                                   \
            test_failed++;                                                                         \
            fprintf(stderr, "%s:%d: %s returned %d (%s)\n", __FILE__, __LINE__, #expr, wret_,      \
                    wolf_peer_strerror(wret_));                                                    \
        }                                                                                          \
    } while (0)

#endif
