/* mcsec uid: the 3GPP UID (format 2, TS 33.179 F.2.1) of a user URI for one key period,
 * in hex. The key period is given by number, or by a time that falls inside it. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "mcsec/kdf.h"

#define CMD "uid"

static void uid_usage(FILE *f) {
    fprintf(f, "usage: mcsec uid --uri URI --kms-uri URI --key-period SECONDS --offset SECONDS\n"
               "                 (--period-no N | --at TIME)\n\n"
               "Prints the 64 hex digit UID (format 2) of URI for one key period of the KMS.\n"
               "  --uri URI              the user's (or group's) URI, e.g. sip:alice@example.org\n"
               "  --kms-uri URI          the KMS URI, e.g. kms.example.org\n"
               "  --key-period SECONDS   UserKeyPeriod of the KMS, e.g. 2592000\n"
               "  --offset SECONDS       UserKeyOffset of the KMS, e.g. 0\n"
               "  --period-no N          the key period number\n"
               "  --at TIME              an RFC 3339 time inside the period, e.g. "
               "2024-05-01T12:00:00Z\n");
}

/* A required non-empty URI fitting a 16-bit length. */
static int check_uri(const char *opt, const char *v, const char *example) {
    if (v == NULL) {
        cli_error(CMD, "%s is required, e.g. %s %s", opt, opt, example);
        return 0;
    }
    if (v[0] == 0) {
        cli_error(CMD, "%s must not be empty, e.g. %s %s", opt, opt, example);
        return 0;
    }
    if (strlen(v) > 65535) {
        cli_error(CMD, "%s is longer than 65535 octets; give the URI itself", opt);
        return 0;
    }
    return 1;
}

static int number(const char *opt, const char *v, const char *what, uint64_t *out) {
    if (v == NULL) {
        cli_error(CMD, "%s is required: %s", opt, what);
        return 0;
    }
    if (!cli_parse_u64(v, out)) {
        cli_error(CMD, "%s '%s' is not a decimal number below 2^64: %s", opt, v, what);
        return 0;
    }
    return 1;
}

int cmd_uid(int argc, char *argv[]) {
    const char *uri = NULL, *kms = NULL, *period_s = NULL, *offset_s = NULL, *no_s = NULL,
               *at_s = NULL;
    uint64_t period, offset, period_no, ntp;
    uint8_t uid[MCSEC_UID_LEN];

    for (int i = 1; i < argc; i++) {
        int m;
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            uid_usage(stdout);
            return CLI_OK;
        }
        if ((m = cli_option(CMD, argc, argv, &i, "--uri", &uri, "sip:alice@example.org")) ||
            (m = cli_option(CMD, argc, argv, &i, "--kms-uri", &kms, "kms.example.org")) ||
            (m = cli_option(CMD, argc, argv, &i, "--key-period", &period_s, "2592000")) ||
            (m = cli_option(CMD, argc, argv, &i, "--offset", &offset_s, "0")) ||
            (m = cli_option(CMD, argc, argv, &i, "--period-no", &no_s, "1000")) ||
            (m = cli_option(CMD, argc, argv, &i, "--at", &at_s, "2024-05-01T12:00:00Z"))) {
            if (m < 0) return CLI_USAGE;
            continue;
        }
        if (strncmp(argv[i], "-", 1) == 0)
            cli_error(CMD, "unknown option '%s'; run `mcsec uid --help` for the options", argv[i]);
        else
            cli_error(CMD, "unexpected argument '%s'; options take the form --name VALUE", argv[i]);
        return CLI_USAGE;
    }

    if (!check_uri("--uri", uri, "sip:alice@example.org") ||
        !check_uri("--kms-uri", kms, "kms.example.org") ||
        !number("--key-period", period_s, "give the KMS UserKeyPeriod in seconds, e.g. 2592000",
                &period) ||
        !number("--offset", offset_s, "give the KMS UserKeyOffset in seconds, e.g. 0", &offset))
        return CLI_USAGE;
    if (period == 0) {
        cli_error(CMD, "--key-period must be at least 1 second; give the KMS UserKeyPeriod");
        return CLI_USAGE;
    }
    if ((no_s == NULL) == (at_s == NULL)) {
        cli_error(CMD, "give exactly one of --period-no N or --at TIME (e.g. "
                       "--at 2024-05-01T12:00:00Z)");
        return CLI_USAGE;
    }
    if (no_s != NULL) {
        if (!number("--period-no", no_s, "give the key period number, e.g. 1000", &period_no))
            return CLI_USAGE;
    } else {
        if (!cli_parse_rfc3339(at_s, &ntp)) {
            cli_error(CMD,
                      "--at '%s' is not an RFC 3339 time from 1900 on; give e.g. "
                      "--at 2024-05-01T12:00:00Z",
                      at_s);
            return CLI_USAGE;
        }
        if (mcsec_key_period_no(ntp, period, offset, &period_no) != MCSEC_OK) {
            cli_error(CMD,
                      "--at %s (NTP second %" PRIu64 ") is before --offset %" PRIu64
                      "; check the time and the KMS UserKeyOffset",
                      at_s, ntp, offset);
            return CLI_USAGE;
        }
    }

    mcsec_status_t rc = mcsec_uid_format2(uri, kms, period, offset, period_no, uid);
    if (rc != MCSEC_OK) {
        cli_error(CMD, "cannot compute the UID: %s", mcsec_strerror(rc));
        return CLI_FAIL;
    }
    for (size_t i = 0; i < sizeof uid; i++)
        printf("%02x", uid[i]);
    printf("\n");
    if (fflush(stdout) != 0 || ferror(stdout)) {
        cli_error(CMD, "cannot write the UID to standard output");
        return CLI_FAIL;
    }
    return CLI_OK;
}
