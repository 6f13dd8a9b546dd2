/* mcsec-kms init: create a KMS (master keys, CURVE key pair, sealed store). */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "mcsec/keystore.h"

#define CMD "init"

static void usage(FILE *f) {
    fprintf(f, "usage: mcsec-kms init --dir DIR --uri KMS_URI [--key-period S] [--offset S]\n"
               "                      [--endpoint tcp://HOST:PORT] [--passphrase-file FILE]\n\n"
               "Creates a KMS in DIR: SAKKE and ECCSI master keys, a CURVE key pair for the\n"
               "transport, an SQLite store; the secrets are sealed under the passphrase.\n"
               "  --key-period S   user key period in seconds (default 2592000, 30 days)\n"
               "  --offset S       user key period offset in seconds (default 0)\n"
               "  --endpoint E     the address handsets use, written into bundles\n"
               "  --kdf-cost N     scrypt cost 2^N (default 16; lower values for tests only)\n"
               "Prints the KMS's CURVE public key (handsets need it).\n");
}

int cmd_init(int argc, char *argv[]) {
    const char *dir = NULL, *uri = NULL, *period_s = NULL, *offset_s = NULL, *endpoint = NULL,
               *pass_file = NULL, *cost_s = NULL;
    uint64_t period = MCSEC_KMS_KEY_PERIOD_DEFAULT, offset = 0, cost = 0;
    int r;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0) {
            usage(stdout);
            return CLI_OK;
        }
        OPT("--dir", dir, "/var/lib/mcsec-kms")
        OPT("--uri", uri, "kms.example.org")
        OPT("--key-period", period_s, "2592000")
        OPT("--offset", offset_s, "0")
        OPT("--endpoint", endpoint, "tcp://kms.example.org:7001")
        OPT("--passphrase-file", pass_file, "/etc/mcsec/kms.pass")
        OPT("--kdf-cost", cost_s, "16")
        return kcli_unknown(CMD, argv[i]);
    }
    if (!kcli_required(CMD, "--dir", dir, "/var/lib/mcsec-kms") ||
        !kcli_required(CMD, "--uri", uri, "kms.example.org"))
        return CLI_USAGE;
    if (period_s != NULL && (!cli_parse_u64(period_s, &period) || period == 0)) {
        cli_error(CMD, "--key-period '%s' is not a positive number of seconds", period_s);
        return CLI_USAGE;
    }
    if (offset_s != NULL && !cli_parse_u64(offset_s, &offset)) {
        cli_error(CMD, "--offset '%s' is not a number of seconds", offset_s);
        return CLI_USAGE;
    }
    if (cost_s != NULL && (!cli_parse_u64(cost_s, &cost) || cost < 10 || cost > 20)) {
        cli_error(CMD, "--kdf-cost '%s' is not between 10 and 20", cost_s);
        return CLI_USAGE;
    }
    char *pass = NULL;
    size_t len = 0;
    if (mcsec_passphrase_read(pass_file, "new KMS passphrase: ", 1, &pass, &len) != MCSEC_OK) {
        cli_error(CMD, "%s", mcsec_keystore_last_error());
        return CLI_FAIL;
    }
    mcsec_kms_config_t cfg = {.dir = dir, .kms_uri = uri, .key_period = period,
                              .key_offset = offset, .endpoint = endpoint, .passphrase = pass,
                              .passphrase_len = len, .kdf_log2n = (unsigned)cost,
                              .kdf_r = 8, .kdf_p = 1};
    mcsec_kms_t *kms = NULL;
    mcsec_status_t rc = mcsec_kms_create(&kms, &cfg);
    mcsec_passphrase_free(pass);
    if (rc != MCSEC_OK) {
        cli_error(CMD, "%s", mcsec_kms_last_error());
        return CLI_FAIL;
    }
    mcsec_kms_info_t info;
    mcsec_kms_get_info(kms, &info);
    printf("kms-uri: %s\nkey-period: %llu\noffset: %llu\ncurve-public: %s\n", info.kms_uri,
           (unsigned long long)info.key_period, (unsigned long long)info.key_offset,
           info.curve_public);
    if (info.endpoint[0]) printf("endpoint: %s\n", info.endpoint);
    mcsec_kms_close(kms);
    return CLI_OK;
}
