#define _GNU_SOURCE /* memmem */
/* Handset bundles (include/mcsec/bundle.h): one-time codes (Crockford base32, tolerant
 * reading, exact refusals), seal/open round trip, wrong code, tampering anywhere, truncation,
 * other magic/version, malformed contents, and the file form (0600, never replaced). */
#include <sys/stat.h>
#include <unistd.h>

#include "bundle.pb-c.h"
#include "mcsec/bundle.h"
#include "mcsec/seal.h"
#include "mcsec/secmem.h"
#include "test.h"

static mcsec_bundle_t sample(char *groups[2])
{
    mcsec_bundle_t b;
    memset(&b, 0, sizeof b);
    b.user_uri = "sip:alice@example.org";
    b.role = "handset";
    groups[0] = "sip:g1@example.org";
    groups[1] = "sip:g2@example.org";
    b.groups = groups;
    b.n_groups = 2;
    memcpy(b.device_public, "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7", 41);
    memcpy(b.device_secret, "JTKVSB%%)wK0E.X)V>+}o?pNmC{O&4W4b!Ni{Lh6", 41);
    memcpy(b.kms_public, "Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID", 41);
    b.kms_endpoint = "tcp://kms.example.org:7001";
    b.init_xml = "<KmsResponse>init</KmsResponse>";
    b.init_len = strlen(b.init_xml);
    b.keyprov_xml = "<KmsResponse>keyprov</KmsResponse>";
    b.keyprov_len = strlen(b.keyprov_xml);
    b.created = 1700000000;
    return b;
}

static void test_codes(void)
{
    uint8_t raw[16], back[16];
    char code[MCSEC_BUNDLE_CODE_LEN + 1];
    for (int i = 0; i < 50; i++) {
        CHECK_STATUS(mcsec_bundle_new_code(raw, code), MCSEC_OK);
        CHECK(strlen(code) == MCSEC_BUNDLE_CODE_LEN && code[4] == '-' && code[29] == '-');
        CHECK_STATUS(mcsec_bundle_parse_code(code, back), MCSEC_OK);
        CHECK_MEM(back, raw, 16);
    }
    /* Known answer: all-zero and all-one keys. */
    memset(raw, 0, 16);
    CHECK_STATUS(mcsec_bundle_parse_code("0000-0000-0000-0000-0000-0000-00", back), MCSEC_OK);
    CHECK_MEM(back, raw, 16);
    memset(raw, 0xff, 16);
    CHECK_STATUS(mcsec_bundle_parse_code("ZZZZ-ZZZZ-ZZZZ-ZZZZ-ZZZZ-ZZZZ-ZW", back), MCSEC_OK);
    CHECK_MEM(back, raw, 16);
    /* Tolerant reading: case, no dashes, spaces, I/L as 1 and O as 0. */
    uint8_t a[16], b[16];
    CHECK_STATUS(mcsec_bundle_parse_code("1100-0000-0000-0000-0000-0000-00", a), MCSEC_OK);
    CHECK_STATUS(mcsec_bundle_parse_code("il o0 0000 0000 0000 0000 0000 00", b), MCSEC_OK);
    CHECK_MEM(a, b, 16);
    /* Refusals. */
    CHECK_STATUS(mcsec_bundle_parse_code("ZZZZ-ZZZZ-ZZZZ-ZZZZ-ZZZZ-ZZZZ-ZZ", back),
                 MCSEC_ERR_BAD_INPUT); /* padding bits set */
    CHECK_STATUS(mcsec_bundle_parse_code("0000-0000-0000-0000-0000-0000-0", back),
                 MCSEC_ERR_BAD_INPUT); /* 25 symbols */
    CHECK_STATUS(mcsec_bundle_parse_code("0000-0000-0000-0000-0000-0000-000", back),
                 MCSEC_ERR_BAD_INPUT); /* 27 */
    CHECK_STATUS(mcsec_bundle_parse_code("0000-0000-0000-0000-0000-0000-0U", back),
                 MCSEC_ERR_BAD_INPUT); /* U is not Crockford */
    CHECK_STATUS(mcsec_bundle_parse_code("", back), MCSEC_ERR_BAD_INPUT);
    CHECK_STATUS(mcsec_bundle_parse_code(NULL, back), MCSEC_ERR_BAD_INPUT);
}

static void test_seal_open(void)
{
    char *groups[2];
    mcsec_bundle_t in = sample(groups);
    uint8_t raw[16], *buf = NULL;
    char code[MCSEC_BUNDLE_CODE_LEN + 1], other[MCSEC_BUNDLE_CODE_LEN + 1];
    size_t len = 0;
    CHECK_STATUS(mcsec_bundle_new_code(raw, code), MCSEC_OK);
    CHECK_STATUS(mcsec_bundle_seal_mem(&in, raw, &buf, &len), MCSEC_OK);
    if (buf == NULL)
        return;
    CHECK(memcmp(buf, "MCSB", 4) == 0 && buf[4] == 1);
    CHECK(memmem(buf, len, in.device_secret, 40) == NULL); /* encrypted */
    mcsec_bundle_t *out = NULL;
    CHECK_STATUS(mcsec_bundle_open_mem(buf, len, code, &out), MCSEC_OK);
    if (out != NULL) {
        CHECK(strcmp(out->user_uri, in.user_uri) == 0 && strcmp(out->role, "handset") == 0);
        CHECK(out->n_groups == 2 && strcmp(out->groups[1], "sip:g2@example.org") == 0);
        CHECK(strcmp(out->device_secret, in.device_secret) == 0);
        CHECK(strcmp(out->kms_public, in.kms_public) == 0);
        CHECK(strcmp(out->kms_endpoint, in.kms_endpoint) == 0);
        CHECK(out->keyprov_len == in.keyprov_len &&
              memcmp(out->keyprov_xml, in.keyprov_xml, in.keyprov_len) == 0);
        CHECK(out->init_len == in.init_len && out->created == in.created);
    }
    mcsec_bundle_free(out);
    /* Wrong code. */
    uint8_t raw2[16];
    CHECK_STATUS(mcsec_bundle_new_code(raw2, other), MCSEC_OK);
    CHECK_STATUS(mcsec_bundle_open_mem(buf, len, other, &out), MCSEC_ERR_PASSPHRASE);
    CHECK(out == NULL);
    CHECK_STATUS(mcsec_bundle_open_mem(buf, len, "not a code", &out), MCSEC_ERR_BAD_INPUT);
    /* Any modified octet past the magic and version fails as a wrong code would. */
    for (size_t i = 5; i < len; i++) {
        buf[i] ^= 0x01;
        mcsec_status_t st = mcsec_bundle_open_mem(buf, len, code, &out);
        buf[i] ^= 0x01;
        if (st != MCSEC_ERR_PASSPHRASE) {
            fprintf(stderr, "octet %zu: %s\n", i, mcsec_strerror(st));
            CHECK(0);
            break;
        }
    }
    buf[0] ^= 1;
    CHECK_STATUS(mcsec_bundle_open_mem(buf, len, code, &out), MCSEC_ERR_VERIFY);
    buf[0] ^= 1;
    buf[4] = 2;
    CHECK_STATUS(mcsec_bundle_open_mem(buf, len, code, &out), MCSEC_ERR_UNSUPPORTED);
    buf[4] = 1;
    CHECK_STATUS(mcsec_bundle_open_mem(buf, MCSEC_BUNDLE_HEADER_LEN + 15, code, &out),
                 MCSEC_ERR_TRUNCATED);
    CHECK_STATUS(mcsec_bundle_open_mem(buf, len - 1, code, &out), MCSEC_ERR_PASSPHRASE);
    CHECK_STATUS(mcsec_bundle_open_mem(buf, MCSEC_BUNDLE_MAX + 1, code, &out),
                 MCSEC_ERR_BAD_LENGTH);
    free(buf);

    /* Correctly sealed but malformed contents: STRUCTURE. */
    char *bad_groups[2];
    mcsec_bundle_t bad = sample(bad_groups);
    bad.role = "admin";
    CHECK_STATUS(mcsec_bundle_seal_mem(&bad, raw, &buf, &len), MCSEC_OK);
    CHECK_STATUS(mcsec_bundle_open_mem(buf, len, code, &out), MCSEC_ERR_STRUCTURE);
    free(buf);
    bad = sample(bad_groups);
    bad.device_secret[3] = ' ';
    CHECK_STATUS(mcsec_bundle_seal_mem(&bad, raw, &buf, &len), MCSEC_OK);
    CHECK_STATUS(mcsec_bundle_open_mem(buf, len, code, &out), MCSEC_ERR_STRUCTURE);
    free(buf);
    bad = sample(bad_groups);
    bad.keyprov_len = 0;
    CHECK_STATUS(mcsec_bundle_seal_mem(&bad, raw, &buf, &len), MCSEC_OK);
    CHECK_STATUS(mcsec_bundle_open_mem(buf, len, code, &out), MCSEC_ERR_STRUCTURE);
    free(buf);
    /* Not a protobuf at all, sealed properly. */
    {
        uint8_t blob[64], key[32];
        static const uint8_t junk[] = {0xff, 0xff, 0xff, 0xff, 0xff};
        memcpy(blob, "MCSB", 4);
        blob[4] = 1;
        CHECK_STATUS(mcsec_random_bytes(blob + 5, 28), MCSEC_OK);
        CHECK_STATUS(mcsec_seal_hkdf(raw, 16, blob + 5, 16, (const uint8_t *)"mcsec handset bundle v1",
                                     23, key, 32),
                     MCSEC_OK);
        CHECK_STATUS(mcsec_seal(key, blob + 21, blob, 33, junk, sizeof junk, blob + 33,
                                blob + 33 + sizeof junk),
                     MCSEC_OK);
        CHECK_STATUS(mcsec_bundle_open_mem(blob, 33 + sizeof junk + 16, code, &out),
                     MCSEC_ERR_STRUCTURE);
    }
}

static void test_file(void)
{
    char dir[] = "/tmp/mcsec-bundle.XXXXXX", path[64], code[MCSEC_BUNDLE_CODE_LEN + 1];
    CHECK(mkdtemp(dir) != NULL);
    snprintf(path, sizeof path, "%s/a.mcsb", dir);
    char *groups[2];
    mcsec_bundle_t in = sample(groups);
    CHECK_STATUS(mcsec_bundle_seal(&in, path, code), MCSEC_OK);
    struct stat st;
    CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600);
    mcsec_bundle_t *out = NULL;
    CHECK_STATUS(mcsec_bundle_open(path, code, &out), MCSEC_OK);
    mcsec_bundle_free(out);
    CHECK_STATUS(mcsec_bundle_seal(&in, path, code), MCSEC_ERR_IO); /* never replaced */
    CHECK(code[0] == 0);
    snprintf(path, sizeof path, "%s/missing.mcsb", dir);
    CHECK_STATUS(mcsec_bundle_open(path, code, &out), MCSEC_ERR_IO);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    CHECK(system(cmd) == 0);
}

int main(void)
{
    test_codes();
    test_seal_open();
    test_file();
    return test_summary();
}
