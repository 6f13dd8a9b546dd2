/* mcsec status codes: one enum for the whole library.
 *
 * Values are part of the ABI: never renumber, only append. */
#ifndef MCSEC_STATUS_H
#define MCSEC_STATUS_H

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    MCSEC_OK = 0,
    MCSEC_ERR_BAD_INPUT = 1,       /* malformed argument or encoding */
    MCSEC_ERR_BAD_LENGTH = 2,      /* an input has the wrong length */
    MCSEC_ERR_VERIFY = 3,          /* a signature, MAC or consistency check failed */
    MCSEC_ERR_UNKNOWN_KEY = 4,     /* no key with that identifier */
    MCSEC_ERR_REPLAY = 5,          /* message already seen */
    MCSEC_ERR_EXPIRED = 6,         /* outside its validity period or freshness window */
    MCSEC_ERR_IO = 7,              /* file, socket or store error */
    MCSEC_ERR_NOMEM = 8,           /* out of memory */
    MCSEC_ERR_INTERNAL = 9,        /* a library bug or an OpenSSL failure */
    MCSEC_ERR_SELFTEST = 10,       /* the known-answer self test failed: library disabled */
    MCSEC_ERR_RNG = 11,            /* the random generator failed */
    MCSEC_ERR_POINT_ENCODING = 12, /* a point is not 04 || x || y */
    MCSEC_ERR_POINT_RANGE = 13,    /* a point coordinate is >= p */
    MCSEC_ERR_NOT_ON_CURVE = 14,   /* a point is not on the curve */
    MCSEC_ERR_INFINITY = 15,       /* a point is the point at infinity */
    MCSEC_ERR_SMALL_ORDER = 16,    /* a point is not in the prime-order subgroup */
    MCSEC_ERR_SCALAR_RANGE = 17,   /* a scalar is 0 or >= the group order */
    MCSEC_ERR_KEY_INVALID = 18,    /* a key fails its validation (RSK 6.1.2, SSK/PVT 5.1.2) */
    MCSEC_ERR_DECAPSULATE = 19,    /* SAKKE re-encapsulation check failed (tampered R or H) */
    MCSEC_ERR_SIGN_RETRY = 20,     /* internal: signing nonce rejected, try again */
    MCSEC_ERR_UNSUPPORTED = 21,    /* a parameter value mcsec does not implement */
    MCSEC_ERR_TRUNCATED = 22,      /* input ends inside a field, or a length runs past the end */
    MCSEC_ERR_TRAILING_DATA = 23,  /* bytes left after a complete structure */
    MCSEC_ERR_STRUCTURE = 24,      /* payloads missing, duplicated, misordered, unknown or looping */
    MCSEC_ERR_WRONG_RECIPIENT = 25, /* the message is addressed to another identity */
    MCSEC_ERR_POLICY = 26,         /* security policy refused (NULL cipher/auth, short tag, ...) */
    MCSEC_ERR_PURPOSE = 27,        /* key id purpose tag does not match the message kind */
    MCSEC_ERR_KEY_PERIOD = 28,     /* no keys for the key period of the message time */
    MCSEC_ERR_PASSPHRASE = 29,     /* wrong passphrase, or stored secret failed authentication */
    MCSEC_ERR_XML = 30,            /* malformed XML or not the expected document */
    MCSEC_ERR_STALE = 31,          /* timestamp outside the freshness window */
} mcsec_status_t;

/* The highest code of this version (statuses read off the wire above it are not passed on). */
#define MCSEC_STATUS_LAST MCSEC_ERR_STALE

/* One line, in English, saying what went wrong. Never NULL. */
const char *mcsec_strerror(mcsec_status_t status);

/* Status-returning functions must have their result checked. */
#define MCSEC_MUST_CHECK __attribute__((warn_unused_result))

#ifdef __cplusplus
}
#endif
#endif
