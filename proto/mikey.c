/* MIKEY parser (RFC 3830 6, RFC 6043 6, RFC 6509 4): a pure function from octets to views.
 *
 * One linear pass. Every read is preceded by a bounds check (MCSEC_ERR_TRUNCATED), lengths
 * are compared as "remaining >= n" so they cannot overflow, the payload count is bounded, and
 * field values go through mcsec_mikey_payload_check() (mikey_payloads.c), which the builder
 * uses too. Nothing is allocated or copied. */
#include <string.h>

#include "mcsec/mikey.h"

/* Payload types allowed after HDR: 1-12, IDR, GENERAL_EXT, SAKKE. KEY_DATA lives only inside
 * KEMAC; anything else is MCSEC_ERR_STRUCTURE, except the RFC 6043 ticket payloads, which are
 * well defined but not implemented (MCSEC_ERR_UNSUPPORTED). */
#define KNOWN_MASK                                                                                 \
    (0x1ffeu | (1u << MCSEC_MIKEY_PT_IDR) | (1u << MCSEC_MIKEY_PT_GENERAL_EXT) |                   \
     (1u << MCSEC_MIKEY_PT_SAKKE))
#define TICKET_MASK                                                                                \
    ((1u << MCSEC_MIKEY_PT_TR) | (1u << MCSEC_MIKEY_PT_RANDR) | (1u << MCSEC_MIKEY_PT_TP) |        \
     (1u << MCSEC_MIKEY_PT_TICKET))

typedef struct {
    const uint8_t *b;
    size_t len;
    size_t off; /* invariant: off <= len */
} rd_t;

#define NEED(r, n)                                                                                 \
    do {                                                                                           \
        if ((r)->len - (r)->off < (size_t)(n)) return MCSEC_ERR_TRUNCATED;                         \
    } while (0)

static inline uint16_t be16(const uint8_t *p) {
    return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t be32(const uint8_t *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline uint8_t get8(rd_t *r) {
    return r->b[r->off++];
}

static inline uint16_t get16(rd_t *r) {
    uint16_t v = be16(r->b + r->off);
    r->off += 2;
    return v;
}

static inline mcsec_mikey_span_t take(rd_t *r, size_t n) {
    mcsec_mikey_span_t s = {r->b + r->off, n};
    r->off += n;
    return s;
}

/* A length-prefixed field: len8 | data. */
static mcsec_status_t lv8(rd_t *r, mcsec_mikey_span_t *out) {
    NEED(r, 1);
    size_t n = get8(r);
    NEED(r, n);
    *out = take(r, n);
    return MCSEC_OK;
}

/* KV data of KEY_DATA and DH (RFC 3830 6.13): SPI: len8 | SPI; interval: len8 | VF | len8 | VT. */
static mcsec_status_t parse_kv(rd_t *r, uint8_t type, mcsec_mikey_kv_t *kv) {
    memset(kv, 0, sizeof *kv);
    kv->type = type;
    switch (type) {
    case MCSEC_MIKEY_KV_NULL:
        return MCSEC_OK;
    case MCSEC_MIKEY_KV_SPI:
        return lv8(r, &kv->spi);
    case MCSEC_MIKEY_KV_INTERVAL: {
        mcsec_status_t st = lv8(r, &kv->from);
        return st != MCSEC_OK ? st : lv8(r, &kv->to);
    }
    default:
        return MCSEC_ERR_UNSUPPORTED;
    }
}

int mcsec_mikey_cs_next(const mcsec_mikey_hdr_t *h, size_t *cursor, mcsec_mikey_cs_t *out) {
    if (h == NULL || cursor == NULL || out == NULL || h->map.p == NULL || *cursor >= h->map.len)
        return 0;
    rd_t r = {h->map.p, h->map.len, *cursor};
    memset(out, 0, sizeof *out);
    if (h->map_type == MCSEC_MIKEY_MAP_SRTP_ID) {
        if (r.len - r.off < 9) return 0;
        out->policy_no = get8(&r);
        out->ssrc = be32(r.b + r.off);
        out->roc = be32(r.b + r.off + 4);
        r.off += 8;
    } else if (h->map_type == MCSEC_MIKEY_MAP_GENERIC_ID) {
        if (r.len - r.off < 3) return 0;
        out->cs_id = get8(&r);
        out->protocol = get8(&r);
        uint8_t sp = get8(&r);
        out->s = sp >> 7;
        size_t np = sp & 0x7f;
        if (r.len - r.off < np) return 0;
        out->policies = take(&r, np);
        if (r.len - r.off < 2) return 0;
        size_t sdl = get16(&r);
        if (r.len - r.off < sdl) return 0;
        out->session_data = take(&r, sdl);
        if (lv8(&r, &out->spi) != MCSEC_OK) return 0;
    } else {
        return 0;
    }
    *cursor = r.off;
    return 1;
}

int mcsec_mikey_sp_next(const mcsec_mikey_sp_t *sp, size_t *cursor, mcsec_mikey_sp_param_t *out) {
    if (sp == NULL || cursor == NULL || out == NULL || sp->params.p == NULL ||
        *cursor >= sp->params.len)
        return 0;
    rd_t r = {sp->params.p, sp->params.len, *cursor};
    if (r.len - r.off < 2) return 0;
    out->type = get8(&r);
    if (lv8(&r, &out->value) != MCSEC_OK) return 0;
    *cursor = r.off;
    return 1;
}

int mcsec_mikey_sp_find(const mcsec_mikey_sp_t *sp, uint8_t type, mcsec_mikey_sp_param_t *out) {
    size_t cur = 0;
    while (mcsec_mikey_sp_next(sp, &cur, out))
        if (out->type == type) return 1;
    return 0;
}

/* HDR (RFC 3830 6.1, RFC 6043 6.1.1): 10 fixed octets then the CS ID map. */
static mcsec_status_t parse_hdr(rd_t *r, mcsec_mikey_hdr_t *h) {
    NEED(r, 10);
    const uint8_t *b = r->b;
    h->version = b[0];
    h->data_type = b[1];
    h->next = b[2];
    h->v = b[3] >> 7;
    h->prf = b[3] & 0x7f;
    h->csb_id = be32(b + 4);
    h->n_cs = b[8];
    h->map_type = b[9];
    r->off = 10;
    if (h->version != MCSEC_MIKEY_VERSION) return MCSEC_ERR_UNSUPPORTED;
    if (h->data_type > 16 && h->data_type != MCSEC_MIKEY_DT_SAKKE) return MCSEC_ERR_UNSUPPORTED;
    if (h->prf > MCSEC_MIKEY_PRF_HMAC_SHA256 || h->map_type > MCSEC_MIKEY_MAP_GENERIC_ID)
        return MCSEC_ERR_UNSUPPORTED;
    h->map = (mcsec_mikey_span_t){b + 10, r->len - 10};
    size_t cur = 0;
    if (h->map_type != MCSEC_MIKEY_MAP_EMPTY) {
        mcsec_mikey_cs_t cs;
        for (unsigned i = 0; i < h->n_cs; i++)
            if (!mcsec_mikey_cs_next(h, &cur, &cs)) return MCSEC_ERR_TRUNCATED;
    }
    h->map.len = cur;
    r->off += cur;
    h->len = r->off;
    return MCSEC_OK;
}

/* The common shapes: next | f[0..nfix) | len16 | data. */
static mcsec_status_t tlv16(rd_t *r, unsigned nfix, uint8_t f[2], mcsec_mikey_span_t *data) {
    NEED(r, nfix + 2);
    for (unsigned i = 0; i < nfix; i++)
        f[i] = get8(r);
    size_t n = get16(r);
    NEED(r, n);
    *data = take(r, n);
    return MCSEC_OK;
}

/* next | selector | value whose length the selector implies (T, CHASH, V). */
static mcsec_status_t implied(rd_t *r, uint8_t type, uint8_t *sel, mcsec_mikey_span_t *val) {
    NEED(r, 1);
    *sel = get8(r);
    int n = mcsec_mikey_implied_len(type, *sel);
    if (n < 0) return MCSEC_ERR_UNSUPPORTED;
    NEED(r, n);
    *val = take(r, (size_t)n);
    return MCSEC_OK;
}

static mcsec_status_t parse_body(rd_t *r, mcsec_mikey_payload_t *p) {
    uint8_t f[2] = {0, 0}, c;
    mcsec_mikey_span_t s;
    mcsec_status_t st = MCSEC_OK;
    size_t n;

    switch (p->type) {
    case MCSEC_MIKEY_PT_KEMAC:
        if ((st = tlv16(r, 1, f, &p->u.kemac.encr)) != MCSEC_OK) return st;
        p->u.kemac.encr_alg = f[0];
        return implied(r, MCSEC_MIKEY_PT_KEMAC, &p->u.kemac.mac_alg, &p->u.kemac.mac);
    case MCSEC_MIKEY_PT_PKE: /* next | C(2) len(14) | data */
        NEED(r, 2);
        c = r->b[r->off];
        n = get16(r) & 0x3fff;
        NEED(r, n);
        p->u.pke.cache = c >> 6;
        p->u.pke.data = take(r, n);
        return MCSEC_OK;
    case MCSEC_MIKEY_PT_DH: /* next | group | value | reserved(4) KV(4) | KV data */
        if ((st = implied(r, MCSEC_MIKEY_PT_DH, &p->u.dh.group, &p->u.dh.value)) != MCSEC_OK)
            return st;
        NEED(r, 1);
        c = get8(r);
        p->u.dh.reserved = c >> 4;
        return parse_kv(r, c & 0x0f, &p->u.dh.kv);
    case MCSEC_MIKEY_PT_SIGN: /* S type(4) | len(12) | signature */
        NEED(r, 2);
        c = r->b[r->off];
        n = get16(r) & 0x0fff;
        p->u.sign.type = c >> 4;
        NEED(r, n);
        p->u.sign.sig = take(r, n);
        return MCSEC_OK;
    case MCSEC_MIKEY_PT_T:
        if ((st = implied(r, MCSEC_MIKEY_PT_T, &p->u.t.ts_type, &s)) != MCSEC_OK) return st;
        p->u.t.value = s.len == 8 ? (uint64_t)be32(s.p) << 32 | be32(s.p + 4) : be32(s.p);
        return MCSEC_OK;
    case MCSEC_MIKEY_PT_ID:
        st = tlv16(r, 1, f, &p->u.id.data);
        p->u.id.role = 0;
        p->u.id.id_type = f[0];
        return st;
    case MCSEC_MIKEY_PT_IDR:
        st = tlv16(r, 2, f, &p->u.idr.data);
        p->u.idr.role = f[0];
        p->u.idr.id_type = f[1];
        return st;
    case MCSEC_MIKEY_PT_CERT:
        st = tlv16(r, 1, f, &p->u.cert.data);
        p->u.cert.cert_type = f[0];
        return st;
    case MCSEC_MIKEY_PT_GENERAL_EXT:
        st = tlv16(r, 1, f, &p->u.ext.data);
        p->u.ext.ext_type = f[0];
        return st;
    case MCSEC_MIKEY_PT_SAKKE:
        st = tlv16(r, 2, f, &p->u.sakke.data);
        p->u.sakke.params = f[0];
        p->u.sakke.id_scheme = f[1];
        return st;
    case MCSEC_MIKEY_PT_SP: {
        if ((st = tlv16(r, 2, f, &p->u.sp.params)) != MCSEC_OK) return st;
        p->u.sp.policy_no = f[0];
        p->u.sp.protocol = f[1];
        size_t cur = 0;
        mcsec_mikey_sp_param_t prm;
        while (cur < p->u.sp.params.len)
            if (!mcsec_mikey_sp_next(&p->u.sp, &cur, &prm))
                return MCSEC_ERR_TRUNCATED; /* a parameter runs past the parameter block */
        return MCSEC_OK;
    }
    case MCSEC_MIKEY_PT_CHASH:
        return implied(r, MCSEC_MIKEY_PT_CHASH, &p->u.chash.func, &p->u.chash.hash);
    case MCSEC_MIKEY_PT_V:
        return implied(r, MCSEC_MIKEY_PT_V, &p->u.v.mac_alg, &p->u.v.mac);
    case MCSEC_MIKEY_PT_RAND:
        return lv8(r, &p->u.rand.data);
    case MCSEC_MIKEY_PT_ERR: /* next | error no | reserved(16) */
        NEED(r, 3);
        p->u.err.code = get8(r);
        p->u.err.reserved = get16(r);
        return MCSEC_OK;
    default:
        return MCSEC_ERR_STRUCTURE; /* filtered by the caller already */
    }
}

mcsec_status_t mcsec_mikey_parse(const uint8_t *buf, size_t len, mcsec_mikey_msg_t *m) {
    if (buf == NULL || m == NULL) return MCSEC_ERR_BAD_INPUT;
    m->buf = buf;
    m->len = len;
    m->count = 0;
    m->has_sign = 0;
    m->sign_off = 0;
    m->signed_data = m->signed_data_alt = (mcsec_mikey_span_t){NULL, 0};

    rd_t r = {buf, len, 0};
    mcsec_status_t st = parse_hdr(&r, &m->hdr);
    if (st != MCSEC_OK) return st;

    uint32_t seen = 0;
    uint64_t sp_seen[4] = {0, 0, 0, 0};
    uint8_t next = m->hdr.next;
    while (next != MCSEC_MIKEY_PT_LAST) {
        if (m->count == MCSEC_MIKEY_MAX_PAYLOADS) return MCSEC_ERR_STRUCTURE;
        mcsec_mikey_payload_t *p = &m->payload[m->count];
        p->type = next;
        p->next = 0;
        p->off = r.off;
        if (next > 31 || !((KNOWN_MASK >> next) & 1))
            return next <= 31 && ((TICKET_MASK >> next) & 1) ? MCSEC_ERR_UNSUPPORTED
                                                             : MCSEC_ERR_STRUCTURE;
        if ((MCSEC_MIKEY_ONCE_MASK >> next) & 1) {
            if ((seen >> next) & 1) return MCSEC_ERR_STRUCTURE;
            seen |= 1u << next;
        }
        if (next != MCSEC_MIKEY_PT_SIGN) {
            NEED(&r, 1);
            p->next = get8(&r);
        }
        if ((st = parse_body(&r, p)) != MCSEC_OK) return st;
        p->len = r.off - p->off;
        if ((st = mcsec_mikey_payload_check(p)) != MCSEC_OK) return st;
        if (next == MCSEC_MIKEY_PT_SP) {
            uint8_t no = p->u.sp.policy_no;
            if ((sp_seen[no >> 6] >> (no & 63)) & 1) return MCSEC_ERR_STRUCTURE;
            sp_seen[no >> 6] |= (uint64_t)1 << (no & 63);
        }
        m->count++;
        if (next == MCSEC_MIKEY_PT_SIGN) {
            m->has_sign = 1;
            m->sign_off = p->off;
            m->signed_data = (mcsec_mikey_span_t){buf, p->off + 2};
            m->signed_data_alt = (mcsec_mikey_span_t){buf, p->off};
            break; /* SIGN is last: anything after it is trailing data */
        }
        next = p->next;
    }
    return r.off == len ? MCSEC_OK : MCSEC_ERR_TRAILING_DATA;
}

mcsec_status_t mcsec_mikey_parse_key_data(const uint8_t *buf, size_t len,
                                          mcsec_mikey_key_data_t *out, size_t max, size_t *count) {
    if (buf == NULL || out == NULL || count == NULL) return MCSEC_ERR_BAD_INPUT;
    *count = 0;
    rd_t r = {buf, len, 0};
    size_t n = 0;
    uint8_t next = MCSEC_MIKEY_PT_KEY_DATA; /* the data starts with a KEY_DATA payload */
    while (next == MCSEC_MIKEY_PT_KEY_DATA) {
        if (n == max) return MCSEC_ERR_STRUCTURE;
        mcsec_mikey_key_data_t *k = &out[n];
        k->off = r.off;
        /* next | type(4) KV(4) | key len(16) | key | [salt len(16) | salt] | KV data */
        NEED(&r, 4);
        k->next = get8(&r);
        uint8_t tk = get8(&r);
        k->type = tk >> 4;
        size_t kl = get16(&r);
        if (k->type > MCSEC_MIKEY_KEY_TEK_SALT) return MCSEC_ERR_UNSUPPORTED;
        NEED(&r, kl);
        k->key = take(&r, kl);
        k->salt = (mcsec_mikey_span_t){NULL, 0};
        if (k->type == MCSEC_MIKEY_KEY_TGK_SALT || k->type == MCSEC_MIKEY_KEY_TEK_SALT) {
            NEED(&r, 2);
            size_t sl = get16(&r);
            NEED(&r, sl);
            k->salt = take(&r, sl);
        }
        mcsec_status_t st = parse_kv(&r, tk & 0x0f, &k->kv);
        if (st != MCSEC_OK) return st;
        k->len = r.off - k->off;
        next = k->next;
        n++;
        if (next != MCSEC_MIKEY_PT_LAST && next != MCSEC_MIKEY_PT_KEY_DATA)
            return MCSEC_ERR_STRUCTURE;
    }
    if (r.off != len) return MCSEC_ERR_TRAILING_DATA;
    *count = n;
    return MCSEC_OK;
}

const mcsec_mikey_payload_t *mcsec_mikey_find(const mcsec_mikey_msg_t *m, uint8_t type,
                                              size_t from) {
    if (m == NULL) return NULL;
    for (size_t i = from; i < m->count; i++)
        if (m->payload[i].type == type) return &m->payload[i];
    return NULL;
}

const mcsec_mikey_payload_t *mcsec_mikey_find_idr(const mcsec_mikey_msg_t *m, uint8_t role) {
    if (m == NULL) return NULL;
    for (size_t i = 0; i < m->count; i++)
        if (m->payload[i].type == MCSEC_MIKEY_PT_IDR && m->payload[i].u.idr.role == role)
            return &m->payload[i];
    return NULL;
}
