/* A minimal test harness: CHECK macros, hex helpers, and a reader for the vector files.
 * Each test executable ends by printing "N passed, N failed" and exits non-zero on failure. */
#ifndef MCSEC_TEST_H
#define MCSEC_TEST_H

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mcsec/status.h"

static int test_passed, test_failed;

#define CHECK(cond)                                                                               \
    do {                                                                                          \
        if (cond) {                                                                               \
            test_passed++;                                                                        \
        } else {                                                                                  \
            test_failed++;                                                                        \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);             \
        }                                                                                         \
    } while (0)

#define CHECK_STATUS(expr, expected)                                                              \
    do {                                                                                          \
        mcsec_status_t got_ = (expr);                                                             \
        mcsec_status_t want_ = (expected);                                                        \
        if (got_ == want_) {                                                                      \
            test_passed++;                                                                        \
        } else {                                                                                  \
            test_failed++;                                                                        \
            fprintf(stderr, "%s:%d: %s returned %d (%s), expected %d (%s)\n", __FILE__,         \
                    __LINE__, #expr, (int)got_, mcsec_strerror(got_), (int)want_,                 \
                    mcsec_strerror(want_));                                                       \
        }                                                                                         \
    } while (0)

#define CHECK_MEM(a, b, len)                                                                      \
    do {                                                                                          \
        if (memcmp((a), (b), (len)) == 0) {                                                       \
            test_passed++;                                                                        \
        } else {                                                                                  \
            test_failed++;                                                                        \
            fprintf(stderr, "%s:%d: %s != %s\n", __FILE__, __LINE__, #a, #b);                     \
            test_dump("got ", (const uint8_t *)(a), (len));                                       \
            test_dump("want", (const uint8_t *)(b), (len));                                       \
        }                                                                                         \
    } while (0)

static inline void test_dump(const char *tag, const uint8_t *p, size_t len)
{
    fprintf(stderr, "  %s ", tag);
    for (size_t i = 0; i < len; i++)
        fprintf(stderr, "%02x", p[i]);
    fprintf(stderr, "\n");
}

static inline int test_summary(void)
{
    printf("%d passed, %d failed\n", test_passed, test_failed);
    return test_failed == 0 ? 0 : 1;
}

/* Decodes a hex string (whitespace ignored) into out; returns the octet count or -1. */
static inline long test_unhex(const char *hex, uint8_t *out, size_t cap)
{
    size_t n = 0;
    int hi = -1;
    for (const char *c = hex; *c; c++) {
        if (isspace((unsigned char)*c))
            continue;
        if (!isxdigit((unsigned char)*c))
            return -1;
        int v = isdigit((unsigned char)*c) ? *c - '0' : (tolower((unsigned char)*c) - 'a' + 10);
        if (hi < 0) {
            hi = v;
        } else {
            if (n >= cap)
                return -1;
            out[n++] = (uint8_t)(hi << 4 | v);
            hi = -1;
        }
    }
    return hi < 0 ? (long)n : -1;
}

static inline char *test_read_file(const char *name)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", MCSEC_VECTORS, name);
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        fprintf(stderr, "cannot open vector file %s\n", path);
        exit(2);
    }
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)len + 1);
    if (buf == NULL || fread(buf, 1, (size_t)len, f) != (size_t)len)
        exit(2);
    buf[len] = 0;
    fclose(f);
    return buf;
}

/* Removes [..] and (..) comments from a line, in place. */
static inline void test_strip_comments(char *s)
{
    char *w = s;
    int depth = 0;
    for (char *r = s; *r; r++) {
        if (*r == '[' || *r == '(')
            depth++;
        else if ((*r == ']' || *r == ')') && depth > 0)
            depth--;
        else if (depth == 0)
            *w++ = *r;
    }
    *w = 0;
}

/* 1 if the line holds only '=' and hex groups; appends the hex to acc. */
static inline int test_hex_line(char *line, char *acc, size_t cap)
{
    test_strip_comments(line);
    char tmp[1024];
    size_t t = 0;
    for (char *tok = strtok(line, " \t\r"); tok; tok = strtok(NULL, " \t\r")) {
        if (strcmp(tok, "=") == 0)
            continue;
        for (char *c = tok; *c; c++)
            if (!isxdigit((unsigned char)*c))
                return 0;
        size_t l = strlen(tok);
        if (t + l >= sizeof tmp)
            return 0;
        memcpy(tmp + t, tok, l);
        t += l;
    }
    tmp[t] = 0;
    if (strlen(acc) + t >= cap)
        return 0;
    strcat(acc, tmp);
    return 1;
}

/* Looks up "KEY = hex..." in an RFC-style vector file (values may continue on indented
 * lines; a first line that is not hex, such as a quoted string, is skipped). Returns the
 * octet count written to out; exits if the key is missing, since a test without its vector
 * must not pass. */
static inline size_t test_vector(const char *file_text, const char *key, uint8_t *out, size_t cap)
{
    size_t klen = strlen(key);
    const char *p = file_text;
    char acc[8192];
    acc[0] = 0;
    while (*p) {
        const char *eol = strchr(p, '\n');
        size_t len = eol ? (size_t)(eol - p) : strlen(p);
        if (len > klen && strncmp(p, key, klen) == 0 && (p[klen] == ' ' || p[klen] == '=')) {
            char line[1024];
            snprintf(line, sizeof line, "%.*s", (int)(len - klen), p + klen);
            test_hex_line(line, acc, sizeof acc);
            p = eol ? eol + 1 : p + len;
            while (*p && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')) {
                eol = strchr(p, '\n');
                len = eol ? (size_t)(eol - p) : strlen(p);
                snprintf(line, sizeof line, "%.*s", (int)len, p);
                test_hex_line(line, acc, sizeof acc);
                p = eol ? eol + 1 : p + len;
            }
            long n = test_unhex(acc, out, cap);
            if (n < 0) {
                fprintf(stderr, "vector %s: bad hex\n", key);
                exit(2);
            }
            return (size_t)n;
        }
        p = eol ? eol + 1 : p + len;
    }
    fprintf(stderr, "vector %s missing\n", key);
    exit(2);
}

#endif
