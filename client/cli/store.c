/* The handset keystore as the commands use it: opening (or creating) it with the passphrase
 * from --passphrase-file, MCSEC_PASSPHRASE or a prompt, and a MIKEY receiver over its keys. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "mcsec/secmem.h"

int cli_store_open(const char *cmd, const char *dir, const char *pass_file, int create,
                   mcsec_keystore_t **out) {
    char *pass = NULL, meta[4096];
    size_t pass_len = 0;
    struct stat st;
    mcsec_status_t rc;
    int ret = CLI_FAIL;

    *out = NULL;
    if (dir == NULL || dir[0] == 0) {
        cli_error(cmd, "--store is required: give the keystore directory, e.g. --store ~/.mcsec");
        return CLI_USAGE;
    }
    if (mcsec_init() != MCSEC_OK) {
        cli_error(cmd, "the crypto self test failed: this build is broken, do not use it");
        return CLI_FAIL;
    }
    if (snprintf(meta, sizeof meta, "%s/store.meta", dir) >= (int)sizeof meta) {
        cli_error(cmd, "--store path is too long; give a shorter path");
        return CLI_USAGE;
    }
    int exists = stat(meta, &st) == 0;
    if (!exists && !create) {
        cli_error(cmd, "%s is not a keystore (no store.meta); create one with `mcsec keys import`",
                  dir);
        return CLI_FAIL;
    }
    rc = mcsec_passphrase_read(pass_file, exists ? "Keystore passphrase: "
                                                 : "New keystore passphrase: ",
                               !exists, &pass, &pass_len);
    if (rc != MCSEC_OK) {
        cli_error(cmd, "%s", mcsec_keystore_last_error());
        return CLI_FAIL;
    }
    if (!exists) {
        rc = mcsec_keystore_create(dir, pass, pass_len);
        if (rc != MCSEC_OK) {
            cli_error(cmd, "cannot create the keystore: %s", mcsec_keystore_last_error());
            goto out;
        }
    }
    rc = mcsec_keystore_open(out, dir, pass, pass_len);
    if (rc == MCSEC_ERR_PASSPHRASE) {
        cli_error(cmd, "wrong passphrase for the keystore %s; check --passphrase-file or "
                       "MCSEC_PASSPHRASE",
                  dir);
        goto out;
    }
    if (rc != MCSEC_OK) {
        const char *why = mcsec_keystore_last_error();
        cli_error(cmd, "cannot open the keystore %s: %s", dir,
                  why[0] != 0 ? why : mcsec_strerror(rc));
        goto out;
    }
    ret = CLI_OK;
out:
    mcsec_passphrase_free(pass);
    return ret;
}

static mcsec_status_t fetch_keyset(void *user, uint64_t period_no, mcsec_keyset_t *out) {
    return mcsec_keystore_get_keyset(user, period_no, out);
}

int cli_store_identity(const char *cmd, mcsec_keystore_t *ks, mcsec_kms_params_t *kms,
                       mcsec_keyset_t *latest) {
    uint64_t periods[64];
    size_t n = 0;
    mcsec_status_t rc = mcsec_keystore_get_kms(ks, kms);
    if (rc == MCSEC_ERR_UNKNOWN_KEY) {
        cli_error(cmd, "the keystore holds no KMS parameters; import them with `mcsec keys "
                       "import`");
        return CLI_FAIL;
    }
    if (rc != MCSEC_OK) goto damaged;
    rc = mcsec_keystore_list_periods(ks, periods, 64, &n);
    if (rc != MCSEC_OK && rc != MCSEC_ERR_BAD_LENGTH) goto damaged;
    if (n == 0) {
        cli_error(cmd, "the keystore holds no key sets; import them with `mcsec keys import`");
        return CLI_FAIL;
    }
    if (n > 64) n = 64;
    rc = mcsec_keystore_get_keyset(ks, periods[n - 1], latest);
    if (rc != MCSEC_OK) goto damaged;
    return CLI_OK;
damaged:
    cli_error(cmd, "cannot read the keystore: %s",
              mcsec_keystore_last_error()[0] ? mcsec_keystore_last_error() : mcsec_strerror(rc));
    return CLI_FAIL;
}

int cli_store_receiver(const char *cmd, mcsec_keystore_t *ks, mcsec_profile_receiver_t **rx,
                       char our_uri[MCSEC_KEYSTORE_URI_MAX]) {
    mcsec_kms_params_t kms;
    mcsec_keyset_t latest;
    int ret = cli_store_identity(cmd, ks, &kms, &latest);
    *rx = NULL;
    if (ret != CLI_OK) goto out;
    memcpy(our_uri, latest.user_uri, MCSEC_KEYSTORE_URI_MAX);
    mcsec_status_t rc = mcsec_profile_receiver_new(rx, &kms, latest.user_uri);
    if (rc != MCSEC_OK) {
        cli_error(cmd, "cannot set up the receiver for %s: %s", latest.user_uri,
                  mcsec_strerror(rc));
        ret = CLI_FAIL;
        goto out;
    }
    mcsec_profile_receiver_set_fetch(*rx, fetch_keyset, ks);
out:
    mcsec_memzero(&latest, sizeof latest);
    return ret;
}
