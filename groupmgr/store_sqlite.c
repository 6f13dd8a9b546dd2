/* The Group Manager store on SQLite: one file, groupmgr.db, in WAL mode with synchronous=FULL
 * (a commit is on disk before it returns: a committed rekey survives a crash or a power cut;
 * WAL lets the service read while a rekey commits). One connection per thread, prepared
 * statements cached per connection, a busy timeout for writers of other processes.
 *
 * Opening an existing store never writes before a first read succeeded, so a damaged file is
 * reported (MCSEC_ERR_VERIFY) before anything could touch it. Schema (one row per fact):
 *   meta(name, value)                      parameters and sealed records
 *   groups(uri, lifetime, rekey_on_leave, member_version, last_ts, created)
 *   members(group_uri, member_uri, added, address, last_seen)
 *   keysets(group_uri, period, sealed)     the group identity's keys per key period
 *   gmks(id, group_uri, gmk_id UNIQUE, ts, activation, expiry, status, reason, sealed, created)
 *   deliveries(id, gmk, member_uri, state, attempts, sent_at, acked_at, i_message)
 *              UNIQUE(gmk, member_uri) */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <sqlite3.h>

#include "internal.h"

#define BUSY_TIMEOUT_MS 30000

enum {
    Q_META_GET,
    Q_META_PUT,
    Q_GROUP_ADD,
    Q_GROUP_GET,
    Q_GROUP_LIST,
    Q_GROUP_TS,
    Q_GROUP_BUMP,
    Q_MEMBER_ADD,
    Q_MEMBER_DEL,
    Q_MEMBER_DROP_UNDELIVERED,
    Q_MEMBER_EXISTS,
    Q_MEMBER_LIST,
    Q_MEMBER_COUNT,
    Q_MEMBER_SEEN,
    Q_MEMBERS_MISSING,
    Q_KEYSET_PUT,
    Q_KEYSET_GET,
    Q_KEYSET_PERIODS,
    Q_GMK_ADD,
    Q_GMK_STATUS,
    Q_GMK_GET,
    Q_GMK_LIST_ALL,
    Q_GMK_LIST_GROUP,
    Q_GMK_CURRENT,
    Q_GMK_COUNTS,
    Q_DEL_ADD,
    Q_DEL_LIST,
    Q_DEL_BACKLOG,
    Q_DEL_AFTER,
    Q_DEL_GET,
    Q_DEL_MSG,
    Q_DEL_SENT,
    Q_DEL_ACKED,
    Q_COUNT
};

#define GMK_COLS "id, group_uri, gmk_id, ts, activation, expiry, status, reason, sealed, created"
#define DEL_COLS                                                                                   \
    "d.id, d.gmk, d.member_uri, d.state, d.attempts, g.group_uri, g.gmk_id, g.ts, d.i_message"

static const char *const sql[Q_COUNT] = {
    [Q_META_GET] = "SELECT value FROM meta WHERE name = ?1",
    [Q_META_PUT] = "INSERT INTO meta(name, value) VALUES (?1, ?2) "
                   "ON CONFLICT(name) DO UPDATE SET value = excluded.value",
    [Q_GROUP_ADD] = "INSERT INTO groups(uri, lifetime, rekey_on_leave, member_version, last_ts, "
                    "created) VALUES (?1, ?2, ?3, 0, 0, ?4)",
    [Q_GROUP_GET] = "SELECT uri, lifetime, rekey_on_leave, member_version, last_ts, created "
                    "FROM groups WHERE uri = ?1",
    [Q_GROUP_LIST] = "SELECT uri, lifetime, rekey_on_leave, member_version, last_ts, created "
                     "FROM groups ORDER BY uri",
    [Q_GROUP_TS] = "UPDATE groups SET last_ts = ?2 WHERE uri = ?1",
    [Q_GROUP_BUMP] = "UPDATE groups SET member_version = member_version + 1 WHERE uri = ?1",
    [Q_MEMBER_ADD] = "INSERT OR IGNORE INTO members(group_uri, member_uri, added, address, "
                     "last_seen) VALUES (?1, ?2, ?3, '', 0)",
    [Q_MEMBER_DEL] = "DELETE FROM members WHERE group_uri = ?1 AND member_uri = ?2",
    [Q_MEMBER_DROP_UNDELIVERED] =
        "DELETE FROM deliveries WHERE member_uri = ?2 AND state < 2 AND gmk IN "
        "(SELECT id FROM gmks WHERE group_uri = ?1)",
    [Q_MEMBER_EXISTS] = "SELECT 1 FROM members WHERE group_uri = ?1 AND member_uri = ?2",
    [Q_MEMBER_LIST] = "SELECT member_uri FROM members WHERE group_uri = ?1 ORDER BY member_uri",
    [Q_MEMBER_COUNT] = "SELECT count(*) FROM members WHERE group_uri = ?1",
    [Q_MEMBER_SEEN] = "UPDATE members SET address = ?2, last_seen = ?3 WHERE member_uri = ?1",
    [Q_MEMBERS_MISSING] = "SELECT m.member_uri FROM members m WHERE m.group_uri = ?1 AND NOT "
                          "EXISTS (SELECT 1 FROM deliveries d WHERE d.gmk = ?2 AND "
                          "d.member_uri = m.member_uri) ORDER BY m.member_uri",
    [Q_KEYSET_PUT] = "INSERT INTO keysets(group_uri, period, sealed) VALUES (?1, ?2, ?3) "
                     "ON CONFLICT(group_uri, period) DO UPDATE SET sealed = excluded.sealed",
    [Q_KEYSET_GET] = "SELECT sealed FROM keysets WHERE group_uri = ?1 AND period = ?2",
    [Q_KEYSET_PERIODS] = "SELECT period FROM keysets WHERE group_uri = ?1 ORDER BY period",
    [Q_GMK_ADD] = "INSERT INTO gmks(group_uri, gmk_id, ts, activation, expiry, status, reason, "
                  "sealed, created) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    [Q_GMK_STATUS] = "UPDATE gmks SET status = ?2 WHERE id = ?1",
    [Q_GMK_GET] = "SELECT " GMK_COLS " FROM gmks WHERE group_uri = ?1 AND gmk_id = ?2",
    [Q_GMK_LIST_ALL] = "SELECT " GMK_COLS " FROM gmks WHERE ?1 < 0 OR status = ?1 "
                       "ORDER BY group_uri, ts, id",
    [Q_GMK_LIST_GROUP] = "SELECT " GMK_COLS " FROM gmks WHERE group_uri = ?2 AND "
                         "(?1 < 0 OR status = ?1) ORDER BY ts, id",
    [Q_GMK_CURRENT] = "SELECT " GMK_COLS " FROM gmks WHERE group_uri = ?1 AND status = 1 AND "
                      "activation <= ?2 AND (expiry = 0 OR expiry > ?2) "
                      "ORDER BY ts DESC, id DESC LIMIT 1",
    [Q_GMK_COUNTS] = "SELECT state, count(*) FROM deliveries WHERE gmk = ?1 GROUP BY state",
    [Q_DEL_ADD] = "INSERT OR IGNORE INTO deliveries(gmk, member_uri, state, attempts, sent_at, "
                  "acked_at, i_message) SELECT ?1, ?3, 0, 0, 0, 0, ?4 WHERE EXISTS "
                  "(SELECT 1 FROM members WHERE group_uri = ?2 AND member_uri = ?3)",
    [Q_DEL_LIST] = "SELECT " DEL_COLS " FROM deliveries d JOIN gmks g ON g.id = d.gmk "
                   "WHERE d.gmk = ?1 ORDER BY d.member_uri",
    [Q_DEL_BACKLOG] = "SELECT " DEL_COLS " FROM deliveries d JOIN gmks g ON g.id = d.gmk "
                      "WHERE d.member_uri = ?2 AND g.group_uri = ?1 AND d.state < 2 AND "
                      "g.status = 1 ORDER BY g.ts, g.id",
    [Q_DEL_AFTER] = "SELECT " DEL_COLS " FROM deliveries d JOIN gmks g ON g.id = d.gmk "
                    "WHERE d.id > ?1 AND d.state < 2 AND g.status = 1 ORDER BY d.id",
    [Q_DEL_GET] = "SELECT d.id, d.gmk, d.member_uri, d.state, d.attempts, g.group_uri, "
                  "g.gmk_id, g.ts, NULL FROM deliveries d JOIN gmks g ON g.id = d.gmk "
                  "WHERE d.gmk = ?1 AND d.member_uri = ?2",
    [Q_DEL_MSG] = "SELECT i_message FROM deliveries WHERE gmk = ?1 AND member_uri = ?2",
    [Q_DEL_SENT] = "UPDATE deliveries SET state = max(state, 1), attempts = attempts + 1, "
                   "sent_at = ?2 WHERE id = ?1",
    [Q_DEL_ACKED] = "UPDATE deliveries SET state = 2, acked_at = ?2, i_message = NULL "
                    "WHERE id = ?1",
};

static const char schema[] =
    "CREATE TABLE meta(name TEXT PRIMARY KEY, value BLOB NOT NULL);"
    "CREATE TABLE groups(uri TEXT PRIMARY KEY, lifetime INTEGER NOT NULL,"
    " rekey_on_leave INTEGER NOT NULL, member_version INTEGER NOT NULL,"
    " last_ts INTEGER NOT NULL, created INTEGER NOT NULL);"
    "CREATE TABLE members(group_uri TEXT NOT NULL, member_uri TEXT NOT NULL,"
    " added INTEGER NOT NULL, address TEXT NOT NULL, last_seen INTEGER NOT NULL,"
    " PRIMARY KEY(group_uri, member_uri)) WITHOUT ROWID;"
    "CREATE INDEX members_member ON members(member_uri);"
    "CREATE TABLE keysets(group_uri TEXT NOT NULL, period INTEGER NOT NULL,"
    " sealed BLOB NOT NULL, PRIMARY KEY(group_uri, period)) WITHOUT ROWID;"
    "CREATE TABLE gmks(id INTEGER PRIMARY KEY AUTOINCREMENT, group_uri TEXT NOT NULL,"
    " gmk_id INTEGER NOT NULL UNIQUE, ts INTEGER NOT NULL, activation INTEGER NOT NULL,"
    " expiry INTEGER NOT NULL, status INTEGER NOT NULL, reason TEXT NOT NULL,"
    " sealed BLOB NOT NULL, created INTEGER NOT NULL);"
    "CREATE INDEX gmks_group ON gmks(group_uri, ts);"
    "CREATE TABLE deliveries(id INTEGER PRIMARY KEY AUTOINCREMENT, gmk INTEGER NOT NULL,"
    " member_uri TEXT NOT NULL, state INTEGER NOT NULL, attempts INTEGER NOT NULL,"
    " sent_at INTEGER NOT NULL, acked_at INTEGER NOT NULL, i_message BLOB,"
    " UNIQUE(gmk, member_uri));"
    "CREATE INDEX deliveries_member ON deliveries(member_uri, state);";

struct gm_store {
    sqlite3 *db;
    char *path;
    sqlite3_stmt *q[Q_COUNT];
};

/* Maps an SQLite result to a status, recording a one-line reason. */
static mcsec_status_t fail(gm_store_t *s, int rc, const char *doing)
{
    int primary = rc & 0xff;
    if (primary == SQLITE_CORRUPT || primary == SQLITE_NOTADB) {
        gm_error("Group Manager store %s is damaged (%s while %s): restore it from a backup",
                 s->path, sqlite3_errstr(rc), doing);
        return MCSEC_ERR_VERIFY;
    }
    if (primary == SQLITE_BUSY || primary == SQLITE_LOCKED) {
        gm_error("Group Manager store %s stayed locked by another process while %s: try again",
                 s->path, doing);
        return MCSEC_ERR_IO;
    }
    if (primary == SQLITE_FULL) {
        gm_error("Group Manager store %s: disk full while %s: free some space", s->path, doing);
        return MCSEC_ERR_IO;
    }
    gm_error("Group Manager store %s: %s while %s: check the disk and permissions", s->path,
             s->db != NULL ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc), doing);
    return MCSEC_ERR_IO;
}

static mcsec_status_t prep(gm_store_t *s, int which, sqlite3_stmt **out)
{
    if (s->q[which] == NULL) {
        int rc = sqlite3_prepare_v3(s->db, sql[which], -1, SQLITE_PREPARE_PERSISTENT,
                                    &s->q[which], NULL);
        if (rc != SQLITE_OK)
            return fail(s, rc, "preparing a query");
    }
    *out = s->q[which];
    return MCSEC_OK;
}

static void done(sqlite3_stmt *st)
{
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
}

static void copy_text(char *dst, size_t cap, const unsigned char *src)
{
    snprintf(dst, cap, "%s", src != NULL ? (const char *)src : "");
}

static mcsec_status_t exec(gm_store_t *s, const char *text, const char *doing)
{
    int rc = sqlite3_exec(s->db, text, NULL, NULL, NULL);
    return rc == SQLITE_OK ? MCSEC_OK : fail(s, rc, doing);
}

/* Runs a prepared statement that returns no rows. */
static mcsec_status_t run(gm_store_t *s, sqlite3_stmt *q, const char *doing)
{
    int rc = sqlite3_step(q);
    done(q);
    return rc == SQLITE_DONE ? MCSEC_OK : fail(s, rc, doing);
}

static void store_close(gm_store_t *s)
{
    if (s == NULL)
        return;
    for (int i = 0; i < Q_COUNT; i++)
        sqlite3_finalize(s->q[i]);
    sqlite3_close(s->db);
    free(s->path);
    free(s);
}

static mcsec_status_t store_open(const char *dir, int create, gm_store_t **out)
{
    mcsec_status_t st = MCSEC_ERR_NOMEM;
    struct stat sb;
    *out = NULL;
    gm_store_t *s = calloc(1, sizeof *s);
    if (s == NULL || (s->path = malloc(strlen(dir) + sizeof GM_DB_NAME + 1)) == NULL)
        goto out;
    sprintf(s->path, "%s/%s", dir, GM_DB_NAME);
    st = MCSEC_ERR_IO;
    int exists = stat(s->path, &sb) == 0;
    if (create && exists) {
        gm_error("%s already holds a Group Manager (%s): open it, or choose another directory",
                 dir, s->path);
        goto out;
    }
    if (!create && !exists) {
        gm_error("no Group Manager at %s (%s: %s): check --dir, or run `mcsec-groupmgr init`",
                 dir, s->path, strerror(errno));
        goto out;
    }
    if (!create && !S_ISREG(sb.st_mode)) {
        gm_error("%s is not a regular file: check --dir", s->path);
        goto out;
    }
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | (create ? SQLITE_OPEN_CREATE : 0);
    int rc = sqlite3_open_v2(s->path, &s->db, flags, NULL);
    if (rc != SQLITE_OK) {
        st = fail(s, rc, "opening");
        goto out;
    }
    sqlite3_extended_result_codes(s->db, 1);
    sqlite3_busy_timeout(s->db, BUSY_TIMEOUT_MS);
    if (create) {
        if (chmod(s->path, 0600) != 0) {
            gm_error("cannot chmod %s: %s", s->path, strerror(errno));
            goto out;
        }
        if ((st = exec(s, "PRAGMA journal_mode=WAL", "enabling WAL")) != MCSEC_OK ||
            (st = exec(s, "PRAGMA synchronous=FULL", "setting synchronous")) != MCSEC_OK ||
            (st = exec(s, "BEGIN IMMEDIATE", "creating the schema")) != MCSEC_OK)
            goto out;
        if ((st = exec(s, schema, "creating the schema")) != MCSEC_OK) {
            (void)exec(s, "ROLLBACK", "rolling back");
            goto out;
        }
        if ((st = exec(s, "COMMIT", "creating the schema")) != MCSEC_OK)
            goto out;
    } else {
        sqlite3_stmt *probe = NULL;
        rc = sqlite3_prepare_v2(s->db, "SELECT count(*) FROM meta", -1, &probe, NULL);
        if (rc == SQLITE_OK)
            rc = sqlite3_step(probe);
        sqlite3_finalize(probe);
        if (rc != SQLITE_ROW) {
            st = fail(s, rc, "reading");
            if (st == MCSEC_ERR_IO && (rc & 0xff) == SQLITE_ERROR) {
                gm_error("%s is not a Group Manager store (no meta table): check --dir",
                         s->path);
                st = MCSEC_ERR_VERIFY;
            }
            goto out;
        }
        if ((st = exec(s, "PRAGMA synchronous=FULL", "setting synchronous")) != MCSEC_OK)
            goto out;
    }
    *out = s;
    s = NULL;
    st = MCSEC_OK;
out:
    store_close(s);
    return st;
}

static mcsec_status_t store_begin(gm_store_t *s)
{
    return exec(s, "BEGIN IMMEDIATE", "starting a transaction");
}

static mcsec_status_t store_commit(gm_store_t *s)
{
    return exec(s, "COMMIT", "committing");
}

static void store_rollback(gm_store_t *s)
{
    if (!sqlite3_get_autocommit(s->db))
        (void)sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
}

static mcsec_status_t data_version(gm_store_t *s, int64_t *v)
{
    sqlite3_stmt *q = NULL;
    int rc = sqlite3_prepare_v2(s->db, "PRAGMA data_version", -1, &q, NULL);
    if (rc == SQLITE_OK && (rc = sqlite3_step(q)) == SQLITE_ROW)
        *v = sqlite3_column_int64(q, 0);
    sqlite3_finalize(q);
    return rc == SQLITE_ROW ? MCSEC_OK : fail(s, rc, "polling for changes");
}

/* --- Blobs ------------------------------------------------------------------------------------ */

/* Copies column 0 of a one-row query into buf. */
static mcsec_status_t one_blob(gm_store_t *s, sqlite3_stmt *q, const char *what, uint8_t *buf,
                               size_t cap, size_t *len)
{
    mcsec_status_t st = MCSEC_OK;
    int rc = sqlite3_step(q);
    if (rc == SQLITE_ROW) {
        size_t n = (size_t)sqlite3_column_bytes(q, 0);
        if (sqlite3_column_type(q, 0) == SQLITE_NULL) {
            st = MCSEC_ERR_UNKNOWN_KEY;
        } else if (n > cap) {
            gm_error("Group Manager store %s: %s is %zu octets, more than expected: restore it "
                     "from a backup",
                     s->path, what, n);
            st = MCSEC_ERR_VERIFY;
        } else {
            if (n > 0)
                memcpy(buf, sqlite3_column_blob(q, 0), n);
            *len = n;
        }
    } else if (rc == SQLITE_DONE) {
        st = MCSEC_ERR_UNKNOWN_KEY;
    } else {
        st = fail(s, rc, "reading a record");
    }
    done(q);
    return st;
}

static mcsec_status_t meta_get(gm_store_t *s, const char *name, uint8_t *buf, size_t cap,
                               size_t *len)
{
    sqlite3_stmt *q = NULL;
    mcsec_status_t st = prep(s, Q_META_GET, &q);
    if (st != MCSEC_OK)
        return st;
    sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
    return one_blob(s, q, name, buf, cap, len);
}

static mcsec_status_t meta_put(gm_store_t *s, const char *name, const uint8_t *v, size_t len)
{
    sqlite3_stmt *q = NULL;
    mcsec_status_t st = prep(s, Q_META_PUT, &q);
    if (st != MCSEC_OK)
        return st;
    sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
    sqlite3_bind_blob(q, 2, v, (int)len, SQLITE_STATIC);
    return run(s, q, "writing a record");
}

/* --- Groups and members --------------------------------------------------------------------- */

static void row_group(sqlite3_stmt *q, gm_group_row_t *g)
{
    memset(g, 0, sizeof *g);
    copy_text(g->uri, sizeof g->uri, sqlite3_column_text(q, 0));
    g->lifetime = (uint64_t)sqlite3_column_int64(q, 1);
    g->rekey_on_leave = sqlite3_column_int(q, 2) != 0;
    g->member_version = sqlite3_column_int64(q, 3);
    g->last_ts = (uint64_t)sqlite3_column_int64(q, 4);
    g->created = sqlite3_column_int64(q, 5);
}

static mcsec_status_t group_add(gm_store_t *s, const gm_group_row_t *g)
{
    sqlite3_stmt *q = NULL;
    mcsec_status_t st = prep(s, Q_GROUP_ADD, &q);
    if (st != MCSEC_OK)
        return st;
    sqlite3_bind_text(q, 1, g->uri, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 2, (int64_t)g->lifetime);
    sqlite3_bind_int(q, 3, g->rekey_on_leave);
    sqlite3_bind_int64(q, 4, g->created);
    int rc = sqlite3_step(q);
    done(q);
    if ((rc & 0xff) == SQLITE_CONSTRAINT) {
        gm_error("group %s exists already: choose another URI, or manage its members", g->uri);
        return MCSEC_ERR_POLICY;
    }
    return rc == SQLITE_DONE ? MCSEC_OK : fail(s, rc, "adding a group");
}

static mcsec_status_t group_get(gm_store_t *s, const char *uri, gm_group_row_t *out)
{
    sqlite3_stmt *q = NULL;
    mcsec_status_t st = prep(s, Q_GROUP_GET, &q);
    if (st != MCSEC_OK)
        return st;
    sqlite3_bind_text(q, 1, uri, -1, SQLITE_STATIC);
    int rc = sqlite3_step(q);
    if (rc == SQLITE_ROW)
        row_group(q, out);
    else
        st = rc == SQLITE_DONE ? MCSEC_ERR_UNKNOWN_KEY : fail(s, rc, "reading a group");
    done(q);
    return st;
}

static mcsec_status_t group_list(gm_store_t *s, gm_group_cb fn, void *user)
{
    sqlite3_stmt *q = NULL;
    gm_group_row_t g;
    mcsec_status_t st = prep(s, Q_GROUP_LIST, &q);
    if (st != MCSEC_OK)
        return st;
    int rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        row_group(q, &g);
        if (fn(user, &g) != 0) {
            rc = SQLITE_DONE;
            break;
        }
    }
    done(q);
    return rc == SQLITE_DONE ? MCSEC_OK : fail(s, rc, "listing groups");
}

static mcsec_status_t group_set_ts(gm_store_t *s, const char *uri, uint64_t ts)
{
    sqlite3_stmt *q = NULL;
    mcsec_status_t st = prep(s, Q_GROUP_TS, &q);
    if (st != MCSEC_OK)
        return st;
    sqlite3_bind_text(q, 1, uri, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 2, (int64_t)ts);
    return run(s, q, "updating a group");
}

static mcsec_status_t group_bump(gm_store_t *s, const char *uri)
{
    sqlite3_stmt *q = NULL;
    mcsec_status_t st = prep(s, Q_GROUP_BUMP, &q);
    if (st != MCSEC_OK)
        return st;
    sqlite3_bind_text(q, 1, uri, -1, SQLITE_STATIC);
    return run(s, q, "updating a group");
}

static mcsec_status_t member_add(gm_store_t *s, const char *group, const char *member,
                                 int *inserted)
{
    sqlite3_stmt *q = NULL;
    mcsec_status_t st = prep(s, Q_MEMBER_ADD, &q);
    if (st != MCSEC_OK)
        return st;
    sqlite3_bind_text(q, 1, group, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, member, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 3, gm_now_unix());
    if ((st = run(s, q, "adding a member")) == MCSEC_OK)
        *inserted = sqlite3_changes(s->db) > 0;
    return st;
}

static mcsec_status_t member_remove(gm_store_t *s, const char *group, const char *member,
                                    int *removed)
{
    sqlite3_stmt *q = NULL;
    mcsec_status_t st = prep(s, Q_MEMBER_DEL, &q);
    if (st != MCSEC_OK)
        return st;
    sqlite3_bind_text(q, 1, group, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, member, -1, SQLITE_STATIC);
    if ((st = run(s, q, "removing a member")) != MCSEC_OK)
        return st;
    *removed = sqlite3_changes(s->db) > 0;
    if ((st = prep(s, Q_MEMBER_DROP_UNDELIVERED, &q)) != MCSEC_OK)
        return st;
    sqlite3_bind_text(q, 1, group, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, member, -1, SQLITE_STATIC);
    return run(s, q, "dropping a removed member's messages");
}

static mcsec_status_t member_exists(gm_store_t *s, const char *group, const char *member)
{
    sqlite3_stmt *q = NULL;
    mcsec_status_t st = prep(s, Q_MEMBER_EXISTS, &q);
    if (st != MCSEC_OK)
        return st;
    sqlite3_bind_text(q, 1, group, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, member, -1, SQLITE_STATIC);
    int rc = sqlite3_step(q);
    done(q);
    if (rc == SQLITE_ROW)
        return MCSEC_OK;
    return rc == SQLITE_DONE ? MCSEC_ERR_UNKNOWN_KEY : fail(s, rc, "reading members");
}

static mcsec_status_t uri_rows(gm_store_t *s, sqlite3_stmt *q, gm_uri_cb fn, void *user,
                               const char *doing)
{
    int rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        const unsigned char *u = sqlite3_column_text(q, 0);
        if (fn(user, u != NULL ? (const char *)u : "") != 0) {
            rc = SQLITE_DONE;
            break;
        }
    }
    done(q);
    return rc == SQLITE_DONE ? MCSEC_OK : fail(s, rc, doing);
}

static mcsec_status_t member_list(gm_store_t *s, const char *group, gm_uri_cb fn, void *user)
{
    sqlite3_stmt *q = NULL;
    mcsec_status_t st = prep(s, Q_MEMBER_LIST, &q);
    if (st != MCSEC_OK)
        return st;
    sqlite3_bind_text(q, 1, group, -1, SQLITE_STATIC);
    return uri_rows(s, q, fn, user, "listing members");
}

static mcsec_status_t member_count(gm_store_t *s, const char *group, size_t *n)
{
    sqlite3_stmt *q = NULL;
    mcsec_status_t st = prep(s, Q_MEMBER_COUNT, &q);
    if (st != MCSEC_OK)
        return st;
    sqlite3_bind_text(q, 1, group, -1, SQLITE_STATIC);
    int rc = sqlite3_step(q);
    if (rc == SQLITE_ROW)
        *n = (size_t)sqlite3_column_int64(q, 0);
    done(q);
    return rc == SQLITE_ROW ? MCSEC_OK : fail(s, rc, "counting members");
}

static mcsec_status_t member_seen(gm_store_t *s, const char *member, const char *address)
{
    sqlite3_stmt *q = NULL;
    mcsec_status_t st = prep(s, Q_MEMBER_SEEN, &q);
    if (st != MCSEC_OK)
        return st;
    sqlite3_bind_text(q, 1, member, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, address != NULL ? address : "", -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 3, gm_now_unix());
    return run(s, q, "recording a registration");
}

static mcsec_status_t members_missing(gm_store_t *s, const char *group, int64_t gmk,
                                      gm_uri_cb fn, void *user)
{
    sqlite3_stmt *q = NULL;
    mcsec_status_t st = prep(s, Q_MEMBERS_MISSING, &q);
    if (st != MCSEC_OK)
        return st;
    sqlite3_bind_text(q, 1, group, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 2, gmk);
    return uri_rows(s, q, fn, user, "listing members without a message");
}

/* --- Key sets ------------------------------------------------------------------------------- */

static mcsec_status_t keyset_put(gm_store_t *s, const char *group, uint64_t period,
                                 const uint8_t *v, size_t len)
{
    sqlite3_stmt *q = NULL;
    mcsec_status_t st = prep(s, Q_KEYSET_PUT, &q);
    if (st != MCSEC_OK)
        return st;
    sqlite3_bind_text(q, 1, group, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 2, (int64_t)period);
    sqlite3_bind_blob(q, 3, v, (int)len, SQLITE_STATIC);
    return run(s, q, "storing a group key set");
}

static mcsec_status_t keyset_get(gm_store_t *s, const char *group, uint64_t period, uint8_t *buf,
                                 size_t cap, size_t *len)
{
    sqlite3_stmt *q = NULL;
    mcsec_status_t st = prep(s, Q_KEYSET_GET, &q);
    if (st != MCSEC_OK)
        return st;
    sqlite3_bind_text(q, 1, group, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 2, (int64_t)period);
    return one_blob(s, q, "a group key set", buf, cap, len);
}

static mcsec_status_t keyset_periods(gm_store_t *s, const char *group, uint64_t *out, size_t cap,
                                     size_t *n)
{
    sqlite3_stmt *q = NULL;
    mcsec_status_t st = prep(s, Q_KEYSET_PERIODS, &q);
    if (st != MCSEC_OK)
        return st;
    sqlite3_bind_text(q, 1, group, -1, SQLITE_STATIC);
    int rc;
    *n = 0;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        if (*n < cap)
            out[*n] = (uint64_t)sqlite3_column_int64(q, 0);
        (*n)++;
    }
    done(q);
    return rc == SQLITE_DONE ? MCSEC_OK : fail(s, rc, "listing group key sets");
}

/* --- GMKs ----------------------------------------------------------------------------------- */

static void row_gmk(sqlite3_stmt *q, gm_gmk_row_t *g)
{
    memset(g, 0, sizeof *g);
    g->id = sqlite3_column_int64(q, 0);
    copy_text(g->group_uri, sizeof g->group_uri, sqlite3_column_text(q, 1));
    g->gmk_id = (uint32_t)sqlite3_column_int64(q, 2);
    g->ts = (uint64_t)sqlite3_column_int64(q, 3);
    g->activation = (uint64_t)sqlite3_column_int64(q, 4);
    g->expiry = (uint64_t)sqlite3_column_int64(q, 5);
    g->status = sqlite3_column_int(q, 6);
    copy_text(g->reason, sizeof g->reason, sqlite3_column_text(q, 7));
    if ((size_t)sqlite3_column_bytes(q, 8) == GM_SEALED_GMK_LEN)
        memcpy(g->sealed, sqlite3_column_blob(q, 8), GM_SEALED_GMK_LEN);
    g->created = sqlite3_column_int64(q, 9);
}

static mcsec_status_t gmk_add(gm_store_t *s, gm_gmk_row_t *g)
{
    sqlite3_stmt *q = NULL;
    mcsec_status_t st = prep(s, Q_GMK_ADD, &q);
    if (st != MCSEC_OK)
        return st;
    sqlite3_bind_text(q, 1, g->group_uri, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 2, g->gmk_id);
    sqlite3_bind_int64(q, 3, (int64_t)g->ts);
    sqlite3_bind_int64(q, 4, (int64_t)g->activation);
    sqlite3_bind_int64(q, 5, (int64_t)g->expiry);
    sqlite3_bind_int(q, 6, g->status);
    sqlite3_bind_text(q, 7, g->reason, -1, SQLITE_STATIC);
    sqlite3_bind_blob(q, 8, g->sealed, GM_SEALED_GMK_LEN, SQLITE_STATIC);
    sqlite3_bind_int64(q, 9, g->created);
    int rc = sqlite3_step(q);
    done(q);
    if ((rc & 0xff) == SQLITE_CONSTRAINT)
        return MCSEC_ERR_POLICY; /* GMK-ID taken: the caller draws another */
    if (rc != SQLITE_DONE)
        return fail(s, rc, "recording a GMK");
    g->id = sqlite3_last_insert_rowid(s->db);
    return MCSEC_OK;
}

static mcsec_status_t gmk_set_status(gm_store_t *s, int64_t id, int status)
{
    sqlite3_stmt *q = NULL;
    mcsec_status_t st = prep(s, Q_GMK_STATUS, &q);
    if (st != MCSEC_OK)
        return st;
    sqlite3_bind_int64(q, 1, id);
    sqlite3_bind_int(q, 2, status);
    return run(s, q, "updating a GMK");
}

static mcsec_status_t gmk_one(gm_store_t *s, sqlite3_stmt *q, gm_gmk_row_t *out)
{
    mcsec_status_t st = MCSEC_OK;
    int rc = sqlite3_step(q);
    if (rc == SQLITE_ROW)
        row_gmk(q, out);
    else
        st = rc == SQLITE_DONE ? MCSEC_ERR_UNKNOWN_KEY : fail(s, rc, "reading a GMK");
    done(q);
    return st;
}

static mcsec_status_t gmk_get(gm_store_t *s, const char *group, uint32_t gmk_id,
                              gm_gmk_row_t *out)
{
    sqlite3_stmt *q = NULL;
    mcsec_status_t st = prep(s, Q_GMK_GET, &q);
    if (st != MCSEC_OK)
        return st;
    sqlite3_bind_text(q, 1, group, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 2, gmk_id);
    return gmk_one(s, q, out);
}

static mcsec_status_t gmk_list(gm_store_t *s, const char *group, int status, gm_gmk_cb fn,
                               void *user)
{
    sqlite3_stmt *q = NULL;
    gm_gmk_row_t g;
    mcsec_status_t st = prep(s, group != NULL ? Q_GMK_LIST_GROUP : Q_GMK_LIST_ALL, &q);
    if (st != MCSEC_OK)
        return st;
    sqlite3_bind_int(q, 1, status);
    if (group != NULL)
        sqlite3_bind_text(q, 2, group, -1, SQLITE_STATIC);
    int rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        row_gmk(q, &g);
        if (fn(user, &g) != 0) {
            rc = SQLITE_DONE;
            break;
        }
    }
    done(q);
    return rc == SQLITE_DONE ? MCSEC_OK : fail(s, rc, "listing GMKs");
}

static mcsec_status_t gmk_current(gm_store_t *s, const char *group, uint64_t now,
                                  gm_gmk_row_t *out)
{
    sqlite3_stmt *q = NULL;
    mcsec_status_t st = prep(s, Q_GMK_CURRENT, &q);
    if (st != MCSEC_OK)
        return st;
    sqlite3_bind_text(q, 1, group, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 2, (int64_t)now);
    return gmk_one(s, q, out);
}

static mcsec_status_t gmk_counts(gm_store_t *s, int64_t gmk, size_t counts[3])
{
    sqlite3_stmt *q = NULL;
    mcsec_status_t st = prep(s, Q_GMK_COUNTS, &q);
    if (st != MCSEC_OK)
        return st;
    sqlite3_bind_int64(q, 1, gmk);
    counts[0] = counts[1] = counts[2] = 0;
    int rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        int state = sqlite3_column_int(q, 0);
        if (state >= 0 && state <= 2)
            counts[state] = (size_t)sqlite3_column_int64(q, 1);
    }
    done(q);
    return rc == SQLITE_DONE ? MCSEC_OK : fail(s, rc, "counting deliveries");
}

/* --- Deliveries ----------------------------------------------------------------------------- */

static void row_delivery(sqlite3_stmt *q, gm_delivery_row_t *d)
{
    memset(d, 0, sizeof *d);
    d->id = sqlite3_column_int64(q, 0);
    d->gmk = sqlite3_column_int64(q, 1);
    copy_text(d->member_uri, sizeof d->member_uri, sqlite3_column_text(q, 2));
    d->state = sqlite3_column_int(q, 3);
    d->attempts = (unsigned)sqlite3_column_int(q, 4);
    copy_text(d->group_uri, sizeof d->group_uri, sqlite3_column_text(q, 5));
    d->gmk_id = (uint32_t)sqlite3_column_int64(q, 6);
    d->ts = (uint64_t)sqlite3_column_int64(q, 7);
    if (sqlite3_column_type(q, 8) == SQLITE_BLOB) {
        d->msg = sqlite3_column_blob(q, 8);
        d->msg_len = (size_t)sqlite3_column_bytes(q, 8);
    }
}

static mcsec_status_t delivery_rows(gm_store_t *s, sqlite3_stmt *q, gm_delivery_cb fn,
                                    void *user, const char *doing)
{
    gm_delivery_row_t d;
    int rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        row_delivery(q, &d);
        if (fn(user, &d) != 0) {
            rc = SQLITE_DONE;
            break;
        }
    }
    done(q);
    return rc == SQLITE_DONE ? MCSEC_OK : fail(s, rc, doing);
}

static mcsec_status_t delivery_add(gm_store_t *s, int64_t gmk, const char *group,
                                   const char *member, const uint8_t *msg, size_t len, int *added)
{
    sqlite3_stmt *q = NULL;
    mcsec_status_t st = prep(s, Q_DEL_ADD, &q);
    if (st != MCSEC_OK)
        return st;
    sqlite3_bind_int64(q, 1, gmk);
    sqlite3_bind_text(q, 2, group, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 3, member, -1, SQLITE_STATIC);
    sqlite3_bind_blob(q, 4, msg, (int)len, SQLITE_STATIC);
    if ((st = run(s, q, "storing a message")) == MCSEC_OK)
        *added = sqlite3_changes(s->db) > 0;
    return st;
}

static mcsec_status_t delivery_list(gm_store_t *s, int64_t gmk, gm_delivery_cb fn, void *user)
{
    sqlite3_stmt *q = NULL;
    mcsec_status_t st = prep(s, Q_DEL_LIST, &q);
    if (st != MCSEC_OK)
        return st;
    sqlite3_bind_int64(q, 1, gmk);
    return delivery_rows(s, q, fn, user, "listing messages");
}

static mcsec_status_t delivery_backlog(gm_store_t *s, const char *group, const char *member,
                                       gm_delivery_cb fn, void *user)
{
    sqlite3_stmt *q = NULL;
    mcsec_status_t st = prep(s, Q_DEL_BACKLOG, &q);
    if (st != MCSEC_OK)
        return st;
    sqlite3_bind_text(q, 1, group, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, member, -1, SQLITE_STATIC);
    return delivery_rows(s, q, fn, user, "reading a member's backlog");
}

static mcsec_status_t delivery_after(gm_store_t *s, int64_t after, gm_delivery_cb fn, void *user)
{
    sqlite3_stmt *q = NULL;
    mcsec_status_t st = prep(s, Q_DEL_AFTER, &q);
    if (st != MCSEC_OK)
        return st;
    sqlite3_bind_int64(q, 1, after);
    return delivery_rows(s, q, fn, user, "reading new messages");
}

static mcsec_status_t delivery_get(gm_store_t *s, int64_t gmk, const char *member,
                                   gm_delivery_row_t *out)
{
    sqlite3_stmt *q = NULL;
    mcsec_status_t st = prep(s, Q_DEL_GET, &q);
    if (st != MCSEC_OK)
        return st;
    sqlite3_bind_int64(q, 1, gmk);
    sqlite3_bind_text(q, 2, member, -1, SQLITE_STATIC);
    int rc = sqlite3_step(q);
    if (rc == SQLITE_ROW) {
        row_delivery(q, out);
        out->msg = NULL;
        out->msg_len = 0;
    } else {
        st = rc == SQLITE_DONE ? MCSEC_ERR_UNKNOWN_KEY : fail(s, rc, "reading a message");
    }
    done(q);
    return st;
}

static mcsec_status_t delivery_message(gm_store_t *s, int64_t gmk, const char *member,
                                       uint8_t *buf, size_t cap, size_t *len)
{
    sqlite3_stmt *q = NULL;
    mcsec_status_t st = prep(s, Q_DEL_MSG, &q);
    if (st != MCSEC_OK)
        return st;
    sqlite3_bind_int64(q, 1, gmk);
    sqlite3_bind_text(q, 2, member, -1, SQLITE_STATIC);
    return one_blob(s, q, "a message", buf, cap, len);
}

static mcsec_status_t delivery_mark(gm_store_t *s, int which, int64_t id)
{
    sqlite3_stmt *q = NULL;
    mcsec_status_t st = prep(s, which, &q);
    if (st != MCSEC_OK)
        return st;
    sqlite3_bind_int64(q, 1, id);
    sqlite3_bind_int64(q, 2, gm_now_unix());
    return run(s, q, "updating a delivery");
}

static mcsec_status_t delivery_sent(gm_store_t *s, int64_t id)
{
    return delivery_mark(s, Q_DEL_SENT, id);
}

static mcsec_status_t delivery_acked(gm_store_t *s, int64_t id)
{
    return delivery_mark(s, Q_DEL_ACKED, id);
}

const gm_store_ops_t gm_store_sqlite = {
    .name = "sqlite",
    .open = store_open,
    .close = store_close,
    .begin = store_begin,
    .commit = store_commit,
    .rollback = store_rollback,
    .data_version = data_version,
    .meta_get = meta_get,
    .meta_put = meta_put,
    .group_add = group_add,
    .group_get = group_get,
    .group_list = group_list,
    .group_set_ts = group_set_ts,
    .group_bump = group_bump,
    .member_add = member_add,
    .member_remove = member_remove,
    .member_exists = member_exists,
    .member_list = member_list,
    .member_count = member_count,
    .member_seen = member_seen,
    .members_missing = members_missing,
    .keyset_put = keyset_put,
    .keyset_get = keyset_get,
    .keyset_periods = keyset_periods,
    .gmk_add = gmk_add,
    .gmk_set_status = gmk_set_status,
    .gmk_get = gmk_get,
    .gmk_list = gmk_list,
    .gmk_current = gmk_current,
    .gmk_counts = gmk_counts,
    .delivery_add = delivery_add,
    .delivery_list = delivery_list,
    .delivery_backlog = delivery_backlog,
    .delivery_after = delivery_after,
    .delivery_get = delivery_get,
    .delivery_message = delivery_message,
    .delivery_sent = delivery_sent,
    .delivery_acked = delivery_acked,
};
