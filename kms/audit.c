/* The audit table: one row per issuance, enrolment, revocation and refusal, written with the
 * store's durable commit before the result is released. Reasons never hold secrets. */
#include <stdio.h>
#include <string.h>

#include "internal.h"

void kms_printable(char *dst, size_t cap, const char *src, int spaces)
{
    size_t o = 0;
    if (cap == 0)
        return;
    for (const unsigned char *c = (const unsigned char *)(src != NULL ? src : "");
         *c && o + 1 < cap; c++)
        dst[o++] = ((*c > ' ' || (spaces && *c == ' ')) && *c < 0x7f) ? (char)*c : '?';
    dst[o] = 0;
}

void kms_audit_row(mcsec_kms_audit_t *row, int64_t device_id, const char *subject,
                   int64_t period_no, const char *action, mcsec_status_t status,
                   uint64_t request_id, const char *reason)
{
    memset(row, 0, sizeof *row);
    row->time = kms_now();
    row->device_id = device_id;
    /* Subjects come from requests and reasons may quote a peer: printable ASCII only. */
    kms_printable(row->subject, sizeof row->subject, subject, 0);
    row->period_no = period_no;
    snprintf(row->action, sizeof row->action, "%s", action);
    row->status = (int32_t)status;
    row->request_id = request_id;
    kms_printable(row->reason, sizeof row->reason, reason, 1);
}

mcsec_status_t kms_audit(kms_store_t *s, const kms_store_ops_t *ops, int64_t device_id,
                         const char *subject, int64_t period_no, const char *action,
                         mcsec_status_t status, uint64_t request_id, const char *reason)
{
    mcsec_kms_audit_t row;
    kms_audit_row(&row, device_id, subject, period_no, action, status, request_id, reason);
    return ops->audit_add(s, &row);
}

mcsec_status_t mcsec_kms_list_audit(mcsec_kms_t *kms, int64_t after_id, mcsec_kms_audit_fn fn,
                                    void *user)
{
    kms_clear_error();
    return kms->ops->audit_list(kms->store, after_id, fn, user);
}
