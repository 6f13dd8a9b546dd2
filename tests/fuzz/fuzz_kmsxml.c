/* libFuzzer target for the TS 33.180 KMS XML parsers (mcsec/kmsxml.h). Seed corpus:
 * tests/fuzz/corpus/kmsxml/. Every input goes through both parsers; whatever parses is
 * written back and parsed again, and must come back unchanged (the writer accepts exactly
 * what the parser returns). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mcsec/kmsxml.h"

#define MAX_SETS 8

static char out[MCSEC_KMSXML_MAX_LEN + 1];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static mcsec_kms_keyset_t sets[MAX_SETS], sets2[MAX_SETS];
    mcsec_kms_response_hdr_t hdr, hdr2;
    mcsec_kms_init_t init, init2;
    size_t n = 0, n2 = 0, len = 0;

    if (mcsec_kmsxml_parse_init((const char *)data, size, &hdr, &init) == MCSEC_OK) {
        if (mcsec_kmsxml_write_init(&hdr, &init, out, sizeof out, &len) != MCSEC_OK)
            abort();
        if (mcsec_kmsxml_parse_init(out, len, &hdr2, &init2) != MCSEC_OK ||
            memcmp(&hdr, &hdr2, sizeof hdr) != 0 || memcmp(&init, &init2, sizeof init) != 0)
            abort();
    }
    if (mcsec_kmsxml_parse_keyprov((const char *)data, size, &hdr, sets, MAX_SETS, &n) ==
        MCSEC_OK) {
        mcsec_status_t rc = mcsec_kmsxml_write_keyprov(&hdr, sets, n, out, sizeof out, &len);
        /* Many small key sets can legitimately outgrow the size limit once normalised. */
        if (rc == MCSEC_ERR_BAD_LENGTH && len > MCSEC_KMSXML_MAX_LEN)
            goto done;
        if (rc != MCSEC_OK)
            abort();
        if (mcsec_kmsxml_parse_keyprov(out, len, &hdr2, sets2, MAX_SETS, &n2) != MCSEC_OK ||
            n2 != n || memcmp(&hdr, &hdr2, sizeof hdr) != 0 ||
            memcmp(sets, sets2, n * sizeof sets[0]) != 0)
            abort();
    }
done:
    mcsec_kms_keyset_wipe(sets, MAX_SETS);
    mcsec_kms_keyset_wipe(sets2, MAX_SETS);
    return 0;
}
