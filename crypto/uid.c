/* 3GPP identifiers: UID format 2 (TS 33.179 F.2.1), the key period number, and the GUK-ID
 * (TS 33.180; WIRE.md section 2). */
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "internal.h"

#define URI_MAX_LEN 65535 /* the length travels as len16 */
#define GMK_MAX_LEN 1024
#define UID_FC 0x00
#define GUK_FC 0x50
#define UID_P0 "MIKEY-SAKKE-UID"

/* Length of a NUL-terminated URI, or 0 if it is NULL, empty, or longer than len16 allows. */
static size_t uri_len(const char *uri)
{
    if (uri == NULL)
        return 0;
    size_t n = strnlen(uri, (size_t)URI_MAX_LEN + 1);
    return n > URI_MAX_LEN ? 0 : n;
}

static void put_len16(uint8_t out[2], size_t len)
{
    out[0] = (uint8_t)(len >> 8);
    out[1] = (uint8_t)len;
}

/* SHA-256 update with p || len16(p). */
static int update_param(EVP_MD_CTX *ctx, const void *p, size_t len)
{
    uint8_t l16[2];
    put_len16(l16, len);
    return EVP_DigestUpdate(ctx, p, len) == 1 && EVP_DigestUpdate(ctx, l16, 2) == 1;
}

/* SHA-256 update with the minimal big-endian encoding of v (0 is one 0x00 octet) and its
 * len16. */
static int update_uint(EVP_MD_CTX *ctx, uint64_t v)
{
    uint8_t be[8];
    size_t n = 1;
    while (n < sizeof be && (v >> (8 * n)) != 0)
        n++;
    for (size_t i = 0; i < n; i++)
        be[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
    return update_param(ctx, be, n);
}

mcsec_status_t mcsec_uid_format2(const char *uri, const char *kms_uri, uint64_t key_period,
                                 uint64_t key_period_offset, uint64_t period_no,
                                 uint8_t uid[MCSEC_UID_LEN])
{
    MCSEC_REQUIRE_INIT();
    size_t u_len = uri_len(uri), k_len = uri_len(kms_uri);
    if (u_len == 0 || k_len == 0 || key_period == 0 || uid == NULL)
        return MCSEC_ERR_BAD_INPUT;

    mcsec_status_t rc = MCSEC_ERR_INTERNAL;
    const uint8_t fc = UID_FC;
    unsigned int md_len = 0;
    const EVP_MD *md = mcsec_sha256_md();
    EVP_MD_CTX *ctx = md != NULL ? EVP_MD_CTX_new() : NULL;
    if (ctx == NULL || EVP_DigestInit_ex(ctx, md, NULL) != 1 ||
        EVP_DigestUpdate(ctx, &fc, 1) != 1 || !update_param(ctx, UID_P0, strlen(UID_P0)) ||
        !update_param(ctx, uri, u_len) || !update_param(ctx, kms_uri, k_len) ||
        !update_uint(ctx, key_period) || !update_uint(ctx, key_period_offset) ||
        !update_uint(ctx, period_no) || EVP_DigestFinal_ex(ctx, uid, &md_len) != 1 ||
        md_len != MCSEC_UID_LEN)
        goto out;
    rc = MCSEC_OK;
out:
    if (rc != MCSEC_OK)
        mcsec_memzero(uid, MCSEC_UID_LEN);
    EVP_MD_CTX_free(ctx);
    return rc;
}

mcsec_status_t mcsec_key_period_no(uint64_t ntp_seconds, uint64_t key_period,
                                   uint64_t key_period_offset, uint64_t *period_no)
{
    MCSEC_REQUIRE_INIT();
    if (period_no == NULL || key_period == 0 || ntp_seconds < key_period_offset)
        return MCSEC_ERR_BAD_INPUT;
    *period_no = (ntp_seconds - key_period_offset) / key_period;
    return MCSEC_OK;
}

mcsec_status_t mcsec_guk_id(const uint8_t *gmk, size_t gmk_len, uint32_t gmk_id, const char *uri,
                            uint32_t *guk_id)
{
    MCSEC_REQUIRE_INIT();
    size_t u_len = uri_len(uri);
    if (gmk == NULL || gmk_len == 0 || gmk_len > GMK_MAX_LEN || u_len == 0 || guk_id == NULL)
        return MCSEC_ERR_BAD_INPUT;

    mcsec_status_t rc = MCSEC_ERR_INTERNAL;
    const uint8_t fc = GUK_FC;
    uint8_t l16[2];
    uint8_t mac_out[32];
    size_t got = 0;
    uint32_t salt;
    EVP_MAC_CTX *ctx = mcsec_hmac_ctx(1, gmk, gmk_len);
    put_len16(l16, u_len);
    if (ctx == NULL || EVP_MAC_update(ctx, &fc, 1) != 1 ||
        EVP_MAC_update(ctx, (const uint8_t *)uri, u_len) != 1 ||
        EVP_MAC_update(ctx, l16, sizeof l16) != 1 ||
        EVP_MAC_final(ctx, mac_out, &got, sizeof mac_out) != 1 || got != sizeof mac_out)
        goto out;
    /* The 28 least significant bits of the output: its last 4 octets, big-endian, with the
     * top nibble cleared so that GMK-ID's purpose tag survives the xor. */
    salt = ((uint32_t)mac_out[28] << 24 | (uint32_t)mac_out[29] << 16 |
            (uint32_t)mac_out[30] << 8 | (uint32_t)mac_out[31]) &
           0x0FFFFFFFu;
    *guk_id = gmk_id ^ salt;
    rc = MCSEC_OK;
out:
    mcsec_memzero(mac_out, sizeof mac_out);
    EVP_MAC_CTX_free(ctx);
    return rc;
}
