/* Shared helpers of the fault, load and hostile-peer tests (tests/faults/): how many
 * iterations to run, a seeded random generator (the seed is printed so that a failing run can
 * be replayed), a daemon's memory from /proc, scanning store files for secrets, damaging SQLite
 * files, running a tool to its exit with a resource limit, raw TCP peers that speak (broken)
 * ZMTP. The daemons themselves are spawned with the helpers of tests/integration/kms_test.h and
 * tests/groupmgr/gm_test.h. Include after test.h; build with _GNU_SOURCE (memmem, prlimit). */
#ifndef MCSEC_FAULTS_H
#define MCSEC_FAULTS_H

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#pragma GCC diagnostic ignored "-Wunused-function"

/* 1 in builds with AddressSanitizer: the memory bounds are looser there (shadow memory and the
 * quarantine of freed blocks count in the resident set). */
#if defined(__SANITIZE_ADDRESS__)
#define FX_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define FX_ASAN 1
#endif
#endif
#ifndef FX_ASAN
#define FX_ASAN 0
#endif

/* --- Parameters ----------------------------------------------------------------------------- */

/* The iteration count (or size): argv[1] if given, else $name, else def. */
static long fx_param(int argc, char **argv, const char *name, long def)
{
    const char *v = argc > 1 ? argv[1] : getenv(name);
    char *end = NULL;
    long n = v != NULL ? strtol(v, &end, 10) : def;
    if (v != NULL && (end == v || *end != 0 || n < 1)) {
        fprintf(stderr, "usage: %s [N]  (or %s=N): N must be a positive number\n", argv[0], name);
        exit(2);
    }
    return n;
}

static double fx_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void fx_sleep_ms(unsigned ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0)
        ;
}

/* --- Random points -------------------------------------------------------------------------- */

static uint64_t fx_rng_state;

/* Seeds from $MCSEC_FAULTS_SEED or the clock, and prints the seed. */
static void fx_seed(void)
{
    const char *s = getenv("MCSEC_FAULTS_SEED");
    fx_rng_state = s != NULL ? strtoull(s, NULL, 0) : (uint64_t)time(NULL) ^ (uint64_t)getpid() << 32;
    if (fx_rng_state == 0)
        fx_rng_state = 1;
    printf("seed %llu (MCSEC_FAULTS_SEED replays it)\n", (unsigned long long)fx_rng_state);
}

static uint64_t fx_rand(void)
{
    uint64_t x = fx_rng_state; /* xorshift64* */
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    fx_rng_state = x;
    return x * 2685821657736338717ull;
}

/* Uniform in [lo, hi]. */
static unsigned fx_between(unsigned lo, unsigned hi)
{
    return lo + (unsigned)(fx_rand() % (uint64_t)(hi - lo + 1));
}

/* --- Memory of a process --------------------------------------------------------------------- */

/* A field of /proc/PID/status in kB ("VmHWM": peak resident set, "VmRSS": now); -1 if none. */
static long fx_mem_kb(pid_t pid, const char *field)
{
    char path[64], line[256];
    size_t fl = strlen(field);
    long kb = -1;
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    while (f != NULL && fgets(line, sizeof line, f) != NULL)
        if (strncmp(line, field, fl) == 0 && line[fl] == ':')
            kb = strtol(line + fl + 1, NULL, 10);
    if (f != NULL)
        fclose(f);
    return kb;
}

static int fx_alive(pid_t pid)
{
    return pid > 0 && waitpid(pid, NULL, WNOHANG) == 0;
}

/* --- Secrets in store files ------------------------------------------------------------------ */

typedef struct {
    const char *what;
    uint8_t v[512];
    size_t len;
    int pieces; /* also look for every 16-octet piece on its own */
} fx_secret_t;

typedef struct {
    fx_secret_t *s;
    size_t n, cap;
} fx_secrets_t;

static void fx_secret_add_as(fx_secrets_t *l, const char *what, const void *v, size_t len,
                             int pieces)
{
    if (len == 0 || len > sizeof l->s[0].v)
        exit(2);
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 64;
        if ((l->s = realloc(l->s, l->cap * sizeof *l->s)) == NULL)
            exit(2);
    }
    fx_secret_t *s = &l->s[l->n++];
    s->what = what;
    memcpy(s->v, v, len);
    s->len = len;
    s->pieces = pieces;
}

static void fx_secret_add(fx_secrets_t *l, const char *what, const void *v, size_t len)
{
    fx_secret_add_as(l, what, v, len, 0);
}

/* A long-lived secret (a master secret, a data key): a partial copy counts too. */
static void fx_secret_add_pieces(fx_secrets_t *l, const char *what, const void *v, size_t len)
{
    fx_secret_add_as(l, what, v, len, 1);
}

static void fx_secrets_free(fx_secrets_t *l)
{
    if (l->s != NULL)
        memset(l->s, 0, l->cap * sizeof *l->s);
    free(l->s);
    memset(l, 0, sizeof *l);
}

static uint8_t *fx_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf = NULL;
    size_t n = 0, cap = 0, r;
    *len = 0;
    if (f == NULL)
        return NULL;
    do {
        if (n == cap && (buf = realloc(buf, (cap = cap ? 2 * cap : 65536) + 1)) == NULL)
            exit(2);
        r = fread(buf + n, 1, cap - n, f);
        n += r;
    } while (r > 0);
    fclose(f);
    buf[n] = 0; /* text files can be read as strings */
    *len = n;
    return buf;
}

static int fx_has(const uint8_t *hay, size_t n, const void *needle, size_t len)
{
    return hay != NULL && len > 0 && memmem(hay, n, needle, len) != NULL;
}

/* Counts the secrets of l found in the file path: each secret as octets and as lower- and
 * upper-case hex, and for those added with pieces every 16-octet piece of it on its own (so
 * that a partial copy counts too). Prints what was found. A missing file holds nothing. */
static size_t fx_scan_file(const char *path, const fx_secrets_t *l)
{
    size_t n = 0, found = 0;
    uint8_t *data = fx_read_file(path, &n);
    char hex[2 * sizeof l->s[0].v + 1], HEX[sizeof hex];
    for (size_t i = 0; data != NULL && i < l->n; i++) {
        const fx_secret_t *s = &l->s[i];
        int hit = fx_has(data, n, s->v, s->len);
        for (size_t k = 0; k < s->len; k++) {
            snprintf(hex + 2 * k, 3, "%02x", s->v[k]);
            snprintf(HEX + 2 * k, 3, "%02X", s->v[k]);
        }
        hit |= fx_has(data, n, hex, 2 * s->len) || fx_has(data, n, HEX, 2 * s->len);
        for (size_t off = 0; !hit && s->pieces && s->len > 16 && off + 16 <= s->len; off += 16)
            hit = fx_has(data, n, s->v + off, 16) || fx_has(data, n, hex + 2 * off, 32) ||
                  fx_has(data, n, HEX + 2 * off, 32);
        if (hit) {
            fprintf(stderr, "%s holds a secret in the clear: %s\n", path, s->what);
            found++;
        }
    }
    free(data);
    return found;
}

/* The same for a SQLite store: the database, its WAL, rollback journal and shared memory.
 * The files are read in a child process: closing a descriptor of a file drops every POSIX
 * lock the process holds on it, so reading them here would silently release the locks of this
 * process's own SQLite connections (and let another process reset the shared memory under
 * them). Returns the number of secrets found (at most 250). */
static size_t fx_scan_store(const char *db, const fx_secrets_t *l)
{
    static const char *const ext[] = {"", "-wal", "-journal", "-shm"};
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0)
        exit(2);
    if (pid == 0) {
        char path[1024];
        size_t found = 0;
        for (size_t i = 0; i < sizeof ext / sizeof ext[0]; i++) {
            snprintf(path, sizeof path, "%s%s", db, ext[i]);
            found += fx_scan_file(path, l);
        }
        _exit(found > 250 ? 250 : (int)found);
    }
    int st = 0;
    if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st))
        return 255;
    return (size_t)WEXITSTATUS(st);
}

/* --- SQLite files --------------------------------------------------------------------------- */

/* 1 if PRAGMA integrity_check says "ok" (read-only). */
static int fx_integrity_ok(const char *db)
{
    sqlite3 *h = NULL;
    sqlite3_stmt *q = NULL;
    int ok = sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
             sqlite3_prepare_v2(h, "PRAGMA integrity_check", -1, &q, NULL) == SQLITE_OK &&
             sqlite3_step(q) == SQLITE_ROW &&
             strcmp((const char *)sqlite3_column_text(q, 0), "ok") == 0;
    if (!ok)
        fprintf(stderr, "integrity_check of %s: %s\n", db,
                q != NULL && sqlite3_column_text(q, 0) ? (const char *)sqlite3_column_text(q, 0)
                                                       : sqlite3_errmsg(h));
    sqlite3_finalize(q);
    sqlite3_close(h);
    return ok;
}

/* Runs one statement on db (read-write); 1 on success. */
static int fx_sql(const char *db, const char *stmt)
{
    sqlite3 *h = NULL;
    char *err = NULL;
    int ok = sqlite3_open(db, &h) == SQLITE_OK &&
             sqlite3_exec(h, stmt, NULL, NULL, &err) == SQLITE_OK;
    if (!ok)
        fprintf(stderr, "%s: %s\n", stmt, err != NULL ? err : sqlite3_errmsg(h));
    sqlite3_free(err);
    sqlite3_close(h);
    return ok;
}

/* The integer a one-row query returns (-1 on failure). */
static long long fx_sql_int(const char *db, const char *query)
{
    sqlite3 *h = NULL;
    sqlite3_stmt *q = NULL;
    long long v = -1;
    if (sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
        sqlite3_prepare_v2(h, query, -1, &q, NULL) == SQLITE_OK && sqlite3_step(q) == SQLITE_ROW)
        v = sqlite3_column_int64(q, 0);
    else
        fprintf(stderr, "%s: %s\n", query, sqlite3_errmsg(h));
    sqlite3_finalize(q);
    sqlite3_close(h);
    return v;
}

/* Overwrites page `page` (1-based) of db with random octets; its b-tree page type octet (at 100
 * on page 1, else 0) becomes 0xA5, which no page type has, so SQLite must see the damage on the
 * first read of the page. The file must have been checkpointed (no WAL), and this process must
 * have no SQLite connection to it (see fx_scan_store). */
static int fx_damage_page(const char *db, long page, long page_size)
{
    FILE *f = fopen(db, "r+b");
    if (f == NULL || fseek(f, (page - 1) * page_size, SEEK_SET) != 0) {
        if (f != NULL)
            fclose(f);
        return 0;
    }
    for (long i = 0; i < page_size; i++) {
        int b = (int)(fx_rand() & 0xff);
        if (i == (page == 1 ? 100 : 0))
            b = 0xA5;
        fputc(b, f);
    }
    return fclose(f) == 0;
}

/* Copies a file (no SQLite connection of this process may be open on either). */
static void fx_copy(const char *from, const char *to)
{
    size_t n = 0;
    uint8_t *d = fx_read_file(from, &n);
    FILE *f = fopen(to, "wb");
    if (d == NULL || f == NULL || fwrite(d, 1, n, f) != n || fclose(f) != 0)
        exit(2);
    chmod(to, 0600);
    free(d);
}

/* --- Tools run to their exit ------------------------------------------------------------------ */

typedef struct {
    int status;         /* exit status, or 128 + signal */
    int signaled;
    char out[8192];     /* stdout */
    char err[8192];     /* stderr */
    size_t err_lines;
} fx_run_t;

/* Appends what fd has to buf (NUL-terminated, at most cap - 1 octets kept); -1 at its end. */
static int fx_take(int fd, char *buf, size_t cap)
{
    char tmp[4096];
    ssize_t r = read(fd, tmp, sizeof tmp);
    if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR))
        return -1;
    size_t have = strlen(buf);
    if (r > 0 && have + 1 < cap) {
        size_t n = (size_t)r < cap - 1 - have ? (size_t)r : cap - 1 - have;
        memcpy(buf + have, tmp, n);
        buf[have + n] = 0;
    }
    return 0;
}

/* Runs argv (argv[0]: the program) with env_pass as MCSEC_PASSPHRASE, RLIMIT_FSIZE set to
 * fsize octets if non-zero (SIGXFSZ ignored, so that writes past it fail with EFBIG as on a
 * full disk), for at most timeout_s seconds (then SIGKILL). stdout and stderr are collected
 * through pipes (which the limit does not apply to). */
static void fx_run(const char *const *argv, const char *env_pass, rlim_t fsize, int timeout_s,
                   fx_run_t *r)
{
    int po[2], pe[2];
    memset(r, 0, sizeof *r);
    if (pipe(po) != 0 || pipe(pe) != 0)
        exit(2);
    pid_t pid = fork();
    if (pid < 0)
        exit(2);
    if (pid == 0) {
        dup2(po[1], 1);
        dup2(pe[1], 2);
        close(po[0]);
        close(pe[0]);
        if (env_pass != NULL)
            setenv("MCSEC_PASSPHRASE", env_pass, 1);
        if (fsize != 0) {
            struct rlimit rl = {fsize, RLIM_INFINITY};
            signal(SIGXFSZ, SIG_IGN);
            if (setrlimit(RLIMIT_FSIZE, &rl) != 0)
                _exit(126);
        }
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    close(po[1]);
    close(pe[1]);
    int fds[2] = {po[0], pe[0]}, st = 0;
    char *bufs[2] = {r->out, r->err};
    size_t caps[2] = {sizeof r->out, sizeof r->err};
    double end = fx_now() + timeout_s;
    while (fds[0] >= 0 || fds[1] >= 0) {
        if (fx_now() > end) {
            kill(pid, SIGKILL);
            break;
        }
        struct pollfd p[2] = {{fds[0], POLLIN, 0}, {fds[1], POLLIN, 0}}; /* -1: ignored */
        if (poll(p, 2, 100) <= 0)
            continue;
        for (int i = 0; i < 2; i++)
            if (fds[i] >= 0 && (p[i].revents & (POLLIN | POLLHUP)) &&
                fx_take(fds[i], bufs[i], caps[i]) < 0) {
                close(fds[i]);
                fds[i] = -1;
            }
    }
    for (int i = 0; i < 2; i++)
        if (fds[i] >= 0)
            close(fds[i]);
    waitpid(pid, &st, 0);
    r->signaled = WIFSIGNALED(st);
    r->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    for (const char *c = r->err; *c; c++)
        r->err_lines += *c == '\n';
}

/* Sets the soft RLIMIT_FSIZE of a running process (same user; the hard limit stays). 0 ok. */
static int fx_fsize(pid_t pid, rlim_t soft)
{
    struct rlimit rl = {soft, RLIM_INFINITY};
    return prlimit(pid, RLIMIT_FSIZE, &rl, NULL);
}

/* "Disk full" for the tests: no file may grow past its first octet. Stricter than a full disk
 * (where writes into blocks a file already has still work): every write a store makes fails,
 * so each write path meets the error. */
#define FX_DISK_FULL ((rlim_t)1)

/* A daemon's stderr through a named pipe (give its path as the daemon's error file): unlike a
 * file it is not subject to the daemon's RLIMIT_FSIZE. The reader is opened first, so the
 * daemon's open does not wait; drain it often enough (fx_log_has does) that the daemon never
 * blocks on a full pipe. */
typedef struct {
    char path[1024];
    int fd;
    char *text;
    size_t n, cap;
} fx_log_t;

static void fx_log_open(fx_log_t *l, const char *path)
{
    memset(l, 0, sizeof *l);
    snprintf(l->path, sizeof l->path, "%s", path);
    if (mkfifo(path, 0600) != 0 || (l->fd = open(path, O_RDONLY | O_NONBLOCK)) < 0)
        exit(2);
    if ((l->text = calloc(1, l->cap = 65536)) == NULL)
        exit(2);
}

static void fx_log_drain(fx_log_t *l)
{
    char tmp[4096];
    ssize_t r;
    while ((r = read(l->fd, tmp, sizeof tmp)) > 0) {
        if (l->n + (size_t)r + 1 > l->cap && (l->text = realloc(l->text, l->cap *= 4)) == NULL)
            exit(2);
        memcpy(l->text + l->n, tmp, (size_t)r);
        l->n += (size_t)r;
        l->text[l->n] = 0;
    }
}

/* 1 if the daemon wrote text (waits up to timeout_ms for it). */
static int fx_log_has(fx_log_t *l, const char *text, unsigned timeout_ms)
{
    double end = fx_now() + timeout_ms / 1000.0;
    do {
        fx_log_drain(l);
        if (strstr(l->text, text) != NULL)
            return 1;
        fx_sleep_ms(20);
    } while (fx_now() < end);
    return 0;
}

/* The first line of the log holding text ("" if none). */
static const char *fx_log_line(fx_log_t *l, const char *text, char *line, size_t cap)
{
    fx_log_drain(l);
    const char *p = strstr(l->text, text);
    line[0] = 0;
    if (p != NULL) {
        while (p > l->text && p[-1] != '\n')
            p--;
        snprintf(line, cap, "%.*s", (int)strcspn(p, "\n"), p);
    }
    return line;
}

static void fx_log_close(fx_log_t *l)
{
    if (l->fd > 0)
        close(l->fd);
    unlink(l->path);
    free(l->text);
    memset(l, 0, sizeof *l);
}

/* --- Raw TCP peers ---------------------------------------------------------------------------- */

/* A TCP connection to "tcp://127.0.0.1:PORT" (-1 on failure); with nonblock, connect is only
 * started (many at once do not wait for each other in the listener's backlog). */
static int fx_tcp_open(const char *endpoint, int nonblock)
{
    const char *colon = strrchr(endpoint, ':');
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)atoi(colon != NULL ? colon + 1 : "0"));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int fd = socket(AF_INET, SOCK_STREAM | (nonblock ? SOCK_NONBLOCK : 0), 0);
    if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) != 0 &&
        !(nonblock && errno == EINPROGRESS)) {
        close(fd);
        fd = -1;
    }
    return fd;
}

static int fx_tcp(const char *endpoint)
{
    return fx_tcp_open(endpoint, 0);
}

static int fx_send_all(int fd, const void *p, size_t n)
{
    const uint8_t *b = p;
    while (n > 0) {
        ssize_t w = send(fd, b, n, MSG_NOSIGNAL);
        if (w <= 0)
            return -1;
        b += w;
        n -= (size_t)w;
    }
    return 0;
}

/* A ZMTP 3.0 greeting (64 octets): signature, version 3.0, mechanism, as-server 0. */
static void fx_greeting(uint8_t g[64], const char *mechanism)
{
    memset(g, 0, 64);
    g[0] = 0xFF;
    g[9] = 0x7F;
    g[10] = 3;
    g[11] = 0;
    memcpy(g + 12, mechanism, strlen(mechanism) < 20 ? strlen(mechanism) : 20);
}

/* Waits up to timeout_ms for the peer to close the connection (reading and dropping whatever
 * it sends). 1 if it closed. */
static int fx_closed_by_peer(int fd, int timeout_ms)
{
    double end = fx_now() + timeout_ms / 1000.0;
    uint8_t buf[512];
    while (fx_now() < end) {
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, 50) <= 0)
            continue;
        ssize_t r = recv(fd, buf, sizeof buf, 0);
        if (r == 0 || (r < 0 && errno != EINTR && errno != EAGAIN))
            return 1;
    }
    return 0;
}

#endif
