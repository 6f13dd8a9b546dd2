/* mcsec-kms prose peer: a peer network entity (network-authorised one-to-one keying). */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "mcsec/pkmf.h"

#define CMD "prose peer"

static void usage(FILE *f) {
    fprintf(f, "usage: mcsec-kms prose peer --dir DIR --uri PEER_URI --endpoint tcp://HOST:PORT\n"
               "                            --key CURVE_PUBLIC --serves URI_SUFFIX\n"
               "                            [--passphrase-file FILE]\n\n"
               "This entity asks the peer (at its endpoint, with its CURVE public key as printed\n"
               "by its `mcsec-kms init`) for keying material when one of our UEs wants a key with\n"
               "a UE whose URI ends with URI_SUFFIX (e.g. @b.example.org). The peer's key is\n"
               "enrolled here as a device named PEER_URI, so the peer can call this entity too.\n");
}

int cmd_prose_peer(int argc, char *argv[]) {
    const char *dir = NULL, *uri = NULL, *endpoint = NULL, *key = NULL, *serves = NULL,
               *pass_file = NULL;
    int r;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0) {
            usage(stdout);
            return CLI_OK;
        }
        OPT("--dir", dir, "/var/lib/mcsec-kms")
        OPT("--uri", uri, "entity-b.example.org")
        OPT("--endpoint", endpoint, "tcp://10.0.0.2:7001")
        OPT("--key", key, "<40 Z85 characters>")
        OPT("--serves", serves, "@b.example.org")
        OPT("--passphrase-file", pass_file, "/etc/mcsec/kms.pass")
        return kcli_unknown(CMD, argv[i]);
    }
    if (!kcli_required(CMD, "--dir", dir, "/var/lib/mcsec-kms") ||
        !kcli_required(CMD, "--uri", uri, "entity-b.example.org") ||
        !kcli_required(CMD, "--endpoint", endpoint, "tcp://10.0.0.2:7001") ||
        !kcli_required(CMD, "--key", key, "<40 Z85 characters>") ||
        !kcli_required(CMD, "--serves", serves, "@b.example.org"))
        return CLI_USAGE;
    mcsec_kms_t *kms;
    if (kcli_open(CMD, dir, pass_file, &kms) != CLI_OK) return CLI_FAIL;
    mcsec_status_t rc = mcsec_pkmf_peer_add(kms, uri, endpoint, key, serves);
    if (rc != MCSEC_OK)
        cli_error(CMD, "%s", mcsec_kms_last_error()[0] ? mcsec_kms_last_error() : mcsec_strerror(rc));
    else
        printf("peer %s at %s serves *%s\n", uri, endpoint, serves);
    mcsec_kms_close(kms);
    return rc == MCSEC_OK ? CLI_OK : CLI_FAIL;
}
