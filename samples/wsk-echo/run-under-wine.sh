#!/bin/sh
# SPDX-License-Identifier: MIT
# run-under-wine.sh: runs the WSK echo sample as a Windows driver (xwsk_wsk_echo.sys) under
# Wine, over Wine's netio.sys, and checks it from Linux with Python's socket module and socat
# (samples/echo-driver/wsk_peer.py). Wine's provider serves TCP over IPv4 only and cannot report
# a bound port, so the driver listens on 0.0.0.0:40007 (its fallback, see wsk_echo.cpp).
#
#   run-under-wine.sh <xwsk-wsk-echo-loader.exe> <xwsk_wsk_echo.sys>
#
# Environment: XWSK_WINE_TIMEOUT (seconds, default 100), XWSK_ECHO_BYTES (Python peer, default
# 10 MiB), XWSK_ECHO_TOOL_BYTES (socat, default 1 MiB), WINEDEBUG (default -all).
# Exit code: 0 every check OK, 1 a peer check failed, 2 the driver could not run, 124 timeout,
# 77 Wine or python3 not installed (ctest SKIP_RETURN_CODE).
set -u
if [ $# -ne 2 ]; then
  echo "usage: $0 <xwsk-wsk-echo-loader.exe> <xwsk_wsk_echo.sys>" >&2
  exit 2
fi
loader=$1
driver=$2
here=$(cd "$(dirname "$0")" && pwd)
peer="$here/../echo-driver/wsk_peer.py"
port=40007
for tool in wine winepath wineserver timeout python3; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "SKIPPED: $tool not installed; run tests/kernel/install-deps.sh"
    exit 77
  fi
done
budget=${XWSK_WINE_TIMEOUT:-100}
export WINEDEBUG="${WINEDEBUG:--all}"
export WINEDLLOVERRIDES="${WINEDLLOVERRIDES:-mscoree=;mshtml=}"
unset DISPLAY WAYLAND_DISPLAY
say() { echo "wsk-echo under wine: $*"; }

prefix=$(mktemp -d "${TMPDIR:-/tmp}/xwsk-wsk-echo-wineprefix.XXXXXX") || exit 2
export WINEPREFIX="$prefix"
log=$(mktemp) || exit 2
loader_pid=""
cleanup() {
  [ -n "$loader_pid" ] && kill "$loader_pid" 2>/dev/null && wait "$loader_pid" 2>/dev/null
  wineserver -k >/dev/null 2>&1
  timeout 30 wineserver -w >/dev/null 2>&1
  rm -rf "$prefix" "$log"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

abs_driver="$(cd "$(dirname "$driver")" && pwd)/$(basename "$driver")"
driver_w=$(timeout 60 winepath -w "$abs_driver")
stop_file="$prefix/stop"
stop_w=$(timeout 20 winepath -w "$stop_file" 2>/dev/null)
if [ -z "$driver_w" ] || [ -z "$stop_w" ]; then
  say "winepath failed (prefix creation)" >&2
  exit 2
fi
if python3 "$peer" wait --port "$port" --timeout 1 >/dev/null 2>&1; then
  say "port $port is taken by another program" >&2
  exit 2
fi
timeout -k 5 "$budget" wine "$loader" "$driver_w" --stop-file "$stop_w" \
  --seconds $((budget - 10)) >"$log" 2>&1 &
loader_pid=$!
rc=0
if python3 "$peer" wait --port "$port" --timeout 45; then
  say "the driver serves 127.0.0.1:$port"
  python3 "$peer" python --port "$port" --bytes "${XWSK_ECHO_BYTES:-10485760}" --timeout 40 || rc=1
  if command -v socat >/dev/null 2>&1; then
    python3 "$peer" socat --port "$port" --bytes "${XWSK_ECHO_TOOL_BYTES:-1048576}" \
      --timeout 20 || rc=1
  else
    say "socat SKIPPED: not installed (apt-get install socat)"
  fi
else
  say "the driver did not start serving on 127.0.0.1:$port" >&2
  rc=2
fi
touch "$stop_file"
wait "$loader_pid"
loader_rc=$?
loader_pid=""
sed 's/^/  loader: /' "$log"
if [ $loader_rc -eq 124 ] || [ $loader_rc -eq 137 ]; then
  rc=124
elif [ $loader_rc -ne 0 ] && [ $rc -eq 0 ]; then
  rc=2
fi
say "exit $rc"
exit $rc
