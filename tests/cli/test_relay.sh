#!/bin/sh
# mcsec relay demo end to end: the real mcsec-kms started by the demo as the PKMF, a remote UE
# given its PRUK, Direct Security Mode through a relay, data both ways, an unauthorised relay
# refused; then the text summary with --keep, usage errors, and after every run: no PKMF of
# that run left, its temporary directory gone.
# usage: test_relay.sh path/to/mcsec   (mcsec-kms and mcsec-groupmgr beside it)
MCSEC=$1
. "$(dirname "$0")/lib.sh"
unset MCSEC_PASSPHRASE # the demo makes its own

W=$TMP/work
mkdir "$W"
export TMPDIR="$W"

none_running() {
    if pgrep -f "$2" >/dev/null; then fail "$1: still running: $(pgrep -af "$2")"; else pass; fi
}
no_leftovers() {
    none_running "$1" "$W/"
    check "$1: the temporary directory is removed ($(ls "$W"))" test -z "$(ls -A "$W")"
}
json_str() { sed -n "s/.*\"$1\":\"\([^\"]*\)\".*/\1/p" "$TMP/out"; }
json_int() { sed -n "s/.*\"$1\":\([0-9][0-9]*\).*/\1/p" "$TMP/out"; }

# 1. --json: one object, ok, the same KD, 5 datagrams each way, the other relay refused.
run relay demo --json
check "relay demo --json exits 0 ($(tail -3 "$TMP/err"))" test $rc -eq 0
check "stdout is one line" test "$(wc -l <"$TMP/out")" -eq 1
out_has '"ok":true'
out_has '"kd_match":true'
out_has '"packets":{"up":5,"down":5}'
out_has '"remote_ue":"sip:remote-ue@relay-demo.example.org"'
out_has '"unauthorised_relay":{"status":26,'
check "pruk_id is 16 hex digits ($(json_str pruk_id))" \
    sh -c "echo '$(json_str pruk_id)' | grep -Eq '^[0-9a-f]{16}$'"
check "pruk_id is not zero" test "$(json_str pruk_id)" != 0000000000000000
check "kd_id is 8 hex digits" sh -c "echo '$(json_str kd_id)' | grep -Eq '^[0-9a-f]{8}$'"
for s in pkmf_setup pruk_delivery relay_link data unauthorised_relay_refused; do
    out_has "\"step\":\"$s\""
done
check "elapsed_ms is a number" test -n "$(json_int elapsed_ms)"
check "progress on stderr names the Key Request" grep -q "Key Request" "$TMP/err"
check "progress on stderr names Direct Security Mode" grep -q "Direct Security Mode complete" "$TMP/err"
no_leftovers "relay demo --json"

# 2. The text summary, with --keep: the PKMF's store and the remote UE's keystore stay, nothing
#    runs, nothing is left in the temporary area.
K=$TMP/kept
run relay demo --keep "$K"
check "relay demo --keep exits 0 ($(tail -3 "$TMP/err"))" test $rc -eq 0
out_has "relay demo: OK"
out_has "same KD on both sides: yes"
out_has "5 datagrams up, 5 down"
out_has "refused by the PKMF (not authorised)"
check "nothing on stderr" test ! -s "$TMP/err"
check "--keep keeps the PKMF store" test -f "$K/pkmf/kms.db"
check "--keep keeps the remote UE's PRUK record" test -n "$(ls "$K"/remote-ue.keystore/prose/ 2>/dev/null)"
none_running "--keep" "$K/"
no_leftovers "relay demo --keep"
expect_err 1 "does not exist" relay demo --keep "$K"

# 4. Usage errors.
expect_err 2 "a subcommand is needed" relay
expect_err 2 "unknown subcommand 'show'" relay show
expect_err 2 "--bogus" relay demo --bogus
expect_err 2 "--keep" relay demo --keep
run relay demo --help
check "--help exits 0" test $rc -eq 0
out_has "usage: mcsec relay demo"
run relay --help
out_has "demo"

finish
