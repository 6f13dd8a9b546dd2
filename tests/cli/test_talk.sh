#!/bin/sh
# mcsec adhoc create / join and mcsec talk, with no KMS or Group Manager process (the keys were
# provisioned earlier from a throw-away KMS): an ad-hoc leader sends the GMK over multicast on
# loopback, members join, one talks a tone, the others write what they heard; a second talker
# sends back what it heard and the third receives it byte for byte; unicast; refusals.
# usage: test_talk.sh path/to/mcsec path/to/test_mkkms
MCSEC=$1
MKKMS=$2
. "$(dirname "$0")/lib.sh"

K=$TMP/kms
mkdir -p "$K"
"$MKKMS" "$K" kms.example.org sip:alice@example.org sip:bob@example.org sip:carol@example.org \
    sip:dave@example.org || exit 2
for u in 0:alice 1:bob 2:carol 3:dave; do
    run keys import --store "$TMP/${u#*:}" --kms-init "$K/kms-init.xml" --key-prov "$K/keyprov-${u%%:*}.xml"
    [ $rc -eq 0 ] || { echo "setup: $(cat "$TMP/err")"; exit 2; }
done
G=sip:fire-7@example.org
# A port and group per run, so that parallel runs do not hear each other.
P=$((20000 + ($$ * 13) % 40000))
A=239.255.$(($$ % 250 + 1)).$((($$ / 250) % 250 + 1))
NET="--address $A --port $P"

# bg NAME args...: runs mcsec in the background, output in $TMP/NAME.out / .err, pid in $TMP/NAME.pid
bg() {
    name=$1; shift
    "$MCSEC" "$@" >"$TMP/$name.out" 2>"$TMP/$name.err" &
    echo $! >"$TMP/$name.pid"
}
# fg_wait NAME: waits for it; its exit code in $rc
fg_wait() { wait "$(cat "$TMP/$1.pid")"; rc=$?; }
has() { grep -qF -- "$2" "$TMP/$1.out" && pass || fail "$1 lacks '$2': $(cat "$TMP/$1.out" "$TMP/$1.err")"; }
# Wait until a background listener prints its first line (its sockets are open by then).
ready() {
    i=0
    while [ $i -lt 200 ] && ! [ -s "$TMP/$1.out" ]; do sleep 0.05; i=$((i + 1)); done
}

# 1. Ad-hoc GMK over multicast: bob and carol receive; dave is no member and gets nothing.
bg bj adhoc join --store "$TMP/bob" --group "$G" $NET --timeout 20
bg cj adhoc join --store "$TMP/carol" --group "$G" $NET --timeout 20
bg dj adhoc join --store "$TMP/dave" --group "$G" $NET --timeout 3
ready bj; ready cj; ready dj
expect_ok adhoc create --store "$TMP/alice" --group "$G" --member sip:bob@example.org \
    --member sip:carol@example.org --send $NET
id=$(sed -n 's/^GMK-ID \([0-9a-f]*\) for.*/\1/p' "$TMP/out")
out_has "2 member messages sent on multicast $A:$P; stored as the group's current GMK"
fg_wait bj; check "bob joined (rc $rc)" test $rc -eq 0; has bj "stored GMK-ID $id"
fg_wait cj; check "carol joined (rc $rc)" test $rc -eq 0; has cj "stored GMK-ID $id"
fg_wait dj
check "dave times out with exit 1" test $rc -eq 1
check "dave's error names the timeout" grep -q "no GMK for this handset arrived in time" "$TMP/dj.err"

# 2. alice talks a 1 s tone (AES-CM); bob and carol hear all of it, identically; dave, without
#    the GMK, refuses the call at the key lookup. The listeners that must hear nobody wait 15 s
#    (a talker started under the sanitizers on a loaded machine can take seconds to send) and
#    are checked at the end, so the rest of the test runs meanwhile.
bg b1 talk --store "$TMP/bob" --group "$G" $NET --receive "$TMP/b1.wav" --wait 20
bg c1 talk --store "$TMP/carol" --group "$G" $NET --receive "$TMP/c1.wav" --wait 20
bg d1 talk --store "$TMP/dave" --group "$G" $NET --receive "$TMP/d1.wav" --wait 15
ready b1; ready c1; ready d1
expect_ok talk --store "$TMP/alice" --group "$G" $NET --tone --seconds 1 --suite aes-cm
out_has "sent 50 packets (1.00 s of audio)"
fg_wait b1; check "bob listened (rc $rc)" test $rc -eq 0
has b1 "joined: sip:alice@example.org talks"
has b1 "AES_CM_128_HMAC_SHA1_80"
has b1 "received 50 packets, rejected 0; wrote $TMP/b1.wav (1.00 s)"
fg_wait c1; check "carol listened (rc $rc)" test $rc -eq 0
has c1 "received 50 packets, rejected 0"
check "bob and carol heard the same audio" cmp -s "$TMP/b1.wav" "$TMP/c1.wav"
check "1 s of 8 kHz 16-bit audio (+ 44-octet header)" test "$(wc -c <"$TMP/b1.wav")" -eq 16044

# 3. Talker change: bob sends back what he heard (GCM); carol receives it byte for byte.
bg c2 talk --store "$TMP/carol" --group "$G" $NET --receive "$TMP/c2.wav" --wait 20
ready c2
expect_ok talk --store "$TMP/bob" --group "$G" $NET --send "$TMP/b1.wav"
out_has "sent 50 packets"
fg_wait c2; check "carol listened to bob (rc $rc)" test $rc -eq 0
has c2 "joined: sip:bob@example.org talks"
has c2 "AEAD_AES_128_GCM"
check "carol heard exactly what bob sent" cmp -s "$TMP/b1.wav" "$TMP/c2.wav"

# 4. A member list that excludes the talker: refused at the member check.
bg c3 talk --store "$TMP/carol" --group "$G" $NET --receive "$TMP/c3.wav" --wait 15 \
    --member sip:alice@example.org
ready c3
expect_ok talk --store "$TMP/bob" --group "$G" $NET --tone --seconds 1

# 5. Unicast: alice talks to bob's and carol's own ports.
PB=$((P + 10)); PC=$((P + 20))
bg b5 talk --store "$TMP/bob" --group "$G" --address 127.0.0.1 --port $PB --receive "$TMP/b5.wav" --wait 20
bg c5 talk --store "$TMP/carol" --group "$G" --address 127.0.0.1 --port $PC --peer 127.0.0.1:$PB \
    --receive "$TMP/c5.wav" --wait 20
ready b5; ready c5
expect_ok talk --store "$TMP/alice" --group "$G" --address 127.0.0.1 --port $((P + 30)) \
    --peer 127.0.0.1:$PB --peer 127.0.0.1:$PC --tone --seconds 1
out_has "talking on unicast port $((P + 30)) -> 2 peers as sip:alice@example.org"
fg_wait b5; check "bob heard alice over unicast (rc $rc)" test $rc -eq 0
has b5 "received 50 packets, rejected 0"
fg_wait c5; check "carol heard alice over unicast (rc $rc)" test $rc -eq 0
check "unicast audio equals multicast audio" cmp -s "$TMP/b5.wav" "$TMP/b1.wav"

# 6. Usage errors and refusals of the tool itself.
expect_err 2 "--store, --group and one of --send FILE.wav, --tone or --receive OUT.wav are required" \
    talk --store "$TMP/bob" --group "$G"
expect_err 2 "give --send FILE.wav or --tone, not both" talk --store "$TMP/bob" --group "$G" --tone --send x.wav
expect_err 2 "--suite 'foo' is not gcm or aes-cm" talk --store "$TMP/bob" --group "$G" --tone --suite foo
expect_err 2 "--seconds '0' is not a number from 1 to 600" talk --store "$TMP/bob" --group "$G" --tone --seconds 0
expect_err 2 "--port '0' is not a port from 1 to 65532" talk --store "$TMP/bob" --group "$G" --tone --port 0
expect_err 2 "peer 'nowhere' is not IPv4-ADDRESS:PORT" talk --store "$TMP/bob" --group "$G" --tone --peer nowhere
expect_err 2 "'$A' is a multicast group; give a local unicast --address with peers" \
    talk --store "$TMP/bob" --group "$G" --tone $NET --peer 127.0.0.1:9
expect_err 2 "unknown option" talk --store "$TMP/bob" --group "$G" --tone --loud
expect_err 1 "no valid GMK for $G in the keystore (no key with that identifier)" talk --store "$TMP/dave" --group "$G" $NET --tone --seconds 1
printf 'RIFF' >"$TMP/bad.wav"
expect_err 1 "--send $TMP/bad.wav:" talk --store "$TMP/bob" --group "$G" $NET --send "$TMP/bad.wav"
expect_err 2 "--send or --out-dir (or both)" adhoc create --store "$TMP/alice" --group "$G" --member sip:bob@example.org
expect_err 2 "--repeat '0' is not a count from 1 to 100" adhoc create --store "$TMP/alice" --group "$G" \
    --member sip:bob@example.org --send --repeat 0
expect_err 2 "--timeout 'x' is not a number of seconds" adhoc join --store "$TMP/bob" --group "$G" --timeout x

# The listeners of parts 2 and 4 that must have heard nobody.
fg_wait d1; check "dave heard nothing (rc $rc)" test $rc -eq 1
has d1 "refused a call datagram from sip:alice@example.org at the key-lookup check"
check "dave's error says nobody talked" grep -q "nobody talked within 15 s" "$TMP/d1.err"
check "dave wrote no file" test ! -e "$TMP/d1.wav"
fg_wait c3; check "carol refuses bob (rc $rc)" test $rc -eq 1
has c3 "refused a call datagram from sip:bob@example.org at the member check"

finish
