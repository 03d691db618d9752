#!/bin/sh
# SPDX-License-Identifier: MIT
# run-under-wine.sh: run the kernel test driver under Wine in a fresh prefix.
#
#   run-under-wine.sh <xwsk-ktest-loader.exe> <xwsk_ktest.sys>
#
# Environment:
#   XWSK_WINE_TIMEOUT  seconds for the whole Wine run (default 300)
#   WINEDEBUG          default -all; e.g. WINEDEBUG=+netio traces every WSK call
#   XWSK_KEEP_PREFIX   set to 1 to keep the Wine prefix for inspection
#
# Creates a new WINEPREFIX (mktemp -d) per run, runs the loader (which
# installs, starts, runs, stops and deletes the driver service), shuts the
# prefix's wineserver down and removes the prefix. Exit code: the loader's
# (0 all passed, 1 a case failed, 2 driver could not run), 124 on timeout,
# 77 if Wine is not installed (ctest SKIP_RETURN_CODE).
set -u

if [ $# -ne 2 ]; then
  echo "usage: $0 <xwsk-ktest-loader.exe> <xwsk_ktest.sys>" >&2
  exit 2
fi
loader=$1
driver=$2

for tool in wine winepath wineserver timeout; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "SKIPPED: $tool not installed; run tests/kernel/install-deps.sh"
    exit 77
  fi
done
for f in "$loader" "$driver"; do
  if [ ! -f "$f" ]; then
    echo "run-under-wine: not found: $f" >&2
    exit 2
  fi
done

timeout_s=${XWSK_WINE_TIMEOUT:-300}
prefix=$(mktemp -d "${TMPDIR:-/tmp}/xwsk-wineprefix.XXXXXX") || exit 2

export WINEPREFIX="$prefix"
export WINEDEBUG="${WINEDEBUG:--all}"
# No Mono/Gecko install prompts in a fresh prefix; no display needed.
export WINEDLLOVERRIDES="${WINEDLLOVERRIDES:-mscoree=;mshtml=}"
unset DISPLAY WAYLAND_DISPLAY

cleanup() {
  # Stop this prefix's wineserver (and with it services.exe/winedevice.exe).
  wineserver -k >/dev/null 2>&1
  timeout 30 wineserver -w >/dev/null 2>&1
  if [ "${XWSK_KEEP_PREFIX:-0}" = 1 ]; then
    echo "run-under-wine: kept WINEPREFIX=$prefix" >&2
  else
    rm -rf "$prefix"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

start=$(date +%s)
# The service manager wants a Windows path for the driver image.
# The first Wine process creates the prefix and starts services.exe, which
# inherits its stderr; so does winedevice.exe, the driver host. Keep that
# stderr when tracing (WINEDEBUG other than -all), else drop the prefix-setup
# chatter ("configuration ... has been updated", syswow64 rundll32 noise).
abs_driver="$(cd "$(dirname "$driver")" && pwd)/$(basename "$driver")"
if [ "$WINEDEBUG" = "-all" ]; then
  driver_w=$(winepath -w "$abs_driver" 2>/dev/null)
else
  driver_w=$(winepath -w "$abs_driver")
fi
if [ -z "$driver_w" ]; then
  echo "run-under-wine: winepath -w failed for $driver" >&2
  exit 2
fi

timeout -k 10 "$timeout_s" wine "$loader" "$driver_w"
rc=$?
end=$(date +%s)
if [ $rc -eq 124 ] || [ $rc -eq 137 ]; then
  echo "run-under-wine: TIMEOUT after ${timeout_s}s" >&2
  rc=124
fi
echo "run-under-wine: wine run took $((end - start))s (fresh prefix), exit $rc" >&2
exit $rc
