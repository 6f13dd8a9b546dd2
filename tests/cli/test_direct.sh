#!/bin/sh
# mcsec direct demo end to end: two handsets on the loopback establish a direct link, exchange
# data, rekey (fresh nonces, fresh KD), release and resume by connection identity. The JSON
# summary is parsed and checked step by step (offline), the text one (sdes); then the failing
# cases: a bidding-down attack (exit 1, one line naming it), usage errors (exit 2); the working
# directory gone after every run. With a second argument "network": the network mode alone (it
# starts two mcsec-kms network entities beside mcsec, and takes longer).
# usage: test_direct.sh path/to/mcsec [network]
MCSEC=$1
. "$(dirname "$0")/lib.sh"
unset MCSEC_PASSPHRASE # the demo makes its own
W=$TMP/work
mkdir "$W"
export TMPDIR="$W"

# json_check MODE: the last run's stdout is one JSON object with every step ok, in order.
json_check() {
    python3 - "$TMP/out" "$1" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
want = ["keys", "establish", "data", "rekey-nonces", "data", "rekey-kd", "data", "release",
        "resume", "data", "release"]
assert d["ok"] is True, d
assert d["mode"] == sys.argv[2], d["mode"]
assert [s["name"] for s in d["steps"]] == want, [s["name"] for s in d["steps"]]
assert all(s["ok"] and s["us"] > 0 for s in d["steps"]), d["steps"]
p = d["packets"]
assert p["received"] == 4 * 2 * p["per_step_each_way"], p
assert p["refused"] == 0 and p["damaged"] == 0, p
assert "resumed by connection id" in d["steps"][8]["detail"]
assert "(new KD)" in d["steps"][5]["detail"] and "(same KD)" in d["steps"][3]["detail"]
assert d["link"]["state_alice"] == "idle" and d["link"]["state_bob"] == "idle"
PY
}
gone() { check "$1: the working directory is removed ($(ls "$W"))" test -z "$(ls -A "$W")"; }

if [ "${2:-}" = network ]; then
    # network mode alone (it starts two mcsec-kms daemons: a separate, longer test)
    run direct demo --mode network --packets 5 --json
    check "network: exit 0 (rc=$rc: $(tail -2 "$TMP/err"))" test $rc -eq 0
    check "network: JSON summary" json_check network
    if pgrep -f "$W/" >/dev/null; then fail "network: daemons left: $(pgrep -af "$W/")"; else pass; fi
    gone network
    finish
    exit
fi

run direct demo --mode offline --packets 20 --json
check "offline: exit 0 (rc=$rc: $(tail -2 "$TMP/err"))" test $rc -eq 0
check "offline: JSON summary" json_check offline
gone offline

# sdes, text summary
run direct demo --mode sdes --packets 5
check "sdes: exit 0 (rc=$rc: $(tail -2 "$TMP/err"))" test $rc -eq 0
out_has "mcsec direct demo, mode sdes: OK"
out_has "resumed by connection id"
out_has "(new KD)"
out_has "refused 0, damaged 0"
gone sdes

# the failing case: a man in the middle strips AES-CTR from the offer; the link must not come up
run direct demo --attack bidding-down --json
check "bidding down: exit 1 (rc=$rc)" test $rc -eq 1
check "bidding down: one error line naming it" \
    sh -c "tail -1 '$TMP/err' | grep -q '^mcsec direct demo: .*bidding down'"
check "bidding down: JSON ok false, establish failed" python3 -c "
import json; d = json.load(open('$TMP/out'))
assert d['ok'] is False and d['steps'][-1]['name'] == 'establish' and not d['steps'][-1]['ok']
assert d['packets']['refused'] == 1 and d['packets']['received'] == 0"
gone "bidding down"

# usage errors: exit 2, one line
expect_err 2 "a subcommand is needed" direct
expect_err 2 "unknown subcommand 'talk'" direct talk
expect_err 2 "--mode 'fast' is not offline, network or sdes" direct demo --mode fast
expect_err 2 "--packets '0' is not a number" direct demo --packets 0
expect_err 2 "--attack 'all' is not bidding-down" direct demo --attack all
expect_err 2 "unknown option" direct demo --bogus
run direct demo --help
check "help: exit 0" test $rc -eq 0
out_has "usage: mcsec direct demo"
finish
