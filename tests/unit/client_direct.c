/* Direct-link security (include/mcsec/direct.h): known answers for the primitives, the key
 * hierarchy and the packet layout (tests/vectors/direct.txt), the message codecs (round trips
 * and every malformed class with its exact status), the Direct Security Mode state machine
 * between two UEs in memory (establishment, data both ways, both kinds of rekeying, release,
 * resumption by connection identity, refusals) and the replay window. Full flows over UDP with
 * MIKEY-SAKKE keying are in tests/direct/. */
#define _GNU_SOURCE /* memmem */
#include "test.h"

#include "direct_internal.h"
#include "mcsec/direct.h"
#include "mcsec/secmem.h"

#define CAP (MCSEC_DIRECT_MSG_MAX + 64)

static uint8_t m1[CAP], m2[CAP], m3[CAP], pt[CAP];

static uint32_t hexu32(const char *text, const char *key)
{
    uint8_t b[4];
    size_t n = test_vector(text, key, b, sizeof b);
    uint32_t v = 0;
    for (size_t i = 0; i < n; i++)
        v = v << 8 | b[i];
    return v;
}

/* --- Known answers ------------------------------------------------------------------------- */

static void t_primitives(const char *text)
{
    printf("128-EIA2 / 128-EEA2 framing (TS 33.401 Annex C)\n");
    uint8_t key[16], msg[64], want[64], got[64];
    CHECK(test_vector(text, "eia2_key", key, sizeof key) == 16);
    size_t n = test_vector(text, "eia2_msg", msg, sizeof msg);
    CHECK(test_vector(text, "eia2_mac", want, sizeof want) == 4);
    CHECK_STATUS(mcsec_direct_mac(MCSEC_DIRECT_INT_AES_CMAC, key, hexu32(text, "eia2_count"),
                                  (uint8_t)hexu32(text, "eia2_bearer"),
                                  (uint8_t)hexu32(text, "eia2_direction"), msg, n, got),
                 MCSEC_OK);
    CHECK_MEM(got, want, 4);
    CHECK(test_vector(text, "eea2_key", key, sizeof key) == 16);
    n = test_vector(text, "eea2_pt", msg, sizeof msg);
    CHECK(test_vector(text, "eea2_ct", want, sizeof want) == n);
    CHECK_STATUS(mcsec_direct_cipher(MCSEC_DIRECT_ENC_AES_CTR, key, hexu32(text, "eea2_count"),
                                     (uint8_t)hexu32(text, "eea2_bearer"),
                                     (uint8_t)hexu32(text, "eea2_direction"), msg, n, got),
                 MCSEC_OK);
    CHECK_MEM(got, want, n);
    /* in place, and back */
    CHECK_STATUS(mcsec_direct_cipher(MCSEC_DIRECT_ENC_AES_CTR, key, hexu32(text, "eea2_count"),
                                     (uint8_t)hexu32(text, "eea2_bearer"),
                                     (uint8_t)hexu32(text, "eea2_direction"), got, n, got),
                 MCSEC_OK);
    CHECK_MEM(got, msg, n);
    /* null confidentiality copies; null integrity is refused; unknown algorithms */
    CHECK_STATUS(mcsec_direct_cipher(MCSEC_DIRECT_ENC_NULL, NULL, 1, 1, 0, msg, n, got), MCSEC_OK);
    CHECK_MEM(got, msg, n);
    CHECK_STATUS(mcsec_direct_mac(MCSEC_DIRECT_INT_NULL, key, 0, 0, 0, msg, n, got),
                 MCSEC_ERR_POLICY);
    CHECK_STATUS(mcsec_direct_mac(1, key, 0, 0, 0, msg, n, got), MCSEC_ERR_UNSUPPORTED);
    CHECK_STATUS(mcsec_direct_cipher(1, key, 0, 0, 0, msg, n, got), MCSEC_ERR_UNSUPPORTED);
    CHECK_STATUS(mcsec_direct_cipher(2, key, 0, 32, 0, msg, n, got), MCSEC_ERR_BAD_INPUT);
    CHECK_STATUS(mcsec_direct_mac(2, key, 0, 0, 2, msg, n, got), MCSEC_ERR_BAD_INPUT);
    /* each framing input changes the MAC */
    uint8_t a[4], b[4];
    CHECK_STATUS(mcsec_direct_mac(2, key, 5, 0, 0, msg, 8, a), MCSEC_OK);
    CHECK_STATUS(mcsec_direct_mac(2, key, 5, 0, 1, msg, 8, b), MCSEC_OK);
    CHECK(memcmp(a, b, 4) != 0);
    CHECK_STATUS(mcsec_direct_mac(2, key, 5, 1, 0, msg, 8, b), MCSEC_OK);
    CHECK(memcmp(a, b, 4) != 0);
    CHECK_STATUS(mcsec_direct_mac(2, key, 6, 0, 0, msg, 8, b), MCSEC_OK);
    CHECK(memcmp(a, b, 4) != 0);
}

static void t_keys(const char *text)
{
    printf("key hierarchy (independently computed)\n");
    uint8_t kd[32], n1[16], n2[16], want[32], got[32], k[16];
    CHECK(test_vector(text, "kd", kd, sizeof kd) == 32);
    CHECK(test_vector(text, "nonce_1", n1, sizeof n1) == 16);
    CHECK(test_vector(text, "nonce_2", n2, sizeof n2) == 16);
    CHECK(test_vector(text, "kd_sess", want, sizeof want) == 32);
    CHECK_STATUS(mcsec_direct_kd_sess(kd, n1, n2, got), MCSEC_OK);
    CHECK_MEM(got, want, 32);
    uint8_t ks[32];
    memcpy(ks, got, 32);
    static const struct {
        const char *name;
        uint8_t dist, alg;
    } keys[] = {{"k_sig_enc_2", MCSEC_DIRECT_KEY_SIG_ENC, 2},
                {"k_sig_int_2", MCSEC_DIRECT_KEY_SIG_INT, 2},
                {"k_up_enc_2", MCSEC_DIRECT_KEY_UP_ENC, 2},
                {"k_sig_enc_0", MCSEC_DIRECT_KEY_SIG_ENC, 0}};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        CHECK(test_vector(text, keys[i].name, want, sizeof want) == 16);
        CHECK_STATUS(mcsec_direct_alg_key(ks, keys[i].dist, keys[i].alg, k), MCSEC_OK);
        CHECK_MEM(k, want, 16);
    }
    CHECK_STATUS(mcsec_direct_alg_key(ks, 0, 2, k), MCSEC_ERR_BAD_INPUT);
    CHECK_STATUS(mcsec_direct_alg_key(ks, 4, 2, k), MCSEC_ERR_BAD_INPUT);
    /* swapping the nonces gives another KD-sess */
    CHECK_STATUS(mcsec_direct_kd_sess(kd, n2, n1, got), MCSEC_OK);
    CHECK(memcmp(got, ks, 32) != 0);

    uint8_t pck[16], k1[16], k2[16];
    CHECK(test_vector(text, "pck", pck, sizeof pck) == 16);
    CHECK(test_vector(text, "kd_mikey_1abc", want, sizeof want) == 32);
    CHECK_STATUS(mcsec_direct_kd_from_mikey(pck, 16, 0x1abc, got), MCSEC_OK);
    CHECK_MEM(got, want, 32);
    CHECK_STATUS(mcsec_direct_kd_from_mikey(pck, 16, 0, got), MCSEC_ERR_BAD_INPUT);
    CHECK(test_vector(text, "k1", k1, sizeof k1) == 16);
    CHECK(test_vector(text, "k2", k2, sizeof k2) == 16);
    CHECK(test_vector(text, "kd_k1k2", want, sizeof want) == 32);
    CHECK_STATUS(mcsec_direct_kd_from_k1k2(k1, 16, k2, 16, got), MCSEC_OK);
    CHECK_MEM(got, want, 32);
    CHECK_STATUS(mcsec_direct_kd_from_k1k2(k2, 16, k1, 16, got), MCSEC_OK);
    CHECK(memcmp(got, want, 32) != 0); /* K1 and K2 have distinct roles */

    /* KDF framing limits */
    mcsec_direct_param_t big = {pt, 70000};
    CHECK_STATUS(mcsec_direct_kdf(kd, 32, 0x70, &big, 1, got), MCSEC_ERR_BAD_INPUT);
    mcsec_direct_param_t longp = {pt, 2000};
    CHECK_STATUS(mcsec_direct_kdf(kd, 32, 0x70, &longp, 1, got), MCSEC_ERR_BAD_LENGTH);
    CHECK_STATUS(mcsec_direct_kdf(NULL, 32, 0x70, NULL, 0, got), MCSEC_ERR_BAD_INPUT);
    CHECK_STATUS(mcsec_direct_kdf(kd, 32, 0x70, NULL, 0, got), MCSEC_OK); /* FC alone */
}

/* A UE with one link whose current session is the vector session (KD-sess ID 5a01). */
static mcsec_direct_ue_t *vector_link(const char *text, mcsec_direct_role_t role,
                                      mcsec_direct_link_t **l)
{
    mcsec_direct_config_t cfg = {.user_uri = "sip:vector@example.org"};
    mcsec_direct_ue_t *ue = NULL;
    uint8_t kd[32], n1[16], n2[16];
    CHECK_STATUS(mcsec_direct_ue_new(&ue, &cfg), MCSEC_OK);
    CHECK_STATUS(mcsec_direct_link_new(ue, "sip:peer@example.org", l), MCSEC_OK);
    test_vector(text, "kd", kd, sizeof kd);
    test_vector(text, "nonce_1", n1, sizeof n1);
    test_vector(text, "nonce_2", n2, sizeof n2);
    CHECK_STATUS(dx_session_keys(&(*l)->cur, kd, n1, n2, 0x5a01, 2, 2), MCSEC_OK);
    (*l)->role = role;
    (*l)->state = MCSEC_DIRECT_S_ESTABLISHED;
    return ue;
}

static void t_packets(const char *text)
{
    printf("protected packet layout (independently computed)\n");
    uint8_t want[64];
    size_t len = 0, n;
    mcsec_direct_link_t *tx = NULL, *rxl = NULL;
    mcsec_direct_ue_t *a = vector_link(text, MCSEC_DIRECT_INITIATOR, &tx);
    mcsec_direct_ue_t *b = vector_link(text, MCSEC_DIRECT_RESPONDER, &rxl);
    tx->cur.tx_next[0] = 5;
    n = test_vector(text, "pdu_sig", want, sizeof want);
    CHECK_STATUS(mcsec_direct_protect(tx, 0, (const uint8_t *)"hello", 5, m1, CAP, &len),
                 MCSEC_OK);
    CHECK(len == n);
    CHECK_MEM(m1, want, n);
    mcsec_direct_rx_t rx;
    CHECK_STATUS(mcsec_direct_receive(rxl, m1, len, pt, CAP, &rx), MCSEC_OK);
    CHECK(rx.kind == MCSEC_DIRECT_RX_SIGNAL && rx.len == 5 && memcmp(pt, "hello", 5) == 0 &&
          rx.count == 5 && rx.bearer == 0);
    /* the responder's user plane packet, opened by the initiator */
    rxl->cur.tx_next[1] = 7;
    n = test_vector(text, "pdu_up", want, sizeof want);
    CHECK_STATUS(mcsec_direct_protect(rxl, 1, (const uint8_t *)"user data", 9, m1, CAP, &len),
                 MCSEC_OK);
    CHECK(len == n);
    CHECK_MEM(m1, want, n);
    CHECK_STATUS(mcsec_direct_receive(tx, m1, len, pt, CAP, &rx), MCSEC_OK);
    CHECK(rx.kind == MCSEC_DIRECT_RX_DATA && rx.len == 9 && memcmp(pt, "user data", 9) == 0);
    /* a packet reflected back to its sender does not verify (DIRECTION) */
    CHECK_STATUS(mcsec_direct_protect(tx, 0, (const uint8_t *)"hello", 5, m1, CAP, &len),
                 MCSEC_OK);
    CHECK_STATUS(mcsec_direct_receive(tx, m1, len, pt, CAP, &rx), MCSEC_ERR_VERIFY);
    CHECK(mcsec_direct_last_check(tx) == MCSEC_DIRECT_CHECK_MAC);
    mcsec_direct_ue_free(a);
    mcsec_direct_ue_free(b);
}

/* --- Codecs -------------------------------------------------------------------------------- */

/* Every proper prefix of a message must be TRUNCATED. */
typedef mcsec_status_t (*parse_fn)(const uint8_t *, size_t, void *);
static mcsec_status_t p_dcr(const uint8_t *m, size_t l, void *o) { return mcsec_direct_dcr_parse(m, l, o); }
static mcsec_status_t p_rekey(const uint8_t *m, size_t l, void *o) { return mcsec_direct_rekey_parse(m, l, o); }
static mcsec_status_t p_dsmc(const uint8_t *m, size_t l, void *o) { return mcsec_direct_dsmc_parse(m, l, o); }
static mcsec_status_t p_reject(const uint8_t *m, size_t l, void *o) { return mcsec_direct_reject_parse(m, l, o); }

static void prefixes(parse_fn f, const uint8_t *m, size_t len, void *o, const char *what)
{
    size_t bad = 0;
    for (size_t i = 0; i < len; i++) {
        mcsec_status_t rc = f(m, i, o);
        if (rc != MCSEC_ERR_TRUNCATED && bad++ < 3)
            fprintf(stderr, "  %s prefix of %zu octets: %s\n", what, i, mcsec_strerror(rc));
    }
    CHECK(bad == 0);
    uint8_t *more = malloc(len + 1);
    memcpy(more, m, len);
    more[len] = 0;
    CHECK_STATUS(f(more, len + 1, o), MCSEC_ERR_TRAILING_DATA);
    free(more);
}

static size_t req_encode(const mcsec_direct_request_t *r, uint8_t *out)
{
    size_t len = 0;
    CHECK_STATUS(dx_encode_request(r, out, CAP, &len), MCSEC_OK);
    return len;
}

static void t_request_codec(void)
{
    printf("DCR / rekey request codec\n");
    static const uint8_t kmsg[300] = {1, 2, 3};
    mcsec_direct_request_t r, p;
    memset(&r, 0, sizeof r);
    r.type = MCSEC_DIRECT_MSG_DCR;
    r.kd_id = 0x1abc0000;
    r.kd_sess_id_msb = 0x42;
    memset(r.nonce, 0x5a, sizeof r.nonce);
    r.enc_algs = 0x05;
    r.int_algs = 0x04;
    r.user_info = (const uint8_t *)"sip:alice@example.org";
    r.user_info_len = strlen("sip:alice@example.org");
    r.n_kcd = 2;
    r.kcd[0] = (mcsec_direct_kcd_t){MCSEC_DIRECT_KCD_MIKEY_SAKKE, kmsg, sizeof kmsg};
    r.kcd[1] = (mcsec_direct_kcd_t){0x80, NULL, 0};
    size_t len = req_encode(&r, m1);
    CHECK(len == DX_REQ_FIXED + r.user_info_len + 1 + 3 + sizeof kmsg + 3);
    CHECK_STATUS(mcsec_direct_dcr_parse(m1, len, &p), MCSEC_OK);
    CHECK(p.type == r.type && p.flags == 0 && p.conn_id == 0 && p.kd_id == r.kd_id &&
          p.kd_sess_id_msb == 0x42 && memcmp(p.nonce, r.nonce, 16) == 0 && p.enc_algs == 5 &&
          p.int_algs == 4 && p.user_info_len == r.user_info_len &&
          memcmp(p.user_info, r.user_info, p.user_info_len) == 0 && p.n_kcd == 2 &&
          p.kcd[0].type == 1 && p.kcd[0].len == sizeof kmsg &&
          memcmp(p.kcd[0].value, kmsg, sizeof kmsg) == 0 && p.kcd[1].type == 0x80 &&
          p.kcd[1].len == 0);
    CHECK(mcsec_direct_kcd_find(p.kcd, p.n_kcd, 0x80) == &p.kcd[1]);
    CHECK(mcsec_direct_kcd_find(p.kcd, p.n_kcd, 7) == NULL);
    CHECK(mcsec_direct_msg_type(m1, len) == MCSEC_DIRECT_MSG_DCR);
    CHECK(mcsec_direct_msg_type(m1, 0) == 0);
    prefixes(p_dcr, m1, len, &p, "DCR");
    /* a rekey request is not a DCR and vice versa */
    CHECK_STATUS(mcsec_direct_rekey_parse(m1, len, &p), MCSEC_ERR_BAD_INPUT);

    /* field classes, each on a fresh encoding */
    uint8_t *b = m2;
    memcpy(b, m1, len);
    b[1] = 2;
    CHECK_STATUS(mcsec_direct_dcr_parse(b, len, &p), MCSEC_ERR_UNSUPPORTED);
    memcpy(b, m1, len);
    b[2] = 0x02; /* FRESH_KD is a rekey flag */
    CHECK_STATUS(mcsec_direct_dcr_parse(b, len, &p), MCSEC_ERR_BAD_INPUT);
    memcpy(b, m1, len);
    b[2] = 0x80;
    CHECK_STATUS(mcsec_direct_dcr_parse(b, len, &p), MCSEC_ERR_BAD_INPUT);
    memcpy(b, m1, len);
    b[10] = 1; /* a new KD names only its MSB half */
    CHECK_STATUS(mcsec_direct_dcr_parse(b, len, &p), MCSEC_ERR_BAD_INPUT);
    memcpy(b, m1, len);
    b[7] = b[8] = 0; /* no MSB half */
    CHECK_STATUS(mcsec_direct_dcr_parse(b, len, &p), MCSEC_ERR_BAD_INPUT);
    memcpy(b, m1, len);
    b[11] = 0; /* KD-sess ID MSB */
    CHECK_STATUS(mcsec_direct_dcr_parse(b, len, &p), MCSEC_ERR_BAD_INPUT);
    memcpy(b, m1, len);
    b[28] = 0; /* nothing offered */
    CHECK_STATUS(mcsec_direct_dcr_parse(b, len, &p), MCSEC_ERR_BAD_INPUT);
    memcpy(b, m1, len);
    b[29] = 0;
    CHECK_STATUS(mcsec_direct_dcr_parse(b, len, &p), MCSEC_ERR_BAD_INPUT);
    memcpy(b, m1, len);
    b[DX_REQ_FIXED + 3] = 0; /* NUL inside the user info */
    CHECK_STATUS(mcsec_direct_dcr_parse(b, len, &p), MCSEC_ERR_BAD_INPUT);
    /* key creation data classes */
    size_t kat = DX_REQ_FIXED + r.user_info_len; /* the item count */
    memcpy(b, m1, len);
    b[kat] = 5;
    CHECK_STATUS(mcsec_direct_dcr_parse(b, len, &p), MCSEC_ERR_STRUCTURE);
    memcpy(b, m1, len);
    b[kat + 1] = 0; /* reserved item type */
    CHECK_STATUS(mcsec_direct_dcr_parse(b, len, &p), MCSEC_ERR_STRUCTURE);
    memcpy(b, m1, len);
    b[kat + 1] = 0xFF;
    CHECK_STATUS(mcsec_direct_dcr_parse(b, len, &p), MCSEC_ERR_STRUCTURE);
    memcpy(b, m1, len);
    b[kat + 1 + 3 + sizeof kmsg] = 1; /* the second item repeats the first's type */
    CHECK_STATUS(mcsec_direct_dcr_parse(b, len, &p), MCSEC_ERR_STRUCTURE);
    memcpy(b, m1, len);
    b[kat + 2] = 0x10; /* 4097+ octets */
    b[kat + 3] = 0x01;
    CHECK_STATUS(mcsec_direct_dcr_parse(b, len, &p), MCSEC_ERR_BAD_LENGTH);
    memcpy(b, m1, len);
    b[kat + 3] = (uint8_t)(sizeof kmsg + 1); /* runs past the end */
    CHECK_STATUS(mcsec_direct_dcr_parse(b, len, &p), MCSEC_ERR_TRUNCATED);
    b[0] = 0x03;
    CHECK_STATUS(mcsec_direct_dcr_parse(b, len, &p), MCSEC_ERR_BAD_INPUT);
    /* neither a connection identity nor a user info: who asks? */
    mcsec_direct_request_t q = r;
    q.user_info_len = 0;
    CHECK_STATUS(dx_encode_request(&q, m2, CAP, &len), MCSEC_ERR_BAD_INPUT);
    q.conn_id = 77; /* resumption: fine without */
    len = req_encode(&q, m2);
    CHECK_STATUS(mcsec_direct_dcr_parse(m2, len, &p), MCSEC_OK);
    CHECK(p.conn_id == 77 && p.user_info_len == 0);
    q.flags = MCSEC_DIRECT_DCR_EXISTING_KD;
    q.kd_id = 0;
    CHECK_STATUS(dx_encode_request(&q, m2, CAP, &len), MCSEC_ERR_BAD_INPUT);
    q.kd_id = 0x1abc0042; /* a whole id */
    len = req_encode(&q, m2);
    CHECK_STATUS(mcsec_direct_dcr_parse(m2, len, &p), MCSEC_OK);
    CHECK(p.kd_id == 0x1abc0042 && p.flags == MCSEC_DIRECT_DCR_EXISTING_KD);
    /* encoder refusals mirror the parser's */
    q = r;
    q.n_kcd = 5;
    CHECK_STATUS(dx_encode_request(&q, m2, CAP, &len), MCSEC_ERR_STRUCTURE);
    q.n_kcd = 2;
    q.kcd[1].type = 1;
    CHECK_STATUS(dx_encode_request(&q, m2, CAP, &len), MCSEC_ERR_STRUCTURE);
    q = r;
    q.kcd[0].len = MCSEC_DIRECT_KCD_MAX + 1;
    CHECK_STATUS(dx_encode_request(&q, m2, CAP, &len), MCSEC_ERR_BAD_LENGTH);
    CHECK_STATUS(dx_encode_request(&r, m2, 40, &len), MCSEC_ERR_BAD_LENGTH);

    /* rekey requests */
    q = r;
    q.type = MCSEC_DIRECT_MSG_REKEY;
    q.user_info_len = 0;
    q.n_kcd = 0;
    q.flags = MCSEC_DIRECT_REKEY_FRESH_KD;
    len = req_encode(&q, m2);
    CHECK_STATUS(mcsec_direct_rekey_parse(m2, len, &p), MCSEC_OK);
    CHECK(p.type == MCSEC_DIRECT_MSG_REKEY && p.flags == MCSEC_DIRECT_REKEY_FRESH_KD);
    prefixes(p_rekey, m2, len, &p, "rekey");
    memcpy(b = m3, m2, len);
    b[6] = 9; /* a connection identity in a rekey request */
    CHECK_STATUS(mcsec_direct_rekey_parse(b, len, &p), MCSEC_ERR_BAD_INPUT);
    q.flags = 0;
    q.kd_id = 0x1abc0042; /* same KD: the whole id */
    len = req_encode(&q, m2);
    CHECK_STATUS(mcsec_direct_rekey_parse(m2, len, &p), MCSEC_OK);
    q.user_info_len = 3;
    CHECK_STATUS(dx_encode_request(&q, m2, CAP, &len), MCSEC_ERR_BAD_INPUT);
}

static void t_dsmc_codec(void)
{
    printf("DSMC / Reject / PDU codec\n");
    static const uint8_t param[16] = {9, 9, 9};
    mcsec_direct_dsmc_t d, p;
    size_t len = 0;
    memset(&d, 0, sizeof d);
    d.kd_id = 0x1abc0042;
    d.kd_sess_id = 0x4217;
    memset(d.nonce, 0x6b, sizeof d.nonce);
    d.enc_alg = 2;
    d.int_alg = 2;
    d.echo_enc_algs = 5;
    d.echo_int_algs = 4;
    memset(d.digest, 0xd1, sizeof d.digest);
    d.n_kcd = 1;
    d.kcd[0] = (mcsec_direct_kcd_t){MCSEC_DIRECT_KCD_KD_PARAM, param, sizeof param};
    CHECK_STATUS(dx_encode_dsmc_body(&d, m1, CAP, &len), MCSEC_OK);
    CHECK(len == DX_DSMC_FIXED + 1 + 3 + sizeof param);
    memcpy(m1 + len, "\xde\xad\xbe\xef", 4);
    len += 4;
    CHECK_STATUS(mcsec_direct_dsmc_parse(m1, len, &p), MCSEC_OK);
    CHECK(p.kd_id == d.kd_id && p.kd_sess_id == d.kd_sess_id &&
          memcmp(p.nonce, d.nonce, 16) == 0 && p.enc_alg == 2 && p.int_alg == 2 &&
          p.echo_enc_algs == 5 && p.echo_int_algs == 4 && memcmp(p.digest, d.digest, 16) == 0 &&
          p.n_kcd == 1 && p.kcd[0].type == MCSEC_DIRECT_KCD_KD_PARAM &&
          p.kcd[0].len == sizeof param && memcmp(p.mac, "\xde\xad\xbe\xef", 4) == 0);
    prefixes(p_dsmc, m1, len, &p, "DSMC");
    static const struct {
        size_t at;
        uint8_t v;
        mcsec_status_t want;
    } bad[] = {
        {0, 0x01, MCSEC_ERR_BAD_INPUT},  {1, 0x02, MCSEC_ERR_UNSUPPORTED},
        {6, 0x00, MCSEC_ERR_BAD_INPUT},  /* KD-sess ID MSB */
        {7, 0x00, MCSEC_ERR_BAD_INPUT},  /* KD-sess ID LSB */
        {24, 8, MCSEC_ERR_BAD_INPUT},    /* chosen algorithm out of range */
        {25, 9, MCSEC_ERR_BAD_INPUT},    {26, 0, MCSEC_ERR_BAD_INPUT}, /* echo empty */
        {27, 0, MCSEC_ERR_BAD_INPUT},    {44, 5, MCSEC_ERR_STRUCTURE}, /* items */
        {45, 0, MCSEC_ERR_STRUCTURE},    {46, 0x20, MCSEC_ERR_BAD_LENGTH},
        {47, 30, MCSEC_ERR_TRUNCATED},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        memcpy(m2, m1, len);
        m2[bad[i].at] = bad[i].v;
        mcsec_status_t rc = mcsec_direct_dsmc_parse(m2, len, &p);
        if (rc != bad[i].want)
            fprintf(stderr, "  DSMC octet %zu = %u: %s\n", bad[i].at, bad[i].v,
                    mcsec_strerror(rc));
        CHECK(rc == bad[i].want);
    }
    memcpy(m2, m1, len);
    memset(m2 + 2, 0, 4); /* KD ID 0 */
    CHECK_STATUS(mcsec_direct_dsmc_parse(m2, len, &p), MCSEC_ERR_BAD_INPUT);
    CHECK_STATUS(dx_encode_dsmc_body(&d, m2, 50, &len), MCSEC_ERR_BAD_LENGTH);
    d.kd_sess_id = 0x4200;
    CHECK_STATUS(dx_encode_dsmc_body(&d, m2, CAP, &len), MCSEC_ERR_BAD_INPUT);

    /* Reject */
    mcsec_direct_request_t r;
    mcsec_direct_reject_t j;
    memset(&r, 0, sizeof r);
    memset(r.nonce, 0x77, 16);
    CHECK_STATUS(mcsec_direct_build_reject(&r, MCSEC_DIRECT_CAUSE_UNKNOWN_CONN_ID, m1, CAP, &len),
                 MCSEC_OK);
    CHECK(len == DX_REJECT_LEN);
    CHECK_STATUS(mcsec_direct_reject_parse(m1, len, &j), MCSEC_OK);
    CHECK(j.cause == MCSEC_DIRECT_CAUSE_UNKNOWN_CONN_ID && memcmp(j.nonce, r.nonce, 16) == 0);
    prefixes(p_reject, m1, len, &j, "Reject");
    m1[2] = 0;
    CHECK_STATUS(mcsec_direct_reject_parse(m1, len, &j), MCSEC_ERR_BAD_INPUT);
    m1[2] = 7;
    CHECK_STATUS(mcsec_direct_reject_parse(m1, len, &j), MCSEC_ERR_BAD_INPUT);
    CHECK_STATUS(mcsec_direct_build_reject(&r, 0, m1, CAP, &len), MCSEC_ERR_BAD_INPUT);
    CHECK_STATUS(mcsec_direct_build_reject(&r, 1, m1, 10, &len), MCSEC_ERR_BAD_LENGTH);

    /* PDU header */
    mcsec_direct_pdu_t u;
    static const uint8_t pdu[] = {0x10, 0x42, 0x17, 0x00, 0, 0, 0, 9, 0xaa, 1, 2, 3, 4};
    CHECK_STATUS(mcsec_direct_pdu_parse(pdu, sizeof pdu, &u), MCSEC_OK);
    CHECK(u.kd_sess_id == 0x4217 && u.bearer == 0 && u.count == 9 && u.body == pdu + 8 &&
          u.body_len == 5);
    CHECK_STATUS(mcsec_direct_pdu_parse(pdu, sizeof pdu - 1, &u), MCSEC_ERR_TRUNCATED);
    CHECK_STATUS(mcsec_direct_pdu_parse(pdu, 7, &u), MCSEC_ERR_TRUNCATED);
    CHECK_STATUS(mcsec_direct_pdu_parse(pdu, 0, &u), MCSEC_ERR_TRUNCATED);
    memcpy(m2, pdu, sizeof pdu);
    m2[3] = 1; /* user plane: any body length */
    CHECK_STATUS(mcsec_direct_pdu_parse(m2, 8, &u), MCSEC_OK);
    m2[3] = MCSEC_DIRECT_BEARERS;
    CHECK_STATUS(mcsec_direct_pdu_parse(m2, sizeof pdu, &u), MCSEC_ERR_BAD_INPUT);
    memcpy(m2, pdu, sizeof pdu);
    m2[1] = m2[2] = 0;
    CHECK_STATUS(mcsec_direct_pdu_parse(m2, sizeof pdu, &u), MCSEC_ERR_BAD_INPUT);
    m2[0] = 0x11;
    CHECK_STATUS(mcsec_direct_pdu_parse(m2, sizeof pdu, &u), MCSEC_ERR_BAD_INPUT);

    /* inner signalling */
    dx_inner_t in;
    static const uint8_t dsmp[DX_DSMP_LEN] = {3, 0x1a, 0xbc, 0, 0x42, 0x42, 0x17, 0, 0, 0, 5};
    CHECK_STATUS(dx_inner_parse(dsmp, sizeof dsmp, &in), MCSEC_OK);
    CHECK(in.type == 3 && in.kd_id == 0x1abc0042 && in.kd_sess_id == 0x4217 && in.conn_id == 5);
    CHECK_STATUS(dx_inner_parse(dsmp, sizeof dsmp - 1, &in), MCSEC_ERR_TRUNCATED);
    CHECK_STATUS(dx_inner_parse((const uint8_t *)"\x04\0\0\0\0", 5, &in), MCSEC_ERR_BAD_INPUT);
    CHECK_STATUS(dx_inner_parse((const uint8_t *)"\x07\x01", 2, &in), MCSEC_ERR_TRAILING_DATA);
    CHECK_STATUS(dx_inner_parse((const uint8_t *)"\x09", 1, &in), MCSEC_ERR_BAD_INPUT);
}

/* --- State machine in memory ------------------------------------------------------------------ */

typedef struct {
    mcsec_direct_ue_t *ue;
    mcsec_direct_link_t *l;
} side_t;

static void side_new(side_t *s, const char *uri, uint8_t enc, uint32_t soft, uint32_t hard)
{
    mcsec_direct_config_t cfg = {
        .user_uri = uri, .enc_algs = enc, .count_soft = soft, .count_hard = hard};
    memset(s, 0, sizeof *s);
    CHECK_STATUS(mcsec_direct_ue_new(&s->ue, &cfg), MCSEC_OK);
}

static const uint8_t KD1[32] = {1, 2, 3, 4, 5, 6, 7, 8};
static const uint8_t KD2[32] = {8, 7, 6, 5, 4, 3, 2, 1};

/* a -> b: one message through receive; returns the kind. */
static mcsec_direct_rx_kind_t deliver(side_t *b, const uint8_t *m, size_t len)
{
    mcsec_direct_rx_t rx;
    mcsec_status_t rc = mcsec_direct_receive(b->l, m, len, pt, CAP, &rx);
    if (rc != MCSEC_OK)
        fprintf(stderr, "  receive: %s (%s: %s)\n", mcsec_strerror(rc),
                mcsec_direct_check_name(mcsec_direct_last_check(b->l)),
                mcsec_direct_last_why(b->l));
    CHECK_STATUS(rc, MCSEC_OK);
    return rx.kind;
}

/* A establishes a link with B (B's link found by connection identity when resuming). */
static void establish(side_t *a, side_t *b, const uint8_t *kd_a, const uint8_t *kd_b)
{
    size_t l1 = 0, l2 = 0, l3 = 0;
    mcsec_direct_request_t req;
    if (kd_a != NULL)
        CHECK_STATUS(mcsec_direct_set_kd(a->l, kd_a), MCSEC_OK);
    CHECK_STATUS(mcsec_direct_build_dcr(a->l, m1, CAP, &l1), MCSEC_OK);
    CHECK(mcsec_direct_state(a->l) == MCSEC_DIRECT_S_DCR_SENT);
    CHECK_STATUS(mcsec_direct_dcr_parse(m1, l1, &req), MCSEC_OK);
    if (req.conn_id != 0) {
        mcsec_direct_link_t *found = NULL;
        CHECK_STATUS(mcsec_direct_link_by_conn_id(b->ue, req.conn_id, &found), MCSEC_OK);
        CHECK(found == b->l);
        CHECK(req.user_info_len == 0); /* resumption hides the identity */
    } else if (b->l == NULL) {
        CHECK_STATUS(mcsec_direct_link_new(b->ue, "", &b->l), MCSEC_OK);
    }
    CHECK_STATUS(mcsec_direct_respond_begin(b->l, m1, l1), MCSEC_OK);
    CHECK(mcsec_direct_state(b->l) == MCSEC_DIRECT_S_RESPONDING);
    if (kd_b != NULL)
        CHECK_STATUS(mcsec_direct_set_kd(b->l, kd_b), MCSEC_OK);
    CHECK_STATUS(mcsec_direct_build_dsmc(b->l, m2, CAP, &l2), MCSEC_OK);
    CHECK_STATUS(mcsec_direct_handle_dsmc(a->l, m2, l2, m3, CAP, &l3), MCSEC_OK);
    CHECK(mcsec_direct_state(a->l) == MCSEC_DIRECT_S_DSMP_SENT);
    CHECK(deliver(b, m3, l3) == MCSEC_DIRECT_RX_DSMP);
    CHECK_STATUS(mcsec_direct_build_accept(b->l, m1, CAP, &l1), MCSEC_OK);
    CHECK(deliver(a, m1, l1) == MCSEC_DIRECT_RX_ACCEPT);
    CHECK(mcsec_direct_state(a->l) == MCSEC_DIRECT_S_ESTABLISHED &&
          mcsec_direct_state(b->l) == MCSEC_DIRECT_S_ESTABLISHED);
    CHECK(mcsec_direct_kd_sess_id(a->l) == mcsec_direct_kd_sess_id(b->l) &&
          mcsec_direct_kd_sess_id(a->l) != 0);
    CHECK(mcsec_direct_kd_id(a->l) == mcsec_direct_kd_id(b->l) && mcsec_direct_kd_id(a->l) != 0);
    CHECK(mcsec_direct_remote_conn_id(a->l) == mcsec_direct_local_conn_id(b->l) &&
          mcsec_direct_remote_conn_id(b->l) == mcsec_direct_local_conn_id(a->l) &&
          mcsec_direct_local_conn_id(a->l) != 0 && mcsec_direct_local_conn_id(b->l) != 0);
}

/* Data both ways on bearer 0 and 1; checks content. */
static void exchange_data(side_t *a, side_t *b, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        char msg[64];
        size_t len = 0;
        mcsec_direct_rx_t rx;
        int ml = snprintf(msg, sizeof msg, "message %u", i);
        side_t *from = i % 2 ? b : a, *to = i % 2 ? a : b;
        uint8_t bearer = (uint8_t)(i % 3 == 0 ? 0 : 1 + i % 3);
        CHECK_STATUS(mcsec_direct_protect(from->l, bearer, (const uint8_t *)msg, (size_t)ml, m1,
                                          CAP, &len),
                     MCSEC_OK);
        CHECK(memmem(m1, len, msg, (size_t)ml) == NULL); /* ciphered */
        CHECK_STATUS(mcsec_direct_receive(to->l, m1, len, pt, CAP, &rx), MCSEC_OK);
        CHECK(rx.kind == (bearer ? MCSEC_DIRECT_RX_DATA : MCSEC_DIRECT_RX_SIGNAL) &&
              rx.bearer == bearer && rx.len == (size_t)ml && memcmp(pt, msg, (size_t)ml) == 0);
    }
}

static void t_flow(void)
{
    printf("state machine: establish, data, rekey, release, resume\n");
    side_t a, b;
    size_t l1 = 0, l2 = 0, l3 = 0;
    side_new(&a, "sip:alice@example.org", 0, 0, 0);
    side_new(&b, "sip:bob@example.org", 0, 0, 0);
    CHECK_STATUS(mcsec_direct_link_new(a.ue, "sip:bob@example.org", &a.l), MCSEC_OK);
    CHECK((mcsec_direct_kd_id_msb(a.l) >> 12) == MCSEC_PURPOSE_PCK);
    establish(&a, &b, KD1, KD1);
    CHECK(strcmp(mcsec_direct_peer(b.l), "sip:alice@example.org") == 0);
    CHECK(mcsec_direct_role(a.l) == MCSEC_DIRECT_INITIATOR &&
          mcsec_direct_role(b.l) == MCSEC_DIRECT_RESPONDER);
    uint8_t enc = 9, integ = 9;
    mcsec_direct_algs(a.l, &enc, &integ);
    CHECK(enc == MCSEC_DIRECT_ENC_AES_CTR && integ == MCSEC_DIRECT_INT_AES_CMAC);
    exchange_data(&a, &b, 12);
    uint32_t kd_id = mcsec_direct_kd_id(a.l);
    uint16_t sess = mcsec_direct_kd_sess_id(a.l);

    /* rekey with fresh nonces, asked by the responder: same KD, new KD-sess */
    mcsec_direct_rx_t rx;
    CHECK_STATUS(mcsec_direct_protect(a.l, 1, (const uint8_t *)"in flight", 9, m3, CAP, &l3),
                 MCSEC_OK);
    CHECK_STATUS(mcsec_direct_build_rekey(b.l, 0, m1, CAP, &l1), MCSEC_OK);
    CHECK_STATUS(mcsec_direct_receive(a.l, m1, l1, pt, CAP, &rx), MCSEC_OK);
    CHECK(rx.kind == MCSEC_DIRECT_RX_REKEY && rx.request.flags == 0 &&
          rx.request.kd_id == kd_id);
    CHECK_STATUS(mcsec_direct_build_dsmc(a.l, m2, CAP, &l2), MCSEC_OK);
    CHECK_STATUS(mcsec_direct_handle_dsmc(b.l, m2, l2, m1, CAP, &l1), MCSEC_OK);
    /* the old-session packet still opens at b (kept until a's first new-session packet) */
    CHECK_STATUS(mcsec_direct_receive(b.l, m3, l3, pt, CAP, &rx), MCSEC_OK);
    CHECK(rx.len == 9 && memcmp(pt, "in flight", 9) == 0);
    CHECK(deliver(&a, m1, l1) == MCSEC_DIRECT_RX_DSMP);
    CHECK(mcsec_direct_kd_id(a.l) == kd_id && mcsec_direct_kd_sess_id(a.l) != sess &&
          mcsec_direct_kd_sess_id(a.l) == mcsec_direct_kd_sess_id(b.l));
    exchange_data(&a, &b, 6);
    /* the old session is gone at both ends now */
    CHECK_STATUS(mcsec_direct_receive(b.l, m3, l3, pt, CAP, &rx), MCSEC_ERR_UNKNOWN_KEY);
    CHECK(mcsec_direct_last_check(b.l) == MCSEC_DIRECT_CHECK_KEY);

    /* rekey with a fresh KD, asked by the initiator */
    CHECK_STATUS(mcsec_direct_set_kd(a.l, KD2), MCSEC_OK);
    CHECK_STATUS(mcsec_direct_add_kcd(a.l, 0x80, (const uint8_t *)"new key", 7), MCSEC_OK);
    CHECK_STATUS(mcsec_direct_build_rekey(a.l, 1, m1, CAP, &l1), MCSEC_OK);
    CHECK_STATUS(mcsec_direct_receive(b.l, m1, l1, pt, CAP, &rx), MCSEC_OK);
    CHECK(rx.kind == MCSEC_DIRECT_RX_REKEY && rx.request.flags == MCSEC_DIRECT_REKEY_FRESH_KD &&
          rx.request.n_kcd == 1 && rx.request.kcd[0].len == 7 &&
          memcmp(rx.request.kcd[0].value, "new key", 7) == 0);
    /* without the new KD the DSMC cannot be built */
    CHECK_STATUS(mcsec_direct_build_dsmc(b.l, m2, CAP, &l2), MCSEC_ERR_UNKNOWN_KEY);
    CHECK_STATUS(mcsec_direct_set_kd(b.l, KD2), MCSEC_OK);
    CHECK_STATUS(mcsec_direct_build_dsmc(b.l, m2, CAP, &l2), MCSEC_OK);
    CHECK_STATUS(mcsec_direct_handle_dsmc(a.l, m2, l2, m1, CAP, &l1), MCSEC_OK);
    CHECK(deliver(&b, m1, l1) == MCSEC_DIRECT_RX_DSMP);
    uint32_t kd_id2 = mcsec_direct_kd_id(a.l);
    CHECK(kd_id2 != kd_id && kd_id2 == mcsec_direct_kd_id(b.l));
    CHECK(memcmp(a.l->kd, KD2, 32) == 0 && memcmp(b.l->kd, KD2, 32) == 0);
    exchange_data(&a, &b, 6);
    /* the DSMC of that rekey, replayed: refused as a replay */
    CHECK_STATUS(mcsec_direct_handle_dsmc(a.l, m2, l2, m1, CAP, &l1), MCSEC_ERR_REPLAY);
    CHECK(mcsec_direct_last_check(a.l) == MCSEC_DIRECT_CHECK_REPLAY);
    mcsec_direct_stats_t st;
    mcsec_direct_stats(a.l, &st);
    CHECK(st.sessions == 3 && st.kds == 2 && st.tx_packets > 0 && st.rx_packets > 0);

    /* release, then resume by connection identity with the stored KD */
    uint32_t b_conn = mcsec_direct_local_conn_id(b.l), a_conn = mcsec_direct_local_conn_id(a.l);
    CHECK_STATUS(mcsec_direct_build_release(a.l, m1, CAP, &l1), MCSEC_OK);
    CHECK(mcsec_direct_state(a.l) == MCSEC_DIRECT_S_IDLE);
    CHECK(deliver(&b, m1, l1) == MCSEC_DIRECT_RX_RELEASE);
    CHECK(mcsec_direct_state(b.l) == MCSEC_DIRECT_S_IDLE);
    CHECK_STATUS(mcsec_direct_protect(a.l, 1, (const uint8_t *)"x", 1, m1, CAP, &l1),
                 MCSEC_ERR_STRUCTURE);
    establish(&a, &b, NULL, NULL);
    CHECK(mcsec_direct_kd_id(a.l) == kd_id2); /* same KD, new session */
    CHECK(mcsec_direct_local_conn_id(b.l) != b_conn && mcsec_direct_local_conn_id(a.l) != a_conn);
    exchange_data(&a, &b, 4);
    /* the retired connection identity is unknown now */
    mcsec_direct_link_t *found = NULL;
    CHECK_STATUS(mcsec_direct_link_by_conn_id(b.ue, b_conn, &found), MCSEC_ERR_UNKNOWN_KEY);
    CHECK_STATUS(mcsec_direct_link_by_peer(a.ue, "sip:bob@example.org", &found), MCSEC_OK);
    CHECK(found == a.l);
    CHECK_STATUS(mcsec_direct_link_by_kd_sess_id(b.ue, mcsec_direct_kd_sess_id(b.l), &found),
                 MCSEC_OK);
    CHECK(found == b.l);

    /* roles may swap on re-establishment: b resumes towards a */
    CHECK_STATUS(mcsec_direct_build_release(b.l, m1, CAP, &l1), MCSEC_OK);
    CHECK(deliver(&a, m1, l1) == MCSEC_DIRECT_RX_RELEASE);
    establish(&b, &a, NULL, NULL);
    CHECK(mcsec_direct_role(b.l) == MCSEC_DIRECT_INITIATOR);
    exchange_data(&b, &a, 4);

    mcsec_direct_link_forget(a.ue, a.l);
    mcsec_direct_ue_free(a.ue);
    mcsec_direct_ue_free(b.ue);
}

static void t_refusals(void)
{
    printf("state machine refusals\n");
    side_t a, b, c;
    size_t l1 = 0, l2 = 0, l3 = 0;
    mcsec_direct_rx_t rx;
    mcsec_direct_request_t req;
    side_new(&a, "sip:alice@example.org", 0, 0, 0);
    side_new(&b, "sip:bob@example.org", 0, 0, 0);
    CHECK_STATUS(mcsec_direct_link_new(a.ue, "sip:bob@example.org", &a.l), MCSEC_OK);
    CHECK_STATUS(mcsec_direct_link_new(b.ue, "", &b.l), MCSEC_OK);

    /* out of order */
    CHECK_STATUS(mcsec_direct_build_dsmc(b.l, m1, CAP, &l1), MCSEC_ERR_STRUCTURE);
    CHECK(mcsec_direct_last_check(b.l) == MCSEC_DIRECT_CHECK_STATE);
    CHECK_STATUS(mcsec_direct_build_accept(b.l, m1, CAP, &l1), MCSEC_ERR_STRUCTURE);
    CHECK_STATUS(mcsec_direct_build_rekey(a.l, 0, m1, CAP, &l1), MCSEC_ERR_STRUCTURE);
    CHECK_STATUS(mcsec_direct_build_release(a.l, m1, CAP, &l1), MCSEC_ERR_STRUCTURE);
    CHECK_STATUS(mcsec_direct_protect(a.l, 0, (const uint8_t *)"x", 1, m1, CAP, &l1),
                 MCSEC_ERR_STRUCTURE);

    /* wrong KD: the responder holds another one */
    CHECK_STATUS(mcsec_direct_set_kd(a.l, KD1), MCSEC_OK);
    CHECK_STATUS(mcsec_direct_build_dcr(a.l, m1, CAP, &l1), MCSEC_OK);
    CHECK_STATUS(mcsec_direct_respond_begin(b.l, m1, l1), MCSEC_OK);
    CHECK_STATUS(mcsec_direct_set_kd(b.l, KD2), MCSEC_OK);
    CHECK_STATUS(mcsec_direct_build_dsmc(b.l, m2, CAP, &l2), MCSEC_OK);
    CHECK_STATUS(mcsec_direct_handle_dsmc(a.l, m2, l2, m3, CAP, &l3), MCSEC_ERR_VERIFY);
    CHECK(mcsec_direct_last_check(a.l) == MCSEC_DIRECT_CHECK_MAC);
    CHECK(mcsec_direct_state(a.l) == MCSEC_DIRECT_S_DCR_SENT); /* still waiting */
    /* the genuine DSMC still passes after a refused one */
    CHECK_STATUS(mcsec_direct_respond_begin(b.l, m1, l1), MCSEC_OK);
    CHECK_STATUS(mcsec_direct_set_kd(b.l, KD1), MCSEC_OK);
    CHECK_STATUS(mcsec_direct_build_dsmc(b.l, m2, CAP, &l2), MCSEC_OK);
    /* every single-octet change of the DSMC is refused */
    size_t bad = 0;
    for (size_t i = 0; i < l2; i++) {
        memcpy(pt, m2, l2);
        pt[i] ^= 0x01;
        mcsec_status_t rc = mcsec_direct_handle_dsmc(a.l, pt, l2, m3, CAP, &l3);
        if (rc == MCSEC_OK && bad++ < 3)
            fprintf(stderr, "  DSMC with octet %zu changed was accepted\n", i);
    }
    CHECK(bad == 0);
    /* chosen algorithm not offered: refused before the MAC */
    memcpy(pt, m2, l2);
    pt[24] = 1; /* an EEA1-like algorithm we never offer */
    CHECK_STATUS(mcsec_direct_handle_dsmc(a.l, pt, l2, m3, CAP, &l3), MCSEC_ERR_POLICY);
    CHECK(mcsec_direct_last_check(a.l) == MCSEC_DIRECT_CHECK_ALGS);
    pt[24] = 2;
    pt[25] = 0; /* null integrity */
    CHECK_STATUS(mcsec_direct_handle_dsmc(a.l, pt, l2, m3, CAP, &l3), MCSEC_ERR_POLICY);
    /* the DSMC names another KD */
    memcpy(pt, m2, l2);
    pt[2] ^= 0x40;
    CHECK_STATUS(mcsec_direct_handle_dsmc(a.l, pt, l2, m3, CAP, &l3), MCSEC_ERR_UNKNOWN_KEY);
    CHECK(mcsec_direct_last_check(a.l) == MCSEC_DIRECT_CHECK_KEY);
    CHECK_STATUS(mcsec_direct_handle_dsmc(a.l, m2, l2, m3, CAP, &l3), MCSEC_OK);
    /* a replayed DSMC after the exchange */
    CHECK_STATUS(mcsec_direct_handle_dsmc(a.l, m2, l2, m1, CAP, &l1), MCSEC_ERR_REPLAY);
    /* a DSMP replayed / tampered */
    memcpy(pt, m3, l3);
    pt[l3 - 1] ^= 1;
    CHECK_STATUS(mcsec_direct_receive(b.l, pt, l3, m1, CAP, &rx), MCSEC_ERR_VERIFY);
    CHECK(mcsec_direct_last_check(b.l) == MCSEC_DIRECT_CHECK_MAC);
    CHECK(deliver(&b, m3, l3) == MCSEC_DIRECT_RX_DSMP);
    CHECK_STATUS(mcsec_direct_receive(b.l, m3, l3, m1, CAP, &rx), MCSEC_ERR_REPLAY);
    CHECK_STATUS(mcsec_direct_build_accept(b.l, m1, CAP, &l1), MCSEC_OK);
    CHECK(deliver(&a, m1, l1) == MCSEC_DIRECT_RX_ACCEPT);
    CHECK_STATUS(mcsec_direct_build_accept(b.l, m1, CAP, &l1), MCSEC_ERR_STRUCTURE);
    /* a DCR while established */
    CHECK_STATUS(mcsec_direct_build_dcr(a.l, m1, CAP, &l1), MCSEC_ERR_STRUCTURE);

    /* data: tampered signalling -> VERIFY; replay -> REPLAY; window */
    CHECK_STATUS(mcsec_direct_protect(a.l, 0, (const uint8_t *)"sig", 3, m1, CAP, &l1), MCSEC_OK);
    memcpy(pt, m1, l1);
    pt[9] ^= 0x20;
    CHECK_STATUS(mcsec_direct_receive(b.l, pt, l1, m2, CAP, &rx), MCSEC_ERR_VERIFY);
    memcpy(pt, m1, l1);
    pt[5] ^= 0x01; /* the COUNT is covered too */
    CHECK_STATUS(mcsec_direct_receive(b.l, pt, l1, m2, CAP, &rx), MCSEC_ERR_VERIFY);
    CHECK_STATUS(mcsec_direct_receive(b.l, m1, l1, m2, CAP, &rx), MCSEC_OK);
    CHECK_STATUS(mcsec_direct_receive(b.l, m1, l1, m2, CAP, &rx), MCSEC_ERR_REPLAY);
    CHECK(mcsec_direct_last_check(b.l) == MCSEC_DIRECT_CHECK_REPLAY);
    /* user plane: no integrity (seed 000 5.5.3): a flipped bit flips the plaintext */
    CHECK_STATUS(mcsec_direct_protect(a.l, 2, (const uint8_t *)"user", 4, m1, CAP, &l1), MCSEC_OK);
    memcpy(pt, m1, l1);
    pt[8] ^= 0x01;
    CHECK_STATUS(mcsec_direct_receive(b.l, pt, l1, m2, CAP, &rx), MCSEC_OK);
    CHECK(rx.len == 4 && m2[0] == ('u' ^ 1) && memcmp(m2 + 1, "ser", 3) == 0);
    CHECK_STATUS(mcsec_direct_receive(b.l, m1, l1, m2, CAP, &rx), MCSEC_ERR_REPLAY);
    /* out of order within the window, and beyond it */
    static uint8_t held[70][64];
    size_t hl[70];
    for (int i = 0; i < 70; i++)
        CHECK_STATUS(mcsec_direct_protect(a.l, 3, (const uint8_t *)"w", 1, held[i], 64, &hl[i]),
                     MCSEC_OK);
    CHECK_STATUS(mcsec_direct_receive(b.l, held[69], hl[69], m2, CAP, &rx), MCSEC_OK);
    CHECK_STATUS(mcsec_direct_receive(b.l, held[10], hl[10], m2, CAP, &rx), MCSEC_OK);
    CHECK_STATUS(mcsec_direct_receive(b.l, held[5], hl[5], m2, CAP, &rx), MCSEC_ERR_REPLAY);
    CHECK_STATUS(mcsec_direct_receive(b.l, held[10], hl[10], m2, CAP, &rx), MCSEC_ERR_REPLAY);
    CHECK_STATUS(mcsec_direct_receive(b.l, held[68], hl[68], m2, CAP, &rx), MCSEC_OK);
    /* a packet for an unknown session */
    memcpy(pt, held[0], hl[0]);
    pt[1] ^= 0xFF;
    CHECK_STATUS(mcsec_direct_receive(b.l, pt, hl[0], m2, CAP, &rx), MCSEC_ERR_UNKNOWN_KEY);
    CHECK_STATUS(mcsec_direct_receive(b.l, held[0], 3, m2, CAP, &rx), MCSEC_ERR_TRUNCATED);
    CHECK(mcsec_direct_last_check(b.l) == MCSEC_DIRECT_CHECK_PARSE);
    CHECK_STATUS(mcsec_direct_receive(b.l, held[20], hl[20], m2, 0, &rx), MCSEC_ERR_BAD_LENGTH);

    /* unknown connection identity: the responder's lookup fails, the Reject says so */
    CHECK_STATUS(mcsec_direct_build_release(a.l, m1, CAP, &l1), MCSEC_OK);
    CHECK(deliver(&b, m1, l1) == MCSEC_DIRECT_RX_RELEASE);
    side_new(&c, "sip:carol@example.org", 0, 0, 0); /* a UE that never met alice */
    CHECK_STATUS(mcsec_direct_build_dcr(a.l, m1, CAP, &l1), MCSEC_OK);
    CHECK_STATUS(mcsec_direct_dcr_parse(m1, l1, &req), MCSEC_OK);
    CHECK(req.conn_id != 0 && req.flags == MCSEC_DIRECT_DCR_EXISTING_KD);
    mcsec_direct_link_t *found = NULL;
    CHECK_STATUS(mcsec_direct_link_by_conn_id(c.ue, req.conn_id, &found), MCSEC_ERR_UNKNOWN_KEY);
    CHECK_STATUS(mcsec_direct_build_reject(&req, MCSEC_DIRECT_CAUSE_UNKNOWN_CONN_ID, m2, CAP, &l2),
                 MCSEC_OK);
    memcpy(pt, m2, l2);
    pt[5] ^= 1; /* a Reject for another request is ignored */
    CHECK_STATUS(mcsec_direct_handle_reject(a.l, pt, l2), MCSEC_ERR_VERIFY);
    CHECK_STATUS(mcsec_direct_handle_reject(a.l, m2, l2), MCSEC_ERR_UNKNOWN_KEY);
    CHECK(mcsec_direct_last_check(a.l) == MCSEC_DIRECT_CHECK_REJECTED);
    CHECK(mcsec_direct_state(a.l) == MCSEC_DIRECT_S_IDLE);
    CHECK_STATUS(mcsec_direct_handle_reject(a.l, m2, l2), MCSEC_ERR_STRUCTURE);

    /* stale KD: b forgot the KD alice names (b's link replaced by a fresh one) */
    CHECK_STATUS(mcsec_direct_build_dcr(a.l, m1, CAP, &l1), MCSEC_OK);
    mcsec_direct_link_t *fresh = NULL;
    CHECK_STATUS(mcsec_direct_link_new(b.ue, "", &fresh), MCSEC_OK);
    CHECK_STATUS(mcsec_direct_set_kd(fresh, KD2), MCSEC_OK);
    memcpy(pt, m1, l1);
    CHECK_STATUS(mcsec_direct_dcr_parse(pt, l1, &req), MCSEC_OK);
    /* (on the stored link the connection id matches but the KD does not) */
    b.l->kd_id ^= 1;
    CHECK_STATUS(mcsec_direct_respond_begin(b.l, m1, l1), MCSEC_ERR_UNKNOWN_KEY);
    CHECK(mcsec_direct_last_check(b.l) == MCSEC_DIRECT_CHECK_KEY);
    b.l->kd_id ^= 1;
    /* a fresh link is not the one the connection identity names */
    CHECK_STATUS(mcsec_direct_respond_begin(fresh, m1, l1), MCSEC_ERR_UNKNOWN_KEY);
    mcsec_direct_link_forget(b.ue, fresh);

    /* no common algorithms: b accepts only AES-CTR, a offers only null confidentiality */
    side_t n;
    side_new(&n, "sip:null@example.org", MCSEC_DIRECT_ALG_BIT(MCSEC_DIRECT_ENC_NULL), 0, 0);
    CHECK_STATUS(mcsec_direct_link_new(n.ue, "sip:bob@example.org", &n.l), MCSEC_OK);
    CHECK_STATUS(mcsec_direct_set_kd(n.l, KD1), MCSEC_OK);
    CHECK_STATUS(mcsec_direct_build_dcr(n.l, m1, CAP, &l1), MCSEC_OK);
    CHECK_STATUS(mcsec_direct_link_new(b.ue, "", &fresh), MCSEC_OK);
    CHECK_STATUS(mcsec_direct_respond_begin(fresh, m1, l1), MCSEC_ERR_POLICY);
    CHECK(mcsec_direct_last_check(fresh) == MCSEC_DIRECT_CHECK_ALGS);
    mcsec_direct_link_forget(b.ue, fresh);

    mcsec_direct_ue_free(a.ue);
    mcsec_direct_ue_free(b.ue);
    mcsec_direct_ue_free(c.ue);
    mcsec_direct_ue_free(n.ue);
}

static void t_bidding_down(void)
{
    printf("bidding down and request tampering\n");
    side_t a, b;
    size_t l1 = 0, l2 = 0, l3 = 0;
    mcsec_direct_request_t req;
    /* a accepts null confidentiality too, so a stripped offer still finds a common algorithm */
    uint8_t both = MCSEC_DIRECT_ALG_BIT(MCSEC_DIRECT_ENC_NULL) |
                   MCSEC_DIRECT_ALG_BIT(MCSEC_DIRECT_ENC_AES_CTR);
    side_new(&a, "sip:alice@example.org", both, 0, 0);
    side_new(&b, "sip:bob@example.org", both, 0, 0);
    CHECK_STATUS(mcsec_direct_link_new(a.ue, "sip:bob@example.org", &a.l), MCSEC_OK);
    CHECK_STATUS(mcsec_direct_link_new(b.ue, "", &b.l), MCSEC_OK);
    CHECK_STATUS(mcsec_direct_set_kd(a.l, KD1), MCSEC_OK);
    CHECK_STATUS(mcsec_direct_add_kcd(a.l, 0x81, (const uint8_t *)"abc", 3), MCSEC_OK);
    CHECK_STATUS(mcsec_direct_build_dcr(a.l, m1, CAP, &l1), MCSEC_OK);
    /* the attacker strips AES-CTR from the offer: b picks null confidentiality */
    memcpy(pt, m1, l1);
    pt[28] = MCSEC_DIRECT_ALG_BIT(MCSEC_DIRECT_ENC_NULL);
    CHECK_STATUS(mcsec_direct_respond_begin(b.l, pt, l1), MCSEC_OK);
    CHECK_STATUS(mcsec_direct_set_kd(b.l, KD1), MCSEC_OK);
    CHECK_STATUS(mcsec_direct_build_dsmc(b.l, m2, CAP, &l2), MCSEC_OK);
    CHECK(m2[24] == MCSEC_DIRECT_ENC_NULL);
    CHECK_STATUS(mcsec_direct_handle_dsmc(a.l, m2, l2, m3, CAP, &l3), MCSEC_ERR_VERIFY);
    CHECK(mcsec_direct_last_check(a.l) == MCSEC_DIRECT_CHECK_BIDDING_DOWN);
    /* the attacker changes the key creation data: caught by the request digest */
    memcpy(pt, m1, l1);
    CHECK_STATUS(mcsec_direct_dcr_parse(pt, l1, &req), MCSEC_OK);
    pt[l1 - 1] ^= 1;
    CHECK_STATUS(mcsec_direct_respond_begin(b.l, pt, l1), MCSEC_OK);
    CHECK_STATUS(mcsec_direct_set_kd(b.l, KD1), MCSEC_OK);
    CHECK_STATUS(mcsec_direct_build_dsmc(b.l, m2, CAP, &l2), MCSEC_OK);
    CHECK_STATUS(mcsec_direct_handle_dsmc(a.l, m2, l2, m3, CAP, &l3), MCSEC_ERR_VERIFY);
    CHECK(mcsec_direct_last_check(a.l) == MCSEC_DIRECT_CHECK_DIGEST);
    /* the genuine DCR then works, and picks AES-CTR */
    CHECK_STATUS(mcsec_direct_respond_begin(b.l, m1, l1), MCSEC_OK);
    CHECK_STATUS(mcsec_direct_set_kd(b.l, KD1), MCSEC_OK);
    CHECK_STATUS(mcsec_direct_build_dsmc(b.l, m2, CAP, &l2), MCSEC_OK);
    CHECK_STATUS(mcsec_direct_handle_dsmc(a.l, m2, l2, m3, CAP, &l3), MCSEC_OK);
    uint8_t enc = 0;
    mcsec_direct_algs(a.l, &enc, NULL);
    CHECK(enc == MCSEC_DIRECT_ENC_AES_CTR);
    mcsec_direct_ue_free(a.ue);
    mcsec_direct_ue_free(b.ue);
}

static void t_null_and_counts(void)
{
    printf("null confidentiality; COUNT limits\n");
    side_t a, b;
    size_t l1 = 0;
    mcsec_direct_rx_t rx;
    uint8_t null_only = MCSEC_DIRECT_ALG_BIT(MCSEC_DIRECT_ENC_NULL);
    side_new(&a, "sip:alice@example.org", null_only, 4, 6);
    side_new(&b, "sip:bob@example.org", null_only, 4, 6);
    CHECK_STATUS(mcsec_direct_link_new(a.ue, "sip:bob@example.org", &a.l), MCSEC_OK);
    establish(&a, &b, KD1, KD1);
    uint8_t enc = 9;
    mcsec_direct_algs(a.l, &enc, NULL);
    CHECK(enc == MCSEC_DIRECT_ENC_NULL);
    /* null confidentiality: the data is in clear, signalling still has its MAC */
    CHECK_STATUS(mcsec_direct_protect(a.l, 1, (const uint8_t *)"clear", 5, m1, CAP, &l1),
                 MCSEC_OK);
    CHECK(memcmp(m1 + 8, "clear", 5) == 0);
    CHECK_STATUS(mcsec_direct_protect(a.l, 0, (const uint8_t *)"clear", 5, m1, CAP, &l1),
                 MCSEC_OK);
    m1[9] ^= 1;
    CHECK_STATUS(mcsec_direct_receive(b.l, m1, l1, pt, CAP, &rx), MCSEC_ERR_VERIFY);
    /* bearer 1 COUNTs 0..5 usable (hard limit 6), rekey advised from 4 */
    CHECK(!mcsec_direct_needs_rekey(a.l));
    for (int i = 2; i < 6; i++)
        CHECK_STATUS(mcsec_direct_protect(a.l, 2, (const uint8_t *)"x", 1, m1, CAP, &l1),
                     MCSEC_OK);
    CHECK(mcsec_direct_needs_rekey(a.l));
    CHECK_STATUS(mcsec_direct_protect(a.l, 2, (const uint8_t *)"x", 1, m1, CAP, &l1), MCSEC_OK);
    CHECK_STATUS(mcsec_direct_protect(a.l, 2, (const uint8_t *)"x", 1, m1, CAP, &l1), MCSEC_OK);
    CHECK_STATUS(mcsec_direct_protect(a.l, 2, (const uint8_t *)"x", 1, m1, CAP, &l1),
                 MCSEC_ERR_EXPIRED);
    CHECK(mcsec_direct_last_check(a.l) == MCSEC_DIRECT_CHECK_COUNT);
    /* signalling of the library may still run: rekey, then the COUNTs restart */
    size_t l2 = 0, l3 = 0;
    CHECK_STATUS(mcsec_direct_build_rekey(a.l, 0, m1, CAP, &l1), MCSEC_OK);
    CHECK(deliver(&b, m1, l1) == MCSEC_DIRECT_RX_REKEY);
    CHECK_STATUS(mcsec_direct_build_dsmc(b.l, m2, CAP, &l2), MCSEC_OK);
    CHECK_STATUS(mcsec_direct_handle_dsmc(a.l, m2, l2, m3, CAP, &l3), MCSEC_OK);
    CHECK(deliver(&b, m3, l3) == MCSEC_DIRECT_RX_DSMP);
    CHECK(!mcsec_direct_needs_rekey(a.l));
    CHECK_STATUS(mcsec_direct_protect(a.l, 2, (const uint8_t *)"x", 1, m1, CAP, &l1), MCSEC_OK);
    /* the wrap itself: COUNT 0xFFFFFFFF is the last one of library signalling */
    a.l->cur.tx_next[0] = 0xFFFFFFFFu;
    CHECK_STATUS(mcsec_direct_build_release(a.l, m1, CAP, &l1), MCSEC_OK);
    mcsec_direct_ue_free(a.ue);
    mcsec_direct_ue_free(b.ue);

    /* configuration refusals */
    mcsec_direct_ue_t *u = NULL;
    mcsec_direct_config_t cfg = {.user_uri = "sip:x@example.org", .int_algs = 1};
    CHECK_STATUS(mcsec_direct_ue_new(&u, &cfg), MCSEC_ERR_BAD_INPUT); /* null integrity only */
    cfg.int_algs = 0;
    cfg.enc_algs = 0x02; /* algorithm 1 is not implemented */
    CHECK_STATUS(mcsec_direct_ue_new(&u, &cfg), MCSEC_ERR_BAD_INPUT);
    cfg.enc_algs = 0;
    cfg.user_uri = "";
    CHECK_STATUS(mcsec_direct_ue_new(&u, &cfg), MCSEC_ERR_BAD_INPUT);
    cfg.user_uri = "sip:x@example.org";
    cfg.max_links = 1;
    CHECK_STATUS(mcsec_direct_ue_new(&u, &cfg), MCSEC_OK);
    mcsec_direct_link_t *l = NULL, *l2p = NULL;
    CHECK_STATUS(mcsec_direct_link_new(u, "sip:y@example.org", &l), MCSEC_OK);
    CHECK_STATUS(mcsec_direct_link_new(u, "sip:z@example.org", &l2p), MCSEC_ERR_NOMEM);
    for (int i = 0; i < 4; i++)
        CHECK_STATUS(mcsec_direct_add_kcd(l, (uint8_t)(0x80 + i), NULL, 0), MCSEC_OK);
    CHECK_STATUS(mcsec_direct_add_kcd(l, 0x90, NULL, 0), MCSEC_ERR_STRUCTURE);
    CHECK_STATUS(mcsec_direct_add_kcd(l, 0, NULL, 0), MCSEC_ERR_BAD_INPUT);
    CHECK_STATUS(mcsec_direct_add_kcd(l, 0x91, pt, MCSEC_DIRECT_KCD_MAX + 1), MCSEC_ERR_BAD_LENGTH);
    CHECK_STATUS(mcsec_direct_set_kd_with_id(l, KD1, 0), MCSEC_ERR_BAD_INPUT);
    CHECK_STATUS(mcsec_direct_set_kd_with_id(l, KD1, 0x12345678), MCSEC_OK);
    mcsec_direct_ue_free(u);
}

static void t_collision(void)
{
    printf("rekey collision: the link initiator's request wins\n");
    side_t a, b;
    size_t la = 0, lb = 0, l2 = 0, l3 = 0;
    static uint8_t ra[CAP], rb[CAP];
    mcsec_direct_rx_t rx;
    side_new(&a, "sip:alice@example.org", 0, 0, 0);
    side_new(&b, "sip:bob@example.org", 0, 0, 0);
    CHECK_STATUS(mcsec_direct_link_new(a.ue, "sip:bob@example.org", &a.l), MCSEC_OK);
    establish(&a, &b, KD1, KD1);
    uint32_t kd_id = mcsec_direct_kd_id(a.l);
    CHECK_STATUS(mcsec_direct_build_rekey(a.l, 0, ra, CAP, &la), MCSEC_OK);
    CHECK_STATUS(mcsec_direct_set_kd(b.l, KD2), MCSEC_OK); /* bob wanted a fresh KD */
    CHECK_STATUS(mcsec_direct_build_rekey(b.l, 1, rb, CAP, &lb), MCSEC_OK);
    CHECK_STATUS(mcsec_direct_receive(a.l, rb, lb, pt, CAP, &rx), MCSEC_ERR_STRUCTURE);
    CHECK(mcsec_direct_last_check(a.l) == MCSEC_DIRECT_CHECK_STATE);
    CHECK(deliver(&b, ra, la) == MCSEC_DIRECT_RX_REKEY);
    CHECK(!b.l->have_pend_kd); /* bob's own attempt and its KD are dropped */
    CHECK_STATUS(mcsec_direct_build_dsmc(b.l, m2, CAP, &l2), MCSEC_OK);
    CHECK_STATUS(mcsec_direct_handle_dsmc(a.l, m2, l2, m3, CAP, &l3), MCSEC_OK);
    CHECK(deliver(&b, m3, l3) == MCSEC_DIRECT_RX_DSMP);
    CHECK(mcsec_direct_kd_id(b.l) == kd_id &&
          mcsec_direct_kd_sess_id(a.l) == mcsec_direct_kd_sess_id(b.l));
    exchange_data(&a, &b, 4);
    mcsec_direct_ue_free(a.ue);
    mcsec_direct_ue_free(b.ue);
}

static void t_fixed_id(void)
{
    printf("KD with an agreed KD ID (network-authorised keying)\n");
    side_t a, b;
    size_t l1 = 0, l2 = 0, l3 = 0;
    mcsec_direct_request_t req;
    side_new(&a, "sip:alice@example.org", 0, 0, 0);
    side_new(&b, "sip:bob@example.org", 0, 0, 0);
    CHECK_STATUS(mcsec_direct_link_new(a.ue, "sip:bob@example.org", &a.l), MCSEC_OK);
    CHECK_STATUS(mcsec_direct_link_new(b.ue, "", &b.l), MCSEC_OK);
    CHECK_STATUS(mcsec_direct_set_kd_with_id(a.l, KD2, 0x1234abcd), MCSEC_OK);
    CHECK_STATUS(mcsec_direct_build_dcr(a.l, m1, CAP, &l1), MCSEC_OK);
    CHECK_STATUS(mcsec_direct_dcr_parse(m1, l1, &req), MCSEC_OK);
    CHECK(req.flags == MCSEC_DIRECT_DCR_EXISTING_KD && req.kd_id == 0x1234abcd);
    /* b learns KD (from its network entity) after reading the DCR */
    CHECK_STATUS(mcsec_direct_respond_begin(b.l, m1, l1), MCSEC_OK);
    CHECK_STATUS(mcsec_direct_build_dsmc(b.l, m2, CAP, &l2), MCSEC_ERR_UNKNOWN_KEY);
    CHECK_STATUS(mcsec_direct_set_kd_with_id(b.l, KD2, 0x1234abce), MCSEC_OK);
    CHECK_STATUS(mcsec_direct_build_dsmc(b.l, m2, CAP, &l2), MCSEC_ERR_UNKNOWN_KEY);
    CHECK_STATUS(mcsec_direct_set_kd_with_id(b.l, KD2, 0x1234abcd), MCSEC_OK);
    CHECK_STATUS(mcsec_direct_build_dsmc(b.l, m2, CAP, &l2), MCSEC_OK);
    CHECK_STATUS(mcsec_direct_handle_dsmc(a.l, m2, l2, m3, CAP, &l3), MCSEC_OK);
    CHECK(deliver(&b, m3, l3) == MCSEC_DIRECT_RX_DSMP);
    CHECK(mcsec_direct_kd_id(a.l) == 0x1234abcd && mcsec_direct_kd_id(b.l) == 0x1234abcd);
    mcsec_direct_ue_free(a.ue);
    mcsec_direct_ue_free(b.ue);
}

/* --write-corpus DIR: real messages of an exchange as seeds for tests/fuzz/fuzz_direct.c. */
static void put(const char *dir, const char *name, const uint8_t *m, size_t len)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (f == NULL || fwrite(m, 1, len, f) != len || fclose(f) != 0) {
        fprintf(stderr, "cannot write %s\n", path);
        exit(2);
    }
}

static int write_corpus(const char *dir)
{
    side_t a, b;
    size_t l1 = 0, l2 = 0, l3 = 0;
    mcsec_direct_rx_t rx;
    mcsec_direct_request_t req;
    side_new(&a, "sip:alice@example.org", 0, 0, 0);
    side_new(&b, "sip:bob@example.org", 0, 0, 0);
    CHECK_STATUS(mcsec_direct_link_new(a.ue, "sip:bob@example.org", &a.l), MCSEC_OK);
    CHECK_STATUS(mcsec_direct_link_new(b.ue, "", &b.l), MCSEC_OK);
    CHECK_STATUS(mcsec_direct_set_kd(a.l, KD1), MCSEC_OK);
    CHECK_STATUS(mcsec_direct_add_kcd(a.l, MCSEC_DIRECT_KCD_MIKEY_SAKKE, KD2, 32), MCSEC_OK);
    CHECK_STATUS(mcsec_direct_add_kcd(a.l, 0x80, (const uint8_t *)"x", 1), MCSEC_OK);
    CHECK_STATUS(mcsec_direct_build_dcr(a.l, m1, CAP, &l1), MCSEC_OK);
    put(dir, "dcr_new", m1, l1);
    CHECK_STATUS(mcsec_direct_dcr_parse(m1, l1, &req), MCSEC_OK);
    CHECK_STATUS(mcsec_direct_build_reject(&req, MCSEC_DIRECT_CAUSE_AUTH, m2, CAP, &l2), MCSEC_OK);
    put(dir, "reject", m2, l2);
    CHECK_STATUS(mcsec_direct_respond_begin(b.l, m1, l1), MCSEC_OK);
    CHECK_STATUS(mcsec_direct_set_kd(b.l, KD1), MCSEC_OK);
    CHECK_STATUS(mcsec_direct_add_kcd(b.l, MCSEC_DIRECT_KCD_KD_PARAM, KD2, 16), MCSEC_OK);
    CHECK_STATUS(mcsec_direct_build_dsmc(b.l, m2, CAP, &l2), MCSEC_OK);
    put(dir, "dsmc", m2, l2);
    CHECK_STATUS(mcsec_direct_handle_dsmc(a.l, m2, l2, m3, CAP, &l3), MCSEC_OK);
    put(dir, "pdu_dsmp", m3, l3);
    CHECK(deliver(&b, m3, l3) == MCSEC_DIRECT_RX_DSMP);
    CHECK_STATUS(mcsec_direct_build_accept(b.l, m1, CAP, &l1), MCSEC_OK);
    put(dir, "pdu_accept", m1, l1);
    CHECK(deliver(&a, m1, l1) == MCSEC_DIRECT_RX_ACCEPT);
    CHECK_STATUS(mcsec_direct_protect(a.l, 0, (const uint8_t *)"signal", 6, m1, CAP, &l1), MCSEC_OK);
    put(dir, "pdu_signal", m1, l1);
    CHECK_STATUS(mcsec_direct_protect(a.l, 1, (const uint8_t *)"user data", 9, m1, CAP, &l1),
                 MCSEC_OK);
    put(dir, "pdu_data", m1, l1);
    CHECK_STATUS(mcsec_direct_build_rekey(a.l, 1, m1, CAP, &l1), MCSEC_OK);
    put(dir, "pdu_rekey", m1, l1);
    CHECK_STATUS(mcsec_direct_receive(b.l, m1, l1, pt, CAP, &rx), MCSEC_OK);
    put(dir, "rekey_plain", pt, rx.len);
    static const uint8_t dsmp[DX_DSMP_LEN] = {3, 0x1a, 0xbc, 0, 0x42, 0x42, 0x17, 0, 0, 0, 5};
    put(dir, "inner_dsmp", dsmp, sizeof dsmp);
    mcsec_direct_ue_free(a.ue);
    mcsec_direct_ue_free(b.ue);
    return test_failed == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
    if (mcsec_init() != MCSEC_OK)
        return 2;
    if (argc == 3 && strcmp(argv[1], "--write-corpus") == 0)
        return write_corpus(argv[2]);
    char *text = test_read_file("direct.txt");
    t_primitives(text);
    t_keys(text);
    t_packets(text);
    t_request_codec();
    t_dsmc_codec();
    t_flow();
    t_refusals();
    t_bidding_down();
    t_null_and_counts();
    t_collision();
    t_fixed_id();
    free(text);
    return test_summary();
}
