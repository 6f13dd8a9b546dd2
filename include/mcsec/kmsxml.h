/* The TS 33.180 Annex D KMS documents (namespace urn:3gpp:ns:mcsecKMSInterface:1.0):
 * a KmsResponse carrying either a KmsInit (the KMS certificate: Z, KPAK, user key period)
 * or a KmsKeyProv (one or more user key sets: UID, RSK, SSK, PVT).
 *
 * Parsing is strict about the document shape and the encodings, and does no cryptographic
 * validation: mcsec_kmsxml_check_keyset() binds a key set to its certificate and identity.
 * Writing produces the documents a KMS serves; whatever the writer accepts, the parser
 * accepts and returns unchanged.
 *
 * Encodings (both directions):
 * - documents: UTF-8, at most MCSEC_KMSXML_MAX_LEN octets, no DTD, no NUL octet;
 * - strings (URIs, issuer, URL): surrounding whitespace trimmed, 1..MCSEC_KMSXML_STR_MAX
 *   octets, no control characters;
 * - times: xs:dateTime "YYYY-MM-DDThh:mm:ss[.frac][Z|+hh:mm|-hh:mm]" between years 0001 and
 *   9999; no zone means UTC, fractions are dropped; stored as Unix seconds (int64_t); written
 *   as "YYYY-MM-DDThh:mm:ssZ";
 * - integers: unsigned decimal (uint64_t); booleans: true/false/1/0;
 * - keys: hex digits of either case, whitespace anywhere allowed, no "0x"; written in upper
 *   case on one line.
 *
 * Statuses: MCSEC_ERR_XML (not well-formed, DTD present, wrong root or namespace, mandatory
 * element missing or duplicated, unknown xsi:type, wrong document kind), MCSEC_ERR_BAD_INPUT
 * (NULL argument, bad hex, bad number, time, boolean, empty or control-character string),
 * MCSEC_ERR_BAD_LENGTH (document or string too long, key of the wrong length, too many key
 * sets for the caller's array, output buffer too small), MCSEC_ERR_POINT_ENCODING (a point
 * not starting 04), MCSEC_ERR_UNSUPPORTED (UserIdFormat other than 2, ParameterSet other
 * than 1, certificate Role other than Root, SignedKmsResponse), MCSEC_ERR_NOMEM. On any
 * failure the outputs are zeroed. */
#ifndef MCSEC_KMSXML_H
#define MCSEC_KMSXML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mcsec/eccsi.h"
#include "mcsec/kdf.h"
#include "mcsec/sakke.h"
#include "mcsec/status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define MCSEC_KMSXML_NS "urn:3gpp:ns:mcsecKMSInterface:1.0"
#define MCSEC_KMSXML_MAX_LEN 65536 /* largest document parsed or written, in octets */
#define MCSEC_KMSXML_STR_MAX 255   /* longest URI / issuer / URL, in octets */

/* KmsResponse header fields. Strings are NUL-terminated. */
typedef struct {
    char user_uri[MCSEC_KMSXML_STR_MAX + 1];       /* UserUri */
    char kms_uri[MCSEC_KMSXML_STR_MAX + 1];        /* KmsUri */
    int64_t time;                                  /* Time, Unix seconds */
    char client_req_url[MCSEC_KMSXML_STR_MAX + 1]; /* ClientReqUrl */
} mcsec_kms_response_hdr_t;

/* KmsInit > KmsCertificate (Version 1.1.0, Role Root). Public data only. */
typedef struct {
    char kms_uri[MCSEC_KMSXML_STR_MAX + 1];  /* KmsUri */
    char cert_uri[MCSEC_KMSXML_STR_MAX + 1]; /* CertUri */
    char issuer[MCSEC_KMSXML_STR_MAX + 1];   /* Issuer */
    int64_t valid_from, valid_to;            /* ValidFrom, ValidTo, Unix seconds */
    bool revoked;                            /* Revoked */
    unsigned user_id_format;                 /* UserIdFormat, always 2 */
    uint64_t key_period;                     /* UserKeyPeriod, seconds, > 0 */
    uint64_t key_offset;                     /* UserKeyOffset, seconds */
    uint8_t Z[MCSEC_SAKKE_POINT_LEN];        /* PubEncKey: SAKKE KMS public key */
    uint8_t kpak[MCSEC_ECCSI_POINT_LEN];     /* PubAuthKey: ECCSI KPAK */
    unsigned parameter_set;                  /* ParameterSet, always 1 */
} mcsec_kms_init_t;

/* KmsKeyProv > KmsKeySet (Version 1.1.0). rsk and ssk are secret: wipe the struct with
 * mcsec_kms_keyset_wipe() when done. */
typedef struct {
    char kms_uri[MCSEC_KMSXML_STR_MAX + 1];  /* KmsUri */
    char cert_uri[MCSEC_KMSXML_STR_MAX + 1]; /* CertUri */
    char issuer[MCSEC_KMSXML_STR_MAX + 1];   /* Issuer */
    char user_uri[MCSEC_KMSXML_STR_MAX + 1]; /* UserUri */
    uint8_t uid[MCSEC_UID_LEN];              /* UserID (UID format 2) */
    int64_t valid_from, valid_to;            /* ValidFrom, ValidTo, Unix seconds */
    uint64_t key_period_no;                  /* KeyPeriodNo */
    bool revoked;                            /* Revoked */
    uint8_t rsk[MCSEC_SAKKE_POINT_LEN];      /* UserDecryptKey (secret) */
    uint8_t ssk[MCSEC_ECCSI_SCALAR_LEN];     /* UserSigningKeySSK (secret) */
    uint8_t pvt[MCSEC_ECCSI_POINT_LEN];      /* UserPubTokenPVT */
} mcsec_kms_keyset_t;

/* Zeroes n key sets (secrets included). NULL is accepted. */
void mcsec_kms_keyset_wipe(mcsec_kms_keyset_t *sets, size_t n);

/* Parses a KmsResponse carrying a KmsInit. xml need not be NUL-terminated. */
mcsec_status_t mcsec_kmsxml_parse_init(const char *xml, size_t len, mcsec_kms_response_hdr_t *hdr,
                                       mcsec_kms_init_t *out) MCSEC_MUST_CHECK;

/* Parses a KmsResponse carrying a KmsKeyProv with 1..max_sets key sets into sets[0..n-1]
 * (MCSEC_ERR_BAD_LENGTH if there are more). Every entry of sets[] is zeroed first; the
 * parser wipes its own copies of the secret hex. */
mcsec_status_t mcsec_kmsxml_parse_keyprov(const char *xml, size_t len,
                                          mcsec_kms_response_hdr_t *hdr, mcsec_kms_keyset_t *sets,
                                          size_t max_sets, size_t *n_sets) MCSEC_MUST_CHECK;

/* Writes the documents into buf (NUL-terminated; *len excludes the NUL). If buf is too small
 * the result is MCSEC_ERR_BAD_LENGTH and *len is the size needed (excluding the NUL); a
 * partial document is wiped. The fields are checked as the parser checks them. No copy of
 * the secrets is made outside buf. */
mcsec_status_t mcsec_kmsxml_write_init(const mcsec_kms_response_hdr_t *hdr,
                                       const mcsec_kms_init_t *init, char *buf, size_t cap,
                                       size_t *len) MCSEC_MUST_CHECK;
mcsec_status_t mcsec_kmsxml_write_keyprov(const mcsec_kms_response_hdr_t *hdr,
                                          const mcsec_kms_keyset_t *sets, size_t n, char *buf,
                                          size_t cap, size_t *len) MCSEC_MUST_CHECK;

/* Binds a key set to a KMS certificate and an identity, as a handset must before using it:
 * - user_id_format 2 and parameter set 1 (MCSEC_ERR_UNSUPPORTED otherwise);
 * - set->kms_uri equals init->kms_uri (MCSEC_ERR_UNKNOWN_KEY otherwise);
 * - set->user_uri equals expected_user_uri, if not NULL, and
 *   UID = mcsec_uid_format2(user URI, init->kms_uri, key_period, key_offset, key_period_no)
 *   equals set->uid (MCSEC_ERR_WRONG_RECIPIENT otherwise);
 * - the RSK validates against Z for the UID (mcsec_sakke_validate_rsk) and (SSK, PVT)
 *   against KPAK (mcsec_eccsi_validate); their statuses are returned.
 * Validity times and the Revoked flags are not looked at: that needs a clock and policy. */
mcsec_status_t mcsec_kmsxml_check_keyset(const mcsec_kms_init_t *init,
                                         const mcsec_kms_keyset_t *set,
                                         const char *expected_user_uri) MCSEC_MUST_CHECK;

#ifdef __cplusplus
}
#endif
#endif
