/* mcsec-bench mikey: microseconds per GMK / GSK message operation, set against the crypto
 * primitives each message is made of, in one run.
 *
 *   gmk_open_us          mcsec_gmk_open (parse, structure, policy, ECCSI verify, recipient,
 *                        freshness, replay, SAKKE decapsulate, GUK-ID, key parameters) and then
 *                        mcsec_keystore_put_gmk of the record (AES-256-GCM, atomic write with
 *                        fsync of the file and of its directory) into a real keystore
 *   gmk_open_nostore_us  the same without the store
 *   gmk_open_warm_us     without the store, all messages from one group identity, so that the
 *                        receiver's ECCSI signer cache hits (the common case on a handset)
 *   gmk_store_us         mcsec_keystore_put_gmk alone
 *   gmk_build_us         mcsec_gmk_build
 *   parse_us, parse_gsk_us   mcsec_mikey_parse of a GMK I_MESSAGE / a GSK message
 *   gsk_build_us         mcsec_gsk_build
 *   gsk_open_us          mcsec_gsk_open with the GMK looked up in the keystore (file read and
 *                        decryption included); gsk_open_mem_us with an in-memory lookup
 *   sakke_*, eccsi_*     the primitives, timed by bench_crypto.c's code (bench.h)
 *   raw_*                where the store's time goes: its write path done by hand beside the
 *                        store (create, write a record-sized file, rename it into place),
 *                        without any fsync, with fsync of the file, with fsync of the file
 *                        and then of the directory (what mcsec_keystore_put_gmk does)
 *
 * and the issue's targets: gmk_open_us <= 1.10 (eccsi_verify_cold_us + sakke_decapsulate_us),
 * gmk_build_us <= 1.10 (sakke_encapsulate_us + eccsi_sign_us), parse_us < 2.
 *
 * Timing is bench.h's (median over rounds of ~60 ms batches), with the rounds of all the
 * operations above interleaved, primitives included: a slow spell of the shared machine then
 * weighs on a message and on its primitives alike, and the ratios hold.
 *
 * Opening consumes a message: the receiver's replay cache refuses a RAND it has seen. So every
 * open is of a distinct message, built before the timing starts (pools of BENCH_POOL), and
 * each timed variant has its own receiver; the batches are shortened to fit the pool.
 * The default pool messages come from BENCH_GROUPS group identities in turn, more than the
 * receiver's 16-entry signer cache holds, so their verification is cold like the
 * eccsi_verify_cold it is compared with. The keystore is created with the lowest scrypt cost
 * (it is only opened once) in a fresh directory under $TMPDIR (default /tmp), whose file
 * system is reported, and removed at the end. Every operation's result is checked. */
#define _GNU_SOURCE /* nftw */
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "bench.h"
#include "mcsec/keystore.h"
#include "mcsec/mikey.h"
#include "mcsec/profile.h"
#include "mcsec/secmem.h"

#define KMS_URI "kms.example.org"
#define MEMBER_URI "sip:alice@example.org"
#define TALKER_URI "sip:bob@example.org"
#define KEY_PERIOD 2592000ull
#define NOW 3900000000ull /* NTP seconds; the receivers' clock stands still here */
#define PASSPHRASE "mcsec-bench passphrase"
#define BENCH_GROUPS 64 /* signers of the default pool: > the 16-entry signer cache */
#define BENCH_POOL 512  /* messages per pool */
#define MSG_CAP 1024
#define GSK_GMK_ID 0x0badcafeu

typedef struct {
    uint8_t b[MSG_CAP];
    size_t n;
    uint32_t id;
    uint8_t key[MCSEC_PROFILE_KEY_LEN]; /* what opening it must give */
} msg_t;

enum { RX_STORE, RX_NOSTORE, RX_WARM, RX_COUNT };

typedef struct {
    mcsec_kms_params_t kms;
    uint8_t z[MCSEC_SAKKE_SCALAR_LEN], ksak[MCSEC_ECCSI_SCALAR_LEN];
    mcsec_sakke_sender_t *sakke;
    char group_uri[BENCH_GROUPS][48];
    mcsec_eccsi_signer_t *group_signer[BENCH_GROUPS];
    mcsec_eccsi_signer_t *talker;
    uint8_t talker_uid[MCSEC_UID_LEN];
    mcsec_profile_receiver_t *rx[RX_COUNT];
    mcsec_keystore_t *ks;
    char tmp[PATH_MAX], store[PATH_MAX + 8], raw[PATH_MAX + 8], fs[32];
    mcsec_gmk_record_t gsk_gmk;   /* the GMK the GSK messages are under */
    mcsec_gmk_result_t check_res; /* setup's checks (here so that teardown wipes them) */
    mcsec_gmk_record_t check_rec, check_got;
    msg_t *cold, *warm, *gsk; /* pools */
    msg_t scratch;
    uint32_t counter; /* varies keys and ids between calls */
} ctx_t;

/* What one timed operation works on: the context, and for opens its receiver and the pool of
 * messages it consumes. */
typedef struct {
    ctx_t *c;
    mcsec_profile_receiver_t *rx;
    msg_t *pool;
    size_t next;
} op_arg_t;

/* --- Setup ------------------------------------------------------------------------------ */

#define EXPECT_OK(what, expr)                                                                      \
    do {                                                                                           \
        mcsec_status_t rc_ = (expr);                                                               \
        if (rc_ != MCSEC_OK) {                                                                     \
            fprintf(stderr, "mcsec-bench mikey: check failed: %s: %s\n", what,                     \
                    mcsec_strerror(rc_));                                                          \
            return -1;                                                                             \
        }                                                                                          \
    } while (0)

#define EXPECT(what, cond)                                                                         \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "mcsec-bench mikey: check failed: %s\n", what);                        \
            return -1;                                                                             \
        }                                                                                          \
    } while (0)

static uint64_t fixed_clock(void *user) {
    (void)user;
    return NOW;
}

static int uid_of(const char *uri, uint8_t uid[MCSEC_UID_LEN]) {
    EXPECT_OK("mcsec_uid_format2",
              mcsec_uid_format2(uri, KMS_URI, KEY_PERIOD, 0, NOW / KEY_PERIOD, uid));
    return 0;
}

static int signer_for(ctx_t *c, const char *uri, mcsec_eccsi_signer_t **out) {
    uint8_t uid[MCSEC_UID_LEN], ssk[MCSEC_ECCSI_SCALAR_LEN], pvt[MCSEC_ECCSI_POINT_LEN];
    int ret = -1;
    if (uid_of(uri, uid) != 0) goto out;
    mcsec_status_t st = mcsec_eccsi_issue(c->ksak, c->kms.kpak, uid, sizeof uid, ssk, pvt);
    if (st == MCSEC_OK) st = mcsec_eccsi_signer_new(out, c->kms.kpak, uid, sizeof uid, ssk, pvt);
    if (st != MCSEC_OK) {
        fprintf(stderr, "mcsec-bench mikey: check failed: ECCSI signer: %s\n", mcsec_strerror(st));
        goto out;
    }
    ret = 0;
out:
    mcsec_memzero(ssk, sizeof ssk);
    return ret;
}

static int receiver_new(ctx_t *c, mcsec_profile_receiver_t **out) {
    mcsec_keyset_t *ks = mcsec_secure_alloc(sizeof *ks);
    int ret = -1;
    if (ks == NULL) {
        fprintf(stderr, "mcsec-bench mikey: out of locked memory\n");
        return -1;
    }
    mcsec_status_t st = mcsec_profile_receiver_new(out, &c->kms, MEMBER_URI);
    snprintf(ks->user_uri, sizeof ks->user_uri, "%s", MEMBER_URI);
    ks->period_no = NOW / KEY_PERIOD;
    if (st == MCSEC_OK && uid_of(MEMBER_URI, ks->uid) != 0) st = MCSEC_ERR_INTERNAL;
    if (st == MCSEC_OK) st = mcsec_sakke_issue_rsk(c->z, ks->uid, MCSEC_UID_LEN, ks->rsk);
    if (st == MCSEC_OK) st = mcsec_profile_receiver_add_keyset(*out, ks);
    if (st != MCSEC_OK) {
        fprintf(stderr, "mcsec-bench mikey: check failed: receiver: %s\n", mcsec_strerror(st));
        goto out;
    }
    mcsec_profile_receiver_set_clock(*out, fixed_clock, NULL);
    ret = 0;
out:
    mcsec_secure_free(ks);
    return ret;
}

static mcsec_key_params_t params_for(const char *group) {
    mcsec_key_params_t kp;
    memset(&kp, 0, sizeof kp);
    kp.key_type = MCSEC_PURPOSE_GMK;
    kp.activation = (NOW - 60) << 32;
    kp.expiry = (NOW + 86400) << 32;
    snprintf(kp.text, sizeof kp.text, "bench talkgroup");
    snprintf(kp.group_id, sizeof kp.group_id, "%s", group);
    return kp;
}

static mcsec_status_t build_gmk(ctx_t *c, unsigned g, msg_t *m) {
    mcsec_gmk_sender_t tx = {.initiator_uri = c->group_uri[g],
                             .kms_uri = KMS_URI,
                             .key_period = KEY_PERIOD,
                             .key_period_offset = 0,
                             .signer = c->group_signer[g],
                             .sakke = c->sakke};
    mcsec_key_params_t kp = params_for(c->group_uri[g]);
    c->counter++;
    m->id = c->counter & 0x0fffffffu; /* purpose tag 0: GMK */
    mcsec_status_t st = mcsec_random_bytes(m->key, sizeof m->key);
    if (st != MCSEC_OK) return st;
    return mcsec_gmk_build(&tx, MEMBER_URI, m->key, m->id, &kp, NOW << 32, m->b, sizeof m->b,
                           &m->n);
}

static mcsec_status_t build_gsk(ctx_t *c, msg_t *m) {
    c->counter++;
    m->id = c->counter;
    mcsec_status_t st = mcsec_random_bytes(m->key, sizeof m->key);
    if (st != MCSEC_OK) return st;
    return mcsec_gsk_build(c->talker, TALKER_URI, c->talker_uid, c->gsk_gmk.group_uri,
                           c->gsk_gmk.gmk, c->gsk_gmk.gmk_id, m->key, m->id, NOW << 32, m->b,
                           sizeof m->b, &m->n);
}

static const char *fs_name(const char *path, char *out, size_t cap) {
    struct statfs s;
    if (statfs(path, &s) != 0) return snprintf(out, cap, "unknown"), out;
    switch ((unsigned long)s.f_type) {
    case 0xEF53:
        return "ext4";
    case 0x01021994:
        return "tmpfs";
    case 0x58465342:
        return "xfs";
    case 0x9123683E:
        return "btrfs";
    case 0x794C7630:
        return "overlayfs";
    case 0x6969:
        return "nfs";
    case 0x65735546:
        return "fuse";
    default:
        break;
    }
    snprintf(out, cap, "0x%lx", (unsigned long)s.f_type);
    return out;
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw) {
    (void)sb, (void)flag, (void)ftw;
    return remove(path);
}

static mcsec_status_t lookup_store(void *user, uint32_t gmk_id, mcsec_gmk_record_t *out) {
    return mcsec_keystore_get_gmk(user, gmk_id, out);
}

static mcsec_status_t lookup_mem(void *user, uint32_t gmk_id, mcsec_gmk_record_t *out) {
    const mcsec_gmk_record_t *rec = user;
    if (gmk_id != rec->gmk_id) return MCSEC_ERR_UNKNOWN_KEY;
    *out = *rec;
    return MCSEC_OK;
}

/* The record a handset stores for an opened GMK message. */
static int record_of(const mcsec_gmk_result_t *r, mcsec_gmk_record_t *rec) {
    if (!r->key_params_decoded || !r->group_id_bound) return -1;
    memset(rec, 0, sizeof *rec);
    snprintf(rec->group_uri, sizeof rec->group_uri, "%s", r->key_params.group_id);
    memcpy(rec->gmk, r->key, sizeof rec->gmk);
    rec->gmk_id = r->key_id;
    rec->guk_id = r->csb_id;
    rec->activation = r->key_params.activation;
    rec->expiry = r->key_params.expiry;
    rec->status = r->key_params.status;
    rec->mikey_timestamp = r->timestamp;
    return 0;
}

static int setup(ctx_t *c) {
    mcsec_gmk_result_t *r = &c->check_res;
    mcsec_gmk_record_t *rec = &c->check_rec, *got = &c->check_got;
    mcsec_mikey_msg_t pm;

    EXPECT_OK("mcsec_init (known-answer self test)", mcsec_init());
    snprintf(c->kms.kms_uri, sizeof c->kms.kms_uri, "%s", KMS_URI);
    c->kms.user_id_format = 2;
    c->kms.key_period = KEY_PERIOD;
    EXPECT_OK("mcsec_sakke_kms_generate", mcsec_sakke_kms_generate(c->z, c->kms.Z));
    EXPECT_OK("mcsec_eccsi_kms_generate", mcsec_eccsi_kms_generate(c->ksak, c->kms.kpak));
    EXPECT_OK("mcsec_sakke_sender_new", mcsec_sakke_sender_new(&c->sakke, c->kms.Z));
    for (unsigned g = 0; g < BENCH_GROUPS; g++) {
        snprintf(c->group_uri[g], sizeof c->group_uri[g], "sip:group-%02u@example.org", g);
        if (signer_for(c, c->group_uri[g], &c->group_signer[g]) != 0) return -1;
    }
    if (signer_for(c, TALKER_URI, &c->talker) != 0 || uid_of(TALKER_URI, c->talker_uid) != 0)
        return -1;
    for (int i = 0; i < RX_COUNT; i++)
        if (receiver_new(c, &c->rx[i]) != 0) return -1;

    /* The keystore. */
    const char *tmpdir = getenv("TMPDIR");
    snprintf(c->tmp, sizeof c->tmp, "%s/mcsec-bench-XXXXXX",
             tmpdir != NULL && tmpdir[0] != 0 ? tmpdir : "/tmp");
    if (mkdtemp(c->tmp) == NULL) {
        fprintf(stderr,
                "mcsec-bench mikey: cannot create a directory under %s: set TMPDIR to a "
                "writable directory\n",
                tmpdir != NULL ? tmpdir : "/tmp");
        c->tmp[0] = 0;
        return -1;
    }
    snprintf(c->store, sizeof c->store, "%s/store", c->tmp);
    snprintf(c->raw, sizeof c->raw, "%s/raw", c->tmp);
    EXPECT("a directory for the raw write probes", mkdir(c->raw, 0700) == 0);
    EXPECT_OK(mcsec_keystore_last_error(),
              mcsec_keystore_create_with_cost(c->store, PASSPHRASE, strlen(PASSPHRASE), 10, 8, 1));
    EXPECT_OK(mcsec_keystore_last_error(),
              mcsec_keystore_open(&c->ks, c->store, PASSPHRASE, strlen(PASSPHRASE)));
    const char *fs = fs_name(c->store, c->fs, sizeof c->fs);
    if (fs != c->fs) snprintf(c->fs, sizeof c->fs, "%s", fs);

    /* One message through the whole path, and what must be refused. */
    EXPECT_OK("mcsec_gmk_build", build_gmk(c, 0, &c->scratch));
    EXPECT_OK("mcsec_mikey_parse (GMK)", mcsec_mikey_parse(c->scratch.b, c->scratch.n, &pm));
    EXPECT("GMK message has 10 payloads after HDR", pm.count == 10 && pm.has_sign);
    EXPECT_OK("mcsec_gmk_open", mcsec_gmk_open(c->rx[RX_STORE], c->scratch.b, c->scratch.n, 0, r));
    EXPECT("mcsec_gmk_open recovers the GMK",
           mcsec_ct_equal(r->key, c->scratch.key, sizeof r->key) && r->key_id == c->scratch.id &&
               r->coverage == MCSEC_SIG_RFC3830 && r->fresh && !r->replayed);
    EXPECT("key parameters decode and bind the group", record_of(r, rec) == 0);
    EXPECT_OK(mcsec_keystore_last_error(), mcsec_keystore_put_gmk(c->ks, rec));
    EXPECT_OK(mcsec_keystore_last_error(), mcsec_keystore_get_gmk(c->ks, rec->gmk_id, got));
    EXPECT("the stored GMK reads back",
           mcsec_ct_equal(got->gmk, rec->gmk, sizeof got->gmk) && got->guk_id == rec->guk_id &&
               strcmp(got->group_uri, c->group_uri[0]) == 0 && got->expiry == rec->expiry);
    mcsec_gmk_result_wipe(r);
    EXPECT("a second open of one message is a replay",
           mcsec_gmk_open(c->rx[RX_STORE], c->scratch.b, c->scratch.n, 0, r) == MCSEC_ERR_REPLAY);

    /* The GMK of the GSK messages, in the store. */
    c->gsk_gmk = *rec;
    c->gsk_gmk.gmk_id = GSK_GMK_ID;
    EXPECT_OK(mcsec_keystore_last_error(), mcsec_keystore_put_gmk(c->ks, &c->gsk_gmk));

    /* Pools. */
    c->cold = calloc(BENCH_POOL, sizeof *c->cold);
    c->warm = calloc(BENCH_POOL, sizeof *c->warm);
    c->gsk = calloc(BENCH_POOL, sizeof *c->gsk);
    EXPECT("memory for the message pools", c->cold && c->warm && c->gsk);
    for (unsigned i = 0; i < BENCH_POOL; i++) {
        EXPECT_OK("mcsec_gmk_build", build_gmk(c, i % BENCH_GROUPS, &c->cold[i]));
        EXPECT_OK("mcsec_gmk_build", build_gmk(c, 0, &c->warm[i]));
        EXPECT_OK("mcsec_gsk_build", build_gsk(c, &c->gsk[i]));
    }
    EXPECT_OK("mcsec_mikey_parse (GSK)", mcsec_mikey_parse(c->gsk[0].b, c->gsk[0].n, &pm));
    EXPECT("GSK message has 9 payloads after HDR", pm.count == 9 && pm.has_sign);
    return 0;
}

static void teardown(ctx_t *c) {
    mcsec_sakke_sender_free(c->sakke);
    for (unsigned g = 0; g < BENCH_GROUPS; g++)
        mcsec_eccsi_signer_free(c->group_signer[g]);
    mcsec_eccsi_signer_free(c->talker);
    for (int i = 0; i < RX_COUNT; i++)
        mcsec_profile_receiver_free(c->rx[i]);
    mcsec_keystore_close(c->ks);
    if (c->tmp[0] != 0 && nftw(c->tmp, rm_entry, 16, FTW_DEPTH | FTW_PHYS) != 0)
        fprintf(stderr, "mcsec-bench mikey: could not remove %s: remove it by hand\n", c->tmp);
    msg_t *pools[3] = {c->cold, c->warm, c->gsk};
    for (int i = 0; i < 3; i++) {
        if (pools[i] != NULL) mcsec_memzero(pools[i], BENCH_POOL * sizeof *pools[i]);
        free(pools[i]);
    }
    mcsec_memzero(c, sizeof *c);
}

/* --- Operations ------------------------------------------------------------------------- */

static msg_t *next_msg(op_arg_t *o) {
    return o->next < BENCH_POOL ? &o->pool[o->next++] : NULL;
}

/* Opens the next pool message on the operation's receiver; with a keystore, stores the GMK. */
static int gmk_open_one(op_arg_t *o, mcsec_keystore_t *ks) {
    mcsec_gmk_result_t r;
    mcsec_gmk_record_t rec;
    int ret = -1;
    msg_t *m = next_msg(o);
    if (m == NULL) return -1;
    if (mcsec_gmk_open(o->rx, m->b, m->n, 0, &r) != MCSEC_OK ||
        !mcsec_ct_equal(r.key, m->key, sizeof r.key))
        goto out;
    if (ks != NULL && (record_of(&r, &rec) != 0 || mcsec_keystore_put_gmk(ks, &rec) != MCSEC_OK))
        goto out;
    ret = 0;
out:
    mcsec_gmk_result_wipe(&r);
    mcsec_memzero(&rec, sizeof rec);
    return ret;
}

static int op_gmk_open(void *arg) {
    op_arg_t *o = arg;
    return gmk_open_one(o, o->c->ks);
}

static int op_gmk_open_nostore(void *arg) {
    return gmk_open_one(arg, NULL);
}

static int op_gmk_store(void *arg) {
    ctx_t *c = ((op_arg_t *)arg)->c;
    mcsec_gmk_record_t rec = c->gsk_gmk;
    rec.gmk_id = ++c->counter & 0x0fffffffu;
    mcsec_status_t st = mcsec_keystore_put_gmk(c->ks, &rec);
    mcsec_memzero(&rec, sizeof rec);
    return st;
}

static int op_gmk_build(void *arg) {
    ctx_t *c = ((op_arg_t *)arg)->c;
    return build_gmk(c, 0, &c->scratch);
}

static int op_parse_gmk(void *arg) {
    const msg_t *m = &((op_arg_t *)arg)->c->cold[0];
    mcsec_mikey_msg_t pm;
    return mcsec_mikey_parse(m->b, m->n, &pm) != MCSEC_OK || pm.count != 10;
}

static int op_parse_gsk(void *arg) {
    const msg_t *m = &((op_arg_t *)arg)->c->gsk[0];
    mcsec_mikey_msg_t pm;
    return mcsec_mikey_parse(m->b, m->n, &pm) != MCSEC_OK || pm.count != 9;
}

static int op_gsk_build(void *arg) {
    ctx_t *c = ((op_arg_t *)arg)->c;
    return build_gsk(c, &c->scratch);
}

static int gsk_open_one(op_arg_t *o, const mcsec_gsk_keys_t *keys) {
    mcsec_gsk_result_t r;
    msg_t *m = next_msg(o);
    if (m == NULL) return -1;
    int bad = mcsec_gsk_open(o->rx, keys, m->b, m->n, 0, &r) != MCSEC_OK ||
              !mcsec_ct_equal(r.gsk, m->key, sizeof r.gsk) || r.gsk_id != m->id;
    mcsec_gsk_result_wipe(&r);
    return bad;
}

static int op_gsk_open(void *arg) {
    op_arg_t *o = arg;
    const mcsec_gsk_keys_t keys = {lookup_store, o->c->ks, NULL, NULL};
    return gsk_open_one(o, &keys);
}

static int op_gsk_open_mem(void *arg) {
    op_arg_t *o = arg;
    const mcsec_gsk_keys_t keys = {lookup_mem, &o->c->gsk_gmk, NULL, NULL};
    return gsk_open_one(o, &keys);
}

/* The keystore's write path by hand, in a directory beside the store: a new 0600 file with a
 * GMK record's worth of octets, renamed into place under a new name, with or without the two
 * fsyncs. The differences between the three variants are the cost of each fsync. */
#define RAW_RECORD_LEN 160

static int raw_write(ctx_t *c, int sync_file, int sync_dir) {
    static const uint8_t data[RAW_RECORD_LEN];
    char tmp[PATH_MAX + 32], dst[PATH_MAX + 32];
    snprintf(tmp, sizeof tmp, "%s/.record.tmp", c->raw);
    snprintf(dst, sizeof dst, "%s/%08x", c->raw, ++c->counter);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) return -1;
    int bad = write(fd, data, sizeof data) != (ssize_t)sizeof data || (sync_file && fsync(fd) != 0);
    bad |= close(fd) != 0;
    if (bad || rename(tmp, dst) != 0) return -1;
    if (!sync_dir) return 0;
    fd = open(c->raw, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return -1;
    bad = fsync(fd) != 0;
    bad |= close(fd) != 0;
    return bad ? -1 : 0;
}

static int op_raw_nosync(void *arg) {
    return raw_write(((op_arg_t *)arg)->c, 0, 0);
}

static int op_raw_sync_file(void *arg) {
    return raw_write(((op_arg_t *)arg)->c, 1, 0);
}

static int op_raw_sync_both(void *arg) {
    return raw_write(((op_arg_t *)arg)->c, 1, 1);
}

/* --- Report ----------------------------------------------------------------------------- */

enum {
    M_GMK_OPEN,
    M_GMK_OPEN_NOSTORE,
    M_GMK_OPEN_WARM,
    M_GMK_STORE,
    M_GMK_BUILD,
    M_PARSE,
    M_PARSE_GSK,
    M_GSK_BUILD,
    M_GSK_OPEN,
    M_GSK_OPEN_MEM,
    M_RAW_NOSYNC,
    M_RAW_SYNC_FILE,
    M_RAW_SYNC_BOTH,
    M_ENCAP,
    M_DECAP,
    M_SIGN,
    M_VERIFY_COLD,
    M_COUNT
};

/* One timed message operation: its function, the receiver and pool it consumes (if any). */
static const struct {
    const char *name;
    bench_fn fn;
    int rx;   /* RX_* or -1 */
    int pool; /* 0 none, 1 cold, 2 warm, 3 gsk */
    const char *what;
} msg_ops[] = {
    [M_GMK_OPEN] = {"gmk_open_us", op_gmk_open, RX_STORE, 1, "GMK open + store"},
    [M_GMK_OPEN_NOSTORE] = {"gmk_open_nostore_us", op_gmk_open_nostore, RX_NOSTORE, 1,
                            "GMK open, no store"},
    [M_GMK_OPEN_WARM] = {"gmk_open_warm_us", op_gmk_open_nostore, RX_WARM, 2,
                         "GMK open, signer cached"},
    [M_GMK_STORE] = {"gmk_store_us", op_gmk_store, -1, 0, "GMK store (put_gmk)"},
    [M_GMK_BUILD] = {"gmk_build_us", op_gmk_build, -1, 0, "GMK build"},
    [M_PARSE] = {"parse_us", op_parse_gmk, -1, 0, "parse GMK I_MESSAGE"},
    [M_PARSE_GSK] = {"parse_gsk_us", op_parse_gsk, -1, 0, "parse GSK message"},
    [M_GSK_BUILD] = {"gsk_build_us", op_gsk_build, -1, 0, "GSK build"},
    [M_GSK_OPEN] = {"gsk_open_us", op_gsk_open, RX_NOSTORE, 3, "GSK open (GMK from store)"},
    [M_GSK_OPEN_MEM] = {"gsk_open_mem_us", op_gsk_open_mem, RX_WARM, 3, "GSK open (GMK in memory)"},
    [M_RAW_NOSYNC] = {"raw_write_rename_us", op_raw_nosync, -1, 0, "store path, no fsync"},
    [M_RAW_SYNC_FILE] = {"raw_fsync_file_us", op_raw_sync_file, -1, 0, "store path, fsync file"},
    [M_RAW_SYNC_BOTH] = {"raw_fsync_file_dir_us", op_raw_sync_both, -1, 0,
                         "store path, fsync file+dir"},
    [M_ENCAP] = {"sakke_encapsulate_us", NULL, -1, 0, "sakke_encapsulate"},
    [M_DECAP] = {"sakke_decapsulate_us", NULL, -1, 0, "sakke_decapsulate"},
    [M_SIGN] = {"eccsi_sign_us", NULL, -1, 0, "eccsi_sign"},
    [M_VERIFY_COLD] = {"eccsi_verify_cold_us", NULL, -1, 0, "eccsi_verify_cold"},
};

typedef struct {
    const char *name;
    double value, limit;
    int strict; /* value < limit rather than <= */
    int met;
} target_t;

enum { T_GMK_OPEN, T_GMK_BUILD, T_PARSE, T_PARSE_GSK, T_COUNT };

typedef struct {
    double us[M_COUNT];
    target_t t[T_COUNT];
    int meets, rounds;
    size_t gmk_len, gsk_len;
    const char *store, *fs;
} report_t;

static void print_json(const report_t *r) {
    char cpu[256];
    bench_cpu_model(cpu, sizeof cpu);
    printf("{\"unit\":\"us\",\"machine\":{\"cpu\":");
    bench_json_string(cpu);
    printf(",\"cores\":%d},\"rounds\":%d,\"store\":{\"dir\":", bench_cores(), r->rounds);
    bench_json_string(r->store);
    printf(",\"filesystem\":");
    bench_json_string(r->fs);
    printf(",\"scrypt_log2n\":10},\"sizes\":{\"gmk_message\":%zu,\"gsk_message\":%zu},\"ops\":{",
           r->gmk_len, r->gsk_len);
    for (int i = 0; i < M_COUNT; i++)
        printf("%s\"%s\":%.2f", i ? "," : "", msg_ops[i].name, r->us[i]);
    printf("},\"ratios\":{\"gmk_open\":%.4f,\"gmk_build\":%.4f},\"targets\":{",
           r->t[T_GMK_OPEN].value, r->t[T_GMK_BUILD].value);
    for (int i = 0; i < T_COUNT; i++)
        printf("%s\"%s\":{\"value\":%.4f,\"%s\":%.2f,\"met\":%s}", i ? "," : "", r->t[i].name,
               r->t[i].value, r->t[i].strict ? "below" : "at_most", r->t[i].limit,
               r->t[i].met ? "true" : "false");
    printf("},\"meets_targets\":%s}\n", r->meets ? "true" : "false");
}

static void print_table(const report_t *r) {
    char cpu[256];
    bench_cpu_model(cpu, sizeof cpu);
    printf("mcsec-bench mikey: microseconds per operation, median of %d rounds\n", r->rounds);
    printf("machine: %s, %d cores; keystore on %s (%s)\n", cpu, bench_cores(), r->fs, r->store);
    printf("messages: GMK I_MESSAGE %zu octets, GSK message %zu octets\n\n", r->gmk_len,
           r->gsk_len);
    printf("%-28s %-22s %12s\n", "what", "name", "us");
    for (int i = 0; i < M_COUNT; i++)
        printf("%-28s %-22s %12.2f\n", msg_ops[i].what, msg_ops[i].name, r->us[i]);
    printf("\n%-52s %10s\n", "target", "value");
    static const char *const desc[T_COUNT] = {
        "gmk_open / (eccsi_verify_cold + sakke_decapsulate)",
        "gmk_build / (sakke_encapsulate + eccsi_sign)",
        "parse_us (GMK I_MESSAGE)",
        "parse_gsk_us (GSK message)",
    };
    for (int i = 0; i < T_COUNT; i++)
        printf("%-52s %10.3f %s %.2f %s\n", desc[i], r->t[i].value,
               r->t[i].strict ? "<" : "<=", r->t[i].limit, r->t[i].met ? "met" : "NOT MET");
    printf("\nmeets targets: %s\n", r->meets ? "yes" : "no");
}

int bench_cmd_mikey(int argc, char **argv) {
    int json = 0, rounds = 7;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0) {
            json = 1;
        } else if (strcmp(argv[i], "--rounds") == 0 && i + 1 < argc) {
            if (bench_parse_rounds(argv[++i], &rounds) != 0) {
                fprintf(stderr, "mcsec-bench mikey: --rounds takes 1..%d\n", BENCH_MAX_ROUNDS);
                return 2;
            }
        } else {
            fprintf(stderr, "usage: mcsec-bench mikey [--json] [--rounds N]\n");
            return 2;
        }
    }

    static ctx_t ctx; /* large: keep it off the stack */
    static bench_timer_t timers[M_COUNT];
    static op_arg_t args[M_COUNT];
    ctx_t *c = &ctx;
    report_t rep;
    bench_op_t prim[BENCH_PRIMITIVES];
    const int progress = !json && isatty(STDERR_FILENO);
    memset(&rep, 0, sizeof rep);
    rep.rounds = rounds;
    int status = 1, i = 0;

    if (bench_crypto_primitives_begin(prim) != 0) goto out;
    if (progress) fprintf(stderr, "  building 3 x %d messages...\n", BENCH_POOL);
    if (setup(c) != 0) goto out;

    msg_t *pools[4] = {NULL, c->cold, c->warm, c->gsk};
    for (i = 0; i < M_COUNT; i++) {
        args[i] = (op_arg_t){c, msg_ops[i].rx >= 0 ? c->rx[msg_ops[i].rx] : NULL,
                             pools[msg_ops[i].pool], 0};
        if (msg_ops[i].fn != NULL) {
            bench_timer_init(&timers[i], msg_ops[i].fn, &args[i], msg_ops[i].pool ? BENCH_POOL : 0);
            continue;
        }
        for (int k = 0; k < BENCH_PRIMITIVES; k++) /* the four primitives, by name */
            if (strncmp(msg_ops[i].name, prim[k].name, strlen(prim[k].name)) == 0 &&
                strcmp(msg_ops[i].name + strlen(prim[k].name), "_us") == 0)
                bench_timer_init(&timers[i], prim[k].fn, prim[k].arg, 0);
        if (timers[i].fn == NULL) {
            fprintf(stderr, "mcsec-bench mikey: no primitive for %s\n", msg_ops[i].name);
            goto out;
        }
    }
    /* Calibrate everything, then interleave the rounds. */
    for (i = 0; i < M_COUNT; i++)
        if (bench_calibrate(&timers[i], rounds) != 0) goto fail;
    for (int r = 0; r < rounds; r++) {
        if (progress) fprintf(stderr, "  round %d of %d...\n", r + 1, rounds);
        for (i = 0; i < M_COUNT; i++)
            if (bench_round(&timers[i]) != 0) goto fail;
    }
    for (i = 0; i < M_COUNT; i++)
        rep.us[i] = bench_median_us(&timers[i]);

    rep.gmk_len = c->cold[0].n;
    rep.gsk_len = c->gsk[0].n;
    rep.store = c->store;
    rep.fs = c->fs;
    rep.t[T_GMK_OPEN] =
        (target_t){"gmk_open_ratio", rep.us[M_GMK_OPEN] / (rep.us[M_VERIFY_COLD] + rep.us[M_DECAP]),
                   1.10, 0, 0};
    rep.t[T_GMK_BUILD] = (target_t){
        "gmk_build_ratio", rep.us[M_GMK_BUILD] / (rep.us[M_ENCAP] + rep.us[M_SIGN]), 1.10, 0, 0};
    rep.t[T_PARSE] = (target_t){"parse_us", rep.us[M_PARSE], 2.0, 1, 0};
    rep.t[T_PARSE_GSK] = (target_t){"parse_gsk_us", rep.us[M_PARSE_GSK], 2.0, 1, 0};
    rep.meets = 1;
    for (i = 0; i < T_COUNT; i++) {
        target_t *t = &rep.t[i];
        t->met = t->strict ? t->value < t->limit : t->value <= t->limit;
        rep.meets &= t->met;
    }
    if (json)
        print_json(&rep);
    else
        print_table(&rep);
    status = 0;
    goto out;
fail : {
    const char *ks_why = mcsec_keystore_last_error();
    fprintf(stderr, "mcsec-bench mikey: %s failed while being timed%s%s\n", msg_ops[i].name,
            ks_why[0] ? ": " : "", ks_why);
}
out:
    teardown(c);
    bench_crypto_primitives_end();
    return status;
}
