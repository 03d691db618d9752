#!/usr/bin/env bash
# Runs every test: sets up (packages, configure, build of the default, ASan/UBSan, portable,
# TSan and fuzz presets), then runs
#   1. ctest on the default build: the conformance suite on every backend (posix-epoll,
#      posix-poll, posix-uring, uv, and wsk inside a driver under Wine; label uring: the io_uring
#      engine, and posix_uring.fallback, the suite on its forced epoll fallback, XWSK_URING=0),
#      the echo sample against real peers,
#      the fault tests (label fault: descriptor exhaustion, UDP flood, RSS rounds, request
#      races, the bad-input sweep; under a minute), the benchmark smoke run (everything but
#      the soak), the package tests (label package, seconds: install, find_package and
#      pkg-config against the static and the shared libraries, the Doxygen API reference);
#   2. the soak (label soak): 1,000 connections against the echo server on every user-space
#      backend, every byte checked (XWSK_SOAK_CONNECTIONS=10000 for more);
#   3. the conformance suite, the echo tests and the unit tests (fault-unit among them) again
#      under AddressSanitizer + UBSan, in the checked build (XWSK_CHECKED: stale handles), the
#      io_uring engine included (label uring);
#   4. the conformance suite on posix-epoll and posix-poll built with the portable fallback of
#      every Linux-only call (the "portable" preset, XWSK_POSIX_FALLBACKS=ON);
#   5. the conformance suite, the echo tests and the unit tests under ThreadSanitizer (preset tsan);
#   6. the fuzz targets (preset fuzz, label fuzz): the committed seeds and regression inputs
#      replayed, then each target fuzzed for XWSK_FUZZ_SECONDS (20 s; 14 targets, 2 at a time),
#      and the two umwsk peers' inputs replayed under a storm of SIGALRM (fuzz.*.signals, ~3 s);
#   7. a clang-format check of the tree;
# and prints one summary: counts per step, every skip with its reason, and a closing line
# "N passed, N failed, N skipped".
set -uo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh full default asan portable tsan fuzz || exit 1

total_pass=0 total_fail=0 total_skip=0
summary=()

# run_ctest <preset> <label description> [ctest args...]
run_ctest() {
  local preset=$1 what=$2
  shift 2
  local dir=build
  [ "$preset" = default ] || dir=build-$preset
  echo
  echo "==> ctest ($what)"
  local log
  log=$(mktemp)
  ctest --preset "$preset" "$@" 2>&1 | tee "$log"
  local pass fail skip
  # "N% tests passed, M tests failed out of T" plus the list of skipped tests.
  local line
  line=$(grep -E 'tests passed, [0-9]+ tests? failed out of [0-9]+' "$log" | tail -1)
  local failed_n total_n
  failed_n=$(sed -E 's/.* ([0-9]+) tests? failed out of ([0-9]+).*/\1/' <<<"$line")
  total_n=$(sed -E 's/.* failed out of ([0-9]+).*/\1/' <<<"$line")
  [ -n "$line" ] || { failed_n=1; total_n=0; echo "no ctest summary for $what"; }
  skip=$(grep -c '\*\*\*Skipped' "$log" || true)
  fail=$failed_n
  pass=$((total_n - failed_n - skip))
  [ "$pass" -ge 0 ] || pass=0
  total_pass=$((total_pass + pass)); total_fail=$((total_fail + fail)); total_skip=$((total_skip + skip))
  summary+=("$(printf '%-34s %4d passed, %3d failed, %3d skipped' "$what" "$pass" "$fail" "$skip")")
  # Skip reasons: each conformance skip prints one XWSK-SKIP line; the kernel run prints its own.
  local last="$dir/Testing/Temporary/LastTest.log"
  grep -hoE 'XWSK-SKIP .*|\[ SKIPPED \] .*' "$last" 2>/dev/null \
    | sed 's/^/    /' | sort -u >>"$skips_file"
  # wsk.conformance is one ctest test that runs every case inside the kernel driver under Wine:
  # report its own closing line, and count its cases instead of the one wrapper test.
  local kernel
  kernel=$(awk '/Testing: wsk.conformance/{on=1} on && /^[0-9]+ passed, [0-9]+ failed, [0-9]+ skipped$/{print; exit}' "$last" 2>/dev/null)
  if [ -n "$kernel" ]; then
    local kp kf ks
    read -r kp kf ks <<<"$(sed -E 's/([0-9]+) passed, ([0-9]+) failed, ([0-9]+) skipped/\1 \2 \3/' <<<"$kernel")"
    summary+=("$(printf '%-34s %4d passed, %3d failed, %3d skipped' "  of which wsk in the kernel (Wine)" "$kp" "$kf" "$ks")")
    if [ "$kf" -gt 0 ]; then  # the wrapper test was counted as one failure
      total_fail=$((total_fail - 1 + kf)); total_pass=$((total_pass + kp))
    else                      # ... or as one pass
      total_pass=$((total_pass - 1 + kp))
    fi
    total_skip=$((total_skip + ks))
  fi
  rm -f "$log"
}

skips_file=$(mktemp)
run_ctest default "default build (all but soak)" -LE soak
run_ctest default "soak (1,000 connections/backend)" -L soak
run_ctest asan "asan+ubsan (conformance, echo, unit, umwsk)" -L "conformance|echo|unit|umwsk|^uring$"
run_ctest portable "posix, every portable fallback" -L conformance
run_ctest tsan "tsan (conformance, echo, unit)" -L "conformance|echo|unit"
run_ctest fuzz "fuzz (replay, then 20 s/target)" -L fuzz

echo
echo "==> clang-format check"
fmt_bad=$(git ls-files '*.cpp' '*.h' | grep -vE '^(third_party)/' | xargs clang-format --dry-run 2>&1 | grep -c 'warning:' || true)
if [ "$fmt_bad" = 0 ]; then
  total_pass=$((total_pass + 1)); summary+=("$(printf '%-34s %4d passed, %3d failed, %3d skipped' "clang-format" 1 0 0)")
else
  total_fail=$((total_fail + 1)); summary+=("$(printf '%-34s %4d passed, %3d failed, %3d skipped' "clang-format ($fmt_bad issues)" 0 1 0)")
fi

echo
echo "================ xwsk test summary ================"
printf '%s\n' "${summary[@]}"
if [ -s "$skips_file" ]; then
  echo "skipped, with reasons:"
  cat "$skips_file"
fi
rm -f "$skips_file"
echo "total: $total_pass passed, $total_fail failed, $total_skip skipped"
[ "$total_fail" = 0 ]
