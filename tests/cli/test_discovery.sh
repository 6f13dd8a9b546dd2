#!/bin/sh
# mcsec discovery: the demo (--json and text; only the authorised monitor discovers, the
# re-broadcast code is a repeat, the code recorded two slots earlier is refused as expired;
# nothing left behind), then keygen / announce / monitor over multicast on the loopback with
# an authorised and an unauthorised monitor, and the refusals (wrong passphrase, a key file
# readable by others, an existing file, usage errors).
# usage: test_discovery.sh path/to/mcsec
MCSEC=$1
case $MCSEC in /*) ;; *) MCSEC=$(pwd)/$MCSEC ;; esac # the test changes directory
. "$(dirname "$0")/lib.sh"

W=$TMP/work
mkdir "$W"
export TMPDIR="$W" # the demo's temporary directory goes there

# json_str KEY: the string value of KEY in $TMP/out; json_mon ROLE: that monitor's object.
json_str() { sed -n "s/.*\"$1\":\"\([^\"]*\)\".*/\1/p" "$TMP/out"; }
json_mon() { sed -n "s/.*\"$1\":{\([^}]*\)}.*/\1/p" "$TMP/out"; }

# 1. The demo with --json: one line, every check held.
run discovery demo --json
check "demo --json exits 0 ($(tail -3 "$TMP/err"))" test $rc -eq 0
check "stdout is one line" test "$(wc -l <"$TMP/out")" -eq 1
out_has '"ok":true'
out_has '"slot_seconds":30'
out_has '"window_slots":1'
out_has '"code_changes_every_slot":true'
check "re-broadcast in the same slot is a repeat" test "$(json_str rebroadcast_same_slot)" = repeat
check "a code two slots old is expired" test "$(json_str replay_two_slots_old)" = expired
auth=$(json_mon authorised)
unauth=$(json_mon unauthorised)
check "authorised monitor discovered once ($auth)" \
    sh -c "echo '$auth' | grep -q '\"discovered\":1,' && echo '$auth' | grep -q '\"result\":\"discovered\"'"
check "authorised monitor: 3 repeats, 1 expired, no no-match ($auth)" \
    sh -c "echo '$auth' | grep -q '\"repeat\":3,\"expired\":1,\"no_match\":0,\"malformed\":0'"
check "unauthorised monitor heard all 5 and discovered nothing ($unauth)" \
    sh -c "echo '$unauth' | grep -q '\"heard\":5,\"discovered\":0,\"repeat\":0,\"expired\":1,\"no_match\":4'"
check "unauthorised result ($unauth)" sh -c "echo '$unauth' | grep -q '\"result\":\"not discovered\"'"
check "progress went to stderr" grep -q "attacker replays a code recorded 2 slots" "$TMP/err"
check "the demo's temporary directory is removed ($(ls "$W"))" test -z "$(ls -A "$W")"

# 2. Text output, another slot length.
run discovery demo --slot 60
check "demo exits 0 ($(tail -3 "$TMP/out"))" test $rc -eq 0
out_has "summary: restricted discovery, slot 60 s, window +/-1 slot"
out_has "OK: only the authorised monitor discovered the announcer"
out_has "authorised monitor (fire-team-7): heard 3, discovered 1, repeat 2, no match 0"
out_has "unauthorised monitor (ems-unit-3): heard 3, discovered 0, repeat 0, no match 3"
out_has "authorised monitor: expired; unauthorised: expired"
check "no stderr" test ! -s "$TMP/err"
check "temporary directory removed" test -z "$(ls -A "$W")"

# 3. Demo usage errors.
expect_err 2 "--slot '4' is not a number of seconds from 5 to 86400" discovery demo --slot 4
expect_err 2 "unknown option" discovery demo --peer 127.0.0.1:5000
expect_err 2 "a subcommand is needed" discovery
expect_err 2 "unknown subcommand 'nope'" discovery nope

# 4. keygen: sealed 0600 files, never overwritten. The default scrypt cost (2^16) once; the
#    files used below have the lowest (2^10), since every command opening one runs scrypt.
cd "$TMP" || exit 2
expect_ok discovery keygen --out d.dkey
out_has "created discovery key 'd.dkey' in d.dkey (code changes every 30 s)"
check "default cost: log2 N = 16 in the header" test "$(od -An -tu1 -j5 -N1 d.dkey | tr -d ' ')" = 16
expect_ok discovery keygen --out a.dkey --name fire-team-7 --slot 10 --scrypt-log2n 10
out_has "created discovery key 'fire-team-7' in a.dkey (code changes every 10 s)"
expect_ok discovery keygen --out b.dkey --name ems-unit-3 --scrypt-log2n 10
check "key files are 0600" test "$(stat -c %a a.dkey b.dkey d.dkey | sort -u)" = 600
check "the key file does not hold the name in clear" sh -c "! grep -q fire-team a.dkey"
expect_err 1 "a.dkey already exists" discovery keygen --out a.dkey
expect_err 2 "--out is required" discovery keygen
expect_err 2 "--slot '0' is not a number from 1 to 86400" discovery keygen --out c.dkey --slot 0
expect_err 2 "--name '' is not 1-63 printable characters" discovery keygen --out c.dkey --name ""
expect_err 2 "--scrypt-log2n '9' is not a number from 10 to 22" discovery keygen --out c.dkey --scrypt-log2n 9
check "no file after a refused keygen" test ! -e c.dkey

# 5. An announcer, a monitor with its key and one with another application's key.
P=$((20000 + ($$ * 13) % 40000))
A=239.255.$(($$ % 250 + 1)).$((($$ / 250) % 250 + 1))
NET="--address $A --port $P"
bg() {
    name=$1; shift
    "$MCSEC" "$@" >"$TMP/$name.out" 2>"$TMP/$name.err" &
    echo $! >"$TMP/$name.pid"
}
fg_wait() { wait "$(cat "$TMP/$1.pid")"; rc=$?; }
ready() {
    i=0
    while [ $i -lt 400 ] && ! grep -q '^monitoring' "$TMP/$1.out"; do sleep 0.05; i=$((i + 1)); done
}
bg ma discovery monitor --key a.dkey --key b.dkey --count 1 --timeout 20 $NET
bg mb discovery monitor --key b.dkey --timeout 60 $NET
ready ma; ready mb
expect_ok discovery announce --key a.dkey --count 5 --interval 100 $NET
out_has "announcing 'fire-team-7' on multicast $A:$P every 100 ms (the code changes every 10 s)"
out_has "sent 5 announcements"
fg_wait ma
check "authorised monitor exits 0 (rc $rc: $(cat "$TMP/ma.err"))" test $rc -eq 0
check "authorised monitor discovered fire-team-7" grep -q "^discovered 'fire-team-7' (slot [0-9]*, offset +0)" "$TMP/ma.out"
check "authorised monitor's summary" grep -q "^heard [1-5] announcements*, discovered 1$" "$TMP/ma.out"
# The unauthorised monitor would wait for its timeout: once it has had time to handle the five
# datagrams already on the loopback, it is stopped as a user would (SIGTERM: no error line).
i=0
while [ $i -lt 100 ] && [ "$(grep -c '^no match' "$TMP/mb.out")" -lt 5 ]; do sleep 0.05; i=$((i + 1)); done
kill -TERM "$(cat "$TMP/mb.pid")"
fg_wait mb
check "unauthorised monitor exits 1 (rc $rc)" test $rc -eq 1
check "unauthorised monitor heard 5 and matched none ($(cat "$TMP/mb.out"))" \
    grep -q "^heard 5 announcements, discovered 0$" "$TMP/mb.out"
check "five 'no match' lines" test "$(grep -c '^no match' "$TMP/mb.out")" -eq 5
check "unauthorised monitor discovered nothing" sh -c "! grep -q '^discovered' '$TMP/mb.out'"
check "unauthorised monitor: nothing on stderr when stopped" test ! -s "$TMP/mb.err"
# Timing out is one line on stderr and exit 1.
expect_err 1 "0 of 1 discoveries in 1 s; is the announcer running" discovery monitor --key b.dkey --timeout 1 $NET
out_has "heard 0 announcements, discovered 0"

# 6. Refusals.
export MCSEC_PASSPHRASE=wrong
expect_err 1 "wrong passphrase for a.dkey" discovery announce --key a.dkey --count 1 $NET
export MCSEC_PASSPHRASE=correct-horse-battery
chmod 640 a.dkey
expect_err 1 "chmod 600" discovery monitor --key a.dkey --timeout 1 $NET
chmod 600 a.dkey
expect_err 1 "cannot open the discovery key file nothere.dkey" discovery announce --key nothere.dkey $NET
echo "not a key" >junk.dkey
chmod 600 junk.dkey
expect_err 1 "junk.dkey is not a discovery key file" discovery monitor --key junk.dkey $NET
check "the error names the command that makes key files" grep -qF 'made by `mcsec discovery keygen`' "$TMP/err"
expect_err 2 "--key is required" discovery announce
expect_err 2 "--key is required" discovery monitor
expect_err 2 "--count '0' is not a number from 1 to 1000000" discovery announce --key a.dkey --count 0
expect_err 2 "--interval '5' is not a number from 10 to 60000" discovery announce --key a.dkey --interval 5
expect_err 2 "--timeout '0' is not a number from 1 to 86400" discovery monitor --key a.dkey --timeout 0
expect_ok discovery monitor --help
out_has "usage: mcsec discovery monitor"

finish
