/* Input files and output encodings for the commands: bounded whole-file reads, base64
 * decoding, hex, and a small JSON writer (one object per command, strings escaped). */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/evp.h>

#include "cli.h"
#include "mcsec/secmem.h"

int cli_read_file(const char *cmd, const char *what, const char *path, size_t max, uint8_t **buf,
                  size_t *len) {
    struct stat st;
    uint8_t *b = NULL;
    size_t n = 0;
    FILE *f = fopen(path, "rb");
    *buf = NULL;
    *len = 0;
    if (f == NULL) {
        cli_error(cmd, "cannot open %s %s: %s", what, path, strerror(errno));
        return CLI_FAIL;
    }
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        cli_error(cmd, "%s %s is not a regular file; give a file", what, path);
        goto fail;
    }
    if ((b = malloc(max + 1)) == NULL) {
        cli_error(cmd, "out of memory reading %s %s", what, path);
        goto fail;
    }
    n = fread(b, 1, max + 1, f);
    if (ferror(f)) {
        cli_error(cmd, "cannot read %s %s: %s", what, path, strerror(errno));
        goto fail;
    }
    if (n > max) {
        cli_error(cmd, "%s %s is larger than %zu octets; give the right file", what, path, max);
        goto fail;
    }
    if (n == 0) {
        cli_error(cmd, "%s %s is empty; give the right file", what, path);
        goto fail;
    }
    fclose(f);
    *buf = b;
    *len = n;
    return CLI_OK;
fail:
    if (b != NULL) mcsec_memzero(b, max + 1);
    free(b);
    fclose(f);
    return CLI_FAIL;
}

int cli_base64_decode(uint8_t *buf, size_t len, size_t *out_len) {
    /* Drop whitespace (line breaks from mail or SMS gateways), then decode in place. */
    size_t n = 0;
    for (size_t i = 0; i < len; i++)
        if (!isspace(buf[i])) buf[n++] = buf[i];
    if (n == 0 || n % 4 != 0 || n > (size_t)0x7fffffff) return 0;
    for (size_t i = 0; i < n; i++) {
        uint8_t c = buf[i];
        int pad_ok = c == '=' && i >= n - 2 && (i == n - 1 || buf[n - 1] == '=');
        if (!isalnum(c) && c != '+' && c != '/' && !pad_ok) return 0;
    }
    size_t pad = (buf[n - 1] == '=') + (buf[n - 2] == '=');
    uint8_t *tmp = malloc(n / 4 * 3);
    if (tmp == NULL) return 0;
    int got = EVP_DecodeBlock(tmp, buf, (int)n);
    if (got < 0 || (size_t)got < pad) {
        free(tmp);
        return 0;
    }
    *out_len = (size_t)got - pad;
    memcpy(buf, tmp, *out_len);
    free(tmp);
    return 1;
}

void cli_hex(FILE *f, const uint8_t *p, size_t n) {
    for (size_t i = 0; i < n; i++)
        fprintf(f, "%02x", p[i]);
}

/* --- JSON ----------------------------------------------------------------------------- */

static void json_sep(cli_json_t *j) {
    if (j->need_comma[j->depth]) fputc(',', j->f);
    j->need_comma[j->depth] = 1;
}

static void json_str(FILE *f, const char *s, size_t n) {
    fputc('"', f);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\')
            fprintf(f, "\\%c", c);
        else if (c < 0x20 || c == 0x7f)
            fprintf(f, "\\u%04x", c);
        else
            fputc(c, f);
    }
    fputc('"', f);
}

static void json_key(cli_json_t *j, const char *key) {
    json_sep(j);
    if (key != NULL) {
        json_str(j->f, key, strlen(key));
        fputc(':', j->f);
    }
}

void cli_json_start(cli_json_t *j, FILE *f) {
    memset(j, 0, sizeof *j);
    j->f = f;
    fputc('{', f);
    j->depth = 1;
}

void cli_json_open(cli_json_t *j, const char *key, char bracket) {
    json_key(j, key);
    fputc(bracket, j->f);
    if (j->depth + 1 < (int)sizeof j->need_comma) j->depth++;
    j->need_comma[j->depth] = 0;
}

void cli_json_close(cli_json_t *j, char bracket) {
    fputc(bracket, j->f);
    if (j->depth > 0) j->depth--;
    if (j->depth == 0) fputc('\n', j->f);
}

void cli_json_str(cli_json_t *j, const char *key, const char *v) {
    json_key(j, key);
    json_str(j->f, v, strlen(v));
}

void cli_json_text(cli_json_t *j, const char *key, const uint8_t *v, size_t n) {
    json_key(j, key);
    json_str(j->f, (const char *)v, n);
}

void cli_json_hex(cli_json_t *j, const char *key, const uint8_t *v, size_t n) {
    json_key(j, key);
    fputc('"', j->f);
    cli_hex(j->f, v, n);
    fputc('"', j->f);
}

void cli_json_u64(cli_json_t *j, const char *key, uint64_t v) {
    json_key(j, key);
    fprintf(j->f, "%llu", (unsigned long long)v);
}

void cli_json_bool(cli_json_t *j, const char *key, int v) {
    json_key(j, key);
    fputs(v ? "true" : "false", j->f);
}

void cli_json_null(cli_json_t *j, const char *key) {
    json_key(j, key);
    fputs("null", j->f);
}
