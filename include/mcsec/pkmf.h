/* The ProSe roles of mcsec-kms (network side of include/mcsec/prose.h):
 *
 * - the PKMF (ProSe Key Management Function, seed 004): Key Request/Response for remote UEs
 *   (Key Type ID, PMK, PRUK in a MIKEY message protected with the PMK), Key Request/Response
 *   for UE-to-network relays (KD and KD Derivation Parameter), PRUK pushes over UDP;
 * - the network entity of network-authorised one-to-one keying (seed 001, MME_1 / MME_2):
 *   each UE asks its own entity; entities exchange keying material with their configured
 *   peer entities over the same CURVE service.
 *
 * Both roles are served by mcsec_kms_serve on the KMS endpoint (a PkmfRequest envelope,
 * proto/pkmf.proto, is told from a KmsRequest by its field 100). The caller's identity is the
 * URI of the enrolled device whose CURVE key it connected with. State lives in the KMS store:
 * PRUKs and PMKs sealed at rest (AES-256-GCM under a key derived from the KMS master secrets),
 * authorisations, peer entities, network keying sessions; every grant and refusal is an audit
 * row. Statuses and one-line reasons as the rest of the KMS (mcsec_kms_last_error). */
#ifndef MCSEC_PKMF_H
#define MCSEC_PKMF_H

#include <stddef.h>
#include <stdint.h>

#include "mcsec/kms.h"
#include "mcsec/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* What an identity may do. */
typedef enum {
    MCSEC_PKMF_AUTH_REMOTE_UE = 1, /* receive PRUKs (be served by relays of this PKMF) */
    MCSEC_PKMF_AUTH_DIRECT = 2,    /* network-authorised one-to-one keying at this entity */
} mcsec_pkmf_auth_t;

/* "remote-ue" / "direct"; and back (0 if unknown). */
const char *mcsec_pkmf_auth_name(mcsec_pkmf_auth_t what);
mcsec_pkmf_auth_t mcsec_pkmf_auth_parse(const char *name);

/* Grants (allow 1) or withdraws (allow 0) what for uri; audited. Withdrawing remote-ue also
 * deletes the UE's PRUK. MCSEC_ERR_BAD_INPUT for a bad URI or kind. */
mcsec_status_t mcsec_pkmf_authorise(mcsec_kms_t *kms, const char *uri, mcsec_pkmf_auth_t what,
                                    int allow) MCSEC_MUST_CHECK;

/* Lets relay_uri serve remote UE ue_uri ("*": every remote UE of this PKMF), or withdraws it;
 * audited. */
mcsec_status_t mcsec_pkmf_authorise_relay(mcsec_kms_t *kms, const char *relay_uri,
                                          const char *ue_uri, int allow) MCSEC_MUST_CHECK;

/* A peer network entity: its URI, endpoint and CURVE public key (`mcsec-kms cert` prints an
 * entity's key), and the suffix of the UE URIs it serves (e.g. "@b.example.org"). Its key is
 * enrolled here as a device with that URI (so it can call this entity), unless already. */
mcsec_status_t mcsec_pkmf_peer_add(mcsec_kms_t *kms, const char *peer_uri, const char *endpoint,
                                   const char *curve_public, const char *serves) MCSEC_MUST_CHECK;

/* Pushes a PRUK MIKEY message to ue_uri's delivery address (the UDP address of its last Key
 * Request): with new_pruk a fresh PRUK and PRUK ID (replacing the current one), else an
 * all-zero PRUK ID ("send a new Key Request"). MCSEC_ERR_UNKNOWN_KEY: the UE has no PMK or no
 * delivery address; MCSEC_ERR_POLICY: not authorised as a remote UE. *pruk_id (may be NULL)
 * receives the new PRUK ID (0 for a trigger). */
mcsec_status_t mcsec_pkmf_push(mcsec_kms_t *kms, const char *ue_uri, int new_pruk,
                               uint64_t *pruk_id) MCSEC_MUST_CHECK;

/* One line per authorisation, relay grant and peer, for `mcsec-kms prose list`. */
typedef int (*mcsec_pkmf_line_fn)(void *user, const char *line);
mcsec_status_t mcsec_pkmf_list(mcsec_kms_t *kms, mcsec_pkmf_line_fn fn,
                               void *user) MCSEC_MUST_CHECK;

#ifdef __cplusplus
}
#endif
#endif
