/* mcsec adhoc: ad-hoc groups with no network infrastructure (seed 002 6.3.1.3.3). `create` makes
 * this handset the group's manager (cmd_gmk.c, shared with `gmk create`); `join` waits on the
 * group's call channel for the GMK addressed to this handset. Calls then work as with a Group
 * Manager's GMK (mcsec talk). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "mcsec/secmem.h"

static int adhoc_create(int argc, char *argv[]) {
    return cli_gmk_create("adhoc create", 1, argc, argv);
}

#define JOIN "adhoc join"

static const char *const join_help =
    "usage: mcsec adhoc join --store DIR --group URI [--timeout SECONDS]\n"
    "                        [--passphrase-file FILE] [transport options]\n\n"
    "Listens on the group's call channel until a GMK message addressed to this handset arrives\n"
    "from the group's ad-hoc leader (`mcsec adhoc create --send`), verifies, decrypts and\n"
    "stores it. Exit 0 once stored, 1 on timeout.\n"
    "  --timeout SECONDS       how long to wait (default 60)\n";

static uint64_t mono_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Handles control datagrams until a GMK for us is stored or the deadline passes. */
static int wait_gmk(mcsec_call_t *call, mcsec_net_t *net, uint64_t deadline) {
    uint8_t *buf = malloc(MCSEC_NET_DGRAM_MAX);
    int ret = CLI_FAIL;
    if (buf == NULL) {
        cli_error(JOIN, "out of memory");
        return CLI_FAIL;
    }
    for (uint64_t now = mono_ms(); now < deadline; now = mono_ms()) {
        mcsec_net_channel_t ch;
        mcsec_call_event_t ev;
        size_t len;
        mcsec_status_t rc = mcsec_net_recv(net, (unsigned)(deadline - now), &ch, buf,
                                           MCSEC_NET_DGRAM_MAX, &len);
        if (rc == MCSEC_ERR_EXPIRED) break;
        if (rc != MCSEC_OK || ch != MCSEC_NET_CONTROL) continue;
        if (mcsec_call_handle(call, buf, len, &ev) != MCSEC_OK) continue;
        if (ev.kind == MCSEC_CALL_EV_REFUSED)
            printf("refused a datagram at the %s check: %s\n", mcsec_profile_check_name(ev.check),
                   ev.why);
        if (ev.kind == MCSEC_CALL_EV_GMK) {
            printf("stored GMK-ID %08" PRIx32 "%s\n", ev.gmk_id,
                   ev.is_new_gmk ? "" : " (already stored)");
            ret = CLI_OK;
            break;
        }
    }
    if (ret != CLI_OK)
        cli_error(JOIN, "no GMK for this handset arrived in time; is the leader sending "
                        "(`mcsec adhoc create --send`) on the same address and port?");
    free(buf);
    return ret;
}

static int adhoc_join(int argc, char *argv[]) {
    const char *store = NULL, *group = NULL, *pass = NULL, *timeout_s = NULL;
    cli_net_opts_t net_opts;
    uint64_t timeout = 60;
    mcsec_keystore_t *ks = NULL;
    mcsec_handset_t *h = NULL;
    mcsec_call_t *call = NULL;
    mcsec_net_t *net = NULL;
    int ret = CLI_USAGE;
    memset(&net_opts, 0, sizeof net_opts);
    for (int i = 1; i < argc; i++) {
        int m;
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(join_help, stdout);
            fputs(cli_net_help(), stdout);
            return CLI_OK;
        }
        if ((m = cli_net_option(JOIN, argc, argv, &i, &net_opts)) ||
            (m = cli_option(JOIN, argc, argv, &i, "--store", &store, "~/.mcsec")) ||
            (m = cli_option(JOIN, argc, argv, &i, "--group", &group, "sip:fire-3@example.org")) ||
            (m = cli_option(JOIN, argc, argv, &i, "--timeout", &timeout_s, "60")) ||
            (m = cli_option(JOIN, argc, argv, &i, "--passphrase-file", &pass, "pass.txt"))) {
            if (m < 0) return CLI_USAGE;
            continue;
        }
        return cli_bad_arg(JOIN, JOIN, argv[i]);
    }
    if (store == NULL || group == NULL || group[0] == 0) {
        cli_error(JOIN, "--store and --group are required");
        return CLI_USAGE;
    }
    if (timeout_s != NULL && (!cli_parse_u64(timeout_s, &timeout) || timeout == 0 ||
                              timeout > 86400)) {
        cli_error(JOIN, "--timeout '%s' is not a number of seconds from 1 to 86400", timeout_s);
        return CLI_USAGE;
    }
    if ((ret = cli_net_open(JOIN, &net_opts, group, &net)) != CLI_OK) goto out;
    if ((ret = cli_store_open(JOIN, store, pass, 0, &ks)) != CLI_OK) goto out;
    ret = CLI_FAIL;
    mcsec_call_config_t cfg = {.group_uri = group, .suite = MCSEC_SRTP_AEAD_AES_128_GCM};
    mcsec_status_t rc = mcsec_handset_open(&h, ks);
    if (rc == MCSEC_OK) rc = mcsec_call_new(&call, h, &cfg);
    if (rc != MCSEC_OK) {
        cli_error(JOIN, "cannot use the keystore: %s (provision it first)", mcsec_strerror(rc));
        goto out;
    }
    printf("waiting for the GMK of %s for %s on %s\n", group, mcsec_handset_uri(h),
           mcsec_net_describe(net));
    fflush(stdout);
    ret = wait_gmk(call, net, mono_ms() + timeout * 1000);
out:
    mcsec_call_free(call);
    mcsec_handset_close(h);
    mcsec_keystore_close(ks);
    mcsec_net_close(net);
    return ret;
}

int cmd_adhoc(int argc, char *argv[]) {
    static const cli_sub_t subs[] = {
        {"create", adhoc_create, "lead an ad-hoc group: send a new GMK to its members"},
        {"join", adhoc_join, "wait for an ad-hoc leader's GMK on the group's call channel"},
        {NULL, NULL, NULL},
    };
    return cli_dispatch("adhoc", subs, argc, argv);
}
