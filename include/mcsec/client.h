/* The handset call API: group calls protected end to end (seed 002 6.3.1.3.2.3).
 *
 * A talker starts a talk burst with a fresh Group Session Key (GSK) and GSK-ID, wraps the GSK
 * in the MIKEY PSK message of WIRE.md 3 keyed by the group's current GMK and signed with its
 * own ECCSI key, and announces it in a call notification. Every member verifies the talker
 * (optionally against the group's member list), finds the GMK by GMK-ID, unwraps the GSK and
 * receives the talk as SRTP (include/mcsec/media.h). A new talker means a new GSK.
 *
 * The talker's SSRC is its GSK-ID: the SSRC is then carried, signed, in the MIKEY message (the
 * CSB ID), every talker has its own, and an inbound stream is bound to the current talker's.
 *
 * Call datagrams (the control channel, see docs/protocol.md "Group calls"): protobuf
 * mcsec.call.CallDatagram (proto/call.proto) holding either a call notification (the talker's
 * GSK message and media parameters) or a GMK delivery (an ad-hoc group leader's MIKEY-SAKKE
 * I_MESSAGE to one member). Media: RTP/SRTP datagrams on their own port, RTCP on the next.
 *
 * Transport (mcsec_net_*): UDP, multicast (default: a 239.255.x.y group derived from the group
 * URI, on the loopback interface) or unicast to listed peers; no server involved.
 *
 * Thread safety: a handset may be shared by calls in several threads; a call and a net handle
 * are used by one thread at a time. */
#ifndef MCSEC_CLIENT_H
#define MCSEC_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "mcsec/keystore.h"
#include "mcsec/media.h"
#include "mcsec/profile.h"
#include "mcsec/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* --- Handset ------------------------------------------------------------------------------------ */

typedef struct mcsec_handset mcsec_handset_t;

/* The handset of an open keystore: its identity (the user URI of its key sets), the KMS
 * parameters, a MIKEY receiver (replay cache, freshness window) and the GMKs. The keystore
 * must outlive the handset. MCSEC_ERR_UNKNOWN_KEY if the store has no KMS parameters or key
 * set (provision it first). */
mcsec_status_t mcsec_handset_open(mcsec_handset_t **out, mcsec_keystore_t *ks) MCSEC_MUST_CHECK;
void mcsec_handset_close(mcsec_handset_t *h); /* NULL ok; wipes */
const char *mcsec_handset_uri(const mcsec_handset_t *h);
mcsec_keystore_t *mcsec_handset_keystore(const mcsec_handset_t *h);

/* The members of group_uri allowed to talk (copied); a call message from anyone else is refused
 * at the member check. n == 0 removes the list: then any talker the KMS vouches for and who
 * holds the GMK is accepted. */
mcsec_status_t mcsec_handset_set_members(mcsec_handset_t *h, const char *group_uri,
                                         const char *const *members, size_t n) MCSEC_MUST_CHECK;

/* A clock for tests (NTP seconds): the MIKEY receiver and GMK validity use it. NULL: the
 * system clock. Configure before use from several threads. */
typedef uint64_t (*mcsec_handset_clock_fn)(void *user);
void mcsec_handset_set_clock(mcsec_handset_t *h, mcsec_handset_clock_fn fn, void *user);

/* Stores the GMK of an opened GMK message for group_uri (its key parameters' group id must
 * name it): a GMK-ID already stored with another key or group is refused (MCSEC_ERR_VERIFY);
 * a message not newer than the stored one for that GMK-ID changes nothing (*is_new = 0).
 * Used by the Group Manager client, `mcsec gmk receive` and ad-hoc deliveries alike. */
mcsec_status_t mcsec_handset_store_gmk(mcsec_keystore_t *ks, const mcsec_gmk_result_t *g,
                                       const char *group_uri, int *is_new) MCSEC_MUST_CHECK;

/* --- Calls -------------------------------------------------------------------------------------- */

typedef struct mcsec_call mcsec_call_t;

typedef struct {
    const char *group_uri;
    mcsec_srtp_suite_t suite;     /* what we send with; receivers follow the talker's choice */
    const char *media_address;    /* announced in our notifications; may be NULL */
    uint16_t media_port;
} mcsec_call_config_t;

/* A call on a group for this handset: it can talk and listen. */
mcsec_status_t mcsec_call_new(mcsec_call_t **out, mcsec_handset_t *h,
                              const mcsec_call_config_t *cfg) MCSEC_MUST_CHECK;
void mcsec_call_free(mcsec_call_t *c); /* NULL ok; wipes */

/* Prepares a talk burst: a fresh GSK and GSK-ID (our SSRC), the GSK message under the group's
 * current GMK at the handset's clock, signed by us, and an outbound SRTP stream. Taking the
 * floor ends the inbound stream of the previous talker. Writes the
 * call datagram (a notification) into out. The message may be prepared ahead of the burst
 * (the seed's pre-generation): receivers accept it within their freshness window (300 s) of
 * its time. Any previous burst of ours ends. MCSEC_ERR_UNKNOWN_KEY / _EXPIRED if the group has
 * no valid GMK, MCSEC_ERR_KEY_PERIOD if we hold no key set for now. */
mcsec_status_t mcsec_call_talk(mcsec_call_t *c, uint8_t *out, size_t cap,
                               size_t *out_len) MCSEC_MUST_CHECK;
/* The current burst's datagram again (to repeat it for late joiners). MCSEC_ERR_BAD_INPUT if
 * we are not talking. */
mcsec_status_t mcsec_call_announcement(const mcsec_call_t *c, uint8_t *out, size_t cap,
                                       size_t *out_len) MCSEC_MUST_CHECK;
int mcsec_call_is_talking(const mcsec_call_t *c);
/* Ends our talk burst (releases the floor): the outbound stream is wiped. */
void mcsec_call_release(mcsec_call_t *c);

/* What a received call datagram did. */
typedef enum {
    MCSEC_CALL_EV_JOINED = 1,   /* a new talker's message verified: now receiving its SSRC */
    MCSEC_CALL_EV_REPEAT = 2,   /* the current talker's message again (late-joiner repeat) */
    MCSEC_CALL_EV_OWN = 3,      /* our own notification looped back: ignored */
    MCSEC_CALL_EV_GMK = 4,      /* a GMK delivery for us, stored */
    MCSEC_CALL_EV_OTHER = 5,    /* a datagram for another group or member: ignored */
    MCSEC_CALL_EV_REFUSED = 6,  /* refused: status, check and why say why */
} mcsec_call_event_kind_t;

typedef struct {
    mcsec_call_event_kind_t kind;
    mcsec_status_t status;
    mcsec_profile_check_t check; /* for refused call messages: the failing stage */
    char why[256];               /* one line when refused */
    char talker_uri[MCSEC_PROFILE_URI_MAX];
    uint32_t gsk_id, gmk_id, ssrc;
    mcsec_srtp_suite_t suite;
    uint64_t timestamp;          /* T of the message */
    int is_new_gmk;              /* GMK: stored now */
} mcsec_call_event_t;

/* Handles one control datagram. Call notifications for our group: OWN if its talker is us
 * (whichever burst), refused (STRUCTURE) if its outer fields disagree with its MIKEY message,
 * REPEAT if it is the current talker's message, else opened (mcsec_gsk_open: verify, member list, freshness, replay, GMK,
 * unwrap) and, if accepted, the inbound stream is re-keyed to the new talker (talker change:
 * the previous talker's SSRC is refused from now on) and our own burst, if any, ends. GMK
 * deliveries addressed to us are opened (any signer the KMS vouches for: an ad-hoc leader) and
 * stored. Returns MCSEC_OK when the datagram was handled (even if refused: see ev->kind);
 * MCSEC_ERR_TRUNCATED for an empty datagram, MCSEC_ERR_STRUCTURE for one that is not a
 * CallDatagram or has no body, MCSEC_ERR_BAD_INPUT for NULL arguments. */
mcsec_status_t mcsec_call_handle(mcsec_call_t *c, const uint8_t *dgram, size_t len,
                                 mcsec_call_event_t *ev) MCSEC_MUST_CHECK;

/* The current talker's SSRC (0 and returns 0 if none). */
int mcsec_call_talker(const mcsec_call_t *c, uint32_t *ssrc, char *uri, size_t uri_cap);

/* Media, talker side: builds the RTP packet (payload type, our SSRC, seq and timestamp kept by
 * the call: seq starts random, timestamp advances by `samples`) and protects it into out. */
mcsec_status_t mcsec_call_send_media(mcsec_call_t *c, uint8_t payload_type, const uint8_t *payload,
                                     size_t len, uint32_t samples, int marker, uint8_t *out,
                                     size_t cap, size_t *out_len) MCSEC_MUST_CHECK;
/* Media, listener side: unprotects in place with the current talker's stream and parses it.
 * The statuses of mcsec_srtp_unprotect (WRONG_RECIPIENT for another SSRC, VERIFY, REPLAY,
 * TRUNCATED, STRUCTURE); MCSEC_ERR_UNKNOWN_KEY if no talker is current. hdr->payload points
 * into pkt. */
mcsec_status_t mcsec_call_receive_media(mcsec_call_t *c, uint8_t *pkt, size_t len,
                                        mcsec_rtp_header_t *hdr) MCSEC_MUST_CHECK;
/* RTCP: a protected sender report (talker) / receiver check (listener, sender SSRC must be the
 * talker's). */
mcsec_status_t mcsec_call_send_rtcp(mcsec_call_t *c, uint8_t *out, size_t cap,
                                    size_t *out_len) MCSEC_MUST_CHECK;
mcsec_status_t mcsec_call_receive_rtcp(mcsec_call_t *c, uint8_t *pkt, size_t len) MCSEC_MUST_CHECK;

/* For --reveal-keys: the master key and salt of our outbound (talking) or the current inbound
 * stream. Secrets: wipe after use. MCSEC_ERR_UNKNOWN_KEY if there is no such stream. */
mcsec_status_t mcsec_call_stream_keys(const mcsec_call_t *c, int outbound,
                                      uint8_t key[MCSEC_SRTP_KEY_LEN],
                                      uint8_t salt[MCSEC_SRTP_SALT_MAX],
                                      mcsec_srtp_suite_t *suite) MCSEC_MUST_CHECK;

/* --- GMK deliveries over the call channel (ad-hoc groups) ----------------------------------- */

/* Wraps a GMK I_MESSAGE to member_uri of group_uri in a call datagram. */
mcsec_status_t mcsec_call_gmk_datagram(const char *group_uri, const char *member_uri,
                                       const uint8_t *mikey, size_t mikey_len, uint8_t *out,
                                       size_t cap, size_t *out_len) MCSEC_MUST_CHECK;

/* --- Transport ------------------------------------------------------------------------------- */

#define MCSEC_NET_DGRAM_MAX 65536
#define MCSEC_NET_MAX_PEERS 64

typedef struct {
    const char *address;       /* a multicast group (224.0.0.0/4): multicast; another address:
                                  unicast, bound there; NULL: the default group of group_uri,
                                  or 0.0.0.0 when peers are given */
    uint16_t port;             /* control port; media = port + 2, RTCP = port + 3. 0: 5000 */
    const char *interface;     /* IPv4 address of the multicast interface; NULL: 127.0.0.1 */
    const char *const *peers;  /* unicast: "IPv4:PORT" control ports of the peers (none: a
                                  unicast handle only receives) */
    size_t n_peers;
    const char *group_uri;     /* for the default multicast group */
} mcsec_net_config_t;

typedef struct mcsec_net mcsec_net_t;

/* The default multicast group of a group URI: 239.255.a.b, a.b from SHA-256 of the URI. */
void mcsec_net_default_group(const char *group_uri, char out[16]);

/* Opens the three sockets (control, media, RTCP), joined to the group (multicast) or bound
 * locally (unicast). MCSEC_ERR_BAD_INPUT for an unparsable address or peer, MCSEC_ERR_IO if a
 * socket cannot be bound or joined (the reason in mcsec_net_last_error). */
mcsec_status_t mcsec_net_open(mcsec_net_t **out, const mcsec_net_config_t *cfg) MCSEC_MUST_CHECK;
void mcsec_net_close(mcsec_net_t *n); /* NULL ok */

typedef enum { MCSEC_NET_CONTROL = 0, MCSEC_NET_MEDIA = 1, MCSEC_NET_RTCP = 2 } mcsec_net_channel_t;

/* Sends one datagram on a channel (to the group, or to every peer; MCSEC_ERR_BAD_INPUT for a
 * unicast handle without peers). */
mcsec_status_t mcsec_net_send(mcsec_net_t *n, mcsec_net_channel_t ch, const uint8_t *d,
                              size_t len) MCSEC_MUST_CHECK;
/* Waits up to timeout_ms for a datagram on any channel: MCSEC_OK with *ch and *len set,
 * MCSEC_ERR_EXPIRED on timeout, MCSEC_ERR_IO on a socket error. Datagrams larger than cap are
 * truncated and reported with MCSEC_ERR_BAD_LENGTH (and dropped). */
mcsec_status_t mcsec_net_recv(mcsec_net_t *n, unsigned timeout_ms, mcsec_net_channel_t *ch,
                              uint8_t *buf, size_t cap, size_t *len) MCSEC_MUST_CHECK;
/* The control port. */
uint16_t mcsec_net_port(const mcsec_net_t *n);
/* "multicast 239.255.1.2:5000" or "unicast port 5000 -> 2 peers". */
const char *mcsec_net_describe(const mcsec_net_t *n);
const char *mcsec_net_last_error(void);

#ifdef __cplusplus
}
#endif
#endif
