#!/bin/sh
# SPDX-License-Identifier: MIT
# install-deps.sh: install what the WSK kernel tests need (Debian/Ubuntu):
# mingw-w64 (cross g++), Wine 8 (64-bit) and Wine's DDK headers/import libs.
# Run as root. See backends/wsk/NOTES.md.
set -eu
if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps.sh: run as root (apt-get install)" >&2
  exit 1
fi
apt-get update
apt-get install -y g++-mingw-w64-x86-64 mingw-w64 wine64 libwine-dev
