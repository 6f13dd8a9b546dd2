/* OpenSSL ciphers for libsrtp: AES-128 counter mode (SRTP_AES_ICM_128: the AES_CM suites, SRTCP
 * and libsrtp's key derivation), AES-128-GCM (SRTP_AES_GCM_128) and HMAC-SHA1 (SRTP_HMAC_SHA1),
 * registered with libsrtp's own extension point, srtp_replace_cipher_type and
 * srtp_replace_auth_type (srtp2/cipher.h, srtp2/auth.h).
 *
 * Why: Debian's libsrtp2 runs its ciphers on NSS, where setting up one key (PK11_ImportSymKey,
 * PK11_CreateContextBySymKey, NSS's locks) costs about 5 us; a receiving stream needs three
 * (key derivation, RTP, RTCP), so a talker change spent about 15 us in libsrtp, a fifth of
 * joining a call. With these, libsrtp still does all of SRTP (packet formats, key derivation,
 * IVs, replay windows, tags); only the block cipher and the MAC run on OpenSSL 3, which mcsec
 * already uses for everything else, as libsrtp's own OpenSSL build does.
 *
 * Correctness: libsrtp runs each type's self test (the vectors below: RFC 3711 B.2, the GCM
 * specification's test case 4, RFC 2202 case 1) and then the test vectors of the type it
 * replaces before it accepts a replacement; mcsec_srtp refuses to work if either fails.
 * tests/unit/client_media.c checks mcsec's packets against an independent RFC 3711 / RFC 7714
 * implementation.
 *
 * Semantics follow libsrtp's cipher interface (as its OpenSSL backend implements it):
 *   ICM: the key is key || 14-octet salt; set_iv XORs the 16-octet IV into salt || 0x0000 to
 *        make the counter block; encrypt XORs the key stream (at most 2^16 blocks per IV).
 *   GCM: the key is key || 12-octet salt (libsrtp makes the IV from the salt itself); set_iv
 *        takes the 12-octet IV and the direction; set_aad may be called several times; encrypt
 *        and get_tag; decrypt takes ciphertext || tag and fails with auth_fail on a bad tag.
 *   HMAC-SHA1: start re-keys for a packet, update and compute add data; compute gives the
 *        tag's first tag_len octets. */
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <srtp2/auth.h>
#include <srtp2/cipher.h>
#include <srtp2/srtp.h>

#include "internal_media.h"

#define AES128_KEY 16
#define ICM_SALT 14
#define GCM_SALT 12
#define GCM_IV 12
#define ICM_MAX_BLOCKS 65536u
#define SHA1_LEN 20

/* Fetched once (mcsec_srtp_ciphers_register, under the caller's pthread_once). */
static EVP_CIPHER *aes_ctr, *aes_gcm;
static EVP_MAC_CTX *hmac_sha1; /* HMAC with its digest set: duplicated for every key */

/* --- AES-128 counter mode ------------------------------------------------------------------ */

typedef struct {
    EVP_CIPHER_CTX *ctx;
    uint8_t offset[16]; /* salt || 0x0000 */
    uint8_t counter[16];
    size_t blocks; /* used since set_iv */
} icm_t;

static const srtp_cipher_type_t icm_type;

static srtp_err_status_t cipher_free(srtp_cipher_pointer_t c, size_t state_len) {
    if (c == NULL) return srtp_err_status_ok;
    if (c->state != NULL) {
        EVP_CIPHER_CTX_free(*(EVP_CIPHER_CTX **)c->state); /* the first member of each state */
        OPENSSL_cleanse(c->state, state_len);
        free(c->state);
    }
    OPENSSL_cleanse(c, sizeof *c);
    free(c);
    return srtp_err_status_ok;
}

static srtp_err_status_t cipher_new(srtp_cipher_pointer_t *out, const srtp_cipher_type_t *type,
                                    size_t state_len, int key_len, int algorithm) {
    srtp_cipher_t *c = calloc(1, sizeof *c);
    if (c == NULL) return srtp_err_status_alloc_fail;
    c->state = calloc(1, state_len);
    if (c->state == NULL || (*(EVP_CIPHER_CTX **)c->state = EVP_CIPHER_CTX_new()) == NULL) {
        cipher_free(c, state_len);
        return srtp_err_status_alloc_fail;
    }
    c->type = type;
    c->key_len = key_len;
    c->algorithm = algorithm;
    *out = c;
    return srtp_err_status_ok;
}

static srtp_err_status_t icm_alloc(srtp_cipher_pointer_t *c, int key_len, int tag_len) {
    (void)tag_len;
    if (key_len != AES128_KEY + ICM_SALT) return srtp_err_status_bad_param;
    return cipher_new(c, &icm_type, sizeof(icm_t), key_len, SRTP_AES_ICM_128);
}

static srtp_err_status_t icm_dealloc(srtp_cipher_pointer_t c) {
    return cipher_free(c, sizeof(icm_t));
}

static srtp_err_status_t icm_init(void *state, const uint8_t *key) {
    icm_t *s = state;
    memset(s->offset, 0, sizeof s->offset);
    memcpy(s->offset, key + AES128_KEY, ICM_SALT);
    memcpy(s->counter, s->offset, sizeof s->counter);
    s->blocks = 0;
    if (EVP_EncryptInit_ex2(s->ctx, aes_ctr, key, s->counter, NULL) != 1)
        return srtp_err_status_init_fail;
    return srtp_err_status_ok;
}

static srtp_err_status_t icm_set_iv(void *state, uint8_t *iv, srtp_cipher_direction_t dir) {
    (void)dir; /* counter mode: the same either way */
    icm_t *s = state;
    for (size_t i = 0; i < sizeof s->counter; i++) s->counter[i] = (uint8_t)(s->offset[i] ^ iv[i]);
    s->blocks = 0;
    if (EVP_EncryptInit_ex2(s->ctx, NULL, NULL, s->counter, NULL) != 1)
        return srtp_err_status_cipher_fail;
    return srtp_err_status_ok;
}

static srtp_err_status_t icm_encrypt(void *state, uint8_t *buf, unsigned int *len) {
    icm_t *s = state;
    size_t blocks = (*len + 15u) / 16u;
    /* libsrtp's rule: the 16-bit block counter must not wrap under one IV. */
    if (blocks > ICM_MAX_BLOCKS - s->blocks || *len > INT32_MAX) return srtp_err_status_terminus;
    int out = 0;
    if (EVP_EncryptUpdate(s->ctx, buf, &out, buf, (int)*len) != 1 || (unsigned)out != *len)
        return srtp_err_status_cipher_fail;
    s->blocks += blocks;
    return srtp_err_status_ok;
}

/* RFC 3711 B.2: session key and salt, counter from an all-zero IV, 32 octets of key stream. */
static const uint8_t icm_key[AES128_KEY + ICM_SALT] = {
    0x2b, 0x7e, 0x15, 0x16, 0x28, 0xae, 0xd2, 0xa6, 0xab, 0xf7, 0x15, 0x88, 0x09, 0xcf, 0x4f,
    0x3c, 0xf0, 0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8, 0xf9, 0xfa, 0xfb, 0xfc, 0xfd};
static uint8_t icm_iv[16];
static const uint8_t icm_plain[32];
static const uint8_t icm_cipher[32] = {
    0xe0, 0x3e, 0xad, 0x09, 0x35, 0xc9, 0x5e, 0x80, 0xe1, 0x66, 0xb1, 0x6d, 0xd9, 0x2b, 0x4e, 0xb4,
    0xd2, 0x35, 0x13, 0x16, 0x2b, 0x02, 0xd0, 0xf7, 0x2a, 0x43, 0xa2, 0xfe, 0x4a, 0x5f, 0x97, 0xab};
static const srtp_cipher_test_case_t icm_test = {
    sizeof icm_key, icm_key, icm_iv, sizeof icm_plain, icm_plain, sizeof icm_cipher, icm_cipher,
    0, NULL, 0, NULL};

static const srtp_cipher_type_t icm_type = {
    icm_alloc, icm_dealloc, icm_init, NULL, icm_encrypt, icm_encrypt, icm_set_iv, NULL,
    "AES-128 counter mode (OpenSSL, mcsec)", &icm_test, SRTP_AES_ICM_128};

/* --- AES-128-GCM ----------------------------------------------------------------------------- */

typedef struct {
    EVP_CIPHER_CTX *ctx;
    int tag_len;
    int encrypting; /* -1 until set_iv */
} gcm_t;

static const srtp_cipher_type_t gcm_type;

static srtp_err_status_t gcm_alloc(srtp_cipher_pointer_t *c, int key_len, int tag_len) {
    if (key_len != AES128_KEY + GCM_SALT || (tag_len != 16 && tag_len != 8))
        return srtp_err_status_bad_param;
    srtp_err_status_t st = cipher_new(c, &gcm_type, sizeof(gcm_t), key_len, SRTP_AES_GCM_128);
    if (st == srtp_err_status_ok) {
        gcm_t *s = (*c)->state;
        s->tag_len = tag_len;
        s->encrypting = -1;
    }
    return st;
}

static srtp_err_status_t gcm_dealloc(srtp_cipher_pointer_t c) {
    return cipher_free(c, sizeof(gcm_t));
}

/* Only the key: libsrtp keeps the salt and computes each IV. */
static srtp_err_status_t gcm_init(void *state, const uint8_t *key) {
    gcm_t *s = state;
    s->encrypting = -1;
    if (EVP_CipherInit_ex2(s->ctx, aes_gcm, key, NULL, 1, NULL) != 1)
        return srtp_err_status_init_fail;
    return srtp_err_status_ok;
}

static srtp_err_status_t gcm_set_iv(void *state, uint8_t *iv, srtp_cipher_direction_t dir) {
    gcm_t *s = state;
    if (dir != srtp_direction_encrypt && dir != srtp_direction_decrypt)
        return srtp_err_status_bad_param;
    s->encrypting = dir == srtp_direction_encrypt;
    if (EVP_CipherInit_ex2(s->ctx, NULL, NULL, iv, s->encrypting, NULL) != 1)
        return srtp_err_status_cipher_fail;
    return srtp_err_status_ok;
}

static srtp_err_status_t gcm_set_aad(void *state, const uint8_t *aad, uint32_t len) {
    gcm_t *s = state;
    int out = 0;
    if (s->encrypting < 0) return srtp_err_status_bad_param;
    if (len > INT32_MAX || EVP_CipherUpdate(s->ctx, NULL, &out, aad, (int)len) != 1)
        return srtp_err_status_algo_fail;
    return srtp_err_status_ok;
}

static srtp_err_status_t gcm_encrypt(void *state, uint8_t *buf, unsigned int *len) {
    gcm_t *s = state;
    int out = 0;
    if (s->encrypting != 1) return srtp_err_status_bad_param;
    if (*len > INT32_MAX || EVP_CipherUpdate(s->ctx, buf, &out, buf, (int)*len) != 1 ||
        (unsigned)out != *len)
        return srtp_err_status_cipher_fail;
    return srtp_err_status_ok;
}

static srtp_err_status_t gcm_get_tag(void *state, uint8_t *tag, uint32_t *len) {
    gcm_t *s = state;
    uint8_t none[16];
    int out = 0;
    if (s->encrypting != 1) return srtp_err_status_bad_param;
    if (EVP_CipherFinal_ex(s->ctx, none, &out) != 1 ||
        EVP_CIPHER_CTX_ctrl(s->ctx, EVP_CTRL_AEAD_GET_TAG, s->tag_len, tag) != 1)
        return srtp_err_status_algo_fail;
    *len = (uint32_t)s->tag_len;
    return srtp_err_status_ok;
}

/* buf holds ciphertext || tag; on success *len loses the tag. */
static srtp_err_status_t gcm_decrypt(void *state, uint8_t *buf, unsigned int *len) {
    gcm_t *s = state;
    uint8_t none[16];
    int out = 0;
    if (s->encrypting != 0) return srtp_err_status_bad_param;
    if (*len < (unsigned)s->tag_len || *len > INT32_MAX) return srtp_err_status_bad_param;
    unsigned n = *len - (unsigned)s->tag_len;
    if (EVP_CIPHER_CTX_ctrl(s->ctx, EVP_CTRL_AEAD_SET_TAG, s->tag_len, buf + n) != 1 ||
        EVP_CipherUpdate(s->ctx, buf, &out, buf, (int)n) != 1 || (unsigned)out != n)
        return srtp_err_status_cipher_fail;
    if (EVP_CipherFinal_ex(s->ctx, none, &out) != 1) return srtp_err_status_auth_fail;
    *len = n;
    return srtp_err_status_ok;
}

/* The GCM specification (McGrew, Viega), test case 4: 60 octets with 20 octets of AAD; the
 * ciphertext is followed by its 16-octet tag. */
static const uint8_t gcm_key[AES128_KEY + GCM_SALT] = {
    0xfe, 0xff, 0xe9, 0x92, 0x86, 0x65, 0x73, 0x1c, 0x6d, 0x6a, 0x8f, 0x94, 0x67, 0x30,
    0x83, 0x08, 0xa5, 0x59, 0x09, 0xc5, 0x54, 0x66, 0x93, 0x1c, 0xaf, 0xf5, 0x26, 0x9a};
static uint8_t gcm_iv[GCM_IV] = {0xca, 0xfe, 0xba, 0xbe, 0xfa, 0xce,
                                 0xdb, 0xad, 0xde, 0xca, 0xf8, 0x88};
static const uint8_t gcm_plain[60] = {
    0xd9, 0x31, 0x32, 0x25, 0xf8, 0x84, 0x06, 0xe5, 0xa5, 0x59, 0x09, 0xc5, 0xaf, 0xf5, 0x26,
    0x9a, 0x86, 0xa7, 0xa9, 0x53, 0x15, 0x34, 0xf7, 0xda, 0x2e, 0x4c, 0x30, 0x3d, 0x8a, 0x31,
    0x8a, 0x72, 0x1c, 0x3c, 0x0c, 0x95, 0x95, 0x68, 0x09, 0x53, 0x2f, 0xcf, 0x0e, 0x24, 0x49,
    0xa6, 0xb5, 0x25, 0xb1, 0x6a, 0xed, 0xf5, 0xaa, 0x0d, 0xe6, 0x57, 0xba, 0x63, 0x7b, 0x39};
static const uint8_t gcm_aad[20] = {0xfe, 0xed, 0xfa, 0xce, 0xde, 0xad, 0xbe, 0xef, 0xfe, 0xed,
                                    0xfa, 0xce, 0xde, 0xad, 0xbe, 0xef, 0xab, 0xad, 0xda, 0xd2};
static const uint8_t gcm_cipher[76] = {
    0x42, 0x83, 0x1e, 0xc2, 0x21, 0x77, 0x74, 0x24, 0x4b, 0x72, 0x21, 0xb7, 0x84, 0xd0, 0xd4,
    0x9c, 0xe3, 0xaa, 0x21, 0x2f, 0x2c, 0x02, 0xa4, 0xe0, 0x35, 0xc1, 0x7e, 0x23, 0x29, 0xac,
    0xa1, 0x2e, 0x21, 0xd5, 0x14, 0xb2, 0x54, 0x66, 0x93, 0x1c, 0x7d, 0x8f, 0x6a, 0x5a, 0xac,
    0x84, 0xaa, 0x05, 0x1b, 0xa3, 0x0b, 0x39, 0x6a, 0x0a, 0xac, 0x97, 0x3d, 0x58, 0xe0, 0x91,
    0x5b, 0xc9, 0x4f, 0xbc, 0x32, 0x21, 0xa5, 0xdb, 0x94, 0xfa, 0xe9, 0x5a, 0xe7, 0x12, 0x1a,
    0x47};
static const srtp_cipher_test_case_t gcm_test = {
    sizeof gcm_key, gcm_key, gcm_iv, sizeof gcm_plain, gcm_plain, sizeof gcm_cipher, gcm_cipher,
    sizeof gcm_aad, gcm_aad, 16, NULL};

static const srtp_cipher_type_t gcm_type = {
    gcm_alloc, gcm_dealloc, gcm_init, gcm_set_aad, gcm_encrypt, gcm_decrypt, gcm_set_iv,
    gcm_get_tag, "AES-128-GCM (OpenSSL, mcsec)", &gcm_test, SRTP_AES_GCM_128};

/* --- HMAC-SHA1 --------------------------------------------------------------------------------- */

static const srtp_auth_type_t hmac_type;

static srtp_err_status_t hmac_free(srtp_auth_pointer_t a) {
    if (a == NULL) return srtp_err_status_ok;
    EVP_MAC_CTX_free(a->state); /* wipes the keyed state */
    OPENSSL_cleanse(a, sizeof *a);
    free(a);
    return srtp_err_status_ok;
}

static srtp_err_status_t hmac_alloc(srtp_auth_pointer_t *out, int key_len, int tag_len) {
    if (key_len < 0 || key_len > SHA1_LEN || tag_len < 0 || tag_len > SHA1_LEN)
        return srtp_err_status_bad_param;
    srtp_auth_t *a = calloc(1, sizeof *a);
    if (a == NULL) return srtp_err_status_alloc_fail;
    if ((a->state = EVP_MAC_CTX_dup(hmac_sha1)) == NULL) {
        hmac_free(a);
        return srtp_err_status_alloc_fail;
    }
    a->type = &hmac_type;
    a->out_len = tag_len;
    a->key_len = key_len;
    a->prefix_len = 0;
    *out = a;
    return srtp_err_status_ok;
}

static srtp_err_status_t hmac_init(void *state, const uint8_t *key, int key_len) {
    if (key_len < 0 || EVP_MAC_init(state, key, (size_t)key_len, NULL) != 1)
        return srtp_err_status_auth_fail;
    return srtp_err_status_ok;
}

/* A new message under the key already set. */
static srtp_err_status_t hmac_start(void *state) {
    if (EVP_MAC_init(state, NULL, 0, NULL) != 1) return srtp_err_status_auth_fail;
    return srtp_err_status_ok;
}

static srtp_err_status_t hmac_update(void *state, const uint8_t *buf, int len) {
    if (len < 0 || EVP_MAC_update(state, buf, (size_t)len) != 1) return srtp_err_status_auth_fail;
    return srtp_err_status_ok;
}

static srtp_err_status_t hmac_compute(void *state, const uint8_t *buf, int len, int tag_len,
                                      uint8_t *tag) {
    uint8_t mac[SHA1_LEN];
    size_t n = 0;
    if (tag_len < 0 || tag_len > SHA1_LEN || len < 0 ||
        EVP_MAC_update(state, buf, (size_t)len) != 1 ||
        EVP_MAC_final(state, mac, &n, sizeof mac) != 1 || n != sizeof mac)
        return srtp_err_status_auth_fail;
    memcpy(tag, mac, (size_t)tag_len);
    OPENSSL_cleanse(mac, sizeof mac);
    return srtp_err_status_ok;
}

/* RFC 2202, test case 1. */
static const uint8_t hmac_key[20] = {0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b,
                                     0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b};
static const uint8_t hmac_data[8] = {'H', 'i', ' ', 'T', 'h', 'e', 'r', 'e'};
static const uint8_t hmac_tag[20] = {0xb6, 0x17, 0x31, 0x86, 0x55, 0x05, 0x72, 0x64, 0xe2, 0x8b,
                                     0xc0, 0xb6, 0xfb, 0x37, 0x8c, 0x8e, 0xf1, 0x46, 0xbe, 0x00};
static const srtp_auth_test_case_t hmac_test = {
    sizeof hmac_key, hmac_key, sizeof hmac_data, hmac_data, sizeof hmac_tag, hmac_tag, NULL};

static const srtp_auth_type_t hmac_type = {
    hmac_alloc, hmac_free, hmac_init, hmac_compute, hmac_update, hmac_start,
    "HMAC-SHA1 (OpenSSL, mcsec)", &hmac_test, SRTP_HMAC_SHA1};

/* --- Registration ------------------------------------------------------------------------------ */

int mcsec_srtp_ciphers_register(void) {
    OSSL_PARAM params[2];
    EVP_MAC *mac = NULL;
    int ok = 0;
    aes_ctr = EVP_CIPHER_fetch(NULL, "AES-128-CTR", NULL);
    aes_gcm = EVP_CIPHER_fetch(NULL, "AES-128-GCM", NULL);
    if (aes_ctr == NULL || aes_gcm == NULL || (mac = EVP_MAC_fetch(NULL, "HMAC", NULL)) == NULL ||
        (hmac_sha1 = EVP_MAC_CTX_new(mac)) == NULL)
        goto out;
    params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA1", 0);
    params[1] = OSSL_PARAM_construct_end();
    if (EVP_MAC_CTX_set_params(hmac_sha1, params) != 1) goto out;
    /* Each replacement is self-tested by libsrtp, with our vectors and the replaced type's. */
    ok = srtp_replace_cipher_type(&icm_type, SRTP_AES_ICM_128) == srtp_err_status_ok &&
         srtp_replace_cipher_type(&gcm_type, SRTP_AES_GCM_128) == srtp_err_status_ok &&
         srtp_replace_auth_type(&hmac_type, SRTP_HMAC_SHA1) == srtp_err_status_ok;
out:
    EVP_MAC_free(mac);
    return ok;
}
