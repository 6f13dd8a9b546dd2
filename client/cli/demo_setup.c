/* mcsec demo: the KMS and the Group Manager as real daemons (mcsec-kms, mcsec-groupmgr) in the
 * working directory, then the handsets: keystores provisioned from their bundles (as `mcsec
 * provision` does) and registered with the Group Manager for the group's GMK (as `mcsec
 * register --once` does). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "demo.h"
#include "mcsec/gmclient.h"
#include "mcsec/secmem.h"

#define KMS_URI "kms.demo.example.org"
#define GM_URI "sip:groupmgr@demo.example.org"
#define REGISTER_TIMEOUT_MS 30000

/* --- The KMS ------------------------------------------------------------------------------ */

/* init with the endpoint the bundles will carry, then serve on it. */
static int kms_try(demo_env_t *e, const char *kms_dir, char *endpoint, size_t cap) {
    uint16_t port;
    char ep[64], cost[8];
    if (demo_free_port(&port) != CLI_OK) return CLI_FAIL;
    snprintf(ep, sizeof ep, "tcp://127.0.0.1:%u", port);
    snprintf(cost, sizeof cost, "%d", DEMO_KDF_LOG2N);
    char *init[] = {e->kms_bin,   "init",  "--dir",      (char *)kms_dir,
                    "--uri",      KMS_URI, "--endpoint", ep,
                    "--kdf-cost", cost,    NULL};
    char *serve[] = {e->kms_bin, "serve", "--dir", (char *)kms_dir, "--bind", ep, NULL};
    if (demo_run(e, init, NULL) != CLI_OK) return CLI_FAIL;
    return demo_start(e, &e->kms, serve, endpoint, cap);
}

/* The port is picked before init and bound by serve: another process may take it meanwhile,
 * so a failed start is tried once more with a new KMS on a new port. */
static int kms_start(demo_env_t *e, const demo_opts_t *o, char *kms_dir) {
    char endpoint[128];
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    snprintf(kms_dir, PATH_MAX, "%s/kms", e->dir);
    if (kms_try(e, kms_dir, endpoint, sizeof endpoint) != CLI_OK) {
        if (demo_stop) return CLI_FAIL;
        demo_progress(o, "the KMS did not start (port taken?): trying once more on another port");
        snprintf(kms_dir, PATH_MAX, "%s/kms-retry", e->dir);
        if (kms_try(e, kms_dir, endpoint, sizeof endpoint) != CLI_OK) return CLI_FAIL;
    }
    demo_progress(o, "KMS serving at %s (init and start %.0f ms)", endpoint, demo_ms(&t0));
    return CLI_OK;
}

/* mcsec-kms enroll --out: a sealed bundle and its one-time code. */
static int enroll(demo_env_t *e, const char *kms_dir, const char *uri, const char *role,
                  const char *group, const char *bundle, char code[MCSEC_BUNDLE_CODE_LEN + 1]) {
    char out[PATH_MAX];
    char *argv[] = {e->kms_bin,  "enroll",       "--dir",      (char *)kms_dir, "--uri",
                    (char *)uri, "--role",       (char *)role, "--group",       (char *)group,
                    "--out",     (char *)bundle, NULL};
    if (demo_run(e, argv, out) != CLI_OK) return CLI_FAIL;
    int ok = demo_file_value(out, "code: ", code, MCSEC_BUNDLE_CODE_LEN + 1);
    unlink(out); /* the code is secret */
    if (!ok) cli_error(DEMO_CMD, "mcsec-kms enroll printed no code for %s", uri);
    return ok ? CLI_OK : CLI_FAIL;
}

typedef struct {
    demo_env_t *e;
    const char *kms_dir, *group;
    demo_member_t *m;
    char *gm_bundle, *gm_code;
} enroll_job_t;

/* Job 0: the Group Manager; job i: member i - 1. The KMS store takes concurrent writers. */
static int enroll_job(void *ctx, size_t i) {
    enroll_job_t *j = ctx;
    if (i == 0)
        return enroll(j->e, j->kms_dir, GM_URI, "groupmgr", j->group, j->gm_bundle, j->gm_code);
    demo_member_t *m = &j->m[i - 1];
    snprintf(m->bundle, sizeof m->bundle, "%s/%s.mcsb", j->e->dir, m->name);
    return enroll(j->e, j->kms_dir, m->uri, "handset", j->group, m->bundle, m->code);
}

static int enroll_all(demo_env_t *e, const demo_opts_t *o, const char *kms_dir, const char *group,
                      demo_member_t *m, size_t n, char *gm_bundle,
                      char gm_code[MCSEC_BUNDLE_CODE_LEN + 1]) {
    struct timespec t0;
    enroll_job_t j = {e, kms_dir, group, m, gm_bundle, gm_code};
    clock_gettime(CLOCK_MONOTONIC, &t0);
    snprintf(gm_bundle, PATH_MAX, "%s/groupmgr.mcsb", e->dir);
    if (demo_parallel(n + 1, enroll_job, &j) != CLI_OK) return CLI_FAIL;
    demo_progress(o,
                  "enrolled the Group Manager and %zu handsets at the KMS: sealed bundles "
                  "with one-time codes (%.0f ms, %zu at a time)",
                  n, demo_ms(&t0), demo_workers(n + 1));
    return CLI_OK;
}

/* --- The Group Manager ------------------------------------------------------------------- */

static int gm_group(demo_env_t *e, const char *gm_dir, const char *group, demo_member_t *m,
                    size_t n, char gmk_id[16]) {
    char out[PATH_MAX], line[256];
    char **add = calloc(2 * n + 8, sizeof *add); /* 7 fixed, 2 per member, NULL */
    char *gadd[] = {e->gm_bin,      "group",   "add",         "--dir",
                    (char *)gm_dir, "--group", (char *)group, NULL};
    char *rekey[] = {e->gm_bin, "rekey", "--dir", (char *)gm_dir, "--group", (char *)group, NULL};
    int ret = CLI_FAIL;
    if (add == NULL) {
        cli_error(DEMO_CMD, "out of memory");
        return CLI_FAIL;
    }
    size_t k = 0;
    add[k++] = e->gm_bin;
    add[k++] = "member";
    add[k++] = "add";
    add[k++] = "--dir";
    add[k++] = (char *)gm_dir;
    add[k++] = "--group";
    add[k++] = (char *)group;
    for (size_t i = 0; i < n; i++) {
        add[k++] = "--member";
        add[k++] = m[i].uri;
    }
    if (demo_run(e, gadd, NULL) != CLI_OK || demo_run(e, add, NULL) != CLI_OK ||
        demo_run(e, rekey, out) != CLI_OK)
        goto out;
    gmk_id[0] = 0;
    if (demo_file_value(out, "GMK-ID ", line, sizeof line)) sscanf(line, "%15s", gmk_id);
    ret = CLI_OK;
out:
    free(add);
    return ret;
}

static int gm_start(demo_env_t *e, const demo_opts_t *o, const char *group, demo_member_t *m,
                    size_t n, const char *bundle, const char *code, char *endpoint, size_t cap) {
    char gm_dir[PATH_MAX], cost[8], gmk_id[16];
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    snprintf(gm_dir, sizeof gm_dir, "%s/groupmgr", e->dir);
    snprintf(cost, sizeof cost, "%d", DEMO_KDF_LOG2N);
    char *init[] = {e->gm_bin, "init",       "--dir",      gm_dir, "--bundle", (char *)bundle,
                    "--code",  (char *)code, "--kdf-cost", cost,   NULL};
    char *serve[] = {e->gm_bin, "serve", "--dir", gm_dir, "--bind", "tcp://127.0.0.1:*", NULL};
    if (demo_run(e, init, NULL) != CLI_OK || gm_group(e, gm_dir, group, m, n, gmk_id) != CLI_OK)
        return CLI_FAIL;
    double setup = demo_ms(&t0);
    if (demo_start(e, &e->gm, serve, endpoint, cap) != CLI_OK) return CLI_FAIL;
    demo_progress(o,
                  "Group Manager serving at %s: group %s, %zu members, GMK-ID %s made "
                  "(init, group keys from the KMS, members, rekey %.0f ms; start %.0f ms)",
                  endpoint, group, n, gmk_id[0] ? gmk_id : "?", setup, demo_ms(&t0) - setup);
    return CLI_OK;
}

int demo_services(demo_env_t *e, const demo_opts_t *o, const char *group, demo_member_t *m,
                  size_t n, char *gm_endpoint, size_t cap) {
    char kms_dir[PATH_MAX], gm_bundle[PATH_MAX], gm_code[MCSEC_BUNDLE_CODE_LEN + 1] = "";
    int ret = CLI_FAIL;
    if (kms_start(e, o, kms_dir) != CLI_OK ||
        enroll_all(e, o, kms_dir, group, m, n, gm_bundle, gm_code) != CLI_OK ||
        gm_start(e, o, group, m, n, gm_bundle, gm_code, gm_endpoint, cap) != CLI_OK)
        goto out;
    ret = CLI_OK;
out:
    mcsec_memzero(gm_code, sizeof gm_code);
    return ret;
}

/* --- Handsets: provisioning ------------------------------------------------------------- */

static int load_bundle(demo_member_t *m, const mcsec_bundle_t *b, cli_docs_t *docs) {
    mcsec_device_cred_t cred;
    int ret = CLI_FAIL;
    if (!cli_bundle_cred(b, &cred)) {
        cli_error(DEMO_CMD, "the bundle of %s carries a URI, role or endpoint too long", m->uri);
        goto out;
    }
    if (cli_docs_parse(DEMO_CMD, b->init_xml, b->init_len, "the bundle's KmsInit", b->keyprov_xml,
                       b->keyprov_len, "the bundle's KmsKeyProv", m->uri, docs) != CLI_OK ||
        cli_docs_check_store(DEMO_CMD, m->ks, docs) != CLI_OK)
        goto out;
    if (mcsec_keystore_put_device(m->ks, &cred) != MCSEC_OK) {
        cli_error(DEMO_CMD, "cannot store the device credential of %s: %s", m->uri,
                  mcsec_keystore_last_error());
        goto out;
    }
    ret = cli_docs_store(DEMO_CMD, m->ks, docs);
out:
    mcsec_memzero(&cred, sizeof cred);
    return ret;
}

typedef struct {
    demo_env_t *e;
    demo_member_t *m;
} provision_job_t;

/* A keystore at demo cost, opened, loaded from the member's bundle. */
static int provision_one(void *ctx, size_t i) {
    provision_job_t *j = ctx;
    demo_env_t *e = j->e;
    demo_member_t *m = &j->m[i];
    mcsec_bundle_t *b = NULL;
    cli_docs_t *docs = calloc(1, sizeof *docs); /* large: not on a worker's stack */
    int ret = CLI_FAIL;
    if (docs == NULL) {
        cli_error(DEMO_CMD, "out of memory");
        return CLI_FAIL;
    }
    snprintf(m->store, sizeof m->store, "%s/handsets/%s", e->dir, m->name);
    mcsec_status_t rc =
        mcsec_keystore_create_with_cost(m->store, e->pass, e->pass_len, DEMO_KDF_LOG2N, 8, 1);
    if (rc == MCSEC_OK) rc = mcsec_keystore_open(&m->ks, m->store, e->pass, e->pass_len);
    if (rc != MCSEC_OK) {
        cli_error(DEMO_CMD, "cannot create the keystore %s: %s", m->store,
                  mcsec_keystore_last_error());
        goto out;
    }
    if ((rc = mcsec_bundle_open(m->bundle, m->code, &b)) != MCSEC_OK) {
        cli_error(DEMO_CMD, "cannot open the bundle %s: %s", m->bundle, mcsec_strerror(rc));
        goto out;
    }
    ret = load_bundle(m, b, docs);
out:
    mcsec_memzero(m->code, sizeof m->code);
    mcsec_bundle_free(b);
    cli_docs_wipe(docs);
    free(docs);
    return ret;
}

int demo_provision(demo_env_t *e, const demo_opts_t *o, demo_member_t *m, size_t n, double *ms) {
    char dir[DEMO_DIR_MAX + 16];
    struct timespec t0;
    provision_job_t j = {e, m};
    clock_gettime(CLOCK_MONOTONIC, &t0);
    snprintf(dir, sizeof dir, "%s/handsets", e->dir);
    if (mkdir(dir, 0700) != 0) {
        cli_error(DEMO_CMD, "cannot create %s: %s", dir, strerror(errno));
        return CLI_FAIL;
    }
    if (demo_parallel(n, provision_one, &j) != CLI_OK) return CLI_FAIL;
    *ms = demo_ms(&t0);
    demo_progress(o,
                  "provisioned %zu handsets: keystore created, bundle opened with its code, "
                  "KMS certificate and key sets validated and stored (%.0f ms, %zu at a time)",
                  n, *ms, demo_workers(n));
    return CLI_OK;
}

/* --- Handsets: registration with the Group Manager -------------------------------------- */

typedef struct {
    demo_member_t *m;
    mcsec_gmclient_t *c;
    int refused;
} reg_t;

typedef struct {
    reg_t *r;
    size_t n, slices;
} reg_job_t;

static void on_gm_event(void *user, const mcsec_gmclient_event_t *ev) {
    reg_t *r = user;
    if (ev->kind == MCSEC_GMCLIENT_GMK && ev->status == MCSEC_OK && ev->is_current) {
        r->m->gmk_id = ev->gmk_id;
        r->m->gmk_activation = ev->activation;
    }
    if (ev->kind == MCSEC_GMCLIENT_REFUSED ||
        (ev->kind == MCSEC_GMCLIENT_ACK && ev->status != MCSEC_OK)) {
        cli_error(DEMO_CMD, "%s: %s", r->m->uri,
                  ev->message[0] ? ev->message : mcsec_strerror(ev->status));
        r->refused = 1;
    }
}

static int read_gm_key(const demo_env_t *e, char key[MCSEC_BUNDLE_Z85_LEN + 1]) {
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/groupmgr/groupmgr.pub", e->dir);
    if (demo_file_value(path, "", key, MCSEC_BUNDLE_Z85_LEN + 1) &&
        strlen(key) == MCSEC_BUNDLE_Z85_LEN)
        return CLI_OK;
    cli_error(DEMO_CMD, "%s does not hold the Group Manager's key (40 Z85 characters)", path);
    return CLI_FAIL;
}

/* Job s polls clients s, s + slices, ... in turn until each is idle with the GMK. */
static int poll_slice(void *ctx, size_t s) {
    reg_job_t *j = ctx;
    struct timespec t0;
    size_t done = 0, mine = (j->n - s + j->slices - 1) / j->slices;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    while (done < mine) {
        if (demo_stop) return CLI_FAIL;
        if (demo_ms(&t0) > REGISTER_TIMEOUT_MS) {
            cli_error(DEMO_CMD,
                      "handsets still without the GMK after %d s; the Group Manager "
                      "may be overloaded, try again",
                      REGISTER_TIMEOUT_MS / 1000);
            return CLI_FAIL;
        }
        done = 0;
        for (size_t i = s; i < j->n; i += j->slices) {
            reg_t *r = &j->r[i];
            if (mcsec_gmclient_poll(r->c, 1, on_gm_event, r) != MCSEC_OK || r->refused)
                return CLI_FAIL;
            done += mcsec_gmclient_idle(r->c) && r->m->gmk_id != 0;
        }
    }
    return CLI_OK;
}

int demo_register(demo_env_t *e, const demo_opts_t *o, const char *group, const char *gm_endpoint,
                  demo_member_t *m, size_t n, double *ms) {
    char key[MCSEC_BUNDLE_Z85_LEN + 1];
    reg_t *r = calloc(n, sizeof *r);
    reg_job_t j = {r, n, demo_workers(n)};
    struct timespec t0;
    int ret = CLI_FAIL;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    if (r == NULL) {
        cli_error(DEMO_CMD, "out of memory");
        goto out;
    }
    if (read_gm_key(e, key) != CLI_OK) goto out;
    mcsec_gmclient_config_t cfg = {
        .endpoint = gm_endpoint, .server_key = key, .groups = &group, .n_groups = 1};
    for (size_t i = 0; i < n; i++) {
        r[i].m = &m[i];
        if (mcsec_gmclient_open(&r[i].c, m[i].ks, &cfg) != MCSEC_OK) {
            cli_error(DEMO_CMD, "cannot start the Group Manager client of %s: %s", m[i].uri,
                      mcsec_gmclient_last_error(NULL));
            goto out;
        }
    }
    if (demo_parallel(j.slices, poll_slice, &j) != CLI_OK) goto out;
    *ms = demo_ms(&t0);
    demo_progress(o,
                  "GMK %08" PRIx32 " delivered to %zu handsets: registered with a signature, "
                  "MIKEY-SAKKE I_MESSAGE verified and decrypted, acknowledged (%.0f ms)",
                  m[0].gmk_id, n, *ms);
    ret = CLI_OK;
out:
    for (size_t i = 0; r != NULL && i < n; i++)
        mcsec_gmclient_close(r[i].c);
    free(r);
    return ret;
}
