/* Constant-time test under valgrind memcheck (docs/security-testing-ct.md).
 *
 * Secrets are marked undefined with memcheck's client requests; memcheck then reports every
 * conditional jump ("Conditional jump or move depends on uninitialised value(s)") and every
 * memory address ("Use of uninitialised value of size N") computed from them. Values that are
 * public by design are marked defined again (CT_PUBLIC), each with a comment saying why.
 * Run directly, without valgrind, the parts are plain functional tests. */
#ifndef MCSEC_CT_H
#define MCSEC_CT_H

#include <stddef.h>
#include <stdio.h>

#include <valgrind/memcheck.h>

#include "mcsec/status.h"

/* p[0 .. n) is secret from here on. */
#define CT_SECRET(p, n) ((void)VALGRIND_MAKE_MEM_UNDEFINED((p), (n)))
/* p[0 .. n) is public by design (say why where it is used). */
#define CT_PUBLIC(p, n) ((void)VALGRIND_MAKE_MEM_DEFINED((p), (n)))

/* 1 if every bit of p[0 .. n) is still secret (undefined) to memcheck, or if not under
 * valgrind: outputs that must stay secret (SSK, RSK, SSV, GMK, GSK) are checked with it, so
 * that a declassification too many inside the library fails the test. */
static inline int ct_is_secret(const void *p, size_t n)
{
    unsigned char vbits[512];
    if (!RUNNING_ON_VALGRIND)
        return 1;
    for (size_t off = 0; off < n; off += sizeof vbits) {
        size_t k = n - off < sizeof vbits ? n - off : sizeof vbits;
        if (VALGRIND_GET_VBITS((const unsigned char *)p + off, vbits, k) != 1)
            return 0;
        for (size_t i = 0; i < k; i++)
            if (vbits[i] != 0xFF)
                return 0;
    }
    return 1;
}

/* Checks, counted over all parts (tests/unit/test.h keeps its counters per file). Conditions
 * must be public: a check on a secret is itself a finding. */
extern int ct_passed, ct_failed;

#define CHECK(cond)                                                                               \
    do {                                                                                          \
        if (cond) {                                                                               \
            ct_passed++;                                                                          \
        } else {                                                                                  \
            ct_failed++;                                                                          \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);             \
        }                                                                                         \
    } while (0)

#define CHECK_STATUS(expr, expected)                                                              \
    do {                                                                                          \
        mcsec_status_t got_ = (expr), want_ = (expected);                                         \
        if (got_ == want_) {                                                                      \
            ct_passed++;                                                                          \
        } else {                                                                                  \
            ct_failed++;                                                                          \
            fprintf(stderr, "%s:%d: %s returned %d (%s), expected %d (%s)\n", __FILE__,         \
                    __LINE__, #expr, (int)got_, mcsec_strerror(got_), (int)want_,                 \
                    mcsec_strerror(want_));                                                       \
        }                                                                                         \
    } while (0)

/* The parts, one per module (ct_main.c runs the ones named on its command line). */
void ct_eccsi(void);    /* ECCSI: KSAK, v, SSK, j */
void ct_sakke(void);    /* SAKKE: z, RSK, SSV, r */
void ct_kms(void);      /* KMS: master secrets -> SSK, RSK; sealing of the master secrets */
void ct_profile(void);  /* GMK I_MESSAGE and GSK message: build and unwrap (GMK, GSK) */
void ct_seal(void);     /* sealing primitives and the handset keystore (passphrase, keys) */
void ct_discovery(void); /* restricted discovery monitor: application keys */

#endif
