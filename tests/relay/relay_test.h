/* Shared helpers of the relay / network-keying tests: KMS directories and `mcsec-kms serve`
 * daemons from tests/integration/kms_test.h, enrolled devices as mcsec_prose_server_t
 * credentials, handset keystores, and a whole Direct Security Mode between two UEs over real
 * UDP sockets on loopback. Include after test.h. */
#ifndef MCSEC_RELAY_TEST_H
#define MCSEC_RELAY_TEST_H

#include "kms_test.h"
#include "mcsec/direct.h"
#include "mcsec/keystore.h"
#include "mcsec/pkmf.h"
#include "mcsec/prose.h"

typedef struct {
    char uri[128];
    char pub[41], sec[41];
    int64_t id;
} rt_dev_t;

static inline rt_dev_t rt_enroll(mcsec_kms_t *kms, const char *uri)
{
    mcsec_kms_enroll_t req = {uri, MCSEC_KMS_ROLE_HANDSET, NULL, 0, NULL};
    mcsec_kms_credential_t c;
    if (mcsec_kms_enroll(kms, &req, &c) != MCSEC_OK)
        kt_die("enroll");
    rt_dev_t d;
    snprintf(d.uri, sizeof d.uri, "%s", uri);
    memcpy(d.pub, c.curve_public, 41);
    memcpy(d.sec, c.curve_secret, 41);
    d.id = c.device_id;
    mcsec_memzero(&c, sizeof c);
    return d;
}

/* The server credential of device d at srv (whose CURVE public key is server_public). */
static inline mcsec_prose_server_t rt_server(const kt_server_t *srv, const char *server_public,
                                             const rt_dev_t *d)
{
    mcsec_prose_server_t s = {.endpoint = srv->endpoint, .server_public = server_public,
                              .device_public = d->pub, .device_secret = d->sec,
                              .timeout_ms = 5000, .attempts = 2};
    return s;
}

/* A fresh handset keystore (cheap scrypt), open. */
static inline mcsec_keystore_t *rt_keystore(const char *name)
{
    char dir[600];
    mcsec_keystore_t *ks = NULL;
    snprintf(dir, sizeof dir, "%s/%s", kt_tmpdir(), name);
    if (mcsec_keystore_create_with_cost(dir, KT_PASS, strlen(KT_PASS), 10, 8, 1) != MCSEC_OK ||
        mcsec_keystore_open(&ks, dir, KT_PASS, strlen(KT_PASS)) != MCSEC_OK) {
        fprintf(stderr, "setup: keystore %s: %s\n", dir, mcsec_keystore_last_error());
        exit(2);
    }
    return ks;
}

/* Two UDP endpoints on loopback connected to each other. */
typedef struct {
    mcsec_direct_udp_t *a, *b;
} rt_wire_t;

static inline void rt_wire_open(rt_wire_t *w)
{
    if (mcsec_direct_udp_open(&w->a, NULL, 0) != MCSEC_OK ||
        mcsec_direct_udp_open(&w->b, NULL, 0) != MCSEC_OK ||
        mcsec_direct_udp_connect(w->a, "127.0.0.1", mcsec_direct_udp_port(w->b)) != MCSEC_OK ||
        mcsec_direct_udp_connect(w->b, "127.0.0.1", mcsec_direct_udp_port(w->a)) != MCSEC_OK) {
        fprintf(stderr, "setup: udp: %s\n", mcsec_direct_udp_last_error());
        exit(2);
    }
}

static inline void rt_wire_close(rt_wire_t *w)
{
    mcsec_direct_udp_close(w->a);
    mcsec_direct_udp_close(w->b);
}

/* Sends msg from one end and receives it at the other. */
static inline mcsec_status_t rt_hop(mcsec_direct_udp_t *from, mcsec_direct_udp_t *to,
                                    const uint8_t *msg, size_t len, uint8_t *out, size_t cap,
                                    size_t *out_len)
{
    mcsec_status_t st = mcsec_direct_udp_send(from, msg, len);
    return st != MCSEC_OK ? st : mcsec_direct_udp_recv(to, 3000, out, cap, out_len);
}

/* The second half of Direct Security Mode once the initiator (ue) holds the DSMC in buf:
 * DSMC -> DSMP -> Accept, then one datagram each way on bearer 1. The caller has given the
 * initiator its KD (set_kd / take_dsmc). Returns the first failing status. */
static inline mcsec_status_t rt_finish(rt_wire_t *w, mcsec_direct_link_t *ue,
                                       mcsec_direct_link_t *peer, const uint8_t *dsmc,
                                       size_t dsmc_len)
{
    uint8_t m[MCSEC_DIRECT_MSG_MAX], r[MCSEC_DIRECT_MSG_MAX], d[256];
    size_t ml = 0, rl = 0;
    mcsec_direct_rx_t rx;
    mcsec_status_t st;
    if ((st = mcsec_direct_handle_dsmc(ue, dsmc, dsmc_len, m, sizeof m, &ml)) != MCSEC_OK ||
        (st = rt_hop(w->a, w->b, m, ml, r, sizeof r, &rl)) != MCSEC_OK ||
        (st = mcsec_direct_receive(peer, r, rl, d, sizeof d, &rx)) != MCSEC_OK)
        return st;
    if (rx.kind != MCSEC_DIRECT_RX_DSMP)
        return MCSEC_ERR_STRUCTURE;
    if ((st = mcsec_direct_build_accept(peer, m, sizeof m, &ml)) != MCSEC_OK ||
        (st = rt_hop(w->b, w->a, m, ml, r, sizeof r, &rl)) != MCSEC_OK ||
        (st = mcsec_direct_receive(ue, r, rl, d, sizeof d, &rx)) != MCSEC_OK)
        return st;
    if (rx.kind != MCSEC_DIRECT_RX_ACCEPT)
        return MCSEC_ERR_STRUCTURE;
    static const char up[] = "remote UE -> relay", down[] = "relay -> remote UE";
    if ((st = mcsec_direct_protect(ue, 1, (const uint8_t *)up, sizeof up, m, sizeof m, &ml)) !=
            MCSEC_OK ||
        (st = rt_hop(w->a, w->b, m, ml, r, sizeof r, &rl)) != MCSEC_OK ||
        (st = mcsec_direct_receive(peer, r, rl, d, sizeof d, &rx)) != MCSEC_OK)
        return st;
    if (rx.kind != MCSEC_DIRECT_RX_DATA || rx.len != sizeof up || memcmp(d, up, sizeof up) != 0)
        return MCSEC_ERR_VERIFY;
    if ((st = mcsec_direct_protect(peer, 1, (const uint8_t *)down, sizeof down, m, sizeof m,
                                   &ml)) != MCSEC_OK ||
        (st = rt_hop(w->b, w->a, m, ml, r, sizeof r, &rl)) != MCSEC_OK ||
        (st = mcsec_direct_receive(ue, r, rl, d, sizeof d, &rx)) != MCSEC_OK)
        return st;
    if (rx.kind != MCSEC_DIRECT_RX_DATA || rx.len != sizeof down ||
        memcmp(d, down, sizeof down) != 0)
        return MCSEC_ERR_VERIFY;
    return MCSEC_OK;
}

static inline mcsec_direct_ue_t *rt_direct_ue(const char *uri)
{
    mcsec_direct_config_t cfg = {.user_uri = uri};
    mcsec_direct_ue_t *ue = NULL;
    if (mcsec_direct_ue_new(&ue, &cfg) != MCSEC_OK)
        exit(2);
    return ue;
}

#endif
