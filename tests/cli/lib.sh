# Shared by the CLI tests (sourced): a scratch directory, counters and the expectations.
# Each test script: . lib.sh; set MCSEC, MKKMS; ...; finish.
set -u
TMP=$(mktemp -d "${TMPDIR:-/tmp}/mcsec-cli.XXXXXX") || exit 2
trap 'rm -rf "$TMP"' EXIT
passed=0
failed=0
export MCSEC_PASSPHRASE=correct-horse-battery

fail() { failed=$((failed + 1)); echo "FAIL: $*" >&2; }
pass() { passed=$((passed + 1)); }

# run args...: runs mcsec, leaving $TMP/out, $TMP/err and $rc.
# WRAP (default empty) prefixes the command, e.g. WRAP="setsid -w" to run without a terminal.
WRAP=
run() { $WRAP "$MCSEC" "$@" >"$TMP/out" 2>"$TMP/err"; rc=$?; }

# expect_ok args...: exit 0 and nothing on stderr.
expect_ok() {
    run "$@"
    if [ $rc -eq 0 ] && [ ! -s "$TMP/err" ]; then pass; else
        fail "mcsec $* -> rc=$rc: $(cat "$TMP/err")"; fi
}

# expect_err CODE TEXT args...: exit CODE and exactly one line on stderr, "mcsec <cmd>: ..."
# containing TEXT (a fixed string).
expect_err() {
    code=$1; text=$2; shift 2
    run "$@"
    lines=$(wc -l <"$TMP/err")
    if [ $rc -eq "$code" ] && [ "$lines" -eq 1 ] && grep -q '^mcsec [a-z -]*: ..*' "$TMP/err" &&
       grep -qF -- "$text" "$TMP/err"; then
        pass
    else
        fail "mcsec $* -> rc=$rc (want $code), $lines stderr lines (want 1 with '$text'): $(cat "$TMP/err")"
    fi
}

# out_has TEXT: the last command's stdout contains TEXT (fixed string).
out_has() {
    if grep -qF -- "$1" "$TMP/out"; then pass; else fail "stdout lacks '$1': $(cat "$TMP/out")"; fi
}
out_lacks() {
    if grep -qF -- "$1" "$TMP/out"; then fail "stdout has '$1': $(cat "$TMP/out")"; else pass; fi
}

# check DESCRIPTION COMMAND...: any shell condition.
check() {
    desc=$1; shift
    if "$@"; then pass; else fail "$desc"; fi
}

# flip_byte FILE OFFSET: xor one octet of FILE with 0x01, in place.
flip_byte() {
    b=$(od -An -tu1 -j "$2" -N1 "$1" | tr -d ' ')
    printf "$(printf '\\%03o' $((b ^ 1)))" |
        dd of="$1" bs=1 seek="$2" count=1 conv=notrunc 2>/dev/null
}

finish() {
    echo "$passed passed, $failed failed"
    [ $failed -eq 0 ]
}

# wait_serving FILE PID: waits until FILE (a daemon's stdout) has its "serving <endpoint>" line
# and prints the endpoint; fails (status 1) once PID has exited or after 120 s. Startup unseals
# under scrypt, which takes seconds on a loaded machine under the sanitizers, so the limit is
# generous and the loop ends early only when the daemon is gone.
wait_serving() {
    ws_i=0
    while [ $ws_i -lt 1200 ]; do
        ws_ep=$(sed -n 's/^serving //p' "$1")
        [ -n "$ws_ep" ] && { echo "$ws_ep"; return 0; }
        kill -0 "$2" 2>/dev/null || return 1
        sleep 0.1
        ws_i=$((ws_i + 1))
    done
    return 1
}
