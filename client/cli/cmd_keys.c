/* mcsec keys import: loads a KMS certificate (KmsInit) and the handset's key sets
 * (KmsKeyProv), TS 33.180 Annex D XML, into the keystore after validating every key
 * (import.c). Nothing is stored, and no store is created, unless every key set passes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "mcsec/secmem.h"

#define CMD "keys import"

static const char *const import_help =
    "usage: mcsec keys import --store DIR --kms-init FILE --key-prov FILE [--uri URI]\n"
    "                         [--passphrase-file FILE]\n\n"
    "Validates and stores TS 33.180 KMS documents in the keystore (created if DIR has none).\n"
    "  --store DIR             the keystore directory\n"
    "  --kms-init FILE         KmsResponse with the KmsInit (KMS certificate)\n"
    "  --key-prov FILE         KmsResponse with the KmsKeyProv (this handset's key sets)\n"
    "  --uri URI               the identity the keys must be for (default: the document's\n"
    "                          UserUri; a store only ever holds one identity)\n"
    "  --passphrase-file FILE  first line is the keystore passphrase (else MCSEC_PASSPHRASE,\n"
    "                          else a prompt)\n";

static int import(int argc, char *argv[]) {
    const char *store = NULL, *init_path = NULL, *prov_path = NULL, *uri = NULL, *pass = NULL;
    uint8_t *init_xml = NULL, *prov_xml = NULL;
    size_t init_len = 0, prov_len = 0;
    cli_docs_t *docs = NULL;
    mcsec_keystore_t *ks = NULL;
    int ret = CLI_USAGE;

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
    if ((docs = calloc(1, sizeof *docs)) == NULL) {
        cli_error(CMD, "out of memory");
        goto out;
    }
    if (cli_read_file(CMD, "--kms-init file", init_path, MCSEC_KMSXML_MAX_LEN, &init_xml,
                      &init_len) != CLI_OK ||
        cli_read_file(CMD, "--key-prov file", prov_path, MCSEC_KMSXML_MAX_LEN, &prov_xml,
                      &prov_len) != CLI_OK ||
        cli_docs_parse(CMD, (const char *)init_xml, init_len, init_path, (const char *)prov_xml,
                       prov_len, prov_path, uri, docs) != CLI_OK ||
        cli_store_open(CMD, store, pass, 1, &ks) != CLI_OK || cli_docs_store(CMD, ks, docs) != CLI_OK)
        goto out;
    cli_docs_print(docs);
    ret = CLI_OK;
out:
    if (docs != NULL) cli_docs_wipe(docs);
    free(docs);
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
