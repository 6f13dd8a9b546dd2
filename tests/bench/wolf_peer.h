/* The wolfSSL peer: wolfCrypt's independent ECCSI (RFC 6507) and SAKKE (RFC 6508, parameter
 * set 1) behind a plain interface of octet buffers in mcsec's encodings, for mcsec-bench and
 * the interop tests. wolfSSL's headers clash with OpenSSL's, so only wolf_peer.c includes
 * them and this header includes neither.
 *
 * Encodings (the same as mcsec's): ECCSI scalars 32 octets, points 65 octets 04 || x || y,
 * signatures r || s || PVT = 129 octets; SAKKE z 128 octets, points 257 octets 04 || x || y,
 * SSV 16 octets, encapsulated data R || H = 273 octets.
 *
 * Every function returns 0 on success or a negative wolfSSL error code (wolf_peer_strerror);
 * a check that ran but failed is reported through *valid = 0 with a 0 return. Objects are not
 * thread safe (one wolfSSL key each, plus one process-wide wolfSSL RNG). */
#ifndef MCSEC_WOLF_PEER_H
#define MCSEC_WOLF_PEER_H

#include <stddef.h>
#include <stdint.h>

#define WOLF_PEER_ECCSI_SCALAR_LEN 32
#define WOLF_PEER_ECCSI_POINT_LEN 65
#define WOLF_PEER_ECCSI_HASH_LEN 32
#define WOLF_PEER_ECCSI_SIG_LEN 129
#define WOLF_PEER_SAKKE_SCALAR_LEN 128
#define WOLF_PEER_SAKKE_POINT_LEN 257
#define WOLF_PEER_SAKKE_SSV_LEN 16
#define WOLF_PEER_SAKKE_ENCAP_LEN 273

/* Initialises wolfCrypt and its RNG once; every constructor calls it. */
int wolf_peer_init(void);
void wolf_peer_cleanup(void);
const char *wolf_peer_version(void);
const char *wolf_peer_strerror(int err);

/* --- ECCSI ---------------------------------------------------------------------------- */

typedef struct wolf_eccsi wolf_eccsi_t;

/* A KMS with a fresh KSAK, or with a given KSAK (wolfSSL computes KPAK = [KSAK]G itself). */
int wolf_eccsi_kms_generate(wolf_eccsi_t **out);
int wolf_eccsi_kms_import(wolf_eccsi_t **out, const uint8_t ksak[WOLF_PEER_ECCSI_SCALAR_LEN]);
/* A client of the KMS with public key kpak. */
int wolf_eccsi_public(wolf_eccsi_t **out, const uint8_t kpak[WOLF_PEER_ECCSI_POINT_LEN]);
void wolf_eccsi_free(wolf_eccsi_t *e); /* NULL ok */

int wolf_eccsi_kpak(wolf_eccsi_t *e, uint8_t kpak[WOLF_PEER_ECCSI_POINT_LEN]);
int wolf_eccsi_ksak(wolf_eccsi_t *e, uint8_t ksak[WOLF_PEER_ECCSI_SCALAR_LEN]);
/* KMS: (SSK, PVT) for id with a fresh random v. */
int wolf_eccsi_issue(wolf_eccsi_t *e, const uint8_t *id, size_t id_len,
                     uint8_t ssk[WOLF_PEER_ECCSI_SCALAR_LEN],
                     uint8_t pvt[WOLF_PEER_ECCSI_POINT_LEN]);
/* HS = SHA-256(G || KPAK || ID || PVT). */
int wolf_eccsi_hash_hs(wolf_eccsi_t *e, const uint8_t *id, size_t id_len,
                       const uint8_t pvt[WOLF_PEER_ECCSI_POINT_LEN],
                       uint8_t hs[WOLF_PEER_ECCSI_HASH_LEN]);
/* RFC 6507 5.1.2 via wc_ValidateEccsiPair. */
int wolf_eccsi_validate(wolf_eccsi_t *e, const uint8_t *id, size_t id_len,
                        const uint8_t ssk[WOLF_PEER_ECCSI_SCALAR_LEN],
                        const uint8_t pvt[WOLF_PEER_ECCSI_POINT_LEN], int *valid);
/* Makes e a signer for id (HS computed once here). */
int wolf_eccsi_set_signer(wolf_eccsi_t *e, const uint8_t *id, size_t id_len,
                          const uint8_t ssk[WOLF_PEER_ECCSI_SCALAR_LEN],
                          const uint8_t pvt[WOLF_PEER_ECCSI_POINT_LEN]);
int wolf_eccsi_sign(wolf_eccsi_t *e, const uint8_t *msg, size_t msg_len,
                    uint8_t sig[WOLF_PEER_ECCSI_SIG_LEN]);
/* Takes PVT from the signature, computes HS for (id, PVT), then wc_VerifyEccsiHash. */
int wolf_eccsi_verify(wolf_eccsi_t *e, const uint8_t *id, size_t id_len, const uint8_t *msg,
                      size_t msg_len, const uint8_t *sig, size_t sig_len, int *valid);

/* --- SAKKE ---------------------------------------------------------------------------- */

typedef struct wolf_sakke wolf_sakke_t;

/* Which precomputations a SAKKE object has installed (wolf_sakke_precomputed). */
#define WOLF_SAKKE_PRE_POINT_I 1       /* I = [b]P + Z cached (wc_MakeSakkePointI) */
#define WOLF_SAKKE_PRE_POINT_I_TABLE 2 /* fixed-base table for I (wc_GenerateSakkePointITable) */
#define WOLF_SAKKE_PRE_RSK_TABLE 4     /* pairing table for the RSK (wc_GenerateSakkeRskTable) */

/* A KMS with a fresh z, or with a given z (wolfSSL computes Z = [z]P itself). */
int wolf_sakke_kms_generate(wolf_sakke_t **out);
int wolf_sakke_kms_import(wolf_sakke_t **out, const uint8_t z[WOLF_PEER_SAKKE_SCALAR_LEN]);
/* A client (sender and/or receiver) of the KMS with public key Z. */
int wolf_sakke_public(wolf_sakke_t **out, const uint8_t Z[WOLF_PEER_SAKKE_POINT_LEN]);
void wolf_sakke_free(wolf_sakke_t *s); /* NULL ok */

int wolf_sakke_Z(wolf_sakke_t *s, uint8_t Z[WOLF_PEER_SAKKE_POINT_LEN]);
int wolf_sakke_z(wolf_sakke_t *s, uint8_t z[WOLF_PEER_SAKKE_SCALAR_LEN]);
/* KMS: RSK = [(b + z)^-1]P. */
int wolf_sakke_issue_rsk(wolf_sakke_t *s, const uint8_t *id, size_t id_len,
                         uint8_t rsk[WOLF_PEER_SAKKE_POINT_LEN]);
/* RFC 6508 6.1.2 via wc_ValidateSakkeRsk. */
int wolf_sakke_validate_rsk(wolf_sakke_t *s, const uint8_t *id, size_t id_len,
                            const uint8_t rsk[WOLF_PEER_SAKKE_POINT_LEN], int *valid);

/* Sender: precompute point I (and its table where the build supports it) for id, so that
 * encapsulations to id skip [b]P + Z. Optional. */
int wolf_sakke_sender_precompute(wolf_sakke_t *s, const uint8_t *id, size_t id_len);
/* RFC 6508 6.2.1 (wc_MakeSakkeEncapsulatedSSV); out = R || H. */
int wolf_sakke_encapsulate(wolf_sakke_t *s, const uint8_t *id, size_t id_len,
                           const uint8_t ssv[WOLF_PEER_SAKKE_SSV_LEN],
                           uint8_t out[WOLF_PEER_SAKKE_ENCAP_LEN]);

/* Receiver: install the RSK for id; with precompute, also point I and the RSK pairing
 * table (where the build supports them). */
int wolf_sakke_set_receiver(wolf_sakke_t *s, const uint8_t *id, size_t id_len,
                            const uint8_t rsk[WOLF_PEER_SAKKE_POINT_LEN], int precompute);
/* RFC 6508 6.2.2 (wc_DeriveSakkeSSV) for the installed receiver; ssv zeroed on failure. */
int wolf_sakke_decapsulate(wolf_sakke_t *s, const uint8_t *data, size_t data_len,
                           uint8_t ssv[WOLF_PEER_SAKKE_SSV_LEN]);

/* WOLF_SAKKE_PRE_* bits actually in use. */
int wolf_sakke_precomputed(const wolf_sakke_t *s);

#endif
