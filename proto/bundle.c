/* Handset bundles (include/mcsec/bundle.h): one-time codes, sealing and opening. The layout
 * is in docs/protocol.md ("Handset bundle"). */
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bundle.pb-c.h"
#include "mcsec/bundle.h"
#include "mcsec/kmsxml.h"
#include "mcsec/seal.h"
#include "mcsec/secmem.h"

#define MAGIC "MCSB"
#define VERSION 1
#define SALT_LEN 16
#define SALT_OFF 5
#define NONCE_OFF (SALT_OFF + SALT_LEN)
#define INFO "mcsec handset bundle v1"

static const char alphabet[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"; /* Crockford base32 */

/* --- Codes ------------------------------------------------------------------------------- */

static void encode_code(const uint8_t raw[16], char code[MCSEC_BUNDLE_CODE_LEN + 1])
{
    size_t o = 0;
    for (unsigned i = 0; i < 26; i++) {
        unsigned bit = i * 5, v = 0;
        for (unsigned k = 0; k < 5; k++, bit++)
            v = v << 1 | (bit < 128 ? (raw[bit / 8] >> (7 - bit % 8)) & 1u : 0u);
        if (i > 0 && i % 4 == 0)
            code[o++] = '-';
        code[o++] = alphabet[v];
    }
    code[o] = 0;
}

mcsec_status_t mcsec_bundle_new_code(uint8_t raw[16], char code[MCSEC_BUNDLE_CODE_LEN + 1])
{
    mcsec_status_t rc = mcsec_random_bytes(raw, 16);
    if (rc != MCSEC_OK)
        return rc;
    encode_code(raw, code);
    return MCSEC_OK;
}

static int symbol(char c)
{
    if (c >= 'a' && c <= 'z')
        c = (char)(c - 'a' + 'A');
    if (c == 'I' || c == 'L')
        c = '1';
    if (c == 'O')
        c = '0';
    const char *p = c != 0 ? strchr(alphabet, c) : NULL;
    return p != NULL ? (int)(p - alphabet) : -1;
}

mcsec_status_t mcsec_bundle_parse_code(const char *code, uint8_t raw[16])
{
    uint8_t out[17] = {0};
    unsigned n = 0;
    mcsec_status_t rc = MCSEC_ERR_BAD_INPUT;
    if (code == NULL || raw == NULL)
        return MCSEC_ERR_BAD_INPUT;
    for (const char *c = code; *c; c++) {
        if (*c == '-' || *c == ' ')
            continue;
        int v = symbol(*c);
        if (v < 0 || n == 26)
            goto out;
        for (unsigned k = 0; k < 5; k++) {
            unsigned bit = n * 5 + k;
            if ((v >> (4 - k)) & 1)
                out[bit / 8] |= (uint8_t)(0x80u >> (bit % 8));
        }
        n++;
    }
    if (n != 26 || out[16] != 0) /* 26 symbols; the two padding bits are zero */
        goto out;
    memcpy(raw, out, 16);
    rc = MCSEC_OK;
out:
    mcsec_memzero(out, sizeof out);
    return rc;
}

/* --- Wiping allocator for protobuf-c: the plaintext holds secrets ------------------------ */

static void *wipe_alloc(void *data, size_t size)
{
    (void)data;
    return malloc(size);
}

static void wipe_free(void *data, void *p)
{
    (void)data;
    if (p != NULL) {
        mcsec_memzero(p, malloc_usable_size(p));
        free(p);
    }
}

static ProtobufCAllocator wiping = {wipe_alloc, wipe_free, NULL};

/* --- Seal ---------------------------------------------------------------------------------- */

static mcsec_status_t bundle_key(const uint8_t raw[16], const uint8_t *salt, uint8_t key[32])
{
    return mcsec_seal_hkdf(raw, 16, salt, SALT_LEN, (const uint8_t *)INFO, strlen(INFO), key,
                           MCSEC_SEAL_KEY_LEN);
}

mcsec_status_t mcsec_bundle_seal_mem(const mcsec_bundle_t *b, const uint8_t raw[16],
                                     uint8_t **out, size_t *out_len)
{
    mcsec_status_t rc = MCSEC_ERR_BAD_INPUT;
    uint8_t *buf = NULL, key[MCSEC_SEAL_KEY_LEN];
    size_t total = 0, pt_len = 0;
    Mcsec__Bundle__HandsetBundle m = MCSEC__BUNDLE__HANDSET_BUNDLE__INIT;
    if (b == NULL || raw == NULL || out == NULL || out_len == NULL || b->user_uri == NULL ||
        b->role == NULL || (b->groups == NULL && b->n_groups > 0) || b->init_xml == NULL ||
        b->keyprov_xml == NULL)
        return MCSEC_ERR_BAD_INPUT;
    *out = NULL;
    *out_len = 0;
    m.version = VERSION;
    m.user_uri = b->user_uri;
    m.role = b->role;
    m.n_groups = b->n_groups;
    m.groups = b->groups;
    m.device_public_key = (char *)b->device_public;
    m.device_secret_key = (char *)b->device_secret;
    m.kms_public_key = (char *)b->kms_public;
    m.kms_endpoint = b->kms_endpoint != NULL ? b->kms_endpoint : "";
    m.kms_init_xml.data = (uint8_t *)b->init_xml;
    m.kms_init_xml.len = b->init_len;
    m.kms_keyprov_xml.data = (uint8_t *)b->keyprov_xml;
    m.kms_keyprov_xml.len = b->keyprov_len;
    m.created = b->created;
    pt_len = mcsec__bundle__handset_bundle__get_packed_size(&m);
    total = MCSEC_BUNDLE_HEADER_LEN + pt_len + MCSEC_SEAL_TAG_LEN;
    if (total > MCSEC_BUNDLE_MAX)
        return MCSEC_ERR_BAD_LENGTH;
    rc = MCSEC_ERR_NOMEM;
    if ((buf = malloc(total)) == NULL)
        goto out;
    memcpy(buf, MAGIC, 4);
    buf[4] = VERSION;
    if ((rc = mcsec_random_bytes(buf + SALT_OFF, SALT_LEN + MCSEC_SEAL_NONCE_LEN)) != MCSEC_OK)
        goto out;
    if (mcsec__bundle__handset_bundle__pack(&m, buf + MCSEC_BUNDLE_HEADER_LEN) != pt_len) {
        rc = MCSEC_ERR_INTERNAL;
        goto out;
    }
    if ((rc = bundle_key(raw, buf + SALT_OFF, key)) != MCSEC_OK ||
        (rc = mcsec_seal(key, buf + NONCE_OFF, buf, MCSEC_BUNDLE_HEADER_LEN,
                         buf + MCSEC_BUNDLE_HEADER_LEN, pt_len, buf + MCSEC_BUNDLE_HEADER_LEN,
                         buf + MCSEC_BUNDLE_HEADER_LEN + pt_len)) != MCSEC_OK)
        goto out;
    *out = buf;
    *out_len = total;
    buf = NULL;
out:
    if (buf != NULL) {
        mcsec_memzero(buf, total);
        free(buf);
    }
    mcsec_memzero(key, sizeof key);
    return rc;
}

mcsec_status_t mcsec_bundle_seal(const mcsec_bundle_t *b, const char *path,
                                 char code[MCSEC_BUNDLE_CODE_LEN + 1])
{
    uint8_t raw[16], *buf = NULL;
    size_t len = 0;
    mcsec_status_t rc;
    if (path == NULL || code == NULL)
        return MCSEC_ERR_BAD_INPUT;
    code[0] = 0;
    if ((rc = mcsec_bundle_new_code(raw, code)) != MCSEC_OK)
        goto out;
    if ((rc = mcsec_bundle_seal_mem(b, raw, &buf, &len)) != MCSEC_OK)
        goto out;
    rc = mcsec_seal_write_file(path, buf, len, 0600, 1);
out:
    if (rc != MCSEC_OK)
        mcsec_memzero(code, MCSEC_BUNDLE_CODE_LEN + 1);
    if (buf != NULL) {
        mcsec_memzero(buf, len); /* ciphertext only, but cheap */
        free(buf);
    }
    mcsec_memzero(raw, sizeof raw);
    return rc;
}

/* --- Open ---------------------------------------------------------------------------------- */

void mcsec_bundle_free(mcsec_bundle_t *b)
{
    if (b == NULL)
        return;
    if (b->keyprov_xml != NULL)
        mcsec_memzero(b->keyprov_xml, b->keyprov_len);
    free(b->keyprov_xml);
    free(b->init_xml);
    free(b->user_uri);
    free(b->role);
    free(b->kms_endpoint);
    for (size_t i = 0; i < b->n_groups; i++)
        free(b->groups[i]);
    free(b->groups);
    mcsec_memzero(b, sizeof *b);
    free(b);
}

static int z85_ok(const char *s)
{
    static const char z85[] = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                              ".-:+=^!/*?&<>()[]{}@%$#";
    if (s == NULL || strlen(s) != MCSEC_BUNDLE_Z85_LEN)
        return 0;
    for (const char *c = s; *c; c++)
        if (strchr(z85, *c) == NULL)
            return 0;
    return 1;
}

static int str_ok(const char *s, size_t max)
{
    return s != NULL && s[0] != 0 && strlen(s) <= max;
}

static char *dup_bytes(const uint8_t *p, size_t n)
{
    char *s = malloc(n + 1);
    if (s != NULL) {
        memcpy(s, p, n);
        s[n] = 0;
    }
    return s;
}

/* Copies a decoded message into a fresh mcsec_bundle_t after checking every field. */
static mcsec_status_t from_message(const Mcsec__Bundle__HandsetBundle *m, mcsec_bundle_t **out)
{
    if (m->version != VERSION)
        return MCSEC_ERR_UNSUPPORTED;
    if (!str_ok(m->user_uri, MCSEC_KMSXML_STR_MAX) ||
        (strcmp(m->role, "handset") != 0 && strcmp(m->role, "groupmgr") != 0) ||
        !z85_ok(m->device_public_key) || !z85_ok(m->device_secret_key) ||
        !z85_ok(m->kms_public_key) || strlen(m->kms_endpoint) > 255 ||
        m->kms_init_xml.len == 0 || m->kms_init_xml.len > MCSEC_KMSXML_MAX_LEN ||
        m->kms_keyprov_xml.len == 0 || m->kms_keyprov_xml.len > MCSEC_KMSXML_MAX_LEN ||
        m->n_groups > 64)
        return MCSEC_ERR_STRUCTURE;
    for (size_t i = 0; i < m->n_groups; i++)
        if (!str_ok(m->groups[i], MCSEC_KMSXML_STR_MAX))
            return MCSEC_ERR_STRUCTURE;
    mcsec_bundle_t *b = calloc(1, sizeof *b);
    if (b == NULL)
        return MCSEC_ERR_NOMEM;
    b->user_uri = strdup(m->user_uri);
    b->role = strdup(m->role);
    b->kms_endpoint = strdup(m->kms_endpoint);
    b->init_xml = dup_bytes(m->kms_init_xml.data, m->kms_init_xml.len);
    b->init_len = m->kms_init_xml.len;
    b->keyprov_xml = dup_bytes(m->kms_keyprov_xml.data, m->kms_keyprov_xml.len);
    b->keyprov_len = b->keyprov_xml != NULL ? m->kms_keyprov_xml.len : 0;
    b->groups = m->n_groups > 0 ? calloc(m->n_groups, sizeof *b->groups) : NULL;
    int ok = b->user_uri && b->role && b->kms_endpoint && b->init_xml && b->keyprov_xml &&
             (m->n_groups == 0 || b->groups);
    for (size_t i = 0; ok && i < m->n_groups; i++) {
        b->groups[i] = strdup(m->groups[i]);
        b->n_groups = i + 1;
        ok = b->groups[i] != NULL;
    }
    memcpy(b->device_public, m->device_public_key, MCSEC_BUNDLE_Z85_LEN + 1);
    memcpy(b->device_secret, m->device_secret_key, MCSEC_BUNDLE_Z85_LEN + 1);
    memcpy(b->kms_public, m->kms_public_key, MCSEC_BUNDLE_Z85_LEN + 1);
    b->created = m->created;
    if (!ok) {
        mcsec_bundle_free(b);
        return MCSEC_ERR_NOMEM;
    }
    *out = b;
    return MCSEC_OK;
}

mcsec_status_t mcsec_bundle_open_mem(const uint8_t *data, size_t len, const char *code,
                                     mcsec_bundle_t **out)
{
    mcsec_status_t rc;
    uint8_t raw[16], key[MCSEC_SEAL_KEY_LEN], *pt = NULL;
    size_t pt_len = 0;
    Mcsec__Bundle__HandsetBundle *m = NULL;
    if (out == NULL || (data == NULL && len > 0))
        return MCSEC_ERR_BAD_INPUT;
    *out = NULL;
    if ((rc = mcsec_bundle_parse_code(code, raw)) != MCSEC_OK)
        return rc;
    rc = MCSEC_ERR_VERIFY;
    if (len >= 4 && memcmp(data, MAGIC, 4) != 0)
        goto out;
    rc = MCSEC_ERR_TRUNCATED;
    if (len < MCSEC_BUNDLE_HEADER_LEN + MCSEC_SEAL_TAG_LEN)
        goto out;
    rc = MCSEC_ERR_UNSUPPORTED;
    if (data[4] != VERSION)
        goto out;
    rc = MCSEC_ERR_BAD_LENGTH;
    if (len > MCSEC_BUNDLE_MAX)
        goto out;
    pt_len = len - MCSEC_BUNDLE_HEADER_LEN - MCSEC_SEAL_TAG_LEN;
    rc = MCSEC_ERR_NOMEM;
    if ((pt = malloc(pt_len + 1)) == NULL)
        goto out;
    if ((rc = bundle_key(raw, data + SALT_OFF, key)) != MCSEC_OK)
        goto out;
    rc = mcsec_seal_open(key, data + NONCE_OFF, data, MCSEC_BUNDLE_HEADER_LEN,
                         data + MCSEC_BUNDLE_HEADER_LEN, pt_len,
                         data + MCSEC_BUNDLE_HEADER_LEN + pt_len, pt);
    if (rc == MCSEC_ERR_VERIFY)
        rc = MCSEC_ERR_PASSPHRASE;
    if (rc != MCSEC_OK)
        goto out;
    rc = MCSEC_ERR_STRUCTURE;
    if ((m = mcsec__bundle__handset_bundle__unpack(&wiping, pt_len, pt)) == NULL)
        goto out;
    rc = from_message(m, out);
out:
    if (m != NULL)
        mcsec__bundle__handset_bundle__free_unpacked(m, &wiping);
    if (pt != NULL) {
        mcsec_memzero(pt, pt_len);
        free(pt);
    }
    mcsec_memzero(key, sizeof key);
    mcsec_memzero(raw, sizeof raw);
    return rc;
}

mcsec_status_t mcsec_bundle_open(const char *path, const char *code, mcsec_bundle_t **out)
{
    mcsec_status_t rc = MCSEC_ERR_IO;
    uint8_t *buf = NULL;
    size_t n = 0;
    struct stat st;
    if (out != NULL)
        *out = NULL;
    if (path == NULL || out == NULL)
        return MCSEC_ERR_BAD_INPUT;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return MCSEC_ERR_IO;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
        goto out;
    rc = MCSEC_ERR_BAD_LENGTH;
    if (st.st_size > MCSEC_BUNDLE_MAX)
        goto out;
    rc = MCSEC_ERR_NOMEM;
    if ((buf = malloc((size_t)st.st_size + 1)) == NULL)
        goto out;
    rc = MCSEC_ERR_IO;
    while (n < (size_t)st.st_size) {
        ssize_t r = read(fd, buf + n, (size_t)st.st_size - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            goto out;
        n += (size_t)r;
    }
    rc = mcsec_bundle_open_mem(buf, n, code, out);
out:
    close(fd);
    free(buf);
    return rc;
}
