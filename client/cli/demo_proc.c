/* mcsec demo: the working directory, the passphrase and the child processes (the real
 * mcsec-kms and mcsec-groupmgr, run with argv arrays, never through a shell). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "demo.h"
#include "mcsec/secmem.h"

extern char **environ;

#define PASS_RAW 24
#define PASS_VAR "MCSEC_PASSPHRASE="

/* The command the errors name: "demo", "relay demo", "direct demo" (demo_env_init). */
static const char *demo_cmd = DEMO_CMD;

/* --- The tools -------------------------------------------------------------------------- */

static int executable(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, X_OK) == 0;
}

/* name beside the running executable, else the first one in PATH. */
static int find_tool(const char *name, char out[PATH_MAX]) {
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n > 0) {
        self[n] = 0;
        char *slash = strrchr(self, '/');
        if (slash != NULL) {
            *slash = 0;
            if (snprintf(out, PATH_MAX, "%s/%s", self, name) < PATH_MAX && executable(out))
                return CLI_OK;
        }
    }
    const char *path = getenv("PATH");
    while (path != NULL && *path) {
        size_t len = strcspn(path, ":");
        if (len > 0 && snprintf(out, PATH_MAX, "%.*s/%s", (int)len, path, name) < PATH_MAX &&
            executable(out))
            return CLI_OK;
        path += len + (path[len] == ':');
    }
    cli_error(demo_cmd,
              "cannot find %s beside this mcsec nor in PATH; build it (make) or "
              "install it",
              name);
    return CLI_FAIL;
}

/* --- Working directory and passphrase --------------------------------------------------- */

static int make_dir(demo_env_t *e, const char *keep_dir) {
    if (keep_dir != NULL) {
        if (mkdir(keep_dir, 0700) != 0) {
            cli_error(demo_cmd,
                      "cannot create --keep %s: %s; give a directory that does not "
                      "exist yet",
                      keep_dir, strerror(errno));
            return CLI_FAIL;
        }
        char full[PATH_MAX];
        e->keep = 1;
        if (realpath(keep_dir, full) == NULL ||
            snprintf(e->dir, sizeof e->dir, "%s", full) >= (int)sizeof e->dir) {
            cli_error(demo_cmd,
                      "--keep %s: the path is too long or cannot be resolved; give a "
                      "shorter one",
                      keep_dir);
            return CLI_FAIL;
        }
        return CLI_OK;
    }
    const char *tmp = getenv("TMPDIR");
    if (tmp == NULL || tmp[0] == 0) tmp = "/tmp";
    if (snprintf(e->dir, sizeof e->dir, "%s/mcsec-demo.XXXXXX", tmp) >= (int)sizeof e->dir ||
        mkdtemp(e->dir) == NULL) {
        cli_error(demo_cmd,
                  "cannot create a temporary directory in %s: %s; set TMPDIR to a "
                  "writable directory",
                  tmp, strerror(errno));
        e->dir[0] = 0;
        return CLI_FAIL;
    }
    return CLI_OK;
}

/* A random passphrase (hex), and the children's environment: ours with it in place of any
 * MCSEC_PASSPHRASE. */
static int make_env(demo_env_t *e) {
    uint8_t raw[PASS_RAW];
    size_t var = strlen(PASS_VAR), n = 0;
    int ret = CLI_FAIL;
    e->env_pass = mcsec_secure_alloc(var + 2 * PASS_RAW + 1);
    if (e->env_pass == NULL || mcsec_random_bytes(raw, sizeof raw) != MCSEC_OK) {
        cli_error(demo_cmd, "cannot make a passphrase (no memory or randomness)");
        goto out;
    }
    memcpy(e->env_pass, PASS_VAR, var);
    for (size_t i = 0; i < PASS_RAW; i++)
        snprintf(e->env_pass + var + 2 * i, 3, "%02x", raw[i]);
    e->pass = e->env_pass + var;
    e->pass_len = 2 * PASS_RAW;
    for (char **v = environ; *v != NULL; v++)
        n++;
    if ((e->envp = calloc(n + 2, sizeof *e->envp)) == NULL) {
        cli_error(demo_cmd, "out of memory");
        goto out;
    }
    n = 0;
    for (char **v = environ; *v != NULL; v++)
        if (strncmp(*v, PASS_VAR, var) != 0) e->envp[n++] = *v;
    e->envp[n] = e->env_pass;
    ret = CLI_OK;
out:
    mcsec_memzero(raw, sizeof raw);
    return ret;
}

int demo_env_init(demo_env_t *e, const char *cmd, const char *keep_dir, unsigned tools) {
    memset(e, 0, sizeof *e);
    demo_cmd = cmd;
    if (find_tool("mcsec-kms", e->kms_bin) != CLI_OK ||
        ((tools & DEMO_WITH_GROUPMGR) && find_tool("mcsec-groupmgr", e->gm_bin) != CLI_OK))
        return CLI_FAIL;
    if (make_dir(e, keep_dir) != CLI_OK) return CLI_FAIL;
    return make_env(e);
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path) != 0 && errno != ENOENT ? -1 : 0;
}

void demo_env_free(demo_env_t *e) {
    demo_stop_child(&e->gm);
    demo_stop_child(&e->kms2);
    demo_stop_child(&e->kms);
    if (e->env_pass != NULL) {
        mcsec_memzero(e->env_pass, strlen(e->env_pass));
        mcsec_secure_free(e->env_pass);
    }
    e->env_pass = NULL;
    e->pass = NULL;
    free(e->envp);
    e->envp = NULL;
    if (e->dir[0] != 0 && !e->keep && nftw(e->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS) != 0)
        cli_error(demo_cmd,
                  "could not remove the working directory %s completely; remove it "
                  "by hand",
                  e->dir);
}

/* --- Children --------------------------------------------------------------------------- */

/* argv[0] and argv[1] name the run: "mcsec-kms init". */
static void name_child(demo_env_t *e, demo_child_t *c, char *const argv[]) {
    const char *tool = strrchr(argv[0], '/');
    tool = tool != NULL ? tool + 1 : argv[0];
    unsigned run = __atomic_add_fetch(&e->runs, 1, __ATOMIC_RELAXED); /* jobs run in threads */
    snprintf(c->what, sizeof c->what, "%s %s", tool, argv[1] != NULL ? argv[1] : "");
    snprintf(c->out, sizeof c->out, "%s/log/%02u-%s-%s.out", e->dir, run, tool,
             argv[1] != NULL ? argv[1] : "");
    snprintf(c->err, sizeof c->err, "%s/log/%02u-%s-%s.err", e->dir, run, tool,
             argv[1] != NULL ? argv[1] : "");
}

/* In the child: only async-signal-safe calls until execve. The child gets SIGTERM if the demo
 * dies without stopping it. */
static void exec_child(const demo_env_t *e, const demo_child_t *c, char *const argv[]) {
    int in = open("/dev/null", O_RDONLY);
    int out = open(c->out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    int err = open(c->err, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (in < 0 || out < 0 || err < 0 || dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(err, 2) < 0)
        _exit(127);
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    execve(argv[0], argv, e->envp);
    _exit(127);
}

static int spawn(demo_env_t *e, demo_child_t *c, char *const argv[]) {
    char log[PATH_MAX];
    snprintf(log, sizeof log, "%s/log", e->dir);
    if (mkdir(log, 0700) != 0 && errno != EEXIST) {
        cli_error(demo_cmd, "cannot create %s: %s", log, strerror(errno));
        return CLI_FAIL;
    }
    name_child(e, c, argv);
    fflush(NULL);
    c->pid = fork();
    if (c->pid < 0) {
        c->pid = 0;
        cli_error(demo_cmd, "cannot start %s: %s", c->what, strerror(errno));
        return CLI_FAIL;
    }
    if (c->pid == 0) exec_child(e, c, argv);
    return CLI_OK;
}

/* One line for a child that failed: its first stderr line. */
static void child_failed(const demo_child_t *c, int status) {
    char line[512] = "";
    FILE *f = fopen(c->err, "r");
    if (f != NULL) {
        if (fgets(line, sizeof line, f) == NULL) line[0] = 0;
        fclose(f);
    }
    line[strcspn(line, "\n")] = 0;
    if (WIFSIGNALED(status))
        cli_error(demo_cmd, "%s was killed by signal %d%s", c->what, WTERMSIG(status),
                  demo_stop ? " (interrupted)" : "; run again with --keep DIR to see its log");
    else if (WIFEXITED(status) && WEXITSTATUS(status) == 127 && line[0] == 0)
        cli_error(demo_cmd, "%s could not be executed; check the installation", c->what);
    else
        cli_error(demo_cmd, "%s failed (exit %d): %s", c->what, WEXITSTATUS(status),
                  line[0] ? line : "no message; run again with --keep DIR to see its log");
}

static int wait_child(pid_t pid, int *status) {
    pid_t r;
    while ((r = waitpid(pid, status, 0)) < 0 && errno == EINTR) {
    }
    return r == pid;
}

int demo_run(demo_env_t *e, char *const argv[], char out[PATH_MAX]) {
    demo_child_t c;
    int status = 0;
    memset(&c, 0, sizeof c);
    if (demo_stop) return CLI_FAIL; /* interrupted: said once at the end */
    if (spawn(e, &c, argv) != CLI_OK) return CLI_FAIL;
    if (!wait_child(c.pid, &status)) {
        cli_error(demo_cmd, "lost track of %s: %s", c.what, strerror(errno));
        return CLI_FAIL;
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        if (!demo_stop) child_failed(&c, status);
        return CLI_FAIL;
    }
    if (out != NULL) memcpy(out, c.out, sizeof c.out);
    return CLI_OK;
}

int demo_file_value(const char *path, const char *prefix, char *out, size_t cap) {
    char line[1024];
    size_t plen = strlen(prefix);
    int found = 0;
    FILE *f = fopen(path, "r");
    if (f == NULL) return 0;
    while (!found && fgets(line, sizeof line, f) != NULL) {
        /* Only whole lines: a daemon may be writing this one now. */
        if (strncmp(line, prefix, plen) != 0 || strchr(line, '\n') == NULL) continue;
        line[strcspn(line, "\r\n")] = 0;
        found = snprintf(out, cap, "%s", line + plen) < (int)cap;
    }
    mcsec_memzero(line, sizeof line); /* may have held a one-time code */
    fclose(f);
    return found;
}

int demo_start(demo_env_t *e, demo_child_t *c, char *const argv[], char *endpoint, size_t cap) {
    struct timespec t0, pause = {0, 20 * 1000 * 1000};
    int status = 0;
    if (spawn(e, c, argv) != CLI_OK) return CLI_FAIL;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    while (!demo_stop && demo_ms(&t0) < 60000) {
        if (demo_file_value(c->out, "serving ", endpoint, cap)) return CLI_OK;
        pid_t r = waitpid(c->pid, &status, WNOHANG);
        if (r == c->pid) {
            c->pid = 0;
            if (!demo_stop) child_failed(c, status);
            return CLI_FAIL;
        }
        nanosleep(&pause, NULL);
    }
    if (!demo_stop) /* interrupted: said once at the end */
        cli_error(demo_cmd,
                  "%s printed no 'serving' line within 60 s; the machine may be "
                  "overloaded, try again",
                  c->what);
    return CLI_FAIL;
}

int demo_stop_child(demo_child_t *c) {
    struct timespec t0, pause = {0, 10 * 1000 * 1000};
    int status = 0;
    if (c->pid <= 0) return -1;
    kill(c->pid, SIGTERM);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    pid_t r;
    while ((r = waitpid(c->pid, &status, WNOHANG)) == 0 && demo_ms(&t0) < 5000)
        nanosleep(&pause, NULL);
    if (r == 0) {
        kill(c->pid, SIGKILL);
        if (!wait_child(c->pid, &status)) status = 0;
    }
    c->pid = 0;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int demo_free_port(uint16_t *port) {
    struct sockaddr_in a;
    socklen_t len = sizeof a;
    int s = socket(AF_INET, SOCK_STREAM, 0), ok = 0;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (s >= 0 && bind(s, (struct sockaddr *)&a, sizeof a) == 0 &&
        getsockname(s, (struct sockaddr *)&a, &len) == 0) {
        *port = ntohs(a.sin_port);
        ok = 1;
    }
    if (s >= 0) close(s);
    if (!ok) cli_error(demo_cmd, "cannot find a free loopback port: %s", strerror(errno));
    return ok ? CLI_OK : CLI_FAIL;
}

/* --- Jobs on every core --------------------------------------------------------------------- */

typedef struct {
    pthread_mutex_t lock;
    size_t next, n;
    int failed;
    demo_job_fn job;
    void *ctx;
} pool_t;

static void *worker(void *arg) {
    pool_t *p = arg;
    for (;;) {
        pthread_mutex_lock(&p->lock);
        size_t i = p->next++;
        int stop = i >= p->n || p->failed || demo_stop;
        pthread_mutex_unlock(&p->lock);
        if (stop) return NULL;
        if (p->job(p->ctx, i) != CLI_OK) {
            pthread_mutex_lock(&p->lock);
            p->failed = 1;
            pthread_mutex_unlock(&p->lock);
        }
    }
}

size_t demo_workers(size_t n) {
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    size_t w = cores < 1 ? 1 : cores > 8 ? 8 : (size_t)cores;
    return n < w ? (n > 0 ? n : 1) : w;
}

int demo_parallel(size_t n, demo_job_fn job, void *ctx) {
    pool_t p = {.next = 0, .n = n, .failed = 0, .job = job, .ctx = ctx};
    pthread_t t[8];
    size_t started = 0, want = demo_workers(n) - 1; /* this thread is a worker too */
    pthread_mutex_init(&p.lock, NULL);
    while (started < want && pthread_create(&t[started], NULL, worker, &p) == 0)
        started++;
    worker(&p);
    for (size_t i = 0; i < started; i++)
        pthread_join(t[i], NULL);
    pthread_mutex_destroy(&p.lock);
    return p.failed || demo_stop || p.next < n ? CLI_FAIL : CLI_OK;
}
