/* MIKEY builder: payloads appended into a caller buffer, "next payload" octets patched as the
 * message grows.
 *
 * Each payload is encoded by one function from its decoded form (mcsec_mikey_payload_t), the
 * mirror of the parser, after mcsec_mikey_payload_check() has accepted its field values. The
 * encoder writes past b->len only, and only commits (patches the previous next payload octet
 * and advances len) once the whole payload fitted, so a failed call changes nothing. */
#include <stdint.h>
#include <string.h>

#include "mcsec/mikey.h"

enum { ST_EMPTY, ST_MSG, ST_KEY_DATA, ST_SIGN, ST_DONE };

typedef struct {
    uint8_t *p;
    size_t cap;
    size_t n;
    int over;
} wr_t;

static void put(wr_t *w, const uint8_t *src, size_t n) {
    if (w->over || w->cap - w->n < n) {
        w->over = 1;
        return;
    }
    if (src != NULL)
        memmove(w->p + w->n, src, n); /* build_sp copies a list onto itself */
    else
        memset(w->p + w->n, 0, n);
    w->n += n;
}

static void put8(wr_t *w, unsigned v) {
    uint8_t o = (uint8_t)v;
    put(w, &o, 1);
}

static void put16(wr_t *w, unsigned v) {
    uint8_t o[2] = {(uint8_t)(v >> 8), (uint8_t)v};
    put(w, o, 2);
}

static void put32(wr_t *w, uint32_t v) {
    uint8_t o[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
    put(w, o, 4);
}

static int span_ok(mcsec_mikey_span_t s, size_t max) {
    return s.len <= max && (s.len == 0 || s.p != NULL);
}

/* len8 | data; len16 | data */
static void put_lv8(wr_t *w, mcsec_mikey_span_t s) {
    put8(w, (unsigned)s.len);
    put(w, s.p, s.len);
}

static void put_lv16(wr_t *w, mcsec_mikey_span_t s) {
    put16(w, (unsigned)s.len);
    put(w, s.p, s.len);
}

static mcsec_status_t put_kv(wr_t *w, const mcsec_mikey_kv_t *kv) {
    if (kv->type == MCSEC_MIKEY_KV_SPI) {
        if (!span_ok(kv->spi, 255)) return MCSEC_ERR_BAD_LENGTH;
        put_lv8(w, kv->spi);
    } else if (kv->type == MCSEC_MIKEY_KV_INTERVAL) {
        if (!span_ok(kv->from, 255) || !span_ok(kv->to, 255)) return MCSEC_ERR_BAD_LENGTH;
        put_lv8(w, kv->from);
        put_lv8(w, kv->to);
    }
    return MCSEC_OK;
}

/* The body of a payload after its next payload octet. Field values are already checked. */
static mcsec_status_t put_body(wr_t *w, const mcsec_mikey_payload_t *p) {
    const mcsec_mikey_span_t *s = NULL; /* the length-prefixed data of the tlv16 shapes */
    unsigned f0 = 0, f1 = 0, nfix = 1;
    int ilen;

    switch (p->type) {
    case MCSEC_MIKEY_PT_KEMAC:
        ilen = mcsec_mikey_implied_len(p->type, p->u.kemac.mac_alg);
        if (!span_ok(p->u.kemac.encr, 0xffff) || p->u.kemac.mac.len != (size_t)ilen)
            return MCSEC_ERR_BAD_LENGTH;
        put8(w, p->u.kemac.encr_alg);
        put_lv16(w, p->u.kemac.encr);
        put8(w, p->u.kemac.mac_alg);
        put(w, p->u.kemac.mac.p, p->u.kemac.mac.len); /* NULL: zeros, filled in later */
        return MCSEC_OK;
    case MCSEC_MIKEY_PT_PKE:
        if (!span_ok(p->u.pke.data, 0x3fff)) return MCSEC_ERR_BAD_LENGTH;
        put16(w, (unsigned)p->u.pke.cache << 14 | (unsigned)p->u.pke.data.len);
        put(w, p->u.pke.data.p, p->u.pke.data.len);
        return MCSEC_OK;
    case MCSEC_MIKEY_PT_DH:
        ilen = mcsec_mikey_implied_len(p->type, p->u.dh.group);
        if (!span_ok(p->u.dh.value, (size_t)ilen) || p->u.dh.value.len != (size_t)ilen)
            return MCSEC_ERR_BAD_LENGTH;
        put8(w, p->u.dh.group);
        put(w, p->u.dh.value.p, p->u.dh.value.len);
        put8(w, (unsigned)p->u.dh.reserved << 4 | p->u.dh.kv.type);
        return put_kv(w, &p->u.dh.kv);
    case MCSEC_MIKEY_PT_T:
        put8(w, p->u.t.ts_type);
        if (mcsec_mikey_implied_len(p->type, p->u.t.ts_type) == 8) {
            put32(w, (uint32_t)(p->u.t.value >> 32));
        } else if (p->u.t.value > UINT32_MAX) {
            return MCSEC_ERR_BAD_LENGTH;
        }
        put32(w, (uint32_t)p->u.t.value);
        return MCSEC_OK;
    case MCSEC_MIKEY_PT_ID:
        f0 = p->u.id.id_type;
        s = &p->u.id.data;
        break;
    case MCSEC_MIKEY_PT_CERT:
        f0 = p->u.cert.cert_type;
        s = &p->u.cert.data;
        break;
    case MCSEC_MIKEY_PT_GENERAL_EXT:
        f0 = p->u.ext.ext_type;
        s = &p->u.ext.data;
        break;
    case MCSEC_MIKEY_PT_IDR:
        f0 = p->u.idr.role, f1 = p->u.idr.id_type, nfix = 2;
        s = &p->u.idr.data;
        break;
    case MCSEC_MIKEY_PT_SAKKE:
        f0 = p->u.sakke.params, f1 = p->u.sakke.id_scheme, nfix = 2;
        s = &p->u.sakke.data;
        break;
    case MCSEC_MIKEY_PT_SP: {
        size_t cur = 0;
        mcsec_mikey_sp_param_t prm;
        while (cur < p->u.sp.params.len)
            if (!mcsec_mikey_sp_next(&p->u.sp, &cur, &prm))
                return MCSEC_ERR_BAD_INPUT; /* a raw parameter list that does not decode */
        f0 = p->u.sp.policy_no, f1 = p->u.sp.protocol, nfix = 2;
        s = &p->u.sp.params;
        break;
    }
    case MCSEC_MIKEY_PT_CHASH:
    case MCSEC_MIKEY_PT_V: {
        uint8_t sel = p->type == MCSEC_MIKEY_PT_V ? p->u.v.mac_alg : p->u.chash.func;
        mcsec_mikey_span_t v = p->type == MCSEC_MIKEY_PT_V ? p->u.v.mac : p->u.chash.hash;
        if (v.len != (size_t)mcsec_mikey_implied_len(p->type, sel)) return MCSEC_ERR_BAD_LENGTH;
        put8(w, sel);
        put(w, v.p, v.len);
        return MCSEC_OK;
    }
    case MCSEC_MIKEY_PT_RAND:
        if (!span_ok(p->u.rand.data, 255)) return MCSEC_ERR_BAD_LENGTH;
        put_lv8(w, p->u.rand.data);
        return MCSEC_OK;
    case MCSEC_MIKEY_PT_ERR:
        put8(w, p->u.err.code);
        put16(w, p->u.err.reserved);
        return MCSEC_OK;
    default:
        return MCSEC_ERR_BAD_INPUT; /* SIGN has its own functions; KEY_DATA too */
    }
    if (!span_ok(*s, 0xffff)) return MCSEC_ERR_BAD_LENGTH;
    put8(w, f0);
    if (nfix == 2) put8(w, f1);
    put_lv16(w, *s);
    return MCSEC_OK;
}

/* Makes the payload just written at b->len the last one. */
static void commit(mcsec_mikey_builder_t *b, uint8_t type, size_t n, int has_next) {
    if (b->next_at != SIZE_MAX) b->buf[b->next_at] = type;
    b->next_at = has_next ? b->len : SIZE_MAX;
    b->len += n;
}

void mcsec_mikey_builder_init(mcsec_mikey_builder_t *b, uint8_t *buf, size_t cap) {
    if (b == NULL) return;
    b->buf = buf;
    b->cap = buf != NULL ? cap : 0;
    b->len = 0;
    b->next_at = SIZE_MAX;
    b->state = ST_EMPTY;
    b->sig_len = 0;
    b->seen = 0;
    memset(b->sp_seen, 0, sizeof b->sp_seen);
}

static wr_t writer(const mcsec_mikey_builder_t *b) {
    return (wr_t){b->buf + b->len, b->cap - b->len, 0, 0};
}

mcsec_status_t mcsec_mikey_build_hdr(mcsec_mikey_builder_t *b, const mcsec_mikey_hdr_t *h,
                                     const mcsec_mikey_cs_t *cs) {
    if (b == NULL || h == NULL || b->buf == NULL || b->state != ST_EMPTY)
        return MCSEC_ERR_BAD_INPUT;
    if ((h->data_type > 16 && h->data_type != MCSEC_MIKEY_DT_SAKKE) || h->v > 1 ||
        h->prf > MCSEC_MIKEY_PRF_HMAC_SHA256 || h->map_type > MCSEC_MIKEY_MAP_GENERIC_ID)
        return MCSEC_ERR_UNSUPPORTED;
    wr_t w = writer(b);
    put8(&w, MCSEC_MIKEY_VERSION);
    put8(&w, h->data_type);
    put8(&w, MCSEC_MIKEY_PT_LAST);
    put8(&w, (unsigned)h->v << 7 | h->prf);
    put32(&w, h->csb_id);
    put8(&w, h->n_cs);
    put8(&w, h->map_type);
    if (h->map_type == MCSEC_MIKEY_MAP_EMPTY) {
        /* no map info */
    } else if (cs == NULL) {
        size_t cur = 0;
        mcsec_mikey_cs_t tmp;
        for (unsigned i = 0; i < h->n_cs; i++)
            if (!mcsec_mikey_cs_next(h, &cur, &tmp)) return MCSEC_ERR_BAD_INPUT;
        if (cur != h->map.len) return MCSEC_ERR_BAD_INPUT;
        put(&w, h->map.p, h->map.len);
    } else {
        for (unsigned i = 0; i < h->n_cs; i++) {
            const mcsec_mikey_cs_t *c = &cs[i];
            if (h->map_type == MCSEC_MIKEY_MAP_SRTP_ID) {
                put8(&w, c->policy_no);
                put32(&w, c->ssrc);
                put32(&w, c->roc);
                continue;
            }
            if (c->s > 1 || !span_ok(c->policies, 127) || !span_ok(c->session_data, 0xffff) ||
                !span_ok(c->spi, 255))
                return MCSEC_ERR_BAD_LENGTH;
            put8(&w, c->cs_id);
            put8(&w, c->protocol);
            put8(&w, (unsigned)c->s << 7 | (unsigned)c->policies.len);
            put(&w, c->policies.p, c->policies.len);
            put_lv16(&w, c->session_data);
            put_lv8(&w, c->spi);
        }
    }
    if (w.over) return MCSEC_ERR_BAD_LENGTH;
    b->len = w.n;
    b->next_at = 2;
    b->state = ST_MSG;
    return MCSEC_OK;
}

mcsec_status_t mcsec_mikey_build_payload(mcsec_mikey_builder_t *b, const mcsec_mikey_payload_t *p) {
    if (b == NULL || p == NULL || b->state != ST_MSG || p->type == MCSEC_MIKEY_PT_SIGN)
        return MCSEC_ERR_BAD_INPUT;
    mcsec_status_t st = mcsec_mikey_payload_check(p);
    if (st == MCSEC_ERR_STRUCTURE) return MCSEC_ERR_BAD_INPUT;
    if (st != MCSEC_OK) return st;
    int is_sp = p->type == MCSEC_MIKEY_PT_SP;
    uint8_t no = is_sp ? p->u.sp.policy_no : 0;
    if (((MCSEC_MIKEY_ONCE_MASK & b->seen) >> p->type) & 1 ||
        (is_sp && (b->sp_seen[no >> 6] >> (no & 63)) & 1))
        return MCSEC_ERR_STRUCTURE;
    wr_t w = writer(b);
    put8(&w, MCSEC_MIKEY_PT_LAST);
    if ((st = put_body(&w, p)) != MCSEC_OK) return st;
    if (w.over) return MCSEC_ERR_BAD_LENGTH;
    commit(b, p->type, w.n, 1);
    b->seen |= 1u << p->type;
    if (is_sp) b->sp_seen[no >> 6] |= (uint64_t)1 << (no & 63);
    return MCSEC_OK;
}

static mcsec_mikey_span_t sp_(const uint8_t *p, size_t len) {
    return (mcsec_mikey_span_t){p, len};
}

mcsec_status_t mcsec_mikey_build_t(mcsec_mikey_builder_t *b, uint8_t ts_type, uint64_t value) {
    mcsec_mikey_payload_t p = {.type = MCSEC_MIKEY_PT_T};
    p.u.t = (mcsec_mikey_t_t){ts_type, value};
    return mcsec_mikey_build_payload(b, &p);
}

mcsec_status_t mcsec_mikey_build_rand(mcsec_mikey_builder_t *b, const uint8_t *rand, size_t len) {
    mcsec_mikey_payload_t p = {.type = MCSEC_MIKEY_PT_RAND};
    p.u.rand.data = sp_(rand, len);
    return mcsec_mikey_build_payload(b, &p);
}

mcsec_status_t mcsec_mikey_build_id(mcsec_mikey_builder_t *b, uint8_t id_type, const uint8_t *id,
                                    size_t len) {
    mcsec_mikey_payload_t p = {.type = MCSEC_MIKEY_PT_ID};
    p.u.id = (mcsec_mikey_id_t){0, id_type, sp_(id, len)};
    return mcsec_mikey_build_payload(b, &p);
}

mcsec_status_t mcsec_mikey_build_idr(mcsec_mikey_builder_t *b, uint8_t role, uint8_t id_type,
                                     const uint8_t *id, size_t len) {
    mcsec_mikey_payload_t p = {.type = MCSEC_MIKEY_PT_IDR};
    p.u.idr = (mcsec_mikey_id_t){role, id_type, sp_(id, len)};
    return mcsec_mikey_build_payload(b, &p);
}

mcsec_status_t mcsec_mikey_build_sp(mcsec_mikey_builder_t *b, uint8_t policy_no, uint8_t protocol,
                                    const mcsec_mikey_sp_param_t *params, size_t n) {
    if (b == NULL || (params == NULL && n > 0)) return MCSEC_ERR_BAD_INPUT;
    if (b->state != ST_MSG) return MCSEC_ERR_BAD_INPUT;
    /* Encode the parameter list in place (after the 5 octets of SP header), then reuse the
     * generic path with it as the raw list: it is copied onto itself. */
    if (b->cap - b->len < 5) return MCSEC_ERR_BAD_LENGTH;
    wr_t w = {b->buf + b->len + 5, b->cap - b->len - 5, 0, 0};
    for (size_t i = 0; i < n; i++) {
        if (!span_ok(params[i].value, 255)) return MCSEC_ERR_BAD_LENGTH;
        put8(&w, params[i].type);
        put_lv8(&w, params[i].value);
    }
    if (w.over || w.n > 0xffff) return MCSEC_ERR_BAD_LENGTH;
    mcsec_mikey_payload_t p = {.type = MCSEC_MIKEY_PT_SP};
    p.u.sp = (mcsec_mikey_sp_t){policy_no, protocol, sp_(w.p, w.n)};
    return mcsec_mikey_build_payload(b, &p);
}

static mcsec_status_t build_mac(mcsec_mikey_builder_t *b, mcsec_mikey_payload_t *p, size_t mac_len,
                                size_t *mac_off) {
    mcsec_status_t st = mcsec_mikey_build_payload(b, p);
    if (st == MCSEC_OK && mac_off != NULL) *mac_off = b->len - mac_len;
    return st;
}

mcsec_status_t mcsec_mikey_build_kemac(mcsec_mikey_builder_t *b, uint8_t encr_alg,
                                       const uint8_t *encr, size_t encr_len, uint8_t mac_alg,
                                       const uint8_t *mac, size_t *mac_off) {
    int ml = mcsec_mikey_implied_len(MCSEC_MIKEY_PT_KEMAC, mac_alg);
    if (ml < 0) return MCSEC_ERR_UNSUPPORTED;
    mcsec_mikey_payload_t p = {.type = MCSEC_MIKEY_PT_KEMAC};
    p.u.kemac = (mcsec_mikey_kemac_t){encr_alg, sp_(encr, encr_len), mac_alg, sp_(mac, (size_t)ml)};
    return build_mac(b, &p, (size_t)ml, mac_off);
}

mcsec_status_t mcsec_mikey_build_v(mcsec_mikey_builder_t *b, uint8_t mac_alg, const uint8_t *mac,
                                   size_t *mac_off) {
    int ml = mcsec_mikey_implied_len(MCSEC_MIKEY_PT_V, mac_alg);
    if (ml < 0) return MCSEC_ERR_UNSUPPORTED;
    mcsec_mikey_payload_t p = {.type = MCSEC_MIKEY_PT_V};
    p.u.v = (mcsec_mikey_v_t){mac_alg, sp_(mac, (size_t)ml)};
    return build_mac(b, &p, (size_t)ml, mac_off);
}

mcsec_status_t mcsec_mikey_build_sakke(mcsec_mikey_builder_t *b, uint8_t params, uint8_t id_scheme,
                                       const uint8_t *data, size_t len) {
    mcsec_mikey_payload_t p = {.type = MCSEC_MIKEY_PT_SAKKE};
    p.u.sakke = (mcsec_mikey_sakke_t){params, id_scheme, sp_(data, len)};
    return mcsec_mikey_build_payload(b, &p);
}

mcsec_status_t mcsec_mikey_build_general_ext(mcsec_mikey_builder_t *b, uint8_t ext_type,
                                             const uint8_t *data, size_t len) {
    mcsec_mikey_payload_t p = {.type = MCSEC_MIKEY_PT_GENERAL_EXT};
    p.u.ext = (mcsec_mikey_ext_t){ext_type, sp_(data, len)};
    return mcsec_mikey_build_payload(b, &p);
}

mcsec_status_t mcsec_mikey_build_err(mcsec_mikey_builder_t *b, uint8_t code) {
    mcsec_mikey_payload_t p = {.type = MCSEC_MIKEY_PT_ERR};
    p.u.err = (mcsec_mikey_err_t){code, 0};
    return mcsec_mikey_build_payload(b, &p);
}

mcsec_status_t mcsec_mikey_build_key_data(mcsec_mikey_builder_t *b,
                                          const mcsec_mikey_key_data_t *kd) {
    if (b == NULL || kd == NULL || b->buf == NULL ||
        (b->state != ST_EMPTY && b->state != ST_KEY_DATA))
        return MCSEC_ERR_BAD_INPUT;
    if (kd->type > MCSEC_MIKEY_KEY_TEK_SALT || kd->kv.type > MCSEC_MIKEY_KV_INTERVAL)
        return MCSEC_ERR_UNSUPPORTED;
    int salted = kd->type == MCSEC_MIKEY_KEY_TGK_SALT || kd->type == MCSEC_MIKEY_KEY_TEK_SALT;
    if (!span_ok(kd->key, 0xffff) || (salted && !span_ok(kd->salt, 0xffff)))
        return MCSEC_ERR_BAD_LENGTH;
    wr_t w = writer(b);
    put8(&w, MCSEC_MIKEY_PT_LAST);
    put8(&w, (unsigned)kd->type << 4 | kd->kv.type);
    put_lv16(&w, kd->key);
    if (salted) put_lv16(&w, kd->salt);
    mcsec_status_t st = put_kv(&w, &kd->kv);
    if (st != MCSEC_OK) return st;
    if (w.over) return MCSEC_ERR_BAD_LENGTH;
    commit(b, MCSEC_MIKEY_PT_KEY_DATA, w.n, 1);
    b->state = ST_KEY_DATA;
    return MCSEC_OK;
}

mcsec_status_t mcsec_mikey_build_sign_begin(mcsec_mikey_builder_t *b, uint8_t sign_type,
                                            size_t sig_len, size_t *signed_len) {
    if (b == NULL || signed_len == NULL || b->state != ST_MSG) return MCSEC_ERR_BAD_INPUT;
    if (sign_type > MCSEC_MIKEY_SIGN_ECCSI) return MCSEC_ERR_UNSUPPORTED;
    if (sig_len > 0x0fff || b->cap - b->len < 2 || b->cap - b->len - 2 < sig_len)
        return MCSEC_ERR_BAD_LENGTH;
    b->buf[b->len] = (uint8_t)(sign_type << 4 | sig_len >> 8);
    b->buf[b->len + 1] = (uint8_t)sig_len;
    commit(b, MCSEC_MIKEY_PT_SIGN, 2, 0);
    b->state = ST_SIGN;
    b->sig_len = sig_len;
    *signed_len = b->len;
    return MCSEC_OK;
}

mcsec_status_t mcsec_mikey_build_sign_finish(mcsec_mikey_builder_t *b, const uint8_t *sig,
                                             size_t sig_len) {
    if (b == NULL || (sig == NULL && sig_len > 0) || b->state != ST_SIGN)
        return MCSEC_ERR_BAD_INPUT;
    if (sig_len != b->sig_len) return MCSEC_ERR_BAD_LENGTH;
    if (sig_len > 0) memcpy(b->buf + b->len, sig, sig_len); /* room reserved by sign_begin */
    b->len += sig_len;
    b->state = ST_DONE;
    return MCSEC_OK;
}
