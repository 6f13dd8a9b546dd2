/* The call transport (include/mcsec/client.h): three UDP sockets (control, media, RTCP), on a
 * multicast group joined on one interface (loopback by default) or bound locally for unicast
 * to a list of peers. No server: every member sends to the group or to its peers. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/sha.h>

#include "mcsec/client.h"

#define DEFAULT_PORT 5000
#define CHANNELS 3

struct mcsec_net {
    int fd[CHANNELS];
    uint16_t port; /* control; media = port + 2, RTCP = port + 3 */
    int multicast;
    struct in_addr group; /* multicast group */
    struct sockaddr_in peers[MCSEC_NET_MAX_PEERS];
    size_t n_peers;
    unsigned next; /* round robin start for recv, so no channel starves */
    char describe[96];
};

static _Thread_local char net_err[256];

static void set_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void set_err(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(net_err, sizeof net_err, fmt, ap);
    va_end(ap);
}

const char *mcsec_net_last_error(void) { return net_err; }

void mcsec_net_default_group(const char *group_uri, char out[16]) {
    uint8_t d[SHA256_DIGEST_LENGTH];
    SHA256((const uint8_t *)group_uri, strlen(group_uri), d);
    /* 239.255.0.0/16 is the IPv4 organization-local scope (RFC 2365); avoid .0 and .255. */
    snprintf(out, 16, "239.255.%u.%u", (unsigned)d[0], 1u + d[1] % 254u);
}

static const uint16_t channel_offset[CHANNELS] = {0, 2, 3};

static int parse_peer(const char *s, struct sockaddr_in *out) {
    char host[64];
    const char *colon = strrchr(s, ':');
    unsigned long port;
    char *end;
    if (colon == NULL || (size_t)(colon - s) >= sizeof host) return 0;
    memcpy(host, s, (size_t)(colon - s));
    host[colon - s] = 0;
    port = strtoul(colon + 1, &end, 10);
    if (*end != 0 || colon[1] == 0 || port == 0 || port > 65535 - 3) return 0;
    memset(out, 0, sizeof *out);
    out->sin_family = AF_INET;
    out->sin_port = htons((uint16_t)port);
    return inet_pton(AF_INET, host, &out->sin_addr) == 1;
}

/* One socket of a channel: bound to the group (multicast, shared with the other members on
 * this host) or to the local address (unicast). */
static mcsec_status_t open_channel(mcsec_net_t *n, int ch, struct in_addr bind_addr,
                                   struct in_addr ifaddr) {
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), one = 1;
    uint16_t port = (uint16_t)(n->port + channel_offset[ch]);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port), .sin_addr = bind_addr};
    if (fd < 0) {
        set_err("cannot create a UDP socket: %s", strerror(errno));
        return MCSEC_ERR_IO;
    }
    n->fd[ch] = fd;
    if (n->multicast && setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0) goto fail;
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        set_err("cannot bind UDP port %u: %s", port, strerror(errno));
        return MCSEC_ERR_IO;
    }
    if (n->multicast) {
        struct ip_mreq mreq = {.imr_multiaddr = n->group, .imr_interface = ifaddr};
        unsigned char loop = 1, ttl = 1;
        if (setsockopt(fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &mreq, sizeof mreq) != 0 ||
            setsockopt(fd, IPPROTO_IP, IP_MULTICAST_IF, &ifaddr, sizeof ifaddr) != 0 ||
            setsockopt(fd, IPPROTO_IP, IP_MULTICAST_LOOP, &loop, sizeof loop) != 0 ||
            setsockopt(fd, IPPROTO_IP, IP_MULTICAST_TTL, &ttl, sizeof ttl) != 0)
            goto fail;
    }
    return MCSEC_OK;
fail:
    set_err("cannot join the multicast group on port %u: %s", port, strerror(errno));
    return MCSEC_ERR_IO;
}

mcsec_status_t mcsec_net_open(mcsec_net_t **out, const mcsec_net_config_t *cfg) {
    char def[16];
    struct in_addr addr = {htonl(INADDR_ANY)}, ifaddr;
    if (out == NULL || cfg == NULL || (cfg->n_peers > 0 && cfg->peers == NULL) ||
        cfg->n_peers > MCSEC_NET_MAX_PEERS || (cfg->address == NULL && cfg->n_peers == 0 &&
                                               (cfg->group_uri == NULL || !cfg->group_uri[0]))) {
        set_err("no address, peers or group given");
        return MCSEC_ERR_BAD_INPUT;
    }
    *out = NULL;
    mcsec_net_t *n = calloc(1, sizeof *n);
    if (n == NULL) return MCSEC_ERR_NOMEM;
    for (int i = 0; i < CHANNELS; i++)
        n->fd[i] = -1;
    mcsec_status_t rc = MCSEC_ERR_BAD_INPUT;
    n->port = cfg->port != 0 ? cfg->port : DEFAULT_PORT;
    const char *a = cfg->address;
    if (a == NULL && cfg->n_peers == 0) {
        mcsec_net_default_group(cfg->group_uri, def);
        a = def;
    }
    if (n->port > 65535 - 3) {
        set_err("port %u leaves no room for the media and RTCP ports above it", n->port);
        goto out;
    }
    if (a != NULL && inet_pton(AF_INET, a, &addr) != 1) {
        set_err("'%s' is not an IPv4 address", a);
        goto out;
    }
    if (inet_pton(AF_INET, cfg->interface != NULL ? cfg->interface : "127.0.0.1", &ifaddr) != 1) {
        set_err("interface '%s' is not an IPv4 address", cfg->interface);
        goto out;
    }
    /* Multicast when the address is a group; otherwise unicast from that local address to the
     * peers (none: receive only). */
    n->multicast = IN_MULTICAST(ntohl(addr.s_addr));
    if (n->multicast && cfg->n_peers > 0) {
        set_err("'%s' is a multicast group; give a local unicast --address with peers", a);
        goto out;
    }
    n->group = addr;
    for (; n->n_peers < cfg->n_peers; n->n_peers++)
        if (!parse_peer(cfg->peers[n->n_peers], &n->peers[n->n_peers])) {
            set_err("peer '%s' is not IPv4-ADDRESS:PORT", cfg->peers[n->n_peers]);
            goto out;
        }
    for (int ch = 0; ch < CHANNELS; ch++)
        if ((rc = open_channel(n, ch, addr, ifaddr)) != MCSEC_OK) goto out;
    if (n->multicast)
        snprintf(n->describe, sizeof n->describe, "multicast %s:%u", a, n->port);
    else
        snprintf(n->describe, sizeof n->describe, "unicast port %u -> %zu peer%s", n->port,
                 n->n_peers, n->n_peers == 1 ? "" : "s");
    *out = n;
    return MCSEC_OK;
out:
    mcsec_net_close(n);
    return rc;
}

void mcsec_net_close(mcsec_net_t *n) {
    if (n == NULL) return;
    for (int i = 0; i < CHANNELS; i++)
        if (n->fd[i] >= 0) close(n->fd[i]);
    free(n);
}

static int send_to(int fd, const struct sockaddr_in *to, const uint8_t *d, size_t len) {
    ssize_t r;
    do
        r = sendto(fd, d, len, 0, (const struct sockaddr *)to, sizeof *to);
    while (r < 0 && errno == EINTR);
    return r == (ssize_t)len;
}

mcsec_status_t mcsec_net_send(mcsec_net_t *n, mcsec_net_channel_t ch, const uint8_t *d,
                              size_t len) {
    if (n == NULL || (unsigned)ch >= CHANNELS || d == NULL || len == 0 || len > MCSEC_NET_DGRAM_MAX)
        return MCSEC_ERR_BAD_INPUT;
    uint16_t off = channel_offset[ch];
    if (n->multicast) {
        struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons((uint16_t)(n->port + off)),
                                 .sin_addr = n->group};
        if (!send_to(n->fd[ch], &to, d, len)) goto fail;
        return MCSEC_OK;
    }
    if (n->n_peers == 0) {
        set_err("no peers to send to (unicast without peers receives only)");
        return MCSEC_ERR_BAD_INPUT;
    }
    for (size_t i = 0; i < n->n_peers; i++) {
        struct sockaddr_in to = n->peers[i];
        to.sin_port = htons((uint16_t)(ntohs(to.sin_port) + off));
        if (!send_to(n->fd[ch], &to, d, len)) goto fail;
    }
    return MCSEC_OK;
fail:
    set_err("cannot send a datagram: %s", strerror(errno));
    return MCSEC_ERR_IO;
}

mcsec_status_t mcsec_net_recv(mcsec_net_t *n, unsigned timeout_ms, mcsec_net_channel_t *ch,
                              uint8_t *buf, size_t cap, size_t *len) {
    if (n == NULL || ch == NULL || buf == NULL || len == NULL || cap == 0)
        return MCSEC_ERR_BAD_INPUT;
    struct pollfd p[CHANNELS];
    for (int i = 0; i < CHANNELS; i++)
        p[i] = (struct pollfd){n->fd[i], POLLIN, 0};
    int r;
    do
        r = poll(p, CHANNELS, (int)timeout_ms);
    while (r < 0 && errno == EINTR);
    if (r < 0) {
        set_err("poll failed: %s", strerror(errno));
        return MCSEC_ERR_IO;
    }
    if (r == 0) return MCSEC_ERR_EXPIRED;
    for (unsigned k = 0; k < CHANNELS; k++) {
        unsigned i = (n->next + k) % CHANNELS;
        if (!(p[i].revents & POLLIN)) continue;
        n->next = (i + 1) % CHANNELS;
        ssize_t got = recv(n->fd[i], buf, cap, MSG_TRUNC);
        if (got < 0) {
            set_err("cannot receive a datagram: %s", strerror(errno));
            return MCSEC_ERR_IO;
        }
        *ch = (mcsec_net_channel_t)i;
        if ((size_t)got > cap) {
            *len = cap;
            return MCSEC_ERR_BAD_LENGTH;
        }
        *len = (size_t)got;
        return MCSEC_OK;
    }
    set_err("socket error");
    return MCSEC_ERR_IO;
}

uint16_t mcsec_net_port(const mcsec_net_t *n) { return n->port; }
const char *mcsec_net_describe(const mcsec_net_t *n) { return n->describe; }
