/* Sealing at rest with the keys secret: scrypt of a secret passphrase, HKDF of a secret key,
 * AES-256-GCM sealing and opening (right and wrong tag), and the handset keystore (create and
 * open under a secret passphrase, key sets and GMKs put and read back). Ciphertexts and tags
 * are public by design; the library declassifies them (crypto/seal.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ct.h"
#include "mcsec/keystore.h"
#include "mcsec/seal.h"
#include "mcsec/secmem.h"

static void seal_primitives(void)
{
    char pass[] = "correct horse battery staple";
    static const uint8_t salt[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
    static const uint8_t aad[] = "ct aad";
    uint8_t kek[MCSEC_SEAL_KEY_LEN], key[MCSEC_SEAL_KEY_LEN], nonce[MCSEC_SEAL_NONCE_LEN] = {7};
    uint8_t pt[48], ct[48], back[48], tag[MCSEC_SEAL_TAG_LEN];
    CT_SECRET(pass, sizeof pass - 1);
    CHECK_STATUS(mcsec_seal_scrypt(pass, sizeof pass - 1, salt, sizeof salt, 10, 8, 1, kek,
                                   sizeof kek),
                 MCSEC_OK);
    CHECK(ct_is_secret(kek, sizeof kek));
    CHECK_STATUS(mcsec_seal_hkdf(kek, sizeof kek, salt, sizeof salt, aad, sizeof aad, key,
                                 sizeof key),
                 MCSEC_OK);
    CHECK(ct_is_secret(key, sizeof key));
    memset(pt, 0xa5, sizeof pt);
    CT_SECRET(pt, sizeof pt);
    CHECK_STATUS(mcsec_seal(key, nonce, aad, sizeof aad, pt, sizeof pt, ct, tag), MCSEC_OK);
    CHECK_STATUS(mcsec_seal_open(key, nonce, aad, sizeof aad, ct, sizeof ct, tag, back), MCSEC_OK);
    CHECK(ct_is_secret(back, sizeof back));
    tag[0] ^= 1; /* the verdict is public */
    CHECK_STATUS(mcsec_seal_open(key, nonce, aad, sizeof aad, ct, sizeof ct, tag, back),
                 MCSEC_ERR_VERIFY);
    mcsec_memzero(kek, sizeof kek);
    mcsec_memzero(key, sizeof key);
}

static void keystore(void)
{
    char tmpl[] = "/tmp/mcsec-ct-ks-XXXXXX", dir[64];
    char pass[] = "handset passphrase";
    mcsec_keystore_t *ks = NULL;
    mcsec_keyset_t set, got;
    mcsec_gmk_record_t gmk, gmk_got;
    CHECK(mkdtemp(tmpl) != NULL);
    snprintf(dir, sizeof dir, "%s/store", tmpl);
    CT_SECRET(pass, sizeof pass - 1);
    CHECK_STATUS(mcsec_keystore_create_with_cost(dir, pass, sizeof pass - 1, 10, 8, 1), MCSEC_OK);
    CHECK_STATUS(mcsec_keystore_open(&ks, dir, pass, sizeof pass - 1), MCSEC_OK);
    if (ks == NULL)
        goto out;
    memset(&set, 0, sizeof set);
    snprintf(set.user_uri, sizeof set.user_uri, "sip:alice@example.org");
    set.period_no = 1500;
    memset(set.uid, 0x11, sizeof set.uid);
    set.rsk[0] = 0x04;
    memset(set.rsk + 1, 0x22, sizeof set.rsk - 1);
    memset(set.ssk, 0x33, sizeof set.ssk);
    set.pvt[0] = 0x04;
    memset(set.pvt + 1, 0x44, sizeof set.pvt - 1);
    CT_SECRET(set.rsk + 1, sizeof set.rsk - 1);
    CT_SECRET(set.ssk, sizeof set.ssk);
    CHECK_STATUS(mcsec_keystore_put_keyset(ks, &set), MCSEC_OK);
    CHECK_STATUS(mcsec_keystore_get_keyset(ks, 1500, &got), MCSEC_OK);
    CHECK(ct_is_secret(got.rsk + 1, sizeof got.rsk - 1) && ct_is_secret(got.ssk, sizeof got.ssk));
    memset(&gmk, 0, sizeof gmk);
    snprintf(gmk.group_uri, sizeof gmk.group_uri, "sip:fire-north@example.org");
    gmk.gmk_id = 0x0a0b0c0du;
    memset(gmk.gmk, 0x55, sizeof gmk.gmk);
    CT_SECRET(gmk.gmk, sizeof gmk.gmk);
    CHECK_STATUS(mcsec_keystore_put_gmk(ks, &gmk), MCSEC_OK);
    CHECK_STATUS(mcsec_keystore_get_gmk(ks, gmk.gmk_id, &gmk_got), MCSEC_OK);
    CHECK(ct_is_secret(gmk_got.gmk, sizeof gmk_got.gmk));
    mcsec_memzero(&set, sizeof set);
    mcsec_memzero(&got, sizeof got);
    mcsec_memzero(&gmk, sizeof gmk);
    mcsec_memzero(&gmk_got, sizeof gmk_got);
out:
    mcsec_keystore_close(ks);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpl);
    CHECK(system(cmd) == 0);
}

void ct_seal(void)
{
    seal_primitives();
    keystore();
}
