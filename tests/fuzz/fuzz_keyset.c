/* libFuzzer target for importing TS 33.180 key sets: mcsec_groupmgr_group_import_keys (a Group
 * Manager taking a group identity's KmsInit and KmsKeyProv documents: both parsed, every key
 * set bound to the certificate and the group by mcsec_kmsxml_check_keyset, proto/kms_keyset.c,
 * then sealed into the store) and mcsec_kmsxml_check_keyset itself on each parsed key set, as a
 * handset checks its own (`mcsec keys import`) when they are another identity's.
 *
 * Input: the KmsInit document, one NUL octet, the KmsKeyProv document. The Group Manager
 * (scratch directory, made once per process) knows the throw-away KMS of fuzz_world.h and has
 * the group sip:fire-north@example.org. Checks: the documented statuses, a reason for every
 * refusal; what fails parsing or checking by hand is refused by the Group Manager, what it
 * accepts is the group's, from this KMS; what parses is refused only by a key set check or for
 * the manager's own reasons (another KMS, a revoked set). Seeds: corpus/keyset. */
#include "fuzz_util.h"

#include "fuzz_world.h"
#include "mcsec/groupmgr.h"
#include "mcsec/kmsxml.h"

#define NORTH "sip:fire-north@example.org"
#define MAX_SETS 8

static fw_kms_t world;
static mcsec_groupmgr_t *gm;

/* A status mcsec_kmsxml_check_keyset documents (its own, the UID's, the key validations'). */
static int check_status(mcsec_status_t rc) {
    switch (rc) {
    case MCSEC_OK:
    case MCSEC_ERR_UNSUPPORTED:
    case MCSEC_ERR_BAD_LENGTH:
    case MCSEC_ERR_UNKNOWN_KEY:
    case MCSEC_ERR_WRONG_RECIPIENT:
    case MCSEC_ERR_KEY_INVALID:
    case MCSEC_ERR_POINT_ENCODING:
    case MCSEC_ERR_POINT_RANGE:
    case MCSEC_ERR_NOT_ON_CURVE:
    case MCSEC_ERR_INFINITY:
    case MCSEC_ERR_SMALL_ORDER:
    case MCSEC_ERR_SCALAR_RANGE:
    case MCSEC_ERR_BAD_INPUT:
        return 1;
    default:
        return 0;
    }
}

/* Parsing and checking by hand (the sets of other identities, as a handset checks its own):
 * MCSEC_OK or the first failure. */
static mcsec_status_t by_hand(const char *init_xml, size_t init_len, const char *kp_xml,
                              size_t kp_len, mcsec_kms_keyset_t *sets, size_t *n) {
    mcsec_kms_response_hdr_t hdr;
    mcsec_kms_init_t init;
    mcsec_status_t rc = mcsec_kmsxml_parse_init(init_xml, init_len, &hdr, &init);
    if (rc != MCSEC_OK) return rc;
    if ((rc = mcsec_kmsxml_parse_keyprov(kp_xml, kp_len, &hdr, sets, MAX_SETS, n)) != MCSEC_OK)
        return rc;
    mcsec_status_t first = MCSEC_OK;
    for (size_t i = 0; i < *n; i++) {
        /* The group's own sets are checked by the import (the costly pairing once, not twice). */
        if (strcmp(sets[i].user_uri, NORTH) == 0) continue;
        rc = mcsec_kmsxml_check_keyset(&init, &sets[i], sets[i].user_uri);
        if (!check_status(rc)) abort();
        if (first == MCSEC_OK) first = rc;
    }
    return first;
}

static void write_seeds(const char *dir);

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc, (void)argv;
    char dir[600];
    mcsec_kms_keyset_t sets[2];
    fw_kms_new(&world, 0);
    fuzz_path(dir, sizeof dir, fuzz_tmpdir(), "gm");
    mcsec_groupmgr_config_t cfg = {.dir = dir,
                                   .passphrase = "fuzz",
                                   .passphrase_len = 4,
                                   .kdf_log2n = 10,
                                   .kdf_r = 1,
                                   .kdf_p = 1};
    fw_issue(&world, NORTH, sets);
    if (mcsec_groupmgr_create(&gm, &cfg) != MCSEC_OK ||
        mcsec_groupmgr_group_add(gm, NORTH, 0, 0) != MCSEC_OK ||
        mcsec_groupmgr_group_set_keys(gm, NORTH, &world.init, sets, 2) != MCSEC_OK)
        fuzz_die(mcsec_groupmgr_last_error());
    mcsec_kms_keyset_wipe(sets, 2);
    const char *seeds = fuzz_corpus_dir();
    if (seeds != NULL) {
        write_seeds(seeds);
        exit(0);
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static mcsec_kms_keyset_t sets[MAX_SETS];
    const uint8_t *nul = memchr(data, 0, size);
    if (nul == NULL) return 0;
    const char *init = (const char *)data, *kp = (const char *)nul + 1;
    size_t init_len = (size_t)(nul - data), kp_len = size - init_len - 1;
    size_t n = 0;

    mcsec_status_t want = by_hand(init, init_len, kp, kp_len, sets, &n);
    mcsec_status_t got = mcsec_groupmgr_group_import_keys(gm, NORTH, init, init_len, kp, kp_len);
    if (got != MCSEC_OK && mcsec_groupmgr_last_error()[0] == 0) abort();
    if (want != MCSEC_OK) {
        /* Refused by hand: refused by the manager too (it may name another stage first). */
        if (got == MCSEC_OK) abort();
    } else if (got == MCSEC_OK) {
        /* Every key set is the group's, of this KMS. */
        for (size_t i = 0; i < n; i++)
            if (strcmp(sets[i].user_uri, NORTH) != 0 || strcmp(sets[i].kms_uri, FW_KMS_URI) != 0)
                abort();
    } else if (!check_status(got) && got != MCSEC_ERR_POLICY && got != MCSEC_ERR_EXPIRED) {
        abort(); /* parsed: refused by a key set check, another KMS or a revoked set only */
    }
    mcsec_kms_keyset_wipe(sets, MAX_SETS);
    return 0;
}

static void write_seeds(const char *dir) {
    static char init[MCSEC_KMSXML_MAX_LEN + 1], kp[MCSEC_KMSXML_MAX_LEN + 1];
    static uint8_t s[2 * MCSEC_KMSXML_MAX_LEN + 2];
    static const char *const uris[] = {NORTH, "sip:alice@example.org"};
    static const char *const names[] = {"group_keys", "another_identity"};
    for (int i = 0; i < 2; i++) {
        size_t a = fw_init_xml(&world, uris[i], init, sizeof init);
        size_t b = fw_keyprov_xml(&world, uris[i], kp, sizeof kp);
        memcpy(s, init, a);
        s[a] = 0;
        memcpy(s + a + 1, kp, b);
        fuzz_seed(dir, names[i], -1, s, a + 1 + b);
    }
}
