/* test_mkgsk: a talker starting a group call, for the CLI tests (until `mcsec call` exists):
 * opens the talker's keystore (passphrase from MCSEC_PASSPHRASE), takes the group's current
 * GMK and writes a GSK message (MIKEY PSK I_MESSAGE keyed by the GMK, signed with the
 * talker's ECCSI key for the current period) carrying a fresh GSK. Prints the GSK-ID.
 * usage: test_mkgsk STORE GROUP_URI OUT_FILE */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mcsec/keystore.h"
#include "mcsec/profile.h"
#include "mcsec/secmem.h"

int main(int argc, char **argv) {
    mcsec_keystore_t *ks = NULL;
    mcsec_kms_params_t kms;
    mcsec_gmk_record_t gmk;
    mcsec_keyset_t me;
    mcsec_eccsi_signer_t *signer = NULL;
    uint8_t gsk[16], msg[4096];
    uint32_t gsk_id;
    uint64_t pn;
    size_t len;
    const char *pass = getenv("MCSEC_PASSPHRASE");
    if (argc != 4 || pass == NULL) {
        fprintf(stderr, "usage: MCSEC_PASSPHRASE=... test_mkgsk STORE GROUP_URI OUT_FILE\n");
        return 2;
    }
    uint64_t now = (uint64_t)time(NULL) + 2208988800u;
    if (mcsec_init() != MCSEC_OK ||
        mcsec_keystore_open(&ks, argv[1], pass, strlen(pass)) != MCSEC_OK ||
        mcsec_keystore_get_kms(ks, &kms) != MCSEC_OK ||
        mcsec_keystore_current_gmk(ks, argv[2], now << 32, &gmk) != MCSEC_OK ||
        mcsec_key_period_no(now, kms.key_period, kms.key_period_offset, &pn) != MCSEC_OK ||
        mcsec_keystore_get_keyset(ks, pn, &me) != MCSEC_OK ||
        mcsec_eccsi_signer_new(&signer, kms.kpak, me.uid, sizeof me.uid, me.ssk, me.pvt) !=
            MCSEC_OK ||
        mcsec_random_bytes(gsk, sizeof gsk) != MCSEC_OK ||
        mcsec_random_bytes((uint8_t *)&gsk_id, sizeof gsk_id) != MCSEC_OK ||
        mcsec_gsk_build(signer, me.user_uri, me.uid, argv[2], gmk.gmk, gmk.gmk_id, gsk, gsk_id,
                        now << 32, msg, sizeof msg, &len) != MCSEC_OK) {
        fprintf(stderr, "test_mkgsk: cannot build the message: %s\n",
                mcsec_keystore_last_error());
        return 1;
    }
    FILE *f = fopen(argv[3], "wb");
    if (f == NULL || fwrite(msg, 1, len, f) != len || fclose(f) != 0) return 1;
    printf("%08x ", gsk_id);
    for (size_t i = 0; i < sizeof gsk; i++)
        printf("%02x", gsk[i]);
    printf("\n");
    mcsec_memzero(gsk, sizeof gsk);
    mcsec_memzero(&gmk, sizeof gmk);
    mcsec_memzero(&me, sizeof me);
    mcsec_eccsi_signer_free(signer);
    mcsec_keystore_close(ks);
    return 0;
}
