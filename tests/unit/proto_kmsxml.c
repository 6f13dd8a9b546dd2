/* TS 33.180 Annex D KMS documents: hand-written samples in tests/vectors/kmsxml/ (init_good.xml
 * and keyprov_good.xml, expected values in the .txt files of the same name), the bad samples
 * listed in bad.txt with their exact statuses, write/parse round trips, and a key set issued
 * by a real KMS checked end to end. */
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <unistd.h>

#include "mcsec/eccsi.h"
#include "mcsec/kdf.h"
#include "mcsec/kmsxml.h"
#include "mcsec/sakke.h"
#include "mcsec/secmem.h"
#include "test.h"

#define MAX_SETS 4

/* --- Dumping parsed structs as "name = value" lines ------------------------------------ */

typedef struct {
    char *p;
    size_t len, cap;
} sbuf_t;

static void sb_printf(sbuf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(sbuf_t *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
    va_end(ap);
    if (n > 0)
        b->len += (size_t)n < b->cap - b->len ? (size_t)n : b->cap - b->len - 1;
}

static void sb_hex(sbuf_t *b, const char *name, const uint8_t *p, size_t n)
{
    sb_printf(b, "%s = ", name);
    for (size_t i = 0; i < n; i++)
        sb_printf(b, "%02x", p[i]);
    sb_printf(b, "\n");
}

static void dump_hdr(sbuf_t *b, const mcsec_kms_response_hdr_t *h)
{
    sb_printf(b, "hdr.kms_uri = %s\nhdr.user_uri = %s\nhdr.time = %" PRId64 "\n", h->kms_uri,
              h->user_uri, h->time);
    sb_printf(b, "hdr.client_req_url = %s\n", h->client_req_url);
}

static void dump_init(sbuf_t *b, const mcsec_kms_init_t *c)
{
    sb_printf(b, "kms_uri = %s\ncert_uri = %s\nissuer = %s\n", c->kms_uri, c->cert_uri,
              c->issuer);
    sb_printf(b, "valid_from = %" PRId64 "\nvalid_to = %" PRId64 "\nrevoked = %d\n", c->valid_from,
              c->valid_to, (int)c->revoked);
    sb_printf(b, "user_id_format = %u\nkey_period = %" PRIu64 "\nkey_offset = %" PRIu64 "\n",
              c->user_id_format, c->key_period, c->key_offset);
    sb_hex(b, "Z", c->Z, sizeof c->Z);
    sb_hex(b, "kpak", c->kpak, sizeof c->kpak);
    sb_printf(b, "parameter_set = %u\n", c->parameter_set);
}

static void dump_set(sbuf_t *b, size_t i, const mcsec_kms_keyset_t *s)
{
    char name[32];
    sb_printf(b, "set%zu.kms_uri = %s\nset%zu.cert_uri = %s\nset%zu.issuer = %s\n", i, s->kms_uri,
              i, s->cert_uri, i, s->issuer);
    sb_printf(b, "set%zu.user_uri = %s\n", i, s->user_uri);
    snprintf(name, sizeof name, "set%zu.uid", i);
    sb_hex(b, name, s->uid, sizeof s->uid);
    sb_printf(b, "set%zu.valid_from = %" PRId64 "\nset%zu.valid_to = %" PRId64 "\n", i,
              s->valid_from, i, s->valid_to);
    sb_printf(b, "set%zu.key_period_no = %" PRIu64 "\nset%zu.revoked = %d\n", i, s->key_period_no,
              i, (int)s->revoked);
    snprintf(name, sizeof name, "set%zu.rsk", i);
    sb_hex(b, name, s->rsk, sizeof s->rsk);
    snprintf(name, sizeof name, "set%zu.ssk", i);
    sb_hex(b, name, s->ssk, sizeof s->ssk);
    snprintf(name, sizeof name, "set%zu.pvt", i);
    sb_hex(b, name, s->pvt, sizeof s->pvt);
}

/* The expected file without comment lines and "   # ..." tails. */
static char *expected_text(const char *file)
{
    char *text = test_read_file(file);
    char *out = calloc(1, strlen(text) + 1);
    size_t o = 0;
    for (char *line = strtok(text, "\n"); line != NULL; line = strtok(NULL, "\n")) {
        if (line[0] == '#')
            continue;
        char *hash = strstr(line, "   #");
        if (hash != NULL)
            *hash = 0;
        size_t l = strlen(line);
        while (l > 0 && line[l - 1] == ' ')
            l--;
        memcpy(out + o, line, l);
        o += l;
        out[o++] = '\n';
    }
    free(text);
    return out;
}

static void check_dump(const char *got, const char *file)
{
    char *want = expected_text(file);
    if (strcmp(got, want) == 0) {
        test_passed++;
    } else {
        test_failed++;
        fprintf(stderr, "%s: parsed values differ.\n--- got\n%s--- want\n%s", file, got, want);
    }
    free(want);
}

/* --- Samples ----------------------------------------------------------------------------- */

static void test_good_samples(void)
{
    static char dump[16384];
    sbuf_t b = {dump, 0, sizeof dump};
    mcsec_kms_response_hdr_t hdr;
    mcsec_kms_init_t init;
    char *xml = test_read_file("kmsxml/init_good.xml");
    CHECK_STATUS(mcsec_kmsxml_parse_init(xml, strlen(xml), &hdr, &init), MCSEC_OK);
    dump_hdr(&b, &hdr);
    dump_init(&b, &init);
    check_dump(dump, "kmsxml/init_good.txt");

    /* The keys are the RFC vectors. */
    char *v6507 = test_read_file("rfc6507.txt"), *v6508 = test_read_file("rfc6508.txt");
    uint8_t want[512];
    CHECK(test_vector(v6508, "Z_S", want, sizeof want) == MCSEC_SAKKE_POINT_LEN);
    CHECK_MEM(init.Z, want, MCSEC_SAKKE_POINT_LEN);
    CHECK(test_vector(v6507, "KPAK", want, sizeof want) == MCSEC_ECCSI_POINT_LEN);
    CHECK_MEM(init.kpak, want, MCSEC_ECCSI_POINT_LEN);

    /* Not NUL-terminated: only len octets are read. */
    size_t len = strlen(xml);
    char *copy = malloc(len + 8);
    memcpy(copy, xml, len);
    memcpy(copy + len, "<<<junk", 7);
    mcsec_kms_init_t init2;
    CHECK_STATUS(mcsec_kmsxml_parse_init(copy, len, &hdr, &init2), MCSEC_OK);
    CHECK(memcmp(&init, &init2, sizeof init) == 0);
    CHECK_STATUS(mcsec_kmsxml_parse_init(copy, len + 7, &hdr, &init2), MCSEC_ERR_XML);
    /* An embedded NUL octet. */
    copy[len / 2] = 0;
    CHECK_STATUS(mcsec_kmsxml_parse_init(copy, len, &hdr, &init2), MCSEC_ERR_XML);
    free(copy);
    free(xml);

    mcsec_kms_keyset_t sets[MAX_SETS];
    size_t n = 99;
    b.len = 0;
    xml = test_read_file("kmsxml/keyprov_good.xml");
    CHECK_STATUS(mcsec_kmsxml_parse_keyprov(xml, strlen(xml), &hdr, sets, MAX_SETS, &n),
                 MCSEC_OK);
    CHECK(n == 2);
    dump_hdr(&b, &hdr);
    sb_printf(&b, "n_sets = %zu\n", n);
    for (size_t i = 0; i < n; i++)
        dump_set(&b, i, &sets[i]);
    check_dump(dump, "kmsxml/keyprov_good.txt");
    CHECK(test_vector(v6508, "RSK", want, sizeof want) == MCSEC_SAKKE_POINT_LEN);
    CHECK_MEM(sets[1].rsk, want, MCSEC_SAKKE_POINT_LEN);
    CHECK(test_vector(v6507, "SSK", want, sizeof want) == MCSEC_ECCSI_SCALAR_LEN);
    CHECK_MEM(sets[1].ssk, want, MCSEC_ECCSI_SCALAR_LEN);

    /* Too many key sets for the caller's array; the array is wiped. */
    n = 99;
    CHECK_STATUS(mcsec_kmsxml_parse_keyprov(xml, strlen(xml), &hdr, sets, 1, &n),
                 MCSEC_ERR_BAD_LENGTH);
    CHECK(n == 0);
    static const mcsec_kms_keyset_t zero;
    CHECK(memcmp(&sets[0], &zero, sizeof zero) == 0);
    mcsec_kms_keyset_wipe(sets, MAX_SETS);
    free(xml);
    free(v6507);
    free(v6508);
}

static mcsec_status_t status_by_name(const char *name)
{
    static const struct {
        const char *name;
        mcsec_status_t status;
    } names[] = {
        {"XML", MCSEC_ERR_XML},
        {"BAD_INPUT", MCSEC_ERR_BAD_INPUT},
        {"BAD_LENGTH", MCSEC_ERR_BAD_LENGTH},
        {"POINT_ENCODING", MCSEC_ERR_POINT_ENCODING},
        {"UNSUPPORTED", MCSEC_ERR_UNSUPPORTED},
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcmp(names[i].name, name) == 0)
            return names[i].status;
    fprintf(stderr, "bad.txt: unknown status %s\n", name);
    exit(2);
}

static void test_bad_samples(void)
{
    char *list = test_read_file("kmsxml/bad.txt");
    int count = 0;
    char *save = NULL;
    for (char *line = strtok_r(list, "\n", &save); line != NULL;
         line = strtok_r(NULL, "\n", &save)) {
        char file[128], kind[16], status[32], path[160];
        if (line[0] == '#' || sscanf(line, "%127s %15s %31s", file, kind, status) != 3)
            continue;
        snprintf(path, sizeof path, "kmsxml/%s", file);
        char *xml = test_read_file(path);
        mcsec_status_t want = status_by_name(status), got;
        mcsec_kms_response_hdr_t hdr;
        if (strcmp(kind, "init") == 0) {
            mcsec_kms_init_t init;
            memset(&init, 0xA5, sizeof init);
            got = mcsec_kmsxml_parse_init(xml, strlen(xml), &hdr, &init);
            static const mcsec_kms_init_t zero;
            CHECK(memcmp(&init, &zero, sizeof zero) == 0);
        } else {
            mcsec_kms_keyset_t sets[MAX_SETS];
            size_t n = 99;
            memset(sets, 0xA5, sizeof sets);
            got = mcsec_kmsxml_parse_keyprov(xml, strlen(xml), &hdr, sets, MAX_SETS, &n);
            static const mcsec_kms_keyset_t zero;
            for (size_t i = 0; i < MAX_SETS; i++)
                CHECK(memcmp(&sets[i], &zero, sizeof zero) == 0); /* secrets wiped */
            CHECK(n == 0);
        }
        if (got == want) {
            test_passed++;
        } else {
            test_failed++;
            fprintf(stderr, "%s: got %d (%s), expected %s\n", file, (int)got,
                    mcsec_strerror(got), status);
        }
        free(xml);
        count++;
    }
    CHECK(count >= 40);
    free(list);
}

/* Size limit: a sample padded with a comment to exactly the limit parses; one octet more
 * does not. */
static void test_size_limit(void)
{
    char *xml = test_read_file("kmsxml/init_good.xml");
    size_t len = strlen(xml);
    char *big = malloc(MCSEC_KMSXML_MAX_LEN + 2);
    memcpy(big, xml, len);
    size_t pad = MCSEC_KMSXML_MAX_LEN - len;
    memcpy(big + len, "<!--", 4);
    memset(big + len + 4, 'x', pad - 7);
    memcpy(big + MCSEC_KMSXML_MAX_LEN - 3, "-->", 3);
    big[MCSEC_KMSXML_MAX_LEN] = ' ';
    mcsec_kms_response_hdr_t hdr;
    mcsec_kms_init_t init;
    CHECK_STATUS(mcsec_kmsxml_parse_init(big, MCSEC_KMSXML_MAX_LEN, &hdr, &init), MCSEC_OK);
    CHECK_STATUS(mcsec_kmsxml_parse_init(big, MCSEC_KMSXML_MAX_LEN + 1, &hdr, &init),
                 MCSEC_ERR_BAD_LENGTH);
    free(big);
    free(xml);
}

/* --- Round trips ------------------------------------------------------------------------- */

static void fill(uint8_t *p, size_t n, uint8_t seed)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(seed + 37 * i);
}

static void make_hdr(mcsec_kms_response_hdr_t *h)
{
    memset(h, 0, sizeof *h);
    strcpy(h->user_uri, "sip:alice@example.org");
    strcpy(h->kms_uri, "kms.example.org");
    h->time = 1795341600;
    strcpy(h->client_req_url, "https://kms.example.org/keymanagement/identity/v1/keyprov?a=<1>&b=\"2\"");
}

static void make_init(mcsec_kms_init_t *c)
{
    memset(c, 0, sizeof *c);
    strcpy(c->kms_uri, "kms.example.org");
    strcpy(c->cert_uri, "cert1.kms.example.org");
    strcpy(c->issuer, "Feuerwehr Behörde 東京 & <Söhne>");
    c->valid_from = -62135596800LL; /* 0001-01-01T00:00:00Z */
    c->valid_to = 253402300799LL;   /* 9999-12-31T23:59:59Z */
    c->revoked = true;
    c->user_id_format = 2;
    c->key_period = UINT64_MAX;
    c->key_offset = 0;
    fill(c->Z, sizeof c->Z, 1);
    c->Z[0] = 4;
    fill(c->kpak, sizeof c->kpak, 2);
    c->kpak[0] = 4;
    c->parameter_set = 1;
}

static void make_set(mcsec_kms_keyset_t *s, uint8_t seed)
{
    memset(s, 0, sizeof *s);
    strcpy(s->kms_uri, "kms.example.org");
    strcpy(s->cert_uri, "cert1.kms.example.org");
    strcpy(s->issuer, "www.example.org");
    snprintf(s->user_uri, sizeof s->user_uri, "tel:+4477009001%02u", seed);
    fill(s->uid, sizeof s->uid, seed);
    s->valid_from = 1795341600 + seed;
    s->valid_to = -1;
    s->key_period_no = 1000u + seed;
    s->revoked = seed & 1;
    fill(s->rsk, sizeof s->rsk, (uint8_t)(seed + 3));
    s->rsk[0] = 4;
    fill(s->ssk, sizeof s->ssk, (uint8_t)(seed + 4));
    fill(s->pvt, sizeof s->pvt, (uint8_t)(seed + 5));
    s->pvt[0] = 4;
}

static void test_round_trip(void)
{
    static char buf[MCSEC_KMSXML_MAX_LEN + 1];
    size_t len = 0, n = 0;
    mcsec_kms_response_hdr_t hdr, hdr2;
    mcsec_kms_init_t init, init2;
    make_hdr(&hdr);
    make_init(&init);
    CHECK_STATUS(mcsec_kmsxml_write_init(&hdr, &init, buf, sizeof buf, &len), MCSEC_OK);
    CHECK(len == strlen(buf));
    CHECK(strstr(buf, "<ValidFrom>0001-01-01T00:00:00Z</ValidFrom>") != NULL);
    CHECK(strstr(buf, "<ValidTo>9999-12-31T23:59:59Z</ValidTo>") != NULL);
    CHECK(strstr(buf, "&lt;Söhne&gt;") != NULL);
    CHECK_STATUS(mcsec_kmsxml_parse_init(buf, len, &hdr2, &init2), MCSEC_OK);
    CHECK(memcmp(&hdr, &hdr2, sizeof hdr) == 0);
    CHECK(memcmp(&init, &init2, sizeof init) == 0);

    /* Buffer sizes: the exact size plus the NUL works; one less reports the size needed and
     * leaves nothing behind. */
    size_t need = len;
    char *small = malloc(need + 1);
    CHECK_STATUS(mcsec_kmsxml_write_init(&hdr, &init, small, need + 1, &len), MCSEC_OK);
    CHECK(len == need && strcmp(small, buf) == 0);
    CHECK_STATUS(mcsec_kmsxml_write_init(&hdr, &init, small, need, &len), MCSEC_ERR_BAD_LENGTH);
    CHECK(len == need);
    int all_zero = 1;
    for (size_t i = 0; i < need; i++)
        all_zero &= small[i] == 0;
    CHECK(all_zero);
    free(small);

    /* Key provisioning with one and two key sets. */
    mcsec_kms_keyset_t sets[2], got[MAX_SETS];
    make_set(&sets[0], 1);
    make_set(&sets[1], 2);
    for (size_t count = 1; count <= 2; count++) {
        CHECK_STATUS(mcsec_kmsxml_write_keyprov(&hdr, sets, count, buf, sizeof buf, &len),
                     MCSEC_OK);
        CHECK_STATUS(mcsec_kmsxml_parse_keyprov(buf, len, &hdr2, got, MAX_SETS, &n), MCSEC_OK);
        CHECK(n == count);
        CHECK(memcmp(&hdr, &hdr2, sizeof hdr) == 0);
        CHECK(memcmp(sets, got, count * sizeof sets[0]) == 0);
        /* The other parser refuses it. */
        CHECK_STATUS(mcsec_kmsxml_parse_init(buf, len, &hdr2, &init2), MCSEC_ERR_XML);
    }
    mcsec_kms_keyset_wipe(got, MAX_SETS);

    /* The good samples survive parse -> write -> parse unchanged. */
    char *xml = test_read_file("kmsxml/init_good.xml");
    CHECK_STATUS(mcsec_kmsxml_parse_init(xml, strlen(xml), &hdr, &init), MCSEC_OK);
    CHECK_STATUS(mcsec_kmsxml_write_init(&hdr, &init, buf, sizeof buf, &len), MCSEC_OK);
    CHECK_STATUS(mcsec_kmsxml_parse_init(buf, len, &hdr2, &init2), MCSEC_OK);
    CHECK(memcmp(&hdr, &hdr2, sizeof hdr) == 0 && memcmp(&init, &init2, sizeof init) == 0);
    free(xml);

    /* Writer checks: it refuses what the parser would refuse. */
    mcsec_kms_init_t bad = init;
    memset(bad.issuer, 'a', sizeof bad.issuer); /* not terminated */
    CHECK_STATUS(mcsec_kmsxml_write_init(&hdr, &bad, buf, sizeof buf, &len), MCSEC_ERR_BAD_LENGTH);
    bad = init;
    strcpy(bad.issuer, "tab\there");
    CHECK_STATUS(mcsec_kmsxml_write_init(&hdr, &bad, buf, sizeof buf, &len), MCSEC_ERR_BAD_INPUT);
    strcpy(bad.issuer, "bad \xC3\x28 utf8");
    CHECK_STATUS(mcsec_kmsxml_write_init(&hdr, &bad, buf, sizeof buf, &len), MCSEC_ERR_BAD_INPUT);
    strcpy(bad.issuer, " leading");
    CHECK_STATUS(mcsec_kmsxml_write_init(&hdr, &bad, buf, sizeof buf, &len), MCSEC_ERR_BAD_INPUT);
    strcpy(bad.issuer, "");
    CHECK_STATUS(mcsec_kmsxml_write_init(&hdr, &bad, buf, sizeof buf, &len), MCSEC_ERR_BAD_INPUT);
    bad = init;
    bad.user_id_format = 1;
    CHECK_STATUS(mcsec_kmsxml_write_init(&hdr, &bad, buf, sizeof buf, &len), MCSEC_ERR_UNSUPPORTED);
    bad = init;
    bad.Z[0] = 0;
    CHECK_STATUS(mcsec_kmsxml_write_init(&hdr, &bad, buf, sizeof buf, &len),
                 MCSEC_ERR_POINT_ENCODING);
    bad = init;
    bad.valid_to = 253402300800LL; /* year 10000 */
    CHECK_STATUS(mcsec_kmsxml_write_init(&hdr, &bad, buf, sizeof buf, &len), MCSEC_ERR_BAD_INPUT);
    bad = init;
    bad.key_period = 0;
    CHECK_STATUS(mcsec_kmsxml_write_init(&hdr, &bad, buf, sizeof buf, &len), MCSEC_ERR_BAD_INPUT);
    CHECK_STATUS(mcsec_kmsxml_write_keyprov(&hdr, sets, 0, buf, sizeof buf, &len),
                 MCSEC_ERR_BAD_INPUT);
    sets[1].pvt[0] = 2;
    CHECK_STATUS(mcsec_kmsxml_write_keyprov(&hdr, sets, 2, buf, sizeof buf, &len),
                 MCSEC_ERR_POINT_ENCODING);
    /* More key sets than fit in MCSEC_KMSXML_MAX_LEN. */
    enum { MANY = 64 };
    mcsec_kms_keyset_t *many = calloc(MANY, sizeof *many);
    for (size_t i = 0; i < MANY; i++)
        make_set(&many[i], (uint8_t)i);
    CHECK_STATUS(mcsec_kmsxml_write_keyprov(&hdr, many, MANY, buf, sizeof buf, &len),
                 MCSEC_ERR_BAD_LENGTH);
    CHECK(len > MCSEC_KMSXML_MAX_LEN);
    mcsec_kms_keyset_wipe(many, MANY);
    free(many);
    mcsec_kms_keyset_wipe(sets, 2);
}

/* Times and numbers at and past their edges, via substitution into the init sample. */
static mcsec_status_t parse_with(const char *from, const char *to, mcsec_kms_init_t *init)
{
    char *xml = test_read_file("kmsxml/init_good.xml");
    char *at = strstr(xml, from);
    if (at == NULL) {
        fprintf(stderr, "sample lacks %s\n", from);
        exit(2);
    }
    size_t len = strlen(xml), fl = strlen(from), tl = strlen(to);
    char *out = malloc(len - fl + tl + 1);
    size_t pre = (size_t)(at - xml);
    memcpy(out, xml, pre);
    memcpy(out + pre, to, tl);
    strcpy(out + pre + tl, at + fl);
    mcsec_kms_response_hdr_t hdr;
    mcsec_status_t rc = mcsec_kmsxml_parse_init(out, strlen(out), &hdr, init);
    free(out);
    free(xml);
    return rc;
}

static void test_values(void)
{
    mcsec_kms_init_t c;
    const char *vf = "<ValidFrom>2000-01-26T00:00:00</ValidFrom>";
    static const struct {
        const char *value;
        mcsec_status_t status;
        int64_t t;
    } times[] = {
        {"2024-02-29T12:00:00Z", MCSEC_OK, 1709208000},
        {"  1970-01-01T00:00:00Z  ", MCSEC_OK, 0},
        {"1969-12-31T23:59:59.999Z", MCSEC_OK, -1},
        {"1970-01-01T00:00:00-14:00", MCSEC_OK, 50400},
        {"1970-01-01T00:00:00+05:30", MCSEC_OK, -19800},
        {"0001-01-01T00:00:00Z", MCSEC_OK, -62135596800LL},
        {"9999-12-31T23:59:59Z", MCSEC_OK, 253402300799LL},
        {"9999-12-31T23:59:59-00:01", MCSEC_ERR_BAD_INPUT, 0},
        {"0000-12-31T23:59:59Z", MCSEC_ERR_BAD_INPUT, 0},
        {"2100-02-29T00:00:00Z", MCSEC_ERR_BAD_INPUT, 0},
        {"2026-11-22T24:00:00Z", MCSEC_ERR_BAD_INPUT, 0},
        {"2026-11-22T10:00:60Z", MCSEC_ERR_BAD_INPUT, 0},
        {"2026-11-22T10:00:00+15:00", MCSEC_ERR_BAD_INPUT, 0},
        {"2026-11-22T10:00:00.Z", MCSEC_ERR_BAD_INPUT, 0},
        {"2026-11-22T10:00:00ZZ", MCSEC_ERR_BAD_INPUT, 0},
        {"2026-11-22 10:00:00Z", MCSEC_ERR_BAD_INPUT, 0},
        {"+2026-11-22T10:00:00Z", MCSEC_ERR_BAD_INPUT, 0},
        {"", MCSEC_ERR_BAD_INPUT, 0},
    };
    for (size_t i = 0; i < sizeof times / sizeof times[0]; i++) {
        char el[128];
        snprintf(el, sizeof el, "<ValidFrom>%s</ValidFrom>", times[i].value);
        mcsec_status_t rc = parse_with(vf, el, &c);
        if (rc != times[i].status || (rc == MCSEC_OK && c.valid_from != times[i].t)) {
            test_failed++;
            fprintf(stderr, "time %s: status %d, value %" PRId64 "\n", times[i].value, (int)rc,
                    c.valid_from);
        } else {
            test_passed++;
        }
    }
    const char *kp = "<UserKeyPeriod>2592000</UserKeyPeriod>";
    CHECK_STATUS(parse_with(kp, "<UserKeyPeriod>18446744073709551615</UserKeyPeriod>", &c),
                 MCSEC_OK);
    CHECK(c.key_period == UINT64_MAX);
    CHECK_STATUS(parse_with(kp, "<UserKeyPeriod>007</UserKeyPeriod>", &c), MCSEC_OK);
    CHECK(c.key_period == 7);
    CHECK_STATUS(parse_with(kp, "<UserKeyPeriod>+7</UserKeyPeriod>", &c), MCSEC_ERR_BAD_INPUT);
    CHECK_STATUS(parse_with(kp, "<UserKeyPeriod>7 7</UserKeyPeriod>", &c), MCSEC_ERR_BAD_INPUT);
    CHECK_STATUS(parse_with(kp, "<UserKeyPeriod/>", &c), MCSEC_ERR_BAD_INPUT);
    CHECK_STATUS(parse_with("<Revoked>false</Revoked>", "<Revoked> true </Revoked>", &c), MCSEC_OK);
    CHECK(c.revoked);
    /* Strings: entities and character references decode; controls are refused; exactly 255
     * octets is the limit. */
    const char *iss = "<Issuer>www.example.org</Issuer>";
    CHECK_STATUS(parse_with(iss, "<Issuer> A&amp;B &#x4E2D; <![CDATA[<x>]]> </Issuer>", &c),
                 MCSEC_OK);
    CHECK(strcmp(c.issuer, "A&B 中 <x>") == 0);
    CHECK_STATUS(parse_with(iss, "<Issuer>a&#9;b</Issuer>", &c), MCSEC_ERR_BAD_INPUT);
    char el[512];
    snprintf(el, sizeof el, "<Issuer>%0255d</Issuer>", 0);
    CHECK_STATUS(parse_with(iss, el, &c), MCSEC_OK);
    CHECK(strlen(c.issuer) == 255);
    snprintf(el, sizeof el, "<Issuer>%0256d</Issuer>", 0);
    CHECK_STATUS(parse_with(iss, el, &c), MCSEC_ERR_BAD_LENGTH);
    /* Comments inside a value and unknown elements (extension points) are skipped. */
    CHECK_STATUS(parse_with(iss, "<Issuer>www.<!-- c -->example.org</Issuer><Future>x</Future>"
                                 "<o:Issuer xmlns:o=\"urn:other\">other</o:Issuer>",
                            &c),
                 MCSEC_OK);
    CHECK(strcmp(c.issuer, "www.example.org") == 0);
    /* Role missing is a structure error. */
    CHECK_STATUS(parse_with(" Role=\"Root\"", "", &c), MCSEC_ERR_XML);
    /* A point that is the point at infinity / compressed. */
    CHECK_STATUS(parse_with("<PubAuthKey>04", "<PubAuthKey>00", &c), MCSEC_ERR_POINT_ENCODING);
}

/* --- Real keys --------------------------------------------------------------------------- */

static char *replace_hex_digit(char *xml, const char *element, size_t index)
{
    char *at = strstr(xml, element);
    at += strlen(element) + index;
    *at = (char)(*at == '0' ? '1' : '0');
    return xml;
}

static void test_real_keys(void)
{
    static uint8_t z[MCSEC_SAKKE_SCALAR_LEN], ksak[MCSEC_ECCSI_SCALAR_LEN];
    static char buf[MCSEC_KMSXML_MAX_LEN + 1];
    mcsec_kms_response_hdr_t hdr, hdr2;
    mcsec_kms_init_t init, init2;
    mcsec_kms_keyset_t set, got[MAX_SETS];
    size_t len, n;

    make_hdr(&hdr);
    memset(&init, 0, sizeof init);
    strcpy(init.kms_uri, "kms.example.org");
    strcpy(init.cert_uri, "cert1.kms.example.org");
    strcpy(init.issuer, "www.example.org");
    init.valid_from = 1767225600;
    init.valid_to = 1798761599;
    init.user_id_format = 2;
    init.key_period = 2592000;
    init.key_offset = 0;
    init.parameter_set = 1;
    CHECK_STATUS(mcsec_sakke_kms_generate(z, init.Z), MCSEC_OK);
    CHECK_STATUS(mcsec_eccsi_kms_generate(ksak, init.kpak), MCSEC_OK);

    memset(&set, 0, sizeof set);
    strcpy(set.kms_uri, init.kms_uri);
    strcpy(set.cert_uri, init.cert_uri);
    strcpy(set.issuer, init.issuer);
    strcpy(set.user_uri, "sip:alice@example.org");
    set.key_period_no = 1417;
    set.valid_from = 1795000000;
    set.valid_to = 1797591999;
    CHECK_STATUS(mcsec_uid_format2(set.user_uri, init.kms_uri, init.key_period, init.key_offset,
                                   set.key_period_no, set.uid),
                 MCSEC_OK);
    CHECK_STATUS(mcsec_sakke_issue_rsk(z, set.uid, MCSEC_UID_LEN, set.rsk), MCSEC_OK);
    CHECK_STATUS(mcsec_eccsi_issue(ksak, init.kpak, set.uid, MCSEC_UID_LEN, set.ssk, set.pvt),
                 MCSEC_OK);
    mcsec_memzero(z, sizeof z);
    mcsec_memzero(ksak, sizeof ksak);

    CHECK_STATUS(mcsec_kmsxml_write_init(&hdr, &init, buf, sizeof buf, &len), MCSEC_OK);
    CHECK_STATUS(mcsec_kmsxml_parse_init(buf, len, &hdr2, &init2), MCSEC_OK);
    CHECK(memcmp(&init, &init2, sizeof init) == 0);
    CHECK_STATUS(mcsec_kmsxml_write_keyprov(&hdr, &set, 1, buf, sizeof buf, &len), MCSEC_OK);
    CHECK_STATUS(mcsec_kmsxml_parse_keyprov(buf, len, &hdr2, got, MAX_SETS, &n), MCSEC_OK);
    CHECK(n == 1 && memcmp(&set, &got[0], sizeof set) == 0);

    CHECK_STATUS(mcsec_kmsxml_check_keyset(&init2, &got[0], "sip:alice@example.org"), MCSEC_OK);
    CHECK_STATUS(mcsec_kmsxml_check_keyset(&init2, &got[0], NULL), MCSEC_OK);
    CHECK_STATUS(mcsec_kmsxml_check_keyset(&init2, &got[0], "sip:bob@example.org"),
                 MCSEC_ERR_WRONG_RECIPIENT);
    /* A key set relabelled for another user: the UID no longer matches. */
    mcsec_kms_keyset_t other = got[0];
    strcpy(other.user_uri, "sip:bob@example.org");
    CHECK_STATUS(mcsec_kmsxml_check_keyset(&init2, &other, "sip:bob@example.org"),
                 MCSEC_ERR_WRONG_RECIPIENT);
    other = got[0];
    other.key_period_no++;
    CHECK_STATUS(mcsec_kmsxml_check_keyset(&init2, &other, NULL), MCSEC_ERR_WRONG_RECIPIENT);
    other = got[0];
    strcpy(other.kms_uri, "kms.other.org");
    CHECK_STATUS(mcsec_kmsxml_check_keyset(&init2, &other, NULL), MCSEC_ERR_UNKNOWN_KEY);
    mcsec_kms_init_t init3 = init2;
    init3.user_id_format = 1;
    CHECK_STATUS(mcsec_kmsxml_check_keyset(&init3, &got[0], NULL), MCSEC_ERR_UNSUPPORTED);
    CHECK_STATUS(mcsec_kmsxml_check_keyset(NULL, &got[0], NULL), MCSEC_ERR_BAD_INPUT);
    CHECK_STATUS(mcsec_kmsxml_check_keyset(&init2, NULL, NULL), MCSEC_ERR_BAD_INPUT);
    mcsec_memzero(&other, sizeof other);

    /* One hex digit of the RSK's y coordinate changed in the document: it still parses, and
     * the check finds the point off the curve. */
    char *copy = strdup(buf);
    replace_hex_digit(copy, "<UserDecryptKey>", 2 * MCSEC_SAKKE_POINT_LEN - 1);
    CHECK_STATUS(mcsec_kmsxml_parse_keyprov(copy, len, &hdr2, got, MAX_SETS, &n), MCSEC_OK);
    CHECK_STATUS(mcsec_kmsxml_check_keyset(&init2, &got[0], NULL), MCSEC_ERR_NOT_ON_CURVE);
    /* A changed SSK digit: a well-formed pair that does not validate. */
    strcpy(copy, buf);
    replace_hex_digit(copy, "<UserSigningKeySSK>", 40);
    CHECK_STATUS(mcsec_kmsxml_parse_keyprov(copy, len, &hdr2, got, MAX_SETS, &n), MCSEC_OK);
    CHECK_STATUS(mcsec_kmsxml_check_keyset(&init2, &got[0], NULL), MCSEC_ERR_KEY_INVALID);
    /* The RSK of another user (valid point, wrong identity). */
    strcpy(copy, buf);
    CHECK_STATUS(mcsec_kmsxml_parse_keyprov(copy, len, &hdr2, got, MAX_SETS, &n), MCSEC_OK);
    mcsec_kms_keyset_t swapped = got[0];
    memcpy(swapped.rsk, init2.Z, MCSEC_SAKKE_POINT_LEN); /* a point of order q, not the RSK */
    CHECK_STATUS(mcsec_kmsxml_check_keyset(&init2, &swapped, NULL), MCSEC_ERR_KEY_INVALID);
    mcsec_memzero(&swapped, sizeof swapped);
    mcsec_memzero(copy, strlen(copy));
    free(copy);
    mcsec_memzero(buf, sizeof buf);
    mcsec_kms_keyset_wipe(got, MAX_SETS);
    mcsec_kms_keyset_wipe(&set, 1);
}

/* --- Arguments and quietness ------------------------------------------------------------- */

static void test_null_args(void)
{
    char *xml = test_read_file("kmsxml/keyprov_good.xml");
    size_t len = strlen(xml), n;
    char buf[64];
    mcsec_kms_response_hdr_t hdr;
    mcsec_kms_init_t init;
    mcsec_kms_keyset_t sets[MAX_SETS];
    make_hdr(&hdr);
    make_init(&init);
    make_set(&sets[0], 1);
    CHECK_STATUS(mcsec_kmsxml_parse_init(NULL, 10, &hdr, &init), MCSEC_ERR_BAD_INPUT);
    CHECK_STATUS(mcsec_kmsxml_parse_init(xml, len, NULL, &init), MCSEC_ERR_BAD_INPUT);
    CHECK_STATUS(mcsec_kmsxml_parse_init(xml, len, &hdr, NULL), MCSEC_ERR_BAD_INPUT);
    CHECK_STATUS(mcsec_kmsxml_parse_keyprov(NULL, len, &hdr, sets, MAX_SETS, &n),
                 MCSEC_ERR_BAD_INPUT);
    CHECK_STATUS(mcsec_kmsxml_parse_keyprov(xml, len, NULL, sets, MAX_SETS, &n),
                 MCSEC_ERR_BAD_INPUT);
    CHECK_STATUS(mcsec_kmsxml_parse_keyprov(xml, len, &hdr, NULL, MAX_SETS, &n),
                 MCSEC_ERR_BAD_INPUT);
    CHECK_STATUS(mcsec_kmsxml_parse_keyprov(xml, len, &hdr, sets, 0, &n), MCSEC_ERR_BAD_INPUT);
    CHECK_STATUS(mcsec_kmsxml_parse_keyprov(xml, len, &hdr, sets, MAX_SETS, NULL),
                 MCSEC_ERR_BAD_INPUT);
    make_hdr(&hdr);
    CHECK_STATUS(mcsec_kmsxml_write_init(NULL, &init, buf, sizeof buf, &n), MCSEC_ERR_BAD_INPUT);
    CHECK_STATUS(mcsec_kmsxml_write_init(&hdr, NULL, buf, sizeof buf, &n), MCSEC_ERR_BAD_INPUT);
    CHECK_STATUS(mcsec_kmsxml_write_init(&hdr, &init, NULL, sizeof buf, &n), MCSEC_ERR_BAD_INPUT);
    CHECK_STATUS(mcsec_kmsxml_write_init(&hdr, &init, buf, sizeof buf, NULL), MCSEC_ERR_BAD_INPUT);
    CHECK_STATUS(mcsec_kmsxml_write_keyprov(NULL, sets, 1, buf, sizeof buf, &n),
                 MCSEC_ERR_BAD_INPUT);
    CHECK_STATUS(mcsec_kmsxml_write_keyprov(&hdr, NULL, 1, buf, sizeof buf, &n),
                 MCSEC_ERR_BAD_INPUT);
    CHECK_STATUS(mcsec_kmsxml_write_keyprov(&hdr, sets, 1, NULL, sizeof buf, &n),
                 MCSEC_ERR_BAD_INPUT);
    CHECK_STATUS(mcsec_kmsxml_write_keyprov(&hdr, sets, 1, buf, sizeof buf, NULL),
                 MCSEC_ERR_BAD_INPUT);
    CHECK_STATUS(mcsec_kmsxml_write_keyprov(&hdr, sets, 1, buf, 0, &n), MCSEC_ERR_BAD_LENGTH);
    mcsec_kms_keyset_wipe(NULL, 3);
    mcsec_kms_keyset_wipe(sets, MAX_SETS);
    free(xml);
}

/* libxml2 must never write to stderr, whatever it is fed. */
static void test_quiet(void)
{
    char path[] = "/tmp/mcsec_kmsxml_stderrXXXXXX";
    int fd = mkstemp(path);
    if (fd < 0) {
        CHECK(0);
        return;
    }
    fflush(stderr);
    int saved = dup(2);
    dup2(fd, 2);
    static const char *const inputs[] = {"kmsxml/bad_garbage.xml", "kmsxml/bad_unclosed.xml",
                                         "kmsxml/bad_billion_laughs.xml", "kmsxml/bad_xxe.xml",
                                         "kmsxml/bad_mismatched_tag.xml"};
    int any_ok = 0;
    for (size_t i = 0; i < sizeof inputs / sizeof inputs[0]; i++) {
        char *xml = test_read_file(inputs[i]);
        mcsec_kms_response_hdr_t hdr;
        mcsec_kms_init_t init;
        mcsec_status_t r = mcsec_kmsxml_parse_init(xml, strlen(xml), &hdr, &init);
        any_ok |= r == MCSEC_OK;
        free(xml);
    }
    const char ns_warning[] = "<KmsResponse xmlns=\"not a uri\"/>";
    mcsec_kms_response_hdr_t hdr;
    mcsec_kms_init_t init;
    mcsec_status_t r = mcsec_kmsxml_parse_init(ns_warning, sizeof ns_warning - 1, &hdr, &init);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    off_t size = lseek(fd, 0, SEEK_END);
    close(fd);
    unlink(path);
    CHECK(!any_ok);
    CHECK_STATUS(r, MCSEC_ERR_XML);
    CHECK(size == 0);
}

int main(void)
{
    test_good_samples();
    test_bad_samples();
    test_size_limit();
    test_round_trip();
    test_values();
    test_real_keys();
    test_null_args();
    test_quiet();
    return test_summary();
}
