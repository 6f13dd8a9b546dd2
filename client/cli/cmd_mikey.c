/* mcsec mikey inspect: decodes a MIKEY message payload by payload and, given the keys,
 * checks it as a handset would. With --store it is opened with the 3GPP profile (GMK / CSK /
 * PCK I_MESSAGE, or GSK message) in diagnostic mode: stale messages are reported, not
 * refused, and nothing is stored. With --kms-init only the signature is checked (by the UID
 * in IDR role 8, under the certificate's KPAK). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "mcsec/kmsxml.h"
#include "mcsec/mikey.h"
#include "mcsec/profile.h"
#include "mcsec/secmem.h"

#define CMD "mikey inspect"
#define MSG_MAX 65536

static const char *const inspect_help =
    "usage: mcsec mikey inspect FILE [--base64] [--store DIR | --kms-init FILE] [--json]\n"
    "                           [--reveal-keys] [--passphrase-file FILE]\n\n"
    "Decodes every payload of a MIKEY message; with keys, verifies and decrypts it.\n"
    "  --base64                FILE holds base64 (whitespace ignored) instead of octets\n"
    "  --store DIR             verify and decrypt with this handset keystore (nothing stored)\n"
    "  --kms-init FILE         verify the signature only, with this KMS certificate\n"
    "  --json                  print one JSON object\n"
    "  --reveal-keys           also print the decrypted key (a secret: mind your terminal)\n"
    "  --passphrase-file FILE  first line is the keystore passphrase\n"
    "Exit status 0 only if the message decoded, its signature verified and (with --store)\n"
    "it decrypted.\n";

typedef struct {
    const char *kind;
    int decoded, verified_known, signature_valid, decrypted, have_key_id, have_guk, fresh_known,
        fresh;
    mcsec_sig_coverage_t coverage;
    uint32_t key_id, guk_id;
    uint64_t timestamp;
    const char *check, *why; /* where opening stopped, "" if it did not */
    uint8_t key[MCSEC_PROFILE_KEY_LEN];
    int key_params_present, key_params_decoded;
    mcsec_key_params_t kp;
} report_t;

static uint32_t rd32(const uint8_t *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Kind and ids from the octets alone. */
static void classify(const mcsec_mikey_msg_t *m, report_t *r) {
    mcsec_mikey_cs_t cs;
    size_t cur = 0;
    r->kind = "unknown";
    if (m->hdr.data_type == MCSEC_MIKEY_DT_SAKKE) {
        if (!mcsec_mikey_cs_next(&m->hdr, &cur, &cs) || cs.spi.len < 4) return;
        r->key_id = rd32(cs.spi.p);
        r->have_key_id = 1;
        switch (mcsec_purpose_tag(r->key_id)) {
        case MCSEC_PURPOSE_GMK:
            r->kind = "gmk";
            r->guk_id = m->hdr.csb_id;
            r->have_guk = 1;
            break;
        case MCSEC_PURPOSE_PCK: r->kind = "pck"; break;
        case MCSEC_PURPOSE_CSK: r->kind = "csk"; break;
        default: break;
        }
    } else if (m->hdr.data_type == MCSEC_MIKEY_DT_PSK_INIT &&
               mcsec_mikey_find_idr(m, MCSEC_MIKEY_ROLE_PSK) != NULL) {
        r->kind = "gsk";
        r->key_id = m->hdr.csb_id;
        r->have_key_id = 1;
    }
    const mcsec_mikey_payload_t *t = mcsec_mikey_find(m, MCSEC_MIKEY_PT_T, 0);
    if (t != NULL) r->timestamp = t->u.t.value;
}

static int verify_only(const char *path, const mcsec_mikey_msg_t *m, report_t *r) {
    uint8_t *xml = NULL;
    size_t len = 0;
    mcsec_kms_response_hdr_t hdr;
    mcsec_kms_init_t init;
    mcsec_eccsi_verifier_t *v = NULL;
    const mcsec_mikey_payload_t *idr = mcsec_mikey_find_idr(m, MCSEC_MIKEY_ROLE_3GPP_UID_I);
    int ret = CLI_FAIL;
    if (cli_read_file(CMD, "--kms-init file", path, MCSEC_KMSXML_MAX_LEN, &xml, &len) != CLI_OK)
        return CLI_FAIL;
    mcsec_status_t rc = mcsec_kmsxml_parse_init((const char *)xml, len, &hdr, &init);
    if (rc != MCSEC_OK) {
        cli_error(CMD, "%s is not a usable KmsInit document: %s", path, mcsec_strerror(rc));
        goto out;
    }
    ret = CLI_OK;
    r->verified_known = 1;
    if (!m->has_sign || idr == NULL) {
        r->check = "signature";
        r->why = !m->has_sign ? "the message has no SIGN payload"
                              : "the message names no signer (no IDR role 8)";
        goto out;
    }
    if (mcsec_eccsi_verifier_new(&v, init.kpak, 0) != MCSEC_OK) {
        r->check = "signature";
        r->why = "the certificate's KPAK is not a valid P-256 point";
        goto out;
    }
    const mcsec_mikey_span_t *sig = &m->payload[m->count - 1].u.sign.sig;
    const mcsec_mikey_span_t *cover[2] = {&m->signed_data, &m->signed_data_alt};
    for (int k = 0; k < 2 && !r->signature_valid; k++)
        if (mcsec_eccsi_verify(v, idr->u.idr.data.p, idr->u.idr.data.len, cover[k]->p,
                               cover[k]->len, sig->p, sig->len) == MCSEC_OK) {
            r->signature_valid = 1;
            r->coverage = k == 0 ? MCSEC_SIG_RFC3830 : MCSEC_SIG_WITHOUT_SIGN_HEADER;
        }
    if (!r->signature_valid) {
        r->check = "signature";
        r->why = "the ECCSI signature does not verify for the UID in IDR role 8";
    }
    uint64_t now = cli_ntp_now(), t = r->timestamp >> 32;
    r->fresh_known = r->timestamp != 0;
    r->fresh = (t > now ? t - now : now - t) <= MCSEC_PROFILE_WINDOW_DEFAULT;
out:
    mcsec_eccsi_verifier_free(v);
    free(xml);
    return ret;
}

static mcsec_status_t lookup_gmk(void *user, uint32_t gmk_id, mcsec_gmk_record_t *out) {
    return mcsec_keystore_get_gmk(user, gmk_id, out);
}

static int open_with_store(const char *dir, const char *pass, const uint8_t *msg, size_t len,
                           report_t *r) {
    mcsec_keystore_t *ks = NULL;
    mcsec_profile_receiver_t *rx = NULL;
    char me[MCSEC_KEYSTORE_URI_MAX];
    mcsec_gmk_result_t g;
    mcsec_gsk_result_t s;
    mcsec_profile_check_t check;
    int ret = cli_store_open(CMD, dir, pass, 0, &ks);
    memset(&g, 0, sizeof g);
    memset(&s, 0, sizeof s);
    if (ret != CLI_OK) goto out;
    if ((ret = cli_store_receiver(CMD, ks, &rx, me)) != CLI_OK) goto out;
    r->verified_known = 1;
    if (strcmp(r->kind, "gsk") == 0) {
        mcsec_gsk_keys_t keys = {.lookup = lookup_gmk, .lookup_user = ks};
        mcsec_status_t rc = mcsec_gsk_open(rx, &keys, msg, len, MCSEC_OPEN_DIAGNOSTIC, &s);
        check = s.check;
        r->why = s.why;
        r->coverage = s.coverage;
        r->fresh = s.fresh;
        if (rc == MCSEC_OK) memcpy(r->key, s.gsk, sizeof r->key);
    } else {
        mcsec_status_t rc = mcsec_gmk_open(rx, msg, len, MCSEC_OPEN_DIAGNOSTIC, &g);
        check = g.check;
        r->why = g.why;
        r->coverage = g.coverage;
        r->fresh = g.fresh;
        if (rc == MCSEC_OK) {
            memcpy(r->key, g.key, sizeof r->key);
            r->key_params_present = g.key_params_present;
            r->key_params_decoded = g.key_params_decoded;
            r->kp = g.key_params;
        }
    }
    r->signature_valid = check == MCSEC_CHECK_NONE || check > MCSEC_CHECK_SIGNATURE;
    r->fresh_known = check == MCSEC_CHECK_NONE || check > MCSEC_CHECK_FRESHNESS;
    r->decrypted = check == MCSEC_CHECK_NONE;
    r->check = check == MCSEC_CHECK_NONE ? "" : mcsec_profile_check_name(check);
out:
    mcsec_gmk_result_wipe(&g);
    mcsec_gsk_result_wipe(&s);
    mcsec_profile_receiver_free(rx);
    mcsec_keystore_close(ks);
    return ret;
}

static void print_json(const mcsec_mikey_msg_t *m, const report_t *r, int reveal,
                       const char *error) {
    cli_json_t j;
    cli_json_start(&j, stdout);
    cli_json_bool(&j, "decoded", r->decoded);
    if (error != NULL) cli_json_str(&j, "error", error);
    cli_json_str(&j, "kind", r->kind);
    cli_json_open(&j, "payloads", '[');
    if (r->decoded) {
        cli_json_str(&j, NULL, "HDR");
        for (size_t i = 0; i < m->count; i++)
            cli_json_str(&j, NULL, mcsec_mikey_payload_name(m->payload[i].type));
    }
    cli_json_close(&j, ']');
    if (r->decoded) {
        cli_json_u64(&j, "data_type", m->hdr.data_type);
        cli_json_u64(&j, "csb_id", m->hdr.csb_id);
        const mcsec_mikey_payload_t *i = mcsec_mikey_find_idr(m, MCSEC_MIKEY_ROLE_3GPP_UID_I);
        const mcsec_mikey_payload_t *o = mcsec_mikey_find_idr(m, MCSEC_MIKEY_ROLE_3GPP_UID_R);
        if (i != NULL) cli_json_hex(&j, "initiator_uid", i->u.idr.data.p, i->u.idr.data.len);
        if (o != NULL) cli_json_hex(&j, "responder_uid", o->u.idr.data.p, o->u.idr.data.len);
        if (r->timestamp != 0) cli_json_u64(&j, "timestamp", r->timestamp);
    }
    if (r->verified_known)
        cli_json_bool(&j, "signature_valid", r->signature_valid);
    else
        cli_json_null(&j, "signature_valid");
    if (r->signature_valid)
        cli_json_str(&j, "signature_coverage", mcsec_sig_coverage_name(r->coverage));
    if (r->have_key_id) {
        uint8_t id[4] = {(uint8_t)(r->key_id >> 24), (uint8_t)(r->key_id >> 16),
                         (uint8_t)(r->key_id >> 8), (uint8_t)r->key_id};
        cli_json_hex(&j, "key_id", id, 4);
    }
    if (r->have_guk) {
        uint8_t id[4] = {(uint8_t)(r->guk_id >> 24), (uint8_t)(r->guk_id >> 16),
                         (uint8_t)(r->guk_id >> 8), (uint8_t)r->guk_id};
        cli_json_hex(&j, "guk_id", id, 4);
    }
    if (r->fresh_known)
        cli_json_bool(&j, "fresh", r->fresh);
    else
        cli_json_null(&j, "fresh");
    if (r->verified_known) cli_json_bool(&j, "decrypted", r->decrypted);
    if (r->check != NULL && r->check[0] != 0) {
        cli_json_str(&j, "failed_check", r->check);
        cli_json_str(&j, "why", r->why != NULL ? r->why : "");
    }
    if (r->key_params_present) {
        cli_json_open(&j, "key_params", '{');
        cli_json_bool(&j, "decoded", r->key_params_decoded);
        if (r->key_params_decoded) {
            cli_json_u64(&j, "key_type", r->kp.key_type);
            cli_json_u64(&j, "status", r->kp.status);
            cli_json_u64(&j, "activation", r->kp.activation);
            cli_json_u64(&j, "expiry", r->kp.expiry);
            cli_json_str(&j, "text", r->kp.text);
            cli_json_str(&j, "group_id", r->kp.group_id);
        }
        cli_json_close(&j, '}');
    }
    if (reveal && r->decrypted) cli_json_hex(&j, "key", r->key, sizeof r->key);
    cli_json_close(&j, '}');
}

static void print_text(const mcsec_mikey_msg_t *m, const report_t *r, int reveal) {
    printf("kind:               %s\n", r->kind);
    printf("data type:          %u\n", m->hdr.data_type);
    printf("CSB ID:             %08" PRIx32 "\n", m->hdr.csb_id);
    printf("payloads:           HDR");
    for (size_t i = 0; i < m->count; i++) {
        const mcsec_mikey_payload_t *p = &m->payload[i];
        printf(" %s", mcsec_mikey_payload_name(p->type));
        if (p->type == MCSEC_MIKEY_PT_IDR) printf("(%u)", p->u.idr.role);
        if (p->type == MCSEC_MIKEY_PT_GENERAL_EXT) printf("(%u)", p->u.ext.ext_type);
    }
    printf("\n");
    for (size_t i = 0; i < m->count; i++) {
        const mcsec_mikey_payload_t *p = &m->payload[i];
        if (p->type != MCSEC_MIKEY_PT_IDR) continue;
        printf("IDR role %u:         ", p->u.idr.role);
        if (p->u.idr.role == MCSEC_MIKEY_ROLE_3GPP_UID_I ||
            p->u.idr.role == MCSEC_MIKEY_ROLE_3GPP_UID_R ||
            p->u.idr.role == MCSEC_MIKEY_ROLE_PSK) {
            cli_hex(stdout, p->u.idr.data.p, p->u.idr.data.len);
        } else {
            for (size_t k = 0; k < p->u.idr.data.len; k++) {
                uint8_t c = p->u.idr.data.p[k];
                putchar(c >= 0x20 && c < 0x7f ? c : '?');
            }
        }
        printf("\n");
    }
    if (r->timestamp != 0) printf("timestamp (NTP):    %016" PRIx64 "\n", r->timestamp);
    if (r->have_key_id) printf("key id:             %08" PRIx32 "\n", r->key_id);
    if (r->have_guk) printf("GUK-ID:             %08" PRIx32 "\n", r->guk_id);
    if (!r->verified_known)
        printf("signature:          not checked (give --store or --kms-init)\n");
    else if (r->signature_valid)
        printf("signature:          valid (%s)\n", mcsec_sig_coverage_name(r->coverage));
    else
        printf("signature:          INVALID\n");
    if (r->fresh_known) printf("fresh:              %s\n", r->fresh ? "yes" : "no (stale)");
    if (r->check != NULL && r->check[0] != 0)
        printf("failed check:       %s: %s\n", r->check, r->why ? r->why : "");
    if (r->key_params_present && r->key_params_decoded)
        printf("key parameters:     type %u, status %08" PRIx32 ", activation %016" PRIx64
               ", expiry %016" PRIx64 ", group '%s'\n",
               r->kp.key_type, r->kp.status, r->kp.activation, r->kp.expiry, r->kp.group_id);
    else if (r->key_params_present)
        printf("key parameters:     present, not decodable\n");
    if (r->decrypted) {
        printf("decrypted:          yes\n");
        if (reveal) {
            printf("key:                ");
            cli_hex(stdout, r->key, sizeof r->key);
            printf("\n");
        }
    }
}

static int inspect(int argc, char *argv[]) {
    const char *file = NULL, *store = NULL, *kms_init = NULL, *pass = NULL;
    int base64 = 0, json = 0, reveal = 0, ret = CLI_USAGE;
    uint8_t *buf = NULL;
    size_t len = 0;
    mcsec_mikey_msg_t m;
    report_t r;

    memset(&r, 0, sizeof r);
    for (int i = 1; i < argc; i++) {
        int opt;
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(inspect_help, stdout);
            return CLI_OK;
        }
        if (strcmp(argv[i], "--base64") == 0) {
            base64 = 1;
            continue;
        }
        if (strcmp(argv[i], "--json") == 0) {
            json = 1;
            continue;
        }
        if (strcmp(argv[i], "--reveal-keys") == 0) {
            reveal = 1;
            continue;
        }
        if ((opt = cli_option(CMD, argc, argv, &i, "--store", &store, "~/.mcsec")) ||
            (opt = cli_option(CMD, argc, argv, &i, "--kms-init", &kms_init, "kms-init.xml")) ||
            (opt = cli_option(CMD, argc, argv, &i, "--passphrase-file", &pass, "pass.txt"))) {
            if (opt < 0) return CLI_USAGE;
            continue;
        }
        if (argv[i][0] != '-' && file == NULL) {
            file = argv[i];
            continue;
        }
        return cli_bad_arg(CMD, CMD, argv[i]);
    }
    if (file == NULL) {
        cli_error(CMD, "give the message file, e.g. mcsec mikey inspect msg.mikey");
        return CLI_USAGE;
    }
    if (store != NULL && kms_init != NULL) {
        cli_error(CMD, "give --store or --kms-init, not both (the store has the KMS "
                       "certificate)");
        return CLI_USAGE;
    }
    if (reveal && store == NULL) {
        cli_error(CMD, "--reveal-keys needs --store: only a keystore can decrypt the key");
        return CLI_USAGE;
    }

    ret = CLI_FAIL;
    if (mcsec_init() != MCSEC_OK) {
        cli_error(CMD, "the crypto self test failed: this build is broken, do not use it");
        goto out;
    }
    if (cli_read_file(CMD, "message", file, base64 ? MSG_MAX * 2 : MSG_MAX, &buf, &len) != CLI_OK)
        goto out;
    if (base64 && !cli_base64_decode(buf, len, &len)) {
        cli_error(CMD, "%s is not base64 (RFC 4648, padded); drop --base64 for a binary file",
                  file);
        goto out;
    }
    r.kind = "unknown";
    mcsec_status_t rc = mcsec_mikey_parse(buf, len, &m);
    if (rc != MCSEC_OK) {
        char why[160];
        snprintf(why, sizeof why, "not a MIKEY message: %s", mcsec_strerror(rc));
        if (json) print_json(&m, &r, 0, why);
        cli_error(CMD, "%s is %s%s", file, why,
                  base64 ? "" : " (if it is base64 text, add --base64)");
        goto out;
    }
    r.decoded = 1;
    classify(&m, &r);
    if (kms_init != NULL && verify_only(kms_init, &m, &r) != CLI_OK) goto out;
    if (store != NULL && open_with_store(store, pass, buf, len, &r) != CLI_OK) goto out;

    if (json)
        print_json(&m, &r, reveal, NULL);
    else
        print_text(&m, &r, reveal);
    if (!r.verified_known)
        cli_error(CMD, "%s decoded, but its signature was not checked: give --store DIR or "
                       "--kms-init FILE",
                  file);
    else if (r.check != NULL && r.check[0] != 0)
        cli_error(CMD, "%s failed the %s check: %s", file, r.check, r.why ? r.why : "");
    else
        ret = CLI_OK;
out:
    mcsec_memzero(&r, sizeof r);
    free(buf);
    return ret;
}

int cmd_mikey(int argc, char *argv[]) {
    static const cli_sub_t subs[] = {
        {"inspect", inspect, "decode a MIKEY message; verify and decrypt it with keys"},
        {NULL, NULL, NULL},
    };
    return cli_dispatch("mikey", subs, argc, argv);
}
