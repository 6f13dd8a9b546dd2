/* Devices: enrolment (a CURVE credential per device), revocation, listing, and the
 * authorisation rule of the service: a handset may fetch only its own URI's keys; a group
 * manager its own and those of the group identities it manages. */
#include <stdio.h>
#include <string.h>

#include <zmq.h>

#include "internal.h"
#include "mcsec/secmem.h"

const char *mcsec_kms_role_name(mcsec_kms_role_t role)
{
    return role == MCSEC_KMS_ROLE_HANDSET    ? "handset"
           : role == MCSEC_KMS_ROLE_GROUPMGR ? "groupmgr"
                                             : "unknown";
}

mcsec_kms_role_t mcsec_kms_role_parse(const char *name)
{
    if (name != NULL && strcmp(name, "handset") == 0)
        return MCSEC_KMS_ROLE_HANDSET;
    if (name != NULL && strcmp(name, "groupmgr") == 0)
        return MCSEC_KMS_ROLE_GROUPMGR;
    return (mcsec_kms_role_t)0;
}

int kms_uri_ok(const char *uri)
{
    if (uri == NULL || uri[0] == 0 || strlen(uri) > MCSEC_KMS_URI_MAX)
        return 0;
    for (const unsigned char *c = (const unsigned char *)uri; *c; c++)
        if (*c <= ' ' || *c >= 0x7f)
            return 0;
    return 1;
}

int kms_z85_key_ok(const char *key)
{
    uint8_t raw[32];
    if (key == NULL || strlen(key) != MCSEC_KMS_Z85_LEN)
        return 0;
    return zmq_z85_decode(raw, key) != NULL;
}

mcsec_status_t kms_check_enroll(const mcsec_kms_enroll_t *req)
{
    if (req == NULL || !kms_uri_ok(req->uri)) {
        kms_error("URI '%s' is not 1-255 printable characters without spaces: give e.g. "
                  "sip:alice@example.org",
                  req != NULL && req->uri != NULL ? req->uri : "");
        return MCSEC_ERR_BAD_INPUT;
    }
    if (req->role != MCSEC_KMS_ROLE_HANDSET && req->role != MCSEC_KMS_ROLE_GROUPMGR) {
        kms_error("role must be handset or groupmgr");
        return MCSEC_ERR_BAD_INPUT;
    }
    if (req->n_groups > MCSEC_KMS_GROUPS_MAX) {
        kms_error("%zu groups given for %s: at most %d", req->n_groups, req->uri,
                  MCSEC_KMS_GROUPS_MAX);
        return MCSEC_ERR_BAD_LENGTH;
    }
    if (req->n_groups > 0 && req->groups == NULL) {
        kms_error("%zu groups given for %s but no group URIs", req->n_groups, req->uri);
        return MCSEC_ERR_BAD_INPUT;
    }
    size_t total = 0;
    for (size_t i = 0; i < req->n_groups; i++) {
        if (!kms_uri_ok(req->groups[i])) {
            kms_error("group URI '%s' of %s is not 1-255 printable characters without spaces",
                      req->groups[i] != NULL ? req->groups[i] : "", req->uri);
            return MCSEC_ERR_BAD_INPUT;
        }
        total += strlen(req->groups[i]) + 1;
    }
    if (total >= MCSEC_KMS_GROUPS_TEXT_MAX) {
        kms_error("the group URIs of %s add up to more than %d octets", req->uri,
                  MCSEC_KMS_GROUPS_TEXT_MAX - 1);
        return MCSEC_ERR_BAD_LENGTH;
    }
    if (req->curve_public != NULL && !kms_z85_key_ok(req->curve_public)) {
        kms_error("the CURVE public key is not 40 Z85 characters: give the device's public key");
        return MCSEC_ERR_BAD_INPUT;
    }
    return MCSEC_OK;
}

void kms_device_from(const mcsec_kms_enroll_t *req, const char *curve_public,
                     mcsec_kms_device_t *d)
{
    memset(d, 0, sizeof *d);
    snprintf(d->uri, sizeof d->uri, "%s", req->uri);
    d->role = req->role;
    size_t o = 0;
    for (size_t i = 0; i < req->n_groups; i++)
        o += (size_t)snprintf(d->groups + o, sizeof d->groups - o, "%s%s", i ? "\n" : "",
                              req->groups[i]);
    snprintf(d->curve_public, sizeof d->curve_public, "%s", curve_public);
    d->enrolled_at = kms_now();
}

mcsec_status_t kms_enroll_on(kms_store_t *s, const kms_store_ops_t *ops, mcsec_kms_device_t *d)
{
    mcsec_status_t rc = ops->device_add(s, d);
    if (rc != MCSEC_OK)
        return rc;
    char why[64];
    snprintf(why, sizeof why, "enrolled as %s", mcsec_kms_role_name(d->role));
    return kms_audit(s, ops, d->id, d->uri, -1, "enroll", MCSEC_OK, 0, why);
}

mcsec_status_t mcsec_kms_enroll(mcsec_kms_t *kms, const mcsec_kms_enroll_t *req,
                                mcsec_kms_credential_t *out)
{
    mcsec_kms_device_t d;
    mcsec_status_t rc;
    int in_tx = 0;
    kms_clear_error();
    if (kms == NULL || out == NULL) {
        kms_error("no KMS or output given");
        return MCSEC_ERR_BAD_INPUT;
    }
    memset(out, 0, sizeof *out);
    if ((rc = kms_check_enroll(req)) != MCSEC_OK)
        return rc;
    if (req->curve_public != NULL) {
        snprintf(out->curve_public, sizeof out->curve_public, "%s", req->curve_public);
    } else if (zmq_curve_keypair(out->curve_public, out->curve_secret) != 0) {
        kms_error("CURVE key generation failed: libzmq was built without CURVE");
        return MCSEC_ERR_UNSUPPORTED;
    }
    kms_device_from(req, out->curve_public, &d);
    if ((rc = kms->ops->begin(kms->store)) != MCSEC_OK)
        goto out;
    in_tx = 1;
    if ((rc = kms_enroll_on(kms->store, kms->ops, &d)) != MCSEC_OK ||
        (rc = kms->ops->commit(kms->store)) != MCSEC_OK)
        goto out;
    in_tx = 0;
    out->device_id = d.id;
out:
    if (in_tx)
        kms->ops->rollback(kms->store);
    if (rc != MCSEC_OK)
        mcsec_memzero(out, sizeof *out);
    return rc;
}

mcsec_status_t mcsec_kms_revoke(mcsec_kms_t *kms, int64_t device_id, const char *reason)
{
    mcsec_kms_device_t d;
    kms_clear_error();
    mcsec_status_t rc = kms->ops->device_get(kms->store, device_id, &d);
    if (rc == MCSEC_ERR_UNKNOWN_KEY)
        kms_error("no device %lld: see `mcsec-kms list`", (long long)device_id);
    if (rc != MCSEC_OK || d.revoked)
        return rc;
    if ((rc = kms->ops->begin(kms->store)) != MCSEC_OK)
        return rc;
    if ((rc = kms->ops->device_revoke(kms->store, device_id, kms_now())) != MCSEC_OK ||
        (rc = kms_audit(kms->store, kms->ops, device_id, d.uri, -1, "revoke", MCSEC_OK, 0,
                        reason != NULL && reason[0] ? reason : "revoked by the operator")) !=
            MCSEC_OK ||
        (rc = kms->ops->commit(kms->store)) != MCSEC_OK)
        kms->ops->rollback(kms->store);
    return rc;
}

typedef struct {
    int64_t ids[256];
    size_t n, total;
} id_list_t;

static int collect(void *user, const mcsec_kms_device_t *d)
{
    id_list_t *l = user;
    if (!d->revoked) {
        if (l->n < sizeof l->ids / sizeof l->ids[0])
            l->ids[l->n++] = d->id;
        l->total++;
    }
    return 0;
}

mcsec_status_t mcsec_kms_revoke_uri(mcsec_kms_t *kms, const char *uri, const char *reason,
                                    size_t *count)
{
    id_list_t l = {.n = 0};
    size_t done = 0;
    mcsec_status_t rc;
    kms_clear_error();
    if (count != NULL)
        *count = 0;
    do {
        l.n = l.total = 0;
        if ((rc = kms->ops->device_list(kms->store, uri, collect, &l)) != MCSEC_OK)
            return rc;
        for (size_t i = 0; i < l.n; i++) {
            if ((rc = mcsec_kms_revoke(kms, l.ids[i], reason)) != MCSEC_OK)
                return rc;
            done++;
        }
    } while (l.total > l.n);
    if (count != NULL)
        *count = done;
    if (done == 0) {
        kms_error("no enrolled, non-revoked device has URI %s: see `mcsec-kms list`", uri);
        return MCSEC_ERR_UNKNOWN_KEY;
    }
    return MCSEC_OK;
}

mcsec_status_t mcsec_kms_get_device(mcsec_kms_t *kms, int64_t device_id, mcsec_kms_device_t *out)
{
    kms_clear_error();
    mcsec_status_t rc = kms->ops->device_get(kms->store, device_id, out);
    if (rc == MCSEC_ERR_UNKNOWN_KEY)
        kms_error("no device %lld", (long long)device_id);
    return rc;
}

mcsec_status_t mcsec_kms_list_devices(mcsec_kms_t *kms, mcsec_kms_device_fn fn, void *user)
{
    kms_clear_error();
    return kms->ops->device_list(kms->store, NULL, fn, user);
}

mcsec_status_t kms_authorise(const mcsec_kms_device_t *device, const char *uri, const char **why)
{
    *why = "";
    if (strcmp(device->uri, uri) == 0)
        return MCSEC_OK;
    if (device->role == MCSEC_KMS_ROLE_GROUPMGR) {
        size_t ul = strlen(uri);
        for (const char *g = device->groups; *g;) {
            const char *nl = strchr(g, '\n');
            size_t gl = nl != NULL ? (size_t)(nl - g) : strlen(g);
            if (gl == ul && memcmp(g, uri, ul) == 0)
                return MCSEC_OK;
            g += gl + (nl != NULL);
        }
        *why = "this group manager does not manage that identity";
        return MCSEC_ERR_POLICY;
    }
    *why = "a handset may fetch only its own keys";
    return MCSEC_ERR_POLICY;
}
