/* Messages as files: the name of a member's I_MESSAGE file, `<member-uri>.mikey`
 * (docs/protocol.md, "Messages as files"), shared by `mcsec gmk create` and
 * `mcsec-groupmgr rekey --out-dir` so both tools name a member's file alike. */
#include <stdio.h>
#include <string.h>

#include "mcsec/profile.h"

int mcsec_mikey_file_name(const char *uri, char *out, size_t cap) {
    static const char suffix[] = ".mikey";
    size_t n = 0;
    if (uri == NULL || uri[0] == 0 || out == NULL) return 0;
    for (size_t i = 0; uri[i] != 0; i++) {
        unsigned char c = (unsigned char)uri[i];
        int esc = c == '/' || c == '%' || c <= 0x20 || c >= 0x7f || (i == 0 && c == '.');
        if (n + (esc ? 3 : 1) >= cap) return 0;
        if (esc)
            n += (size_t)snprintf(out + n, cap - n, "%%%02X", c);
        else
            out[n++] = (char)c;
    }
    if (n + sizeof suffix > cap) return 0;
    memcpy(out + n, suffix, sizeof suffix);
    return 1;
}
