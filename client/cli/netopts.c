/* The transport options of the call commands (mcsec talk, adhoc create, adhoc join): where the
 * group's datagrams go, multicast by default. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const char *const net_help_text =
    "  --address IP            multicast group (default: 239.255.x.y derived from the group\n"
    "                          URI), or a local unicast address to bind (then --peer)\n"
    "  --port PORT             control port (default 5000); media on PORT+2, RTCP on PORT+3\n"
    "  --interface IP          IPv4 address of the multicast interface (default 127.0.0.1)\n"
    "  --peer IP:PORT          unicast to this member's control port instead of multicast\n"
    "                          (repeat for each; up to 64)\n";

const char *cli_net_help(void) { return net_help_text; }

int cli_net_option(const char *cmd, int argc, char *argv[], int *i, cli_net_opts_t *o) {
    const char *peer = NULL;
    int m;
    if ((m = cli_option(cmd, argc, argv, i, "--peer", &peer, "127.0.0.1:5010")) != 0) {
        if (m < 0) return -1;
        if (o->n_peers == MCSEC_NET_MAX_PEERS) {
            cli_error(cmd, "at most %d --peer options; use multicast for larger groups",
                      MCSEC_NET_MAX_PEERS);
            return -1;
        }
        o->peers[o->n_peers++] = peer;
        return 1;
    }
    if ((m = cli_option(cmd, argc, argv, i, "--address", &o->address, "239.255.1.2")) ||
        (m = cli_option(cmd, argc, argv, i, "--port", &o->port_s, "5000")) ||
        (m = cli_option(cmd, argc, argv, i, "--interface", &o->interface, "127.0.0.1")))
        return m;
    return 0;
}

int cli_net_open(const char *cmd, const cli_net_opts_t *o, const char *group, mcsec_net_t **net) {
    uint64_t port = 0;
    if (o->port_s != NULL && (!cli_parse_u64(o->port_s, &port) || port == 0 || port > 65532)) {
        cli_error(cmd, "--port '%s' is not a port from 1 to 65532 (the media and RTCP ports "
                       "follow it)",
                  o->port_s);
        return CLI_USAGE;
    }
    mcsec_net_config_t cfg = {.address = o->address, .port = (uint16_t)port,
                              .interface = o->interface, .peers = o->peers,
                              .n_peers = o->n_peers, .group_uri = group};
    mcsec_status_t rc = mcsec_net_open(net, &cfg);
    if (rc == MCSEC_ERR_BAD_INPUT) {
        cli_error(cmd, "%s", mcsec_net_last_error());
        return CLI_USAGE;
    }
    if (rc != MCSEC_OK) {
        cli_error(cmd, "%s; pick another --port or check the interface", mcsec_net_last_error());
        return CLI_FAIL;
    }
    return CLI_OK;
}
