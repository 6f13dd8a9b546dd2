/* Shared by the fuzz targets that need identities: a throw-away KMS with fixed master secrets
 * (so that seeds written by one process verify in another), issuing key sets of the key period
 * of its time and the next (UID format 2, 30-day periods, no offset) and its TS 33.180 documents.
 */
#ifndef MCSEC_FUZZ_WORLD_H
#define MCSEC_FUZZ_WORLD_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/obj_mac.h>

#include "mcsec/eccsi.h"
#include "mcsec/kdf.h"
#include "mcsec/kmsxml.h"
#include "mcsec/sakke.h"
#include "mcsec/secmem.h"

#define FW_KMS_URI "kms.example.org"
#define FW_PERIOD 2592000u
#define FW_NTP_UNIX 2208988800u

typedef struct {
    uint8_t z[MCSEC_SAKKE_SCALAR_LEN], ksak[MCSEC_ECCSI_SCALAR_LEN];
    mcsec_kms_init_t init;
    uint64_t period_no; /* the key period now */
    int64_t now;        /* Unix seconds the KMS was made for */
} fw_kms_t;

static inline void fw_die(const char *what) {
    fprintf(stderr, "fuzz setup: %s\n", what);
    abort();
}

/* The KMS as of Unix time now (0: the clock). */
static inline void fw_kms_new(fw_kms_t *k, int64_t now) {
    static const uint8_t ksak[32] = {0x1f, 0x2e, 0x3d, 0x4c, 0x5b, 0x6a, 0x79, 0x88,
                                     0x97, 0xa6, 0xb5, 0xc4, 0xd3, 0xe2, 0xf1, 0x00,
                                     0x0f, 0x1e, 0x2d, 0x3c, 0x4b, 0x5a, 0x69, 0x78,
                                     0x87, 0x96, 0xa5, 0xb4, 0xc3, 0xd2, 0xe1, 0xf0};
    static const uint8_t z_tail[16] = {0x5a, 0x17, 0x3c, 0x99, 0x01, 0x23, 0x45, 0x67,
                                       0x89, 0xab, 0xcd, 0xef, 0x10, 0x32, 0x54, 0x76};
    memset(k, 0, sizeof *k);
    if (mcsec_init() != MCSEC_OK) fw_die("mcsec_init");
    memcpy(k->z + sizeof k->z - sizeof z_tail, z_tail, sizeof z_tail);
    memcpy(k->ksak, ksak, sizeof ksak);
    k->now = now != 0 ? now : (int64_t)time(NULL);
    if (mcsec_key_period_no((uint64_t)k->now + FW_NTP_UNIX, FW_PERIOD, 0, &k->period_no) !=
        MCSEC_OK)
        fw_die("key period");
    mcsec_kms_init_t *i = &k->init;
    snprintf(i->kms_uri, sizeof i->kms_uri, "%s", FW_KMS_URI);
    snprintf(i->cert_uri, sizeof i->cert_uri, "cert1.%s", FW_KMS_URI);
    snprintf(i->issuer, sizeof i->issuer, "www.%s", FW_KMS_URI);
    i->valid_from = k->now - 86400;
    i->valid_to = k->now + 365 * 86400;
    i->user_id_format = 2;
    i->key_period = FW_PERIOD;
    i->parameter_set = 1;
    /* KPAK = [KSAK]G on P-256. */
    EC_GROUP *g = EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1);
    EC_POINT *pt = g != NULL ? EC_POINT_new(g) : NULL;
    BIGNUM *b = BN_bin2bn(k->ksak, sizeof k->ksak, NULL);
    int ok = pt != NULL && b != NULL && EC_POINT_mul(g, pt, b, NULL, NULL, NULL) == 1 &&
             EC_POINT_point2oct(g, pt, POINT_CONVERSION_UNCOMPRESSED, i->kpak, sizeof i->kpak,
                                NULL) == sizeof i->kpak;
    BN_free(b), EC_POINT_free(pt), EC_GROUP_free(g);
    if (!ok || mcsec_sakke_kms_public(k->z, i->Z) != MCSEC_OK) fw_die("KMS public keys");
}

/* Key sets of uri for the current and the next key period. Secret: wipe them. */
static inline void fw_issue(const fw_kms_t *k, const char *uri, mcsec_kms_keyset_t sets[2]) {
    memset(sets, 0, 2 * sizeof *sets);
    for (int n = 0; n < 2; n++) {
        mcsec_kms_keyset_t *s = &sets[n];
        snprintf(s->kms_uri, sizeof s->kms_uri, "%s", k->init.kms_uri);
        snprintf(s->cert_uri, sizeof s->cert_uri, "%s", k->init.cert_uri);
        snprintf(s->issuer, sizeof s->issuer, "%s", k->init.issuer);
        snprintf(s->user_uri, sizeof s->user_uri, "%s", uri);
        s->key_period_no = k->period_no + (uint64_t)n;
        s->valid_from = (int64_t)(s->key_period_no * FW_PERIOD) - (int64_t)FW_NTP_UNIX;
        s->valid_to = s->valid_from + FW_PERIOD;
        if (mcsec_uid_format2(uri, FW_KMS_URI, FW_PERIOD, 0, s->key_period_no, s->uid) !=
                MCSEC_OK ||
            mcsec_sakke_issue_rsk(k->z, s->uid, sizeof s->uid, s->rsk) != MCSEC_OK ||
            mcsec_eccsi_issue(k->ksak, k->init.kpak, s->uid, sizeof s->uid, s->ssk, s->pvt) !=
                MCSEC_OK)
            fw_die("issue");
    }
}

static inline void fw_hdr(const fw_kms_t *k, const char *user_uri, mcsec_kms_response_hdr_t *hdr) {
    memset(hdr, 0, sizeof *hdr);
    snprintf(hdr->kms_uri, sizeof hdr->kms_uri, "%s", FW_KMS_URI);
    snprintf(hdr->user_uri, sizeof hdr->user_uri, "%s", user_uri);
    snprintf(hdr->client_req_url, sizeof hdr->client_req_url,
             "https://%s/keymanagement/identity/v1/init", FW_KMS_URI);
    hdr->time = k->now;
}

/* KmsResponse/KmsInit for user_uri into buf (NUL-terminated); its length. */
static inline size_t fw_init_xml(const fw_kms_t *k, const char *user_uri, char *buf, size_t cap) {
    mcsec_kms_response_hdr_t hdr;
    size_t len = 0;
    fw_hdr(k, user_uri, &hdr);
    if (mcsec_kmsxml_write_init(&hdr, &k->init, buf, cap, &len) != MCSEC_OK) fw_die("KmsInit");
    return len;
}

/* KmsResponse/KmsKeyProv with uri's key sets (current and next period). Secret. */
static inline size_t fw_keyprov_xml(const fw_kms_t *k, const char *uri, char *buf, size_t cap) {
    mcsec_kms_response_hdr_t hdr;
    mcsec_kms_keyset_t sets[2];
    size_t len = 0;
    fw_hdr(k, uri, &hdr);
    fw_issue(k, uri, sets);
    if (mcsec_kmsxml_write_keyprov(&hdr, sets, 2, buf, cap, &len) != MCSEC_OK) fw_die("KmsKeyProv");
    mcsec_kms_keyset_wipe(sets, 2);
    return len;
}

#endif
