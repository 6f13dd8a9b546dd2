/* libFuzzer target for restricted discovery: the announcement parser mcsec_disc_parse, the
 * monitor's check of a datagram, and the key file opener mcsec_disc_keyfile_open.
 *
 * A parsed announcement must re-encode to the input octet for octet. Each input is checked by
 * a monitor holding a fixed application at two times: one taken from the message itself (so
 * that the window is passed and the code compared) and a fixed one; a check must give one of
 * the documented statuses, and an accepted announcement must be refused as a repeat after.
 * Key files are opened with the passphrase the seeds were sealed with ("fuzz"). An input whose
 * scrypt cost is accepted but above the seeds' (log2 N 10, r 8, p 1) is not opened: one
 * execution would cost up to a 1 GiB scrypt (seconds); the cost check itself is still fuzzed
 * (costs out of range are opened and refused), and client_discovery opens larger costs.
 * Seeds: corpus/discovery (written by `test_client_discovery --write-corpus DIR`). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mcsec/discovery.h"

#define FUZZ_PASS "fuzz"

static mcsec_disc_app_t app;

static void setup(void) {
    static int done;
    if (done) return;
    done = 1;
    /* The application of tests/vectors/discovery.txt. */
    strcpy(app.name, "fire-team-7");
    for (int i = 0; i < MCSEC_DISC_KEY_LEN; i++)
        app.key[i] = (uint8_t)i;
    for (int i = 0; i < 16; i++)
        app.prose_code[i] = (uint8_t)(0xa0 + i);
    app.prose_code_len = 16;
    app.slot_s = 30;
}

static void check(const uint8_t *data, size_t size, uint64_t now) {
    mcsec_disc_monitor_t *mon = NULL;
    mcsec_disc_match_t mt;
    if (mcsec_disc_monitor_new(&mon) != MCSEC_OK || mcsec_disc_monitor_add(mon, &app) != MCSEC_OK)
        abort();
    mcsec_status_t rc = mcsec_disc_monitor_check(mon, data, size, now, &mt);
    switch (rc) {
    case MCSEC_OK:
        if (mt.index != 0 || mt.name == NULL || mt.offset < -1 || mt.offset > 1) abort();
        if (mcsec_disc_monitor_check(mon, data, size, now, NULL) != MCSEC_ERR_REPLAY) abort();
        break;
    case MCSEC_ERR_EXPIRED:
    case MCSEC_ERR_VERIFY:
    case MCSEC_ERR_TRUNCATED:
    case MCSEC_ERR_TRAILING_DATA:
    case MCSEC_ERR_UNSUPPORTED:
    case MCSEC_ERR_STRUCTURE:
        break;
    default:
        abort();
    }
    mcsec_disc_monitor_free(mon);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    mcsec_disc_msg_t m;
    uint8_t out[MCSEC_DISC_MSG_LEN];
    setup();

    if (mcsec_disc_parse(data, size, &m) == MCSEC_OK) {
        mcsec_disc_encode(&m, out);
        if (size != sizeof out || memcmp(out, data, size) != 0) abort();
        check(data, size, m.slot_start);
    }
    check(data, size, 1795359907); /* the vectors' time */

    if (size > 7 && data[5] >= 10 && data[5] <= 22 && data[6] >= 1 && data[6] <= 32 &&
        data[7] >= 1 && data[7] <= 16 && (data[5] > 10 || data[6] > 8 || data[7] > 1))
        return 0; /* an accepted cost above the seeds' (see the top) */
    mcsec_disc_app_t k;
    mcsec_status_t rc = mcsec_disc_keyfile_open(data, size, FUZZ_PASS, 4, &k);
    if (rc == MCSEC_OK) {
        uint8_t code[MCSEC_DISC_CODE_LEN];
        if (mcsec_disc_code(&k, 0, code) != MCSEC_OK) abort(); /* an opened key is valid */
    } else if (k.slot_s != 0 || k.prose_code_len != 0) {
        abort(); /* zeroed on failure */
    }
    return 0;
}
