/* Taking KMS documents into the keystore, shared by `keys import`, `provision` and
 * `fetch-keys`: parse the TS 33.180 XML, validate every key set for the expected identity
 * (RSK against Z, SSK/PVT against KPAK), and only then write: the store keeps one identity
 * under one KMS. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "mcsec/secmem.h"

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
    case MCSEC_ERR_BAD_LENGTH:
        return "a field or the document is too long, or a key has the wrong length";
    case MCSEC_ERR_UNSUPPORTED: return "it uses an unsupported format, parameter set or role";
    default: return mcsec_strerror(rc);
    }
}

int cli_docs_parse(const char *cmd, const char *init_xml, size_t init_len, const char *init_name,
                   const char *prov_xml, size_t prov_len, const char *prov_name,
                   const char *expected_uri, cli_docs_t *d) {
    mcsec_kms_response_hdr_t hdr;
    memset(d, 0, sizeof *d);
    mcsec_status_t rc = mcsec_kmsxml_parse_init(init_xml, init_len, &hdr, &d->init);
    if (rc != MCSEC_OK) {
        cli_error(cmd, "%s is not a usable KmsInit document: %s", init_name, xml_why(rc));
        return CLI_FAIL;
    }
    if (d->init.revoked) {
        cli_error(cmd, "the KMS certificate in %s is marked revoked; ask the KMS operator for a "
                       "current one",
                  init_name);
        return CLI_FAIL;
    }
    rc = mcsec_kmsxml_parse_keyprov(prov_xml, prov_len, &hdr, d->sets, CLI_DOCS_MAX_SETS,
                                    &d->n_sets);
    if (rc != MCSEC_OK) {
        cli_error(cmd, "%s is not a usable KmsKeyProv document: %s", prov_name, xml_why(rc));
        return CLI_FAIL;
    }
    snprintf(d->user_uri, sizeof d->user_uri, "%s",
             expected_uri != NULL ? expected_uri : hdr.user_uri);
    for (size_t i = 0; i < d->n_sets; i++) {
        rc = mcsec_kmsxml_check_keyset(&d->init, &d->sets[i], d->user_uri);
        if (rc != MCSEC_OK) {
            cli_error(cmd, "key set %zu of %s (period %" PRIu64 ", %s) refused: %s; nothing "
                           "imported",
                      i + 1, prov_name, d->sets[i].key_period_no, d->sets[i].user_uri,
                      check_why(rc));
            return CLI_FAIL;
        }
        if (d->sets[i].revoked) {
            cli_error(cmd, "key set %zu of %s (period %" PRIu64 ") is marked revoked; nothing "
                           "imported",
                      i + 1, prov_name, d->sets[i].key_period_no);
            return CLI_FAIL;
        }
    }
    return CLI_OK;
}

/* The identity the store already holds ("" if none); 0 on a read error. */
static int store_holder(mcsec_keystore_t *ks, char uri[MCSEC_KEYSTORE_URI_MAX]) {
    uint64_t periods[1];
    size_t n = 0;
    mcsec_keyset_t k;
    uri[0] = 0;
    mcsec_status_t rc = mcsec_keystore_list_periods(ks, periods, 1, &n);
    if (rc != MCSEC_OK && rc != MCSEC_ERR_BAD_LENGTH) return 0;
    if (n == 0) return 1;
    rc = mcsec_keystore_get_keyset(ks, periods[0], &k);
    if (rc == MCSEC_OK) memcpy(uri, k.user_uri, MCSEC_KEYSTORE_URI_MAX);
    mcsec_memzero(&k, sizeof k);
    return rc == MCSEC_OK;
}

int cli_docs_check_store(const char *cmd, mcsec_keystore_t *ks, const cli_docs_t *d) {
    mcsec_kms_params_t have;
    char holder[MCSEC_KEYSTORE_URI_MAX];
    mcsec_status_t rc = mcsec_keystore_get_kms(ks, &have);
    if (rc == MCSEC_OK &&
        (strcmp(have.kms_uri, d->init.kms_uri) != 0 ||
         memcmp(have.Z, d->init.Z, sizeof have.Z) != 0 ||
         memcmp(have.kpak, d->init.kpak, sizeof have.kpak) != 0 ||
         have.key_period != d->init.key_period || have.key_period_offset != d->init.key_offset)) {
        cli_error(cmd, "the keystore belongs to KMS %s with other public keys; use another "
                       "--store for this KMS",
                  have.kms_uri);
        return CLI_FAIL;
    }
    if ((rc != MCSEC_OK && rc != MCSEC_ERR_UNKNOWN_KEY) || !store_holder(ks, holder)) {
        cli_error(cmd, "cannot read the keystore: %s", mcsec_keystore_last_error());
        return CLI_FAIL;
    }
    if (holder[0] != 0 && strcmp(holder, d->user_uri) != 0) {
        cli_error(cmd, "the keystore holds the keys of %s, not %s; use another --store", holder,
                  d->user_uri);
        return CLI_FAIL;
    }
    return CLI_OK;
}

int cli_docs_store(const char *cmd, mcsec_keystore_t *ks, const cli_docs_t *d) {
    mcsec_kms_params_t params;
    mcsec_keyset_t rec;
    int ret = CLI_FAIL;
    memset(&params, 0, sizeof params);
    memset(&rec, 0, sizeof rec);
    if (cli_docs_check_store(cmd, ks, d) != CLI_OK) return CLI_FAIL;
    snprintf(params.kms_uri, sizeof params.kms_uri, "%s", d->init.kms_uri);
    params.user_id_format = d->init.user_id_format;
    params.key_period = d->init.key_period;
    params.key_period_offset = d->init.key_offset;
    memcpy(params.Z, d->init.Z, sizeof params.Z);
    memcpy(params.kpak, d->init.kpak, sizeof params.kpak);
    if (mcsec_keystore_put_kms(ks, &params) != MCSEC_OK) goto store_error;
    for (size_t i = 0; i < d->n_sets; i++) {
        snprintf(rec.user_uri, sizeof rec.user_uri, "%s", d->sets[i].user_uri);
        memcpy(rec.uid, d->sets[i].uid, sizeof rec.uid);
        rec.period_no = d->sets[i].key_period_no;
        memcpy(rec.rsk, d->sets[i].rsk, sizeof rec.rsk);
        memcpy(rec.ssk, d->sets[i].ssk, sizeof rec.ssk);
        memcpy(rec.pvt, d->sets[i].pvt, sizeof rec.pvt);
        if (mcsec_keystore_put_keyset(ks, &rec) != MCSEC_OK) goto store_error;
    }
    ret = CLI_OK;
    goto out;
store_error:
    cli_error(cmd, "cannot write the keystore: %s", mcsec_keystore_last_error());
out:
    mcsec_memzero(&rec, sizeof rec);
    return ret;
}

void cli_docs_print(const cli_docs_t *d) {
    printf("imported %zu key set%s for %s from KMS %s (key period", d->n_sets,
           d->n_sets == 1 ? "" : "s", d->user_uri, d->init.kms_uri);
    for (size_t i = 0; i < d->n_sets; i++)
        printf("%s %" PRIu64, i ? "," : "", d->sets[i].key_period_no);
    printf(")\n");
}

void cli_docs_wipe(cli_docs_t *d) {
    mcsec_memzero(d, sizeof *d);
}
