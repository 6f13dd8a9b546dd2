/* The KMS without the network: create/open (wrong passphrase, damaged store file, tampered
 * sealed records: clear error, no crash, nothing written), the store through its vtable
 * (devices, revocation, audit), issuance (documents validate, UIDs right, next period),
 * authorisation, offline documents, rosters with line numbers, file names, enrol-with-bundle. */
#include <openssl/evp.h>
#include <sqlite3.h>

#include "test.h"

#include "internal.h"
#include "kms_test.h"
#include "mcsec/bundle.h"

static char dir[512];

static void file_digest(const char *path, uint8_t out[32])
{
    FILE *f = fopen(path, "rb");
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    uint8_t buf[4096];
    size_t n;
    EVP_DigestInit_ex(c, EVP_sha256(), NULL);
    while (f != NULL && (n = fread(buf, 1, sizeof buf, f)) > 0)
        EVP_DigestUpdate(c, buf, n);
    if (f != NULL)
        fclose(f);
    EVP_DigestFinal_ex(c, out, NULL);
    EVP_MD_CTX_free(c);
}

static void copy_file(const char *from, const char *to)
{
    char cmd[4000];
    snprintf(cmd, sizeof cmd, "mkdir -p \"$(dirname '%s')\" && chmod 700 \"$(dirname '%s')\" && cp '%s' '%s'", to, to, from, to);
    if (system(cmd) != 0)
        exit(2);
}

static void test_open_errors(void)
{
    mcsec_kms_t *kms = NULL;
    CHECK_STATUS(mcsec_kms_open(&kms, dir, "wrong", 5), MCSEC_ERR_PASSPHRASE);
    CHECK(kms == NULL && strstr(mcsec_kms_last_error(), "wrong passphrase") != NULL);
    char missing[600];
    snprintf(missing, sizeof missing, "%s/nowhere", kt_tmpdir());
    CHECK_STATUS(mcsec_kms_open(&kms, missing, KT_PASS, strlen(KT_PASS)), MCSEC_ERR_IO);
    CHECK(strstr(mcsec_kms_last_error(), "no KMS at") != NULL);
    /* Creating over an existing KMS is refused. */
    mcsec_kms_config_t cfg = {.dir = dir, .kms_uri = KT_KMS_URI, .passphrase = "x",
                              .passphrase_len = 1, .kdf_log2n = 10, .kdf_r = 8, .kdf_p = 1};
    CHECK_STATUS(mcsec_kms_create(NULL, &cfg), MCSEC_ERR_IO);
    cfg.kms_uri = "bad uri";
    CHECK_STATUS(mcsec_kms_create(NULL, &cfg), MCSEC_ERR_BAD_INPUT);
    cfg.kms_uri = KT_KMS_URI;
    cfg.key_period = 100;
    cfg.key_offset = 100;
    CHECK_STATUS(mcsec_kms_create(NULL, &cfg), MCSEC_ERR_BAD_INPUT);
    cfg.key_offset = 0;
    cfg.endpoint = "udp://x";
    CHECK_STATUS(mcsec_kms_create(NULL, &cfg), MCSEC_ERR_BAD_INPUT);

    /* A damaged store file: each damage on a copy; the copy is not modified by opening. */
    char src[700], bad[800];
    snprintf(src, sizeof src, "%s/kms.db", dir);
    struct {
        const char *name;
        long offset;
        size_t len;
    } damage[] = {
        {"header", 0, 16},  /* "SQLite format 3": not a database */
        {"page1", 100, 64}, /* the schema page's header */
    };
    for (size_t k = 0; k < sizeof damage / sizeof damage[0]; k++) {
        char bdir[700];
        snprintf(bdir, sizeof bdir, "%s/damaged-%s", kt_tmpdir(), damage[k].name);
        snprintf(bad, sizeof bad, "%s/kms.db", bdir);
        copy_file(src, bad);
        FILE *f = fopen(bad, "r+b");
        CHECK(f != NULL);
        if (f == NULL)
            continue;
        fseek(f, damage[k].offset, SEEK_SET);
        for (size_t i = 0; i < damage[k].len; i++)
            fputc(0xA5, f);
        fclose(f);
        uint8_t before[32], after[32];
        file_digest(bad, before);
        CHECK_STATUS(mcsec_kms_open(&kms, bdir, KT_PASS, strlen(KT_PASS)), MCSEC_ERR_VERIFY);
        CHECK(strstr(mcsec_kms_last_error(), "damaged") != NULL);
        file_digest(bad, after);
        CHECK_MEM(after, before, 32);
    }
    /* Truncated to nothing. */
    {
        char bdir[700];
        snprintf(bdir, sizeof bdir, "%s/damaged-empty", kt_tmpdir());
        snprintf(bad, sizeof bad, "%s/kms.db", bdir);
        copy_file(src, bad);
        CHECK(truncate(bad, 0) == 0);
        CHECK_STATUS(mcsec_kms_open(&kms, bdir, KT_PASS, strlen(KT_PASS)), MCSEC_ERR_VERIFY);
        struct stat st;
        CHECK(stat(bad, &st) == 0 && st.st_size == 0);
    }
    /* Tampered sealed records (a valid SQLite file with bad contents). */
    const char *tamper[] = {
        "UPDATE meta SET value = zeroblob(124) WHERE name = 'kek'",
        "UPDATE meta SET value = randomblob(228) WHERE name = 'secrets'",
        /* the public Z changed: the secrets' AAD binds it (octet 41 always changes: setting it
         * to 0 left it as it was in one KMS out of 256) */
        "UPDATE meta SET value = substr(value, 1, 40) || "
        "CASE WHEN substr(value, 41, 1) = x'00' THEN x'01' ELSE x'00' END || substr(value, 42) "
        "WHERE name = 'params'",
        "DELETE FROM meta WHERE name = 'secrets'",
    };
    for (size_t k = 0; k < sizeof tamper / sizeof tamper[0]; k++) {
        char bdir[700];
        snprintf(bdir, sizeof bdir, "%s/tampered-%zu", kt_tmpdir(), k);
        snprintf(bad, sizeof bad, "%s/kms.db", bdir);
        copy_file(src, bad);
        sqlite3 *db = NULL;
        CHECK(sqlite3_open(bad, &db) == SQLITE_OK &&
              sqlite3_exec(db, tamper[k], NULL, NULL, NULL) == SQLITE_OK);
        sqlite3_close(db);
        CHECK_STATUS(mcsec_kms_open(&kms, bdir, KT_PASS, strlen(KT_PASS)), MCSEC_ERR_VERIFY);
        CHECK(mcsec_kms_last_error()[0] != 0);
    }
}

static int count_devices(void *user, const mcsec_kms_device_t *d)
{
    (void)d;
    (*(int *)user)++;
    return 0;
}

typedef struct {
    int n;
    char actions[64][32];
} audit_log_t;

static int log_audit(void *user, const mcsec_kms_audit_t *a)
{
    audit_log_t *l = user;
    if (l->n < 64)
        snprintf(l->actions[l->n++], 32, "%s", a->action);
    return 0;
}

static void test_devices(mcsec_kms_t *kms)
{
    const char *groups[] = {"sip:g1@example.org", "sip:g2@example.org"};
    mcsec_kms_enroll_t req = {"sip:gm@example.org", MCSEC_KMS_ROLE_GROUPMGR, groups, 2, NULL};
    mcsec_kms_credential_t c1, c2;
    CHECK_STATUS(mcsec_kms_enroll(kms, &req, &c1), MCSEC_OK);
    CHECK(c1.device_id > 0 && strlen(c1.curve_public) == 40 && strlen(c1.curve_secret) == 40);
    /* the device brings its own key: no secret here; the same key twice is refused */
    char pub[41], sec[41];
    CHECK(zmq_curve_keypair(pub, sec) == 0);
    mcsec_kms_enroll_t own = {"sip:alice@example.org", MCSEC_KMS_ROLE_HANDSET, NULL, 0, pub};
    CHECK_STATUS(mcsec_kms_enroll(kms, &own, &c2), MCSEC_OK);
    CHECK(c2.curve_secret[0] == 0 && strcmp(c2.curve_public, pub) == 0);
    CHECK_STATUS(mcsec_kms_enroll(kms, &own, &c2), MCSEC_ERR_POLICY);
    /* bad requests */
    mcsec_kms_enroll_t bad = own;
    bad.curve_public = "not a key";
    CHECK_STATUS(mcsec_kms_enroll(kms, &bad, &c2), MCSEC_ERR_BAD_INPUT);
    bad.curve_public = NULL;
    bad.uri = "";
    CHECK_STATUS(mcsec_kms_enroll(kms, &bad, &c2), MCSEC_ERR_BAD_INPUT);
    bad.uri = "sip:has space@x";
    CHECK_STATUS(mcsec_kms_enroll(kms, &bad, &c2), MCSEC_ERR_BAD_INPUT);
    bad.uri = "sip:x@y";
    bad.role = (mcsec_kms_role_t)7;
    CHECK_STATUS(mcsec_kms_enroll(kms, &bad, &c2), MCSEC_ERR_BAD_INPUT);
    bad.role = MCSEC_KMS_ROLE_HANDSET;
    bad.n_groups = MCSEC_KMS_GROUPS_MAX + 1;
    bad.groups = groups;
    CHECK_STATUS(mcsec_kms_enroll(kms, &bad, &c2), MCSEC_ERR_BAD_LENGTH);

    mcsec_kms_device_t d;
    CHECK_STATUS(mcsec_kms_get_device(kms, c1.device_id, &d), MCSEC_OK);
    CHECK(strcmp(d.groups, "sip:g1@example.org\nsip:g2@example.org") == 0 && !d.revoked);
    CHECK(d.role == MCSEC_KMS_ROLE_GROUPMGR);

    /* authorisation */
    const char *why;
    CHECK_STATUS(kms_authorise(&d, "sip:gm@example.org", &why), MCSEC_OK);
    CHECK_STATUS(kms_authorise(&d, "sip:g2@example.org", &why), MCSEC_OK);
    CHECK_STATUS(kms_authorise(&d, "sip:g2@example.or", &why), MCSEC_ERR_POLICY);
    CHECK_STATUS(kms_authorise(&d, "sip:g1@example.org\nsip", &why), MCSEC_ERR_POLICY);
    CHECK_STATUS(kms_authorise(&d, "sip:alice@example.org", &why), MCSEC_ERR_POLICY);
    mcsec_kms_device_t h = d;
    h.role = MCSEC_KMS_ROLE_HANDSET;
    CHECK_STATUS(kms_authorise(&h, "sip:g1@example.org", &why), MCSEC_ERR_POLICY);
    CHECK_STATUS(kms_authorise(&h, "sip:gm@example.org", &why), MCSEC_OK);

    /* revocation */
    CHECK_STATUS(mcsec_kms_revoke(kms, c1.device_id, "lost"), MCSEC_OK);
    CHECK_STATUS(mcsec_kms_revoke(kms, c1.device_id, "again"), MCSEC_OK); /* no-op */
    CHECK_STATUS(mcsec_kms_get_device(kms, c1.device_id, &d), MCSEC_OK);
    CHECK(d.revoked && d.revoked_at > 0);
    CHECK_STATUS(mcsec_kms_revoke(kms, 9999, NULL), MCSEC_ERR_UNKNOWN_KEY);
    size_t count = 0;
    CHECK_STATUS(mcsec_kms_revoke_uri(kms, "sip:alice@example.org", NULL, &count), MCSEC_OK);
    CHECK(count == 1);
    CHECK_STATUS(mcsec_kms_revoke_uri(kms, "sip:alice@example.org", NULL, &count),
                 MCSEC_ERR_UNKNOWN_KEY);
    int n = 0;
    CHECK_STATUS(mcsec_kms_list_devices(kms, count_devices, &n), MCSEC_OK);
    CHECK(n == 2);

    audit_log_t log = {0};
    CHECK_STATUS(mcsec_kms_list_audit(kms, 0, log_audit, &log), MCSEC_OK);
    CHECK(log.n == 5);
    CHECK(log.n == 5 && strcmp(log.actions[0], "init") == 0 &&
          strcmp(log.actions[1], "enroll") == 0 && strcmp(log.actions[2], "enroll") == 0 &&
          strcmp(log.actions[3], "revoke") == 0 && strcmp(log.actions[4], "revoke") == 0);
}

static void test_issuance(mcsec_kms_t *kms)
{
    mcsec_kms_info_t info;
    mcsec_kms_get_info(kms, &info);
    char *init = malloc(MCSEC_KMS_DOC_MAX), *kp = malloc(MCSEC_KMS_DOC_MAX);
    size_t il = 0, kl = 0;
    uint64_t at = 3900000000ull; /* NTP */
    CHECK_STATUS(mcsec_kms_write_init(kms, NULL, init, MCSEC_KMS_DOC_MAX, &il), MCSEC_OK);
    CHECK_STATUS(mcsec_kms_write_keyprov(kms, "tel:+447700900123", at, kp, MCSEC_KMS_DOC_MAX, &kl),
                 MCSEC_OK);
    CHECK_STATUS(mcsec_kms_write_keyprov(kms, "bad uri", at, kp, MCSEC_KMS_DOC_MAX, &kl),
                 MCSEC_ERR_BAD_INPUT);
    CHECK_STATUS(mcsec_kms_write_keyprov(kms, "tel:+447700900123", at, kp, 100, &kl),
                 MCSEC_ERR_BAD_LENGTH);
    CHECK_STATUS(mcsec_kms_write_keyprov(kms, "tel:+447700900123", at, kp, MCSEC_KMS_DOC_MAX, &kl),
                 MCSEC_OK);
    mcsec_kms_response_hdr_t hdr;
    mcsec_kms_init_t ki;
    mcsec_kms_keyset_t sets[3];
    size_t n = 0;
    CHECK_STATUS(mcsec_kmsxml_parse_init(init, il, &hdr, &ki), MCSEC_OK);
    CHECK(ki.key_period == info.key_period && ki.key_offset == info.key_offset);
    CHECK(memcmp(ki.Z, info.Z, sizeof ki.Z) == 0 && memcmp(ki.kpak, info.kpak, 65) == 0);
    CHECK_STATUS(mcsec_kmsxml_parse_keyprov(kp, kl, &hdr, sets, 3, &n), MCSEC_OK);
    CHECK(n == 2 && strcmp(hdr.user_uri, "tel:+447700900123") == 0);
    uint64_t pn = at / info.key_period;
    for (size_t i = 0; i < n; i++) {
        CHECK(sets[i].key_period_no == pn + i);
        uint8_t uid[32];
        CHECK_STATUS(mcsec_uid_format2("tel:+447700900123", KT_KMS_URI, info.key_period,
                                       info.key_offset, pn + i, uid),
                     MCSEC_OK);
        CHECK_MEM(sets[i].uid, uid, 32);
        CHECK(sets[i].valid_from == (int64_t)((pn + i) * info.key_period) - 2208988800ll);
        CHECK_STATUS(mcsec_kmsxml_check_keyset(&ki, &sets[i], "tel:+447700900123"), MCSEC_OK);
        CHECK_STATUS(mcsec_kmsxml_check_keyset(&ki, &sets[i], "tel:+447700900124"),
                     MCSEC_ERR_WRONG_RECIPIENT);
    }
    mcsec_kms_keyset_wipe(sets, 3);
    /* Fresh issuance: a new PVT each time, the same RSK (deterministic in z and the UID). */
    mcsec_kms_keyset_t x, y;
    CHECK_STATUS(kms_issue_keyset(kms, "sip:x@y", 5, &x), MCSEC_OK);
    CHECK_STATUS(kms_issue_keyset(kms, "sip:x@y", 5, &y), MCSEC_OK);
    CHECK(memcmp(x.rsk, y.rsk, sizeof x.rsk) == 0 && memcmp(x.pvt, y.pvt, sizeof x.pvt) != 0);
    mcsec_kms_keyset_wipe(&x, 1);
    mcsec_kms_keyset_wipe(&y, 1);
    mcsec_memzero(kp, MCSEC_KMS_DOC_MAX);
    free(kp);
    free(init);
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
}

/* A national-size roster: 100,000 rows read back exactly (rows are as big as their lines,
 * duplicates found by hashing); the same file with one URI repeated on its last line names
 * that line; 64 groups is the most a row may have. */
static void test_roster_large(const char *path)
{
    enum { ROWS = 100000 };
    mcsec_kms_roster_row_t *rows = NULL;
    size_t n = 0;
    FILE *f = fopen(path, "w");
    fputs("uri,role,groups\n", f);
    for (int i = 0; i < ROWS; i++)
        fprintf(f, "sip:responder-%06d@example.org,%s,sip:fire-%d@example.org;sip:all@x\n", i,
                i % 1000 == 0 ? "groupmgr" : "handset", i % 97);
    fclose(f);
    CHECK_STATUS(mcsec_kms_roster_read(path, &rows, &n), MCSEC_OK);
    CHECK(n == ROWS);
    size_t wrong = 0;
    for (size_t i = 0; i < n && n == ROWS; i++) {
        char uri[64], group[64];
        snprintf(uri, sizeof uri, "sip:responder-%06zu@example.org", i);
        snprintf(group, sizeof group, "sip:fire-%zu@example.org", i % 97);
        wrong += strcmp(rows[i].uri, uri) != 0 || rows[i].n_groups != 2 ||
                 strcmp(rows[i].groups[0], group) != 0 ||
                 strcmp(rows[i].groups[1], "sip:all@x") != 0 ||
                 rows[i].role != (i % 1000 == 0 ? MCSEC_KMS_ROLE_GROUPMGR : MCSEC_KMS_ROLE_HANDSET);
    }
    CHECK(wrong == 0);
    mcsec_kms_roster_free(rows, n);

    f = fopen(path, "a");
    fputs("sip:responder-054321@example.org,handset,\n", f);
    fclose(f);
    CHECK_STATUS(mcsec_kms_roster_read(path, &rows, &n), MCSEC_ERR_BAD_INPUT);
    CHECK(rows == NULL && n == 0);
    CHECK(strstr(mcsec_kms_last_error(), "line 100002: the URI appears twice (1 bad row") != NULL);

    for (int groups = 64; groups <= 65; groups++) {
        f = fopen(path, "w");
        fputs("sip:gm@x,groupmgr,", f);
        for (int g = 0; g < groups; g++)
            fprintf(f, "%ssip:g%d@x", g ? ";" : "", g);
        fputs("\n", f);
        fclose(f);
        CHECK_STATUS(mcsec_kms_roster_read(path, &rows, &n), groups == 64 ? MCSEC_OK
                                                                          : MCSEC_ERR_BAD_INPUT);
        CHECK(n == (groups == 64 ? 1u : 0u));
        if (groups == 64 && n == 1)
            CHECK(rows[0].n_groups == 64 && strcmp(rows[0].groups[63], "sip:g63@x") == 0);
        else
            CHECK(strstr(mcsec_kms_last_error(), "line 1: more than 64 groups") != NULL);
        mcsec_kms_roster_free(rows, n);
    }
}

static void test_roster(void)
{
    char path[600];
    snprintf(path, sizeof path, "%s/roster.csv", kt_tmpdir());
    mcsec_kms_roster_row_t *rows = NULL;
    size_t n = 0;
    write_text(path, "uri,role,groups\n# comment\n\nsip:a@x, handset ,sip:g1@x; sip:g2@x\n"
                     "sip:b@x,,\nsip:gm@x,groupmgr,sip:g1@x\r\nsip:c@x\n");
    CHECK_STATUS(mcsec_kms_roster_read(path, &rows, &n), MCSEC_ERR_BAD_INPUT);
    CHECK(strstr(mcsec_kms_last_error(), "line 7:") != NULL);
    write_text(path, "uri,role,groups\n# comment\n\nsip:a@x, handset ,sip:g1@x; sip:g2@x\n"
                     "sip:b@x,,\nsip:gm@x,groupmgr,sip:g1@x\r\n");
    CHECK_STATUS(mcsec_kms_roster_read(path, &rows, &n), MCSEC_OK);
    CHECK(n == 3);
    if (n == 3) {
        CHECK(strcmp(rows[0].uri, "sip:a@x") == 0 && rows[0].role == MCSEC_KMS_ROLE_HANDSET);
        CHECK(rows[0].n_groups == 2 && strcmp(rows[0].groups[1], "sip:g2@x") == 0);
        CHECK(rows[1].role == MCSEC_KMS_ROLE_HANDSET && rows[1].n_groups == 0);
        CHECK(rows[2].role == MCSEC_KMS_ROLE_GROUPMGR && strcmp(rows[2].groups[0], "sip:g1@x") == 0);
    }
    mcsec_kms_roster_free(rows, n);
    static const struct {
        const char *text;
        const char *line;
    } bad[] = {
        {"sip:a@x,admin,\n", "line 1:"},
        {"sip:a@x,handset,\nsip:a@x,handset,\n", "line 2: the URI appears twice"},
        {"sip:a@x,handset,g,extra\n", "line 1: more than three fields"},
        {"sip:a b@x,handset,\n", "line 1:"},
        {"ok@x,handset,\n\nsip:a@x,handset,bad group\n", "line 3:"},
        {"# nothing\n", "no rows"},
    };
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        write_text(path, bad[k].text);
        CHECK_STATUS(mcsec_kms_roster_read(path, &rows, &n), MCSEC_ERR_BAD_INPUT);
        if (strstr(mcsec_kms_last_error(), bad[k].line) == NULL) {
            fprintf(stderr, "roster %zu: %s\n", k, mcsec_kms_last_error());
            CHECK(0);
        }
    }
    test_roster_large(path);
    snprintf(path, sizeof path, "%s/no-such-roster.csv", kt_tmpdir());
    CHECK_STATUS(mcsec_kms_roster_read(path, &rows, &n), MCSEC_ERR_IO);

    char name[256];
    mcsec_kms_safe_name("sip:alice@example.org", name);
    CHECK(strcmp(name, "sip_3aalice_40example.org") == 0);
    mcsec_kms_safe_name("../etc/passwd", name);
    CHECK(strcmp(name, "_2e._2fetc_2fpasswd") == 0);
    mcsec_kms_safe_name("a_b", name);
    CHECK(strcmp(name, "a_5fb") == 0);
    char longuri[300];
    memset(longuri, 'a', 255);
    longuri[255] = 0;
    mcsec_kms_safe_name(longuri, name);
    CHECK(strlen(name) == 200 && name[183] == '~');
}

static void test_enroll_bundle(mcsec_kms_t *kms)
{
    char path[600], code[MCSEC_BUNDLE_CODE_LEN + 1];
    snprintf(path, sizeof path, "%s/h.mcsb", kt_tmpdir());
    mcsec_kms_enroll_t req = {"sip:h@example.org", MCSEC_KMS_ROLE_HANDSET, NULL, 0, NULL};
    mcsec_kms_credential_t c;
    CHECK_STATUS(mcsec_kms_enroll_bundle(kms, &req, 0, path, code, &c), MCSEC_OK);
    struct stat st;
    CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600);
    mcsec_bundle_t *b = NULL;
    CHECK_STATUS(mcsec_bundle_open(path, code, &b), MCSEC_OK);
    CHECK(b != NULL && strcmp(b->device_public, c.curve_public) == 0 &&
          strcmp(b->device_secret, c.curve_secret) == 0);
    mcsec_bundle_free(b);
    /* never over an existing file (the device stays enrolled; the error says so) */
    CHECK_STATUS(mcsec_kms_enroll_bundle(kms, &req, 0, path, code, &c), MCSEC_ERR_IO);
    CHECK(strstr(mcsec_kms_last_error(), "cannot write bundle") != NULL);
}

int main(void)
{
    mcsec_kms_t *kms = kt_create("kms", dir, sizeof dir);
    mcsec_kms_info_t before, after;
    mcsec_kms_get_info(kms, &before);
    mcsec_kms_close(kms);
    test_open_errors();
    CHECK_STATUS(mcsec_kms_open(&kms, dir, KT_PASS, strlen(KT_PASS)), MCSEC_OK);
    if (kms == NULL)
        return test_summary();
    mcsec_kms_get_info(kms, &after);
    CHECK(memcmp(&before, &after, sizeof before) == 0);
    CHECK(strcmp(after.kms_uri, KT_KMS_URI) == 0 && after.key_period == 2592000);
    struct stat st;
    char db[600];
    snprintf(db, sizeof db, "%s/kms.db", dir);
    CHECK(stat(dir, &st) == 0 && (st.st_mode & 0777) == 0700);
    CHECK(stat(db, &st) == 0 && (st.st_mode & 0777) == 0600);
    test_devices(kms);
    test_issuance(kms);
    test_roster();
    test_enroll_bundle(kms);
    CHECK_STATUS(mcsec_kms_set_endpoint(kms, "tcp://kms.example.org:7001"), MCSEC_OK);
    CHECK_STATUS(mcsec_kms_set_endpoint(kms, "tcp://kms.example.org"), MCSEC_ERR_BAD_INPUT);
    mcsec_kms_close(kms);
    CHECK_STATUS(mcsec_kms_open(&kms, dir, KT_PASS, strlen(KT_PASS)), MCSEC_OK);
    mcsec_kms_get_info(kms, &after);
    CHECK(strcmp(after.endpoint, "tcp://kms.example.org:7001") == 0);
    mcsec_kms_close(kms);
    return test_summary();
}
