/* mcsec-bench groupmgr: how fast the Group Manager rekeys a group.
 *
 * A throw-away KMS in the process issues the group identity's keys; a Group Manager is created
 * in a temporary directory (real SQLite file, WAL, synchronous=FULL) with a group of N members
 * (default 2,000). One warm-up rekey, then `rounds` rekeys (default 3) timed end to end with
 * mcsec_groupmgr_rekey (lock, journal commit, the worker pool building N signed I_MESSAGEs,
 * the commit of the GMK and every message): rekey_wall_s is their median, per_member_us that
 * divided by N. In the same run, interleaved round by round (bench.h):
 *   gmk_build_us: one mcsec_gmk_build (the whole message for one member) on one thread;
 *   wolfSSL's SAKKE encapsulation and ECCSI signature (the two expensive steps of one member's
 *   message), set up as `mcsec-bench crypto` does (wolfSSL keeps point I of the identity).
 * Targets: per_member_us <= 0.6 x gmk_build_us (2 cores: near-linear scaling) and <= 0.25 x
 * (wolfSSL encapsulate + sign); a 10,000-member group (--big, default 10000, 0 to skip)
 * rekeys in under 10 s.
 *
 * Also measured, for the per-member precomputation question (docs/performance.md): building a
 * fixed-base table for one member's point I = [b]P + Z, and a variable-base [r]I, against the
 * encapsulation mcsec does ([r b]P + [r]Z from the shared tables of P and Z). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "internal.h" /* crypto/: ec_table_new, ec_mul_public, for the precomputation figures */
#include "mcsec/groupmgr.h"
#include "mcsec/kdf.h"
#include "mcsec/kmsxml.h"
#include "mcsec/profile.h"
#include "mcsec/secmem.h"

#ifdef MCSEC_BENCH_HAVE_WOLFSSL
#include "wolf_peer.h"
#endif

#define KMS_URI "kms.example.org"
#define GROUP "sip:bench-group@example.org"
#define BIG_GROUP "sip:bench-big@example.org"
#define PERIOD 2592000u
#define PASS "mcsec-bench"
#define NTP_UNIX 2208988800u
#define N_IDS 64

typedef struct {
    uint8_t z[MCSEC_SAKKE_SCALAR_LEN], ksak[MCSEC_ECCSI_SCALAR_LEN];
    mcsec_kms_init_t init;
    mcsec_kms_keyset_t sets[2]; /* the group identity, this period and the next */
    uint64_t period_no;
    /* in-process building */
    mcsec_eccsi_signer_t *signer;
    mcsec_sakke_sender_t *sakke;
    mcsec_gmk_sender_t tx;
    mcsec_key_params_t kp;
    uint8_t gmk[16];
    char ids[N_IDS][64];
    unsigned next;
    uint64_t ts;
    uint8_t msg[4096];
    /* precomputation figures */
    ec_affine_t I;
    uint8_t r[MCSEC_SAKKE_SCALAR_LEN];
#ifdef MCSEC_BENCH_HAVE_WOLFSSL
    wolf_sakke_t *w_sakke;
    wolf_eccsi_t *w_eccsi;
    uint8_t uid[MCSEC_UID_LEN];
#endif
} ctx_t;

static double mono_s(void) {
    return bench_mono_ns() * 1e-9;
}

static int setup_kms(ctx_t *c) {
    int64_t now = (int64_t)time(NULL);
    if (mcsec_key_period_no((uint64_t)now + NTP_UNIX, PERIOD, 0, &c->period_no) != MCSEC_OK)
        return -1;
    mcsec_kms_init_t *in = &c->init;
    snprintf(in->kms_uri, sizeof in->kms_uri, "%s", KMS_URI);
    snprintf(in->cert_uri, sizeof in->cert_uri, "cert.%s", KMS_URI);
    snprintf(in->issuer, sizeof in->issuer, "%s", KMS_URI);
    in->valid_from = now - 86400;
    in->valid_to = now + 86400 * 365;
    in->user_id_format = 2;
    in->key_period = PERIOD;
    in->parameter_set = 1;
    if (mcsec_sakke_kms_generate(c->z, in->Z) != MCSEC_OK ||
        mcsec_eccsi_kms_generate(c->ksak, in->kpak) != MCSEC_OK)
        return -1;
    return 0;
}

/* The key sets of uri (a group identity) for this period and the next. */
static int issue(ctx_t *c, const char *uri) {
    memset(c->sets, 0, sizeof c->sets);
    for (int i = 0; i < 2; i++) {
        mcsec_kms_keyset_t *s = &c->sets[i];
        snprintf(s->kms_uri, sizeof s->kms_uri, "%s", KMS_URI);
        snprintf(s->cert_uri, sizeof s->cert_uri, "%s", c->init.cert_uri);
        snprintf(s->issuer, sizeof s->issuer, "%s", KMS_URI);
        snprintf(s->user_uri, sizeof s->user_uri, "%s", uri);
        s->key_period_no = c->period_no + (uint64_t)i;
        s->valid_from = (int64_t)(s->key_period_no * PERIOD) - (int64_t)NTP_UNIX;
        s->valid_to = s->valid_from + PERIOD;
        if (mcsec_uid_format2(uri, KMS_URI, PERIOD, 0, s->key_period_no, s->uid) != MCSEC_OK ||
            mcsec_sakke_issue_rsk(c->z, s->uid, sizeof s->uid, s->rsk) != MCSEC_OK ||
            mcsec_eccsi_issue(c->ksak, c->init.kpak, s->uid, sizeof s->uid, s->ssk, s->pvt) !=
                MCSEC_OK)
            return -1;
    }
    return 0;
}

static int add_group(mcsec_groupmgr_t *gm, ctx_t *c, const char *group, size_t n) {
    char **uris = calloc(n, sizeof *uris);
    int ret = -1;
    if (uris == NULL) return -1;
    if (mcsec_groupmgr_group_add(gm, group, 0, 1) != MCSEC_OK || issue(c, group) != 0 ||
        mcsec_groupmgr_group_set_keys(gm, group, &c->init, c->sets, 2) != MCSEC_OK)
        goto out;
    for (size_t i = 0; i < n; i++) {
        if ((uris[i] = malloc(64)) == NULL) goto out;
        snprintf(uris[i], 64, "sip:member-%06zu@%s.example.org", i, group + 4);
    }
    if (mcsec_groupmgr_member_add(gm, group, (const char *const *)uris, n, NULL) != MCSEC_OK)
        goto out;
    ret = 0;
out:
    for (size_t i = 0; i < n; i++)
        free(uris[i]);
    free(uris);
    return ret;
}

static int cmp_d(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* --- Timed operations ------------------------------------------------------------------------ */

static int op_build(void *arg) {
    ctx_t *c = arg;
    size_t len;
    const char *m = c->ids[c->next++ % N_IDS];
    return mcsec_gmk_build(&c->tx, m, c->gmk, 0x01234567u, &c->kp, c->ts, c->msg,
                           sizeof c->msg, &len) != MCSEC_OK;
}

static int op_encap(void *arg) {
    ctx_t *c = arg;
    uint8_t uid[MCSEC_UID_LEN], out[MCSEC_SAKKE_ENCAP_LEN];
    memset(uid, (int)(c->next++ & 0x7f) | 1, sizeof uid);
    return mcsec_sakke_encapsulate(c->sakke, uid, sizeof uid, c->gmk, 16, out) != MCSEC_OK;
}

static int op_table(void *arg) {
    ctx_t *c = arg;
    ec_table_t *t = NULL;
    if (ec_table_new(&t, &c->I) != MCSEC_OK) return -1;
    ec_table_free(t);
    return 0;
}

static int op_varmul(void *arg) {
    ctx_t *c = arg;
    ec_point_t p;
    c->r[5] ^= (uint8_t)c->next++;
    ec_mul_public(&p, &c->I, c->r, sizeof c->r);
    return 0;
}

#ifdef MCSEC_BENCH_HAVE_WOLFSSL
static int op_w_encap(void *arg) {
    ctx_t *c = arg;
    uint8_t ssv[16], out[WOLF_PEER_SAKKE_ENCAP_LEN];
    memcpy(ssv, c->gmk, 16);
    ssv[0] ^= (uint8_t)c->next++;
    return wolf_sakke_encapsulate(c->w_sakke, c->uid, sizeof c->uid, ssv, out) != 0;
}

static int op_w_sign(void *arg) {
    ctx_t *c = arg;
    uint8_t sig[WOLF_PEER_ECCSI_SIG_LEN];
    c->msg[0] ^= 1;
    return wolf_eccsi_sign(c->w_eccsi, c->msg, 600, sig) != 0;
}
#endif

/* --- The command ----------------------------------------------------------------------------- */

typedef struct {
    size_t members, big;
    int rounds;
    double rekey_s, per_member_us, build_share;
    double gmk_build_us, encap_us, table_us, varmul_us;
    double w_encap_us, w_sign_us;
    double big_s;
    int have_wolf;
} report_t;

static void print_json(const report_t *r) {
    char cpu[256];
    bench_cpu_model(cpu, sizeof cpu);
    double w = r->w_encap_us + r->w_sign_us;
    double ratio_build = r->per_member_us / r->gmk_build_us;
    double ratio_wolf = r->have_wolf ? r->per_member_us / w : 0;
    int meets = ratio_build <= 0.6 && (!r->have_wolf || ratio_wolf <= 0.25) &&
                (r->big == 0 || (r->big >= 10000 && r->big_s < 10));
    printf("{\"machine\":{\"cpu\":");
    bench_json_string(cpu);
    printf(",\"cores\":%d,\"fp_impl\":", bench_cores());
    bench_json_string(fp_impl_name());
    printf("},\"members\":%zu,\"rounds\":%d,\"rekey_wall_s\":%.4f,\"per_member_us\":%.1f,"
           "\"build_share\":%.3f,\"gmk_build_us\":%.1f,",
           r->members, r->rounds, r->rekey_s, r->per_member_us, r->build_share, r->gmk_build_us);
    if (r->have_wolf)
        printf("\"wolfssl_sakke_encapsulate_us\":%.1f,\"wolfssl_eccsi_sign_us\":%.1f,"
               "\"wolfssl_member_us\":%.1f,",
               r->w_encap_us, r->w_sign_us, w);
    else
        printf("\"wolfssl_member_us\":null,");
    printf("\"ratio_gmk_build\":%.3f,\"target_ratio_gmk_build\":0.6,", ratio_build);
    if (r->have_wolf)
        printf("\"ratio_wolfssl\":%.3f,", ratio_wolf);
    else
        printf("\"ratio_wolfssl\":null,");
    printf("\"target_ratio_wolfssl\":0.25,");
    if (r->big > 0)
        printf("\"big_members\":%zu,\"rekey_big_s\":%.3f,\"target_rekey_10000_s\":10,", r->big,
               r->big_s);
    printf("\"precompute\":{\"sakke_encapsulate_us\":%.1f,\"member_table_build_us\":%.1f,"
           "\"member_table_bytes\":%zu,\"variable_base_mul_us\":%.1f},",
           r->encap_us, r->table_us, sizeof(ec_table_t), r->varmul_us);
    printf("\"meets_targets\":%s}\n", meets ? "true" : "false");
}

static void print_table(const report_t *r) {
    double w = r->w_encap_us + r->w_sign_us;
    printf("mcsec-bench groupmgr: %zu members, %d cores, median of %d rekeys\n", r->members,
           bench_cores(), r->rounds);
    printf("  rekey_wall_s        %10.3f s   (pool share %.0f%%, the rest: journal and commit)\n",
           r->rekey_s, 100 * r->build_share);
    printf("  per_member_us       %10.1f us\n", r->per_member_us);
    printf("  gmk_build_us        %10.1f us   one message on one thread; ratio %.3f (<= 0.6)\n",
           r->gmk_build_us, r->per_member_us / r->gmk_build_us);
    if (r->have_wolf)
        printf("  wolfSSL encap+sign  %10.1f us   (%.1f + %.1f); ratio %.3f (<= 0.25)\n", w,
               r->w_encap_us, r->w_sign_us, r->per_member_us / w);
    if (r->big > 0)
        printf("  rekey of %zu        %10.3f s   (< 10 s for 10,000)\n", r->big, r->big_s);
    printf("  per-member precomputation: encapsulation %.1f us; a table for I = [b]P + Z %.0f us "
           "and %zu KiB; a variable-base [r]I %.1f us\n",
           r->encap_us, r->table_us, sizeof(ec_table_t) / 1024, r->varmul_us);
}

static int usage(void) {
    fprintf(stderr, "usage: mcsec-bench groupmgr [--members N] [--big N] [--rounds R] [--json] "
                    "[--dir DIR]\n");
    return 2;
}

int bench_cmd_groupmgr(int argc, char **argv) {
    report_t rep;
    ctx_t *c = calloc(1, sizeof *c);
    mcsec_groupmgr_t *gm = NULL;
    const char *base = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    char dir[512] = "";
    int json = 0, ret = 1;
    memset(&rep, 0, sizeof rep);
    rep.members = 2000;
    rep.big = 10000;
    rep.rounds = 3;
    if (c == NULL) return 1;
    for (int i = 1; i < argc; i++) {
        char *end;
        if (strcmp(argv[i], "--json") == 0) {
            json = 1;
        } else if (strcmp(argv[i], "--members") == 0 && i + 1 < argc) {
            rep.members = strtoul(argv[++i], &end, 10);
            if (*end || rep.members < 1 || rep.members > 1000000) return usage();
        } else if (strcmp(argv[i], "--big") == 0 && i + 1 < argc) {
            rep.big = strtoul(argv[++i], &end, 10);
            if (*end || rep.big > 1000000) return usage();
        } else if (strcmp(argv[i], "--rounds") == 0 && i + 1 < argc) {
            if (bench_parse_rounds(argv[++i], &rep.rounds) != 0) return usage();
        } else if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc) {
            base = argv[++i];
        } else {
            return usage();
        }
    }
    if (mcsec_init() != MCSEC_OK || setup_kms(c) != 0) {
        fprintf(stderr, "mcsec-bench groupmgr: the crypto library does not work\n");
        goto out;
    }
    snprintf(dir, sizeof dir, "%s/mcsec-bench-gm.XXXXXX", base);
    if (mkdtemp(dir) == NULL) {
        fprintf(stderr, "mcsec-bench groupmgr: cannot create a directory in %s\n", base);
        dir[0] = 0;
        goto out;
    }
    char gdir[600];
    snprintf(gdir, sizeof gdir, "%s/gm", dir);
    mcsec_groupmgr_config_t cfg = {.dir = gdir, .passphrase = PASS, .passphrase_len = strlen(PASS),
                                   .kdf_log2n = 10, .kdf_r = 8, .kdf_p = 1};
    if (mcsec_groupmgr_create(&gm, &cfg) != MCSEC_OK || add_group(gm, c, GROUP, rep.members) != 0) {
        fprintf(stderr, "mcsec-bench groupmgr: setup failed: %s\n", mcsec_groupmgr_last_error());
        goto out;
    }

    /* Rekeys of the group: one warm-up, then the timed ones. */
    double walls[BENCH_MAX_ROUNDS], builds[BENCH_MAX_ROUNDS];
    mcsec_groupmgr_rekey_result_t res;
    if (mcsec_groupmgr_rekey(gm, GROUP, NULL, 0, &res) != MCSEC_OK || res.members != rep.members) {
        fprintf(stderr, "mcsec-bench groupmgr: rekey failed: %s\n", mcsec_groupmgr_last_error());
        goto out;
    }
    for (int r = 0; r < rep.rounds; r++) {
        double t0 = mono_s();
        if (mcsec_groupmgr_rekey(gm, GROUP, NULL, 0, &res) != MCSEC_OK) {
            fprintf(stderr, "mcsec-bench groupmgr: rekey failed: %s\n",
                    mcsec_groupmgr_last_error());
            goto out;
        }
        walls[r] = mono_s() - t0;
        builds[r] = res.build_seconds / walls[r];
    }
    qsort(walls, (size_t)rep.rounds, sizeof walls[0], cmp_d);
    qsort(builds, (size_t)rep.rounds, sizeof builds[0], cmp_d);
    rep.rekey_s = walls[rep.rounds / 2];
    rep.build_share = builds[rep.rounds / 2];
    rep.per_member_us = rep.rekey_s * 1e6 / (double)rep.members;

    /* One message on one thread, and the wolfSSL work for one member, interleaved. */
    if (mcsec_eccsi_signer_new(&c->signer, c->init.kpak, c->sets[0].uid, MCSEC_UID_LEN,
                               c->sets[0].ssk, c->sets[0].pvt) != MCSEC_OK ||
        mcsec_sakke_sender_new(&c->sakke, c->init.Z) != MCSEC_OK ||
        mcsec_random_bytes(c->gmk, sizeof c->gmk) != MCSEC_OK)
        goto out;
    c->tx = (mcsec_gmk_sender_t){.initiator_uri = GROUP, .kms_uri = KMS_URI, .key_period = PERIOD,
                                 .key_period_offset = 0, .signer = c->signer, .sakke = c->sakke};
    c->kp.key_type = MCSEC_PURPOSE_GMK;
    snprintf(c->kp.group_id, sizeof c->kp.group_id, "%s", GROUP);
    for (int i = 0; i < N_IDS; i++)
        snprintf(c->ids[i], sizeof c->ids[i], "sip:member-%06d@bench.example.org", i);
    uint8_t uid0[MCSEC_UID_LEN];
    if (mcsec_uid_format2(c->ids[0], KMS_URI, PERIOD, 0, c->period_no, uid0) != MCSEC_OK ||
        mcsec_random_bytes(c->r, sizeof c->r) != MCSEC_OK)
        goto out;
    c->r[0] &= 0x1f; /* below q */
    c->ts = ((uint64_t)time(NULL) + NTP_UNIX) << 32;
    /* A per-member point I = [b]P + Z costs the same to tabulate or multiply as any point of
     * the group: Z stands in for it. */
    if (ec_decode(&c->I, c->init.Z, sizeof c->init.Z) != MCSEC_OK) goto out;
#ifdef MCSEC_BENCH_HAVE_WOLFSSL
    rep.have_wolf = 1;
    memcpy(c->uid, uid0, sizeof uid0);
    {
        uint8_t ssk[32], pvt[65];
        if (wolf_sakke_public(&c->w_sakke, c->init.Z) != 0 ||
            wolf_sakke_sender_precompute(c->w_sakke, c->uid, sizeof c->uid) != 0 ||
            wolf_eccsi_public(&c->w_eccsi, c->init.kpak) != 0 ||
            mcsec_eccsi_issue(c->ksak, c->init.kpak, c->uid, sizeof c->uid, ssk, pvt) !=
                MCSEC_OK ||
            wolf_eccsi_set_signer(c->w_eccsi, c->uid, sizeof c->uid, ssk, pvt) != 0) {
            fprintf(stderr, "mcsec-bench groupmgr: the wolfSSL peer does not work\n");
            goto out;
        }
        mcsec_memzero(ssk, sizeof ssk);
    }
#endif
    enum { T_BUILD, T_ENCAP, T_TABLE, T_VARMUL, T_WENCAP, T_WSIGN, T_N };
    bench_timer_t t[T_N];
    bench_fn fns[T_N] = {op_build, op_encap, op_table, op_varmul,
#ifdef MCSEC_BENCH_HAVE_WOLFSSL
                         op_w_encap, op_w_sign
#else
                         NULL, NULL
#endif
    };
    int timers = rep.have_wolf ? T_N : T_WENCAP, trounds = 7;
    for (int i = 0; i < timers; i++) {
        bench_timer_init(&t[i], fns[i], c, 0);
        if (bench_calibrate(&t[i], trounds) != 0) {
            fprintf(stderr, "mcsec-bench groupmgr: a timed operation failed\n");
            goto out;
        }
    }
    for (int r = 0; r < trounds; r++)
        for (int i = 0; i < timers; i++)
            if (bench_round(&t[i]) != 0) goto out;
    rep.gmk_build_us = bench_median_us(&t[T_BUILD]);
    rep.encap_us = bench_median_us(&t[T_ENCAP]);
    rep.table_us = bench_median_us(&t[T_TABLE]);
    rep.varmul_us = bench_median_us(&t[T_VARMUL]);
    if (rep.have_wolf) {
        rep.w_encap_us = bench_median_us(&t[T_WENCAP]);
        rep.w_sign_us = bench_median_us(&t[T_WSIGN]);
    }

    /* The big group, once. */
    if (rep.big > 0) {
        if (add_group(gm, c, BIG_GROUP, rep.big) != 0) {
            fprintf(stderr, "mcsec-bench groupmgr: setup of the big group failed: %s\n",
                    mcsec_groupmgr_last_error());
            goto out;
        }
        double t0 = mono_s();
        if (mcsec_groupmgr_rekey(gm, BIG_GROUP, NULL, 0, &res) != MCSEC_OK ||
            res.members != rep.big) {
            fprintf(stderr, "mcsec-bench groupmgr: rekey failed: %s\n",
                    mcsec_groupmgr_last_error());
            goto out;
        }
        rep.big_s = mono_s() - t0;
    }
    if (json)
        print_json(&rep);
    else
        print_table(&rep);
    ret = 0;
out:
    mcsec_groupmgr_close(gm);
    if (c != NULL) {
        mcsec_eccsi_signer_free(c->signer);
        mcsec_sakke_sender_free(c->sakke);
#ifdef MCSEC_BENCH_HAVE_WOLFSSL
        wolf_sakke_free(c->w_sakke);
        wolf_eccsi_free(c->w_eccsi);
#endif
        mcsec_kms_keyset_wipe(c->sets, 2);
        mcsec_memzero(c, sizeof *c);
        free(c);
    }
    if (dir[0]) {
        char cmd[700];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
        if (system(cmd) != 0) fprintf(stderr, "mcsec-bench groupmgr: cannot remove %s\n", dir);
    }
    return ret;
}
