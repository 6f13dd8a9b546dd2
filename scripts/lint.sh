#!/usr/bin/env bash
# Static checks on the project's own C code: cppcheck with the checks below, which must report
# nothing (false positives are listed, each with its reason, in scripts/cppcheck.supp). The
# compiler's warnings (-Wall -Wextra -Wshadow) are on in every build besides.
#   warning      undefined behaviour, uninitialised data, bad printf arguments, leaks, ...
#   portability  non-portable constructs (sizes, shifts, casts)
#   performance  needless copies and the like
set -euo pipefail
cd "$(dirname "$0")/.."
command -v cppcheck >/dev/null || { echo "lint: cppcheck is not installed (scripts/setup.sh installs it)" >&2; exit 1; }
cppcheck -q --enable=warning,portability,performance --error-exitcode=1 --inline-suppr \
    --suppressions-list=scripts/cppcheck.supp --std=c11 -I include -j"$(nproc)" \
    crypto proto client kms groupmgr
echo "lint: cppcheck clean (crypto proto client kms groupmgr)"
