/* mcsec direct demo: the handsets' identity keys for the offline and sdes modes. A throw-away
 * KMS lives in this process for a moment: it makes its master secrets, writes its certificate
 * (KmsInit) and each handset's key sets for this key period and the next (KmsKeyProv) as
 * TS 33.180 XML, and forgets the secrets. Each handset then takes the documents the way
 * `mcsec keys import` does (parsed, every key set validated for its identity) into a keystore
 * of its own, and opens its identity keys from that store. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "direct_cli.h"
#include "mcsec/secmem.h"

#define KMS_URI "kms.direct.example.org"
#define PERIOD 2592000u /* 30 days, the KMS default */
#define NTP_UNIX 2208988800u

typedef struct {
    uint8_t z[MCSEC_SAKKE_SCALAR_LEN], ksak[MCSEC_ECCSI_SCALAR_LEN]; /* master secrets */
    mcsec_kms_response_hdr_t hdr;
    mcsec_kms_init_t init;
    uint64_t period_no;
} kms_t;

static int fail(dd_run_t *r, const char *what, mcsec_status_t rc) {
    snprintf(r->failure, sizeof r->failure, "%s: %s", what, mcsec_strerror(rc));
    return CLI_FAIL;
}

static int kms_make(dd_run_t *r, kms_t *k, char *xml, size_t cap, size_t *len) {
    int64_t now = (int64_t)time(NULL);
    mcsec_status_t rc = mcsec_key_period_no((uint64_t)now + NTP_UNIX, PERIOD, 0, &k->period_no);
    if (rc != MCSEC_OK) return fail(r, "key period", rc);
    snprintf(k->hdr.kms_uri, sizeof k->hdr.kms_uri, "%s", KMS_URI);
    snprintf(k->hdr.client_req_url, sizeof k->hdr.client_req_url,
             "https://%s/keymanagement/init", KMS_URI);
    k->hdr.time = now;
    snprintf(k->init.kms_uri, sizeof k->init.kms_uri, "%s", KMS_URI);
    snprintf(k->init.cert_uri, sizeof k->init.cert_uri, "cert1.%s", KMS_URI);
    snprintf(k->init.issuer, sizeof k->init.issuer, "www.%s", KMS_URI);
    k->init.valid_from = now - 86400;
    k->init.valid_to = now + 365 * 86400;
    k->init.user_id_format = 2;
    k->init.key_period = PERIOD;
    k->init.key_offset = 0;
    k->init.parameter_set = 1;
    if ((rc = mcsec_sakke_kms_generate(k->z, k->init.Z)) != MCSEC_OK ||
        (rc = mcsec_eccsi_kms_generate(k->ksak, k->init.kpak)) != MCSEC_OK)
        return fail(r, "KMS master secrets", rc);
    snprintf(k->hdr.user_uri, sizeof k->hdr.user_uri, "%s", r->ue[0].uri);
    if ((rc = mcsec_kmsxml_write_init(&k->hdr, &k->init, xml, cap, len)) != MCSEC_OK)
        return fail(r, "KmsInit", rc);
    return CLI_OK;
}

/* The KmsKeyProv of uri: key sets of this period and the next. */
static int kms_keyprov(dd_run_t *r, kms_t *k, const char *uri, char *xml, size_t cap,
                       size_t *len) {
    mcsec_kms_keyset_t sets[2];
    mcsec_status_t rc = MCSEC_OK;
    memset(sets, 0, sizeof sets);
    snprintf(k->hdr.user_uri, sizeof k->hdr.user_uri, "%s", uri);
    for (int i = 0; i < 2 && rc == MCSEC_OK; i++) {
        mcsec_kms_keyset_t *s = &sets[i];
        snprintf(s->kms_uri, sizeof s->kms_uri, "%s", k->init.kms_uri);
        snprintf(s->cert_uri, sizeof s->cert_uri, "%s", k->init.cert_uri);
        snprintf(s->issuer, sizeof s->issuer, "%s", k->init.issuer);
        snprintf(s->user_uri, sizeof s->user_uri, "%s", uri);
        s->key_period_no = k->period_no + (uint64_t)i;
        s->valid_from = (int64_t)(s->key_period_no * PERIOD) - (int64_t)NTP_UNIX;
        s->valid_to = s->valid_from + PERIOD;
        rc = mcsec_uid_format2(uri, k->init.kms_uri, PERIOD, 0, s->key_period_no, s->uid);
        if (rc == MCSEC_OK) rc = mcsec_sakke_issue_rsk(k->z, s->uid, sizeof s->uid, s->rsk);
        if (rc == MCSEC_OK)
            rc = mcsec_eccsi_issue(k->ksak, k->init.kpak, s->uid, sizeof s->uid, s->ssk, s->pvt);
    }
    if (rc == MCSEC_OK) rc = mcsec_kmsxml_write_keyprov(&k->hdr, sets, 2, xml, cap, len);
    mcsec_kms_keyset_wipe(sets, 2);
    return rc == MCSEC_OK ? CLI_OK : fail(r, "KmsKeyProv", rc);
}

/* The handset's keystore, created and filled from the documents. */
static int provision(dd_run_t *r, dd_ue_t *u, const char *init_xml, size_t init_len,
                     const char *prov_xml, size_t prov_len) {
    cli_docs_t docs;
    mcsec_status_t rc;
    snprintf(u->store, sizeof u->store, "%s/%s.keystore", r->env.dir, u->name);
    if (cli_docs_parse(DD_CMD, init_xml, init_len, "the KmsInit", prov_xml, prov_len,
                       "the KmsKeyProv", u->uri, &docs) != CLI_OK) {
        cli_docs_wipe(&docs);
        snprintf(r->failure, sizeof r->failure, "%s's KMS documents were refused", u->name);
        return CLI_FAIL;
    }
    rc = mcsec_keystore_create_with_cost(u->store, r->env.pass, r->env.pass_len,
                                         DEMO_KDF_LOG2N, 8, 1);
    if (rc == MCSEC_OK)
        rc = mcsec_keystore_open(&u->ks, u->store, r->env.pass, r->env.pass_len);
    int st = rc == MCSEC_OK ? cli_docs_store(DD_CMD, u->ks, &docs) : CLI_FAIL;
    cli_docs_wipe(&docs);
    if (rc != MCSEC_OK) {
        snprintf(r->failure, sizeof r->failure, "%s", mcsec_keystore_last_error());
        return CLI_FAIL;
    }
    if (st != CLI_OK) {
        snprintf(r->failure, sizeof r->failure, "%s's keystore refused the key sets", u->name);
        return CLI_FAIL;
    }
    rc = mcsec_direct_identity_open(&u->id, u->ks);
    return rc == MCSEC_OK ? CLI_OK : fail(r, "identity keys", rc);
}

int dd_keys(dd_run_t *r) {
    static char init_xml[MCSEC_KMSXML_MAX_LEN + 1], prov_xml[MCSEC_KMSXML_MAX_LEN + 1];
    size_t init_len = 0, prov_len = 0;
    kms_t k;
    memset(&k, 0, sizeof k);
    int st = kms_make(r, &k, init_xml, sizeof init_xml, &init_len);
    for (int i = 0; i < 2 && st == CLI_OK; i++) {
        st = kms_keyprov(r, &k, r->ue[i].uri, prov_xml, sizeof prov_xml, &prov_len);
        if (st == CLI_OK) st = provision(r, &r->ue[i], init_xml, init_len, prov_xml, prov_len);
        mcsec_memzero(prov_xml, sizeof prov_xml);
    }
    mcsec_memzero(&k, sizeof k); /* the KMS master secrets are gone */
    return st;
}
