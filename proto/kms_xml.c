/* TS 33.180 Annex D KMS documents: KmsResponse with KmsInit or KmsKeyProv (mcsec/kmsxml.h).
 *
 * Parsing: libxml2 tree parser, network access off, a DOCTYPE stops the parser at once (no
 * entity is ever declared, let alone expanded), errors never printed.
 * Character data is gathered in our own buffer and handed to the tree builder in one piece,
 * so no libxml2 realloc leaves fragments of secret hex behind; every text node and our
 * buffers are wiped before they are freed (libxml2's own input copy is not reachable). The tree is then walked with field
 * tables: all structure checks first (root, namespace, xsi:type, each mandatory element
 * exactly once), then the values in table order.
 *
 * Writing: plain formatting straight into the caller's buffer with XML escaping, so the
 * secret hex exists nowhere else. */
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/parserInternals.h>
#include <libxml/SAX2.h>
#include <libxml/tree.h>
#include <libxml/xmlerror.h>

#include "internal.h" /* mcsec_ct_declassify */
#include "mcsec/kmsxml.h"
#include "mcsec/secmem.h"

#define XSI_NS "http://www.w3.org/2001/XMLSchema-instance"

#define REQUIRE_INIT()                                                                            \
    do {                                                                                          \
        mcsec_status_t init_rc_ = mcsec_init();                                                   \
        if (init_rc_ != MCSEC_OK)                                                                 \
            return init_rc_;                                                                      \
    } while (0)

/* ---------------------------------------------------------------------------------------- */
/* libxml2 set-up                                                                            */

static pthread_once_t xml_once = PTHREAD_ONCE_INIT;

static void xml_global_init(void) { xmlInitParser(); }

static void xml_quiet(void *ctx, const char *msg, ...)
{
    (void)ctx;
    (void)msg;
}

static void xml_quiet_structured(void *ctx, xmlErrorPtr err)
{
    (void)ctx;
    (void)err;
}

/* Per-parse state, reached through ctxt->_private. */
typedef struct {
    int dtd_seen, stopped;
    char *text; /* pending character data, capacity text_cap */
    size_t text_len, text_cap;
    startElementNsSAX2Func start_element;
    endElementNsSAX2Func end_element;
    charactersSAXFunc characters;
    commentSAXFunc comment;
    processingInstructionSAXFunc pi;
    cdataBlockSAXFunc cdata;
    referenceSAXFunc reference;
    endDocumentSAXFunc end_document;
} parse_state_t;

static parse_state_t *state_of(void *ctx) { return ((xmlParserCtxtPtr)ctx)->_private; }

static void text_flush(void *ctx)
{
    parse_state_t *st = state_of(ctx);
    if (st->text_len > 0) {
        st->characters(ctx, (const xmlChar *)st->text, (int)st->text_len);
        mcsec_memzero(st->text, st->text_len);
        st->text_len = 0;
    }
}

static void on_characters(void *ctx, const xmlChar *ch, int len)
{
    parse_state_t *st = state_of(ctx);
    if (len <= 0)
        return;
    if ((size_t)len > st->text_cap - st->text_len) { /* cannot happen: text <= input */
        st->stopped = 1;
        xmlStopParser(ctx);
        return;
    }
    memcpy(st->text + st->text_len, ch, (size_t)len);
    st->text_len += (size_t)len;
}

static void on_start_element(void *ctx, const xmlChar *localname, const xmlChar *prefix,
                             const xmlChar *URI, int nb_namespaces, const xmlChar **namespaces,
                             int nb_attributes, int nb_defaulted, const xmlChar **attributes)
{
    text_flush(ctx);
    state_of(ctx)->start_element(ctx, localname, prefix, URI, nb_namespaces, namespaces,
                                 nb_attributes, nb_defaulted, attributes);
}

static void on_end_element(void *ctx, const xmlChar *localname, const xmlChar *prefix,
                           const xmlChar *URI)
{
    text_flush(ctx);
    state_of(ctx)->end_element(ctx, localname, prefix, URI);
}

static void on_comment(void *ctx, const xmlChar *value)
{
    text_flush(ctx);
    state_of(ctx)->comment(ctx, value);
}

static void on_pi(void *ctx, const xmlChar *target, const xmlChar *data)
{
    text_flush(ctx);
    state_of(ctx)->pi(ctx, target, data);
}

static void on_cdata(void *ctx, const xmlChar *value, int len)
{
    text_flush(ctx);
    state_of(ctx)->cdata(ctx, value, len);
}

static void on_reference(void *ctx, const xmlChar *name)
{
    text_flush(ctx);
    state_of(ctx)->reference(ctx, name);
}

static void on_end_document(void *ctx)
{
    text_flush(ctx);
    state_of(ctx)->end_document(ctx);
}

/* A DOCTYPE: stop before its internal subset is even read. */
static void on_internal_subset(void *ctx, const xmlChar *name, const xmlChar *external_id,
                               const xmlChar *system_id)
{
    (void)name;
    (void)external_id;
    (void)system_id;
    state_of(ctx)->dtd_seen = 1;
    xmlStopParser(ctx);
}

/* Wipes every text, CDATA and comment node, then frees the document. */
static void doc_free(xmlDocPtr doc)
{
    if (doc == NULL)
        return;
    xmlNodePtr n = doc->children;
    while (n != NULL) {
        if ((n->type == XML_TEXT_NODE || n->type == XML_CDATA_SECTION_NODE ||
             n->type == XML_COMMENT_NODE) &&
            n->content != NULL && (doc->dict == NULL || !xmlDictOwns(doc->dict, n->content)))
            mcsec_memzero(n->content, (size_t)xmlStrlen(n->content));
        if (n->type == XML_ELEMENT_NODE && n->children != NULL) {
            n = n->children;
            continue;
        }
        while (n != NULL && n->next == NULL)
            n = (n->parent == (xmlNodePtr)doc) ? NULL : n->parent;
        if (n != NULL)
            n = n->next;
    }
    xmlFreeDoc(doc);
}

static int is_blank(unsigned char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

/* Parses xml into a tree. MCSEC_ERR_XML for anything not a well-formed, DTD-free document. */
static mcsec_status_t doc_parse(const char *xml, size_t len, xmlDocPtr *out)
{
    mcsec_status_t rc = MCSEC_ERR_XML;
    xmlParserCtxtPtr ctxt = NULL;
    parse_state_t st;

    *out = NULL;
    memset(&st, 0, sizeof st);
    if (len > MCSEC_KMSXML_MAX_LEN)
        return MCSEC_ERR_BAD_LENGTH;
    if (len == 0 || memchr(xml, 0, len) != NULL)
        return MCSEC_ERR_XML; /* empty, or UTF-16/32 (which we do not take) */
    /* The document must start with '<' after an optional UTF-8 BOM and blanks: this keeps
     * libxml2 from detecting another encoding and converting into buffers of its own. */
    size_t i = (len >= 3 && memcmp(xml, "\xEF\xBB\xBF", 3) == 0) ? 3 : 0;
    while (i < len && is_blank((unsigned char)xml[i]))
        i++;
    if (i == len || xml[i] != '<')
        return MCSEC_ERR_XML;

    pthread_once(&xml_once, xml_global_init);
    /* libxml2's generic error handler is per thread: silence it for this call only. */
    xmlGenericErrorFunc saved_generic = xmlGenericError;
    void *saved_generic_ctx = xmlGenericErrorContext;
    xmlStructuredErrorFunc saved_structured = xmlStructuredError;
    void *saved_structured_ctx = xmlStructuredErrorContext;
    xmlSetGenericErrorFunc(NULL, xml_quiet);
    xmlSetStructuredErrorFunc(NULL, xml_quiet_structured);

    st.text = malloc(len + 1);
    if (st.text == NULL) {
        rc = MCSEC_ERR_NOMEM;
        goto out;
    }
    st.text_cap = len + 1;

    /* libxml2 copies the document into its input buffer and frees that copy without wiping
     * it (no API reaches it). Its static-buffer input, which would avoid the copy, misparses
     * in 2.9.14. See the residual-risk note in docs/protocol.md. */
    ctxt = xmlCreateMemoryParserCtxt(xml, (int)len);
    if (ctxt == NULL) {
        rc = MCSEC_ERR_NOMEM;
        goto out;
    }
    xmlCtxtUseOptions(ctxt, XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING |
                                XML_PARSE_IGNORE_ENC);
    xmlSAXHandlerPtr sax = ctxt->sax;
    st.start_element = sax->startElementNs;
    st.end_element = sax->endElementNs;
    st.characters = sax->characters;
    st.comment = sax->comment;
    st.pi = sax->processingInstruction;
    st.cdata = sax->cdataBlock;
    st.reference = sax->reference;
    st.end_document = sax->endDocument;
    if (st.start_element == NULL || st.end_element == NULL || st.characters == NULL ||
        st.comment == NULL || st.pi == NULL || st.cdata == NULL || st.reference == NULL ||
        st.end_document == NULL) {
        rc = MCSEC_ERR_INTERNAL;
        goto out;
    }
    sax->startElementNs = on_start_element;
    sax->endElementNs = on_end_element;
    sax->characters = on_characters;
    sax->ignorableWhitespace = on_characters;
    sax->comment = on_comment;
    sax->processingInstruction = on_pi;
    sax->cdataBlock = on_cdata;
    sax->reference = on_reference;
    sax->endDocument = on_end_document;
    sax->internalSubset = on_internal_subset;
    sax->externalSubset = NULL;
    sax->serror = xml_quiet_structured;
    sax->error = NULL;
    sax->warning = NULL;
    ctxt->_private = &st;

    (void)xmlParseDocument(ctxt);
    text_flush(ctxt);

    xmlDocPtr doc = ctxt->myDoc;
    ctxt->myDoc = NULL;
    if (!ctxt->wellFormed || st.dtd_seen || st.stopped || doc == NULL ||
        doc->intSubset != NULL || doc->extSubset != NULL) {
        rc = (ctxt->errNo == XML_ERR_NO_MEMORY) ? MCSEC_ERR_NOMEM : MCSEC_ERR_XML;
        doc_free(doc);
        goto out;
    }
    *out = doc;
    rc = MCSEC_OK;
out:
    if (ctxt != NULL) {
        ctxt->_private = NULL;
        if (ctxt->myDoc != NULL) {
            doc_free(ctxt->myDoc);
            ctxt->myDoc = NULL;
        }
        xmlFreeParserCtxt(ctxt);
    }
    if (st.text != NULL) {
        mcsec_memzero(st.text, st.text_cap);
        free(st.text);
    }
    xmlSetGenericErrorFunc(saved_generic_ctx, saved_generic);
    xmlSetStructuredErrorFunc(saved_structured_ctx, saved_structured);
    return rc;
}

/* ---------------------------------------------------------------------------------------- */
/* Tree helpers                                                                              */

static int in_ns(const xmlNode *n)
{
    return n->ns != NULL && n->ns->href != NULL &&
           strcmp((const char *)n->ns->href, MCSEC_KMSXML_NS) == 0;
}

static int is_el(const xmlNode *n, const char *name)
{
    return n->type == XML_ELEMENT_NODE && in_ns(n) && strcmp((const char *)n->name, name) == 0;
}

/* Non-blank character data directly inside a container element is not allowed. */
static int stray_text(const xmlNode *n)
{
    if (n->type == XML_CDATA_SECTION_NODE)
        return 1;
    if (n->type != XML_TEXT_NODE || n->content == NULL)
        return 0;
    for (const xmlChar *c = n->content; *c; c++)
        if (!is_blank(*c))
            return 1;
    return 0;
}

/* The character data of a leaf element, copied into a buffer the caller wipes (text_free). */
static mcsec_status_t leaf_text(const xmlNode *el, char **out, size_t *out_len)
{
    size_t total = 0;
    *out = NULL;
    *out_len = 0;
    for (const xmlNode *c = el->children; c != NULL; c = c->next) {
        if (c->type == XML_TEXT_NODE || c->type == XML_CDATA_SECTION_NODE) {
            if (c->content != NULL)
                total += (size_t)xmlStrlen(c->content);
        } else if (c->type != XML_COMMENT_NODE && c->type != XML_PI_NODE) {
            return MCSEC_ERR_XML; /* an element inside a value */
        }
    }
    char *buf = malloc(total + 1);
    if (buf == NULL)
        return MCSEC_ERR_NOMEM;
    size_t off = 0;
    for (const xmlNode *c = el->children; c != NULL; c = c->next) {
        if ((c->type == XML_TEXT_NODE || c->type == XML_CDATA_SECTION_NODE) &&
            c->content != NULL) {
            size_t l = (size_t)xmlStrlen(c->content);
            memcpy(buf + off, c->content, l);
            off += l;
        }
    }
    buf[off] = 0;
    *out = buf;
    *out_len = off;
    return MCSEC_OK;
}

static void text_free(char *p, size_t len)
{
    if (p != NULL) {
        mcsec_memzero(p, len);
        free(p);
    }
}

/* Strips surrounding XML blanks: returns the start and sets *len. */
static const char *trim(const char *s, size_t *len)
{
    size_t n = *len;
    while (n > 0 && is_blank((unsigned char)*s)) {
        s++;
        n--;
    }
    while (n > 0 && is_blank((unsigned char)s[n - 1]))
        n--;
    *len = n;
    return s;
}

/* ---------------------------------------------------------------------------------------- */
/* Value decoders                                                                            */

static mcsec_status_t dec_str(const char *s, size_t n, char *dst)
{
    s = trim(s, &n);
    if (n == 0)
        return MCSEC_ERR_BAD_INPUT;
    if (n > MCSEC_KMSXML_STR_MAX)
        return MCSEC_ERR_BAD_LENGTH;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7F)
            return MCSEC_ERR_BAD_INPUT;
    memcpy(dst, s, n);
    dst[n] = 0;
    return MCSEC_OK;
}

/* The value of hex digit c, or -1, without a branch or table on c: the digits are the
 * SSK and RSK. x < y for x, y < 2^31 is the sign bit of x - y. */
static int hexval(unsigned char c)
{
    uint32_t x = c, lx = x | 0x20;
    uint32_t is_d = ((x - ('9' + 1)) >> 31) & ((('0' - 1) - x) >> 31);
    uint32_t is_l = ((lx - ('f' + 1)) >> 31) & ((('a' - 1) - lx) >> 31);
    uint32_t v = ((0u - is_d) & (x - '0')) | ((0u - is_l) & (lx - 'a' + 10));
    return (int)(v | (0u - ((is_d | is_l) ^ 1)));
}

/* A blank, without a branch on c. */
static uint32_t blank_ct(unsigned char c)
{
    uint32_t x = c, acc = 0;
    static const uint8_t blanks[4] = {' ', '\t', '\n', '\r'};
    for (int i = 0; i < 4; i++)
        acc |= (((x ^ blanks[i]) - 1) >> 31) & 1; /* x == blank */
    return acc;
}

/* Exactly want octets of hex, blanks allowed anywhere. Constant time in the digits' values:
 * where the blanks are (formatting) and the verdict are public, and mcsec_ct_declassify says
 * so for the valgrind test (tests/ct). */
static mcsec_status_t dec_hex(const char *s, size_t n, uint8_t *dst, size_t want)
{
    size_t digits = 0;
    uint32_t bad = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        uint32_t blank = blank_ct(c);
        mcsec_ct_declassify(&blank, sizeof blank);
        if (blank)
            continue;
        bad |= (uint32_t)hexval(c) >> 31;
        digits++;
    }
    mcsec_ct_declassify(&bad, sizeof bad);
    if (bad)
        return MCSEC_ERR_BAD_INPUT;
    if (digits % 2 != 0)
        return MCSEC_ERR_BAD_INPUT;
    if (digits / 2 != want)
        return MCSEC_ERR_BAD_LENGTH;
    size_t o = 0, half = 0;
    unsigned hi = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        uint32_t blank = blank_ct(c);
        mcsec_ct_declassify(&blank, sizeof blank);
        if (blank)
            continue;
        unsigned v = (unsigned)hexval(c);
        if (!half) {
            hi = v;
        } else {
            dst[o++] = (uint8_t)(hi << 4 | v);
        }
        half ^= 1;
    }
    mcsec_memzero(&hi, sizeof hi);
    return MCSEC_OK;
}

static mcsec_status_t dec_u64(const char *s, size_t n, uint64_t *v)
{
    s = trim(s, &n);
    if (n == 0)
        return MCSEC_ERR_BAD_INPUT;
    uint64_t x = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return MCSEC_ERR_BAD_INPUT;
        unsigned d = (unsigned)(s[i] - '0');
        if (x > (UINT64_MAX - d) / 10)
            return MCSEC_ERR_BAD_INPUT;
        x = x * 10 + d;
    }
    *v = x;
    return MCSEC_OK;
}

static mcsec_status_t dec_bool(const char *s, size_t n, bool *v)
{
    s = trim(s, &n);
    if ((n == 4 && memcmp(s, "true", 4) == 0) || (n == 1 && s[0] == '1'))
        *v = true;
    else if ((n == 5 && memcmp(s, "false", 5) == 0) || (n == 1 && s[0] == '0'))
        *v = false;
    else
        return MCSEC_ERR_BAD_INPUT;
    return MCSEC_OK;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

#define TIME_MIN (-62135596800LL) /* 0001-01-01T00:00:00Z */
#define TIME_MAX 253402300799LL   /* 9999-12-31T23:59:59Z */

static int num(const char *s, size_t n, unsigned *v)
{
    unsigned x = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return 0;
        x = x * 10 + (unsigned)(s[i] - '0');
    }
    *v = x;
    return 1;
}

static mcsec_status_t dec_time(const char *s, size_t n, int64_t *t)
{
    unsigned Y, M, D, h, m, sec, oh = 0, om = 0;
    int sign = 0;
    s = trim(s, &n);
    if (n < 19 || !num(s, 4, &Y) || s[4] != '-' || !num(s + 5, 2, &M) || s[7] != '-' ||
        !num(s + 8, 2, &D) || s[10] != 'T' || !num(s + 11, 2, &h) || s[13] != ':' ||
        !num(s + 14, 2, &m) || s[16] != ':' || !num(s + 17, 2, &sec))
        return MCSEC_ERR_BAD_INPUT;
    size_t i = 19;
    if (i < n && s[i] == '.') {
        size_t f = ++i;
        while (i < n && s[i] >= '0' && s[i] <= '9')
            i++;
        if (i == f)
            return MCSEC_ERR_BAD_INPUT;
    }
    if (i < n && s[i] == 'Z') {
        i++;
    } else if (i < n && (s[i] == '+' || s[i] == '-')) {
        sign = s[i] == '+' ? 1 : -1;
        if (n - i < 6 || !num(s + i + 1, 2, &oh) || s[i + 3] != ':' || !num(s + i + 4, 2, &om))
            return MCSEC_ERR_BAD_INPUT;
        i += 6;
        if (oh > 14 || om > 59 || (oh == 14 && om != 0))
            return MCSEC_ERR_BAD_INPUT;
    }
    if (i != n)
        return MCSEC_ERR_BAD_INPUT;
    static const unsigned mdays[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (Y % 4 == 0 && Y % 100 != 0) || Y % 400 == 0;
    if (Y < 1 || M < 1 || M > 12 || D < 1 || D > mdays[M - 1] || (M == 2 && D == 29 && !leap) ||
        h > 23 || m > 59 || sec > 59)
        return MCSEC_ERR_BAD_INPUT;
    int64_t v = days_from_civil(Y, M, D) * 86400 + (int64_t)(h * 3600 + m * 60 + sec) -
                (int64_t)sign * (int64_t)(oh * 3600 + om * 60);
    if (v < TIME_MIN || v > TIME_MAX)
        return MCSEC_ERR_BAD_INPUT;
    *t = v;
    return MCSEC_OK;
}

/* ---------------------------------------------------------------------------------------- */
/* Field tables                                                                              */

typedef enum {
    F_CHILD, /* a container, handled by the caller */
    F_STR,   /* char[MCSEC_KMSXML_STR_MAX + 1] */
    F_TIME,  /* int64_t */
    F_U64,   /* uint64_t */
    F_POS,   /* uint64_t, > 0 */
    F_BOOL,  /* bool */
    F_HEX,   /* uint8_t[len] */
    F_POINT, /* uint8_t[len], 04 || x || y */
    F_ONLY,  /* unsigned, must equal len (else MCSEC_ERR_UNSUPPORTED) */
} kind_t;

typedef struct {
    const char *name;
    kind_t kind;
    size_t off, len;
} field_t;

#define MAX_FIELDS 16

#define HF(name, kind, member)                                                                    \
    { name, kind, offsetof(mcsec_kms_response_hdr_t, member), 0 }
static const field_t hdr_fields[] = {
    HF("KmsUri", F_STR, kms_uri),
    HF("UserUri", F_STR, user_uri),
    HF("Time", F_TIME, time),
    HF("ClientReqUrl", F_STR, client_req_url),
    {"KmsMessage", F_CHILD, 0, 0},
};
#define HDR_MSG 4

#define CF(name, kind, member, len)                                                               \
    { name, kind, offsetof(mcsec_kms_init_t, member), len }
static const field_t cert_fields[] = {
    CF("CertUri", F_STR, cert_uri, 0),
    CF("KmsUri", F_STR, kms_uri, 0),
    CF("Issuer", F_STR, issuer, 0),
    CF("ValidFrom", F_TIME, valid_from, 0),
    CF("ValidTo", F_TIME, valid_to, 0),
    CF("Revoked", F_BOOL, revoked, 0),
    CF("UserIdFormat", F_ONLY, user_id_format, 2),
    CF("UserKeyPeriod", F_POS, key_period, 0),
    CF("UserKeyOffset", F_U64, key_offset, 0),
    CF("PubEncKey", F_POINT, Z, MCSEC_SAKKE_POINT_LEN),
    CF("PubAuthKey", F_POINT, kpak, MCSEC_ECCSI_POINT_LEN),
    CF("ParameterSet", F_ONLY, parameter_set, 1),
};

#define KF(name, kind, member, len)                                                               \
    { name, kind, offsetof(mcsec_kms_keyset_t, member), len }
static const field_t keyset_fields[] = {
    KF("KmsUri", F_STR, kms_uri, 0),
    KF("CertUri", F_STR, cert_uri, 0),
    KF("Issuer", F_STR, issuer, 0),
    KF("UserUri", F_STR, user_uri, 0),
    KF("UserID", F_HEX, uid, MCSEC_UID_LEN),
    KF("ValidFrom", F_TIME, valid_from, 0),
    KF("ValidTo", F_TIME, valid_to, 0),
    KF("KeyPeriodNo", F_U64, key_period_no, 0),
    KF("Revoked", F_BOOL, revoked, 0),
    KF("UserDecryptKey", F_POINT, rsk, MCSEC_SAKKE_POINT_LEN),
    KF("UserSigningKeySSK", F_HEX, ssk, MCSEC_ECCSI_SCALAR_LEN),
    KF("UserPubTokenPVT", F_POINT, pvt, MCSEC_ECCSI_POINT_LEN),
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* Finds each field's element among parent's children: exactly once each, no stray text.
 * Elements of other namespaces and unknown names are extension points and are skipped. */
static mcsec_status_t collect(const xmlNode *parent, const field_t *f, size_t nf,
                              const xmlNode **nodes)
{
    for (size_t i = 0; i < nf; i++)
        nodes[i] = NULL;
    for (const xmlNode *c = parent->children; c != NULL; c = c->next) {
        if (stray_text(c))
            return MCSEC_ERR_XML;
        if (c->type != XML_ELEMENT_NODE || !in_ns(c))
            continue;
        for (size_t i = 0; i < nf; i++) {
            if (strcmp((const char *)c->name, f[i].name) == 0) {
                if (nodes[i] != NULL)
                    return MCSEC_ERR_XML; /* duplicate */
                nodes[i] = c;
                break;
            }
        }
    }
    for (size_t i = 0; i < nf; i++)
        if (nodes[i] == NULL)
            return MCSEC_ERR_XML; /* missing */
    return MCSEC_OK;
}

static mcsec_status_t decode_one(const field_t *f, const char *s, size_t n, uint8_t *dst)
{
    mcsec_status_t rc;
    uint64_t v = 0;
    switch (f->kind) {
    case F_STR:
        return dec_str(s, n, (char *)dst);
    case F_TIME:
        return dec_time(s, n, (int64_t *)(void *)dst);
    case F_U64:
    case F_POS:
        if ((rc = dec_u64(s, n, &v)) != MCSEC_OK)
            return rc;
        if (f->kind == F_POS && v == 0)
            return MCSEC_ERR_BAD_INPUT;
        *(uint64_t *)(void *)dst = v;
        return MCSEC_OK;
    case F_BOOL:
        return dec_bool(s, n, (bool *)dst);
    case F_HEX:
    case F_POINT:
        if ((rc = dec_hex(s, n, dst, f->len)) != MCSEC_OK)
            return rc;
        if (f->kind == F_POINT && dst[0] != 0x04)
            return MCSEC_ERR_POINT_ENCODING;
        return MCSEC_OK;
    case F_ONLY:
        if ((rc = dec_u64(s, n, &v)) != MCSEC_OK)
            return rc;
        if (v != f->len)
            return MCSEC_ERR_UNSUPPORTED;
        *(unsigned *)(void *)dst = (unsigned)v;
        return MCSEC_OK;
    case F_CHILD:
        break;
    }
    return MCSEC_OK;
}

/* Decodes every non-container field, in table order, into base. */
static mcsec_status_t decode(const field_t *f, size_t nf, const xmlNode **nodes, void *base)
{
    for (size_t i = 0; i < nf; i++) {
        if (f[i].kind == F_CHILD)
            continue;
        char *s;
        size_t n;
        mcsec_status_t rc = leaf_text(nodes[i], &s, &n);
        if (rc == MCSEC_OK)
            rc = decode_one(&f[i], s, n, (uint8_t *)base + f[i].off);
        text_free(s, n);
        if (rc != MCSEC_OK)
            return rc;
    }
    return MCSEC_OK;
}

/* xsi:type must be the QName {MCSEC_KMSXML_NS}want. */
static mcsec_status_t check_xsi_type(const xmlNode *el, const char *want)
{
    mcsec_status_t rc = MCSEC_ERR_XML;
    xmlChar *v = xmlGetNsProp(el, BAD_CAST "type", BAD_CAST XSI_NS);
    if (v == NULL)
        return MCSEC_ERR_XML;
    size_t n = strlen((const char *)v);
    const char *s = trim((const char *)v, &n);
    const char *colon = memchr(s, ':', n);
    const char *local = colon ? colon + 1 : s;
    size_t local_len = n - (size_t)(local - s);
    char prefix[64];
    xmlNsPtr ns;
    if (colon != NULL) {
        size_t pl = (size_t)(colon - s);
        if (pl == 0 || pl >= sizeof prefix)
            goto out;
        memcpy(prefix, s, pl);
        prefix[pl] = 0;
        ns = xmlSearchNs(el->doc, (xmlNodePtr)el, BAD_CAST prefix);
    } else {
        ns = xmlSearchNs(el->doc, (xmlNodePtr)el, NULL);
    }
    if (ns != NULL && ns->href != NULL && strcmp((const char *)ns->href, MCSEC_KMSXML_NS) == 0 &&
        local_len == strlen(want) && memcmp(local, want, local_len) == 0)
        rc = MCSEC_OK;
out:
    xmlFree(v);
    return rc;
}

typedef enum { MSG_INIT, MSG_KEYPROV } msg_kind_t;

/* Root, header structure, and the one message element of the wanted kind (xsi:type checked). */
static mcsec_status_t open_response(xmlDocPtr doc, msg_kind_t kind, const xmlNode **hdr_nodes,
                                    const xmlNode **msg)
{
    static const char *const names[] = {"KmsInit", "KmsKeyProv"};
    static const char *const types[] = {"KmsInitTkIkType", "KmsKeyProvTkIkType"};
    const xmlNode *root = xmlDocGetRootElement(doc);
    if (root == NULL)
        return MCSEC_ERR_XML;
    if (is_el(root, "SignedKmsResponse"))
        return MCSEC_ERR_UNSUPPORTED; /* XML signatures: mcsec uses an authenticated transport */
    if (!is_el(root, "KmsResponse"))
        return MCSEC_ERR_XML;
    mcsec_status_t rc = collect(root, hdr_fields, COUNT(hdr_fields), hdr_nodes);
    if (rc != MCSEC_OK)
        return rc;
    const xmlNode *found[2] = {NULL, NULL};
    for (const xmlNode *c = hdr_nodes[HDR_MSG]->children; c != NULL; c = c->next) {
        if (stray_text(c))
            return MCSEC_ERR_XML;
        for (int k = 0; k < 2; k++) {
            if (is_el(c, names[k])) {
                if (found[k] != NULL)
                    return MCSEC_ERR_XML;
                found[k] = c;
            }
        }
    }
    if (found[kind] == NULL || found[1 - kind] != NULL)
        return MCSEC_ERR_XML; /* not the document asked for */
    if ((rc = check_xsi_type(found[kind], types[kind])) != MCSEC_OK)
        return rc;
    *msg = found[kind];
    return MCSEC_OK;
}

/* ---------------------------------------------------------------------------------------- */
/* Parsing                                                                                   */

void mcsec_kms_keyset_wipe(mcsec_kms_keyset_t *sets, size_t n)
{
    if (sets != NULL && n > 0)
        mcsec_memzero(sets, n * sizeof *sets);
}

mcsec_status_t mcsec_kmsxml_parse_init(const char *xml, size_t len, mcsec_kms_response_hdr_t *hdr,
                                       mcsec_kms_init_t *out)
{
    REQUIRE_INIT();
    if (xml == NULL || hdr == NULL || out == NULL)
        return MCSEC_ERR_BAD_INPUT;
    memset(hdr, 0, sizeof *hdr);
    memset(out, 0, sizeof *out);

    xmlDocPtr doc = NULL;
    const xmlNode *hn[COUNT(hdr_fields)], *cn[COUNT(cert_fields)], *msg = NULL, *cert = NULL;
    mcsec_status_t rc = doc_parse(xml, len, &doc);
    if (rc != MCSEC_OK)
        goto out;
    if ((rc = open_response(doc, MSG_INIT, hn, &msg)) != MCSEC_OK)
        goto out;
    static const field_t init_fields[] = {{"KmsCertificate", F_CHILD, 0, 0}};
    if ((rc = collect(msg, init_fields, 1, &cert)) != MCSEC_OK)
        goto out;
    xmlChar *role = xmlGetNoNsProp(cert, BAD_CAST "Role");
    if (role == NULL) {
        rc = MCSEC_ERR_XML;
        goto out;
    }
    int root_role = strcmp((const char *)role, "Root") == 0;
    xmlFree(role);
    if (!root_role) {
        rc = MCSEC_ERR_UNSUPPORTED; /* External KMS certificates are not supported */
        goto out;
    }
    if ((rc = collect(cert, cert_fields, COUNT(cert_fields), cn)) != MCSEC_OK)
        goto out;
    if ((rc = decode(hdr_fields, COUNT(hdr_fields), hn, hdr)) != MCSEC_OK)
        goto out;
    rc = decode(cert_fields, COUNT(cert_fields), cn, out);
out:
    doc_free(doc);
    if (rc != MCSEC_OK) {
        memset(hdr, 0, sizeof *hdr);
        memset(out, 0, sizeof *out);
    }
    return rc;
}

mcsec_status_t mcsec_kmsxml_parse_keyprov(const char *xml, size_t len,
                                          mcsec_kms_response_hdr_t *hdr, mcsec_kms_keyset_t *sets,
                                          size_t max_sets, size_t *n_sets)
{
    REQUIRE_INIT();
    if (xml == NULL || hdr == NULL || sets == NULL || n_sets == NULL || max_sets == 0)
        return MCSEC_ERR_BAD_INPUT;
    memset(hdr, 0, sizeof *hdr);
    mcsec_kms_keyset_wipe(sets, max_sets);
    *n_sets = 0;

    xmlDocPtr doc = NULL;
    const xmlNode *hn[COUNT(hdr_fields)], *kn[COUNT(keyset_fields)], *msg = NULL;
    size_t count = 0;
    mcsec_status_t rc = doc_parse(xml, len, &doc);
    if (rc != MCSEC_OK)
        goto out;
    if ((rc = open_response(doc, MSG_KEYPROV, hn, &msg)) != MCSEC_OK)
        goto out;
    /* Structure of every key set first, then the values. */
    for (const xmlNode *c = msg->children; c != NULL; c = c->next) {
        if (stray_text(c)) {
            rc = MCSEC_ERR_XML;
            goto out;
        }
        if (!is_el(c, "KmsKeySet"))
            continue;
        if ((rc = collect(c, keyset_fields, COUNT(keyset_fields), kn)) != MCSEC_OK)
            goto out;
        count++;
    }
    if (count == 0) {
        rc = MCSEC_ERR_XML;
        goto out;
    }
    if (count > max_sets) {
        rc = MCSEC_ERR_BAD_LENGTH;
        goto out;
    }
    if ((rc = decode(hdr_fields, COUNT(hdr_fields), hn, hdr)) != MCSEC_OK)
        goto out;
    size_t k = 0;
    for (const xmlNode *c = msg->children; c != NULL; c = c->next) {
        if (!is_el(c, "KmsKeySet"))
            continue;
        if ((rc = collect(c, keyset_fields, COUNT(keyset_fields), kn)) != MCSEC_OK ||
            (rc = decode(keyset_fields, COUNT(keyset_fields), kn, &sets[k])) != MCSEC_OK)
            goto out;
        k++;
    }
    *n_sets = k;
out:
    doc_free(doc);
    if (rc != MCSEC_OK) {
        memset(hdr, 0, sizeof *hdr);
        mcsec_kms_keyset_wipe(sets, max_sets);
        *n_sets = 0;
    }
    return rc;
}

/* ---------------------------------------------------------------------------------------- */
/* Writing                                                                                   */

typedef struct {
    char *buf;
    size_t cap, len; /* len counts everything, also past cap */
} writer_t;

static void put(writer_t *w, const char *s, size_t n)
{
    /* len only grows, so once something does not fit nothing after it is written */
    if (w->len < w->cap && n <= w->cap - w->len)
        memcpy(w->buf + w->len, s, n);
    w->len += n;
}

static void puts_(writer_t *w, const char *s) { put(w, s, strlen(s)); }

static void put_esc(writer_t *w, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '&':
            puts_(w, "&amp;");
            break;
        case '<':
            puts_(w, "&lt;");
            break;
        case '>':
            puts_(w, "&gt;");
            break;
        case '"':
            puts_(w, "&quot;");
            break;
        default:
            put(w, s, 1);
        }
    }
}

/* Upper-case hex digit of a nibble, without a table: the nibbles are the SSK and RSK. */
static char hexdigit(unsigned nib)
{
    return (char)(nib + '0' + (((9u - nib) >> 8) & ('A' - '0' - 10)));
}

static void put_hex(writer_t *w, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char two[2] = {hexdigit(p[i] >> 4), hexdigit(p[i] & 15u)};
        put(w, two, 2);
        mcsec_memzero(two, sizeof two);
    }
}

static void put_u64(writer_t *w, uint64_t v)
{
    char tmp[24];
    size_t i = sizeof tmp;
    do {
        tmp[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    put(w, tmp + i, sizeof tmp - i);
}

static void put_time(writer_t *w, int64_t t)
{
    int64_t days = t / 86400, secs = t % 86400, y;
    unsigned m, d;
    if (secs < 0) {
        secs += 86400;
        days--;
    }
    civil_from_days(days, &y, &m, &d);
    char tmp[32];
    snprintf(tmp, sizeof tmp, "%04u-%02u-%02uT%02u:%02u:%02uZ", (unsigned)y, m, d,
             (unsigned)(secs / 3600), (unsigned)(secs / 60 % 60), (unsigned)(secs % 60));
    puts_(w, tmp);
}

/* A UTF-8 check for strings we write: well-formed, no surrogates, no U+FFFE/U+FFFF. */
static int utf8_ok(const unsigned char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned c = s[i];
        size_t k;
        uint32_t cp;
        if (c < 0x80) {
            i++;
            continue;
        } else if (c >= 0xC2 && c <= 0xDF) {
            k = 1;
            cp = c & 0x1F;
        } else if (c >= 0xE0 && c <= 0xEF) {
            k = 2;
            cp = c & 0x0F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            k = 3;
            cp = c & 0x07;
        } else {
            return 0;
        }
        if (n - i <= k)
            return 0;
        for (size_t j = 1; j <= k; j++) {
            if ((s[i + j] & 0xC0) != 0x80)
                return 0;
            cp = cp << 6 | (s[i + j] & 0x3F);
        }
        if ((k == 2 && cp < 0x800) || (k == 3 && (cp < 0x10000 || cp > 0x10FFFF)) ||
            (cp >= 0xD800 && cp <= 0xDFFF) || cp == 0xFFFE || cp == 0xFFFF)
            return 0;
        i += k + 1;
    }
    return 1;
}

/* The writer accepts exactly what the parser returns. */
static mcsec_status_t check_str(const char *s)
{
    size_t n = strnlen(s, MCSEC_KMSXML_STR_MAX + 1);
    if (n > MCSEC_KMSXML_STR_MAX)
        return MCSEC_ERR_BAD_LENGTH;
    if (n == 0 || is_blank((unsigned char)s[0]) || is_blank((unsigned char)s[n - 1]))
        return MCSEC_ERR_BAD_INPUT;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7F)
            return MCSEC_ERR_BAD_INPUT;
    return utf8_ok((const unsigned char *)s, n) ? MCSEC_OK : MCSEC_ERR_BAD_INPUT;
}

static mcsec_status_t check_fields(const field_t *f, size_t nf, const void *base)
{
    for (size_t i = 0; i < nf; i++) {
        const uint8_t *p = (const uint8_t *)base + f[i].off;
        mcsec_status_t rc = MCSEC_OK;
        switch (f[i].kind) {
        case F_STR:
            rc = check_str((const char *)p);
            break;
        case F_TIME: {
            int64_t t;
            memcpy(&t, p, sizeof t);
            if (t < TIME_MIN || t > TIME_MAX)
                rc = MCSEC_ERR_BAD_INPUT;
            break;
        }
        case F_POS: {
            uint64_t v;
            memcpy(&v, p, sizeof v);
            if (v == 0)
                rc = MCSEC_ERR_BAD_INPUT;
            break;
        }
        case F_POINT:
            if (p[0] != 0x04)
                rc = MCSEC_ERR_POINT_ENCODING;
            break;
        case F_ONLY: {
            unsigned v;
            memcpy(&v, p, sizeof v);
            if (v != f[i].len)
                rc = MCSEC_ERR_UNSUPPORTED;
            break;
        }
        default:
            break;
        }
        if (rc != MCSEC_OK)
            return rc;
    }
    return MCSEC_OK;
}

/* <name>value</name> at the given indent, for every non-container field in table order. */
static void put_fields(writer_t *w, const field_t *f, size_t nf, const void *base,
                       const char *indent)
{
    for (size_t i = 0; i < nf; i++) {
        const uint8_t *p = (const uint8_t *)base + f[i].off;
        if (f[i].kind == F_CHILD)
            continue;
        puts_(w, indent);
        puts_(w, "<");
        puts_(w, f[i].name);
        puts_(w, ">");
        switch (f[i].kind) {
        case F_STR:
            put_esc(w, (const char *)p);
            break;
        case F_TIME: {
            int64_t t;
            memcpy(&t, p, sizeof t);
            put_time(w, t);
            break;
        }
        case F_U64:
        case F_POS: {
            uint64_t v;
            memcpy(&v, p, sizeof v);
            put_u64(w, v);
            break;
        }
        case F_BOOL:
            puts_(w, *(const bool *)p ? "true" : "false");
            break;
        case F_HEX:
        case F_POINT:
            put_hex(w, p, f[i].len);
            break;
        case F_ONLY: {
            unsigned v;
            memcpy(&v, p, sizeof v);
            put_u64(w, v);
            break;
        }
        case F_CHILD:
            break;
        }
        puts_(w, "</");
        puts_(w, f[i].name);
        puts_(w, ">\n");
    }
}

static void put_head(writer_t *w, const mcsec_kms_response_hdr_t *hdr)
{
    puts_(w, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
             "<KmsResponse xmlns=\"" MCSEC_KMSXML_NS "\" xmlns:xsi=\"" XSI_NS
             "\" Version=\"1.0.0\">\n");
    put_fields(w, hdr_fields, COUNT(hdr_fields), hdr, "  ");
    puts_(w, "  <KmsMessage>\n");
}

static const char tail[] = "  </KmsMessage>\n</KmsResponse>\n";

static mcsec_status_t finish(writer_t *w, size_t *len)
{
    *len = w->len;
    if (w->len > MCSEC_KMSXML_MAX_LEN || w->len >= w->cap) {
        mcsec_memzero(w->buf, w->cap);
        if (w->cap > 0)
            w->buf[0] = 0;
        return MCSEC_ERR_BAD_LENGTH;
    }
    w->buf[w->len] = 0;
    return MCSEC_OK;
}

mcsec_status_t mcsec_kmsxml_write_init(const mcsec_kms_response_hdr_t *hdr,
                                       const mcsec_kms_init_t *init, char *buf, size_t cap,
                                       size_t *len)
{
    REQUIRE_INIT();
    if (hdr == NULL || init == NULL || buf == NULL || len == NULL)
        return MCSEC_ERR_BAD_INPUT;
    *len = 0;
    mcsec_status_t rc = check_fields(hdr_fields, COUNT(hdr_fields), hdr);
    if (rc == MCSEC_OK)
        rc = check_fields(cert_fields, COUNT(cert_fields), init);
    if (rc != MCSEC_OK)
        return rc;
    writer_t w = {buf, cap, 0};
    put_head(&w, hdr);
    puts_(&w, "    <KmsInit xsi:type=\"KmsInitTkIkType\" Version=\"1.0.0\">\n"
              "      <KmsCertificate Version=\"1.1.0\" Role=\"Root\">\n");
    put_fields(&w, cert_fields, COUNT(cert_fields), init, "        ");
    puts_(&w, "      </KmsCertificate>\n    </KmsInit>\n");
    puts_(&w, tail);
    return finish(&w, len);
}

mcsec_status_t mcsec_kmsxml_write_keyprov(const mcsec_kms_response_hdr_t *hdr,
                                          const mcsec_kms_keyset_t *sets, size_t n, char *buf,
                                          size_t cap, size_t *len)
{
    REQUIRE_INIT();
    if (hdr == NULL || sets == NULL || n == 0 || buf == NULL || len == NULL)
        return MCSEC_ERR_BAD_INPUT;
    *len = 0;
    mcsec_status_t rc = check_fields(hdr_fields, COUNT(hdr_fields), hdr);
    for (size_t i = 0; rc == MCSEC_OK && i < n; i++)
        rc = check_fields(keyset_fields, COUNT(keyset_fields), &sets[i]);
    if (rc != MCSEC_OK)
        return rc;
    writer_t w = {buf, cap, 0};
    put_head(&w, hdr);
    puts_(&w, "    <KmsKeyProv xsi:type=\"KmsKeyProvTkIkType\" Version=\"1.0.0\">\n");
    for (size_t i = 0; i < n; i++) {
        puts_(&w, "      <KmsKeySet Version=\"1.1.0\">\n");
        put_fields(&w, keyset_fields, COUNT(keyset_fields), &sets[i], "        ");
        puts_(&w, "      </KmsKeySet>\n");
    }
    puts_(&w, "    </KmsKeyProv>\n");
    puts_(&w, tail);
    return finish(&w, len);
}
