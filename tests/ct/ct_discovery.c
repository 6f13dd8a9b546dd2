/* Restricted discovery with the application keys secret: a monitor holding three applications
 * (keys and ProSe codes marked secret before they are added) checks an announcement of the
 * first, a code no application makes, an announcement of the second, and a repeat of the
 * first. Every in-window application is computed and compared, matched or not: no branch or
 * index may depend on which code matched. The verdict (which application matched, if any) is
 * public by design, the status and the match say it; the library declassifies only that
 * (client/discovery.c). */
#include <string.h>

#include "ct.h"
#include "mcsec/discovery.h"
#include "mcsec/secmem.h"

#define N_APPS 3
#define SLOT_S 60
#define NOW 1700000000u

void ct_discovery(void)
{
    static const char *names[N_APPS] = {"alpha", "bravo", "charlie"};
    mcsec_disc_app_t apps[N_APPS], stranger;
    uint8_t ann[N_APPS][MCSEC_DISC_MSG_LEN], other[MCSEC_DISC_MSG_LEN];
    mcsec_disc_monitor_t *mon = NULL;
    mcsec_disc_match_t m;
    memset(apps, 0, sizeof apps);
    memset(&stranger, 0, sizeof stranger);
    /* The announcers (public outputs: the announcements). */
    for (int i = 0; i < N_APPS; i++) {
        CHECK_STATUS(mcsec_disc_app_generate(&apps[i], names[i], SLOT_S), MCSEC_OK);
        CHECK_STATUS(mcsec_disc_announce(&apps[i], NOW, ann[i], NULL), MCSEC_OK);
    }
    CHECK_STATUS(mcsec_disc_app_generate(&stranger, "delta", SLOT_S), MCSEC_OK);
    CHECK_STATUS(mcsec_disc_announce(&stranger, NOW, other, NULL), MCSEC_OK);
    /* The monitor: the keys and ProSe codes are secret from here on. */
    CHECK_STATUS(mcsec_disc_monitor_new(&mon), MCSEC_OK);
    if (mon == NULL)
        goto out;
    for (int i = 0; i < N_APPS; i++) {
        CT_SECRET(apps[i].key, sizeof apps[i].key);
        CT_SECRET(apps[i].prose_code, sizeof apps[i].prose_code);
        CHECK_STATUS(mcsec_disc_monitor_add(mon, &apps[i]), MCSEC_OK);
        CHECK(ct_is_secret(apps[i].key, sizeof apps[i].key));
    }
    /* The first application's code: matched at index 0. */
    CHECK_STATUS(mcsec_disc_monitor_check(mon, ann[0], sizeof ann[0], NOW, &m), MCSEC_OK);
    CHECK(m.index == 0 && m.offset == 0 && m.slot == NOW / SLOT_S);
    /* A code none of the three makes (another application's, same slot). */
    CHECK_STATUS(mcsec_disc_monitor_check(mon, other, sizeof other, NOW, &m), MCSEC_ERR_VERIFY);
    /* The first application's code with one bit flipped. */
    ann[0][MCSEC_DISC_MSG_LEN - 1] ^= 1;
    CHECK_STATUS(mcsec_disc_monitor_check(mon, ann[0], sizeof ann[0], NOW, &m), MCSEC_ERR_VERIFY);
    ann[0][MCSEC_DISC_MSG_LEN - 1] ^= 1;
    /* The second application's code: matched at index 1, one slot later. */
    CHECK_STATUS(mcsec_disc_monitor_check(mon, ann[1], sizeof ann[1], NOW + SLOT_S, &m),
                 MCSEC_OK);
    CHECK(m.index == 1 && m.offset == -1 && strcmp(m.name, "bravo") == 0);
    /* The first again: a replay (its slot was accepted already). */
    CHECK_STATUS(mcsec_disc_monitor_check(mon, ann[0], sizeof ann[0], NOW, &m), MCSEC_ERR_REPLAY);
    CHECK(m.index == 0);
    /* The third, out of the window (three slots later): no code is computed. */
    CHECK_STATUS(mcsec_disc_monitor_check(mon, ann[2], sizeof ann[2], NOW + 3 * SLOT_S, &m),
                 MCSEC_ERR_EXPIRED);
    /* The application keys stay secret in the caller's copies. */
    for (int i = 0; i < N_APPS; i++)
        CHECK(ct_is_secret(apps[i].key, sizeof apps[i].key));
out:
    mcsec_disc_monitor_free(mon);
    mcsec_memzero(apps, sizeof apps);
    mcsec_memzero(&stranger, sizeof stranger);
}
