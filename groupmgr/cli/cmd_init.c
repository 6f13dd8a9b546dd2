/* mcsec-groupmgr init: create a Group Manager (CURVE key pair, sealed store); optionally load a
 * group manager bundle from the KMS (its certificate and the credential to fetch group keys). */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "mcsec/keystore.h"
#include "mcsec/secmem.h"

#define CMD "init"

static void usage(FILE *f) {
    fprintf(f, "usage: mcsec-groupmgr init --dir DIR [--uri URI] [--bundle FILE --code CODE]\n"
               "                           [--kdf-cost N] [--passphrase-file FILE]\n\n"
               "Creates a Group Manager in DIR: a CURVE key pair for the service and an SQLite\n"
               "store, the secrets sealed under the passphrase (asked twice on a terminal).\n"
               "Prints the CURVE public key and writes it to DIR/groupmgr.pub: members need it\n"
               "(`mcsec register --groupmgr-key`).\n"
               "  --uri URI         this manager's own identity (a bundle sets it)\n"
               "  --bundle FILE     a group manager bundle (`mcsec-kms enroll --role groupmgr\n"
               "                    --group G --out FILE`): the KMS certificate and the\n"
               "                    credential used to fetch the groups' keys from the KMS\n"
               "  --code CODE       the bundle's one-time code\n"
               "  --kdf-cost N      scrypt cost 2^N (default 16; lower values for tests only)\n");
}

int cmd_init(int argc, char *argv[]) {
    const char *dir = NULL, *uri = NULL, *bundle = NULL, *code = NULL, *pass_file = NULL,
               *cost_s = NULL;
    uint64_t cost = 0;
    int r;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return CLI_OK;
        }
        OPT("--dir", dir, "/var/lib/mcsec-groupmgr")
        OPT("--uri", uri, "sip:groupmgr@example.org")
        OPT("--bundle", bundle, "groupmgr.mcsb")
        OPT("--code", code, "XXXX-XXXX-XXXX-XXXX-XXXX-XXXX-XX")
        OPT("--kdf-cost", cost_s, "16")
        OPT("--passphrase-file", pass_file, "/etc/mcsec/groupmgr.pass")
        return gcli_unknown(CMD, argv[i]);
    }
    if (!gcli_required(CMD, "--dir", dir, "/var/lib/mcsec-groupmgr")) return CLI_USAGE;
    if ((bundle == NULL) != (code == NULL)) {
        cli_error(CMD, "--bundle and --code go together: give the bundle file and the code the "
                       "KMS printed");
        return CLI_USAGE;
    }
    if (cost_s != NULL && (!cli_parse_u64(cost_s, &cost) || cost < 10 || cost > 20)) {
        cli_error(CMD, "--kdf-cost '%s' is not between 10 and 20", cost_s);
        return CLI_USAGE;
    }
    char *pass = NULL;
    size_t len = 0;
    if (mcsec_passphrase_read(pass_file, "new Group Manager passphrase: ", 1, &pass, &len) !=
        MCSEC_OK) {
        cli_error(CMD, "%s", mcsec_keystore_last_error());
        return CLI_FAIL;
    }
    mcsec_groupmgr_config_t cfg = {.dir = dir, .uri = uri, .passphrase = pass,
                                   .passphrase_len = len, .kdf_log2n = (unsigned)cost,
                                   .kdf_r = 8, .kdf_p = 1};
    mcsec_groupmgr_t *gm = NULL;
    mcsec_status_t rc = mcsec_groupmgr_create(&gm, &cfg);
    mcsec_passphrase_free(pass);
    if (rc != MCSEC_OK) return gcli_fail(CMD, rc);
    if (bundle != NULL && (rc = mcsec_groupmgr_load_bundle(gm, bundle, code)) != MCSEC_OK) {
        /* All or nothing: remove what this init created. */
        const char *why = mcsec_groupmgr_last_error();
        cli_error(CMD, "%s; nothing was created in %s", why[0] ? why : mcsec_strerror(rc), dir);
        mcsec_groupmgr_close(gm);
        static const char *const files[] = {"groupmgr.db", "groupmgr.db-wal", "groupmgr.db-shm",
                                            "groupmgr.pub"};
        for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
            char path[4096];
            snprintf(path, sizeof path, "%s/%s", dir, files[i]);
            (void)unlink(path);
        }
        (void)rmdir(dir); /* only if empty */
        return CLI_FAIL;
    }
    int ret = CLI_OK;
    mcsec_groupmgr_info_t info;
    if (mcsec_groupmgr_get_info(gm, &info) == MCSEC_OK) {
        printf("curve-public: %s\npublic-key-file: %s/groupmgr.pub\n", info.curve_public, dir);
        if (info.uri[0]) printf("uri: %s\n", info.uri);
        if (info.has_kms) printf("kms: %s\n", info.kms_uri);
        if (info.has_kms_credential)
            printf("kms-endpoint: %s\n", info.kms_endpoint[0] ? info.kms_endpoint : "(none)");
    }
    mcsec_groupmgr_close(gm);
    return ret;
}
