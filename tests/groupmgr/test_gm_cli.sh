#!/bin/sh
# mcsec-groupmgr end to end with the tools: init, group add (offline keys), member add/remove,
# rekey with offline export read by `mcsec gmk receive`, list, serve + `mcsec register --once`,
# and the bad inputs with exact exit codes and one-line errors.
# usage: test_gm_cli.sh mcsec-groupmgr mcsec test_mkkms test_gm_register
GM=$1
MCSEC=$2
MKKMS=$3
REGISTER=$4
. "$(dirname "$0")/../cli/lib.sh"

# gm args...: runs mcsec-groupmgr like run() runs mcsec.
gm() { "$GM" "$@" >"$TMP/out" 2>"$TMP/err"; rc=$?; }
gm_ok() {
    gm "$@"
    if [ $rc -eq 0 ] && [ ! -s "$TMP/err" ]; then pass; else
        fail "mcsec-groupmgr $* -> rc=$rc: $(cat "$TMP/err")"; fi
}
# gm_err CODE TEXT args...: exit CODE, one stderr line "mcsec-groupmgr <cmd>: ..." with TEXT.
gm_err() {
    code=$1; text=$2; shift 2
    gm "$@"
    lines=$(wc -l <"$TMP/err")
    if [ $rc -eq "$code" ] && [ "$lines" -eq 1 ] && grep -q '^mcsec-groupmgr[a-z ]*: ..*' "$TMP/err" &&
       grep -qF -- "$text" "$TMP/err"; then
        pass
    else
        fail "mcsec-groupmgr $* -> rc=$rc (want $code), $lines stderr lines (want 1 with '$text'): $(cat "$TMP/err")"
    fi
}

K=$TMP/kms
G=sip:fire-north@example.org
mkdir -p "$K"
"$MKKMS" "$K" kms.example.org "$G" sip:alice@example.org sip:bob@example.org 'sip:dave/x@example.org' || exit 2
for u in 1:alice 2:bob 3:dave; do
    run keys import --store "$TMP/${u#*:}" --kms-init "$K/kms-init.xml" --key-prov "$K/keyprov-${u%%:*}.xml"
    [ $rc -eq 0 ] || { echo "setup: $(cat "$TMP/err")"; exit 2; }
done
D=$TMP/gm

# 1. Usage errors: exit 2, one line.
gm
check "no command: exit 2" test $rc -eq 2
gm_err 2 "unknown command 'frob'" frob
gm_err 2 "needs a subcommand" group
gm_err 2 "--dir is required" init
gm_err 2 "--bundle and --code go together" init --dir "$D" --bundle x.mcsb
gm_err 2 "--kdf-cost '3' is not between 10 and 20" init --dir "$D" --kdf-cost 3
gm_err 2 "unknown argument '--frob'" rekey --dir "$D" --frob
gm_err 2 "--group is required" rekey --dir "$D"
gm_err 2 "--kms-init and --key-prov go together" group add --dir "$D" --group "$G" --kms-init x
gm_err 2 "--lifetime 'soon' is not a number" group add --dir "$D" --group "$G" --lifetime soon
gm_err 2 "no members given" member add --dir "$D" --group "$G"
gm_err 2 "--threads '0' is not a number" rekey --dir "$D" --group "$G" --threads 0
gm_err 2 "--bind is required" serve --dir "$D"
gm_err 2 "--deliveries 'xyz' is not a GMK-ID" list --dir "$D" --group "$G" --deliveries xyz

# 2. init: key printed and written; a second init refused; a wrong passphrase refused.
gm_err 1 "no Group Manager at $D" list --dir "$D"
gm_ok init --dir "$D" --kdf-cost 10
out_has "curve-public: "
pub=$(sed -n 's/^curve-public: //p' "$TMP/out")
check "groupmgr.pub holds the printed key" test "$(cat "$D/groupmgr.pub")" = "$pub"
check "store is 0600" test -z "$(find "$D/groupmgr.db" ! -perm 600)"
gm_err 1 "already holds a Group Manager" init --dir "$D" --kdf-cost 10
MCSEC_PASSPHRASE=wrong gm_err 1 "wrong passphrase" list --dir "$D"

# 3. Groups: keys checked for the group identity; duplicates refused.
gm_err 1 "is not $G's" group add --dir "$D" --group "$G" --kms-init "$K/kms-init.xml" --key-prov "$K/keyprov-1.xml"
gm_err 1 "group $G exists already" group add --dir "$D" --group "$G"
gm_ok group keys --dir "$D" --group "$G" --kms-init "$K/kms-init.xml" --key-prov "$K/keyprov-0.xml"
gm_ok list --dir "$D"
out_has "group $G members=0 lifetime=2592000 rekey-on-leave=yes key-periods="
gm_err 1 "no group sip:nope@example.org" rekey --dir "$D" --group sip:nope@example.org

# 4. Members and a rekey exported for offline delivery, read by `mcsec gmk receive`.
gm_ok member add --dir "$D" --group "$G" --member sip:alice@example.org --member sip:bob@example.org \
    --member 'sip:dave/x@example.org' --member sip:alice@example.org
out_has "added 3 member(s) to $G (1 already there)"
gm_err 1 "member URI 'bad uri' is not" member add --dir "$D" --group "$G" --member 'bad uri'
O=$TMP/outbox
gm_ok rekey --dir "$D" --group "$G" --out-dir "$O"
out_has "for $G: 3 member(s)"
id1=$(sed -n 's/^GMK-ID \([0-9a-f]*\) for.*/\1/p' "$TMP/out")
check "GMK-ID printed" test -n "$id1"
check "one file per member, names escaped" test -f "$O/sip:alice@example.org.mikey" -a -f "$O/sip:dave%2Fx@example.org.mikey" -a "$(ls "$O" | wc -l)" -eq 3
expect_ok gmk receive --store "$TMP/alice" "$O/sip:alice@example.org.mikey"
out_has "stored GMK-ID $id1 for $G"
expect_ok gmk receive --store "$TMP/dave" "$O/sip:dave%2Fx@example.org.mikey"
expect_err 1 "refused at the recipient check" gmk receive --store "$TMP/bob" "$O/sip:alice@example.org.mikey"
gm_ok list --dir "$D" --group "$G"
out_has "* $id1 active"
out_has "pending=3 sent=0 acked=0 reason=command"

# 5. Removing a member rekeys; the removed member has no message of the new GMK.
gm_ok member remove --dir "$D" --group "$G" --member sip:bob@example.org
out_has "removed 1 member(s) from $G"
id2=$(sed -n 's/^new GMK-ID \([0-9a-f]*\) for 2 member.*/\1/p' "$TMP/out")
check "a new GMK-ID for the 2 remaining members" test -n "$id2" -a "$id2" != "$id1"
gm_ok list --dir "$D" --group "$G" --deliveries "$id2"
out_lacks "sip:bob@example.org"
out_has "sip:alice@example.org pending attempts=0"
gm_ok list --dir "$D" --group "$G"
out_has "* $id2 active"
out_has "reason=member-removed"

# 6. serve and `mcsec register --once`: the backlog in timestamp order, the newest current.
"$GM" serve --dir "$D" --bind 'tcp://127.0.0.1:*' >"$TMP/serve.out" 2>"$TMP/serve.err" &
spid=$!
ep=$(wait_serving "$TMP/serve.out" $spid)
check "serve prints its endpoint" test -n "$ep"
"$REGISTER" --store "$TMP/alice" --groupmgr "$ep" --groupmgr-key "$D/groupmgr.pub" --group "$G" --once >"$TMP/out" 2>"$TMP/err"
rc=$?
check "register --once: exit 0 ($(cat "$TMP/err"))" test $rc -eq 0
out_has "registered (backlog 2)"
out_has "gmk $id1 group $G"
out_has "already-stored"
out_has "gmk $id2 group $G"
check "the newest GMK is new and current" grep -q "gmk $id2 group $G timestamp .* new current" "$TMP/out"
check "backlog in timestamp order" test "$(grep -n "gmk $id1" "$TMP/out" | cut -d: -f1)" -lt "$(grep -n "gmk $id2" "$TMP/out" | cut -d: -f1)"
expect_ok gmk list --store "$TMP/alice"
out_has "* $id2 $G"
gm_ok list --dir "$D" --group "$G" --deliveries "$id2"
out_has "sip:alice@example.org acked attempts=1"
# Registered again: nothing left to send.
"$REGISTER" --store "$TMP/alice" --groupmgr "$ep" --groupmgr-key "$pub" --group "$G" --once >"$TMP/out" 2>"$TMP/err"
check "second register: exit 0, empty backlog" test $? -eq 0
out_has "registered (backlog 0)"
# The removed member is refused; so is a key that is not the manager's.
"$REGISTER" --store "$TMP/bob" --groupmgr "$ep" --groupmgr-key "$D/groupmgr.pub" --group "$G" --once >"$TMP/out" 2>"$TMP/err"
rc=$?
check "removed member refused: exit 1" test $rc -eq 1
check "removed member: one line naming the group" test "$(wc -l <"$TMP/err")" -eq 1 -a -n "$(grep -F "sip:bob@example.org is not a member of group $G" "$TMP/err")"
"$REGISTER" --store "$TMP/alice" --groupmgr "$ep" --groupmgr-key "$K/kms-init.xml" --group "$G" --once >"$TMP/out" 2>"$TMP/err"
check "a bad --groupmgr-key: exit 1" test $? -eq 1
check "a bad --groupmgr-key: one line" grep -qF "is neither 40 Z85 characters nor a file holding them" "$TMP/err"
"$REGISTER" --store "$TMP/alice" --groupmgr "$ep" --group "$G" >"$TMP/out" 2>"$TMP/err"
check "register without --groupmgr-key: exit 2" test $? -eq 2
check "serve logged the refusal" grep -qF "refused the registration of sip:bob@example.org" "$TMP/serve.err"
kill -TERM $spid
wait $spid
check "serve stops on SIGTERM with exit 0" test $? -eq 0
check "serve says stopped" grep -q '^stopped$' "$TMP/serve.out"

finish
