#!/bin/sh
# mcsec keys import: a good import, then every bad input class with its exact exit code and
# one-line error, and that a refused import leaves the store untouched.
# usage: test_keys.sh path/to/mcsec path/to/test_mkkms
MCSEC=$1
MKKMS=$2
. "$(dirname "$0")/lib.sh"

K=$TMP/kms
K2=$TMP/kms2
mkdir -p "$K" "$K2"
"$MKKMS" "$K" kms.example.org sip:alice@example.org sip:bob@example.org || exit 2
"$MKKMS" "$K2" kms.other.org sip:alice@example.org || exit 2
INIT=$K/kms-init.xml
ALICE=$K/keyprov-0.xml
BOB=$K/keyprov-1.xml
S=$TMP/alice

# 1. Usage errors (exit 2).
expect_err 2 "--store, --kms-init and --key-prov are required" keys import --store "$S"
expect_err 2 "unknown option '--frobnicate'" keys import --frobnicate
expect_err 2 "--store given twice" keys import --store a --store b
expect_err 2 "--kms-init needs a value" keys import --store "$S" --kms-init
expect_err 2 "unknown subcommand 'export'" keys export
expect_err 2 "a subcommand is needed" keys

# 2. Unreadable or bad documents (exit 1), and no store is created by a refused import.
expect_err 1 "cannot open --kms-init file" keys import --store "$S" --kms-init "$TMP/none.xml" --key-prov "$ALICE"
: >"$TMP/empty.xml"
expect_err 1 "is empty" keys import --store "$S" --kms-init "$TMP/empty.xml" --key-prov "$ALICE"
expect_err 1 "is not a regular file" keys import --store "$S" --kms-init "$TMP" --key-prov "$ALICE"
head -c 70000 /dev/zero | tr '\0' ' ' >"$TMP/big.xml"
expect_err 1 "is larger than 65536 octets" keys import --store "$S" --kms-init "$TMP/big.xml" --key-prov "$ALICE"
head -c 300 "$INIT" >"$TMP/trunc.xml"
expect_err 1 "is not a usable KmsInit document: not a KmsResponse" keys import --store "$S" --kms-init "$TMP/trunc.xml" --key-prov "$ALICE"
sed 's/urn:3gpp:ns:mcsecKMSInterface:1.0/urn:example:not-3gpp/' "$INIT" >"$TMP/ns.xml"
expect_err 1 "is not a usable KmsInit document: not a KmsResponse" keys import --store "$S" --kms-init "$TMP/ns.xml" --key-prov "$ALICE"
{ printf '<?xml version="1.0"?>\n<!DOCTYPE r [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>\n'
  sed 1d "$INIT"; } >"$TMP/dtd.xml"
expect_err 1 "is not a usable KmsInit document" keys import --store "$S" --kms-init "$TMP/dtd.xml" --key-prov "$ALICE"
expect_err 1 "is not a usable KmsInit document" keys import --store "$S" --kms-init "$ALICE" --key-prov "$ALICE"
expect_err 1 "is not a usable KmsKeyProv document" keys import --store "$S" --kms-init "$INIT" --key-prov "$INIT"
# A key of the wrong length: one hex digit pair dropped from the RSK.
sed 's|<UserDecryptKey>04\(..\)|<UserDecryptKey>04|' "$ALICE" >"$TMP/short.xml"
expect_err 1 "is not a usable KmsKeyProv document: a field or the document is too long, or a key has the wrong length" \
    keys import --store "$S" --kms-init "$INIT" --key-prov "$TMP/short.xml"
check "a refused import creates no store" test ! -e "$S"

# 3. Keys that fail validation: a changed RSK, SSK or PVT digit; another KMS; another identity.
# (Changing the last hex digit keeps the encoding valid, so validation is what refuses it.)
for el in UserDecryptKey UserSigningKeySSK UserPubTokenPVT; do
    sed "0,/<\/$el>/s|\([0-9A-F]\)</$el>|\1X</$el>|" "$ALICE" |
        sed "0,/X<\/$el>/s|0X</$el>|1</$el>|; 0,/X<\/$el>/s|\([1-9A-F]\)X</$el>|0</$el>|" >"$TMP/bad-$el.xml"
    if cmp -s "$ALICE" "$TMP/bad-$el.xml"; then fail "could not tamper $el"; continue; fi
    expect_err 1 "refused: its keys fail validation" keys import --store "$S" --kms-init "$INIT" --key-prov "$TMP/bad-$el.xml"
done
expect_err 1 "refused: it was issued by another KMS" keys import --store "$S" --kms-init "$INIT" --key-prov "$K2/keyprov-0.xml"
expect_err 1 "refused: it is for another identity" keys import --store "$S" --kms-init "$INIT" --key-prov "$BOB" --uri sip:alice@example.org
check "refused imports create no store" test ! -e "$S"

# 4. A good import; files private; a repeat is harmless.
expect_ok keys import --store "$S" --kms-init "$INIT" --key-prov "$ALICE"
out_has "imported 2 key sets for sip:alice@example.org from KMS kms.example.org"
check "store directory is 0700" test "$(stat -c %a "$S")" = 700
check "store files are 0600" test -z "$(find "$S" -type f ! -perm 600)"
check "no key material in clear in the store" sh -c "! grep -rqF \"\$(sed -n 's|.*<UserSigningKeySSK>\\(.*\\)</UserSigningKeySSK>.*|\\1|p' '$ALICE' | head -1)\" '$S'"
expect_ok keys import --store "$S" --kms-init "$INIT" --key-prov "$ALICE" --uri sip:alice@example.org

# 5. The store keeps its identity and its KMS.
expect_err 1 "the keystore holds the keys of sip:alice@example.org, not sip:bob@example.org" \
    keys import --store "$S" --kms-init "$INIT" --key-prov "$BOB"
expect_err 1 "the keystore belongs to KMS kms.example.org with other public keys" \
    keys import --store "$S" --kms-init "$K2/kms-init.xml" --key-prov "$K2/keyprov-0.xml"

# 6. Passphrases: wrong, from a file, none available.
MCSEC_PASSPHRASE=wrong expect_err 1 "wrong passphrase for the keystore" \
    keys import --store "$S" --kms-init "$INIT" --key-prov "$ALICE"
printf 'correct-horse-battery\n' >"$TMP/pass"
(unset MCSEC_PASSPHRASE; expect_ok keys import --store "$S" --kms-init "$INIT" --key-prov "$ALICE" --passphrase-file "$TMP/pass"; finish >/dev/null) || fail "--passphrase-file"
expect_err 1 "cannot" keys import --store "$S" --kms-init "$INIT" --key-prov "$ALICE" --passphrase-file "$TMP/nonexistent"
if command -v setsid >/dev/null; then
    (unset MCSEC_PASSPHRASE; WRAP="setsid -w"
     expect_err 1 "no passphrase" keys import --store "$TMP/new" --kms-init "$INIT" --key-prov "$ALICE" </dev/null
     finish >/dev/null) || fail "no passphrase source"
fi

# 7. A damaged record is reported, never overwritten.
cp "$S/kms.params" "$TMP/damaged"
flip_byte "$TMP/damaged" 40
cp "$TMP/damaged" "$S/kms.params"
expect_err 1 "cannot read the keystore" gmk create --store "$S" --group sip:g@example.org --member sip:bob@example.org --out-dir "$TMP/o"
expect_err 1 "cannot read the keystore" keys import --store "$S" --kms-init "$INIT" --key-prov "$ALICE"
check "the damaged record is left as it was" cmp -s "$TMP/damaged" "$S/kms.params"

finish
