/* mcsec provision: loads a handset bundle made by `mcsec-kms provision` or `enroll --out`
 * into the keystore: the KMS certificate and key sets (validated like `keys import`) and the
 * device's credential for the KMS service (CURVE key pair, KMS public key and endpoint). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "mcsec/bundle.h"
#include "mcsec/secmem.h"

#define CMD "provision"

static const char *const provision_help =
    "usage: mcsec provision --store DIR --bundle FILE --code CODE [--passphrase-file FILE]\n\n"
    "Opens a handset bundle with its one-time code and stores what it carries (keystore\n"
    "created if DIR has none).\n"
    "  --bundle FILE           the bundle, e.g. from `mcsec-kms provision`\n"
    "  --code CODE             its one-time code, e.g. 7K3M-...-Q2 (case and dashes free)\n";

static const char *open_why(mcsec_status_t rc) {
    switch (rc) {
    case MCSEC_ERR_PASSPHRASE:
        return "the code does not open it (wrong code, or the file was modified)";
    case MCSEC_ERR_BAD_INPUT:
        return "the code is malformed: 26 letters and digits (dashes optional)";
    case MCSEC_ERR_TRUNCATED: return "the file is truncated";
    case MCSEC_ERR_VERIFY: return "it is not an mcsec bundle";
    case MCSEC_ERR_UNSUPPORTED: return "it is a bundle of a newer format version";
    case MCSEC_ERR_BAD_LENGTH: return "the file is too large to be a bundle";
    case MCSEC_ERR_STRUCTURE: return "its contents are malformed";
    case MCSEC_ERR_IO: return "it cannot be read";
    default: return mcsec_strerror(rc);
    }
}

int cli_bundle_cred(const mcsec_bundle_t *b, mcsec_device_cred_t *cred) {
    memset(cred, 0, sizeof *cred);
    if (strlen(b->user_uri) >= sizeof cred->user_uri || strlen(b->role) >= sizeof cred->role ||
        strlen(b->kms_endpoint) >= sizeof cred->kms_endpoint)
        return 0;
    snprintf(cred->user_uri, sizeof cred->user_uri, "%s", b->user_uri);
    snprintf(cred->role, sizeof cred->role, "%s", b->role);
    memcpy(cred->device_public, b->device_public, sizeof cred->device_public);
    memcpy(cred->device_secret, b->device_secret, sizeof cred->device_secret);
    memcpy(cred->kms_public, b->kms_public, sizeof cred->kms_public);
    snprintf(cred->kms_endpoint, sizeof cred->kms_endpoint, "%s", b->kms_endpoint);
    return 1;
}

int cmd_provision(int argc, char *argv[]) {
    const char *store = NULL, *bundle = NULL, *code = NULL, *pass = NULL;
    mcsec_bundle_t *b = NULL;
    cli_docs_t *docs = NULL;
    mcsec_keystore_t *ks = NULL;
    mcsec_device_cred_t cred;
    int ret = CLI_USAGE;

    memset(&cred, 0, sizeof cred);
    for (int i = 1; i < argc; i++) {
        int m;
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(provision_help, stdout);
            return CLI_OK;
        }
        if ((m = cli_option(CMD, argc, argv, &i, "--store", &store, "~/.mcsec")) ||
            (m = cli_option(CMD, argc, argv, &i, "--bundle", &bundle, "alice.bundle")) ||
            (m = cli_option(CMD, argc, argv, &i, "--code", &code, "7K3M-...")) ||
            (m = cli_option(CMD, argc, argv, &i, "--passphrase-file", &pass, "pass.txt"))) {
            if (m < 0) return CLI_USAGE;
            continue;
        }
        return cli_bad_arg(CMD, CMD, argv[i]);
    }
    if (store == NULL || bundle == NULL || code == NULL) {
        cli_error(CMD, "--store, --bundle and --code are required, e.g. --store ~/.mcsec "
                       "--bundle alice.bundle --code 7K3M-...");
        return CLI_USAGE;
    }

    ret = CLI_FAIL;
    if (mcsec_init() != MCSEC_OK) {
        cli_error(CMD, "the crypto self test failed: this build is broken, do not use it");
        goto out;
    }
    mcsec_status_t rc = mcsec_bundle_open(bundle, code, &b);
    if (rc != MCSEC_OK) {
        cli_error(CMD, "cannot open the bundle %s: %s", bundle, open_why(rc));
        goto out;
    }
    if ((docs = calloc(1, sizeof *docs)) == NULL) {
        cli_error(CMD, "out of memory");
        goto out;
    }
    if (!cli_bundle_cred(b, &cred)) {
        cli_error(CMD, "the bundle %s carries a URI, role or endpoint too long to store", bundle);
        goto out;
    }
    if (cli_docs_parse(CMD, b->init_xml, b->init_len, "the bundle's KmsInit", b->keyprov_xml,
                       b->keyprov_len, "the bundle's KmsKeyProv", b->user_uri,
                       docs) != CLI_OK ||
        cli_store_open(CMD, store, pass, 1, &ks) != CLI_OK ||
        cli_docs_check_store(CMD, ks, docs) != CLI_OK)
        goto out;
    if (mcsec_keystore_put_device(ks, &cred) != MCSEC_OK) {
        cli_error(CMD, "cannot store the device credential: %s", mcsec_keystore_last_error());
        goto out;
    }
    if (cli_docs_store(CMD, ks, docs) != CLI_OK) goto out;
    cli_docs_print(docs);
    printf("device credential stored: %s (%s), KMS at %s\n", cred.user_uri, cred.role,
           cred.kms_endpoint[0] ? cred.kms_endpoint : "(no endpoint: offline provisioning)");
    ret = CLI_OK;
out:
    mcsec_memzero(&cred, sizeof cred);
    if (docs != NULL) cli_docs_wipe(docs);
    free(docs);
    mcsec_bundle_free(b);
    mcsec_keystore_close(ks);
    return ret;
}
