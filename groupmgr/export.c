/* Offline export of a rekey (`rekey --out-dir DIR`): each member's I_MESSAGE as the raw
 * octets in DIR/<member-uri>.mikey, for asynchronous delivery (seed 002: "e.g. via SMS"), read
 * by `mcsec gmk receive`, named by mcsec_mikey_file_name() as `mcsec gmk create` names them. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "internal.h"
#include "mcsec/profile.h"

mcsec_status_t gm_export(const char *dir, const char *const *members, uint8_t *const *msgs,
                         const size_t *lens, size_t n)
{
    struct stat st;
    if (mkdir(dir, 0700) != 0 && (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))) {
        gm_error("--out-dir %s is not a directory and cannot be created: %s", dir,
                 strerror(errno));
        return MCSEC_ERR_IO;
    }
    for (size_t i = 0; i < n; i++) {
        char name[256], path[4096 + 256];
        if (!mcsec_mikey_file_name(members[i], name, sizeof name)) {
            gm_error("the file name for member %s is too long (255 octets with escapes and "
                     ".mikey): the messages are committed; deliver this one with `mcsec-groupmgr "
                     "serve`",
                     members[i]);
            return MCSEC_ERR_BAD_LENGTH;
        }
        snprintf(path, sizeof path, "%s/%s", dir, name);
        if (mcsec_seal_write_file(path, msgs[i], lens[i], 0600, 0) != MCSEC_OK) {
            gm_error("cannot write %s: %s", path, strerror(errno));
            return MCSEC_ERR_IO;
        }
    }
    return MCSEC_OK;
}
