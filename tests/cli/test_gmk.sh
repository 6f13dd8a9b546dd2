#!/bin/sh
# mcsec gmk create / receive / list: an ad-hoc group led by a handset, members receiving and
# storing GMKs, the current GMK by latest timestamp, and bad inputs with exact exit codes.
# usage: test_gmk.sh path/to/mcsec path/to/test_mkkms
MCSEC=$1
MKKMS=$2
. "$(dirname "$0")/lib.sh"

K=$TMP/kms
mkdir -p "$K"
"$MKKMS" "$K" kms.example.org sip:alice@example.org sip:bob@example.org sip:carol@example.org 'sip:dave/x@example.org' || exit 2
for u in 0:alice 1:bob 2:carol 3:dave; do
    run keys import --store "$TMP/${u#*:}" --kms-init "$K/kms-init.xml" --key-prov "$K/keyprov-${u%%:*}.xml"
    [ $rc -eq 0 ] || { echo "setup: $(cat "$TMP/err")"; exit 2; }
done
G=sip:fire-3@example.org
O=$TMP/outbox

# 1. Create: one file per member, names made safe, the GMK stored by the leader.
expect_ok gmk create --store "$TMP/alice" --group "$G" --member sip:bob@example.org \
    --member sip:carol@example.org --member 'sip:dave/x@example.org' --out-dir "$O" --lifetime 86400
out_has "wrote $O/sip:bob@example.org.mikey"
out_has "wrote $O/sip:dave%2Fx@example.org.mikey"
out_has "3 member messages in $O"
id1=$(sed -n 's/^GMK-ID \([0-9a-f]*\) for.*/\1/p' "$TMP/out")
check "GMK-ID printed" test -n "$id1"
check "message files are 0600" test -z "$(find "$O" -type f ! -perm 600)"
expect_ok gmk list --store "$TMP/alice"
out_has "* $id1 $G"

# 2. Receive: stored once, a repeat is harmless, the wrong member's file refused.
expect_ok gmk receive --store "$TMP/bob" "$O/sip:bob@example.org.mikey"
out_has "stored GMK-ID $id1 for $G"
expect_ok gmk receive --store "$TMP/bob" "$O/sip:bob@example.org.mikey"
out_has "already stored"
expect_ok gmk receive --store "$TMP/dave" "$O/sip:dave%2Fx@example.org.mikey"
expect_err 1 "refused at the recipient check" gmk receive --store "$TMP/bob" "$O/sip:carol@example.org.mikey"

# 3. A newer GMK becomes current, whatever order the files arrive in.
mkdir -p "$TMP/first"
cp "$O/sip:carol@example.org.mikey" "$TMP/first/"
expect_ok gmk create --store "$TMP/alice" --group "$G" --member sip:carol@example.org --out-dir "$O"
id2=$(sed -n 's/^GMK-ID \([0-9a-f]*\) for.*/\1/p' "$TMP/out")
check "a new GMK-ID" test -n "$id2" -a "$id2" != "$id1"
expect_ok gmk receive --store "$TMP/carol" "$O/sip:carol@example.org.mikey" "$TMP/first/sip:carol@example.org.mikey"
expect_ok gmk list --store "$TMP/carol"
out_has "* $id2 $G"
out_has "  $id1 $G"
expect_ok gmk list --store "$TMP/alice"
out_has "* $id2 $G"

# 4. Several files: the good ones are stored, each bad one named in one line, exit 1.
cp "$O/sip:bob@example.org.mikey" "$TMP/tampered.mikey"
flip_byte "$TMP/tampered.mikey" 100
head -c 40 "$O/sip:bob@example.org.mikey" >"$TMP/short.mikey"
run gmk receive --store "$TMP/bob" "$TMP/tampered.mikey" "$TMP/short.mikey" "$TMP/first/sip:carol@example.org.mikey"
check "bad files: exit 1" test $rc -eq 1
check "bad files: one line each plus a summary" test "$(wc -l <"$TMP/err")" -eq 4
check "tampered message refused at the signature check" grep -qF "tampered.mikey refused at the signature check" "$TMP/err"
check "short message refused when parsing" grep -qF "short.mikey refused at the parse check" "$TMP/err"
check "summary line" grep -qF "3 of 3 messages refused" "$TMP/err"
expect_err 1 "refused at the signature check" gmk receive --store "$TMP/bob" "$TMP/tampered.mikey"
base64 "$O/sip:bob@example.org.mikey" >"$TMP/bob.b64"
expect_ok gmk receive --store "$TMP/bob" --base64 "$TMP/bob.b64"

# 5. Bad arguments.
expect_err 2 "at least one --member are required" gmk create --store "$TMP/alice" --group "$G" --out-dir "$O"
expect_err 2 "is given twice" gmk create --store "$TMP/alice" --group "$G" --out-dir "$O" --member sip:b@x --member sip:b@x
expect_err 2 "--lifetime 'soon' is not a number" gmk create --store "$TMP/alice" --group "$G" --out-dir "$O" --member sip:b@x --lifetime soon
expect_err 2 "--member '' is empty" gmk create --store "$TMP/alice" --group "$G" --out-dir "$O" --member ''
long=$(head -c 300 /dev/zero | tr '\0' a)
expect_err 2 "too long for a file name" gmk create --store "$TMP/alice" --group "$G" --out-dir "$O" --member "sip:$long@x"
: >"$TMP/afile"
expect_err 1 "is not a directory and cannot be created" gmk create --store "$TMP/alice" --group "$G" --out-dir "$TMP/afile" --member sip:bob@example.org
expect_err 1 "is not a keystore" gmk create --store "$TMP/nostore" --group "$G" --out-dir "$O" --member sip:bob@example.org
expect_err 2 "give --store DIR and at least one message file" gmk receive --store "$TMP/bob"
expect_err 2 "--window '0' is not a number" gmk receive --store "$TMP/bob" --window 0 "$O/sip:bob@example.org.mikey"
expect_err 1 "cannot open message" gmk receive --store "$TMP/bob" "$TMP/none.mikey"
MCSEC_PASSPHRASE=nope expect_err 1 "wrong passphrase" gmk receive --store "$TMP/bob" "$O/sip:bob@example.org.mikey"
expect_err 2 "unknown subcommand 'delete'" gmk delete

finish
