/* mcsec gmk create: this handset acts as the group manager of an ad-hoc group (seed 002,
 * 6.3.1.3.3): its own identity keys sign, a fresh GMK goes to every member in a MIKEY-SAKKE
 * I_MESSAGE (one file per member, `<member-uri>.mikey`, the URI made file-name safe), and the
 * handset stores the GMK itself. `mcsec gmk receive` (cmd_gmk_receive.c) is the other end. */
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cli.h"
#include "internal.h" /* mcsec_file_write_atomic */
#include "mcsec/kdf.h"
#include "mcsec/secmem.h"

#define MAX_MEMBERS 4096
#define MSG_CAP 4096

static const char *const create_help =
    "usage: mcsec gmk create --store DIR --group URI --member URI [--member URI ...]\n"
    "                        --out-dir DIR [--lifetime SECONDS] [--passphrase-file FILE]\n\n"
    "Makes a new GMK for an ad-hoc group led by this handset (its identity signs) and writes\n"
    "one MIKEY-SAKKE I_MESSAGE per member to DIR/<member-uri>.mikey ('/', '%', control\n"
    "characters and a leading '.' are %XX-escaped). The GMK is stored in the keystore too.\n"
    "  --group URI             the group's URI (carried in the key parameters)\n"
    "  --member URI            a member to send the GMK to (repeat for each)\n"
    "  --out-dir DIR           where the message files go (created if missing)\n"
    "  --lifetime SECONDS      expiry this long after now (default: no expiry)\n";

/* The call datagrams of an ad-hoc delivery, kept to be sent (and repeated) once all are built. */
typedef struct {
    uint8_t **d;
    size_t *len, n;
} outbox_t;

static mcsec_status_t outbox_add(outbox_t *b, const char *group, const char *member,
                                 const uint8_t *msg, size_t len) {
    size_t cap = len + strlen(group) + strlen(member) + 32;
    uint8_t **d = realloc(b->d, (b->n + 1) * sizeof *d);
    if (d == NULL) return MCSEC_ERR_NOMEM;
    b->d = d;
    size_t *l = realloc(b->len, (b->n + 1) * sizeof *l);
    if (l == NULL) return MCSEC_ERR_NOMEM;
    b->len = l;
    if ((b->d[b->n] = malloc(cap)) == NULL) return MCSEC_ERR_NOMEM;
    mcsec_status_t rc = mcsec_call_gmk_datagram(group, member, msg, len, b->d[b->n], cap,
                                                &b->len[b->n]);
    if (rc != MCSEC_OK) {
        free(b->d[b->n]);
        return rc;
    }
    b->n++;
    return MCSEC_OK;
}

/* Sends every datagram `repeat` times, 300 ms apart: UDP may lose one, and members that repeat
 * nothing see the copies as replays of a message they stored (harmless). */
static int outbox_send(const char *cmd, const outbox_t *b, mcsec_net_t *net, unsigned repeat) {
    for (unsigned r = 0; r < repeat; r++) {
        if (r > 0) nanosleep(&(struct timespec){0, 300 * 1000000L}, NULL);
        for (size_t i = 0; i < b->n; i++)
            if (mcsec_net_send(net, MCSEC_NET_CONTROL, b->d[i], b->len[i]) != MCSEC_OK) {
                cli_error(cmd, "%s", mcsec_net_last_error());
                return CLI_FAIL;
            }
    }
    return CLI_OK;
}

static void outbox_free(outbox_t *b) {
    for (size_t i = 0; i < b->n; i++)
        free(b->d[i]);
    free(b->d);
    free(b->len);
}

static const char *const adhoc_help =
    "usage: mcsec adhoc create --store DIR --group URI --member URI [--member URI ...]\n"
    "                          [--send [--repeat N]] [--out-dir DIR] [--lifetime SECONDS]\n"
    "                          [--passphrase-file FILE] [transport options]\n\n"
    "This handset becomes the group manager of an ad-hoc group (seed 002 6.3.1.3.3): a fresh\n"
    "GMK, signed by this handset's identity, goes to every member in a MIKEY-SAKKE I_MESSAGE,\n"
    "sent on the group's call channel (--send; members listening with `mcsec talk` or\n"
    "`mcsec adhoc join` store it) and/or written to DIR/<member-uri>.mikey for `mcsec gmk\n"
    "receive`. No KMS or Group Manager is needed. The GMK is stored here too.\n"
    "  --send                  send the messages on the call channel\n"
    "  --repeat N              send each N times, 300 ms apart (default 3)\n"
    "  --out-dir DIR           also write the message files there\n"
    "  --lifetime SECONDS      expiry this long after now (default: no expiry)\n";

int cli_gmk_create(const char *cmd, int adhoc, int argc, char *argv[]) {
    const char *store = NULL, *group = NULL, *out_dir = NULL, *pass = NULL, *lifetime_s = NULL;
    const char **members = NULL;
    size_t n_members = 0;
    uint64_t lifetime = 0, period_no;
    mcsec_keystore_t *ks = NULL;
    mcsec_kms_params_t kms;
    mcsec_keyset_t me, cur;
    mcsec_eccsi_signer_t *signer = NULL;
    mcsec_sakke_sender_t *sakke = NULL;
    mcsec_gmk_record_t rec;
    uint8_t gmk[MCSEC_GMK_LEN], *msg = NULL;
    uint32_t gmk_id = 0;
    int ret = CLI_USAGE, send = 0;
    const char *repeat_s = NULL;
    uint64_t repeat = 3;
    cli_net_opts_t net_opts;
    mcsec_net_t *net = NULL;
    outbox_t box = {0};
    memset(&net_opts, 0, sizeof net_opts);

    memset(&me, 0, sizeof me);
    memset(&cur, 0, sizeof cur);
    memset(&rec, 0, sizeof rec);
    memset(gmk, 0, sizeof gmk);
    if ((members = calloc((size_t)argc, sizeof *members)) == NULL) {
        cli_error(cmd, "out of memory");
        return CLI_FAIL;
    }
    for (int i = 1; i < argc; i++) {
        int m;
        const char *member = NULL;
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(adhoc ? adhoc_help : create_help, stdout);
            if (adhoc) fputs(cli_net_help(), stdout);
            ret = CLI_OK;
            goto out;
        }
        if ((m = cli_option(cmd, argc, argv, &i, "--member", &member, "sip:bob@example.org"))) {
            if (m < 0) goto out;
            members[n_members++] = member;
            continue;
        }
        if (adhoc && strcmp(argv[i], "--send") == 0) {
            send = 1;
            continue;
        }
        if (adhoc && ((m = cli_net_option(cmd, argc, argv, &i, &net_opts)) ||
                      (m = cli_option(cmd, argc, argv, &i, "--repeat", &repeat_s, "3")))) {
            if (m < 0) goto out;
            continue;
        }
        if ((m = cli_option(cmd, argc, argv, &i, "--store", &store, "~/.mcsec")) ||
            (m = cli_option(cmd, argc, argv, &i, "--group", &group, "sip:fire-3@example.org")) ||
            (m = cli_option(cmd, argc, argv, &i, "--out-dir", &out_dir, "outbox")) ||
            (m = cli_option(cmd, argc, argv, &i, "--lifetime", &lifetime_s, "86400")) ||
            (m = cli_option(cmd, argc, argv, &i, "--passphrase-file", &pass, "pass.txt"))) {
            if (m < 0) goto out;
            continue;
        }
        ret = cli_bad_arg(cmd, cmd, argv[i]);
        goto out;
    }
    if (store == NULL || group == NULL || (out_dir == NULL && !send) || n_members == 0) {
        cli_error(cmd, "--store, --group, %s and at least one --member are required, e.g. "
                       "--group sip:fire-3@example.org --member sip:bob@example.org",
                  adhoc ? "--send or --out-dir (or both)" : "--out-dir");
        goto out;
    }
    if (repeat_s != NULL && (!cli_parse_u64(repeat_s, &repeat) || repeat == 0 || repeat > 100)) {
        cli_error(cmd, "--repeat '%s' is not a count from 1 to 100", repeat_s);
        goto out;
    }

    if (group[0] == 0 || strlen(group) >= MCSEC_PROFILE_URI_MAX) {
        cli_error(cmd, "--group must be a URI of 1 to %d octets", MCSEC_PROFILE_URI_MAX - 1);
        goto out;
    }
    if (n_members > MAX_MEMBERS) {
        cli_error(cmd, "at most %d members per command; split the group", MAX_MEMBERS);
        goto out;
    }
    for (size_t i = 0; i < n_members; i++) {
        char name[256];
        if (members[i][0] == 0 || !mcsec_mikey_file_name(members[i], name, sizeof name)) {
            cli_error(cmd, "--member '%s' is empty or too long for a file name (255 octets "
                           "with the .mikey suffix and escapes)",
                      members[i]);
            goto out;
        }
        for (size_t k = 0; k < i; k++)
            if (strcmp(members[k], members[i]) == 0) {
                cli_error(cmd, "--member %s is given twice; give each member once", members[i]);
                goto out;
            }
    }
    if (lifetime_s != NULL && (!cli_parse_u64(lifetime_s, &lifetime) || lifetime == 0 ||
                               lifetime > 100ull * 365 * 86400)) {
        cli_error(cmd, "--lifetime '%s' is not a number of seconds from 1 to 100 years",
                  lifetime_s);
        goto out;
    }

    if (send && (ret = cli_net_open(cmd, &net_opts, group, &net)) != CLI_OK) goto out;
    ret = CLI_FAIL;
    if ((ret = cli_store_open(cmd, store, pass, 0, &ks)) != CLI_OK) goto out;
    ret = CLI_FAIL;
    if (cli_store_identity(cmd, ks, &kms, &me) != CLI_OK) goto out;
    uint64_t ntp_time = cli_ntp_now64(), now = ntp_time >> 32;
    if (mcsec_key_period_no(now, kms.key_period, kms.key_period_offset, &period_no) != MCSEC_OK ||
        mcsec_keystore_get_keyset(ks, period_no, &cur) != MCSEC_OK) {
        cli_error(cmd, "the keystore has no key set for the current key period (%" PRIu64
                       "); import or fetch this period's keys first",
                  period_no);
        goto out;
    }
    mcsec_status_t rc = mcsec_eccsi_signer_new(&signer, kms.kpak, cur.uid, sizeof cur.uid,
                                               cur.ssk, cur.pvt);
    if (rc == MCSEC_OK) rc = mcsec_sakke_sender_new(&sakke, kms.Z);
    if (rc != MCSEC_OK) {
        cli_error(cmd, "the stored keys of period %" PRIu64 " do not work (%s); re-import them",
                  period_no, mcsec_strerror(rc));
        goto out;
    }
    if (out_dir != NULL && mkdir(out_dir, 0700) != 0) {
        struct stat st;
        if (stat(out_dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
            cli_error(cmd, "--out-dir %s is not a directory and cannot be created", out_dir);
            goto out;
        }
    }

    if (mcsec_random_bytes(gmk, sizeof gmk) != MCSEC_OK ||
        mcsec_random_bytes((uint8_t *)&gmk_id, sizeof gmk_id) != MCSEC_OK) {
        cli_error(cmd, "the random generator failed; try again");
        goto out;
    }
    gmk_id &= 0x0fffffffu; /* purpose tag 0: GMK */
    mcsec_key_params_t kp;
    memset(&kp, 0, sizeof kp);
    kp.key_type = MCSEC_PURPOSE_GMK;
    kp.activation = ntp_time;
    kp.expiry = lifetime ? (now + lifetime) << 32 : 0;
    snprintf(kp.group_id, sizeof kp.group_id, "%s", group);
    mcsec_gmk_sender_t tx = {
        .initiator_uri = cur.user_uri,
        .kms_uri = kms.kms_uri,
        .key_period = kms.key_period,
        .key_period_offset = kms.key_period_offset,
        .signer = signer,
        .sakke = sakke,
    };
    if ((msg = malloc(MSG_CAP)) == NULL) {
        cli_error(cmd, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < n_members; i++) {
        char name[256];
        size_t len;
        rc = mcsec_gmk_build(&tx, members[i], gmk, gmk_id, &kp, ntp_time, msg, MSG_CAP, &len);
        if (rc != MCSEC_OK) {
            cli_error(cmd, "cannot build the message for %s: %s", members[i], mcsec_strerror(rc));
            goto out;
        }
        if (send && outbox_add(&box, group, members[i], msg, len) != MCSEC_OK) {
            cli_error(cmd, "out of memory");
            goto out;
        }
        if (out_dir == NULL) continue;
        (void)mcsec_mikey_file_name(members[i], name, sizeof name);
        if (mcsec_file_write_atomic(out_dir, name, msg, len, 0) != MCSEC_OK) {
            cli_error(cmd, "%s", mcsec_keystore_last_error());
            goto out;
        }
        printf("wrote %s/%s\n", out_dir, name);
    }

    snprintf(rec.group_uri, sizeof rec.group_uri, "%s", group);
    memcpy(rec.gmk, gmk, sizeof gmk);
    rec.gmk_id = gmk_id;
    rec.activation = kp.activation;
    rec.expiry = kp.expiry;
    rec.mikey_timestamp = ntp_time;
    if (mcsec_guk_id(gmk, sizeof gmk, gmk_id, cur.user_uri, &rec.guk_id) != MCSEC_OK ||
        mcsec_keystore_put_gmk(ks, &rec) != MCSEC_OK) {
        cli_error(cmd, "the messages are written but the GMK could not be stored: %s",
                  mcsec_keystore_last_error());
        goto out;
    }
    if (send && outbox_send(cmd, &box, net, (unsigned)repeat) != CLI_OK) goto out;
    char where[PATH_MAX + 128];
    if (send && out_dir != NULL)
        snprintf(where, sizeof where, "sent on %s and in %s", mcsec_net_describe(net), out_dir);
    else if (send)
        snprintf(where, sizeof where, "sent on %s", mcsec_net_describe(net));
    else
        snprintf(where, sizeof where, "in %s", out_dir);
    printf("GMK-ID %08" PRIx32 " for %s: %zu member message%s %s; stored as the group's "
           "current GMK\n",
           gmk_id, group, n_members, n_members == 1 ? "" : "s", where);
    ret = CLI_OK;
out:
    mcsec_memzero(gmk, sizeof gmk);
    mcsec_memzero(&rec, sizeof rec);
    mcsec_memzero(&me, sizeof me);
    mcsec_memzero(&cur, sizeof cur);
    free(msg);
    mcsec_eccsi_signer_free(signer);
    mcsec_sakke_sender_free(sakke);
    mcsec_keystore_close(ks);
    mcsec_net_close(net);
    outbox_free(&box);
    free(members);
    return ret;
}

/* mcsec gmk list: the stored GMKs (no secrets), the current one of each group marked. */
static int list(int argc, char *argv[]) {
    const char *store = NULL, *pass = NULL;
    mcsec_keystore_t *ks = NULL;
    uint32_t *ids = NULL;
    size_t n = 0;
    mcsec_gmk_record_t rec, cur;
    int ret = CLI_FAIL;
    for (int i = 1; i < argc; i++) {
        int m;
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs("usage: mcsec gmk list --store DIR [--passphrase-file FILE]\n\n"
                  "Lists the stored GMKs (ids, groups, validity; never the keys); '*' marks "
                  "the current GMK of each group.\n",
                  stdout);
            return CLI_OK;
        }
        if ((m = cli_option("gmk list", argc, argv, &i, "--store", &store, "~/.mcsec")) ||
            (m = cli_option("gmk list", argc, argv, &i, "--passphrase-file", &pass, "pass.txt"))) {
            if (m < 0) return CLI_USAGE;
            continue;
        }
        return cli_bad_arg("gmk list", "gmk list", argv[i]);
    }
    memset(&rec, 0, sizeof rec);
    memset(&cur, 0, sizeof cur);
    if ((ret = cli_store_open("gmk list", store, pass, 0, &ks)) != CLI_OK) return ret;
    ret = CLI_FAIL;
    mcsec_status_t rc = mcsec_keystore_list_gmks(ks, NULL, 0, &n);
    if (rc == MCSEC_ERR_BAD_LENGTH || (rc == MCSEC_OK && n > 0)) {
        if ((ids = calloc(n, sizeof *ids)) == NULL) goto out;
        rc = mcsec_keystore_list_gmks(ks, ids, n, &n);
    }
    if (rc != MCSEC_OK) goto damaged;
    uint64_t now = cli_ntp_now64();
    for (size_t i = 0; i < n; i++) {
        if ((rc = mcsec_keystore_get_gmk(ks, ids[i], &rec)) != MCSEC_OK) goto damaged;
        int current = mcsec_keystore_current_gmk(ks, rec.group_uri, now, &cur) == MCSEC_OK &&
                      cur.gmk_id == rec.gmk_id;
        printf("%c %08" PRIx32 " %s activation=%016" PRIx64 " expiry=%016" PRIx64
               " status=%08" PRIx32 " timestamp=%016" PRIx64 "\n",
               current ? '*' : ' ', rec.gmk_id, rec.group_uri, rec.activation, rec.expiry,
               rec.status, rec.mikey_timestamp);
    }
    ret = CLI_OK;
    goto out;
damaged:
    cli_error("gmk list", "cannot read the keystore: %s",
              mcsec_keystore_last_error()[0] ? mcsec_keystore_last_error() : mcsec_strerror(rc));
out:
    mcsec_memzero(&rec, sizeof rec);
    mcsec_memzero(&cur, sizeof cur);
    free(ids);
    mcsec_keystore_close(ks);
    return ret;
}

static int gmk_create(int argc, char *argv[]) { return cli_gmk_create("gmk create", 0, argc, argv); }

int cmd_gmk(int argc, char *argv[]) {
    static const cli_sub_t subs[] = {
        {"create", gmk_create, "make a GMK for an ad-hoc group and a message per member"},
        {"receive", cmd_gmk_receive, "verify, decrypt and store GMK messages"},
        {"list", list, "list the stored GMKs and each group's current one"},
        {NULL, NULL, NULL},
    };
    return cli_dispatch("gmk", subs, argc, argv);
}
