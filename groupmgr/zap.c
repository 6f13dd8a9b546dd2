/* The ZAP handler of the Group Manager service (ZeroMQ RFC 27).
 *
 * Members authenticate inside the protocol (a registration signed with their KMS-issued
 * identity key binds the connection's CURVE key), so any CURVE client may connect: a device
 * credential from a bundle, or a key pair made for one connection. What the handler adds is the
 * client's CURVE public key as the ZAP User-Id, so that every message the ROUTER reads carries
 * the key of its connection (zmq_msg_gets(msg, "User-Id")) as the CURVE handshake proved it.
 * Anything but CURVE is refused ("400").
 *
 * Request frames: version "1.0", request id, domain, address, routing id, mechanism,
 * credentials (CURVE: the client's 32-octet public key). Reply frames: version, request id,
 * status code, status text, user id, metadata (empty). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zmq.h>

#include "internal.h"

#define ZAP_ENDPOINT "inproc://zeromq.zap.01"
#define ZAP_FRAMES 7

struct gm_zap {
    void *sock;
    pthread_t thread;
};

static int send_frame(void *sock, const void *data, size_t len, int more)
{
    return zmq_send(sock, data, len, more ? ZMQ_SNDMORE : 0) < 0 ? -1 : 0;
}

static void *zap_main(void *arg)
{
    gm_zap_t *z = arg;
    for (;;) {
        zmq_msg_t f[ZAP_FRAMES];
        int n = 0, more = 1, ok = 1;
        while (more) {
            zmq_msg_t m;
            zmq_msg_init(&m);
            if (zmq_msg_recv(&m, z->sock, 0) < 0) {
                zmq_msg_close(&m);
                for (int i = 0; i < n; i++)
                    zmq_msg_close(&f[i]);
                goto out; /* ETERM: the service is stopping */
            }
            more = zmq_msg_more(&m);
            if (n < ZAP_FRAMES)
                f[n++] = m;
            else {
                ok = 0;
                zmq_msg_close(&m);
            }
        }
        const char *code = "400", *text = "CURVE required";
        char uid[MCSEC_GROUPMGR_Z85_LEN + 1] = "";
        if (ok && n == 7 && zmq_msg_size(&f[5]) == 5 && memcmp(zmq_msg_data(&f[5]), "CURVE", 5) == 0 &&
            zmq_msg_size(&f[6]) == 32 && zmq_z85_encode(uid, zmq_msg_data(&f[6]), 32) != NULL) {
            code = "200";
            text = "OK";
        } else {
            uid[0] = 0;
        }
        if (n >= 2)
            (void)(send_frame(z->sock, "1.0", 3, 1) ||
                   send_frame(z->sock, zmq_msg_data(&f[1]), zmq_msg_size(&f[1]), 1) ||
                   send_frame(z->sock, code, 3, 1) || send_frame(z->sock, text, strlen(text), 1) ||
                   send_frame(z->sock, uid, strlen(uid), 1) || send_frame(z->sock, "", 0, 0));
        else
            (void)(send_frame(z->sock, "1.0", 3, 1) || send_frame(z->sock, "", 0, 1) ||
                   send_frame(z->sock, "500", 3, 1) || send_frame(z->sock, "bad", 3, 1) ||
                   send_frame(z->sock, "", 0, 1) || send_frame(z->sock, "", 0, 0));
        for (int i = 0; i < n; i++)
            zmq_msg_close(&f[i]);
    }
out:
    zmq_close(z->sock);
    z->sock = NULL;
    return NULL;
}

mcsec_status_t gm_zap_start(void *ctx, gm_zap_t **out)
{
    gm_zap_t *z = calloc(1, sizeof *z);
    int linger = 0;
    *out = NULL;
    if (z == NULL)
        return MCSEC_ERR_NOMEM;
    if ((z->sock = zmq_socket(ctx, ZMQ_REP)) == NULL ||
        zmq_setsockopt(z->sock, ZMQ_LINGER, &linger, sizeof linger) != 0 ||
        zmq_bind(z->sock, ZAP_ENDPOINT) != 0) {
        gm_error("cannot start the ZAP handler: %s", zmq_strerror(zmq_errno()));
        goto fail;
    }
    if (pthread_create(&z->thread, NULL, zap_main, z) != 0) {
        gm_error("cannot start the ZAP thread");
        goto fail;
    }
    *out = z;
    return MCSEC_OK;
fail:
    if (z->sock != NULL)
        zmq_close(z->sock);
    free(z);
    return MCSEC_ERR_IO;
}

void gm_zap_join(gm_zap_t *z)
{
    if (z == NULL)
        return;
    pthread_join(z->thread, NULL);
    free(z);
}
