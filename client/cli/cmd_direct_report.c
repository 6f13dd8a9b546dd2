/* mcsec direct demo: the summary, as a table or one JSON object. */
#include <inttypes.h>
#include <stdio.h>

#include "direct_cli.h"

static uint64_t total(const dd_run_t *r, int what) {
    uint64_t n = 0;
    for (int i = 0; i < 2; i++)
        n += what == 0 ? r->ue[i].sent : what == 1 ? r->ue[i].received
             : what == 2 ? r->ue[i].refused : r->ue[i].bad_content;
    return n;
}

void dd_report_text(const dd_run_t *r, int ok) {
    printf("\nmcsec direct demo, mode %s: %s\n\n", dd_mode_name(r->mode), ok ? "OK" : "FAILED");
    printf("  %-13s %10s  %s\n", "step", "ms", "result");
    for (size_t i = 0; i < r->n_steps; i++)
        printf("  %-13s %10.2f  %s\n", r->steps[i].name, r->steps[i].ms,
               r->steps[i].ok ? r->steps[i].detail : "FAILED");
    printf("\n  datagrams sent %" PRIu64 ", data packets received intact %" PRIu64
           ", refused %" PRIu64 ", damaged %" PRIu64 "\n",
           total(r, 0), total(r, 1), total(r, 2), total(r, 3));
    printf("  total %.2f s\n", demo_ms(&r->t0) / 1000);
    if (!ok && r->failure[0]) printf("  failure: %s\n", r->failure);
}

void dd_report_json(const dd_run_t *r, int ok) {
    cli_json_t j;
    cli_json_start(&j, stdout);
    cli_json_bool(&j, "ok", ok);
    cli_json_str(&j, "mode", dd_mode_name(r->mode));
    cli_json_str(&j, "attack", r->attack != NULL ? r->attack : "none");
    cli_json_open(&j, "steps", '[');
    for (size_t i = 0; i < r->n_steps; i++) {
        cli_json_open(&j, NULL, '{');
        cli_json_str(&j, "name", r->steps[i].name);
        cli_json_bool(&j, "ok", r->steps[i].ok);
        cli_json_u64(&j, "us", (uint64_t)(r->steps[i].ms * 1000.0));
        cli_json_str(&j, "detail", r->steps[i].detail);
        cli_json_close(&j, '}');
    }
    cli_json_close(&j, ']');
    cli_json_open(&j, "packets", '{');
    cli_json_u64(&j, "per_step_each_way", r->packets);
    cli_json_u64(&j, "sent", total(r, 0));
    cli_json_u64(&j, "received", total(r, 1));
    cli_json_u64(&j, "refused", total(r, 2));
    cli_json_u64(&j, "damaged", total(r, 3));
    cli_json_close(&j, '}');
    if (r->ue[0].link != NULL) {
        cli_json_open(&j, "link", '{');
        cli_json_u64(&j, "kd_id", mcsec_direct_kd_id(r->ue[0].link));
        cli_json_u64(&j, "kd_sess_id", mcsec_direct_kd_sess_id(r->ue[0].link));
        cli_json_str(&j, "state_alice", mcsec_direct_state_name(mcsec_direct_state(r->ue[0].link)));
        cli_json_str(&j, "state_bob", r->ue[1].link != NULL
                                          ? mcsec_direct_state_name(mcsec_direct_state(r->ue[1].link))
                                          : "none");
        cli_json_close(&j, '}');
    }
    cli_json_u64(&j, "total_us", (uint64_t)(demo_ms(&r->t0) * 1000.0));
    if (!ok) cli_json_str(&j, "failure", r->failure);
    cli_json_close(&j, '}');
}
