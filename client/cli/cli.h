/* The mcsec CLI: one function per subcommand (cmd_*.c), dispatched by mcsec.c, plus the
 * argument helpers they share (args.c).
 *
 * Conventions: a subcommand receives argv[0] = its own name. It prints its result on stdout
 * and every error as ONE line on stderr, "mcsec <command>: what was wrong; what to do".
 * Exit codes: 0 success, 1 failure, 2 usage error (bad or missing argument). */
#ifndef MCSEC_CLI_H
#define MCSEC_CLI_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "args.h"
#include "mcsec/bundle.h"
#include "mcsec/client.h"
#include "mcsec/keystore.h"
#include "mcsec/kmsxml.h"
#include "mcsec/profile.h"


/* Subcommands. Adding one: a line in mcsec.c's table and a cmd_<name>.c file. */
int cmd_uid(int argc, char *argv[]);
int cmd_keys(int argc, char *argv[]);
int cmd_provision(int argc, char *argv[]);
int cmd_fetch_keys(int argc, char *argv[]);
int cmd_mikey(int argc, char *argv[]);
int cmd_gmk(int argc, char *argv[]);
int cmd_gmk_receive(int argc, char *argv[]);
int cmd_register(int argc, char *argv[]);
/* The device credential a bundle carries (cmd_provision.c); 0 if a field is too long to store. */
int cli_bundle_cred(const mcsec_bundle_t *b, mcsec_device_cred_t *cred);
int cmd_demo(int argc, char *argv[]);
int cmd_talk(int argc, char *argv[]);
int cmd_adhoc(int argc, char *argv[]);
int cmd_direct(int argc, char *argv[]);
int cmd_discovery(int argc, char *argv[]);
int cmd_relay(int argc, char *argv[]);
/* gmk create, and adhoc create (adhoc: --send over the call channel, --out-dir optional). */
int cli_gmk_create(const char *cmd, int adhoc, int argc, char *argv[]);

/* --- Call transport options (netopts.c) ------------------------------------------------ */

typedef struct {
    const char *address, *port_s, *interface;
    const char *peers[MCSEC_NET_MAX_PEERS];
    size_t n_peers;
} cli_net_opts_t;
/* The option lines for --help. */
const char *cli_net_help(void);
/* Matches --address, --port, --interface, --peer at argv[*i]: as cli_option (1, 0 or -1). */
int cli_net_option(const char *cmd, int argc, char *argv[], int *i, cli_net_opts_t *o);
/* Opens the transport for group; CLI_OK, or CLI_USAGE / CLI_FAIL with the error printed. */
int cli_net_open(const char *cmd, const cli_net_opts_t *o, const char *group, mcsec_net_t **net);



/* --- Files and encodings (io.c) ------------------------------------------------------- */

/* Reads a whole regular file of 1..max octets into a malloc'ed buffer (free it; wipe it
 * first if it held secrets). Errors (missing, not a file, empty, larger than max) are
 * printed naming what ("--kms-init file") and the path. CLI_OK or CLI_FAIL. */
int cli_read_file(const char *cmd, const char *what, const char *path, size_t max, uint8_t **buf,
                  size_t *len);

/* Decodes standard base64 (RFC 4648, padded; whitespace ignored) in place. 1 on success. */
int cli_base64_decode(uint8_t *buf, size_t len, size_t *out_len);

void cli_hex(FILE *f, const uint8_t *p, size_t n);

/* A JSON writer: cli_json_start(&j, stdout) opens the top object; values and nested
 * containers (cli_json_open with '{' or '[') take their key (NULL inside arrays);
 * cli_json_close(&j, '}') of the top object ends the line. */
typedef struct {
    FILE *f;
    int depth;
    unsigned char need_comma[16];
} cli_json_t;
void cli_json_start(cli_json_t *j, FILE *f);
void cli_json_open(cli_json_t *j, const char *key, char bracket);
void cli_json_close(cli_json_t *j, char bracket);
void cli_json_str(cli_json_t *j, const char *key, const char *v);
void cli_json_text(cli_json_t *j, const char *key, const uint8_t *v, size_t n);
void cli_json_hex(cli_json_t *j, const char *key, const uint8_t *v, size_t n);
void cli_json_u64(cli_json_t *j, const char *key, uint64_t v);
void cli_json_bool(cli_json_t *j, const char *key, int v);
void cli_json_null(cli_json_t *j, const char *key);

/* --- The keystore (store.c) ----------------------------------------------------------- */

/* Opens the keystore in dir (creating it first when create is set and dir holds none; the
 * new passphrase is then asked twice on a terminal). Returns CLI_OK, or CLI_FAIL / CLI_USAGE
 * with the error printed. */
int cli_store_open(const char *cmd, const char *dir, const char *pass_file, int create,
                   mcsec_keystore_t **out);

/* The store's KMS parameters and its key set of the highest period (whose user_uri is the
 * handset's identity). Wipe latest after use. CLI_OK or CLI_FAIL (printed). */
int cli_store_identity(const char *cmd, mcsec_keystore_t *ks, mcsec_kms_params_t *kms,
                       mcsec_keyset_t *latest);

/* A receiver for the store's identity that loads key sets from the store by period. */
int cli_store_receiver(const char *cmd, mcsec_keystore_t *ks, mcsec_profile_receiver_t **rx,
                       char our_uri[MCSEC_KEYSTORE_URI_MAX]);

/* --- KMS documents into the keystore (import.c) --------------------------------------- */

#define CLI_DOCS_MAX_SETS 8
/* Parsed and validated documents. Holds secrets: cli_docs_wipe() after use. */
typedef struct {
    mcsec_kms_init_t init;
    mcsec_kms_keyset_t sets[CLI_DOCS_MAX_SETS];
    size_t n_sets;
    char user_uri[MCSEC_KEYSTORE_URI_MAX]; /* the identity every set was checked for */
} cli_docs_t;

/* Parses a KmsInit and a KmsKeyProv (names used in messages) and validates every key set for
 * expected_uri (NULL: the KeyProv's UserUri). Nothing is written. CLI_OK or CLI_FAIL. */
int cli_docs_parse(const char *cmd, const char *init_xml, size_t init_len, const char *init_name,
                   const char *prov_xml, size_t prov_len, const char *prov_name,
                   const char *expected_uri, cli_docs_t *d);
/* CLI_OK if the store may take d: no KMS yet or the same KMS, no identity yet or the same. */
int cli_docs_check_store(const char *cmd, mcsec_keystore_t *ks, const cli_docs_t *d);
/* cli_docs_check_store, then writes the KMS parameters and every key set. */
int cli_docs_store(const char *cmd, mcsec_keystore_t *ks, const cli_docs_t *d);
/* "imported N key sets for URI from KMS K (key period a, b)" on stdout. */
void cli_docs_print(const cli_docs_t *d);
void cli_docs_wipe(cli_docs_t *d);


#endif
