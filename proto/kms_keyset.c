/* Binding a TS 33.180 key set to its KMS certificate and its owner: UID format 2 recomputed,
 * RSK (RFC 6508 6.1.2) and SSK/PVT (RFC 6507 5.1.2) validated. No XML here: kms_xml.c parses
 * and writes the documents, this decides whether their keys may be used. */
#include <string.h>

#include "mcsec/eccsi.h"
#include "mcsec/kdf.h"
#include "mcsec/kmsxml.h"
#include "mcsec/sakke.h"
#include "mcsec/secmem.h"

mcsec_status_t mcsec_kmsxml_check_keyset(const mcsec_kms_init_t *init,
                                         const mcsec_kms_keyset_t *set,
                                         const char *expected_user_uri)
{
    mcsec_status_t rc = mcsec_init();
    if (rc != MCSEC_OK)
        return rc;
    if (init == NULL || set == NULL)
        return MCSEC_ERR_BAD_INPUT;
    if (init->user_id_format != 2 || init->parameter_set != 1)
        return MCSEC_ERR_UNSUPPORTED;
    if (strnlen(init->kms_uri, sizeof init->kms_uri) == sizeof init->kms_uri ||
        strnlen(set->kms_uri, sizeof set->kms_uri) == sizeof set->kms_uri ||
        strnlen(set->user_uri, sizeof set->user_uri) == sizeof set->user_uri)
        return MCSEC_ERR_BAD_LENGTH; /* not NUL-terminated */
    if (strcmp(set->kms_uri, init->kms_uri) != 0)
        return MCSEC_ERR_UNKNOWN_KEY;
    if (expected_user_uri != NULL && strcmp(set->user_uri, expected_user_uri) != 0)
        return MCSEC_ERR_WRONG_RECIPIENT;
    uint8_t uid[MCSEC_UID_LEN];
    rc = mcsec_uid_format2(set->user_uri, init->kms_uri, init->key_period,
                                          init->key_offset, set->key_period_no, uid);
    if (rc != MCSEC_OK)
        return rc;
    if (!mcsec_ct_equal(uid, set->uid, MCSEC_UID_LEN))
        return MCSEC_ERR_WRONG_RECIPIENT;
    rc = mcsec_sakke_validate_rsk(init->Z, set->uid, MCSEC_UID_LEN, set->rsk);
    if (rc != MCSEC_OK)
        return rc;
    return mcsec_eccsi_validate(init->kpak, set->uid, MCSEC_UID_LEN, set->ssk, set->pvt);
}
