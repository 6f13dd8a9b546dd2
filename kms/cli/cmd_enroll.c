/* mcsec-kms enroll: register a device and its CURVE credential. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "mcsec/bundle.h"
#include "mcsec/secmem.h"

#define CMD "enroll"

static void usage(FILE *f) {
    fprintf(f, "usage: mcsec-kms enroll --dir DIR --uri USER_URI [--role handset|groupmgr]\n"
               "                        [--group GROUP_URI ...] [--out FILE | --curve-public KEY]\n"
               "                        [--at RFC3339] [--passphrase-file FILE]\n\n"
               "Registers an identity's device. A handset may fetch only its own keys; a group\n"
               "manager also those of the groups given with --group.\n"
               "  --out FILE          write a sealed handset bundle and print its one-time code\n"
               "  --curve-public KEY  register the device's own CURVE public key (Z85)\n"
               "Without either, the new key pair is printed (curve-public, curve-secret): hand\n"
               "the secret to the device only.\n");
}

int cmd_enroll(int argc, char *argv[]) {
    const char *dir = NULL, *uri = NULL, *role_s = NULL, *out = NULL, *key = NULL,
               *pass_file = NULL, *at_s = NULL;
    const char *groups[MCSEC_KMS_GROUPS_MAX];
    size_t n_groups = 0;
    uint64_t at = 0;
    int r;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0) {
            usage(stdout);
            return CLI_OK;
        }
        const char *g = NULL;
        if ((r = cli_option(CMD, argc, argv, &i, "--group", &g, "sip:fire-north@example.org"))) {
            if (r < 0) return CLI_USAGE;
            if (n_groups == MCSEC_KMS_GROUPS_MAX) {
                cli_error(CMD, "more than %d --group options", MCSEC_KMS_GROUPS_MAX);
                return CLI_USAGE;
            }
            groups[n_groups++] = g;
            continue;
        }
        OPT("--dir", dir, "/var/lib/mcsec-kms")
        OPT("--uri", uri, "sip:alice@example.org")
        OPT("--role", role_s, "handset")
        OPT("--out", out, "alice.mcsb")
        OPT("--curve-public", key, "<40 Z85 characters>")
        OPT("--at", at_s, "2025-01-01T00:00:00Z")
        OPT("--passphrase-file", pass_file, "/etc/mcsec/kms.pass")
        return kcli_unknown(CMD, argv[i]);
    }
    if (!kcli_required(CMD, "--dir", dir, "/var/lib/mcsec-kms") ||
        !kcli_required(CMD, "--uri", uri, "sip:alice@example.org"))
        return CLI_USAGE;
    mcsec_kms_role_t role = role_s != NULL ? mcsec_kms_role_parse(role_s) : MCSEC_KMS_ROLE_HANDSET;
    if (role == 0) {
        cli_error(CMD, "--role '%s' is not handset or groupmgr", role_s);
        return CLI_USAGE;
    }
    if (out != NULL && key != NULL) {
        cli_error(CMD, "--out makes a key pair for the bundle: do not give --curve-public too");
        return CLI_USAGE;
    }
    if (at_s != NULL && !cli_parse_rfc3339(at_s, &at)) {
        cli_error(CMD, "--at '%s' is not an RFC 3339 time, e.g. 2025-01-01T00:00:00Z", at_s);
        return CLI_USAGE;
    }
    mcsec_kms_t *kms;
    if (kcli_open(CMD, dir, pass_file, &kms) != CLI_OK) return CLI_FAIL;
    mcsec_kms_enroll_t req = {uri, role, groups, n_groups, key};
    mcsec_kms_credential_t cred;
    char code[MCSEC_BUNDLE_CODE_LEN + 1] = "";
    mcsec_status_t rc = out != NULL ? mcsec_kms_enroll_bundle(kms, &req, at, out, code, &cred)
                                    : mcsec_kms_enroll(kms, &req, &cred);
    int ret = CLI_OK;
    if (rc != MCSEC_OK) {
        cli_error(CMD, "%s", mcsec_kms_last_error());
        ret = CLI_FAIL;
    } else {
        printf("device-id: %lld\ncurve-public: %s\n", (long long)cred.device_id, cred.curve_public);
        if (out != NULL)
            printf("bundle: %s\ncode: %s\n", out, code);
        else if (cred.curve_secret[0])
            printf("curve-secret: %s\n", cred.curve_secret);
    }
    mcsec_memzero(&cred, sizeof cred);
    mcsec_memzero(code, sizeof code);
    mcsec_kms_close(kms);
    return ret;
}
