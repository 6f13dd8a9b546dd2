#!/bin/sh
# mcsec-kms prose: authorise / relay / peer / push / list on a real KMS directory, the usage
# errors (exit 2, one line "mcsec-kms prose <sub>: ..."), the refusals (exit 1, one line), and
# that every change is in the audit table.
# usage: test_kms_prose.sh path/to/mcsec-kms
KMS=$1
. "$(dirname "$0")/../cli/lib.sh"
D=$TMP/kms

# k args...: runs mcsec-kms, leaving $TMP/out, $TMP/err and $rc.
k() { "$KMS" "$@" >"$TMP/out" 2>"$TMP/err"; rc=$?; }
k_ok() {
    k "$@"
    if [ $rc -eq 0 ] && [ ! -s "$TMP/err" ]; then pass; else fail "mcsec-kms $* -> rc=$rc: $(cat "$TMP/err")"; fi
}
# k_err CODE TEXT args...: exit CODE and one stderr line "mcsec-kms prose ...: ..." with TEXT.
k_err() {
    code=$1; text=$2; shift 2
    k "$@"
    lines=$(wc -l <"$TMP/err")
    if [ $rc -eq "$code" ] && [ "$lines" -eq 1 ] && grep -q '^mcsec-kms [a-z -]*: ..*' "$TMP/err" &&
       grep -qF -- "$text" "$TMP/err"; then pass; else
        fail "mcsec-kms $* -> rc=$rc (want $code), $lines lines (want 1 with '$text'): $(cat "$TMP/err")"
    fi
}

k_ok init --dir "$D" --uri pkmf.example.org --kdf-cost 10
KEY=$(sed -n 's/^curve-public: //p' "$TMP/out")
k_ok enroll --dir "$D" --uri sip:alice@example.org

k_ok prose authorise --dir "$D" --uri sip:alice@example.org --remote-ue
out_has "authorised remote-ue: sip:alice@example.org"
k_ok prose authorise --dir "$D" --uri sip:alice@example.org --direct
k_ok prose relay --dir "$D" --relay sip:relay1@example.org --ue sip:alice@example.org
out_has "relay sip:relay1@example.org may serve sip:alice@example.org"
k_ok prose relay --dir "$D" --relay sip:relay2@example.org --ue '*'
k_ok prose peer --dir "$D" --uri entity-b.example.org --endpoint tcp://127.0.0.1:7999 \
    --key "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7" --serves @b.example.org
out_has "peer entity-b.example.org at tcp://127.0.0.1:7999 serves *@b.example.org"
k_ok prose list --dir "$D"
out_has "authorised sip:alice@example.org remote-ue"
out_has "authorised sip:alice@example.org direct"
out_has "relay sip:relay1@example.org may-serve sip:alice@example.org"
out_has "relay sip:relay2@example.org may-serve *"
out_has "peer entity-b.example.org tcp://127.0.0.1:7999 serves @b.example.org"

# Refusals: exit 1, one line.
k_err 1 "no PMK or no delivery address" prose push --dir "$D" --uri sip:alice@example.org
k_err 1 "not authorised as a remote UE" prose push --dir "$D" --uri sip:bob@example.org --trigger
k_err 1 "own CURVE key" prose peer --dir "$D" --uri e2 --endpoint tcp://127.0.0.1:1 --key "$KEY" --serves @c
k_err 1 "not 1-255 printable" prose authorise --dir "$D" --uri "bad uri" --direct

# Withdrawals.
k_ok prose authorise --dir "$D" --uri sip:alice@example.org --direct --withdraw
out_has "withdrawn direct: sip:alice@example.org"
k_ok prose relay --dir "$D" --relay sip:relay2@example.org --ue '*' --withdraw
k_ok prose list --dir "$D"
out_lacks "authorised sip:alice@example.org direct"
out_lacks "relay sip:relay2@example.org"

# Usage errors: exit 2.
k_err 2 "give exactly one of --remote-ue and --direct" prose authorise --dir "$D" --uri sip:a@b
k_err 2 "give exactly one of --remote-ue and --direct" prose authorise --dir "$D" --uri sip:a@b --direct --remote-ue
k_err 2 "--ue is required" prose relay --dir "$D" --relay sip:r@b
k_err 2 "--serves is required" prose peer --dir "$D" --uri e --endpoint tcp://h:1 --key "$KEY"
k_err 2 "unknown argument '--bogus'" prose list --dir "$D" --bogus
k_err 2 "unknown subcommand 'grant'" prose grant
k_err 2 "a subcommand is needed" prose
k prose --help
check "prose --help exits 0" test $rc -eq 0
out_has "authorise"

# Every change is audited.
k_ok audit --dir "$D"
check "pkmf-authorise rows" test "$(grep -c pkmf-authorise "$TMP/out")" -eq 3
check "pkmf-relay rows" test "$(grep -c pkmf-relay "$TMP/out")" -eq 3
check "pkmf-peer row" test "$(grep -c pkmf-peer "$TMP/out")" -eq 1

finish
