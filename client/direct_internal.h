/* Internal interfaces of the direct-link code (client/direct_*.c). Not installed; tests may
 * include it. The wire layouts are in docs/protocol.md ("Direct communication"). */
#ifndef MCSEC_DIRECT_INTERNAL_H
#define MCSEC_DIRECT_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "mcsec/direct.h"

/* Fixed parts of the messages (octets). */
#define DX_REQ_FIXED 31  /* type .. user_info_len */
#define DX_DSMC_FIXED 44 /* type .. digest */
#define DX_REJECT_LEN 19
#define DX_DSMP_LEN 11
#define DX_ACCEPT_LEN 5
#define DX_RELEASE_LEN 1
#define DX_SEEN_NONCES 8    /* Nonce_2 values a link remembers */
#define DX_WINDOW 64        /* replay window, packets */
#define DX_CTRL_COUNT_MAX 0xFFFFFFFFu /* library signalling may use every COUNT */

static inline void dx_put16(uint8_t *p, uint16_t v) {
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}
static inline void dx_put32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}
static inline uint16_t dx_get16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static inline uint32_t dx_get32(const uint8_t *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* MAC-I over a || b (direct_cipher.c): as mcsec_direct_mac with the message in two parts. */
mcsec_status_t dx_mac_parts(uint8_t alg, const uint8_t key[MCSEC_DIRECT_KEY_LEN], uint32_t count,
                            uint8_t bearer, uint8_t direction, const uint8_t *a, size_t a_len,
                            const uint8_t *b, size_t b_len, uint8_t mac[MCSEC_DIRECT_MAC_LEN]);

/* --- Codec (direct_codec.c) -------------------------------------------------------------- */

/* Encodes a request (DCR or REKEY: req->type) / a DSMC without its MAC (the MAC is appended by
 * the caller: out must leave 4 octets) / a reject. MCSEC_ERR_BAD_LENGTH if cap is too small;
 * the same field checks as the parsers (what is built parses back). */
mcsec_status_t dx_encode_request(const mcsec_direct_request_t *req, uint8_t *out, size_t cap,
                                 size_t *out_len);
mcsec_status_t dx_encode_dsmc_body(const mcsec_direct_dsmc_t *m, uint8_t *out, size_t cap,
                                   size_t *out_len);
/* Inner signalling (plaintext of a bearer-0 PDU). */
typedef struct {
    uint8_t type; /* DSMP, ACCEPT, REKEY, RELEASE, SIGNAL */
    uint32_t kd_id;      /* DSMP */
    uint16_t kd_sess_id; /* DSMP */
    uint32_t conn_id;    /* DSMP, ACCEPT */
    const uint8_t *data; /* SIGNAL: application octets; REKEY: the whole request */
    size_t len;
} dx_inner_t;
mcsec_status_t dx_inner_parse(const uint8_t *msg, size_t len, dx_inner_t *out);

/* First 16 octets of SHA-256(msg). */
mcsec_status_t dx_digest(const uint8_t *msg, size_t len, uint8_t out[MCSEC_DIRECT_DIGEST_LEN]);

/* --- Link state (direct_ue.c, direct_dsm.c, direct_data.c) -------------------------------- */

typedef struct {
    int active;
    uint16_t id;
    uint8_t enc_alg, int_alg;
    uint8_t kd_sess[MCSEC_DIRECT_KD_LEN];
    uint8_t k_sig_enc[MCSEC_DIRECT_KEY_LEN], k_sig_int[MCSEC_DIRECT_KEY_LEN],
        k_up_enc[MCSEC_DIRECT_KEY_LEN];
    uint32_t tx_next[MCSEC_DIRECT_BEARERS];  /* next COUNT to send */
    int tx_exhausted[MCSEC_DIRECT_BEARERS];  /* COUNT 0xFFFFFFFF was used */
    uint32_t rx_top[MCSEC_DIRECT_BEARERS];   /* highest COUNT accepted */
    uint64_t rx_bits[MCSEC_DIRECT_BEARERS];  /* bit i: rx_top - i accepted */
    int rx_any[MCSEC_DIRECT_BEARERS];
} dx_session_t;

typedef struct {
    uint8_t type;
    uint16_t len;
    uint8_t value[MCSEC_DIRECT_KCD_MAX];
} dx_kcd_item_t;

/* A Direct Security Mode exchange in progress. */
typedef struct {
    int active;
    int requester;           /* 1: we sent the request; 0: we answer it */
    int initial;             /* DCR (1) or rekey request (0) */
    int dsmc_sent;           /* responder: DSMC built */
    uint8_t flags;           /* request flags */
    uint32_t req_kd_id;      /* as in the request */
    uint32_t kd_id;          /* the KD ID the exchange establishes or reuses */
    int new_kd;              /* request: a new KD (MSB half only in the request) */
    int use_pend;            /* responder: the exchange uses the pending KD */
    uint8_t sess_msb, sess_lsb;
    uint8_t nonce_1[MCSEC_DIRECT_NONCE_LEN], nonce_2[MCSEC_DIRECT_NONCE_LEN];
    uint8_t offered_enc, offered_int; /* the request's supported sets */
    uint8_t enc_alg, int_alg;         /* responder: chosen */
    uint8_t digest[MCSEC_DIRECT_DIGEST_LEN];
    dx_session_t sess;                /* the session being set up (responder: after DSMC) */
} dx_exchange_t;

struct mcsec_direct_link {
    mcsec_direct_ue_t *ue;
    struct mcsec_direct_link *next;
    char peer[MCSEC_DIRECT_USER_INFO_MAX + 1];
    mcsec_direct_role_t role;
    int role_set;
    mcsec_direct_state_t state;
    int accept_due; /* responder: DSMP verified, Accept not built */
    /* KD */
    int have_kd;
    uint8_t kd[MCSEC_DIRECT_KD_LEN];
    uint32_t kd_id;
    int have_pend_kd, pend_fixed;
    uint8_t pend_kd[MCSEC_DIRECT_KD_LEN];
    uint32_t pend_kd_id; /* pend_fixed: the agreed id */
    uint16_t next_msb;
    uint8_t next_sess_msb;
    /* sessions */
    dx_session_t cur, prev;
    dx_exchange_t x;
    uint8_t seen_n2[DX_SEEN_NONCES][MCSEC_DIRECT_NONCE_LEN];
    size_t n_seen, seen_at;
    /* connection identities */
    uint32_t local_conn_id, remote_conn_id;
    /* SDES: our K1 between the request and the DSMC (secret) */
    int have_k1;
    uint8_t k1[MCSEC_PROFILE_KEY_LEN];
    int want_new_kd; /* the next request asks for a new KD that the exchange will make */
    /* key creation data for the next message we build */
    dx_kcd_item_t *kcd;
    size_t n_kcd;
    /* diagnostics */
    mcsec_direct_check_t check;
    const char *why;
    mcsec_direct_stats_t stats;
};

struct mcsec_direct_ue {
    char uri[MCSEC_DIRECT_USER_INFO_MAX + 1];
    uint8_t enc_algs, int_algs;
    uint32_t count_soft, count_hard;
    size_t max_links, n_links;
    mcsec_direct_link_t *links;
};

/* Records the check and reason on the link and returns st. */
mcsec_status_t dx_fail(mcsec_direct_link_t *link, mcsec_direct_check_t check, const char *why,
                       mcsec_status_t st);
void dx_ok(mcsec_direct_link_t *link);

/* Fresh identifiers, unique among the UE's links (direct_ue.c). */
mcsec_status_t dx_new_local_conn_id(mcsec_direct_ue_t *ue, uint32_t *out);
mcsec_status_t dx_new_kd_lsb(mcsec_direct_ue_t *ue, uint16_t msb, uint16_t *lsb);
mcsec_status_t dx_new_sess_lsb(mcsec_direct_ue_t *ue, uint8_t msb, uint8_t *lsb);
mcsec_status_t dx_new_msbs(mcsec_direct_ue_t *ue, mcsec_direct_link_t *link);
int dx_kd_id_in_use(const mcsec_direct_ue_t *ue, const mcsec_direct_link_t *except, uint32_t id);

/* Sessions (direct_data.c). */
mcsec_status_t dx_session_keys(dx_session_t *s, const uint8_t kd[MCSEC_DIRECT_KD_LEN],
                               const uint8_t n1[MCSEC_DIRECT_NONCE_LEN],
                               const uint8_t n2[MCSEC_DIRECT_NONCE_LEN], uint16_t id,
                               uint8_t enc_alg, uint8_t int_alg);
void dx_session_wipe(dx_session_t *s);
/* Our DIRECTION bit, and the peer's. */
uint8_t dx_dir_tx(const mcsec_direct_link_t *link);
uint8_t dx_dir_rx(const mcsec_direct_link_t *link);
/* Protects inner signalling / data on bearer under session s with COUNT limit `limit`. */
mcsec_status_t dx_seal(mcsec_direct_link_t *link, dx_session_t *s, uint8_t bearer,
                       const uint8_t *in, size_t len, uint32_t limit, uint8_t *out, size_t cap,
                       size_t *out_len);
/* Marks COUNT seen in s's window for bearer (after verification). */
void dx_window_mark(dx_session_t *s, uint8_t bearer, uint32_t count);
int dx_window_check(const dx_session_t *s, uint8_t bearer, uint32_t count); /* 1: fresh */

/* Exchange handling (direct_dsm.c): a rekey request taken by receive(). */
mcsec_status_t dx_take_request(mcsec_direct_link_t *link, const mcsec_direct_request_t *req,
                               const uint8_t *raw, size_t raw_len, int initial);
/* Drops an exchange we answer (the key establishment for it failed): the link goes on as it
 * was. */
void dx_exchange_abandon(mcsec_direct_link_t *link);
/* A DSMP arriving under the pending session (receive()). */
mcsec_status_t dx_handle_dsmp(mcsec_direct_link_t *link, const dx_inner_t *in);

#endif
