#!/bin/sh
# The handset side of the KMS service, end to end with the real tools: mcsec-kms init /
# enroll --out (a bundle), mcsec provision, mcsec-kms serve on loopback, mcsec fetch-keys,
# then a GMK message to the provisioned identity opens; and the refusals: wrong or malformed
# code, damaged bundle, revoked device, KMS down, a store of another identity.
# usage: test_provision.sh path/to/mcsec path/to/mcsec-kms
MCSEC=$1
KMS=$2
. "$(dirname "$0")/lib.sh"

K=$TMP/kms
SERVER=
cleanup() { [ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null; wait 2>/dev/null; rm -rf "$TMP"; }
trap cleanup EXIT

# A port from the process id; serve is retried on the next ones if it cannot bind.
port=$((20000 + $$ % 20000))
"$KMS" init --dir "$K" --uri kms.example.org --endpoint "tcp://127.0.0.1:$port" --kdf-cost 12 \
    >/dev/null || exit 2
enroll() { # URI FILE -> prints the code
    "$KMS" enroll --dir "$K" --uri "$1" --out "$2" | sed -n 's/^code: //p'
}
code_a=$(enroll sip:alice@example.org "$TMP/alice.bundle")
code_b=$(enroll sip:bob@example.org "$TMP/bob.bundle")
[ -n "$code_a" ] && [ -n "$code_b" ] || { echo "setup: no codes"; exit 2; }

start_kms() {
    for try in 1 2 3 4 5; do
        "$KMS" serve --dir "$K" --bind "tcp://127.0.0.1:$port" >"$TMP/serve.log" 2>&1 &
        SERVER=$!
        wait_serving "$TMP/serve.log" "$SERVER" >/dev/null && return 0
        kill "$SERVER" 2>/dev/null; wait "$SERVER" 2>/dev/null; SERVER=
        port=$((port + 1))
    done
    echo "setup: mcsec-kms serve did not start: $(cat "$TMP/serve.log")"; exit 2
}

# 1. Bundles: wrong code, malformed code, damaged file, not a bundle.
expect_err 1 "the code does not open it" provision --store "$TMP/a" --bundle "$TMP/alice.bundle" --code "$code_b"
expect_err 1 "the code is malformed" provision --store "$TMP/a" --bundle "$TMP/alice.bundle" --code 1234
cp "$TMP/alice.bundle" "$TMP/damaged.bundle"
flip_byte "$TMP/damaged.bundle" 200
expect_err 1 "the code does not open it (wrong code, or the file was modified)" provision --store "$TMP/a" --bundle "$TMP/damaged.bundle" --code "$code_a"
printf 'hello' >"$TMP/hello.bundle"
expect_err 1 "cannot open the bundle" provision --store "$TMP/a" --bundle "$TMP/hello.bundle" --code "$code_a"
expect_err 2 "--store, --bundle and --code are required" provision --store "$TMP/a" --bundle "$TMP/alice.bundle"
check "refused bundles create no store" test ! -e "$TMP/a"

# 2. A good bundle; lower-case code without dashes works too; another identity's bundle is refused.
expect_ok provision --store "$TMP/a" --bundle "$TMP/alice.bundle" --code "$code_a"
out_has "imported 2 key sets for sip:alice@example.org from KMS kms.example.org"
out_has "device credential stored: sip:alice@example.org (handset), KMS at tcp://127.0.0.1:$port"
expect_ok provision --store "$TMP/b" --bundle "$TMP/bob.bundle" --code "$(echo "$code_b" | tr -d - | tr A-Z a-z)"
expect_err 1 "the keystore holds the keys of sip:alice@example.org, not sip:bob@example.org" \
    provision --store "$TMP/a" --bundle "$TMP/bob.bundle" --code "$code_b"

# 3. Fetching keys from the running KMS; the keys work: bob's GMK message opens at alice.
expect_err 1 "no answer from the KMS" fetch-keys --store "$TMP/a" --attempts 2 --timeout-ms 200
start_kms
expect_ok fetch-keys --store "$TMP/a" --endpoint "tcp://127.0.0.1:$port"
out_has "imported 2 key sets for sip:alice@example.org from KMS kms.example.org"
expect_ok gmk create --store "$TMP/b" --group sip:g@example.org --member sip:alice@example.org --out-dir "$TMP/outbox"
expect_ok gmk receive --store "$TMP/a" "$TMP/outbox/sip:alice@example.org.mikey"
out_has "stored GMK-ID"

# 4. Revoked: the KMS refuses the device; a keystore without a credential says so.
"$KMS" revoke --dir "$K" --uri sip:alice@example.org >/dev/null
expect_err 1 "refused this device's CURVE key (not enrolled, or revoked)" fetch-keys --store "$TMP/a" --endpoint "tcp://127.0.0.1:$port" --attempts 2 --timeout-ms 500
expect_ok fetch-keys --store "$TMP/b" --endpoint "tcp://127.0.0.1:$port"
mkdir -p "$TMP/k2"
"$KMS" cert --dir "$K" --out "$TMP/k2/init.xml" >/dev/null &&
    "$KMS" issue --dir "$K" --uri sip:carol@example.org --out "$TMP/k2/carol.xml" >/dev/null ||
    fail "mcsec-kms cert / issue"
expect_ok keys import --store "$TMP/c" --kms-init "$TMP/k2/init.xml" --key-prov "$TMP/k2/carol.xml"
expect_err 1 "the keystore holds no KMS credential" fetch-keys --store "$TMP/c"

# 5. Usage.
expect_err 2 "--attempts '0' is not a number from 1 to 20" fetch-keys --store "$TMP/a" --attempts 0
expect_err 2 "is not a tcp:// endpoint" fetch-keys --store "$TMP/a" --endpoint udp://x
expect_err 2 "--store is required" fetch-keys

finish
