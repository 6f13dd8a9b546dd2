#!/bin/sh
# mcsec mikey inspect: decoding alone, signature check with a certificate, full open with a
# keystore (JSON fields, --reveal-keys, base64), and bad inputs with exact exit codes.
# usage: test_mikey.sh path/to/mcsec path/to/test_mkkms path/to/test_mkgsk
MCSEC=$1
MKKMS=$2
MKGSK=$3
. "$(dirname "$0")/lib.sh"

K=$TMP/kms
mkdir -p "$K" "$TMP/k2"
"$MKKMS" "$K" kms.example.org sip:alice@example.org sip:bob@example.org sip:carol@example.org || exit 2
"$MKKMS" "$TMP/k2" kms.example.org sip:bob@example.org || exit 2
for u in 0:alice 1:bob 2:carol; do
    run keys import --store "$TMP/${u#*:}" --kms-init "$K/kms-init.xml" --key-prov "$K/keyprov-${u%%:*}.xml"
    [ $rc -eq 0 ] || { echo "setup: $(cat "$TMP/err")"; exit 2; }
done
run gmk create --store "$TMP/alice" --group sip:fire@example.org --member sip:bob@example.org \
    --member sip:carol@example.org --out-dir "$TMP/outbox"
[ $rc -eq 0 ] || { echo "setup: $(cat "$TMP/err")"; exit 2; }
M=$TMP/outbox/sip:bob@example.org.mikey
MC=$TMP/outbox/sip:carol@example.org.mikey
PAYLOADS='"payloads":["HDR","T","RAND","IDR","IDR","IDR","IDR","SP","SAKKE","GENERAL_EXT","SIGN"]'

# 1. Decoding only: everything shown, signature not checked -> exit 1 with one line.
expect_err 1 "its signature was not checked: give --store DIR or --kms-init FILE" mikey inspect "$M" --json
out_has '"decoded":true,"kind":"gmk",'"$PAYLOADS"
out_has '"signature_valid":null'
out_has '"initiator_uid":"'"$("$MCSEC" uid --uri sip:alice@example.org --kms-uri kms.example.org --key-period 2592000 --offset 0 --at "$(date -u +%Y-%m-%dT%H:%M:%SZ)")"'"'
out_has '"responder_uid":"'"$("$MCSEC" uid --uri sip:bob@example.org --kms-uri kms.example.org --key-period 2592000 --offset 0 --at "$(date -u +%Y-%m-%dT%H:%M:%SZ)")"'"'
out_lacks '"key":'
expect_err 1 "not checked" mikey inspect "$M"
out_has "kind:               gmk"
out_has "signature:          not checked"

# 2. Signature with the KMS certificate only.
expect_ok mikey inspect "$M" --kms-init "$K/kms-init.xml" --json
out_has '"signature_valid":true,"signature_coverage":"rfc3830"'
out_has '"fresh":true'
out_lacks '"key":'
expect_err 1 "failed the signature check" mikey inspect "$M" --kms-init "$TMP/k2/kms-init.xml" --json
out_has '"signature_valid":false'

# 3. Full open with the recipient's keystore; the key only with --reveal-keys, and the same
# GMK for both members (and as stored by the creator).
expect_ok mikey inspect "$M" --store "$TMP/bob" --json
out_has '"signature_valid":true'
out_has '"decrypted":true'
out_has '"group_id":"sip:fire@example.org"'
out_lacks '"key":'
key_id=$(sed -n 's/.*"key_id":"\([0-9a-f]*\)".*/\1/p' "$TMP/out")
check "key_id is 8 hex digits with purpose tag 0" sh -c "echo '$key_id' | grep -q '^0[0-9a-f]\{7\}$'"
out_has '"guk_id":"'
expect_ok mikey inspect "$M" --store "$TMP/bob" --json --reveal-keys
kb=$(sed -n 's/.*"key":"\([0-9a-f]*\)".*/\1/p' "$TMP/out")
expect_ok mikey inspect "$MC" --store "$TMP/carol" --json --reveal-keys
kc=$(sed -n 's/.*"key":"\([0-9a-f]*\)".*/\1/p' "$TMP/out")
check "both members decrypt the same 128-bit GMK" sh -c "[ ${#kb} -eq 32 ] && [ '$kb' = '$kc' ]"
expect_ok mikey inspect "$M" --store "$TMP/bob" --reveal-keys
out_has "key:                $kb"
out_has "signature:          valid (rfc3830)"

# 4. Base64 input gives the same result.
base64 "$M" >"$TMP/m.b64"
expect_ok mikey inspect "$TMP/m.b64" --base64 --store "$TMP/bob" --json --reveal-keys
out_has "\"key\":\"$kb\""
printf 'not base64!!' >"$TMP/bad.b64"
expect_err 1 "is not base64" mikey inspect "$TMP/bad.b64" --base64
expect_err 1 "not a MIKEY message" mikey inspect "$TMP/m.b64"
out_lacks "decoded"

# 5. Opening stops, and says where, for the wrong recipient and for tampering.
expect_err 1 "failed the recipient check" mikey inspect "$M" --store "$TMP/carol" --json
out_has '"signature_valid":true'
out_has '"failed_check":"recipient"'
out_has '"decrypted":false'
len=$(wc -c <"$M")
for off in 12 60 200 $((len - 140)) $((len - 1)); do
    cp "$M" "$TMP/t.mikey"
    flip_byte "$TMP/t.mikey" "$off"
    run mikey inspect "$TMP/t.mikey" --store "$TMP/bob" --json
    if [ $rc -eq 1 ] && ! grep -q '"decrypted":true' "$TMP/out" &&
       ! grep -q '"signature_valid":true' "$TMP/out" && [ "$(wc -l <"$TMP/err")" -eq 1 ]; then
        pass
    else
        fail "tampered octet $off: rc=$rc $(cat "$TMP/out" "$TMP/err")"
    fi
done

# 6. Octets that are not a message.
head -c 50 "$M" >"$TMP/trunc.mikey"
expect_err 1 "is not a MIKEY message: " mikey inspect "$TMP/trunc.mikey" --json
out_has '"decoded":false'
{ cat "$M"; printf 'x'; } >"$TMP/trail.mikey"
expect_err 1 "is not a MIKEY message: " mikey inspect "$TMP/trail.mikey"
head -c 300 /dev/urandom >"$TMP/noise.mikey"
expect_err 1 "is not a MIKEY message: " mikey inspect "$TMP/noise.mikey"
: >"$TMP/empty.mikey"
expect_err 1 "is empty" mikey inspect "$TMP/empty.mikey"
expect_err 1 "cannot open message" mikey inspect "$TMP/none.mikey"
head -c 70000 /dev/zero >"$TMP/big.mikey"
expect_err 1 "is larger than 65536 octets" mikey inspect "$TMP/big.mikey"

# 6b. A GSK message (a talker's call start) opens with a member's store holding the GMK.
run gmk receive --store "$TMP/bob" "$M"
[ $rc -eq 0 ] || fail "setup: bob receives the GMK: $(cat "$TMP/err")"
gsk=$("$MKGSK" "$TMP/alice" sip:fire@example.org "$TMP/call.mikey") || fail "test_mkgsk"
gsk_id=${gsk% *}
gsk_key=${gsk#* }
expect_ok mikey inspect "$TMP/call.mikey" --store "$TMP/bob" --json --reveal-keys
out_has '"kind":"gsk","payloads":["HDR","T","RAND","IDR","IDR","IDR","IDR","SP","KEMAC","SIGN"]'
out_has "\"key_id\":\"$gsk_id\""
out_has "\"key\":\"$gsk_key\""
out_has '"signature_valid":true,"signature_coverage":"rfc3830"'
expect_ok mikey inspect "$TMP/call.mikey" --kms-init "$K/kms-init.xml" --json
out_has '"kind":"gsk"'
expect_err 1 "failed the key-lookup check" mikey inspect "$TMP/call.mikey" --store "$TMP/carol" --json
out_has '"signature_valid":true'
out_has '"decrypted":false'

# 7. Usage.
expect_err 2 "give the message file" mikey inspect --json
expect_err 2 "--reveal-keys needs --store" mikey inspect "$M" --reveal-keys
expect_err 2 "give --store or --kms-init, not both" mikey inspect "$M" --store "$TMP/bob" --kms-init "$K/kms-init.xml"
expect_err 2 "unexpected argument" mikey inspect "$M" "$M"
expect_err 1 "is not a keystore" mikey inspect "$M" --store "$TMP/nostore"
MCSEC_PASSPHRASE=nope expect_err 1 "wrong passphrase" mikey inspect "$M" --store "$TMP/bob"

finish
