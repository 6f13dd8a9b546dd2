/* Helpers shared by the mcsec-groupmgr subcommands: opening the Group Manager with a
 * passphrase, errors, reading files, lists of URIs, printing times. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cli.h"
#include "mcsec/keystore.h" /* mcsec_passphrase_read */
#include "mcsec/secmem.h"

int gcli_open(const char *cmd, const char *dir, const char *passphrase_file,
              mcsec_groupmgr_t **gm) {
    char *pass = NULL;
    size_t len = 0;
    *gm = NULL;
    mcsec_status_t rc =
        mcsec_passphrase_read(passphrase_file, "Group Manager passphrase: ", 0, &pass, &len);
    if (rc != MCSEC_OK) {
        cli_error(cmd, "%s", mcsec_keystore_last_error());
        return CLI_FAIL;
    }
    rc = mcsec_groupmgr_open(gm, dir, pass, len);
    mcsec_passphrase_free(pass);
    return rc == MCSEC_OK ? CLI_OK : gcli_fail(cmd, rc);
}

int gcli_fail(const char *cmd, mcsec_status_t rc) {
    const char *why = mcsec_groupmgr_last_error();
    cli_error(cmd, "%s", why[0] ? why : mcsec_strerror(rc));
    return CLI_FAIL;
}

int gcli_unknown(const char *cmd, const char *arg) {
    cli_error(cmd, "unknown argument '%s'; see `mcsec-groupmgr %s --help`", arg, cmd);
    return CLI_USAGE;
}

int gcli_required(const char *cmd, const char *name, const char *value, const char *example) {
    if (value != NULL && value[0] != 0) return 1;
    cli_error(cmd, "%s is required, e.g. %s %s", name, name, example);
    return 0;
}

int gcli_read_file(const char *cmd, const char *what, const char *path, size_t max, char **buf,
                   size_t *len) {
    struct stat st;
    FILE *f = NULL;
    *buf = NULL;
    *len = 0;
    if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) {
        cli_error(cmd, "%s %s is not a readable file: check the path", what, path);
        return CLI_FAIL;
    }
    if (st.st_size <= 0 || (size_t)st.st_size > max) {
        cli_error(cmd, "%s %s is %s (at most %zu octets): check the file", what, path,
                  st.st_size <= 0 ? "empty" : "too large", max);
        return CLI_FAIL;
    }
    size_t n = (size_t)st.st_size;
    char *b = malloc(n + 1);
    if (b == NULL || (f = fopen(path, "rb")) == NULL || fread(b, 1, n, f) != n) {
        cli_error(cmd, "cannot read %s %s: %s", what, path, strerror(errno));
        if (f != NULL) fclose(f);
        free(b);
        return CLI_FAIL;
    }
    fclose(f);
    b[n] = 0;
    *buf = b;
    *len = n;
    return CLI_OK;
}

int gcli_list_add(gcli_list_t *l, const char *s) {
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 16;
        const char **v = realloc(l->v, cap * sizeof *v);
        if (v == NULL) return 0;
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n++] = s;
    return 1;
}

int gcli_list_file(const char *cmd, gcli_list_t *l, const char *path) {
    char *text = NULL;
    size_t len = 0;
    if (l->file_text != NULL) {
        cli_error(cmd, "--members-file given twice; give it once");
        return CLI_FAIL;
    }
    if (gcli_read_file(cmd, "--members-file", path, 64u << 20, &text, &len) != CLI_OK)
        return CLI_FAIL;
    l->file_text = text;
    for (char *line = text; line != NULL && *line;) {
        char *nl = strchr(line, '\n');
        if (nl != NULL) *nl = 0;
        char *hash = strchr(line, '#');
        if (hash != NULL) *hash = 0;
        size_t n = strlen(line);
        while (n > 0 && (line[n - 1] == ' ' || line[n - 1] == '\t' || line[n - 1] == '\r'))
            line[--n] = 0;
        while (*line == ' ' || *line == '\t')
            line++;
        if (*line != 0 && !gcli_list_add(l, line)) {
            cli_error(cmd, "out of memory reading %s", path);
            return CLI_FAIL;
        }
        line = nl != NULL ? nl + 1 : NULL;
    }
    return CLI_OK;
}

void gcli_list_free(gcli_list_t *l) {
    free(l->v);
    free(l->file_text);
    memset(l, 0, sizeof *l);
}

void gcli_time(uint64_t ntp64, char out[40]) {
    if (ntp64 == 0) {
        snprintf(out, 40, "never");
        return;
    }
    time_t t = (time_t)((int64_t)(ntp64 >> 32) - 2208988800LL);
    unsigned ms = (unsigned)(((ntp64 & 0xffffffffu) * 1000) >> 32);
    struct tm tm;
    char day[32];
    if (gmtime_r(&t, &tm) == NULL || strftime(day, sizeof day, "%Y-%m-%dT%H:%M:%S", &tm) == 0)
        snprintf(out, 40, "%llu", (unsigned long long)ntp64);
    else
        snprintf(out, 40, "%s.%03uZ", day, ms);
}
