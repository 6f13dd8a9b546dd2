/* The KMS store on SQLite: one file, kms.db, in WAL mode with synchronous=FULL (a commit is
 * on disk before it returns: an acknowledged issuance survives a crash or a power cut; WAL
 * lets readers go on while one writer commits). One connection per thread, prepared
 * statements cached per connection, a busy timeout for writers of other processes.
 *
 * Opening an existing store never writes: the journal mode is persistent (set at creation),
 * synchronous and the busy timeout are per connection, and the first statement is a read,
 * so a damaged file is reported (MCSEC_ERR_VERIFY) before anything could touch it. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <sqlite3.h>

#include "internal.h"

#define BUSY_TIMEOUT_MS 10000

enum {
    Q_META_GET,
    Q_META_PUT,
    Q_DEV_ADD,
    Q_DEV_GET,
    Q_DEV_BY_KEY,
    Q_DEV_REVOKE,
    Q_DEV_LIST,
    Q_DEV_LIST_URI,
    Q_AUDIT_ADD,
    Q_AUDIT_LIST,
    Q_COUNT
};

static const char *const sql[Q_COUNT] = {
    [Q_META_GET] = "SELECT value FROM meta WHERE name = ?1",
    [Q_META_PUT] = "INSERT INTO meta(name, value) VALUES (?1, ?2) "
                   "ON CONFLICT(name) DO UPDATE SET value = excluded.value",
    [Q_DEV_ADD] = "INSERT INTO devices(uri, role, groups, curve_public, revoked, enrolled_at, "
                  "revoked_at) VALUES (?1, ?2, ?3, ?4, 0, ?5, 0)",
    [Q_DEV_GET] = "SELECT id, uri, role, groups, curve_public, revoked, enrolled_at, revoked_at "
                  "FROM devices WHERE id = ?1",
    [Q_DEV_BY_KEY] = "SELECT id, uri, role, groups, curve_public, revoked, enrolled_at, "
                     "revoked_at FROM devices WHERE curve_public = ?1",
    [Q_DEV_REVOKE] = "UPDATE devices SET revoked = 1, revoked_at = ?2 WHERE id = ?1 AND revoked = 0",
    [Q_DEV_LIST] = "SELECT id, uri, role, groups, curve_public, revoked, enrolled_at, revoked_at "
                   "FROM devices ORDER BY id",
    [Q_DEV_LIST_URI] = "SELECT id, uri, role, groups, curve_public, revoked, enrolled_at, "
                       "revoked_at FROM devices WHERE uri = ?1 ORDER BY id",
    [Q_AUDIT_ADD] = "INSERT INTO audit(time, device, subject, period, action, status, "
                    "request_id, reason) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    [Q_AUDIT_LIST] = "SELECT id, time, device, subject, period, action, status, request_id, "
                     "reason FROM audit WHERE id > ?1 ORDER BY id",
};

static const char schema[] =
    "CREATE TABLE meta(name TEXT PRIMARY KEY, value BLOB NOT NULL);"
    "CREATE TABLE devices(id INTEGER PRIMARY KEY AUTOINCREMENT, uri TEXT NOT NULL,"
    " role INTEGER NOT NULL, groups TEXT NOT NULL, curve_public TEXT NOT NULL UNIQUE,"
    " revoked INTEGER NOT NULL, enrolled_at INTEGER NOT NULL, revoked_at INTEGER NOT NULL);"
    "CREATE INDEX devices_uri ON devices(uri);"
    "CREATE TABLE audit(id INTEGER PRIMARY KEY AUTOINCREMENT, time INTEGER NOT NULL,"
    " device INTEGER NOT NULL, subject TEXT NOT NULL, period INTEGER NOT NULL,"
    " action TEXT NOT NULL, status INTEGER NOT NULL, request_id INTEGER NOT NULL,"
    " reason TEXT NOT NULL);";

struct kms_store {
    sqlite3 *db;
    char *path;
    sqlite3_stmt *q[Q_COUNT];
};

/* Maps an SQLite result to a status, recording a one-line reason. */
static mcsec_status_t fail(kms_store_t *s, int rc, const char *doing)
{
    int primary = rc & 0xff;
    if (primary == SQLITE_CORRUPT || primary == SQLITE_NOTADB) {
        kms_error("KMS store %s is damaged (%s while %s): restore it from a backup", s->path,
                  sqlite3_errstr(rc), doing);
        return MCSEC_ERR_VERIFY;
    }
    if (primary == SQLITE_BUSY || primary == SQLITE_LOCKED) {
        kms_error("KMS store %s stayed locked by another process while %s: try again", s->path,
                  doing);
        return MCSEC_ERR_IO;
    }
    kms_error("KMS store %s: %s while %s: check the disk and permissions", s->path,
              s->db != NULL ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc), doing);
    return MCSEC_ERR_IO;
}

static mcsec_status_t prep(kms_store_t *s, int which, sqlite3_stmt **out)
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

static void store_close(kms_store_t *s)
{
    if (s == NULL)
        return;
    for (int i = 0; i < Q_COUNT; i++)
        sqlite3_finalize(s->q[i]);
    sqlite3_close(s->db);
    free(s->path);
    free(s);
}

static mcsec_status_t exec(kms_store_t *s, const char *text, const char *doing)
{
    int rc = sqlite3_exec(s->db, text, NULL, NULL, NULL);
    return rc == SQLITE_OK ? MCSEC_OK : fail(s, rc, doing);
}

static mcsec_status_t store_open(const char *dir, int create, kms_store_t **out)
{
    mcsec_status_t st = MCSEC_ERR_NOMEM;
    struct stat sb;
    *out = NULL;
    kms_store_t *s = calloc(1, sizeof *s);
    if (s == NULL || (s->path = malloc(strlen(dir) + sizeof KMS_DB_NAME + 1)) == NULL)
        goto out;
    sprintf(s->path, "%s/%s", dir, KMS_DB_NAME);
    st = MCSEC_ERR_IO;
    int exists = stat(s->path, &sb) == 0;
    if (create && exists) {
        kms_error("%s already holds a KMS (%s): open it, or choose another directory", dir,
                  s->path);
        goto out;
    }
    if (!create && !exists) {
        kms_error("no KMS at %s (%s: %s): check --dir, or run `mcsec-kms init`", dir, s->path,
                  strerror(errno));
        goto out;
    }
    if (!create && !S_ISREG(sb.st_mode)) {
        kms_error("%s is not a regular file: check --dir", s->path);
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
            kms_error("cannot chmod %s: %s", s->path, strerror(errno));
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
        /* A read first: a damaged file fails here, before any pragma could write. */
        sqlite3_stmt *probe = NULL;
        rc = sqlite3_prepare_v2(s->db, "SELECT count(*) FROM meta", -1, &probe, NULL);
        if (rc == SQLITE_OK)
            rc = sqlite3_step(probe);
        sqlite3_finalize(probe);
        if (rc != SQLITE_ROW) {
            st = fail(s, rc, "reading");
            if (st == MCSEC_ERR_IO && (rc & 0xff) == SQLITE_ERROR) {
                kms_error("%s is not a KMS store (no meta table): check --dir", s->path);
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

static mcsec_status_t store_begin(kms_store_t *s)
{
    return exec(s, "BEGIN IMMEDIATE", "starting a transaction");
}

static mcsec_status_t store_commit(kms_store_t *s)
{
    return exec(s, "COMMIT", "committing");
}

static void store_rollback(kms_store_t *s)
{
    if (!sqlite3_get_autocommit(s->db))
        (void)sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
}

static mcsec_status_t meta_get(kms_store_t *s, const char *name, uint8_t *buf, size_t cap,
                               size_t *len)
{
    sqlite3_stmt *q = NULL;
    mcsec_status_t st = prep(s, Q_META_GET, &q);
    if (st != MCSEC_OK)
        return st;
    sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
    int rc = sqlite3_step(q);
    if (rc == SQLITE_ROW) {
        size_t n = (size_t)sqlite3_column_bytes(q, 0);
        if (n > cap) {
            kms_error("KMS store %s: record %s is %zu octets, more than expected: restore it "
                      "from a backup",
                      s->path, name, n);
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

static mcsec_status_t meta_put(kms_store_t *s, const char *name, const uint8_t *v, size_t len)
{
    sqlite3_stmt *q = NULL;
    mcsec_status_t st = prep(s, Q_META_PUT, &q);
    if (st != MCSEC_OK)
        return st;
    sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
    sqlite3_bind_blob(q, 2, v, (int)len, SQLITE_STATIC);
    int rc = sqlite3_step(q);
    done(q);
    return rc == SQLITE_DONE ? MCSEC_OK : fail(s, rc, "writing a record");
}

static void copy_text(char *dst, size_t cap, const unsigned char *src)
{
    snprintf(dst, cap, "%s", src != NULL ? (const char *)src : "");
}

static void row_device(sqlite3_stmt *q, mcsec_kms_device_t *d)
{
    memset(d, 0, sizeof *d);
    d->id = sqlite3_column_int64(q, 0);
    copy_text(d->uri, sizeof d->uri, sqlite3_column_text(q, 1));
    d->role = (mcsec_kms_role_t)sqlite3_column_int(q, 2);
    copy_text(d->groups, sizeof d->groups, sqlite3_column_text(q, 3));
    copy_text(d->curve_public, sizeof d->curve_public, sqlite3_column_text(q, 4));
    d->revoked = sqlite3_column_int(q, 5) != 0;
    d->enrolled_at = sqlite3_column_int64(q, 6);
    d->revoked_at = sqlite3_column_int64(q, 7);
}

static mcsec_status_t device_add(kms_store_t *s, mcsec_kms_device_t *d)
{
    sqlite3_stmt *q = NULL;
    mcsec_status_t st = prep(s, Q_DEV_ADD, &q);
    if (st != MCSEC_OK)
        return st;
    sqlite3_bind_text(q, 1, d->uri, -1, SQLITE_STATIC);
    sqlite3_bind_int(q, 2, (int)d->role);
    sqlite3_bind_text(q, 3, d->groups, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 4, d->curve_public, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 5, d->enrolled_at);
    int rc = sqlite3_step(q);
    done(q);
    if (rc == SQLITE_CONSTRAINT_UNIQUE) {
        kms_error("that CURVE public key is already enrolled: give each device its own key");
        return MCSEC_ERR_POLICY;
    }
    if (rc != SQLITE_DONE)
        return fail(s, rc, "adding a device");
    d->id = sqlite3_last_insert_rowid(s->db);
    return MCSEC_OK;
}

static mcsec_status_t device_one(kms_store_t *s, int which, int64_t id, const char *key,
                                 mcsec_kms_device_t *out)
{
    sqlite3_stmt *q = NULL;
    mcsec_status_t st = prep(s, which, &q);
    if (st != MCSEC_OK)
        return st;
    if (key != NULL)
        sqlite3_bind_text(q, 1, key, -1, SQLITE_STATIC);
    else
        sqlite3_bind_int64(q, 1, id);
    int rc = sqlite3_step(q);
    if (rc == SQLITE_ROW)
        row_device(q, out);
    else
        st = rc == SQLITE_DONE ? MCSEC_ERR_UNKNOWN_KEY : fail(s, rc, "reading a device");
    done(q);
    return st;
}

static mcsec_status_t device_get(kms_store_t *s, int64_t id, mcsec_kms_device_t *out)
{
    return device_one(s, Q_DEV_GET, id, NULL, out);
}

static mcsec_status_t device_by_key(kms_store_t *s, const char *key, mcsec_kms_device_t *out)
{
    return device_one(s, Q_DEV_BY_KEY, 0, key, out);
}

static mcsec_status_t device_revoke(kms_store_t *s, int64_t id, int64_t when)
{
    sqlite3_stmt *q = NULL;
    mcsec_status_t st = prep(s, Q_DEV_REVOKE, &q);
    if (st != MCSEC_OK)
        return st;
    sqlite3_bind_int64(q, 1, id);
    sqlite3_bind_int64(q, 2, when);
    int rc = sqlite3_step(q);
    done(q);
    return rc == SQLITE_DONE ? MCSEC_OK : fail(s, rc, "revoking a device");
}

static mcsec_status_t device_list(kms_store_t *s, const char *uri, mcsec_kms_device_fn fn,
                                  void *user)
{
    sqlite3_stmt *q = NULL;
    mcsec_status_t st = prep(s, uri != NULL ? Q_DEV_LIST_URI : Q_DEV_LIST, &q);
    mcsec_kms_device_t d;
    if (st != MCSEC_OK)
        return st;
    if (uri != NULL)
        sqlite3_bind_text(q, 1, uri, -1, SQLITE_STATIC);
    int rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        row_device(q, &d);
        if (fn(user, &d) != 0) {
            rc = SQLITE_DONE;
            break;
        }
    }
    done(q);
    return rc == SQLITE_DONE ? MCSEC_OK : fail(s, rc, "listing devices");
}

static mcsec_status_t audit_add(kms_store_t *s, mcsec_kms_audit_t *r)
{
    sqlite3_stmt *q = NULL;
    mcsec_status_t st = prep(s, Q_AUDIT_ADD, &q);
    if (st != MCSEC_OK)
        return st;
    sqlite3_bind_int64(q, 1, r->time);
    sqlite3_bind_int64(q, 2, r->device_id);
    sqlite3_bind_text(q, 3, r->subject, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 4, r->period_no);
    sqlite3_bind_text(q, 5, r->action, -1, SQLITE_STATIC);
    sqlite3_bind_int(q, 6, r->status);
    sqlite3_bind_int64(q, 7, (int64_t)r->request_id);
    sqlite3_bind_text(q, 8, r->reason, -1, SQLITE_STATIC);
    int rc = sqlite3_step(q);
    done(q);
    if (rc != SQLITE_DONE)
        return fail(s, rc, "writing the audit table");
    r->id = sqlite3_last_insert_rowid(s->db);
    return MCSEC_OK;
}

static mcsec_status_t audit_list(kms_store_t *s, int64_t after, mcsec_kms_audit_fn fn, void *user)
{
    sqlite3_stmt *q = NULL;
    mcsec_status_t st = prep(s, Q_AUDIT_LIST, &q);
    mcsec_kms_audit_t r;
    if (st != MCSEC_OK)
        return st;
    sqlite3_bind_int64(q, 1, after);
    int rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        memset(&r, 0, sizeof r);
        r.id = sqlite3_column_int64(q, 0);
        r.time = sqlite3_column_int64(q, 1);
        r.device_id = sqlite3_column_int64(q, 2);
        copy_text(r.subject, sizeof r.subject, sqlite3_column_text(q, 3));
        r.period_no = sqlite3_column_int64(q, 4);
        copy_text(r.action, sizeof r.action, sqlite3_column_text(q, 5));
        r.status = sqlite3_column_int(q, 6);
        r.request_id = (uint64_t)sqlite3_column_int64(q, 7);
        copy_text(r.reason, sizeof r.reason, sqlite3_column_text(q, 8));
        if (fn(user, &r) != 0) {
            rc = SQLITE_DONE;
            break;
        }
    }
    done(q);
    return rc == SQLITE_DONE ? MCSEC_OK : fail(s, rc, "reading the audit table");
}

const kms_store_ops_t kms_store_sqlite = {
    .name = "sqlite",
    .open = store_open,
    .close = store_close,
    .begin = store_begin,
    .commit = store_commit,
    .rollback = store_rollback,
    .meta_get = meta_get,
    .meta_put = meta_put,
    .device_add = device_add,
    .device_get = device_get,
    .device_by_key = device_by_key,
    .device_revoke = device_revoke,
    .device_list = device_list,
    .audit_add = audit_add,
    .audit_list = audit_list,
    .pkmf = &kms_pkmf_store_sqlite,
};

struct sqlite3 *kms_sqlite_db(kms_store_t *s)
{
    return s->db;
}

mcsec_status_t kms_sqlite_fail(kms_store_t *s, int rc, const char *doing)
{
    return fail(s, rc, doing);
}
