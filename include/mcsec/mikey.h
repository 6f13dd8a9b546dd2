/* MIKEY codec (RFC 3830, RFC 6043, RFC 6509, 3GPP TS 33.180): parse and build messages.
 *
 * Parsing is a pure function over a byte buffer. The result holds VIEWS into that buffer
 * (pointer + length): nothing is allocated and no key material is copied, so the buffer must
 * outlive the parsed message. Structure, bounds and field values are checked; policy (which
 * ciphers, tag lengths, which payloads a given 3GPP message needs) is the profiles' job.
 *
 * Building writes into a caller buffer, payload by payload. Each payload's "next payload"
 * octet is patched when the following payload is appended (the last one keeps 0). A builder
 * refuses the same field values the parser refuses, so everything it writes parses back.
 *
 * The byte layout of every payload is in docs/protocol.md ("MIKEY codec"). */
#ifndef MCSEC_MIKEY_H
#define MCSEC_MIKEY_H

#include <stddef.h>
#include <stdint.h>

#include "mcsec/kdf.h" /* MCSEC_MIKEY_PRF_HMAC_SHA1 / _SHA256: the HDR PRF values */
#include "mcsec/status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define MCSEC_MIKEY_VERSION 1

/* At most this many payloads after HDR (SIGN included); more is MCSEC_ERR_STRUCTURE. */
#define MCSEC_MIKEY_MAX_PAYLOADS 32

/* Payload type numbers: the values of the "next payload" fields. */
enum {
    MCSEC_MIKEY_PT_LAST = 0,
    MCSEC_MIKEY_PT_KEMAC = 1,
    MCSEC_MIKEY_PT_PKE = 2,
    MCSEC_MIKEY_PT_DH = 3,
    MCSEC_MIKEY_PT_SIGN = 4,
    MCSEC_MIKEY_PT_T = 5,
    MCSEC_MIKEY_PT_ID = 6,
    MCSEC_MIKEY_PT_CERT = 7,
    MCSEC_MIKEY_PT_CHASH = 8,
    MCSEC_MIKEY_PT_V = 9,
    MCSEC_MIKEY_PT_SP = 10,
    MCSEC_MIKEY_PT_RAND = 11,
    MCSEC_MIKEY_PT_ERR = 12,
    MCSEC_MIKEY_PT_TR = 13,  /* RFC 6043 ticket payloads 13, 15, 16, 17: */
    MCSEC_MIKEY_PT_IDR = 14, /* not implemented, MCSEC_ERR_UNSUPPORTED */
    MCSEC_MIKEY_PT_RANDR = 15,
    MCSEC_MIKEY_PT_TP = 16,
    MCSEC_MIKEY_PT_TICKET = 17,
    MCSEC_MIKEY_PT_KEY_DATA = 20, /* only inside KEMAC encrypted data */
    MCSEC_MIKEY_PT_GENERAL_EXT = 21,
    MCSEC_MIKEY_PT_SAKKE = 26,
};

/* Payload types a message may carry at most once (bit n = type n); MCSEC_ERR_STRUCTURE for a
 * second one, from the parser and the builder. SP may repeat with distinct policy numbers;
 * ID, IDR, CERT, ERR, GENERAL_EXT may repeat; SIGN is at most once since nothing follows it. */
#define MCSEC_MIKEY_ONCE_MASK                                                                      \
    ((1u << MCSEC_MIKEY_PT_T) | (1u << MCSEC_MIKEY_PT_RAND) | (1u << MCSEC_MIKEY_PT_KEMAC) |       \
     (1u << MCSEC_MIKEY_PT_PKE) | (1u << MCSEC_MIKEY_PT_DH) | (1u << MCSEC_MIKEY_PT_CHASH) |       \
     (1u << MCSEC_MIKEY_PT_V) | (1u << MCSEC_MIKEY_PT_SAKKE))

/* HDR data types accepted: 0-16 (RFC 3830, 4650, 4738, 6043) and 26; others UNSUPPORTED. */
enum {
    MCSEC_MIKEY_DT_PSK_INIT = 0,
    MCSEC_MIKEY_DT_PSK_RESP = 1,
    MCSEC_MIKEY_DT_PK_INIT = 2,
    MCSEC_MIKEY_DT_PK_RESP = 3,
    MCSEC_MIKEY_DT_DH_INIT = 4,
    MCSEC_MIKEY_DT_DH_RESP = 5,
    MCSEC_MIKEY_DT_ERROR = 6,
    MCSEC_MIKEY_DT_SAKKE = 26, /* RFC 6509 SAKKE I_MESSAGE */
};

/* CS ID map types. */
enum {
    MCSEC_MIKEY_MAP_SRTP_ID = 0,
    MCSEC_MIKEY_MAP_EMPTY = 1,
    MCSEC_MIKEY_MAP_GENERIC_ID = 2, /* RFC 6043 6.1.1 */
};

/* T: TS types (value length 8, 8, 4, 4 octets). */
enum {
    MCSEC_MIKEY_TS_NTP_UTC = 0,
    MCSEC_MIKEY_TS_NTP = 1,
    MCSEC_MIKEY_TS_COUNTER = 2,
    MCSEC_MIKEY_TS_NTP_UTC_32 = 3, /* RFC 6043 6.4 */
};

/* ID / IDR: ID types, IDR roles (1-7 RFC 6043/6509; 8, 9 3GPP TS 33.180 UIDs). */
enum {
    MCSEC_MIKEY_ID_NAI = 0,
    MCSEC_MIKEY_ID_URI = 1,
    MCSEC_MIKEY_ID_BYTES = 2,
};
enum {
    MCSEC_MIKEY_ROLE_I = 1,
    MCSEC_MIKEY_ROLE_R = 2,
    MCSEC_MIKEY_ROLE_KMS = 3,
    MCSEC_MIKEY_ROLE_PSK = 4,
    MCSEC_MIKEY_ROLE_APP = 5,
    MCSEC_MIKEY_ROLE_KMSI = 6,
    MCSEC_MIKEY_ROLE_KMSR = 7,
    MCSEC_MIKEY_ROLE_3GPP_UID_I = 8,
    MCSEC_MIKEY_ROLE_3GPP_UID_R = 9,
};

/* KEMAC encryption algorithms; KEMAC / V MAC algorithms (MAC length 0, 20, 32 octets). */
enum {
    MCSEC_MIKEY_ENCR_NULL = 0,
    MCSEC_MIKEY_ENCR_AES_CM_128 = 1,
    MCSEC_MIKEY_ENCR_AES_KW_128 = 2,
};
enum {
    MCSEC_MIKEY_MAC_NULL = 0,
    MCSEC_MIKEY_MAC_HMAC_SHA1_160 = 1,
    MCSEC_MIKEY_MAC_HMAC_SHA256_256 = 2,
};

/* KEY_DATA key types and key validity (KV) types. */
enum {
    MCSEC_MIKEY_KEY_TGK = 0,
    MCSEC_MIKEY_KEY_TGK_SALT = 1,
    MCSEC_MIKEY_KEY_TEK = 2,
    MCSEC_MIKEY_KEY_TEK_SALT = 3,
};
enum {
    MCSEC_MIKEY_KV_NULL = 0,
    MCSEC_MIKEY_KV_SPI = 1,
    MCSEC_MIKEY_KV_INTERVAL = 2,
};

/* SIGN types (S type, 4 bits); CHASH hash functions; DH groups (value 192, 96, 128 octets). */
enum {
    MCSEC_MIKEY_SIGN_RSA_PKCS1 = 0,
    MCSEC_MIKEY_SIGN_RSA_PSS = 1,
    MCSEC_MIKEY_SIGN_ECCSI = 2, /* RFC 6509 */
};
enum { MCSEC_MIKEY_HASH_SHA1 = 0, MCSEC_MIKEY_HASH_MD5 = 1 };
enum { MCSEC_MIKEY_DH_OAKLEY5 = 0, MCSEC_MIKEY_DH_OAKLEY1 = 1, MCSEC_MIKEY_DH_OAKLEY2 = 2 };

/* SAKKE payload (RFC 6509 4.2) and 3GPP GENERAL_EXT types (TS 33.180 E.5, E.6). */
#define MCSEC_MIKEY_SAKKE_PARAMS_1 1
#define MCSEC_MIKEY_SAKKE_SCHEME_TEL 1 /* RFC 6509 "YYYY-MM" 00 "tel:..." 00 */
#define MCSEC_MIKEY_SAKKE_SCHEME_UID 2 /* 3GPP UID */
#define MCSEC_MIKEY_EXT_3GPP_SAKKE_TO_SELF 6
#define MCSEC_MIKEY_EXT_3GPP_KEY_PARAMS 7

/* A view: len octets at p, inside the parsed buffer. Fields the message carries always have
 * p != NULL (even when len is 0); fields it does not carry (an absent salt, the unused KV
 * spans) are {NULL, 0}. */
typedef struct {
    const uint8_t *p;
    size_t len;
} mcsec_mikey_span_t;

/* --- Decoded payloads -------------------------------------------------------------------- */

/* Key validity data (KEY_DATA and DH): KV_SPI uses spi, KV_INTERVAL uses from/to. */
typedef struct {
    uint8_t type; /* MCSEC_MIKEY_KV_* */
    mcsec_mikey_span_t spi;
    mcsec_mikey_span_t from;
    mcsec_mikey_span_t to;
} mcsec_mikey_kv_t;

/* HDR. map is the raw CS ID map info; walk it with mcsec_mikey_cs_next(). */
typedef struct {
    uint8_t version;   /* always 1 after a successful parse */
    uint8_t data_type; /* MCSEC_MIKEY_DT_* */
    uint8_t next;      /* type of the first payload */
    uint8_t v;         /* V flag: a verification message is requested */
    uint8_t prf;       /* mcsec_mikey_prf_t value (0 or 1) */
    uint32_t csb_id;
    uint8_t n_cs;     /* #CS */
    uint8_t map_type; /* MCSEC_MIKEY_MAP_* */
    mcsec_mikey_span_t map;
    size_t len; /* HDR length in octets (10 + map.len) */
} mcsec_mikey_hdr_t;

/* One crypto session of the CS ID map. SRTP-ID uses policy_no, ssrc, roc; GENERIC-ID uses
 * cs_id, protocol, s, policies (#P policy numbers), session_data, spi. */
typedef struct {
    uint8_t policy_no;
    uint32_t ssrc;
    uint32_t roc;
    uint8_t cs_id;
    uint8_t protocol;
    uint8_t s; /* S flag, 0 or 1 */
    mcsec_mikey_span_t policies;
    mcsec_mikey_span_t session_data;
    mcsec_mikey_span_t spi;
} mcsec_mikey_cs_t;

typedef struct {
    uint8_t encr_alg;        /* MCSEC_MIKEY_ENCR_* */
    mcsec_mikey_span_t encr; /* encrypted KEY_DATA sub-payloads */
    uint8_t mac_alg;         /* MCSEC_MIKEY_MAC_*; mac.len follows from it */
    mcsec_mikey_span_t mac;  /* the MAC covers the message from HDR up to mac.p (exclusive) */
} mcsec_mikey_kemac_t;

typedef struct {
    uint8_t cache;           /* C, 2 bits */
    mcsec_mikey_span_t data; /* at most 16383 octets */
} mcsec_mikey_pke_t;

typedef struct {
    uint8_t group; /* MCSEC_MIKEY_DH_*; value.len follows from it */
    mcsec_mikey_span_t value;
    uint8_t reserved; /* the 4 reserved bits, kept for exact rebuilds */
    mcsec_mikey_kv_t kv;
} mcsec_mikey_dh_t;

typedef struct {
    uint8_t type;           /* MCSEC_MIKEY_SIGN_* */
    mcsec_mikey_span_t sig; /* at most 4095 octets */
} mcsec_mikey_sign_t;

typedef struct {
    uint8_t ts_type; /* MCSEC_MIKEY_TS_* */
    uint64_t value;  /* 64-bit NTP value or 32-bit counter / NTP-UTC-32 */
} mcsec_mikey_t_t;

/* ID (role 0) and IDR (role 1-9). */
typedef struct {
    uint8_t role;
    uint8_t id_type; /* MCSEC_MIKEY_ID_* */
    mcsec_mikey_span_t data;
} mcsec_mikey_id_t;

typedef struct {
    uint8_t cert_type; /* opaque to mcsec */
    mcsec_mikey_span_t data;
} mcsec_mikey_cert_t;

typedef struct {
    uint8_t func; /* MCSEC_MIKEY_HASH_*; hash.len follows from it */
    mcsec_mikey_span_t hash;
} mcsec_mikey_chash_t;

typedef struct {
    uint8_t mac_alg; /* MCSEC_MIKEY_MAC_* */
    mcsec_mikey_span_t mac;
} mcsec_mikey_v_t;

/* SP: params is the raw (type, len, value) list; walk it with mcsec_mikey_sp_next(). */
typedef struct {
    uint8_t policy_no;
    uint8_t protocol; /* 0 SRTP */
    mcsec_mikey_span_t params;
} mcsec_mikey_sp_t;

typedef struct {
    uint8_t type;
    mcsec_mikey_span_t value; /* at most 255 octets */
} mcsec_mikey_sp_param_t;

typedef struct {
    mcsec_mikey_span_t data; /* 16 to 255 octets */
} mcsec_mikey_rand_t;

typedef struct {
    uint8_t code;
    uint16_t reserved;
} mcsec_mikey_err_t;

typedef struct {
    uint8_t ext_type; /* opaque; 3GPP uses 6 and 7 */
    mcsec_mikey_span_t data;
} mcsec_mikey_ext_t;

typedef struct {
    uint8_t params;          /* 1 */
    uint8_t id_scheme;       /* 1 or 2 */
    mcsec_mikey_span_t data; /* encapsulated data R || H (273 octets for params 1) */
} mcsec_mikey_sakke_t;

/* One payload after HDR: its type, its raw span in the message, its decoded fields. */
typedef struct {
    uint8_t type; /* MCSEC_MIKEY_PT_*: selects the union member of the same name */
    uint8_t next; /* its "next payload" field (0 for SIGN, which has none) */
    size_t off;   /* offset of its first octet in the message */
    size_t len;   /* its length in octets */
    union {
        mcsec_mikey_kemac_t kemac;
        mcsec_mikey_pke_t pke;
        mcsec_mikey_dh_t dh;
        mcsec_mikey_sign_t sign;
        mcsec_mikey_t_t t;
        mcsec_mikey_id_t id; /* ID: role 0 */
        mcsec_mikey_cert_t cert;
        mcsec_mikey_chash_t chash;
        mcsec_mikey_v_t v;
        mcsec_mikey_sp_t sp;
        mcsec_mikey_rand_t rand;
        mcsec_mikey_err_t err;
        mcsec_mikey_id_t idr;
        mcsec_mikey_ext_t ext; /* GENERAL_EXT */
        mcsec_mikey_sakke_t sakke;
    } u;
} mcsec_mikey_payload_t;

/* A parsed message. Signed messages (has_sign) have SIGN as the last payload and two
 * signed spans: signed_data is HDR up to and including the two SIGN header octets
 * (RFC 3830 5.2, what signers emit); signed_data_alt stops before them (some deployed
 * peers sign that). The signature itself is payload[count - 1].u.sign.sig. */
typedef struct {
    const uint8_t *buf;
    size_t len;
    mcsec_mikey_hdr_t hdr;
    size_t count;
    mcsec_mikey_payload_t payload[MCSEC_MIKEY_MAX_PAYLOADS];
    int has_sign;
    size_t sign_off;
    mcsec_mikey_span_t signed_data;
    mcsec_mikey_span_t signed_data_alt;
} mcsec_mikey_msg_t;

/* One KEY_DATA sub-payload (RFC 3830 6.13), from decrypted KEMAC data. */
typedef struct {
    uint8_t next; /* 20 (another KEY_DATA follows) or 0 */
    uint8_t type; /* MCSEC_MIKEY_KEY_*; salt is present for TGK_SALT and TEK_SALT */
    mcsec_mikey_span_t key;
    mcsec_mikey_span_t salt; /* len 0 (p NULL) when the type has no salt */
    mcsec_mikey_kv_t kv;
    size_t off, len; /* raw span within the decrypted buffer */
} mcsec_mikey_key_data_t;

/* --- Parsing ----------------------------------------------------------------------------- */

/* Parses a whole MIKEY message: out holds views into buf. Statuses:
 *   MCSEC_ERR_BAD_INPUT      buf or out NULL
 *   MCSEC_ERR_TRUNCATED      empty input, input ending inside a field, a length field
 *                            running past the end of the message or of its enclosing block
 *   MCSEC_ERR_TRAILING_DATA  octets after the last payload (next payload 0) or after SIGN
 *   MCSEC_ERR_STRUCTURE      unknown payload type, KEY_DATA outside KEMAC, a second T, RAND,
 *                            KEMAC, PKE, DH, CHASH, V or SAKKE, two SP with one policy no,
 *                            more than MCSEC_MIKEY_MAX_PAYLOADS payloads
 *   MCSEC_ERR_UNSUPPORTED    version != 1, unknown data type, PRF, CS ID map type, TS type,
 *                            ID type, IDR role, KEMAC encr/MAC alg, V MAC alg, CHASH func,
 *                            DH group, KEY_DATA KV type, SIGN type, SAKKE params != 1, SAKKE
 *                            ID scheme not 1/2, RFC 6043 ticket payloads (13, 15, 16, 17)
 *   MCSEC_ERR_BAD_LENGTH     RAND shorter than 16 octets
 * On error *out is unspecified. */
mcsec_status_t mcsec_mikey_parse(const uint8_t *buf, size_t len,
                                 mcsec_mikey_msg_t *out) MCSEC_MUST_CHECK;

/* Parses decrypted KEMAC data: a chain of KEY_DATA sub-payloads (next 20, the last 0) into
 * out[0..*count). Views point into buf. Same statuses as mcsec_mikey_parse; a next value
 * other than 0/20 or more than max sub-payloads is MCSEC_ERR_STRUCTURE, key type > 3 or KV
 * type > 2 MCSEC_ERR_UNSUPPORTED. */
mcsec_status_t mcsec_mikey_parse_key_data(const uint8_t *buf, size_t len,
                                          mcsec_mikey_key_data_t *out, size_t max,
                                          size_t *count) MCSEC_MUST_CHECK;

/* Walks the CS ID map of h: *cursor starts at 0. Returns 1 and fills *out for each crypto
 * session, 0 at the end (or on a map that does not decode, which a parsed HDR never has). */
int mcsec_mikey_cs_next(const mcsec_mikey_hdr_t *h, size_t *cursor, mcsec_mikey_cs_t *out);

/* Walks the policy parameters of an SP payload, like mcsec_mikey_cs_next(). */
int mcsec_mikey_sp_next(const mcsec_mikey_sp_t *sp, size_t *cursor, mcsec_mikey_sp_param_t *out);

/* The first parameter of that type in sp; 1 if found. */
int mcsec_mikey_sp_find(const mcsec_mikey_sp_t *sp, uint8_t type, mcsec_mikey_sp_param_t *out);

/* The first payload of that type at index >= from (NULL if none). */
const mcsec_mikey_payload_t *mcsec_mikey_find(const mcsec_mikey_msg_t *m, uint8_t type,
                                              size_t from);

/* The first IDR payload with that role (NULL if none). */
const mcsec_mikey_payload_t *mcsec_mikey_find_idr(const mcsec_mikey_msg_t *m, uint8_t role);

/* --- Payload table ----------------------------------------------------------------------- */

/* "KEMAC", "SIGN", ... for a payload type; "?" if the type is unknown. */
const char *mcsec_mikey_payload_name(uint8_t type);

/* Octets of the value whose length is implied by a selector field: payload T (selector TS
 * type), CHASH (hash function), V or KEMAC (MAC algorithm), DH (group). -1 if unknown. */
int mcsec_mikey_implied_len(uint8_t payload_type, uint8_t selector);

/* Checks the field VALUES of a decoded payload (not its spans' lengths, except RAND's):
 * MCSEC_OK, MCSEC_ERR_UNSUPPORTED or MCSEC_ERR_BAD_LENGTH as mcsec_mikey_parse would. */
mcsec_status_t mcsec_mikey_payload_check(const mcsec_mikey_payload_t *p) MCSEC_MUST_CHECK;

/* --- Building ---------------------------------------------------------------------------- */

/* A builder over a caller buffer. Fields are the builder's: read len (octets written) and
 * buf, change nothing. Every build function either appends a whole payload and returns
 * MCSEC_OK, or leaves the builder unchanged and returns:
 *   MCSEC_ERR_BAD_LENGTH   the buffer is too small, a field is longer than its length field
 *                          can say, RAND outside 16..255, a MAC / hash / DH value not of the
 *                          length its algorithm implies, a 32-bit T value above 2^32 - 1, or
 *                          a NULL field pointer with a non-zero length
 *   MCSEC_ERR_UNSUPPORTED  a field value the parser would refuse
 *   MCSEC_ERR_STRUCTURE    a second payload of a MCSEC_MIKEY_ONCE_MASK type, a second SP
 *                          with the same policy number
 *   MCSEC_ERR_BAD_INPUT    NULL arguments, HDR not first, a payload after SIGN, KEY_DATA
 *                          mixed with message payloads, a map or SP list that does not decode */
typedef struct {
    uint8_t *buf;
    size_t cap;
    size_t len;
    size_t next_at; /* offset of the "next payload" octet to patch; SIZE_MAX if none */
    int state;      /* 0 empty, 1 message (HDR written), 2 KEY_DATA chain, 3 SIGN begun, 4 done */
    size_t sig_len; /* SIGN: signature length announced by sign_begin */
    uint32_t seen;  /* payload types written (for MCSEC_MIKEY_ONCE_MASK) */
    uint64_t sp_seen[4]; /* SP policy numbers written */
} mcsec_mikey_builder_t;

void mcsec_mikey_builder_init(mcsec_mikey_builder_t *b, uint8_t *buf, size_t cap);

/* HDR: version 1, h->data_type, h->v, h->prf, h->csb_id, h->n_cs, h->map_type. The map is
 * encoded from cs[0 .. h->n_cs) when cs is not NULL (ignored for the empty map), otherwise
 * copied from h->map after checking it decodes to h->n_cs sessions. Must come first. */
mcsec_status_t mcsec_mikey_build_hdr(mcsec_mikey_builder_t *b, const mcsec_mikey_hdr_t *h,
                                     const mcsec_mikey_cs_t *cs) MCSEC_MUST_CHECK;

/* Appends any payload but SIGN from its decoded fields (p->type selects the union member;
 * p->next, p->off, p->len are ignored). With the parser this rebuilds a message exactly. */
mcsec_status_t mcsec_mikey_build_payload(mcsec_mikey_builder_t *b,
                                         const mcsec_mikey_payload_t *p) MCSEC_MUST_CHECK;

/* Convenience forms of mcsec_mikey_build_payload. */
mcsec_status_t mcsec_mikey_build_t(mcsec_mikey_builder_t *b, uint8_t ts_type,
                                   uint64_t value) MCSEC_MUST_CHECK;
mcsec_status_t mcsec_mikey_build_rand(mcsec_mikey_builder_t *b, const uint8_t *rand,
                                      size_t len) MCSEC_MUST_CHECK;
mcsec_status_t mcsec_mikey_build_id(mcsec_mikey_builder_t *b, uint8_t id_type, const uint8_t *id,
                                    size_t len) MCSEC_MUST_CHECK;
mcsec_status_t mcsec_mikey_build_idr(mcsec_mikey_builder_t *b, uint8_t role, uint8_t id_type,
                                     const uint8_t *id, size_t len) MCSEC_MUST_CHECK;
/* SP from a parameter list (each value at most 255 octets). */
mcsec_status_t mcsec_mikey_build_sp(mcsec_mikey_builder_t *b, uint8_t policy_no, uint8_t protocol,
                                    const mcsec_mikey_sp_param_t *params,
                                    size_t n) MCSEC_MUST_CHECK;
/* KEMAC: mac may be NULL (zeros are written). *mac_off (if not NULL) receives the offset of
 * the MAC field: compute the MAC over buf[0 .. *mac_off) once the next payload is appended
 * (its type is part of the covered data) and write it at buf + *mac_off. */
mcsec_status_t mcsec_mikey_build_kemac(mcsec_mikey_builder_t *b, uint8_t encr_alg,
                                       const uint8_t *encr, size_t encr_len, uint8_t mac_alg,
                                       const uint8_t *mac, size_t *mac_off) MCSEC_MUST_CHECK;
/* V: same MAC convention as KEMAC. */
mcsec_status_t mcsec_mikey_build_v(mcsec_mikey_builder_t *b, uint8_t mac_alg, const uint8_t *mac,
                                   size_t *mac_off) MCSEC_MUST_CHECK;
mcsec_status_t mcsec_mikey_build_sakke(mcsec_mikey_builder_t *b, uint8_t params, uint8_t id_scheme,
                                       const uint8_t *data, size_t len) MCSEC_MUST_CHECK;
mcsec_status_t mcsec_mikey_build_general_ext(mcsec_mikey_builder_t *b, uint8_t ext_type,
                                             const uint8_t *data, size_t len) MCSEC_MUST_CHECK;
mcsec_status_t mcsec_mikey_build_err(mcsec_mikey_builder_t *b, uint8_t code) MCSEC_MUST_CHECK;

/* KEY_DATA, for the plaintext of KEMAC: use a builder of its own (no HDR) and append
 * sub-payloads; then encrypt buf[0 .. len) into the KEMAC. The salt is written for key types
 * TGK_SALT / TEK_SALT only. The caller wipes that buffer. */
mcsec_status_t mcsec_mikey_build_key_data(mcsec_mikey_builder_t *b,
                                          const mcsec_mikey_key_data_t *kd) MCSEC_MUST_CHECK;

/* SIGN in two steps. sign_begin patches the previous next payload to SIGN, writes the SIGN
 * header for a sig_len-octet signature (sig_len <= 4095) and reserves room for it; *signed_len
 * receives the length of the data to sign, buf[0 .. *signed_len) (RFC 3830 5.2: HDR up to and
 * including the SIGN header). sign_finish writes the signature (sig_len octets again); after it
 * the message is complete and nothing more can be appended. */
mcsec_status_t mcsec_mikey_build_sign_begin(mcsec_mikey_builder_t *b, uint8_t sign_type,
                                            size_t sig_len, size_t *signed_len) MCSEC_MUST_CHECK;
mcsec_status_t mcsec_mikey_build_sign_finish(mcsec_mikey_builder_t *b, const uint8_t *sig,
                                             size_t sig_len) MCSEC_MUST_CHECK;

#ifdef __cplusplus
}
#endif
#endif
