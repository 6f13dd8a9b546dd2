/* Internal interfaces of the media layer (client/media_*.c). Not installed; tests and the
 * fuzz target include it. */
#ifndef MCSEC_CLIENT_INTERNAL_MEDIA_H
#define MCSEC_CLIENT_INTERNAL_MEDIA_H

#include <stddef.h>
#include <stdint.h>

#include "mcsec/status.h"

/* The largest WAV file mcsec_wav_read loads beyond its samples (headers and skipped chunks). */
#define MCSEC_WAV_SLACK (1u << 20)

/* Parses a WAV file held in buf[0..len), as mcsec_wav_read does (same statuses, same why). */
mcsec_status_t mcsec_wav_parse(const uint8_t *buf, size_t len, size_t max_samples,
                               int16_t **samples, size_t *n, char *why, size_t why_cap)
    __attribute__((warn_unused_result));

#endif
