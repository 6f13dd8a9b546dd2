/* The Group Manager on a damaged store and on a full disk, each class with its exact outcome.
 *
 * `mcsec-groupmgr serve` refuses to start (exit status 1, not a signal; exactly one line on
 * stderr, "mcsec-groupmgr serve: <what>: <what to do>"; the file left as it was) on a store
 *   - truncated to nothing, to its first page, to half its pages;
 *   - with random octets over its first page or over the meta table's page;
 *   - of a newer format (the params record's or the kek record's format octet);
 *   - with a sealed record altered (the CURVE secret, the KMS parameters, the kek record).
 * It starts, and refuses the affected operations only, when a sealed GMK is altered (the
 * acknowledgement of that GMK is answered MCSEC_ERR_IO and logged, `member add` cannot give a
 * new member that GMK: exit status 1, one line) or a group's sealed key set is altered (`rekey`
 * fails with one line and exit status 1, and journals nothing); a new rekey repairs the group.
 *
 * Disk full (RLIMIT_FSIZE on the running daemon with prlimit, on the tool with setrlimit;
 * SIGXFSZ ignored, so every write of a store fails with EFBIG, which SQLite reports as "disk
 * I/O error"; see FX_DISK_FULL): `rekey` fails with one line and exit status 1 and journals
 * nothing; the service keeps serving: it delivers a GMK committed by another process, but cannot record
 * the delivery or the acknowledgement (logged; the member is told to acknowledge again). With
 * space again (no restart), the member's next registration delivers and records it; after a
 * clean stop the store is intact, every confirmed acknowledgement recorded, no secret in the
 * clear. */
#include <openssl/sha.h>

#include "test.h"
#include "gm_test.h"
#include "faults.h"
#include "gm_faults.h"

#define G "sip:fire-north@example.org"

static char pristine[600], pristine_pub[600];
static gt_kms_t k;
static gt_handset_t alice, bob;
static fx_secrets_t secrets;
static const char *const g1[] = {G};

static void fresh(const char *name, char *dir, size_t dcap, char *db, size_t bcap)
{
    char pub[700];
    snprintf(dir, dcap, "%s/%s", gt_tmpdir(), name);
    snprintf(db, bcap, "%s/groupmgr.db", dir);
    snprintf(pub, sizeof pub, "%s/groupmgr.pub", dir);
    if (mkdir(dir, 0700) != 0)
        exit(2);
    fx_copy(pristine, db);
    fx_copy(pristine_pub, pub);
}

static void digest(const char *path, uint8_t out[32])
{
    size_t n = 0;
    uint8_t *d = fx_read_file(path, &n);
    SHA256(d != NULL ? d : (const uint8_t *)"", n, out);
    free(d);
}

/* Runs a tool to its end: exit status 1, one line starting with prefix and holding want. */
static void tool_fails(const char *what, const char *const *argv, rlim_t fsize, const char *prefix,
                       const char *want)
{
    fx_run_t r;
    fx_run(argv, GT_PASS, fsize, 120, &r);
    int ok = !r.signaled && r.status == 1 && r.err_lines == 1 &&
             strncmp(r.err, prefix, strlen(prefix)) == 0 && strstr(r.err, want) != NULL &&
             strstr(r.out, "serving") == NULL;
    if (!ok)
        fprintf(stderr, "%s: exit %d%s, %zu line(s): %s", what, r.status,
                r.signaled ? " (signal)" : "", r.err_lines, r.err);
    CHECK(ok);
    printf("%-36s exit %d: %s", what, r.status, r.err);
}

static void refuses_to_start(const char *what, const char *dir, const char *db, const char *want)
{
    uint8_t before[32], after[32];
    const char *argv[] = {MCSEC_GROUPMGR_BIN, "serve", "--dir", dir, "--bind",
                          "tcp://127.0.0.1:*", NULL};
    digest(db, before);
    tool_fails(what, argv, 0, "mcsec-groupmgr serve: ", want);
    digest(db, after);
    CHECK_MEM(after, before, 32);
}

/* Changes one octet (0-based offset) of the blob column col of the rows of table matching
 * where. */
static int flip(const char *db, const char *table, const char *col, const char *where, int off)
{
    char stmt[768];
    snprintf(stmt, sizeof stmt,
             "UPDATE %s SET %s = substr(%s, 1, %d) || CASE WHEN substr(%s, %d, 1) = x'00' THEN "
             "x'01' ELSE x'00' END || substr(%s, %d) WHERE %s",
             table, col, col, off, col, off + 1, col, off + 2, where);
    return fx_sql(db, stmt);
}

/* --- Damage that stops the start ------------------------------------------------------------ */

static void test_refused_starts(void)
{
    char dir[600], db[700];
    long pages = fx_sql_int(pristine, "PRAGMA page_count");
    long psize = fx_sql_int(pristine, "PRAGMA page_size");
    long meta_page = fx_sql_int(pristine, "SELECT rootpage FROM sqlite_master WHERE name = 'meta'");
    CHECK(pages > 4 && psize >= 512 && meta_page > 1);

    fresh("truncated-0", dir, sizeof dir, db, sizeof db);
    CHECK(truncate(db, 0) == 0);
    refuses_to_start("truncated to nothing", dir, db,
                     "is not a Group Manager store (no meta table)");

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
                     "has format 2: written by a newer mcsec-groupmgr? upgrade");

    fresh("format-kek", dir, sizeof dir, db, sizeof db);
    {
        sqlite3 *h = NULL;
        sqlite3_stmt *q = NULL;
        uint8_t kek[124];
        int ok = sqlite3_open(db, &h) == SQLITE_OK &&
                 sqlite3_prepare_v2(h, "SELECT value FROM meta WHERE name = 'kek'", -1, &q,
                                    NULL) == SQLITE_OK &&
                 sqlite3_step(q) == SQLITE_ROW && sqlite3_column_bytes(q, 0) == 124;
        if (ok)
            memcpy(kek, sqlite3_column_blob(q, 0), 124);
        sqlite3_finalize(q);
        q = NULL;
        kek[4] = 2;
        SHA256(kek, 92, kek + 92);
        ok = ok && sqlite3_prepare_v2(h, "UPDATE meta SET value = ?1 WHERE name = 'kek'", -1, &q,
                                      NULL) == SQLITE_OK &&
             sqlite3_bind_blob(q, 1, kek, 124, SQLITE_STATIC) == SQLITE_OK &&
             sqlite3_step(q) == SQLITE_DONE;
        sqlite3_finalize(q);
        sqlite3_close(h);
        CHECK(ok);
    }
    refuses_to_start("kek record of format 2", dir, db, "uses format 2, KDF 1: upgrade");

    fresh("sealed-secrets", dir, sizeof dir, db, sizeof db);
    CHECK(flip(db, "meta", "value", "name = 'secrets'", 20));
    refuses_to_start("sealed CURVE secret altered", dir, db,
                     "fails authentication: the store is damaged or was tampered with");

    fresh("sealed-kms", dir, sizeof dir, db, sizeof db);
    CHECK(flip(db, "meta", "value", "name = 'kms'", 20));
    refuses_to_start("sealed KMS parameters altered", dir, db,
                     "fails authentication: the store is damaged or was tampered with");

    fresh("sealed-kek", dir, sizeof dir, db, sizeof db);
    CHECK(flip(db, "meta", "value", "name = 'kek'", 50));
    refuses_to_start("sealed data key altered", dir, db, "is damaged (checksum)");
}

/* --- Damage that stops one operation ---------------------------------------------------------- */

/* Spawns serve on dir with its stderr into log. */
static int spawn(gt_server_t *srv, const char *dir, fx_log_t *log)
{
    memset(srv, 0, sizeof *srv);
    snprintf(srv->errfile, sizeof srv->errfile, "%.400s/serve.log", dir);
    fx_log_open(log, srv->errfile);
    return gt_spawn_bind(srv, dir, "tcp://127.0.0.1:*", NULL);
}

static void test_sealed_gmk(void)
{
    char dir[600], db[700], line[1024];
    gt_server_t srv;
    gt_events_t ev;
    fx_log_t log;
    fresh("sealed-gmk", dir, sizeof dir, db, sizeof db);
    CHECK(flip(db, "gmks", "sealed", "1", 20)); /* every GMK (there is one) */
    if (spawn(&srv, dir, &log) != 0) {
        CHECK(0);
        return;
    }
    /* bob gets the message (built at rekey time) but his acknowledgement cannot be checked. */
    CHECK_STATUS(gt_sync(&bob, &srv, g1, 1, &ev), MCSEC_OK);
    size_t acks = 0, refused = 0;
    for (size_t i = 0; i < ev.n; i++)
        if (ev.ev[i].kind == MCSEC_GMCLIENT_ACK) {
            acks++;
            refused += ev.ev[i].status == MCSEC_ERR_IO &&
                       strstr(ev.ev[i].message, "is damaged") != NULL;
            printf("%-36s ack answered %d: %s\n", "sealed GMK altered", ev.ev[i].status,
                   ev.ev[i].message);
        }
    CHECK(acks == 1 && refused == 1);
    CHECK(fx_log_has(&log, "refused an acknowledgement from sip:bob@example.org", 10000));
    printf("%-36s logged: %s\n", "sealed GMK altered",
           fx_log_line(&log, "refused an acknowledgement", line, sizeof line));
    CHECK(strstr(line, "is damaged") != NULL);
    CHECK(fx_alive(srv.pid));
    /* A new member cannot be given that GMK. */
    const char *add[] = {MCSEC_GROUPMGR_BIN, "member", "add", "--dir", dir, "--group", G,
                         "--member", "sip:carol@example.org", NULL};
    tool_fails("member add, sealed GMK altered", add, 0, "mcsec-groupmgr member add: ",
               "fails authentication: the store is damaged or was tampered with");
    /* A new GMK repairs the group: delivered and acknowledged. */
    const char *rekey[] = {MCSEC_GROUPMGR_BIN, "rekey", "--dir", dir, "--group", G, NULL};
    fx_run_t r;
    fx_run(rekey, GT_PASS, 0, 120, &r);
    unsigned id = 0;
    CHECK(r.status == 0 && sscanf(r.out, "GMK-ID %8x", &id) == 1);
    CHECK_STATUS(gt_sync(&bob, &srv, g1, 1, &ev), MCSEC_OK);
    CHECK(gt_current(&bob, G) == id && gt_count_new(&ev, id) == 1);
    fx_log_drain(&log);
    CHECK(gt_stop(&srv) == 0);
    fx_log_close(&log);
    mcsec_groupmgr_t *gm = gt_gm_open(dir);
    CHECK(gt_delivery_state(gm, G, id, bob.uri, NULL, NULL) == MCSEC_GROUPMGR_ACKED);
    mcsec_groupmgr_close(gm);
}

static void test_sealed_keyset(void)
{
    char dir[600], db[700];
    fresh("sealed-keyset", dir, sizeof dir, db, sizeof db);
    CHECK(flip(db, "keysets", "sealed", "1", 30));
    long gmks = fx_sql_int(db, "SELECT count(*) FROM gmks");
    const char *rekey[] = {MCSEC_GROUPMGR_BIN, "rekey", "--dir", dir, "--group", G, NULL};
    tool_fails("rekey, sealed group key set altered", rekey, 0, "mcsec-groupmgr rekey: ",
               "fails authentication: the store is damaged or was tampered with");
    CHECK(fx_sql_int(db, "SELECT count(*) FROM gmks") == gmks); /* nothing journaled */
}

/* --- Disk full ------------------------------------------------------------------------------- */

static void test_disk_full(void)
{
    char dir[600], db[700], line[1024];
    gt_server_t srv;
    gt_events_t ev;
    fx_log_t log;
    fresh("disk-full", dir, sizeof dir, db, sizeof db);
    if (spawn(&srv, dir, &log) != 0) {
        CHECK(0);
        return;
    }
    mcsec_groupmgr_t *gm = gt_gm_open(dir);
    memset(&ev, 0, sizeof ev);
    mcsec_gmclient_t *ca = gt_client(&alice, &srv, g1, 1);
    CHECK_STATUS(gt_until_idle(ca, &ev, 30000), MCSEC_OK);
    gt_gmks_t h;
    gt_gmks(gm, G, &h);
    size_t gmks = h.n;

    /* The disk is full for the daemon, and for a rekey tool: the tool fails, journaling
     * nothing. */
    CHECK(fx_fsize(srv.pid, FX_DISK_FULL) == 0);
    const char *rekey[] = {MCSEC_GROUPMGR_BIN, "rekey", "--dir", dir, "--group", G, NULL};
    tool_fails("rekey on a full disk", rekey, FX_DISK_FULL, "mcsec-groupmgr rekey: ",
               "disk I/O error while committing: check the disk and permissions");
    gt_gmks(gm, G, &h);
    CHECK(h.n == gmks);

    /* Another process commits a GMK: the service delivers it, but can record neither the
     * delivery nor alice's acknowledgement; she is told to acknowledge again. */
    uint32_t id = gt_rekey(gm, G);
    CHECK(gt_wait_event(ca, &ev, MCSEC_GMCLIENT_GMK, id, 30000));
    CHECK(gt_wait_event(ca, &ev, MCSEC_GMCLIENT_ACK, id, 30000));
    int told = 0;
    for (size_t i = 0; i < ev.n; i++)
        if (ev.ev[i].kind == MCSEC_GMCLIENT_ACK && ev.ev[i].gmk_id == id) {
            told = ev.ev[i].status == MCSEC_ERR_IO &&
                   strstr(ev.ev[i].message, "acknowledge again") != NULL;
            printf("%-36s ack answered %d: %s\n", "serve on a full disk", ev.ev[i].status,
                   ev.ev[i].message);
        }
    CHECK(told);
    CHECK(gt_current(&alice, G) == id);
    CHECK(gt_delivery_state(gm, G, id, alice.uri, NULL, NULL) == MCSEC_GROUPMGR_PENDING);
    CHECK(fx_log_has(&log, "cannot record deliveries and acknowledgements: Group Manager store ",
                     10000));
    printf("%-36s logged: %s\n", "serve on a full disk",
           fx_log_line(&log, "cannot record", line, sizeof line));
    CHECK(strstr(line, "disk I/O error while committing: check the disk and permissions") != NULL);
    CHECK(fx_alive(srv.pid));
    mcsec_gmclient_close(ca);

    /* Space again, no restart: the next registration delivers and records it. */
    CHECK(fx_fsize(srv.pid, RLIM_INFINITY) == 0);
    CHECK_STATUS(gt_sync(&alice, &srv, g1, 1, &ev), MCSEC_OK);
    CHECK(gt_count_new(&ev, id) == 0); /* she has it already */
    CHECK(gt_delivery_state(gm, G, id, alice.uri, NULL, NULL) == MCSEC_GROUPMGR_ACKED);
    CHECK_STATUS(gt_sync(&bob, &srv, g1, 1, &ev), MCSEC_OK);
    CHECK(gt_count_new(&ev, id) == 1);
    CHECK(gt_delivery_state(gm, G, id, bob.uri, NULL, NULL) == MCSEC_GROUPMGR_ACKED);
    /* And a rekey with the tool works again. */
    fx_run_t r;
    fx_run(rekey, GT_PASS, 0, 120, &r);
    CHECK(r.status == 0);
    fx_log_drain(&log);
    CHECK(gt_stop(&srv) == 0);
    fx_log_close(&log);
    mcsec_groupmgr_close(gm);
    CHECK(fx_integrity_ok(db));
    fx_secrets_t all = {NULL, 0, 0};
    for (size_t i = 0; i < secrets.n; i++)
        fx_secret_add_as(&all, secrets.s[i].what, secrets.s[i].v, secrets.s[i].len,
                         secrets.s[i].pieces);
    gf_handset_gmks(&alice, &all);
    gf_handset_gmks(&bob, &all);
    CHECK(fx_scan_store(db, &all) == 0);
    fx_secrets_free(&all);
    CHECK(gf_check_columns(db) == 0);
}

int main(void)
{
    char dir[512];
    gt_server_t srv;
    gt_events_t ev;
    fx_seed();
    signal(SIGXFSZ, SIG_IGN); /* inherited by the daemons: EFBIG instead of a signal */
    gt_kms_new(&k);
    mcsec_groupmgr_t *gm = gt_gm_create("gm", dir, sizeof dir);
    gf_gm_secrets(gm, &secrets);
    gf_group(gm, &k, G, MCSEC_GROUPMGR_LIFETIME_DEFAULT, &secrets);
    gt_handset(&alice, &k, "sip:alice@example.org");
    gt_handset(&bob, &k, "sip:bob@example.org");
    const char *ab[] = {alice.uri, bob.uri};
    gt_members(gm, G, ab, 2);
    uint32_t first = gt_rekey(gm, G);
    mcsec_groupmgr_close(gm);
    /* alice receives the first GMK through the service, then a clean stop: the pristine
     * store (bob's message not acknowledged yet). */
    if (gt_spawn(&srv, dir, NULL) != 0)
        return 2;
    CHECK_STATUS(gt_sync(&alice, &srv, g1, 1, &ev), MCSEC_OK);
    CHECK(gt_current(&alice, G) == first);
    CHECK(gt_stop(&srv) == 0);
    snprintf(pristine, sizeof pristine, "%s/pristine.db", gt_tmpdir());
    snprintf(pristine_pub, sizeof pristine_pub, "%s/pristine.pub", gt_tmpdir());
    char db[600], pub[600];
    snprintf(db, sizeof db, "%s/groupmgr.db", dir);
    snprintf(pub, sizeof pub, "%s/groupmgr.pub", dir);
    fx_copy(db, pristine);
    fx_copy(pub, pristine_pub);

    test_refused_starts();
    test_sealed_gmk();
    test_sealed_keyset();
    test_disk_full();

    gt_handset_close(&alice);
    gt_handset_close(&bob);
    fx_secrets_free(&secrets);
    mcsec_memzero(&k, sizeof k);
    return test_summary();
}
