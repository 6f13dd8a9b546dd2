/* MIKEY codec: round trips of every payload kind, the 3GPP GMK I_MESSAGE and GSK message
 * layouts (assembled by hand here, independently of the builder), and every bad input class
 * with its exact status.
 *
 * `test_proto_mikey --write-corpus DIR` writes the messages built here as the fuzz seed
 * corpus (tests/fuzz/corpus/mikey). */
#include <time.h>

#include "mcsec/mikey.h"
#include "test.h"

static mcsec_mikey_msg_t msg; /* 3.5 KB: static, not on the stack */

/* --- Raw assembly (independent of the builder) ---------------------------------------------- */

typedef struct {
    uint8_t b[4096];
    size_t n;
} raw_t;

static void raw(raw_t *r, const void *p, size_t n) {
    if (n > 0) memcpy(r->b + r->n, p, n);
    r->n += n;
}

static void raw8(raw_t *r, unsigned v) {
    r->b[r->n++] = (uint8_t)v;
}

static void raw16(raw_t *r, unsigned v) {
    raw8(r, v >> 8);
    raw8(r, v);
}

static void raw32(raw_t *r, uint32_t v) {
    raw16(r, v >> 16);
    raw16(r, v & 0xffff);
}

static void fill(uint8_t *p, size_t n, uint8_t seed) {
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(seed + 7 * i);
}

/* The values of the GMK I_MESSAGE (WIRE.md "3GPP GMK distribution I_MESSAGE, as deployed"). */
static const uint32_t gmk_id = 0x0a0b0c0d, guk_id = 0x0a0b1234;
static const uint64_t ntp = 0xe7d2a1b2c3d4e5f6ull;
static uint8_t rand16[16], uid_gms[32], uid_member[32], encap[273], keyparams[60], eccsi[129];
static const char kms_uri[] = "kms.example.org";
/* type:value pairs of the deployed default SP (27 octets of parameters). */
static const uint8_t sp_deployed[][2] = {{0, 6}, {1, 16}, {2, 4},  {4, 12}, {5, 0},
                                         {6, 0}, {18, 4}, {19, 0}, {20, 16}};

static void init_values(void) {
    fill(rand16, sizeof rand16, 0x10);
    fill(uid_gms, sizeof uid_gms, 0x20);
    fill(uid_member, sizeof uid_member, 0x30);
    fill(encap, sizeof encap, 0x40);
    encap[0] = 4;
    fill(keyparams, sizeof keyparams, 0x50);
    fill(eccsi, sizeof eccsi, 0x60);
}

/* HDR | T | RAND | IDR 8 | IDR 9 | IDR 6 | IDR 7 | SP | SAKKE | GENERAL_EXT 7 | SIGN.
 * One payload per line; each line starts with that payload's next payload octet, i.e. the
 * type of the payload on the FOLLOWING line. */
static void gmk_raw(raw_t *r) {
    r->n = 0;
    raw8(r, 1), raw8(r, 26), raw8(r, MCSEC_MIKEY_PT_T), raw8(r, 0x01), raw32(r, guk_id);
    raw8(r, 1), raw8(r, 2);                                      /* #CS 1, GENERIC-ID */
    raw8(r, 4), raw8(r, 0), raw8(r, 0x01), raw8(r, 0);           /* CS-ID 4, SRTP, S 0 #P 1, P 0 */
    raw16(r, 0), raw8(r, 8), raw32(r, gmk_id), raw32(r, guk_id); /* no session data, SPI */
    raw8(r, MCSEC_MIKEY_PT_RAND), raw8(r, 0), raw32(r, (uint32_t)(ntp >> 32)),
        raw32(r, (uint32_t)ntp);
    raw8(r, MCSEC_MIKEY_PT_IDR), raw8(r, 16), raw(r, rand16, 16);
    raw8(r, MCSEC_MIKEY_PT_IDR), raw8(r, 8), raw8(r, 1), raw16(r, 32), raw(r, uid_gms, 32);
    raw8(r, MCSEC_MIKEY_PT_IDR), raw8(r, 9), raw8(r, 1), raw16(r, 32), raw(r, uid_member, 32);
    raw8(r, MCSEC_MIKEY_PT_IDR), raw8(r, 6), raw8(r, 1), raw16(r, sizeof kms_uri - 1);
    raw(r, kms_uri, sizeof kms_uri - 1);
    raw8(r, MCSEC_MIKEY_PT_SP), raw8(r, 7), raw8(r, 1), raw16(r, sizeof kms_uri - 1);
    raw(r, kms_uri, sizeof kms_uri - 1);
    raw8(r, MCSEC_MIKEY_PT_SAKKE), raw8(r, 0), raw8(r, 0), raw16(r, 27);
    for (size_t i = 0; i < 9; i++)
        raw8(r, sp_deployed[i][0]), raw8(r, 1), raw8(r, sp_deployed[i][1]);
    raw8(r, MCSEC_MIKEY_PT_GENERAL_EXT), raw8(r, 1), raw8(r, 2), raw16(r, 273), raw(r, encap, 273);
    raw8(r, MCSEC_MIKEY_PT_SIGN), raw8(r, 7), raw16(r, sizeof keyparams),
        raw(r, keyparams, sizeof keyparams);
    raw8(r, 0x20 | (129 >> 8)), raw8(r, 129 & 0xff), raw(r, eccsi, 129);
}

/* The same message through the builder. */
static mcsec_status_t gmk_build(uint8_t *buf, size_t cap, size_t *len) {
    mcsec_mikey_builder_t b;
    mcsec_mikey_builder_init(&b, buf, cap);
    uint8_t spi[8] = {0x0a, 0x0b, 0x0c, 0x0d, 0x0a, 0x0b, 0x12, 0x34}, pol = 0;
    mcsec_mikey_hdr_t h = {.data_type = 26, .prf = 1, .csb_id = guk_id, .n_cs = 1, .map_type = 2};
    mcsec_mikey_cs_t cs = {.cs_id = 4, .protocol = 0, .policies = {&pol, 1}, .spi = {spi, 8}};
    mcsec_mikey_sp_param_t prm[9];
    for (size_t i = 0; i < 9; i++)
        prm[i] = (mcsec_mikey_sp_param_t){sp_deployed[i][0], {&sp_deployed[i][1], 1}};
    size_t signed_len;
    mcsec_status_t st;
    if ((st = mcsec_mikey_build_hdr(&b, &h, &cs)) != MCSEC_OK ||
        (st = mcsec_mikey_build_t(&b, 0, ntp)) != MCSEC_OK ||
        (st = mcsec_mikey_build_rand(&b, rand16, 16)) != MCSEC_OK ||
        (st = mcsec_mikey_build_idr(&b, 8, 1, uid_gms, 32)) != MCSEC_OK ||
        (st = mcsec_mikey_build_idr(&b, 9, 1, uid_member, 32)) != MCSEC_OK ||
        (st = mcsec_mikey_build_idr(&b, 6, 1, (const uint8_t *)kms_uri, sizeof kms_uri - 1)) ||
        (st = mcsec_mikey_build_idr(&b, 7, 1, (const uint8_t *)kms_uri, sizeof kms_uri - 1)) ||
        (st = mcsec_mikey_build_sp(&b, 0, 0, prm, 9)) != MCSEC_OK ||
        (st = mcsec_mikey_build_sakke(&b, 1, 2, encap, 273)) != MCSEC_OK ||
        (st = mcsec_mikey_build_general_ext(&b, 7, keyparams, sizeof keyparams)) != MCSEC_OK ||
        (st = mcsec_mikey_build_sign_begin(&b, 2, 129, &signed_len)) != MCSEC_OK ||
        (st = mcsec_mikey_build_sign_finish(&b, eccsi, 129)) != MCSEC_OK)
        return st;
    *len = b.len;
    return signed_len + 129 == b.len ? MCSEC_OK : MCSEC_ERR_INTERNAL;
}

static uint8_t gsk_key[16], gsk_mac[32];
static const char talker_uri[] = "sip:talker@example.org", group_uri[] = "sip:group@example.org";

/* GSK message: HDR (PSK, CS-ID 4) | T | RAND | IDR 1 | IDR 8 | IDR 2 | IDR 4 | SP | KEMAC | SIGN.
 * KEMAC "encrypted" data is a KEY_DATA TGK in clear here (the codec does not care). */
static void gsk_raw(raw_t *r) {
    r->n = 0;
    raw8(r, 1), raw8(r, 0), raw8(r, MCSEC_MIKEY_PT_T), raw8(r, 0x01), raw32(r, 0x2000abcd);
    raw8(r, 1), raw8(r, 2), raw8(r, 4), raw8(r, 0), raw8(r, 0), raw16(r, 0), raw8(r, 4);
    raw32(r, 0x2000abcd);
    raw8(r, MCSEC_MIKEY_PT_RAND), raw8(r, 0), raw32(r, (uint32_t)(ntp >> 32)),
        raw32(r, (uint32_t)ntp);
    raw8(r, MCSEC_MIKEY_PT_IDR), raw8(r, 16), raw(r, rand16, 16);
    raw8(r, MCSEC_MIKEY_PT_IDR), raw8(r, 1), raw8(r, 1), raw16(r, sizeof talker_uri - 1);
    raw(r, talker_uri, sizeof talker_uri - 1);
    raw8(r, MCSEC_MIKEY_PT_IDR), raw8(r, 8), raw8(r, 1), raw16(r, 32), raw(r, uid_gms, 32);
    raw8(r, MCSEC_MIKEY_PT_IDR), raw8(r, 2), raw8(r, 1), raw16(r, sizeof group_uri - 1);
    raw(r, group_uri, sizeof group_uri - 1);
    raw8(r, MCSEC_MIKEY_PT_SP), raw8(r, 4), raw8(r, 2), raw16(r, 4), raw32(r, gmk_id);
    raw8(r, MCSEC_MIKEY_PT_KEMAC), raw8(r, 0), raw8(r, 0), raw16(r, 6);
    raw(r, (const uint8_t[]){0, 1, 1, 1, 1, 16}, 6);
    raw8(r, MCSEC_MIKEY_PT_SIGN), raw8(r, 1), raw16(r, 4 + 16);   /* encr AES-CM-128 */
    raw8(r, 0), raw8(r, 0x00), raw16(r, 16), raw(r, gsk_key, 16); /* KEY_DATA TGK, KV NULL */
    raw8(r, 2), raw(r, gsk_mac, 32);                              /* HMAC-SHA-256-256 */
    raw8(r, 0x20), raw8(r, 129), raw(r, eccsi, 129);
}

/* Rebuilds a parsed message with the builder: raw map and decoded payloads. */
static mcsec_status_t rebuild(const mcsec_mikey_msg_t *m, uint8_t *buf, size_t cap, size_t *len) {
    mcsec_mikey_builder_t b;
    mcsec_mikey_builder_init(&b, buf, cap);
    mcsec_status_t st = mcsec_mikey_build_hdr(&b, &m->hdr, NULL);
    for (size_t i = 0; st == MCSEC_OK && i < m->count; i++) {
        const mcsec_mikey_payload_t *p = &m->payload[i];
        if (p->type == MCSEC_MIKEY_PT_SIGN) {
            size_t sl;
            st = mcsec_mikey_build_sign_begin(&b, p->u.sign.type, p->u.sign.sig.len, &sl);
            if (st == MCSEC_OK)
                st = mcsec_mikey_build_sign_finish(&b, p->u.sign.sig.p, p->u.sign.sig.len);
        } else {
            st = mcsec_mikey_build_payload(&b, p);
        }
    }
    *len = b.len;
    return st;
}

static int span_eq(mcsec_mikey_span_t s, const void *p, size_t n) {
    return s.len == n && (n == 0 || memcmp(s.p, p, n) == 0);
}

/* --- Tests ------------------------------------------------------------------------------------ */

static void test_gmk_layout(void) {
    raw_t r;
    gmk_raw(&r);
    CHECK_STATUS(mcsec_mikey_parse(r.b, r.n, &msg), MCSEC_OK);
    static const uint8_t seq[] = {5, 11, 14, 14, 14, 14, 10, 26, 21, 4};
    CHECK(msg.count == sizeof seq);
    for (size_t i = 0; i < sizeof seq && i < msg.count; i++)
        CHECK(msg.payload[i].type == seq[i]);
    CHECK(msg.hdr.version == 1 && msg.hdr.data_type == 26 && msg.hdr.prf == 1 && msg.hdr.v == 0);
    CHECK(msg.hdr.csb_id == guk_id && msg.hdr.n_cs == 1 && msg.hdr.map_type == 2);
    CHECK(msg.hdr.len == 10 + 3 + 1 + 2 + 1 + 8);
    size_t cur = 0;
    mcsec_mikey_cs_t cs;
    CHECK(mcsec_mikey_cs_next(&msg.hdr, &cur, &cs) == 1);
    CHECK(cs.cs_id == 4 && cs.protocol == 0 && cs.s == 0 && cs.policies.len == 1);
    CHECK(cs.session_data.len == 0 && cs.spi.len == 8 && cs.spi.p[3] == 0x0d);
    CHECK(mcsec_mikey_cs_next(&msg.hdr, &cur, &cs) == 0);
    CHECK(msg.payload[0].u.t.ts_type == 0 && msg.payload[0].u.t.value == ntp);
    CHECK(span_eq(msg.payload[1].u.rand.data, rand16, 16));
    const mcsec_mikey_payload_t *p = mcsec_mikey_find_idr(&msg, 9);
    CHECK(p != NULL && p->u.idr.id_type == 1 && span_eq(p->u.idr.data, uid_member, 32));
    p = mcsec_mikey_find_idr(&msg, 7);
    CHECK(p != NULL && span_eq(p->u.idr.data, kms_uri, sizeof kms_uri - 1));
    CHECK(mcsec_mikey_find_idr(&msg, 1) == NULL);
    p = mcsec_mikey_find(&msg, MCSEC_MIKEY_PT_SP, 0);
    CHECK(p != NULL && p->u.sp.policy_no == 0 && p->u.sp.protocol == 0 && p->u.sp.params.len == 27);
    mcsec_mikey_sp_param_t prm;
    size_t n = 0;
    cur = 0;
    while (p && mcsec_mikey_sp_next(&p->u.sp, &cur, &prm)) {
        CHECK(n < 9 && prm.type == sp_deployed[n][0] && prm.value.len == 1 &&
              prm.value.p[0] == sp_deployed[n][1]);
        n++;
    }
    CHECK(n == 9);
    CHECK(p && mcsec_mikey_sp_find(&p->u.sp, 20, &prm) && prm.value.p[0] == 16);
    CHECK(p && !mcsec_mikey_sp_find(&p->u.sp, 3, &prm));
    p = mcsec_mikey_find(&msg, MCSEC_MIKEY_PT_SAKKE, 0);
    CHECK(p && p->u.sakke.params == 1 && p->u.sakke.id_scheme == 2 &&
          span_eq(p->u.sakke.data, encap, 273));
    p = mcsec_mikey_find(&msg, MCSEC_MIKEY_PT_GENERAL_EXT, 0);
    CHECK(p && p->u.ext.ext_type == 7 && span_eq(p->u.ext.data, keyparams, sizeof keyparams));
    /* SIGN: last, type 2, 129 octets; both signed spans. */
    p = &msg.payload[msg.count - 1];
    CHECK(msg.has_sign && msg.sign_off == r.n - 131 && p->off == msg.sign_off && p->len == 131);
    CHECK(p->u.sign.type == 2 && span_eq(p->u.sign.sig, eccsi, 129));
    CHECK(msg.signed_data.p == r.b && msg.signed_data.len == r.n - 129);
    CHECK(msg.signed_data_alt.p == r.b && msg.signed_data_alt.len == r.n - 131);
    /* The builder writes the same octets; rebuild from the parse too. */
    uint8_t out[1024];
    size_t len = 0;
    CHECK_STATUS(gmk_build(out, sizeof out, &len), MCSEC_OK);
    CHECK(len == r.n);
    CHECK_MEM(out, r.b, r.n);
    CHECK_STATUS(rebuild(&msg, out, sizeof out, &len), MCSEC_OK);
    CHECK(len == r.n);
    CHECK_MEM(out, r.b, r.n);
    printf("GMK I_MESSAGE: %zu octets, %zu payloads after HDR\n", r.n, msg.count);
}

static void test_gsk_layout(void) {
    raw_t r;
    fill(gsk_key, 16, 0x70);
    fill(gsk_mac, 32, 0x80);
    gsk_raw(&r);
    CHECK_STATUS(mcsec_mikey_parse(r.b, r.n, &msg), MCSEC_OK);
    static const uint8_t seq[] = {5, 11, 14, 14, 14, 14, 10, 1, 4};
    CHECK(msg.count == sizeof seq);
    for (size_t i = 0; i < sizeof seq && i < msg.count; i++)
        CHECK(msg.payload[i].type == seq[i]);
    CHECK(msg.hdr.data_type == 0 && msg.hdr.csb_id == 0x2000abcd);
    static const uint8_t roles[] = {1, 8, 2, 4};
    for (size_t i = 0; i < 4; i++)
        CHECK(msg.payload[2 + i].u.idr.role == roles[i]);
    CHECK(msg.payload[5].u.idr.id_type == 2 && msg.payload[5].u.idr.data.len == 4);
    const mcsec_mikey_payload_t *k = mcsec_mikey_find(&msg, MCSEC_MIKEY_PT_KEMAC, 0);
    CHECK(k && k->u.kemac.encr_alg == 1 && k->u.kemac.mac_alg == 2);
    CHECK(k && span_eq(k->u.kemac.mac, gsk_mac, 32) && k->u.kemac.encr.len == 20);
    mcsec_mikey_key_data_t kd[4];
    size_t n = 0;
    CHECK_STATUS(mcsec_mikey_parse_key_data(k->u.kemac.encr.p, k->u.kemac.encr.len, kd, 4, &n),
                 MCSEC_OK);
    CHECK(n == 1 && kd[0].type == 0 && kd[0].kv.type == 0 && kd[0].next == 0);
    CHECK(span_eq(kd[0].key, gsk_key, 16) && kd[0].salt.len == 0);
    CHECK(msg.has_sign && msg.payload[8].u.sign.sig.len == 129);

    /* Built: KEMAC MAC offset, and SIGN patched after it. */
    uint8_t out[1024], kdbuf[64];
    mcsec_mikey_builder_t b, kb;
    mcsec_mikey_builder_init(&kb, kdbuf, sizeof kdbuf);
    mcsec_mikey_key_data_t key = {.type = 0, .key = {gsk_key, 16}};
    CHECK_STATUS(mcsec_mikey_build_key_data(&kb, &key), MCSEC_OK);
    CHECK(kb.len == 20);
    mcsec_mikey_builder_init(&b, out, sizeof out);
    mcsec_mikey_hdr_t h = msg.hdr;
    CHECK_STATUS(mcsec_mikey_build_hdr(&b, &h, NULL), MCSEC_OK);
    for (size_t i = 0; i < 7; i++)
        CHECK_STATUS(mcsec_mikey_build_payload(&b, &msg.payload[i]), MCSEC_OK);
    size_t mac_off = 0, sl = 0;
    CHECK_STATUS(mcsec_mikey_build_kemac(&b, 1, kdbuf, kb.len, 2, NULL, &mac_off), MCSEC_OK);
    CHECK(mac_off == (size_t)(k->u.kemac.mac.p - r.b));
    CHECK_STATUS(mcsec_mikey_build_sign_begin(&b, 2, 129, &sl), MCSEC_OK);
    memcpy(out + mac_off, gsk_mac, 32); /* MAC computed after the next payload is known */
    CHECK(sl == r.n - 129);
    CHECK_STATUS(mcsec_mikey_build_sign_finish(&b, eccsi, 129), MCSEC_OK);
    CHECK(b.len == r.n);
    CHECK_MEM(out, r.b, r.n);
}

/* One message with every payload kind and non-trivial values; all three CS ID maps. */
static uint8_t pke_data[300], dh_val[128], cert[40], chash[20], vmac[20], kemac_mac[20];
static uint8_t spi3[3] = {1, 2, 3}, vf[4] = {9, 8, 7, 6}, vt[5] = {5, 4, 3, 2, 1}, pols[2] = {0, 1};
static uint8_t sdata[5] = {0xde, 0xad, 0xbe, 0xef, 0x01}, kdplain[128];
static size_t kdplain_len;

static mcsec_status_t all_build(uint8_t map_type, uint8_t *buf, size_t cap, size_t *len) {
    mcsec_mikey_builder_t b, kb;
    mcsec_status_t st;
    /* KEMAC plaintext: TEK+SALT with SPI, TGK with interval, TGK_SALT with KV NULL. */
    mcsec_mikey_builder_init(&kb, kdplain, sizeof kdplain);
    mcsec_mikey_key_data_t k1 = {
        .type = 3, .key = {gsk_key, 16}, .salt = {rand16, 14}, .kv = {.type = 1, .spi = {spi3, 3}}};
    mcsec_mikey_key_data_t k2 = {
        .type = 0, .key = {gsk_mac, 32}, .kv = {.type = 2, .from = {vf, 4}, .to = {vt, 5}}};
    mcsec_mikey_key_data_t k3 = {.type = 1, .key = {gsk_key, 1}, .salt = {NULL, 0}};
    if ((st = mcsec_mikey_build_key_data(&kb, &k1)) ||
        (st = mcsec_mikey_build_key_data(&kb, &k2)) || (st = mcsec_mikey_build_key_data(&kb, &k3)))
        return st;
    kdplain_len = kb.len;

    mcsec_mikey_builder_init(&b, buf, cap);
    mcsec_mikey_hdr_t h = {
        .data_type = 2, .v = 1, .prf = 0, .csb_id = 0xfedcba98, .n_cs = 2, .map_type = map_type};
    mcsec_mikey_cs_t cs[2] = {
        {.policy_no = 1,
         .ssrc = 0x11223344,
         .roc = 0x55667788,
         .cs_id = 1,
         .protocol = 0,
         .s = 1,
         .policies = {pols, 2},
         .session_data = {sdata, 5},
         .spi = {spi3, 3}},
        {.policy_no = 2, .ssrc = 0x99aabbcc, .roc = 7, .cs_id = 6, .protocol = 9},
    };
    mcsec_mikey_payload_t p;
    mcsec_mikey_sp_param_t prm[3] = {{0, {vf, 1}}, {20, {vt, 5}}, {7, {NULL, 0}}};
    size_t sl;
    if ((st = mcsec_mikey_build_hdr(&b, &h, cs)) || (st = mcsec_mikey_build_t(&b, 2, 0xcafef00d)) ||
        (st = mcsec_mikey_build_rand(&b, pke_data, 255)) ||
        (st = mcsec_mikey_build_id(&b, 2, cert, 3)) ||
        (st = mcsec_mikey_build_idr(&b, 3, 0, cert, 7)))
        return st;
    p = (mcsec_mikey_payload_t){.type = MCSEC_MIKEY_PT_CERT, .u.cert = {3, {cert, sizeof cert}}};
    if ((st = mcsec_mikey_build_payload(&b, &p))) return st;
    p = (mcsec_mikey_payload_t){.type = MCSEC_MIKEY_PT_CHASH, .u.chash = {0, {chash, 20}}};
    if ((st = mcsec_mikey_build_payload(&b, &p))) return st;
    p = (mcsec_mikey_payload_t){.type = MCSEC_MIKEY_PT_PKE, .u.pke = {2, {pke_data, 300}}};
    if ((st = mcsec_mikey_build_payload(&b, &p))) return st;
    p = (mcsec_mikey_payload_t){.type = MCSEC_MIKEY_PT_DH,
                                .u.dh = {2, {dh_val, 128}, 5, {.type = 1, .spi = {spi3, 3}}}};
    if ((st = mcsec_mikey_build_payload(&b, &p))) return st;
    if ((st = mcsec_mikey_build_sp(&b, 1, 0, prm, 3)) ||
        (st = mcsec_mikey_build_sp(&b, 2, 1, NULL, 0)) ||
        (st = mcsec_mikey_build_kemac(&b, 2, kdplain, kdplain_len, 1, kemac_mac, NULL)) ||
        (st = mcsec_mikey_build_v(&b, 1, vmac, NULL)) || (st = mcsec_mikey_build_err(&b, 13)) ||
        (st = mcsec_mikey_build_general_ext(&b, 6, cert, 10)) ||
        (st = mcsec_mikey_build_idr(&b, 5, 2, NULL, 0)) ||
        (st = mcsec_mikey_build_sakke(&b, 1, 1, encap, 100)) ||
        (st = mcsec_mikey_build_sign_begin(&b, 1, 64, &sl)) ||
        (st = mcsec_mikey_build_sign_finish(&b, eccsi, 64)))
        return st;
    *len = b.len;
    return MCSEC_OK;
}

static void check_all(uint8_t map_type, const uint8_t *buf, size_t len) {
    CHECK_STATUS(mcsec_mikey_parse(buf, len, &msg), MCSEC_OK);
    mcsec_mikey_hdr_t *h = &msg.hdr;
    CHECK(h->data_type == 2 && h->v == 1 && h->prf == 0 && h->csb_id == 0xfedcba98);
    CHECK(h->n_cs == 2 && h->map_type == map_type);
    size_t cur = 0;
    mcsec_mikey_cs_t cs;
    if (map_type == 0) {
        CHECK(h->map.len == 18);
        CHECK(mcsec_mikey_cs_next(h, &cur, &cs) && cs.policy_no == 1 && cs.ssrc == 0x11223344 &&
              cs.roc == 0x55667788);
        CHECK(mcsec_mikey_cs_next(h, &cur, &cs) && cs.policy_no == 2 && cs.ssrc == 0x99aabbcc &&
              cs.roc == 7);
    } else if (map_type == 2) {
        CHECK(mcsec_mikey_cs_next(h, &cur, &cs) && cs.cs_id == 1 && cs.protocol == 0 && cs.s == 1 &&
              span_eq(cs.policies, pols, 2) && span_eq(cs.session_data, sdata, 5) &&
              span_eq(cs.spi, spi3, 3));
        CHECK(mcsec_mikey_cs_next(h, &cur, &cs) && cs.cs_id == 6 && cs.protocol == 9 && cs.s == 0 &&
              cs.policies.len == 0 && cs.session_data.len == 0 && cs.spi.len == 0);
    } else {
        CHECK(h->map.len == 0);
    }
    CHECK(mcsec_mikey_cs_next(h, &cur, &cs) == 0);
    static const uint8_t seq[] = {5, 11, 6, 14, 7, 8, 2, 3, 10, 10, 1, 9, 12, 21, 14, 26, 4};
    CHECK(msg.count == sizeof seq);
    for (size_t i = 0; i < sizeof seq && i < msg.count; i++) {
        CHECK(msg.payload[i].type == seq[i]);
        CHECK(msg.payload[i].next == (i + 1 < sizeof seq ? seq[i + 1] : 0));
    }
    if (msg.count != sizeof seq) return;
    mcsec_mikey_payload_t *p = msg.payload;
    CHECK(p[0].u.t.ts_type == 2 && p[0].u.t.value == 0xcafef00d && p[0].len == 6);
    CHECK(span_eq(p[1].u.rand.data, pke_data, 255));
    CHECK(p[2].u.id.role == 0 && p[2].u.id.id_type == 2 && span_eq(p[2].u.id.data, cert, 3));
    CHECK(p[3].u.idr.role == 3 && p[3].u.idr.id_type == 0 && span_eq(p[3].u.idr.data, cert, 7));
    CHECK(p[4].u.cert.cert_type == 3 && span_eq(p[4].u.cert.data, cert, sizeof cert));
    CHECK(p[5].u.chash.func == 0 && span_eq(p[5].u.chash.hash, chash, 20));
    CHECK(p[6].u.pke.cache == 2 && span_eq(p[6].u.pke.data, pke_data, 300));
    CHECK(p[7].u.dh.group == 2 && span_eq(p[7].u.dh.value, dh_val, 128) && p[7].u.dh.reserved == 5);
    CHECK(p[7].u.dh.kv.type == 1 && span_eq(p[7].u.dh.kv.spi, spi3, 3));
    CHECK(p[8].u.sp.policy_no == 1 && p[8].u.sp.protocol == 0 &&
          p[8].u.sp.params.len == 2 + 1 + 2 + 5 + 2);
    mcsec_mikey_sp_param_t prm;
    CHECK(mcsec_mikey_sp_find(&p[8].u.sp, 20, &prm) && span_eq(prm.value, vt, 5));
    CHECK(mcsec_mikey_sp_find(&p[8].u.sp, 7, &prm) && prm.value.len == 0);
    CHECK(p[9].u.sp.policy_no == 2 && p[9].u.sp.protocol == 1 && p[9].u.sp.params.len == 0);
    CHECK(p[10].u.kemac.encr_alg == 2 && span_eq(p[10].u.kemac.encr, kdplain, kdplain_len));
    CHECK(p[10].u.kemac.mac_alg == 1 && span_eq(p[10].u.kemac.mac, kemac_mac, 20));
    CHECK(p[11].u.v.mac_alg == 1 && span_eq(p[11].u.v.mac, vmac, 20));
    CHECK(p[12].u.err.code == 13 && p[12].u.err.reserved == 0 && p[12].len == 4);
    CHECK(p[13].u.ext.ext_type == 6 && span_eq(p[13].u.ext.data, cert, 10));
    CHECK(p[14].u.idr.role == 5 && p[14].u.idr.id_type == 2 && p[14].u.idr.data.len == 0);
    CHECK(p[15].u.sakke.params == 1 && p[15].u.sakke.id_scheme == 1 &&
          span_eq(p[15].u.sakke.data, encap, 100));
    CHECK(p[16].u.sign.type == 1 && span_eq(p[16].u.sign.sig, eccsi, 64));
    CHECK(msg.signed_data.len == p[16].off + 2 && p[16].off + p[16].len == len);
    /* Payload spans tile the message. */
    size_t at = h->len;
    for (size_t i = 0; i < msg.count; i++) {
        CHECK(msg.payload[i].off == at);
        at += msg.payload[i].len;
    }
    CHECK(at == len);
    /* KEY_DATA chain. */
    mcsec_mikey_key_data_t kd[3];
    size_t n = 0;
    CHECK_STATUS(
        mcsec_mikey_parse_key_data(p[10].u.kemac.encr.p, p[10].u.kemac.encr.len, kd, 3, &n),
        MCSEC_OK);
    CHECK(n == 3);
    CHECK(kd[0].next == 20 && kd[0].type == 3 && span_eq(kd[0].key, gsk_key, 16) &&
          span_eq(kd[0].salt, rand16, 14) && kd[0].kv.type == 1 && span_eq(kd[0].kv.spi, spi3, 3));
    CHECK(kd[1].next == 20 && kd[1].type == 0 && span_eq(kd[1].key, gsk_mac, 32) &&
          kd[1].salt.len == 0 && kd[1].kv.type == 2 && span_eq(kd[1].kv.from, vf, 4) &&
          span_eq(kd[1].kv.to, vt, 5));
    CHECK(kd[2].next == 0 && kd[2].type == 1 && span_eq(kd[2].key, gsk_key, 1) &&
          kd[2].salt.len == 0 && kd[2].kv.type == 0);
    CHECK(kd[0].off == 0 && kd[1].off == kd[0].len && kd[2].off + kd[2].len == kdplain_len);
    CHECK_STATUS(
        mcsec_mikey_parse_key_data(p[10].u.kemac.encr.p, p[10].u.kemac.encr.len, kd, 2, &n),
        MCSEC_ERR_STRUCTURE);
    /* Rebuild gives the same octets; KEY_DATA rebuild too. */
    uint8_t out[2048];
    size_t olen = 0;
    CHECK_STATUS(rebuild(&msg, out, sizeof out, &olen), MCSEC_OK);
    CHECK(olen == len);
    CHECK_MEM(out, buf, len);
    mcsec_mikey_builder_t kb;
    mcsec_mikey_builder_init(&kb, out, sizeof out);
    CHECK_STATUS(
        mcsec_mikey_parse_key_data(p[10].u.kemac.encr.p, p[10].u.kemac.encr.len, kd, 3, &n),
        MCSEC_OK);
    for (size_t i = 0; i < n; i++)
        CHECK_STATUS(mcsec_mikey_build_key_data(&kb, &kd[i]), MCSEC_OK);
    CHECK(kb.len == kdplain_len);
    CHECK_MEM(out, kdplain, kdplain_len);
}

static uint8_t allmsg[3][2048];
static size_t allmsg_len[3];

static void test_all_payloads(void) {
    fill(pke_data, sizeof pke_data, 0x11);
    fill(dh_val, sizeof dh_val, 0x22);
    fill(cert, sizeof cert, 0x33);
    fill(chash, sizeof chash, 0x44);
    fill(vmac, sizeof vmac, 0x55);
    fill(kemac_mac, sizeof kemac_mac, 0x66);
    for (uint8_t map = 0; map < 3; map++) {
        CHECK_STATUS(all_build(map, allmsg[map], sizeof allmsg[map], &allmsg_len[map]), MCSEC_OK);
        check_all(map, allmsg[map], allmsg_len[map]);
    }
    /* A minimal message: HDR only, empty map, no payloads. */
    static const uint8_t hdr_only[] = {1, 0, 0, 0, 0, 0, 0, 1, 0, 1};
    CHECK_STATUS(mcsec_mikey_parse(hdr_only, sizeof hdr_only, &msg), MCSEC_OK);
    CHECK(msg.count == 0 && !msg.has_sign && msg.hdr.csb_id == 1 && msg.hdr.len == 10);
    /* T types 0, 1, 3 and payload names. */
    uint8_t buf[64];
    mcsec_mikey_builder_t b;
    static const uint8_t ts[] = {1, 3};
    for (size_t i = 0; i < 2; i++) {
        mcsec_mikey_builder_init(&b, buf, sizeof buf);
        mcsec_mikey_hdr_t h = {.map_type = 1};
        CHECK_STATUS(mcsec_mikey_build_hdr(&b, &h, NULL), MCSEC_OK);
        CHECK_STATUS(mcsec_mikey_build_t(&b, ts[i], 0x12345678), MCSEC_OK);
        CHECK_STATUS(mcsec_mikey_parse(buf, b.len, &msg), MCSEC_OK);
        CHECK(msg.payload[0].u.t.ts_type == ts[i] && msg.payload[0].u.t.value == 0x12345678);
        CHECK(b.len == 10 + 2 + (ts[i] == 1 ? 8 : 4));
    }
    CHECK(strcmp(mcsec_mikey_payload_name(26), "SAKKE") == 0);
    CHECK(strcmp(mcsec_mikey_payload_name(27), "?") == 0);
    CHECK(strcmp(mcsec_mikey_payload_name(19), "?") == 0);
}

/* --- Bad inputs ----------------------------------------------------------------------------- */

static void test_truncation(void) {
    raw_t r;
    gmk_raw(&r);
    int bad = 0;
    for (size_t n = 0; n < r.n; n++)
        bad += mcsec_mikey_parse(r.b, n, &msg) != MCSEC_ERR_TRUNCATED;
    CHECK(bad == 0);
    for (int map = 0; map < 3; map++) {
        bad = 0;
        for (size_t n = 0; n < allmsg_len[map]; n++)
            bad += mcsec_mikey_parse(allmsg[map], n, &msg) != MCSEC_ERR_TRUNCATED;
        CHECK(bad == 0);
    }
    /* KEY_DATA chain truncated anywhere. */
    mcsec_mikey_key_data_t kd[3];
    size_t cnt;
    bad = 0;
    for (size_t n = 0; n < kdplain_len; n++)
        bad += mcsec_mikey_parse_key_data(kdplain, n, kd, 3, &cnt) != MCSEC_ERR_TRUNCATED;
    CHECK(bad == 0);
    CHECK_STATUS(mcsec_mikey_parse(r.b, 0, &msg), MCSEC_ERR_TRUNCATED);
    CHECK_STATUS(mcsec_mikey_parse(NULL, 10, &msg), MCSEC_ERR_BAD_INPUT);
    CHECK_STATUS(mcsec_mikey_parse(NULL, 0, &msg), MCSEC_ERR_BAD_INPUT);
    CHECK_STATUS(mcsec_mikey_parse(r.b, r.n, NULL), MCSEC_ERR_BAD_INPUT);
    CHECK_STATUS(mcsec_mikey_parse_key_data(NULL, 0, kd, 3, &cnt), MCSEC_ERR_BAD_INPUT);
    CHECK_STATUS(mcsec_mikey_parse_key_data(kdplain, kdplain_len, NULL, 3, &cnt),
                 MCSEC_ERR_BAD_INPUT);
    CHECK_STATUS(mcsec_mikey_parse_key_data(kdplain, 0, kd, 3, &cnt), MCSEC_ERR_TRUNCATED);
}

/* Every length field of the message set past the end, and to its maximum. */
static void test_length_fields(void) {
    raw_t r, t;
    for (int which = 0; which < 2; which++) {
        if (which == 0)
            gmk_raw(&r);
        else
            memcpy(r.b, allmsg[2], r.n = allmsg_len[2]);
        CHECK_STATUS(mcsec_mikey_parse(r.b, r.n, &msg), MCSEC_OK);
        mcsec_mikey_msg_t m = msg;
        for (size_t i = 0; i < m.count; i++) {
            const mcsec_mikey_payload_t *p = &m.payload[i];
            size_t at; /* offset of a 16-bit length field */
            unsigned mask = 0xffff;
            switch (p->type) {
            case MCSEC_MIKEY_PT_IDR:
            case MCSEC_MIKEY_PT_SP:
            case MCSEC_MIKEY_PT_SAKKE:
                at = p->off + 3;
                break;
            case MCSEC_MIKEY_PT_ID:
            case MCSEC_MIKEY_PT_CERT:
            case MCSEC_MIKEY_PT_GENERAL_EXT:
            case MCSEC_MIKEY_PT_KEMAC:
                at = p->off + 2;
                break;
            case MCSEC_MIKEY_PT_PKE:
                at = p->off + 1, mask = 0x3fff;
                break;
            case MCSEC_MIKEY_PT_SIGN:
                at = p->off, mask = 0x0fff;
                break;
            case MCSEC_MIKEY_PT_RAND: /* 8-bit: past the end only when it can say so */
                t = r;
                t.b[p->off + 1] = 0xff;
                CHECK_STATUS(mcsec_mikey_parse(t.b, p->off + 2 + 254, &msg), MCSEC_ERR_TRUNCATED);
                continue;
            default:
                continue;
            }
            size_t past = r.n - (at + 2) + 1;
            unsigned vals[2] = {mask, (unsigned)past};
            for (int k = 0; k < 2; k++) {
                if (vals[k] > mask) continue;
                t = r;
                unsigned keep = ((unsigned)t.b[at] << 8) & ~mask;
                t.b[at] = (uint8_t)((keep | vals[k]) >> 8);
                t.b[at + 1] = (uint8_t)vals[k];
                mcsec_status_t st = mcsec_mikey_parse(t.b, t.n, &msg);
                CHECK_STATUS(st, MCSEC_ERR_TRUNCATED);
                if (st != MCSEC_ERR_TRUNCATED)
                    fprintf(stderr, "  payload %zu (%s)\n", i, mcsec_mikey_payload_name(p->type));
            }
        }
        /* GENERIC-ID session data length, and an SP parameter length past its block. */
        if (which == 0) {
            t = r;
            t.b[14] = 0xff, t.b[15] = 0xff;
            CHECK_STATUS(mcsec_mikey_parse(t.b, t.n, &msg), MCSEC_ERR_TRUNCATED);
            const mcsec_mikey_payload_t *sp = mcsec_mikey_find(&m, MCSEC_MIKEY_PT_SP, 0);
            t = r;
            t.b[sp->off + 5 + 24 + 1] = 2; /* the last parameter (20:16) claims 2 octets */
            CHECK_STATUS(mcsec_mikey_parse(t.b, t.n, &msg), MCSEC_ERR_TRUNCATED);
            t = r;
            t.b[sp->off + 5 + 1] = 0xff;
            CHECK_STATUS(mcsec_mikey_parse(t.b, t.n, &msg), MCSEC_ERR_TRUNCATED);
        }
    }
    /* Key data: key length past the end. */
    uint8_t kd[32] = {0, 0x20, 0xff, 0xff};
    mcsec_mikey_key_data_t out[2];
    size_t n;
    CHECK_STATUS(mcsec_mikey_parse_key_data(kd, sizeof kd, out, 2, &n), MCSEC_ERR_TRUNCATED);
}

/* A tiny message: HDR (empty map) then the given raw payload octets. */
static void mini(raw_t *r, uint8_t first, const uint8_t *payloads, size_t n) {
    r->n = 0;
    raw(r, (const uint8_t[]){1, 0, first, 1, 0, 0, 0, 7, 0, 1}, 10);
    raw(r, payloads, n);
}

#define MINI(status, first, ...)                                                                   \
    do {                                                                                           \
        static const uint8_t pl_[] = {__VA_ARGS__};                                                \
        raw_t r_;                                                                                  \
        mini(&r_, first, pl_, sizeof pl_);                                                         \
        CHECK_STATUS(mcsec_mikey_parse(r_.b, r_.n, &msg), status);                                 \
    } while (0)

#define R16 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16
#define T0 0, 1, 2, 3, 4, 5, 6, 7

static void test_structure(void) {
    raw_t r, t;
    gmk_raw(&r);
    /* Unknown next payload types: from HDR and from the middle. */
    static const uint8_t unknown[] = {18, 19, 20, 22, 23, 24, 25, 27, 31, 32, 200, 255};
    const mcsec_mikey_payload_t *ext;
    CHECK_STATUS(mcsec_mikey_parse(r.b, r.n, &msg), MCSEC_OK);
    ext = mcsec_mikey_find(&msg, MCSEC_MIKEY_PT_IDR, 0);
    size_t mid = ext->off; /* IDR's next octet */
    for (size_t i = 0; i < sizeof unknown; i++) {
        t = r;
        t.b[2] = unknown[i];
        CHECK_STATUS(mcsec_mikey_parse(t.b, t.n, &msg), MCSEC_ERR_STRUCTURE);
        t = r;
        t.b[mid] = unknown[i];
        CHECK_STATUS(mcsec_mikey_parse(t.b, t.n, &msg), MCSEC_ERR_STRUCTURE);
    }
    static const uint8_t ticket[] = {13, 15, 16, 17};
    for (size_t i = 0; i < sizeof ticket; i++) {
        t = r;
        t.b[mid] = ticket[i];
        CHECK_STATUS(mcsec_mikey_parse(t.b, t.n, &msg), MCSEC_ERR_UNSUPPORTED);
    }
    /* SIGN followed by anything: trailing data (SIGN has no next payload field). */
    t = r;
    t.b[t.n++] = 0;
    CHECK_STATUS(mcsec_mikey_parse(t.b, t.n, &msg), MCSEC_ERR_TRAILING_DATA);
    memcpy(t.b + r.n, r.b + r.n - 131, 131); /* a second SIGN */
    t.n = r.n + 131;
    CHECK_STATUS(mcsec_mikey_parse(t.b, t.n, &msg), MCSEC_ERR_TRAILING_DATA);
    /* A message ending on next = 0, then more octets. */
    MINI(MCSEC_ERR_TRAILING_DATA, 0, 0);
    MINI(MCSEC_ERR_TRAILING_DATA, 11, 0, 16, R16, 0xaa);
    MINI(MCSEC_OK, 11, 0, 16, R16);
    /* Duplicate HDR: HDR | HDR (the first says next = 0). */
    t = r;
    t.n = 0;
    raw(&t, (const uint8_t[]){1, 0, 0, 1, 0, 0, 0, 7, 0, 1, 1, 0, 0, 1, 0, 0, 0, 7, 0, 1}, 20);
    CHECK_STATUS(mcsec_mikey_parse(t.b, t.n, &msg), MCSEC_ERR_TRAILING_DATA);
    /* Duplicates: T, RAND, SAKKE, KEMAC, V, SP with the same policy no. */
    MINI(MCSEC_ERR_STRUCTURE, 5, 5, 0, T0, 0, 0, T0);
    MINI(MCSEC_OK, 5, 11, 0, T0, 0, 16, R16);
    MINI(MCSEC_ERR_STRUCTURE, 11, 11, 16, R16, 0, 16, R16);
    MINI(MCSEC_ERR_STRUCTURE, 26, 26, 1, 2, 0, 1, 9, 0, 1, 2, 0, 1, 9);
    MINI(MCSEC_ERR_STRUCTURE, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);
    MINI(MCSEC_ERR_STRUCTURE, 9, 9, 0, 0, 9, 0);
    MINI(MCSEC_ERR_STRUCTURE, 10, 10, 3, 0, 0, 0, 0, 3, 1, 0, 0);
    MINI(MCSEC_OK, 10, 10, 3, 0, 0, 0, 0, 4, 1, 0, 0);
    MINI(MCSEC_OK, 14, 14, 1, 1, 0, 1, 'a', 0, 1, 1, 0, 1, 'b'); /* IDR may repeat */
    /* HDR-level values. */
    t = r;
    t.b[0] = 0;
    CHECK_STATUS(mcsec_mikey_parse(t.b, t.n, &msg), MCSEC_ERR_UNSUPPORTED);
    t.b[0] = 2;
    CHECK_STATUS(mcsec_mikey_parse(t.b, t.n, &msg), MCSEC_ERR_UNSUPPORTED);
    static const uint8_t dts[] = {17, 18, 25, 27, 255};
    for (size_t i = 0; i < sizeof dts; i++) {
        t = r;
        t.b[1] = dts[i];
        CHECK_STATUS(mcsec_mikey_parse(t.b, t.n, &msg), MCSEC_ERR_UNSUPPORTED);
    }
    for (uint8_t dt = 0; dt <= 16; dt++) {
        t = r;
        t.b[1] = dt;
        CHECK_STATUS(mcsec_mikey_parse(t.b, t.n, &msg), MCSEC_OK);
    }
    t = r;
    t.b[3] = 2; /* PRF 2 */
    CHECK_STATUS(mcsec_mikey_parse(t.b, t.n, &msg), MCSEC_ERR_UNSUPPORTED);
    t.b[3] = 0x81; /* V 1, PRF 1 */
    CHECK_STATUS(mcsec_mikey_parse(t.b, t.n, &msg), MCSEC_OK);
    CHECK(msg.hdr.v == 1 && msg.hdr.prf == 1);
    t = r;
    t.b[9] = 3; /* map type */
    CHECK_STATUS(mcsec_mikey_parse(t.b, t.n, &msg), MCSEC_ERR_UNSUPPORTED);
    /* Payload values. */
    CHECK_STATUS(mcsec_mikey_parse(r.b, r.n, &msg), MCSEC_OK);
    const mcsec_mikey_payload_t *sk = mcsec_mikey_find(&msg, MCSEC_MIKEY_PT_SAKKE, 0);
    size_t so = sk->off;
    static const uint8_t bad_params[] = {0, 2, 255}, bad_scheme[] = {0, 3, 255};
    for (size_t i = 0; i < 3; i++) {
        t = r;
        t.b[so + 1] = bad_params[i];
        CHECK_STATUS(mcsec_mikey_parse(t.b, t.n, &msg), MCSEC_ERR_UNSUPPORTED);
        t = r;
        t.b[so + 2] = bad_scheme[i];
        CHECK_STATUS(mcsec_mikey_parse(t.b, t.n, &msg), MCSEC_ERR_UNSUPPORTED);
    }
    t = r;
    t.b[so + 2] = 1;
    CHECK_STATUS(mcsec_mikey_parse(t.b, t.n, &msg), MCSEC_OK);
    t = r;
    t.b[mid + 1] = 0; /* IDR role 0 */
    CHECK_STATUS(mcsec_mikey_parse(t.b, t.n, &msg), MCSEC_ERR_UNSUPPORTED);
    t.b[mid + 1] = 10;
    CHECK_STATUS(mcsec_mikey_parse(t.b, t.n, &msg), MCSEC_ERR_UNSUPPORTED);
    t = r;
    t.b[mid + 2] = 3; /* ID type 3 */
    CHECK_STATUS(mcsec_mikey_parse(t.b, t.n, &msg), MCSEC_ERR_UNSUPPORTED);
    t = r;
    t.b[r.n - 131] = 0x30; /* SIGN type 3 */
    CHECK_STATUS(mcsec_mikey_parse(t.b, t.n, &msg), MCSEC_ERR_UNSUPPORTED);
    t.b[r.n - 131] = 0xf0;
    CHECK_STATUS(mcsec_mikey_parse(t.b, t.n, &msg), MCSEC_ERR_UNSUPPORTED);
    /* RAND length 15: BAD_LENGTH; 16 and 255 fine (above). */
    MINI(MCSEC_ERR_BAD_LENGTH, 11, 0, 15, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    MINI(MCSEC_ERR_BAD_LENGTH, 11, 0, 0);
    /* T type unknown; KEMAC encr/MAC alg unknown; V, CHASH, DH selectors; ID type. */
    MINI(MCSEC_ERR_UNSUPPORTED, 5, 0, 4, T0);
    MINI(MCSEC_OK, 5, 0, 2, 0, 1, 2, 3);
    MINI(MCSEC_ERR_UNSUPPORTED, 1, 0, 3, 0, 0, 0);
    MINI(MCSEC_ERR_UNSUPPORTED, 1, 0, 0, 0, 0, 3);
    MINI(MCSEC_OK, 1, 0, 2, 0, 0, 0);
    MINI(MCSEC_ERR_UNSUPPORTED, 9, 0, 3);
    MINI(MCSEC_ERR_UNSUPPORTED, 8, 0, 2);
    MINI(MCSEC_ERR_UNSUPPORTED, 3, 0, 3);
    MINI(MCSEC_ERR_UNSUPPORTED, 6, 0, 3, 0, 0);
    MINI(MCSEC_OK, 6, 0, 1, 0, 0);
    /* DH with a KV type 3; PKE with the cache bits set. */
    {
        raw_t d;
        uint8_t pl[1 + 1 + 96 + 1];
        memset(pl, 0, sizeof pl);
        pl[1] = 1;     /* OAKLEY 1: 96 octets */
        pl[98] = 0x03; /* KV 3 */
        mini(&d, 3, pl, sizeof pl);
        CHECK_STATUS(mcsec_mikey_parse(d.b, d.n, &msg), MCSEC_ERR_UNSUPPORTED);
        d.b[d.n - 1] = 0xf0; /* reserved bits kept, KV NULL */
        CHECK_STATUS(mcsec_mikey_parse(d.b, d.n, &msg), MCSEC_OK);
        CHECK(msg.payload[0].u.dh.reserved == 15 && msg.payload[0].u.dh.group == 1);
    }
    MINI(MCSEC_OK, 2, 0, 0xc0, 1, 0x55);
    CHECK(msg.payload[0].u.pke.cache == 3 && msg.payload[0].u.pke.data.len == 1);
    /* ERR keeps its reserved octets. */
    MINI(MCSEC_OK, 12, 0, 7, 0xab, 0xcd);
    CHECK(msg.payload[0].u.err.code == 7 && msg.payload[0].u.err.reserved == 0xabcd);
}

static void test_limits(void) {
    raw_t r;
    /* 32 payloads fit; 33 do not. */
    for (int n = 32; n <= 33; n++) {
        mini(&r, 21, NULL, 0);
        for (int i = 0; i < n; i++)
            raw(&r, (const uint8_t[]){i + 1 < n ? 21 : 0, 1, 0, 0}, 4);
        CHECK_STATUS(mcsec_mikey_parse(r.b, r.n, &msg), n == 32 ? MCSEC_OK : MCSEC_ERR_STRUCTURE);
    }
    /* A next-payload loop cannot be expressed; a long chain is bounded the same way. */
    mini(&r, 21, NULL, 0);
    for (int i = 0; i < 200; i++)
        raw(&r, (const uint8_t[]){21, 1, 0, 0}, 4);
    CHECK_STATUS(mcsec_mikey_parse(r.b, r.n, &msg), MCSEC_ERR_STRUCTURE);

    /* KEY_DATA: bad next, key type, KV type, trailing data, the count bound. */
    mcsec_mikey_key_data_t kd[3];
    size_t n;
    static const uint8_t bad_next[] = {5, 0x20, 0, 1, 0xaa};
    CHECK_STATUS(mcsec_mikey_parse_key_data(bad_next, sizeof bad_next, kd, 2, &n),
                 MCSEC_ERR_STRUCTURE);
    static const uint8_t bad_type[] = {0, 0x40, 0, 1, 0xaa};
    CHECK_STATUS(mcsec_mikey_parse_key_data(bad_type, sizeof bad_type, kd, 2, &n),
                 MCSEC_ERR_UNSUPPORTED);
    static const uint8_t bad_kv[] = {0, 0x23, 0, 1, 0xaa};
    CHECK_STATUS(mcsec_mikey_parse_key_data(bad_kv, sizeof bad_kv, kd, 2, &n),
                 MCSEC_ERR_UNSUPPORTED);
    static const uint8_t trailing[] = {0, 0x20, 0, 1, 0xaa, 0};
    CHECK_STATUS(mcsec_mikey_parse_key_data(trailing, sizeof trailing, kd, 2, &n),
                 MCSEC_ERR_TRAILING_DATA);
    CHECK_STATUS(mcsec_mikey_parse_key_data(trailing, 5, kd, 2, &n), MCSEC_OK);
    CHECK(n == 1 && kd[0].type == 2 && kd[0].key.len == 1);
    static const uint8_t three[] = {20, 0x20, 0, 0, 20, 0x20, 0, 0, 0, 0x20, 0, 0};
    CHECK_STATUS(mcsec_mikey_parse_key_data(three, sizeof three, kd, 2, &n), MCSEC_ERR_STRUCTURE);
    CHECK_STATUS(mcsec_mikey_parse_key_data(three, 8, kd, 3, &n), MCSEC_ERR_TRUNCATED);
    CHECK_STATUS(mcsec_mikey_parse_key_data(three, sizeof three, kd, 3, &n), MCSEC_OK);
    CHECK(n == 3);
}

static void test_builder(void) {
    raw_t r;
    gmk_raw(&r);
    uint8_t buf[1024];
    size_t len = 0;
    /* Every capacity short of the message fails with BAD_LENGTH, without writing past cap. */
    int bad = 0;
    for (size_t cap = 0; cap < r.n; cap++) {
        memset(buf, 0xee, sizeof buf);
        bad += gmk_build(buf, cap, &len) != MCSEC_ERR_BAD_LENGTH || buf[cap] != 0xee;
    }
    CHECK(bad == 0);
    CHECK_STATUS(gmk_build(buf, r.n, &len), MCSEC_OK);
    /* A failed append changes nothing. */
    mcsec_mikey_builder_t b;
    mcsec_mikey_hdr_t h = {.map_type = 1};
    mcsec_mikey_builder_init(&b, buf, 30);
    CHECK_STATUS(mcsec_mikey_build_t(&b, 0, 1), MCSEC_ERR_BAD_INPUT); /* no HDR yet */
    CHECK_STATUS(mcsec_mikey_build_hdr(&b, &h, NULL), MCSEC_OK);
    CHECK_STATUS(mcsec_mikey_build_hdr(&b, &h, NULL), MCSEC_ERR_BAD_INPUT);
    CHECK_STATUS(mcsec_mikey_build_t(&b, 0, 1), MCSEC_OK);
    CHECK_STATUS(mcsec_mikey_build_rand(&b, rand16, 16), MCSEC_ERR_BAD_LENGTH); /* 30 < 38 */
    CHECK(b.len == 20 && buf[2] == 5 && buf[10] == 0);
    CHECK_STATUS(mcsec_mikey_build_t(&b, 0, 1), MCSEC_ERR_STRUCTURE);
    CHECK_STATUS(mcsec_mikey_build_t(&b, 4, 1), MCSEC_ERR_UNSUPPORTED);
    CHECK_STATUS(mcsec_mikey_parse(buf, b.len, &msg), MCSEC_OK);
    /* Values the parser refuses. */
    uint8_t big[256] = {0};
    mcsec_mikey_builder_init(&b, big, sizeof big);
    CHECK_STATUS(mcsec_mikey_build_hdr(&b, &h, NULL), MCSEC_OK);
    CHECK_STATUS(mcsec_mikey_build_rand(&b, rand16, 15), MCSEC_ERR_BAD_LENGTH);
    CHECK_STATUS(mcsec_mikey_build_rand(&b, big, 256), MCSEC_ERR_BAD_LENGTH);
    CHECK_STATUS(mcsec_mikey_build_rand(&b, NULL, 16), MCSEC_ERR_BAD_LENGTH);
    CHECK_STATUS(mcsec_mikey_build_t(&b, 2, 0x100000000ull), MCSEC_ERR_BAD_LENGTH);
    CHECK_STATUS(mcsec_mikey_build_sakke(&b, 2, 2, encap, 10), MCSEC_ERR_UNSUPPORTED);
    CHECK_STATUS(mcsec_mikey_build_sakke(&b, 1, 3, encap, 10), MCSEC_ERR_UNSUPPORTED);
    CHECK_STATUS(mcsec_mikey_build_idr(&b, 10, 1, encap, 10), MCSEC_ERR_UNSUPPORTED);
    CHECK_STATUS(mcsec_mikey_build_idr(&b, 0, 1, encap, 10), MCSEC_ERR_UNSUPPORTED);
    CHECK_STATUS(mcsec_mikey_build_kemac(&b, 3, encap, 10, 0, NULL, NULL), MCSEC_ERR_UNSUPPORTED);
    CHECK_STATUS(mcsec_mikey_build_kemac(&b, 1, encap, 10, 3, NULL, NULL), MCSEC_ERR_UNSUPPORTED);
    CHECK_STATUS(mcsec_mikey_build_idr(&b, 1, 1, encap, 0x10000), MCSEC_ERR_BAD_LENGTH);
    mcsec_mikey_payload_t p = {.type = MCSEC_MIKEY_PT_KEY_DATA};
    CHECK_STATUS(mcsec_mikey_build_payload(&b, &p), MCSEC_ERR_BAD_INPUT);
    p.type = 19;
    CHECK_STATUS(mcsec_mikey_build_payload(&b, &p), MCSEC_ERR_BAD_INPUT);
    p.type = MCSEC_MIKEY_PT_SIGN;
    CHECK_STATUS(mcsec_mikey_build_payload(&b, &p), MCSEC_ERR_BAD_INPUT);
    p = (mcsec_mikey_payload_t){.type = MCSEC_MIKEY_PT_SP, .u.sp = {0, 0, {big, 1}}};
    CHECK_STATUS(mcsec_mikey_build_payload(&b, &p), MCSEC_ERR_BAD_INPUT); /* list does not decode */
    mcsec_mikey_key_data_t kd = {.type = 0};
    CHECK_STATUS(mcsec_mikey_build_key_data(&b, &kd), MCSEC_ERR_BAD_INPUT); /* message builder */
    CHECK(b.len == 10);
    /* SIGN: type, length, the order of the two calls, nothing after it. */
    size_t sl;
    CHECK_STATUS(mcsec_mikey_build_sign_finish(&b, eccsi, 129), MCSEC_ERR_BAD_INPUT);
    CHECK_STATUS(mcsec_mikey_build_sign_begin(&b, 3, 129, &sl), MCSEC_ERR_UNSUPPORTED);
    CHECK_STATUS(mcsec_mikey_build_sign_begin(&b, 2, 4096, &sl), MCSEC_ERR_BAD_LENGTH);
    CHECK_STATUS(mcsec_mikey_build_sign_begin(&b, 2, 245, &sl), MCSEC_ERR_BAD_LENGTH);
    CHECK_STATUS(mcsec_mikey_build_sign_begin(&b, 2, 129, &sl), MCSEC_OK);
    CHECK(sl == 12 && big[2] == 4);
    CHECK_STATUS(mcsec_mikey_build_t(&b, 0, 1), MCSEC_ERR_BAD_INPUT);
    CHECK_STATUS(mcsec_mikey_build_sign_finish(&b, eccsi, 128), MCSEC_ERR_BAD_LENGTH);
    CHECK_STATUS(mcsec_mikey_build_sign_finish(&b, eccsi, 129), MCSEC_OK);
    CHECK_STATUS(mcsec_mikey_build_sign_finish(&b, eccsi, 129), MCSEC_ERR_BAD_INPUT);
    CHECK_STATUS(mcsec_mikey_parse(big, b.len, &msg), MCSEC_OK);
    CHECK(msg.count == 1 && msg.has_sign && msg.signed_data.len == 12);
    /* Raw maps must decode to n_cs sessions. */
    mcsec_mikey_hdr_t h2 = {.n_cs = 2, .map_type = 0, .map = {big, 9}};
    mcsec_mikey_builder_init(&b, buf, sizeof buf);
    CHECK_STATUS(mcsec_mikey_build_hdr(&b, &h2, NULL), MCSEC_ERR_BAD_INPUT);
    h2.map.len = 19;
    CHECK_STATUS(mcsec_mikey_build_hdr(&b, &h2, NULL), MCSEC_ERR_BAD_INPUT);
    h2.map.len = 18;
    CHECK_STATUS(mcsec_mikey_build_hdr(&b, &h2, NULL), MCSEC_OK);
    h2.data_type = 27;
    mcsec_mikey_builder_init(&b, buf, sizeof buf);
    CHECK_STATUS(mcsec_mikey_build_hdr(&b, &h2, NULL), MCSEC_ERR_UNSUPPORTED);
    CHECK_STATUS(mcsec_mikey_build_hdr(NULL, &h2, NULL), MCSEC_ERR_BAD_INPUT);
    CHECK_STATUS(mcsec_mikey_build_hdr(&b, NULL, NULL), MCSEC_ERR_BAD_INPUT);
}

/* Parse time of the GMK I_MESSAGE (informational; mcsec-bench owns the number). */
static void test_speed(void) {
    raw_t r;
    gmk_raw(&r);
    struct timespec a, z;
    const int iters = 200000;
    int bad = 0;
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (int i = 0; i < iters; i++)
        bad += mcsec_mikey_parse(r.b, r.n, &msg) != MCSEC_OK;
    clock_gettime(CLOCK_MONOTONIC, &z);
    CHECK(bad == 0);
    double ns = ((double)(z.tv_sec - a.tv_sec) * 1e9 + (double)(z.tv_nsec - a.tv_nsec)) / iters;
    printf("parse GMK I_MESSAGE (%zu octets, %zu payloads): %.0f ns\n", r.n, msg.count, ns);
}

static int write_corpus(const char *dir) {
    raw_t r;
    struct {
        const char *name;
        const uint8_t *p;
        size_t n;
    } files[6];
    static uint8_t gmk[1024], gsk[1024];
    size_t ng, nk;
    gmk_raw(&r);
    memcpy(gmk, r.b, ng = r.n);
    gsk_raw(&r);
    memcpy(gsk, r.b, nk = r.n);
    files[0] = (typeof(files[0])){"gmk_i_message", gmk, ng};
    files[1] = (typeof(files[0])){"gsk_message", gsk, nk};
    files[2] = (typeof(files[0])){"all_srtp_id", allmsg[0], allmsg_len[0]};
    files[3] = (typeof(files[0])){"all_empty_map", allmsg[1], allmsg_len[1]};
    files[4] = (typeof(files[0])){"all_generic_id", allmsg[2], allmsg_len[2]};
    files[5] = (typeof(files[0])){"key_data", kdplain, kdplain_len};
    for (size_t i = 0; i < 6; i++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", dir, files[i].name);
        FILE *f = fopen(path, "wb");
        if (f == NULL || fwrite(files[i].p, 1, files[i].n, f) != files[i].n || fclose(f) != 0) {
            fprintf(stderr, "cannot write %s\n", path);
            return 1;
        }
    }
    return 0;
}

int main(int argc, char **argv) {
    init_values();
    test_gmk_layout();
    test_gsk_layout();
    test_all_payloads();
    if (argc == 3 && strcmp(argv[1], "--write-corpus") == 0) return write_corpus(argv[2]);
    test_truncation();
    test_length_fields();
    test_structure();
    test_limits();
    test_builder();
    test_speed();
    return test_summary();
}
