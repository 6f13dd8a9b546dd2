/* MIKEY PRF / key derivation (RFC 3830, RFC 6043) and SRTP AES-CM KDF (RFC 3711 4.3).
 * Known answers from tests/vectors/mikey_kdf.txt; HMAC-SHA-1 PRF by properties and by an
 * independent straight-line implementation over OpenSSL's HMAC() one-shot. */
#include <inttypes.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "internal.h"
#include "test.h"

#define MAXOUT 256

/* --- Reference P-function, written independently of crypto/kdf.c ----------------------- */

/* P(s, label, m) truncated to n octets, using HMAC() one-shot on concatenated buffers. */
static void ref_p(const EVP_MD *md, const uint8_t *s, size_t s_len, const uint8_t *label,
                  size_t label_len, uint8_t *out, size_t n)
{
    uint8_t a[EVP_MAX_MD_SIZE], buf[EVP_MAX_MD_SIZE + 512], blk[EVP_MAX_MD_SIZE];
    unsigned int h = 0;
    /* A_1 = HMAC(s, A_0 = label) */
    HMAC(md, s, (int)s_len, label, label_len, a, &h);
    size_t a_len = h;
    size_t done = 0;
    while (done < n) {
        memcpy(buf, a, a_len);
        memcpy(buf + a_len, label, label_len);
        HMAC(md, s, (int)s_len, buf, a_len + label_len, blk, &h);
        size_t k = n - done < h ? n - done : h;
        memcpy(out + done, blk, k);
        done += k;
        HMAC(md, s, (int)s_len, a, a_len, a, &h); /* A_(i+1) */
    }
}

static void ref_prf(const EVP_MD *md, const uint8_t *inkey, size_t inkey_len,
                    const uint8_t *label, size_t label_len, uint8_t *out, size_t n)
{
    uint8_t p[MAXOUT];
    memset(out, 0, n);
    for (size_t off = 0; off < inkey_len; off += 32) {
        size_t piece = inkey_len - off < 32 ? inkey_len - off : 32;
        ref_p(md, inkey + off, piece, label, label_len, p, n);
        for (size_t i = 0; i < n; i++)
            out[i] ^= p[i];
    }
}

static void fill(uint8_t *p, size_t n, uint8_t seed)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(seed + 7 * i + (i >> 3));
}

/* --- Vector-driven checks ----------------------------------------------------------------- */

static void test_mikey_vectors(const char *text)
{
    uint8_t inkey[64], rnd[64];
    size_t inkey_len = test_vector(text, "inkey", inkey, sizeof inkey);
    size_t rand_len = test_vector(text, "RAND", rnd, sizeof rnd);
    CHECK(inkey_len == 16);
    CHECK(rand_len == 16);

    int lines = 0;
    const char *p = text;
    while (*p) {
        const char *eol = strchr(p, '\n');
        size_t len = eol ? (size_t)(eol - p) : strlen(p);
        char line[512];
        snprintf(line, sizeof line, "%.*s", (int)len, p);
        p = eol ? eol + 1 : p + len;
        if (strncmp(line, "const ", 6) != 0)
            continue;
        unsigned int constant, cs_id, csb_id, out_len;
        char tag[32], hex[256];
        if (sscanf(line, "const %x %31s cs_id %u csb_id %x len %u -> %255s", &constant, tag,
                   &cs_id, &csb_id, &out_len, hex) != 6) {
            fprintf(stderr, "unparsed vector line: %s\n", line);
            CHECK(0);
            continue;
        }
        uint8_t want[MAXOUT], got[MAXOUT], label[64];
        long want_len = test_unhex(hex, want, sizeof want);
        CHECK(want_len == (long)out_len);
        if (want_len != (long)out_len)
            continue;
        lines++;

        memset(got, 0xAA, sizeof got);
        CHECK_STATUS(mcsec_mikey_derive(MCSEC_MIKEY_PRF_HMAC_SHA256, inkey, inkey_len, constant,
                                        (uint8_t)cs_id, csb_id, rnd, rand_len, got, out_len),
                     MCSEC_OK);
        CHECK_MEM(got, want, out_len);
        CHECK(got[out_len] == 0xAA); /* nothing written past out_len */

        /* The same through the raw PRF with the label built here. */
        label[0] = (uint8_t)(constant >> 24);
        label[1] = (uint8_t)(constant >> 16);
        label[2] = (uint8_t)(constant >> 8);
        label[3] = (uint8_t)constant;
        label[4] = (uint8_t)cs_id;
        label[5] = (uint8_t)(csb_id >> 24);
        label[6] = (uint8_t)(csb_id >> 16);
        label[7] = (uint8_t)(csb_id >> 8);
        label[8] = (uint8_t)csb_id;
        memcpy(label + 9, rnd, rand_len);
        CHECK_STATUS(mcsec_mikey_prf(MCSEC_MIKEY_PRF_HMAC_SHA256, inkey, inkey_len, label,
                                     9 + rand_len, got, out_len),
                     MCSEC_OK);
        CHECK_MEM(got, want, out_len);

        /* And the reference implementation agrees with the vector. */
        ref_prf(EVP_sha256(), inkey, inkey_len, label, 9 + rand_len, got, out_len);
        CHECK_MEM(got, want, out_len);
    }
    CHECK(lines == 6);
}

static void test_srtp_vectors(const char *text)
{
    uint8_t mk[32], ms[32], want[MAXOUT], got[MAXOUT];
    size_t mk_len = test_vector(text, "master_key", mk, sizeof mk);
    size_t ms_len = test_vector(text, "master_salt", ms, sizeof ms);
    CHECK(mk_len == 16);
    CHECK(ms_len == 14);

    static const struct {
        const char *key;
        uint8_t label;
    } cases[] = {{"cipher_key", 0x00}, {"cipher_salt", 0x02}, {"auth_key", 0x01}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t n = test_vector(text, cases[i].key, want, sizeof want);
        CHECK(n > 0);
        memset(got, 0xAA, sizeof got);
        CHECK_STATUS(mcsec_srtp_kdf(mk, mk_len, ms, cases[i].label, got, n), MCSEC_OK);
        CHECK_MEM(got, want, n);
        CHECK(got[n] == 0xAA);
        /* A prefix of the keystream is the shorter output. */
        CHECK_STATUS(mcsec_srtp_kdf(mk, mk_len, ms, cases[i].label, got, 5), MCSEC_OK);
        CHECK_MEM(got, want, 5);
    }
    CHECK(test_vector(text, "auth_key", want, sizeof want) == 94);
}

/* --- Properties ------------------------------------------------------------------------- */

static void test_prf_properties(mcsec_mikey_prf_t prf, const EVP_MD *md)
{
    uint8_t key[100], label[41], label2[41], lng[MAXOUT], sht[MAXOUT], ref[MAXOUT];
    fill(key, sizeof key, 0x11);
    fill(label, sizeof label, 0x5c);
    memcpy(label2, label, sizeof label);
    label2[40] ^= 1;

    /* Truncation consistency: every shorter output is a prefix of the longest one. */
    CHECK_STATUS(mcsec_mikey_prf(prf, key, 16, label, sizeof label, lng, 200), MCSEC_OK);
    static const size_t lens[] = {1, 12, 16, 19, 20, 21, 31, 32, 33, 40, 41, 64, 65, 199};
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        memset(sht, 0, sizeof sht);
        CHECK_STATUS(mcsec_mikey_prf(prf, key, 16, label, sizeof label, sht, lens[i]),
                     MCSEC_OK);
        CHECK_MEM(sht, lng, lens[i]);
    }

    /* Different labels, different keys: different outputs. */
    CHECK_STATUS(mcsec_mikey_prf(prf, key, 16, label2, sizeof label2, sht, 32), MCSEC_OK);
    CHECK(memcmp(sht, lng, 32) != 0);
    CHECK_STATUS(mcsec_mikey_prf(prf, key + 1, 16, label, sizeof label, sht, 32), MCSEC_OK);
    CHECK(memcmp(sht, lng, 32) != 0);

    /* Independent reference, several key lengths (one piece, exact pieces, short tail). */
    static const size_t klens[] = {1, 16, 31, 32, 33, 48, 64, 65, 100};
    for (size_t i = 0; i < sizeof klens / sizeof klens[0]; i++) {
        CHECK_STATUS(mcsec_mikey_prf(prf, key, klens[i], label, sizeof label, sht, 77),
                     MCSEC_OK);
        ref_prf(md, key, klens[i], label, sizeof label, ref, 77);
        CHECK_MEM(sht, ref, 77);
    }

    /* Splitting: PRF(k1 || k2) = PRF(k1) xor PRF(k2) for |k1| = 32 (and k2 <= 32). */
    static const size_t tails[] = {1, 16, 32};
    for (size_t i = 0; i < sizeof tails / sizeof tails[0]; i++) {
        uint8_t p1[MAXOUT], p2[MAXOUT];
        CHECK_STATUS(mcsec_mikey_prf(prf, key, 32 + tails[i], label, sizeof label, sht, 50),
                     MCSEC_OK);
        CHECK_STATUS(mcsec_mikey_prf(prf, key, 32, label, sizeof label, p1, 50), MCSEC_OK);
        CHECK_STATUS(mcsec_mikey_prf(prf, key + 32, tails[i], label, sizeof label, p2, 50),
                     MCSEC_OK);
        for (size_t j = 0; j < 50; j++)
            p1[j] ^= p2[j];
        CHECK_MEM(sht, p1, 50);
    }
    /* Three pieces. */
    {
        uint8_t acc[MAXOUT], p1[MAXOUT];
        CHECK_STATUS(mcsec_mikey_prf(prf, key, 70, label, sizeof label, sht, 30), MCSEC_OK);
        memset(acc, 0, sizeof acc);
        for (size_t off = 0; off < 70; off += 32) {
            size_t piece = 70 - off < 32 ? 70 - off : 32;
            CHECK_STATUS(mcsec_mikey_prf(prf, key + off, piece, label, sizeof label, p1, 30),
                         MCSEC_OK);
            for (size_t j = 0; j < 30; j++)
                acc[j] ^= p1[j];
        }
        CHECK_MEM(sht, acc, 30);
    }

    /* In-place: out may alias the label. */
    memcpy(sht, label, sizeof label);
    CHECK_STATUS(mcsec_mikey_prf(prf, key, 16, sht, sizeof label, sht, 20), MCSEC_OK);
    CHECK_MEM(sht, lng, 20);
}

static void test_sha1_vs_sha256(void)
{
    uint8_t key[16], label[25], a[32], b[32];
    fill(key, sizeof key, 1);
    fill(label, sizeof label, 2);
    CHECK_STATUS(mcsec_mikey_prf(MCSEC_MIKEY_PRF_HMAC_SHA1, key, 16, label, 25, a, 32), MCSEC_OK);
    CHECK_STATUS(mcsec_mikey_prf(MCSEC_MIKEY_PRF_HMAC_SHA256, key, 16, label, 25, b, 32),
                 MCSEC_OK);
    CHECK(memcmp(a, b, 32) != 0);
    /* SHA-1 first block: HMAC-SHA1(s, HMAC-SHA1(s, label) || label). */
    uint8_t a1[20], buf[45], blk[20];
    unsigned int h = 0;
    HMAC(EVP_sha1(), key, 16, label, 25, a1, &h);
    CHECK(h == 20);
    memcpy(buf, a1, 20);
    memcpy(buf + 20, label, 25);
    HMAC(EVP_sha1(), key, 16, buf, 45, blk, &h);
    CHECK_MEM(a, blk, 20);
}

static void test_derive_properties(void)
{
    uint8_t key[16], rnd[255], a[16], b[16];
    fill(key, sizeof key, 3);
    fill(rnd, sizeof rnd, 4);
    /* Each label field matters. */
    CHECK_STATUS(mcsec_mikey_derive(MCSEC_MIKEY_PRF_HMAC_SHA256, key, 16, MCSEC_MIKEY_CONST_TEK,
                                    4, 0x01020304, rnd, 16, a, 16),
                 MCSEC_OK);
    CHECK_STATUS(mcsec_mikey_derive(MCSEC_MIKEY_PRF_HMAC_SHA256, key, 16, MCSEC_MIKEY_CONST_SALT,
                                    4, 0x01020304, rnd, 16, b, 16),
                 MCSEC_OK);
    CHECK(memcmp(a, b, 16) != 0);
    CHECK_STATUS(mcsec_mikey_derive(MCSEC_MIKEY_PRF_HMAC_SHA256, key, 16, MCSEC_MIKEY_CONST_TEK,
                                    5, 0x01020304, rnd, 16, b, 16),
                 MCSEC_OK);
    CHECK(memcmp(a, b, 16) != 0);
    CHECK_STATUS(mcsec_mikey_derive(MCSEC_MIKEY_PRF_HMAC_SHA256, key, 16, MCSEC_MIKEY_CONST_TEK,
                                    4, 0x01020305, rnd, 16, b, 16),
                 MCSEC_OK);
    CHECK(memcmp(a, b, 16) != 0);
    CHECK_STATUS(mcsec_mikey_derive(MCSEC_MIKEY_PRF_HMAC_SHA256, key, 16, MCSEC_MIKEY_CONST_TEK,
                                    4, 0x01020304, rnd, 17, b, 16),
                 MCSEC_OK);
    CHECK(memcmp(a, b, 16) != 0);
    /* Longest RAND the payload can carry; empty RAND. */
    CHECK_STATUS(mcsec_mikey_derive(MCSEC_MIKEY_PRF_HMAC_SHA1, key, 16, MCSEC_MIKEY_CONST_TEK, 4,
                                    0x01020304, rnd, 255, b, 16),
                 MCSEC_OK);
    CHECK_STATUS(mcsec_mikey_derive(MCSEC_MIKEY_PRF_HMAC_SHA1, key, 16, MCSEC_MIKEY_CONST_TEK, 4,
                                    0x01020304, NULL, 0, b, 16),
                 MCSEC_OK);
}

static void test_bad_input(void)
{
    uint8_t key[2048], label[2048], out[2048], salt[14] = {0};
    memset(key, 1, sizeof key);
    memset(label, 2, sizeof label);
    const mcsec_mikey_prf_t P = MCSEC_MIKEY_PRF_HMAC_SHA256;

    CHECK_STATUS(mcsec_mikey_prf(P, NULL, 16, label, 9, out, 16), MCSEC_ERR_BAD_INPUT);
    CHECK_STATUS(mcsec_mikey_prf(P, key, 0, label, 9, out, 16), MCSEC_ERR_BAD_INPUT);
    CHECK_STATUS(mcsec_mikey_prf(P, key, 1025, label, 9, out, 16), MCSEC_ERR_BAD_INPUT);
    CHECK_STATUS(mcsec_mikey_prf(P, key, 1024, label, 9, out, 16), MCSEC_OK);
    CHECK_STATUS(mcsec_mikey_prf(P, key, 16, NULL, 9, out, 16), MCSEC_ERR_BAD_INPUT);
    CHECK_STATUS(mcsec_mikey_prf(P, key, 16, label, 0, out, 16), MCSEC_ERR_BAD_INPUT);
    CHECK_STATUS(mcsec_mikey_prf(P, key, 16, label, 1025, out, 16), MCSEC_ERR_BAD_INPUT);
    CHECK_STATUS(mcsec_mikey_prf(P, key, 16, label, 1024, out, 16), MCSEC_OK);
    CHECK_STATUS(mcsec_mikey_prf(P, key, 16, label, 9, NULL, 16), MCSEC_ERR_BAD_INPUT);
    CHECK_STATUS(mcsec_mikey_prf(P, key, 16, label, 9, out, 0), MCSEC_ERR_BAD_INPUT);
    CHECK_STATUS(mcsec_mikey_prf(P, key, 16, label, 9, out, 1025), MCSEC_ERR_BAD_INPUT);
    CHECK_STATUS(mcsec_mikey_prf(P, key, 16, label, 9, out, 1024), MCSEC_OK);
    CHECK_STATUS(mcsec_mikey_prf((mcsec_mikey_prf_t)2, key, 16, label, 9, out, 16),
                 MCSEC_ERR_UNSUPPORTED);

    CHECK_STATUS(mcsec_mikey_derive(P, key, 16, 0, 0, 0, NULL, 16, out, 16), MCSEC_ERR_BAD_INPUT);
    CHECK_STATUS(mcsec_mikey_derive(P, key, 16, 0, 0, 0, label, 256, out, 16),
                 MCSEC_ERR_BAD_INPUT);
    CHECK_STATUS(mcsec_mikey_derive(P, NULL, 16, 0, 0, 0, label, 16, out, 16),
                 MCSEC_ERR_BAD_INPUT);
    CHECK_STATUS(mcsec_mikey_derive(P, key, 16, 0, 0, 0, label, 16, NULL, 16),
                 MCSEC_ERR_BAD_INPUT);
    CHECK_STATUS(mcsec_mikey_derive(P, key, 16, 0, 0, 0, label, 16, out, 0), MCSEC_ERR_BAD_INPUT);

    CHECK_STATUS(mcsec_srtp_kdf(NULL, 16, salt, 0, out, 16), MCSEC_ERR_BAD_INPUT);
    CHECK_STATUS(mcsec_srtp_kdf(key, 16, NULL, 0, out, 16), MCSEC_ERR_BAD_INPUT);
    CHECK_STATUS(mcsec_srtp_kdf(key, 16, salt, 0, NULL, 16), MCSEC_ERR_BAD_INPUT);
    CHECK_STATUS(mcsec_srtp_kdf(key, 16, salt, 0, out, 0), MCSEC_ERR_BAD_INPUT);
    CHECK_STATUS(mcsec_srtp_kdf(key, 16, salt, 0, out, 1025), MCSEC_ERR_BAD_INPUT);
    CHECK_STATUS(mcsec_srtp_kdf(key, 16, salt, 8, out, 16), MCSEC_ERR_BAD_INPUT);
    CHECK_STATUS(mcsec_srtp_kdf(key, 20, salt, 0, out, 16), MCSEC_ERR_BAD_LENGTH);
    CHECK_STATUS(mcsec_srtp_kdf(key, 0, salt, 0, out, 16), MCSEC_ERR_BAD_LENGTH);
    CHECK_STATUS(mcsec_srtp_kdf(key, 16, salt, 7, out, 1024), MCSEC_OK);
    CHECK_STATUS(mcsec_srtp_kdf(key, 24, salt, 0, out, 16), MCSEC_OK);
    CHECK_STATUS(mcsec_srtp_kdf(key, 32, salt, 0, out, 16), MCSEC_OK);
}

/* AES-192/256 SRTP KDF against an ECB computation of the RFC 3711 keystream. */
static void test_srtp_long_keys(void)
{
    uint8_t key[32], salt[14], got[64], want[64];
    fill(key, sizeof key, 9);
    fill(salt, sizeof salt, 10);
    static const size_t klens[] = {16, 24, 32};
    for (size_t k = 0; k < 3; k++) {
        const EVP_CIPHER *c = klens[k] == 16   ? EVP_aes_128_ecb()
                              : klens[k] == 24 ? EVP_aes_192_ecb()
                                               : EVP_aes_256_ecb();
        for (uint8_t label = 0; label < 6; label++) {
            for (unsigned int blk = 0; blk < 4; blk++) {
                uint8_t in[16], o[32];
                int ol = 0;
                memcpy(in, salt, 14);
                in[7] ^= label;
                in[14] = 0;
                in[15] = (uint8_t)blk;
                EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
                EVP_EncryptInit_ex(ctx, c, NULL, key, NULL);
                EVP_CIPHER_CTX_set_padding(ctx, 0);
                EVP_EncryptUpdate(ctx, o, &ol, in, 16);
                EVP_CIPHER_CTX_free(ctx);
                memcpy(want + 16 * blk, o, 16);
            }
            CHECK_STATUS(mcsec_srtp_kdf(key, klens[k], salt, label, got, 64), MCSEC_OK);
            CHECK_MEM(got, want, 64);
        }
    }
}

int main(void)
{
    CHECK_STATUS(mcsec_init(), MCSEC_OK);
    CHECK_STATUS(mcsec_kdf_selftest(), MCSEC_OK);
    char *text = test_read_file("mikey_kdf.txt");
    test_mikey_vectors(text);
    test_srtp_vectors(text);
    free(text);
    test_prf_properties(MCSEC_MIKEY_PRF_HMAC_SHA1, EVP_sha1());
    test_prf_properties(MCSEC_MIKEY_PRF_HMAC_SHA256, EVP_sha256());
    test_sha1_vs_sha256();
    test_derive_properties();
    test_bad_input();
    test_srtp_long_keys();
    return test_summary();
}
