#!/bin/sh
# mcsec uid against tests/vectors/uid.txt, and its argument errors (exact exit codes, one
# non-empty line on stderr, nothing on stdout).
# usage: test_uid.sh path/to/mcsec path/to/tests/vectors/uid.txt
set -u
MCSEC=$1
VECTORS=$2
TMP=$(mktemp -d "${TMPDIR:-/tmp}/mcsec-cli.XXXXXX") || exit 2
trap 'rm -rf "$TMP"' EXIT
passed=0
failed=0

fail() { failed=$((failed + 1)); echo "FAIL: $*" >&2; }
pass() { passed=$((passed + 1)); }

# expect_uid HEX args...: exit 0, stdout exactly HEX, stderr empty.
expect_uid() {
    want=$1; shift
    "$MCSEC" uid "$@" >"$TMP/out" 2>"$TMP/err"; rc=$?
    got=$(cat "$TMP/out")
    if [ $rc -eq 0 ] && [ "$got" = "$want" ] && [ ! -s "$TMP/err" ] &&
       [ "$(wc -l <"$TMP/out")" -eq 1 ]; then pass; else fail "uid $* -> rc=$rc out=$got"; fi
}

# expect_err CODE args...: exit CODE, stdout empty, exactly one non-empty line on stderr.
expect_err() {
    code=$1; shift
    "$MCSEC" "$@" >"$TMP/out" 2>"$TMP/err"; rc=$?
    lines=$(wc -l <"$TMP/err")
    if [ $rc -eq "$code" ] && [ ! -s "$TMP/out" ] && [ "$lines" -eq 1 ] &&
       grep -q '^mcsec uid: ..*' "$TMP/err"; then
        pass
    else
        fail "$* -> rc=$rc (want $code), $lines stderr lines: $(cat "$TMP/err")"
    fi
}

# 1. Every vector line, by period number.
n=0
while IFS= read -r line; do
    case $line in uri=*) ;; *) continue ;; esac
    set -- $(printf '%s\n' "$line" |
        sed -n 's/^uri=\([^ ]*\) kms=\([^ ]*\) period=\([0-9]*\) offset=\([0-9]*\) period_no=\([0-9]*\) -> \([0-9a-f]*\)$/\1 \2 \3 \4 \5 \6/p')
    if [ $# -ne 6 ]; then fail "unparsed vector line: $line"; continue; fi
    expect_uid "$6" --uri "$1" --kms-uri "$2" --key-period "$3" --offset "$4" --period-no "$5"
    expect_uid "$6" --uri="$1" --kms-uri="$2" --key-period="$3" --offset="$4" --period-no="$5"
    eval "uid$n=\$6"
    n=$((n + 1))
done <"$VECTORS"
[ $n -eq 3 ] && pass || fail "expected 3 vector lines, found $n"

# 2. The same periods by time (NTP = Unix + 2208988800): first and last second, other offsets.
A="--uri sip:alice@example.org --kms-uri kms.example.org --key-period 2592000 --offset 0"
expect_uid "$uid0" $A --at 1982-02-20T00:00:00Z
expect_uid "$uid0" $A --at 1982-03-21T23:59:59Z
expect_uid "$uid0" $A --at 1982-02-20T01:00:00+01:00
expect_uid "$uid0" $A --at 1982-02-19t20:30:00.999-03:30
expect_uid "$uid0" $A --at 1982-02-20t12:00:00.5z
B="--uri tel:+447700900123 --kms-uri kms.example.org --key-period 2592000 --offset 0"
expect_uid "$uid1" $B --at 2016-05-22T00:01:40Z
C="--uri group:fire-north@example.org --kms-uri kms.example.org --key-period 604800 --offset 3600"
expect_uid "$uid2" $C --at 2024-07-29T01:00:00Z
expect_uid "$uid2" $C --at 2024-08-05T00:59:59Z
# One second earlier is period 6499: a different UID.
"$MCSEC" uid $C --at 2024-07-29T00:59:59Z >"$TMP/out" 2>/dev/null
[ $? -eq 0 ] && [ "$(cat "$TMP/out")" != "$uid2" ] && pass || fail "period 6499 gave the 6500 UID"
"$MCSEC" uid $C --period-no 6499 >"$TMP/want" 2>/dev/null
cmp -s "$TMP/out" "$TMP/want" && pass || fail "--at 2024-07-29T00:59:59Z is not period 6499"

# 3. Usage errors: exit 2.
expect_err 2 uid --kms-uri k --key-period 1 --offset 0 --period-no 1
expect_err 2 uid --uri "" --kms-uri k --key-period 1 --offset 0 --period-no 1
expect_err 2 uid --uri u --kms-uri= --key-period 1 --offset 0 --period-no 1
expect_err 2 uid --uri u --key-period 1 --offset 0 --period-no 1
expect_err 2 uid --uri u --kms-uri k --offset 0 --period-no 1
expect_err 2 uid --uri u --kms-uri k --key-period 1 --period-no 1
expect_err 2 uid --uri u --kms-uri k --key-period abc --offset 0 --period-no 1
expect_err 2 uid --uri u --kms-uri k --key-period -5 --offset 0 --period-no 1
expect_err 2 uid --uri u --kms-uri k --key-period " 5" --offset 0 --period-no 1
expect_err 2 uid --uri u --kms-uri k --key-period 0 --offset 0 --period-no 1
expect_err 2 uid --uri u --kms-uri k --key-period 1 --offset 18446744073709551616 --period-no 1
expect_err 2 uid --uri u --kms-uri k --key-period 1 --offset 0 --period-no 1x
expect_err 2 uid --uri u --kms-uri k --key-period 1 --offset 0
expect_err 2 uid --uri u --kms-uri k --key-period 1 --offset 0 --period-no 1 --at 2024-01-01T00:00:00Z
expect_err 2 uid $A --at 2024-02-30T00:00:00Z
expect_err 2 uid $A --at 2023-02-29T00:00:00Z
expect_err 2 uid $A --at "2024-05-01 12:00:00Z"
expect_err 2 uid $A --at 2024-05-01T12:00:00
expect_err 2 uid $A --at 2024-05-01T24:00:00Z
expect_err 2 uid $A --at 2024-05-01T12:00:00+0100
expect_err 2 uid $A --at 2024-05-01T12:00:00.Z
expect_err 2 uid $A --at 2024-05-01T12:00:00Zjunk
expect_err 2 uid $A --at 1899-12-31T23:59:59Z
expect_err 2 uid --uri u --kms-uri k --key-period 1 --offset 99999999999 --at 2024-05-01T12:00:00Z
expect_err 2 uid $A --period-no 1 --frobnicate
expect_err 2 uid $A --period-no 1 extra
expect_err 2 uid $A --period-no 1 --uri sip:bob@example.org
expect_err 2 uid $A --period-no
expect_err 2 uid $A --period-no --at 2024-05-01T12:00:00Z

# 4. The dispatcher: unknown command exits 1 with a first line saying so; help exits 0.
"$MCSEC" frobnicate >"$TMP/out" 2>"$TMP/err"; rc=$?
[ $rc -eq 1 ] && [ ! -s "$TMP/out" ] && head -n 1 "$TMP/err" | grep -q "^mcsec: unknown command 'frobnicate'" &&
    grep -q '^usage: mcsec' "$TMP/err" && pass || fail "unknown command -> rc=$rc"
"$MCSEC" >"$TMP/out" 2>"$TMP/err"; rc=$?
[ $rc -eq 1 ] && [ -s "$TMP/err" ] && pass || fail "no command -> rc=$rc"
"$MCSEC" help >"$TMP/out" 2>"$TMP/err"; rc=$?
[ $rc -eq 0 ] && grep -q '^  uid ' "$TMP/out" && [ ! -s "$TMP/err" ] && pass || fail "help -> rc=$rc"
"$MCSEC" uid --help >"$TMP/out" 2>"$TMP/err"; rc=$?
[ $rc -eq 0 ] && grep -q '^usage: mcsec uid' "$TMP/out" && pass || fail "uid --help -> rc=$rc"

echo "$passed passed, $failed failed"
[ $failed -eq 0 ]
