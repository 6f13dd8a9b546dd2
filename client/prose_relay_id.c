/* The relay identity a remote UE sends in its Direct Communication Request and the relay
 * passes to the PKMF (seed 004 steps 3 and 4a): type (1) | value,
 *   type 1: PRUK ID, 8 octets big-endian (never all zero);
 *   type 2: long-term identity, len (1) | URI (1..255 printable octets). */
#include <string.h>

#include "mcsec/prose.h"

static int printable(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] <= ' ' || p[i] >= 0x7f)
            return 0;
    return 1;
}

mcsec_status_t mcsec_prose_relay_id_encode(const mcsec_prose_relay_id_t *id, uint8_t *out,
                                           size_t cap, size_t *len)
{
    if (id == NULL || out == NULL || len == NULL)
        return MCSEC_ERR_BAD_INPUT;
    if (id->type == MCSEC_PROSE_RELAY_ID_PRUK) {
        if (id->pruk_id == 0)
            return MCSEC_ERR_BAD_INPUT;
        if (cap < 9)
            return MCSEC_ERR_BAD_LENGTH;
        out[0] = MCSEC_PROSE_RELAY_ID_PRUK;
        for (int i = 0; i < 8; i++)
            out[1 + i] = (uint8_t)(id->pruk_id >> (56 - 8 * i));
        *len = 9;
        return MCSEC_OK;
    }
    if (id->type != MCSEC_PROSE_RELAY_ID_LONG_TERM)
        return MCSEC_ERR_BAD_INPUT;
    size_t n = strnlen(id->uri, sizeof id->uri);
    if (n == 0 || n > MCSEC_PROSE_URI_MAX || !printable((const uint8_t *)id->uri, n))
        return MCSEC_ERR_BAD_INPUT;
    if (cap < 2 + n)
        return MCSEC_ERR_BAD_LENGTH;
    out[0] = MCSEC_PROSE_RELAY_ID_LONG_TERM;
    out[1] = (uint8_t)n;
    memcpy(out + 2, id->uri, n);
    *len = 2 + n;
    return MCSEC_OK;
}

mcsec_status_t mcsec_prose_relay_id_parse(const uint8_t *buf, size_t len,
                                          mcsec_prose_relay_id_t *out)
{
    if (buf == NULL || out == NULL)
        return MCSEC_ERR_BAD_INPUT;
    memset(out, 0, sizeof *out);
    if (len < 1)
        return MCSEC_ERR_TRUNCATED;
    if (buf[0] == MCSEC_PROSE_RELAY_ID_PRUK) {
        if (len < 9)
            return MCSEC_ERR_TRUNCATED;
        if (len > 9)
            return MCSEC_ERR_TRAILING_DATA;
        uint64_t v = 0;
        for (int i = 0; i < 8; i++)
            v = v << 8 | buf[1 + i];
        if (v == 0)
            return MCSEC_ERR_BAD_INPUT;
        out->type = MCSEC_PROSE_RELAY_ID_PRUK;
        out->pruk_id = v;
        return MCSEC_OK;
    }
    if (buf[0] != MCSEC_PROSE_RELAY_ID_LONG_TERM)
        return MCSEC_ERR_UNSUPPORTED;
    if (len < 2 || len < 2 + (size_t)buf[1])
        return MCSEC_ERR_TRUNCATED;
    if (len > 2 + (size_t)buf[1])
        return MCSEC_ERR_TRAILING_DATA;
    size_t n = buf[1];
    if (n == 0 || !printable(buf + 2, n))
        return MCSEC_ERR_BAD_INPUT;
    out->type = MCSEC_PROSE_RELAY_ID_LONG_TERM;
    memcpy(out->uri, buf + 2, n);
    out->uri[n] = 0;
    return MCSEC_OK;
}
