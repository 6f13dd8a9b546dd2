/* mcsec gmk receive: verifies, decrypts and stores GMK distribution messages (MIKEY-SAKKE
 * I_MESSAGEs from a Group Manager or an ad-hoc group leader). Each file is checked on its
 * own; the keystore keeps every GMK and the current one of a group is the one delivered with
 * the latest MIKEY timestamp (seed 002). A message older than what is stored for the same
 * GMK-ID never overwrites it, which makes replaying old files harmless across runs (the
 * in-memory RAND cache only covers one run). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "mcsec/client.h"
#include "mcsec/secmem.h"

#define CMD "gmk receive"
#define MSG_MAX 65536

static const char *const receive_help =
    "usage: mcsec gmk receive --store DIR [--window SECONDS] [--base64]\n"
    "                         [--passphrase-file FILE] FILE...\n\n"
    "Verifies, decrypts and stores the GMKs in the message files.\n"
    "  --window SECONDS        accept message times this far from the clock (default 300);\n"
    "                          raise it for messages delivered late (e.g. by SMS)\n"
    "  --base64                the files hold base64 text\n";

/* Stores the GMK of one opened message (mcsec_handset_store_gmk); CLI_OK or CLI_FAIL (printed). */
static int store_gmk(mcsec_keystore_t *ks, const char *file, const mcsec_gmk_result_t *g) {
    if (!g->key_params_decoded || g->key_params.group_id[0] == 0) {
        cli_error(CMD, "%s: the message names no group (no decodable key parameters with a "
                       "group id); ask its sender for a TS 33.180 message",
                  file);
        return CLI_FAIL;
    }
    int is_new = 0;
    if (mcsec_handset_store_gmk(ks, g, g->key_params.group_id, &is_new) != MCSEC_OK) {
        cli_error(CMD, "%s: %s", file, mcsec_keystore_last_error());
        return CLI_FAIL;
    }
    if (!is_new)
        printf("%s: GMK-ID %08" PRIx32 " already stored from a message as new or newer; "
               "unchanged\n",
               file, g->key_id);
    else
        printf("%s: stored GMK-ID %08" PRIx32 " for %s%s\n", file, g->key_id,
               g->key_params.group_id,
               g->group_id_bound ? "" : " (ad-hoc group: signed by a member, not the group identity)");
    return CLI_OK;
}

static int receive_one(mcsec_keystore_t *ks, mcsec_profile_receiver_t *rx, const char *file,
                       int base64, uint64_t window) {
    uint8_t *buf = NULL;
    size_t len = 0;
    mcsec_gmk_result_t g;
    int ret = CLI_FAIL;
    memset(&g, 0, sizeof g);
    if (cli_read_file(CMD, "message", file, base64 ? 2 * MSG_MAX : MSG_MAX, &buf, &len) != CLI_OK)
        return CLI_FAIL;
    if (base64 && !cli_base64_decode(buf, len, &len)) {
        cli_error(CMD, "%s is not base64 (RFC 4648, padded); drop --base64 for binary files",
                  file);
        goto out;
    }
    mcsec_status_t rc = mcsec_gmk_open(rx, buf, len, MCSEC_OPEN_EXPECT_GMK, &g);
    if (rc != MCSEC_OK) {
        if (g.check == MCSEC_CHECK_FRESHNESS)
            cli_error(CMD, "%s: its time is more than %" PRIu64 " s from this clock (stale); if "
                           "it was delivered late, raise --window",
                      file, window);
        else
            cli_error(CMD, "%s refused at the %s check: %s", file,
                      mcsec_profile_check_name(g.check), g.why[0] ? g.why : mcsec_strerror(rc));
        goto out;
    }
    ret = store_gmk(ks, file, &g);
out:
    mcsec_gmk_result_wipe(&g);
    free(buf);
    return ret;
}

int cmd_gmk_receive(int argc, char *argv[]) {
    const char *store = NULL, *pass = NULL, *window_s = NULL;
    const char **files = NULL;
    size_t n_files = 0, failed = 0;
    int base64 = 0, ret = CLI_USAGE;
    uint64_t window = MCSEC_PROFILE_WINDOW_DEFAULT;
    mcsec_keystore_t *ks = NULL;
    mcsec_profile_receiver_t *rx = NULL;
    char me[MCSEC_KEYSTORE_URI_MAX];

    if ((files = calloc((size_t)argc, sizeof *files)) == NULL) {
        cli_error(CMD, "out of memory");
        return CLI_FAIL;
    }
    for (int i = 1; i < argc; i++) {
        int m;
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(receive_help, stdout);
            ret = CLI_OK;
            goto out;
        }
        if (strcmp(argv[i], "--base64") == 0) {
            base64 = 1;
            continue;
        }
        if ((m = cli_option(CMD, argc, argv, &i, "--store", &store, "~/.mcsec")) ||
            (m = cli_option(CMD, argc, argv, &i, "--window", &window_s, "3600")) ||
            (m = cli_option(CMD, argc, argv, &i, "--passphrase-file", &pass, "pass.txt"))) {
            if (m < 0) goto out;
            continue;
        }
        if (argv[i][0] == '-') {
            ret = cli_bad_arg(CMD, CMD, argv[i]);
            goto out;
        }
        files[n_files++] = argv[i];
    }
    if (store == NULL || n_files == 0) {
        cli_error(CMD, "give --store DIR and at least one message file, e.g. mcsec gmk receive "
                       "--store ~/.mcsec alice.mikey");
        goto out;
    }
    if (window_s != NULL &&
        (!cli_parse_u64(window_s, &window) || window == 0 || window > 0xffffffffu)) {
        cli_error(CMD, "--window '%s' is not a number of seconds from 1 to 4294967295", window_s);
        goto out;
    }
    if ((ret = cli_store_open(CMD, store, pass, 0, &ks)) != CLI_OK) goto out;
    if ((ret = cli_store_receiver(CMD, ks, &rx, me)) != CLI_OK) goto out;
    mcsec_profile_receiver_set_window(rx, window);
    for (size_t i = 0; i < n_files; i++)
        if (receive_one(ks, rx, files[i], base64, window) != CLI_OK) failed++;
    ret = failed == 0 ? CLI_OK : CLI_FAIL;
    if (failed != 0 && n_files > 1)
        cli_error(CMD, "%zu of %zu messages refused (see above); the others are stored", failed,
                  n_files);
out:
    mcsec_profile_receiver_free(rx);
    mcsec_keystore_close(ks);
    free(files);
    return ret;
}
