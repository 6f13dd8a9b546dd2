/* Reading the keystore passphrase: --passphrase-file, then MCSEC_PASSPHRASE, then a prompt
 * on /dev/tty with echo off. Used by the mcsec CLI and the daemons. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "internal.h"
#include "mcsec/secmem.h"

/* Room for the longest passphrase, a "\r\n" and the NUL. */
#define PASS_CAP (MCSEC_PASSPHRASE_MAX + 3)

static mcsec_status_t check_len(size_t len, const char *source) {
    if (len < MCSEC_PASSPHRASE_MIN) {
        mcsec_ks_error("the passphrase from %s is empty", source);
        return MCSEC_ERR_BAD_LENGTH;
    }
    if (len > MCSEC_PASSPHRASE_MAX) {
        mcsec_ks_error("the passphrase from %s is longer than %d octets", source,
                       MCSEC_PASSPHRASE_MAX);
        return MCSEC_ERR_BAD_LENGTH;
    }
    return MCSEC_OK;
}

/* The first line of buf[0..n): drops "\n" / "\r\n"; returns its length. */
static size_t first_line(char *buf, size_t n) {
    char *nl = memchr(buf, '\n', n);
    if (nl != NULL) n = (size_t)(nl - buf);
    if (n > 0 && buf[n - 1] == '\r') n--;
    mcsec_memzero(buf + n, PASS_CAP - n);
    return n;
}

static mcsec_status_t from_file(const char *file, char *buf, size_t *len) {
    size_t n = 0;
    int fd = open(file, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        mcsec_ks_error("cannot open passphrase file %s: %s", file, strerror(errno));
        return MCSEC_ERR_IO;
    }
    /* Read up to the cap; only the first line counts. */
    while (n < PASS_CAP - 1) {
        ssize_t r = read(fd, buf + n, PASS_CAP - 1 - n);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) {
            mcsec_ks_error("cannot read passphrase file %s: %s", file, strerror(errno));
            close(fd);
            return MCSEC_ERR_IO;
        }
        if (r == 0) break;
        n += (size_t)r;
    }
    close(fd);
    *len = first_line(buf, n);
    if (*len == 0)
        mcsec_ks_error("passphrase file %s is empty: put the passphrase on its first line", file);
    return *len == 0 ? MCSEC_ERR_BAD_LENGTH : check_len(*len, file);
}

/* --- Terminal prompt ------------------------------------------------------------------- */

static volatile sig_atomic_t caught_signal;

static void on_signal(int sig) {
    caught_signal = sig;
}

static const int prompt_signals[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};
#define NSIG_PROMPT (sizeof prompt_signals / sizeof prompt_signals[0])

/* One line from the terminal fd with echo off. An interrupting signal restores the
 * terminal and is then re-raised, so Ctrl-C never leaves echo disabled. */
static mcsec_status_t prompt_line(int fd, const char *prompt, char *buf, size_t *len) {
    struct termios old, quiet;
    struct sigaction sa, saved[NSIG_PROMPT];
    mcsec_status_t rc = MCSEC_ERR_IO;
    size_t n = 0;
    int too_long = 0;
    if (tcgetattr(fd, &old) != 0) {
        mcsec_ks_error("no passphrase: give --passphrase-file FILE or set MCSEC_PASSPHRASE "
                       "(no terminal to ask on)");
        return MCSEC_ERR_BAD_INPUT;
    }
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal; /* no SA_RESTART: read() returns EINTR */
    sigemptyset(&sa.sa_mask);
    caught_signal = 0;
    for (size_t i = 0; i < NSIG_PROMPT; i++)
        sigaction(prompt_signals[i], &sa, &saved[i]);
    quiet = old;
    quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHOE | ECHOK);
    quiet.c_lflag |= ECHONL | ICANON;
    if (tcsetattr(fd, TCSAFLUSH, &quiet) != 0) {
        mcsec_ks_error("cannot turn off echo on the terminal: %s", strerror(errno));
        goto out;
    }
    if (write(fd, prompt, strlen(prompt)) < 0) goto restore;
    for (;;) {
        char c;
        ssize_t r = read(fd, &c, 1);
        if (r < 0 && errno == EINTR && caught_signal == 0) continue;
        if (r < 0) {
            mcsec_ks_error("cannot read the passphrase from the terminal: %s",
                           caught_signal ? "interrupted" : strerror(errno));
            goto restore;
        }
        if (r == 0 || c == '\n') break;
        if (n < PASS_CAP - 1)
            buf[n++] = c;
        else
            too_long = 1;
        c = 0;
    }
    *len = first_line(buf, n);
    rc = too_long ? MCSEC_ERR_BAD_LENGTH : check_len(*len, "the terminal");
    if (too_long)
        mcsec_ks_error("the passphrase typed is longer than %d octets", MCSEC_PASSPHRASE_MAX);
restore:
    (void)tcsetattr(fd, TCSAFLUSH, &old);
out:
    for (size_t i = 0; i < NSIG_PROMPT; i++)
        sigaction(prompt_signals[i], &saved[i], NULL);
    if (caught_signal != 0) raise(caught_signal);
    return rc;
}

static mcsec_status_t from_tty(const char *prompt, int confirm, char *buf, size_t *len) {
    mcsec_status_t rc;
    char *again = NULL;
    size_t again_len = 0;
    int fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (fd < 0) {
        mcsec_ks_error("no passphrase: give --passphrase-file FILE or set MCSEC_PASSPHRASE "
                       "(no terminal to ask on)");
        return MCSEC_ERR_BAD_INPUT;
    }
    if ((rc = prompt_line(fd, prompt != NULL ? prompt : "Passphrase: ", buf, len)) != MCSEC_OK ||
        !confirm)
        goto out;
    rc = MCSEC_ERR_NOMEM;
    if ((again = mcsec_secure_alloc(PASS_CAP)) == NULL) goto out;
    if ((rc = prompt_line(fd, "Repeat passphrase: ", again, &again_len)) != MCSEC_OK) goto out;
    if (again_len != *len || !mcsec_ct_equal(again, buf, *len)) {
        mcsec_ks_error("the two passphrases typed differ: try again");
        rc = MCSEC_ERR_BAD_INPUT;
    }
out:
    mcsec_secure_free(again);
    close(fd);
    return rc;
}

mcsec_status_t mcsec_passphrase_read(const char *passphrase_file, const char *prompt, int confirm,
                                     char **passphrase, size_t *len) {
    mcsec_ks_clear_error();
    mcsec_status_t rc;
    char *buf = NULL;
    size_t n = 0;
    if (passphrase == NULL || len == NULL) {
        mcsec_ks_error("passphrase: no output given");
        return MCSEC_ERR_BAD_INPUT;
    }
    *passphrase = NULL;
    *len = 0;
    if ((buf = mcsec_secure_alloc(PASS_CAP)) == NULL) {
        mcsec_ks_error("out of memory reading the passphrase");
        return MCSEC_ERR_NOMEM;
    }
    const char *env = getenv("MCSEC_PASSPHRASE");
    if (passphrase_file != NULL) {
        rc = from_file(passphrase_file, buf, &n);
    } else if (env != NULL) {
        n = strlen(env);
        rc = check_len(n, "MCSEC_PASSPHRASE");
        if (rc == MCSEC_OK) memcpy(buf, env, n);
    } else {
        rc = from_tty(prompt, confirm, buf, &n);
    }
    if (rc == MCSEC_OK) {
        buf[n] = 0;
        *passphrase = buf;
        *len = n;
        buf = NULL;
    }
    mcsec_secure_free(buf);
    return rc;
}

void mcsec_passphrase_free(char *passphrase) {
    mcsec_secure_free(passphrase);
}
