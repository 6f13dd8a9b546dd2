/* Helpers shared by the mcsec-kms subcommands: opening the KMS with a passphrase, argument
 * errors, writing output files, printing times. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "mcsec/keystore.h" /* mcsec_passphrase_read */
#include "mcsec/seal.h"

int kcli_open(const char *cmd, const char *dir, const char *passphrase_file, mcsec_kms_t **kms) {
    char *pass = NULL;
    size_t len = 0;
    *kms = NULL;
    mcsec_status_t rc = mcsec_passphrase_read(passphrase_file, "KMS passphrase: ", 0, &pass, &len);
    if (rc != MCSEC_OK) {
        cli_error(cmd, "%s", mcsec_keystore_last_error());
        return CLI_FAIL;
    }
    rc = mcsec_kms_open(kms, dir, pass, len);
    mcsec_passphrase_free(pass);
    if (rc != MCSEC_OK) {
        cli_error(cmd, "%s", mcsec_kms_last_error()[0] ? mcsec_kms_last_error()
                                                        : mcsec_strerror(rc));
        return CLI_FAIL;
    }
    return CLI_OK;
}

int kcli_unknown(const char *cmd, const char *arg) {
    cli_error(cmd, "unknown argument '%s'; see `mcsec-kms %s --help`", arg, cmd);
    return CLI_USAGE;
}

int kcli_required(const char *cmd, const char *name, const char *value, const char *example) {
    if (value != NULL && value[0] != 0) return 1;
    cli_error(cmd, "%s is required, e.g. %s %s", name, name, example);
    return 0;
}

int kcli_write(const char *cmd, const char *path, const char *data, size_t len, unsigned mode,
               int replace) {
    if (mcsec_seal_write_file(path, (const uint8_t *)data, len, (mode_t)mode, !replace) !=
        MCSEC_OK) {
        cli_error(cmd, "cannot write %s: %s", path,
                  errno == EEXIST ? "it exists already; choose another name" : strerror(errno));
        return CLI_FAIL;
    }
    return CLI_OK;
}

void kcli_time(int64_t t, char out[32]) {
    time_t tt = (time_t)t;
    struct tm tm;
    if (gmtime_r(&tt, &tm) == NULL || strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        snprintf(out, 32, "%lld", (long long)t);
}
