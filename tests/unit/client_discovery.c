/* Restricted discovery (include/mcsec/discovery.h): announced codes against known answers
 * computed with OpenSSL's command line (tests/vectors/discovery.txt), slot boundaries, the
 * +/-1 slot window, expired and replayed codes, unauthorised monitors, every malformed class
 * of the announcement parser and of key files (the layout is rebuilt here from
 * docs/protocol.md with the seal primitives), key files on disk.
 *
 * `test_client_discovery --write-corpus DIR` writes fuzz seeds (tests/fuzz/corpus/discovery):
 * announcements, one of each malformed class, and a key file sealed with "fuzz". */
#include <errno.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mcsec/discovery.h"
#include "mcsec/seal.h"
#include "mcsec/secmem.h"
#include "test.h"

#define S0 59845330ull /* a slot of the vectors; 30 s slots */
#define T0 (S0 * 30)   /* its first second */

static char *vectors;

static void vec(const char *name, uint8_t *out, size_t len) {
    CHECK(test_vector(vectors, name, out, len) == len);
}

/* The application of the vectors. */
static mcsec_disc_app_t vector_app(void) {
    mcsec_disc_app_t a;
    memset(&a, 0, sizeof a);
    strcpy(a.name, "fire-team-7");
    vec("key", a.key, sizeof a.key);
    vec("prose_code", a.prose_code, 16);
    a.prose_code_len = 16;
    a.slot_s = 30;
    return a;
}

static void test_known_answers(void) {
    mcsec_disc_app_t a = vector_app();
    uint8_t code[MCSEC_DISC_CODE_LEN], want[MCSEC_DISC_CODE_LEN], msg[MCSEC_DISC_MSG_LEN],
        want_msg[MCSEC_DISC_MSG_LEN];
    static const struct {
        uint64_t slot;
        const char *name;
    } cases[] = {{S0, "code_s59845330"}, {S0 + 1, "code_s59845331"}, {0, "code_s0"},
                 {UINT64_MAX, "code_smax"}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        vec(cases[i].name, want, sizeof want);
        CHECK_STATUS(mcsec_disc_code(&a, cases[i].slot, code), MCSEC_OK);
        CHECK_MEM(code, want, sizeof want);
    }
    /* A ProSe code of another length. */
    mcsec_disc_app_t s = a;
    memset(s.prose_code, 0, sizeof s.prose_code);
    vec("prose_code_short", s.prose_code, 4);
    s.prose_code_len = 4;
    vec("code_short_s59845330", want, sizeof want);
    CHECK_STATUS(mcsec_disc_code(&s, S0, code), MCSEC_OK);
    CHECK_MEM(code, want, sizeof want);
    /* The whole announcement, anywhere in the slot. */
    vec("announcement", want_msg, sizeof want_msg);
    for (uint64_t t = T0; t < T0 + 30; t += 7) {
        mcsec_disc_msg_t m;
        CHECK_STATUS(mcsec_disc_announce(&a, t, msg, &m), MCSEC_OK);
        CHECK_MEM(msg, want_msg, sizeof msg);
        CHECK(m.slot_start == T0 && m.version == 1 && m.type == 1);
    }
    /* The key and the ProSe code both matter. */
    vec("code_s59845330", want, sizeof want);
    s = a;
    s.key[31] ^= 1;
    CHECK_STATUS(mcsec_disc_code(&s, S0, code), MCSEC_OK);
    CHECK(memcmp(code, want, sizeof code) != 0);
    s = a;
    s.prose_code[0] ^= 0x80;
    CHECK_STATUS(mcsec_disc_code(&s, S0, code), MCSEC_OK);
    CHECK(memcmp(code, want, sizeof code) != 0);
}

static void test_slots(void) {
    mcsec_disc_app_t a = vector_app();
    uint64_t slot = 0;
    uint8_t before[MCSEC_DISC_MSG_LEN], at[MCSEC_DISC_MSG_LEN], last[MCSEC_DISC_MSG_LEN];
    CHECK_STATUS(mcsec_disc_slot(T0 - 1, 30, &slot), MCSEC_OK);
    CHECK(slot == S0 - 1);
    CHECK_STATUS(mcsec_disc_slot(T0, 30, &slot), MCSEC_OK);
    CHECK(slot == S0);
    CHECK_STATUS(mcsec_disc_slot(T0 + 29, 30, &slot), MCSEC_OK);
    CHECK(slot == S0);
    CHECK_STATUS(mcsec_disc_slot(T0 + 30, 30, &slot), MCSEC_OK);
    CHECK(slot == S0 + 1);
    CHECK_STATUS(mcsec_disc_slot(119, 60, &slot), MCSEC_OK);
    CHECK(slot == 1);
    CHECK_STATUS(mcsec_disc_slot(UINT64_MAX, 1, &slot), MCSEC_OK);
    CHECK(slot == UINT64_MAX);
    CHECK_STATUS(mcsec_disc_slot(T0, 0, &slot), MCSEC_ERR_BAD_INPUT);
    CHECK_STATUS(mcsec_disc_slot(T0, MCSEC_DISC_SLOT_MAX + 1, &slot), MCSEC_ERR_BAD_INPUT);
    CHECK_STATUS(mcsec_disc_slot(T0, 30, NULL), MCSEC_ERR_BAD_INPUT);
    /* The code changes exactly at the boundary, not within the slot. */
    CHECK_STATUS(mcsec_disc_announce(&a, T0 - 1, before, NULL), MCSEC_OK);
    CHECK_STATUS(mcsec_disc_announce(&a, T0, at, NULL), MCSEC_OK);
    CHECK_STATUS(mcsec_disc_announce(&a, T0 + 29, last, NULL), MCSEC_OK);
    CHECK(memcmp(before + 10, at + 10, MCSEC_DISC_CODE_LEN) != 0);
    CHECK_MEM(at, last, sizeof at);
    /* Invalid applications. */
    mcsec_disc_app_t b = a;
    uint8_t code[MCSEC_DISC_CODE_LEN];
    b.prose_code_len = 0;
    CHECK_STATUS(mcsec_disc_code(&b, S0, code), MCSEC_ERR_BAD_INPUT);
    b.prose_code_len = MCSEC_DISC_PROSE_CODE_MAX + 1;
    CHECK_STATUS(mcsec_disc_code(&b, S0, code), MCSEC_ERR_BAD_INPUT);
    b = a;
    b.slot_s = 0;
    CHECK_STATUS(mcsec_disc_announce(&b, T0, at, NULL), MCSEC_ERR_BAD_INPUT);
    b = a;
    b.name[0] = 0;
    CHECK_STATUS(mcsec_disc_code(&b, S0, code), MCSEC_ERR_BAD_INPUT);
    b.name[0] = '\n';
    CHECK_STATUS(mcsec_disc_code(&b, S0, code), MCSEC_ERR_BAD_INPUT);
    memset(b.name, 'x', sizeof b.name); /* unterminated */
    CHECK_STATUS(mcsec_disc_code(&b, S0, code), MCSEC_ERR_BAD_INPUT);
    CHECK_STATUS(mcsec_disc_code(NULL, S0, code), MCSEC_ERR_BAD_INPUT);
    /* Generated applications: random, valid, labelled. */
    mcsec_disc_app_t g1, g2;
    CHECK_STATUS(mcsec_disc_app_generate(&g1, "ems-unit-3", 60), MCSEC_OK);
    CHECK_STATUS(mcsec_disc_app_generate(&g2, "ems-unit-3", 60), MCSEC_OK);
    CHECK(strcmp(g1.name, "ems-unit-3") == 0 && g1.slot_s == 60 && g1.prose_code_len == 16);
    CHECK(memcmp(g1.key, g2.key, sizeof g1.key) != 0);
    CHECK(memcmp(g1.prose_code, g2.prose_code, 16) != 0);
    CHECK_STATUS(mcsec_disc_app_generate(&g1, "", 30), MCSEC_ERR_BAD_INPUT);
    CHECK_STATUS(mcsec_disc_app_generate(&g1, "tab\there", 30), MCSEC_ERR_BAD_INPUT);
    CHECK_STATUS(mcsec_disc_app_generate(&g1, "x", 0), MCSEC_ERR_BAD_INPUT);
    CHECK_STATUS(mcsec_disc_app_generate(&g1, "x", 86401), MCSEC_ERR_BAD_INPUT);
    char longname[80];
    memset(longname, 'n', sizeof longname);
    longname[64] = 0; /* 64 characters */
    CHECK_STATUS(mcsec_disc_app_generate(&g1, longname, 30), MCSEC_ERR_BAD_INPUT);
    longname[63] = 0; /* 63 */
    CHECK_STATUS(mcsec_disc_app_generate(&g1, longname, 30), MCSEC_OK);
    CHECK(strlen(g1.name) == 63);
    mcsec_memzero(&g1, sizeof g1);
    mcsec_memzero(&g2, sizeof g2);
}

static void test_parser(void) {
    uint8_t good[MCSEC_DISC_MSG_LEN], buf[64], out[MCSEC_DISC_MSG_LEN];
    mcsec_disc_msg_t m;
    vec("announcement", good, sizeof good);
    CHECK_STATUS(mcsec_disc_parse(good, sizeof good, &m), MCSEC_OK);
    CHECK(m.version == 1 && m.type == 1 && m.slot_start == T0);
    CHECK_MEM(m.code, good + 10, MCSEC_DISC_CODE_LEN);
    mcsec_disc_encode(&m, out);
    CHECK_MEM(out, good, sizeof good);
    /* Truncated anywhere after a good version and type. */
    CHECK_STATUS(mcsec_disc_parse(good, 0, &m), MCSEC_ERR_TRUNCATED);
    CHECK_STATUS(mcsec_disc_parse(NULL, 0, &m), MCSEC_ERR_TRUNCATED);
    for (size_t len = 1; len < sizeof good; len++)
        CHECK_STATUS(mcsec_disc_parse(good, len, &m), MCSEC_ERR_TRUNCATED);
    /* Trailing data. */
    memcpy(buf, good, sizeof good);
    buf[sizeof good] = 0;
    CHECK_STATUS(mcsec_disc_parse(buf, sizeof good + 1, &m), MCSEC_ERR_TRAILING_DATA);
    CHECK_STATUS(mcsec_disc_parse(buf, sizeof buf, &m), MCSEC_ERR_TRAILING_DATA);
    /* Versions: checked before the length. */
    for (unsigned v = 0; v < 256; v++) {
        if (v == 1) continue;
        buf[0] = (uint8_t)v;
        CHECK_STATUS(mcsec_disc_parse(buf, sizeof good, &m), MCSEC_ERR_UNSUPPORTED);
        CHECK_STATUS(mcsec_disc_parse(buf, 1, &m), MCSEC_ERR_UNSUPPORTED);
    }
    buf[0] = 1;
    for (unsigned t = 0; t < 256; t++) {
        if (t == 1) continue;
        buf[1] = (uint8_t)t;
        CHECK_STATUS(mcsec_disc_parse(buf, sizeof good, &m), MCSEC_ERR_STRUCTURE);
        CHECK_STATUS(mcsec_disc_parse(buf, 2, &m), MCSEC_ERR_STRUCTURE);
    }
    /* The output is zeroed on failure; bad arguments. */
    memset(&m, 0xaa, sizeof m);
    CHECK_STATUS(mcsec_disc_parse(good, 25, &m), MCSEC_ERR_TRUNCATED);
    CHECK(m.slot_start == 0 && m.version == 0);
    CHECK_STATUS(mcsec_disc_parse(good, sizeof good, NULL), MCSEC_ERR_BAD_INPUT);
    CHECK_STATUS(mcsec_disc_parse(NULL, 5, &m), MCSEC_ERR_BAD_INPUT);
}

/* A monitor holding the given applications. */
static mcsec_disc_monitor_t *monitor_of(const mcsec_disc_app_t *apps, size_t n) {
    mcsec_disc_monitor_t *mon = NULL;
    CHECK_STATUS(mcsec_disc_monitor_new(&mon), MCSEC_OK);
    for (size_t i = 0; i < n; i++)
        CHECK_STATUS(mcsec_disc_monitor_add(mon, &apps[i]), MCSEC_OK);
    return mon;
}

/* The monitor's verdict on app's announcement at time t_ann, checked at t_mon (fresh monitor). */
static mcsec_status_t verdict(const mcsec_disc_app_t *app, uint64_t t_ann, uint64_t t_mon,
                              int *offset) {
    mcsec_disc_app_t a = vector_app();
    uint8_t msg[MCSEC_DISC_MSG_LEN];
    mcsec_disc_match_t mt;
    mcsec_disc_monitor_t *mon = monitor_of(&a, 1);
    CHECK_STATUS(mcsec_disc_announce(app, t_ann, msg, NULL), MCSEC_OK);
    mcsec_status_t rc = mcsec_disc_monitor_check(mon, msg, sizeof msg, t_mon, &mt);
    if (offset != NULL) *offset = mt.offset;
    if (rc == MCSEC_OK) CHECK(mt.index == 0 && strcmp(mt.name, "fire-team-7") == 0);
    mcsec_disc_monitor_free(mon);
    return rc;
}

static void test_window(void) {
    mcsec_disc_app_t a = vector_app();
    int off = 9;
    CHECK_STATUS(verdict(&a, T0 + 5, T0 + 20, &off), MCSEC_OK);
    CHECK(off == 0);
    /* One slot either side of the monitor's clock: accepted, with the offset. */
    CHECK_STATUS(verdict(&a, T0 - 30, T0, &off), MCSEC_OK);
    CHECK(off == -1);
    CHECK_STATUS(verdict(&a, T0 + 30, T0 + 29, &off), MCSEC_OK);
    CHECK(off == 1);
    /* The window's edges, to the second: an announcement of slot S0 is accepted by a monitor
     * whose clock is anywhere in slots S0 - 1 .. S0 + 1, and only there. */
    CHECK_STATUS(verdict(&a, T0, T0 - 30, &off), MCSEC_OK);
    CHECK(off == 1);
    CHECK_STATUS(verdict(&a, T0, T0 - 31, NULL), MCSEC_ERR_EXPIRED);
    CHECK_STATUS(verdict(&a, T0, T0 + 59, &off), MCSEC_OK);
    CHECK(off == -1);
    CHECK_STATUS(verdict(&a, T0, T0 + 60, NULL), MCSEC_ERR_EXPIRED);
    /* Expired: two slots old (a recording replayed) or far off either way. */
    CHECK_STATUS(verdict(&a, T0 - 60, T0, NULL), MCSEC_ERR_EXPIRED);
    CHECK_STATUS(verdict(&a, T0 + 60, T0, NULL), MCSEC_ERR_EXPIRED);
    CHECK_STATUS(verdict(&a, 0, T0, NULL), MCSEC_ERR_EXPIRED);
    CHECK_STATUS(verdict(&a, UINT64_MAX, T0, NULL), MCSEC_ERR_EXPIRED);
    CHECK_STATUS(verdict(&a, T0, 0, NULL), MCSEC_ERR_EXPIRED);
    /* At the start of time and of slot numbers. */
    CHECK_STATUS(verdict(&a, 0, 59, NULL), MCSEC_OK);
    CHECK_STATUS(verdict(&a, 0, 60, NULL), MCSEC_ERR_EXPIRED);

    /* An old code with its start time moved into the window does not match. */
    mcsec_disc_monitor_t *mon = monitor_of(&a, 1);
    uint8_t msg[MCSEC_DISC_MSG_LEN];
    mcsec_disc_msg_t m;
    CHECK_STATUS(mcsec_disc_announce(&a, T0 - 60, msg, &m), MCSEC_OK);
    m.slot_start = T0;
    mcsec_disc_encode(&m, msg);
    CHECK_STATUS(mcsec_disc_monitor_check(mon, msg, sizeof msg, T0, NULL), MCSEC_ERR_VERIFY);
    /* Nor does a start time that is not a slot boundary. */
    CHECK_STATUS(mcsec_disc_announce(&a, T0, msg, &m), MCSEC_OK);
    m.slot_start = T0 + 1;
    mcsec_disc_encode(&m, msg);
    CHECK_STATUS(mcsec_disc_monitor_check(mon, msg, sizeof msg, T0, NULL), MCSEC_ERR_VERIFY);
    mcsec_disc_monitor_free(mon);
}

static void test_replay(void) {
    mcsec_disc_app_t a = vector_app();
    mcsec_disc_monitor_t *mon = monitor_of(&a, 1);
    uint8_t s0[MCSEC_DISC_MSG_LEN], s1[MCSEC_DISC_MSG_LEN], bad[MCSEC_DISC_MSG_LEN];
    mcsec_disc_match_t mt;
    CHECK_STATUS(mcsec_disc_announce(&a, T0, s0, NULL), MCSEC_OK);
    CHECK_STATUS(mcsec_disc_announce(&a, T0 + 30, s1, NULL), MCSEC_OK);
    /* Forgeries first: they change nothing. */
    for (size_t bit = 0; bit < 8 * MCSEC_DISC_CODE_LEN; bit++) {
        memcpy(bad, s0, sizeof bad);
        bad[10 + bit / 8] ^= (uint8_t)(1u << (bit % 8));
        CHECK_STATUS(mcsec_disc_monitor_check(mon, bad, sizeof bad, T0 + 1, &mt),
                     MCSEC_ERR_VERIFY);
    }
    CHECK_STATUS(mcsec_disc_monitor_check(mon, s0, sizeof s0, T0 + 1, &mt), MCSEC_OK);
    CHECK(mt.slot == S0 && mt.offset == 0 && mt.index == 0);
    /* The same code again in its slot (the announcer's next period, or anyone re-sending it):
     * a repeat, reported with the application. */
    memset(&mt, 0, sizeof mt);
    CHECK_STATUS(mcsec_disc_monitor_check(mon, s0, sizeof s0, T0 + 2, &mt), MCSEC_ERR_REPLAY);
    CHECK(mt.slot == S0 && mt.name != NULL && strcmp(mt.name, "fire-team-7") == 0);
    CHECK_STATUS(mcsec_disc_monitor_check(mon, s0, sizeof s0, T0 + 40, NULL), MCSEC_ERR_REPLAY);
    /* The next slot discovers again; after it the older code is a replay even in window. */
    CHECK_STATUS(mcsec_disc_monitor_check(mon, s1, sizeof s1, T0 + 31, &mt), MCSEC_OK);
    CHECK(mt.slot == S0 + 1);
    CHECK_STATUS(mcsec_disc_monitor_check(mon, s0, sizeof s0, T0 + 31, NULL), MCSEC_ERR_REPLAY);
    CHECK_STATUS(mcsec_disc_monitor_check(mon, s1, sizeof s1, T0 + 32, NULL), MCSEC_ERR_REPLAY);
    /* Out of the window the old code is expired, before any replay check. */
    CHECK_STATUS(mcsec_disc_monitor_check(mon, s0, sizeof s0, T0 + 60, NULL), MCSEC_ERR_EXPIRED);
    /* Malformed input to a monitor: the parser's status. */
    CHECK_STATUS(mcsec_disc_monitor_check(mon, s0, 25, T0, NULL), MCSEC_ERR_TRUNCATED);
    CHECK_STATUS(mcsec_disc_monitor_check(NULL, s0, sizeof s0, T0, NULL), MCSEC_ERR_BAD_INPUT);
    mcsec_disc_monitor_free(mon);
}

static void test_unauthorised(void) {
    mcsec_disc_app_t a = vector_app(), other_key = a, other_code = a, gen;
    uint8_t msg[MCSEC_DISC_MSG_LEN];
    mcsec_disc_match_t mt;
    other_key.key[0] ^= 1;
    other_code.prose_code[15] ^= 1;
    CHECK_STATUS(mcsec_disc_announce(&a, T0, msg, NULL), MCSEC_OK);
    /* Wrong key (the same ProSe code); right key, another code; a random application. */
    mcsec_disc_monitor_t *m1 = monitor_of(&other_key, 1), *m2 = monitor_of(&other_code, 1);
    CHECK_STATUS(mcsec_disc_monitor_check(m1, msg, sizeof msg, T0, &mt), MCSEC_ERR_VERIFY);
    CHECK(mt.name == NULL);
    CHECK_STATUS(mcsec_disc_monitor_check(m2, msg, sizeof msg, T0, NULL), MCSEC_ERR_VERIFY);
    CHECK_STATUS(mcsec_disc_app_generate(&gen, "ems-unit-3", 30), MCSEC_OK);
    mcsec_disc_monitor_t *m3 = monitor_of(&gen, 1);
    CHECK_STATUS(mcsec_disc_monitor_check(m3, msg, sizeof msg, T0, NULL), MCSEC_ERR_VERIFY);
    /* A monitor with no applications. */
    mcsec_disc_monitor_t *m4 = monitor_of(NULL, 0);
    CHECK_STATUS(mcsec_disc_monitor_check(m4, msg, sizeof msg, T0, NULL), MCSEC_ERR_UNKNOWN_KEY);
    /* The unauthorised ones' failures did not affect an authorised one. */
    mcsec_disc_monitor_t *m5 = monitor_of(&a, 1);
    CHECK_STATUS(mcsec_disc_monitor_check(m5, msg, sizeof msg, T0, NULL), MCSEC_OK);
    mcsec_disc_monitor_free(m1);
    mcsec_disc_monitor_free(m2);
    mcsec_disc_monitor_free(m3);
    mcsec_disc_monitor_free(m4);
    mcsec_disc_monitor_free(m5);
    mcsec_memzero(&gen, sizeof gen);
}

/* Several applications, several slot lengths, one monitor. */
static void test_many(void) {
    mcsec_disc_app_t apps[3], ten, extra;
    uint8_t msg[MCSEC_DISC_MSG_LEN];
    mcsec_disc_match_t mt;
    CHECK_STATUS(mcsec_disc_app_generate(&apps[0], "ten", 10), MCSEC_OK);
    CHECK_STATUS(mcsec_disc_app_generate(&apps[1], "thirty", 30), MCSEC_OK);
    CHECK_STATUS(mcsec_disc_app_generate(&apps[2], "sixty", 60), MCSEC_OK);
    mcsec_disc_monitor_t *mon = monitor_of(apps, 3);
    for (size_t i = 0; i < 3; i++) {
        /* T0 + 10 is a 10 s boundary, not a 30 s or 60 s one. */
        CHECK_STATUS(mcsec_disc_announce(&apps[i], T0 + 10, msg, NULL), MCSEC_OK);
        CHECK_STATUS(mcsec_disc_monitor_check(mon, msg, sizeof msg, T0 + 12, &mt), MCSEC_OK);
        CHECK(mt.index == i && strcmp(mt.name, apps[i].name) == 0);
    }
    /* A monitor without the 10 s application: that application's current code is no match
     * (not expired) although its start is no boundary of the monitor's slots. */
    mcsec_disc_monitor_t *only30 = monitor_of(&apps[1], 1);
    ten = apps[0];
    CHECK_STATUS(mcsec_disc_announce(&ten, T0 + 10, msg, NULL), MCSEC_OK);
    CHECK_STATUS(mcsec_disc_monitor_check(only30, msg, sizeof msg, T0 + 12, NULL),
                 MCSEC_ERR_VERIFY);
    /* Capacity. */
    mcsec_disc_monitor_t *full = monitor_of(NULL, 0);
    for (size_t i = 0; i < MCSEC_DISC_MONITOR_MAX; i++)
        CHECK_STATUS(mcsec_disc_monitor_add(full, &apps[i % 3]), MCSEC_OK);
    extra = apps[0];
    CHECK_STATUS(mcsec_disc_monitor_add(full, &extra), MCSEC_ERR_BAD_LENGTH);
    extra.prose_code_len = 0;
    CHECK_STATUS(mcsec_disc_monitor_add(only30, &extra), MCSEC_ERR_BAD_INPUT);
    CHECK_STATUS(mcsec_disc_monitor_add(NULL, &apps[0]), MCSEC_ERR_BAD_INPUT);
    CHECK_STATUS(mcsec_disc_monitor_new(NULL), MCSEC_ERR_BAD_INPUT);
    mcsec_disc_monitor_free(NULL);
    mcsec_disc_monitor_free(mon);
    mcsec_disc_monitor_free(only30);
    mcsec_disc_monitor_free(full);
    mcsec_memzero(apps, sizeof apps);
    mcsec_memzero(&ten, sizeof ten);
    mcsec_memzero(&extra, sizeof extra);
}

/* --- Key files --------------------------------------------------------------------------- */

#define PASS "correct horse"
#define LOG2N 10

static int same_app(const mcsec_disc_app_t *x, const mcsec_disc_app_t *y) {
    return strcmp(x->name, y->name) == 0 && memcmp(x->key, y->key, sizeof x->key) == 0 &&
           x->prose_code_len == y->prose_code_len &&
           memcmp(x->prose_code, y->prose_code, x->prose_code_len) == 0 && x->slot_s == y->slot_s;
}

/* A key file built here from the documented layout, with plaintext pt. */
static size_t build_file(const uint8_t *pt, size_t pt_len, uint8_t *out) {
    uint8_t kek[32];
    memcpy(out, "MCDK", 4);
    out[4] = 1;
    out[5] = LOG2N;
    out[6] = 8;
    out[7] = 1;
    memset(out + 8, 0x5a, 16);  /* salt */
    memset(out + 24, 0xa5, 12); /* nonce */
    CHECK_STATUS(mcsec_seal_scrypt(PASS, strlen(PASS), out + 8, 16, LOG2N, 8, 1, kek, 32),
                 MCSEC_OK);
    CHECK_STATUS(mcsec_seal(kek, out + 24, out, 36, pt, pt_len, out + 36, out + 36 + pt_len),
                 MCSEC_OK);
    mcsec_memzero(kek, sizeof kek);
    return 36 + pt_len + 16;
}

/* slot_s | key | code_len | code | name_len | name */
static size_t plaintext(const mcsec_disc_app_t *a, uint8_t *pt) {
    size_t n = 0, name_len = strlen(a->name);
    pt[n++] = (uint8_t)(a->slot_s >> 24);
    pt[n++] = (uint8_t)(a->slot_s >> 16);
    pt[n++] = (uint8_t)(a->slot_s >> 8);
    pt[n++] = (uint8_t)a->slot_s;
    memcpy(pt + n, a->key, 32);
    n += 32;
    pt[n++] = (uint8_t)a->prose_code_len;
    memcpy(pt + n, a->prose_code, a->prose_code_len);
    n += a->prose_code_len;
    pt[n++] = (uint8_t)name_len;
    memcpy(pt + n, a->name, name_len);
    return n + name_len;
}

static void test_keyfile_format(void) {
    mcsec_disc_app_t a = vector_app(), got;
    uint8_t file[MCSEC_DISC_KEYFILE_MAX + 8], pt[256], bad[sizeof file];
    size_t len = 0;

    /* Seal and open. */
    CHECK_STATUS(mcsec_disc_keyfile_seal(&a, PASS, strlen(PASS), LOG2N, file, sizeof file, &len),
                 MCSEC_OK);
    CHECK(len == 36 + 4 + 32 + 1 + 16 + 1 + strlen(a.name) + 16);
    CHECK_STATUS(mcsec_disc_keyfile_open(file, len, PASS, strlen(PASS), &got), MCSEC_OK);
    CHECK(same_app(&a, &got));
    CHECK(memcmp(file, "MCDK\x01\x0a\x08\x01", 8) == 0);

    /* The layout of docs/protocol.md, built independently, opens to the same application. */
    size_t pt_len = plaintext(&a, pt);
    size_t flen = build_file(pt, pt_len, bad);
    CHECK(flen == len);
    CHECK_STATUS(mcsec_disc_keyfile_open(bad, flen, PASS, strlen(PASS), &got), MCSEC_OK);
    CHECK(same_app(&a, &got));

    /* Wrong passphrase; every octet modified. */
    CHECK_STATUS(mcsec_disc_keyfile_open(file, len, "wrong", 5, &got), MCSEC_ERR_PASSPHRASE);
    CHECK(got.slot_s == 0 && got.prose_code_len == 0);
    for (size_t i = 0; i < len; i++) {
        memcpy(bad, file, len);
        bad[i] ^= 0x01;
        /* magic; version; p = 0; any other cost, salt, nonce, ciphertext or tag */
        mcsec_status_t want = i < 4                ? MCSEC_ERR_BAD_INPUT
                              : i == 4 || i == 7 ? MCSEC_ERR_UNSUPPORTED
                                                 : MCSEC_ERR_PASSPHRASE;
        CHECK_STATUS(mcsec_disc_keyfile_open(bad, len, PASS, strlen(PASS), &got), want);
    }
    /* Costs out of range (before any scrypt). */
    memcpy(bad, file, len);
    bad[5] = 9;
    CHECK_STATUS(mcsec_disc_keyfile_open(bad, len, PASS, strlen(PASS), &got), MCSEC_ERR_UNSUPPORTED);
    bad[5] = 23;
    CHECK_STATUS(mcsec_disc_keyfile_open(bad, len, PASS, strlen(PASS), &got), MCSEC_ERR_UNSUPPORTED);
    bad[5] = LOG2N;
    bad[6] = 0;
    CHECK_STATUS(mcsec_disc_keyfile_open(bad, len, PASS, strlen(PASS), &got), MCSEC_ERR_UNSUPPORTED);
    bad[6] = 8;
    bad[7] = 17;
    CHECK_STATUS(mcsec_disc_keyfile_open(bad, len, PASS, strlen(PASS), &got), MCSEC_ERR_UNSUPPORTED);
    /* Lengths: below header + tag, no room for an application, too long, one octet more. */
    CHECK_STATUS(mcsec_disc_keyfile_open(file, 51, PASS, strlen(PASS), &got), MCSEC_ERR_TRUNCATED);
    CHECK_STATUS(mcsec_disc_keyfile_open(file, 0, PASS, strlen(PASS), &got), MCSEC_ERR_TRUNCATED);
    CHECK_STATUS(mcsec_disc_keyfile_open(file, 52, PASS, strlen(PASS), &got), MCSEC_ERR_BAD_LENGTH);
    CHECK_STATUS(mcsec_disc_keyfile_open(file, 36 + 39 + 16, PASS, strlen(PASS), &got),
                 MCSEC_ERR_BAD_LENGTH);
    CHECK_STATUS(mcsec_disc_keyfile_open(file, MCSEC_DISC_KEYFILE_MAX + 1, PASS, strlen(PASS), &got),
                 MCSEC_ERR_BAD_LENGTH);
    CHECK_STATUS(mcsec_disc_keyfile_open(file, len - 1, PASS, strlen(PASS), &got),
                 MCSEC_ERR_PASSPHRASE);
    memcpy(bad, file, len);
    bad[len] = 0;
    CHECK_STATUS(mcsec_disc_keyfile_open(bad, len + 1, PASS, strlen(PASS), &got),
                 MCSEC_ERR_PASSPHRASE);
    /* Passphrase lengths and arguments. */
    CHECK_STATUS(mcsec_disc_keyfile_open(file, len, PASS, 0, &got), MCSEC_ERR_BAD_LENGTH);
    CHECK_STATUS(mcsec_disc_keyfile_open(file, len, PASS, 1025, &got), MCSEC_ERR_BAD_LENGTH);
    CHECK_STATUS(mcsec_disc_keyfile_open(NULL, 5, PASS, strlen(PASS), &got), MCSEC_ERR_BAD_INPUT);
    CHECK_STATUS(mcsec_disc_keyfile_open(file, len, PASS, strlen(PASS), NULL), MCSEC_ERR_BAD_INPUT);
    CHECK_STATUS(mcsec_disc_keyfile_seal(&a, PASS, 0, LOG2N, file, sizeof file, &len),
                 MCSEC_ERR_BAD_LENGTH);
    CHECK_STATUS(mcsec_disc_keyfile_seal(&a, PASS, strlen(PASS), 9, file, sizeof file, &len),
                 MCSEC_ERR_UNSUPPORTED);
    CHECK_STATUS(mcsec_disc_keyfile_seal(&a, PASS, strlen(PASS), LOG2N, file, 100, &len),
                 MCSEC_ERR_BAD_INPUT);
    mcsec_disc_app_t inval = a;
    inval.slot_s = 0;
    CHECK_STATUS(mcsec_disc_keyfile_seal(&inval, PASS, strlen(PASS), LOG2N, file, sizeof file, &len),
                 MCSEC_ERR_BAD_INPUT);

    /* Authentic files with malformed content: (offset into the plaintext, new octet). The
     * plaintext is slot_s 0..3, key 4..35, code_len 36, code 37..52, name_len 53, name 54..64. */
    static const struct {
        size_t off;
        uint8_t v;
    } edits[] = {
        {3, 0x00},  /* slot_s 30 -> 0 */
        {0, 0x01},  /* slot_s above 86400 */
        {36, 0},    /* code_len 0 */
        {36, 65},   /* code_len above the maximum */
        {36, 17},   /* code_len running into the name */
        {53, 0},    /* name_len 0 */
        {53, 12},   /* name_len one more than there is */
        {53, 10},   /* name_len one less: a trailing octet */
        {54, 0x07}, /* a control character in the name */
        {54, 0x7f}, /* DEL in the name */
    };
    for (size_t i = 0; i < sizeof edits / sizeof edits[0]; i++) {
        uint8_t p2[256];
        pt_len = plaintext(&a, p2);
        CHECK(pt_len == 65);
        p2[edits[i].off] = edits[i].v;
        flen = build_file(p2, pt_len, bad);
        CHECK_STATUS(mcsec_disc_keyfile_open(bad, flen, PASS, strlen(PASS), &got),
                     MCSEC_ERR_STRUCTURE);
    }
    mcsec_memzero(&got, sizeof got);
}

static void test_keyfile_disk(void) {
    char dir[] = "/tmp/mcsec-disc-test.XXXXXX", path[128], link_path[160];
    mcsec_disc_app_t a = vector_app(), got;
    struct stat st;
    if (mkdtemp(dir) == NULL) {
        CHECK(0);
        return;
    }
    snprintf(path, sizeof path, "%s/team.dkey", dir);
    snprintf(link_path, sizeof link_path, "%s/link.dkey", dir);
    CHECK_STATUS(mcsec_disc_keyfile_write(path, &a, PASS, strlen(PASS), LOG2N), MCSEC_OK);
    CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600);
    CHECK_STATUS(mcsec_disc_keyfile_read(path, PASS, strlen(PASS), &got), MCSEC_OK);
    CHECK(same_app(&a, &got));
    /* Never overwritten. */
    CHECK_STATUS(mcsec_disc_keyfile_write(path, &a, PASS, strlen(PASS), LOG2N), MCSEC_ERR_IO);
    CHECK(strstr(mcsec_disc_last_error(), "already exists") != NULL);
    /* Wrong passphrase, readable by others, a symbolic link, missing. */
    CHECK_STATUS(mcsec_disc_keyfile_read(path, "nope", 4, &got), MCSEC_ERR_PASSPHRASE);
    CHECK(strstr(mcsec_disc_last_error(), "wrong passphrase") != NULL);
    CHECK(chmod(path, 0640) == 0);
    CHECK_STATUS(mcsec_disc_keyfile_read(path, PASS, strlen(PASS), &got), MCSEC_ERR_IO);
    CHECK(strstr(mcsec_disc_last_error(), "chmod 600") != NULL);
    CHECK(chmod(path, 0600) == 0);
    CHECK(symlink(path, link_path) == 0);
    CHECK_STATUS(mcsec_disc_keyfile_read(link_path, PASS, strlen(PASS), &got), MCSEC_ERR_IO);
    unlink(link_path);
    CHECK_STATUS(mcsec_disc_keyfile_read(dir, PASS, strlen(PASS), &got), MCSEC_ERR_IO);
    unlink(path);
    CHECK_STATUS(mcsec_disc_keyfile_read(path, PASS, strlen(PASS), &got), MCSEC_ERR_IO);
    CHECK(strstr(mcsec_disc_last_error(), "cannot open") != NULL);
    CHECK_STATUS(mcsec_disc_keyfile_write("", &a, PASS, strlen(PASS), LOG2N), MCSEC_ERR_BAD_INPUT);
    rmdir(dir);
    mcsec_memzero(&got, sizeof got);
}

static int write_seed(const char *dir, const char *name, const uint8_t *p, size_t n) {
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    int ok = f != NULL && fwrite(p, 1, n, f) == n;
    if (f != NULL && fclose(f) != 0) ok = 0;
    if (!ok) fprintf(stderr, "cannot write %s\n", path);
    return ok;
}

static int write_corpus(const char *dir) {
    mcsec_disc_app_t a = vector_app();
    uint8_t msg[MCSEC_DISC_MSG_LEN + 1], file[MCSEC_DISC_KEYFILE_MAX];
    size_t len = 0;
    int ok = 1;
    vec("announcement", msg, MCSEC_DISC_MSG_LEN);
    ok &= write_seed(dir, "announcement", msg, MCSEC_DISC_MSG_LEN);
    ok &= write_seed(dir, "truncated", msg, 10);
    msg[MCSEC_DISC_MSG_LEN] = 0;
    ok &= write_seed(dir, "trailing", msg, sizeof msg);
    CHECK_STATUS(mcsec_disc_announce(&a, T0 - 60, msg, NULL), MCSEC_OK);
    ok &= write_seed(dir, "two_slots_old", msg, MCSEC_DISC_MSG_LEN);
    msg[1] = 2;
    ok &= write_seed(dir, "type2", msg, MCSEC_DISC_MSG_LEN);
    msg[0] = 2;
    ok &= write_seed(dir, "version2", msg, MCSEC_DISC_MSG_LEN);
    CHECK_STATUS(mcsec_disc_keyfile_seal(&a, "fuzz", 4, 10, file, sizeof file, &len), MCSEC_OK);
    ok &= write_seed(dir, "keyfile", file, len);
    return ok && test_summary() == 0 ? 0 : 1;
}

int main(int argc, char *argv[]) {
    if (mcsec_init() != MCSEC_OK) return 2;
    vectors = test_read_file("discovery.txt");
    if (argc == 3 && strcmp(argv[1], "--write-corpus") == 0) return write_corpus(argv[2]);
    test_known_answers();
    test_slots();
    test_parser();
    test_window();
    test_replay();
    test_unauthorised();
    test_many();
    test_keyfile_format();
    test_keyfile_disk();
    free(vectors);
    return test_summary();
}
