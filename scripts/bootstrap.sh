#!/usr/bin/env bash
# Installs what the build needs (Debian packages) and configures + builds a preset.
#   scripts/bootstrap.sh [core|full|bench] [preset...]
# core: compilers, CMake, libuv, liburing, GoogleTest, CLI11, nlohmann/json (enough for the demo).
# full: core + the peers and tools the tests use (python3, socat, netcat, asio, strace),
#       clang with its sanitizer and libFuzzer runtimes (the fuzz preset), mingw-w64 + Wine
#       for the kernel backend, and doxygen (the API reference, ctest package.docs).
# bench: full + perf (linux-perf), which counts the benchmarks' system calls without
#       slowing the server the way strace does.
# Idempotent: installs only what is missing, and re-runs of the build are incremental.
set -euo pipefail
cd "$(dirname "$0")/.."

profile=${1:-core}
shift || true
presets=("$@")
[ ${#presets[@]} -gt 0 ] || presets=(default)

core_pkgs=(g++ cmake make pkg-config libuv1-dev liburing-dev libgtest-dev libcli11-dev nlohmann-json3-dev)
full_pkgs=(python3 socat netcat-openbsd libasio-dev strace clang-format clang libclang-rt-14-dev
           g++-mingw-w64-x86-64 mingw-w64 wine64 libwine-dev
           doxygen)

want=("${core_pkgs[@]}")
case "$profile" in
  core) ;;
  full) want+=("${full_pkgs[@]}") ;;
  bench) want+=("${full_pkgs[@]}" linux-perf) ;;
  *) echo "error: unknown profile '$profile' (core, full or bench)" >&2; exit 2 ;;
esac

missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
  echo "==> installing: ${missing[*]}"
  sudo=""
  if [ "$(id -u)" != 0 ]; then
    command -v sudo >/dev/null || { echo "error: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
    sudo=sudo
  fi
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -q
  $sudo apt-get install -y -q "${missing[@]}"
fi

for preset in "${presets[@]}"; do
  echo "==> configure + build: $preset"
  cmake --preset "$preset" >/dev/null
  cmake --build --preset "$preset"
done
