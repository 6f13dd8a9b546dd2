/* libFuzzer target for the handset keystore loader (client/keystore.c, keystore_records.c) on
 * hostile files, through the public API.
 *
 * One keystore (scrypt N = 2^10) is made once per process in a scratch directory; its store key
 * is then replaced in memory by a fixed one, so that record files sealed by the seed writer
 * authenticate in every run. Input: a selector octet, then the content.
 *   (selector & 7) % 5: 0 kms.params, 1 keys/<PERIOD>.keyset, 2 gmk/<GMK_ID>.gmk, 3 device.cred,
 *                 4 store.meta (of a second directory, opened with mcsec_keystore_open)
 *   selector & 8: records: the content is a record PLAINTEXT, sealed here under the store key
 *                 with the record's header and name (so the decoders behind the
 *                 authentication are reached); else the content is the file as is.
 *                 store.meta: the SHA-256 checksum is put right when the content asks for a
 *                 cheap scrypt cost (N <= 2^11, r <= 4, p = 1), so that the format, cost and
 *                 passphrase checks behind it are reached.
 * The record is read with every getter that reads it (get, list, current GMK). Checks: only the
 * documented statuses, outputs zeroed on failure, and a record that loads is written back by
 * the put of the same kind to the same plaintext (or refused by it). Seeds: corpus/keystore. */
#include "fuzz_util.h"

#include <openssl/sha.h>

#include "../../client/internal.h"
#include "mcsec/keystore.h"
#include "mcsec/seal.h"
#include "mcsec/secmem.h"

#define PASS "fuzz"
#define PERIOD 1500u
#define GMK_ID 0x0a0b0c0du
#define GROUP "sip:fire-north@example.org"
#define NOW_NTP64 (3900000000ull << 32)

static const uint8_t fixed_key[MCSEC_KS_KEY_LEN] = {
    0x6d, 0x63, 0x73, 0x65, 0x63, 0x20, 0x66, 0x75, 0x7a, 0x7a, 0x20, 0x6b, 0x65, 0x79, 0x73, 0x74,
    0x6f, 0x72, 0x65, 0x20, 0x73, 0x74, 0x6f, 0x72, 0x65, 0x20, 0x6b, 0x65, 0x79, 0x20, 0x30, 0x31};
static const uint8_t fixed_nonce[MCSEC_KS_NONCE_LEN] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};

static mcsec_keystore_t *ks;
static char store_dir[600], meta_dir[600];

enum { SEL_KMS, SEL_KEYSET, SEL_GMK, SEL_DEVICE, SEL_META, SEL_KINDS };
#define SEL_SEALED 8

static const char *record_name(int kind, char *buf, size_t cap) {
    switch (kind) {
    case SEL_KMS:
        return MCSEC_KS_KMS_NAME;
    case SEL_KEYSET:
        snprintf(buf, cap, MCSEC_KS_KEYS_DIR "/%020u.keyset", PERIOD);
        return buf;
    case SEL_GMK:
        snprintf(buf, cap, MCSEC_KS_GMK_DIR "/%08x.gmk", GMK_ID);
        return buf;
    default:
        return MCSEC_KS_DEVICE_NAME;
    }
}

static const uint8_t record_kind[] = {MCSEC_KS_KIND_KMS, MCSEC_KS_KIND_KEYSET, MCSEC_KS_KIND_GMK,
                                      MCSEC_KS_KIND_DEVICE};

/* The record file of a plaintext: "MCKR" | kind | nonce | ciphertext | tag, AAD header || name. */
static size_t seal_record(int kind, const char *name, const uint8_t *pt, size_t len, uint8_t *out) {
    uint8_t aad[MCSEC_KS_RECORD_HEADER + 64];
    memcpy(out, MCSEC_KS_RECORD_MAGIC, 4);
    out[4] = record_kind[kind];
    memcpy(out + 5, fixed_nonce, sizeof fixed_nonce);
    memcpy(aad, out, MCSEC_KS_RECORD_HEADER);
    memcpy(aad + MCSEC_KS_RECORD_HEADER, name, strlen(name));
    if (mcsec_seal(fixed_key, fixed_nonce, aad, MCSEC_KS_RECORD_HEADER + strlen(name), pt, len,
                   out + MCSEC_KS_RECORD_HEADER, out + MCSEC_KS_RECORD_HEADER + len) != MCSEC_OK)
        abort();
    return MCSEC_KS_RECORD_MIN + len;
}

/* The plaintext of a record file written by the keystore (for the round trip). */
static size_t open_record(const char *name, uint8_t *pt) {
    static uint8_t file[MCSEC_KS_RECORD_MAX];
    char path[800];
    size_t len = 0;
    uint8_t aad[MCSEC_KS_RECORD_HEADER + 64];
    fuzz_path(path, sizeof path, store_dir, name);
    if (fuzz_read(path, file, sizeof file, &len) != 0 || len < MCSEC_KS_RECORD_MIN) abort();
    size_t ct = len - MCSEC_KS_RECORD_MIN;
    memcpy(aad, file, MCSEC_KS_RECORD_HEADER);
    memcpy(aad + MCSEC_KS_RECORD_HEADER, name, strlen(name));
    if (mcsec_seal_open(fixed_key, file + 5, aad, MCSEC_KS_RECORD_HEADER + strlen(name),
                        file + MCSEC_KS_RECORD_HEADER, ct, file + MCSEC_KS_RECORD_HEADER + ct,
                        pt) != MCSEC_OK)
        abort();
    return ct;
}

static int zero(const void *p, size_t n) {
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++)
        if (b[i] != 0) return 0;
    return 1;
}

/* A getter's result: OK, or a status for a damaged record with the output zeroed and a reason
 * given. */
static void got(mcsec_status_t st, const void *out, size_t len) {
    if (st == MCSEC_OK) return;
    if ((st != MCSEC_ERR_VERIFY && st != MCSEC_ERR_TRUNCATED && st != MCSEC_ERR_BAD_LENGTH) ||
        !zero(out, len) || mcsec_keystore_last_error()[0] == 0)
        abort();
}

/* After a put of the same kind succeeded: the file holds the plaintext we gave. */
static void same_plaintext(mcsec_status_t put, const char *name, const uint8_t *pt, size_t len) {
    static uint8_t back[MCSEC_KS_PLAINTEXT_MAX];
    if (put != MCSEC_OK) return;
    size_t n = open_record(name, back);
    if (n != len || memcmp(back, pt, len) != 0) abort();
}

static void load(int kind, const char *name, const uint8_t *pt, size_t pt_len, int sealed) {
    mcsec_status_t st;
    switch (kind) {
    case SEL_KMS: {
        mcsec_kms_params_t p;
        got(st = mcsec_keystore_get_kms(ks, &p), &p, sizeof p);
        if (st == MCSEC_OK && sealed)
            same_plaintext(mcsec_keystore_put_kms(ks, &p), name, pt, pt_len);
        break;
    }
    case SEL_KEYSET: {
        mcsec_keyset_t k;
        uint64_t periods[2];
        size_t n = 0;
        got(st = mcsec_keystore_get_keyset(ks, PERIOD, &k), &k, sizeof k);
        if (st == MCSEC_OK && (k.period_no != PERIOD || strlen(k.user_uri) == 0)) abort();
        if (st == MCSEC_OK && sealed)
            same_plaintext(mcsec_keystore_put_keyset(ks, &k), name, pt, pt_len);
        mcsec_memzero(&k, sizeof k);
        if (mcsec_keystore_list_periods(ks, periods, 2, &n) != MCSEC_OK || n != 1 ||
            periods[0] != PERIOD)
            abort();
        break;
    }
    case SEL_GMK: {
        mcsec_gmk_record_t g, cur;
        uint32_t ids[2];
        size_t n = 0;
        got(st = mcsec_keystore_get_gmk(ks, GMK_ID, &g), &g, sizeof g);
        if (st == MCSEC_OK && g.gmk_id != GMK_ID) abort();
        if (mcsec_keystore_list_gmks(ks, ids, 2, &n) != MCSEC_OK || n != 1 || ids[0] != GMK_ID)
            abort();
        mcsec_status_t cs = mcsec_keystore_current_gmk(ks, GROUP, NOW_NTP64, &cur);
        if (st != MCSEC_OK
                ? cs != st
                : cs != MCSEC_OK && cs != MCSEC_ERR_EXPIRED && cs != MCSEC_ERR_UNKNOWN_KEY)
            abort();
        if (cs != MCSEC_OK ? !zero(&cur, sizeof cur)
                           : cur.gmk_id != g.gmk_id || strcmp(cur.group_uri, g.group_uri) != 0 ||
                                 memcmp(cur.gmk, g.gmk, sizeof g.gmk) != 0)
            abort();
        if (st == MCSEC_OK && sealed)
            same_plaintext(mcsec_keystore_put_gmk(ks, &g), name, pt, pt_len);
        mcsec_memzero(&g, sizeof g);
        mcsec_memzero(&cur, sizeof cur);
        break;
    }
    default: {
        mcsec_device_cred_t d;
        got(st = mcsec_keystore_get_device(ks, &d), &d, sizeof d);
        if (st == MCSEC_OK && sealed)
            same_plaintext(mcsec_keystore_put_device(ks, &d), name, pt, pt_len);
        mcsec_memzero(&d, sizeof d);
        break;
    }
    }
}

static uint32_t rd32(const uint8_t *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void open_meta(const uint8_t *data, size_t size, int fix) {
    static uint8_t meta[4096];
    char path[800];
    mcsec_keystore_t *k = NULL;
    if (size > sizeof meta) return;
    memcpy(meta, data, size);
    if (fix && size == MCSEC_KS_META_LEN && meta[6] <= 11 && rd32(meta + 8) <= 4 &&
        rd32(meta + 12) == 1)
        SHA256(meta, MCSEC_KS_META_SUM_OFF, meta + MCSEC_KS_META_SUM_OFF);
    fuzz_path(path, sizeof path, meta_dir, MCSEC_KS_META_NAME);
    if (fuzz_write(path, meta, size) != 0) abort();
    mcsec_status_t st = mcsec_keystore_open(&k, meta_dir, PASS, strlen(PASS));
    switch (st) {
    case MCSEC_OK:
        if (k == NULL) abort();
        break;
    case MCSEC_ERR_PASSPHRASE:
    case MCSEC_ERR_TRUNCATED:
    case MCSEC_ERR_TRAILING_DATA:
    case MCSEC_ERR_VERIFY:
    case MCSEC_ERR_UNSUPPORTED:
        if (k != NULL || mcsec_keystore_last_error()[0] == 0) abort();
        break;
    default:
        abort();
    }
    mcsec_keystore_close(k);
}

static void write_seeds(const char *dir);

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc, (void)argv;
    if (mcsec_init() != MCSEC_OK) fuzz_die("mcsec_init");
    fuzz_path(store_dir, sizeof store_dir, fuzz_tmpdir(), "store");
    fuzz_path(meta_dir, sizeof meta_dir, fuzz_tmpdir(), "meta");
    if (mcsec_keystore_create_with_cost(store_dir, PASS, strlen(PASS), 10, 1, 1) != MCSEC_OK ||
        mcsec_keystore_open(&ks, store_dir, PASS, strlen(PASS)) != MCSEC_OK ||
        mkdir(meta_dir, 0700) != 0)
        fuzz_die(mcsec_keystore_last_error());
    memcpy(ks->key, fixed_key, sizeof fixed_key);
    const char *seeds = fuzz_corpus_dir();
    if (seeds != NULL) {
        write_seeds(seeds);
        exit(0);
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static uint8_t file[MCSEC_KS_RECORD_MAX + 64];
    char buf[64], path[800];
    if (size < 1) return 0;
    int sel = data[0], kind = (sel & 7) % SEL_KINDS, sealed = (sel & SEL_SEALED) != 0;
    data++, size--;
    if (kind == SEL_META) {
        open_meta(data, size, sealed);
        return 0;
    }
    const char *name = record_name(kind, buf, sizeof buf);
    fuzz_path(path, sizeof path, store_dir, name);
    if (sealed) {
        if (size > MCSEC_KS_PLAINTEXT_MAX) return 0;
        size_t n = seal_record(kind, name, data, size, file);
        if (fuzz_write(path, file, n) != 0) abort();
    } else {
        if (size > sizeof file) return 0;
        if (fuzz_write(path, data, size) != 0) abort();
    }
    load(kind, name, data, size, sealed);
    if (unlink(path) != 0) abort();
    return 0;
}

/* --- Seeds: real records of each kind, as plaintexts and as files ---------------------------- */

static void seed_record(const char *dir, const char *label, int kind) {
    static uint8_t pt[MCSEC_KS_PLAINTEXT_MAX], file[MCSEC_KS_RECORD_MAX];
    char buf[64], path[800], seed[64];
    size_t len = 0;
    const char *name = record_name(kind, buf, sizeof buf);
    size_t n = open_record(name, pt);
    snprintf(seed, sizeof seed, "%s_plaintext", label);
    fuzz_seed(dir, seed, kind | SEL_SEALED, pt, n);
    fuzz_path(path, sizeof path, store_dir, name);
    if (fuzz_read(path, file, sizeof file, &len) != 0) abort();
    snprintf(seed, sizeof seed, "%s_file", label);
    fuzz_seed(dir, seed, kind, file, len);
    if (unlink(path) != 0) abort();
}

static void write_seeds(const char *dir) {
    mcsec_kms_params_t p;
    mcsec_keyset_t k;
    mcsec_gmk_record_t g;
    mcsec_device_cred_t d;
    memset(&p, 0, sizeof p);
    memset(&k, 0, sizeof k);
    memset(&g, 0, sizeof g);
    memset(&d, 0, sizeof d);
    strcpy(p.kms_uri, "kms.example.org");
    p.user_id_format = 2;
    p.key_period = 2592000;
    p.Z[0] = 4;
    p.kpak[0] = 4;
    for (int i = 1; i < MCSEC_SAKKE_POINT_LEN; i++)
        p.Z[i] = (uint8_t)(i * 7);
    for (int i = 1; i < MCSEC_ECCSI_POINT_LEN; i++)
        p.kpak[i] = (uint8_t)(i * 11);
    strcpy(k.user_uri, "sip:alice@example.org");
    k.period_no = PERIOD;
    for (int i = 0; i < MCSEC_UID_LEN; i++)
        k.uid[i] = (uint8_t)i;
    k.rsk[0] = 4;
    k.pvt[0] = 4;
    k.ssk[31] = 1;
    strcpy(g.group_uri, GROUP);
    g.gmk_id = GMK_ID;
    g.guk_id = 0x01020304;
    g.activation = NOW_NTP64 - (86400ull << 32);
    g.mikey_timestamp = NOW_NTP64 - (3600ull << 32);
    memset(g.gmk, 0x5a, sizeof g.gmk);
    strcpy(d.user_uri, "sip:alice@example.org");
    strcpy(d.role, "handset");
    strcpy(d.device_public, "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7");
    strcpy(d.device_secret, "JTKVSB%%)wK0E.X)V>+}o?pNmC{O&4W4b!Ni{Lh6");
    strcpy(d.kms_public, "Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID");
    strcpy(d.kms_endpoint, "tcp://127.0.0.1:7001");
    if (mcsec_keystore_put_kms(ks, &p) != MCSEC_OK ||
        mcsec_keystore_put_keyset(ks, &k) != MCSEC_OK ||
        mcsec_keystore_put_gmk(ks, &g) != MCSEC_OK || mcsec_keystore_put_device(ks, &d) != MCSEC_OK)
        fuzz_die(mcsec_keystore_last_error());
    seed_record(dir, "kms", SEL_KMS);
    seed_record(dir, "keyset", SEL_KEYSET);
    seed_record(dir, "gmk", SEL_GMK);
    seed_record(dir, "device", SEL_DEVICE);

    /* store.meta of a store created with the passphrase and cost the target opens with. */
    static uint8_t meta[MCSEC_KS_META_LEN + 1];
    char sub[800], path[900];
    size_t len = 0;
    fuzz_path(sub, sizeof sub, fuzz_tmpdir(), "seedmeta");
    if (mcsec_keystore_create_with_cost(sub, PASS, strlen(PASS), 10, 1, 1) != MCSEC_OK)
        fuzz_die(mcsec_keystore_last_error());
    fuzz_path(path, sizeof path, sub, MCSEC_KS_META_NAME);
    if (fuzz_read(path, meta, sizeof meta, &len) != 0) abort();
    fuzz_seed(dir, "meta", SEL_META, meta, len);
    fuzz_seed(dir, "meta_fixed_sum", SEL_META | SEL_SEALED, meta, len);
}
