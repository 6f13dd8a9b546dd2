/* kill -9 of the Group Manager at random moments during rekeys, N times (argv[1] or
 * MCSEC_FAULTS_N; CI runs a few, the documented long run 50). Two groups on a real SQLite
 * store, each with offline members and five live handsets (registered for both, reconnecting
 * by themselves). Each iteration picks one fault at random:
 *   0. `mcsec-groupmgr rekey` killed at a random moment (serve completes what it journaled);
 *   1. `serve` killed at a random moment while a rekey tool runs to its end;
 *   2. both killed at the same moment;
 *   3. the rekey tool killed, then `serve` killed at a random moment while it completes the
 *      interrupted rekey itself.
 * Right after the fault (the store as the crash left it): integrity_check ok, one current GMK
 * per group, no failed GMK, timestamps increasing, every ACTIVE GMK with one message per member,
 * no secret in the clear (the data key, the CURVE secret, the group identities' keys, every GMK
 * the handsets hold) in groupmgr.db, its WAL or shared memory, and only the documented sealed
 * formats in the tables. Then `serve` is restarted (same port) and, once settled (nothing left
 * building): every handset's current GMK is the store's current GMK of each group, every GMK a
 * handset stored is in the history as ACTIVE and was stored once as new, every GMK whose
 * acknowledgement the manager confirmed is ACKED in the store, and every GMK a rekey tool
 * reported is in the history. */
#include "test.h"
#include "gm_test.h"
#include "faults.h"
#include "gm_faults.h"

#define G1 "sip:fire-north@example.org"
#define G2 "sip:ops@example.org"
#define N_LIVE 5
#define SETTLE_S 60

static char dir[512], db[600];
static gf_live_t live[N_LIVE];
static fx_secrets_t secrets; /* the manager's and the groups' (the GMKs are added per check) */
static size_t members[2];
static const char *const groups[2] = {G1, G2};

/* Rekey tool runs that reported a GMK. */
static struct {
    char group[64];
    uint32_t id;
} reported[4096];
static size_t n_reported;

typedef struct {
    pid_t pid;
    int group;
    char out[600];
} tool_t;

static void tool_start(tool_t *t, int group)
{
    static int seq;
    t->group = group;
    snprintf(t->out, sizeof t->out, "%s/rekey-%d.out", gt_tmpdir(), seq++);
    t->pid = fork();
    if (t->pid < 0)
        exit(2);
    if (t->pid == 0) {
        int o = open(t->out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        int null = open("/dev/null", O_WRONLY);
        if (o < 0 || null < 0)
            _exit(126);
        dup2(o, 1);
        dup2(null, 2);
        setenv("MCSEC_PASSPHRASE", GT_PASS, 1);
        execl(MCSEC_GROUPMGR_BIN, MCSEC_GROUPMGR_BIN, "rekey", "--dir", dir, "--group",
              groups[group], (char *)NULL);
        _exit(127);
    }
}

/* Waits for the tool (block) or looks once; records what it reported. 1 once it has ended. */
static int tool_reap(tool_t *t, int block)
{
    int st = 0;
    if (t->pid <= 0)
        return 1;
    if (waitpid(t->pid, &st, block ? 0 : WNOHANG) != t->pid)
        return 0;
    t->pid = 0;
    if (WIFEXITED(st) && WEXITSTATUS(st) == 0) {
        size_t n = 0;
        uint8_t *o = fx_read_file(t->out, &n);
        unsigned id = 0;
        if (o != NULL && sscanf((const char *)o, "GMK-ID %8x", &id) == 1 && n_reported < 4096) {
            snprintf(reported[n_reported].group, 64, "%s", groups[t->group]);
            reported[n_reported++].id = id;
        } else {
            fprintf(stderr, "a rekey tool succeeded without reporting its GMK\n");
            CHECK(0);
        }
        free(o);
    } else {
        CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL); /* only ever killed, never failed */
    }
    return 1;
}

static void kill_tool(tool_t *t)
{
    if (t->pid > 0)
        kill(t->pid, SIGKILL);
    tool_reap(t, 1);
}

/* Pumps the handsets for ms. */
static void pump_for(unsigned ms)
{
    double end = fx_now() + ms / 1000.0;
    do
        gf_pump(live, N_LIVE, 10);
    while (fx_now() < end);
}

/* Checks on the store as it is (the daemon down or running). */
static void check_store(mcsec_groupmgr_t *gm, int settled)
{
    gf_history_t h = {NULL, 0, 0};
    CHECK(fx_integrity_ok(db));
    for (int g = 0; g < 2; g++) {
        gf_history(gm, groups[g], &h);
        CHECK(gf_check_history(&h, groups[g], members[g], settled) == 0);
        for (size_t r = 0; r < n_reported; r++) {
            if (strcmp(reported[r].group, groups[g]) != 0)
                continue;
            const mcsec_groupmgr_gmk_info_t *x = gf_find(&h, reported[r].id);
            CHECK(x != NULL && x->status == MCSEC_GROUPMGR_GMK_ACTIVE);
        }
    }
    free(h.g);
    fx_secrets_t all = {NULL, 0, 0};
    for (size_t i = 0; i < secrets.n; i++)
        fx_secret_add_as(&all, secrets.s[i].what, secrets.s[i].v, secrets.s[i].len,
                         secrets.s[i].pieces);
    for (int i = 0; i < N_LIVE; i++)
        gf_handset_gmks(&live[i].h, &all);
    CHECK(fx_scan_store(db, &all) == 0);
    fx_secrets_free(&all);
    CHECK(gf_check_columns(db) == 0);
}

/* Waits until nothing is building and every handset holds each group's current GMK, and its
 * acknowledgement is recorded. 1 if settled in time. */
static int settle(mcsec_groupmgr_t *gm)
{
    double end = fx_now() + SETTLE_S;
    while (fx_now() < end) {
        pump_for(50);
        int done = 1;
        for (int g = 0; g < 2 && done; g++) {
            size_t nc = 0;
            done = !gf_building(gm, groups[g]);
            uint32_t cur = gf_current(gm, groups[g], &nc);
            for (int i = 0; i < N_LIVE && done; i++)
                done = gt_current(&live[i].h, groups[g]) == cur &&
                       gt_delivery_state(gm, groups[g], cur, live[i].h.uri, NULL, NULL) ==
                           MCSEC_GROUPMGR_ACKED;
        }
        if (done)
            return 1;
    }
    for (int g = 0; g < 2; g++) {
        size_t nc = 0;
        uint32_t cur = gf_current(gm, groups[g], &nc);
        fprintf(stderr, "not settled: %s: building %d, current %08x (%zu current)\n", groups[g],
                gf_building(gm, groups[g]), cur, nc);
        for (int i = 0; i < N_LIVE; i++) {
            char q[512];
            snprintf(q, sizeof q, "SELECT d.state FROM deliveries d JOIN gmks g ON g.id = d.gmk "
                     "WHERE g.gmk_id = %u AND d.member_uri = '%.200s'", cur, live[i].h.uri);
            fprintf(stderr, "  %s: holds %08x, delivery state %d (fresh connection: %lld), "
                            "idle %d\n",
                    live[i].h.uri, gt_current(&live[i].h, groups[g]),
                    gt_delivery_state(gm, groups[g], cur, live[i].h.uri, NULL, NULL),
                    fx_sql_int(db, q), mcsec_gmclient_idle(live[i].c));
        }
    }
    return 0;
}

/* After settling: what the handsets saw agrees with the store. */
static void check_handsets(mcsec_groupmgr_t *gm)
{
    gf_history_t h = {NULL, 0, 0};
    long lost = 0, twice = 0, unacked = 0, behind = 0;
    for (int g = 0; g < 2; g++) {
        size_t nc = 0;
        uint32_t cur = gf_current(gm, groups[g], &nc);
        gf_history(gm, groups[g], &h);
        for (int i = 0; i < N_LIVE; i++) {
            gf_live_t *l = &live[i];
            behind += gt_current(&l->h, groups[g]) != cur;
            for (size_t k = 0; k < l->n; k++) {
                if (strcmp(l->g[k].group, groups[g]) != 0)
                    continue;
                const mcsec_groupmgr_gmk_info_t *x = gf_find(&h, l->g[k].id);
                lost += x == NULL || x->status != MCSEC_GROUPMGR_GMK_ACTIVE;
                twice += l->g[k].news > 1;
                if (l->g[k].acked)
                    unacked += gt_delivery_state(gm, groups[g], l->g[k].id, l->h.uri, NULL,
                                                 NULL) != MCSEC_GROUPMGR_ACKED;
            }
        }
    }
    if (lost || twice || unacked || behind)
        fprintf(stderr, "handsets: %ld GMKs not in the history, %ld stored twice as new, %ld "
                        "confirmed acknowledgements lost, %ld behind\n",
                lost, twice, unacked, behind);
    CHECK(lost == 0 && twice == 0 && unacked == 0 && behind == 0);
    free(h.g);
}

int main(int argc, char **argv)
{
    long n_iter = fx_param(argc, argv, "MCSEC_FAULTS_N", 3);
    long n_offline = 40;
    const char *m = getenv("MCSEC_FAULTS_MEMBERS");
    if (m != NULL)
        n_offline = atol(m) > 0 ? atol(m) : n_offline;
    fx_seed();
    gt_kms_t k;
    gt_kms_new(&k);
    mcsec_groupmgr_t *gm = gt_gm_create("gm", dir, sizeof dir);
    snprintf(db, sizeof db, "%s/groupmgr.db", dir);
    gf_gm_secrets(gm, &secrets);
    fx_secret_add_pieces(&secrets, "the KMS master secret z", k.z, sizeof k.z);
    fx_secret_add_pieces(&secrets, "the KMS master secret KSAK", k.ksak, sizeof k.ksak);
    gf_group(gm, &k, G1, MCSEC_GROUPMGR_LIFETIME_DEFAULT, &secrets);
    gf_group(gm, &k, G2, MCSEC_GROUPMGR_LIFETIME_DEFAULT, &secrets);
    for (int i = 0; i < N_LIVE; i++) {
        char uri[64];
        snprintf(uri, sizeof uri, "sip:live-%d@example.org", i);
        gt_handset(&live[i].h, &k, uri);
        for (int s = 0; s < 2; s++) {
            fx_secret_add(&secrets, "a handset SSK", live[i].h.sets[s].ssk,
                          sizeof live[i].h.sets[s].ssk);
            fx_secret_add(&secrets, "a handset RSK", live[i].h.sets[s].rsk,
                          sizeof live[i].h.sets[s].rsk);
        }
        const char *one[] = {uri};
        gt_members(gm, G1, one, 1);
        gt_members(gm, G2, one, 1);
    }
    for (long i = 0; i < n_offline; i++) {
        char uri[64];
        snprintf(uri, sizeof uri, "sip:off-%05ld@example.org", i);
        const char *one[] = {uri};
        gt_members(gm, G1, one, 1);
        if (i % 4 == 0)
            gt_members(gm, G2, one, 1);
    }
    members[0] = N_LIVE + (size_t)n_offline;
    members[1] = N_LIVE + (size_t)(n_offline + 3) / 4;
    (void)gt_rekey(gm, G1);
    (void)gt_rekey(gm, G2);

    gt_server_t srv;
    if (gt_spawn(&srv, dir, NULL) != 0)
        return 2;
    char endpoint[256];
    snprintf(endpoint, sizeof endpoint, "%s", srv.endpoint);
    for (int i = 0; i < N_LIVE; i++)
        live[i].c = gt_client(&live[i].h, &srv, groups, 2);
    CHECK(settle(gm));

    /* How long one rekey takes with the tool: the random moments fall within it. */
    tool_t t = {0, 0, ""};
    double t0 = fx_now();
    tool_start(&t, 0);
    while (!tool_reap(&t, 0))
        pump_for(10);
    unsigned rekey_ms = (unsigned)((fx_now() - t0) * 1000);
    printf("one rekey with the tool: %u ms (%zu + %zu members)\n", rekey_ms, members[0],
           members[1]);
    CHECK(settle(gm));

    double t_start = fx_now();
    long kills = 0, interrupted = 0;
    for (long it = 0; it < n_iter; it++) {
        int kind = (int)(fx_rand() % 4), group = (int)(fx_rand() % 2);
        unsigned at = fx_between(0, rekey_ms + rekey_ms / 5);
        int serve_killed = 0;
        tool_t tool = {0, 0, ""};
        tool_start(&tool, group);
        double when = fx_now() + at / 1000.0;
        while (fx_now() < when && !(kind == 0 && tool.pid == 0)) {
            pump_for(5);
            if (kind != 1 && kind != 2)
                tool_reap(&tool, 0);
        }
        if (kind == 0 || kind == 2 || kind == 3)
            kill_tool(&tool);
        if (kind == 1 || kind == 2) {
            gt_kill9(srv.pid);
            serve_killed = 1;
        }
        if (kind == 3) {
            /* serve completes what the tool journaled (at once or on its next pass); kill it
             * at a random moment of that. */
            unsigned at2 = fx_between(0, 1500);
            pump_for(at2);
            gt_kill9(srv.pid);
            serve_killed = 1;
            at += at2;
        }
        kills++;
        while (!tool_reap(&tool, 0))
            pump_for(10); /* kind 1: the tool goes on to its end */
        int building = gf_building(gm, groups[group]);
        interrupted += building;
        printf("iteration %ld: fault %d on %s at %u ms%s\n", it + 1, kind, groups[group], at,
               building ? ", a GMK left building" : "");
        fflush(stdout);
        check_store(gm, 0);
        if (serve_killed) {
            srv.pid = 0;
            if (gt_spawn_bind(&srv, dir, endpoint, NULL) != 0) {
                CHECK(0);
                break;
            }
        }
        int ok = settle(gm);
        CHECK(ok);
        if (!ok)
            break;
        check_handsets(gm);
        check_store(gm, 1);
    }
    printf("%ld faults in %.1f s; %ld left a GMK building; %zu rekeys reported by the tool\n",
           kills, fx_now() - t_start, interrupted, n_reported);
    CHECK(gt_alive(&srv));
    CHECK(gt_stop(&srv) == 0);
    for (int i = 0; i < N_LIVE; i++) {
        long refused = live[i].refused;
        CHECK(refused == 0);
        mcsec_gmclient_close(live[i].c);
        gt_handset_close(&live[i].h);
    }
    check_store(gm, 1);
    mcsec_groupmgr_close(gm);
    fx_secrets_free(&secrets);
    mcsec_memzero(&k, sizeof k);
    return test_summary();
}
