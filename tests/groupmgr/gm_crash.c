/* kill -9 during rekeys of a large group (2,000 members: five handsets and 1,995 members that
 * never connect), with real processes:
 *   A. `mcsec-groupmgr rekey` killed while building: the GMK is journaled, no message exists;
 *      `serve`, started afterwards, completes that same GMK (same GMK-ID, one GMK in the
 *      history, every member's message committed at once) and the handsets receive it; it
 *      answers a registration while that rekey is still running;
 *   B. `serve` killed while pushing a new GMK to connected handsets: restarted, it delivers the
 *      rest; the handsets (reconnecting by themselves) end with the same current GMK and none
 *      stored any GMK twice as new;
 *   C. the rekey tool killed again, then run again: it completes the interrupted rekey instead
 *      of making a second GMK. */
#include "test.h"
#include "gm_test.h"

#define L "sip:all-hands@example.org"
#define N_MEMBERS 2000
#define N_HANDSETS 5

static char dir[512];

/* Starts `mcsec-groupmgr rekey --dir dir --group L`, kills it with SIGKILL once its GMK is
 * journaled (BUILDING). Returns the GMK-ID of the interrupted rekey, 0 if the tool finished
 * before it could be killed. */
static uint32_t interrupted_rekey(mcsec_groupmgr_t *gm)
{
    gt_gmks_t h;
    gt_gmks(gm, L, &h);
    size_t before = h.n;
    pid_t pid = fork();
    if (pid < 0)
        exit(2);
    if (pid == 0) {
        int null = open("/dev/null", O_WRONLY);
        if (null >= 0) {
            dup2(null, 1);
            dup2(null, 2);
        }
        setenv("MCSEC_PASSPHRASE", GT_PASS, 1);
        execl(MCSEC_GROUPMGR_BIN, MCSEC_GROUPMGR_BIN, "rekey", "--dir", dir, "--group", L,
              (char *)NULL);
        _exit(127);
    }
    uint32_t id = 0;
    double end = gt_now() + 60;
    while (gt_now() < end) {
        gt_gmks(gm, L, &h);
        if (h.n > before) {
            if (h.g[h.n - 1].status == MCSEC_GROUPMGR_GMK_BUILDING) {
                gt_kill9(pid);
                id = h.g[h.n - 1].gmk_id;
                /* Killed before its commit? (It may have committed just before the signal.) */
                gt_gmks(gm, L, &h);
                if (h.g[h.n - 1].status != MCSEC_GROUPMGR_GMK_BUILDING)
                    id = 0;
                return id;
            }
            break; /* already ACTIVE: too quick */
        }
        gt_sleep_ms(2);
    }
    gt_kill9(pid);
    return 0;
}

static void check_same_current(gt_handset_t *hs, uint32_t want)
{
    for (int i = 0; i < N_HANDSETS; i++)
        CHECK(gt_current(&hs[i], L) == want);
}

int main(void)
{
    gt_kms_t k;
    gt_server_t srv;
    gt_handset_t hs[N_HANDSETS];
    gt_events_t ev[N_HANDSETS];
    const char *gl[] = {L};
    char **uris = calloc(N_MEMBERS, sizeof *uris);

    gt_kms_new(&k);
    mcsec_groupmgr_t *gm = gt_gm_create("gm", dir, sizeof dir);
    gt_group(gm, &k, L, MCSEC_GROUPMGR_LIFETIME_DEFAULT);
    for (int i = 0; i < N_MEMBERS; i++) {
        uris[i] = malloc(64);
        snprintf(uris[i], 64, "sip:m%05d@example.org", i);
    }
    for (int i = 0; i < N_HANDSETS; i++)
        gt_handset(&hs[i], &k, uris[i * 400]);
    gt_members(gm, L, (const char *const *)uris, N_MEMBERS);

    /* --- A: the rekey tool killed while building; serve completes it -------------------- */
    uint32_t a = 0;
    for (int tries = 0; tries < 3 && a == 0; tries++)
        a = interrupted_rekey(gm);
    CHECK(a != 0);
    gt_gmks_t h;
    gt_gmks(gm, L, &h);
    size_t building = 0;
    for (size_t i = 0; i < h.n; i++)
        building += h.g[i].status == MCSEC_GROUPMGR_GMK_BUILDING;
    CHECK(building == 1);
    CHECK(h.n >= 1 && h.g[h.n - 1].gmk_id == a && h.g[h.n - 1].pending == 0 &&
          h.g[h.n - 1].sent == 0 && h.g[h.n - 1].acked == 0); /* not one message */
    size_t gmks_before = h.n;
    if (gt_spawn(&srv, dir, NULL) != 0)
        return 2;
    /* The service answers while its background thread completes the rekey: a handset
     * registered at once is admitted (nothing to deliver yet), and gets the GMK pushed. */
    memset(&ev[0], 0, sizeof ev[0]);
    mcsec_gmclient_t *c0 = gt_client(&hs[0], &srv, gl, 1);
    CHECK(gt_wait_event(c0, &ev[0], MCSEC_GMCLIENT_REGISTERED, 0, 10000));
    gt_gmks(gm, L, &h);
    CHECK(h.n > 0 && h.g[h.n - 1].gmk_id == a &&
          h.g[h.n - 1].status == MCSEC_GROUPMGR_GMK_BUILDING); /* answered during the rekey */
    CHECK(ev[0].n > 0 && ev[0].ev[0].backlog == 0);
    CHECK(gt_wait_event(c0, &ev[0], MCSEC_GMCLIENT_GMK, a, 60000));
    CHECK_STATUS(gt_until_idle(c0, &ev[0], 30000), MCSEC_OK);
    CHECK(gt_count_new(&ev[0], a) == 1);
    mcsec_gmclient_close(c0);
    double end = gt_now() + 60;
    while (gt_now() < end) {
        gt_gmks(gm, L, &h);
        if (h.n > 0 && h.g[h.n - 1].status == MCSEC_GROUPMGR_GMK_ACTIVE)
            break;
        gt_sleep_ms(50);
    }
    CHECK(h.n == gmks_before); /* no second GMK for the same rekey */
    CHECK(h.n > 0 && h.g[h.n - 1].gmk_id == a && h.g[h.n - 1].status == MCSEC_GROUPMGR_GMK_ACTIVE);
    CHECK(h.n > 0 && h.g[h.n - 1].pending + h.g[h.n - 1].sent + h.g[h.n - 1].acked == N_MEMBERS);
    CHECK(h.n > 0 && h.g[h.n - 1].acked == 1); /* hs[0], pushed */
    CHECK(h.n > 0 && h.g[h.n - 1].current && strcmp(h.g[h.n - 1].reason, "command") == 0);
    CHECK(gt_log_has(&srv, "completed 1 interrupted rekey(s)"));
    for (int i = 1; i < N_HANDSETS; i++) {
        CHECK_STATUS(gt_sync(&hs[i], &srv, gl, 1, &ev[i]), MCSEC_OK);
        CHECK(gt_count_new(&ev[i], a) == 1);
    }
    check_same_current(hs, a);

    /* --- B: serve killed while pushing a rekey to connected handsets --------------------- */
    mcsec_gmclient_t *c[N_HANDSETS];
    for (int i = 0; i < N_HANDSETS; i++) {
        memset(&ev[i], 0, sizeof ev[i]);
        c[i] = gt_client(&hs[i], &srv, gl, 1);
        CHECK_STATUS(gt_until_idle(c[i], &ev[i], 30000), MCSEC_OK);
    }
    uint32_t b = gt_rekey(gm, L);
    /* Let the first push reach someone, then kill the service mid-way. */
    CHECK(gt_wait_event(c[0], &ev[0], MCSEC_GMCLIENT_GMK, b, 15000));
    gt_kill9(srv.pid);
    srv.pid = 0;
    unsigned acked_before = 0;
    for (int i = 0; i < N_HANDSETS; i++)
        acked_before += gt_delivery_state(gm, L, b, hs[i].uri, NULL, NULL) == MCSEC_GROUPMGR_ACKED;
    /* Restart on the same port, so that the handsets' own reconnection finds it. */
    char old_endpoint[256];
    snprintf(old_endpoint, sizeof old_endpoint, "%s", srv.endpoint);
    CHECK(gt_spawn_bind(&srv, dir, old_endpoint, NULL) == 0);
    for (int i = 0; i < N_HANDSETS; i++) {
        CHECK(gt_wait_event(c[i], &ev[i], MCSEC_GMCLIENT_GMK, b, 30000));
        CHECK_STATUS(gt_until_idle(c[i], &ev[i], 30000), MCSEC_OK);
        CHECK(gt_count_new(&ev[i], b) == 1); /* delivered once as new, whatever was re-sent */
        CHECK(gt_count_new(&ev[i], a) == 0);
        CHECK(gt_delivery_state(gm, L, b, hs[i].uri, NULL, NULL) == MCSEC_GROUPMGR_ACKED);
        mcsec_gmclient_close(c[i]);
    }
    check_same_current(hs, b);
    CHECK(acked_before <= N_HANDSETS);
    gt_gmks(gm, L, &h);
    CHECK(h.n == gmks_before + 1); /* the kill made no GMK and lost none */

    /* --- C: the rekey tool killed, then run again: it finishes that rekey ----------------- */
    CHECK(gt_stop(&srv) == 0); /* else serve would complete it first */
    uint32_t cc = 0;
    for (int tries = 0; tries < 3 && cc == 0; tries++)
        cc = interrupted_rekey(gm);
    CHECK(cc != 0);
    {
        char cmd[1024];
        snprintf(cmd, sizeof cmd, "MCSEC_PASSPHRASE='%s' '%s' rekey --dir '%s' --group '%s'",
                 GT_PASS, MCSEC_GROUPMGR_BIN, dir, L);
        FILE *f = popen(cmd, "r");
        char out[512] = "";
        CHECK(f != NULL && fgets(out, sizeof out, f) != NULL);
        CHECK(f != NULL && pclose(f) == 0);
        char want[64];
        snprintf(want, sizeof want, "GMK-ID %08" PRIx32 " for " L, cc);
        CHECK(strncmp(out, want, strlen(want)) == 0);
        CHECK(strstr(out, "(completed an interrupted rekey)") != NULL);
    }
    gt_gmks(gm, L, &h);
    CHECK(h.n == gmks_before + 2);
    CHECK(h.n > 0 && h.g[h.n - 1].gmk_id == cc && h.g[h.n - 1].current &&
          h.g[h.n - 1].pending == N_MEMBERS);
    if (gt_spawn(&srv, dir, NULL) != 0)
        return 2;
    for (int i = 0; i < N_HANDSETS; i++) {
        CHECK_STATUS(gt_sync(&hs[i], &srv, gl, 1, &ev[i]), MCSEC_OK);
        CHECK(gt_count_new(&ev[i], cc) == 1 && gt_count_new(&ev[i], b) == 0);
    }
    check_same_current(hs, cc);
    CHECK(gt_stop(&srv) == 0);

    for (int i = 0; i < N_HANDSETS; i++)
        gt_handset_close(&hs[i]);
    for (int i = 0; i < N_MEMBERS; i++)
        free(uris[i]);
    free(uris);
    mcsec_groupmgr_close(gm);
    return test_summary();
}
