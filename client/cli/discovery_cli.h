/* mcsec discovery: what cmd_discovery.c (keygen, announce, monitor) and discovery_demo.c
 * (demo) share. */
#ifndef MCSEC_DISCOVERY_CLI_H
#define MCSEC_DISCOVERY_CLI_H

#include "cli.h"
#include "mcsec/discovery.h"

/* The default multicast group is derived from this name (mcsec_net_default_group); the
 * default control port is DISC_PORT (media and RTCP ports above it stay unused). */
#define DISC_GROUP_NAME "urn:mcsec:prose-discovery"
#define DISC_PORT_DEFAULT "5100"

/* What a monitor made of one datagram, in words: "discovered", "repeat", "expired", ... */
const char *disc_outcome(mcsec_status_t rc);

/* Unix seconds now (the system clock, UTC). */
uint64_t disc_unix_now(void);

int disc_demo(int argc, char *argv[]);

#endif
