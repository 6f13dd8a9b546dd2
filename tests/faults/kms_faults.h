/* KMS helpers of the fault tests: what a test may know of the KMS's secrets (it holds the
 * passphrase, so it opens the store and reads the unsealed master secrets from the handle:
 * kms/internal.h), and the checks every fault ends with: the store file intact, the public
 * parameters and the sealed records unchanged, no table holding anything but the documented
 * sealed formats, no secret in the clear in the file, its WAL or its shared memory. Include
 * after test.h, kms_test.h and faults.h. */
#ifndef MCSEC_KMS_FAULTS_H
#define MCSEC_KMS_FAULTS_H

#include <zmq.h>

#include "internal.h" /* kms/: the handle's unsealed secrets, KMS_SECRETS_LEN */
#include "mcsec/seal.h"

/* The sealed records as the KMS wrote them (kms/kms.c): kek 124 octets, secrets nonce |
 * ciphertext of z, KSAK and the CURVE secret | tag. */
#define FK_KEK_LEN 124
#define FK_SECRETS_LEN (MCSEC_SEAL_NONCE_LEN + KMS_SECRETS_LEN + MCSEC_SEAL_TAG_LEN)

typedef struct {
    uint8_t params[1024], kek[256], secrets[512];
    size_t params_len, kek_len, secrets_len;
} fk_records_t;

/* The meta record name of db (0 octets if missing). */
static size_t fk_meta(const char *db, const char *name, uint8_t *out, size_t cap)
{
    sqlite3 *h = NULL;
    sqlite3_stmt *q = NULL;
    size_t n = 0;
    if (sqlite3_open(db, &h) == SQLITE_OK &&
        sqlite3_prepare_v2(h, "SELECT value FROM meta WHERE name = ?1", -1, &q, NULL) ==
            SQLITE_OK &&
        sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC) == SQLITE_OK &&
        sqlite3_step(q) == SQLITE_ROW) {
        n = (size_t)sqlite3_column_bytes(q, 0);
        if (n > cap)
            n = 0;
        else if (n > 0)
            memcpy(out, sqlite3_column_blob(q, 0), n);
    }
    sqlite3_finalize(q);
    sqlite3_close(h);
    return n;
}

static void fk_records(const char *db, fk_records_t *r)
{
    r->params_len = fk_meta(db, "params", r->params, sizeof r->params);
    r->kek_len = fk_meta(db, "kek", r->kek, sizeof r->kek);
    r->secrets_len = fk_meta(db, "secrets", r->secrets, sizeof r->secrets);
}

/* Adds the master secrets of an open KMS (z, KSAK, the transport CURVE secret in Z85 and
 * decoded) to l. */
static void fk_master_secrets(const mcsec_kms_t *kms, fx_secrets_t *l)
{
    uint8_t raw[32];
    fx_secret_add_pieces(l, "SAKKE master secret z", kms->secrets->z, sizeof kms->secrets->z);
    fx_secret_add_pieces(l, "ECCSI master secret KSAK", kms->secrets->ksak,
                         sizeof kms->secrets->ksak);
    fx_secret_add_pieces(l, "KMS CURVE secret key (Z85)", kms->secrets->curve_secret,
                         MCSEC_KMS_Z85_LEN);
    if (zmq_z85_decode(raw, kms->secrets->curve_secret) != NULL)
        fx_secret_add_pieces(l, "KMS CURVE secret key", raw, sizeof raw);
}

/* A device's CURVE secret (Z85 and decoded). */
static void fk_device_secret(fx_secrets_t *l, const char *z85)
{
    uint8_t raw[32];
    fx_secret_add(l, "a device CURVE secret key (Z85)", z85, MCSEC_KMS_Z85_LEN);
    if (zmq_z85_decode(raw, z85) != NULL)
        fx_secret_add(l, "a device CURVE secret key", raw, sizeof raw);
}

/* The secret keys of an issued KeyProv document (RSK, SSK of each key set). */
static void fk_issued_secrets(fx_secrets_t *l, const uint8_t *xml, size_t len)
{
    mcsec_kms_response_hdr_t hdr;
    mcsec_kms_keyset_t sets[3];
    size_t n = 0;
    if (mcsec_kmsxml_parse_keyprov((const char *)xml, len, &hdr, sets, 3, &n) == MCSEC_OK)
        for (size_t i = 0; i < n; i++) {
            fx_secret_add(l, "an issued SSK", sets[i].ssk, sizeof sets[i].ssk);
            fx_secret_add(l, "an issued RSK", sets[i].rsk, sizeof sets[i].rsk);
        }
    mcsec_kms_keyset_wipe(sets, 3);
}

/* Every table and column holding secrets holds only the documented sealed blobs: meta has
 * exactly params, kek (124 octets, "MCKK"), secrets (nonce | sealed z, KSAK, CURVE secret |
 * tag) and endpoint; devices hold 40-character public keys only; the tables are the known
 * ones. Returns the number of violations (printed). */
static int fk_check_columns(const char *db)
{
    static const struct {
        const char *what, *query;
        long long want;
        int pkmf; /* only if the PKMF tables exist (they are made on first use) */
    } rules[] = {
        {"meta records other than params, kek, secrets, endpoint",
         "SELECT count(*) FROM meta WHERE name NOT IN ('params', 'kek', 'secrets', 'endpoint')",
         0, 0},
        {"a kek record of 124 octets starting MCKK",
         "SELECT count(*) FROM meta WHERE name = 'kek' AND length(value) = 124 AND "
         "substr(value, 1, 4) = CAST('MCKK' AS BLOB)",
         1, 0},
        {"a sealed secrets record", "SELECT count(*) FROM meta WHERE name = 'secrets' AND "
                                    "length(value) = " /* FK_SECRETS_LEN */ "228",
         1, 0},
        {"a params record starting MCKP", "SELECT count(*) FROM meta WHERE name = 'params' AND "
                                          "substr(value, 1, 4) = CAST('MCKP' AS BLOB)",
         1, 0},
        {"device keys that are not 40 Z85 characters",
         "SELECT count(*) FROM devices WHERE length(curve_public) != 40", 0, 0},
        {"tables other than meta, devices, audit and the PKMF's",
         "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name NOT IN ('meta', "
         "'devices', 'audit', 'sqlite_sequence') AND name NOT LIKE 'pkmf_%'",
         0, 0},
        {"PKMF records whose sealed blob is not nonce | 64 octets | tag",
         "SELECT (SELECT count(*) FROM pkmf_ue WHERE length(sealed) != 92) + "
         "(SELECT count(*) FROM pkmf_session WHERE length(sealed) != 92)",
         0, 1},
    };
    int bad = 0;
    _Static_assert(FK_SECRETS_LEN == 228, "the secrets record length in the rules above");
    _Static_assert(PKMF_SEALED_MAX == 92, "the PKMF sealed length in the rules above");
    long long pkmf = fx_sql_int(db, "SELECT count(*) FROM sqlite_master WHERE name IN "
                                    "('pkmf_ue', 'pkmf_session')");
    for (size_t i = 0; i < sizeof rules / sizeof rules[0]; i++) {
        if (rules[i].pkmf && pkmf != 2)
            continue;
        long long got = fx_sql_int(db, rules[i].query);
        if (got != rules[i].want) {
            fprintf(stderr, "%s: %s: %lld, expected %lld\n", db, rules[i].what, got,
                    rules[i].want);
            bad++;
        }
    }
    return bad;
}

/* 1 if two infos describe the same KMS (public parameters). */
static int fk_same_info(const mcsec_kms_info_t *a, const mcsec_kms_info_t *b)
{
    return strcmp(a->kms_uri, b->kms_uri) == 0 && a->key_period == b->key_period &&
           a->key_offset == b->key_offset && a->created == b->created &&
           strcmp(a->curve_public, b->curve_public) == 0 && memcmp(a->Z, b->Z, sizeof a->Z) == 0 &&
           memcmp(a->kpak, b->kpak, sizeof a->kpak) == 0;
}

static int fk_same_records(const fk_records_t *a, const fk_records_t *b)
{
    return a->params_len > 0 && a->params_len == b->params_len &&
           memcmp(a->params, b->params, a->params_len) == 0 && a->kek_len == b->kek_len &&
           memcmp(a->kek, b->kek, a->kek_len) == 0 && a->secrets_len == b->secrets_len &&
           memcmp(a->secrets, b->secrets, a->secrets_len) == 0;
}

#endif
