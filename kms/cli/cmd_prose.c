/* mcsec-kms prose: the ProSe roles of the KMS (include/mcsec/pkmf.h): the PKMF of
 * UE-to-network relays and the network entity of network-authorised one-to-one keying. A
 * table of subcommands, one file each (cmd_prose_*.c); `mcsec-kms serve` serves both roles. */
#include "cli.h"

int cmd_prose(int argc, char *argv[]) {
    static const cli_sub_t table[] = {
        {"authorise", cmd_prose_authorise, "let a UE receive PRUKs (--remote-ue) or use "
                                           "network-authorised direct keying (--direct)"},
        {"relay", cmd_prose_relay, "let a UE-to-network relay serve a remote UE (or every one)"},
        {"peer", cmd_prose_peer, "add a peer network entity and the UEs it serves"},
        {"push", cmd_prose_push, "push a new PRUK, or a Key Request trigger, to a remote UE"},
        {"list", cmd_prose_list, "list authorisations, relay grants, peers and remote UEs"},
        {NULL, NULL, NULL},
    };
    return cli_dispatch("prose", table, argc, argv);
}
