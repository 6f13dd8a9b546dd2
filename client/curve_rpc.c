/* One request/response attempt over a fresh CURVE DEALER connection, shared by the KMS client
 * (kms_fetch.c) and the PKMF client (prose_rpc.c). A socket monitor reports a refused
 * handshake (the server's ZAP handler said no to our key), so that the caller can stop
 * retrying at once instead of timing out. Every frame received is wiped before it is
 * released: answers carry keys. */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <zmq.h>

#include "internal.h"
#include "mcsec/secmem.h"

static atomic_uint monitor_seq;

int curve_rpc_key_ok(const char *k)
{
    uint8_t raw[32];
    return k != NULL && strlen(k) == 40 && zmq_z85_decode(raw, k) != NULL;
}

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* 1 if the monitor reported that the server refused our key. */
static int auth_refused(void *mon)
{
    zmq_msg_t ev, ep;
    int refused = 0;
    zmq_msg_init(&ev);
    zmq_msg_init(&ep);
    if (zmq_msg_recv(&ev, mon, ZMQ_DONTWAIT) >= 0) {
        if (zmq_msg_more(&ev))
            (void)zmq_msg_recv(&ep, mon, ZMQ_DONTWAIT);
        if (zmq_msg_size(&ev) >= 2) {
            uint16_t event; /* the event number, in host byte order */
            memcpy(&event, zmq_msg_data(&ev), sizeof event);
            refused = event == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH;
        }
    }
    zmq_msg_close(&ev);
    zmq_msg_close(&ep);
    return refused;
}

int curve_rpc_attempt(void *ctx, const curve_rpc_peer_t *peer, const uint8_t *req, size_t len,
                      unsigned timeout_ms, curve_rpc_take_fn take, void *user, int *zmq_err)
{
    int result = CURVE_RPC_NO_ANSWER, linger = 0;
    int64_t cap = (int64_t)peer->max_response;
    char mon_ep[64];
    void *sock = zmq_socket(ctx, ZMQ_DEALER), *mon = NULL;
    *zmq_err = 0;
    snprintf(mon_ep, sizeof mon_ep, "inproc://mcsec-curve-rpc-%u",
             atomic_fetch_add(&monitor_seq, 1));
    if (sock == NULL || zmq_setsockopt(sock, ZMQ_LINGER, &linger, sizeof linger) != 0 ||
        zmq_setsockopt(sock, ZMQ_MAXMSGSIZE, &cap, sizeof cap) != 0 ||
        zmq_setsockopt(sock, ZMQ_CURVE_SERVERKEY, peer->server_public, 40) != 0 ||
        zmq_setsockopt(sock, ZMQ_CURVE_PUBLICKEY, peer->device_public, 40) != 0 ||
        zmq_setsockopt(sock, ZMQ_CURVE_SECRETKEY, peer->device_secret, 40) != 0 ||
        zmq_socket_monitor(sock, mon_ep, ZMQ_EVENT_HANDSHAKE_FAILED_AUTH) != 0 ||
        (mon = zmq_socket(ctx, ZMQ_PAIR)) == NULL ||
        zmq_setsockopt(mon, ZMQ_LINGER, &linger, sizeof linger) != 0 ||
        zmq_connect(mon, mon_ep) != 0 || zmq_connect(sock, peer->endpoint) != 0 ||
        zmq_send(sock, req, len, ZMQ_DONTWAIT) < 0) {
        *zmq_err = zmq_errno();
        goto out;
    }
    uint64_t deadline = now_ms() + timeout_ms;
    for (;;) {
        uint64_t t = now_ms();
        if (t >= deadline)
            break;
        zmq_pollitem_t items[2] = {{sock, 0, ZMQ_POLLIN, 0}, {mon, 0, ZMQ_POLLIN, 0}};
        if (zmq_poll(items, 2, (long)(deadline - t)) < 0)
            continue; /* EINTR */
        if ((items[1].revents & ZMQ_POLLIN) && auth_refused(mon)) {
            result = CURVE_RPC_REFUSED;
            goto out;
        }
        if (!(items[0].revents & ZMQ_POLLIN))
            continue;
        zmq_msg_t m;
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, sock, 0) < 0) {
            zmq_msg_close(&m);
            continue;
        }
        int more = zmq_msg_more(&m);
        int taken = more ? take(user, NULL, 0) : take(user, zmq_msg_data(&m), zmq_msg_size(&m));
        mcsec_memzero(zmq_msg_data(&m), zmq_msg_size(&m));
        zmq_msg_close(&m);
        while (more) { /* not one frame: skip the rest */
            zmq_msg_init(&m);
            more = zmq_msg_recv(&m, sock, 0) >= 0 && zmq_msg_more(&m);
            mcsec_memzero(zmq_msg_data(&m), zmq_msg_size(&m));
            zmq_msg_close(&m);
        }
        if (taken) {
            result = CURVE_RPC_ANSWERED;
            goto out;
        }
    }
out:
    if (sock != NULL) {
        (void)zmq_socket_monitor(sock, NULL, 0);
        zmq_close(sock);
    }
    if (mon != NULL)
        zmq_close(mon);
    return result;
}
