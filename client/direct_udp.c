/* A small UDP transport for direct links: one socket bound on loopback (or a given IPv4
 * address), connected to the peer so that datagrams from anyone else are dropped by the
 * kernel, with a receive timeout. */
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

#include "direct_internal.h"

struct mcsec_direct_udp {
    int fd;
    uint16_t port;
};

static _Thread_local char udp_err[256];

static void set_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void set_err(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(udp_err, sizeof udp_err, fmt, ap);
    va_end(ap);
}

const char *mcsec_direct_udp_last_error(void) { return udp_err; }

static int addr(const char *host, uint16_t port, struct sockaddr_in *sa)
{
    memset(sa, 0, sizeof *sa);
    sa->sin_family = AF_INET;
    sa->sin_port = htons(port);
    return inet_pton(AF_INET, host != NULL ? host : "127.0.0.1", &sa->sin_addr) == 1;
}

mcsec_status_t mcsec_direct_udp_open(mcsec_direct_udp_t **out, const char *host, uint16_t port)
{
    struct sockaddr_in sa;
    socklen_t sl = sizeof sa;
    if (out == NULL)
        return MCSEC_ERR_BAD_INPUT;
    *out = NULL;
    if (!addr(host, port, &sa)) {
        set_err("'%s' is not an IPv4 address; give one such as 127.0.0.1", host);
        return MCSEC_ERR_BAD_INPUT;
    }
    mcsec_direct_udp_t *u = calloc(1, sizeof *u);
    if (u == NULL)
        return MCSEC_ERR_NOMEM;
    u->fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (u->fd < 0 || bind(u->fd, (struct sockaddr *)&sa, sizeof sa) != 0 ||
        getsockname(u->fd, (struct sockaddr *)&sa, &sl) != 0) {
        set_err("cannot bind a UDP socket to %s:%u: %s; choose another port",
                host != NULL ? host : "127.0.0.1", port, strerror(errno));
        if (u->fd >= 0)
            close(u->fd);
        free(u);
        return MCSEC_ERR_IO;
    }
    u->port = ntohs(sa.sin_port);
    *out = u;
    return MCSEC_OK;
}

void mcsec_direct_udp_close(mcsec_direct_udp_t *u)
{
    if (u == NULL)
        return;
    close(u->fd);
    free(u);
}

uint16_t mcsec_direct_udp_port(const mcsec_direct_udp_t *u) { return u != NULL ? u->port : 0; }

int mcsec_direct_udp_fd(const mcsec_direct_udp_t *u) { return u != NULL ? u->fd : -1; }

mcsec_status_t mcsec_direct_udp_connect(mcsec_direct_udp_t *u, const char *host, uint16_t port)
{
    struct sockaddr_in sa;
    if (u == NULL || port == 0 || !addr(host, port, &sa))
        return MCSEC_ERR_BAD_INPUT;
    if (connect(u->fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        set_err("cannot connect a UDP socket to port %u: %s", port, strerror(errno));
        return MCSEC_ERR_IO;
    }
    return MCSEC_OK;
}

mcsec_status_t mcsec_direct_udp_send(mcsec_direct_udp_t *u, const uint8_t *msg, size_t len)
{
    if (u == NULL || msg == NULL || len == 0)
        return MCSEC_ERR_BAD_INPUT;
    ssize_t n;
    do
        n = send(u->fd, msg, len, 0);
    while (n < 0 && errno == EINTR);
    if (n < 0 || (size_t)n != len) {
        set_err("cannot send a datagram of %zu octets: %s", len, n < 0 ? strerror(errno) : "short");
        return MCSEC_ERR_IO;
    }
    return MCSEC_OK;
}

mcsec_status_t mcsec_direct_udp_recv(mcsec_direct_udp_t *u, unsigned timeout_ms, uint8_t *out,
                                     size_t cap, size_t *out_len)
{
    if (u == NULL || out == NULL || out_len == NULL)
        return MCSEC_ERR_BAD_INPUT;
    struct pollfd p = {.fd = u->fd, .events = POLLIN};
    int r;
    do
        r = poll(&p, 1, (int)timeout_ms);
    while (r < 0 && errno == EINTR);
    if (r < 0) {
        set_err("poll failed: %s", strerror(errno));
        return MCSEC_ERR_IO;
    }
    if (r == 0)
        return MCSEC_ERR_EXPIRED;
    ssize_t n;
    do
        n = recv(u->fd, out, cap, MSG_TRUNC);
    while (n < 0 && errno == EINTR);
    if (n < 0) {
        /* ECONNREFUSED: an ICMP error from an earlier send; the peer is not listening yet */
        set_err("cannot receive: %s", strerror(errno));
        return errno == ECONNREFUSED ? MCSEC_ERR_EXPIRED : MCSEC_ERR_IO;
    }
    if ((size_t)n > cap) {
        set_err("a datagram of %zd octets does not fit in %zu", n, cap);
        return MCSEC_ERR_BAD_LENGTH;
    }
    *out_len = (size_t)n;
    return MCSEC_OK;
}
