/* libFuzzer target for handset bundles (include/mcsec/bundle.h, proto/bundle.c) and their
 * consumer in the Group Manager, mcsec_groupmgr_load_bundle.
 *
 * Input: a selector octet, then the content.
 *   selector & 1: the content is the bundle PLAINTEXT (a protobuf HandsetBundle), sealed here
 *                 under the fixed code with a fixed salt and nonce, so that the decoding and
 *                 field checks behind the authentication are reached; else it is the file.
 *   selector & 2: the content is also given to mcsec_bundle_parse_code as a code.
 * The file is opened from memory and from disk (the statuses must agree, and be documented
 * ones), and loaded by a Group Manager made once per process (scratch directory). An opened
 * bundle must hold what bundle.h promises (a known role, 40-character keys, lengths in range).
 * Seeds: corpus/bundle (a handset's and a group manager's bundle from a throw-away KMS, as
 * files and as plaintexts). */
#include "fuzz_util.h"

#include "fuzz_world.h"
#include "mcsec/bundle.h"
#include "mcsec/groupmgr.h"
#include "mcsec/seal.h"
#include "mcsec/secmem.h"

#define CODE "ABCD-EFGH-JKMN-PQRS-TVWX-YZ01-20"
#define INFO "mcsec handset bundle v1" /* docs/protocol.md, "Handset bundle" */
#define SEL_PLAINTEXT 1
#define SEL_CODE 2

static uint8_t code_raw[16];
static mcsec_groupmgr_t *gm;
static char bundle_path[600];

/* "MCSB" | 1 | salt | nonce | E(pt) | tag under the fixed code. */
static size_t seal(const uint8_t *pt, size_t len, uint8_t *out) {
    uint8_t key[MCSEC_SEAL_KEY_LEN];
    memcpy(out, "MCSB", 4);
    out[4] = 1;
    for (int i = 5; i < MCSEC_BUNDLE_HEADER_LEN; i++)
        out[i] = (uint8_t)(0x30 + i);
    if (mcsec_seal_hkdf(code_raw, 16, out + 5, 16, (const uint8_t *)INFO, strlen(INFO), key,
                        sizeof key) != MCSEC_OK ||
        mcsec_seal(key, out + 21, out, MCSEC_BUNDLE_HEADER_LEN, pt, len,
                   out + MCSEC_BUNDLE_HEADER_LEN, out + MCSEC_BUNDLE_HEADER_LEN + len) != MCSEC_OK)
        abort();
    mcsec_memzero(key, sizeof key);
    return MCSEC_BUNDLE_HEADER_LEN + len + MCSEC_SEAL_TAG_LEN;
}

static int z85_40(const char *k) {
    return strlen(k) == MCSEC_BUNDLE_Z85_LEN;
}

static void check_open(mcsec_status_t st, const mcsec_bundle_t *b) {
    switch (st) {
    case MCSEC_OK:
        if (b == NULL || b->user_uri[0] == 0 ||
            (strcmp(b->role, "handset") != 0 && strcmp(b->role, "groupmgr") != 0) ||
            !z85_40(b->device_public) || !z85_40(b->device_secret) || !z85_40(b->kms_public) ||
            b->init_len == 0 || b->init_len > MCSEC_KMSXML_MAX_LEN || b->keyprov_len == 0 ||
            b->keyprov_len > MCSEC_KMSXML_MAX_LEN || b->n_groups > 64 ||
            strlen(b->init_xml) > b->init_len || strlen(b->kms_endpoint) > 255)
            abort();
        for (size_t i = 0; i < b->n_groups; i++)
            if (b->groups[i][0] == 0) abort();
        break;
    case MCSEC_ERR_PASSPHRASE:
    case MCSEC_ERR_TRUNCATED:
    case MCSEC_ERR_VERIFY:
    case MCSEC_ERR_UNSUPPORTED:
    case MCSEC_ERR_BAD_LENGTH:
    case MCSEC_ERR_STRUCTURE:
        if (b != NULL) abort();
        break;
    default:
        abort();
    }
}

static void write_seeds(const char *dir);

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc, (void)argv;
    char dir[600];
    if (mcsec_init() != MCSEC_OK || mcsec_bundle_parse_code(CODE, code_raw) != MCSEC_OK)
        fuzz_die("mcsec_init / code");
    fuzz_path(bundle_path, sizeof bundle_path, fuzz_tmpdir(), "bundle.mcsb");
    fuzz_path(dir, sizeof dir, fuzz_tmpdir(), "gm");
    mcsec_groupmgr_config_t cfg = {.dir = dir,
                                   .passphrase = "fuzz",
                                   .passphrase_len = 4,
                                   .kdf_log2n = 10,
                                   .kdf_r = 1,
                                   .kdf_p = 1};
    if (mcsec_groupmgr_create(&gm, &cfg) != MCSEC_OK) fuzz_die(mcsec_groupmgr_last_error());
    const char *seeds = fuzz_corpus_dir();
    if (seeds != NULL) {
        write_seeds(seeds);
        exit(0);
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static uint8_t file[MCSEC_BUNDLE_MAX + 64];
    static char code[256];
    if (size < 1) return 0;
    int sel = data[0];
    data++, size--;
    if (sel & SEL_CODE) {
        uint8_t raw[16];
        size_t n = size < sizeof code - 1 ? size : sizeof code - 1;
        memcpy(code, data, n);
        code[n] = 0;
        mcsec_status_t st = mcsec_bundle_parse_code(code, raw);
        if (st != MCSEC_OK && st != MCSEC_ERR_BAD_INPUT) abort();
    }
    const uint8_t *f = data;
    size_t len = size;
    if (sel & SEL_PLAINTEXT) {
        if (size + MCSEC_BUNDLE_HEADER_LEN + MCSEC_SEAL_TAG_LEN > sizeof file) return 0;
        len = seal(data, size, file);
        f = file;
    }
    mcsec_bundle_t *a = NULL, *b = NULL;
    mcsec_status_t sa = mcsec_bundle_open_mem(f, len, CODE, &a);
    check_open(sa, a);
    if (fuzz_write(bundle_path, f, len) != 0) abort();
    mcsec_status_t sb = mcsec_bundle_open(bundle_path, CODE, &b);
    check_open(sb, b);
    if (sa != sb) abort();
    mcsec_bundle_free(a);
    mcsec_bundle_free(b);

    /* An opened bundle: refused as a handset's or another KMS's (POLICY), for its KmsInit (the
     * XML parser's statuses) or its KMS parameters (UNSUPPORTED), or loaded. */
    mcsec_status_t sg = mcsec_groupmgr_load_bundle(gm, bundle_path, CODE);
    if (sa != MCSEC_OK ? sg != sa
                       : sg != MCSEC_OK && sg != MCSEC_ERR_POLICY && sg != MCSEC_ERR_XML &&
                             sg != MCSEC_ERR_BAD_INPUT && sg != MCSEC_ERR_BAD_LENGTH &&
                             sg != MCSEC_ERR_POINT_ENCODING && sg != MCSEC_ERR_STRUCTURE &&
                             sg != MCSEC_ERR_UNSUPPORTED)
        abort();
    if (sg != MCSEC_OK && mcsec_groupmgr_last_error()[0] == 0) abort();
    return 0;
}

/* --- Seeds ------------------------------------------------------------------------------------ */

static void seed_bundle(const char *dir, const char *label, const fw_kms_t *k, const char *uri,
                        const char *role, const char *const *groups, size_t n_groups) {
    static char init[MCSEC_KMSXML_MAX_LEN + 1], keyprov[MCSEC_KMSXML_MAX_LEN + 1];
    mcsec_bundle_t b;
    uint8_t *out = NULL, key[MCSEC_SEAL_KEY_LEN];
    size_t len = 0;
    memset(&b, 0, sizeof b);
    b.user_uri = (char *)uri;
    b.role = (char *)role;
    b.groups = (char **)groups;
    b.n_groups = n_groups;
    strcpy(b.device_public, "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7");
    strcpy(b.device_secret, "JTKVSB%%)wK0E.X)V>+}o?pNmC{O&4W4b!Ni{Lh6");
    strcpy(b.kms_public, "Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID");
    b.kms_endpoint = "tcp://127.0.0.1:7001";
    b.init_xml = init;
    b.init_len = fw_init_xml(k, uri, init, sizeof init);
    b.keyprov_xml = keyprov;
    b.keyprov_len = fw_keyprov_xml(k, uri, keyprov, sizeof keyprov);
    b.created = (uint64_t)k->now;
    if (mcsec_bundle_seal_mem(&b, code_raw, &out, &len) != MCSEC_OK) fw_die("seal a bundle");
    char name[64];
    snprintf(name, sizeof name, "%s_file", label);
    fuzz_seed(dir, name, 0, out, len);
    /* Its plaintext, opened with the key the file's salt gives. */
    size_t pt_len = len - MCSEC_BUNDLE_HEADER_LEN - MCSEC_SEAL_TAG_LEN;
    uint8_t *pt = malloc(pt_len);
    if (pt == NULL ||
        mcsec_seal_hkdf(code_raw, 16, out + 5, 16, (const uint8_t *)INFO, strlen(INFO), key,
                        sizeof key) != MCSEC_OK ||
        mcsec_seal_open(key, out + 21, out, MCSEC_BUNDLE_HEADER_LEN, out + MCSEC_BUNDLE_HEADER_LEN,
                        pt_len, out + MCSEC_BUNDLE_HEADER_LEN + pt_len, pt) != MCSEC_OK)
        fw_die("open a seed bundle");
    snprintf(name, sizeof name, "%s_plaintext", label);
    fuzz_seed(dir, name, SEL_PLAINTEXT, pt, pt_len);
    mcsec_memzero(pt, pt_len);
    mcsec_memzero(key, sizeof key);
    mcsec_memzero(out, len);
    free(pt);
    free(out);
}

static void write_seeds(const char *dir) {
    static const char *const groups[] = {"sip:fire-north@example.org",
                                         "sip:fire-south@example.org"};
    fw_kms_t k;
    fw_kms_new(&k, 0);
    seed_bundle(dir, "handset", &k, "sip:alice@example.org", "handset", groups, 1);
    seed_bundle(dir, "groupmgr", &k, "sip:gm@example.org", "groupmgr", groups, 2);
    fuzz_seed(dir, "code", SEL_CODE, (const uint8_t *)CODE, strlen(CODE));
    mcsec_memzero(&k, sizeof k);
}
