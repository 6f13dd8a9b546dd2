/* MIKEY payload table: names, implied lengths and the field value rules shared by the parser
 * (mikey.c) and the builder (mikey_build.c), so both accept exactly the same values. */
#include "mcsec/mikey.h"

static const char *const names[27] = {
    [MCSEC_MIKEY_PT_LAST] = "Last",
    [MCSEC_MIKEY_PT_KEMAC] = "KEMAC",
    [MCSEC_MIKEY_PT_PKE] = "PKE",
    [MCSEC_MIKEY_PT_DH] = "DH",
    [MCSEC_MIKEY_PT_SIGN] = "SIGN",
    [MCSEC_MIKEY_PT_T] = "T",
    [MCSEC_MIKEY_PT_ID] = "ID",
    [MCSEC_MIKEY_PT_CERT] = "CERT",
    [MCSEC_MIKEY_PT_CHASH] = "CHASH",
    [MCSEC_MIKEY_PT_V] = "V",
    [MCSEC_MIKEY_PT_SP] = "SP",
    [MCSEC_MIKEY_PT_RAND] = "RAND",
    [MCSEC_MIKEY_PT_ERR] = "ERR",
    [MCSEC_MIKEY_PT_TR] = "TR",
    [MCSEC_MIKEY_PT_IDR] = "IDR",
    [MCSEC_MIKEY_PT_RANDR] = "RANDR",
    [MCSEC_MIKEY_PT_TP] = "TP",
    [MCSEC_MIKEY_PT_TICKET] = "TICKET",
    [MCSEC_MIKEY_PT_KEY_DATA] = "KEY_DATA",
    [MCSEC_MIKEY_PT_GENERAL_EXT] = "GENERAL_EXT",
    [MCSEC_MIKEY_PT_SAKKE] = "SAKKE",
};

const char *mcsec_mikey_payload_name(uint8_t type) {
    if (type < sizeof names / sizeof names[0] && names[type] != NULL) return names[type];
    return "?";
}

int mcsec_mikey_implied_len(uint8_t payload_type, uint8_t selector) {
    static const int8_t ts[] = {8, 8, 4, 4}, mac[] = {0, 20, 32}, hash[] = {20, 16};
    static const int16_t dh[] = {192, 96, 128};
    switch (payload_type) {
    case MCSEC_MIKEY_PT_T:
        return selector < sizeof ts ? ts[selector] : -1;
    case MCSEC_MIKEY_PT_KEMAC:
    case MCSEC_MIKEY_PT_V:
        return selector < sizeof mac ? mac[selector] : -1;
    case MCSEC_MIKEY_PT_CHASH:
        return selector < sizeof hash ? hash[selector] : -1;
    case MCSEC_MIKEY_PT_DH:
        return selector < sizeof dh / sizeof dh[0] ? dh[selector] : -1;
    default:
        return -1;
    }
}

static mcsec_status_t check_kv(const mcsec_mikey_kv_t *kv) {
    return kv->type <= MCSEC_MIKEY_KV_INTERVAL ? MCSEC_OK : MCSEC_ERR_UNSUPPORTED;
}

mcsec_status_t mcsec_mikey_payload_check(const mcsec_mikey_payload_t *p) {
    if (p == NULL) return MCSEC_ERR_BAD_INPUT;
    switch (p->type) {
    case MCSEC_MIKEY_PT_KEMAC:
        if (p->u.kemac.encr_alg > MCSEC_MIKEY_ENCR_AES_KW_128 ||
            mcsec_mikey_implied_len(p->type, p->u.kemac.mac_alg) < 0)
            return MCSEC_ERR_UNSUPPORTED;
        return MCSEC_OK;
    case MCSEC_MIKEY_PT_PKE:
        return p->u.pke.cache <= 3 ? MCSEC_OK : MCSEC_ERR_UNSUPPORTED;
    case MCSEC_MIKEY_PT_DH:
        if (mcsec_mikey_implied_len(p->type, p->u.dh.group) < 0 || p->u.dh.reserved > 15)
            return MCSEC_ERR_UNSUPPORTED;
        return check_kv(&p->u.dh.kv);
    case MCSEC_MIKEY_PT_SIGN:
        return p->u.sign.type <= MCSEC_MIKEY_SIGN_ECCSI ? MCSEC_OK : MCSEC_ERR_UNSUPPORTED;
    case MCSEC_MIKEY_PT_T:
        return mcsec_mikey_implied_len(p->type, p->u.t.ts_type) >= 0 ? MCSEC_OK
                                                                     : MCSEC_ERR_UNSUPPORTED;
    case MCSEC_MIKEY_PT_ID:
        return p->u.id.role == 0 && p->u.id.id_type <= MCSEC_MIKEY_ID_BYTES ? MCSEC_OK
                                                                            : MCSEC_ERR_UNSUPPORTED;
    case MCSEC_MIKEY_PT_IDR:
        return p->u.idr.role >= MCSEC_MIKEY_ROLE_I &&
                       p->u.idr.role <= MCSEC_MIKEY_ROLE_3GPP_UID_R &&
                       p->u.idr.id_type <= MCSEC_MIKEY_ID_BYTES
                   ? MCSEC_OK
                   : MCSEC_ERR_UNSUPPORTED;
    case MCSEC_MIKEY_PT_CHASH:
    case MCSEC_MIKEY_PT_V:
        return mcsec_mikey_implied_len(p->type, p->type == MCSEC_MIKEY_PT_V ? p->u.v.mac_alg
                                                                            : p->u.chash.func) >= 0
                   ? MCSEC_OK
                   : MCSEC_ERR_UNSUPPORTED;
    case MCSEC_MIKEY_PT_RAND:
        return p->u.rand.data.len >= 16 && p->u.rand.data.len <= 255 ? MCSEC_OK
                                                                     : MCSEC_ERR_BAD_LENGTH;
    case MCSEC_MIKEY_PT_SAKKE:
        return p->u.sakke.params == MCSEC_MIKEY_SAKKE_PARAMS_1 &&
                       (p->u.sakke.id_scheme == MCSEC_MIKEY_SAKKE_SCHEME_TEL ||
                        p->u.sakke.id_scheme == MCSEC_MIKEY_SAKKE_SCHEME_UID)
                   ? MCSEC_OK
                   : MCSEC_ERR_UNSUPPORTED;
    case MCSEC_MIKEY_PT_CERT:
    case MCSEC_MIKEY_PT_SP:
    case MCSEC_MIKEY_PT_ERR:
    case MCSEC_MIKEY_PT_GENERAL_EXT:
        return MCSEC_OK; /* opaque values: profiles decide */
    case MCSEC_MIKEY_PT_TR:
    case MCSEC_MIKEY_PT_RANDR:
    case MCSEC_MIKEY_PT_TP:
    case MCSEC_MIKEY_PT_TICKET:
        return MCSEC_ERR_UNSUPPORTED; /* RFC 6043 tickets: not implemented */
    default:
        return MCSEC_ERR_STRUCTURE; /* not a payload type, or KEY_DATA outside KEMAC */
    }
}
