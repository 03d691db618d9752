#!/usr/bin/env bash
# The main job: set up (packages, configure, build), then run the echo sample over the default
# backend (posix, epoll engine): it serves TCP and UDP echo and exercises itself over IPv4 and
# IPv6, printing what it did.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh core default
exec build/bin/xwsk-echo-posix demo "$@"
