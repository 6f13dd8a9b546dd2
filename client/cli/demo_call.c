/* mcsec demo: the group call. One thread per member, each with its own handset, call and
 * sockets on a multicast group on the loopback: member 0 talks (notification, then PCMU audio
 * as SRTP paced in real time, SRTCP sender reports, the notification repeated every 500 ms),
 * the others join from the notification and decode what they receive. */
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "cli.h"
#include "demo.h"
#include "mcsec/secmem.h"

#define JOIN_TIMEOUT_MS 10000
#define REPEAT_FRAMES 25 /* notification every 500 ms */
#define RTCP_FRAMES 50   /* sender report every second */
#define DRAIN_MS 1000    /* a listener waits this long after the talker's end for stragglers */

typedef struct {
    const demo_opts_t *o;
    const char *group;
    demo_member_t *m;
    size_t n;
    const char *const *uris;
    const uint8_t *ulaw; /* the audio as sent: n_frames * MCSEC_AUDIO_FRAME codes */
    size_t n_frames;
    char maddr[16];
    uint16_t port;
    mcsec_pcap_t *pcap;
    pthread_mutex_t pcap_lock, lock;
    pthread_cond_t cond;
    /* under lock */
    size_t ready, joined;
    int go, abort, done;
    struct timespec first_notify, done_at;
    demo_call_result_t *r;
} call_t;

typedef struct {
    call_t *k;
    size_t idx;
    mcsec_net_t *net;
    mcsec_call_t *c;
    uint16_t last_seq;
} member_t;

static void fail(demo_member_t *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fail(demo_member_t *m, const char *fmt, ...) {
    if (m->why[0] != 0) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(m->why, sizeof m->why, fmt, ap);
    va_end(ap);
}

static void deadline_in(struct timespec *t, long ms) {
    clock_gettime(CLOCK_MONOTONIC, t); /* the clock of k->cond (call_init) */
    t->tv_sec += ms / 1000;
    t->tv_nsec += (ms % 1000) * 1000000L;
    if (t->tv_nsec >= 1000000000L) {
        t->tv_sec++;
        t->tv_nsec -= 1000000000L;
    }
}

/* --- Sending ------------------------------------------------------------------------------ */

static int send_dgram(member_t *a, mcsec_net_channel_t ch, const uint8_t *d, size_t len) {
    static const uint16_t offset[] = {0, 2, 3}; /* control, media, RTCP ports */
    call_t *k = a->k;
    if (mcsec_net_send(a->net, ch, d, len) != MCSEC_OK) {
        fail(&k->m[a->idx], "cannot send: %s", mcsec_net_last_error());
        return 0;
    }
    if (k->pcap == NULL) return 1;
    struct in_addr group;
    inet_pton(AF_INET, k->maddr, &group);
    pthread_mutex_lock(&k->pcap_lock);
    mcsec_status_t rc =
        mcsec_pcap_udp(k->pcap, INADDR_LOOPBACK, (uint16_t)(mcsec_net_port(a->net) + offset[ch]),
                       ntohl(group.s_addr), (uint16_t)(k->port + offset[ch]), d, len, 0);
    pthread_mutex_unlock(&k->pcap_lock);
    (void)rc; /* a failed write is reported by mcsec_pcap_close */
    return 1;
}

/* --reveal-keys: the talker's SRTP master key || salt as an SDES crypto attribute. */
static void reveal_keys(member_t *a) {
    uint8_t key[MCSEC_SRTP_KEY_LEN], salt[MCSEC_SRTP_SALT_MAX];
    uint8_t both[MCSEC_SRTP_KEY_LEN + MCSEC_SRTP_SALT_MAX];
    char b64[64];
    mcsec_srtp_suite_t suite;
    FILE *f = a->k->o->json ? stderr : stdout;
    if (mcsec_call_stream_keys(a->c, 1, key, salt, &suite) != MCSEC_OK) {
        cli_error(DEMO_CMD, "--reveal-keys: the talker has no outbound stream");
        goto out;
    }
    size_t salt_len = mcsec_srtp_salt_len(suite);
    memcpy(both, key, sizeof key);
    memcpy(both + sizeof key, salt, salt_len);
    EVP_EncodeBlock((unsigned char *)b64, both, (int)(sizeof key + salt_len));
    fprintf(f, "a=crypto:1 %s inline:%s\n", mcsec_srtp_suite_name(suite), b64);
    fflush(f);
    if (suite != MCSEC_SRTP_AES_CM_128_HMAC_SHA1_80)
        fprintf(stderr, "note: SRTP decrypting tools mostly take AES_CM_128_HMAC_SHA1_80 keys "
                        "only (Wireshark 4.0 decrypts no SRTP); run with --suite aes-cm to "
                        "decrypt the capture\n");
out:
    mcsec_memzero(key, sizeof key);
    mcsec_memzero(salt, sizeof salt);
    mcsec_memzero(both, sizeof both);
    mcsec_memzero(b64, sizeof b64);
}

static int announce(member_t *a) {
    uint8_t buf[4096];
    size_t len;
    if (mcsec_call_announcement(a->c, buf, sizeof buf, &len) != MCSEC_OK) {
        fail(&a->k->m[a->idx], "cannot repeat the notification");
        return 0;
    }
    a->k->r->notifications++;
    return send_dgram(a, MCSEC_NET_CONTROL, buf, len);
}

static int send_rtcp(member_t *a) {
    uint8_t buf[512];
    size_t len;
    mcsec_status_t rc = mcsec_call_send_rtcp(a->c, buf, sizeof buf, &len);
    if (rc != MCSEC_OK) {
        fail(&a->k->m[a->idx], "cannot build the RTCP sender report: %s", mcsec_strerror(rc));
        return 0;
    }
    a->k->r->rtcp_sent++;
    return send_dgram(a, MCSEC_NET_RTCP, buf, len);
}

/* Waits for every listener to join, repeating the notification every 500 ms. */
static void wait_joins(member_t *a) {
    call_t *k = a->k;
    struct timespec t0, until;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    pthread_mutex_lock(&k->lock);
    while (k->joined < k->n - 1 && !k->abort && !demo_stop && demo_ms(&t0) < JOIN_TIMEOUT_MS) {
        deadline_in(&until, 500);
        if (pthread_cond_timedwait(&k->cond, &k->lock, &until) == ETIMEDOUT &&
            k->joined < k->n - 1) {
            pthread_mutex_unlock(&k->lock);
            announce(a);
            pthread_mutex_lock(&k->lock);
        }
    }
    size_t joined = k->joined;
    pthread_mutex_unlock(&k->lock);
    if (joined < k->n - 1)
        demo_progress(k->o, "only %zu of %zu listeners joined within %d s: talking anyway", joined,
                      k->n - 1, JOIN_TIMEOUT_MS / 1000);
}

static void next_frame(struct timespec *t) {
    t->tv_nsec += 1000000000L / (MCSEC_AUDIO_RATE / MCSEC_AUDIO_FRAME);
    if (t->tv_nsec >= 1000000000L) {
        t->tv_sec++;
        t->tv_nsec -= 1000000000L;
    }
}

/* PCMU frames paced in real time, the notification and RTCP interleaved. */
static void send_audio(member_t *a) {
    call_t *k = a->k;
    uint8_t buf[MCSEC_RTP_MAX_PACKET + MCSEC_SRTP_MAX_OVERHEAD];
    struct timespec next;
    clock_gettime(CLOCK_MONOTONIC, &next);
    for (size_t f = 0; f < k->n_frames && !demo_stop && !k->abort; f++) {
        if (f > 0 && f % REPEAT_FRAMES == 0 && !announce(a)) return;
        if (f > 0 && f % RTCP_FRAMES == 0 && !send_rtcp(a)) return;
        size_t len;
        mcsec_status_t rc = mcsec_call_send_media(
            a->c, MCSEC_RTP_PT_PCMU, k->ulaw + f * MCSEC_AUDIO_FRAME, MCSEC_AUDIO_FRAME,
            MCSEC_AUDIO_FRAME, f == 0, buf, sizeof buf, &len);
        if (rc != MCSEC_OK) {
            fail(&k->m[a->idx], "cannot protect media packet %zu: %s", f, mcsec_strerror(rc));
            return;
        }
        if (!send_dgram(a, MCSEC_NET_MEDIA, buf, len)) return;
        k->r->packets_sent++;
        next_frame(&next);
        while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL) == EINTR &&
               !demo_stop) {
        }
    }
    send_rtcp(a);
}

static void talk(member_t *a) {
    call_t *k = a->k;
    uint8_t buf[4096];
    size_t len;
    mcsec_status_t rc = mcsec_call_talk(a->c, buf, sizeof buf, &len);
    if (rc != MCSEC_OK) {
        fail(&k->m[a->idx], "cannot start talking: %s", mcsec_strerror(rc));
    } else {
        pthread_mutex_lock(&k->lock);
        clock_gettime(CLOCK_MONOTONIC, &k->first_notify);
        pthread_mutex_unlock(&k->lock);
        k->r->notifications++;
        if (send_dgram(a, MCSEC_NET_CONTROL, buf, len)) {
            if (k->o->reveal_keys) reveal_keys(a);
            wait_joins(a);
            send_audio(a);
        }
    }
    pthread_mutex_lock(&k->lock);
    k->done = 1;
    clock_gettime(CLOCK_MONOTONIC, &k->done_at);
    pthread_cond_broadcast(&k->cond);
    pthread_mutex_unlock(&k->lock);
}

/* --- Listening ---------------------------------------------------------------------------- */

static void on_control(member_t *a, const uint8_t *d, size_t len) {
    call_t *k = a->k;
    demo_member_t *m = &k->m[a->idx];
    mcsec_call_event_t ev;
    mcsec_status_t rc = mcsec_call_handle(a->c, d, len, &ev);
    if (rc != MCSEC_OK) {
        m->rejected++;
        fail(m, "a control datagram that is not a call datagram: %s", mcsec_strerror(rc));
        return;
    }
    if (ev.kind == MCSEC_CALL_EV_REFUSED) {
        m->rejected++;
        fail(m, "call notification refused: %s", ev.why[0] ? ev.why : mcsec_strerror(ev.status));
    }
    if (ev.kind != MCSEC_CALL_EV_JOINED) return;
    pthread_mutex_lock(&k->lock);
    if (!m->joined) {
        m->joined = 1;
        m->join_ms = demo_ms(&k->first_notify);
        k->joined++;
        pthread_cond_broadcast(&k->cond);
    }
    pthread_mutex_unlock(&k->lock);
}

static void on_media(member_t *a, uint8_t *d, size_t len) {
    call_t *k = a->k;
    demo_member_t *m = &k->m[a->idx];
    mcsec_rtp_header_t h;
    mcsec_status_t rc = mcsec_call_receive_media(a->c, d, len, &h);
    if (rc != MCSEC_OK) {
        m->rejected++;
        fail(m, "SRTP packet refused: %s", mcsec_strerror(rc));
        return;
    }
    size_t cap = k->n_frames * MCSEC_AUDIO_FRAME;
    if (h.payload_type != MCSEC_RTP_PT_PCMU || h.payload_len != MCSEC_AUDIO_FRAME ||
        m->n_samples + h.payload_len > cap) {
        m->rejected++;
        fail(m, "unexpected RTP packet (payload type %u, %zu octets)", h.payload_type,
             h.payload_len);
        return;
    }
    if (m->received > 0 && h.seq != (uint16_t)(a->last_seq + 1)) {
        m->reordered = 1;
        fail(m, "RTP sequence %u after %u: loss or reordering", h.seq, a->last_seq);
    }
    a->last_seq = h.seq;
    for (size_t i = 0; i < h.payload_len; i++)
        m->samples[m->n_samples++] = mcsec_ulaw_decode(h.payload[i]);
    m->received++;
}

static void on_rtcp(member_t *a, uint8_t *d, size_t len) {
    demo_member_t *m = &a->k->m[a->idx];
    mcsec_status_t rc = mcsec_call_receive_rtcp(a->c, d, len);
    if (rc == MCSEC_OK) {
        m->rtcp++;
        return;
    }
    m->rejected++;
    fail(m, "SRTCP packet refused: %s", mcsec_strerror(rc));
}

/* After the talker's end: all received, or nothing more for a while. */
static int finished(call_t *k, const demo_member_t *m, int idle) {
    pthread_mutex_lock(&k->lock);
    int fin = k->abort || (k->done && (m->received >= k->r->packets_sent ||
                                       (idle && demo_ms(&k->done_at) > DRAIN_MS)));
    pthread_mutex_unlock(&k->lock);
    return fin;
}

static void listen_call(member_t *a) {
    call_t *k = a->k;
    demo_member_t *m = &k->m[a->idx];
    uint8_t *buf = malloc(MCSEC_NET_DGRAM_MAX);
    m->samples = calloc(k->n_frames * MCSEC_AUDIO_FRAME, sizeof *m->samples);
    if (buf == NULL || m->samples == NULL) {
        fail(m, "out of memory");
        goto out;
    }
    while (!demo_stop) {
        mcsec_net_channel_t ch;
        size_t len;
        mcsec_status_t rc = mcsec_net_recv(a->net, 100, &ch, buf, MCSEC_NET_DGRAM_MAX, &len);
        if (rc == MCSEC_ERR_EXPIRED) {
            if (finished(k, m, 1)) break;
            continue;
        }
        if (rc == MCSEC_ERR_BAD_LENGTH) {
            m->rejected++;
            continue;
        }
        if (rc != MCSEC_OK) {
            fail(m, "cannot receive: %s", mcsec_net_last_error());
            break;
        }
        if (ch == MCSEC_NET_CONTROL) on_control(a, buf, len);
        if (ch == MCSEC_NET_MEDIA) on_media(a, buf, len);
        if (ch == MCSEC_NET_RTCP) on_rtcp(a, buf, len);
        if (finished(k, m, 0)) break;
    }
out:
    free(buf);
}

/* --- Threads ----------------------------------------------------------------------------- */

static int open_member(member_t *a) {
    call_t *k = a->k;
    demo_member_t *m = &k->m[a->idx];
    mcsec_net_config_t ncfg = {.address = k->maddr, .port = k->port, .group_uri = k->group};
    mcsec_call_config_t ccfg = {.group_uri = k->group,
                                .suite = k->o->suite,
                                .media_address = k->maddr,
                                .media_port = (uint16_t)(k->port + 2)};
    mcsec_status_t rc = mcsec_handset_set_members(m->h, k->group, k->uris, k->n);
    if (rc != MCSEC_OK) {
        fail(m, "cannot set the member list: %s", mcsec_strerror(rc));
        return 0;
    }
    if ((rc = mcsec_net_open(&a->net, &ncfg)) != MCSEC_OK) {
        fail(m, "cannot open the sockets on %s:%u: %s", k->maddr, k->port, mcsec_net_last_error());
        return 0;
    }
    if ((rc = mcsec_call_new(&a->c, m->h, &ccfg)) != MCSEC_OK) {
        fail(m, "cannot set up the call: %s", mcsec_strerror(rc));
        return 0;
    }
    return 1;
}

/* Everyone's sockets are open before anyone talks. */
static int wait_go(call_t *k, int ok) {
    pthread_mutex_lock(&k->lock);
    k->ready++;
    if (!ok) k->abort = 1;
    pthread_cond_broadcast(&k->cond);
    while (!k->go && !k->abort)
        pthread_cond_wait(&k->cond, &k->lock);
    int go = !k->abort;
    pthread_mutex_unlock(&k->lock);
    return go;
}

static void *member_main(void *arg) {
    member_t *a = arg;
    if (wait_go(a->k, open_member(a))) {
        if (a->idx == 0)
            talk(a);
        else
            listen_call(a);
    }
    mcsec_call_free(a->c);
    mcsec_net_close(a->net);
    a->c = NULL;
    a->net = NULL;
    return NULL;
}

/* Waits for every thread to be ready, then starts (or aborts) the call. */
static void start_call(call_t *k) {
    struct timespec until;
    pthread_mutex_lock(&k->lock);
    while (k->ready < k->n && !k->abort && !demo_stop) {
        deadline_in(&until, 100);
        pthread_cond_timedwait(&k->cond, &k->lock, &until);
    }
    if (demo_stop) k->abort = 1;
    k->go = !k->abort;
    pthread_cond_broadcast(&k->cond);
    pthread_mutex_unlock(&k->lock);
}

/* A random group 239.255.x.y and an even port in 20000..59998. */
static int pick_address(call_t *k) {
    uint8_t r[4];
    if (mcsec_random_bytes(r, sizeof r) != MCSEC_OK) return 0;
    snprintf(k->maddr, sizeof k->maddr, "239.255.%u.%u", (unsigned)r[0], 1u + r[1] % 254u);
    k->port = (uint16_t)(20000 + 2 * (((unsigned)r[2] << 8 | r[3]) % 20000));
    return 1;
}

static int run_threads(call_t *k) {
    member_t *a = calloc(k->n, sizeof *a);
    pthread_t *t = calloc(k->n, sizeof *t);
    size_t started = 0;
    int ret = CLI_FAIL;
    if (a == NULL || t == NULL) {
        cli_error(DEMO_CMD, "out of memory");
        goto out;
    }
    for (; started < k->n; started++) {
        a[started].k = k;
        a[started].idx = started;
        if (pthread_create(&t[started], NULL, member_main, &a[started]) != 0) {
            cli_error(DEMO_CMD, "cannot start a thread for %s", k->m[started].uri);
            pthread_mutex_lock(&k->lock);
            k->abort = 1;
            pthread_cond_broadcast(&k->cond);
            pthread_mutex_unlock(&k->lock);
            break;
        }
    }
    if (started == k->n) start_call(k);
    for (size_t i = 0; i < started; i++)
        pthread_join(t[i], NULL);
    ret = started == k->n && !k->abort && !demo_stop ? CLI_OK : CLI_FAIL;
out:
    free(a);
    free(t);
    return ret;
}

/* Did every listener get exactly the decoded audio, in order? */
static void check_audio(call_t *k, const int16_t *expected, size_t n_expected) {
    double setup = 0;
    for (size_t i = 1; i < k->n; i++) {
        demo_member_t *m = &k->m[i];
        m->match = m->joined && !m->reordered && m->n_samples == n_expected &&
                   memcmp(m->samples, expected, n_expected * sizeof *expected) == 0;
        if (!m->joined) fail(m, "never joined the call");
        if (!m->match)
            fail(m, "received %zu of %zu samples, not the audio that was sent", m->n_samples,
                 n_expected);
        if (m->joined && m->join_ms > setup) setup = m->join_ms;
    }
    k->r->setup_ms = setup;
}

static int call_init(call_t *k, const demo_opts_t *o, const char *group, demo_member_t *m, size_t n,
                     demo_call_result_t *r) {
    memset(k, 0, sizeof *k);
    k->o = o;
    k->group = group;
    k->m = m;
    k->n = n;
    k->r = r;
    pthread_mutex_init(&k->lock, NULL);
    pthread_mutex_init(&k->pcap_lock, NULL);
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&k->cond, &attr);
    pthread_condattr_destroy(&attr);
    if (!pick_address(k)) {
        cli_error(DEMO_CMD, "the random generator failed");
        return CLI_FAIL;
    }
    snprintf(r->address, sizeof r->address, "%s:%u", k->maddr, k->port);
    k->pcap = o->capture;
    return CLI_OK;
}

static void call_finish(call_t *k) {
    pthread_cond_destroy(&k->cond);
    pthread_mutex_destroy(&k->lock);
    pthread_mutex_destroy(&k->pcap_lock);
}

int demo_call(const demo_opts_t *o, const char *group, demo_member_t *m, size_t n,
              const int16_t *audio, size_t n_samples, demo_call_result_t *r) {
    call_t k;
    const char **uris = calloc(n, sizeof *uris);
    uint8_t *ulaw = malloc(n_samples);
    int16_t *expected = calloc(n_samples, sizeof *expected);
    int ret = CLI_FAIL;
    memset(r, 0, sizeof *r);
    if (uris == NULL || ulaw == NULL || expected == NULL) {
        cli_error(DEMO_CMD, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < n; i++)
        uris[i] = m[i].uri;
    for (size_t i = 0; i < n_samples; i++) {
        ulaw[i] = mcsec_ulaw_encode(audio[i]);
        expected[i] = mcsec_ulaw_decode(ulaw[i]);
    }
    if (call_init(&k, o, group, m, n, r) != CLI_OK) goto out;
    k.uris = uris;
    k.ulaw = ulaw;
    k.n_frames = n_samples / MCSEC_AUDIO_FRAME;
    demo_progress(o, "call on %s (media %u, RTCP %u) on the loopback, %s: %s talks, %zu listen",
                  r->address, k.port + 2, k.port + 3, mcsec_srtp_suite_name(o->suite), m[0].name,
                  n - 1);
    ret = run_threads(&k);
    check_audio(&k, expected, k.n_frames * MCSEC_AUDIO_FRAME);
    call_finish(&k);
    if (m[0].why[0] != 0) cli_error(DEMO_CMD, "the talker %s: %s", m[0].uri, m[0].why);
out:
    free(uris);
    free(ulaw);
    free(expected);
    return ret;
}
