/* mcsec fetch-keys: asks the KMS (mcsec-kms serve, over ZeroMQ with CURVE, using the device
 * credential from `mcsec provision`) for the key sets of the current and the next key period,
 * validates them like `keys import`, and stores them. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "mcsec/kmsclient.h"
#include "mcsec/secmem.h"

#define CMD "fetch-keys"

static const char *const fetch_help =
    "usage: mcsec fetch-keys --store DIR [--endpoint tcp://HOST:PORT] [--attempts N]\n"
    "                        [--timeout-ms MS] [--passphrase-file FILE]\n\n"
    "Fetches this handset's key sets for the current and next key period from its KMS,\n"
    "validates and stores them. The store must have been provisioned from a bundle.\n"
    "  --endpoint URL          the KMS endpoint (default: the one in the bundle)\n"
    "  --attempts N            tries before giving up, with doubling pauses (default 4)\n"
    "  --timeout-ms MS         wait per try (default 3000)\n";

static int small_number(const char *opt, const char *v, uint64_t max, unsigned *out) {
    uint64_t n;
    if (v == NULL) return 1;
    if (!cli_parse_u64(v, &n) || n == 0 || n > max) {
        cli_error(CMD, "%s '%s' is not a number from 1 to %" PRIu64, opt, v, max);
        return 0;
    }
    *out = (unsigned)n;
    return 1;
}

int cmd_fetch_keys(int argc, char *argv[]) {
    const char *store = NULL, *endpoint = NULL, *pass = NULL, *attempts_s = NULL,
               *timeout_s = NULL;
    unsigned attempts = 0, timeout_ms = 0;
    mcsec_keystore_t *ks = NULL;
    mcsec_device_cred_t cred;
    mcsec_kms_fetch_result_t res;
    cli_docs_t *docs = NULL;
    int ret = CLI_USAGE;

    memset(&cred, 0, sizeof cred);
    memset(&res, 0, sizeof res);
    for (int i = 1; i < argc; i++) {
        int m;
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(fetch_help, stdout);
            return CLI_OK;
        }
        if ((m = cli_option(CMD, argc, argv, &i, "--store", &store, "~/.mcsec")) ||
            (m = cli_option(CMD, argc, argv, &i, "--endpoint", &endpoint,
                            "tcp://kms.example.org:7001")) ||
            (m = cli_option(CMD, argc, argv, &i, "--attempts", &attempts_s, "4")) ||
            (m = cli_option(CMD, argc, argv, &i, "--timeout-ms", &timeout_s, "3000")) ||
            (m = cli_option(CMD, argc, argv, &i, "--passphrase-file", &pass, "pass.txt"))) {
            if (m < 0) return CLI_USAGE;
            continue;
        }
        return cli_bad_arg(CMD, CMD, argv[i]);
    }
    if (store == NULL) {
        cli_error(CMD, "--store is required: give the keystore directory, e.g. --store ~/.mcsec");
        return CLI_USAGE;
    }
    if (!small_number("--attempts", attempts_s, 20, &attempts) ||
        !small_number("--timeout-ms", timeout_s, 600000, &timeout_ms))
        return CLI_USAGE;
    if (endpoint != NULL && strncmp(endpoint, "tcp://", 6) != 0) {
        cli_error(CMD, "--endpoint '%s' is not a tcp:// endpoint, e.g. tcp://kms.example.org:7001",
                  endpoint);
        return CLI_USAGE;
    }

    ret = CLI_FAIL;
    if (cli_store_open(CMD, store, pass, 0, &ks) != CLI_OK) goto out;
    mcsec_status_t rc = mcsec_keystore_get_device(ks, &cred);
    if (rc != MCSEC_OK) {
        cli_error(CMD, "%s", mcsec_keystore_last_error());
        goto out;
    }
    if (endpoint == NULL) endpoint = cred.kms_endpoint;
    if (endpoint[0] == 0) {
        cli_error(CMD, "the bundle named no KMS endpoint (offline provisioning); give "
                       "--endpoint tcp://HOST:PORT");
        goto out;
    }
    mcsec_kms_fetch_config_t cfg = {
        .endpoint = endpoint,
        .kms_public = cred.kms_public,
        .device_public = cred.device_public,
        .device_secret = cred.device_secret,
        .user_uri = cred.user_uri,
        .at_time = cli_ntp_now(),
        .timeout_ms = timeout_ms,
        .attempts = attempts,
    };
    rc = mcsec_kms_fetch(&cfg, &res);
    if (rc != MCSEC_OK) {
        cli_error(CMD, "%s", res.message[0] ? res.message : mcsec_strerror(rc));
        goto out;
    }
    if ((docs = calloc(1, sizeof *docs)) == NULL) {
        cli_error(CMD, "out of memory");
        goto out;
    }
    if (cli_docs_parse(CMD, res.init_xml, res.init_len, "the KMS's KmsInit", res.keyprov_xml,
                       res.keyprov_len, "the KMS's KmsKeyProv", cred.user_uri, docs) != CLI_OK ||
        cli_docs_store(CMD, ks, docs) != CLI_OK)
        goto out;
    cli_docs_print(docs);
    ret = CLI_OK;
out:
    mcsec_memzero(&cred, sizeof cred);
    mcsec_kms_fetch_result_free(&res);
    if (docs != NULL) cli_docs_wipe(docs);
    free(docs);
    mcsec_keystore_close(ks);
    return ret;
}
