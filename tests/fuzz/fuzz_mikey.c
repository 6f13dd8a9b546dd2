/* libFuzzer target for the MIKEY codec: mcsec_mikey_parse and mcsec_mikey_parse_key_data.
 *
 * For inputs that parse, every view is read (so ASan sees any view outside the input), the
 * CS ID map and SP parameter lists are walked, and the message is rebuilt with the builder:
 * the rebuild must be octet-identical to the input and parse again. Seeds: corpus/mikey
 * (written by `test_proto_mikey --write-corpus`), dictionary: mikey.dict. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mcsec/mikey.h"

static volatile uint8_t sink;

static void touch(mcsec_mikey_span_t s) {
    uint8_t x = 0;
    for (size_t i = 0; i < s.len; i++)
        x ^= s.p[i];
    sink ^= x;
}

static void touch_kv(const mcsec_mikey_kv_t *kv) {
    touch(kv->spi);
    touch(kv->from);
    touch(kv->to);
}

static void check_key_data(const uint8_t *data, size_t size) {
    mcsec_mikey_key_data_t kd[16];
    size_t n = 0;
    if (mcsec_mikey_parse_key_data(data, size, kd, 16, &n) != MCSEC_OK) return;
    static uint8_t out[70000];
    mcsec_mikey_builder_t b;
    mcsec_mikey_builder_init(&b, out, sizeof out);
    for (size_t i = 0; i < n; i++) {
        touch(kd[i].key);
        touch(kd[i].salt);
        touch_kv(&kd[i].kv);
        if (mcsec_mikey_build_key_data(&b, &kd[i]) != MCSEC_OK) abort();
    }
    if (b.len != size || memcmp(out, data, size) != 0) abort();
}

static void walk(const mcsec_mikey_msg_t *m) {
    size_t cur = 0;
    mcsec_mikey_cs_t cs;
    while (mcsec_mikey_cs_next(&m->hdr, &cur, &cs)) {
        touch(cs.policies);
        touch(cs.session_data);
        touch(cs.spi);
    }
    if (cur != m->hdr.map.len) abort();
    for (size_t i = 0; i < m->count; i++) {
        const mcsec_mikey_payload_t *p = &m->payload[i];
        touch((mcsec_mikey_span_t){m->buf + p->off, p->len});
        switch (p->type) {
        case MCSEC_MIKEY_PT_KEMAC:
            touch(p->u.kemac.encr);
            touch(p->u.kemac.mac);
            check_key_data(p->u.kemac.encr.p, p->u.kemac.encr.len);
            break;
        case MCSEC_MIKEY_PT_SP: {
            mcsec_mikey_sp_param_t prm;
            size_t c = 0;
            while (mcsec_mikey_sp_next(&p->u.sp, &c, &prm))
                touch(prm.value);
            if (c != p->u.sp.params.len) abort();
            break;
        }
        case MCSEC_MIKEY_PT_DH:
            touch(p->u.dh.value);
            touch_kv(&p->u.dh.kv);
            break;
        case MCSEC_MIKEY_PT_SIGN:
            touch(p->u.sign.sig);
            touch(m->signed_data);
            touch(m->signed_data_alt);
            break;
        case MCSEC_MIKEY_PT_ID:
        case MCSEC_MIKEY_PT_IDR:
            touch(p->u.id.data);
            break;
        case MCSEC_MIKEY_PT_SAKKE:
            touch(p->u.sakke.data);
            break;
        case MCSEC_MIKEY_PT_RAND:
            touch(p->u.rand.data);
            break;
        default:
            break;
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static mcsec_mikey_msg_t m, m2;
    static uint8_t out[70000];

    check_key_data(data, size);
    if (mcsec_mikey_parse(data, size, &m) != MCSEC_OK) return 0;
    walk(&m);

    mcsec_mikey_builder_t b;
    mcsec_mikey_builder_init(&b, out, size < sizeof out ? size : sizeof out);
    if (mcsec_mikey_build_hdr(&b, &m.hdr, NULL) != MCSEC_OK) abort();
    for (size_t i = 0; i < m.count; i++) {
        const mcsec_mikey_payload_t *p = &m.payload[i];
        mcsec_status_t st;
        if (p->type == MCSEC_MIKEY_PT_SIGN) {
            size_t sl;
            st = mcsec_mikey_build_sign_begin(&b, p->u.sign.type, p->u.sign.sig.len, &sl);
            if (st == MCSEC_OK && sl != m.signed_data.len) abort();
            if (st == MCSEC_OK)
                st = mcsec_mikey_build_sign_finish(&b, p->u.sign.sig.p, p->u.sign.sig.len);
        } else {
            st = mcsec_mikey_build_payload(&b, p);
        }
        if (st != MCSEC_OK) abort();
    }
    if (b.len != size || memcmp(out, data, size) != 0) abort();
    if (mcsec_mikey_parse(out, b.len, &m2) != MCSEC_OK || m2.count != m.count) abort();
    return 0;
}
