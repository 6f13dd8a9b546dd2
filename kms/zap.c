/* The ZAP handler of the KMS service (ZeroMQ RFC 27): which CURVE clients may connect.
 *
 * Request frames: version "1.0", request id, domain, address, routing id, mechanism,
 * credentials (CURVE: the client's 32-octet long-term public key). Reply frames: version,
 * request id, status code ("200" admit, "400" refuse, "500" store failure), status text,
 * user id (the device id in decimal), metadata (empty). The store is asked on every
 * connection, so a revocation by another process applies to the next connection at once. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zmq.h>

#include "internal.h"

#define ZAP_ENDPOINT "inproc://zeromq.zap.01"
#define ZAP_FRAMES 7
#define RECENT 64
#define RECENT_SECONDS 60

struct kms_zap {
    const mcsec_kms_t *kms;
    void *sock;
    kms_store_t *store;
    pthread_t thread;
    struct {
        char key[MCSEC_KMS_Z85_LEN + 1];
        int64_t when;
    } recent[RECENT]; /* refusals already audited */
    unsigned next;
    int64_t store_failed_said; /* when a store failure was last logged */
};

static int send_frame(void *sock, const void *data, size_t len, int more)
{
    return zmq_send(sock, data, len, more ? ZMQ_SNDMORE : 0) < 0 ? -1 : 0;
}

/* 1 if this key's refusal was audited within the last minute (else records it). */
static int recently_refused(kms_zap_t *z, const char *key)
{
    int64_t now = kms_now();
    for (unsigned i = 0; i < RECENT; i++)
        if (strcmp(z->recent[i].key, key) == 0 && now - z->recent[i].when < RECENT_SECONDS)
            return 1;
    snprintf(z->recent[z->next].key, sizeof z->recent[z->next].key, "%s", key);
    z->recent[z->next].when = now;
    z->next = (z->next + 1) % RECENT;
    return 0;
}

/* Decides one request: status code and user id. */
static const char *decide(kms_zap_t *z, const char *mechanism, const uint8_t *cred,
                          size_t cred_len, char *user_id, size_t cap, const char **text)
{
    char key[MCSEC_KMS_Z85_LEN + 1];
    mcsec_kms_device_t d;
    user_id[0] = 0;
    if (strcmp(mechanism, "CURVE") != 0 || cred_len != 32) {
        *text = "CURVE required";
        return "400";
    }
    zmq_z85_encode(key, cred, 32);
    mcsec_status_t rc = z->kms->ops->device_by_key(z->store, key, &d);
    if (rc == MCSEC_OK && !d.revoked) {
        snprintf(user_id, cap, "%lld", (long long)d.id);
        *text = "OK";
        return "200";
    }
    if (rc != MCSEC_OK && rc != MCSEC_ERR_UNKNOWN_KEY) {
        /* Every connection fails the same way until the store is repaired: said once a
         * minute. */
        int64_t now = kms_now();
        if (now - z->store_failed_said >= RECENT_SECONDS) {
            fprintf(stderr, "mcsec-kms serve: cannot check the CURVE key of a connecting "
                            "device: %s\n",
                    mcsec_kms_last_error());
            z->store_failed_said = now;
        }
        *text = "store unavailable";
        return "500";
    }
    *text = rc == MCSEC_OK ? "device revoked" : "unknown CURVE key";
    if (!recently_refused(z, key))
        (void)kms_audit(z->store, z->kms->ops, rc == MCSEC_OK ? d.id : 0, key, -1,
                        "connect-refused", rc == MCSEC_OK ? MCSEC_ERR_UNKNOWN_KEY : rc, 0, *text);
    return "400";
}

static void *zap_main(void *arg)
{
    kms_zap_t *z = arg;
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
        if (n < 6)
            ok = 0;
        if (ok) {
            char mech[32], uid[32];
            const char *text = "", *code;
            size_t ml = zmq_msg_size(&f[5]);
            snprintf(mech, sizeof mech, "%.*s", (int)(ml < 31 ? ml : 31),
                     (const char *)zmq_msg_data(&f[5]));
            code = decide(z, mech, n > 6 ? zmq_msg_data(&f[6]) : NULL,
                          n > 6 ? zmq_msg_size(&f[6]) : 0, uid, sizeof uid, &text);
            (void)(send_frame(z->sock, "1.0", 3, 1) ||
                   send_frame(z->sock, zmq_msg_data(&f[1]), zmq_msg_size(&f[1]), 1) ||
                   send_frame(z->sock, code, 3, 1) ||
                   send_frame(z->sock, text, strlen(text), 1) ||
                   send_frame(z->sock, uid, strlen(uid), 1) || send_frame(z->sock, "", 0, 0));
        } else {
            /* A malformed request from inside the process: answer so the REP socket can go on. */
            (void)(send_frame(z->sock, "1.0", 3, 1) || send_frame(z->sock, "", 0, 1) ||
                   send_frame(z->sock, "500", 3, 1) || send_frame(z->sock, "bad", 3, 1) ||
                   send_frame(z->sock, "", 0, 1) || send_frame(z->sock, "", 0, 0));
        }
        for (int i = 0; i < n; i++)
            zmq_msg_close(&f[i]);
    }
out:
    zmq_close(z->sock);
    z->sock = NULL;
    return NULL;
}

mcsec_status_t kms_zap_start(const mcsec_kms_t *kms, void *ctx, kms_zap_t **out)
{
    mcsec_status_t rc = MCSEC_ERR_NOMEM;
    kms_zap_t *z = calloc(1, sizeof *z);
    *out = NULL;
    if (z == NULL)
        return rc;
    z->kms = kms;
    if ((rc = kms_store_connect(kms, &z->store)) != MCSEC_OK)
        goto fail;
    rc = MCSEC_ERR_IO;
    int linger = 0;
    if ((z->sock = zmq_socket(ctx, ZMQ_REP)) == NULL ||
        zmq_setsockopt(z->sock, ZMQ_LINGER, &linger, sizeof linger) != 0 ||
        zmq_bind(z->sock, ZAP_ENDPOINT) != 0) {
        kms_error("cannot start the ZAP handler: %s", zmq_strerror(zmq_errno()));
        goto fail;
    }
    if (pthread_create(&z->thread, NULL, zap_main, z) != 0) {
        kms_error("cannot start the ZAP thread");
        goto fail;
    }
    *out = z;
    return MCSEC_OK;
fail:
    if (z->sock != NULL)
        zmq_close(z->sock);
    if (z->store != NULL)
        kms->ops->close(z->store);
    free(z);
    return rc;
}

void kms_zap_join(kms_zap_t *z)
{
    if (z == NULL)
        return;
    pthread_join(z->thread, NULL);
    z->kms->ops->close(z->store);
    free(z);
}
