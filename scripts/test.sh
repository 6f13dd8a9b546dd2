#!/usr/bin/env bash
# Sets up, builds and runs every test: the normal build (with the constant-time checks under
# valgrind), the static checks, the whole suite again under AddressSanitizer +
# UndefinedBehaviorSanitizer (leak checking on), then every libFuzzer target for a short bounded
# time (MCSEC_FUZZ_SECONDS, default 5 per target). CI runs exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh
ctest --test-dir build --output-on-failure -j2

echo "== static checks"
bash scripts/lint.sh

# The sanitizer build is optimised like the normal one (-O2 -g, frame pointers kept): at -O0 the
# crypto self test every tool runs at start took 1.4 s of CPU under ASan (0.08 s without), and
# the CLI and daemon tests start hundreds of tools.
echo "== again under ASan + UBSan"
BUILD_DIR=build-asan CMAKE_ARGS="-DMCSEC_SANITIZE=ON" bash scripts/setup.sh
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ctest --test-dir build-asan --output-on-failure -j2

echo "== fuzz targets, ${MCSEC_FUZZ_SECONDS:-5} s each"
bash scripts/fuzz.sh "${MCSEC_FUZZ_SECONDS:-5}"
