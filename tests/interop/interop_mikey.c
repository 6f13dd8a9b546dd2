/* Whole-message interop of the 3GPP MIKEY profiles with an independent implementation,
 * wolfCrypt (ECCSI, SAKKE), under a wolfSSL KMS (it generates z and KSAK and issues every
 * RSK, SSK and PVT):
 *
 * (a) mcsec builds a GMK I_MESSAGE (mcsec_gmk_build). The test takes it apart WITHOUT the
 *     mcsec codec (walk() below follows RFC 3830 / 6043 / 6509 and WIRE.md 3 on its own), has
 *     wolfSSL verify the SIGN payload over HDR .. SIGN header (RFC 3830 5.2) as the group
 *     identity's UID and decapsulate the SAKKE payload with the member's RSK; the SSV must be
 *     the GMK given to the builder, and the CSB ID its GUK-ID (computed here with OpenSSL).
 * (b) A known-good message written octet by octet here (hand_msg()), with wolfSSL encapsulating
 *     the key and signing: mcsec_gmk_open must open it, recover the key and report the
 *     signature coverage, for a GMK and a PCK, signed over the RFC 3830 span and over the span
 *     without the SIGN header octets; a peer's undecodable key-parameters extension is accepted
 *     and flagged; changed or mis-signed hand messages get their exact statuses.
 * (c) A GSK message from mcsec_gsk_build: wolfSSL verifies its SIGN as the talker's UID; the
 *     KEMAC is checked and decrypted here with OpenSSL (HMAC-SHA-256, AES-128-CTR).
 *
 * What is not independent: the MIKEY PRF that derives the key-parameters and KEMAC keys comes
 * from mcsec's kdf.h (mcsec_mikey_derive, checked against tests/vectors/mikey_kdf.txt by
 * test_crypto_kdf); UIDs and GUK-IDs are computed here from their definitions with OpenSSL's
 * SHA-256 / HMAC and compared with mcsec's. */
#include <stdint.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include "interop.h"
#include "mcsec/profile.h"
#include "mcsec/secmem.h"
#include "test.h"

#define KMS_URI "kms.example.org"
#define GROUP_URI "sip:fire-north@example.org" /* the group identity: signs GMK messages */
#define MEMBER_URI "sip:alice@example.org"
#define TALKER_URI "sip:bob@example.org"
#define KEY_PERIOD 2592000ull
#define NOW 3900000000ull /* NTP seconds */
#define PN (NOW / KEY_PERIOD)
#define GMK_ID 0x0a0b0c0du
#define PCK_ID 0x1a0b0c0du
#define GSK_ID 0x0c0ffee0u
#define KP_TEXT "fire-north talkgroup"

static const uint8_t gmk[16] = {0x6d, 0x63, 0x73, 0x65, 0x63, 0x2d, 0x67, 0x6d,
                                0x6b, 0x2d, 0x69, 0x6e, 0x74, 0x65, 0x72, 0x6f};
static const uint8_t gsk[16] = {0x47, 0x53, 0x4b, 0x00, 0x11, 0x22, 0x33, 0x44,
                                0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc};

/* The world: a wolfSSL KMS and the keys it issued. */
static wolf_sakke_t *w_kms_sakke, *w_member;   /* KMS; member's receiver (RSK installed) */
static wolf_eccsi_t *w_kms_eccsi, *w_verifier; /* KMS; a verifier knowing only KPAK */
static wolf_eccsi_t *w_group_signer, *w_talker_signer;
static wolf_sakke_t *w_sender;
static mcsec_kms_params_t kms;
static uint8_t uid_group[32], uid_member[32], uid_talker[32];
static uint8_t member_rsk[MCSEC_SAKKE_POINT_LEN];
static uint8_t group_ssk[32], group_pvt[65], talker_ssk[32], talker_pvt[65];
static uint64_t test_now = NOW;

static uint64_t test_clock(void *user) {
    (void)user;
    return test_now;
}

static void be16(uint8_t *p, size_t v) {
    p[0] = (uint8_t)(v >> 8), p[1] = (uint8_t)v;
}
static void be32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16), p[2] = (uint8_t)(v >> 8),
    p[3] = (uint8_t)v;
}
static void be64(uint8_t *p, uint64_t v) {
    be32(p, (uint32_t)(v >> 32));
    be32(p + 4, (uint32_t)v);
}
static uint32_t get32(const uint8_t *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static uint64_t get64(const uint8_t *p) {
    return (uint64_t)get32(p) << 32 | get32(p + 4);
}

/* --- Identifiers from their definitions (WIRE.md 2, tests/vectors/uid.txt) --------------- */

/* Appends an integer in its minimal big-endian octets (0 is one 0x00) and its len16. */
static size_t put_uint(uint8_t *p, uint64_t v) {
    uint8_t tmp[8];
    size_t n = 0;
    do {
        tmp[n++] = (uint8_t)v;
        v >>= 8;
    } while (v != 0);
    for (size_t i = 0; i < n; i++)
        p[i] = tmp[n - 1 - i];
    be16(p + n, n);
    return n + 2;
}

/* UID format 2: SHA-256(0x00 || "MIKEY-SAKKE-UID" || 0x000F || URI || len16 || KMS URI ||
 * len16 || period || len16 || offset || len16 || period no || len16). */
static void uid2(const char *uri, uint64_t pn, uint8_t uid[32]) {
    uint8_t s[512];
    size_t n = 0, ul = strlen(uri), kl = strlen(KMS_URI);
    s[n++] = 0x00;
    memcpy(s + n, "MIKEY-SAKKE-UID", 15), n += 15;
    be16(s + n, 15), n += 2;
    memcpy(s + n, uri, ul), n += ul;
    be16(s + n, ul), n += 2;
    memcpy(s + n, KMS_URI, kl), n += kl;
    be16(s + n, kl), n += 2;
    n += put_uint(s + n, KEY_PERIOD);
    n += put_uint(s + n, 0);
    n += put_uint(s + n, pn);
    SHA256(s, n, uid);
}

/* GUK-ID = GMK-ID xor (28 LSBs of HMAC-SHA-256(GMK, 0x50 || URI || len16(URI))). */
static uint32_t guk_id(const uint8_t key[16], uint32_t gmk_id, const char *uri) {
    uint8_t s[256], mac[32];
    unsigned ml = 0;
    size_t ul = strlen(uri);
    s[0] = 0x50;
    memcpy(s + 1, uri, ul);
    be16(s + 1 + ul, ul);
    HMAC(EVP_sha256(), key, 16, s, ul + 3, mac, &ml);
    return gmk_id ^ (get32(mac + 28) & 0x0fffffffu);
}

/* AES-128-CTR with a 16-octet initial counter block (encrypts and decrypts). */
static int aes_ctr(const uint8_t key[16], const uint8_t iv[16], const uint8_t *in, uint8_t *out,
                   size_t len) {
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    int l1 = 0, l2 = 0;
    int ok = c != NULL && EVP_EncryptInit_ex(c, EVP_aes_128_ctr(), NULL, key, iv) == 1 &&
             EVP_EncryptUpdate(c, out, &l1, in, (int)len) == 1 &&
             EVP_EncryptFinal_ex(c, out + l1, &l2) == 1 && (size_t)(l1 + l2) == len;
    EVP_CIPHER_CTX_free(c);
    return ok;
}

/* --- An independent MIKEY walker (RFC 3830 6, RFC 6043 6, RFC 6509 4, WIRE.md 3) ---------- */

#define WALK_MAX 16

typedef struct {
    uint8_t data_type, prf, n_cs, map_type;
    uint32_t csb_id;
    uint8_t cs_id, n_policies;
    const uint8_t *spi;
    size_t spi_len, hdr_len;
    size_t n;               /* payloads after HDR */
    uint8_t type[WALK_MAX]; /* payload type of each */
    size_t off[WALK_MAX], len[WALK_MAX];
    size_t sign_off; /* offset of SIGN (the last payload) */
} walk_t;

/* Takes a GENERIC-ID-mapped message with one crypto session apart. 0, or -1 if malformed. */
static int walk(const uint8_t *m, size_t len, walk_t *w) {
    memset(w, 0, sizeof *w);
    if (len < 10 || m[0] != 1) return -1;
    w->data_type = m[1];
    uint8_t next = m[2];
    w->prf = m[3] & 0x7f;
    w->csb_id = get32(m + 4);
    w->n_cs = m[8];
    w->map_type = m[9];
    if (w->n_cs != 1 || w->map_type != 2) return -1;
    size_t p = 10; /* CS-ID . protocol . S #P . P list . len16 session data . SPI len . SPI */
    if (p + 3 > len) return -1;
    w->cs_id = m[p];
    w->n_policies = m[p + 2] & 0x7f;
    p += 3 + w->n_policies;
    if (p + 2 > len) return -1;
    p += 2 + ((size_t)m[p] << 8 | m[p + 1]);
    if (p + 1 > len) return -1;
    w->spi_len = m[p];
    w->spi = m + p + 1;
    p += 1 + w->spi_len;
    if (p > len) return -1;
    w->hdr_len = p;
    while (next != 0) {
        size_t start = p, body;
        if (w->n == WALK_MAX || p + 2 > len) return -1;
        uint8_t t = next;
        switch (t) {
        case 5: /* T: next . TS type . 8 octets (types 0, 1) or 4 */
            body = 2 + (m[p + 1] <= 1 ? 8 : 4);
            break;
        case 11: /* RAND: next . len . RAND */
            body = 2 + (size_t)m[p + 1];
            break;
        case 14: /* IDR: next . role . ID type . len16 . data */
            if (p + 5 > len) return -1;
            body = 5 + ((size_t)m[p + 3] << 8 | m[p + 4]);
            break;
        case 10: /* SP: next . policy no . protocol . len16 . params */
        case 26: /* SAKKE: next . params . ID scheme . len16 . data */
            if (p + 5 > len) return -1;
            body = 5 + ((size_t)m[p + 3] << 8 | m[p + 4]);
            break;
        case 21: /* GENERAL_EXT: next . type . len16 . data */
            if (p + 4 > len) return -1;
            body = 4 + ((size_t)m[p + 2] << 8 | m[p + 3]);
            break;
        case 1: { /* KEMAC: next . encr alg . len16 . encr data . MAC alg . MAC */
            if (p + 4 > len) return -1;
            size_t el = (size_t)m[p + 2] << 8 | m[p + 3];
            if (p + 4 + el + 1 > len) return -1;
            uint8_t mac_alg = m[p + 4 + el];
            body = 4 + el + 1 + (mac_alg == 2 ? 32 : mac_alg == 1 ? 20 : 0);
            break;
        }
        case 4: /* SIGN: S type (4 bits) . len (12 bits) . signature; always last */
            body = 2 + (((size_t)m[p] & 0x0f) << 8 | m[p + 1]);
            break;
        default:
            return -1;
        }
        if (body > len - start) return -1;
        w->type[w->n] = t;
        w->off[w->n] = start;
        w->len[w->n] = body;
        w->n++;
        p = start + body;
        if (t == 4) {
            w->sign_off = start;
            return p == len ? 0 : -1;
        }
        next = m[start];
    }
    return p == len ? 0 : -1;
}

/* The i-th payload's octets. */
#define PL(m, w, i) ((m) + (w).off[i])

/* --- Setup ------------------------------------------------------------------------------ */

static void setup(void) {
    uint8_t z[MCSEC_SAKKE_SCALAR_LEN], rsk_check[MCSEC_SAKKE_POINT_LEN], uid[32];
    CHECK_STATUS(mcsec_init(), MCSEC_OK);
    CHECK_WOLF(wolf_sakke_kms_generate(&w_kms_sakke));
    CHECK_WOLF(wolf_eccsi_kms_generate(&w_kms_eccsi));
    if (w_kms_sakke == NULL || w_kms_eccsi == NULL) {
        fprintf(stderr, "setup: no wolfSSL KMS\n");
        exit(2);
    }
    memset(&kms, 0, sizeof kms);
    snprintf(kms.kms_uri, sizeof kms.kms_uri, "%s", KMS_URI);
    kms.user_id_format = 2;
    kms.key_period = KEY_PERIOD;
    CHECK_WOLF(wolf_sakke_Z(w_kms_sakke, kms.Z));
    CHECK_WOLF(wolf_eccsi_kpak(w_kms_eccsi, kms.kpak));
    /* mcsec agrees with wolfSSL on Z = [z]P (a sanity check of the KMS, not of the messages). */
    CHECK_WOLF(wolf_sakke_z(w_kms_sakke, z));
    CHECK_STATUS(mcsec_sakke_kms_public(z, rsk_check), MCSEC_OK);
    CHECK_MEM(rsk_check, kms.Z, sizeof kms.Z);
    mcsec_memzero(z, sizeof z);

    /* Identities: the UIDs computed here are mcsec's too. */
    uid2(GROUP_URI, PN, uid_group);
    uid2(MEMBER_URI, PN, uid_member);
    uid2(TALKER_URI, PN, uid_talker);
    CHECK_STATUS(mcsec_uid_format2(MEMBER_URI, KMS_URI, KEY_PERIOD, 0, PN, uid), MCSEC_OK);
    CHECK_MEM(uid, uid_member, 32);
    CHECK_STATUS(mcsec_uid_format2(GROUP_URI, KMS_URI, KEY_PERIOD, 0, PN, uid), MCSEC_OK);
    CHECK_MEM(uid, uid_group, 32);

    /* Keys issued by the wolfSSL KMS; mcsec validates them. */
    CHECK_WOLF(wolf_sakke_issue_rsk(w_kms_sakke, uid_member, 32, member_rsk));
    CHECK_STATUS(mcsec_sakke_validate_rsk(kms.Z, uid_member, 32, member_rsk), MCSEC_OK);
    CHECK_WOLF(wolf_eccsi_issue(w_kms_eccsi, uid_group, 32, group_ssk, group_pvt));
    CHECK_STATUS(mcsec_eccsi_validate(kms.kpak, uid_group, 32, group_ssk, group_pvt), MCSEC_OK);
    CHECK_WOLF(wolf_eccsi_issue(w_kms_eccsi, uid_talker, 32, talker_ssk, talker_pvt));
    CHECK_STATUS(mcsec_eccsi_validate(kms.kpak, uid_talker, 32, talker_ssk, talker_pvt), MCSEC_OK);

    /* wolfSSL's parties: the member (receiver), a verifier, two signers, a SAKKE sender. */
    CHECK_WOLF(wolf_sakke_public(&w_member, kms.Z));
    CHECK_WOLF(wolf_sakke_public(&w_sender, kms.Z));
    CHECK_WOLF(wolf_eccsi_public(&w_verifier, kms.kpak));
    CHECK_WOLF(wolf_eccsi_public(&w_group_signer, kms.kpak));
    CHECK_WOLF(wolf_eccsi_public(&w_talker_signer, kms.kpak));
    if (w_member == NULL || w_sender == NULL || w_verifier == NULL || w_group_signer == NULL ||
        w_talker_signer == NULL) {
        fprintf(stderr, "setup: wolfSSL objects missing\n");
        exit(2);
    }
    CHECK_WOLF(wolf_sakke_set_receiver(w_member, uid_member, 32, member_rsk, 1));
    CHECK_WOLF(wolf_eccsi_set_signer(w_group_signer, uid_group, 32, group_ssk, group_pvt));
    CHECK_WOLF(wolf_eccsi_set_signer(w_talker_signer, uid_talker, 32, talker_ssk, talker_pvt));
}

static void teardown(void) {
    wolf_sakke_free(w_kms_sakke);
    wolf_sakke_free(w_member);
    wolf_sakke_free(w_sender);
    wolf_eccsi_free(w_kms_eccsi);
    wolf_eccsi_free(w_verifier);
    wolf_eccsi_free(w_group_signer);
    wolf_eccsi_free(w_talker_signer);
    wolf_peer_cleanup();
    mcsec_memzero(member_rsk, sizeof member_rsk);
    mcsec_memzero(group_ssk, sizeof group_ssk);
    mcsec_memzero(talker_ssk, sizeof talker_ssk);
}

/* wolfSSL's verdict on a signature: 1 valid, 0 rejected (invalid or an error). */
static int wolf_accepts(const uint8_t *id, const uint8_t *msg, size_t len, const uint8_t *sig) {
    int valid = 0;
    return wolf_eccsi_verify(w_verifier, id, 32, msg, len, sig, MCSEC_ECCSI_SIG_LEN, &valid) == 0 &&
           valid == 1;
}

/* --- Key parameters (docs/protocol.md, "Key-parameters extension") ----------------------- */

/* The plaintext: key type . status(4) . activation(8) . expiry(8) . text len . text
 * [. group id len16 . group id]. */
static size_t kp_plain(uint8_t *p, uint8_t key_type, const char *group) {
    size_t tl = strlen(KP_TEXT), n = 0;
    p[n++] = key_type;
    be32(p + n, 0), n += 4;
    be64(p + n, (NOW - 60) << 32), n += 8;
    be64(p + n, (NOW + 86400) << 32), n += 8;
    p[n++] = (uint8_t)tl;
    memcpy(p + n, KP_TEXT, tl), n += tl;
    if (group != NULL) {
        size_t gl = strlen(group);
        be16(p + n, gl), n += 2;
        memcpy(p + n, group, gl), n += gl;
    }
    return n;
}

/* AES-128-CTR under key = PRF(key, 0x15798CEF, CS-ID, CSB ID, RAND) (16 octets), IV = PRF(key,
 * 0x39A2C14B, ...) (14 octets) || 0x0000. The PRF is mcsec's (kdf.h, vector-tested): this test
 * has no second implementation of it. */
static int kp_crypt(const uint8_t key[16], uint8_t cs_id, uint32_t csb, const uint8_t rand[16],
                    const uint8_t *in, uint8_t *out, size_t len) {
    uint8_t ek[16], iv[16] = {0};
    int ok = mcsec_mikey_derive(MCSEC_MIKEY_PRF_HMAC_SHA256, key, 16, MCSEC_MIKEY_CONST_ENCR, cs_id,
                                csb, rand, 16, ek, 16) == MCSEC_OK &&
             mcsec_mikey_derive(MCSEC_MIKEY_PRF_HMAC_SHA256, key, 16, MCSEC_MIKEY_CONST_SALT, cs_id,
                                csb, rand, 16, iv, 14) == MCSEC_OK &&
             aes_ctr(ek, iv, in, out, len);
    mcsec_memzero(ek, sizeof ek);
    return ok;
}

/* --- (a) mcsec builds, wolfSSL verifies and decapsulates -------------------------------- */

static void test_mcsec_built_gmk(void) {
    mcsec_eccsi_signer_t *signer = NULL;
    mcsec_sakke_sender_t *sakke = NULL;
    uint8_t m[2048], ssv[16], plain[512], want[512];
    size_t len = 0;
    walk_t w;
    CHECK_STATUS(mcsec_eccsi_signer_new(&signer, kms.kpak, uid_group, 32, group_ssk, group_pvt),
                 MCSEC_OK);
    CHECK_STATUS(mcsec_sakke_sender_new(&sakke, kms.Z), MCSEC_OK);
    if (signer == NULL || sakke == NULL) goto out;
    mcsec_gmk_sender_t tx = {GROUP_URI, KMS_URI, KEY_PERIOD, 0, signer, sakke};
    mcsec_key_params_t kp;
    memset(&kp, 0, sizeof kp);
    kp.key_type = MCSEC_PURPOSE_GMK;
    kp.activation = (NOW - 60) << 32;
    kp.expiry = (NOW + 86400) << 32;
    snprintf(kp.text, sizeof kp.text, "%s", KP_TEXT);
    snprintf(kp.group_id, sizeof kp.group_id, "%s", GROUP_URI);
    CHECK_STATUS(
        mcsec_gmk_build(&tx, MEMBER_URI, gmk, GMK_ID, &kp, NOW << 32 | 0x5678, m, sizeof m, &len),
        MCSEC_OK);

    /* The layout, walked by hand. */
    static const uint8_t seq[] = {5, 11, 14, 14, 14, 14, 10, 26, 21, 4};
    CHECK(walk(m, len, &w) == 0);
    CHECK(w.n == sizeof seq);
    if (w.n != sizeof seq) goto out;
    for (size_t i = 0; i < w.n; i++)
        CHECK(w.type[i] == seq[i]);
    uint32_t guk = guk_id(gmk, GMK_ID, MEMBER_URI);
    uint32_t guk_m = 0;
    CHECK_STATUS(mcsec_guk_id(gmk, 16, GMK_ID, MEMBER_URI, &guk_m), MCSEC_OK);
    CHECK(guk_m == guk && guk != GMK_ID);
    CHECK(w.data_type == 26 && w.prf == 1 && w.csb_id == guk && w.cs_id == 4 && w.n_policies == 1);
    CHECK(w.spi_len == 8 && get32(w.spi) == GMK_ID && get32(w.spi + 4) == guk);
    const uint8_t *t = PL(m, w, 0), *rand = PL(m, w, 1) + 2;
    CHECK(t[1] == 0 && get64(t + 2) == (NOW << 32 | 0x5678));
    CHECK(PL(m, w, 1)[1] == 16);
    static const uint8_t roles[4] = {8, 9, 6, 7};
    for (int i = 0; i < 4; i++)
        CHECK(PL(m, w, 2 + i)[1] == roles[i]);
    CHECK(w.len[2] == 5 + 32 && memcmp(PL(m, w, 2) + 5, uid_group, 32) == 0);
    CHECK(w.len[3] == 5 + 32 && memcmp(PL(m, w, 3) + 5, uid_member, 32) == 0);
    CHECK(w.len[4] == 5 + strlen(KMS_URI) &&
          memcmp(PL(m, w, 4) + 5, KMS_URI, strlen(KMS_URI)) == 0);
    CHECK(w.len[5] == 5 + strlen(KMS_URI) &&
          memcmp(PL(m, w, 5) + 5, KMS_URI, strlen(KMS_URI)) == 0);
    const uint8_t *sk = PL(m, w, 7), *ext = PL(m, w, 8), *sg = PL(m, w, 9);
    CHECK(sk[1] == 1 && sk[2] == 2 && w.len[7] == 5 + MCSEC_SAKKE_ENCAP_LEN);
    CHECK(ext[1] == 7);
    CHECK(sg[0] == 0x20 && sg[1] == 0x81 && w.len[9] == 2 + MCSEC_ECCSI_SIG_LEN);

    /* wolfSSL verifies the SIGN over HDR .. SIGN header, as the group identity. */
    CHECK(wolf_accepts(uid_group, m, w.sign_off + 2, sg + 2));
    CHECK(!wolf_accepts(uid_group, m, w.sign_off, sg + 2)); /* not the other coverage */
    CHECK(!wolf_accepts(uid_member, m, w.sign_off + 2, sg + 2));
    m[w.off[1] + 5] ^= 0x01; /* a RAND octet */
    CHECK(!wolf_accepts(uid_group, m, w.sign_off + 2, sg + 2));
    m[w.off[1] + 5] ^= 0x01;

    /* wolfSSL decapsulates the SAKKE payload with the member's RSK: the SSV is the GMK. */
    CHECK_WOLF(wolf_sakke_decapsulate(w_member, sk + 5, MCSEC_SAKKE_ENCAP_LEN, ssv));
    CHECK_MEM(ssv, gmk, 16);
    CHECK(guk_id(ssv, GMK_ID, MEMBER_URI) == w.csb_id);

    /* The key parameters decrypt to the documented encoding. */
    size_t el = (size_t)ext[2] << 8 | ext[3];
    size_t wl = kp_plain(want, MCSEC_PURPOSE_GMK, GROUP_URI);
    CHECK(el == wl && el <= sizeof plain);
    if (el == wl && kp_crypt(ssv, 4, w.csb_id, rand, ext + 4, plain, el))
        CHECK_MEM(plain, want, wl);
out:
    mcsec_memzero(ssv, sizeof ssv);
    mcsec_eccsi_signer_free(signer);
    mcsec_sakke_sender_free(sakke);
}

/* --- (b) Hand-built messages, opened by mcsec ------------------------------------------- */

enum { EXT_MCSEC, EXT_OPAQUE };

typedef struct {
    unsigned kind; /* MCSEC_PURPOSE_GMK or _PCK */
    uint32_t key_id;
    const char *initiator;
    const uint8_t *initiator_uid;
    wolf_eccsi_t *signer; /* signs as it was set up, whatever IDR 8 says */
    int without_sign_header;
    int ext;     /* EXT_MCSEC: mcsec's encrypted encoding; EXT_OPAQUE: 40 other octets */
    int bad_guk; /* a CSB ID (and SPI) that is not the GUK-ID */
} hand_t;

/* Writes a key distribution I_MESSAGE octet by octet (WIRE.md 3, docs/protocol.md), with
 * wolfSSL's SAKKE encapsulation of key to the member and wolfSSL's ECCSI signature. */
static size_t hand_msg(const hand_t *h, const uint8_t key[16], uint8_t *m) {
    static const uint8_t sp[27] = {0, 1, 6, 1, 1,  16, 2, 1,  4, 4, 1,  12, 5, 1,
                                   0, 6, 1, 0, 18, 1,  4, 19, 1, 0, 20, 1,  16};
    uint8_t rand[16], encap[MCSEC_SAKKE_ENCAP_LEN], plain[512];
    size_t n = 0, kl = strlen(KMS_URI);
    int gmk_kind = h->kind == MCSEC_PURPOSE_GMK;
    uint8_t cs_id = gmk_kind ? 4 : 0;
    uint32_t csb = gmk_kind ? guk_id(key, h->key_id, MEMBER_URI) : h->key_id;
    if (h->bad_guk) csb ^= 0x00000100u;
    if (mcsec_random_bytes(rand, sizeof rand) != MCSEC_OK) return 0;

    /* HDR: version 1, data type 26, next T, V0 PRF 1, CSB ID, #CS 1, GENERIC-ID map. */
    m[n++] = 1, m[n++] = 26, m[n++] = 5, m[n++] = 1;
    be32(m + n, csb), n += 4;
    m[n++] = 1, m[n++] = 2;
    /* CS: CS-ID, protocol SRTP, S0 #P1, policy 0, no session data, SPI. */
    m[n++] = cs_id, m[n++] = 0, m[n++] = 1, m[n++] = 0, m[n++] = 0, m[n++] = 0;
    m[n++] = gmk_kind ? 8 : 4;
    be32(m + n, h->key_id), n += 4;
    if (gmk_kind) be32(m + n, csb), n += 4;
    /* T: next RAND, NTP-UTC. RAND: next IDR, 16 octets. */
    m[n++] = 11, m[n++] = 0;
    be64(m + n, NOW << 32 | 0x9abc), n += 8;
    m[n++] = 14, m[n++] = 16;
    memcpy(m + n, rand, 16), n += 16;
    /* IDR 8 (initiator UID), 9 (member UID), 6 and 7 (KMS URI), ID type 1 as deployed. */
    m[n++] = 14, m[n++] = 8, m[n++] = 1, m[n++] = 0, m[n++] = 32;
    memcpy(m + n, h->initiator_uid, 32), n += 32;
    m[n++] = 14, m[n++] = 9, m[n++] = 1, m[n++] = 0, m[n++] = 32;
    memcpy(m + n, uid_member, 32), n += 32;
    m[n++] = 14, m[n++] = 6, m[n++] = 1, be16(m + n, kl), n += 2;
    memcpy(m + n, KMS_URI, kl), n += kl;
    m[n++] = 10, m[n++] = 7, m[n++] = 1, be16(m + n, kl), n += 2;
    memcpy(m + n, KMS_URI, kl), n += kl;
    /* SP: next SAKKE, policy 0, SRTP, the deployed 27 octets of parameters. */
    m[n++] = 26, m[n++] = 0, m[n++] = 0, be16(m + n, sizeof sp), n += 2;
    memcpy(m + n, sp, sizeof sp), n += sizeof sp;
    /* SAKKE: next GENERAL_EXT, params 1, ID scheme 2, 273 octets from wolfSSL. */
    if (wolf_sakke_encapsulate(w_sender, uid_member, 32, key, encap) != 0) return 0;
    m[n++] = 21, m[n++] = 1, m[n++] = 2, be16(m + n, sizeof encap), n += 2;
    memcpy(m + n, encap, sizeof encap), n += sizeof encap;
    /* GENERAL_EXT type 7: next SIGN. */
    size_t el;
    if (h->ext == EXT_MCSEC) {
        el = kp_plain(plain, (uint8_t)h->kind, gmk_kind ? h->initiator : NULL);
        if (!kp_crypt(key, cs_id, csb, rand, plain, m + n + 4, el)) return 0;
    } else {
        el = 40;
        if (mcsec_random_bytes(m + n + 4, el) != MCSEC_OK) return 0;
    }
    m[n] = 4, m[n + 1] = 7, be16(m + n + 2, el), n += 4 + el;
    /* SIGN: S type 2 (ECCSI), length 129; signed by wolfSSL over HDR .. SIGN header (RFC 3830)
     * or HDR .. the octet before SIGN. */
    size_t sign_off = n;
    m[n++] = 0x20, m[n++] = 0x81;
    if (wolf_eccsi_sign(h->signer, m, h->without_sign_header ? sign_off : sign_off + 2, m + n) != 0)
        return 0;
    return n + MCSEC_ECCSI_SIG_LEN;
}

static mcsec_profile_receiver_t *member_receiver(void) {
    mcsec_profile_receiver_t *rx = NULL;
    mcsec_keyset_t ks;
    memset(&ks, 0, sizeof ks);
    snprintf(ks.user_uri, sizeof ks.user_uri, "%s", MEMBER_URI);
    memcpy(ks.uid, uid_member, 32);
    ks.period_no = PN;
    memcpy(ks.rsk, member_rsk, sizeof ks.rsk);
    CHECK_STATUS(mcsec_profile_receiver_new(&rx, &kms, MEMBER_URI), MCSEC_OK);
    if (rx != NULL) {
        CHECK_STATUS(mcsec_profile_receiver_add_keyset(rx, &ks), MCSEC_OK);
        mcsec_profile_receiver_set_clock(rx, test_clock, NULL);
    }
    mcsec_memzero(&ks, sizeof ks);
    return rx;
}

static void expect_hand(mcsec_profile_receiver_t *rx, const hand_t *h, mcsec_status_t want,
                        mcsec_profile_check_t chk, int line) {
    uint8_t m[2048];
    mcsec_gmk_result_t r;
    size_t len = hand_msg(h, gmk, m);
    if (len == 0) {
        test_failed++;
        fprintf(stderr, "line %d: the hand-built message could not be made\n", line);
        return;
    }
    mcsec_status_t got = mcsec_gmk_open(rx, m, len, 0, &r);
    if (got == want && r.check == chk) {
        test_passed++;
    } else {
        test_failed++;
        fprintf(stderr, "line %d: open gave %d (%s) at %s (%s), expected %d at %s\n", line, got,
                mcsec_strerror(got), mcsec_profile_check_name(r.check), r.why, want,
                mcsec_profile_check_name(chk));
    }
    mcsec_gmk_result_wipe(&r);
}
#define EXPECT_HAND(rx, h, want, chk) expect_hand(rx, h, want, chk, __LINE__)

static void test_hand_built(void) {
    mcsec_profile_receiver_t *rx = member_receiver();
    uint8_t m[2048];
    size_t len;
    mcsec_gmk_result_t r;
    if (rx == NULL) return;
    const hand_t base = {MCSEC_PURPOSE_GMK, GMK_ID, GROUP_URI, uid_group,
                         w_group_signer,    0,      EXT_MCSEC, 0};

    /* GMK, RFC 3830 coverage: opened, key recovered, everything reported. */
    len = hand_msg(&base, gmk, m);
    CHECK(len > 0);
    CHECK_STATUS(mcsec_gmk_open(rx, m, len, MCSEC_OPEN_EXPECT_GMK, &r), MCSEC_OK);
    CHECK_MEM(r.key, gmk, 16);
    CHECK(r.kind == MCSEC_PURPOSE_GMK && r.cs_id == 4 && r.key_id == GMK_ID);
    CHECK(r.csb_id == guk_id(gmk, GMK_ID, MEMBER_URI));
    CHECK(r.coverage == MCSEC_SIG_RFC3830 && r.fresh && !r.replayed && r.period_no == PN);
    CHECK(r.timestamp == (NOW << 32 | 0x9abc));
    CHECK(r.initiator_uid.len == 32 && memcmp(r.initiator_uid.p, uid_group, 32) == 0);
    CHECK(r.responder_uid.len == 32 && memcmp(r.responder_uid.p, uid_member, 32) == 0);
    CHECK(r.key_params_present && r.key_params_decoded && r.group_id_bound);
    CHECK(strcmp(r.key_params.text, KP_TEXT) == 0 && strcmp(r.key_params.group_id, GROUP_URI) == 0);
    CHECK(r.key_params.activation == (NOW - 60) << 32 && r.key_params.expiry == (NOW + 86400)
                                                                                    << 32);
    mcsec_gmk_result_wipe(&r);
    /* The same octets again: a replay. */
    CHECK_STATUS(mcsec_gmk_open(rx, m, len, 0, &r), MCSEC_ERR_REPLAY);
    CHECK(r.check == MCSEC_CHECK_REPLAY);

    /* Signed without the SIGN header octets: accepted and reported. */
    hand_t h = base;
    h.without_sign_header = 1;
    len = hand_msg(&h, gmk, m);
    CHECK_STATUS(mcsec_gmk_open(rx, m, len, 0, &r), MCSEC_OK);
    CHECK(r.coverage == MCSEC_SIG_WITHOUT_SIGN_HEADER);
    CHECK_MEM(r.key, gmk, 16);
    mcsec_gmk_result_wipe(&r);

    /* A peer's key-parameters encoding mcsec cannot decode: key delivered, flagged. */
    h = base;
    h.ext = EXT_OPAQUE;
    len = hand_msg(&h, gmk, m);
    CHECK_STATUS(mcsec_gmk_open(rx, m, len, 0, &r), MCSEC_OK);
    CHECK(r.key_params_present && !r.key_params_decoded && !r.group_id_bound);
    CHECK_MEM(r.key, gmk, 16);
    mcsec_gmk_result_wipe(&r);

    /* A PCK from a calling user (CS-ID 0, CSB ID = SPI = PCK-ID), both coverages. */
    h = (hand_t){MCSEC_PURPOSE_PCK, PCK_ID, TALKER_URI, uid_talker,
                 w_talker_signer,   0,      EXT_MCSEC,  0};
    for (int alt = 0; alt < 2; alt++) {
        h.without_sign_header = alt;
        len = hand_msg(&h, gmk, m);
        CHECK_STATUS(mcsec_gmk_open(rx, m, len, MCSEC_OPEN_EXPECT_PCK, &r), MCSEC_OK);
        CHECK(r.kind == MCSEC_PURPOSE_PCK && r.cs_id == 0 && r.key_id == PCK_ID &&
              r.csb_id == PCK_ID);
        CHECK(r.coverage == (alt ? MCSEC_SIG_WITHOUT_SIGN_HEADER : MCSEC_SIG_RFC3830));
        CHECK(r.key_params_decoded && r.key_params.key_type == MCSEC_PURPOSE_PCK &&
              r.key_params.group_id[0] == 0);
        CHECK_MEM(r.key, gmk, 16);
        mcsec_gmk_result_wipe(&r);
    }

    /* Refusals. Signed by the talker while IDR 8 names the group identity. */
    h = base;
    h.signer = w_talker_signer;
    EXPECT_HAND(rx, &h, MCSEC_ERR_VERIFY, MCSEC_CHECK_SIGNATURE);
    /* A CSB ID that is not the GUK-ID of the GMK (SPI alike, signed): the key id check. */
    h = base;
    h.bad_guk = 1;
    EXPECT_HAND(rx, &h, MCSEC_ERR_VERIFY, MCSEC_CHECK_KEY_ID);
    /* Out of the freshness window. */
    test_now = NOW + MCSEC_PROFILE_WINDOW_DEFAULT + 1;
    EXPECT_HAND(rx, &base, MCSEC_ERR_STALE, MCSEC_CHECK_FRESHNESS);
    test_now = NOW;
    /* A changed octet after signing: in T's seconds, in the SAKKE payload's H. */
    walk_t w;
    len = hand_msg(&base, gmk, m);
    CHECK(walk(m, len, &w) == 0 && w.n == 10 && w.type[0] == 5 && w.type[7] == 26);
    m[w.off[0] + 2 + 3] ^= 0x01;
    CHECK_STATUS(mcsec_gmk_open(rx, m, len, 0, &r), MCSEC_ERR_VERIFY);
    CHECK(r.check == MCSEC_CHECK_SIGNATURE && r.sig_status == MCSEC_ERR_VERIFY);
    len = hand_msg(&base, gmk, m);
    m[w.off[7] + 5 + MCSEC_SAKKE_POINT_LEN + 3] ^= 0x01;
    CHECK_STATUS(mcsec_gmk_open(rx, m, len, 0, &r), MCSEC_ERR_VERIFY);
    CHECK(r.check == MCSEC_CHECK_SIGNATURE);
    /* Addressed to the member, but the receiver is someone else. */
    mcsec_profile_receiver_t *other = NULL;
    CHECK_STATUS(mcsec_profile_receiver_new(&other, &kms, TALKER_URI), MCSEC_OK);
    if (other != NULL) {
        mcsec_profile_receiver_set_clock(other, test_clock, NULL);
        EXPECT_HAND(other, &base, MCSEC_ERR_WRONG_RECIPIENT, MCSEC_CHECK_RECIPIENT);
    }
    mcsec_profile_receiver_free(other);
    mcsec_profile_receiver_free(rx);
}

/* --- (c) GSK message: wolfSSL verifies its SIGN; KEMAC checked with OpenSSL ------------- */

static void test_gsk(void) {
    mcsec_eccsi_signer_t *signer = NULL;
    uint8_t m[2048], auth[32], encr[16], salt[14], iv[16], mac[32], kd[20];
    unsigned ml = 0;
    size_t len = 0;
    walk_t w;
    CHECK_STATUS(mcsec_eccsi_signer_new(&signer, kms.kpak, uid_talker, 32, talker_ssk, talker_pvt),
                 MCSEC_OK);
    if (signer == NULL) return;
    CHECK_STATUS(mcsec_gsk_build(signer, TALKER_URI, uid_talker, GROUP_URI, gmk, GMK_ID, gsk,
                                 GSK_ID, NOW << 32, m, sizeof m, &len),
                 MCSEC_OK);
    static const uint8_t seq[] = {5, 11, 14, 14, 14, 14, 10, 1, 4};
    CHECK(walk(m, len, &w) == 0);
    CHECK(w.n == sizeof seq);
    if (w.n != sizeof seq) goto out;
    for (size_t i = 0; i < w.n; i++)
        CHECK(w.type[i] == seq[i]);
    CHECK(w.data_type == 0 && w.prf == 1 && w.csb_id == GSK_ID && w.cs_id == 4);
    CHECK(w.spi_len == 4 && get32(w.spi) == GSK_ID);
    const uint8_t *idr8 = PL(m, w, 3), *idpsk = PL(m, w, 5), *kemac = PL(m, w, 7);
    const uint8_t *rand = PL(m, w, 1) + 2, *sg = PL(m, w, 8);
    CHECK(PL(m, w, 2)[1] == 1 && idr8[1] == 8 && PL(m, w, 4)[1] == 2 && idpsk[1] == 4);
    CHECK(w.len[3] == 5 + 32 && memcmp(idr8 + 5, uid_talker, 32) == 0);
    CHECK(w.len[5] == 5 + 4 && get32(idpsk + 5) == GMK_ID);

    /* wolfSSL verifies the talker's signature (RFC 3830 coverage only). */
    CHECK(wolf_accepts(uid_talker, m, w.sign_off + 2, sg + 2));
    CHECK(!wolf_accepts(uid_talker, m, w.sign_off, sg + 2));
    CHECK(!wolf_accepts(uid_group, m, w.sign_off + 2, sg + 2));

    /* KEMAC: AES-CM-128, 20 octets, HMAC-SHA-256-256 over HDR .. the MAC algorithm octet;
     * transport keys from the GMK (RFC 3830 4.1.4, CS-ID 0xff), IV = (salt xor (0x0000 ||
     * CSB ID || T)) || 0x0000 (RFC 3830 4.2.3). */
    CHECK(kemac[1] == 1 && kemac[2] == 0 && kemac[3] == 20 && kemac[4 + 20] == 2);
    CHECK(w.len[7] == 4 + 20 + 1 + 32);
    CHECK_STATUS(mcsec_mikey_derive(MCSEC_MIKEY_PRF_HMAC_SHA256, gmk, 16,
                                    MCSEC_MIKEY_CONST_PSK_AUTH, 0xff, GSK_ID, rand, 16, auth, 32),
                 MCSEC_OK);
    CHECK_STATUS(mcsec_mikey_derive(MCSEC_MIKEY_PRF_HMAC_SHA256, gmk, 16,
                                    MCSEC_MIKEY_CONST_PSK_ENCR, 0xff, GSK_ID, rand, 16, encr, 16),
                 MCSEC_OK);
    CHECK_STATUS(mcsec_mikey_derive(MCSEC_MIKEY_PRF_HMAC_SHA256, gmk, 16,
                                    MCSEC_MIKEY_CONST_PSK_SALT, 0xff, GSK_ID, rand, 16, salt, 14),
                 MCSEC_OK);
    size_t mac_off = w.off[7] + 4 + 20 + 1;
    HMAC(EVP_sha256(), auth, 32, m, mac_off, mac, &ml);
    CHECK(ml == 32 && memcmp(mac, m + mac_off, 32) == 0);
    memset(iv, 0, sizeof iv);
    be32(iv + 2, GSK_ID);
    be64(iv + 6, NOW << 32);
    for (int i = 0; i < 14; i++)
        iv[i] ^= salt[i];
    CHECK(aes_ctr(encr, iv, kemac + 4, kd, sizeof kd));
    static const uint8_t kd_head[4] = {0, 0, 0, 16}; /* last, TGK, KV NULL, 16 octets */
    CHECK_MEM(kd, kd_head, 4);
    CHECK_MEM(kd + 4, gsk, 16);
out:
    mcsec_memzero(auth, sizeof auth);
    mcsec_memzero(encr, sizeof encr);
    mcsec_memzero(kd, sizeof kd);
    mcsec_eccsi_signer_free(signer);
}

int main(void) {
    setup();
    test_mcsec_built_gmk();
    test_hand_built();
    test_gsk();
    teardown();
    return test_summary();
}
