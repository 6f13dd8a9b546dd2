/* mcsec direct demo: the two handsets' sockets on loopback and the event loop that hands each
 * datagram to its handset (mcsec_direct_handle) and sends the reply; data packets carry a
 * payload the receiver regenerates and compares octet for octet. */
#include <poll.h>
#include <stdio.h>
#include <string.h>

#include "direct_cli.h"
#include "mcsec/secmem.h"

#define POLL_MS 50

int dd_sockets(dd_run_t *r) {
    for (int i = 0; i < 2; i++) {
        dd_ue_t *u = &r->ue[i];
        /* with the bidding-down attack both would accept null confidentiality, so that the
         * stripped offer is answered and the defence (the echo check) is what stops it */
        mcsec_direct_config_t cfg = {.user_uri = u->uri};
        if (r->attack != NULL)
            cfg.enc_algs = MCSEC_DIRECT_ALG_BIT(MCSEC_DIRECT_ENC_NULL) |
                           MCSEC_DIRECT_ALG_BIT(MCSEC_DIRECT_ENC_AES_CTR);
        mcsec_status_t rc = mcsec_direct_ue_new(&u->ue, &cfg);
        if (rc == MCSEC_OK) rc = mcsec_direct_udp_open(&u->udp, NULL, 0);
        if (rc != MCSEC_OK) {
            snprintf(r->failure, sizeof r->failure, "%s: %s", u->name,
                     u->ue == NULL ? mcsec_strerror(rc) : mcsec_direct_udp_last_error());
            return CLI_FAIL;
        }
        u->keys.id = u->id;
    }
    for (int i = 0; i < 2; i++) {
        mcsec_status_t rc = mcsec_direct_udp_connect(r->ue[i].udp, NULL,
                                                     mcsec_direct_udp_port(r->ue[1 - i].udp));
        if (rc != MCSEC_OK) {
            snprintf(r->failure, sizeof r->failure, "%s", mcsec_direct_udp_last_error());
            return CLI_FAIL;
        }
    }
    return CLI_OK;
}

void dd_close(dd_run_t *r) {
    for (int i = 0; i < 2; i++) {
        dd_ue_t *u = &r->ue[i];
        mcsec_direct_ue_free(u->ue);
        mcsec_direct_identity_close(u->id);
        mcsec_keystore_close(u->ks);
        mcsec_direct_udp_close(u->udp);
        u->ue = NULL;
        u->id = NULL;
        u->ks = NULL;
        u->udp = NULL;
        u->link = NULL;
        mcsec_memzero(u->device_secret, sizeof u->device_secret);
    }
}

const char *dd_mode_name(dd_mode_t m) {
    switch (m) {
    case DD_OFFLINE: return "offline";
    case DD_NETWORK: return "network";
    case DD_SDES: return "sdes";
    }
    return "?";
}

static const char *type_name(uint8_t t) {
    switch (t) {
    case MCSEC_DIRECT_MSG_DCR: return "Direct Communication Request";
    case MCSEC_DIRECT_MSG_DSMC: return "Direct Security Mode Command";
    case MCSEC_DIRECT_MSG_REJECT: return "Reject";
    case MCSEC_DIRECT_MSG_PDU: return "protected packet";
    default: return "datagram";
    }
}

int dd_send(dd_run_t *r, dd_ue_t *u, const uint8_t *msg, size_t len) {
    uint8_t copy[MCSEC_DIRECT_MSG_MAX + 64];
    if (r->attack != NULL && u == &r->ue[0] && mcsec_direct_msg_type(msg, len) == 1 &&
        len > 28 && len <= sizeof copy) {
        /* the man in the middle strips AES-CTR from alice's offer (octet 28: supported
         * confidentiality algorithms) */
        memcpy(copy, msg, len);
        copy[28] = MCSEC_DIRECT_ALG_BIT(MCSEC_DIRECT_ENC_NULL);
        msg = copy;
        dd_progress(r, "attack: a man in the middle strips AES-CTR from %s's offer", u->name);
    }
    mcsec_status_t rc = mcsec_direct_udp_send(u->udp, msg, len);
    if (rc != MCSEC_OK) {
        snprintf(r->failure, sizeof r->failure, "%s: %s", u->name, mcsec_direct_udp_last_error());
        return CLI_FAIL;
    }
    u->sent++;
    return CLI_OK;
}

/* Payload i of the handset with tag: index (4) | tag | bearer | pattern; 40..316 octets. */
static size_t payload(uint8_t tag, uint32_t i, uint8_t bearer, uint8_t *out) {
    size_t len = 40 + (i % 70) * 4;
    out[0] = (uint8_t)(i >> 24);
    out[1] = (uint8_t)(i >> 16);
    out[2] = (uint8_t)(i >> 8);
    out[3] = (uint8_t)i;
    out[4] = tag;
    out[5] = bearer;
    for (size_t k = 6; k < len; k++) out[k] = (uint8_t)(i * 31u + k * 7u + tag);
    return len;
}

int dd_send_data(dd_run_t *r, dd_ue_t *u, unsigned n) {
    uint8_t data[DD_PAYLOAD_MAX], pkt[DD_PAYLOAD_MAX + 64];
    for (unsigned k = 0; k < n; k++) {
        uint8_t bearer = (uint8_t)(u->next_tx % MCSEC_DIRECT_BEARERS);
        size_t len = payload(u->tag, u->next_tx, bearer, data), plen = 0;
        mcsec_status_t rc = mcsec_direct_protect(u->link, bearer, data, len, pkt, sizeof pkt, &plen);
        if (rc != MCSEC_OK) {
            snprintf(r->failure, sizeof r->failure, "%s cannot protect data: %s (%s)", u->name,
                     mcsec_strerror(rc), mcsec_direct_last_why(u->link));
            return CLI_FAIL;
        }
        u->next_tx++;
        if (dd_send(r, u, pkt, plen) != CLI_OK) return CLI_FAIL;
    }
    return CLI_OK;
}

static void check_data(dd_ue_t *u, const dd_ue_t *from, const mcsec_direct_rx_t *rx,
                       const uint8_t *d) {
    uint8_t want[DD_PAYLOAD_MAX];
    if (rx->len < 6) {
        u->bad_content++;
        return;
    }
    uint32_t i = (uint32_t)d[0] << 24 | (uint32_t)d[1] << 16 | (uint32_t)d[2] << 8 | d[3];
    size_t len = payload(from->tag, i, rx->bearer, want);
    if (d[4] == from->tag && d[5] == rx->bearer && rx->len == len && memcmp(d, want, len) == 0)
        u->received++;
    else
        u->bad_content++;
}

static void handle(dd_run_t *r, int idx, const uint8_t *msg, size_t len) {
    static uint8_t data[MCSEC_DIRECT_MSG_MAX + 64], reply[MCSEC_DIRECT_MSG_MAX + 64];
    dd_ue_t *u = &r->ue[idx], *from = &r->ue[1 - idx];
    mcsec_direct_rx_t rx;
    size_t rlen = 0;
    mcsec_status_t rc = mcsec_direct_handle(u->ue, &u->keys, msg, len, &u->link, data, sizeof data,
                                            reply, sizeof reply, &rlen, &rx);
    if (rc != MCSEC_OK) {
        u->refused++;
        u->last_refusal = rc;
        snprintf(u->refusal, sizeof u->refusal, "%s refused a %s: %s (%s)", u->name,
                 type_name(mcsec_direct_msg_type(msg, len)), mcsec_strerror(rc),
                 u->link != NULL && mcsec_direct_last_why(u->link)[0]
                     ? mcsec_direct_last_why(u->link)
                     : "no link for it");
        dd_progress(r, "%s", u->refusal);
    }
    if (rlen > 0) (void)dd_send(r, u, reply, rlen);
    if (rc == MCSEC_OK && (rx.kind == MCSEC_DIRECT_RX_DATA || rx.kind == MCSEC_DIRECT_RX_SIGNAL))
        check_data(u, from, &rx, data);
    mcsec_memzero(data, rx.len < sizeof data ? rx.len : sizeof data);
}

int dd_loop(dd_run_t *r, dd_done_fn done) {
    static uint8_t buf[MCSEC_DIRECT_MSG_MAX + 64];
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    uint64_t refused = r->ue[0].refused + r->ue[1].refused;
    while (!done(r)) {
        if (r->ue[0].refused + r->ue[1].refused != refused) { /* nothing is refused in a run */
            snprintf(r->failure, sizeof r->failure, "%s",
                     r->ue[0].refusal[0] ? r->ue[0].refusal : r->ue[1].refusal);
            return CLI_FAIL;
        }
        if (demo_stop) {
            snprintf(r->failure, sizeof r->failure, "interrupted");
            return CLI_FAIL;
        }
        if (demo_ms(&start) > DD_WAIT_MS) {
            snprintf(r->failure, sizeof r->failure,
                     "no answer within %u s (a datagram lost on the loopback?)", DD_WAIT_MS / 1000);
            return CLI_FAIL;
        }
        struct pollfd p[2] = {{.fd = mcsec_direct_udp_fd(r->ue[0].udp), .events = POLLIN},
                              {.fd = mcsec_direct_udp_fd(r->ue[1].udp), .events = POLLIN}};
        if (poll(p, 2, POLL_MS) <= 0) continue;
        for (int i = 0; i < 2; i++) {
            size_t len = 0;
            if (!(p[i].revents & POLLIN)) continue;
            mcsec_status_t rc = mcsec_direct_udp_recv(r->ue[i].udp, 0, buf, sizeof buf, &len);
            if (rc == MCSEC_OK) handle(r, i, buf, len);
        }
    }
    return CLI_OK;
}
