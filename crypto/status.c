/* mcsec_strerror: one line per status, saying what was wrong. */
#include "mcsec/status.h"

const char *mcsec_strerror(mcsec_status_t status)
{
    switch (status) {
    case MCSEC_OK: return "success";
    case MCSEC_ERR_BAD_INPUT: return "malformed input";
    case MCSEC_ERR_BAD_LENGTH: return "input has the wrong length";
    case MCSEC_ERR_VERIFY: return "verification failed (signature, MAC or check does not match)";
    case MCSEC_ERR_UNKNOWN_KEY: return "no key with that identifier";
    case MCSEC_ERR_REPLAY: return "replayed message";
    case MCSEC_ERR_EXPIRED: return "key or message outside its validity period";
    case MCSEC_ERR_IO: return "input/output error";
    case MCSEC_ERR_NOMEM: return "out of memory";
    case MCSEC_ERR_INTERNAL: return "internal error";
    case MCSEC_ERR_SELFTEST: return "crypto self test failed: library disabled";
    case MCSEC_ERR_RNG: return "random number generator failed";
    case MCSEC_ERR_POINT_ENCODING: return "point is not encoded as 04 || x || y";
    case MCSEC_ERR_POINT_RANGE: return "point coordinate is not below the field prime";
    case MCSEC_ERR_NOT_ON_CURVE: return "point is not on the curve";
    case MCSEC_ERR_INFINITY: return "point is the point at infinity";
    case MCSEC_ERR_SMALL_ORDER: return "point is not in the prime-order subgroup";
    case MCSEC_ERR_SCALAR_RANGE: return "scalar is zero or not below the group order";
    case MCSEC_ERR_KEY_INVALID: return "key fails validation against the KMS public key";
    case MCSEC_ERR_DECAPSULATE: return "SAKKE decapsulation check failed (tampered or not for us)";
    case MCSEC_ERR_SIGN_RETRY: return "signing nonce rejected; retry";
    case MCSEC_ERR_UNSUPPORTED: return "unsupported parameter";
    case MCSEC_ERR_TRUNCATED: return "input is truncated (a field or length runs past the end)";
    case MCSEC_ERR_TRAILING_DATA: return "unexpected bytes after the end of the message";
    case MCSEC_ERR_STRUCTURE: return "payloads missing, duplicated, out of order or unknown";
    case MCSEC_ERR_WRONG_RECIPIENT: return "message is addressed to another identity";
    case MCSEC_ERR_POLICY: return "security policy refused (NULL or weak protection)";
    case MCSEC_ERR_PURPOSE: return "key identifier purpose tag does not match the message kind";
    case MCSEC_ERR_KEY_PERIOD: return "no keys for the key period of the message time";
    case MCSEC_ERR_PASSPHRASE: return "wrong passphrase or corrupted secret";
    case MCSEC_ERR_XML: return "malformed XML or not the expected KMS document";
    case MCSEC_ERR_STALE: return "message timestamp outside the freshness window";
    }
    return "unknown status";
}
