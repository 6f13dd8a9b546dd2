/* Handset keystore: round trips of every record kind through a reopened store, wrong
 * passphrase, tampered / truncated / swapped records and store.meta (exact statuses), file
 * modes, no secret in clear on disk, current-GMK selection, listing, bad arguments, and the
 * passphrase sources. Stores use a low scrypt cost (N = 2^10) except one at the default. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/sha.h>

#include "../../client/internal.h" /* not crypto/internal.h, first on the path */
#include "mcsec/keystore.h"
#include "mcsec/secmem.h"
#include "test.h"

#define LOGN 10
static const char PASS[] = "correct horse battery staple";
#define PASS_LEN (sizeof PASS - 1)
static char base[64];

static char *pathf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Transient paths only: the result is overwritten by the fourth call after. */
static char *pathf(const char *fmt, ...) {
    static char buf[4][1024];
    static int k;
    char *p = buf[k++ & 3];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p, 1024, fmt, ap);
    va_end(ap);
    return p;
}

static size_t slurp(const char *path, uint8_t *buf, size_t cap) {
    FILE *f = fopen(path, "rb");
    if (f == NULL) return 0;
    size_t n = fread(buf, 1, cap, f);
    fclose(f);
    return n;
}

static void spit(const char *path, const uint8_t *buf, size_t len) {
    FILE *f = fopen(path, "wb");
    CHECK(f != NULL);
    if (f != NULL) {
        CHECK(fwrite(buf, 1, len, f) == len);
        fclose(f);
    }
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw) {
    (void)st, (void)flag, (void)ftw;
    return remove(p);
}

static void rm_rf(const char *dir) {
    nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void fill(uint8_t *p, size_t n, uint8_t seed) {
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(seed + 31 * i + (i >> 3));
}

static mcsec_kms_params_t make_kms(void) {
    mcsec_kms_params_t k;
    memset(&k, 0, sizeof k);
    strcpy(k.kms_uri, "kms.example.org");
    k.user_id_format = 2;
    k.key_period = 2592000;
    k.key_period_offset = 3600;
    fill(k.Z, sizeof k.Z, 1);
    k.Z[0] = 4;
    fill(k.kpak, sizeof k.kpak, 2);
    k.kpak[0] = 4;
    return k;
}

static mcsec_keyset_t make_keyset(uint64_t period_no) {
    mcsec_keyset_t k;
    memset(&k, 0, sizeof k);
    strcpy(k.user_uri, "sip:alice@example.org");
    fill(k.uid, sizeof k.uid, (uint8_t)(3 + period_no));
    k.period_no = period_no;
    fill(k.rsk, sizeof k.rsk, (uint8_t)(4 + period_no));
    fill(k.ssk, sizeof k.ssk, (uint8_t)(5 + period_no));
    fill(k.pvt, sizeof k.pvt, (uint8_t)(6 + period_no));
    return k;
}

static mcsec_gmk_record_t make_gmk(uint32_t id, const char *group, uint64_t ts) {
    mcsec_gmk_record_t g;
    memset(&g, 0, sizeof g);
    snprintf(g.group_uri, sizeof g.group_uri, "%s", group);
    fill(g.gmk, sizeof g.gmk, (uint8_t)(7 + id));
    g.gmk_id = id;
    g.guk_id = id ^ 0x0abcdef1u;
    g.activation = 0;
    g.expiry = 0;
    g.status = 0;
    g.mikey_timestamp = ts;
    return g;
}

/* A fresh store with every record kind: KMS, key sets 0, 7, UINT64_MAX, GMKs 1, 2, 0x0fffffff. */
static mcsec_keystore_t *fresh_store(const char *dir) {
    mcsec_keystore_t *ks = NULL;
    CHECK_STATUS(mcsec_keystore_create_with_cost(dir, PASS, PASS_LEN, LOGN, 8, 1), MCSEC_OK);
    CHECK_STATUS(mcsec_keystore_open(&ks, dir, PASS, PASS_LEN), MCSEC_OK);
    if (ks == NULL) return NULL;
    mcsec_kms_params_t kms = make_kms();
    CHECK_STATUS(mcsec_keystore_put_kms(ks, &kms), MCSEC_OK);
    uint64_t periods[] = {0, 7, UINT64_MAX};
    for (size_t i = 0; i < 3; i++) {
        mcsec_keyset_t k = make_keyset(periods[i]);
        CHECK_STATUS(mcsec_keystore_put_keyset(ks, &k), MCSEC_OK);
    }
    uint32_t ids[] = {1, 2, 0x0fffffff};
    for (size_t i = 0; i < 3; i++) {
        mcsec_gmk_record_t g = make_gmk(ids[i], "group:fire@example.org", 100 + i);
        CHECK_STATUS(mcsec_keystore_put_gmk(ks, &g), MCSEC_OK);
    }
    return ks;
}

static void check_contents(mcsec_keystore_t *ks) {
    mcsec_kms_params_t kms, kms_want = make_kms();
    CHECK_STATUS(mcsec_keystore_get_kms(ks, &kms), MCSEC_OK);
    CHECK_MEM(&kms, &kms_want, sizeof kms);

    uint64_t periods[4] = {0}, want_p[] = {0, 7, UINT64_MAX};
    size_t n = 99;
    CHECK_STATUS(mcsec_keystore_list_periods(ks, periods, 4, &n), MCSEC_OK);
    CHECK(n == 3);
    CHECK_MEM(periods, want_p, sizeof want_p);
    for (size_t i = 0; i < 3; i++) {
        mcsec_keyset_t k, want = make_keyset(want_p[i]);
        CHECK_STATUS(mcsec_keystore_get_keyset(ks, want_p[i], &k), MCSEC_OK);
        CHECK_MEM(&k, &want, sizeof k);
    }

    uint32_t ids[4] = {0}, want_ids[] = {1, 2, 0x0fffffff};
    CHECK_STATUS(mcsec_keystore_list_gmks(ks, ids, 4, &n), MCSEC_OK);
    CHECK(n == 3);
    CHECK_MEM(ids, want_ids, sizeof want_ids);
    for (size_t i = 0; i < 3; i++) {
        mcsec_gmk_record_t g, want = make_gmk(want_ids[i], "group:fire@example.org", 100 + i);
        CHECK_STATUS(mcsec_keystore_get_gmk(ks, want_ids[i], &g), MCSEC_OK);
        CHECK_MEM(&g, &want, sizeof g);
    }
}

static void test_round_trip(void) {
    char dir[512];
    snprintf(dir, sizeof dir, "%s/rt", base);
    mcsec_keystore_t *ks = NULL;
    CHECK_STATUS(mcsec_keystore_create_with_cost(dir, PASS, PASS_LEN, LOGN, 8, 1), MCSEC_OK);
    CHECK_STATUS(mcsec_keystore_open(&ks, dir, PASS, PASS_LEN), MCSEC_OK);

    /* Empty store. */
    mcsec_kms_params_t kms;
    mcsec_keyset_t k;
    mcsec_gmk_record_t g;
    size_t n = 99;
    CHECK_STATUS(mcsec_keystore_get_kms(ks, &kms), MCSEC_ERR_UNKNOWN_KEY);
    CHECK(strlen(mcsec_keystore_last_error()) > 0);
    CHECK_STATUS(mcsec_keystore_get_keyset(ks, 1, &k), MCSEC_ERR_KEY_PERIOD);
    CHECK_STATUS(mcsec_keystore_get_gmk(ks, 1, &g), MCSEC_ERR_UNKNOWN_KEY);
    CHECK_STATUS(mcsec_keystore_list_periods(ks, NULL, 0, &n), MCSEC_OK);
    CHECK(n == 0);
    CHECK_STATUS(mcsec_keystore_list_gmks(ks, NULL, 0, &n), MCSEC_OK);
    CHECK(n == 0);
    mcsec_keystore_close(ks);
    rm_rf(dir);

    /* Full store, then the same through a second handle and after reopening. */
    ks = fresh_store(dir);
    check_contents(ks);
    mcsec_keystore_t *ks2 = NULL;
    CHECK_STATUS(mcsec_keystore_open(&ks2, dir, PASS, PASS_LEN), MCSEC_OK);
    check_contents(ks2);
    mcsec_keystore_close(ks2);
    mcsec_keystore_close(ks);
    ks = NULL;
    CHECK_STATUS(mcsec_keystore_open(&ks, dir, PASS, PASS_LEN), MCSEC_OK);
    check_contents(ks);

    /* Missing entries; list size negotiation. */
    CHECK_STATUS(mcsec_keystore_get_keyset(ks, 8, &k), MCSEC_ERR_KEY_PERIOD);
    CHECK(strstr(mcsec_keystore_last_error(), "period 8") != NULL);
    CHECK_STATUS(mcsec_keystore_get_gmk(ks, 3, &g), MCSEC_ERR_UNKNOWN_KEY);
    uint64_t periods[2] = {0};
    CHECK_STATUS(mcsec_keystore_list_periods(ks, NULL, 0, &n), MCSEC_ERR_BAD_LENGTH);
    CHECK(n == 3);
    CHECK_STATUS(mcsec_keystore_list_periods(ks, periods, 2, &n), MCSEC_ERR_BAD_LENGTH);
    CHECK(n == 3 && periods[0] == 0 && periods[1] == 7);
    uint32_t ids[1];
    CHECK_STATUS(mcsec_keystore_list_gmks(ks, ids, 1, &n), MCSEC_ERR_BAD_LENGTH);
    CHECK(n == 3 && ids[0] == 1);

    /* Overwrite replaces; the longest URI round-trips; a failed get zeroes its output. */
    k = make_keyset(7);
    k.ssk[0] ^= 0xff;
    memset(k.user_uri, 'u', MCSEC_KEYSTORE_URI_MAX - 1);
    k.user_uri[MCSEC_KEYSTORE_URI_MAX - 1] = 0;
    CHECK_STATUS(mcsec_keystore_put_keyset(ks, &k), MCSEC_OK);
    mcsec_keyset_t got;
    CHECK_STATUS(mcsec_keystore_get_keyset(ks, 7, &got), MCSEC_OK);
    CHECK_MEM(&got, &k, sizeof k);
    CHECK_STATUS(mcsec_keystore_get_keyset(ks, 9, &got), MCSEC_ERR_KEY_PERIOD);
    uint8_t zero[sizeof got];
    memset(zero, 0, sizeof zero);
    CHECK_MEM(&got, zero, sizeof got);

    /* Bad records are refused before anything is written. */
    k.user_uri[0] = 0;
    CHECK_STATUS(mcsec_keystore_put_keyset(ks, &k), MCSEC_ERR_BAD_INPUT);
    memset(k.user_uri, 'u', sizeof k.user_uri); /* unterminated */
    CHECK_STATUS(mcsec_keystore_put_keyset(ks, &k), MCSEC_ERR_BAD_INPUT);
    kms = make_kms();
    kms.key_period = 0;
    CHECK_STATUS(mcsec_keystore_put_kms(ks, &kms), MCSEC_ERR_BAD_INPUT);
    kms = make_kms();
    kms.kms_uri[0] = 0;
    CHECK_STATUS(mcsec_keystore_put_kms(ks, &kms), MCSEC_ERR_BAD_INPUT);
    g = make_gmk(0x10000001, "group:x", 1); /* purpose tag 1: a PCK id */
    CHECK_STATUS(mcsec_keystore_put_gmk(ks, &g), MCSEC_ERR_PURPOSE);
    g = make_gmk(5, "", 1);
    CHECK_STATUS(mcsec_keystore_put_gmk(ks, &g), MCSEC_ERR_BAD_INPUT);
    CHECK_STATUS(mcsec_keystore_list_gmks(ks, NULL, 0, &n), MCSEC_ERR_BAD_LENGTH);
    CHECK(n == 3);
    CHECK_STATUS(mcsec_keystore_get_kms(ks, &kms), MCSEC_OK);
    CHECK(kms.key_period == 2592000);
    mcsec_keystore_close(ks);
    rm_rf(dir);
}

/* The KMS credential record: round trip, absent, bad fields refused, tampering detected. */
static void test_device(void) {
    char dir[512], path[600];
    snprintf(dir, sizeof dir, "%s/dev", base);
    mcsec_keystore_t *ks = NULL;
    mcsec_device_cred_t c, got;
    CHECK_STATUS(mcsec_keystore_create_with_cost(dir, PASS, PASS_LEN, LOGN, 8, 1), MCSEC_OK);
    CHECK_STATUS(mcsec_keystore_open(&ks, dir, PASS, PASS_LEN), MCSEC_OK);
    CHECK_STATUS(mcsec_keystore_get_device(ks, &got), MCSEC_ERR_UNKNOWN_KEY);
    CHECK(strstr(mcsec_keystore_last_error(), "mcsec provision") != NULL);

    memset(&c, 0, sizeof c);
    snprintf(c.user_uri, sizeof c.user_uri, "sip:alice@example.org");
    snprintf(c.role, sizeof c.role, "handset");
    snprintf(c.device_public, sizeof c.device_public, "%s", "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7");
    snprintf(c.device_secret, sizeof c.device_secret, "%s", "JTKVSB%%)wK0E.X)V>+}o?pNmC{O&4W4b!Ni{Lh6");
    snprintf(c.kms_public, sizeof c.kms_public, "%s", "Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID");
    snprintf(c.kms_endpoint, sizeof c.kms_endpoint, "tcp://127.0.0.1:7001");
    CHECK_STATUS(mcsec_keystore_put_device(ks, &c), MCSEC_OK);
    CHECK_STATUS(mcsec_keystore_get_device(ks, &got), MCSEC_OK);
    CHECK_MEM(&got, &c, sizeof c);
    memset(c.kms_endpoint, 0, sizeof c.kms_endpoint); /* an empty endpoint is allowed */
    CHECK_STATUS(mcsec_keystore_put_device(ks, &c), MCSEC_OK);
    CHECK_STATUS(mcsec_keystore_get_device(ks, &got), MCSEC_OK);
    CHECK_MEM(&got, &c, sizeof c);

    mcsec_device_cred_t bad = c;
    bad.device_secret[39] = 0; /* 39 characters */
    CHECK_STATUS(mcsec_keystore_put_device(ks, &bad), MCSEC_ERR_BAD_INPUT);
    bad = c;
    bad.kms_public[5] = ' '; /* not Z85 */
    CHECK_STATUS(mcsec_keystore_put_device(ks, &bad), MCSEC_ERR_BAD_INPUT);
    bad = c;
    bad.role[0] = 0;
    CHECK_STATUS(mcsec_keystore_put_device(ks, &bad), MCSEC_ERR_BAD_INPUT);
    bad = c;
    bad.user_uri[0] = 0;
    CHECK_STATUS(mcsec_keystore_put_device(ks, &bad), MCSEC_ERR_BAD_INPUT);
    CHECK_STATUS(mcsec_keystore_get_device(ks, &got), MCSEC_OK); /* unchanged */
    CHECK_MEM(&got, &c, sizeof c);

    /* The secret is not in the file in clear; a flipped octet fails authentication. */
    snprintf(path, sizeof path, "%s/device.cred", dir);
    uint8_t buf[4096];
    size_t n = 0;
    FILE *f = fopen(path, "rb");
    CHECK(f != NULL);
    if (f != NULL) {
        n = fread(buf, 1, sizeof buf, f);
        fclose(f);
    }
    CHECK(n > 100 && memmem(buf, n, c.device_secret, 40) == NULL);
    buf[n / 2] ^= 1;
    f = fopen(path, "wb");
    CHECK(f != NULL && fwrite(buf, 1, n, f) == n);
    if (f != NULL) fclose(f);
    CHECK_STATUS(mcsec_keystore_get_device(ks, &got), MCSEC_ERR_VERIFY);
    mcsec_keystore_close(ks);
    rm_rf(dir);
}

/* A device record plaintext as keystore_records.c writes it, with the role given as octets. */
static size_t device_plaintext(uint8_t *p, const char *role, size_t role_len, const char *key) {
    static const char uri[] = "sip:alice@example.org", ep[] = "tcp://127.0.0.1:7001";
    size_t n = 0;
    p[n++] = 0, p[n++] = (uint8_t)(sizeof uri - 1);
    memcpy(p + n, uri, sizeof uri - 1), n += sizeof uri - 1;
    p[n++] = 0, p[n++] = (uint8_t)role_len;
    memcpy(p + n, role, role_len), n += role_len;
    for (int i = 0; i < 3; i++)
        memcpy(p + n, key, 40), n += 40;
    p[n++] = 0, p[n++] = (uint8_t)(sizeof ep - 1);
    memcpy(p + n, ep, sizeof ep - 1), n += sizeof ep - 1;
    return n;
}

/* Authentic device records the put would not write (found by fuzz_keystore: a NUL inside the
 * role was cut off silently) are malformed: MCSEC_ERR_VERIFY, output zeroed. */
static void test_device_malformed(void) {
    static const char key[] = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7";
    static const char zero[sizeof(mcsec_device_cred_t)];
    char dir[512];
    uint8_t pt[512];
    mcsec_keystore_t *ks = NULL;
    mcsec_device_cred_t got;
    snprintf(dir, sizeof dir, "%s/devbad", base);
    CHECK_STATUS(mcsec_keystore_create_with_cost(dir, PASS, PASS_LEN, LOGN, 8, 1), MCSEC_OK);
    CHECK_STATUS(mcsec_keystore_open(&ks, dir, PASS, PASS_LEN), MCSEC_OK);
    if (ks == NULL) return;
    size_t n = device_plaintext(pt, "handset", 7, key);
    CHECK_STATUS(mcsec_ks_write_record(ks, MCSEC_KS_DEVICE_NAME, MCSEC_KS_KIND_DEVICE, pt, n),
                 MCSEC_OK);
    CHECK_STATUS(mcsec_keystore_get_device(ks, &got), MCSEC_OK); /* the encoding is right */
    CHECK(strcmp(got.role, "handset") == 0 && strcmp(got.kms_public, key) == 0);
    char bad_key[41];
    memcpy(bad_key, key, sizeof bad_key);
    bad_key[7] = ' ';
    struct {
        const char *role;
        size_t role_len;
        const char *key;
    } cases[] = {{"hand\0set", 8, key}, {"", 0, key}, {"handset", 7, bad_key}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        n = device_plaintext(pt, cases[i].role, cases[i].role_len, cases[i].key);
        CHECK_STATUS(
            mcsec_ks_write_record(ks, MCSEC_KS_DEVICE_NAME, MCSEC_KS_KIND_DEVICE, pt, n),
            MCSEC_OK);
        memset(&got, 0x55, sizeof got);
        CHECK_STATUS(mcsec_keystore_get_device(ks, &got), MCSEC_ERR_VERIFY);
        CHECK(memcmp(&got, zero, sizeof got) == 0);
        CHECK(strstr(mcsec_keystore_last_error(), "malformed") != NULL);
    }
    mcsec_keystore_close(ks);
    rm_rf(dir);
}

static void test_wrong_passphrase(void) {
    char dir[512];
    snprintf(dir, sizeof dir, "%s/pw", base);
    mcsec_keystore_t *ks = (mcsec_keystore_t *)1;
    CHECK_STATUS(mcsec_keystore_create_with_cost(dir, PASS, PASS_LEN, LOGN, 8, 1), MCSEC_OK);
    CHECK_STATUS(mcsec_keystore_open(&ks, dir, "wrong", 5), MCSEC_ERR_PASSPHRASE);
    CHECK(ks == NULL);
    CHECK(strstr(mcsec_keystore_last_error(), "wrong passphrase") != NULL);
    CHECK_STATUS(mcsec_keystore_open(&ks, dir, PASS, PASS_LEN - 1), MCSEC_ERR_PASSPHRASE);
    char longer[64];
    snprintf(longer, sizeof longer, "%s!", PASS);
    CHECK_STATUS(mcsec_keystore_open(&ks, dir, longer, PASS_LEN + 1), MCSEC_ERR_PASSPHRASE);
    CHECK_STATUS(mcsec_keystore_open(&ks, dir, PASS, PASS_LEN), MCSEC_OK);
    mcsec_keystore_close(ks);
    rm_rf(dir);
}

static int mode_errors;
static int check_mode(const char *p, const struct stat *st, int flag, struct FTW *ftw) {
    (void)ftw;
    mode_t m = st->st_mode & 07777;
    if ((flag == FTW_D && m != 0700) || (flag == FTW_F && m != 0600) ||
        (flag != FTW_D && flag != FTW_F)) {
        fprintf(stderr, "%s: mode %04o\n", p, (unsigned)m);
        mode_errors++;
    }
    return 0;
}

/* The secrets that must never be found in a file, and some public fields that are sealed too. */
static const uint8_t *needles[8];
static size_t needle_len[8], n_needles, files_scanned;
static int leaks;
static int scan_file(const char *p, const struct stat *st, int flag, struct FTW *ftw) {
    (void)st, (void)ftw;
    if (flag != FTW_F) return 0;
    static uint8_t buf[1 << 16];
    size_t n = slurp(p, buf, sizeof buf);
    files_scanned++;
    for (size_t k = 0; k < n_needles; k++)
        if (memmem(buf, n, needles[k], needle_len[k]) != NULL) {
            fprintf(stderr, "%s contains secret %zu in clear\n", p, k);
            leaks++;
        }
    return 0;
}

static void test_files_on_disk(void) {
    char dir[512];
    snprintf(dir, sizeof dir, "%s/fs", base);
    mcsec_keystore_t *ks = fresh_store(dir);
    mcsec_keystore_close(ks);

    /* Modes: 0700 directories, 0600 files, nothing else (no symlinks, no leftovers). */
    mode_errors = 0;
    CHECK(nftw(dir, check_mode, 16, FTW_PHYS) == 0);
    CHECK(mode_errors == 0);
    struct stat st;
    CHECK(stat(pathf("%s/gmk/00000001.gmk", dir), &st) == 0 && (st.st_mode & 0777) == 0600);
    CHECK(stat(pathf("%s/keys/00000000000000000007.keyset", dir), &st) == 0);
    CHECK(stat(pathf("%s/kms.params", dir), &st) == 0 && (st.st_mode & 0777) == 0600);
    CHECK(stat(pathf("%s/store.meta", dir), &st) == 0 && st.st_size == MCSEC_KS_META_LEN);

    /* No secret (nor the passphrase, nor even a URI) appears in clear. */
    mcsec_gmk_record_t g = make_gmk(2, "group:fire@example.org", 101);
    mcsec_keyset_t k = make_keyset(7);
    needles[0] = g.gmk, needle_len[0] = sizeof g.gmk;
    needles[1] = k.ssk, needle_len[1] = sizeof k.ssk;
    needles[2] = k.rsk + 1, needle_len[2] = 32;
    needles[3] = (const uint8_t *)PASS, needle_len[3] = 8;
    needles[4] = (const uint8_t *)"fire@example", needle_len[4] = 12;
    needles[5] = (const uint8_t *)"alice", needle_len[5] = 5;
    needles[6] = k.ssk + 16, needle_len[6] = 8;
    n_needles = 7;
    leaks = 0;
    files_scanned = 0;
    CHECK(nftw(dir, scan_file, 16, FTW_PHYS) == 0);
    CHECK(leaks == 0);
    CHECK(files_scanned == 8); /* store.meta, kms.params, 3 key sets, 3 GMKs */

    /* An existing directory with loose permissions is refused on open, tightened on create. */
    CHECK(chmod(dir, 0750) == 0);
    CHECK_STATUS(mcsec_keystore_open(&ks, dir, PASS, PASS_LEN), MCSEC_ERR_IO);
    CHECK(strstr(mcsec_keystore_last_error(), "chmod 700") != NULL);
    CHECK(chmod(dir, 0700) == 0);
    char fresh[512];
    snprintf(fresh, sizeof fresh, "%s/loose", base);
    CHECK(mkdir(fresh, 0755) == 0);
    CHECK_STATUS(mcsec_keystore_create_with_cost(fresh, PASS, PASS_LEN, LOGN, 8, 1), MCSEC_OK);
    CHECK(stat(fresh, &st) == 0 && (st.st_mode & 0777) == 0700);
    rm_rf(fresh);
    rm_rf(dir);
}

/* Flips one bit of a record file at off, expects status on get, and restores the file. */
static void flip_and_check(const char *path, size_t off, mcsec_status_t want,
                           mcsec_status_t (*get)(mcsec_keystore_t *), mcsec_keystore_t *ks) {
    uint8_t orig[4096], buf[4096];
    size_t n = slurp(path, orig, sizeof orig);
    CHECK(n > off);
    memcpy(buf, orig, n);
    buf[off] ^= 0x01;
    spit(path, buf, n);
    mcsec_status_t rc = get(ks);
    if (rc != want) fprintf(stderr, "  flip at offset %zu of %s\n", off, path);
    CHECK_STATUS(rc, want);
    spit(path, orig, n);
    CHECK_STATUS(get(ks), MCSEC_OK);
}

static mcsec_status_t get_gmk2(mcsec_keystore_t *ks) {
    mcsec_gmk_record_t g;
    mcsec_status_t rc = mcsec_keystore_get_gmk(ks, 2, &g);
    mcsec_memzero(&g, sizeof g);
    return rc;
}

static mcsec_status_t get_keyset7(mcsec_keystore_t *ks) {
    mcsec_keyset_t k;
    return mcsec_keystore_get_keyset(ks, 7, &k);
}

static mcsec_status_t get_kms(mcsec_keystore_t *ks) {
    mcsec_kms_params_t k;
    return mcsec_keystore_get_kms(ks, &k);
}

static mcsec_status_t current_fire(mcsec_keystore_t *ks) {
    mcsec_gmk_record_t g;
    return mcsec_keystore_current_gmk(ks, "group:fire@example.org", 1ull << 40, &g);
}

static mcsec_status_t open_store(mcsec_keystore_t *unused) {
    (void)unused;
    mcsec_keystore_t *ks = NULL;
    mcsec_status_t rc = mcsec_keystore_open(&ks, pathf("%s/tm", base), PASS, PASS_LEN);
    mcsec_keystore_close(ks);
    return rc;
}

static void test_tamper(void) {
    char dir[512];
    snprintf(dir, sizeof dir, "%s/tm", base);
    mcsec_keystore_t *ks = fresh_store(dir);
    char gmk2[1024], gmk1[1024], ks7[1024], ks0[1024], kmsp[1024], meta[1024];
    snprintf(gmk1, sizeof gmk1, "%s/gmk/00000001.gmk", dir);
    snprintf(gmk2, sizeof gmk2, "%s/gmk/00000002.gmk", dir);
    snprintf(ks7, sizeof ks7, "%s/keys/00000000000000000007.keyset", dir);
    snprintf(ks0, sizeof ks0, "%s/keys/00000000000000000000.keyset", dir);
    snprintf(kmsp, sizeof kmsp, "%s/kms.params", dir);
    snprintf(meta, sizeof meta, "%s/store.meta", dir);
    uint8_t orig[4096], buf[4096];

    /* Any flipped bit of a record: magic, kind, nonce, ciphertext, tag. */
    size_t n = slurp(gmk2, orig, sizeof orig);
    CHECK(n == MCSEC_KS_RECORD_MIN + 2 + strlen("group:fire@example.org") + 52);
    size_t offs[] = {0, 3, 4, 5, 16, 17, 18, 40, n - 17, n - 16, n - 1};
    for (size_t i = 0; i < sizeof offs / sizeof offs[0]; i++)
        flip_and_check(gmk2, offs[i], MCSEC_ERR_VERIFY, get_gmk2, ks);
    for (size_t off = 0; off < n; off += 7) /* and a sweep */
        flip_and_check(gmk2, off, MCSEC_ERR_VERIFY, get_gmk2, ks);
    flip_and_check(gmk2, 60, MCSEC_ERR_VERIFY, current_fire, ks); /* fail closed */
    n = slurp(ks7, orig, sizeof orig);
    size_t koffs[] = {0, 4, 10, 17, 100, 300, n - 1};
    for (size_t i = 0; i < sizeof koffs / sizeof koffs[0]; i++)
        flip_and_check(ks7, koffs[i], MCSEC_ERR_VERIFY, get_keyset7, ks);
    n = slurp(kmsp, orig, sizeof orig);
    flip_and_check(kmsp, 4, MCSEC_ERR_VERIFY, get_kms, ks);
    flip_and_check(kmsp, 200, MCSEC_ERR_VERIFY, get_kms, ks);
    flip_and_check(kmsp, n - 1, MCSEC_ERR_VERIFY, get_kms, ks);

    /* Truncation: below header + tag is TRUNCATED, anything longer fails the tag. */
    n = slurp(gmk2, orig, sizeof orig);
    size_t short_lens[] = {0, 1, 4, 5, 16, 17, MCSEC_KS_RECORD_MIN - 1};
    for (size_t i = 0; i < sizeof short_lens / sizeof short_lens[0]; i++) {
        spit(gmk2, orig, short_lens[i]);
        CHECK_STATUS(get_gmk2(ks), MCSEC_ERR_TRUNCATED);
    }
    size_t long_lens[] = {MCSEC_KS_RECORD_MIN, MCSEC_KS_RECORD_MIN + 1, n / 2, n - 16, n - 1};
    for (size_t i = 0; i < sizeof long_lens / sizeof long_lens[0]; i++) {
        spit(gmk2, orig, long_lens[i]);
        CHECK_STATUS(get_gmk2(ks), MCSEC_ERR_VERIFY);
    }
    memcpy(buf, orig, n);
    buf[n] = 0;
    spit(gmk2, buf, n + 1); /* one octet appended */
    CHECK_STATUS(get_gmk2(ks), MCSEC_ERR_VERIFY);
    memset(buf, 0x41, sizeof buf);
    spit(gmk2, buf, MCSEC_KS_RECORD_MAX + 1); /* oversized: refused before reading it all */
    CHECK_STATUS(get_gmk2(ks), MCSEC_ERR_BAD_LENGTH);
    CHECK(unlink(gmk2) == 0);
    CHECK(mkdir(gmk2, 0700) == 0); /* not a regular file */
    CHECK_STATUS(get_gmk2(ks), MCSEC_ERR_IO);
    CHECK(rmdir(gmk2) == 0);
    CHECK(symlink(gmk1, gmk2) == 0); /* symlinks are not followed */
    CHECK_STATUS(get_gmk2(ks), MCSEC_ERR_IO);
    CHECK(unlink(gmk2) == 0);
    spit(gmk2, orig, n);
    CHECK_STATUS(get_gmk2(ks), MCSEC_OK);

    /* Swaps: a record under another record's name, of the same or another kind. */
    size_t n1 = slurp(gmk1, buf, sizeof buf);
    CHECK(rename(gmk1, gmk2) == 0);
    CHECK_STATUS(get_gmk2(ks), MCSEC_ERR_VERIFY);
    CHECK(strstr(mcsec_keystore_last_error(), "renamed") != NULL);
    mcsec_gmk_record_t g;
    CHECK_STATUS(mcsec_keystore_get_gmk(ks, 1, &g), MCSEC_ERR_UNKNOWN_KEY);
    spit(gmk1, buf, n1);
    spit(gmk2, orig, n);
    CHECK_STATUS(get_gmk2(ks), MCSEC_OK);
    CHECK_STATUS(mcsec_keystore_get_gmk(ks, 1, &g), MCSEC_OK);
    n = slurp(ks0, buf, sizeof buf);
    uint8_t k7[4096];
    size_t n7 = slurp(ks7, k7, sizeof k7);
    spit(ks7, buf, n);
    CHECK_STATUS(get_keyset7(ks), MCSEC_ERR_VERIFY);
    spit(ks7, k7, n7);
    CHECK_STATUS(get_keyset7(ks), MCSEC_OK);
    uint8_t kp[4096];
    size_t nkp = slurp(kmsp, kp, sizeof kp);
    spit(kmsp, k7, n7); /* a key set where the KMS parameters belong: wrong kind */
    CHECK_STATUS(get_kms(ks), MCSEC_ERR_VERIFY);
    spit(kmsp, kp, nkp);
    CHECK_STATUS(get_kms(ks), MCSEC_OK);

    /* store.meta: exact statuses for each kind of damage. */
    uint8_t m[256], mm[256];
    size_t mn = slurp(meta, m, sizeof m);
    CHECK(mn == MCSEC_KS_META_LEN);
    size_t mlens[] = {0, 3, 4, 50, MCSEC_KS_META_LEN - 1};
    for (size_t i = 0; i < sizeof mlens / sizeof mlens[0]; i++) {
        spit(meta, m, mlens[i]);
        CHECK_STATUS(open_store(NULL), MCSEC_ERR_TRUNCATED);
    }
    memcpy(mm, m, mn);
    mm[mn] = 0x0a;
    spit(meta, mm, mn + 1);
    CHECK_STATUS(open_store(NULL), MCSEC_ERR_TRAILING_DATA);
    spit(meta, m, mn);
    for (size_t off = 0; off < mn; off += 5) /* any flipped bit: not a wrong passphrase */
        flip_and_check(meta, off, MCSEC_ERR_VERIFY, open_store, NULL);
    flip_and_check(meta, mn - 1, MCSEC_ERR_VERIFY, open_store, NULL);
    /* With the checksum fixed up (deliberate edits): a newer version or an absurd cost is
     * UNSUPPORTED; an edited sealed key is indistinguishable from a wrong passphrase. */
    struct {
        size_t off;
        uint8_t val;
        mcsec_status_t want;
    } edits[] = {
        {4, 2, MCSEC_ERR_UNSUPPORTED},    {5, 2, MCSEC_ERR_UNSUPPORTED},
        {6, 30, MCSEC_ERR_UNSUPPORTED},   {6, 9, MCSEC_ERR_UNSUPPORTED},
        {7, 1, MCSEC_ERR_UNSUPPORTED},    {11, 0, MCSEC_ERR_UNSUPPORTED},
        {15, 0, MCSEC_ERR_UNSUPPORTED},   {8, 0x80, MCSEC_ERR_UNSUPPORTED},
        {6, 11, MCSEC_ERR_PASSPHRASE},    {20, 0x5a, MCSEC_ERR_PASSPHRASE},
        {50, 0x5a, MCSEC_ERR_PASSPHRASE}, {80, 0x5a, MCSEC_ERR_PASSPHRASE},
    };
    for (size_t i = 0; i < sizeof edits / sizeof edits[0]; i++) {
        memcpy(mm, m, mn);
        mm[edits[i].off] = edits[i].val;
        SHA256(mm, MCSEC_KS_META_SUM_OFF, mm + MCSEC_KS_META_SUM_OFF);
        spit(meta, mm, mn);
        mcsec_status_t rc = open_store(NULL);
        if (rc != edits[i].want) fprintf(stderr, "  store.meta edit at %zu\n", edits[i].off);
        CHECK_STATUS(rc, edits[i].want);
        CHECK(strlen(mcsec_keystore_last_error()) > 0);
    }
    memcpy(mm, m, mn);
    memcpy(mm, "MCKR", 4);
    spit(meta, mm, mn);
    CHECK_STATUS(open_store(NULL), MCSEC_ERR_VERIFY);
    spit(meta, m, mn);
    CHECK_STATUS(open_store(NULL), MCSEC_OK);
    mcsec_keystore_close(ks);
    rm_rf(dir);
}

static void test_current_gmk(void) {
    char dir[512];
    snprintf(dir, sizeof dir, "%s/cur", base);
    mcsec_keystore_t *ks = NULL;
    mcsec_gmk_record_t g, out;
    const char *A = "group:a@example.org", *B = "group:b@example.org";
    const uint64_t now = 5000ull << 32;
    CHECK_STATUS(mcsec_keystore_create_with_cost(dir, PASS, PASS_LEN, LOGN, 8, 1), MCSEC_OK);
    CHECK_STATUS(mcsec_keystore_open(&ks, dir, PASS, PASS_LEN), MCSEC_OK);
    CHECK_STATUS(mcsec_keystore_current_gmk(ks, A, now, &out), MCSEC_ERR_UNKNOWN_KEY);

#define PUT(id, grp, ts, act, exp, st)                                                             \
    do {                                                                                           \
        g = make_gmk(id, grp, ts);                                                                 \
        g.activation = (act);                                                                      \
        g.expiry = (exp);                                                                          \
        g.status = (st);                                                                           \
        CHECK_STATUS(mcsec_keystore_put_gmk(ks, &g), MCSEC_OK);                                    \
    } while (0)
#define CURRENT(grp, t, id)                                                                        \
    do {                                                                                           \
        CHECK_STATUS(mcsec_keystore_current_gmk(ks, grp, t, &out), MCSEC_OK);                      \
        CHECK(out.gmk_id == (id));                                                                 \
    } while (0)

    /* Only expired / revoked / future GMKs: EXPIRED, not UNKNOWN_KEY. */
    PUT(0x10, A, 900, 0, now - 1, 0);
    CHECK_STATUS(mcsec_keystore_current_gmk(ks, A, now, &out), MCSEC_ERR_EXPIRED);
    CHECK(out.gmk_id == 0);
    CURRENT(A, now - 2, 0x10);
    PUT(0x11, A, 950, 0, 0, MCSEC_GMK_STATUS_REVOKED);
    PUT(0x12, A, 960, now + 1, 0, 0);
    CHECK_STATUS(mcsec_keystore_current_gmk(ks, A, now, &out), MCSEC_ERR_EXPIRED);

    /* Latest MIKEY timestamp wins, whatever the GMK-ID order or insertion order. */
    PUT(0x20, A, 300, 0, 0, 0);
    PUT(0x05, A, 500, 0, 0, 0);
    PUT(0x30, A, 400, 0, 0, 0);
    PUT(0x40, B, 9999, 0, 0, 0); /* another group */
    CURRENT(A, now, 0x05);
    CHECK_MEM(out.gmk, make_gmk(0x05, A, 500).gmk, MCSEC_GMK_LEN);
    CURRENT(B, now, 0x40);
    CURRENT(A, now + 1, 0x12);  /* the future one becomes active */
    CURRENT(A, now - 2, 0x10);  /* earlier: the expired one was still valid and latest */
    PUT(0x06, A, 500, 0, 0, 0); /* equal timestamp: the higher GMK-ID */
    CURRENT(A, now, 0x06);
    PUT(0x07, A, 500, now, now + 10, 0); /* activation inclusive, expiry exclusive */
    CURRENT(A, now, 0x07);
    CURRENT(A, now + 9, 0x12);
    CURRENT(A, now + 10, 0x12);
    CHECK_STATUS(mcsec_keystore_current_gmk(ks, "group:c@example.org", now, &out),
                 MCSEC_ERR_UNKNOWN_KEY);
    CHECK_STATUS(mcsec_keystore_current_gmk(ks, "group:a@example.or", now, &out),
                 MCSEC_ERR_UNKNOWN_KEY);
    CHECK_STATUS(mcsec_keystore_current_gmk(ks, "", now, &out), MCSEC_ERR_BAD_INPUT);
    CHECK_STATUS(mcsec_keystore_current_gmk(ks, NULL, now, &out), MCSEC_ERR_BAD_INPUT);
    CHECK_STATUS(mcsec_keystore_current_gmk(ks, A, now, NULL), MCSEC_ERR_BAD_INPUT);

    /* Leftovers of an interrupted write and foreign files are ignored by listings. */
    spit(pathf("%s/gmk/.00000005.gmk.tmp.Ab12Cd", dir), (const uint8_t *)"half", 4);
    spit(pathf("%s/gmk/notes.txt", dir), (const uint8_t *)"x", 1);
    spit(pathf("%s/gmk/0000000G.gmk", dir), (const uint8_t *)"x", 1);
    spit(pathf("%s/gmk/000000005.gmk", dir), (const uint8_t *)"x", 1);
    spit(pathf("%s/keys/1.keyset", dir), (const uint8_t *)"x", 1);
    size_t n = 0;
    uint32_t ids[16];
    CHECK_STATUS(mcsec_keystore_list_gmks(ks, ids, 16, &n), MCSEC_OK);
    CHECK(n == 9);
    CHECK(ids[0] == 0x05 && ids[1] == 0x06 && ids[8] == 0x40);
    CHECK_STATUS(mcsec_keystore_list_periods(ks, NULL, 0, &n), MCSEC_OK);
    CHECK(n == 0);
    CURRENT(A, now, 0x07);
    mcsec_keystore_close(ks);
    rm_rf(dir);
#undef PUT
#undef CURRENT
}

static void test_errors(void) {
    mcsec_keystore_t *ks = NULL;
    char dir[512];
    snprintf(dir, sizeof dir, "%s/err", base);
    mcsec_kms_params_t kms = make_kms();
    mcsec_keyset_t k = make_keyset(1);
    mcsec_gmk_record_t g = make_gmk(1, "group:x", 1);
    size_t n;

    /* NULL and out-of-range arguments. */
    CHECK_STATUS(mcsec_keystore_create(NULL, PASS, PASS_LEN), MCSEC_ERR_BAD_INPUT);
    CHECK_STATUS(mcsec_keystore_create("", PASS, PASS_LEN), MCSEC_ERR_BAD_INPUT);
    CHECK_STATUS(mcsec_keystore_create(dir, NULL, 1), MCSEC_ERR_BAD_INPUT);
    CHECK_STATUS(mcsec_keystore_create(dir, PASS, 0), MCSEC_ERR_BAD_LENGTH);
    CHECK_STATUS(mcsec_keystore_create(dir, PASS, MCSEC_PASSPHRASE_MAX + 1), MCSEC_ERR_BAD_LENGTH);
    CHECK_STATUS(mcsec_keystore_create_with_cost(dir, PASS, PASS_LEN, 9, 8, 1),
                 MCSEC_ERR_UNSUPPORTED);
    CHECK_STATUS(mcsec_keystore_create_with_cost(dir, PASS, PASS_LEN, 23, 1, 1),
                 MCSEC_ERR_UNSUPPORTED);
    CHECK_STATUS(mcsec_keystore_create_with_cost(dir, PASS, PASS_LEN, 22, 8, 1),
                 MCSEC_ERR_UNSUPPORTED); /* 4 GiB */
    CHECK_STATUS(mcsec_keystore_create_with_cost(dir, PASS, PASS_LEN, 10, 0, 1),
                 MCSEC_ERR_UNSUPPORTED);
    CHECK_STATUS(mcsec_keystore_create_with_cost(dir, PASS, PASS_LEN, 10, 8, 0),
                 MCSEC_ERR_UNSUPPORTED);
    struct stat st;
    CHECK(stat(dir, &st) != 0); /* nothing created by refused calls */
    CHECK_STATUS(mcsec_keystore_open(NULL, dir, PASS, PASS_LEN), MCSEC_ERR_BAD_INPUT);
    CHECK_STATUS(mcsec_keystore_open(&ks, NULL, PASS, PASS_LEN), MCSEC_ERR_BAD_INPUT);
    CHECK_STATUS(mcsec_keystore_open(&ks, dir, NULL, PASS_LEN), MCSEC_ERR_BAD_INPUT);
    CHECK_STATUS(mcsec_keystore_open(&ks, dir, PASS, 0), MCSEC_ERR_BAD_LENGTH);
    CHECK_STATUS(mcsec_keystore_put_kms(NULL, &kms), MCSEC_ERR_BAD_INPUT);
    CHECK_STATUS(mcsec_keystore_get_kms(NULL, &kms), MCSEC_ERR_BAD_INPUT);
    CHECK_STATUS(mcsec_keystore_put_keyset(NULL, &k), MCSEC_ERR_BAD_INPUT);
    CHECK_STATUS(mcsec_keystore_get_keyset(NULL, 1, &k), MCSEC_ERR_BAD_INPUT);
    CHECK_STATUS(mcsec_keystore_put_gmk(NULL, &g), MCSEC_ERR_BAD_INPUT);
    CHECK_STATUS(mcsec_keystore_get_gmk(NULL, 1, &g), MCSEC_ERR_BAD_INPUT);
    CHECK_STATUS(mcsec_keystore_list_periods(NULL, NULL, 0, &n), MCSEC_ERR_BAD_INPUT);
    CHECK_STATUS(mcsec_keystore_list_gmks(NULL, NULL, 0, &n), MCSEC_ERR_BAD_INPUT);
    CHECK_STATUS(mcsec_keystore_current_gmk(NULL, "g", 0, &g), MCSEC_ERR_BAD_INPUT);
    mcsec_keystore_close(NULL);

    /* Missing directory, missing parent, no store, not a directory, already a store. */
    CHECK_STATUS(mcsec_keystore_open(&ks, dir, PASS, PASS_LEN), MCSEC_ERR_IO);
    CHECK(ks == NULL);
    CHECK(strstr(mcsec_keystore_last_error(), dir) != NULL);
    CHECK(strstr(mcsec_keystore_last_error(), "No such file") != NULL);
    CHECK_STATUS(
        mcsec_keystore_create_with_cost(pathf("%s/no/such", base), PASS, PASS_LEN, LOGN, 8, 1),
        MCSEC_ERR_IO);
    CHECK(strlen(mcsec_keystore_last_error()) > 0);
    CHECK(mkdir(dir, 0700) == 0);
    CHECK_STATUS(mcsec_keystore_open(&ks, dir, PASS, PASS_LEN), MCSEC_ERR_IO);
    CHECK(strstr(mcsec_keystore_last_error(), "no keystore") != NULL ||
          strstr(mcsec_keystore_last_error(), "holds no keystore") != NULL);
    CHECK_STATUS(mcsec_keystore_create_with_cost(dir, PASS, PASS_LEN, LOGN, 8, 1), MCSEC_OK);
    CHECK_STATUS(mcsec_keystore_create_with_cost(dir, PASS, PASS_LEN, LOGN, 8, 1), MCSEC_ERR_IO);
    CHECK(strstr(mcsec_keystore_last_error(), "already holds a keystore") != NULL);
    CHECK_STATUS(mcsec_keystore_open(&ks, pathf("%s/store.meta", dir), PASS, PASS_LEN),
                 MCSEC_ERR_IO);
    CHECK(strstr(mcsec_keystore_last_error(), "not a directory") != NULL);
    /* A store whose record directories vanished still lists (empty) and recreates them. */
    CHECK(rmdir(pathf("%s/gmk", dir)) == 0);
    CHECK_STATUS(mcsec_keystore_open(&ks, dir, PASS, PASS_LEN), MCSEC_OK);
    CHECK_STATUS(mcsec_keystore_list_gmks(ks, NULL, 0, &n), MCSEC_OK);
    CHECK(n == 0);
    g = make_gmk(1, "group:x", 1); /* the failed calls above zeroed g */
    CHECK_STATUS(mcsec_keystore_put_gmk(ks, &g), MCSEC_OK);
    CHECK(stat(pathf("%s/gmk", dir), &st) == 0 && (st.st_mode & 0777) == 0700);
    /* Outputs given NULL. */
    CHECK_STATUS(mcsec_keystore_put_kms(ks, NULL), MCSEC_ERR_BAD_INPUT);
    CHECK_STATUS(mcsec_keystore_get_kms(ks, NULL), MCSEC_ERR_BAD_INPUT);
    CHECK_STATUS(mcsec_keystore_put_keyset(ks, NULL), MCSEC_ERR_BAD_INPUT);
    CHECK_STATUS(mcsec_keystore_get_keyset(ks, 1, NULL), MCSEC_ERR_BAD_INPUT);
    CHECK_STATUS(mcsec_keystore_put_gmk(ks, NULL), MCSEC_ERR_BAD_INPUT);
    CHECK_STATUS(mcsec_keystore_get_gmk(ks, 1, NULL), MCSEC_ERR_BAD_INPUT);
    CHECK_STATUS(mcsec_keystore_list_periods(ks, NULL, 0, NULL), MCSEC_ERR_BAD_INPUT);
    CHECK_STATUS(mcsec_keystore_list_periods(ks, NULL, 3, &n), MCSEC_ERR_BAD_INPUT);
    CHECK_STATUS(mcsec_keystore_list_gmks(ks, NULL, 3, &n), MCSEC_ERR_BAD_INPUT);
    /* An unwritable store: the put fails with IO and leaves no temporary file behind. */
    if (geteuid() != 0) {
        CHECK(chmod(pathf("%s/gmk", dir), 0500) == 0);
        g.gmk_id = 9;
        CHECK_STATUS(mcsec_keystore_put_gmk(ks, &g), MCSEC_ERR_IO);
        CHECK(strstr(mcsec_keystore_last_error(), "gmk") != NULL);
        CHECK(chmod(pathf("%s/gmk", dir), 0700) == 0);
    }
    mcsec_keystore_close(ks);
    rm_rf(dir);
}

static void test_default_cost(void) {
    char dir[512];
    snprintf(dir, sizeof dir, "%s/def", base);
    mcsec_keystore_t *ks = NULL;
    uint8_t m[256];
    CHECK_STATUS(mcsec_keystore_create(dir, PASS, PASS_LEN), MCSEC_OK);
    CHECK(slurp(pathf("%s/store.meta", dir), m, sizeof m) == MCSEC_KS_META_LEN);
    CHECK(memcmp(m, "MCKS", 4) == 0 && m[4] == 1 && m[5] == 1);
    CHECK(m[6] == MCSEC_KEYSTORE_SCRYPT_LOG2N && m[6] >= 15);
    CHECK(m[11] == MCSEC_KEYSTORE_SCRYPT_R && m[15] == MCSEC_KEYSTORE_SCRYPT_P);
    CHECK_STATUS(mcsec_keystore_open(&ks, dir, PASS, PASS_LEN), MCSEC_OK);
    mcsec_gmk_record_t g = make_gmk(1, "group:x", 1), out;
    CHECK_STATUS(mcsec_keystore_put_gmk(ks, &g), MCSEC_OK);
    CHECK_STATUS(mcsec_keystore_get_gmk(ks, 1, &out), MCSEC_OK);
    CHECK_MEM(&out, &g, sizeof g);
    mcsec_keystore_close(ks);
    rm_rf(dir);
}

/* --- Passphrase sources ---------------------------------------------------------------- */

static void pass_file(const char *content, size_t len, const char *want, mcsec_status_t want_rc) {
    char *file = pathf("%s/pass", base);
    char *p = (char *)1;
    size_t n = 99;
    spit(file, (const uint8_t *)content, len);
    CHECK_STATUS(mcsec_passphrase_read(file, NULL, 0, &p, &n), want_rc);
    if (want_rc == MCSEC_OK && p != NULL) {
        CHECK(n == strlen(want) && strcmp(p, want) == 0);
    } else {
        CHECK(p == NULL && n == 0);
        CHECK(strlen(mcsec_keystore_last_error()) > 0);
    }
    mcsec_passphrase_free(p);
    unlink(file);
}

static void test_passphrase(void) {
    char big[MCSEC_PASSPHRASE_MAX + 8];
    pass_file("secret", 6, "secret", MCSEC_OK);
    pass_file("secret\n", 7, "secret", MCSEC_OK);
    pass_file("secret\r\nsecond line\n", 21, "secret", MCSEC_OK);
    pass_file("with spaces \t\n", 14, "with spaces \t", MCSEC_OK);
    pass_file("", 0, NULL, MCSEC_ERR_BAD_LENGTH);
    pass_file("\n", 1, NULL, MCSEC_ERR_BAD_LENGTH);
    pass_file("\r\nsecret\n", 9, NULL, MCSEC_ERR_BAD_LENGTH);
    char want[MCSEC_PASSPHRASE_MAX + 1];
    memset(want, 'p', MCSEC_PASSPHRASE_MAX);
    want[MCSEC_PASSPHRASE_MAX] = 0;
    memset(big, 'p', sizeof big);
    pass_file(big, MCSEC_PASSPHRASE_MAX, want, MCSEC_OK); /* longest, no newline */
    big[MCSEC_PASSPHRASE_MAX] = '\r';
    big[MCSEC_PASSPHRASE_MAX + 1] = '\n';
    pass_file(big, MCSEC_PASSPHRASE_MAX + 2, want, MCSEC_OK);
    memset(big, 'p', sizeof big);
    pass_file(big, MCSEC_PASSPHRASE_MAX + 1, NULL, MCSEC_ERR_BAD_LENGTH);
    pass_file(big, sizeof big, NULL, MCSEC_ERR_BAD_LENGTH);

    char *p = NULL;
    size_t n = 0;
    CHECK_STATUS(mcsec_passphrase_read(pathf("%s/none", base), NULL, 0, &p, &n), MCSEC_ERR_IO);
    CHECK(strstr(mcsec_keystore_last_error(), "none") != NULL);
    CHECK_STATUS(mcsec_passphrase_read(NULL, NULL, 0, NULL, &n), MCSEC_ERR_BAD_INPUT);

    /* The environment, and the file taking precedence over it. */
    CHECK(setenv("MCSEC_PASSPHRASE", "from env", 1) == 0);
    CHECK_STATUS(mcsec_passphrase_read(NULL, NULL, 0, &p, &n), MCSEC_OK);
    CHECK(p != NULL && n == 8 && strcmp(p, "from env") == 0);
    mcsec_passphrase_free(p);
    spit(pathf("%s/pass", base), (const uint8_t *)"from file\n", 10);
    CHECK_STATUS(mcsec_passphrase_read(pathf("%s/pass", base), NULL, 0, &p, &n), MCSEC_OK);
    CHECK(p != NULL && n == 9 && strcmp(p, "from file") == 0);
    mcsec_passphrase_free(p);
    unlink(pathf("%s/pass", base));
    CHECK(setenv("MCSEC_PASSPHRASE", "", 1) == 0);
    CHECK_STATUS(mcsec_passphrase_read(NULL, NULL, 0, &p, &n), MCSEC_ERR_BAD_LENGTH);
    CHECK(strstr(mcsec_keystore_last_error(), "MCSEC_PASSPHRASE") != NULL);
    CHECK(unsetenv("MCSEC_PASSPHRASE") == 0);

    /* No file, no variable, no controlling terminal: a clear error, not a hang. */
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        setsid(); /* drop the controlling terminal */
        mcsec_status_t rc = mcsec_passphrase_read(NULL, NULL, 0, &p, &n);
        int ok = rc == MCSEC_ERR_BAD_INPUT && p == NULL &&
                 strstr(mcsec_keystore_last_error(), "--passphrase-file") != NULL &&
                 strstr(mcsec_keystore_last_error(), "MCSEC_PASSPHRASE") != NULL;
        _exit(ok ? 0 : 1);
    }
    int status = 0;
    CHECK(pid > 0 && waitpid(pid, &status, 0) == pid);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

int main(void) {
    snprintf(base, sizeof base, "/tmp/mcsec-ks-test.XXXXXX");
    if (mkdtemp(base) == NULL) {
        perror("mkdtemp");
        return 2;
    }
    test_errors();
    test_round_trip();
    test_device();
    test_device_malformed();
    test_wrong_passphrase();
    test_files_on_disk();
    test_tamper();
    test_current_gmk();
    test_default_cost();
    test_passphrase();
    rm_rf(base);
    return test_summary();
}
