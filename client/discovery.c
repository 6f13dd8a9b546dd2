/* Restricted discovery (include/mcsec/discovery.h): slot-dependent codes, the announcement
 * codec and the monitor's window, match and replay checks. Key files: discovery_keyfile.c. */
#include <string.h>

#include "mcsec/discovery.h"
#include "mcsec/kdf.h"
#include "mcsec/secmem.h"

/* crypto/secmem.c (declared in crypto/internal.h, not reachable from here): marks a value that
 * is public by design for the constant-time test (tests/ct); does nothing otherwise. */
void mcsec_ct_declassify(const void *p, size_t len);

struct entry {
    mcsec_disc_app_t app;
    uint64_t last_slot; /* the newest slot accepted, if seen */
    int seen;
};

struct mcsec_disc_monitor {
    struct entry e[MCSEC_DISC_MONITOR_MAX];
    size_t n;
};

static void put_be64(uint8_t *p, uint64_t v) {
    for (int i = 7; i >= 0; i--, v >>= 8)
        p[i] = (uint8_t)v;
}

static uint64_t get_be64(const uint8_t *p) {
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return v;
}

static int slot_len_ok(uint32_t slot_s) {
    return slot_s >= MCSEC_DISC_SLOT_MIN && slot_s <= MCSEC_DISC_SLOT_MAX;
}

/* A label of 1..63 printable ASCII octets, NUL-terminated within name. */
static int name_ok(const char *name) {
    size_t n = 0;
    for (; n < MCSEC_DISC_NAME_MAX && name[n] != 0; n++)
        if (name[n] < 0x20 || name[n] > 0x7e) return 0;
    return n > 0 && n < MCSEC_DISC_NAME_MAX;
}

static int app_ok(const mcsec_disc_app_t *app) {
    return app != NULL && app->prose_code_len >= 1 &&
           app->prose_code_len <= MCSEC_DISC_PROSE_CODE_MAX && slot_len_ok(app->slot_s) &&
           name_ok(app->name);
}

mcsec_status_t mcsec_disc_app_generate(mcsec_disc_app_t *app, const char *name, uint32_t slot_s) {
    if (app == NULL) return MCSEC_ERR_BAD_INPUT;
    memset(app, 0, sizeof *app);
    if (name == NULL || strlen(name) >= MCSEC_DISC_NAME_MAX || !slot_len_ok(slot_s))
        return MCSEC_ERR_BAD_INPUT;
    strcpy(app->name, name);
    app->slot_s = slot_s;
    app->prose_code_len = 16;
    mcsec_status_t rc = MCSEC_ERR_BAD_INPUT;
    if (!name_ok(app->name)) goto out;
    if ((rc = mcsec_random_bytes(app->key, sizeof app->key)) != MCSEC_OK) goto out;
    rc = mcsec_random_bytes(app->prose_code, app->prose_code_len);
out:
    if (rc != MCSEC_OK) mcsec_memzero(app, sizeof *app);
    return rc;
}

mcsec_status_t mcsec_disc_slot(uint64_t unix_s, uint32_t slot_s, uint64_t *slot) {
    if (slot == NULL || !slot_len_ok(slot_s)) return MCSEC_ERR_BAD_INPUT;
    *slot = unix_s / slot_s;
    return MCSEC_OK;
}

mcsec_status_t mcsec_disc_code(const mcsec_disc_app_t *app, uint64_t slot,
                               uint8_t code[MCSEC_DISC_CODE_LEN]) {
    uint8_t msg[MCSEC_DISC_PROSE_CODE_MAX + 8], mac[32];
    mcsec_status_t rc = MCSEC_ERR_BAD_INPUT;
    if (!app_ok(app) || code == NULL) return MCSEC_ERR_BAD_INPUT;
    memcpy(msg, app->prose_code, app->prose_code_len);
    put_be64(msg + app->prose_code_len, slot);
    rc = mcsec_hmac_sha256(app->key, sizeof app->key, msg, app->prose_code_len + 8, mac);
    if (rc != MCSEC_OK) goto out;
    memcpy(code, mac, MCSEC_DISC_CODE_LEN);
out:
    mcsec_memzero(msg, sizeof msg);
    mcsec_memzero(mac, sizeof mac);
    return rc;
}

void mcsec_disc_encode(const mcsec_disc_msg_t *msg, uint8_t out[MCSEC_DISC_MSG_LEN]) {
    out[0] = msg->version;
    out[1] = msg->type;
    put_be64(out + 2, msg->slot_start);
    memcpy(out + 10, msg->code, MCSEC_DISC_CODE_LEN);
}

mcsec_status_t mcsec_disc_announce(const mcsec_disc_app_t *app, uint64_t unix_s,
                                   uint8_t out[MCSEC_DISC_MSG_LEN], mcsec_disc_msg_t *msg) {
    mcsec_disc_msg_t m = {.version = MCSEC_DISC_VERSION, .type = MCSEC_DISC_TYPE_ANNOUNCE};
    uint64_t slot = 0;
    if (!app_ok(app) || out == NULL) return MCSEC_ERR_BAD_INPUT;
    mcsec_status_t rc = mcsec_disc_slot(unix_s, app->slot_s, &slot);
    m.slot_start = slot * app->slot_s;
    if (rc == MCSEC_OK) rc = mcsec_disc_code(app, slot, m.code);
    if (rc != MCSEC_OK) return rc;
    mcsec_disc_encode(&m, out);
    if (msg != NULL) *msg = m;
    return MCSEC_OK;
}

mcsec_status_t mcsec_disc_parse(const uint8_t *d, size_t len, mcsec_disc_msg_t *out) {
    if (out == NULL || (d == NULL && len > 0)) return MCSEC_ERR_BAD_INPUT;
    memset(out, 0, sizeof *out);
    if (len < 1) return MCSEC_ERR_TRUNCATED;
    /* The version first: a later version may have another length. */
    if (d[0] != MCSEC_DISC_VERSION) return MCSEC_ERR_UNSUPPORTED;
    if (len < 2) return MCSEC_ERR_TRUNCATED;
    if (d[1] != MCSEC_DISC_TYPE_ANNOUNCE) return MCSEC_ERR_STRUCTURE;
    if (len < MCSEC_DISC_MSG_LEN) return MCSEC_ERR_TRUNCATED;
    if (len > MCSEC_DISC_MSG_LEN) return MCSEC_ERR_TRAILING_DATA;
    out->version = d[0];
    out->type = d[1];
    out->slot_start = get_be64(d + 2);
    memcpy(out->code, d + 10, MCSEC_DISC_CODE_LEN);
    return MCSEC_OK;
}

/* --- Monitor ------------------------------------------------------------------------------ */

mcsec_status_t mcsec_disc_monitor_new(mcsec_disc_monitor_t **out) {
    if (out == NULL) return MCSEC_ERR_BAD_INPUT;
    *out = mcsec_secure_alloc(sizeof **out); /* zeroed */
    return *out != NULL ? MCSEC_OK : MCSEC_ERR_NOMEM;
}

void mcsec_disc_monitor_free(mcsec_disc_monitor_t *mon) {
    mcsec_secure_free(mon); /* wipes */
}

mcsec_status_t mcsec_disc_monitor_add(mcsec_disc_monitor_t *mon, const mcsec_disc_app_t *app) {
    if (mon == NULL || !app_ok(app)) return MCSEC_ERR_BAD_INPUT;
    if (mon->n == MCSEC_DISC_MONITOR_MAX) return MCSEC_ERR_BAD_LENGTH;
    struct entry *e = &mon->e[mon->n++];
    memset(e, 0, sizeof *e);
    e->app = *app;
    return MCSEC_OK;
}

/* |a - b| <= MCSEC_DISC_WINDOW, with the signed difference in *offset. */
static int in_window(uint64_t slot, uint64_t now_slot, int *offset) {
    if (slot >= now_slot && slot - now_slot <= MCSEC_DISC_WINDOW) {
        *offset = (int)(slot - now_slot);
        return 1;
    }
    if (slot < now_slot && now_slot - slot <= MCSEC_DISC_WINDOW) {
        *offset = -(int)(now_slot - slot);
        return 1;
    }
    return 0;
}

mcsec_status_t mcsec_disc_monitor_check(mcsec_disc_monitor_t *mon, const uint8_t *d, size_t len,
                                        uint64_t unix_s, mcsec_disc_match_t *match) {
    mcsec_disc_msg_t m;
    uint8_t want[MCSEC_DISC_CODE_LEN];
    size_t found = 0;
    uint64_t found_slot = 0, found_offset = 0;
    int any_window = 0;
    unsigned matched = 0;
    if (match != NULL) memset(match, 0, sizeof *match);
    if (mon == NULL) return MCSEC_ERR_BAD_INPUT;
    mcsec_status_t rc = mcsec_disc_parse(d, len, &m);
    if (rc != MCSEC_OK) goto out;
    rc = MCSEC_ERR_UNKNOWN_KEY;
    if (mon->n == 0) goto out;
    /* Every in-window application is computed and compared, matched or not, and the first
     * match is selected by masks, not branches, so the time taken says nothing about which one
     * matched (tests/ct part discovery). */
    for (size_t i = 0; i < mon->n; i++) {
        const struct entry *e = &mon->e[i];
        uint64_t slot = m.slot_start / e->app.slot_s;
        int offset;
        if (!in_window(slot, unix_s / e->app.slot_s, &offset)) continue;
        any_window = 1;
        /* A start that is no multiple of this slot length is another application's. */
        if (m.slot_start % e->app.slot_s != 0) continue;
        if ((rc = mcsec_disc_code(&e->app, slot, want)) != MCSEC_OK) goto out;
        unsigned eq = (unsigned)mcsec_ct_equal(want, m.code, sizeof want) & 1u;
        unsigned take = eq & ~matched & 1u; /* the first match only */
        size_t mask = (size_t)0 - take;
        uint64_t mask64 = (uint64_t)0 - take;
        found = (found & ~mask) | (i & mask);
        found_slot = (found_slot & ~mask64) | (slot & mask64);
        found_offset = (found_offset & ~mask64) | ((uint64_t)(int64_t)offset & mask64);
        matched |= eq;
    }
    /* The verdict is public by design: the status and *match say whether and which application
     * matched. Declassified once, after every application was compared. */
    mcsec_ct_declassify(&matched, sizeof matched);
    mcsec_ct_declassify(&found, sizeof found);
    mcsec_ct_declassify(&found_slot, sizeof found_slot);
    mcsec_ct_declassify(&found_offset, sizeof found_offset);
    rc = !any_window ? MCSEC_ERR_EXPIRED : !matched ? MCSEC_ERR_VERIFY : MCSEC_OK;
    if (rc != MCSEC_OK) goto out;
    struct entry *e = &mon->e[found];
    if (match != NULL)
        *match = (mcsec_disc_match_t){.index = found, .name = e->app.name, .slot = found_slot,
                                      .offset = (int)(int64_t)found_offset};
    if (e->seen && found_slot <= e->last_slot) {
        rc = MCSEC_ERR_REPLAY;
        goto out;
    }
    e->seen = 1;
    e->last_slot = found_slot;
out:
    mcsec_memzero(want, sizeof want);
    return rc;
}
