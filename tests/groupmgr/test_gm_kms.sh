#!/bin/sh
# The Group Manager as a KMS device, with the real tools: `mcsec-kms enroll --role groupmgr`
# makes a bundle; `mcsec-groupmgr init --bundle` loads it; `group add` fetches the group
# identity's keys from `mcsec-kms serve`; a handset provisioned from its own bundle registers
# with its device CURVE key and receives the GMK. Refusals: a wrong code, a handset's bundle, a
# group this manager was not enrolled for.
# usage: test_gm_kms.sh mcsec-kms mcsec-groupmgr mcsec test_gm_register
KMS=$1
GM=$2
MCSEC=$3
REGISTER=$4
. "$(dirname "$0")/../cli/lib.sh"

gm() { "$GM" "$@" >"$TMP/out" 2>"$TMP/err"; rc=$?; }
gm_ok() {
    gm "$@"
    if [ $rc -eq 0 ] && [ ! -s "$TMP/err" ]; then pass; else
        fail "mcsec-groupmgr $* -> rc=$rc: $(cat "$TMP/err")"; fi
}
gm_err() {
    code=$1; text=$2; shift 2
    gm "$@"
    lines=$(wc -l <"$TMP/err")
    if [ $rc -eq "$code" ] && [ "$lines" -eq 1 ] && grep -qF -- "$text" "$TMP/err"; then pass; else
        fail "mcsec-groupmgr $* -> rc=$rc (want $code), $lines stderr lines (want 1 with '$text'): $(cat "$TMP/err")"
    fi
}
kms() { "$KMS" "$@" >"$TMP/kout" 2>"$TMP/kerr" || { echo "setup: mcsec-kms $*: $(cat "$TMP/kerr")"; exit 2; }; }

G=sip:fire-north@example.org
KD=$TMP/kms
# The KMS writes its endpoint into bundles at init: pick a port, retry a few if taken.
kpid=
for try in 1 2 3 4 5; do
    port=$((20000 + ($$ * 7 + try * 131) % 40000))
    rm -rf "$KD"
    kms init --dir "$KD" --uri kms.example.org --endpoint "tcp://127.0.0.1:$port" --kdf-cost 10
    "$KMS" serve --dir "$KD" --bind "tcp://127.0.0.1:$port" >"$TMP/kms.out" 2>"$TMP/kms.err" &
    kpid=$!
    wait_serving "$TMP/kms.out" $kpid >/dev/null && break
    kill $kpid 2>/dev/null; wait $kpid 2>/dev/null; kpid=
done
[ -n "$kpid" ] || { echo "setup: mcsec-kms serve did not start: $(cat "$TMP/kms.err")"; exit 2; }
trap 'kill $kpid 2>/dev/null; [ -n "${spid:-}" ] && kill $spid 2>/dev/null; rm -rf "$TMP"' EXIT

kms enroll --dir "$KD" --uri sip:groupmgr@example.org --role groupmgr --group "$G" --out "$TMP/gm.mcsb"
gcode=$(sed -n 's/^code: //p' "$TMP/kout")
kms enroll --dir "$KD" --uri sip:alice@example.org --group "$G" --out "$TMP/alice.mcsb"
acode=$(sed -n 's/^code: //p' "$TMP/kout")
run provision --store "$TMP/alice" --bundle "$TMP/alice.mcsb" --code "$acode"
[ $rc -eq 0 ] || { echo "setup: provision: $(cat "$TMP/err")"; exit 2; }

# 1. Bundles: a wrong code, a handset's bundle, then the group manager's.
gm_err 1 "wrong code for bundle" init --dir "$TMP/gm-bad" --bundle "$TMP/gm.mcsb" --code "0000-0000-0000-0000-0000-0000-00" --kdf-cost 10
gm_err 1 "is a handset's, not a group manager's" init --dir "$TMP/gm-bad2" --bundle "$TMP/alice.mcsb" --code "$acode" --kdf-cost 10
check "a failed init leaves nothing behind" test ! -e "$TMP/gm-bad" -a ! -e "$TMP/gm-bad2"
D=$TMP/gm
gm_ok init --dir "$D" --bundle "$TMP/gm.mcsb" --code "$gcode" --kdf-cost 10
out_has "uri: sip:groupmgr@example.org"
out_has "kms: kms.example.org"
out_has "kms-endpoint: tcp://127.0.0.1:$port"

# 2. The group's keys come from the KMS; a group it does not manage is refused by the KMS.
gm_ok group add --dir "$D" --group "$G"
out_has "stored the key sets of $G"
gm_err 1 "the KMS refused" group add --dir "$D" --group sip:other@example.org
gm_ok list --dir "$D"
out_has "group $G members=0"
gm_ok group keys --dir "$D" --group "$G" --fetch

# 3. A GMK to the provisioned handset over the service.
gm_ok member add --dir "$D" --group "$G" --member sip:alice@example.org
gm_ok rekey --dir "$D" --group "$G"
id=$(sed -n 's/^GMK-ID \([0-9a-f]*\) for.*/\1/p' "$TMP/out")
"$GM" serve --dir "$D" --bind 'tcp://127.0.0.1:*' >"$TMP/serve.out" 2>"$TMP/serve.err" &
spid=$!
ep=$(wait_serving "$TMP/serve.out" $spid)
"$REGISTER" --store "$TMP/alice" --groupmgr "$ep" --groupmgr-key "$D/groupmgr.pub" --group "$G" --once >"$TMP/out" 2>"$TMP/err"
check "register --once with the device credential: exit 0 ($(cat "$TMP/err"))" test $? -eq 0
check "the GMK is new and current" grep -q "gmk $id group $G timestamp .* new current" "$TMP/out"
kill -TERM $spid
wait $spid
check "serve stops with exit 0" test $? -eq 0
spid=

finish
