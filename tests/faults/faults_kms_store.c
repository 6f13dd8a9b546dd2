/* The KMS on a damaged store and on a full disk, each class with its exact outcome.
 *
 * `mcsec-kms serve` refuses to start (exit status 1, not a signal; exactly one line on stderr,
 * "mcsec-kms serve: <what>: <what to do>"; the file left as it was) on a store file
 *   - truncated to nothing, to its first page, to half its pages;
 *   - with random octets over its first page, or over the meta table's page;
 *   - of a newer format (the params record's or the kek record's format octet);
 *   - with a sealed record altered (the secrets record, the public parameters the secrets
 *     are bound to, the kek record's checksum).
 * It starts, and refuses the affected operation (the device gets MCSEC_ERR_IO without keys, the
 * daemon logs one line and keeps serving), when only the audit table's page is damaged or the
 * table is gone (no key leaves without its audit row), or the devices table's page is damaged
 * (every connection refused at the handshake, said once a minute in the log).
 *
 * Disk full (RLIMIT_FSIZE set on the running daemon with prlimit, SIGXFSZ ignored: every write
 * of a store fails with EFBIG, which SQLite reports as "disk I/O error"; see FX_DISK_FULL):
 * every request is refused with MCSEC_ERR_IO
 * "the KMS cannot write its audit table", without keys, the daemon logs why and keeps serving;
 * `mcsec-kms enroll` beside it fails with one line and exit status 1, adding nothing. Once the
 * limit is lifted, both work again without a restart; after a clean stop the store is intact,
 * every issuance a device received is audited and no secret is in the clear. */
#include <openssl/sha.h>

#include "test.h"

#include "kms_test.h"
#include "faults.h"
#include "kms_faults.h"

#define ALICE "sip:alice@example.org"

static char pristine[600];
static mcsec_kms_info_t info;
static mcsec_kms_credential_t alice;
static fx_secrets_t secrets;

/* A new KMS directory holding a copy of the pristine store. */
static void fresh(const char *name, char *dir, size_t dcap, char *db, size_t bcap)
{
    snprintf(dir, dcap, "%s/%s", kt_tmpdir(), name);
    snprintf(db, bcap, "%s/kms.db", dir);
    if (mkdir(dir, 0700) != 0)
        exit(2);
    fx_copy(pristine, db);
}

static void digest(const char *path, uint8_t out[32])
{
    size_t n = 0;
    uint8_t *d = fx_read_file(path, &n);
    SHA256(d != NULL ? d : (const uint8_t *)"", n, out);
    free(d);
}

/* `serve` on dir must refuse to start with one line containing want; the file is unchanged. */
static void refuses_to_start(const char *what, const char *dir, const char *db, const char *want)
{
    uint8_t before[32], after[32];
    fx_run_t r;
    const char *argv[] = {MCSEC_KMS_BIN, "serve", "--dir", dir, "--bind", "tcp://127.0.0.1:*",
                          NULL};
    digest(db, before);
    fx_run(argv, KT_PASS, 0, 60, &r);
    digest(db, after);
    int ok = !r.signaled && r.status == 1 && r.err_lines == 1 &&
             strncmp(r.err, "mcsec-kms serve: ", 17) == 0 && strstr(r.err, want) != NULL &&
             strstr(r.out, "serving") == NULL;
    if (!ok)
        fprintf(stderr, "%s: exit %d%s, %zu line(s): %s", what, r.status,
                r.signaled ? " (signal)" : "", r.err_lines, r.err);
    CHECK(ok);
    CHECK_MEM(after, before, 32);
    printf("%-36s exit %d: %s", what, r.status, r.err);
}

static mcsec_status_t fetch(const char *endpoint, mcsec_kms_fetch_result_t *res)
{
    mcsec_kms_fetch_config_t cfg = {.endpoint = endpoint, .kms_public = info.curve_public,
                                    .device_public = alice.curve_public,
                                    .device_secret = alice.curve_secret, .user_uri = ALICE,
                                    .timeout_ms = 20000, .attempts = 1};
    return mcsec_kms_fetch(&cfg, res);
}

/* Changes one octet (0-based offset) of the meta record name. */
static int flip(const char *db, const char *name, int offset)
{
    char stmt[512];
    snprintf(stmt, sizeof stmt,
             "UPDATE meta SET value = substr(value, 1, %d) || CASE WHEN substr(value, %d, 1) = "
             "x'00' THEN x'01' ELSE x'00' END || substr(value, %d) WHERE name = '%s'",
             offset, offset + 1, offset + 2, name);
    return fx_sql(db, stmt);
}

/* --- Damage that stops the start -------------------------------------------------------------- */

static void test_refused_starts(void)
{
    char dir[600], db[700];
    long pages = fx_sql_int(pristine, "PRAGMA page_count");
    long psize = fx_sql_int(pristine, "PRAGMA page_size");
    long meta_page = fx_sql_int(pristine, "SELECT rootpage FROM sqlite_master WHERE name = 'meta'");
    CHECK(pages > 4 && psize >= 512 && meta_page > 1);

    fresh("truncated-0", dir, sizeof dir, db, sizeof db);
    CHECK(truncate(db, 0) == 0);
    refuses_to_start("truncated to nothing", dir, db, "is not a KMS store (no meta table)");

    fresh("truncated-1", dir, sizeof dir, db, sizeof db);
    CHECK(truncate(db, psize) == 0);
    refuses_to_start("truncated to its first page", dir, db, "is damaged");

    fresh("truncated-half", dir, sizeof dir, db, sizeof db);
    CHECK(truncate(db, psize * (pages / 2)) == 0);
    refuses_to_start("truncated to half", dir, db, "is damaged");

    fresh("page-1", dir, sizeof dir, db, sizeof db);
    CHECK(fx_damage_page(db, 1, psize));
    refuses_to_start("random octets over page 1", dir, db, "is damaged");

    fresh("page-meta", dir, sizeof dir, db, sizeof db);
    CHECK(fx_damage_page(db, meta_page, psize));
    refuses_to_start("random octets over the meta page", dir, db, "is damaged");

    fresh("format-params", dir, sizeof dir, db, sizeof db);
    CHECK(fx_sql(db, "UPDATE meta SET value = substr(value, 1, 4) || x'02' || substr(value, 6) "
                     "WHERE name = 'params'"));
    refuses_to_start("params record of format 2", dir, db,
                     "has format 2: written by a newer mcsec-kms? upgrade");

    /* The kek record's format, with its checksum made right again. */
    fresh("format-kek", dir, sizeof dir, db, sizeof db);
    {
        uint8_t kek[FK_KEK_LEN + 1];
        char stmt[600];
        CHECK(fk_meta(db, "kek", kek, sizeof kek) == FK_KEK_LEN);
        kek[4] = 2;
        SHA256(kek, 92, kek + 92);
        char *p = stmt + snprintf(stmt, sizeof stmt, "UPDATE meta SET value = x'");
        for (int i = 0; i < FK_KEK_LEN; i++)
            p += sprintf(p, "%02x", kek[i]);
        snprintf(p, sizeof stmt - (size_t)(p - stmt), "' WHERE name = 'kek'");
        CHECK(fx_sql(db, stmt));
    }
    refuses_to_start("kek record of format 2", dir, db, "uses format 2, KDF 1: upgrade mcsec-kms");

    fresh("sealed-secrets", dir, sizeof dir, db, sizeof db);
    CHECK(flip(db, "secrets", 100));
    refuses_to_start("sealed secrets altered", dir, db,
                     "fail authentication (damaged, or its public parameters were changed)");

    fresh("sealed-params", dir, sizeof dir, db, sizeof db);
    CHECK(flip(db, "params", 40)); /* in Z */
    refuses_to_start("public parameters altered", dir, db,
                     "fail authentication (damaged, or its public parameters were changed)");

    fresh("sealed-kek", dir, sizeof dir, db, sizeof db);
    CHECK(flip(db, "kek", 50)); /* in the sealed data key */
    refuses_to_start("sealed data key altered", dir, db, "is damaged (checksum)");
}

/* --- Damage that stops one operation ----------------------------------------------------------- */

static void refuses_issuance(const char *name, void (*damage)(const char *db))
{
    char dir[600], db[700], path[700], line[1024];
    fx_log_t log;
    fresh(name, dir, sizeof dir, db, sizeof db);
    damage(db);
    snprintf(path, sizeof path, "%s/serve.log", dir);
    fx_log_open(&log, path);
    kt_server_t srv;
    CHECK(kt_spawn_log(&srv, dir, NULL, NULL, path) == 0);
    mcsec_kms_fetch_result_t r;
    CHECK_STATUS(fetch(srv.endpoint, &r), MCSEC_ERR_IO);
    CHECK(r.keyprov_xml == NULL && strstr(r.message, "the KMS cannot write its audit table: try "
                                                     "again later") != NULL);
    printf("%-36s refused: %s\n", name, r.message);
    mcsec_kms_fetch_result_free(&r);
    CHECK(fx_alive(srv.pid));
    CHECK(fx_log_has(&log, "mcsec-kms serve: cannot write the audit table: KMS store ", 10000));
    printf("%-36s logged: %s\n", name, fx_log_line(&log, "cannot write", line, sizeof line));
    CHECK(kt_stop(&srv) == 0);
    fx_log_close(&log);
}

/* The devices table's page damaged: serve starts (opening reads the meta table only), every
 * connection is refused at the handshake (the KMS cannot look its key up) and the daemon says
 * why, once. */
static void test_devices_page(void)
{
    char dir[600], db[700], path[700], line[1024];
    fx_log_t log;
    fresh("devices-page-damaged", dir, sizeof dir, db, sizeof db);
    long psize = fx_sql_int(db, "PRAGMA page_size");
    long page = fx_sql_int(db, "SELECT rootpage FROM sqlite_master WHERE name = 'devices'");
    CHECK(page > 1 && fx_damage_page(db, page, psize));
    snprintf(path, sizeof path, "%s/serve.log", dir);
    fx_log_open(&log, path);
    kt_server_t srv;
    CHECK(kt_spawn_log(&srv, dir, NULL, NULL, path) == 0);
    mcsec_kms_fetch_result_t r;
    CHECK_STATUS(fetch(srv.endpoint, &r), MCSEC_ERR_IO);
    CHECK(r.keyprov_xml == NULL);
    printf("%-36s refused: %s\n", "devices-page-damaged", r.message);
    mcsec_kms_fetch_result_free(&r);
    CHECK(fx_alive(srv.pid));
    CHECK(fx_log_has(&log, "mcsec-kms serve: cannot check the CURVE key of a connecting device: "
                           "KMS store ",
                     10000));
    printf("%-36s logged: %s\n", "devices-page-damaged",
           fx_log_line(&log, "cannot check", line, sizeof line));
    CHECK(strstr(line, "is damaged") != NULL);
    CHECK(kt_stop(&srv) == 0);
    fx_log_close(&log);
}

static void damage_audit_page(const char *db)
{
    long psize = fx_sql_int(db, "PRAGMA page_size");
    long page = fx_sql_int(db, "SELECT rootpage FROM sqlite_master WHERE name = 'audit'");
    CHECK(page > 1 && fx_damage_page(db, page, psize));
}

static void drop_audit(const char *db)
{
    CHECK(fx_sql(db, "DROP TABLE audit"));
}

/* --- Disk full ---------------------------------------------------------------------------------- */

static int count_issued(void *user, const mcsec_kms_audit_t *row)
{
    if (strcmp(row->action, "issue") == 0 && row->status == 0)
        (*(long *)user)++;
    return 0;
}

static void test_disk_full(void)
{
    char dir[600], db[700], path[700], line[1024];
    fx_log_t log;
    fresh("disk-full", dir, sizeof dir, db, sizeof db);
    snprintf(path, sizeof path, "%s/serve.log", dir);
    fx_log_open(&log, path);
    kt_server_t srv;
    if (kt_spawn_log(&srv, dir, NULL, NULL, path) != 0) {
        CHECK(0);
        return;
    }
    mcsec_kms_fetch_result_t r;
    long acked = 0;
    for (int i = 0; i < 3; i++) {
        CHECK_STATUS(fetch(srv.endpoint, &r), MCSEC_OK);
        if (r.keyprov_xml != NULL)
            fk_issued_secrets(&secrets, (const uint8_t *)r.keyprov_xml, r.keyprov_len);
        acked += r.status == MCSEC_OK;
        mcsec_kms_fetch_result_free(&r);
    }
    /* The disk is full: refusals without keys, the daemon says why and keeps serving. */
    CHECK(fx_fsize(srv.pid, FX_DISK_FULL) == 0);
    int refused = 0;
    for (int i = 0; i < 5; i++) {
        mcsec_status_t rc = fetch(srv.endpoint, &r);
        refused += rc == MCSEC_ERR_IO && r.keyprov_xml == NULL &&
                   strstr(r.message, "the KMS cannot write its audit table: try again later");
        acked += rc == MCSEC_OK;
        if (i == 0)
            printf("%-36s refused: %s\n", "fetch on a full disk", r.message);
        mcsec_kms_fetch_result_free(&r);
    }
    CHECK(refused == 5);
    CHECK(fx_alive(srv.pid));
    CHECK(fx_log_has(&log, "mcsec-kms serve: cannot write the audit table: KMS store ", 10000));
    CHECK(fx_log_has(&log, "disk I/O error while committing: check the disk and permissions", 0));
    printf("%-36s logged: %s\n", "serve on a full disk",
           fx_log_line(&log, "cannot write", line, sizeof line));
    /* A tool beside the daemon: one line, exit status 1, nothing enrolled. */
    long devices = fx_sql_int(db, "SELECT count(*) FROM devices");
    fx_run_t t;
    const char *enroll[] = {MCSEC_KMS_BIN, "enroll", "--dir", dir, "--uri",
                            "sip:bob@example.org", NULL};
    fx_run(enroll, KT_PASS, FX_DISK_FULL, 60, &t);
    CHECK(!t.signaled && t.status == 1 && t.err_lines == 1 &&
          strncmp(t.err, "mcsec-kms enroll: KMS store ", 28) == 0 &&
          strstr(t.err, "disk I/O error while committing: check the disk and permissions") != NULL);
    printf("%-36s exit %d: %s", "enroll on a full disk", t.status, t.err);
    CHECK(fx_sql_int(db, "SELECT count(*) FROM devices") == devices);
    /* Space again: both work, without a restart. */
    CHECK(fx_fsize(srv.pid, RLIM_INFINITY) == 0);
    CHECK_STATUS(fetch(srv.endpoint, &r), MCSEC_OK);
    acked += r.status == MCSEC_OK;
    mcsec_kms_fetch_result_free(&r);
    fx_run(enroll, KT_PASS, 0, 60, &t);
    CHECK(t.status == 0 && strstr(t.out, "device-id: ") != NULL);
    char *sec = strstr(t.out, "curve-secret: ");
    if (sec != NULL)
        fk_device_secret(&secrets, sec + 14);
    CHECK(fx_sql_int(db, "SELECT count(*) FROM devices") == devices + 1);
    CHECK(kt_stop(&srv) == 0);
    fx_log_close(&log);
    /* Nothing acknowledged lost; intact; nothing in the clear. */
    CHECK(fx_integrity_ok(db));
    mcsec_kms_t *kms = NULL;
    long issued = 0;
    CHECK_STATUS(mcsec_kms_open(&kms, dir, KT_PASS, strlen(KT_PASS)), MCSEC_OK);
    if (kms != NULL)
        CHECK_STATUS(mcsec_kms_list_audit(kms, 0, count_issued, &issued), MCSEC_OK);
    mcsec_kms_close(kms);
    CHECK(issued == acked + 1); /* + the fetch that made the pristine store */
    CHECK(fx_scan_store(db, &secrets) == 0);
    CHECK(fk_check_columns(db) == 0);
}

/* The checks themselves: a secret written in the clear, in part or as hex, and a record that
 * is not a documented sealed one, are found. */
static void test_checks_find(void)
{
    char dir[600], db[700], stmt[1024];
    fresh("checks", dir, sizeof dir, db, sizeof db);
    CHECK(fx_scan_store(db, &secrets) == 0 && fk_check_columns(db) == 0);
    const fx_secret_t *z = &secrets.s[0], *ksak = &secrets.s[1]; /* added first, with pieces */
    char *p = stmt + snprintf(stmt, sizeof stmt, "INSERT INTO meta(name, value) VALUES ('x', x'");
    for (size_t i = 30; i < 66; i++) /* 36 octets from the middle of z */
        p += sprintf(p, "%02x", z->v[i]);
    snprintf(p, sizeof stmt - (size_t)(p - stmt), "')");
    CHECK(fx_sql(db, stmt));
    CHECK(fx_scan_store(db, &secrets) == 1);
    CHECK(fk_check_columns(db) == 1);
    fresh("checks-hex", dir, sizeof dir, db, sizeof db);
    p = stmt + snprintf(stmt, sizeof stmt, "UPDATE meta SET value = '");
    for (size_t i = 0; i < ksak->len; i++) /* KSAK as hex text, in the endpoint record */
        p += sprintf(p, "%02X", ksak->v[i]);
    snprintf(p, sizeof stmt - (size_t)(p - stmt), "' WHERE name = 'endpoint'");
    CHECK(fx_sql(db, stmt));
    CHECK(fx_scan_store(db, &secrets) == 1);
}

int main(void)
{
    char dir[512];
    fx_seed();
    signal(SIGXFSZ, SIG_IGN); /* inherited by the daemons: EFBIG instead of a signal */
    mcsec_kms_t *kms = kt_create("kms", dir, sizeof dir);
    mcsec_kms_get_info(kms, &info);
    fk_master_secrets(kms, &secrets);
    mcsec_kms_enroll_t req = {ALICE, MCSEC_KMS_ROLE_HANDSET, NULL, 0, NULL};
    if (mcsec_kms_enroll(kms, &req, &alice) != MCSEC_OK)
        kt_die("enroll");
    fk_device_secret(&secrets, alice.curve_secret);
    mcsec_kms_close(kms);
    /* One issuance through the service, then a clean stop: the pristine store. */
    kt_server_t srv;
    if (kt_spawn(&srv, dir, NULL) != 0)
        return 2;
    mcsec_kms_fetch_result_t r;
    CHECK_STATUS(fetch(srv.endpoint, &r), MCSEC_OK);
    if (r.keyprov_xml != NULL)
        fk_issued_secrets(&secrets, (const uint8_t *)r.keyprov_xml, r.keyprov_len);
    mcsec_kms_fetch_result_free(&r);
    CHECK(kt_stop(&srv) == 0);
    snprintf(pristine, sizeof pristine, "%s/pristine.db", kt_tmpdir());
    char db[600];
    snprintf(db, sizeof db, "%s/kms.db", dir);
    fx_copy(db, pristine);

    test_checks_find();
    test_refused_starts();
    refuses_issuance("audit-page-damaged", damage_audit_page);
    refuses_issuance("audit-table-dropped", drop_audit);
    test_devices_page();
    test_disk_full();

    mcsec_memzero(&alice, sizeof alice);
    fx_secrets_free(&secrets);
    return test_summary();
}
