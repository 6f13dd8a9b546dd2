/* MIKEY key derivation (RFC 3830 4.1.2-4.1.4 with the RFC 6043 PRF-HMAC-SHA-256 variant)
 * and the SRTP AES-CM key derivation function (RFC 3711 4.3, kdr = 0, index 0). */
/* SHA256_Init/Update/Final: deprecated in OpenSSL 3 for EVP, kept here on purpose (see
 * hmac256_key below). */
#define OPENSSL_SUPPRESS_DEPRECATED
#include <pthread.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/sha.h>

#include "internal.h"

/* RFC 3830 4.1.2: inkey is cut into 256-bit pieces whatever the hash. */
#define KDF_PIECE_LEN 32
/* Bounds on caller-supplied sizes. MIKEY needs far less (keys and salts of <= 32 octets,
 * labels of 9 + RAND <= 255 octets, an SRTP auth key of 94 octets at most). */
#define KDF_MAX_INKEY 1024
#define KDF_MAX_LABEL 1024
#define KDF_MAX_OUT 1024
#define KDF_MAX_RAND 255 /* the RAND payload length is 8 bits */
#define KDF_LABEL_FIXED 9 /* const(4) || cs_id(1) || csb_id(4) */
#define SRTP_SALT_LEN 14
#define SRTP_LABEL_MAX 0x07 /* RFC 3711 0x00-0x05, RFC 6904 0x06-0x07 */
#define AES_BLOCK 16

/* Keyless HMAC contexts with their digest set, made once and duplicated per use: fetching the
 * HMAC implementation and the digest by name (EVP_MAC_fetch, digest parameters) costs far more
 * than the HMAC itself under OpenSSL 3 (it takes global locks), and a call join derives six
 * keys. A template is never modified after it is made, so duplicating it from several threads
 * is safe. */
static EVP_MAC_CTX *hmac_tmpl[2]; /* [0] SHA-1, [1] SHA-256 */
static pthread_once_t hmac_once = PTHREAD_ONCE_INIT;

static void hmac_tmpl_init(void)
{
    static const char *const digests[2] = {"SHA1", "SHA256"};
    EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    for (int i = 0; i < 2 && mac != NULL; i++) {
        OSSL_PARAM params[] = {
            OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)digests[i], 0),
            OSSL_PARAM_construct_end(),
        };
        EVP_MAC_CTX *ctx = EVP_MAC_CTX_new(mac);
        if (ctx != NULL && EVP_MAC_CTX_set_params(ctx, params) != 1) {
            EVP_MAC_CTX_free(ctx);
            ctx = NULL;
        }
        hmac_tmpl[i] = ctx;
    }
    EVP_MAC_free(mac);
}

static pthread_once_t sha256_once = PTHREAD_ONCE_INIT;
static EVP_MD *sha256_md;
static void sha256_init(void) { sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL); }

const EVP_MD *mcsec_sha256_md(void)
{
    pthread_once(&sha256_once, sha256_init);
    return sha256_md;
}

EVP_MAC_CTX *mcsec_hmac_ctx(int sha256, const uint8_t *key, size_t key_len)
{
    pthread_once(&hmac_once, hmac_tmpl_init);
    EVP_MAC_CTX *t = hmac_tmpl[sha256 ? 1 : 0], *ctx = t != NULL ? EVP_MAC_CTX_dup(t) : NULL;
    if (ctx != NULL && EVP_MAC_init(ctx, key, key_len, NULL) != 1) {
        EVP_MAC_CTX_free(ctx);
        ctx = NULL;
    }
    return ctx;
}

mcsec_status_t mcsec_hmac_sha256(const uint8_t *key, size_t key_len, const uint8_t *msg,
                                 size_t msg_len, uint8_t out[32])
{
    MCSEC_REQUIRE_INIT();
    if (key == NULL || key_len == 0 || (msg == NULL && msg_len > 0) || out == NULL)
        return MCSEC_ERR_BAD_INPUT;
    size_t got = 0;
    EVP_MAC_CTX *ctx = mcsec_hmac_ctx(1, key, key_len);
    int ok = ctx != NULL && EVP_MAC_update(ctx, msg, msg_len) == 1 &&
             EVP_MAC_final(ctx, out, &got, 32) == 1 && got == 32;
    EVP_MAC_CTX_free(ctx); /* cleanses the keyed state */
    return ok ? MCSEC_OK : MCSEC_ERR_INTERNAL;
}

/* HMAC(key set on ctx, a || b) into out (h_len octets). b may be NULL when b_len is 0.
 * out may alias a: a is fully absorbed before out is written. */
static mcsec_status_t hmac_ab(EVP_MAC_CTX *ctx, const uint8_t *a, size_t a_len, const uint8_t *b,
                              size_t b_len, uint8_t *out, size_t h_len)
{
    size_t got = 0;
    if (EVP_MAC_init(ctx, NULL, 0, NULL) != 1 || EVP_MAC_update(ctx, a, a_len) != 1)
        return MCSEC_ERR_INTERNAL;
    if (b_len > 0 && EVP_MAC_update(ctx, b, b_len) != 1)
        return MCSEC_ERR_INTERNAL;
    if (EVP_MAC_final(ctx, out, &got, h_len) != 1 || got != h_len)
        return MCSEC_ERR_INTERNAL;
    return MCSEC_OK;
}

/* HMAC-SHA-256 for the PRF: the key's inner and outer SHA-256 states are computed once per
 * key piece and copied for each HMAC. Through EVP_MAC every HMAC cost a provider dispatch and a
 * state copy with allocation, and a call join's five derivations were a tenth of the join
 * (callgrind, docs/performance.md); the low-level SHA-256 runs the same CPU code (SHA-NI/AVX2)
 * without that. Pieces are at most 32 octets, under the 64-octet block: no key hashing. */
typedef struct {
    SHA256_CTX inner, outer;
} hmac256_key_t;

static void hmac256_key(hmac256_key_t *k, const uint8_t *key, size_t key_len)
{
    uint8_t pad[SHA256_CBLOCK];
    memset(pad, 0x36, sizeof pad);
    for (size_t i = 0; i < key_len; i++)
        pad[i] ^= key[i];
    SHA256_Init(&k->inner);
    SHA256_Update(&k->inner, pad, sizeof pad);
    for (size_t i = 0; i < sizeof pad; i++)
        pad[i] ^= 0x36 ^ 0x5c;
    SHA256_Init(&k->outer);
    SHA256_Update(&k->outer, pad, sizeof pad);
    mcsec_memzero(pad, sizeof pad);
}

/* The PRF's key piece: the SHA-256 states above, or a keyed EVP HMAC (SHA-1). */
typedef struct {
    hmac256_key_t sha256; /* when ctx is NULL */
    EVP_MAC_CTX *ctx;
} prf_key_t;

/* HMAC(k, a || b) into out (h_len octets); out may alias a. */
static mcsec_status_t prf_hmac(const prf_key_t *k, const uint8_t *a, size_t a_len,
                               const uint8_t *b, size_t b_len, uint8_t *out, size_t h_len)
{
    if (k->ctx != NULL)
        return hmac_ab(k->ctx, a, a_len, b, b_len, out, h_len);
    SHA256_CTX c = k->sha256.inner;
    uint8_t h[SHA256_DIGEST_LENGTH];
    SHA256_Update(&c, a, a_len);
    if (b_len > 0)
        SHA256_Update(&c, b, b_len);
    SHA256_Final(h, &c);
    c = k->sha256.outer;
    SHA256_Update(&c, h, sizeof h);
    SHA256_Final(out, &c);
    mcsec_memzero(&c, sizeof c);
    mcsec_memzero(h, sizeof h);
    return MCSEC_OK;
}

/* acc ^= P(s, label, m) truncated to out_len, where s is the key piece k:
 * P = HMAC(s, A_1 || label) || HMAC(s, A_2 || label) || ..., A_0 = label,
 * A_i = HMAC(s, A_(i-1)). */
static mcsec_status_t prf_piece_xor(const prf_key_t *k, size_t h_len, const uint8_t *label,
                                    size_t label_len, uint8_t *acc, size_t out_len)
{
    uint8_t a[EVP_MAX_MD_SIZE];
    uint8_t blk[EVP_MAX_MD_SIZE];
    mcsec_status_t rc = prf_hmac(k, label, label_len, NULL, 0, a, h_len); /* A_1 */
    if (rc != MCSEC_OK)
        goto out;
    for (size_t done = 0; done < out_len;) {
        rc = prf_hmac(k, a, h_len, label, label_len, blk, h_len);
        if (rc != MCSEC_OK)
            goto out;
        size_t n = out_len - done < h_len ? out_len - done : h_len;
        for (size_t i = 0; i < n; i++)
            acc[done + i] ^= blk[i];
        done += n;
        if (done < out_len) {
            rc = prf_hmac(k, a, h_len, NULL, 0, a, h_len); /* A_(i+1) */
            if (rc != MCSEC_OK)
                goto out;
        }
    }
out:
    mcsec_memzero(a, sizeof a);
    mcsec_memzero(blk, sizeof blk);
    return rc;
}

mcsec_status_t mcsec_mikey_prf(mcsec_mikey_prf_t prf, const uint8_t *inkey, size_t inkey_len,
                               const uint8_t *label, size_t label_len, uint8_t *out,
                               size_t out_len)
{
    MCSEC_REQUIRE_INIT();
    if (inkey == NULL || inkey_len == 0 || inkey_len > KDF_MAX_INKEY || label == NULL ||
        label_len == 0 || label_len > KDF_MAX_LABEL || out == NULL || out_len == 0 ||
        out_len > KDF_MAX_OUT)
        return MCSEC_ERR_BAD_INPUT;

    size_t h_len;
    switch (prf) {
    case MCSEC_MIKEY_PRF_HMAC_SHA1:
        h_len = 20;
        break;
    case MCSEC_MIKEY_PRF_HMAC_SHA256:
        h_len = 32;
        break;
    default:
        return MCSEC_ERR_UNSUPPORTED;
    }

    mcsec_status_t rc = MCSEC_ERR_INTERNAL;
    uint8_t acc[KDF_MAX_OUT]; /* out may alias inkey or label: write it only at the end */
    prf_key_t k;
    k.ctx = NULL;
    memset(acc, 0, out_len);
    for (size_t off = 0; off < inkey_len; off += KDF_PIECE_LEN) {
        size_t piece = inkey_len - off < KDF_PIECE_LEN ? inkey_len - off : KDF_PIECE_LEN;
        if (prf == MCSEC_MIKEY_PRF_HMAC_SHA256) {
            hmac256_key(&k.sha256, inkey + off, piece);
        } else {
            EVP_MAC_CTX_free(k.ctx);
            if ((k.ctx = mcsec_hmac_ctx(0, inkey + off, piece)) == NULL) {
                rc = MCSEC_ERR_INTERNAL;
                goto out;
            }
        }
        rc = prf_piece_xor(&k, h_len, label, label_len, acc, out_len);
        if (rc != MCSEC_OK)
            goto out;
    }
    memcpy(out, acc, out_len);
    rc = MCSEC_OK;
out:
    if (rc != MCSEC_OK)
        mcsec_memzero(out, out_len);
    mcsec_memzero(acc, out_len);
    mcsec_memzero(&k.sha256, sizeof k.sha256);
    EVP_MAC_CTX_free(k.ctx); /* frees and cleanses the keyed HMAC state */
    return rc;
}

mcsec_status_t mcsec_mikey_derive(mcsec_mikey_prf_t prf, const uint8_t *inkey, size_t inkey_len,
                                  uint32_t constant, uint8_t cs_id, uint32_t csb_id,
                                  const uint8_t *rand, size_t rand_len, uint8_t *out,
                                  size_t out_len)
{
    MCSEC_REQUIRE_INIT();
    if ((rand == NULL && rand_len != 0) || rand_len > KDF_MAX_RAND)
        return MCSEC_ERR_BAD_INPUT;
    uint8_t label[KDF_LABEL_FIXED + KDF_MAX_RAND];
    label[0] = (uint8_t)(constant >> 24);
    label[1] = (uint8_t)(constant >> 16);
    label[2] = (uint8_t)(constant >> 8);
    label[3] = (uint8_t)constant;
    label[4] = cs_id;
    label[5] = (uint8_t)(csb_id >> 24);
    label[6] = (uint8_t)(csb_id >> 16);
    label[7] = (uint8_t)(csb_id >> 8);
    label[8] = (uint8_t)csb_id;
    if (rand_len > 0)
        memcpy(label + KDF_LABEL_FIXED, rand, rand_len);
    /* The label is public (RAND travels in clear): nothing to wipe here. */
    return mcsec_mikey_prf(prf, inkey, inkey_len, label, KDF_LABEL_FIXED + rand_len, out,
                           out_len);
}

mcsec_status_t mcsec_srtp_kdf(const uint8_t *master_key, size_t master_key_len,
                              const uint8_t master_salt[14], uint8_t label, uint8_t *out,
                              size_t out_len)
{
    MCSEC_REQUIRE_INIT();
    if (master_key == NULL || master_salt == NULL || out == NULL || out_len == 0 ||
        out_len > KDF_MAX_OUT || label > SRTP_LABEL_MAX)
        return MCSEC_ERR_BAD_INPUT;
    const EVP_CIPHER *cipher;
    switch (master_key_len) {
    case 16:
        cipher = EVP_aes_128_ctr();
        break;
    case 24:
        cipher = EVP_aes_192_ctr();
        break;
    case 32:
        cipher = EVP_aes_256_ctr();
        break;
    default:
        return MCSEC_ERR_BAD_LENGTH;
    }

    mcsec_status_t rc = MCSEC_ERR_INTERNAL;
    uint8_t iv[AES_BLOCK];
    uint8_t ks[KDF_MAX_OUT];
    int len1 = 0, len2 = 0;
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    if (ctx == NULL)
        goto out;
    /* key_id = label || r with r = index DIV kdr = 0 (48 bits): aligned on the least
     * significant end of the 112-bit salt, the label lands on octet 7.
     * IV = (key_id xor master_salt) * 2^16. out_len <= 1024 keeps the block counter within
     * the 16 low bits, as RFC 3711 4.3.3 requires. */
    memcpy(iv, master_salt, SRTP_SALT_LEN);
    iv[7] ^= label;
    iv[14] = 0;
    iv[15] = 0;
    memset(ks, 0, out_len);
    if (EVP_EncryptInit_ex(ctx, cipher, NULL, master_key, iv) != 1 ||
        EVP_EncryptUpdate(ctx, ks, &len1, ks, (int)out_len) != 1 ||
        EVP_EncryptFinal_ex(ctx, ks + len1, &len2) != 1 || (size_t)len1 + (size_t)len2 != out_len)
        goto out;
    memcpy(out, ks, out_len);
    rc = MCSEC_OK;
out:
    if (rc != MCSEC_OK)
        mcsec_memzero(out, out_len);
    mcsec_memzero(ks, sizeof ks);
    mcsec_memzero(iv, sizeof iv); /* the salt is a secret too */
    EVP_CIPHER_CTX_free(ctx);     /* cleanses the key schedule */
    return rc;
}

/* --- Known-answer self test ----------------------------------------------------------- */

/* tests/vectors/mikey_kdf.txt, first line: TEK, cs_id 4, csb_id 0x0633F457. */
static const uint8_t kat_inkey[16] = {0xA2, 0x7B, 0x7D, 0x57, 0x8E, 0xEB, 0x9B, 0x1E,
                                      0xE7, 0x70, 0x5E, 0x38, 0x59, 0x96, 0xD3, 0x00};
static const uint8_t kat_rand[16] = {0x43, 0x39, 0xF6, 0x2F, 0x55, 0xAA, 0xC8, 0x63,
                                     0x48, 0x84, 0x6A, 0x48, 0x2C, 0x89, 0x38, 0x02};
static const uint8_t kat_tek[16] = {0x59, 0xaa, 0xa4, 0x9e, 0xbb, 0x54, 0x81, 0x36,
                                    0x02, 0xb7, 0xcc, 0x16, 0x59, 0x61, 0xb4, 0xe8};
/* RFC 3711 Appendix B.3. */
static const uint8_t kat_master_key[16] = {0xE1, 0xF9, 0x7A, 0x0D, 0x3E, 0x01, 0x8B, 0xE0,
                                           0xD6, 0x4F, 0xA3, 0x2C, 0x06, 0xDE, 0x41, 0x39};
static const uint8_t kat_master_salt[14] = {0x0E, 0xC6, 0x75, 0xAD, 0x49, 0x8A, 0xFE,
                                            0xEB, 0xB6, 0x96, 0x0B, 0x3A, 0xAB, 0xE6};
static const uint8_t kat_cipher_key[16] = {0xC6, 0x1E, 0x7A, 0x93, 0x74, 0x4F, 0x39, 0xEE,
                                           0x10, 0x73, 0x4A, 0xFE, 0x3F, 0xF7, 0xA0, 0x87};
/* tests/vectors/uid.txt, first line. */
static const uint8_t kat_uid[MCSEC_UID_LEN] = {
    0x8f, 0x84, 0xe1, 0x03, 0x27, 0x52, 0x1e, 0x7d, 0x11, 0x03, 0x54, 0x06, 0xc1, 0x0f, 0x4e, 0x21,
    0x42, 0xe1, 0xb4, 0xd9, 0x78, 0x10, 0x71, 0xff, 0x9a, 0x67, 0x0d, 0x15, 0x30, 0x4f, 0x3e, 0x4a};

mcsec_status_t mcsec_kdf_selftest(void)
{
    uint8_t buf[MCSEC_UID_LEN];
    mcsec_status_t rc = MCSEC_ERR_SELFTEST;
    if (mcsec_mikey_derive(MCSEC_MIKEY_PRF_HMAC_SHA256, kat_inkey, sizeof kat_inkey,
                           MCSEC_MIKEY_CONST_TEK, 4, 0x0633F457u, kat_rand, sizeof kat_rand, buf,
                           sizeof kat_tek) != MCSEC_OK ||
        !mcsec_ct_equal(buf, kat_tek, sizeof kat_tek))
        goto out;
    if (mcsec_srtp_kdf(kat_master_key, sizeof kat_master_key, kat_master_salt, 0x00, buf,
                       sizeof kat_cipher_key) != MCSEC_OK ||
        !mcsec_ct_equal(buf, kat_cipher_key, sizeof kat_cipher_key))
        goto out;
    if (mcsec_uid_format2("sip:alice@example.org", "kms.example.org", 2592000, 0, 1000, buf) !=
            MCSEC_OK ||
        !mcsec_ct_equal(buf, kat_uid, sizeof kat_uid))
        goto out;
    rc = MCSEC_OK;
out:
    mcsec_memzero(buf, sizeof buf);
    return rc;
}
