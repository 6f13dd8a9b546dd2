/* A UE's direct links: configuration, the table of stored link contexts, connection
 * identities and KD ID / KD-sess ID halves unique at this UE, lookups, KD and key creation
 * data supplied by the application, and the link's read-only information. */
#include <stdlib.h>
#include <string.h>

#include "direct_internal.h"
#include "mcsec/secmem.h"

#define DEFAULT_SOFT 0x80000000u
#define DEFAULT_HARD 0xFFFFFFF0u
#define DEFAULT_LINKS 256
#define ALLOC_TRIES 64
#define ALG_ENC_KNOWN (MCSEC_DIRECT_ALG_BIT(MCSEC_DIRECT_ENC_NULL) | \
                       MCSEC_DIRECT_ALG_BIT(MCSEC_DIRECT_ENC_AES_CTR))
#define ALG_INT_KNOWN MCSEC_DIRECT_ALG_BIT(MCSEC_DIRECT_INT_AES_CMAC)

mcsec_status_t dx_fail(mcsec_direct_link_t *link, mcsec_direct_check_t check, const char *why,
                       mcsec_status_t st)
{
    if (link != NULL) {
        link->check = check;
        link->why = why;
    }
    return st;
}

void dx_ok(mcsec_direct_link_t *link)
{
    link->check = MCSEC_DIRECT_CHECK_NONE;
    link->why = "";
}

mcsec_status_t mcsec_direct_ue_new(mcsec_direct_ue_t **out, const mcsec_direct_config_t *cfg)
{
    if (out == NULL || cfg == NULL || cfg->user_uri == NULL || cfg->user_uri[0] == 0 ||
        strlen(cfg->user_uri) > MCSEC_DIRECT_USER_INFO_MAX)
        return MCSEC_ERR_BAD_INPUT;
    *out = NULL;
    uint8_t enc = cfg->enc_algs ? cfg->enc_algs : MCSEC_DIRECT_ALG_BIT(MCSEC_DIRECT_ENC_AES_CTR);
    uint8_t integ = cfg->int_algs ? cfg->int_algs : ALG_INT_KNOWN;
    if ((enc & ~ALG_ENC_KNOWN) || (integ & ~(ALG_INT_KNOWN |
                                             MCSEC_DIRECT_ALG_BIT(MCSEC_DIRECT_INT_NULL))))
        return MCSEC_ERR_BAD_INPUT;
    integ &= ALG_INT_KNOWN; /* null integrity is never offered */
    if (integ == 0)
        return MCSEC_ERR_BAD_INPUT;
    mcsec_status_t rc = mcsec_init();
    if (rc != MCSEC_OK)
        return rc;
    mcsec_direct_ue_t *ue = calloc(1, sizeof *ue);
    if (ue == NULL)
        return MCSEC_ERR_NOMEM;
    memcpy(ue->uri, cfg->user_uri, strlen(cfg->user_uri) + 1);
    ue->enc_algs = enc;
    ue->int_algs = integ;
    ue->count_soft = cfg->count_soft ? cfg->count_soft : DEFAULT_SOFT;
    ue->count_hard = cfg->count_hard ? cfg->count_hard : DEFAULT_HARD;
    if (ue->count_soft > ue->count_hard)
        ue->count_soft = ue->count_hard;
    ue->max_links = cfg->max_links ? cfg->max_links : DEFAULT_LINKS;
    *out = ue;
    return MCSEC_OK;
}

static void link_free(mcsec_direct_link_t *l)
{
    if (l == NULL)
        return;
    if (l->kcd != NULL) {
        mcsec_memzero(l->kcd, sizeof *l->kcd * MCSEC_DIRECT_KCD_ITEMS);
        free(l->kcd);
    }
    mcsec_memzero(l, sizeof *l); /* KD, pending KD, sessions */
    free(l);
}

void mcsec_direct_ue_free(mcsec_direct_ue_t *ue)
{
    if (ue == NULL)
        return;
    mcsec_direct_link_t *l = ue->links;
    while (l != NULL) {
        mcsec_direct_link_t *next = l->next;
        link_free(l);
        l = next;
    }
    mcsec_memzero(ue, sizeof *ue);
    free(ue);
}

/* --- Identifiers unique at this UE ------------------------------------------------------------ */

static mcsec_status_t rand32(uint32_t *v)
{
    uint8_t b[4];
    mcsec_status_t rc = mcsec_random_bytes(b, sizeof b);
    *v = dx_get32(b);
    return rc;
}

mcsec_status_t dx_new_local_conn_id(mcsec_direct_ue_t *ue, uint32_t *out)
{
    for (int t = 0; t < ALLOC_TRIES; t++) {
        uint32_t v = 0;
        mcsec_status_t rc = rand32(&v);
        if (rc != MCSEC_OK)
            return rc;
        v &= 0x7FFFFFFFu; /* the top bit is the network entities' (include/mcsec/pkmf.h) */
        if (v == 0)
            continue;
        int used = 0;
        for (const mcsec_direct_link_t *l = ue->links; l != NULL && !used; l = l->next)
            used = l->local_conn_id == v;
        if (!used) {
            *out = v;
            return MCSEC_OK;
        }
    }
    return MCSEC_ERR_RNG;
}

int dx_kd_id_in_use(const mcsec_direct_ue_t *ue, const mcsec_direct_link_t *except, uint32_t id)
{
    for (const mcsec_direct_link_t *l = ue->links; l != NULL; l = l->next) {
        if (l == except)
            continue;
        if ((l->have_kd && l->kd_id == id) || (l->have_pend_kd && l->pend_fixed &&
                                                l->pend_kd_id == id))
            return 1;
    }
    return 0;
}

static int msb_in_use(const mcsec_direct_ue_t *ue, const mcsec_direct_link_t *except, uint16_t msb)
{
    for (const mcsec_direct_link_t *l = ue->links; l != NULL; l = l->next)
        if (l != except && (l->next_msb == msb || (l->have_kd && (l->kd_id >> 16) == msb)))
            return 1;
    return 0;
}

mcsec_status_t dx_new_kd_lsb(mcsec_direct_ue_t *ue, uint16_t msb, uint16_t *lsb)
{
    for (int t = 0; t < ALLOC_TRIES; t++) {
        uint32_t v = 0;
        mcsec_status_t rc = rand32(&v);
        if (rc != MCSEC_OK)
            return rc;
        uint16_t l = (uint16_t)v;
        if (l != 0 && !dx_kd_id_in_use(ue, NULL, (uint32_t)msb << 16 | l)) {
            *lsb = l;
            return MCSEC_OK;
        }
    }
    return MCSEC_ERR_RNG;
}

static int sess_id_in_use(const mcsec_direct_ue_t *ue, uint16_t id)
{
    for (const mcsec_direct_link_t *l = ue->links; l != NULL; l = l->next)
        if ((l->cur.active && l->cur.id == id) || (l->prev.active && l->prev.id == id) ||
            (l->x.active && (uint16_t)(l->x.sess_msb << 8 | l->x.sess_lsb) == id))
            return 1;
    return 0;
}

mcsec_status_t dx_new_sess_lsb(mcsec_direct_ue_t *ue, uint8_t msb, uint8_t *lsb)
{
    for (int t = 0; t < ALLOC_TRIES; t++) {
        uint32_t v = 0;
        mcsec_status_t rc = rand32(&v);
        if (rc != MCSEC_OK)
            return rc;
        uint8_t l = (uint8_t)v;
        if (l != 0 && !sess_id_in_use(ue, (uint16_t)(msb << 8 | l))) {
            *lsb = l;
            return MCSEC_OK;
        }
    }
    return MCSEC_ERR_RNG;
}

/* Our halves for the next exchange we request: the KD ID MSB with the PCK purpose tag in its
 * top nibble (so that KD ID can be the key id of a MIKEY-SAKKE PCK message), unique among our
 * links; the KD-sess ID MSB, nonzero and not used by our other sessions when possible. */
mcsec_status_t dx_new_msbs(mcsec_direct_ue_t *ue, mcsec_direct_link_t *link)
{
    mcsec_status_t rc = MCSEC_ERR_RNG;
    for (int t = 0; t < ALLOC_TRIES; t++) {
        uint32_t v = 0;
        if ((rc = rand32(&v)) != MCSEC_OK)
            return rc;
        uint16_t msb = (uint16_t)(0x1000u | (v & 0x0FFFu));
        if ((v & 0x0FFFu) == 0 || msb_in_use(ue, link, msb))
            continue;
        link->next_msb = msb;
        rc = MCSEC_OK;
        break;
    }
    if (rc != MCSEC_OK)
        return rc;
    for (int t = 0; t < ALLOC_TRIES; t++) {
        uint32_t v = 0;
        if ((rc = rand32(&v)) != MCSEC_OK)
            return rc;
        uint8_t m = (uint8_t)(v >> 8);
        if (m == 0)
            continue;
        link->next_sess_msb = m;
        int clash = 0;
        for (const mcsec_direct_link_t *l = ue->links; l != NULL && !clash; l = l->next)
            clash = l != link && l->cur.active && (l->cur.id >> 8) == m;
        if (!clash)
            break; /* else try again; a clash after every try is harmless (route by peer) */
    }
    return MCSEC_OK;
}

/* --- Links ------------------------------------------------------------------------------------ */

mcsec_status_t mcsec_direct_link_new(mcsec_direct_ue_t *ue, const char *peer_uri,
                                     mcsec_direct_link_t **out)
{
    if (ue == NULL || out == NULL || peer_uri == NULL ||
        strlen(peer_uri) > MCSEC_DIRECT_USER_INFO_MAX)
        return MCSEC_ERR_BAD_INPUT;
    *out = NULL;
    if (ue->n_links >= ue->max_links)
        return MCSEC_ERR_NOMEM;
    mcsec_direct_link_t *l = calloc(1, sizeof *l);
    if (l == NULL)
        return MCSEC_ERR_NOMEM;
    l->ue = ue;
    memcpy(l->peer, peer_uri, strlen(peer_uri) + 1);
    l->state = MCSEC_DIRECT_S_NEW;
    l->why = "";
    mcsec_status_t rc = dx_new_msbs(ue, l);
    if (rc != MCSEC_OK) {
        free(l);
        return rc;
    }
    l->next = ue->links;
    ue->links = l;
    ue->n_links++;
    *out = l;
    return MCSEC_OK;
}

mcsec_status_t mcsec_direct_link_by_conn_id(mcsec_direct_ue_t *ue, uint32_t conn_id,
                                            mcsec_direct_link_t **out)
{
    if (ue == NULL || out == NULL)
        return MCSEC_ERR_BAD_INPUT;
    *out = NULL;
    for (mcsec_direct_link_t *l = ue->links; l != NULL && conn_id != 0; l = l->next)
        if (l->local_conn_id == conn_id) {
            *out = l;
            return MCSEC_OK;
        }
    return MCSEC_ERR_UNKNOWN_KEY;
}

mcsec_status_t mcsec_direct_link_by_peer(mcsec_direct_ue_t *ue, const char *peer_uri,
                                         mcsec_direct_link_t **out)
{
    if (ue == NULL || out == NULL || peer_uri == NULL)
        return MCSEC_ERR_BAD_INPUT;
    *out = NULL;
    for (mcsec_direct_link_t *l = ue->links; l != NULL && peer_uri[0] != 0; l = l->next)
        if (strcmp(l->peer, peer_uri) == 0) {
            *out = l;
            return MCSEC_OK;
        }
    return MCSEC_ERR_UNKNOWN_KEY;
}

mcsec_status_t mcsec_direct_link_by_kd_sess_id(mcsec_direct_ue_t *ue, uint16_t id,
                                               mcsec_direct_link_t **out)
{
    if (ue == NULL || out == NULL)
        return MCSEC_ERR_BAD_INPUT;
    *out = NULL;
    for (mcsec_direct_link_t *l = ue->links; l != NULL && id != 0; l = l->next)
        if ((l->cur.active && l->cur.id == id) || (l->prev.active && l->prev.id == id) ||
            (l->x.active && l->x.sess.active && l->x.sess.id == id)) {
            *out = l;
            return MCSEC_OK;
        }
    return MCSEC_ERR_UNKNOWN_KEY;
}

void mcsec_direct_link_forget(mcsec_direct_ue_t *ue, mcsec_direct_link_t *link)
{
    if (ue == NULL || link == NULL)
        return;
    for (mcsec_direct_link_t **pp = &ue->links; *pp != NULL; pp = &(*pp)->next)
        if (*pp == link) {
            *pp = link->next;
            ue->n_links--;
            link_free(link);
            return;
        }
}

/* --- What the application supplies --------------------------------------------------------- */

mcsec_status_t mcsec_direct_set_kd(mcsec_direct_link_t *link, const uint8_t kd[MCSEC_DIRECT_KD_LEN])
{
    if (link == NULL || kd == NULL)
        return MCSEC_ERR_BAD_INPUT;
    memcpy(link->pend_kd, kd, MCSEC_DIRECT_KD_LEN);
    link->have_pend_kd = 1;
    link->pend_fixed = 0;
    link->pend_kd_id = 0;
    return MCSEC_OK;
}

mcsec_status_t mcsec_direct_set_kd_with_id(mcsec_direct_link_t *link,
                                           const uint8_t kd[MCSEC_DIRECT_KD_LEN], uint32_t kd_id)
{
    if (link == NULL || kd == NULL || kd_id == 0 || dx_kd_id_in_use(link->ue, link, kd_id))
        return MCSEC_ERR_BAD_INPUT;
    memcpy(link->pend_kd, kd, MCSEC_DIRECT_KD_LEN);
    link->have_pend_kd = 1;
    link->pend_fixed = 1;
    link->pend_kd_id = kd_id;
    return MCSEC_OK;
}

mcsec_status_t mcsec_direct_add_kcd(mcsec_direct_link_t *link, uint8_t type,
                                    const uint8_t *value, size_t len)
{
    if (link == NULL || type == 0 || type == 0xFF || (len > 0 && value == NULL))
        return MCSEC_ERR_BAD_INPUT;
    if (len > MCSEC_DIRECT_KCD_MAX)
        return MCSEC_ERR_BAD_LENGTH;
    if (link->n_kcd >= MCSEC_DIRECT_KCD_ITEMS)
        return MCSEC_ERR_STRUCTURE;
    for (size_t i = 0; i < link->n_kcd; i++)
        if (link->kcd[i].type == type)
            return MCSEC_ERR_STRUCTURE;
    if (link->kcd == NULL) {
        link->kcd = calloc(MCSEC_DIRECT_KCD_ITEMS, sizeof *link->kcd);
        if (link->kcd == NULL)
            return MCSEC_ERR_NOMEM;
    }
    dx_kcd_item_t *it = &link->kcd[link->n_kcd++];
    it->type = type;
    it->len = (uint16_t)len;
    if (len > 0)
        memcpy(it->value, value, len);
    return MCSEC_OK;
}

/* --- Information ------------------------------------------------------------------------------ */

mcsec_direct_state_t mcsec_direct_state(const mcsec_direct_link_t *link)
{
    return link != NULL ? link->state : MCSEC_DIRECT_S_NEW;
}

const char *mcsec_direct_state_name(mcsec_direct_state_t state)
{
    switch (state) {
    case MCSEC_DIRECT_S_NEW:
        return "new";
    case MCSEC_DIRECT_S_DCR_SENT:
        return "dcr-sent";
    case MCSEC_DIRECT_S_RESPONDING:
        return "responding";
    case MCSEC_DIRECT_S_DSMC_SENT:
        return "dsmc-sent";
    case MCSEC_DIRECT_S_DSMP_SENT:
        return "dsmp-sent";
    case MCSEC_DIRECT_S_ESTABLISHED:
        return "established";
    case MCSEC_DIRECT_S_IDLE:
        return "idle";
    }
    return "unknown";
}

const char *mcsec_direct_check_name(mcsec_direct_check_t check)
{
    switch (check) {
    case MCSEC_DIRECT_CHECK_NONE:
        return "none";
    case MCSEC_DIRECT_CHECK_PARSE:
        return "parse";
    case MCSEC_DIRECT_CHECK_STATE:
        return "state";
    case MCSEC_DIRECT_CHECK_REPLAY:
        return "replay";
    case MCSEC_DIRECT_CHECK_KEY:
        return "key";
    case MCSEC_DIRECT_CHECK_ALGS:
        return "algorithms";
    case MCSEC_DIRECT_CHECK_MAC:
        return "mac";
    case MCSEC_DIRECT_CHECK_BIDDING_DOWN:
        return "bidding-down";
    case MCSEC_DIRECT_CHECK_DIGEST:
        return "digest";
    case MCSEC_DIRECT_CHECK_CONTENT:
        return "content";
    case MCSEC_DIRECT_CHECK_COUNT:
        return "count";
    case MCSEC_DIRECT_CHECK_REJECTED:
        return "rejected";
    }
    return "unknown";
}

mcsec_direct_role_t mcsec_direct_role(const mcsec_direct_link_t *link)
{
    return link != NULL ? link->role : MCSEC_DIRECT_INITIATOR;
}

const char *mcsec_direct_peer(const mcsec_direct_link_t *link)
{
    return link != NULL ? link->peer : "";
}

uint16_t mcsec_direct_kd_id_msb(const mcsec_direct_link_t *link)
{
    return link != NULL ? link->next_msb : 0;
}

uint32_t mcsec_direct_kd_id(const mcsec_direct_link_t *link)
{
    if (link == NULL)
        return 0;
    if (link->x.active && link->x.kd_id != 0 && (link->x.kd_id & 0xFFFF) != 0)
        return link->x.kd_id;
    return link->have_kd ? link->kd_id : 0;
}

uint16_t mcsec_direct_kd_sess_id(const mcsec_direct_link_t *link)
{
    return link != NULL && link->cur.active ? link->cur.id : 0;
}

void mcsec_direct_algs(const mcsec_direct_link_t *link, uint8_t *enc_alg, uint8_t *int_alg)
{
    const dx_session_t *s = link != NULL && link->cur.active ? &link->cur : NULL;
    if (enc_alg != NULL)
        *enc_alg = s != NULL ? s->enc_alg : 0;
    if (int_alg != NULL)
        *int_alg = s != NULL ? s->int_alg : 0;
}

uint32_t mcsec_direct_local_conn_id(const mcsec_direct_link_t *link)
{
    return link != NULL ? link->local_conn_id : 0;
}

uint32_t mcsec_direct_remote_conn_id(const mcsec_direct_link_t *link)
{
    return link != NULL ? link->remote_conn_id : 0;
}

int mcsec_direct_needs_rekey(const mcsec_direct_link_t *link)
{
    if (link == NULL || !link->cur.active)
        return 0;
    for (int b = 0; b < MCSEC_DIRECT_BEARERS; b++)
        if (link->cur.tx_next[b] >= link->ue->count_soft || link->cur.tx_exhausted[b])
            return 1;
    return 0;
}

mcsec_direct_check_t mcsec_direct_last_check(const mcsec_direct_link_t *link)
{
    return link != NULL ? link->check : MCSEC_DIRECT_CHECK_NONE;
}

const char *mcsec_direct_last_why(const mcsec_direct_link_t *link)
{
    return link != NULL && link->why != NULL ? link->why : "";
}

void mcsec_direct_stats(const mcsec_direct_link_t *link, mcsec_direct_stats_t *out)
{
    if (out == NULL)
        return;
    if (link == NULL)
        memset(out, 0, sizeof *out);
    else
        *out = link->stats;
}
