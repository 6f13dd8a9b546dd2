/* mcsec keys import: loads a KMS certificate (KmsInit) and the handset's key sets
 * (KmsKeyProv), TS 33.180 Annex D XML, into the keystore after validating every key:
 * the RSK against Z (RFC 6508 6.1.2) and (SSK, PVT) against KPAK (RFC 6507 5.1.2), for the
 * UID of the expected identity. Nothing is stored unless every key set passes. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "mcsec/kmsxml.h"
#include "mcsec/secmem.h"

#define CMD "keys import"
#define MAX_SETS 16

static const char *const import_help =
    "usage: mcsec keys import --store DIR --kms-init FILE --key-prov FILE [--uri URI]\n"
    "                         [--passphrase-file FILE]\n\n"
    "Validates and stores TS 33.180 KMS documents in the keystore (created if DIR has none).\n"
    "  --store DIR             the keystore directory\n"
    "  --kms-init FILE         KmsResponse with the KmsInit (KMS certificate)\n"
    "  --key-prov FILE         KmsResponse with the KmsKeyProv (this handset's key sets)\n"
    "  --uri URI               the identity the keys must be for (default: the identity the\n"
    "                          store already holds, else the document's UserUri)\n"
    "  --passphrase-file FILE  first line is the keystore passphrase (else MCSEC_PASSPHRASE,\n"
    "                          else a prompt)\n";

/* A one-line reason for a failed key-set check. */
static const char *check_why(mcsec_status_t rc) {
    switch (rc) {
    case MCSEC_ERR_UNKNOWN_KEY: return "it was issued by another KMS than the certificate's";
    case MCSEC_ERR_WRONG_RECIPIENT: return "it is for another identity (URI or UID differ)";
    case MCSEC_ERR_UNSUPPORTED: return "it uses an unsupported UID format or parameter set";
    default: return "its keys fail validation (RSK against Z, SSK/PVT against KPAK)";
    }
}

static const char *xml_why(mcsec_status_t rc) {
    switch (rc) {
    case MCSEC_ERR_XML:
        return "not a KmsResponse of the 3GPP KMS namespace, or a mandatory element is "
               "missing";
    case MCSEC_ERR_BAD_LENGTH: return "a field or the document is too long, or a key has the wrong length";
    case MCSEC_ERR_UNSUPPORTED: return "it uses an unsupported format, parameter set or role";
    default: return mcsec_strerror(rc);
    }
}

/* The identity already in the store, if any ("" if none). */
static int store_identity(mcsec_keystore_t *ks, char uri[MCSEC_KEYSTORE_URI_MAX]) {
    uint64_t periods[1];
    size_t n = 0;
    mcsec_keyset_t k;
    uri[0] = 0;
    mcsec_status_t rc = mcsec_keystore_list_periods(ks, periods, 1, &n);
    if ((rc != MCSEC_OK && rc != MCSEC_ERR_BAD_LENGTH) || n == 0) return rc == MCSEC_OK ||
                                                                           rc == MCSEC_ERR_BAD_LENGTH;
    rc = mcsec_keystore_get_keyset(ks, periods[0], &k);
    if (rc == MCSEC_OK) memcpy(uri, k.user_uri, MCSEC_KEYSTORE_URI_MAX);
    mcsec_memzero(&k, sizeof k);
    return rc == MCSEC_OK;
}

static int import(int argc, char *argv[]) {
    const char *store = NULL, *init_path = NULL, *prov_path = NULL, *uri = NULL, *pass = NULL;
    uint8_t *init_xml = NULL, *prov_xml = NULL;
    size_t init_len = 0, prov_len = 0, n_sets = 0;
    mcsec_kms_response_hdr_t hdr;
    mcsec_kms_init_t init;
    mcsec_kms_keyset_t *sets = NULL;
    mcsec_keystore_t *ks = NULL;
    mcsec_kms_params_t have, params;
    mcsec_keyset_t rec;
    char expected[MCSEC_KEYSTORE_URI_MAX], holder[MCSEC_KEYSTORE_URI_MAX];
    mcsec_status_t rc;
    int ret = CLI_USAGE;

    memset(&rec, 0, sizeof rec);
    for (int i = 1; i < argc; i++) {
        int m;
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(import_help, stdout);
            return CLI_OK;
        }
        if ((m = cli_option(CMD, argc, argv, &i, "--store", &store, "~/.mcsec")) ||
            (m = cli_option(CMD, argc, argv, &i, "--kms-init", &init_path, "kms-init.xml")) ||
            (m = cli_option(CMD, argc, argv, &i, "--key-prov", &prov_path, "key-prov.xml")) ||
            (m = cli_option(CMD, argc, argv, &i, "--uri", &uri, "sip:alice@example.org")) ||
            (m = cli_option(CMD, argc, argv, &i, "--passphrase-file", &pass, "pass.txt"))) {
            if (m < 0) return CLI_USAGE;
            continue;
        }
        return cli_bad_arg(CMD, CMD, argv[i]);
    }
    if (store == NULL || init_path == NULL || prov_path == NULL) {
        cli_error(CMD, "--store, --kms-init and --key-prov are required, e.g. --store ~/.mcsec "
                       "--kms-init kms-init.xml --key-prov key-prov.xml");
        return CLI_USAGE;
    }

    ret = CLI_FAIL;
    if (mcsec_init() != MCSEC_OK) {
        cli_error(CMD, "the crypto self test failed: this build is broken, do not use it");
        goto out;
    }
    if (cli_read_file(CMD, "--kms-init file", init_path, MCSEC_KMSXML_MAX_LEN, &init_xml,
                      &init_len) != CLI_OK ||
        cli_read_file(CMD, "--key-prov file", prov_path, MCSEC_KMSXML_MAX_LEN, &prov_xml,
                      &prov_len) != CLI_OK)
        goto out;
    rc = mcsec_kmsxml_parse_init((const char *)init_xml, init_len, &hdr, &init);
    if (rc != MCSEC_OK) {
        cli_error(CMD, "%s is not a usable KmsInit document: %s", init_path, xml_why(rc));
        goto out;
    }
    if ((sets = calloc(MAX_SETS, sizeof *sets)) == NULL) {
        cli_error(CMD, "out of memory");
        goto out;
    }
    rc = mcsec_kmsxml_parse_keyprov((const char *)prov_xml, prov_len, &hdr, sets, MAX_SETS,
                                    &n_sets);
    if (rc != MCSEC_OK) {
        cli_error(CMD, "%s is not a usable KmsKeyProv document: %s", prov_path, xml_why(rc));
        goto out;
    }
    if (init.revoked) {
        cli_error(CMD, "the KMS certificate in %s is marked revoked; ask the KMS operator for a "
                       "current one", init_path);
        goto out;
    }

    /* Validate everything before touching (or creating) the store. */
    snprintf(expected, sizeof expected, "%s", uri ? uri : hdr.user_uri);
    for (size_t i = 0; i < n_sets; i++) {
        rc = mcsec_kmsxml_check_keyset(&init, &sets[i], expected);
        if (rc != MCSEC_OK) {
            cli_error(CMD, "key set %zu of %s (period %" PRIu64 ", %s) refused: %s; nothing "
                           "imported",
                      i + 1, prov_path, sets[i].key_period_no, sets[i].user_uri, check_why(rc));
            goto out;
        }
        if (sets[i].revoked) {
            cli_error(CMD, "key set %zu of %s (period %" PRIu64 ") is marked revoked; nothing "
                           "imported",
                      i + 1, prov_path, sets[i].key_period_no);
            goto out;
        }
    }

    if (cli_store_open(CMD, store, pass, 1, &ks) != CLI_OK) goto out;
    rc = mcsec_keystore_get_kms(ks, &have);
    if (rc == MCSEC_OK &&
        (strcmp(have.kms_uri, init.kms_uri) != 0 ||
         memcmp(have.Z, init.Z, sizeof have.Z) != 0 ||
         memcmp(have.kpak, init.kpak, sizeof have.kpak) != 0 ||
         have.key_period != init.key_period || have.key_period_offset != init.key_offset)) {
        cli_error(CMD, "the keystore belongs to KMS %s with other public keys; use another "
                       "--store for this KMS",
                  have.kms_uri);
        goto out;
    }
    if (rc != MCSEC_OK && rc != MCSEC_ERR_UNKNOWN_KEY) {
        cli_error(CMD, "cannot read the keystore: %s", mcsec_keystore_last_error());
        goto out;
    }
    if (!store_identity(ks, holder)) {
        cli_error(CMD, "cannot read the keystore: %s", mcsec_keystore_last_error());
        goto out;
    }
    if (holder[0] != 0 && strcmp(holder, expected) != 0) {
        cli_error(CMD, "the keystore holds the keys of %s, not %s; use another --store", holder,
                  expected);
        goto out;
    }

    memset(&params, 0, sizeof params);
    snprintf(params.kms_uri, sizeof params.kms_uri, "%s", init.kms_uri);
    params.user_id_format = init.user_id_format;
    params.key_period = init.key_period;
    params.key_period_offset = init.key_offset;
    memcpy(params.Z, init.Z, sizeof params.Z);
    memcpy(params.kpak, init.kpak, sizeof params.kpak);
    if ((rc = mcsec_keystore_put_kms(ks, &params)) != MCSEC_OK) goto store_error;
    for (size_t i = 0; i < n_sets; i++) {
        snprintf(rec.user_uri, sizeof rec.user_uri, "%s", sets[i].user_uri);
        memcpy(rec.uid, sets[i].uid, sizeof rec.uid);
        rec.period_no = sets[i].key_period_no;
        memcpy(rec.rsk, sets[i].rsk, sizeof rec.rsk);
        memcpy(rec.ssk, sets[i].ssk, sizeof rec.ssk);
        memcpy(rec.pvt, sets[i].pvt, sizeof rec.pvt);
        if ((rc = mcsec_keystore_put_keyset(ks, &rec)) != MCSEC_OK) goto store_error;
    }
    printf("imported %zu key set%s for %s from KMS %s (key period", n_sets, n_sets == 1 ? "" : "s",
           expected, init.kms_uri);
    for (size_t i = 0; i < n_sets; i++)
        printf("%s %" PRIu64, i ? "," : "", sets[i].key_period_no);
    printf(")\n");
    ret = CLI_OK;
    goto out;
store_error:
    cli_error(CMD, "cannot write the keystore: %s", mcsec_keystore_last_error());
out:
    mcsec_memzero(&rec, sizeof rec);
    mcsec_kms_keyset_wipe(sets, sets ? MAX_SETS : 0);
    free(sets);
    if (prov_xml != NULL) mcsec_memzero(prov_xml, prov_len);
    free(prov_xml);
    free(init_xml);
    mcsec_keystore_close(ks);
    return ret;
}

int cmd_keys(int argc, char *argv[]) {
    static const cli_sub_t subs[] = {
        {"import", import, "validate and store KMS XML documents (KmsInit, KmsKeyProv)"},
        {NULL, NULL, NULL},
    };
    return cli_dispatch("keys", subs, argc, argv);
}
