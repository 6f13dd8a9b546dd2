/* mcsec demo: the summary table, or with --json one object on stdout. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "demo.h"

static unsigned count_matched(const demo_member_t *m, size_t n) {
    unsigned k = 0;
    for (size_t i = 1; i < n; i++)
        k += m[i].match != 0;
    return k;
}

static void member_rows(const demo_member_t *m, size_t n) {
    printf("  %-32s %-8s  %8s  %8s  %12s  %s\n", "member", "role", "received", "rejected",
           "joined after", "audio");
    printf("  %-32s %-8s  %8s  %8s  %12s  %s\n", m[0].uri, "talker", "-", "-", "-", "-");
    for (size_t i = 1; i < n; i++) {
        char joined[32] = "never";
        if (m[i].joined) snprintf(joined, sizeof joined, "%.1f ms", m[i].join_ms);
        printf("  %-32s %-8s  %8llu  %8llu  %12s  %s\n", m[i].uri, "listener",
               (unsigned long long)m[i].received, (unsigned long long)m[i].rejected, joined,
               m[i].match ? "match" : "MISMATCH");
    }
}

void demo_report_text(const demo_opts_t *o, const demo_summary_t *s, const demo_member_t *m,
                      size_t n) {
    const demo_call_result_t *c = &s->call;
    if (!s->reached_call) {
        printf("\nFAILED: the demo stopped before the call (%.1f s); the error is above\n",
               s->elapsed_ms / 1000);
        fflush(stdout);
        return;
    }
    printf("\nsummary: %zu members, %s, %.1f s of %s\n", n, mcsec_srtp_suite_name(o->suite),
           s->audio_seconds, s->audio);
    printf("  %-22s %9.0f ms  %zu handsets from sealed bundles\n", "provisioning",
           s->provisioning_ms, n);
    printf("  %-22s %9.0f ms  registration to GMK stored and acknowledged, all handsets\n",
           "GMK distribution", s->gmk_ms);
    printf("  %-22s %9.1f ms  talker's first notification to the last listener joined\n",
           "call set-up latency", c->setup_ms);
    printf("  %-22s %9llu     SRTP, PCMU 20 ms (plus %llu SRTCP, %llu notifications)\n\n",
           "packets sent", (unsigned long long)c->packets_sent, (unsigned long long)c->rtcp_sent,
           (unsigned long long)c->notifications);
    member_rows(m, n);
    printf("\n%s: %u of %zu listeners decoded exactly the audio that was sent (%.1f s in all)\n",
           s->ok ? "OK" : "FAILED", count_matched(m, n), n - 1, s->elapsed_ms / 1000);
    fflush(stdout);
}

static uint64_t ms(double v) {
    return v > 0 ? (uint64_t)(v + 0.5) : 0;
}

void demo_report_json(const demo_opts_t *o, const demo_summary_t *s, const demo_member_t *m,
                      size_t n) {
    cli_json_t j;
    cli_json_start(&j, stdout);
    cli_json_bool(&j, "ok", s->ok);
    cli_json_u64(&j, "members", n);
    cli_json_str(&j, "suite", mcsec_srtp_suite_name(o->suite));
    cli_json_u64(&j, "provisioning_ms", ms(s->provisioning_ms));
    cli_json_u64(&j, "gmk_distribution_ms", ms(s->gmk_ms));
    cli_json_u64(&j, "call_setup_ms", ms(s->call.setup_ms));
    cli_json_u64(&j, "call_setup_us", ms(s->call.setup_ms * 1000));
    cli_json_str(&j, "talker", m[0].uri);
    cli_json_u64(&j, "packets_sent", s->call.packets_sent);
    cli_json_open(&j, "packets_received", '{');
    for (size_t i = 1; i < n; i++)
        cli_json_u64(&j, m[i].uri, m[i].received);
    cli_json_close(&j, '}');
    cli_json_open(&j, "packets_rejected", '{');
    for (size_t i = 1; i < n; i++)
        cli_json_u64(&j, m[i].uri, m[i].rejected);
    cli_json_close(&j, '}');
    cli_json_open(&j, "audio_match", '{');
    for (size_t i = 1; i < n; i++)
        cli_json_bool(&j, m[i].uri, s->reached_call && m[i].match);
    cli_json_close(&j, '}');
    cli_json_open(&j, "errors", '[');
    for (size_t i = 0; i < n; i++)
        if (m[i].why[0] != 0) {
            char line[DEMO_URI_MAX + sizeof m[i].why + 4];
            snprintf(line, sizeof line, "%s: %s", m[i].uri, m[i].why);
            cli_json_str(&j, NULL, line);
        }
    cli_json_close(&j, ']');
    uint64_t secs = (uint64_t)s->audio_seconds;
    cli_json_u64(&j, "seconds", secs + ((double)secs < s->audio_seconds));
    cli_json_u64(&j, "elapsed_ms", ms(s->elapsed_ms));
    cli_json_close(&j, '}');
    fflush(stdout);
}
