/* mcsec talk: a group call from the command line. With --send FILE.wav or --tone this handset
 * takes the floor: a fresh GSK under the group's current GMK, signed by us, announced on the
 * call channel (repeated every 500 ms for late joiners), then the audio as G.711 PCMU in SRTP,
 * 20 ms per packet in real time, and an RTCP sender report every second. With --receive it
 * listens: it joins whoever talks (verifying them), decodes the audio and writes it to a WAV
 * file when the talk stops. GMK deliveries from an ad-hoc leader are stored as they arrive. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "mcsec/secmem.h"

#define CMD "talk"
#define MAX_MEMBERS 1024
#define MAX_SECONDS 600
#define TONE_HZ 440
#define ANNOUNCE_MS 500
#define RTCP_MS 1000
#define IDLE_END_MS 1500 /* a listener ends this long after the last packet */

static const char *const talk_help =
    "usage: mcsec talk --store DIR --group URI (--send FILE.wav | --tone) [--receive OUT.wav]\n"
    "                  [--seconds S] [--wait S] [--suite gcm|aes-cm] [--member URI ...]\n"
    "                  [--passphrase-file FILE] [transport options]\n"
    "       mcsec talk --store DIR --group URI --receive OUT.wav [--wait S] ...\n\n"
    "Talks in a group call, listens, or both (talk first, then listen). The group's current\n"
    "GMK (from a Group Manager or an ad-hoc leader) keys the call; every talker is verified.\n"
    "  --send FILE.wav         talk: a WAV file (PCM, 16-bit, mono, 8000 Hz)\n"
    "  --tone                  talk: a 440 Hz tone for --seconds (default 3)\n"
    "  --receive OUT.wav       listen and write what was heard (decoded) to OUT.wav\n"
    "  --seconds S             tone length, or the most of a WAV to send (1-600)\n"
    "  --wait S                listen at most this long for a talker (default 30)\n"
    "  --suite gcm|aes-cm      SRTP suite to talk with (default gcm: AEAD_AES_128_GCM)\n"
    "  --member URI            accept talk only from these members (repeat; default: anyone\n"
    "                          holding the group's GMK whose identity the KMS vouches for)\n";

typedef struct {
    const char *store, *group, *send, *receive, *pass, *seconds_s, *wait_s, *suite_s;
    const char **members;
    size_t n_members;
    int tone;
    cli_net_opts_t net;
} talk_args_t;

typedef struct {
    mcsec_call_t *call;
    mcsec_net_t *net;
    uint8_t *buf;
    /* listening */
    int16_t *heard;
    size_t n_heard, cap_heard;
    uint32_t received, rejected;
    int have_seq;
    uint16_t next_seq;
    uint64_t last_packet_ms;
    int lost_floor;
} talk_state_t;

static uint64_t mono_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int parse_args(int argc, char *argv[], talk_args_t *a) {
    for (int i = 1; i < argc; i++) {
        int m;
        const char *member = NULL;
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(talk_help, stdout);
            fputs(cli_net_help(), stdout);
            return -1;
        }
        if (strcmp(argv[i], "--tone") == 0) {
            a->tone = 1;
            continue;
        }
        if ((m = cli_option(CMD, argc, argv, &i, "--member", &member, "sip:bob@example.org"))) {
            if (m < 0) return CLI_USAGE;
            if (a->n_members == MAX_MEMBERS) {
                cli_error(CMD, "at most %d --member options", MAX_MEMBERS);
                return CLI_USAGE;
            }
            a->members[a->n_members++] = member;
            continue;
        }
        if ((m = cli_net_option(CMD, argc, argv, &i, &a->net)) ||
            (m = cli_option(CMD, argc, argv, &i, "--store", &a->store, "~/.mcsec")) ||
            (m = cli_option(CMD, argc, argv, &i, "--group", &a->group, "sip:fire-3@example.org")) ||
            (m = cli_option(CMD, argc, argv, &i, "--send", &a->send, "speech.wav")) ||
            (m = cli_option(CMD, argc, argv, &i, "--receive", &a->receive, "heard.wav")) ||
            (m = cli_option(CMD, argc, argv, &i, "--seconds", &a->seconds_s, "3")) ||
            (m = cli_option(CMD, argc, argv, &i, "--wait", &a->wait_s, "30")) ||
            (m = cli_option(CMD, argc, argv, &i, "--suite", &a->suite_s, "gcm")) ||
            (m = cli_option(CMD, argc, argv, &i, "--passphrase-file", &a->pass, "pass.txt"))) {
            if (m < 0) return CLI_USAGE;
            continue;
        }
        return cli_bad_arg(CMD, CMD, argv[i]);
    }
    return CLI_OK;
}

/* --- Listening ------------------------------------------------------------------------------ */

static int heard_append(talk_state_t *s, const int16_t *v, size_t n) {
    if (s->n_heard + n > (size_t)MAX_SECONDS * MCSEC_AUDIO_RATE) return 0;
    if (s->n_heard + n > s->cap_heard) {
        size_t cap = s->cap_heard ? s->cap_heard * 2 : MCSEC_AUDIO_RATE * 4;
        while (cap < s->n_heard + n)
            cap *= 2;
        int16_t *p = realloc(s->heard, cap * sizeof *p);
        if (p == NULL) return 0;
        s->heard = p;
        s->cap_heard = cap;
    }
    memcpy(s->heard + s->n_heard, v, n * sizeof *v);
    s->n_heard += n;
    return 1;
}

/* One PCMU payload into the heard samples; a gap in the sequence becomes silence. */
static void heard_packet(talk_state_t *s, const mcsec_rtp_header_t *h) {
    int16_t pcm[MCSEC_RTP_MAX_PACKET];
    if (h->payload_type != MCSEC_RTP_PT_PCMU) return;
    if (s->have_seq && h->seq != s->next_seq) {
        uint16_t gap = (uint16_t)(h->seq - s->next_seq);
        if (gap > 1000) return; /* old or reordered: drop */
        int16_t silence[MCSEC_AUDIO_FRAME] = {0};
        for (uint16_t k = 0; k < gap; k++)
            (void)heard_append(s, silence, MCSEC_AUDIO_FRAME);
    }
    s->have_seq = 1;
    s->next_seq = (uint16_t)(h->seq + 1);
    for (size_t i = 0; i < h->payload_len; i++)
        pcm[i] = mcsec_ulaw_decode(h->payload[i]);
    (void)heard_append(s, pcm, h->payload_len);
}

static void print_event(const mcsec_call_event_t *ev) {
    switch (ev->kind) {
    case MCSEC_CALL_EV_JOINED:
        printf("joined: %s talks (GSK-ID %08" PRIx32 ", SSRC %08" PRIx32 ", %s)\n", ev->talker_uri,
               ev->gsk_id, ev->ssrc, mcsec_srtp_suite_name(ev->suite));
        break;
    case MCSEC_CALL_EV_GMK:
        printf("stored GMK-ID %08" PRIx32 "%s\n", ev->gmk_id, ev->is_new_gmk ? "" : " (again)");
        break;
    case MCSEC_CALL_EV_REFUSED:
        printf("refused a call datagram%s%s at the %s check: %s\n", ev->talker_uri[0] ? " from " : "",
               ev->talker_uri, mcsec_profile_check_name(ev->check), ev->why);
        break;
    default:
        break;
    }
    fflush(stdout);
}

/* Handles every datagram that arrives within timeout_ms. */
static void pump(talk_state_t *s, unsigned timeout_ms) {
    uint64_t end = mono_ms() + timeout_ms;
    for (;;) {
        uint64_t now = mono_ms();
        unsigned wait = now >= end ? 0 : (unsigned)(end - now);
        mcsec_net_channel_t ch;
        size_t len;
        mcsec_status_t rc = mcsec_net_recv(s->net, wait, &ch, s->buf, MCSEC_NET_DGRAM_MAX, &len);
        if (rc == MCSEC_ERR_EXPIRED || rc == MCSEC_ERR_IO) return;
        if (rc != MCSEC_OK) continue;
        if (ch == MCSEC_NET_CONTROL) {
            mcsec_call_event_t ev;
            int talking = mcsec_call_is_talking(s->call);
            if (mcsec_call_handle(s->call, s->buf, len, &ev) != MCSEC_OK) {
                s->rejected++;
                continue;
            }
            if (ev.kind == MCSEC_CALL_EV_REFUSED) s->rejected++;
            if (ev.kind == MCSEC_CALL_EV_JOINED) s->have_seq = 0;
            if (talking && !mcsec_call_is_talking(s->call)) s->lost_floor = 1;
            print_event(&ev);
        } else if (!mcsec_call_is_talking(s->call)) {
            mcsec_rtp_header_t h;
            mcsec_status_t mr = ch == MCSEC_NET_MEDIA
                                    ? mcsec_call_receive_media(s->call, s->buf, len, &h)
                                    : mcsec_call_receive_rtcp(s->call, s->buf, len);
            if (mr != MCSEC_OK) {
                s->rejected++;
            } else if (ch == MCSEC_NET_MEDIA) {
                s->received++;
                s->last_packet_ms = mono_ms();
                heard_packet(s, &h);
            }
        }
    }
}

static int listen_until_quiet(talk_state_t *s, uint64_t wait_s) {
    uint64_t deadline = mono_ms() + wait_s * 1000;
    while (mono_ms() < deadline) {
        pump(s, 100);
        if (s->received > 0 && mono_ms() - s->last_packet_ms > IDLE_END_MS) break;
    }
    return s->received > 0;
}

/* --- Talking --------------------------------------------------------------------------------- */

static int send_datagram(talk_state_t *s, mcsec_net_channel_t ch, const uint8_t *d, size_t len) {
    if (mcsec_net_send(s->net, ch, d, len) == MCSEC_OK) return 1;
    cli_error(CMD, "%s", mcsec_net_last_error());
    return 0;
}

/* Sends the samples as 20 ms PCMU packets in real time; CLI_OK, or CLI_FAIL if another talker
 * took the floor or a send failed. */
static int talk(talk_state_t *s, const int16_t *pcm, size_t n, uint32_t *sent) {
    uint8_t out[MCSEC_RTP_MAX_PACKET + MCSEC_SRTP_MAX_OVERHEAD], frame[MCSEC_AUDIO_FRAME];
    size_t len;
    uint64_t start = mono_ms(), last_announce = start, last_rtcp = start;
    *sent = 0;
    for (size_t off = 0, k = 0; off < n; off += MCSEC_AUDIO_FRAME, k++) {
        size_t m = n - off < MCSEC_AUDIO_FRAME ? n - off : MCSEC_AUDIO_FRAME;
        for (size_t i = 0; i < m; i++)
            frame[i] = mcsec_ulaw_encode(pcm[off + i]);
        if (mcsec_call_send_media(s->call, MCSEC_RTP_PT_PCMU, frame, m, (uint32_t)m, k == 0, out,
                                  sizeof out, &len) != MCSEC_OK ||
            !send_datagram(s, MCSEC_NET_MEDIA, out, len))
            return CLI_FAIL;
        (*sent)++;
        uint64_t now = mono_ms();
        if (now - last_announce >= ANNOUNCE_MS &&
            mcsec_call_announcement(s->call, s->buf, MCSEC_NET_DGRAM_MAX, &len) == MCSEC_OK) {
            if (!send_datagram(s, MCSEC_NET_CONTROL, s->buf, len)) return CLI_FAIL;
            last_announce = now;
        }
        if (now - last_rtcp >= RTCP_MS && mcsec_call_send_rtcp(s->call, out, sizeof out, &len) ==
                                              MCSEC_OK) {
            if (!send_datagram(s, MCSEC_NET_RTCP, out, len)) return CLI_FAIL;
            last_rtcp = now;
        }
        uint64_t due = start + (k + 1) * 20;
        now = mono_ms();
        pump(s, due > now ? (unsigned)(due - now) : 0);
        if (s->lost_floor) {
            cli_error(CMD, "another member took the floor after %" PRIu32 " packets; stopped "
                           "talking",
                      *sent);
            return CLI_FAIL;
        }
    }
    return CLI_OK;
}

static int load_audio(const talk_args_t *a, uint64_t seconds, int16_t **pcm, size_t *n) {
    char why[256];
    if (a->tone) {
        *n = (size_t)seconds * MCSEC_AUDIO_RATE;
        if ((*pcm = malloc(*n * sizeof **pcm)) == NULL) {
            cli_error(CMD, "out of memory");
            return CLI_FAIL;
        }
        mcsec_tone(*pcm, *n, TONE_HZ);
        return CLI_OK;
    }
    mcsec_status_t rc = mcsec_wav_read(a->send, (size_t)seconds * MCSEC_AUDIO_RATE, pcm, n, why,
                                       sizeof why);
    if (rc == MCSEC_ERR_BAD_LENGTH && a->seconds_s == NULL) {
        cli_error(CMD, "--send %s: %s (at most %d s; cut it or give --seconds)", a->send, why,
                  MAX_SECONDS);
        return CLI_FAIL;
    }
    if (rc != MCSEC_OK) {
        cli_error(CMD, "--send %s: %s", a->send, why);
        return CLI_FAIL;
    }
    return CLI_OK;
}

static int check_args(const talk_args_t *a, uint64_t *seconds, uint64_t *wait_s,
                      mcsec_srtp_suite_t *suite) {
    if (a->store == NULL || a->group == NULL || a->group[0] == 0 ||
        (a->send == NULL && !a->tone && a->receive == NULL)) {
        cli_error(CMD, "--store, --group and one of --send FILE.wav, --tone or --receive OUT.wav "
                       "are required");
        return CLI_USAGE;
    }
    if (a->send != NULL && a->tone) {
        cli_error(CMD, "give --send FILE.wav or --tone, not both");
        return CLI_USAGE;
    }
    *seconds = a->send != NULL ? MAX_SECONDS : 3;
    if (a->seconds_s != NULL && (!cli_parse_u64(a->seconds_s, seconds) || *seconds == 0 ||
                                 *seconds > MAX_SECONDS)) {
        cli_error(CMD, "--seconds '%s' is not a number from 1 to %d", a->seconds_s, MAX_SECONDS);
        return CLI_USAGE;
    }
    *wait_s = 30;
    if (a->wait_s != NULL && (!cli_parse_u64(a->wait_s, wait_s) || *wait_s == 0 ||
                              *wait_s > 86400)) {
        cli_error(CMD, "--wait '%s' is not a number of seconds from 1 to 86400", a->wait_s);
        return CLI_USAGE;
    }
    *suite = MCSEC_SRTP_AEAD_AES_128_GCM;
    if (a->suite_s != NULL && !mcsec_srtp_suite_parse(a->suite_s, suite)) {
        cli_error(CMD, "--suite '%s' is not gcm or aes-cm", a->suite_s);
        return CLI_USAGE;
    }
    return CLI_OK;
}

static void talk_failed(mcsec_status_t rc, const char *group) {
    if (rc == MCSEC_ERR_UNKNOWN_KEY || rc == MCSEC_ERR_EXPIRED)
        cli_error(CMD, "no valid GMK for %s in the keystore (%s); register with its Group "
                       "Manager or join its ad-hoc leader first",
                  group, mcsec_strerror(rc));
    else if (rc == MCSEC_ERR_KEY_PERIOD)
        cli_error(CMD, "no key set for the current key period; run `mcsec fetch-keys`");
    else
        cli_error(CMD, "cannot start talking: %s", mcsec_strerror(rc));
}

static int run(const talk_args_t *a, talk_state_t *s, mcsec_handset_t *h, uint64_t seconds,
               uint64_t wait_s) {
    int16_t *pcm = NULL;
    size_t n = 0, len;
    uint32_t sent = 0;
    int ret = CLI_FAIL;
    if ((a->send != NULL || a->tone) && (ret = load_audio(a, seconds, &pcm, &n)) != CLI_OK)
        return ret;
    printf("%s on %s as %s\n", a->send != NULL || a->tone ? "talking" : "listening",
           mcsec_net_describe(s->net), mcsec_handset_uri(h));
    fflush(stdout); /* the line says our sockets are open: scripts wait for it */
    if (pcm != NULL) {
        ret = CLI_FAIL;
        mcsec_status_t rc = mcsec_call_talk(s->call, s->buf, MCSEC_NET_DGRAM_MAX, &len);
        if (rc != MCSEC_OK) {
            talk_failed(rc, a->group);
            goto out;
        }
        if (!send_datagram(s, MCSEC_NET_CONTROL, s->buf, len)) goto out;
        ret = talk(s, pcm, n, &sent);
        mcsec_call_release(s->call);
        if (ret != CLI_OK) goto out;
        printf("sent %" PRIu32 " packets (%.2f s of audio)\n", sent, (double)n / MCSEC_AUDIO_RATE);
    }
    ret = CLI_OK;
    if (a->receive == NULL) goto out;
    ret = CLI_FAIL;
    if (!listen_until_quiet(s, wait_s)) {
        cli_error(CMD, "nobody talked within %" PRIu64 " s (%" PRIu32 " datagrams rejected)",
                  wait_s, s->rejected);
        goto out;
    }
    if (mcsec_wav_write(a->receive, s->heard, s->n_heard) != MCSEC_OK) {
        cli_error(CMD, "cannot write %s", a->receive);
        goto out;
    }
    printf("received %" PRIu32 " packets, rejected %" PRIu32 "; wrote %s (%.2f s)\n", s->received,
           s->rejected, a->receive, (double)s->n_heard / MCSEC_AUDIO_RATE);
    ret = CLI_OK;
out:
    free(pcm);
    return ret;
}

int cmd_talk(int argc, char *argv[]) {
    talk_args_t a;
    talk_state_t s;
    uint64_t seconds, wait_s;
    mcsec_srtp_suite_t suite;
    mcsec_keystore_t *ks = NULL;
    mcsec_handset_t *h = NULL;
    int ret;
    memset(&a, 0, sizeof a);
    memset(&s, 0, sizeof s);
    if ((a.members = calloc(MAX_MEMBERS, sizeof *a.members)) == NULL ||
        (s.buf = malloc(MCSEC_NET_DGRAM_MAX)) == NULL) {
        cli_error(CMD, "out of memory");
        ret = CLI_FAIL;
        goto out;
    }
    if ((ret = parse_args(argc, argv, &a)) != CLI_OK) {
        if (ret < 0) ret = CLI_OK; /* --help */
        goto out;
    }
    if ((ret = check_args(&a, &seconds, &wait_s, &suite)) != CLI_OK) goto out;
    if ((ret = cli_net_open(CMD, &a.net, a.group, &s.net)) != CLI_OK) goto out;
    if ((ret = cli_store_open(CMD, a.store, a.pass, 0, &ks)) != CLI_OK) goto out;
    ret = CLI_FAIL;
    mcsec_call_config_t cfg = {.group_uri = a.group, .suite = suite};
    mcsec_status_t rc = mcsec_handset_open(&h, ks);
    if (rc == MCSEC_OK && a.n_members > 0)
        rc = mcsec_handset_set_members(h, a.group, a.members, a.n_members);
    if (rc == MCSEC_OK) rc = mcsec_call_new(&s.call, h, &cfg);
    if (rc != MCSEC_OK) {
        cli_error(CMD, "cannot use the keystore: %s (provision it first)", mcsec_strerror(rc));
        goto out;
    }
    ret = run(&a, &s, h, seconds, wait_s);
out:
    mcsec_call_free(s.call);
    mcsec_handset_close(h);
    mcsec_keystore_close(ks);
    mcsec_net_close(s.net);
    free(s.heard);
    free(s.buf);
    free(a.members);
    return ret;
}
