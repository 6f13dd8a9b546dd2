#!/bin/sh
# mcsec-kms, the tool: init, enroll, list, revoke, audit, cert, issue, provision and serve,
# with exact exit codes and exactly one line on stderr for every error.
# usage: test_kms_cli.sh path/to/mcsec-kms
set -u
K=$1
TMP=$(mktemp -d "${TMPDIR:-/tmp}/mcsec-kms-cli.XXXXXX") || exit 2
SERVER=
trap '[ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null; rm -rf "$TMP"' EXIT
passed=0
failed=0
fail() { failed=$((failed + 1)); echo "FAIL: $*" >&2; }
pass() { passed=$((passed + 1)); }

export MCSEC_PASSPHRASE="cli test passphrase"
D=$TMP/kms

# ok args...: exit 0, nothing on stderr.
ok() {
    "$K" "$@" >"$TMP/out" 2>"$TMP/err"; rc=$?
    if [ $rc -eq 0 ] && [ ! -s "$TMP/err" ]; then pass; else fail "$* -> rc=$rc $(cat "$TMP/err")"; fi
}
# err CODE PATTERN args...: exit CODE, stdout empty, exactly one line on stderr matching PATTERN.
err() {
    code=$1; pat=$2; shift 2
    "$K" "$@" >"$TMP/out" 2>"$TMP/err"; rc=$?
    lines=$(wc -l <"$TMP/err")
    if [ $rc -eq "$code" ] && [ ! -s "$TMP/out" ] && [ "$lines" -eq 1 ] &&
       grep -q -- "$pat" "$TMP/err"; then pass; else
        fail "$* -> rc=$rc (want $code) lines=$lines: $(cat "$TMP/err")"; fi
}
field() { sed -n "s/^$1: //p" "$TMP/out"; }

# --- init
err 2 "--uri is required" init --dir "$D"
err 2 "--key-period 'x'" init --dir "$D" --uri kms.example.org --key-period x
err 2 "unknown argument" init --dir "$D" --uri kms.example.org --bogus
ok init --dir "$D" --uri kms.example.org --kdf-cost 10 --endpoint tcp://127.0.0.1:7001
KMS_PUB=$(field curve-public)
[ ${#KMS_PUB} -eq 40 ] && pass || fail "init printed no CURVE key"
[ "$(stat -c %a "$D")" = 700 ] && [ "$(stat -c %a "$D/kms.db")" = 600 ] && pass || fail "modes"
err 1 "already holds a KMS" init --dir "$D" --uri kms.example.org --kdf-cost 10

# --- wrong passphrase, damaged store: one line, nothing changed
MCSEC_PASSPHRASE=wrong err 1 "wrong passphrase" list --dir "$D"
echo "a passphrase file" >"$TMP/pass"
err 1 "wrong passphrase" list --dir "$D" --passphrase-file "$TMP/pass"
err 1 "no KMS at" list --dir "$TMP/nowhere"
mkdir -m 700 "$TMP/broken" && head -c 8192 /dev/urandom >"$TMP/broken/kms.db"
sum=$(sha256sum <"$TMP/broken/kms.db")
err 1 "damaged" list --dir "$TMP/broken"
[ "$(sha256sum <"$TMP/broken/kms.db")" = "$sum" ] && pass || fail "damaged store was modified"

# --- enroll
ok enroll --dir "$D" --uri sip:alice@example.org
ALICE_ID=$(field device-id)
[ "$(field curve-secret | wc -c)" -eq 41 ] && pass || fail "enroll printed no secret"
ok enroll --dir "$D" --uri sip:gm@example.org --role groupmgr --group sip:g1@example.org --group sip:g2@example.org --out "$TMP/gm.mcsb"
[ "$(field code | wc -c)" -eq 33 ] && [ "$(stat -c %a "$TMP/gm.mcsb")" = 600 ] && pass || fail "enroll --out"
err 2 "--role 'boss'" enroll --dir "$D" --uri sip:x@example.org --role boss
err 1 "URI 'has space'" enroll --dir "$D" --uri "has space"
err 1 "not 40 Z85" enroll --dir "$D" --uri sip:x@example.org --curve-public short
err 2 "do not give --curve-public" enroll --dir "$D" --uri sip:x@example.org --out x --curve-public y

# --- list, revoke, audit
ok list --dir "$D"
[ "$(wc -l <"$TMP/out")" -eq 2 ] && grep -q "groupmgr	active" "$TMP/out" && pass || fail "list"
ok revoke --dir "$D" --device "$ALICE_ID" --reason "handset lost"
err 1 "no device 99" revoke --dir "$D" --device 99
err 2 "exactly one of" revoke --dir "$D"
ok list --dir "$D"
grep -q "^$ALICE_ID	handset	revoked" "$TMP/out" && pass || fail "revoked not listed"
ok audit --dir "$D"
grep -q "	revoke	0	sip:alice@example.org	-1	0	handset lost" "$TMP/out" && pass || fail "audit revoke row"
grep -q "	issue-bundle	0	sip:gm@example.org	" "$TMP/out" && pass || fail "audit bundle row"

# --- cert, issue (offline)
ok cert --dir "$D" --out "$TMP/init.xml"
grep -q "KmsInit" "$TMP/init.xml" && pass || fail "cert"
ok issue --dir "$D" --uri sip:bob@example.org --at 2030-01-01T00:00:00Z --out "$TMP/bob.xml"
grep -q "<KeyPeriodNo>" "$TMP/bob.xml" && [ "$(stat -c %a "$TMP/bob.xml")" = 600 ] && pass || fail "issue"
err 2 "--at 'yesterday'" issue --dir "$D" --uri sip:bob@example.org --at yesterday --out "$TMP/x.xml"
err 2 "--out is required" issue --dir "$D" --uri sip:bob@example.org

# --- provision
cat >"$TMP/roster.csv" <<ROSTER
uri,role,groups
sip:r1@example.org,handset,sip:g1@example.org;sip:g2@example.org
sip:r2@example.org,,
sip:boss@example.org,groupmgr,sip:g1@example.org
sip:r3@example.org,chief,
ROSTER
err 1 "line 5: the role is not handset or groupmgr" provision --dir "$D" --roster "$TMP/roster.csv" --out-dir "$TMP/b"
[ ! -e "$TMP/b" ] && pass || fail "a bad roster wrote something"
sed -i '$d' "$TMP/roster.csv"
ok provision --dir "$D" --roster "$TMP/roster.csv" --out-dir "$TMP/b" --endpoint tcp://kms.example.org:7001
grep -q "^provisioned 3 handsets" "$TMP/out" && [ "$(wc -l <"$TMP/out")" -eq 1 ] && pass || fail "provision summary line"
[ "$(stat -c %a "$TMP/b/summary.txt")" = 600 ] && [ "$(wc -l <"$TMP/b/summary.txt")" -eq 3 ] && pass || fail "summary"
[ -f "$TMP/b/sip_3ar1_40example.org.mcsb" ] && [ "$(stat -c %a "$TMP/b/sip_3ar1_40example.org.mcsb")" = 600 ] && pass || fail "bundle name"
err 1 "empty directory" provision --dir "$D" --roster "$TMP/roster.csv" --out-dir "$TMP/b"

# --- serve: wrong passphrase fails at once; SIGTERM stops it cleanly
MCSEC_PASSPHRASE=wrong err 1 "wrong passphrase" serve --dir "$D" --bind tcp://127.0.0.1:0
err 2 "--bind is required" serve --dir "$D"
"$K" serve --dir "$D" --bind 'tcp://127.0.0.1:*' >"$TMP/serve.out" 2>"$TMP/serve.err" &
SERVER=$!
i=0 # up to 120 s: startup unseals under scrypt, slow under the sanitizers on a loaded machine
while [ $i -lt 1200 ] && ! grep -q "^serving tcp://127.0.0.1:" "$TMP/serve.out" &&
      kill -0 "$SERVER" 2>/dev/null; do sleep 0.1; i=$((i + 1)); done
grep -q "^serving tcp://127.0.0.1:" "$TMP/serve.out" && pass || fail "serve did not start: $(cat "$TMP/serve.err")"
EP=$(sed -n 's/^serving //p' "$TMP/serve.out")
err 1 "cannot bind" serve --dir "$D" --bind "$EP"
kill -TERM "$SERVER"; wait "$SERVER"; rc=$?; SERVER=
[ $rc -eq 0 ] && grep -q "^stopped" "$TMP/serve.out" && [ ! -s "$TMP/serve.err" ] && pass || fail "serve stop rc=$rc"

echo "$passed passed, $failed failed"
[ $failed -eq 0 ]
