/* mcsec direct (cmd_direct*.c): the one-to-one direct link demo in pieces. Two handsets in one
 * process, each with its keystore, identity keys, direct-link UE and UDP socket on loopback;
 * an event loop (cmd_direct_loop.c) hands every datagram to mcsec_direct_handle; the script
 * (cmd_direct_demo.c) establishes, exchanges data, rekeys both ways, releases and resumes;
 * keys come from a throw-away KMS (cmd_direct_keys.c) or, in network mode, from mcsec-kms
 * network entities (cmd_direct_net.c). */
#ifndef MCSEC_CLI_DIRECT_H
#define MCSEC_CLI_DIRECT_H

#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "cli.h"
#include "demo.h"
#include "mcsec/direct.h"
#include "mcsec/prose.h"

#define DD_CMD "direct demo"
#define DD_STEPS_MAX 24
#define DD_PAYLOAD_MAX 320
#define DD_WAIT_MS 10000u /* the longest a step waits for datagrams */

typedef enum { DD_OFFLINE = 1, DD_NETWORK = 2, DD_SDES = 3 } dd_mode_t;

typedef struct {
    char name[24];
    double ms;
    int ok;
    char detail[320];
} dd_step_t;

/* One handset. */
typedef struct {
    const char *name; /* "alice" */
    uint8_t tag;      /* in its payloads */
    char uri[128];
    char store[PATH_MAX];
    mcsec_keystore_t *ks;
    mcsec_direct_identity_t *id;
    mcsec_direct_ue_t *ue;
    mcsec_direct_udp_t *udp;
    mcsec_direct_link_t *link;
    mcsec_direct_keys_t keys;
    /* network mode */
    mcsec_prose_server_t entity;
    char entity_endpoint[64], entity_public[48], device_public[48], device_secret[48];
    /* traffic */
    uint32_t next_tx;                /* payload index */
    uint64_t sent, received, bad_content, refused;
    mcsec_status_t last_refusal;
    char refusal[200]; /* the last refusal, one line */
} dd_ue_t;

typedef struct {
    dd_mode_t mode;
    int json;
    const char *attack; /* NULL or "bidding-down" */
    unsigned packets;   /* per direction per data step */
    FILE *log;          /* progress: stdout, or stderr with --json */
    struct timespec t0;
    demo_env_t env;     /* working directory, passphrase, daemons */
    dd_step_t steps[DD_STEPS_MAX];
    size_t n_steps;
    dd_ue_t ue[2];      /* [0] alice (starts), [1] bob */
    char failure[256];  /* the first failure, one line */
} dd_run_t;

const char *dd_mode_name(dd_mode_t m);

/* cmd_direct_demo.c */
int cmd_direct_demo(int argc, char *argv[]);
void dd_progress(dd_run_t *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* cmd_direct_keys.c: a throw-away KMS in this process whose TS 33.180 documents each handset
 * imports into its own keystore (validated as `mcsec keys import` does); then the identity
 * keys. CLI_OK or CLI_FAIL (r->failure set). */
int dd_keys(dd_run_t *r);

/* cmd_direct_net.c: network mode: a KMS and two network entities (mcsec-kms) on loopback,
 * both handsets enrolled and authorised; alice's KD comes from mcsec_prose_nw_initiate, bob's
 * from mcsec_prose_nw_accept through the KD hook. */
int dd_network_setup(dd_run_t *r);
/* alice: a KD from her entity for a link (or a rekey) to bob; sets it on the link with its
 * KD ID and adds the session token to the key creation data. */
int dd_network_offer(dd_run_t *r, dd_ue_t *u, mcsec_direct_link_t *link);

/* cmd_direct_loop.c: sockets, the event loop and the data checks. */
int dd_sockets(dd_run_t *r);
void dd_close(dd_run_t *r);
typedef int (*dd_done_fn)(dd_run_t *r);
/* Runs the loop until done(r) or DD_WAIT_MS passed: CLI_OK or CLI_FAIL. send_edit (may be
 * NULL) may change a datagram alice sends (the demo's man in the middle). */
int dd_loop(dd_run_t *r, dd_done_fn done);
/* Sends a datagram from u (through the attack hook). */
int dd_send(dd_run_t *r, dd_ue_t *u, const uint8_t *msg, size_t len);
/* n packets from u to its peer on bearers 0..3 in turn. CLI_OK or CLI_FAIL. */
int dd_send_data(dd_run_t *r, dd_ue_t *u, unsigned n);

/* cmd_direct_report.c */
void dd_report_text(const dd_run_t *r, int ok);
void dd_report_json(const dd_run_t *r, int ok);

#endif
