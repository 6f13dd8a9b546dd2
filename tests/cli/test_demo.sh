#!/bin/sh
# mcsec demo end to end: the real KMS and Group Manager started by the demo itself, handsets
# provisioned, the GMK delivered, a group call over multicast on the loopback in which every
# listener must decode exactly what was sent. Then the options (--json, --suite aes-cm, --pcap,
# --reveal-keys, --wav, --out, --keep), the usage errors, SIGINT in the middle, and after
# every run: no daemon of that run left, the temporary directory gone.
# usage: test_demo.sh path/to/mcsec   (mcsec-kms and mcsec-groupmgr beside it). How long the
# demo takes is a benchmark (`mcsec-bench call`: demo_s), not checked here.
MCSEC=$1
. "$(dirname "$0")/lib.sh"
unset MCSEC_PASSPHRASE # the demo makes its own

# Every run's temporary directory is made under $W: processes whose argv names $W are daemons
# of these runs (they get --dir $W/...).
W=$TMP/work
mkdir "$W"
export TMPDIR="$W"
# A daemon left behind is a failure below; it also gets SIGTERM when the demo exits
# (PR_SET_PDEATHSIG), so nothing is killed here by name.

# none_running WHAT PATH: no process has PATH in its argv (pgrep skips itself).
none_running() {
    if pgrep -f "$2" >/dev/null; then fail "$1: still running: $(pgrep -af "$2")"; else pass; fi
}
# no_leftovers WHAT: no daemon of the run alive, its temporary directory removed.
no_leftovers() {
    none_running "$1" "$W/"
    check "$1: the temporary directory is removed ($(ls "$W"))" test -z "$(ls -A "$W")"
}

# json_int KEY: the number KEY has in $TMP/out (one JSON object on one line).
json_int() { sed -n "s/.*\"$1\":\([0-9][0-9]*\).*/\1/p" "$TMP/out"; }
# json_obj KEY: the members of the object KEY, one "name":value per line.
json_obj() { sed -n "s/.*\"$1\":{\([^}]*\)}.*/\1/p" "$TMP/out" | tr ',' '\n'; }

# 1. The default demo with --json: 3 members, every listener matched, nothing lost.
O=$TMP/out-wav
run demo --json --out "$O"
check "demo --json exits 0 ($(tail -3 "$TMP/err"))" test $rc -eq 0
check "stdout is one line" test "$(wc -l <"$TMP/out")" -eq 1
out_has '"ok":true'
out_has '"members":3'
out_has '"suite":"AEAD_AES_128_GCM"'
out_has '"seconds":2'
sent=$(json_int packets_sent)
check "100 packets sent for 2 s (got '$sent')" test "$sent" = 100
check "audio_match for both listeners" test "$(json_obj audio_match | grep -c ':true$')" -eq 2
check "no audio_match false" test "$(json_obj audio_match | grep -c ':false$')" -eq 0
check "packets_received for both listeners" test "$(json_obj packets_received | wc -l)" -eq 2
for v in $(json_obj packets_received | sed 's/.*://'); do
    check "packets_received $v == packets_sent $sent" test "$v" = "$sent"
done
for v in $(json_obj packets_rejected | sed 's/.*://'); do
    check "packets_rejected $v == 0" test "$v" = 0
done
for k in provisioning_ms gmk_distribution_ms call_setup_ms elapsed_ms; do
    check "$k is a number" test -n "$(json_int $k)"
done
check "progress on stderr names the steps" grep -q "GMK .* delivered to 3 handsets" "$TMP/err"
check "member02.wav written: 44 + 2 * 16000 octets" test "$(wc -c <"$O/member02.wav")" -eq 32044
check "member03.wav written" test -s "$O/member03.wav"
check "no WAV for the talker" test ! -e "$O/member01.wav"
check "progress says the demo settings are demo-only" grep -q "DEMO ONLY" "$TMP/err"
no_leftovers "demo --json"

# srtp_check PCAP PORT INLINE WAV: decrypts the SRTP packets to PORT in the capture with the
# revealed master key and salt alone (RFC 3711 key derivation, AES-CM, HMAC-SHA1-80 checked),
# mu-law decodes them and compares with a listener's WAV: what a third-party tool would do.
srtp_check() {
    python3 - "$@" <<'PY'
import base64, hashlib, hmac, struct, sys, wave
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
pcap, port, inline, wav = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
km = base64.b64decode(inline)
mkey, msalt = km[:16], km[16:]
assert len(msalt) == 14, "salt of %d octets" % len(msalt)
def keystream(key, iv, n):
    return Cipher(algorithms.AES(key), modes.CTR(iv.to_bytes(16, "big"))).encryptor().update(bytes(n))
def kdf(label, n):  # RFC 3711 4.3.3, key derivation rate 0
    return keystream(mkey, (int.from_bytes(msalt, "big") ^ (label << 48)) << 16, n)
ke, ka, ks = kdf(0, 16), kdf(1, 20), int.from_bytes(kdf(2, 14), "big")
def ulaw(u):
    u = ~u & 0xff
    t = (((u & 15) << 3) + 0x84) << ((u >> 4) & 7)
    return 0x84 - t if u & 0x80 else t - 0x84
data, off, roc, last, pcm, n = open(pcap, "rb").read(), 24, 0, None, [], 0
while off < len(data):
    incl = struct.unpack("<I", data[off + 8:off + 12])[0]
    rec, off = data[off + 16:off + 16 + incl], off + 16 + incl
    ihl = (rec[0] & 15) * 4
    if struct.unpack(">H", rec[ihl + 2:ihl + 4])[0] != port:
        continue
    body, tag = rec[ihl + 8:-10], rec[-10:]
    seq, ssrc = struct.unpack(">H", body[2:4])[0], struct.unpack(">I", body[8:12])[0]
    if last is not None and seq < last:
        roc += 1
    last = seq
    mac = hmac.new(ka, body + struct.pack(">I", roc), hashlib.sha1).digest()[:10]
    if not hmac.compare_digest(mac, tag):
        sys.exit("packet seq %d: the authentication tag does not verify with the revealed key" % seq)
    hl = 12 + 4 * (body[0] & 15)
    iv = (ks << 16) ^ (ssrc << 64) ^ (((roc << 16) | seq) << 16)
    pcm += [ulaw(a ^ b) for a, b in zip(body[hl:], keystream(ke, iv, len(body) - hl))]
    n += 1
w = wave.open(wav)
heard = list(struct.unpack("<%dh" % w.getnframes(), w.readframes(w.getnframes())))
if pcm != heard:
    sys.exit("%d packets decrypted to %d samples, the listener heard %d: they differ" % (n, len(pcm), len(heard)))
print("decrypted %d packets, %d samples equal to the listener's" % (n, len(pcm)))
PY
}

# 2. Five members, AES-CM, a capture and the revealed key.
P=$TMP/call.pcap
O5=$TMP/out5
run demo --members 5 --suite aes-cm --pcap "$P" --reveal-keys --out "$O5"
check "demo --members 5 --suite aes-cm --pcap --reveal-keys exits 0 ($(cat "$TMP/err"))" \
    test $rc -eq 0
out_has "OK: 4 of 4 listeners decoded exactly the audio that was sent"
check "an SDES crypto line: 30 octets of key and salt, base64" \
    grep -Eq '^a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:[A-Za-z0-9+/]{40}$' "$TMP/out"
check "4 listeners matched" test "$(grep -c 'listener .* match$' "$TMP/out")" -eq 4
counts=$(sed -n 's/^  packets sent *\([0-9]*\) .*plus \([0-9]*\) SRTCP, \([0-9]*\) notifications.*/\1 \2 \3/p' "$TMP/out")
set -- $counts
media=${1:-0}; rtcp=${2:-0}; notes=${3:-0}
total=$((media + rtcp + notes))
port=$(sed -n 's/.*call on [0-9.]*:\([0-9]*\) (media \([0-9]*\),.*/\2/p' "$TMP/out")
check "100 media packets and some SRTCP and notifications ($counts)" \
    test "$media" -eq 100 -a "$rtcp" -ge 2 -a "$notes" -ge 1
check "the capture exists" test -s "$P"
magic=$(od -An -tx1 -N4 "$P" | tr -d ' ')
link=$(od -An -tu4 -j20 -N4 "$P" | tr -d ' ')
check "a pcap file, LINKTYPE_IPV4 ($magic $link)" test "$magic" = d4c3b2a1 -a "$link" = 228
size=$(wc -c <"$P")
check "the capture holds the datagrams ($size octets)" test "$size" -gt $((24 + 100 * 200))
if command -v tshark >/dev/null 2>&1; then
    n=$(tshark -r "$P" 2>/dev/null | wc -l)
    check "tshark reads $n packets, $total sent" test "$n" -eq "$total"
    n=$(tshark -r "$P" -Y udp 2>/dev/null | wc -l)
    check "tshark: all $n are UDP" test "$n" -eq "$total"
    n=$(tshark -r "$P" -d "udp.port==$port,rtp" -Y rtp.ssrc -T fields -e rtp.ssrc 2>/dev/null |
        sort -u | wc -l)
    check "tshark decodes the media port $port as RTP of one SSRC" test "$n" -eq 1
else
    echo "tshark not installed: the capture is checked by its header and size only"
fi
inline=$(sed -n 's/^a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline://p' "$TMP/out")
if python3 -c 'import cryptography' 2>/dev/null; then
    check "the capture decrypts with the revealed key alone to what member05 heard" \
        srtp_check "$P" "$port" "$inline" "$O5/member05.wav"
else
    echo "python3 cryptography not installed: the revealed key is not checked against the capture"
fi
no_leftovers "demo --members 5"

# 3. A WAV: a listener's output of the first run is the talker's input here; --keep.
K=$TMP/kept
run demo --members 2 --wav "$O/member02.wav" --keep "$K" --reveal-keys
check "demo --wav --keep exits 0 ($(cat "$TMP/err"))" test $rc -eq 0
check "GCM: the RFC 7714 crypto line, 28 octets of key and salt" \
    grep -Eq '^a=crypto:1 AEAD_AES_128_GCM inline:[A-Za-z0-9+/]{38}==$' "$TMP/out"
check "GCM: a note that tools mostly take AES-CM keys" grep -q "AES_CM_128_HMAC_SHA1_80 keys only" "$TMP/err"
out_has "2.0 s of $O/member02.wav"
check "the WAV heard is the WAV sent (it was already mu-law decoded)" \
    cmp -s "$O/member02.wav" "$K/member02.wav"
check "--keep keeps the daemons' logs" test -s "$K/log/01-mcsec-kms-init.out"
check "no one-time code left in the kept logs" sh -c "! grep -rq '^code: ' '$K/log'"
none_running "--keep" "$K/"
rm -rf "$K"

# 4. Usage errors: exit 2, one line.
expect_err 2 "--members '1' is not a number from 2 to 50" demo --members 1
expect_err 2 "--members '51' is not a number from 2 to 50" demo --members 51
expect_err 2 "--suite 'foo' is not gcm or aes-cm" demo --suite foo
expect_err 2 "--seconds '0' is not a number of seconds from 1 to 60" demo --seconds 0
expect_err 2 "--seconds '61'" demo --seconds 61
expect_err 2 "unknown option" demo --bogus
expect_err 2 "--members needs a value" demo --members
expect_err 1 "--wav $TMP/none.wav" demo --wav "$TMP/none.wav"
expect_err 1 "--keep $TMP" demo --keep "$TMP"
expect_err 1 "cannot write --pcap $TMP/none/x.pcap" demo --pcap "$TMP/none/x.pcap"
expect_err 1 "cannot create --out $P: it is not a directory" demo --out "$P"
no_leftovers "usage errors"

# 5. SIGINT while the daemons run: they are stopped, the directory removed, exit 1.
"$MCSEC" demo --members 3 --seconds 10 >"$TMP/out" 2>"$TMP/err" &
pid=$!
i=0
while [ $i -lt 600 ] && ! grep -q "call on" "$TMP/out"; do sleep 0.1; i=$((i + 1)); done
kill -INT $pid
wait $pid
rc=$?
check "SIGINT during the call: exit 1 (got $rc)" test $rc -eq 1
check "SIGINT: says interrupted" grep -q "interrupted" "$TMP/err"
no_leftovers "SIGINT"

finish
