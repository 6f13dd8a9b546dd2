/* The PKMF / network entity tables on the KMS's SQLite store (behind kms_pkmf_store_ops_t):
 *
 *   pkmf_auth(uri, what)                         who may do what (mcsec_pkmf_auth_t)
 *   pkmf_relay(relay, ue)                        which relay may serve which remote UE ("*")
 *   pkmf_ue(uri, pmk_id, pruk_id, pruk_created, sealed, push_addr)
 *                                                PMK || PRUK sealed (pkmf_seal.c)
 *   pkmf_peer(uri, endpoint, curve_public, serves)  peer network entities
 *   pkmf_session(session, role, initiator, responder, conn_id, kd_id, sealed, created, fetched)
 *                                                network-authorised keying, KM1 || KM2 sealed
 *
 * The tables are created on the first write (CREATE TABLE IF NOT EXISTS), so a KMS created
 * before the PKMF existed gains them when first used; until then reads find nothing. */
#include <stdio.h>
#include <string.h>

#include <sqlite3.h>

#include "internal.h"

#define SESSION_KEEP 86400 /* seconds a session row is kept (its key is fetchable for 120 s) */

static const char schema[] =
    "CREATE TABLE IF NOT EXISTS pkmf_auth(uri TEXT NOT NULL, what INTEGER NOT NULL,"
    " PRIMARY KEY(uri, what));"
    "CREATE TABLE IF NOT EXISTS pkmf_relay(relay TEXT NOT NULL, ue TEXT NOT NULL,"
    " PRIMARY KEY(relay, ue));"
    "CREATE TABLE IF NOT EXISTS pkmf_ue(uri TEXT PRIMARY KEY, pmk_id INTEGER NOT NULL,"
    " pruk_id INTEGER NOT NULL, pruk_created INTEGER NOT NULL, sealed BLOB NOT NULL,"
    " push_addr TEXT NOT NULL);"
    "CREATE INDEX IF NOT EXISTS pkmf_ue_pruk ON pkmf_ue(pruk_id);"
    "CREATE TABLE IF NOT EXISTS pkmf_peer(uri TEXT PRIMARY KEY, endpoint TEXT NOT NULL,"
    " curve_public TEXT NOT NULL, serves TEXT NOT NULL);"
    "CREATE TABLE IF NOT EXISTS pkmf_session(session BLOB NOT NULL, role INTEGER NOT NULL,"
    " initiator TEXT NOT NULL, responder TEXT NOT NULL, conn_id INTEGER NOT NULL,"
    " kd_id INTEGER NOT NULL, sealed BLOB NOT NULL, created INTEGER NOT NULL,"
    " fetched INTEGER NOT NULL, PRIMARY KEY(session, role));";

static mcsec_status_t ensure(kms_store_t *s)
{
    int rc = sqlite3_exec(kms_sqlite_db(s), schema, NULL, NULL, NULL);
    return rc == SQLITE_OK ? MCSEC_OK : kms_sqlite_fail(s, rc, "creating the PKMF tables");
}

/* Prepares text. *missing is set (and MCSEC_OK returned with *q NULL) when a table does not
 * exist yet. */
static mcsec_status_t prep(kms_store_t *s, const char *text, sqlite3_stmt **q, int *missing)
{
    *missing = 0;
    *q = NULL;
    int rc = sqlite3_prepare_v2(kms_sqlite_db(s), text, -1, q, NULL);
    if (rc == SQLITE_OK)
        return MCSEC_OK;
    if (rc == SQLITE_ERROR && strstr(sqlite3_errmsg(kms_sqlite_db(s)), "no such table") != NULL) {
        *missing = 1;
        return MCSEC_OK;
    }
    return kms_sqlite_fail(s, rc, "preparing a PKMF query");
}

/* Runs a write statement after making sure the tables exist. bind fills the parameters. */
typedef void (*bind_fn)(sqlite3_stmt *q, const void *arg);

static mcsec_status_t write1(kms_store_t *s, const char *text, bind_fn bind, const void *arg,
                             int *changes)
{
    sqlite3_stmt *q = NULL;
    int missing;
    mcsec_status_t st = ensure(s);
    if (st == MCSEC_OK)
        st = prep(s, text, &q, &missing);
    if (st != MCSEC_OK)
        return st;
    if (q == NULL)
        return kms_sqlite_fail(s, SQLITE_ERROR, "writing a PKMF table");
    bind(q, arg);
    int rc = sqlite3_step(q);
    sqlite3_finalize(q);
    if ((rc & 0xff) == SQLITE_CONSTRAINT) { /* only a session token can collide */
        kms_error("that network keying session token was used before");
        return MCSEC_ERR_REPLAY;
    }
    if (rc != SQLITE_DONE)
        return kms_sqlite_fail(s, rc, "writing a PKMF table");
    if (changes != NULL)
        *changes = sqlite3_changes(kms_sqlite_db(s));
    return MCSEC_OK;
}

static void text(char *dst, size_t cap, const unsigned char *src)
{
    snprintf(dst, cap, "%s", src != NULL ? (const char *)src : "");
}

/* --- Authorisations ------------------------------------------------------------------------ */

static mcsec_status_t exists(kms_store_t *s, const char *sql, const char *a, const char *b,
                             int n, int *found)
{
    sqlite3_stmt *q;
    int missing;
    *found = 0;
    mcsec_status_t st = prep(s, sql, &q, &missing);
    if (st != MCSEC_OK || missing)
        return st;
    sqlite3_bind_text(q, 1, a, -1, SQLITE_STATIC);
    if (b != NULL)
        sqlite3_bind_text(q, 2, b, -1, SQLITE_STATIC);
    else
        sqlite3_bind_int(q, 2, n);
    int rc = sqlite3_step(q);
    sqlite3_finalize(q);
    if (rc == SQLITE_ROW)
        *found = 1;
    else if (rc != SQLITE_DONE)
        return kms_sqlite_fail(s, rc, "reading a PKMF authorisation");
    return MCSEC_OK;
}

static mcsec_status_t auth_get(kms_store_t *s, const char *uri, int what, int *allowed)
{
    return exists(s, "SELECT 1 FROM pkmf_auth WHERE uri = ?1 AND what = ?2", uri, NULL, what,
                  allowed);
}

typedef struct {
    const char *a, *b;
    int n;
} pair_t;

static void bind_pair(sqlite3_stmt *q, const void *arg)
{
    const pair_t *p = arg;
    sqlite3_bind_text(q, 1, p->a, -1, SQLITE_STATIC);
    if (p->b != NULL)
        sqlite3_bind_text(q, 2, p->b, -1, SQLITE_STATIC);
    else
        sqlite3_bind_int(q, 2, p->n);
}

static mcsec_status_t auth_set(kms_store_t *s, const char *uri, int what, int allow)
{
    pair_t p = {uri, NULL, what};
    return write1(s,
                  allow ? "INSERT OR IGNORE INTO pkmf_auth(uri, what) VALUES (?1, ?2)"
                        : "DELETE FROM pkmf_auth WHERE uri = ?1 AND what = ?2",
                  bind_pair, &p, NULL);
}

static mcsec_status_t relay_get(kms_store_t *s, const char *relay, const char *ue, int *allowed)
{
    return exists(s, "SELECT 1 FROM pkmf_relay WHERE relay = ?1 AND (ue = ?2 OR ue = '*')", relay,
                  ue, 0, allowed);
}

static mcsec_status_t relay_set(kms_store_t *s, const char *relay, const char *ue, int allow)
{
    pair_t p = {relay, ue, 0};
    return write1(s,
                  allow ? "INSERT OR IGNORE INTO pkmf_relay(relay, ue) VALUES (?1, ?2)"
                        : "DELETE FROM pkmf_relay WHERE relay = ?1 AND ue = ?2",
                  bind_pair, &p, NULL);
}

/* --- Remote UEs ---------------------------------------------------------------------------- */

#define UE_COLS "uri, pmk_id, pruk_id, pruk_created, sealed, push_addr"

static mcsec_status_t ue_one(kms_store_t *s, const char *sql, const char *uri, uint64_t id,
                             kms_pkmf_ue_t *out)
{
    sqlite3_stmt *q;
    int missing;
    memset(out, 0, sizeof *out);
    mcsec_status_t st = prep(s, sql, &q, &missing);
    if (st != MCSEC_OK)
        return st;
    if (missing)
        return MCSEC_ERR_UNKNOWN_KEY;
    if (uri != NULL)
        sqlite3_bind_text(q, 1, uri, -1, SQLITE_STATIC);
    else
        sqlite3_bind_int64(q, 1, (int64_t)id);
    int rc = sqlite3_step(q);
    if (rc == SQLITE_ROW) {
        text(out->uri, sizeof out->uri, sqlite3_column_text(q, 0));
        out->pmk_id = (uint64_t)sqlite3_column_int64(q, 1);
        out->pruk_id = (uint64_t)sqlite3_column_int64(q, 2);
        out->pruk_created = sqlite3_column_int64(q, 3);
        size_t n = (size_t)sqlite3_column_bytes(q, 4);
        if (n > sizeof out->sealed) {
            st = MCSEC_ERR_VERIFY;
            kms_error("a PKMF record of %s is damaged: withdraw and grant remote-ue again",
                      out->uri);
        } else {
            if (n > 0)
                memcpy(out->sealed, sqlite3_column_blob(q, 4), n);
            out->sealed_len = n;
        }
        text(out->push_addr, sizeof out->push_addr, sqlite3_column_text(q, 5));
    } else {
        st = rc == SQLITE_DONE ? MCSEC_ERR_UNKNOWN_KEY : kms_sqlite_fail(s, rc, "reading a UE");
    }
    sqlite3_finalize(q);
    return st;
}

static mcsec_status_t ue_get(kms_store_t *s, const char *uri, kms_pkmf_ue_t *out)
{
    return ue_one(s, "SELECT " UE_COLS " FROM pkmf_ue WHERE uri = ?1", uri, 0, out);
}

static mcsec_status_t ue_by_pruk(kms_store_t *s, uint64_t pruk_id, kms_pkmf_ue_t *out)
{
    if (pruk_id == 0) {
        memset(out, 0, sizeof *out);
        return MCSEC_ERR_UNKNOWN_KEY;
    }
    return ue_one(s, "SELECT " UE_COLS " FROM pkmf_ue WHERE pruk_id = ?1", NULL, pruk_id, out);
}

static void bind_ue(sqlite3_stmt *q, const void *arg)
{
    const kms_pkmf_ue_t *u = arg;
    sqlite3_bind_text(q, 1, u->uri, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 2, (int64_t)u->pmk_id);
    sqlite3_bind_int64(q, 3, (int64_t)u->pruk_id);
    sqlite3_bind_int64(q, 4, u->pruk_created);
    sqlite3_bind_blob(q, 5, u->sealed, (int)u->sealed_len, SQLITE_STATIC);
    sqlite3_bind_text(q, 6, u->push_addr, -1, SQLITE_STATIC);
}

static mcsec_status_t ue_put(kms_store_t *s, const kms_pkmf_ue_t *in)
{
    return write1(s,
                  "INSERT INTO pkmf_ue(" UE_COLS ") VALUES (?1, ?2, ?3, ?4, ?5, ?6) "
                  "ON CONFLICT(uri) DO UPDATE SET pmk_id = excluded.pmk_id, pruk_id = "
                  "excluded.pruk_id, pruk_created = excluded.pruk_created, sealed = "
                  "excluded.sealed, push_addr = excluded.push_addr",
                  bind_ue, in, NULL);
}

static void bind_uri(sqlite3_stmt *q, const void *arg)
{
    sqlite3_bind_text(q, 1, arg, -1, SQLITE_STATIC);
}

static mcsec_status_t ue_delete(kms_store_t *s, const char *uri)
{
    return write1(s, "DELETE FROM pkmf_ue WHERE uri = ?1", bind_uri, uri, NULL);
}

/* --- Peer entities ------------------------------------------------------------------------- */

static void bind_peer(sqlite3_stmt *q, const void *arg)
{
    const kms_pkmf_peer_t *p = arg;
    sqlite3_bind_text(q, 1, p->uri, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, p->endpoint, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 3, p->curve_public, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 4, p->serves, -1, SQLITE_STATIC);
}

static mcsec_status_t peer_put(kms_store_t *s, const kms_pkmf_peer_t *in)
{
    return write1(s,
                  "INSERT INTO pkmf_peer(uri, endpoint, curve_public, serves) VALUES (?1, ?2, "
                  "?3, ?4) ON CONFLICT(uri) DO UPDATE SET endpoint = excluded.endpoint, "
                  "curve_public = excluded.curve_public, serves = excluded.serves",
                  bind_peer, in, NULL);
}

static void row_peer(sqlite3_stmt *q, kms_pkmf_peer_t *p)
{
    memset(p, 0, sizeof *p);
    text(p->uri, sizeof p->uri, sqlite3_column_text(q, 0));
    text(p->endpoint, sizeof p->endpoint, sqlite3_column_text(q, 1));
    text(p->curve_public, sizeof p->curve_public, sqlite3_column_text(q, 2));
    text(p->serves, sizeof p->serves, sqlite3_column_text(q, 3));
}

static mcsec_status_t peer_scan(kms_store_t *s, const char *ue_uri, const char *peer_uri,
                                kms_pkmf_peer_t *out)
{
    sqlite3_stmt *q;
    int missing, rc;
    size_t best = 0, ul = ue_uri != NULL ? strlen(ue_uri) : 0;
    kms_pkmf_peer_t p;
    memset(out, 0, sizeof *out);
    mcsec_status_t st = prep(s, "SELECT uri, endpoint, curve_public, serves FROM pkmf_peer",
                             &q, &missing);
    if (st != MCSEC_OK)
        return st;
    if (missing)
        return MCSEC_ERR_UNKNOWN_KEY;
    st = MCSEC_ERR_UNKNOWN_KEY;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        row_peer(q, &p);
        if (peer_uri != NULL) {
            if (strcmp(p.uri, peer_uri) == 0) {
                *out = p;
                st = MCSEC_OK;
            }
            continue;
        }
        size_t sl = strlen(p.serves);
        if (sl > 0 && sl <= ul && sl > best && strcmp(ue_uri + ul - sl, p.serves) == 0) {
            best = sl;
            *out = p;
            st = MCSEC_OK;
        }
    }
    if (rc != SQLITE_DONE)
        st = kms_sqlite_fail(s, rc, "reading the peer entities");
    sqlite3_finalize(q);
    return st;
}

static mcsec_status_t peer_for(kms_store_t *s, const char *ue_uri, kms_pkmf_peer_t *out)
{
    return peer_scan(s, ue_uri, NULL, out);
}

static mcsec_status_t peer_get(kms_store_t *s, const char *peer_uri, kms_pkmf_peer_t *out)
{
    return peer_scan(s, NULL, peer_uri, out);
}

/* --- Sessions ------------------------------------------------------------------------------ */

static void bind_session(sqlite3_stmt *q, const void *arg)
{
    const kms_pkmf_session_t *x = arg;
    sqlite3_bind_blob(q, 1, x->session, PKMF_SESSION_LEN, SQLITE_STATIC);
    sqlite3_bind_int(q, 2, x->role);
    sqlite3_bind_text(q, 3, x->initiator, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 4, x->responder, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 5, x->conn_id);
    sqlite3_bind_int64(q, 6, x->kd_id);
    sqlite3_bind_blob(q, 7, x->sealed, (int)x->sealed_len, SQLITE_STATIC);
    sqlite3_bind_int64(q, 8, x->created);
    sqlite3_bind_int(q, 9, x->fetched);
}

static void bind_before(sqlite3_stmt *q, const void *arg)
{
    sqlite3_bind_int64(q, 1, *(const int64_t *)arg);
}

static mcsec_status_t session_put(kms_store_t *s, const kms_pkmf_session_t *in)
{
    /* Plain INSERT: a session token is never reused (MCSEC_ERR_REPLAY on a collision). Sessions
     * a day past their creation are gone for good: they are dropped on the way. */
    int64_t before = in->created - SESSION_KEEP;
    mcsec_status_t st = write1(s, "DELETE FROM pkmf_session WHERE created < ?1", bind_before,
                               &before, NULL);
    if (st != MCSEC_OK)
        return st;
    return write1(s,
                  "INSERT INTO pkmf_session(session, role, initiator, responder, conn_id, kd_id, "
                  "sealed, created, fetched) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                  bind_session, in, NULL);
}

static mcsec_status_t session_get(kms_store_t *s, const uint8_t session[PKMF_SESSION_LEN],
                                  int role, kms_pkmf_session_t *out)
{
    sqlite3_stmt *q;
    int missing;
    memset(out, 0, sizeof *out);
    mcsec_status_t st = prep(s,
                             "SELECT initiator, responder, conn_id, kd_id, sealed, created, "
                             "fetched FROM pkmf_session WHERE session = ?1 AND role = ?2",
                             &q, &missing);
    if (st != MCSEC_OK)
        return st;
    if (missing)
        return MCSEC_ERR_UNKNOWN_KEY;
    sqlite3_bind_blob(q, 1, session, PKMF_SESSION_LEN, SQLITE_STATIC);
    sqlite3_bind_int(q, 2, role);
    int rc = sqlite3_step(q);
    if (rc == SQLITE_ROW) {
        memcpy(out->session, session, PKMF_SESSION_LEN);
        out->role = role;
        text(out->initiator, sizeof out->initiator, sqlite3_column_text(q, 0));
        text(out->responder, sizeof out->responder, sqlite3_column_text(q, 1));
        out->conn_id = (uint32_t)sqlite3_column_int64(q, 2);
        out->kd_id = (uint32_t)sqlite3_column_int64(q, 3);
        size_t n = (size_t)sqlite3_column_bytes(q, 4);
        if (n > sizeof out->sealed) {
            st = MCSEC_ERR_VERIFY;
            kms_error("a network keying session record is damaged");
        } else {
            if (n > 0)
                memcpy(out->sealed, sqlite3_column_blob(q, 4), n);
            out->sealed_len = n;
        }
        out->created = sqlite3_column_int64(q, 5);
        out->fetched = sqlite3_column_int(q, 6);
    } else {
        st = rc == SQLITE_DONE ? MCSEC_ERR_UNKNOWN_KEY
                               : kms_sqlite_fail(s, rc, "reading a keying session");
    }
    sqlite3_finalize(q);
    return st;
}

typedef struct {
    const uint8_t *session;
    int role;
} skey_t;

static void bind_skey(sqlite3_stmt *q, const void *arg)
{
    const skey_t *k = arg;
    sqlite3_bind_blob(q, 1, k->session, PKMF_SESSION_LEN, SQLITE_STATIC);
    sqlite3_bind_int(q, 2, k->role);
}

static mcsec_status_t session_fetch(kms_store_t *s, const uint8_t session[PKMF_SESSION_LEN],
                                    int role)
{
    skey_t k = {session, role};
    int changes = 0;
    mcsec_status_t st = write1(s,
                               "UPDATE pkmf_session SET fetched = 1 WHERE session = ?1 AND "
                               "role = ?2 AND fetched = 0",
                               bind_skey, &k, &changes);
    if (st == MCSEC_OK && changes == 0)
        st = MCSEC_ERR_REPLAY;
    return st;
}

/* --- Listing ------------------------------------------------------------------------------- */

static mcsec_status_t list(kms_store_t *s, mcsec_pkmf_line_fn fn, void *user)
{
    static const char *const queries[] = {
        "SELECT 'authorised ' || uri || ' ' || CASE what WHEN 1 THEN 'remote-ue' ELSE 'direct' "
        "END FROM pkmf_auth ORDER BY uri, what",
        "SELECT 'relay ' || relay || ' may-serve ' || ue FROM pkmf_relay ORDER BY relay, ue",
        "SELECT 'peer ' || uri || ' ' || endpoint || ' serves ' || serves FROM pkmf_peer "
        "ORDER BY uri",
        "SELECT 'remote-ue ' || uri || ' pruk-id ' || printf('%016x', pruk_id) || ' push ' || "
        "CASE push_addr WHEN '' THEN '-' ELSE push_addr END FROM pkmf_ue ORDER BY uri",
    };
    for (size_t i = 0; i < sizeof queries / sizeof queries[0]; i++) {
        sqlite3_stmt *q;
        int missing, rc, stop = 0;
        mcsec_status_t st = prep(s, queries[i], &q, &missing);
        if (st != MCSEC_OK)
            return st;
        if (missing)
            continue;
        while (!stop && (rc = sqlite3_step(q)) == SQLITE_ROW)
            stop = fn(user, (const char *)sqlite3_column_text(q, 0)) != 0;
        sqlite3_finalize(q);
        if (stop)
            return MCSEC_OK;
        if (rc != SQLITE_DONE)
            return kms_sqlite_fail(s, rc, "listing the PKMF tables");
    }
    return MCSEC_OK;
}

const kms_pkmf_store_ops_t kms_pkmf_store_sqlite = {
    .auth_get = auth_get,
    .auth_set = auth_set,
    .relay_get = relay_get,
    .relay_set = relay_set,
    .ue_get = ue_get,
    .ue_by_pruk = ue_by_pruk,
    .ue_put = ue_put,
    .ue_delete = ue_delete,
    .peer_put = peer_put,
    .peer_for = peer_for,
    .peer_get = peer_get,
    .session_put = session_put,
    .session_get = session_get,
    .session_fetch = session_fetch,
    .list = list,
};
