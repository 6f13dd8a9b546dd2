/* Bulk provisioning: a roster CSV in, one sealed bundle per handset and a summary file of
 * one-time codes out, with the issuance spread over threads.
 *
 * Roster (docs/operations.md): one row per line, "uri,role,groups"; role handset (default
 * when empty) or groupmgr; groups separated by ';' (may be empty). Blank lines and lines
 * starting with '#' are skipped, as is a first line "uri,role,groups". Fields are trimmed;
 * there is no quoting, so URIs may not contain ',' or ';'. A URI may appear once.
 *
 * Order: every device is enrolled, and every issuance audited, in ONE transaction before any
 * bundle is written; then threads issue and seal the bundles; then the summary is written. */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/sha.h>
#include <zmq.h>

#include "internal.h"
#include "mcsec/bundle.h"
#include "mcsec/seal.h"
#include "mcsec/secmem.h"

#define LINE_MAX_LEN 16384
#define SUMMARY_NAME "summary.txt"
#define BUNDLE_EXT ".mcsb"

/* --- Names --------------------------------------------------------------------------------- */

void mcsec_kms_safe_name(const char *uri, char out[256])
{
    static const char hex[] = "0123456789abcdef";
    size_t o = 0;
    for (const unsigned char *c = (const unsigned char *)uri; *c && o < 250; c++) {
        int keep = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
                   (*c >= '0' && *c <= '9') || *c == '-' || (*c == '.' && o > 0);
        if (keep) {
            out[o++] = (char)*c;
        } else {
            out[o++] = '_';
            out[o++] = hex[*c >> 4];
            out[o++] = hex[*c & 15];
        }
    }
    out[o] = 0;
    if (o > 200) {
        uint8_t d[SHA256_DIGEST_LENGTH];
        SHA256((const uint8_t *)uri, strlen(uri), d);
        o = 183;
        out[o++] = '~';
        for (int i = 0; i < 8; i++) {
            out[o++] = hex[d[i] >> 4];
            out[o++] = hex[d[i] & 15];
        }
        out[o] = 0;
    }
}

/* --- Roster -------------------------------------------------------------------------------- */

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' || s[n - 1] == '\n'))
        s[--n] = 0;
    return s;
}

static const char no_memory[] = "out of memory";

/* Parses one data line into row; returns NULL or the reason it is bad (no_memory: malloc
 * failed). A row lives in one block: its group pointers, then its URI and group URIs, each
 * NUL-terminated; row->groups points at the block, which is what mcsec_kms_roster_free frees. */
static const char *parse_row(char *line, mcsec_kms_roster_row_t *row)
{
    const char *g[MCSEC_KMS_GROUPS_MAX];
    size_t ng = 0;
    memset(row, 0, sizeof *row);
    char *c1 = strchr(line, ',');
    char *c2 = c1 != NULL ? strchr(c1 + 1, ',') : NULL;
    if (c1 == NULL)
        return "expected uri,role,groups";
    *c1 = 0;
    if (c2 != NULL) {
        *c2 = 0;
        if (strchr(c2 + 1, ',') != NULL)
            return "more than three fields (uri,role,groups; groups are separated by ';')";
    }
    char *uri = trim(line), *role = trim(c1 + 1), *groups = c2 != NULL ? trim(c2 + 1) : "";
    if (!kms_uri_ok(uri))
        return "the URI is empty, longer than 255 octets, or has spaces or control characters";
    mcsec_kms_role_t r = role[0] == 0 ? MCSEC_KMS_ROLE_HANDSET : mcsec_kms_role_parse(role);
    if (r == 0)
        return "the role is not handset or groupmgr";
    for (char *p = groups; *p;) {
        char *semi = strchr(p, ';');
        if (semi != NULL)
            *semi = 0;
        char *t = trim(p);
        if (*t) {
            if (ng == MCSEC_KMS_GROUPS_MAX)
                return "more than 64 groups";
            if (!kms_uri_ok(t))
                return "a group URI is longer than 255 octets or has spaces or control characters";
            g[ng++] = t;
        }
        if (semi == NULL)
            break;
        p = semi + 1;
    }
    size_t need = ng * sizeof(char *) + strlen(uri) + 1;
    for (size_t i = 0; i < ng; i++)
        need += strlen(g[i]) + 1;
    const char **block = malloc(need); /* need > 0: the URI is not empty */
    if (block == NULL)
        return no_memory;
    char *text = (char *)(block + ng);
    size_t len = strlen(uri) + 1;
    memcpy(text, uri, len);
    row->uri = text;
    text += len;
    for (size_t i = 0; i < ng; i++) {
        len = strlen(g[i]) + 1;
        memcpy(text, g[i], len);
        block[i] = text;
        text += len;
    }
    row->role = r;
    row->n_groups = ng;
    row->groups = block;
    return NULL;
}

void mcsec_kms_roster_free(mcsec_kms_roster_row_t *rows, size_t n)
{
    if (rows == NULL)
        return;
    for (size_t i = 0; i < n; i++)
        free((void *)rows[i].groups);
    free(rows);
}

/* The URIs read so far, for "appears twice" in time linear in the roster: open addressing,
 * a slot holding a row index + 1 (0: empty), at most half full. */
typedef struct {
    size_t *slot;
    size_t cap; /* a power of two */
} uri_set_t;

static size_t uri_hash(const char *s)
{
    uint64_t h = 14695981039346656037u; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211u;
    return (size_t)(h ^ (h >> 32));
}

/* The slot where uri is, or the empty one where it would go. */
static size_t *uri_find(const uri_set_t *set, const mcsec_kms_roster_row_t *rows, const char *uri)
{
    size_t i = uri_hash(uri) & (set->cap - 1);
    while (set->slot[i] != 0 && strcmp(rows[set->slot[i] - 1].uri, uri) != 0)
        i = (i + 1) & (set->cap - 1);
    return &set->slot[i];
}

/* Makes room for one more of count rows; 0 if out of memory. */
static int uri_room(uri_set_t *set, const mcsec_kms_roster_row_t *rows, size_t count)
{
    if (2 * (count + 1) <= set->cap)
        return 1;
    uri_set_t bigger = {NULL, set->cap ? 2 * set->cap : 64};
    if ((bigger.slot = calloc(bigger.cap, sizeof *bigger.slot)) == NULL)
        return 0;
    for (size_t i = 0; i < count; i++)
        *uri_find(&bigger, rows, rows[i].uri) = i + 1;
    free(set->slot);
    *set = bigger;
    return 1;
}

mcsec_status_t mcsec_kms_roster_read(const char *path, mcsec_kms_roster_row_t **rows, size_t *n)
{
    mcsec_status_t rc = MCSEC_ERR_IO;
    char *line = malloc(LINE_MAX_LEN + 2);
    mcsec_kms_roster_row_t *v = NULL;
    uri_set_t seen = {NULL, 0};
    size_t count = 0, cap = 0, lineno = 0, bad = 0;
    char first_bad[300] = "";
    FILE *f = NULL;
    kms_clear_error();
    *rows = NULL;
    *n = 0;
    if (line == NULL) {
        rc = MCSEC_ERR_NOMEM;
        goto out;
    }
    if ((f = fopen(path, "r")) == NULL) {
        kms_error("cannot open roster %s: %s", path, strerror(errno));
        goto out;
    }
    while (fgets(line, LINE_MAX_LEN + 2, f) != NULL) {
        lineno++;
        size_t ll = strlen(line);
        if (ll > LINE_MAX_LEN && line[ll - 1] != '\n') {
            if (!bad++)
                snprintf(first_bad, sizeof first_bad, "line %zu: longer than %d octets", lineno,
                         LINE_MAX_LEN);
            int ch;
            while ((ch = fgetc(f)) != EOF && ch != '\n')
                ;
            continue;
        }
        char *t = trim(line);
        if (*t == 0 || *t == '#')
            continue;
        if (lineno == 1 && strcmp(t, "uri,role,groups") == 0)
            continue;
        if (count == cap) {
            size_t nc = cap ? 2 * cap : 64;
            mcsec_kms_roster_row_t *nv = realloc(v, nc * sizeof *nv);
            if (nv == NULL) {
                rc = MCSEC_ERR_NOMEM;
                goto out;
            }
            v = nv;
            cap = nc;
        }
        if (!uri_room(&seen, v, count)) {
            rc = MCSEC_ERR_NOMEM;
            goto out;
        }
        const char *why = parse_row(t, &v[count]);
        if (why == no_memory) {
            rc = MCSEC_ERR_NOMEM;
            goto out;
        }
        size_t *slot = why == NULL ? uri_find(&seen, v, v[count].uri) : NULL;
        if (slot != NULL && *slot != 0) {
            why = "the URI appears twice";
            free((void *)v[count].groups);
        }
        if (why != NULL) {
            if (!bad++)
                snprintf(first_bad, sizeof first_bad, "line %zu: %s", lineno, why);
            continue;
        }
        *slot = ++count;
    }
    if (ferror(f)) {
        kms_error("cannot read roster %s: %s", path, strerror(errno));
        goto out;
    }
    rc = MCSEC_ERR_BAD_INPUT;
    if (bad > 0) {
        kms_error("roster %s %s (%zu bad row%s in all): fix the file and run again", path,
                  first_bad, bad, bad == 1 ? "" : "s");
        goto out;
    }
    if (count == 0) {
        kms_error("roster %s has no rows: one line per handset, uri,role,groups", path);
        goto out;
    }
    *rows = v;
    *n = count;
    v = NULL;
    count = 0;
    rc = MCSEC_OK;
out:
    if (rc == MCSEC_ERR_NOMEM)
        kms_error("roster %s: out of memory after %zu rows", path, count);
    if (f != NULL)
        fclose(f);
    free(line);
    free(seen.slot);
    mcsec_kms_roster_free(v, count);
    return rc;
}

/* --- Provisioning -------------------------------------------------------------------------- */

typedef struct {
    const mcsec_kms_t *kms;
    const mcsec_kms_roster_row_t *rows;
    mcsec_kms_credential_t *creds; /* secure memory */
    char (*codes)[MCSEC_BUNDLE_CODE_LEN + 1]; /* secure memory */
    char (*files)[256 + 8];
    const char *out_dir;
    uint64_t period_no;
    size_t n;
    atomic_size_t next, done;
    atomic_int failed;
    pthread_mutex_t lock;
    mcsec_status_t first_rc;
    char first_error[512];
} job_t;

/* The device record of a row, made when needed rather than kept for every row (4 KiB each). */
static void device_of(const mcsec_kms_roster_row_t *row, const mcsec_kms_credential_t *cred,
                      mcsec_kms_device_t *d)
{
    mcsec_kms_enroll_t req = {row->uri, row->role, row->groups, row->n_groups, NULL};
    kms_device_from(&req, cred->curve_public, d);
    d->id = cred->device_id;
}

static void *provision_main(void *arg)
{
    job_t *j = arg;
    size_t plen = strlen(j->out_dir) + 256 + 16;
    char *path = malloc(plen);
    for (;;) {
        size_t i = atomic_fetch_add(&j->next, 1);
        if (i >= j->n || atomic_load(&j->failed) || path == NULL)
            break;
        snprintf(path, plen, "%s/%s", j->out_dir, j->files[i]);
        mcsec_kms_device_t d;
        device_of(&j->rows[i], &j->creds[i], &d);
        mcsec_status_t rc = kms_bundle_write(j->kms, NULL, &d, &j->creds[i],
                                             j->period_no, path, j->codes[i]);
        mcsec_memzero(j->creds[i].curve_secret, sizeof j->creds[i].curve_secret);
        if (rc != MCSEC_OK) {
            pthread_mutex_lock(&j->lock);
            if (!atomic_load(&j->failed)) {
                j->first_rc = rc;
                snprintf(j->first_error, sizeof j->first_error, "%s", mcsec_kms_last_error());
            }
            atomic_store(&j->failed, 1);
            pthread_mutex_unlock(&j->lock);
            break;
        }
        atomic_fetch_add(&j->done, 1);
    }
    free(path);
    return NULL;
}

static mcsec_status_t write_summary(job_t *j)
{
    size_t cap = 64, len = 0;
    for (size_t i = 0; i < j->n; i++)
        cap += strlen(j->rows[i].uri) + strlen(j->files[i]) + MCSEC_BUNDLE_CODE_LEN + 4;
    char *buf = mcsec_secure_alloc(cap), *path = malloc(strlen(j->out_dir) + 32);
    mcsec_status_t rc = MCSEC_ERR_NOMEM;
    if (buf == NULL || path == NULL)
        goto out;
    for (size_t i = 0; i < j->n; i++)
        len += (size_t)snprintf(buf + len, cap - len, "%s\t%s\t%s\n", j->rows[i].uri,
                                j->files[i], j->codes[i]);
    sprintf(path, "%s/%s", j->out_dir, SUMMARY_NAME);
    rc = mcsec_seal_write_file(path, (const uint8_t *)buf, len, 0600, 1);
    if (rc != MCSEC_OK)
        kms_error("cannot write %s: %s", path, strerror(errno));
out:
    mcsec_secure_free(buf);
    free(path);
    return rc;
}

/* 1 if name exists in dir. */
static int exists_in(const char *dir, const char *name)
{
    char p[1024];
    struct stat st;
    snprintf(p, sizeof p, "%s/%s", dir, name);
    return lstat(p, &st) == 0;
}

mcsec_status_t mcsec_kms_provision(mcsec_kms_t *kms, const mcsec_kms_roster_row_t *rows, size_t n,
                                   const char *out_dir, uint64_t at_ntp, unsigned threads,
                                   mcsec_kms_progress_fn progress, void *user)
{
    mcsec_status_t rc;
    job_t j;
    pthread_t *tids = NULL;
    unsigned started = 0;
    int in_tx = 0;
    kms_clear_error();
    memset(&j, 0, sizeof j);
    if (kms == NULL || rows == NULL || n == 0 || out_dir == NULL || strlen(out_dir) > 700) {
        kms_error("provision: no KMS, rows or output directory given");
        return MCSEC_ERR_BAD_INPUT;
    }
    if ((rc = mcsec_kms_period_at(kms, at_ntp, &j.period_no)) != MCSEC_OK)
        return rc;
    if (mkdir(out_dir, 0700) != 0 && errno != EEXIST) {
        kms_error("cannot create %s: %s (its parent must exist)", out_dir, strerror(errno));
        return MCSEC_ERR_IO;
    }
    j.kms = kms;
    j.rows = rows;
    j.n = n;
    j.out_dir = out_dir;
    pthread_mutex_init(&j.lock, NULL);
    rc = MCSEC_ERR_NOMEM;
    j.files = calloc(n, sizeof *j.files);
    j.creds = mcsec_secure_alloc(n * sizeof *j.creds);
    j.codes = mcsec_secure_alloc(n * sizeof *j.codes);
    if (j.files == NULL || j.creds == NULL || j.codes == NULL)
        goto out;

    /* Names and credentials; nothing is written if any bundle or the summary exists. */
    rc = MCSEC_ERR_IO;
    if (exists_in(out_dir, SUMMARY_NAME)) {
        kms_error("%s/%s exists: provision into an empty directory", out_dir, SUMMARY_NAME);
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        mcsec_kms_enroll_t req = {rows[i].uri, rows[i].role, rows[i].groups, rows[i].n_groups,
                                  NULL};
        if ((rc = kms_check_enroll(&req)) != MCSEC_OK)
            goto out;
        mcsec_kms_safe_name(rows[i].uri, j.files[i]);
        strcat(j.files[i], BUNDLE_EXT);
        if (exists_in(out_dir, j.files[i])) {
            kms_error("%s/%s exists: provision into an empty directory", out_dir, j.files[i]);
            rc = MCSEC_ERR_IO;
            goto out;
        }
        if (zmq_curve_keypair(j.creds[i].curve_public, j.creds[i].curve_secret) != 0) {
            kms_error("CURVE key generation failed: libzmq was built without CURVE");
            rc = MCSEC_ERR_UNSUPPORTED;
            goto out;
        }
    }

    /* All enrolments and issuance audit rows in one transaction. */
    if ((rc = kms->ops->begin(kms->store)) != MCSEC_OK)
        goto out;
    in_tx = 1;
    for (size_t i = 0; i < n; i++) {
        mcsec_kms_device_t d;
        device_of(&rows[i], &j.creds[i], &d);
        if ((rc = kms_enroll_on(kms->store, kms->ops, &d)) != MCSEC_OK ||
            (rc = kms_audit(kms->store, kms->ops, d.id, d.uri,
                            (int64_t)j.period_no, "issue-bundle", MCSEC_OK, 0,
                            "periods n and n+1")) != MCSEC_OK) {
            if (rc == MCSEC_ERR_POLICY)
                kms_error("roster row %zu (%s): its generated CURVE key collides: run again",
                          i + 1, rows[i].uri);
            goto out;
        }
        j.creds[i].device_id = d.id;
    }
    if ((rc = kms->ops->commit(kms->store)) != MCSEC_OK)
        goto out;
    in_tx = 0;

    /* Bundles, in parallel. */
    if (threads == 0)
        threads = (unsigned)sysconf(_SC_NPROCESSORS_ONLN);
    if (threads < 1 || threads > 64)
        threads = 1;
    if ((tids = calloc(threads, sizeof *tids)) == NULL) {
        rc = MCSEC_ERR_NOMEM;
        goto out;
    }
    for (; started < threads; started++)
        if (pthread_create(&tids[started], NULL, provision_main, &j) != 0)
            break;
    if (started == 0) {
        kms_error("cannot start provisioning threads");
        rc = MCSEC_ERR_NOMEM;
        goto out;
    }
    while (atomic_load(&j.done) < n && !atomic_load(&j.failed)) {
        if (progress != NULL)
            progress(user, atomic_load(&j.done), n);
        struct timespec ts = {0, 50 * 1000000L};
        nanosleep(&ts, NULL);
        if (atomic_load(&j.next) >= n + started) /* every thread has finished its last row */
            break;
    }
    for (unsigned t = 0; t < started; t++)
        pthread_join(tids[t], NULL);
    started = 0;
    if (progress != NULL)
        progress(user, atomic_load(&j.done), n);
    if (atomic_load(&j.failed)) {
        rc = j.first_rc;
        kms_error("%s (%zu of %zu bundles written; the devices are enrolled: revoke them or "
                  "provision again into an empty directory)",
                  j.first_error, atomic_load(&j.done), n);
        goto out;
    }
    rc = write_summary(&j);
out:
    if (in_tx)
        kms->ops->rollback(kms->store);
    for (unsigned t = 0; t < started; t++)
        pthread_join(tids[t], NULL);
    free(tids);
    if (j.creds != NULL)
        mcsec_secure_free(j.creds);
    if (j.codes != NULL)
        mcsec_secure_free(j.codes);
    free(j.files);
    pthread_mutex_destroy(&j.lock);
    return rc;
}
