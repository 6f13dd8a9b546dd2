/* mcsec-bench call: the cost of joining a group call and of the media path.
 *
 *   call_join_us        one mcsec_call_handle of a talker's notification by a listener that has
 *                       not seen the talker before (its 16-entry ECCSI signer cache misses, as
 *                       in eccsi_verify_cold): protobuf decode, MIKEY parse, signature
 *                       verification, freshness and replay checks, the GMK read from the
 *                       keystore (file read and AES-GCM), KEMAC unwrap, SRTP key derivation
 *                       and libsrtp session set-up. Every notification is a distinct one, from
 *                       24 talkers in turn, built before the timing (a join consumes it: the
 *                       replay cache refuses a second one).
 *   call_join_warm_us   the same with one talker (the signer cache hits)
 *   eccsi_verify_cold_us  mcsec_eccsi_verify with no cache, in the same run
 * target: call_join_us <= 1.15 x eccsi_verify_cold_us (call_join_ratio).
 * demo_s: the median wall time of 3 runs of `mcsec demo --json` (found beside mcsec-bench),
 * target < 15 s.
 * Then the media path (bench_call_media.c): SRTP protect/unprotect packets per second through
 * mcsec against raw libsrtp, target ratio >= 0.90 for 160- and 1200-octet payloads.
 *
 * Handsets are real: keystores in a temporary directory (lowest scrypt cost, opened once),
 * mcsec_handset_open, mcsec_call_new; their clocks stand still at NOW. */
#define _GNU_SOURCE /* nftw */
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"
#include "bench_call.h"
#include "mcsec/client.h"
#include "mcsec/secmem.h"

#define KMS_URI "kms.example.org"
#define GROUP "sip:bench-call@example.org"
#define LISTENER "sip:listener@example.org"
#define KEY_PERIOD 2592000ull
#define NOW 3900000000ull
#define PASS "mcsec-bench call"
#define TALKERS 24 /* > the receiver's 16-entry signer cache */
#define POOL 768
#define DGRAM_CAP 4096
#define GMK_ID 0x01234567u

typedef struct {
    uint8_t b[DGRAM_CAP];
    size_t n;
} dgram_t;

typedef struct {
    char tmp[PATH_MAX];
    mcsec_kms_params_t kms;
    uint8_t z[MCSEC_SAKKE_SCALAR_LEN], ksak[MCSEC_ECCSI_SCALAR_LEN];
    mcsec_gmk_record_t gmk;
    mcsec_keystore_t *ks[TALKERS + 2]; /* talkers, then the cold and the warm listener */
    mcsec_handset_t *h[TALKERS + 2];
    mcsec_call_t *call[TALKERS + 2];
    dgram_t *cold, *warm;
    size_t next_cold, next_warm;
    /* eccsi_verify_cold */
    mcsec_eccsi_verifier_t *verifier;
    uint8_t uid[MCSEC_UID_LEN], sig[MCSEC_ECCSI_SIG_LEN], msg[64];
} ctx_t;

#define CHECK_OK(what, expr)                                                                       \
    do {                                                                                           \
        mcsec_status_t rc_ = (expr);                                                               \
        if (rc_ != MCSEC_OK) {                                                                     \
            fprintf(stderr, "mcsec-bench call: check failed: %s: %s\n", what,                      \
                    mcsec_strerror(rc_));                                                          \
            return -1;                                                                             \
        }                                                                                          \
    } while (0)

static uint64_t fixed_clock(void *user) {
    (void)user;
    return NOW;
}

/* A keystore for uri holding the KMS parameters, its key set of NOW's period and the GMK. */
static int make_handset(ctx_t *c, int i, const char *uri) {
    char dir[PATH_MAX + 32];
    mcsec_keyset_t *set = mcsec_secure_alloc(sizeof *set);
    int ret = -1;
    if (set == NULL) return -1;
    snprintf(dir, sizeof dir, "%s/h%02d", c->tmp, i);
    snprintf(set->user_uri, sizeof set->user_uri, "%s", uri);
    set->period_no = NOW / KEY_PERIOD;
    mcsec_status_t rc = mcsec_uid_format2(uri, KMS_URI, KEY_PERIOD, 0, set->period_no, set->uid);
    if (rc == MCSEC_OK) rc = mcsec_sakke_issue_rsk(c->z, set->uid, MCSEC_UID_LEN, set->rsk);
    if (rc == MCSEC_OK)
        rc = mcsec_eccsi_issue(c->ksak, c->kms.kpak, set->uid, MCSEC_UID_LEN, set->ssk, set->pvt);
    if (rc == MCSEC_OK)
        rc = mcsec_keystore_create_with_cost(dir, PASS, strlen(PASS), 10, 8, 1);
    if (rc == MCSEC_OK) rc = mcsec_keystore_open(&c->ks[i], dir, PASS, strlen(PASS));
    if (rc == MCSEC_OK) rc = mcsec_keystore_put_kms(c->ks[i], &c->kms);
    if (rc == MCSEC_OK) rc = mcsec_keystore_put_keyset(c->ks[i], set);
    if (rc == MCSEC_OK) rc = mcsec_keystore_put_gmk(c->ks[i], &c->gmk);
    if (rc == MCSEC_OK) rc = mcsec_handset_open(&c->h[i], c->ks[i]);
    if (rc == MCSEC_OK) {
        mcsec_handset_set_clock(c->h[i], fixed_clock, NULL);
        mcsec_call_config_t cfg = {.group_uri = GROUP, .suite = MCSEC_SRTP_AEAD_AES_128_GCM};
        rc = mcsec_call_new(&c->call[i], c->h[i], &cfg);
    }
    if (rc != MCSEC_OK)
        fprintf(stderr, "mcsec-bench call: handset %s: %s %s\n", uri, mcsec_strerror(rc),
                mcsec_keystore_last_error());
    else
        ret = 0;
    mcsec_secure_free(set);
    return ret;
}

static int fill_pools(ctx_t *c) {
    c->cold = calloc(POOL, sizeof *c->cold);
    c->warm = calloc(POOL, sizeof *c->warm);
    if (c->cold == NULL || c->warm == NULL) return -1;
    for (size_t i = 0; i < POOL; i++) {
        CHECK_OK("mcsec_call_talk",
                 mcsec_call_talk(c->call[i % TALKERS], c->cold[i].b, DGRAM_CAP, &c->cold[i].n));
        CHECK_OK("mcsec_call_talk", mcsec_call_talk(c->call[0], c->warm[i].b, DGRAM_CAP,
                                                    &c->warm[i].n));
    }
    return 0;
}

static int setup(ctx_t *c) {
    CHECK_OK("mcsec_init", mcsec_init());
    const char *tmpdir = getenv("TMPDIR");
    snprintf(c->tmp, sizeof c->tmp, "%s/mcsec-bench-call-XXXXXX",
             tmpdir != NULL && tmpdir[0] ? tmpdir : "/tmp");
    if (mkdtemp(c->tmp) == NULL) {
        fprintf(stderr, "mcsec-bench call: cannot create a directory under %s\n", c->tmp);
        c->tmp[0] = 0;
        return -1;
    }
    snprintf(c->kms.kms_uri, sizeof c->kms.kms_uri, "%s", KMS_URI);
    c->kms.user_id_format = 2;
    c->kms.key_period = KEY_PERIOD;
    CHECK_OK("mcsec_sakke_kms_generate", mcsec_sakke_kms_generate(c->z, c->kms.Z));
    CHECK_OK("mcsec_eccsi_kms_generate", mcsec_eccsi_kms_generate(c->ksak, c->kms.kpak));
    snprintf(c->gmk.group_uri, sizeof c->gmk.group_uri, "%s", GROUP);
    CHECK_OK("random GMK", mcsec_random_bytes(c->gmk.gmk, sizeof c->gmk.gmk));
    c->gmk.gmk_id = GMK_ID;
    c->gmk.activation = (NOW - 60) << 32;
    c->gmk.mikey_timestamp = (NOW - 60) << 32;
    for (int i = 0; i < TALKERS; i++) {
        char uri[64];
        snprintf(uri, sizeof uri, "sip:talker-%02d@example.org", i);
        if (make_handset(c, i, uri) != 0) return -1;
    }
    if (make_handset(c, TALKERS, LISTENER) != 0 || make_handset(c, TALKERS + 1, LISTENER) != 0)
        return -1;
    if (fill_pools(c) != 0) return -1;
    /* eccsi_verify_cold: a signature by the first talker, a verifier without a cache. */
    mcsec_keyset_t *set = mcsec_secure_alloc(sizeof *set);
    mcsec_eccsi_signer_t *signer = NULL;
    mcsec_status_t rc = set == NULL ? MCSEC_ERR_NOMEM
                                    : mcsec_keystore_get_keyset(c->ks[0], NOW / KEY_PERIOD, set);
    if (rc == MCSEC_OK)
        rc = mcsec_eccsi_signer_new(&signer, c->kms.kpak, set->uid, MCSEC_UID_LEN, set->ssk,
                                    set->pvt);
    if (rc == MCSEC_OK) memcpy(c->uid, set->uid, sizeof c->uid);
    if (rc == MCSEC_OK) rc = mcsec_eccsi_sign(signer, c->msg, sizeof c->msg, c->sig);
    if (rc == MCSEC_OK) rc = mcsec_eccsi_verifier_new(&c->verifier, c->kms.kpak, 0);
    mcsec_eccsi_signer_free(signer);
    mcsec_secure_free(set);
    CHECK_OK("ECCSI signature for eccsi_verify_cold", rc);
    return 0;
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw) {
    (void)sb, (void)flag, (void)ftw;
    return remove(path);
}

static void teardown(ctx_t *c) {
    for (int i = 0; i < TALKERS + 2; i++) {
        mcsec_call_free(c->call[i]);
        mcsec_handset_close(c->h[i]);
        mcsec_keystore_close(c->ks[i]);
    }
    mcsec_eccsi_verifier_free(c->verifier);
    free(c->cold);
    free(c->warm);
    if (c->tmp[0]) nftw(c->tmp, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    mcsec_memzero(c, sizeof *c);
}

/* --- Timed operations -------------------------------------------------------------------------- */

static int join(mcsec_call_t *call, const dgram_t *d) {
    mcsec_call_event_t ev;
    mcsec_status_t rc = mcsec_call_handle(call, d->b, d->n, &ev);
    return rc == MCSEC_OK && ev.kind == MCSEC_CALL_EV_JOINED ? 0 : -1;
}

static int op_join_cold(void *arg) {
    ctx_t *c = arg;
    return join(c->call[TALKERS], &c->cold[c->next_cold++]);
}

static int op_join_warm(void *arg) {
    ctx_t *c = arg;
    return join(c->call[TALKERS + 1], &c->warm[c->next_warm++]);
}

static int op_verify_cold(void *arg) {
    ctx_t *c = arg;
    return mcsec_eccsi_verify(c->verifier, c->uid, sizeof c->uid, c->msg, sizeof c->msg, c->sig,
                              sizeof c->sig) == MCSEC_OK
               ? 0
               : -1;
}

/* The demo's wall time: `mcsec demo --json` (3 members, 2 s of audio) from beside this binary,
 * run `runs` times; *median_s is the median of its elapsed_ms. -1 if it failed or is missing. */
static int demo_seconds(int runs, double *median_s, int *all_ok) {
    char self[PATH_MAX], cmd[PATH_MAX + 64];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0) return -1;
    self[n] = 0;
    char *slash = strrchr(self, '/');
    if (slash == NULL) return -1;
    *slash = 0;
    snprintf(cmd, sizeof cmd, "'%s/mcsec' demo --json 2>/dev/null", self);
    double t[9];
    *all_ok = 1;
    for (int r = 0; r < runs && r < 9; r++) {
        char line[8192];
        FILE *f = popen(cmd, "r");
        if (f == NULL) return -1;
        size_t got = fread(line, 1, sizeof line - 1, f);
        line[got] = 0;
        int status = pclose(f);
        const char *e = strstr(line, "\"elapsed_ms\":");
        if (e == NULL) return -1;
        t[r] = strtod(e + 13, NULL) / 1000.0;
        *all_ok &= status == 0 && strstr(line, "\"ok\":true") != NULL;
    }
    for (int i = 1; i < runs; i++) /* insertion sort: a handful of runs */
        for (int k = i; k > 0 && t[k] < t[k - 1]; k--) {
            double x = t[k];
            t[k] = t[k - 1];
            t[k - 1] = x;
        }
    *median_s = t[runs / 2];
    return 0;
}

int bench_cmd_call(int argc, char **argv) {
    int rounds = 11, json = 0, status = 1;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0) {
            json = 1;
        } else if (strcmp(argv[i], "--rounds") == 0 && i + 1 < argc) {
            if (bench_parse_rounds(argv[++i], &rounds) != 0) {
                fprintf(stderr, "mcsec-bench call: --rounds takes 1 to %d\n", BENCH_MAX_ROUNDS);
                return 2;
            }
        } else {
            fprintf(stderr, "usage: mcsec-bench call [--json] [--rounds N]\n");
            return 2;
        }
    }
    ctx_t *c = calloc(1, sizeof *c);
    if (c == NULL) return 1;
    bench_timer_t t[3];
    double us[3], demo_s = 0;
    int demo_ok = 0;
    if (setup(c) != 0) goto out;
    bench_timer_init(&t[0], op_join_cold, c, POOL);
    bench_timer_init(&t[1], op_join_warm, c, POOL);
    bench_timer_init(&t[2], op_verify_cold, c, 0);
    for (int i = 0; i < 3; i++)
        if (bench_calibrate(&t[i], rounds) != 0) goto fail;
    for (int r = 0; r < rounds; r++)
        for (int i = 0; i < 3; i++)
            if (bench_round(&t[i]) != 0) goto fail;
    for (int i = 0; i < 3; i++)
        us[i] = bench_median_us(&t[i]);
    double ratio = us[0] / us[2];
    char cpu[128];
    bench_cpu_model(cpu, sizeof cpu);
    if (json) {
        printf("{\"bench\":\"call\",\"cpu\":");
        bench_json_string(cpu);
        printf(",\"cores\":%d,\"rounds\":%d,\"talkers\":%d,\"call_join_us\":%.1f,"
               "\"call_join_warm_us\":%.1f,\"eccsi_verify_cold_us\":%.1f,"
               "\"call_join_ratio\":%.3f,\"call_join_target\":1.15,\"call_join_met\":%s",
               bench_cores(), rounds, TALKERS, us[0], us[1], us[2], ratio,
               ratio <= 1.15 ? "true" : "false");
        fflush(stdout);
        if (bench_call_media(rounds, 0) != 0) goto out;
        if (demo_seconds(3, &demo_s, &demo_ok) == 0)
            printf(",\"demo_s\":%.2f,\"demo_ok\":%s,\"demo_target_s\":15,\"demo_met\":%s", demo_s,
                   demo_ok ? "true" : "false", demo_ok && demo_s < 15 ? "true" : "false");
        else
            printf(",\"demo_s\":null");
        printf("}\n");
    } else {
        printf("mcsec-bench call on %s (%d cores), %d rounds\n", cpu, bench_cores(), rounds);
        printf("  call_join_us          %8.1f  (cold: %d talkers in turn)\n", us[0], TALKERS);
        printf("  call_join_warm_us     %8.1f\n", us[1]);
        printf("  eccsi_verify_cold_us  %8.1f\n", us[2]);
        printf("  call_join_ratio       %8.3f  (target <= 1.15: %s)\n", ratio,
               ratio <= 1.15 ? "met" : "NOT met");
        printf("media path (JSON fields):\n");
        fflush(stdout);
        if (bench_call_media(rounds, 1) != 0) goto out;
        printf("\n");
        if (demo_seconds(3, &demo_s, &demo_ok) == 0)
            printf("  demo_s                %8.2f  (median of 3 `mcsec demo` runs; target < 15: %s)\n",
                   demo_s, demo_ok && demo_s < 15 ? "met" : "NOT met");
        else
            printf("  demo_s                     -  (mcsec not found beside mcsec-bench)\n");
    }
    status = 0;
    goto out;
fail:
    fprintf(stderr, "mcsec-bench call: a timed operation failed\n");
out:
    teardown(c);
    free(c);
    return status;
}
