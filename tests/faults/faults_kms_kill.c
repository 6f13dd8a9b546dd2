/* kill -9 of the KMS at random moments, N times (argv[1] or MCSEC_FAULTS_N; CI runs a few, the
 * documented long run 50): `mcsec-kms serve` on a real SQLite store is killed with SIGKILL at
 * a random moment while 24 devices keep it issuing (and refusing: every fifth request asks for
 * another identity) and while `mcsec-kms enroll` runs beside it (killed at the same moment when
 * it is still running). Before each restart, on the store as the crash left it:
 *   - integrity_check ok;
 *   - the public parameters and the sealed records byte for byte as created;
 *   - every response a device received is audited: an issuance as "issue" (status 0, its
 *     device, its URI), a refusal as "refuse" with the status the device saw, each request id
 *     once only;
 *   - every device `enroll` reported exists, and devices and "enroll" rows match one to one;
 *   - no secret in the clear in kms.db, its WAL or shared memory (the master secrets, every
 *     device's CURVE secret, the keys issued), and the tables hold only the documented sealed
 *     formats.
 * After the restart (on the same port: the devices reconnect by themselves) a fetch succeeds. */
#include "test.h"

#include "kms_test.h"
#include "faults.h"
#include "kms_faults.h"

#define N_DEVICES 24
#define IN_FLIGHT 2
#define REFUSE_EVERY 5
#define MAX_SEEN 400000
#define MAX_ISSUED_KEPT 64 /* issued key sets looked for in the store (each scan reads them all) */

typedef struct {
    char uri[64], pub[41], sec[41];
    int64_t id;
    void *sock;
    int in_flight;
} dev_t_;

/* What devices saw: request id -> device index + 1 and status. */
typedef struct {
    int dev;        /* 0: not seen */
    int status;
    int issued;     /* keys in the response */
} seen_t;

static dev_t_ devs[N_DEVICES];
static seen_t *seen;
static uint64_t next_id = 1;
static fx_secrets_t secrets;
static int issued_kept;
static char dir[512], db[600];

static void send_one(int i)
{
    uint8_t req[512];
    if (next_id >= MAX_SEEN)
        return;
    /* Every fifth request asks for another identity: a refusal the KMS must audit. */
    const char *uri = next_id % REFUSE_EVERY == 0 ? devs[(i + 1) % N_DEVICES].uri : devs[i].uri;
    size_t rl = kt_request(req, sizeof req, next_id++, uri, 0);
    if (zmq_send(devs[i].sock, req, rl, ZMQ_DONTWAIT) == (int)rl)
        devs[i].in_flight++;
}

/* Reads whatever device i has received. Returns the number of responses. */
static int take(int i, int keep_issued)
{
    int got = 0;
    Mcsec__Kms__KmsResponse *r;
    while ((r = kt_recv(devs[i].sock, 0)) != NULL) {
        got++;
        if (devs[i].in_flight > 0)
            devs[i].in_flight--;
        if (r->request_id > 0 && r->request_id < MAX_SEEN) {
            seen_t *s = &seen[r->request_id];
            s->dev = i + 1;
            s->status = r->status;
            s->issued = r->status == 0 && r->kms_xml.len > 0;
            if (s->issued && keep_issued && issued_kept < MAX_ISSUED_KEPT) {
                fk_issued_secrets(&secrets, r->kms_xml.data, r->kms_xml.len);
                issued_kept++;
            }
        }
        if (r->kms_xml.len > 0)
            mcsec_memzero(r->kms_xml.data, r->kms_xml.len);
        mcsec__kms__kms_response__free_unpacked(r, NULL);
    }
    return got;
}

/* `mcsec-kms enroll` runs beside the service, one after another. */
typedef struct {
    pid_t pid;
    char out[600], uri[64];
    int runs, reported;
    struct {
        char uri[64];
        int64_t id;
    } ok[4096];
} enroller_t;

static void enroll_start(enroller_t *e, int iteration)
{
    snprintf(e->uri, sizeof e->uri, "sip:late-%d-%d@example.org", iteration, e->runs++);
    snprintf(e->out, sizeof e->out, "%s/enroll.out", kt_tmpdir());
    e->pid = fork();
    if (e->pid < 0)
        exit(2);
    if (e->pid == 0) {
        int o = open(e->out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        int null = open("/dev/null", O_WRONLY);
        if (o < 0 || null < 0)
            _exit(126);
        dup2(o, 1);
        dup2(null, 2);
        setenv("MCSEC_PASSPHRASE", KT_PASS, 1);
        execl(MCSEC_KMS_BIN, MCSEC_KMS_BIN, "enroll", "--dir", dir, "--uri", e->uri,
              (char *)NULL);
        _exit(127);
    }
}

/* Collects a finished enrolment (what it printed); 1 if it had finished. */
static int enroll_reap(enroller_t *e, int block)
{
    int st = 0;
    if (e->pid <= 0 || waitpid(e->pid, &st, block ? 0 : WNOHANG) != e->pid)
        return 0;
    e->pid = 0;
    if (WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL)
        return 1; /* killed by this test: it reported nothing */
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0); /* else it never fails */
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
        return 1;
    size_t n = 0;
    uint8_t *o = fx_read_file(e->out, &n);
    char *txt = (char *)o, *id = txt ? strstr(txt, "device-id: ") : NULL;
    char *sec = txt ? strstr(txt, "curve-secret: ") : NULL;
    if (id != NULL && sec != NULL && e->reported < 4096) {
        snprintf(e->ok[e->reported].uri, 64, "%s", e->uri);
        e->ok[e->reported].id = strtoll(id + 11, NULL, 10);
        e->reported++;
        fk_device_secret(&secrets, sec + 14);
    }
    if (o != NULL)
        mcsec_memzero(o, n);
    free(o);
    return 1;
}

/* --- Invariants ---------------------------------------------------------------------------- */

typedef struct {
    uint8_t *issue, *refuse; /* rows per request id */
    int32_t *refuse_status;
    int64_t *issue_device;
    char (*issue_subject)[MCSEC_KMS_URI_MAX + 1];
    long enroll_rows, bad;
} audit_t;

static int on_audit(void *user, const mcsec_kms_audit_t *row)
{
    audit_t *a = user;
    uint64_t q = row->request_id;
    if (strcmp(row->action, "enroll") == 0)
        a->enroll_rows++;
    if (q == 0 || q >= MAX_SEEN)
        return 0;
    if (strcmp(row->action, "issue") == 0) {
        a->issue[q]++;
        a->issue_device[q] = row->device_id;
        snprintf(a->issue_subject[q], sizeof a->issue_subject[q], "%s", row->subject);
        if (row->status != 0 || row->period_no < 0)
            a->bad++;
    } else if (strcmp(row->action, "refuse") == 0) {
        a->refuse[q]++;
        a->refuse_status[q] = row->status;
    }
    return 0;
}

static long long count_devices_without_enroll_row(void)
{
    return fx_sql_int(db, "SELECT count(*) FROM devices d WHERE (SELECT count(*) FROM audit a "
                          "WHERE a.action = 'enroll' AND a.device = d.id) != 1");
}

static void check_store(const mcsec_kms_info_t *info0, const fk_records_t *rec0,
                        const enroller_t *e, int final)
{
    CHECK(fx_integrity_ok(db));
    fk_records_t rec;
    fk_records(db, &rec);
    CHECK(fk_same_records(rec0, &rec));
    mcsec_kms_t *kms = NULL;
    mcsec_kms_info_t info;
    CHECK_STATUS(mcsec_kms_open(&kms, dir, KT_PASS, strlen(KT_PASS)), MCSEC_OK);
    if (kms == NULL)
        return;
    mcsec_kms_get_info(kms, &info);
    CHECK(fk_same_info(info0, &info));

    audit_t a;
    memset(&a, 0, sizeof a);
    a.issue = calloc(MAX_SEEN, 1);
    a.refuse = calloc(MAX_SEEN, 1);
    a.refuse_status = calloc(MAX_SEEN, sizeof *a.refuse_status);
    a.issue_device = calloc(MAX_SEEN, sizeof *a.issue_device);
    a.issue_subject = calloc(MAX_SEEN, sizeof *a.issue_subject);
    if (a.issue == NULL || a.refuse == NULL || a.refuse_status == NULL ||
        a.issue_device == NULL || a.issue_subject == NULL)
        exit(2);
    CHECK_STATUS(mcsec_kms_list_audit(kms, 0, on_audit, &a), MCSEC_OK);
    long missing = 0, wrong = 0, twice = 0, issued = 0, refused = 0;
    for (uint64_t q = 1; q < next_id; q++) {
        twice += a.issue[q] + a.refuse[q] > 1;
        if (seen[q].dev == 0)
            continue;
        const dev_t_ *d = &devs[seen[q].dev - 1];
        if (seen[q].issued) {
            issued++;
            missing += a.issue[q] != 1;
            wrong += a.issue[q] == 1 &&
                     (a.issue_device[q] != d->id || strcmp(a.issue_subject[q], d->uri) != 0);
        } else if (seen[q].status != 0) {
            refused++;
            missing += a.refuse[q] != 1;
            wrong += a.refuse[q] == 1 && a.refuse_status[q] != seen[q].status;
        }
    }
    if (missing || wrong || twice || a.bad)
        fprintf(stderr, "audit: %ld seen responses missing, %ld wrong, %ld request ids twice, "
                        "%ld bad issue rows\n",
                missing, wrong, twice, a.bad);
    CHECK(missing == 0 && wrong == 0 && twice == 0 && a.bad == 0);
    if (final)
        CHECK(issued > 0); /* the run saw issuance at all (an early kill may see none) */
    /* Enrolment: every reported device is there; devices and "enroll" rows one to one. */
    long lost = 0;
    for (int i = 0; i < e->reported; i++) {
        mcsec_kms_device_t d;
        lost += mcsec_kms_get_device(kms, e->ok[i].id, &d) != MCSEC_OK ||
                strcmp(d.uri, e->ok[i].uri) != 0;
    }
    CHECK(lost == 0);
    CHECK(count_devices_without_enroll_row() == 0);
    CHECK(fx_sql_int(db, "SELECT count(*) FROM devices") == a.enroll_rows);
    free(a.issue);
    free(a.refuse);
    free(a.refuse_status);
    free(a.issue_device);
    free(a.issue_subject);
    mcsec_kms_close(kms);
    /* Secrets: nowhere in the clear; the tables hold only the sealed formats. */
    CHECK(fx_scan_store(db, &secrets) == 0);
    CHECK(fk_check_columns(db) == 0);
}

int main(int argc, char **argv)
{
    long n_iter = fx_param(argc, argv, "MCSEC_FAULTS_N", 3);
    fx_seed();
    kt_raise_nofile();
    if ((seen = calloc(MAX_SEEN, sizeof *seen)) == NULL)
        return 2;
    mcsec_kms_t *kms = kt_create("kms", dir, sizeof dir);
    snprintf(db, sizeof db, "%s/kms.db", dir);
    mcsec_kms_info_t info0;
    mcsec_kms_get_info(kms, &info0);
    fk_master_secrets(kms, &secrets);
    for (int i = 0; i < N_DEVICES; i++) {
        snprintf(devs[i].uri, sizeof devs[i].uri, "sip:unit-%02d@example.org", i);
        mcsec_kms_enroll_t req = {devs[i].uri, MCSEC_KMS_ROLE_HANDSET, NULL, 0, NULL};
        mcsec_kms_credential_t c;
        if (mcsec_kms_enroll(kms, &req, &c) != MCSEC_OK)
            kt_die("enroll");
        memcpy(devs[i].pub, c.curve_public, 41);
        memcpy(devs[i].sec, c.curve_secret, 41);
        devs[i].id = c.device_id;
        fk_device_secret(&secrets, c.curve_secret);
        mcsec_memzero(&c, sizeof c);
    }
    mcsec_kms_close(kms);
    fk_records_t rec0;
    fk_records(db, &rec0);

    char errfile[600];
    snprintf(errfile, sizeof errfile, "%s/serve.err", kt_tmpdir());
    const char *fast[] = {"--rate", "100000", "--burst", "100000", NULL};
    kt_server_t srv;
    if (kt_spawn_log(&srv, dir, NULL, fast, errfile) != 0)
        return 2;
    char endpoint[256];
    snprintf(endpoint, sizeof endpoint, "%s", srv.endpoint);
    void *ctx = zmq_ctx_new();
    for (int i = 0; i < N_DEVICES; i++) {
        devs[i].sock = kt_dealer(ctx, &srv, info0.curve_public, devs[i].pub, devs[i].sec);
        if (devs[i].sock == NULL)
            return 2;
    }

    enroller_t *en = calloc(1, sizeof *en);
    if (en == NULL)
        return 2;
    double t_start = fx_now();
    long kills = 0;
    for (long it = 0; it < n_iter; it++) {
        /* Load: IN_FLIGHT requests per device at all times, enrolments one after another,
         * until a random moment. */
        unsigned after_ms = fx_between(30, 1500);
        int with_enroll = (int)(fx_rand() % 4) != 0;
        double kill_at = fx_now() + after_ms / 1000.0;
        long responses = 0;
        if (with_enroll)
            enroll_start(en, (int)it);
        static zmq_pollitem_t items[N_DEVICES];
        while (fx_now() < kill_at) {
            for (int i = 0; i < N_DEVICES; i++)
                while (devs[i].in_flight < IN_FLIGHT && next_id < MAX_SEEN)
                    send_one(i);
            for (int i = 0; i < N_DEVICES; i++)
                items[i] = (zmq_pollitem_t){devs[i].sock, 0, ZMQ_POLLIN, 0};
            if (zmq_poll(items, N_DEVICES, 5) > 0)
                for (int i = 0; i < N_DEVICES; i++)
                    if (items[i].revents & ZMQ_POLLIN)
                        responses += take(i, (int)(fx_rand() % 16) == 0);
            if (with_enroll && enroll_reap(en, 0))
                enroll_start(en, (int)it);
        }
        /* The fault. */
        kill(srv.pid, SIGKILL);
        if (en->pid > 0)
            kill(en->pid, SIGKILL);
        int st = 0;
        waitpid(srv.pid, &st, 0);
        CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
        kills++;
        enroll_reap(en, 1);
        /* Responses already received by this process count as seen. */
        fx_sleep_ms(100);
        for (int i = 0; i < N_DEVICES; i++) {
            responses += take(i, 0);
            devs[i].in_flight = 0; /* the rest died with the process */
        }
        printf("iteration %ld: killed after %u ms, %ld responses, %s\n", it + 1, after_ms,
               responses, with_enroll ? "enrolling" : "no enrolment");
        fflush(stdout);

        check_store(&info0, &rec0, en, 0);

        /* Restart on the same port; the service answers again. */
        if (kt_spawn_log(&srv, dir, endpoint, fast, errfile) != 0) {
            CHECK(0);
            break;
        }
        mcsec_kms_fetch_result_t r;
        mcsec_kms_fetch_config_t cfg = {.endpoint = endpoint, .kms_public = info0.curve_public,
                                        .device_public = devs[0].pub, .device_secret = devs[0].sec,
                                        .user_uri = devs[0].uri, .zmq_context = ctx,
                                        .timeout_ms = 20000, .attempts = 1};
        CHECK_STATUS(mcsec_kms_fetch(&cfg, &r), MCSEC_OK);
        mcsec_kms_fetch_result_free(&r);
    }
    printf("%ld kills in %.1f s; %llu requests sent, %d enrolments reported, %zu secrets "
           "looked for\n",
           kills, fx_now() - t_start, (unsigned long long)(next_id - 1), en->reported, secrets.n);
    for (int i = 0; i < N_DEVICES; i++)
        zmq_close(devs[i].sock);
    CHECK(kt_stop(&srv) == 0);
    check_store(&info0, &rec0, en, 1);
    zmq_ctx_term(ctx);
    mcsec_memzero(devs, sizeof devs);
    fx_secrets_free(&secrets);
    free(en);
    free(seen);
    return test_summary();
}
