/* libFuzzer target for the bulk provisioning roster (mcsec_kms_roster_read, kms/provision.c):
 * the input is written as a roster file and read. Checks: MCSEC_OK with 1.. rows or
 * MCSEC_ERR_BAD_INPUT with a reason; every row holds what the reader promises (a URI of 1..255
 * printable octets without spaces or ',', appearing once; a known role; groups likewise and
 * without ';').
 * Each row's URI also goes through the two file-name makers that take URIs from outside
 * (mcsec_kms_safe_name for bundle files, mcsec_mikey_file_name for message files): one path
 * component, never "." or "..", and the documented alphabet. Seeds: corpus/roster. */
#include "fuzz_util.h"

#include "mcsec/kms.h"
#include "mcsec/profile.h"

static char path[600];

/* 1..255 printable octets without spaces or ','; a group URI has no ';' either. */
static int uri_ok(const char *u, int group) {
    size_t n = strlen(u);
    if (n == 0 || n > MCSEC_KMS_URI_MAX) return 0;
    for (const char *c = u; *c; c++)
        if (*c <= ' ' || *c >= 0x7f || *c == ',' || (group && *c == ';')) return 0;
    return 1;
}

static void check_names(const char *uri) {
    char safe[256], file[1024];
    mcsec_kms_safe_name(uri, safe);
    size_t n = strlen(safe);
    if (n == 0 || n > 200 || safe[0] == '.') abort();
    for (const char *c = safe; *c; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
              *c == '-' || *c == '.' || *c == '_' || *c == '~'))
            abort();
    if (mcsec_mikey_file_name(uri, file, sizeof file)) {
        if (strchr(file, '/') != NULL || file[0] == '.' || strlen(file) < 7 ||
            strcmp(file + strlen(file) - 6, ".mikey") != 0)
            abort();
    } else if (strlen(uri) * 3 + 7 <= sizeof file) {
        abort(); /* fits: must succeed */
    }
}

static void write_seeds(const char *dir);

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc, (void)argv;
    fuzz_path(path, sizeof path, fuzz_tmpdir(), "roster.csv");
    const char *seeds = fuzz_corpus_dir();
    if (seeds != NULL) {
        write_seeds(seeds);
        exit(0);
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    mcsec_kms_roster_row_t *rows = NULL;
    size_t n = 0;
    if (fuzz_write(path, data, size) != 0) abort();
    mcsec_status_t st = mcsec_kms_roster_read(path, &rows, &n);
    if (st == MCSEC_OK) {
        if (rows == NULL || n == 0) abort();
        for (size_t i = 0; i < n; i++) {
            const mcsec_kms_roster_row_t *r = &rows[i];
            if (!uri_ok(r->uri, 0) ||
                (r->role != MCSEC_KMS_ROLE_HANDSET && r->role != MCSEC_KMS_ROLE_GROUPMGR) ||
                r->n_groups > MCSEC_KMS_GROUPS_MAX)
                abort();
            for (size_t j = 0; j < r->n_groups; j++)
                if (!uri_ok(r->groups[j], 1)) abort();
            for (size_t j = 0; j < i; j++)
                if (strcmp(rows[j].uri, r->uri) == 0) abort();
            check_names(r->uri);
        }
    } else if (st != MCSEC_ERR_BAD_INPUT || rows != NULL || n != 0 ||
               mcsec_kms_last_error()[0] == 0) {
        abort();
    }
    mcsec_kms_roster_free(rows, n);
    return 0;
}

static void write_seeds(const char *dir) {
    static const char roster[] =
        "uri,role,groups\n"
        "# fire brigade north\n"
        "sip:alice@example.org,handset,sip:fire-north@example.org;sip:fire-all@example.org\n"
        "sip:bob@example.org,,sip:fire-north@example.org\n"
        "  sip:carol@example.org , handset , \r\n"
        "\n"
        "sip:gm@example.org,groupmgr,sip:fire-north@example.org;sip:fire-south@example.org\n";
    static const char bad[] = "sip:alice@example.org,pilot,sip:g@example.org\n"
                              "sip:alice@example.org,handset\n";
    fuzz_seed(dir, "roster.csv", -1, (const uint8_t *)roster, strlen(roster));
    fuzz_seed(dir, "bad_role_and_twice.csv", -1, (const uint8_t *)bad, strlen(bad));
}
