/* 3GPP identifiers: UID format 2 (vectors in tests/vectors/uid.txt), key period number,
 * GUK-ID (checked against an independent HMAC() one-shot computation). */
#include <inttypes.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "internal.h"
#include "test.h"

static void test_uid_vectors(void)
{
    char *text = test_read_file("uid.txt");
    int lines = 0;
    for (char *line = strtok(text, "\n"); line != NULL; line = strtok(NULL, "\n")) {
        if (strncmp(line, "uri=", 4) != 0)
            continue;
        char uri[256], kms[256], hex[128];
        uint64_t period, offset, period_no;
        if (sscanf(line,
                   "uri=%255s kms=%255s period=%" SCNu64 " offset=%" SCNu64
                   " period_no=%" SCNu64 " -> %127s",
                   uri, kms, &period, &offset, &period_no, hex) != 6) {
            fprintf(stderr, "unparsed vector line: %s\n", line);
            CHECK(0);
            continue;
        }
        uint8_t want[64], got[MCSEC_UID_LEN];
        CHECK(test_unhex(hex, want, sizeof want) == MCSEC_UID_LEN);
        CHECK_STATUS(mcsec_uid_format2(uri, kms, period, offset, period_no, got), MCSEC_OK);
        CHECK_MEM(got, want, MCSEC_UID_LEN);
        lines++;

        /* The period number round-trips through the NTP time range of that period. */
        uint64_t start = offset + period_no * period, no = 0;
        CHECK_STATUS(mcsec_key_period_no(start, period, offset, &no), MCSEC_OK);
        CHECK(no == period_no);
        CHECK_STATUS(mcsec_key_period_no(start + period - 1, period, offset, &no), MCSEC_OK);
        CHECK(no == period_no);
        CHECK_STATUS(mcsec_key_period_no(start + period, period, offset, &no), MCSEC_OK);
        CHECK(no == period_no + 1);
        CHECK_STATUS(mcsec_key_period_no(start - 1, period, offset, &no), MCSEC_OK);
        CHECK(no == period_no - 1);

        /* Every input is bound into the UID. */
        uint8_t other[MCSEC_UID_LEN];
        CHECK_STATUS(mcsec_uid_format2(uri, kms, period, offset, period_no + 1, other),
                     MCSEC_OK);
        CHECK(memcmp(other, got, MCSEC_UID_LEN) != 0);
        CHECK_STATUS(mcsec_uid_format2(uri, kms, period + 1, offset, period_no, other),
                     MCSEC_OK);
        CHECK(memcmp(other, got, MCSEC_UID_LEN) != 0);
        CHECK_STATUS(mcsec_uid_format2(uri, kms, period, offset + 1, period_no, other),
                     MCSEC_OK);
        CHECK(memcmp(other, got, MCSEC_UID_LEN) != 0);
        CHECK_STATUS(mcsec_uid_format2(kms, uri, period, offset, period_no, other), MCSEC_OK);
        CHECK(memcmp(other, got, MCSEC_UID_LEN) != 0);
    }
    CHECK(lines == 3);
    free(text);
}

static void test_uid_edges(void)
{
    uint8_t uid[MCSEC_UID_LEN], a[MCSEC_UID_LEN], b[MCSEC_UID_LEN];
    CHECK_STATUS(mcsec_uid_format2(NULL, "kms", 1, 0, 0, uid), MCSEC_ERR_BAD_INPUT);
    CHECK_STATUS(mcsec_uid_format2("sip:a@b", NULL, 1, 0, 0, uid), MCSEC_ERR_BAD_INPUT);
    CHECK_STATUS(mcsec_uid_format2("sip:a@b", "kms", 1, 0, 0, NULL), MCSEC_ERR_BAD_INPUT);
    CHECK_STATUS(mcsec_uid_format2("", "kms", 1, 0, 0, uid), MCSEC_ERR_BAD_INPUT);
    CHECK_STATUS(mcsec_uid_format2("sip:a@b", "", 1, 0, 0, uid), MCSEC_ERR_BAD_INPUT);
    CHECK_STATUS(mcsec_uid_format2("sip:a@b", "kms", 0, 0, 0, uid), MCSEC_ERR_BAD_INPUT);

    char *big = malloc(65537);
    CHECK(big != NULL);
    if (big != NULL) {
        memset(big, 'x', 65536);
        big[65536] = 0;
        CHECK_STATUS(mcsec_uid_format2(big, "kms", 1, 0, 0, uid), MCSEC_ERR_BAD_INPUT);
        CHECK_STATUS(mcsec_uid_format2("sip:a@b", big, 1, 0, 0, uid), MCSEC_ERR_BAD_INPUT);
        big[65535] = 0;
        CHECK_STATUS(mcsec_uid_format2(big, "kms", 1, 0, 0, uid), MCSEC_OK);
        free(big);
    }

    /* Integers use minimal big-endian octets: the boundaries 0xFF/0x100 and 2^64-1 work and
     * give distinct UIDs. */
    CHECK_STATUS(mcsec_uid_format2("sip:a@b", "kms", 1, 0, 0xFF, a), MCSEC_OK);
    CHECK_STATUS(mcsec_uid_format2("sip:a@b", "kms", 1, 0, 0x100, b), MCSEC_OK);
    CHECK(memcmp(a, b, MCSEC_UID_LEN) != 0);
    CHECK_STATUS(mcsec_uid_format2("sip:a@b", "kms", UINT64_MAX, UINT64_MAX, UINT64_MAX, a),
                 MCSEC_OK);

    /* An independent encoding of one case: period 1, offset 0, period_no 0x100. */
    {
        static const uint8_t msg[] = {
            0x00,                                                            /* FC */
            'M', 'I', 'K', 'E', 'Y', '-', 'S', 'A', 'K', 'K', 'E', '-', 'U', 'I', 'D', 0x00, 0x0F,
            's', 'i', 'p', ':', 'a', '@', 'b', 0x00, 0x07,                   /* URI */
            'k', 'm', 's', 0x00, 0x03,                                       /* KMS URI */
            0x01, 0x00, 0x01,                                                /* key period 1 */
            0x00, 0x00, 0x01,                                                /* offset 0 */
            0x01, 0x00, 0x00, 0x02,                                          /* period_no 0x100 */
        };
        unsigned int h = 0;
        CHECK(EVP_Digest(msg, sizeof msg, a, &h, EVP_sha256(), NULL) == 1 && h == MCSEC_UID_LEN);
        CHECK_MEM(b, a, MCSEC_UID_LEN);
    }
}

static void test_key_period_no(void)
{
    uint64_t no = 12345;
    CHECK_STATUS(mcsec_key_period_no(100, 0, 0, &no), MCSEC_ERR_BAD_INPUT);
    CHECK_STATUS(mcsec_key_period_no(99, 10, 100, &no), MCSEC_ERR_BAD_INPUT);
    CHECK_STATUS(mcsec_key_period_no(100, 10, 0, NULL), MCSEC_ERR_BAD_INPUT);
    CHECK_STATUS(mcsec_key_period_no(100, 10, 100, &no), MCSEC_OK);
    CHECK(no == 0);
    CHECK_STATUS(mcsec_key_period_no(109, 10, 100, &no), MCSEC_OK);
    CHECK(no == 0);
    CHECK_STATUS(mcsec_key_period_no(110, 10, 100, &no), MCSEC_OK);
    CHECK(no == 1);
    CHECK_STATUS(mcsec_key_period_no(UINT64_MAX, 1, 0, &no), MCSEC_OK);
    CHECK(no == UINT64_MAX);
    /* 2025-01-01T00:00:00Z in NTP seconds, 30-day periods. */
    CHECK_STATUS(mcsec_key_period_no(3944678400u, 2592000, 0, &no), MCSEC_OK);
    CHECK(no == 3944678400u / 2592000);
}

/* GUK-ID computed directly: HMAC() one-shot over 0x50 || uri || len16(uri). */
static uint32_t ref_guk_id(const uint8_t *gmk, size_t gmk_len, uint32_t gmk_id, const char *uri,
                           uint32_t *salt_out)
{
    uint8_t msg[512], mac[32];
    size_t ul = strlen(uri), n = 0;
    msg[n++] = 0x50;
    memcpy(msg + n, uri, ul);
    n += ul;
    msg[n++] = (uint8_t)(ul >> 8);
    msg[n++] = (uint8_t)ul;
    unsigned int h = 0;
    HMAC(EVP_sha256(), gmk, (int)gmk_len, msg, n, mac, &h);
    uint32_t salt = (((uint32_t)mac[28] << 24) | ((uint32_t)mac[29] << 16) |
                     ((uint32_t)mac[30] << 8) | mac[31]) &
                    0x0FFFFFFFu;
    *salt_out = salt;
    return gmk_id ^ salt;
}

static void test_guk_id(void)
{
    uint8_t gmk[16], gmk2[16];
    for (size_t i = 0; i < sizeof gmk; i++) {
        gmk[i] = (uint8_t)(0x30 + 3 * i);
        gmk2[i] = gmk[i];
    }
    gmk2[15] ^= 0x80;
    static const char *users[] = {"sip:alice@example.org", "sip:bob@example.org",
                                  "tel:+447700900123"};
    uint32_t ids[3];
    for (unsigned int tag = MCSEC_PURPOSE_GMK; tag <= MCSEC_PURPOSE_MUSIK; tag++) {
        uint32_t gmk_id = (uint32_t)tag << 28 | 0x0123456u;
        for (size_t u = 0; u < 3; u++) {
            uint32_t guk = 0, salt = 0;
            CHECK_STATUS(mcsec_guk_id(gmk, sizeof gmk, gmk_id, users[u], &guk), MCSEC_OK);
            CHECK(guk == ref_guk_id(gmk, sizeof gmk, gmk_id, users[u], &salt));
            CHECK(mcsec_purpose_tag(guk) == tag);
            CHECK((salt >> 28) == 0);
            CHECK((guk ^ salt) == gmk_id);
            ids[u] = guk;
        }
        CHECK(ids[0] != ids[1] && ids[0] != ids[2] && ids[1] != ids[2]);
        /* A different GMK gives a different GUK-ID for the same user. */
        uint32_t other = 0;
        CHECK_STATUS(mcsec_guk_id(gmk2, sizeof gmk2, gmk_id, users[0], &other), MCSEC_OK);
        CHECK(other != ids[0]);
    }
    /* The salt does not depend on GMK-ID: two GMK-IDs differ exactly as their GUK-IDs do. */
    uint32_t g1 = 0, g2 = 0;
    CHECK_STATUS(mcsec_guk_id(gmk, sizeof gmk, 0x00000001u, users[0], &g1), MCSEC_OK);
    CHECK_STATUS(mcsec_guk_id(gmk, sizeof gmk, 0x4ABCDEF0u, users[0], &g2), MCSEC_OK);
    CHECK((g1 ^ g2) == (0x00000001u ^ 0x4ABCDEF0u));

    uint32_t guk = 0;
    CHECK_STATUS(mcsec_guk_id(NULL, 16, 1, users[0], &guk), MCSEC_ERR_BAD_INPUT);
    CHECK_STATUS(mcsec_guk_id(gmk, 0, 1, users[0], &guk), MCSEC_ERR_BAD_INPUT);
    CHECK_STATUS(mcsec_guk_id(gmk, 16, 1, NULL, &guk), MCSEC_ERR_BAD_INPUT);
    CHECK_STATUS(mcsec_guk_id(gmk, 16, 1, "", &guk), MCSEC_ERR_BAD_INPUT);
    CHECK_STATUS(mcsec_guk_id(gmk, 16, 1, users[0], NULL), MCSEC_ERR_BAD_INPUT);
    char *big = malloc(65537);
    CHECK(big != NULL);
    if (big != NULL) {
        memset(big, 'u', 65536);
        big[65536] = 0;
        CHECK_STATUS(mcsec_guk_id(gmk, 16, 1, big, &guk), MCSEC_ERR_BAD_INPUT);
        free(big);
    }
}

int main(void)
{
    CHECK_STATUS(mcsec_init(), MCSEC_OK);
    test_uid_vectors();
    test_uid_edges();
    test_key_period_no();
    test_guk_id();
    return test_summary();
}
