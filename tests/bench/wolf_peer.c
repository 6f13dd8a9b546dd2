/* The wolfSSL peer (see wolf_peer.h). This is the only translation unit that includes
 * wolfSSL headers; it must never include OpenSSL or mcsec headers.
 *
 * What this wrapper learned about wolfCrypt 5.5.4 (Debian build), checked against the
 * RFC 6507 / RFC 6508 Appendix A vectors:
 *  - Points: wc_Export*PublicKey / wc_Encode*(raw = 0) give 04 || x || y, raw = 1 gives
 *    x || y; the Import / Decode functions accept both (a first octet other than 04 in a
 *    65 / 257-octet point gives ASN_PARSE_E).
 *  - ECCSI signatures are r || s || PVT with PVT as 04 || x || y: 129 octets, as mcsec.
 *    wc_VerifyEccsiHash takes PVT from the signature but needs HS for (ID, that PVT) set
 *    beforehand with wc_SetEccsiHash; wc_SignEccsiHash uses the HS set the same way.
 *  - wc_VerifyEccsiHash clobbers the signing state of its key: a wc_SignEccsiHash after it
 *    on the same key gives signatures that verify nowhere, even after wc_SetEccsiHash
 *    (wc_SetEccsiPair again repairs it). So verification uses a second key.
 *  - SAKKE: wc_MakeSakkeEncapsulatedSSV writes R (257 octets, "auth", wc_GetSakkeAuthSize
 *    = 257) and replaces the SSV buffer with H in place; mcsec's R || H is auth || ssv.
 *    wc_DeriveSakkeSSV is the inverse (H in, SSV out, SAKKE_VERIFY_FAIL_E if R != [r]I).
 *  - wc_ImportSakkePrivateKey / wc_ImportEccsiPrivateKey import the secret only: the public
 *    key stays unset (exports zeros / BAD_STATE_E). We compute it and import secret || public.
 *  - Identifiers are used as given, as big-endian integers (b) or hash input (ECCSI ID).
 *  - This build has no SP 1024-bit code, so the RSK pairing table and the point-I table have
 *    length 0; only point I itself can be cached. */
#include <wolfssl/options.h>

#include <wolfssl/version.h>
#include <wolfssl/wolfcrypt/settings.h>

#include <wolfssl/wolfcrypt/eccsi.h>
#include <wolfssl/wolfcrypt/error-crypt.h>
#include <wolfssl/wolfcrypt/random.h>
#include <wolfssl/wolfcrypt/sakke.h>
#include <wolfssl/wolfcrypt/wc_port.h>

#include <stdlib.h>
#include <string.h>

#include "wolf_peer.h"

static WC_RNG peer_rng;
static int peer_ready;

int wolf_peer_init(void) {
    if (peer_ready) return 0;
    int ret = wolfCrypt_Init();
    if (ret == 0) ret = wc_InitRng(&peer_rng);
    if (ret == 0) peer_ready = 1;
    return ret;
}

void wolf_peer_cleanup(void) {
    if (!peer_ready) return;
    wc_FreeRng(&peer_rng);
    wolfCrypt_Cleanup();
    peer_ready = 0;
}

const char *wolf_peer_version(void) {
    return LIBWOLFSSL_VERSION_STRING;
}

const char *wolf_peer_strerror(int err) {
    return wc_GetErrorString(err);
}

static void wipe(void *p, size_t n) {
    volatile uint8_t *v = p;
    while (n--)
        *v++ = 0;
}

/* ====================================================================================== */
/* ECCSI                                                                                   */
/* ====================================================================================== */

struct wolf_eccsi {
    EccsiKey key;  /* KMS / signer */
    EccsiKey vkey; /* verifier: the same KPAK, created on first use (see the top comment) */
    int key_init, vkey_init;
    mp_int ssk; /* the signer's SSK, kept alive for wc_SetEccsiPair */
    int ssk_init;
    ecc_point *pvt;     /* the signer's PVT */
    ecc_point *scratch; /* decoded PVTs */
    uint8_t hs[WOLF_PEER_ECCSI_HASH_LEN];
    int signer;
};

static int eccsi_alloc(wolf_eccsi_t **out) {
    *out = NULL;
    int ret = wolf_peer_init();
    if (ret != 0) return ret;
    wolf_eccsi_t *e = calloc(1, sizeof *e);
    if (e == NULL) return MEMORY_E;
    ret = wc_InitEccsiKey(&e->key, NULL, INVALID_DEVID);
    if (ret == 0) {
        e->key_init = 1;
        ret = mp_init(&e->ssk);
    }
    if (ret == 0) {
        e->ssk_init = 1;
        e->pvt = wc_ecc_new_point();
        e->scratch = wc_ecc_new_point();
        if (e->pvt == NULL || e->scratch == NULL) ret = MEMORY_E;
    }
    if (ret != 0) {
        wolf_eccsi_free(e);
        return ret;
    }
    *out = e;
    return 0;
}

void wolf_eccsi_free(wolf_eccsi_t *e) {
    if (e == NULL) return;
    if (e->key_init) wc_FreeEccsiKey(&e->key);
    if (e->vkey_init) wc_FreeEccsiKey(&e->vkey);
    if (e->ssk_init) {
        mp_forcezero(&e->ssk);
        mp_free(&e->ssk);
    }
    if (e->pvt != NULL) wc_ecc_del_point(e->pvt);
    if (e->scratch != NULL) wc_ecc_del_point(e->scratch);
    wipe(e, sizeof *e);
    free(e);
}

int wolf_eccsi_kms_generate(wolf_eccsi_t **out) {
    int ret = eccsi_alloc(out);
    if (ret == 0) ret = wc_MakeEccsiKey(&(*out)->key, &peer_rng);
    if (ret != 0) {
        wolf_eccsi_free(*out);
        *out = NULL;
    }
    return ret;
}

int wolf_eccsi_kms_import(wolf_eccsi_t **out, const uint8_t ksak[WOLF_PEER_ECCSI_SCALAR_LEN]) {
    uint8_t both[WOLF_PEER_ECCSI_SCALAR_LEN + 2 * WOLF_PEER_ECCSI_SCALAR_LEN];
    EccsiKey *tmp = NULL;
    int tmp_init = 0;
    int ret = eccsi_alloc(out);
    if (ret != 0) return ret;
    /* The secret-only import leaves KPAK unset: derive it with the ECC layer, then import
     * KSAK || KPAK (raw x || y) into the real key. */
    tmp = calloc(1, sizeof *tmp);
    if (tmp == NULL) ret = MEMORY_E;
    if (ret == 0) ret = wc_InitEccsiKey(tmp, NULL, INVALID_DEVID);
    if (ret == 0) {
        tmp_init = 1;
        ret = wc_ImportEccsiPrivateKey(tmp, ksak, WOLF_PEER_ECCSI_SCALAR_LEN);
    }
    if (ret == 0) ret = wc_ecc_make_pub(&tmp->ecc, NULL);
    if (ret == 0) {
        word32 sz = 2 * WOLF_PEER_ECCSI_SCALAR_LEN;
        ret = wc_ExportEccsiPublicKey(tmp, both + WOLF_PEER_ECCSI_SCALAR_LEN, &sz, 1);
        if (ret == 0 && sz != 2 * WOLF_PEER_ECCSI_SCALAR_LEN) ret = BUFFER_E;
    }
    if (ret == 0) {
        memcpy(both, ksak, WOLF_PEER_ECCSI_SCALAR_LEN);
        ret = wc_ImportEccsiKey(&(*out)->key, both, sizeof both);
    }
    wipe(both, sizeof both);
    if (tmp_init) wc_FreeEccsiKey(tmp);
    free(tmp);
    if (ret != 0) {
        wolf_eccsi_free(*out);
        *out = NULL;
    }
    return ret;
}

int wolf_eccsi_public(wolf_eccsi_t **out, const uint8_t kpak[WOLF_PEER_ECCSI_POINT_LEN]) {
    int ret = eccsi_alloc(out);
    if (ret == 0) ret = wc_ImportEccsiPublicKey(&(*out)->key, kpak, WOLF_PEER_ECCSI_POINT_LEN, 0);
    if (ret != 0) {
        wolf_eccsi_free(*out);
        *out = NULL;
    }
    return ret;
}

int wolf_eccsi_kpak(wolf_eccsi_t *e, uint8_t kpak[WOLF_PEER_ECCSI_POINT_LEN]) {
    word32 sz = WOLF_PEER_ECCSI_POINT_LEN;
    int ret = wc_ExportEccsiPublicKey(&e->key, kpak, &sz, 0);
    if (ret == 0 && sz != WOLF_PEER_ECCSI_POINT_LEN) ret = BUFFER_E;
    return ret;
}

int wolf_eccsi_ksak(wolf_eccsi_t *e, uint8_t ksak[WOLF_PEER_ECCSI_SCALAR_LEN]) {
    word32 sz = WOLF_PEER_ECCSI_SCALAR_LEN;
    int ret = wc_ExportEccsiPrivateKey(&e->key, ksak, &sz);
    if (ret == 0 && sz != WOLF_PEER_ECCSI_SCALAR_LEN) ret = BUFFER_E;
    return ret;
}

static int eccsi_verifier_key(wolf_eccsi_t *e) {
    uint8_t kpak[WOLF_PEER_ECCSI_POINT_LEN];
    if (e->vkey_init) return 0;
    int ret = wolf_eccsi_kpak(e, kpak);
    if (ret == 0) ret = wc_InitEccsiKey(&e->vkey, NULL, INVALID_DEVID);
    if (ret == 0) {
        e->vkey_init = 1;
        ret = wc_ImportEccsiPublicKey(&e->vkey, kpak, sizeof kpak, 1);
    }
    if (ret != 0 && e->vkey_init) {
        wc_FreeEccsiKey(&e->vkey);
        e->vkey_init = 0;
    }
    return ret;
}

static int eccsi_decode_pvt(wolf_eccsi_t *e, const uint8_t pvt[WOLF_PEER_ECCSI_POINT_LEN],
                            ecc_point *pt) {
    if (pvt[0] != 0x04) /* wolfSSL refuses other tags too (ASN_PARSE_E) */
        return ECC_BAD_ARG_E;
    return wc_DecodeEccsiPvt(&e->key, pvt, WOLF_PEER_ECCSI_POINT_LEN, pt);
}

int wolf_eccsi_issue(wolf_eccsi_t *e, const uint8_t *id, size_t id_len,
                     uint8_t ssk[WOLF_PEER_ECCSI_SCALAR_LEN],
                     uint8_t pvt[WOLF_PEER_ECCSI_POINT_LEN]) {
    mp_int k;
    ecc_point *p = wc_ecc_new_point();
    int ret = p == NULL ? MEMORY_E : mp_init(&k);
    if (p == NULL) return ret;
    if (ret == 0)
        ret = wc_MakeEccsiPair(&e->key, &peer_rng, WC_HASH_TYPE_SHA256, id, (word32)id_len, &k, p);
    if (ret == 0) ret = mp_to_unsigned_bin_len(&k, ssk, WOLF_PEER_ECCSI_SCALAR_LEN);
    if (ret == 0) {
        word32 sz = WOLF_PEER_ECCSI_POINT_LEN;
        ret = wc_EncodeEccsiPvt(&e->key, p, pvt, &sz, 0);
        if (ret == 0 && sz != WOLF_PEER_ECCSI_POINT_LEN) ret = BUFFER_E;
    }
    mp_forcezero(&k);
    mp_free(&k);
    wc_ecc_del_point(p);
    return ret;
}

int wolf_eccsi_hash_hs(wolf_eccsi_t *e, const uint8_t *id, size_t id_len,
                       const uint8_t pvt[WOLF_PEER_ECCSI_POINT_LEN],
                       uint8_t hs[WOLF_PEER_ECCSI_HASH_LEN]) {
    byte hs_len = WOLF_PEER_ECCSI_HASH_LEN;
    int ret = eccsi_verifier_key(e);
    if (ret == 0) ret = eccsi_decode_pvt(e, pvt, e->scratch);
    if (ret == 0)
        ret = wc_HashEccsiId(&e->vkey, WC_HASH_TYPE_SHA256, id, (word32)id_len, e->scratch, hs,
                             &hs_len);
    if (ret == 0 && hs_len != WOLF_PEER_ECCSI_HASH_LEN) ret = BUFFER_E;
    return ret;
}

int wolf_eccsi_validate(wolf_eccsi_t *e, const uint8_t *id, size_t id_len,
                        const uint8_t ssk[WOLF_PEER_ECCSI_SCALAR_LEN],
                        const uint8_t pvt[WOLF_PEER_ECCSI_POINT_LEN], int *valid) {
    mp_int k;
    *valid = 0;
    int ret = mp_init(&k);
    if (ret != 0) return ret;
    ret = mp_read_unsigned_bin(&k, ssk, WOLF_PEER_ECCSI_SCALAR_LEN);
    if (ret == 0) ret = eccsi_verifier_key(e);
    if (ret == 0) ret = eccsi_decode_pvt(e, pvt, e->scratch);
    if (ret == 0)
        ret = wc_ValidateEccsiPair(&e->vkey, WC_HASH_TYPE_SHA256, id, (word32)id_len, &k,
                                   e->scratch, valid);
    mp_forcezero(&k);
    mp_free(&k);
    return ret;
}

int wolf_eccsi_set_signer(wolf_eccsi_t *e, const uint8_t *id, size_t id_len,
                          const uint8_t ssk[WOLF_PEER_ECCSI_SCALAR_LEN],
                          const uint8_t pvt[WOLF_PEER_ECCSI_POINT_LEN]) {
    byte hs_len = WOLF_PEER_ECCSI_HASH_LEN;
    e->signer = 0;
    int ret = mp_read_unsigned_bin(&e->ssk, ssk, WOLF_PEER_ECCSI_SCALAR_LEN);
    if (ret == 0) ret = eccsi_decode_pvt(e, pvt, e->pvt);
    if (ret == 0) ret = wc_SetEccsiPair(&e->key, &e->ssk, e->pvt);
    if (ret == 0)
        ret = wc_HashEccsiId(&e->key, WC_HASH_TYPE_SHA256, id, (word32)id_len, e->pvt, e->hs,
                             &hs_len);
    if (ret == 0 && hs_len != WOLF_PEER_ECCSI_HASH_LEN) ret = BUFFER_E;
    if (ret == 0) e->signer = 1;
    return ret;
}

int wolf_eccsi_sign(wolf_eccsi_t *e, const uint8_t *msg, size_t msg_len,
                    uint8_t sig[WOLF_PEER_ECCSI_SIG_LEN]) {
    if (!e->signer) return BAD_STATE_E;
    int ret = wc_SetEccsiHash(&e->key, e->hs, WOLF_PEER_ECCSI_HASH_LEN);
    word32 sz = WOLF_PEER_ECCSI_SIG_LEN;
    if (ret == 0)
        ret = wc_SignEccsiHash(&e->key, &peer_rng, WC_HASH_TYPE_SHA256, msg, (word32)msg_len, sig,
                               &sz);
    if (ret == 0 && sz != WOLF_PEER_ECCSI_SIG_LEN) ret = BUFFER_E;
    return ret;
}

int wolf_eccsi_verify(wolf_eccsi_t *e, const uint8_t *id, size_t id_len, const uint8_t *msg,
                      size_t msg_len, const uint8_t *sig, size_t sig_len, int *valid) {
    uint8_t hs[WOLF_PEER_ECCSI_HASH_LEN];
    byte hs_len = sizeof hs;
    *valid = 0;
    if (sig_len != WOLF_PEER_ECCSI_SIG_LEN || sig[2 * WOLF_PEER_ECCSI_SCALAR_LEN] != 0x04)
        return ECC_BAD_ARG_E;
    int ret = eccsi_verifier_key(e);
    if (ret == 0) ret = wc_DecodeEccsiPvtFromSig(&e->vkey, sig, (word32)sig_len, e->scratch);
    if (ret == 0)
        ret = wc_HashEccsiId(&e->vkey, WC_HASH_TYPE_SHA256, id, (word32)id_len, e->scratch, hs,
                             &hs_len);
    if (ret == 0) ret = wc_SetEccsiHash(&e->vkey, hs, hs_len);
    if (ret == 0)
        ret = wc_VerifyEccsiHash(&e->vkey, WC_HASH_TYPE_SHA256, msg, (word32)msg_len, sig,
                                 (word32)sig_len, valid);
    if (ret != 0) *valid = 0;
    return ret;
}

/* ====================================================================================== */
/* SAKKE                                                                                   */
/* ====================================================================================== */

struct wolf_sakke {
    SakkeKey key;
    int key_init;
    ecc_point *rsk; /* the receiver's RSK: wc_SetSakkeRsk keeps a pointer to it */
    byte *rsk_table;
    word32 rsk_table_len;
    byte *i_table;
    word32 i_table_len;
    uint8_t i_id[SAKKE_ID_MAX_SIZE]; /* identity whose point I (and table) is installed */
    size_t i_id_len;
    int have_i;
    uint8_t rx_id[SAKKE_ID_MAX_SIZE]; /* the receiver identity */
    size_t rx_id_len;
    int have_rx;
    int pre; /* WOLF_SAKKE_PRE_* */
};

static int sakke_alloc(wolf_sakke_t **out) {
    *out = NULL;
    int ret = wolf_peer_init();
    if (ret != 0) return ret;
    wolf_sakke_t *s = calloc(1, sizeof *s);
    if (s == NULL) return MEMORY_E;
    ret = wc_InitSakkeKey_ex(&s->key, WOLF_PEER_SAKKE_SCALAR_LEN, ECC_SAKKE_1, NULL, INVALID_DEVID);
    if (ret == 0) {
        s->key_init = 1;
        s->rsk = wc_ecc_new_point();
        if (s->rsk == NULL) ret = MEMORY_E;
    }
    if (ret != 0) {
        wolf_sakke_free(s);
        return ret;
    }
    *out = s;
    return 0;
}

static void sakke_drop_i_table(wolf_sakke_t *s) {
    if (s->i_table != NULL) {
        (void)wc_ClearSakkePointITable(&s->key);
        free(s->i_table);
        s->i_table = NULL;
        s->i_table_len = 0;
    }
    s->pre &= ~WOLF_SAKKE_PRE_POINT_I_TABLE;
}

void wolf_sakke_free(wolf_sakke_t *s) {
    if (s == NULL) return;
    if (s->key_init) wc_FreeSakkeKey(&s->key);
    if (s->rsk != NULL) wc_ecc_del_point(s->rsk);
    if (s->rsk_table != NULL) {
        wipe(s->rsk_table, s->rsk_table_len);
        free(s->rsk_table);
    }
    free(s->i_table);
    wipe(s, sizeof *s);
    free(s);
}

int wolf_sakke_kms_generate(wolf_sakke_t **out) {
    int ret = sakke_alloc(out);
    if (ret == 0) ret = wc_MakeSakkeKey(&(*out)->key, &peer_rng);
    if (ret != 0) {
        wolf_sakke_free(*out);
        *out = NULL;
    }
    return ret;
}

int wolf_sakke_kms_import(wolf_sakke_t **out, const uint8_t z[WOLF_PEER_SAKKE_SCALAR_LEN]) {
    uint8_t both[3 * WOLF_PEER_SAKKE_SCALAR_LEN]; /* z || Zx || Zy */
    SakkeKey *tmp = NULL;
    ecc_point *pub = NULL;
    int tmp_init = 0;
    int ret = sakke_alloc(out);
    if (ret != 0) return ret;
    /* wc_ImportSakkePrivateKey leaves Z unset; wc_MakeSakkePublicKey computes [z]P. */
    tmp = calloc(1, sizeof *tmp);
    pub = wc_ecc_new_point();
    if (tmp == NULL || pub == NULL) ret = MEMORY_E;
    if (ret == 0)
        ret = wc_InitSakkeKey_ex(tmp, WOLF_PEER_SAKKE_SCALAR_LEN, ECC_SAKKE_1, NULL, INVALID_DEVID);
    if (ret == 0) {
        tmp_init = 1;
        ret = wc_ImportSakkePrivateKey(tmp, z, WOLF_PEER_SAKKE_SCALAR_LEN);
    }
    if (ret == 0) ret = wc_MakeSakkePublicKey(tmp, pub);
    if (ret == 0) {
        word32 sz = 2 * WOLF_PEER_SAKKE_SCALAR_LEN;
        ret = wc_EncodeSakkeRsk(tmp, pub, both + WOLF_PEER_SAKKE_SCALAR_LEN, &sz, 1);
        if (ret == 0 && sz != 2 * WOLF_PEER_SAKKE_SCALAR_LEN) ret = BUFFER_E;
    }
    if (ret == 0) {
        memcpy(both, z, WOLF_PEER_SAKKE_SCALAR_LEN);
        ret = wc_ImportSakkeKey(&(*out)->key, both, sizeof both);
    }
    wipe(both, sizeof both);
    if (pub != NULL) wc_ecc_del_point(pub);
    if (tmp_init) wc_FreeSakkeKey(tmp);
    free(tmp);
    if (ret != 0) {
        wolf_sakke_free(*out);
        *out = NULL;
    }
    return ret;
}

int wolf_sakke_public(wolf_sakke_t **out, const uint8_t Z[WOLF_PEER_SAKKE_POINT_LEN]) {
    int ret = sakke_alloc(out);
    if (ret == 0 && Z[0] != 0x04) ret = ECC_BAD_ARG_E;
    if (ret == 0) ret = wc_ImportSakkePublicKey(&(*out)->key, Z, WOLF_PEER_SAKKE_POINT_LEN, 0);
    if (ret != 0) {
        wolf_sakke_free(*out);
        *out = NULL;
    }
    return ret;
}

int wolf_sakke_Z(wolf_sakke_t *s, uint8_t Z[WOLF_PEER_SAKKE_POINT_LEN]) {
    word32 sz = WOLF_PEER_SAKKE_POINT_LEN;
    int ret = wc_ExportSakkePublicKey(&s->key, Z, &sz, 0);
    if (ret == 0 && sz != WOLF_PEER_SAKKE_POINT_LEN) ret = BUFFER_E;
    return ret;
}

int wolf_sakke_z(wolf_sakke_t *s, uint8_t z[WOLF_PEER_SAKKE_SCALAR_LEN]) {
    word32 sz = WOLF_PEER_SAKKE_SCALAR_LEN;
    int ret = wc_ExportSakkePrivateKey(&s->key, z, &sz);
    if (ret == 0 && sz != WOLF_PEER_SAKKE_SCALAR_LEN) ret = BUFFER_E;
    return ret;
}

static int sakke_check_id(size_t id_len) {
    return id_len == 0 || id_len > SAKKE_ID_MAX_SIZE ? BAD_FUNC_ARG : 0;
}

int wolf_sakke_issue_rsk(wolf_sakke_t *s, const uint8_t *id, size_t id_len,
                         uint8_t rsk[WOLF_PEER_SAKKE_POINT_LEN]) {
    int ret = sakke_check_id(id_len);
    if (ret != 0) return ret;
    ecc_point *p = wc_ecc_new_point();
    if (p == NULL) return MEMORY_E;
    ret = wc_MakeSakkeRsk(&s->key, id, (word16)id_len, p);
    if (ret == 0) {
        word32 sz = WOLF_PEER_SAKKE_POINT_LEN;
        ret = wc_EncodeSakkeRsk(&s->key, p, rsk, &sz, 0);
        if (ret == 0 && sz != WOLF_PEER_SAKKE_POINT_LEN) ret = BUFFER_E;
    }
    wc_ecc_del_point(p);
    return ret;
}

static int sakke_decode_point(wolf_sakke_t *s, const uint8_t pt[WOLF_PEER_SAKKE_POINT_LEN],
                              ecc_point *out) {
    if (pt[0] != 0x04) return ECC_BAD_ARG_E;
    return wc_DecodeSakkeRsk(&s->key, pt, WOLF_PEER_SAKKE_POINT_LEN, out);
}

int wolf_sakke_validate_rsk(wolf_sakke_t *s, const uint8_t *id, size_t id_len,
                            const uint8_t rsk[WOLF_PEER_SAKKE_POINT_LEN], int *valid) {
    *valid = 0;
    int ret = sakke_check_id(id_len);
    if (ret != 0) return ret;
    ecc_point *p = wc_ecc_new_point();
    if (p == NULL) return MEMORY_E;
    ret = sakke_decode_point(s, rsk, p);
    if (ret == 0) ret = wc_ValidateSakkeRsk(&s->key, id, (word16)id_len, p, valid);
    if (ret != 0) *valid = 0;
    wc_ecc_del_point(p);
    return ret;
}

int wolf_sakke_sender_precompute(wolf_sakke_t *s, const uint8_t *id, size_t id_len) {
    int ret = sakke_check_id(id_len);
    if (ret != 0) return ret;
    sakke_drop_i_table(s);
    s->have_i = 0;
    s->pre &= ~WOLF_SAKKE_PRE_POINT_I;
    ret = wc_MakeSakkePointI(&s->key, id, (word16)id_len);
    if (ret != 0) return ret;
    memcpy(s->i_id, id, id_len);
    s->i_id_len = id_len;
    s->have_i = 1;
    s->pre |= WOLF_SAKKE_PRE_POINT_I;

    /* A table for I exists only in builds with SP 1024-bit code (length 0 otherwise). */
    word32 len = 0;
    ret = wc_GenerateSakkePointITable(&s->key, NULL, &len);
    if (ret != LENGTH_ONLY_E || len == 0) return 0;
    s->i_table = malloc(len);
    if (s->i_table == NULL) return MEMORY_E;
    ret = wc_GenerateSakkePointITable(&s->key, s->i_table, &len);
    if (ret == 0) ret = wc_SetSakkePointITable(&s->key, s->i_table, len);
    if (ret != 0) {
        free(s->i_table);
        s->i_table = NULL;
        return ret;
    }
    s->i_table_len = len;
    s->pre |= WOLF_SAKKE_PRE_POINT_I_TABLE;
    return 0;
}

static int same_id(const uint8_t *a, size_t a_len, const uint8_t *b, size_t b_len) {
    return a_len == b_len && memcmp(a, b, a_len) == 0;
}

int wolf_sakke_encapsulate(wolf_sakke_t *s, const uint8_t *id, size_t id_len,
                           const uint8_t ssv[WOLF_PEER_SAKKE_SSV_LEN],
                           uint8_t out[WOLF_PEER_SAKKE_ENCAP_LEN]) {
    uint8_t h[WOLF_PEER_SAKKE_SSV_LEN];
    word16 auth_len = WOLF_PEER_SAKKE_POINT_LEN;
    int ret = sakke_check_id(id_len);
    if (ret != 0) return ret;
    /* wolfSSL recomputes I for another identity; never leave a table for a stale I. */
    if (s->have_i && !same_id(id, id_len, s->i_id, s->i_id_len)) {
        sakke_drop_i_table(s);
        s->have_i = 0;
        s->pre &= ~WOLF_SAKKE_PRE_POINT_I;
    }
    ret = wc_SetSakkeIdentity(&s->key, id, (word16)id_len);
    memcpy(h, ssv, sizeof h); /* in: SSV, out: H */
    if (ret == 0)
        ret =
            wc_MakeSakkeEncapsulatedSSV(&s->key, WC_HASH_TYPE_SHA256, h, sizeof h, out, &auth_len);
    if (ret == 0 && auth_len != WOLF_PEER_SAKKE_POINT_LEN) ret = BUFFER_E;
    if (ret == 0) memcpy(out + WOLF_PEER_SAKKE_POINT_LEN, h, sizeof h);
    wipe(h, sizeof h);
    return ret;
}

int wolf_sakke_set_receiver(wolf_sakke_t *s, const uint8_t *id, size_t id_len,
                            const uint8_t rsk[WOLF_PEER_SAKKE_POINT_LEN], int precompute) {
    int ret = sakke_check_id(id_len);
    if (ret != 0) return ret;
    s->have_rx = 0;
    s->pre &= ~WOLF_SAKKE_PRE_RSK_TABLE;
    if (s->rsk_table != NULL) {
        wipe(s->rsk_table, s->rsk_table_len);
        free(s->rsk_table);
        s->rsk_table = NULL;
        s->rsk_table_len = 0;
    }
    ret = sakke_decode_point(s, rsk, s->rsk);
    if (ret == 0 && precompute) {
        word32 len = 0;
        int lret = wc_GenerateSakkeRskTable(&s->key, s->rsk, NULL, &len);
        if (lret == LENGTH_ONLY_E && len > 0) {
            s->rsk_table = malloc(len);
            if (s->rsk_table == NULL) ret = MEMORY_E;
            if (ret == 0) ret = wc_GenerateSakkeRskTable(&s->key, s->rsk, s->rsk_table, &len);
            if (ret == 0) {
                s->rsk_table_len = len;
                s->pre |= WOLF_SAKKE_PRE_RSK_TABLE;
            }
        }
    }
    if (ret == 0) ret = wc_SetSakkeRsk(&s->key, s->rsk, s->rsk_table, s->rsk_table_len);
    if (ret == 0) ret = wc_SetSakkeIdentity(&s->key, id, (word16)id_len);
    if (ret == 0) {
        memcpy(s->rx_id, id, id_len);
        s->rx_id_len = id_len;
        s->have_rx = 1;
    }
    if (ret == 0 && precompute) /* I = [b]P + Z is also what the R check multiplies */
        ret = wolf_sakke_sender_precompute(s, id, id_len);
    return ret;
}

int wolf_sakke_decapsulate(wolf_sakke_t *s, const uint8_t *data, size_t data_len,
                           uint8_t ssv[WOLF_PEER_SAKKE_SSV_LEN]) {
    memset(ssv, 0, WOLF_PEER_SAKKE_SSV_LEN);
    if (!s->have_rx) return BAD_STATE_E;
    if (data_len != WOLF_PEER_SAKKE_ENCAP_LEN || data[0] != 0x04) return BAD_FUNC_ARG;
    if (s->have_i && !same_id(s->rx_id, s->rx_id_len, s->i_id, s->i_id_len)) {
        sakke_drop_i_table(s);
        s->have_i = 0;
        s->pre &= ~WOLF_SAKKE_PRE_POINT_I;
    }
    int ret = wc_SetSakkeIdentity(&s->key, s->rx_id, (word16)s->rx_id_len);
    if (ret == 0) {
        memcpy(ssv, data + WOLF_PEER_SAKKE_POINT_LEN, WOLF_PEER_SAKKE_SSV_LEN); /* H */
        ret = wc_DeriveSakkeSSV(&s->key, WC_HASH_TYPE_SHA256, ssv, WOLF_PEER_SAKKE_SSV_LEN, data,
                                WOLF_PEER_SAKKE_POINT_LEN);
    }
    if (ret != 0) memset(ssv, 0, WOLF_PEER_SAKKE_SSV_LEN);
    return ret;
}

int wolf_sakke_precomputed(const wolf_sakke_t *s) {
    return s->pre;
}
