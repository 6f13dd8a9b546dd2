/* Crash safety: `mcsec-kms serve` is killed with SIGKILL while 40 devices keep it issuing.
 * After a restart: every issuance a device saw acknowledged is in the audit table (action
 * issue, its request id), the store passes SQLite's integrity check, the public keys are
 * unchanged, and the service answers again. */
#include <sqlite3.h>

#include "test.h"

#include "kms_test.h"

#define N_DEVICES 40

typedef struct {
    char uri[64], pub[41], sec[41];
    void *sock;
} crash_dev_t;

static uint64_t *acked;
static size_t n_acked, cap_acked;

static int find_issue(void *user, const mcsec_kms_audit_t *row)
{
    uint8_t *seen = user;
    if (strcmp(row->action, "issue") == 0 && row->status == 0 && row->request_id >= 1 &&
        row->request_id < 1000000)
        seen[row->request_id] = 1;
    return 0;
}

int main(void)
{
    static crash_dev_t devs[N_DEVICES];
    char dir[512];
    kt_raise_nofile();
    mcsec_kms_t *kms = kt_create("kms", dir, sizeof dir);
    mcsec_kms_info_t before, after;
    mcsec_kms_get_info(kms, &before);
    for (int i = 0; i < N_DEVICES; i++) {
        snprintf(devs[i].uri, sizeof devs[i].uri, "sip:unit-%02d@example.org", i);
        mcsec_kms_enroll_t req = {devs[i].uri, MCSEC_KMS_ROLE_HANDSET, NULL, 0, NULL};
        mcsec_kms_credential_t c;
        if (mcsec_kms_enroll(kms, &req, &c) != MCSEC_OK)
            kt_die("enroll");
        memcpy(devs[i].pub, c.curve_public, 41);
        memcpy(devs[i].sec, c.curve_secret, 41);
    }
    mcsec_kms_close(kms);

    kt_server_t srv;
    const char *fast[] = {"--rate", "100000", "--burst", "100000", NULL};
    if (kt_spawn(&srv, dir, fast) != 0)
        return 2;
    void *ctx = zmq_ctx_new();
    uint8_t req[512];
    uint64_t next_id = 1;
    for (int i = 0; i < N_DEVICES; i++) {
        devs[i].sock = kt_dealer(ctx, &srv, before.curve_public, devs[i].pub, devs[i].sec);
        for (int k = 0; k < 2; k++) { /* two requests in flight per device */
            size_t rl = kt_request(req, sizeof req, next_id++, devs[i].uri, 0);
            CHECK(zmq_send(devs[i].sock, req, rl, 0) == (int)rl);
        }
    }
    /* Keep it busy; kill it once a few hundred issuances are acknowledged (or after 20 s). */
    static zmq_pollitem_t items[N_DEVICES];
    time_t deadline = time(NULL) + 20;
    while (n_acked < 300 && time(NULL) < deadline) {
        for (int i = 0; i < N_DEVICES; i++)
            items[i] = (zmq_pollitem_t){devs[i].sock, 0, ZMQ_POLLIN, 0};
        if (zmq_poll(items, N_DEVICES, 500) <= 0)
            continue;
        for (int i = 0; i < N_DEVICES; i++) {
            if (!(items[i].revents & ZMQ_POLLIN))
                continue;
            Mcsec__Kms__KmsResponse *r = kt_recv(devs[i].sock, 0);
            if (r == NULL)
                continue;
            if (r->status == 0 && r->kms_xml.len > 0) {
                if (n_acked == cap_acked) {
                    cap_acked = cap_acked ? 2 * cap_acked : 512;
                    acked = realloc(acked, cap_acked * sizeof *acked);
                }
                acked[n_acked++] = r->request_id;
            }
            mcsec__kms__kms_response__free_unpacked(r, NULL);
            size_t rl = kt_request(req, sizeof req, next_id++, devs[i].uri, 0);
            (void)zmq_send(devs[i].sock, req, rl, ZMQ_DONTWAIT);
        }
    }
    kill(srv.pid, SIGKILL);
    int st = 0;
    waitpid(srv.pid, &st, 0);
    CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
    printf("killed after %zu acknowledged issuances (%llu requests sent)\n", n_acked,
           (unsigned long long)(next_id - 1));
    CHECK(n_acked >= 50);
    for (int i = 0; i < N_DEVICES; i++)
        zmq_close(devs[i].sock);

    /* The store: intact, every acknowledged issuance audited, same public keys. */
    char db_path[600];
    snprintf(db_path, sizeof db_path, "%s/kms.db", dir);
    sqlite3 *db = NULL;
    sqlite3_stmt *q = NULL;
    CHECK(sqlite3_open(db_path, &db) == SQLITE_OK &&
          sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &q, NULL) == SQLITE_OK &&
          sqlite3_step(q) == SQLITE_ROW &&
          strcmp((const char *)sqlite3_column_text(q, 0), "ok") == 0);
    sqlite3_finalize(q);
    sqlite3_close(db);
    CHECK_STATUS(mcsec_kms_open(&kms, dir, KT_PASS, strlen(KT_PASS)), MCSEC_OK);
    if (kms == NULL)
        return test_summary();
    mcsec_kms_get_info(kms, &after);
    CHECK(memcmp(before.Z, after.Z, sizeof before.Z) == 0);
    CHECK(memcmp(before.kpak, after.kpak, sizeof before.kpak) == 0);
    CHECK(strcmp(before.curve_public, after.curve_public) == 0);
    uint8_t *seen = calloc(1000000, 1);
    CHECK_STATUS(mcsec_kms_list_audit(kms, 0, find_issue, seen), MCSEC_OK);
    size_t missing = 0;
    for (size_t i = 0; i < n_acked; i++)
        missing += acked[i] >= 1000000 || !seen[acked[i]];
    CHECK(missing == 0);
    if (missing)
        fprintf(stderr, "%zu acknowledged issuances missing from the audit table\n", missing);
    free(seen);
    free(acked);
    mcsec_kms_close(kms);

    /* Restart: the service resumes. */
    CHECK(kt_spawn(&srv, dir, NULL) == 0);
    mcsec_kms_fetch_result_t r;
    mcsec_kms_fetch_config_t cfg = {.endpoint = srv.endpoint, .kms_public = after.curve_public,
                                    .device_public = devs[0].pub, .device_secret = devs[0].sec,
                                    .user_uri = devs[0].uri, .zmq_context = ctx};
    CHECK_STATUS(mcsec_kms_fetch(&cfg, &r), MCSEC_OK);
    mcsec_kms_fetch_result_free(&r);
    CHECK(kt_stop(&srv) == 0);
    zmq_ctx_term(ctx);
    return test_summary();
}
