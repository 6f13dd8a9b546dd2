/* Sealing primitives (include/mcsec/seal.h): scrypt, HKDF-SHA256 and AES-256-GCM against
 * tests/vectors/seal.txt, round trips, every tampering class, argument errors, and the atomic
 * file write. */
#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mcsec/seal.h"
#include "mcsec/secmem.h"
#include "test.h"

static char *vec;

static void test_scrypt(void)
{
    uint8_t p[16], s[16], l2[1], want[64], got[64];
    size_t pl = test_vector(vec, "SCRYPT1_P", p, sizeof p);
    size_t sl = test_vector(vec, "SCRYPT1_S", s, sizeof s);
    test_vector(vec, "SCRYPT1_LOG2N", l2, sizeof l2);
    test_vector(vec, "SCRYPT1_DK", want, sizeof want);
    CHECK_STATUS(mcsec_seal_scrypt(p, pl, s, sl, l2[0], 8, 16, got, 64), MCSEC_OK);
    CHECK_MEM(got, want, 64);
    test_vector(vec, "SCRYPT2_DK", want, sizeof want);
    CHECK_STATUS(mcsec_seal_scrypt(NULL, 0, NULL, 0, 4, 1, 1, got, 64), MCSEC_OK);
    CHECK_MEM(got, want, 64);
    /* cost and length limits */
    CHECK_STATUS(mcsec_seal_scrypt("x", 1, s, sl, 0, 8, 1, got, 32), MCSEC_ERR_UNSUPPORTED);
    CHECK_STATUS(mcsec_seal_scrypt("x", 1, s, sl, 23, 8, 1, got, 32), MCSEC_ERR_UNSUPPORTED);
    CHECK_STATUS(mcsec_seal_scrypt("x", 1, s, sl, 22, 8, 1, got, 32), MCSEC_ERR_UNSUPPORTED);
    CHECK_STATUS(mcsec_seal_scrypt("x", 1, s, sl, 10, 0, 1, got, 32), MCSEC_ERR_UNSUPPORTED);
    CHECK_STATUS(mcsec_seal_scrypt("x", 1, s, sl, 10, 8, 17, got, 32), MCSEC_ERR_UNSUPPORTED);
    CHECK_STATUS(mcsec_seal_scrypt("x", 1, s, sl, 10, 8, 1, got, 65), MCSEC_ERR_UNSUPPORTED);
    CHECK_STATUS(mcsec_seal_scrypt("x", 1, s, sl, 10, 8, 1, NULL, 32), MCSEC_ERR_BAD_INPUT);
}

static void test_hkdf(void)
{
    uint8_t ikm[32], salt[16], info[16], want[64], got[64];
    size_t il = test_vector(vec, "HKDF_IKM", ikm, sizeof ikm);
    size_t sl = test_vector(vec, "HKDF_SALT", salt, sizeof salt);
    size_t fl = test_vector(vec, "HKDF_INFO", info, sizeof info);
    size_t ol = test_vector(vec, "HKDF_OKM", want, sizeof want);
    CHECK_STATUS(mcsec_seal_hkdf(ikm, il, salt, sl, info, fl, got, ol), MCSEC_OK);
    CHECK_MEM(got, want, ol);
    /* the output is a prefix-consistent stream: a shorter request is a prefix */
    CHECK_STATUS(mcsec_seal_hkdf(ikm, il, salt, sl, info, fl, got, 16), MCSEC_OK);
    CHECK_MEM(got, want, 16);
    CHECK_STATUS(mcsec_seal_hkdf(ikm, il, NULL, 0, NULL, 0, got, 32), MCSEC_OK);
    CHECK_STATUS(mcsec_seal_hkdf(ikm, il, salt, sl, info, fl, got, 0), MCSEC_ERR_BAD_LENGTH);
    CHECK_STATUS(mcsec_seal_hkdf(ikm, il, salt, sl, info, fl, got, 8161), MCSEC_ERR_BAD_LENGTH);
    CHECK_STATUS(mcsec_seal_hkdf(NULL, 4, salt, sl, info, fl, got, 32), MCSEC_ERR_BAD_INPUT);
}

static void test_gcm(void)
{
    uint8_t k[32], iv[12], p[64], a[32], c[64], t[16], out[64], tag[16];
    test_vector(vec, "GCM_K", k, sizeof k);
    test_vector(vec, "GCM_IV", iv, sizeof iv);
    size_t pl = test_vector(vec, "GCM_P", p, sizeof p);
    size_t al = test_vector(vec, "GCM_A", a, sizeof a);
    test_vector(vec, "GCM_C", c, sizeof c);
    test_vector(vec, "GCM_T", t, sizeof t);
    CHECK_STATUS(mcsec_seal(k, iv, a, al, p, pl, out, tag), MCSEC_OK);
    CHECK_MEM(out, c, pl);
    CHECK_MEM(tag, t, 16);
    CHECK_STATUS(mcsec_seal_open(k, iv, a, al, c, pl, t, out), MCSEC_OK);
    CHECK_MEM(out, p, pl);
    /* in place */
    memcpy(out, p, pl);
    CHECK_STATUS(mcsec_seal(k, iv, a, al, out, pl, out, tag), MCSEC_OK);
    CHECK_MEM(out, c, pl);

    /* every tampering class fails with VERIFY and zeroes the output */
    static const uint8_t zero[64];
    uint8_t bad[64];
    memcpy(bad, c, pl);
    bad[pl / 2] ^= 1;
    memset(out, 0xAA, sizeof out);
    CHECK_STATUS(mcsec_seal_open(k, iv, a, al, bad, pl, t, out), MCSEC_ERR_VERIFY);
    CHECK_MEM(out, zero, pl);
    uint8_t bt[16];
    memcpy(bt, t, 16);
    bt[15] ^= 0x80;
    CHECK_STATUS(mcsec_seal_open(k, iv, a, al, c, pl, bt, out), MCSEC_ERR_VERIFY);
    a[0] ^= 1;
    CHECK_STATUS(mcsec_seal_open(k, iv, a, al, c, pl, t, out), MCSEC_ERR_VERIFY);
    a[0] ^= 1;
    CHECK_STATUS(mcsec_seal_open(k, iv, a, al - 1, c, pl, t, out), MCSEC_ERR_VERIFY);
    CHECK_STATUS(mcsec_seal_open(k, iv, a, al, c, pl - 1, t, out), MCSEC_ERR_VERIFY);
    k[31] ^= 1;
    CHECK_STATUS(mcsec_seal_open(k, iv, a, al, c, pl, t, out), MCSEC_ERR_VERIFY);
    k[31] ^= 1;
    iv[0] ^= 1;
    CHECK_STATUS(mcsec_seal_open(k, iv, a, al, c, pl, t, out), MCSEC_ERR_VERIFY);
    iv[0] ^= 1;

    /* empty plaintext and empty AAD round trip; a random key and nonce */
    uint8_t rk[32], rn[12];
    CHECK_STATUS(mcsec_random_bytes(rk, 32), MCSEC_OK);
    CHECK_STATUS(mcsec_random_bytes(rn, 12), MCSEC_OK);
    CHECK_STATUS(mcsec_seal(rk, rn, NULL, 0, NULL, 0, NULL, tag), MCSEC_OK);
    CHECK_STATUS(mcsec_seal_open(rk, rn, NULL, 0, NULL, 0, tag, NULL), MCSEC_OK);
    tag[0] ^= 1;
    CHECK_STATUS(mcsec_seal_open(rk, rn, NULL, 0, NULL, 0, tag, NULL), MCSEC_ERR_VERIFY);
    CHECK_STATUS(mcsec_seal(NULL, rn, NULL, 0, p, pl, out, tag), MCSEC_ERR_BAD_INPUT);
    CHECK_STATUS(mcsec_seal(rk, rn, NULL, 4, p, pl, out, tag), MCSEC_ERR_BAD_INPUT);
}

static void test_write_file(void)
{
    char dir[] = "/tmp/mcsec-seal.XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char path[128];
    snprintf(path, sizeof path, "%s/f", dir);
    static const uint8_t one[] = "first", two[] = "second";
    CHECK_STATUS(mcsec_seal_write_file(path, one, sizeof one, 0600, 1), MCSEC_OK);
    struct stat st;
    CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600 && st.st_size == sizeof one);
    /* no_replace refuses an existing file and leaves it alone */
    errno = 0;
    CHECK_STATUS(mcsec_seal_write_file(path, two, sizeof two, 0600, 1), MCSEC_ERR_IO);
    CHECK(errno == EEXIST);
    CHECK(stat(path, &st) == 0 && st.st_size == sizeof one);
    CHECK_STATUS(mcsec_seal_write_file(path, two, sizeof two, 0640, 0), MCSEC_OK);
    CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0640 && st.st_size == sizeof two);
    char missing[160];
    snprintf(missing, sizeof missing, "%s/no/such/dir", dir);
    CHECK_STATUS(mcsec_seal_write_file(missing, one, sizeof one, 0600, 0), MCSEC_ERR_IO);
    CHECK_STATUS(mcsec_seal_write_file("", one, sizeof one, 0600, 0), MCSEC_ERR_BAD_INPUT);
    /* nothing but the file is left: no temporary files */
    char cmd[200];
    snprintf(cmd, sizeof cmd, "test $(ls -A %s | wc -l) -eq 1", dir);
    CHECK(system(cmd) == 0);
    unlink(path);
    rmdir(dir);
}

int main(void)
{
    vec = test_read_file("seal.txt");
    test_scrypt();
    test_hkdf();
    test_gcm();
    test_write_file();
    free(vec);
    return test_summary();
}
